"""The brief spends its budget, teaches the agent, and says what a long break needs.

Every section fills by priority with no fixed cap; "left out" is said only of what did
not fit; decisions are shown by time; entries show their ids and can belong to a task;
the active task shows its criteria, files and results; open campaigns and a long break
get sections; the teaching text can be replaced by .tether/PRIME.md. Each is checked warm
and cold: a warm boot must give the cold boot's brief.
"""

from __future__ import annotations

import os
import re
import time

import pytest

from tether.model.tokens import estimate

CACHE = ".tether/local/boot.cache"


def age(repo, seconds: int = 60) -> None:
    """Backdate the store, so the boot cache trusts its stats (racily clean files are not)."""
    then = time.time() - seconds
    for directory, dirs, files in os.walk(repo / ".tether"):
        for name in files + dirs:
            os.utime(os.path.join(directory, name), (then, then))


def warm_equals_cold(cli, repo, *argv) -> str:
    """The brief, after checking that a warm boot gives the cold boot's text."""
    (repo / CACHE).unlink(missing_ok=True)
    cold = cli("boot", *argv).out
    age(repo)
    (repo / CACHE).unlink(missing_ok=True)
    cli("boot", *argv)  # builds the cache
    assert (repo / CACHE).exists()
    warm = cli("boot", *argv).out
    assert warm == cold
    return cold


def section(text: str, heading: str) -> list[str]:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(heading))
    out = []
    for line in lines[start + 1:]:
        if not line.strip():
            break
        out.append(line)
    return out


@pytest.fixture
def now(monkeypatch):
    monkeypatch.setenv("TETHER_NOW", "2026-11-21T10:00:00Z")

    def at(stamp: str) -> None:
        monkeypatch.setenv("TETHER_NOW", stamp)

    return at


@pytest.fixture
def base(repo, cli, now):
    assert cli("init").code == 0
    return repo


# -- filling to the budget -------------------------------------------------------------

def _crowd(ws, entries: int, decisions: int, now) -> None:
    for n in range(entries):
        now(f"2026-11-{1 + n % 28:02d}T{n % 24:02d}:{n % 60:02d}:00Z")
        ws.note(("gotcha", "dont", "blocker", "note", "learning")[n % 5],
                f"Entry {n}: the parser drops table rows when the page is rotated")
    for n in range(decisions):
        now(f"2026-10-{1 + n % 28:02d}T10:{n % 60:02d}:00Z")
        ws.decide(f"Question {n} about the pipeline?", f"approach {n}")


@pytest.mark.parametrize("budget", [400, 1000, 2000, 4000])
def test_sections_fill_to_the_budget_and_left_out_only_what_did_not_fit(ws, cli, now, fast_writes, budget):
    _crowd(ws, 300, 60, now)
    ws.start_task("Process documents", items=[f"d{n}.pdf" for n in range(20)], task_id="T1")
    data = cli("boot", "--budget", str(budget), "--json").json()
    assert data["tokens"] <= budget
    # Something was left out, so the budget is spent: no more than the closing line's room
    # and one line are unused.
    assert data["omitted"]
    assert data["tokens"] >= budget - 130, (data["tokens"], data["omitted"])
    text = data["text"]
    # No section is capped: at a large budget, many more than eight lines of a kind show.
    if budget >= 4000:
        assert len(section(text, "## Blockers")) > 8
    # Entries read are counted exactly: shown + left out = all of that kind.
    shown = len(section(text, "## Gotchas")) if "## Gotchas" in text else 0
    assert shown + data["omitted"].get("gotchas", 0) == 60


def test_a_small_state_says_nothing_is_left_out(ws, cli, now):
    _crowd(ws, 10, 4, now)
    data = cli("boot", "--json").json()
    assert data["omitted"] == {} and "Left out" not in data["text"]
    assert len(section(data["text"], "## Recent decisions")) == 4


def test_decisions_are_read_in_a_window_and_the_rest_counted(ws, cli, now, fast_writes, monkeypatch):
    _crowd(ws, 0, 120, now)
    data = cli("boot", "--budget", "8000", "--json").json()
    read = len(data["decisions"])
    assert 0 < read < 120  # the window: decisions that could fill the configured budget alone
    assert data["omitted"]["decisions"] == 120 - len(section(data["text"], "## Recent decisions"))


def test_decisions_are_shown_by_time_not_by_id(base, cli, now):
    now("2026-11-21T10:00:00Z")
    cli("decide", "Recent?", "--decision", "yes")
    now("2026-11-21T11:00:00Z")
    cli("decide", "Old one recorded late?", "--decision", "yes", "--when", "2026-01-01T00:00:00Z")
    lines = section(warm_equals_cold(cli, base), "## Recent decisions")
    assert lines[0].startswith("- Recent?") and lines[1].startswith("- Old one recorded late?")


def test_entries_show_their_ids_and_resolve_from_the_brief(base, cli):
    added = cli("note", "gotcha", "doc07 is scanned", "--json").json()["note"]
    [line] = section(cli("boot").out, "## Gotchas")
    assert line == f"- doc07 is scanned [{added['id']}]"
    note_id = re.search(r"\[(N-[^\]]+)\]", line).group(1)
    assert cli("note", "resolve", note_id).code == 0
    assert "## Gotchas" not in warm_equals_cold(cli, base)


# -- entries of a task ------------------------------------------------------------------

def test_a_task_entry_shows_under_its_task_and_retires_with_it(base, cli):
    cli("task", "start", "First", "--id", "T1", "-s", "a", "-s", "b")
    cli("note", "blocker", "waiting for the API key", "--task", "T1")
    cli("note", "phase", "T1: parsing", "--task", "T1")
    cli("note", "dont", "never push to main")
    text = warm_equals_cold(cli, base)
    active = section(text, "## Active task T1")
    assert any(line.startswith("- blocker: waiting for the API key [N-") for line in active)
    assert "## Blockers" not in text  # shown under its task, not twice
    assert section(text, "## Where we are")[0].startswith("- T1: parsing [")
    line = cli("note", "list").out
    assert "waiting for the API key  [T1]" in line
    # Completing the task resolves its entries: they do not follow the next task around.
    assert cli("task", "complete", "T1").code == 0
    cli("task", "start", "Second", "--id", "T2")
    text = warm_equals_cold(cli, base)
    assert "waiting for the API key" not in text and "T1: parsing" not in text
    assert "never push to main" in text
    listed = cli("note", "list", "--all", "--json").json()["notes"]
    assert all(n["resolved"] for n in listed if n["task"] == "T1")
    assert [n["task"] for n in listed if n["kind"] == "dont"] == [None]


def test_a_task_entry_of_another_open_task_names_its_task(base, cli):
    cli("task", "start", "First", "--id", "T1")
    cli("note", "gotcha", "T1's input is UTF-16", "--task", "T1")
    cli("task", "start", "Second", "--id", "T2")  # now the active one
    assert section(cli("boot").out, "## Gotchas")[0].startswith("- T1's input is UTF-16 (T1) [N-")


def test_close_completed_retires_the_task_entries(base, cli):
    cli("task", "start", "First", "--id", "T1")
    cli("note", "blocker", "licence pending", "--task", "T1")
    assert cli("close", "--summary", "done", "--completed", "T1").code == 0
    assert cli("note", "list").out.strip() == "No context entries."
    assert "licence pending" not in (base / ".tether" / "CONTEXT.md").read_text()


def test_note_task_must_be_an_open_task(base, cli):
    run = cli("note", "gotcha", "x", "--task", "T9")
    assert run.code == 1 and "Hint:" in run.err
    cli("task", "start", "First", "--id", "T1")
    cli("task", "complete", "T1")
    run = cli("note", "gotcha", "x", "--task", "T1")
    assert run.code == 1 and "is complete" in run.err and "reopen" in run.err


def test_old_entry_lines_without_a_task_still_read(base, cli):
    path = base / ".tether" / "context.jsonl"
    path.write_text('{"at":"2026-11-21T10:00:00Z","by":null,"id":"N-1","kind":"gotcha","text":"old one"}\n')
    assert section(cli("boot").out, "## Gotchas") == ["- old one [N-1]"]
    cli("note", "gotcha", "new one")
    assert '"task"' not in path.read_text()  # a project's entry is written as before


# -- the active task's criteria, files and results --------------------------------------

def test_resume_and_the_brief_show_criteria_files_and_results(base, cli, tmp_path):
    cli("task", "start", "Parse", "--id", "T1", "-i", "a", "-i", "b", "-c", "every table kept", "-c", "tests pass")
    result = tmp_path / "rows.csv"
    result.write_text("a,b\n")
    cli("checkpoint", "--done", "1", "--state", "b half done", "--file", "src/parse.py: rotated pages",
        "--result", f"rows=@{result}")
    run = cli("resume")
    assert "Success criteria: every table kept; tests pass" in run.out
    assert "Files modified: src/parse.py: rotated pages" in run.out
    assert "Results saved: " in run.out and "rows" in run.out
    data = cli("resume", "--json").json()["resume"]
    assert data["criteria"] == ["every table kept", "tests pass"]
    assert data["files"] == ["src/parse.py: rotated pages"] and len(data["results"]) == 1
    active = section(warm_equals_cold(cli, base), "## Active task T1")
    assert active[0] == "- Success criteria: every table kept; tests pass"
    assert "- Files modified: src/parse.py: rotated pages" in active
    assert any(line.startswith("- Results saved: ") for line in active)


# -- teaching -----------------------------------------------------------------------------

def test_teaching_adapts_to_the_active_task(base, cli):
    cli("task", "start", "Bulk", "--id", "T1", "-i", "a", "-i", "b", "-i", "c")
    cli("checkpoint", "--done", "1")
    teach = "\n".join(section(cli("boot").out, "## How to keep tether current"))
    assert "tether checkpoint --done 2 " in teach and "tether task complete T1" in teach
    assert "tether note gotcha" in teach and "tether decide" in teach and "tether close" in teach
    cli("task", "start", "Free", "--id", "F1")
    teach = "\n".join(section(warm_equals_cold(cli, base), "## How to keep tether current"))
    assert "--done" not in teach.split("no `--done`")[0] and "--state" in teach and "F1" in teach


def test_prime_md_replaces_or_extends_the_teaching(base, cli):
    age(base)
    cli("boot")  # a cache built before PRIME.md exists
    prime = base / ".tether" / "PRIME.md"
    prime.write_text("Use `make check` before every checkpoint.\n")
    text = cli("boot").out  # the new file invalidates the cache
    assert section(text, "## How to keep tether current") == ["Use `make check` before every checkpoint."]
    prime.write_text("Our rule: small commits.\n<!-- tether:teach -->\n")
    teach = section(warm_equals_cold(cli, base), "## How to keep tether current")
    assert teach[0] == "Our rule: small commits." and teach[1].startswith("tether keeps this session")


# -- campaigns ----------------------------------------------------------------------------

def test_an_open_campaign_shows_stage_budget_and_pending_decisions(base, cli):
    assert cli("ctx", "init", "--campaign", "LAUNCH-1", "--owner", "@frans", "--max-skill-calls", "5",
               "--max-tokens", "1000").code == 0
    assert cli("ctx", "escalate", "Which channel first?").code == 0
    text = warm_equals_cold(cli, base)
    lines = section(text, "## Open campaigns")
    assert lines[0].startswith("- LAUNCH-1: stage kickoff, budget left 5 skill calls and 1000 tokens")
    assert "1 pending decision(s)" in lines[0]
    assert "Which channel first?" in lines[1]
    data = cli("boot", "--json").json()["campaigns"]
    assert data[0]["campaign"] == "LAUNCH-1" and data[0]["calls_left"] == 5
    cli("ctx", "close", "--campaign", "LAUNCH-1")
    assert "## Open campaigns" not in warm_equals_cold(cli, base)


# -- after a long break -------------------------------------------------------------------

def test_a_long_break_says_how_long_and_what_to_verify(repo, cli, now):
    (repo / "README.md").write_text("# Project\n")
    assert cli("init", "--reading-order", "README.md").code == 0
    now("2026-09-01T10:00:00Z")
    cli("decide", "Which model?", "--decision", "Phi-3")
    cli("note", "gotcha", "needs torch 2.3 and CUDA 12")
    cli("note", "dont", "never rename the output folder")
    cli("close", "--summary", "before the break")
    now("2026-09-10T10:00:00Z")
    assert "After a long break" not in warm_equals_cold(cli, repo)
    now("2026-10-01T10:00:00Z")  # 30 days: the same files, a different moment
    text = warm_equals_cold(cli, repo)
    lines = section(text, "## After a long break (30 days since the last close)")
    assert "- Read, in order: `.tether/CONTEXT.md`, `README.md`." in lines
    assert any(line.startswith("- Still valid? Which model? -> Phi-3") for line in lines)
    assert any("torch 2.3" in line for line in lines)
    assert not any("rename the output folder" in line for line in lines)


def test_long_break_days_is_configurable_and_checked(base, cli, now):
    config = base / ".tether" / "tether.toml"
    cli("close", "--summary", "x")
    now("2026-11-25T10:00:00Z")
    assert "After a long break" not in cli("boot").out
    config.write_text(config.read_text().replace("long_break_days = 14", "long_break_days = 3"))
    assert "After a long break (4 days" in cli("boot").out
    assert cli("config", "--json").json()["long_break_days"] == 3
    config.write_text(config.read_text().replace("long_break_days = 3", "long_break_days = 0"))
    run = cli("boot")
    assert run.code == 1 and "long_break_days" in run.err


# -- the brief's size at scale --------------------------------------------------------------

def test_the_brief_is_the_same_size_at_10_and_many_closed_tasks(ws, cli, now, fast_writes):
    _crowd(ws, 300, 30, now)
    # Closed: a session that recorded and never closed is named only while its records are among
    # the memory log's newest events, which the 400 task events below would push it out of.
    now("2026-12-01T10:00:00Z")
    ws.close("crowded")
    for n in range(10):
        ws.start_task(f"Open {n}", items=["a", "b"], task_id=f"O{n}")
    small = cli("boot", "--json").json()
    for n in range(200):
        ws.set_task_status(ws.start_task(f"Closed {n}").id, "complete")
    for n in range(10):
        ws.set_active(f"O{n}")
    ws.set_active("O9")
    large = cli("boot", "--json").json()
    assert abs(small["tokens"] - large["tokens"]) <= 5
    for data in (small, large):
        assert data["tokens"] <= 2000 and data["tokens"] >= 2000 - 130
        assert estimate(data["text"]) == data["tokens"]


# -- the context document agrees with the brief ----------------------------------------------

def _doc_block(repo, name: str) -> str:
    text = (repo / ".tether" / "CONTEXT.md").read_text()
    return text.split(f"<!-- tether:begin {name} -->", 1)[1].split(f"<!-- tether:end {name} -->", 1)[0]


def test_the_context_document_agrees_with_the_brief_after_each_change(base, cli):
    cli("task", "start", "Alpha", "--id", "A1", "-i", "a", "-i", "b")
    assert "ACTIVE: Alpha (A1, 2 items)" in _doc_block(base, "open_tasks")
    note = cli("note", "gotcha", "the cache is per machine", "--json").json()["note"]
    assert f"the cache is per machine [{note['id']}]" in _doc_block(base, "gotcha")
    cli("decide", "Which model?", "--decision", "Phi-3")
    assert "**Which model?** Phi-3" in _doc_block(base, "decisions")
    cli("note", "resolve", note["id"])
    assert "per machine" not in _doc_block(base, "gotcha")
    cli("note", "blocker", "licence", "--task", "A1")
    assert "licence" in _doc_block(base, "blocker")
    cli("task", "complete", "A1")
    assert "licence" not in _doc_block(base, "blocker") and "A1" not in _doc_block(base, "open_tasks")
    # A checkpoint changes nothing the document says: it is not rewritten on the hot path.
    cli("task", "start", "Beta", "--id", "B1", "-s", "x", "-s", "y")
    before = (base / ".tether" / "CONTEXT.md").read_text()
    cli("checkpoint", "--done", "1", "--state", "x done")
    assert (base / ".tether" / "CONTEXT.md").read_text() == before
    # What the brief says of decisions and entries, the document says too.
    brief = cli("boot").out
    for line in section(brief, "## Recent decisions"):
        assert line.split(" -> ")[0][2:] in _doc_block(base, "decisions")


def test_a_budget_too_small_is_refused_with_the_default_in_force(ws, cli):
    run = cli("boot", "--budget", "10")
    assert run.code == 1 and run.err.splitlines()[0] == "Error: budget 10 is too small for a brief"
    assert "(the default is 2000)" in run.err
    config = ws.dir / "tether.toml"
    config.write_text(config.read_text().replace("budget = 2000", "budget = 3000"))
    assert cli("config", "--json").json()["budget"] == 3000
    assert "a brief needs a budget of 100 tokens or more (the default is 3000)" in cli("boot", "--budget", "10").err


def test_when_even_the_sections_names_do_not_fit_the_closing_line_counts_them():
    """A small budget and many sections left out: the closing line says how many were left out
    before the active task's line would go (it is what a new session cannot start without)."""
    from tether.core.brief import Section, render

    resume = "- ACTIVE Resuming Process documents (T004) from item 13 of 20. Next: item 13: doc13.pdf"
    sections = [Section(key="open_tasks", heading="## Open tasks (1)", lines=[resume], priority=2)]
    sections += [Section(key=f"section_number_{n}_of_many", heading=f"## S{n}", lines=["x " * 200], priority=10 + n)
                 for n in range(12)]
    rendered = render("# tether boot: commit 0123456789ab on main", sections, 100)
    assert resume in rendered.text, rendered.text
    assert rendered.tokens <= 100
    assert rendered.text.rstrip("\n").splitlines()[-1] == (
        "Left out to fit the budget: 12 sections (`tether boot --budget 2000` shows them).")
