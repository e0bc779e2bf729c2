"""Warm boot: reuse the last brief while nothing it was built from has changed.

Building a brief reads each open task, its newest checkpoint, the newest
decisions and the context entries: tens of milliseconds on a bulk task of
2,000 items and 1,000 checkpoints, at every session start. Yet the brief only
changes when one of those files does. So boot records the (mtime, ctime, size,
inode) of every file and directory it read, the commit HEAD named, and what
it gathered, in ``.tether/local/boot.cache`` (per machine, git-ignored). The
next boot stats those few paths, a cost that does not grow with history, and
reuses the content when every one matches: the way git's index trusts a
file's stat instead of reading it. A restart of the machine makes it stale
(a checkpoint file it lost is restored from the task's journal). When only
HEAD moved (a commit, a new branch), the content holds, and only which of
those files differ from the new HEAD is asked again (headblobs), for the
parts of the brief that name the commit (commitstate).

Racily clean files, as git calls them: a file modified in the same
filesystem timestamp tick as it was read can change again without its stat
changing. So for a file or folder modified less than ``RACY_NS`` before the
read began (the checkpoint a PreCompact hook just made), the cache keeps what
boot read, bytes or names, and the next boot compares them instead of the
stat: a few small files, still no parsing. Where that is not known (a
dependency recorded without its content), the snapshot is not saved.

The event log is not a dependency (every session start appends to it), but
boot names a torn or bad line among its last lines. A warm boot checks the
same lines the same way, and reads the files again if one is bad, so the
problem is reported as a cold boot would.

Stored with fsio.write_cache (marshal); the Python version is part of the key.
"""

from __future__ import annotations

import os
import sys

from .eventlog import CHECKED_LINES, EVENT_LOG, last_lines
from .fsio import WHOLE, boot_id, listing, read_cache, read_tail, stat_key, write_cache

CACHE = "local/boot.cache"
FORMAT = 5  # 5: the commit-dependent parts rendered at load (commitstate), the files read kept
RACY_NS = 2_000_000_000  # coarser than any local filesystem's timestamps (FAT: 2 s)


# The modules whose code shapes what the cache holds: a new tether (an upgrade, or a
# working copy's edit) must not print the brief an older one gathered.
_SHAPERS = ("session.py", "tasks.py", "records.py", "brief.py", "commitstate.py")


def _tag() -> str:
    from . import __version__

    here = os.path.dirname(os.path.abspath(__file__))
    code = [stat_key(os.path.join(here, name)) for name in _SHAPERS]
    return f"{FORMAT}:{sys.implementation.cache_tag}:{__version__}:{code}"


def load(store_dir: str, head: str | None, branch: str | None, root_dir: str | None = None) -> dict | None:
    """The saved content if every recorded path still has its recorded stat, else None. When
    only HEAD moved (``root_dir`` given), the content with what now differs from it."""
    saved = read_cache(os.path.join(store_dir, CACHE))
    if saved.get("tag") != _tag():
        return None  # absent, damaged, or from another tether: boot reads the files
    if saved.get("boot") != boot_id():
        return None  # a restart may have lost files a checkpoint's journal will restore
    read_back = saved.get("read_back") or {}
    for rel, key in saved["deps"].items():
        if rel in read_back:
            if _now(os.path.join(store_dir, rel), read_back[rel]) != read_back[rel]:
                return None
        elif stat_key(os.path.join(store_dir, rel)) != key:
            return None
    if not _log_end_is_whole(os.path.join(store_dir, EVENT_LOG)):
        return None
    if (saved.get("head"), saved.get("branch")) != (head, branch):
        return _after_head_moved(saved, store_dir, root_dir, head, branch)
    return saved["content"]


def _after_head_moved(saved: dict, store_dir: str, root_dir: str | None, head: str | None,
                      branch: str | None) -> dict | None:
    """A commit, or a checkout of a branch with the same files: tether's files are as boot read
    them, so the brief differs only in the commit it names and which of them differ from it
    (commitstate). Saved again, so the next boot does not ask git."""
    if root_dir is None or not isinstance(saved.get("files"), list):
        return None
    import time

    from . import headblobs
    from .git import GitError

    def content_of(rel: str) -> bytes:
        with open(os.path.join(store_dir, rel), "rb") as fh:
            return fh.read()

    try:
        changed = headblobs.differing(root_dir, store_dir, head, saved["files"], content_of, saved["deps"],
                                      time.time_ns())
    except (GitError, OSError):
        return None  # the full boot says why
    content = {**saved["content"]}
    content["data"] = {**content["data"], "sha": head, "branch": branch, "changed": changed}
    write_cache(os.path.join(store_dir, CACHE), {**saved, "head": head, "branch": branch, "content": content})
    return content


def _now(path: str, then: bytes | str) -> bytes | str | None:
    """What a racy dependency holds now, in the form it was kept: a file's bytes, a folder's names."""
    try:
        if isinstance(then, str):
            return "\0".join(listing(path))
        with open(path, "rb") as fh:
            return fh.read()
    except OSError:  # unreadable now: the full boot says why
        return None


def _log_end_is_whole(path: str) -> bool:
    """Whether the log's last lines are whole JSON objects: what a cold boot checks, read the same way."""
    from .eventlog import wrong_event
    from .parsing import iter_jsonl

    def tail(size: int) -> bytes:
        try:
            return read_tail(path, size)
        except FileNotFoundError:
            return b""

    problems: list = []
    for _ in iter_jsonl(last_lines(tail, CHECKED_LINES, WHOLE), path, problems, check=wrong_event):
        pass
    return not problems


def save(store_dir: str, started_ns: int, deps: dict[str, tuple | None], head: str | None,
         branch: str | None, content: dict, seen: dict | None = None) -> bool:
    """Save, keeping what was read of the dependencies modified too close to the read (see the
    module doc); not saved when one of those was not recorded in ``seen``."""
    # The modification time decides (a content change in the same tick keeps it); the ctime in the
    # key only sees what puts an mtime back.
    racy = [rel for rel, key in deps.items() if key is not None and key[0] >= started_ns - RACY_NS]
    seen = seen or {}
    if any(not isinstance(seen.get(rel), (bytes, list)) for rel in racy):
        return False
    # A folder's names joined by NUL, the one character no name can hold.
    read_back = {rel: seen[rel] if isinstance(seen[rel], bytes) else "\0".join(seen[rel]) for rel in racy}
    from .headblobs import tracked

    files = tracked(rel for rel, value in seen.items() if isinstance(value, bytes))  # compared with HEAD
    # A read-only checkout: boot still works, it reads the files each time.
    return write_cache(os.path.join(store_dir, CACHE), {"tag": _tag(), "head": head, "branch": branch,
                                                        "boot": boot_id(), "deps": deps, "read_back": read_back,
                                                        "files": files, "content": content})


def warm_brief(root_dir: str, store_dir: str, budget: int | None, max_chars: int | None):
    """The brief from the cache, rendered at ``budget``; None when boot must read the files."""
    from . import git

    try:
        head, branch = git.head_sha(root_dir), git.current_branch(root_dir)
    except git.GitError:
        return None  # the full boot reports it
    content = load(store_dir, head, branch, root_dir)
    if content is None:
        return None
    from . import commitstate
    from .brief import from_content

    return from_content(commitstate.apply(content), budget, max_chars)
