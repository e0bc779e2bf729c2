"""The Python API: open a repository's workspace and work with it.

    from tether import Workspace
    ws = Workspace.open()                       # finds .tether/ from any subdirectory
    task = ws.start_task("Process 20 docs", items=[f"doc{i}.pdf" for i in range(1, 21)])
    ws.checkpoint(done=["1-5"], state="docs 1-5 summarised")
    print(ws.resume().message())

The CLI, hooks and benchmarks are thin layers over this class.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path

from . import clock, fsio, ids
from .config import CONFIG_FILE, Config, default_text, parse
from .errors import Conflict, InvalidInput, NoWorkspace, NotFound
from .records import NOTE_KINDS, Checkpoint, Decision, Note, Task
from .store import DirTree, FileStore
from .paths import STORE_DIR, find_git_root, find_root
from .tasks import Resume

GITIGNORE = "# Per-machine and derived files: never committed.\nlocks/\nlocal/\n*.tmp\n"
GITATTRIBUTES = (
    "# Append-only logs: a merge keeps the lines of both sides instead of conflicting.\n"
    "*.jsonl merge=union\nprogress/*.md merge=union\n"
    "# Generated files: merged by meaning with tether's merge driver (`tether init` registers it).\n"
    "/progress/LATEST.json merge=tether\n/CONTEXT.md merge=tether\n/index.json merge=tether\n"
)


_node: str | None = None


def device_name() -> str:
    global _node
    if _node is None:
        _node = os.uname().nodename
    return os.environ.get("TETHER_DEVICE") or _node


class Workspace:
    def __init__(self, root) -> None:
        # Plain strings inside (pathlib costs 5 ms at every session start); Paths outside.
        self.root_dir = os.fspath(root)
        self.store_dir = os.path.join(self.root_dir, STORE_DIR)
        self.store = FileStore(DirTree(self.store_dir), label=STORE_DIR)
        self._config: Config | None = None
        self.config_stat: tuple | None = None  # fsio.stat_key of tether.toml when it was read
        self._saved: tuple | None = None  # (task, checkpoint) this workspace saved last
        self._session_id = os.environ.get("TETHER_SESSION_ID") or None
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
        """This session's id: TETHER_SESSION_ID, the agent's own (hooks), else generated once."""
        if self._session_id is None:
            self._session_id = ids.new_id("S")
        return self._session_id

    @session_id.setter
    def session_id(self, value: str) -> None:
        self._session_id = value

    # -- opening --------------------------------------------------------------
    @classmethod
    def open(cls, start: Path | str | None = None) -> "Workspace":
        start_path = os.fspath(start) if start is not None else os.getcwd()
        root = find_root(start_path)
        if root is None:
            repository = find_git_root(start_path)
            where = (f"the git repository at {repository}" if repository
                     else f"{os.path.realpath(start_path)} or any parent directory")
            raise NoWorkspace(f"no tether workspace in {where}", hint="run `tether init` at the root of your git repository")
        return cls(root)

    @classmethod
    def init(cls, start: Path | str | None = None, reading_order: list[str] | None = None) -> tuple["Workspace", list[str]]:
        """Create (or repair) the workspace at the repository root; returns what was created."""
        start_path = os.fspath(start) if start is not None else os.getcwd()
        root = find_root(start_path) or find_git_root(start_path)
        if root is None:
            raise InvalidInput(f"{os.path.realpath(start_path)} is not inside a git repository",
                               hint="run `git init` first: tether keeps its state in the repository")
        ws = cls(root)
        created: list[str] = []
        defaults = {
            CONFIG_FILE: default_text(reading_order if reading_order is not None else _guess_reading_order(root)),
            ".gitignore": GITIGNORE,
            ".gitattributes": GITATTRIBUTES,
        }
        for rel, text in defaults.items():
            if ws.store.tree.create(rel, text):
                created.append(f"{STORE_DIR}/{rel}")
        from . import mergedriver

        if mergedriver.upgrade_attributes(ws.store.tree, GITATTRIBUTES):
            created.append(f"updated {STORE_DIR}/.gitattributes (merge driver rules)")
        for sub in ("tasks", "open", "decisions", "progress", "memory"):
            os.makedirs(os.path.join(ws.store_dir, sub), exist_ok=True)
        generated = [rel for rel in ("CONTEXT.md", "index.json") if not ws.store.tree.exists(rel)]
        if created or generated:
            from . import session
            session.write_generated(ws)
            created += [f"{STORE_DIR}/{rel}" for rel in generated]  # say so: a user sees every new file
        registered = mergedriver.register(root)  # per clone: git config is never committed
        if registered:
            created.append(registered)
        return ws, created

    @property
    def config(self) -> Config:
        if self._config is None:
            self._config = self._load_config()
        return self._config

    def _load_config(self) -> Config:
        # Parsed config is cached in local/ (git-ignored), keyed by the file's
        # stat: loading tomllib costs 5 ms, a lot at every session start.
        import json

        shown = f"{STORE_DIR}/{CONFIG_FILE}"
        try:
            st = os.stat(os.path.join(self.store_dir, CONFIG_FILE))
        except FileNotFoundError:
            return parse(None, shown)  # raises ConfigMissing
        key = list(fsio.stat_key_of(st))
        self.config_stat = tuple(key)  # boot's cache keys on the file this config came from
        try:
            cached = json.loads(self.store.tree.read("local/config.json") or b"null")
            if isinstance(cached, dict) and cached.get("key") == key:
                return Config(**cached["config"])
        except (ValueError, TypeError, KeyError):
            pass  # a damaged cache is rebuilt below
        config = parse(self.store.read_file(CONFIG_FILE), shown)
        try:
            self.store.tree.write("local/config.json", json.dumps({"key": key, "config": config.to_dict()}))
        except OSError:
            pass  # read-only checkout: fine, just slower
        return config

    # -- tasks ------------------------------------------------------------------
    def start_task(self, title: str, **fields) -> Task:
        from .tasks import start_task

        task = start_task(self.store, title, by=self.actor, **fields)
        try:
            self.set_active(task.id)
            self.event("task_started", task=task.id, title=task.title)
        except OSError:  # a full disk: all or nothing, so that running it again starts the task once
            self.store.remove_task(task.id)
            raise
        return task

    def task(self, task_id: str | None = None) -> Task:
        if task_id is None:
            return self.store.load_task(self.require_active())
        if not task_id.strip():  # an unset shell variable: never taken to mean the active task
            raise InvalidInput("the task id is empty",
                               hint="give a task id (`tether task list`), or none at all for the active task")
        return self.store.load_task(task_id)

    def tasks(self, include_closed: bool = False) -> list[Task]:
        out = []
        for task_id in (self.store.task_ids() if include_closed else self.store.open_task_ids()):
            try:
                task = self.store.load_task(task_id)
            except NotFound:
                from .parsing import Problem
                self.store.problems.append(Problem(f"{STORE_DIR}/open/{task_id}", None,
                                                   "open marker without a task; run `tether index --repair`"))
                continue
            except Exception as exc:
                if getattr(exc, "problem", None) is None:
                    raise
                self.store.problems.append(exc.problem)
                continue
            if include_closed or task.status == "open":
                out.append(task)
        return sorted(out, key=lambda t: (t.created, t.id))

    def active_task_id(self) -> str | None:
        """The task this machine is working on, else the most recently active open task."""
        chosen = (self.store.tree.read("local/active") or b"").decode("utf-8", "replace").strip()
        open_ids = self.store.open_task_ids()
        if chosen in open_ids:
            return chosen
        best, best_at = None, ""
        for task_id in open_ids:
            latest = self.store.latest_checkpoint(task_id)
            at = latest.created if latest else ""
            if best is None or at > best_at:
                best, best_at = task_id, at
        return best

    def require_active(self) -> str:
        task_id = self.active_task_id()
        if task_id is None:
            raise NotFound("there is no open task", hint='start one with `tether task start "TITLE"`')
        return task_id

    def set_active(self, task_id: str) -> None:
        # Every checkpoint sets it: skip the durable rewrite (two fsyncs) when it is already so.
        if self.store.tree.read("local/active") != (task_id + "\n").encode("utf-8"):
            self.store.tree.write("local/active", task_id + "\n")

    def checkpoint(self, task_id: str | None = None, **fields) -> Checkpoint:
        from .tasks import checkpoint

        task = self.task(task_id)
        ckp = checkpoint(self.store, task, session=self.session_id, device=device_name(), **fields)
        # Its memory-log line is not forced to disk separately: the checkpoint file, already
        # durable, is the record; one fsync fewer per checkpoint (a third of its cost).
        self._event("checkpoint", False, ckp.created, task=task.id, checkpoint=ckp.name, done=ckp.done)
        self._saved = (task, ckp)
        return ckp

    def resume(self, task_id: str | None = None, after: Checkpoint | None = None) -> Resume:
        """Where to continue; ``after``: the checkpoint this workspace just saved (nothing is read again)."""
        from .tasks import resume_of, resume_point

        saved = self._saved
        if after is not None and saved and saved[1] is after:
            if task_id:
                self.set_active(after.task)
            return resume_point(saved[0], after)  # it was built from the newest state, under the task lock
        task = self.switch(task_id) if task_id is not None else self.task()
        return resume_of(self.store, task)

    def switch(self, task_id: str) -> Task:
        """Make an open task the active one on this machine; a closed one is not worked on."""
        task = self.task(task_id)
        if task.status != "open":
            raise Conflict(f"task {task.id} is {task.status}", hint=f"reopen it with `tether task reopen {task.id}`")
        self.set_active(task.id)
        return task

    def set_task_status(self, task_id: str | None, status: str) -> Task:
        from .tasks import set_status

        task = self.task(task_id)
        if task.status == status:
            raise Conflict(f"task {task.id} is already {status}", hint="run `tether task list --all`")
        set_status(self.store, task, status)
        self.event(f"task_{status}", task=task.id)
        return task

    # -- decisions and context entries -------------------------------------------
    def decide(self, question: str, decision: str, rationale: str = "", who: str | None = None,
               when: str | None = None, task: str | None = None, decision_id: str | None = None) -> Decision:
        if not question.strip() or not decision.strip():
            raise InvalidInput("a decision needs a question and the decision taken",
                               hint='tether decide "Which model?" --decision "Phi-3" --rationale "..."')
        if decision_id is not None and not ids.valid_id(decision_id):
            raise InvalidInput(f"invalid decision id {decision_id!r}", hint="use letters, digits, '.', '_' and '-'")
        if when is not None:
            try:
                when = clock.stamp(clock.parse(when))
            except ValueError:
                raise InvalidInput(f"invalid time {when!r}", hint="use ISO 8601, e.g. 2026-11-21T10:00:00Z") from None
        if task is not None:
            task = self.task(task).id  # a typo would tie the decision to nothing, silently
        now = clock.now()
        record = Decision(id=decision_id or ids.new_id("D", now), question=question.strip(),
                          decision=decision.strip(), rationale=rationale.strip(), who=who or self.actor,
                          when=when or clock.stamp(now), task=task)
        while True:
            try:
                self.store.add_decision(record)
                break
            except Conflict:
                if decision_id is not None:
                    raise
                record.id = ids.new_id("D", now)  # a generated id met a local twin: draw again
        self.event("decision", decision=record.id)
        return record

    def decisions(self, limit: int | None = None) -> list[Decision]:
        """Decisions oldest first by their time; ``limit`` keeps the newest N."""
        out = []
        for decision_id in self.store.decision_ids():
            try:
                out.append(self.store.load_decision(decision_id))
            except Exception as exc:
                if getattr(exc, "problem", None) is None:
                    raise
                self.store.problems.append(exc.problem)
        out.sort(key=lambda d: (d.when, d.id))
        if limit is not None:
            out = out[-limit:] if limit > 0 else []
        return out

    def note(self, kind: str, text: str, by: str | None = None) -> Note:
        if kind not in NOTE_KINDS:
            raise InvalidInput(f"unknown entry kind {kind!r}", hint=f"use one of: {', '.join(NOTE_KINDS)}")
        if not text.strip():
            raise InvalidInput("an entry needs text", hint=f'tether note {kind} "..."')
        now = clock.now()
        entry = Note(id=ids.new_id("N", now), kind=kind, text=" ".join(text.split()),
                     at=clock.stamp(now), by=by or self.actor)
        with self.store.lock("context"):
            # A generated id met a local twin: draw again (resolutions refer to entries by id).
            # Anywhere in the log counts as taken, a resolve line or a text quoting it too.
            taken = self.store.read_file("context.jsonl") or b""
            while entry.id.encode("utf-8") in taken:
                entry.id = ids.new_id("N", now)
            self.store.append_note({k: v for k, v in entry.to_dict().items() if k != "resolved"})
        return entry

    def resolve_note(self, note_id: str) -> Note:
        matches = [n for n in self.store.notes() if n.id == note_id]
        if not matches:
            raise NotFound(f"no context entry {note_id}", hint="run `tether note list` to see entry ids")
        if matches[0].resolved:
            raise Conflict(f"entry {note_id} is already resolved", hint="run `tether note list`")
        stamp = clock.stamp()
        self.store.append_note({"resolve": note_id, "at": stamp})
        matches[0].resolved = stamp
        return matches[0]

    def notes(self, include_resolved: bool = False) -> list[Note]:
        return [n for n in self.store.notes() if include_resolved or not n.resolved]

    # -- events -------------------------------------------------------------------
    def event(self, name: str, **data) -> dict:
        return self._event(name, True, None, **data)

    def _event(self, name: str, durable: bool, at: str | None, **data) -> dict:
        from .eventlog import record as event_record

        record = event_record(name, self.session_id, data, at)
        self.store.append_event(record, durable)
        return record

    # -- sessions -----------------------------------------------------------------
    def close(self, summary: str, completed: list[str] | None = None, next_steps: list[str] | None = None,
              commit: bool = False):
        from .mergedriver import ensure_registered
        from .session import close

        from .session import make_boot_cache

        result = close(self, summary, completed or [], next_steps or [], commit)
        ensure_registered(self.root_dir)  # a fresh clone that never ran `tether init` merges closes cleanly too
        make_boot_cache(self)  # the next session's first boot is warm
        return result

    def verify(self):
        """Every problem in the store's files, all of them read (tether verify); changes nothing."""
        from .verify import verify

        return verify(self.store, self.config.context_document)

    def boot(self, sha: str | None = None, budget: int | None = None, warm: bool = True):
        """The readiness brief (session.boot); ``warm=False`` skips the boot cache and reads the files."""
        from .session import boot

        return boot(self, sha=sha, budget=budget, warm=warm)


def _guess_reading_order(root: str) -> list[str]:
    candidates = ["README.md", "SESSION_CONTEXT.md", "docs/architecture.md", "docs/decisions.md"]
    return [c for c in candidates if os.path.isfile(os.path.join(root, c))]
