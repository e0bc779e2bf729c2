"""Recall: quality on LoCoMo, latency and index build time on the big workspace.

    .venv/bin/python bench/bench_recall.py                  # both parts
    .venv/bin/python bench/bench_recall.py --only quality --tune   # conversations 1-5 (tuning set)
    .venv/bin/python bench/bench_recall.py --only speed --runs 20

Quality: each LoCoMo conversation becomes a fresh workspace whose context.jsonl holds one
entry per turn ("speaker: text", and the shared photo's caption), dated by its session; every
question with evidence is asked through ``Recall.search`` (lexical tier, limit 10, budget
unlimited) and evidence recall@10 is the share of its evidence turns among the hits, averaged
over questions. Conversations 1-5 are the tuning set; 6-10 are reported only (by default),
never inspected per question. Speed: the 10,000-task workspace (make_workspace.py).
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


def quality(indices, label: str) -> None:
    from tether.recall import Recall

    data = json.loads(LOCOMO.read_text())
    per_conv, all_scores, no_adv = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in indices:
            sample = data[i]
            ws = _conversation_workspace(sample, Path(tmp) / f"conv{i + 1}")
            rec = Recall(ws)
            scores = []
            for qa in sample["qa"]:
                evidence = {e.strip() for e in qa.get("evidence") or [] if e.strip()}
                if not evidence:
                    continue
                hits = rec.search(qa["question"], limit=10, budget=10 ** 9, kinds=["context"])["hits"]
                got = {h["id"] for h in hits}
                score = len(evidence & got) / len(evidence)
                scores.append(score)
                if qa.get("category") != 5:
                    no_adv.append(score)
            rec.close()
            per_conv.append((sample["sample_id"], statistics.mean(scores), len(scores)))
            all_scores += scores
    print(f"\nLoCoMo evidence recall@10, lexical (FTS5 BM25), {label}")
    for sid, score, count in per_conv:
        print(f"  {sid:<10} {score:.3f}  ({count} questions)")
    print(f"  all        {statistics.mean(all_scores):.3f}  ({len(all_scores)} questions; target >= 0.80 with the hybrid)")
    print(f"  all but adversarial (category 5)  {statistics.mean(no_adv):.3f}  ({len(no_adv)} questions)")


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=["quality", "speed"], action="append")
    parser.add_argument("--tune", action="store_true", help="quality on conversations 1-5 only (the tuning set)")
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    only = set(args.only or ["quality", "speed"])
    if "quality" in only:
        if not LOCOMO.exists():
            print(f"LoCoMo not found at {LOCOMO}: quality skipped")
        else:
            quality(TUNE, "conversations 1-5 (tuning set)")
            if not args.tune:
                quality(REPORT, "conversations 6-10 (reported, never tuned on)")
    if "speed" in only:
        speed(args.runs)


if __name__ == "__main__":
    main()
