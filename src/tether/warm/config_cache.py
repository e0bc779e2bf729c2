"""The parsed workspace config, kept per machine by tether.toml's stat.

Loading tomllib costs milliseconds at every session start; the config changes
rarely. The parsed values are kept in ``local/config.cache`` with the stat of the
file they came from, and used while that stat holds and is trusted (warm.cachefile.trusted).
"""

from __future__ import annotations

import os
import time

from ..store.fsio import stat_key_of
from ..store.nofollow import READ_FLAGS, check_folder, read_fd, refused_open
from . import cachefile

CACHE = "local/config.cache"
FORMAT = 9  # 9: [recall]; 8: [audit]; 7: context.thresholds and context.windows; 6: [compaction]; 5: the [hooks] table; 4: boot.long_break_days; 3: the schema, and paths checked (older caches parsed again)


def load(store_dir: str, name: str, parse) -> tuple[dict, tuple | None]:
    """(the config's fields, the stat key of the file they came from); ``parse(bytes | None)``
    reads the file when the cache cannot answer (None: the file is absent)."""
    path = os.path.join(store_dir, name)
    check_folder(store_dir, store_dir)  # a link here halts, as a missing file does (LinkRefused)
    try:
        fd = os.open(path, READ_FLAGS)
    except FileNotFoundError:
        return parse(None), None  # raises ConfigMissing
    except OSError as exc:
        raise refused_open(exc, path, store_dir) from None
    try:
        st = os.fstat(fd)
        key = stat_key_of(st)
        cached = cachefile.read(os.path.join(store_dir, CACHE), "config", FORMAT, store_dir)
        if isinstance(cached, dict) and cached.get("key") == key and isinstance(cached.get("config"), dict):
            return cached["config"], key
        data = read_fd(fd, st, path)
    finally:
        os.close(fd)
    fields = parse(data)
    if cachefile.trusted(key, time.time_ns()):
        cachefile.write(os.path.join(store_dir, CACHE), "config", FORMAT, {"key": key, "config": fields}, store_dir)
    return fields, key


def workspace_config(store_dir: str) -> tuple[dict, tuple | None]:
    """The workspace's tether.toml as Config fields (and the stat key they came from), parsed
    only when the cache cannot answer."""
    from ..store.layout import CONFIG, STORE_DIR

    def parse(data: bytes | None) -> dict:
        from ..store.config_file import parse

        return parse(data, f"{STORE_DIR}/{CONFIG}").to_dict()

    return load(store_dir, CONFIG, parse)
