"""A torn last line: what a writer killed mid-append leaves, repaired once, never reported forever.

Linux copies a write() into the page cache a page at a time and stops between pages for a
fatal signal, so SIGKILL can cut a line that crosses a 4 KiB boundary. The tests write what
such a kill leaves (a line cut short, no newline) and check that the next writer of that log,
or `tether index --repair`, repairs it: a checkpoint journal's line is completed from its
checkpoint file, any other torn line is set aside under .tether/local/torn/ with its bytes,
and the repair is reported once. And that a journal line that fits in a block is written so
that it never crosses one, so no kill can tear it.
"""

from __future__ import annotations

import json
import random

import pytest

from tether import Workspace
from tether.store import appendlog, fsio
from tether.store.codec import iter_jsonl

ITEMS = [f"doc{n:02d}.pdf" for n in range(1, 41)]


BLOCK = 4096


@pytest.fixture(autouse=True)
def _fresh_reports():
    reports = getattr(fsio, "mended", [])  # what this process repaired: each test starts with none
    del reports[:]
    yield
    del reports[:]


def journal_path(ws, task_id):
    return ws.dir / "tasks" / task_id / "checkpoints.jsonl"


def rows(path) -> tuple[list[dict], list]:
    problems: list = []
    return list(iter_jsonl(path.read_bytes(), str(path), problems)), problems


def cut_last_line(path, keep: int) -> bytes:
    """Cut the last line after ``keep`` bytes, as a kill mid-write does; returns the bytes left of it."""
    data = path.read_bytes()
    start = data.rstrip(b"\n").rfind(b"\n") + 1
    path.write_bytes(data[:start + keep])
    return data[start:start + keep]


def torn_files(ws):
    return sorted((ws.dir / "local" / "torn").rglob("*.torn"))


def test_a_torn_journal_line_is_completed_from_its_checkpoint_file_by_the_next_checkpoint(ws, cli):
    task = ws.start_task("Summarise", items=ITEMS, task_id="T1")
    first = ws.checkpoint(task.id, done=["1-3"], state="docs 1-3")
    second = ws.checkpoint(task.id, done=["4-6"], state="docs 4-6", key_data={"out": "x" * 300})
    journal = journal_path(ws, task.id)
    cut_last_line(journal, 120)
    verify = cli("verify", "--json")
    assert verify.code == 3 and verify.json()["torn"] == [".tether/tasks/T1/checkpoints.jsonl:2"]
    assert "`tether index --repair`" in cli("verify").out

    third = Workspace.open(ws.root).checkpoint(task.id, done=["7"], state="doc 7")  # a new process's writer
    found, problems = rows(journal)
    assert problems == []
    assert found == [first.to_dict(), second.to_dict(), third.to_dict()]
    assert third.done == "1-7"
    assert [(r["line"], r["action"], r["kept"]) for r in appendlog.mended] == [(2, "restored", None)]
    assert torn_files(ws) == []                      # nothing to set aside: its bytes are in the whole line
    assert cli("verify").code == 0


def test_index_repair_completes_a_torn_journal_line_and_says_so_once(ws, cli):
    task = ws.start_task("Summarise", items=ITEMS, task_id="T1")
    ws.checkpoint(task.id, done=["1"], state="doc 1")
    ckp = ws.checkpoint(task.id, done=["2"], state="doc 2")
    cut_last_line(journal_path(ws, task.id), 40)

    run = cli("index", "--repair")
    assert run.code == 0, run.err
    assert (".tether/tasks/T1/checkpoints.jsonl:2: a torn last line (40 bytes, a writer stopped mid-append)"
            " completed from its checkpoint file") in run.out
    assert "Repaired:" not in run.err                  # said once, in the repair's own list
    assert rows(journal_path(ws, task.id))[0][-1] == ckp.to_dict()
    assert cli("verify").code == 0
    again = cli("index", "--repair")
    assert "torn" not in again.out


def test_a_torn_line_no_checkpoint_matches_is_set_aside_with_its_bytes(ws, cli):
    task = ws.start_task("Summarise", items=ITEMS, task_id="T1")
    ckp = ws.checkpoint(task.id, done=["1"], state="doc 1")
    journal = journal_path(ws, task.id)
    garbage = b'{"created":"2026-01-01T00:00:00Z","current_state":"from nowh'
    with open(journal, "ab") as fh:
        fh.write(garbage)

    run = cli("checkpoint", "--done", "2", "--state", "doc 2")
    assert run.code == 0, run.err
    kept = torn_files(ws)
    assert [p.read_bytes() for p in kept] == [garbage]
    assert kept[0].parent == ws.dir / "local" / "torn" / "tasks" / "T1"
    assert run.err.splitlines() == [
        f"Repaired: .tether/tasks/T1/checkpoints.jsonl:2: a torn last line ({len(garbage)} bytes, a writer stopped"
        f" mid-append) set aside in {kept[0].relative_to(ws.root).as_posix()}"]
    found, problems = rows(journal)
    assert problems == [] and [r["number"] for r in found] == [1, 2] and found[0] == ckp.to_dict()
    assert cli("checkpoint", "--done", "3").err == ""     # reported once, by the writer that repaired it
    assert cli("verify").code == 0
    assert ".tether/local/" not in cli("index", "--json").out  # kept out of the manifest, as out of git


@pytest.mark.parametrize("log, command", [
    ("context.jsonl", ("note", "gotcha", "the cache is per machine")),
    ("memory/events.jsonl", ("decide", "Which model?", "--decision", "Phi-3")),
])
def test_a_torn_log_line_is_set_aside_by_the_next_write_to_that_log(ws, cli, log, command):
    cli("note", "dont", "do not push to main")
    cli("task", "start", "Alpha", "--id", "A1")
    path = ws.dir / log
    before, _ = rows(path)
    torn = b'{"at":"2026-11-21T10:03:00Z","id":"N-x","kind":"gotcha","te'
    with open(path, "ab") as fh:
        fh.write(torn)
    assert cli("verify").code == 3
    run = cli(*command)
    assert run.code == 0, run.err
    assert run.err.startswith(f"Repaired: .tether/{log}:{len(before) + 1}: a torn last line ({len(torn)} bytes")
    after, problems = rows(path)
    assert problems == [] and after[:len(before)] == before and len(after) == len(before) + 1
    assert [p.read_bytes() for p in torn_files(ws)] == [torn]
    assert cli("verify").code == 0 and cli("boot").code == 0


def test_verify_names_a_torn_line_until_index_repair_sets_it_aside(ws, cli):
    cli("note", "gotcha", "one")
    with open(ws.dir / "memory" / "events.jsonl", "ab") as fh:
        fh.write(b'{"at":"2026-11-21T10:02:00Z","event":"chec')
    for _ in range(2):  # reading never repairs: reported at every run until something writes
        run = cli("verify")
        assert run.code == 3
        assert "Hint: .tether/memory/events.jsonl:" in run.out and "`tether index --repair` sets it aside" in run.out
    repair = cli("index", "--repair")
    assert repair.code == 0
    assert sum("a torn last line" in line for line in repair.out.splitlines()) == 1
    verified = cli("verify", "--json").json()
    assert verified["problems"] == [] and verified["torn"] == []
    assert "torn" not in cli("index", "--repair").out


def test_a_whole_last_line_without_its_newline_is_kept(ws, cli):
    cli("note", "gotcha", "one")
    path = ws.dir / "context.jsonl"
    entry = {"at": "2026-11-21T10:00:00Z", "by": None, "id": "N-hand", "kind": "note", "text": "added by hand"}
    with open(path, "a") as fh:
        fh.write(json.dumps(entry))                         # saved by an editor without the last newline
    # Not torn: read as an entry, so the context document (not regenerated by the editor) lacks it.
    problems = cli("verify", "--json").json()["problems"]
    assert [(p["path"], p["line"]) for p in problems] == [(".tether/CONTEXT.md", 49)]
    assert "Notes disagrees with the records" in problems[0]["message"]
    assert cli("note", "gotcha", "two").err == ""
    assert cli("verify").code == 0
    texts = [n.text for n in Workspace.open(ws.root).notes()]
    assert sorted(texts) == ["added by hand", "one", "two"] and torn_files(ws) == []


def test_journal_lines_never_straddle_a_block(ws, fast_writes):
    """A line that fits in a 4 KiB block is written inside one, so no kill can cut it."""
    task = ws.start_task("Summarise", items=ITEMS, task_id="T1")
    rng = random.Random(7)
    saved = [ws.checkpoint(task.id, done=[str(n % 40 + 1)], state="s" * rng.randrange(0, 3500))
             for n in range(60)]
    saved.append(ws.checkpoint(task.id, state="big " * 2000))  # longer than a block: cannot be kept in one
    data = journal_path(ws, task.id).read_bytes()
    offset, lines = 0, []
    for raw in data.split(b"\n")[:-1]:
        end = offset + len(raw) + 1
        if raw.strip():
            lines.append(raw)
            if end - offset <= BLOCK:
                assert offset // BLOCK == (end - 1) // BLOCK, (offset, end)
        else:
            assert set(raw) <= {ord(" ")}  # padding: a line of spaces
        offset = end
    assert [json.loads(raw) for raw in lines] == [c.to_dict() for c in saved]
    assert rows(journal_path(ws, task.id))[1] == []


def test_the_repair_is_in_the_json_output_of_the_command_that_made_it(ws, cli):
    cli("note", "gotcha", "one")
    with open(ws.dir / "context.jsonl", "ab") as fh:
        fh.write(b'{"at":"2026-11-21T10:03:00Z","id":"N-x","ki')
    run = cli("note", "gotcha", "two", "--json")
    assert run.code == 0 and run.err == ""
    (line,) = run.json()["repaired_logs"]
    assert line.startswith(".tether/context.jsonl:2: a torn last line (43 bytes, a writer stopped mid-append) set aside in "
                           ".tether/local/torn/context.jsonl.")
    assert "repaired_logs" not in cli("note", "gotcha", "three", "--json").json()
