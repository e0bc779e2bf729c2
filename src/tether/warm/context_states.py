"""The context state each agent session was last seen in, kept per machine.

The UserPromptSubmit hook says something only when a session's state changes; what it saw
last is one small file per session under ``local/context-state/``, never a tracked file.
Imports only ``os`` (and ``json`` to write): it is read at every prompt.
"""

from __future__ import annotations

import os

from ..store.layout import CONTEXT_STATES


def _path(store_dir: str, session: str) -> str:
    if session and len(session) <= 100 and all(c.isascii() and (c.isalnum() or c in "-_.") for c in session) \
            and not session.startswith("."):
        name = session
    else:  # a name no file system can refuse
        import hashlib

        name = "h-" + hashlib.sha1(session.encode("utf-8", "surrogatepass")).hexdigest()
    return os.path.join(store_dir, CONTEXT_STATES, name + ".json")


def last(store_dir: str, session: str) -> dict | None:
    """What was remembered for ``session`` ({"state", "percent", ...}), or None (never seen, or unreadable:
    then the next reading counts as a change)."""
    from ..model.fastjson import loads

    try:
        with open(_path(store_dir, session), "rb") as fh:
            data = loads(fh.read(4096))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("state"), str) else None


def remember(store_dir: str, session: str, **fields) -> None:
    """Replace what is remembered for ``session`` (atomically; not forced to disk: a lost write only
    repeats a warning)."""
    import json

    path = _path(store_dir, session)
    folder = os.path.dirname(path)
    os.makedirs(folder, exist_ok=True)
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(json.dumps(fields, sort_keys=True) + "\n")
    os.replace(tmp, path)
