"""Handlers of the context-window commands: usage, statusline. Each: parse, one call, render."""

from __future__ import annotations

import sys

from ..errors import EXIT_DEGRADED
from .output import Result, _ws

_SOURCES = {
    "usage": "the transcript's own usage figures (its last API response)",
    "counted": "counted: the records since the last compaction, plus the fixed prompt",
    "empty": "nothing in the transcript yet",
}


def cmd_usage(args) -> Result:
    reading = _ws().context_usage(args.transcript, model=args.model, window=args.window, exact=args.exact)
    data = reading.as_dict()
    data["chosen"] = reading.chosen
    source = _SOURCES.get(reading.source, reading.source)
    if reading.source == "counted" and reading.format == "chat":
        # `tether compact`'s figure, which decides its tiers: the two agree on the same list.
        source = ("counted: every string of the list (roles and ids too, and a request's system prompt),"
                  " as `tether compact` counts it")
    elif reading.source == "counted" and not reading.compacted:
        source = "counted: the whole transcript (no compaction in it), plus the fixed prompt"
    if reading.source == "counted":
        source += f" ({'tiktoken ' + reading.method.split(':', 1)[1] if reading.method.startswith('tiktoken') else 'estimate'})"
    # A live agent session compacts its own context: what the agent is to do, not the seed's tiers
    # (those are `tether compact`'s, for a message list).
    data["advice"] = reading.advice
    lines = [f"Context: {reading.tokens:,} of {reading.window:,} tokens ({reading.percent:.1f}%): {reading.state}",
             f"Action: {reading.advice}" if reading.advice else f"Action: {reading.action}. {reading.detail}",
             f"Transcript: {reading.path} ({reading.format or 'unknown format'}; {reading.chosen})",
             f"Model: {reading.model or 'not named'}; window from {reading.window_source}",
             f"From: {source}"]
    for problem in data["problems"]:
        sys.stderr.write(f"Warning: {problem}\n")
    if not data["problems"]:
        return Result(data, "\n".join(lines))
    # The figure leaves out what did not read: said, and degraded, so a script does not take it for whole.
    if reading.format == "chat":
        hint = ("the figure leaves out what did not read: fix the file at the line named (a message list is a"
                " JSON array of message objects, an object with \"messages\", or JSON Lines) and read it again")
    else:
        hint = ("the figure leaves out the lines named; a torn last line is one the agent is still writing:"
                " read it again")
    if not getattr(args, "json", False):
        sys.stderr.write(f"Hint: {hint}\n")
    return Result(data, "\n".join(lines), exit_code=EXIT_DEGRADED)


def cmd_statusline(args) -> Result | None:
    from ..hooks.statusline import handle

    if not getattr(args, "json", False):
        raise SystemExit(handle(sys.stdin, sys.stdout, sys.stderr))
    from ..hooks.statusline import read_status

    data = read_status(sys.stdin, sys.stderr)  # --json: the same line, as the one JSON object every command prints
    return Result(data, data["line"])
