"""When files were last committed: what every clone agrees on, where a file's mtime is only when
git last wrote it (a clone, a checkout, a pull).

Paths are relative to ``root`` (the workspace, which may sit below the repository's top), as
given and as answered, and taken literally.
"""

from __future__ import annotations

from ..errors import GitProblem
from . import runner

_LITERAL = {"GIT_LITERAL_PATHSPECS": "1"}


def _names(raw: bytes) -> set[str]:
    return {p for p in raw.decode("utf-8", "surrogateescape").split("\0") if p}


def as_committed(root, paths: list[str]) -> set[str]:
    """Those of ``paths`` whose file is as HEAD has it: in HEAD's tree, with no change staged or in
    the worktree (git compares the bytes of a file whose stat changed). Empty before the first
    commit; GitProblem outside a repository or without git."""
    if not paths:
        return set()
    from .refs import head_sha

    if head_sha(root) is None:
        return set()
    code, out, err = runner.query(root, "ls-tree", "-r", "-z", "--name-only", "HEAD", "--", *paths, env=_LITERAL)
    if code != 0:
        runner.fail(err, "ls-tree")
    tracked = _names(out)
    if not tracked:
        return set()
    code, out, err = runner.query(root, "diff", "--no-color", "--name-only", "-z", "--relative", "--no-renames",
                                  "HEAD", "--", *sorted(tracked), env=_LITERAL)
    if code != 0:
        runner.fail(err, "diff")
    return tracked - _names(out)


def last_commit_times(root, paths: list[str], after: int | None = None) -> dict[str, int]:
    """The committer time (epoch seconds) of the commit that last changed each of ``paths``, found
    by one ``git log`` walking back from HEAD, newest first, stopped at the first commit made before
    both ``after`` and the newest time found: a path left out was last changed before that commit
    (or is not in HEAD's history). So the walk reads the commits made since the newest of them,
    never the whole history for the newest one."""
    wanted = set(paths)
    if not wanted:
        return {}
    from contextlib import closing

    found: dict[str, int] = {}
    floor = after
    at = None
    # -m: a merge that changed a path from both sides (a conflict resolved) names it too.
    args = ("log", "--no-color", "-m", "--no-renames", "--relative", "--name-only", "--format=%x00%ct", "--", *sorted(wanted))
    with closing(runner.lines(root, *args, env=_LITERAL)) as out:
        for raw in out:
            line = raw.rstrip(b"\n").decode("utf-8", "surrogateescape")
            if line.startswith("\0"):
                try:
                    at = int(line[1:])
                except ValueError:
                    raise GitProblem(f"git log printed an odd commit time: {line[1:]!r}") from None
                if floor is not None and at < floor:
                    break
            elif line in wanted and line not in found and at is not None:
                found[line] = at
                floor = at if floor is None else max(floor, at)
                if len(found) == len(wanted):
                    break
    return found
