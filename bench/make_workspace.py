"""Generate (and cache) the workspaces the benchmarks run on.

    .venv/bin/python bench/make_workspace.py            # the big one: 10k tasks, 100k checkpoints, 100k events
    .venv/bin/python bench/make_workspace.py --small    # a tenth of that, for quick runs

Records are written straight to disk in tether's own formats (Task, Checkpoint
and Decision file formats (store.formats), canonical JSON lines) instead of through 100,000
CLI calls, then committed with git. A workspace is cached under
``$TMPDIR/tether-bench/<parameters>`` and reused by later runs; ``reset()``
puts it back to its commit after a benchmark that writes to it.

Shape of the big workspace: 10 open tasks (bulk items, 1,000 checkpoints each,
the long history a real bulk job leaves) and 9,990 complete tasks sharing the
other 90,000 checkpoints; 100,000 memory events; 1,000 decisions; 300 context
entries; a dated progress log per session day and LATEST.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from tether.model.ids import _ALPHABET  # noqa: E402
from tether.store import formats  # noqa: E402
from tether.store.codec import canonical_json  # noqa: E402
from tether.model.records import Checkpoint, Decision, Task, format_ranges  # noqa: E402

FORMAT = 1  # bump when the generated layout changes: invalidates the cache
BIG = dict(tasks=10_000, checkpoints=100_000, events=100_000, decisions=1_000, notes=300, open_tasks=10,
           open_checkpoints=1_000, open_items=2_000, days=400)
SMALL = dict(tasks=1_000, checkpoints=10_000, events=10_000, decisions=100, notes=60, open_tasks=10,
             open_checkpoints=100, open_items=200, days=60)
END = datetime(2026, 11, 20, 18, 0, tzinfo=timezone.utc)  # the history ends here
CACHE = Path(os.environ.get("TETHER_BENCH_CACHE") or Path(tempfile.gettempdir()) / "tether-bench")


def git_env() -> dict[str, str]:
    """git without the user's config or identity: the bench never touches the real home."""
    return {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_AUTHOR_NAME": "tether bench", "GIT_AUTHOR_EMAIL": "bench@example.invalid",
            "GIT_COMMITTER_NAME": "tether bench", "GIT_COMMITTER_EMAIL": "bench@example.invalid",
            "GIT_AUTHOR_DATE": END.isoformat(), "GIT_COMMITTER_DATE": END.isoformat()}


def git(repo: Path, *args: str) -> str:
    proc = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, env=git_env(), text=True)
    if proc.returncode != 0:
        raise SystemExit(f"git {' '.join(args)} failed in {repo}: {proc.stderr.strip()}")
    return proc.stdout


def stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


class Writer:
    """Plain writes under .tether/, creating directories once (no fsync: not what is measured)."""

    def __init__(self, store: Path) -> None:
        self.store = store
        self.made: set[Path] = set()
        self.files = 0

    def write(self, rel: str, text: str) -> None:
        path = self.store / rel
        if path.parent not in self.made:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.made.add(path.parent)
        path.write_text(text, encoding="utf-8")
        self.files += 1


def _suffix(rng: random.Random) -> str:
    return "".join(rng.choice(_ALPHABET) for _ in range(6))


def _init(repo: Path) -> Path:
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    (repo / "README.md").write_text("# bench project\n\nA repository tether benchmarks run in.\n")
    subprocess.run([sys.executable, "-m", "tether", "init"], cwd=repo, check=True, capture_output=True,
                   env=git_env())
    return repo / ".tether"


def _commit(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--no-verify", "-m", message)
    # Files written in the index's own second are "racily clean" and re-hashed by every
    # `git status` until the index is rewritten: refresh once, a second later, as a user's would be.
    time.sleep(1.1)
    git(repo, "update-index", "-q", "--refresh")


def generate(repo: Path, p: dict, seed: int = 7) -> dict:
    rng = random.Random(seed)
    store = _init(repo)
    w = Writer(store)
    start = END - timedelta(days=p["days"])
    span = (END - start).total_seconds()
    n_closed = p["tasks"] - p["open_tasks"]

    # Tasks: creation times spread over the history; the open ones are the newest.
    tasks: list[Task] = []
    for i in range(p["tasks"]):
        created = start + timedelta(seconds=span * (i + 0.5) / p["tasks"])
        is_open = i >= n_closed
        n_units = p["open_items"] if is_open else rng.randint(5, 40)
        items = [f"docs/batch{i:05d}/doc{n:04d}.pdf" for n in range(1, n_units + 1)]
        task = Task(id=f"T-{created:%y%m%d}-{_suffix(rng)}", title=f"Summarise document batch {i}",
                    created=stamp(created), kind="items", units=items,
                    definition=f"Summarise every document of batch {i} into out/batch{i:05d}/.",
                    criteria=["each summary at most 120 words", "figures cited with page numbers"],
                    status="open" if is_open else "complete",
                    closed=None if is_open else stamp(created + timedelta(hours=6)), created_by="@bench")
        w.write(f"tasks/{task.id}/task.md", formats.task_text(task))
        if is_open:
            w.write(f"open/{task.id}", "")
        tasks.append(task)

    # Checkpoints: open tasks get a long history each; closed tasks share the rest.
    per_task = [p["open_checkpoints"] if t.status == "open" else 0 for t in tasks]
    rest = p["checkpoints"] - sum(per_task)
    for i in range(n_closed):
        per_task[i] = rest // n_closed + (1 if i < rest % n_closed else 0)
    for task, count in zip(tasks, per_task):
        created = datetime.fromisoformat(task.created.replace("Z", "+00:00"))
        total = len(task.units)
        for n in range(1, count + 1):
            done = max(1, round(total * n / count)) if task.status != "open" else max(1, (total // 2) * n // count)
            when = created + timedelta(minutes=5 * n)
            ckp = Checkpoint(
                id=f"CKP-{n:04d}", name=f"CKP-{n:04d}-{_suffix(rng)}", task=task.id, number=n,
                created=stamp(when), status="completed" if task.status != "open" and n == count else "in_progress",
                done=format_ranges(range(1, done + 1)),
                current_state=f"Summarised {done} of {total} documents; doc {done} needed OCR first.",
                key_data={"last_output": f"out/batch/doc{done:04d}.md", "ocr_pages": str(rng.randint(0, 9))},
                files=[f"out/batch/doc{done:04d}.md", "out/batch/index.md"],
                next=[f"Summarise doc {min(done + 1, total)}", "Update out/batch/index.md"],
                note="Checkpoint after a batch of documents.", device="bench-host", session=f"S-{_suffix(rng)}")
            w.write(f"tasks/{task.id}/checkpoints/{ckp.name}.md", formats.checkpoint_text(ckp, task))

    # Decisions: ids start with their date, so the newest sort last.
    for i in range(p["decisions"]):
        when = start + timedelta(seconds=span * (i + 0.5) / p["decisions"])
        d = Decision(id=f"D-{when:%y%m%d}-{_suffix(rng)}", question=f"How should batch {i} handle scanned pages?",
                     decision="Run OCR first, then summarise the text layer.", when=stamp(when),
                     rationale="The text layer of scans is empty; summaries of nothing are worse than slow ones.",
                     who="@bench")
        w.write(f"decisions/{d.id}.md", formats.decision_text(d))

    # Context entries (notes), a few resolved.
    kinds = ("phase", "gotcha", "dont", "blocker", "note")
    lines = []
    for i in range(p["notes"]):
        when = start + timedelta(seconds=span * (i + 0.5) / p["notes"])
        note_id = f"N-{when:%y%m%d}-{_suffix(rng)}"
        lines.append(canonical_json({"id": note_id, "kind": kinds[i % 5], "text": f"Entry {i}: scanned PDFs need OCR "
                                     "before summarising, or the summary is empty.", "at": stamp(when), "by": "@bench"}))
        if i % 5 == 3 and i < p["notes"] - 10:  # old blockers get resolved
            lines.append(canonical_json({"resolve": note_id, "at": stamp(when + timedelta(days=1))}))
    w.write("context.jsonl", "\n".join(lines) + "\n")

    # Memory events, oldest first; every 50th closes a session.
    names = ("checkpoint", "checkpoint", "checkpoint", "session_start", "decision", "session_end")
    lines = []
    for i in range(p["events"]):
        when = start + timedelta(seconds=span * (i + 0.5) / p["events"])
        task = tasks[min(len(tasks) - 1, i * len(tasks) // p["events"])]
        event = {"at": stamp(when), "event": "session_close" if i % 50 == 49 else names[i % len(names)],
                 "session": f"S-{when:%y%m%d}-{_suffix(rng)}", "task": task.id}
        lines.append(canonical_json(event))
    w.write("memory/events.jsonl", "\n".join(lines) + "\n")

    # Progress: a dated log per session day, LATEST.json for the last one.
    latest = None
    for d in range(p["days"]):
        day = start + timedelta(days=d + 1)
        sections = [f"# Progress log {day:%Y-%m-%d}\n"]
        for h in (10, 16):
            sections.append(f"\n## {h}:00 UTC, session S-{day:%y%m%d}-{_suffix(rng)}\n\n"
                            f"**Summary:** Summarised more document batches (day {d}).\n"
                            "**Next steps:**\n- Continue with the next batch\n- Review OCR output\n")
        w.write(f"progress/{day:%Y-%m-%d}.md", "".join(sections))
        latest = {"date": f"{day:%Y-%m-%d}", "file": f".tether/progress/{day:%Y-%m-%d}.md", "sha": None,
                  "summary": f"Summarised more document batches (day {d}).",
                  "next_steps": ["Continue with the next batch", "Review OCR output"], "completed": [],
                  "session": "S-bench", "generated_at": stamp(day)}
    if latest:
        w.write("progress/LATEST.json", json.dumps(latest, indent=2, sort_keys=True, ensure_ascii=False) + "\n")

    # This machine's active task (local/ is git-ignored, as after `tether task start`).
    open_ids = [t.id for t in tasks if t.status == "open"]
    if open_ids:
        w.write("local/active", open_ids[-1] + "\n")
    # CONTEXT.md and index.json, as `tether close` leaves them.
    from tether.core import close as session
    from tether.workspace import Workspace

    t0 = time.perf_counter()
    session.write_generated(Workspace(repo))
    generated = time.perf_counter() - t0
    _commit(repo, "bench history")
    return {"files": w.files, "open_task": open_ids[-1] if open_ids else None,
            "write_generated_seconds": round(generated, 2)}


def ensure(kind: str = "big", quiet: bool = False) -> Path:
    """The cached repository for ``kind`` ('big', 'small' or 'empty'), generated if needed."""
    params = {"big": BIG, "small": SMALL, "empty": {}}[kind]
    key = hashlib.sha256(json.dumps([FORMAT, params], sort_keys=True).encode()).hexdigest()[:10]
    home = CACHE / f"{kind}-{key}"
    repo, done = home / "repo", home / "READY"
    if done.exists():
        reset(repo)
        return repo
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    t0 = time.perf_counter()
    if kind == "empty":
        _init(repo)
        _commit(repo, "tether init")
        info = {}
    else:
        if not quiet:
            print(f"generating the {kind} workspace in {repo} (cached for later runs) ...", file=sys.stderr)
        info = generate(repo, params)
    done.write_text(json.dumps({"params": params, **info, "seconds": round(time.perf_counter() - t0, 1)}) + "\n")
    if not quiet and kind != "empty":
        print(f"  done in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    return repo


def reset(repo: Path) -> None:
    """Undo what a benchmark wrote: tracked files back to HEAD, new files under .tether/ removed."""
    status = git(repo, "status", "--porcelain", "--untracked-files=all", "--", ".tether")
    if status.strip():
        git(repo, "reset", "-q", "--hard", "HEAD")
        git(repo, "clean", "-fdq", "--", ".tether")


def info(repo: Path) -> dict:
    return json.loads((repo.parent / "READY").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", action="store_true", help="a tenth of the big workspace")
    parser.add_argument("--fresh", action="store_true", help="regenerate even if cached")
    args = parser.parse_args()
    for kind in ("empty", "small" if args.small else "big"):
        if args.fresh:
            for old in CACHE.glob(f"{kind}-*"):
                shutil.rmtree(old)
        repo = ensure(kind)
        print(f"{kind:6} {repo}  {json.dumps(info(repo))}")


if __name__ == "__main__":
    main()
