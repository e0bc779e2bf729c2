"""The append-only logs: one whole line per write, never torn for good.

A line is appended in one ``write`` on an ``O_APPEND`` descriptor, under a lock on
the log itself held from reading its last byte to the write (not the flush), then
forced to disk. Linux copies a write page by page and may stop between pages for a
fatal signal, so a killed writer can still leave a torn last line: the next append
to that log, or ``tether index --repair`` (``mend_log``), completes it when its full
text is known elsewhere (a journal line, from its checkpoint file) or sets it aside,
byte for byte, under ``local/torn/`` (per machine, never committed), and says so
once (``mended``). A line that fits in a block can be written so that it does not
straddle two (``aligned``), and then no kill can tear it.
"""

from __future__ import annotations

import os

from . import fsio
from .fsio import _fsync_dir, _open, _parent, create_exclusive, named
from .nofollow import NOFOLLOW, check_path, refused_open

# fdatasync where the OS has it: an appended line's data and the file's new size, without
# the times an fsync would write too.
_datasync = getattr(os, "fdatasync", os.fsync)

# A write that stays inside one aligned block of this size is never cut short by a kill: Linux copies
# a write into the page cache one page (or larger folio, aligned to its size) at a time, and stops for
# a fatal signal only between them. Pages are 4 KiB or a multiple of it.
BLOCK = 4096

# Where a store sets torn last lines aside (under .tether/): per machine, never committed.
TORN_DIR = "local/torn"

# The torn last lines this process set aside or restored, each reported once by the command line.
mended: list[dict] = []

_fcntl = None


def _lock_log(fd: int) -> bool:
    """Lock a log (flock on its own descriptor) while its end is read and written: appends that
    check the last byte, then write, never glue to each other, and a repair never cuts a line
    another process appended. Held for a pread and a write, not for the flush."""
    global _fcntl
    if _fcntl is None:
        try:
            import fcntl as _fcntl
        except ImportError:  # no flock (Windows): appends stay one write each, as before
            _fcntl = False
    if _fcntl:
        _fcntl.flock(fd, _fcntl.LOCK_EX)
        return True
    return False


def _unlock_log(fd: int, locked: bool) -> None:
    if locked:
        _fcntl.flock(fd, _fcntl.LOCK_UN)


def append_text(path, text: str, durable: bool = True, *, aligned: bool = False, aside: str | None = None,
                mend=None, root: str | None = None) -> dict | None:
    """Append ``text`` (whole lines) in one write; with ``durable``, forced to disk before returning.

    All or nothing: a write the disk could not take whole is taken back and raises OSError naming
    the file. A torn last line already there (a writer killed mid-append) is dealt with first
    (see _mend); what was repaired is returned and added to ``mended``. ``aligned``: a text that
    fits in a block is padded with a line of spaces so that it does not straddle two blocks, so
    that no kill can tear it. With ``root``, never through a link (see store.nofollow).
    """
    data = text.encode("utf-8")
    path = os.fspath(path)
    try:
        fd = _open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, root=root)
    except OSError as exc:
        raise named(exc, path) from None
    repaired = None
    try:
        locked = _lock_log(fd)
        try:
            size = os.fstat(fd).st_size
            lead = b""
            if size and os.pread(fd, 1, size - 1) != b"\n":
                repaired, size, lead = _mend(fd, path, size, aside, mend, root)  # lead ends the last line
            end = size + len(lead)
            if aligned and end % BLOCK and BLOCK - end % BLOCK < len(data) <= BLOCK:
                lead += b" " * (BLOCK - end % BLOCK - 1) + b"\n"  # to the next block: the text fits in it
            data = lead + data
            try:
                written = fsio._write(fd, data)  # one write: O_APPEND keeps concurrent lines whole
            except OSError as exc:
                raise named(exc, path) from None
            if written != len(data):
                # The disk took part of it: take that part back (the lock keeps others from having
                # appended after it), so that no torn line is left for the next writer.
                os.ftruncate(fd, size)
                if repaired is not None and repaired["action"] == "restored":  # that line is as torn as before
                    mended.remove(repaired)
                    repaired = None
                import errno

                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), path)
        finally:
            _unlock_log(fd, locked)
        if durable and fsio._DURABLE:
            try:
                _datasync(fd)
            except OSError as exc:
                raise named(exc, path) from None
            if not size:  # a new log: its name must survive a crash too
                _fsync_dir(_parent(path))
    finally:
        os.close(fd)
    return repaired


def mend_log(path, aside: str, mend=None, root: str | None = None) -> dict | None:
    """Repair a log's torn last line, if it has one (``tether index --repair``); see _mend."""
    path = os.fspath(path)
    check_path(root, path)
    try:
        fd = os.open(path, os.O_RDWR | os.O_APPEND | (NOFOLLOW if root is not None else 0))
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None
    except OSError as exc:
        raise refused_open(exc, path, root) from None
    try:
        locked = _lock_log(fd)
        try:
            size = os.fstat(fd).st_size
            if not size or os.pread(fd, 1, size - 1) == b"\n":
                return None
            repaired, size, lead = _mend(fd, path, size, aside, mend, root)
            try:
                written = fsio._write(fd, lead) if lead else 0
            except OSError as exc:
                raise named(exc, path) from None
            if written != len(lead):
                os.ftruncate(fd, size)
                import errno

                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), path)
        finally:
            _unlock_log(fd, locked)
        if fsio._DURABLE:
            _datasync(fd)
    finally:
        os.close(fd)
    return repaired


def torn_start(data: bytes) -> int | None:
    """Where a log's torn last line starts: the last line has no newline and is not a whole JSON
    object (one that is, saved by hand without its newline, is only ended). None: no torn line."""
    if not data or data.endswith(b"\n"):
        return None
    start = data.rfind(b"\n") + 1
    return None if _whole(data[start:]) else start


def _whole(tail: bytes) -> bool:
    if not tail.strip():
        return True
    import json

    try:
        return isinstance(json.loads(tail.decode("utf-8")), dict)
    except ValueError:  # UnicodeDecodeError included
        return False


def _mend(fd: int, path: str, size: int, aside: str | None, mend, root: str | None = None
          ) -> tuple[dict | None, int, bytes]:
    """Deal with a last line that has no newline, under the log's lock. Returns (what was repaired,
    the log's size now, the bytes to write before the new text).

    - A Markdown log (``aside`` None) or a whole JSON line without its newline: ended, nothing lost.
    - A torn line that ``mend(tail)`` knows in full (a journal line, from its checkpoint file): the
      rest of it is written, so the line is whole again.
    - Otherwise it is set aside: copied whole to ``<aside>.<time>-<random>.torn`` (flushed), then cut
      from the log. A line nobody can complete would be reported at every read, forever.
    """
    start = size
    while start > 0:  # back to the last newline: a torn line may be megabytes long
        step = min(start, 1 << 16)
        chunk = os.pread(fd, step, start - step)
        cut = chunk.rfind(b"\n")
        if cut >= 0:
            start = start - step + cut + 1
            break
        start -= step
    tail = os.pread(fd, size - start, start)
    if aside is None or _whole(tail):
        return None, size, b"\n"
    line = 1 + _count_newlines(fd, start)
    report = {"path": path, "line": line, "bytes": len(tail), "action": "set aside", "kept": None}
    whole = mend(tail) if mend is not None else None
    if whole is not None and whole.startswith(tail) and whole.endswith(b"\n"):
        report["action"] = "restored"
        mended.append(report)
        return report, size, whole[len(tail):]
    import time

    kept = f"{aside}.{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{os.urandom(2).hex()}.torn"
    try:
        create_exclusive(kept, tail, root=root)
    except OSError:  # cannot keep a copy (a full disk): leave the line in place, ended
        return None, size, b"\n"
    os.ftruncate(fd, start)
    report["kept"] = kept
    mended.append(report)
    return report, start, b""


def _count_newlines(fd: int, end: int) -> int:
    count, offset = 0, 0
    while offset < end:
        chunk = os.pread(fd, min(1 << 20, end - offset), offset)
        if not chunk:
            break
        count += chunk.count(b"\n")
        offset += len(chunk)
    return count
