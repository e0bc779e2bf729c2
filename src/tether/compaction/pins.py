"""Pins: keep-hints that survive every compaction verbatim.

The pins log holds ``{"pin": id, "text", "at"}`` and ``{"unpin": id, "at"}`` lines, append-only
so two branches' pins merge line by line; the pins in force are the pins not unpinned. Pure.
"""

from __future__ import annotations


def current(entries: list[dict]) -> list[dict]:
    """The pins in force, oldest first: ``{"id", "text", "at"}``."""
    pins: dict = {}
    for row in entries:
        if isinstance(row.get("pin"), str) and isinstance(row.get("text"), str):
            pins.setdefault(row["pin"], {"id": row["pin"], "text": row["text"], "at": row.get("at")})
        elif isinstance(row.get("unpin"), str):
            pins.pop(row["unpin"], None)
    return list(pins.values())


def find(entries: list[dict], ref: str) -> dict | None:
    """A pin in force by its id, case-insensitively, or by a unique prefix of it."""
    pins = current(entries)
    exact = [p for p in pins if p["id"].lower() == ref.strip().lower()]
    if exact:
        return exact[0]
    prefixed = [p for p in pins if p["id"].lower().startswith(ref.strip().lower())]
    return prefixed[0] if len(prefixed) == 1 else None
