"""The long fuzz run: every parser and the hook's stdin, through real processes.

    .venv/bin/python bench/bench_fuzz.py --cases 2000 --seed 20261121 --timeout 20

Prints, per parser and in total: cases, command runs, crashes (exit 70, a traceback, an
undocumented exit code), hangs (a run past --timeout), damage not reported (a file that
breaks docs/formats.md that the reporting command does not name), progress lost, invalid
files tether wrote, other broken contracts and writes outside the repository; then every
distinct failure signature (exception type and innermost frame in tether, or what went
unreported) with how often it occurred and the case that replays it. The harness and what
each kind means are in tests/fuzzing.py; tests/test_fuzz.py runs a short sample in CI.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import fuzzing  # noqa: E402

KINDS = ("crash", "hang", "unreported", "progress", "wrote-invalid", "contract", "escape", "harness")

_worker: fuzzing.Runner | None = None


def _start_worker(template_root: str, facts: dict, workdir: str, timeout: float) -> None:
    global _worker
    template = fuzzing.Template(Path(template_root), facts)
    _worker = fuzzing.Runner(template, Path(workdir) / f"w{os.getpid()}", timeout, categories=fuzzing.ALL_CATEGORIES)


def _run_one(job: tuple[int, int, int]) -> dict:
    seed, index, per_case = job
    case = fuzzing.make_case(seed, index, _worker.template, per_case)
    result = _worker.run(case)
    return {"case": case, "mutation": result.mutation, "verdict": result.verdict.valid,
            "runs": [(name, run.code, run.seconds) for name, run in result.runs], "failures": result.failures}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=800, help="cases to run (default 800, ~3 runs each)")
    parser.add_argument("--seed", type=int, default=fuzzing.DEFAULT_SEED)
    parser.add_argument("--first", type=int, default=0, help="index of the first case (to continue a run)")
    parser.add_argument("--timeout", type=float, default=20.0, help="seconds before a run counts as a hang")
    parser.add_argument("--jobs", type=int, default=1, help="cases run at once (default 1)")
    parser.add_argument("--commands-per-case", type=int, default=2, help="commands besides the reporter (default 2)")
    parser.add_argument("--show", type=int, default=0, help="print the full report of the first N failures")
    args = parser.parse_args(argv)
    sys.stdout.reconfigure(errors="backslashreplace")  # a signature may quote a lone surrogate

    workdir = Path(tempfile.mkdtemp(prefix="tether-bench-fuzz-"))
    started = time.monotonic()
    commit = subprocess.run(["git", "-C", str(fuzzing.PROJECT), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip() or "?"
    dirty = subprocess.run(["git", "-C", str(fuzzing.PROJECT), "status", "--porcelain", "src"], capture_output=True,
                           text=True).stdout.strip()
    print(f"bench_fuzz  ({time.strftime('%Y-%m-%d %H:%M')}, {platform.machine()}, {os.cpu_count()} cores, "
          f"{platform.python_implementation()} {platform.python_version()}, commit {commit}"
          f"{' with uncommitted changes in src/' if dirty else ''})")
    import tether

    print(f"  tether under test: {Path(tether.__file__).parent} (as `python -m tether` finds it)")
    real = len(fuzzing.real_hook_inputs())
    print(f"  seed {args.seed}, cases {args.first}..{args.first + args.cases - 1}, timeout {args.timeout:g} s, "
          f"jobs {args.jobs}; hook inputs: the documented fields"
          + (f" and {real} recorded by Claude Code (../shared)" if real else " (../shared absent)"))
    template = fuzzing.build_template(workdir / "template")
    jobs = [(args.seed, i, args.commands_per_case) for i in range(args.first, args.first + args.cases)]
    results = []
    init = (str(template.root), template.facts, str(workdir / "cases"), args.timeout)
    try:
        if args.jobs > 1:
            with multiprocessing.get_context("fork").Pool(args.jobs, _start_worker, init) as pool:
                for done, result in enumerate(pool.imap_unordered(_run_one, jobs, chunksize=4), 1):
                    results.append(result)
                    _progress(done, len(jobs), started)
        else:
            _start_worker(*init)
            for done, job in enumerate(jobs, 1):
                results.append(_run_one(job))
                _progress(done, len(jobs), started)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(file=sys.stderr)
    report(results, time.monotonic() - started, args.show)
    return 0


def _progress(done: int, total: int, started: float) -> None:
    if done % 25 == 0 or done == total:
        print(f"\r  {done}/{total} cases, {time.monotonic() - started:.0f} s", end="", file=sys.stderr, flush=True)


def report(results: list[dict], seconds: float, show: int) -> None:
    by_target: dict[str, Counter] = defaultdict(Counter)
    signatures: dict[tuple[str, str], list] = defaultdict(list)
    run_seconds = []
    for result in sorted(results, key=lambda r: r["case"].index):
        case = result["case"]
        row = by_target[case.target]
        row["cases"] += 1
        row["runs"] += len(result["runs"])
        row["damaged"] += result["verdict"] is False
        run_seconds += [s for _, code, s in result["runs"] if code is not None]
        kinds = set()
        for failure in result["failures"]:
            row[failure.kind] += 1
            kinds.add(failure.kind)
            signatures[(failure.kind, failure.signature)].append(failure)
        row["failing cases"] += bool(kinds)
    columns = ["cases", "runs", "damaged", *KINDS, "failing cases"]
    width = max(len(t) for t in by_target) + 2
    print(f"\n{'parser':<{width}}" + "".join(f"{c:>{max(len(c), 6) + 2}}" for c in columns))
    total: Counter = Counter()
    for target in fuzzing.TARGET_ORDER:
        if target in by_target:
            row = by_target[target]
            total.update(row)
            print(f"{target:<{width}}" + "".join(f"{row[c]:>{max(len(c), 6) + 2}}" for c in columns))
    print(f"{'total':<{width}}" + "".join(f"{total[c]:>{max(len(c), 6) + 2}}" for c in columns))
    print(f"\n  damaged: cases whose broken file no longer follows docs/formats.md (the others stay readable or the "
          f"docs leave them open);\n  {len(run_seconds)} runs took {sum(run_seconds):.0f} s of {seconds:.0f} s; "
          f"slowest run {max(run_seconds, default=0):.1f} s")
    categories = fuzzing.ALL_CATEGORIES
    unreported: dict[str, Counter] = defaultdict(Counter)
    for (kind, signature), failures in signatures.items():
        if kind == "unreported":
            for failure in failures:
                found = re.search(r"\[(\w+)\]$", signature)
                unreported[failure.case.target][found.group(1) if found else "other"] += 1
    if unreported:
        print(f"\nunreported damage by kind (syntax: unreadable; type: a field's JSON type; missing: a required "
              f"field; value: an enum, key or path; state: a directory, link or marker where it should not be; "
              f"format: an ISO time or date that is not one, index.json's shape, digests and count; "
              f"other: what a command used or accepted):")
        print(f"{'parser':<{width}}" + "".join(f"{c:>9}" for c in (*categories, "other")))
        for target in fuzzing.TARGET_ORDER:
            if target in unreported:
                print(f"{target:<{width}}" + "".join(f"{unreported[target][c]:>9}" for c in (*categories, "other")))
    print(f"\n{len(signatures)} distinct failure signatures (count, parsers, first case):")
    for kind in KINDS:
        found = sorted(((k, s), f) for (k, s), f in signatures.items() if k == kind)
        if not found:
            continue
        print(f"\n  {kind} ({len(found)})")
        for (_, signature), failures in sorted(found, key=lambda item: -len(item[1])):
            targets = sorted({f.case.target for f in failures})
            first = failures[0]
            print(f"    {len(failures):4}  {signature}\n          parsers: {', '.join(targets)}; "
                  f"first: {first.case.id} ({first.mutation[:70]}; `{first.command[:80]}`)")
    if show:
        print(f"\nThe first {show} failure(s) in full:")
        shown = [f for r in sorted(results, key=lambda r: r["case"].index) for f in r["failures"]][:show]
        for failure in shown:
            print("\n" + failure.report())


if __name__ == "__main__":
    sys.exit(main())
