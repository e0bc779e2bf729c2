"""The file layout of a workspace: the source of truth, in plain files.

One file per record, append-only logs, collision-free names: two branches
that each add records merge in git without conflicts. ``open/<task-id>``
holds one empty marker per open task, a tracked index that lets boot find
open tasks without reading closed ones (markers are only ever added or
removed, never edited, so they merge cleanly too).
"""

from __future__ import annotations

import re
TYPE_CHECKING = False  # not `from typing import ...`: typing costs 3 ms at start-up

if TYPE_CHECKING:
    from typing import Callable, Iterator

from .. import ids
from ..errors import Conflict, NotFound
from ..eventlog import EVENT_LOG, last_lines
from ..fsio import WHOLE  # tail(WHOLE), unlike read(), is never recorded as what boot's brief read
from ..parsing import ParseError, Problem, canonical_json, iter_jsonl
from ..records import Checkpoint, Decision, Note, Task, checkpoint_number
from . import journal
from .base import ReadOnly, Store

CKP_RE = re.compile(r"^CKP-(\d+)(?:-[0-9a-z]+)?$")
# CKP_RE plus ".md", matched over the whole listing at once (one regex call, not one per file).
CKP_FILES_RE = re.compile(r"^(CKP-(\d+)(?:-[0-9a-z]+)?)\.md$", re.M)
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Paths that are derived or per-machine: never part of the tracked state.
UNTRACKED_DIRS = ("locks/", "local/", "cache/")
MANIFEST = "index.json"




class FileStore(Store):
    def __init__(self, tree, label: str = ".tether") -> None:
        super().__init__()
        self.tree = tree
        self.readonly = tree.readonly
        self.label = label  # how paths are shown to people
        # In-process caches for long-lived users of the API (a loop of checkpoints): a task
        # by its file's stat, and each task's newest checkpoint with the lock token it left.
        self._tasks: dict[str, tuple] = {}
        self._newest: dict[str, tuple] = {}
        self.listings = None  # a boot's store.listings.Listings, while it gathers (DirTree only)

    def shown(self, rel: str) -> str:
        return f"{self.label}/{rel}"

    def _writable(self) -> None:
        if self.readonly:
            raise ReadOnly("this store is a commit's snapshot and cannot be changed",
                           hint="run the command without --sha to change the working tree")

    # -- workspace files ----------------------------------------------------
    def read_file(self, rel: str) -> bytes | None:
        return self.tree.read(rel)

    def write_file(self, rel: str, data: bytes | str) -> None:
        self._writable()
        self.tree.write(rel, data)

    def read_record(self, rel: str) -> bytes | None:
        """A record's bytes, None if absent; a directory in its place is a problem to report, not an absence."""
        data = self.tree.read(rel)
        if data is None and self.tree.exists(rel):
            raise ParseError(self.shown(rel), None, "a directory where a file should be; move it away, or restore"
                                                    " the file with `git checkout -- PATH`")
        return data

    # -- tasks --------------------------------------------------------------
    def create_task(self, task: Task) -> None:
        self._writable()
        if not self.tree.create(f"tasks/{task.id}/task.md", task.to_text()):
            raise Conflict(f"task {task.id} already exists", hint="choose another id, or omit --id for a generated one")
        if task.status == "open":
            try:
                self.tree.create(f"open/{task.id}", "")
            except OSError:  # a full disk: no task half made (boot would not list it), the id free again
                self.remove_task(task.id)
                raise

    def remove_task(self, task_id: str) -> None:
        """Take back a task just created (its marker, task.md, its folder when empty): a start that
        failed half-way leaves nothing to report or to collide with when it is run again."""
        self._writable()
        self.tree.remove(f"open/{task_id}")
        self.tree.remove(f"tasks/{task_id}/task.md")
        remove_dir = getattr(self.tree, "remove_dir", None)
        if remove_dir is not None:
            remove_dir(f"tasks/{task_id}")

    def save_task(self, task: Task) -> None:
        self._writable()
        self.tree.write(f"tasks/{task.id}/task.md", task.to_text())
        if task.status == "open":
            self.tree.create(f"open/{task.id}", "")
        else:
            self.tree.remove(f"open/{task.id}")

    def load_task(self, task_id: str) -> Task:
        rel = f"tasks/{task_id}/task.md"
        stat_key = getattr(self.tree, "stat_key", None)
        # Not while boot records what it reads (its warm start must see every file).
        key = stat_key(rel) if stat_key and self.tree.reads is None and self.tree.stats is None else None
        cached = self._tasks.get(task_id)
        if key is not None and cached and cached[0] == key:
            return cached[1].copy()
        task = self._read_task(task_id, rel)
        if key is not None:
            self._tasks[task_id] = (key, task.copy())
        return task

    def _read_task(self, task_id: str, rel: str) -> Task:
        data = self.read_record(rel) if ids.valid_id(task_id) else None
        if data is None:
            raise NotFound(f"no task {task_id}", hint="run `tether task list --all` to see task ids")
        task = Task.from_bytes(data, self.shown(rel))
        if task.id != task_id:
            raise ParseError(self.shown(rel), None, f"id field says {task.id!r} but the folder is {task_id!r}")
        return task

    def task_ids(self) -> list[str]:
        return [n for n in self.tree.list("tasks") if ids.valid_id(n)]

    def open_task_ids(self) -> list[str]:
        return [n for n in self.tree.list("open") if ids.valid_id(n)]

    # -- checkpoints --------------------------------------------------------
    def checkpoint_names(self, task_id: str) -> list[str]:
        # Boot and checkpoint list every checkpoint of a task (thousands for a bulk job).
        folder = f"tasks/{task_id}/checkpoints"
        listings, key = self.listings, None
        if listings is not None:  # a boot: an unchanged folder's names are those of the last boot
            key = self.tree.folder_key(folder)
            names = listings.get(folder, key)
            if names is not None:
                return names
        files = self.tree.list(folder)
        keyed = [(int(number), name) for name, number in CKP_FILES_RE.findall("\n".join(files))]
        keyed.sort()
        names = [name for _, name in keyed]
        if listings is not None:
            listings.put(folder, key, names)
        return names

    def load_checkpoint(self, task_id: str, name: str) -> Checkpoint:
        rel = f"tasks/{task_id}/checkpoints/{name}.md"
        data = self.read_record(rel)
        if data is None:
            raise NotFound(f"no checkpoint {name} in task {task_id}",
                           hint=f"run `tether task status {task_id}` to list its checkpoints")
        return Checkpoint.from_bytes(data, self.shown(rel))

    def add_checkpoint(self, task_id: str, build: Callable, render: Callable) -> Checkpoint:
        self._writable()
        folder = f"tasks/{task_id}/checkpoints"
        stat_key = getattr(self.tree, "stat_key", None)
        with self.tree.lock(f"task-{task_id}") as lock:
            token = lock.token() if hasattr(lock, "token") else None
            cached = self._newest.get(task_id)
            if token and cached and cached[0] == token and cached[1] == (stat_key(folder),
                                                                       stat_key(f"{folder}/{cached[2].name}.md")):
                # Nobody wrote since this process did (the token it left is still there), the
                # folder is as it left it (nothing arrived by git) and so is the newest file
                # (not edited by hand): no need to list and read them again.
                previous, number = cached[2], cached[2].number + 1
            else:
                self._restore_if_needed(task_id, token)
                names = self.checkpoint_names(task_id)
                known = len(self.problems)
                previous = Store.latest_checkpoint(self, task_id, names)  # the lock is held: no check again
                if len(self.problems) > known:
                    # Built on an older checkpoint, the new one would drop the unreadable ones' progress:
                    # their journal lines still hold it.
                    previous = journal.newest_after(self, task_id, names, previous) or previous
                number = checkpoint_number(names[-1]) + 1 if names else 1  # names are in number order
            while True:
                # The random suffix keeps names unique when two branches both add
                # checkpoint N to one task; the lock keeps numbers unique here.
                name = f"CKP-{number:04d}-{ids.random_suffix()}"
                checkpoint = build(previous, number, name)
                # Published complete but not flushed: the journal line below is the durable copy.
                if self.tree.create(f"{folder}/{name}.md", render(checkpoint), durable=False):
                    break
            # fsync: acknowledged. Aligned, so that a kill cannot tear it; a line torn before (a long
            # one, or from an older tether) is completed from its checkpoint file first.
            self.tree.append(f"tasks/{task_id}/{journal.JOURNAL}", journal.line(checkpoint), aligned=True,
                             mend=lambda torn: journal.whole_line(self, task_id, torn, skip=name))
            if token is not None:
                token = f"{journal.boot_id()}/{name}"
                lock.set_token(token)
                newest = checkpoint.copy()
                newest.tips = [name]
                self._newest[task_id] = (token, (stat_key(folder), stat_key(f"{folder}/{name}.md")), newest)
            return checkpoint

    def latest_checkpoint(self, task_id: str, names: list[str] | None = None) -> Checkpoint | None:
        if self._journal_checked(task_id):
            names = None  # files were written again: list them anew
        return super().latest_checkpoint(task_id, names)

    def _journal_checked(self, task_id: str) -> bool:
        """Restore what a machine crash lost, if that may have happened; True if anything was."""
        read_token = getattr(self.tree, "lock_token", None)
        if self.readonly or read_token is None:
            return False
        if not journal.needs_check(read_token(f"task-{task_id}")):
            return False  # checked since this machine started: one small read
        try:
            with self.tree.lock(f"task-{task_id}") as lock:
                return bool(self._restore_if_needed(task_id, lock.token(), lock))
        except OSError:  # a read-only checkout: read what is there
            return False

    def _restore_if_needed(self, task_id: str, token: str | None, lock=None) -> list[str]:
        if self.readonly or not hasattr(self.tree, "stat_key") or not journal.needs_check(token):
            return []
        restored = journal.restore(self, task_id)
        if lock is not None:
            lock.set_token(f"{journal.boot_id()}/")  # checked for this boot
        return restored

    def save_result(self, task_id: str, name: str, data: bytes) -> str:
        self._writable()
        if not ids.valid_id(name):
            from ..errors import InvalidInput
            raise InvalidInput(f"invalid result name {name!r}", hint="use letters, digits, '.', '_' and '-' only")
        rel = f"tasks/{task_id}/intermediate/{name}"
        self.tree.write(rel, data)
        return self.shown(rel)

    # -- decisions ------------------------------------------------------------
    def add_decision(self, decision: Decision) -> None:
        self._writable()
        if not self.tree.create(f"decisions/{decision.id}.md", decision.to_text()):
            raise Conflict(f"decision {decision.id} already exists", hint="omit --id for a generated one")

    def decision_ids(self) -> list[str]:
        return [n[:-3] for n in self.tree.list("decisions") if n.endswith(".md")]

    def load_decision(self, decision_id: str) -> Decision:
        rel = f"decisions/{decision_id}.md"
        data = self.read_record(rel) if ids.valid_id(decision_id) else None
        if data is None:
            raise NotFound(f"no decision {decision_id}", hint="run `tether decide --list` to see decision ids")
        return Decision.from_bytes(data, self.shown(rel))

    # -- notes (context entries) ------------------------------------------------
    def append_note(self, entry: dict) -> None:
        self._writable()
        self.tree.append("context.jsonl", canonical_json(entry) + "\n")

    def notes(self) -> list[Note]:
        try:
            data = self.read_record("context.jsonl") or b""
        except ParseError as exc:
            self.problems.append(exc.problem)
            data = b""
        entries: dict[str, Note] = {}
        resolved: dict[str, str] = {}
        for number, row in iter_jsonl(data, self.shown("context.jsonl"), self.problems, numbered=True):
            if "resolve" in row:
                resolved[str(row["resolve"])] = str(row.get("at", ""))
            elif {"id", "kind", "text", "at"} <= row.keys():
                entries[str(row["id"])] = Note(str(row["id"]), str(row["kind"]), str(row["text"]),
                                               str(row["at"]), row.get("by"))
            else:
                missing = ", ".join(k for k in ("id", "kind", "text", "at") if k not in row)
                self.problems.append(Problem(self.shown("context.jsonl"), number, f"entry without {missing}; line skipped"))
        for note_id, when in resolved.items():
            if note_id in entries:
                entries[note_id].resolved = when
        # Union merges may interleave lines from two branches: order by time; the sort is
        # stable, so entries of one second keep the order they were written in.
        return sorted(entries.values(), key=lambda n: n.at)

    # -- events ------------------------------------------------------------------
    def append_event(self, event: dict, durable: bool = True) -> None:
        self._writable()
        self.tree.append(EVENT_LOG, canonical_json(event) + "\n", durable)

    def recent_events(self, limit: int) -> list[dict]:
        if limit <= 0:
            return []
        rel = EVENT_LOG
        try:
            data = last_lines(lambda size: self.tree.tail(rel, size), limit, WHOLE)
        except IsADirectoryError:
            self.problems.append(Problem(self.shown(rel), None, "a directory where a file should be; move it away"))
            return []
        found: list[Problem] = []
        rows = list(iter_jsonl(data, self.shown(rel), found))
        if found:  # rare: number bad lines from the top of the log, not of the window read
            before = self.tree.tail(rel, WHOLE).count(b"\n") - data.count(b"\n")
            self.problems.extend(Problem(p.path, p.line + before if p.line else p.line, p.message) for p in found)
        rows.sort(key=lambda e: str(e.get("at", "")))
        return rows[-limit:]

    def all_events(self) -> Iterator[dict]:
        data = self.tree.read("memory/events.jsonl") or b""
        yield from iter_jsonl(data, self.shown("memory/events.jsonl"), self.problems)

    # -- progress ------------------------------------------------------------------
    def append_progress(self, date: str, section: str) -> str:
        self._writable()
        rel = f"progress/{date}.md"
        self.tree.create(rel, f"# Progress log {date}\n")
        # Aligned: a section that fits in a block cannot be torn by a kill (see fsio.append_text).
        self.tree.append(rel, "\n" + section.rstrip("\n") + "\n", aligned=True)
        return self.shown(rel)

    def progress_dates(self) -> list[str]:
        return [n[:-3] for n in self.tree.list("progress") if n.endswith(".md") and DATE_RE.match(n[:-3])]

    # -- locks and enumeration ------------------------------------------------------
    def lock(self, name: str):
        self._writable()
        return self.tree.lock(name)

    def state_files(self) -> Iterator[tuple[str, bytes]]:
        for rel in self.tree.walk(""):
            if rel == MANIFEST or rel.startswith(UNTRACKED_DIRS):
                continue
            data = self.tree.read(rel)
            if data is not None:
                yield rel, data


def loads_latest(data: bytes | None, shown: str, problems: list[Problem]) -> dict | None:
    """LATEST.json, or None (with a problem recorded) when it cannot be used."""
    if data is None:
        return None
    from ..parsing import load_json

    try:
        value = load_json(data, shown)
    except ParseError as exc:
        problems.append(exc.problem)
        return None
    if not isinstance(value, dict) or not isinstance(value.get("summary"), str):
        problems.append(Problem(shown, 1, "expected an object with a 'summary' string"))
        return None
    return value
