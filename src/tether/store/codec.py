"""Reading tether's files strictly, and saying exactly where they are broken.

Records are Markdown with a front matter block for people and JSON/JSONL for
machines. tether writes front matter as ``key: <JSON value>`` lines: valid
YAML that any YAML reader accepts, and that tether parses without loading a
YAML library. Front matter a person rewrote in other YAML style falls back to
PyYAML. Every failure becomes a :class:`ParseError` with the file and line.

All JSON tether reads goes through :func:`json_value` and all YAML through
:func:`store.yaml_codec.yaml_value`: what the decoders accept but tether cannot use (a value
nested deeper than ``MAX_DEPTH``, an integer longer than Python converts, a
lone surrogate escape that no UTF-8 file can hold, YAML's binary, dates, sets
and alias loops) is refused there, with its line, before any caller sees it.
"""

from __future__ import annotations

import sys

from ..errors import ParseError, Problem
from ..model.fastjson import loads_exactly as _loads
from .layout import CONTEXT_FILE, GENERATED  # a merge without tether's merge driver leaves markers one command resolves

CONFLICT_PREFIXES = ("<<<<<<< ", ">>>>>>> ", "||||||| ")
# Nothing tether writes nests deeper than a few levels; a bound well under Python's recursion
# limit lets every later step (validation, copies, dumps) recurse safely.
MAX_DEPTH = 100
# Python refuses to convert longer integers (CVE-2020-10735); 0 means no limit.
MAX_DIGITS = getattr(sys, "get_int_max_str_digits", lambda: 0)()


def _decode_error() -> type:
    """json.JSONDecodeError, named in an ``except`` (evaluated only when something was raised):
    the reading itself runs without ``json`` (see model.fastjson)."""
    from json import JSONDecodeError

    return JSONDecodeError


def decode(data: bytes, path: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ParseError(path, line, f"invalid UTF-8 (byte 0x{data[exc.start]:02x})") from None



def check_conflicts(text: str, path: str) -> None:
    """Refuse files that still hold git conflict markers."""
    if "<<<<<<< " not in text and ">>>>>>> " not in text:
        return
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith(CONFLICT_PREFIXES) or line == "=======":
            if path.endswith("CONTEXT.md"):
                fix = "run `tether index --repair` (it merges tether's blocks; text both branches changed stays yours)"
            elif path.endswith(GENERATED):
                fix = "run `tether index --repair` (a merge without tether's merge driver)"
            elif path.endswith(CONTEXT_FILE):
                raise ParseError(path, number, context_conflict(text), conflict=True)
            else:
                fix = "resolve the merge and commit"
            raise ParseError(path, number, f"unresolved git conflict marker; {fix}", conflict=True)


# The first line tether's merge driver gives a session context it left conflicted (campaign.clones).
CONTEXT_CONFLICT_HEAD = "# tether merge: "


def context_conflict(text: str) -> str:
    """What a conflicted session context holds: the values both clones set differently, as the
    merge driver's first line names them, or git's text merge of the whole file."""
    first = text.split("\n", 1)[0]
    if first.startswith(CONTEXT_CONFLICT_HEAD) and "differently: " in first:
        return f"unresolved conflict: both clones set {first.split('differently: ', 1)[1].strip()} differently"
    return ("unresolved git conflict marker; resolve the merge (`tether index --repair` merges the two sides by"
            " meaning)")


class Unusable(ValueError):
    """Valid JSON or YAML that tether cannot use; ``offset`` (into the text) says where, when known."""

    def __init__(self, reason: str, offset: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.offset = offset


def line_at(text: str, offset: int | None, first: int = 1) -> int | None:
    return None if offset is None else first + text.count("\n", 0, offset)


_TOKENS = None


def too_deep(text: str) -> int | None:
    """Where ``text`` (JSON, or close enough: TOML, flow YAML) opens its ``MAX_DEPTH + 1``-th level; None if it
    never does. Counting brackets bounds the depth first: one pass in C, enough for any text tether writes."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return None
    global _TOKENS
    if _TOKENS is None:
        import re

        _TOKENS = re.compile(r'"(?:[^"\\\n]|\\.)*"?|[\[\]{}]')  # a string (brackets in it do not count), or a bracket
    depth = 0
    for match in _TOKENS.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return match.start()
        elif token in "]}":
            depth -= 1
    return None


def long_number(text: str) -> int | None:
    """Where ``text`` has an integer longer than Python converts."""
    import re

    match = re.search(r"\d[\d_]{%d,}" % max(MAX_DIGITS, 1), text)
    return match.start() if match else None


def _lone_surrogate(value) -> str | None:
    """A lone surrogate in any string of a decoded value, as an escape (``\\ud800``); None if there is none."""
    try:
        canonical_json(value).encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"\\u{ord(exc.object[exc.start]):04x}"
    return None


def _surrogate_offset(text: str, escape: str) -> int | None:
    lowered = text.lower()
    offset = lowered.find(escape)
    return offset if offset >= 0 else None


def json_value(text: str) -> object:
    """``json.loads``, refusing what tether cannot use; raises JSONDecodeError (invalid JSON) or Unusable."""
    deep = too_deep(text)
    if deep is not None:
        raise Unusable(f"nested deeper than {MAX_DEPTH} levels", deep)
    try:
        value = _loads(text)
    except _decode_error():
        raise
    except ValueError:  # the only other: an integer too long to convert
        raise Unusable(f"a number of more than {MAX_DIGITS} digits", long_number(text)) from None
    except RecursionError:  # not reached within MAX_DEPTH; kept for a deeper C stack than expected
        raise Unusable(f"nested deeper than {MAX_DEPTH} levels") from None
    if "\\" in text and "\\u" in text:  # a lone memchr first: tether writes text as is, escapes are rare
        escape = _lone_surrogate(value)
        if escape is not None:
            raise Unusable(f"a lone surrogate ({escape}): not a character, cannot be written as UTF-8",
                           _surrogate_offset(text, escape))
    return value


def _fast_meta(lines: list[str], block: str, path: str) -> dict | None:
    """Front matter of ``key: <JSON>`` lines; None when a line is not (YAML written by hand).

    No depth bound before parsing, unlike json_value: counting brackets costs more than the parse
    of a task's units, and every field of a record is checked flat (records.fields) anyway. What is
    deep enough to stop json is refused here; a lone surrogate too.
    """
    meta: dict = {}
    for number, line in enumerate(lines, 2):
        key, sep, value = line.partition(": ")
        if not sep or not key.isidentifier():
            return None
        if key in meta:  # a hand edit or a merge: which value holds is not ours to guess
            first = next(n for n, l in enumerate(lines, 2) if l.startswith(key + ": "))
            raise ParseError(path, number, f"the key {key!r} appears twice (lines {first} and {number});"
                                           " keep the one that holds")
        try:
            meta[key] = _loads(value)
        except _decode_error():
            return None  # not JSON: YAML written by hand
        except ValueError:  # an integer too long to convert
            raise ParseError(path, number, f"a number of more than {MAX_DIGITS} digits") from None
        except RecursionError:
            raise ParseError(path, number, f"nested deeper than {MAX_DEPTH} levels") from None
    if "\\" in block and "\\u" in block:
        for number, line in enumerate(lines, 2):
            if "\\u" in line:
                escape = _lone_surrogate(meta[line.partition(": ")[0]])
                if escape is not None:
                    raise ParseError(path, number, f"a lone surrogate ({escape}): not a character, cannot be"
                                                   " written as UTF-8")
    return meta


def load_front_matter(data: bytes, path: str) -> tuple[dict, str]:
    """Split a record into (front matter mapping, Markdown body)."""
    text = decode(data, path)
    check_conflicts(text, path)
    if not text.startswith("---\n"):
        raise ParseError(path, 1, "expected front matter starting with '---'")
    end = text.find("\n---\n", 3)
    if end < 0:
        if text.endswith("\n---"):
            end = len(text) - 4
        else:
            raise ParseError(path, text.count("\n") + 1, "front matter never closed with '---' (truncated file?)")
    block = text[4:end + 1]
    body = text[end + 5:]
    lines = block.splitlines()
    meta = _fast_meta(lines, block, path)
    if meta is None:
        meta = _yaml_meta(block, path)
    return meta, body


def _yaml_meta(block: str, path: str) -> dict:
    from .yaml_codec import YamlError, yaml_value  # lazy: only hand-edited front matter needs YAML

    text = "\n" + block  # the block starts after '---': so its lines are numbered as the file's
    try:
        meta = yaml_value(text)
    except YamlError as exc:
        raise ParseError(path, exc.line, f"invalid YAML in front matter: {exc.reason}") from None
    except Unusable as exc:
        raise ParseError(path, _front_matter_line(text, exc), exc.reason) from None
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise ParseError(path, 2, "front matter must be a mapping of keys to values")
    return meta


def _front_matter_line(text: str, exc: "Unusable") -> int | None:
    """The line of the front matter key that holds what ``exc`` refused (``text``: the file's
    first line blank, then its front matter)."""
    where = getattr(exc, "path", None)
    if where:
        prefix = f"{where[0]}:"
        for number, line in enumerate(text.split("\n"), 1):
            if line.startswith(prefix):
                return number
    return line_at(text, exc.offset, 1)


# Encoders made once: json.dumps builds one per call from its keyword arguments, which
# is most of its cost for the small values of a record (a checkpoint has 16 fields).
def _encoder(item_separator: str, key_separator: str):
    """JSON with sorted keys and text as is, through the C encoder made once here:
    JSONEncoder.encode makes it anew at every call, most of the cost for a small value.
    No circular-reference check: records hold plain data."""
    try:
        from _json import encode_basestring, make_encoder  # what json.encoder uses, without importing json
    except ImportError:  # pragma: no cover - an interpreter without the C accelerator
        import json

        return json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(item_separator, key_separator)).encode

    def unsupported(value):
        raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")

    chunks = make_encoder(None, unsupported, encode_basestring, None, key_separator, item_separator, True, False, True)
    join = "".join
    return lambda value: join(chunks(value, 0))


_FIELD = _encoder(", ", ": ")
_CANONICAL = _encoder(",", ":")


try:
    from _json import encode_basestring as _STRING  # what _FIELD does for a str, without the call around it
except ImportError:  # pragma: no cover
    from json.encoder import encode_basestring as _STRING


def dump_front_matter(meta: dict, body: str) -> str:
    lines = ["---"]
    for key, value in meta.items():
        lines.append(f"{key}: {_STRING(value) if type(value) is str else _FIELD(value)}")
    lines.append("---")
    return "\n".join(lines) + "\n" + body


def load_json(data: bytes, path: str) -> object:
    text = decode(data, path)
    check_conflicts(text, path)
    return loads(text, path)


def loads(text: str, path: str, first_line: int = 1) -> object:
    """JSON text to a value; anything json_value refuses is a ParseError at its line."""
    try:
        return json_value(text)
    except _decode_error() as exc:
        raise ParseError(path, first_line + exc.lineno - 1, f"invalid JSON: {exc.msg}") from None
    except Unusable as exc:
        raise ParseError(path, line_at(text, exc.offset, first_line), exc.reason) from None


def canonical_json(value: object) -> str:
    """One deterministic line: sorted keys, no spaces that vary."""
    return _CANONICAL(value)


def iter_jsonl(data: bytes, path: str, problems: list[Problem], first_line: int = 1, numbered: bool = False,
               check=None, flag=None):
    """Yield the objects of a JSONL file (``numbered``: with their line numbers); report bad lines and keep going.

    ``check(row)``: what is wrong with a row's fields (a message), or None; a wrong row is skipped too.
    ``flag(row)``: the same, for what is reported but leaves the row usable (it is yielded).
    """
    lines = data.split(b"\n")
    last = first_line + len(lines) - 1  # a line there, unterminated, is what a writer stopped mid-append left
    for number, raw in enumerate(lines, first_line):
        if not raw.strip():
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            problems.append(Problem(path, number, "invalid UTF-8; line skipped"))
            continue
        if text.startswith(CONFLICT_PREFIXES) or text == "=======":
            problems.append(Problem(path, number, "unresolved git conflict marker; line skipped"))
            continue
        try:
            # json_value's checks, skipped for a line that cannot need them: a log has many.
            if "\\" in text or (len(text) > MAX_DEPTH and text.count("[") + text.count("{") > MAX_DEPTH):
                value = json_value(text)
            else:
                value = _loads(text)
        except _decode_error():
            problems.append(Problem(path, number, "a torn last line (a writer stopped mid-append); skipped until"
                                                  " the next write or `tether index --repair` sets it aside"
                                    if number == last else "invalid JSON (torn or hand-edited line); line skipped"))
            continue
        except Unusable as exc:
            problems.append(Problem(path, number, f"{exc.reason}; line skipped"))
            continue
        except ValueError:  # an integer too long to convert
            problems.append(Problem(path, number, f"a number of more than {MAX_DIGITS} digits; line skipped"))
            continue
        if not isinstance(value, dict):
            problems.append(Problem(path, number, "expected a JSON object; line skipped"))
            continue
        if check is not None:
            wrong = check(value)
            if wrong:
                problems.append(Problem(path, number, f"{wrong}; line skipped"))
                continue
        if flag is not None:
            odd = flag(value)
            if odd:
                problems.append(Problem(path, number, f"{odd}; read as it is"))
        yield (number, value) if numbered else value
