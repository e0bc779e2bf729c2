"""The memory log: one JSON object per line in ``memory/events.jsonl``.

What an event record holds, in one place: the workspace writes them through
its store, and the SessionStart hook's warm path writes its one line here
without loading the store.
"""

from __future__ import annotations

import os

EVENT_LOG = "memory/events.jsonl"


def record(name: str, session: str, data: dict, at: str | None = None) -> dict:
    if at is None:
        from . import clock

        at = clock.stamp()
    return {"at": at, "event": name, "session": session, **data}


def append(store_dir: str, event: dict) -> None:
    """Append durably: the same bytes ``FileStore.append_event`` writes."""
    from .fsio import append_text
    from .parsing import canonical_json

    append_text(os.path.join(store_dir, EVENT_LOG), canonical_json(event) + "\n")
