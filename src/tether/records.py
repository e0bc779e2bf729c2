"""The records tether keeps, and how each reads and writes as a file.

Pure data: no I/O here. A record's front matter is the truth machines read;
its Markdown body is a rendering for people, regenerated on every write.
"""

from __future__ import annotations

from . import ranges
from .parsing import ParseError, dump_front_matter, load_front_matter
from .recordtype import REQUIRED, Record

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


# -- field types, checked on read --------------------------------------------------
# A record read back must have the types tether writes: a wrong one is a ParseError (a
# problem with the file's path and the field's line), never a value turned into another
# (str(12) is not "1-2") or a silent default that the next write would make permanent.
# Plain type() checks: records are read at every boot and checkpoint.
# Kinds: TEXT required text; OPTIONAL text or null; LINE text, null or absent meaning "";
# TEXTS a list of text (null or absent: []); NUMBER a whole number; PAIRS text -> text.
TEXT, OPTIONAL, LINE, TEXTS, NUMBER, PAIRS = range(6)
_EXPECTED = {TEXT: "a string", OPTIONAL: "a string or null", LINE: "a string", TEXTS: "a list of strings",
             NUMBER: "a whole number", PAIRS: "a mapping of strings to strings"}
_STR = {str}


def got(value) -> str:
    """A value's kind as a person reads it in an error: never a Python repr."""
    if value is None:
        return "null"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        text = repr(value) if not isinstance(value, int) or -10**20 < value < 10**20 else ""
        return f"the number {text}" if text else "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"a {type(value).__name__}"


def field_line(data: bytes | None, key: str) -> int | None:
    """The line of ``key:`` in a record's front matter, or of ``"key":`` in a JSON file (looked for only
    when a field is wrong)."""
    if not data:
        return None
    at = data.find(b"\n" + key.encode() + b":")
    if at >= 0:
        return data.count(b"\n", 0, at) + 2
    at = data.find(b'"' + key.encode() + b'":')
    return None if at < 0 else data.count(b"\n", 0, at) + 1


def fields(meta: dict, path: str, spec: dict, data: bytes | None = None, line: int | None = None) -> dict:
    """The fields of ``spec`` (name -> kind) from ``meta``, each of its kind, or a ParseError naming the
    first that is not, at its line (``line``: where the whole record is, for a JSON-lines row)."""
    out = {}
    for key, kind in spec.items():
        value = meta.get(key)
        kind_of = type(value)
        if kind_of is str:
            if kind <= LINE:
                out[key] = value
                continue
        elif value is None:
            if kind == LINE:
                out[key] = ""
                continue
            if kind == OPTIONAL:
                out[key] = None
                continue
            if kind == TEXTS:
                out[key] = []
                continue
            if kind == PAIRS:
                out[key] = {}
                continue
            if key not in meta:
                raise ParseError(path, line, f"missing required field '{key}'")
        elif kind_of is list:
            if kind == TEXTS and {*map(type, value)} <= _STR:  # map and set in C: thousands of units
                out[key] = value
                continue
        elif kind_of is int:
            if kind == NUMBER:
                out[key] = value
                continue
        elif kind_of is dict:
            if kind == PAIRS and {*map(type, value), *map(type, value.values())} <= _STR:
                out[key] = value
                continue
        what = got(value)
        if kind_of is list and kind == TEXTS:
            what = "a list with " + next(got(v) for v in value if type(v) is not str) + " in it"
        elif kind_of is dict and kind == PAIRS:
            what = "a mapping with " + next(got(v) for v in value.values() if type(v) is not str) + " in it" \
                if all(type(k) is str for k in value) else "a mapping with keys that are not strings"
        raise ParseError(path, line or field_line(data, key), f"field '{key}' must be {_EXPECTED[kind]}, got {what}")
    return out


def _one_of(values: dict, key: str, allowed: tuple, path: str, data: bytes | None, line: int | None) -> None:
    if values[key] not in allowed:
        raise ParseError(path, line or field_line(data, key),
                         f"field '{key}' must be one of {', '.join(allowed)}, got \"{values[key]}\"")


# -- tasks -------------------------------------------------------------------

class Task(Record):
    FIELDS = {"id": REQUIRED, "title": REQUIRED, "created": REQUIRED, "kind": "steps", "units": list,
              "definition": "", "criteria": list, "status": "open", "closed": None, "created_by": None}
    SPEC = {"id": TEXT, "title": TEXT, "created": TEXT, "kind": OPTIONAL, "units": TEXTS, "definition": LINE,
            "criteria": TEXTS, "status": OPTIONAL, "closed": OPTIONAL, "created_by": OPTIONAL}

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
        values = fields(meta, path, cls.SPEC, data)
        if values["kind"] is None:
            values["kind"] = "steps"
        if values["status"] is None:
            values["status"] = "open"
        _one_of(values, "kind", TASK_KINDS, path, data, None)
        _one_of(values, "status", TASK_STATUSES, path, data, None)
        return cls(**values)


# -- checkpoints -------------------------------------------------------------

class Checkpoint(Record):
    # id is what people say (CKP-0004); name is the file stem (CKP-0004-7kq2mx),
    # unique even after a merge brings two checkpoint 4s; done is cumulative, as ranges.
    FIELDS = {"id": REQUIRED, "name": REQUIRED, "task": REQUIRED, "number": REQUIRED, "created": REQUIRED,
              "status": "in_progress", "done": "", "current_state": "", "key_data": dict, "files": list,
              "next": list, "note": "", "results": list, "device": None, "session": None, "parents": list}
    SPEC = {"id": TEXT, "name": TEXT, "task": TEXT, "number": NUMBER, "created": TEXT, "status": OPTIONAL,
            "done": LINE, "current_state": LINE, "key_data": PAIRS, "files": TEXTS, "next": TEXTS, "note": LINE,
            "results": TEXTS, "device": OPTIONAL, "session": OPTIONAL, "parents": TEXTS}

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
        return cls.from_meta(meta, path, data)

    @classmethod
    def from_meta(cls, meta: dict, path: str, data: bytes | None = None, line: int | None = None) -> "Checkpoint":
        """From front matter (``data``: the file, to find a bad field's line) or a journal row (at ``line``)."""
        values = fields(meta, path, cls.SPEC, data, line)
        if values["status"] is None:
            values["status"] = "in_progress"
        _one_of(values, "status", CHECKPOINT_STATUSES, path, data, line)
        try:
            ranges.parse(values["done"])
        except ValueError:
            raise ParseError(path, line or field_line(data, "done"),
                             f"field 'done' is not a list of ranges like '1-12,15': {values['done'][:80]!r}") from None
        return cls(**values)


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
    SPEC = {"id": TEXT, "question": TEXT, "decision": TEXT, "when": TEXT, "rationale": LINE, "who": OPTIONAL,
            "task": OPTIONAL}

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
        return cls(**fields(meta, path, cls.SPEC, data))


class Note(Record):
    """One entry of the session context document: a phase, gotcha, don't, blocker or note.

    ``resolved`` is when it stopped applying.
    """

    FIELDS = {"id": REQUIRED, "kind": REQUIRED, "text": REQUIRED, "at": REQUIRED, "by": None, "resolved": None}
    SPEC = {"id": TEXT, "kind": TEXT, "text": TEXT, "at": TEXT, "by": OPTIONAL}  # a line of context.jsonl
    RESOLVE = {"resolve": TEXT, "at": TEXT}  # a line that resolves one
