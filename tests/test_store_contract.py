"""One storage contract, run against every backend.

The core (tasks, session, brief) talks only to the Store interface, so every
backend must answer the same way. To add a backend, add one entry to
BACKENDS: writable backends run the whole contract, read-only ones run the
read half on a populated store (written through a writable store first) and
must refuse every write with ReadOnly.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tether.errors import Conflict, InvalidInput, NotFound
from tether.errors import ParseError
from tether.model.records import Checkpoint, Decision, Task
from tether.core.tasks import latest_checkpoint, newest_of
from tether.errors import ReadOnly
from tether.store import CommitTree, DirTree, MemoryTree, Store, formats


# -- records used throughout ------------------------------------------------------

UNITS = ["a.pdf", "b.pdf", "c.pdf", "d.pdf"]


def make_task(task_id: str, status: str = "open") -> Task:
    return Task(id=task_id, title=f"Task {task_id}", created="2026-01-01T00:00:00Z", kind="items",
                units=list(UNITS), definition=f"do {task_id}", criteria=["all done"], status=status)


def add_ckp(store, task_id: str, done: int | None = None, calls: list | None = None) -> Checkpoint:
    """add_checkpoint the way tasks.checkpoint uses it: cumulative done from the previous one."""
    task = make_task(task_id)

    def build(previous, number, name):
        if calls is not None:
            calls.append((previous, number, name))
        so_far = previous.done_set if previous else set()
        done_set = so_far | ({done} if done else set())
        return Checkpoint(id=f"CKP-{number:04d}", name=name, task=task_id, number=number,
                          created=f"2026-01-02T00:00:{number % 60:02d}Z",
                          done=",".join(str(n) for n in sorted(done_set)), current_state=f"state {number}")

    return store.add_checkpoint(task_id, lambda names: newest_of(store, task_id, names), build,
                                lambda c: formats.checkpoint_text(c, task))


def ckp_text(task_id: str, number: int, suffix: str, **fields) -> str:
    name = f"CKP-{number:04d}-{suffix}"
    ckp = Checkpoint(id=f"CKP-{number:04d}", name=name, task=task_id, number=number,
                     created="2026-01-03T00:00:00Z", **fields)
    return formats.checkpoint_text(ckp, make_task(task_id))


def event(second: int, **extra) -> dict:
    return {"at": f"2026-01-04T00:00:{second:02d}Z", "event": "e", "seq": second, **extra}


CORRUPT = "tasks/T2/checkpoints/CKP-0003-zzzzzz.md"


def populate(store) -> dict:
    """The standard state every backend is read back from; returns what was written."""
    facts: dict = {}
    for task_id in ("T1", "T2", "T3", "T-order", "T-merge"):
        store.create_task(make_task(task_id))
    store.save_task(make_task("T3", status="complete"))
    facts["T1"] = [add_ckp(store, "T1", done=n).name for n in (1, 2, 3)]
    facts["T2"] = [add_ckp(store, "T2", done=n).name for n in (1, 2)]
    store.write_file(CORRUPT, "---\nid: \"CKP-0003\"\nname: \"CKP-00")  # torn mid front matter
    for number, suffix in ((10000, "cccccc"), (9, "aaaaaa"), (10, "bbbbbb"), (2, "dddddd")):
        store.write_file(f"tasks/T-order/checkpoints/CKP-{number:04d}-{suffix}.md",
                         ckp_text("T-order", number, suffix))
    # A merge brought two checkpoint 2s, one per branch, both built on checkpoint 1.
    first = add_ckp(store, "T-merge", done=1).name
    for suffix, item in (("aaaaaa", 2), ("bbbbbb", 3)):
        store.write_file(f"tasks/T-merge/checkpoints/CKP-0002-{suffix}.md",
                         ckp_text("T-merge", 2, suffix, done=f"1,{item}", parents=[first]))
    facts["result"] = store.save_result("T1", "out.bin", b"\x00\xffbytes")
    for decision_id, day in (("D-260105-bbbbbb", "05"), ("D-260103-aaaaaa", "03")):
        store.add_decision(Decision(id=decision_id, question=f"q{day}", decision=f"d{day}",
                                    when=f"2026-01-{day}T00:00:00Z", rationale="because", who="ann"))
    store.append_note({"id": "N-2", "kind": "dont", "text": "no force push", "at": "2026-01-06T00:00:00Z"})
    store.append_note({"id": "N-1", "kind": "gotcha", "text": "doc7 is scanned", "at": "2026-01-05T00:00:00Z"})
    store.append_note({"resolve": "N-1", "at": "2026-01-07T00:00:00Z"})
    store.append_note({"resolve": "N-unknown", "at": "2026-01-07T00:00:00Z"})
    for second in range(30):
        store.append_event(event(second))
    facts["progress"] = store.append_progress("2026-01-08", "## first\nsummary one")
    store.append_progress("2026-01-08", "## second\nsummary two")
    store.append_progress("2026-01-07", "## earlier")
    store.write_file("tether.toml", "schema = 1\n")
    store.write_file("CONTEXT.md", "# Session Context\n")
    # Derived and per-machine files: never part of the tracked state.
    store.write_file("index.json", "{}\n")
    store.write_file("local/active", "T1\n")
    store.write_file("locks/old.lock", "")
    store.write_file("cache/blob", "x")  # offloaded content: committed, so part of the state
    return facts


# -- backends: adding one is adding an entry here -------------------------------------

def _git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, text=True).stdout


def _dir_backend(tmp_path: Path, fill):
    store = Store(DirTree(tmp_path / "store"))
    return store, store, fill(store) if fill else None


def _memory_backend(tmp_path: Path, fill):
    store = Store(MemoryTree())
    return store, store, fill(store) if fill else None


def _commit_backend(tmp_path: Path, fill):
    # Written through a DirTree store in a git repo, committed, read from git objects.
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    writer = Store(DirTree(repo / ".tether"))
    facts = fill(writer)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "state")
    sha = _git(repo, "rev-parse", "HEAD").strip()
    return Store(CommitTree(repo, sha, ".tether")), writer, facts


BACKENDS = {  # name -> (writable, build(tmp_path, populate or None) -> (store, writer, facts))
    "dir": (True, _dir_backend),
    "memory": (True, _memory_backend),
    "commit": (False, _commit_backend),
}
WRITABLE = [name for name, (writable, _) in BACKENDS.items() if writable]
READONLY = [name for name, (writable, _) in BACKENDS.items() if not writable]


def _close(store) -> None:
    close = getattr(store.tree, "close", None)
    if close:
        close()


@pytest.fixture(params=WRITABLE)
def store(request, tmp_path):
    """An empty writable store."""
    built, _, _ = BACKENDS[request.param][1](tmp_path, None)
    yield built
    _close(built)


@pytest.fixture(params=list(BACKENDS))
def populated(request, tmp_path):
    """(store, facts): every backend, holding the standard state."""
    built, writer, facts = BACKENDS[request.param][1](tmp_path, populate)
    yield built, facts
    _close(built)


@pytest.fixture(params=READONLY)
def readonly(request, tmp_path):
    """(read-only store, the writable store that wrote its state)."""
    built, writer, _ = BACKENDS[request.param][1](tmp_path, populate)
    yield built, writer
    _close(built)


# -- reads: every backend -----------------------------------------------------------------

def test_tasks_list_and_load(populated):
    store, _ = populated
    assert store.task_ids() == ["T-merge", "T-order", "T1", "T2", "T3"]
    assert store.open_task_ids() == ["T-merge", "T-order", "T1", "T2"]  # T3 was completed: no marker
    assert store.load_task("T1") == make_task("T1")
    assert store.load_task("T3").status == "complete"
    for missing in ("T9", "../T1", ""):
        with pytest.raises(NotFound):
            store.load_task(missing)


def test_checkpoints_read_back(populated):
    store, facts = populated
    assert store.checkpoint_names("T1") == facts["T1"]
    assert [n[:8] for n in facts["T1"]] == ["CKP-0001", "CKP-0002", "CKP-0003"]
    latest = latest_checkpoint(store, "T1")
    assert (latest.name, latest.number, latest.done_set) == (facts["T1"][-1], 3, {1, 2, 3})
    assert store.load_checkpoint("T1", facts["T1"][0]).done == "1"
    assert store.checkpoint_names("T9") == [] and latest_checkpoint(store, "T9") is None
    with pytest.raises(NotFound):
        store.load_checkpoint("T1", "CKP-0042-nonexi")


def test_checkpoint_order_is_numeric(populated):
    store, _ = populated
    assert store.checkpoint_names("T-order") == ["CKP-0002-dddddd", "CKP-0009-aaaaaa", "CKP-0010-bbbbbb",
                                                 "CKP-10000-cccccc"]
    assert latest_checkpoint(store, "T-order").number == 10000


def test_latest_checkpoint_joins_the_branch_tips_of_a_merge(populated):
    store, _ = populated
    latest = latest_checkpoint(store, "T-merge")
    assert latest.number == 2 and latest.done_set == {1, 2, 3}  # neither branch's progress lost
    assert sorted(latest.tips) == ["CKP-0002-aaaaaa", "CKP-0002-bbbbbb"]


def test_latest_checkpoint_falls_back_past_a_corrupt_newest(populated):
    store, facts = populated
    assert store.checkpoint_names("T2")[-1] == "CKP-0003-zzzzzz"  # listed, not hidden
    with pytest.raises(ParseError):
        store.load_checkpoint("T2", "CKP-0003-zzzzzz")
    assert latest_checkpoint(store, "T2").name == facts["T2"][-1]
    assert [p.path for p in store.problems] == [f".tether/{CORRUPT}"]
    assert "truncated" in store.problems[0].message and store.problems[0].line


def test_result_is_readable_where_it_says(populated):
    store, facts = populated
    assert facts["result"] == ".tether/tasks/T1/intermediate/out.bin"
    assert store.read_file("tasks/T1/intermediate/out.bin") == b"\x00\xffbytes"


def test_decisions(populated):
    store, _ = populated
    assert store.decision_ids() == ["D-260103-aaaaaa", "D-260105-bbbbbb"]  # oldest first
    decision = store.load_decision("D-260105-bbbbbb")
    assert (decision.question, decision.decision, decision.who, decision.rationale) == ("q05", "d05", "ann", "because")
    with pytest.raises(NotFound):
        store.load_decision("D-missing")


def test_notes_in_time_order_with_resolutions(populated):
    store, _ = populated
    notes = store.notes()
    assert [(n.id, n.kind, n.text) for n in notes] == [("N-1", "gotcha", "doc7 is scanned"),
                                                       ("N-2", "dont", "no force push")]
    assert notes[0].resolved == "2026-01-07T00:00:00Z" and notes[1].resolved is None
    assert store.problems == []  # a resolution of an unknown id is not an error


def test_recent_events_are_the_last_n_oldest_first(populated):
    store, _ = populated
    assert [e["seq"] for e in store.recent_events(5)] == [25, 26, 27, 28, 29]
    assert [e["seq"] for e in store.recent_events(1)] == [29]
    assert [e["seq"] for e in store.recent_events(1000)] == list(range(30))
    assert store.recent_events(0) == []


def test_progress_logs(populated):
    store, facts = populated
    assert facts["progress"] == ".tether/progress/2026-01-08.md"
    assert store.progress_dates() == ["2026-01-07", "2026-01-08"]
    text = store.read_file("progress/2026-01-08.md").decode()
    assert text.startswith("# Progress log 2026-01-08\n")
    assert text.index("summary one") < text.index("summary two")  # several closes on a day append


def test_state_files_sorted_without_derived_files(populated):
    store, _ = populated
    paths = [rel for rel, _ in store.state_files()]
    assert paths == sorted(paths)
    assert not [p for p in paths if p == "index.json" or p.startswith(("locks/", "local/"))]
    assert "cache/blob" in paths
    for expected in ("tether.toml", "CONTEXT.md", "open/T1", "tasks/T1/task.md", CORRUPT,
                     "tasks/T1/intermediate/out.bin", "decisions/D-260103-aaaaaa.md", "context.jsonl",
                     "memory/events.jsonl", "progress/2026-01-08.md"):
        assert expected in paths
    assert dict(store.state_files())["tether.toml"] == b"schema = 1\n"
    assert store.read_file("missing.md") is None


# -- writes: writable backends ------------------------------------------------------------

def test_create_task_and_duplicate_id(store):
    store.create_task(make_task("T1"))
    assert store.load_task("T1") == make_task("T1")
    assert store.task_ids() == ["T1"] and store.open_task_ids() == ["T1"]
    other = make_task("T1")
    other.title = "someone else's"
    with pytest.raises(Conflict):
        store.create_task(other)
    assert store.load_task("T1").title == "Task T1"  # the first one is untouched


def test_save_task_keeps_open_markers_in_step(store):
    store.create_task(make_task("T1"))
    store.create_task(make_task("T2", status="complete"))  # created closed: no marker
    assert store.open_task_ids() == ["T1"]
    store.save_task(make_task("T1", status="archived"))
    assert store.open_task_ids() == [] and store.load_task("T1").status == "archived"
    store.save_task(make_task("T2", status="open"))
    store.save_task(make_task("T2", status="open"))  # saving an open task again is fine
    assert store.open_task_ids() == ["T2"]
    assert store.task_ids() == ["T1", "T2"]


def test_add_checkpoint_numbers_and_build_arguments(store):
    store.create_task(make_task("T1"))
    calls: list = []
    first = add_ckp(store, "T1", done=1, calls=calls)
    second = add_ckp(store, "T1", done=3, calls=calls)
    (prev1, number1, name1), (prev2, number2, name2) = calls
    assert (prev1, number1) == (None, 1) and name1 == first.name and name1.startswith("CKP-0001-")
    assert prev2 == first and number2 == 2 and name2.startswith("CKP-0002-")
    assert second.done_set == {1, 3}  # built from the previous one
    assert store.checkpoint_names("T1") == [first.name, second.name]
    assert store.load_checkpoint("T1", second.name) == second
    assert latest_checkpoint(store, "T1") == second


def test_numbering_continues_after_the_highest_even_if_corrupt(store):
    store.create_task(make_task("T1"))
    good = add_ckp(store, "T1", done=2)
    store.write_file("tasks/T1/checkpoints/CKP-0002-zzzzzz.md", "not a checkpoint")
    calls: list = []
    nxt = add_ckp(store, "T1", done=4, calls=calls)
    assert calls[0][0] == good  # built on the newest readable one: progress kept
    assert nxt.number == 3 and nxt.done_set == {2, 4}  # never reuses the corrupt file's number
    assert len(store.problems) >= 1 and store.problems[0].path.endswith("CKP-0002-zzzzzz.md")
    store.write_file("tasks/T1/checkpoints/CKP-10000-aaaaaa.md", ckp_text("T1", 10000, "aaaaaa"))
    assert add_ckp(store, "T1").name.startswith("CKP-10001-")


def test_save_result(store):
    store.create_task(make_task("T1"))
    path = store.save_result("T1", "summaries-1-5.md", b"one\ntwo\n")
    assert path == ".tether/tasks/T1/intermediate/summaries-1-5.md"
    assert store.read_file("tasks/T1/intermediate/summaries-1-5.md") == b"one\ntwo\n"
    store.save_result("T1", "summaries-1-5.md", b"replaced")
    assert store.read_file("tasks/T1/intermediate/summaries-1-5.md") == b"replaced"
    for bad in ("../escape", "a/b", ""):
        with pytest.raises(InvalidInput):
            store.save_result("T1", bad, b"x")


def test_decisions_add_and_duplicate(store):
    decision = Decision(id="D-1", question="Which?", decision="This", when="2026-01-01T00:00:00Z")
    store.add_decision(decision)
    assert store.decision_ids() == ["D-1"] and store.load_decision("D-1") == decision
    with pytest.raises(Conflict):
        store.add_decision(Decision(id="D-1", question="Other?", decision="Other", when="2026-01-02T00:00:00Z"))
    assert store.load_decision("D-1") == decision


def test_notes_append_and_resolve(store):
    assert store.notes() == []
    store.append_note({"id": "N-1", "kind": "blocker", "text": "CI down", "at": "2026-01-01T00:00:00Z", "by": "bo"})
    assert [(n.id, n.by, n.resolved) for n in store.notes()] == [("N-1", "bo", None)]
    store.append_note({"resolve": "N-1", "at": "2026-01-02T00:00:00Z"})
    assert store.notes()[0].resolved == "2026-01-02T00:00:00Z"


def test_events_append_and_recent(store):
    assert store.recent_events(5) == []
    for second in (1, 2, 3):
        store.append_event(event(second))
    assert [e["seq"] for e in store.recent_events(2)] == [2, 3]
    assert [e["seq"] for e in store.recent_events(10)] == [1, 2, 3]


def test_recent_events_with_large_events(store):
    # Events larger than the reader's first guess of their size must not hide the newest ones.
    for second in range(6):
        store.append_event(event(second, pad="x" * 5000))
    assert [e["seq"] for e in store.recent_events(1)] == [5]
    assert [e["seq"] for e in store.recent_events(3)] == [3, 4, 5]
    assert store.problems == []


def test_progress_append_and_dates(store):
    assert store.progress_dates() == []
    assert store.append_progress("2026-02-01", "## a\n\n") == ".tether/progress/2026-02-01.md"
    store.append_progress("2026-02-01", "## b")
    store.write_file("progress/LATEST.json", "{}")  # not a dated log
    assert store.progress_dates() == ["2026-02-01"]
    assert store.read_file("progress/2026-02-01.md") == b"# Progress log 2026-02-01\n\n## a\n\n## b\n"


def test_read_and_write_files(store):
    assert store.read_file("CONTEXT.md") is None
    store.write_file("CONTEXT.md", "one")
    store.write_file("CONTEXT.md", b"two")
    assert store.read_file("CONTEXT.md") == b"two"
    assert list(store.state_files()) == [("CONTEXT.md", b"two")]


def test_lock_is_a_context_manager(store):
    with store.lock("close"):
        store.write_file("x", "y")
    with store.lock("close"):  # released on exit
        pass


# -- read-only backends ----------------------------------------------------------------------

def view(store) -> dict:
    """Every read the core makes, as plain data."""
    out: dict = {"task_ids": store.task_ids(), "open": store.open_task_ids(), "tasks": {}, "checkpoints": {}}
    for task_id in store.task_ids():
        out["tasks"][task_id] = store.load_task(task_id).to_dict()
        names = store.checkpoint_names(task_id)
        latest = latest_checkpoint(store, task_id)
        out["checkpoints"][task_id] = (names, latest.to_dict() if latest else None)
    out["decisions"] = [store.load_decision(d).to_dict() for d in store.decision_ids()]
    out["notes"] = [n.to_dict() for n in store.notes()]
    out["events"] = [store.recent_events(n) for n in (1, 7, 100)]
    out["progress"] = [(d, store.read_file(f"progress/{d}.md")) for d in store.progress_dates()]
    out["files"] = [(rel, store.read_file(rel)) for rel in ("tether.toml", "CONTEXT.md", "index.json", "nope")]
    out["state_files"] = list(store.state_files())
    out["problems"] = list(store.problems)
    return out


def test_readonly_gives_the_writers_answers(readonly):
    snapshot, writer = readonly
    assert view(snapshot) == view(writer)


def test_readonly_refuses_every_write(readonly):
    snapshot, _ = readonly
    before = list(snapshot.state_files())
    writes = {
        "write_file": lambda: snapshot.write_file("CONTEXT.md", "x"),
        "create_task": lambda: snapshot.create_task(make_task("T9")),
        "save_task": lambda: snapshot.save_task(make_task("T1", status="complete")),
        "add_checkpoint": lambda: add_ckp(snapshot, "T1"),
        "save_result": lambda: snapshot.save_result("T1", "r", b"x"),
        "add_decision": lambda: snapshot.add_decision(Decision(id="D-9", question="q", decision="d", when="w")),
        "append_note": lambda: snapshot.append_note({"resolve": "N-2", "at": "x"}),
        "append_event": lambda: snapshot.append_event(event(59)),
        "append_progress": lambda: snapshot.append_progress("2026-03-01", "x"),
        "lock": lambda: snapshot.lock("close"),
    }
    for name, write in writes.items():
        with pytest.raises(ReadOnly):
            write()
    assert list(snapshot.state_files()) == before
