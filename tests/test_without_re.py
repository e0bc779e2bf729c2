"""A checkpoint and a warm session start load neither `re` nor `json` (their imports were a sixth of
those processes' time): the checks they run are written with str methods and `_json`'s C functions
instead. Each must give exactly what the pattern, or json itself, gives; the patterns here are the
definitions, and each is asked over random text from an alphabet that reaches its edges (other
scripts' digits, Unicode spaces, a final newline, lone surrogates)."""

from __future__ import annotations

import json
import random
import re
import sys

import pytest

from tether.core import long_break
from tether.core.tasks import _numbers
from tether.model import clock, fastjson, ids, tokens
from tether.store import codec
from tether.store.cache_files import _hex_name
from tether.store.task_files import numbered_files

RANDOM = random.Random(20261205)


def texts(alphabet: str, most: int, count: int = 6000, seeds: tuple[str, ...] = ()) -> list[str]:
    """``seeds`` as they are, and each with random edits, then random strings of ``alphabet``."""
    out = list(seeds)
    for seed in seeds:
        for _ in range(200):
            chars = list(seed)
            for _ in range(RANDOM.randint(1, 3)):
                at = RANDOM.randint(0, len(chars))
                what = RANDOM.random()
                if what < 0.4 and chars:
                    chars[min(at, len(chars) - 1)] = RANDOM.choice(alphabet)
                elif what < 0.7:
                    chars.insert(at, RANDOM.choice(alphabet))
                elif chars:
                    del chars[min(at, len(chars) - 1)]
            out.append("".join(chars))
    out += ["".join(RANDOM.choice(alphabet) for _ in range(RANDOM.randint(0, most))) for _ in range(count)]
    return out


ODD = "\n\r\t \u00a0\u2003\u3000\x1c\u0663\u0967\u00b2\ufeff\ud800é日"


def test_valid_id_is_the_id_pattern():
    # \Z, not $: the old pattern's `$` took "T1\n", and a task folder was made with a newline in its name
    pattern = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z")
    cases = texts("aZ09._-/" + ODD, 70, seeds=("T-261120-mnqvvt", "T004", "D-1", "a" * 64, "a" * 65, "T1\n", ".x"))
    for text in cases:
        assert ids.valid_id(text) == bool(pattern.match(text)), repr(text)
    with pytest.raises(TypeError):
        ids.valid_id(None)


STAMP = re.compile(r"(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d)(?::(\d\d)(?:\.\d{1,6})?)?(?:Z|[+-](\d\d):(\d\d))?", re.ASCII)
DAY = re.compile(r"(\d{4})-(\d\d)-(\d\d)", re.ASCII)


def stamp_reference(text: str) -> bool:
    match = STAMP.fullmatch(text)
    if match is None:
        return False
    year, month, day, hour, minute, second, zone_h, zone_m = (int(g or 0) for g in match.groups())
    return (year > 0 and clock._valid_day(year, month, day) and hour < 24 and minute < 60 and second < 60
            and zone_h < 24 and zone_m < 60)


def test_is_stamp_and_is_day_are_the_formats_patterns():
    seeds = ("2026-11-21T10:57:04Z", "2026-11-21 10:57", "2024-02-29T00:00:00.123456+05:30", "2026-11-21T10:57:04.1234567Z",
             "0000-01-01T00:00Z", "2025-02-29T10:00:00Z", "2026-11-21T23:59:59-23:59", "2026-11-21T10:57:4Z")
    for text in texts("0123456789-T :.Z+" + ODD, 34, seeds=seeds):
        assert clock.is_stamp(text) == stamp_reference(text), repr(text)
    for text in texts("0123456789-" + ODD, 12, seeds=("2026-11-21", "2024-02-29", "2100-02-29", "0000-01-01")):
        match = DAY.fullmatch(text)
        expected = match is not None and int(match.group(1)) > 0 and clock._valid_day(*map(int, match.groups()))
        assert clock.is_day(text) == expected, repr(text)


def test_checkpoint_names_and_numbers_are_the_listing_patterns():
    files_re = re.compile(r"^(CKP-(\d+)(?:-[0-9a-z]+)?)\.md$", re.M)
    numbers_re = re.compile(r"^CKP-(\d+)", re.M)
    alphabet = "CKP-0123456789abz.mdA_" + ODD
    seeds = ("CKP-0001-7kq2mx.md", "CKP-0004.md", "CKP-12.md.md", "CKP-\u0663.md", "CKP-1-.md", "x\nCKP-0002-ab.md")
    for _ in range(600):
        listing = RANDOM.sample(texts(alphabet, 24, count=40, seeds=seeds), 12)
        expected = [(int(number), name) for name, number in files_re.findall("\n".join(listing))]
        assert numbered_files(listing) == expected, listing
        stems = [name[:-3] if name.endswith(".md") else name for name in listing]
        assert _numbers(stems) == numbers_re.findall("\n".join(stems)), stems


def test_cache_reference_digits_are_the_hex_pattern():
    pattern = re.compile(r"[0-9a-f]{6,64}")
    for text in texts("0123456789abcdefgA" + ODD, 70, seeds=("3f2a9c41", "abcde", "a" * 64, "a" * 65)):
        assert _hex_name(text) == bool(pattern.fullmatch(text)), repr(text)


def test_long_break_reads_a_stamp_as_its_pattern_did():
    pattern = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?")
    seeds = ("2026-11-21T10:57:04Z", "2026-11-21", "2026-11-21 10:57", "2026-11-21T10:5", "\u0662\u0660\u0662\u0666-11-21")
    for text in texts("0123456789-T :Z" + ODD, 24, seeds=seeds):
        match = pattern.match(text)
        expected = None if match is None else [int(g or 0) for g in match.groups()]
        assert long_break._stamp_fields(text) == expected, repr(text)
    assert long_break.names_dependency("we upgraded Python to 3.12") and not long_break.names_dependency("lunch")


def test_the_brief_token_estimate_is_its_pattern():
    pieces = re.compile(r"[A-Za-z]+|[0-9]+|[^\sA-Za-z0-9]")

    def reference(text: str) -> int:
        count = 0
        for piece in pieces.findall(text):
            if piece.isascii():
                count += 1 + (len(piece) - 1) // (3 if piece[0].isdigit() else 4)
            else:
                count += 2
        return count + text.count("\n") // 2

    for text in texts("aZ09 .-_`?\x0b\x1f\U0001F600" + ODD, 60, seeds=("## Open tasks\n- T-1: docs 1-5 done (CKP-0004)",)):
        assert tokens.estimate(text) == reference(text), repr(text)
    every = "".join(chr(i) for i in range(sys.maxunicode + 1) if not 0xD800 <= i < 0xE000)
    assert tokens.estimate(every) == reference(every)  # each character's class, whitespace by str.isspace as \s


def test_the_codec_reads_and_writes_json_as_json_does():
    values = ['{"a": [1, 2.5, -0.0, 1e400, true, null], "b": "\u00e9\\u00e9 \\"x\\""}', ' \n[] \t', '"\\ud800"',
              "NaN", "-Infinity", "12345678901234567890", '{"a": 1} {"b": 2}', "", "   ", "\ufeff{}", '{"a": 1,}',
              "[1, 2", "tru", "1.5e", '{"a": "b\n"}', "[" * 50 + "]" * 50, "0x1"]
    for text in values + texts('{}[]",:0123456789.eE+- \n\\truefalsn' + ODD, 20):
        try:
            expected = ("value", json.loads(text))
        except json.JSONDecodeError as exc:
            expected = ("error", exc.msg, exc.pos)
        try:
            got = ("value", fastjson.loads_exactly(text))
        except json.JSONDecodeError as exc:
            got = ("error", exc.msg, exc.pos)
        assert repr(got) == repr(expected), repr(text)
    for value in ({"hookSpecificOutput": {"hookEventName": "SessionStart", "additionalContext": "é\n\"x\" \ud800"}},
                  [1, 2.5, float("inf"), None, True, {"z": 1, "a": [{}]}], "text", 3):
        assert fastjson.dumps(value) == json.dumps(value, ensure_ascii=False)
    with pytest.raises(TypeError, match="is not JSON serializable"):
        fastjson.dumps({"a": {1, 2}})
    record = {"b": [1, "é"], "a": {"y": None, "x": 1.5}, "c": "line\nbreak"}
    assert codec.canonical_json(record) == json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def test_bad_json_raises_jsons_own_error_in_a_process_that_never_loaded_json():
    """CPython 3.11's C scanner raises JSONDecodeError only when json.decoder is loaded already
    (a SystemError otherwise): a checkpoint or a hook reading a torn line must still say what is wrong."""
    import subprocess

    script = ("import sys\nfrom tether.model import fastjson\nassert 'json' not in sys.modules\nout = []\n"
              "for text in ['{\"a', '[1, 2', '{\"a\": 1,}']:\n"
              "    for read in (fastjson.loads_exactly, fastjson.loads):\n"
              "        try:\n            read(text)\n        except ValueError as exc:\n"
              "            out.append(type(exc).__name__ + ': ' + str(exc))\n"
              "print('\\n'.join(out))\n")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    expected = []
    for text in ['{"a', '[1, 2', '{"a": 1,}']:
        try:
            json.loads(text)
        except json.JSONDecodeError as exc:
            expected += [f"JSONDecodeError: {exc}"] * 2
    assert proc.stdout.splitlines() == expected


def test_a_task_id_ending_in_a_newline_is_refused_and_makes_no_folder(tmp_path):
    import subprocess

    from tether import Workspace
    from tether.errors import InvalidInput

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    Workspace.init(tmp_path)
    ws = Workspace.open(tmp_path)
    with pytest.raises(InvalidInput):
        ws.start_task("Parse", task_id="T2\n")
    assert [p.name for p in (tmp_path / ".tether" / "tasks").iterdir()] == []


def test_fastjson_reads_bytes_with_a_byte_order_mark_as_json_does():
    import json

    from tether.model import fastjson

    data = b"\xef\xbb\xbf" + json.dumps({"type": "user", "n": 1}).encode()
    assert fastjson.loads(data) == json.loads(data)


def test_the_bulk_reader_gives_what_json_gives_with_or_without_orjson(monkeypatch):
    """Message lists to compact are read by orjson when it is there: the same value as json.loads
    for every document json reads (integers past 64 bits stay integers, NaN and lone surrogates
    are read), and json's own error for every other; the same without orjson."""
    import builtins

    values = ['{"a": [1, 2.5, -0.0, 1e400, true, null], "b": "\u00e9\\u00e9 \\"x\\""}', ' \n[] \t', '["\\ud800"]',
              "[NaN]", "[-Infinity]", "[12345678901234567890]", "[-9223372036854775809]", "[9223372036854775807]",
              '["1234567890123456789012 in a string"]', '{"a": 1} {"b": 2}', "", "   ", "\ufeff{}", '{"a": 1,}',
              "[1, 2", "[" * 50 + "]" * 50, "[" * 5000 + "]" * 5000, '["\\ud83d\\ude00 \U0001F600"]', '{"k": 1, "k": 2}']
    cases = [v.encode("utf-8", "surrogatepass") for v in values + texts('{}[]",:0123456789.eE+- \n\\truefalsn' + ODD, 20)]
    cases += [b'["\xff"]', b'["\xed\xa0\x80"]', '["é"]'.encode("utf-16")]

    def outcome(read, data):
        try:
            return ("value", repr(read(data)))
        except RecursionError:
            return ("too deep",)
        except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
            return ("error", type(exc).__name__, str(exc))

    expected = [outcome(json.loads, data) for data in cases]
    assert [outcome(fastjson.loads_bulk, data) for data in cases] == expected
    real_import = builtins.__import__

    def without_orjson(name, *args, **kwargs):
        if name == "orjson":
            raise ImportError("no orjson")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", without_orjson)
    assert [outcome(fastjson.loads_bulk, data) for data in cases] == expected
