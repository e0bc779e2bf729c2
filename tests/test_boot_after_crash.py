"""The brief after a session that never closed (it crashed, or is still running).

What a new session relies on: the brief names the session that checkpointed after the last
close and its checkpoints, so it knows work happened since; the close's next steps, which
those checkpoints overtook, are marked as older and are not the plan; a close in between
makes all of it go away. Checked warm and cold: a warm boot must give the cold boot's brief.
"""

from __future__ import annotations

import json

import pytest

from test_brief_budget import section, warm_equals_cold


@pytest.fixture
def crashed(repo, cli, at):
    """A close that planned the work, then a session that did a step and crashed (no close)."""
    at("2026-11-21T10:00:00Z", "S-one")
    assert cli("init").code == 0
    cli("task", "start", "Refactor", "--id", "T1", "-s", "split", "-s", "test")
    assert cli("close", "--summary", "planned refactor", "--next", "split app.py").code == 0
    at("2026-11-21T11:00:00Z", "s2")
    assert cli("checkpoint", "--done", "1", "--next", "write tests").code == 0
    at("2026-11-21T12:00:00Z", "s3")  # the next session asks
    return repo


def test_the_session_that_did_not_close_is_named_and_the_older_next_steps_are_not_the_plan(crashed, cli, at):
    at("2026-11-21T12:00:00Z", "s3")
    text = warm_equals_cold(cli, crashed)
    assert section(text, "## Last session") == ["2026-11-21 (.tether/progress/LATEST.json): planned refactor"]
    assert section(text, "## Not closed") == [
        "After that close, work was checkpointed and no session closed: 1 checkpoint of T1 (CKP-0001; the newest at"
        " 2026-11-21 11:00 UTC, by session s2). Where it stopped is under Open tasks."]
    assert "## Next steps at the last close (before CKP-0001 of T1: some may be done)\n- split app.py\n" in text
    plan = section(text, "## Proposed plan")
    assert any("Resume T1: write tests" in step for step in plan)
    assert not any("split app.py" in step for step in plan)
    assert any(step.endswith("Check which of the last close's next steps are still to do (they predate CKP-0001"
                             " of T1).") for step in plan)
    assert cli("boot", "--json").json()["since_close"] == [
        {"task": "T1", "first": "CKP-0001", "newest": "CKP-0001", "count": 1, "at": "2026-11-21T11:00:00Z",
         "session": "s2", "automatic": None}]
    # The order of the brief: the last session, what was not closed after it, then the open tasks.
    assert text.index("## Last session") < text.index("## Not closed") < text.index("## Open tasks")
    # A close makes it history: the next steps are the plan again.
    assert cli("close", "--summary", "tests written", "--next", "release").code == 0
    text = warm_equals_cold(cli, crashed)
    assert "## Not closed" not in text and "## Next steps\n- release\n" in text
    assert any(step.endswith("Then: release") for step in section(text, "## Proposed plan"))
    assert cli("boot", "--json").json()["since_close"] == []


def test_a_tight_budget_keeps_where_to_resume_before_what_was_not_closed(crashed, cli):
    data = cli("boot", "--budget", "160", "--json").json()
    assert data["tokens"] <= 160
    assert "ACTIVE Resuming Refactor (T1) from step 2 of 2" in data["text"] and "## Not closed" not in data["text"]
    assert data["omitted"]["not_closed"] == 1
    assert "## Not closed" in cli("boot", "--budget", "400").out


def test_checkpoints_after_the_close_are_counted_from_the_first_in_a_few_reads(repo, cli, at, ws, spy, fast_writes):
    at("2026-11-21T09:00:00Z", "S-one")
    cli("task", "start", "Bulk", "--id", "T1", *[a for n in range(60) for a in ("-i", f"doc{n}")])
    for n in range(25):
        at(f"2026-11-21T09:{n:02d}:30Z", "S-one")
        assert cli("checkpoint", "--done", str(n + 1)).code == 0
    at("2026-11-21T10:00:00Z", "S-one")
    assert cli("close", "--summary", "25 done").code == 0
    for n in range(15):
        at(f"2026-11-21T11:{n:02d}:00Z", "s2" if n < 10 else "s3")
        assert cli("checkpoint", "--done", str(26 + n)).code == 0
    from tether.store.files import Store

    at("2026-11-21T12:00:00Z", "s4")  # the next session asks
    loads = spy(Store, "load_checkpoint")
    (repo / ".tether" / "local" / "boot.cache").unlink(missing_ok=True)
    data = cli("boot", "--json").json()
    assert data["since_close"] == [{"task": "T1", "first": "CKP-0026", "newest": "CKP-0040", "count": 15,
                                    "at": "2026-11-21T11:14:00Z", "session": "s3", "automatic": None}]
    assert "no session closed: 15 checkpoints of T1 (CKP-0026 to CKP-0040;" in data["text"]
    assert len(loads) <= 8  # halving 40 checkpoints, not reading the 15 made since


def test_without_any_close_the_checkpoints_are_what_the_last_session_left(repo, cli, at):
    at("2026-11-21T10:00:00Z", "s1")
    assert cli("init").code == 0
    cli("task", "start", "Refactor", "--id", "T1", "-s", "split", "-s", "test")
    assert "## Last session\nNo progress recorded yet.\n" in cli("boot").out
    cli("checkpoint", "--done", "1", "--state", "split done")
    at("2026-11-21T10:30:00Z", "s1")
    cli("checkpoint", "--state", "tests half written")
    at("2026-11-21T11:00:00Z", "s2")  # the next session asks
    text = warm_equals_cold(cli, repo)
    assert section(text, "## Last session") == ["No close recorded yet."]
    assert section(text, "## Not closed") == [
        "No session has closed yet; work was checkpointed: 2 checkpoints of T1 (CKP-0001 to CKP-0002; the newest at"
        " 2026-11-21 10:30 UTC, by session s1). Where it stopped is under Open tasks."]


def _checkpointed_and_closed_at_ten(cli, at) -> None:
    """Session s1 checkpoints T1 and closes, both at 10:00:00."""
    at("2026-11-21T10:00:00Z", "s1")
    assert cli("init").code == 0
    cli("task", "start", "Refactor", "--id", "T1", "-s", "split", "-s", "test")
    cli("checkpoint", "--done", "1")
    assert cli("close", "--summary", "split done", "--next", "write tests").code == 0


def test_a_checkpoint_in_the_closes_second_is_taken_as_made_before_it(repo, cli, at):
    _checkpointed_and_closed_at_ten(cli, at)
    text = cli("boot").out
    assert "## Not closed" not in text and "## Next steps\n- write tests\n" in text


def test_another_sessions_work_in_the_closes_second_is_taken_as_made_after_it(repo, cli, at):
    """Times are kept to the second: a session closes its own work, so what another session
    checkpointed or recorded in the close's second is work that close knows nothing of."""
    _checkpointed_and_closed_at_ten(cli, at)
    at("2026-11-21T10:00:00Z", "s2")
    cli("checkpoint", "--state", "tests half written")
    at("2026-11-21T10:00:00Z", "s3")
    cli("decide", "Which runner?", "--decision", "pytest")
    at("2026-11-21T11:00:00Z", "s4")
    data = cli("boot", "--json").json()
    assert [(r["session"], r["newest"], r["count"]) for r in data["since_close"]] == [("s2", "CKP-0002", 1)]
    assert [r["session"] for r in data["recorded_since_close"]] == ["s3"]
    assert "by session s2" in data["text"] and "session s3 recorded 1 decision" in data["text"]


def test_an_automatic_checkpoint_after_the_close_counts_as_work(crashed, cli, at):
    from tether import Workspace

    at("2026-11-21T11:30:00Z", "s2")
    ws = Workspace.open(crashed)
    ws.decide("Keep the old API?", "yes, as a shim")
    _, ckp, _ = ws.auto_checkpoint("90%", kind="context")
    assert ckp.id == "CKP-0002"
    at("2026-11-21T12:00:00Z", "s3")
    text = cli("boot").out
    assert section(text, "## Not closed") == [
        "After that close, work was checkpointed and no session closed: 2 checkpoints of T1 (CKP-0001 to CKP-0002;"
        " the newest at 2026-11-21 11:30 UTC, automatic, by session s2). Where it stopped is under Open tasks."]


def test_each_open_task_checkpointed_since_is_named_the_active_one_counted(repo, cli, at):
    at("2026-11-21T09:00:00Z", "S-one")
    assert cli("init").code == 0
    for n in range(1, 6):
        cli("task", "start", f"Task {n}", "--id", f"T{n}", "-s", "a", "-s", "b")
        cli("checkpoint", "--task", f"T{n}", "--state", "started")
    assert cli("close", "--summary", "five started").code == 0
    for n in range(1, 6):
        at(f"2026-11-21T1{n}:00:00Z", f"s{n}")
        cli("checkpoint", "--task", f"T{n}", "--state", "went on")
        cli("checkpoint", "--task", f"T{n}", "--done", "1")
    cli("task", "switch", "T2")
    at("2026-11-21T16:00:00Z", "s6")  # the next session asks
    text = warm_equals_cold(cli, repo)
    assert section(text, "## Not closed") == [
        "After that close, work was checkpointed and no session closed: 2 checkpoints of T2 (CKP-0002 to CKP-0003;"
        " the newest at 2026-11-21 12:00 UTC, by session s2); T5 up to CKP-0003 (the newest at 2026-11-21 15:00 UTC,"
        " by session s5); T4 up to CKP-0003 (the newest at 2026-11-21 14:00 UTC, by session s4); 2 more open tasks"
        " (`tether task list`)."
        " Where it stopped is under Open tasks."]
    rows = cli("boot", "--json").json()["since_close"]
    assert [(r["task"], r["first"], r["count"], r["session"]) for r in rows] == [
        ("T2", "CKP-0002", 2, "s2"), ("T5", None, None, "s5"), ("T4", None, None, "s4"), ("T3", None, None, "s3"),
        ("T1", None, None, "s1")]


def test_the_session_asking_is_not_named_as_one_that_did_not_close(crashed, cli, at):
    """s2 checkpointed after the close and is still running: its own brief (a `tether boot` in it,
    or the SessionStart of its resume) does not name it as an earlier session that never closed;
    any other session's brief, built from the same cache, still does."""
    import json
    import subprocess
    import sys

    from test_brief_budget import CACHE

    at("2026-11-21T12:00:00Z", "s2")
    text = warm_equals_cold(cli, crashed)
    assert "## Not closed" not in text and "by session s2" not in text
    assert cli("boot", "--json").json()["since_close"] == []
    assert "Resume T1: write tests" in text  # where it stopped is still said, under Open tasks
    at("2026-11-21T12:00:00Z", "s3")
    assert "by session s2)" in section(cli("boot").out, "## Not closed")[0]  # warm: the cache s2's boot left

    def session_start(session: str) -> str:
        event = {"session_id": session, "hook_event_name": "SessionStart", "source": "resume", "cwd": str(crashed)}
        proc = subprocess.run([sys.executable, "-m", "tether", "hook", "claude-code"], input=json.dumps(event),
                              capture_output=True, text=True, cwd=crashed, timeout=60)
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)["hookSpecificOutput"]["additionalContext"]

    for cached in (False, True):  # the cold path, then the warm one from the cache the cold one left
        if not cached:
            (crashed / CACHE).unlink(missing_ok=True)
        assert "## Not closed" not in session_start("s2")
        assert "no session closed: 1 checkpoint of T1 (CKP-0001; the newest at 2026-11-21 11:00 UTC, by session" \
               " s2)" in session_start("s4")


def test_a_session_start_without_its_id_takes_the_sessions_own_from_the_environment(crashed, monkeypatch):
    """An event that names no session: the session is the one the environment names (TETHER_SESSION_ID,
    else Codex's CODEX_THREAD_ID), warm as cold."""
    import json
    import subprocess
    import sys

    from test_brief_budget import CACHE, age

    age(crashed)  # so the cache the cold path leaves is trusted, and the warm path taken
    event = json.dumps({"hook_event_name": "SessionStart", "source": "resume", "cwd": str(crashed)})
    for name in ("TETHER_SESSION_ID", "CODEX_THREAD_ID"):
        monkeypatch.delenv("TETHER_SESSION_ID")
        monkeypatch.setenv(name, "s2")
        for cached in (False, True):
            if not cached:
                (crashed / CACHE).unlink(missing_ok=True)
            assert (crashed / CACHE).exists() == cached
            proc = subprocess.run([sys.executable, "-m", "tether", "hook", "codex"], input=event,
                                  capture_output=True, text=True, cwd=crashed, timeout=60)
            assert proc.returncode == 0, proc.stderr
            brief = json.loads(proc.stdout)["hookSpecificOutput"]["additionalContext"]
            assert "## Not closed" not in brief, (name, cached)
        monkeypatch.delenv(name)
        monkeypatch.setenv("TETHER_SESSION_ID", "s3")


def test_the_counted_task_left_out_as_the_asking_sessions_leaves_the_others_uncounted(crashed, cli, at):
    at("2026-11-21T12:30:00Z", "s5")
    cli("task", "start", "Docs", "--id", "T2", "-s", "write")
    assert cli("checkpoint", "--task", "T2", "--state", "begun").code == 0  # T2 is active: it gets the count
    at("2026-11-21T13:00:00Z", "s6")
    assert "1 checkpoint of T2 (CKP-0001;" in section(warm_equals_cold(cli, crashed), "## Not closed")[0]
    at("2026-11-21T13:00:00Z", "s5")  # s5 asks: its T2 goes, and T1 has no count
    assert section(warm_equals_cold(cli, crashed), "## Not closed") == [
        "After that close, work was checkpointed and no session closed: T1 up to CKP-0001 (the newest at"
        " 2026-11-21 11:00 UTC, by session s2). Where it stopped is under Open tasks."]
    assert [(r["task"], r["count"]) for r in cli("boot", "--json").json()["since_close"]] == [("T1", None)]


@pytest.fixture
def recorded(repo, cli, at):
    """A close that planned the work, then a session that only recorded a decision and a context
    entry (no checkpoint) and crashed (no close)."""
    at("2026-11-21T10:00:00Z", "S-one")
    assert cli("init").code == 0
    cli("task", "start", "Refactor", "--id", "T1", "-s", "split", "-s", "test")
    assert cli("close", "--summary", "planned refactor", "--next", "split app.py").code == 0
    at("2026-11-21T11:00:00Z", "s2")
    assert cli("decide", "Keep the old API?", "--decision", "yes, as a shim", "--id", "D-shim").code == 0
    at("2026-11-21T11:30:00Z", "s2")
    entry = cli("note", "gotcha", "app.py imports itself", "--json").json()["note"]["id"]
    at("2026-11-21T12:00:00Z", "s3")  # the next session asks
    return entry


def test_a_session_that_only_recorded_decisions_and_entries_is_named(repo, recorded, cli, at):
    text = warm_equals_cold(cli, repo)
    assert section(text, "## Not closed") == [
        f"After that close, session s2 recorded 1 decision and 1 context entry (D-shim, {recorded}; the newest at"
        " 2026-11-21 11:30 UTC) and did not close (`tether log --session s2` lists what it did)."]
    assert text.index("## Last session") < text.index("## Not closed") < text.index("## Open tasks")
    assert cli("boot", "--json").json()["recorded_since_close"] == [
        {"session": "s2", "decisions": ["D-shim"], "entries": [recorded], "first": "2026-11-21T11:00:00Z",
         "at": "2026-11-21T11:30:00Z"}]
    assert "## Next steps\n- split app.py\n" in text  # no checkpoint overtook the close's next steps
    # It checkpoints later: named once, as the session of the task's newest checkpoint.
    at("2026-11-21T12:10:00Z", "s2")
    assert cli("checkpoint", "--done", "1").code == 0
    at("2026-11-21T12:20:00Z", "s3")
    lines = section(warm_equals_cold(cli, repo), "## Not closed")
    assert len(lines) == 1 and "1 checkpoint of T1 (CKP-0001; the newest at 2026-11-21 12:10 UTC, by session s2)" in lines[0]
    assert cli("boot", "--json").json()["recorded_since_close"] == []
    # Another session records an entry, and closes: all of it is history.
    at("2026-11-21T12:30:00Z", "s4")
    assert cli("note", "dont", "never push on friday").code == 0
    at("2026-11-21T12:40:00Z", "s3")
    text = warm_equals_cold(cli, repo)
    assert section(text, "## Not closed")[1].startswith("Also after that close, session s4 recorded 1 context entry (")
    assert cli("close", "--summary", "split done").code == 0
    assert "## Not closed" not in warm_equals_cold(cli, repo)


def test_without_any_close_a_session_that_only_recorded_is_named(repo, cli, at):
    at("2026-11-21T10:00:00Z", "s1")
    assert cli("init").code == 0
    assert cli("decide", "Which database?", "--decision", "sqlite", "--id", "D-db").code == 0
    at("2026-11-21T11:00:00Z", "s2")
    text = warm_equals_cold(cli, repo)
    assert section(text, "## Last session") == ["No close recorded yet."]
    assert section(text, "## Not closed") == [
        "No session has closed yet; session s1 recorded 1 decision (D-db; the newest at 2026-11-21 10:00 UTC) and"
        " did not close (`tether log --session s1` lists what it did)."]


def test_the_asking_session_is_not_named_and_the_newest_other_one_is_warm_as_cold(repo, recorded, cli, at):
    """The cached brief is the same for every session: s5 recorded last and asks, so the line names
    s2 (the newest other); s2 asks, and is told of s5; s3 is told of s5, the newest."""
    at("2026-11-21T12:30:00Z", "s5")
    assert cli("decide", "Split by module?", "--decision", "yes", "--id", "D-split").code == 0
    assert "by module" not in section(warm_equals_cold(cli, repo), "## Not closed")[0]
    assert section(cli("boot").out, "## Not closed")[0].startswith(
        f"After that close, session s2 recorded 1 decision and 1 context entry (D-shim, {recorded};")
    assert [r["session"] for r in cli("boot", "--json").json()["recorded_since_close"]] == ["s2"]
    for asking, named in (("s2", "s5"), ("s3", "s5")):
        at("2026-11-21T12:30:00Z", asking)
        lines = section(cli("boot").out, "## Not closed")  # warm: the cache s5's boot left
        assert lines == [f"After that close, session {named} recorded 1 decision (D-split; the newest at 2026-11-21"
                         f" 12:30 UTC) and did not close (`tether log --session {named}` lists what it did)."]
    # Alone since the close, the session asking is told of no one.
    at("2026-11-21T13:00:00Z", "s3")
    assert cli("close", "--summary", "closed by s3").code == 0
    at("2026-11-21T13:30:00Z", "s6")
    assert cli("note", "learning", "the shim costs nothing").code == 0
    assert "## Not closed" not in warm_equals_cold(cli, repo)
    assert cli("boot", "--json").json()["recorded_since_close"] == []


def test_a_warm_brief_is_stale_once_the_memory_log_says_who_recorded(repo, ws, cli, at, monkeypatch):
    """A boot between a decision's file and its line in the memory log (another process writing
    them) must not leave a cached brief that never names the session."""
    import tether.core.memory
    from tether.store.eventlog import record

    from test_brief_budget import CACHE, age

    at("2026-11-21T10:00:00Z", "s1")
    assert cli("close", "--summary", "start").code == 0
    at("2026-11-21T11:00:00Z", "s2")
    with monkeypatch.context() as later:  # its line in the memory log comes after the boot below
        later.setattr(tether.core.memory, "event", lambda *args, **kwargs: None)
        assert cli("decide", "Ship?", "--decision", "yes", "--id", "D-half").code == 0
    age(repo)
    at("2026-11-21T12:00:00Z", "s3")
    assert "## Not closed" not in cli("boot").out
    assert (repo / CACHE).exists()
    ws.store.append_event(record("decision", "s2", {"decision": "D-half"}, "2026-11-21T11:00:01Z"))
    assert "session s2 recorded 1 decision (D-half;" in section(cli("boot").out, "## Not closed")[0]


def test_one_off_commands_from_a_terminal_are_no_session_left_open(repo, ws, cli, at, monkeypatch):
    """A `tether decide` or `tether note` run outside any agent session (no TETHER_SESSION_ID, no
    CODEX_THREAD_ID) is a one-off command, not a session that never closed; an agent session's
    records, and an old log's generated session ids, are still named."""
    from tether.model.ids import one_off
    from tether.store.eventlog import record

    at("2026-11-21T10:00:00Z", "S-one")
    assert cli("close", "--summary", "start").code == 0
    monkeypatch.delenv("TETHER_SESSION_ID")
    monkeypatch.setenv("TETHER_NOW", "2026-11-21T11:00:00Z")
    assert cli("decide", "Which database?", "--decision", "sqlite", "--id", "D-db").code == 0
    assert cli("note", "gotcha", "the build needs make 4").code == 0
    sessions = [json.loads(line)["session"] for line in
                (repo / ".tether/memory/events.jsonl").read_text().splitlines()[-2:]]
    assert len(set(sessions)) == 2 and all(one_off(s) for s in sessions), sessions
    text = warm_equals_cold(cli, repo)
    assert "## Not closed" not in text and "D-db" in text  # the decision itself is in the brief
    assert cli("boot", "--json").json()["recorded_since_close"] == []
    # An agent session's decision (its id given by the environment) is still named.
    at("2026-11-21T11:30:00Z", "s2")
    assert cli("decide", "Which cache?", "--decision", "none", "--id", "D-cache").code == 0
    at("2026-11-21T12:00:00Z", "s3")
    assert section(warm_equals_cold(cli, repo), "## Not closed") == [
        "After that close, session s2 recorded 1 decision (D-cache; the newest at 2026-11-21 11:30 UTC) and"
        " did not close (`tether log --session s2` lists what it did)."]
    # A log written before one-off ids had their own shape reads as it did: its generated id is named.
    ws.store.append_event(record("decision", "S-261121-danq02c", {"decision": "D-old"}, "2026-11-21T11:40:00Z"))
    assert section(cli("boot").out, "## Not closed")[0].startswith("After that close, session S-261121-danq02c")


def test_a_checkpoint_from_the_command_line_after_a_close_is_no_session_left_open(repo, cli, at, monkeypatch):
    at("2026-11-21T10:00:00Z", "S-one")
    assert cli("init").code == 0
    cli("task", "start", "Refactor", "--id", "T1", "-s", "split", "-s", "test")
    assert cli("close", "--summary", "planned refactor", "--next", "split app.py").code == 0
    monkeypatch.setenv("TETHER_NOW", "2026-11-21T11:00:00Z")
    monkeypatch.delenv("TETHER_SESSION_ID")  # a terminal: the command gets a cmd-… id, which is no session
    assert cli("checkpoint", "--done", "1").code == 0
    assert cli("boot", "--json").json()["since_close"][0]["session"].startswith("cmd-")
    text = warm_equals_cold(cli, repo)
    assert section(text, "## Not closed") == [
        "After that close, work was checkpointed from the command line: 1 checkpoint of T1 (CKP-0001; the newest"
        " at 2026-11-21 11:00 UTC). Where it stopped is under Open tasks."]
    # An agent's session beside it is named as before, the command line's checkpoint as such.
    at("2026-11-21T11:30:00Z", "s2")
    cli("task", "start", "Docs", "--id", "T2", "-s", "write")
    assert cli("checkpoint", "--done", "1").code == 0
    at("2026-11-21T12:00:00Z", "s3")  # the next session asks
    line = section(warm_equals_cold(cli, repo), "## Not closed")[0]
    assert line.startswith("After that close, work was checkpointed and no session closed: ")
    assert "by session s2" in line and "from the command line" in line and "cmd-" not in line
