"""Nothing lost across branches: real git branches, merged with plain `git merge`.

Records are one file per record with collision-free names, logs are
append-only with `merge=union`, so two branches that each add tasks,
checkpoints, decisions, notes and events merge without conflicts.

When both branches run `tether close`, they both rewrite the generated files
LATEST.json, CONTEXT.md and index.json. `.tether/.gitattributes` sends those
to tether's merge driver (`merge=tether`, registered in the clone's git config
by `tether init`): the newer close's LATEST.json, both sides' hand-written
text in CONTEXT.md, and a manifest that matches the merged files, with no
conflict. Without the driver, git's text merge leaves conflict markers;
`tether boot` names them and `tether index --repair` resolves them.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tether import Workspace
from tether.model.records import checkpoint_number

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


def two_branches(root: Path, monkeypatch, close: bool = False, closed_at: tuple[str, str] = ("10:30", "11:30"),
                 hand: dict | None = None) -> tuple[dict, dict]:
    """Branches A and B from main, each with work; with ``close``, each then runs `tether close --commit`
    at ``closed_at`` (HH:MM on DAY, or a full time), after ``hand[side](text)`` rewrote its CONTEXT.md
    as a person would."""
    sides = {}
    for side, hour, items, at in (("A", 10, (2, 3), closed_at[0]), ("B", 11, (4, 5), closed_at[1])):
        git(root, "checkout", "-q", "main")
        git(root, "checkout", "-q", "-b", side)
        sides[side] = work(root, side, hour, items, monkeypatch)
        if close:
            if hand and side in hand:
                doc = root / ".tether" / "CONTEXT.md"
                doc.write_text(hand[side](doc.read_text()))
            monkeypatch.setenv("TETHER_NOW", closing_time(at))
            proc = tether(root, "close", "--summary", f"{side} summary", "--next", f"{side} next", "--commit")
            assert proc.returncode == 0, proc.stderr
    a, b = sides["A"], sides["B"]
    git(root, "checkout", "-q", "A")
    monkeypatch.setenv("TETHER_NOW", f"{DAY}T12:00:00Z")
    monkeypatch.delenv("TETHER_SESSION_ID")
    return a, b


def closing_time(at: str) -> str:
    return at if "T" in at else f"{DAY}T{at}:00Z"


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
    # Both branches' ends are shown: the newest as the checkpoint, the other beside it.
    [other] = resume.to_dict()["parallel"]
    assert other["name"] != resume.checkpoint.name
    assert [line.startswith(f"Also {other['checkpoint']} ({other['name']}") for line in resume.parallel_lines()] == [True]
    shown = tether(root, "resume", "SHARED").stdout
    assert f"Also {other['checkpoint']} ({other['name']}" in shown
    # The next checkpoint joins both tips: it names them as parents and keeps both sides' items.
    joined = ws.checkpoint("SHARED", state="after the merge")
    assert len(joined.parents) == 2 and joined.done_set == {1, 2, 3, 4, 5}
    assert ws.resume("SHARED").done == {1, 2, 3, 4, 5}


def test_without_the_driver_a_close_regenerates_the_generated_files(base, monkeypatch):
    root = base
    a, b = two_branches(root, monkeypatch, close=True)
    unregister(root)  # (each close registered it again)
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


# -- both branches close: the merge driver ------------------------------------------------------

LATEST = ".tether/progress/LATEST.json"
CONTEXT = ".tether/CONTEXT.md"
INDEX = ".tether/index.json"


def unregister(root: Path) -> None:
    """A clone without tether's driver in its git config: git falls back to its text merge."""
    git(root, "config", "--remove-section", "merge.tether")


def add_line(text: str, line: str) -> str:
    """Hand-written text at the end of the context document, outside tether's markers."""
    return text.rstrip("\n") + f"\n\n{line}\n"


def retitle(title: str):
    return lambda text: text.replace("# Session Context\n", f"# {title}\n", 1)


def blocks(text: str) -> list[str]:
    return re.findall(r"<!-- tether:begin ([a-z_]+) -->", text)


def block(text: str, name: str) -> str:
    return re.search(rf"<!-- tether:begin {name} -->.*?<!-- tether:end {name} -->", text, re.S).group(0)


def show(root: Path, rev: str, rel: str) -> str:
    return git(root, "show", f"{rev}:{rel}").stdout


def merged_latest(root: Path, newer: str, older: str) -> str:
    """What merging two branches that both closed leaves in LATEST.json: the newer close, with the
    older close's next steps after its own (semantic_merge.merge_latest)."""
    won, lost = json.loads(show(root, newer, LATEST)), json.loads(show(root, older, LATEST))
    won["next_steps"] += [s for s in lost["next_steps"] if s not in won["next_steps"]]
    return json.dumps(won, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def unmerged(root: Path) -> set[str]:
    return set(git(root, "diff", "--name-only", "--diff-filter=U").stdout.split())


def assert_healthy(root: Path, latest_summary: str) -> dict:
    """Committed, no markers, a fresh manifest, and a boot that is not degraded."""
    assert git(root, "status", "--porcelain").stdout == ""
    assert files_with_markers(root / ".tether") == []
    check = tether(root, "index", "--check")
    assert check.returncode == 0, check.stdout
    code, brief = boot(root)
    assert (code, brief["problems"]) == (0, []), brief["problems"]
    assert brief["latest"]["summary"] == latest_summary
    return brief


def test_both_branches_close_and_merge_without_conflicts(base, monkeypatch):
    root = base
    hand = {"A": lambda t: add_line(t, "A's own note."),
            "B": lambda t: add_line(retitle("Session Context of the parser work")(t), "B's own note.")}
    a, b = two_branches(root, monkeypatch, close=True, hand=hand)
    merge = git(root, "merge", "--no-edit", "B", check=False)
    assert merge.returncode == 0, merge.stdout + merge.stderr
    assert unmerged(root) == set()

    # LATEST.json: B closed later (11:30 against 10:30): B's, with A's next steps after B's own.
    assert (root / LATEST).read_text() == merged_latest(root, "B", "A")
    assert json.loads((root / LATEST).read_text())["next_steps"] == ["B next", "A next"]
    # CONTEXT.md: the hand-written text of both sides; tether's blocks once each, regenerated from the
    # merged records: both sides' tasks, decisions and entries; the last session is B's (the newer close).
    context = (root / CONTEXT).read_text()
    assert context.startswith("# Session Context of the parser work\n")
    assert context.index("A's own note.") < context.index("B's own note.")  # both added at the end: ours first
    assert blocks(context) == blocks(show(root, "B", CONTEXT))
    for name in ("where_we_are", "reading_order"):
        assert block(context, name) == block(show(root, "B", CONTEXT), name)
    assert "1. B next\n2. A next\n" in block(context, "next_steps")  # the merged LATEST.json's
    for side in (a, b):
        assert f"`tether resume {side['task']}`" in block(context, "open_tasks")
        assert side["decision"] in block(context, "decisions") and side["note"] in block(context, "gotcha")
    # index.json: the manifest of the merged files, as `tether index` would write it.
    before = (root / INDEX).read_bytes()
    assert tether(root, "index").returncode == 0
    assert (root / INDEX).read_bytes() == before
    brief = assert_healthy(root, "B summary")
    assert {t["task"] for t in brief["tasks"]} == {"SHARED", a["task"], b["task"]}
    progress = (root / ".tether" / "progress" / f"{DAY}.md").read_text()
    assert "A summary" in progress and "B summary" in progress


@pytest.mark.parametrize("closed_at", [("10:30", "11:30"), ("11:30", "10:30"), ("11:00", "11:00"),
                                       ("2026-03-03T08:00:00Z", "11:30")],
                         ids=["B-later", "A-later", "same-second", "A-next-day"])
def test_the_merged_latest_does_not_depend_on_the_direction(base, monkeypatch, closed_at):
    root = base
    two_branches(root, monkeypatch, close=True, closed_at=closed_at)
    tips = {}
    for ours, theirs in (("A", "B"), ("B", "A")):
        git(root, "checkout", "-q", "-b", f"{ours}+{theirs}", ours)
        merge = git(root, "merge", "--no-edit", theirs, check=False)
        assert merge.returncode == 0, merge.stdout + merge.stderr
        assert_healthy(root, json.loads((root / LATEST).read_text())["summary"])
        tips[ours] = (root / LATEST).read_text()
    # The newer close wins; at the same second, the larger session id (S-B) does, from either side.
    newer = "A" if closing_time(closed_at[0]) > closing_time(closed_at[1]) else "B"
    assert tips["A"] == tips["B"] == merged_latest(root, newer, "B" if newer == "A" else "A")


def test_hand_written_lines_both_sides_changed_are_a_real_conflict(base, monkeypatch):
    root = base
    two_branches(root, monkeypatch, close=True, hand={"A": retitle("Context: A's title"),
                                                        "B": retitle("Context: B's title")})
    merge = git(root, "merge", "--no-edit", "B", check=False)
    # Only the hand-written lines conflict; LATEST.json and index.json merged.
    assert merge.returncode == 1 and unmerged(root) == {CONTEXT}, merge.stdout
    assert files_with_markers(root / ".tether") == [CONTEXT]
    context = (root / CONTEXT).read_text()
    assert context.startswith("<<<<<<< ours\n# Context: A's title\n=======\n# Context: B's title\n>>>>>>> theirs\n")
    assert (root / LATEST).read_text() == merged_latest(root, "B", "A")
    code, brief = boot(root)
    assert code == 3
    assert [(p["path"], p["line"]) for p in brief["problems"]] == [(CONTEXT, 1)]
    assert "tether index --repair" in brief["problems"][0]["message"]
    # The repair leaves a person's choice to the person, and says where (exit 3: the manifest waits for it).
    repair = tether(root, "index", "--repair")
    assert repair.returncode == 3 and f"{CONTEXT}:1: hand-written lines" in repair.stdout
    assert (root / CONTEXT).read_text() == context and unmerged(root) == {CONTEXT}
    # The person resolves; one command makes the manifest match; the merge concludes.
    (root / CONTEXT).write_text(context.replace(
        "<<<<<<< ours\n# Context: A's title\n=======\n# Context: B's title\n>>>>>>> theirs\n", "# Context\n"))
    assert tether(root, "index").returncode == 0
    git(root, "add", CONTEXT, INDEX)
    git(root, "commit", "-q", "--no-edit")
    assert_healthy(root, "B summary")


@pytest.mark.parametrize("driver", [True, False], ids=["driver", "no-driver"])
def test_repair_mid_merge_names_the_conflicted_context_and_records_no_hash_of_it(base, monkeypatch, driver):
    import hashlib

    root = base
    two_branches(root, monkeypatch, close=True, hand={"A": retitle("Context: A's title"),
                                                        "B": retitle("Context: B's title")})
    if not driver:
        unregister(root)
    assert git(root, "merge", "--no-edit", "B", check=False).returncode == 1
    assert CONTEXT in unmerged(root)
    manifest_before = (root / INDEX).read_bytes()
    repair = tether(root, "index", "--repair", "--json")
    assert repair.returncode == 3, repair.stdout + repair.stderr
    outcome = json.loads(repair.stdout)
    # Only the hand-written lines are left for the person, with or without the driver: tether's blocks merged.
    assert (root / CONTEXT).read_text().count("<<<<<<<") == 1
    line = marker_lines(root / CONTEXT)[0]
    assert [(p["path"], p["line"]) for p in outcome["conflicted"]] == [(CONTEXT, line)]
    assert "conflict marker" in outcome["conflicted"][0]["message"]
    assert outcome["manifest"] == "unchanged" and INDEX not in outcome["marked_resolved"]
    # index.json holds no hash of the conflicted document: as it was before the repair.
    conflicted_hash = "sha256:" + hashlib.sha256((root / CONTEXT).read_bytes()).hexdigest()
    assert (root / INDEX).read_bytes() == manifest_before and conflicted_hash.encode() not in manifest_before
    text = tether(root, "index", "--repair")
    assert text.returncode == 3
    assert f"  {INDEX}: not rewritten: {CONTEXT}:{line} holds an unresolved git conflict marker;" in text.stdout
    assert "run `tether index --repair` again" in text.stdout
    # Resolved by the person, the next repair writes the manifest of the resolved file, and the merge concludes.
    (root / CONTEXT).write_text(re.sub(r"<<<<<<< ours\n.*?>>>>>>> theirs\n", "# Context\n",
                                       (root / CONTEXT).read_text(), flags=re.S))
    again = tether(root, "index", "--repair", "--json")
    assert again.returncode == 0, again.stdout
    assert json.loads(again.stdout)["conflicted"] == []
    git(root, "add", CONTEXT, INDEX)
    git(root, "commit", "-q", "--no-edit")
    assert_healthy(root, "B summary")


def test_without_the_driver_index_repair_resolves_the_merge(base, monkeypatch):
    root = base
    hand = {"A": lambda t: add_line(t, "A's own note."), "B": lambda t: add_line(t, "B's own note.")}
    a, b = two_branches(root, monkeypatch, close=True, hand=hand)
    unregister(root)  # a clone without it (each close registered it again)
    merge = git(root, "merge", "--no-edit", "B", check=False)
    conflicted = unmerged(root)
    assert merge.returncode == 1 and {LATEST, CONTEXT} <= conflicted <= GENERATED, merge.stdout

    # Boot names each conflicted file with its line, and the one command that fixes it.
    code, brief = boot(root)
    assert code == 3
    problems = {p["path"]: p for p in brief["problems"]}
    for rel in (LATEST, CONTEXT):
        line = marker_lines(root / rel)[0]
        assert problems[rel]["line"] == line and "tether index --repair" in problems[rel]["message"]
        assert f"{rel}:{line}" in brief["text"]

    repair = tether(root, "index", "--repair", "--json")
    assert repair.returncode == 0, repair.stdout + repair.stderr
    outcome = json.loads(repair.stdout)
    assert {f"resolved {LATEST}", f"resolved {CONTEXT}"} <= set(outcome["repaired"])
    assert set(outcome["marked_resolved"]) == conflicted
    assert unmerged(root) == set() and files_with_markers(root / ".tether") == []
    assert (root / LATEST).read_text() == merged_latest(root, "B", "A")
    context = (root / CONTEXT).read_text()
    assert "A's own note." in context and "B's own note." in context
    assert blocks(context) == blocks(show(root, "B", CONTEXT))
    # Its sections come from the records git merged: neither side's tasks, decisions or entries are lost.
    for side in (a, b):
        assert f"`tether resume {side['task']}`" in block(context, "open_tasks")
        assert side["decision"] in block(context, "decisions") and side["note"] in block(context, "gotcha")
    git(root, "commit", "-q", "--no-edit")
    assert_healthy(root, "B summary")
    assert len(git(root, "log", "-1", "--format=%P").stdout.split()) == 2  # a real merge commit


def test_repair_says_how_to_conclude_the_merge(base, monkeypatch):
    """After `index --repair` marks the files resolved, the user is told the merge still needs `git commit`."""
    root = base
    two_branches(root, monkeypatch, close=True)
    unregister(root)
    assert git(root, "merge", "--no-edit", "B", check=False).returncode == 1
    repair = tether(root, "index", "--repair")
    assert repair.returncode == 0, repair.stdout + repair.stderr
    assert "`git commit`" in repair.stdout and "conclude the merge" in repair.stdout
    git(root, "commit", "-q", "--no-edit")
    again = tether(root, "index", "--repair")  # nothing left to conclude: no such line
    assert again.returncode == 0 and "conclude the merge" not in again.stdout


def test_a_moved_interpreter_falls_back_to_git_and_repair_recovers(base, monkeypatch, tmp_path):
    """The driver names this interpreter; gone, and no `tether` on PATH, git keeps our side as a conflict."""
    from tether.gitio.mergedriver import driver_command

    root = base
    git(root, "config", "merge.tether.driver", driver_command(str(tmp_path / "gone" / "python")))
    two_branches(root, monkeypatch, close=True, hand={"B": lambda t: add_line(t, "B's own note.")})
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "git").symlink_to(shutil.which("git"))
    proc = subprocess.run(["git", "-C", str(root), "merge", "--no-edit", "B"], capture_output=True, text=True,
                          env={**os.environ, "PATH": str(bin_dir)})
    assert proc.returncode == 1 and "tether: not found" in proc.stderr, proc.stdout + proc.stderr
    assert {LATEST, CONTEXT} <= unmerged(root) <= GENERATED
    assert (root / LATEST).read_text() == show(root, "A", LATEST) and files_with_markers(root / ".tether") == []
    assert tether(root, "index", "--repair").returncode == 0
    assert unmerged(root) == set()
    assert (root / LATEST).read_text() == merged_latest(root, "B", "A")
    assert "B's own note." in (root / CONTEXT).read_text()
    git(root, "commit", "-q", "--no-edit")
    assert_healthy(root, "B summary")


def test_a_rebase_replays_a_close_without_conflicts(base, monkeypatch):
    root = base
    two_branches(root, monkeypatch, close=True, hand={"A": lambda t: add_line(t, "A's own note.")})
    rebase = git(root, "rebase", "B", check=False)  # as `git pull --rebase` does
    assert rebase.returncode == 0, rebase.stdout + rebase.stderr
    assert (root / LATEST).read_text() == merged_latest(root, "B", "A")  # B's close is the newer one
    assert "A's own note." in (root / CONTEXT).read_text()
    assert_healthy(root, "B summary")


def test_a_cherry_pick_says_to_rewrite_the_manifest(base, monkeypatch):
    """No way to know the picked commit while git merges: the manifest is valid, stale, and says so."""
    root = base
    two_branches(root, monkeypatch, close=True)
    pick = git(root, "cherry-pick", "B", check=False)
    assert pick.returncode == 0, pick.stdout + pick.stderr
    assert "run `tether index` after the merge" in pick.stderr
    # Nor can the context document's sections be regenerated from the merged records: the newer side's
    # stand, the driver says so, and boot names what disagrees until `tether index --repair` runs.
    assert f"{CONTEXT}: its generated sections are the newer side's" in pick.stderr
    check = tether(root, "index", "--check", "--json")
    assert check.returncode == 3 and json.loads(check.stdout)["problem"] is None
    code, brief = boot(root)
    assert code == 3 and [(p["path"], p["line"]) for p in brief["problems"]] == [(CONTEXT, 14)]
    assert "tether index --repair" in brief["problems"][0]["message"]
    assert tether(root, "index", "--repair").returncode == 0
    git(root, "commit", "-q", "-am", "manifest and context document")
    assert_healthy(root, "B summary")


def test_init_registers_the_driver_in_a_fresh_clone_and_upgrades_old_attributes(base, tmp_path, monkeypatch):
    clone = tmp_path / "clone"
    git(base, "clone", "-q", str(base), str(clone))
    assert git(clone, "config", "--get", "merge.tether.driver", check=False).returncode == 1
    # An older workspace: .gitattributes without the driver's rules.
    attributes = clone / ".tether" / ".gitattributes"
    attributes.write_text("*.jsonl merge=union\nprogress/*.md merge=union\n")
    init = tether(clone, "init")
    assert init.returncode == 0, init.stderr
    assert "registered the merge driver in git config" in init.stdout
    assert "updated .tether/.gitattributes" in init.stdout
    driver = git(clone, "config", "--get", "merge.tether.driver").stdout.strip()
    assert f"{sys.executable} -m tether merge-driver --marker-size %L %O %A %B %P" in driver
    assert "/index.json merge=tether" in attributes.read_text().splitlines()
    assert git(clone, "check-attr", "merge", "--", LATEST, CONTEXT, INDEX).stdout.count(": merge: tether") == 3
    assert tether(clone, "index", "--check").returncode == 0
    again = tether(clone, "init", "--json")
    assert json.loads(again.stdout)["created"] == []
    # A clone that never ran init gets the driver at its first close.
    other = tmp_path / "other"
    git(base, "clone", "-q", str(base), str(other))
    monkeypatch.setenv("TETHER_NOW", f"{DAY}T12:00:00Z")
    assert tether(other, "close", "--summary", "first close here").returncode == 0
    assert git(other, "config", "--get", "merge.tether.driver").stdout.strip() == driver


def test_repair_rebuilds_an_unreadable_latest_from_the_event_log(base, monkeypatch):
    root = base
    for at, summary in (("10:00", "first"), ("11:00", "second")):
        monkeypatch.setenv("TETHER_NOW", f"{DAY}T{at}:00Z")
        assert tether(root, "close", "--summary", summary, "--next", f"after {summary}").returncode == 0
    expected = json.loads((root / LATEST).read_text())
    (root / LATEST).write_text('<<<<<<< ours\n{"summary":\n=======\n>>>>>>> theirs\n')  # neither side is JSON
    repair = tether(root, "index", "--repair")
    assert repair.returncode == 0, repair.stdout
    assert f"{LATEST}: rebuilt from the memory log's newest close (neither side read)" in repair.stdout
    assert json.loads((root / LATEST).read_text()) == expected


@pytest.mark.parametrize("damaged", ["main did 3", "f did 2"])
def test_a_damaged_tip_of_a_merge_keeps_its_progress_from_the_journal_and_is_named(base, monkeypatch, damaged):
    """Two branches each checkpointed a task and were merged; one tip's file was then damaged by
    hand. The next checkpoint still joins both tips (the damaged one as its journal line recorded
    it), agrees with resume, and names the file."""
    repo = base

    def run(*args: str) -> subprocess.CompletedProcess:
        return tether(repo, *args)

    run("task", "start", "M", "--id", "M", *[a for i in "abcde" for a in ("-i", i)])
    run("checkpoint", "-t", "M", "--done", "1", "--state", "base")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "base")
    git(repo, "checkout", "-qb", "f")
    run("checkpoint", "-t", "M", "--done", "2", "--state", "f did 2")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "f")
    git(repo, "checkout", "-q", "main")
    run("checkpoint", "-t", "M", "--done", "3", "--state", "main did 3")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "m")
    git(repo, "merge", "-q", "--no-edit", "f")
    folder = repo / ".tether" / "tasks" / "M" / "checkpoints"
    [path] = [p for p in folder.glob("CKP-0002-*.md") if damaged in p.read_text()]
    path.write_text(path.read_text().replace('done: "1,3"', 'done: "x"').replace('done: "1-2"', 'done: "x"'))
    out = run("checkpoint", "-t", "M", "--done", "4", "--state", "after")
    assert out.returncode == 3, out.stderr
    assert "from item 5 of 5 (4 done" in out.stdout and f"{path.name}:8: field 'done'" in out.stdout
    new = next(folder.glob("CKP-0003-*.md")).read_text()
    assert 'done: "1-4"' in new and new.count("CKP-0002-") == 2  # both tips its parents
    assert run("resume", "M").stdout.startswith("Resuming M (M) from item 5 of 5 (4 done;")


def test_repair_rebuilds_a_latest_that_does_not_read_without_a_merge(base, monkeypatch):
    root = base
    monkeypatch.setenv("TETHER_NOW", f"{DAY}T10:00:00Z")
    assert tether(root, "close", "--summary", "first", "--next", "after first").returncode == 0
    expected = json.loads((root / LATEST).read_text())
    (root / LATEST).write_text('{"date": "x", "bad": \n')  # edited by hand, no conflict
    repair = tether(root, "index", "--repair")
    assert repair.returncode == 0 and f"{LATEST}: rebuilt from the memory log's newest close" in repair.stdout
    assert json.loads((root / LATEST).read_text()) == expected
    assert tether(root, "verify").returncode == 0


# -- the context document after a merge: its sections are the merged records' --------------------

def clones(tmp_path: Path, monkeypatch) -> tuple[Path, Path, Path]:
    """A bare origin with a workspace on main, and two clones of it (each registers the driver)."""
    monkeypatch.setenv("TETHER_NOW", f"{DAY}T09:00:00Z")
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin))
    seed = tmp_path / "seed"
    git(tmp_path, "clone", "-q", str(origin), str(seed))
    (seed / "README.md").write_text("# Project\n")
    assert tether(seed, "init").returncode == 0
    git(seed, "add", "-A")
    git(seed, "commit", "-q", "-m", "workspace")
    git(seed, "push", "-q", "origin", "HEAD:main")
    out = []
    for name in ("B", "C"):
        git(tmp_path, "clone", "-q", str(origin), str(tmp_path / name))
        assert tether(tmp_path / name, "init").returncode == 0
        out.append(tmp_path / name)
    return origin, out[0], out[1]


def run_ok(root: Path, *args: str) -> str:
    proc = tether(root, *args)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def both_clones_close(tmp_path: Path, monkeypatch) -> tuple[Path, dict]:
    """B starts a task, decides and closes (committed, pushed); C starts a task, notes a gotcha and
    closes later (committed). Returns C and what each recorded."""
    _origin, b, c = clones(tmp_path, monkeypatch)
    monkeypatch.setenv("TETHER_NOW", f"{DAY}T10:00:00Z")
    b_task = json.loads(run_ok(b, "task", "start", "B's task", "--json"))["task"]["id"]
    decision = json.loads(run_ok(b, "decide", "Which database?", "--decision", "postgres", "--json"))["decision"]["id"]
    run_ok(b, "close", "--summary", "B closed", "--commit")
    git(b, "push", "-q", "origin", "HEAD:main")
    monkeypatch.setenv("TETHER_NOW", f"{DAY}T11:00:00Z")
    c_task = json.loads(run_ok(c, "task", "start", "C's task", "--json"))["task"]["id"]
    gotcha = json.loads(run_ok(c, "note", "gotcha", "C's gotcha", "--json"))["note"]["id"]
    run_ok(c, "close", "--summary", "C closed", "--commit")
    return c, {"tasks": [b_task, c_task], "decision": decision, "gotcha": gotcha}


def assert_all_recorded(context: str, recorded: dict) -> None:
    for task in recorded["tasks"]:
        assert f"`tether resume {task}`" in block(context, "open_tasks"), block(context, "open_tasks")
    assert recorded["decision"] in block(context, "decisions") and "postgres" in block(context, "decisions")
    assert recorded["gotcha"] in block(context, "gotcha")


def test_a_pull_keeps_the_other_clones_tasks_and_decisions_in_the_context_document(tmp_path, monkeypatch):
    """The newcomer's report: after `git pull` with the driver, CONTEXT.md listed only this clone's task
    and lost the other clone's decision, and verify, index --check and audit saw nothing."""
    c, recorded = both_clones_close(tmp_path, monkeypatch)
    pull = git(c, "pull", "-q", "--no-rebase", "--no-edit", "origin", "main", check=False)
    assert pull.returncode == 0, pull.stdout + pull.stderr
    context = (c / CONTEXT).read_text()
    assert_all_recorded(context, recorded)
    assert "**Last session (2026-03-02):** C closed" in block(context, "where_we_are")  # the newer close
    assert "ACTIVE: C's task" in block(context, "open_tasks")  # this machine's active task
    # What `tether close` would write now, but for the stamp: nothing for verify, boot or audit to name.
    assert tether(c, "verify").returncode == 0
    assert tether(c, "index", "--check").returncode == 0
    assert_healthy(c, "C closed")
    assert json.loads(run_ok(c, "audit", "--skip", "uncommitted", "--json"))["findings"] == []


def test_without_the_driver_repair_keeps_both_clones_records_in_the_context_document(tmp_path, monkeypatch):
    c, recorded = both_clones_close(tmp_path, monkeypatch)
    unregister(c)
    pull = git(c, "pull", "-q", "--no-rebase", "--no-edit", "origin", "main", check=False)
    assert pull.returncode == 1 and CONTEXT in unmerged(c), pull.stdout + pull.stderr
    repair = run_ok(c, "index", "--repair")
    context = (c / CONTEXT).read_text()
    assert_all_recorded(context, recorded)
    assert (f"  {CONTEXT}: merged: your text from both sides; generated sections regenerated from the records"
            " (Open Tasks, Decisions disagreed with them); marked resolved (git add)") in repair.splitlines()
    assert repair.splitlines()[-1] == "Next: `git commit` to conclude the merge."
    git(c, "commit", "-q", "--no-edit")
    assert_healthy(c, "C closed")


def test_a_side_kept_by_hand_is_named_by_boot_verify_and_audit_and_repaired(tmp_path, monkeypatch):
    """A conflict resolved by taking one side whole (a hosting service's editor, `git checkout --ours`)
    keeps that side's sections: every check names them, with the command that regenerates them."""
    c, recorded = both_clones_close(tmp_path, monkeypatch)
    unregister(c)
    assert git(c, "pull", "-q", "--no-rebase", "--no-edit", "origin", "main", check=False).returncode == 1
    git(c, "checkout", "-q", "--ours", "--", *sorted(unmerged(c)))
    git(c, "add", ".tether")
    git(c, "commit", "-q", "--no-edit")
    line = (c / CONTEXT).read_text().splitlines().index("<!-- tether:begin open_tasks -->") + 1

    code, brief = boot(c)
    assert code == 3 and [(p["path"], p["line"]) for p in brief["problems"]] == [(CONTEXT, line)]
    message = brief["problems"][0]["message"]
    assert message.startswith("generated sections Open Tasks, Decisions disagree with the records")
    assert "run `tether index --repair`" in message
    verify = tether(c, "verify", "--json")
    assert verify.returncode == 3
    assert json.loads(verify.stdout)["problems"] == [{"path": CONTEXT, "line": line, "message": message}]
    assert json.loads(verify.stdout)["sections"] == ["Open Tasks", "Decisions"]
    [found] = [f for f in json.loads(tether(c, "audit", "--json").stdout)["findings"] if f["rule"] == "context-stale"]
    assert (found["path"], found["line"]) == (CONTEXT, line) and "Open Tasks, Decisions" in found["message"]

    repair = run_ok(c, "index", "--repair")
    assert_all_recorded((c / CONTEXT).read_text(), recorded)
    assert repair.splitlines()[-1] == (f"Next: commit what it changed: `git add {CONTEXT} {INDEX}`, then `git commit`.")
    assert tether(c, "verify").returncode == 0
    git(c, "commit", "-q", "-am", "context document regenerated")
    assert_healthy(c, "C closed")


def test_repair_names_a_staged_file_it_rewrote_before_the_commit(base, monkeypatch):
    """`index --repair` during a merge whose index.json the user had already resolved (staged): it
    rewrites it, and says to `git add` it before the commit instead of leaving it changed silently."""
    root = base
    two_branches(root, monkeypatch, close=True)
    unregister(root)
    assert git(root, "merge", "--no-edit", "B", check=False).returncode == 1
    git(root, "checkout", "-q", "--ours", "--", INDEX)
    git(root, "add", INDEX)
    assert INDEX not in unmerged(root)
    repair = json.loads(run_ok(root, "index", "--repair", "--json"))
    assert repair["merging"] and repair["manifest"] == "rewritten" and repair["to_add"] == [INDEX]
    assert {"path": INDEX, "done": [f"rewritten ({repair['files']} files)"]} in repair["changes"]
    assert INDEX not in repair["marked_resolved"] and repair["unmerged"] == []
    assert git(root, "status", "--porcelain", "--", INDEX).stdout[1] == "M"  # rewritten, not staged
    out = run_ok(root, "index", "--repair")  # again: the same advice while it stays unstaged
    assert out.splitlines()[-1] == f"Next: `git add {INDEX}`, then `git commit` to conclude the merge."
    git(root, "add", INDEX)
    git(root, "commit", "-q", "--no-edit")
    assert_healthy(root, "B summary")


def test_repair_names_what_git_still_holds_conflicted(base, monkeypatch):
    root = base
    two_branches(root, monkeypatch, close=True)
    unregister(root)
    (root / "code.txt").write_text("main\n")
    git(root, "checkout", "-q", "B")
    (root / "code.txt").write_text("B\n")
    git(root, "add", "code.txt")
    git(root, "commit", "-q", "-m", "B's code")
    git(root, "checkout", "-q", "A")
    (root / "code.txt").write_text("A\n")
    git(root, "add", "code.txt")
    git(root, "commit", "-q", "-m", "A's code")
    assert git(root, "merge", "--no-edit", "B", check=False).returncode == 1
    out = run_ok(root, "index", "--repair")
    assert out.splitlines()[-1] == ("Next: resolve what git still lists as conflicted (code.txt) and `git add` it;"
                                    " then `git commit` to conclude the merge.")


# -- a clone without the driver: boot and verify say so -------------------------------------------

DRIVER_LINE = "tether's merge driver is not registered in this clone"


def test_boot_and_verify_say_once_that_a_fresh_clone_lacks_the_driver(base, tmp_path):
    clone = tmp_path / "clone"
    git(base, "clone", "-q", str(base), str(clone))  # git config is never cloned
    for _ in ("cold", "warm"):
        code, brief = boot(clone)
        assert code == 0 and brief["problems"] == [] and brief["merge_driver"] == "missing"
        assert brief["text"].count(DRIVER_LINE) == 1 and "Run `tether init` once in this clone" in brief["text"]
    verify = tether(clone, "verify", "--json")
    assert verify.returncode == 0  # this clone's setup, not a problem of the files
    [notice] = json.loads(verify.stdout)["notices"]
    assert notice.startswith(DRIVER_LINE) and "`tether init`" in notice
    assert f"Note: {DRIVER_LINE}" in tether(clone, "verify").stdout
    assert tether(clone, "init").returncode == 0
    code, brief = boot(clone)
    assert brief["merge_driver"] == "registered" and DRIVER_LINE not in brief["text"]
    assert json.loads(tether(clone, "verify", "--json").stdout)["notices"] == []
    # Read from git's files at every boot, warm too: a driver removed since is named again.
    git(clone, "config", "--remove-section", "merge.tether")
    assert DRIVER_LINE in boot(clone)[1]["text"]


def test_the_warm_boot_checks_the_driver_without_starting_git(base, tmp_path):
    clone = tmp_path / "clone"
    git(base, "clone", "-q", str(base), str(clone))
    cold = tether(clone, "boot")
    assert cold.returncode == 0 and DRIVER_LINE in cold.stdout
    empty = tmp_path / "no-git-here"
    empty.mkdir()
    warm = subprocess.run([sys.executable, "-m", "tether", "boot"], cwd=clone, capture_output=True, text=True,
                          env={**os.environ, "PATH": str(empty)}, timeout=60)
    assert (warm.returncode, warm.stdout) == (0, cold.stdout), warm.stderr


def test_a_driver_defined_in_the_users_config_counts(base, tmp_path):
    clone = tmp_path / "clone"
    git(base, "clone", "-q", str(base), str(clone))
    git(clone, "config", "--global", "merge.tether.driver", "tether merge-driver %O %A %B %P")
    assert boot(clone)[1]["merge_driver"] == "registered"
    attributes = clone / ".tether" / ".gitattributes"  # a workspace that sends nothing to the driver
    git(clone, "config", "--global", "--unset", "merge.tether.driver")
    attributes.write_text("*.jsonl merge=union\n")
    code, brief = boot(clone)
    assert brief["merge_driver"] is None and DRIVER_LINE not in brief["text"]


def test_a_document_rendered_another_way_names_the_same_records_and_is_no_disagreement(base):
    """What is compared is what the sections name (ids, the last close's words, one item each), not
    how a version of tether rendered them, nor which task this machine marks ACTIVE."""
    root = base
    assert tether(root, "note", "gotcha", "keep the OCR step").returncode == 0
    doc = root / CONTEXT
    text = doc.read_text()
    older = re.sub(r"- (ACTIVE: )?shared \(SHARED, 10 items\): `tether resume SHARED`",
                   "- Resuming shared (SHARED) from item 2 of 10 (1 done; last checkpoint CKP-0001: base)", text)
    assert older != text
    doc.write_text(older)
    assert tether(root, "verify").returncode == 0 and boot(root)[1]["problems"] == []
    # A record the document does not name, or one it names that is gone, is a disagreement.
    gotcha = re.search(r"- keep the OCR step \[[^\]]+\]\n", older).group(0)
    doc.write_text(older.replace(gotcha, ""))
    problems = boot(root)[1]["problems"]
    assert [p["message"].split(" disagree")[0] for p in problems] == ["generated section Gotchas"]
    doc.write_text(older.replace(gotcha, gotcha + "- an entry resolved since [N-260302-gone]\n"))
    assert json.loads(tether(root, "verify", "--json").stdout)["sections"] == ["Gotchas"]
