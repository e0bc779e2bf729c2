"""The context window through the CLI and the hooks: `tether usage`, the UserPromptSubmit hook
(a line once per change of state, a final checkpoint at CRITICAL), `tether statusline`, and
what `tether install claude-code` sets up for them. Small fixtures of our own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tether import Workspace
from test_transcripts import cc_assistant, cc_user, cx, jsonl, token_count

TETHER = [sys.executable, "-m", "tether"]
CLAUDE_MODEL = "claude-sonnet-4-5-20250929"


@pytest.fixture(autouse=True)
def _quiet(monkeypatch):
    monkeypatch.setenv("TETHER_FSYNC", "0")
    monkeypatch.setenv("TETHER_DEVICE", "test-machine")
    monkeypatch.delenv("CLAUDE_CONFIG_DIR", raising=False)
    monkeypatch.delenv("CODEX_HOME", raising=False)


@pytest.fixture
def project(tmp_path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    Workspace.init(root)
    return root


def run(cwd: Path, *args: str, stdin: str | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*TETHER, *args], input=stdin, capture_output=True, text=True, cwd=cwd, timeout=60,
                          env={**os.environ, **(env or {})})


def claude_transcript(path: Path, *prompts: int, model: str = CLAUDE_MODEL) -> Path:
    """A Claude Code session whose responses were sent prompts of these many tokens (the last one
    is the context now)."""
    lines = []
    for i, prompt in enumerate(prompts):
        lines.append(cc_user(f"u{i}", f"step {i}"))
        lines.append(cc_assistant(f"a{i}", f"msg_{i}", [{"type": "text", "text": "ok"}],
                                  {"input_tokens": 10, "cache_creation_input_tokens": 0,
                                   "cache_read_input_tokens": prompt - 10, "output_tokens": 5}, model=model))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(jsonl(*lines))
    return path


def add_response(path: Path, prompt: int) -> None:
    n = len(path.read_bytes().splitlines())
    with open(path, "ab") as fh:
        fh.write(jsonl(cc_user(f"u{n}", "more"),
                       cc_assistant(f"a{n}", f"msg_{n}", [{"type": "text", "text": "ok"}],
                                    {"input_tokens": 10, "cache_creation_input_tokens": 0,
                                     "cache_read_input_tokens": prompt - 10, "output_tokens": 5},
                                    model=CLAUDE_MODEL)))


def codex_transcript(path: Path, cwd: Path, context: int, window: int = 272000) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(jsonl(
        cx("session_meta", {"id": "r1", "cwd": str(cwd), "cli_version": "0.135.0", "originator": "codex_cli_rs"}),
        cx("turn_context", {"turn_id": "t1", "cwd": str(cwd), "model": "gpt-5-codex"}),
        cx("response_item", {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}),
        token_count(context - 100, 100, context - 100, 100, window=window)))
    return path


def claude_project_dir(root: Path) -> Path:
    name = "".join(c if c.isalnum() else "-" for c in str(root))
    return Path(os.environ["HOME"]) / ".claude" / "projects" / name


# -- tether usage ---------------------------------------------------------------------------------

def test_usage_of_a_claude_code_transcript(project, tmp_path):
    path = claude_transcript(tmp_path / "s.jsonl", 20_000, 120_000)
    out = run(project, "usage", str(path), "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert (data["tokens"], data["window"], data["state"], data["source"], data["model"]) == (
        120_000, 200_000, "ORANGE", "usage", CLAUDE_MODEL)
    assert data["percent"] == 60.0 and data["action"] == "Tier 1 & 2 compression active"  # the seed's
    assert data["advice"].startswith("Keep large tool output out of the context")  # the agent's to do
    assert data["chosen"] == "given" and data["path"] == str(path)
    text = run(project, "usage", str(path)).stdout
    assert text.startswith("Context: 120,000 of 200,000 tokens (60.0%): ORANGE\nAction: Keep large tool output")


def test_usage_of_a_file_that_is_no_transcript_is_refused_and_of_an_empty_one_is_nothing_yet(project, tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# A project\n\nIt does things.\n")
    out = run(project, "usage", str(readme))
    assert out.returncode == 1 and out.stdout == ""
    assert out.stderr.startswith(f"Error: {readme}: not a transcript tether reads") and "Hint:" in out.stderr
    empty = tmp_path / "new.jsonl"
    empty.write_text("")
    out = run(project, "usage", str(empty))
    assert out.returncode == 0 and out.stderr == "" and "nothing in the transcript yet" in out.stdout


def test_usage_says_what_it_counted(project, tmp_path):
    path = tmp_path / "prompt.jsonl"
    path.write_bytes(jsonl(cc_user("u1", "fix the loader")))  # no response yet, no compaction
    assert "From: counted: the whole transcript (no compaction in it)" in run(project, "usage", str(path)).stdout


def test_usage_of_a_codex_rollout_takes_its_own_window(project, tmp_path):
    path = codex_transcript(tmp_path / "r.jsonl", project, 200_000, window=250_000)
    data = json.loads(run(project, "usage", str(path), "--json").stdout)
    assert (data["tokens"], data["window"], data["window_source"], data["state"], data["format"]) == (
        200_000, 250_000, "transcript", "RED", "codex")


def test_model_and_window_options(project, tmp_path):
    path = claude_transcript(tmp_path / "s.jsonl", 120_000)
    data = json.loads(run(project, "usage", str(path), "--window", "1000000", "--json").stdout)
    assert (data["window"], data["window_source"], data["state"]) == (1_000_000, "option", "GREEN")
    data = json.loads(run(project, "usage", str(path), "--model", "gpt-4o", "--json").stdout)
    assert (data["model"], data["window"]) == ("gpt-4o", 128_000)
    assert data["state"] == "CRITICAL"


def test_configured_thresholds_and_windows(project, tmp_path):
    config = project / ".tether" / "tether.toml"
    config.write_text(config.read_text().replace(
        '# thresholds = {', 'thresholds = { ORANGE = 70 }\n# was: {').replace(
        '# windows = {', 'windows = { "claude-sonnet-4-5" = 400000 }\n# was: {'))
    path = claude_transcript(tmp_path / "s.jsonl", 240_000)
    data = json.loads(run(project, "usage", str(path), "--json").stdout)
    assert (data["window"], data["window_source"], data["percent"], data["state"]) == (400_000, "config", 60.0, "YELLOW")


def test_bad_context_config_is_named_with_its_line(project, tmp_path):
    config = project / ".tether" / "tether.toml"
    config.write_text(config.read_text().replace('# thresholds = {', 'thresholds = { ORANGE = 90 }\n# was: {'))
    line = config.read_text().splitlines().index("thresholds = { ORANGE = 90 }") + 1
    out = run(project, "usage", str(claude_transcript(tmp_path / "s.jsonl", 1000)))
    assert out.returncode == 1
    assert out.stderr.startswith(f"Error: .tether/tether.toml:{line}: context.thresholds: context thresholds must rise")
    assert "Hint: thresholds = {" in out.stderr


def test_without_an_argument_the_newest_transcript_of_this_repository(project, tmp_path):
    older = claude_transcript(claude_project_dir(project) / "old.jsonl", 10_000)
    newer = claude_transcript(claude_project_dir(project) / "new.jsonl", 50_000)
    claude_transcript(claude_project_dir(project) / "old-session" / "subagents" / "agent-1.jsonl", 99_000)
    os.utime(older, (time.time() - 100, time.time() - 100))
    data = json.loads(run(project, "usage", "--json").stdout)
    assert (data["path"], data["tokens"], data["chosen"]) == (str(newer), 50_000, "newest claude-code session here")
    # A Codex session of this repository written later wins; one of another directory never does.
    day = Path(os.environ["HOME"]) / ".codex" / "sessions" / "2026" / "03" / "04"
    codex_transcript(day / "rollout-2026-03-04T10-00-00-other.jsonl", tmp_path / "elsewhere", 150_000)
    ours = codex_transcript(day / "rollout-2026-03-04T09-00-00-ours.jsonl", project, 30_000)
    os.utime(newer, (time.time() - 50, time.time() - 50))
    os.utime(ours, (time.time() - 10, time.time() - 10))
    data = json.loads(run(project, "usage", "--json").stdout)
    assert (data["path"], data["tokens"], data["chosen"]) == (str(ours), 30_000, "newest codex session here")


def test_inside_a_session_its_own_transcript(project, tmp_path):
    claude_transcript(claude_project_dir(project) / "newest.jsonl", 10_000)
    own = claude_transcript(tmp_path / "elsewhere" / "own.jsonl", 70_000)
    hook = {"hook_event_name": "SessionStart", "session_id": "sess-9", "transcript_path": str(own),
            "cwd": str(project), "source": "startup"}
    assert run(project, "hook", "claude-code", stdin=json.dumps(hook)).returncode == 0
    data = json.loads(run(project, "usage", "--json", env={"TETHER_SESSION_ID": "sess-9"}).stdout)
    assert (data["path"], data["tokens"], data["chosen"]) == (str(own), 70_000, "session sess-9")


@pytest.mark.parametrize("args,message", [
    ((), "Error: no Claude Code or Codex transcript of a session in this repository (looked in "),
    (("missing.jsonl",), "Error: missing.jsonl: no such transcript"),
    ((".tether",), "Error: .tether is a directory, not a transcript"),
    (("--window", "10", "x.jsonl"), "Error: --window must be from 1,000 to 100,000,000 tokens, got 10"),
])
def test_usage_errors(project, args, message):
    out = run(project, "usage", *args)
    assert out.returncode == 1 and out.stdout == ""
    assert out.stderr.startswith(message) and "\nHint: " in out.stderr
    data = json.loads(run(project, "usage", *args, "--json").stdout)
    assert data["ok"] is False and data["kind"] in ("not_found", "invalid_input") and data["hint"]


def test_usage_of_a_list_that_does_not_read_whole_is_degraded_with_a_hint(project, tmp_path):
    # A truncated list was counted up to the cut and reported GREEN with exit 0: a script checking the
    # exit code took a wrong figure for a good one.
    messages = [{"role": "user", "content": "word " * 5000}, {"role": "assistant", "content": "ok " * 5000}]
    whole = tmp_path / "whole.json"
    whole.write_text(json.dumps(messages))
    cut = tmp_path / "cut.json"
    cut.write_text(json.dumps(messages)[:20_000])
    assert run(project, "usage", str(whole)).returncode == 0
    out = run(project, "usage", str(cut))
    assert out.returncode == 3 and out.stdout.startswith("Context: ")
    warning, hint = out.stderr.splitlines()
    assert warning.startswith(f"Warning: {cut}:1: not valid JSON, reading stopped here")
    assert hint.startswith("Hint: the figure leaves out what did not read: fix the file at the line named")
    data = json.loads(run(project, "usage", str(cut), "--json").stdout)
    assert data["ok"] is True and data["problems"] and data["tokens"] < json.loads(
        run(project, "usage", str(whole), "--json").stdout)["tokens"]
    numbers = tmp_path / "numbers.json"
    numbers.write_text("[1, 2, 3]")
    out = run(project, "usage", str(numbers))
    assert out.returncode == 3 and [line for line in out.stderr.splitlines() if line.startswith("Warning:")] == [
        f"Warning: {numbers}:1: element {n} of the message list is a JSON int, not an object" for n in (1, 2, 3)]
    # the hints of what is no list at all name lists too, not only the agents' transcripts
    (tmp_path / "object.json").write_text('{"model": "gpt-4o"}')
    for name in ("nope.json", "object.json", "."):
        out = run(project, "usage", str(tmp_path / name))
        assert out.returncode == 1 and "a message list" in out.stderr.split("\nHint: ")[1], out.stderr


def test_usage_outside_a_workspace(tmp_path):
    out = run(tmp_path, "usage", "x.jsonl")
    assert out.returncode == 1 and "no tether workspace" in out.stderr


def test_usage_is_one_call_on_the_workspace(project, tmp_path):
    path = claude_transcript(tmp_path / "s.jsonl", 170_000)
    reading = Workspace.open(project).context_usage(str(path))
    assert (reading.tokens, reading.state, reading.action) == (170_000, "CRITICAL", "Final checkpoint + fresh session")


# -- the UserPromptSubmit hook ----------------------------------------------------------------------

def prompt(project: Path, transcript: Path, session: str = "sess-1") -> subprocess.CompletedProcess:
    payload = {"session_id": session, "transcript_path": str(transcript), "cwd": str(project),
               "hook_event_name": "UserPromptSubmit", "permission_mode": "default", "prompt": "go on"}
    out = run(project, "hook", "claude-code", stdin=json.dumps(payload))
    assert out.returncode == 0, out.stderr
    return out


def said(out: subprocess.CompletedProcess) -> str | None:
    if not out.stdout:
        return None
    data = json.loads(out.stdout)
    text = data["hookSpecificOutput"]["additionalContext"]
    assert data["hookSpecificOutput"]["hookEventName"] == "UserPromptSubmit" and data["systemMessage"] == text
    return text


def test_a_line_once_per_change_to_orange_or_worse(project, tmp_path):
    transcript = claude_transcript(tmp_path / "s.jsonl", 20_000)
    assert said(prompt(project, transcript)) is None                     # GREEN: nothing
    add_response(transcript, 60_000)
    assert said(prompt(project, transcript)) is None                     # YELLOW: nothing either
    add_response(transcript, 110_000)
    first = said(prompt(project, transcript))
    assert first.startswith("tether: the context window is 55% full (110,000 of 200,000 tokens): ORANGE. Keep large tool output")
    state_file = project / ".tether" / "local" / "context-state" / "sess-1.json"
    stamp = state_file.stat().st_mtime_ns
    add_response(transcript, 120_000)
    assert said(prompt(project, transcript)) is None                     # still ORANGE: said already
    assert state_file.stat().st_mtime_ns == stamp                        # and nothing written
    add_response(transcript, 160_000)
    assert "80% full" in said(prompt(project, transcript)) and "RED" in said_last(project)
    add_response(transcript, 30_000)                                     # compacted by the agent
    assert said(prompt(project, transcript)) is None
    add_response(transcript, 105_000)
    assert said(prompt(project, transcript)).startswith("tether: the context window is 52% full")  # ORANGE again
    # Another session keeps its own memory.
    assert "ORANGE" in said(prompt(project, transcript, session="sess-2"))
    rows = [json.loads(line) for line in (project / ".tether" / "local" / "sessions.jsonl").read_text().splitlines()]
    assert [(r["event"], r["state"]) for r in rows if r["session"] == "sess-1"] == [
        ("context_state", "ORANGE"), ("context_state", "RED"), ("context_state", "ORANGE")]
    assert subprocess.run(["git", "status", "--porcelain", "--", ".tether/tasks"], cwd=project,
                          capture_output=True, text=True).stdout == ""


def said_last(project: Path) -> str:
    return json.loads((project / ".tether" / "local" / "context-state" / "sess-1.json").read_text())["state"]


def test_critical_makes_the_final_checkpoint(project, tmp_path):
    ws = Workspace.open(project)
    ws.start_task("Summarise docs", items=["a", "b", "c"], task_id="T004")
    ws.checkpoint(done=["1"], state="a summarised", next_actions=["summarise b"])
    ws.decide("Which format?", "markdown")
    transcript = claude_transcript(tmp_path / "s.jsonl", 180_000)
    text = said(prompt(project, transcript))
    assert text.startswith("tether: the context window is 90% full (180,000 of 200,000 tokens): CRITICAL. ")
    assert "tether saved a final checkpoint of T004 (CKP-0002)" in text and "fresh session" in text
    latest = Workspace.open(project).latest_checkpoint("T004")
    assert (latest.id, latest.automatic, latest.done, latest.current_state) == (
        "CKP-0002", "context:90%", "1", "a summarised")
    assert latest.session == "sess-1"
    # Still CRITICAL at the next prompt: nothing more, no second checkpoint.
    add_response(transcript, 185_000)
    assert said(prompt(project, transcript)) is None
    assert Workspace.open(project).latest_checkpoint("T004").id == "CKP-0002"


def test_critical_without_news_since_the_last_checkpoint_copies_nothing(project, tmp_path):
    ws = Workspace.open(project)
    ws.start_task("Docs", items=["a", "b"], task_id="T1")
    ws.checkpoint(done=["1"], state="a done")
    text = said(prompt(project, claude_transcript(tmp_path / "s.jsonl", 190_000)))
    assert "Final checkpoint of T1: nothing new to save (no progress recorded since CKP-0001" in text
    assert Workspace.open(project).latest_checkpoint("T1").id == "CKP-0001"


def critical_transcript(path: Path, text: str, at: str) -> Path:
    """A CRITICAL Claude Code session whose last reply, written at ``at``, says ``text``."""
    claude_transcript(path, 20_000)
    with open(path, "ab") as fh:
        fh.write(jsonl(cc_user("u9", "go on"), cc_assistant("a9", "msg_9", [{"type": "text", "text": text}], {
            "input_tokens": 10, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 179_990,
            "output_tokens": 5}, model=CLAUDE_MODEL, timestamp=at)))
    return path


def calculator_at_nine(project: Path, monkeypatch) -> None:
    """Task T1, step 1 of 2 done at CKP-0001, made at 09:00 on 2 March."""
    monkeypatch.setenv("TETHER_NOW", "2026-03-02T09:00:00Z")
    ws = Workspace.open(project)
    ws.start_task("Calculator", steps=["add", "div"], task_id="T1")
    ws.checkpoint(done=["1"], state="add works", next_actions=["wire div"])
    monkeypatch.delenv("TETHER_NOW")


def test_critical_keeps_the_agents_message_written_since_the_last_checkpoint(project, tmp_path, monkeypatch):
    """Nothing recorded since CKP-0001, but the agent said where it stands after it: that is
    what the final checkpoint is for, as the tool-call checkpoints keep it."""
    calculator_at_nine(project, monkeypatch)
    transcript = critical_transcript(tmp_path / "s.jsonl", "**Tests pass** for div.\n\nNext: update README",
                                     "2026-03-02T09:40:12.345Z")
    text = said(prompt(project, transcript))
    assert "tether saved a final checkpoint of T1 (CKP-0002)" in text
    latest = Workspace.open(project).latest_checkpoint("T1")
    assert (latest.automatic, latest.done, latest.current_state, latest.next) == ("context:90%", "1", "add works",
                                                                                  ["wire div"])
    assert latest.note == "The agent's last message: Tests pass for div. Next: update README"
    resume = run(project, "resume").stdout
    assert "Seen by CKP-0002 (automatic): The agent's last message: Tests pass for div. Next: update README" in resume
    assert "with the context 90% full" in resume


def test_critical_saves_no_message_the_last_checkpoint_already_covers(project, tmp_path, monkeypatch):
    """A message written before the last checkpoint, or kept in its note already, is not new."""
    monkeypatch.setenv("TETHER_NOW", "2026-03-02T09:00:00Z")
    ws = Workspace.open(project)
    ws.start_task("Calculator", steps=["add", "div"], task_id="T1")
    ws.checkpoint(done=["1"], state="add works")
    older = critical_transcript(tmp_path / "old.jsonl", "add works", "2026-03-02T08:59:59.900Z")
    assert "nothing new to save (no progress recorded since CKP-0001" in said(prompt(project, older))
    assert Workspace.open(project).latest_checkpoint("T1").id == "CKP-0001"
    # Written in the checkpoint's second (stamps have whole seconds): new, unless that checkpoint
    # is an automatic one that kept it.
    same = str(critical_transcript(tmp_path / "same.jsonl", "div half done", "2026-03-02T09:00:00.500Z"))
    _, ckp, _ = Workspace.open(project).auto_checkpoint("90%", kind="context", transcript=same)
    assert (ckp.id, ckp.created, ckp.note) == ("CKP-0002", "2026-03-02T09:00:00Z",
                                               "The agent's last message: div half done")
    _, again, said_now = Workspace.open(project).auto_checkpoint("91%", kind="context", transcript=same)
    assert again is None and said_now.startswith("no progress recorded since CKP-0002")


def test_a_message_without_a_time_is_not_taken_for_news(project, tmp_path):
    ws = Workspace.open(project)
    ws.start_task("Calculator", steps=["add", "div"], task_id="T1")
    ws.checkpoint(done=["1"], state="add works")
    path = tmp_path / "s.jsonl"
    path.write_bytes(jsonl({"type": "assistant", "message": {"role": "assistant", "content": "div done"}}))
    _, ckp, said_now = ws.auto_checkpoint("90%", kind="context", transcript=str(path))
    assert ckp is None and said_now.startswith("no progress recorded since CKP-0001")


@pytest.mark.parametrize("transcript", ["missing.jsonl", None])
def test_no_transcript_yet_is_silent(project, transcript):
    payload = {"session_id": "s", "cwd": str(project), "hook_event_name": "UserPromptSubmit", "prompt": "hi"}
    if transcript:
        payload["transcript_path"] = str(project / transcript)
    out = run(project, "hook", "claude-code", stdin=json.dumps(payload))
    assert (out.returncode, out.stdout, out.stderr) == (0, "", "")
    assert not (project / ".tether" / "local" / "context-state").exists()


def test_outside_a_workspace_the_prompt_hook_is_silent(tmp_path):
    transcript = claude_transcript(tmp_path / "s.jsonl", 190_000)
    out = prompt(tmp_path, transcript)
    assert (out.stdout, out.stderr) == ("", "")


# -- tether statusline ------------------------------------------------------------------------------

def status(cwd: Path, payload) -> str:
    out = run(cwd, "statusline", stdin=payload if isinstance(payload, str) else json.dumps(payload))
    assert out.returncode == 0 and out.stderr == ""
    assert out.stdout.endswith("\n") and out.stdout.count("\n") == 1
    return out.stdout[:-1]


def status_input(project: Path, transcript: Path | None, **fields) -> dict:
    return {"hook_event_name": "Status", "session_id": "sess-1", "cwd": str(project),
            "transcript_path": str(transcript) if transcript else None,
            "model": {"id": CLAUDE_MODEL, "display_name": "Sonnet 4.5"},
            "workspace": {"current_dir": str(project), "project_dir": str(project)}, **fields}


def test_status_line_shows_the_task_and_the_context(project, tmp_path):
    ws = Workspace.open(project)
    ws.start_task("Docs", items=[f"d{i}" for i in range(1, 21)], task_id="T004")
    ws.checkpoint(done=["1-13"], state="13 done")
    transcript = claude_transcript(tmp_path / "s.jsonl", 124_000)
    assert status(project, status_input(project, transcript)) == "T004 13/20 · context 62% ORANGE"
    # The window Claude Code reports (a 1M-token session) is the one used.
    big = status_input(project, transcript, context_window={"context_window_size": 1_000_000})
    assert status(project, big) == "T004 13/20 · context 12% GREEN"
    assert status(project, status_input(project, None)) == "T004 13/20"
    # It never changes the hook's memory of states.
    assert not (project / ".tether" / "local" / "context-state").exists()


def test_status_line_flags_a_task_standing_in_for_the_chosen_one(project, tmp_path):
    """The chosen task closed (or on another branch): the open task shown stands in for it, and the
    line says so, as resume and the brief do; choosing a task ends it."""
    ws = Workspace.open(project)
    ws.start_task("Other", steps=["a", "b"], task_id="T8")
    ws.start_task("Port", steps=["a", "b", "c"], task_id="T7")
    ws.checkpoint(done=["1"], state="one")
    assert status(project, status_input(project, None)) == "T7 1/3"
    ws.set_task_status("T7", "complete")
    assert status(project, status_input(project, None)) == "T8 0/2 (stand-in for T7, complete)"
    out = run(project, "statusline", "--json", stdin=json.dumps(status_input(project, None)))
    data = json.loads(out.stdout)
    assert (data["line"], data["stand_in"]) == ("T8 0/2 (stand-in for T7, complete)",
                                                {"chosen": "T7", "status": "complete"})
    ws.store.set_active_task("FEAT1")  # started on another branch
    assert status(project, status_input(project, None)) == "T8 0/2 (stand-in for FEAT1, not in this checkout)"
    ws.switch("T8")
    assert status(project, status_input(project, None)) == "T8 0/2"
    assert json.loads(run(project, "statusline", "--json", stdin="{}").stdout)["stand_in"] is None


def test_status_line_keeps_the_task_when_the_chosen_ones_file_cannot_be_read(project):
    """The chosen task closed and its file damaged since: the open task standing in is still shown,
    marked as one, and its stand-in's status said to be unreadable (the line never fails)."""
    ws = Workspace.open(project)
    ws.start_task("Other", steps=["a", "b"], task_id="T8")
    ws.start_task("Port", steps=["a", "b", "c"], task_id="T7")
    ws.set_task_status("T7", "complete")
    task_file = project / ".tether" / "tasks" / "T7" / "task.md"
    task_file.write_text(task_file.read_text(encoding="utf-8").replace('title: "Port"', 'title: "Port'),
                         encoding="utf-8")
    assert status(project, status_input(project, None)) == "T8 0/2 (stand-in for T7, unreadable)"
    data = json.loads(run(project, "statusline", "--json", stdin="{}").stdout)
    assert (data["line"], data["stand_in"]) == ("T8 0/2 (stand-in for T7, unreadable)",
                                                {"chosen": "T7", "status": "unreadable"})


def test_status_line_without_a_workspace_or_input(project, tmp_path):
    transcript = claude_transcript(tmp_path / "s.jsonl", 30_000)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert status(elsewhere, status_input(elsewhere, transcript)) == "context 15% GREEN"
    assert status(project, status_input(project, transcript)) == "context 15% GREEN"  # no active task
    assert status(project, "not json") == ""
    assert status(project, "[1, 2]") == ""
    subprocess.run([sys.executable, "-m", "tether", "task", "start", "Ship", "--id", "T9", "-s", "a", "-s", "b", "-s", "c"],
                   cwd=project, check=True, capture_output=True)
    assert status(project, "not json") == "T9 0/3"  # what the documentation says: the task part alone


# -- install and uninstall --------------------------------------------------------------------------

def settings(project: Path) -> dict:
    return json.loads((project / ".claude" / "settings.json").read_text())


def test_install_registers_the_prompt_hook_and_the_status_line_idempotently(project):
    out = run(project, "install", "claude-code", "--status-line", "--no-instructions", "--json")
    data = json.loads(out.stdout)
    assert "UserPromptSubmit" in data["added"]
    assert data["status_line"] == {"command": "tether-hook statusline", "changed": True}
    first = (project / ".claude" / "settings.json").read_bytes()
    assert settings(project)["statusLine"] == {"type": "command", "command": "tether-hook statusline", "padding": 0}
    assert settings(project)["hooks"]["UserPromptSubmit"] == [
        {"hooks": [{"type": "command", "command": "tether-hook claude-code", "timeout": 30}]}]
    again = json.loads(run(project, "install", "claude-code", "--status-line", "--no-instructions", "--json").stdout)
    assert again["added"] == [] and again["status_line"]["changed"] is False
    assert (project / ".claude" / "settings.json").read_bytes() == first
    gone = json.loads(run(project, "uninstall", "claude-code", "--json").stdout)
    assert "UserPromptSubmit" in gone["removed"] and gone["status_line_removed"] is True
    assert settings(project) == {}
    twice = json.loads(run(project, "uninstall", "claude-code", "--json").stdout)
    assert twice["removed"] == [] and twice["status_line_removed"] is False


def test_install_keeps_the_users_own_status_line(project):
    (project / ".claude").mkdir()
    mine = {"type": "command", "command": "~/.claude/statusline.sh"}
    (project / ".claude" / "settings.json").write_text(json.dumps({"statusLine": mine}))
    out = run(project, "install", "claude-code", "--status-line", "--no-instructions")
    assert out.returncode == 0
    assert "Kept your own status line (`~/.claude/statusline.sh`)" in out.stdout
    assert settings(project)["statusLine"] == mine
    run(project, "uninstall", "claude-code")
    assert settings(project) == {"statusLine": mine}


def test_status_line_follows_the_hook_command(project):
    data = json.loads(run(project, "install", "claude-code", "--status-line", "--no-instructions",
                          "--command", "/opt/bin/tether hook claude-code", "--json").stdout)
    assert data["status_line"]["command"] == "/opt/bin/tether statusline"
    data = json.loads(run(project, "install", "claude-code", "--status-line", "--no-instructions", "--json").stdout)
    assert settings(project)["statusLine"]["command"] == "tether-hook statusline" and data["status_line"]["changed"]
    data = json.loads(run(project, "install", "claude-code", "--status-line", "--no-instructions",
                          "--command", "/opt/bin/tether-hook claude-code", "--json").stdout)
    assert data["status_line"]["command"] == "/opt/bin/tether-hook statusline"


def test_status_line_keeps_up_with_checkpoints_through_its_cache(project, tmp_path):
    ws = Workspace.open(project)
    ws.start_task("Docs", items=[f"d{i}" for i in range(1, 6)], task_id="T7")
    ws.checkpoint(done=["1"], state="one")
    transcript = claude_transcript(tmp_path / "s.jsonl", 10_000)

    def age_the_store():  # files older than the racy margin: their stats are trusted, the cache kept
        past = time.time() - 60
        for path in (project / ".tether").rglob("*"):
            os.utime(path, (past, past), follow_symlinks=False)
        os.utime(project / ".tether", (past, past))

    age_the_store()
    assert status(project, status_input(project, transcript)) == "T7 1/5 · context 5% GREEN"
    assert (project / ".tether" / "local" / "statusline.cache").exists()
    assert status(project, status_input(project, transcript)) == "T7 1/5 · context 5% GREEN"  # from the cache
    Workspace.open(project).checkpoint(done=["2-3"], state="three")
    assert status(project, status_input(project, transcript)) == "T7 3/5 · context 5% GREEN"
    age_the_store()
    assert status(project, status_input(project, transcript)) == "T7 3/5 · context 5% GREEN"
    Workspace.open(project).set_task_status("T7", "complete")
    assert status(project, status_input(project, transcript)) == "context 5% GREEN"


def test_status_line_keeps_no_position_of_a_task_standing_in(project, monkeypatch):
    """Which task stands in is the open task with the newest checkpoint: another task's checkpoint
    changes it without touching the files a kept position depends on, so a stand-in's position is
    worked out at every status line, never kept (docs/claude-code.md, The status line)."""
    ws = Workspace.open(project)
    ws.start_task("Other", steps=["a", "b"], task_id="T8")
    ws.start_task("Next", steps=["a"], task_id="T9")
    ws.start_task("Port", steps=["a", "b", "c"], task_id="T7")
    monkeypatch.setenv("TETHER_NOW", "2020-01-01T10:00:00Z")  # older than the next checkpoint
    ws.checkpoint("T8", done=["1"], state="one")
    monkeypatch.delenv("TETHER_NOW")
    ws.switch("T7")
    ws.set_task_status("T7", "complete")
    past = time.time() - 60  # files older than the racy margin: a position would be kept if it could be
    for path in [project / ".tether", *(project / ".tether").rglob("*")]:
        os.utime(path, (past, past), follow_symlinks=False)
    cache = project / ".tether" / "local" / "statusline.cache"
    assert status(project, status_input(project, None)) == "T8 1/2 (stand-in for T7, complete)"
    assert not cache.exists()
    ws = Workspace.open(project)
    ws.checkpoint("T9", state="started")  # T9 has the newest checkpoint now
    ws.store.set_active_task("T7")  # the checkpoint chose T9: T7, closed, is the chosen one again
    assert status(project, status_input(project, None)) == "T9 0/1 (stand-in for T7, complete)"
    assert not cache.exists()


# -- Codex --------------------------------------------------------------------------------------------

def test_install_codex_writes_its_hooks_file_idempotently_and_keeps_the_users(project):
    (project / ".codex").mkdir()
    mine = {"type": "command", "command": "python3 .codex/log.py", "timeout": 5}
    (project / ".codex" / "hooks.json").write_text(json.dumps({"hooks": {"Stop": [{"hooks": [mine]}]}}))
    data = json.loads(run(project, "install", "codex", "--json").stdout)
    seven = ["SessionStart", "PreCompact", "PostCompact", "SessionEnd", "PostToolUse", "PreToolUse", "UserPromptSubmit"]
    assert data["added"] == seven  # Codex has every event tether uses (seen from Codex CLI 0.171)
    config = json.loads((project / ".codex" / "hooks.json").read_text())
    assert config["hooks"]["Stop"] == [{"hooks": [mine]}]
    assert config["hooks"]["UserPromptSubmit"] == [
        {"hooks": [{"type": "command", "command": "tether-hook codex", "timeout": 30}]}]
    assert config["hooks"]["SessionStart"][0]["matcher"] == "startup|resume|clear|compact"
    assert config["hooks"]["PreToolUse"][0]["matcher"] == "Bash"  # Codex's shell tool, as hooks see it
    assert config["hooks"]["SessionEnd"][0]["hooks"][0]["timeout"] == 3  # Codex's most for SessionEnd
    first = (project / ".codex" / "hooks.json").read_bytes()
    assert json.loads(run(project, "install", "codex", "--json").stdout)["added"] == []
    assert (project / ".codex" / "hooks.json").read_bytes() == first
    assert "## tether: keep this session's work recoverable" in (project / "AGENTS.md").read_text()  # Codex reads it
    gone = json.loads(run(project, "uninstall", "codex", "--json").stdout)
    assert gone["removed"] == seven and gone["sections_removed"] == ["AGENTS.md"]
    assert not (project / "AGENTS.md").exists()  # it held tether's section only
    assert json.loads((project / ".codex" / "hooks.json").read_text()) == {"hooks": {"Stop": [{"hooks": [mine]}]}}


def test_install_codex_keeps_the_users_agents_md_and_can_leave_it_alone(project):
    (project / "AGENTS.md").write_text("# House rules\n\nRun the tests before a commit.\n")
    assert run(project, "install", "codex", "--no-instructions").returncode == 0
    assert (project / "AGENTS.md").read_text() == "# House rules\n\nRun the tests before a commit.\n"
    out = run(project, "install", "codex")
    assert "Added tether's section (the agent's commands) in" in out.stdout
    text = (project / "AGENTS.md").read_text()
    assert text.startswith("# House rules\n\nRun the tests before a commit.\n") and "tether checkpoint" in text
    assert "(your own text is kept)" in run(project, "uninstall", "codex").stdout
    assert (project / "AGENTS.md").read_text() == "# House rules\n\nRun the tests before a commit.\n"
    (project / "AGENTS.md").unlink()
    run(project, "install", "codex")
    assert "Removed AGENTS.md: it held only tether's section." in run(project, "uninstall", "codex").stdout


def test_install_codex_refuses_a_broken_hooks_file(project):
    (project / ".codex").mkdir()
    (project / ".codex" / "hooks.json").write_text('{"hooks": {\n  "Stop": [,]\n}}')
    out = run(project, "install", "codex")
    assert out.returncode == 1 and ".codex/hooks.json:2: invalid JSON" in out.stderr
    assert (project / ".codex" / "hooks.json").read_text() == '{"hooks": {\n  "Stop": [,]\n}}'


def test_uninstall_codex_removes_a_file_that_held_only_tethers_hooks(project):
    run(project, "install", "codex")
    run(project, "uninstall", "codex")
    assert not (project / ".codex").exists()


def test_codex_prompt_hook_warns_once_from_a_rollout(project, tmp_path):
    rollout = codex_transcript(tmp_path / "rollout.jsonl", project, 200_000, window=250_000)
    payload = {"session_id": "019a-thread", "transcript_path": str(rollout), "cwd": str(project),
               "hook_event_name": "UserPromptSubmit", "model": "gpt-5-codex", "turn_id": "t1", "prompt": "go"}
    out = run(project, "hook", "codex", stdin=json.dumps(payload))
    assert out.returncode == 0, out.stderr
    text = json.loads(out.stdout)["hookSpecificOutput"]["additionalContext"]
    assert text.startswith("tether: the context window is 80% full (200,000 of 250,000 tokens): RED. The agent will compact this session soon.")
    assert "compression" not in text and "Tier" not in text
    assert run(project, "hook", "codex", stdin=json.dumps(payload)).stdout == ""
    # Codex sends no transcript for some sessions, and none of its rollouts is this one's: nothing said.
    payload["transcript_path"] = None
    assert run(project, "hook", "codex", stdin=json.dumps(payload)).stdout == ""


def test_codex_prompt_hook_without_a_transcript_path_finds_the_sessions_rollout(project, tmp_path):
    day = Path(os.environ["HOME"]) / ".codex" / "sessions" / "2026" / "12" / "05"
    codex_transcript(day / "rollout-2026-12-05T10-00-00-019a-thread.jsonl", project, 230_000, window=250_000)
    codex_transcript(day / "rollout-2026-12-05T11-00-00-019b-other.jsonl", project, 10_000, window=250_000)
    payload = {"session_id": "019a-thread", "transcript_path": None, "cwd": str(project),
               "hook_event_name": "UserPromptSubmit", "model": "gpt-5-codex", "turn_id": "t1", "prompt": "go"}
    out = run(project, "hook", "codex", stdin=json.dumps(payload))
    assert out.returncode == 0, out.stderr
    text = json.loads(out.stdout)["hookSpecificOutput"]["additionalContext"]
    assert text.startswith("tether: the context window is 92% full (230,000 of 250,000 tokens): CRITICAL.")
    # Codex starts a fresh session with /new; /clear is Claude Code's
    assert "start a fresh session (/new)" in text and "/clear" not in text


def test_codex_pre_compact_without_a_transcript_path_saves_the_sessions_rollout(project, tmp_path):
    # Codex sends no transcript_path for some sessions: PreCompact finds the rollout by the
    # session's id, as UserPromptSubmit does, or what the compaction drops is saved nowhere.
    big = "\n".join(f"row {n}: a line of a long build log" for n in range(8000))
    day = Path(os.environ["HOME"]) / ".codex" / "sessions" / "2026" / "12" / "05"
    day.mkdir(parents=True)
    lines = [{"timestamp": "2026-12-05T12:00:00Z", "type": "session_meta", "payload": {"id": "019a-thread", "cwd": str(project)}},
             {"timestamp": "2026-12-05T12:00:01Z", "type": "response_item", "payload": {
                 "type": "message", "role": "user", "content": [{"type": "input_text", "text": "read the build log"}]}},
             {"timestamp": "2026-12-05T12:00:02Z", "type": "response_item", "payload": {
                 "type": "function_call", "name": "shell", "arguments": "{}", "call_id": "c1"}},
             {"timestamp": "2026-12-05T12:00:03Z", "type": "response_item", "payload": {
                 "type": "function_call_output", "call_id": "c1", "output": big}}]
    (day / "rollout-2026-12-05T12-00-00-019a-thread.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    payload = {"session_id": "019a-thread", "transcript_path": None, "cwd": str(project),
               "hook_event_name": "PreCompact", "trigger": "auto"}
    out = run(project, "hook", "codex", stdin=json.dumps(payload))
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["systemMessage"].startswith("tether: saved the session before compaction:")
    [row] = [json.loads(line) for line in (project / ".tether" / "memory" / "compactions.jsonl").read_text().splitlines()]
    assert run(project, "show", row["offloaded"][0]["ref"]).stdout == big


def test_codex_pre_compact_answers_in_json(project):
    ws = Workspace.open(project)
    ws.start_task("Docs", items=["a", "b"], task_id="T1")
    ws.checkpoint(done=["1"], state="a done")
    ws.decide("Which?", "this one")
    payload = {"session_id": "cx", "transcript_path": None, "cwd": str(project), "hook_event_name": "PreCompact",
               "trigger": "auto"}
    out = run(project, "hook", "codex", stdin=json.dumps(payload))
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {"systemMessage": "tether: automatic checkpoint CKP-0002 (1 record(s) since CKP-0001)"}


def test_codex_pre_compact_saves_the_rollout_offloads_its_large_output_and_summarises_it(project, tmp_path):
    """The PreCompact of a Codex session saves what its compaction loses, as for Claude Code:
    Codex's records as a real Codex CLI (0.171) writes them."""
    ws = Workspace.open(project)
    ws.start_task("Add a greet function", items=["write greet", "test it"], task_id="T1")
    big = "\n".join(f"src/mod{n:04d}.py: 12 functions, 300 lines" for n in range(3000))
    patch = "*** Begin Patch\n*** Add File: src/greet.py\n+def greet():\n+    return 'hello'\n*** End Patch\n"

    def item(payload):
        return {"timestamp": "2026-12-05T12:00:00Z", "type": "response_item", "payload": payload}

    def said(role, text):
        kind = "output_text" if role == "assistant" else "input_text"
        return item({"type": "message", "role": role, "content": [{"type": kind, "text": text}]})

    rollout = tmp_path / "rollout.jsonl"
    lines = [
        {"timestamp": "2026-12-05T12:00:00Z", "type": "session_meta", "payload": {"id": "cx-1", "cwd": str(project)}},
        said("user", "<environment_context>\n  <cwd>/somewhere</cwd>\n</environment_context>"),
        said("user", "add a greet function and list the modules"),
        item({"type": "function_call", "name": "exec_command", "arguments": json.dumps({"cmd": "wc -l src/*.py"}),
              "call_id": "call_1"}),
        item({"type": "function_call_output", "call_id": "call_1", "output": big}),
        {"timestamp": "2026-12-05T12:00:01Z", "type": "event_msg", "payload": {"type": "agent_message", "message": "x"}},
        item({"type": "custom_tool_call", "name": "apply_patch", "input": patch, "call_id": "call_2"}),
        item({"type": "custom_tool_call_output", "call_id": "call_2", "output": "Success. Updated: A src/greet.py"}),
        said("assistant", "greet() is written; next, its test."),
    ]
    rollout.write_text("".join(json.dumps(line) + "\n" for line in lines))
    payload = {"session_id": "cx-1", "transcript_path": str(rollout), "cwd": str(project),
               "hook_event_name": "PreCompact", "trigger": "auto", "model": "gpt-5.5"}
    out = run(project, "hook", "codex", stdin=json.dumps(payload))
    assert out.returncode == 0, out.stderr
    message = json.loads(out.stdout)["systemMessage"]  # one JSON object: what Codex reads
    assert message.startswith("tether: saved the session before compaction: conversations/")
    assert "1 large tool result(s) offloaded" in message
    [row] = [json.loads(line) for line in (project / ".tether" / "memory" / "compactions.jsonl").read_text().splitlines()]
    [offloaded] = row["offloaded"]
    assert run(project, "show", offloaded["ref"]).stdout == big  # the exact bytes back
    archive = run(project, "show", row["archive"]).stdout.splitlines()
    assert len(archive) == len(lines) and big not in "\n".join(archive)  # a stub in its line, every other kept
    assert json.loads(archive[4])["payload"]["output"].startswith("[tether] Offloaded tool result:")
    summary = run(project, "show", row["summary"]).stdout
    assert "add a greet function and list the modules" in summary and "environment_context" not in summary
    assert "src/greet.py" in summary.split("## Files", 1)[1]
    assert row["tokens_after"] < row["tokens_before"] / 10



def test_codex_pre_compact_offloads_an_output_of_content_items_and_redacts_its_secret(project, tmp_path):
    """Codex writes a tool output as a string, or as a list of content items (an MCP tool's
    result, an image): a large list is offloaded too, and a secret in it is in neither the archive
    nor the offloaded bytes."""
    secret = "sk_live_9f8e7d6c5b4a39281706f5e4"
    big = "\n".join(f"row {n}: {'word ' * 12}" for n in range(3000))
    items = [{"type": "input_text", "text": f"{big}\napi_key={secret}\n"},
             {"type": "input_image", "image_url": "data:image/png;base64," + "iVBORw0KGgo" * 10}]

    def item(payload):
        return {"timestamp": "2026-12-05T12:00:00Z", "type": "response_item", "payload": payload}

    lines = [
        {"timestamp": "2026-12-05T12:00:00Z", "type": "session_meta", "payload": {"id": "cx-2", "cwd": str(project)}},
        item({"type": "message", "role": "user", "content": [{"type": "input_text", "text": "read the table"}]}),
        item({"type": "function_call", "name": "mcp__db__query", "arguments": "{}", "call_id": "call_1"}),
        item({"type": "function_call_output", "call_id": "call_1", "output": items}),
        item({"type": "function_call_output", "call_id": "call_2"}),  # no output at all
        item({"type": "function_call_output", "call_id": "call_3", "output": [1, None, {"text": 5}]}),
    ]
    rollout = tmp_path / "rollout.jsonl"
    rollout.write_text("".join(json.dumps(line) + "\n" for line in lines))
    payload = {"session_id": "cx-2", "transcript_path": str(rollout), "cwd": str(project),
               "hook_event_name": "PreCompact", "trigger": "auto"}
    out = run(project, "hook", "codex", stdin=json.dumps(payload))
    assert out.returncode == 0, out.stderr
    [row] = [json.loads(line) for line in (project / ".tether" / "memory" / "compactions.jsonl").read_text().splitlines()]
    [offloaded] = row["offloaded"]
    assert offloaded["line"] == 4
    kept = run(project, "show", offloaded["ref"]).stdout
    assert "row 2999" in kept and "iVBORw0KGgo" in kept and secret not in kept
    archive = run(project, "show", row["archive"]).stdout.splitlines()
    assert len(archive) == len(lines) and secret not in "\n".join(archive) and "row 1500:" not in archive[3]
    assert json.loads(archive[3])["payload"]["output"].startswith("[tether] Offloaded tool result (a JSON list")
    assert row["tokens_after"] < row["tokens_before"] / 10



def test_codex_pre_compact_saves_a_rollout_whose_items_have_unexpected_shapes(project, tmp_path):
    """Response items of shapes Codex does not write (a field of another type, one missing) are
    archived as they are: the hook still saves the session, redacted, and exits 0."""
    secret = "ab12cd34ef56gh78ij90"

    def item(payload):
        return {"type": "response_item", "payload": payload}

    lines = [item({"type": "message", "role": "user", "content": 5}),
             item({"type": "message", "role": "user", "content": "a plain string"}),
             item({"type": "message", "role": "assistant", "content": {"text": "x"}}),
             item({"type": "message", "role": ["user"], "content": []}),
             item({"type": "message", "role": "user", "content": [{"type": "input_text", "text": 5}, "str", None]}),
             item({"type": "function_call", "name": 5, "arguments": "[1, 2]", "call_id": 7}),
             item({"type": "function_call", "name": "shell", "arguments": "null"}),
             item({"type": "function_call", "name": "shell", "arguments": {"cmd": "ls"}}),
             item({"type": "custom_tool_call", "name": "apply_patch", "input": 5}),
             item({"type": "custom_tool_call", "name": "apply_patch", "input": ["*** Add File: q"]}),
             item({"type": "function_call_output", "output": {"content": 5}}),
             item({"type": "function_call_output", "output": None}),
             item({"type": "custom_tool_call_output", "output": f"token={secret} " + "y " * 200000}),
             item(None), {"type": "response_item"}, {"type": "compacted", "payload": {"message": 5}},
             item({"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "We decided to ship."}]})]
    rollout = tmp_path / "rollout.jsonl"
    rollout.write_text("".join(json.dumps(line) + "\n" for line in lines))
    payload = {"session_id": "cx-3", "transcript_path": str(rollout), "cwd": str(project), "hook_event_name": "PreCompact"}
    out = run(project, "hook", "codex", stdin=json.dumps(payload))
    assert out.returncode == 0, out.stderr
    [row] = [json.loads(line) for line in (project / ".tether" / "memory" / "compactions.jsonl").read_text().splitlines()]
    assert row["lines"] == len(lines) and len(row["offloaded"]) == 1
    archive = run(project, "show", row["archive"]).stdout
    assert secret not in archive and secret not in run(project, "show", row["offloaded"][0]["ref"]).stdout
    assert "We decided to ship." in run(project, "show", row["summary"]).stdout


TOKENIZERS = Path(__file__).resolve().parents[2] / "shared" / "bench" / "tokenizers"
if not TOKENIZERS.is_dir():
    TOKENIZERS = Path("/work/shared/bench/tokenizers")


def compacted_session(tmp_path) -> Path:
    from test_transcripts import claude_session

    path = tmp_path / "compacted.jsonl"
    path.write_bytes(jsonl(*claude_session()[:-2]))  # ends after the compaction: counted, not reported
    return path


def test_exact_without_a_tokenizer_says_how_to_get_one(project, tmp_path):
    empty = tmp_path / "no-vocabularies"
    empty.mkdir()
    out = run(project, "usage", str(compacted_session(tmp_path)), "--exact", env={"TETHER_TIKTOKEN_DIR": str(empty)})
    assert out.returncode == 1 and out.stderr.startswith("Error: --exact: ")
    assert "pip install 'tether[tokens]'" in out.stderr
    plain = json.loads(run(project, "usage", str(compacted_session(tmp_path)), "--json").stdout)
    assert (plain["source"], plain["method"], plain["compacted"]) == ("counted", "estimate", True)


@pytest.mark.skipif(not (TOKENIZERS / "o200k_base.tiktoken").is_file(), reason="no offline tokenizer files")
def test_exact_counts_with_tiktoken(project, tmp_path):
    pytest.importorskip("tiktoken")
    out = run(project, "usage", str(compacted_session(tmp_path)), "--exact", "--json",
              env={"TETHER_TIKTOKEN_DIR": str(TOKENIZERS)})
    data = json.loads(out.stdout)
    assert (data["source"], data["method"]) == ("counted", "tiktoken:o200k_base")


def test_prompt_hook_with_a_transcript_path_that_is_no_path(project):
    payload = {"session_id": "s", "cwd": str(project), "hook_event_name": "UserPromptSubmit",
               "transcript_path": "a\u0000b", "prompt": "hi"}
    out = run(project, "hook", "claude-code", stdin=json.dumps(payload))
    assert (out.returncode, out.stdout) == (1, "")
    assert out.stderr == "tether: hook input: 'transcript_path' contains a NUL byte, so it is no path; context not checked\n"
    # As for every event: a lone surrogate anywhere in the input is refused, in one line.
    payload["transcript_path"] = str(claude_transcript(project / "s.jsonl", 120_000))
    payload["prompt"] = "\ud800"
    out = run(project, "hook", "claude-code", stdin=json.dumps(payload))
    assert (out.returncode, out.stdout) == (1, "") and "a lone surrogate (\\ud800)" in out.stderr
    payload["prompt"] = "\U0001f600 fine"  # a character outside the BMP, escaped as a surrogate pair
    out = run(project, "hook", "claude-code", stdin=json.dumps(payload))
    assert out.returncode == 0 and "ORANGE" in said(out)


def test_status_line_leaves_out_what_is_no_path(project, tmp_path):
    transcript = claude_transcript(tmp_path / "s.jsonl", 30_000)
    line = status(project, status_input(project, transcript, transcript_path="\ud800"))
    assert line == ""
    assert status(project, status_input(project, transcript, model={"id": 7})) == "context 15% GREEN"


@pytest.mark.parametrize("tool,rel", [("claude-code", ".claude/settings.json"), ("codex", ".codex/hooks.json")])
def test_install_refuses_a_group_of_another_shape_and_changes_nothing(project, tool, rel):
    path = project / rel
    path.parent.mkdir()
    odd = {"matcher": "x", "hooks": 5}
    path.write_text(json.dumps({"hooks": {"PreCompact": [odd]}}))
    before = path.read_bytes()
    out = run(project, "install", tool, "--json", *(["--no-instructions"] if tool == "claude-code" else []))
    assert out.returncode == 1, out.stdout + out.stderr
    assert "hooks.PreCompact[0].hooks must be a list" in json.loads(out.stdout)["error"]
    assert path.read_bytes() == before


def test_pre_compact_keeps_the_agents_message_written_since_the_last_checkpoint(project, tmp_path, monkeypatch):
    """As at CRITICAL: nothing recorded since CKP-0001, but the agent said where it stands after it."""
    calculator_at_nine(project, monkeypatch)
    transcript = critical_transcript(tmp_path / "s.jsonl", "Div is wired; next, the README.",
                                     "2026-03-02T09:40:12.345Z")
    proc = run(project, "hook", "claude-code", stdin=json.dumps({
        "hook_event_name": "PreCompact", "trigger": "auto", "session_id": "s1", "cwd": str(project),
        "transcript_path": str(transcript)}))
    assert proc.returncode == 0, proc.stderr
    latest = Workspace.open(project).latest_checkpoint("T1")
    assert (latest.id, latest.automatic) == ("CKP-0002", "pre_compact:auto")
    assert "The agent's last message: Div is wired; next, the README." in latest.note
