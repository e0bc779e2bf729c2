"""Repairs that bring derived, tracked files back in line with the records."""

from __future__ import annotations

import os
import re

# A writer's temporary file lives for milliseconds; one this old was left by a killed writer.
STALE_TMP_SECONDS = 600
# What fsio (and the manifest cache) name them: ".<name>.<8 hex digits>.tmp" beside the file.
TMP_NAME = re.compile(r"\..+\.[0-9a-f]{8}\.tmp")


def remove_stale_tmp_files(ws, older_than: float = STALE_TMP_SECONDS) -> list[str]:
    """Delete temporary files that writers killed mid-write left behind; returns their paths.

    Readers and git ignore them, but nothing else would ever remove them. Only
    files named as tether names them and not modified for ``older_than`` seconds
    are removed, so a write in progress keeps its file. Paths are relative to
    the store directory, sorted.
    """
    import time

    cutoff = time.time() - older_than
    removed = []
    for directory, _dirs, names in os.walk(ws.store_dir):
        for name in names:
            if not TMP_NAME.fullmatch(name):
                continue
            path = os.path.join(directory, name)
            try:
                if os.lstat(path).st_mtime >= cutoff:
                    continue
                os.unlink(path)
            except FileNotFoundError:  # its writer finished after all, or another repair got it
                continue
            removed.append(os.path.relpath(path, ws.store_dir).replace(os.sep, "/"))
    return sorted(removed)


def repair_open_markers(ws) -> list[str]:
    """Make ``open/`` list exactly the tasks whose status is open; returns what changed."""
    store = ws.store
    changed: list[str] = []
    open_now = set(store.open_task_ids())
    should_be_open = set()
    for task_id in store.task_ids():
        try:
            task = store.load_task(task_id)
        except Exception as exc:
            if getattr(exc, "problem", None) is None:
                raise
            store.problems.append(exc.problem)
            if task_id in open_now:
                should_be_open.add(task_id)  # unreadable: keep its marker so boot reports it
            continue
        if task.status == "open":
            should_be_open.add(task_id)
    for task_id in sorted(should_be_open - open_now):
        store.tree.create(f"open/{task_id}", "")
        changed.append(f"added open/{task_id}")
    for task_id in sorted(open_now - should_be_open):
        store.tree.remove(f"open/{task_id}")
        changed.append(f"removed open/{task_id}")
    return changed
