"""A message list as an agent builder sends it: read, walked, and written back in its own shape.

Three shapes, as ``tether.transcripts.chat`` reads them: JSON Lines (one message a line), a
JSON array, or an object with ``messages`` (a saved request: ``model``, Anthropic's
``system``, tools... are kept as they are). Two dialects, told apart by what the messages
hold: ``anthropic`` (``tool_use``/``tool_result`` blocks, ``system`` outside the list) and
``openai`` (``tool_calls``, ``role: "tool"``, system messages in the list); a list with
neither is ``plain``, valid in both.

Pure functions over plain data; no I/O.
"""

from __future__ import annotations

import gc
import json
import re
import threading

from ..errors import InvalidInput
from ..model.fastjson import loads_bulk, utf8
# Every string of a JSON value: what a list is counted by, here and by `tether usage` (transcripts.tokens).
from ..transcripts.tokens import strings  # noqa: F401

JSONL, ARRAY, OBJECT = "jsonl", "array", "object"
TETHER_MARK = "[tether] "  # the first characters of every message tether adds


class Document:
    """A message list and what it came in: ``shape``, ``dialect``, the object's other keys."""

    __slots__ = ("messages", "shape", "dialect", "envelope", "raw")

    def __init__(self, messages: list, shape: str = ARRAY, dialect: str | None = None, envelope: dict | None = None):
        self.messages = messages
        self.shape = shape
        self.envelope = envelope  # the request object (shape OBJECT), messages left out
        self.dialect = dialect or dialect_of(messages, envelope)
        self.raw = None  # the bytes it was read from (parse), None for one built or changed

    def copy_with(self, messages: list) -> "Document":
        return Document(messages, self.shape, self.dialect, self.envelope)


def parse(data: bytes, shown: str = "<messages>") -> Document:
    """A message list from bytes; InvalidInput names the line of what cannot be read."""
    with collector_paused():
        doc = _parse(data, shown)
    doc.raw = data
    return doc


class collector_paused:
    """Python's cyclic garbage collector paused while many objects are made at once (a message list
    of megabytes read and compacted): its full collections, triggered by the count of new objects,
    walk every object alive each time, which costs more than the work. JSON values hold no cycles,
    so nothing waits on it; it runs again, as it was, when the last pause ends (threads too)."""

    _pauses = 0
    _was_enabled = False
    _lock = threading.Lock()

    def __enter__(self):
        cls = collector_paused
        with cls._lock:
            if cls._pauses == 0:
                cls._was_enabled = gc.isenabled()
                gc.disable()
            cls._pauses += 1
        return self

    def __exit__(self, *exc):
        cls = collector_paused
        with cls._lock:
            cls._pauses -= 1
            if cls._pauses == 0 and cls._was_enabled:
                gc.enable()
        return False


class collector_running:
    """The collector running again, as it was before the pause, for a block of code that is not
    tether's inside a pause (a summariser callable): it may make cycles of its own."""

    def __enter__(self):
        self._paused = collector_paused._pauses > 0 and collector_paused._was_enabled
        if self._paused:
            gc.enable()
        return self

    def __exit__(self, *exc):
        if self._paused and collector_paused._pauses > 0:
            gc.disable()
        return False


def _parse(data: bytes, shown: str) -> Document:
    if data[:1] in (b"[", b"{"):  # the common case, read from the bytes; anything else as below
        try:
            whole = loads_bulk(data)
        except (ValueError, RecursionError):
            pass
        else:
            if isinstance(whole, list) or (isinstance(whole, dict) and "messages" in whole):
                return _whole(whole, shown)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InvalidInput(f"{shown}:{line}: not UTF-8 text", hint="save the message list as UTF-8 JSON") from None
    stripped = text.lstrip()
    if not stripped:
        raise InvalidInput(f"{shown}: empty, not a message list",
                           hint="give a JSON array of messages, an object with \"messages\", or JSON Lines")
    first_line = stripped.split("\n", 1)[0].strip()
    whole = None
    if stripped[0] in "[{":
        try:
            whole = json.loads(text)
        except json.JSONDecodeError as exc:
            if stripped[0] == "[" or not _is_object_line(first_line):
                raise InvalidInput(f"{shown}:{exc.lineno}: not valid JSON ({exc.msg})",
                                   hint="fix the file at that line; a message list is JSON") from None
        except RecursionError:
            raise InvalidInput(f"{shown}: nested too deeply", hint="give a plain message list") from None
    if isinstance(whole, list) or (isinstance(whole, dict) and "messages" in whole):
        return _whole(whole, shown)
    if isinstance(whole, dict) and "role" in whole:
        return Document(_checked([whole], shown), JSONL)
    if whole is not None:
        raise InvalidInput(f"{shown}: a JSON {type(whole).__name__} without \"messages\", not a message list",
                           hint=_transcript_hint(whole)
                           or "give a JSON array of messages, an object with \"messages\", or JSON Lines")
    messages = []
    for number, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            messages.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"{shown}:{number}: not valid JSON ({exc.msg})",
                               hint="fix the line; JSON Lines hold one message a line") from None
    return Document(_checked(messages, shown, lines=True), JSONL)


def _whole(whole, shown: str) -> Document:
    """The document a JSON array of messages, or an object with ``messages``, makes."""
    if isinstance(whole, list):
        return Document(_checked(whole, shown), ARRAY)
    if not isinstance(whole["messages"], list):
        raise InvalidInput(f"{shown}: \"messages\" is not a list", hint="give the messages as a JSON array")
    envelope = {k: v for k, v in whole.items() if k != "messages"}
    return Document(_checked(whole["messages"], shown), OBJECT, envelope=envelope)


def _is_object_line(line: str) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except (json.JSONDecodeError, RecursionError):
        return False


def _transcript_hint(record) -> str | None:
    """What to do instead, when ``record`` is a line of a Claude Code session or a Codex rollout
    (tether reads those itself, at compaction); None otherwise."""
    if isinstance(record, dict) and ("sessionId" in record or record.get("type") in (
            "session_meta", "response_item", "event_msg", "turn_context")):
        return ("this is an agent's session transcript, not a message list: the PreCompact hook saves it"
                " (`tether install claude-code`, `tether install codex`), and `tether usage FILE` reads how full it is")
    return None


# Items of OpenAI's Responses API input that are not messages (they carry a type, no role).
_RESPONSES_ITEMS = frozenset(("function_call", "function_call_output", "reasoning", "custom_tool_call",
                              "custom_tool_call_output", "computer_call", "computer_call_output",
                              "web_search_call", "file_search_call", "local_shell_call",
                              "local_shell_call_output", "item_reference"))


def _responses_hint(record) -> str | None:
    if isinstance(record, dict) and type(record.get("type")) is str and record["type"] in _RESPONSES_ITEMS:
        return (f"a {record['type']!r} item is OpenAI's Responses API input, which tether does not compact: give a"
                " Chat Completions list (tool calls in \"tool_calls\", results as role \"tool\") or Anthropic messages")
    return None


def _checked(messages: list, shown: str, lines: bool = False) -> list:
    for index, msg in enumerate(messages):
        where = f"line {index + 1}" if lines else f"message {index + 1}"
        if not isinstance(msg, dict) or not isinstance(msg.get("role"), str):
            raise InvalidInput(f"{shown}: {where} is not a message (an object with a \"role\")",
                               hint=_transcript_hint(msg) or _responses_hint(msg)
                               or "each message is {\"role\": ..., \"content\": ...}")
    return messages


# A \\u escape other than a control character's, or an escaped slash: either could spell part of a
# path in the bytes differently from the text they stand for.
_ESCAPE = re.compile(rb"\\u(?!00[01][0-9a-fA-F])|\\/")


def verbatim(doc: Document) -> bytes | None:
    """The bytes ``doc`` was read from, when they may stand for it as they are: read by
    :func:`parse` and unchanged, without an escape that could spell a path (the home directory
    is written ``~`` in what is stored, found in the bytes as it is written). None otherwise."""
    raw = doc.raw
    if raw is None:
        return None
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    if _ESCAPE.search(raw):
        return None
    return raw


def dump(doc: Document) -> bytes:
    """The document in its own shape, as JSON (UTF-8, non-ASCII kept; a lone surrogate escaped)."""
    if doc.shape == JSONL:
        return utf8("".join(json.dumps(m, ensure_ascii=False) + "\n" for m in doc.messages))
    if doc.shape == OBJECT:
        out = dict(doc.envelope or {})
        out["messages"] = doc.messages
        return utf8(indented(out) + "\n")
    return utf8(indented(doc.messages) + "\n")


def indented(value) -> str:
    """``json.dumps(value, ensure_ascii=False, indent=1)``, the same text, made by plain recursion
    into one list of pieces: json's own encoder is written in Python when it indents, a generator
    per level. Anything but plain JSON types (or nesting too deep) goes to json.dumps itself."""
    out: list = []
    try:
        _indent(value, out, "\n")
    except (_NotPlain, RecursionError):
        return json.dumps(value, ensure_ascii=False, indent=1)
    return "".join(out)


class _NotPlain(Exception):
    pass


def _scalar(value) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if type(value) is int:
        return int.__repr__(value)
    if type(value) is float:
        if value != value:
            return "NaN"
        if value in (float("inf"), float("-inf")):
            return "Infinity" if value > 0 else "-Infinity"
        return float.__repr__(value)
    raise _NotPlain


def _indent(value, out: list, newline: str) -> None:
    """``value`` as json.dumps(indent=1) writes it at the depth ``newline`` (a line break and the
    depth's spaces) stands for."""
    kind = type(value)
    if kind is str:
        out.append(_quote(value))
    elif kind is list:
        if not value:
            out.append("[]")
            return
        inner = newline + " "
        out.append("[" + inner)
        first = True
        for item in value:
            if not first:
                out.append("," + inner)
            first = False
            if type(item) is str:
                out.append(_quote(item))
            else:
                _indent(item, out, inner)
        out.append(newline + "]")
    elif kind is dict:
        if not value:
            out.append("{}")
            return
        inner = newline + " "
        out.append("{" + inner)
        first = True
        for key, item in value.items():
            if type(key) is not str:
                raise _NotPlain  # json.dumps turns such keys into text its own way
            out.append((_quote(key) + ": ") if first else ("," + inner + _quote(key) + ": "))
            first = False
            if type(item) is str:
                out.append(_quote(item))
            else:
                _indent(item, out, inner)
        out.append(newline + "}")
    else:
        out.append(_scalar(value))


try:
    from _json import encode_basestring as _quote  # what json.dumps uses with ensure_ascii=False
except ImportError:  # pragma: no cover - CPython has it
    from json.encoder import py_encode_basestring as _quote


def dialect_of(messages: list, envelope: dict | None = None) -> str:
    if envelope and "system" in envelope:
        return "anthropic"
    for msg in messages:
        if msg.get("role") in ("tool", "function", "system", "developer") or "tool_calls" in msg:
            return "openai"
        content = msg.get("content")
        if isinstance(content, list):
            for part in content:
                if isinstance(part, dict) and part.get("type") in ("tool_use", "tool_result", "thinking"):
                    return "anthropic"
                if isinstance(part, dict) and part.get("type") in ("image_url", "input_text", "output_text"):
                    return "openai"
    return "plain"


# -- reading what is in it ---------------------------------------------------------------------

def text_of(content) -> str:
    """The text of a message's content: a string, or its text parts joined."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, dict) and isinstance(part.get("text"), str):
                parts.append(part["text"])
        return "\n".join(parts)
    return ""


def text_starts(content, prefix: str) -> bool:
    """``text_of(content).startswith(prefix)``, joining only the parts the prefix reaches (a
    message's text can be megabytes; the checks look at its first characters)."""
    if isinstance(content, str):
        return content.startswith(prefix)
    parts: list = []
    if isinstance(content, list):
        size = 0
        for part in content:
            if isinstance(part, str):
                text = part
            elif isinstance(part, dict) and isinstance(part.get("text"), str):
                text = part["text"]
            else:
                continue
            if not parts and (len(text) >= len(prefix) or not prefix.startswith(text)):
                return text.startswith(prefix)  # most often the first text part decides alone
            parts.append(text)
            size += len(text) + 1
            if size > len(prefix):  # the parts joined so far begin the whole text and are long enough
                break
    return "\n".join(parts).startswith(prefix)


def is_tether(msg: dict) -> bool:
    return text_starts(msg.get("content"), TETHER_MARK)


def is_tool_result_message(msg: dict) -> bool:
    """A tool's output: OpenAI ``role: tool``, or an Anthropic user message of tool_result blocks."""
    if msg.get("role") in ("tool", "function"):
        return True
    content = msg.get("content")
    return (msg.get("role") == "user" and isinstance(content, list) and bool(content)
            and all(isinstance(p, dict) and p.get("type") == "tool_result" for p in content))


def tool_calls(msg: dict):
    """(name, input) of each tool call in a message: Anthropic tool_use blocks, OpenAI tool_calls
    (arguments parsed when they are JSON) and the older function_call."""
    content = msg.get("content")
    if isinstance(content, list):
        for part in content:
            if isinstance(part, dict) and part.get("type") == "tool_use":
                yield part.get("name"), part.get("input")
    for call in msg.get("tool_calls") or ():
        if isinstance(call, dict) and isinstance(call.get("function"), dict):
            yield call["function"].get("name"), _arguments(call["function"].get("arguments"))
    if isinstance(msg.get("function_call"), dict):
        yield msg["function_call"].get("name"), _arguments(msg["function_call"].get("arguments"))


def _arguments(value):
    if isinstance(value, str):
        try:
            return json.loads(value)
        except (json.JSONDecodeError, RecursionError):
            return value
    return value
