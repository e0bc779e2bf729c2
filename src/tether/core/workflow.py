"""What an agent must know to keep tether current: the few steps of its side of the loop.

One table, two renderings: `tether install claude-code`/`codex` write the commands into the marked
section of CLAUDE.md or AGENTS.md (``agent_lines``), and `tether mcp` gives the tool calls as its
instructions (``mcp_instructions``), so an agent on either side is taught the same loop. Plain
lines, no rendering.
"""

from __future__ import annotations

# (when, the command line, the MCP tool call); a step one side does not need is None there.
LOOP = (
    # The hooks brief a session that starts; over MCP alone, nothing does unless the agent asks.
    ("at the start of a session", None, "call `brief` (the tasks, where to resume, decisions, entries)"),
    ("after each step",
     '`tether checkpoint --done N --state "what is true now" --next "the next action"`\n'
     '  (`--file "path: what changed"`, `--result NAME=@FILE` for results worth keeping)',
     '`checkpoint` (done="N", state="what is true now", next=["the next action"]; files, note, data)'),
    ("a choice others must not undo",
     '`tether decide "question?" --decision "..." --rationale "..."`',
     '`decisions` (action="decide", question, decision, rationale)'),
    ("a trap or a rule",
     '`tether note gotcha "..."`, `tether note dont "..."`, `tether note blocker "..."`',
     '`notes` (action="add", kind="gotcha", "dont" or "blocker", text)'),
    ("new work",
     '`tether task start "title" --steps "..."` (repeat --steps/--items per entry); done: `tether task complete`',
     '`tasks` (action="start", title, steps or items); done: `tasks` (action="complete")'),
    ("end of the session",
     '`tether close --summary "what was done" --next "what comes next" --commit`',
     '`close` (summary="what was done", next_steps=["what comes next"], commit=true)'),
    ("lost the thread (after a compaction, or unsure)",
     "run `tether boot`, then `tether resume`",
     "call `brief`, then `resume`"),
)

WHY = "A compaction or a new session forgets everything else, so:"


def agent_lines() -> list[str]:
    """The agent's instructions, as Markdown lines (a heading and a short list)."""
    return [
        "## tether: keep this session's work recoverable",
        "",
        "This repository uses tether: tasks, checkpoints and decisions live in `.tether/`, and each",
        f"session starts from a brief of them. {WHY}",
        "",
        *(line for when, command, _ in LOOP if command for line in f"- {when}: {command}".splitlines()),
    ]


def mcp_instructions() -> str:
    """The MCP server's instructions: the same loop, as tool calls."""
    return "\n".join([
        "tether keeps this repository's tasks, checkpoints, decisions and context entries in `.tether/`."
        f" {WHY}",
        *(f"- {when}: {call}" for when, _, call in LOOP if call),
        "`resume` says exactly where to continue; `tasks` lists, starts, completes, switches and reopens tasks."
        " Errors carry a hint: follow it.",
    ])
