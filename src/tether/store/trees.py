"""Where a store's bytes live: the backends. A directory, memory, or a git commit.

A tree is the small set of file operations the store layout needs; :class:`Tree`
declares them. Paths are POSIX-style and relative to the store root
(``tasks/T1/task.md``). ``tests/test_store_contract.py`` runs one contract suite
against every backend.
"""

from __future__ import annotations

import os

from . import appendlog, fsio, nofollow, written
from .layout import TORN, lock_file


class Tree:
    """What a backend does. Every tree reads; a tree with ``readonly`` False also writes.

    Required: ``read``, ``list``, ``exists``, ``tail``, ``walk``; and when writable ``write``,
    ``create``, ``append``, ``remove``, ``lock``.

    Optional capabilities, declared by the class attributes below, never probed: a tree
    without one inherits the answer "unknown" (None) and callers do without it.

    - ``keeps_stats``: ``stat_key``/``folder_key`` say whether a path changed since it was
      read (the in-process caches and the warm boot use them), and the tree can record
      what it read (``recording``).
    - ``lock_tokens``: a lock carries the token its last holder left (fsio.FileLock.token),
      readable without taking it (``lock_token``): a writer knows whether anyone wrote since.
    - ``directory``: the tree is a folder on disk (the manifest's hash cache walks it).
    """

    readonly = True
    keeps_stats = False
    lock_tokens = False
    directory: str | None = None

    def read(self, rel: str) -> bytes | None:
        raise NotImplementedError  # abstract: every backend reads

    def list(self, rel: str = "") -> list[str]:
        raise NotImplementedError  # abstract: every backend lists

    def exists(self, rel: str) -> bool:
        raise NotImplementedError  # abstract

    def tail(self, rel: str, max_bytes: int) -> bytes:
        data = self.read(rel) or b""
        if len(data) <= max_bytes:
            return data
        chunk = data[-max_bytes:]
        return chunk[chunk.find(b"\n") + 1:]

    def walk(self, rel: str = ""):
        raise NotImplementedError  # abstract

    def stat_key(self, rel: str) -> tuple | None:
        return None

    def create_many(self, items) -> list[bool]:
        """``create`` for each (rel, data), durable when it returns; a backend on disk does it
        with one flush for all."""
        return [self.create(rel, data) for rel, data in items]

    def create_hashed(self, folder: str, chunks) -> tuple[str, bool]:
        """Store the bytes of ``chunks`` as ``folder/<their sha256>``; (digest, whether new). A
        backend on disk streams them (bounded memory)."""
        import hashlib

        data = b"".join(chunks)
        digest = hashlib.sha256(data).hexdigest()
        return digest, self.create(f"{folder}/{digest}", data)

    def folder_key(self, rel: str) -> tuple | None:
        return None

    def lock_token(self, name: str) -> str | None:
        return None

    def peek(self, rel: str) -> bytes | None:
        """read() without recording it (keeps_stats): a check that is not part of what boot reports."""
        return self.read(rel)

    def links(self) -> list[str]:
        """Every symbolic link in the tree ("" for its root itself): a tree on disk may hold some."""
        return []

    def remove_dir(self, rel: str) -> None:
        """Remove an empty folder (a tree without folders has none to remove)."""


class DirTree(Tree):
    """The working tree: durable, atomic, safe for concurrent processes.

    It never reads or writes through a symbolic link (fsio's ``root``): ``.tether/`` is
    whatever was committed, and a link there would lead anywhere on the machine. Reads
    and writes raise LinkRefused; the Store turns the reads' into problems.
    """

    readonly = False
    keeps_stats = True
    lock_tokens = True

    def __init__(self, root) -> None:
        self.root = self.directory = os.fspath(root).rstrip(os.sep) or os.sep  # a str: pathlib costs 5 ms at start-up
        self.reads: dict[str, bytes] | None = None  # set to {} to record what read() returned
        # Set to {} to record the (mtime_ns, size, inode) of each file read and directory listed
        # (None: absent): boot's warm start trusts them while they hold (see bootcache).
        self.stats: dict[str, tuple | None] | None = None
        self.lists: dict[str, list[str]] | None = None  # set to {} to record what list() returned

    def _p(self, rel: str) -> str:
        return f"{self.root}/{rel}" if rel else self.root  # rel is always '/'-separated

    def read(self, rel: str) -> bytes | None:
        data = self._read(rel, self.stats)
        if self.reads is not None and data is not None:
            self.reads[rel] = data
        return data

    def peek(self, rel: str) -> bytes | None:
        """read() without recording it: for a check that is not part of what boot reports."""
        return self._read(rel, None)

    def _read(self, rel: str, stats: dict | None) -> bytes | None:
        path = self._p(rel)
        try:
            nofollow.check_path(self.root, path)
            fd = os.open(path, nofollow.READ_FLAGS)
        except (FileNotFoundError, NotADirectoryError):
            if stats is not None:
                stats[rel] = None
            return None
        except OSError as exc:
            raise nofollow.refused_open(exc, path, self.root) from None
        try:
            st = os.fstat(fd)
            if stats is not None:
                stats[rel] = fsio.stat_key_of(st)  # of what is read, before reading it
            return nofollow.read_fd(fd, st)
        except IsADirectoryError:
            if stats is not None:
                stats[rel] = None
            return None
        finally:
            os.close(fd)

    def list(self, rel: str = "") -> list[str]:
        if self.stats is not None:
            self.folder_key(rel)  # recorded before listing: a later change is seen
        nofollow.check_folder(self.root, self._p(rel))
        names = fsio.listing(self._p(rel))
        if self.lists is not None:
            self.lists[rel or "."] = names
        return names

    def folder_key(self, rel: str) -> tuple | None:
        """A folder's stat_key, recorded like list() records what it lists (store.listings)."""
        key = fsio.stat_key(self._p(rel))
        if self.stats is not None:
            self.stats[rel or "."] = key
        return key

    def exists(self, rel: str) -> bool:
        return os.path.exists(self._p(rel))

    def lock_token(self, name: str) -> str | None:
        """What the last holder of lock ``name`` left in it (see fsio.FileLock.token), unlocked."""
        try:
            return nofollow.read_bytes(self._p(lock_file(name)), self.root)[:256].decode("utf-8", "replace")
        except FileNotFoundError:
            return None

    def stat_key(self, rel: str) -> tuple | None:
        """fsio.stat_key of a path, None if absent: whether it changed since it was read."""
        return fsio.stat_key(self._p(rel))

    def write(self, rel: str, data: bytes | str, mode: int = 0o644) -> None:
        written.note(self.root, (rel,))
        fsio.write_atomic(self._p(rel), data, mode=mode, root=self.root)

    def create(self, rel: str, data: bytes | str, durable: bool = True) -> bool:
        written.note(self.root, (rel,))
        return fsio.create_exclusive(self._p(rel), data, durable, root=self.root)

    def create_hashed(self, folder: str, chunks) -> tuple[str, bool]:
        digest, new = fsio.create_hashed(self._p(folder), chunks, root=self.root)
        if new:  # its name is known only now; the folder's stat shows it meanwhile (warm.status)
            written.note(self.root, (f"{folder}/{digest}",))
        return digest, new

    def create_many(self, items) -> list[bool]:
        items = list(items)
        written.note(self.root, [rel for rel, _ in items])
        return fsio.create_many([(self._p(rel), data) for rel, data in items], root=self.root)

    def append(self, rel: str, text: str, durable: bool = True, *, aligned: bool = False, mend=None) -> dict | None:
        """Append whole lines; a torn last line of a JSON Lines log is set aside under local/torn/
        (or completed by ``mend``, see store.appendlog). Returns what was repaired, if anything."""
        aside = self._p(f"{TORN}/{rel}") if rel.endswith(".jsonl") else None
        written.note(self.root, (rel,))
        return appendlog.append_text(self._p(rel), text, durable, aligned=aligned, aside=aside, mend=mend,
                                     root=self.root)

    def remove(self, rel: str) -> None:
        path = self._p(rel)
        written.note(self.root, (rel,))
        nofollow.check_path(self.root, path)  # unlink removes a link itself, but not a file behind a linked folder
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass

    def remove_dir(self, rel: str) -> None:
        """Remove an empty folder; one that holds anything is left as it is."""
        try:
            os.rmdir(self._p(rel))
        except OSError:
            pass

    def tail(self, rel: str, max_bytes: int) -> bytes:
        try:
            return fsio.read_tail(self._p(rel), max_bytes, self.root)
        except (FileNotFoundError, NotADirectoryError):
            return b""

    def lock(self, name: str):
        return fsio.FileLock(self._p(lock_file(name)), root=self.root)

    def walk(self, rel: str = ""):
        """Every file path under ``rel``, sorted; links are neither files nor walked into."""
        nofollow.check_folder(self.root, self._p(rel))
        found, stack = [], [self._p(rel)]
        while stack:
            try:
                entries = list(os.scandir(stack.pop()))
            except (FileNotFoundError, NotADirectoryError):
                continue
            for entry in entries:
                if entry.is_symlink():
                    continue
                if entry.is_dir():
                    stack.append(entry.path)
                elif not entry.name.endswith(fsio.TMP_SUFFIX):
                    found.append(os.path.relpath(entry.path, self.root).replace(os.sep, "/"))
        yield from sorted(found)

    def links(self) -> list[str]:
        """Every symbolic link at or under the root, as paths relative to it ("" for the root itself)."""
        if nofollow.is_link(self.root):
            return [""]
        found, stack = [], [self.root]
        while stack:
            try:
                entries = list(os.scandir(stack.pop()))
            except OSError:
                continue
            for entry in entries:
                if entry.is_symlink():
                    found.append(os.path.relpath(entry.path, self.root).replace(os.sep, "/"))
                elif entry.is_dir():
                    stack.append(entry.path)
        return sorted(found)


class MemoryTree(Tree):
    """An in-process tree: the reference backend for tests and embedding."""

    readonly = False

    def __init__(self) -> None:
        import threading  # lazy: only this backend needs it

        self.files: dict[str, bytes] = {}
        self._mutex = threading.RLock()
        self._new_lock = threading.Lock
        self._locks: dict = {}

    def read(self, rel: str) -> bytes | None:
        return self.files.get(rel)

    def list(self, rel: str = "") -> list[str]:
        prefix = f"{rel.rstrip('/')}/" if rel else ""
        names = {p[len(prefix):].split("/", 1)[0] for p in self.files if p.startswith(prefix)}
        return sorted(names)

    def exists(self, rel: str) -> bool:
        return rel in self.files or bool(self.list(rel))

    def write(self, rel: str, data: bytes | str, mode: int = 0o644) -> None:  # no permissions in memory
        with self._mutex:
            self.files[rel] = data.encode("utf-8") if isinstance(data, str) else bytes(data)

    def create(self, rel: str, data: bytes | str, durable: bool = True) -> bool:
        with self._mutex:
            if rel in self.files:
                return False
            self.write(rel, data)
            return True

    def append(self, rel: str, text: str, durable: bool = True, *, aligned: bool = False, mend=None) -> None:
        with self._mutex:
            self.files[rel] = self.files.get(rel, b"") + text.encode("utf-8")

    def remove(self, rel: str) -> None:
        with self._mutex:
            self.files.pop(rel, None)

    def lock(self, name: str):
        with self._mutex:
            return self._locks.setdefault(name, self._new_lock())  # a context manager itself

    def walk(self, rel: str = ""):
        prefix = f"{rel.rstrip('/')}/" if rel else ""
        yield from sorted(p for p in self.files if p.startswith(prefix))


class CommitTree(Tree):
    """A commit's store, read from git objects: boot --sha needs no checkout."""

    readonly = True

    def __init__(self, repo_root, sha: str, prefix: str) -> None:
        from ..gitio.objects import GitTree

        self._tree = GitTree(repo_root, sha, prefix)

    def read(self, rel: str) -> bytes | None:
        return self._tree.read(rel)

    def list(self, rel: str = "") -> list[str]:
        return self._tree.list(rel)

    def exists(self, rel: str) -> bool:
        return self._tree.read(rel) is not None or self._tree.is_dir(rel)

    def walk(self, rel: str = ""):
        stack = [rel]
        found: list[str] = []
        while stack:
            current = stack.pop()
            for name in self._tree.list(current):
                path = f"{current}/{name}" if current else name
                (stack.append if self._tree.is_dir(path) else found.append)(path)
        yield from sorted(found)

    def close(self) -> None:
        self._tree.close()


class MergeTree(Tree):
    """The store a merge leaves, read from the objects of its three commits (base, ours, theirs)
    before git has written any file: the merge driver regenerates the context document from it.

    A path is as the side that changed it has it (present or not, and its bytes); one that both
    sides changed is what ``merge(rel, base, ours, theirs)`` says git's merge of it leaves (None:
    that merge conflicts, and our side stands, as in the work tree git stops with).
    """

    readonly = True

    def __init__(self, repo_root, commits: tuple[str, str, str], prefix: str, merge) -> None:
        from ..gitio.objects import GitTree

        self._trees = [GitTree(repo_root, sha, prefix) for sha in commits]
        self._merge = merge

    def read(self, rel: str) -> bytes | None:
        base, ours, theirs = (tree.read(rel) for tree in self._trees)
        if ours == theirs or theirs == base:
            return ours
        if ours == base:
            return theirs
        if ours is None or theirs is None:
            return ours  # deleted on one side, changed on the other: git stops for the user
        merged = self._merge(rel, base, ours, theirs)
        return ours if merged is None else merged

    def _is_dir(self, rel: str) -> bool:
        base, ours, theirs = (tree.is_dir(rel) for tree in self._trees)
        return ours if ours == theirs or theirs == base else theirs

    def list(self, rel: str = "") -> list[str]:
        base, ours, theirs = (set(tree.list(rel)) for tree in self._trees)
        # what both kept, and what either added; what either removed is gone
        return sorted((ours & theirs) | (ours - base) | (theirs - base))

    def exists(self, rel: str) -> bool:
        return self.read(rel) is not None or self._is_dir(rel)

    def walk(self, rel: str = ""):
        stack = [rel]
        found: list[str] = []
        while stack:
            current = stack.pop()
            for name in self.list(current):
                path = f"{current}/{name}" if current else name
                (stack.append if self._is_dir(path) else found.append)(path)
        yield from sorted(found)

    def close(self) -> None:
        for tree in self._trees:
            tree.close()
