"""Claude Code hooks, run the way Claude Code runs them: a real process, the event's JSON on stdin.

What a user relies on: SessionStart puts the brief (with the active task's resume line) into the
session within Claude Code's 10,000-character limit, whatever started the session; PreCompact
checkpoints the active task without losing progress; SessionEnd is recorded; the hook never gets in
the way (exit 0 and silence where tether has nothing to do, exit 1 and one line on failure, never
exit 2, which Claude Code treats as "block"); `tether install claude-code` merges its hooks into
.claude/settings.json without touching the user's own, and is idempotent.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tether import Workspace

SAMPLE_LOG = (Path(__file__).resolve().parents[2] / "shared" / "bench" / "transcripts" / "claude-code"
              / "fasthooks" / "sample_hook_logs.jsonl")
HOOK = [sys.executable, "-m", "tether", "hook", "claude-code"]
INSTALL = [sys.executable, "-m", "tether", "install", "claude-code"]
HOOK_COMMAND = "tether-hook claude-code"  # the default on POSIX (bin/tether-hook)
SOURCES = ("startup", "resume", "clear", "compact")
LIMIT = 10_000


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    # Self-contained: the hook processes inherit this environment, never the developer's.
    for name in list(os.environ):
        if name.startswith("TETHER_") or name.startswith("GIT_"):
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for role in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{role}_NAME", "Test User")
        monkeypatch.setenv(f"GIT_{role}_EMAIL", "test@example.com")
    monkeypatch.setenv("TETHER_FSYNC", "0")  # hook processes: no fsync, these tests are not about durability
    monkeypatch.setenv("TETHER_DEVICE", "test-machine")


@pytest.fixture
def project(tmp_path) -> Path:
    """A git repository with an initialised tether workspace."""
    root = tmp_path / "repo"
    root.mkdir()
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    Workspace.init(root)
    return root


@pytest.fixture
def working(project) -> Path:
    """A workspace with one task halfway through: items 1-2 of 5 done, next actions recorded."""
    ws = Workspace.open(project)
    ws.start_task("Summarise docs", items=[f"doc{i}.pdf" for i in range(1, 6)], task_id="T100")
    ws.checkpoint(done=["1-2"], state="doc1 and doc2 summarised", key_data={"out": "out/summaries.md"},
                  next_actions=["summarise doc3.pdf", "then doc4.pdf"])
    return project


def run_hook(payload, cwd: Path) -> subprocess.CompletedProcess:
    data = payload if isinstance(payload, str) else json.dumps(payload)
    return subprocess.run(HOOK, input=data, capture_output=True, text=True, cwd=cwd, timeout=60)


def run_install(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*INSTALL, *args], capture_output=True, text=True, cwd=cwd, timeout=60)


#: What PreCompact says of the events here: their transcript_path is not on this machine.
NOT_HERE = ("tether: the transcript was not saved before compaction: the transcript_path it names is not a file"
            " on this machine\n")


def event(name: str, cwd: Path, **fields) -> dict:
    """An event shaped the way Claude Code's hooks reference documents it."""
    return {"session_id": "sess-1234", "transcript_path": "/home/u/.claude/projects/p/sess-1234.jsonl",
            "cwd": str(cwd), "hook_event_name": name, **fields}


def events(repo: Path) -> list[dict]:
    path = repo / ".tether" / "memory" / "events.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def session_log(repo: Path) -> list[dict]:
    """The per-machine log hooks write to (git-ignored: hooks change no tracked file)."""
    path = repo / ".tether" / "local" / "sessions.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def store_files(repo: Path) -> dict[str, bytes]:
    store = repo / ".tether"
    return {p.relative_to(store).as_posix(): p.read_bytes() for p in sorted(store.rglob("*")) if p.is_file()}


def context_of(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 0, proc.stderr
    payload = json.loads(proc.stdout)
    assert payload["hookSpecificOutput"]["hookEventName"] == "SessionStart"
    return payload["hookSpecificOutput"]["additionalContext"]


def latest(repo: Path, task_id: str):
    return Workspace.open(repo).latest_checkpoint(task_id)


# -- the real hook inputs ------------------------------------------------------------------------

def sample_lines() -> list[dict]:
    if not SAMPLE_LOG.is_file():
        pytest.skip(f"real hook log not present: {SAMPLE_LOG}")
    return [json.loads(line) for line in SAMPLE_LOG.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.mark.parametrize("shape", ["as logged", "as sent"])
def test_real_hook_inputs(working, shape):
    """Every line of a real Claude Code hook log, in order, against a workspace with work in progress.

    The log records the event name under "event"; Claude Code itself sends "hook_event_name".
    """
    lines = sample_lines()
    assert {"SessionStart", "PreCompact"} <= {line["event"] for line in lines}
    for line in lines:
        payload = {**line, "cwd": str(working)}
        if shape == "as sent":
            payload["hook_event_name"] = payload.pop("event")
            payload.pop("ts", None)
        name = line["event"]
        checkpoints = len(Workspace.open(working).store.checkpoint_names("T100"))
        before = store_files(working)  # after the open above, which may keep the parsed config
        proc = run_hook(payload, working)
        assert proc.returncode == 0, (name, proc.stderr)
        # the log kept no transcript_path for its PreCompact events: then nothing can be saved, and it says so
        unsaved = name == "PreCompact" and not payload.get("transcript_path")
        assert proc.stderr == ("tether: the transcript was not saved before compaction: the event names no"
                               " transcript_path\n" if unsaved else "")
        if name == "SessionStart":
            context = context_of(proc)
            assert Workspace.open(working).resume().message() in context and len(context) < LIMIT
            last = session_log(working)[-1]
            assert (last["event"], last["session"], last["source"]) == ("session_start", line["session_id"],
                                                                       line["source"])
        elif name == "PreCompact":
            # Nothing was recorded since the last checkpoint (CKP-0001, or the tool calls' automatic
            # one): no copy of it under a new number, and it says so.
            assert re.match(r"tether: no progress recorded since CKP-000\d, ", proc.stdout), proc.stdout
            assert len(Workspace.open(working).store.checkpoint_names("T100")) == checkpoints
            last = session_log(working)[-1]
            assert (last["event"], last["session"], last["trigger"], last["checkpoint"]) == (
                "pre_compact", line["session_id"], line["trigger"], None)
        elif name in ("PreToolUse", "PostToolUse"):
            # Each call joins the session's trail (per machine); an automatic checkpoint is made
            # only when one is due (every 4 calls that changed something, or before a risky command).
            after = store_files(working)
            changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
            made = len(Workspace.open(working).store.checkpoint_names("T100")) > checkpoints
            assert made or all(k.startswith("local/") for k in changed), (name, changed)
            if made:
                assert latest(working, "T100").automatic.startswith(("tool_calls:", "before_risky:"))
        else:
            assert proc.stdout == ""
            assert store_files(working) == before, f"{name} must not write anything"


# -- SessionStart ----------------------------------------------------------------------------------

@pytest.mark.parametrize("source", SOURCES)
def test_session_start_injects_the_brief_for_every_source(working, source):
    proc = run_hook(event("SessionStart", working, source=source), working)
    context = context_of(proc)
    assert Workspace.open(working).resume().message() in context
    assert "Resuming Summarise docs (T100) from item 3 of 5" in context
    assert len(context) < LIMIT
    assert proc.stderr == ""
    last = session_log(working)[-1]
    assert (last["event"], last["session"], last["source"]) == ("session_start", "sess-1234", source)


def test_session_start_from_a_subdirectory(working):
    deep = working / "src" / "pkg"
    deep.mkdir(parents=True)
    context = context_of(run_hook(event("SessionStart", deep, source="startup"), deep))
    assert "Resuming Summarise docs (T100)" in context


@pytest.mark.parametrize("budget", [None, 1_000_000])
def test_session_start_stays_under_the_limit_on_a_huge_workspace(project, monkeypatch, budget):
    """Long notes and decisions and many open tasks: still under 10,000 characters, active task shown.

    With a huge token budget in the config, the character limit is what holds the brief back. The
    active task is an old one that 39 newer tasks would push out of a list capped by recency.
    """
    if budget is not None:
        config = project / ".tether" / "tether.toml"
        config.write_text(re.sub(r"budget = \d+", f"budget = {budget}", config.read_text()))
    ws = Workspace.open(project)
    long = "lorem ipsum dolor sit amet " * 200
    for n in range(40):
        monkeypatch.setenv("TETHER_NOW", f"2026-01-01T10:{n:02d}:00Z")
        ws.start_task(f"Task {n:02d} {long[:300]}", steps=["a", "b", "c"], task_id=f"T{n:03d}")
        if n == 5:
            ws.checkpoint("T005", done=["1"], state="step a done", next_actions=["do b"])
    for n in range(30):
        ws.note("gotcha", f"gotcha {n} {long}")
        ws.note("dont", f"dont {n} {long}")
        ws.decide(f"Question {n}? {long[:1000]}", f"answer {n}", rationale=long, decision_id=f"D{n:03d}")
    monkeypatch.delenv("TETHER_NOW")
    ws.set_active("T005")
    resume = ws.resume().message()
    assert resume.startswith("Resuming Task 05")
    context = context_of(run_hook(event("SessionStart", project, source="compact"), project))
    assert len(context) < LIMIT
    assert resume in context
    assert "Left out" in context  # it says what it dropped


def test_session_start_on_a_degraded_workspace_names_the_problem(working):
    broken = working / ".tether" / "decisions" / "D-broken.md"
    broken.write_text("---\nid: \"D-broken\"\nquestion: [\n")
    context = context_of(run_hook(event("SessionStart", working, source="startup"), working))
    assert ".tether/decisions/D-broken.md" in context
    assert "Resuming Summarise docs (T100)" in context
    assert session_log(working)[-1]["degraded"] is True


# -- PreCompact --------------------------------------------------------------------------------------

def test_pre_compact_with_nothing_recorded_since_the_last_checkpoint_makes_no_copy(working):
    before = store_files(working)
    proc = run_hook(event("PreCompact", working, trigger="auto"), working)
    assert (proc.returncode, proc.stderr) == (0, NOT_HERE)
    assert proc.stdout == "tether: no progress recorded since CKP-0001, just now\n"
    after = store_files(working)
    assert {k for k in after if after[k] != before.get(k) and not k.startswith(("local/", "locks/"))} == set()
    assert latest(working, "T100").id == "CKP-0001"
    last = session_log(working)[-1]
    assert last == {**last, "event": "pre_compact", "trigger": "auto", "task": "T100", "checkpoint": None,
                    "said": "no progress recorded since CKP-0001, just now", "session": "sess-1234"}


def test_pre_compact_without_a_transcript_path_says_nothing_was_saved(working):
    payload = event("PreCompact", working, trigger="auto")
    del payload["transcript_path"]
    proc = run_hook(payload, working)
    assert proc.returncode == 0
    assert proc.stderr == "tether: the transcript was not saved before compaction: the event names no transcript_path\n"


@pytest.mark.parametrize("trigger", ["manual", "auto"])
def test_pre_compact_checkpoints_what_was_recorded_since_marked_automatic(working, trigger):
    ws = Workspace.open(working)
    before = latest(working, "T100")
    ws.checkpoint("T100", files=["out/summaries.md: doc1-2"], results={"notes.txt": b"doc1: ok\n"},
                  state="doc1 and doc2 summarised", next_actions=["summarise doc3.pdf"])
    base = latest(working, "T100")
    decision = ws.decide("Which OCR?", "tesseract")
    payload = event("PreCompact", working, trigger=trigger,
                    custom_instructions="keep the OCR findings" if trigger == "manual" else "")
    proc = run_hook(payload, working)
    assert (proc.returncode, proc.stderr) == (0, NOT_HERE)
    after = latest(working, "T100")
    assert proc.stdout == f"tether: automatic checkpoint {after.id} (1 record(s) since {base.id})\n"
    assert after.number == base.number + 1 == before.number + 2
    assert after.automatic == f"pre_compact:{trigger}"
    # nothing new is presented as done: the previous state, files and results are kept as they were
    assert (after.done, after.current_state, after.next) == (base.done, base.current_state, base.next)
    assert after.files == base.files and after.results == base.results and after.key_data == base.key_data
    assert f"decision {decision.id}" in after.note
    assert ("keep the OCR findings" in after.note) == (trigger == "manual")
    text = Workspace.open(working).checkpoint_text(after)
    assert f"**Made:** automatically before context compaction (trigger: {trigger})" in text
    message = Workspace.open(working).resume().message()
    assert message.startswith("Resuming Summarise docs (T100) from item 3 of 5")
    assert (f"last checkpoint {base.id}: {base.current_state}; 1 automatic checkpoint since:"
            f" {after.id} (before compaction, {after.created[11:16]} UTC)") in message
    assert after.state_from == base.name
    last = session_log(working)[-1]
    assert last == {**last, "event": "pre_compact", "trigger": trigger, "task": "T100",
                    "checkpoint": after.name, "session": "sess-1234"}


def test_pre_compact_keeps_a_blocked_status(working):
    ws = Workspace.open(working)
    ws.checkpoint("T100", state="waiting for OCR", status="blocked")
    ws.note("blocker", "the OCR service is down")
    assert run_hook(event("PreCompact", working, trigger="auto"), working).returncode == 0
    after = latest(working, "T100")
    assert (after.status, after.done, after.current_state, after.automatic) == (
        "blocked", "1-2", "waiting for OCR", "pre_compact:auto")


def test_pre_compact_on_a_task_without_checkpoints(project):
    Workspace.open(project).start_task("Fresh", steps=["one", "two"], task_id="T1")
    proc = run_hook(event("PreCompact", project, trigger="auto"), project)
    assert (proc.returncode, proc.stdout) == (0, "tether: no progress recorded on T1 yet\n")
    assert latest(project, "T1") is None
    assert Workspace.open(project).resume().next_number == 1


def test_pre_compact_without_an_open_task_records_only_the_event(project):
    before = store_files(project)
    proc = run_hook(event("PreCompact", project, trigger="auto"), project)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", NOT_HERE)
    after = store_files(project)
    changed = {k for k in after if after[k] != before.get(k) and not k.startswith(("locks/",))}
    assert {k for k in changed if not k.startswith("local/")} == set()  # no tracked file changes
    assert "local/sessions.jsonl" in changed
    last = session_log(project)[-1]
    assert last == {**last, "event": "pre_compact", "task": None, "checkpoint": None}


# -- SessionEnd ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("reason", ["clear", "logout", "prompt_input_exit", "other"])
def test_session_end_is_recorded_per_machine_and_folded_by_the_next_close(working, reason):
    count = len(events(working))
    assert run_hook(event("SessionStart", working, source="startup"), working).returncode == 0
    proc = run_hook(event("SessionEnd", working, reason=reason), working)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")
    assert len(events(working)) == count  # the tracked memory log is untouched
    rows = session_log(working)
    assert rows[-1] == {**rows[-1], "event": "session_end", "reason": reason, "session": "sess-1234"}
    Workspace.open(working).close("later session")
    folded = [e for e in events(working) if e["event"] == "session"]
    assert len(folded) == 1
    assert folded[0] == {**folded[0], "session": "sess-1234", "starts": 1, "sources": ["startup"], "ended": reason}
    assert "/home/" not in (working / ".tether" / "memory" / "events.jsonl").read_text()
    Workspace.open(working).close("and another")  # folded once only
    assert len([e for e in events(working) if e["event"] == "session"]) == 1


def test_session_start_persists_the_session_id_for_the_agents_commands(working, tmp_path):
    env_file = tmp_path / "claude-env"
    env = {**os.environ, "CLAUDE_ENV_FILE": str(env_file)}
    for source in ("startup", "compact"):  # said once
        proc = subprocess.run(HOOK, input=json.dumps(event("SessionStart", working, source=source)),
                              capture_output=True, text=True, cwd=working, env=env, timeout=60)
        assert proc.returncode == 0, proc.stderr
    assert env_file.read_text() == "export TETHER_SESSION_ID=sess-1234\n"
    # what Claude Code does before each Bash command of the session: source the file, then run it
    script = f". {env_file} && {sys.executable} -m tether checkpoint --done 3 --state doc3 --json"
    out = subprocess.run(["sh", "-c", script], capture_output=True, text=True, cwd=working, timeout=60)
    assert out.returncode == 0, out.stderr
    assert latest(working, "T100").session == "sess-1234"


def test_session_start_after_another_hooks_line_without_a_line_break(working, tmp_path):
    env_file = tmp_path / "claude-env"
    env_file.write_text("export OTHER=1")  # another SessionStart hook's line, its break missing
    env = {**os.environ, "CLAUDE_ENV_FILE": str(env_file)}
    for source in ("startup", "resume"):
        proc = subprocess.run(HOOK, input=json.dumps(event("SessionStart", working, source=source)),
                              capture_output=True, text=True, cwd=working, env=env, timeout=60)
        assert proc.returncode == 0, proc.stderr
    assert env_file.read_text() == "export OTHER=1\nexport TETHER_SESSION_ID=sess-1234\n"
    shown = subprocess.run(["sh", "-c", f'. {env_file} && echo "$OTHER $TETHER_SESSION_ID"'], capture_output=True,
                           text=True, timeout=60)
    assert shown.stdout == "1 sess-1234\n"


# -- staying out of the way -------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["SessionStart", "PreCompact", "SessionEnd"])
def test_outside_a_workspace_the_hook_is_silent(tmp_path, name):
    elsewhere = tmp_path / "not-a-workspace"
    elsewhere.mkdir()
    proc = run_hook(event(name, elsewhere, source="startup", trigger="auto", reason="other"), elsewhere)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")
    assert list(elsewhere.iterdir()) == []


@pytest.mark.parametrize("payload", [
    {"hook_event_name": "PreToolUse", "tool_name": "Bash", "tool_input": {"command": "ls"}},
    {"hook_event_name": "UserPromptSubmit", "prompt": "hello"},
    {"hook_event_name": "Stop", "stop_hook_active": False},
    {"hook_event_name": "SubagentStop"},
    {"hook_event_name": "Notification", "message": "Claude is waiting for your input"},
    {"event": "Stop"},
    {},
])
def test_unhandled_events_do_nothing(working, payload):
    if isinstance(payload, dict):
        payload = {"session_id": "sess-1234", "cwd": str(working), **payload}
    before = store_files(working)
    proc = run_hook(payload, working)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")
    assert store_files(working) == before


@pytest.mark.parametrize("raw", ["not json", "{", '{"hook_event_name": "SessionStart",', "[1, 2]", '"SessionStart"',
                                 "", " \n"])
def test_invalid_input_exits_1_with_one_line(working, raw):
    before = store_files(working)
    proc = run_hook(raw, working)
    assert proc.returncode == 1  # never 2: Claude Code would treat that as blocking
    assert proc.stdout == ""
    assert len(proc.stderr.splitlines()) == 1 and proc.stderr.startswith("tether:")
    assert store_files(working) == before


def test_a_damaged_task_file(working):
    task_md = working / ".tether" / "tasks" / "T100" / "task.md"
    task_md.write_text("<<<<<<< HEAD\n" + task_md.read_text())
    # SessionStart still briefs, naming the damaged file; PreCompact still checkpoints (a
    # checkpoint is never lost to a damaged task file) and names it.
    context = context_of(run_hook(event("SessionStart", working, source="resume"), working))
    assert ".tether/tasks/T100/task.md:1" in context
    Workspace.open(working).decide("Which OCR?", "tesseract")  # recorded since the last checkpoint
    before = sorted(p.name for p in (task_md.parent / "checkpoints").iterdir())
    proc = run_hook(event("PreCompact", working, trigger="auto"), working)
    assert proc.returncode == 0, proc.stderr
    assert "T100's task file does not read: .tether/tasks/T100/task.md:1" in proc.stdout
    after = sorted(p.name for p in (task_md.parent / "checkpoints").iterdir())
    assert len(after) == len(before) + 1 and "pre_compact:auto" in (task_md.parent / "checkpoints" / after[-1]).read_text()
    assert proc.stdout.startswith("tether: automatic checkpoint CKP-0002 (1 record(s) since CKP-0001)")


def test_a_write_failure_exits_1_with_one_line(working):
    log = working / ".tether" / "local" / "sessions.jsonl"
    log.unlink(missing_ok=True)
    log.mkdir(parents=True)  # appending to it now fails with an OSError
    proc = run_hook(event("SessionEnd", working, reason="other"), working)
    assert proc.returncode == 1
    assert len(proc.stderr.splitlines()) == 1 and "SessionEnd" in proc.stderr


# -- install -------------------------------------------------------------------------------------------

def settings(repo: Path) -> dict:
    return json.loads((repo / ".claude" / "settings.json").read_text())


def tether_groups(config: dict, name: str) -> list[dict]:
    return [g for g in config["hooks"].get(name, [])
            if any(h.get("command") == HOOK_COMMAND for h in g.get("hooks", []))]


def test_install_creates_the_settings(project):
    proc = run_install(project)
    assert proc.returncode == 0, proc.stderr
    config = settings(project)
    for name in ("SessionStart", "PreCompact", "PostCompact", "SessionEnd", "PostToolUse", "PreToolUse",
                 "UserPromptSubmit"):
        groups = tether_groups(config, name)
        assert len(groups) == 1, name
        assert groups[0]["hooks"] == [{**groups[0]["hooks"][0], "type": "command", "command": HOOK_COMMAND}]
    matcher = tether_groups(config, "SessionStart")[0]["matcher"]
    # Claude Code matches the matcher as a regular expression against the source.
    assert all(re.fullmatch(matcher, source) for source in SOURCES)
    matcher = tether_groups(config, "PreCompact")[0].get("matcher", "")
    assert not matcher or all(re.fullmatch(matcher, t) for t in ("manual", "auto"))


def test_installed_hook_runs_as_claude_code_runs_it(working):
    """Run the installed command through a shell, with the venv's bin on PATH, as Claude Code would."""
    assert run_install(working).returncode == 0
    command = tether_groups(settings(working), "SessionStart")[0]["hooks"][0]["command"]
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    proc = subprocess.run(command, shell=True, input=json.dumps(event("SessionStart", working, source="startup")),
                          capture_output=True, text=True, cwd=working, env=env, timeout=60)
    assert "Resuming Summarise docs (T100)" in context_of(proc)


USER_SETTINGS = {
    "model": "claude-sonnet-4-5",
    "permissions": {"allow": ["Bash(npm test:*)"], "deny": ["Read(./.env)"]},
    "env": {"FOO": "bar"},
    "hooks": {
        "PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "./scripts/check-bash.sh"}]}],
        "SessionStart": [{"matcher": "startup", "hooks": [{"type": "command", "command": "echo 'welcome back'"}]}],
    },
}


def test_install_keeps_the_users_settings_and_hooks(project):
    path = project / ".claude" / "settings.json"
    path.parent.mkdir()
    path.write_text(json.dumps(USER_SETTINGS, indent=4))
    assert run_install(project).returncode == 0, "install"
    config = settings(project)
    assert {k: v for k, v in config.items() if k != "hooks"} == {k: v for k, v in USER_SETTINGS.items() if k != "hooks"}
    user = USER_SETTINGS["hooks"]["PreToolUse"]
    assert config["hooks"]["PreToolUse"][:len(user)] == user  # the user's own first, unchanged
    # The user's SessionStart hook stays first and unchanged; tether's is added beside it.
    assert config["hooks"]["SessionStart"][0] == USER_SETTINGS["hooks"]["SessionStart"][0]
    assert len(config["hooks"]["SessionStart"]) == 2
    assert all(len(tether_groups(config, name)) == 1 for name in ("SessionStart", "PreCompact", "SessionEnd", "UserPromptSubmit"))


def test_install_is_idempotent(project):
    path = project / ".claude" / "settings.json"
    path.parent.mkdir()
    path.write_text(json.dumps(USER_SETTINGS, indent=2) + "\n")
    assert run_install(project).returncode == 0
    first = path.read_bytes()
    second = run_install(project, "--json")
    assert second.returncode == 0
    assert path.read_bytes() == first
    assert json.loads(second.stdout)["added"] == []


def test_install_from_a_subdirectory_writes_at_the_root(project):
    sub = project / "src"
    sub.mkdir()
    proc = run_install(sub, "--json")
    assert proc.returncode == 0
    out = json.loads(proc.stdout)
    assert out["ok"] is True and out["command"] == "install" and out["hook_command"] == HOOK_COMMAND
    assert Path(out["path"]) == project / ".claude" / "settings.json"
    assert sorted(out["added"]) == ["PostCompact", "PostToolUse", "PreCompact", "PreToolUse", "SessionEnd",
                                    "SessionStart", "UserPromptSubmit"]
    assert not (sub / ".claude").exists()


def test_install_with_a_custom_command(project):
    command = f"{sys.executable} -m tether hook claude-code"
    assert run_install(project, "--command", command).returncode == 0
    config = settings(project)
    assert config["hooks"]["PreCompact"][0]["hooks"][0]["command"] == command


def test_install_again_with_another_command_replaces_tethers_entries(project):
    """The fix for a `tether` not on Claude Code's PATH: install again with the full path; no second set."""
    path = project / ".claude" / "settings.json"
    path.parent.mkdir()
    path.write_text(json.dumps(USER_SETTINGS, indent=2) + "\n")
    assert run_install(project).returncode == 0
    command = f"{Path(sys.executable).parent / 'tether'} hook claude-code"
    proc = run_install(project, "--command", command, "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["replaced"] == [HOOK_COMMAND]
    config = settings(project)
    for name in ("SessionStart", "PreCompact", "SessionEnd", "UserPromptSubmit"):
        commands = [h["command"] for g in config["hooks"][name] for h in g["hooks"]]
        assert HOOK_COMMAND not in commands and commands.count(command) == 1, name
    assert config["hooks"]["SessionStart"][0] == USER_SETTINGS["hooks"]["SessionStart"][0]
    user = USER_SETTINGS["hooks"]["PreToolUse"]
    assert config["hooks"]["PreToolUse"][:len(user)] == user  # the user's own first, unchanged


def test_install_without_tether_on_path_says_the_command_that_fixes_it(project):
    program = Path(sys.executable).parent / "tether"
    if not program.exists():
        pytest.skip("tether's console script is not installed beside this interpreter")
    env = {**os.environ, "PATH": os.pathsep.join(["/usr/bin", "/bin"])}
    proc = subprocess.run(INSTALL, capture_output=True, text=True, cwd=project, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "not on PATH" in proc.stdout
    assert f'{program} install claude-code --command "{program}-hook claude-code"' in proc.stdout


@pytest.mark.parametrize("text,line", [
    ('{\n  "model": "x",\n  "hooks": {\n    "PreToolUse": []\n  }', 5),  # truncated: no closing brace
    ('{\n  "model": "x",,\n}\n', 2),
])
def test_install_refuses_invalid_json_and_leaves_it_untouched(project, text, line):
    path = project / ".claude" / "settings.json"
    path.parent.mkdir()
    path.write_text(text)
    proc = run_install(project)
    assert proc.returncode == 1
    assert f"{path}:{line}" in proc.stderr.splitlines()[0]
    assert path.read_text() == text
    as_json = json.loads(run_install(project, "--json").stdout)
    assert as_json["ok"] is False and as_json["exit_code"] == 1 and as_json["kind"] == "invalid_input"
    assert path.read_text() == text


@pytest.mark.parametrize("data", [b'{"hooks": []}', b'["not", "an", "object"]', b'{"model": "caf\xe9"}',
                                  b'{"hooks": {"SessionStart": {}}}'])
def test_install_refuses_unusable_settings(project, data):
    path = project / ".claude" / "settings.json"
    path.parent.mkdir()
    path.write_bytes(data)
    proc = run_install(project)
    assert proc.returncode == 1, proc.stderr
    assert str(path) in proc.stderr and "Traceback" not in proc.stderr
    assert path.read_bytes() == data


def test_install_outside_a_workspace_says_so(tmp_path):
    proc = run_install(tmp_path)
    assert proc.returncode == 1
    assert "tether init" in proc.stderr
    assert not (tmp_path / ".claude").exists()


# -- the launcher (bin/tether-hook) ---------------------------------------------------------------------

LAUNCHER = Path(sys.executable).parent / "tether-hook"


def test_the_launcher_is_installed_beside_tether_and_answers_as_tether_hook_does(working):
    """`tether-hook claude-code` is what `tether install` writes on POSIX: it must be installed
    wherever the `tether` script is, and give the same answer as `tether hook claude-code`."""
    if not (Path(sys.executable).parent / "tether").exists():
        pytest.skip("tether is not installed beside this interpreter (run from a source tree)")
    assert LAUNCHER.exists(), "pip installed `tether` without bin/tether-hook (pyproject script-files)"
    payload = json.dumps(event("SessionStart", working, source="startup"))
    via_launcher = subprocess.run([str(LAUNCHER), "claude-code"], input=payload, capture_output=True, text=True,
                                  cwd=working, timeout=60)
    via_tether = run_hook(json.loads(payload), working)
    assert via_launcher.returncode == 0 == via_tether.returncode, via_launcher.stderr
    assert "Summarise docs" in via_launcher.stdout
    assert via_launcher.stdout == via_tether.stdout
    status = json.dumps({"session_id": "s", "model": {"id": "claude-sonnet-4-5"}, "workspace": {"current_dir": str(working)}})
    line = subprocess.run([str(LAUNCHER), "statusline"], input=status, capture_output=True, text=True,
                          cwd=working, timeout=60)
    same = subprocess.run([sys.executable, "-m", "tether", "statusline"], input=status, capture_output=True,
                          text=True, cwd=working, timeout=60)
    assert line.returncode == 0 and line.stdout == same.stdout and line.stdout.strip()
    # Its first line is `#!python` in the source; pip rewrites it to the install's interpreter.
    interpreter = LAUNCHER.read_text().splitlines()[0][2:].split()[0]
    assert Path(interpreter).is_absolute() and Path(interpreter).exists()


def test_install_replaces_the_older_hook_command_with_the_launcher(project):
    """Settings written by an older tether (`tether hook claude-code`) are taken over, not doubled."""
    path = project / ".claude" / "settings.json"
    path.parent.mkdir()
    old = "tether hook claude-code"
    path.write_text(json.dumps({"hooks": {
        "SessionStart": [{"matcher": "startup|resume|clear|compact", "hooks": [{"type": "command", "command": old}]}],
        "PreToolUse": USER_SETTINGS["hooks"]["PreToolUse"]}}, indent=2))
    proc = run_install(project, "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["replaced"] == [old]
    config = settings(project)
    commands = [h["command"] for groups in config["hooks"].values() for g in groups for h in g["hooks"]]
    assert old not in commands and commands.count(HOOK_COMMAND) == 7
    assert config["hooks"]["PreToolUse"][:len(USER_SETTINGS["hooks"]["PreToolUse"])] == USER_SETTINGS["hooks"]["PreToolUse"]
    assert subprocess.run([sys.executable, "-m", "tether", "uninstall", "claude-code"], cwd=project,
                          capture_output=True, timeout=60).returncode == 0
    left = [h["command"] for groups in settings(project).get("hooks", {}).values() for g in groups for h in g["hooks"]]
    assert HOOK_COMMAND not in left and left  # the user's own stay


def test_the_mcp_server_and_status_line_follow_the_launchers_place():
    from tether.hooks.install import mcp_command, status_line_command

    assert mcp_command("tether-hook claude-code") == ["tether", "mcp"]
    assert mcp_command("/opt/venv/bin/tether-hook codex") == ["/opt/venv/bin/tether", "mcp"]
    assert mcp_command("/opt/venv/bin/tether hook codex") == ["/opt/venv/bin/tether", "mcp"]
    assert status_line_command("/opt/venv/bin/tether-hook claude-code") == "/opt/venv/bin/tether-hook statusline"
    assert status_line_command("python -m tether hook claude-code") == "python -m tether statusline"
    assert status_line_command("mine.sh") == "tether statusline"


def test_a_config_that_does_not_read_is_the_users_to_fix_not_a_crash(working):
    """A typo or a merge conflict in tether.toml: the session is told why it has no brief and
    what to do; the other hooks say it in one line; `tether verify` reports it with exit 3."""
    config = working / ".tether" / "tether.toml"
    config.write_text(config.read_text() + "this is not = = toml\n")
    start = run_hook(event("SessionStart", working, source="startup"), working)
    assert start.returncode == 0
    context = json.loads(start.stdout)["hookSpecificOutput"]["additionalContext"]
    assert "could not brief this session" in context and "tether.toml:" in context and "tether boot" in context
    assert "internal error" not in start.stderr and "did nothing" not in start.stderr
    assert "tether.toml:" in start.stderr and "told it has no brief" in start.stderr
    pre = run_hook(event("PreCompact", working, trigger="auto"), working)
    assert pre.returncode == 1 and "internal error" not in pre.stderr
    assert len(pre.stderr.strip().splitlines()) == 1 and "tether.toml:" in pre.stderr
    verify = subprocess.run([sys.executable, "-m", "tether", "verify", "--json"], cwd=working, capture_output=True,
                            text=True, timeout=60)
    assert verify.returncode == 3
    [problem] = json.loads(verify.stdout)["problems"]
    assert problem["path"] == ".tether/tether.toml" and problem["message"].startswith("invalid TOML")
    assert problem["line"] == len(config.read_text().splitlines())  # the line appended above, as in the message


def test_pre_compact_commits_the_compaction_instructions_redacted(working):
    Workspace.open(working).decide("Which OCR?", "tesseract")  # something new: a checkpoint is made
    home, token = str(Path.home()), "sk_live_" + "aB3dE5fG7hJ9kL1mN3pQ5rS7"
    payload = event("PreCompact", working, trigger="manual", custom_instructions=f"keep {home}/ocr.md and {token}")
    assert run_hook(payload, working).returncode == 0
    note = latest(working, "T100").note
    assert "Compaction instructions: keep ~/ocr.md and [REDACTED: Stripe Access Key]" in note, note


def test_the_hooks_name_a_pins_line_they_leave_out(working, tmp_path):
    """PreCompact's summary and the compacted session's first context carry the pins: a line of the
    pins log that does not read is named (path:line), not silently dropped."""
    ws = Workspace.open(working)
    from tether.compaction import Compactor

    Compactor(ws).pin("Never change load(path)")
    with open(working / ".tether" / "memory" / "pins.jsonl", "a") as fh:
        fh.write("garbage\n")
    transcript = tmp_path / "sess-1234.jsonl"
    transcript.write_text(json.dumps({"type": "user", "uuid": "u1", "message": {"role": "user", "content": "Go on"}})
                          + "\n", encoding="utf-8")
    proc = run_hook(event("PreCompact", working, trigger="auto", transcript_path=str(transcript)), working)
    assert proc.returncode == 0
    said = ".tether/memory/pins.jsonl:2: invalid JSON (torn or hand-edited line); line skipped"
    assert f"tether: {said}\n" in proc.stderr
    context = context_of(run_hook(event("SessionStart", working, source="compact"), working))
    assert "Never change load(path)" in context and said in context
