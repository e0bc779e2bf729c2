"""The storage interface: everything tether's core asks of a backend.

The core (tasks, session, brief) talks only to :class:`Store`. Each backend
implements it; ``tests/test_store_contract.py`` runs one contract suite
against every backend. A read-only backend (a commit's tree) raises
:class:`ReadOnly` from every write.

Reads that meet a corrupt file raise :class:`tether.parsing.ParseError`;
listing methods never raise for one bad record, they skip it and append a
:class:`tether.parsing.Problem` to ``store.problems`` so callers can report it.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod

TYPE_CHECKING = False  # not `from typing import ...`: typing costs 3 ms at start-up

if TYPE_CHECKING:
    from typing import Callable, Iterator

from ..errors import TetherError
from ..parsing import Problem
from .. import ranges
from ..records import Checkpoint, Decision, Note, Task, checkpoint_number


# The number of each checkpoint name ("CKP-0004-7kq2mx" -> "0004"), over a listing joined by newlines.
_NUMBERS = re.compile(r"^CKP-(\d+)", re.M)

class ReadOnly(TetherError):
    kind = "read_only"


class Store(ABC):
    readonly: bool = False

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    # -- workspace files ----------------------------------------------------
    @abstractmethod
    def read_file(self, rel: str) -> bytes | None:
        """Raw bytes of a workspace file (config, CONTEXT.md, index.json), or None."""

    @abstractmethod
    def write_file(self, rel: str, data: bytes | str) -> None:
        """Atomically replace a workspace file."""

    # -- tasks --------------------------------------------------------------
    @abstractmethod
    def create_task(self, task: Task) -> None:
        """Store a new task and mark it open; Conflict if the id is taken."""

    @abstractmethod
    def save_task(self, task: Task) -> None:
        """Rewrite an existing task (status changes); keeps the open index in step."""

    @abstractmethod
    def load_task(self, task_id: str) -> Task:
        """The task, NotFound if absent, ParseError if corrupt."""

    @abstractmethod
    def task_ids(self) -> list[str]:
        """Every task id, sorted."""

    @abstractmethod
    def open_task_ids(self) -> list[str]:
        """Ids of open tasks, sorted, without reading closed ones (boot depends on it)."""

    # -- checkpoints --------------------------------------------------------
    @abstractmethod
    def add_checkpoint(self, task_id: str,
                       build: Callable[[Checkpoint | None, int, str], Checkpoint],
                       render: Callable[[Checkpoint], str]) -> Checkpoint:
        """Number and store a checkpoint atomically.

        ``build(previous, number, name)`` makes the checkpoint from the latest
        one while the task is locked, so concurrent writers never share a
        number and never lose each other's progress.
        """

    @abstractmethod
    def checkpoint_names(self, task_id: str) -> list[str]:
        """File stems (``CKP-0004-7kq2mx``) in checkpoint order."""

    @abstractmethod
    def load_checkpoint(self, task_id: str, name: str) -> Checkpoint: ...

    def latest_checkpoint(self, task_id: str, names: list[str] | None = None) -> Checkpoint | None:
        """The newest readable checkpoint, with the progress of every branch tip.

        Corrupt newer checkpoints become problems and an older one is used.
        When a merge brought parallel checkpoints (two branches each added
        CKP-0004 to this task; their numbers collide, their names do not),
        the tips, checkpoints no later one names as a parent, are combined:
        the newest tip is returned with the union of the tips' done items,
        and ``.tips`` names them all so the next checkpoint joins them.
        ``names`` is ``checkpoint_names(task_id)`` when the caller has it.
        """
        names = self.checkpoint_names(task_id) if names is None else names
        newest = None
        for name in reversed(names):
            newest = self._load_or_report(task_id, name)
            if newest is not None:
                break
        if newest is None:
            return None
        newest.tips = [newest.name]
        numbers = _NUMBERS.findall("\n".join(names))  # one regex call: a bulk task has thousands
        if len(set(numbers)) == len(numbers):  # one line of history: the newest is the only tip
            return newest
        seen: set[int] = set()
        repeated_set: set[int] = set()
        for number in map(int, numbers):
            (repeated_set if number in seen else seen).add(number)
        repeated = sorted(repeated_set)
        if not repeated:  # the same number written with other zeros: still one line of history
            return newest
        later = [c for n in names if checkpoint_number(n) >= repeated[0]
                 for c in [self._load_or_report(task_id, n)] if c is not None]
        named_as_parent = {p for c in later for p in c.parents}
        tips = [c for c in later if c.name not in named_as_parent]
        if len(tips) <= 1:
            return newest
        head = max(tips, key=lambda c: (c.number, c.created, c.name))
        merged: list = []
        for tip in tips:  # as intervals: a set of every unit done could be huge
            merged = ranges.union(merged, ranges.parse(tip.done))
        head.done = ranges.fmt(merged)
        head.tips = [t.name for t in tips]
        return head

    def _load_or_report(self, task_id: str, name: str) -> Checkpoint | None:
        try:
            return self.load_checkpoint(task_id, name)
        except Exception as exc:  # ParseError: report it, let the caller fall back
            problem = getattr(exc, "problem", None)
            if problem is None:
                raise
            if problem not in self.problems:  # one command may read a task's checkpoints twice
                self.problems.append(problem)
            return None

    @abstractmethod
    def save_result(self, task_id: str, name: str, data: bytes, mode: int | None = None) -> str:
        """Cache an intermediate result; returns its workspace-relative path. ``mode``: permission
        bits for the file (a result copied from a private file stays private); None: the default."""

    # -- decisions, notes, events -------------------------------------------
    @abstractmethod
    def add_decision(self, decision: Decision) -> None: ...

    @abstractmethod
    def decision_ids(self) -> list[str]:
        """Oldest first (ids start with their date)."""

    @abstractmethod
    def load_decision(self, decision_id: str) -> Decision: ...

    @abstractmethod
    def append_note(self, entry: dict) -> None:
        """Append a context entry or a resolution ``{"resolve": id, "at": ...}``."""

    @abstractmethod
    def notes(self) -> list[Note]:
        """Context entries in order, resolutions applied."""

    @abstractmethod
    def append_event(self, event: dict, durable: bool = True) -> None:
        """Append to the memory log; ``durable=False``: written, not forced to disk on its own
        (a checkpoint's line: the checkpoint file itself is the durable record)."""

    @abstractmethod
    def recent_events(self, limit: int) -> list[dict]:
        """The last ``limit`` events, oldest first, without reading the whole log."""

    # -- progress -----------------------------------------------------------
    @abstractmethod
    def append_progress(self, date: str, section: str) -> str:
        """Append a section to the dated log; returns its workspace-relative path."""

    @abstractmethod
    def progress_dates(self) -> list[str]:
        """Dates (YYYY-MM-DD) with a progress log, oldest first."""

    # -- locks and enumeration ----------------------------------------------
    @abstractmethod
    def lock(self, name: str):
        """A context manager holding an exclusive lock named ``name``."""

    @abstractmethod
    def state_files(self) -> Iterator[tuple[str, bytes]]:
        """Every tracked state file (workspace-relative path, bytes), sorted by path."""
