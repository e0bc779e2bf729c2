"""What ``git status`` says of a folder, and the narrower questions that answer it piece by piece
without a stat of every file (warm.status): which paths two commits' trees differ by, which
entries of the index differ from HEAD, a commit's entries with their sizes, what is ignored.

All read-only, asked without the subprocess module (runner.query); paths are repo-relative,
"/"-separated and taken literally.
"""

from __future__ import annotations

import os

from . import runner

_LITERAL = {"GIT_LITERAL_PATHSPECS": "1"}


def _ask(root, *args: str, ok=(0,), env=_LITERAL) -> bytes:
    code, out, err = runner.query(root, *args, env=env)
    if code not in ok:
        runner.fail(err, next(a for a in args if not a.startswith("-") and "=" not in a))
    return out


def _names(raw: bytes) -> list[str]:
    return [p for p in raw.decode("utf-8", "surrogateescape").split("\0") if p]


def entries(root, folder: str) -> dict[str, str]:
    """``git status --porcelain -uall`` of ``folder``: path -> its two-letter code (XY)."""
    raw = _ask(root, "status", "--porcelain=v1", "-z", "--untracked-files=all", "--no-renames", "--", folder)
    return {entry[3:]: entry[:2] for entry in raw.decode("utf-8", "surrogateescape").split("\0") if len(entry) > 3}


def codes(root, paths: list[str]) -> dict[str, str]:
    """``git status --porcelain`` of these paths (files or folders): path -> XY, for those that
    differ from HEAD or are untracked."""
    raw = _ask(root, "status", "--porcelain=v1", "-z", "--untracked-files=all", "--no-renames", "--", *paths)
    return {entry[3:]: entry[:2] for entry in raw.decode("utf-8", "surrogateescape").split("\0") if len(entry) > 3}


def staged(root, head: str, folder: str) -> list[str]:
    """Paths under ``folder`` whose index entry differs from ``head``'s (a stat of no file; git
    reads its index)."""
    return _names(_ask(root, "diff-index", "--cached", "--name-only", "-z", "--no-renames", head, "--", folder))


def between(root, old: str, new: str, folder: str) -> list[str]:
    """Paths under ``folder`` that differ between two commits' trees (GitProblem when one is gone)."""
    return _names(_ask(root, "diff-tree", "-r", "-z", "--name-only", "--no-renames", old, new, "--", folder))


def tree_id(root, rev: str, path: str) -> str | None:
    """The id of the tree ``path`` names in ``rev``, None when it names none."""
    code, out, _ = runner.query(root, "rev-parse", "-q", "--verify", f"{rev}:{path}")
    return out.decode("ascii", "replace").strip() or None if code == 0 else None


def blobs(root, rev: str, specs: list[str]) -> dict[str, tuple[str, str, int]]:
    """(mode, blob id, size) in ``rev`` of each path in ``specs`` and of every file directly in
    each folder given with a trailing "/"; paths ``rev`` lacks are left out."""
    if not specs:
        return {}
    found = {}
    for entry in _names(_ask(root, "ls-tree", "-z", "-l", "--full-tree", rev, "--", *specs)):
        meta, _, path = entry.partition("\t")
        parts = meta.split()
        if len(parts) == 4 and parts[1] == "blob" and parts[3].isdigit():
            found[path] = (parts[0], parts[2], int(parts[3]))
    return found


def files_under(root, rev: str, folder: str) -> list[str]:
    """Every file ``rev`` has under ``folder``."""
    return _names(_ask(root, "ls-tree", "-r", "-z", "--name-only", "--full-tree", rev, "--", folder.rstrip("/") + "/"))


def ignored(root, paths: list[str]) -> set[str]:
    """Those of ``paths`` git's ignore rules (.gitignore files, info/exclude, core.excludesFile)
    leave out of ``git status``, whatever the index holds."""
    if not paths:
        return set()
    raw = _ask(root, "-c", "core.quotePath=false", "check-ignore", "--no-index", "--", *paths, ok=(0, 1),
               env=None)  # it takes no pathspec magic; these are plain names
    return set(raw.decode("utf-8", "surrogateescape").splitlines()) & set(paths)  # a quoted odd name: not ignored


def index_key(root) -> tuple | None:
    """The stat of git's index file (mtime, ctime, size, inode), None when there is none: any
    ``git add``, commit, reset, checkout or stash rewrites it."""
    from .refs import git_dir

    try:
        st = os.stat(os.path.join(git_dir(root), "index"))
    except (FileNotFoundError, NotADirectoryError):
        return None
    return (st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino)


def ignore_sources(root) -> list[str]:
    """The files whose rules decide what is ignored at a path of the repository's top two levels."""
    from .refs import git_dir

    return [os.path.join(git_dir(root), "info", "exclude"), os.path.join(root, ".gitignore")]


def index_tree(root, folder: str, oid_hex: int = 40) -> str | None:
    """The tree id git's index keeps for the top-level ``folder`` in its cache-tree extension:
    what ``git write-tree`` would give for the index's entries below it, kept by git only while
    none of them changed. None when the index keeps none, or is not simple to read (a split or
    sparse index, an unknown version): then ``staged`` answers.

    Read from the file, without a git process: git reads and checks its whole index (0.02 s for
    111,000 entries), while this extension sits at the end."""
    import mmap
    import struct

    from .refs import git_dir

    try:
        with open(os.path.join(git_dir(root), "index"), "rb") as fh:
            data = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError):
        return None
    try:
        return _cached_tree(data, folder.encode("utf-8", "surrogateescape"), oid_hex // 2, struct)
    except (ValueError, IndexError, struct.error):
        return None
    finally:
        data.close()


def _cached_tree(data, folder: bytes, oid_len: int, struct) -> str | None:
    if data[:4] != b"DIRC" or struct.unpack(">I", data[4:8])[0] not in (2, 3, 4):
        return None
    end = len(data) - oid_len  # the checksum of the whole file follows the extensions
    at = len(data)
    for _ in range(8):  # "TREE" may also occur in a name: the real one chains to the end
        at = data.rfind(b"TREE", 12, at)
        if at < 0:
            return None
        pos, chained, kinds = at, True, []
        while pos < end:
            kind, size = data[pos:pos + 4], struct.unpack(">I", data[pos + 4:pos + 8])[0]
            kinds.append(kind)
            pos += 8 + size
        if pos != end or data[at + 8:at + 9] != b"\0":
            continue
        if b"link" in kinds or b"sdir" in kinds:
            return None  # a split or sparse index: its entries live elsewhere
        tree = data[at + 8:at + 8 + struct.unpack(">I", data[at + 4:at + 8])[0]]
        return _child(tree, folder, oid_len)
    return None


def _child(tree, folder: bytes, oid_len: int) -> str | None:
    """The oid of the root's child ``folder`` in a cache-tree extension (pre-order: each entry
    "path NUL count SP subtrees LF", then its oid when count >= 0, then its subtrees)."""
    def header(pos: int) -> tuple[bytes, int, int, int]:
        nul = tree.index(b"\0", pos)
        lf = tree.index(b"\n", nul)
        count, subtrees = tree[nul + 1:lf].split(b" ")
        return tree[pos:nul], int(count), int(subtrees), lf + 1

    def skip(pos: int) -> int:
        _, count, subtrees, pos = header(pos)
        pos += oid_len if count >= 0 else 0
        for _ in range(subtrees):
            pos = skip(pos)
        return pos

    name, count, subtrees, pos = header(0)
    pos += oid_len if count >= 0 else 0
    for _ in range(subtrees):
        name, count, _, body = header(pos)
        if name == folder:
            return tree[body:body + oid_len].hex() if count >= 0 else None
        pos = skip(pos)
    return None
