"""The command line: init, finding the workspace, errors and exit codes, --json everywhere, index."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tether.cli.main import build_parser

STORE_FILES = ["tether.toml", ".gitignore", ".gitattributes", "CONTEXT.md", "index.json"]


def tree_state(root: Path) -> dict[str, tuple[bytes, int]]:
    """Every file and directory under root, with content and mtime: any change shows."""
    out = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        out[rel] = (path.read_bytes() if path.is_file() else b"<dir>", path.stat().st_mtime_ns)
    return out


# -- init --------------------------------------------------------------------------------------

def test_init_creates_the_store(repo, cli, git):
    run = cli("init")
    assert run.code == 0, run.err
    store = repo / ".tether"
    for name in STORE_FILES:
        assert (store / name).is_file(), name
    assert "locks/" in (store / ".gitignore").read_text() and "local/" in (store / ".gitignore").read_text()
    # git itself agrees: logs merge by union, per-machine files are ignored.
    assert git("check-attr", "merge", ".tether/memory/events.jsonl").strip().endswith("merge: union")
    assert git("check-attr", "merge", ".tether/progress/2026-01-01.md").strip().endswith("merge: union")
    assert git("check-ignore", ".tether/local/active", ".tether/locks/x.lock").split() == [
        ".tether/local/active", ".tether/locks/x.lock"]
    assert "# Session Context" in (store / "CONTEXT.md").read_text()
    assert cli("index", "--check").code == 0
    data = cli("init", "--json").json()
    assert data["store"] == str(store) and data["created"] == []


def test_init_reports_every_file_it_created(repo, cli):
    data = cli("init", "--json").json()
    files = [c for c in data["created"] if " " not in c]  # settings are phrases: "registered the merge driver ..."
    assert sorted(files) == sorted(f".tether/{name}" for name in STORE_FILES)
    assert data["created"][len(files):] == ["registered the merge driver in git config (merge.tether.driver)"]


def test_a_first_init_says_what_to_do_next(repo, cli):
    run = cli("init")
    assert run.code == 0
    assert "Next:" in run.out and "tether task start" in run.out and "tether install claude-code" in run.out
    assert "Next:" not in cli("init").out  # nothing changed: nothing new to suggest


def test_init_is_idempotent(repo, cli):
    cli("init")
    cli("task", "start", "Keep me", "--id", "K1", "-s", "a")
    cli("checkpoint", "--done", "1")
    before = tree_state(repo / ".tether")
    run = cli("init")
    assert run.code == 0 and "nothing changed" in run.out
    after = tree_state(repo / ".tether")
    assert {k: v for k, v in after.items() if not k.startswith("local/")} == \
           {k: v for k, v in before.items() if not k.startswith("local/")}


def test_init_recreates_a_missing_config_and_keeps_records(repo, cli):
    cli("init")
    cli("task", "start", "Keep me", "--id", "K1")
    (repo / ".tether" / "tether.toml").unlink()
    data = cli("init", "--json").json()
    assert data["created"] == [".tether/tether.toml"]
    assert cli("resume").out.startswith("Starting Keep me (K1)")


def test_init_reading_order(repo, cli):
    cli("init", "--reading-order", "README.md", "docs/a.md")
    data = cli("config", "--json").json()
    assert data["reading_order"] == ["README.md", "docs/a.md"] and data["budget"] == 2000


def test_init_from_a_subdirectory_uses_the_repository_root(repo, cli, monkeypatch):
    sub = repo / "src" / "deep"
    sub.mkdir(parents=True)
    monkeypatch.chdir(sub)
    assert cli("init").code == 0
    assert (repo / ".tether" / "tether.toml").is_file() and not (sub / ".tether").exists()


def test_init_outside_a_git_repository(tmp_path, cli, monkeypatch):
    plain = tmp_path / "plain"
    plain.mkdir()
    monkeypatch.chdir(plain)
    run = cli("init")
    assert run.code == 1
    assert run.err.startswith("Error: ") and "not inside a git repository" in run.err
    assert "Hint: run `git init` first" in run.err
    assert not (plain / ".tether").exists()


# -- finding the workspace -----------------------------------------------------------------------

def test_commands_find_the_workspace_from_a_subdirectory(ws, cli, repo, monkeypatch):
    sub = repo / "a" / "b" / "c"
    sub.mkdir(parents=True)
    monkeypatch.chdir(sub)
    assert cli("task", "start", "From deep down", "--id", "D1").code == 0
    assert (repo / ".tether" / "tasks" / "D1" / "task.md").is_file()
    assert cli("resume").out.startswith("Starting From deep down (D1)")
    assert cli("boot").code == 0


def test_a_repository_nested_in_another_is_not_part_of_its_workspace(ws, cli, repo, git, monkeypatch):
    """A clone inside another clone's folder: the outer workspace is not the inner one's, as git's
    outer repository is not; the inner one gets its own at init, and nothing lands in the outer one."""
    assert cli("task", "start", "Outer work", "--id", "OUT1").code == 0
    assert "Outer work" in cli("boot").out
    inner = repo / "vendor" / "lib"
    inner.mkdir(parents=True)
    git("init", "-q", "-b", "main", cwd=inner)
    monkeypatch.chdir(inner / "")
    run = cli("task", "start", "Inner work", "--id", "IN1")
    assert run.code == 1 and "no tether workspace" in run.err and str(inner) in run.err
    assert "Hint: run `tether init`" in run.err
    assert not (repo / ".tether" / "tasks" / "IN1").exists()
    for argv in (["boot"], ["hook", "claude-code"]):  # the fast paths find it the same way
        event = '{"hook_event_name": "SessionStart", "source": "startup", "cwd": "%s"}' % inner
        assert "Outer work" not in cli(*argv, input=event).out
    assert cli("init").code == 0
    assert (inner / ".tether" / "tether.toml").is_file()
    assert cli("task", "start", "Inner work", "--id", "IN1").code == 0
    assert (inner / ".tether" / "tasks" / "IN1" / "task.md").is_file()
    assert not (repo / ".tether" / "tasks" / "IN1").exists()


def test_dash_C_runs_as_if_started_there(ws, cli, tmp_path, monkeypatch):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert cli("-C", str(ws.root), "task", "start", "Remote", "--id", "R1").code == 0
    assert (ws.root / ".tether" / "tasks" / "R1" / "task.md").is_file()


@pytest.mark.parametrize("argv", [["task", "list"], ["boot"], ["resume"], ["checkpoint", "--done", "1"],
                                  ["close", "--summary", "x"], ["index", "--check"], ["decide", "--list"]])
def test_no_workspace_is_one_line_and_a_hint(repo, cli, argv):
    run = cli(*argv)
    assert run.code == 1 and run.out == ""
    lines = run.err.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("Error: no tether workspace in ")
    assert lines[1] == "Hint: run `tether init` at the root of your git repository"
    data = cli(*argv, "--json").json()
    assert data == {"ok": False, "schema_version": 1, "command": argv[0], "error": lines[0].removeprefix("Error: "),
                    "hint": "run `tether init` at the root of your git repository", "kind": "no_workspace",
                    "exit_code": 1}
    assert not (repo / ".tether").exists()


# -- --json for every command --------------------------------------------------------------------

def leaf_commands(parser: argparse.ArgumentParser, prefix: tuple = ()) -> set[tuple]:
    """Every runnable command path of the parser, e.g. ('task', 'start')."""
    found = set()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found |= leaf_commands(sub, prefix + (name,)) or {prefix + (name,)}
    return found


JSON_RUNS = [
    ["init"],
    ["config"],
    ["task", "start", "Second", "--id", "T2", "-s", "one"],
    ["task", "status", "T1"],
    ["task", "list", "--all"],
    ["task", "switch", "T1"],
    ["checkpoint", "--done", "1-2", "--state", "two done"],
    ["resume"],
    ["task", "complete", "T2"],
    ["task", "reopen", "T2"],
    ["task", "clear", "T2"],
    ["decide", "Which?", "--decision", "this"],
    ["decide", "--list"],
    ["note", "phase", "phase one"],
    ["note", "gotcha", "a gotcha"],
    ["note", "dont", "a dont"],
    ["note", "blocker", "a blocker in README.md"],
    ["note", "note", "a note"],
    ["note", "learning", "a learning"],
    ["note", "list", "--all"],
    ["note", "confirm", "<blocker-id>"],
    ["note", "resolve", "<blocker-id>"],
    ["index"],
    ["index", "--check"],
    ["index", "--repair"],
    ["verify"],
    ["drift", "summary.md"],
    ["merge-driver", ".tether/CONTEXT.md", ".tether/CONTEXT.md", ".tether/CONTEXT.md", ".tether/CONTEXT.md"],
    ["close", "--summary", "json session", "--next", "more"],
    ["log"],
    ["log", "--session", "S-none"],
    ["boot"],
    ["install", "claude-code"],
    ["install", "pre-commit"],
    ["uninstall", "claude-code"],
    ["install", "codex"],
    ["uninstall", "codex"],
    ["install", "codex", "--mcp"],
    ["uninstall", "codex"],
    ["install", "cursor"],
    ["uninstall", "cursor"],
    ["demo"],
    ["pin", "keep this"],
    ["pin", "--list"],
    ["unpin", "<pin-id>"],
    ["compact", "messages.json", "--tier", "1", "--threshold", "1"],
    ["show", "<cache-ref>"],
    ["usage", "<transcript>"],
    ["audit", "--fix"],
    ["recall", "items"],
]


def test_every_command_prints_json_with_ok_and_schema_version(ws, cli, fast_writes, tmp_path):
    from test_transcripts import claude_session, jsonl

    assert cli("task", "start", "First", "--id", "T1", "-i", "a", "-i", "b", "-i", "c").code == 0
    (ws.root / "summary.md").write_text("Working on First: items a, b and c.\n")  # no drift: exit 0
    (ws.root / "messages.json").write_text(json.dumps([
        {"role": "user", "content": "run it"},
        {"role": "assistant", "content": "", "tool_calls": [{"id": "c1", "type": "function",
                                                             "function": {"name": "run", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "output " * 50}]), encoding="utf-8")
    transcript = tmp_path / "session.jsonl"
    transcript.write_bytes(jsonl(*claude_session()))
    covered = set()
    blocker = None
    found = {}
    for argv in JSON_RUNS:
        argv = [blocker if a == "<blocker-id>" else str(transcript) if a == "<transcript>" else found.get(a, a)
                for a in argv]
        run = cli(*argv, "--json")
        assert run.code == 0, (argv, run.out, run.err)
        data = json.loads(run.out)
        assert data["ok"] is True and data["schema_version"] == 1, argv
        if argv[:2] == ["note", "blocker"]:
            blocker = data["note"]["id"]
        if argv[0] == "pin" and "pin" in data:
            found["<pin-id>"] = data["pin"]["id"]
        if argv[0] == "compact":
            found["<cache-ref>"] = data["report"]["tiers"][0]["offloaded"][0]["ref"]
        if argv == ["demo"]:  # its text, as one field
            assert "tether init" in data["transcript"], data
        covered.add(tuple(argv[:2]) if argv[0] in ("task", "note", "install", "uninstall") else (argv[0],))
    # ctx needs a session context first: test_every_ctx_command_prints_json runs CTX_JSON_RUNS.
    covered |= {tuple(argv[:2]) for argv, _ in CTX_JSON_RUNS}
    # offload needs a cluster first: test_every_offload_command_prints_json runs OFFLOAD_JSON_RUNS.
    covered |= {tuple(argv[:3] if argv[1] == "cluster" else argv[:2]) for argv in OFFLOAD_JSON_RUNS}
    # hook and statusline: their stdout belongs to Claude Code (tests/test_hooks.py, tests/test_context.py),
    # and mcp's to the MCP protocol (tests/test_mcp.py), not tether's schema.
    assert leaf_commands(build_parser()) - covered == {("hook", "claude-code"), ("hook", "codex"), ("statusline",),
                                                       ("mcp",)}


OFFLOAD_JSON_RUNS = [
    ["offload", "cluster", "create", "Cluster01", "--title", "Wave 1"],
    ["offload", "cluster", "list"],
    ["offload", "add", "blob", "--cluster", "Cluster01", "--title", "Insight", "Dense text."],
    ["offload", "list"],
    ["offload", "show", "<packet-id>"],
    ["offload", "retire", "<packet-id>"],
    ["offload", "ingest", "README.md", "--cluster", "Cluster01"],
    ["offload", "map"],
    ["offload", "snippet"],
    ["offload", "schema"],
]


def test_every_offload_command_prints_json(ws, cli):
    packet = None
    for argv in OFFLOAD_JSON_RUNS:
        run = cli(*[packet if a == "<packet-id>" else a for a in argv], "--json")
        assert run.code == 0, (argv, run.out, run.err)
        data = json.loads(run.out)
        assert data["ok"] is True and data["schema_version"] == 1 and data["command"] == "offload", argv
        if argv[1] == "add":
            packet = data["packet"]["id"]


CTX_RESULT = "skill: content-worker\nartifacts: [{path: drafts/x.md}]\ncompute: {tokens_used: 1000}\n"

# (argv, exit code): a check that answers BLOCKED exits 4 and still prints ok: true (the answer is the data).
CTX_JSON_RUNS = [
    (["ctx", "init", "--campaign", "C-1", "--owner", "@phil", "--boundary", "Only channels: X, Discord",
      "--objective", "Create announcement posts for X, Discord", "--max-skill-calls", "10",
      "--max-tokens", "100000", "--deadline", "2026-01-30T12:00:00Z"], 0),
    (["ctx", "list"], 0),
    (["ctx", "show"], 0),
    (["ctx", "validate"], 0),
    (["ctx", "schema"], 0),
    (["ctx", "schema", "skill_result"], 0),
    (["ctx", "roles"], 0),
    (["ctx", "for", "content-worker"], 0),
    (["ctx", "apply", "result.yaml"], 0),
    (["ctx", "check-scope", "Create the X announcement post"], 0),
    (["ctx", "check-scope", "Also create a YouTube video script"], 4),
    (["ctx", "check-budget", "--cost", "1", "--tokens", "5000"], 0),
    (["ctx", "check-budget", "--cost", "50"], 4),
    (["ctx", "escalate", "Can we mention APY ranges?"], 0),
    (["ctx", "decisions", "--all"], 0),
    (["ctx", "decide", "decision-000", "--decision", "No APY numbers"], 0),
    (["ctx", "stage", "review"], 0),
    (["ctx", "close", "--summary", "done"], 0),
]


def test_every_ctx_command_prints_json(ws, cli, repo, fast_writes, monkeypatch):
    monkeypatch.setenv("TETHER_NOW", "2026-01-29T10:00:00Z")  # before the task's deadline
    (repo / "result.yaml").write_text(CTX_RESULT)
    for argv, code in CTX_JSON_RUNS:
        run = cli(*argv, "--json")
        assert run.code == code, (argv, run.out, run.err)
        data = json.loads(run.out)
        assert data["ok"] is True and data["schema_version"] == 1 and data["command"] == "ctx", argv
        if argv[1] in ("check-scope", "check-budget"):
            assert data["result"] == ("ALLOWED" if code == 0 else "BLOCKED"), argv
    assert data["archive"] and data["spend"]["tokens_used"] == 1000


def test_json_fields_of_common_commands(ws, cli):
    start = cli("task", "start", "Docs", "--id", "T1", "-i", "a", "-i", "b", "--json").json()
    assert start["command"] == "task" and start["task"]["id"] == "T1" and start["task"]["units"] == ["a", "b"]
    ckp = cli("checkpoint", "--done", "1", "--json").json()
    assert ckp["checkpoint"]["id"] == "CKP-0001" and ckp["path"].startswith(".tether/tasks/T1/checkpoints/CKP-0001-")
    assert ckp["resume"]["next_number"] == 2
    listed = cli("task", "list", "--json").json()
    assert listed["active"] == "T1" and listed["tasks"][0]["resume"]["done"] == 1 and listed["problems"] == []
    close = cli("close", "--summary", "s", "--json").json()
    assert set(close) >= {"date", "file", "latest", "completed", "commit", "context_document"}


def test_hook_with_json_still_speaks_the_hook_protocol(ws, cli):
    run = cli("hook", "claude-code", "--json", input=json.dumps({"hook_event_name": "SessionStart",
                                                               "session_id": "s1", "cwd": str(ws.root),
                                                               "source": "startup"}))
    assert run.code == 0
    data = json.loads(run.out)
    assert data["hookSpecificOutput"]["hookEventName"] == "SessionStart"


# -- usage errors ------------------------------------------------------------------------------

USAGE_ERRORS = [
    ["bogus"],
    ["task"],
    ["task", "start"],
    ["task", "frobnicate"],
    ["checkpoint", "--status", "finished"],
    ["checkpoint", "--nope"],
    ["decide", "--list", "--limit", "many"],
    ["close"],
    ["boot", "--budget", "lots"],
    ["note"],
    ["note", "gotcha"],
    ["log", "--limit"],
    ["index", "--check", "--repair"],
]


@pytest.mark.parametrize("argv", USAGE_ERRORS, ids=" ".join)
def test_usage_errors_exit_2(ws, cli, argv):
    run = cli(*argv)
    assert run.code == 2, (run.out, run.err)
    assert run.out == ""
    lines = run.err.splitlines()
    assert lines[0].startswith("Error: ") and lines[1].startswith("Hint: run `tether")
    data = cli(*argv, "--json").json()
    assert data["ok"] is False and data["schema_version"] == 1
    assert data["kind"] == "usage" and data["exit_code"] == 2 and data["error"] and data["hint"]


@pytest.mark.parametrize("argv, command", [(["checkpoint", "--bogus"], "checkpoint"),
                                           (["task", "start", "T", "--bogus"], "task start"),
                                           (["note", "gotcha", "text", "--bogus"], "note gotcha")])
def test_an_unknown_option_points_to_that_commands_help(ws, cli, argv, command):
    run = cli(*argv)
    assert run.code == 2 and run.err.splitlines()[1] == f"Hint: run `tether {command} --help`"


@pytest.mark.parametrize("argv", [["checkpoint", "--done", "1", "2"], ["task", "start", "T", "--steps", "a", "b"]])
def test_several_values_after_one_option_get_a_hint_saying_how(ws, cli, argv):
    cli("task", "start", "Docs", "-i", "a", "-i", "b")
    run = cli(*argv)
    assert run.code == 2 and "Hint: an option takes one value: repeat it for each (`--done 1 --done 2`" in run.err


def test_json_without_a_command_is_one_json_error(ws, cli):
    run = cli("--json")
    assert run.code == 2
    data = run.json()
    assert data["ok"] is False and data["kind"] == "usage" and "tether --help" in data["hint"]
    assert cli().out.startswith("usage: tether")  # without --json: the help, as before


def test_boot_before_the_first_commit_says_so_plainly(repo, cli, tmp_path, monkeypatch, git):
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    git("init", "-q", "-b", "main", cwd=fresh)
    monkeypatch.chdir(fresh)
    cli("init")
    assert cli("boot").out.splitlines()[0] == "# tether boot: no commits yet on main"


def test_help_and_version(ws, cli):
    run = cli("--help")
    assert run.code == 0 and "checkpoint" in run.out and "boot" in run.out
    run = cli("checkpoint", "--help")
    assert run.code == 0 and "--done" in run.out
    run = cli()
    assert run.code == 0 and "usage:" in run.out
    run = cli("--version")
    assert run.code == 0 and run.out.startswith("tether ")


# -- real processes: exit codes and no tracebacks --------------------------------------------------

USER_MISTAKES = [
    (["task", "start", "x", "--id", "bad id"], 1),
    (["checkpoint", "--done", "99"], 1),
    (["checkpoint", "--done", "no-such-item"], 1),
    (["resume", "NOPE"], 1),
    (["task", "status", "NOPE"], 1),
    (["task", "status", "T1", "--checkpoint", "7"], 1),
    (["task", "reopen", "T1"], 1),
    (["note", "resolve", "N-nope"], 1),
    (["decide", "Q?"], 2),  # a missing option: usage
    (["decide", "Q?", "--decision", "x", "--when", "tuesday"], 1),
    (["close", "--summary", "s", "--completed", "NOPE"], 1),
    (["boot", "--sha", "deadbeef"], 1),
    (["boot", "--budget", "5"], 1),
    (["log", "--date", "1999-01-01"], 1),
    (["boot", "--budget", "x"], 2),
    (["frobnicate"], 2),
]


def test_user_mistakes_never_show_a_traceback(ws, cli, tether_proc):
    assert cli("task", "start", "First", "--id", "T1", "-i", "a").code == 0
    for argv, code in USER_MISTAKES:
        proc = tether_proc(*argv)
        assert proc.code == code, (argv, proc.err)
        assert "Traceback" not in proc.err and proc.out == "", argv
        first, hint = proc.err.splitlines()
        assert first.startswith("Error: ") and hint.startswith("Hint: "), argv


def test_an_invalid_tether_now_is_a_user_error_not_a_bug(ws, tether_proc):
    # TETHER_NOW is documented (pin the clock): a value that is not ISO 8601 is the user's to fix.
    proc = tether_proc("note", "note", "hello", env={"TETHER_NOW": "yesterday"})
    assert proc.code == 1 and "Traceback" not in proc.err, proc.err
    assert proc.err.splitlines() == ["Error: TETHER_NOW is not an ISO 8601 time: 'yesterday'",
                                     "Hint: unset it, or use e.g. TETHER_NOW=2026-11-21T10:00:00Z"]
    assert ws.notes() == []


def test_no_workspace_as_a_real_process(tmp_path, tether_proc):
    proc = tether_proc("boot", cwd=tmp_path)
    assert proc.code == 1 and "Traceback" not in proc.err
    assert proc.err.splitlines()[0].startswith("Error: no tether workspace")


def test_a_whole_session_end_to_end(repo, tether_proc, git):
    assert tether_proc("init").code == 0
    assert tether_proc("task", "start", "Five docs", "--id", "T5", "--items-file", "-",
                       input="d1\nd2\nd3\nd4\nd5\n").code == 0
    assert tether_proc("checkpoint", "--done", "1-3", "--state", "three done", "--next", "d4 next").code == 0
    resume = tether_proc("resume")
    assert resume.out.startswith("Resuming Five docs (T5) from item 4 of 5") and "Next: d4 next" in resume.out
    closed = tether_proc("close", "--summary", "three of five", "--commit", env={"TETHER_SESSION_ID": "S-e2e"})
    assert closed.code == 0, closed.err
    assert git("log", "-1", "--format=%(trailers:key=Tether-Session,valueonly)").strip() == "S-e2e"
    boot = tether_proc("boot")
    assert boot.code == 0 and "tether's files match HEAD (" in boot.out
    assert "three of five" in boot.out and "from item 4 of 5" in boot.out
    assert tether_proc("boot", "--sha", "HEAD").out == tether_proc("boot", "--sha", "HEAD").out
    assert tether_proc("index", "--check").code == 0


# -- index --------------------------------------------------------------------------------------------

def test_index_check_passes_after_index_and_fails_after_a_checkpoint(ws, cli, repo):
    cli("task", "start", "Docs", "--id", "T1", "-i", "a", "-i", "b")
    assert cli("index", "--check").code == 3
    assert cli("index").code == 0
    assert cli("index", "--check").code == 0
    run = cli("checkpoint", "--done", "1", "--json")
    added = run.json()["path"].removeprefix(".tether/")
    check = cli("index", "--check")
    assert check.code == 3
    assert check.out.startswith("index.json is stale")
    assert added in check.out and "Hint: run `tether index`" in check.out
    data = cli("index", "--check", "--json").json()
    assert data["stale"] is True and added in data["added"]
    (repo / ".tether" / "tasks" / "T1" / "task.md").write_text(
        (repo / ".tether" / "tasks" / "T1" / "task.md").read_text() + "\nhand edit\n")
    assert "tasks/T1/task.md" in cli("index", "--check", "--json").json()["changed"]


def test_index_check_after_a_lost_open_marker_points_to_repair_not_regeneration(ws, cli, repo):
    """Regenerating the manifest would make a lost marker the truth, and hide the open task for good."""
    cli("task", "start", "Docs", "--id", "T1", "-i", "a")
    cli("index")
    (repo / ".tether" / "open" / "T1").unlink()
    check = cli("index", "--check")
    assert check.code == 3 and "open/T1" in check.out
    assert "tether index --repair" in check.out.splitlines()[-1]
    assert cli("index", "--repair").code == 0
    assert (repo / ".tether" / "open" / "T1").exists() and cli("index", "--check").code == 0


def test_index_check_with_a_missing_or_broken_manifest(ws, cli, repo):
    (repo / ".tether" / "index.json").unlink()
    run = cli("index", "--check")
    assert run.code == 3 and "index.json is missing" in run.out
    (repo / ".tether" / "index.json").write_text("{ not json")
    run = cli("index", "--check")
    assert run.code == 3 and "index.json:1" in run.out


def test_index_repair_restores_a_deleted_open_marker(ws, cli, repo):
    cli("task", "start", "Docs", "--id", "T1")
    cli("task", "start", "Done already", "--id", "T2")
    cli("task", "complete", "T2")
    cli("index")
    (repo / ".tether" / "open" / "T1").unlink()
    (repo / ".tether" / "open" / "T2").write_text("")          # a stale marker for a closed task
    assert "T1" not in cli("task", "list").out
    check = cli("index", "--check", "--json").json()
    assert "open/T1" in check["removed"] and "open/T2" in check["added"]
    run = cli("index", "--repair")
    assert run.code == 0 and run.out.splitlines()[:3] == ["Repaired:", "  .tether/open/T1: added (the task is open)",
                                                          "  .tether/open/T2: removed (the task is not open)"]
    assert (repo / ".tether" / "open" / "T1").is_file() and not (repo / ".tether" / "open" / "T2").exists()
    assert cli("index", "--check").code == 0
    assert "T1" in cli("task", "list").out and "(T1)" in cli("boot").out


def test_index_repair_removes_temporary_files_that_killed_writers_left(ws, cli, repo, tether_proc):
    import time

    from tether.store import fsio

    store = repo / ".tether"
    cli("task", "start", "Docs", "--id", "T1")
    hour_ago = time.time() - 3600
    stale = [store / "tasks" / "T1" / ".task.md.1a2b3c4d.tmp",          # a replace that never got renamed
             store / "decisions" / ".D-261121-abc.md.00ff00ff.tmp",     # a create that never got linked
             store / "local" / ".active.deadbeef.tmp"]
    fresh = store / "progress" / ".LATEST.json.0badc0de.tmp"           # a writer at work right now
    eleven_minutes = store / "memory" / ".events.jsonl.12345678.tmp"
    not_ours = [store / "notes.tmp", store / "tasks" / "T1" / ".task.md.tmp"]
    for path in [*stale, fresh, eleven_minutes, *not_ours]:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("half a record")
    for path in [*stale, *not_ours]:
        os.utime(path, (hour_ago, hour_ago))
    os.utime(eleven_minutes, (time.time() - 660,) * 2)
    assert all(p.name.endswith(fsio.TMP_SUFFIX) for p in stale)
    run = tether_proc("index", "--repair", "--json")
    assert run.code == 0, run.err
    assert run.json()["tmp_removed"] == 4
    assert not any(p.exists() for p in [*stale, eleven_minutes])
    assert fresh.exists() and all(p.exists() for p in not_ours)
    text = cli("index", "--repair")
    assert text.code == 0 and text.out.startswith("Nothing to repair:") and "temporary" not in text.out
    os.utime(fresh, (hour_ago, hour_ago))
    assert "removed 1 leftover temporary file(s)" in cli("index", "--repair").out and not fresh.exists()


def test_log_shows_progress(ws, cli, monkeypatch):
    assert cli("log").out.strip() == "No progress logged yet."
    monkeypatch.setenv("TETHER_NOW", "2026-02-03T04:05:06Z")
    cli("close", "--summary", "logged")
    data = cli("log", "--json").json()
    assert data["dates"] == ["2026-02-03"] and "**Summary:** logged" in data["logs"][0]
    run = cli("log", "--date", "2026-02-04")
    assert run.code == 1 and "2026-02-03" in run.err


@pytest.mark.parametrize("argv, error", [
    (["log", "--limit", "0"], "Error: --limit must be at least 1, got 0"),
    (["log", "--limit", "-1"], "Error: --limit must be at least 1, got -1"),
    (["decide", "--list", "--limit", "0"], "Error: --limit must be at least 1, got 0"),
    (["log", "--date", "../CONTEXT"], "Error: invalid date '../CONTEXT'"),
])
def test_log_and_decide_list_refuse_a_limit_or_date_they_cannot_show(ws, cli, monkeypatch, argv, error):
    # --limit 0 used to print every log, and a negative one "No progress logged yet."; a --date
    # that is not YYYY-MM-DD read another file of .tether/.
    monkeypatch.setenv("TETHER_NOW", "2026-02-03T04:05:06Z")
    cli("close", "--summary", "logged")
    cli("decide", "Q?", "--decision", "A")
    run = cli(*argv)
    assert run.code == 1 and run.out == "" and run.err.splitlines()[0] == error, run.err
    assert run.err.splitlines()[1].startswith("Hint: ")


def test_env_isolation_holds(repo):
    # The autouse fixture keeps tests off the real home and global git config.
    assert os.environ["HOME"].startswith(str(repo.parent))
    assert os.environ["GIT_CONFIG_NOSYSTEM"] == "1"
    assert not any(k.startswith("TETHER_") for k in os.environ)


def test_a_command_loads_neither_gettext_nor_locale_and_gettext_stays_whole(repo, cli):
    """argparse's strings are English as they are: no translation machinery at start-up (a
    millisecond of every command), and a program that imports gettext afterwards gets all of it."""
    assert cli("init").code == 0
    probe = ("import sys; from tether.cli.main import main; code = main(['task', 'list']); "
             "loaded = [m for m in ('gettext', 'locale') if m in sys.modules]; "
             "import gettext; print(code, loaded, callable(gettext.translation))")
    proc = subprocess.run([sys.executable, "-c", probe], cwd=repo, capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip().splitlines()[-1] == "0 [] True", proc.stderr


# -- the file system says no ------------------------------------------------------------------------

def test_a_directory_where_a_log_should_be_is_a_user_error_not_a_bug(ws, cli, repo, tether_proc):
    (repo / ".tether" / "context.jsonl").mkdir()
    run = cli("note", "gotcha", "x")
    assert run.code == 1 and "internal error" not in run.err
    assert run.err.startswith("Error: ") and "context.jsonl: Is a directory" in run.err and "Hint:" in run.err
    data = cli("note", "gotcha", "x", "--json").json()
    assert data["ok"] is False and data["exit_code"] == 1 and data["kind"] == "error"
    proc = tether_proc("note", "gotcha", "x")
    assert proc.code == 1 and "Traceback" not in proc.err and len(proc.err.splitlines()) == 2


@pytest.mark.parametrize("where", ["nonexistent", "README.md"])
def test_dash_C_to_a_missing_directory_is_a_user_error(ws, cli, repo, where):
    run = cli("-C", str(repo / where), "boot")
    assert run.code == 1 and "cannot run in" in run.err and "Hint:" in run.err
    assert cli("-C", str(repo / where), "boot", "--json").json()["kind"] == "invalid_input"


def test_a_decision_for_an_unknown_task_is_refused(ws, cli):
    cli("task", "start", "Real", "--id", "T1")
    run = cli("decide", "Q?", "--decision", "A", "--task", "T9")
    assert run.code == 1 and "no task T9" in run.err
    assert cli("decide", "--list", "--json").json()["decisions"] == []
    assert cli("decide", "Q?", "--decision", "A", "--task", "T1").code == 0


def test_a_sessions_log_names_each_note_and_decision_it_recorded(ws, cli, monkeypatch):
    monkeypatch.setenv("TETHER_SESSION_ID", "sess-1")
    note = cli("note", "gotcha", "x is y", "--json").json()["note"]["id"]
    decision = cli("decide", "Q?", "--decision", "A", "--json").json()["decision"]["id"]
    out = cli("log", "--session", "sess-1").out
    assert f"note  note={note} kind=gotcha" in out and f"decision  decision={decision}" in out


def test_decide_without_its_decision_is_a_usage_error(ws, cli):
    run = cli("decide", "Which model?")
    assert run.code == 2 and "give the question and --decision" in run.err and "Hint:" in run.err
    assert cli("decide", "--list").out.strip() == "No decisions recorded."


def test_config_reads_as_text_not_as_python(ws, cli):
    out = cli("config").out
    assert "device: (not set)" in out and "context_thresholds: YELLOW 25, ORANGE 50, RED 75, CRITICAL 85" in out
    assert "None" not in out and "{" not in out and "[" not in out
    data = cli("config", "--json").json()
    assert data["device"] is None and data["context_thresholds"]["RED"] == 75.0  # JSON keeps the values


@pytest.mark.parametrize("argv, code, said", [
    (["decide", "Which model?"], 2, "give the question and --decision"),          # missing: the command line
    (["decide", "", "--decision", "Phi-3"], 1, "the question is empty"),          # given empty: the input
    (["decide", "Which model?", "--decision", "  "], 1, "the decision is empty"),
])
def test_decide_tells_a_missing_part_from_an_empty_one(ws, cli, argv, code, said):
    run = cli(*argv)
    assert run.code == code and run.err.splitlines()[0] == f"Error: {said}"
    assert cli(*argv, "--json").json()["exit_code"] == code
    assert cli("decide", "--list", "--json").json()["decisions"] == []


def test_an_empty_list_file_or_done_is_refused_not_read_as_nothing(ws, cli, tmp_path):
    empty = tmp_path / "items.txt"
    empty.write_text("\n  \n")
    run = cli("task", "start", "Docs", "--items-file", str(empty))
    assert run.code == 1 and run.err.startswith(f"Error: --items-file {empty}: no items in it")
    assert cli("task", "list", "--json").json()["tasks"] == []  # no free-form task started instead
    cli("task", "start", "Docs", "-i", "a", "-i", "b")
    run = cli("checkpoint", "--done", "", "--state", "x")
    assert run.code == 1 and run.err.startswith("Error: --done names no item or step")
    assert cli("resume", "--json").json()["resume"]["checkpoint"] is None  # nothing saved


def test_a_bare_command_says_when_the_active_task_is_no_longer_the_one_chosen(ws, cli):
    cli("task", "start", "Other work", "--id", "OW", "-i", "a", "-i", "b")
    cli("checkpoint", "--done", "1", "--state", "ow1")
    cli("task", "start", "Current", "--id", "CUR2", "-s", "x")
    assert "the task chosen on this machine" not in cli("task", "complete").out  # the chosen task itself
    twice = cli("task", "complete")
    assert twice.out.startswith("Completed task OW") and "Note: CUR2, the task chosen on this machine, is complete:" \
        " this went to OW" in twice.out
    cli("task", "reopen", "OW")
    saved = cli("checkpoint", "--done", "2", "--state", "meant for CUR2")
    assert "Saved CKP-0002 of OW" in saved.out and "Note: CUR2, the task chosen on this machine, is complete" in saved.out
    assert "Note:" not in cli("checkpoint", "--task", "OW", "--state", "named").out  # named: no surprise


def test_resume_says_when_the_chosen_task_is_not_in_this_checkout(ws, cli):
    # A task started on another branch, then `git switch` back: its files are not here.
    cli("task", "start", "Here", "--id", "HERE", "-s", "x")
    ws.store.set_active_task("FEAT1")
    run = cli("resume")
    assert run.code == 0 and run.out.startswith("Starting Here (HERE)")
    assert "Note: FEAT1, the task chosen on this machine, is not in this checkout (another branch?): resuming" \
           " HERE, the open task standing in for it" in run.out
    assert cli("resume", "--json").json()["note"].startswith("FEAT1, the task chosen")
    listed = cli("task", "list")
    assert "Note: FEAT1, the task chosen on this machine, is not in this checkout (another branch?): the active task" \
           " is HERE" in listed.out
    assert cli("task", "list", "--json").json()["note"].startswith("FEAT1, the task chosen")
    assert cli("resume", "HERE", "--json").json()["note"] is None  # named: no surprise
    assert "Note:" not in cli("resume").out  # and it is the chosen one now


def test_statusline_json_is_one_object_with_the_line(ws, cli, monkeypatch):
    import io

    cli("task", "start", "Docs", "--id", "SL1", "-i", "a", "-i", "b")
    monkeypatch.setattr("sys.stdin", io.StringIO("{}"))
    data = cli("statusline", "--json").json()
    assert data["ok"] is True and data["command"] == "statusline" and data["line"] == "SL1 0/2"


def test_the_brief_says_when_the_chosen_task_is_not_open_here(ws, cli):
    cli("task", "start", "Here", "--id", "HERE", "-s", "x")
    ws.store.set_active_task("FEAT1")  # started on another branch
    cold = cli("boot").out
    line = ("- FEAT1, the task chosen on this machine, is not open here (closed, or on another branch): HERE stands"
            " in as ACTIVE, and no automatic checkpoint is made until a task is chosen (`tether task switch ID`)")
    assert "## Open tasks (1)\n" + line + "\n- ACTIVE " in cold
    assert cli("boot").out == cold  # warm: the same
    assert cli("boot", "--json").json()["chosen"] == "FEAT1"
    cli("task", "switch", "HERE")
    assert "the task chosen on this machine" not in cli("boot").out


def test_a_text_that_begins_with_a_dash_gets_a_hint_to_put_it_after_double_dash(ws, cli):
    run = cli("note", "note", "--out=build")
    assert run.code == 2 and "a value that begins with '-' goes after `--`" in run.err
    assert cli("note", "note", "--", "--out=build").code == 0
    assert "goes after" not in cli("note", "note").err  # nothing dash-like given: the plain hint


def test_choosing_a_task_changes_no_tracked_file(ws, cli, repo, git):
    cli("task", "start", "One", "--id", "O1", "-s", "a")
    cli("task", "start", "Two", "--id", "O2", "-s", "a")
    git("add", "-A")
    git("commit", "-qm", "two tasks")
    assert cli("task", "switch", "O1").code == 0
    assert cli("checkpoint", "--task", "O2", "--state", "b begun").code == 0  # chooses O2 too
    changed = git("status", "--porcelain").splitlines()
    assert all("CONTEXT.md" not in line for line in changed), changed  # only the checkpoint's own files


def test_a_reader_that_stops_early_gets_no_traceback(ws, cli):
    """`tether note list | head -1`: the reader closes the pipe before the listing is written; the
    command ends quietly, as other tools do, rather than with a traceback and exit 1."""
    for n in range(60):  # more than a pipe's write buffer at once
        assert cli("note", "note", f"entry {n}: " + "words to fill the listing " * 8).code == 0
    read, write = os.pipe()
    os.close(read)
    try:
        proc = subprocess.run([sys.executable, "-m", "tether", "note", "list"], cwd=ws.root, stdout=write,
                              stderr=subprocess.PIPE, text=True, timeout=60)
    finally:
        os.close(write)
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr, proc.stderr
    assert proc.returncode == 0
