"""How each record reads and writes as a file, and the shapes other packages share.

A record's front matter is the truth machines read; its Markdown body is a
rendering for people, regenerated on every write. Reading checks every field
it needs: a damaged record raises :class:`ParseError` with the file.

The session context document's blocks: tether owns only the text between
``<!-- tether:begin NAME -->`` and ``<!-- tether:end NAME -->``; the domain writes
them (core.context_document) and the merge by meaning folds them (gitio).
"""

from __future__ import annotations

import re

from ..errors import ParseError
from ..model import ranges
from ..model.records import TASK_KINDS, TASK_STATUSES, Checkpoint, Decision, Latest, Task
from .codec import dump_front_matter, load_front_matter

BLOCK_RE = re.compile(r"<!-- tether:begin (?P<name>[a-z_]+) -->\n.*?<!-- tether:end (?P=name) -->", re.S)
BLOCK_MARK = "<!-- tether:"  # what every marker of tether's, in the document or in a merge, starts with


def block(name: str, body: str) -> str:
    return f"<!-- tether:begin {name} -->\n{body}\n<!-- tether:end {name} -->"


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


# -- tasks ------------------------------------------------------------

def task_text(task: Task) -> str:
    meta = {
        "id": task.id, "title": task.title, "status": task.status, "kind": task.kind,
        "created": task.created, "closed": task.closed, "created_by": task.created_by,
        "definition": task.definition, "criteria": task.criteria, "units": task.units,
    }
    lines = [f"# Task: {task.title}", "", f"**ID:** {task.id}  ", f"**Status:** {task.status}  ",
             f"**Created:** {task.created}", "", "## Task Definition", task.definition or task.title, ""]
    if task.criteria:
        lines += ["## Success Criteria", *[f"- {c}" for c in task.criteria], ""]
    if task.units:
        lines += [f"## {task.unit_name.capitalize()}s", *[f"{n}. {u}" for n, u in enumerate(task.units, 1)], ""]
    lines += ["## Resume Command", f"`tether resume {task.id}`", ""]
    return dump_front_matter(meta, "\n".join(lines))


def read_task(data: bytes, path: str) -> Task:
    meta, _ = load_front_matter(data, path)
    kind = meta.get("kind", "steps")
    status = meta.get("status", "open")
    if kind not in TASK_KINDS:
        raise ParseError(path, None, f"field 'kind' must be one of {', '.join(TASK_KINDS)}")
    if status not in TASK_STATUSES:
        raise ParseError(path, None, f"field 'status' must be one of {', '.join(TASK_STATUSES)}")
    return Task(
        id=_require(meta, path, "id"), title=_require(meta, path, "title"),
        created=str(_require(meta, path, "created", (str, object))), kind=kind,
        units=_str_list(meta, path, "units"), definition=str(meta.get("definition") or ""),
        criteria=_str_list(meta, path, "criteria"), status=status,
        closed=meta.get("closed"), created_by=meta.get("created_by"),
    )


# -- checkpoints ----------------------------------------------------

def checkpoint_text(ckp: Checkpoint, task: Task) -> str:
    meta = ckp.to_dict()
    done = ranges.parse(ckp.done)
    total = len(task.units)
    lines = [f"# Checkpoint: {task.title}", "", f"**ID:** {ckp.id}  ", f"**Task:** {task.id}  ",
             f"**Created:** {ckp.created}  ", f"**Device:** {ckp.device or 'unknown'}  ",
             f"**Status:** {ckp.status}  "]
    if total:
        lines.append(f"**Progress:** {ranges.count(ranges.clip(done, 1, total))} of {total} complete")
    lines += ["", "## Task Definition", task.definition or task.title, "", "## Progress"]
    lines += _progress_lines(task, done)
    lines += ["", "## Current State", ckp.current_state or "(not recorded)", ""]
    if ckp.key_data:
        lines += ["## Key Data", *[f"- {k}: {v}" for k, v in sorted(ckp.key_data.items())], ""]
    if ckp.files:
        lines += ["## Files Modified", *[f"- {f}" for f in ckp.files], ""]
    if ckp.results:
        lines += ["## Intermediate Results", *[f"- {r}" for r in ckp.results], ""]
    if ckp.next:
        lines += ["## Next Actions", *[f"{n}. {a}" for n, a in enumerate(ckp.next, 1)], ""]
    if ckp.note:
        lines += ["## Note", ckp.note, ""]
    lines += ["## Resume Command", f"`tether resume {task.id}` (continues from {ckp.id})", ""]
    return dump_front_matter(meta, "\n".join(lines))


def read_checkpoint(data: bytes, path: str) -> Checkpoint:
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
    return Checkpoint(
        id=_require(meta, path, "id"), name=_require(meta, path, "name"), task=_require(meta, path, "task"),
        number=number, created=str(_require(meta, path, "created", (str, object))),
        status=str(meta.get("status") or "in_progress"), done=done,
        current_state=str(meta.get("current_state") or ""), key_data={str(k): str(v) for k, v in key_data.items()},
        files=_str_list(meta, path, "files"), next=_str_list(meta, path, "next"),
        note=str(meta.get("note") or ""), results=_str_list(meta, path, "results"),
        device=meta.get("device"), session=meta.get("session"), parents=_str_list(meta, path, "parents"),
    )


# -- decisions ------------------------------------------------------

def decision_text(decision: Decision) -> str:
    meta = decision.to_dict()
    lines = [f"# Decision: {decision.question}", "", f"**ID:** {decision.id}  ", f"**When:** {decision.when}  ",
             f"**Who:** {decision.who or 'unknown'}", "", "## Decision", decision.decision, ""]
    if decision.rationale:
        lines += ["## Rationale", decision.rationale, ""]
    return dump_front_matter(meta, "\n".join(lines))


def read_decision(data: bytes, path: str) -> Decision:
    meta, _ = load_front_matter(data, path)
    return Decision(
        id=_require(meta, path, "id"), question=_require(meta, path, "question"),
        decision=_require(meta, path, "decision"), when=str(_require(meta, path, "when", (str, object))),
        rationale=str(meta.get("rationale") or ""), who=meta.get("who"), task=meta.get("task"),
    )


# -- the last close (LATEST.json) -----------------------------------------------------

def latest_text(latest: Latest) -> str:
    import json

    return json.dumps(latest.to_dict(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def read_latest(data: bytes, path: str) -> Latest:
    """LATEST.json, every field of the seed's checked: a close the next boot cannot trust is a problem."""
    from .codec import load_json

    value = load_json(data, path)
    if not isinstance(value, dict):
        raise ParseError(path, 1, "expected a JSON object")
    for key in ("date", "file", "summary"):
        if not isinstance(value.get(key), str):
            raise ParseError(path, None, f"field '{key}' must be a string" if key in value else f"missing field '{key}'")
    for key in ("next_steps", "completed"):
        if not isinstance(value.get(key, []), list) or not all(isinstance(v, str) for v in value.get(key, [])):
            raise ParseError(path, None, f"field '{key}' must be a list of strings")
    for key in ("sha", "session", "generated_at"):
        if value.get(key) is not None and not isinstance(value[key], str):
            raise ParseError(path, None, f"field '{key}' must be a string")
    return Latest(**{key: value[key] for key in Latest.FIELDS if key in value})
