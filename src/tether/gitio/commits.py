"""Committing tether's files without touching the user's staging area, hooks or worktree.

Commits go through plumbing with a private index: ``read-tree`` of HEAD, ``add``
of the given paths, ``write-tree``, ``commit-tree``, then a compare-and-swap
``update-ref`` so a HEAD that moved meanwhile is never overwritten.
"""

from __future__ import annotations

import os

from ..errors import GitProblem
from . import runner
from .refs import git_dir, head_sha


def _specs(pathspec: str | list[str]) -> list[str]:
    return [pathspec] if isinstance(pathspec, str) else list(pathspec)


_STATUS = ("status", "--porcelain=v1", "-z", "--untracked-files=all", "--no-renames")


def _parse_status(raw: bytes) -> list[str]:
    # Entries are "XY path"; --no-renames means no second "source" field follows.
    out = raw.decode("utf-8", "surrogateescape")
    return sorted({entry[3:] for entry in out.split("\0") if len(entry) > 3})


def changed_paths(root, pathspec: str | list[str]) -> list[str]:
    return _parse_status(runner.run(root, *_STATUS, "--", *_specs(pathspec)).stdout)


def _message(message: str, trailers: dict[str, str]) -> bytes:
    body = message.strip()
    for i, (key, value) in enumerate(trailers.items()):
        # A colon, space or newline in a key (or newline in a value) would break the block.
        if not key or any(c in key for c in ": \n\r") or "\n" in value or "\r" in value:
            raise GitProblem(f"invalid commit trailer: {key!r}")
        body += ("\n\n" if i == 0 else "\n") + f"{key}: {value}"
    return (body + "\n").encode("utf-8")


def commit_paths(root, pathspec: str | list[str], message: str, trailers: dict[str, str],
                 inspect=None) -> str | None:
    """Commit what ``pathspec`` matches, alone; None when nothing changed. ``inspect(added, message)``
    sees what the commit adds before it is made: {path: [(line number, text)]} and the message."""
    if not changed_paths(root, pathspec):
        return None  # cheap exit, and keeps `git add` away from a pathspec matching nothing
    msg = _message(message, trailers)  # validate before writing any object
    old = head_sha(root)
    # A private index inside .git: the user's staging area is never read or written here.
    idx = os.path.join(git_dir(root), f"tether-index-{os.getpid()}-{os.urandom(4).hex()}")
    env = {"GIT_INDEX_FILE": str(idx)}
    try:
        runner.run(root, "read-tree", *([old] if old else ["--empty"]), env=env)
        proc = runner.run(root, "add", "-A", "--", *_specs(pathspec), env=env, check=False)
        if proc.returncode != 0:
            if b"did not match any files" in proc.stderr:  # e.g. only a staged-then-deleted file
                return None
            runner.fail(proc.stderr, "add")
        if inspect is not None:
            base = old or runner.output(root, "mktree", input=b"")
            inspect(added_lines(root, base, env), msg.decode("utf-8"))
        tree = runner.output(root, "write-tree", env=env)
    finally:
        for p in (idx, idx + ".lock"):
            if os.path.exists(p):
                os.unlink(p)
    base = runner.output(root, "rev-parse", f"{old}^{{tree}}") if old else runner.output(root, "mktree", input=b"")
    if tree == base:
        return None  # e.g. the real index differed from HEAD but the worktree does not

    proc = runner.run(root, "commit-tree", tree, *(["-p", old] if old else []), input=msg, check=False)
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace")
        if "ident" in err or "tell me who you are" in err or "auto-detect" in err:
            raise GitProblem("git author identity is not configured",
                           hint="set git config user.name and user.email")
        runner.fail(proc.stderr, "commit-tree")
    new = proc.stdout.decode().strip()

    # Compare-and-swap: fails if someone moved HEAD meanwhile. An empty old value means
    # "must not exist yet" (unborn). update-ref on HEAD follows the symref to the branch.
    subject = msg.decode("utf-8").partition("\n")[0]
    proc = runner.run(root, "update-ref", "-m", f"commit (tether): {subject}", "HEAD", new, old or "",
                check=False)
    if proc.returncode != 0:
        raise GitProblem("HEAD moved while committing; nothing was changed", hint="run the command again")
    # Bring the real index in line with the new commit for these paths only; anything
    # else the user staged stays staged. `reset` with paths runs no hooks.
    proc = runner.run(root, "reset", "-q", "--", *_specs(pathspec), check=False)
    if proc.returncode != 0:
        raise GitProblem(f"committed {new[:12]} but could not update the index for {_specs(pathspec)}",
                       hint=f"run `git reset -q -- {' '.join(_specs(pathspec))}`")
    return new




_HUNK = None


def added_lines(root, base: str, env: dict[str, str] | None = None) -> dict[str, list[tuple[int, str]]]:
    """The lines the index (``env``'s GIT_INDEX_FILE) adds to ``base`` (a commit or tree): path ->
    [(line number in the new file, text)]. Binary files are left out."""
    global _HUNK
    import re

    if _HUNK is None:
        _HUNK = re.compile(rb"^@@ -\d+(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
    raw = runner.run(root, "diff", "--cached", "--no-color", "--no-ext-diff", "--no-textconv", "--no-renames",
                     "-U0", base, "--", env=env).stdout
    out: dict[str, list[tuple[int, str]]] = {}
    lines = raw.split(b"\n")
    i, path = 0, None
    while i < len(lines):
        line = lines[i]
        i += 1
        if line.startswith(b"diff --git "):
            path = None
        elif line.startswith(b"+++ ") and path is None:
            name = line[4:].removesuffix(b"\t")  # git adds a tab after a name with a space
            path = None if name == b"/dev/null" else _unquote(name)[2:]  # "b/<path>"
        elif path is not None and (match := _HUNK.match(line)):
            removed = int(match.group(1)) if match.group(1) is not None else 1
            number, count = int(match.group(2)), int(match.group(3)) if match.group(3) is not None else 1
            # -U0: the hunk is its removed lines, then its added ones; counted, since an added
            # line may itself begin with "+++" or "@@".
            taken = 0
            while taken < removed + count and i < len(lines):
                body = lines[i]
                i += 1
                if body.startswith(b"\\"):  # "\ No newline at end of file"
                    continue
                if taken >= removed:
                    out.setdefault(path, []).append((number, body[1:].decode("utf-8", "replace")))
                    number += 1
                taken += 1
    return out


def _unquote(name: bytes) -> str:
    """A path as git prints it in a diff: C-quoted when it holds special characters."""
    if name.startswith(b'"') and name.endswith(b'"'):
        import codecs

        name = codecs.escape_decode(name[1:-1])[0]
    return name.decode("utf-8", "surrogateescape")


def commits_since(root, pinned: dict[str, str], since: int) -> dict[str, int]:
    """path -> how many commits of HEAD's history changed it after the version ``pinned`` names
    (its blob id): the commits newer than the one that brought that version in or, when no
    commit holds it (it was never committed as it was), those committed after ``since`` (epoch
    seconds). {} on a branch with no commit yet."""
    paths = sorted(pinned)
    proc = runner.run(root, "log", "--format=%x01%ct", "--raw", "--no-abbrev", "--no-renames", "-z",
                      "--", *paths, check=False)
    if proc.returncode != 0:
        if head_sha(root) is None:
            return {}
        runner.fail(proc.stderr, "log")
    newer: dict[str, int] = {}  # commits seen so far (newest first) that changed the path
    after: dict[str, int] = {}  # of those, committed after `since`
    found: set[str] = set()
    for commit in proc.stdout.split(b"\x01")[1:]:
        # "<ct>\n\0:<modes> <old> <new> <status>\0<path>\0..." (-z: names as they are, never quoted)
        fields = commit.split(b"\0")
        when = int(fields[0].strip() or b"0")
        for info, name in zip(fields[1::2], fields[2::2]):
            parts = info.strip(b"\n").split()
            path = name.decode("utf-8", "surrogateescape")
            if len(parts) < 4 or path not in pinned or path in found:
                continue
            if parts[3].decode("ascii", "replace") == pinned[path]:
                found.add(path)  # this commit brought the pinned version in: what came after counts
                continue
            newer[path] = newer.get(path, 0) + 1
            if when > since:  # to the second: a commit in the memory's own second is taken as before it
                after[path] = after.get(path, 0) + 1
    return {path: newer.get(path, 0) if path in found else after.get(path, 0) for path in paths}
