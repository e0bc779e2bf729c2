"""How full the context is: read from the end, equal to a forward read, bounded in what it
reads; windows, states and token counting."""

from __future__ import annotations

import io
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from tether.transcripts import Transcript, context_usage, from_records
from tether.transcripts import lines as lines_mod
from tether.transcripts import states, tokens
from tether.transcripts.windows import window_for
from test_transcripts import (ANTHROPIC, OPENAI, cc_assistant, cc_user, claude_session, codex_rollout, cx, jsonl,
                              token_count, usage, write)

TOKENIZERS = Path(__file__).resolve().parents[2] / "shared" / "bench" / "tokenizers"
if not TOKENIZERS.is_dir():
    TOKENIZERS = Path("/work/shared/bench/tokenizers")


def assert_same(path, **options):
    tail = context_usage(path, **options)
    forward = from_records(Transcript(path), **options)
    for field in ("tokens", "window", "window_source", "state", "source", "model", "compacted", "method", "baseline"):
        assert getattr(tail, field) == getattr(forward, field), (field, tail, forward)
    return tail


def test_claude_usage_is_the_last_prompt(tmp_path):
    path = write(tmp_path, "s.jsonl", jsonl(*claude_session()))
    reading = assert_same(path)
    # msg_C: input 7 + cache creation 9000 + cache read 0; its 12 output tokens are not in the prompt.
    assert (reading.tokens, reading.source, reading.compacted) == (9007, "usage", False)
    assert reading.usage.output == 12
    assert (reading.model, reading.window, reading.window_source) == ("claude-sonnet-4-5-20250929", 200000, "table")
    assert reading.state == "GREEN" and reading.action == "Normal operation"
    assert round(reading.percent, 4) == round(100 * 9007 / 200000, 4)


def test_after_a_compaction_the_new_context_is_counted(tmp_path):
    session = claude_session()[:-2]   # ends with the summary and a meta line: no reply since the boundary
    path = write(tmp_path, "s.jsonl", jsonl(*session))
    reading = assert_same(path)
    since = tokens.estimate(session[-2]["message"]["content"]) + tokens.estimate(session[-1]["message"]["content"])
    # Plus the fixed prompt: msg_A's prompt less the one prompt before it.
    baseline = 3 + 1000 + 20000 - tokens.estimate("Fix the parser")
    assert (reading.tokens, reading.baseline, reading.source, reading.compacted) == (
        baseline + since, baseline, "counted", True)
    assert reading.method == "estimate"
    assert reading.model == "claude-sonnet-4-5-20250929"   # the session's model, from before the boundary


def test_codex_usage_is_the_last_token_count(tmp_path):
    path = write(tmp_path, "r.jsonl", jsonl(*codex_rollout()))
    reading = assert_same(path)
    assert (reading.tokens, reading.window, reading.window_source, reading.model) == (
        12580, 272000, "transcript", "gpt-5-codex")
    assert reading.usage.input == 12500 and reading.usage.output == 80


def test_codex_window_from_task_started_when_token_count_has_none(tmp_path):
    rollout = [r for r in codex_rollout() if r["payload"].get("type") != "token_count"]
    old_style = token_count(5000, 10, 5000, 10)
    del old_style["payload"]["info"]["model_context_window"]
    path = write(tmp_path, "r.jsonl", jsonl(*rollout, old_style))
    reading = assert_same(path)
    assert (reading.tokens, reading.window, reading.window_source) == (5010, 258400, "transcript")


def test_chat_lists_are_counted(tmp_path):
    path = write(tmp_path, "chat.jsonl", jsonl(*OPENAI))
    reading = assert_same(path)
    assert reading.source == "counted" and reading.format == "chat"
    # every string of the list joined, roles and ids too, as `tether compact` counts it; its
    # inline image (a data: URL) as an image, not as its text
    texts, images = tokens.counted_strings(OPENAI)
    assert images == 1 and not any(t.startswith("data:") for t in texts)
    assert reading.tokens == tokens.estimate("\n".join(texts)) + tokens.IMAGE_TOKENS
    assert reading.tokens > sum(tokens.counter().record(r) for r in Transcript(path))  # more than the records' content
    assert assert_same(write(tmp_path, "a.json", json.dumps(ANTHROPIC).encode())).tokens > 0


def test_empty_and_unknown_files(tmp_path):
    empty = context_usage(write(tmp_path, "e.jsonl", b""))
    assert (empty.tokens, empty.source, empty.state) == (0, "empty", "GREEN")
    notes = context_usage(write(tmp_path, "notes.txt", b"dear diary\n"))
    assert notes.source == "empty" and "not a transcript format" in str(notes.problems[0])
    prompt_only = write(tmp_path, "p.jsonl", jsonl(cc_user("u1", "hello there")))
    assert assert_same(prompt_only).source == "counted"


def test_a_list_nested_too_deeply_is_named_with_its_line_not_an_internal_error(tmp_path):
    """A one-line document nested past the parser's depth: named with its path and line, as any
    other bad JSON, where the first line's probe (is it JSON Lines?) let the RecursionError out."""
    deep = write(tmp_path, "deep.json", b"[" * 100_000 + b"]" * 100_000)
    reading = context_usage(deep)
    assert reading.tokens == 0 and any(f"{deep}:1: not valid JSON" in str(p) for p in reading.problems)


def test_a_torn_last_line_is_named_and_the_previous_usage_holds(tmp_path):
    data = jsonl(*claude_session()) + b'{"type": "assistant", "message": {"usage": {"input_tok'
    reading = context_usage(write(tmp_path, "s.jsonl", data))
    assert reading.tokens == 9007
    assert len(reading.problems) == 1 and "torn last line" in str(reading.problems[0])
    # read from the end, its line is not counted: the byte is named, never a line 0
    assert str(reading.problems[0]) == (f"{tmp_path / 's.jsonl'}: torn last line at byte {len(jsonl(*claude_session()))}"
                                        " (still being written?), not read")


def test_random_sessions_read_the_same_from_the_end(tmp_path):
    # Sessions built at random from the fixture's pieces: boundaries, sidechains, synthetic
    # replies, garbage lines, in any order; the two readings must always agree.
    rng = random.Random(7)
    pieces = claude_session()
    for trial in range(60):
        objs = []
        for i in range(rng.randint(0, 25)):
            choice = rng.random()
            if choice < 0.3:
                objs.append(cc_assistant(f"a{trial}-{i}", f"msg_{rng.randint(0, 6)}",
                                         [{"type": "text", "text": "x" * rng.randint(0, 50)}],
                                         usage(rng.randint(0, 9), rng.randint(0, 99), rng.randint(0, 999),
                                               rng.randint(0, 9999)),
                                         sidechain=rng.random() < 0.2))
            elif choice < 0.4:
                objs.append(pieces[10])   # a compact boundary
            elif choice < 0.45:
                objs.append(cc_assistant("syn", "syn", [{"type": "text", "text": "err"}], usage(0, 0),
                                         model="<synthetic>"))
            else:
                objs.append(rng.choice(pieces))
        data = jsonl(*objs)
        if rng.random() < 0.2:
            data += b"garbage\n"
        assert_same(write(tmp_path, f"r{trial}.jsonl", data))


class CountingFile(io.RawIOBase):
    """A file whose reads are counted: what the from-the-end reading touches."""

    def __init__(self, path):
        self.f = open(path, "rb")
        self.read_bytes = 0

    def read(self, size=-1):
        data = self.f.read(size)
        self.read_bytes += len(data)
        return data

    def readline(self, size=-1):
        data = self.f.readline(size)
        self.read_bytes += len(data)
        return data

    def seek(self, offset, whence=0):
        return self.f.seek(offset, whence)

    def tell(self):
        return self.f.tell()

    def close(self):
        self.f.close()


@pytest.mark.parametrize("fmt", ["claude-code", "codex"])
def test_reading_from_the_end_touches_only_the_tail(tmp_path, fmt):
    if fmt == "claude-code":
        prefix_unit = jsonl(*claude_session()[:10])
        tail = jsonl(*claude_session()[10:])
        expected = 9007
    else:
        prefix_unit = jsonl(*codex_rollout())
        tail = jsonl(cx("response_item", {"type": "message", "role": "user", "content": []}),
                     token_count(777, 23, 10**6, 10**4))
        expected = 800
    reads = {}
    for size in (100 * 1024, 24 * 1024 * 1024):
        path = write(tmp_path, f"{fmt}-{size}.jsonl", prefix_unit * (size // len(prefix_unit) + 1) + tail)
        assert os.path.getsize(path) > size
        counting = CountingFile(path)
        try:
            reading = context_usage(counting, format=fmt)
        finally:
            counting.close()
        assert (reading.tokens, reading.source) == (expected, "usage")
        reads[size] = counting.read_bytes
    # Only the tail was read, the same bytes whatever came before it.
    assert reads[100 * 1024] == reads[24 * 1024 * 1024] <= 64 * 1024


def test_lines_read_backward_equal_lines_read_forward():
    rng = random.Random(11)
    for trial in range(300):
        data = b"".join(b"x" * rng.randint(0, 200) + b"\n" for _ in range(rng.randint(0, 40)))
        if rng.random() < 0.3:
            data += b"torn" * rng.randint(1, 30)
        forward = [(offset, line) for _, offset, line in lines_mod.raw_lines(io.BytesIO(data))]
        backward = list(lines_mod.backward(io.BytesIO(data), chunk=rng.choice([1, 5, 64, 4096])))
        assert backward == forward[::-1]


# -- states and windows --------------------------------------------------------------------------

@pytest.mark.parametrize("percent,state", [
    (0, "GREEN"), (24.99, "GREEN"), (25, "YELLOW"), (49.9, "YELLOW"), (50, "ORANGE"), (74.99, "ORANGE"),
    (75, "RED"), (84.99, "RED"), (85, "CRITICAL"), (100, "CRITICAL"), (130, "CRITICAL")])
def test_states_at_the_seed_thresholds(percent, state):
    assert states.state_for(percent) == state


def test_actions_are_the_seeds():
    assert states.ACTIONS == {
        "GREEN": "Normal operation", "YELLOW": "Monitor, prepare compression",
        "ORANGE": "Tier 1 & 2 compression active", "RED": "Tier 3 summarisation + checkpoint",
        "CRITICAL": "Final checkpoint + fresh session"}


def test_thresholds_are_configurable_and_checked(tmp_path):
    assert states.state_for(30, {"yellow": 35}) == "GREEN"
    assert states.state_for(60, {"RED": 60, "CRITICAL": 90}) == "RED"
    for bad, message in (({"PURPLE": 10}, "unknown context state"), ({"RED": 120}, "from 0 to 100"),
                         ({"ORANGE": 80}, "must rise"), ({"RED": "high"}, "from 0 to 100")):
        with pytest.raises(ValueError, match=message):
            states.thresholds(bad)
    path = write(tmp_path, "s.jsonl", jsonl(*claude_session()))
    assert context_usage(path, thresholds={"YELLOW": 4}).state == "YELLOW"
    with pytest.raises(ValueError):
        context_usage(path, thresholds={"YELLOW": 90})


def test_windows():
    assert window_for("claude-opus-4-6") == (200000, "table")
    assert window_for("claude-opus-4-6", 250000) == (1000000, "table, 1M variant")
    assert window_for("claude-haiku-4-5-20251001", 250000) == (200000, "table")   # no larger variant
    assert window_for("claude-sonnet-4-5[1m]") == (1000000, "table, 1M variant")
    assert window_for("gpt-5.1-codex-max") == (272000, "table")
    assert window_for("gpt-5-codex", reported=258400) == (258400, "transcript")
    assert window_for("gpt-5-codex", reported=258400, windows={"gpt-5": 400000}) == (400000, "config")
    assert window_for("claude-opus-4-6", windows={"claude-opus": 1000000, "claude-opus-4-6": 500000}) == (
        500000, "config")   # the longest prefix
    assert window_for("anything", window=64000, reported=1) == (64000, "option")
    assert window_for(None) == (200000, "default") and window_for("mystery-model") == (200000, "default")


def test_a_1m_session_is_recognised_by_its_size(tmp_path):
    big = cc_assistant("a1", "msg_A", [{"type": "text", "text": "..."}], usage(10, 5, 2000, 300000),
                       model="claude-sonnet-4-5-20250929")
    reading = context_usage(write(tmp_path, "s.jsonl", jsonl(big)))
    assert (reading.window, reading.state) == (1000000, "YELLOW")
    assert context_usage(write(tmp_path, "t.jsonl", jsonl(big)), window=400000).state == "RED"


# -- counting tokens -------------------------------------------------------------------------------

def test_estimate_counts_pieces():
    assert tokens.estimate("") == 0
    assert tokens.estimate("hello world") == 2
    assert tokens.estimate("internationalization") == 1 + (20 - 5) // 4
    assert tokens.estimate("123456") == 2            # two groups of three digits
    text = "def parse(tokens):\n    return [t for t in tokens if t]\n"
    assert tokens.estimate(text * 10) == pytest.approx(10 * tokens.estimate(text), abs=5)


def test_estimate_is_its_definition_in_regular_expressions():
    # The estimate counts with bytes.translate and bytes.count for speed; it must count
    # exactly what these plain expressions describe.
    import re

    words, long_words = re.compile(r"[A-Za-z]+"), re.compile(r"[A-Za-z]{9,}")
    digit_groups, punctuation = re.compile(r"[0-9]{1,3}"), re.compile(r"[!-/:-@\[-`{-~]")
    space_runs, non_ascii = re.compile(r"[ \t\n\r\x0b\x0c]{2,}|[\t\n\r\x0b\x0c]"), re.compile(r"[^\x00-\x7f]")

    def reference(text):
        count = (len(words.findall(text)) + sum((len(w) - 5) // 4 for w in long_words.findall(text))
                 + len(digit_groups.findall(text)) + len(space_runs.findall(text)))
        return count + int(0.6 * len(punctuation.findall(text)) + 0.3 * text.count("\n")
                           + 2.0 * len(non_ascii.findall(text)) + 0.5)

    rng = random.Random(5)
    alphabet = "ab9 \n\t.é漢xyz0123456789 ABCDEFGHIJKLM  \r{}\":"
    for _ in range(5000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 80)))
        assert tokens.estimate(text) == reference(text), repr(text)


@pytest.mark.skipif(not (TOKENIZERS / "o200k_base.tiktoken").is_file(), reason="no offline tokenizer files")
def test_exact_counts_from_a_directory_and_the_estimate_near_them(monkeypatch):
    pytest.importorskip("tiktoken")
    monkeypatch.setenv("TETHER_TIKTOKEN_DIR", str(TOKENIZERS))
    counter = tokens.counter(exact=True)
    assert counter.method == "tiktoken:o200k_base"
    assert counter("hello world") == 2
    assert tokens.counter(exact=True, encoding_name="cl100k_base")("hello world") == 2
    assert tokens.counter(exact=None).method == "tiktoken:o200k_base"   # at hand: used
    prose = ("The parser reads each line, keeps the records it knows, and reports the lines it "
             "cannot read with their path and number. ") * 20
    code = "for i, line in enumerate(lines):\n    if not line.strip():\n        continue\n" * 20
    for text in (prose, code, json.dumps({"file_path": "/src/a.py", "old_string": "x = 1", "new_string": "x = 2"})):
        exact = counter(text)
        assert abs(tokens.estimate(text) - exact) <= 0.25 * exact, (text[:30], tokens.estimate(text), exact)


def test_a_vocabulary_that_fails_its_hash_is_refused(tmp_path, monkeypatch):
    pytest.importorskip("tiktoken")
    (tmp_path / "o200k_base.tiktoken").write_bytes(b"aGVsbG8= 0\n")
    monkeypatch.setenv("TETHER_TIKTOKEN_DIR", str(tmp_path))
    with pytest.raises(tokens.TokenizerUnavailable, match="hash"):
        tokens.counter(exact=True)
    assert tokens.counter(exact=None).method == "estimate"


def test_no_vocabulary_falls_back_to_the_estimate(tmp_path, monkeypatch):
    monkeypatch.setenv("TETHER_TIKTOKEN_DIR", str(tmp_path))   # empty: nothing at hand
    assert tokens.counter(exact=None).method == "estimate"
    assert tokens.counter().method == "estimate"
    with pytest.raises(tokens.TokenizerUnavailable):
        tokens.counter(exact=True)


def test_encoding_for_models():
    assert tokens.encoding_for("gpt-5-codex") == "o200k_base"
    assert tokens.encoding_for("gpt-4-0613") == "cl100k_base"
    assert tokens.encoding_for("claude-opus-4-6") == "o200k_base"


def test_the_usage_path_is_import_light(tmp_path):
    path = write(tmp_path, "s.jsonl", jsonl(*claude_session()))
    code = ("import sys; from tether.transcripts.usage import context_usage; r = context_usage(sys.argv[1]); "
            "print(r.tokens); heavy = {'tiktoken', 'yaml', 'dataclasses', 'typing', 'tether.transcripts.claude_code',"
            " 'tether.transcripts.tokens'} & set(sys.modules); print(sorted(heavy))")
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True).stdout
    assert out.split("\n")[:2] == ["9007", "[]"]
