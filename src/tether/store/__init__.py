"""Storage: one interface (:class:`Store`), backends over directories, memory and commits."""

from .base import ReadOnly, Store
from .files import FileStore
from .trees import CommitTree, DirTree, MemoryTree

__all__ = ["Store", "ReadOnly", "FileStore", "DirTree", "MemoryTree", "CommitTree"]
