"""Boot-cache dependencies kept by content (bootcache.save/load): odd names and unreadable folders.

Each test makes a cache within the racy window (its dependencies are kept by what boot read
of them), changes the store the way the test names, and compares the next boot, warm, with a
cold one (the cache deleted).
"""

from __future__ import annotations

import io
import json
import os

import pytest

CACHE = ".tether/local/boot.cache"


@pytest.fixture
def state(repo, cli, monkeypatch):
    monkeypatch.setenv("TETHER_NOW", "2026-11-21T10:00:00Z")
    monkeypatch.setenv("TETHER_SESSION_ID", "S-review")
    assert cli("init").code == 0
    cli("task", "start", "Process documents", "--id", "T1", "-i", "a", "-i", "b")
    cli("checkpoint", "--done", "1", "--state", "a done", "--next", "do b")
    cli("task", "start", "Write the report", "--id", "R1", "-s", "outline")
    assert cli("close", "--summary", "first session").code == 0
    # The config, read through its own cache, is never kept by content: a minute old here, so
    # the boots below are kept by what they read of everything else (all written just now).
    config = repo / ".tether" / "tether.toml"
    then = config.stat().st_mtime - 60
    os.utime(config, (then, then))
    return repo


def kept_by_content(repo, rel: str):
    from tether.warm import brief_cache, cachefile

    return cachefile.read(str(repo / CACHE), "boot", brief_cache.FORMAT)["read_back"].get(rel)


def test_a_racy_folder_whose_names_join_to_the_same_text_is_not_trusted(state, cli):
    """One name holding a newline and two names must not look the same: a folder's names are
    kept joined by NUL, which no name can hold."""
    assert cli("boot").code == 0  # everything was written just now: kept by content
    assert kept_by_content(state, "open") == "R1\0T1"
    open_dir = state / ".tether" / "open"
    for name in ("R1", "T1"):
        (open_dir / name).unlink()
    (open_dir / "R1\nT1").write_text("")  # one (odd) name; neither task is open any more
    warm = cli("boot")
    (state / CACHE).unlink()
    cold = cli("boot")
    assert "Open tasks (0)" in cold.out
    assert warm.out == cold.out


def test_a_racy_folder_that_cannot_be_listed_fails_the_hook_like_a_cold_boot(state, cli, monkeypatch):
    """A folder kept by content that can no longer be listed (chmod by another user, EACCES):
    the warm path gives way, and the full hook reports it in one line (exit 1)."""
    from tether.hooks.claude_code import handle

    assert cli("boot").code == 0 and kept_by_content(state, "decisions") is not None
    decisions = str(state / ".tether" / "decisions")
    real = os.listdir

    def listdir(path="."):
        if os.fspath(path) == decisions:
            raise PermissionError(13, "Permission denied", decisions)
        return real(path)

    monkeypatch.setattr(os, "listdir", listdir)  # as `chmod a-r .tether/decisions` does for a non-root user
    event = {"hook_event_name": "SessionStart", "source": "startup", "cwd": str(state), "session_id": "S"}

    def hook():
        out, err = io.StringIO(), io.StringIO()
        try:
            code = handle(io.StringIO(json.dumps(event)), out, err)
        except Exception as exc:  # reaches main(): "internal error ... report it", exit 70
            return f"raised {type(exc).__name__}", ""
        return code, err.getvalue()

    warm = hook()
    (state / CACHE).unlink()
    cold = hook()
    assert cold[0] == 1 and "Permission denied" in cold[1]
    assert warm == cold
