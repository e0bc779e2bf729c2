"""Reading git's objects: a commit's files without a checkout, blob ids, tree entries.

``GitTree`` keeps one ``cat-file --batch`` process for all its reads (boot --sha
reads a whole store through it); ``cat_blobs`` asks for several blobs in one
process; ``tree_entries`` and ``same_tree`` are the boot path's questions, asked
without the subprocess module.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not `from typing import ...`: typing costs 3 ms at start-up
if TYPE_CHECKING:
    import subprocess

from ..errors import GitProblem
from . import runner


def tree_entries(root, rev: str, specs: list[str]) -> dict[str, str]:
    """Blob ids in ``rev``'s tree: of each path in ``specs``, and of every file directly in
    each directory given with a trailing "/". Paths are repo-relative and taken literally."""
    if not specs:
        return {}
    code, out, err = runner.query(root, "ls-tree", "-z", "--full-tree", rev, "--", *specs, env={"GIT_LITERAL_PATHSPECS": "1"})
    if code != 0:
        runner.fail(err, "ls-tree")
    oids = {}
    for entry in out.decode("utf-8", "surrogateescape").split("\0"):
        meta, _, path = entry.partition("\t")
        parts = meta.split()
        if len(parts) == 3 and parts[1] == "blob":
            oids[path] = parts[2]
    return oids


def tracked_files(root) -> list[str]:
    """The repository's tracked files, repo-relative (to resolve a bare file name once)."""
    code, out, err = runner.query(root, "ls-files", "-z", "--full-name")
    if code != 0:
        runner.fail(err, "ls-files")
    return [p for p in out.decode("utf-8", "surrogateescape").split("\0") if p]


def same_tree(root, rev_a: str, rev_b: str, path: str) -> bool:
    """Whether ``path`` names the same tree in both commits (False when either lacks it)."""
    code, out, _ = runner.query(root, "rev-parse", f"{rev_a}:{path}", f"{rev_b}:{path}")
    ids = out.split()
    return code == 0 and len(ids) == 2 and ids[0] == ids[1]


def blob_oid(data: bytes, sha256: bool = False) -> str:
    """The id git gives a blob with this content."""
    import hashlib

    digest = hashlib.sha256 if sha256 else hashlib.sha1
    return digest(b"blob %d\0" % len(data) + data).hexdigest()


def existing(root, candidates: set[str]) -> set[str]:
    """Those of ``candidates`` (object ids) that name objects of the repository, in one process."""
    if not candidates:
        return set()
    proc = runner.run(root, "cat-file", "--batch-check", input="".join(f"{c}\n" for c in sorted(candidates))
                      .encode("ascii"), check=False)
    return {line.split()[0] for line in proc.stdout.decode("ascii", "replace").splitlines()
            if len(line.split()) == 3 and line.split()[1] != "missing"}


def cat_blobs(root, specs: list[str]) -> list[bytes | None]:
    """The content of each ``rev:path`` (None when it does not exist), in one git process."""
    if not specs:
        return []
    proc = runner.run(root, "cat-file", "--batch", input="".join(s + "\n" for s in specs).encode("utf-8"),
                      check=False)
    out = proc.stdout
    found: list[bytes | None] = []
    pos = 0
    for _ in specs:
        end = out.find(b"\n", pos)
        if end < 0:
            found.append(None)
            continue
        header = out[pos:end].split()
        pos = end + 1
        if len(header) == 3 and header[2].isdigit():
            size = int(header[2])
            found.append(out[pos:pos + size] if header[1] == b"blob" else None)
            pos += size + 1
        else:
            found.append(None)  # "<spec> missing"
    return found


class GitTree:
    """Read-only view of the files of one commit, read from git objects (no checkout)."""

    def __init__(self, root, sha: str, prefix: str = "") -> None:
        self._proc: subprocess.Popen | None = None  # started lazily on first read
        self.root, self.sha, self.prefix = root, sha, _norm(prefix) or ""
        self._dirs: dict[str, list[str] | None] = {}  # listing cache; None = absent/not a dir

    def _path(self, rel: str) -> str | None:
        rel_n = _norm(rel)
        return None if rel_n is None else "/".join(p for p in (self.prefix, rel_n) if p)

    def _cat(self, path: str) -> tuple[str, bytes, int] | None:
        """(type, content, oid hex length) of <sha>:<path> from the one cat-file process."""
        if self._proc is None:
            self._proc = runner.batch(self.root, "cat-file", "--batch")
        proc = self._proc
        try:
            proc.stdin.write(f"{self.sha}:{path}\n".encode("utf-8", "surrogateescape"))
            proc.stdin.flush()
            header = proc.stdout.readline()
        except OSError:  # includes BrokenPipeError
            header = b""
        if not header:
            self.close()
            raise GitProblem(f"git cat-file stopped unexpectedly in {self.root}")
        # "<oid> <type> <size>" or "<input> missing|ambiguous"; rsplit keeps odd paths safe.
        parts = header.rstrip(b"\n").rsplit(b" ", 2)
        if len(parts) != 3 or not parts[2].isdigit():
            return None
        data = proc.stdout.read(int(parts[2]) + 1)[:-1]  # content, then a trailing LF
        return parts[1].decode(), data, len(parts[0])

    def read(self, rel: str) -> bytes | None:
        path = self._path(rel)
        got = self._cat(path) if path else None
        return got[1] if got and got[0] == "blob" else None

    def _listing(self, rel: str) -> list[str] | None:
        path = self._path(rel)
        if path is not None and path not in self._dirs:
            # Trees come through the same cat-file process: no `ls-tree` process per directory.
            got = self._cat(path)
            self._dirs[path] = _tree_names(got[1], got[2] // 2) if got and got[0] == "tree" else None
        return None if path is None else self._dirs[path]

    def list(self, rel: str = "") -> list[str]:
        return list(self._listing(rel) or [])

    def is_dir(self, rel: str) -> bool:
        return self._listing(rel) is not None

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            for stream in (proc.stdin, proc.stdout):  # EOF on stdin makes cat-file exit
                try:
                    stream.close()
                except OSError:
                    pass
            proc.wait()

    def __enter__(self) -> GitTree:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:  # don't leak the child if the caller forgot close()
        if getattr(self, "_proc", None) is not None:
            self.close()


def _norm(rel: str) -> str | None:
    """Clean a relative path ("a//b/./c/" -> "a/b/c"); None for ones git cannot name."""
    parts = [p for p in rel.split("/") if p not in ("", ".")]
    return None if ".." in parts or "\n" in rel else "/".join(parts)


def _tree_names(raw: bytes, oid_len: int) -> list[str]:
    """Entry names of a raw tree object: "<mode> <name>\\0<binary oid>" repeated."""
    names, i = [], 0
    while i < len(raw):
        sp = raw.index(b" ", i)
        nul = raw.index(b"\0", sp)
        names.append(raw[sp + 1:nul].decode("utf-8", "surrogateescape"))
        i = nul + 1 + oid_len
    return sorted(names)
