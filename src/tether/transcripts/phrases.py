"""Phrases that ask for something to be kept ("remember this", "we should not lose this") in the
messages of a transcript, newest first, read from the file's end.

`tether audit` reads the recent sessions' transcripts with this: a phrase with nothing offloaded
after it is an obligation forgotten (seed 000). Only the people's and the agent's own words count
(Claude Code ``user`` and ``assistant`` records, Codex messages), not tool output, which quotes
anything. Reads back at most ``max_lines`` lines, so the cost does not grow with the transcript.
"""

from __future__ import annotations

import json

from .last_words import _blocks
from .lines import Opened, backward


def find(source, phrases: list[str], max_lines: int = 5000) -> list[dict]:
    """Each message that holds one of ``phrases`` (lower case, single-spaced), newest first:
    {"offset", "at" (the record's timestamp, or None), "phrase", "excerpt"}."""
    wanted = [[w.encode("utf-8") for w in p.split()] for p in phrases]
    found = []
    with Opened(source) as opened:
        for count, (offset, raw) in enumerate(backward(opened.file)):
            if count >= max_lines:
                break
            if not raw:
                continue
            lowered = raw.lower()
            if not any(all(w in lowered for w in words) for words in wanted):
                continue  # the common case: no parse
            try:
                obj = json.loads(raw)
            except ValueError:
                continue
            text = _message_text(obj) if isinstance(obj, dict) else None
            if not text:
                continue
            flat = " ".join(text.lower().split())
            for phrase in phrases:
                at = flat.find(phrase)
                if at >= 0:
                    start = max(0, at - 60)
                    found.append({"offset": offset, "at": obj.get("timestamp") if isinstance(obj.get("timestamp"), str)
                                  else None, "phrase": phrase,
                                  "excerpt": ("..." if start else "") + " ".join(text.split())[start:at + len(phrase) + 60]})
                    break
    return found


def line_of(source, offset: int) -> int:
    """The line number (from 1) of the line that starts at ``offset``."""
    with Opened(source) as opened:
        f = opened.file
        f.seek(0)
        lines, left = 1, offset
        while left > 0:
            block = f.read(min(left, 1 << 20))
            if not block:
                break
            lines += block.count(b"\n")
            left -= len(block)
        return lines


def _message_text(obj: dict) -> str | None:
    kind = obj.get("type")
    if kind in ("user", "assistant") and not obj.get("isSidechain"):  # Claude Code
        message = obj.get("message")
        if not isinstance(message, dict):
            return None
        content = message.get("content")
        if isinstance(content, list):  # a tool's result comes back as a user record: not anyone's words
            content = [b for b in content if isinstance(b, dict) and b.get("type") == "text"]
        return _blocks(content)
    payload = obj.get("payload")
    if not isinstance(payload, dict):
        return None
    if kind == "response_item" and payload.get("type") == "message" and payload.get("role") in ("user", "assistant"):
        return _blocks(payload.get("content"))
    if kind == "event_msg" and payload.get("type") in ("agent_message", "user_message"):
        text = payload.get("message")
        return text if isinstance(text, str) else None
    return None
