"""Checkpoint folders' listings kept from one boot to the next, by the folder's stat.

Boot lists the checkpoint folder of every open task to find its newest checkpoint;
a bulk task has thousands. Adding, removing or renaming an entry changes the
folder's mtime and ctime, so a folder whose stat is unchanged has the same names:
they are kept per machine (``local/listings.cache``, git-ignored) and a boot after
a checkpoint lists only the folder that checkpoint changed.

Timestamps are coarse (a few ms on ext4, 2 s on FAT): a folder changed less than
bootcache.RACY_NS before the boot started is listed again next time, not trusted.
"""

from __future__ import annotations

import marshal
import os

from ..bootcache import RACY_NS
from ..fsio import write_cache

CACHE = "local/listings.cache"
FORMAT = 2


def folder_key(path: str) -> tuple | None:
    """(mtime_ns, ctime_ns, size, inode) of a folder, None if absent; ctime, which no one can
    set back, sees a change even if the mtime was put back."""
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    return (st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino)


class Listings:
    def __init__(self, store_dir: str, started_ns: int) -> None:
        self.path = os.path.join(store_dir, CACHE)
        self.started_ns = started_ns
        self.saved: dict = {}
        self.used: dict = {}  # what this boot looked up: all that is kept (folders of closed tasks drop out)
        try:
            with open(self.path, "rb") as fh:
                saved = marshal.load(fh)
            if saved.get("format") == FORMAT and isinstance(saved.get("folders"), dict):
                self.saved = saved["folders"]
        except (OSError, EOFError, ValueError, TypeError, AttributeError):
            pass

    # Names are kept as one string, one per line: a marshal of thousands of small strings
    # loads several times slower than the listing it saves.
    def get(self, rel: str, key: tuple | None) -> list[str] | None:
        hit = self.saved.get(rel)
        if key is None or not isinstance(hit, tuple) or len(hit) != 2 or hit[0] != key:
            return None
        self.used[rel] = hit
        return hit[1].split("\n") if hit[1] else []

    def put(self, rel: str, key: tuple | None, names: list[str]) -> None:
        if key is not None and max(key[0], key[1]) < self.started_ns - RACY_NS:
            self.used[rel] = (key, "\n".join(names))

    def save(self) -> None:
        if self.used != self.saved:
            write_cache(self.path, marshal.dumps({"format": FORMAT, "folders": self.used}))
