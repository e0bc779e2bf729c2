"""`tether audit`'s view of which of tether's files are uncommitted without `git status` over the
whole store (warm.status, store.written): after one full look it asks git only about what tether
wrote, what git itself changed (HEAD, the index) and the watched places, and says what
`git status -- .tether` says; a fresh clone, a lost or overflowing record, or --full ask git
about everything."""

from __future__ import annotations

import os
import time

import pytest

from tether.store import written
from tether.warm import status


def aged(root) -> None:
    """Every file and folder of the store, and git's index, modified a minute ago: past the
    racily-clean margin, so the look trusts their stats as a look long after the writes would."""
    past = time.time() - 60
    for folder, _dirs, files in os.walk(root / ".tether"):
        for name in files + [""]:
            os.utime(os.path.join(folder, name), (past, past))
    os.utime(root / ".git" / "index", (past, past))


def look(root, full: bool = False) -> tuple[list[str], bool]:
    return status.changed(str(root), str(root / ".tether"), ".tether", full)


def git_status(git) -> list[str]:
    out = git("status", "--porcelain", "-z", "--untracked-files=all", "--no-renames", "--", ".tether")
    return sorted({entry[3:] for entry in out.split("\0") if len(entry) > 3})


def fast(root, git) -> list[str]:
    """The fast look's answer, checked against git status and against a full look."""
    found, was_full = look(root)
    assert not was_full
    assert found == git_status(git)
    return found


@pytest.fixture
def looked(ws, git):
    """A workspace with an open task and a completed one, committed, looked at once in full."""
    ws.start_task("Done already", steps=["a"], task_id="T0")
    ws.checkpoint(done=["1"], state="done")
    ws.set_task_status("T0", "complete")
    ws.start_task("Port the parser", steps=["a", "b", "c"], task_id="T1")
    ws.checkpoint(done=["1"], state="a done")
    ws.decide("Which parser?", "the hand-written one", decision_id="D1")
    git("add", "-A")
    git("commit", "-q", "-m", "tether")
    aged(ws.root)
    assert look(ws.root) == ([], True)  # no last look yet: git status, once
    return ws


def test_a_file_tether_wrote_is_listed_until_committed_without_git_status(looked, git, spy):
    from tether.gitio import status as gitstatus

    full_runs = spy(gitstatus, "entries")
    assert fast(looked.root, git) == []
    looked.checkpoint(done=["2"], state="b done")
    found = fast(looked.root, git)
    assert ".tether/tasks/T1/checkpoints.jsonl" in found and ".tether/memory/events.jsonl" in found
    assert any(p.startswith(".tether/tasks/T1/checkpoints/CKP-0002") for p in found)
    git("add", "-A")
    git("commit", "-q", "-m", "step")  # the user's own commit, outside tether
    assert fast(looked.root, git) == []
    assert full_runs == []


def test_every_store_write_is_noted_first(looked):
    record = looked.root / ".tether" / "local" / "written"
    before = record.read_text()
    looked.checkpoint(done=["2"], state="b done")
    new = record.read_text()[len(before):].splitlines()
    assert "tasks/T1/checkpoints.jsonl" in new and "memory/events.jsonl" in new
    assert any(line.startswith("tasks/T1/checkpoints/CKP-0002") for line in new)
    assert not any(line.startswith(("local/", "locks/")) for line in new)  # never committed: not noted


def test_hand_edits_and_deletions_in_the_watched_places(looked, git):
    root = looked.root
    fast(root, git)
    with open(root / ".tether" / "tasks" / "T1" / "task.md", "a") as fh:
        fh.write("\nA line by hand.\n")
    (root / ".tether" / "CONTEXT.md").write_text("# by hand\n")
    assert fast(root, git) == [".tether/CONTEXT.md", ".tether/tasks/T1/task.md"]
    git("checkout", "--", ".tether")
    assert fast(root, git) == []
    [checkpoint] = (root / ".tether" / "tasks" / "T1" / "checkpoints").iterdir()
    checkpoint.unlink()
    (root / ".tether" / "decisions" / "D1.md").unlink()
    (root / ".tether" / "PRIME.md").write_text("# prime\n")
    (root / ".tether" / "notes").mkdir()
    (root / ".tether" / "notes" / "a.md").write_text("a\n")
    found = fast(root, git)
    assert found == sorted([".tether/PRIME.md", ".tether/decisions/D1.md", ".tether/notes/a.md",
                            f".tether/tasks/T1/checkpoints/{checkpoint.name}"])
    import shutil

    shutil.rmtree(root / ".tether" / "decisions")  # a whole folder gone
    assert ".tether/decisions/D1.md" in fast(root, git)


def test_resets_branches_and_the_index(looked, git):
    root = looked.root
    looked.checkpoint(done=["2"], state="b done")
    git("add", "-A")
    git("commit", "-q", "-m", "step")
    fast(root, git)
    git("reset", "-q", "--soft", "HEAD~1")  # the commit's files staged again
    assert fast(root, git) != []
    git("reset", "-q", "HEAD")  # unstaged, still changed
    assert fast(root, git) != []
    git("reset", "-q", "--hard", "HEAD")
    git("clean", "-fdq", "--", ".tether")
    assert fast(root, git) == []
    git("checkout", "-q", "-b", "other")
    looked.note("note", "on the other branch")
    git("add", "-A")
    git("commit", "-q", "-m", "other")
    git("checkout", "-q", "main")  # a branch switch changes tether's files
    assert fast(root, git) == []
    git("rm", "-q", "--cached", ".tether/tether.toml")  # only the index differs from HEAD
    assert fast(root, git) == [".tether/tether.toml"]
    git("reset", "-q")
    assert fast(root, git) == []


def test_a_fresh_clone_or_a_lost_record_asks_git_about_everything(looked, git, tmp_path):
    import subprocess

    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(looked.root), str(clone)], check=True)
    assert look(clone) == ([], True)
    assert look(clone) == ([], False)
    (looked.root / ".tether" / "local" / "written").unlink()  # writes may have gone unnoted
    (looked.root / ".tether" / "tasks" / "T0" / "task.md").write_text("by hand\n")
    assert look(looked.root) == ([".tether/tasks/T0/task.md"], True)


def test_what_the_fast_look_misses_and_full_finds(looked, git, cli):
    """An edit in place of a file in history (a completed task's), made by hand: not in the
    watched places, so only a full look (`tether audit --full`) sees it."""
    root = looked.root
    fast(root, git)
    (root / ".tether" / "tasks" / "T0" / "task.md").write_text("edited by hand\n")
    assert look(root) == ([], False)
    run = cli("audit", "--full", "--json", "--skip", "index-stale")
    assert [f["path"] for f in run.json()["findings"] if f["rule"] == "uncommitted"] == [".tether/tasks/T0/task.md"]
    assert look(root) == ([".tether/tasks/T0/task.md"], False)  # once seen, looked at until committed


def test_a_new_file_git_ignores_is_not_listed(looked, git):
    root = looked.root
    (root / ".gitignore").write_text("PRIME.md\n")
    git("add", ".gitignore")
    git("commit", "-q", "-m", "ignore")
    looked.store.write_file("PRIME.md", "# prime\n")
    assert fast(root, git) == []


def test_an_overflowing_or_unnoted_record_means_a_full_look(looked, git, monkeypatch):
    root = looked.root
    monkeypatch.setattr(written, "LIMIT", 10)
    looked.note("note", "one")
    looked.note("note", "two")  # past the limit: a new record
    found, was_full = look(root)
    assert was_full and found == git_status(git)
    monkeypatch.setattr(written, "LIMIT", 8 << 20)
    assert look(root)[1] is False
    written.note(str(root / ".tether"), ["odd\nname"])  # cannot be written on one line
    assert look(root)[1] is True


def test_the_record_is_trimmed_once_read_and_keeps_what_came_after(looked, git, monkeypatch):
    root = looked.root
    record = root / ".tether" / "local" / "written"
    monkeypatch.setattr(status, "TRIM", 0)
    looked.checkpoint(done=["2"], state="b done")
    found = fast(root, git)
    assert found and record.read_text().count("\n") == 1  # the header alone
    token, start = written.start(str(root / ".tether"))
    written.note(str(root / ".tether"), ["PRIME.md"])
    new_token, _ = written.trim(str(root / ".tether"), token, start)  # PRIME.md came after what was read
    assert new_token != token and record.read_text().splitlines()[1:] == ["PRIME.md"]


def test_audit_uses_the_fast_look(looked, git, cli, spy):
    from tether.gitio import status as gitstatus

    full_runs = spy(gitstatus, "entries")
    looked.checkpoint(done=["2"], state="b done")
    run = cli("audit", "--json", "--skip", "checkpoint-overdue")
    listed = [f["path"] for f in run.json()["findings"] if f["rule"] == "uncommitted"]
    assert listed == git_status(git) and full_runs == []
    cli("audit", "--full", "--json")
    assert len(full_runs) == 1
