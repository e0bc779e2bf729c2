"""Tiers 1 and 2: large tool results and tool inputs out of the list, a stub in their place.

Tier 1 takes every tool result over a threshold (OpenAI ``role: tool`` messages, Anthropic
``tool_result`` blocks); tier 2 every string inside a tool call's input over a (smaller)
limit (Anthropic ``tool_use.input``, OpenAI ``tool_calls[].function.arguments``). What is
taken goes through ``put(data) -> (ref, digest, redactions)``, which the facade gives (it
redacts and stores); the stub says where it went, how big it was, and shows its head and tail.

The bytes kept are those of the text as the list held it (UTF-8), or, for a tool result whose
content is a list of blocks, that list as compact JSON. Pure functions over plain data.
"""

from __future__ import annotations

import json

from ..transcripts.tokens import IMAGE_TOKENS, media_units
from .messages import TETHER_MARK

HEAD, TAIL = 1200, 600          # characters of preview in a tier 1 stub
INPUT_HEAD, INPUT_TAIL = 300, 200


def stub(what: str, ref: str, digest: str, size: int, tokens: int, text: str, redactions: int, *,
         head: int = HEAD, tail: int = TAIL, json_list: bool = False) -> str:
    """The text left in place of offloaded content."""
    said = f", {redactions} secret{'s' if redactions != 1 else ''} redacted" if redactions else ""
    kind = " (a JSON list of content blocks)" if json_list else ""
    lines = [f"{TETHER_MARK}Offloaded {what}{kind}: {tokens:,} tokens, {size:,} bytes{said}.",
             f"Ref: {ref}  sha256:{digest}",
             f"Get it back: tether show {ref}"]
    if len(text) <= head + tail:
        lines += ["--- content ---", text]
    else:
        hidden = len(text) - head - tail
        lines += ["--- head ---", text[:head], f"--- {hidden:,} characters not shown ---", text[-tail:], "--- end ---"]
    return "\n".join(lines)


def is_stub(value) -> bool:
    return isinstance(value, str) and value.startswith(TETHER_MARK + "Offloaded ")


def _under(count, text: str, limit: int) -> bool:
    """Whether ``text`` is provably at most ``limit`` tokens without counting it: by the
    counter's own bound, else by four tokens a character (a byte-level BPE's most, and more than
    any counter's bound: a text that short needs no bound of its own)."""
    if 4 * len(text) <= limit:
        return True
    at_most = getattr(count, "at_most", None)
    bound = at_most(text) if at_most is not None else None
    return (bound if bound is not None else 4 * len(text)) <= limit


def _result_payload(content) -> tuple[str, str, bool, int] | None:
    """(text to count, text to keep, was a list, what its inline images and PDFs cost in images)
    of a tool result's content. An image or a PDF page counts as what the model pays for it, not
    its base64 text, and only the text decides whether the result is large: a screenshot or a PDF
    alone is no large result, and taking it out would leave the model a stub of base64 for it. The
    text to keep is encoded only when the result goes (most do not)."""
    if isinstance(content, str):
        return content, content, False, 0
    if isinstance(content, list):
        if len(content) == 1 and isinstance(content[0], dict) and content[0].get("type") == "text" \
                and isinstance(content[0].get("text"), str) and len(content[0]) == 2:
            text = content[0]["text"]
            return text, text, False, 0
        encoded = json.dumps(content, ensure_ascii=False, separators=(",", ":"))
        units = [media_units(block) if isinstance(block, dict) else 0 for block in content]
        if any(units):
            text = json.dumps([block for block, unit in zip(content, units) if not unit],
                              ensure_ascii=False, separators=(",", ":"))
            return text, encoded, True, sum(units)
        return encoded, encoded, True, 0
    return None


def tier1(messages: list, threshold: int, count, put) -> tuple[list, list]:
    """(new messages, what was offloaded): tool results of more than ``threshold`` tokens."""
    out, items = [], []

    def offload(content, where: dict):
        if is_stub(content):
            return None
        payload = _result_payload(content)
        if payload is None:
            return None
        text, kept, was_list, images = payload
        if _under(count, text, threshold):
            return None
        tokens = count(text)
        if tokens <= threshold:
            return None
        tokens += images * IMAGE_TOKENS  # what the model paid for all of it, said in the report
        data = kept.encode("utf-8", "surrogatepass")
        ref, digest, redacted, shown = put(data)
        text = stub("tool result", ref, digest, len(data), tokens, shown, redacted, json_list=was_list)
        items.append(dict(where, kind="tool_result", ref=ref, sha256=digest, bytes=len(data), tokens=tokens,
                          redactions=redacted, stub_tokens=count(text)))
        return text

    for index, msg in enumerate(messages):
        if msg.get("role") in ("tool", "function"):
            new = offload(msg.get("content"), {"message": index, "tool_call_id": msg.get("tool_call_id")})
            if new is not None:
                msg = dict(msg, content=new)
        elif isinstance(msg.get("content"), list):
            parts, changed = [], False
            for part in msg["content"]:
                if isinstance(part, dict) and part.get("type") == "tool_result":
                    new = offload(part.get("content"), {"message": index, "tool_use_id": part.get("tool_use_id")})
                    if new is not None:
                        part, changed = dict(part, content=new), True
                parts.append(part)
            if changed:
                msg = dict(msg, content=parts)
        out.append(msg)
    return out, items


def tier2(messages: list, limit: int, count, put) -> tuple[list, list]:
    """(new messages, what was truncated): strings inside tool inputs of more than ``limit`` tokens."""
    out, items = [], []

    def shrink(value, where: dict, key: str | None = None):
        """``value`` with its long strings replaced; None when nothing changed. ``key``: where in
        the input it is (``a.b[0]``), None at the top."""
        if isinstance(value, str):
            if is_stub(value) or _under(count, value, limit):
                return None
            tokens = count(value)
            if tokens <= limit:
                return None
            data = value.encode("utf-8", "surrogatepass")
            ref, digest, redacted, shown = put(data)
            text = stub("tool input", ref, digest, len(data), tokens, shown, redacted, head=INPUT_HEAD, tail=INPUT_TAIL)
            place = where if key is None else dict(where, key=key)
            items.append(dict(place, kind="tool_input", ref=ref, sha256=digest, bytes=len(data), tokens=tokens,
                              redactions=redacted, stub_tokens=count(text)))
            return text
        if isinstance(value, dict):
            changed = {}
            for name, item in value.items():
                if type(item) is str and _under(count, item, limit):
                    continue  # most values: short, and no key path built for them
                new = shrink(item, where, f"{key or ''}.{name}".lstrip("."))
                if new is not None:
                    changed[name] = new
            return {k: changed.get(k, v) for k, v in value.items()} if changed else None
        if isinstance(value, list):
            changed_list = [shrink(item, where, f"{key or ''}[{i}]") for i, item in enumerate(value)]
            if all(c is None for c in changed_list):
                return None
            return [c if c is not None else v for c, v in zip(changed_list, value)]
        return None

    def arguments(text, where):
        """OpenAI arguments: a JSON string; its long strings replaced, or the whole if it is not JSON."""
        if not isinstance(text, str):
            return None
        try:
            parsed = json.loads(text)
        except (json.JSONDecodeError, RecursionError):
            new = shrink(text, where)
            return None if new is None else json.dumps({"tether_offloaded": new}, ensure_ascii=False)
        new = shrink(parsed, where)
        return None if new is None else json.dumps(new, ensure_ascii=False)

    for index, msg in enumerate(messages):
        changed = False
        if isinstance(msg.get("content"), list):
            parts = []
            for part in msg["content"]:
                if isinstance(part, dict) and part.get("type") == "tool_use":
                    new = shrink(part.get("input"), {"message": index, "tool_use_id": part.get("id")})
                    if new is not None:
                        part, changed = dict(part, input=new), True
                parts.append(part)
            if changed:
                msg = dict(msg, content=parts)
        if isinstance(msg.get("tool_calls"), list):
            calls = []
            for call in msg["tool_calls"]:
                fn = call.get("function") if isinstance(call, dict) else None
                if isinstance(fn, dict):
                    new = arguments(fn.get("arguments"), {"message": index, "tool_call_id": call.get("id")})
                    if new is not None:
                        call, changed = dict(call, function=dict(fn, arguments=new)), True
                calls.append(call)
            if changed:
                msg = dict(msg, tool_calls=calls)
        if isinstance(msg.get("function_call"), dict):
            fn = msg["function_call"]
            new = arguments(fn.get("arguments"), {"message": index})
            if new is not None:
                msg = dict(msg, function_call=dict(fn, arguments=new))
        out.append(msg)
    return out, items
