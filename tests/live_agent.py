"""What the live agent tests share: a scripted model API on localhost, and a project with
tether set up the way its README says, for a real agent CLI (Claude Code, Codex) to run in.

The model answers each request with ``answer(body)``: a list of bytes written as the response
(server-sent events). No network, no account: the agent CLI is pointed at this server.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

TETHER = [sys.executable, "-m", "tether"]
TASK = "Add a greet function"
PIN = "greet() returns exactly hello"


class ScriptedModel:
    """Answers POSTs with ``answer(path, body)`` (bytes of server-sent events); keeps every request."""

    def __init__(self, answer):
        self.requests: list = []
        model = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                self.send_response(404)
                self.end_headers()

            def do_HEAD(self):
                self.send_response(200)
                self.end_headers()

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
                model.requests.append(body)
                kind, data = answer(self.path, body)
                self.send_response(200)
                self.send_header("content-type", kind)
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


def sse(events: list) -> tuple[str, bytes]:
    """``(type, data)`` pairs as a text/event-stream body, each data carrying its type."""
    return "text/event-stream", b"".join(
        f"event: {kind}\ndata: {json.dumps({'type': kind, **data})}\n\n".encode() for kind, data in events)


def project(tmp_path: Path, install: list) -> tuple[Path, dict]:
    """A git repository with tether set up (init, a task, a pin, ``tether install ...``), and the
    environment an agent runs in: its own HOME, this interpreter's scripts first on PATH."""
    repo = tmp_path / "repo"
    repo.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TETHER_", "GIT_", "OPENAI_", "ANTHROPIC_",
                                                                      "CLAUDE"))}
    env.update(HOME=str(tmp_path / "home"), TETHER_FSYNC="0",
               PATH=os.pathsep.join([os.path.dirname(sys.executable), env.get("PATH", "")]))
    (tmp_path / "home").mkdir(exist_ok=True)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / "README.md").write_text("greeter\n")
    subprocess.run([*git, "add", "."], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "init"], cwd=repo, check=True)
    for args in (["init"], ["task", "start", TASK, "--criteria", "greet() returns hello"], ["pin", PIN], install):
        proc = subprocess.run([*TETHER, *args], cwd=repo, env=env, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
    return repo, env


def tether(repo: Path, env: dict, *args: str) -> str:
    proc = subprocess.run([*TETHER, *args], cwd=repo, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def session_log(repo: Path) -> list[dict]:
    return [json.loads(line) for line in (repo / ".tether" / "local" / "sessions.jsonl").read_text().splitlines()]


def compactions(repo: Path) -> list[dict]:
    return [json.loads(line) for line in (repo / ".tether" / "memory" / "compactions.jsonl").read_text().splitlines()]


def checkpoints(repo: Path) -> list:
    from tether import Workspace

    ws = Workspace.open(repo)
    [task] = ws.store.open_task_ids()
    return [ws.store.load_checkpoint(task, n) for n in ws.store.checkpoint_names(task)]


def nothing_private(repo: Path, *private: Path) -> None:
    """No committed file of tether's names a private folder (the agent's home, where its
    transcripts live)."""
    for path in (repo / ".tether").rglob("*"):
        if path.is_file() and "local" not in path.relative_to(repo / ".tether").parts:
            text = path.read_text(errors="replace")
            for folder in private:
                assert str(folder) not in text, path
