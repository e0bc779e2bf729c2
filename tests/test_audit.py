"""`tether audit` (seed 000's guard, issue 14 part 5): every rule finds what was forgotten, names
the file (and line) and the fix, and says nothing once it is done; --fix mends the safe ones,
--strict exits 3, [audit] in tether.toml is checked strictly, the pre-commit hooks run it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tether.store import trail
from tether.store.eventlog import record
from tether.warm import context_states

NOW = "2026-12-05T10:00:00Z"


@pytest.fixture
def pinned(monkeypatch):
    monkeypatch.setenv("TETHER_NOW", NOW)
    monkeypatch.setenv("TETHER_SESSION_ID", "S-audit")


@pytest.fixture
def clean(ws, git, pinned):
    """A workspace with everything committed and indexed: the audit has nothing to say."""
    ws.write_index()
    git("add", ".tether")
    git("commit", "-q", "-m", "tether")
    return ws


def findings(cli, *args) -> list[dict]:
    run = cli("audit", "--json", *args)
    assert run.code == 0, run.out + run.err
    return run.json()["findings"]


def rules(cli, *args) -> list[str]:
    return [f["rule"] for f in findings(cli, *args)]


def commit_all(ws, git):
    ws.write_index()
    git("add", "-A")
    git("commit", "-q", "-m", "step")


def test_a_clean_workspace_has_no_findings_and_strict_passes(clean, cli):
    run = cli("audit", "--strict")
    assert run.code == 0, run.out + run.err
    assert "No findings (11 rules checked)." in run.out


def test_an_active_task_without_a_checkpoint_for_too_long(clean, cli, git, monkeypatch):
    clean.start_task("Port the parser", steps=["a", "b"], task_id="T1")
    commit_all(clean, git)
    assert rules(cli) == []
    monkeypatch.setenv("TETHER_NOW", "2026-12-05T15:00:00Z")  # five hours on
    [found] = findings(cli)
    assert found["rule"] == "checkpoint-overdue" and found["path"] == ".tether/tasks/T1/task.md"
    assert "has no checkpoint" in found["message"] and "5.0 hours" in found["message"]
    assert "tether checkpoint --task T1" in found["fix"]
    clean.checkpoint(done=["1"], state="a done")
    commit_all(clean, git)
    assert rules(cli) == []


def test_an_active_task_without_a_checkpoint_for_too_many_events(clean, cli, git, monkeypatch):
    (clean.dir / "tether.toml").write_text((clean.dir / "tether.toml").read_text()
                                           .replace("checkpoint_events = 200", "checkpoint_events = 3"))
    clean.start_task("Port the parser", steps=["a", "b"], task_id="T1")
    clean.checkpoint(done=["1"], state="a done")
    commit_all(clean, git)
    assert rules(cli) == []
    monkeypatch.setenv("TETHER_NOW", "2026-12-05T10:05:00Z")
    for text in ("one", "two", "three"):
        clean.note("note", text)
    commit_all(clean, git)
    [found] = findings(cli, "--skip", "context-stale")
    assert found["rule"] == "checkpoint-overdue" and "3 events ago (at least 3)" in found["message"]
    assert "CKP-0001" in found["message"]


def test_uncommitted_and_unindexed_files_then_fix_and_strict(clean, cli, git):
    (clean.dir / "PRIME.md").write_text("# prime\n")
    run = cli("audit", "--strict")
    assert run.code == 3
    assert ".tether/index.json: [index-stale]" in run.out and "1 added: PRIME.md" in run.out
    assert ".tether/PRIME.md: [uncommitted]" in run.out and "`tether audit --fix` fixes 1 of them." in run.out
    run = cli("audit", "--fix", "--json")
    data = run.json()
    assert data["fixed"] == [f"wrote .tether/index.json ({data['fixed'][0].split('(')[1].split()[0]} files)"]
    assert [f["rule"] for f in data["findings"]] == ["uncommitted", "uncommitted"]  # PRIME.md and index.json
    assert cli("index", "--check").code == 0
    git("add", ".tether")
    git("commit", "-q", "-m", "prime")
    assert cli("audit", "--strict").code == 0


def test_a_context_document_older_than_the_last_decision(clean, cli, git, monkeypatch):
    clean.decide("Which parser?", "the hand-written one", rationale="speed")
    commit_all(clean, git)
    assert rules(cli) == []
    doc = clean.root / ".tether" / "CONTEXT.md"
    text = doc.read_text()
    assert f"_Updated {NOW}" in text
    doc.write_text(text.replace(f"_Updated {NOW}", "_Updated 2026-12-01T00:00:00Z"))
    commit_all(clean, git)
    [found] = findings(cli)
    line = doc.read_text().splitlines().index(next(x for x in doc.read_text().splitlines() if "_Updated" in x)) + 1
    assert found["rule"] == "context-stale" and found["path"] == ".tether/CONTEXT.md" and found["line"] == line
    assert "before the last decision" in found["message"] and found["fixable"]
    data = cli("audit", "--fix", "--json").json()
    assert data["fixed"][0] == "regenerated .tether/CONTEXT.md"
    assert f"_Updated {NOW}" in doc.read_text()
    assert [f["rule"] for f in data["findings"]] == ["uncommitted", "uncommitted"]


def test_pending_ctx_decisions_past_their_deadline(clean, cli, git, monkeypatch):
    assert cli("ctx", "init", "--campaign", "C-1", "--owner", "@phil", "--title", "Launch").code == 0
    run = cli("ctx", "escalate", "Can we name the APY?", "--deadline", "2026-12-06T12:00:00Z")
    assert run.code == 0, run.err
    commit_all(clean, git)
    assert "decision-overdue" not in rules(cli)
    monkeypatch.setenv("TETHER_NOW", "2026-12-07T00:00:00Z")
    [found] = [f for f in findings(cli) if f["rule"] == "decision-overdue"]
    path = ".tether/contexts/C-1/session_context.yaml"
    assert found["path"] == path and "decision-000" in found["message"] and "2026-12-06T12:00:00Z" in found["message"]
    lines = (clean.root / path).read_text().splitlines()
    assert "id: decision-000" in lines[found["line"] - 1]
    assert f"tether ctx decide decision-000 --decision" in found["fix"]


def test_cache_files_referenced_by_nothing(clean, cli, git):
    digest, shown = clean.store.put_cached("offloaded", b"a tool result nobody points at\n")
    commit_all(clean, git)
    [found] = findings(cli)
    assert found["rule"] == "cache-orphan" and found["path"] == shown
    assert f"git rm {shown}" in found["fix"]
    clean.store.append_compaction({"at": NOW, "items": [{"ref": f"offloaded/{digest[:12]}", "sha256": digest}]})
    commit_all(clean, git)
    assert rules(cli) == []


def test_links_that_no_longer_resolve_and_stale_maps(clean, cli, git):
    from tether.offload import Offload

    (clean.root / "docs").mkdir()
    (clean.root / "docs" / "plan.md").write_text("# plan\n")
    off = Offload(clean)
    off.create_cluster("Cluster01_Plans")
    link = off.add("link", "Cluster01_Plans", "The plan", target="docs/plan.md")["packet"]
    commit_all(clean, git)
    assert rules(cli) == []
    (clean.root / "docs" / "plan.md").unlink()
    [found] = findings(cli, "--skip", "uncommitted")
    assert found["rule"] == "link-broken" and link["id"] in found["message"]
    packet = clean.root / found["path"]
    assert packet.read_text().splitlines()[found["line"] - 1].startswith("target:")
    assert f"tether offload retire {link['id']}" in found["fix"]
    mapfile = clean.dir / "offload" / "clusters" / "Cluster01_Plans" / "MAP.md"
    mapfile.write_text(mapfile.read_text() + "hand edit\n")
    assert "maps-stale" in rules(cli, "--skip", "uncommitted")
    data = cli("audit", "--fix", "--json", "--skip", "uncommitted").json()
    assert "rewrote 1 offload map" in data["fixed"] and "hand edit" not in mapfile.read_text()
    assert [f["rule"] for f in data["findings"]] == ["link-broken"]


def _session(ws, session, event, at, **data):
    ws.store.append_session_event(record(event, session, data, at=at))


def test_a_session_in_orange_with_no_checkpoint_since(clean, cli, git, monkeypatch):
    clean.start_task("Port the parser", steps=["a", "b"], task_id="T1")
    clean.checkpoint(done=["1"], state="a done")
    commit_all(clean, git)
    monkeypatch.setenv("TETHER_NOW", "2026-12-05T11:00:00Z")
    _session(clean, "S-big", "session_start", "2026-12-05T10:10:00Z", transcript=None)
    _session(clean, "S-big", "context_state", "2026-12-05T10:30:00Z", state="ORANGE", percent=55.0)
    context_states.remember(str(clean.dir), "S-big", state="ORANGE", percent=55.0, tokens=110000, window=200000)
    [found] = findings(cli)
    assert found["rule"] == "context-unsaved" and found["path"] == ".tether/local/sessions.jsonl"
    assert found["line"] == 2 and "ORANGE (55.0% of its context)" in found["message"]
    clean.checkpoint(done=["2"], state="b done")
    commit_all(clean, git)
    assert rules(cli) == []
    # Back to GREEN (compacted): nothing to say either.
    _session(clean, "S-two", "context_state", "2026-12-05T10:59:00Z", state="RED", percent=80.0)
    context_states.remember(str(clean.dir), "S-two", state="GREEN", percent=10.0, tokens=1, window=200000)
    assert rules(cli) == []


def _critical(ws, session="S-crit", at="2026-12-05T10:30:00Z"):
    """A session that went CRITICAL at ``at``, as the UserPromptSubmit hook records it (its state is
    still CRITICAL: no prompt came since)."""
    _session(ws, session, "session_start", "2026-12-05T10:10:00Z", transcript=None)
    _session(ws, session, "context_state", at, state="CRITICAL", percent=93.0)
    context_states.remember(str(ws.dir), session, state="CRITICAL", percent=93.0, tokens=186000, window=200000)


def test_a_critical_session_is_saved_by_a_checkpoint_of_a_task_completed_since(clean, cli, git, monkeypatch):
    clean.start_task("Port the parser", steps=["a", "b"], task_id="T1")
    clean.checkpoint(done=["1"], state="a done")
    commit_all(clean, git)
    _critical(clean)
    assert rules(cli) == ["context-unsaved"]
    monkeypatch.setenv("TETHER_NOW", "2026-12-05T10:40:00Z")
    assert cli("checkpoint", "--done", "2", "--state", "b done").code == 0
    assert cli("task", "complete", "T1").code == 0  # no open task left: its checkpoint still counts
    commit_all(clean, git)
    assert rules(cli) == []
    assert "context-unsaved" not in cli("boot").out


def test_a_critical_session_is_saved_by_a_close(clean, cli, git, monkeypatch):
    clean.start_task("Port the parser", steps=["a", "b"], task_id="T1")
    clean.checkpoint(done=["1"], state="a done")
    commit_all(clean, git)
    _critical(clean)
    monkeypatch.setenv("TETHER_NOW", "2026-12-05T10:40:00Z")
    assert cli("close", "--summary", "ported a", "--commit").code == 0
    assert rules(cli) == []
    boot = cli("boot").out
    assert "Forgotten obligations" not in boot and "CRITICAL" not in boot


def test_a_critical_session_compacted_since_is_not_unsaved(clean, cli, git, monkeypatch):
    clean.start_task("Port the parser", steps=["a", "b"], task_id="T1")
    clean.checkpoint(done=["1"], state="a done")
    commit_all(clean, git)
    _critical(clean)
    _critical(clean, "S-other")  # another session, not compacted: still named
    _session(clean, "S-crit", "pre_compact", "2026-12-05T10:31:00Z", trigger="auto", task="T1", checkpoint=None)
    [found] = findings(cli)
    assert found["rule"] == "context-unsaved" and "S-other" in found["message"]
    _session(clean, "S-other", "session_start", "2026-12-05T10:32:00Z", source="compact", transcript=None)
    assert rules(cli) == []


def _transcript(path, messages):
    with open(path, "w", encoding="utf-8") as fh:
        for role, at, text in messages:
            fh.write(json.dumps({"type": role, "timestamp": at, "message": {"role": role, "content": text}}) + "\n")
        # A tool's result that quotes the phrase is nobody's request.
        fh.write(json.dumps({"type": "user", "timestamp": at, "message": {"role": "user", "content": [
            {"type": "tool_result", "content": "grep: Remember this appears in notes.md"}]}}) + "\n")


def test_a_phrase_asking_to_keep_something_with_nothing_offloaded_after(clean, cli, git, tmp_path, monkeypatch):
    from tether.offload import Offload

    transcript = tmp_path / "session.jsonl"
    _transcript(transcript, [("user", "2026-12-05T09:00:00Z", "let us look at the parser"),
                             ("assistant", "2026-12-05T09:01:00Z", "The tokenizer drops BOMs."),
                             ("user", "2026-12-05T09:02:00Z", "Good find. Remember   this for the port.")])
    _session(clean, "S-talk", "session_start", "2026-12-05T08:59:00Z", transcript=str(transcript))
    [found] = findings(cli)
    assert found["rule"] == "keep-unoffloaded" and found["path"] == str(transcript) and found["line"] == 3
    assert '"remember this"' in found["message"] and "2026-12-05T09:02:00Z" in found["message"]
    assert "tether offload add blob" in found["fix"]
    off = Offload(clean)
    off.create_cluster("Cluster01_Parser")
    off.add("blob", "Cluster01_Parser", "Tokenizer drops BOMs", "The tokenizer drops BOMs.")
    commit_all(clean, git)
    assert rules(cli) == []
    # Sessions older than [audit] recent_days are not read.
    monkeypatch.setenv("TETHER_NOW", "2026-12-20T00:00:00Z")
    transcript.write_text(transcript.read_text() + json.dumps({"type": "user", "timestamp": "2026-12-19T00:00:00Z",
                          "message": {"role": "user", "content": "we should not lose this"}}) + "\n")
    assert "keep-unoffloaded" not in rules(cli, "--skip", "context-stale")


def test_a_busy_session_that_offloaded_and_closed_nothing(clean, cli, git, monkeypatch):
    _session(clean, "S-busy", "session_start", "2026-12-05T08:00:00Z", transcript=None)
    for i in range(12):
        trail.append(str(clean.dir), "S-busy", {"at": f"2026-12-05T09:{i:02d}:00Z", "tool": "Edit", "file": f"src/m{i}.py"})
    [found] = findings(cli)
    assert found["rule"] == "busy-unsaved" and found["path"] == ".tether/local/trails/S-busy.jsonl"
    assert "12 tool calls and changed 12 files" in found["message"]
    monkeypatch.setenv("TETHER_SESSION_ID", "S-busy")
    assert cli("close", "--summary", "ported the modules").code == 0
    commit_all(clean, git)
    assert rules(cli) == []


def test_skip_and_bad_input(clean, cli):
    run = cli("audit", "--skip", "nonsense")
    assert run.code == 2 and "invalid choice" in run.err
    (clean.dir / "tether.toml").write_text((clean.dir / "tether.toml").read_text()
                                           .replace("checkpoint_hours = 4", "checkpoint_hours = -1"))
    run = cli("audit", "--json")
    error = run.json()
    assert run.code != 0 and not error["ok"]
    line = next(i for i, x in enumerate((clean.dir / "tether.toml").read_text().splitlines(), 1)
                if x.startswith("checkpoint_hours"))
    assert f".tether/tether.toml:{line}: audit.checkpoint_hours must be a number of hours above 0" in error["error"]


def test_audit_settings_from_tether_toml(ws):
    from tether.store.config_file import parse

    text = (ws.dir / "tether.toml").read_text()
    config = parse(text.replace("busy_files = 10", "busy_files = 3\ncolour = 1").encode(), ".tether/tether.toml")
    assert config.audit["busy_files"] == 3 and config.audit["checkpoint_hours"] == 4.0
    assert any("unknown key audit.colour" in w["message"] for w in config.warnings)
    with pytest.raises(Exception, match="audit.phrases must be a list"):
        parse((text + "").replace("# phrases =", "phrases = 3 #").encode(), ".tether/tether.toml")


def test_the_result_is_kept_for_the_next_boot(clean, cli):
    (clean.dir / "PRIME.md").write_text("# prime\n")
    cli("audit")
    kept = json.loads((clean.dir / "local" / "audit.json").read_text())
    assert kept["at"] == NOW and {f["rule"] for f in kept["findings"]} == {"index-stale", "uncommitted"}


def test_the_manifest_known_current_at_a_commit_is_not_checked_again(clean, cli, spy):
    """Checking the manifest stats every file of the store: at the same commit, with nothing of
    the store changed, the last audit's answer stands; a change since is stale without a check."""
    from tether import Workspace

    checks = spy(Workspace, "check_index", lambda *a: True)
    assert rules(cli) == [] and len(checks) == 1
    assert rules(cli) == [] and len(checks) == 1  # known current at this commit
    (clean.dir / "PRIME.md").write_text("# prime\n")
    [stale] = [f for f in findings(cli) if f["rule"] == "index-stale"]
    assert len(checks) == 1 and "1 changed or added since the last commit: PRIME.md" in stale["message"]
    (clean.dir / "PRIME.md").unlink()
    (clean.dir / "index.json").write_text("{}\n")  # the manifest itself changed: checked in full
    assert "index-stale" in rules(cli) and len(checks) == 2


# -- into the session (issue 14 part 6) ---------------------------------------------------------------

def test_boot_names_new_packets_that_share_words_with_the_open_tasks(clean, cli, monkeypatch):
    from tether.offload import Offload

    clean.start_task("Port the tokenizer", definition="Move the tokenizer to the new grammar", steps=["a"],
                     task_id="T1")
    off = Offload(clean)
    off.create_cluster("Cluster01_Parser")
    assert cli("close", "--summary", "started").code == 0
    monkeypatch.setenv("TETHER_NOW", "2026-12-05T11:00:00Z")
    old = off.add("blob", "Cluster01_Parser", "Grammar notes from before", "old")["packet"]["id"]
    off.retire(old)
    first = off.add("blob", "Cluster01_Parser", "Tokenizer drops BOMs", "The tokenizer drops a UTF-8 BOM.")["packet"]
    off.add("blob", "Cluster01_Parser", "Marketing copy", "Nothing to do with it.")
    monkeypatch.setenv("TETHER_NOW", "2026-12-05T11:05:00Z")
    second = off.add("frame", "Cluster01_Parser", "The new grammar, framed", "Why a PEG.")["packet"]
    brief = cli("boot", "--json").json()
    assert [p["id"] for p in brief["packets"]] == [second["id"], first["id"]]  # newest first; retired, unrelated left out
    assert brief["packets"][0]["words"] == ["grammar"] and brief["packets"][1]["words"] == ["tokenizer"]
    text = cli("boot").out
    assert "## New offload packets for the open tasks (2)" in text
    assert f"- Tokenizer drops BOMs (blob {first['id']} in Cluster01_Parser; shares: tokenizer)" in text
    # After the next close they are no longer new.
    assert cli("close", "--summary", "read them").code == 0
    assert cli("boot", "--json").json()["packets"] == []


def test_boot_warns_about_the_last_audits_findings_for_the_next_session(clean, cli, monkeypatch):
    clean.start_task("Port the parser", steps=["a", "b"], task_id="T1")
    assert "## Forgotten obligations" not in cli("boot").out  # no audit ran on this machine
    monkeypatch.setenv("TETHER_NOW", "2026-12-05T16:00:00Z")
    assert cli("audit").code == 0
    brief = cli("boot")
    assert "## Forgotten obligations (1; `tether audit` at 2026-12-05 16:00)" in brief.out
    assert "- .tether/tasks/T1/task.md: [checkpoint-overdue] task T1 is active" in brief.out
    assert "[uncommitted]" not in brief.out  # the brief says itself which files differ from HEAD
    clean.checkpoint(done=["1"], state="a done")
    assert cli("audit").code == 0  # the warm brief follows the new result
    assert "## Forgotten obligations" not in cli("boot").out


def test_close_lists_what_the_session_marked_worth_keeping_and_offloads_it(clean, cli, monkeypatch):
    assert cli("close", "--summary", "before").code == 0
    monkeypatch.setenv("TETHER_NOW", "2026-12-05T11:00:00Z")
    learning = clean.note("learning", "The grammar must tolerate a BOM")
    gotcha = clean.note("gotcha", "Remember: the lexer resets at each include")
    clean.note("note", "an ordinary note")
    run = cli("close", "--summary", "first", "--json")
    keep = run.json()["keep"]
    assert [k["note"] for k in keep] == [learning.id, gotcha.id] and not any(k.get("packet") for k in keep)
    assert keep[0]["command"].startswith("tether offload cluster create Learnings && tether offload add blob")
    # The listed commands do it, exactly as printed.
    import shlex

    for k in keep:
        for part in k["command"].split(" && "):
            assert cli(*shlex.split(part)[1:]).code == 0, part
    assert cli("close", "--summary", "second", "--json").json()["keep"] == []  # offloaded: not offered again
    monkeypatch.setenv("TETHER_NOW", "2026-12-05T12:00:00Z")
    later = clean.note("learning", "PEG beats LALR here, worth keeping")
    run = cli("close", "--summary", "third", "--offload", "Cluster02_Learned")
    assert run.code == 0 and "Offloaded 1 entry marked worth keeping:" in run.out
    from tether.offload import Offload

    [packet] = Offload(clean).list(cluster="Cluster02_Learned")
    assert packet["title"] == "PEG beats LALR here, worth keeping" and f"note:{later.id}" in packet["tags"]
    assert cli("index", "--check").code == 0  # the close's manifest lists the packet


def test_close_keeps_an_audit_result_for_the_next_boot(clean, cli, monkeypatch):
    clean.start_task("Port the parser", steps=["a", "b"], task_id="T1")
    monkeypatch.setenv("TETHER_NOW", "2026-12-05T16:00:00Z")
    assert cli("close", "--summary", "stopped mid-way").code == 0
    kept = json.loads((clean.dir / "local" / "audit.json").read_text())
    assert kept["at"] == "2026-12-05T16:00:00Z" and [f["rule"] for f in kept["findings"]] == ["checkpoint-overdue"]
    assert "[checkpoint-overdue] task T1 is active" in cli("boot").out


def test_what_the_compaction_hooks_keep_in_the_cache_is_never_an_orphan(tmp_path):
    """PreCompact (the transcript's archive, its large tool results offloaded, tether's summary)
    and PostCompact (Claude Code's own summary), run as Claude Code runs them, then the audit as a
    user runs it: before the close, after it, and in the pre-commit hook's output."""
    root = tmp_path / "proj"
    root.mkdir()
    env = {**os.environ, "TETHER_FSYNC": "0", "TETHER_SESSION_ID": "S-compacted"}

    def run(*args, stdin=None):
        proc = subprocess.run(args, cwd=root, env=env, input=stdin, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc

    tether = [sys.executable, "-m", "tether"]
    run("git", "init", "-q")
    run(*tether, "init")
    run(*tether, "task", "start", "Fix the loader")
    run(*tether, "install", "pre-commit")
    run("git", "add", "-A")
    run("git", "commit", "-q", "-m", "start")
    big = "".join(f"{i:05d} row value={i * 7} status=ok\n" for i in range(4000))
    rows = [
        {"type": "user", "message": {"role": "user", "content": "Fix the crash in src/loader.py"}},
        {"type": "assistant", "message": {"role": "assistant", "content": [
            {"type": "tool_use", "id": "t1", "name": "Read", "input": {"file_path": "src/loader.py"}}]}},
        {"type": "user", "message": {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "t1", "content": big}]}},
        {"type": "assistant", "message": {"role": "assistant", "content": [{"type": "text", "text": "Guarded."}]}},
    ]
    transcript = tmp_path / "session.jsonl"
    transcript.write_text("".join(json.dumps(r) + "\n" for r in rows))
    event = {"session_id": "S-compacted", "cwd": str(root), "transcript_path": str(transcript), "trigger": "auto"}
    hook = [*tether, "hook", "claude-code"]
    run(*hook, stdin=json.dumps({**event, "hook_event_name": "PreCompact"}))
    run(*hook, stdin=json.dumps({**event, "hook_event_name": "PostCompact",
                                 "compact_summary": "The user asked to fix the crash in src/loader.py."}))
    cached = {p.parent.name for p in (root / ".tether" / "cache").rglob("*") if p.is_file()}
    assert cached == {"conversations", "offloaded"}
    assert len(list((root / ".tether" / "cache" / "conversations").iterdir())) == 3  # archive, both summaries

    def orphans():
        found = json.loads(run(*tether, "audit", "--json").stdout)["findings"]
        return [f["path"] for f in found if f["rule"] == "cache-orphan"]

    assert orphans() == []
    run(*tether, "close", "--summary", "loader guarded")
    assert orphans() == []
    run("git", "add", "-A")
    committed = run("git", "commit", "-q", "-m", "close")
    assert "cache-orphan" not in committed.stdout + committed.stderr
    assert orphans() == []
    (root / ".tether" / "local" / "sessions.jsonl").unlink()  # another clone: only the committed logs
    assert orphans() == []


def test_a_summary_named_only_by_an_older_post_compact_line_is_referenced(clean, cli, git):
    # PostCompact recorded only "conversations/<first 12 digits>" in the session log before it wrote
    # a compaction log line: on the machine that kept it, that names the file.
    digest, shown = clean.store.put_cached("conversations", b"Claude Code's summary\n")
    commit_all(clean, git)
    assert rules(cli) == ["cache-orphan"]
    clean.store.append_session_event(record("post_compact", "S-old", {"summary": f"conversations/{digest[:12]}"}))
    assert rules(cli) == []
    clean.store.append_session_event(record("post_compact", "S-old", {"summary": f"offloaded/{digest[:12]}"}))
    (clean.dir / "local" / "sessions.jsonl").write_text(
        json.dumps(record("post_compact", "S-old", {"summary": f"offloaded/{digest[:12]}"})) + "\n")
    assert rules(cli) == ["cache-orphan"]  # another kind's file of that name is not this one
