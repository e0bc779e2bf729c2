"""The readers on the real sample transcripts in ../shared/bench/transcripts (skipped when absent).

Never the evaluation set (transcripts-eval): bench/bench_transcripts.py only reports figures on it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tether.transcripts import Transcript, context_usage, from_records, totals
from tether.transcripts.records import COMPACT_BOUNDARY, SUMMARY, TOOL_RESULT, USAGE

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "bench" / "transcripts"
FILES = sorted(SAMPLES.rglob("*.jsonl")) if SAMPLES.is_dir() else []
NOT_TRANSCRIPTS = {"sample_hook_logs.jsonl"}  # hook inputs, logged: not a transcript format

pytestmark = pytest.mark.skipif(not FILES, reason=f"no sample transcripts in {SAMPLES}")


def ids(paths):
    return [str(p.relative_to(SAMPLES)) for p in paths]


def own_figure(path: Path):
    """The transcript's own last context figure, read here independently of the library:
    (tokens, compacted since). Claude Code: the last main-chain response's prompt; Codex:
    the last token_count's last_token_usage.total_tokens."""
    figure, compacted = None, False
    sidechain_file = "subagents" in path.parts or path.name.startswith("sample_agent")
    with open(path, encoding="utf-8") as f:
        for line in f:
            obj = json.loads(line)
            if obj.get("type") == "compacted" or obj.get("subtype") == "compact_boundary":
                compacted = True
            payload = obj.get("payload") or {}
            if payload.get("type") == "token_count" and payload.get("info"):
                figure, compacted = payload["info"]["last_token_usage"]["total_tokens"], False
            message = obj.get("message")
            if (isinstance(message, dict) and isinstance(message.get("usage"), dict)
                    and message.get("model") != "<synthetic>" and bool(obj.get("isSidechain")) == sidechain_file):
                u = message["usage"]
                figure = u["input_tokens"] + u.get("cache_creation_input_tokens", 0) + u.get("cache_read_input_tokens", 0)
                compacted = False
    return figure, compacted


@pytest.mark.parametrize("path", FILES, ids=ids(FILES))
def test_sample_reads_cleanly_and_the_end_agrees_with_the_whole(path):
    t = Transcript(path)
    records = t.records()
    if path.name in NOT_TRANSCRIPTS:
        assert t.format is None and t.problems.count == 1
        return
    assert t.problems.count == 0, t.problems.summary()
    assert records and t.stats["lines"] == sum(1 for _ in open(path, "rb"))
    tail = context_usage(path)
    forward = from_records(Transcript(path))
    assert (tail.tokens, tail.source, tail.model, tail.window) == (
        forward.tokens, forward.source, forward.model, forward.window)
    figure, compacted = own_figure(path)
    if figure is not None and not compacted:
        assert (tail.source, tail.tokens) == ("usage", figure)
    else:
        assert tail.source in ("counted", "empty")


def test_the_compacted_session():
    path = SAMPLES / "claude-code" / "spotter" / "ae4a77f8-aedd-4bc1-888f-c94edc91af04.jsonl"
    if not path.is_file():
        pytest.skip("sample absent")
    t = Transcript(path, subagents=True)
    records = t.records()
    assert len(t.files) == 3 and t.problems.count == 0
    main = [r for r in records if not r.sidechain]
    boundary = [r for r in main if r.kind == COMPACT_BOUNDARY]
    assert len(boundary) == 1 and boundary[0].meta["trigger"] == "manual" and boundary[0].meta["pre_tokens"] > 0
    summary = [r for r in main if r.kind == SUMMARY]
    assert len(summary) == 1 and summary[0].line == boundary[0].line + 1
    # Every tool result pairs with a tool call, by id.
    calls = {r.tool_use_id for r in records if r.kind == "tool_use"}
    assert all(r.tool_use_id in calls for r in records if r.kind == TOOL_RESULT)
    # Responses are split over lines; each is counted once.
    usage_ids = [r.message_id for r in main if r.kind == USAGE]
    assert len(usage_ids) == len(set(usage_ids))
    distinct = set()
    with open(path, encoding="utf-8") as f:
        for line in f:
            obj = json.loads(line)
            if isinstance(obj.get("message"), dict) and obj["message"].get("usage"):
                distinct.add(obj["message"]["id"])
    assert totals(main)["main"]["responses"] == len(distinct)
    assert {r.agent_id for r in records if r.sidechain} == {"aac57f5", "acompact-946d2b"}


def test_the_codex_compaction_fixture():
    path = SAMPLES / "codex" / "agent-history_fixture_session_with_compaction_codex.jsonl"
    if not path.is_file():
        pytest.skip("sample absent")
    records = Transcript(path).records()
    kinds = [r.kind for r in records]
    assert kinds.count(COMPACT_BOUNDARY) == 1 and kinds.count(SUMMARY) == 1
    assert kinds.index(SUMMARY) == kinds.index(COMPACT_BOUNDARY) + 1
