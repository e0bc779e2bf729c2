"""Offload maps: the cost of adding one packet to a cluster of 1,000 and of 10,000 packets.

    .venv/bin/python bench/bench_offload.py                  # 1,000 and 10,000 (~2 min on 2 cores)
    .venv/bin/python bench/bench_offload.py --sizes 1000 10000 --runs 30

For each size a fresh repository gets one cluster of N packets (blobs, frames, links and terms
written as `tether offload add` writes them; then one `tether offload map` builds the maps and
the per-machine cache, untimed). Then, side by side, median and p95 in ms and the ratio of the
largest size to the smallest:

(a) map regeneration after one packet is added: the time `Offload.add` spends on the maps
    (appending the new packet's lines to its cluster's maps, and the map of all clusters),
    in this process, over --runs adds;
(b) the whole `Offload.add` in this process (checks, the packet written with fsync, the maps);
(c) a cluster's full re-render from the cache (what a retirement or a merge costs: every packet
    file stat'ed, none parsed);
(d) `tether offload add` as a whole process, round-robin with `python -c pass`.

Then ingest throughput: `Offload.ingest` of --ingest files (default 3,000; 0 skips it) taken in
sorted order from the Markdown, text, reStructuredText, HTML, JSON and YAML files under
--ingest-root (default: the base interpreter's site-packages, the documentation of the
packages on this machine), into a fresh cluster, fsync on: files/s and MB/s read, and what
became of them (blobs, links, duplicates, problems).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import env, tether_python, tether_script  # noqa: E402

C = "Cluster01_BPOE_Deltas"


def build(root: Path, n: int) -> None:
    from tether import Workspace
    from tether.model import ids
    from tether.offload import Offload, packets

    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True, env=env())
    ws, _ = Workspace.init(root)
    off = Offload(ws)
    off.create_cluster(C, title="BPOE deltas")
    kinds = ["blob", "blob", "frame", "link", "term"]
    folder = root / ".tether" / "offload" / "clusters" / C
    for i in range(n):
        kind = kinds[i % len(kinds)]
        target = {"target": f"docs/d{i}.md", "target_kind": "path", "resolves": False,
                  "resolution": "no such path in the repository", "checked": "2026-12-05T08:00:00Z"}
        doc = packets.make(packet_id=ids.ordered_id(packets.KINDS[kind]), kind=kind, cluster=C,
                           title=f"Packet {i} of the wave", created="2026-12-05T08:00:00Z", session="S-bench",
                           tags=["bench", f"t{i % 7}"], content=f"Insight number {i}. " * 8,
                           target=target if kind == "link" else None)
        (folder / f"{doc['id']}.yaml").write_bytes(packets.dump(doc))
    Offload(ws).refresh()


class Timed:
    """An Offload whose map steps are timed."""

    def __new__(cls, workspace, spent: list):
        from tether.offload.api import Offload

        class T(Offload):
            def _append(self, *a, **k):
                start = time.perf_counter()
                try:
                    return super()._append(*a, **k)
                finally:
                    spent[-1] += time.perf_counter() - start

            def _rebuild(self, *a, **k):
                start = time.perf_counter()
                try:
                    return super()._rebuild(*a, **k)
                finally:
                    spent[-1] += time.perf_counter() - start

            def _write_top(self, *a, **k):
                start = time.perf_counter()
                try:
                    return super()._write_top(*a, **k)
                finally:
                    spent[-1] += time.perf_counter() - start

        return T(workspace)


def stats(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return statistics.median(ordered) * 1000, ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))] * 1000


def measure(root: Path, runs: int, procs: int) -> dict:
    from tether import Workspace

    ws = Workspace.open(root)
    maps_spent: list[float] = []
    whole: list[float] = []
    appended = 0
    for i in range(runs):
        maps_spent.append(0.0)
        off = Timed(ws, maps_spent)
        start = time.perf_counter()
        done = off.add("blob", C, f"Bench add {i}", content=f"One more insight {i}.", tags=["bench"])
        whole.append(time.perf_counter() - start)
        appended += done["appended"]
    rebuild = []
    for _ in range(max(3, runs // 6)):
        off = Timed(ws, [0.0])
        start = time.perf_counter()
        off._rebuild(C)
        rebuild.append(time.perf_counter() - start)
    process, baseline = [], []
    cmd = [str(tether_script()), "offload", "add", "blob", "-c", C, "-T", "From a process", "one more"]
    for i in range(procs):
        for argv, out in ((cmd, process), ([tether_python(), "-c", "pass"], baseline)):
            start = time.perf_counter()
            subprocess.run(argv, cwd=root, env=env(), check=True, capture_output=True)
            out.append(time.perf_counter() - start)
    return {"maps": stats(maps_spent), "add": stats(whole), "rebuild": stats(rebuild),
            "process": stats(process), "baseline": stats(baseline), "appended": appended, "runs": runs}


def ingest_bench(n: int, source: Path) -> None:
    from tether import Workspace
    from tether.offload import Offload

    exts = (".md", ".txt", ".rst", ".html", ".json", ".yaml")
    files = []
    for folder, dirs, names in os.walk(source):
        dirs.sort()
        files += [os.path.join(folder, name) for name in sorted(names) if name.endswith(exts)
                  and not os.path.islink(os.path.join(folder, name))]
    files = sorted(files)[:n]
    size = sum(os.path.getsize(f) for f in files)
    with tempfile.TemporaryDirectory(prefix="tether-bench-ingest-") as tmp:
        root = Path(tmp)
        subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True, env=env())
        ws, _ = Workspace.init(root)
        Offload(ws).create_cluster("Ingested")
        start = time.perf_counter()
        done = Offload(ws).ingest(files, "Ingested")
        spent = time.perf_counter() - start
    blobs = sum(c["kind"] == "blob" for c in done["created"])
    print(f"\ningest of {len(files):,} files ({size / 1e6:.1f} MB) from the documentation under {source.name}/:"
          f" {spent:.1f} s, {len(files) / spent:,.0f} files/s, {size / 1e6 / spent:.2f} MB/s;"
          f" {blobs:,} blobs, {len(done['created']) - blobs:,} links, {len(done['duplicates']):,} duplicates,"
          f" {len(done['problems']):,} problems")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--procs", type=int, default=10)
    parser.add_argument("--ingest", type=int, default=3000, metavar="N")
    parser.add_argument("--ingest-root", type=Path, default=None, metavar="DIR")
    args = parser.parse_args()
    os.environ.setdefault("TETHER_SESSION_ID", "S-bench")
    results = {}
    with tempfile.TemporaryDirectory(prefix="tether-bench-offload-") as tmp:
        for n in args.sizes:
            root = Path(tmp) / f"n{n}"
            root.mkdir()
            start = time.perf_counter()
            import tether.store.fsio as fsio

            fsio._DURABLE = False  # building only: the measured adds below write with fsync
            build(root, n)
            fsio._DURABLE = True
            print(f"built a cluster of {n:,} packets in {time.perf_counter() - start:.1f} s", flush=True)
            results[n] = measure(root, args.runs, args.procs)
    small, large = min(results), max(results)
    print(f"\nmedian / p95 ms; ratio = {large:,} packets / {small:,} packets (medians)\n")
    header = f"{'':<44}" + "".join(f"{f'{n:,} packets':>20}" for n in results) + f"{'ratio':>8}"
    print(header)
    for key, label in (("maps", "(a) map regeneration after one add"), ("add", "(b) Offload.add, whole"),
                       ("rebuild", "(c) full cluster re-render from cache"),
                       ("process", "(d) `tether offload add` process"), ("baseline", "    `python -c pass`")):
        cells = "".join(f"{results[n][key][0]:>11.1f} / {results[n][key][1]:<6.1f}" for n in results)
        print(f"{label:<44}{cells}{results[large][key][0] / results[small][key][0]:>8.2f}")
    for n in results:
        r = results[n]
        print(f"\n{n:,}: {r['appended']}/{r['runs']} adds appended to the maps; process / python -c pass ="
              f" {r['process'][0] / r['baseline'][0]:.2f}")
    if args.ingest:
        import sysconfig

        source = args.ingest_root or Path(sysconfig.get_paths(vars={"base": sys.base_prefix,
                                                                    "platbase": sys.base_prefix})["purelib"])
        ingest_bench(args.ingest, source)


if __name__ == "__main__":
    main()
