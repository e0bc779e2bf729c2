"""`tether boot` (seed 002 section 4, seed 003): the readiness brief a new session starts from."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tether import Workspace
from tether.model.tokens import estimate

NOW = "2026-11-21T10:00:00Z"
DOCS = [f"doc{n:02d}.pdf" for n in range(1, 21)]


@pytest.fixture
def pinned(monkeypatch):
    monkeypatch.setenv("TETHER_NOW", NOW)
    monkeypatch.setenv("TETHER_SESSION_ID", "S-boot")


def commit_all(git, message: str = "state") -> str:
    git("add", "-A")
    git("commit", "-q", "-m", message)
    return git("rev-parse", "HEAD").strip()


@pytest.fixture
def session(repo, cli, monkeypatch, pinned):
    """A realistic state: reading order, two open tasks, decisions, entries and a close."""
    (repo / "docs").mkdir()
    (repo / "docs" / "architecture.md").write_text("# Architecture\n")
    assert cli("init", "--reading-order", "README.md", "docs/architecture.md").code == 0
    cli("task", "start", "Write the report", "--id", "R1", "-s", "outline", "-s", "draft")
    cli("task", "start", "Process 20 documents", "--id", "T004", *[a for d in DOCS for a in ("-i", d)])
    cli("checkpoint", "--done", "1-5", "--state", "Docs 1-5 summarised")
    cli("checkpoint", "--done", "6-12", "--state", "Doc 13 partially processed", "--next", "Complete doc13.pdf")
    monkeypatch.setenv("TETHER_NOW", "2026-11-21T10:05:00Z")
    cli("decide", "Summary length?", "--decision", "One paragraph", "--who", "@frans")
    monkeypatch.setenv("TETHER_NOW", "2026-11-21T10:06:00Z")
    cli("decide", "Which OCR?", "--decision", "tesseract", "--who", "@ana")
    cli("note", "phase", "Phase 1: summarising")
    cli("note", "gotcha", "doc07.pdf is a scanned image")
    cli("note", "dont", "Do not re-summarise finished documents")
    cli("note", "blocker", "Waiting for the OCR licence")
    monkeypatch.setenv("TETHER_NOW", "2026-11-21T11:00:00Z")
    assert cli("close", "--summary", "Summarised docs 1-12", "--next", "Review summaries with @frans").code == 0
    return repo


def section(text: str, heading: str) -> list[str]:
    """The lines under a '## heading' of the brief, up to the next blank line."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(heading))
    out = []
    for line in lines[start + 1:]:
        if not line.strip():
            break
        out.append(line)
    return out


# -- what the brief says ----------------------------------------------------------

def ids_out(lines: list[str]) -> list[str]:
    """Entry lines without their ids (each line must end with one)."""
    assert all(re.search(r" \[N-\d{6}-\w+\]$", line) for line in lines), lines
    return [re.sub(r" \[N-\d{6}-\w+\]$", "", line) for line in lines]


def test_brief_declares_everything_a_new_session_needs(session, cli, git):
    run = cli("boot")
    assert run.code == 0, run.err
    text = run.out
    head = git("rev-parse", "HEAD").strip()
    assert text.splitlines()[0] == f"# tether boot: commit {head[:12]} on main"
    assert "tether's files differ from HEAD" in text
    [phase] = section(text, "## Where we are")
    assert re.fullmatch(r"- Phase 1: summarising \[N-\d{6}-\w+\]", phase)  # its id: `tether note resolve` works
    assert section(text, "## Last session") == ["2026-11-21 (.tether/progress/LATEST.json): Summarised docs 1-12"]
    tasks = section(text, "## Open tasks (2)")
    assert tasks[0].startswith("- ACTIVE Resuming Process 20 documents (T004) from item 13 of 20")
    assert "Next: Complete doc13.pdf" in tasks[0]
    assert tasks[1].startswith("- Starting Write the report (R1) from step 1 of 2")
    assert section(text, "## Next steps") == ["- Review summaries with @frans"]
    assert ids_out(section(text, "## Blockers")) == ["- Waiting for the OCR licence"]
    assert ids_out(section(text, "## What NOT to do")) == ["- Do not re-summarise finished documents"]
    assert ids_out(section(text, "## Gotchas")) == ["- doc07.pdf is a scanned image"]
    decisions = section(text, "## Recent decisions (2 in all)")
    assert [d.split(" (")[0] for d in decisions] == ["- Which OCR? -> tesseract", "- Summary length? -> One paragraph"]
    assert section(text, "## Reading order") == ["1. .tether/CONTEXT.md", "2. README.md", "3. docs/architecture.md"]
    plan = section(text, "## Proposed plan")
    assert any("Resume T004: Complete doc13.pdf" in step for step in plan)
    assert any("Review summaries with @frans" in step for step in plan)
    assert any("Waiting for the OCR licence" in step for step in plan)
    assert plan[-1].endswith("so the next session starts here.")
    assert "Left out" not in text


def test_brief_says_when_tether_matches_head(session, cli, git):
    commit_all(git)
    assert "tether's files match HEAD (" in cli("boot").out
    assert cli("boot", "--json").json()["changed"] == []
    cli("note", "gotcha", "one more")
    # The entry, and the context document it regenerated (boot reads it for conflict markers).
    assert "tether's files differ from HEAD: 2 of the files" in cli("boot").out
    assert cli("boot", "--json").json()["changed"] == [".tether/CONTEXT.md", ".tether/context.jsonl"]
    # A new checkpoint of the active task: its file is new, not yet in HEAD.
    cli("checkpoint", "--done", "13", "--state", "doc 13 done")
    changed = cli("boot", "--json").json()["changed"]
    assert ".tether/context.jsonl" in changed and any("/checkpoints/CKP-" in p for p in changed)


def test_boot_json_has_stable_fields(session, cli, git):
    data = cli("boot", "--json").json()
    for key in ("ok", "schema_version", "sha", "tasks", "latest", "problems", "degraded", "tokens", "omitted", "text"):
        assert key in data, key
    assert data["ok"] is True and data["schema_version"] == 1
    assert data["sha"] == git("rev-parse", "HEAD").strip()
    assert [t["task"] for t in data["tasks"]] == ["T004", "R1"]
    assert data["tasks"][0]["next_number"] == 13 and data["tasks"][0]["done_ranges"] == "1-12"
    assert data["latest"]["summary"] == "Summarised docs 1-12"
    assert data["problems"] == [] and data["degraded"] is False
    assert data["tokens"] == estimate(data["text"]) and data["omitted"] == {}
    assert data["text"] == cli("boot").out


def test_boot_on_a_fresh_workspace(ws, cli):
    run = cli("boot")
    assert run.code == 0
    assert section(run.out, "## Last session") == ["No progress recorded yet."]
    assert section(run.out, "## Open tasks (0)") == ["- No open tasks."]


def test_boot_as_a_real_process_matches_in_process(session, cli, tether_proc):
    proc = tether_proc("boot")
    assert proc.code == 0 and proc.err == ""
    assert proc.out == cli("boot").out


# -- last progress: LATEST.json fast path and its fallback ---------------------------------

def test_latest_json_is_the_fast_path(session, cli):
    latest = session / ".tether" / "progress" / "LATEST.json"
    data = json.loads(latest.read_text())
    data["summary"] = "Summary only LATEST.json knows"
    latest.write_text(json.dumps(data))
    assert section(cli("boot").out, "## Last session") == [
        "2026-11-21 (.tether/progress/LATEST.json): Summary only LATEST.json knows"]


def test_missing_latest_falls_back_to_the_newest_log_and_says_so(session, cli, monkeypatch):
    monkeypatch.setenv("TETHER_NOW", "2026-11-22T09:00:00Z")
    cli("close", "--summary", "Newest day")
    (session / ".tether" / "progress" / "LATEST.json").unlink()
    run = cli("boot")
    assert section(run.out, "## Last session") == ["2026-11-22 (.tether/progress/2026-11-22.md): Newest day"]
    assert run.code == 3
    assert any(".tether/progress/LATEST.json" in line and "missing" in line
               for line in section(run.out, "## Problems"))


def test_the_fallback_takes_the_newest_close_by_its_time_with_its_next_steps(session, cli, monkeypatch):
    """A union merge of two branches' logs puts one side's sections after the other's: the
    newest close is the one with the latest time, wherever it sits in the file."""
    monkeypatch.setenv("TETHER_NOW", "2026-11-22T09:00:00Z")
    cli("close", "--summary", "Morning on main", "--next", "review")
    monkeypatch.setenv("TETHER_NOW", "2026-11-22T17:30:00Z")
    cli("close", "--summary", "Evening on the branch", "--next", "ship it", "--next", "tell @frans")
    log = session / ".tether" / "progress" / "2026-11-22.md"
    head, first, second = log.read_text().split("\n## ")
    log.write_text("\n## ".join([head, second.rstrip("\n") + "\n", first]))  # the newer section first
    (session / ".tether" / "progress" / "LATEST.json").unlink()
    run = cli("boot")
    assert section(run.out, "## Last session") == ["2026-11-22 (.tether/progress/2026-11-22.md): Evening on the branch"]
    assert section(run.out, "## Next steps") == ["- ship it", "- tell @frans"]


def test_corrupt_latest_falls_back_and_names_file_and_line(session, cli):
    (session / ".tether" / "progress" / "LATEST.json").write_text('{"summary": "x",\n  oops\n}\n')
    run = cli("boot")
    assert run.code == 3
    assert section(run.out, "## Last session") == ["2026-11-21 (.tether/progress/2026-11-21.md): Summarised docs 1-12"]
    problems = section(run.out, "## Problems")
    assert any(p.startswith("- .tether/progress/LATEST.json:2: invalid JSON") for p in problems), problems
    data = cli("boot", "--json").json()
    assert data["degraded"] is True
    assert {"path": ".tether/progress/LATEST.json", "line": 2} in [
        {k: p[k] for k in ("path", "line")} for p in data["problems"]]


# -- budget ------------------------------------------------------------------------------

@pytest.fixture
def crowded(ws, cli, monkeypatch, fast_writes):
    """More decisions and entries than any brief can hold."""
    cli("task", "start", "Process 20 documents", "--id", "T004", *[a for d in DOCS for a in ("-i", d)])
    cli("checkpoint", "--done", "1-12", "--state", "Doc 13 partially processed")
    for n in range(25):
        monkeypatch.setenv("TETHER_NOW", f"2026-11-{n + 1:02d}T10:00:00Z")
        ws.decide(f"Question number {n} about the extraction pipeline?", f"Answer {n}: use approach {n}",
                  rationale="because " * 20, who="@frans")
        ws.note("gotcha", f"Gotcha {n}: the parser drops table rows when the page is rotated by 90 degrees")
        ws.note("dont", f"Don't {n}: never rewrite the summaries of documents that are already complete")
    return ws


@pytest.mark.parametrize("budget", [100, 200, 400, 800, 1500, 2000, 4000])
def test_budget_caps_the_brief(crowded, cli, budget):
    run = cli("boot", "--budget", str(budget), "--json")
    assert run.code == 0, run.out
    data = run.json()
    assert estimate(data["text"]) <= budget
    assert data["tokens"] <= budget
    assert data["text"].startswith("# tether boot:")
    last = data["text"].rstrip("\n").splitlines()[-1]
    if not data["omitted"]:  # everything fit: nothing is said to be left out
        assert budget >= 2000 and not last.startswith("Left out") and "Gotcha 0:" in data["text"]
        return
    # Left out only what did not fit: the budget is spent, bar the closing line and one line more.
    assert data["tokens"] >= budget - 60 - 60, (data["tokens"], data["omitted"])
    assert last.startswith("Left out to fit the budget:")
    if budget >= 200 and "decisions" in data["omitted"]:
        assert f"{data['omitted']['decisions']} decisions (`tether decide --list`)" in last
        assert data["omitted_commands"]["decisions"] == "tether decide --list"
    if budget < 200:  # too tight to list commands: it still names what is missing and how to see it
        assert "`tether boot --budget" in last


def test_small_budget_keeps_the_active_task_and_drops_lower_priorities(crowded, cli):
    text = cli("boot", "--budget", "250").out
    assert "ACTIVE Resuming Process 20 documents (T004) from item 13 of 20" in text
    assert "## Reading order" not in text
    assert "reading order (`tether config`)" in text


@pytest.mark.parametrize("budget", [150, 200])
def test_the_smallest_budgets_still_say_where_to_resume(crowded, cli, budget):
    """The closing line shrinks to section names before the active task's line would go."""
    data = cli("boot", "--budget", str(budget), "--json").json()
    assert data["tokens"] <= budget
    assert "Resuming Process 20 documents (T004) from item 13 of 20" in data["text"], data["text"]
    assert data["text"].rstrip("\n").splitlines()[-1].startswith("Left out to fit the budget:")


def test_default_budget_comes_from_config(crowded, cli, repo):
    assert cli("boot", "--json").json()["budget"] == 2000
    config = repo / ".tether" / "tether.toml"
    config.write_text(config.read_text().replace("budget = 2000", "budget = 300"))
    data = cli("boot", "--json").json()
    assert data["budget"] == 300 and estimate(data["text"]) <= 300


def test_budget_too_small_is_a_user_error(ws, cli):
    run = cli("boot", "--budget", "10")
    assert run.code == 1 and "Hint:" in run.err and run.out == ""


def _finish_old_tasks(ws, count: int) -> None:
    for n in range(count):
        task = ws.start_task(f"Old task {n}", items=["a", "b", "c"])
        for spec in ("1", "2"):
            ws.checkpoint(task.id, done=[spec], state=f"item {spec} of old task {n}")
        ws.set_task_status(task.id, "complete")
        ws.event("session_close", summary=f"closed old task {n}")


def test_brief_does_not_grow_with_history(ws, cli, git, pinned, fast_writes):
    _finish_old_tasks(ws, 5)
    ws.start_task("Open one", items=DOCS, task_id="O1")
    ws.checkpoint("O1", done=["1-7"], state="doc 8 next")
    ws.start_task("Open two", steps=["plan", "build"], task_id="O2")
    ws.decide("Keep it?", "yes", decision_id="D1")
    ws.close("same summary", next_steps=["continue O2"])
    commit_all(git)
    small = cli("boot", "--json").json()

    _finish_old_tasks(ws, 195)                       # 200 closed tasks, 400 checkpoints, 200 more events
    ws.set_active("O2")                              # the same open tasks, the same one active
    ws.close("same summary", next_steps=["continue O2"])
    commit_all(git)
    large = cli("boot", "--json").json()

    assert len(ws.store.task_ids()) == 202
    # Apart from the commit SHA, the two briefs are the same text, so the same size.
    masked = [b["text"].replace(b["sha"][:12], "<sha>") for b in (small, large)]
    assert masked[0] == masked[1]
    sha_cost = max(estimate(b["sha"][:12]) for b in (small, large))
    assert abs(small["tokens"] - large["tokens"]) <= sha_cost
    assert "(O2)" in masked[0] and "(O1)" in masked[0] and "Old task" not in masked[0]


# -- boot --sha ------------------------------------------------------------------------------

def test_same_commit_gives_the_same_brief(session, cli, git, monkeypatch):
    sha = commit_all(git)
    first = cli("boot", "--sha", sha)
    assert first.code == 0, first.err
    assert cli("boot", "--sha", sha).out == first.out
    assert first.out.splitlines()[0] == f"# tether boot: commit {sha[:12]}"
    assert "Reconstructed from the commit's tree" in first.out
    # Later, uncommitted work in the working tree does not change that commit's brief.
    monkeypatch.setenv("TETHER_NOW", "2026-11-22T09:00:00Z")
    cli("checkpoint", "--done", "13-20", "--state", "all done")
    cli("decide", "New question?", "--decision", "new answer")
    cli("note", "gotcha", "a brand new gotcha")
    cli("close", "--summary", "Everything done", "--completed", "T004")
    (session / ".tether" / "tether.toml").unlink()          # even a broken working tree
    assert cli("boot", "--sha", sha).out == first.out
    assert cli("boot", "--sha", sha[:10]).out == first.out  # any name of the commit


def test_an_old_sha_shows_the_old_state(session, cli, git, monkeypatch):
    old = commit_all(git, "old")
    monkeypatch.setenv("TETHER_NOW", "2026-11-22T09:00:00Z")
    cli("checkpoint", "--done", "13-16", "--state", "Doc 17 next")
    cli("close", "--summary", "Docs up to 16", "--completed", "R1")
    new = commit_all(git, "new")
    old_text, new_text = cli("boot", "--sha", old).out, cli("boot", "--sha", new).out
    assert "from item 13 of 20" in old_text and "Summarised docs 1-12" in old_text and "(R1)" in old_text
    assert "from item 17 of 20" in new_text and "Docs up to 16" in new_text and "(R1)" not in new_text
    assert cli("boot", "--sha", "HEAD~1").out == old_text


def test_sha_json_says_where_it_came_from(session, cli, git):
    sha = commit_all(git)
    data = cli("boot", "--sha", "HEAD", "--json").json()
    assert data["source"] == "commit" and data["sha"] == sha and data["changed"] is None


@pytest.mark.parametrize("rev", ["0" * 40, "not-a-commit", "--output=x", "HEAD~5"])
def test_invalid_sha_halts_with_a_hint(session, cli, rev):
    run = cli("boot", f"--sha={rev}")
    assert run.code == 1
    assert run.out == ""
    assert run.err.startswith("Error: not a commit") and "\nHint: " in run.err
    data = cli("boot", f"--sha={rev}", "--json").json()
    assert data["ok"] is False and data["exit_code"] == 1 and data["hint"]


def test_sha_without_a_workspace_in_that_commit_halts(session, cli, git):
    first = git("rev-list", "--max-parents=0", "HEAD").strip()   # the commit before `tether init`
    run = cli("boot", "--sha", first)
    assert run.code == 1 and "tether.toml" in run.err and "Hint:" in run.err


def test_missing_config_halts_with_a_hint(session, cli):
    (session / ".tether" / "tether.toml").unlink()
    run = cli("boot")
    assert run.code == 1 and run.out == ""
    assert run.err.splitlines()[0] == "Error: .tether/tether.toml is missing"
    assert "tether init" in run.err
    assert cli("init").code == 0                                 # the fix it names works
    assert cli("boot").code == 0


def test_broken_config_halts_with_file_and_line(session, cli):
    (session / ".tether" / "tether.toml").write_text("schema = 1\n[boot\nbudget = 3\n")
    run = cli("boot")
    assert run.code == 1 and ".tether/tether.toml:2" in run.err and "Hint:" in run.err


def test_config_cut_short_names_its_last_line(session, cli):
    # tomllib says "at end of document" here, without a line: the message still gives one.
    (session / ".tether" / "tether.toml").write_text("schema = 1\n[boot]\nreading_order = [\n")
    for command in ("boot", "config"):
        run = cli(command)
        assert run.code == 1 and run.err.startswith("Error: .tether/tether.toml:3: invalid TOML"), run.err


# -- degraded ------------------------------------------------------------------------------

def test_corrupt_decision_gives_a_degraded_brief(session, cli):
    path = next((session / ".tether" / "decisions").glob("*.md"))
    lines = path.read_text().splitlines(keepends=True)
    lines[2] = "question: [Which one?\n"                            # YAML flow sequence never closed
    lines[3] = "decision: : :\n"
    path.write_text("".join(lines))
    run = cli("boot")
    assert run.code == 3
    assert run.out.startswith("# tether boot:")
    problems = section(run.out, "## Problems")
    assert len(problems) == 1 and problems[0].startswith(f"- .tether/decisions/{path.name}:")
    assert re.match(rf"- \.tether/decisions/{re.escape(path.name)}:\d+: invalid YAML", problems[0])
    assert "(T004) from item 13 of 20" in run.out                   # the rest still loads
    assert "## Recent decisions (2 in all)" in run.out
    assert section(run.out, "## Proposed plan")[0].startswith("1. Repair the 1 problem(s)")
    data = cli("boot", "--json").json()
    assert data["ok"] is True and data["degraded"] is True and data["problems"][0]["line"]


def test_truncated_checkpoint_gives_a_degraded_brief_from_what_the_journal_recorded(session, cli):
    newest = sorted((session / ".tether" / "tasks" / "T004" / "checkpoints").glob("CKP-0002-*.md"))[0]
    newest.write_bytes(newest.read_bytes()[:90])
    run = cli("boot")
    assert run.code == 3
    assert f".tether/tasks/T004/checkpoints/{newest.name}:" in run.out
    assert "front matter never closed" in run.out
    # the task's journal (checkpoints.jsonl) recorded CKP-0002 when it was made: its progress stands
    assert "Resuming Process 20 documents (T004) from item 13 of 20" in run.out


def test_config_a_merge_left_unresolved_is_named_as_one(session, cli):
    config = session / ".tether" / "tether.toml"
    config.write_text(config.read_text() + "<<<<<<< HEAD\nbudget = 900\n=======\nbudget = 1200\n>>>>>>> theirs\n")
    line = len(config.read_text().splitlines()) - 4
    for command in ("boot", "config"):
        run = cli(command)
        assert run.code == 1 and run.err.splitlines()[0] == (
            f"Error: .tether/tether.toml:{line}: unresolved git conflict marker"), run.err
        assert "resolve the merge" in run.err


@pytest.mark.parametrize("title", ["Please refactor the parser so that " + "it handles every edge case " * 300,
                                   "Überarbeite den Parser ✓ " * 400])
def test_a_task_with_a_page_for_a_title_does_not_push_the_open_tasks_out_of_the_brief(session, cli, title):
    cli("task", "start", "Short task", "--id", "A1", "-i", "x", "-i", "y")
    cli("checkpoint", "-t", "A1", "--done", "1", "--state", "a1 state")
    assert cli("task", "start", title, "--id", "C3", "-s", "one").code == 0
    brief = cli("boot").out
    assert "## Open tasks (" in brief
    assert "Resuming Short task (A1) from item 2 of 2 (1 done; last checkpoint CKP-0001: a1 state)" in brief
    assert "… (C3) from step 1 of 1" in brief and "Next: step 1: one" in brief
    assert all(len(line) <= 500 for line in brief.splitlines())
    assert cli("task", "status", "C3", "--json").json()["task"]["title"] == title.strip()  # kept whole


@pytest.mark.parametrize("text", ["", "\n\n  \n", "# only a comment\n"])
def test_an_emptied_config_is_named_not_read_as_all_defaults(session, cli, text):
    (session / ".tether" / "tether.toml").write_text(text)
    for command in ("boot", "config"):
        run = cli(command)
        assert run.code == 1 and run.err.startswith("Error: .tether/tether.toml: empty (not even its schema line)")
        assert "git checkout -- .tether/tether.toml" in run.err
    assert cli("verify").code == 3


def test_a_pin_reaches_every_new_session_not_only_a_compacted_one(ws, cli, git):
    # A pin is what must never be lost: a session that starts after a crash or a close has not been
    # compacted, and it must know it too; an unpinned one is gone from the brief.
    cli("boot")  # a warm brief built before there was any pin is not reused after one
    kept = cli("pin", "Never change the public signature of load(path)", "--json").json()["pin"]["id"]
    gone = cli("pin", "Amounts stay in EUR", "--json").json()["pin"]["id"]
    cli("unpin", gone)
    cli("close", "--summary", "set the rules")
    commit_all(git)
    run = cli("boot")
    assert section(run.out, "## Pinned (keep these verbatim)") == [
        f"- Never change the public signature of load(path) [{kept}]"]
    assert "Amounts stay in EUR" not in run.out
    assert [p["id"] for p in cli("boot", "--json").json()["pins"]] == [kept]
    assert cli("boot").out == run.out  # the warm boot says it too
    sha = git("rev-parse", "HEAD").strip()
    assert f"[{kept}]" in cli("boot", "--sha", sha).out  # and a brief of a commit
