"""Agent transcripts read as streams of records, and how full the context is.

Reads Claude Code sessions (with their subagent files), Codex CLI rollouts, and plain
OpenAI/Anthropic message lists, line by line, tolerant of record types and fields it does
not know; a line it cannot read is counted and named (path and line), never fatal.

Modules:
``tools`` (the tool names that change files), ``records`` (the record model: :class:`Record`, :class:`Usage`, :class:`Problem`; pure data),
``lines`` (a file's lines forward or from the end, and unreadable lines reported),
``detect`` (which format a file is in, from its first lines),
``claude_code``, ``codex`` and ``chat`` (one reader per format),
``transcript`` (:class:`Transcript`: any format, detected, as one stream),
``tokens`` (counting: tiktoken when asked, else a fast estimate),
``windows`` (the context window of a model), ``states`` (GREEN..CRITICAL and their actions),
``usage`` (:func:`context_usage`: tokens in the context now, read from the file's end),
and ``last_words`` (:func:`last_assistant_text`, :func:`last_assistant_message` (with its
time), :func:`last_compact_summary`: the newest assistant message and compaction summary, from
the end).

Nothing is imported until it is used: the usage hook needs ``usage`` and the plain modules
it reads through, never tiktoken or the readers.
"""

__all__ = [
    "Transcript", "read", "detect_format", "Record", "Usage", "Problem", "ContextUsage", "context_usage",
    "from_records", "totals", "window_for", "state_for", "estimate", "counter", "TokenizerUnavailable",
    "subagent_paths", "last_assistant_text", "last_assistant_message", "last_compact_summary",
]

_WHERE = {
    "Transcript": "transcript", "read": "transcript", "Record": "records", "Usage": "records",
    "Problem": "records", "ContextUsage": "usage", "context_usage": "usage", "from_records": "usage",
    "totals": "usage", "window_for": "windows", "state_for": "states", "estimate": "tokens",
    "counter": "tokens", "TokenizerUnavailable": "tokens", "subagent_paths": "claude_code",
    "last_assistant_text": "last_words", "last_assistant_message": "last_words",
    "last_compact_summary": "last_words",
}


def detect_format(source):
    """The format of a transcript (a path or a binary file object): ``"claude-code"``,
    ``"codex"``, ``"chat"``, or None."""
    from .detect import detect
    from .lines import Opened

    with Opened(source) as opened:
        return detect(opened.file)


def __getattr__(name: str):
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'tether.transcripts' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
