"""Secrets taken out of what compaction commits: detect-secrets finds them, this module cuts them.

What is offloaded or archived is committed to the repository, so API keys, tokens,
passwords and private keys in it are replaced by a marker ``[REDACTED: <type>]``; every
other byte is kept. The detectors are detect-secrets' own (its plugins and default
filters) less three that flag what is not a credential in an agent's context: the two
high-entropy string detectors (content hashes, git object ids, base64 data and tether's
own references are high-entropy) and the public IP detector.

detect-secrets reads a line at a time through every plugin, about 0.4 MB/s; compaction
must run at tens of MB/s. So the text is first searched for the literal anchors every
kept detector's pattern needs (``ghp_`` for a GitHub token, ``password`` for the keyword
detector...), and the literals a few regular expressions start with (each then matched where
one is), and only the lines holding one are given to detect-secrets. The anchors are a superset
of what the patterns can match; a plugin without an entry in ``_ANCHORS`` (a newer
detect-secrets) has all lines scanned. A Redactor finds them all, with tether's own detectors'
words, in two Aho-Corasick passes (:class:`_Searcher`, ahocorasick_rs): one over the lower-cased
UTF-8, the case of a case-sensitive anchor checked at each hit, and one over the UTF-8 as it is
for the few case-sensitive literals whose lower case is common (Twilio's ``AC``, Artifactory's
``AP``...); every hit is reported, overlapping ones too. :func:`might_hold_secret`, for a short
text, does without the import: one ``bytes.find`` pass per anchor, as a Redactor does when
ahocorasick_rs is missing.

The keyword anchors (``key``, ``pass``, ``secret``...) are common words in code, so a line
found by them alone is kept only if, next to the anchor, it holds what every pattern behind it
needs (written from detect-secrets 1.5's patterns, which are checked by a fingerprint; others are
tried as they are): for the keyword detector on a ``.txt`` file, one of its words (``api_key``,
``db_pass``, ``password``...) followed by an assignment or comparison and a quote, or a quoted
value closed by ``;`` after it, or ``==``/``!=`` before it; for the IBM, Cloudant and Softlayer
patterns, an assignment and a run of 24 word characters after it. A line holding a character
that ``re.IGNORECASE`` takes for an ASCII letter (the Kelvin sign, the long s, the Turkish i's)
is always kept, and a line after one naming ``allowlist`` too (a "nextline" pragma speaks of it).
``tests/test_redaction_prefilter.py`` checks that detect-secrets finds exactly the same with the
filter as when it is given every line (``Redactor(prefilter=False)``). A Redactor of the release
_ANCHORS was written from (read from detect-secrets' version file) takes its plugins from that
table and imports detect-secrets, a tenth of a second, only when a line needs it.

A private key is cut from its ``BEGIN`` line to its ``END`` line, not only the header the
detector reports; any other token to its end (_token_end), not only the length its pattern
matched. tether's own detectors (:func:`own`) add an unquoted value of a secret-named variable
(:func:`assignments`) and token formats detect-secrets does not know (:func:`known_tokens`), and
detect-secrets' indirect-reference line filter is applied to its keyword detector only
(:func:`detected`).

The user's home directory is private too (a transcript names it in every line's ``cwd``):
:func:`unhome` writes it ``~``, whether or not secrets are redacted.
"""

from __future__ import annotations

import re

try:  # the texts' UTF-8 joined and lowered in C, when pip could build it (_utf8.c); the same bytes
    from . import _utf8
except ImportError:
    _utf8 = None

#: detect-secrets plugins left out by default (see the module doc).
SKIPPED = ("Base64HighEntropyString", "HexHighEntropyString", "IPPublicDetector")
MARKER = "[REDACTED: {type}]"
SCANNED_AS = "compacted.txt"  # the file name detect-secrets is told: its plugins pick patterns by it

# Per plugin: (anchors found in the text as is, anchors found in its lower-cased copy, regexes and
# the literals every match of each starts with). Shared anchors are shared on purpose: fewer hits to sort.
# After a space, "=", ":", a quote or the line's start (see _AFTER); \d: any digit, of up to four bytes.
_ARTIFACTORY = r"A(?:KC[a-zA-Z0-9]{10}|P(?:[0-9A-F]|[\x80-\xff]+)[a-zA-Z0-9]{8})"
_KEYWORDS = ("key", "pass", "pw", "secret", "contrase")  # every keyword detect-secrets looks for holds one
#: Plugins whose keyword anchors a line needs a quote or a long word run to back (see the module doc).
_KEYWORD_PLUGINS = {"KeywordDetector", "IbmCloudIamDetector", "IbmCosHmacDetector", "CloudantDetector",
                    "SoftlayerDetector"}
_ANCHORS = {
    "ArtifactoryDetector": ((), (), ((_ARTIFACTORY, ("AKC", "AP")),)),
    "AWSKeyDetector": ((), ("aws",), ((r"(?:A3T[A-Z0-9]|ABIA|ACCA|AKIA|ASIA)[0-9A-Z]{16}",
                                       ("A3T", "ABIA", "ACCA", "AKIA", "ASIA")),)),
    "AzureStorageKeyDetector": (("AccountKey=",), (), ()),  # case-sensitive
    "BasicAuthDetector": ((), (), ((r"://[^\s/?#@]+@", ("://",)),)),
    "CloudantDetector": ((), _KEYWORDS + ("cloudant",), ()),  # and "token": Redactor.token
    "DiscordBotTokenDetector": ((), (), ()),  # by _DISCORD_TAIL: ".", six word characters, ".", 27 more
    "GitHubTokenDetector": ((), (), ((r"gh[pousr]_", ("ghp_", "gho_", "ghu_", "ghs_", "ghr_")),)),
    "GitLabTokenDetector": (("GR1348941",), (), ((r"gl(?:pat|dt|ft|soat|rt|cbt|imt|ptt|agent|oas)-",
                                                  ("glpat-", "gldt-", "glft-", "glsoat-", "glrt-", "glcbt-", "glimt-",
                                                   "glptt-", "glagent-", "gloas-")),)),
    "IbmCloudIamDetector": ((), ("key",), ()),
    "IbmCosHmacDetector": ((), ("secret",), ()),
    "JwtTokenDetector": (("eyJ",), (), ()),
    "KeywordDetector": ((), _KEYWORDS + ("allowlist",), ()),  # a "nextline" pragma stays a line's neighbour
    "MailchimpDetector": ((), (), ((r"-us\d", ("-us",)),)),
    "NpmDetector": (("_authToken",), (), ()),
    "OpenAIDetector": (("T3BlbkFJ",), (), ()),
    "PrivateKeyDetector": (("PRIVATE KEY", "PuTTY-User-Key-File-2"), (), ()),  # case-sensitive
    "PypiTokenDetector": (("pypi-AgE",), (), ()),
    "SendGridDetector": (("SG.",), (), ()),
    "SlackDetector": ((), ("xox", "hooks.slack.com"), ()),  # ignoring case; xox: _LOWERED_THEN
    "SoftlayerDetector": ((), _KEYWORDS + ("softlayer",), ()),
    "SquareOAuthDetector": (("sq0csp-",), (), ()),
    "StripeDetector": (("k_live_",), (), ()),
    "TelegramBotTokenDetector": ((), (), ()),  # by _TELEGRAM_TAIL and eight digits (_DIGIT_CLASS) before
    "TwilioKeyDetector": ((), (), ((r"AC[a-z0-9]{32}", ("AC",)), (r"SK[a-z0-9]{32}", ("SK",)))),
}
_DIGIT_CLASS = bytes(100 if 48 <= i <= 57 else 58 if i == 58 else 32 for i in range(256))  # "d", ":" or " "
# The same, any non-ASCII byte a possible part of a digit (\d is any Unicode digit).
_DIGIT_CLASS_WIDE = bytes(100 if 48 <= i <= 57 or i >= 128 else 58 if i == 58 else 32 for i in range(256))
_WORD_CLASS = bytes(119 if chr(i).isascii() and (chr(i).isalnum() or chr(i) in "_-") else 46 if i == 46 else 32
                    for i in range(256))  # "w", "." or " "
_WORD_CLASS_WIDE = _WORD_CLASS[:128] + b"w" * 128
# Discord's and Telegram's patterns start with a character class: what follows is searched instead
# (a regular expression that starts with a literal skips from one to the next), then what precedes.
_DISCORD = b"w" * 23  # _WORD_CLASS of what precedes _DISCORD_TAIL
_DISCORD_TAIL = re.compile(rb"\.[0-9A-Za-z_\-]{6}\.[0-9A-Za-z_\-]{27}")
# six characters of up to four bytes each; \w is any non-ASCII character
_DISCORD_TAIL_WIDE = re.compile(rb"\.[0-9A-Za-z_\-\x80-\xff]{6,24}\.[0-9A-Za-z_\-\x80-\xff]{27}")
_TELEGRAM_TAIL = re.compile(rb":[0-9A-Za-z_\-]{35}")  # the colon after the digits and what follows
#: Patterns and the bytes that may come before them (besides the text's start).
_AFTER = {_ARTIFACTORY.encode(): frozenset(b' \t\n\x0b\x0c\r\x1c\x1d\x1e\x1f=:"' + bytes(range(128, 256)))}
#: Lowered anchors and what must follow them (SlackDetector's xox pattern ignores case).
_LOWERED_THEN = {b"xox": re.compile(rb"xox[abposr]-")}
_LONG_RUN = b"w" * 24
_QUOTES = (b'"', b"'", b"`")
# Non-ASCII characters re.IGNORECASE takes for an ASCII letter (U+0130, U+0131, U+017F, U+212A):
# a line holding one is given to detect-secrets whatever its anchors.
IGNORECASE_FOLDS = ("\u0130", "\u0131", "\u017f", "\u212a")  # the summary's decision search needs them too
_FOLDS = tuple(c.encode("utf-8") for c in IGNORECASE_FOLDS)

# What the patterns behind the keyword anchors need next to the anchor, in a lowered line. \w and
# \s are Unicode in detect-secrets' patterns: any non-ASCII byte is taken as either.
_W = rb"0-9a-z_\x80-\xff"
_S = rb"\t\x0b\x0c\r\x1c-\x1f \x80-\xff"
#: KeywordDetector's "followed by" patterns for a .txt file: the keyword, word characters, up to
#: two closing quotes or brackets, an assignment or comparison (:, =, ==, ===, !=, !==, =>) and a quote.
_THEN_QUOTED = re.compile(rb"[%s]*[\]'\"]{0,2}[%s]*[:=!][=>]{0,2}[%s]*['\"`]" % (_W, _S, _S))
#: Its "followed by quotes and semicolon" pattern: a value in quotes closed by ";" later on the line.
_QUOTED_SEMICOLON = (b'";', b"';", b"`;")
#: Its "preceded by a comparison" pattern: "==" or "!=" (any two of "!=") before the keyword, with
#: only word characters and spaces between (the keyword's own first letters among them).
_WORD_OR_SPACE = frozenset(b"0123456789abcdefghijklmnopqrstuvwxyz_\t\x0b\x0c\r\x1c\x1d\x1e\x1f " + bytes(range(128, 256)))
#: The IBM Cloud IAM, IBM COS HMAC, Cloudant and Softlayer assignment patterns (key, pw, pass,
#: token, and the rest of password/pwd): quote, bracket, an assignment, and 24 characters at least.
_THEN_VALUE = re.compile(rb"[a-z]*[\"']?\]? *(?:=|:|:=|=>| +|::) *[\"']?[0-9a-z_\-]{24}")
#: KeywordDetector's words (api_?key, db_?pass, password, pwd...) around the anchor each is found by.
_KEY_BEFORE = tuple(w + s for w in (b"api", b"auth", b"service", b"account", b"db", b"database", b"priv",
                                    b"private", b"client") for s in (b"", b"_"))
_PASS_BEFORE = tuple(w + s for w in (b"db", b"database", b"key") for s in (b"", b"_"))
#: The patterns the checks above were written from (detect-secrets 1.5); others: their own patterns.
_KEYWORD_PATTERNS_KNOWN = "cf49cceeaa77e965afa11cd4f293a8b08be4eb5a681a121b342732355f80c0db"
# To its END line; without one, to the first blank line (a key is one block) or the text's end.
_PRIVATE_BLOCK = re.compile(r"-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY((?: BLOCK)?)-----.*?"
                            r"(?:-----END \1PRIVATE KEY\2-----|(?=\n[ \t\r]*\n)|\Z)", re.S)
_PUTTY_BLOCK = re.compile(r"PuTTY-User-Key-File-\d+:.*?(?:Private-MAC:[^\r\n]*|\Z)", re.S)
_EDGES = " \t\r\n=:\"'`,;"


# tether's own detector, for what detect-secrets lets through: a secret-named variable given an
# unquoted value, as `env`, a .env file or YAML print it (`AWS_SECRET_ACCESS_KEY=wJalr...`,
# `token: 3f9a...`). detect-secrets' keyword detector wants the value quoted. The value must look
# like a credential: 12 characters or more, letters and digits both, no call, index, template or path.
ASSIGNMENT_TYPE = "Secret Assignment"
# Where such a name's secret word can start (lower-cased): each is looked for with str.find, and
# the pattern tried only there (run over the whole text, it would cost more than the rest).
_ASSIGNMENT_WORDS = ("secret", "token", "passw", "pwd", "api_key", "apikey", "api-key", "access_key", "accesskey",
                     "access-key", "private_key", "privatekey", "private-key", "credential", "auth_key", "authkey",
                     "auth-key")
_ASSIGNMENT = re.compile(
    r"(?i:secret|token(?!s)|passw(?:or)?d|pwd|api[_-]?key|access[_-]?key|private[_-]?key|credentials?"
    r"|auth[_-]?key)[\w.-]*[ \t]*[=:][ \t]*"
    r"(?P<value>[A-Za-z0-9+/=_\-.~!@#%^&*]{12,})(?=[\s,;]|$)")
_ASCII_LOWER = {c: c + 32 for c in range(65, 91)}


def assignments(text: str) -> list[tuple[int, int, str]]:
    """Spans of the unquoted values given to secret-named variables in ``text``."""
    low = text.lower()
    if len(low) != len(text):  # a character whose lower case is longer: keep the positions aligned
        low = text.translate(_ASCII_LOWER)
    starts: set = set()
    for word in _ASSIGNMENT_WORDS:
        at = low.find(word)
        while at != -1:
            starts.add(at)
            at = low.find(word, at + 1)
    spans = []
    for at in sorted(starts):
        match = _ASSIGNMENT.match(text, at)
        if match is None:
            continue
        value = match.group("value")
        if (value[0] in "/.~" or not any(c.isdigit() for c in value) or not any(c.isalpha() for c in value)
                or "://" in value):
            continue
        spans.append((match.start("value"), match.end("value"), ASSIGNMENT_TYPE))
    return _merged(spans)


# Token formats detect-secrets 1.5 does not know, each found by its literal prefix: (type,
# prefix, pattern). Not preceded by a letter or digit; a value of letters only or digits only (a
# placeholder: github_pat_XXXX...) is kept.
_KNOWN_TOKENS = (
    ("GitHub Fine-Grained Token", "github_pat_", r"github_pat_[A-Za-z0-9_]{30,}"),
    ("Anthropic API Key", "sk-ant-", r"sk-ant-[a-z]+[0-9]{2}-[A-Za-z0-9_\-]{32,}"),
    ("OpenAI API Key", "sk-proj-", r"sk-proj-[A-Za-z0-9_\-]{32,}"),
    ("OpenAI API Key", "sk-svcacct-", r"sk-svcacct-[A-Za-z0-9_\-]{32,}"),
    ("OpenAI API Key", "sk-admin-", r"sk-admin-[A-Za-z0-9_\-]{32,}"),
    ("Google API Key", "AIza", r"AIza[0-9A-Za-z_\-]{35}"),
    ("Hugging Face Token", "hf_", r"hf_[A-Za-z0-9]{34}(?![A-Za-z0-9])"),
)
_KNOWN_PATTERNS = tuple((kind, prefix, re.compile(pattern)) for kind, prefix, pattern in _KNOWN_TOKENS)
_KNOWN_ANCHORS = tuple(sorted({prefix.encode() for _, prefix, _ in _KNOWN_TOKENS}))


def known_tokens(text: str) -> list[tuple[int, int, str]]:
    """Spans of the tokens of _KNOWN_TOKENS' formats in ``text``."""
    spans = []
    for kind, prefix, pattern in _KNOWN_PATTERNS:
        at = text.find(prefix)
        while at != -1:
            match = pattern.match(text, at) if at == 0 or not text[at - 1].isalnum() else None
            if match is not None:
                value = match.group(0)[len(prefix):]
                if any(c.isdigit() for c in value) and any(c.isalpha() for c in value):
                    spans.append((at, _token_end(text, match.end()), kind))
            at = text.find(prefix, at + 1)
    return spans


def own(text: str) -> list[tuple[int, int, str]]:
    """What tether's own detectors find in ``text`` (:func:`assignments`, :func:`known_tokens`), merged."""
    return _merged(assignments(text) + known_tokens(text))


# What a token's characters are, past the length a pattern matched: a provider's key may have
# grown longer than the pattern written for it (Stripe's live keys did), and the rest of it must
# not be left in place.
_TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-+/")


def _token_end(text: str, end: int) -> int:
    """Where the token that a match ending at ``end`` cut short ends: its word characters, and
    base64's padding after them."""
    n = len(text)
    while end < n and text[end] in _TOKEN_CHARS:
        end += 1
    while end < n and text[end] == "=":
        end += 1
    return end


#: What a match of _ASSIGNMENT needs from where its secret word starts, in the lower-cased UTF-8 of
#: the text (a non-ASCII byte may be part of a \\w); a text with none is not given to it.
_ASSIGNMENT_NEEDS = re.compile(rb"[0-9a-z_.\-\x80-\xff]*[ \t]*[=:][ \t]*[a-z0-9+/=_\-.~!@#%^&*]{12}")
class Redaction:
    """What was cut from one text: ``spans`` (start, end, type) in the original, in order."""

    __slots__ = ("spans",)

    def __init__(self, spans=()):
        self.spans = list(spans)

    @property
    def count(self) -> int:
        return len(self.spans)

    def types(self) -> dict:
        out: dict = {}
        for _, _, kind in self.spans:
            out[kind] = out.get(kind, 0) + 1
        return out


class Unavailable(Exception):
    """detect-secrets is not installed."""


class Redactor:
    """Finds and cuts secrets; built once per compaction (detect-secrets' settings are global)."""

    def __init__(self, skipped=SKIPPED, prefilter: bool = True):
        if prefilter and tuple(skipped) == SKIPPED and _release() == _WRITTEN_FROM:
            # The plugins and keyword patterns of the release _ANCHORS was written from (the test
            # of might_hold_secret checks them): detect-secrets, a tenth of a second to import, is
            # imported when a line needs it, which most lists and transcripts never have.
            self._setup(sorted(_ANCHORS), None, True, True)
            return
        try:
            from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
        except ImportError as exc:
            raise Unavailable("detect-secrets is not installed (pip install 'detect-secrets>=1.5,<1.6')") from exc
        classes = {cls.__name__: cls for cls in get_mapping_from_secret_type_to_class().values()
                   if cls.__name__ not in skipped}
        patterns = _keyword_patterns(classes)
        # The cheap checks hold for the patterns they were written from; others are tried as they are.
        self._setup(sorted(classes), patterns, prefilter,
                    patterns is not None and _fingerprint(patterns) == _KEYWORD_PATTERNS_KNOWN)

    def _setup(self, names: list, keyword_patterns, prefilter: bool, keyword_checks: bool) -> None:
        self.names = names
        self.prefilter = prefilter  # False: every line goes to detect-secrets (what the filter must equal)
        self.keyword_patterns = keyword_patterns
        self.keyword_checks = keyword_checks
        exact: set = set()
        lowered: set = set()
        patterns: list = []
        self.unanchored = [name for name in self.names if name not in _ANCHORS]
        weak: set = set()
        for name in self.names:
            a, b, c = _ANCHORS.get(name, ((), (), ()))
            exact.update(a)
            for anchor in b:
                (weak if name in _KEYWORD_PLUGINS and anchor in _KEYWORDS else lowered).add(anchor)
            patterns.extend(c)
        self.exact = sorted(a.encode() for a in exact)
        self.lowered = sorted(a.encode() for a in lowered)
        self.weak = sorted(a.encode() for a in weak - lowered)
        self.patterns = [re.compile(p.encode()) for p in sorted({p for p, _ in patterns})]
        self.prefixes = {p.encode(): tuple(sorted({x.encode() for q, xs in patterns if q == p for x in xs}))
                         for p, _ in patterns}
        self._searcher = None
        self.telegram = "TelegramBotTokenDetector" in self.names
        self.discord = "DiscordBotTokenDetector" in self.names
        self.token = bool({"IbmCloudIamDetector", "CloudantDetector", "SoftlayerDetector"} & set(self.names))
        self.quoted = "KeywordDetector" in self.names  # the keyword checks of _THEN_QUOTED and the others
        self.assigned = bool({"IbmCloudIamDetector", "IbmCosHmacDetector", "CloudantDetector",
                              "SoftlayerDetector"} & set(self.names))  # the check of _THEN_VALUE
        self.allowlist = "allowlist" in lowered

    # -- finding -------------------------------------------------------------------------
    def searcher(self) -> "_Searcher | None":
        """The anchors' automata, built on first use (None without ahocorasick_rs: a pass per anchor)."""
        if self._searcher is None:
            exact = set(self.exact) | set(_KNOWN_ANCHORS) | set(_FOLDS)
            lowered = set(self.lowered) | set(self.weak) | set(_ASSIGNMENT_ANCHORS) | {b"token"}
            prefixed = tuple(sorted(self.prefixes.items()))
            self._searcher = _searcher(tuple(sorted(exact)), tuple(sorted(lowered)), prefixed) or False
        return self._searcher or None

    def candidate_lines(self, text: str) -> list[int]:
        """0-based numbers of the lines that may hold a secret, sorted. Searched as UTF-8 bytes:
        ``bytes.find`` is many times faster than ``str.find`` on non-ASCII text, ``bytes.lower``
        keeps offsets, and the lines are the same. A line after one naming ``allowlist`` is a
        candidate too: detect-secrets reads a "nextline" pragma on the line before, so that line
        must be given with the one it speaks of."""
        return self._candidate_lines(_Scan(text, self.searcher()))

    def _candidate_lines(self, scan: "_Scan") -> list[int]:
        starts = self._candidate_starts(scan)
        if starts is None:
            return list(range(scan.data.count(b"\n") + 1))
        return _lines_of(scan.data, starts) if starts else []

    def _candidate_starts(self, scan: "_Scan"):
        """Positions in ``scan.data`` on the lines that may hold a secret; None: every line."""
        if self.unanchored or not self.prefilter:
            return None
        data = scan.data
        wide = scan.wide
        starts: set = set()
        for anchor in self.exact:
            starts.update(scan.exact(anchor))
        weak: dict = {}
        if self.lowered or self.weak:
            low = scan.low
            for anchor in self.lowered:
                found = scan.lowered(anchor)
                then = _LOWERED_THEN.get(anchor)
                starts.update(found if then is None else (at for at in found if then.match(low, at)))
                if anchor == b"allowlist" and found:
                    starts.update(_next_lines(data, found))
            for anchor in self.weak:
                weak[anchor] = set(scan.lowered(anchor))
            if self.token:  # "token = <44 characters>" is an IBM key; "cl_token", "slapitoken"...
                weak[b"token"] = set(scan.lowered(b"token"))
        for pattern in self.patterns:
            after = _AFTER.get(pattern.pattern)
            # overlapping: a match refused for what precedes it hides none
            starts.update(at for at in scan.matches(pattern) if after is None or at == 0 or data[at - 1] in after)
        if self.telegram:
            digits = _DIGIT_CLASS_WIDE if wide else _DIGIT_CLASS
            starts.update(at - 8 for at in scan.matches(_TELEGRAM_TAIL)
                          if at >= 8 and data[at - 8:at].translate(digits) == b"dddddddd")
        if self.discord:
            words = _WORD_CLASS_WIDE if wide else _WORD_CLASS
            starts.update(at - 23 for at in scan.matches(_DISCORD_TAIL_WIDE if wide else _DISCORD_TAIL)
                          if at >= 23 and data[at - 23:at].translate(words) == _DISCORD)
        starts.update(scan.folds())
        if weak:
            if self.keyword_checks:
                starts.update(self._keyword_backed(scan.low, weak))
            else:
                everything = set().union(*(v for k, v in weak.items() if k != b"token"))
                starts.update(_backed(data, everything, self.keyword_patterns))
                starts.update(_backed(data, weak.get(b"token", set()), self.keyword_patterns, quotes=False))
        return starts

    def _keyword_backed(self, low: bytes, weak: dict) -> list[int]:
        """The first keyword anchor on each line next to which the plugins behind it could match
        (see _THEN_QUOTED and the others): conditions each of their patterns needs, checked at
        the anchor in the lowered text, so a line none of them holds cannot be flagged."""
        events = sorted((at, anchor) for anchor, found in weak.items() for at in found)
        out: list = []
        line_start = line_end = kept_to = -1
        line_kind = None
        for at, anchor in events:
            if at <= kept_to:
                continue
            if at > line_end:
                line_start = low.rfind(b"\n", 0, at) + 1
                line_end = low.find(b"\n", at)
                if line_end == -1:
                    line_end = len(low)
                line_kind = None
            end = at + len(anchor)
            ok = False
            if self.assigned and anchor != b"secret" and anchor != b"contrase":
                ok = _THEN_VALUE.match(low, end, line_end) is not None
            if not ok and self.quoted and _denylisted(low, at, anchor):
                ok = _THEN_QUOTED.match(low, end, line_end) is not None \
                    or any(low.find(q, end, line_end) != -1 for q in _QUOTED_SEMICOLON)
                if not ok:
                    if line_kind is None:
                        line = low[line_start:line_end]
                        line_kind = b"==" in line or b"!=" in line or b"=!" in line or b"!!" in line
                    ok = line_kind and _compared(low, line_start, at)
            if ok:
                out.append(at)
                kept_to = line_end
        return out

    def find(self, text: str) -> Redaction:
        """Where the secrets in ``text`` are."""
        scan = _Scan(text, self.searcher())
        numbers = self._candidate_lines(scan)
        extra = own(text) if scan.folds() or scan.assignment_starts() or scan.token_starts() else []
        if not numbers:
            return Redaction(extra)
        with self._plugins() as plugins:
            found = self._find(text, numbers, plugins)
        return Redaction(_merged(found.spans + extra)) if extra else found

    def _find(self, text: str, numbers: list, plugins: dict) -> Redaction:
        lines = text.split("\n")
        offsets = [0]
        for line in lines[:-1]:
            offsets.append(offsets[-1] + len(line) + 1)
        return Redaction(self._spans(text, lines, offsets, numbers, plugins))

    def _plugins(self):
        """detect-secrets' settings for this plugin set, entered once for all the texts scanned:
        entering them rebuilds its caches, which costs more than scanning a short text."""
        import contextlib

        from detect_secrets.settings import get_plugins, transient_settings

        @contextlib.contextmanager
        def entered():
            with transient_settings({"plugins_used": [{"name": name} for name in self.names]}):
                yield {plugin.secret_type: plugin for plugin in get_plugins()}

        return entered()

    def _spans(self, text, lines, offsets, numbers, plugins):
        spans = []
        dense = [(i, lines[n]) for i, n in enumerate(numbers, 1)]
        for secret in detected(dense, SCANNED_AS):
            number = numbers[secret.line_number - 1]
            line = lines[number]
            base = offsets[number]
            plugin = plugins.get(secret.type)
            value = secret.secret_value or ""
            if type(plugin).__name__ == "PrivateKeyDetector":
                spans.extend(_private_key(text, base, secret.type))
                continue
            for start, end in _occurrences(plugin, line, value):
                spans.append((base + start, base + _token_end(line, end), secret.type))
        return _merged(spans)

    def find_many(self, texts: list) -> dict:
        """index -> Redaction of the texts that hold secrets. The anchors are searched once over
        all of them joined (a message list has many short strings; each search is a pass)."""
        import bisect
        from itertools import accumulate, repeat

        if _utf8 is not None:  # the same bytes, joined and lowered in one pass (_utf8.c)
            data, low, sizes = _utf8.joined(texts)
            scan = _Scan(data, self.searcher(), low)
        else:
            # map, not a loop in Python: these run once per string of the list
            pieces = list(map(str.encode, texts, repeat("utf-8"), repeat("surrogatepass")))
            scan = _Scan(b"\n".join(pieces), self.searcher())
            data = scan.data
            sizes = list(accumulate(map(len, pieces), initial=0))

        def text_of(at: int) -> int:  # the text ``at`` is in: text i starts at sizes[i] + i (the "\n"s)
            return bisect.bisect_right(range(len(texts)), at, key=lambda i: sizes[i] + i) - 1

        out = {}
        # Only the texts where a match can start (rare), and those holding a character whose case
        # the byte search misses (folds): asked text by text, as the joined text lowers otherwise
        # when one of them holds a dotted capital I.
        assigned = sorted({text_of(at) for at in set(scan.assignment_starts()) | set(scan.folds())
                           | set(scan.token_starts())})
        for index in assigned:
            found = own(texts[index])
            if found:
                out[index] = Redaction(found)
        starts = self._candidate_starts(scan)
        if starts is None:
            wanted = {index: list(range(text.count("\n") + 1)) for index, text in enumerate(texts)}
        else:
            wanted: dict = {}
            for at in sorted(starts):
                index = text_of(at)
                line = data.count(b"\n", sizes[index] + index, at)
                lines = wanted.setdefault(index, [])
                if not lines or lines[-1] != line:
                    lines.append(line)
        if not wanted:
            return out
        with self._plugins() as plugins:
            for index in sorted(wanted):
                found = self._find(texts[index], wanted[index], plugins)
                if index in out:
                    found = Redaction(_merged(found.spans + out[index].spans))
                if found.count:
                    out[index] = found
        return out

    # -- cutting -------------------------------------------------------------------------
    def redact(self, text: str) -> tuple[str, Redaction]:
        found = self.find(text)
        return apply(text, found), found


_WRITTEN_FROM = "1.5"  # the detect-secrets release of _ANCHORS and of _KEYWORD_PATTERNS_KNOWN


def _release() -> str | None:
    """The installed detect-secrets' release ("1.5"), read from its version file without importing
    it; None when there is none to read (then a Redactor imports it and sees)."""
    import importlib.util
    import os

    try:
        spec = importlib.util.find_spec("detect_secrets")
    except (ImportError, ValueError):
        return None
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    for folder in folders:
        try:
            with open(os.path.join(folder, "__version__.py"), encoding="utf-8") as fh:
                text = fh.read(200)
        except OSError:
            continue
        found = re.search(r"VERSION\s*=\s*['\"](\d+)\.(\d+)\.", text)
        if found:
            return f"{found.group(1)}.{found.group(2)}"
    return None


def might_hold_secret(text: str) -> bool:
    """Whether Redactor().redact(text) could cut anything, without importing detect-secrets (a
    tenth of a second): the pre-filter over the plugins a Redactor keeps with the detect-secrets
    tether requires (1.5: every plugin of _ANCHORS, its keyword patterns those the cheap checks were
    written from; tests/test_redaction_prefilter.py checks both), and the starts tether's own
    detectors need. False: nothing to cut. For a short text redacted now and then (an agent's
    message in an automatic checkpoint's note)."""
    quick = Redactor.__new__(Redactor)
    quick._setup(sorted(_ANCHORS), None, True, True)
    scan = _Scan(text)  # no _Searcher: a pass per anchor costs less than importing one, on a short text
    if scan.folds() or scan.assignment_starts() or scan.token_starts():
        return True
    starts = quick._candidate_starts(scan)
    return starts is None or bool(starts)


def apply(text: str, redaction: Redaction) -> str:
    if not redaction.spans:
        return text
    out, pos = [], 0
    for start, end, kind in redaction.spans:
        out.append(text[pos:start])
        out.append(MARKER.format(type=kind))
        pos = end
    out.append(text[pos:])
    return "".join(out)


# The anchors every search needs (the keyword detector's, tether's own assignment words): any
# other anchor holding one, lower-cased, is found among its hits instead of by a pass of its own.
_BASES = (b"key", b"token", b"pass", b"pw", b"secret")
_ASSIGNMENT_ANCHORS = tuple(w.encode() for w in _ASSIGNMENT_WORDS)


class _Scan:
    """One text searched for anchors: its UTF-8 and lower-cased UTF-8, and each anchor's
    positions, found once for all who ask: by a _Searcher's two passes when one is given, else
    (might_hold_secret, a short text) one ``bytes.find`` pass per anchor asked for."""

    __slots__ = ("data", "low", "wide", "_found", "_exact", "_starts", "_folds")

    def __init__(self, text, searcher: "_Searcher | None" = None, low: bytes | None = None):
        """``low``: the UTF-8's lower case, when the caller has it already."""
        self.data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
        self.low = self.data.lower() if low is None else low
        self.wide = not self.data.isascii()
        self._found: dict = {}  # lowered needle -> positions
        self._exact: dict = {}  # needle as written -> positions
        self._starts: dict = {}  # a pattern's source -> where its literal prefixes are (_Searcher.fill)
        self._folds = None
        if searcher is not None:
            searcher.fill(self)

    def lowered(self, needle: bytes) -> list:
        """Positions of ``needle`` (lower case) in the lower-cased text, overlapping ones too."""
        hits = self._found.get(needle)
        if hits is None:
            low = self.low
            for base in _BASES:
                if base in needle and base != needle:
                    off = needle.index(base)
                    hits = [at - off for at in self.lowered(base) if at >= off and low.startswith(needle, at - off)]
                    break
            else:
                hits = _all(low, needle)
            self._found[needle] = hits
        return hits

    def exact(self, needle: bytes) -> list:
        """Positions of ``needle`` as it is written."""
        hits = self._exact.get(needle)
        if hits is not None:
            return hits
        data = self.data
        if not any(base in needle.lower() for base in _BASES):
            return _all(data, needle)
        return [at for at in self.lowered(needle.lower()) if data.startswith(needle, at)]

    def matches(self, pattern) -> list:
        """Where ``pattern`` (bytes) matches, overlapping matches too, in order."""
        data = self.data
        hits = self._starts.get(pattern.pattern)
        if hits is not None:
            return [at for at in sorted(set(hits)) if pattern.match(data, at)]
        out = []
        match = pattern.search(data)
        while match is not None:
            out.append(match.start())
            match = pattern.search(data, match.start() + 1)
        return out

    def folds(self) -> list:
        """Positions of the characters re.IGNORECASE takes for an ASCII letter (_FOLDS)."""
        if self._folds is None:
            found: set = set()
            if self.wide:
                for fold in _FOLDS:
                    found.update(self.exact(fold))
            self._folds = sorted(found)
        return self._folds

    def token_starts(self) -> list:
        """Where a token of :func:`known_tokens` can start."""
        return [at for anchor in _KNOWN_ANCHORS for at in self.exact(anchor)]

    def assignment_starts(self) -> list:
        """Where a match of :func:`assignments` can start; none means there is none, for a text
        without folds(): among them are the only characters whose lower case holds an ASCII letter
        (the Kelvin sign, the dotted capital I), where str.lower and bytes.lower differ."""
        starts: set = set()
        for word in _ASSIGNMENT_ANCHORS:
            starts.update(self.lowered(word))
        low = self.low
        return [at for at in sorted(starts) if _ASSIGNMENT_NEEDS.match(low, at)]


# Case-sensitive needles that start with one of these bytes are searched in the text as it is: with
# so few first bytes, the automaton skips from one to the next with memchr. The others are searched
# in the lower-cased text, all in one pass, and their case checked at each hit.
_AS_IS_FIRST = b"AS"


class _Searcher:
    """Every anchor of a Redactor in two Aho-Corasick passes over a text (ahocorasick_rs, the Rust
    aho-corasick crate): one over the lower-cased UTF-8 for the lowered anchors and most others,
    one over the UTF-8 as it is for the case-sensitive needles of _AS_IS_FIRST. Overlapping hits
    are all reported, as the ``bytes.find`` passes it replaces found them. Built once per anchor set."""

    __slots__ = ("exact", "lowered", "prefixed", "passes")

    def __init__(self, exact: tuple, lowered: tuple, prefixed: tuple):
        """``exact``: needles as written; ``lowered``: lower-case needles; ``prefixed``: (a pattern's
        source, the literals its matches start with) pairs."""
        from ahocorasick_rs import BytesAhoCorasick, Implementation

        self.exact, self.lowered, self.prefixed = exact, lowered, tuple(key for key, _ in prefixed)
        as_is: dict = {}
        low: dict = {}
        # What a hit is: 0 a needle as written (its case checked when searched lowered), 1 a lowered
        # needle, 2 a literal prefix of a pattern (the pattern itself checks the text there).
        for needle in self.exact:
            if needle[0] in _AS_IS_FIRST:
                as_is.setdefault(needle, []).append((0, needle, False))
            else:
                low.setdefault(needle.lower(), []).append((0, needle, needle.lower() != needle.upper()))
        for needle in self.lowered:
            low.setdefault(needle, []).append((1, needle, False))
        for key, prefixes in prefixed:
            for prefix in prefixes:
                if prefix[0] in _AS_IS_FIRST:
                    as_is.setdefault(prefix, []).append((2, key, False))
                else:
                    low.setdefault(prefix.lower(), []).append((2, key, False))
        # A DFA: the fastest search, and small for these few needles.
        self.passes = tuple((BytesAhoCorasick(list(found), implementation=Implementation.DFA), list(found.values()),
                             lowered_pass) for found, lowered_pass in ((as_is, False), (low, True)) if found)

    def fill(self, scan: _Scan) -> None:
        exact = scan._exact
        lowered = scan._found
        starts = scan._starts
        for needle in self.exact:
            exact[needle] = []
        for needle in self.lowered:
            lowered[needle] = []
        for key in self.prefixed:
            starts[key] = []
        data = scan.data
        for automaton, actions, lowered_pass in self.passes:
            found: list = [[] for _ in actions]
            for index, at, _ in automaton.find_matches_as_indexes(scan.low if lowered_pass else data,
                                                                   overlapping=True):
                found[index].append(at)
            for hits, targets in zip(found, actions):
                if not hits:
                    continue
                for kind, key, check in targets:
                    if kind == 1:
                        lowered[key] = hits
                    elif kind == 2:
                        starts[key].extend(hits)
                    else:
                        exact[key] = [at for at in hits if data.startswith(key, at)] if check else hits


_SEARCHERS: dict = {}


def _searcher(exact: tuple, lowered: tuple, prefixed: tuple) -> "_Searcher | None":
    """The _Searcher of one anchor set, built once a process; None without ahocorasick_rs."""
    key = (exact, lowered, prefixed)
    if key not in _SEARCHERS:
        try:
            _SEARCHERS[key] = _Searcher(exact, lowered, prefixed)
        except ImportError:
            _SEARCHERS[key] = None
    return _SEARCHERS[key]


def _all(data: bytes, needle: bytes) -> list:
    """Every position of ``needle`` in ``data``. A needle with a byte the text lacks is ruled out by
    that byte's absence: one memchr, many times faster than the search."""
    for byte in set(needle):
        if bytes((byte,)) not in data:
            return []
    out = []
    at = data.find(needle)
    while at != -1:
        out.append(at)
        at = data.find(needle, at + 1)
    return out


def _next_lines(data: bytes, positions: set) -> list[int]:
    """The start of the line after each of ``positions``."""
    out = []
    for at in positions:
        end = data.find(b"\n", at)
        if end != -1:
            out.append(end + 1)
    return out


def _denylisted(low: bytes, at: int, anchor: bytes) -> bool:
    """Whether the anchor at ``at`` may be part of one of KeywordDetector's words."""
    if anchor == b"key":
        return low.endswith(_KEY_BEFORE, 0, at)
    if anchor == b"pass":
        return low.endswith(_PASS_BEFORE, 0, at) or low.startswith((b"word", b"wd"), at + 4)
    if anchor == b"pw":
        return low.startswith(b"d", at + 2)
    return anchor != b"token"


def _compared(low: bytes, line_start: int, at: int) -> bool:
    """Whether two of "!=" come before ``at`` with only word characters and spaces between."""
    k = at
    while k > line_start and low[k - 1] in _WORD_OR_SPACE:
        k -= 1
    return k - 2 >= line_start and low[k - 1] in b"!=" and low[k - 2] in b"!="


def _fingerprint(patterns) -> str:
    import hashlib

    key = "\n".join(sorted(f"{p.flags}:{p.pattern}" for p in patterns))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _keyword_patterns(classes: dict):
    """The regular expressions of the plugins behind the keyword anchors, as detect-secrets
    applies them to a ``.txt`` file; None when this detect-secrets does not expose them."""
    try:
        from detect_secrets.plugins import keyword
    except ImportError:
        return None
    out = []
    for name in _KEYWORD_PLUGINS & set(classes):
        if name == "KeywordDetector":
            try:
                from detect_secrets.util.filetype import determine_file_type

                chosen = keyword.REGEX_BY_FILETYPE.get(determine_file_type(SCANNED_AS),
                                                       keyword.QUOTES_REQUIRED_DENYLIST_REGEX_TO_GROUP)
            except (ImportError, AttributeError):
                return None
            out.extend(chosen)
        else:
            denylist = getattr(classes[name], "denylist", None)
            if not denylist:
                return None
            out.extend(denylist)
    return out


def _backed(data: bytes, positions: set, patterns, quotes: bool = True) -> list[int]:
    """The first of ``positions`` on each line that also holds a long word run, or a quote, and
    on which one of ``patterns`` (those of the plugins behind the anchors; None: unknown) matches:
    the line given to detect-secrets is searched with the same expressions, so a line none of
    them match cannot be flagged by those plugins."""
    out, line_end = [], -1
    for at in sorted(positions):
        if at <= line_end:
            continue
        line_start = data.rfind(b"\n", 0, at) + 1
        line_end = data.find(b"\n", at)
        if line_end == -1:
            line_end = len(data)
        line = data[line_start:line_end]
        if (quotes and any(q in line for q in _QUOTES)) or _LONG_RUN in line.translate(_WORD_CLASS):
            if patterns is not None:
                text = line.decode("utf-8", "surrogatepass")
                if not any(pattern.search(text) for pattern in patterns):
                    continue
            out.append(at)
    return out


def _lines_of(data: bytes, starts: set) -> list[int]:
    """Line numbers of positions in ``data``, in one pass."""
    out = []
    line, pos = 0, 0
    for start in sorted(starts):
        line += data.count(b"\n", pos, start)
        pos = start
        if not out or out[-1] != line:
            out.append(line)
    return out


_INDIRECT = "detect_secrets.filters.heuristic.is_indirect_reference"
KEYWORD_TYPE = "Secret Keyword"  # detect-secrets' KeywordDetector


def detected(dense: list, filename: str):
    """detect-secrets' findings in ``dense`` ((number, line) pairs, numbered from 1), under the
    settings entered, as tether takes them. detect-secrets skips a whole line that looks like an
    indirect reference (``secret = get_secret()``) for every detector; written for the keyword
    one, it also hid a literal token passed to a call (``client = Github('ghp_...')``), so tether
    applies it to the keyword detector's findings only."""
    from detect_secrets.core.scan import _process_line_based_plugins
    from detect_secrets.filters.heuristic import is_indirect_reference
    from detect_secrets.settings import get_filters, get_settings

    settings = get_settings()
    had = settings.filters.pop(_INDIRECT, None)
    get_filters.cache_clear()
    try:
        lines = dict(dense)
        for secret in _process_line_based_plugins(dense, filename):
            if secret.type == KEYWORD_TYPE and is_indirect_reference(lines[secret.line_number].rstrip()):
                continue
            yield secret
    finally:
        if had is not None:
            settings.filters[_INDIRECT] = had
            get_filters.cache_clear()


def _occurrences(plugin, line: str, value: str):
    """Spans in ``line`` to cut for a secret of which detect-secrets kept ``value``: the whole text
    a plugin's pattern matched (a GitHub token's value is only ``ghp``), its edges trimmed."""
    out = []
    for pattern in getattr(plugin, "denylist", ()) or ():
        for match in pattern.finditer(line):
            whole = match.group(0)
            if value and value in whole:
                start, end = match.span()
                while start < end and line[start] in _EDGES:
                    start += 1
                while end > start and line[end - 1] in _EDGES:
                    end -= 1
                if value not in line[start:end]:  # the value sits in an edge character: cut it alone
                    at = line.index(value, match.start())
                    start, end = at, at + len(value)
                out.append((start, end))
    if not out and value:
        at = line.find(value)
        while at != -1:
            out.append((at, at + len(value)))
            at = line.find(value, at + len(value))
    return out


def _private_key(text: str, base: int, kind: str):
    for pattern in (_PRIVATE_BLOCK, _PUTTY_BLOCK):
        match = pattern.search(text, max(0, base))
        line_end = text.find("\n", base)
        if match and (line_end == -1 or match.start() <= line_end):
            return [(match.start(), match.end(), kind)]
    end = text.find("\n", base)
    return [(base, len(text) if end == -1 else end, kind)]


def _merged(spans):
    out = []
    for start, end, kind in sorted(spans):
        if out and start < out[-1][1]:
            if end > out[-1][1]:
                out[-1] = (out[-1][0], end, out[-1][2])
            continue
        out.append((start, end, kind))
    return out


HOME_TYPE = "home directory"


def home() -> str | None:
    """The user's home directory as it appears in paths, or None when it is too short to be
    told from other text (``/``)."""
    import os

    path = os.path.expanduser("~").rstrip("/\\")
    return path if len(path) > 1 and path != "~" else None


def unhome(text: str, prefix: str | None) -> tuple[str, int]:
    """``text`` with the home directory ``prefix`` written ``~`` where a path starts with it;
    (the text, how many were replaced)."""
    if not prefix or prefix not in text:
        return text, 0
    pattern = re.compile(re.escape(prefix) + r"(?=[/\\\"'\s]|$)")
    return pattern.subn("~", text)
