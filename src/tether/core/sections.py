"""What the brief says, section by section, from what boot gathered (core.boot.Snapshot).

Sections have no fixed caps: each list's first lines fill at its section's priority
(``HEAD``), the rest fill what budget is left (core.brief). What names the commit and
the long break's age are rendered at every boot (commit_lines, long_break).
"""

from __future__ import annotations

from ..model.ids import one_off
from . import long_break, teach
from .brief import Section
from .tasks import LAST_MESSAGE, Resume

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .boot import Snapshot

# Lines of each list filled at its section's priority; the rest fill what budget is left
# after every section's first lines (core.brief): an order of filling, not a cap.
HEAD = {"open_tasks": 1, "next_steps": 3, "blockers": 3, "donts": 3, "gotchas": 3, "decisions": 3,
        "active_task": 4, "learnings": 2, "notes": 2, "problems": 10, "campaign": 4, "audit": 3, "packets": 3, "relevant": 3,
        "pins": 5}


def pin_line(pin: dict) -> str:
    """A pin as the brief lists it (the SessionStart hook looks for it there: see hooks)."""
    return f"- {pin['text']} [{pin['id']}]"


def decision_line(d) -> str:
    return f"- {d.question} -> {d.decision} ({d.who + ', ' if d.who else ''}{d.when[:10]}; {d.id})"



def _note_line(n, active: str | None) -> str:
    owner = f" ({n.task})" if n.task and n.task != active else ""
    return f"- {n.text}{owner} [{n.id}]"



def _when(stamp: str | None) -> str:
    return (stamp or "?").replace("T", " ")[:16]



def sections(snap: Snapshot) -> list[Section]:
    """The brief's sections. What depends on the commit (the title, the state line, the plan's
    review step) is left to commit_lines, and the long-break heading to long_break, which render
    them at every boot."""
    # Shown first, filled after the open tasks: a tight budget keeps where to resume over this line.
    out = [Section("state", None, [""], priority=3.5)]  # its line: commit_lines.state_line
    if snap.problems:
        out.append(Section("problems", "## Problems (degraded: fix these files)",
                           [f"- {p}" for p in snap.problems], priority=1, more="tether index --check",
                           head=HEAD["problems"]))
    if snap.latest:
        lines = [f"{snap.latest.get('date', '?')} ({snap.latest_source}): {snap.latest.get('summary', '')}"]
        out.append(Section("last_progress", "## Last session", lines, priority=2, more="tether log"))
    else:
        unclosed = snap.since_close or snap.recorded_since_close
        out.append(Section("last_progress", "## Last session", ["No close recorded yet." if unclosed
                                                                else "No progress recorded yet."], priority=2))
    if snap.since_close or snap.recorded_since_close:  # filled after where to resume, which a tight budget keeps first
        out.append(Section("not_closed", "## Not closed", _since_lines(snap), priority=3.2))
    task_lines = [f"- {'ACTIVE ' if r.task.id == snap.active else ''}{r.message()}" for r in snap.tasks]
    if snap.active and not any(r.task.id == snap.active for r in snap.tasks):  # its task file does not read
        task_lines.insert(0, f"- ACTIVE {snap.active}: its task file cannot be read (see Problems); checkpoints"
                             f" are still saved to it, and `tether resume` says what they say, until it is"
                             f" repaired (or `tether task switch ID`)")
    heading = f"## Open tasks ({len(task_lines)})"
    if snap.chosen:  # what a bare checkpoint would reach, and why the hooks checkpoint nothing
        task_lines.insert(0, f"- {snap.chosen}, the task chosen on this machine, is not open here (closed, or on"
                             f" another branch): {snap.active} stands in as ACTIVE, and no automatic checkpoint is"
                             " made until a task is chosen (`tether task switch ID`)")
    out.append(Section("open_tasks", heading, task_lines or ["- No open tasks."],
                       priority=3, more="tether task list", head=HEAD["open_tasks"]))
    active = next((r for r in snap.tasks if r.task.id == snap.active), None)
    scoped = [n for n in snap.notes if n.task is not None and n.task == snap.active]
    if active is not None:
        details = _active_lines(active, scoped)
        if details:
            out.append(Section("active_task", f"## Active task {active.task.id}", details, priority=4.5,
                               more=f"tether resume {active.task.id}", head=HEAD["active_task"]))
    next_steps = [str(s) for s in (snap.latest or {}).get("next_steps", []) or []]
    if next_steps:
        overtaken = _overtaken_by(snap)
        heading = f"## Next steps at the last close (before {overtaken}: some may be done)" if overtaken \
            else "## Next steps"
        out.append(Section("next_steps", heading, [f"- {s}" for s in next_steps], priority=4,
                           more="tether log", head=HEAD["next_steps"]))
    if snap.pins:
        out.append(Section("pins", "## Pinned (keep these verbatim)", [pin_line(p) for p in snap.pins],
                           priority=4.6, more="tether pin --list", head=HEAD["pins"]))
    # The active task's entries are shown under it; the newest of the others first. What is shown
    # as relevant to an open task is not shown again in its own section.
    older = {(r["kind"], r["id"]) for r in snap.relevant}
    general = [n for n in snap.notes if (n.task is None or n.task != snap.active) and (n.kind, n.id) not in older]
    for key, kind, heading, priority in (("blockers", "blocker", "## Blockers", 5), ("donts", "dont", "## What NOT to do", 6),
                                         ("gotchas", "gotcha", "## Gotchas", 7), ("phase", "phase", "## Where we are", 3),
                                         ("learnings", "learning", "## Learnings", 9), ("notes", "note", "## Notes", 11)):
        chosen = [n for n in (snap.notes if kind == "phase" else general) if n.kind == kind]
        if kind == "phase":  # the newest phase is where we are: of the project, or of the active task
            chosen = [n for n in chosen if n.task is None or n.task == snap.active][-1:]
        if chosen:
            out.append(Section(key, heading, [_note_line(n, snap.active) for n in reversed(chosen)],
                               priority=priority, more="tether note list", head=HEAD.get(key)))
    if snap.campaigns:
        out.append(Section("campaign", "## Open campaigns (`tether ctx`)", _campaign_lines(snap.campaigns),
                           priority=5.5, more="tether ctx show", head=HEAD["campaign"]))
    if snap.audit and snap.audit["findings"]:
        found = snap.audit["findings"]
        out.append(Section("audit", f"## Forgotten obligations ({len(found)}; `tether audit` at {_when(snap.audit['at'])})",
                           [f"- {f.get('where')}: [{f.get('rule')}] {f.get('message')}" for f in found],
                           priority=4.7, more="tether audit", head=HEAD["audit"]))
    if snap.packets:
        out.append(Section("packets", f"## New offload packets for the open tasks ({len(snap.packets)})",
                           [f"- {p['title']} ({p['kind']} {p['id']} in {p['cluster']}; shares: {', '.join(p['words'][:4])})"
                            for p in snap.packets], priority=7.5, more="tether offload list", head=HEAD["packets"]))
    if snap.relevant:
        tasks = list(dict.fromkeys(r["task"] for r in snap.relevant))
        heading = f"## Older, relevant to {tasks[0]}" if len(tasks) == 1 else "## Older, relevant to the open tasks"
        out.append(Section("relevant", heading,
                           [f"- {'' if len(tasks) == 1 else r['task'] + ', '}{r['kind']}: {r['text']} ({r['when']}; {r['id']})"
                            for r in snap.relevant], priority=6.5, more="tether recall", head=HEAD["relevant"]))
    recent = [d for d in snap.decisions if ("decision", d.id) not in older]
    if recent:
        # The decisions beyond boot's window shown as relevant are not among the left-out ones.
        read = {d.id for d in snap.decisions}
        beyond = len([r for r in snap.relevant if r["kind"] == "decision" and r["id"] not in read])
        out.append(Section("decisions", f"## Recent decisions ({snap.decisions_total} in all)",
                           [decision_line(d) for d in recent], priority=8, more="tether decide --list",
                           hidden=snap.decisions_total - len(snap.decisions) - beyond, head=HEAD["decisions"]))
    reading = list(dict.fromkeys([snap.config.context_document, *snap.config.reading_order]))
    out.append(Section("reading_order", "## Reading order",
                       [f"{i}. {p}" for i, p in enumerate(reading, 1)], priority=9, more="tether config"))
    # Its heading and whether it shows at all: long_break.render, at every boot.
    out.append(Section("long_break", "", long_break.lines(reading, snap.decisions, snap.notes,
                                                         (snap.latest or {}).get("generated_at")), priority=3.6))
    unit = active.task.unit_name if active is not None and active.total else None
    out.append(Section("teach", "## How to keep tether current",
                       teach.lines(snap.prime.encode("utf-8") if snap.prime is not None else None,
                                   snap.active, unit, active.next_number if active is not None else None),
                       priority=8.5))
    out.append(Section("plan", "## Proposed plan", _plan(snap), priority=10))
    order = ["state", "problems", "long_break", "phase", "last_progress", "not_closed", "open_tasks", "active_task",
             "next_steps", "audit", "pins", "blockers", "donts", "gotchas", "relevant", "campaign", "packets", "decisions",
             "learnings", "notes", "reading_order", "plan", "teach"]
    out.sort(key=lambda s: order.index(s.key))
    return out



# Characters of an automatic checkpoint's note the brief shows (`tether resume` shows all of it).
SEEN_SHOWN = 400


def _seen(note: str) -> str:
    """An automatic checkpoint's note in at most SEEN_SHOWN characters: what it recorded is
    shortened before the agent's last message, the freshest thing it knew."""
    note = " ".join(note.split())
    if len(note) <= SEEN_SHOWN:
        return note
    head, mark, message = note.partition(" " + LAST_MESSAGE)
    if mark:
        room = max(SEEN_SHOWN - len(mark) - len(message), 60)
        note = (head if len(head) <= room else head[:room - 1].rstrip() + "…") + mark + message
    return note if len(note) <= SEEN_SHOWN else note[:SEEN_SHOWN - 1].rstrip() + "…"


def _active_lines(active: Resume, scoped: list) -> list[str]:
    """The active task's success criteria, the newest checkpoint's state, what an automatic
    checkpoint made after the agent's own saw (its note: the calls, the records, the agent's last
    message), its files and saved results, and the entries that belong to it. The state and what
    was seen come first: they fill at the section's priority before its lists."""
    ckp, out = active.checkpoint, []
    if active.task.criteria:
        out.append("- Success criteria: " + "; ".join(active.task.criteria))
    if ckp is not None and ckp.current_state:
        out.append(f"- State at {active.state_at()}: {ckp.current_state}")
    out += [f"- {line}" for line in active.parallel_lines()]  # another clone's end of the same task
    if ckp is not None and ckp.automatic and ckp.note:
        out.append(f"- Seen by {ckp.id} (automatic): {_seen(ckp.note)}")
    if active.files:
        out.append("- Files modified: " + "; ".join(active.files))
    if ckp is not None and ckp.results:
        out.append("- Results saved: " + ", ".join(ckp.results) + f" (`tether task status {active.task.id}`)")
    out += [f"- {n.kind}: {n.text} [{n.id}]" for n in reversed(scoped)]
    return out



def _campaign_lines(campaigns: list[dict]) -> list[str]:
    out = []
    for c in campaigns:
        left = [f"{c['calls_left']} skill calls" if c["calls_left"] is not None else None,
                f"{c['tokens_left']} tokens" if c["tokens_left"] is not None else None]
        budget = " and ".join(x for x in left if x) or "no limit set"
        due = f", deadline {c['deadline']}" if c["deadline"] else ""
        out.append(f"- {c['campaign']}: stage {c['stage']}, budget left {budget}{due},"
                   f" {len(c['pending'])} pending decision(s) ({c['path']})")
        out += [f"  - pending {p['id']}: {p['question']}" for p in c["pending"]]
    return out



SINCE_SHOWN = 3  # open tasks the "Not closed" line names; it counts the others


def _since_lines(snap: Snapshot) -> list[str]:
    return not_closed_lines(snap.since_close, snap.recorded_since_close, bool(snap.latest))


RECORDS_SHOWN = 3  # ids of what the session recorded the line names; it counts the others


def not_closed_lines(rows: list[dict], recorded: list[dict], closed: bool) -> list[str]:
    """The work done after the last close (or with no close at all, ``closed`` False) and never
    closed: a session that crashed, or is running. Its checkpoints, not the close, say where the
    work is (``rows``: boot's since_close); a session that only recorded decisions or context
    entries is named too, the newest only, as for checkpoints (``recorded``: boot's
    recorded_since_close)."""
    out = _checkpointed_line(rows, closed) if rows else []
    if recorded:
        row = recorded[0]
        made = " and ".join(f"{len(row[key])} {one if len(row[key]) == 1 else many}"
                            for key, one, many in (("decisions", "decision", "decisions"),
                                                   ("entries", "context entry", "context entries")) if row[key])
        ids = row["decisions"] + row["entries"]
        shown = ", ".join(ids[:RECORDS_SHOWN]) + (", …" if len(ids) > RECORDS_SHOWN else "")
        said = ("Also after that close, " if rows else "After that close, ") if closed else \
            ("Also, " if rows else "No session has closed yet; ")
        session = row["session"]
        out.append(f"{said}session {session} recorded {made} ({shown}; the newest at {_when(row['at'])} UTC) and"
                   f" did not close (`tether log --session {session}` lists what it did).")
    return out


def _checkpointed_line(rows: list[dict], closed: bool) -> list[str]:
    parts = []
    shown = rows[:SINCE_SHOWN]
    # A terminal's one-off checkpoint is no session left open: only uncommitted work to close.
    alone = all(one_off(row["session"]) for row in shown)
    for row in shown:
        count, first, newest = row["count"], row["first"], row["newest"]
        # the newest checkpoint's session only: the earlier ones may be other sessions'
        by = "" if not row["session"] or alone else ", from the command line" if one_off(row["session"]) \
            else f", by session {row['session']}"
        made = f"the newest at {_when(row['at'])} UTC" + (", automatic" if row["automatic"] else "") + by
        if count is None:
            parts.append(f"{row['task']} up to {newest} ({made})")
        else:
            span = newest if count == 1 else f"{first} to {newest}"
            parts.append(f"{count} checkpoint{'s' if count != 1 else ''} of {row['task']} ({span}; {made})")
    more = len(rows) - len(shown)
    if more:
        parts.append(f"{more} more open task{'s' if more > 1 else ''} (`tether task list`)")
    said = ("After that close, work was checkpointed from the command line: " if alone else
            "After that close, work was checkpointed and no session closed: ") if closed else \
        "No session has closed yet; work was checkpointed: "
    return [said + "; ".join(parts) + ". Where it stopped is under Open tasks."]


def _overtaken_by(snap: Snapshot) -> str | None:
    """The checkpoint that followed the last close ("CKP-0002 of T1", the active task's first),
    None when none did: the close's next steps are older than where the work is."""
    if snap.latest is None or not snap.since_close:
        return None
    row = snap.since_close[0]
    return f"{row['first'] or row['newest']} of {row['task']}"


def _plan(snap: Snapshot) -> list[str]:
    steps = []
    if snap.problems:
        steps.append(f"Repair the {len(snap.problems)} problem(s) listed above (state is degraded).")
    active = next((r for r in snap.tasks if r.task.id == snap.active), None)
    if active:
        steps.append(f"Resume {active.task.id}: {active.next_step() or 'continue from its last checkpoint'}"
                     " (`tether resume`), checkpoint every few items.")
    elif snap.active:
        steps.append(f"Repair {snap.active}'s task file (named under Problems): until then `tether resume` knows"
                     " only what its checkpoints say (not its steps or items). Or switch tasks with"
                     " `tether task switch ID`.")
    overtaken = _overtaken_by(snap)
    if overtaken and (snap.latest or {}).get("next_steps"):
        # Checkpoints followed that close: its next steps are no plan, only something to check.
        steps.append(f"Check which of the last close's next steps are still to do (they predate {overtaken}).")
    for step in [] if overtaken else [str(s) for s in (snap.latest or {}).get("next_steps", []) or []][:3]:
        if not active or step != active.task.id:
            steps.append(f"Then: {step}" if steps else step)
    blockers = [n for n in snap.notes if n.kind == "blocker"]
    if blockers:
        steps.append(f"Clear the blocker: {blockers[-1].text}")
    steps.append('End with `tether close --summary "..." --next "..." --commit` so the next session starts here.')
    return steps  # numbered by commit_lines.plan, which adds the review step when files differ
