"""The store's logs and decisions: decisions, context entries, the memory log.

A mixin of :class:`tether.store.files.Store`, which gives it ``tree``, ``shown``,
``report``, ``read_record`` and ``_writable``.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not `from typing import ...`: typing costs 3 ms at start-up
if TYPE_CHECKING:
    from typing import Iterator

from ..errors import Conflict, LinkRefused, NotFound, ParseError, Problem
from ..model import ids
from ..model.records import NOTE_KINDS, Decision, Note
from . import formats, layout
from .codec import canonical_json, iter_jsonl
from .eventlog import last_lines, odd_event, wrong_event
from .fields import fields, times
from .fsio import WHOLE  # tail(WHOLE), unlike read(), is never recorded as what boot's brief read


class LogFiles:
    # -- decisions --------------------------------------------------------------------------
    def add_decision(self, decision: Decision) -> None:
        self._writable()
        if not self.tree.create(layout.decision_file(decision.id), formats.decision_text(decision)):
            raise Conflict(f"decision {decision.id} already exists")

    def decision_ids(self) -> list[str]:
        return [n[:-3] for n in self._list(layout.DECISIONS) if n.endswith(".md")]

    def replace_decision(self, decision: Decision) -> None:
        """Rewrite an existing decision (its anchors re-confirmed)."""
        self._writable()
        self.tree.write(layout.decision_file(decision.id), formats.decision_text(decision))

    def decision_path(self, decision_id: str) -> str:
        return self.shown(layout.decision_file(decision_id))

    def load_decision(self, decision_id: str) -> Decision:
        rel = layout.decision_file(decision_id)
        data = self.read_record(rel) if ids.valid_id(decision_id) else None
        if data is None:
            raise NotFound(f"no decision {decision_id}")
        odd: list[Problem] = []
        decision = formats.read_decision(data, self.shown(rel), odd)
        for problem in odd:
            self.report(problem)
        return decision

    # -- context entries ----------------------------------------------------------------------
    def append_note(self, entry: dict) -> None:
        """Append a context entry or a resolution ``{"resolve": id, "at": ...}``."""
        self._writable()
        self.tree.append(layout.CONTEXT_ENTRIES, canonical_json(entry) + "\n")

    def note_ids_taken(self) -> bytes:
        """The entries' log as it is: any id in it is taken (an entry, a resolution, a quote)."""
        return self.tree.read(layout.CONTEXT_ENTRIES) or b""

    def notes(self) -> list[Note]:
        """Context entries in order, resolutions applied; each line's fields type-checked."""
        rel = layout.CONTEXT_ENTRIES
        try:
            data = self.read_record(rel) or b""
        except ParseError as exc:
            self.report(exc.problem)
            data = b""
        entries: dict[str, Note] = {}
        # An entry's newest line wins, by time then by place in the file: a resolve line after the
        # entry resolves it; the entry written again after that (`task reopen`) makes it current.
        written: dict[str, tuple] = {}
        resolved: dict[str, tuple] = {}
        confirmed: dict[str, tuple] = {}  # id -> (when, its anchors) as last re-confirmed
        shown = self.shown(rel)
        for number, row in iter_jsonl(data, shown, self.problems, numbered=True):
            missing = [k for k in ("id", "kind", "text", "at") if k not in row]
            if missing and "resolve" not in row and "confirm" not in row:
                self.report(Problem(shown, number, f"entry without {', '.join(missing)}; line skipped"))
                continue
            try:
                if "resolve" in row:
                    values = fields(row, shown, formats.RESOLVE, line=number)
                    resolved[values["resolve"]] = max(resolved.get(values["resolve"], ("", 0)),
                                                      (values["at"], number))
                elif "confirm" in row and missing:
                    values = fields(row, shown, formats.CONFIRM, line=number)
                    # the newest by time: a merge may interleave two branches' confirmations
                    if values["confirm"] not in confirmed or confirmed[values["confirm"]][0] <= values["at"]:
                        confirmed[values["confirm"]] = (values["at"], values["anchors"])
                else:
                    values = fields(row, shown, formats.NOTE, line=number)
                    note = Note(**values)
                    if written.get(note.id, ("", 0)) <= (note.at, number):
                        entries[note.id], written[note.id] = note, (note.at, number)
                    if note.kind not in NOTE_KINDS:  # kept (listed, resolvable), but the brief groups by kind
                        self.report(Problem(shown, number, f"kind {note.kind!r} is none of {', '.join(NOTE_KINDS)}: "
                                                           "boot and the context document leave the entry out"))
            except ParseError as exc:
                self.report(exc.problem._replace(message=f"{exc.problem.message}; line skipped"))
                continue
            odd: list[Problem] = []  # kept, and named: the entry or resolution is used as it is
            times(values, ("at",), shown, odd, line=number)
            for problem in odd:
                self.report(problem)
        for note_id, (_, anchors) in confirmed.items():
            if note_id in entries:
                entries[note_id].anchors = anchors
        for note_id, when in resolved.items():
            if note_id in entries and when > written[note_id]:
                entries[note_id].resolved = when[0]
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
        return self.newest_events(limit)[-limit:] if limit > 0 else []

    def newest_events(self, limit: int) -> list[dict]:
        """Every event of the log's end that is read for its last ``limit`` (at least those: all the
        whole lines of the window last_lines reads), oldest first. While boot records what it reads,
        the log's stat is recorded before it is read: the brief says who recorded what since the
        last close from these events, so its cache is stale once one is appended."""
        rel = layout.EVENT_LOG
        stats = getattr(self.tree, "stats", None)
        if stats is not None:
            stats[rel] = self.tree.stat_key(rel)
        try:
            data = last_lines(lambda size: self.tree.tail(rel, size), limit, WHOLE)
        except IsADirectoryError:
            self.report(Problem(self.shown(rel), None, "a directory where a file should be; move it away"))
            return []
        except LinkRefused as exc:
            self.report(exc.problem)
            return []
        found: list[Problem] = []
        rows = list(iter_jsonl(data, self.shown(rel), found, check=wrong_event, flag=odd_event))
        if found:  # rare: number bad lines from the top of the log, not of the window read
            before = self.tree.tail(rel, WHOLE).count(b"\n") - data.count(b"\n")
            for p in found:
                self.report(Problem(p.path, p.line + before if p.line else p.line, p.message))
        rows.sort(key=lambda e: e["at"])
        return rows

    def all_events(self) -> Iterator[dict]:
        rel = layout.EVENT_LOG
        data = self.read_record(rel) or b""
        yield from iter_jsonl(data, self.shown(rel), self.problems, check=wrong_event, flag=odd_event)

    def has_events(self) -> bool:
        return self.read_record(layout.EVENT_LOG) is not None

    def event_log_path(self) -> str:
        return self.shown(layout.EVENT_LOG)

    # -- the per-machine session log ------------------------------------------------------------
    def append_session_event(self, event: dict) -> None:
        """What a hook saw (see eventlog.append_local): git-ignored, so the working tree stays clean."""
        self._writable()
        self.tree.append(layout.SESSION_LOG, canonical_json(event) + "\n", False)

    def session_events(self) -> list[dict]:
        """The session log's rows in file order; a torn or bad line (it is a per-machine log, and
        nothing depends on it) is skipped."""
        try:
            data = self.tree.read(layout.SESSION_LOG) or b""
        except (OSError, LinkRefused):
            return []
        return list(iter_jsonl(data, self.shown(layout.SESSION_LOG), [], check=wrong_event))

    def device_label(self) -> str | None:
        """The label the user gave this machine (``local/device``), None when unset."""
        try:
            data = self.tree.read(layout.DEVICE)
        except (OSError, LinkRefused):
            return None
        label = " ".join((data or b"").decode("utf-8", "replace").split())
        return label[:64] or None

    def set_device_label(self, label: str) -> None:
        self._writable()
        self.tree.write(layout.DEVICE, label + "\n")

    # -- what `tether audit` reads of the per-machine files --------------------------------------
    def session_log_rows(self) -> list[tuple[int, dict]]:
        """(line number, row) of each readable line of the session log; a torn or bad line is
        skipped, as session_events does."""
        import json

        try:
            data = self.tree.read(layout.SESSION_LOG) or b""
        except (OSError, LinkRefused):
            return []
        rows = []
        for number, line in enumerate(data.split(b"\n"), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError:
                continue
            if isinstance(row, dict) and isinstance(row.get("at"), str) and isinstance(row.get("session"), str):
                rows.append((number, row))
        return rows

    def event_tail(self, limit: int) -> list[dict]:
        """The memory log's last ``limit`` lines as rows, in file order; cheaper than recent_events
        (no sort). A line that is not an event is left out and reported, as verify names it."""
        rel = layout.EVENT_LOG
        try:
            data = last_lines(lambda size: self.tree.tail(rel, size), limit, WHOLE)
        except (OSError, LinkRefused):
            return []
        lines = data.split(b"\n")
        skip = max(len(lines) - limit - 1, 0)  # the last ``limit`` lines (and what follows the last newline)
        found: list[Problem] = []
        rows = list(iter_jsonl(b"\n".join(lines[skip:]), self.shown(rel), found, first_line=skip + 1, check=wrong_event))
        if found:  # rare: number bad lines from the top of the log, not of the window read
            before = self.tree.tail(rel, WHOLE).count(b"\n") - data.count(b"\n")
            for p in found:
                self.report(Problem(p.path, p.line + before if p.line else p.line, p.message))
        return rows[-limit:]

    def session_log_path(self) -> str:
        return self.shown(layout.SESSION_LOG)

    def trail_rows(self, session: str) -> list[dict]:
        """The tool calls in a session's trail (since its task's last checkpoint), oldest first."""
        from . import trail

        directory = self.tree.directory
        if directory is None:
            return []
        try:
            return trail.entries(directory, session)
        except (OSError, LinkRefused):
            return []

    def trail_path(self, session: str) -> str:
        return self.shown(layout.trail_file(session))

    def read_audit_result(self) -> dict | None:
        """What the last audit kept (an object with its ``findings`` list); None when there is none,
        or it cannot be read or has another shape: a per-machine cache, rebuilt by the next audit."""
        try:
            data = self.tree.read(layout.AUDIT_RESULT)
        except (OSError, LinkRefused):
            return None
        if not data:
            return None
        import json  # only here: a machine that never ran `tether audit` has nothing to read

        try:
            value = json.loads(data)
        except ValueError:
            return None
        return value if isinstance(value, dict) and isinstance(value.get("findings"), list) else None

    def write_audit_result(self, data: bytes) -> None:
        """Replace it atomically, never through a link; not forced to disk (a cache: a lost write
        only leaves the brief without the newest findings), so a full disk here fails nothing else."""
        import os

        from .nofollow import check_path

        self._writable()
        directory = self.tree.directory
        if directory is None:
            return
        path = os.path.join(directory, layout.AUDIT_RESULT)
        check_path(directory, path)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
