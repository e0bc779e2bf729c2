"""A Claude Code session scripted end to end: the real hook inputs of a recorded session, and the
commands the agent runs itself as the brief and CLAUDE.md tell it to, in the environment Claude Code
gives them (CLAUDE_ENV_FILE sourced before each command).

The measure of the issue "tether inside a real agent session":
- tracked files changed by hooks alone: 0 (git status and the tracked files' bytes, before and after
  each hook run);
- records whose session id is not Claude Code's: 0 (memory log, checkpoints, LATEST.json, the close
  commit's trailer);
- the home directory or the host name in a tracked file: 0.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

SAMPLE_LOG = (Path(__file__).resolve().parents[2] / "shared" / "bench" / "transcripts" / "claude-code"
              / "fasthooks" / "sample_hook_logs.jsonl")
TETHER = [sys.executable, "-m", "tether"]
REAL_HOME = os.path.expanduser("~")


@pytest.fixture
def env(tmp_path, monkeypatch) -> dict:
    for name in list(os.environ):
        if name.startswith(("TETHER_", "GIT_", "CLAUDE_")):
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    values = {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"), "GIT_CONFIG_NOSYSTEM": "1",
              "TETHER_FSYNC": "0", "CLAUDE_ENV_FILE": str(tmp_path / "claude-env")}
    for role in ("AUTHOR", "COMMITTER"):
        values[f"GIT_{role}_NAME"] = "Test User"
        values[f"GIT_{role}_EMAIL"] = "test@example.com"
    return values


def hook_lines() -> list[dict]:
    if not SAMPLE_LOG.is_file():
        pytest.skip(f"real hook log not present: {SAMPLE_LOG}")
    return [json.loads(line) for line in SAMPLE_LOG.read_text(encoding="utf-8").splitlines() if line.strip()]


def git(repo: Path, env: dict, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True).stdout


def tracked_state(repo: Path, env: dict) -> dict[str, str]:
    """Every tracked file's content hash, and what git status says of the working tree."""
    state = {"status": git(repo, env, "status", "--porcelain", "--untracked-files=all")}
    for rel in git(repo, env, "ls-files", "-z").split("\0"):
        if rel:
            path = repo / rel
            state[rel] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "absent"
    return state


def agent(repo: Path, env: dict, command: str) -> subprocess.CompletedProcess:
    """A Bash command of the session: Claude Code sources CLAUDE_ENV_FILE before running it."""
    tether = " ".join(TETHER)
    script = f'[ -f "$CLAUDE_ENV_FILE" ] && . "$CLAUDE_ENV_FILE"; {command.replace("tether ", tether + " ", 1)}'
    proc = subprocess.run(["sh", "-c", script], cwd=repo, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, (command, proc.stderr)
    return proc


def test_a_scripted_claude_code_session(tmp_path, env):
    lines = hook_lines()
    session = lines[0]["session_id"]
    repo = tmp_path / "project"
    repo.mkdir()
    git(repo, env, "init", "-q")
    (repo / "app.py").write_text("print('hello')\n")
    for command in (["init"], ["install", "claude-code"]):
        subprocess.run([*TETHER, *command], cwd=repo, env=env, check=True, capture_output=True)
    git(repo, env, "add", "-A")
    git(repo, env, "commit", "-qm", "tether set up, hooks installed")

    hook_changes: list[str] = []

    def hook(line: dict) -> subprocess.CompletedProcess:
        payload = {**line, "cwd": str(repo), "hook_event_name": line["event"]}
        before = tracked_state(repo, env)
        proc = subprocess.run([*TETHER, "hook", "claude-code"], input=json.dumps(payload), cwd=repo, env=env,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        after = tracked_state(repo, env)
        hook_changes.extend(f"{line['event']}: {k}" for k in after if after[k] != before.get(k))
        return proc

    starts = [line for line in lines if line["event"] == "SessionStart"]
    compact = next(line for line in lines if line["event"] == "PreCompact")
    hook(starts[0])  # startup: the brief, and the session id for the agent's commands
    assert Path(env["CLAUDE_ENV_FILE"]).read_text() == f"export TETHER_SESSION_ID={session}\n"
    for line in lines[: lines.index(compact)]:
        if line["event"] not in ("SessionStart",):
            hook(line)  # tool use, prompts, stops: tether has nothing to do
    # The agent's own commands, as the brief's instructions put them.
    agent(repo, env, 'tether task start "Add the number generator" --steps "write it" --steps "run it" --steps "document it"')
    (repo / "number_generator.py").write_text("import random\nprint(random.sample(range(100), 5))\n")
    agent(repo, env, 'tether checkpoint --done 1 --state "number_generator.py written" '
                     '--file "number_generator.py: new" --next "run it"')
    agent(repo, env, 'tether decide "Which interpreter?" --decision python3 --rationale "python is absent"')
    agent(repo, env, 'tether note gotcha "call python3, not python: python is not installed"')
    agent(repo, env, 'tether checkpoint --done 2 --state "ran it: five numbers" --next "document it"')
    proc = hook(compact)
    assert proc.stdout.startswith("tether: no progress recorded since CKP-0002")
    hook(starts[1])  # after the compaction
    agent(repo, env, 'tether close --summary "number generator written and run" --next "document it" --commit')
    for line in lines[lines.index(starts[1]) + 1:]:
        hook(line)

    # 1. tracked files changed by hooks alone
    assert hook_changes == []
    assert git(repo, env, "status", "--porcelain", "--", ".tether", ".claude") == ""

    # 2. records under another session id than Claude Code's
    store = repo / ".tether"
    rows = [json.loads(line) for line in (store / "memory" / "events.jsonl").read_text().splitlines()]
    others = [r for r in rows if r.get("session") != session]
    from tether import Workspace

    ws = Workspace.open(repo)
    task = ws.tasks()[0]
    checkpoints = [ws.find_checkpoint(n, task.id) for n in ws.store.checkpoint_names(task.id)]
    others += [c.id for c in checkpoints if c.session != session]
    latest = json.loads((store / "progress" / "LATEST.json").read_text())
    others += [] if latest["session"] == session else ["LATEST.json"]
    message = git(repo, env, "log", "-1", "--format=%B")
    others += [] if f"Tether-Session: {session}" in message else ["close commit trailer"]
    assert others == []
    assert {r["event"] for r in rows} >= {"checkpoint", "decision", "session", "session_close"}
    folded = next(r for r in rows if r["event"] == "session")
    assert folded == {**folded, "starts": 2, "sources": ["compact", "startup"], "compactions": 1}

    # 3. the home directory or the host name in a tracked file
    found = []
    for rel in git(repo, env, "ls-files").splitlines():
        text = (repo / rel).read_bytes().decode("utf-8", "replace")
        for needle in {REAL_HOME, env["HOME"], "/root/.claude", socket.gethostname()}:
            # As a whole name: a short host name ("vm") also occurs inside random ids.
            if needle and needle != "/" and re.search(rf"(?<![A-Za-z0-9]){re.escape(needle)}(?![A-Za-z0-9])", text):
                found.append(f"{rel}: {needle}")
    assert found == []

    # what the session did, by its id
    out = agent(repo, env, f"tether log --session {session} --json")
    did = json.loads(out.stdout)
    assert [e["event"] for e in did["events"]].count("checkpoint") == 2
    assert {"session_start", "pre_compact", "decision", "session_close"} <= {e["event"] for e in did["events"]}
