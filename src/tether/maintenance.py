"""Repairs that bring derived, tracked files back in line with the records."""

from __future__ import annotations

from .recordtype import Record


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


class Repair(Record):
    FIELDS = {"repaired": list, "files": 0, "marked_resolved": list}


def repair(ws) -> Repair:
    """`tether index --repair`: generated files a merge left conflicted, open markers, the manifest.

    LATEST.json and the context document are merged as the merge driver
    would have; index.json is rewritten from the files. Those that git still
    lists as unmerged and are now clean are marked resolved (`git add`), so
    `git commit` can conclude the merge.
    """
    from . import manifest, mergedriver

    done, resolved = mergedriver.repair(ws)
    done += repair_open_markers(ws)
    files = manifest.write(ws.store)
    marked = mergedriver.mark_resolved(ws.root_dir, resolved + [f"{ws.store.label}/{manifest.MANIFEST}"])
    return Repair(repaired=done, files=len(files), marked_resolved=marked)
