"""Claude Code session transcripts (``~/.claude/projects/<project>/<session>.jsonl``).

One JSON object per line. The lines that hold the conversation are ``user`` and
``assistant`` records whose ``message`` is an Anthropic Messages API message; ``system``
records carry compact boundaries (``subtype: compact_boundary``) among other notices; the
user record right after a boundary with ``isCompactSummary`` holds the summary. Everything
else (``progress``, ``file-history-snapshot``, ``queue-operation``, types to come) becomes an
``EVENT`` record. The format is internal to Claude Code and changes between versions, so
unknown record types, block types and fields are carried, never an error.

One API response is written as several lines (one per content block, as it streams) that
share ``message.id`` and each repeat the response's ``usage``; the last line has the final
``output_tokens``. The reader yields one ``USAGE`` record per response, with the last line's
figures, when that response is over: when the next response of the same chain (main or one
subagent) starts, or at the end of the file. A response written again later (a resumed
session copies its history) gives a USAGE record marked ``meta["replayed"]``, which
:func:`~.usage.totals` does not count.

Subagents: newer versions write each subagent to ``<session>/subagents/agent-<id>.jsonl``
(every line ``isSidechain: true``); older ones write them inline in the session file.
:func:`subagent_paths` finds the files.
"""

from __future__ import annotations

import json
import os

from . import lines as _lines
from .records import (COMPACT_BOUNDARY, EDIT_TOOLS, EVENT, IMAGE, OTHER, SUMMARY, TEXT, THINKING, TITLE,
                      TOOL_RESULT, TOOL_USE, USAGE, Record, Usage)

FORMAT = "claude-code"
_RECENT_IDS = 4096  # responses already counted, remembered in case one reappears out of order


def subagent_paths(path) -> list:
    """The subagent transcripts of a session file: ``<session>/subagents/*.jsonl``, sorted."""
    path = os.fspath(path)
    folder = os.path.join(os.path.splitext(path)[0], "subagents")
    try:
        names = sorted(n for n in os.listdir(folder) if n.endswith(".jsonl"))
    except OSError:
        return []
    return [os.path.join(folder, n) for n in names]


def read(f, problems, path: str | None = None, stats: dict | None = None, start_offset: int = 0,
         start_line: int = 1):
    """Records of one Claude Code transcript file, in order."""
    open_usage: dict = {}          # chain -> [message_id, Usage, Record template]
    counted: dict = {}             # ids of responses counted, oldest first
    types = stats.setdefault("types", {}) if stats is not None else None
    for number, offset, obj in _lines.objects(f, problems, path, start_offset, start_line, stats=stats):
        kind = obj.get("type")
        if types is not None:
            key = kind if isinstance(kind, str) else "(none)"
            types[key] = types.get(key, 0) + 1
        sidechain = obj.get("isSidechain") is True
        agent_id = obj.get("agentId") if isinstance(obj.get("agentId"), str) else None
        base = dict(uuid=_str(obj.get("uuid")), parent_uuid=_str(obj.get("parentUuid")),
                    timestamp=_str(obj.get("timestamp")), sidechain=sidechain, agent_id=agent_id,
                    path=path, line=number, offset=offset)
        message = obj.get("message")
        if kind in ("user", "assistant") or (kind is None and isinstance(message, dict)):
            if not isinstance(message, dict):
                yield Record(EVENT, meta={"type": kind, "note": "no message"}, **base)
                continue
            role = message.get("role") if isinstance(message.get("role"), str) else (kind or "assistant")
            model = _str(message.get("model"))
            message_id = _str(message.get("id"))
            usage = message.get("usage")
            if isinstance(usage, dict) and model != "<synthetic>":
                chain = (sidechain, agent_id)
                current = open_usage.get(chain)
                if current is not None and current[0] != message_id:
                    yield _usage_record(current)
                    del open_usage[chain]
                    current = None
                entry = [message_id, Usage.from_anthropic(usage),
                         dict(base, model=model, message_id=message_id,
                              meta={"request_id": obj.get("requestId")} if obj.get("requestId") else None)]
                if current is not None:
                    entry[2]["meta"] = current[2]["meta"]
                    open_usage[chain] = entry  # a later line of the same response: its figures are final
                elif message_id is None:
                    yield _usage_record(entry)  # nothing to pair it with: count it as it is
                elif message_id in counted:
                    # A response already counted, written again (a resumed or branched session
                    # copies its history): kept for where it stands, marked so totals skip it.
                    entry[2]["meta"] = dict(entry[2]["meta"] or {}, replayed=True)
                    open_usage[chain] = entry
                    if stats is not None:
                        stats["replayed_responses"] = stats.get("replayed_responses", 0) + 1
                else:
                    open_usage[chain] = entry
                    counted[message_id] = None
                    if len(counted) > _RECENT_IDS:
                        del counted[next(iter(counted))]
            yield from _content(message.get("content"), role, obj, model, message_id, base)
        elif kind == "system":
            subtype = obj.get("subtype")
            if subtype == "compact_boundary":
                meta = obj.get("compactMetadata") if isinstance(obj.get("compactMetadata"), dict) else {}
                yield Record(COMPACT_BOUNDARY, "system", _str(obj.get("content")) or "",
                             meta={"trigger": meta.get("trigger"), "pre_tokens": meta.get("preTokens"),
                                   "logical_parent_uuid": obj.get("logicalParentUuid")}, **base)
            else:
                yield Record(EVENT, "system", _str(obj.get("content")) or "", meta={"type": "system", "subtype": subtype},
                             **base)
        elif kind == "summary":
            # A session title for the resume list, not a compaction summary.
            yield Record(TITLE, None, _str(obj.get("summary")) or "", meta={"leaf_uuid": obj.get("leafUuid")}, **base)
        else:
            meta = {"type": kind}
            data = obj.get("data")
            if isinstance(data, dict) and isinstance(data.get("type"), str):
                meta["subtype"] = data["type"]
            yield Record(EVENT, None, meta=meta, **base)
    for entry in open_usage.values():
        yield _usage_record(entry)


def _usage_record(entry) -> Record:
    return Record(USAGE, "assistant", usage=entry[1], **entry[2])


def _content(content, role, obj, model, message_id, base):
    compact_summary = obj.get("isCompactSummary") is True
    meta = {"meta": True} if obj.get("isMeta") is True else None
    common = dict(base, model=model, message_id=message_id)
    if isinstance(content, str):
        yield Record(SUMMARY if compact_summary else TEXT, role, content, meta=meta, **common)
        return
    if not isinstance(content, list):
        yield Record(EVENT, role, meta={"type": obj.get("type"), "note": "no content"}, **common)
        return
    for block in content:
        if not isinstance(block, dict):
            if isinstance(block, str):
                yield Record(TEXT, role, block, meta=meta, **common)
            continue
        btype = block.get("type")
        if btype == "text":
            yield Record(SUMMARY if compact_summary else TEXT, role, _str(block.get("text")) or "", meta=meta, **common)
        elif btype in ("tool_use", "server_tool_use", "mcp_tool_use"):
            name = _str(block.get("name"))
            tool_input = block.get("input")
            yield Record(TOOL_USE, role, tool_name=name, tool_input=tool_input, tool_use_id=_str(block.get("id")),
                         files=_files(name, tool_input), meta={"block": btype} if btype != "tool_use" else None,
                         **common)
        elif btype == "tool_result" or (isinstance(btype, str) and btype.endswith("_tool_result")):
            yield Record(TOOL_RESULT, role, _result_text(block.get("content")),
                         tool_use_id=_str(block.get("tool_use_id")), is_error=block.get("is_error") is True,
                         meta={"block": btype} if btype != "tool_result" else None, **common)
        elif btype == "thinking":
            yield Record(THINKING, role, _str(block.get("thinking")) or "", **common)
        elif btype == "redacted_thinking":
            yield Record(THINKING, role, "", meta={"redacted": True}, **common)
        elif btype in ("image", "document"):
            yield Record(IMAGE, role, meta={"block": btype}, **common)
        else:
            yield Record(OTHER, role, json.dumps(block, ensure_ascii=False), meta={"block": btype}, **common)


def _result_text(content) -> str:
    """A tool result's text as the model receives it: a string, or the text parts of a list."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                parts.append(part["text"])
            elif isinstance(part, str):
                parts.append(part)
        return "\n".join(parts)
    return ""


def _files(name, tool_input) -> tuple:
    key = EDIT_TOOLS.get(name)
    if key and isinstance(tool_input, dict) and isinstance(tool_input.get(key), str):
        return (tool_input[key],)
    return ()


def _str(value):
    return value if isinstance(value, str) else None
