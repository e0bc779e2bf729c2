"""Codex CLI rollout transcripts (``~/.codex/sessions/YYYY/MM/DD/rollout-*.jsonl``).

One JSON object per line, ``{"timestamp", "type", "payload"}``:

- ``response_item``: what the model saw and said (``message``, ``reasoning``,
  ``function_call`` / ``custom_tool_call`` / ``local_shell_call`` and their outputs);
- ``event_msg``: what the UI showed, among them ``token_count`` (the model's own usage, with
  ``last_token_usage``, ``total_token_usage`` and ``model_context_window``) and copies of the
  conversation's text (``user_message``, ``agent_message``, ``agent_reasoning``);
- ``compacted``: the summary that replaced the history (a boundary, then the summary, then
  the ``replacement_history`` newer versions write: the new context's items);
- ``session_meta``, ``turn_context`` (the model of each turn), and types to come: events.

Text appears twice, as an ``event_msg`` and as a ``response_item``, in either order; the
first one is kept and its twin dropped (matched on role and text, within one turn).
``token_count`` events repeat when only the rate limits changed; a repeat (the same
``total_token_usage``) is not counted again.

The oldest rollouts had no envelope: a first line with the session's ``id`` and then bare
response items; those are read too.
"""

from __future__ import annotations

import json

from . import lines as _lines
from .records import (COMPACT_BOUNDARY, EVENT, IMAGE, OTHER, SUMMARY, TEXT, THINKING, TOOL_RESULT,
                      TOOL_USE, USAGE, Record, Usage, arguments_of)
from .windows import reported_window

FORMAT = "codex"

_ITEM_TYPES = {"message", "reasoning", "function_call", "function_call_output", "custom_tool_call",
               "custom_tool_call_output", "local_shell_call", "web_search_call", "tool_search_call",
               "tool_search_output", "image_generation_call"}
_ECHOES = {"user_message": ("user", TEXT), "agent_message": ("assistant", TEXT),
           "agent_reasoning": ("assistant", THINKING)}
_TURN_ENDS = {"task_started", "task_complete", "turn_aborted"}
def read(f, problems, path: str | None = None, stats: dict | None = None, start_offset: int = 0,
         start_line: int = 1):
    """Records of one Codex rollout, in order."""
    seen: dict = {}     # (type, payload type) -> lines, for stats
    try:
        yield from _read(f, problems, path, stats, start_offset, start_line, seen)
    finally:
        if stats is not None:
            types = stats.setdefault("types", {})
            for (kind, sub), n in seen.items():
                key = f"{kind}/{sub}" if isinstance(sub, str) else (kind if isinstance(kind, str) else "(none)")
                types[key] = types.get(key, 0) + n


def _read(f, problems, path, stats, start_offset, start_line, seen):
    model = None
    window = None
    last_total = None
    echoes: dict = {}   # (role, kind, text) -> [source, count] not yet matched by their twin
    for number, offset, obj in _lines.objects(f, problems, path, start_offset, start_line, stats=stats):
        kind = obj.get("type")
        payload = obj.get("payload")
        if payload is None and type(kind) is str and kind in _ITEM_TYPES:
            kind, payload = "response_item", obj  # the envelope-less format
        if type(payload) is not dict:
            payload = {}
        ptype = payload.get("type")
        if type(ptype) is not str:
            ptype = None
        if type(kind) is not str:
            kind = None
        key = (kind, ptype)
        try:
            seen[key] += 1
        except KeyError:
            seen[key] = 1
        timestamp = obj.get("timestamp")
        base = {"timestamp": timestamp if type(timestamp) is str else None, "path": path, "line": number,
                "offset": offset}
        if kind == "response_item":
            for record in _item(payload, model, base):
                if record.kind in (TEXT, THINKING) and _echoed(echoes, "item", record):
                    continue
                yield record
        elif kind == "event_msg":
            if ptype == "token_count":
                info = payload.get("info")
                if not isinstance(info, dict):
                    yield Record(EVENT, meta={"type": "event_msg", "subtype": ptype}, model=model, **base)
                    continue
                window = reported_window(info.get("model_context_window")) or window
                total = info.get("total_token_usage")
                if total is not None and total == last_total:
                    if stats is not None:
                        stats["repeated_token_counts"] = stats.get("repeated_token_counts", 0) + 1
                    continue
                last_total = total
                last = info.get("last_token_usage")
                usage = Usage.from_openai(last if isinstance(last, dict) else {}, window=window)
                meta = {"total": total} if isinstance(total, dict) else None   # the session's running total, as written
                yield Record(USAGE, "assistant", usage=usage, model=_str(info.get("model")) or model, meta=meta,
                             **base)
            elif ptype in _ECHOES:
                role, rkind = _ECHOES[ptype]
                text = _str(payload.get("message")) or _str(payload.get("text")) or ""
                record = Record(rkind, role, text, model=model, meta={"echo": ptype}, **base)
                if not _echoed(echoes, "event", record):
                    yield record
            else:
                if ptype in _TURN_ENDS:
                    echoes.clear()
                    window = reported_window(payload.get("model_context_window")) or window
                yield Record(EVENT, meta={"type": "event_msg", "subtype": ptype}, model=model, **base)
        elif kind == "compacted":
            summary = _str(payload.get("message")) or ""
            yield Record(COMPACT_BOUNDARY, "system", meta={"trigger": payload.get("trigger")}, model=model, **base)
            yield Record(SUMMARY, "user", summary, model=model, **base)
            # Newer versions write the history that replaced the old one (the initial context,
            # the user's recent messages, the summary): it is the new context, so it is read
            # as records, all but the summary already read above.
            for item in _list(payload.get("replacement_history")):
                if isinstance(item, dict):
                    for record in _item(item, model, base):
                        if record.kind == TEXT and summary and record.text.strip() == summary.strip():
                            continue
                        record.meta = dict(record.meta or {}, replacement=True)
                        yield record
            echoes.clear()
        elif kind == "turn_context":
            model = _str(payload.get("model")) or model
            yield Record(EVENT, meta={"type": kind}, model=model, **base)
        else:
            meta = {"type": kind}
            if isinstance(ptype, str):
                meta["subtype"] = ptype
            elif kind is None and "id" in obj:
                meta["type"] = "session_meta"
            yield Record(EVENT, meta=meta, model=model, **base)


def _echoed(echoes: dict, source: str, record: Record) -> bool:
    """True when ``record`` is the twin of one already yielded from the other source."""
    key = (record.role, record.kind, record.text.strip())
    entry = echoes.get(key)
    if entry is not None and entry[0] != source and entry[1] > 0:
        entry[1] -= 1
        return True
    if entry is None or entry[0] != source:
        echoes[key] = [source, 1]
    else:
        entry[1] += 1
    if len(echoes) > 256:  # a turn without an end marker: keep the newest
        echoes.pop(next(iter(echoes)))
    return False


def _item(payload: dict, model, base):
    ptype = payload.get("type")
    if ptype == "message":
        role = _str(payload.get("role")) or "assistant"
        content = payload.get("content")
        if isinstance(content, str):
            yield Record(TEXT, role, content, model=model, message_id=_str(payload.get("id")), **base)
            return
        texts = []
        for part in content if isinstance(content, list) else ():
            if not isinstance(part, dict):
                continue
            if isinstance(part.get("text"), str):
                texts.append(part["text"])
            elif part.get("type") in ("input_image", "image", "output_image"):
                yield Record(IMAGE, role, model=model, meta={"block": part.get("type")}, **base)
        yield Record(TEXT, role, "\n".join(texts), model=model, message_id=_str(payload.get("id")), **base)
    elif ptype == "reasoning":
        parts = [p.get("text") for p in _list(payload.get("summary")) if isinstance(p, dict)]
        parts += [p.get("text") for p in _list(payload.get("content")) if isinstance(p, dict)]
        text = "\n".join(p for p in parts if isinstance(p, str))
        meta = {"encrypted": True} if payload.get("encrypted_content") else None
        yield Record(THINKING, "assistant", text, model=model, meta=meta, **base)
    elif ptype in ("function_call", "custom_tool_call", "local_shell_call", "web_search_call", "tool_search_call",
                   "image_generation_call"):
        name = _str(payload.get("name")) or ptype.replace("_call", "")
        if ptype == "function_call":
            tool_input = arguments_of(payload.get("arguments"))
        elif ptype == "custom_tool_call":
            tool_input = payload.get("input")
        else:
            tool_input = payload.get("action") if payload.get("action") is not None else payload.get("arguments")
        yield Record(TOOL_USE, "assistant", tool_name=name, tool_input=tool_input,
                     tool_use_id=_str(payload.get("call_id")) or _str(payload.get("id")),
                     files=_patched_files(tool_input), model=model,
                     meta={"item": ptype} if ptype != "function_call" else None, **base)
    elif ptype in ("function_call_output", "custom_tool_call_output", "tool_search_output"):
        text, is_error = _output(payload.get("output"))
        yield Record(TOOL_RESULT, "tool", text, tool_use_id=_str(payload.get("call_id")), is_error=is_error,
                     model=model, meta={"item": ptype} if ptype != "function_call_output" else None, **base)
    else:
        yield Record(OTHER, "assistant", json.dumps(payload, ensure_ascii=False), model=model,
                     meta={"item": ptype}, **base)




def _output(output):
    """A tool output's text and whether it failed: a string, or {"content", "success"}."""
    if isinstance(output, str):
        return output, False
    if isinstance(output, dict):
        content = output.get("content")
        text = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
        return text, output.get("success") is False
    if isinstance(output, list):
        return "\n".join(p.get("text", "") for p in output if isinstance(p, dict) and isinstance(p.get("text"), str)), False
    return "", False


def _patched_files(tool_input) -> tuple:
    """Files an apply_patch call changes, from the patch's own headers."""
    from .tools import patched_files

    if isinstance(tool_input, dict):
        command = tool_input.get("command") if "command" in tool_input else tool_input.get("input")
        if isinstance(command, list):
            command = "\n".join(c for c in command if isinstance(c, str))
        tool_input = command
    return patched_files(tool_input)


def _str(value):
    return value if isinstance(value, str) else None


def _list(value):
    return value if isinstance(value, list) else ()
