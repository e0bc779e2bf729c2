"""Durable file primitives: every write tether acknowledges survives a crash.

A file is written to a temporary sibling, flushed and fsynced, then renamed
into place and the directory fsynced, so a reader sees the old content or the
new, never half of either. Appends to logs are one ``write`` of one complete
line on an ``O_APPEND`` descriptor followed by fsync. A writer killed halfway
can still leave one torn last line (Linux copies a write page by page and stops
between pages for a fatal signal); readers report and skip it, and the next
append to that log, or ``tether index --repair``, sets it aside (see mend).
A write that fails (a full disk) leaves nothing behind and names its file.
"""

from __future__ import annotations

import os

# Temporary files end with this suffix; the workspace .gitignore ignores them.
TMP_SUFFIX = ".tmp"
_DURABLE = os.environ.get("TETHER_FSYNC", "1") != "0"


# read_tail() of this many bytes is the whole file.
WHOLE = 1 << 62
_boot: str | None = None


def stat_key(path: str) -> tuple[int, int, int, int] | None:
    """(mtime_ns, ctime_ns, size, inode), None if absent: whether a file or folder changed since
    it was read. The ctime, which no one can set back, sees a change whose mtime was put back
    (a folder's size does not change when a file is added)."""
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    return stat_key_of(st)


def stat_key_of(st: os.stat_result) -> tuple[int, int, int, int]:
    return (st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino)


def listing(path: str) -> list[str]:
    """A folder's names as the store lists them: sorted, temporary files left out; [] if absent."""
    try:
        return sorted(n for n in os.listdir(path) if not n.endswith(TMP_SUFFIX))
    except (FileNotFoundError, NotADirectoryError):
        return []


def boot_id() -> str:
    """An id of this run of the operating system: it changes when the machine restarts,
    the one event that can lose what a process wrote but did not flush.

    Linux gives one; elsewhere it is the boot time derived from the clocks, in
    10-minute steps (a clock adjustment or a sleep may change it: that only costs
    an extra check, never a missed one).
    """
    global _boot
    if _boot is None:
        try:
            with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as fh:
                _boot = fh.read().strip()
        except OSError:
            import time

            _boot = f"started-{int((time.time() - time.monotonic()) // 600)}"
    return _boot


def _parent(path) -> str:
    return os.path.dirname(os.fspath(path)) or "."


def _open(path: str, flags: int, created: list[str] | None = None) -> int:
    """os.open, creating the missing parent directories (asked only when the open fails:
    a mkdir or stat before every write would cost more than the write); those it made
    are added to ``created``, topmost first, so that a failed write can remove them."""
    try:
        return os.open(path, flags, 0o644)
    except FileNotFoundError:
        missing, parent = [], _parent(path)
        while parent and not os.path.isdir(parent):
            missing.append(parent)
            up = os.path.dirname(parent)
            if up == parent:
                break
            parent = up
        os.makedirs(_parent(path), exist_ok=True)
        if created is not None:
            created.extend(reversed(missing))
        return os.open(path, flags, 0o644)


def _remove_dirs(created: list[str]) -> None:
    """Remove the folders a failed write made (deepest first), if nothing else arrived in them."""
    for folder in reversed(created):
        try:
            os.rmdir(folder)
        except OSError:
            return


def _named(exc: OSError, path) -> OSError:
    """The error with the file it concerns: os.write and os.fsync name none, and "No space left
    on device" alone does not say where."""
    if exc.filename is None and exc.errno is not None:
        return OSError(exc.errno, exc.strerror or os.strerror(exc.errno), os.fspath(path))
    return exc


# The low-level write, one name for every write here (tests stand a full disk in for it).
_write = os.write


def _fsync_dir(path) -> None:
    if not _DURABLE:
        return
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # some platforms cannot open directories
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_tmp(path, data: bytes, durable: bool = True, created: list[str] | None = None) -> str:
    """A temporary sibling of ``path`` holding ``data``. If it cannot be written whole (a full
    disk), nothing is left: not the temporary file, nor the folders made for it."""
    path = os.fspath(path)
    tmp = os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.{os.urandom(4).hex()}{TMP_SUFFIX}")
    made: list[str] = [] if created is None else created
    try:
        fd = _open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, made)
    except OSError as exc:
        _remove_dirs(made)
        raise _named(exc, path) from None
    try:
        view = memoryview(data)
        while view:
            view = view[_write(fd, view):]
        if durable and _DURABLE:
            os.fsync(fd)
    except BaseException as exc:
        os.close(fd)
        _unlink(tmp)
        _remove_dirs(made)
        if isinstance(exc, OSError):
            raise _named(exc, path) from None
        raise
    os.close(fd)
    return tmp


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def write_atomic(path, data: bytes | str) -> None:
    """Replace ``path`` with ``data`` atomically and durably."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    parent = _parent(path)
    tmp = _write_tmp(path, data)
    try:
        os.replace(tmp, path)
    except BaseException:
        _unlink(tmp)
        raise
    _fsync_dir(parent)


def create_exclusive(path, data: bytes | str, durable: bool = True) -> bool:
    """Publish ``path`` with ``data`` only if it does not exist yet.

    The content is complete before the name appears (hard link of a temporary
    file), so a killed process never leaves a half-written record under its
    final name; with ``durable``, file and name are on disk before it returns
    (without: they are in the OS's cache, and a power loss may lose them; the
    caller keeps a durable copy elsewhere). Returns False when the name is taken.
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    parent = _parent(path)
    created: list[str] = []
    tmp = _write_tmp(path, data, durable, created)
    try:
        os.link(tmp, path)
    except FileExistsError:
        return False
    except OSError:
        _unlink(tmp)
        _remove_dirs(created)
        raise
    finally:
        _unlink(tmp)
    if durable:
        _fsync_dir(parent)
    return True


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
                mend=None) -> dict | None:
    """Append ``text`` (whole lines) in one write; with ``durable``, forced to disk before returning.

    All or nothing: a write the disk could not take whole is taken back and raises OSError naming
    the file. A torn last line already there (a writer killed mid-append) is dealt with first
    (see _mend); what was repaired is returned and added to ``mended``. ``aligned``: a text that
    fits in a block is padded with a line of spaces so that it does not straddle two blocks, so
    that no kill can tear it.
    """
    data = text.encode("utf-8")
    path = os.fspath(path)
    try:
        fd = _open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND)
    except OSError as exc:
        raise _named(exc, path) from None
    repaired = None
    try:
        locked = _lock_log(fd)
        try:
            size = os.fstat(fd).st_size
            lead = b""
            if size and os.pread(fd, 1, size - 1) != b"\n":
                repaired, size, lead = _mend(fd, path, size, aside, mend)  # lead ends the last line
            end = size + len(lead)
            if aligned and end % BLOCK and BLOCK - end % BLOCK < len(data) <= BLOCK:
                lead += b" " * (BLOCK - end % BLOCK - 1) + b"\n"  # to the next block: the text fits in it
            data = lead + data
            try:
                written = _write(fd, data)  # one write: O_APPEND keeps concurrent lines whole
            except OSError as exc:
                raise _named(exc, path) from None
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
        if durable and _DURABLE:
            try:
                _datasync(fd)
            except OSError as exc:
                raise _named(exc, path) from None
            if not size:  # a new log: its name must survive a crash too
                _fsync_dir(_parent(path))
    finally:
        os.close(fd)
    return repaired


def mend_log(path, aside: str, mend=None) -> dict | None:
    """Repair a log's torn last line, if it has one (``tether index --repair``); see _mend."""
    path = os.fspath(path)
    try:
        fd = os.open(path, os.O_RDWR | os.O_APPEND)
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None
    try:
        locked = _lock_log(fd)
        try:
            size = os.fstat(fd).st_size
            if not size or os.pread(fd, 1, size - 1) == b"\n":
                return None
            repaired, size, lead = _mend(fd, path, size, aside, mend)
            try:
                written = _write(fd, lead) if lead else 0
            except OSError as exc:
                raise _named(exc, path) from None
            if written != len(lead):
                os.ftruncate(fd, size)
                import errno

                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), path)
        finally:
            _unlock_log(fd, locked)
        if _DURABLE:
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


def _mend(fd: int, path: str, size: int, aside: str | None, mend) -> tuple[dict | None, int, bytes]:
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
        create_exclusive(kept, tail)
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


# Per-machine caches (local/*.cache) are marshal files: built into the interpreter (no import)
# and several times faster to load than json; the format is the interpreter's own, so a cache
# written by another Python version reads as damaged, and is rebuilt.
def read_cache(path: str) -> dict:
    """A cache file's mapping; empty when it is absent or damaged (a crash, another version)."""
    import marshal

    try:
        with open(path, "rb") as fh:
            value = marshal.load(fh)
    except (OSError, EOFError, ValueError, TypeError):
        return {}
    return value if isinstance(value, dict) else {}


def write_cache(path: str, value: dict) -> bool:
    """Replace a cache file whole, without fsync (a cache lost in a crash is rebuilt); False if it
    cannot be written (a read-only checkout: the caller works without it)."""
    import marshal

    try:
        data = marshal.dumps(value)
    except ValueError:  # a value marshal cannot hold: not worth failing over
        return False
    tmp = f"{path}.{os.getpid()}{TMP_SUFFIX}"
    try:
        os.makedirs(_parent(path), exist_ok=True)
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:  # never created (a read-only mount, `local` not a folder): nothing to clean
            pass
        return False
    return True


def read_tail(path, max_bytes: int) -> bytes:
    """The last ``max_bytes`` of a file, starting at a line boundary."""
    with open(path, "rb") as fh:
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        start = max(0, size - max_bytes)
        fh.seek(start)
        data = fh.read()
    if start > 0:
        cut = data.find(b"\n")
        data = data[cut + 1:] if cut >= 0 else b""
    return data


class FileLock:
    """An exclusive inter-process lock; the OS releases it if the holder dies.

    flock(2) where the OS has it: the `filelock` package costs ~40 ms to import
    (typing, inspect, logging, secrets), more than the rest of `tether checkpoint`.
    """

    def __init__(self, path, timeout: float = 30.0) -> None:
        self._path, self._timeout, self._fd, self._other = os.fspath(path), timeout, None, None
        try:
            import fcntl  # noqa: F401
        except ImportError:  # no flock (Windows): the portable package
            from filelock import FileLock as _Lock

            os.makedirs(_parent(self._path), exist_ok=True)
            self._other = _Lock(self._path, timeout=timeout)

    def __enter__(self) -> "FileLock":
        if self._other is not None:
            self._other.acquire()
            return self
        import fcntl
        import time

        fd = _open(self._path, os.O_RDWR | os.O_CREAT)
        deadline, delay = time.monotonic() + self._timeout, 0.001
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    from .errors import Conflict

                    raise Conflict(f"waited {self._timeout:g} s for the lock {self._path}",
                                   hint="another tether process is writing: run the command again") from None
                time.sleep(delay)
                delay = min(delay * 2, 0.02)
        self._fd = fd
        return self

    # A token in the lock file itself: each writer records what it wrote last, so a process that
    # remembers the token it left knows, once it holds the lock again, whether anyone wrote since.
    def token(self) -> str | None:
        if self._fd is None:
            return None  # the portable lock: no token, callers read the state again
        return os.pread(self._fd, 256, 0).decode("utf-8", "replace")

    def set_token(self, value: str) -> None:
        if self._fd is not None:
            data = value.encode("utf-8")
            os.pwrite(self._fd, data, 0)
            os.ftruncate(self._fd, len(data))

    def __exit__(self, *exc: object) -> None:
        if self._other is not None:
            self._other.release()
            return
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # closing the descriptor releases the flock
