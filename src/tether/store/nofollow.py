"""Never through a symbolic link: opening, reading and checking paths at or below a store.

``.tether/`` comes from whoever committed it, and a committed link would send tether's
reads and writes anywhere on the machine. Given a ``root`` (the store folder), the last
component is opened with ``O_NOFOLLOW`` and the folders between the root and the file
are checked with lstat, once per process each: the threat is a link in the checkout,
not one made while tether runs. fsio's writers and the trees use these.
"""

from __future__ import annotations

import os
from stat import S_ISDIR, S_ISLNK

from ..errors import LinkRefused

NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
READ_FLAGS = os.O_RDONLY | NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
_real_dirs: set[str] = set()  # folders found to be real folders, not links (see the module doc)


def _shown(path: str, root: str | None) -> str:
    """A path as people see it: from the folder that holds the store (``.tether/x``)."""
    if root is None:
        return path
    return os.path.relpath(path, os.path.dirname(root.rstrip(os.sep)) or os.sep).replace(os.sep, "/")


def link_refused(path: str, root: str | None) -> LinkRefused:
    return LinkRefused(_shown(path, root))


def is_link(path: str) -> bool:
    try:
        return S_ISLNK(os.lstat(path).st_mode)
    except OSError:
        return False


def refused_open(exc: OSError, path: str, root: str | None) -> OSError | Exception:
    """What an open with O_NOFOLLOW that failed means: ELOOP (EMLINK on some BSDs) at a link."""
    import errno

    if exc.errno in (errno.ELOOP, errno.EMLINK) and is_link(path):
        return link_refused(path, root)
    return exc


def check_folder(root: str, folder: str) -> None:
    """Raise LinkRefused when ``root`` or a folder between it and ``folder`` (both included) is a
    symbolic link. A folder that does not exist yet is fine: tether creates it, a real one."""
    folder = os.fspath(folder)
    if folder in _real_dirs:
        return
    root = root.rstrip(os.sep) or os.sep
    if folder != root and not folder.startswith(root + os.sep):
        return  # not below the root: not this check's business
    pending = []
    while folder not in _real_dirs:
        pending.append(folder)
        if len(folder) <= len(root):
            break
        folder = os.path.dirname(folder)
    for folder in reversed(pending):
        try:
            st = os.lstat(folder)
        except (FileNotFoundError, NotADirectoryError):
            return  # created by the write, as a real folder; or the open says what is in the way
        if S_ISLNK(st.st_mode):
            raise link_refused(folder, root)
        if not S_ISDIR(st.st_mode):
            return  # a file in a folder's place: the open reports it
        _real_dirs.add(folder)


def check_path(root: str | None, path: str) -> None:
    """check_folder for the folders above ``path``; nothing without a root."""
    if root is not None:
        check_folder(root, os.path.dirname(path))


def open_read(path: str, root: str | None = None) -> int:
    """A descriptor to read ``path``, never through a link (FileNotFoundError etc. as open raises them)."""
    path = os.fspath(path)
    check_path(root, path)
    try:
        return os.open(path, READ_FLAGS)
    except OSError as exc:
        raise refused_open(exc, path, root) from None


def read_bytes(path: str, root: str | None = None) -> bytes:
    """A file's bytes, never through a link (FileNotFoundError etc. as open raises them)."""
    fd = open_read(path, root)
    try:
        return read_fd(fd, os.fstat(fd), path)
    finally:
        os.close(fd)


def read_fd(fd: int, st: os.stat_result, path: str | None = None) -> bytes:
    """The rest of an open file; IsADirectoryError for a folder (os.open opens those too), naming
    ``path`` so that the error says which."""
    if S_ISDIR(st.st_mode):
        raise IsADirectoryError(21, "Is a directory", path)
    chunks = []
    size = max(st.st_size, 0) + 1  # one read for a file that did not grow; EOF is the empty read
    while True:
        chunk = os.read(fd, size)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size = 1 << 16
