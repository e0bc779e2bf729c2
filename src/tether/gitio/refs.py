"""Which commit and branch HEAD names, and what a revision resolves to.

Hot paths (HEAD, branch) read ``.git`` files directly and start no process at
all: boot asks at every session start. Anything unusual (a worktree, reftable,
a symref chain) is asked of git.
"""

from __future__ import annotations

import os

from ..errors import GitProblem

_HEX = frozenset("0123456789abcdef")


def is_sha(s: str) -> bool:
    return len(s) in (40, 64) and set(s) <= _HEX  # SHA-1 or SHA-256 repositories


def read_git_file(path: str) -> str | None | bool:
    """File text; None if absent; False if unreadable (then we ask git instead)."""
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError):  # also: .git is a file (worktree, submodule)
        return False


def _read_head(root) -> tuple[str, str] | None:
    """('ref', name) or ('sha', sha) from .git/HEAD; None when not simple to read."""
    data = read_git_file(os.path.join(root, ".git", "HEAD"))
    if not data:
        return None
    data = data.strip()
    if data.startswith("ref: "):
        ref = data[5:].strip()
        # reftable repositories point HEAD at this placeholder; the real refs are binary.
        return None if ref == "refs/heads/.invalid" else ("ref", ref)
    return ("sha", data) if is_sha(data) else None


def _ref_sha(root, ref: str) -> str | None | bool:
    """SHA of a ref from loose or packed refs; None if unborn; False means "ask git"."""
    loose = read_git_file(os.path.join(root, ".git", ref))
    if loose is not None:  # a symref chain or odd content is left to git
        return loose.strip() if loose and is_sha(loose.strip()) else False
    packed = read_git_file(os.path.join(root, ".git", "packed-refs"))
    for line in (packed or "").splitlines():
        sha, _, name = line.partition(" ")  # "#" header and "^" peeled lines never match
        if name == ref:
            return sha if is_sha(sha) else False
    return False if packed is False else None  # no loose and no packed ref: unborn branch


def head_sha(root) -> str | None:
    head = _read_head(root)
    if head is not None:
        sha = head[1] if head[0] == "sha" else _ref_sha(root, head[1])
        if sha is not False:
            return sha
    from . import runner  # only when .git cannot answer: the boot path asks no process

    return runner.answer_or_none(root, "rev-parse", "-q", "--verify", "HEAD^{commit}")  # None: unborn


def current_branch(root) -> str | None:
    head = _read_head(root)
    if head is not None:
        return head[1].removeprefix("refs/heads/") if head[0] == "ref" else None
    from . import runner

    return runner.answer_or_none(root, "symbolic-ref", "-q", "--short", "HEAD")  # None: detached


def resolve_commit(root, rev: str) -> str:
    # A leading "-" would be parsed as an option; a newline can never name a commit.
    ok = bool(rev) and not rev.startswith("-") and "\n" not in rev
    from . import runner

    proc = runner.run(root, "rev-parse", "-q", "--verify", f"{rev}^{{commit}}", check=False) if ok else None
    if proc is None or proc.returncode != 0:
        raise GitProblem(f"not a commit: {rev}", hint="run `git rev-parse HEAD` to get a valid SHA")
    return proc.stdout.decode().strip()


def git_dir(root) -> str:
    gd = os.path.join(root, ".git")
    if os.path.isdir(gd):
        return gd
    from . import runner

    return runner.output(root, "rev-parse", "--absolute-git-dir")


# What git leaves in the git directory while an operation waits for the user, and the command that
# continues it: a commit made meanwhile lands in the middle of that operation.
_UNDERWAY = (("MERGE_HEAD", "merge"), ("rebase-merge", "rebase"), ("rebase-apply", "rebase"),
             ("CHERRY_PICK_HEAD", "cherry-pick"), ("REVERT_HEAD", "revert"), ("BISECT_LOG", "bisect"))


def operation_in_progress(root) -> str | None:
    """The git operation this working tree is in the middle of (``merge``, ``rebase``, ``am``,
    ``cherry-pick``, ``revert``, ``bisect``), or None."""
    gd = git_dir(root)
    for name, operation in _UNDERWAY:
        path = os.path.join(gd, name)
        if os.path.exists(path):
            if name == "rebase-apply" and os.path.exists(os.path.join(path, "applying")):
                return "am"
            return operation
    return None
