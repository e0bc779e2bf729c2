"""Which of the files boot read differ from HEAD, without a git process or a hash at every boot.

Boot says which of the files its brief was built from differ from HEAD: it
compares the blob id of each file's bytes with the one git has for that path
at HEAD. Both are kept per machine (``local/head.cache``, git-ignored):

- A commit's trees never change, so ids learnt once for a commit hold until
  HEAD moves. A checkpoint adds a file that HEAD cannot have: the first time a
  path new to the cache turns up in a folder the cache already knows, the whole
  folder is listed (one level, once per commit); from then on every new file
  in it, such as each next checkpoint, is known to be absent at HEAD without
  asking git, and so to differ, without hashing it.
- A file's own id is kept with its stat (mtime, ctime, size, inode), as git's
  index keeps it: an unchanged file is not hashed again (nor is hashlib, 4 ms
  of OpenSSL, loaded). A file modified too close to the boot (warm.cachefile.trusted) is
  hashed again next time.
"""

from __future__ import annotations

import os

from ..gitio import objects
from . import cachefile

CACHE = "local/head.cache"
FORMAT = 4  # 4: in warm.cachefile
# A cache past this size (about 100 characters a path) is not written: it only ever holds
# what boots asked for, a few folders' worth.
MAX_SIZE = 20_000_000


# Per machine, never committed: not compared with HEAD.
UNTRACKED = ("local/", "locks/")


def tracked(rels) -> list[str]:
    return sorted(rel for rel in rels if not rel.startswith(UNTRACKED))


def differing(root: str, store_dir: str, head: str | None, rels, content_of, stats: dict | None,
              started_ns: int, prefix: str = ".tether/") -> list[str]:
    """Repo paths (``prefix`` + rel) of the tracked files among ``rels`` whose bytes differ from
    HEAD's or that HEAD lacks (all of them before the first commit). ``content_of(rel)``: the
    bytes, asked only for a file whose id is not kept; ``stats``: rel -> fsio.stat_key taken
    before each read, or None.

    Not `git status`: that stats every file of the store, which grows with history (0.4 s at
    100k checkpoints). Comparing the ids of the bytes boot read with those few paths' ids at
    HEAD (from git once per commit, a file's own id kept with its stat) costs the same at any size.
    """
    rels = tracked(rels)
    if head is None:
        return [prefix + rel for rel in rels]
    cache = _Cache(os.path.join(store_dir, CACHE), head, root, prefix.rstrip("/"))
    paths = {prefix + rel: rel for rel in rels}
    at_head = cache.blob_oids(root, sorted(paths))
    sha256 = len(head) == 64
    changed = []
    for path, rel in paths.items():
        theirs = at_head.get(path)
        if theirs is None:
            changed.append(path)  # not in HEAD: new, whatever it holds
            continue
        key = stats.get(rel) if stats is not None else None
        ours = cache.file_oid(rel, key)
        if ours is None:
            ours = objects.blob_oid(content_of(rel), sha256)
            if cachefile.trusted(key, started_ns):
                cache.files[rel] = (key, ours)
                cache.dirty = True
        if ours != theirs:
            changed.append(path)
    cache.save()
    return sorted(changed)


def blob_oids(root: str, store_dir: str, head: str, paths: list[str]) -> dict[str, str]:
    """Blob ids at ``head`` of ``paths`` (repo-relative, "/"-separated); absent paths are left out.

    What objects.tree_entries answers for these paths, from the cache when it knows every one.
    """
    cache = _Cache(os.path.join(store_dir, CACHE), head)
    oids = cache.blob_oids(root, paths)
    cache.save()
    return oids


class _Cache:
    def __init__(self, path: str, head: str, root: str | None = None, folder: str = ".tether") -> None:
        self.path, self.head, self.dirty = path, head, False
        self.store = os.path.dirname(os.path.dirname(path))  # CACHE is local/<name> in the store
        self.known: dict = {}   # path -> blob id at HEAD, None when HEAD lacks it
        self.listed: dict = {}  # folder -> its entries at HEAD as one string (_listing)
        self.files: dict = {}   # rel -> (stat key, blob id of the file's bytes)
        saved = cachefile.read(path, "head", FORMAT, self.store)
        if not isinstance(saved, dict):
            return
        if isinstance(saved.get("files"), dict):  # the working tree's own ids: whatever HEAD is
            self.files = saved["files"]
        known, listed = saved.get("paths"), saved.get("dirs")
        if not (isinstance(known, dict) and isinstance(listed, dict) and all(isinstance(v, str) for v in listed.values())):
            return
        if saved.get("head") == head:
            self.known, self.listed = known, listed
        elif root is not None and isinstance(saved.get("head"), str) and objects.same_tree(root, saved["head"], head, folder):
            # HEAD moved but tether's folder did not (a commit of code, a new branch): every id the
            # old commit held there, and every absence, holds at the new one. One small git query
            # instead of listing the paths again (the tasks folder's tree alone has thousands of entries).
            self.known, self.listed, self.dirty = known, listed, True

    def file_oid(self, rel: str, key: tuple | None) -> str | None:
        hit = self.files.get(rel)
        if key is None or not isinstance(hit, tuple) or len(hit) != 2 or hit[0] != key:
            return None
        return hit[1] if isinstance(hit[1], str) else None

    def blob_oids(self, root: str, paths: list[str]) -> dict[str, str]:
        known, listed = self.known, self.listed
        in_known_folders = {p.rpartition("/")[0] for p in known}
        exact, whole = [], set()
        for p in paths:
            folder = p.rpartition("/")[0]
            if p in known or folder in listed:
                continue
            if folder in in_known_folders:
                whole.add(folder)  # a file new here since the cache was made: list the folder
            else:
                exact.append(p)
        if exact or whole:
            self._learn(root, paths, exact, whole)
        oids = {}
        for p in paths:
            folder, _, name = p.rpartition("/")
            oid = known[p] if p in known else _find(listed[folder], name) if folder in listed else None
            if oid is not None:
                oids[p] = oid
        return oids

    def _learn(self, root: str, paths: list[str], exact: list[str], whole: set[str]) -> None:
        found = objects.tree_entries(root, self.head, exact + [f"{d}/" for d in sorted(whole)])
        for p in exact:
            self.known[p] = found.get(p)  # None: absent at HEAD, which is worth remembering too
        entries: dict[str, list[str]] = {folder: [] for folder in whole}
        for p, oid in found.items():
            folder, _, name = p.rpartition("/")
            if folder in whole:
                entries[folder].append(f"{name}\t{oid}")
        for folder, lines in entries.items():
            if not any(line.count("\t") != 1 or "\n" in line for line in lines):
                self.listed[folder] = _listing(lines)
        for p in paths:  # in a folder that cannot be kept whole (a name with a tab or newline)
            folder = p.rpartition("/")[0]
            if folder in whole and folder not in self.listed:
                self.known[p] = found.get(p)
        self.dirty = True

    def save(self) -> None:
        size = (len(self.known) + len(self.files)) * 100 + sum(map(len, self.listed.values()))
        if self.dirty and size <= MAX_SIZE:
            cachefile.write(self.path, "head", FORMAT, {"head": self.head, "paths": self.known,
                                                        "dirs": self.listed, "files": self.files}, self.store)


# A folder's entries as one string, "\nname\toid" per file: thousands of small strings in a
# marshal load slower than the git process they replace; one string loads at memory speed.
def _listing(lines: list[str]) -> str:
    return "\n" + "\n".join(lines) + "\n" if lines else "\n"


def _find(listing: str, name: str) -> str | None:
    start = listing.find(f"\n{name}\t")
    if start < 0:
        return None
    start += len(name) + 2
    return listing[start:listing.index("\n", start)]
