"""`tether checkpoint` as a whole process, and durable checkpoints per second vs SqliteSaver.

    .venv/bin/python bench/bench_checkpoint.py            # big workspace
    .venv/bin/python bench/bench_checkpoint.py --small    # quick run

(a) `tether checkpoint --done N --state ...` on the big workspace's active open task (1,000
    checkpoints of history) and on a fresh workspace with one task, round-robin with
    `python -c pass` run by the interpreter of the `tether` script. Target: median <= 3x.
(b) Through the Python API, in this process: Workspace.checkpoint, flushed, side by side
    with langgraph-checkpoint-sqlite's SqliteSaver.put of an equivalent state (same task id,
    done ranges, state text, key data, files, next actions, note) into a file-backed SQLite
    database in the same directory tree. Target: tether >= SqliteSaver. Then one round of each
    with the flush off (tether's fsio._DURABLE, SQLite's synchronous=OFF), to split each side's
    time per checkpoint into its own work and the flush with what it slows.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path

import make_workspace
from common import Cmd, env, header, interleaved, median_ms, print_times, tether_python, tether_script, verdict

ITEMS = [f"docs/doc{n:04d}.pdf" for n in range(1, 2001)]


def state_for(i: int, task_id: str) -> dict:
    """What one checkpoint records: the same content for tether and for SqliteSaver."""
    return {"task": task_id, "done": f"1-{i}", "state": f"Summarised doc {i}; doc {i + 1} needs OCR first.",
            "key_data": {"last_output": f"out/doc{i:04d}.md", "ocr_pages": str(i % 7)},
            "files": [f"out/doc{i:04d}.md", "out/index.md"],
            "next": [f"Summarise doc {i + 1}", "Update out/index.md"], "note": "Benchmark checkpoint."}


# -- (a) whole process ---------------------------------------------------------------------

def fresh_workspace(base: Path) -> tuple[Path, str]:
    """A copy of the cached empty workspace with one started task (2,000 items), active."""
    repo = base / "repo"
    shutil.copytree(make_workspace.ensure("empty"), repo, symlinks=True)
    from tether.workspace import Workspace

    task = Workspace(repo).start_task("Summarise 2,000 documents", items=ITEMS)
    return repo, task.id


def process_bench(kind: str, runs: int) -> None:
    big = make_workspace.ensure(kind)
    open_task = make_workspace.info(big)["open_task"]
    py, tether = tether_python(), str(tether_script())
    with tempfile.TemporaryDirectory(dir=make_workspace.CACHE) as tmp:
        empty, _ = fresh_workspace(Path(tmp))
        counters = {"ckp_empty": 0, "ckp_big": make_workspace.BIG["open_items"] // 2 if kind == "big"
                    else make_workspace.SMALL["open_items"] // 2}
        cmds = [Cmd("python_pass", [py, "-c", "pass"]),
                Cmd("ckp_empty", [], empty), Cmd("ckp_big", [], big)]

        def next_args(cmd: Cmd) -> None:
            # Each run marks the next item done, as a real session would.
            if cmd.name in counters:
                counters[cmd.name] += 1
                n = counters[cmd.name]
                cmd.argv = [tether, "checkpoint", "--done", str(n), "--state", f"Summarised doc {n}",
                            "--data", f"last_output=out/doc{n:04d}.md", "--next", f"Summarise doc {n + 1}"]

        try:
            times = interleaved(cmds, runs, before_each=next_args)
        finally:
            make_workspace.reset(big)
    print(f"\n(a) Whole-process times, {runs} runs each, interleaved; ckp_big checkpoints {open_task} "
          f"(the active task, {make_workspace.info(big)['params']['open_checkpoints']:,} checkpoints of history)")
    print_times(times)
    med = {n: median_ms(v) for n, v in times.items()}
    print(verdict("ckp_big / python_pass", med["ckp_big"] / med["python_pass"], 3))
    print(verdict("ckp_empty / python_pass", med["ckp_empty"] / med["python_pass"], 3))


# -- (b) Python API vs SqliteSaver ----------------------------------------------------------

def tether_rate(base: Path, n: int, durable: bool = True) -> float:
    from tether.store import fsio
    from tether.workspace import Workspace

    if not fsio._DURABLE:
        raise SystemExit("TETHER_FSYNC=0 is set: unset it, the comparison is of durable checkpoints")
    repo, task_id = fresh_workspace(base)
    ws = Workspace(repo)
    fsio._DURABLE = durable  # off only for the breakdown of where the time goes
    try:
        start = time.perf_counter()
        for i in range(1, n + 1):
            s = state_for(i, task_id)
            ws.checkpoint(task_id, done=[str(i)], state=s["state"], key_data=s["key_data"], files=s["files"],
                          next_actions=s["next"], note=s["note"])
        return n / (time.perf_counter() - start)
    finally:
        fsio._DURABLE = True


def sqlite_saver(path: Path):
    from langgraph.checkpoint.sqlite import SqliteSaver

    saver = SqliteSaver(sqlite3.connect(str(path), check_same_thread=False))
    saver.setup()
    return saver


def sqlite_settings(base: Path) -> str:
    saver = sqlite_saver(base / "settings.sqlite")
    journal = saver.conn.execute("PRAGMA journal_mode").fetchone()[0]
    sync = saver.conn.execute("PRAGMA synchronous").fetchone()[0]
    saver.conn.close()
    names = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}
    return f"journal_mode={journal}, synchronous={names.get(sync, sync)} (sqlite {sqlite3.sqlite_version})"


def sqlite_rate(base: Path, n: int, durable: bool = True, task_id: str = "T-bench") -> float:
    from langgraph.checkpoint.base import create_checkpoint, empty_checkpoint

    saver = sqlite_saver(base / "checkpoints.sqlite")
    if not durable:  # only for the breakdown of where the time goes
        saver.conn.execute("PRAGMA synchronous=OFF")
    config = {"configurable": {"thread_id": task_id, "checkpoint_ns": ""}}
    previous = empty_checkpoint()
    start = time.perf_counter()
    for i in range(1, n + 1):
        values = state_for(i, task_id)
        versions = {k: i for k in values}
        base_ckp = {**previous, "channel_values": values, "channel_versions": versions,
                    "versions_seen": {"checkpoint": versions}}
        ckp = create_checkpoint(base_ckp, None, i)
        # put(config, checkpoint, metadata, new_versions): the installed 3.x signature.
        config = saver.put(config, ckp, {"source": "loop", "step": i, "parents": {}}, versions)
        previous = ckp
    rate = n / (time.perf_counter() - start)
    saver.conn.close()
    return rate


def create_cost_us(directory: Path, n: int = 200) -> float:
    """Microseconds to create an empty file here: what a new checkpoint file costs before any write.

    It depends on the filesystem's recent past, not on tether: ext4 without a journal (this
    machine's) passes over every inode freed in the last minute (five while its table block is
    dirty) before it gives out a new one, so creating a file right after many deletions nearby
    costs up to ~50x more. The probe's files stay until the run ends, so that measuring this does
    not itself slow what follows; SqliteSaver creates no file per put.
    """
    probe = directory
    probe.mkdir()
    start = time.perf_counter()
    for i in range(n):
        os.close(os.open(probe / f"f{i}", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
    return (time.perf_counter() - start) / n * 1e6


def api_bench(n: int, rounds: int, where: Path | None) -> None:
    try:
        import langgraph.checkpoint.sqlite  # noqa: F401
    except ImportError:
        print("\n(b) skipped: langgraph-checkpoint-sqlite is not installed (pip install -e '.[bench]')")
        return
    tether_rates, sqlite_rates = [], []
    with tempfile.TemporaryDirectory(dir=where) as tmp:
        settings = sqlite_settings(Path(tmp))
        create_before = create_cost_us(Path(tmp) / "create-probe-before")
        for r in range(rounds):  # alternate the two so they share the machine's noise
            for name, fn, rates in (("tether", tether_rate, tether_rates), ("sqlite", sqlite_rate, sqlite_rates)):
                base = Path(tmp) / f"{name}-{r}"
                base.mkdir()
                rates.append(fn(base, n))
        # Where the time goes: the same loops with the flush off (not a mode anyone should run).
        unflushed = {}
        for name, fn in (("tether", tether_rate), ("sqlite", sqlite_rate)):
            base = Path(tmp) / f"{name}-unflushed"
            base.mkdir()
            unflushed[name] = 1e6 / fn(base, n, durable=False)
        create_after = create_cost_us(Path(tmp) / "create-probe-after")
    t, s = sorted(tether_rates)[rounds // 2], sorted(sqlite_rates)[rounds // 2]
    print(f"\n(b) Durable checkpoints per second through the Python API ({n} checkpoints per round, "
          f"{rounds} rounds alternated, median round; in a new directory under {where or tempfile.gettempdir()})")
    print(f"  tether Workspace.checkpoint (flush on)   {t:8.0f} /s   rounds: {', '.join(f'{x:.0f}' for x in tether_rates)}")
    print(f"  SqliteSaver.put                          {s:8.0f} /s   rounds: {', '.join(f'{x:.0f}' for x in sqlite_rates)}")
    print(f"  SqliteSaver durability: its defaults after setup(): {settings}")
    print("  tether per checkpoint: the Markdown file published (temporary file, hard link; not flushed), its line "
          "appended to the task's checkpoints.jsonl and flushed (fdatasync), the memory-log line appended")
    print(f"  creating an empty file in that directory: {create_before:.0f} us before the rounds, {create_after:.0f} us "
          "after (one per tether checkpoint, none per put; high right after many deletions, see create_cost_us)")
    print(f"  per checkpoint, the same loops without flushing: tether {unflushed['tether']:.0f} us, "
          f"SqliteSaver {unflushed['sqlite']:.0f} us; so the flush and what it slows: tether "
          f"{1e6 / t - unflushed['tether']:.0f} us, SqliteSaver {1e6 / s - unflushed['sqlite']:.0f} us")
    print(verdict("tether / SqliteSaver", t / s, 1.0, lower_is_better=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", action="store_true", help="use the small workspace (quick run)")
    parser.add_argument("--runs", type=int, default=30, help="timed process runs per command (default 30)")
    parser.add_argument("--api-n", type=int, default=500, help="checkpoints per API round (default 500)")
    parser.add_argument("--rounds", type=int, default=3, help="API rounds per side (default 3)")
    parser.add_argument("--api-dir", type=Path, default=None,
                        help="where the API comparison makes its directory (default: the system temp directory)")
    args = parser.parse_args()
    if os.environ.get("TETHER_FSYNC") == "0":
        raise SystemExit("TETHER_FSYNC=0 is set: unset it, these are durable checkpoints")
    header("bench_checkpoint")
    # (b) first: (a) ends by resetting the big workspace, and the files it deletes would slow the
    # file creations of (b) for a minute (see create_cost_us).
    api_bench(args.api_n, args.rounds, args.api_dir)
    process_bench("small" if args.small else "big", args.runs)


if __name__ == "__main__":
    main()
