"""The records tether keeps, and how each reads and writes as a file.

Pure data: no I/O here. A record's front matter is the truth machines read;
its Markdown body is a rendering for people, regenerated on every write.
"""

from __future__ import annotations

from . import ranges
from ..store.codec import ParseError, dump_front_matter, load_front_matter
from .record import REQUIRED, Record

TASK_KINDS = ("steps", "items")
TASK_STATUSES = ("open", "complete", "archived")
CHECKPOINT_STATUSES = ("in_progress", "completed", "blocked")
NOTE_KINDS = ("phase", "gotcha", "dont", "blocker", "note", "learning")
NOTE_TITLES = {
    "phase": "Where we are",
    "gotcha": "Gotchas",
    "dont": "What NOT to do",
    "blocker": "Blockers",
    "note": "Notes",
    "learning": "Learnings",
}


# -- item ranges -------------------------------------------------------------

def checkpoint_number(name: str) -> int:
    """4 from 'CKP-0004-7kq2mx' (or 'CKP-0004'); -1 for anything else."""
    head, _, rest = name.partition("-")
    number = rest.partition("-")[0]
    return int(number) if head == "CKP" and number.isdigit() else -1


def format_ranges(numbers: list[int] | set[int]) -> str:
    """{1,2,3,5} -> '1-3,5'."""
    return ranges.fmt(ranges.of(numbers))


def parse_ranges(text: str) -> set[int]:
    """'1-3,5' -> {1,2,3,5}; raises ValueError on anything else."""
    return ranges.numbers(ranges.parse(text))


def _require(meta: dict, path: str, key: str, kind: type | tuple = str):
    if key not in meta:
        raise ParseError(path, None, f"missing required field '{key}' in front matter")
    value = meta[key]
    if not isinstance(value, kind):
        raise ParseError(path, None, f"field '{key}' has the wrong type ({type(value).__name__})")
    return value


def _str_list(meta: dict, path: str, key: str) -> list[str]:
    value = meta.get(key) or []
    if not isinstance(value, list):
        raise ParseError(path, None, f"field '{key}' must be a list")
    return [str(v) for v in value]


# -- tasks -------------------------------------------------------------------

class Task(Record):
    FIELDS = {"id": REQUIRED, "title": REQUIRED, "created": REQUIRED, "kind": "steps", "units": list,
              "definition": "", "criteria": list, "status": "open", "closed": None, "created_by": None}

    @property
    def unit_name(self) -> str:
        return "item" if self.kind == "items" else "step"

    def to_text(self) -> str:
        meta = {
            "id": self.id, "title": self.title, "status": self.status, "kind": self.kind,
            "created": self.created, "closed": self.closed, "created_by": self.created_by,
            "definition": self.definition, "criteria": self.criteria, "units": self.units,
        }
        lines = [f"# Task: {self.title}", "", f"**ID:** {self.id}  ", f"**Status:** {self.status}  ",
                 f"**Created:** {self.created}", "", "## Task Definition", self.definition or self.title, ""]
        if self.criteria:
            lines += ["## Success Criteria", *[f"- {c}" for c in self.criteria], ""]
        if self.units:
            lines += [f"## {self.unit_name.capitalize()}s", *[f"{n}. {u}" for n, u in enumerate(self.units, 1)], ""]
        lines += ["## Resume Command", f"`tether resume {self.id}`", ""]
        return dump_front_matter(meta, "\n".join(lines))

    @classmethod
    def from_bytes(cls, data: bytes, path: str) -> "Task":
        meta, _ = load_front_matter(data, path)
        kind = meta.get("kind", "steps")
        status = meta.get("status", "open")
        if kind not in TASK_KINDS:
            raise ParseError(path, None, f"field 'kind' must be one of {', '.join(TASK_KINDS)}")
        if status not in TASK_STATUSES:
            raise ParseError(path, None, f"field 'status' must be one of {', '.join(TASK_STATUSES)}")
        return cls(
            id=_require(meta, path, "id"), title=_require(meta, path, "title"),
            created=str(_require(meta, path, "created", (str, object))), kind=kind,
            units=_str_list(meta, path, "units"), definition=str(meta.get("definition") or ""),
            criteria=_str_list(meta, path, "criteria"), status=status,
            closed=meta.get("closed"), created_by=meta.get("created_by"),
        )


# -- checkpoints -------------------------------------------------------------

class Checkpoint(Record):
    # id is what people say (CKP-0004); name is the file stem (CKP-0004-7kq2mx),
    # unique even after a merge brings two checkpoint 4s; done is cumulative, as ranges.
    FIELDS = {"id": REQUIRED, "name": REQUIRED, "task": REQUIRED, "number": REQUIRED, "created": REQUIRED,
              "status": "in_progress", "done": "", "current_state": "", "key_data": dict, "files": list,
              "next": list, "note": "", "results": list, "device": None, "session": None, "parents": list}

    @property
    def done_set(self) -> set[int]:
        return parse_ranges(self.done) if self.done else set()

    def to_text(self, task: Task) -> str:
        meta = self.to_dict()
        done = ranges.parse(self.done)
        total = len(task.units)
        lines = [f"# Checkpoint: {task.title}", "", f"**ID:** {self.id}  ", f"**Task:** {task.id}  ",
                 f"**Created:** {self.created}  ", f"**Device:** {self.device or 'unknown'}  ",
                 f"**Status:** {self.status}  "]
        if total:
            lines.append(f"**Progress:** {ranges.count(ranges.clip(done, 1, total))} of {total} complete")
        lines += ["", "## Task Definition", task.definition or task.title, "", "## Progress"]
        lines += _progress_lines(task, done)
        lines += ["", "## Current State", self.current_state or "(not recorded)", ""]
        if self.key_data:
            lines += ["## Key Data", *[f"- {k}: {v}" for k, v in sorted(self.key_data.items())], ""]
        if self.files:
            lines += ["## Files Modified", *[f"- {f}" for f in self.files], ""]
        if self.results:
            lines += ["## Intermediate Results", *[f"- {r}" for r in self.results], ""]
        if self.next:
            lines += ["## Next Actions", *[f"{n}. {a}" for n, a in enumerate(self.next, 1)], ""]
        if self.note:
            lines += ["## Note", self.note, ""]
        lines += ["## Resume Command", f"`tether resume {task.id}` (continues from {self.id})", ""]
        return dump_front_matter(meta, "\n".join(lines))

    @classmethod
    def from_bytes(cls, data: bytes, path: str) -> "Checkpoint":
        meta, _ = load_front_matter(data, path)
        number = _require(meta, path, "number", int)
        done = str(meta.get("done") or "")
        try:
            ranges.parse(done)
        except ValueError:
            raise ParseError(path, None, f"field 'done' is not a list of ranges like '1-12,15': {done!r}") from None
        key_data = meta.get("key_data") or {}
        if not isinstance(key_data, dict):
            raise ParseError(path, None, "field 'key_data' must be a mapping")
        return cls(
            id=_require(meta, path, "id"), name=_require(meta, path, "name"), task=_require(meta, path, "task"),
            number=number, created=str(_require(meta, path, "created", (str, object))),
            status=str(meta.get("status") or "in_progress"), done=done,
            current_state=str(meta.get("current_state") or ""), key_data={str(k): str(v) for k, v in key_data.items()},
            files=_str_list(meta, path, "files"), next=_str_list(meta, path, "next"),
            note=str(meta.get("note") or ""), results=_str_list(meta, path, "results"),
            device=meta.get("device"), session=meta.get("session"), parents=_str_list(meta, path, "parents"),
        )


def _progress_lines(task: Task, done: ranges.Intervals) -> list[str]:
    total = len(task.units)
    if not total:
        return ["(free-form task: no steps or items defined)"]
    label = task.unit_name.capitalize()
    if total <= 60:
        marked = ranges.numbers(ranges.clip(done, 1, total))
        return [f"- [{'x' if n in marked else ' '}] {label} {n}: {u}" + ("" if n in marked else " - PENDING")
                for n, u in enumerate(task.units, 1)]
    pending = ranges.complement(ranges.clip(done, 1, total), 1, total)
    lines = [f"- [x] {label}s {ranges.fmt(done)}" if done else f"- [ ] no {task.unit_name}s done yet"]
    if pending:
        first = pending[0][0]
        lines.append(f"- [ ] {label}s {ranges.fmt(pending)} - PENDING (next: {first}. {task.units[first - 1]})")
    return lines


# -- decisions and context entries -------------------------------------------

class Decision(Record):
    FIELDS = {"id": REQUIRED, "question": REQUIRED, "decision": REQUIRED, "when": REQUIRED,
              "rationale": "", "who": None, "task": None}

    def to_text(self) -> str:
        meta = self.to_dict()
        lines = [f"# Decision: {self.question}", "", f"**ID:** {self.id}  ", f"**When:** {self.when}  ",
                 f"**Who:** {self.who or 'unknown'}", "", "## Decision", self.decision, ""]
        if self.rationale:
            lines += ["## Rationale", self.rationale, ""]
        return dump_front_matter(meta, "\n".join(lines))

    @classmethod
    def from_bytes(cls, data: bytes, path: str) -> "Decision":
        meta, _ = load_front_matter(data, path)
        return cls(
            id=_require(meta, path, "id"), question=_require(meta, path, "question"),
            decision=_require(meta, path, "decision"), when=str(_require(meta, path, "when", (str, object))),
            rationale=str(meta.get("rationale") or ""), who=meta.get("who"), task=meta.get("task"),
        )


class Note(Record):
    """One entry of the session context document: a phase, gotcha, don't, blocker or note.

    ``resolved`` is when it stopped applying.
    """

    FIELDS = {"id": REQUIRED, "kind": REQUIRED, "text": REQUIRED, "at": REQUIRED, "by": None, "resolved": None}
