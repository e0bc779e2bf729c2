"""Warm boot: reuse the last brief while nothing it was built from has changed.

Building a brief reads each open task, its newest checkpoint, the newest
decisions and the context entries: tens of milliseconds on a bulk task of
2,000 items and 1,000 checkpoints, at every session start. Yet the brief only
changes when one of those files does. So boot records the (mtime, size,
inode) of every file and directory it read, the commit HEAD named, and what
it gathered, in ``.tether/local/boot.cache`` (per machine, git-ignored). The
next boot stats those few paths, a cost that does not grow with history, and
reuses the content when every one matches: the way git's index trusts a
file's stat instead of reading it.

Racily clean files, as git calls them: a file modified in the same
filesystem timestamp tick as it was read can change again without its stat
changing. A snapshot that read a file modified less than ``RACY_NS`` before
the read began is therefore not saved; the next boot reads the files again.

The event log is not a dependency (every session start appends to it), but
boot names a torn or bad line near its end. The cache keeps how far the log
was checked; a warm boot checks only the lines appended since, and reads the
files again if one is bad, so the problem is reported as a cold boot would.

marshal, not json: it is built into the interpreter (no import) and loads
several times faster; its format is tied to the Python version, which is
part of the key.
"""

from __future__ import annotations

import marshal
import os
import sys

from .eventlog import EVENT_LOG

CACHE = "local/boot.cache"
FORMAT = 1
RACY_NS = 2_000_000_000  # coarser than any local filesystem's timestamps (FAT: 2 s)
LOG_WINDOW = 40_960  # as much of the log's end as a cold boot checks (store.recent_events(20))
LOG_RECHECK = 16_384  # appended bytes checked at every warm boot before the mark is moved


def stat_key(path: str) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def _tag() -> str:
    return f"{FORMAT}:{sys.implementation.cache_tag}"


def load(store_dir: str, head: str | None, branch: str | None) -> dict | None:
    """The saved content if every recorded path still has its recorded stat, else None."""
    path = os.path.join(store_dir, CACHE)
    try:
        with open(path, "rb") as fh:
            saved = marshal.load(fh)
    except (OSError, EOFError, ValueError, TypeError):
        return None  # absent, or damaged by a crash: boot reads the files
    if not isinstance(saved, dict) or saved.get("tag") != _tag():
        return None
    if saved.get("head") != head or saved.get("branch") != branch:
        return None
    for rel, key in saved["deps"].items():
        if stat_key(os.path.join(store_dir, rel)) != key:
            return None
    checked = _check_log(os.path.join(store_dir, EVENT_LOG), saved["log"])
    if checked is False:
        return None
    if checked is not None and checked[1] - saved["log"][1] > LOG_RECHECK:  # move the mark: less to read next time
        saved["log"] = checked
        _write(path, saved)
    return saved["content"]


def _check_log(path: str, mark: tuple[int, int, int] | None) -> tuple | None | bool:
    """The log's new stat (None: there is still no log) if the lines appended since ``mark``
    are whole JSON objects; False when a cold boot must look at it."""
    try:
        fh = open(path, "rb")
    except FileNotFoundError:
        return None if mark is None else False
    with fh:
        st = os.fstat(fh.fileno())
        if mark is None or st.st_ino != mark[2] or st.st_size < mark[1]:
            return False  # created, replaced or cut since: a cold boot checks it
        start = max(mark[1], st.st_size - LOG_WINDOW)
        fh.seek(start)
        data = fh.read(st.st_size - start)
    if data:
        if not data.endswith(b"\n"):
            return False  # a torn last line
        lines = data.split(b"\n")
        if start > mark[1]:
            lines = lines[1:]  # the window began inside a line
        import json

        for line in lines:
            if line.strip():
                try:
                    if not isinstance(json.loads(line), dict):
                        return False
                except ValueError:
                    return False
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def save(store_dir: str, started_ns: int, deps: dict[str, tuple | None], head: str | None,
         branch: str | None, content: dict, log: tuple | None) -> bool:
    """Save unless a dependency was modified too close to the read (see the module doc).

    ``log``: the event log's stat taken before boot checked its end.
    """
    if any(key is not None and key[0] >= started_ns - RACY_NS for key in deps.values()):
        return False
    return _write(os.path.join(store_dir, CACHE),
                  {"tag": _tag(), "head": head, "branch": branch, "deps": deps, "log": log, "content": content})


def _write(path: str, saved: dict) -> bool:
    try:
        blob = marshal.dumps(saved)
    except ValueError:  # a value marshal cannot hold: not worth failing a boot over
        return False
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(tmp, "wb") as fh:
            fh.write(blob)
        os.replace(tmp, path)  # no fsync: a cache lost in a crash is rebuilt by the next boot
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        return False  # a read-only checkout: boot still works, it reads the files each time
    return True


def warm_brief(root_dir: str, store_dir: str, budget: int | None, max_chars: int | None):
    """The brief from the cache, rendered at ``budget``; None when boot must read the files."""
    from . import git

    try:
        head, branch = git.head_sha(root_dir), git.current_branch(root_dir)
    except git.GitError:
        return None  # the full boot reports it
    content = load(store_dir, head, branch)
    if content is None:
        return None
    from .brief import from_content

    return from_content(content, budget, max_chars)
