"""The store: the only package that knows tether's file names and layout.

Modules: ``layout`` (every path, in one place), ``files`` (:class:`Store`, the
records as files over a tree; its task files in ``task_files``, its logs in
``log_files``), ``trees`` (the backends: a directory, memory, a commit;
:class:`Tree` declares what a backend does), ``formats`` (how each record reads
and writes as a file) with ``fields`` (each field type-checked on read),
``config_file`` (tether.toml), ``codec`` (front matter, JSON and JSON lines,
canonical JSON, conflict markers, what no decoder may let through) and
``yaml_codec`` (YAML as plain data), ``fsio`` (atomic, durable writes and locks)
with ``nofollow`` (never through a symbolic link), ``confine`` (where a committed
path really leads), ``journal`` (a task's checkpoint journal: one fsync per
checkpoint, restored after a crash), ``eventlog`` (the memory log's lines),
``locate`` (finding the workspace from any folder), ``migrations`` (the ordered
layout migrations).

Importing the package loads nothing: the warm boot takes ``fsio`` and ``eventlog``
alone.
"""

__all__ = ["Store", "DirTree", "MemoryTree", "CommitTree", "MergeTree", "Tree"]


def __getattr__(name: str):
    if name == "Store":
        from .files import Store

        return Store
    if name in ("DirTree", "MemoryTree", "CommitTree", "MergeTree", "Tree"):
        from . import trees

        return getattr(trees, name)
    raise AttributeError(f"module 'tether.store' has no attribute {name!r}")
