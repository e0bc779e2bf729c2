"""tether inside a real Codex CLI session: the `codex` binary, its own hooks and rollout, with
tether's hooks installed by `tether install codex`. The model is a scripted Responses API on
localhost (tests/live_agent.py; no network, no account): it answers with the tool calls a
coding agent makes, a compaction summary when Codex asks for one, and usage figures that make
Codex compact once.

Runs when a Codex CLI is found (``TETHER_CODEX``, or ``codex`` on PATH; `npm install
@openai/codex` gives one); skipped otherwise.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time

import pytest

from live_agent import PIN, TASK, ScriptedModel, checkpoints, compactions, nothing_private, project, \
    session_log, sse, tether

CODEX = os.environ.get("TETHER_CODEX") or shutil.which("codex")
pytestmark = pytest.mark.skipif(not CODEX, reason="no Codex CLI (set TETHER_CODEX or put `codex` on PATH)")

PATCH = "*** Begin Patch\n*** Add File: src/greet.py\n+def greet():\n+    return 'hello'\n*** End Patch\n"
SUMMARY = "Handoff: greet() is written in src/greet.py; its test is next."


def shell(cmd: str, n: int) -> dict:
    return {"type": "function_call", "name": "exec_command", "arguments": json.dumps({"cmd": cmd}), "call_id": f"call_{n}"}


def reply(text: str) -> dict:
    return {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": text}]}


# Each turn: the items the model returns and the input tokens it reports. The fifth reports more
# than the compaction limit: Codex compacts before its next request.
SCRIPT = [
    ([{"type": "custom_tool_call", "name": "apply_patch", "input": PATCH, "call_id": "call_1"}], 3_000),
    ([shell("echo hello > a.txt", 2)], 3_000),
    ([shell('echo "$CODEX_THREAD_ID" > .thread', 3)], 3_000),  # what the agent's own tether commands read
    ([shell("cat a.txt", 4)], 3_000),
    ([shell("git status --short", 5)], 90_000),
    ([reply("greet() is in src/greet.py and returns hello. Next: its test.")], 4_000),
]


def responses_api():
    turn = iter(SCRIPT)

    def answer(path, body):
        if "CONTEXT CHECKPOINT COMPACTION" in json.dumps(body.get("input", [])[-1:]):
            items, tokens = [reply(SUMMARY)], 2_000
        else:
            items, tokens = next(turn, ([reply("done")], 4_000))
        rid = f"resp_{id(items)}_{tokens}"
        usage = {"input_tokens": tokens, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": 20,
                 "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": tokens + 20}
        return sse([("response.created", {"response": {"id": rid}})]
                   + [("response.output_item.done", {"item": {"id": f"item_{rid}_{i}", **item}})
                      for i, item in enumerate(items)]
                   + [("response.completed", {"response": {"id": rid, "usage": usage}})])

    return answer


@pytest.fixture
def model():
    m = ScriptedModel(responses_api())
    yield m
    m.close()


def test_a_codex_session_is_briefed_checkpointed_saved_before_compaction_and_rebriefed(tmp_path, model):
    repo, env = project(tmp_path, ["install", "codex"])
    home = tmp_path / "home" / ".codex"  # where Codex keeps its rollouts: under the user's home
    home.mkdir()
    env["CODEX_HOME"] = str(home)
    (home / "config.toml").write_text(
        'model_provider = "scripted"\n'
        'model_auto_compact_token_limit = 60000\n'
        '[model_providers.scripted]\nname = "scripted"\n'
        f'base_url = "http://127.0.0.1:{model.port}/v1"\nwire_api = "responses"\n'
        f'[projects."{repo}"]\ntrust_level = "trusted"\n')
    # The hooks are the project's, reviewed in advance here: Codex otherwise asks before it runs them.
    proc = subprocess.run([CODEX, "exec", "-m", "gpt-5.5", "--dangerously-bypass-hook-trust", "--sandbox",
                           "workspace-write", "--skip-git-repo-check", "add greet()"],
                          cwd=repo, env=env, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (repo / "src" / "greet.py").is_file()  # the scripted session really ran its tools

    inputs = [json.dumps(r.get("input", [])) for r in model.requests]
    # SessionStart: the brief reached the model before its first answer; AGENTS.md, tether's
    # section in it, the workflow.
    assert "# tether boot" in inputs[0] and TASK in inputs[0]
    assert "tether: keep this session's work recoverable" in inputs[0]
    events = [row["event"] for row in session_log(repo)]
    assert events[0] == "session_start" and events[-1] == "session_end"
    # Codex gives its commands the session's id, its hooks' session_id (workspace.session_from_environment)
    assert (repo / ".thread").read_text().strip() == session_log(repo)[0]["session"]
    assert {"pre_compact", "post_compact"} <= set(events)
    # PostToolUse: after four tool calls, an automatic checkpoint naming the file the patch added.
    auto = [c for c in checkpoints(repo) if c.automatic == "tool_calls:4"]
    assert auto and auto[0].files == ["src/greet.py"]
    assert auto[0].note == "4 tool calls: Bash 3, apply_patch 1; 1 file changed."  # no text from the agent yet
    # PreCompact: the rollout archived in the repository, tether's summary beside it.
    saved = [row for row in compactions(repo) if row["hook"] == "pre_compact"]
    assert saved
    summary = tether(repo, env, "show", saved[-1]["summary"])
    assert "add greet()" in summary and "src/greet.py" in summary
    # PostCompact: Codex's own summary kept; SessionStart (compact): the pins and tether's summary
    # reach the model in the compacted context.
    kept = [row for row in compactions(repo) if row["hook"] == "post_compact"]
    assert kept and tether(repo, env, "show", kept[-1]["kept"]).strip().endswith(SUMMARY)
    after = [text for text in inputs if SUMMARY in text and "CONTEXT CHECKPOINT COMPACTION" not in text]
    assert after and PIN in after[-1] and "its summary of this session before the compaction" in after[-1]
    nothing_private(repo, tmp_path / "home")


def test_codex_finds_tethers_mcp_tools_and_runs_them_without_asking(tmp_path):
    """`tether install codex --mcp`: Codex starts `tether mcp`, its tool search finds tether's
    tools, and `recall` and `checkpoint` run in `codex exec`, where nothing can be approved:
    Codex runs a tool unasked when its hints say it destroys nothing (without them, both waited
    for an approval that never came)."""
    repo, env = project(tmp_path, ["install", "codex", "--mcp"])
    home = tmp_path / "home" / ".codex"
    home.mkdir()
    env["CODEX_HOME"] = str(home)
    def search(n):
        return [{"type": "tool_search_call", "call_id": f"call_1_{n}", "execution": "client", "status": "completed",
                 "arguments": {"query": "recall what the project remembers", "limit": 8}}]

    turns = iter([
        [{"type": "function_call", "namespace": "mcp__tether", "name": "recall",
          "arguments": json.dumps({"query": "greet function"}), "call_id": "call_2"}],
        [{"type": "function_call", "namespace": "mcp__tether", "name": "checkpoint",
          "arguments": json.dumps({"state": "greet written"}), "call_id": "call_3"}],
    ])
    searches = []

    def answer(path, body):
        # Codex runs the first turn while its MCP servers may still be starting (a search then finds
        # nothing; on a busy machine `tether mcp` can take a second or two): search again, as a model
        # would, a few times, before going on.
        found = [item.get("tools") for item in body.get("input", [])
                 if isinstance(item, dict) and item.get("type") == "tool_search_output"]
        if not searches or (found and not found[-1] and len(searches) < 10):
            if searches:
                time.sleep(0.5)
            searches.append(len(searches))
            items = search(len(searches))
        else:
            items = next(turns, [reply("done")])
        usage = {"input_tokens": 3_000, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": 20,
                 "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 3_020}
        rid = f"resp_{len(model.requests)}"
        return sse([("response.created", {"response": {"id": rid}})]
                   + [("response.output_item.done", {"item": {"id": f"item_{rid}_{i}", **item}})
                      for i, item in enumerate(items)]
                   + [("response.completed", {"response": {"id": rid, "usage": usage}})])

    model = ScriptedModel(answer)
    try:
        (home / "config.toml").write_text(
            'model_provider = "scripted"\n[model_providers.scripted]\nname = "scripted"\n'
            f'base_url = "http://127.0.0.1:{model.port}/v1"\nwire_api = "responses"\n'
            f'[projects."{repo}"]\ntrust_level = "trusted"\n')
        proc = subprocess.run([CODEX, "exec", "-m", "gpt-5.5", "--dangerously-bypass-hook-trust",
                               "--skip-git-repo-check", "what do we know about greet?"],
                              cwd=repo, env=env, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    finally:
        model.close()
    assert proc.returncode == 0, proc.stderr[-3000:]
    outputs = {item.get("call_id"): item for r in model.requests for item in r.get("input", [])
               if isinstance(item, dict) and item.get("type", "").endswith("_output")}
    found = outputs[f"call_1_{len(searches)}"]["tools"]
    assert [t["name"] for t in found] == ["mcp__tether"]
    assert "recall" in [t["name"] for t in found[0]["tools"]]
    recalled = json.dumps(outputs["call_2"]["output"])
    assert TASK in recalled and '\\"status\\":\\"current\\"' in recalled  # hits, with where they came from
    assert '\\"checkpoint\\":\\"CKP-0001\\"' in json.dumps(outputs["call_3"]["output"])
    [made] = checkpoints(repo)
    assert made.current_state == "greet written"


def test_the_prompt_after_the_context_passes_half_its_window_is_told_so(tmp_path):
    """UserPromptSubmit in Codex: the next prompt of a session whose context is 58% full of the
    window its rollout names (Codex's own token counts) carries the ORANGE line, once."""
    repo, env = project(tmp_path, ["install", "codex"])
    home = tmp_path / "home" / ".codex"
    home.mkdir()
    env["CODEX_HOME"] = str(home)

    def answer(path, body):
        usage = {"input_tokens": 150_000, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": 10,
                 "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 150_010}
        rid = f"resp_{len(model.requests)}"
        return sse([("response.created", {"response": {"id": rid}}),
                    ("response.output_item.done", {"item": {"id": f"item_{rid}", **reply("read it all")}}),
                    ("response.completed", {"response": {"id": rid, "usage": usage}})])

    model = ScriptedModel(answer)
    try:
        (home / "config.toml").write_text(
            'model_provider = "scripted"\nmodel_auto_compact_token_limit = 1000000\n'
            '[model_providers.scripted]\nname = "scripted"\n'
            f'base_url = "http://127.0.0.1:{model.port}/v1"\nwire_api = "responses"\n'
            f'[projects."{repo}"]\ntrust_level = "trusted"\n')
        for args in (["exec"], ["exec", "resume", "--last"], ["exec", "resume", "--last"]):
            proc = subprocess.run([CODEX, *args, "-m", "gpt-5.5", "--dangerously-bypass-hook-trust",
                                   "--skip-git-repo-check", "go on"],
                                  cwd=repo, env=env, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
            assert proc.returncode == 0, proc.stderr[-3000:]
    finally:
        model.close()
    inputs = [json.dumps(r.get("input", [])) for r in model.requests]
    line = "tether: the context window is 58% full (150,010 of 258,400 tokens): ORANGE"
    assert line not in inputs[0] and line in inputs[1]
    assert inputs[2].count(line) == 1  # said once, at the change of state, never again
