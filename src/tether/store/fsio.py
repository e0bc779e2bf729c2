"""Durable file primitives: every write tether acknowledges survives a crash.

A file is written to a temporary sibling, flushed and fsynced, then renamed
into place and the directory fsynced, so a reader sees the old content or the
new, never half of either. Appends to logs are one ``write`` of one complete
line on an ``O_APPEND`` descriptor followed by fsync (store.appendlog: a torn
last line is set aside or completed by the next append). A write that fails (a
full disk) leaves nothing behind and names its file.

Given a ``root`` (the store folder), a call neither reads nor writes through a
symbolic link at or below it (store.nofollow).
"""

from __future__ import annotations

import os

from ..errors import LinkRefused
from .nofollow import NOFOLLOW, check_folder, check_path, is_link, link_refused, open_read, refused_open

# Temporary files end with this suffix; the workspace .gitignore ignores them.
TMP_SUFFIX = ".tmp"
# A writer's temporary file lives for milliseconds; one this old was left by a killed writer.
STALE_TMP_SECONDS = 600
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


# A file modified in the same filesystem timestamp tick as it was looked at can change again
# without its stat changing ("racily clean", as git's index says), so a stat is trusted only when
# the file was last modified RACY_NS before the look began: a margin coarser than any local
# filesystem's timestamps (FAT's 2 s) and than the lag between the system clock and the kernel's
# (coarse) file clock.
RACY_NS = 2_000_000_000


def trusted(key: tuple | None, started_ns: int) -> bool:
    """Whether ``key`` (stat_key: mtime_ns first) was taken of a file last modified well before
    ``started_ns`` (time.time_ns() when the look began)."""
    return key is not None and key[0] < started_ns - RACY_NS


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
            with open("/proc/sys/kernel/random/boot_id", "rb") as fh:  # bytes: a text file loads a codec module
                _boot = fh.read().decode("ascii").strip()
        except OSError:
            import time

            _boot = f"started-{int((time.time() - time.monotonic()) // 600)}"
    return _boot


def _parent(path) -> str:
    return os.path.dirname(os.fspath(path)) or "."


def _open(path: str, flags: int, mode: int = 0o644, root: str | None = None, created: list[str] | None = None) -> int:
    """os.open, creating the missing parent directories (asked only when the open fails:
    a mkdir or stat before every write would cost more than the write); those it made
    are added to ``created``, topmost first, so that a failed write can remove them. With
    ``root``, never through a link (see store.nofollow)."""
    if root is not None:
        check_path(root, path)
        flags |= NOFOLLOW
    try:
        try:
            return os.open(path, flags, mode)
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
            return os.open(path, flags, mode)
    except OSError as exc:
        if root is None:
            raise
        raise refused_open(exc, path, root) from None


def _remove_dirs(created: list[str]) -> None:
    """Remove the folders a failed write made (deepest first), if nothing else arrived in them."""
    for folder in reversed(created):
        try:
            os.rmdir(folder)
        except OSError:
            return


def named(exc: OSError, path) -> OSError:
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


def _write_tmp(path, data: bytes, durable: bool = True, mode: int = 0o644, root: str | None = None,
               created: list[str] | None = None) -> str:
    """A temporary sibling of ``path`` holding ``data``. If it cannot be written whole (a full
    disk), nothing is left: not the temporary file, nor the folders made for it."""
    path = os.fspath(path)
    tmp = os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.{os.urandom(4).hex()}{TMP_SUFFIX}")
    made: list[str] = [] if created is None else created
    try:
        # O_EXCL never follows a link: a temporary name is always a new file.
        fd = _open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode, root, made)
    except OSError as exc:
        _remove_dirs(made)
        raise named(exc, path) from None
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
            raise named(exc, path) from None
        raise
    os.close(fd)
    return tmp


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def write_atomic(path, data: bytes | str, *, mode: int = 0o644, root: str | None = None) -> None:
    """Replace ``path`` with ``data`` atomically and durably; ``mode``: the new file's permission
    bits (less the umask). With ``root``, a link at ``path`` is refused, not replaced."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    parent = _parent(path)
    if root is not None and is_link(path):  # a rename would not follow it, but would hide it
        check_path(root, os.fspath(path))  # a linked folder above it is the one to name
        raise link_refused(os.fspath(path), root)
    tmp = _write_tmp(path, data, True, mode, root)
    try:
        os.replace(tmp, path)
    except BaseException:
        _unlink(tmp)
        raise
    _fsync_dir(parent)


def write_named(path: str, data: bytes) -> None:
    """Write ``data`` to a file the user named (``tether compact -o``), as the shell's ``>`` would:
    through a link, to what it names; straight into what is not a regular file (``/dev/stdout``,
    ``/dev/null``, a pipe), which a rename would replace; else a regular file, replaced atomically
    with the permissions it had."""
    import stat  # loaded by os already

    try:
        # The name itself, not its realpath: /dev/stdout's link names a pipe that no path resolves to.
        found = os.stat(path)
    except FileNotFoundError:
        found = None
    if found is not None and not stat.S_ISREG(found.st_mode):
        with open(path, "wb") as fh:
            fh.write(data)
        return
    write_atomic(os.path.realpath(path), data, mode=stat.S_IMODE(found.st_mode) if found else 0o644)


def create_exclusive(path, data: bytes | str, durable: bool = True, *, root: str | None = None) -> bool:
    """Publish ``path`` with ``data`` only if it does not exist yet.

    The content is complete before the name appears (hard link of a temporary
    file), so a killed process never leaves a half-written record under its
    final name; with ``durable``, file and name are on disk before it returns
    (without: they are in the OS's cache, and a power loss may lose them; the
    caller keeps a durable copy elsewhere). Returns False when the name is taken
    (with ``root``: LinkRefused when a link takes it).
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    parent = _parent(path)
    created: list[str] = []
    tmp = _write_tmp(path, data, durable, root=root, created=created)
    try:
        os.link(tmp, path)
    except FileExistsError:
        if root is not None and is_link(path):
            raise link_refused(os.fspath(path), root) from None
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


def create_many(items, *, root: str | None = None) -> list[bool]:
    """:func:`create_exclusive` for many files at once, with one flush for all of them instead of
    two per file: True for each name published, False for each that existed already.

    Every temporary file is written first, then their data is flushed (one fsync per file),
    then each is linked to its name,
    then each folder is fsynced once. A name therefore never appears before its bytes are on
    disk: a crash at any moment leaves either no name or the whole file (and at worst
    temporary files, which listings skip); and every name is on disk before this returns.
    """
    pending: list = []          # (tmp, path, folders made for it)
    done: list = []
    seen: dict = {}
    try:
        for path, data in items:
            path = os.fspath(path)
            if path in seen:
                done.append(False)
                continue
            if isinstance(data, str):
                data = data.encode("utf-8")
            if os.path.lexists(path):
                if root is not None and is_link(path):
                    check_path(root, path)
                    raise link_refused(path, root)
                seen[path] = False
                done.append(False)
                continue
            created: list[str] = []
            tmp = _write_tmp(path, data, False, root=root, created=created)
            seen[path] = True
            pending.append((tmp, path, created))
            done.append(True)
        if _DURABLE and pending:
            _sync_files([tmp for tmp, _, _ in pending])
        folders: dict = {}
        for tmp, path, created in pending:
            try:
                os.link(tmp, path)
            except FileExistsError:  # another writer published the same name meanwhile: same bytes
                seen[path] = False
            folders[_parent(path)] = None
            for folder in created:  # a folder made here is a new name in its own parent
                folders[_parent(folder)] = None
    finally:
        for tmp, _, _ in pending:
            _unlink(tmp)
    for folder in folders:
        _fsync_dir(folder)
    out, first = [], set()
    for path, _ in items:
        path = os.fspath(path)
        out.append(seen.get(path, False) and path not in first)
        first.add(path)
    return out


def create_hashed(folder: str, chunks, *, root: str | None = None) -> tuple[str, bool]:
    """Publish the bytes of ``chunks`` (an iterable of bytes, read once: a file of any size in
    bounded memory) as ``folder/<sha256 of them>``; (digest, whether the name is new). As
    :func:`create_exclusive`: complete and flushed before the name appears, durable on return."""
    import hashlib

    digest = hashlib.sha256()
    tmp = os.path.join(os.fspath(folder), f".hashing.{os.urandom(4).hex()}{TMP_SUFFIX}")
    created: list[str] = []
    try:
        fd = _open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644, root, created)
    except OSError as exc:
        _remove_dirs(created)
        raise named(exc, tmp) from None
    try:
        try:
            for chunk in chunks:
                digest.update(chunk)
                view = memoryview(chunk)
                while view:
                    view = view[_write(fd, view):]
            if _DURABLE:
                os.fsync(fd)
        except OSError as exc:
            raise named(exc, tmp) from None
        finally:
            os.close(fd)
        name = digest.hexdigest()
        path = os.path.join(os.fspath(folder), name)
        if root is not None:
            check_path(root, path)
        try:
            os.link(tmp, path)
        except FileExistsError:
            if root is not None and is_link(path):
                raise link_refused(path, root) from None
            return name, False
    finally:
        _unlink(tmp)
    _fsync_dir(folder)
    for made in created:
        _fsync_dir(_parent(made))
    return name, True


def _sync_files(paths: list[str]) -> None:
    """Flush the data of written files, one fsync each, several at once when there are many
    (fsync releases the GIL, and the disk serves concurrent flushes together: one at a time
    leaves it idle between them). Every flush is done when this returns. Not syncfs(2): it
    flushes everything pending on the whole filesystem, which on a busy shared disk stalls for
    seconds."""
    if len(paths) < _SYNC_TOGETHER:
        for path in paths:
            _sync_file(path)
        return
    import threading

    workers = min(_SYNC_WORKERS, len(paths))
    failed: list = []

    def flush(share: list) -> None:
        try:
            for path in share:
                _sync_file(path)
        except BaseException as exc:  # re-raised below, in the caller's thread
            failed.append(exc)

    threads = [threading.Thread(target=flush, args=(paths[i::workers],)) for i in range(1, workers)]
    for thread in threads:
        thread.start()
    flush(paths[0::workers])
    for thread in threads:
        thread.join()
    if failed:
        raise failed[0]


_SYNC_TOGETHER = 4  # files from which the flushes run in threads
_SYNC_WORKERS = 8


def _sync_file(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError as exc:
        raise named(exc, path) from None
    finally:
        os.close(fd)


def write_unsynced(path: str, data: bytes, root: str | None = None) -> bool:
    """Replace a per-machine file whole, without fsync (a cache lost in a crash is rebuilt); False
    if it cannot be written (a read-only checkout, or with ``root`` a link in the way: the caller
    works without it)."""
    if root is not None and is_link(path):
        return False
    tmp = os.path.join(_parent(path), f".{os.path.basename(path)}.{os.urandom(4).hex()}{TMP_SUFFIX}")
    try:
        fd = _open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644, root)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except (OSError, LinkRefused):
        try:
            os.unlink(tmp)
        except OSError:  # never created (a read-only mount, `local` not a folder): nothing to clean
            pass
        return False
    return True


def read_tail(path, max_bytes: int, root: str | None = None) -> bytes:
    """The last ``max_bytes`` of a file, starting at a line boundary; never through a link."""
    with open(open_read(path, root), "rb") as fh:
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

    def __init__(self, path, timeout: float = 30.0, root: str | None = None) -> None:
        self._path, self._timeout, self._fd, self._other = os.fspath(path), timeout, None, None
        self._root = root
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

        # Never through a link: the token written into a lock file would land in the link's target.
        fd = _open(self._path, os.O_RDWR | os.O_CREAT | NOFOLLOW, root=self._root)
        deadline, delay = time.monotonic() + self._timeout, 0.001
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    from ..errors import Conflict

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


def remove_stale_tmp_files(root: str, older_than: float = STALE_TMP_SECONDS) -> list[str]:
    """Delete temporary files that writers killed mid-write left under ``root``; returns their
    paths, relative to ``root`` and sorted.

    Readers and git ignore them, but nothing else would ever remove them. Only files named as
    tether names them (".<name>.<8 hex digits>.tmp" beside the file) and not modified for
    ``older_than`` seconds are removed, so a write in progress keeps its file.
    """
    import re
    import time

    named = re.compile(r"\..+\.[0-9a-f]{8}\.tmp")
    check_folder(root, root)  # os.walk would walk a linked store's target
    cutoff = time.time() - older_than
    removed = []
    for directory, _dirs, names in os.walk(root):
        for name in names:
            if not named.fullmatch(name):
                continue
            path = os.path.join(directory, name)
            try:
                if os.lstat(path).st_mtime >= cutoff:
                    continue
                os.unlink(path)
            except FileNotFoundError:  # its writer finished after all, or another repair got it
                continue
            removed.append(os.path.relpath(path, root).replace(os.sep, "/"))
    return sorted(removed)
