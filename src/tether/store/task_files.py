"""The store's task files: tasks, open markers, checkpoints and their journal, cached results.

A mixin of :class:`tether.store.files.Store`, which gives it ``tree``, ``shown``,
``report``, ``read_record`` and ``_writable``.
"""

from __future__ import annotations

import time

TYPE_CHECKING = False  # not `from typing import ...`: typing costs 3 ms at start-up
if TYPE_CHECKING:
    from typing import Callable

from ..errors import Conflict, LinkRefused, NotFound, ParseError, Problem
from ..model import ids
from ..model.records import Checkpoint, Task, checkpoint_number
from . import formats, fsio, journal, layout
from .codec import iter_jsonl

CKP = r"^CKP-(\d+)(?:-[0-9a-z]+)?$"  # a checkpoint's name (compiled on first use: only the journal's check needs it)
_TAIL = "0123456789abcdefghijklmnopqrstuvwxyz"


def numbered_files(files: list[str]) -> list[tuple[int, str]]:
    r"""(number, stem) of each checkpoint file among ``files``: what ``^(CKP-(\d+)(?:-[0-9a-z]+)?)\.md$``
    (re.M) finds over the names joined by newlines, found with str methods (no `re` on a checkpoint)."""
    found = []
    for line in "\n".join(files).split("\n"):
        if line[:4] == "CKP-" and line[-3:] == ".md":
            number, dash, tail = line[4:-3].partition("-")
            if number.isdecimal() and (not dash or (tail and not tail.strip(_TAIL))):
                found.append((int(number), line[:-3]))
    return found


KEPT = 4096  # in-process entries per cache: a bulk task's history is read once, its newest often


def _re():
    import re  # only the journal's check: a checkpoint and a boot load no `re`

    return re


def _keep(cache: dict, key: str, value: tuple) -> None:
    if len(cache) >= KEPT:
        cache.clear()
    cache[key] = value


class TaskFiles:
    # -- tasks --------------------------------------------------------------------------
    def create_task(self, task: Task) -> None:
        self._writable()
        if not self.tree.create(layout.task_file(task.id), formats.task_text(task)):
            raise Conflict(f"task {task.id} already exists", hint="choose another id")
        if task.status == "open":
            try:
                self.tree.create(layout.open_marker(task.id), "")
            except OSError:  # a full disk: no task half made (boot would not list it), the id free again
                self.remove_task(task.id)
                raise

    def remove_task(self, task_id: str) -> None:
        """Take back a task just created (its marker, task.md, its folder when empty): a start that
        failed half-way leaves nothing to report or to collide with when it is run again."""
        self._writable()
        self.tree.remove(layout.open_marker(task_id))
        self.tree.remove(layout.task_file(task_id))
        self.tree.remove_dir(layout.task_dir(task_id))

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
        return self._cached_read(self._tasks, rel, lambda odd: self._read_task(task_id, rel, odd))

    def _cached_read(self, cache: dict, rel: str, read):
        """A record read through ``cache`` (rel -> (stat key, record, problems)): kept while the
        file's stat says it is unchanged and the stat can be trusted (fsio.trusted: not written in
        the last moments, when a change could leave it as it was)."""
        started = time.time_ns()
        # Not while boot records what it reads (its warm start must see every file).
        key = self.tree.stat_key(rel) if not self._recording else None
        kept = cache.get(rel)
        if key is not None and kept and kept[0] == key:
            for problem in kept[2]:  # named again: each call gathers its own problems
                self.report(problem)
            return kept[1].copy()
        odd: list[Problem] = []
        record = read(odd)
        for problem in odd:
            self.report(problem)
        if fsio.trusted(key, started):
            _keep(cache, rel, (key, record.copy(), odd))
        return record

    def _read_task(self, task_id: str, rel: str, odd: list) -> Task:
        data = self.read_record(rel) if ids.valid_id(task_id) else None
        if data is None:
            raise NotFound(f"no task {task_id}")
        task = formats.read_task(data, self.shown(rel), odd)
        if task.id != task_id:
            raise ParseError(self.shown(rel), None, f"id field says {task.id!r} but the folder is {task_id!r}")
        return task

    def task_ids(self) -> list[str]:
        return [n for n in self._list(layout.TASKS) if ids.valid_id(n)]

    def open_task_ids(self) -> list[str]:
        return [n for n in self._list(layout.OPEN) if ids.valid_id(n)]

    def marker_is_folder(self, task_id: str) -> bool:
        """Whether a directory stands where the task's open marker (an empty file) should be."""
        rel = layout.open_marker(task_id)
        try:
            return self.tree.exists(rel) and self.tree.peek(rel) is None
        except LinkRefused:  # verify names every link by itself
            return False

    def is_task(self, task_id: str) -> bool:
        """Whether the task's folder holds a task file (a folder without one is not a task)."""
        return self.tree.exists(layout.task_file(task_id))

    def task_modified(self, task_id: str) -> str | None:
        """When the task's file was last written, as a stamp (``2026-11-21T10:00:00Z``); None when
        the tree keeps no times (a commit's, memory) or the file is absent."""
        key = self.tree.stat_key(layout.task_file(task_id))
        if key is None:
            return None
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(key[0] // 1_000_000_000))

    def task_path(self, task_id: str) -> str:
        return self.shown(layout.task_file(task_id))

    def task_folder_path(self, task_id: str) -> str:
        return self.shown(layout.task_dir(task_id))

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
        return [self.shown(f"{folder}/{name}") for name in self._list(folder)
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
        elif not self._recording:
            key = self.tree.folder_key(folder)
            kept = self._names.get(folder)
            if key is not None and kept and kept[0] == key:
                return list(kept[1])
        files = self._list(folder)
        keyed = numbered_files(files)
        keyed.sort()
        names = [name for _, name in keyed]
        if listings is not None:
            listings.put(folder, key, names)
        elif not self._recording and fsio.trusted(key, time.time_ns()):
            _keep(self._names, folder, (key, tuple(names)))
        return names

    def checkpoint_path(self, task_id: str, name: str) -> str:
        return self.shown(layout.checkpoint_file(task_id, name))

    def load_checkpoint(self, task_id: str, name: str) -> Checkpoint:
        rel = layout.checkpoint_file(task_id, name)
        return self._cached_read(self._checkpoints, rel, lambda odd: self._read_checkpoint(task_id, name, rel, odd))

    def _read_checkpoint(self, task_id: str, name: str, rel: str, odd: list) -> Checkpoint:
        data = self.read_record(rel)
        if data is None:
            raise NotFound(f"no checkpoint {name} in task {task_id}")
        # odd: a time that is not one, named once the checkpoint is known to be whole
        checkpoint = formats.read_checkpoint(data, self.shown(rel), odd)
        # Where the file is says whose it is, as a task's folder does for its id: a checkpoint that
        # says otherwise was moved or edited by hand, and built on it the next would say the same.
        for key, says, is_ in (("task", checkpoint.task, task_id), ("name", checkpoint.name, name),
                               ("number", checkpoint.number, checkpoint_number(name))):
            if says != is_:
                from .fields import field_line

                raise ParseError(self.shown(rel), field_line(data, key),
                                 f"field '{key}' says {says!r} but the file is {task_id}'s {name}.md")
        return checkpoint

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
                with self.collecting() as met:  # its own list: this command may have reported them already
                    previous = newest(names)  # the lock is held: no check again
                for problem in met:  # still the command's to show
                    self.report(problem)
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
            self.tree.append(layout.journal(task_id), journal.line(checkpoint), aligned=True,
                             mend=lambda torn: journal.whole_line(self, task_id, torn, skip=name))
            if token is not None:
                token = f"{journal.boot_id()}/{name}"
                lock.set_token(token)
                latest = checkpoint.copy()
                latest.tips = [name]
                self._newest[task_id] = (token, (stat_key(folder), stat_key(f"{folder}/{name}.md")), latest)
            return checkpoint

    def recorded_checkpoint(self, task_id: str, name: str) -> Checkpoint | None:
        """A checkpoint as the task's journal recorded it (its file may be damaged); None when the
        journal has no whole line for it."""
        return journal.recorded(self, task_id, name)

    def restore_lost_checkpoints(self, task_id: str) -> bool:
        """Restore what a machine crash lost, if that may have happened; True if anything was."""
        if self.readonly or not self.tree.lock_tokens:
            return False
        try:
            if not journal.needs_check(self.tree.lock_token(f"task-{task_id}")):
                return False  # checked since this machine started: one small read
            with self.tree.lock(f"task-{task_id}") as lock:
                return bool(self._restore_if_needed(task_id, lock.token(), lock))
        except OSError:  # a read-only checkout: read what is there
            return False
        except LinkRefused as exc:  # the lock or its folder: nothing is restored through it
            self.report(exc.problem)
            return False

    def _restore_if_needed(self, task_id: str, token: str | None, lock=None) -> list[str]:
        if self.readonly or not self.tree.keeps_stats or not journal.needs_check(token):
            return []
        restored = journal.restore(self, task_id)
        if lock is not None:
            lock.set_token(f"{journal.boot_id()}/")  # checked for this boot
        return restored

    def check_journal(self, task_id: str, fields: bool = True) -> int:
        """Report each line of a task's journal that is not a checkpoint's (torn, hand-edited, a
        merge's conflict marker, no checkpoint name), or names one whose file is missing (deleted by
        hand, say: the next restart of the machine would write it again); returns 1 if there is a
        journal. ``fields``: each line's fields checked too, as verify does (resume and task status
        leave that out: it costs more than reading the lines)."""
        rel = layout.journal(task_id)
        started = time.time_ns()
        key = self.tree.stat_key(rel) if not self._recording else None
        kept = self._journal_checks.get(f"{rel}:{fields}")
        if key is not None and kept and kept[0] == key and kept[1] == tuple(self.checkpoint_names(task_id)):
            for problem in kept[2]:  # unchanged (a server answering many reads): named again, not read again
                self.report(problem)
            return 1
        try:
            data = self.read_record(rel)
        except ParseError as exc:
            self.report(exc.problem)
            return 0
        if data is None:
            return 0
        # Listed after the journal was read: a checkpoint publishes its file before its line.
        shown, listed = self.shown(rel), tuple(self.checkpoint_names(task_id))
        names = set(listed)
        found: list[Problem] = []
        for number, row in iter_jsonl(data, shown, found, numbered=True):
            name = row.get("name")
            if type(name) is not str or not _re().match(CKP, name):
                found.append(Problem(shown, number, "a line without a checkpoint name"))
                continue
            if fields:
                try:
                    formats.checkpoint_from(row, shown, line=number, problems=found)
                except ParseError as exc:
                    found.append(exc.problem)
                    continue
            if name not in names:
                found.append(Problem(
                    shown, number, f"{name} is in the journal but its file is missing: the next restart of the "
                    "machine writes it again (to delete a checkpoint, remove its journal line too)"))
        for problem in found:  # in line order
            self.report(problem)
        if fsio.trusted(key, started):
            _keep(self._journal_checks, f"{rel}:{fields}", (key, listed, found))
        return 1

    def save_result(self, task_id: str, name: str, data: bytes, mode: int | None = None) -> str:
        """Cache an intermediate result; returns its shown path. ``mode``: permission bits for the
        file (a result copied from a private file stays private); None: the default."""
        self._writable()
        if not ids.valid_id(name):
            from ..errors import InvalidInput
            raise InvalidInput(f"invalid result name {name!r}", hint="use letters, digits, '.', '_' and '-' only")
        rel = layout.result_file(task_id, name)
        if mode is None:
            self.tree.write(rel, data)
        else:
            self.tree.write(rel, data, mode)
        return self.shown(rel)
