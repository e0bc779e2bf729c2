"""Nothing lost across branches: real git branches, merged with plain `git merge`.

Records are one file per record with collision-free names, logs are
append-only with `merge=union`, so two branches that each add tasks,
checkpoints, decisions, notes and events merge without conflicts.

What happens when both branches run `tether close` (documented by
test_both_branches_close_on_the_same_day):
- progress/<date>.md merges by union: both sessions' sections are kept.
- LATEST.json, CONTEXT.md and index.json are generated files and conflict.
  `tether boot` names LATEST.json and CONTEXT.md with file and line (exit 3,
  degraded, the rest of the state still shown); `tether index --check` names
  index.json. `tether index` regenerates index.json and `tether close`
  regenerates all three from the merged records, markers gone.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tether import Workspace
from tether.records import checkpoint_number

DAY = "2026-03-02"
GENERATED = {".tether/progress/LATEST.json", ".tether/CONTEXT.md", ".tether/index.json"}
MARKERS = ("<<<<<<< ", ">>>>>>> ", "||||||| ")





def git(root: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)
    if check:
        assert proc.returncode == 0, f"git {' '.join(args)}: {proc.stdout}{proc.stderr}"
    return proc


def tether(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tether", *args], cwd=root, capture_output=True, text=True,
                          timeout=60)


def boot(root: Path, *args: str) -> tuple[int, dict]:
    proc = tether(root, "boot", "--json", *args)
    return proc.returncode, json.loads(proc.stdout)


def marker_lines(path: Path) -> list[int]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [n for n, line in enumerate(lines, 1) if line.startswith(MARKERS) or line == "======="]


def files_with_markers(store_dir: Path) -> list[str]:
    return sorted(p.relative_to(store_dir.parent).as_posix() for p in store_dir.rglob("*")
                  if p.is_file() and "local" not in p.parts and "locks" not in p.parts and marker_lines(p))


def log_lines(root: Path, rev: str, rel: str = ".tether/memory/events.jsonl") -> Counter:
    return Counter(git(root, "show", f"{rev}:{rel}").stdout.splitlines())


@pytest.fixture
def base(tmp_path, monkeypatch) -> Path:
    """main: a workspace with a shared task (10 items, item 1 done), committed."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "README.md").write_text("# Project\n")
    monkeypatch.setenv("TETHER_NOW", f"{DAY}T09:00:00Z")
    ws, _ = Workspace.init(root)
    ws.start_task("shared", items=[f"doc{n}.pdf" for n in range(1, 11)], task_id="SHARED")
    ws.checkpoint("SHARED", done=["1"], state="base")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")
    return root


def work(root: Path, side: str, hour: int, items: tuple[int, int], monkeypatch) -> dict:
    """On the current checkout: a task, checkpoints (shared and own), a decision, a note, an event."""
    def at(minute: int) -> None:
        monkeypatch.setenv("TETHER_NOW", f"{DAY}T{hour:02d}:{minute:02d}:00Z")

    monkeypatch.setenv("TETHER_SESSION_ID", f"S-{side}")
    at(0)
    ws = Workspace.open(root)
    own = ws.start_task(f"{side} task", items=["x", "y", "z"])
    at(1)
    shared = [ws.checkpoint("SHARED", done=[str(items[0])], state=f"{side} on shared").name]
    at(2)
    shared.append(ws.checkpoint("SHARED", done=[str(items[1])], state=f"{side} on shared").name)
    at(3)
    own_ckp = ws.checkpoint(own.id, done=["1"], state=f"{side} on its own task")
    at(4)
    decision = ws.decide(f"{side}: which parser?", f"{side}'s parser", rationale=f"{side} measured it")
    at(5)
    note = ws.note("gotcha", f"{side} found a gotcha")
    at(6)
    ws.event("side_work", side=side)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", f"{side} work")
    return {"task": own.id, "shared": shared, "own": own_ckp.name, "decision": decision.id, "note": note.id,
            "sha": git(root, "rev-parse", "HEAD").stdout.strip()}


def two_branches(root: Path, monkeypatch, close: bool = False) -> tuple[dict, dict]:
    git(root, "checkout", "-q", "-b", "A")
    a = work(root, "A", 10, (2, 3), monkeypatch)
    if close:
        monkeypatch.setenv("TETHER_NOW", f"{DAY}T10:30:00Z")
        proc = tether(root, "close", "--summary", "A summary", "--next", "A next", "--commit")
        assert proc.returncode == 0, proc.stderr
    git(root, "checkout", "-q", "main")
    git(root, "checkout", "-q", "-b", "B")
    b = work(root, "B", 11, (4, 5), monkeypatch)
    if close:
        monkeypatch.setenv("TETHER_NOW", f"{DAY}T11:30:00Z")
        proc = tether(root, "close", "--summary", "B summary", "--next", "B next", "--commit")
        assert proc.returncode == 0, proc.stderr
    git(root, "checkout", "-q", "A")
    monkeypatch.setenv("TETHER_NOW", f"{DAY}T12:00:00Z")
    monkeypatch.delenv("TETHER_SESSION_ID")
    return a, b


def test_two_branches_merge_cleanly_and_keep_everything(base, monkeypatch):
    root = base
    before = log_lines(root, "main")
    a, b = two_branches(root, monkeypatch)
    merge = git(root, "merge", "--no-edit", "B", check=False)
    assert merge.returncode == 0, merge.stdout + merge.stderr
    assert git(root, "diff", "--name-only", "--diff-filter=U").stdout == ""
    assert files_with_markers(root / ".tether") == []

    ws = Workspace.open(root)
    store = ws.store
    assert {"SHARED", a["task"], b["task"]} <= set(store.task_ids())
    assert store.open_task_ids() == sorted(["SHARED", a["task"], b["task"]])
    # Both sides' checkpoints of the shared task: numbers coincide, names differ.
    names = store.checkpoint_names("SHARED")
    assert set(a["shared"] + b["shared"]) <= set(names) and len(names) == 5
    assert sorted(checkpoint_number(n) for n in names) == [1, 2, 2, 3, 3]
    for side in (a, b):
        assert store.checkpoint_names(side["task"]) == [side["own"]]
        for name in side["shared"]:
            assert store.load_checkpoint("SHARED", name).name == name
    assert {a["decision"], b["decision"]} <= {d.id for d in ws.decisions()}
    assert {a["note"], b["note"]} <= {n.id for n in ws.notes()}
    # The event log holds every line of both sides, each once.
    merged = Counter((ws.dir / "memory" / "events.jsonl").read_text().splitlines())
    assert merged == log_lines(root, a["sha"]) + log_lines(root, b["sha"]) - before
    assert len(list(store.all_events())) == sum(merged.values())
    assert store.problems == []

    git(root, "commit", "-q", "--allow-empty", "-m", "after merge")  # boot compares with HEAD
    code, brief = boot(root)
    assert (code, brief["problems"]) == (0, [])
    assert {t["task"] for t in brief["tasks"]} == {"SHARED", a["task"], b["task"]}
    code, at_commit = boot(root, "--sha", "HEAD")
    assert code == 0 and {t["task"] for t in at_commit["tasks"]} == {"SHARED", a["task"], b["task"]}
    # Numbering carries on past both sides' checkpoints.
    assert ws.checkpoint("SHARED", state="after the merge").number == 4


def test_resume_after_a_merge_counts_both_sides_progress(base, monkeypatch):
    root = base
    two_branches(root, monkeypatch)
    git(root, "merge", "--no-edit", "B")
    ws = Workspace.open(root)
    resume = ws.resume("SHARED")
    assert resume.done == {1, 2, 3, 4, 5} and resume.next_number == 6
    # The next checkpoint joins both tips: it names them as parents and keeps both sides' items.
    joined = ws.checkpoint("SHARED", state="after the merge")
    assert len(joined.parents) == 2 and joined.done_set == {1, 2, 3, 4, 5}
    assert ws.resume("SHARED").done == {1, 2, 3, 4, 5}


def test_both_branches_close_on_the_same_day(base, monkeypatch):
    root = base
    a, b = two_branches(root, monkeypatch, close=True)
    merge = git(root, "merge", "--no-edit", "B", check=False)
    conflicted = set(git(root, "diff", "--name-only", "--diff-filter=U").stdout.split())
    # Only generated files conflict; every record and log merged.
    assert merge.returncode == 1 and conflicted and conflicted <= GENERATED, merge.stdout
    assert ".tether/progress/LATEST.json" in conflicted  # both sides added it
    assert set(files_with_markers(root / ".tether")) == conflicted
    progress = (root / ".tether" / "progress" / f"{DAY}.md").read_text()
    assert progress.count(f"# Progress log {DAY}") == 1
    assert progress.index("**Summary:** A summary") < progress.index("**Summary:** B summary")

    # Boot is degraded, names each conflicted file it reads with its line, and still loads the rest.
    code, brief = boot(root)
    assert code == 3
    problems = {p["path"]: p["line"] for p in brief["problems"]}
    for rel in conflicted - {".tether/index.json"}:
        line = marker_lines(root / rel)[0]
        assert problems.get(rel) == line, brief["problems"]
        assert f"{rel}:{line}" in brief["text"]
    assert {t["task"] for t in brief["tasks"]} == {"SHARED", a["task"], b["task"]}
    if ".tether/index.json" in conflicted:
        check = tether(root, "index", "--check")
        assert check.returncode == 3
        assert f".tether/index.json:{marker_lines(root / '.tether/index.json')[0]}" in check.stdout
        assert tether(root, "index").returncode == 0
        assert tether(root, "index", "--check").returncode == 0

    # `tether close` regenerates the generated files from the merged records.
    closed = tether(root, "close", "--summary", "merged A and B", "--next", "review")
    assert closed.returncode == 0, closed.stderr
    assert files_with_markers(root / ".tether") == []
    latest = json.loads((root / ".tether" / "progress" / "LATEST.json").read_text())
    assert latest["summary"] == "merged A and B"
    context = (root / ".tether" / "CONTEXT.md").read_text()
    assert "A: which parser?" in context and "B: which parser?" in context
    assert tether(root, "index", "--check").returncode == 0
    git(root, "add", "-A")
    git(root, "commit", "-q", "--no-edit")
    code, brief = boot(root)
    assert (code, brief["problems"]) == (0, [])
    assert brief["latest"]["summary"] == "merged A and B"
    progress = (root / ".tether" / "progress" / f"{DAY}.md").read_text()
    assert all(s in progress for s in ("A summary", "B summary", "merged A and B"))
