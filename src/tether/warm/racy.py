"""When a file's stat can be trusted to change with its content: the one "racily clean" rule.

Every per-machine cache trusts a file's stat (mtime, ctime, size, inode) instead
of reading it, as git's index does. A file modified in the same filesystem
timestamp tick as it was looked at can change again without its stat changing,
so a stat is trusted only when the file was last modified ``RACY_NS`` before the
look began: a margin coarser than any local filesystem's timestamps (FAT's 2 s)
and than the lag between the system clock and the kernel's file clock. A stat
not trusted costs a read next time, never a wrong answer.
"""

from __future__ import annotations

RACY_NS = 2_000_000_000


def trusted(key: tuple | None, started_ns: int) -> bool:
    """Whether ``key`` (fsio.stat_key: mtime_ns first) was taken of a file last modified well before
    ``started_ns`` (time.time_ns() when the look began)."""
    return key is not None and key[0] < started_ns - RACY_NS
