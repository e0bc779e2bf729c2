"""Command registration and handlers. Each handler: parse, one core call, render."""

from __future__ import annotations

import sys

from ..errors import EXIT_DEGRADED, InvalidInput
from .output import Parser, Result, problems_text, task_line


def _ws():
    from ..workspace import Workspace

    return Workspace.open()


def _lines_from(values: list[str] | None, files: list[str] | None) -> list[str]:
    """Inline values plus lines of files ('-' is stdin), blank lines dropped."""
    out = list(values or [])
    for name in files or []:
        try:
            if name == "-":
                data = sys.stdin.buffer.read()
            else:
                with open(name, "rb") as fh:
                    data = fh.read()
        except OSError as exc:
            raise InvalidInput(f"cannot read {name}: {exc.strerror}",
                               hint="give a UTF-8 text file with one entry per line") from None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            raise InvalidInput(f"{'stdin' if name == '-' else name}:{line}: not UTF-8 text",
                               hint="save the file as UTF-8 and run the command again") from None
        out += [line.strip() for line in text.splitlines() if line.strip()]
    return out


def _limit(value: int | None) -> int | None:
    if value is not None and value < 1:
        raise InvalidInput(f"--limit must be at least 1, got {value}", hint="e.g. --limit 5 for the newest five")
    return value


def _split(values: list[str] | None) -> list[str]:
    return [part.strip() for v in values or [] for part in v.split(",") if part.strip()]


# -- init, config ----------------------------------------------------------------

def cmd_init(args) -> Result:
    from ..workspace import Workspace

    ws, created = Workspace.init(reading_order=args.reading_order)
    # Files are listed by path; settings and upgrades by a phrase that says what was done.
    text = (f"Initialised tether workspace in {ws.dir}\n"
            + "".join(f"  {c}\n" if " " in c else f"  created {c}\n" for c in created)
            if created else f"tether workspace already set up in {ws.dir} (nothing changed)")
    if any(c.endswith("/tether.toml") for c in created):  # a new workspace, not a clone's driver registration
        text += ('Next: start a task (`tether task start "..." --items-file FILE`) and checkpoint as you go;'
                 " `tether install claude-code` briefs every Claude Code session.")
    return Result({"root": str(ws.root), "store": str(ws.dir), "created": created}, text)


def cmd_config(args) -> Result:
    ws = _ws()
    cfg = ws.config
    data = {"budget": cfg.budget, "reading_order": cfg.reading_order, "context_document": cfg.context_document,
            "path": str(ws.dir / "tether.toml")}
    text = "\n".join(f"{k}: {v}" for k, v in data.items())
    return Result(data, text)


# -- tasks -------------------------------------------------------------------------

def cmd_task_start(args) -> Result:
    ws = _ws()
    steps = _lines_from(args.steps, args.steps_file)
    items = _lines_from(args.items, args.items_file)
    task = ws.start_task(args.title, definition=args.definition or "", criteria=args.criteria or [],
                         steps=steps or None, items=items or None, task_id=args.id)
    units = f" with {len(task.units)} {task.unit_name}s" if task.units else ""
    text = (f"Started task {task.id}: {task.title}{units}\n"
            f"It is now the active task. Checkpoint with `tether checkpoint --done 1 --state \"...\"`.")
    return Result({"task": _task_dict(task)}, text)


def _task_dict(task) -> dict:
    return dict(task.__dict__)


def cmd_task_status(args) -> Result:
    ws = _ws()
    task = ws.task(args.task)
    if args.checkpoint is not None:
        from ..tasks import find_checkpoint

        ckp = find_checkpoint(ws.store, task, args.checkpoint)
        raw = ws.store.read_file(f"tasks/{task.id}/checkpoints/{ckp.name}.md") or b""
        return Result({"task": task.id, "checkpoint": ckp.__dict__}, raw.decode("utf-8", "replace"))
    from ..tasks import resume_of

    names = ws.store.checkpoint_names(task.id)
    resume = resume_of(ws.store, task)
    lines = [f"{task.id}: {task.title} [{task.status}]", f"  created {task.created}"]
    if task.definition:
        lines.append(f"  definition: {task.definition}")
    for c in task.criteria:
        lines.append(f"  success criterion: {c}")
    if task.units:
        lines.append(f"  progress: {len(resume.done)} of {resume.total} {task.unit_name}s done")
    lines.append(f"  checkpoints: {len(names)}" + (f" (latest {names[-1]})" if names else ""))
    lines.append(f"  {resume.message()}")
    lines.append(problems_text(ws.store.problems))
    data = {"task": _task_dict(task), "resume": resume.to_dict(), "checkpoints": names,
            "problems": [p.to_dict() for p in ws.store.problems]}
    return Result(data, "\n".join(line for line in lines if line), EXIT_DEGRADED if ws.store.problems else 0)


def cmd_task_list(args) -> Result:
    ws = _ws()
    tasks = ws.tasks(include_closed=args.all)
    active = ws.active_task_id()
    from ..tasks import resume_of

    resumes = {t.id: resume_of(ws.store, t) if t.status == "open" else None for t in tasks}
    lines = [task_line(t, resumes[t.id], active) for t in tasks] or ["No open tasks." if not args.all else "No tasks."]
    lines.append(problems_text(ws.store.problems))
    data = {"active": active, "tasks": [{**_task_dict(t), "resume": r.to_dict() if r else None}
                                        for t, r in ((t, resumes[t.id]) for t in tasks)],
            "problems": [p.to_dict() for p in ws.store.problems]}
    return Result(data, "\n".join(line for line in lines if line),
                  EXIT_DEGRADED if ws.store.problems else 0)


def _set_status(status: str, verb: str):
    def handler(args) -> Result:
        ws = _ws()
        task = ws.set_task_status(args.task, status)
        lines = [f"{verb} task {task.id}: {task.title}"]
        if status == "complete":
            lines += _completed_with_units_left(ws, [task.id])
        return Result({"task": _task_dict(task)}, "\n".join(lines))
    return handler


def _completed_with_units_left(ws, task_ids: list[str]) -> list[str]:
    """A note per task marked complete whose checkpoints leave steps/items not done: easy to do by mistake."""
    from ..tasks import resume_of

    notes = []
    for task_id in task_ids:
        task = ws.task(task_id)
        resume = resume_of(ws.store, task)
        if task.units and resume.next_number is not None:
            notes.append(f"Note: {task.id} was marked complete with {len(resume.done)} of {resume.total}"
                         f" {task.unit_name}s done (`tether task reopen {task.id}` if it is not finished).")
    return notes


def cmd_task_switch(args) -> Result:
    task = _ws().switch(args.task)
    return Result({"active": task.id}, f"Active task is now {task.id}: {task.title}")


# -- checkpoint and resume ----------------------------------------------------------

def _key_values(values: list[str] | None) -> dict[str, str]:
    out = {}
    for value in values or []:
        key, sep, val = value.partition("=")
        if not sep or not key.strip():
            raise InvalidInput(f"--data expects KEY=VALUE, got {value!r}", hint='e.g. --data "output=out/summaries.md"')
        out[key.strip()] = val.strip()
    return out


def _results(values: list[str] | None) -> dict[str, bytes]:
    out = {}
    for value in values or []:
        name, sep, source = value.partition("=")
        if not sep:
            raise InvalidInput(f"--result expects NAME=@FILE, NAME=- or NAME=TEXT, got {value!r}",
                               hint="e.g. --result summaries-1-5.md=@out/summaries.md")
        if source == "-":
            out[name] = sys.stdin.buffer.read()
        elif source.startswith("@"):
            try:
                with open(source[1:], "rb") as fh:
                    out[name] = fh.read()
            except OSError as exc:
                raise InvalidInput(f"cannot read {source[1:]}: {exc.strerror}", hint="check the path") from None
        else:
            out[name] = source.encode("utf-8")
    return out


def cmd_checkpoint(args) -> Result:
    ws = _ws()
    ckp = ws.checkpoint(args.task, done=_split(args.done), undone=_split(args.undone), state=args.state or "",
                        key_data=_key_values(args.data), files=args.file or [], next_actions=args.next or [],
                        note=args.note or "", status=args.status, results=_results(args.result))
    resume = ws.resume(ckp.task, after=ckp)
    shown = f".tether/tasks/{ckp.task}/checkpoints/{ckp.name}.md"
    text = f"Saved {ckp.id} of {ckp.task} ({shown})\n{resume.message()}"
    if ckp.results:
        text += "\nIntermediate results: " + ", ".join(ckp.results)
    return Result({"checkpoint": ckp.__dict__, "path": shown, "resume": resume.to_dict()}, text)


def cmd_resume(args) -> Result:
    ws = _ws()
    resume = ws.resume(args.task)
    others = [t for t in ws.tasks() if t.id != resume.task.id]
    lines = [resume.message()]
    if resume.checkpoint and resume.checkpoint.current_state:
        lines.append(f"State at {resume.checkpoint.id}: {resume.checkpoint.current_state}")
    if resume.checkpoint and resume.checkpoint.key_data:
        lines.append("Key data: " + "; ".join(f"{k}={v}" for k, v in sorted(resume.checkpoint.key_data.items())))
    if resume.next_actions[1:]:
        lines.append("Then: " + "; ".join(resume.next_actions[1:]))
    if others:
        lines.append(f"Active task: {resume.task.id}. Other open tasks ({len(others)}):")
        lines += [f"  {t.id}: {t.title} (`tether resume {t.id}`)" for t in others]
    lines.append(problems_text(ws.store.problems))
    data = {"resume": resume.to_dict(), "active": resume.task.id, "others": [{"id": t.id, "title": t.title} for t in others],
            "problems": [p.to_dict() for p in ws.store.problems]}
    return Result(data, "\n".join(line for line in lines if line), EXIT_DEGRADED if ws.store.problems else 0)


# -- decisions and context entries -----------------------------------------------------

def cmd_decide(args) -> Result:
    ws = _ws()
    if args.list:
        decisions = ws.decisions(limit=_limit(args.limit))
        lines = [f"{d.id}  {d.when[:10]}  {d.question} -> {d.decision}" + (f" ({d.who})" if d.who else "")
                 for d in decisions] or ["No decisions recorded."]
        lines.append(problems_text(ws.store.problems))
        return Result({"decisions": [d.__dict__ for d in decisions], "problems": [p.to_dict() for p in ws.store.problems]},
                      "\n".join(line for line in lines if line), EXIT_DEGRADED if ws.store.problems else 0)
    if not args.question or not args.decision:
        raise InvalidInput("give the question and --decision", hint='tether decide "Which model?" --decision "Phi-3" --rationale "..."')
    record = ws.decide(args.question, args.decision, rationale=args.rationale or "", who=args.who, when=args.when,
                       task=args.task, decision_id=args.id)
    return Result({"decision": record.__dict__}, f"Recorded decision {record.id}: {record.question} -> {record.decision}")


def cmd_note_add(kind: str):
    def handler(args) -> Result:
        ws = _ws()
        note = ws.note(kind, " ".join(args.text), by=args.by)
        return Result({"note": note.to_dict()}, f"Added {kind} {note.id}: {note.text}")
    return handler


def cmd_note_list(args) -> Result:
    ws = _ws()
    notes = ws.notes(include_resolved=args.all)
    lines = [f"{n.id}  {n.kind:<8} {n.text}" + (f"  (resolved {n.resolved[:10]})" if n.resolved else "")
             for n in notes] or ["No context entries."]
    lines.append(problems_text(ws.store.problems))
    return Result({"notes": [n.to_dict() for n in notes], "problems": [p.to_dict() for p in ws.store.problems]},
                  "\n".join(line for line in lines if line), EXIT_DEGRADED if ws.store.problems else 0)


def cmd_note_resolve(args) -> Result:
    ws = _ws()
    note = ws.resolve_note(args.id)
    return Result({"note": note.to_dict()}, f"Resolved {note.kind} {note.id}: {note.text}")


# -- sessions ------------------------------------------------------------------------

def cmd_close(args) -> Result:
    ws = _ws()
    result = ws.close(args.summary, completed=args.completed or [], next_steps=_split(args.next), commit=args.commit)
    lines = [f"Closed the session: progress logged in {result.file}, LATEST.json updated."]
    if result.completed:
        lines.append("Completed: " + ", ".join(result.completed))
        lines += _completed_with_units_left(ws, result.completed)
    lines.append(f"Context document: {result.context_document}; index manifest: .tether/index.json")
    if args.commit:
        lines.append(f"Committed {result.commit[:12]}" if result.commit else "Nothing to commit.")
    else:
        lines.append("Not committed: commit .tether/ yourself, or close with --commit, so other clones see this close.")
    return Result(result.to_dict(), "\n".join(lines))


def cmd_boot(args) -> Result:
    ws = _ws()
    brief = ws.boot(sha=args.sha, budget=args.budget)
    return Result(brief.to_dict(), brief.text, EXIT_DEGRADED if brief.degraded else 0)


def cmd_log(args) -> Result:
    import re

    ws = _ws()
    dates = ws.store.progress_dates()
    if args.date is not None and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", args.date):
        raise InvalidInput(f"invalid date {args.date!r}", hint="use YYYY-MM-DD, e.g. " + (dates[-1] if dates else "2026-11-21"))
    chosen = [args.date] if args.date else dates[-_limit(args.limit):]
    texts = []
    for date in chosen:
        data = ws.store.read_file(f"progress/{date}.md")
        if data is None:
            raise InvalidInput(f"no progress log for {date}", hint="dates with logs: " + (", ".join(dates[-5:]) or "none"))
        texts.append(data.decode("utf-8", "replace"))
    return Result({"dates": chosen, "logs": texts}, "\n".join(texts) or "No progress logged yet.")


def cmd_index(args) -> Result:
    from .. import manifest

    ws = _ws()
    if args.repair:
        from ..maintenance import repair

        outcome = repair(ws)
        markers = [r for r in outcome.repaired if r.startswith(("added open/", "removed open/"))]
        lines = [f"  {r}" for r in outcome.repaired if r not in markers]
        if outcome.marked_resolved:
            lines.append("  marked resolved (git add): " + ", ".join(outcome.marked_resolved))
            lines.append("Next: resolve any other conflicted file (`git status`), then `git commit` to conclude the merge.")
        head = (f"Repaired {len(markers)} open marker(s); removed {outcome.tmp_removed} leftover temporary file(s);"
                f" wrote .tether/index.json ({outcome.files} files).")
        return Result(outcome.to_dict(), "\n".join([head, *lines]))
    if args.check:
        check = manifest.check(ws.store)
        if not check.stale:
            return Result(check.to_dict(), "index.json is up to date.")
        detail = check.problem or ", ".join(f"{len(v)} {k}" for k, v in
                                            (("added", check.added), ("removed", check.removed), ("changed", check.changed)) if v)
        first = (check.added + check.changed + check.removed)[:5]
        text = f"index.json is stale: {detail}" + ("\n  " + "\n  ".join(first) if first else "")
        merge_left = check.problem is not None and "conflict marker" in check.problem
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
    count = manifest.write(ws.store)
    return Result({"files": count}, f"Wrote .tether/index.json ({count} files).")


def cmd_verify(args) -> Result:
    ws = _ws()
    outcome = ws.verify()
    if not outcome.problems:
        return Result(outcome.to_dict(), f"Verified {outcome.files} files in .tether: no problems.")
    lines = [f"Verified {outcome.files} files in .tether: {len(outcome.problems)} problem(s)."]
    lines += [f"  {p}" for p in outcome.problems]
    if outcome.torn:
        lines.append(f"Hint: {', '.join(outcome.torn)}: a torn last line (a writer stopped mid-append); "
                     "`tether index --repair` sets it aside or completes it (the next write to that log does too).")
    if len(outcome.torn) < len(outcome.problems):
        lines.append("Hint: fix each file at the line given, or restore it with `git checkout -- PATH`.")
    return Result(outcome.to_dict(), "\n".join(lines), EXIT_DEGRADED)


def cmd_merge_driver(args) -> Result:
    from ..mergedriver import run

    outcome = run(args.base, args.ours, args.theirs, args.path, marker_size=args.marker_size)
    if outcome.note:
        sys.stderr.write(f"tether merge-driver: {outcome.note}\n")  # git shows it beside its own messages
    return Result(outcome.to_dict(), "", 0 if outcome.clean else 1)


# -- integrations ---------------------------------------------------------------------

def cmd_hook(args) -> Result | None:
    from ..hooks.claude_code import handle

    code = handle(sys.stdin, sys.stdout, sys.stderr)
    raise SystemExit(code)


def cmd_install(args) -> Result:
    from ..hooks.install import install_claude_code

    ws = _ws()
    outcome = install_claude_code(ws.root, command=args.command_line)
    text = (f"Installed tether hooks in {outcome['path']}: " + ", ".join(outcome["added"])
            if outcome["added"] else f"tether hooks already installed in {outcome['path']} (nothing changed)")
    if outcome["replaced"]:
        text += "\n  replaced tether's earlier entries: " + ", ".join(f"`{c}`" for c in outcome["replaced"])
    if outcome.get("warning"):
        text += f"\nNote: {outcome['warning']}"
    return Result(outcome, text)


def cmd_demo(args) -> Result | None:
    from ..demo import run_demo

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


# -- registration ----------------------------------------------------------------------

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
        p = add(sub, "init", cmd_init, "Create the workspace (.tether/) at the repository root; idempotent.")
        p.add_argument("--reading-order", nargs="*", metavar="PATH", help="key docs a new session should read, in order")
    if want("config"):
        add(sub, "config", cmd_config, "Show the workspace configuration.")

    if want("task"):
        task = sub.add_parser("task", formatter_class=common.formatter_class, help="Start, inspect, list and close tasks.", description="Work with tasks.")
        tsub = task.add_subparsers(dest="task_command", metavar="ACTION", required=True, parser_class=Parser)
        p = add(tsub, "start", cmd_task_start, "Start a task with steps or bulk items; it becomes the active task.")
        p.add_argument("title")
        p.add_argument("--definition", "-d", help="the original request, in full")
        p.add_argument("--criteria", "-c", action="append", metavar="TEXT", help="a success criterion (repeatable)")
        p.add_argument("--steps", "-s", action="append", metavar="TEXT", help="an ordered step (repeatable)")
        p.add_argument("--steps-file", action="append", metavar="FILE", help="steps, one per line ('-' for stdin)")
        p.add_argument("--items", "-i", action="append", metavar="TEXT", help="a bulk item (repeatable)")
        p.add_argument("--items-file", action="append", metavar="FILE", help="bulk items, one per line ('-' for stdin)")
        p.add_argument("--id", help="your own task id, e.g. T004 (default: generated, collision-free)")
        p = add(tsub, "status", cmd_task_status, "Show a task (default: the active one), its progress and checkpoints.")
        p.add_argument("task", nargs="?")
        p.add_argument("--checkpoint", metavar="CKP", help="print one checkpoint (CKP-0003, 3 or its full name)")
        p = add(tsub, "list", cmd_task_list, "List open tasks (--all: every task); * marks the active one.")
        p.add_argument("--all", action="store_true")
        for name, status, verb, help_text in (
                ("clear", "archived", "Archived", "Archive a task (never deletes): it leaves the open list."),
                ("complete", "complete", "Completed", "Mark a task complete."),
                ("reopen", "open", "Reopened", "Reopen a completed or archived task.")):
            p = add(tsub, name, _set_status(status, verb), help_text)
            p.add_argument("task", nargs="?" if name != "reopen" else None)
        p = add(tsub, "switch", cmd_task_switch, "Make an open task the active one on this machine.")
        p.add_argument("task")

    if want("checkpoint"):
        p = add(sub, "checkpoint", cmd_checkpoint, "Save a numbered checkpoint of the active task (or --task).")
        p.add_argument("--task", "-t", help="task id (default: the active task)")
        p.add_argument("--done", action="append", metavar="SPEC", help="steps/items done: 3, 1-5, 2,4 or a name (repeatable)")
        p.add_argument("--undone", action="append", metavar="SPEC", help="steps/items to mark not done again")
        p.add_argument("--state", help="what was being worked on at this moment")
        p.add_argument("--data", action="append", metavar="KEY=VALUE", help="key data: variables, paths, decisions")
        p.add_argument("--file", action="append", metavar="PATH", help='a file modified, e.g. "src/a.py: added parser"')
        p.add_argument("--next", action="append", metavar="TEXT", help="a next action, in order (repeatable)")
        p.add_argument("--note", help="a free note")
        p.add_argument("--status", default="in_progress", choices=["in_progress", "completed", "blocked"])
        p.add_argument("--result", action="append", metavar="NAME=@FILE",
                       help="save an intermediate result in the task's cache (NAME=@FILE, NAME=- for stdin, NAME=TEXT)")

    if want("resume"):
        p = add(sub, "resume", cmd_resume, "Say exactly where to continue (default: the active task).")
        p.add_argument("task", nargs="?")

    if want("decide"):
        p = add(sub, "decide", cmd_decide, "Record a decision (question, decision, rationale, who, when); --list shows them.")
        p.add_argument("question", nargs="?")
        p.add_argument("--decision", "-D")
        p.add_argument("--rationale", "-r")
        p.add_argument("--who")
        p.add_argument("--when", help="ISO 8601 time (default: now)")
        p.add_argument("--task", help="the task it belongs to")
        p.add_argument("--id", help="your own decision id (default: generated)")
        p.add_argument("--list", action="store_true", help="list decisions, oldest first")
        p.add_argument("--limit", type=int, default=None, help="with --list: only the newest N")

    if want("note"):
        note = sub.add_parser("note", formatter_class=common.formatter_class, help="Entries of the session context document: phase, gotcha, dont, blocker, note, learning.",
                              description="Add, list and resolve entries of the session context document.")
        nsub = note.add_subparsers(dest="note_command", metavar="KIND|list|resolve", required=True,
                                   parser_class=Parser)
        for kind, help_text in (("phase", "Where we are: the current phase (the newest one counts)."),
                                ("gotcha", "An implementation gotcha the next session must know."),
                                ("dont", "Something NOT to do."), ("blocker", "A blocker."), ("note", "A free note."),
                                ("learning", "A lesson for later work (closed campaigns add theirs).")):
            p = add(nsub, kind, cmd_note_add(kind), help_text)
            p.add_argument("text", nargs="+")
            p.add_argument("--by", help="who says so")
        p = add(nsub, "list", cmd_note_list, "List current entries (--all: resolved ones too).")
        p.add_argument("--all", action="store_true")
        p = add(nsub, "resolve", cmd_note_resolve, "Mark an entry as no longer applying (kept in history).")
        p.add_argument("id")

    if want("close"):
        p = add(sub, "close", cmd_close, "Close the session: progress log, LATEST.json, tasks, memory, context doc, index.")
        p.add_argument("--summary", required=True)
        p.add_argument("--completed", action="append", metavar="IDS", help="task ids completed (comma-separated, repeatable)")
        p.add_argument("--next", action="append", metavar="STEP", help="next steps (comma-separated, repeatable)")
        p.add_argument("--commit", action="store_true", help="commit tether's files only, with a Tether-Session trailer")

    if want("boot"):
        p = add(sub, "boot", cmd_boot, "Print the readiness brief a new session needs.")
        p.add_argument("--sha", metavar="REV", help="reconstruct the state from this commit's tree")
        p.add_argument("--budget", type=int, metavar="N", help="cap the brief at N tokens (default from config, 2000)")

    if want("log"):
        p = add(sub, "log", cmd_log, "Show the dated progress logs (default: the newest).")
        p.add_argument("--date", help="YYYY-MM-DD")
        p.add_argument("--limit", type=int, default=1)

    if want("index"):
        p = add(sub, "index", cmd_index, "Write the index manifest; --check fails (exit 3) when it is stale.")
        mode = p.add_mutually_exclusive_group()
        mode.add_argument("--check", action="store_true")
        mode.add_argument("--repair", action="store_true",
                       help="rebuild open-task markers from the tasks and remove temporary files that "
                            "killed writers left (older than 10 minutes), then write")

    if want("verify"):
        add(sub, "verify", cmd_verify, "Read every state file and report each problem with its path and line "
                                       "(exit 3 if any); changes nothing.")

    if want("merge-driver"):
        p = add(sub, "merge-driver", cmd_merge_driver,
                "Merge one of tether's generated files for git (git runs it; see .tether/.gitattributes).")
        p.add_argument("base", metavar="BASE", help="the common ancestor's version (git's %%O)")
        p.add_argument("ours", metavar="OURS", help="our version; the result is written here (%%A)")
        p.add_argument("theirs", metavar="THEIRS", help="their version (%%B)")
        p.add_argument("path", metavar="PATH", help="the file's path in the repository (%%P)")
        p.add_argument("--marker-size", type=int, default=7, metavar="N", help="conflict marker size (%%L)")

    if want("hook"):
        hook = sub.add_parser("hook", formatter_class=common.formatter_class, help="Handle an agent tool's hook event (JSON on stdin).")
        hsub = hook.add_subparsers(dest="hook_command", metavar="TOOL", required=True, parser_class=Parser)
        add(hsub, "claude-code", cmd_hook, "Handle a Claude Code hook event: SessionStart, PreCompact, SessionEnd.")

    if want("install"):
        inst = sub.add_parser("install", formatter_class=common.formatter_class, help="Install tether's hooks into an agent tool's settings.")
        isub = inst.add_subparsers(dest="install_command", metavar="TOOL", required=True, parser_class=Parser)
        p = add(isub, "claude-code", cmd_install, "Merge tether's hooks into .claude/settings.json (idempotent).")
        p.add_argument("--command", dest="command_line", default="tether hook claude-code",
                       help="the command Claude Code runs (default: tether hook claude-code)")

    if want("ctx"):
        from . import ctx

        ctx.register(sub, add, common)

    if want("demo"):
        p = add(sub, "demo", cmd_demo, "Run a whole session lifecycle in a temporary repository and show it.")
        p.add_argument("--keep", action="store_true", help="keep the temporary repository and print its path")
