"""Record fields checked on read: each of the type tether writes, or a ParseError at its line.

A record read back must have the types tether writes: a wrong one is a ParseError (a
problem with the file's path and the field's line), never a value turned into another
(str(12) is not "1-2") or a silent default that the next write would make permanent.
Plain type() checks: records are read at every boot and checkpoint.
"""

from __future__ import annotations

from ..errors import ParseError, Problem

# Kinds: TEXT required text; OPTIONAL text or null; MAYBE text, or absent (None); LINE text, or absent
# meaning ""; TEXTS a list of text (absent: []); NUMBER a whole number; PAIRS text -> text (absent: {}).
# Only OPTIONAL fields may be null: tether writes the others whenever it writes them, so a null there
# was put by hand or by another tool, and read as absent it would become the next write's default.
TEXT, OPTIONAL, MAYBE, LINE, TEXTS, NUMBER, PAIRS = range(7)
_EXPECTED = {TEXT: "a string", OPTIONAL: "a string or null", MAYBE: "a string", LINE: "a string",
             TEXTS: "a list of strings", NUMBER: "a whole number", PAIRS: "a mapping of strings to strings"}
_ABSENT = {MAYBE: None, LINE: "", TEXTS: list, PAIRS: dict}
_STR = {str}


def got(value) -> str:
    """A value's kind as a person reads it in an error: never a Python repr."""
    if value is None:
        return "null"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        text = repr(value) if not isinstance(value, int) or -10**20 < value < 10**20 else ""
        return f"the number {text}" if text else "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"a {type(value).__name__}"


def field_line(data: bytes | None, key: str) -> int | None:
    """The line of ``key:`` in a record's front matter, or of ``"key":`` in a JSON file (looked for only
    when a field is wrong)."""
    if not data:
        return None
    at = data.find(b"\n" + key.encode() + b":")
    if at >= 0:
        return data.count(b"\n", 0, at) + 2
    at = data.find(b'"' + key.encode() + b'":')
    return None if at < 0 else data.count(b"\n", 0, at) + 1


def fields(meta: dict, path: str, spec: dict, data: bytes | None = None, line: int | None = None) -> dict:
    """The fields of ``spec`` (name -> kind) from ``meta``, each of its kind, or a ParseError naming the
    first that is not, at its line (``line``: where the whole record is, for a JSON-lines row)."""
    out = {}
    for key, kind in spec.items():
        value = meta.get(key)
        kind_of = type(value)
        if kind_of is str:
            if kind <= LINE:
                out[key] = value
                continue
        elif value is None:
            if kind == OPTIONAL:
                out[key] = None
                continue
            if key not in meta:
                if kind in _ABSENT:
                    default = _ABSENT[kind]
                    out[key] = default() if callable(default) else default
                    continue
                raise ParseError(path, line, f"missing required field '{key}'")
        elif kind_of is list:
            if kind == TEXTS and {*map(type, value)} <= _STR:  # map and set in C: thousands of units
                out[key] = value
                continue
        elif kind_of is int:
            if kind == NUMBER:
                out[key] = value
                continue
        elif kind_of is dict:
            if kind == PAIRS and {*map(type, value), *map(type, value.values())} <= _STR:
                out[key] = value
                continue
        what = got(value)
        if kind_of is list and kind == TEXTS:
            what = "a list with " + next(got(v) for v in value if type(v) is not str) + " in it"
        elif kind_of is dict and kind == PAIRS:
            what = "a mapping with " + next(got(v) for v in value.values() if type(v) is not str) + " in it" \
                if all(type(k) is str for k in value) else "a mapping with keys that are not strings"
        raise ParseError(path, line or field_line(data, key), f"field '{key}' must be {_EXPECTED[kind]}, got {what}")
    return out


def one_of(values: dict, key: str, allowed: tuple, path: str, data: bytes | None, line: int | None) -> None:
    if values[key] not in allowed:
        raise ParseError(path, line or field_line(data, key),
                         f"field '{key}' must be one of {', '.join(allowed)}, got \"{values[key]}\"")


def odd_time(value, day: bool = False) -> str | None:
    """What is wrong with a time field's value (a date's, with ``day``), or None: a string that is not
    the ISO 8601 formats.md documents. Its type is fields()'s to check; a record with an odd time is
    still read (it is named as a problem, never dropped): nothing tether does with it is lost."""
    if type(value) is not str:
        return None
    from ..model import clock

    if clock.is_day(value) if day else clock.is_stamp(value):
        return None
    import json

    shown = json.dumps(value if len(value) <= 40 else value[:40] + "...", ensure_ascii=False)
    if day:
        return f"is not a date like 2026-11-21, got {shown}"
    return f"is not an ISO 8601 time like 2026-11-21T10:57:04Z, got {shown}"


def times(values: dict, keys: tuple, path: str, problems: list | None, data: bytes | None = None,
          line: int | None = None, days: tuple = ()) -> None:
    """Append to ``problems`` (None: not checked) a Problem for each of ``keys`` (times) and ``days``
    (dates) whose value is text but not one, at its line; the record stays as it was read."""
    if problems is None:
        return
    for key in (*keys, *days):
        wrong = odd_time(values.get(key), key in days)
        if wrong:
            problems.append(Problem(path, line or field_line(data, key), f"field '{key}' {wrong}; read as it is"))
