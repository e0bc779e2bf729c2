"""Malformed files: each is reported with its path and exact line, never skipped silently,
and everything else still loads.

The state is two tasks (one with two checkpoints), two decisions and two entries; each test
breaks one file the way people and tools break them, then checks the report and the rest.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

NOW = "2026-11-21T10:00:00Z"


@pytest.fixture
def state(ws, cli, repo, monkeypatch):
    monkeypatch.setenv("TETHER_NOW", NOW)
    cli("task", "start", "Healthy task", "--id", "GOOD", "-s", "one", "-s", "two")
    cli("checkpoint", "--done", "1", "--state", "step one done")
    cli("task", "start", "Victim task", "--id", "BAD", "-i", "a", "-i", "b", "-i", "c")
    cli("checkpoint", "--done", "1", "--state", "first item")
    cli("checkpoint", "--done", "2", "--state", "second item")
    cli("decide", "Healthy question?", "--decision", "kept", "--id", "D-good")
    cli("decide", "Victim question?", "--decision", "broken", "--id", "D-bad")
    cli("note", "gotcha", "healthy gotcha")
    monkeypatch.setenv("TETHER_NOW", "2026-11-21T10:01:00Z")
    cli("note", "dont", "healthy dont")
    return repo / ".tether"


def problems(run) -> list[str]:
    """Problem lines as `path:line: message`, from a brief or a listing."""
    return [line.strip().removeprefix("- ") for line in run.out.splitlines() if line.strip().startswith((".tether/", "- .tether/"))]


def lines_of(path: Path) -> list[str]:
    return path.read_bytes().decode("utf-8", "replace").splitlines()


def boot_json(cli) -> dict:
    run = cli("boot", "--json")
    data = run.json()
    assert run.code == (3 if data["degraded"] else 0) and data["ok"] is True
    return data


def assert_rest_loads(cli, *, task: bool = True, decision: bool = True):
    """The healthy records are all still there, in the brief and in the listings."""
    text = cli("boot").out
    if task:
        assert "Resuming Healthy task (GOOD) from step 2 of 2" in text
        assert any(line.split()[0:2] == ["GOOD", "open"] or line.split()[1:3] == ["GOOD", "open"]
                   for line in cli("task", "list").out.splitlines() if line.strip())
    if decision:
        assert "Healthy question? -> kept" in text
        assert "Healthy question?" in cli("decide", "--list").out
    assert "- healthy gotcha" in text and "- healthy dont" in text


# -- records with front matter -------------------------------------------------------------

def test_bad_yaml_front_matter(state, cli):
    path = state / "decisions" / "D-bad.md"
    lines = path.read_text().splitlines(keepends=True)
    assert lines[2].startswith("question:")
    lines[2] = "question: Which one: this or that?\n"      # YAML: a mapping value where none may be
    path.write_text("".join(lines))
    expected = ".tether/decisions/D-bad.md:3: invalid YAML in front matter"

    run = cli("boot")
    assert run.code == 3
    assert any(p.startswith(expected) for p in problems(run)), run.out
    listing = cli("decide", "--list")
    assert listing.code == 3 and any(p.startswith(expected) for p in problems(listing)), listing.out
    data = boot_json(cli)
    assert data["degraded"] is True
    assert [(p["path"], p["line"]) for p in data["problems"]] == [(".tether/decisions/D-bad.md", 3)]
    assert_rest_loads(cli)


@pytest.mark.parametrize("style", ["json", "yaml"])
def test_a_key_written_twice_in_front_matter_is_reported_with_both_lines(state, cli, style):
    """A hand edit or a merge that left `decision:` twice: which holds is not tether's to guess
    (the YAML reader would keep the last one silently); the record is reported, the rest loads."""
    path = state / "decisions" / "D-bad.md"
    lines = path.read_text().splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if line.startswith("decision:"))
    if style == "yaml":  # hand-written YAML: the reader of tether's own format steps aside
        lines[at] = "decision: broken  # as first written\n"
    lines.insert(at + 1, 'decision: "mended"\n')
    path.write_text("".join(lines))
    expected = (f".tether/decisions/D-bad.md:{at + 2}: "
                + ("invalid YAML in front matter: " if style == "yaml" else "")
                + f"the key 'decision' appears twice (lines {at + 1} and {at + 2}); keep the one that holds")
    run = cli("verify")
    assert run.code == 3 and expected in run.out + run.err, run.out + run.err
    assert_rest_loads(cli)


def test_hand_edited_yaml_in_another_style_still_loads(state, cli):
    path = state / "decisions" / "D-good.md"
    text = path.read_text().replace('question: "Healthy question?"', "question: 'Healthy question?'  # edited")
    path.write_text(text)
    run = cli("boot")
    assert run.code == 0 and "## Problems" not in run.out
    assert "Healthy question? -> kept" in run.out


def test_git_conflict_markers(state, cli):
    path = state / "tasks" / "BAD" / "task.md"
    lines = path.read_text().splitlines(keepends=True)
    index = next(i for i, line in enumerate(lines) if line.startswith("title:"))
    lines[index:index + 1] = ["<<<<<<< HEAD\n", lines[index], "=======\n", 'title: "Their title"\n',
                              ">>>>>>> feature\n"]
    path.write_text("".join(lines))
    expected = f".tether/tasks/BAD/task.md:{index + 1}: unresolved git conflict marker"

    run = cli("boot")
    assert run.code == 3
    assert any(p.startswith(expected) for p in problems(run)), run.out
    listing = cli("task", "list")
    assert listing.code == 3 and any(p.startswith(expected) for p in problems(listing)), listing.out
    # Asking for that very task names the file and line too, as a user error (no traceback).
    status = cli("task", "status", "BAD")
    assert status.code == 1
    assert status.err.startswith(f"Error: {expected}") and "Hint:" in status.err
    assert "Traceback" not in status.err
    data = cli("task", "status", "BAD", "--json").json()
    assert data["ok"] is False and data["kind"] == "corrupt" and data["exit_code"] == 1
    assert_rest_loads(cli)


def test_truncated_checkpoint(state, cli):
    path = sorted((state / "tasks" / "BAD" / "checkpoints").glob("CKP-0002-*.md"))[0]
    data = path.read_bytes()
    cut = data[: data.index(b"current_state") + 9]          # killed mid-write, front matter never closed
    path.write_bytes(cut)
    line = cut.count(b"\n") + 1
    expected = f".tether/tasks/BAD/checkpoints/{path.name}:{line}: front matter never closed"

    run = cli("boot")
    assert run.code == 3
    assert any(p.startswith(expected) for p in problems(run)), run.out
    # The task resumes from what the damaged checkpoint's journal line recorded, and says the file is damaged.
    resume = cli("resume", "BAD")
    assert resume.code == 3
    assert resume.out.startswith("Resuming Victim task (BAD) from item 3 of 3 (2 done; last checkpoint CKP-0002")
    assert any(p.startswith(expected) for p in problems(resume)), resume.out
    # Without that line either, from the last readable checkpoint.
    journal = state / "tasks" / "BAD" / "checkpoints.jsonl"
    journal.write_text("".join(line + "\n" for line in journal.read_text().splitlines() if path.stem not in line))
    resume = cli("resume", "BAD")
    assert resume.code == 3 and resume.out.startswith("Resuming Victim task (BAD) from item 2 of 3")
    assert_rest_loads(cli)


def test_a_damaged_checkpoint_is_reported_once_and_every_reader_says_degraded(state, cli):
    path = sorted((state / "tasks" / "BAD" / "checkpoints").glob("CKP-0002-*.md"))[0]
    path.write_text("<<<<<<< HEAD\n")
    (state / "local" / "active").unlink()       # the active task is then found by reading checkpoints too
    expected = f".tether/tasks/BAD/checkpoints/{path.name}:1: unresolved git conflict marker"
    for argv in (("task", "list"), ("resume", "BAD"), ("task", "status", "BAD"), ("boot",)):
        run = cli(*argv)
        assert run.code == 3, (argv, run.out, run.err)
        assert [p for p in problems(run) if p.startswith(expected)] != [], (argv, run.out)
        assert len(problems(run)) == len(set(problems(run))), (argv, run.out)   # each problem once
    data = cli("task", "status", "BAD", "--json").json()
    assert data["ok"] is True and [p["path"] for p in data["problems"]] == [f".tether/tasks/BAD/checkpoints/{path.name}"]


def test_only_checkpoint_unreadable_never_says_start_over(state, cli):
    for path in (state / "tasks" / "BAD" / "checkpoints").glob("CKP-*.md"):
        path.write_bytes(path.read_bytes()[:40])
    run = cli("resume", "BAD")  # the journal recorded them: where the task stands is still known
    assert run.code == 3 and run.out.startswith("Resuming Victim task (BAD) from item 3 of 3 (2 done;")
    (state / "tasks" / "BAD" / "checkpoints.jsonl").unlink()
    run = cli("resume", "BAD")
    assert run.code == 3
    first = run.out.splitlines()[0]
    assert not first.startswith("Starting") and "do not start over" in first
    assert len([p for p in problems(run) if "/tasks/BAD/checkpoints/" in p]) == 2
    assert "(BAD) stopped" in cli("boot").out


def test_invalid_utf8(state, cli):
    path = state / "decisions" / "D-bad.md"
    lines = path.read_bytes().split(b"\n")
    index = lines.index(b'decision: "broken"')
    lines[index] = b'decision: "br\xff\xfeken"'
    path.write_bytes(b"\n".join(lines))
    line = index + 1
    expected = f".tether/decisions/D-bad.md:{line}: invalid UTF-8"

    run = cli("boot")
    assert run.code == 3
    assert any(p.startswith(expected) for p in problems(run)), run.out
    listing = cli("decide", "--list", "--json")
    assert listing.code == 3
    assert [(p["path"], p["line"]) for p in listing.json()["problems"]] == [(".tether/decisions/D-bad.md", line)]
    assert_rest_loads(cli)


def test_invalid_utf8_in_a_task(state, cli):
    path = state / "tasks" / "BAD" / "task.md"
    data = path.read_bytes()
    path.write_bytes(data.replace(b"Victim task", b"Victim \xc3\x28task", 1))
    line = data[: data.index(b"Victim task")].count(b"\n") + 1
    run = cli("task", "list", "--all")
    assert run.code == 3
    assert any(p.startswith(f".tether/tasks/BAD/task.md:{line}: invalid UTF-8") for p in problems(run)), run.out
    assert_rest_loads(cli)


# -- append-only logs ------------------------------------------------------------------------

def test_torn_last_line_of_the_event_log(state, cli):
    path = state / "memory" / "events.jsonl"
    good = len(lines_of(path))
    with open(path, "ab") as fh:
        fh.write(b'{"at":"2026-11-21T10:02:00Z","event":"checkpo')     # killed mid-append: no newline
    expected = f".tether/memory/events.jsonl:{good + 1}: a torn last line (a writer stopped mid-append)"

    run = cli("boot")
    assert run.code == 3
    assert any(p.startswith(expected) for p in problems(run)), run.out
    assert_rest_loads(cli)


def test_torn_line_is_numbered_from_the_top_of_a_long_event_log(state, ws, cli, fast_writes):
    for n in range(300):                                       # longer than the tail boot reads
        ws.event("filler", n=n, padding="x" * 200)
    path = state / "memory" / "events.jsonl"
    good = len(lines_of(path))
    with open(path, "ab") as fh:
        fh.write(b'{"at":"2026-11-21T10:02:00Z",')
    run = cli("boot")
    assert run.code == 3
    assert any(p.startswith(f".tether/memory/events.jsonl:{good + 1}: a torn last line") for p in problems(run)), run.out


def test_torn_last_line_of_the_context_log(state, cli):
    path = state / "context.jsonl"
    good = len(lines_of(path))
    with open(path, "ab") as fh:
        fh.write(b'{"at":"2026-11-21T10:03:00Z","id":"N-x","kind":"gotcha","te')
    expected = f".tether/context.jsonl:{good + 1}: a torn last line"

    run = cli("boot")
    assert run.code == 3
    assert any(p.startswith(expected) for p in problems(run)), run.out
    listing = cli("note", "list")
    assert listing.code == 3
    assert any(p.startswith(expected) for p in problems(listing)), listing.out
    assert "healthy gotcha" in listing.out and "healthy dont" in listing.out
    assert_rest_loads(cli)


def test_conflict_markers_in_the_context_log(state, cli):
    path = state / "context.jsonl"
    rows = lines_of(path)
    extra = json.dumps({"at": "2026-11-21T10:05:00Z", "by": None, "id": "N-theirs", "kind": "gotcha",
                        "text": "their gotcha"})
    path.write_text("\n".join(["<<<<<<< HEAD", *rows, "=======", extra, ">>>>>>> theirs"]) + "\n")
    run = cli("boot")
    assert run.code == 3
    found = {p.split(":")[1] for p in problems(run) if p.startswith(".tether/context.jsonl:")}
    assert found == {"1", str(len(rows) + 2), str(len(rows) + 4)}
    assert "- their gotcha" in run.out                           # both sides' entries survive
    assert_rest_loads(cli)


def _bad_line(path: Path, line: bytes = b"garbage\n") -> tuple[int, bytes]:
    """A whole line that is not JSON appended (a hand edit, a tool's stray output): its number, and
    the file's bytes after it."""
    with open(path, "ab") as fh:
        fh.write(line)
    return len(lines_of(path)), path.read_bytes()


@pytest.mark.parametrize("command", [("resume",), ("resume", "BAD"), ("task", "status", "BAD")],
                         ids=["resume", "resume-task", "task-status"])
def test_a_bad_line_in_a_checkpoint_journal_is_named_by_resume_and_status(state, cli, command):
    journal = state / "tasks" / "BAD" / "checkpoints.jsonl"
    number, before = _bad_line(journal)
    expected = f".tether/tasks/BAD/checkpoints.jsonl:{number}: invalid JSON"
    cli("task", "switch", "BAD")

    run = cli(*command)
    assert run.code == 3, run.out
    assert [p for p in problems(run) if p.startswith(expected)], run.out
    assert "`tether verify`" in run.out                          # the hint: where every problem is listed
    assert "from item 3 of 3 (2 done" in run.out                 # the checkpoints themselves still read
    data = cli(*command, "--json").json()
    assert [(p["path"], p["line"]) for p in data["problems"]] == [(".tether/tasks/BAD/checkpoints.jsonl", number)]
    assert journal.read_bytes() == before                        # nothing changed, nothing lost
    verify = cli("verify")
    assert verify.code == 3 and expected in verify.out


def test_a_torn_last_journal_line_is_named_by_resume_with_its_repair(state, cli):
    journal = state / "tasks" / "BAD" / "checkpoints.jsonl"
    with open(journal, "ab") as fh:
        fh.write(b'{"at":"2026-11-21T10:02:00Z","do')               # killed mid-append: no newline
    number = len(lines_of(journal))
    run = cli("resume", "BAD")
    assert run.code == 3
    assert [p for p in problems(run) if p.startswith(f".tether/tasks/BAD/checkpoints.jsonl:{number}: a torn last line")]
    assert "`tether index --repair`" in run.out


def test_a_checkpoint_after_a_bad_journal_line_keeps_it_where_it_is(state, cli):
    journal = state / "tasks" / "BAD" / "checkpoints.jsonl"
    number, before = _bad_line(journal)
    assert cli("checkpoint", "--task", "BAD", "--done", "3", "--state", "third item").code == 0
    assert journal.read_bytes().startswith(before)               # appended after it: the line is the user's to fix
    run = cli("task", "status", "BAD")
    assert run.code == 3 and "all 3 items" in run.out.lower()
    assert [p for p in problems(run) if p.startswith(f".tether/tasks/BAD/checkpoints.jsonl:{number}: invalid JSON")]


def test_a_bad_line_near_the_end_of_the_memory_log_is_named_by_close(state, cli):
    log = state / "memory" / "events.jsonl"
    number, before = _bad_line(log)
    run = cli("close", "--summary", "closed past a bad line")
    assert run.code == 3, run.out + run.err
    assert [p for p in problems(run) if p.startswith(f".tether/memory/events.jsonl:{number}: invalid JSON")], run.out
    assert "`tether verify`" in run.out
    after = log.read_bytes()
    assert after.startswith(before) and b'"summary":"closed past a bad line"' in after[len(before):]  # closed all the same
    data = cli("close", "--summary", "and again", "--json").json()
    assert data["ok"] is True and [(p["path"], p["line"]) for p in data["problems"]] == [
        (".tether/memory/events.jsonl", number)]


def test_a_bad_line_in_the_memory_log_is_named_by_log_session_and_audit(state, cli, monkeypatch):
    monkeypatch.setenv("TETHER_SESSION_ID", "S-one")
    cli("note", "gotcha", "seen in S-one")
    number, _ = _bad_line(state / "memory" / "events.jsonl", b'{"at": 12, "event": "note"}\n')
    run = cli("log", "--session", "S-one")
    assert run.code == 3
    assert [p for p in problems(run) if p.startswith(f".tether/memory/events.jsonl:{number}: field 'at' must be")]
    assert "note" in run.out                                     # the session's good lines still listed
    audit = cli("audit", "--json").json()
    assert [(p["path"], p["line"]) for p in audit["problems"]] == [(".tether/memory/events.jsonl", number)]


def test_a_record_that_is_not_an_object(state, cli):
    path = state / "memory" / "events.jsonl"
    good = len(lines_of(path))
    with open(path, "a") as fh:
        fh.write("[1, 2, 3]\n")
    run = cli("boot")
    assert any(p.startswith(f".tether/memory/events.jsonl:{good + 1}: expected a JSON object") for p in problems(run))


def test_several_problems_are_all_reported_at_once(state, cli):
    (state / "decisions" / "D-bad.md").write_bytes(b"---\nid: \"D-bad\"\n\xff\n---\n")
    with open(state / "context.jsonl", "ab") as fh:
        fh.write(b"{torn")
    ckp = sorted((state / "tasks" / "BAD" / "checkpoints").glob("CKP-0002-*.md"))[0]
    ckp.write_text("---\nid: [\n")
    data = boot_json(cli)
    paths = sorted(p["path"] for p in data["problems"])
    assert paths == [".tether/context.jsonl", ".tether/decisions/D-bad.md",
                     f".tether/tasks/BAD/checkpoints/{ckp.name}"]
    assert all(p["line"] for p in data["problems"])
    assert cli("boot").code == 3
    assert_rest_loads(cli)


def test_a_hand_edited_done_range_far_beyond_the_task(state, cli):
    # The units beyond the task are ignored, never expanded one by one (that would exhaust the memory).
    path = sorted((state / "tasks" / "BAD" / "checkpoints").glob("CKP-0002-*.md"))[0]
    path.write_text(path.read_text().replace('done: "1-2"', 'done: "1-999999999"'))
    run = cli("resume", "BAD", "--json")
    assert run.code == 0, run.out
    assert run.json()["resume"]["done"] == 3 and run.json()["resume"]["next_number"] is None
    assert cli("boot").code == 0
    assert cli("checkpoint", "--done", "1", "--state", "more").code == 0
    assert_rest_loads(cli)


@pytest.mark.parametrize("rel", ["decisions/D-bad.md", "tasks/BAD/checkpoints/CKP-0002-*.md", "tasks/BAD/task.md",
                                 "context.jsonl", "memory/events.jsonl"])
def test_a_directory_where_a_file_should_be(state, cli, rel):
    path = next(state.glob(rel))
    path.unlink()
    path.mkdir()
    (path / "stray").write_text("x")
    shown = ".tether/" + path.relative_to(state).as_posix()

    data = boot_json(cli)
    assert data["degraded"] is True
    assert [p["path"] for p in data["problems"]] == [shown], data["problems"]
    assert "directory where a file should be" in data["problems"][0]["message"]
    listing = cli("task", "list")
    assert listing.code in (0, 3) and "GOOD" in listing.out
    close = cli("close", "--summary", "closed around it")
    if rel == "memory/events.jsonl":                             # close must append there: it says where it cannot
        assert close.code == 1 and "events.jsonl: Is a directory" in close.err
    elif rel.startswith("tasks/BAD/checkpoints/"):              # close reads no checkpoint
        assert close.code == 0, close.err
    else:                                                        # closed, and what it could not read is named
        assert close.code == 3 and shown in close.out, (close.out, close.err)
    assert shown in cli("boot").out                              # still named after the next write
    if rel != "context.jsonl":
        assert_rest_loads(cli)


@pytest.mark.parametrize("damage", [b"", b"---\nid: [\n", b"\xff\xfe"], ids=["empty", "bad-yaml", "utf8"])
def test_a_checkpoint_on_top_of_an_unreadable_newest_one_keeps_its_progress(state, cli, damage):
    # Built on CKP-0001 alone, the new checkpoint would silently drop item 2 (done in CKP-0002):
    # the damaged file's line in the task's journal still holds its progress.
    folder = state / "tasks" / "BAD" / "checkpoints"
    damaged = sorted(folder.glob("CKP-0002-*.md"))[0]
    damaged.write_bytes(damage)
    run = cli("checkpoint", "--task", "BAD", "--done", "3", "--state", "third item", "--json")
    assert run.code == 3, run.out  # saved, and the damaged file is named: never met in silence
    data = run.json()
    assert [p["path"] for p in data["problems"]] == [f".tether/tasks/BAD/checkpoints/{damaged.name}"]
    assert data["checkpoint"]["number"] == 3 and data["checkpoint"]["done"] == "1-3"
    assert data["checkpoint"]["parents"] == [damaged.stem]
    assert damaged.read_bytes() == damage                          # left for a person to look at
    assert cli("resume", "BAD", "--json").json()["resume"]["done"] == 3
    assert_rest_loads(cli)


def test_a_checkpoint_that_reads_the_journal_for_a_damaged_file_names_its_bad_lines(state, cli):
    # The journal is read through for the damaged checkpoint's line: one that does not read is named too.
    damaged = sorted((state / "tasks" / "BAD" / "checkpoints").glob("CKP-0002-*.md"))[0]
    damaged.write_bytes(b"")
    number, _ = _bad_line(state / "tasks" / "BAD" / "checkpoints.jsonl")
    run = cli("checkpoint", "--task", "BAD", "--done", "3", "--state", "third item", "--json")
    assert run.code == 3
    assert [(p["path"], p["line"]) for p in run.json()["problems"]] == [
        (f".tether/tasks/BAD/checkpoints/{damaged.name}", 1), (".tether/tasks/BAD/checkpoints.jsonl", number)]
    assert run.json()["checkpoint"]["done"] == "1-3"


def test_context_document_that_is_not_utf8(state, cli):
    # Its hand-written part is kept byte for byte at each close, so close cannot rewrite it from a guess:
    # boot names the line, and close stops before writing anything rather than half-way.
    path = state / "CONTEXT.md"
    text = path.read_bytes()
    path.write_bytes(text + b"\nNotes saved as Latin-1: caf\xe9\n")
    line = text.count(b"\n") + 2
    expected = f".tether/CONTEXT.md:{line}: invalid UTF-8"
    assert any(p.startswith(expected) for p in problems(cli("boot"))), cli("boot").out
    before = {p: p.read_bytes() for p in state.rglob("*") if p.is_file() and "local" not in p.parts
              and "locks" not in p.parts}
    run = cli("close", "--summary", "done for today")
    assert run.code == 1 and run.err.startswith(f"Error: {expected}") and "Hint:" in run.err
    data = cli("close", "--summary", "done for today", "--json").json()
    assert data["kind"] == "corrupt" and data["error"].startswith(expected)
    after = {p: p.read_bytes() for p in state.rglob("*") if p.is_file() and "local" not in p.parts
             and "locks" not in p.parts}
    assert after == before                                       # nothing half-closed
    assert_rest_loads(cli)


def test_a_context_entry_without_its_fields_is_named_by_line_not_dumped(state, cli):
    path = state / "context.jsonl"
    good = len(lines_of(path))
    with open(path, "a") as fh:
        fh.write(json.dumps({"kind": "gotcha", "text": "x" * 100_000}) + "\n")
    data = boot_json(cli)
    assert [(p["path"], p["line"], p["message"]) for p in data["problems"]] == [
        (".tether/context.jsonl", good + 1, "entry without id, at; line skipped")]
    listing = cli("note", "list")
    assert listing.code == 3 and len(listing.out) < 10_000
    assert_rest_loads(cli)


def test_config_that_is_not_utf8_names_its_line(state, cli):
    path = state / "tether.toml"
    text = path.read_bytes()
    path.write_bytes(text + b"# r\xe9sum\xe9\n")
    line = len(text.splitlines()) + 1
    expected = f".tether/tether.toml:{line}: invalid UTF-8"
    run = cli("boot")
    assert run.code == 1 and run.err.startswith(f"Error: {expected}") and "Hint:" in run.err
    assert cli("config", "--json").json()["error"] == expected


def test_an_active_task_whose_file_does_not_read_stays_the_active_one_in_the_brief(state, cli):
    """Checkpoints still go to it: the brief must not send the session to another task."""
    assert cli("task", "switch", "BAD").code == 0
    path = state / "tasks" / "BAD" / "task.md"
    path.write_bytes(path.read_bytes()[:100])
    brief = cli("boot")
    assert brief.code == 3
    assert "- ACTIVE BAD: its task file cannot be read (see Problems)" in brief.out
    assert not any(line.startswith("- ACTIVE ") and "(BAD)" not in line and "ACTIVE BAD" not in line
                   for line in brief.out.splitlines())
    assert "Repair BAD's task file (named under Problems): until then `tether resume` knows only" in brief.out
    assert cli("boot", "--json").json()["active"] == "BAD"
    assert cli("checkpoint", "--state", "x", "--json").json()["checkpoint"]["task"] == "BAD"  # as the brief says


@pytest.mark.parametrize("damage", ["front matter", "unreadable bytes", "missing"])
def test_a_checkpoint_of_a_task_whose_file_does_not_read_is_saved_and_resume_says_where_it_stands(
        state, cli, damage):
    """A damaged task.md never costs a checkpoint: it is saved in the task's folder, what only the
    task's items could resolve (a name) is kept in its note, and resume says what the checkpoints
    say, with the file and its line; both exit 3 (degraded), --json with the problem."""
    path = state / "tasks" / "BAD" / "task.md"
    text = path.read_text()
    if damage == "front matter":
        path.write_text(text.replace('title: "Victim task"', 'title: "Victim task'))
        where = (".tether/tasks/BAD/task.md", 4)
    elif damage == "unreadable bytes":
        path.write_bytes(b"\xff\xfe" + text.encode())
        where = (".tether/tasks/BAD/task.md", 1)
    else:
        path.unlink()
        where = (".tether/tasks/BAD/task.md", None)
    run = cli("checkpoint", "--done", "3", "--done", "b", "--state", "third item", "--next", "check the output")
    assert run.code == 3, run.err
    assert run.out.startswith("Saved CKP-0003 of BAD (.tether/tasks/BAD/checkpoints/CKP-0003-")
    assert "Note saved: Not counted, as BAD's task file did not read: done 'b'" in run.out
    assert f"  {where[0]}" + (f":{where[1]}" if where[1] else "") in run.out and "Hint: fix each file" in run.out
    saved = cli("checkpoint", "--note", "still here", "--json")
    assert saved.code == 3 and saved.json()["checkpoint"]["done"] == "1-3"
    assert [(p["path"], p["line"]) for p in saved.json()["problems"]] == [where]
    assert len(list((state / "tasks" / "BAD" / "checkpoints").glob("CKP-*.md"))) == 4

    resume = cli("resume")
    assert resume.code == 3
    first = resume.out.splitlines()[0]
    assert first.startswith("Resuming BAD (last checkpoint CKP-0004: still here; state as at CKP-0003: third item;"
                            " done: 1-3); its task file does not read (.tether/tasks/BAD/task.md")
    assert first.endswith("Next: check the output")
    data = cli("resume", "BAD", "--json").json()
    assert data["resume"]["done_ranges"] == "1-3" and data["resume"]["checkpoint"] == "CKP-0004"
    assert (data["resume"]["damaged"]["path"], data["resume"]["damaged"]["line"]) == where
    assert data["active"] == "BAD" and data["problems"][0]["path"] == where[0]
    # Repaired, the task reads again and its items count what the checkpoints marked.
    path.write_text(text)
    repaired = cli("resume")
    assert repaired.code == 0 and repaired.out.startswith("All 3 items of Victim task (BAD) are done")


def test_a_checkpoint_of_an_open_task_whose_whole_folder_is_gone_is_saved_in_its_place(state, cli):
    """The task is open (its open/ marker is here) and chosen, but its folder was deleted or moved:
    the checkpoint is saved in a new folder of its name, never lost, and says what is missing."""
    import shutil

    shutil.rmtree(state / "tasks" / "BAD")
    assert (state / "open" / "BAD").exists()
    run = cli("checkpoint", "--done", "4", "--state", "fourth item", "--next", "restore the task folder", "--json")
    assert run.code == 3, run.err
    assert run.json()["checkpoint"]["task"] == "BAD"
    [problem] = run.json()["problems"]
    assert problem["path"] == ".tether/tasks/BAD/task.md" and "whole folder" in problem["message"]
    assert len(list((state / "tasks" / "BAD" / "checkpoints").glob("CKP-*.md"))) == 1
    resume = cli("resume")
    assert resume.code == 3 and "fourth item" in resume.out and "Next: restore the task folder" in resume.out


def test_a_task_named_that_does_not_exist_is_still_not_found_for_a_checkpoint(state, cli):
    run = cli("checkpoint", "--state", "x", "--task", "NOPE", "--json")
    assert run.code == 1 and run.json()["kind"] == "not_found"
