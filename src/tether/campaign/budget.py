"""Compute budget (seed 004, "Budget Enforcement"): skill calls, tokens and the deadline.

The counters in ``compute`` are the seed's; tether keeps the two "remaining"
figures derived from the task's budget so a person reading the file sees them.
"""

from __future__ import annotations

from ..model import clock
from .verdict import Verdict


def limits(doc: dict) -> dict:
    return (doc.get("active_task") or {}).get("budget") or {}


def remaining(doc: dict) -> dict:
    """Calls and tokens left (None when the task sets no limit) and the deadline."""
    compute = doc.get("compute") or {}
    budget = limits(doc)
    calls, tokens = budget.get("max_skill_calls"), budget.get("max_tokens")
    return {
        "calls": None if calls is None else calls - int(compute.get("skills_invoked") or 0),
        "tokens": None if tokens is None else tokens - int(compute.get("tokens_used") or 0),
        "deadline": budget.get("deadline"),
    }


def refresh(doc: dict) -> None:
    """Rewrite the derived ``budget_remaining`` and ``budget_tokens_remaining``."""
    compute = doc.setdefault("compute", {})
    compute.setdefault("skills_invoked", 0)
    left = remaining(doc)
    if left["calls"] is not None:
        compute["budget_remaining"] = left["calls"]
    compute.setdefault("tokens_used", 0)
    if left["tokens"] is not None:
        compute["budget_tokens_remaining"] = left["tokens"]
    compute.setdefault("invocation_log", [])
    # Keep the seed's order: counters first, the log last.
    compute["invocation_log"] = compute.pop("invocation_log")


def record_invocation(doc: dict, skill: str, tokens: int, result: str, now: str,
                      invocation_id: str | None = None, calls: int = 1) -> dict:
    """Count a skill call (``calls`` 0 for a refused one) and log it; every invocation is logged."""
    compute = doc.setdefault("compute", {})
    compute["skills_invoked"] = int(compute.get("skills_invoked") or 0) + calls
    compute["tokens_used"] = int(compute.get("tokens_used") or 0) + tokens
    entry = {"skill": skill, "timestamp": now, "tokens": tokens, "result": result}
    if invocation_id:
        entry["invocation_id"] = invocation_id
    compute.setdefault("invocation_log", []).append(entry)
    refresh(doc)
    return entry


def owner(doc: dict) -> str:
    return (doc.get("campaign") or {}).get("campaign_owner") or "the campaign owner"


def check(doc: dict, cost: int = 1, tokens: int = 0, now: str | None = None) -> Verdict:
    """ALLOWED, or BLOCKED with the limit that stops it and whom to ask."""
    left = remaining(doc)
    escalate = f"Escalate to {owner(doc)} for budget approval"
    facts = {"cost": cost, "tokens": tokens, "calls_remaining": left["calls"],
             "tokens_remaining": left["tokens"], "deadline": left["deadline"]}
    if (doc.get("campaign") or {}).get("status") == "closed":
        return Verdict(False, "The campaign is closed", "campaign.status", "Open a new session context", facts)
    if left["deadline"]:
        try:
            late = clock.parse(now or clock.stamp()) > clock.parse(str(left["deadline"]))
        except ValueError:
            late = False
        if late:
            return Verdict(False, f"The deadline {left['deadline']} has passed", "active_task.budget.deadline",
                           escalate, facts)
    if left["calls"] is not None and cost > left["calls"]:
        return Verdict(False, f"Request exceeds remaining budget ({cost} > {left['calls']} skill call"
                              f"{'s' if left['calls'] != 1 else ''})",
                       "active_task.budget.max_skill_calls", escalate, facts)
    if left["tokens"] is not None and tokens > left["tokens"]:
        return Verdict(False, f"Request exceeds remaining tokens ({tokens} > {left['tokens']})",
                       "active_task.budget.max_tokens", escalate, facts)
    parts = []
    if left["calls"] is not None:
        parts.append(f"{left['calls'] - cost} skill call{'s' if left['calls'] - cost != 1 else ''}")
    if left["tokens"] is not None:
        parts.append(f"{left['tokens'] - tokens} tokens")
    reason = "Within budget" + (f": {' and '.join(parts)} left after it" if parts else " (no limits set)")
    return Verdict(True, reason, "active_task.budget", "Proceed", facts)
