"""The records tether keeps: tasks, checkpoints, decisions, context entries, the last close.

Pure data: no I/O and no file format here (store.formats reads and writes them).
"""

from __future__ import annotations

from . import ranges
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


# -- tasks -------------------------------------------------------------------

class Task(Record):
    FIELDS = {"id": REQUIRED, "title": REQUIRED, "created": REQUIRED, "kind": "steps", "units": list,
              "definition": "", "criteria": list, "status": "open", "closed": None, "created_by": None,
              "retired": list}  # the ids of the entries its close resolved: its reopening restores them

    @property
    def unit_name(self) -> str:
        return "item" if self.kind == "items" else "step"

# -- checkpoints -------------------------------------------------------------

class Checkpoint(Record):
    # id is what people say (CKP-0004); name is the file stem (CKP-0004-7kq2mx),
    # unique even after a merge brings two checkpoint 4s; done is cumulative, as ranges.
    FIELDS = {"id": REQUIRED, "name": REQUIRED, "task": REQUIRED, "number": REQUIRED, "created": REQUIRED,
              "status": "in_progress", "done": "", "current_state": "", "key_data": dict, "files": list,
              "next": list, "note": "", "results": list, "device": None, "session": None, "parents": list,
              "automatic": None, "anchors": dict, "state_from": None, "note_from": None}
    # anchors: code it cites, citation ("src/a.py:12") -> the file's git blob id then (warm.anchors).
    # automatic: what made it when no one asked for it ("pre_compact:auto"); None for the agent's own.
    # state_from: an automatic one's current state is the agent's own from this checkpoint (its name).
    # note_from: an automatic one made after the agent's own that gave no state of its own (a note):
    # that checkpoint's name, whose note resume and the brief keep in view.

    def to_dict(self) -> dict:
        out = super().to_dict()
        if not out["anchors"]:  # the file and journal line of a checkpoint citing nothing: as before the field
            del out["anchors"]
        for name in ("state_from", "note_from"):  # likewise for the agent's own
            if out[name] is None:
                del out[name]
        return out

    @property
    def done_set(self) -> set[int]:
        return parse_ranges(self.done) if self.done else set()


def files_once(entries) -> list[str]:
    """Checkpoint file entries ("src/a.py: added parser", or the path alone) with each path once, where
    it first appears: a bare path adds nothing to a described one, and the descriptions of one path
    are kept together (an automatic checkpoint carries the agent's described entry and adds the
    bare path its tool calls edited)."""
    described: dict[str, list[str]] = {}
    for entry in entries:
        path, _, what = str(entry).partition(": ")
        path, what = path.strip(), what.strip()
        said = described.setdefault(path, [])
        # "a.py: y" adds nothing to "a.py: x, y" (an automatic checkpoint carries the joined entry)
        if what and f", {what}, " not in f", {', '.join(said)}, ":
            said.append(what)
    return [f"{path}: {', '.join(said)}" if said else path for path, said in described.items()]

# -- decisions and context entries -------------------------------------------

class Decision(Record):
    FIELDS = {"id": REQUIRED, "question": REQUIRED, "decision": REQUIRED, "when": REQUIRED,
              "rationale": "", "who": None, "task": None, "anchors": dict, "session": None}
    # session: the session that made it (recall's provenance); None in files written before the field.

class Note(Record):
    """One entry of the session context document: a phase, gotcha, don't, blocker or note.

    ``resolved`` is when it stopped applying; ``task``: the task it belongs to (None: the project),
    resolved with it when that task is completed.
    """

    FIELDS = {"id": REQUIRED, "kind": REQUIRED, "text": REQUIRED, "at": REQUIRED, "by": None, "resolved": None,
              "task": None, "anchors": dict, "session": None}


class Latest(Record):
    """``progress/LATEST.json``: the last close, boot's fast path (seed 002)."""

    FIELDS = {"date": REQUIRED, "file": REQUIRED, "summary": REQUIRED, "sha": None, "next_steps": list,
              "completed": list, "session": None, "generated_at": None}


class Found(list):
    """Records read by one call, and the problems met on the way (files that could not be read).

    A list like any other; ``problems`` belongs to this answer alone.
    """

    def __init__(self, items=(), problems=()) -> None:
        super().__init__(items)
        self.problems = list(problems)
