"""`tether close` (seed 002, section 5): progress log, LATEST.json, tasks, memory, context document, index."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

NOW = "2026-11-21T10:00:00Z"


@pytest.fixture
def pinned(monkeypatch):
    monkeypatch.setenv("TETHER_NOW", NOW)
    monkeypatch.setenv("TETHER_SESSION_ID", "S-test-1")


def tether_dir(repo: Path) -> Path:
    return repo / ".tether"


def snapshot_files(root: Path) -> dict[str, bytes]:
    """Every tracked state file (local/ and locks/ are per-machine)."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not p.relative_to(root).as_posix().startswith(("local/", "locks/"))}


def test_close_writes_the_dated_log_and_latest(ws, cli, repo, git, pinned):
    cli("task", "start", "Alpha", "--id", "A1")
    run = cli("close", "--summary", "Did the first half", "--next", "Write tests", "--next", "Ship, then announce")
    assert run.code == 0, run.err
    log = (tether_dir(repo) / "progress" / "2026-11-21.md").read_text(encoding="utf-8")
    assert log.startswith("# Progress log 2026-11-21\n")
    assert "**Summary:** Did the first half" in log
    assert "- Write tests\n- Ship, then announce\n" in log  # a step's commas are its own
    assert "session S-test-1" in log
    latest = json.loads((tether_dir(repo) / "progress" / "LATEST.json").read_text())
    head = git("rev-parse", "HEAD").strip()
    assert {k: latest[k] for k in ("date", "file", "sha", "summary", "next_steps", "generated_at")} == {
        "date": "2026-11-21", "file": ".tether/progress/2026-11-21.md", "sha": head,
        "summary": "Did the first half", "next_steps": ["Write tests", "Ship, then announce"],
        "generated_at": NOW}
    assert latest["session"] == "S-test-1"


def test_a_second_close_the_same_day_appends(ws, cli, repo, monkeypatch, pinned):
    assert cli("close", "--summary", "Morning session").code == 0
    first = (tether_dir(repo) / "progress" / "2026-11-21.md").read_text()
    monkeypatch.setenv("TETHER_NOW", "2026-11-21T15:30:00Z")
    monkeypatch.setenv("TETHER_SESSION_ID", "S-test-2")
    assert cli("close", "--summary", "Afternoon session").code == 0
    log = (tether_dir(repo) / "progress" / "2026-11-21.md").read_text()
    assert log.startswith(first)                      # appended, nothing rewritten
    assert log.count("# Progress log") == 1
    assert log.index("**Summary:** Morning session") < log.index("**Summary:** Afternoon session")
    assert "## 15:30 UTC, session S-test-2" in log
    latest = json.loads((tether_dir(repo) / "progress" / "LATEST.json").read_text())
    assert latest["summary"] == "Afternoon session" and latest["generated_at"] == "2026-11-21T15:30:00Z"
    assert sorted(p.name for p in (tether_dir(repo) / "progress").iterdir()) == ["2026-11-21.md", "LATEST.json"]


def test_a_close_on_another_day_starts_a_new_log(ws, cli, repo, monkeypatch, pinned):
    cli("close", "--summary", "day one")
    monkeypatch.setenv("TETHER_NOW", "2026-11-22T09:00:00Z")
    cli("close", "--summary", "day two")
    assert "day two" not in (tether_dir(repo) / "progress" / "2026-11-21.md").read_text()
    assert "day two" in (tether_dir(repo) / "progress" / "2026-11-22.md").read_text()
    assert cli("log").out.count("**Summary:**") == 1 and "day two" in cli("log").out
    assert "day one" in cli("log", "--date", "2026-11-21").out


def test_completed_tasks_are_marked_complete(ws, cli, repo, pinned):
    for task_id in ("A1", "B1", "C1"):
        cli("task", "start", f"Task {task_id}", "--id", task_id)
    run = cli("close", "--summary", "done two", "--completed", "A1,B1", "--json")
    assert run.code == 0 and run.json()["completed"] == ["A1", "B1"]
    assert sorted(p.name for p in (tether_dir(repo) / "open").iterdir()) == ["C1"]
    assert [t.id for t in ws.tasks()] == ["C1"]
    assert {t.id: t.status for t in ws.tasks(include_closed=True)} == {"A1": "complete", "B1": "complete", "C1": "open"}
    log = (tether_dir(repo) / "progress" / "2026-11-21.md").read_text()
    assert "**Completed:** A1 (Task A1), B1 (Task B1)" in log
    assert json.loads((tether_dir(repo) / "progress" / "LATEST.json").read_text())["completed"] == ["A1", "B1"]


def test_unknown_completed_task_writes_nothing(ws, cli, repo, pinned):
    cli("task", "start", "Alpha", "--id", "A1")
    cli("close", "--summary", "earlier")
    before = snapshot_files(tether_dir(repo))
    run = cli("close", "--summary", "later", "--completed", "A1,NOPE")
    assert run.code == 1
    assert "NOPE" in run.err and "Hint:" in run.err
    assert snapshot_files(tether_dir(repo)) == before            # no log, LATEST, event, task change
    assert ws.task("A1").status == "open"


def test_unknown_completed_task_on_a_fresh_workspace_creates_no_progress(ws, cli, repo):
    run = cli("close", "--summary", "x", "--completed", "NOPE", "--json")
    assert run.code == 1 and run.json()["kind"] == "not_found"
    assert list((tether_dir(repo) / "progress").iterdir()) == []


def test_close_needs_a_summary(ws, cli, repo):
    assert cli("close").code == 2
    assert cli("close", "--summary", "  ").code == 1
    assert list((tether_dir(repo) / "progress").iterdir()) == []


def test_close_appends_a_session_close_event(ws, cli, repo, git, pinned):
    cli("task", "start", "Alpha", "--id", "A1")
    cli("close", "--summary", "wrapped up", "--completed", "A1", "--next", "review")
    events = [json.loads(line) for line in (tether_dir(repo) / "memory" / "events.jsonl").read_text().splitlines()]
    closes = [e for e in events if e["event"] == "session_close"]
    assert len(closes) == 1
    assert closes[0] == {"at": NOW, "event": "session_close", "session": "S-test-1", "summary": "wrapped up",
                         "completed": ["A1"], "next_steps": ["review"], "sha": git("rev-parse", "HEAD").strip()}


def test_close_regenerates_the_context_document(ws, cli, repo, pinned):
    cli("task", "start", "Alpha", "--id", "A1", "-i", "a", "-i", "b")
    cli("checkpoint", "--done", "1")
    cli("decide", "Which model?", "--decision", "Phi-3")
    cli("note", "gotcha", "the cache is per machine")
    cli("note", "dont", "do not push to main")
    cli("close", "--summary", "first pass done", "--next", "do item b")
    doc = (tether_dir(repo) / "CONTEXT.md").read_text(encoding="utf-8")
    assert "first pass done" in doc
    assert "ACTIVE: Alpha (A1, 2 items): `tether resume A1`" in doc
    assert "1. do item b" in doc
    assert "**Which model?** Phi-3" in doc
    assert "the cache is per machine" in doc and "do not push to main" in doc


def test_hand_written_context_survives_a_later_close_byte_for_byte(ws, cli, repo, monkeypatch, pinned):
    cli("close", "--summary", "first")
    path = tether_dir(repo) / "CONTEXT.md"
    generated = path.read_text(encoding="utf-8")
    mine_top = "My own preface.\n\n  - keep   this   spacing\t(tab)\n\n"
    mine_middle = "\n> Hand-written between blocks: ünïcode ✓\n"
    mine_end = "\n## My notes\n\nNever regenerated.\n"
    marker = "<!-- tether:end open_tasks -->\n"
    assert marker in generated
    edited = mine_top + generated.replace(marker, marker + mine_middle, 1) + mine_end
    path.write_text(edited, encoding="utf-8")

    cli("task", "start", "Beta", "--id", "B1")
    monkeypatch.setenv("TETHER_NOW", "2026-11-21T12:00:00Z")
    assert cli("close", "--summary", "second").code == 0
    after = path.read_text(encoding="utf-8")
    assert after.startswith(mine_top)
    assert marker + mine_middle in after
    assert after.endswith(mine_end)
    assert "second" in after and "Beta (B1)" in after           # tether's blocks did change
    outside = lambda text: "".join(  # noqa: E731 - the text outside tether's blocks
        part.split("<!-- tether:end", 1)[-1].split("-->", 1)[-1] for part in text.split("<!-- tether:begin"))
    assert outside(after) == outside(edited)


def test_index_check_passes_right_after_close(ws, cli, repo, pinned):
    cli("task", "start", "Alpha", "--id", "A1", "-s", "one")
    cli("checkpoint", "--done", "1")
    cli("decide", "Q?", "--decision", "A")
    assert cli("index", "--check").code == 3
    cli("close", "--summary", "s", "--completed", "A1")
    run = cli("index", "--check")
    assert run.code == 0, run.out
    manifest = json.loads((tether_dir(repo) / "index.json").read_text())
    assert "progress/LATEST.json" in manifest["files"] and "CONTEXT.md" in manifest["files"]


def test_close_commit_commits_only_tether(ws, cli, repo, git, monkeypatch):
    monkeypatch.setenv("TETHER_SESSION_ID", "S-commit-42")
    (repo / "staged.txt").write_text("staged by the user\n")
    git("add", "staged.txt")
    (repo / "README.md").write_text("# Project\nedited, not staged\n")
    cli("task", "start", "Alpha", "--id", "A1")
    before = git("rev-parse", "HEAD").strip()
    run = cli("close", "--summary", "committed session", "--commit", "--json")
    assert run.code == 0, run.out
    new = run.json()["commit"]
    assert new and git("rev-parse", "HEAD").strip() == new
    assert git("rev-parse", "HEAD~1").strip() == before
    changed = git("diff-tree", "--no-commit-id", "--name-only", "-r", "HEAD").split()
    assert changed and all(p.startswith(".tether/") for p in changed)
    assert ".tether/tasks/A1/task.md" in changed and ".tether/progress/LATEST.json" in changed
    assert not any(p.startswith((".tether/local/", ".tether/locks/")) for p in changed)
    message = git("log", "-1", "--format=%B")
    assert message.startswith("tether: close session")
    assert git("log", "-1", "--format=%(trailers:key=Tether-Session,valueonly)").strip() == "S-commit-42"
    # The user's own work is exactly as it was: staged stays staged, modified stays modified.
    status = sorted(git("status", "--porcelain", "--untracked-files=all").splitlines())
    assert status == [" M README.md", "A  staged.txt"]
    assert git("diff", "--cached", "--name-only").split() == ["staged.txt"]
    assert (repo / "README.md").read_text() == "# Project\nedited, not staged\n"
    assert git("status", "--porcelain", ".tether").strip() == ""
    assert "committed session" in git("show", "HEAD:.tether/progress/LATEST.json")
    assert run.json()["uncommitted"] == ["README.md", "staged.txt"]  # said: the work's own, the user's to commit
    again = cli("close", "--summary", "again", "--commit")
    assert "Not committed (the work's own changes, yours to commit): README.md, staged.txt" in again.out


def test_close_commit_reports_nothing_to_commit_when_unchanged(ws, cli, repo, git, pinned):
    assert cli("close", "--summary", "one", "--commit").code == 0
    head = git("rev-parse", "HEAD").strip()
    # Same clock and session: the second close still appends to the log, so it commits again.
    run = cli("close", "--summary", "two", "--commit")
    assert run.code == 0 and "Committed" in run.out
    assert git("rev-parse", "HEAD~1").strip() == head


def test_close_through_the_api(ws, pinned):
    task = ws.start_task("Alpha", items=["a", "b"])
    ws.checkpoint(done=["1-2"], state="both done")
    result = ws.close("all done", completed=[task.id], next_steps=["celebrate"])
    assert result.completed == [task.id]
    assert result.latest["next_steps"] == ["celebrate"] and result.file == ".tether/progress/2026-11-21.md"
    assert ws.task(task.id).status == "complete"
    assert ws.tasks() == []


def test_completing_a_task_with_items_left_says_so(ws, cli, pinned):
    """Marking a task complete is the user's call, but items never checkpointed as done are named."""
    cli("task", "start", "Docs", "--id", "D1", "-i", "a.pdf", "-i", "b.pdf", "-i", "c.pdf")
    assert cli("checkpoint", "--done", "1", "--state", "a done").code == 0
    run = cli("close", "--summary", "Stopped early", "--completed", "D1")
    assert run.code == 0, run.err
    assert "D1 was marked complete with 1 of 3 items done" in run.out and "tether task reopen D1" in run.out
    assert ws.task("D1").status == "complete"


def test_completing_a_finished_task_adds_no_note(ws, cli, pinned):
    cli("task", "start", "Docs", "--id", "D1", "-i", "a.pdf", "-i", "b.pdf")
    assert cli("checkpoint", "--done", "1-2").code == 0
    run = cli("close", "--summary", "All done", "--completed", "D1")
    assert run.code == 0 and "marked complete with" not in run.out


def test_task_complete_with_items_left_says_so(ws, cli, pinned):
    cli("task", "start", "Docs", "--id", "D1", "-i", "a.pdf", "-i", "b.pdf")
    run = cli("task", "complete", "D1")
    assert run.code == 0 and "D1 was marked complete with 0 of 2 items done" in run.out


def test_close_without_commit_says_how_to_share_it(ws, cli, pinned):
    run = cli("close", "--summary", "Did things")
    assert run.code == 0 and "--commit" in run.out
    committed = cli("close", "--summary", "Did more", "--commit")
    assert committed.code == 0 and "Not committed" not in committed.out


def _conflicting_closes(cli, git, monkeypatch) -> str:
    """Two branches that each closed and committed, merged in a clone without tether's merge driver:
    git stops with tether's generated files conflicted. Returns HEAD's sha before the merge."""
    git("add", "-A")
    git("commit", "-q", "-m", "tether")
    git("checkout", "-q", "-b", "side")
    monkeypatch.setenv("TETHER_SESSION_ID", "S-side")
    cli("decide", "Side question?", "--decision", "side answer")
    assert cli("close", "--summary", "side work", "--commit").code == 0
    git("checkout", "-q", "main")
    monkeypatch.setenv("TETHER_SESSION_ID", "S-main")
    assert cli("close", "--summary", "main work", "--commit").code == 0
    git("config", "--remove-section", "merge.tether")
    head = git("rev-parse", "HEAD").strip()
    proc = subprocess.run(["git", "merge", "-q", "side"], cwd=git("rev-parse", "--show-toplevel").strip(),
                          capture_output=True, text=True)
    assert proc.returncode != 0 and "CONFLICT" in proc.stdout + proc.stderr
    return head


def test_close_commit_refuses_in_the_middle_of_a_merge_and_writes_nothing(ws, cli, repo, git, monkeypatch):
    # Committed there, the close would put the other branch's records on this one outside the merge:
    # `git merge --abort` would then keep them, with none of that branch's code.
    head = _conflicting_closes(cli, git, monkeypatch)
    status = git("status", "--porcelain")
    before = snapshot_files(tether_dir(repo))
    monkeypatch.setenv("TETHER_SESSION_ID", "S-merging")
    run = cli("close", "--summary", "closed mid-merge", "--commit", "--json")
    assert run.code == 4, run.out
    answer = run.json()
    assert answer["ok"] is False and answer["kind"] == "refused"
    assert "a merge is in progress" in answer["error"] and "git merge --abort" in answer["hint"]
    assert git("rev-parse", "HEAD").strip() == head and (repo / ".git" / "MERGE_HEAD").exists()
    assert snapshot_files(tether_dir(repo)) == before and git("status", "--porcelain") == status
    plain = cli("close", "--summary", "closed mid-merge", "--commit")
    assert plain.code == 4 and plain.out == ""
    assert plain.err.splitlines()[0] == ("Error: a merge is in progress: `tether close --commit` would commit "
                                         "tether's files alone, outside it")
    git("merge", "--abort")
    assert not (repo / ".tether" / "decisions").exists()  # nothing of the other branch stayed behind


def test_close_commit_refuses_in_the_middle_of_a_rebase(ws, cli, repo, git, monkeypatch):
    # The commit would go on the rebase's detached HEAD, which `git rebase --abort` throws away.
    git("add", "-A")
    git("commit", "-q", "-m", "tether")
    git("checkout", "-q", "-b", "feature")
    (repo / "README.md").write_text("# Feature\n")
    git("commit", "-q", "-am", "feature")
    git("checkout", "-q", "main")
    (repo / "README.md").write_text("# Main\n")
    git("commit", "-q", "-am", "main")
    git("checkout", "-q", "feature")
    assert subprocess.run(["git", "rebase", "main"], cwd=repo, capture_output=True).returncode != 0
    head = git("rev-parse", "HEAD").strip()
    cli("decide", "Kept?", "--decision", "yes")
    run = cli("close", "--summary", "closed mid-rebase", "--commit")
    assert run.code == 4 and "a rebase is in progress" in run.err
    assert "git rebase --abort" in run.err
    assert git("rev-parse", "HEAD").strip() == head
    assert not (tether_dir(repo) / "progress" / "LATEST.json").exists()
    # Without --commit the close is made, as the hint says: the commit is then the user's.
    assert cli("close", "--summary", "closed mid-rebase").code == 0
    assert (tether_dir(repo) / "progress" / "LATEST.json").exists()
