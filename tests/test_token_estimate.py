"""The token estimate is computed with bit operations on big integers, not regular expressions
(it runs over every byte a compaction reads), or in C where pip built tether's extension: either
must give exactly what the plain definition gives. Every test runs on both."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest

from tether.transcripts import tokens
from tether.transcripts.tokens import estimate
from tether.compaction.messages import strings as every_string  # every string of a JSON value

TRANSCRIPTS = Path(__file__).resolve().parents[2] / "shared" / "bench" / "transcripts"
NATIVE = tokens._native


@pytest.fixture(autouse=True, params=["python", "c"])
def counts(request, monkeypatch):
    """The estimate's counts in Python, then in C (skipped where the extension was not built)."""
    if request.param == "python":
        monkeypatch.setattr(tokens, "_native", None)
    elif NATIVE is None:
        pytest.skip("tether.transcripts._counts was not built (no C compiler at install)")
    return request.param


def _table(byte_class) -> bytes:
    return bytes(byte_class(i) for i in range(256))


_LETTERS = _table(lambda i: 97 if 65 <= i <= 90 or 97 <= i <= 122 else 32)        # "a" or " "
_DIGITS = _table(lambda i: 100 if 48 <= i <= 57 else 32)                           # "d" or " "
_SPACES = _table(lambda i: 32 if i == 32 else 110 if 9 <= i <= 13 else 120)       # " ", "n" or "x"
_PUNCTUATION = bytes(range(33, 48)) + bytes(range(58, 65)) + bytes(range(91, 97)) + bytes(range(123, 127))
_NOT_LEAD_BYTES = bytes(range(0xC0))


def reference(text: str) -> int:
    """The estimate as first written: a regular expression for long words, every x doubled."""
    if not text:
        return 0
    data = text.encode("utf-8", "surrogatepass")
    letters = b" " + data.translate(_LETTERS)
    count = letters.count(b" a")
    for word in re.findall(rb"a{9,}", letters):
        count += (len(word) - 5) // 4
    digits = (b" " + data.translate(_DIGITS)).replace(b"ddd", b"D")
    count += digits.count(b"D") + digits.count(b" d") + digits.count(b"Dd")
    spaces = b"x" + data.translate(_SPACES) + b"x"
    count += spaces.count(b"x ") + spaces.count(b"xn") - spaces.replace(b"x", b"xx").count(b"x x")
    punctuation = len(data) - len(data.translate(None, _PUNCTUATION))
    non_ascii = len(data.translate(None, _NOT_LEAD_BYTES)) if not text.isascii() else 0
    return count + int(0.6 * punctuation + 0.3 * data.count(b"\n") + 2.0 * non_ascii + 0.5)


def test_the_estimate_equals_its_definition_on_random_and_edge_texts():
    rng = random.Random(13)
    alphabet = "ab  \n\t1234.,_-é✓" + "x" * 4
    texts = ["", " ", "a", "a b c d e", "aaaaaaaa", "aaaaaaaaa", "a" * 13, "a" * 12, " " * 5, "1" * 7,
             "x x x x", "\n\n a\n", "supercalifragilistic expialidocious", "é" * 9]
    for _ in range(3000):
        texts.append("".join(rng.choice(alphabet) for _ in range(rng.randint(1, 60))))
    words = [("".join(rng.choice("abcdefgh") for _ in range(rng.randint(1, 20)))) for _ in range(200)]
    for _ in range(200):
        texts.append(rng.choice(("", " ", "\n")).join(rng.choice(words) + rng.choice((" ", "  ", "\n", ".", ""))
                                                          for _ in range(rng.randint(1, 80))))
    for text in texts:
        assert estimate(text) == reference(text), repr(text)


def test_the_estimate_equals_its_definition_on_long_runs_and_long_texts():
    """Runs of letters, digits and whitespace of every length up to hundreds (the counts are
    doubled round by round up to the longest run), at the text's start, end and middle, and
    texts of many kilobytes."""
    rng = random.Random(17)
    texts = []
    for n in range(1, 140):
        for piece in ("a", "7", " ", "\n", " \n", "\t"):
            run = (piece * n)[:n]
            texts += [run, run + "x.", "x." + run, "b " + run + " 9", "é" + run + "é"]
    pieces = ["a" * 9, "a" * 300, "1" * 3, "1" * 1000, " " * 2, " ", "\n", "\t\t", ".", ",", "é", "✓", "😀",
              "word", "12", "\r\n", "x" * 77]
    for _ in range(300):
        texts.append("".join(rng.choice(pieces) for _ in range(rng.randint(1, 400))))
    for text in texts:
        assert estimate(text) == reference(text), repr(text[:80])


def test_the_estimate_equals_its_definition_on_the_real_transcripts():
    files = sorted(TRANSCRIPTS.rglob("*.jsonl")) if TRANSCRIPTS.is_dir() else []
    if not files:
        pytest.skip("no transcripts in ../shared/bench/transcripts")
    for path in files:
        strings = []
        with open(path, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                strings.append(line)
                try:
                    strings += every_string(json.loads(line))
                except ValueError:
                    continue
        whole = "\n".join(strings)
        assert estimate(whole) == reference(whole), path.name
        for text in strings[:2000]:
            assert estimate(text) == reference(text), path.name



def test_the_length_bound_is_never_exceeded():
    """Compaction skips counting a text whose bound is under the threshold: the bound must hold
    on the densest texts there are (one-letter words between line breaks, non-ASCII, punctuation)."""
    from tether.transcripts.tokens import estimate_at_most

    rng = random.Random(7)
    alphabet = "a1 \n\t.,é✓😀\x00Z9_-"
    texts = ["a\n" * 50, "1\n" * 50, "\n" * 9, "é\n" * 30, "a.a." * 20, "a1" * 40, ".\n" * 30, "😀" * 5, "é",
             "\n", "a", "."]
    for _ in range(5000):
        texts.append("".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40))))
    for text in texts:
        assert estimate(text) <= estimate_at_most(text), repr(text)
    assert max(estimate(t) / estimate_at_most(t) for t in texts if len(t) > 20) > 0.8  # a bound close enough to help


def test_the_estimate_of_texts_joined_is_summed_exactly_from_their_parts():
    """Compaction counts a whole list as its strings joined by line breaks, and the large strings
    alone in the same pass (tiers 1 and 2 ask for those again): the sum must be the count of the
    joined text, whatever whitespace, blank or empty texts meet at the joins."""
    from tether.transcripts.tokens import Joined, estimate_joined

    rng = random.Random(11)
    alphabet = ["a", "b", " ", "  ", "\n", "\t", "\r", "1", "22", ".", "é", "✓", "word", "xx", " " * 300]
    for _ in range(4000):
        texts = ["".join(rng.choice(alphabet) for _ in range(rng.choice((0, 0, 1, 2, 5, 20))))
                 for _ in range(rng.randint(0, 6))]
        want = estimate("\n".join(texts))
        for alone_from in (None, 0, 1, 4, 30, -5, 10 ** 20):  # any int: `tether compact --threshold` takes any
            total, singles = estimate_joined(texts, alone_from)
            assert total == want, texts
            assert all(tokens == estimate(texts[i]) for i, tokens in singles.items()), texts
        joined = Joined()  # `tether usage` of a list: its messages given one at a time, none kept
        for text in texts:
            joined.add(text)
        assert joined.total() == want, texts


def test_the_parts_of_a_text_are_the_same_in_c_and_python(counts):
    """Joined (a list given a message at a time) sums the parts: every one must agree, on texts of
    one, two and four bytes a character (Python's str kinds), lone surrogates and control bytes too."""
    if counts == "python":
        pytest.skip("compares the C parts with the Python ones")
    rng = random.Random(23)
    alphabet = ["a", "Z", "0", "9", " ", "  ", "\n", "\t", "\r", "\x0b", "\x0c", "\x00", "\x7f", ".", "{", "~",
                "é", "\xa0", "\x85", "✓", "\u2028", "😀", "\ud800", "word", "123456"]
    texts = ["", " ", "\n", " a", "  a", "a ", "a  ", " \n ", "\t"]
    for _ in range(5000):
        texts.append("".join(rng.choice(alphabet) for _ in range(rng.randint(1, 30))))
    for text in texts:
        assert NATIVE.parts(text) == tokens._python_parts(text), repr(text)


def test_the_c_counts_refuse_what_is_not_text():
    if NATIVE is None:
        pytest.skip("tether.transcripts._counts was not built")
    with pytest.raises(TypeError):
        NATIVE.parts(b"bytes")
    with pytest.raises(TypeError):
        NATIVE.joined(["a", 1], None)
    with pytest.raises(TypeError):
        NATIVE.joined(("a",), None)


def _random_value(rng, depth=0):
    """A JSON value with the shapes a message list has: content blocks (media among them, real or
    only named so), nested inputs, scalars of every kind."""
    pick = rng.random()
    if depth > 5 or pick < 0.35:
        return rng.choice(["text", "", " a\n", "é✓", "\ud800", 7, 2.5, None, True, False, "data:x", "Q" * 40])
    if pick < 0.45:
        kind = rng.choice(["image", "image_url", "input_image", "document", "file", "input_file"])
        blocks = {
            "image": {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0K"}},
            "image_url": {"type": "image_url", "image_url": {"url": rng.choice(["data:image/png;base64,AAAA",
                                                                                 "https://example.com/a.png"])}},
            "input_image": {"type": "input_image", "image_url": "data:image/png;base64,AAAA"},
            "document": {"type": "document", "source": rng.choice([
                {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0xLjQKL1R5cGUgL1BhZ2UK"},
                {"type": "text", "media_type": "text/plain", "data": "plain words"}])},
            "file": {"type": "file", "file": {"filename": "a.pdf", "file_data": rng.choice([
                "data:application/pdf;base64,JVBERi0xLjQK", "file-abc123"])}},
            "input_file": {"type": "input_file", "file_id": "file-xyz"},
        }
        return dict(blocks[kind], note=_random_value(rng, depth + 1))
    if pick < 0.75:
        return {rng.choice(["type", "text", "content", "input", "k"]) + str(i): _random_value(rng, depth + 1)
                for i in range(rng.randint(0, 4))} | ({"type": rng.choice(["text", 3, "image"])} if rng.random() < 0.3 else {})
    return [_random_value(rng, depth + 1) for _ in range(rng.randint(0, 5))]


def _python_strings(value) -> list:
    out: list = []
    if isinstance(value, str):
        out.append(value)
    elif isinstance(value, (dict, list)):
        tokens._gather(value, out.append)
    return out


def test_the_strings_of_a_value_are_gathered_the_same_in_c_and_python(counts):
    """Compaction counts a list by its strings, in order (the joins between them count), less the
    base64 of inline images and PDFs: the walk in C must find the same strings and media as the
    walk in Python, and refuse deep nesting the same way."""
    if counts == "python":
        pytest.skip("compares the C walk with the Python one")
    rng = random.Random(29)
    values = [_random_value(rng) for _ in range(3000)] + ["s", 1, None, [], {}, [[["x"]]], {"type": "image"}]
    for value in values:
        assert tokens.strings(value) == _python_strings(value), value
        assert tokens.counted_strings(value) == tokens._python_counted_strings(value), value
    deep: list = []
    for _ in range(100_000):
        deep = [deep]
    with pytest.raises(RecursionError):
        NATIVE.strings(deep)
    with pytest.raises(RecursionError):
        NATIVE.strings_but({"a": deep}, frozenset({"image"}))
