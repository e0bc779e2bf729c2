"""Recall: search everything tether keeps, ranked, with where each hit came from.

``tether recall QUERY`` (and any MCP tool, in one line)::

    from tether.recall import Recall
    hits = Recall(workspace).search("why sqlite", limit=5, budget=800)

The index is a per-machine SQLite FTS5 database (``local/recall.sqlite``, git-ignored),
derived from the store's files and refreshed on each search from what changed since the
last one; it is never the source of truth and is rebuilt when missing or unreadable.
Modules: ``extract`` (a file's bytes to the records recall knows: pure), ``rank`` (a query
to an FTS5 expression, the token budget, the statuses: pure), ``index`` (the SQLite
database and the incremental scan) and ``api`` (:class:`Recall`, the facade).
"""

__all__ = ["Recall"]


def __getattr__(name: str):
    if name in __all__:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'tether.recall' has no attribute {name!r}")
