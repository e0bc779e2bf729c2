"""Warm boot: the brief from .tether/local/boot.cache is always the brief a cold boot gives.

The cache is trusted while every file and directory the brief was read from keeps its
(mtime, size, inode) and HEAD is unchanged. Files written within the last two seconds are
"racily clean" and never trusted, so these tests age the store's timestamps to make a
cache, then change something the way a user would and compare with a cold boot.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

from pathlib import Path

import pytest

from tether.core import boot as boot_module

CACHE = ".tether/local/boot.cache"
LOG = ".tether/memory/events.jsonl"


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

    monkeypatch.setattr(boot_module, "snapshot", fail)


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


def test_when_only_head_moves_the_boot_stays_warm_and_says_what_now_differs(state, cli, git, monkeypatch):
    """Committing tether's files, a commit of code, a new branch: none touches tether's files, so
    the next boot reads none of them; it asks git what HEAD now holds, and its brief is the
    cold boot's, commit, branch and "differ from HEAD" included."""
    age(state)
    assert "differ from HEAD" in cli("boot").out and (state / CACHE).is_file()
    steps = [("git", "add", "-A"), ("git", "commit", "-q", "-m", "tether state"),  # tether's files now match
             ("write", "README.md"), ("git", "commit", "-q", "-am", "code"),         # HEAD moves again
             ("git", "checkout", "-q", "-b", "feature")]                              # the branch changes
    for step in steps:
        if step[0] == "write":
            (state / step[1]).write_text("# Project, edited\n")
            continue
        git(*step[1:])
        if step[1] == "add":
            continue
        with monkeypatch.context() as patched:
            no_cold_boot(patched)
            warm = cli("boot")
            hook = cli("hook", "claude-code", input=json.dumps({"hook_event_name": "SessionStart", "source": "startup",
                                                                "cwd": str(state)}))
        head = git("rev-parse", "HEAD").strip()
        assert warm.out.splitlines()[0].startswith(f"# tether boot: commit {head[:12]} on ")
        assert "match HEAD" in warm.out
        assert head[:12] in json.loads(hook.out)["hookSpecificOutput"]["additionalContext"]
        assert warm.out == cold(cli, state).out, step
        age(state)  # the cold boot above wrote a fresh cache; its files are old again
        cli("boot")
    assert warm.out.splitlines()[0].endswith(" on feature")


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
    assert "tether.store.files" not in loaded and "tether.core.boot" not in loaded and "argparse" not in loaded
    assert proc.stdout == cold_run.out  # the same brief injected
    events = [json.loads(line) for line in (state / ".tether" / "local" / "sessions.jsonl").read_text().splitlines()]
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


def test_after_a_restart_the_brief_shows_what_the_journal_restored(state, cli, monkeypatch):
    from tether.store import fsio

    assert cli("task", "switch", "T1").code == 0  # the checkpoint below changes nothing else boot reads
    age(state)
    assert cli("boot").code == 0 and (state / CACHE).is_file()
    folder = state / ".tether" / "tasks" / "T1" / "checkpoints"
    before = os.stat(folder)
    assert cli("checkpoint", "--task", "T1", "--done", "6-9", "--state", "Docs 6-9 summarised").code == 0
    # A machine crash lost the new file and its folder entry; its journal line was flushed.
    for path in folder.glob("CKP-0002-*.md"):
        path.unlink()
    os.utime(folder, ns=(before.st_atime_ns, before.st_mtime_ns))
    monkeypatch.setattr(fsio, "_boot", "after-the-restart")
    warm = cli("boot")
    assert "Docs 6-9 summarised" in warm.out
    assert warm.out == cold(cli, state).out


def event(n: int, pad: int = 0) -> bytes:
    return json.dumps({"at": f"2026-11-21T10:{n // 60:02d}:{n % 60:02d}Z", "event": "x", "session": "S",
                       "pad": "p" * pad}, separators=(",", ":")).encode() + b"\n"


def test_memory_log_edited_in_place_is_checked_like_a_cold_boot(state, cli):
    """An editor that saves in place keeps the log's inode and size: its last lines are checked anyway."""
    age(state)
    assert cli("boot").code == 0 and (state / CACHE).is_file()
    log = state / LOG
    data = log.read_bytes()
    lines = data.split(b"\n")
    # Break the last event line by hand (same length: the file keeps its size and inode).
    last = lines[-2]
    lines[-2] = b"#" + last[1:]
    with open(log, "r+b") as fh:  # in place, as an editor that does not rename
        fh.write(b"\n".join(lines))
    warm = cli("boot", "--json")
    want = cold(cli, state, "--json")
    assert want.code == 3  # the cold boot names the broken line
    assert (warm.code, warm.out) == (want.code, want.out)


def test_a_long_new_line_widens_the_cold_check_to_an_old_bad_line(state, cli):
    """Boot checks the log's last 20 lines however long they are, warm as cold."""
    log = state / LOG
    with open(log, "ab") as fh:
        fh.write(b"{not json, a line torn long ago}\n")
        for n in range(25):
            fh.write(event(n, 1900))  # ~2 KB each: the last 40 KB hold 20 of them
    age(state)
    first = cold(cli, state, "--json")
    assert first.code == 0, first.out  # the bad line is outside the window a cold boot reads
    assert cli("boot").code == 0 and (state / CACHE).is_file()
    with open(log, "ab") as fh:
        fh.write(event(30, 30000))  # one valid, long event (e.g. a long transcript path)
    warm = cli("boot", "--json")
    want = cold(cli, state, "--json")
    assert want.code == 3  # fewer than 20 lines in 40 KB: the cold boot widens to the bad line
    assert (warm.code, warm.out) == (want.code, want.out)


def test_a_line_starting_with_a_bom_is_judged_like_a_cold_boot(state, cli):
    """A line is strict UTF-8 JSON for a warm boot too (json.loads alone would accept a BOM)."""
    age(state)
    assert cli("boot").code == 0 and (state / CACHE).is_file()
    with open(state / LOG, "ab") as fh:
        fh.write(b"\xef\xbb\xbf" + event(1))  # a line from a file saved by a Windows editor, appended
    warm = cli("boot", "--json")
    want = cold(cli, state, "--json")
    assert want.code == 3
    assert (warm.code, warm.out) == (want.code, want.out)


def test_a_long_lived_workspace_does_not_cache_its_stale_config(state, cli):
    """A process that keeps one Workspace keys the cache on the config file it read, not on the current one."""
    from tether import Workspace

    age(state)
    ws = Workspace.open(state)
    (state / CACHE).unlink(missing_ok=True)
    ws.boot()  # a long-running agent harness boots at each session start
    config = state / ".tether" / "tether.toml"
    config.write_text(config.read_text().replace("reading_order = [", 'reading_order = ["docs/ROADMAP.md", ', 1))
    age(state)  # the edit was made a minute ago
    ws.boot()  # next session of the same process
    warm = cli("boot")
    want = cold(cli, state)
    assert "docs/ROADMAP.md" in want.out
    assert warm.out == want.out


def test_budget_with_unicode_superscript_digits_is_a_usage_error(state, cli):
    """'²'.isdigit() is True but int('²') raises: still a usage error, not an internal one."""
    got = cli("boot", "--budget", "²⁰⁰")
    assert got.code == 2, (got.code, got.out, got.err)  # argparse: invalid int value


def test_an_upgraded_tether_does_not_print_the_old_versions_brief(state, cli, tmp_path):
    """A new tether (here: one heading reworded) does not print the brief an older one cached."""
    import tether

    age(state)
    assert cli("boot").code == 0 and (state / CACHE).is_file()
    # tether 'v2': the same code with one heading reworded and the version bumped.
    new = tmp_path / "v2"
    shutil.copytree(Path(tether.__file__).parent, new / "tether")
    session = new / "tether" / "core" / "sections.py"
    session.write_text(session.read_text().replace('"## Last session"', '"## Previous session"'))
    init = new / "tether" / "__init__.py"
    init.write_text(init.read_text() + "\n__version__ = '99.0'\n")
    env = {**os.environ, "PYTHONPATH": str(new)}

    def run():
        proc = subprocess.run([sys.executable, "-m", "tether", "boot"], cwd=state, env=env, capture_output=True,
                              text=True, timeout=60)
        return proc.returncode, proc.stdout

    warm = run()
    (state / CACHE).unlink()
    want = run()
    assert "## Previous session" in want[1]
    assert warm == want


def test_a_stale_cache_is_asked_once_and_the_boot_needs_no_argument_parser(state, cli, spy):
    """`tether boot` whose cache is stale reads the files at once: the cache is not asked
    twice, argparse is not loaded, and the output is what the full command path gives."""
    from tether.warm import brief_cache

    expected = {argv: cli("-C", str(state), "boot", *argv) for argv in [(), ("--json",), ("--budget", "300")]}
    asked = spy(brief_cache, "load")
    for argv, want in expected.items():
        asked.clear()
        got = cold(cli, state, *argv)
        assert (got.code, got.out, got.err) == (want.code, want.out, want.err), argv
        assert len(asked) == 1, argv
    (state / CACHE).unlink(missing_ok=True)
    probe = "import sys; from tether.cli.main import main; code = main(['boot']); print('argparse' in sys.modules, code)"
    proc = subprocess.run([sys.executable, "-c", probe], cwd=state, capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip().splitlines()[-1] == "False 0", proc.stderr


def test_a_boot_right_after_a_checkpoint_is_kept_and_checked_by_content(state, cli, monkeypatch):
    """Files written within the racy window are kept by what boot read of them, and the next
    boot compares that, not their stats: a same-size edit with the mtime put back is seen."""
    age(state)
    assert cli("boot").code == 0
    assert cli("checkpoint", "--task", "T1", "--done", "6", "--state", "Doc 6 done").code == 0
    fresh = cli("boot")  # the checkpoint's file and folder are seconds old: kept by content
    assert (state / CACHE).is_file()
    with monkeypatch.context() as patched:
        no_cold_boot(patched)
        assert cli("boot").out == fresh.out and "Doc 6 done" in fresh.out

    # A same-size edit in the same timestamp tick leaves the stat as it was: make every stat look
    # unchanged, as it would then; only the kept content can tell.
    from tether.warm import brief_cache
    from tether.store import fsio

    newest = sorted((state / ".tether/tasks/T1/checkpoints").glob("CKP-*.md"))[-1]
    frozen = {}
    monkeypatch.setattr(brief_cache, "stat_key", lambda path: frozen.setdefault(path, fsio.stat_key(path)))
    with monkeypatch.context() as patched:
        no_cold_boot(patched)
        cli("boot")  # warm: records every stat it checks
    newest.write_bytes(newest.read_bytes().replace(b"Doc 6 done", b"Doc 6 redo"))
    assert "Doc 6 redo" in cli("boot").out
    monkeypatch.setattr(brief_cache, "stat_key", fsio.stat_key)

    (newest.parent / "notes.txt").write_text("a file that is not a checkpoint\n")
    cli("boot")
    (newest.parent / "notes.txt").unlink()  # the folder's names changed back, its stat did not
    assert cli("boot").out == fresh.out.replace("Doc 6 done", "Doc 6 redo")


def test_the_session_start_after_a_compaction_is_warm(state, cli, monkeypatch):
    """PreCompact checkpoints the active task and makes boot's cache; the SessionStart that
    follows the compaction gives the full boot's brief without reading the files."""
    import io

    from tether.hooks.claude_code import handle

    age(state)
    event = {"session_id": "S-compact", "cwd": str(state), "transcript_path": str(state / "t.jsonl")}

    def hook(name, **fields):
        out, err = io.StringIO(), io.StringIO()
        code = handle(io.StringIO(json.dumps({**event, "hook_event_name": name, **fields})), out, err)
        assert code == 0, err.getvalue()
        return out.getvalue()

    hook("PreCompact", trigger="auto")
    with monkeypatch.context() as patched:
        no_cold_boot(patched)
        warm = json.loads(hook("SessionStart", source="compact"))["hookSpecificOutput"]["additionalContext"]
    (state / CACHE).unlink()
    cold = json.loads(hook("SessionStart", source="compact"))["hookSpecificOutput"]["additionalContext"]
    assert warm == cold and "Automatic checkpoint before context compaction" not in warm
    assert "Resuming Process documents (T1)" in warm


def test_the_first_boot_after_a_close_or_a_session_end_is_warm(state, cli, monkeypatch):
    """`tether close` and the SessionEnd hook build boot's cache as they finish: the next
    session's first boot (SessionStart after /clear, or the next day) reads no file."""
    import io

    from tether.hooks.claude_code import handle

    age(state)
    assert cli("close", "--summary", "Reviewed docs 1-5 with @frans").code == 0
    with monkeypatch.context() as patched:
        no_cold_boot(patched)
        warm = cli("boot")
    assert "Reviewed docs 1-5 with @frans" in warm.out
    assert warm.out == cold(cli, state).out

    assert cli("checkpoint", "--task", "T1", "--done", "6", "--state", "Doc 6 done").code == 0
    event = {"hook_event_name": "SessionEnd", "reason": "clear", "session_id": "S-end", "cwd": str(state)}
    assert handle(io.StringIO(json.dumps(event)), io.StringIO(), io.StringIO()) == 0
    with monkeypatch.context() as patched:
        no_cold_boot(patched)
        warm = cli("boot")
    assert "Doc 6 done" in warm.out and warm.out == cold(cli, state).out
