"""The agent's last words: the text of the newest assistant message, and the newest compact
summary, read from the file's end.

Automatic checkpoints keep the first in their note (with its time, which says whether it is
newer than the last checkpoint); the drift check after a compaction reads the second. Reads back at most ``max_lines``
lines, so what it costs does not grow with the transcript. Claude Code (``assistant`` records'
text blocks) and Codex (``response_item`` messages and ``agent_message`` events); a line it
cannot read is passed over.

Imports only ``json`` and ``lines``: hooks read through this module.
"""

from __future__ import annotations

import json

from .lines import Opened, backward


def last_assistant_text(source, max_lines: int = 2000) -> str | None:
    """The newest assistant text in a transcript (a path or a binary file), or None."""
    found = last_assistant_message(source, max_lines)
    return found[0] if found is not None else None


def last_assistant_message(source, max_lines: int = 2000) -> tuple[str, str | None] | None:
    """The newest assistant text in a transcript and when it was written (the record's
    ``timestamp``, None when it has none), or None: whether it is newer than a checkpoint."""
    summary = None  # the Codex compaction summary just met, whose reply is read next
    replies: set = set()  # the replies that wrote the summaries met (Codex may echo one)
    with Opened(source) as opened:
        for count, (_, raw) in enumerate(backward(opened.file)):
            if count >= max_lines:
                return None
            if not raw or b"assistant" not in raw and b"agent_message" not in raw and b"compacted" not in raw:
                continue
            try:
                obj = json.loads(raw)
            except ValueError:
                continue
            if not isinstance(obj, dict):
                continue
            found = _codex_summary(obj)
            if found is not None:
                summary = found
                continue
            text = _text(obj)
            if not text:
                continue
            # Codex records the reply that wrote a compaction's summary as an assistant message
            # just before the `compacted` record that quotes it: that is not the agent's state.
            # Only that one: the summary may quote the agent's own last message too.
            key = text.strip()
            if summary is not None and key in summary:
                replies.add(key)
            if key not in replies:
                stamp = obj.get("timestamp")
                return text, stamp if isinstance(stamp, str) else None
            summary = None
    return None


def _codex_summary(obj: dict) -> str | None:
    payload = obj.get("payload")
    if obj.get("type") == "compacted" and isinstance(payload, dict) and isinstance(payload.get("message"), str):
        return payload["message"]
    return None


def _text(obj: dict) -> str | None:
    if obj.get("type") == "assistant" and not obj.get("isSidechain"):  # Claude Code
        message = obj.get("message")
        return _blocks(message.get("content")) if isinstance(message, dict) else None
    payload = obj.get("payload")
    if not isinstance(payload, dict):
        return None
    if obj.get("type") == "response_item" and payload.get("type") == "message" and payload.get("role") == "assistant":
        return _blocks(payload.get("content"))
    if obj.get("type") == "event_msg" and payload.get("type") == "agent_message":
        text = payload.get("message")
        return text.strip() or None if isinstance(text, str) else None
    return None


def _blocks(content) -> str | None:
    if isinstance(content, str):
        return content.strip() or None
    if not isinstance(content, list):
        return None
    parts = [b["text"] for b in content
             if isinstance(b, dict) and b.get("type") in ("text", "output_text") and isinstance(b.get("text"), str)]
    text = "\n".join(p for p in parts if p.strip()).strip()
    return text or None


def last_compact_summary(source, max_lines: int = 5000) -> str | None:
    """The newest compaction summary in a Claude Code transcript (the user record marked
    ``isCompactSummary``) or a Codex rollout (a ``compacted`` record's ``message``), or None."""
    with Opened(source) as opened:
        for count, (_, raw) in enumerate(backward(opened.file)):
            if count >= max_lines:
                return None
            if not raw or b"isCompactSummary" not in raw and b"compacted" not in raw:
                continue
            try:
                obj = json.loads(raw)
            except ValueError:
                continue
            if not isinstance(obj, dict):
                continue
            if obj.get("isCompactSummary") and isinstance(obj.get("message"), dict):
                text = _blocks(obj["message"].get("content"))
                if text:
                    return text
            summary = _codex_summary(obj)
            if summary is not None:
                return summary.strip() or None
    return None
