"""Reading tether's files strictly, and saying exactly where they are broken.

Records are Markdown with a front matter block for people and JSON/JSONL for
machines. tether writes front matter as ``key: <JSON value>`` lines: valid
YAML that any YAML reader accepts, and that tether parses without loading a
YAML library. Front matter a person rewrote in other YAML style falls back to
PyYAML. Every failure becomes a :class:`ParseError` with the file and line.
"""

from __future__ import annotations

import json

from ..errors import ParseError, Problem
from .layout import GENERATED  # a merge without tether's merge driver leaves markers one command resolves

CONFLICT_PREFIXES = ("<<<<<<< ", ">>>>>>> ", "||||||| ")


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
            else:
                fix = "resolve the merge and commit"
            raise ParseError(path, number, f"unresolved git conflict marker; {fix}", conflict=True)


def _fast_meta(lines: list[str]) -> dict | None:
    meta: dict = {}
    for line in lines:
        key, sep, value = line.partition(": ")
        if not sep or not key.isidentifier():
            return None
        try:
            meta[key] = json.loads(value)
        except ValueError:
            return None
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
    meta = _fast_meta(lines)
    if meta is None:
        meta = _yaml_meta(block, path)
    return meta, body


def _yaml_meta(block: str, path: str) -> dict:
    import yaml  # lazy: only hand-edited front matter needs it

    try:
        meta = yaml.safe_load(block)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 2 if mark is not None else None  # +1 for 1-based, +1 for '---'
        reason = getattr(exc, "problem", None) or "invalid YAML"
        raise ParseError(path, line, f"invalid YAML in front matter: {reason}") from None
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise ParseError(path, 2, "front matter must be a mapping of keys to values")
    return meta


# Encoders made once: json.dumps builds one per call from its keyword arguments, which
# is most of its cost for the small values of a record (a checkpoint has 16 fields).
def _encoder(item_separator: str, key_separator: str):
    """JSON with sorted keys and text as is, through the C encoder made once here:
    JSONEncoder.encode makes it anew at every call, most of the cost for a small value.
    No circular-reference check: records hold plain data."""
    fallback = json.JSONEncoder(ensure_ascii=False, sort_keys=True,
                                separators=(item_separator, key_separator)).encode
    make = json.encoder.c_make_encoder
    if make is None:  # an interpreter without the C accelerator
        return fallback

    def unsupported(value):
        raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")

    chunks = make(None, unsupported, json.encoder.encode_basestring, None, key_separator, item_separator,
                  True, False, True)
    join = "".join
    return lambda value: join(chunks(value, 0))


_FIELD = _encoder(", ", ": ")
_CANONICAL = _encoder(",", ":")


_STRING = json.encoder.encode_basestring  # what _FIELD does for a str, without the call around it


def dump_front_matter(meta: dict, body: str) -> str:
    lines = ["---"]
    for key, value in meta.items():
        lines.append(f"{key}: {_STRING(value) if type(value) is str else _FIELD(value)}")
    lines.append("---")
    return "\n".join(lines) + "\n" + body


def load_json(data: bytes, path: str) -> object:
    text = decode(data, path)
    check_conflicts(text, path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError(path, exc.lineno, f"invalid JSON: {exc.msg}") from None


def canonical_json(value: object) -> str:
    """One deterministic line: sorted keys, no spaces that vary."""
    return _CANONICAL(value)


def iter_jsonl(data: bytes, path: str, problems: list[Problem], first_line: int = 1, numbered: bool = False):
    """Yield the objects of a JSONL file (``numbered``: with their line numbers); report bad lines and keep going."""
    for number, raw in enumerate(data.split(b"\n"), first_line):
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
            value = json.loads(text)
        except ValueError:
            problems.append(Problem(path, number, "invalid JSON (torn or hand-edited line); line skipped"))
            continue
        if not isinstance(value, dict):
            problems.append(Problem(path, number, "expected a JSON object; line skipped"))
            continue
        yield (number, value) if numbered else value
