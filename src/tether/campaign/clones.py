"""Merging two clones' versions of one session context by meaning (git's three-way merge).

Two clones that each apply skill results to one campaign both change ``revision``,
``last_updated``, ``history`` and ``compute``, so git's text merge always conflicts.
Given the common base and both sides, this merges them section by section, with the
rules of merge.py where one applies:

- what one side added or changed and the other did not touch is taken; both making
  the same change is no conflict; mappings merge key by key, lists gain the items
  either side added (items a side removed are removed);
- an owner-approved entry (``approved_by``) is taken whole from the side that has it,
  never combined with the other side's;
- history and ``compute.invocation_log``: both sides' new entries, by time, once each;
  ``skills_invoked`` and ``tokens_used`` add both sides' increments since the base;
- artifacts by path, validations per validator (the newer ``last_run`` wins), pending
  decisions and decisions made by id: a decision made on one side and still pending on
  the other is made; two new decisions that took the same id keep both, the later one
  under the next free id;
- ``revision`` is one more than the greater side's (the merge is a change of its own,
  recorded in history), ``last_updated`` the later side's.

Both sides setting one value differently, or deciding one decision differently, is a
conflict: it is never guessed. The result is the same whichever side is "ours" (only
conflicts name the sides), so two clones that each merge the other agree.
Pure: bytes in, bytes out, no files, no processes.
"""

from __future__ import annotations

import json

from ..model import clock
from ..model.record import REQUIRED, Record
from ..store.codec import CONTEXT_CONFLICT_HEAD

MISSING = object()
ACTOR = "tether"
COUNTERS = ("skills_invoked", "tokens_used")
DERIVED = ("budget_remaining", "budget_tokens_remaining")  # budget.refresh writes them from the merged counters


class Clash(Record):
    """One value both sides set differently; ``where`` is (container, key) in the merged document."""

    FIELDS = {"path": REQUIRED, "base": None, "ours": None, "theirs": None, "where": None}

    def text(self) -> str:
        from .merge import _brief

        def shown(value) -> str:
            return "(removed)" if value is MISSING else _brief(value)

        return f"{self.path}: ours {shown(self.ours)}, theirs {shown(self.theirs)}"


class Merged(Record):
    """``data``: the file to write; ``clean``: no conflict; ``conflicts``: one line each;
    ``problem``: why the merge could not be made at all (then ``data`` is None)."""

    FIELDS = {"data": None, "clean": False, "conflicts": list, "problem": None}


def _canon(value) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def _moment(stamp) -> tuple:
    try:
        return (0, clock.parse(str(stamp)).timestamp(), str(stamp))
    except (ValueError, TypeError):
        return (-1, 0.0, str(stamp))  # a missing or hand-mangled time sorts first


class _Merge:
    def __init__(self, first_is_ours: bool) -> None:
        self.first_is_ours = first_is_ours
        self.clashes: list[Clash] = []
        self.notes: list[str] = []

    def ordered(self, ours, theirs) -> tuple:
        return (ours, theirs) if self.first_is_ours else (theirs, ours)

    def clash(self, path: str, base, ours, theirs, target, key):
        """Keep ours in place for now; the conflicted file shows both."""
        self.clashes.append(Clash(path, base, ours, theirs, (target, key)))
        return ours

    # -- the generic rule --------------------------------------------------------------------
    def value(self, base, ours, theirs, path: str, target, key):
        """The merged value at ``path`` (MISSING: absent), placed later at target[key]."""
        if _same_value(ours, theirs):
            return ours
        if _same_value(ours, base):
            return theirs
        if _same_value(theirs, base):
            return ours
        approved = any(isinstance(v, dict) and v.get("approved_by") for v in (base, ours, theirs))
        if not approved and isinstance(ours, dict) and isinstance(theirs, dict):
            return self.mapping(base if isinstance(base, dict) else {}, ours, theirs, path)
        if isinstance(ours, list) and isinstance(theirs, list):
            return self.items(base if isinstance(base, list) else [], ours, theirs)
        return self.clash(path, base, ours, theirs, target, key)

    def mapping(self, base: dict, ours: dict, theirs: dict, path: str, special=None) -> dict:
        out: dict = {}
        first, second = self.ordered(ours, theirs)
        for key in dict.fromkeys([*base, *first, *second]):
            sub = f"{path}.{key}" if path else str(key)
            rule = self.value if special is None else special.get(key, self.value)
            merged = rule(base.get(key, MISSING), ours.get(key, MISSING), theirs.get(key, MISSING), sub, out, key)
            if merged is not MISSING:
                out[key] = merged
        return out

    def items(self, base: list, ours: list, theirs: list) -> list:
        """A list both sides changed: what both kept, then what each added (the earlier side's first)."""
        removed = [item for item in base if item not in ours or item not in theirs]
        out = [item for item in base if item not in removed]
        for side in self.ordered(ours, theirs):
            out += [item for item in side if item not in out and item not in removed]
        return out

    # -- sections with their own rule --------------------------------------------------------
    def entries(self, base, ours, theirs, path, target, key):
        """history and invocation_log: the base's, then both sides' new entries by time, once each."""
        base, ours, theirs = (v if isinstance(v, list) else [] for v in (base, ours, theirs))
        new: list = []
        for side in self.ordered(ours, theirs):
            left, already = list(base), list(new)
            for entry in side:
                if entry in left:
                    left.remove(entry)
                elif entry in already:  # the other side has it too (merged before): once
                    already.remove(entry)
                else:  # two equal entries on one side (one second, one skill) are two
                    new.append(entry)
        kept = [e for e in base if e in ours and e in theirs]
        stamp = lambda e: _moment(e.get("timestamp") if isinstance(e, dict) else None)  # noqa: E731
        return kept + sorted(new, key=stamp)  # sorted() is stable: the earlier side first on a tie

    def compute(self, base, ours, theirs, path, target, key):
        if not (isinstance(ours, dict) and isinstance(theirs, dict)):
            return self.value(base, ours, theirs, path, target, key)
        base = base if isinstance(base, dict) else {}
        special = {name: self.counter for name in COUNTERS}
        special.update({name: (lambda b, o, t, p, tg, k: o if o is not MISSING else t) for name in DERIVED})
        special["invocation_log"] = self.entries
        return self.mapping(base, ours, theirs, path, special)

    def counter(self, base, ours, theirs, path, target, key):
        values = [v if isinstance(v, int) and not isinstance(v, bool) else None for v in (base, ours, theirs)]
        if values[1] is None or values[2] is None:
            return self.value(base, ours, theirs, path, target, key)
        start = values[0] or 0
        return start + (values[1] - start) + (values[2] - start)

    def keyed(self, base, ours, theirs, path, target, key, field: str):
        """A list of mappings identified by ``field`` (artifacts by path)."""
        if not all(isinstance(v, list) for v in (ours, theirs)):
            return self.value(base, ours, theirs, path, target, key)
        b, o, t = (_by(v if isinstance(v, list) else [], field) for v in (base, ours, theirs))
        out: list = []
        first, second = self.ordered(o, t)
        for name in dict.fromkeys([*b, *first, *second]):
            merged = self.artifact(b.get(name, MISSING), o.get(name, MISSING), t.get(name, MISSING),
                                   f"{path}[{name}]", out, len(out))
            if merged is not MISSING:
                out.append(merged)
        return out

    def artifact(self, base, ours, theirs, path, target, key):
        """Both sides updated one artifact: field by field; its timestamp and updated_by are the later update's."""
        if not (isinstance(ours, dict) and isinstance(theirs, dict)) or _same_value(ours, theirs) \
                or _same_value(ours, base) or _same_value(theirs, base):
            return self.value(base, ours, theirs, path, target, key)
        later = max((ours, theirs), key=lambda a: (_moment(a.get("timestamp")), _canon(a)))
        stamp = lambda b, o, t, p, tg, k: later.get(k, MISSING)  # noqa: E731
        return self.mapping(base if isinstance(base, dict) else {}, ours, theirs, path,
                            {"timestamp": stamp, "updated_by": stamp})

    def validations(self, base, ours, theirs, path, target, key):
        if not (isinstance(ours, dict) and isinstance(theirs, dict)):
            return self.value(base, ours, theirs, path, target, key)
        return self.mapping(base if isinstance(base, dict) else {}, ours, theirs, path,
                            _Default(self.validation))

    def validation(self, base, ours, theirs, path, target, key):
        """One validator's run on each side: the newer run wins."""
        if isinstance(ours, dict) and isinstance(theirs, dict) and not _same_value(ours, theirs) \
                and not _same_value(ours, base) and not _same_value(theirs, base):
            mine, other = _moment(ours.get("last_run")), _moment(theirs.get("last_run"))
            if mine != other:
                return ours if mine > other else theirs
        return self.value(base, ours, theirs, path, target, key)


class _Default(dict):
    """A rule for every key."""

    def __init__(self, rule) -> None:
        super().__init__()
        self.rule = rule

    def get(self, key, default=None):
        return self.rule


def _same_value(a, b) -> bool:
    return a is b or (a is not MISSING and b is not MISSING and a == b)


def _by(entries: list, field: str) -> dict:
    return {str(e.get(field)): e for e in entries if isinstance(e, dict) and e.get(field) is not None}


# -- decisions: pending and made, by id ------------------------------------------------------------

def _decisions(m: _Merge, base: dict, ours: dict, theirs: dict, out: dict) -> None:
    """pending_decisions and decisions_made of the merged ``out``."""
    from .decisions import _NUMBERED, _same

    def lists(doc):
        return [d for d in doc.get("pending_decisions") or [] if isinstance(d, dict)], \
               [d for d in doc.get("decisions_made") or [] if isinstance(d, dict)]

    sides = [lists(doc) for doc in (base, ours, theirs)]
    base_ids = {str(d.get("id")) for d in sides[0][0] + sides[0][1]}
    # Two clones that each escalated a question both gave it the next id: the later one takes another.
    numbers = [int(found.group(1)) for side in sides for d in side[0] + side[1]
               if (found := _NUMBERED.match(str(d.get("id", ""))))]
    top = max(numbers, default=-1)
    first, second = (1, 2) if m.first_is_ours else (2, 1)
    early = {str(d.get("id")): d for d in sides[first][0] + sides[first][1]}
    for entry in sides[second][0] + sides[second][1]:
        ident = str(entry.get("id"))
        other = early.get(ident)
        if ident in base_ids or other is None or _same(str(other.get("question", "")), str(entry.get("question", ""))):
            continue
        top += 1
        fresh = f"decision-{top:03d}"
        pending, made = sides[second]
        sides[second] = ([{**d, "id": fresh} if d is entry or d.get("id") == ident else d for d in pending],
                         [{**d, "id": fresh} if d is entry or d.get("id") == ident else d for d in made])
        m.notes.append(f"{ident} ({str(entry.get('question', ''))[:60]}) is {fresh} now: the other clone used {ident}")
    (b_pending, b_made), (o_pending, o_made), (t_pending, t_made) = sides
    bp, bm, op, om, tp, tm = (_by(v, "id") for v in (b_pending, b_made, o_pending, o_made, t_pending, t_made))
    made: list = []
    pending: list = []
    order = list(dict.fromkeys([*bm, *bp, *(om if m.first_is_ours else tm), *(tm if m.first_is_ours else om),
                                *(op if m.first_is_ours else tp), *(tp if m.first_is_ours else op)]))
    for ident in order:
        mine, other = om.get(ident, MISSING), tm.get(ident, MISSING)
        if mine is not MISSING or other is not MISSING:
            if mine is not MISSING and other is not MISSING and not _same_value(mine, other) \
                    and _same(str(mine.get("decision", "")), str(other.get("decision", ""))):
                # Decided alike on both sides: the first decision stands.
                kept = min((mine, other), key=lambda d: (_moment(d.get("timestamp")), _canon(d)))
            elif mine is MISSING or other is MISSING:
                present = mine if other is MISSING else other
                gone = ident in bm and _same_value(present, bm[ident])  # removed by hand on the other side
                kept = MISSING if gone and ident not in (tp if other is MISSING else op) else present
            elif _same_value(mine, bm.get(ident, MISSING)) or _same_value(other, bm.get(ident, MISSING)):
                kept = other if _same_value(mine, bm.get(ident, MISSING)) else mine
            else:  # decided differently: one decision, never half of each
                kept = m.clash(f"decisions_made[{ident}]", bm.get(ident, MISSING), mine, other, made, len(made))
            if kept is not MISSING:
                made.append(kept)
            continue  # decided on one side at least: no longer pending
        merged = m.value(bp.get(ident, MISSING), op.get(ident, MISSING), tp.get(ident, MISSING),
                         f"pending_decisions[{ident}]", pending, len(pending))
        if merged is not MISSING:
            pending.append(merged)
    stamp = lambda d: _moment(d.get("timestamp") or d.get("escalated_at"))  # noqa: E731
    old_made = [d for d in made if str(d.get("id")) in bm]
    old_pending = [d for d in pending if str(d.get("id")) in bp]
    for key, value, old in (("pending_decisions", pending, old_pending), ("decisions_made", made, old_made)):
        new = sorted((d for d in value if not any(d is o for o in old)), key=stamp)
        result = list(old) + new
        _move_clashes(m, value, result)
        if result or key in ours or key in theirs:
            out[key] = result


def _move_clashes(m: _Merge, before: list, after: list) -> None:
    """A clash recorded at an index of ``before`` points at the same entry in ``after``."""
    for clash in m.clashes:
        target, key = clash.where
        if target is before:
            clash.where = (after, next(i for i, d in enumerate(after) if d is before[key]))


# -- the whole document ------------------------------------------------------------------------------

def merge_documents(base: dict, ours: dict, theirs: dict) -> tuple[dict, list[Clash], list[str]]:
    """The merged file content (the mapping with ``session_context``), its clashes, and notes."""
    b = base.get("session_context") if isinstance(base.get("session_context"), dict) else {}
    o, t = ours["session_context"], theirs["session_context"]
    m = _Merge(first_is_ours=(_moment(o.get("last_updated")), _canon(o)) <= (_moment(t.get("last_updated")), _canon(t)))
    keep = lambda *_: MISSING  # noqa: E731 - set below
    special = {"revision": keep, "last_updated": keep, "history": m.entries, "compute": m.compute,
               "artifacts": lambda *a: m.keyed(*a, field="path"), "validations": m.validations,
               "pending_decisions": keep, "decisions_made": keep}
    doc = m.mapping(b, o, t, "", special)
    _decisions(m, b, o, t, doc)
    revisions = [v for v in (o.get("revision"), t.get("revision")) if isinstance(v, int) and not isinstance(v, bool)]
    revision = max(revisions, default=0) + 1
    later = max((o.get("last_updated"), t.get("last_updated")), key=lambda s: (_moment(s), str(s)))
    if later is not None:
        doc["last_updated"] = later
    if isinstance(doc.get("compute"), dict) and any(k in doc["compute"] for k in DERIVED):
        from .budget import refresh

        refresh(doc)
    details = (f"merged two clones' changes since revision {b.get('revision', 0)}"
               f" (revisions {o.get('revision')} and {t.get('revision')})")
    if m.notes:
        details += "; " + "; ".join(m.notes)
    # What either clone changed since the base: revisions of two clones are not comparable, so a
    # result based on a revision before the merge is checked against these (merge.changes_since).
    seen = [e for e in b.get("history") or [] if isinstance(e, dict)]
    paths = [p for side in (o, t) for e in side.get("history") or [] if isinstance(e, dict) and e not in seen
             for p in e.get("changed") or [] if isinstance(p, str)]
    from .merge import MERGED_ACTION

    entry = {"action": MERGED_ACTION, "timestamp": later, "actor": ACTOR, "details": details, "revision": revision,
             "changed": []}
    if paths:
        entry["merged_changes"] = sorted(set(paths))
    doc.setdefault("history", []).append(entry)
    doc["revision"] = revision
    first, second = m.ordered(o, t)
    ordered = {key: doc[key] for key in dict.fromkeys([*b, *first, *second, "id", "revision", *doc]) if key in doc}
    for clash in m.clashes:  # a clash's container may be `doc` itself (a top-level key)
        if clash.where[0] is doc:
            clash.where = (ordered, clash.where[1])
    extra = {"session_context": ordered}
    for key in dict.fromkeys([*ours, *theirs]):
        if key != "session_context":
            extra[key] = m.value(base.get(key, MISSING), ours.get(key, MISSING), theirs.get(key, MISSING),
                                 key, extra, key)
    for key in [k for k, v in extra.items() if v is MISSING]:
        del extra[key]
    return extra, m.clashes, m.notes


def merge_files(base: bytes, ours: bytes, theirs: bytes, shown: str, marker_size: int = 7) -> Merged:
    """The merged file, or one with conflict markers around exactly the values both sides set
    differently (``clean`` False), or ``problem`` when a side does not read or the result would
    not pass the schema."""
    from ..errors import TetherError
    from .document import HEADER, dump_yaml, parse_yaml
    from .schema import problems

    docs = []
    for label, data in (("base", base), ("ours", ours), ("theirs", theirs)):
        if label == "base" and not data.strip():
            docs.append({})  # both sides created it
            continue
        try:
            parsed, _ = parse_yaml(data, f"{shown} ({label})")
        except TetherError as exc:
            return Merged(problem=f"{label} does not read: {exc}")
        if not isinstance(parsed, dict) or not isinstance(parsed.get("session_context"), dict):
            if label == "base":
                docs.append({})
                continue
            return Merged(problem=f"{label} has no session_context mapping")
        docs.append(parsed)
    merged, clashes, _notes = merge_documents(*docs)
    if not clashes:
        bad = problems("session_context", merged, shown, None, strip_prefix=1)
        if bad:
            return Merged(problem=f"the merged context would not pass the schema: {bad[0].message}")
        return Merged(data=(HEADER + dump_yaml(merged)).encode("utf-8"), clean=True)
    return Merged(data=_marked(merged, clashes, marker_size), clean=False, conflicts=[c.text() for c in clashes])


def conflict_header(paths: list[str]) -> str:
    """The comment a conflicted context starts with; document.py and `tether ctx` read the paths back."""
    return (f"{CONTEXT_CONFLICT_HEAD}{len(paths)} conflict(s), both clones set these differently: {', '.join(paths)}\n"
            "# Everything else is merged. Keep one value at each marked place, then `tether ctx validate` and"
            " `git add` this file.\n")



def conflicted_paths(text: str) -> list[str] | None:
    """The paths named by ``conflict_header`` in a conflicted context; None when it has none (git's own text merge)."""
    first = text.split("\n", 1)[0]
    if not first.startswith(CONTEXT_CONFLICT_HEAD) or "differently: " not in first:
        return None
    return [p.strip() for p in first.split("differently: ", 1)[-1].split(", ") if p.strip()]


def _present(value):
    """A copy without the MISSING values a clash's side left (a key or entry that side removed)."""
    if isinstance(value, dict):
        return {k: _present(v) for k, v in value.items() if v is not MISSING}
    if isinstance(value, list):
        return [_present(v) for v in value if v is not MISSING]
    return value


def _marked(merged: dict, clashes: list[Clash], marker_size: int) -> bytes:
    """Two renderings (each clash resolved to ours, then to theirs), with markers where they differ."""
    import difflib

    from .document import dump_yaml

    def render(pick) -> list[str]:
        for clash in clashes:
            target, key = clash.where
            target[key] = pick(clash)  # MISSING stays in place (the order of keys is kept), dropped below
        return dump_yaml(_present(merged)).splitlines(keepends=True)

    theirs = render(lambda c: c.theirs)
    ours = render(lambda c: c.ours)
    out = [conflict_header([c.path for c in clashes])]
    matcher = difflib.SequenceMatcher(a=ours, b=theirs, autojunk=False)
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        if op == "equal":
            out += ours[a1:a2]
            continue
        out.append("<" * marker_size + " ours\n")
        out += ours[a1:a2]
        out.append("=" * marker_size + "\n")
        out += theirs[b1:b2]
        out.append(">" * marker_size + " theirs\n")
    return "".join(out).encode("utf-8")
