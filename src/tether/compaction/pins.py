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


def find(entries: list[dict], ref: str) -> list[dict]:
    """The pins in force ``ref`` names: the one whose id it is (case-insensitively), else those
    whose id it begins (one, or several: an ambiguous prefix), else none."""
    pins = current(entries)
    exact = [p for p in pins if p["id"].lower() == ref.strip().lower()]
    if exact:
        return exact[:1]
    return [p for p in pins if ref.strip() and p["id"].lower().startswith(ref.strip().lower())]
