"""Repairs that bring derived, tracked files back in line with the records."""

from __future__ import annotations


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
