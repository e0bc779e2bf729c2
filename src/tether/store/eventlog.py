"""The memory log: one JSON object per line in ``memory/events.jsonl``, and the per-machine
session log beside it (``local/sessions.jsonl``).

What an event record holds, in one place: the workspace writes them through
its store, and the SessionStart hook's warm path writes its one line here
without loading the store. Hooks write only to the session log (git-ignored),
so they never change a tracked file; ``tether close`` folds it into the memory log.
"""

from __future__ import annotations

import os

from .layout import EVENT_LOG, SESSION_LOG, TORN
CHECKED_LINES = 20  # boot names a torn or bad line among the log's last lines


def wrong_event(row: dict) -> str | None:
    """What is wrong with a log row's own fields (the rest is the event's data), or None: boot and
    the repairs sort and pick events by them."""
    for key in ("at", "event"):
        value = row.get(key)
        if type(value) is not str:
            if key not in row:
                return f"an event without '{key}'"
            from .fields import got

            return f"field '{key}' must be a string, got {got(value)}"
    return None


def odd_event(row: dict) -> str | None:
    """What is wrong with a readable row that leaves it usable, or None: an ``at`` that is not an
    ISO 8601 time (the row still sorts by it as text)."""
    from .fields import odd_time

    wrong = odd_time(row.get("at"))
    return f"field 'at' {wrong}" if wrong else None


def record(name: str, session: str, data: dict, at: str | None = None) -> dict:
    if at is None:
        from ..model import clock

        at = clock.stamp()
    return {"at": at, "event": name, "session": session, **data}


def append(store_dir: str, event: dict) -> None:
    """Append durably: the same bytes ``Store.append_event`` writes, and as it does, never
    through a link (LinkRefused), a torn last line set aside first."""
    from .appendlog import append_text
    from .codec import canonical_json
    from .written import note

    note(store_dir, (EVENT_LOG,))
    append_text(os.path.join(store_dir, EVENT_LOG), canonical_json(event) + "\n", root=store_dir,
                aside=os.path.join(store_dir, TORN, EVENT_LOG))


def append_local(store_dir: str, event: dict) -> None:
    """Append to the per-machine session log, never through a link; not forced to disk: losing
    a session start in a crash loses no work."""
    from .appendlog import append_text
    from .codec import canonical_json

    append_text(os.path.join(store_dir, SESSION_LOG), canonical_json(event) + "\n", durable=False, root=store_dir,
                aside=os.path.join(store_dir, TORN, SESSION_LOG))


def last_lines(tail, limit: int, whole: int) -> bytes:
    """The end of the log holding at least ``limit`` whole lines; ``tail(n)``: its last n bytes.

    Events larger than the guess leave fewer than ``limit`` whole lines in the window:
    widen it; if that changes nothing (a short log, or one huge line) or after a few
    tries, read the whole log (``tail(whole)``). Boot checks these lines, warm or cold.
    """
    budget = 2048 * limit
    data = tail(budget)
    for tries in range(1, 6):
        if data.count(b"\n") >= limit:
            break
        budget *= 2
        wider = tail(budget)
        if wider == data or tries == 5:
            return tail(whole)
        data = wider
    return data
