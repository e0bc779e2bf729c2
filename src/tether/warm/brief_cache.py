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
those files differ from the new HEAD is asked again (head_diff), for the
parts of the brief that name the commit (commit_lines).

Racily clean files, as git calls them: a file modified in the same
filesystem timestamp tick as it was read can change again without its stat
changing. So for a file or folder modified too close (warm.cachefile.trusted) before the
read began (the checkpoint a PreCompact hook just made), the cache keeps what
boot read, bytes or names, and the next boot compares them instead of the
stat: a few small files, still no parsing. Where that is not known (a
dependency recorded without its content), the snapshot is not saved.

The event log's end is read too (who recorded what since the last close, and a
torn or bad line among its last lines, which boot names). It is a dependency
whose stat is trusted however recent: it is only ever appended to, and every
append changes its size. A warm boot also checks its last lines the way a cold
boot does, and reads the files again if one is bad, so the problem is reported
as a cold boot would.

Stored with warm.cachefile; the tether version and its code are part of the tag.
"""

from __future__ import annotations

import os

from ..errors import LinkRefused
from ..store.eventlog import CHECKED_LINES, EVENT_LOG, last_lines
from ..store.fsio import WHOLE, boot_id, listing, read_tail, stat_key
from ..store.nofollow import check_folder, read_bytes
from . import cachefile

CACHE = "local/boot.cache"
FORMAT = 6  # 6: in warm.cachefile


# The modules whose code shapes what the cache holds: a new tether (an upgrade, or a
# working copy's edit) must not print the brief an older one gathered.
_SHAPERS = ("core/boot.py", "core/tasks.py", "model/records.py", "store/formats.py", "core/brief.py",
            "core/commit_lines.py", "core/teach.py", "core/long_break.py", "core/sections.py",
            "core/relevance.py", "core/context_document.py")


def _tag() -> str:
    from .. import __version__

    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the tether package
    code = [stat_key(os.path.join(here, name)) for name in _SHAPERS]
    return f"{__version__}:{code}"  # the format and the Python are in the file's header


def load(store_dir: str, head: str | None, branch: str | None, root_dir: str | None = None) -> dict | None:
    """The saved content if every recorded path still has its recorded stat, else None. When
    only HEAD moved (``root_dir`` given), the content with what now differs from it."""
    saved = cachefile.read(os.path.join(store_dir, CACHE), "boot", FORMAT, store_dir)
    if not isinstance(saved, dict) or saved.get("tag") != _tag():
        return None  # absent, damaged, or from another tether: boot reads the files
    if saved.get("boot") != boot_id():
        return None  # a restart may have lost files a checkpoint's journal will restore
    read_back = saved.get("read_back") or {}
    for rel, key in saved["deps"].items():
        if rel in read_back:
            if _now(store_dir, rel, read_back[rel]) != read_back[rel]:
                return None
        elif stat_key(os.path.join(store_dir, rel)) != key:
            return None
    if not _log_end_is_whole(store_dir):
        return None
    if (saved.get("head"), saved.get("branch")) != (head, branch):
        return _after_head_moved(saved, store_dir, root_dir, head, branch)
    return saved["content"]


def _after_head_moved(saved: dict, store_dir: str, root_dir: str | None, head: str | None,
                      branch: str | None) -> dict | None:
    """A commit, or a checkout of a branch with the same files: tether's files are as boot read
    them, so the brief differs only in the commit it names and which of them differ from it
    (commit_lines). Saved again, so the next boot does not ask git."""
    if root_dir is None or not isinstance(saved.get("files"), list):
        return None
    import time

    from . import head_diff
    from ..errors import GitProblem

    def content_of(rel: str) -> bytes:
        return read_bytes(os.path.join(store_dir, rel), store_dir)

    try:
        changed = head_diff.differing(root_dir, store_dir, head, saved["files"], content_of, saved["deps"],
                                      time.time_ns())
    except (GitProblem, OSError, LinkRefused):
        return None  # the full boot says why
    content = {**saved["content"]}
    content["data"] = {**content["data"], "sha": head, "branch": branch, "changed": changed}
    cachefile.write(os.path.join(store_dir, CACHE), "boot", FORMAT, {**saved, "head": head, "branch": branch,
                                                                     "content": content}, store_dir)
    return content


def _now(store_dir: str, rel: str, then: bytes | str) -> bytes | str | None:
    """What a racy dependency holds now, in the form it was kept: a file's bytes, a folder's names."""
    path = os.path.join(store_dir, rel)
    try:
        if isinstance(then, str):
            check_folder(store_dir, path)
            return "\0".join(listing(path))
        return read_bytes(path, store_dir)
    except (OSError, LinkRefused):  # unreadable now, or a link: the full boot says why
        return None


def _log_end_is_whole(store_dir: str) -> bool:
    """Whether the log's last lines are whole JSON objects: what a cold boot checks, read the same way."""
    from ..store.codec import iter_jsonl
    from ..store.eventlog import odd_event, wrong_event

    path = os.path.join(store_dir, EVENT_LOG)

    def tail(size: int) -> bytes:
        try:
            return read_tail(path, size, store_dir)
        except FileNotFoundError:
            return b""

    problems: list = []
    try:
        for _ in iter_jsonl(last_lines(tail, CHECKED_LINES, WHOLE), path, problems, check=wrong_event,
                            flag=odd_event):
            pass
    except (OSError, LinkRefused):  # a link, or unreadable: the full boot names it
        return False
    return not problems


def save(store_dir: str, started_ns: int, deps: dict[str, tuple | None], head: str | None,
         branch: str | None, content: dict, seen: dict | None = None) -> bool:
    """Save, keeping what was read of the dependencies modified too close to the read (see the
    module doc); not saved when one of those was not recorded in ``seen``."""
    # The modification time decides (a content change in the same tick keeps it); the ctime in the
    # key only sees what puts an mtime back.
    racy_deps = [rel for rel, key in deps.items()
                 if key is not None and rel != EVENT_LOG and not cachefile.trusted(key, started_ns)]
    seen = seen or {}
    if any(not isinstance(seen.get(rel), (bytes, list)) for rel in racy_deps):
        return False
    # A folder's names joined by NUL, the one character no name can hold.
    read_back = {rel: seen[rel] if isinstance(seen[rel], bytes) else "\0".join(seen[rel]) for rel in racy_deps}
    from .head_diff import tracked

    files = tracked(rel for rel, value in seen.items() if isinstance(value, bytes))  # compared with HEAD
    # A read-only checkout: boot still works, it reads the files each time.
    return cachefile.write(os.path.join(store_dir, CACHE), "boot", FORMAT, {"tag": _tag(), "head": head, "branch": branch,
                                                        "boot": boot_id(), "deps": deps, "read_back": read_back,
                                                        "files": files, "content": content}, store_dir)
