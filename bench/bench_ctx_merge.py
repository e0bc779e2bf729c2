"""Merging two clones' session contexts (tether's merge driver on session_context.yaml).

    .venv/bin/python bench/bench_ctx_merge.py                  # --grow 50 --side 25 --runs 20
    .venv/bin/python bench/bench_ctx_merge.py --side 200       # two clones far apart

A context grown by --grow skill results is the common base; each clone then applies --side
results of its own (distinct skills, knowledge keys, artifacts, tokens, a validation, one
escalation each). Measured, interleaved: `tether merge-driver` on the three versions as git runs
it (a whole process), git's own text merge of them (`git merge-file`, which conflicts), and
`python -c pass`; then the merge alone in this process (Campaign.merge_versions). Printed side by
side, with the driver as a ratio to git's text merge and to `python -c pass`. Then what was
merged: both sides' history and invocation log entries present, tokens added up, the file valid.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from common import Cmd, header, interleaved, median_ms, print_times, tether_python

CONTEXT = ".tether/contexts/BENCH-1/session_context.yaml"


def result(skill: str, n: int, side: str) -> dict:
    return {"skill": skill, "invocation_id": f"{side}-{n}",
            "knowledge": {f"{side}_{skill}": {"step": n, "facts": [f"{side} fact {n}"]}},
            "artifacts": [{"type": "draft", "path": f"drafts/{side}-{n}.md", "status": "pending_review"}],
            "validations": {f"{side}-check": {"status": "pass", "notes": f"run {n}"}},
            "compute": {"tokens_used": 1000 + n}}


def build(work: Path, grow: int, side: int) -> tuple[bytes, bytes, bytes]:
    os.environ["TETHER_NOW"] = "2026-03-02T09:00:00Z"
    os.chdir(work)  # no workspace around: the context is a plain file here
    from tether.campaign import Campaign

    path = work / "base.yaml"
    camp = Campaign.create("BENCH-1", "@owner", context=str(path), max_skill_calls=10 ** 6, max_tokens=10 ** 9)
    for n in range(grow):
        camp.apply(result(f"skill-{n % 5}", n, "base"))
    base = path.read_bytes()
    out = []
    for name in ("ours", "theirs"):
        path.write_bytes(base)
        for n in range(side):
            os.environ["TETHER_NOW"] = f"2026-03-02T{10 + (name == 'theirs'):02d}:{n // 60 % 60:02d}:{n % 60:02d}Z"
            camp.apply(result(f"{name}-skill-{n % 3}", n, name))
        camp.escalate(f"A question from {name}?")
        out.append(path.read_bytes())
    return base, out[0], out[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--grow", type=int, default=50, help="skill results in the common base (default 50)")
    parser.add_argument("--side", type=int, default=25, help="skill results each clone applies (default 25)")
    parser.add_argument("--runs", type=int, default=20, help="timed runs per command (default 20)")
    args = parser.parse_args()
    header("tether merge-driver on a session context both clones changed")
    work = Path(tempfile.mkdtemp(prefix="tether-bench-ctx-merge-"))
    try:
        base, ours, theirs = build(work, args.grow, args.side)
        files = {}
        for name, data in (("base", base), ("ours", ours), ("theirs", theirs)):
            files[name] = work / f"{name}.side"
            files[name].write_bytes(data)
        target = work / "result"
        print(f"  base: {args.grow} results, {len(base) // 1024} KiB; each clone: +{args.side} results"
              f" (ours {len(ours) // 1024} KiB, theirs {len(theirs) // 1024} KiB)")

        def reset() -> None:
            shutil.copyfile(files["ours"], target)

        python = tether_python()
        cmds = [
            Cmd("tether merge-driver", [python, "-m", "tether", "merge-driver", "--marker-size", "7", str(files["base"]),
                                        str(target), str(files["theirs"]), CONTEXT], cwd=work),
            Cmd("git merge-file (text)", ["sh", "-c", f"git merge-file -q {target} {files['base']} {files['theirs']}"
                                          " ; exit 0"], cwd=work),
            Cmd("python -c pass", [python, "-c", "pass"], cwd=work),
        ]
        times = interleaved(cmds, args.runs, before_each=lambda cmd: reset())
        print_times(times)
        driver, text, bare = (median_ms(times[c.name]) for c in cmds)
        print(f"  ratios: merge-driver / git merge-file = {driver / text:.1f}x; merge-driver / python -c pass ="
              f" {driver / bare:.1f}x")

        from tether.campaign import Campaign

        inner = []
        for _ in range(args.runs):
            start = time.perf_counter()
            merged = Campaign.merge_versions(base, ours, theirs, CONTEXT)
            inner.append(time.perf_counter() - start)
        print(f"  in process (Campaign.merge_versions): median {statistics.median(inner) * 1000:.1f} ms,"
              f" {len(merged.data) // 1024} KiB written")

        import yaml

        doc = yaml.safe_load(merged.data)["session_context"]
        ids = {e.get("invocation_id") for e in doc["compute"]["invocation_log"]}
        expected = {f"{side}-{n}" for side, count in (("base", args.grow), ("ours", args.side), ("theirs", args.side))
                    for n in range(count)}
        tokens = sum(1000 + n for n in range(args.grow)) + 2 * sum(1000 + n for n in range(args.side))
        print(f"  merged: clean {merged.clean}; invocations {len(expected & ids)}/{len(expected)};"
              f" tokens {doc['compute']['tokens_used']} (expected {tokens});"
              f" artifacts {len(doc['artifacts'])}; pending decisions {len(doc['pending_decisions'])};"
              f" revision {doc['revision']}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main()
