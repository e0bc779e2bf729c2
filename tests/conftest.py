"""Shared fixtures: every test runs isolated from the real home, git config and tether env.

Fixtures:
- ``repo``: a git repository in tmp_path with one commit; the test's cwd is its root.
- ``ws``: an initialised :class:`tether.Workspace` in ``repo``.
- ``cli``: run ``tether ARGS`` in-process; returns ``Run(code, out, err)`` (``.json()`` parses out).
- ``tether_proc``: run ``python -m tether ARGS`` as a real process (end-to-end checks).
- ``git``: run git in ``repo`` (or ``cwd=``) and return its stdout.
- ``fast_writes``: turn fsync off for tests that create hundreds of records.
- ``spy``: ``spy(owner, name, keep)`` wraps ``owner.name`` and returns the list of what
  ``keep(*args)`` made of each call (calls for which it returns None are not kept).
- ``seed_doc``: the seed's Yield.xyz session context (its ``session_context`` mapping; copy before changing).
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import pytest

import tether.store.fsio


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    # tether and git must never read or write the developer's own home or config.
    for name in list(os.environ):
        if name.startswith("TETHER_") or name in ("CODEX_THREAD_ID", "CLAUDE_ENV_FILE"):  # run inside an agent
            monkeypatch.delenv(name)
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_CONFIG_GLOBAL", "GIT_CEILING_DIRECTORIES"):
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Test Author")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "author@example.com")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Test Committer")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "committer@example.com")
    # Durability is on by default: fsio reads TETHER_FSYNC once at import, so pin it here.
    monkeypatch.setattr(tether.store.fsio, "_DURABLE", True)


@pytest.fixture
def fast_writes(monkeypatch):
    """No fsync, in this process and in child processes: for tests that make many records."""
    monkeypatch.setenv("TETHER_FSYNC", "0")
    monkeypatch.setattr(tether.store.fsio, "_DURABLE", False)


def run_git(cwd: Path, *args: str) -> str:
    proc = subprocess.run(["git", "-C", str(cwd), *args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout


@pytest.fixture
def spy(monkeypatch):
    def attach(owner, name: str, keep=lambda *args, **kwargs: args) -> list:
        calls = []
        real = getattr(owner, name)

        def wrapper(*args, **kwargs):
            kept = keep(*args, **kwargs)
            if kept is not None:
                calls.append(kept)
            return real(*args, **kwargs)

        monkeypatch.setattr(owner, name, wrapper)
        return calls

    return attach


@pytest.fixture
def repo(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    run_git(root, "init", "-q", "-b", "main")
    run_git(root, "config", "commit.gpgsign", "false")
    (root / "README.md").write_text("# Project\n")
    run_git(root, "add", "README.md")
    run_git(root, "commit", "-q", "-m", "initial")
    monkeypatch.chdir(root)
    return root


@pytest.fixture
def git(repo):
    def call(*args: str, cwd: Path | None = None) -> str:
        return run_git(cwd or repo, *args)
    return call


@pytest.fixture
def ws(repo):
    from tether import Workspace

    workspace, _ = Workspace.init(repo)
    return workspace


class Run(NamedTuple):
    code: int
    out: str
    err: str

    def json(self) -> dict:
        return json.loads(self.out)


@pytest.fixture
def cli():
    """``cli("task", "list", input="...")`` runs tether.cli.main.main in this process."""
    from tether.cli.main import main

    def call(*argv: str, input: str | bytes | None = None) -> Run:
        data = input.encode("utf-8") if isinstance(input, str) else (input or b"")
        stdin = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8")  # has .buffer, like the real one
        out, err = io.StringIO(), io.StringIO()
        cwd = os.getcwd()  # `-C DIR` changes directory: undo it after each call
        saved = sys.stdin, sys.stdout, sys.stderr
        sys.stdin, sys.stdout, sys.stderr = stdin, out, err
        try:
            code = main([str(a) for a in argv])
        except SystemExit as exc:  # --help, --version, hook
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        finally:
            sys.stdin, sys.stdout, sys.stderr = saved
            os.chdir(cwd)
        return Run(code, out.getvalue(), err.getvalue())

    return call


@pytest.fixture
def tether_proc():
    """``tether_proc("boot", cwd=path)`` runs ``python -m tether`` as its own process."""

    def call(*argv: str, cwd: Path | None = None, input: str | None = None,
             env: dict[str, str] | None = None) -> Run:
        proc = subprocess.run([sys.executable, "-m", "tether", *map(str, argv)], cwd=cwd or os.getcwd(),
                              input=input, capture_output=True, text=True, env={**os.environ, **(env or {})},
                              timeout=60)
        return Run(proc.returncode, proc.stdout, proc.stderr)

    return call


@pytest.fixture
def seed_doc() -> dict:
    from ctx_seed import SEED_CONTEXT
    import yaml

    return yaml.safe_load(SEED_CONTEXT)["session_context"]


@pytest.fixture
def at(monkeypatch):
    """``at(stamp, session)``: what follows is done at that time (TETHER_NOW), by that session."""
    def when(stamp: str, session: str) -> None:
        monkeypatch.setenv("TETHER_NOW", stamp)
        monkeypatch.setenv("TETHER_SESSION_ID", session)

    return when
