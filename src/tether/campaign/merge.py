"""Merging a skill's result into the session context (seed 004, "Writing Context").

The rules, each in one place below:
- artifacts are upserted by path;
- pending decisions are appended with ids (a question already pending is not added twice);
- tokens and the invocation are added to compute;
- validations are replaced per validator;
- knowledge is merged: new keys are added, lists gain the items they lack, and a
  value another actor set is never replaced silently: the update is refused
  unless the result lists the path in ``overrides``; owner-approved entries
  (those with ``approved_by``) cannot be changed or forged by a skill at all;
- history gains an entry naming the revision and every path the result changed.
A result based on an older revision (``base_revision``) is refused when something
it would overwrite changed since (a key added beside a later change is not
overwriting it). Refusals list every reason; nothing is half-applied.
"""

from __future__ import annotations

from ..errors import InvalidInput, Refused
from . import budget
from .decisions import add_pending
from .lifecycle import refuse_if_closed
from .schema import validate

UPDATE_KEYS = ("artifacts", "knowledge", "pending_decisions", "validations", "compute", "history",
               "decisions_made", "campaign", "active_task")
OWNER_ONLY = {
    "decisions_made": "only the campaign owner decides (`tether ctx decide ID`); report it as a pending decision",
    "campaign": "a skill cannot change the campaign; escalate it to {owner}",
    "active_task": "a skill cannot change the task's scope or budget; escalate it to {owner}",
}


def normalize(raw, skill: str | None = None) -> dict:
    """Accept ``skill_result:`` (the handoff), ``context_update:`` (Writing Context) or the bare mapping."""
    if isinstance(raw, dict) and len(raw) == 1 and next(iter(raw)) in ("skill_result", "context_update"):
        raw = next(iter(raw.values()))
    if not isinstance(raw, dict):
        raise InvalidInput("a skill result must be a mapping",
                           hint="see the skill_result shape in `tether ctx schema skill_result`")
    bad = validate("skill_result", raw)
    if bad:
        path, _, message = bad[0]
        raise InvalidInput(f"skill result: {path}: {message}", hint="see `tether ctx schema skill_result`")
    updates: dict = {}
    for source in (raw, raw.get("context_updates") or {}):
        for key in UPDATE_KEYS:
            if key in source:
                if key in updates and key != "artifacts":
                    raise InvalidInput(f"skill result: {key} is given twice",
                                       hint="put it either in context_updates or at the top level")
                updates[key] = updates.get(key, []) + source[key] if key == "artifacts" else source[key]
    artifacts = (raw.get("outputs") or {}).get("artifacts")
    if artifacts:
        updates["artifacts"] = artifacts + updates.get("artifacts", [])
    name = raw.get("skill") or skill
    if not name:
        raise InvalidInput("the result names no skill", hint="add `skill: NAME` to it, or pass --skill NAME")
    return {"skill": name, "status": raw.get("status", "success"), "updates": updates,
            "base_revision": raw.get("base_revision"), "invocation_id": raw.get("invocation_id"),
            "overrides": list(raw.get("overrides") or []), "next_suggested": raw.get("next_suggested"),
            "summary": raw.get("summary") or (raw.get("outputs") or {}).get("summary")}


# -- provenance: who last set each path, from history ---------------------------------

MERGED_ACTION = "clones_merged"  # the history entry of a merge of two clones' versions (campaign.clones)

def changes_since(doc: dict, revision: int, merged: bool = False) -> dict[str, tuple[int, str]]:
    """path -> (revision, actor) of the newest change after ``revision``. ``merged``: a merge of two
    clones (campaign.clones) counts as changing what either clone changed since they parted, for
    the stale check only (it sets nothing, so it is nobody's provenance)."""
    out = {}
    for entry in doc.get("history") or []:
        rev = entry.get("revision")
        if isinstance(rev, int) and rev > revision:
            for path in entry.get("changed") or []:
                out[path] = (rev, entry.get("actor") or "someone")
            if merged and entry.get("action") == MERGED_ACTION:
                for path in entry.get("merged_changes") or []:
                    out[path] = (rev, "a merge of two clones")
    return out


def _setter(provenance: dict, path: str):
    """(revision, actor) of the newest record for ``path`` or an ancestor of it; None when nobody recorded it.

    The newest wins: a later replacement of ``knowledge.product`` owns ``knowledge.product.chains``
    even though an older record names the child itself.
    """
    found = []
    while True:
        if path in provenance:
            found.append(provenance[path])
        cut = path.rfind(".")
        if cut < 0:
            return max(found, key=lambda hit: hit[0]) if found else None
        path = path[:cut]


def _others_inside(provenance: dict, path: str, actor: str) -> list[str]:
    """Actors other than ``actor`` that set something below ``path``."""
    prefix = path + "."
    return sorted({who for p, (_, who) in provenance.items() if p.startswith(prefix) and who != actor})


def _approver(value):
    if isinstance(value, dict):
        return value.get("approved_by")
    return None


def _approvers(value) -> list:
    """Everyone who approved something inside ``value`` (an override must not erase it)."""
    if isinstance(value, dict):
        own = [value["approved_by"]] if value.get("approved_by") else []
        return own + [a for v in value.values() for a in _approvers(v)]
    if isinstance(value, list):
        return [a for v in value for a in _approvers(v)]
    return []


class _KnowledgeMerge:
    def __init__(self, actor: str, overrides: list[str], provenance: dict) -> None:
        self.actor, self.overrides, self.provenance = actor, set(overrides), provenance
        self.changed: list[str] = []
        self.reasons: list[str] = []

    def refuse(self, path: str, why: str) -> None:
        self.reasons.append(f"{path}: {why}")

    def forged(self, path: str, value) -> bool:
        """A skill never writes an approval, at any depth: only the owner's `ctx decide` records one.

        (The skill's name is whatever its result says, so "approved by myself" proves nothing.)
        """
        for who in _approvers(value):
            self.refuse(path, f"a skill cannot record an approval by {who}; escalate it as a pending decision")
            return True
        return False

    def set(self, target: dict, key: str, value, path: str) -> None:
        if not self.forged(path, value):
            target[key] = value
            self.changed.append(path)

    def merge(self, target: dict, update: dict, prefix: str) -> None:
        for key, new in update.items():
            path = f"{prefix}.{key}"
            if key not in target:
                self.set(target, key, new, path)
                continue
            old = target[key]
            if old == new:
                continue
            if _approver(old):
                self.refuse(path, f"approved by {_approver(old)}; a skill cannot change an owner-approved entry")
            elif path in self.overrides:
                if _approvers(old):
                    self.refuse(path, f"holds entries approved by {', '.join(sorted(set(_approvers(old))))}; "
                                      "overrides cannot replace owner-approved entries")
                else:
                    self.set(target, key, new, path)
            elif isinstance(old, dict) and isinstance(new, dict):
                self.merge(old, new, path)
            elif isinstance(old, list) and isinstance(new, list):
                self.extend(old, new, path)
            else:
                setter = _setter(self.provenance, path)
                others = _others_inside(self.provenance, path, self.actor) if isinstance(old, dict) else []
                if others:
                    self.refuse(path, f"holds keys set by {', '.join(others)}; replacing it would drop them. "
                                      f"List {path} in the result's overrides to replace it anyway")
                elif setter is not None and setter[1] == self.actor:
                    self.set(target, key, new, path)
                else:
                    by = f"set by {setter[1]} at revision {setter[0]}" if setter else "set before this skill"
                    self.refuse(path, f"is {_brief(old)} ({by}); {self.actor} reports {_brief(new)}. "
                                      f"List {path} in the result's overrides to replace it, or escalate")

    def extend(self, old: list, new: list, path: str) -> None:
        approved = any(_approver(item) for item in old)
        for item in new:
            if item in old:
                continue
            if approved:
                self.refuse(path, "holds owner-approved entries; a skill proposes a new one as a pending decision")
                continue
            if self.forged(path, item):
                continue
            old.append(item)
            self.changed.append(f"{path}[+]")


def _brief(value) -> str:
    import json

    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _write_paths(update: dict) -> list[tuple[str, tuple | None]]:
    """The paths a result would overwrite (appends to lists never conflict), each with its keys from
    the top of the context (None where the path is not a walk through mappings)."""
    out: list[tuple[str, tuple | None]] = []

    def walk(value, path, keys):
        if isinstance(value, dict) and value:
            for key, sub in value.items():
                walk(sub, f"{path}.{key}", (*keys, key))
        elif not isinstance(value, list):
            out.append((path, keys))

    walk(update.get("knowledge") or {}, "knowledge", ("knowledge",))
    out += [(f"artifacts[{a['path']}]", None) for a in update.get("artifacts") or []]
    out += [(f"validations.{name}", None) for name in update.get("validations") or {}]
    return out


def _exists(doc: dict, keys: tuple) -> bool:
    return _at(doc, keys)[0]


def _at(doc: dict, keys: tuple) -> tuple[bool, object]:
    """(whether ``keys`` lead to a value in ``doc``, the value)."""
    value = doc
    for key in keys:
        if not isinstance(value, dict) or key not in value:
            return False, None
        value = value[key]
    return True, value


def _stale_reasons(doc: dict, result: dict, current: int) -> list[str]:
    """What a result based on an older revision would overwrite that changed since. A change recorded
    at the path itself touched it; one recorded at a parent (a mapping set whole) touched it only if
    the path is in the context now: a skill that adds ``w.b`` after another set ``w`` to ``{a: 1}``
    overwrites nothing. (A parent replaced by an override may have dropped the path; adding it back
    loses nothing either writer set.) A path given the value it holds now overwrites nothing either."""
    base = result["base_revision"]
    if base is None or base == current:
        return []
    if base > current:
        raise InvalidInput(f"the result is based on revision {base}, but the context is at revision {current}",
                           hint="base_revision must come from `tether ctx for SKILL` on this context")
    since = changes_since(doc, base, merged=True)
    reasons = []
    for path, keys in _write_paths(result["updates"]):
        if keys is not None and _at(doc, keys) == (True, _at(result["updates"], keys)[1]):
            continue  # it writes what is there now: an equal value changes nothing, overwrites nothing
        hit = since.get(path)
        if hit is None and (keys is None or _exists(doc, keys)):
            hit = _setter(since, path)
        if hit:
            reasons.append(f"{path}: changed at revision {hit[0]} by {hit[1]} after revision {base}, "
                           f"which this result was based on")
    return reasons


def apply_result(doc: dict, result: dict, *, revision: int, now: str,
                 expect_revision: int | None = None) -> dict:
    """Merge a normalized result into ``doc`` in place, or raise Refused and leave it untouched."""
    current = revision - 1
    skill, updates = result["skill"], result["updates"]
    refuse_if_closed(doc)
    if expect_revision is not None and expect_revision != current:
        raise Refused(f"stale update: expected revision {expect_revision}, the context is at revision {current}",
                      hint="read it again (`tether ctx show`) and re-apply")
    reasons = [f"{key}: {why.format(owner=budget.owner(doc))}" for key, why in OWNER_ONLY.items() if key in updates]
    log = (doc.get("compute") or {}).get("invocation_log") or []
    if result["invocation_id"] and any(e.get("invocation_id") == result["invocation_id"] for e in log):
        reasons.append(f"invocation_id: {result['invocation_id']} was already applied; a retry must not count twice")
    reasons += _stale_reasons(doc, result, current)

    knowledge = _KnowledgeMerge(skill, result["overrides"], changes_since(doc, -1))
    merged_knowledge = dict(doc.get("knowledge") or {})
    if updates.get("knowledge"):
        import copy

        merged_knowledge = copy.deepcopy(merged_knowledge)
        knowledge.merge(merged_knowledge, updates["knowledge"], "knowledge")
    reasons += knowledge.reasons
    if reasons:
        raise Refused(f"{skill}'s result was refused ({len(reasons)} reason{'s' if len(reasons) > 1 else ''})",
                      hint="nothing was applied; fix the result or escalate to " + budget.owner(doc),
                      reasons=reasons)

    changed = list(knowledge.changed)
    if updates.get("knowledge"):
        doc["knowledge"] = merged_knowledge
    changed += _upsert_artifacts(doc, updates.get("artifacts") or [], skill, now)
    decisions = []
    for request in updates.get("pending_decisions") or []:
        entry, added = add_pending(doc, request, raised_by=skill, now=now)
        decisions.append({"id": entry["id"], "added": added})
        if added:
            changed.append(f"pending_decisions[{entry['id']}]")
    for name, validation in (updates.get("validations") or {}).items():
        doc.setdefault("validations", {})[name] = {"last_run": now, **validation}
        changed.append(f"validations.{name}")
    tokens = int((updates.get("compute") or {}).get("tokens_used") or 0)
    budget.record_invocation(doc, skill, tokens, result["status"], now, result["invocation_id"])
    history = doc.setdefault("history", [])
    for entry in updates.get("history") or []:
        # The skill speaks for itself only: who, which revision and what changed are tether's to record.
        own = {k: v for k, v in entry.items() if k not in ("actor", "revision", "changed")}
        history.append({"timestamp": now, "actor": skill, **own})
    campaign = doc.setdefault("campaign", {})
    if campaign.get("status") in (None, "kickoff"):
        campaign["status"] = "in_progress"
    details = result["summary"] or f"{result['status']}: {len(changed)} change(s), {tokens} tokens"
    if result["next_suggested"]:
        details += f"; next suggested: {result['next_suggested']}"
    history.append({"action": "skill_result_applied", "timestamp": now, "actor": skill, "details": details,
                    "revision": revision, "changed": changed})
    doc["last_updated"] = now
    return {"revision": revision, "skill": skill, "status": result["status"], "changed": changed,
            "decisions": decisions, "tokens": tokens, "next_suggested": result["next_suggested"],
            "budget": budget.remaining(doc)}


def _upsert_artifacts(doc: dict, artifacts: list, skill: str, now: str) -> list[str]:
    existing = doc.setdefault("artifacts", [])
    by_path = {a.get("path"): a for a in existing}
    changed = []
    for artifact in artifacts:
        current = by_path.get(artifact["path"])
        if current is None:
            fields = {"produced_by": skill, "timestamp": now, **artifact}
            entry = {"type": fields.pop("type", "artifact"), "path": fields.pop("path")}
            entry.update(fields)
            existing.append(entry)
            by_path[entry["path"]] = entry
        else:  # the producer stays; who touched it last is recorded beside it
            current.update({"timestamp": now, **artifact})
            if current.get("produced_by") != skill:
                current["updated_by"] = skill
        changed.append(f"artifacts[{artifact['path']}]")
    return changed
