"""The record of what tether wrote: every path of the store a write touches, appended to
``local/written`` (per machine, git-ignored) before the write itself.

``tether audit`` asks git only about these paths (and what changed otherwise, see
warm.status) instead of running ``git status`` over every file of the store. The record is
a cache: appended without fsync, one ``write`` of whole lines on an ``O_APPEND`` descriptor.

The file starts with a header line naming a random token. A reader keeps the token and how
far it read; a record it does not know (gone, replaced, another token) tells it that writes
may have gone unrecorded, and it asks git about everything. So a writer that cannot note a
path removes the record, and one that finds it past ``LIMIT`` starts a new one. A path that
cannot be written on one line is noted as ``UNKNOWN``: the same answer.

``trim`` replaces a record read to its end with an empty one. A writer that appended to the
old file meanwhile sees, by its inode, that the name now points at another file, and notes
its paths again there; what reached the old file before the swap is read back by ``trim``.
"""

from __future__ import annotations

import os

from ..errors import LinkRefused
from .layout import UNTRACKED, WRITTEN
from .nofollow import NOFOLLOW, check_path, open_read

HEADER = b"tether-written "
UNKNOWN = "\0"  # a line saying a path went unrecorded
LIMIT = 8 << 20  # bytes; past this a writer starts a new record (the next audit asks git about all)
_FLAGS = os.O_WRONLY | os.O_APPEND | NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


def _lines(rels) -> bytes:
    out = []
    for rel in rels:
        if rel.startswith(UNTRACKED):
            continue
        out.append(UNKNOWN if "\n" in rel or "\r" in rel or not rel else rel)
    return ("\n".join(out) + "\n").encode("utf-8", "surrogateescape") if out else b""


def note(store_dir: str, rels) -> None:
    """Append ``rels`` (store paths about to be written or removed) to the record; never raises."""
    data = _lines(rels)
    if data:
        path = os.path.join(store_dir, WRITTEN)
        try:
            check_path(store_dir, path)  # never through a link: the store or local/ may be one
        except LinkRefused:
            return  # nor read through one: the reader asks git about everything
        _append(path, data)


def note_file(store_dir: str | None, path: str) -> None:
    """``note`` for a file named by its full path: noted when it lies in the store."""
    if store_dir is None:
        return
    root = os.path.abspath(store_dir)
    path = os.path.abspath(path)
    if path.startswith(root + os.sep):
        note(root, (path[len(root) + 1:].replace(os.sep, "/"),))


def _append(path: str, data: bytes, again: bool = True) -> None:
    try:
        fd = _open(path)
        try:
            st = os.fstat(fd)
            if st.st_size > LIMIT:
                os.unlink(path)  # a new record: the next reader asks git about everything
                os.close(fd)
                fd = _open(path)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            moved = os.stat(path).st_ino != os.fstat(fd).st_ino
        finally:
            os.close(fd)
    except OSError:
        try:
            os.unlink(path)  # unnoted: no reader may trust the record now
        except OSError:
            pass
        return
    if moved and again:  # trimmed while this was written: the new record must hold it too
        _append(path, data, False)


def _open(path: str) -> int:
    """The record open for appending; created with its header first when absent."""
    for _ in range(3):
        try:
            return os.open(path, _FLAGS)
        except FileNotFoundError:
            _create(path, b"")
    return os.open(path, _FLAGS)


def _create(path: str, body: bytes, replace: bool = False) -> str:
    """A new record (header, then ``body``) in place at once: linked when absent (a racing writer's
    wins), or put over the old one. Returns its token."""
    token = os.urandom(8).hex()
    folder = os.path.dirname(path)
    os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(folder, f".written.{os.getpid()}.{token}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | NOFOLLOW, 0o644)
    try:
        os.write(fd, HEADER + token.encode("ascii") + b"\n" + body)
    finally:
        os.close(fd)
    try:
        if replace:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass
    finally:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
    return token


def read(store_dir: str, token: str | None, offset: int) -> tuple[str | None, int, list[str] | None]:
    """(token, end, paths): the record's token, its size, and the paths noted after ``offset``
    when ``token`` is the record's own (None: the record is not the one read before, or holds
    an unrecorded write: ask git about everything)."""
    path = os.path.join(store_dir, WRITTEN)
    try:
        fd = open_read(path, store_dir)
    except (OSError, LinkRefused):
        return None, 0, None
    try:
        data = _read_all(fd)
    finally:
        os.close(fd)
    mine, start = _header(data)
    if mine is None:
        return None, 0, None
    if mine != token or offset < start or offset > len(data):
        return mine, _whole_lines(data), None
    end = _whole_lines(data)
    paths = data[offset:end].decode("utf-8", "surrogateescape").split("\n")[:-1] if end > offset else []
    return mine, end, None if UNKNOWN in paths else paths


def start(store_dir: str) -> tuple[str | None, int]:
    """The record's token and where its first path begins, a new record when there is none."""
    path = os.path.join(store_dir, WRITTEN)
    token, end, _ = read(store_dir, "", 0)
    if token is not None:
        return token, end
    try:
        check_path(store_dir, path)
        _create(path, b"")
    except (OSError, LinkRefused):
        return None, 0
    token, end, _ = read(store_dir, "", 0)
    return token, end


def trim(store_dir: str, token: str, offset: int) -> tuple[str | None, int]:
    """Replace the record, read up to ``offset``, with a new one holding only what the old one got
    after ``offset``; (the new token, where its paths begin), (None, 0) when it could not."""
    path = os.path.join(store_dir, WRITTEN)
    try:
        fd = open_read(path, store_dir)
    except (OSError, LinkRefused):
        return None, 0
    try:
        if _header(_read_all(fd))[0] != token:
            return None, 0
        new = _create(path, b"", replace=True)
        os.lseek(fd, 0, os.SEEK_SET)
        late = _read_all(fd)[offset:]  # appended before the swap: carried over
    except OSError:
        return None, 0
    finally:
        os.close(fd)
    late = late[:late.rfind(b"\n") + 1]
    if late:
        _append(path, late)
    return new, len(HEADER) + len(new) + 1


def _header(data: bytes) -> tuple[str | None, int]:
    end = data.find(b"\n")
    if end < 0 or not data.startswith(HEADER):
        return None, 0
    return data[len(HEADER):end].decode("ascii", "replace"), end + 1


def _whole_lines(data: bytes) -> int:
    return data.rfind(b"\n") + 1


def _read_all(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)
