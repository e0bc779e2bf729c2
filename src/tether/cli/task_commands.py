"""Handlers of the commands that work on tasks and memory: init, config, task, checkpoint, resume,
decide, note. Each: parse, one call on the Workspace, render."""

from __future__ import annotations

import os
import sys

from ..errors import EXIT_DEGRADED, InvalidInput, UsageError
from .output import Result, _limit, _lines_from, _split, _ws, problems_text, task_line


# -- init, config ----------------------------------------------------------------

def cmd_init(args) -> Result:
    from ..workspace import Workspace

    ws, created = Workspace.init(reading_order=args.reading_order)
    # Files are listed by path; settings and upgrades by a phrase that says what was done.
    new = any(c.endswith("/tether.toml") for c in created)  # else an existing workspace, repaired or upgraded
    text = (f"{'Initialised tether workspace' if new else 'Updated the tether workspace'} in {ws.dir}\n"
            + "".join(f"  {c}\n" if " " in c else f"  created {c}\n" for c in created)
            if created else f"tether workspace already set up in {ws.dir} (nothing changed)")
    if new:  # a new workspace, not a clone's driver registration
        text += ('Next: start a task (`tether task start "..." --items-file FILE`) and checkpoint as you go;'
                 " `tether install claude-code` (or `codex`, `cursor`) sets your agent up to use it.")
    return Result({"root": str(ws.root), "store": str(ws.dir), "created": created}, text)


def cmd_config(args) -> Result:
    ws = _ws()
    if args.device is not None:
        label = " ".join(args.device.split())
        if not label or len(label) > 64:
            from ..errors import InvalidInput

            raise InvalidInput("a device label is 1 to 64 characters", hint="e.g. tether config --device Laptop")
        ws.store.set_device_label(label)
    cfg = ws.config
    data = {"budget": cfg.budget, "reading_order": cfg.reading_order, "long_break_days": cfg.long_break_days,
            "context_document": cfg.context_document, "path": str(ws.dir / "tether.toml"), "device": ws.device()}
    from ..transcripts.states import thresholds

    data["context_thresholds"] = thresholds(cfg.context_thresholds)  # those in force: the seed's, or the file's
    data["context_windows"] = dict(cfg.context_windows)
    text = "\n".join(f"{k}: {_shown(v)}" for k, v in data.items())
    data["reading_order_refused"] = [{"path": path, "why": why} for path, why in cfg.reading_order_refused]
    if cfg.reading_order_refused:
        text += "\nleft out of the reading order: " + "; ".join(f"{p!r} {why}" for p, why in cfg.reading_order_refused)
    problems = cfg.problems()
    data["problems"] = [p.to_dict() for p in problems]
    if problems:
        text += f"\n\nProblems ({len(problems)}):\n" + "\n".join(f"  {p}" for p in problems)
    return Result(data, text, EXIT_DEGRADED if problems else 0)


def _shown(value) -> str:
    """A config value as a person reads it: no Python reprs."""
    if value is None:
        return "(not set)"
    if isinstance(value, dict):
        return ", ".join(f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}" for k, v in value.items()) or "(none)"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "(none)"
    return str(value)


# -- tasks -------------------------------------------------------------------------

def cmd_task_start(args) -> Result:
    ws = _ws()
    steps = _lines_from(args.steps, args.steps_file)
    items = _lines_from(args.items, args.items_file)
    for option, given, files in (("--items", args.items, args.items_file), ("--steps", args.steps, args.steps_file)):
        if files and not (items if option == "--items" else steps):  # a list meant, none found: not a free-form task
            raise InvalidInput(f"{option}-file {', '.join(files)}: no {option[2:]} in it (blank lines are skipped)",
                               hint=f"list one {option[2:-1]} per line, or start a free-form task without {option}-file")
        # `--items 30` means thirty items, not one named "30": refuse rather than guess the names
        if given and len(given) == 1 and not files and given[0].strip().isdigit():
            raise InvalidInput(f"{option} {given[0].strip()} would make one entry named {given[0].strip()!r}",
                               hint=f"give each entry: repeat {option} \"...\" per entry, or list them one per line"
                                    f" in a file with {option}-file FILE ('-' for stdin)")
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
    if args.checkpoint is not None:
        ckp = ws.find_checkpoint(args.checkpoint, args.task)
        return Result({"task": ckp.task, "checkpoint": ckp.__dict__}, ws.checkpoint_text(ckp))
    status = ws.task_status(args.task)
    task, resume, names = status.task, status.resume, status.checkpoints
    lines = [f"{task.id}: {task.title} [{task.status}]", f"  created {task.created}"]
    if task.definition:
        lines.append(f"  definition: {task.definition}")
    for c in task.criteria:
        lines.append(f"  success criterion: {c}")
    if task.units:
        lines.append(f"  progress: {len(resume.done)} of {resume.total} {task.unit_name}s done")
    lines.append(f"  checkpoints: {len(names)}" + (f" (latest {names[-1]})" if names else ""))
    lines.append(f"  {resume.message()}")
    made_in = resume.checkpoint.session if resume.checkpoint else None
    if made_in:
        lines.append(f"  latest checkpoint made in session {made_in} (what it did: `tether log --session {made_in}`)")
    lines.append(problems_text(status.problems))
    return Result(status.to_dict(), "\n".join(line for line in lines if line), EXIT_DEGRADED if status.problems else 0)


def cmd_task_list(args) -> Result:
    ws = _ws()
    tasks = ws.tasks(include_closed=args.all)
    active = ws.active_task_id()
    problems = list(tasks.problems)
    resumes = {}
    for t in tasks:
        resumes[t.id] = ws.progress(t) if t.status == "open" else None
        problems += [p for p in (resumes[t.id].problems if resumes[t.id] else []) if p not in problems]
    lines = [task_line(t, resumes[t.id], active) for t in tasks] or ["No open tasks." if not args.all else "No tasks."]
    note = _fallback_note(ws, None, "the active task is")  # `*` marks a stand-in: say so
    lines += [note, problems_text(problems)]
    data = {"active": active, "tasks": [{**_task_dict(t), "resume": r.to_dict() if r else None}
                                        for t, r in ((t, resumes[t.id]) for t in tasks)],
            "problems": [p.to_dict() for p in problems], "note": note.removeprefix("Note: ") or None}
    return Result(data, "\n".join(line for line in lines if line), EXIT_DEGRADED if problems else 0)


def _fallback_note(ws, given: str | None, acted: str = "this went to") -> str:
    """Said when a command without a task id acts on a task other than the one this machine chose
    (that one is no longer open): the session must not think it acted on the old one. ``acted``:
    what the command did with the stand-in ("this went to", "resuming")."""
    fell = ws.stand_in() if given is None else None
    if fell is None:
        return ""
    status = fell["status"] or "not in this checkout (another branch?)"
    return (f"Note: {fell['chosen']}, the task chosen on this machine, is {status}: {acted} {fell['active']},"
            f" the open task standing in for it (`tether task switch ID` to choose; --task ID to name one).")


def _set_status(status: str, verb: str):
    def handler(args) -> Result:
        ws = _ws()
        # without an id, reopen takes the task closed last, not the active one: no stand-in to name
        note = _fallback_note(ws, args.task) if status != "open" else ""
        task = ws.set_task_status(args.task, status)
        which = " (the task closed last)" if args.task is None and status == "open" else ""
        lines = [f"{verb} task {task.id}: {task.title}{which}"] + ([note] if note else [])
        if status == "complete":
            lines += _completed_with_units_left(ws, [task.id])
        data = {"task": _task_dict(task)}
        if status == "open":  # the entries its close retired apply again
            entries = [n for n in ws.notes() if n.task == task.id]
            data["entries"] = [n.id for n in entries]
            if entries:
                lines.append(f"Current again, with the task: {', '.join(f'{n.kind} {n.id}' for n in entries)}")
        return Result(data, "\n".join(lines))
    return handler


def _completed_with_units_left(ws, task_ids: list[str]) -> list[str]:
    """A note per task marked complete whose checkpoints leave steps/items not done: easy to do by mistake."""
    notes = []
    for task_id in task_ids:
        task = ws.task(task_id)
        resume = ws.progress(task)
        if task.units and resume.next_number is not None:
            notes.append(f"Note: {task.id} was marked complete with {len(resume.done)} of {resume.total}"
                         f" {task.unit_name}s done (`tether task reopen {task.id}` if it is not finished).")
    return notes


def cmd_task_switch(args) -> Result:
    task = _ws().switch(args.task)
    return Result({"active": task.id}, f"Active task is now {task.id}: {task.title}")


# -- checkpoint and resume ----------------------------------------------------------

# checkpoint's options: commands.register builds its parser from them, and main reads their plain
# forms without argparse (checkpoint runs many times a session; see main.quick_args)
CHECKPOINT_OPTIONS = (
    (("--task", "-t"), {"help": "task id (default: the active task)"}),
    (("--done",), {"action": "append", "metavar": "SPEC", "help": "steps/items done: 3, 1-5, 2,4 or a name (repeatable)"}),
    (("--undone",), {"action": "append", "metavar": "SPEC", "help": "steps/items to mark not done again"}),
    (("--state",), {"help": "what was being worked on at this moment"}),
    (("--data",), {"action": "append", "metavar": "KEY=VALUE", "help": "key data: variables, paths, decisions"}),
    (("--file",), {"action": "append", "metavar": "PATH", "help": 'a file modified, e.g. "src/a.py: added parser"'}),
    (("--next",), {"action": "append", "metavar": "TEXT", "help": "a next action, in order (repeatable)"}),
    (("--note",), {"help": "a free note"}),
    (("--anchor", "-a"), {"action": "append", "metavar": "PATH[:LINE]",
                          "help": "code the checkpoint cites (repeatable); paths in its state, next actions and note are found too"}),
    (("--status",), {"default": "in_progress", "choices": ["in_progress", "completed", "blocked"]}),
    (("--result",), {"action": "append", "metavar": "NAME=@FILE",
                     "help": "save an intermediate result in the task's cache (NAME=@FILE, NAME=- for stdin, NAME=TEXT)"}),
)


def _key_values(values: list[str] | None) -> dict[str, str]:
    out = {}
    for value in values or []:
        key, sep, val = value.partition("=")
        if not sep or not key.strip():
            raise InvalidInput(f"--data expects KEY=VALUE, got {value!r}", hint='e.g. --data "output=out/summaries.md"')
        out[key.strip()] = val.strip()
    return out


def _results(values: list[str] | None) -> dict[str, bytes | tuple[bytes, int]]:
    """Each --result's bytes; a file's with its permission bits, so that the copy in the task's
    cache is no more open than the file (a 0600 file stays 0600)."""
    out: dict[str, bytes | tuple[bytes, int]] = {}
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
                    out[name] = (fh.read(), 0o644 & os.fstat(fh.fileno()).st_mode)
            except OSError as exc:
                raise InvalidInput(f"cannot read {source[1:]}: {exc.strerror}", hint="check the path") from None
        else:
            out[name] = source.encode("utf-8")
    return out


def cmd_checkpoint(args) -> Result:
    ws = _ws()
    note = _fallback_note(ws, args.task)
    for option, values in (("--done", args.done), ("--undone", args.undone)):
        if values is not None and not _split(values):  # `--done ""`: an empty shell variable, most likely
            raise InvalidInput(f"{option} names no item or step", hint=f"e.g. {option} 3 or {option} 1-5,7;"
                                                                        f" leave {option} out to record none")
    from ..errors import NothingToRecord

    try:
        ckp = ws.checkpoint(args.task, done=_split(args.done), undone=_split(args.undone), state=args.state or "",
                            key_data=_key_values(args.data), files=args.file or [], next_actions=args.next or [],
                            note=args.note or "", status=args.status, results=_results(args.result),
                            anchors=args.anchor)
    except NothingToRecord as exc:
        exc.hint = 'e.g. tether checkpoint --done 2 --state "where it stands" --next "what comes next" (or --note "...")'
        raise
    resume = ws.resume(after=ckp)  # the checkpoint made its task the active one
    shown = ws.checkpoint_path(ckp)
    text = f"Saved {ckp.id} of {ckp.task} ({shown})\n{resume.message()}" + (f"\n{note}" if note else "")
    if ckp.results:
        text += "\nIntermediate results: " + ", ".join(ckp.results)
    if resume.damaged is not None and ckp.note:  # it says what the task's unknown units left uncounted
        text += f"\nNote saved: {ckp.note}"
    # A damaged checkpoint met on the way (its progress taken from the task's journal): saved, but said.
    problems = list(ws.store.problems)
    if problems:
        text += "\n" + problems_text(problems)
    return Result({"checkpoint": ckp.__dict__, "path": shown, "resume": resume.to_dict(),
                   "problems": [p.to_dict() for p in problems]}, text, EXIT_DEGRADED if problems else 0)


def cmd_resume(args) -> Result:
    ws = _ws()
    note = _fallback_note(ws, args.task, "resuming")  # before a resume that names its task, making it chosen
    resume = ws.resume(args.task)
    listed = ws.tasks()
    others = [t for t in listed if t.id != resume.task.id]
    lines = [resume.message(), note]
    if resume.checkpoint and resume.checkpoint.current_state:
        lines.append(f"State at {resume.state_at()}: {resume.checkpoint.current_state}")
    lines += resume.parallel_lines()
    if resume.stale:
        lines.append(f"{resume.checkpoint.id} {resume.stale} (`tether verify --stale`)")
    if resume.checkpoint and resume.checkpoint.automatic and resume.checkpoint.note:
        lines.append(f"Seen by {resume.checkpoint.id} (automatic): {resume.checkpoint.note}")
    if resume.task.criteria:
        lines.append("Success criteria: " + "; ".join(resume.task.criteria))
    if resume.files:
        lines.append("Files modified: " + "; ".join(resume.files))
    if resume.checkpoint and resume.checkpoint.results:
        lines.append("Results saved: " + ", ".join(resume.checkpoint.results))
    if resume.checkpoint and resume.checkpoint.key_data:
        lines.append("Key data: " + "; ".join(f"{k}={v}" for k, v in sorted(resume.checkpoint.key_data.items())))
    if resume.next_actions[1:]:
        lines.append("Then: " + "; ".join(resume.next_actions[1:]))
    if others:
        lines.append(f"Active task: {resume.task.id}. Other open tasks ({len(others)}):")
        lines += [f"  {t.id}: {t.title} (`tether resume {t.id}`)" for t in others]
    problems = resume.problems + [p for p in listed.problems if p not in resume.problems]
    lines.append(problems_text(problems))
    data = {"resume": resume.to_dict(), "active": resume.task.id, "others": [{"id": t.id, "title": t.title} for t in others],
            "problems": [p.to_dict() for p in problems], "note": note.removeprefix("Note: ") or None}
    return Result(data, "\n".join(line for line in lines if line), EXIT_DEGRADED if problems else 0)


# -- decisions and context entries -----------------------------------------------------

def cmd_decide(args) -> Result:
    ws = _ws()
    if args.confirm:
        done = ws.confirm(args.confirm)
        return Result({"confirmed": done}, f"Confirmed {done['id']}: {', '.join(sorted(done['anchors']))} as they are now")
    if args.list:
        from ..warm.anchors import warning

        decisions = ws.decisions(limit=_limit(args.limit))
        flags = ws.stale_flags(decisions)
        lines = [f"{d.id}  {d.when[:10]}  {d.question} -> {d.decision}" + (f" ({d.who})" if d.who else "")
                 + (f"  [{warning(flags[d.id])}]" if d.id in flags else "")
                 for d in decisions] or ["No decisions recorded."]
        lines.append(problems_text(decisions.problems))
        return Result({"decisions": [dict(d.__dict__, stale=flags.get(d.id, [])) for d in decisions],
                       "problems": [p.to_dict() for p in decisions.problems]},
                      "\n".join(line for line in lines if line), EXIT_DEGRADED if decisions.problems else 0)
    if args.question is None or args.decision is None:  # the command line lacks one: a usage error
        raise UsageError("give the question and --decision", hint='tether decide "Which model?" --decision "Phi-3" --rationale "..."')
    if not args.question.strip() or not args.decision.strip():
        raise InvalidInput(f"the {'question' if not args.question.strip() else 'decision'} is empty",
                           hint='tether decide "Which model?" --decision "Phi-3" --rationale "..."')
    record = ws.decide(args.question, args.decision, rationale=args.rationale or "", who=args.who, when=args.when,
                       task=args.task, decision_id=args.id, anchors=args.anchor)
    return Result({"decision": record.__dict__}, f"Recorded decision {record.id}: {record.question} -> {record.decision}")


def cmd_note_add(kind: str):
    def handler(args) -> Result:
        ws = _ws()
        note = ws.note(kind, " ".join(args.text), by=args.by, task=args.task, anchors=args.anchor)
        return Result({"note": note.to_dict()}, f"Added {kind} {note.id}: {note.text}")
    return handler


def cmd_note_list(args) -> Result:
    ws = _ws()
    from ..warm.anchors import warning

    notes = ws.notes(include_resolved=args.all)
    flags = ws.stale_flags([n for n in notes if not n.resolved])
    lines = [f"{n.id}  {n.kind:<8} {n.text}" + (f"  [{n.task}]" if n.task else "")
             + (f"  (resolved {n.resolved[:10]})" if n.resolved else "")
             + (f"  [{warning(flags[n.id])}]" if n.id in flags else "")
             for n in notes] or ["No context entries."]
    lines.append(problems_text(notes.problems))
    return Result({"notes": [dict(n.to_dict(), stale=flags.get(n.id, [])) for n in notes],
                   "problems": [p.to_dict() for p in notes.problems]},
                  "\n".join(line for line in lines if line), EXIT_DEGRADED if notes.problems else 0)


def cmd_note_confirm(args) -> Result:
    done = _ws().confirm(args.id)
    return Result({"confirmed": done}, f"Confirmed {done['id']}: {', '.join(sorted(done['anchors']))} as they are now")


def cmd_note_resolve(args) -> Result:
    ws = _ws()
    note = ws.resolve_note(args.id)
    return Result({"note": note.to_dict()}, f"Resolved {note.kind} {note.id}: {note.text}")
