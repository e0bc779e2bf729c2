"""Command registration: the argparse parser of every command, each handler imported when it runs
(task_commands, session_commands, ctx). What the handlers share is in output."""

from __future__ import annotations

import argparse

from ..errors import UsageError


class Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse would print usage and exit(2) itself
        raise UsageError(message, hint=f"run `{self.prog} --help`")


# -- registration ----------------------------------------------------------------------

def _lazy(module: str, name: str, *args):
    """A handler imported when it runs: `tether checkpoint` loads no other command's module."""
    def handler(parsed):
        from importlib import import_module

        target = getattr(import_module(f".{module}", __package__), name)
        return (target(*args) if args else target)(parsed)
    return handler


def register(sub, common, only: str | None = None) -> None:
    """Add the commands; with ``only``, just that one (a fast start for boot and hooks)."""
    def want(name: str) -> bool:
        return only is None or name == only

    def add(parent, name, handler, help_text, **kw):
        p = parent.add_parser(name, parents=[common], help=help_text, description=help_text,
                              formatter_class=common.formatter_class, **kw)
        p.set_defaults(handler=handler)
        return p

    if want("init"):
        p = add(sub, "init", _lazy("task_commands", "cmd_init"), "Create the workspace (.tether/) at the repository root; idempotent.")
        p.add_argument("--reading-order", nargs="*", metavar="PATH", help="key docs a new session should read, in order")
    if want("config"):
        p = add(sub, "config", _lazy("task_commands", "cmd_config"), "Show the workspace configuration.")
        p.add_argument("--device", metavar="LABEL", help="label this machine's checkpoints (e.g. Laptop); kept in "
                                                         ".tether/local/, never committed (default: none)")

    if want("task"):
        task = sub.add_parser("task", formatter_class=common.formatter_class, help="Start, inspect, list and close tasks.", description="Work with tasks.")
        tsub = task.add_subparsers(dest="task_command", metavar="ACTION", required=True, parser_class=Parser)
        p = add(tsub, "start", _lazy("task_commands", "cmd_task_start"), "Start a task with steps or bulk items; it becomes the active task.")
        p.add_argument("title")
        p.add_argument("--definition", "-d", help="the original request, in full")
        p.add_argument("--criteria", "-c", action="append", metavar="TEXT", help="a success criterion (repeatable)")
        p.add_argument("--steps", "-s", action="append", metavar="TEXT", help="an ordered step (repeatable)")
        p.add_argument("--steps-file", action="append", metavar="FILE", help="steps, one per line ('-' for stdin)")
        p.add_argument("--items", "-i", action="append", metavar="TEXT", help="a bulk item (repeatable)")
        p.add_argument("--items-file", action="append", metavar="FILE", help="bulk items, one per line ('-' for stdin)")
        p.add_argument("--id", help="your own task id, e.g. T004 (default: generated, collision-free)")
        p = add(tsub, "status", _lazy("task_commands", "cmd_task_status"), "Show a task (default: the active one), its progress and checkpoints.")
        p.add_argument("task", nargs="?")
        p.add_argument("--checkpoint", metavar="CKP", help="print one checkpoint (CKP-0003, 3 or its full name)")
        p = add(tsub, "list", _lazy("task_commands", "cmd_task_list"), "List open tasks (--all: every task); * marks the active one.")
        p.add_argument("--all", action="store_true")
        for name, status, verb, help_text in (
                ("clear", "archived", "Archived", "Archive a task (never deletes): it leaves the open list."),
                ("complete", "complete", "Completed", "Mark a task complete."),
                ("reopen", "open", "Reopened", "Reopen a completed or archived task (default: the one closed last).")):
            p = add(tsub, name, _lazy("task_commands", "_set_status", status, verb), help_text)
            p.add_argument("task", nargs="?")
        p = add(tsub, "switch", _lazy("task_commands", "cmd_task_switch"), "Make an open task the active one on this machine.")
        p.add_argument("task")

    if want("checkpoint"):
        p = add(sub, "checkpoint", _lazy("task_commands", "cmd_checkpoint"), "Save a numbered checkpoint of the active task (or --task).")
        from .task_commands import CHECKPOINT_OPTIONS

        for flags, options in CHECKPOINT_OPTIONS:
            p.add_argument(*flags, **options)

    if want("resume"):
        p = add(sub, "resume", _lazy("task_commands", "cmd_resume"), "Say exactly where to continue (default: the active task).")
        p.add_argument("task", nargs="?")

    if want("decide"):
        p = add(sub, "decide", _lazy("task_commands", "cmd_decide"), "Record a decision (question, decision, rationale, who, when); --list shows them.")
        p.add_argument("question", nargs="?")
        p.add_argument("--decision", "-D")
        p.add_argument("--rationale", "-r")
        p.add_argument("--who")
        p.add_argument("--when", help="ISO 8601 time (default: now)")
        p.add_argument("--task", help="the task it belongs to")
        p.add_argument("--id", help="your own decision id (default: generated)")
        p.add_argument("--list", action="store_true", help="list decisions, oldest first")
        p.add_argument("--limit", type=int, default=None, help="with --list: only the newest N")
        p.add_argument("--anchor", "-a", action="append", metavar="PATH[:LINE|::SYMBOL]",
                       help="code the decision cites (repeatable); paths in its text are found too")
        p.add_argument("--confirm", metavar="ID", help="re-confirm a decision's anchors: the code it cites still"
                                                       " agrees with it as the files are now")

    if want("note"):
        note = sub.add_parser("note", formatter_class=common.formatter_class, help="Entries of the session context document: phase, gotcha, dont, blocker, note, learning.",
                              description="Add, list and resolve entries of the session context document.")
        nsub = note.add_subparsers(dest="note_command", metavar="KIND|list|resolve|confirm", required=True,
                                   parser_class=Parser)
        for kind, help_text in (("phase", "Where we are: the current phase (the newest one counts)."),
                                ("gotcha", "An implementation gotcha the next session must know."),
                                ("dont", "Something NOT to do."), ("blocker", "A blocker."), ("note", "A free note."),
                                ("learning", "A lesson for later work (closed campaigns add theirs).")):
            p = add(nsub, kind, _lazy("task_commands", "cmd_note_add", kind), help_text)
            p.add_argument("text", nargs="+")
            p.add_argument("--by", help="who says so")
            p.add_argument("--task", "-t", metavar="ID", help="the open task it belongs to: resolved when that task"
                           " is completed (default: the whole project)")
            p.add_argument("--anchor", "-a", action="append", metavar="PATH[:LINE|::SYMBOL]",
                           help="code the entry cites (repeatable); paths in its text are found too")
        p = add(nsub, "list", _lazy("task_commands", "cmd_note_list"), "List current entries (--all: resolved ones too).")
        p.add_argument("--all", action="store_true")
        p = add(nsub, "resolve", _lazy("task_commands", "cmd_note_resolve"), "Mark an entry as no longer applying (kept in history).")
        p.add_argument("id")
        p = add(nsub, "confirm", _lazy("task_commands", "cmd_note_confirm"), "Re-confirm an entry whose cited code changed: it still holds.")
        p.add_argument("id")

    if want("close"):
        p = add(sub, "close", _lazy("session_commands", "cmd_close"), "Close the session: progress log, LATEST.json, tasks, memory, context doc, index.")
        p.add_argument("--summary", required=True)
        p.add_argument("--completed", action="append", metavar="IDS", help="task ids completed (comma-separated, repeatable)")
        p.add_argument("--next", action="append", metavar="STEP", help="a next step for the next session, in order (repeatable; commas are part of it)")
        p.add_argument("--commit", action="store_true", help="commit tether's files only, with a Tether-Session trailer")
        p.add_argument("--offload", nargs="?", const="Learnings", metavar="CLUSTER",
                       help="offload the context entries this session marked as worth keeping (learnings, and"
                            " entries that say 'remember' or 'worth keeping') as blobs into CLUSTER (default"
                            " Learnings; made if missing); without it, close lists them with the command")

    if want("boot"):
        p = add(sub, "boot", _lazy("session_commands", "cmd_boot"), "Print the readiness brief a new session needs.")
        p.add_argument("--sha", metavar="REV", help="reconstruct the state from this commit's tree")
        p.add_argument("--budget", type=int, metavar="N", help="cap the brief at N tokens (default from config, 2000)")

    if want("log"):
        p = add(sub, "log", _lazy("session_commands", "cmd_log"), "Show the dated progress logs (default: the newest); --session: what one session did.")
        p.add_argument("--date", help="YYYY-MM-DD")
        p.add_argument("--limit", type=int, default=1)
        p.add_argument("--session", metavar="ID", help="list what that session did (checkpoints, decisions, "
                                                       "hooks, close), e.g. Claude Code's session id")

    if want("index"):
        p = add(sub, "index", _lazy("session_commands", "cmd_index"), "Write the index manifest; --check fails (exit 3) when it is stale.")
        mode = p.add_mutually_exclusive_group()
        mode.add_argument("--check", action="store_true")
        mode.add_argument("--repair", action="store_true",
                       help="rebuild open-task markers from the tasks and remove temporary files that "
                            "killed writers left (older than 10 minutes), then write")

    if want("verify"):
        p = add(sub, "verify", _lazy("session_commands", "cmd_verify"), "Read every state file and report each problem with its path and line "
                                       "(exit 3 if any); changes nothing.")
        p.add_argument("--stale", action="store_true", help="list instead the current decisions and context entries"
                                                            " whose cited code changed or is gone (exit 3 if any)")

    if want("drift"):
        p = add(sub, "drift", _lazy("session_commands", "cmd_drift"),
                "Check a compaction summary for goal drift against the active task (exit 3 if any).")
        p.add_argument("summary", nargs="?", metavar="FILE", help="the summary's file, or - for stdin")
        p.add_argument("--transcript", metavar="PATH", help="read the newest compaction summary from this Claude Code"
                                                            " transcript or Codex rollout instead")
        p.add_argument("--task", "-t", metavar="ID", help="the task to compare with (default: the active one)")

    if want("merge-driver"):
        p = add(sub, "merge-driver", _lazy("session_commands", "cmd_merge_driver"),
                "Merge one of tether's generated files for git (git runs it; see .tether/.gitattributes).")
        p.add_argument("base", metavar="BASE", help="the common ancestor's version (git's %%O)")
        p.add_argument("ours", metavar="OURS", help="our version; the result is written here (%%A)")
        p.add_argument("theirs", metavar="THEIRS", help="their version (%%B)")
        p.add_argument("path", metavar="PATH", help="the file's path in the repository (%%P)")
        p.add_argument("--marker-size", type=int, default=7, metavar="N", help="conflict marker size (%%L)")

    if want("usage"):
        p = add(sub, "usage", _lazy("context_commands", "cmd_usage"),
                "How full the agent's context window is: tokens, window, percent, state and the action it calls for.")
        p.add_argument("transcript", nargs="?", metavar="TRANSCRIPT",
                       help="a Claude Code or Codex .jsonl transcript (default: this session's, else the newest"
                            " session run in this repository)")
        p.add_argument("--model", help="the model, when the transcript does not name it (or to override it)")
        p.add_argument("--window", type=int, metavar="TOKENS", help="the context window, over the model's")
        p.add_argument("--exact", action="store_true",
                       help="count with tiktoken what the transcript's own usage figures do not cover")

    if want("statusline"):
        add(sub, "statusline", _lazy("context_commands", "cmd_statusline"),
            "Print Claude Code's status line (its JSON on stdin): the active task's position and the context state.")

    if want("hook"):
        hook = sub.add_parser("hook", formatter_class=common.formatter_class, help="Handle an agent tool's hook event (JSON on stdin).")
        hsub = hook.add_subparsers(dest="hook_command", metavar="TOOL", required=True, parser_class=Parser)
        add(hsub, "claude-code", _lazy("session_commands", "cmd_hook"), "Handle a Claude Code hook event (the seven `tether install claude-code` adds).")
        add(hsub, "codex", _lazy("session_commands", "cmd_hook"), "Handle a Codex hook event (the seven `tether install codex` adds, as for Claude Code).")

    if want("install"):
        inst = sub.add_parser("install", formatter_class=common.formatter_class, help="Install tether's hooks into an agent tool's settings.")
        isub = inst.add_subparsers(dest="install_command", metavar="TOOL", required=True, parser_class=Parser)
        p = add(isub, "claude-code", _lazy("session_commands", "cmd_install"), "Merge tether's hooks into .claude/settings.json and add tether's "
                                                  "section to CLAUDE.md (idempotent).")
        p.add_argument("--command", dest="command_line", default=None,
                       help="the command Claude Code runs (default: tether-hook claude-code; tether hook claude-code on Windows)")
        p.add_argument("--agents-md", action="store_true",
                       help="write the agent's instructions to AGENTS.md instead of CLAUDE.md")
        p.add_argument("--no-instructions", action="store_true",
                       help="leave CLAUDE.md (and AGENTS.md) alone: hooks only")
        p.add_argument("--status-line", action="store_true",
                       help="also set Claude Code's status line to `tether statusline` (a status line of your own is kept)")
        p.add_argument("--mcp", action="store_true",
                       help="also register `tether mcp` as the project's MCP server \"tether\" in .mcp.json")
        p = add(isub, "codex", _lazy("session_commands", "cmd_install_codex"),
                "Merge tether's hooks into .codex/hooks.json and the agent's instructions into AGENTS.md"
                " (idempotent).")
        p.add_argument("--command", dest="command_line", default=None,
                       help="the command Codex runs (default: tether-hook codex; tether hook codex on Windows)")
        p.add_argument("--no-instructions", action="store_true",
                       help="leave AGENTS.md alone: hooks only")
        p.add_argument("--mcp", action="store_true",
                       help="also register `tether mcp` as the MCP server \"tether\" in .codex/config.toml")
        p = add(isub, "cursor", _lazy("session_commands", "cmd_install_cursor"),
                "Register `tether mcp` as the MCP server \"tether\" in .cursor/mcp.json (idempotent).")
        p.add_argument("--command", dest="command_line", default="tether mcp",
                       help="the command Cursor runs (default: tether mcp)")
        p = add(isub, "pre-commit", _lazy("session_commands", "cmd_install_pre_commit"),
                "Write a git pre-commit hook that keeps .tether/index.json current and runs `tether audit`"
                " (never blocks a commit unless --strict).")
        p.add_argument("--strict", action="store_true",
                       help="block a commit while `tether audit --strict` finds something (default: say the"
                            " findings, commit anyway)")

    if want("uninstall"):
        uninst = sub.add_parser("uninstall", formatter_class=common.formatter_class,
                                help="Remove what `tether install` added to an agent tool's settings.")
        usub = uninst.add_subparsers(dest="uninstall_command", metavar="TOOL", required=True, parser_class=Parser)
        add(usub, "claude-code", _lazy("session_commands", "cmd_uninstall"), "Remove tether's hooks from .claude/settings.json, its MCP server "
                                                "from .mcp.json (the user's own are kept) and tether's section from "
                                                "CLAUDE.md and AGENTS.md (AGENTS.md's stays while Codex's hooks "
                                                "are installed: Codex reads it).")
        add(usub, "codex", _lazy("session_commands", "cmd_uninstall_codex"),
            "Remove tether's hooks from .codex/hooks.json, its MCP server from .codex/config.toml "
            "(the user's own are kept) and tether's section from AGENTS.md.")
        add(usub, "cursor", _lazy("session_commands", "cmd_uninstall_cursor"),
            "Remove tether's MCP server from .cursor/mcp.json (the user's own servers are kept).")

    if want("ctx"):
        from . import ctx

        ctx.register(sub, add, common)

    if want("compact") or want("show") or want("pin") or want("unpin"):
        from . import compaction_commands

        compaction_commands.register(sub, add)

    if want("offload"):
        from . import offload_commands

        offload_commands.register(sub, add, common)

    if want("audit"):
        from . import audit_commands

        audit_commands.register(sub, add)

    if want("recall"):
        from . import recall_commands

        recall_commands.register(sub, add)

    if want("mcp"):
        add(sub, "mcp", _lazy("session_commands", "cmd_mcp"),
            "Serve this workspace to MCP clients over stdio (needs the tether[mcp] extra).")

    if want("demo"):
        p = add(sub, "demo", _lazy("session_commands", "cmd_demo"), "Run a whole session lifecycle in a temporary repository and show it.")
        p.add_argument("--keep", action="store_true", help="keep the temporary repository and print its path")
