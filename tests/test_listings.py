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
