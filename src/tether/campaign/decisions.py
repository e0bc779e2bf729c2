"""Pending decisions and decisions made (seed 004): escalate, decide, list the overdue ones."""

from __future__ import annotations

import re

from ..model import clock
from ..errors import Conflict, InvalidInput, NotFound
from .lifecycle import refuse_if_closed

_NUMBERED = re.compile(r"^decision-(\d+)$")


def _same(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def next_id(doc: dict) -> str:
    """decision-NNN after the highest number pending or made (the seed's ids)."""
    numbers = [int(m.group(1)) for d in (doc.get("pending_decisions") or []) + (doc.get("decisions_made") or [])
               if (m := _NUMBERED.match(str(d.get("id", ""))))]
    return f"decision-{max(numbers, default=-1) + 1:03d}"


def add_pending(doc: dict, request: dict, raised_by: str | None, now: str) -> tuple[dict, bool]:
    """Escalate a question; a question already pending or decided is returned, not added twice."""
    question = request["question"].strip()
    for entry in (doc.get("pending_decisions") or []) + (doc.get("decisions_made") or []):
        if _same(str(entry.get("question", "")), question):
            return entry, False
    task_budget = (doc.get("active_task") or {}).get("budget") or {}
    deadline = request.get("deadline") or task_budget.get("deadline")
    if deadline:
        _check_time(deadline, "deadline")
    entry = {"id": next_id(doc), "question": question}
    if request.get("context"):
        entry["context"] = request["context"]
    if request.get("options"):
        entry["options"] = list(request["options"])
    entry.update({"escalated_to": request.get("escalated_to") or (doc.get("campaign") or {}).get("campaign_owner"),
                  "escalated_at": now, "status": "awaiting_response", "deadline": deadline})
    if raised_by:
        entry["raised_by"] = raised_by
    doc.setdefault("pending_decisions", []).append(entry)
    return entry, True


def _check_time(value, field: str) -> None:
    try:
        clock.parse(str(value))
    except ValueError:
        raise InvalidInput(f"invalid {field} {value!r}", hint="use ISO 8601, e.g. 2026-01-30T12:00:00Z") from None


def escalate(doc: dict, question: str, *, now: str, context: str = "", options: list[str] | None = None,
             owner: str | None = None, deadline: str | None = None, by: str | None = None) -> tuple[dict, bool]:
    refuse_if_closed(doc)
    if not question.strip():
        raise InvalidInput("a decision needs a question", hint='tether ctx escalate "Can we mention APY ranges?"')
    entry, added = add_pending(doc, {"question": question, "context": context, "options": options or [],
                                     "escalated_to": owner, "deadline": deadline}, raised_by=by, now=now)
    if added:
        doc.setdefault("history", []).append({"action": "decision_escalated", "timestamp": now, "actor": by,
                                              "details": f"{entry['id']}: {question} -> {entry['escalated_to']}"})
    return entry, added


def decide(doc: dict, decision_id: str, decision: str, *, now: str, by: str | None = None,
           rationale: str = "", record_in: str | None = None) -> dict:
    """Move a pending decision to decisions_made with who and when.

    ``record_in`` (e.g. ``brand_decisions``) also files it under knowledge as an
    owner-approved entry, which skills then cannot change.
    """
    refuse_if_closed(doc)
    if not decision.strip():
        raise InvalidInput("say what was decided", hint=f'tether ctx decide {decision_id} --decision "..."')
    pending = doc.get("pending_decisions") or []
    match = [d for d in pending if d.get("id") == decision_id]
    if not match:
        if any(d.get("id") == decision_id for d in doc.get("decisions_made") or []):
            raise Conflict(f"{decision_id} is already decided", hint="run `tether ctx decisions --all`")
        known = ", ".join(d.get("id", "?") for d in pending) or "none"
        raise NotFound(f"no pending decision {decision_id} (pending: {known})", hint="run `tether ctx decisions`")
    entry = match[0]
    who = by or entry.get("escalated_to") or (doc.get("campaign") or {}).get("campaign_owner")
    pending.remove(entry)
    made = {"id": entry["id"], "question": entry.get("question", ""), "decision": decision.strip(),
            "decided_by": who, "timestamp": now}
    if rationale.strip():
        made["rationale"] = rationale.strip()
    for key in ("context", "options", "raised_by"):  # keep what the owner decided on
        if entry.get(key):
            made[key] = entry[key]
    doc.setdefault("decisions_made", []).append(made)
    if record_in:
        knowledge = doc.setdefault("knowledge", {})
        entries = knowledge.setdefault(record_in, [])
        if not isinstance(entries, list):
            raise InvalidInput(f"knowledge.{record_in} is not a list", hint="use a list such as brand_decisions")
        entries.append({"decision": decision.strip(), "approved_by": who, "timestamp": now})
    doc.setdefault("history", []).append({"action": "decision_made", "timestamp": now, "actor": who,
                                          "details": f"{entry['id']}: {decision.strip()}"})
    return made


def overdue(doc: dict, now: str) -> list[dict]:
    """Pending decisions whose deadline has passed, oldest deadline first."""
    out = []
    reference = clock.parse(now)
    for entry in doc.get("pending_decisions") or []:
        deadline = entry.get("deadline")
        if not deadline:
            continue
        try:
            if clock.parse(str(deadline)) < reference:
                out.append(entry)
        except ValueError:
            continue  # the schema check reports a malformed time; listing must not crash on it
    return sorted(out, key=lambda d: str(d.get("deadline")))
