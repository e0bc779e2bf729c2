"""Automatic checkpoints from the agent's tool calls (seed 001's auto-save triggers), through the
Claude Code hooks run as Claude Code runs them: a process, the event's JSON on stdin.

What a user relies on: a session that never runs `tether checkpoint` still leaves a trail (every
few tool calls that changed something, and before a risky shell command, an automatic checkpoint
with the files the edit tools changed, pinned as anchors, the state the agent last wrote itself,
and what it saw, the agent's last message too, in its note); a call with
nothing due writes one line under `.tether/local/` and no tracked file; calls that only read, or
the agent's own checkpoint, make none; the trail never names a file outside the repository.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tether import Workspace
from tether.core import tasks, tool_trail
from tether.errors import InvalidInput

HOOK = [sys.executable, "-m", "tether", "hook", "claude-code"]
SESSION = "5b0c1e9e-0d3c-4c55-9a51-0f5d1d3c0a11"


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
    ws.start_task("Port the parser", steps=["split the lexer", "add tests", "wire the CLI"], task_id="T7")
    ws.checkpoint(done=["1"], state="lexer split", next_actions=["add tests"])
    return root


@pytest.fixture
def transcript(tmp_path) -> Path:
    """A Claude Code transcript whose newest assistant message is the agent's state."""
    path = tmp_path / "session.jsonl"
    lines = [
        {"type": "user", "message": {"role": "user", "content": "port the parser"}},
        {"type": "assistant", "message": {"role": "assistant", "content": [{"type": "text", "text": "Starting."}]}},
        {"type": "assistant", "message": {"role": "assistant", "content": [
            {"type": "text", "text": "Tests for the lexer pass; next, the CLI flags."},
            {"type": "tool_use", "id": "t1", "name": "Edit", "input": {}}]}},
        {"type": "user", "message": {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1",
                                                                   "content": "ok"}]}},
    ]
    # written now: after the fixture's checkpoint (a message older than the last checkpoint is not kept)
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    path.write_text("".join(json.dumps({**line, "timestamp": now}) + "\n" for line in lines))
    return path


def hook(repo: Path, name: str, tool: str, tool_input: dict, transcript: Path | None = None,
         env: dict | None = None) -> subprocess.CompletedProcess:
    event = {"session_id": SESSION, "cwd": str(repo), "hook_event_name": name, "tool_name": tool,
             "tool_input": tool_input, "transcript_path": str(transcript) if transcript else None}
    if name == "PostToolUse":
        event["tool_response"] = {"success": True}
    proc = subprocess.run(HOOK, input=json.dumps(event), capture_output=True, text=True, cwd=repo, timeout=60,
                          env={**os.environ, **(env or {})})
    assert proc.returncode == 0, proc.stderr
    return proc


def edit(repo: Path, rel: str, transcript: Path | None = None) -> subprocess.CompletedProcess:
    return hook(repo, "PostToolUse", "Edit", {"file_path": str(repo / rel), "old_string": "a", "new_string": "b"},
                transcript)


def checkpoints(repo: Path) -> list:
    ws = Workspace.open(repo)
    return [ws.store.load_checkpoint("T7", n) for n in ws.store.checkpoint_names("T7")]


def tracked(repo: Path) -> dict:
    store = repo / ".tether"
    return {p.relative_to(store).as_posix(): p.read_bytes() for p in sorted(store.rglob("*"))
            if p.is_file() and not p.relative_to(store).as_posix().startswith(("local/", "locks/"))}


def trail(repo: Path) -> list[dict]:
    files = list((repo / ".tether" / "local" / "trails").glob("*.jsonl"))
    return [json.loads(line) for f in files for line in f.read_text().splitlines()]


def test_every_fourth_call_that_changed_something_checkpoints_with_files_and_the_agents_state(repo, transcript):
    before = tracked(repo)
    for n in range(1, 4):
        proc = edit(repo, f"src/lexer{n}.py", transcript)
        assert proc.stdout == ""
        assert tracked(repo) == before  # nothing due: one line under .tether/local/, no tracked file
        assert len(trail(repo)) == n
    hook(repo, "PostToolUse", "Read", {"file_path": str(repo / "README.md")}, transcript)
    ckps = checkpoints(repo)
    assert len(ckps) == 2
    auto = ckps[-1]
    assert auto.automatic == "tool_calls:4"
    assert auto.files == ["src/lexer1.py", "src/lexer2.py", "src/lexer3.py"]
    assert auto.current_state == "lexer split"  # the agent's own, never its chat
    assert auto.state_from == checkpoints(repo)[0].name
    assert auto.done == "1" and auto.next == ["add tests"]  # progress as the agent left it: never claimed
    assert auto.session == SESSION
    assert auto.note == ("4 tool calls since CKP-0001: Edit 3, Read 1; 3 files changed."
                         " The agent's last message: Tests for the lexer pass; next, the CLI flags.")
    assert trail(repo) == []
    resume = Workspace.open(repo).resume().message()
    assert "last checkpoint CKP-0001: lexer split; 1 automatic checkpoint since: CKP-0002 (after 4 tool calls" in resume
    text = (repo / Workspace.open(repo).checkpoint_path(auto)).read_text()
    assert "**Made:** automatically after 4 tool calls" in text


def test_calls_that_only_read_make_no_checkpoint(repo):
    for _ in range(4):
        hook(repo, "PostToolUse", "Grep", {"pattern": "lexer"})
    assert len(checkpoints(repo)) == 1
    assert trail(repo) == []  # nothing to record: the count starts again


def test_the_agents_own_checkpoint_covers_the_calls_before_it(repo):
    edit(repo, "a.py")
    edit(repo, "b.py")
    env = {**os.environ, "TETHER_SESSION_ID": SESSION}
    subprocess.run([sys.executable, "-m", "tether", "checkpoint", "--done", "2", "--state", "tests added"],
                   cwd=repo, env=env, check=True, capture_output=True)
    assert trail(repo) == []
    edit(repo, "c.py")
    edit(repo, "d.py")
    assert [c.automatic for c in checkpoints(repo)] == [None, None]


def test_a_risky_command_is_preceded_by_a_safety_checkpoint(repo):
    quiet = hook(repo, "PreToolUse", "Bash", {"command": "git status && ls -la"})
    assert quiet.stdout == ""
    edit(repo, "src/parser.py")
    before = len(checkpoints(repo))
    proc = hook(repo, "PreToolUse", "Bash", {"command": "cd src && git reset --hard HEAD~1"})
    ckps = checkpoints(repo)
    assert len(ckps) == before + 1
    assert ckps[-1].automatic == "before_risky:git reset --hard"
    assert ckps[-1].files == ["src/parser.py"]
    # Its note and the message say why it was made: the risky command, and what makes it risky.
    why = "before a risky command (git reset --hard): `cd src && git reset --hard HEAD~1`"
    assert ckps[-1].note.startswith(f"Made {why}. 1 tool call since CKP-0001"), ckps[-1].note
    message = json.loads(proc.stdout)["systemMessage"]
    assert message.startswith(f"tether: automatic checkpoint CKP-0002 {why}; 1 tool call since CKP-0001"), message
    # Nothing new since: a second risky command makes no copy under a new number.
    again = hook(repo, "PreToolUse", "Bash", {"command": "rm -rf build"})
    assert again.stdout == "" and len(checkpoints(repo)) == before + 1


def test_a_safety_checkpoint_names_its_command_short_and_without_secrets(repo):
    token = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
    command = (f"git push https://{token}@github.com/acme/app.git --force && rm -rf {repo}/build "
               + "&& echo " + "x" * 5000)
    edit(repo, "src/parser.py")
    proc = hook(repo, "PreToolUse", "Bash", {"command": command})
    auto = checkpoints(repo)[-1]
    assert auto.automatic == "before_risky:recursive delete and force push"
    assert "(recursive delete and force push)" in auto.note
    said = auto.note.split("`")[1]
    assert said.startswith("git push https://") and "[REDACTED" in said and "rm -rf build" in said
    assert len(said) <= tasks.COMMAND_LIMIT and said.endswith("…")
    message = json.loads(proc.stdout)["systemMessage"]
    assert said in message and token not in message and str(repo) not in message
    committed = b"".join(p.read_bytes() for p in (repo / ".tether").rglob("*") if p.is_file() and "local" not in p.parts)
    assert token.encode() not in committed


def test_codex_apply_patch_names_every_file_its_patch_changes(repo, tmp_path):
    """Codex reaches PostToolUse with `apply_patch` and the patch as `command` (seen from a real
    Codex CLI): the files come from the patch's own headers, inside the repository only."""
    patch = ("*** Begin Patch\n*** Add File: src/greet.py\n+def greet():\n+    return 'hi'\n"
             "*** Update File: src/lexer.py\n@@\n-a\n+b\n*** Delete File: ../elsewhere/notes.md\n*** End Patch\n")
    event = {"session_id": SESSION, "cwd": str(repo), "hook_event_name": "PostToolUse", "tool_name": "apply_patch",
             "tool_input": {"command": patch}, "tool_use_id": "call_1",
             "tool_response": "Success. Updated the following files:\nA src/greet.py\n"}
    codex = [sys.executable, "-m", "tether", "hook", "codex"]
    proc = subprocess.run(codex, input=json.dumps(event), capture_output=True, text=True, cwd=repo, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert trail(repo)[0]["files"] == ["src/greet.py", "src/lexer.py"] and trail(repo)[0]["outside"] == 1
    for n in range(3):
        hook(repo, "PostToolUse", "Bash", {"command": f"echo {n}"})
    auto = checkpoints(repo)[-1]
    assert auto.automatic == "tool_calls:4"
    assert auto.files == ["src/greet.py", "src/lexer.py"]
    assert auto.note.startswith("4 tool calls since CKP-0001: Bash 3, apply_patch 1; 2 files changed;"
                                " 1 edit outside the repository.")


def test_codex_compaction_summary_is_not_taken_for_the_agents_last_message(repo, tmp_path):
    """Codex 0.171 records the reply that wrote a compaction's summary as an assistant message,
    then the `compacted` record quoting it (seen from a real Codex CLI): the automatic checkpoint
    after it carries what the agent itself said last, never that summary."""
    rollout = tmp_path / "rollout.jsonl"
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())  # after the fixture's checkpoint

    def item(payload):
        return {"timestamp": now, "type": "response_item", "payload": payload}

    def said(role, text):
        kind = "output_text" if role == "assistant" else "input_text"
        return item({"type": "message", "role": role, "content": [{"type": kind, "text": text}]})

    lines = [said("user", "add greet"), said("assistant", "greet() is in; next the tests."),
             said("assistant", "SUMMARY: the user wants greet()."),
             {"timestamp": now, "type": "compacted",
              "payload": {"message": "Another language model started to solve this problem...\n"
                                     "SUMMARY: the user wants greet().", "replacement_history": []}}]
    rollout.write_text("".join(json.dumps(line) + "\n" for line in lines))
    codex = [sys.executable, "-m", "tether", "hook", "codex"]
    for n in range(4):
        event = {"session_id": SESSION, "cwd": str(repo), "hook_event_name": "PostToolUse", "tool_name": "Bash",
                 "tool_input": {"command": f"touch f{n}"}, "tool_response": "", "transcript_path": str(rollout)}
        proc = subprocess.run(codex, input=json.dumps(event), capture_output=True, text=True, cwd=repo, timeout=60)
        assert proc.returncode == 0, proc.stderr
    auto = checkpoints(repo)[-1]
    assert auto.automatic == "tool_calls:4"
    assert auto.note.endswith("The agent's last message: greet() is in; next the tests.")



def test_the_agents_last_message_is_kept_when_the_compaction_summary_quotes_it(tmp_path):
    """Only the reply that wrote a compaction's summary is passed over, not every message the
    summary happens to quote (a short last message often is, word for word)."""
    from tether.transcripts.last_words import last_assistant_text

    def said(role, text):
        kind = "output_text" if role == "assistant" else "input_text"
        return {"type": "response_item", "payload": {"type": "message", "role": role, "content": [{"type": kind, "text": text}]}}

    summary = "SUMMARY: the user wants greet(). Last said: All tests pass."
    lines = [said("user", "add greet"), said("assistant", "All tests pass."), said("assistant", summary),
             {"type": "compacted", "payload": {"message": "Another language model...\n" + summary}}]
    rollout = tmp_path / "rollout.jsonl"
    rollout.write_text("".join(json.dumps(line) + "\n" for line in lines))
    assert last_assistant_text(str(rollout)) == "All tests pass."


def test_a_file_outside_the_repository_is_counted_never_named(repo, tmp_path):
    outside = tmp_path / "home" / "secret-notes.md"
    for n in range(4):
        hook(repo, "PostToolUse", "Write", {"file_path": str(outside), "content": "x"})
    assert all("file" not in row for row in trail(repo)) or trail(repo) == []
    auto = checkpoints(repo)[-1]
    assert auto.files == [] and "4 edits outside the repository" in auto.note
    assert str(tmp_path) not in json.dumps(auto.to_dict())


def test_without_an_active_task_nothing_is_kept(repo):
    (repo / ".tether" / "local" / "active").unlink()
    (repo / ".tether" / "open" / "T7").unlink()
    for n in range(4):
        edit(repo, f"f{n}.py")
    assert len(checkpoints(repo)) == 1
    assert trail(repo) == []


def test_checkpoint_every_zero_turns_it_off_and_bad_values_are_named(repo):
    config = repo / ".tether" / "tether.toml"
    config.write_text(config.read_text().replace("checkpoint_every = 4", "checkpoint_every = 0"))
    for n in range(5):
        edit(repo, f"f{n}.py")
    assert trail(repo) == [] and len(checkpoints(repo)) == 1
    config.write_text(config.read_text().replace("checkpoint_every = 0", 'checkpoint_every = "often"'))
    with pytest.raises(InvalidInput, match=r"tether.toml:\d+: hooks.checkpoint_every must be a whole number"):
        Workspace.open(repo).config
    proc = subprocess.run(HOOK, input=json.dumps({"hook_event_name": "PostToolUse", "cwd": str(repo),
                                                  "session_id": SESSION, "tool_name": "Edit"}),
                          capture_output=True, text=True, cwd=repo, timeout=60)
    assert proc.returncode == 1 and "hooks.checkpoint_every" in proc.stderr


@pytest.mark.parametrize("command, what", [
    ("git reset --hard", "git reset --hard"), ("rm -rf build/", "recursive delete"),
    ("make && git push --force origin main", "force push"), ("/bin/rm -r out", "recursive delete"),
    ("psql -c 'DROP TABLE users'", "DROP TABLE"), ("git clean -fdx", "git clean"),
    ("find . -name '*.orig' -delete", "find -delete"), ("git checkout -f main", "git checkout -f"),
    ("git switch --force main", "git switch -f"), ("git switch --discard-changes main", "git switch -f"),
    ("rm -R build", "recursive delete"),
    # every kind a command holds, once each: a checkpoint note that named only the first would hide the rest
    ("rm -rf build && git push --force origin main", "recursive delete and force push"),
    ("git reset --hard && git clean -fd && rm -r -f out && rm -rf tmp", "recursive delete and git reset --hard"
                                                                        " and git clean"),
])
def test_risky_commands(command, what):
    assert tool_trail.risky(command) == what


@pytest.mark.parametrize("command", ["git status", "rm notes.txt", "ls -la", "git push origin main",
                                     "find . -name '*.py'", "git switch -c topic", "git checkout main",
                                     "git log -- src/", "echo done; git diff", None, 5])
def test_ordinary_commands_are_not_risky(command):
    assert tool_trail.risky(command) is None


def test_paths_are_taken_from_the_repository_root():
    root = "/r/repo"
    assert tool_trail.relative("src/a.py", root, "/r/repo") == "src/a.py"
    assert tool_trail.relative("/r/repo/src/../b.py", root, None) == "b.py"
    assert tool_trail.relative("/r/other/a.py", root, None) is None
    assert tool_trail.relative("/r/repo/.git/config", root, None) is None
    assert tool_trail.relative("../repo2/x", root, "/r/repo") is None


def test_close_lists_the_automatic_checkpoints_the_session_made(repo, transcript):
    start = {"session_id": SESSION, "cwd": str(repo), "hook_event_name": "SessionStart", "source": "startup",
             "transcript_path": str(transcript)}
    subprocess.run(HOOK, input=json.dumps(start), capture_output=True, text=True, cwd=repo, timeout=60, check=True)
    for n in range(4):
        edit(repo, f"src/lexer{n}.py", transcript)
    hook(repo, "PreToolUse", "Bash", {"command": "git reset --hard"})  # nothing new: no second one
    edit(repo, "src/cli.py", transcript)
    hook(repo, "PreToolUse", "Bash", {"command": "rm -rf build"})
    made = [c.name for c in checkpoints(repo) if c.automatic]
    assert len(made) == 2
    env = {**os.environ, "TETHER_SESSION_ID": SESSION}
    subprocess.run([sys.executable, "-m", "tether", "close", "--summary", "lexer split"], cwd=repo, env=env,
                   check=True, capture_output=True)
    rows = [json.loads(line) for line in (repo / ".tether" / "memory" / "events.jsonl").read_text().splitlines()]
    folded = [r for r in rows if r["event"] == "session" and r["session"] == SESSION]
    assert len(folded) == 1 and folded[0]["automatic_checkpoints"] == made


def chat_transcript(tmp_path, text: str) -> Path:
    path = tmp_path / "chat.jsonl"
    path.write_text(json.dumps({"type": "assistant", "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
                                "message": {"role": "assistant", "content": [{"type": "text", "text": text}]}}) + "\n")
    return path


def test_the_agents_own_state_survives_automatic_checkpoints_in_resume_and_boot(repo, tmp_path):
    chat = chat_transcript(tmp_path, "Great! All tests pass now.\n\n**Results:**\n- ✅ floats parse\n- ✅ ints parse")
    for round in range(2):
        for n in range(4):
            edit(repo, f"src/part{round}{n}.py", chat)
    own, first, second = checkpoints(repo)
    assert [c.automatic for c in (own, first, second)] == [None, "tool_calls:4", "tool_calls:4"]
    assert first.current_state == second.current_state == "lexer split"
    assert first.state_from == second.state_from == own.name
    assert second.note.endswith("The agent's last message: Great! All tests pass now. Results: ✅ floats parse;"
                                " ✅ ints parse")
    text = (repo / Workspace.open(repo).checkpoint_path(second)).read_text()
    assert "## Current State\nlexer split\n\n(as the agent wrote it at CKP-0001" in text
    env = {**os.environ, "TETHER_SESSION_ID": SESSION}
    resume = subprocess.run([sys.executable, "-m", "tether", "resume"], cwd=repo, env=env, capture_output=True,
                            text=True, check=True).stdout
    assert "last checkpoint CKP-0001: lexer split; 2 automatic checkpoints since, the newest CKP-0003" in resume
    assert "State at CKP-0001 (the agent's own; 2 automatic checkpoints since): lexer split" in resume
    assert "Seen by CKP-0003 (automatic): 4 tool calls since CKP-0002: Edit 4" in resume
    assert "Great!" not in resume.split("Seen by")[0]
    boot = subprocess.run([sys.executable, "-m", "tether", "boot"], cwd=repo, env=env, capture_output=True,
                          text=True, check=True).stdout
    assert "State at CKP-0001 (the agent's own; 2 automatic checkpoints since): lexer split" in boot
    # The message is shown as what CKP-0003 saw, never as the state or the resume line.
    assert "Great!" not in boot.split("- Seen by CKP-0003 (automatic): ")[0]
    # The agent's next checkpoint is its own again, and keeps no automatic key or note.
    subprocess.run([sys.executable, "-m", "tether", "checkpoint", "--state", "parts done"], cwd=repo, env=env,
                   check=True, capture_output=True)
    last = checkpoints(repo)[-1]
    assert last.automatic is None and last.state_from is None and last.note == "" and last.key_data == {}


def session_start(repo: Path) -> str:
    event = {"session_id": "next-session", "cwd": str(repo), "hook_event_name": "SessionStart", "source": "startup"}
    proc = subprocess.run(HOOK, input=json.dumps(event), capture_output=True, text=True, cwd=repo, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)["hookSpecificOutput"]["additionalContext"]


def active_section(brief: str) -> list[str]:
    lines = brief.splitlines()
    start = lines.index("## Active task T7")
    return lines[start + 1:lines.index("", start)]


def test_the_brief_shows_what_the_newest_automatic_checkpoint_saw(repo, transcript):
    """A session that crashed after its hooks' checkpoint: the next one's brief has what that
    checkpoint saw (the agent's last message), as `tether resume` does, next to the state."""
    for n in range(4):
        edit(repo, f"src/lexer{n}.py", transcript)
    seen = ("- Seen by CKP-0002 (automatic): 4 tool calls since CKP-0001: Edit 4; 4 files changed."
            " The agent's last message: Tests for the lexer pass; next, the CLI flags.")
    active = active_section(session_start(repo))
    assert active[:3] == ["- State at CKP-0001 (the agent's own; 1 automatic checkpoint since): lexer split", seen,
                          "- Files modified: src/lexer0.py; src/lexer1.py; src/lexer2.py; src/lexer3.py"]
    # Warm (from boot's cache) as cold: backdated, so the cache trusts the files' stats.
    then = time.time() - 60
    for path in (repo / ".tether").rglob("*"):
        os.utime(path, (then, then))
    cold = session_start(repo)
    assert (repo / ".tether" / "local" / "boot.cache").exists()
    assert session_start(repo) == cold and active_section(cold)[1] == seen
    # The agent's own checkpoint says where it stands again: nothing automatic to show.
    subprocess.run([sys.executable, "-m", "tether", "checkpoint", "--state", "lexer tested"], cwd=repo,
                   env={**os.environ, "TETHER_SESSION_ID": SESSION}, check=True, capture_output=True)
    assert not any(line.startswith("- Seen by") for line in active_section(session_start(repo)))


def test_the_brief_clips_a_long_automatic_note_keeping_the_agents_message_within_the_budget(repo, tmp_path):
    ws = Workspace.open(repo)
    for n in range(12):
        ws.decide(f"Which lexer table {n}?", f"table {n}")
    words = "The lexer keeps its tables in one module now. " * 5 + "Next: the CLI flags."
    for n in range(4):
        edit(repo, f"src/lexer{n}.py", chat_transcript(tmp_path, words))
    note = checkpoints(repo)[-1].note
    assert len(note) > 400 and "Recorded: " in note and note.endswith(words.strip())
    line = next(line for line in active_section(session_start(repo)) if line.startswith("- Seen by CKP-0002"))
    # What it recorded is shortened, the agent's message kept whole.
    said = line.removeprefix("- Seen by CKP-0002 (automatic): ")
    assert len(said) <= 400 and said.startswith("4 tool calls since CKP-0001: Edit 4; 4 files changed. Recorded: ")
    assert said.endswith("… The agent's last message: " + words.strip())
    resume = subprocess.run([sys.executable, "-m", "tether", "resume"], cwd=repo, capture_output=True, text=True,
                            check=True).stdout
    assert f"Seen by CKP-0002 (automatic): {note}" in resume  # the whole note is one command away
    # Under a budget it fills like any other line of its section: at the section's priority, after the
    # state, left out and counted when it does not fit.
    for budget in (300, 400, 600, 2000):
        data = json.loads(subprocess.run([sys.executable, "-m", "tether", "boot", "--budget", str(budget), "--json"],
                                         cwd=repo, capture_output=True, text=True, check=True).stdout)
        assert data["tokens"] <= budget and "Resuming Port the parser (T7)" in data["text"]
        if line in data["text"]:
            assert data["text"].index("- State at CKP-0001") < data["text"].index(line)
        else:
            assert data["omitted"]["active_task"] >= 2
    assert line in data["text"]


def test_an_automatic_checkpoint_after_one_made_before_it_carried_the_agents_state(repo, tmp_path):
    from tether.core.tasks import checkpoint

    ws = Workspace.open(repo)
    checkpoint(ws.store, ws.task("T7"), state="Great! chat as state", automatic="tool_calls:4", carry=True,
               next_actions=["add tests"])  # as tether wrote them before: no state_from
    for n in range(4):
        edit(repo, f"src/late{n}.py")
    newest = checkpoints(repo)[-1]
    assert newest.current_state == "lexer split" and newest.state_from == checkpoints(repo)[0].name


def test_automatic_checkpoints_pin_the_files_edited_and_what_they_carry(repo, tmp_path):
    (repo / "src").mkdir()
    for name in ("cli.py", "lexer.py", "other.py"):
        (repo / "src" / name).write_text(f"# {name}\n")
    env = {**os.environ, "TETHER_SESSION_ID": "S-own"}
    subprocess.run([sys.executable, "-m", "tether", "checkpoint", "--state", "lexer split; src/cli.py reads it",
                    "--next", "test src/other.py"], cwd=repo, env=env, check=True, capture_output=True)
    own = checkpoints(repo)[-1]
    assert set(own.anchors) == {"src/cli.py"}
    (repo / "src" / "lexer.py").write_text("# the lexer, split\n")
    for n in range(3):
        edit(repo, "src/lexer.py")
    edit(repo, "src/gone.py")  # edited, then removed: named in files, pinned never
    auto = checkpoints(repo)[-1]
    assert auto.automatic == "tool_calls:4"
    assert set(auto.anchors) == {"src/cli.py", "src/lexer.py"}
    assert auto.anchors["src/cli.py"] == own.anchors["src/cli.py"]  # not edited since: the agent's own pin

    def stale() -> str:
        return subprocess.run([sys.executable, "-m", "tether", "verify", "--stale"], cwd=repo, capture_output=True,
                              text=True).stdout

    assert "CKP-0003" not in stale()
    (repo / "src" / "lexer.py").write_text("# changed by someone else\n")
    assert "CKP-0003" in stale() and "src/lexer.py" in stale()
    (repo / "src" / "lexer.py").write_text("# the lexer, split\n")
    (repo / "src" / "cli.py").write_text("# changed too\n")
    assert "CKP-0003" in stale() and "src/cli.py" in stale()


def test_a_risky_command_is_found_in_a_command_of_megabytes_and_order_still_counts():
    """The PreToolUse hook reads every Bash command: a words' set rules out most patterns
    before the walk in order, and what it finds is what the walk finds."""
    filler = "echo x; " * 200_000
    assert tool_trail.risky(filler) is None
    assert tool_trail.risky(filler + "git reset --hard HEAD") == "git reset --hard"
    assert tool_trail.risky(filler + "--hard reset git") is None  # the words, not in order
    assert tool_trail.risky("psql -c 'DROP Table users'") == "DROP TABLE"
    assert tool_trail.risky("git branch -d old") is None and tool_trail.risky("git branch -D old") == "branch deleted"


def test_no_automatic_checkpoint_goes_into_a_task_the_agent_did_not_choose(repo, transcript):
    # The chosen task completed (or left behind on another branch): another open task stands in
    # for "the active task", but the session's tool calls are not its progress.
    ws = Workspace.open(repo)
    ws.start_task("Older work", steps=["a"], task_id="OLD")
    ws.switch("T7")
    ws.set_task_status("T7", "complete")
    for n in range(1, 5):
        edit(repo, f"src/lexer{n}.py", transcript)
    assert Workspace.open(repo).store.checkpoint_names("OLD") == []
    assert trail(repo) == []  # not kept for later either: they belong to no task the agent chose
    Workspace.open(repo).decide("Which lexer?", "hand-written")  # something a PreCompact checkpoint would save
    proc = subprocess.run([sys.executable, "-m", "tether", "hook", "claude-code"], cwd=repo, capture_output=True,
                          text=True, timeout=60, input=json.dumps({
                              "session_id": SESSION, "cwd": str(repo), "hook_event_name": "PreCompact",
                              "trigger": "auto", "transcript_path": str(transcript)}))
    assert proc.returncode == 0, proc.stderr
    assert Workspace.open(repo).store.checkpoint_names("OLD") == []
    assert Workspace.open(repo).resume().task.id == "OLD"  # the agent's own commands still reach it, with a note


def test_the_agents_message_is_committed_without_secrets_or_private_paths(repo, tmp_path):
    home = str(Path.home())
    token = "sk-proj-" + "Ab3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3z5AbCdEfGh"
    chat = chat_transcript(tmp_path, f"Set OPENAI_API_KEY={token} in {home}/.bashrc and edited {repo}/src/x.py")
    for n in range(4):
        edit(repo, f"src/x{n}.py", chat)
    auto = checkpoints(repo)[-1]
    assert auto.automatic == "tool_calls:4"
    assert auto.note.endswith("The agent's last message: Set OPENAI_API_KEY=[REDACTED: OpenAI API Key]"
                              " in ~/.bashrc and edited src/x.py")
    committed = b"".join(p.read_bytes() for p in (repo / ".tether").rglob("*") if p.is_file()
                         and "local" not in p.parts)
    assert token.encode() not in committed and home.encode() not in committed


def test_a_message_older_than_the_agents_own_checkpoint_is_not_quoted(repo, tmp_path):
    path = tmp_path / "old.jsonl"  # said at noon on 1 March, long before the fixture's checkpoint
    path.write_text(json.dumps({"type": "assistant", "timestamp": "2026-03-01T12:00:00.000Z", "message": {
        "role": "assistant", "content": [{"type": "text", "text": "Old news: the lexer is half done."}]}}) + "\n")
    for n in range(4):
        edit(repo, f"src/y{n}.py", path)
    auto = checkpoints(repo)[-1]
    assert auto.automatic == "tool_calls:4" and "Old news" not in auto.note


def test_the_agents_note_only_checkpoint_counts_as_its_own_for_automatic_ones(repo, tmp_path):
    chat = chat_transcript(tmp_path, "Tests for the lexer pass; next, the CLI flags.")
    for n in range(4):
        edit(repo, f"src/a{n}.py", chat)  # CKP-0002, automatic, quoting the message
    time.sleep(1.1)  # the agent's own checkpoint comes after the message, in a later second
    subprocess.run([sys.executable, "-m", "tether", "checkpoint", "--note", "flags next"], cwd=repo, check=True,
                   capture_output=True)
    for n in range(4):
        edit(repo, f"src/b{n}.py", chat)  # CKP-0004: the message is older than the agent's CKP-0003
    own, first, note_only, second = checkpoints(repo)
    assert (note_only.automatic, second.automatic) == (None, "tool_calls:4")
    assert "The agent's last message" in first.note and "The agent's last message" not in second.note
    # the state it carries is the one the agent wrote at CKP-0001; the note of CKP-0003 stays in view
    assert (second.state_from, second.note_from) == (own.name, note_only.name)
    resume = Workspace.open(repo).resume()
    assert "last checkpoint CKP-0003: flags next; state as at CKP-0001: lexer split; 1 automatic checkpoint" \
        " since: CKP-0004" in resume.message(), resume.message()
    assert resume.state_at() == "CKP-0001 (the agent's own, not restated at CKP-0003; 1 automatic checkpoint since)"
    assert (resume.to_dict()["state_from"], resume.to_dict()["note_from"]) == ("CKP-0001", "CKP-0003")
    brief = Workspace.open(repo).boot().text
    assert "last checkpoint CKP-0003: flags next; state as at CKP-0001" in brief, brief
    for n in range(4):
        edit(repo, f"src/c{n}.py", chat)  # CKP-0005 carries both on
    third = checkpoints(repo)[-1]
    assert (third.state_from, third.note_from) == (own.name, note_only.name)
    assert "last checkpoint CKP-0003: flags next; state as at CKP-0001: lexer split; 2 automatic checkpoints" \
        " since, the newest CKP-0005" in Workspace.open(repo).resume().message()
    # the agent's next checkpoint of its own takes the note's place
    subprocess.run([sys.executable, "-m", "tether", "checkpoint", "--state", "flags parsed"], cwd=repo, check=True,
                   capture_output=True)
    for n in range(4):
        edit(repo, f"src/d{n}.py", chat)
    last = checkpoints(repo)[-1]
    assert last.automatic == "tool_calls:4" and last.note_from is None
    assert Workspace.open(repo).resume().to_dict()["note_from"] is None
    assert "last checkpoint CKP-0006: flags parsed; 1 automatic checkpoint since: CKP-0007" in \
        Workspace.open(repo).resume().message()


def test_the_agents_checkpoint_of_next_steps_alone_counts_as_its_own_for_automatic_ones(repo):
    """A checkpoint that gave only next steps (no state, no note) keeps the earlier state; the
    automatic one after it is counted from it, not from the one whose state it keeps."""
    subprocess.run([sys.executable, "-m", "tether", "checkpoint", "--next", "parse the flags"], cwd=repo, check=True,
                   capture_output=True)  # CKP-0002
    for n in range(4):
        edit(repo, f"src/a{n}.py")  # CKP-0003, automatic
    own, next_only, auto = checkpoints(repo)
    assert (next_only.automatic, auto.automatic) == (None, "tool_calls:4")
    assert (auto.state_from, auto.note_from) == (own.name, next_only.name)
    resume = Workspace.open(repo).resume()
    assert "last checkpoint CKP-0002; state as at CKP-0001: lexer split; 1 automatic checkpoint since: CKP-0003" \
        in resume.message(), resume.message()
    assert resume.state_at() == "CKP-0001 (the agent's own, not restated at CKP-0002; 1 automatic checkpoint since)"
    assert (resume.to_dict()["state_from"], resume.to_dict()["note_from"]) == ("CKP-0001", "CKP-0002")
    assert "gave a note" not in (repo / ".tether" / "tasks" / "T7" / "checkpoints" / f"{auto.name}.md").read_text()


def test_the_agents_message_keeps_a_dunder_name():
    from tether.core.tasks import plain

    assert plain("**Fixed** empty input in `Tokenizer.__init__`.\n- next: __main__") == \
        "Fixed empty input in `Tokenizer.__init__`. next: __main__"


def test_a_file_the_agent_described_is_named_once_after_its_edits_are_checkpointed(repo):
    """The agent's checkpoint describes a file; the hooks' automatic one carries that entry and adds
    the path its tool calls edited: resume and the brief name the path once, with its description."""
    ws = Workspace.open(repo)
    ws.checkpoint(state="parsing json", files=["src/parser.py: json parsing"])
    edit(repo, "src/parser.py")
    edit(repo, "src/cli.py")
    hook(repo, "PreToolUse", "Bash", {"command": "rm -rf build"})
    auto = checkpoints(repo)[-1]
    assert auto.automatic.startswith("before_risky:") and auto.files == ["src/parser.py: json parsing", "src/cli.py"]
    run = subprocess.run([sys.executable, "-m", "tether", "resume"], capture_output=True, text=True, cwd=repo)
    assert "Files modified: src/parser.py: json parsing; src/cli.py\n" in run.stdout
    assert "- Files modified: src/parser.py: json parsing; src/cli.py\n" in Workspace.open(repo).boot().text


@pytest.mark.parametrize("command, shown", [
    ("curl -H 'Authorization: Bearer 9fK2xQ7vLm3ZpR8t' https://x && rm -rf out",
     "curl -H 'Authorization: Bearer [REDACTED: credential]' https://x && rm -rf out"),
    ("mysql -u root -phunter2 -e 'DROP DATABASE app'", "mysql -u root -p[REDACTED: credential] -e 'DROP DATABASE app'"),
    ("PGPASSWORD=hunter2 psql -c 'DROP TABLE users'", "PGPASSWORD=[REDACTED: credential] psql -c 'DROP TABLE users'"),
    ("git push https://bob:hunter2@example.com/x.git --force", "git push https://bob:[REDACTED: credential]@example.com/x.git --force"),
    ("deploy --password=hunter2 --token abc && rm -rf build",
     "deploy --password=[REDACTED: credential] --token [REDACTED: credential] && rm -rf build"),
    ("git reset --hard HEAD~1 && rm -rf node_modules -p", "git reset --hard HEAD~1 && rm -rf node_modules -p"),
])
def test_a_commands_credentials_are_hidden_where_secret_detectors_miss_them(command, shown):
    assert tool_trail.hide_credentials(command) == shown
    assert tasks.command_line(command + "\n" + "echo done " * 40).startswith(shown + " echo done")


def test_a_description_already_joined_into_an_entry_is_not_added_again():
    from tether.model.records import files_once

    # the agent described a file twice; an automatic checkpoint carries the joined entry, then the
    # agent's next checkpoint names one of its descriptions again: each is said once
    assert files_once(["a.py: x", "a.py: y"]) == ["a.py: x, y"]
    assert files_once(["a.py: x, y", "a.py: y", "a.py", "a.py: x, y"]) == ["a.py: x, y"]
    assert files_once(["a.py: x, y", "a.py: z"]) == ["a.py: x, y, z"]
    assert files_once(["a.py: parse x", "a.py: x"]) == ["a.py: parse x, x"]  # a word inside is no description


def test_a_lone_surrogate_in_the_agents_last_message_does_not_stop_the_checkpoint(repo, tmp_path):
    # Claude Code writes "\ud83d" where it cut a string between the halves of an emoji; the
    # checkpoint that quoted such a message failed with an internal error (exit 1), every 4 calls.
    path = tmp_path / "session.jsonl"
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    path.write_text(json.dumps({"type": "assistant", "timestamp": now, "message": {"role": "assistant", "content": [
        {"type": "text", "text": "Lexer tests pass \ud83d; next, the CLI flags."}]}}) + "\n")
    for n in range(1, 5):
        edit(repo, f"src/lexer{n}.py", path)
    auto = checkpoints(repo)[-1]
    assert auto.automatic == "tool_calls:4"
    assert "The agent's last message: Lexer tests pass \ufffd; next, the CLI flags." in auto.note
