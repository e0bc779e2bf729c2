"""The manifest's file entries, re-reading only the files that changed.

Hashing every state file on every ``tether close`` reads the whole history
(100,000 checkpoints: seconds). Like git's index, a per-machine cache
(``local/manifest-cache``, git-ignored) keeps each file's manifest entry with
its stat: mtime and ctime in nanoseconds, size and inode. Every file is still
stat()ed on every run, so an edit in place is always seen; a file whose stat is
unchanged is not read again. A directory whose own stat is unchanged has the
same entries (adding, removing or renaming one changes it), so its listing
comes from the cache too, and so do its rendered entries when none of its files
changed: a run over unchanged history costs one stat per file and per directory.

A stat can look unchanged after a change only if the change came in the same
clock tick as the stat that was cached ("racily clean" in git's words): a stat
is cached as trusted only by warm.cachefile.trusted, and a file whose stat is not
trusted is hashed again next time. ctime, part of every key, cannot be set by a
user, so an edit that puts the old mtime back is seen too (not on Windows, where
st_ctime is the creation time: there an edit is seen by its mtime, as git sees it).
"""

from __future__ import annotations

import hashlib
import os
import stat as _stat
import time
import zlib
from array import array
from bisect import bisect_left
from itertools import chain
from json.encoder import encode_basestring  # json.dumps's own escaping with ensure_ascii=False
from operator import attrgetter

from ..store import fsio, nofollow
from . import cachefile

_now = time.time_ns  # when a scan starts (tests pin it)
CACHE_DIR = "local/manifest-cache"  # one file per shard of directories
_TOP = "top"  # the shard of the top two levels (the store's root, tasks/, decisions/, ...)
_SHARDS = 64
FORMAT = 3  # the record layout's version (3: in warm.cachefile)
SEPARATOR = ",\n"  # between two entries in index.json
_KEY = 32  # bytes of one packed file stat: four unsigned 64-bit integers
_RACY = bytes(_KEY)  # the packed stat of a file to hash again next time: matches no real file
_STAT_KEY = attrgetter("st_mtime_ns", "st_ctime_ns", "st_size", "st_ino")
_MODE = attrgetter("st_mode")


def member(rel: str, digest: str) -> str:
    """One file's line in index.json, as ``json.dumps(indent=1, ensure_ascii=False)`` writes it."""
    return f"  {encode_basestring(rel)}: {encode_basestring(digest)}"


def _digest_of(line: str) -> str:
    return line[line.rindex('"', 0, -1) + 1:-1]


def entries(root: str, skip_dirs=frozenset(), skip_files=frozenset()) -> tuple[str, int]:
    """The manifest entries of every regular file under ``root`` and their number.

    The entries are ``member(path, "sha256:<hex>")`` lines sorted by path and
    joined by SEPARATOR. Files are found as DirTree.walk finds them; top-level
    directories named in ``skip_dirs`` and files in ``skip_files`` are left out.
    Reads and updates the cache under ``root``; symbolic links are never followed
    (LinkRefused when ``root`` is one; a link in the cache's way leaves the cache out).
    """
    cache_dir = os.path.join(root, CACHE_DIR)
    nofollow.check_folder(root, root)
    try:
        nofollow.check_folder(root, cache_dir)
        use_cache = True
    except fsio.LinkRefused:  # the cache is only a shortcut: hash every file instead
        use_cache = False
    start = _now() if use_cache else -1
    old_shards = _load(cache_dir, root) if use_cache else {}
    old: dict = {}
    shard_of: dict[str, str] = {}
    for shard, records in old_shards.items():
        old.update(records)
        shard_of.update(dict.fromkeys(records, shard))
    new_shards: dict[str, dict] = {}
    dirty: set[str] = set()
    parts: list[str] = []
    count = 0
    stat, S_ISREG = os.stat, _stat.S_ISREG
    base = root.rstrip(os.sep) + os.sep
    # Depth first in path order, so the entries come out sorted: the files of a directory
    # and its subdirectories interleave as "name" and "name/" sort (see _segments).
    stack: list = [""]
    while stack:
        rel_dir = stack.pop()
        if type(rel_dir) is tuple:  # a run of entries between two subdirectories
            parts.append(rel_dir[0])
            continue
        path = base + rel_dir
        try:
            dst = stat(path)
        except OSError:
            continue
        dir_key = (dst.st_mtime_ns, dst.st_ctime_ns, dst.st_ino)
        dir_trusted = cachefile.trusted((dst.st_mtime_ns,), start)
        rec = cached = old.get(rel_dir)
        if rec is not None and rec[0] == dir_key:
            names, subdirs, plain, listed = _split(rec[1]), _split(rec[2]), True, False
        else:
            names, subdirs, plain = _list_dir(path, not rel_dir, skip_dirs, skip_files)
            listed = True
        try:
            stats = list(map(stat, map(path.__add__, names)))
            key = _pack_or_none(stats) if rec is not None and all(map(S_ISREG, map(_MODE, stats))) else None
        except OSError:  # a file went away, or a dangling link
            stats = [_stat_or_none(path + name) for name in names]
            key = None
        if key is not None and rec[3] == key and (not listed or rec[1] == "/".join(names)
                                                   and rec[2] == "/".join(subdirs)):
            # Nothing in this directory changed (the common case). Every stat in the cache
            # was trusted when it was written, so it still is.
            if listed:  # entries came and went, leaving the same ones
                rec = (dir_key if plain and dir_trusted else None, *rec[1:])
            count += len(names)
        else:
            kept, keys, segments = _rebuild(rel_dir, path, names, subdirs, stats, rec, start)
            trusted = plain and dir_trusted and len(kept) == len(names)
            # Not trusted: list it again next time.
            rec = (dir_key if trusted else None, "/".join(kept), "/".join(subdirs), keys, segments)
            count += len(kept)
        shard = shard_of.get(rel_dir) or _shard_of(rel_dir)
        records = new_shards.get(shard)
        if records is None:
            records = new_shards[shard] = {}
        records[rel_dir] = rec
        if rec is not cached:
            dirty.add(shard)
        segments = rec[4]
        parts.append(segments[0])
        for i in range(len(subdirs) - 1, -1, -1):
            if segments[i + 1]:
                stack.append((segments[i + 1],))
            stack.append(f"{rel_dir}{subdirs[i]}/")
    for shard, records in old_shards.items():
        if len(new_shards.get(shard, ())) != len(records):
            dirty.add(shard)  # a directory is gone
    for shard in sorted(dirty if use_cache else ()):
        _save(cache_dir, shard, new_shards.get(shard, {}), root)
    return SEPARATOR.join(filter(None, parts)), count


def _shard_of(rel_dir: str) -> str:
    """The cache file of a directory: the top two levels in one, each directory two levels
    down (``tasks/<id>/``) with everything below it in one of _SHARDS others.

    History grows there: spread over many small files, a close rewrites the few
    that changed instead of the whole cache.
    """
    parts = rel_dir.split("/", 2)
    if len(parts) < 3:
        return _TOP
    return "%02d" % (zlib.crc32(f"{parts[0]}/{parts[1]}".encode("utf-8", "surrogateescape")) % _SHARDS)


def _rebuild(rel_dir: str, path: str, names: list[str], subdirs: list[str], stats: list, rec,
             start: int) -> tuple[list[str], bytes, tuple[str, ...]]:
    """One directory file by file: hash what is new or changed, reuse the rest from ``rec``.

    Returns the files kept, their packed stats and the segments. A file that is
    gone, a dangling link or not a regular file is left out, as DirTree.walk and
    FileStore.state_files leave it.
    """
    known = {}
    if rec is not None:
        lines = [line for segment in rec[4] if segment for line in segment.split(SEPARATOR)]
        known = {name: (rec[3][i * _KEY:(i + 1) * _KEY], _digest_of(line))
                 for i, (name, line) in enumerate(zip(_split(rec[1]), lines))}
    regular = [(name, st) for name, st in zip(names, stats) if st is not None and _stat.S_ISREG(st.st_mode)]
    packed = _pack_or_none([st for _, st in regular]) or _RACY * len(regular)  # None: a time before 1970
    kept, keys, lines = [], [], []
    for i, (name, st) in enumerate(regular):
        key = packed[i * _KEY:(i + 1) * _KEY]
        prev = known.get(name)
        digest = prev[1] if prev is not None and prev[0] == key != _RACY else _hash_file(path + name)
        if digest is None:  # gone since its stat
            continue
        kept.append(name)
        keys.append(key if cachefile.trusted((st.st_mtime_ns,), start) else _RACY)
        lines.append(member(rel_dir + name, digest))
    return kept, b"".join(keys), _segments(kept, subdirs, lines)


def _segments(files: list[str], subdirs: list[str], lines: list[str]) -> tuple[str, ...]:
    """The files' entries cut where each subdirectory's entries go: one more run than subdirs.

    Sorting full paths puts a file "name" of this directory before the files of
    a subdirectory "sub" exactly when "name" < "sub/" (a file name has no "/").
    """
    cuts = [0, *(bisect_left(files, sub + "/") for sub in subdirs), len(files)]
    return tuple(SEPARATOR.join(lines[a:b]) for a, b in zip(cuts, cuts[1:]))


def _list_dir(path: str, top: bool, skip_dirs, skip_files) -> tuple[list[str], list[str], bool]:
    """(file names, subdirectory names, plain), each sorted, as DirTree.walk sees the directory.

    Symbolic links are neither files nor walked into (tether follows no link in
    its store), and temporary files are left out. ``plain`` is False when there
    is one, so that the listing is not cached (verify names the link).
    """
    files: list[str] = []
    subdirs: list[str] = []
    plain = True
    try:
        it = os.scandir(path)
    except OSError:  # unreadable or vanished: skipped, as os.walk skips it
        return files, subdirs, False
    with it:
        for entry in it:
            name = entry.name
            if entry.is_symlink():
                plain = False
                continue
            try:
                is_dir = entry.is_dir()
            except OSError:
                is_dir = False
            if top and name in (skip_dirs if is_dir else skip_files):
                continue
            if is_dir:
                subdirs.append(name)
            elif not name.endswith(fsio.TMP_SUFFIX):
                files.append(name)
    files.sort()
    subdirs.sort()
    return files, subdirs, plain


def _pack_or_none(stats) -> bytes | None:
    """The stats' keys as one bytes string (C-level: this runs for every file); None
    when one does not fit (a time before 1970)."""
    try:
        return array("Q", chain.from_iterable(map(_STAT_KEY, stats))).tobytes()
    except OverflowError:
        return None


def _split(names: str) -> list[str]:
    # A record keeps its names joined by "/", which no file name contains: one string
    # loads much faster than a list of strings.
    return names.split("/") if names else []


def _stat_or_none(path: str):
    try:
        return os.stat(path)
    except OSError:
        return None


def _hash_file(path: str) -> str | None:
    try:
        return "sha256:" + hashlib.sha256(nofollow.read_bytes(path)).hexdigest()
    except OSError:  # gone, or a link put in its place since the listing (never followed)
        return None


def _load(cache_dir: str, root: str) -> dict[str, dict]:
    """{shard: {directory: record}}; a record is (its stat or None, its files' names,
    its subdirectories' names, the files' packed stats, segments). A shard that is
    torn or from another version is left out."""
    shards: dict[str, dict] = {}
    try:
        names = os.listdir(cache_dir)
    except OSError:
        return shards
    for name in names:
        if name.endswith(fsio.TMP_SUFFIX):
            continue
        records = cachefile.read(os.path.join(cache_dir, name), "manifest", FORMAT, root)
        if isinstance(records, dict):
            shards[name] = records
    return shards


def _save(cache_dir: str, shard: str, records: dict, root: str) -> None:
    cachefile.write(os.path.join(cache_dir, shard), "manifest", FORMAT, records, root)
