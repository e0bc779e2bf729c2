"""The parsed workspace config, kept per machine by tether.toml's stat.

Loading tomllib costs milliseconds at every session start; the config changes
rarely. The parsed values are kept in ``local/config.cache`` with the stat of the
file they came from, and used while that stat holds and is trusted (warm.racy).
"""

from __future__ import annotations

import os
import time

from ..store.fsio import stat_key_of
from . import cachefile, racy

CACHE = "local/config.cache"
FORMAT = 2  # 2: with the schema


def load(store_dir: str, name: str, parse) -> tuple[dict, tuple | None]:
    """(the config's fields, the stat key of the file they came from); ``parse(bytes | None)``
    reads the file when the cache cannot answer (None: the file is absent)."""
    path = os.path.join(store_dir, name)
    try:
        with open(path, "rb") as fh:
            key = stat_key_of(os.fstat(fh.fileno()))
            cached = cachefile.read(os.path.join(store_dir, CACHE), "config", FORMAT)
            if isinstance(cached, dict) and cached.get("key") == key and isinstance(cached.get("config"), dict):
                return cached["config"], key
            data = fh.read()
    except FileNotFoundError:
        return parse(None), None  # raises ConfigMissing
    fields = parse(data)
    if racy.trusted(key, time.time_ns()):
        cachefile.write(os.path.join(store_dir, CACHE), "config", FORMAT, {"key": key, "config": fields})
    return fields, key
