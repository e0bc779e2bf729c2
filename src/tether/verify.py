"""Read every state file and report each problem: ``tether verify``.

Boot and the other commands read only what they need (the open tasks, each one's
newest checkpoint, the memory log's last lines), so a damaged closed task, an old
checkpoint or a torn journal line goes unnoticed until something reads it. verify
reads all of it, as ``git fsck`` does for git's objects: for CI, a pre-commit hook,
or after a merge or a crash. It never changes a file.
"""

from __future__ import annotations

from . import ids
from .fsio import torn_start
from .parsing import ParseError, Problem, check_conflicts, decode, iter_jsonl, load_json
from .recordtype import Record
from .store import journal
from .store.files import CKP_RE, FileStore, loads_latest


NEWLINE = b"\n"


class Verification(Record):
    # torn: "path:line" of each log whose last line was torn (a writer stopped mid-append): the next
    # write to that log, or `tether index --repair`, sets it aside.
    FIELDS = {"files": 0, "problems": list, "torn": list}

    def to_dict(self) -> dict:
        return {"files": self.files, "problems": [p.to_dict() for p in self.problems], "torn": self.torn}


def verify(store: FileStore, context_document: str) -> Verification:
    """Every problem in the store's tracked files; ``context_document`` as the config names it."""
    store.problems = []
    checked = 0

    def attempt(load, *args) -> object | None:
        nonlocal checked
        checked += 1
        try:
            return load(*args)
        except ParseError as exc:
            store.problems.append(exc.problem)
        return None

    torn: list[str] = []
    task_ids = store.task_ids()
    _name_strays(store, "tasks", set(task_ids), "not a task id (letters, digits, '.', '_', '-')")
    for task_id in task_ids:
        if store.tree.exists(f"tasks/{task_id}/task.md"):
            task = attempt(store.load_task, task_id)
        else:
            task = None
            store.problems.append(Problem(store.shown(f"tasks/{task_id}"), None,
                                          "not a task (no task.md in it); tether ignores it and what it holds"))
            continue
        names = store.checkpoint_names(task_id)
        _name_strays(store, f"tasks/{task_id}/checkpoints", {f"{n}.md" for n in names},
                     "not a checkpoint's file name (CKP-0001-x7k2mq.md)")
        for name in names:
            attempt(store.load_checkpoint, task_id, name)
        checked += _check_journal(store, task_id, set(names), torn)
        if task is not None and task.status == "open" and not store.tree.exists(f"open/{task_id}"):
            store.problems.append(Problem(store.shown(f"tasks/{task_id}/task.md"), None,
                                          "the task is open but has no open/ marker, so boot does not list it; "
                                          "run `tether index --repair`"))
    known = set(task_ids)
    for task_id in store.open_task_ids():
        if task_id not in known:
            store.problems.append(Problem(store.shown(f"open/{task_id}"), None,
                                          "open marker without a task; run `tether index --repair`"))
    for decision_id in store.decision_ids():
        if ids.valid_id(decision_id):
            attempt(store.load_decision, decision_id)
        else:
            store.problems.append(Problem(store.shown(f"decisions/{decision_id}.md"), None,
                                          "not a decision id (letters, digits, '.', '_', '-'); tether ignores it"))
    for rel, read in (("context.jsonl", store.notes), ("memory/events.jsonl", lambda: list(store.all_events()))):
        data = _read(store, rel)
        if data is not None:
            attempt(read)
            if torn_start(data) is not None:
                torn.append(f"{store.shown(rel)}:{data.count(NEWLINE) + 1}")
    checked += _check_progress(store)
    for rel in _generated(context_document):
        data = _read(store, rel)
        if data is not None:
            attempt(_check_text if rel.endswith(".md") else load_json, data, store.shown(rel))
    return Verification(files=checked, problems=list(store.problems), torn=torn)


def _read(store: FileStore, rel: str) -> bytes | None:
    """A file's bytes; None when absent, and a problem when a directory sits in its place."""
    try:
        return store.read_record(rel)
    except ParseError as exc:
        store.problems.append(exc.problem)
        return None


def _name_strays(store: FileStore, folder: str, known: set[str], why: str) -> None:
    """Name what sits in a folder of records without being one: tether never reads it, so a
    person who saved a record under a wrong name would otherwise never hear of it. Hidden
    names (.DS_Store, a writer's temporary file) are not records by anyone's intent."""
    for name in store.tree.list(folder):
        if name not in known and not name.startswith("."):
            store.problems.append(Problem(store.shown(f"{folder}/{name}"), None, f"{why}; tether ignores it"))


def _check_journal(store: FileStore, task_id: str, names: set[str], torn: list[str]) -> int:
    """The journal's lines, and that each names a checkpoint file that is there: one that is not
    (deleted by hand, say) would be written again at the next restart of the machine."""
    rel = f"tasks/{task_id}/{journal.JOURNAL}"
    data = _read(store, rel)
    if data is None:
        return 0
    shown = store.shown(rel)
    if torn_start(data) is not None:
        torn.append(f"{shown}:{data.count(NEWLINE) + 1}")
    for number, line in enumerate(data.split(b"\n"), 1):  # line by line, to name each row's line
        for row in iter_jsonl(line, shown, store.problems, first_line=number):
            name = str(row.get("name") or "")
            if not CKP_RE.match(name):
                store.problems.append(Problem(shown, number, "a line without a checkpoint name"))
            elif name not in names:
                store.problems.append(Problem(
                    shown, number, f"{name} is in the journal but its file is missing: the next restart of the "
                    "machine writes it again (to delete a checkpoint, remove its journal line too)"))
    return 1


def _check_progress(store: FileStore) -> int:
    count = 0
    for date in store.progress_dates():
        rel = f"progress/{date}.md"
        data = store.read_file(rel)
        if data is None:
            continue
        count += 1
        try:
            _check_text(data, store.shown(rel))
        except ParseError as exc:
            store.problems.append(exc.problem)
    data = _read(store, "progress/LATEST.json")
    if data is not None:
        count += 1
        loads_latest(data, store.shown("progress/LATEST.json"), store.problems)
    return count


def _check_text(data: bytes, shown: str) -> None:
    check_conflicts(decode(data, shown), shown)


def _generated(context_document: str) -> list[str]:
    rels = ["index.json"]
    rel = context_document.removeprefix(".tether/")
    if rel != context_document:  # kept outside the store: not part of its state
        rels.append(rel)
    return rels
