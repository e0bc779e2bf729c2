"""The active task's position (``T004 13/20``) for ``tether statusline``, kept per machine.

Claude Code runs the status line after every message; the position changes only when a file
it comes from changes: the machine's active task, the open markers, the task's definition and
its checkpoints. The position is kept with those files' stats (``local/statusline.cache``) and
used while every stat holds and is trusted (warm.cachefile); otherwise the caller works it out
through the store and saves it again.
"""

from __future__ import annotations

import os

from ..store import layout
from ..store.fsio import stat_key
from . import cachefile

FORMAT = 1


def _deps(task_id: str | None) -> tuple:
    if task_id is None:  # no open task at all
        return (layout.ACTIVE, layout.OPEN)
    return (layout.ACTIVE, layout.OPEN, layout.task_file(task_id), layout.journal(task_id),
            layout.checkpoints_dir(task_id))


def load(store_dir: str):
    """(True, position) from the cache, or (False, None) when the caller must work it out."""
    cached = cachefile.read(os.path.join(store_dir, layout.STATUS_LINE_CACHE), "statusline", FORMAT, store_dir)
    if not isinstance(cached, dict) or not isinstance(cached.get("deps"), list):
        return False, None
    for rel, key in cached["deps"]:
        if stat_key(os.path.join(store_dir, rel)) != key:
            return False, None
    return True, cached.get("position")


def save(store_dir: str, task_id: str | None, position: str | None, started_ns: int) -> bool:
    """Keep ``position`` of ``task_id`` (the machine's own active task; None: there is no open task)
    while its files' stats hold; nothing is kept when one of them changed too recently to be trusted."""
    deps = []
    for rel in _deps(task_id):
        key = stat_key(os.path.join(store_dir, rel))
        if key is not None and not cachefile.trusted(key, started_ns):
            return False
        deps.append((rel, key))
    return cachefile.write(os.path.join(store_dir, layout.STATUS_LINE_CACHE), "statusline", FORMAT,
                           {"deps": deps, "position": position}, store_dir)
