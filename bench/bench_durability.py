"""Durability under attack: writers killed with SIGKILL, writers at once, branches merged. Nothing
acknowledged may be lost.

    .venv/bin/python bench/bench_durability.py              # every part, a few minutes on 2 cores
    .venv/bin/python bench/bench_durability.py --scale 10   # ten times the trials and writes (long)
    .venv/bin/python bench/bench_durability.py --only kill-api --big-mb 8

A record is *acknowledged* when the process that wrote it said so before it was killed: a
`tether` command that exited 0 (and printed what it saved), or a line an API loop printed
after the call returned. Each part prints its trials, what was acknowledged, what of that
was lost (0 is the only good figure), duplicates, the torn last lines the kills left and who
repaired them, and the problems `tether verify` finds at the end (after the repairs).

(a) kill -9, each in its own new repository (fsync on, as every measured write here):
    tear             appendlog.append_text of --tear-bytes lines in a loop, killed after 0-20 ms, 2x --kills
                     times with the lines aligned to 4 KiB blocks (as a checkpoint journal's) and as
                     many without: how often the kill left a torn last line.
    kill-checkpoint  `tether checkpoint --done I` processes, each killed at a random moment of
                     its run (uniform over 1.2x its median duration, so some finish); item I must be
                     done in the newest checkpoint if the process acknowledged it.
    kill-api         a Python process checkpointing in a loop through the API (and adding a note
                     every fifth time), killed at a random moment; the next one continues. Half
                     the trials with an ordinary state (300 bytes), half with --big-mb of state,
                     whose journal lines are too long to be kept out of harm by alignment: the
                     kill can tear them, and the next writer must complete them.
    kill-close       `tether close --summary "close I"` killed at a random moment, then, if it
                     did not finish, run again as it was (what a user does): exactly one section
                     and one session_close event per close, LATEST.json its summary.
    kill-ctx         `tether ctx apply RESULT` (an artifact, knowledge, tokens, an invocation_id)
                     killed at a random moment, then retried until it is applied or refused as
                     already applied: every invocation once, every artifact once, revision and
                     invocation_log in step.
(b) concurrent: 8 processes (--writers) checkpointing one task through the API at once, each
    marking its own items (--rounds each), plus each its own task: numbers 1..N without a gap or
    a duplicate, every acknowledged checkpoint there, the newest one holding every item.
(c) ctx-concurrent: --ctx-writers processes each running --ctx-applies `tether ctx apply` of
    results based on revision 0 (stale), each adding its own key under one parent that did not
    exist then, and its own artifact: none refused, none lost.
(d) merge and rebase: two branches that both checkpointed one task, added notes and decisions
    and closed with --commit, merged with `git merge`, and (in another repository) rebased: no
    conflict, every checkpoint, close, note and decision of both sides there, verify and
    `tether index --check` clean.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import make_workspace
from common import env, header, tether_script

LOGS = ("context.jsonl", "memory/events.jsonl")


# -- helpers --------------------------------------------------------------------------------------------

def tether(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(tether_script()), *args], cwd=repo, env=env(), capture_output=True, text=True)
    if check and proc.returncode not in (0, 3):
        raise SystemExit(f"tether {' '.join(args)} exited {proc.returncode} in {repo}: {proc.stderr.strip()}")
    return proc


def git(repo: Path, *args: str) -> str:
    proc = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, env=env())
    if proc.returncode != 0:
        raise SystemExit(f"git {' '.join(args)} failed in {repo}: {proc.stderr.strip()}")
    return proc.stdout


def new_repo(path: Path) -> Path:
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    (path / "README.md").write_text("# bench\n")
    git(path, "add", "README.md")
    git(path, "commit", "-q", "-m", "initial")
    tether(path, "init")
    return path


def torn_start(data: bytes) -> int | None:
    """Where a torn last line starts (no newline, not a whole JSON object), as tether sees one; kept
    here so that the bench can run against an older tether too (PYTHONPATH=OLD/src)."""
    if not data or data.endswith(b"\n"):
        return None
    start = data.rfind(b"\n") + 1
    try:
        return None if isinstance(json.loads(data[start:]), dict) else start
    except ValueError:
        return start


def torn_lines(repo: Path) -> set[tuple[str, int, bytes]]:
    """(log, offset, first bytes) of each torn last line in the store's logs right now."""
    store = repo / ".tether"
    found = set()
    for path in [store / rel for rel in LOGS] + sorted(store.glob("tasks/*/checkpoints.jsonl")):
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            continue
        start = torn_start(data)
        if start is not None:
            found.add((path.relative_to(store).as_posix(), start, data[start:start + 64]))
    return found


def verify(repo: Path) -> list[str]:
    data = json.loads(tether(repo, "verify", "--json").stdout)
    return [f"{p['path']}:{p['line']}: {p['message']}" for p in data["problems"]]


def repaired_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("Repaired: ")]


def kill_at_random(argv: list[str], cwd: Path, delay: float, stdin: str | None = None) -> tuple[int, str, str]:
    """Run ``argv``, SIGKILL it after ``delay`` seconds unless it is done; (returncode, stdout, stderr)."""
    proc = subprocess.Popen(argv, cwd=cwd, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL, text=True)
    try:
        out, err = proc.communicate(stdin, timeout=delay)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        out, err = proc.communicate()
    return proc.returncode, out, err


def median_duration(argv_for, cwd: Path, runs: int = 3) -> float:
    times = []
    for i in range(runs):
        start = time.perf_counter()
        proc = subprocess.run(argv_for(i), cwd=cwd, env=env(), capture_output=True, text=True)
        times.append(time.perf_counter() - start)
        if proc.returncode != 0:
            raise SystemExit(f"{argv_for(i)} exited {proc.returncode}: {proc.stderr.strip()}")
    return statistics.median(times)


class Tally:
    def __init__(self, name: str) -> None:
        self.name = name
        self.trials = self.killed = self.acked = self.lost = self.duplicates = 0
        self.torn_found: set = set()
        self.repaired_by_writers = self.repaired_by_repair = 0
        self.reports: list[str] = []  # "Repaired: ..." lines the commands printed
        self.problems: list[str] = []
        self.notes: list[str] = []

    def saw_torn(self, repo: Path) -> None:
        self.torn_found |= torn_lines(repo)

    def finish(self, repo: Path) -> None:
        """Count who repaired the torn lines, repair what is left, verify."""
        left = torn_lines(repo)
        self.repaired_by_writers = len(self.torn_found - left)
        if left:
            out = tether(repo, "index", "--repair").stdout
            self.repaired_by_repair = sum("a torn last line" in line for line in out.splitlines())
        self.problems = verify(repo)

    def row(self) -> str:
        restored = sum("completed from its checkpoint file" in r for r in self.reports)
        aside = sum(" set aside in " in r for r in self.reports)
        torn = len(self.torn_found)
        return (f"  {self.name:<17} {self.trials:>6} {self.killed:>6} {self.acked:>7} {self.lost:>5} {self.duplicates:>5}"
                f" {torn:>5} {self.repaired_by_writers:>7} {self.repaired_by_repair:>7}"
                f"   {restored} completed / {aside} set aside   {len(self.problems)}")


TABLE_HEAD = ("  part              trials killed   acked  lost  dups  torn  by next  by repair"
              "   reported by the repairing command      verify problems")


# -- (a) kill -9 --------------------------------------------------------------------------------------------

def kill_checkpoint(tmp: Path, trials: int, rng: random.Random) -> Tally:
    tally = Tally("kill-checkpoint")
    repo = new_repo(tmp / "kill-checkpoint")
    tether(repo, "task", "start", "Bulk job", "--id", "JOB", *[f"-i=doc{n}" for n in range(1, trials + 4)])
    script = str(tether_script())
    duration = median_duration(lambda i: [script, "checkpoint", "--done", str(trials + 1 + i), "--state", "warm-up"], repo)
    acked: dict[str, int] = {}
    state = "s" * 300
    for i in range(1, trials + 1):
        code, out, err = kill_at_random([script, "checkpoint", "--done", str(i), "--state", f"doc {i} {state}"],
                                        repo, rng.uniform(0, 1.2 * duration))
        tally.trials += 1
        tally.reports += repaired_lines(err)
        if code == 0:
            name = re.search(r"checkpoints/(CKP-[0-9]+-[0-9a-z]+)\.md", out).group(1)
            acked[name] = i
        else:
            tally.killed += 1
        tally.saw_torn(repo)
    tally.acked = len(acked)
    tether(repo, "checkpoint", "--state", "after the kills")  # the next writer, as a user's next command
    tally.finish(repo)
    check_checkpoints(repo, "JOB", acked, tally)
    return tally


def check_checkpoints(repo: Path, task_id: str, acked: dict[str, int], tally: Tally) -> None:
    """Every acknowledged checkpoint is there and reads; numbers unique and without a gap; the newest
    holds every acknowledged item (``acked``: name -> the item it marked done, or 0)."""
    from tether import Workspace
    from tether.model.records import checkpoint_number

    ws = Workspace.open(repo)
    store = ws.store
    names = store.checkpoint_names(task_id)
    numbers = [checkpoint_number(n) for n in names]
    tally.duplicates += len(numbers) - len(set(numbers))
    if sorted(set(numbers)) != list(range(1, len(set(numbers)) + 1)):
        tally.notes.append(f"{task_id}: numbers have a gap")
    present = set(names)
    tally.lost += sum(1 for name in acked if name not in present)
    for name in acked:
        if name in present:
            try:
                store.load_checkpoint(task_id, name)
            except Exception as exc:  # noqa: BLE001 - counted, named below
                tally.lost += 1
                tally.notes.append(f"{name}: {exc}")
    newest = ws.latest_checkpoint(task_id)
    done = newest.done_set if newest else set()
    missing = [item for item in acked.values() if item and item not in done]
    tally.lost += len(missing)
    if missing:
        tally.notes.append(f"{task_id}: acknowledged items not done in the newest checkpoint: {missing[:5]}")


API_LOOP = r"""
import sys, time
from tether import Workspace
from tether.store import appendlog, fsio

root, task, first, count, size = sys.argv[1:]
first, count, size = int(first), int(count), int(size)
ws = Workspace.open(root)
state = "x" * size
for k in range(first, first + count):
    print("BEGIN", k, time.perf_counter(), flush=True)
    ckp = ws.checkpoint(task, done=[str(k)], state=f"item {k} {state}", key_data={"k": str(k)})
    print("ACK", ckp.name, k, time.perf_counter(), flush=True)
    if k % 5 == 0:
        note = ws.note("note", f"loop note {k}")
        print("NOTE", note.id, flush=True)
    for report in getattr(fsio, "mended", []):
        print("REPAIRED", report["action"], flush=True)
    del getattr(fsio, "mended", [])[:]
"""


def api_child(repo: Path, task: str, first: int, count: int, size: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", API_LOOP, str(repo), task, str(first), str(count), str(size)],
                            cwd=repo, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def kill_api(tmp: Path, trials: int, big_mb: float, rng: random.Random) -> Tally:
    """Each child is killed during one of its checkpoint calls, chosen at random, at a random moment
    of it (uniform over 1.2x a call's median duration): where a kill can tear a line, if anywhere."""
    tally = Tally("kill-api")
    repo = new_repo(tmp / "kill-api")
    big = int(big_mb * (1 << 20))
    per_child = {300: 20, big: 2}  # checkpoints a child makes if it is not killed first
    items = trials * per_child[300] + 100
    (tmp / "items.txt").write_text("".join(f"i{n}\n" for n in range(1, items + 1)))
    tasks = {300: ["LOOP"], big: [f"BIG{n}" for n in range(trials // 10 + 1)]}  # a big journal per 5 big trials
    for task in tasks[300] + tasks[big]:
        tether(repo, "task", "start", f"API loop {task}", "--id", task, "--items-file", str(tmp / "items.txt"))
    durations = {}
    for size in (300, big):  # one whole child of each kind, on the last items
        proc = api_child(repo, tasks[size][-1], items - 99, per_child[size], size)
        out, err = proc.communicate()
        if proc.returncode != 0:
            raise SystemExit(f"the API loop failed: {err.strip()}")
        begun = {}
        gaps = []
        for line in out.splitlines():
            parts = line.split()
            if parts[0] == "BEGIN":
                begun[parts[1]] = float(parts[2])
            elif parts[0] == "ACK":
                gaps.append(float(parts[3]) - begun[parts[2]])
        durations[size] = statistics.median(gaps)
    tally.notes.append(f"a checkpoint call took {durations[300] * 1000:.1f} ms with 300 bytes of state, "
                       f"{durations[big] * 1000:.1f} ms with {big_mb:g} MiB")
    acked: dict[str, dict[str, int]] = {}
    notes: set[str] = set()
    k = 1
    for trial in range(trials):
        size = 300 if trial % 2 == 0 else big
        task = tasks[size][0] if size == 300 else tasks[big][trial // 10]
        child = api_child(repo, task, k, per_child[size], size)
        target, lines = rng.randrange(per_child[size]), []
        for line in child.stdout:  # to the start of the chosen call
            lines.append(line)
            if line.startswith("BEGIN") and int(line.split()[1]) == k + target:
                break
        time.sleep(rng.uniform(0, 1.2 * durations[size]))
        child.send_signal(signal.SIGKILL)
        out, _ = child.communicate()
        tally.trials += 1
        tally.killed += child.returncode == -signal.SIGKILL
        for line in lines + out.splitlines():
            parts = line.split()
            if parts[:1] == ["ACK"] and len(parts) == 4:
                acked.setdefault(task, {})[parts[1]] = int(parts[2])
            elif parts[:1] == ["NOTE"] and len(parts) == 2:
                notes.add(parts[1])
            elif parts[:1] == ["REPAIRED"] and len(parts) == 2:
                tally.reports.append("completed from its checkpoint file" if parts[1] == "restored" else " set aside in ")
        k += per_child[size]
        tally.saw_torn(repo)
    tally.acked = sum(len(v) for v in acked.values()) + len(notes)
    for task in tasks[300] + tasks[big]:  # each task's next writer
        proc = api_child(repo, task, items - 99 + 60, 1, 300)
        out, err = proc.communicate()
        tally.reports += [" set aside in " if "set" in line else "completed from its checkpoint file"
                          for line in out.splitlines() if line.startswith("REPAIRED")]
    tally.finish(repo)
    for task, names in acked.items():
        check_checkpoints(repo, task, names, tally)
    from tether import Workspace

    kept = {n.id for n in Workspace.open(repo).notes(include_resolved=True)}
    tally.lost += len(notes - kept)
    return tally


def kill_close(tmp: Path, trials: int, rng: random.Random) -> Tally:
    tally = Tally("kill-close")
    repo = new_repo(tmp / "kill-close")
    tether(repo, "task", "start", "Work", "--id", "W1", "-i", "a", "-i", "b")
    tether(repo, "checkpoint", "--done", "1", "--state", "a done")
    script = str(tether_script())
    duration = median_duration(lambda i: [script, "close", "--summary", f"warm-up {i}"], repo)
    store = repo / ".tether"
    for i in range(1, trials + 1):
        argv = [script, "close", "--summary", f"close {i}", "--next", f"step {i}"]
        code, _, err = kill_at_random(argv, repo, rng.uniform(0, 1.2 * duration))
        tally.trials += 1
        tally.reports += repaired_lines(err)
        if code != 0:
            tally.killed += 1
            tally.saw_torn(repo)
            again = tether(repo, *argv[1:])  # run again, as it was
            tally.reports += repaired_lines(again.stderr)
        tally.acked += 1
        sections = sum(p.read_text().count(f"**Summary:** close {i}\n") for p in (store / "progress").glob("*.md"))
        events = [e for e in read_jsonl(store / "memory" / "events.jsonl")
                  if e.get("event") == "session_close" and e.get("summary") == f"close {i}"]
        latest = json.loads((store / "progress" / "LATEST.json").read_text())
        tally.lost += (sections == 0) + (not events) + (latest.get("summary") != f"close {i}")
        tally.duplicates += max(0, sections - 1) + max(0, len(events) - 1)
    tally.finish(repo)
    if tether(repo, "index", "--check", check=False).returncode != 0:
        tally.notes.append("index --check is stale after the last close")
    return tally


def read_jsonl(path: Path) -> list[dict]:
    from tether.store.codec import iter_jsonl

    return list(iter_jsonl(path.read_bytes(), str(path), []))


def kill_ctx(tmp: Path, trials: int, rng: random.Random) -> Tally:
    import yaml

    tally = Tally("kill-ctx")
    repo = new_repo(tmp / "kill-ctx")
    tether(repo, "ctx", "init", "--campaign", "KILL-1", "--owner", "@bench", "--max-skill-calls", "1000000",
           "--max-tokens", "1000000000")
    script = str(tether_script())

    def result(i: int) -> str:
        return yaml.safe_dump({"skill": f"skill-{i % 5}", "invocation_id": f"inv-{i}",
                               "artifacts": [{"path": f"out/{i}.md", "type": "draft"}],
                               "knowledge": {"runs": {f"r{i}": i}}, "compute": {"tokens_used": 10}})

    duration = median_duration(lambda i: [script, "ctx", "apply", str(write(tmp / f"warm{i}.yaml", result(-1 - i))),
                                           "--campaign", "KILL-1"], repo)
    applied = 3  # the warm-up applies
    for i in range(trials):
        path = write(tmp / f"result-{i}.yaml", result(i))
        argv = [script, "ctx", "apply", str(path), "--campaign", "KILL-1", "--json"]
        code, out, _ = kill_at_random(argv, repo, rng.uniform(0, 1.2 * duration))
        tally.trials += 1
        tries = 0
        while code != 0:
            if code == 4 and "already applied" in out:  # the killed one had applied it: counted once
                break
            tally.killed += code < 0 or code == -signal.SIGKILL
            tries += 1
            if tries > 5:
                tally.notes.append(f"inv-{i}: not applied after 5 tries: {out[-200:]}")
                break
            proc = tether(repo, *argv[1:], check=False)
            code, out = proc.returncode, proc.stdout
        tally.acked += 1
        applied += 1
    doc = yaml.safe_load((repo / ".tether" / "contexts" / "KILL-1" / "session_context.yaml").read_text())["session_context"]
    log = [e.get("invocation_id") for e in doc["compute"]["invocation_log"]]
    paths = [a["path"] for a in doc.get("artifacts") or []]
    wanted = [f"inv-{i}" for i in range(trials)]
    tally.lost += sum(1 for inv in wanted if inv not in log) + sum(1 for i in range(trials) if f"out/{i}.md" not in paths)
    tally.duplicates += (len(log) - len(set(log))) + (len(paths) - len(set(paths)))
    if doc["revision"] != applied or len(log) != applied:
        tally.notes.append(f"revision {doc['revision']}, invocation_log {len(log)}, applies {applied}")
    if tether(repo, "ctx", "validate", "--campaign", "KILL-1", check=False).returncode != 0:
        tally.notes.append("the context does not validate")
    tally.finish(repo)
    return tally


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


TEAR_LOOP = r"""
import sys
from tether.store import appendlog, fsio

path, size, aligned = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
line = '{"pad":"' + "x" * (size - 11) + '"}\n'
print("go", flush=True)
while True:
    if aligned:
        appendlog.append_text(path, line, durable=False, aligned=True)
    else:
        appendlog.append_text(path, line, durable=False)
"""


def tear(tmp: Path, trials: int, size: int, rng: random.Random) -> list[Tally]:
    """appendlog.append_text of ``size``-byte lines in a loop, killed after a random 0-20 ms: how often is
    the last line torn, with the lines aligned to 4 KiB blocks and without."""
    out = []
    for aligned in (False, True):
        tally = Tally(f"tear-{'aligned' if aligned else 'plain'}")
        for trial in range(trials):
            path = tmp / f"tear-{int(aligned)}-{trial}.jsonl"
            child = subprocess.Popen([sys.executable, "-c", TEAR_LOOP, str(path), str(size), str(int(aligned))],
                                     env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            child.stdout.readline()
            time.sleep(rng.uniform(0, 0.02))
            child.send_signal(signal.SIGKILL)
            child.communicate()
            tally.trials += 1
            tally.killed += child.returncode == -signal.SIGKILL
            data = path.read_bytes() if path.exists() else b""
            if torn_start(data) is not None:
                tally.torn_found.add((path.name, 0, b""))
            path.unlink(missing_ok=True)
        tally.notes.append(f"{size}-byte lines: {len(tally.torn_found)} of {trials} kills left a torn last line")
        out.append(tally)
    return out


# -- (b) concurrent checkpoints -----------------------------------------------------------------------------------

WRITER = r"""
import os, sys, time
from tether import Workspace

root, shared, own, index, rounds, go = sys.argv[1:]
index, rounds = int(index), int(rounds)
ws = Workspace.open(root)
open(f"{go}.ready.{index}", "w").close()
while not os.path.exists(go):
    time.sleep(0.002)
for j in range(rounds):
    item = index * rounds + j + 1
    print("shared", ws.checkpoint(shared, done=[str(item)], state=f"writer {index} item {item}").name, item, flush=True)
    print("own", ws.checkpoint(own, done=[str(j + 1)]).name, j + 1, flush=True)
"""


def start_together(argvs: list[list[str]], cwd: Path, go: Path) -> list[subprocess.Popen]:
    procs = [subprocess.Popen(argv, cwd=cwd, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for argv in argvs]
    deadline = time.monotonic() + 120
    while not all(Path(f"{go}.ready.{i}").exists() for i in range(len(procs))):
        if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
            for p in procs:
                p.kill()
            raise SystemExit("a writer did not start: " + " | ".join(p.communicate()[1][-300:] for p in procs))
        time.sleep(0.01)
    go.touch()
    return procs


def concurrent_checkpoints(tmp: Path, writers: int, rounds: int) -> Tally:
    tally = Tally("concurrent-ckp")
    repo = new_repo(tmp / "concurrent")
    (tmp / "shared.txt").write_text("".join(f"u{n}\n" for n in range(1, writers * rounds + 1)))
    (tmp / "own.txt").write_text("".join(f"u{n}\n" for n in range(1, rounds + 1)))
    tether(repo, "task", "start", "Shared", "--id", "SHARED", "--items-file", str(tmp / "shared.txt"))
    for i in range(writers):
        tether(repo, "task", "start", f"Own {i}", "--id", f"OWN{i}", "--items-file", str(tmp / "own.txt"))
    go = tmp / "go-ckp"
    start = time.perf_counter()
    procs = start_together([[sys.executable, "-c", WRITER, str(repo), "SHARED", f"OWN{i}", str(i), str(rounds), str(go)]
                            for i in range(writers)], repo, go)
    acked: dict[str, dict[str, int]] = {}
    for i, proc in enumerate(procs):
        out, err = proc.communicate()
        if proc.returncode != 0:
            raise SystemExit(f"writer {i} failed: {err.strip()[-500:]}")
        for line in out.splitlines():
            kind, name, item = line.split()
            acked.setdefault("SHARED" if kind == "shared" else f"OWN{i}", {})[name] = int(item)
    elapsed = time.perf_counter() - start
    tally.trials = writers
    tally.acked = sum(len(v) for v in acked.values())
    for task_id, names in acked.items():
        check_checkpoints(repo, task_id, names, tally)
    tally.notes.append(f"{tally.acked:,} checkpoints in {elapsed:.1f} s ({tally.acked / elapsed:,.0f}/s, fsync on)")
    tally.finish(repo)
    return tally


# -- (c) concurrent stale applies ----------------------------------------------------------------------------

def concurrent_ctx(tmp: Path, writers: int, applies: int) -> Tally:
    import yaml

    tally = Tally("ctx-concurrent")
    repo = new_repo(tmp / "ctx-concurrent")
    tether(repo, "ctx", "init", "--campaign", "RACE-1", "--owner", "@bench", "--max-skill-calls", "1000000",
           "--max-tokens", "1000000000")
    script = str(tether_script())
    refused, acked, failures = 0, 0, []
    start = time.perf_counter()
    for batch in range(applies):
        procs = []
        for w in range(writers):
            path = write(tmp / f"stale-{w}-{batch}.yaml", yaml.safe_dump({
                "skill": f"skill-{w}", "base_revision": 0, "invocation_id": f"w{w}-{batch}",
                "artifacts": [{"path": f"out/w{w}-{batch}.md"}], "knowledge": {"findings": {f"w{w}_{batch}": batch}},
                "compute": {"tokens_used": 1}}))
            procs.append(subprocess.Popen([script, "ctx", "apply", str(path), "--campaign", "RACE-1", "--json"],
                                          cwd=repo, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        for proc in procs:
            out, err = proc.communicate()
            tally.trials += 1
            if proc.returncode == 0:
                acked += 1
            elif proc.returncode == 4:
                refused += 1
            else:
                failures.append(err.strip()[-200:])
    elapsed = time.perf_counter() - start
    doc = yaml.safe_load((repo / ".tether" / "contexts" / "RACE-1" / "session_context.yaml").read_text())["session_context"]
    findings = doc.get("knowledge", {}).get("findings", {})
    log = [e.get("invocation_id") for e in doc["compute"]["invocation_log"]]
    tally.acked = acked
    tally.lost = sum(1 for w in range(writers) for b in range(applies) if f"w{w}_{b}" not in findings) - refused
    tally.duplicates = len(log) - len(set(log))
    tally.notes.append(f"{tally.trials} `tether ctx apply` runs based on revision 0, {writers} at a time, in {elapsed:.1f} s:"
                       f" {refused} refused, {len(failures)} failed{': ' + failures[0] if failures else ''}")
    tally.finish(repo)
    return tally


# -- (d) merge and rebase ----------------------------------------------------------------------------------

def branch_work(repo: Path, side: str, rounds: int) -> dict:
    """Checkpoints, a note, a decision and a close --commit on the current branch; what was acknowledged."""
    names = []
    for j in range(rounds):
        out = tether(repo, "checkpoint", "--task", "T1", "--done", str(j + 1 + (0 if side == "main" else rounds)),
                     "--state", f"{side} {j}").stdout
        names.append(re.search(r"checkpoints/(CKP-[0-9]+-[0-9a-z]+)\.md", out).group(1))
    note = json.loads(tether(repo, "note", "gotcha", f"{side} gotcha", "--json").stdout)["note"]["id"]
    decision = json.loads(tether(repo, "decide", f"{side} question?", "--decision", "yes", "--json").stdout)["decision"]["id"]
    tether(repo, "close", "--summary", f"{side} closed", "--commit")
    return {"checkpoints": names, "note": note, "decision": decision, "summary": f"{side} closed"}


def merge_or_rebase(tmp: Path, how: str, rounds: int) -> Tally:
    from tether import Workspace

    tally = Tally(f"branch-{how}")
    repo = new_repo(tmp / f"branch-{how}")
    tether(repo, "task", "start", "Shared work", "--id", "T1", *[f"-i=u{n}" for n in range(1, 2 * rounds + 1)])
    tether(repo, "close", "--summary", "base", "--commit")
    git(repo, "checkout", "-q", "-b", "feature")
    theirs = branch_work(repo, "feature", rounds)
    git(repo, "checkout", "-q", "main")
    ours = branch_work(repo, "main", rounds)
    if how == "merge":
        proc = subprocess.run(["git", "-C", str(repo), "merge", "--no-edit", "feature"], capture_output=True, text=True,
                              env=env())
    else:
        git(repo, "checkout", "-q", "feature")
        proc = subprocess.run(["git", "-C", str(repo), "rebase", "main"], capture_output=True, text=True, env=env())
    tally.trials = 1
    if proc.returncode != 0:
        tally.notes.append(f"git {how} stopped: {(proc.stdout + proc.stderr).strip()[-300:]}")
    ws = Workspace.open(repo)
    store = repo / ".tether"
    names = set(ws.store.checkpoint_names("T1"))
    notes = {n.id for n in ws.notes(include_resolved=True)}
    decisions = {d.id for d in ws.decisions()}
    events = read_jsonl(store / "memory" / "events.jsonl")
    logs = "".join(p.read_text() for p in (store / "progress").glob("*.md"))
    for side in (ours, theirs):
        tally.acked += len(side["checkpoints"]) + 3
        tally.lost += sum(1 for n in side["checkpoints"] if n not in names)
        tally.lost += (side["note"] not in notes) + (side["decision"] not in decisions)
        closes = [e for e in events if e.get("event") == "session_close" and e.get("summary") == side["summary"]]
        sections = logs.count(f"**Summary:** {side['summary']}\n")
        tally.lost += (not closes) + (sections == 0)
        tally.duplicates += max(0, len(closes) - 1) + max(0, sections - 1)
    resume = ws.resume("T1")
    if len(resume.done) != 2 * rounds:
        tally.notes.append(f"after the {how}: {len(resume.done)} of {2 * rounds} units done")
    check = tether(repo, "index", "--check", check=False)
    if check.returncode != 0:
        tally.notes.append(f"index --check after the {how}: {check.stdout.strip()[:200]}")
    tally.finish(repo)
    return tally


# -- main ------------------------------------------------------------------------------------------------------

PARTS = ("tear", "kill-checkpoint", "kill-api", "kill-close", "kill-ctx", "concurrent", "ctx-concurrent", "merge",
         "rebase")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every count below (default 1)")
    parser.add_argument("--kills", type=int, default=60, help="kill trials per kill part (default 60)")
    parser.add_argument("--big-mb", type=float, default=8.0,
                        help="state of the big half of the kill-api trials, in MiB (default 8)")
    parser.add_argument("--tear-bytes", type=int, default=3000,
                        help="line size of the tear part, at most 4096 to be kept whole (default 3000)")
    parser.add_argument("--writers", type=int, default=8, help="concurrent checkpoint writers (default 8)")
    parser.add_argument("--rounds", type=int, default=150, help="checkpoints per writer on the shared task (default 150)")
    parser.add_argument("--ctx-writers", type=int, default=8, help="`tether ctx apply` processes at a time (default 8)")
    parser.add_argument("--ctx-applies", type=int, default=5, help="applies per ctx writer (default 5)")
    parser.add_argument("--branch-rounds", type=int, default=5, help="checkpoints per branch (default 5)")
    parser.add_argument("--seed", type=int, help="random seed (default: drawn and printed)")
    parser.add_argument("--only", action="append", choices=PARTS, help="run only this part (repeatable)")
    parser.add_argument("--keep", action="store_true", help="keep the repositories (their path is printed)")
    args = parser.parse_args()
    if os.environ.get("TETHER_FSYNC") == "0":
        raise SystemExit("TETHER_FSYNC=0 is set: unset it, the writes under test are durable")
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    scaled = lambda n: max(1, int(n * args.scale))  # noqa: E731
    parts = args.only or PARTS
    header("bench_durability")
    print(f"  seed {seed} (--seed {seed} replays the kill moments' draws); scale {args.scale:g}")
    make_workspace.CACHE.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="durability-", dir=make_workspace.CACHE))
    tallies = []
    started = time.perf_counter()
    try:
        for part in parts:
            t0 = time.perf_counter()
            rng = random.Random(f"{seed}-{part}")  # each part its own draws, whichever parts run
            if part == "tear":
                torn = tear(tmp, scaled(args.kills * 2), args.tear_bytes, rng)
                for first in torn[:-1]:
                    first.notes.insert(0, "")
                    tallies.append(first)
                tally = torn[-1]
            elif part == "kill-checkpoint":
                tally = kill_checkpoint(tmp, scaled(args.kills), rng)
            elif part == "kill-api":
                tally = kill_api(tmp, scaled(args.kills), args.big_mb, rng)
            elif part == "kill-close":
                tally = kill_close(tmp, scaled(args.kills), rng)
            elif part == "kill-ctx":
                tally = kill_ctx(tmp, scaled(args.kills), rng)
            elif part == "concurrent":
                tally = concurrent_checkpoints(tmp, args.writers, scaled(args.rounds))
            elif part == "ctx-concurrent":
                tally = concurrent_ctx(tmp, args.ctx_writers, scaled(args.ctx_applies))
            else:
                tally = merge_or_rebase(tmp, part, args.branch_rounds)
            tally.notes.insert(0, f"{time.perf_counter() - t0:.0f} s")
            tallies.append(tally)
            print(f"  done: {part} ({time.perf_counter() - t0:.0f} s)", flush=True)
    finally:
        if args.keep:
            print(f"  repositories kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"\nResults ({time.perf_counter() - started:.0f} s in all). acked: acknowledged records; lost: acknowledged"
          " and not there (0 is the only good figure); torn: torn last lines the kills left;"
          " by next / by repair: repaired by the next writer / by `tether index --repair` at the end.")
    print(TABLE_HEAD)
    for tally in tallies:
        print(tally.row())
    for tally in tallies:
        for note in tally.notes[1:] + [f"verify: {p}" for p in tally.problems[:5]]:
            print(f"  {tally.name}: {note}")
    bad = sum(t.lost + t.duplicates + len(t.problems) for t in tallies)
    print(f"\n  {'NOTHING LOST' if not bad else 'LOST, DUPLICATED OR DAMAGED: ' + str(bad)}"
          f" ({sum(t.acked for t in tallies):,} acknowledged records, {sum(t.trials for t in tallies):,} trials)")


if __name__ == "__main__":
    main()
