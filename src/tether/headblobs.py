"""What HEAD holds for the files boot read, without a git process at every boot.

Boot says which of the files its brief was built from differ from HEAD: it
hashes their bytes and compares with the blob ids git has for those paths at
HEAD. A commit's trees never change, so ids learnt once for a commit are kept
per machine (``local/head.cache``, git-ignored) and hold until HEAD moves.

A checkpoint adds a file that HEAD cannot have. The first time a path new to
the cache turns up in a directory the cache already knows, the whole directory
is listed (one level, once per commit); from then on every new file in it,
such as each next checkpoint, is known to be absent at HEAD without asking git.
"""

from __future__ import annotations

import marshal
import os

from . import git
from .fsio import write_cache

CACHE = "local/head.cache"
FORMAT = 2
# A cache past this size (about 100 characters a path) is not written: it only ever holds
# what boots asked for, a few directories' worth.
MAX_SIZE = 20_000_000


def blob_oids(root: str, store_dir: str, head: str, paths: list[str]) -> dict[str, str]:
    """Blob ids at ``head`` of ``paths`` (repo-relative, "/"-separated); absent paths are left out.

    What git.tree_entries answers for these paths, from the cache when it knows every one.
    """
    path = os.path.join(store_dir, CACHE)
    known, listed = _load(path, head)
    in_known_dirs = {p.rpartition("/")[0] for p in known}
    exact, whole_dirs = [], set()
    for p in paths:
        folder = p.rpartition("/")[0]
        if p in known or folder in listed:
            continue
        if folder in in_known_dirs:
            whole_dirs.add(folder)  # a file new here since the cache was made: list the directory
        else:
            exact.append(p)
    if exact or whole_dirs:
        found = git.tree_entries(root, head, exact + [f"{d}/" for d in sorted(whole_dirs)])
        for p in exact:
            known[p] = found.get(p)  # None: absent at HEAD, which is worth remembering too
        entries: dict[str, list[str]] = {folder: [] for folder in whole_dirs}
        for p, oid in found.items():
            folder, _, name = p.rpartition("/")
            if folder in whole_dirs:
                entries[folder].append(f"{name}\t{oid}")
        for folder, lines in entries.items():
            if not any(line.count("\t") != 1 or "\n" in line for line in lines):
                listed[folder] = _listing(lines)
        for p in paths:  # in a directory that cannot be kept whole (a name with a tab or newline)
            folder = p.rpartition("/")[0]
            if folder in whole_dirs and folder not in listed:
                known[p] = found.get(p)
        if len(known) * 100 + sum(map(len, listed.values())) <= MAX_SIZE:
            write_cache(path, marshal.dumps({"format": FORMAT, "head": head, "paths": known, "dirs": listed}))
    oids = {}
    for p in paths:
        folder, _, name = p.rpartition("/")
        oid = known[p] if p in known else _find(listed[folder], name) if folder in listed else None
        if oid is not None:
            oids[p] = oid
    return oids


# A directory's entries as one string, "\nname\toid" per file: thousands of small strings in a
# marshal load slower than the git process they replace; one string loads at memory speed.
def _listing(lines: list[str]) -> str:
    return "\n" + "\n".join(lines) + "\n" if lines else "\n"


def _find(listing: str, name: str) -> str | None:
    start = listing.find(f"\n{name}\t")
    if start < 0:
        return None
    start += len(name) + 2
    return listing[start:listing.index("\n", start)]


def _load(path: str, head: str) -> tuple[dict, dict]:
    """The cached (paths, directory listings) for ``head``; empty ones for another commit or a damaged file."""
    try:
        with open(path, "rb") as fh:
            saved = marshal.load(fh)
        if saved["format"] == FORMAT and saved["head"] == head:
            known, listed = saved["paths"], saved["dirs"]
            if isinstance(known, dict) and isinstance(listed, dict) and all(
                    isinstance(v, str) for v in listed.values()):
                return known, listed
    except (OSError, EOFError, ValueError, TypeError, KeyError):
        pass
    return {}, {}
