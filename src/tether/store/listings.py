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

import os
from binascii import crc32

from ..bootcache import RACY_NS
from ..fsio import read_cache, write_cache

CACHE = "local/listings.cache"
FORMAT = 3


class Listings:
    def __init__(self, store_dir: str, started_ns: int) -> None:
        self.path, self.root = os.path.join(store_dir, CACHE), store_dir
        self.started_ns = started_ns
        self.used: dict = {}  # what this boot looked up: all that is kept (folders of closed tasks drop out)
        saved = read_cache(self.path, self.root)
        folders = saved.get("folders") if saved.get("format") == FORMAT else None
        self.saved: dict = folders if isinstance(folders, dict) else {}

    # Names are kept as one string, one per line: a marshal of thousands of small strings
    # loads several times slower than the listing it saves.
    # A checksum per listing: a name damaged in the file would send boot after a checkpoint
    # that is not there; a damaged listing is listed again instead.
    def get(self, rel: str, key: tuple | None) -> list[str] | None:
        hit = self.saved.get(rel)
        if key is None or not isinstance(hit, tuple) or len(hit) != 3 or hit[0] != key:
            return None
        _, text, check = hit
        if not isinstance(text, str) or crc32(text.encode("utf-8", "surrogateescape")) != check:
            return None
        self.used[rel] = hit
        return text.split("\n") if text else []

    def put(self, rel: str, key: tuple | None, names: list[str]) -> None:
        if key is not None and key[0] < self.started_ns - RACY_NS:  # as bootcache.save decides
            text = "\n".join(names)
            self.used[rel] = (key, text, crc32(text.encode("utf-8", "surrogateescape")))

    def save(self) -> None:
        if self.used != self.saved:
            write_cache(self.path, {"format": FORMAT, "folders": self.used}, self.root)
