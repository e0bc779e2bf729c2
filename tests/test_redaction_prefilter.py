"""Redaction's pre-filter gives detect-secrets only the lines that could hold a secret. It must be a
superset: what detect-secrets finds with the filter is exactly what it finds when it is given
every line. Checked on lines built from every kept plugin's own patterns (random strings each
pattern matches, in the cases that ignore case, with Unicode digits, word characters and spaces
where the patterns allow them), on look-alikes, and on the real transcripts when they are there."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

pytest.importorskip("detect_secrets")

try:
    import re._parser as sre_parse  # Python 3.11+
    from re import _constants as sre
except ImportError:  # pragma: no cover - older Pythons
    import sre_constants as sre
    import sre_parse

from tether.compaction.redact import Redactor
from tether.compaction.messages import strings as every_string  # every string of a JSON value

TRANSCRIPTS = Path(__file__).resolve().parents[2] / "shared" / "bench" / "transcripts"

# Characters re takes as \d, \w or \s beyond ASCII, and those IGNORECASE takes for an ASCII letter.
_UNICODE = {sre.CATEGORY_DIGIT: "٣۷৪", sre.CATEGORY_WORD: "éßЖ٣", sre.CATEGORY_SPACE: "\u00a0\u2003\x1c"}
_ASCII = {sre.CATEGORY_DIGIT: "0123456789", sre.CATEGORY_WORD: "abcXYZ019_",
          sre.CATEGORY_SPACE: " \t"}
_FOLDS = {"i": "ıİ", "k": "\u212a", "s": "ſ"}
_POOL = "abcdefXYZ0189_-.:=/\"' ;!@#é\u00a0٣"


def _char(rng, ignore_case: bool, code: int) -> str:
    c = chr(code)
    if ignore_case and c.isascii() and c.isalpha():
        roll = rng.random()
        if roll < 0.08 and c.lower() in _FOLDS:
            return rng.choice(_FOLDS[c.lower()])
        return c.upper() if roll < 0.5 else c.lower()
    return c


def _in_set(rng, items, ignore_case: bool) -> str:
    choices = []
    negate = False
    for op, arg in items:
        if op is sre.NEGATE:
            negate = True
        elif op is sre.LITERAL:
            choices.append(chr(arg))
        elif op is sre.RANGE:
            choices.append(chr(rng.randint(arg[0], arg[1])))
        elif op is sre.CATEGORY:
            pool = _UNICODE.get(arg, "") if rng.random() < 0.15 else _ASCII.get(arg, "")
            choices.extend(pool or " ")
    if negate:
        import re

        banned = re.compile("[" + "".join(_escape(op, arg) for op, arg in items if op is not sre.NEGATE) + "]")
        allowed = [c for c in _POOL if not banned.match(c)]
        return rng.choice(allowed or "a")
    return _char(rng, ignore_case, ord(rng.choice(choices)))


def _escape(op, arg) -> str:
    if op is sre.LITERAL:
        return "\\" + chr(arg) if not chr(arg).isalnum() else chr(arg)
    if op is sre.RANGE:
        return f"\\U{arg[0]:08x}-\\U{arg[1]:08x}"
    if op is sre.CATEGORY:
        return {sre.CATEGORY_DIGIT: "\\d", sre.CATEGORY_WORD: "\\w", sre.CATEGORY_SPACE: "\\s",
                sre.CATEGORY_NOT_DIGIT: "\\D", sre.CATEGORY_NOT_WORD: "\\W", sre.CATEGORY_NOT_SPACE: "\\S"}[arg]
    return ""


def generate(parsed, rng, ignore_case: bool, groups: dict) -> str:
    """A random string the parsed pattern can match (lookarounds are checked afterwards)."""
    out = []
    for op, arg in parsed:
        if op is sre.LITERAL:
            out.append(_char(rng, ignore_case, arg))
        elif op is sre.NOT_LITERAL:
            out.append(rng.choice([c for c in _POOL if ord(c) != arg]))
        elif op is sre.ANY:
            out.append(rng.choice(_POOL))
        elif op is sre.IN:
            out.append(_in_set(rng, arg, ignore_case))
        elif op in (sre.MAX_REPEAT, sre.MIN_REPEAT, getattr(sre, "POSSESSIVE_REPEAT", None)):
            low, high, sub = arg
            high = low + 40 if high is sre.MAXREPEAT else high
            for _ in range(rng.randint(low, max(low, min(high, low + rng.choice((0, 1, 3, 12)))))):
                out.append(generate(sub, rng, ignore_case, groups))
        elif op is sre.SUBPATTERN:
            group, add, _, sub = arg
            text = generate(sub, rng, ignore_case or bool(add & 2), groups)
            if group:
                groups[group] = text
            out.append(text)
        elif op is sre.BRANCH:
            out.append(generate(rng.choice(arg[1]), rng, ignore_case, groups))
        elif op is sre.GROUPREF:
            out.append(groups.get(arg, ""))
        elif op is sre.CATEGORY:
            out.append(rng.choice(_ASCII.get(arg, " ")))
        # AT, ASSERT, ASSERT_NOT: nothing to write; the line is checked with the pattern itself
    return "".join(out)


def plugin_patterns():
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
    from detect_secrets.plugins import keyword

    names = set(Redactor().names)
    out = []
    for cls in get_mapping_from_secret_type_to_class().values():
        if cls.__name__ not in names:
            continue
        patterns = list(getattr(cls, "denylist", ()) or ())
        if cls.__name__ == "KeywordDetector":
            patterns = list(keyword.QUOTES_REQUIRED_DENYLIST_REGEX_TO_GROUP)
        out += [(cls.__name__, p) for p in patterns]
    return out


def matching_lines(rng, per_pattern: int):
    """(plugin, line) pairs: lines that one of the plugin's patterns matches, with text around."""
    out = []
    for name, pattern in plugin_patterns():
        parsed = sre_parse.parse(pattern.pattern, pattern.flags)
        made = 0
        for _ in range(per_pattern * 20):
            body = generate(parsed, rng, bool(pattern.flags & 2), {})
            before = rng.choice(("", "x = ", "  ", "ok ", '{"a": ', "é "))
            after = rng.choice(("", " ", ";", '"}', " tail", "\u00a0"))
            line = before + body + after
            if "\n" in line or not pattern.search(line):
                continue
            out.append((name, line))
            made += 1
            if made == per_pattern:
                break
    return out


def assert_same(redactor, everything, text):
    got = redactor.find(text).spans
    want = everything.find(text).spans
    assert got == want, (text[:300], got, want)


def test_every_kept_plugin_pattern_passes_the_filter():
    redactor, everything = Redactor(), Redactor(prefilter=False)
    rng = random.Random(20261205)
    lines = matching_lines(rng, per_pattern=25)
    flagged = {}
    for name, line in lines:
        text = "\n".join(("plain words here", line, "more plain text"))
        want = everything.find(text)
        assert redactor.find(text).spans == want.spans, (name, line)
        flagged[name] = flagged.get(name, 0) + bool(want.count)
    # the lines are not all thrown out by detect-secrets' own filters: the check means something
    assert len(flagged) >= 20 and sum(1 for n in flagged.values() if n) >= 18, flagged


def test_the_filter_equals_a_full_scan_on_look_alikes_and_pragmas():
    redactor, everything = Redactor(), Redactor(prefilter=False)
    texts = [
        "# pragma: allowlist nextline secret\nplain\napi_key = 'abcdefghijklmnop'",
        "# pragma: allowlist nextline secret\napi_key = 'abcdefghijklmnop'",
        "if 'hunter2hunter2' == my_password:\n  pass",
        "x = 'abcdef'!=  db_pass",
        "private_key \"s3cr3tvalue\";",
        "SLACK=XOXB-123456789012-abcdefabcdef",
        "glcbt-" + "a" * 24,
        "\u212aEY = 'abcdefghijklmn'",  # the Kelvin sign is a k when case is ignored
        "paſſword: 'abcdefghijk'",
        "٣٣٣٣٣٣٣٣٣:" + "A" * 35,
        "token = " + "a1" * 22,
        "xAP\u00a0AKC1234567890 ",  # a match refused (after an x) overlaps one after a no-break space
        "keyboard = 'qwerty'", "passing tests: 12", "the secret is out", "tokens used: 1200",
    ]
    for text in texts:
        assert_same(redactor, everything, text)


def test_the_filter_equals_a_full_scan_on_the_real_transcripts():
    files = sorted(p for p in TRANSCRIPTS.rglob("*.jsonl") if "hook_logs" not in p.name) if TRANSCRIPTS.is_dir() else []
    if not files:
        pytest.skip("no transcripts in ../shared/bench/transcripts")
    redactor, everything = Redactor(), Redactor(prefilter=False)
    for path in files:
        strings = []
        with open(path, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                try:
                    row = json.loads(line)
                except ValueError:
                    continue
                strings += every_string(row)
        text = "\n".join(strings)[:300_000]  # a full scan runs at well under 1 MB/s
        assert_same(redactor, everything, text)



def _assignment_text(rng) -> str:
    words = ["secret", "token", "tokens", "passwd", "password", "pwd", "api_key", "apikey", "api-key", "access_key",
             "accesskey", "access-key", "private_key", "privatekey", "private-key", "credential", "credentials",
             "auth_key", "authkey", "auth-key", "keyboard", "pass", "pw"]
    folds = {"k": "\u212a", "i": "\u0130ı", "s": "ſ"}
    word = ""
    for c in rng.choice(words):
        roll = rng.random()
        word += rng.choice(folds[c]) if roll < 0.03 and c in folds else c.upper() if roll < 0.4 else c
    value_chars = "abcXYZ0189+/=_-.~!@#%^&*"
    value = "".join(rng.choice(value_chars) for _ in range(rng.randint(6, 20)))
    if rng.random() < 0.1:
        value = value[:4] + rng.choice("é٣ ") + value[4:]
    return "".join((rng.choice(["", "export ", "AWS_", "my.", "é", "x", " "]), word,
                    rng.choice(["", "_ID", ".x", "é", "-2", "Ж"]), rng.choice([" = ", ":", "=", " : ", "\t=\t", " ", "==", ""]),
                    rng.choice(["", "'", "\""]), value, rng.choice(["", " ", ",", ";", "\n", "é", ")", "\u00a0"])))


def test_secret_assignments_are_looked_for_wherever_one_can_start():
    """find and find_many run tether's assignment pattern only on the texts where a match can start
    (its words found in the lower-cased bytes, and what must follow them); the texts left out
    must hold none, whatever the case, the Unicode letters and the characters whose lower case is
    ASCII (the Kelvin sign, the dotted capital I)."""
    from tether.compaction.redact import _merged, _Scan, assignments

    redactor, everything = Redactor(), Redactor(prefilter=False)
    rng = random.Random(1313)
    for _ in range(400):
        texts = []
        for _ in range(rng.randint(1, 4)):
            texts.append(" ".join(_assignment_text(rng) if rng.random() < 0.7 else rng.choice(["plain", "é", "\n", "key"])
                                  for _ in range(rng.randint(1, 3))))
        want = {}
        for index, text in enumerate(texts):
            if assignments(text):
                scan = _Scan(text)
                assert scan.folds() or scan.assignment_starts(), text
            spans = _merged(everything.find(text).spans + assignments(text))
            assert redactor.find(text).spans == spans, text
            if spans:
                want[index] = spans
        assert {i: r.spans for i, r in redactor.find_many(texts).items()} == want, texts


def test_a_secret_named_with_a_kelvin_sign_is_found_beside_a_text_holding_a_dotted_capital_i():
    """find_many gives each text what find gives it: a dotted capital I in one text (its lower case
    is two characters) must not hide an assignment whose name another text spells with a Kelvin
    sign (its lower case is an ASCII k)."""
    from tether.compaction.redact import assignments

    named = "TO\u212aEN=ab12cd34ef56gh78"
    assert assignments(named)
    found = Redactor().find_many([named, "\u0130stanbul"])
    assert [i for i in found] == [0] and found[0].spans == Redactor().find(named).spans


def _the_installed_detect_secrets_is_the_release_the_anchors_stand_for():
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class

    from tether.compaction.redact import (_ANCHORS, _KEYWORD_PATTERNS_KNOWN, _WRITTEN_FROM, SKIPPED, _fingerprint,
                                          _keyword_patterns, _release)

    classes = {cls.__name__: cls for cls in get_mapping_from_secret_type_to_class().values()
               if cls.__name__ not in SKIPPED}
    assert sorted(classes) == sorted(_ANCHORS)
    assert _fingerprint(_keyword_patterns(classes)) == _KEYWORD_PATTERNS_KNOWN
    assert _release() == _WRITTEN_FROM


def test_a_redactor_imports_detect_secrets_only_when_a_line_needs_it():
    # A Redactor of the release _ANCHORS was written from sets itself up from that table: importing
    # detect-secrets costs a tenth of a second at every `tether compact` and PreCompact hook, and
    # most lists hold no line it must read. It finds what the full setup finds.
    import subprocess
    import sys

    _the_installed_detect_secrets_is_the_release_the_anchors_stand_for()
    script = ("import sys\n"
              "from tether.compaction.redact import Redactor\n"
              "r = Redactor()\n"
              "r.find_many(['Tests pass; next, the CLI flags.', 'Done editing src/a.py', 'the key point is speed'])\n"
              "print('detect_secrets' in sys.modules)\n"
              "print(r.find('db_password = \"hunter2hunter2\"').count, 'detect_secrets' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[0] == "False" and out[1] == "1 True", out


def test_might_hold_secret_is_what_a_redactor_filters_for_without_detect_secrets():
    # It stands for the Redactor the required detect-secrets makes: the same plugins, the keyword
    # patterns its cheap checks were written from. Were either to change, it could miss a secret.
    from tether.compaction.redact import _ANCHORS, might_hold_secret

    real = Redactor()
    assert real.names == sorted(_ANCHORS) and real.keyword_checks
    _the_installed_detect_secrets_is_the_release_the_anchors_stand_for()
    rng = random.Random(20261206)
    for name, line in matching_lines(rng, per_pattern=10):
        text = "\n".join(("plain words here", line, "more plain text"))
        if real.find(text).count:
            assert might_hold_secret(text), (name, line)
    token = "ghp_" + "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3z5A"
    for text in (f"client = Github('{token}')", "export DB_PASSWORD=hunter2hunter2", "login(token='hf_Qw3rTy7uIoP2aSdF5gHjK8lZxC4vBnM6qW')"):
        assert might_hold_secret(text) and real.find(text).count, text
    for text in ("Tests pass; next, the CLI flags.", "The lexer keeps its tables in one module now.",
                 "Done editing src/a.py and ~/notes.md"):
        assert not might_hold_secret(text), text  # an agent's usual message: detect-secrets not loaded


# -- the anchors' multi-pattern search ---------------------------------------------------------
# Redactor.find and find_many search every anchor with two Aho-Corasick passes (_Searcher);
# might_hold_secret, and a Redactor without ahocorasick_rs, with a bytes.find pass per anchor. Both
# must report every hit, overlapping ones too: checked against a naive scan of every position.

_FILLERS = ("", " ", "é", "日本", "\U0001f600", "x", "\n", "٣", "=", ":", '"', "\u212a", "İ", "ſ",
            "AP", "AC", "SK")


def _anchor_texts(rng, searcher, redactor):
    """Texts holding the searched needles in every case, at a text's start and end, glued to
    another needle (overlapping it where they share letters), among non-ASCII characters."""
    words = [n.decode("utf-8") for n in searcher.exact + searcher.lowered]
    for pattern in redactor.patterns:
        words += [p.decode() for p in redactor.prefixes[pattern.pattern]]
    words += ["12345678:", "٣٣٣٣٣٣٣٣:", "1234567:"]  # Telegram's digits before a colon
    glued = ["passecret", "pwd", "keytoken", "tokenkey", "api_keyy", "passwpassword", "xoxoxb-", "ghp_ghs_",
             "sk-ant-us1", "://a@", "AKIAKIA", "ACCAC", "eyJeyJ", "AccountKey=Key", "glpat-glrt-", "PRIVATE KEYKEY"]
    for _ in range(300):
        parts = []
        for _ in range(rng.randint(1, 6)):
            word = rng.choice(words + glued)
            roll = rng.random()
            word = word.upper() if roll < 0.2 else word.capitalize() if roll < 0.3 else word
            parts.append(word + rng.choice(_FILLERS))
        yield "".join(parts)
    for word in words + glued:  # alone, and at the start and end of a text
        yield word
        yield word + " tail"
        yield "head é " + word


def _everywhere(hay: bytes, needle: bytes) -> list:
    return [i for i in range(len(hay)) if hay.startswith(needle, i)]


def test_the_automata_find_every_anchor_at_every_place_a_naive_scan_does():
    from tether.compaction.redact import _Scan

    redactor = Redactor()
    searcher = redactor.searcher()
    assert searcher is not None, "ahocorasick_rs is a dependency: the redaction path uses it"
    rng = random.Random(2026120513)
    for text in _anchor_texts(rng, searcher, redactor):
        fast, slow = _Scan(text, searcher), _Scan(text)
        data = fast.data
        for needle in searcher.lowered:
            assert fast.lowered(needle) == _everywhere(fast.low, needle) == slow.lowered(needle), (text, needle)
        for needle in searcher.exact:
            assert fast.exact(needle) == _everywhere(data, needle) == sorted(slow.exact(needle)), (text, needle)
        for pattern in redactor.patterns:
            every = [i for i in range(len(data)) if pattern.match(data, i)]
            assert fast.matches(pattern) == every == slow.matches(pattern), (text, pattern.pattern)
        assert fast.folds() == slow.folds() and fast.token_starts() == slow.token_starts(), text
        assert fast.assignment_starts() == slow.assignment_starts(), text
        assert redactor._candidate_starts(fast) == redactor._candidate_starts(slow), text
        # nothing the pre-filter asked for was left to a pass of its own
        assert set(fast._found) == set(searcher.lowered) and set(fast._exact) == set(searcher.exact), text
        assert all(p.pattern in fast._starts for p in redactor.patterns)


def test_each_regex_anchor_starts_with_one_of_its_literal_prefixes():
    # the automaton looks for a pattern only where one of its prefixes is: a match elsewhere is missed
    redactor = Redactor()
    rng = random.Random(51)
    for pattern in redactor.patterns:
        prefixes = redactor.prefixes[pattern.pattern]
        parsed = sre_parse.parse(pattern.pattern.decode("latin-1"), pattern.flags & ~32)  # a str pattern, ASCII
        made = 0
        for _ in range(400):
            body = generate(parsed, rng, False, {})
            try:
                data = ("x " + body).encode("latin-1")
            except UnicodeEncodeError:
                continue
            for match in pattern.finditer(data):
                made += 1
                assert data.startswith(prefixes, match.start()), (pattern.pattern, data)
        assert made >= 50, pattern.pattern


def test_find_many_gives_each_text_what_find_gives_it_with_anchors_at_the_edges():
    redactor = Redactor()
    token = "ghp_" + "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3z5A"
    texts = [token, "é " + token, token + "\n", "ok", "api_key = 'abcdefghijklmnop'",
             "\U0001f600 password = 'hunter2hunter2'", "# pragma: allowlist nextline secret",
             "api_key = 'abcdefghijklmnop'", "AKIA" + "ABCDEFGHIJKLMNOP", "x=AKCp" + "a1b2c3d4e5",
             "12345678:" + "A" * 35, "٣٣٣٣٣٣٣٣:" + "A" * 35, "XOXB-123456789012-abcdefabcdef",
             "export TOKEN=ab12cd34ef56gh78", "sk-ant-api03-" + "a1" * 20, "", "\n\n"]
    want = {}
    for index, text in enumerate(texts):
        spans = redactor.find(text).spans
        if spans:
            want[index] = spans
    assert len(want) >= 10
    assert {i: r.spans for i, r in redactor.find_many(texts).items()} == want
    rng = random.Random(7)
    for _ in range(20):
        shuffled = rng.sample(texts, len(texts))
        got = redactor.find_many(shuffled)
        assert {i: r.spans for i, r in got.items()} == {i: s for i, t in enumerate(shuffled)
                                                        if (s := redactor.find(t).spans)}


def test_a_redactor_without_the_automata_finds_the_same(monkeypatch):
    # ahocorasick_rs missing (a platform without its wheel): a bytes.find pass per anchor, same spans
    import sys

    from tether.compaction import redact

    rng = random.Random(20261207)
    lines = [line for _, line in matching_lines(rng, per_pattern=4)]
    texts = ["\n".join(("plain", line, "more")) for line in lines]
    with_automata = {i: r.spans for i, r in Redactor().find_many(texts).items()}
    assert with_automata
    monkeypatch.setattr(redact, "_SEARCHERS", {})
    monkeypatch.setitem(sys.modules, "ahocorasick_rs", None)  # its import fails
    redactor = Redactor()
    assert redactor.searcher() is None
    assert {i: r.spans for i, r in redactor.find_many(texts).items()} == with_automata
    assert [redactor.find(t).spans for t in texts[:40]] == [with_automata.get(i, []) for i in range(40)]


def test_the_texts_joined_in_c_are_the_bytes_python_joins_and_find_the_same(monkeypatch):
    # _utf8.c (built by pip where it can be) joins and lowers the texts find_many searches: the
    # same bytes as the Python, for ASCII, other text, lone surrogates, empty texts and lists.
    from tether.compaction import redact

    if redact._utf8 is None:
        pytest.skip("tether.compaction._utf8 was not built (no C compiler at install)")
    rng = random.Random(31)
    alphabet = ["a", "Z", "Q", "@", "[", "`", "{", " ", "\n", "é", "İ", "\u212a", "✓", "😀", "\ud800", "\x00", "\x7f"]
    cases = [[], [""], ["", ""], ["ABC"], ["é"], ["\ud800x"]]
    for _ in range(400):
        cases.append(["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30))) for _ in range(rng.randint(0, 8))])
    for texts in cases:
        pieces = [t.encode("utf-8", "surrogatepass") for t in texts]
        data, low, starts = redact._utf8.joined(texts)
        assert data == b"\n".join(pieces) and low == data.lower(), texts
        assert starts == [sum(map(len, pieces[:i])) for i in range(len(texts) + 1)], texts
    with pytest.raises(TypeError):
        redact._utf8.joined(["a", b"b"])
    lines = [line for _, line in matching_lines(random.Random(5), per_pattern=2)]
    texts = ["\n".join(("plain É", line, "more")) for line in lines]
    in_c = {i: r.spans for i, r in Redactor().find_many(texts).items()}
    assert in_c
    monkeypatch.setattr(redact, "_utf8", None)
    assert {i: r.spans for i, r in Redactor().find_many(texts).items()} == in_c


def test_discord_and_telegram_tokens_are_found_by_what_follows_their_first_characters():
    # Their patterns start with a character class: the pre-filter searches the literal that follows
    # (a dot, a colon) and checks the characters before it. The same starts as the plain definition:
    # eight digits and a colon then 35 word characters; 23 word characters, a dot, six (up to 24
    # bytes of) word characters, a dot and 27 more; a non-ASCII byte is a digit and a word character.
    import re

    from tether.compaction.redact import _Scan

    redactor = Redactor()
    telegram = re.compile(rb"(?=[0-9]{8}:[0-9A-Za-z_\-]{35})")
    discord = re.compile(rb"(?=[0-9A-Za-z_\-]{23}\.[0-9A-Za-z_\-]{6}\.[0-9A-Za-z_\-]{27})")
    telegram_wide = re.compile(rb"(?=[0-9\x80-\xff]{8}:[0-9A-Za-z_\-]{35})")
    wide = rb"[0-9A-Za-z_\-\x80-\xff]"
    discord_wide = re.compile(rb"(?=%s{23}\.%s{6,24}\.%s{27})" % (wide, wide, wide))
    rng = random.Random(88)
    pieces = ["1", "12345678", "٣", "a", "Z", "_", "-", ".", ":", " ", "é", "MTk4NjIyNDgzNDcxOTI1MjQ4", "abcdef",
              "A" * 27, "B" * 35, "\n"]
    for _ in range(3000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 30)))
        scan = _Scan(text)
        data = scan.data
        want = {m.start() for m in (telegram_wide if scan.wide else telegram).finditer(data)}
        want |= {m.start() for m in (discord_wide if scan.wide else discord).finditer(data)}
        assert redactor._candidate_starts(scan) == want, text  # the pieces hold no other anchor
