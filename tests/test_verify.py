"""`tether verify`: every state file read, each problem named with its path and line, exit 3.

What the other commands never read is the point: a closed task, an old checkpoint, a
task's journal, the whole memory log.
"""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.fixture
def store(ws, cli, repo):
    cli("task", "start", "Old work", "--id", "OLD", "-i", "a", "-i", "b")
    cli("checkpoint", "--done", "1", "--state", "first")
    cli("checkpoint", "--done", "2", "--state", "second")
    cli("task", "complete", "OLD")
    cli("task", "start", "Current work", "--id", "NOW", "-s", "one", "-s", "two")
    cli("checkpoint", "--done", "1", "--state", "step one")
    cli("decide", "Which parser?", "--decision", "json", "--id", "D-1")
    cli("note", "gotcha", "mind the gap")
    cli("close", "--summary", "day one", "--next", "step two")
    return repo / ".tether"


def checkpoint_files(store, task_id):
    return sorted((store / "tasks" / task_id / "checkpoints").glob("CKP-*.md"))


def test_a_healthy_store_verifies_clean(store, cli):
    run = cli("verify")
    assert run.code == 0, run.out + run.err
    assert "no problems" in run.out
    data = cli("verify", "--json").json()
    assert data["ok"] is True and data["problems"] == []
    # 2 tasks (task.md, 3 checkpoints, 2 journals), a decision, the two logs, progress log and
    # LATEST.json, index.json and CONTEXT.md
    assert data["files"] >= 13


def test_damage_no_other_command_reads_is_reported_with_path_and_line(store, cli):
    old_first = checkpoint_files(store, "OLD")[0]
    old_first.write_text(old_first.read_text().replace('status: "in_progress"', 'status: "in_progress'))
    with open(store / "tasks" / "OLD" / "checkpoints.jsonl", "ab") as fh:
        fh.write(b'{"name": "CKP-0003-torn", "task"')  # a line a crash cut short
    events = store / "memory" / "events.jsonl"
    lines = events.read_bytes().splitlines(keepends=True)
    lines[0] = b"\xff\xfe not utf-8\n"
    events.write_bytes(b"".join(lines + lines[-1:] * 400))  # beyond the window boot checks
    assert cli("boot").code == 0  # boot reads none of them: an open task's newest checkpoint, the log's end

    run = cli("verify")
    assert run.code == 3
    listed = [line.strip() for line in run.out.splitlines() if line.startswith("  .tether/")]
    rel = old_first.relative_to(store.parent).as_posix()
    assert any(line.startswith(f"{rel}:") and line.split(":")[1].isdigit() and "front matter" in line for line in listed), listed
    assert ".tether/tasks/OLD/checkpoints.jsonl:3: a torn last line (a writer stopped mid-append); skipped until the next write or `tether index --repair` sets it aside" in listed
    assert ".tether/memory/events.jsonl:1: invalid UTF-8; line skipped" in listed
    assert len(listed) == 3, listed
    assert "Hint:" in run.out

    data = cli("verify", "--json").json()
    assert data["ok"] is True and len(data["problems"]) == 3
    torn = next(p for p in data["problems"] if p["path"].endswith("checkpoints.jsonl"))
    assert torn == {"path": ".tether/tasks/OLD/checkpoints.jsonl", "line": 3,
                    "message": "a torn last line (a writer stopped mid-append); skipped until the next write or `tether index --repair` sets it aside"}


def test_a_checkpoint_deleted_by_hand_is_named_with_its_journal_line(store, cli):
    second = checkpoint_files(store, "OLD")[1]
    second.unlink()
    run = cli("verify", "--json")
    assert run.code == 3
    (problem,) = run.json()["problems"]
    assert problem["path"] == ".tether/tasks/OLD/checkpoints.jsonl" and problem["line"] == 2
    assert second.stem in problem["message"] and "remove its journal line too" in problem["message"]


def test_markers_out_of_step_with_tasks(store, cli):
    (store / "open" / "NOW").unlink()
    (store / "open" / "GHOST").write_text("")
    problems = cli("verify", "--json").json()["problems"]
    assert {(p["path"], p["line"]) for p in problems} == {(".tether/tasks/NOW/task.md", None),
                                                         (".tether/open/GHOST", None)}
    assert all("tether index --repair" in p["message"] for p in problems)


def test_conflict_markers_in_decisions_logs_and_generated_files(store, cli):
    decision = store / "decisions" / "D-1.md"
    decision.write_text(decision.read_text() + "<<<<<<< HEAD\nours\n=======\ntheirs\n>>>>>>> other\n")
    latest = store / "progress" / "LATEST.json"
    latest.write_text("<<<<<<< HEAD\n" + latest.read_text() + "=======\n{}\n>>>>>>> other\n")
    run = cli("verify", "--json")
    assert run.code == 3
    found = {p["path"]: p for p in run.json()["problems"]}
    assert set(found) == {".tether/decisions/D-1.md", ".tether/progress/LATEST.json"}
    assert "conflict marker" in found[".tether/decisions/D-1.md"]["message"]
    assert found[".tether/decisions/D-1.md"]["line"] is not None


def test_verify_changes_nothing(store, cli, git):
    second = checkpoint_files(store, "OLD")[1]
    second.unlink()
    before = {p: p.read_bytes() for p in store.rglob("*") if p.is_file() and "local" not in p.parts}
    cli("verify")
    after = {p: p.read_bytes() for p in store.rglob("*") if p.is_file() and "local" not in p.parts}
    assert after == before


def test_the_command_outside_a_workspace(tmp_path):
    run = subprocess.run([sys.executable, "-m", "tether", "verify"], cwd=tmp_path, capture_output=True, text=True)
    assert run.returncode == 1 and run.stderr.startswith("Error:") and "Hint:" in run.stderr


def test_records_saved_under_names_tether_never_reads(store, cli):
    """A record under a wrong name is one nobody would ever hear of again: verify names it."""
    ckp = checkpoint_files(store, "NOW")[0]
    (ckp.parent / "my checkpoint.md").write_bytes(ckp.read_bytes())
    (store / "decisions" / "my decision.md").write_bytes((store / "decisions" / "D-1.md").read_bytes())
    (store / "tasks" / "notes.txt").write_text("scratch\n")
    (store / "tasks" / "ORPHAN" / "checkpoints").mkdir(parents=True)
    (ckp.parent / ".DS_Store").write_bytes(b"\0")  # hidden: nobody's record
    run = cli("verify", "--json")
    assert run.code == 3, run.out
    found = {p["path"]: p["message"] for p in run.json()["problems"]}
    assert set(found) == {ckp.parent.relative_to(store.parent).as_posix() + "/my checkpoint.md",
                          ".tether/decisions/my decision.md", ".tether/tasks/notes.txt",
                          ".tether/tasks/ORPHAN"}, found
    assert "no task.md" in found[".tether/tasks/ORPHAN"] and "no task.md" in found[".tether/tasks/notes.txt"]
    assert all("tether ignores it" in m for m in found.values())


def test_a_directory_in_a_files_place_is_named_not_taken_for_absent(store, cli):
    for rel in ("tasks/OLD/checkpoints.jsonl", "progress/LATEST.json", "memory/events.jsonl"):
        (store / rel).unlink()
        (store / rel).mkdir()
    problems = cli("verify", "--json").json()["problems"]
    assert sorted(p["path"] for p in problems) == [".tether/memory/events.jsonl", ".tether/progress/LATEST.json",
                                                   ".tether/tasks/OLD/checkpoints.jsonl"]
    assert all("a directory where a file should be" in p["message"] for p in problems)


def _edit(path, old, new):
    text = path.read_text()
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1))


def _set_json_field(path, key, value, line=0):
    """Replace ``key``'s value on one line of a JSON-lines log (``line``: its index)."""
    import json

    lines = path.read_text().splitlines(keepends=True)
    row = json.loads(lines[line])
    row[key] = value
    lines[line] = json.dumps(row, sort_keys=True, separators=(",", ":")) + "\n"
    path.write_text("".join(lines))


def test_times_and_dates_that_are_not_iso_8601_are_named_and_the_records_kept(store, cli):
    import json
    import re

    stamp = re.compile(r'"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"')
    task = store / "tasks" / "OLD" / "task.md"
    task.write_text(stamp.sub('"yesterday"', task.read_text(), count=2))  # created, then closed
    checkpoint = checkpoint_files(store, "NOW")[-1]
    _edit(checkpoint, 'created: "', 'created: "2026-13-')
    _set_json_field(store / "tasks" / "OLD" / "checkpoints.jsonl", "created", "21/11/2026 10:00")
    decision = store / "decisions" / "D-1.md"
    decision.write_text(stamp.sub('"soon"', decision.read_text(), count=1))
    _set_json_field(store / "context.jsonl", "at", "noon")
    _set_json_field(store / "memory" / "events.jsonl", "at", "2026-11-21T25:00:00Z")
    latest = store / "progress" / "LATEST.json"
    value = json.loads(latest.read_text())
    latest.write_text(json.dumps({**value, "date": "2026-11-31", "generated_at": "now"}, indent=2))

    run = cli("verify", "--json")
    assert run.code == 3
    found = {(p["path"], p["line"]): p["message"] for p in run.json()["problems"]}
    at = {".tether/tasks/OLD/task.md": "created", ".tether/tasks/OLD/checkpoints.jsonl": "created",
          checkpoint.relative_to(store.parent).as_posix(): "created", ".tether/decisions/D-1.md": "when",
          ".tether/context.jsonl": "at", ".tether/memory/events.jsonl": "at",
          ".tether/progress/LATEST.json": "generated_at"}
    for path, key in at.items():
        line = next((line for (p, line), m in found.items() if p == path and f"field '{key}'" in m), "absent")
        assert isinstance(line, int), (path, key, found)
    assert any(p == ".tether/tasks/OLD/task.md" and "'closed'" in m for (p, _), m in found.items()), found
    assert any(p == ".tether/progress/LATEST.json" and "'date' is not a date" in m for (p, _), m in found.items())
    assert len(found) == 9, found
    assert all("ISO 8601" in m or "date like" in m for m in found.values())
    assert found[(".tether/context.jsonl", 1)].endswith('got "noon"; read as it is')

    # Named, never dropped: each record is read as before.
    assert "Which parser?" in cli("decide", "--list").out
    assert "mind the gap" in cli("note", "list").out
    assert "step one" in cli("resume", "NOW").out
    boot = cli("boot")
    assert boot.code == 3 and "day one" in boot.out and "LATEST.json:" in boot.out
    assert "Old work" in cli("task", "list", "--all").out


def test_every_form_of_time_formats_md_allows_verifies_clean(store, cli):
    # What tether writes (2026-11-21T10:57:04Z), an offset, a fraction, a space, no zone (read as UTC).
    checkpoint = checkpoint_files(store, "NOW")[-1]
    for when in ("2026-11-21T10:57:04+01:00", "2026-11-21 10:57:04.250Z", "2026-11-21T10:57:04",
                 "2024-02-29T23:59Z"):
        text = checkpoint.read_text()
        start = text.index('created: "') + len('created: "')
        checkpoint.write_text(text[:start] + when + text[text.index('"', start):])
        run = cli("verify")
        assert run.code == 0, (when, run.out)


@pytest.mark.parametrize("damage, line, says", [
    (lambda doc: "[1, 2]\n", 1, "expected a JSON object"),
    (lambda doc: doc.replace('"files": {', '"other": {'), 1, "missing field 'files'"),
    (lambda doc: doc.replace('"count": ', '"count": "') .replace(',\n "files"', '",\n "files"', 1), 2,
     "field 'count' must be a whole number"),
    (lambda doc: doc.replace('"count": ', '"count": 1'), 2, "but 'files' lists"),
    (lambda doc: doc.replace('"sha256:', '"sha256:x', 1), None, "64 lowercase hex digits"),
    (lambda doc: doc.replace('"sha256:', '"md5:', 1), None, "64 lowercase hex digits"),
    (lambda doc: doc.replace('"generator": "tether"', '"generator": 5'), None, "field 'generator' must be a string"),
    (lambda doc: doc.replace('"schema": 1', '"schema": 9'), None, "written by a newer tether"),
], ids=["not an object", "no files", "count as text", "count off", "short digest", "another hash", "generator",
        "newer schema"])
def test_an_index_json_of_the_wrong_shape_is_named(store, cli, damage, line, says):
    manifest = store / "index.json"
    assert cli("index", "--check").code == 0
    manifest.write_text(damage(manifest.read_text()))
    run = cli("verify", "--json")
    assert run.code == 3
    (problem,) = run.json()["problems"]
    assert problem["path"] == ".tether/index.json" and says in problem["message"], problem
    if line is not None:
        assert problem["line"] == line
    else:
        assert isinstance(problem["line"], int)
    check = cli("index", "--check")  # nothing to compare with: stale, and why
    assert check.code == 3 and says in check.out + check.err


def test_boot_names_an_odd_time_at_the_memory_logs_end_warm_or_cold(store, cli):
    assert cli("boot").code == 0  # leaves a warm start: the log is not one of its files, but its end is checked
    events = store / "memory" / "events.jsonl"
    last = len(events.read_text().splitlines()) - 1
    _set_json_field(events, "at", "21 Nov 2026", line=last)
    for _ in range(2):
        run = cli("boot", "--json")
        assert run.code == 3
        assert [(p["path"], p["line"]) for p in run.json()["problems"]] == [(".tether/memory/events.jsonl", last + 1)]


def test_the_pins_the_compaction_log_the_session_contexts_and_the_cache_are_read(store, cli, ws):
    """What boot and the other listings read only in part (the pins), or no command reads line by
    line (the compaction log), or only `tether ctx` reads (the contexts), or only `tether show`
    checks when asked (a cached file against its name): verify names each, with path and line."""
    from tether.compaction import compact

    assert cli("pin", "Never change load(path)").code == 0
    cli("ctx", "init", "--campaign", "C-1", "--owner", "@me")
    messages = [{"role": "user", "content": "Read it"},
                {"role": "tool", "tool_call_id": "c1", "content": "".join(f"{i:05d} line\n" for i in range(6000))}]
    _, report = compact(messages, tiers=[1], workspace=ws, threshold=1000)
    digest = report["tiers"][0]["offloaded"][0]["sha256"]
    clean = cli("verify", "--json").json()
    assert clean["problems"] == [] and clean["files"] >= 13 + 4  # pins, compaction log, context, cached file

    with open(store / "memory" / "pins.jsonl", "a") as fh:
        fh.write('{"pin": "broken\n{"pin": "PIN-x"}\n')
    with open(store / "memory" / "compactions.jsonl", "a") as fh:
        fh.write("garbage\n")
    context = store / "contexts" / "C-1" / "session_context.yaml"
    lines = context.read_text().splitlines(keepends=True)
    owner = next(i for i, line in enumerate(lines) if "campaign_owner:" in line)
    lines[owner] = lines[owner].split(":")[0] + ": 42\n"
    context.write_text("".join(lines))
    cached = store / "cache" / "offloaded" / digest
    cached.chmod(0o644)
    cached.write_bytes(cached.read_bytes().replace(b"00042 line", b"00042 lime"))
    (store / "cache" / "offloaded" / "notes.txt").write_text("mine")

    run = cli("verify")
    assert run.code == 3
    listed = [line.strip() for line in run.out.splitlines() if line.startswith("  .tether/")]
    assert listed == [
        ".tether/memory/pins.jsonl:2: invalid JSON (torn or hand-edited line); line skipped",
        '.tether/memory/pins.jsonl:3: neither a pin ({"pin": ID, "text": ...}) nor its removal ({"unpin": ID});'
        " line skipped",
        ".tether/memory/compactions.jsonl:2: invalid JSON (torn or hand-edited line); line skipped",
        f".tether/contexts/C-1/session_context.yaml:{owner + 1}: campaign.campaign_owner: expected a string, got 42",
        f".tether/cache/offloaded/{digest}: its content no longer matches its name (edited by hand?);"
        " restore its last committed version with `git checkout -- PATH`",
        ".tether/cache/offloaded/notes.txt: not a cached file's name (the SHA-256 of its bytes, 64 hex digits);"
        " `tether show` cannot check it against its bytes",
    ], listed
    assert run.out.startswith(f"Verified {clean['files']} files in .tether: 6 problem(s).")


def test_a_torn_last_line_of_the_pins_is_named_and_repaired(store, cli):
    cli("pin", "Never change load(path)")
    with open(store / "memory" / "pins.jsonl", "a") as fh:
        fh.write('{"pin": "PIN-y", "te')
    data = cli("verify", "--json").json()
    assert data["torn"] == [".tether/memory/pins.jsonl:2"]
    repaired = cli("index", "--repair")
    assert ".tether/memory/pins.jsonl:2: a torn last line" in repaired.out
    assert cli("verify").code == 0
    assert "Never change load(path)" in cli("pin", "--list").out
