"""How each record reads and writes as a file, and the shapes other packages share.

A record's front matter is the truth machines read; its Markdown body is a
rendering for people, regenerated on every write. Reading checks every field
it needs: a damaged record raises :class:`ParseError` with the file.

The session context document's blocks: tether owns only the text between
``<!-- tether:begin NAME -->`` and ``<!-- tether:end NAME -->``; the domain writes
them (core.context_document) and the merge by meaning folds them (gitio).
"""

from __future__ import annotations

from ..errors import ParseError
from ..model import ranges
from ..model.records import CHECKPOINT_STATUSES, TASK_KINDS, TASK_STATUSES, Checkpoint, Decision, Latest, Task
from .codec import dump_front_matter, load_front_matter
from .fields import LINE, MAYBE, NUMBER, OPTIONAL, PAIRS, TEXT, TEXTS, field_line, fields, one_of, times

BLOCK_PATTERN = r"<!-- tether:begin (?P<name>[a-z_]+) -->\n.*?<!-- tether:end (?P=name) -->"


def block_re():
    """The pattern of a generated block, compiled on first use: only close and the merge driver need it."""
    import re  # not at import: a checkpoint and a warm session start load no `re`

    return re.compile(BLOCK_PATTERN, re.S)  # re keeps it compiled for the process


BLOCK_MARK = "<!-- tether:"  # what every marker of tether's, in the document or in a merge, starts with


def block(name: str, body: str) -> str:
    return f"<!-- tether:begin {name} -->\n{body}\n<!-- tether:end {name} -->"


# Each record's fields as the file holds them, and their kinds (store.fields).
TASK = {"id": TEXT, "title": TEXT, "created": TEXT, "kind": MAYBE, "units": TEXTS, "definition": LINE,
        "criteria": TEXTS, "status": MAYBE, "closed": OPTIONAL, "created_by": OPTIONAL, "retired": TEXTS}
CHECKPOINT = {"id": TEXT, "name": TEXT, "task": TEXT, "number": NUMBER, "created": TEXT, "status": MAYBE,
              "done": LINE, "current_state": LINE, "key_data": PAIRS, "files": TEXTS, "next": TEXTS, "note": LINE,
              "results": TEXTS, "device": OPTIONAL, "session": OPTIONAL, "parents": TEXTS,
              "automatic": OPTIONAL, "anchors": PAIRS, "state_from": OPTIONAL,
              "note_from": OPTIONAL}
DECISION = {"id": TEXT, "question": TEXT, "decision": TEXT, "when": TEXT, "rationale": LINE, "who": OPTIONAL,
            "task": OPTIONAL, "anchors": PAIRS}
# A line of context.jsonl; "task" is absent from lines written before entries could belong to a task.
NOTE = {"id": TEXT, "kind": TEXT, "text": TEXT, "at": TEXT, "by": OPTIONAL, "task": OPTIONAL, "anchors": PAIRS}
# "anchors" (code cited, citation -> git blob id) is written only when there are some: files without read as before.
CONFIRM = {"confirm": TEXT, "at": TEXT, "anchors": PAIRS}  # a line that re-confirms an entry's anchors
RESOLVE = {"resolve": TEXT, "at": TEXT}  # a line that resolves one
LATEST = {"date": TEXT, "file": TEXT, "sha": OPTIONAL, "summary": TEXT, "next_steps": TEXTS, "completed": TEXTS,
          "session": OPTIONAL, "generated_at": TEXT}


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


def automatic_when(automatic: str) -> str:
    """When an automatic checkpoint was made, from its ``automatic`` field: "before compaction"
    (``pre_compact:auto``), "after 4 tool calls" (``tool_calls:4``), "before git reset --hard"
    (``before_risky:git reset --hard``), "with the context 88% full" (``context:88%``)."""
    what, _, detail = automatic.partition(":")
    if what == "pre_compact":
        return "before compaction"
    if what == "tool_calls":
        return f"after {detail} tool calls"
    if what == "before_risky":
        return f"before {detail}"
    if what == "context" and detail:
        return f"with the context {detail} full"
    return automatic


def automatic_label(automatic: str) -> str:
    """How an automatic checkpoint is named wherever it is shown ("pre_compact:auto")."""
    what, _, trigger = automatic.partition(":")
    if what == "pre_compact":
        return "automatically before context compaction" + (f" (trigger: {trigger})" if trigger else "")
    if what in ("tool_calls", "before_risky"):
        return f"automatically {automatic_when(automatic)} (the hooks' trail of the session)"
    if what == "context":
        return "automatically, the context window nearly full" + (f" ({trigger})" if trigger else "")
    return f"automatically ({automatic})"


# -- tasks ------------------------------------------------------------

def task_text(task: Task) -> str:
    meta = {
        "id": task.id, "title": task.title, "status": task.status, "kind": task.kind,
        "created": task.created, "closed": task.closed, "created_by": task.created_by,
        "definition": task.definition, "criteria": task.criteria, "units": task.units,
    }
    if task.retired:  # only on a closed task whose close resolved entries: others read as before
        meta["retired"] = task.retired
    lines = [f"# Task: {task.title}", "", f"**ID:** {task.id}  ", f"**Status:** {task.status}  ",
             f"**Created:** {task.created}", "", "## Task Definition", task.definition or task.title, ""]
    if task.criteria:
        lines += ["## Success Criteria", *[f"- {c}" for c in task.criteria], ""]
    if task.units:
        lines += [f"## {task.unit_name.capitalize()}s", *[f"{n}. {u}" for n, u in enumerate(task.units, 1)], ""]
    lines += ["## Resume Command", f"`tether resume {task.id}`", ""]
    return dump_front_matter(meta, "\n".join(lines))


def read_task(data: bytes, path: str, problems: list | None = None) -> Task:
    """``problems``: where to name a time that is not one (the task is read all the same)."""
    meta, _ = load_front_matter(data, path)
    values = fields(meta, path, TASK, data)
    if values["kind"] is None:
        values["kind"] = "steps"
    if values["status"] is None:
        values["status"] = "open"
    one_of(values, "kind", TASK_KINDS, path, data, None)
    one_of(values, "status", TASK_STATUSES, path, data, None)
    times(values, ("created", "closed"), path, problems, data)
    return Task(**values)


# -- checkpoints ----------------------------------------------------

def checkpoint_text(ckp: Checkpoint, task: Task) -> str:
    meta = ckp.to_dict()
    if meta.get("automatic") is None:  # the agent's own checkpoints: files as before the field existed
        meta.pop("automatic", None)
    done = ranges.parse(ckp.done)
    total = len(task.units)
    lines = [f"# Checkpoint: {task.title}", "", f"**ID:** {ckp.id}  ", f"**Task:** {task.id}  ",
             f"**Created:** {ckp.created}  ", f"**Device:** {ckp.device or 'unknown'}  ",
             f"**Status:** {ckp.status}  "]
    if ckp.automatic:
        lines.append(f"**Made:** {automatic_label(ckp.automatic)}; progress as the previous checkpoint left it  ")
    if total:
        lines.append(f"**Progress:** {ranges.count(ranges.clip(done, 1, total))} of {total} complete")
    lines += ["", "## Task Definition", task.definition or task.title, "", "## Progress"]
    lines += _progress_lines(task, done)
    lines += ["", "## Current State", ckp.current_state or "(not recorded)", ""]
    if ckp.state_from and ckp.current_state:
        written = ckp.state_from.rsplit('-', 1)[0]
        lines[-1:] = ["", f"(as the agent wrote it at {written}: this checkpoint was made automatically since;"
                          " what it saw is in its note)" if ckp.automatic else
                          f"(as written at {written}: this checkpoint gave no new state)", ""]
        if ckp.automatic and ckp.note_from:
            lines[-1:] = [f"(the agent's newest checkpoint, {ckp.note_from.rsplit('-', 1)[0]}, gave no new state:"
                          " resume and the brief name it, with its note)", ""]
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


def read_checkpoint(data: bytes, path: str, problems: list | None = None) -> Checkpoint:
    meta, _ = load_front_matter(data, path)
    return checkpoint_from(meta, path, data, problems=problems)


def checkpoint_from(meta: dict, path: str, data: bytes | None = None, line: int | None = None,
                    problems: list | None = None) -> Checkpoint:
    """From front matter (``data``: the file, to find a bad field's line) or a journal row (at ``line``);
    ``problems``: where to name a time that is not one (the checkpoint is read all the same)."""
    values = fields(meta, path, CHECKPOINT, data, line)
    if values["status"] is None:
        values["status"] = "in_progress"
    one_of(values, "status", CHECKPOINT_STATUSES, path, data, line)
    try:
        ranges.parse(values["done"])
    except ValueError:
        raise ParseError(path, line or field_line(data, "done"),
                         f"field 'done' is not a list of ranges like '1-12,15': {values['done'][:80]!r}") from None
    times(values, ("created",), path, problems, data, line)
    return Checkpoint(**values)


# -- decisions ------------------------------------------------------

def decision_text(decision: Decision) -> str:
    meta = decision.to_dict()
    if not meta.get("anchors"):  # files as before the field existed
        meta.pop("anchors", None)
    lines = [f"# Decision: {decision.question}", "", f"**ID:** {decision.id}  ", f"**When:** {decision.when}  ",
             *([f"**Who:** {decision.who}"] if decision.who else []), "", "## Decision", decision.decision, ""]
    if decision.rationale:
        lines += ["## Rationale", decision.rationale, ""]
    return dump_front_matter(meta, "\n".join(lines))


def read_decision(data: bytes, path: str, problems: list | None = None) -> Decision:
    meta, _ = load_front_matter(data, path)
    values = fields(meta, path, DECISION, data)
    times(values, ("when",), path, problems, data)
    return Decision(**values)


# -- the last close (LATEST.json) -----------------------------------------------------

def latest_text(latest: Latest) -> str:
    import json

    return json.dumps(latest.to_dict(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def read_latest(data: bytes, path: str, problems: list | None = None) -> Latest:
    """LATEST.json, every field of the seed's checked: a close the next boot cannot trust is a problem
    (``problems``: where to name a time or date that is not one; those leave it usable)."""
    from .codec import load_json

    value = load_json(data, path)
    if not isinstance(value, dict) or not isinstance(value.get("summary"), str):
        raise ParseError(path, 1, "expected an object with a 'summary' string")
    missing = [key for key in LATEST if key not in value]  # every close writes them all
    if missing:
        raise ParseError(path, 1, f"missing field '{missing[0]}'; the next close rewrites the file")
    values = fields(value, path, LATEST, data)
    times(values, ("generated_at",), path, problems, data, days=("date",))
    return Latest(**values)


# -- digests of tether's own in its records --------------------------------------------

def own_digests(line: str) -> set[str]:
    """The digests tether itself wrote in one line of its records, which a secret scanner takes for
    high-entropy secrets: the git blob ids of a memory's anchors (a checkpoint's or decision's
    front matter ``anchors:`` line, a journal or context-entry line), and the sha256 of cached
    files (``sha256`` and ``*_sha256`` fields of a JSON line). Only full object ids and digests
    (40 or 64 lowercase hex digits) where tether writes them: any other value stays a suspect."""
    text = line.strip()
    if text.startswith("anchors:"):  # front matter: the mapping as JSON, as dump_front_matter writes it
        text, wrap = text[len("anchors:"):].strip(), True
    elif text.startswith("{"):
        wrap = False
    else:
        return set()
    import json

    try:
        value = json.loads(text)
    except ValueError:  # RecursionError included: what tether wrote is never that deep
        return set()
    found: set[str] = set()
    _digests({"anchors": value} if wrap else value, found, 0)
    return found


def _digests(value, found: set, depth: int) -> None:
    if depth > 8:
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "anchors" and isinstance(item, dict):
                found.update(v for v in item.values() if _is_digest(v))
            elif isinstance(key, str) and (key == "sha256" or key.endswith("_sha256")) and _is_digest(item):
                found.add(item)
            else:
                _digests(item, found, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _digests(item, found, depth + 1)


def _is_digest(value) -> bool:
    return type(value) is str and len(value) in (40, 64) and not value.strip("0123456789abcdef")


# -- the manifest (index.json) --------------------------------------------------------

MANIFEST_SCHEMA = 1
DIGEST = r"sha256:[0-9a-f]{64}"


def manifest_problem(value: object, data: bytes | None) -> tuple[int | None, str] | None:
    """What is wrong with index.json's shape, as (line, message), or None: an object with a whole
    ``count``, the ``files`` mapping (path to ``sha256:`` and 64 lowercase hex digits; ``count`` of
    them), a ``generator`` string and this ``schema``, as every tether has written it."""
    from .fields import got

    if not isinstance(value, dict):
        return 1, f"expected a JSON object with 'count', 'files', 'generator' and 'schema', got {got(value)}"
    for key, kind, ok in (("files", "a mapping of paths to hashes", lambda v: type(v) is dict),
                          ("count", "a whole number", lambda v: type(v) is int),
                          ("schema", "a whole number", lambda v: type(v) is int),
                          ("generator", "a string", lambda v: type(v) is str)):
        if key not in value:
            return 1, f"missing field '{key}'"
        if not ok(value[key]):
            return field_line(data, key), f"field '{key}' must be {kind}, got {got(value[key])}"
    schema, count = value["schema"], value["count"]
    if schema > MANIFEST_SCHEMA:
        shown = schema if schema < 10**20 else "of more than 20 digits"
        return field_line(data, "schema"), (f"written by a newer tether (schema {shown}; this tether knows schema "
                                            f"{MANIFEST_SCHEMA}): upgrade tether")
    if schema != MANIFEST_SCHEMA:
        return field_line(data, "schema"), f"field 'schema' must be {MANIFEST_SCHEMA}, got {got(schema)}"
    import re

    digest_re = re.compile(DIGEST)
    for path, digest in value["files"].items():
        if type(digest) is not str or not digest_re.fullmatch(digest):
            import json

            shown = got(digest) if type(digest) is not str else "text of another form"
            return field_line(data, path), (f"the hash of {json.dumps(path[:80], ensure_ascii=False)} must be "
                                            f"'sha256:' and 64 lowercase hex digits, got {shown}")
    if count != len(value["files"]):
        return field_line(data, "count"), f"field 'count' is {got(count)} but 'files' lists {len(value['files'])}"
    return None
