"""Two versions of tether side by side in one run: boot, the SessionStart hook and checkpoints.

    .venv/bin/python bench/bench_versions.py --before 968b61f            # big workspace
    .venv/bin/python bench/bench_versions.py --before 968b61f --small    # a tenth of it

The version at ``--before`` (any git revision of this repository) is unpacked from git
into a temporary folder; ``--after`` is this checkout's ``src/`` (or another revision).
Each version runs as ``python -m tether`` with its own ``src`` on PYTHONPATH, in its own
copy of the same generated workspace (each keeps its own per-machine caches), and the
runs alternate between them so they share the machine's noise. Printed: medians of
``python -c pass``, warm and cold ``tether boot``, the warm and cold SessionStart hook,
``tether checkpoint`` as a process, and durable checkpoints per second through the
Python API, with the ratio after / before for each.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import make_workspace
from common import env, median_ms, spread

ROOT = Path(__file__).resolve().parents[1]

API_LOOP = """
import sys, time
from tether import Workspace
ws = Workspace.open(sys.argv[1])
task = ws.start_task("API loop", items=[f"doc{i}" for i in range(1, 2001)])
n = int(sys.argv[2])
start = time.perf_counter()
for i in range(1, n + 1):
    ws.checkpoint(done=[str(i)], state=f"doc {i} done")
print(n / (time.perf_counter() - start))
"""


def unpack(rev: str, into: Path) -> Path:
    """``src/`` of ``rev`` as files under ``into``; returns the folder to put on PYTHONPATH."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", rev, "src"], capture_output=True)
    if archive.returncode != 0:
        raise SystemExit(f"git archive {rev} failed: {archive.stderr.decode(errors='replace').strip()}")
    tar = into / "src.tar"
    tar.write_bytes(archive.stdout)
    with tarfile.open(tar) as fh:
        fh.extractall(into)
    return into / "src"


def copy_repo(repo: Path, into: Path) -> Path:
    target = into / "repo"
    shutil.copytree(repo, target, symlinks=True)
    return target


class Version:
    def __init__(self, label: str, src: Path, repo: Path, empty: Path) -> None:
        self.label, self.src, self.repo, self.empty = label, src, repo, empty
        self.env = {**env(), "PYTHONPATH": str(src)}

    def tether(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "tether", *args]


def hook_input(repo: Path) -> bytes:
    return json.dumps({"session_id": "bench-session", "transcript_path": str(repo / "transcript.jsonl"),
                       "cwd": str(repo), "hook_event_name": "SessionStart", "source": "startup"}).encode()


CPU: dict[str, list[float]] = {}  # each measure's CPU time (user + system) per run, beside its wall time


def timed(argv: list[str], cwd: Path, environ: dict, stdin: bytes | None = None, name: str | None = None) -> float:
    """The wall time of one run; with ``name``, its CPU time is kept in CPU[name] too (a shared
    machine's other work delays a process without adding to its CPU time)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, input=stdin, capture_output=True, env=environ,
                          stdin=None if stdin is not None else subprocess.DEVNULL)
    elapsed = time.perf_counter() - start
    if name is not None:
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        CPU.setdefault(name, []).append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    if proc.returncode not in (0, 3):
        raise SystemExit(f"{' '.join(argv)} exited {proc.returncode}: {proc.stderr.decode(errors='replace')[-400:]}")
    return elapsed


def drop_boot_cache(repo: Path) -> None:
    for name in ("boot.cache",):
        try:
            (repo / ".tether" / "local" / name).unlink()
        except FileNotFoundError:
            pass


def run(versions: list[Version], runs: int) -> dict[str, list[float]]:
    """Round-robin over (command, version); warm runs first build the cache once."""
    times: dict[str, list[float]] = {"python_pass": []}
    plain = {k: v for k, v in env().items() if k != "PYTHONPATH"}
    for v in versions:
        timed(v.tether("boot"), v.repo, v.env)  # the warm runs start from a cache
        timed(v.tether("boot"), v.empty, v.env)
    for i in range(3 + runs):
        def measure(name: str, argv: list[str], cwd: Path, environ: dict, stdin: bytes | None = None) -> None:
            sample[name] = timed(argv, cwd, environ, stdin, name if i >= 3 else None)

        sample: dict[str, float] = {}
        measure("python_pass", [sys.executable, "-c", "pass"], ROOT, plain)
        for v in versions:
            measure(f"boot_empty {v.label}", v.tether("boot"), v.empty, v.env)
            measure(f"boot_big {v.label}", v.tether("boot"), v.repo, v.env)
            measure(f"hook_big {v.label}", v.tether("hook", "claude-code"), v.repo, v.env, hook_input(v.repo))
            drop_boot_cache(v.repo)
            measure(f"boot_big_cold {v.label}", v.tether("boot"), v.repo, v.env)
            drop_boot_cache(v.repo)
            measure(f"hook_big_cold {v.label}", v.tether("hook", "claude-code"), v.repo, v.env, hook_input(v.repo))
        if i >= 3:
            for name, value in sample.items():
                times.setdefault(name, []).append(value)
    return times


def run_checkpoints(versions: list[Version], runs: int, task: str) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {}
    for i in range(3 + runs):
        for v in versions:
            value = timed(v.tether("checkpoint", "--task", task, "--state", f"bench {i}"), v.repo, v.env,
                          name=f"checkpoint {v.label}" if i >= 3 else None)
            if i >= 3:
                times.setdefault(f"checkpoint {v.label}", []).append(value)
    return times


def api_rates(versions: list[Version], n: int, rounds: int, scratch: Path) -> dict[str, list[float]]:
    rates: dict[str, list[float]] = {}
    for r in range(rounds):
        for v in versions:
            repo = scratch / f"api-{v.label}-{r}"
            repo.mkdir(parents=True)
            subprocess.run(["git", "init", "-q", str(repo)], check=True)
            subprocess.run(v.tether("init"), cwd=repo, env=v.env, capture_output=True, check=True)
            out = subprocess.run([sys.executable, "-c", API_LOOP, str(repo), str(n)], env=v.env, capture_output=True,
                                 text=True)
            if out.returncode != 0:
                raise SystemExit(f"API loop ({v.label}) failed: {out.stderr[-400:]}")
            rates.setdefault(f"api {v.label}", []).append(float(out.stdout.strip().splitlines()[-1]))
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", required=True, help="the older version: a git revision of this repository")
    parser.add_argument("--after", default=None, help="the newer version (default: this checkout's src/)")
    parser.add_argument("--small", action="store_true", help="the small workspace (quick run)")
    parser.add_argument("--runs", type=int, default=20, help="timed runs per command and version (default 20)")
    parser.add_argument("--api-n", type=int, default=300, help="checkpoints per API round (default 300)")
    parser.add_argument("--rounds", type=int, default=3, help="API rounds per version (default 3)")
    args = parser.parse_args()
    kind = "small" if args.small else "big"
    big, empty = make_workspace.ensure(kind), make_workspace.ensure("empty")
    task = json.loads((big.parent / "READY").read_text()).get("open_task")
    scratch = Path(tempfile.mkdtemp(prefix="tether-versions-"))
    try:
        versions = []
        for label, rev in (("before", args.before), ("after", args.after)):
            home = scratch / label
            home.mkdir()
            src = unpack(rev, home) if rev else ROOT / "src"
            versions.append(Version(label, src, copy_repo(big, home), copy_repo(empty, home / "e")))
        print(f"bench_versions ({time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores): before = {args.before},"
              f" after = {args.after or 'this checkout'}; {kind} workspace; {args.runs} runs each, interleaved")
        times = run(versions, args.runs)
        times.update(run_checkpoints(versions, args.runs, task))
        rates = api_rates(versions, args.api_n, args.rounds, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    base = median_ms(times["python_pass"])
    print(f"\n  {'measure':<16} {'before ms':>10} {'after ms':>10} {'after/before':>13} {'before/python':>14}"
          f" {'after/python':>13}")
    print(f"  {'python -c pass':<16} {base:10.1f}")
    for name in ("boot_empty", "boot_big", "hook_big", "boot_big_cold", "hook_big_cold", "checkpoint"):
        b, a = median_ms(times[f"{name} before"]), median_ms(times[f"{name} after"])
        print(f"  {name:<16} {b:10.1f} {a:10.1f} {a / b:13.2f} {b / base:14.2f} {a / base:13.2f}")
    print("  spreads (IQR ms): " + "; ".join(f"{k} {spread(v).strip()}" for k, v in times.items()))
    cpu_base = median_ms(CPU["python_pass"])
    print(f"\n  CPU time (user + system) of the same runs, medians in ms\n  {'python -c pass':<16} {cpu_base:10.1f}")
    for name in ("boot_empty", "boot_big", "hook_big", "boot_big_cold", "hook_big_cold", "checkpoint"):
        b, a = median_ms(CPU[f"{name} before"]), median_ms(CPU[f"{name} after"])
        print(f"  {name:<16} {b:10.1f} {a:10.1f} {a / b:13.2f} {b / cpu_base:14.2f} {a / cpu_base:13.2f}")
    b, a = sorted(rates["api before"])[len(rates["api before"]) // 2], sorted(rates["api after"])[len(rates["api after"]) // 2]
    print(f"  {'API checkpoints':<16} {b:8.0f}/s {a:8.0f}/s {a / b:13.2f}   (median of {args.rounds} rounds of"
          f" {args.api_n}; higher is better)")


if __name__ == "__main__":
    main()
