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

TYPE_CHECKING = False  # not `from typing import ...`: typing costs 3 ms at start-up
if TYPE_CHECKING:
    from typing import Iterator

from ..errors import LinkRefused, ParseError, Problem, ReadOnly
from ..model.records import Latest
from . import formats, layout
from .codec import check_conflicts, decode, load_json
from .cache_files import CacheFiles
from .log_files import LogFiles
from .offload_files import OffloadFiles
from .task_files import TaskFiles

DATE = r"^\d{4}-\d{2}-\d{2}$"  # a progress log's name; compiled on first use (re keeps it), as few commands read one


def _re():
    import re  # not at import: a checkpoint and a warm session start load no `re`

    return re


NEWLINE = b"\n"


class _Collecting:
    """A fresh problem list for one call. Inside another call's, what it gathered joins that
    call's list after; at the top, nothing stays on the store."""

    def __init__(self, store) -> None:
        self.store = store

    def __enter__(self) -> list[Problem]:
        store = self.store
        self.outer = store.problems if store._collecting else None
        store._collecting += 1
        store.problems = []
        return store.problems

    def __exit__(self, *exc) -> None:
        store = self.store
        found, store.problems = store.problems, self.outer if self.outer is not None else []
        store._collecting -= 1
        for problem in found if self.outer is not None else ():
            if problem not in self.outer:
                self.outer.append(problem)


class Store(TaskFiles, LogFiles, CacheFiles, OffloadFiles):
    """A workspace's records on a tree (see the module doc); the domain's only way to its files."""

    def __init__(self, tree, label: str = layout.STORE_DIR, repo_root: str | None = None) -> None:
        self.tree = tree
        self.repo_root = repo_root  # where documents kept outside the store are (the context document)
        self.readonly = tree.readonly
        self.label = label  # how paths are shown to people
        self.problems: list[Problem] = []  # what the current call met (see collecting)
        self._collecting = 0
        # In-process caches for long-lived users of the API (a loop of checkpoints): a task
        # by its file's stat, and each task's newest checkpoint with the lock token it left.
        self._tasks: dict[str, tuple] = {}
        self._newest: dict[str, tuple] = {}
        # And for a server answering many reads (tether mcp): each checkpoint folder's names and
        # each checkpoint read, by their stat when it is trusted (fsio.trusted).
        self._names: dict[str, tuple] = {}
        self._checkpoints: dict[str, tuple] = {}
        self._journal_checks: dict[str, tuple] = {}  # a journal's problems by its stat and the names then
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
            raise ReadOnly("this store is a commit's snapshot and cannot be changed")

    def _list(self, rel: str) -> list[str]:
        """A folder's names; [] when a link is in the way (reported: tether follows none)."""
        try:
            return self.tree.list(rel)
        except LinkRefused as exc:
            self.report(exc.problem)
            return []

    def read_record(self, rel: str) -> bytes | None:
        """A record's bytes, None if absent; a directory or a link (LinkRefused, a ParseError) in its
        place is a problem to report, not an absence."""
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
        """A workspace file by its store path (the config, .gitattributes, the context document);
        None when absent, or when a link is in the way (reported)."""
        try:
            return self.tree.read(rel)
        except LinkRefused as exc:
            self.report(exc.problem)
            return None

    def write_file(self, rel: str, data: bytes | str) -> None:
        self._writable()
        self.tree.write(rel, data)

    def exists(self, rel: str) -> bool:
        return self.tree.exists(rel)

    def _outside(self, path: str, key: str) -> str | None:
        """Where a document named from the repository root (tether.toml's ``key``) really is, when
        it is kept outside the store; None when it is in the store. InvalidInput naming ``key``
        when a link in the working tree takes it outside the repository or into .git/."""
        if path.startswith(self.label + "/") or self.repo_root is None:
            return None
        from ..errors import InvalidInput
        from .confine import resolve

        real, why = resolve(self.repo_root, path)
        if why:
            raise InvalidInput(f"{self.label}/{layout.CONFIG}: {key} = {path!r} {why}; tether writes only inside"
                               " the repository, outside .git/",
                               hint="point it at a file in the repository, or remove the link")
        return real

    def read_document(self, path: str, key: str = "context.document") -> bytes | None:
        """A file tether writes by a repository path (the context document); None if absent or a
        folder. In the store, read as the store reads (LinkRefused for a link)."""
        real = self._outside(path, key)
        if real is None:
            return self.tree.peek(path.removeprefix(self.label + "/"))
        import os

        if not os.path.isfile(real):
            return None
        with open(real, "rb") as fh:
            return fh.read()

    def write_document(self, path: str, data: bytes | str, key: str = "context.document") -> None:
        """Replace a file by its repository path: in the store as the store writes (never through a
        link), elsewhere only inside the repository."""
        self._writable()
        real = self._outside(path, key)
        if real is None:
            self.tree.write(path.removeprefix(self.label + "/"), data)
        else:
            from .fsio import write_atomic

            write_atomic(real, data)

    def _logs(self) -> list[tuple[str, str | None]]:
        """(path, task id) of every append-only JSON Lines log: the context entries, the memory log,
        the pins, the compaction log, each task's journal."""
        return [(layout.CONTEXT_ENTRIES, None), (layout.EVENT_LOG, None), (layout.PINS, None), (layout.COMPACTIONS, None),
                *((layout.journal(task_id), task_id) for task_id in self.task_ids())]

    def torn_logs(self) -> list[str]:
        """"path:line" of each log whose last line is torn (a writer stopped mid-append)."""
        from .appendlog import torn_start

        found = []
        for rel, _ in self._logs():
            try:
                data = self.tree.peek(rel)
            except LinkRefused:
                continue  # named as a link
            if data and torn_start(data) is not None:
                found.append(f"{self.shown(rel)}:{data.count(NEWLINE) + 1}")
        return found

    def mend_logs(self) -> list[dict]:
        """Set aside (or, for a journal, complete from its checkpoint file) each log's torn last line,
        as the next write to it would; what was repaired (appendlog's reports, path shown)."""
        if self.tree.directory is None or self.readonly:
            return []
        import os

        from . import appendlog, journal

        done = []
        for rel, task_id in self._logs():
            mend = (lambda torn, task_id=task_id: journal.whole_line(self, task_id, torn)) if task_id else None
            report = appendlog.mend_log(os.path.join(self.tree.directory, rel),
                                        os.path.join(self.tree.directory, layout.TORN, rel), mend, self.tree.directory)
            if report is not None:
                appendlog.mended.remove(report)  # said by the caller, not again by the command line
                done.append({**report, "path": self.shown(rel)})
        return done

    def links(self) -> list[tuple[str, str]]:
        """(shown path, target) of every symbolic link in the store, its own folder ("") included."""
        import os

        found = []
        for rel in self.tree.links():
            path = os.path.join(self.tree.directory, rel) if rel else self.tree.directory
            try:
                target = os.readlink(path)
            except OSError:
                target = "?"
            found.append((self.shown(rel) if rel else self.label, target))
        return found

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

    def read_prime(self) -> bytes | None:
        """The project's own text for the brief's teaching section, if it has one."""
        return self.read_file(layout.PRIME)

    def campaign_contexts(self) -> list[tuple[str, bytes]]:
        """(shown path, bytes) of each campaign session context kept in the store, by folder name."""
        found = []
        for name in sorted(self._list(layout.CONTEXTS)):
            rel = f"{layout.CONTEXTS}/{name}/{layout.CONTEXT_FILE}"
            data = self.read_file(rel)
            if data is not None:
                found.append((self.shown(rel), data))
        return found

    # -- recall (tether.recall walks these folders itself: it keeps their stats) ---------------
    def recall_index_file(self) -> str | None:
        """Where the recall index lives (per machine), None when the store is not a folder."""
        directory = self.tree.directory
        return f"{directory}/{layout.RECALL_INDEX}" if directory is not None else None

    recall_tops = layout.RECALL_TOPS
    recall_skippable = layout.RECALL_SKIPPABLE
    recall_witnesses = layout.RECALL_WITNESSES
    recall_kind = staticmethod(layout.recall_kind)
    recall_frozen = staticmethod(layout.recall_frozen)

    def active_task(self) -> str:
        """The task this machine works on, as last chosen here ("" when none)."""
        return (self.tree.read(layout.ACTIVE) or b"").decode("utf-8", "replace").strip()

    def set_active_task(self, task_id: str) -> None:
        # Every checkpoint sets it: skip the durable rewrite (two fsyncs) when it is already so.
        if self.tree.read(layout.ACTIVE) != (task_id + "\n").encode("utf-8"):
            self.tree.write(layout.ACTIVE, task_id + "\n")

    # -- progress ----------------------------------------------------------------------------
    def append_progress(self, date: str, section: str) -> str:
        """Append a section to the dated log; returns its shown path."""
        self._writable()
        rel = layout.progress_file(date)
        self.tree.create(rel, f"# Progress log {date}\n")
        # Aligned: a section that fits in a block cannot be torn by a kill (see store.appendlog).
        self.tree.append(rel, "\n" + section.rstrip("\n") + "\n", aligned=True)
        return self.shown(rel)

    def progress_dates(self) -> list[str]:
        """Dates (YYYY-MM-DD) with a progress log, oldest first."""
        return [n[:-3] for n in self._list(layout.PROGRESS) if n.endswith(".md") and _re().match(DATE, n[:-3])]

    def read_progress(self, date: str) -> bytes | None:
        return self.tree.read(layout.progress_file(date)) if _re().match(DATE, date) else None

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
        if data is None:
            return None
        odd: list[Problem] = []  # a time or date that is not one: named, the close still used
        latest = formats.read_latest(data, self.shown(layout.LATEST), odd)
        for problem in odd:
            self.report(problem)
        return latest

    def write_latest(self, latest: Latest) -> None:
        self._writable()
        self.tree.write(layout.LATEST, formats.latest_text(latest))

    def latest_path(self) -> str:
        return self.shown(layout.LATEST)

    # -- the manifest -------------------------------------------------------------------------
    def read_manifest_bytes(self) -> bytes | None:
        return self.tree.read(layout.MANIFEST)

    def check_manifest(self) -> bool:
        """Whether there is a manifest; ParseError when it is not JSON (a merge's markers, say) or not
        of its shape (formats.manifest_problem)."""
        data = self.read_record(layout.MANIFEST)
        if data is not None:
            shown = self.shown(layout.MANIFEST)
            wrong = formats.manifest_problem(load_json(data, shown), data)
            if wrong:
                raise ParseError(shown, *wrong)
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
