"""The store: a workspace's records as plain files on a tree, the only code that knows their names.

One file per record, append-only logs, collision-free names: two branches that
each add records merge in git without conflicts. ``open/<task-id>`` holds one
empty marker per open task, a tracked index that lets boot find open tasks
without reading closed ones (markers are only ever added or removed, never
edited, so they merge cleanly too).

The domain (core) asks for records, never for paths; each method says what it
reads or writes. Reads that meet a corrupt file raise :class:`ParseError`;
listing reads never raise for one bad record: they report a :class:`Problem`
(``report``) and go on. Problems are collected per call of the domain
(``collecting``), so a long-lived store does not pile them up.
"""

from __future__ import annotations

import re

TYPE_CHECKING = False  # not `from typing import ...`: typing costs 3 ms at start-up
if TYPE_CHECKING:
    from typing import Callable, Iterator

from ..errors import Conflict, NotFound, ParseError, Problem, ReadOnly
from ..model import ids
from ..model.records import Checkpoint, Decision, Latest, Note, Task, checkpoint_number
from . import formats, journal, layout
from .codec import canonical_json, check_conflicts, decode, iter_jsonl, load_json
from .eventlog import last_lines
from .fsio import WHOLE  # tail(WHOLE), unlike read(), is never recorded as what boot's brief read

CKP_RE = re.compile(r"^CKP-(\d+)(?:-[0-9a-z]+)?$")
# CKP_RE plus ".md", matched over the whole listing at once (one regex call, not one per file).
CKP_FILES_RE = re.compile(r"^(CKP-(\d+)(?:-[0-9a-z]+)?)\.md$", re.M)
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class _Collecting:
    """A fresh problem list for one call; what it gathered joins the caller's list after."""

    def __init__(self, store) -> None:
        self.store = store

    def __enter__(self) -> list[Problem]:
        self.outer = self.store.problems
        self.store.problems = []
        return self.store.problems

    def __exit__(self, *exc) -> None:
        found, self.store.problems = self.store.problems, self.outer
        for problem in found:
            if problem not in self.outer:
                self.outer.append(problem)


class Store:
    def __init__(self, tree, label: str = layout.STORE_DIR, repository=None) -> None:
        self.tree = tree
        self.repository = repository  # a tree over the repository's root: documents kept outside the store
        self.readonly = tree.readonly
        self.label = label  # how paths are shown to people
        self.problems: list[Problem] = []
        # In-process caches for long-lived users of the API (a loop of checkpoints): a task
        # by its file's stat, and each task's newest checkpoint with the lock token it left.
        self._tasks: dict[str, tuple] = {}
        self._newest: dict[str, tuple] = {}
        self._recording = False
        self.listings = None  # a boot's warm.listings.Listings, while it gathers

    def shown(self, rel: str) -> str:
        return f"{self.label}/{rel}"

    def report(self, problem: Problem) -> None:
        if problem not in self.problems:  # one command may read a record twice
            self.problems.append(problem)

    def collecting(self) -> _Collecting:
        """``with store.collecting() as problems:`` the problems met inside, for one call's result."""
        return _Collecting(self)

    def _writable(self) -> None:
        if self.readonly:
            raise ReadOnly("this store is a commit's snapshot and cannot be changed",
                           hint="run the command without --sha to change the working tree")

    def read_record(self, rel: str) -> bytes | None:
        """A record's bytes, None if absent; a directory in its place is a problem to report, not an absence."""
        data = self.tree.read(rel)
        if data is None and self.tree.exists(rel):
            raise ParseError(self.shown(rel), None, "a directory where a file should be; move it away, or restore"
                                                    " the file with `git checkout -- PATH`")
        return data

    # -- what boot reads, recorded ------------------------------------------------------
    def recording(self, listings=None):
        """While gathering a brief: the tree records the stat and bytes of what it reads
        (``Recorded``), and folder listings come from ``listings`` (warm.listings) when it can."""
        return _Recording(self, listings)

    # -- the workspace's own files --------------------------------------------------------
    def read_config(self) -> bytes | None:
        return self.tree.read(layout.CONFIG)

    def create_defaults(self, files: dict[str, str]) -> list[str]:
        """Create the files that are missing (config, .gitignore, ...); returns the shown paths created."""
        self._writable()
        return [self.shown(rel) for rel, text in files.items() if self.tree.create(rel, text)]

    def read_file(self, rel: str) -> bytes | None:
        """A workspace file by its store path (the config, .gitattributes, the context document)."""
        return self.tree.read(rel)

    def write_file(self, rel: str, data: bytes | str) -> None:
        self._writable()
        self.tree.write(rel, data)

    def exists(self, rel: str) -> bool:
        return self.tree.exists(rel)

    def _document(self, path: str):
        """(tree, path in it) of a document named from the repository root (tether.toml's
        context.document): inside the store, the store's own tree."""
        inside = path.removeprefix(self.label + "/")
        if inside != path or self.repository is None:
            return self.tree, inside
        return self.repository, path

    def read_document(self, path: str) -> bytes | None:
        tree, rel = self._document(path)
        return tree.read(rel)

    def write_document(self, path: str, text: str) -> None:
        self._writable()
        tree, rel = self._document(path)
        tree.write(rel, text)

    def default_document(self) -> str:
        """Where the session context document is when tether.toml does not say (or cannot be read)."""
        return self.shown(layout.CONTEXT_DOCUMENT)

    def remove_leftovers(self) -> list[str]:
        """Remove the temporary files killed writers left (on a directory tree); their store paths."""
        from .fsio import remove_stale_tmp_files

        return remove_stale_tmp_files(self.tree.directory) if self.tree.directory and not self.readonly else []

    def committed_paths(self, document: str) -> list[str]:
        """What a close commits, from the repository root: the store, and the context document
        when it is kept outside it."""
        return [self.label] + ([document] if not document.startswith(self.label + "/") else [])

    def active_task(self) -> str:
        """The task this machine works on, as last chosen here ("" when none)."""
        return (self.tree.read(layout.ACTIVE) or b"").decode("utf-8", "replace").strip()

    def set_active_task(self, task_id: str) -> None:
        # Every checkpoint sets it: skip the durable rewrite (two fsyncs) when it is already so.
        if self.tree.read(layout.ACTIVE) != (task_id + "\n").encode("utf-8"):
            self.tree.write(layout.ACTIVE, task_id + "\n")

    # -- tasks --------------------------------------------------------------------------
    def create_task(self, task: Task) -> None:
        self._writable()
        if not self.tree.create(layout.task_file(task.id), formats.task_text(task)):
            raise Conflict(f"task {task.id} already exists", hint="choose another id")
        if task.status == "open":
            self.tree.create(layout.open_marker(task.id), "")

    def save_task(self, task: Task) -> None:
        self._writable()
        self.tree.write(layout.task_file(task.id), formats.task_text(task))
        self.set_open_marker(task.id, task.status == "open")

    def set_open_marker(self, task_id: str, is_open: bool) -> None:
        self._writable()
        if is_open:
            self.tree.create(layout.open_marker(task_id), "")
        else:
            self.tree.remove(layout.open_marker(task_id))

    def load_task(self, task_id: str) -> Task:
        rel = layout.task_file(task_id)
        # Not while boot records what it reads (its warm start must see every file).
        key = self.tree.stat_key(rel) if not self._recording else None
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
            raise NotFound(f"no task {task_id}")
        task = formats.read_task(data, self.shown(rel))
        if task.id != task_id:
            raise ParseError(self.shown(rel), None, f"id field says {task.id!r} but the folder is {task_id!r}")
        return task

    def task_ids(self) -> list[str]:
        return [n for n in self.tree.list(layout.TASKS) if ids.valid_id(n)]

    def open_task_ids(self) -> list[str]:
        return [n for n in self.tree.list(layout.OPEN) if ids.valid_id(n)]

    def is_task(self, task_id: str) -> bool:
        """Whether the task's folder holds a task file (a folder without one is not a task)."""
        return self.tree.exists(layout.task_file(task_id))

    def task_path(self, task_id: str) -> str:
        return self.shown(layout.task_file(task_id))

    def marker_path(self, task_id: str) -> str:
        return self.shown(layout.open_marker(task_id))

    def strays(self, where: str, task_id: str | None = None) -> list[str]:
        """Shown paths of what sits among the records without being one (``where``: "tasks",
        "checkpoints" of ``task_id``, "decisions"), hidden names (.DS_Store, a writer's
        temporary file) left out: tether never reads them, so a record saved under a wrong name
        would otherwise never be heard of."""
        if where == "tasks":
            folder, known = layout.TASKS, set(self.task_ids())
        elif where == "checkpoints":
            folder = layout.checkpoints_dir(task_id)
            known = {f"{n}.md" for n in self.checkpoint_names(task_id)}
        else:
            folder = layout.DECISIONS
            known = {f"{n}.md" for n in self.decision_ids() if ids.valid_id(n)}
        return [self.shown(f"{folder}/{name}") for name in self.tree.list(folder)
                if name not in known and not name.startswith(".")]

    # -- checkpoints --------------------------------------------------------------------
    def checkpoint_names(self, task_id: str) -> list[str]:
        """File stems (``CKP-0004-7kq2mx``) in checkpoint order."""
        # Boot and checkpoint list every checkpoint of a task (thousands for a bulk job).
        folder = layout.checkpoints_dir(task_id)
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

    def checkpoint_path(self, task_id: str, name: str) -> str:
        return self.shown(layout.checkpoint_file(task_id, name))

    def load_checkpoint(self, task_id: str, name: str) -> Checkpoint:
        rel = layout.checkpoint_file(task_id, name)
        data = self.read_record(rel)
        if data is None:
            raise NotFound(f"no checkpoint {name} in task {task_id}")
        return formats.read_checkpoint(data, self.shown(rel))

    def checkpoint_text(self, task_id: str, name: str) -> str:
        return (self.tree.read(layout.checkpoint_file(task_id, name)) or b"").decode("utf-8", "replace")

    def add_checkpoint(self, task_id: str, newest: Callable[[list[str]], Checkpoint | None],
                       build: Callable[[Checkpoint | None, int, str], Checkpoint],
                       render: Callable[[Checkpoint], str]) -> Checkpoint:
        """Number and store a checkpoint atomically.

        Under the task's lock: ``newest(names)`` (the domain's answer, over the checkpoint
        names) gives the latest checkpoint, and ``build(previous, number, name)`` makes the
        new one from it, so concurrent writers never share a number and never lose each
        other's progress.
        """
        self._writable()
        folder = layout.checkpoints_dir(task_id)
        stat_key = self.tree.stat_key
        with self.tree.lock(f"task-{task_id}") as lock:
            token = lock.token() if self.tree.lock_tokens else None
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
                previous = newest(names)  # the lock is held: no check again
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
            self.tree.append(layout.journal(task_id), journal.line(checkpoint))  # fsync: acknowledged
            if token is not None:
                token = f"{journal.boot_id()}/{name}"
                lock.set_token(token)
                latest = checkpoint.copy()
                latest.tips = [name]
                self._newest[task_id] = (token, (stat_key(folder), stat_key(f"{folder}/{name}.md")), latest)
            return checkpoint

    def restore_lost_checkpoints(self, task_id: str) -> bool:
        """Restore what a machine crash lost, if that may have happened; True if anything was."""
        if self.readonly or not self.tree.lock_tokens:
            return False
        if not journal.needs_check(self.tree.lock_token(f"task-{task_id}")):
            return False  # checked since this machine started: one small read
        try:
            with self.tree.lock(f"task-{task_id}") as lock:
                return bool(self._restore_if_needed(task_id, lock.token(), lock))
        except OSError:  # a read-only checkout: read what is there
            return False

    def _restore_if_needed(self, task_id: str, token: str | None, lock=None) -> list[str]:
        if self.readonly or not self.tree.keeps_stats or not journal.needs_check(token):
            return []
        restored = journal.restore(self, task_id)
        if lock is not None:
            lock.set_token(f"{journal.boot_id()}/")  # checked for this boot
        return restored

    def check_journal(self, task_id: str) -> int:
        """Report each line of a task's journal that is not a checkpoint's, or names one whose file is
        missing (deleted by hand, say: the next restart of the machine would write it again);
        returns 1 if there is a journal."""
        rel = layout.journal(task_id)
        try:
            data = self.read_record(rel)
        except ParseError as exc:
            self.report(exc.problem)
            return 0
        if data is None:
            return 0
        shown, names = self.shown(rel), set(self.checkpoint_names(task_id))
        for number, line in enumerate(data.split(b"\n"), 1):  # line by line, to name each row's line
            for row in iter_jsonl(line, shown, self.problems, first_line=number):
                name = str(row.get("name") or "")
                if not CKP_RE.match(name):
                    self.report(Problem(shown, number, "a line without a checkpoint name"))
                elif name not in names:
                    self.report(Problem(
                        shown, number, f"{name} is in the journal but its file is missing: the next restart of the "
                        "machine writes it again (to delete a checkpoint, remove its journal line too)"))
        return 1

    def save_result(self, task_id: str, name: str, data: bytes) -> str:
        """Cache an intermediate result; returns its shown path."""
        self._writable()
        if not ids.valid_id(name):
            from ..errors import InvalidInput
            raise InvalidInput(f"invalid result name {name!r}", hint="use letters, digits, '.', '_' and '-' only")
        rel = layout.result_file(task_id, name)
        self.tree.write(rel, data)
        return self.shown(rel)

    # -- decisions --------------------------------------------------------------------------
    def add_decision(self, decision: Decision) -> None:
        self._writable()
        if not self.tree.create(layout.decision_file(decision.id), formats.decision_text(decision)):
            raise Conflict(f"decision {decision.id} already exists")

    def decision_ids(self) -> list[str]:
        return [n[:-3] for n in self.tree.list(layout.DECISIONS) if n.endswith(".md")]

    def decision_path(self, decision_id: str) -> str:
        return self.shown(layout.decision_file(decision_id))

    def load_decision(self, decision_id: str) -> Decision:
        rel = layout.decision_file(decision_id)
        data = self.read_record(rel) if ids.valid_id(decision_id) else None
        if data is None:
            raise NotFound(f"no decision {decision_id}")
        return formats.read_decision(data, self.shown(rel))

    # -- context entries ----------------------------------------------------------------------
    def append_note(self, entry: dict) -> None:
        """Append a context entry or a resolution ``{"resolve": id, "at": ...}``."""
        self._writable()
        self.tree.append(layout.CONTEXT_ENTRIES, canonical_json(entry) + "\n")

    def note_ids_taken(self) -> bytes:
        """The entries' log as it is: any id in it is taken (an entry, a resolution, a quote)."""
        return self.tree.read(layout.CONTEXT_ENTRIES) or b""

    def notes(self) -> list[Note]:
        """Context entries in order, resolutions applied."""
        rel = layout.CONTEXT_ENTRIES
        try:
            data = self.read_record(rel) or b""
        except ParseError as exc:
            self.report(exc.problem)
            data = b""
        entries: dict[str, Note] = {}
        resolved: dict[str, str] = {}
        for number, row in iter_jsonl(data, self.shown(rel), self.problems, numbered=True):
            if "resolve" in row:
                resolved[str(row["resolve"])] = str(row.get("at", ""))
            elif {"id", "kind", "text", "at"} <= row.keys():
                entries[str(row["id"])] = Note(str(row["id"]), str(row["kind"]), str(row["text"]),
                                               str(row["at"]), row.get("by"))
            else:
                missing = ", ".join(k for k in ("id", "kind", "text", "at") if k not in row)
                self.report(Problem(self.shown(rel), number, f"entry without {missing}; line skipped"))
        for note_id, when in resolved.items():
            if note_id in entries:
                entries[note_id].resolved = when
        # Union merges may interleave lines from two branches: order by time; the sort is
        # stable, so entries of one second keep the order they were written in.
        return sorted(entries.values(), key=lambda n: n.at)

    def has_notes(self) -> bool:
        return self.read_record(layout.CONTEXT_ENTRIES) is not None

    # -- events ------------------------------------------------------------------------------
    def append_event(self, event: dict, durable: bool = True) -> None:
        """Append to the memory log; ``durable=False``: written, not forced to disk on its own
        (a checkpoint's line: the checkpoint file itself is the durable record)."""
        self._writable()
        self.tree.append(layout.EVENT_LOG, canonical_json(event) + "\n", durable)

    def recent_events(self, limit: int) -> list[dict]:
        """The last ``limit`` events, oldest first, without reading the whole log."""
        if limit <= 0:
            return []
        rel = layout.EVENT_LOG
        try:
            data = last_lines(lambda size: self.tree.tail(rel, size), limit, WHOLE)
        except IsADirectoryError:
            self.report(Problem(self.shown(rel), None, "a directory where a file should be; move it away"))
            return []
        found: list[Problem] = []
        rows = list(iter_jsonl(data, self.shown(rel), found))
        if found:  # rare: number bad lines from the top of the log, not of the window read
            before = self.tree.tail(rel, WHOLE).count(b"\n") - data.count(b"\n")
            for p in found:
                self.report(Problem(p.path, p.line + before if p.line else p.line, p.message))
        rows.sort(key=lambda e: str(e.get("at", "")))
        return rows[-limit:]

    def all_events(self) -> Iterator[dict]:
        rel = layout.EVENT_LOG
        data = self.read_record(rel) or b""
        yield from iter_jsonl(data, self.shown(rel), self.problems)

    def has_events(self) -> bool:
        return self.read_record(layout.EVENT_LOG) is not None

    # -- progress ----------------------------------------------------------------------------
    def append_progress(self, date: str, section: str) -> str:
        """Append a section to the dated log; returns its shown path."""
        self._writable()
        rel = layout.progress_file(date)
        self.tree.create(rel, f"# Progress log {date}\n")
        self.tree.append(rel, "\n" + section.rstrip("\n") + "\n")
        return self.shown(rel)

    def progress_dates(self) -> list[str]:
        """Dates (YYYY-MM-DD) with a progress log, oldest first."""
        return [n[:-3] for n in self.tree.list(layout.PROGRESS) if n.endswith(".md") and DATE_RE.match(n[:-3])]

    def read_progress(self, date: str) -> bytes | None:
        return self.tree.read(layout.progress_file(date)) if DATE_RE.match(date) else None

    def check_progress(self, date: str) -> None:
        """Raise ParseError when a dated log is not UTF-8 text or holds conflict markers."""
        rel = layout.progress_file(date)
        data = self.read_record(rel)
        if data is not None:
            check_conflicts(decode(data, self.shown(rel)), self.shown(rel))

    def progress_path(self, date: str) -> str:
        return self.shown(layout.progress_file(date))

    def read_latest(self) -> Latest | None:
        """The last close; None when there is none; ParseError when it cannot be trusted."""
        data = self.read_record(layout.LATEST)
        return None if data is None else formats.read_latest(data, self.shown(layout.LATEST))

    def write_latest(self, latest: Latest) -> None:
        self._writable()
        self.tree.write(layout.LATEST, formats.latest_text(latest))

    def latest_path(self) -> str:
        return self.shown(layout.LATEST)

    # -- the manifest -------------------------------------------------------------------------
    def read_manifest_bytes(self) -> bytes | None:
        return self.tree.read(layout.MANIFEST)

    def check_manifest(self) -> bool:
        """Whether there is a manifest; ParseError when it is not JSON (a merge's markers, say)."""
        data = self.read_record(layout.MANIFEST)
        if data is not None:
            load_json(data, self.shown(layout.MANIFEST))
        return data is not None

    def check_document(self, path: str) -> bool:
        """Whether the context document is part of the store (then ParseError when it is not UTF-8
        text or holds conflict markers)."""
        rel = path.removeprefix(self.label + "/")
        if rel == path:
            return False  # kept outside the store: not part of its state
        data = self.read_record(rel)
        if data is not None:
            check_conflicts(decode(data, self.shown(rel)), self.shown(rel))
        return data is not None

    def not_in_manifest(self) -> tuple[frozenset, frozenset]:
        """(top-level folders, top-level files) the manifest leaves out: the per-machine
        folders and the manifest itself."""
        return frozenset(d.rstrip("/") for d in layout.UNTRACKED), frozenset([layout.MANIFEST])

    def write_manifest(self, text: str) -> None:
        self._writable()
        self.tree.write(layout.MANIFEST, text)

    def manifest_path(self) -> str:
        return self.shown(layout.MANIFEST)

    # -- locks and enumeration ----------------------------------------------------------------
    def lock(self, name: str):
        """A context manager holding an exclusive lock named ``name``."""
        self._writable()
        return self.tree.lock(name)

    def state_files(self) -> Iterator[tuple[str, bytes]]:
        """Every tracked state file (store path, bytes), sorted by path; the manifest left out."""
        for rel in self.tree.walk(""):
            if rel == layout.MANIFEST or not layout.tracked(rel):
                continue
            data = self.tree.read(rel)
            if data is not None:
                yield rel, data


class _Recording:
    def __init__(self, store: Store, listings) -> None:
        self.store, self.listings = store, listings
        self.stats: dict = {}  # path -> fsio.stat_key taken before reading it (None: absent)
        self.reads: dict = {}  # path -> the bytes read
        self.lists: dict = {}  # folder -> the names listed

    def __enter__(self) -> "_Recording":
        tree = self.store.tree
        if tree.keeps_stats:
            tree.reads, tree.stats, tree.lists = self.reads, self.stats, self.lists
            self.store.listings = self.listings
        self.store._recording = True
        return self

    def __exit__(self, *exc) -> None:
        tree = self.store.tree
        if tree.keeps_stats:
            tree.reads = tree.stats = tree.lists = None
        self.store.listings = None
        self.store._recording = False
