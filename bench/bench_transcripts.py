"""Transcript readers and context usage, over the real transcripts in ../shared/bench.

    .venv/bin/python bench/bench_transcripts.py                # everything; the big transcript is 2 GB
    .venv/bin/python bench/bench_transcripts.py --big 300M     # a smaller big transcript
    .venv/bin/python bench/bench_transcripts.py --only usage --only estimate

(a) usage: for each transcript, the context figure read from the end of the file, the same
    figure from a forward read of every record, and the transcript's own figure (the last
    main-chain API usage, or Codex's last token_count), computed here from the raw lines
    without the library; they must be equal.
(b) estimate: tether.transcripts.tokens.estimate against exact tiktoken counts (cl100k_base,
    o200k_base, from the offline vocabularies in ../shared/bench/tokenizers) on every content
    record, and on each whole transcript; the boot brief's conservative estimate beside it.
(c) speed: read throughput (MB/s, every record built) and peak memory (the reading process's
    max RSS) on a 10 MB transcript and on a big one, both made by repeating the real Claude
    Code sessions in a temporary directory (deleted at the end); a 10 MB Codex rollout too.
    Then the from-the-end usage reading on both: in-process time, bytes read, and as a whole
    process against `python -c pass`.

The evaluation transcripts (../shared/bench/transcripts-eval) get figures only: nothing here
is tuned on them.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared" / "bench"
TRANSCRIPTS = SHARED / "transcripts"
EVAL = SHARED / "transcripts-eval"
TOKENIZERS = SHARED / "tokenizers"

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from tether.transcripts import Transcript, context_usage, from_records  # noqa: E402
from tether.transcripts import tokens as tk  # noqa: E402
from tether.transcripts.records import CONTENT  # noqa: E402


def transcript_files(root: Path) -> list:
    if not root.is_dir():
        return []
    return sorted(p for p in root.rglob("*.jsonl"))


def short(path: Path) -> str:
    for root in (TRANSCRIPTS, EVAL):
        try:
            return str(path.relative_to(root))
        except ValueError:
            pass
    return path.name


# -- (a) usage ------------------------------------------------------------------------------------

def own_figure(path: Path):
    """The transcript's own last context figure from its raw lines: (tokens or None, why not).

    Claude Code: the prompt (input + cache creation + cache read) of the last response of the
    file's chain (the isSidechain of its last line that has one). Codex: last_token_usage.total_tokens
    of the last token_count. None when a compaction came after it (the figure is stale) or none exists.
    """
    figure, compacted = None, False
    lines = []
    with open(path, "rb") as f:
        for raw in f:
            try:
                lines.append(json.loads(raw))
            except ValueError:
                continue
    chain = False
    for obj in reversed(lines):
        if isinstance(obj, dict) and "isSidechain" in obj:
            chain = obj["isSidechain"] is True
            break
    for obj in lines:
        if not isinstance(obj, dict):
            continue
        payload = obj.get("payload") if isinstance(obj.get("payload"), dict) else {}
        if obj.get("type") == "compacted" or (obj.get("type") == "system" and obj.get("subtype") == "compact_boundary"
                                             and (obj.get("isSidechain") is True) == chain):
            compacted = True
        if payload.get("type") == "token_count" and isinstance(payload.get("info"), dict):
            figure, compacted = payload["info"]["last_token_usage"]["total_tokens"], False
        message = obj.get("message")
        if (obj.get("type") in ("assistant", None) and isinstance(message, dict) and isinstance(message.get("usage"), dict)
                and message.get("model") != "<synthetic>" and (obj.get("isSidechain") is True) == chain):
            u = message["usage"]
            total = (u.get("input_tokens") or 0) + (u.get("cache_creation_input_tokens") or 0) + (
                u.get("cache_read_input_tokens") or 0)
            if total or u.get("output_tokens"):
                figure, compacted = total, False
    if figure is None:
        return None, "no usage"
    if compacted:
        return None, "compacted since"
    return figure, ""


def whole_speed(path: Path) -> float:
    """MB/s of reading every record of ``path``, by CPU time, best of 3 (the machine is shared)."""
    best = None
    for _ in range(3):
        start = time.process_time()
        for _record in Transcript(path):
            pass
        spent = time.process_time() - start
        best = spent if best is None else min(best, spent)
    return path.stat().st_size / 1e6 / best if best else float("nan")


def bench_usage(sets) -> None:
    print("\n(a) context usage: from the end of the file = forward read = the transcript's own figure")
    for label, files in sets:
        if not files:
            print(f"  {label}: no files")
            continue
        print(f"\n  {label}")
        print(f"  {'file':<58} {'format':<11} {'MB':>6} {'from end':>9} {'forward':>9} {'own':>9}  {'':5} "
              f"{'source':<8} {'window':>9} {'%':>6} {'state':<8} {'read KB':>8} {'whole MB/s':>10}")
        equal = compared = 0
        for path in files:
            tail = context_usage(path)
            forward = from_records(Transcript(path))
            own, why = own_figure(path)
            same = tail.tokens == forward.tokens and tail.source == forward.source
            if own is not None:
                compared += 1
                ok = same and tail.source == "usage" and tail.tokens == own
                equal += ok
                mark = "ok" if ok else "DIFF"
            else:
                mark = "ok" if same else "DIFF"
            print(f"  {short(path)[:58]:<58} {tail.format or '-':<11} {path.stat().st_size / 1e6:6.2f} "
                  f"{tail.tokens:9,} {forward.tokens:9,} {own if own is not None else why:>9}  {mark:5} "
                  f"{tail.source:<8} {tail.window:9,} {tail.percent:6.1f} {tail.state:<8} {tail.bytes_read / 1024:8.1f} "
                  f"{whole_speed(path):10.1f}")
        print(f"  own figure equal, from the end and forward: {equal} of {compared} transcripts that have one"
              " (whole MB/s: every record read, by CPU time; tiny files read slower per MB)")


def compaction_points(path: Path) -> list:
    """(cut, actual prompt) for each compaction of the file's main chain that a response
    follows: ``cut`` is the byte offset where that response's first record starts (the moment
    a reading would have been taken), ``actual`` the prompt the API reported for it."""
    points = []
    pending = None   # a boundary seen, waiting for the response after it
    cut = None
    for record in Transcript(path):
        if record.sidechain:
            continue
        if record.kind == "compact_boundary":
            pending, cut = record, None
        elif pending is not None and record.kind in CONTENT and record.role == "assistant" and cut is None:
            cut = record.offset
        elif pending is not None and record.kind == "usage" and cut is not None and record.offset >= cut:
            points.append((cut, record.usage.prompt))
            pending = None
    return points


def bench_compactions(sets) -> None:
    print("\n(a2) after a compaction: the counted figure (fixed prompt + content since the boundary), read at the"
          " moment the next response started, against the prompt the API then reported")
    counters, note = encodings()
    work = Path(tempfile.mkdtemp(prefix="tether-bench-compaction-"))
    try:
        for label, files in sets:
            rows = []
            for path in files:
                if path.name == "sample_hook_logs.jsonl":
                    continue
                for cut, actual in compaction_points(path):
                    part = work / path.name
                    with open(path, "rb") as src, open(part, "wb") as dst:
                        dst.write(src.read(cut))
                    est = context_usage(part)
                    exact = context_usage(part, exact=True, directory=str(TOKENIZERS)) if counters else None
                    rows.append((short(path), actual, est, exact))
            print(f"\n  {label}: {len(rows)} compaction(s) followed by a response")
            if rows:
                print(f"  {'file':<58} {'API prompt':>10} {'estimate':>9} {'o200k':>9} {'fixed part':>10} "
                      f"{'est/API':>8} {'o200k/API':>9}  reading")
            for name, actual, est, exact in rows:
                print(f"  {name[:58]:<58} {actual:10,} {est.tokens:9,} {exact.tokens if exact else float('nan'):9,} "
                      f"{est.baseline or 0:10,} {est.tokens / actual:8.3f} "
                      f"{exact.tokens / actual if exact else float('nan'):9.3f}  from {est.source}"
                      f"{', compacted' if est.compacted else ''}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


# -- (b) estimate ---------------------------------------------------------------------------------

def encodings():
    """(name -> Counter) with exact counts from the offline vocabularies, or a note why not."""
    out = {}
    for name in ("o200k_base", "cl100k_base"):
        try:
            out[name] = tk.counter(exact=True, encoding_name=name, directory=str(TOKENIZERS))
        except tk.TokenizerUnavailable as exc:
            return {}, str(exc)
    return out, None


def quantiles(values):
    values = sorted(values)
    if not values:
        return float("nan"), float("nan"), float("nan")
    def at(q):
        return values[min(len(values) - 1, int(q * (len(values) - 1) + 0.5))]
    return at(0.05), at(0.5), at(0.95)


def bench_estimate(sets) -> None:
    print("\n(b) estimate vs exact tiktoken counts, per content record (records of >= 50 tokens for the"
          " ratios) and per whole transcript")
    counters, note = encodings()
    if not counters:
        print(f"  skipped: {note}")
        return
    central = tk.counter(False)
    conservative = tk.Counter("conservative", tk.conservative)
    for label, files in sets:
        rows = {}     # (encoding, estimator, kind) -> [ratios], sums
        per_file = {}
        chars = 0
        texts = []
        texts_time = {"estimate": 0.0, "o200k_base": 0.0}
        for path in files:
            t = Transcript(path)
            records = [r for r in t if r.kind in CONTENT]
            if not records:
                continue
            texts.extend(r.text + r.input_text for r in records)
            for enc_name, exact in counters.items():
                file_exact = file_est = 0
                for r in records:
                    start = time.process_time()
                    n = exact.record(r)
                    if enc_name == "o200k_base":
                        texts_time["o200k_base"] += time.process_time() - start
                        chars += r.chars
                    start = time.process_time()
                    e = central.record(r)
                    if enc_name == "o200k_base":
                        texts_time["estimate"] += time.process_time() - start
                    c = conservative.record(r)
                    file_exact += n
                    file_est += e
                    for est_name, value in (("estimate", e), ("conservative", c)):
                        for kind in (r.kind, "all"):
                            entry = rows.setdefault((enc_name, est_name, kind), [[], 0, 0])
                            entry[1] += value
                            entry[2] += n
                            if n >= 50:
                                entry[0].append(value / n)
                if file_exact:
                    per_file.setdefault(enc_name, []).append((short(path), file_est / file_exact, file_exact))
        print(f"\n  {label}: {len(files)} files, {chars / 1e6:.2f} M characters of content")
        print(f"  {'encoding':<12} {'estimator':<13} {'kind':<12} {'records':>7} {'sum ratio':>9} "
              f"{'p5':>6} {'median':>6} {'p95':>6} {'mean |err|':>10}")
        for (enc_name, est_name, kind), (ratios, est_sum, exact_sum) in sorted(rows.items()):
            if not ratios:
                continue
            p5, p50, p95 = quantiles(ratios)
            mae = statistics.fmean(abs(r - 1) for r in ratios) * 100 if ratios else float("nan")
            print(f"  {enc_name:<12} {est_name:<13} {kind:<12} {len(ratios):7} {est_sum / exact_sum:9.3f} "
                  f"{p5:6.3f} {p50:6.3f} {p95:6.3f} {mae:9.1f}%")
        for enc_name, entries in per_file.items():
            ratios = [r for _, r, _ in entries]
            print(f"  whole transcripts, {enc_name}: estimate / exact from {min(ratios):.3f} to {max(ratios):.3f} "
                  f"(median {statistics.median(ratios):.3f}, {len(ratios)} transcripts)")
        if chars and texts_time["estimate"]:
            print(f"  speed (CPU time), record by record: estimate {chars / texts_time['estimate'] / 1e6:.1f} M chars/s, "
                  f"tiktoken o200k_base {chars / texts_time['o200k_base'] / 1e6:.1f} M chars/s")
            whole = "\n".join(texts)
            start = time.process_time()
            tk.estimate(whole)
            est_s = time.process_time() - start
            start = time.process_time()
            counters["o200k_base"](whole)
            exact_s = time.process_time() - start
            print(f"  speed (CPU time), all of it as one text: estimate {len(whole) / est_s / 1e6:.1f} M chars/s, "
                  f"tiktoken o200k_base {len(whole) / exact_s / 1e6:.1f} M chars/s")


# -- (c) speed and memory -----------------------------------------------------------------------

def build(path: Path, sources: list, size: int) -> int:
    """Write ``sources`` again and again to ``path`` until it holds ``size`` bytes, ending with
    the last source whole, so the file's last record is that source's."""
    blobs = [p.read_bytes() for p in sources]
    blobs = [b if b.endswith(b"\n") else b + b"\n" for b in blobs]
    total = 0
    with open(path, "wb") as f:
        while total < size:
            for blob in blobs:
                f.write(blob)
                total += len(blob)
    return total


READ_CHILD = r"""
import resource, sys, time, tracemalloc
from tether.transcripts import Transcript

def memory_kb(field):
    # /proc's VmHWM is this process's own peak; ru_maxrss would keep the peak of the parent it
    # was forked from (the benchmark, with tiktoken's vocabularies loaded) across the exec.
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

path, trace = sys.argv[1], sys.argv[2] == "trace"
t = Transcript(path)
base = memory_kb("VmRSS")
if trace:
    tracemalloc.start()
start, cpu = time.perf_counter(), time.process_time()
n = 0
for record in t:
    n += 1
elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
traced = tracemalloc.get_traced_memory()[1] if trace else 0
print(n, elapsed, base, memory_kb("VmHWM"), t.problems.count, t.stats["bytes"], traced, cpu)
"""

USAGE_CHILD = "import sys; from tether.transcripts.usage import context_usage; context_usage(sys.argv[1])"


def read_in_child(path: Path, trace: bool = False) -> dict:
    """Every record of ``path`` read in a new process: its time, its max RSS before and after,
    and with ``trace`` the peak of Python's own allocations (tracemalloc, which slows it)."""
    out = subprocess.run([sys.executable, "-c", READ_CHILD, str(path), "trace" if trace else "-"], capture_output=True,
                         text=True, check=True, env=child_env()).stdout.split()
    return {"records": int(out[0]), "seconds": float(out[1]), "base_kb": int(out[2]), "peak_kb": int(out[3]),
            "problems": int(out[4]), "bytes": int(out[5]), "traced": int(out[6]), "cpu": float(out[7])}


def child_env() -> dict:
    environ = dict(os.environ)
    environ["PYTHONPATH"] = str(Path(__file__).resolve().parents[1] / "src")
    return environ


def parse_size(text: str) -> int:
    units = {"K": 1024, "M": 1024 ** 2, "G": 1024 ** 3}
    text = text.strip().upper().rstrip("B")
    if text and text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(text)


def whole_process(argvs: dict, runs: int) -> dict:
    times = {name: [] for name in argvs}
    environ = child_env()
    for i in range(runs + 2):
        for name, argv in argvs.items():
            start = time.perf_counter()
            subprocess.run(argv, check=True, env=environ, capture_output=True)
            if i >= 2:
                times[name].append(time.perf_counter() - start)
    return {name: statistics.median(v) * 1000 for name, v in times.items()}


def bench_speed(big_size: int, runs: int, keep: bool, trace: bool) -> None:
    print("\n(c) read throughput, peak memory, and the usage read from the end")
    claude = [p for p in transcript_files(TRANSCRIPTS / "claude-code")
              if "subagents" not in p.parts and p.name != "sample_hook_logs.jsonl" and "ccusage" not in p.parts]
    # The spotter session last: the files end with its last record.
    claude.sort(key=lambda p: p.name.startswith("ae4a77f8"))
    codex = transcript_files(TRANSCRIPTS / "codex")
    if not claude:
        print("  skipped: no Claude Code samples")
        return
    work = Path(tempfile.mkdtemp(prefix="tether-bench-transcripts-"))
    try:
        free = shutil.disk_usage(work).free
        if big_size + 10 * 1024 ** 2 > free * 0.8:
            smaller = int(free * 0.5)
            print(f"  only {free / 1024 ** 3:.1f} GB free in {work}: the big transcript is {smaller / 1024 ** 3:.1f} GB "
                  f"instead of {big_size / 1024 ** 3:.1f} GB")
            big_size = smaller
        files = {}
        files["claude 10 MB"] = work / "claude-10M.jsonl"
        build(files["claude 10 MB"], claude, 10 * 1024 ** 2)
        if codex:
            files["codex 10 MB"] = work / "codex-10M.jsonl"
            build(files["codex 10 MB"], codex, 10 * 1024 ** 2)
        big_label = f"claude {big_size / 1024 ** 3:.2f} GB"
        files[big_label] = work / "claude-big.jsonl"
        start = time.perf_counter()
        build(files[big_label], claude, big_size)
        print(f"  built in {work} from {len(claude)} Claude Code sessions ({sum(p.stat().st_size for p in claude) / 1e6:.1f} MB)"
              f"{' and ' + str(len(codex)) + ' Codex rollouts' if codex else ''}; the big one in "
              f"{time.perf_counter() - start:.1f} s")

        print(f"\n  {'transcript':<18} {'MB':>9} {'records':>11} {'seconds':>8} {'MB/s':>7} {'CPU MB/s':>8} "
              f"{'max RSS MB':>10} {'before':>7} {'traced peak KB':>14}  problems")
        for label, path in files.items():
            rounds = 3 if path.stat().st_size < 100 * 1024 ** 2 else 1
            results = [read_in_child(path) for _ in range(rounds)]
            best = min(results, key=lambda r: r["seconds"])
            traced = read_in_child(path, trace=True)["traced"] if trace else None
            size = path.stat().st_size
            print(f"  {label:<18} {size / 1e6:9.1f} {best['records']:11,} {best['seconds']:8.2f} "
                  f"{size / best['seconds'] / 1e6:7.1f} {size / best['cpu'] / 1e6:8.1f} "
                  f"{best['peak_kb'] / 1024:10.1f} {best['base_kb'] / 1024:7.1f} "
                  f"{traced / 1024 if traced is not None else float('nan'):14.1f}  {best['problems']}")
        print("  target: at least 50 MB/s; peak memory flat from 10 MB to the big transcript. MB/s is the best of 3"
              " runs (1 for the big one), by the wall clock and by the process's CPU time (the machine is shared);"
              " max RSS is the reading process's peak (VmHWM), `before` its RSS once imported; traced peak: tracemalloc's")

        print(f"\n  usage from the end (in-process, median of {runs * 5} runs, page cache warm)")
        print(f"  {'transcript':<18} {'ms':>8} {'bytes read':>11}  reading")
        for label, path in files.items():
            times = []
            for _ in range(runs * 5):
                start = time.perf_counter()
                reading = context_usage(path)
                times.append(time.perf_counter() - start)
            print(f"  {label:<18} {statistics.median(times) * 1000:8.3f} {reading.bytes_read:11,}  {reading.tokens:,} tokens, "
                  f"{reading.percent:.1f}% of {reading.window:,}, {reading.state}, from {reading.source}")
        py = sys.executable
        argvs = {"python -c pass": [py, "-c", "pass"]}
        for label in ("claude 10 MB", big_label):
            argvs[f"usage, {label}"] = [py, "-c", USAGE_CHILD, str(files[label])]
        medians = whole_process(argvs, runs)
        print(f"\n  as whole processes (median of {runs} interleaved runs)")
        base = medians["python -c pass"]
        for name, ms in medians.items():
            print(f"  {name:<28} {ms:7.1f} ms  {ms / base:5.2f}x python -c pass")
    finally:
        if keep:
            print(f"  kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--big", default="2G", help="size of the big synthetic transcript (default 2G; e.g. 300M)")
    parser.add_argument("--runs", type=int, default=20, help="whole-process runs per command (default 20)")
    parser.add_argument("--only", action="append", choices=["usage", "estimate", "speed"],
                        help="run only these parts (repeatable)")
    parser.add_argument("--keep", action="store_true", help="keep the synthetic transcripts")
    parser.add_argument("--no-trace", action="store_true", help="skip the tracemalloc runs (they are slow on the big one)")
    args = parser.parse_args(argv)
    parts = set(args.only or ["usage", "estimate", "speed"])
    sets = [("transcripts (samples)", transcript_files(TRANSCRIPTS)),
            ("transcripts-eval (figures only)", transcript_files(EVAL))]
    print(f"bench_transcripts  ({time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores, Python "
          f"{sys.version.split()[0]}, samples from {SHARED})")
    if "usage" in parts:
        bench_usage(sets)
        bench_compactions(sets)
    if "estimate" in parts:
        bench_estimate(sets)
    if "speed" in parts:
        bench_speed(parse_size(args.big), args.runs, args.keep, not args.no_trace)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
