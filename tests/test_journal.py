"""The checkpoint journal: one fsync per checkpoint, and nothing acknowledged lost to a machine crash.

A crash of the machine (not of a process: the OS keeps what a killed process wrote) can
lose checkpoint files that were published but not yet written out, or leave them empty or
zero-filled. Their journal lines, fsynced before the checkpoint was acknowledged, restore
them. The tests simulate what such a crash leaves and a reboot (a lock file holding another
boot's id), then use tether as a new process would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tether import Workspace
from tether.store import journal

ITEMS = [f"doc{n:02d}.pdf" for n in range(1, 31)]


@pytest.fixture
def ws(repo) -> Workspace:
    workspace, _ = Workspace.init(repo)
    return workspace


def checkpoints(ws, task_id):
    folder = ws.dir / "tasks" / task_id / "checkpoints"
    return {p.name: p.read_bytes() for p in sorted(folder.glob("CKP-*.md"))}


def journal_rows(ws, task_id):
    path = ws.dir / "tasks" / task_id / "checkpoints.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_every_checkpoint_is_a_journal_line_with_its_front_matter(ws):
    task = ws.start_task("Summarise", items=ITEMS)
    saved = [ws.checkpoint(task.id, done=[str(n)], state=f"doc {n}") for n in (1, 2, 3)]
    rows = journal_rows(ws, task.id)
    assert rows == [c.to_dict() for c in saved]


def reboot(ws, task_id):
    """What the lock file says after the machine restarted: another boot's id."""
    (ws.dir / "locks" / f"task-{task_id}.lock").write_text("00000000-old-boot/CKP-0000-x")


def test_a_machine_crash_loses_no_acknowledged_checkpoint(ws):
    task = ws.start_task("Summarise", items=ITEMS)
    for n in range(1, 6):
        ws.checkpoint(task.id, done=[f"1-{n * 2}"], state=f"docs 1-{n * 2}", next_actions=[f"doc {n * 2 + 1}"])
    before = checkpoints(ws, task.id)
    folder = ws.dir / "tasks" / task.id / "checkpoints"
    names = sorted(before)
    (folder / names[-1]).unlink()                                  # never written out
    (folder / names[-2]).write_bytes(b"")                           # name on disk, data not
    (folder / names[-3]).write_bytes(b"\0" * len(before[names[-3]]))  # zero-filled
    reboot(ws, task.id)

    proc = subprocess.run([sys.executable, "-m", "tether", "resume", "--json"], cwd=ws.root, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    resume = json.loads(proc.stdout)["resume"]
    assert resume["done_ranges"] == "1-10" and resume["checkpoint"] == "CKP-0005"
    assert checkpoints(ws, task.id) == before                       # byte for byte
    token = (ws.dir / "locks" / f"task-{task.id}.lock").read_text()
    assert token.startswith(journal.boot_id() + "/")                # checked once for this boot


def test_the_next_checkpoint_after_a_crash_builds_on_the_restored_one(ws):
    task = ws.start_task("Summarise", items=ITEMS)
    ws.checkpoint(task.id, done=["1-4"], state="docs 1-4")
    ws.checkpoint(task.id, done=["5-8"], state="docs 5-8")
    folder = ws.dir / "tasks" / task.id / "checkpoints"
    newest = sorted(folder.glob("CKP-0002-*.md"))[0]
    newest.unlink()
    reboot(ws, task.id)
    fresh = Workspace.open(ws.root)                                 # a new process after the reboot
    ckp = fresh.checkpoint(task.id, done=["9"], state="doc 9")
    assert ckp.number == 3 and ckp.done == "1-9"
    assert newest.exists()


def test_a_file_a_person_edited_is_kept(ws):
    task = ws.start_task("Summarise", items=ITEMS)
    ckp = ws.checkpoint(task.id, done=["1"], state="doc 1")
    path = ws.dir / "tasks" / task.id / "checkpoints" / f"{ckp.name}.md"
    edited = path.read_text().replace("doc 1", "doc 1, checked by hand")
    path.write_text(edited)
    reboot(ws, task.id)
    assert Workspace.open(ws.root).resume(task.id).checkpoint.current_state == "doc 1, checked by hand"
    assert path.read_text() == edited


@pytest.mark.parametrize("left", ["missing", "empty", "zeros"])
def test_a_restart_seen_from_the_clocks_restores_files(ws, monkeypatch, left):
    from tether.store import fsio

    monkeypatch.setattr(fsio, "_boot", "started-100")  # an OS without a boot id: derived from the clocks
    task = ws.start_task("Summarise", items=ITEMS)
    ws.checkpoint(task.id, done=["1-3"], state="docs 1-3")
    last = ws.checkpoint(task.id, done=["4-6"], state="docs 4-6")
    path = ws.dir / "tasks" / task.id / "checkpoints" / f"{last.name}.md"
    kept = path.read_bytes()
    {"missing": path.unlink, "empty": lambda: path.write_bytes(b""),
     "zeros": lambda: path.write_bytes(b"\0" * len(kept))}[left]()
    monkeypatch.setattr(fsio, "_boot", "started-101")  # the machine restarted
    assert Workspace.open(ws.root).resume(task.id).checkpoint.name == last.name
    assert path.read_bytes() == kept


def test_two_writers_in_one_process_never_lose_each_others_progress(ws, monkeypatch):
    from tether.store.trees import DirTree

    task = ws.start_task("Summarise", items=ITEMS)
    a, b = Workspace.open(ws.root), Workspace.open(ws.root)  # each keeps its own in-process state
    # Writes within one tick of the filesystem clock can leave the folder's stat as it was:
    # then only the token in the lock file tells a writer that another one wrote.
    real = DirTree.stat_key
    monkeypatch.setattr(DirTree, "stat_key", lambda tree, rel: (1, 1, 1) if rel.endswith("/checkpoints")
                        else real(tree, rel))
    made = []
    for n in range(1, 11):
        made.append((a if n % 2 else b).checkpoint(task.id, done=[str(n)], state=f"doc {n}"))
    assert [c.number for c in made] == list(range(1, 11))
    assert made[-1].done == "1-10"
    assert a.checkpoint(task.id, done=["11"]).done == "1-11"


def test_a_checkpoint_that_arrives_by_git_is_seen_by_a_running_writer(ws):
    task = ws.start_task("Summarise", items=ITEMS)
    first = ws.checkpoint(task.id, done=["1-2"], state="docs 1-2")
    # Another branch's checkpoint 2 lands in the folder (a pull): no lock taken, no token left.
    other = Workspace.open(ws.root)
    theirs = other.checkpoint(task.id, done=["20-22"], state="their docs")
    lock = ws.dir / "locks" / f"task-{task.id}.lock"
    lock.write_text(f"{journal.boot_id()}/{first.name}")  # as if only `ws` had ever written
    mine = ws.checkpoint(task.id, done=["3"], state="doc 3")
    assert mine.number == theirs.number + 1
    assert mine.done == "1-3,20-22"


def test_a_running_writer_sees_a_hand_edit_of_the_newest_checkpoint(ws):
    task = ws.start_task("Summarise", items=ITEMS)
    ckp = ws.checkpoint(task.id, done=["1-5"], state="docs 1-5")
    path = ws.dir / "tasks" / task.id / "checkpoints" / f"{ckp.name}.md"
    text = path.read_text()
    with open(path, "r+") as fh:  # saved in place, as some editors do: the folder is untouched
        fh.write(text.replace('done: "1-5"', 'done: "1-3"'))  # docs 4-5 were not done after all
        fh.truncate()
    assert ws.checkpoint(task.id, done=["6"], state="doc 6").done == "1-3,6"


def test_a_file_cut_short_by_a_crash_is_restored(ws):
    task = ws.start_task("Summarise", items=ITEMS)
    ckp = ws.checkpoint(task.id, done=["1-7"], state="docs 1-7", key_data={"output": "out/summaries.md"})
    path = ws.dir / "tasks" / task.id / "checkpoints" / f"{ckp.name}.md"
    whole = path.read_bytes()
    path.write_bytes(whole[:40])  # the front matter cut in the middle
    reboot(ws, task.id)
    assert Workspace.open(ws.root).resume(task.id).checkpoint.done == "1-7"
    assert path.read_bytes() == whole


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="names an open file through /proc")
def test_the_journal_line_is_flushed_before_the_checkpoint_returns(ws, monkeypatch):
    """The acknowledgment is the flush of the task's journal, after its line is written."""
    from tether.store import appendlog

    task = ws.start_task("Summarise", items=ITEMS)
    flushed = []
    real = appendlog._datasync

    def spy(fd):
        path = os.readlink(f"/proc/self/fd/{fd}")
        with open(path, "rb") as fh:
            flushed.append((os.path.basename(path), fh.read()))
        real(fd)

    monkeypatch.setattr(appendlog, "_datasync", spy)
    ckp = ws.checkpoint(task.id, done=["1"], state="doc 1")
    journals = [(name, data) for name, data in flushed if name == "checkpoints.jsonl"]
    assert len(journals) == 1
    assert ckp.name.encode() in journals[0][1].splitlines()[-1]
