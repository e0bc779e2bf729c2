"""Durable file primitives: every write tether acknowledges survives a crash.

A file is written to a temporary sibling, flushed and fsynced, then renamed
into place and the directory fsynced, so a reader sees the old content or the
new, never half of either. Appends to logs are one ``write`` of one complete
line on an ``O_APPEND`` descriptor followed by fsync; a writer killed halfway
can leave at most one torn last line, which readers report and skip.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

# Temporary files end with this suffix; the workspace .gitignore ignores them.
TMP_SUFFIX = ".tmp"
_DURABLE = os.environ.get("TETHER_FSYNC", "1") != "0"


def _fsync_dir(path: Path) -> None:
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


def _write_tmp(path: Path, data: bytes) -> Path:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}{TMP_SUFFIX}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        if _DURABLE:
            os.fsync(fd)
    finally:
        os.close(fd)
    return tmp


def write_atomic(path: Path, data: bytes | str) -> None:
    """Replace ``path`` with ``data`` atomically and durably."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _write_tmp(path, data)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def create_exclusive(path: Path, data: bytes | str) -> bool:
    """Publish ``path`` with ``data`` only if it does not exist yet.

    The content is complete and durable before the name appears (hard link of
    a fsynced temporary file), so a crash never leaves a half-written record
    under its final name. Returns False when the name is already taken.
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _write_tmp(path, data)
    try:
        os.link(tmp, path)
    except FileExistsError:
        return False
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(path.parent)
    return True


def append_text(path: Path, text: str) -> None:
    """Append ``text`` (whole lines) durably, in one write."""
    data = text.encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, data)  # one write: O_APPEND keeps concurrent lines whole
        if _DURABLE:
            os.fsync(fd)
    finally:
        os.close(fd)


def read_tail(path: Path, max_bytes: int) -> bytes:
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
    """An exclusive inter-process lock; the OS releases it if the holder dies."""

    def __init__(self, path: Path, timeout: float = 30.0) -> None:
        from filelock import FileLock as _Lock  # lazy: only writers need it

        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = _Lock(str(path), timeout=timeout)

    def __enter__(self) -> "FileLock":
        self._lock.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self._lock.release()
