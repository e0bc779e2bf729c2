"""Plain message lists in the OpenAI and Anthropic chat formats, for agent builders.

Accepted shapes, told apart by their first character:

- JSON Lines, one message per line;
- a JSON array of messages;
- a JSON object with ``messages`` (and, Anthropic style, ``system``), e.g. a saved request.

A message is ``{"role", "content"}``: content a string or a list of parts. OpenAI parts
(``text``, ``image_url``, ``input_text``...), ``tool_calls`` on an assistant message and
``role: "tool"`` results (``tool_call_id``), the older ``function_call`` / ``role: "function"``;
Anthropic blocks (``text``, ``thinking``, ``tool_use``, ``tool_result``, ``image``). A message
carrying ``usage`` (as some agent frameworks save it) gives a ``USAGE`` record.

Arrays and objects are parsed incrementally, one element at a time, so a large file is never
held whole; an element that is not valid JSON stops the reading there, reported with its line.
"""

from __future__ import annotations

import codecs
import json

from . import lines as _lines
from .claude_code import _files, _result_text
from .detect import is_message
from .records import (EVENT, IMAGE, OTHER, TEXT, THINKING, TOOL_RESULT, TOOL_USE, USAGE, Record, Usage,
                      arguments_of)

FORMAT = "chat"
_CHUNK = 1024 * 1024


def read(f, problems, path: str | None = None, stats: dict | None = None, start_offset: int = 0,
         start_line: int = 1):
    """Records of one message list, in order, whichever of the three shapes it has."""
    for number, offset, obj in _items(f, problems, path, stats, start_offset, start_line):
        if "__model__" in obj:
            continue
        base = dict(path=path, line=number, offset=offset)
        if stats is not None:
            types = stats.setdefault("types", {})
            key = obj.get("role") if isinstance(obj.get("role"), str) else "(no role)"
            types[key] = types.get(key, 0) + 1
        if "__system__" in obj:
            yield from _message({"role": "system", "content": obj["__system__"]}, base)
        else:
            yield from _message(obj, base)


def _items(f, problems, path, stats, start_offset: int = 0, start_line: int = 1):
    """(line, offset, dict) per element of the list, and the request's ``system`` and ``model``
    as {"__system__": ...}, {"__model__": ...} (see _json_items)."""
    first = _first_char(f)
    f.seek(start_offset)
    if first in ("[", "{") and not _first_line_is_object(f, start_offset):
        return _json_items(f, problems, path, stats, start_offset)
    return ((n, o, obj) for n, o, obj in _lines.objects(f, problems, path, start_offset, start_line, stats=stats))


def counted(f, problems, path, count) -> tuple:
    """(tokens, the request's ``model`` or None) of the list in ``f``, as `tether compact` counts it
    (tokens.list_tokens: every string of the messages, then of a request's ``system``), read one
    element at a time."""
    from .tokens import list_tokens

    found: dict = {}

    def values():
        for _, _, obj in _items(f, problems, path, None):
            if "__system__" in obj:
                found["system"] = obj["__system__"]  # counted after the messages, as the compaction does
            elif "__model__" in obj:
                found["model"] = obj["__model__"]
            else:
                yield obj
        if "system" in found:
            yield found["system"]

    return list_tokens(values(), count), found.get("model")


def _first_char(f) -> str:
    pos = f.tell()
    head = f.read(4096)
    f.seek(pos)
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    return chr(text[0]) if text else ""


def _first_line_is_object(f, start: int) -> bool:
    """JSON Lines start with a whole object on the first line; a pretty-printed or one-line
    document does not parse as a message line."""
    f.seek(start)
    line = f.readline(_CHUNK)
    f.seek(start)
    try:
        obj = json.loads(line)
    except (ValueError, RecursionError):  # a document nested deeply: _json_items says so
        return False
    return isinstance(obj, dict) and is_message(obj)


def _message(msg: dict, base: dict):
    role = msg.get("role") if isinstance(msg.get("role"), str) else None
    if role is None:
        yield Record(EVENT, meta={"note": "not a message"}, **base)
        return
    content = msg.get("content")
    model = msg.get("model") if isinstance(msg.get("model"), str) else None
    common = dict(base, model=model, message_id=msg.get("id") if isinstance(msg.get("id"), str) else None)
    if role in ("tool", "function"):
        yield Record(TOOL_RESULT, "tool", _result_text(content),
                     tool_use_id=msg.get("tool_call_id") if isinstance(msg.get("tool_call_id"), str) else None,
                     tool_name=msg.get("name") if isinstance(msg.get("name"), str) else None, **common)
    elif isinstance(content, str):
        yield Record(TEXT, role, content, **common)
    elif isinstance(content, list):
        for part in content:
            yield from _part(part, role, common)
    calls = msg.get("tool_calls")
    for call in calls if isinstance(calls, list) else ():
        if isinstance(call, dict):
            fn = call.get("function") if isinstance(call.get("function"), dict) else {}
            name = fn.get("name") if isinstance(fn.get("name"), str) else None
            tool_input = arguments_of(fn.get("arguments"))
            yield Record(TOOL_USE, role, tool_name=name, tool_input=tool_input,
                         tool_use_id=call.get("id") if isinstance(call.get("id"), str) else None,
                         files=_files(name, tool_input), **common)
    call = msg.get("function_call")
    if isinstance(call, dict):
        name = call.get("name") if isinstance(call.get("name"), str) else None
        yield Record(TOOL_USE, role, tool_name=name, tool_input=arguments_of(call.get("arguments")), **common)
    usage = msg.get("usage")
    if isinstance(usage, dict):
        anthropic = "cache_read_input_tokens" in usage or "cache_creation_input_tokens" in usage or (
            "input_tokens" in usage and "total_tokens" not in usage)
        parsed = Usage.from_anthropic(usage) if anthropic else Usage.from_openai(usage)
        yield Record(USAGE, role, usage=parsed, **common)


def _part(part, role, common):
    if isinstance(part, str):
        yield Record(TEXT, role, part, **common)
        return
    if not isinstance(part, dict):
        return
    ptype = part.get("type")
    if ptype in ("text", "input_text", "output_text") or (ptype is None and isinstance(part.get("text"), str)):
        yield Record(TEXT, role, part.get("text") if isinstance(part.get("text"), str) else "", **common)
    elif ptype == "thinking":
        yield Record(THINKING, role, part.get("thinking") if isinstance(part.get("thinking"), str) else "", **common)
    elif ptype == "tool_use":
        name = part.get("name") if isinstance(part.get("name"), str) else None
        yield Record(TOOL_USE, role, tool_name=name, tool_input=part.get("input"),
                     tool_use_id=part.get("id") if isinstance(part.get("id"), str) else None,
                     files=_files(name, part.get("input")), **common)
    elif ptype == "tool_result":
        yield Record(TOOL_RESULT, role, _result_text(part.get("content")),
                     tool_use_id=part.get("tool_use_id") if isinstance(part.get("tool_use_id"), str) else None,
                     is_error=part.get("is_error") is True, **common)
    elif ptype in ("image", "image_url", "input_image", "document", "file", "input_file", "input_audio"):
        yield Record(IMAGE, role, meta={"block": ptype}, **common)
    else:
        yield Record(OTHER, role, json.dumps(part, ensure_ascii=False), meta={"block": ptype}, **common)


# -- incremental JSON -------------------------------------------------------------------------

class _Text:
    """Decoded text from a binary file, read on demand, with the line and byte offset of its start."""

    def __init__(self, f, offset: int):
        self.f = f
        self.decoder = codecs.getincrementaldecoder("utf-8-sig")("strict")
        self.buf = ""
        self.pos = 0
        self.line = 1
        self.offset = offset   # byte offset of buf[0]
        self.eof = False
        self.want = _CHUNK

    def more(self) -> bool:
        if self.eof:
            return False
        data = self.f.read(self.want)
        if self.want < 64 * _CHUNK:
            self.want *= 2  # one big element costs a few doublings, not a retry per chunk
        if not data:
            self.eof = True
            self.buf += self.decoder.decode(b"", final=True)
            return False
        self.buf += self.decoder.decode(data)
        return True

    def drop(self) -> None:
        """Forget what was consumed, keeping count of its lines and bytes."""
        if self.pos:
            done = self.buf[:self.pos]
            self.line += done.count("\n")
            self.offset += len(done.encode("utf-8"))
            self.buf = self.buf[self.pos:]
            self.pos = 0

    def skip_space(self) -> str:
        while True:
            while self.pos < len(self.buf) and self.buf[self.pos] in " \t\r\n":
                self.pos += 1
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            self.drop()
            if not self.more():
                return ""

    def where(self) -> tuple:
        done = self.buf[:self.pos]
        return self.line + done.count("\n"), self.offset + len(done.encode("utf-8"))

    def value(self, decoder=json.JSONDecoder()):
        """The next JSON value, reading more as needed; raises ValueError at the end of the file."""
        while True:
            try:
                obj, end = decoder.raw_decode(self.buf, self.pos)
            except ValueError:
                if len(self.buf) - self.pos > _lines.MAX_LINE or not self.more():
                    raise
                continue
            self.pos = end
            return obj


def _json_items(f, problems, path, stats, start_offset):
    """(line, offset, dict) per message of a JSON array or of an object's ``messages``; an
    Anthropic ``system`` comes first as {"__system__": ...}, a request's ``model`` where it
    is, as {"__model__": ...} (no message: readers skip it)."""
    text = _Text(f, start_offset)
    try:
        first = text.skip_space()
        if first == "[":
            text.pos += 1
            yield from _array(text, problems, path)
        elif first == "{":
            text.pos += 1
            system = None
            while True:
                c = text.skip_space()
                if c == "}" or c == "":
                    break
                if c == ",":
                    text.pos += 1
                    continue
                key = text.value()
                if text.skip_space() != ":":
                    raise ValueError("expected ':' after a key")
                text.pos += 1
                if text.skip_space() == "[" and key == "messages":
                    if system is not None:
                        line, offset = text.where()
                        yield line, offset, {"__system__": system}
                        system = None
                    text.pos += 1
                    yield from _array(text, problems, path)
                else:
                    value = text.value()
                    if key == "system":
                        system = value
                    elif key == "model" and isinstance(value, str):
                        line, offset = text.where()  # the request's model: its window, as compaction reads it
                        yield line, offset, {"__model__": value}
                    text.drop()
            if system is not None:
                line, offset = text.where()
                yield line, offset, {"__system__": system}
        else:
            raise ValueError("not a JSON array or object")
    except (ValueError, RecursionError) as exc:
        line, _ = text.where()
        problems.add(path, line, f"not valid JSON, reading stopped here: {str(exc)[:120]}")
    finally:
        if stats is not None:
            stats["lines"] = stats.get("lines", 0) + text.where()[0]
            stats["bytes"] = stats.get("bytes", 0) + text.where()[1] - start_offset


def _array(text: _Text, problems, path):
    index = 0
    while True:
        c = text.skip_space()
        if c == "]":
            text.pos += 1
            return
        if c == ",":
            text.pos += 1
            continue
        if c == "":
            raise ValueError("the array is not closed")
        line, offset = text.where()
        item = text.value()
        text.drop()
        index += 1
        if isinstance(item, dict):
            yield line, offset, item
        else:  # named by its place too: a list on one line has them all at line 1
            problems.add(path, line, f"element {index} of the message list is a JSON {type(item).__name__},"
                                     " not an object")
