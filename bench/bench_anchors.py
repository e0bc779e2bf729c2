"""Boot with memories anchored to code, beside the same workspace whose memories cite nothing.

Two small repositories, each with N context entries: in one every entry cites a file of the
repository and one of those files changed since (so the brief carries the "May be stale"
section); in the other the entries cite nothing. Both boot warm; `python -c pass` is the floor.

    .venv/bin/python bench/bench_anchors.py [--notes N] [--runs N]
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
from pathlib import Path

from common import Cmd, env, header, interleaved, median_ms, print_times, tether_python, tether_script, verdict


def workspace(root: Path, notes: int, anchored: bool) -> None:
    environ = env()
    root.mkdir()
    (root / "src").mkdir()
    for i in range(notes):
        (root / "src" / f"f{i}.py").write_text(f"v = {i}\n")
    for argv in (["git", "init", "-q"], ["git", "add", "."], ["git", "commit", "-q", "-m", "code"]):
        subprocess.run(argv, cwd=root, check=True, env=environ)
    tether = str(tether_script())
    subprocess.run([tether, "init"], cwd=root, check=True, env=environ, capture_output=True)
    for i in range(notes):
        text = f"src/f{i}.py holds v = {i}" if anchored else f"file {i} holds v = {i}"
        subprocess.run([tether, "note", "gotcha", text], cwd=root, check=True, env=environ, capture_output=True)
    if anchored:
        (root / "src" / "f0.py").write_text("v = changed\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--notes", type=int, default=50)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    header("boot with anchored memories")
    with tempfile.TemporaryDirectory() as tmp:
        anchored, plain = Path(tmp) / "anchored", Path(tmp) / "plain"
        workspace(anchored, args.notes, True)
        workspace(plain, args.notes, False)
        tether = str(tether_script())
        times = interleaved([Cmd("python -c pass", [tether_python(), "-c", "pass"]),
                             Cmd(f"boot, {args.notes} entries citing nothing", [tether, "boot"], plain),
                             Cmd(f"boot, {args.notes} anchored entries (1 stale)", [tether, "boot"], anchored)],
                            args.runs)
        out = subprocess.run([tether, "boot"], cwd=anchored, capture_output=True, text=True, env=env()).stdout
        assert "May be stale" in out, out
    print_times(times)
    floor, plain_ms, anchored_ms = (median_ms(v) for v in times.values())
    print(verdict("anchored boot / boot citing nothing", anchored_ms / plain_ms, 1.5))
    print(verdict("anchored boot / python -c pass", anchored_ms / floor, 3.0))


if __name__ == "__main__":
    main()
