"""What the benchmarks share: the interpreter, interleaved timing, and printing."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from make_workspace import git_env

BENCH_DIR = Path(__file__).resolve().parent


def tether_script() -> Path:
    """The ``tether`` console script of the environment running this benchmark."""
    script = Path(sys.executable).parent / "tether"
    if not script.is_file():
        raise SystemExit(f"no tether script beside {sys.executable}: run with the venv's python "
                         "(.venv/bin/python bench/...) after `.venv/bin/pip install -e '.[bench]'`")
    return script


def tether_python() -> str:
    """The interpreter the ``tether`` script runs under (its shebang): the baseline's python."""
    first = tether_script().read_text().splitlines()[0]
    if not first.startswith("#!"):
        raise SystemExit(f"{tether_script()} has no shebang line")
    return first[2:].strip().split()[0]


def pycache() -> Path:
    from make_workspace import CACHE

    return CACHE / "pycache"


def env() -> dict[str, str]:
    """What the measured processes see: durable writes on, no user git config, cached bytecode.

    Some shells (CI, agent sandboxes) set PYTHONDONTWRITEBYTECODE=1: every run would then
    recompile each module edited since its last .pyc, which no installed tether pays. The
    measured processes, baseline included, keep their bytecode under the bench cache instead.
    """
    out = git_env()
    for name in ("TETHER_FSYNC", "TETHER_NOW", "PYTHONDONTWRITEBYTECODE"):
        out.pop(name, None)
    out["PYTHONPYCACHEPREFIX"] = str(pycache())
    return out


@dataclass
class Cmd:
    name: str
    argv: list[str]
    cwd: Path | None = None
    stdin: bytes | None = None


def run_once(cmd: Cmd, environ: dict[str, str]) -> tuple[float, bytes]:
    start = time.perf_counter()
    proc = subprocess.run(cmd.argv, cwd=cmd.cwd, input=cmd.stdin, capture_output=True, env=environ,
                          stdin=None if cmd.stdin is not None else subprocess.DEVNULL)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{cmd.name} exited {proc.returncode}: {proc.stderr.decode(errors='replace').strip()}")
    return elapsed, proc.stdout


def interleaved(cmds: list[Cmd], runs: int, warmup: int = 3, before_each=None) -> dict[str, list[float]]:
    """Run the commands round-robin (A B C A B C ...) so they share the machine's noise."""
    environ = env()
    times: dict[str, list[float]] = {c.name: [] for c in cmds}
    for i in range(warmup + runs):
        for cmd in cmds:
            if before_each:
                before_each(cmd)
            elapsed, _ = run_once(cmd, environ)
            if i >= warmup:
                times[cmd.name].append(elapsed)
    return times


def median_ms(values: list[float]) -> float:
    return statistics.median(values) * 1000


def spread(values: list[float]) -> str:
    qs = statistics.quantiles(values, n=4) if len(values) >= 4 else [min(values), 0, max(values)]
    return f"{qs[0] * 1000:6.1f} .. {qs[2] * 1000:6.1f}"


def print_times(times: dict[str, list[float]]) -> None:
    width = max(len(n) for n in times)
    print(f"  {'command':<{width}}  {'median ms':>9}  {'IQR ms':>16}  runs")
    for name, values in times.items():
        print(f"  {name:<{width}}  {median_ms(values):9.1f}  {spread(values):>16}  {len(values)}")


def verdict(label: str, value: float, target: float, lower_is_better: bool = True) -> str:
    ok = value <= target if lower_is_better else value >= target
    sign = "<=" if lower_is_better else ">="
    return f"  {label:<44} {value:6.2f}   target {sign} {target:<4}  {'ok' if ok else 'MISSED'}"


def header(title: str) -> None:
    py = tether_python()
    print(f"{title}  ({time.strftime('%Y-%m-%d %H:%M')}, {platform.machine()}, {os.cpu_count()} cores, "
          f"{platform.python_implementation()} {platform.python_version()})")
    print(f"  interpreter of `tether` (baseline runs it): {py}")
    if os.path.realpath(py) != py:
        print(f"    -> resolves to {os.path.realpath(py)}")
    print(f"  tether script: {tether_script()}")
    print(f"  bytecode of the measured processes cached in {pycache()} (PYTHONPYCACHEPREFIX)")
