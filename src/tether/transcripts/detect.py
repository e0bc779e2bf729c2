"""Which format a transcript is in, from its first lines only.

Imports nothing heavy (no ``json``: see model.fastjson): the usage hook detects the format of
the session's transcript before it reads it from the end.
"""

from __future__ import annotations

from ..model.fastjson import loads as _loads

CLAUDE_CODE = "claude-code"
CODEX = "codex"
CHAT = "chat"
FORMATS = (CLAUDE_CODE, CODEX, CHAT)

_FIRST = 64 * 1024
_HEAD = 1024 * 1024
_CLAUDE_TYPES = {"user", "assistant", "system", "summary", "progress", "file-history-snapshot",
                 "queue-operation", "attachment"}
_CODEX_TYPES = {"session_meta", "response_item", "event_msg", "turn_context", "compacted"}
_ROLES = {"system", "developer", "user", "assistant", "tool", "function", "model"}


def is_message(obj: dict) -> bool:
    """A chat message: a role, and content or tool calls."""
    role = obj.get("role")
    return type(role) is str and role in _ROLES and ("content" in obj or "tool_calls" in obj or "function_call" in obj)


def kind_of(obj: dict) -> str | None:
    """The format one parsed line belongs to, or None when it does not tell."""
    kind = obj.get("type")
    if type(kind) is not str:
        kind = None
    if "payload" in obj and kind in _CODEX_TYPES:
        return CODEX
    if ("instructions" in obj and "id" in obj and "timestamp" in obj) or obj.get("record_type") == "state":
        return CODEX  # the oldest rollouts, without an envelope
    if is_message(obj) and "message" not in obj and "sessionId" not in obj:
        return CHAT
    if kind in _CLAUDE_TYPES:
        return CLAUDE_CODE
    if isinstance(obj.get("message"), dict) and ("sessionId" in obj or "parentUuid" in obj or "requestId" in obj):
        return CLAUDE_CODE
    return None


def detect_head(head: bytes, whole: bool = True) -> str | None:
    """The format of a transcript whose first bytes are ``head``; ``whole``: the file ends there."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text[:1] == b"[":
        return CHAT
    if text[:1] != b"{":
        return None
    lines = text.split(b"\n")
    complete = lines if whole else lines[:-1]
    for line in complete[:200]:
        try:
            obj = _loads(line)
        except (ValueError, RecursionError):
            continue
        if isinstance(obj, dict):
            found = kind_of(obj)
            if found:
                return found
    # No whole line told: a line longer than the head, or a pretty-printed document.
    start = text[:65536]
    if b'"payload"' in start and any(b'"%s"' % t.encode() in start for t in _CODEX_TYPES):
        return CODEX
    if b'"sessionId"' in start or b'"parentUuid"' in start:
        return CLAUDE_CODE
    if b'"messages"' in start:
        return CHAT
    return None


def detect(f) -> str | None:
    """The format of an open binary file (its position is left where it was). Reads 64 KB,
    and up to 1 MB when the first lines are longer than that."""
    pos = f.tell()
    head = f.read(_FIRST)
    found = detect_head(head, len(head) < _FIRST)
    if found is None and len(head) == _FIRST:
        head += f.read(_HEAD - _FIRST)
        found = detect_head(head, len(head) < _HEAD)
    f.seek(pos)
    return found
