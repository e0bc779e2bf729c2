"""Close (seeds 002 and 003): the end of a session, written so the next one starts exactly here.

A close appends a section to the dated progress log, rewrites LATEST.json, marks
the completed tasks, logs a ``session_close`` event, regenerates the session
context document and the manifest, and with ``commit`` commits tether's files.
"""

from __future__ import annotations

from ..errors import GitProblem, InvalidInput, NotFound, ParseError, Refused
from ..model import clock
from ..model.config import Config
from ..model.record import REQUIRED, Record
from ..model.records import Latest


def write_generated(ws, snap=None) -> None:
    """Regenerate the session context document and the index manifest."""
    from . import manifest

    write_context_document(ws)
    manifest.write(ws.store)


def write_context_document(ws) -> None:
    """Regenerate the session context document from what changes it: the last close, the open
    tasks (not their checkpoints), the decisions, the context entries, the reading order.

    Run after every command that changes one of those (note, decide, task start, complete,
    reopen, archive, switch, close), so the document agrees with the brief at every moment.
    A checkpoint changes none of them: the document names each open task and where
    `tether resume` is, not the checkpoint, so the hot path writes nothing more.
    """
    from . import context_document

    store = ws.store
    config = ws.config
    existing = _context_document_text(ws, config)
    new_blocks = document_blocks(store, config, active=store.active_task(), updated=clock.stamp(),
                                 session=ws.session_id)
    store.write_document(config.context_document, context_document.merge(existing, new_blocks))


def document_blocks(store, config: Config, *, active: str, updated: str, session: str) -> dict[str, str]:
    """The document's blocks as ``store``'s records give them (a workspace's, or the store a merge
    leaves: core.merging); ``active`` is the task this machine works on."""
    from . import context_document

    config, latest, tasks, decisions, notes = _document_records(store, config, [])
    lines = [context_document.task_line(task, task.id == active) for task in tasks]
    lines.sort(key=lambda t: not t.startswith(context_document.ACTIVE))
    return context_document.blocks(
        updated=updated, sha=latest.sha if latest else None, session=session,
        latest=latest.to_dict() if latest else None, tasks=lines,
        next_steps=list(latest.next_steps) if latest else [], decisions=decisions, notes=notes,
        reading_order=config.reading_order)


def _document_records(store, config: Config, unread: list) -> tuple:
    """(config with the reading order shown, the last close, the open tasks, the decisions and the
    current context entries the document shows); what could not be read goes to ``unread``."""
    from .boot import read_decisions, shown_reading_order

    with store.collecting():
        config = shown_reading_order(config, store)
        try:
            latest = store.read_latest()
        except ParseError as exc:
            latest = None  # boot names it; the document says no close rather than guess
            unread.append(exc.problem)
        tasks = []
        for task_id in store.open_task_ids():
            try:
                task = store.load_task(task_id)
            except NotFound:
                unread.append(task_id)
                continue  # a marker without its task: boot names it
            except ParseError as exc:
                store.report(exc.problem)  # a close says it (the commands that only regenerate the document do not)
                unread.append(exc.problem)
                continue
            if task.status == "open":
                tasks.append(task)
        open_ids = set(store.open_task_ids())
        notes = [n for n in store.notes() if not n.resolved and (n.task is None or n.task in open_ids)]
        decisions = read_decisions(store, config.budget)[:10]
    return config, latest, tasks, decisions, notes


def document_disagrees(ws) -> list[tuple[str, int]]:
    """The blocks of the context document that disagree with the records (heading, line): what a
    merge that kept one side's blocks leaves (`tether index --repair` regenerates them). Empty
    when the document is absent or cannot be read, or a record cannot (boot names those)."""
    from . import context_document

    try:
        text = _context_document_text(ws, ws.config)
    except ParseError:
        return []
    if not text:
        return []
    unread: list = []
    with ws.store.collecting() as met:
        _config, latest, tasks, decisions, notes = _document_records(ws.store, ws.config, unread)
    if met or unread:
        return []  # a record that does not read is the problem to name, not the document that lacks it
    return context_document.disagreeing(text, context_document.recorded(
        latest=latest.to_dict() if latest else None, task_ids=[t.id for t in tasks], decisions=decisions,
        notes=notes))


def _context_document_text(ws, config: Config) -> str | None:
    """The context document's text, None if absent; ParseError (with the line) if it is not UTF-8:
    its hand-written part is kept byte for byte, so it cannot be rewritten from a guess."""
    from ..store.codec import decode

    data = ws.store.read_document(config.context_document)
    return None if data is None else decode(data, config.context_document)


def _logged_section(store, sha: str | None, body: list[str]) -> tuple[str, str] | None:
    """(date, file) of the newest progress section when it is this close's (the same commit,
    summary, completed tasks and next steps): a close run again after it stopped half-way."""
    dates = store.progress_dates()
    if not dates:
        return None
    text = (store.read_progress(dates[-1]) or b"").decode("utf-8", "replace")
    if "\n## " not in text:
        return None
    heading, _, rest = text.rsplit("\n## ", 1)[1].partition("\n")
    commit = heading.rpartition(", commit ")[2] if ", commit " in heading else None
    if commit != (sha[:12] if sha else None) or [line.rstrip() for line in rest.rstrip().split("\n")] != body:
        return None
    return dates[-1], store.progress_path(dates[-1])


def _logged_event(store, event: dict) -> bool:
    """Whether the newest session_close event is this close's (see _logged_section)."""
    from ..store.eventlog import CHECKED_LINES

    closes = [e for e in store.recent_events(CHECKED_LINES) if e.get("event") == "session_close"]
    return bool(closes) and all(closes[-1].get(key) == value for key, value in event.items())


class CloseResult(Record):
    """``secrets``: what looked like a secret in what ``commit`` committed (secret_scan.Finding);
    ``keep``: the context entries the session marked as worth keeping, each offloaded (its
    ``packet``) or with the command that offloads it (Offload.worth_keeping)."""

    FIELDS = {"date": REQUIRED, "file": REQUIRED, "latest": REQUIRED, "completed": REQUIRED,
              "commit": REQUIRED, "context_document": REQUIRED, "secrets": list, "keep": list, "problems": list,
              "uncommitted": list}  # with commit: the work tree's other changes, left for the user to commit

    def to_dict(self) -> dict:
        return {**super().to_dict(), "secrets": [f.to_dict() for f in self.secrets],
                "problems": [p.to_dict() for p in self.problems]}


def close(ws, summary: str, completed: list[str], next_steps: list[str], commit: bool) -> CloseResult:
    """The problems met on the way (a bad line near the memory log's end, an unreadable entry, task or
    decision the context document leaves out) are the result's: the close is made, and said degraded."""
    with ws.store.collecting() as problems:
        result = _close(ws, summary, completed, next_steps, commit)
        result.problems = list(problems)
    return result


def refuse_mid_operation(root) -> None:
    """A commit made while git waits in a merge, rebase, ... lands inside it: a merge's other side gets
    committed apart from the merge (and kept by `git merge --abort`), a rebase's detached HEAD is
    thrown away by `git rebase --abort`. Refused before anything is written."""
    from ..gitio import refs

    operation = refs.operation_in_progress(root)
    if operation is None:
        return
    if operation == "bisect":
        hint = "end it (`git bisect reset`), then close again"
    elif operation == "merge":
        hint = ("conclude it (`tether index --repair`, `git add`, `git commit`) or abort it (`git merge --abort`), "
                "then close again; or close without --commit and commit .tether/ with the merge")
    else:
        hint = f"finish it (`git {operation} --continue`) or abort it (`git {operation} --abort`), then close again"
    raise Refused(f"a{'n' if operation == 'am' else ''} {operation} is in progress: `tether close --commit` would "
                  "commit tether's files alone, outside it", hint=hint)


def _close(ws, summary: str, completed: list[str], next_steps: list[str], commit: bool) -> CloseResult:
    from ..gitio import commits, refs
    from ..gitio.mergedriver import ensure_registered
    from ..store.eventlog import CHECKED_LINES
    from .memory import retire_task_notes
    from .tasks import set_status

    summary = " ".join(summary.split())
    if not summary:
        raise InvalidInput("a close needs a summary of the session", hint='tether close --summary "what was done"')
    completed = [c.strip() for item in completed for c in item.split(",") if c.strip()]
    next_steps = [s.strip() for s in next_steps if s.strip()]
    config = ws.config
    tasks = [ws.task(task_id) for task_id in completed]  # every id checked before anything is written
    _context_document_text(ws, config)  # and the document it regenerates: one it cannot read stops it here
    with ws.store.lock("close"):
        now = clock.now()
        sha = refs.head_sha(ws.root_dir)
        for task in tasks:
            retired = retire_task_notes(ws, task.id)
            if task.status != "complete" or retired:
                # the entries its close resolved are kept on the task: reopening it restores them
                task.retired = list(dict.fromkeys([*task.retired, *retired]))
                set_status(ws.store, task, "complete")
        date = f"{now:%Y-%m-%d}"
        section = [f"## {now:%H:%M} UTC, session {ws.session_id}" + (f", commit {sha[:12]}" if sha else ""),
                   "", f"**Summary:** {summary}"]
        if tasks:
            section.append("**Completed:** " + ", ".join(f"{t.id} ({t.title})" for t in tasks))
        if next_steps:
            section += ["**Next steps:**", *[f"- {s}" for s in next_steps]]
        # Safely repeatable: a close that stopped half-way (a full disk) is run again as it was, so
        # the section and the event it had written already are found and not written twice.
        logged = _logged_section(ws.store, sha, section[1:])
        if logged is None:
            file = ws.store.append_progress(date, "\n".join(section))
        else:
            date, file = logged
        latest = Latest(date=date, file=file, sha=sha, summary=summary, next_steps=next_steps,
                        completed=[t.id for t in tasks], session=ws.session_id, generated_at=clock.stamp(now))
        ws.store.write_latest(latest)
        from .memory import fold_sessions

        fold_sessions(ws)  # what the hooks kept per machine becomes history with this close
        event = {"summary": summary, "completed": latest.completed, "next_steps": next_steps, "sha": sha}
        if logged is None or not _logged_event(ws.store, event):
            ws.event("session_close", **event)
        # The log's last lines, as boot reads them: a bad one is named now, not at the next boot
        # (after the append, which sets a torn last line aside and says so itself).
        ws.store.recent_events(CHECKED_LINES)
        write_generated(ws)
        commit_sha, secrets = None, []

        def scan(added: dict, message: str) -> None:
            # Loaded only here: detect-secrets is slow to import, and only a commit needs it.
            from .secret_scan import scan as find

            secrets.extend(find(ws.root_dir, added, message, config.secrets_allow, ws.store.generated))

        if commit:
            try:
                commit_sha = commits.commit_paths(ws.root_dir, ws.store.committed_paths(config.context_document),
                                                  f"tether: close session\n\n{summary}",
                                                  {"Tether-Session": ws.session_id}, inspect=scan)
            except GitProblem as exc:
                raise GitProblem(f"the session was closed but not committed: {exc}",
                                 hint=exc.hint or "commit .tether/ yourself") from None
    ensure_registered(ws.root_dir)  # a fresh clone that never ran `tether init` merges closes cleanly too
    uncommitted: list[str] = []
    if commit:  # the close commits tether's files only: the session's code changes are the user's to commit
        from ..gitio import status

        try:
            uncommitted = sorted(path for path in status.entries(ws.root_dir, ".")
                                 if not path.startswith(".tether/"))
        except GitProblem:
            uncommitted = []
    return CloseResult(date=date, file=file, latest=latest.to_dict(), completed=[t.id for t in tasks],
                       commit=commit_sha, context_document=config.context_document, secrets=secrets,
                       uncommitted=uncommitted)


class ProgressLogs(Record):
    FIELDS = {"dates": list, "logs": list}


def progress_logs(ws, date: str | None = None, limit: int = 1) -> ProgressLogs:
    """The dated progress logs: ``date`` (YYYY-MM-DD), else the newest ``limit``."""
    import re

    dates = ws.store.progress_dates()
    if date is not None and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", date):
        raise InvalidInput(f"invalid date {date!r}", hint="use YYYY-MM-DD, e.g. " + (dates[-1] if dates else "2026-11-21"))
    if limit < 1:
        raise InvalidInput(f"the limit must be at least 1, got {limit}", hint="e.g. 5 for the newest five")
    chosen = [date] if date else dates[-limit:]
    texts = []
    for day in chosen:
        data = ws.store.read_progress(day)
        if data is None:
            raise InvalidInput(f"no progress log for {day}", hint="dates with logs: " + (", ".join(dates[-5:]) or "none"))
        texts.append(data.decode("utf-8", "replace"))
    return ProgressLogs(chosen, texts)
