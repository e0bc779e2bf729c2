"""Bad input never crashes and never loses progress.

Input tether did not write itself, or wrote and a person or tool changed: a value nested
thousands of levels deep, a number of thousands of digits, a lone surrogate escape, a field
of the wrong type, a hook event that is not what Claude Code sends, a command-line argument
that is not UTF-8. Each is reported with its path and line (or, for the command line and the
hook, one line saying what is wrong), with the exit codes tether documents (never 70), and
everything else still loads.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from test_malformed import NOW, assert_rest_loads, problems, state  # noqa: F401 - state is a fixture

DEEP = "[" * 5000 + "]" * 5000
HUGE = "9" * 5000


@pytest.fixture
def closed(state, cli):
    """test_malformed's state after a close: LATEST.json and a progress log exist too."""
    assert cli("close", "--summary", "first session", "--next", "carry on").code == 0
    return state


def no_crash(run, *codes):
    assert run.code in codes, (run.code, run.out, run.err)
    assert "Traceback" not in run.err and "internal error" not in run.err + run.out, run.err


def verify_problems(cli) -> list[tuple[str, int | None, str]]:
    run = cli("verify", "--json")
    no_crash(run, 0, 3)
    return [(p["path"], p["line"], p["message"]) for p in run.json()["problems"]]


def hook_context(cli, repo: Path) -> str:
    """Run the SessionStart hook in this process; its injected brief."""
    payload = {"session_id": "sess-1", "cwd": str(repo), "hook_event_name": "SessionStart", "source": "startup"}
    run = cli("hook", "claude-code", input=json.dumps(payload))
    assert run.code == 0, (run.out, run.err)
    return json.loads(run.out)["hookSpecificOutput"]["additionalContext"]


def replace_line(path: Path, prefix: str, new: str) -> int:
    """Replace the line starting with ``prefix``; its 1-based number."""
    lines = path.read_text(encoding="utf-8").split("\n")
    index = next(i for i, line in enumerate(lines) if line.startswith(prefix))
    lines[index] = new
    path.write_text("\n".join(lines), encoding="utf-8")
    return index + 1


def append_line(path: Path, text: str) -> int:
    line = len(path.read_bytes().splitlines()) + 1
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(text + "\n")
    return line


def newest_checkpoint(store: Path) -> Path:
    return sorted((store / "tasks" / "BAD" / "checkpoints").glob("CKP-0002-*.md"))[0]


def make_boot_cache(store: Path, cli) -> None:
    """A boot cache for the warm path: boot keeps none while its files are younger than its racy window."""
    old = os.stat(store).st_mtime - 3600
    for path in [store, *store.rglob("*")]:
        os.utime(path, (old, old))
    assert cli("boot").code == 0
    assert (store / "local" / "boot.cache").is_file()


# -- deep nesting and huge numbers ----------------------------------------------------------------

def damage(store: Path, target: str, value: str) -> tuple[str, int, bool]:
    """Put ``value`` (JSON text) into one file; (shown path, line, whether boot reads that file)."""
    if target == "events":
        path = store / "memory" / "events.jsonl"
        line = append_line(path, f'{{"at":"2026-11-21T10:05:00Z","event":"x","session":"S-1","v":{value}}}')
        return ".tether/memory/events.jsonl", line, True
    if target == "journal":
        path = store / "tasks" / "BAD" / "checkpoints.jsonl"
        line = append_line(path, f'{{"name":"CKP-0009-zzzzzz","task":"BAD","v":{value}}}')
        return ".tether/tasks/BAD/checkpoints.jsonl", line, False
    if target == "context":
        path = store / "context.jsonl"
        line = append_line(path, f'{{"at":"2026-11-21T10:05:00Z","id":"N-x","kind":"gotcha","text":"t","v":{value}}}')
        return ".tether/context.jsonl", line, True
    if target == "checkpoint":
        path = newest_checkpoint(store)
        return f".tether/tasks/BAD/checkpoints/{path.name}", replace_line(path, "note:", f"note: {value}"), True
    if target == "task":
        path = store / "tasks" / "BAD" / "task.md"
        return ".tether/tasks/BAD/task.md", replace_line(path, "definition:", f"definition: {value}"), True
    if target == "decision":
        path = store / "decisions" / "D-bad.md"
        return ".tether/decisions/D-bad.md", replace_line(path, "rationale:", f"rationale: {value}"), True
    for rel, reads in (("progress/LATEST.json", True), ("index.json", False)):
        if target == rel.split("/")[-1]:
            path = store / rel
            text = path.read_text()
            path.write_text(text.replace("{\n", f'{{\n "x": {value},\n', 1))
            return f".tether/{rel}", 2, reads
    raise AssertionError(target)


TARGETS = ["events", "journal", "context", "checkpoint", "task", "decision", "LATEST.json", "index.json"]


@pytest.mark.parametrize("value", [DEEP, HUGE, '"lone \\ud800 surrogate"'], ids=["deep", "huge-int", "surrogate"])
@pytest.mark.parametrize("target", TARGETS)
def test_deep_nesting_huge_numbers_and_lone_surrogates_are_problems_with_their_line(closed, cli, repo, target, value):
    shown, line, boot_reads = damage(closed, target, value)
    found = verify_problems(cli)
    assert [(p, n) for p, n, _ in found] == [(shown, line)], found
    for argv in (("resume", "BAD"), ("task", "list"), ("note", "list"), ("decide", "--list"), ("index", "--check")):
        no_crash(cli(*argv), 0, 1, 3)                          # 1: `resume BAD` of a task it cannot read
    run = cli("boot")
    no_crash(run, 0, 3)
    if boot_reads:
        assert run.code == 3 and any(p.startswith(f"{shown}:{line}: ") for p in problems(run)), run.out
        assert f"{shown}:{line}: " in hook_context(cli, repo)
    else:
        assert "Resuming Victim task (BAD)" in hook_context(cli, repo)
    if target not in ("task", "checkpoint", "decision"):
        assert_rest_loads(cli)


def test_a_deep_value_is_named_for_what_it_is(closed, cli):
    shown, line, _ = damage(closed, "checkpoint", DEEP)
    assert verify_problems(cli) == [(shown, line, "nested deeper than 100 levels")]
    damage(closed, "decision", HUGE)
    messages = [m for _, _, m in verify_problems(cli)]
    assert "a number of more than 4300 digits" in messages


def test_a_lone_surrogate_in_a_context_entry(closed, cli):
    # It once broke `note list` (a traceback), boot (exit 70) and close (exit 70, half its files written).
    path = closed / "context.jsonl"
    line = append_line(path, '{"at":"2026-11-21T10:05:00Z","by":null,"id":"N-bad","kind":"gotcha","text":"bad \\ud800"}')
    expected = f".tether/context.jsonl:{line}: "
    listing = cli("note", "list")
    no_crash(listing, 3)
    assert any(p.startswith(expected) and "surrogate" in p for p in problems(listing)), listing.out
    assert "healthy gotcha" in listing.out
    boot = cli("boot")
    no_crash(boot, 3)
    assert any(p.startswith(expected) for p in problems(boot))
    assert verify_problems(cli)[0][:2] == (".tether/context.jsonl", line)
    before = (closed / "progress" / "LATEST.json").read_text()
    close = cli("close", "--summary", "second session")
    no_crash(close, 3)                                             # closed, and the entry it left out named
    assert any(p.startswith(expected) for p in problems(close)), close.out
    assert (closed / "progress" / "LATEST.json").read_text() != before
    assert "healthy gotcha" in (closed / "CONTEXT.md").read_text()
    assert_rest_loads(cli)


@pytest.mark.parametrize("value, what", [("!!binary aGVsbG8=", "!!binary"), ("!!int xyz", "!!int"),
                                         ("!!timestamp 2026-11-21", "!!timestamp"), (HUGE, "4300 digits"),
                                         ('"caf\\udce9"', "Unicode"), ("&a [*a]", "refers to itself")])
def test_front_matter_written_by_hand_in_yaml_is_checked_the_same_way(closed, cli, value, what):
    path = closed / "decisions" / "D-bad.md"
    line = replace_line(path, "rationale:", f"rationale: {value}")
    replace_line(path, "who:", "who: ~")                        # YAML, not JSON: read by the YAML parser
    found = verify_problems(cli)
    assert [(p, n) for p, n, _ in found] == [(".tether/decisions/D-bad.md", line)], found
    assert what in found[0][2]
    no_crash(cli("boot"), 3)
    no_crash(cli("decide", "--list"), 3)


# -- wrong types ----------------------------------------------------------------------------------

def test_a_done_that_is_a_number_loses_nothing(closed, cli):
    path = newest_checkpoint(closed)
    line = replace_line(path, "done:", "done: 12")              # hand-edited: meant "1-2"
    shown = f".tether/tasks/BAD/checkpoints/{path.name}"
    found = verify_problems(cli)
    assert [(p, n) for p, n, _ in found] == [(shown, line)]
    assert "'done'" in found[0][2] and "string" in found[0][2]
    resume = cli("resume", "BAD", "--json")
    no_crash(resume, 3)
    data = resume.json()
    assert data["resume"]["done"] == 2                          # as the task's journal recorded it, not 0
    assert [(p["path"], p["line"]) for p in data["problems"]] == [(shown, line)]
    saved = cli("checkpoint", "--task", "BAD", "--done", "3", "--state", "third item", "--json")
    no_crash(saved, 3)                                          # saved, the damaged file named
    assert saved.json()["checkpoint"]["done"] == "1-3"          # items 1-2 come from the damaged one's journal line
    assert cli("resume", "BAD", "--json").json()["resume"]["done"] == 3



def test_a_directory_in_place_of_the_newest_checkpoint_loses_nothing_when_read_twice(closed, repo):
    """The PreCompact hook reads the newest checkpoint, then checkpoints: the problem the first
    read reported must still send the second to the journal line, not to an older checkpoint."""
    import shutil
    from tether import Workspace
    path = newest_checkpoint(closed)
    path.unlink()
    path.mkdir()                                                # a directory where the file was
    ws = Workspace.open(repo)
    assert ws.latest_checkpoint("BAD").done == "1-2"            # as the journal recorded it, the directory reported
    saved = ws.checkpoint(task_id="BAD", done=["3"], state="third item")
    assert saved.done == "1-3"                                  # item 2 comes from the journal line
    shutil.rmtree(path)

WRONG_TYPES = [
    ("checkpoint", "current_state:", 'current_state: {"where": "doc 2"}'),
    ("checkpoint", "number:", "number: true"),
    ("checkpoint", "created:", "created: 20261121"),
    ("checkpoint", "key_data:", 'key_data: {"count": 5}'),
    ("checkpoint", "files:", "files: [1, 2]"),
    ("checkpoint", "status:", 'status: ["in_progress"]'),
    ("checkpoint", "device:", "device: 7"),
    ("task", "created:", "created: true"),
    ("task", "units:", 'units: ["a", {"b": 1}, "c"]'),
    ("task", "closed:", "closed: 5"),
    ("task", "title:", "title: 42"),
    ("decision", "when:", "when: 20261121"),
    ("decision", "who:", 'who: ["a", "b"]'),
    ("decision", "decision:", "decision: false"),
    # null where tether never writes null: read as left out, it would become the next write's default
    ("task", "kind:", "kind: null"),
    ("task", "criteria:", "criteria: null"),
    ("task", "definition:", "definition: null"),
    ("task", "status:", "status: null"),
    ("checkpoint", "note:", "note: null"),
    ("checkpoint", "done:", "done: null"),
    ("checkpoint", "status:", "status: null"),
    ("checkpoint", "results:", "results: null"),
    ("decision", "rationale:", "rationale: null"),
]


@pytest.mark.parametrize("kind, prefix, new", WRONG_TYPES, ids=[f"{k}-{p[:-1]}" for k, p, _ in WRONG_TYPES])
def test_a_field_of_the_wrong_type_is_a_problem_at_its_line(closed, cli, kind, prefix, new):
    path = {"checkpoint": newest_checkpoint(closed), "task": closed / "tasks" / "BAD" / "task.md",
            "decision": closed / "decisions" / "D-bad.md"}[kind]
    line = replace_line(path, prefix, new)
    shown = ".tether/" + path.relative_to(closed).as_posix()
    found = verify_problems(cli)
    assert [(p, n) for p, n, _ in found] == [(shown, line)], found
    assert f"'{prefix[:-1]}'" in found[0][2]
    boot = cli("boot")
    no_crash(boot, 3)
    assert any(p.startswith(f"{shown}:{line}: ") for p in problems(boot)), boot.out
    assert "{'where'" not in boot.out                           # never a Python repr
    if kind == "checkpoint":  # its progress as the task's journal recorded it
        assert cli("resume", "BAD", "--json").json()["resume"]["done"] == 2


@pytest.mark.parametrize("field", ["done", "status", "results", "note", "key_data"])
def test_null_in_a_checkpoint_journal_line_is_a_problem_at_its_line(closed, cli, field):
    journal = closed / "tasks" / "BAD" / "checkpoints.jsonl"
    rows = journal.read_text(encoding="utf-8").splitlines()
    row = json.loads(rows[-1])
    assert field in row
    row[field] = None
    rows[-1] = json.dumps(row)
    journal.write_text("\n".join(rows) + "\n", encoding="utf-8")
    found = verify_problems(cli)
    assert [(p, n) for p, n, _ in found] == [(".tether/tasks/BAD/checkpoints.jsonl", len(rows))], found
    assert f"field '{field}' must be" in found[0][2] and "got null" in found[0][2]


LOG_ROWS = [
    ("context.jsonl", '{"at":"2026-11-21T10:05:00Z","by":null,"id":"N-x","kind":"gotcha","text":{"a":1}}', "text"),
    ("context.jsonl", '{"at":5,"by":null,"id":"N-x","kind":"gotcha","text":"t"}', "at"),
    ("context.jsonl", '{"at":"2026-11-21T10:05:00Z","by":[1],"id":"N-x","kind":"gotcha","text":"t"}', "by"),
    ("context.jsonl", '{"at":"2026-11-21T10:05:00Z","resolve":{"id":1}}', "resolve"),
    ("memory/events.jsonl", '{"at":20261121,"event":"x","session":"S-1"}', "at"),
    ("memory/events.jsonl", '{"at":"2026-11-21T10:05:00Z","event":["x"],"session":"S-1"}', "event"),
]


@pytest.mark.parametrize("row", [f'{{"at":"2026-11-21T10:05:00Z","event":"x","v":{DEEP}}}',
                                 f'{{"at":"2026-11-21T10:05:00Z","event":"x","v":{HUGE}}}',
                                 '{"at":"2026-11-21T10:05:00Z","event":"x \\udfff"}',
                                 '{"at":20261121,"event":"x"}'], ids=["deep", "huge-int", "surrogate", "at-number"])
def test_the_warm_boot_names_a_bad_line_at_the_end_of_the_log_as_a_cold_boot_does(closed, cli, row):
    make_boot_cache(closed, cli)
    line = append_line(closed / "memory" / "events.jsonl", row)
    run = cli("boot")
    no_crash(run, 3)
    assert any(p.startswith(f".tether/memory/events.jsonl:{line}: ") for p in problems(run)), run.out


@pytest.mark.parametrize("rel, row, field", LOG_ROWS, ids=[f"{r.split('/')[-1]}-{f}" for r, _, f in LOG_ROWS])
def test_a_log_row_with_a_field_of_the_wrong_type_is_skipped_and_named(closed, cli, rel, row, field):
    line = append_line(closed / rel, row)
    found = verify_problems(cli)
    assert [(p, n) for p, n, _ in found] == [(f".tether/{rel}", line)], found
    assert f"'{field}'" in found[0][2] and "line skipped" in found[0][2]
    boot = cli("boot")
    no_crash(boot, 3)
    assert any(p.startswith(f".tether/{rel}:{line}: ") for p in problems(boot)), boot.out
    assert "{'a': 1}" not in cli("note", "list").out
    assert_rest_loads(cli)


@pytest.mark.parametrize("change", ["drop session", "drop next_steps", "summary number", "next_steps string",
                                    "generated_at number", "completed mapping"])
def test_latest_json_with_a_missing_or_mistyped_field(closed, cli, change):
    path = closed / "progress" / "LATEST.json"
    latest = json.loads(path.read_text())
    verb, field = change.split(" ", 1)[0], change.split(" ")[1]
    if verb == "drop":
        del latest[field]
    else:
        latest[verb] = {"number": 7, "string": "x", "mapping": {"a": 1}}[field]
    path.write_text(json.dumps(latest, indent=2, sort_keys=True) + "\n")
    found = verify_problems(cli)
    assert [p for p, _, _ in found] == [".tether/progress/LATEST.json"], found
    assert f"'{verb if verb != 'drop' else field}'" in found[0][2]
    boot = cli("boot")
    no_crash(boot, 3)
    assert any(p.startswith(".tether/progress/LATEST.json") for p in problems(boot))
    assert "first session" in boot.out                          # from the dated log instead


# -- tether.toml ------------------------------------------------------------------------------------

def test_a_config_schema_newer_than_this_tether_is_refused(closed, cli):
    path = closed / "tether.toml"
    line = replace_line(path, "schema", "schema = 99")
    for argv in (("boot",), ("config",), ("verify",), ("close", "--summary", "x")):
        run = cli(*argv)
        no_crash(run, 1)
        assert run.err.startswith(f"Error: .tether/tether.toml:{line}: schema 99") and "upgrade tether" in run.err
    data = cli("boot", "--json").json()
    assert data["ok"] is False and data["kind"] == "invalid_input" and "upgrade tether" in data["hint"]


@pytest.mark.parametrize("text, line", [
    ("schema = true\n[boot]\nbudget = 2000\n", 1),
    ('schema = "1"\n', 1),
    ("schema = 0\n", 1),
    (f"schema = {HUGE}\n", 1),
    ("schema = 1\nboot = 5\n", 2),
    ("schema = 1\ncontext = [1]\n", 2),
    ("schema = 1\n[boot]\nbudget = 2000\n[extra]\nx = " + "[" * 5000 + "]" * 5000 + "\n", 5),
    (f"schema = 1\n[boot]\nbudget = {HUGE}\n", 3),
    ('schema = 1\n[boot]\nbudget = "lots"\n', 3),
    ("schema = 1\n[boot]\nbudget = 2000\nreading_order = [1, 2]\n", 4),
    ("schema = 1\n[context]\ndocument = 7\n", 3),
], ids=["schema-bool", "schema-string", "schema-0", "schema-huge", "boot-not-a-table", "context-not-a-table",
        "deep", "budget-huge", "budget-string", "reading-order-numbers", "document-number"])
def test_a_config_of_the_wrong_shape_is_a_user_error_with_its_line(closed, cli, text, line):
    (closed / "tether.toml").write_text(text)
    run = cli("boot")
    no_crash(run, 1)
    assert run.err.startswith(f"Error: .tether/tether.toml:{line}: ") and "Hint:" in run.err, run.err
    assert len(run.err.splitlines()) == 2


def test_unknown_config_keys_are_reported_not_ignored(closed, cli):
    path = closed / "tether.toml"
    line = replace_line(path, "budget", "budjet = 500")         # a typo that silently kept the default
    path.write_text(path.read_text() + "\n[bot]\nbudget = 100\n")
    top = path.read_text().split("\n").index("[bot]") + 1
    expected = [(".tether/tether.toml", line, "unknown key boot.budjet; tether ignores it"),
                (".tether/tether.toml", top, "unknown table [bot]; tether ignores it")]
    assert verify_problems(cli) == expected
    boot = cli("boot")
    no_crash(boot, 3)
    assert f".tether/tether.toml:{line}: unknown key boot.budjet; tether ignores it" in problems(boot)
    assert cli("boot").code == 3                                # from the config cache too
    assert "unknown key boot.budjet" in cli("config").out


# -- the Claude Code hook ---------------------------------------------------------------------------

def run_hook_bytes(data: bytes, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tether", "hook", "claude-code"], input=data, capture_output=True,
                          cwd=cwd, timeout=60)


def start_event(repo: Path, **fields) -> dict:
    return {"session_id": "sess-1", "transcript_path": "/tmp/t.jsonl", "cwd": str(repo),
            "hook_event_name": "SessionStart", "source": "startup", **fields}


def store_bytes(store: Path) -> dict:
    return {p: p.read_bytes() for p in store.rglob("*") if p.is_file() and "local" not in p.parts
            and "locks" not in p.parts}


BAD_HOOK_INPUTS = {
    "cwd-number": lambda repo: json.dumps(start_event(repo, cwd=5)).encode(),
    "cwd-nul": lambda repo: json.dumps(start_event(repo, cwd=str(repo) + "\0x")).encode(),
    "cwd-list": lambda repo: json.dumps(start_event(repo, cwd=[str(repo)])).encode(),
    "invalid-utf8": lambda repo: json.dumps(start_event(repo, source="startup\udcff"),
                                            ensure_ascii=False).encode("utf-8", "surrogateescape"),
    "huge-int": lambda repo: json.dumps(start_event(repo)).replace('"startup"', HUGE).encode(),
    "deep": lambda repo: json.dumps(start_event(repo)).replace('"startup"', DEEP).encode(),
    "session-mapping": lambda repo: json.dumps(start_event(repo, session_id={"a": 1})).encode(),
    "surrogate": lambda repo: json.dumps(start_event(repo)).replace('"startup"', '"\\udc00"').encode(),
    "precompact-trigger-list": lambda repo: json.dumps({**start_event(repo), "hook_event_name": "PreCompact",
                                                         "trigger": ["auto"]}).encode(),
}


@pytest.mark.parametrize("name", list(BAD_HOOK_INPUTS))
def test_a_malformed_hook_event_exits_1_with_one_line(closed, repo, name):
    before = store_bytes(closed)
    proc = run_hook_bytes(BAD_HOOK_INPUTS[name](repo), repo)
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout == b""
    err = proc.stderr.decode("utf-8")
    assert len(err.splitlines()) == 1 and err.startswith("tether: ") and "Traceback" not in err, err
    assert store_bytes(closed) == before


def fuzzed_inputs(repo: Path, count: int, seed: int = 7) -> list[bytes]:
    rng = random.Random(seed)
    base = {**start_event(repo), "transcript_path": str(repo / "t.jsonl")}
    values = [5, -1, 2.5, None, True, [], {}, "x\0y", "", "\udcff", {"cwd": str(repo)}, [str(repo)]]
    out = []
    for _ in range(count):
        event = dict(base)
        choice = rng.randrange(6)
        if choice == 0:
            event[rng.choice(list(event))] = rng.choice(values)
            text = json.dumps(event, ensure_ascii=rng.random() < 0.5)
            data = text.encode("utf-8", "surrogateescape" if "\udcff" in text else "strict")
        elif choice == 1:
            field = rng.choice(list(event))
            text = json.dumps({**event, field: "@"}).replace('"@"', rng.choice([HUGE, DEEP, '"\\ud800"', "1e999",
                                                                                 "-" + HUGE, "[" * 90 + "]" * 90]))
            data = text.encode()
        elif choice == 2:
            data = bytearray(json.dumps(event).encode())
            for _ in range(rng.randint(1, 4)):
                data[rng.randrange(len(data))] = rng.randrange(256)
            data = bytes(data)
        elif choice == 3:
            text = json.dumps(event).encode()
            data = text[: rng.randrange(len(text))]
        elif choice == 4:
            event["hook_event_name"] = rng.choice(["PreCompact", "SessionEnd", "SessionStart", 7, None])
            event[rng.choice(["trigger", "reason", "source", "custom_instructions", "session_id"])] = rng.choice(values)
            text = json.dumps(event)
            data = text.encode("utf-8", "surrogateescape")
        else:
            data = rng.choice([b"\xff\xfe", b"\x00", b"null", b"[]", b"{}", b'"x"', b"1" * 5000, b"{" * 5000])
        out.append(data)
    return out


def test_fuzzed_hook_inputs_never_crash(closed, repo, cli):
    for data in fuzzed_inputs(repo, 200):
        run = cli("hook", "claude-code", input=data)
        assert run.code in (0, 1), (data[:200], run.code, run.err)
        assert len(run.err.splitlines()) <= 1 and "Traceback" not in run.err, (data[:200], run.err)
        if run.code == 1:
            assert run.out == "" and run.err.startswith("tether: "), (data[:200], run.err)
    assert_rest_loads(cli)


@pytest.mark.parametrize("warm", [True, False], ids=["warm", "cold"])
def test_session_start_on_a_store_it_cannot_write_still_injects_the_brief(closed, repo, cli, monkeypatch, warm):
    import errno

    import tether.store.appendlog

    make_boot_cache(closed, cli)
    if warm:
        monkeypatch.setattr("tether.core.boot.boot", lambda *a, **k: pytest.fail("the warm path read the files"))
    else:
        (closed / "local" / "boot.cache").unlink()

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system", str(closed / "memory" / "events.jsonl"))

    monkeypatch.setattr(tether.store.appendlog, "append_text", read_only)
    payload = json.dumps(start_event(repo))
    run = cli("hook", "claude-code", input=payload)
    assert run.code == 0, run.err
    context = json.loads(run.out)["hookSpecificOutput"]["additionalContext"]
    assert "Resuming Victim task (BAD) from item 3 of 3" in context
    assert len(run.err.splitlines()) == 1 and "could not record" in run.err and "Read-only" in run.err


def _read_only_mount_works(tmp: Path) -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = tmp / "probe"
    probe.mkdir()
    proc = subprocess.run(["unshare", "-rm", "sh", "-c", f"mount --bind -o ro {probe} {probe} && ! touch {probe}/x"],
                          capture_output=True)
    return proc.returncode == 0


def test_session_start_on_a_read_only_mount_still_injects_the_brief(closed, repo, tmp_path, cli):
    # The real thing: .tether/ bind-mounted read-only in a private mount namespace (root ignores chmod).
    if not _read_only_mount_works(tmp_path):
        pytest.skip("no unshare or no read-only bind mount here")
    hook = f"{sys.executable} -m tether hook claude-code"
    make_boot_cache(closed, cli)
    for cached in (True, False):
        if not cached:
            (closed / "local" / "boot.cache").unlink(missing_ok=True)
        proc = subprocess.run(["unshare", "-rm", "sh", "-c", f"mount --bind -o ro {closed} {closed} && exec {hook}"],
                              input=json.dumps(start_event(repo)).encode(), capture_output=True, cwd=repo,
                              timeout=60, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
        err = proc.stderr.decode()
        assert proc.returncode == 0, err
        context = json.loads(proc.stdout)["hookSpecificOutput"]["additionalContext"]
        assert "Resuming Victim task (BAD) from item 3 of 3" in context
        assert len(err.splitlines()) == 1 and "could not record" in err, err


# -- session contexts ------------------------------------------------------------------------------

@pytest.fixture
def context(ws, cli, repo):
    run = cli("ctx", "init", "--campaign", "C1", "--owner", "@p", "--boundary", "Only channels: X")
    assert run.code == 0, run.err
    return repo / ".tether" / "contexts" / "C1" / "session_context.yaml"


CONTEXT_DAMAGE = {  # name: (text replaced, its replacement, what marks the bad line, what the problem says)
    "campaign-not-a-mapping": ("  campaign:\n", "  campaign: x\n  old_campaign:\n", "campaign: x", "campaign"),
    "status-list": ("status: kickoff", "status: [a, b]", "status:", "campaign.status"),
    "status-binary": ("status: kickoff", "status: !!binary aGVsbG8=", "status:", "!!binary"),
    "huge-int": ("revision: 0", f"revision: {HUGE}", "revision:", "4300 digits"),
    "knowledge-binary": ("  knowledge: {}\n", "  knowledge:\n    blob: !!binary aGVsbG8=\n", "blob:", "!!binary"),
    "knowledge-timestamp": ("  knowledge: {}\n", "  knowledge:\n    when: !!timestamp 2026-01-01\n", "when:",
                            "!!timestamp"),
    "alias-loop": ("  knowledge: {}\n", "  knowledge: &k\n    self: *k\n", "self:", "refers to itself"),
    "deep": ("  knowledge: {}\n", "  knowledge:\n    deep: " + "[" * 150 + "]" * 150 + "\n", "deep:", "nested deeper"),
    "bad-int-tag": ("revision: 0", "revision: !!int xyz", "revision:", "!!int"),
    "bad-bool-tag": ("  knowledge: {}\n", "  knowledge:\n    ok: !!bool maybe\n", "ok:", "!!bool"),
}


@pytest.mark.parametrize("name", list(CONTEXT_DAMAGE))
def test_a_damaged_session_context_is_a_problem_never_a_crash(context, cli, name):
    old, new, marker, what = CONTEXT_DAMAGE[name]
    text = context.read_text()
    assert old in text, text
    context.write_text(text.replace(old, new, 1))
    line = next(n for n, ln in enumerate(context.read_text().split("\n"), 1) if marker in ln)
    shown = ".tether/contexts/C1/session_context.yaml"
    validate = cli("ctx", "validate")
    no_crash(validate, 3)
    data = cli("ctx", "validate", "--json").json()
    assert data["valid"] is False and data["problems"][0]["path"] == shown, data
    assert data["problems"][0]["line"] == line and what in data["problems"][0]["message"], data
    for argv in (("ctx", "show"), ("ctx", "show", "--json"), ("ctx", "for", "content-worker"),
                 ("ctx", "check-budget"), ("ctx", "stage", "in_progress")):
        run = cli(*argv)
        no_crash(run, 1)
        said = "Error: " + run.json()["error"] + " Hint:" if "--json" in argv else run.err
        assert said.startswith(f"Error: {shown}:{line}: ") and "Hint:" in said, (argv, said)
    listing = cli("ctx", "list", "--json")
    no_crash(listing, 3)  # degraded, as every listing with a damaged file exits
    assert "rev ?" in cli("ctx", "list").out
    row = listing.json()["contexts"][0]
    assert row["status"] == "unreadable" and row["problem"].startswith(f"{shown}:{line}: "), row


def test_a_directory_in_place_of_a_session_context_is_named(context, cli):
    context.unlink()
    context.mkdir()
    shown = ".tether/contexts/C1/session_context.yaml"
    for argv in (("ctx", "validate"), ("ctx", "validate", "--campaign", "C1")):
        run = cli(*argv, "--json")
        no_crash(run, 3)
        assert run.json()["problems"] == [{"path": shown, "line": None,
                                           "message": "a directory where the session context should be"}]
    for argv in (("ctx", "show", "--campaign", "C1"), ("ctx", "for", "content-worker", "--campaign", "C1")):
        run = cli(*argv)
        no_crash(run, 1)
        assert run.err.startswith(f"Error: {shown}: a directory") and "Hint:" in run.err, run.err
    row = cli("ctx", "list", "--json").json()["contexts"][0]
    assert row["status"] == "unreadable" and row["path"] == shown, row


def test_unknown_top_level_keys_of_a_session_context_are_named_and_kept(context, cli):
    text = context.read_text().replace("  knowledge: {}\n", "  knowlege:\n    typo: 1\n  knowledge: {}\n", 1)
    context.write_text(text + "notes_for_humans: keep me\n")
    lines = context.read_text().split("\n")
    inner, top = lines.index("  knowlege:") + 1, lines.index("notes_for_humans: keep me") + 1
    # Allowed, as unknown fields are everywhere but scope and budget (forward compatible), and named.
    data = cli("ctx", "validate", "--json").json()
    assert data["valid"] is True and data["problems"] == []
    found = sorted((p["line"], p["message"].split(";")[0]) for p in data["warnings"])
    assert found == [(inner, "knowlege: unknown section"), (top, "notes_for_humans: unknown key beside session_context")]
    run = cli("ctx", "validate")
    assert run.code == 0 and f"warning: .tether/contexts/C1/session_context.yaml:{inner}: knowlege: unknown" in run.out
    assert cli("ctx", "stage", "in_progress").code == 0         # a change keeps what tether does not know
    after = context.read_text()
    assert "notes_for_humans: keep me" in after and "knowlege:" in after


@pytest.mark.parametrize("value, what", [(HUGE, "4300 digits"), ("[" * 5000 + "]" * 5000, "nest"),
                                         ("!!binary aGVsbG8=", "!!binary"), ('"\\ud800"', "")])
def test_a_skill_result_that_cannot_be_read_is_refused_with_its_line(context, cli, tmp_path, value, what):
    result = tmp_path / "result.yaml"
    result.write_text(f"skill: content-worker\nknowledge:\n  tvl: {value}\ncompute: {{tokens_used: 5}}\n")
    before = context.read_bytes()
    run = cli("ctx", "apply", str(result))
    no_crash(run, 1)
    assert run.err.startswith(f"Error: {result}:3: ") and what in run.err.splitlines()[0], run.err
    assert context.read_bytes() == before


# -- the command line --------------------------------------------------------------------------------

BAD_ARGV = [
    ("note", "gotcha", "bad \udcff"),
    ("checkpoint", "--task", "BAD", "--done", "3", "--state", "caf\udce9"),
    ("decide", "Which \udcff?", "--decision", "this"),
    ("task", "start", "Title \udcff\udcfe", "--id", "NEW"),
    ("close", "--summary", "done \udcff"),
    ("note", "gotcha", "--json", "bad \udcff"),
]


@pytest.mark.parametrize("argv", BAD_ARGV, ids=[" ".join(a[:2]) for a in BAD_ARGV])
def test_an_argument_that_is_not_utf8_is_a_user_error(closed, cli, argv):
    before = store_bytes(closed)
    run = cli(*argv)
    no_crash(run, 1)
    bad = next(a for a in argv if not a.isascii())
    if "--json" in argv:
        data = run.json()
        assert data["kind"] == "invalid_input" and "not valid UTF-8" in data["error"]
    else:
        assert run.err.startswith("Error: ") and "not valid UTF-8" in run.err and "Hint:" in run.err, run.err
        assert repr(bad.encode("utf-8", "surrogateescape"))[2:-1] in run.err    # which argument, as bytes
    assert store_bytes(closed) == before


def test_an_argument_that_is_not_utf8_from_a_real_shell(closed, repo):
    proc = subprocess.run([sys.executable.encode(), b"-m", b"tether", b"note", b"gotcha", b"bad \xff"],
                          capture_output=True, cwd=repo, timeout=60)
    assert proc.returncode == 1 and b"not valid UTF-8" in proc.stderr and b"Traceback" not in proc.stderr


@pytest.mark.parametrize("inner", ["5", '"tether hook claude-code"', '{"command": "x"}', "null"])
def test_install_into_a_hook_group_whose_hooks_are_not_a_list_is_refused_with_the_json_path(ws, repo, cli, inner):
    settings = repo / ".claude" / "settings.json"
    settings.parent.mkdir()
    text = ('{"hooks": {"SessionStart": [{"matcher": "startup", "hooks": []}],\n'
            f' "PreCompact": [{{"matcher": "auto", "hooks": {inner}}}]}}}}\n')
    settings.write_text(text)
    run = cli("install", "claude-code")
    no_crash(run, 1)
    assert str(settings) in run.err and "hooks.PreCompact[0].hooks must be a list" in run.err, run.err
    assert settings.read_text() == text                                    # nothing changed
    assert cli("install", "claude-code", "--json").json()["kind"] == "invalid_input"


def test_an_open_marker_of_a_complete_task_is_named_by_verify_and_repaired(closed, cli):
    assert cli("task", "complete", "GOOD").code == 0
    (closed / "open" / "GOOD").write_bytes(b"")                 # a merge brought the marker back
    assert (".tether/open/GOOD", None) in [(p, line) for p, line, m in verify_problems(cli)
                                           if "task that is complete" in m]
    assert cli("index", "--repair").code == 0
    assert not (closed / "open" / "GOOD").exists()
    assert verify_problems(cli) == []


def test_a_directory_in_place_of_an_open_marker_is_named_by_verify(closed, cli):
    marker = closed / "open" / "BAD"
    marker.unlink()
    marker.mkdir()
    found = [m for p, line, m in verify_problems(cli) if p == ".tether/open/BAD"]
    assert len(found) == 1 and "a directory where the open marker" in found[0], found
    assert_rest_loads(cli)


@pytest.mark.parametrize("argv", [("boot",), ("verify",), ("config",), ("checkpoint", "--done", "3")])
def test_a_directory_in_place_of_tether_toml_is_an_error_that_names_it(closed, cli, argv):
    (closed / "tether.toml").unlink()
    (closed / "tether.toml").mkdir()
    run = cli(*argv)
    no_crash(run, 1)
    assert run.err.startswith("Error: ") and ".tether/tether.toml: Is a directory" in run.err, run.err
    data = cli(*argv, "--json").json()
    assert data["error"].endswith("tether.toml: Is a directory")


def _conflicted(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    at = text.index("current_state:")
    path.write_text(text[:at] + "<<<<<<< HEAD\n" + text[at:] + "=======\n>>>>>>> theirs\n", encoding="utf-8")


def _crlf(path: Path) -> None:
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))


def _directory(path: Path) -> None:
    path.unlink()
    path.mkdir()


NEWEST_DAMAGE = {
    "conflict": _conflicted,
    "crlf": _crlf,
    "session as a number": lambda path: replace_line(path, "session:", "session: -3"),
    "next action as a number": lambda path: replace_line(path, "next:", "next: [0]"),
    "directory": _directory,
}


@pytest.mark.parametrize("name", list(NEWEST_DAMAGE))
def test_the_precompact_checkpoint_keeps_the_progress_of_an_unreadable_newest_checkpoint(closed, repo, cli, name):
    """The PreCompact hook first reads the newest checkpoint (to list what was recorded since), then
    checkpoints: built on the one before the damaged one, it would drop item 2 for good."""
    NEWEST_DAMAGE[name](newest_checkpoint(closed))
    assert cli("note", "gotcha", "recorded since").code == 0
    event = {"session_id": "sess-1", "cwd": str(repo), "hook_event_name": "PreCompact", "trigger": "auto"}
    no_crash(cli("hook", "claude-code", input=json.dumps(event)), 0)
    new = sorted((closed / "tasks" / "BAD" / "checkpoints").glob("CKP-0003-*.md"))
    assert len(new) == 1                                        # the automatic checkpoint was made
    assert 'done: "1-2"' in new[0].read_text(encoding="utf-8")  # item 2 from the damaged one's journal line
    assert cli("resume", "BAD", "--json").json()["resume"]["done"] == 2


def test_a_context_entry_of_an_unknown_kind_is_named_not_dropped_silently(closed, cli):
    notes = closed / "context.jsonl"
    line = append_line(notes, '{"at":"2026-11-21T10:05:00Z","by":null,"id":"N-odd","kind":"bogus","text":"odd entry"}')
    assert [(p, n) for p, n, m in verify_problems(cli) if "'bogus' is none of" in m] == [(".tether/context.jsonl", line)]
    boot = cli("boot")
    no_crash(boot, 3)
    assert any(p.startswith(f".tether/context.jsonl:{line}: kind 'bogus'") for p in problems(boot)), boot.out
    assert "odd entry" in cli("note", "list", "--all").out      # kept: listed, and can be resolved


@pytest.mark.parametrize("prefix, new", [("task:", 'task: "GOOD"'), ("name:", 'name: "CKP-0002-zzzzzz"'),
                                         ("number:", "number: 7")])
def test_a_checkpoint_that_says_it_belongs_elsewhere_is_a_problem_at_its_line(closed, cli, prefix, new):
    path = newest_checkpoint(closed)
    line = replace_line(path, prefix, new)
    shown = f".tether/tasks/BAD/checkpoints/{path.name}"
    found = verify_problems(cli)
    assert [(p, n) for p, n, _ in found] == [(shown, line)], found
    assert f"field '{prefix[:-1]}' says" in found[0][2] and path.name in found[0][2]
    assert cli("resume", "BAD", "--json").json()["resume"]["done"] == 2     # as the journal recorded it, named
    saved = cli("checkpoint", "--task", "BAD", "--done", "3", "--state", "third item", "--json")
    no_crash(saved, 3)                                          # saved, the damaged file named
    assert saved.json()["checkpoint"]["done"] == "1-3"          # item 2 from the journal line
