"""The context lifecycle (seed 004): kickoff, knowledge gathering, execution, review, close.

``campaign.status`` follows kickoff -> in_progress -> review -> published -> closed.
The first applied skill result moves kickoff to in_progress; people move it to
review and published; only ``close`` sets closed, after which nothing is applied.
"""

from __future__ import annotations

from ..errors import Conflict, InvalidInput, Refused
from . import budget

STAGES = ("kickoff", "in_progress", "review", "published", "closed")


def new_context(*, context_id: str, gtm_id: str, owner: str, now: str, title: str = "", tier: int | None = None,
                task_type: str = "", description: str = "", assigned_to: str | None = None,
                objectives: list[str] = (), boundaries: list[str] = (), out_of_scope: list[str] = (),
                max_skill_calls: int | None = None, max_tokens: int | None = None, deadline: str | None = None,
                past_learnings: list[str] = (), actor: str | None = None) -> dict:
    """A kickoff context in the seed's key order; ``past_learnings`` come from the workspace's memory."""
    campaign = {"gtm_id": gtm_id, "title": title or gtm_id}
    if tier is not None:
        campaign["tier"] = tier
    campaign.update({"campaign_owner": owner, "status": "kickoff"})
    task_budget = {}
    if max_skill_calls is not None:
        task_budget["max_skill_calls"] = max_skill_calls
    if max_tokens is not None:
        task_budget["max_tokens"] = max_tokens
    task_budget["deadline"] = deadline
    knowledge: dict = {}
    changed = []
    if past_learnings:
        knowledge["past_learnings"] = list(past_learnings)
        changed.append("knowledge.past_learnings")
    doc = {
        "id": context_id, "revision": 0, "started_at": now, "last_updated": now, "campaign": campaign,
        "active_task": {"type": task_type or "campaign", "description": description or title or gtm_id,
                        "assigned_to": assigned_to, "started_at": now,
                        "scope": {"objectives": list(objectives), "boundaries": list(boundaries),
                                  "out_of_scope": list(out_of_scope)},
                        "budget": task_budget},
        "knowledge": knowledge, "artifacts": [], "pending_decisions": [], "decisions_made": [], "validations": {},
        "compute": {},
        "history": [{"action": "session_started", "timestamp": now, "actor": actor or owner,
                     "details": f"Campaign kickoff of {gtm_id}"
                                + (f"; {len(past_learnings)} past learnings loaded from memory" if past_learnings else ""),
                     "revision": 0, "changed": changed}],
    }
    budget.refresh(doc)
    return doc


def refuse_if_closed(doc: dict) -> None:
    """A closed context takes no more changes: its archive and learnings are final."""
    if (doc.get("campaign") or {}).get("status") == "closed":
        raise Refused("the session context is closed", hint="start a new one with `tether ctx init`")


def set_stage(doc: dict, stage: str, now: str, by: str | None = None) -> str:
    if stage not in STAGES:
        raise InvalidInput(f"unknown stage {stage!r}", hint=f"use one of: {', '.join(STAGES[:-1])}")
    campaign = doc.setdefault("campaign", {})
    before = campaign.get("status", "kickoff")
    if before == "closed":
        raise Conflict("the session context is closed", hint="start a new one with `tether ctx init`")
    if stage == "closed":
        raise InvalidInput("use `tether ctx close` to close", hint="close archives the context and keeps its learnings")
    if stage == before:
        raise Conflict(f"the campaign is already {stage}", hint="run `tether ctx show`")
    campaign["status"] = stage
    doc.setdefault("history", []).append({"action": "status_changed", "timestamp": now, "actor": by,
                                          "details": f"{before} -> {stage}"})
    doc["last_updated"] = now
    return before


def close(doc: dict, now: str, by: str | None = None, summary: str = "") -> None:
    campaign = doc.setdefault("campaign", {})
    if campaign.get("status") == "closed":
        raise Conflict("the session context is already closed", hint="its archive is kept with the campaign")
    before = campaign.get("status", "kickoff")
    campaign["status"] = "closed"
    campaign["closed_at"] = now
    doc.setdefault("history", []).append({"action": "session_closed", "timestamp": now, "actor": by,
                                          "details": summary or f"closed from {before}"})
    doc["last_updated"] = now


def learnings(doc: dict, extra: list[str] = ()) -> list[str]:
    """What a later campaign should know: learnings, owner decisions, validation findings, spend."""
    gtm = (doc.get("campaign") or {}).get("gtm_id", "?")
    knowledge = doc.get("knowledge") or {}
    out = [str(x) for x in extra]
    out += [str(x) for x in knowledge.get("past_learnings") or []]
    for entry in knowledge.get("brand_decisions") or []:
        if isinstance(entry, dict) and entry.get("decision"):
            out.append(f"Brand decision ({gtm}, approved by {entry.get('approved_by', '?')}): {entry['decision']}")
    for name, result in (doc.get("validations") or {}).items():
        issues = [str(i) for i in (result or {}).get("issues") or []] if isinstance(result, dict) else []
        if issues:
            out.append(f"{name} found in {gtm}: {'; '.join(issues)}")
    seen, unique = set(), []
    for text in out:
        key = " ".join(text.split()).casefold()
        if key not in seen:
            seen.add(key)
            unique.append(" ".join(text.split()))
    return unique


def spend(doc: dict) -> dict:
    compute = doc.get("compute") or {}
    return {"skills_invoked": compute.get("skills_invoked", 0), "tokens_used": compute.get("tokens_used", 0),
            "artifacts": len(doc.get("artifacts") or []), "decisions_made": len(doc.get("decisions_made") or []),
            "pending_decisions": len(doc.get("pending_decisions") or [])}
