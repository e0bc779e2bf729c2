"""JSON text to a value (and a value to JSON text) with the C functions that ``json`` itself
uses, without importing ``json``.

``import json`` loads ``re`` (and ``enum``, ``functools``...), which costs a hook process more
than the rest of its work: the UserPromptSubmit hook and the status line run at every prompt
and after every message; the store's codec reads and writes through it too, so neither a
checkpoint nor a warm session start loads ``json``. ``_json.make_scanner`` is what ``json.JSONDecoder`` calls; given the
default decoder's settings it returns the same values. Errors are ValueErrors, as with
``json.loads`` (``json.decoder`` is loaded then, for the scanner to raise its own). Without ``_json`` (not
CPython), ``json`` does the work.
"""

from __future__ import annotations

_SPACE = " \t\n\r"


class _Defaults:
    # The attributes the C scanner reads from its decoder: json.JSONDecoder()'s defaults.
    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = {"-Infinity": float("-inf"), "Infinity": float("inf"), "NaN": float("nan")}.__getitem__
    memo: dict = {}


try:
    from _json import make_scanner as _make_scanner

    scan = _make_scanner(_Defaults())
except ImportError:  # pragma: no cover - other interpreters
    import json as _json_module

    scan = _json_module.JSONDecoder().scan_once


def _scan_raising(text: str, start: int):
    """scan, whose errors are json's own: CPython 3.11's C scanner raises JSONDecodeError only when
    json.decoder is loaded (it looks it up in sys.modules), a SystemError otherwise."""
    try:
        return scan(text, start)
    except SystemError:
        import json.decoder  # noqa: F401  (then read again, to raise its error)

        return scan(text, start)


def loads(data: str | bytes):
    """``json.loads`` of a whole document (bytes are read as UTF-8, a byte-order mark passed over
    as json.loads does)."""
    text = data.decode("utf-8-sig") if isinstance(data, (bytes, bytearray)) else data
    start = len(text) - len(text.lstrip(_SPACE))
    try:
        value, end = _scan_raising(text, start)
    except StopIteration as exc:
        raise ValueError(f"Expecting value: char {exc.value}") from None
    if end != len(text) and text[end:].strip(_SPACE):
        raise ValueError(f"Extra data: char {end}")
    return value


_DIGITS = bytes(100 if 48 <= i <= 57 else 32 for i in range(256))  # "d" for a digit, " " for the rest
_LONG_DIGITS = b"d" * 19  # -9223372036854775809, the first integer orjson reads as a float, has 19


def loads_bulk(data: bytes):
    """``json.loads(data)`` for a document of megabytes (a message list to compact): orjson, when
    installed, reads it several times faster. Whatever orjson refuses goes to ``json.loads``,
    which decides: the value, or the error it would raise. orjson refuses what json takes beyond
    strict JSON (NaN, lone surrogates, a byte-order mark, UTF-16) and what json refuses too; the
    one value it reads otherwise, an integer outside 64 bits (as a float), is kept from it: a run
    of 19 digits anywhere sends the document to json. Not for small documents on a hook's path:
    importing orjson costs more than it saves there."""
    try:
        from orjson import JSONDecodeError, loads as fast
    except ImportError:  # an optional speed-up: json does the work
        pass
    else:
        if _LONG_DIGITS not in data.translate(_DIGITS):
            try:
                return fast(data)
            except JSONDecodeError:
                pass
    import json

    return json.loads(data)


def loads_exactly(text: str):
    """``json.loads(text)``: the same value, and on bad input the same exception (json itself then
    reads the text again to raise it, so its JSONDecodeError says what json would)."""
    start = len(text) - len(text.lstrip(_SPACE))
    try:
        value, end = scan(text, start)
    except Exception:  # StopIteration (no value), or what json raises itself: it says so below
        value, end = None, -1
    if end != len(text) and (end < 0 or text[end:].strip(_SPACE)):
        import json

        return json.loads(text)
    return value


try:
    from _json import encode_basestring as _quote
except ImportError:  # pragma: no cover - other interpreters
    import json as _json_module

    _quote = _json_module.dumps


def dumps_flat(row: dict) -> str:
    """``json.dumps(row, ensure_ascii=False, separators=(",", ":"))`` for an object whose values
    are strings, booleans, integers or None (the hooks' per-call lines)."""
    parts = []
    for key, value in row.items():
        if value is None:
            text = "null"
        elif value is True or value is False:
            text = "true" if value else "false"
        elif type(value) is int:
            text = str(value)
        elif type(value) is str:
            text = _quote(value)
        else:
            raise TypeError(f"dumps_flat takes str, bool, int or None values, not {type(value).__name__}")
        parts.append(f"{_quote(str(key))}:{text}")
    return "{" + ",".join(parts) + "}"


def utf8(text: str) -> bytes:
    """Text as UTF-8. A lone surrogate, which a string read from JSON's ``"\\ud800"`` holds and UTF-8
    cannot, is written as that escape: in JSON text (``json.dumps(..., ensure_ascii=False)``) it only
    ever stands inside a string, so the bytes read back to the same value; in prose quoting one (a
    summary), it reads as the escape the transcript had."""
    return text.encode("utf-8", "backslashreplace")  # every other character has its UTF-8


def dumps(value) -> str:
    """``json.dumps(value, ensure_ascii=False)``, through the same C encoder json makes for it."""
    try:
        from _json import make_encoder
    except ImportError:  # pragma: no cover - other interpreters
        import json

        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, str):
        return _quote(value)

    def default(o):
        raise TypeError(f"Object of type {o.__class__.__name__} is not JSON serializable")

    return "".join(make_encoder({}, default, _quote, None, ": ", ", ", False, False, True)(value, 0))
