"""What every per-machine cache under ``.tether/local/`` (git-ignored) shares: one file format,
and the one "racily clean" rule for when a file's stat can be trusted.

A header line names the cache, its layout version and the interpreter (the
payload is a marshal: built into the interpreter, so no import, and several times
faster to load than JSON, but its format is the interpreter's own), with a CRC-32
of the payload; then the payload. A cache that is absent, torn by a crash, from
another version or another Python reads as nothing, and its owner rebuilds it.
Caches are written whole (a temporary file, then a rename) without fsync: a cache
lost in a crash is rebuilt, never trusted half-written.

Every cache trusts a file's stat (mtime, ctime, size, inode) instead of reading
it, as git's index does, under the "racily clean" rule of store.fsio.trusted: a
stat not trusted costs a read next time, never a wrong answer.
"""

from __future__ import annotations

import sys

from ..store.fsio import RACY_NS, trusted  # noqa: F401  (the rule is the store's; caches use it)

_PYTHON = sys.implementation.cache_tag


def _header(kind: str, version: int, crc: int) -> bytes:
    return f"tether-cache {kind} {version} {_PYTHON} {crc}\n".encode("ascii")


def read(path: str, kind: str, version: int, root: str | None = None):
    """The cached value, or None when it cannot be used (also: a link in the way below ``root``,
    the store folder: what reads the store's own files reports the link)."""
    import marshal
    from binascii import crc32

    from ..errors import LinkRefused
    from ..store.nofollow import read_bytes

    try:
        data = read_bytes(path, root)
    except (OSError, LinkRefused):
        return None
    end = data.find(b"\n")
    if end < 0:
        return None
    payload = memoryview(data)[end + 1:]
    if data[:end + 1] != _header(kind, version, crc32(payload)):
        return None
    try:
        return marshal.loads(payload)
    except (EOFError, ValueError, TypeError):
        return None


def write(path: str, kind: str, version: int, value, root: str | None = None) -> bool:
    """Replace the cache whole; False when it cannot be written (a read-only checkout, `local`
    not a folder, a link in the way, a value marshal cannot hold): the caller works without it."""
    import marshal
    from binascii import crc32

    from ..store.fsio import write_unsynced

    try:
        payload = marshal.dumps(value)
    except ValueError:
        return False
    return write_unsynced(path, _header(kind, version, crc32(payload)) + payload, root)
