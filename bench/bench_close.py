"""`tether close` and `tether index --check` as whole processes, with and without the manifest cache.

    .venv/bin/python bench/bench_close.py            # big workspace (111,000 state files)
    .venv/bin/python bench/bench_close.py --small    # a tenth of it, for a quick run

Both commands compute index.json, the manifest of every state file with its sha256. On the
working tree a per-machine cache (.tether/local/manifest-cache) keeps each file's hash with
its stat, so only files changed since the last run are read again.

- warm: the cache is there, from the previous run; before each run the workspace is put back
  to its commit (untimed), which rewrites the files the previous close changed (CONTEXT.md,
  index.json, LATEST.json, the 10 MB event log): those are read again, as after a real session.
- cold: the cache is deleted before each run, as on a fresh clone or a new machine: every
  state file is read and hashed, and the cache is written. The OS page cache stays warm.

Warm runs and cold runs are two round-robin groups (empty and big workspace, close and check,
interleaved so they share the machine's noise); medians are printed with `python -c pass`.
The cache is removed again at the end, so the cached workspaces are left as they were found.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import make_workspace
from common import Cmd, header, interleaved, median_ms, print_times, tether_python, tether_script, verdict

CACHE = ".tether/local/manifest-cache"


def drop_cache(repo: Path) -> None:
    shutil.rmtree(repo / CACHE, ignore_errors=True)


def commands(prefix: str, empty: Path, big: Path, kind: str) -> list[Cmd]:
    tether = str(tether_script())
    close = [tether, "close", "--summary", "bench session"]
    check = [tether, "index", "--check"]
    return [Cmd(f"close_empty_{prefix}", close, empty), Cmd(f"close_{kind}_{prefix}", close, big),
            Cmd(f"check_empty_{prefix}", check, empty), Cmd(f"check_{kind}_{prefix}", check, big)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", action="store_true", help="use the small workspace (quick run)")
    parser.add_argument("--runs", type=int, default=15, help="timed warm runs per command (default 15)")
    parser.add_argument("--cold-runs", type=int, default=5, help="timed cold runs per command (default 5)")
    args = parser.parse_args()
    kind = "small" if args.small else "big"
    empty, big = make_workspace.ensure("empty"), make_workspace.ensure(kind)
    info = make_workspace.info(big)
    header("bench_close")
    print(f"  workspaces: empty {empty}\n              {kind}   {big}")
    print(f"  {kind}: {info['files']:,} state files ({info['params']['tasks']:,} tasks, "
          f"{info['params']['checkpoints']:,} checkpoints, {info['params']['events']:,} memory events)")

    def before(cold: bool):
        def prepare(cmd: Cmd) -> None:
            if cmd.cwd is None:  # python -c pass
                return
            make_workspace.reset(cmd.cwd)  # untimed: back to the commit (close wrote to it)
            if cold:
                drop_cache(cmd.cwd)
        return prepare

    py = tether_python()
    baseline = Cmd("python_pass", [py, "-c", "pass"])
    try:
        warm = interleaved([baseline, *commands("warm", empty, big, kind)], args.runs, before_each=before(False))
        cold = interleaved(commands("cold", empty, big, kind), args.cold_runs, warmup=1, before_each=before(True))
    finally:
        for repo in (empty, big):
            make_workspace.reset(repo)
            drop_cache(repo)
    print(f"\nWarm: the cache from the previous run; {args.runs} runs each, interleaved")
    print_times(warm)
    print(f"\nCold: no cache; {args.cold_runs} runs each, interleaved")
    print_times(cold)
    med = {n: median_ms(v) for n, v in {**warm, **cold}.items()}
    print("\nTarget (issue 2: close on the big workspace well under 1 s, warm) and ratios")
    print(verdict(f"close_{kind}_warm, seconds", med[f"close_{kind}_warm"] / 1000, 1.0))
    for name in (f"close_{kind}", f"check_{kind}"):
        print(f"  {name}: cold / warm {med[name + '_cold'] / med[name + '_warm']:.1f}x, "
              f"warm / empty {med[name + '_warm'] / med[name.replace(kind, 'empty') + '_warm']:.1f}x")


if __name__ == "__main__":
    main()
