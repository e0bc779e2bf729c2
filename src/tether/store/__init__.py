"""Storage: one interface (:class:`Store`), backends over directories, memory and commits."""

__all__ = ["Store", "ReadOnly", "FileStore", "DirTree", "MemoryTree", "CommitTree"]


def __getattr__(name: str):
    # Lazy: the warm boot imports store.fsio and store.eventlog without the store classes.
    if name in ("Store", "ReadOnly"):
        from . import base

        return getattr(base, name)
    if name == "FileStore":
        from .files import FileStore

        return FileStore
    if name in ("DirTree", "MemoryTree", "CommitTree"):
        from . import trees

        return getattr(trees, name)
    raise AttributeError(f"module 'tether.store' has no attribute {name!r}")
