"""The Python API: open a repository's workspace and work with it.

    from tether import Workspace
    ws = Workspace.open()                       # finds .tether/ from any subdirectory
    task = ws.start_task("Process 20 docs", items=[f"doc{i}.pdf" for i in range(1, 21)])
    ws.checkpoint(done=["1-5"], state="docs 1-5 summarised")
    print(ws.resume().message())

Every command of the CLI is one call here plus rendering; the CLI, hooks and
benchmarks are thin layers over this class. Calls that read many records
return what they found with the problems met on the way (``.problems``), never
a pile shared across calls.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path

    from .core.worklist import TaskStatus
    from .model.records import Checkpoint, Decision, Found, Note, Task

from .errors import ConfigMissing, InvalidInput, NoWorkspace
from .model import ids
from .model.config import Config
from .store import layout
from .store.files import Store
from .store.locate import STORE_DIR, find_git_root, find_root
from .store.trees import DirTree

CONFIG_CACHE = 2  # local/config.json's layout: 2 keeps the config's warnings


def session_from_environment() -> str | None:
    """The agent session this process runs in, as its hooks know it: TETHER_SESSION_ID (the
    SessionStart hook sets it for Claude Code's commands), else CODEX_THREAD_ID (Codex gives every
    command of a session its thread id, which its hooks get as ``session_id``); None outside one."""
    return os.environ.get("TETHER_SESSION_ID") or os.environ.get("CODEX_THREAD_ID") or None


class Workspace:
    def __init__(self, root) -> None:
        # Plain strings inside (pathlib costs 5 ms at every session start); Paths outside.
        self.root_dir = os.fspath(root)
        self.store_dir = os.path.join(self.root_dir, STORE_DIR)
        self.store = Store(DirTree(self.store_dir), label=STORE_DIR, repo_root=self.root_dir)
        self._config: Config | None = None
        self.config_stat: tuple | None = None  # fsio.stat_key of tether.toml when it was read
        self._saved: tuple | None = None  # (task, checkpoint) this workspace saved last
        self._session_id = session_from_environment()
        self.actor = os.environ.get("TETHER_ACTOR") or None

    @property
    def root(self) -> Path:
        """The repository root that holds ``.tether/``."""
        from pathlib import Path

        return Path(self.root_dir)

    @property
    def dir(self) -> Path:
        """The store directory, ``<root>/.tether``."""
        from pathlib import Path

        return Path(self.store_dir)

    @property
    def session_id(self) -> str:
        """This session's id: the agent's own (session_from_environment), else one generated once, of
        a one-off command (ids.ONE_OFF: no session, which the brief never names as left open). A
        long-lived user that is a session (`tether mcp`) sets its own."""
        if self._session_id is None:
            self._session_id = ids.new_id(ids.ONE_OFF)
        return self._session_id

    @property
    def agent_session(self) -> str | None:
        """The agent session this process runs in (session_from_environment), None outside one."""
        return session_from_environment()

    @session_id.setter
    def session_id(self, value: str) -> None:
        self._session_id = value

    # -- opening --------------------------------------------------------------------------
    @classmethod
    def open(cls, start: Path | str | None = None) -> "Workspace":
        start_path = os.fspath(start) if start is not None else os.getcwd()
        root = find_root(start_path)
        if root is None:
            repository = find_git_root(start_path)
            where = (f"the git repository at {repository}" if repository
                     else f"{os.path.realpath(start_path)} or any parent directory")
            raise NoWorkspace(f"no tether workspace in {where}", hint="run `tether init` at the root of your git repository")
        ws = cls(root)
        try:
            ws.config  # a workspace a newer tether wrote is refused before anything reads or writes it
        except ConfigMissing:
            pass  # boot halts on it; boot --sha and init do without
        return ws

    @classmethod
    def init(cls, start: Path | str | None = None, reading_order: list[str] | None = None) -> tuple["Workspace", list[str]]:
        """Create (or repair) the workspace at the repository root; returns what was created."""
        from .core.setup import init

        start_path = os.fspath(start) if start is not None else os.getcwd()
        root = find_root(start_path) or find_git_root(start_path)
        if root is None:
            raise InvalidInput(f"{os.path.realpath(start_path)} is not inside a git repository",
                               hint="run `git init` first: tether keeps its state in the repository")
        ws = cls(root)
        return ws, init(ws, reading_order)

    @property
    def config(self) -> Config:
        if self._config is None:
            from .warm import config_cache

            # Parsed once per machine and kept while tether.toml's stat holds: tomllib costs
            # milliseconds at every session start.
            fields, self.config_stat = config_cache.workspace_config(self.store_dir)
            self._config = Config(**fields)
        return self._config

    def config_unchanged(self) -> bool:
        """Whether tether.toml is still as this workspace read it: a long-lived user (the MCP
        server) opens the workspace again when it is not. The store's own caches check stats."""
        if self._config is None:
            return True
        from .store.fsio import stat_key_of

        try:
            st = os.stat(os.path.join(self.store_dir, layout.CONFIG))
        except OSError:
            return False
        return stat_key_of(st) == self.config_stat

    # -- tasks ------------------------------------------------------------------------------
    def start_task(self, title: str, **fields) -> Task:
        from .core.tasks import start_task

        task = start_task(self.store, title, by=self.actor, **fields)
        try:
            self.store.set_active_task(task.id)
            self.event("task_started", task=task.id, title=task.title)
            self.context_changed()
        except OSError:  # a full disk: all or nothing, so that running it again starts the task once
            self.store.remove_task(task.id)
            raise
        return task

    def task(self, task_id: str | None = None) -> Task:
        """A task by id (default: the active one)."""
        from .core.worklist import task

        return task(self, task_id)

    def tasks(self, include_closed: bool = False) -> Found:
        """Open tasks (``include_closed``: every task), oldest first."""
        from .core.worklist import tasks

        return tasks(self, include_closed)

    def active_task_id(self) -> str | None:
        """The task this machine is working on, else the most recently active open task."""
        from .core.worklist import active_task_id

        return active_task_id(self)

    def active_fallback(self) -> tuple[str, str] | None:
        """(the task this machine chose, the one "the active task" means now) when the chosen one is
        no longer open (completed, abandoned) and another open task stands in for it; else None."""
        chosen = self.store.active_task()
        if not chosen or chosen in self.store.open_task_ids():
            return None
        now = self.active_task_id()
        return (chosen, now) if now else None

    def stand_in(self) -> dict | None:
        """What a command that names no task must say before it acts on a stand-in (see
        ``active_fallback``), so the session does not think it acted on the task it chose:
        ``chosen`` (that task's id), ``status`` (its status; None: not in this checkout, started on
        another branch) and ``active`` (the open task standing in). None when there is no stand-in."""
        fell = self.active_fallback()
        if fell is None:
            return None
        chosen, now = fell
        status = self.task(chosen).status if chosen in self.store.task_ids() else None
        return {"chosen": chosen, "status": status, "active": now}

    def _why_no_automatic_checkpoint(self) -> str:
        """Why no automatic checkpoint is made ("" when one may be): the task this machine chose is
        closed or not in this checkout, and the open task standing in for it is not one the agent
        chose; its progress must not be written there."""
        fell = self.active_fallback()
        if fell is None:
            return ""
        return (f"no automatic checkpoint: {fell[0]}, the task chosen on this machine, is no longer open"
                f" (the open task {fell[1]} was not chosen)")

    def require_active(self) -> str:
        from .core.worklist import require_active

        return require_active(self)

    def switch(self, task_id: str) -> Task:
        """Make an open task the active one on this machine."""
        from .core.worklist import switch

        # The choice is this machine's (.tether/local/): no tracked file changes; the context
        # document's ACTIVE mark follows at its next write.
        return switch(self, task_id)

    def set_active(self, task_id: str) -> None:
        self.store.set_active_task(task_id)

    def task_status(self, task_id: str | None = None) -> TaskStatus:
        """A task, where to resume it, its checkpoints, and the problems met reading them."""
        from .core.worklist import status

        return status(self, task_id)

    def progress(self, task: Task):
        """Where ``task`` stands (a Resume), without making it the active task."""
        from .core.worklist import progress

        return progress(self, task)

    def set_task_status(self, task_id: str | None, status: str) -> Task:
        """Complete, archive (default task: the active one) or reopen (default: the task closed last)."""
        from .core.tasks import set_status
        from .errors import Conflict

        if task_id is None and status == "open":
            from .core.worklist import last_closed
            from .errors import Corrupt, NotFound

            task, problems = last_closed(self, with_problems=True)
            if problems:  # a task file that cannot be read may be the one closed last: never guess
                raise Corrupt(f"{problems[0]}" + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""),
                              hint="fix the file (`tether verify` lists every one), or name the task:"
                                   " `tether task reopen ID`")
            if task is None:
                raise NotFound("there is no completed or archived task to reopen",
                               hint="`tether task list --all` lists every task with its status")
        elif status == "open" and task_id is not None and not task_id.strip():
            from .errors import InvalidInput

            raise InvalidInput("the task id is empty",  # an unset shell variable: never taken to mean none
                               hint="give a task id (`tether task list --all`), or none at all for the task"
                                    " closed last")
        else:
            task = self.task(task_id)
        if task.status == status:
            raise Conflict(f"task {task.id} is already {status}", hint="run `tether task list --all`")
        from .core.memory import restore_task_notes, retire_task_notes

        retired = task.retired
        if status != "open":  # closing again (complete, then clear) keeps what the first close resolved
            task.retired = list(dict.fromkeys([*retired, *retire_task_notes(self, task.id)]))
        else:
            task.retired = []
        set_status(self.store, task, status)
        self.event(f"task_{status}", task=task.id)
        if status == "open" and retired:  # reopened: the entries its close resolved apply again
            restore_task_notes(self, retired)
        self.context_changed()
        return task

    # -- checkpoints and resume ----------------------------------------------------------
    def checkpoint(self, task_id: str | None = None, **fields) -> Checkpoint:
        """Save the next checkpoint of a task (default: the active one). The task checkpointed
        becomes the one this machine works on: a named one, or the open task standing in for a
        chosen one that is closed or not in this checkout (``stand_in`` says which, before)."""
        from .core.memory import event
        from .core.tasks import checkpoint
        from .core.worklist import task_or_damaged

        # A task file that does not read loses no checkpoint: it is saved in the task's folder.
        task = task_or_damaged(self, task_id)
        given = {name: fields[name] for name in ("state", "note", "next_actions", "files", "key_data")
                 if fields.get(name)}
        if given:
            fields.update(self.as_committed(given))
        explicit = fields.pop("anchors", None)
        # The state and the note say what holds now; next actions name files about to change, whose
        # change is the plan, not a sign the checkpoint went stale.
        texts = [fields.get("state") or "", fields.get("note") or ""]
        # Only a text with a word like "a.py" can cite code: most states hold none, and then
        # nothing of the anchors' code is loaded (checkpoint runs many times a session).
        if explicit or any(_may_cite(text) for text in texts):
            from .core.anchors import pin

            fields["anchors"] = pin(self, explicit, texts)
        ckp = checkpoint(self.store, task, session=self.session_id, device=self.device(), **fields)
        # Its memory-log line is not forced to disk separately: the checkpoint file, already
        # durable, is the record; one fsync fewer per checkpoint (a third of its cost).
        event(self, "checkpoint", False, ckp.created, task=task.id, checkpoint=ckp.name, done=ckp.done)
        self._saved = (task, ckp)
        if getattr(task, "damaged", None) is not None:  # saved, and the file that did not read is said
            self.store.report(task.damaged)
        if self.store.active_task() != task.id:
            # The next checkpoint without a task goes here too, rather than to whichever open task
            # has the newest checkpoint then (a per-machine choice: no tracked file changes for it).
            self.store.set_active_task(task.id)
        if self._session_id:  # the agent's own checkpoint covers its tool calls so far (hooks' trail)
            from .store.trail import clear

            try:
                clear(self.store_dir, self._session_id)
            except OSError:
                pass  # the trail is a hint; the checkpoint is saved
        return ckp

    def as_committed(self, value):
        """``value`` (a text, or a list or dict of them) as committed records say it: absolute paths
        into the repository written from its root, the home directory written ``~``
        (model.confine.as_committed)."""
        from .model.confine import as_committed

        roots, home = self._roots_as_named(), os.path.expanduser("~")  # once for all the texts

        def written(item):
            if isinstance(item, str):
                for root in roots:
                    item = as_committed(item, root, home)
                return item
            if isinstance(item, list):
                return [written(v) for v in item]
            if isinstance(item, dict):
                return {k: written(v) for k, v in item.items()}
            return item

        return written(value)

    def _roots_as_named(self) -> list[str]:
        """The repository root as paths may name it: as resolved, and as the shell reached it through a
        link ($PWD: /tmp on macOS is /private/tmp; a linked home or project folder)."""
        roots = [self.root_dir]
        pwd = os.environ.get("PWD")
        try:
            here = os.getcwd()
            if pwd and pwd != here and os.path.realpath(pwd) == os.path.realpath(here):
                rel = os.path.relpath(os.path.realpath(here), os.path.realpath(self.root_dir))
                if rel == ".":
                    roots.append(pwd)
                elif not rel.startswith("..") and pwd.rstrip("/").endswith("/" + rel):
                    roots.append(pwd.rstrip("/")[: -len(rel) - 1])
        except OSError:
            pass
        return roots

    def committable(self, text: str) -> str:
        """What the agent said (its last message, for an automatic checkpoint's note) as a committed
        file may hold it: paths as as_committed writes them, secrets redacted (compaction.redact)."""
        text = self.as_committed(text)
        from .compaction.redact import Redactor, Unavailable, might_hold_secret

        if not might_hold_secret(text):
            return text  # most messages: detect-secrets is not even loaded
        try:
            redacted, _ = Redactor().redact(text)
        except Unavailable:  # detect-secrets missing: close --commit's scan warns of what remains
            return text
        return redacted

    def device(self) -> str | None:
        """The label checkpoints carry for this machine: TETHER_DEVICE, else the one set with
        `tether config --device` (kept per machine, never committed); None when neither is. Never
        the host name: committed files would carry it."""
        return os.environ.get("TETHER_DEVICE") or self.store.device_label()

    def auto_checkpoint(self, trigger: str, instructions: str = "", kind: str = "pre_compact",
                        transcript: str | None = None):
        """The checkpoint PreCompact makes (core.tasks.automatic_checkpoint; ``kind="context"``: the one
        the UserPromptSubmit hook makes when the context is CRITICAL): (task id, checkpoint or None,
        what to say). ``transcript``: where the agent's last message is read; one newer than the
        last checkpoint is something to save."""
        from .core.tasks import automatic_checkpoint

        task_id = self.active_task_id()
        if task_id is None:
            return None, None, "no active task"
        stand_in = self._why_no_automatic_checkpoint()
        if stand_in:
            return None, None, stand_in
        from .core.worklist import task_or_damaged

        task = task_or_damaged(self, task_id)  # a task file that does not read loses no checkpoint
        message = None
        if transcript:
            from .transcripts.last_words import last_assistant_message

            try:
                message = last_assistant_message(transcript)
            except OSError:
                message = None  # the records since the last checkpoint are still saved
        ckp, said = automatic_checkpoint(self.store, task, trigger, instructions, self._recorded_since,
                                         session=self.session_id, device=self.device(), kind=kind,
                                         last_message=message, clean=self.committable)
        if ckp is not None:
            from .core.memory import event

            event(self, "checkpoint", False, ckp.created, task=task.id, checkpoint=ckp.name, done=ckp.done,
                  automatic=ckp.automatic)
            self._saved = (task, ckp)
        damaged = getattr(task, "damaged", None)
        if damaged is not None:
            said += f"; {task_id}'s task file does not read: {damaged} (fix it, or `git checkout -- PATH` it)"
        return task_id, ckp, said

    def tool_checkpoint(self, session: str, *, every: int | None = None, risky: str | None = None,
                        command: str | None = None, transcript: str | None = None):
        """The checkpoint the tool-call hooks make from a session's trail (core.tasks.trail_checkpoint):
        (task id or None, checkpoint or None, what to say). ``every``: the config's
        ``hooks.checkpoint_every`` unless given; ``risky``: what makes the command about to run risky,
        ``command``: that command (its note keeps it cut short, secrets redacted, as committable does);
        ``transcript``: where the agent's last message is read for the checkpoint's note."""
        from .core.tasks import trail_checkpoint
        from .store import trail

        every = self.config.checkpoint_every if every is None else every
        task_id = self.active_task_id()
        calls = trail.entries(self.store_dir, session)
        stand_in = self._why_no_automatic_checkpoint() if task_id is not None else ""
        if stand_in:
            trail.keep(self.store_dir, session, [])  # nowhere of the agent's choosing to checkpoint them into
            return None, None, stand_in
        if task_id is None:
            trail.keep(self.store_dir, session, [])  # nothing to checkpoint them into
            return None, None, "no active task"
        from .core.worklist import task_or_damaged

        task = task_or_damaged(self, task_id)  # a task file that does not read loses no checkpoint
        if task.status != "open":
            trail.keep(self.store_dir, session, [])
            return task_id, None, f"task {task_id} is {task.status}"
        message = None
        if transcript:
            from .transcripts.last_words import last_assistant_message

            try:
                message = last_assistant_message(transcript)
            except OSError:
                message = None  # a courtesy in its note: the checkpoint still records the calls

        def anchor(edited, texts, previous):
            from .core.anchors import carried

            return carried(self, edited, texts, previous)

        ckp, said, kept = trail_checkpoint(self.store, task, calls, self._recorded_since, every=every, risky=risky,
                                           command=command, last_message=message, anchor=anchor, clean=self.committable,
                                           session=self.session_id or session, device=self.device())
        if ckp is not None:
            from .core.memory import event

            event(self, "checkpoint", False, ckp.created, task=task.id, checkpoint=ckp.name, done=ckp.done,
                  automatic=ckp.automatic)
            self._saved = (task, ckp)
        if kept != calls:
            trail.keep(self.store_dir, session, kept)
        return task_id, ckp, said

    def drift(self, summary: str, task_id: str | None = None):
        """Goal drift of a compaction summary against the active task (core.drift): (task id or
        None, the indicators found)."""
        from .core.drift import check

        task_id = task_id or self.active_task_id()
        if task_id is None:
            return None, []
        progress = self.progress(self.task(task_id))
        task = progress.task
        open_units = [u for n, u in enumerate(task.units, 1) if n not in progress.done]
        decided = [(d.id, d.question, d.decision, d.when) for d in reversed(list(self.decisions(limit=50)))]
        return task_id, check(summary, title=task.title, definition=task.definition, criteria=task.criteria,
                              open_units=open_units, unit_name=task.unit_name, total_units=len(task.units),
                              decisions=decided, task_id=task_id)

    def _recorded_since(self, checkpoint_name: str | None, stamp: str) -> list[str]:
        """Decisions and context entries recorded after a checkpoint: those after its line in the
        memory log (stamps have whole seconds, the log's order is exact); without its line (written
        elsewhere), those stamped later than ``stamp``."""
        rows = list(self.store.all_events())
        marks = [i for i, r in enumerate(rows) if r["event"] == "checkpoint" and r.get("checkpoint") == checkpoint_name]
        after = rows[marks[-1] + 1:] if checkpoint_name and marks else [r for r in rows if r["at"] > stamp]
        return [f"{r['event']} {r.get(r['event'])}" for r in after if r["event"] in ("decision", "note")]

    def resume(self, task_id: str | None = None, after: Checkpoint | None = None):
        """Where to continue (a Resume); ``after``: the checkpoint this workspace just saved
        (nothing is read again). Naming a task makes it the active one."""
        from .core.tasks import resume_point

        saved = self._saved
        if after is not None and saved and saved[1] is after:
            if task_id:
                self.store.set_active_task(after.task)
            return resume_point(saved[0], after)  # it was built from the newest state, under the task lock
        from .core.worklist import progress, switch, task_or_damaged

        # A task file that does not read: where the work is comes from its checkpoints all the same.
        found = task_or_damaged(self, task_id)
        if task_id is not None:
            switch(self, task_id, found)
        point = progress(self, found, journal=True)
        if point.damaged is not None and point.damaged not in point.problems:
            point.problems.insert(0, point.damaged)
        if point.checkpoint is not None and point.checkpoint.anchors:  # code it cites that changed since
            from .warm.anchors import warning

            flags = self.stale_flags([point.checkpoint]).get(point.checkpoint.id)
            point.stale = warning(flags) if flags else None
        return point

    def latest_checkpoint(self, task_id: str | None = None) -> Checkpoint | None:
        """A task's newest checkpoint (default: the active task's), with every branch tip's progress."""
        from .core.tasks import latest_checkpoint

        return latest_checkpoint(self.store, self.task(task_id).id)

    def find_checkpoint(self, ref: str, task_id: str | None = None) -> Checkpoint:
        """A checkpoint by 'CKP-0003', '3' or its full name (default task: the active one)."""
        from .core.worklist import find_checkpoint

        return find_checkpoint(self, ref, task_id)

    def checkpoint_path(self, checkpoint: Checkpoint) -> str:
        """Where a checkpoint's file is, from the repository root."""
        return self.store.checkpoint_path(checkpoint.task, checkpoint.name)

    def checkpoint_text(self, checkpoint: Checkpoint) -> str:
        """The checkpoint's file as people read it."""
        return self.store.checkpoint_text(checkpoint.task, checkpoint.name)

    # -- decisions, context entries, the memory log -----------------------------------------
    def decide(self, question: str, decision: str, rationale: str = "", who: str | None = None,
               when: str | None = None, task: str | None = None, decision_id: str | None = None,
               anchors: list[str] | None = None) -> Decision:
        """Record a decision; ``anchors``: code it cites ("src/a.py:12"), beside those found in its text."""
        from .core.memory import decide

        question, decision, rationale = self.as_committed([question, decision, rationale])
        made = decide(self, question, decision, rationale, who, when, task, decision_id, anchors)
        self.context_changed()
        return made

    def decisions(self, limit: int | None = None) -> Found:
        """Decisions oldest first by their time; ``limit`` keeps the newest N."""
        from .core.memory import decisions

        return decisions(self, limit)

    def note(self, kind: str, text: str, by: str | None = None, task: str | None = None,
             anchors: list[str] | None = None) -> Note:
        """Add a context entry: phase, gotcha, dont, blocker, note or learning; with ``task``,
        it belongs to that open task and is resolved when the task is completed."""
        from .core.memory import note

        entry = note(self, kind, self.as_committed(text), by, task, anchors)
        self.context_changed()
        return entry

    def resolve_note(self, note_id: str) -> Note:
        from .core.memory import resolve_note

        entry = resolve_note(self, note_id)
        self.context_changed()
        return entry

    def stale_flags(self, records) -> dict[str, list[dict]]:
        """record id -> flags of its anchors whose file changed or is gone (warm.anchors)."""
        from .core.anchors import flag_all

        return flag_all(self, records)

    def stale(self) -> list[dict]:
        """Every current decision and context entry citing code that changed or is gone."""
        from .core.anchors import stale

        return stale(self)

    def confirm(self, memory_id: str) -> dict:
        """Re-confirm a decision's or context entry's anchors: pin them to the files as they are now."""
        from .core.anchors import confirm

        done = confirm(self, memory_id)
        self.context_changed()
        return done

    def context_changed(self) -> None:
        """Regenerate the session context document after a change to what it says, so it agrees
        with the brief at every moment (not after a checkpoint: see core.close)."""
        from .core.close import write_context_document
        from .errors import ParseError

        try:
            write_context_document(self)
        except ParseError:
            pass  # a document that is not UTF-8 cannot be rewritten from a guess: boot names it

    def context_document_text(self) -> str:
        """The session context document as close last wrote it ("" before the first close)."""
        from .store.confine import resolve

        path, why = resolve(self.root_dir, self.config.context_document)
        if why:
            raise InvalidInput(f"{self.config.context_document} {why}",
                               hint="set context_document in .tether/tether.toml to a file inside the repository")
        try:
            with open(path, encoding="utf-8", errors="replace") as fh:
                return fh.read()
        except FileNotFoundError:
            return ""

    def notes(self, include_resolved: bool = False) -> Found:
        from .core.memory import notes

        return notes(self, include_resolved)

    def event(self, name: str, **data) -> dict:
        """Append an event to the memory log, in this session's name."""
        from .core.memory import event

        return event(self, name, **data)

    def session_event(self, name: str, **data) -> dict:
        """Append an event to this machine's session log (hooks): no tracked file changes; the
        next close folds it into the memory log."""
        from .store.eventlog import record

        row = record(name, self.session_id, data)
        self.store.append_session_event(row)
        return row

    def session_activity(self, session: str | None = None):
        """What a session did (default: this one), from the memory log and the session log."""
        from .core.memory import session_activity

        return session_activity(self, session or self.session_id)

    # -- sessions ---------------------------------------------------------------------------
    def boot(self, sha: str | None = None, budget: int | None = None, warm: bool = True,
             max_chars: int | None = None, say=None):
        """The readiness brief, as this session is told it (its own work is not "Not closed");
        ``warm=False`` skips the boot cache and reads the files; ``max_chars``: a hard cap on its
        length (a hook's limit); ``say``: how the asking adapter words the commands the brief names
        (a function of a line; default: the command line's), within the budget."""
        from .core.boot import boot

        return boot(self, sha=sha, budget=budget, warm=warm, max_chars=max_chars, session=self._session_id,
                    say=say)

    def close(self, summary: str, completed: list[str] | None = None, next_steps: list[str] | None = None,
              commit: bool = False, offload: str | None = None):
        """``offload``: a cluster to offload what the session marked as worth keeping into (before
        the close, so its index and commit carry the packets); without it, the close lists them,
        each with its `tether offload add` command."""
        from .core.close import close, refuse_mid_operation

        if commit:  # before anything is written, the offloaded packets too
            refuse_mid_operation(self.root_dir)
        keep = self._worth_keeping(offload)
        summary, next_steps = self.as_committed([summary, next_steps or []])
        result = close(self, summary, completed or [], next_steps, commit)
        result.keep = keep
        self._audit_for_next_session()
        self.prepare_next_boot()  # the next session's first boot is warm
        return result

    def _audit_for_next_session(self) -> None:
        """The audit's result for the next boot's brief, without the rules that ask git about every
        file of the store (the close just wrote the manifest, and says itself what it committed)."""
        from .audit import Auditor
        from .errors import TetherError

        try:
            Auditor(self).run(skip=("uncommitted", "index-stale"))
        except (TetherError, OSError):
            pass  # a close never fails for its audit: `tether audit` says what is wrong

    def _worth_keeping(self, cluster: str | None) -> list[dict]:
        from .errors import ParseError
        from .offload import Offload

        try:
            latest = self.store.read_latest()
        except ParseError:
            latest = None  # the close rewrites it; every entry counts as this session's
        off = Offload(self)
        items = off.worth_keeping(latest.generated_at if latest is not None else None, cluster or "Learnings")
        return off.keep(items, cluster) if cluster and items else items

    def prepare_next_boot(self) -> None:
        """Build boot's cache now (end of a session, before a compaction), so the next boot is warm."""
        from .core.boot import make_boot_cache

        make_boot_cache(self)

    def log(self, date: str | None = None, limit: int = 1):
        """The dated progress logs: ``date`` (YYYY-MM-DD), else the newest ``limit``."""
        from .core.close import progress_logs

        return progress_logs(self, date, limit)

    # -- the agent's context window ------------------------------------------------------------
    def context_usage(self, transcript: str | None = None, *, model: str | None = None, window: int | None = None,
                      exact: bool = False):
        """How full the agent's context is (a tether.transcripts ContextUsage: tokens, window,
        percent, state, action), read from the end of ``transcript``; without one, the session's
        own (TETHER_SESSION_ID's, as its hooks recorded it), else the newest Claude Code or Codex
        session run in this repository. ``[context]`` in tether.toml gives the thresholds and
        windows; ``model``/``window`` override them; ``exact`` counts with tiktoken what the
        transcript's own figures leave uncounted."""
        from .core.context import usage

        return usage(self, transcript, model=model, window=window, exact=exact)

    # -- maintenance ----------------------------------------------------------------------------
    def verify(self):
        """Every problem in the store's files, all of them read (tether verify); changes nothing."""
        from .core.verify import check_document, setup_notices, verify

        config_problems = self.config.problems()
        outcome = verify(self.store, self.config.context_document, config_problems)
        if all(p in config_problems for p in outcome.problems):  # a damaged record is the problem to name
            check_document(self, outcome)
        outcome.notices = setup_notices(self)
        return outcome

    def write_index(self) -> int:
        """Write the manifest (index.json); returns the number of files it lists."""
        from .core import manifest

        return manifest.write(self.store)

    def check_index(self):
        """Whether the manifest lists exactly the files as they are (manifest.Check)."""
        from .core import manifest

        return manifest.check(self.store)

    def repair(self):
        """Generated files a merge left conflicted, open markers, leftovers, then the manifest."""
        from .core.repair import repair

        return repair(self)


def _may_cite(text: str) -> bool:
    """Whether ``text`` holds a "name.ext" word, as any citation of code does (warm.anchors.cited
    decides which are): a dot between a word character and an ASCII letter."""
    at = text.find(".")
    while at > 0:
        after = text[at + 1:at + 2]
        before = text[at - 1]
        if after.isascii() and after.isalpha() and (before.isalnum() or before in "_-."):
            return True
        at = text.find(".", at + 1)
    return at == 0 and _may_cite(text[1:])
