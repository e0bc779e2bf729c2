"""What the project remembers beside its tasks: decisions, context entries, the memory log.

Functions take the workspace (its store, session id and actor) and plain values.
"""

from __future__ import annotations

from ..errors import Conflict, InvalidInput, NotFound, ParseError
from ..model import clock, ids
from ..model.record import Record
from ..model.records import NOTE_KINDS, Decision, Found, Note
from ..store.eventlog import record as event_record


def decide(ws, question: str, decision: str, rationale: str = "", who: str | None = None,
           when: str | None = None, task: str | None = None, decision_id: str | None = None,
           anchors: list[str] | None = None) -> Decision:
    if not question.strip() or not decision.strip():
        raise InvalidInput("a decision needs a question and the decision taken",
                           hint='tether decide "Which model?" --decision "Phi-3" --rationale "..."')
    if decision_id is not None and not ids.valid_id(decision_id):
        raise InvalidInput(f"invalid decision id {decision_id!r}", hint="use letters, digits, '.', '_' and '-'")
    if when is not None:
        try:
            when = clock.stamp(clock.parse(when))
        except ValueError:
            raise InvalidInput(f"invalid time {when!r}", hint="use ISO 8601, e.g. 2026-11-21T10:00:00Z") from None
    if task is not None:
        task = ws.task(task).id  # a typo would tie the decision to nothing, silently
    from .anchors import pin

    pinned = pin(ws, anchors, [question, decision, rationale])
    now = clock.now()
    made = Decision(id=decision_id or ids.new_id("D", now), question=question.strip(), decision=decision.strip(),
                    rationale=rationale.strip(), who=who or ws.actor, when=when or clock.stamp(now), task=task,
                    anchors=pinned, session=ws.session_id)
    while True:
        try:
            ws.store.add_decision(made)
            break
        except Conflict as exc:
            if decision_id is not None:
                exc.hint = "choose another id, or let tether generate one"
                raise
            made.id = ids.new_id("D", now)  # a generated id met a local twin: draw again
    event(ws, "decision", decision=made.id)
    return made


def decisions(ws, limit: int | None = None) -> Found:
    """Decisions oldest first by their time; ``limit`` keeps the newest N."""
    store = ws.store
    with store.collecting() as problems:
        out = []
        for decision_id in store.decision_ids():
            try:
                out.append(store.load_decision(decision_id))
            except ParseError as exc:
                store.report(exc.problem)
        out.sort(key=lambda d: (d.when, d.id))
        if limit is not None:
            out = out[-limit:] if limit > 0 else []
        return Found(out, problems)


def note(ws, kind: str, text: str, by: str | None = None, task: str | None = None,
         anchors: list[str] | None = None) -> Note:
    """Add a context entry; with ``task``, it belongs to that open task and retires with it."""
    if kind not in NOTE_KINDS:
        raise InvalidInput(f"unknown entry kind {kind!r}", hint=f"use one of: {', '.join(NOTE_KINDS)}")
    if not text.strip():
        raise InvalidInput("an entry needs text", hint=f'tether note {kind} "..."')
    if task is not None:
        found = ws.task(task)  # a typo would tie the entry to nothing, silently
        if found.status != "open":
            raise Conflict(f"task {found.id} is {found.status}: its entries have retired with it",
                           hint=f"reopen it with `tether task reopen {found.id}`, or leave out --task")
        task = found.id
    from .anchors import pin

    pinned = pin(ws, anchors, [text])
    now = clock.now()
    entry = Note(id=ids.new_id("N", now), kind=kind, text=" ".join(text.split()), at=clock.stamp(now),
                 by=by or ws.actor, task=task, anchors=pinned, session=ws.session_id)
    with ws.store.lock("context"):
        # A generated id met a local twin: draw again (resolutions refer to entries by id).
        # Anywhere in the log counts as taken, a resolve line or a text quoting it too.
        taken = ws.store.note_ids_taken()
        while entry.id.encode("utf-8") in taken:
            entry.id = ids.new_id("N", now)
        ws.store.append_note(_entry_line(entry))
    # In the memory log too: what a session did (`tether log --session`), and what an automatic
    # checkpoint counts as recorded since the last one.
    event(ws, "note", False, entry.at, note=entry.id, kind=entry.kind)
    return entry


def _entry_line(entry: Note) -> dict:
    """A context entry's line: without the fields it leaves empty (no task, anchors or session), so
    that it reads as before those fields existed."""
    return {k: v for k, v in entry.to_dict().items()
            if k != "resolved" and (k not in ("task", "session") or v is not None) and (k != "anchors" or v)}


def retire_task_notes(ws, task_id: str) -> list[str]:
    """Resolve the current entries of a task that is no longer open: its blocker or phase must
    not follow the next task around. Returns the ids resolved."""
    with ws.store.lock("context"):
        stamp = clock.stamp()
        retired = [n.id for n in ws.store.notes() if n.task == task_id and not n.resolved]
        for note_id in retired:
            ws.store.append_note({"resolve": note_id, "at": stamp})
    return retired


def restore_task_notes(ws, note_ids: list[str]) -> list[str]:
    """Make current again the entries a task's close resolved (``note_ids``, the task's ``retired``),
    when it is reopened; one resolved by hand before stays resolved. Each is written again: its
    newest line is then the entry (store.notes). Returns their ids."""
    wanted = set(note_ids)
    with ws.store.lock("context"):
        stamp = clock.stamp()
        back = [n for n in ws.store.notes() if n.id in wanted and n.resolved]
        for entry in back:
            entry.at, entry.resolved = stamp, None
            ws.store.append_note(_entry_line(entry))
    return [n.id for n in back]


def resolve_note(ws, note_id: str) -> Note:
    matches = [n for n in ws.store.notes() if n.id == note_id]
    if not matches:
        raise NotFound(f"no context entry {note_id}", hint="run `tether note list` to see entry ids")
    if matches[0].resolved:
        raise Conflict(f"entry {note_id} is already resolved", hint="run `tether note list --all` to see it")
    stamp = clock.stamp()
    ws.store.append_note({"resolve": note_id, "at": stamp})
    matches[0].resolved = stamp
    return matches[0]


def notes(ws, include_resolved: bool = False) -> Found:
    with ws.store.collecting() as problems:
        return Found([n for n in ws.store.notes() if include_resolved or not n.resolved], problems)


def event(ws, name: str, durable: bool = True, at: str | None = None, **data) -> dict:
    """Append an event to the memory log, in this session's name."""
    row = event_record(name, ws.session_id, data, at)
    ws.store.append_event(row, durable)
    return row


# -- sessions: the per-machine session log, folded into the memory log at close -------------------

HOOK_EVENTS = ("session_start", "session_end", "pre_compact", "post_compact", "context_state")


def fold_sessions(ws) -> list[dict]:
    """One ``session`` event in the memory log for each session the session log has rows of that
    no close folded yet (this one, and earlier ones that ended without a close): so hooks change
    no tracked file, and the history still says when each session ran and what compacted it."""
    pending: dict[str, list[dict]] = {}
    for row in ws.store.session_events():
        session = row.get("session")
        if type(session) is not str:
            continue
        if row["event"] == "folded":
            pending.pop(session, None)
        else:
            pending.setdefault(session, []).append(row)
    folded = []
    # Checkpoints the hooks made (tool calls, risky commands, a full context) are in the memory log,
    # not the session log: PreCompact's alone is in both.
    made: dict[str, list[str]] = {}
    if pending:
        for row in ws.store.all_events():
            if row["event"] == "checkpoint" and row.get("automatic") and row.get("session") in pending:
                name = row.get("checkpoint")
                if isinstance(name, str) and name not in made.setdefault(row["session"], []):
                    made[row["session"]].append(name)
    for session, rows in pending.items():
        starts = [r for r in rows if r["event"] == "session_start"]
        ends = [r for r in rows if r["event"] == "session_end"]
        compactions = [r for r in rows if r["event"] == "pre_compact"]
        data = {"first_seen": rows[0]["at"], "last_seen": rows[-1]["at"], "starts": len(starts),
                "sources": sorted({str(r["source"]) for r in starts if r.get("source")}),
                "compactions": len(compactions),
                "automatic_checkpoints": list(dict.fromkeys(made.get(session, []) + [
                    r["checkpoint"] for r in compactions if isinstance(r.get("checkpoint"), str)])),
                "ended": str(ends[-1].get("reason") or "") or None if ends else None}
        row = event_record("session", session, data)
        ws.store.append_event(row)
        ws.store.append_session_event(event_record("folded", session, {}))
        folded.append(row)
    return folded


class SessionActivity(Record):
    """What one session did: its rows of the memory log and of this machine's session log, by time."""

    FIELDS = {"session": None, "events": list, "problems": list}

    def to_dict(self) -> dict:
        return {"session": self.session, "events": self.events, "problems": [p.to_dict() for p in self.problems]}


def session_activity(ws, session: str) -> SessionActivity:
    """``problems``: the memory log's lines that do not read (any of them may have been this session's)."""
    with ws.store.collecting() as problems:
        # The hooks' rows first: within one second, a session start comes before what the session did.
        rows = [r for r in ws.store.session_events() if r.get("session") == session and r["event"] in HOOK_EVENTS]
        rows += [e for e in ws.store.all_events() if e.get("session") == session]
    rows.sort(key=lambda r: r["at"])
    return SessionActivity(session, rows, list(problems))
