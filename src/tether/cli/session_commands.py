"""Handlers of the session and maintenance commands: close, boot, log, index, verify, merge-driver,
hook, install, demo. Each: parse, one call on the Workspace, render."""

from __future__ import annotations

import os
import sys

from ..errors import EXIT_DEGRADED
from .output import Result, _limit, _split, _ws, problems_text
from .task_commands import _completed_with_units_left


# -- sessions ------------------------------------------------------------------------

def cmd_close(args) -> Result:
    ws = _ws()
    result = ws.close(args.summary, completed=args.completed or [], next_steps=[n.strip() for n in args.next or [] if n.strip()], commit=args.commit,
                      offload=args.offload)
    lines = [f"Closed the session: progress logged in {result.file}, LATEST.json updated."]
    if result.completed:
        lines.append("Completed: " + ", ".join(result.completed))
        lines += _completed_with_units_left(ws, result.completed)
    lines.append(f"Context document: {result.context_document}; index manifest: .tether/index.json")
    offloaded = [k for k in result.keep if k.get("packet")]
    if offloaded:
        lines.append(f"Offloaded {len(offloaded)} entr{'y' if len(offloaded) == 1 else 'ies'} marked worth keeping:")
        lines += [f"  {k['packet']}: {k['title']} (from {k['note']})" for k in offloaded]
    elif result.keep:
        lines.append(f"Worth keeping ({len(result.keep)}): this session marked these; offload them"
                     " (or close with --offload):")
        lines += [f"  {k['note']} ({k['kind']}): {k['command']}" for k in result.keep]
    if args.commit:
        lines.append(f"Committed {result.commit[:12]}" if result.commit else "Nothing to commit.")
        if result.uncommitted:  # tether commits its own files only
            shown = ", ".join(result.uncommitted[:5]) + (f" and {len(result.uncommitted) - 5} more"
                                                         if len(result.uncommitted) > 5 else "")
            lines.append(f"Not committed (the work's own changes, yours to commit): {shown}")
    else:
        lines.append("Not committed: commit .tether/ yourself, or close with --commit, so other clones see this close.")
    if result.secrets and not getattr(args, "json", False):  # under --json: the `secrets` field
        found = [f for f in result.secrets if f.hash]
        sys.stderr.write("".join(f"Warning: {f}" + (" looks like a secret\n" if f.hash else "\n")
                                 for f in result.secrets))
        if found:
            sys.stderr.write("Hint: remove it from those files and amend the commit (`git commit --amend`) before"
                             " you push; for a false positive, add its hash to [secrets] allow in"
                             " .tether/tether.toml\n")
    lines.append(problems_text(result.problems))
    return Result(result.to_dict(), "\n".join(line for line in lines if line), EXIT_DEGRADED if result.problems else 0)


def cmd_boot(args) -> Result:
    ws = _ws()
    brief = ws.boot(sha=args.sha, budget=args.budget)
    return Result(brief.to_dict(), brief.text, EXIT_DEGRADED if brief.degraded else 0)


_SHOWN = ("task", "checkpoint", "done", "decision", "note", "pin", "kind", "source", "trigger", "said", "reason", "summary", "sha",
          "starts", "compactions", "state", "percent")


def cmd_log(args) -> Result:
    if args.session:
        activity = _ws().session_activity(args.session)
        code = EXIT_DEGRADED if activity.problems else 0
        if not activity.events:
            return Result(activity.to_dict(), "\n".join([f"Nothing recorded under session {args.session}.",
                                                            problems_text(activity.problems)]).rstrip(), code)
        lines = [f"Session {args.session}: {len(activity.events)} record(s)"]
        for row in activity.events:
            shown = [f"{k}={row[k]}" for k in _SHOWN if row.get(k) not in (None, "", [])]
            lines.append(f"  {row['at']}  {row['event']}" + (f"  {' '.join(map(str, shown))}" if shown else ""))
        return Result(activity.to_dict(), "\n".join([*lines, problems_text(activity.problems)]).rstrip(), code)
    logs = _ws().log(args.date, _limit(args.limit))
    return Result(logs.to_dict(), "\n".join(logs.logs) or "No progress logged yet.")


def cmd_index(args) -> Result:
    ws = _ws()
    if args.repair:
        return _repair_result(ws.repair())
    if args.check:
        check = ws.check_index()
        if not check.stale:
            return Result(check.to_dict(), "index.json is up to date.")
        detail = check.problem or ", ".join(f"{len(v)} {k}" for k, v in
                                            (("added", check.added), ("removed", check.removed), ("changed", check.changed)) if v)
        first = (check.added + check.changed + check.removed)[:5]
        text = f"index.json is stale: {detail}" + ("\n  " + "\n  ".join(first) if first else "")
        merge_left = check.conflicted
        # A marker gone missing hides an open task: regenerating the manifest would make that the truth.
        markers = [p for p in check.removed if p.startswith("open/")]
        if merge_left:
            text += "\nHint: run `tether index --repair` to resolve the merge's generated files."
        elif markers:
            text += ("\nHint: open-task markers are gone (" + ", ".join(markers[:3]) + "); if a task is still open,"
                     " run `tether index --repair` (it rebuilds the markers from the tasks' status, then writes"
                     " the manifest), otherwise `tether index`.")
        else:
            text += "\nHint: run `tether index` (or `tether close`) to regenerate it."
        return Result(check.to_dict(), text, EXIT_DEGRADED)
    count = ws.write_index()
    return Result({"files": count}, f"Wrote .tether/index.json ({count} files).")


def _repair_result(outcome) -> Result:
    """What `index --repair` did, file by file, then what is left to add and commit."""
    import re

    lines = []
    for change in outcome.changes:
        path, said = change["path"], []
        for what in change["done"]:
            at = re.match(r"line (\d+): ", what)
            if at:  # path:line: as every problem is named
                lines.append(f"  {path}:{at.group(1)}: {what[at.end():]}")
            else:
                said.append(what)
        if said:
            lines.append(f"  {path}: " + "; ".join(said))
    if outcome.tmp_removed:
        lines.append(f"  removed {outcome.tmp_removed} leftover temporary file(s)")
    head = ("Repaired:" if lines else
            "Nothing to repair: the generated files, open/ markers and logs agree with the records;"
            f" {outcome.files} files in the manifest.")
    others = [p for p in outcome.unmerged if p not in outcome.marked_resolved]
    add = " ".join(outcome.to_add)
    if outcome.merging and others:
        shown = ", ".join(others[:5]) + (", ..." if len(others) > 5 else "")
        nxt = (f"Next: resolve what git still lists as conflicted ({shown}) and `git add` it"
               + (f"; `git add {add}`" if add else "") + "; then `git commit` to conclude the merge.")
    elif outcome.merging:
        nxt = (f"Next: `git add {add}`, then " if add else "Next: ") + "`git commit` to conclude the merge."
    elif outcome.to_commit:
        nxt = f"Next: commit what it changed: `git add {' '.join(outcome.to_commit)}`, then `git commit`."
    else:
        nxt = None
    # A file left conflicted leaves the manifest as it was: stale until the next repair.
    return Result(outcome.to_dict(), "\n".join([head, *lines] + ([nxt] if nxt else [])),
                  EXIT_DEGRADED if outcome.conflicted else 0)


def cmd_verify(args) -> Result:
    from ..errors import ConfigInvalid

    try:
        ws = _ws()
    except ConfigInvalid as exc:  # verify's job is to report it, with exit 3 as for any damaged file
        from ..store.layout import CONFIG, STORE_DIR

        problem = {"path": f"{STORE_DIR}/{CONFIG}", "line": exc.line, "message": exc.reason}
        return Result({"files": 0, "problems": [problem]},
                      f"{exc}\nHint: {exc.hint}; the other files were not checked (tether reads none without"
                      " its config): run `tether verify` again once it reads.", EXIT_DEGRADED)
    if getattr(args, "stale", False):
        from ..warm.anchors import warning

        stale = ws.stale()
        if not stale:
            return Result({"stale": []}, "No memory cites code that changed since.")
        lines = [f"{len(stale)} {'memories cite' if len(stale) != 1 else 'memory cites'} code that changed since:"]
        lines += [f"  {s['id']}  {s['kind']:<8} {s['text']}  [{warning(s['flags'])}]" for s in stale]
        lines.append("Hint: `tether note confirm ID` (an entry) or `tether decide --confirm ID` (a decision) when it"
                     " still holds; `tether note resolve ID` when it no longer does; a checkpoint is superseded by"
                     " the task's next `tether checkpoint`.")
        return Result({"stale": stale}, "\n".join(lines), EXIT_DEGRADED)
    outcome = ws.verify()
    notes = [f"Note: {n}" for n in outcome.notices]  # this clone's setup: no problem of the files
    if not outcome.problems:
        return Result(outcome.to_dict(), "\n".join([f"Verified {outcome.files} files in .tether: no problems.", *notes]))
    lines = [f"Verified {outcome.files} files in .tether: {len(outcome.problems)} problem(s)."]
    lines += [f"  {p}" for p in outcome.problems]
    if outcome.torn:
        lines.append(f"Hint: {', '.join(outcome.torn)}: a torn last line (a writer stopped mid-append); "
                     "`tether index --repair` sets it aside or completes it (the next write to that log does too).")
    # A session context a merge left conflicted: restoring it would drop a clone's changes (and is
    # refused mid-merge); its message says what to do.
    merged = [p for p in outcome.problems if p.path.endswith("/session_context.yaml") and "conflict" in p.message]
    for p in merged:
        lines.append(f"Hint: {p.path}: {'edit each marked value' if 'both clones set' in p.message else 'run `tether index --repair`'},"
                     f" then `tether ctx validate --context {p.path}` and `git add {p.path}`"
                     " (`tether ctx show` gives the other ways).")
    if len(outcome.torn) + bool(outcome.sections) + len(merged) < len(outcome.problems):
        lines.append("Hint: fix each file at the line given, or restore its last committed version with `git checkout -- PATH`.")
    return Result(outcome.to_dict(), "\n".join(lines + notes), EXIT_DEGRADED)


def cmd_drift(args) -> Result:
    from ..errors import InvalidInput

    if bool(args.summary) == bool(args.transcript):
        raise InvalidInput("give the summary (a file, or - for stdin) or --transcript PATH, one of them",
                           hint="tether drift summary.md, or tether drift --transcript ~/.claude/projects/.../ID.jsonl")
    if args.transcript:
        from ..transcripts.last_words import last_compact_summary

        try:
            summary = last_compact_summary(args.transcript)
        except OSError as exc:
            raise InvalidInput(f"{args.transcript}: {exc.strerror or exc}", hint="give the transcript's path") from None
        if summary is None:
            raise InvalidInput(f"{args.transcript}: no compaction summary in its last 5,000 lines",
                               hint="compact the session first, or pass the summary's text as a file")
        source = args.transcript
    else:
        source = "stdin" if args.summary == "-" else args.summary
        try:
            data = sys.stdin.buffer.read() if args.summary == "-" else open(args.summary, "rb").read()
        except OSError as exc:
            raise InvalidInput(f"{args.summary}: {exc.strerror or exc}", hint="give the summary's path, or -") from None
        summary = data.decode("utf-8", errors="replace")
    ws = _ws()
    task_id, found = ws.drift(summary, args.task)
    data = {"task": task_id, "source": source, "drift": [i.as_dict() for i in found]}
    if task_id is None:
        return Result(data, "No active task: nothing to compare the summary with.")
    if not found:
        return Result(data, f"No drift found: the summary still holds {task_id}.")
    lines = [f"Possible drift from {task_id} ({len(found)} indicator(s)):"]
    for ind in found:
        lines.append(f"  {ind.kind}: {ind.message}")
        lines.append(f"    how: {ind.how}")
        if ind.evidence:
            lines.append(f"    in the summary: \"{ind.evidence}\"")
    lines.append("Hint: recover from the full transcript (your agent keeps it; tether archived it at each compaction) or tether's own record: "
                 f"`tether resume {task_id}`, `tether boot`.")
    return Result(data, "\n".join(lines), EXIT_DEGRADED)


def cmd_merge_driver(args) -> Result:
    from ..core.merging import merge_driver

    outcome = merge_driver(args.base, args.ours, args.theirs, args.path, marker_size=args.marker_size)
    if outcome.note:
        sys.stderr.write(f"tether merge-driver: {outcome.note}\n")  # git shows it beside its own messages
    return Result(outcome.to_dict(), "", 0 if outcome.clean else 1)


# -- integrations ---------------------------------------------------------------------

def cmd_hook(args) -> Result | None:
    from ..hooks.claude_code import handle

    code = handle(sys.stdin, sys.stdout, sys.stderr, args.hook_command)
    raise SystemExit(code)


def cmd_mcp(args) -> Result | None:
    import os

    from ..errors import UsageError

    try:
        from ..mcp.server import serve
    except ImportError as exc:
        if (exc.name or "").split(".")[0] != "mcp":
            raise
        raise UsageError("the MCP SDK is not installed", hint="pip install 'tether[mcp]'") from None
    serve(os.getcwd())  # -C has moved there already; no workspace yet: each tool says how to make one
    return None


def cmd_install_codex(args) -> Result:
    from ..hooks.install import install_codex, install_codex_mcp, mcp_command

    root = _ws().root
    if args.mcp:  # a config.toml it cannot change refuses before the hooks are touched
        install_codex_mcp(root, mcp_command(args.command_line), write=False)
    outcome = install_codex(root, command=args.command_line)
    text = (f"Installed tether hooks in {outcome['path']}: " + ", ".join(outcome["added"])
            if outcome["added"] else f"tether hooks already installed in {outcome['path']} (nothing changed)")
    if outcome["replaced"]:
        text += "\n  replaced tether's earlier entries: " + ", ".join(f"`{c}`" for c in outcome["replaced"])
    files = [".codex/hooks.json"]
    if not args.no_instructions:  # Codex reads AGENTS.md: the workflow the agent is to follow
        text += "\n" + _agent_section_text(outcome, root, "AGENTS.md")
        files += _instructions_files(outcome, root, "AGENTS.md")
    listed = f"{', '.join(files[:-1])} and {files[-1]}" if len(files) > 1 else files[0]
    text += (f"\nCommit {listed} so every clone's Codex sessions use them. Codex loads a project's"
             " hooks once you trust the project, and runs each one once you have reviewed and trusted it"
             " (`/hooks` in Codex; it asks).")
    if args.mcp:
        server = install_codex_mcp(root, mcp_command(args.command_line))
        outcome["mcp"] = server
        text += "\n" + _mcp_text(server) + (" Codex reads a project's .codex/config.toml once you trust the"
                                          " project; commit it so every clone's Codex sessions have it.")
    if outcome.get("warning"):
        text += f"\nNote: {outcome['warning']}"
    return Result(outcome, text + _home_note(outcome.get("hook_command")))


def _home_note(command: str | None) -> str:
    """Said when the command written into the files to commit names the home directory: private,
    and other clones' machines have another."""
    home = os.path.expanduser("~").rstrip("/\\")
    if not command or len(home) < 2 or home not in command:
        return ""
    return ("\nNote: the command written into those files names your home folder: commit them only if that"
            " is meant (every clone's machine would need the same path); with the program on PATH, install"
            " again without --command to keep it out.")


def _agent_section_text(outcome: dict, root, name: str) -> str:
    """Write tether's section of the agent's instructions into ``name`` (outcome["instructions"])
    and say so."""
    from ..hooks.install import install_agent_section

    section = outcome["instructions"] = install_agent_section(root, name)
    verb = "Added" if section["created"] or section["changed"] else "Kept"
    return f"{verb} tether's section (the agent's commands) in {section['path']}" + ("" if section["changed"] else " (up to date)")


def _instructions_files(outcome: dict, root, name: str) -> list[str]:
    """The instructions file to commit: ``name``, and the file it links to, which holds the section."""
    import os

    written = os.path.relpath(outcome["instructions"]["path"], os.path.realpath(root))
    return [name] if written == name else [name, written.replace(os.sep, "/")]


def _mcp_text(server: dict) -> str:
    [(name, entry)] = server["server"].items()
    shown = " ".join([entry["command"], *entry["args"]])
    if not server["changed"]:
        return f"MCP server {name!r} (`{shown}`) already registered in {server['path']} (nothing changed)."
    verb = "Replaced tether's earlier" if server["replaced"] else "Registered the"
    return f"{verb} MCP server {name!r} (`{shown}`) in {server['path']}."


def cmd_uninstall_codex(args) -> Result:
    from ..hooks.install import uninstall_codex, uninstall_codex_mcp

    root = _ws().root
    outcome = uninstall_codex(root)
    text = (f"Removed tether's hooks from {outcome['path']}: " + ", ".join(outcome["removed"])
            if outcome["removed"] else f"No tether hooks in {outcome['path']}.")
    outcome["mcp"] = server = uninstall_codex_mcp(root)
    if server["removed"]:
        text += f"\nRemoved tether's MCP server from {server['path']}."
    from ..hooks.install import claude_code_installed, remove_agent_section, same_file

    # Claude Code still reads the section through a CLAUDE.md that links to AGENTS.md.
    shared = same_file(root, "CLAUDE.md", "AGENTS.md") and claude_code_installed(root)
    outcome["sections_removed"] = ["AGENTS.md"] if not shared and remove_agent_section(root, "AGENTS.md") else []
    if outcome["sections_removed"]:
        kept = (root / "AGENTS.md").exists()
        text += ("\nRemoved tether's section from AGENTS.md (your own text is kept)." if kept
                 else "\nRemoved AGENTS.md: it held only tether's section.")
    return Result(outcome, text)


def cmd_install_cursor(args) -> Result:
    from ..hooks.install import install_mcp_json

    server = install_mcp_json(_ws().root, "cursor", args.command_line.split())
    return Result({"mcp": server}, _mcp_text(server) + " Commit .cursor/mcp.json so every clone's Cursor has it;"
                                                         " Cursor asks before it starts a project's server.")


def cmd_uninstall_cursor(args) -> Result:
    from ..hooks.install import uninstall_mcp_json

    server = uninstall_mcp_json(_ws().root, "cursor")
    text = (f"Removed tether's MCP server from {server['path']}." if server["removed"]
            else f"No tether MCP server in {server['path']}.")
    return Result({"mcp": server}, text)


def cmd_install(args) -> Result:
    from ..hooks.install import install_claude_code

    ws = _ws()
    if args.mcp:  # an .mcp.json it cannot change refuses before the settings are touched
        from ..hooks.install import install_mcp_json, mcp_command

        install_mcp_json(ws.root, "claude-code", mcp_command(args.command_line), write=False)
    outcome = install_claude_code(ws.root, command=args.command_line, status_line=args.status_line)
    text = (f"Installed tether hooks in {outcome['path']}: " + ", ".join(outcome["added"])
            if outcome["added"] else f"tether hooks already installed in {outcome['path']} (nothing changed)")
    line = outcome.get("status_line")
    if line and "kept" in line:
        text += (f"\nKept your own status line (`{line['kept']}`): tether's was not set. To use tether's, remove"
                 f" statusLine from {outcome['path']} and install again, or run `{line['command']}` from yours.")
    elif line:
        text += (f"\nStatus line: `{line['command']}`" + (" set" if line["changed"] else " already set"))
    if outcome["replaced"]:
        text += "\n  replaced tether's earlier entries: " + ", ".join(f"`{c}`" for c in outcome["replaced"])
    if not args.no_instructions:
        text += "\n" + _agent_section_text(outcome, ws.root, "AGENTS.md" if args.agents_md else "CLAUDE.md")
    if args.mcp:
        server = install_mcp_json(ws.root, "claude-code", mcp_command(args.command_line))
        outcome["mcp"] = server
        text += "\n" + _mcp_text(server) + " Claude Code asks once before it starts a project's server."
    files = [".claude/settings.json"] + ([".mcp.json"] if args.mcp else []) + \
        ([] if args.no_instructions else _instructions_files(outcome, ws.root, "AGENTS.md" if args.agents_md else "CLAUDE.md"))
    text += f"\nCommit {', '.join(files[:-1])} and {files[-1]}" if len(files) > 1 else f"\nCommit {files[0]}"
    text += " so every clone's sessions use them."
    if outcome.get("warning"):
        text += f"\nNote: {outcome['warning']}"
    return Result(outcome, text + _home_note(outcome.get("hook_command")))


def cmd_install_pre_commit(args) -> Result:
    from ..hooks.install import install_pre_commit

    outcome = install_pre_commit(_ws().root, strict=args.strict)
    audit = ("`tether audit --strict` blocks a commit while it finds something" if args.strict
             else "`tether audit` says its findings and never blocks a commit")
    text = (f"Wrote {outcome['path']}: commits that carry .tether/ files get a current index.json; "
            f"commits of code alone are left alone; {audit}." if outcome["changed"]
            else f"tether's pre-commit hook is already in {outcome['path']} (nothing changed)")
    return Result(outcome, text)


def cmd_uninstall(args) -> Result:
    from ..hooks.install import uninstall_claude_code

    from ..hooks.install import uninstall_mcp_json

    root = _ws().root
    outcome = uninstall_claude_code(root)
    lines = [f"Removed tether's hooks from {outcome['path']}: " + ", ".join(outcome["removed"])
             if outcome["removed"] else f"No tether hooks in {outcome['path']}."]
    outcome["mcp"] = server = uninstall_mcp_json(root, "claude-code")
    if server["removed"]:
        lines.append(f"Removed tether's MCP server from {server['path']}.")
    if outcome["status_line_removed"]:
        lines.append("Removed tether's status line.")
    if outcome["sections_removed"]:
        lines.append("Removed tether's section from " + ", ".join(outcome["sections_removed"]))
    return Result(outcome, "\n".join(lines))


def cmd_demo(args) -> Result | None:
    from .demo import run_demo

    if not getattr(args, "json", False):
        run_demo(keep=args.keep)
        return None
    # --json: one JSON object like every command, with the transcript a person would see.
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        run_demo(keep=args.keep)
    return Result({"transcript": buffer.getvalue()}, buffer.getvalue())
