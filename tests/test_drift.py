"""Goal drift after a compaction (seed 001): the summary a session goes on from, compared with the
active task, through the library, `tether drift` and the Claude Code hooks.

What a user relies on: each indicator (objective gone, completion claimed while items are open, a
decided question asked again) is found and says how; a summary that still holds the task gives
none; a session started by a compaction gets the warning in its first context, and PostCompact
shows it to the user and records it on this machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tether import Workspace
from tether.core.drift import check, terms

TETHER = [sys.executable, "-m", "tether"]
TITLE = "Summarise the quarterly invoices"
DEFINITION = "Write a one-paragraph summary of each invoice PDF into out/summaries.md"


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    for name in list(os.environ):
        if name.startswith(("TETHER_", "GIT_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("TETHER_FSYNC", "0")


@pytest.fixture
def repo(tmp_path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    Workspace.init(root)
    ws = Workspace.open(root)
    ws.start_task(TITLE, items=[f"inv{n:02d}.pdf" for n in range(1, 11)], definition=DEFINITION,
                  criteria=["every invoice has a summary"], task_id="T1")
    ws.checkpoint(done=["1-4"], state="4 invoices summarised")
    ws.decide("Which currency do the summaries use?", "EUR, converted at the invoice date")
    return root


def kinds(found) -> list[str]:
    return [i.kind for i in found]


def test_a_summary_that_holds_the_task_shows_no_drift(repo):
    _, found = Workspace.open(repo).drift("Summarising the quarterly invoices: inv01-inv04 are in out/summaries.md;"
                                          " next inv05.pdf. Amounts in EUR.")
    assert found == []


def test_the_objective_gone_is_found_and_says_how(repo):
    _, found = Workspace.open(repo).drift("We set up a React dashboard with charts and a login page.")
    assert kinds(found) == ["objective"]
    assert "'invoices'" in found[0].message and "title" in found[0].how


def test_a_summary_that_names_the_task_by_its_id_holds_the_objective(repo):
    # Codex's own summaries name the task by id ("Working on T1 ..."): that is no lost objective.
    ws = Workspace.open(repo)
    assert ws.drift("Working on T1: inv05 next; amounts converted.")[1] == []
    assert kinds(ws.drift("Working on T12 and AT1-style dashboards.")[1]) == ["objective"]  # not the id itself


def test_completion_claimed_while_items_remain_open(repo):
    _, found = Workspace.open(repo).drift("Summarising quarterly invoices. All invoices are done and the task is"
                                          " complete.")
    assert kinds(found) == ["completion"]
    assert "6 of 10 items remain open (next: inv05.pdf)" in found[0].message
    assert "All invoices are done" in found[0].evidence


def test_a_decided_question_asked_again(repo):
    _, found = Workspace.open(repo).drift("Summarising the quarterly invoices, 4 of 10 done. We still need to decide"
                                          " which currency the summaries should use.")
    assert kinds(found) == ["decided"]
    assert "EUR, converted at the invoice date" in found[0].message and "currency" in found[0].how


def test_a_question_about_something_else_is_not_drift():
    found = check("Summarise invoices: which font should the PDF export use?", title=TITLE,
                  decisions=[("D1", "Which currency do the summaries use?", "EUR", "2026-12-01T10:00:00Z")])
    assert found == []


def test_completion_of_a_finished_task_is_not_drift():
    assert check("All invoices are done.", title=TITLE, open_units=[]) == []


def test_terms_ignore_stop_words_and_stem():
    assert terms("Summarising the invoices, and processing files") == terms("summarise invoice process")


def run(repo: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*TETHER, *args], cwd=repo, input=stdin, capture_output=True, text=True, timeout=60)


def test_the_command_exits_3_on_drift_and_0_without(repo, tmp_path):
    drifted = run(repo, "drift", "-", stdin="Built a login page. Everything is done.")
    assert drifted.returncode == 3, drifted.stderr
    assert drifted.stdout.startswith("Possible drift from T1 (2 indicator(s)):")
    fine = run(repo, "drift", "--json", "-", stdin="The quarterly invoices: 4 summarised, inv05 next.")
    assert fine.returncode == 0 and json.loads(fine.stdout)["drift"] == []
    transcript = tmp_path / "t.jsonl"
    transcript.write_text(json.dumps({"type": "user", "isCompactSummary": True, "message": {
        "role": "user", "content": "Summary: we wrote a login page; all items are done."}}) + "\n")
    via = run(repo, "drift", "--json", "--transcript", str(transcript))
    assert via.returncode == 3 and [d["kind"] for d in json.loads(via.stdout)["drift"]] == ["objective", "completion"]


def test_the_command_names_bad_input(repo, tmp_path):
    neither = run(repo, "drift")
    assert neither.returncode == 1 and "give the summary" in neither.stderr
    missing = run(repo, "drift", str(tmp_path / "nope.md"))
    assert missing.returncode == 1 and "nope.md" in missing.stderr
    empty = tmp_path / "empty.jsonl"
    empty.write_text(json.dumps({"type": "user", "message": {"role": "user", "content": "hi"}}) + "\n")
    none = run(repo, "drift", "--json", "--transcript", str(empty))
    assert none.returncode == 1 and "no compaction summary" in json.loads(none.stdout)["error"]


def hook(repo: Path, event: dict) -> subprocess.CompletedProcess:
    proc = subprocess.run([*TETHER, "hook", "claude-code"], cwd=repo, input=json.dumps({"cwd": str(repo),
                          "session_id": "s-42", **event}), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc


def test_a_session_started_by_a_compaction_gets_the_warning_first(repo, tmp_path):
    transcript = tmp_path / "session.jsonl"
    transcript.write_text("".join(json.dumps(line) + "\n" for line in [
        {"type": "system", "subtype": "compact_boundary", "content": "Conversation compacted"},
        {"type": "user", "isCompactSummary": True, "message": {"role": "user", "content": [
            {"type": "text", "text": "We refactored the CSS of the landing page; the task is complete."}]}},
    ]))
    proc = hook(repo, {"hook_event_name": "SessionStart", "source": "compact", "transcript_path": str(transcript)})
    context = json.loads(proc.stdout)["hookSpecificOutput"]["additionalContext"]
    assert context.startswith("tether: possible goal drift after this compaction (task T1):")
    assert "- completion:" in context and "# tether boot" in context
    started = hook(repo, {"hook_event_name": "SessionStart", "source": "startup", "transcript_path": str(transcript)})
    assert "goal drift" not in json.loads(started.stdout)["hookSpecificOutput"]["additionalContext"]


def test_post_compact_shows_drift_to_the_user_and_records_it_locally(repo):
    before = subprocess.run(["git", "status", "--porcelain"], cwd=repo, capture_output=True, text=True).stdout
    proc = hook(repo, {"hook_event_name": "PostCompact", "trigger": "auto",
                       "compact_summary": "Set up CI for the mobile app. Everything is done."})
    assert "possible goal drift" in json.loads(proc.stdout)["systemMessage"]
    quiet = hook(repo, {"hook_event_name": "PostCompact", "trigger": "manual",
                        "compact_summary": "Quarterly invoices: 4 of 10 summarised; inv05 next."})
    assert quiet.stdout == ""
    log = [json.loads(line) for line in (repo / ".tether" / "local" / "sessions.jsonl").read_text().splitlines()]
    rows = [r for r in log if r["event"] == "post_compact"]
    assert [r["drift"] for r in rows] == [["objective", "completion"], []]
    # Claude Code's own summary is kept in the repository's cache, exactly, and nothing else changes.
    kept = run(repo, "show", rows[1]["summary"])
    assert kept.stdout == "Quarterly invoices: 4 of 10 summarised; inv05 next."
    after = subprocess.run(["git", "status", "--porcelain"], cwd=repo, capture_output=True, text=True).stdout
    assert after == before  # .tether/ is not committed in this repository: no new line in its status
    listed = run(repo, "log", "--session", "s-42").stdout  # what the session did, its compactions included
    assert listed.count("post_compact") == 2, listed


def test_post_compact_keeps_a_summary_naming_a_secret_and_the_home_directory(repo, monkeypatch):
    # Both are common in Claude Code's own summaries; the hook kept neither and failed (exit 1).
    token = "ghp_" + "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3z5A"
    home = str(Path.home())
    proc = hook(repo, {"hook_event_name": "PostCompact", "trigger": "manual",
                       "compact_summary": f"Quarterly invoices: edited {home}/notes.md; token {token}."})
    assert proc.returncode == 0, proc.stderr
    log = [json.loads(line) for line in (repo / ".tether" / "local" / "sessions.jsonl").read_text().splitlines()]
    [row] = [r for r in log if r["event"] == "post_compact"]
    kept = run(repo, "show", row["summary"]).stdout
    assert kept == "Quarterly invoices: edited ~/notes.md; token [REDACTED: GitHub Token]."


def test_a_session_started_by_a_compaction_gets_the_pins_verbatim(repo):
    assert subprocess.run([*TETHER, "pin", "Amounts stay in EUR; never round before the total"], cwd=repo,
                          capture_output=True).returncode == 0
    proc = hook(repo, {"hook_event_name": "SessionStart", "source": "compact"})
    context = json.loads(proc.stdout)["hookSpecificOutput"]["additionalContext"]
    # once: the brief's own section has it (every session start shows the pins), so not again before it
    assert context.count("Amounts stay in EUR; never round before the total") == 1, context
    assert "## Pinned (keep these verbatim)\n- Amounts stay in EUR; never round before the total [PIN-" in context
    startup = hook(repo, {"hook_event_name": "SessionStart", "source": "startup"})
    assert "tether: pinned" not in json.loads(startup.stdout)["hookSpecificOutput"]["additionalContext"]


def test_pins_the_brief_has_no_room_for_come_first_after_a_compaction(repo):
    """The brief's pins section is cut when its budget is short; a session started by a compaction
    still gets every pin, those the brief left out first, each once."""
    texts = [f"Rule {n:02d}: " + "keep the invoice totals in EUR and never round before the sum " * 6
             for n in range(1, 13)]
    for text in texts:
        assert subprocess.run([*TETHER, "pin", text], cwd=repo, capture_output=True).returncode == 0
    proc = hook(repo, {"hook_event_name": "SessionStart", "source": "compact"})
    context = json.loads(proc.stdout)["hookSpecificOutput"]["additionalContext"]
    assert all(context.count(text.strip()) == 1 for text in texts), context
    first = context.split("\n\n", 1)[0]
    assert first.startswith("tether: pinned (kept verbatim through every compaction; `tether pin --list`):\n")
    assert 0 < sum(text.strip() in first for text in texts) < len(texts)  # the brief showed some of them


def test_pre_compact_saves_the_session_and_the_next_start_gets_tethers_summary(repo, tmp_path):
    transcript = tmp_path / "session.jsonl"
    big = "\n".join(f"inv{n:02d}.pdf: total 1,234.00 EUR" for n in range(1, 4000))
    transcript.write_text("".join(json.dumps(line) + "\n" for line in [
        {"type": "user", "message": {"role": "user", "content": "Summarise the quarterly invoices"}},
        {"type": "assistant", "message": {"role": "assistant", "content": [
            {"type": "tool_use", "id": "t1", "name": "Bash", "input": {"command": "pdftotext inv*.pdf -"}}]}},
        {"type": "user", "message": {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "t1", "content": big}]}},
        {"type": "assistant", "message": {"role": "assistant", "content": [
            {"type": "text", "text": "Invoices 1-4 summarised; inv05 next."}]}},
    ]))
    proc = hook(repo, {"hook_event_name": "PreCompact", "trigger": "auto", "transcript_path": str(transcript)})
    saved = [line for line in proc.stdout.splitlines() if line.startswith("tether: saved the session")]
    assert saved and "1 large tool result(s) offloaded" in saved[0]
    ref = saved[0].split("tether: saved the session before compaction: ")[1].split(" ")[0]
    archive = run(repo, "show", ref)
    assert archive.returncode == 0 and big.splitlines()[2000] not in archive.stdout  # offloaded: a stub there
    start = hook(repo, {"hook_event_name": "SessionStart", "source": "compact", "transcript_path": str(transcript)})
    context = json.loads(start.stdout)["hookSpecificOutput"]["additionalContext"]
    assert "tether: its summary of this session before the compaction (conversations/" in context
    assert "Summarise the quarterly invoices" in context and len(context) <= 10_000


def test_the_drift_warning_survives_a_first_context_cut_at_claude_codes_limit(repo, tmp_path):
    """Pins the brief has no room for, tether's saved summary and the drift warning go before the
    brief; when they do not all fit in 10,000 characters, the summary (which `tether show` gives
    whole) is what is cut, never the warning the agent must act on."""
    for n in range(1, 31):
        assert subprocess.run([*TETHER, "pin", f"Rule {n:02d}: " + "keep the invoice totals in EUR " * 6],
                              cwd=repo, capture_output=True).returncode == 0
    transcript = tmp_path / "session.jsonl"
    rows = [{"type": "user", "message": {"role": "user", "content": "Summarise the quarterly invoices"}}]
    rows += [{"type": "assistant", "message": {"role": "assistant", "content": [
        {"type": "tool_use", "id": f"t{n}", "name": "Edit",
         "input": {"file_path": f"out/part{n:03d}/summaries-of-the-quarterly-invoices.md"}}]}} for n in range(80)]
    transcript.write_text("".join(json.dumps(row) + "\n" for row in rows))
    hook(repo, {"hook_event_name": "PreCompact", "trigger": "auto", "transcript_path": str(transcript)})
    with transcript.open("a") as f:  # Claude Code's own summary, drifted, after its boundary
        f.write(json.dumps({"type": "system", "subtype": "compact_boundary", "content": "Conversation compacted"})
                + "\n" + json.dumps({"type": "user", "isCompactSummary": True, "message": {
                    "role": "user", "content": "We set up CI for the mobile app; everything is done."}}) + "\n")
    proc = hook(repo, {"hook_event_name": "SessionStart", "source": "compact", "transcript_path": str(transcript)})
    context = json.loads(proc.stdout)["hookSpecificOutput"]["additionalContext"]
    assert len(context) <= 10_000 and "[cut at Claude Code's limit]" in context  # it did not all fit
    warning = context.index("tether: possible goal drift after this compaction (task T1):")
    assert "- completion:" in context[warning:] and "Before going on, run `tether resume T1`" in context[warning:]
    assert context.startswith("tether: pinned") and "# tether boot" in context
