"""Checkpoint folders' listings kept between boots: only a folder that changed is listed again.

Boot lists the checkpoint folder of every open task; .tether/local/listings.cache keeps each
folder's names with its stat. The tests count real listings and compare every brief with one
made without the cache.
"""

from __future__ import annotations

import os

import pytest

from tether.store import fsio as racy_rule  # where the racily-clean rule lives

from tether.warm import listings
from tether.store.trees import DirTree


@pytest.fixture
def listed(spy):
    """The checkpoint folders boot really listed."""
    return spy(DirTree, "list", lambda tree, rel="": rel.split("/")[1] if rel.endswith("/checkpoints") else None)


def three_tasks(ws):
    tasks = [ws.start_task(f"Task {n}", items=[f"item {i}" for i in range(1, 11)]) for n in range(3)]
    for task in tasks:
        for i in (1, 2):
            ws.checkpoint(task.id, done=[str(i)], state=f"{task.title}: item {i}")
    return tasks


def cold_boot(ws):
    (ws.dir / "local" / "boot.cache").unlink(missing_ok=True)
    return ws.boot()


def uncached_brief(ws):
    (ws.dir / listings.CACHE).unlink(missing_ok=True)
    brief = cold_boot(ws)
    return brief.text


def test_only_the_folder_a_checkpoint_changed_is_listed_again(ws, listed, monkeypatch):
    monkeypatch.setattr(racy_rule, "RACY_NS", 0)  # trust stats at once (the two-second rule has its own test)
    tasks = three_tasks(ws)
    cold_boot(ws)
    listed.clear()
    brief = cold_boot(ws)
    assert listed == []  # nothing changed: every folder from the cache
    ws.checkpoint(tasks[1].id, done=["3"], state="Task 1: item 3")
    brief = cold_boot(ws)
    assert listed == [tasks[1].id]
    assert "Task 1: item 3" in brief.text
    assert brief.text == uncached_brief(ws)


def test_a_folder_changed_just_before_the_boot_is_not_trusted_next_time(ws, listed):
    three_tasks(ws)  # all written within the last two seconds
    cold_boot(ws)
    listed.clear()
    cold_boot(ws)
    assert len(listed) == 3


def test_a_file_added_with_the_folder_mtime_put_back_is_seen(ws, listed, monkeypatch):
    monkeypatch.setattr(racy_rule, "RACY_NS", 0)
    tasks = three_tasks(ws)
    cold_boot(ws)
    folder = ws.dir / "tasks" / tasks[0].id / "checkpoints"
    before = os.stat(folder)
    newest = sorted(folder.glob("CKP-*.md"))[-1]
    text = newest.read_text().replace("Task 0: item 2", "Task 0: item 9 (copied by hand)")
    (folder / "CKP-0003-handmd.md").write_text(text.replace(newest.stem, "CKP-0003-handmd")
                                               .replace('id: "CKP-0002"', 'id: "CKP-0003"')
                                               .replace("number: 2", "number: 3"))
    os.utime(folder, ns=(before.st_atime_ns, before.st_mtime_ns))  # mtime back; ctime moves on
    listed.clear()
    brief = cold_boot(ws)
    assert tasks[0].id in listed
    assert "item 9 (copied by hand)" in brief.text


def test_a_damaged_cache_is_ignored(ws, monkeypatch):
    monkeypatch.setattr(racy_rule, "RACY_NS", 0)
    three_tasks(ws)
    expected = uncached_brief(ws)
    for damage in (b"", b"\x00\x01garbage", b"\xfb\x02"):
        (ws.dir / listings.CACHE).write_bytes(damage)
        assert cold_boot(ws).text == expected


@pytest.mark.parametrize("record", ["task", "checkpoint"])
def test_a_record_written_just_now_is_not_kept_in_memory_by_its_stat(ws, monkeypatch, record):
    """The store keeps the tasks and checkpoints it read, by their stat, within a process. A
    file written in the last moments is read again each time: a change in the same clock tick
    can leave its stat as it was (the racily-clean rule, for tasks as for checkpoints)."""
    import time

    task = ws.start_task("Parse", items=["a", "b"])
    ws.checkpoint(task.id, done=["1"], state="one")
    store = ws.store
    name = store.checkpoint_names(task.id)[-1]
    rel = f"tasks/{task.id}/task.md" if record == "task" else f"tasks/{task.id}/checkpoints/{name}.md"
    load = (lambda: store.load_task(task.id).title) if record == "task" else \
        (lambda: store.load_checkpoint(task.id, name).current_state)
    old, new = {"task": ("Parse", "Parsx"), "checkpoint": ("one", "onx")}[record]
    path = ws.dir / rel
    now = time.time_ns()
    monkeypatch.setattr(store.tree, "stat_key", lambda rel_: (now, now, 1, 1))  # changes its stat cannot see
    path.write_text(path.read_text().replace(old, new))
    assert load() == new
    path.write_text(path.read_text().replace(new, old))
    assert load() == old  # written just now: read again, never kept
    monkeypatch.setattr(racy_rule, "RACY_NS", -10**20)  # every stat trusted from here: kept
    assert load() == old
    path.write_text(path.read_text().replace(old, new))
    assert load() == old  # the same stat: the kept record (what the rule guards against)
