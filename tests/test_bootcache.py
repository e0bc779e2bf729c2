"""Warm boot: the brief from .tether/local/boot.cache is always the brief a cold boot gives.

The cache is trusted while every file and directory the brief was read from keeps its
(mtime, size, inode) and HEAD is unchanged. Files written within the last two seconds are
"racily clean" and never trusted, so these tests age the store's timestamps to make a
cache, then change something the way a user would and compare with a cold boot.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from tether import session as session_module

CACHE = ".tether/local/boot.cache"


@pytest.fixture
def state(repo, cli, monkeypatch):
    monkeypatch.setenv("TETHER_NOW", "2026-11-21T10:00:00Z")
    monkeypatch.setenv("TETHER_SESSION_ID", "S-cache")
    assert cli("init").code == 0
    cli("task", "start", "Process documents", "--id", "T1", *[a for n in range(1, 21) for a in ("-i", f"d{n}.pdf")])
    cli("checkpoint", "--done", "1-5", "--state", "Docs 1-5 summarised", "--next", "Summarise d6.pdf")
    cli("task", "start", "Write the report", "--id", "R1", "-s", "outline", "-s", "draft")
    cli("decide", "Summary length?", "--decision", "One paragraph", "--who", "@frans")
    cli("note", "gotcha", "d7.pdf is a scanned image")
    assert cli("close", "--summary", "Summarised docs 1-5", "--next", "Review with @frans").code == 0
    return repo


def age(repo, seconds: int = 60) -> None:
    """Backdate every path of the store, as if nothing had been written for a minute."""
    then = time.time() - seconds
    for directory, dirs, files in os.walk(repo / ".tether"):
        for name in files + dirs:
            os.utime(os.path.join(directory, name), (then, then))
    os.utime(repo / ".tether", (then, then))


def cold(cli, repo, *argv):
    (repo / CACHE).unlink(missing_ok=True)
    return cli("boot", *argv)


def no_cold_boot(monkeypatch):
    def fail(*_args, **_kw):
        raise AssertionError("boot read the files: the cache was not used")

    monkeypatch.setattr(session_module, "snapshot", fail)


def test_a_warm_boot_gives_the_cold_boots_brief_and_reads_nothing_else(state, cli, monkeypatch):
    age(state)
    expected = {argv: cold(cli, state, *argv) for argv in [(), ("--json",), ("--budget", "300"), ("--budget", "300", "--json")]}
    assert cli("boot").code == 0 and (state / CACHE).is_file()  # the cold boot above saved it
    no_cold_boot(monkeypatch)
    for argv, want in expected.items():
        got = cli("boot", *argv)
        assert (got.code, got.out, got.err) == (want.code, want.out, want.err), argv
    assert "Resuming Process documents (T1) from item 6 of 20" in expected[()].out


def test_files_written_just_now_are_not_trusted(state, cli):
    assert cli("boot").code == 0
    assert not (state / CACHE).exists()  # racily clean: the next boot reads the files again
    age(state)
    assert cli("boot").code == 0
    assert (state / CACHE).exists()


CHANGES = {
    "checkpoint": (("checkpoint", "--task", "T1", "--done", "6-9", "--state", "Docs 6-9 summarised"),
                   "Docs 6-9 summarised"),
    "decision": (("decide", "Which OCR?", "--decision", "tesseract", "--who", "@ana"), "Which OCR? -> tesseract"),
    "note": (("note", "dont", "Never re-run the OCR"), "Never re-run the OCR"),
    "resolved note": (None, None),
    "new task": (("task", "start", "Publish the summary", "--id", "P1"), "Publish the summary"),
    "completed task": (("task", "complete", "R1"), "Open tasks (1)"),
    "switched task": (("task", "switch", "T1"), "- ACTIVE Resuming Process documents (T1)"),
    "close": (("close", "--summary", "Reviewed the first five"), "Reviewed the first five"),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_every_change_a_user_makes_shows_at_the_next_boot(state, cli, change):
    age(state)
    cli("boot")
    assert cli("boot").code == 0 and (state / CACHE).is_file()
    argv, shown = CHANGES[change]
    if change == "resolved note":
        note_id = cli("note", "list", "--json").json()["notes"][0]["id"]
        argv, shown = ("note", "resolve", note_id), None
    assert cli(*argv).code == 0, argv
    warm = cli("boot")
    want = cold(cli, state)
    assert warm.out == want.out
    if shown:
        assert shown in warm.out
    else:
        assert "d7.pdf is a scanned image" not in warm.out


def test_hand_edits_git_pulls_config_and_commits_show_at_the_next_boot(state, cli, git):
    store = state / ".tether"
    age(state)
    cli("boot")
    # A file brought by git (or an editor), replaced with new content: the decision changes.
    decision = next((store / "decisions").glob("*.md"))
    decision.write_text(decision.read_text().replace("One paragraph", "Two paragraphs"))
    assert "Two paragraphs" in cli("boot").out
    # The reading order in the config.
    config = store / "tether.toml"
    config.write_text(config.read_text().replace("reading_order = [", 'reading_order = ["docs/ROADMAP.md", ', 1))
    assert "docs/ROADMAP.md" in cli("boot").out
    # A commit: same files, new HEAD, so "differ from HEAD" is asked again.
    before = cli("boot").out
    assert "differ from HEAD" in before
    git("add", "-A")
    git("commit", "-q", "-m", "state")
    age(state)
    after = cli("boot").out
    assert "match HEAD" in after and after == cold(cli, state).out


def test_a_torn_event_line_after_the_cache_was_made_is_reported(state, cli):
    age(state)
    cli("boot")
    assert (state / CACHE).is_file()
    with open(state / ".tether" / "memory" / "events.jsonl", "ab") as fh:
        fh.write(b'{"at":"2026-11-21T10:02:00Z","event":"chec')  # killed mid-append
    run = cli("boot", "--json")
    assert run.code == 3
    assert [p["path"] for p in run.json()["problems"]] == [".tether/memory/events.jsonl"]


def test_a_damaged_cache_is_rebuilt_not_trusted(state, cli):
    age(state)
    want = cold(cli, state).out
    for garbage in (b"", b"\x00garbage", b"{"):
        (state / CACHE).write_bytes(garbage)
        assert cli("boot").out == want


def test_a_degraded_brief_is_never_cached(state, cli):
    (state / ".tether" / "decisions" / "D-bad.md").write_bytes(b"---\nid: \"D-bad\"\n\xff\n---\n")
    age(state)
    assert cli("boot").code == 3
    assert not (state / CACHE).exists()


def test_the_warm_session_start_hook_loads_no_store_and_records_the_same_event(state, cli):
    age(state)
    event = {"hook_event_name": "SessionStart", "source": "startup", "session_id": "sess-1",
             "transcript_path": "/tmp/t.jsonl", "cwd": str(state)}
    cold_run = cli("hook", "claude-code", input=json.dumps(event))  # cold: reads the files, saves the cache
    age(state)
    cli("boot")
    script = ("import io, json, sys\n"
              "from tether.cli.main import main\n"
              "code = main(['hook', 'claude-code'])\n"
              "sys.stderr.write(json.dumps(sorted(m for m in sys.modules if m.startswith('tether'))))\n"
              "sys.exit(code)\n")
    proc = subprocess.run([sys.executable, "-c", script], input=json.dumps(event), capture_output=True, text=True,
                          cwd=state, timeout=60)
    assert proc.returncode == 0
    loaded = json.loads(proc.stderr)
    assert "tether.store.files" not in loaded and "tether.session" not in loaded and "argparse" not in loaded
    assert proc.stdout == cold_run.out  # the same brief injected
    events = [json.loads(line) for line in (state / ".tether" / "memory" / "events.jsonl").read_text().splitlines()]
    cold_event, warm_event = [e for e in events if e["event"] == "session_start"]
    assert {k: v for k, v in warm_event.items() if k != "at"} == {k: v for k, v in cold_event.items() if k != "at"}


def test_a_workspace_without_an_event_log_yet_boots_warm(repo, cli, monkeypatch):
    assert cli("init").code == 0  # init writes no event
    assert not (repo / ".tether" / "memory" / "events.jsonl").exists()
    age(repo)
    want = cli("boot")
    assert (repo / CACHE).is_file()
    no_cold_boot(monkeypatch)
    assert cli("boot").out == want.out
