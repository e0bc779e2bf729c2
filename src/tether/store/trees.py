"""Where a FileStore's bytes live: a directory, memory, or a git commit.

A tree is the small set of file operations the store layout needs. Paths are
POSIX-style and relative to the store root (``tasks/T1/task.md``).
"""

from __future__ import annotations

import os

from .. import fsio


class DirTree:
    """The working tree: durable, atomic, safe for concurrent processes."""

    readonly = False

    def __init__(self, root) -> None:
        self.root = os.fspath(root)  # a str: pathlib costs 5 ms at start-up
        self.reads: dict[str, bytes] | None = None  # set to {} to record what read() returned
        # Set to {} to record the (mtime_ns, size, inode) of each file read and directory listed
        # (None: absent): boot's warm start trusts them while they hold (see bootcache).
        self.stats: dict[str, tuple | None] | None = None
        self.lists: dict[str, list[str]] | None = None  # set to {} to record what list() returned

    def _p(self, rel: str) -> str:
        return f"{self.root}/{rel}" if rel else self.root  # rel is always '/'-separated

    def read(self, rel: str) -> bytes | None:
        try:
            with open(self._p(rel), "rb") as fh:
                if self.stats is not None:
                    self.stats[rel] = fsio.stat_key_of(os.fstat(fh.fileno()))  # of what is read, before reading it
                data = fh.read()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            if self.stats is not None:
                self.stats[rel] = None
            return None
        if self.reads is not None:
            self.reads[rel] = data
        return data

    def list(self, rel: str = "") -> list[str]:
        if self.stats is not None:
            self.folder_key(rel)  # recorded before listing: a later change is seen
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
            with open(os.path.join(self.root, "locks", f"{name}.lock"), "rb") as fh:
                return fh.read(256).decode("utf-8", "replace")
        except FileNotFoundError:
            return None

    def stat_key(self, rel: str) -> tuple | None:
        """fsio.stat_key of a path, None if absent: whether it changed since it was read."""
        return fsio.stat_key(self._p(rel))

    def write(self, rel: str, data: bytes | str) -> None:
        fsio.write_atomic(self._p(rel), data)

    def create(self, rel: str, data: bytes | str, durable: bool = True) -> bool:
        return fsio.create_exclusive(self._p(rel), data, durable)

    def append(self, rel: str, text: str, durable: bool = True, *, aligned: bool = False, mend=None) -> dict | None:
        """Append whole lines; a torn last line of a JSON Lines log is set aside under local/torn/
        (or completed by ``mend``, see fsio.append_text). Returns what was repaired, if anything."""
        aside = f"{self.root}/{fsio.TORN_DIR}/{rel}" if rel.endswith(".jsonl") else None
        return fsio.append_text(self._p(rel), text, durable, aligned=aligned, aside=aside, mend=mend)

    def remove(self, rel: str) -> None:
        try:
            os.unlink(self._p(rel))
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
            return fsio.read_tail(self._p(rel), max_bytes)
        except FileNotFoundError:
            return b""

    def lock(self, name: str):
        return fsio.FileLock(os.path.join(self.root, "locks", f"{name}.lock"))

    def walk(self, rel: str = ""):
        """Every file path under ``rel``, sorted."""
        found = []
        for directory, _dirs, files in os.walk(self._p(rel)):
            for name in files:
                if not name.endswith(fsio.TMP_SUFFIX):
                    found.append(os.path.relpath(os.path.join(directory, name), self.root).replace(os.sep, "/"))
        yield from sorted(found)


class MemoryTree:
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

    def write(self, rel: str, data: bytes | str) -> None:
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

    def tail(self, rel: str, max_bytes: int) -> bytes:
        data = self.files.get(rel, b"")
        if len(data) <= max_bytes:
            return data
        chunk = data[-max_bytes:]
        return chunk[chunk.find(b"\n") + 1:]

    def lock(self, name: str):
        with self._mutex:
            return self._locks.setdefault(name, self._new_lock())  # a context manager itself

    def walk(self, rel: str = ""):
        prefix = f"{rel.rstrip('/')}/" if rel else ""
        yield from sorted(p for p in self.files if p.startswith(prefix))


class CommitTree:
    """A commit's store, read from git objects: boot --sha needs no checkout."""

    readonly = True

    def __init__(self, repo_root, sha: str, prefix: str) -> None:
        from ..git import GitTree

        self._tree = GitTree(repo_root, sha, prefix)

    def read(self, rel: str) -> bytes | None:
        return self._tree.read(rel)

    def list(self, rel: str = "") -> list[str]:
        return self._tree.list(rel)

    def exists(self, rel: str) -> bool:
        return self._tree.read(rel) is not None or self._tree.is_dir(rel)

    def tail(self, rel: str, max_bytes: int) -> bytes:
        data = self._tree.read(rel) or b""
        if len(data) <= max_bytes:
            return data
        chunk = data[-max_bytes:]
        return chunk[chunk.find(b"\n") + 1:]

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
