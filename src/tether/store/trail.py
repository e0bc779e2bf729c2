"""A session's tool-call trail (``local/trails/<session>.jsonl``): one JSON line per tool call
since the session's task was last checkpointed. Per machine and never committed; the hook that
writes it runs on every tool call, so this module imports only what that append needs.
"""

from __future__ import annotations

import os

from .layout import TORN, trail_file


def append(store_dir: str, session: str, row: dict) -> int:
    """Add one call; the number of calls now in the trail. Never through a link; not forced to
    disk (a crash loses a few calls' worth of trail, never work)."""
    from .appendlog import append_text
    from .nofollow import check_folder, read_bytes

    rel = trail_file(session)
    path = os.path.join(store_dir, rel)
    folder = os.path.dirname(path)
    if not os.path.isdir(folder):
        check_folder(store_dir, os.path.dirname(folder))
        os.makedirs(folder, exist_ok=True)
    if any(type(value) is list for value in row.values()):  # a patch's files: rare enough for `json`
        import json

        line = json.dumps(row, ensure_ascii=False, separators=(",", ":"))
    else:
        from ..model.fastjson import dumps_flat  # no `json` (and `re`) at every tool call

        line = dumps_flat(row)
    append_text(path, line + "\n", durable=False,
                root=store_dir, aside=os.path.join(store_dir, TORN, rel))
    return read_bytes(path, store_dir).count(b"\n")


def entries(store_dir: str, session: str) -> list[dict]:
    """The calls in the trail, oldest first; a line that is not a JSON object (a torn write) is
    left out: the trail is a hint for a checkpoint's note, not a record."""
    from .nofollow import read_bytes

    try:
        data = read_bytes(os.path.join(store_dir, trail_file(session)), store_dir)
    except FileNotFoundError:
        return []
    import json

    rows = []
    for line in data.splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict) and isinstance(row.get("at"), str):
            rows.append(row)
    return rows


def keep(store_dir: str, session: str, rows: list[dict]) -> None:
    """The trail becomes ``rows`` (those after the checkpoint just made: none, usually)."""
    from .fsio import write_atomic

    path = os.path.join(store_dir, trail_file(session))
    if not rows:
        clear(store_dir, session)
        return
    import json

    write_atomic(path, "".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in rows),
                 root=store_dir)


def clear(store_dir: str, session: str) -> None:
    """Forget the session's trail: its task was just checkpointed. Never through a link."""
    from .nofollow import check_path

    path = os.path.join(store_dir, trail_file(session))
    if not os.path.isdir(os.path.dirname(path)):
        return  # no trail was ever written here: the agent's checkpoint loop pays one stat
    check_path(store_dir, path)
    try:
        os.unlink(path)  # a link there is removed itself, never followed
    except (FileNotFoundError, NotADirectoryError):
        pass
