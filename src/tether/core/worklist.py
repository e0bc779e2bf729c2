"""Which tasks there are, which one this machine works on, and where each stands.

Functions take the workspace and plain values; results carry the problems met
while reading (``Found``, ``TaskStatus.problems``).
"""

from __future__ import annotations

from ..errors import Conflict, InvalidInput, NotFound, ParseError, Problem
from ..model.record import REQUIRED, Record
from ..model.records import Found, Task
from .tasks import Resume, damaged_task, latest_checkpoint, resume_of


class TaskStatus(Record):
    """A task, where to resume it, its checkpoints' names, and the problems met reading them."""

    FIELDS = {"task": REQUIRED, "resume": REQUIRED, "checkpoints": list, "problems": list}

    def to_dict(self) -> dict:
        return {"task": dict(self.task.__dict__), "resume": self.resume.to_dict(), "checkpoints": self.checkpoints,
                "problems": [p.to_dict() for p in self.problems]}


def task(ws, task_id: str | None = None) -> Task:
    if task_id is None:
        return ws.store.load_task(require_active(ws))
    if not task_id.strip():  # an unset shell variable: never taken to mean the active task
        raise InvalidInput("the task id is empty",
                           hint="give a task id (`tether task list`), or none at all for the active task")
    try:
        return ws.store.load_task(task_id)
    except NotFound as exc:
        exc.hint = "run `tether task list --all` to see task ids"
        raise


def task_or_damaged(ws, task_id: str | None = None) -> Task:
    """``task``, for what must not be lost to a damaged task file (a checkpoint) or must still say
    where the work is (resume): a task whose folder is here but whose task.md does not read (bad
    front matter, gone) is a stand-in that knows its id (tasks.damaged_task), the problem reported."""
    wanted = task_id if task_id is not None else require_active(ws)
    try:
        return task(ws, wanted)
    except ParseError as exc:
        problem = exc.problem
    except NotFound:
        if wanted in ws.store.task_ids():
            problem = Problem(ws.store.task_path(wanted), None, "missing, though its folder is here")
        elif wanted in ws.store.open_task_ids():  # open by its marker: its folder was deleted or moved
            problem = Problem(ws.store.task_path(wanted), None, "missing with its whole folder, though the task"
                                                                " is open (its open/ marker is here)")
        else:
            raise
    ws.store.report(problem)
    return damaged_task(wanted, problem)


def tasks(ws, include_closed: bool = False) -> Found:
    store = ws.store
    with store.collecting() as problems:
        out = []
        for task_id in (store.task_ids() if include_closed else store.open_task_ids()):
            try:
                found = store.load_task(task_id)
            except NotFound:
                store.report(Problem(store.marker_path(task_id), None,
                                     "open marker without a task; run `tether index --repair`"))
                continue
            except ParseError as exc:
                store.report(exc.problem)
                continue
            if include_closed or found.status == "open":
                out.append(found)
        return Found(sorted(out, key=lambda t: (t.created, t.id)), problems)


def active_task_id(ws) -> str | None:
    """The task this machine is working on, else the most recently active open task."""
    chosen = ws.store.active_task()
    open_ids = ws.store.open_task_ids()
    if chosen in open_ids:
        return chosen
    best, best_at = None, ""
    for task_id in open_ids:
        latest = latest_checkpoint(ws.store, task_id)
        at = latest.created if latest else ""
        if best is None or at > best_at:
            best, best_at = task_id, at
    return best


def last_closed(ws, with_problems: bool = False):
    """The task completed or archived last (by close_times), None when none is; ``with_problems``:
    (that task, the task files that could not be read)."""
    found = tasks(ws, include_closed=True)
    closed = [t for t in found if t.status != "open"]
    when = close_times(ws, closed)
    last = max((t for t in closed if t.id in when), key=lambda t: (when[t.id], t.id), default=None)
    return (last, found.problems) if with_problems else last


def close_times(ws, closed: list[Task]) -> dict[str, str]:
    """When each of the ``closed`` tasks that can be the one closed last was closed (id -> stamp),
    the same on every clone wherever the repository records it:

    - a task tether closed: its ``closed`` time, in its task file;
    - one marked closed by hand in its task.md (a status, no ``closed``) whose file is as HEAD has
      it: when the commit that last changed the file was made (the close is in it). One walk of
      history for them all, back to the newest of the other times: one last committed before it
      cannot be the last closed and is left out;
    - one marked closed by hand, not committed as it is (a change not committed yet, a file git
      does not track), or any without git to ask: when its file was last written (its mtime: a
      write on this machine, as git wrote no file that differs from HEAD), else its newest
      checkpoint's time, else when it was created (a commit's tree keeps no file times)."""
    times = {t.id: t.closed for t in closed if t.closed}
    by_hand = {ws.store.task_path(t.id): t for t in closed if not t.closed}
    if not by_hand:
        return times
    from ..errors import GitProblem
    from ..gitio import history

    try:
        committed = history.as_committed(ws.root_dir, list(by_hand))
    except GitProblem:  # no repository, no git: the files' own times are all there is
        committed = set()
    for path, found in by_hand.items():
        if path not in committed:
            times[found.id] = _written_at(ws, found)
    if committed:
        newest = max(times.values(), default=None)
        try:
            changed = history.last_commit_times(ws.root_dir, sorted(committed), after=_seconds(newest))
        except GitProblem:
            changed = {path: None for path in committed}
        for path, seconds in changed.items():
            found = by_hand[path]
            times[found.id] = _written_at(ws, found) if seconds is None else _stamp_of(seconds)
    return times


def _written_at(ws, found: Task) -> str:
    modified = ws.store.task_modified(found.id)
    if modified:
        return modified
    newest = latest_checkpoint(ws.store, found.id)
    return newest.created if newest is not None else found.created


def _seconds(stamp: str | None) -> int | None:
    if stamp is None:
        return None
    from ..model import clock

    try:
        return int(clock.parse(stamp).timestamp())
    except ValueError:  # a hand-written time that is none: the walk stops at the newest commit found
        return None


def _stamp_of(seconds: int) -> str:
    import time

    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def require_active(ws) -> str:
    task_id = active_task_id(ws)
    if task_id is None:
        chosen = ws.store.active_task()
        if chosen and chosen not in ws.store.task_ids():
            # Chosen on this machine, gone from the checkout: most often a git checkout of a branch
            # that never had it. Saying "no open task" would send the agent to start the work again.
            folder = ws.store.task_folder_path(chosen)
            raise NotFound(f"there is no open task: the active one, {chosen}, is not in this checkout"
                           f" ({folder}/ is missing: another branch has it, or it was deleted)",
                           hint=f"switch back to the branch that has it; if it was deleted, restore it from the"
                                f" commit before the deletion (`git checkout $(git log -1 --format=%h --diff-filter=D"
                                f" -- {folder})~1 -- {folder}`; not committed yet: `git checkout HEAD -- {folder}`);"
                                f' or start one with `tether task start "TITLE"`')
        if chosen and _reads_open(ws, chosen):
            raise NotFound(f"there is no open task: the active one, {chosen}, is open in its task file but its"
                           f" open marker ({ws.store.marker_path(chosen)}) is missing",
                           hint="run `tether index --repair` to restore the marker")
        # The session that just finished one must not think its work vanished: name the last closed.
        last = last_closed(ws)
        when = f"{last.closed[:16].replace('T', ' ')} UTC" if last and last.closed else "by hand in its task file"
        said = f" ({last.id}, {last.title!r}, was marked {last.status} {when})" if last else ""
        raise NotFound(f"there is no open task{said}",
                       hint=f'start one with `tether task start "TITLE"`' + (
                           f", or `tether task reopen {last.id}` if it is not finished" if last else ""))
    return task_id


def _reads_open(ws, task_id: str) -> bool:
    try:
        return ws.store.load_task(task_id).status == "open"
    except (NotFound, ParseError):
        return False


def switch(ws, task_id: str, found: Task | None = None) -> Task:
    """Make an open task the active one on this machine; a closed one is not worked on.
    ``found``: the task, when the caller has read it."""
    found = found or task(ws, task_id)
    if found.status != "open":
        raise Conflict(f"task {found.id} is {found.status}", hint=f"reopen it with `tether task reopen {found.id}`")
    ws.store.set_active_task(found.id)
    return found


def status(ws, task_id: str | None = None) -> TaskStatus:
    with ws.store.collecting() as problems:
        found = task(ws, task_id)
        names = ws.store.checkpoint_names(found.id)
        resume = resume_of(ws.store, found)
        ws.store.check_journal(found.id, fields=False)
        return TaskStatus(found, resume, names, list(problems))


def progress(ws, found: Task, journal: bool = False) -> Resume:
    """Where ``found`` stands, without making it the active task; with the problems met.
    ``journal``: the task's checkpoint journal read through too, each line that does not read named
    (resume does; boot, the hooks and the task list, which never read it, do not)."""
    with ws.store.collecting() as problems:
        point = resume_of(ws.store, found)
        if journal:
            ws.store.check_journal(found.id, fields=False)
        point.problems = list(problems)
    return point


def find_checkpoint(ws, ref: str, task_id: str | None = None):
    """A checkpoint by 'CKP-0003', '3' or its full name, in a task (default: the active one)."""
    found = task(ws, task_id)
    names = ws.store.checkpoint_names(found.id)
    ref = ref.strip()
    if ref.isdigit():
        ref = f"CKP-{int(ref):04d}"
    matches = [n for n in names if n == ref or n.startswith(ref + "-")]
    if len(matches) > 1:
        raise InvalidInput(f"{ref} is ambiguous in {found.id} (a merge brought two): {', '.join(matches)}",
                           hint="give the full name")
    if not matches:
        raise NotFound(f"no checkpoint {ref} in task {found.id}", hint=f"run `tether task status {found.id}`")
    return ws.store.load_checkpoint(found.id, matches[0])
