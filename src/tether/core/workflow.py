"""What an agent must know to keep tether current: the few commands of its side of the loop.

One text, used by `tether install claude-code` (the marked section of CLAUDE.md or AGENTS.md) and
open to the brief: plain lines, no rendering.
"""

from __future__ import annotations


def agent_lines() -> list[str]:
    """The agent's instructions, as Markdown lines (a heading and a short list)."""
    return [
        "## tether: keep this session's work recoverable",
        "",
        "This repository uses tether: tasks, checkpoints and decisions live in `.tether/`, and each",
        "session starts from a brief of them. A compaction or a new session forgets everything else, so:",
        "",
        '- after each step: `tether checkpoint --done N --state "what is true now" --next "the next action"`',
        '  (`--file "path: what changed"`, `--result NAME=@FILE` for results worth keeping)',
        '- a choice others must not undo: `tether decide "question?" --decision "..." --rationale "..."`',
        '- a trap or a rule: `tether note gotcha "..."`, `tether note dont "..."`, `tether note blocker "..."`',
        "- new work: `tether task start \"title\" --steps \"...\"` (repeat --steps/--items per entry);"
        " done: `tether task complete`",
        '- end of the session: `tether close --summary "what was done" --next "what comes next" --commit`',
        "- lost the thread (after a compaction, or unsure): run `tether boot`, then `tether resume`",
    ]
