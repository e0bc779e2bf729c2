"""A transcript as a stream of records, whatever its format.

    t = Transcript("~/.claude/projects/p/3f1e.jsonl", subagents=True)
    for record in t:            # streamed: a file of several GB is never held
        ...
    t.problems                  # the unreadable lines: counted, the first ones named
    t.stats                     # lines, bytes and record types read

Iterating again reads the file again (from a path; a file object is read once).
"""

from __future__ import annotations

import os

from . import chat, claude_code, codex
from .detect import CHAT, CLAUDE_CODE, CODEX, FORMATS, detect
from .lines import Opened
from .records import Problems

READERS = {CLAUDE_CODE: claude_code.read, CODEX: codex.read, CHAT: chat.read}


class Transcript:
    """One transcript file (a path, or a binary file object), read as :class:`~.records.Record`.

    ``format``: one of ``"claude-code"``, ``"codex"``, ``"chat"``, or None to detect it.
    ``subagents``: for a Claude Code session, also read ``<session>/subagents/*.jsonl`` after
    the session file (their records have ``sidechain`` set).
    """

    def __init__(self, source, format: str | None = None, *, subagents: bool = False, name: str | None = None,
                 keep_problems: int = 1000):
        if format is not None and format not in FORMATS:
            raise ValueError(f"unknown transcript format {format!r}: one of {', '.join(FORMATS)}")
        self.source = source
        self.format = format
        self.subagents = subagents
        self.name = name or (None if hasattr(source, "read") else os.fspath(source))
        self.keep_problems = keep_problems
        self.problems = Problems(keep_problems)
        self.stats: dict = {}
        self.files: list = []

    def __iter__(self):
        self.problems = Problems(self.keep_problems)
        self.stats = {}
        self.files = []
        fmt = yield from self._read(self.source, self.name, self.format)
        if fmt is not None and self.format is None:
            self.format = fmt
        if self.subagents and fmt == CLAUDE_CODE and self.name and not hasattr(self.source, "read"):
            for path in claude_code.subagent_paths(self.name):
                yield from self._read(path, path, CLAUDE_CODE)

    def _read(self, source, name, fmt):
        with Opened(source, name) as opened:
            self.files.append(opened.name)
            if fmt is None:
                fmt = detect(opened.file)
            if fmt is None:
                self.problems.add(opened.name, 1, "not a transcript format tether reads "
                                                  "(Claude Code, Codex, or a chat message list)")
                return None
            yield from READERS[fmt](opened.file, self.problems, opened.name, self.stats)
        return fmt

    def records(self) -> list:
        """Every record, in a list (for small transcripts and tests)."""
        return list(self)


def read(source, format: str | None = None, **options) -> Transcript:
    """A :class:`Transcript` of ``source`` (nothing is read until it is iterated)."""
    return Transcript(source, format, **options)
