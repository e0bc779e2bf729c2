"""tether inside a real Codex CLI session: the `codex` binary, its own hooks and rollout, with
tether's hooks installed by `tether install codex`. The model is a scripted Responses API on
localhost (no network, no account): it answers with the tool calls a coding agent makes, a
compaction summary when Codex asks for one, and the usage figures that make Codex compact.

Runs when a Codex CLI is found (``TETHER_CODEX``, or ``codex`` on PATH; `npm install
@openai/codex` gives one); skipped otherwise.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tether import Workspace

CODEX = os.environ.get("TETHER_CODEX") or shutil.which("codex")
pytestmark = pytest.mark.skipif(not CODEX, reason="no Codex CLI (set TETHER_CODEX or put `codex` on PATH)")

PATCH = "*** Begin Patch\n*** Add File: src/greet.py\n+def greet():\n+    return 'hello'\n*** End Patch\n"
SUMMARY = "Handoff: greet() is written in src/greet.py; its test is next."


def shell(cmd: str, n: int) -> dict:
    return {"type": "function_call", "name": "exec_command", "arguments": json.dumps({"cmd": cmd}), "call_id": f"call_{n}"}


def reply(text: str) -> dict:
    return {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": text}]}


# Each turn: the items the model returns and the input tokens it reports. The fifth turn reports
# more than the compaction limit: Codex compacts before its next request.
SCRIPT = [
    ([{"type": "custom_tool_call", "name": "apply_patch", "input": PATCH, "call_id": "call_1"}], 3_000),
    ([shell("echo hello > a.txt", 2)], 3_000),
    ([shell("ls", 3)], 3_000),
    ([shell("cat a.txt", 4)], 3_000),
    ([shell("git status --short", 5)], 90_000),
    ([reply("greet() is in src/greet.py and returns hello. Next: its test.")], 4_000),
]


class Model:
    """A Responses API that plays SCRIPT and writes compaction summaries; keeps every request."""

    def __init__(self):
        self.requests: list = []
        self.turn = 0
        model = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                self.send_response(404)
                self.end_headers()

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
                model.requests.append(body)
                compacting = "CONTEXT CHECKPOINT COMPACTION" in json.dumps(body.get("input", [])[-1:])
                if compacting:
                    items, tokens = [reply(SUMMARY)], 2_000
                elif model.turn < len(SCRIPT):
                    items, tokens = SCRIPT[model.turn]
                    model.turn += 1
                else:
                    items, tokens = [reply("done")], 4_000
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.end_headers()
                rid = f"resp_{len(model.requests)}"
                events = [("response.created", {"response": {"id": rid}})]
                events += [("response.output_item.done", {"item": {"id": f"item_{rid}_{i}", **item}})
                           for i, item in enumerate(items)]
                usage = {"input_tokens": tokens, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": 20,
                         "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": tokens + 20}
                events.append(("response.completed", {"response": {"id": rid, "usage": usage}}))
                self.wfile.write(b"".join(f"event: {kind}\ndata: {json.dumps({'type': kind, **data})}\n\n".encode()
                                          for kind, data in events))

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


@pytest.fixture
def model():
    m = Model()
    yield m
    m.close()


def test_a_codex_session_is_briefed_checkpointed_saved_before_compaction_and_rebriefed(tmp_path, model):
    home, repo = tmp_path / "codex-home", tmp_path / "repo"
    home.mkdir()
    repo.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TETHER_", "GIT_", "OPENAI_"))}
    env.update(CODEX_HOME=str(home), HOME=str(tmp_path), TETHER_FSYNC="0",
               PATH=os.pathsep.join([os.path.dirname(sys.executable), env.get("PATH", "")]))
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / "README.md").write_text("greeter\n")
    subprocess.run([*git, "add", "."], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "init"], cwd=repo, check=True)
    tether = [sys.executable, "-m", "tether"]
    for args in (["init"], ["task", "start", "Add a greet function", "--criteria", "greet() returns hello"],
                 ["pin", "greet() returns exactly hello"], ["install", "codex"]):
        proc = subprocess.run([*tether, *args], cwd=repo, env=env, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
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
    # SessionStart: the brief reached the model before its first answer.
    assert "# tether boot" in inputs[0] and "Add a greet function" in inputs[0]
    log = [json.loads(line) for line in (repo / ".tether" / "local" / "sessions.jsonl").read_text().splitlines()]
    events = [row["event"] for row in log]
    assert events[0] == "session_start" and events[-1] == "session_end"
    assert {"pre_compact", "post_compact"} <= set(events)
    # PostToolUse: after four tool calls, an automatic checkpoint naming the file the patch added.
    ws = Workspace.open(repo)
    [task] = ws.store.open_task_ids()
    ckps = [ws.store.load_checkpoint(task, n) for n in ws.store.checkpoint_names(task)]
    auto = [c for c in ckps if c.automatic == "tool_calls:4"]
    assert auto and auto[0].files == ["src/greet.py"]
    assert auto[0].note.startswith("4 tool calls: Bash 3, apply_patch 1; 1 file changed.")
    # PreCompact: the rollout archived in the repository, tether's summary beside it.
    compactions = [json.loads(line) for line in (repo / ".tether" / "memory" / "compactions.jsonl").read_text().splitlines()]
    saved = [row for row in compactions if row["hook"] == "pre_compact"]
    assert saved
    shown = subprocess.run([*tether, "show", saved[-1]["summary"]], cwd=repo, env=env, capture_output=True, text=True)
    assert "add greet()" in shown.stdout and "src/greet.py" in shown.stdout
    # PostCompact: Codex's own summary kept; SessionStart (compact): the pins and tether's summary
    # reach the model in the compacted context.
    kept = [row for row in compactions if row["hook"] == "post_compact"]
    assert kept and subprocess.run([*tether, "show", kept[-1]["kept"]], cwd=repo, env=env, capture_output=True,
                                   text=True).stdout.strip().endswith(SUMMARY)
    after = [text for text in inputs if SUMMARY in text and "CONTEXT CHECKPOINT COMPACTION" not in text]
    assert after and "greet() returns exactly hello" in after[-1]
    assert "its summary of this session before the compaction" in after[-1]
    # Nothing private in what is committed: the rollout's folder (under the home) is never named.
    for path in (repo / ".tether").rglob("*"):
        if path.is_file() and "local" not in path.relative_to(repo / ".tether").parts:
            assert str(home) not in path.read_text(errors="replace"), path
