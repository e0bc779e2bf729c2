"""Checkpoint folders' listings kept from one boot to the next, by the folder's stat.

Boot lists the checkpoint folder of every open task to find its newest checkpoint;
a bulk task has thousands. Adding, removing or renaming an entry changes the
folder's mtime and ctime, so a folder whose stat is unchanged has the same names:
they are kept per machine (``local/listings.cache``, git-ignored) and a boot after
a checkpoint lists only the folder that checkpoint changed.

Timestamps are coarse: a folder changed too close to the boot (warm.cachefile.trusted)
is listed again next time, not trusted.
"""

from __future__ import annotations

import os

from . import cachefile

CACHE = "local/listings.cache"
FORMAT = 4  # 4: in warm.cachefile, whose checksum covers every listing


class Listings:
    def __init__(self, store_dir: str, started_ns: int) -> None:
        self.path, self.root = os.path.join(store_dir, CACHE), store_dir
        self.started_ns = started_ns
        self.used: dict = {}  # what this boot looked up: all that is kept (folders of closed tasks drop out)
        saved = cachefile.read(self.path, "listings", FORMAT, self.root)
        folders = saved.get("folders") if isinstance(saved, dict) else None
        self.saved: dict = folders if isinstance(folders, dict) else {}

    # Names are kept as one string, one per line: a marshal of thousands of small strings
    # loads several times slower than the listing it saves.
    def get(self, rel: str, key: tuple | None) -> list[str] | None:
        hit = self.saved.get(rel)
        if key is None or not isinstance(hit, tuple) or len(hit) != 2 or hit[0] != key or not isinstance(hit[1], str):
            return None
        text = hit[1]
        self.used[rel] = hit
        return text.split("\n") if text else []

    def put(self, rel: str, key: tuple | None, names: list[str]) -> None:
        if cachefile.trusted(key, self.started_ns):
            self.used[rel] = (key, "\n".join(names))

    def save(self) -> None:
        if self.used != self.saved:
            cachefile.write(self.path, "listings", FORMAT, {"folders": self.used}, self.root)
