"""Session context (seed 004): apply and check latency, concurrent applies, the scope checker's accuracy.

    .venv/bin/python bench/bench_ctx.py                        # all three parts (~1.5 min on 2 cores)
    .venv/bin/python bench/bench_ctx.py --only scope --verbose # scope figures; tuning's misses listed
    .venv/bin/python bench/bench_ctx.py --runs 10 --applies 10 # quick run

(a) Latency on a context grown by the workflow below (--grow, default 50 applies): through the
    Python API in this process (Campaign.apply of a typical content-worker result, check_scope,
    check_budget, for_skill), and as whole processes (`tether ctx apply`, `check-scope`,
    `check-budget`, `for`) round-robin with `python -c pass` run by the interpreter of the `tether`
    script. Median and p95 in ms; processes also as a ratio to `python -c pass`. Every apply starts
    from the same grown context (it is put back, untimed, before each run), so every measured
    apply is the 51st. Then where the time goes: the parts of one apply, and each command's imports
    (-X importtime).
(b) Applies per second with --writers processes (default 4) each applying --applies K results of
    distinct artifacts with tokens, fsync on, and 1 writer doing the same total, both from the same
    grown context. Then what was lost: every artifact present, tokens summed exactly,
    invocation_log length and revision up by the number of applies, the file valid.
(c) The scope checker (BLOCKED is the positive class) on bench/scope/tuning.yaml and
    bench/scope/heldout.yaml: precision, recall, accuracy, false allows, false blocks. Only figures
    are printed for heldout (nobody tunes on it); --verbose lists tuning's misclassified requests.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import make_workspace
from common import BENCH_DIR, Cmd, env, header, interleaved, tether_python, tether_script

CAMPAIGN = "YIELD-XYZ-001"
DRAFTS = f".gtm/{CAMPAIGN}/drafts"
# A typical request of the seed's campaign (its objective: announcement posts for X), and what it costs.
SCOPE_REQUEST = "Write the X announcement thread for the Yield.xyz integration."
COST, TOKENS = 1, 30_000


# -- the context: the seed's campaign, grown by a realistic workflow ------------------------

def workflow_result(i: int) -> dict:
    """The i-th skill result of the growth workflow: research, knowledge, drafts, validations."""
    n = i + 1
    if i == 0:
        return {"skill": "product-oracle", "status": "success", "summary": "Product facts loaded",
                "knowledge": {"product": {"chains_supported": 28, "chains_new_30d": ["Blast", "Base"],
                                          "yield_protocols": ["Yearn", "Tokemak", "Yield.xyz"],
                                          "features": {"swap": True, "cross_chain": True, "yield": True,
                                                       "lending": False}}},
                "compute": {"tokens_used": 2000}}
    if i == 1:
        return {"skill": "research-agent", "status": "success",
                "outputs": {"artifacts": [{"type": "research_summary",
                                           "path": f".gtm/{CAMPAIGN}/research/protocol_analysis.json"}]},
                "context_updates": {"knowledge": {"protocol": {
                    "name": "Yield.xyz", "type": "yield_aggregator", "chains": ["ethereum", "arbitrum", "optimism"],
                    "tvl": "$50M", "key_feature": "Auto-compounding vaults",
                    "integration_type": "Native yield aggregation"}}, "compute": {"tokens_used": 8000}}}
    if i == 2:
        return {"skill": "audience-analyzer", "status": "success",
                "knowledge": {"audience": {"primary_segment": "defi_degens", "secondary_segment": "yield_seekers",
                                           "platform_notes": {"x": "Benefit-focused, less technical",
                                                              "farcaster": "Technical details OK, builder audience",
                                                              "discord": "Community-focused, include call to action"}}},
                "validations": {"audience_analyzer": {"status": "pass", "notes": "Content matches target segments"}},
                "compute": {"tokens_used": 5000}}
    if i % 5 == 4:
        return {"skill": "brand-validator", "status": "success",
                "validations": {"brand_validator": {"status": "pass" if i % 10 else "warn",
                                                    "issues": [] if i % 10 else [f"Draft {n - 1}: superlative in line 2"]}},
                "compute": {"tokens_used": 5000}, "next_suggested": "content-worker"}
    if i % 5 == 3:
        return {"skill": "research-agent", "status": "success",
                "outputs": {"artifacts": [{"type": "research_note", "path": f".gtm/{CAMPAIGN}/research/note-{n:03d}.md"}]},
                "context_updates": {"knowledge": {"findings": {f"f{n:03d}": f"Vault {n} compounds every {n % 12 + 1} h"}},
                                    "compute": {"tokens_used": 6000}}}
    channel = ("x", "discord", "farcaster", "blog")[i % 4]
    result = {"skill": "content-worker", "status": "success", "next_suggested": "brand-validator",
              "outputs": {"artifacts": [{"type": f"draft_{channel}_post", "path": f"{DRAFTS}/{channel}-{n:03d}.md",
                                         "status": "pending_review"}]},
              "context_updates": {"compute": {"tokens_used": 30_000}}}
    if i % 7 == 0:
        result["context_updates"]["pending_decisions"] = [
            {"question": f"Can draft {n} quote the {n % 5 + 5}% figure from the vault page?",
             "context": "Rates fluctuate; the page shows a 7-day average"}]
    return result


def typical_result(n: int, base_revision: int) -> dict:
    """What the latency runs apply: the seed's own handoff (Skill -> Bot Manager), with a new draft each time."""
    return {"skill_result": {
        "skill": "content-worker", "status": "success", "base_revision": base_revision,
        "outputs": {"artifacts": [{"type": "draft_x_post", "path": f"{DRAFTS}/x_post-{n:04d}.md",
                                   "status": "pending_review"}]},
        "context_updates": {"pending_decisions": [{"question": "Can we mention specific APY ranges?",
                                                   "context": "Yield.xyz vaults show 5-15% APY but rates fluctuate"}],
                            "compute": {"tokens_used": TOKENS}},
        "next_suggested": "brand-validator"}}


def build_context(base: Path, grow: int):
    """A repository with a workspace and the seed's campaign, grown by ``grow`` applies.

    Budget limits are set high (the runs must stay ALLOWED) and the deadline a month ahead
    of the real clock (the measured processes use it)."""
    from tether.campaign import Campaign
    from tether.workspace import Workspace

    repo = base / "repo"
    shutil.copytree(make_workspace.ensure("empty", quiet=True), repo, symlinks=True)
    ws = Workspace(repo)
    deadline = (datetime.now(timezone.utc) + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    camp = Campaign.create(
        CAMPAIGN, "@phil", workspace=ws, context_id="session-bench-001", title="Yield.xyz Integration Launch",
        tier=2, task_type="content_generation", description="Generate Tier 2 content for Yield.xyz integration",
        assigned_to="content-worker",
        objectives=["Create announcement posts for X, Discord, Farcaster", "Draft blog post outline"],
        boundaries=["Only channels: X, Discord, Farcaster, Blog", "No partner mentions without approval",
                    "No APY claims without verified source"],
        out_of_scope=["Partner outreach (separate task)", "Paid promotion (not this campaign)"],
        max_skill_calls=1_000_000, max_tokens=10**12, deadline=deadline)
    for question, answer in (("Which term do we use for yield?", "Use 'yield optimization' not 'yield farming'"),
                             ("Which messaging angle?", "Messaging angle: cross-chain + self-custody")):
        decision = camp.escalate(question)
        camp.decide(decision["id"], answer, by="@phil", rationale="Owner call at kickoff", record_in="brand_decisions")
    for i in range(grow):
        camp.apply(workflow_result(i))
    return repo, camp


def snapshot_of(camp) -> dict:
    """The grown context, checked to round-trip: writing it back gives the same bytes."""
    with open(camp.path, "rb") as fh:
        before = fh.read()
    doc = camp.load()
    restore(camp, doc)
    with open(camp.path, "rb") as fh:
        if fh.read() != before:
            raise SystemExit("writing the context back changed its bytes: the runs would not start from the same file")
    return doc


def describe(camp) -> str:
    doc = camp.load()
    size = os.path.getsize(camp.path)
    with open(camp.path, "rb") as fh:
        lines = fh.read().count(b"\n")
    return (f"revision {doc['revision']}, {size / 1024:.1f} KiB, {lines} lines: {len(doc['artifacts'])} artifacts, "
            f"{len(doc['compute']['invocation_log'])} invocations, {len(doc['history'])} history entries, "
            f"{len(doc['pending_decisions'])} pending decisions, {len(doc['knowledge'])} knowledge sections")


# -- figures -------------------------------------------------------------------------------

def pct(values: list[float], p: int) -> float:
    """The p-th percentile (inclusive method), in ms."""
    if len(values) < 2:
        return values[0] * 1000
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1] * 1000


def print_latency(times: dict[str, list[float]], baseline: str | None = None) -> None:
    width = max(len(n) for n in times)
    base = statistics.median(times[baseline]) if baseline else None
    print(f"  {'':<{width}}  {'median ms':>9}  {'p95 ms':>8}  {'runs':>4}" + ("  x baseline (median)" if base else ""))
    for name, values in times.items():
        med = statistics.median(values)
        row = f"  {name:<{width}}  {med * 1000:9.2f}  {pct(values, 95):8.2f}  {len(values):4d}"
        if base:
            row += f"  {med / base:6.2f}x"
        print(row)


# -- (a) latency ---------------------------------------------------------------------------

def api_latency(camp, snapshot: dict, runs: int, warmup: int = 3) -> dict[str, list[float]]:
    """Interleaved in this process: apply (from the snapshot each time), check_scope, check_budget, for_skill."""
    revision = camp.load()["revision"]
    calls = {
        "Campaign.apply": None,
        "Campaign.check_scope": lambda: camp.check_scope(SCOPE_REQUEST),
        "Campaign.check_budget": lambda: camp.check_budget(COST, TOKENS),
        "Campaign.for_skill": lambda: camp.for_skill("content-worker"),
    }
    times: dict[str, list[float]] = {name: [] for name in calls}
    for i in range(warmup + runs):
        for name, call in calls.items():
            if name == "Campaign.apply":
                restore(camp, snapshot)
                result = typical_result(10_000 + i, revision)
                start = time.perf_counter()
                camp.apply(result)
            else:
                start = time.perf_counter()
                answer = call()
                if getattr(answer, "allowed", True) is not True:
                    raise SystemExit(f"{name} answered BLOCKED: {answer.reason}")
            elapsed = time.perf_counter() - start
            if i >= warmup:
                times[name].append(elapsed)
    restore(camp, snapshot)
    return times


def restore(camp, snapshot: dict) -> None:
    """Put the grown context back, untimed, the way tether itself writes it (validated, atomic):
    the file's bytes are the same as after the growth, and whatever tether keeps beside a file
    it wrote itself is as it would be."""
    import copy

    camp.file.write(copy.deepcopy(snapshot))


def process_latency(repo: Path, camp, snapshot: dict, runs: int) -> dict[str, list[float]]:
    py, tether = tether_python(), str(tether_script())
    revision = camp.load()["revision"]
    results = repo / "results"
    results.mkdir()
    where = ["--campaign", CAMPAIGN]
    cmds = [Cmd("python -c pass", [py, "-c", "pass"]),
            Cmd("tether ctx apply", [], repo),
            Cmd("tether ctx check-scope", [tether, "ctx", "check-scope", SCOPE_REQUEST, *where], repo),
            Cmd("tether ctx check-budget", [tether, "ctx", "check-budget", "--cost", str(COST), "--tokens", str(TOKENS),
                                            *where], repo),
            Cmd("tether ctx for", [tether, "ctx", "for", "content-worker", *where], repo)]
    counter = [20_000]

    def before(cmd: Cmd) -> None:
        if cmd.name == "tether ctx apply":  # a new draft each run, applied to the same grown context
            restore(camp, snapshot)
            counter[0] += 1
            path = results / f"result-{counter[0]}.json"
            path.write_text(json.dumps(typical_result(counter[0], revision)))
            cmd.argv = [tether, "ctx", "apply", str(path), *where]

    try:
        return interleaved(cmds, runs, before_each=before)
    finally:
        restore(camp, snapshot)


# What one apply's time is spent on: (label, module file, function). Nested ones are indented.
PARTS = (
    ("flock (uncontended)", "fsio.py", "__enter__"),
    ("read + parse YAML (PyYAML CSafeLoader)", "document.py", "parse_yaml"),
    ("jsonschema validation (result, context)", "schema.py", "validate"),
    ("validity cache (sha256 of the file)", "document.py", "_known_valid"),
    ("deepcopy (change detection)", "copy.py", "deepcopy"),
    ("merge.apply_result", "merge.py", "apply_result"),
    ("dump YAML (PyYAML CSafeDumper)", "document.py", "dump_yaml"),
    ("write_atomic (tmp file, rename, fsyncs)", "fsio.py", "write_atomic"),
    ("  of which os.fsync", "~", "<built-in method posix.fsync>"),
)


def apply_profile(camp, snapshot: dict, runs: int) -> tuple[float, list[tuple[str, float | None]]]:
    """Campaign.apply under cProfile: cumulative ms per apply of each part (None: not called)."""
    import cProfile
    import pstats

    revision = snapshot["revision"]
    prof = cProfile.Profile()
    total = 0.0
    for i in range(runs):
        restore(camp, snapshot)
        result = typical_result(30_000 + i, revision)
        prof.enable()
        start = time.perf_counter()
        camp.apply(result)
        total += time.perf_counter() - start
        prof.disable()
    restore(camp, snapshot)
    stats = pstats.Stats(prof).stats
    out = []
    for label, module, func in PARTS:
        cumulative = [ct for (file, _, name), (_, _, _, ct, _) in stats.items()
                      if name == func and (file == module or file.endswith(os.sep + module))]
        out.append((label, sum(cumulative) * 1000 / runs if cumulative else None))
    return total * 1000 / runs, out


def import_times(argv: list[str], cwd: Path, before, repeat: int = 5) -> tuple[float, float, list[tuple[str, float]]]:
    """Runs with -X importtime: median wall ms, median import ms (cumulative of the top-level imports),
    and the biggest top-level packages by median cumulative ms."""
    environ = env()
    walls, totals, tops = [], [], []
    for _ in range(repeat):
        before()
        start = time.perf_counter()
        proc = subprocess.run([tether_python(), "-X", "importtime", *argv], cwd=cwd, env=environ, capture_output=True,
                              text=True, stdin=subprocess.DEVNULL)
        walls.append((time.perf_counter() - start) * 1000)
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} exited {proc.returncode}: {proc.stderr.strip().splitlines()[-1]}")
        top: dict[str, float] = {}
        for line in proc.stderr.splitlines():
            m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
            if m and len(m.group(3)) == 1:  # a top-level import: its cumulative time covers its children
                root = m.group(4).split(".")[0]
                top[root] = top.get(root, 0.0) + int(m.group(2)) / 1000
        totals.append(sum(top.values()))
        tops.append(top)
    names = {name for top in tops for name in top}
    median_top = {name: statistics.median([top.get(name, 0.0) for top in tops]) for name in names}
    return (statistics.median(walls), statistics.median(totals),
            sorted(median_top.items(), key=lambda kv: -kv[1])[:6])


def where_time_goes(repo: Path, camp, snapshot: dict, runs: int) -> None:
    per_apply, parts = apply_profile(camp, snapshot, runs)
    print(f"\n  Where one API apply's time goes (cProfile, {runs} applies; {per_apply:.1f} ms per apply under the "
          "profiler, which inflates pure-Python code such as jsonschema):")
    for label, ms in parts:
        print(f"    {label:<44} " + ("  not called" if ms is None else f"{ms:7.2f} ms  {ms / per_apply:4.0%}"))
    tether = str(tether_script())
    results = repo / "results"
    path = results / "importtime.json"
    revision = camp.load()["revision"]
    path.write_text(json.dumps(typical_result(40_000, revision)))
    where = ["--campaign", CAMPAIGN]
    print("\n  Imports of each command (median of 5 runs with -X importtime, which adds its own overhead; "
          "cumulative ms of top-level imports, the biggest packages):")
    for name, argv in (("python -c pass", ["-c", "pass"]),
                       ("ctx apply", [tether, "ctx", "apply", str(path), *where]),
                       ("ctx check-scope", [tether, "ctx", "check-scope", SCOPE_REQUEST, *where]),
                       ("ctx check-budget", [tether, "ctx", "check-budget", "--tokens", str(TOKENS), *where]),
                       ("ctx for", [tether, "ctx", "for", "content-worker", *where])):
        wall, total, top = import_times(argv, repo, lambda: restore(camp, snapshot))
        print(f"    {name:<17} wall {wall:6.1f}, imports {total:6.1f}: " + ", ".join(f"{m} {ms:.1f}" for m, ms in top))
    restore(camp, snapshot)


def latency_bench(base: Path, grow: int, runs: int) -> None:
    repo, camp = build_context(base / "latency", grow)
    snapshot = snapshot_of(camp)
    print(f"\n(a) Latency on a context grown by {grow} applies (the seed's campaign: research, knowledge, drafts, "
          f"validations, decisions)\n  context: {describe(camp)}")
    print(f"  each apply: content-worker's skill_result (the seed's handoff): one draft artifact, the seed's APY "
          f"question as a pending decision, {TOKENS} tokens, base_revision")
    print(f"  checks: check_scope({SCOPE_REQUEST!r}), check_budget(cost={COST}, tokens={TOKENS}), "
          "for_skill('content-worker') with the built-in roles")
    times = api_latency(camp, snapshot, runs)
    print(f"\n  Through the Python API, in this process, fsync on ({runs} runs each, interleaved):")
    print_latency(times)
    times = process_latency(repo, camp, snapshot, runs)
    print(f"\n  Whole processes ({runs} runs each, interleaved; --campaign {CAMPAIGN}, cwd the repository):")
    print_latency(times, baseline="python -c pass")
    where_time_goes(repo, camp, snapshot, runs)


# -- (b) concurrent writers --------------------------------------------------------------------

def writer_result(writer: int, j: int) -> dict:
    return {"skill": f"writer-{writer}", "status": "success", "invocation_id": f"w{writer}-{j:05d}",
            "outputs": {"artifacts": [{"type": "draft", "path": f"{DRAFTS}/w{writer}-{j:05d}.md",
                                       "status": "pending_review"}]},
            "compute": {"tokens_used": writer_tokens(writer, j)}}


def writer_tokens(writer: int, j: int) -> int:
    return 1000 + 100 * writer + j  # distinct per apply, so the sum proves none counted twice or lost


def writer_main(context: str, writer: int, first: int, count: int) -> None:
    """A writer process: open the campaign, say ready, wait for go, apply ``count`` results, report."""
    from tether.store import fsio
    from tether.campaign import Campaign

    if not fsio._DURABLE:
        raise SystemExit("TETHER_FSYNC=0 in a writer: the measured writes must be durable")
    camp = Campaign.open(context=context)
    print("ready", flush=True)
    sys.stdin.readline()
    start = time.perf_counter()
    latencies = []
    for j in range(first, first + count):
        t0 = time.perf_counter()
        camp.apply(writer_result(writer, j))
        latencies.append(time.perf_counter() - t0)
    print(json.dumps({"writer": writer, "elapsed": time.perf_counter() - start, "latencies": latencies}), flush=True)


def run_writers(repo: Path, camp, snapshot: dict, writers: int, per_writer: int) -> dict:
    restore(camp, snapshot)
    before = camp.load()
    procs = []
    for w in range(writers):
        procs.append(subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--writer", str(w),
                                       "--writer-context", camp.path, "--writer-count", str(per_writer)],
                                      cwd=repo, env=env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True))
    for p in procs:
        line = p.stdout.readline()
        if line.strip() != "ready":
            raise SystemExit(f"a writer did not start: {line!r} {p.stderr.read()}")
    start = time.perf_counter()
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    reports, failures = [], []
    for p in procs:
        out, err = p.communicate()
        if p.returncode != 0:
            failures.append(f"exit {p.returncode}: {err.strip().splitlines()[-1] if err.strip() else ''}")
        else:
            reports.append(json.loads(out.strip().splitlines()[-1]))
    wall = time.perf_counter() - start
    # The order the writers got the lock in: the invocation log, from where the run started.
    order = [e["skill"] for e in camp.load()["compute"]["invocation_log"][len(before["compute"]["invocation_log"]):]]
    streaks = [len(list(group)) for _, group in itertools.groupby(order)]
    return {"wall": wall, "reports": reports, "failures": failures, "before": before,
            "losses": losses(camp, before, writers, per_writer), "handovers": len(streaks) - 1,
            "longest": max(streaks, default=0)}


def losses(camp, before: dict, writers: int, per_writer: int) -> list[str]:
    """Everything the writers were acknowledged for must be in the file, exactly once."""
    parsed, text = camp.file.read_raw()
    problems = camp.file.problems(parsed, text)
    out = [f"invalid: {p}" for p in problems[:3]]
    doc = parsed["session_context"]
    n = writers * per_writer
    expected = {f"{DRAFTS}/w{w}-{j:05d}.md" for w in range(writers) for j in range(per_writer)}
    present = [a["path"] for a in doc.get("artifacts") or []]
    missing = expected - set(present)
    if missing:
        out.append(f"{len(missing)} of {n} artifacts missing")
    doubled = len(present) - len(set(present))
    if doubled:
        out.append(f"{doubled} artifacts listed twice")
    tokens = sum(writer_tokens(w, j) for w in range(writers) for j in range(per_writer))
    got = doc["compute"]["tokens_used"] - before["compute"]["tokens_used"]
    if got != tokens:
        out.append(f"tokens: +{got}, expected +{tokens}")
    log = doc["compute"]["invocation_log"]
    if len(log) - len(before["compute"]["invocation_log"]) != n:
        out.append(f"invocation_log: +{len(log) - len(before['compute']['invocation_log'])}, expected +{n}")
    ids = [e.get("invocation_id") for e in log if e.get("invocation_id")]
    if len(ids) != len(set(ids)) or len(ids) != n:
        out.append(f"invocation ids: {len(set(ids))} distinct of {len(ids)}, expected {n}")
    if doc["revision"] - before["revision"] != n:
        out.append(f"revision: +{doc['revision'] - before['revision']}, expected +{n}")
    if doc["compute"]["skills_invoked"] - before["compute"]["skills_invoked"] != n:
        out.append("skills_invoked does not match")
    return out


def concurrency_bench(base: Path, grow: int, writers: int, per_writer: int) -> None:
    repo, camp = build_context(base / "concurrency", grow)
    snapshot = snapshot_of(camp)
    total = writers * per_writer
    print(f"\n(b) Concurrent applies through the Python API (Campaign.apply), fsync on, separate processes; "
          f"from the same context grown by {grow} applies ({describe(camp)})")
    print(f"  each apply: one new draft artifact, distinct tokens, an invocation_id; "
          f"the context grows to {grow + total} applies during a run")
    print(f"  1 writer does the same {total} applies alone; ms per apply include waiting for the lock")
    print(f"  {'writers':>7}  {'applies':>7}  {'wall s':>7}  {'applies/s':>9}  {'median ms/apply':>15}  "
          f"{'p95 ms':>7}  {'max ms':>7}  lost")
    for count, each in ((1, total), (writers, per_writer)):
        run = run_writers(repo, camp, snapshot, count, each)
        latencies = [x for r in run["reports"] for x in r["latencies"]]
        problems = run["failures"] + run["losses"]
        lost = "lost: 0" if not problems else "LOST: " + "; ".join(problems)
        rate = total / run["wall"]
        print(f"  {count:7d}  {total:7d}  {run['wall']:7.2f}  {rate:9.1f}  "
              f"{statistics.median(latencies) * 1000 if latencies else float('nan'):15.1f}  "
              f"{pct(latencies, 95) if latencies else float('nan'):7.1f}  "
              f"{max(latencies) * 1000 if latencies else float('nan'):7.1f}  {lost}")
        if not problems:
            print(f"  {'':7}  checked: all {total} artifacts present once, tokens summed exactly, "
                  f"invocation_log and revision +{total}, file valid")
        if count > 1 and run["reports"]:
            done = sorted(r["elapsed"] for r in run["reports"])
            print(f"  {'':7}  writers done after: {', '.join(f'{x:.2f}' for x in done)} s "
                  "(each did the same number of applies)")
            print(f"  {'':7}  the lock changed hands {run['handovers']} times in {total} applies; "
                  f"longest run of one writer: {run['longest']} applies")
        if count == 1 and len(latencies) >= 40:  # the file grows: so does each apply (read, validate, write it all)
            first, last = statistics.median(latencies[:20]) * 1000, statistics.median(latencies[-20:]) * 1000
            print(f"  {'':7}  as the context grows: median of the first 20 applies {first:.1f} ms, "
                  f"of the last 20 {last:.1f} ms")
    restore(camp, snapshot)


# -- (c) the scope checker ---------------------------------------------------------------------

def evaluate(path: Path) -> tuple[dict, list[dict]]:
    from tether.campaign import scope
    from tether.campaign.document import parse_yaml

    data, _ = parse_yaml(path.read_bytes(), str(path))
    contexts = {name: body["session_context"] for name, body in data["contexts"].items()}
    counts = {"tp": 0, "fp": 0, "tn": 0, "fn": 0, "errors": 0}
    wrong = []
    for item in data["requests"]:
        expected_blocked = item["expected"] == "BLOCKED"
        try:
            verdict = scope.check(contexts[item["context"]], item["request"])
        except Exception as exc:  # a crash is a miss (a false allow or a false block), and is counted
            counts["errors"] += 1
            counts["fn" if expected_blocked else "fp"] += 1
            wrong.append({**item, "got": f"error: {type(exc).__name__}: {exc}"})
            continue
        blocked = not verdict.allowed
        key = ("tp" if blocked else "fn") if expected_blocked else ("fp" if blocked else "tn")
        counts[key] += 1
        if key in ("fp", "fn"):
            wrong.append({**item, "got": verdict.result, "reason": verdict.reason, "rule": verdict.rule})
    return counts, wrong


def scope_bench(verbose: bool) -> None:
    print("\n(c) Scope checker (rule-based, no LLM; scope.check, what Campaign.check_scope runs on the loaded context); "
          "BLOCKED is the positive class, a crash counts as a miss")
    print(f"  {'set':<8} {'requests':>8} {'BLOCKED':>7} {'precision':>9} {'recall':>6} {'accuracy':>8} "
          f"{'false allows':>12} {'false blocks':>12} {'errors':>6}")
    tuning_wrong = []
    for name in ("tuning", "heldout"):
        path = BENCH_DIR / "scope" / f"{name}.yaml"
        if not path.is_file():
            print(f"  {name:<8} (missing: {path})")
            continue
        c, wrong = evaluate(path)
        total = c["tp"] + c["fp"] + c["tn"] + c["fn"]
        positives = c["tp"] + c["fn"]
        precision = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else float("nan")
        recall = c["tp"] / positives if positives else float("nan")
        accuracy = (c["tp"] + c["tn"]) / total if total else float("nan")
        false_allows, false_blocks = c["fn"], c["fp"]
        print(f"  {name:<8} {total:8d} {positives:7d} {precision:9.3f} {recall:6.3f} {accuracy:8.3f} "
              f"{false_allows:12d} {false_blocks:12d} {c['errors']:6d}")
        if name == "tuning":
            tuning_wrong = wrong
    print("  (heldout: figures only; which of its requests fail is not printed, so nobody tunes on it)")
    if verbose and tuning_wrong:
        print("\n  Misclassified tuning requests:")
        for w in tuning_wrong:
            print(f"    [{w['context']}] expected {w['expected']}, got {w['got']}: {w['request']}")
            if w.get("reason"):
                print(f"        reason: {w['reason']}  (rule: {w.get('rule')})")
    elif tuning_wrong:
        print(f"  ({len(tuning_wrong)} tuning requests misclassified: --verbose lists them)")


# -- main ----------------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30, help="timed runs per call and per command in (a) (default 30)")
    parser.add_argument("--grow", type=int, default=50, help="applies that grow the context first (default 50)")
    parser.add_argument("--writers", type=int, default=4, help="concurrent writer processes in (b) (default 4)")
    parser.add_argument("--applies", type=int, default=50, help="applies per writer in (b) (default 50)")
    parser.add_argument("--only", action="append", choices=["latency", "concurrency", "scope"],
                        help="run only this part (repeatable)")
    parser.add_argument("--verbose", action="store_true", help="list the misclassified tuning requests")
    parser.add_argument("--writer", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--writer-context", help=argparse.SUPPRESS)
    parser.add_argument("--writer-count", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.writer is not None:
        writer_main(args.writer_context, args.writer, 0, args.writer_count)
        return
    if os.environ.get("TETHER_FSYNC") == "0":
        raise SystemExit("TETHER_FSYNC=0 is set: unset it, the measured writes are durable")
    os.environ.pop("TETHER_NOW", None)  # the real clock, as the measured processes have
    parts = args.only or ["latency", "concurrency", "scope"]
    header("bench_ctx")
    make_workspace.CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=make_workspace.CACHE) as tmp:
        if "latency" in parts:
            latency_bench(Path(tmp), args.grow, args.runs)
        if "concurrency" in parts:
            concurrency_bench(Path(tmp), args.grow, args.writers, args.applies)
    if "scope" in parts:
        scope_bench(args.verbose)


if __name__ == "__main__":
    main()
