"""tether inside a real Claude Code session: the `claude` binary (print mode), its own hooks
and transcript, with tether's hooks installed by `tether install claude-code`. The model is a
scripted Messages API on localhost (tests/live_agent.py; no network, no account): it answers
with the tool calls a coding agent makes and usage figures that fill the context past half its
window; a second prompt is warned, `/compact` in the continued session is answered with a
summary, and a last prompt continues the compacted session.

Runs when Claude Code is found (``TETHER_CLAUDE``, or ``claude`` on PATH; `npm install
@anthropic-ai/claude-code` gives one); skipped otherwise.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from live_agent import PIN, TASK, ScriptedModel, checkpoints, compactions, nothing_private, project, \
    session_log, sse, tether

CLAUDE = os.environ.get("TETHER_CLAUDE") or shutil.which("claude")
pytestmark = pytest.mark.skipif(not CLAUDE, reason="no Claude Code (set TETHER_CLAUDE or put `claude` on PATH)")

SUMMARY = "Handoff: greet() is written in src/greet.py; its test is next."


def script(repo) -> list:
    """Each turn: the content blocks the model returns (text, or a tool call) and the input tokens it reports."""
    return [
        ([("tool", "Write", {"file_path": str(repo / "src" / "greet.py"), "content": "def greet():\n    return 'hello'\n"})],
         3_000),
        ([("tool", "Bash", {"command": "echo hello > a.txt", "description": "write a.txt"})], 3_000),
        ([("tool", "Bash", {"command": "ls", "description": "list"})], 3_000),
        ([("tool", "Read", {"file_path": str(repo / "a.txt")})], 3_000),
        # The context is now 60% full of a 200,000-token window: ORANGE at the next prompt.
        ([("text", "greet() is in src/greet.py and returns hello. Next: its test.")], 120_000),
    ]


def messages_api(turns: list):
    turn = iter(turns)
    count = iter(range(1, 10**6))

    def answer(path, body):
        if "count_tokens" in path:
            return "application/json", json.dumps({"input_tokens": 1_000}).encode()
        main = any(t.get("name") == "Bash" for t in body.get("tools") or ())
        # Claude Code compacting: its instruction is among the last messages (a hook's context may follow)
        if "Respond with TEXT ONLY" in json.dumps(body.get("messages", [])[-3:]):
            blocks, tokens = [("text", f"<summary>{SUMMARY}</summary>")], 2_000
        elif main:
            blocks, tokens = next(turn, ([("text", "done")], 4_000))
        else:  # a side request (a title, a topic): not the session's turn
            blocks, tokens = [("text", "ok")], 1_000
        n = next(count)
        events = [("message_start", {"message": {
            "id": f"msg_{n}", "type": "message", "role": "assistant", "model": body.get("model", "m"), "content": [],
            "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": tokens, "output_tokens": 1, "cache_creation_input_tokens": 0,
                      "cache_read_input_tokens": 0}}})]
        for i, block in enumerate(blocks):
            if block[0] == "text":
                events += [("content_block_start", {"index": i, "content_block": {"type": "text", "text": ""}}),
                           ("content_block_delta", {"index": i, "delta": {"type": "text_delta", "text": block[1]}})]
            else:
                events += [("content_block_start", {"index": i, "content_block": {
                               "type": "tool_use", "id": f"toolu_{n}_{i}", "name": block[1], "input": {}}}),
                           ("content_block_delta", {"index": i, "delta": {"type": "input_json_delta",
                                                                         "partial_json": json.dumps(block[2])}})]
            events.append(("content_block_stop", {"index": i}))
        stop = "tool_use" if any(b[0] == "tool" for b in blocks) else "end_turn"
        events += [("message_delta", {"delta": {"stop_reason": stop, "stop_sequence": None}, "usage": {"output_tokens": 10}}),
                   ("message_stop", {})]
        return sse(events)

    return answer


def test_a_claude_code_session_is_briefed_checkpointed_saved_before_compaction_and_rebriefed(tmp_path):
    repo, env = project(tmp_path, ["install", "claude-code"])
    (repo / "src").mkdir()
    model = ScriptedModel(messages_api(script(repo)))
    try:
        # IS_SANDBOX: Claude Code refuses to skip its permission prompts as root unless told it is sandboxed.
        env.update(ANTHROPIC_BASE_URL=f"http://127.0.0.1:{model.port}", ANTHROPIC_API_KEY="sk-ant-test",
                   CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1", DISABLE_AUTOUPDATER="1", IS_SANDBOX="1")

        def claude(*args):
            proc = subprocess.run([CLAUDE, "-p", *args, "--permission-mode", "bypassPermissions"], cwd=repo, env=env,
                                  capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
            assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]

        claude("add greet()")
        assert (repo / "src" / "greet.py").is_file()  # the scripted session really ran its tools
        first = json.dumps(model.requests[0]["messages"])
        claude("how full is the context?", "--continue")
        warned = json.dumps(model.requests[-1]["messages"])
        claude("/compact", "--continue")
        claude("go on", "--continue")
    finally:
        model.close()
    # SessionStart: the brief reached the model before its first answer.
    assert "# tether boot" in first and TASK in first
    events = [row["event"] for row in session_log(repo)]
    assert events[0] == "session_start" and events[-1] == "session_end"
    assert {"pre_compact", "post_compact"} <= set(events)
    # PostToolUse: after four tool calls, an automatic checkpoint naming the file written.
    auto = [c for c in checkpoints(repo) if c.automatic == "tool_calls:4"]
    assert auto and auto[0].files == ["src/greet.py"]
    assert auto[0].note == "4 tool calls: Bash 2, Read 1, Write 1; 1 file changed."  # no text from the agent yet
    # UserPromptSubmit: the prompt after the context passed half its window carries the state.
    assert "tether: the context window is 60% full (120,000 of 200,000 tokens): ORANGE" in warned
    # PreCompact: the transcript archived in the repository, tether's summary beside it.
    saved = [row for row in compactions(repo) if row["hook"] == "pre_compact"]
    assert saved and "add greet()" in tether(repo, env, "show", saved[-1]["summary"])
    # PostCompact: Claude Code's own summary kept, checked for drift (none: it names the task's work).
    kept = [row for row in compactions(repo) if row["hook"] == "post_compact"]
    assert kept and SUMMARY in tether(repo, env, "show", kept[-1]["kept"])
    [post] = [row for row in session_log(repo) if row["event"] == "post_compact"]
    assert post["trigger"] == "manual"
    # SessionStart (compact): the continued session's first request carries the pins, tether's
    # summary and Claude Code's.
    last = json.dumps(model.requests[-1]["messages"])
    assert PIN in last and "its summary of this session before the compaction" in last and SUMMARY in last
    nothing_private(repo, tmp_path / "home")
