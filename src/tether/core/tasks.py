"""Tasks, checkpoints and resume (seed 001): never restart, never lose.

Functions here take a :class:`tether.store.Store` and plain values; they know
nothing of the command line.
"""

from __future__ import annotations

from ..model import clock, ids, ranges
from ..errors import Conflict, InvalidInput, NothingToRecord, ParseError
from ..model.record import REQUIRED, Record
from ..model.records import CHECKPOINT_STATUSES, Checkpoint, Task, checkpoint_number, files_once, format_ranges
from ..store import formats

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..store.files import Store



def _numbers(names: list[str]) -> list[str]:
    r"""The number of each checkpoint name ("CKP-0004-7kq2mx" -> "0004"): what ``^CKP-(\d+)`` (re.M)
    finds over the names joined by newlines, found with str methods (no `re` on a checkpoint)."""
    joined = "\n".join(names)
    lines = names if joined.count("\n") == len(names) - 1 else joined.split("\n")
    heads = [line[4:].partition("-")[0] for line in lines if line[:4] == "CKP-"]
    if "" not in heads and "".join(heads).isdecimal():  # names as the listing gives them: the number is what is before a "-"
        return heads
    found = []
    for line in lines:
        if line[:4] == "CKP-":
            rest = line[4:]
            end = len(rest) - len(rest.lstrip("0123456789"))
            if end < len(rest) and not rest[end].isascii():  # a decimal digit of another script continues it
                while end < len(rest) and rest[end].isdecimal():
                    end += 1
            if end:
                found.append(rest[:end])
    return found


def start_task(store: Store, title: str, *, definition: str = "", criteria: list[str] | None = None,
               steps: list[str] | None = None, items: list[str] | None = None,
               task_id: str | None = None, by: str | None = None) -> Task:
    title = title.strip()
    if not title:
        raise InvalidInput("a task needs a title", hint='tether task start "Process 20 documents"')
    if steps and items:
        raise InvalidInput("give either steps or items, not both",
                           hint="steps are ordered stages; items are a bulk list processed one by one")
    if task_id is not None and not ids.valid_id(task_id):
        raise InvalidInput(f"invalid task id {task_id!r}",
                           hint="use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit (e.g. T004)")
    units = [u.strip() for u in (items or steps or []) if u.strip()]
    now = clock.now()
    task = Task(
        id=task_id or ids.new_id("T", now), title=title, created=clock.stamp(now),
        kind="items" if items else "steps", units=units, definition=definition.strip(),
        criteria=[c.strip() for c in criteria or [] if c.strip()], created_by=by,
    )
    while True:
        try:
            store.create_task(task)
            return task
        except Conflict:
            if task_id is not None:
                raise
            task.id = ids.new_id("T", now)  # a generated id met a local twin: draw again


def damaged_task(task_id: str, problem) -> Task:
    """A stand-in for a task whose task.md does not read (``problem`` says where, its ``damaged``):
    it knows only its id, so a checkpoint is still saved into the task's folder and resume still
    says what the task's checkpoints say. Its title, steps or items and criteria are unknown."""
    task = Task(id=task_id, title=task_id, created="", kind="steps", units=[])
    task.damaged = problem
    return task


def _marked(task: Task, specs: list[str], unresolved: list[str]):
    """The units ``specs`` name, as intervals (select_units). For a damaged task, whose units are
    unknown, numbers and ranges are taken as given (as intervals: `1-99999999` is one) and what
    only its units could resolve (a name, 'all') goes to ``unresolved``."""
    if getattr(task, "damaged", None) is None:
        return ranges.of(select_units(task, specs))
    marked: list = []
    for spec in specs:
        spec = spec.strip()
        try:
            intervals = ranges.parse(spec) if spec.lower() != "all" else None
        except ValueError:
            intervals = None
        if intervals is None:
            unresolved.append(spec)
        else:
            marked = ranges.union(marked, intervals)
    return marked


def select_units(task: Task, specs: list[str]) -> set[int]:
    """Turn '3', '1-5', '2,4', 'all' or a step/item name into unit numbers."""
    total = len(task.units)
    chosen: set[int] = set()
    for spec in specs:
        spec = spec.strip()
        if not spec:
            continue
        if spec.lower() == "all":
            chosen.update(range(1, total + 1))
            continue
        try:
            intervals = ranges.parse(spec)
        except ValueError:
            intervals = None
        if intervals is not None:
            # Checked as intervals, before any set is made: `--done 1-99999999999` is one range, not 10^11 numbers.
            if intervals and intervals[-1][1] > total:
                raise InvalidInput(f"{task.unit_name} {intervals[-1][1]} is out of range: {task.id} has {total} {task.unit_name}s",
                                   hint=f"use numbers from 1 to {total}" if total else "this task has no steps or items")
            chosen |= ranges.numbers(intervals)
            continue
        matches = [n for n, u in enumerate(task.units, 1) if u == spec]
        if not matches:
            matches = [n for n, u in enumerate(task.units, 1) if u.lower() == spec.lower()]
        if not matches and spec.replace("-", "").replace(",", "").replace(" ", "").isdigit():
            raise InvalidInput(f"{spec!r} is not a valid {task.unit_name} range: numbers start at 1 and a range goes"
                               " from low to high", hint=f"e.g. --done 3 or --done 1-{max(total, 2)}")
        if len(matches) != 1:
            what = "no" if not matches else "more than one"
            raise InvalidInput(f"{what} {task.unit_name} of {task.id} is named {spec!r}",
                               hint=f"give its number (1-{total}), a range like 1-5, or its exact name" if total else
                               f"{task.id} has no steps or items to mark done: record where it stands as its state")
        chosen.add(matches[0])
    return chosen


TITLE_SHOWN = 200  # characters of a task's title in where-to-resume lines (`tether task status` shows it whole)


class Resume(Record):
    # next_number: the first unit not done, or None when all are done.
    # unreadable: checkpoints that exist but could not be read (counted only when none could).
    # stale: what the checkpoint's cited code did since ("may be stale: src/a.py changed since"),
    # when the caller asked (Workspace.resume does; boot flags it in its own section).
    # names: the task's checkpoint names, when the caller listed them (resume_of).
    # damaged: the problem of a task file that does not read (the task a stand-in, damaged_task):
    # where the work is comes from the checkpoints alone.
    FIELDS = {"task": REQUIRED, "checkpoint": REQUIRED, "done": REQUIRED, "next_number": REQUIRED,
              "next_actions": list, "unreadable": 0, "problems": list, "stale": None, "names": None,
              "damaged": None}

    @property
    def total(self) -> int:
        return len(self.task.units)

    @property
    def started(self) -> bool:
        return self.checkpoint is not None or bool(self.done) or bool(self.unreadable)

    def message(self) -> str:
        task, ckp = self.task, self.checkpoint
        label = task.unit_name
        title = task.title if len(task.title) <= TITLE_SHOWN else task.title[:TITLE_SHOWN - 1].rstrip() + "…"
        if self.damaged is not None:
            return self._damaged_message()
        if ckp is None and self.unreadable:  # progress exists but cannot be read: never say "start"
            return (f"Cannot tell where {title} ({task.id}) stopped: its {self.unreadable} checkpoint(s)"
                    " could not be read. Next: repair them (see the problems listed); do not start over.")
        where = _where(ckp) if ckp else "no checkpoint yet"
        if task.status != "open":  # nothing to resume until it is reopened: say where it stopped
            done = f" with {len(self.done)} of {self.total} {label}s done" if self.total else ""
            return (f"{title} ({task.id}) is {task.status}{done} ({where}). "
                    f"To continue it: `tether task reopen {task.id}`.")
        if self.total and self.next_number is None:
            head = f"All {self.total} {label}s of {title} ({task.id}) are done ({where})."
        elif self.total:
            verb = "Resuming" if self.started else "Starting"
            head = (f"{verb} {title} ({task.id}) from {label} {self.next_number} of {self.total}"
                    f" ({len(self.done)} done; {where}).")
        else:
            verb = "Resuming" if self.started else "Starting"
            head = f"{verb} {title} ({task.id}) ({where})."
        nxt = self.next_step()
        return f"{head} Next: {nxt}" if nxt else head

    def _damaged_message(self) -> str:
        """Where a task whose file does not read stands, as its checkpoints say: never "start"."""
        task, ckp = self.task, self.checkpoint
        said = f"its task file does not read ({self.damaged.path}" + (
            f":{self.damaged.line}" if self.damaged.line else "") + "): its title, steps or items and criteria are unknown"
        if ckp is None:
            where = (f"its {self.unreadable} checkpoint(s) could not be read either" if self.unreadable
                     else "no checkpoint yet")
            return f"Cannot tell all of where {task.id} stands: {said}, and {where}. Next: fix the task file."
        done = f"done: {ckp.done}" if ckp.done else "nothing marked done"
        head = f"Resuming {task.id} ({_where(ckp)}; {done}); {said}."
        return f"{head} Next: {self.next_actions[0]}" if self.next_actions else f"{head} Next: fix the task file."

    def state_at(self) -> str:
        """Whose the checkpoint's current state is: "CKP-0002", or for an automatic checkpoint carrying
        the agent's own, "CKP-0001 (the agent's own; 2 automatic checkpoints since)"."""
        ckp = self.checkpoint
        if ckp is None:
            return ""
        if not ckp.state_from:
            return ckp.id
        if not ckp.automatic:
            return f"{_own_id(ckp)} (not restated since)"
        count = _automatic_count(ckp)
        since = f"{count} automatic checkpoint{'s' if count > 1 else ''} since"
        noted = getattr(ckp, "noted", None)
        if noted is not None and noted.id != _own_id(ckp):
            return f"{_own_id(ckp)} (the agent's own, not restated at {noted.id}; {since})"
        return f"{_own_id(ckp)} (the agent's own; {since})"

    def next_step(self) -> str:
        if self.next_actions:
            return self.next_actions[0]
        if self.next_number is not None:
            return f"{self.task.unit_name} {self.next_number}: {self.task.units[self.next_number - 1]}"
        if self.total:
            return f"check the success criteria, then mark {self.task.id} complete"
        return ""

    @property
    def files(self) -> list[str]:
        """The newest checkpoint's files modified, each path once (one written before that was so
        may name a path twice: described, and bare)."""
        return files_once(self.checkpoint.files) if self.checkpoint else []

    def parallel_lines(self) -> list[str]:
        """One line per other branch tip a merge left beside the newest checkpoint (two clones
        checkpointed the task in parallel): where that branch stood, which the newest does not say."""
        out = []
        for tip in getattr(self.checkpoint, "parallel", None) or []:
            said = _gist(tip) or "no state given"
            extra = (f"; next: {tip.next[0]}" if tip.next else "") + (f"; files: {'; '.join(files_once(tip.files))}"
                                                                        if tip.files else "")
            out.append(f"Also {tip.id} ({tip.name}, session {tip.session or 'unknown'}, a merged branch's"
                       f" end): {said}{extra}")
        return out

    def to_dict(self) -> dict:
        ckp = self.checkpoint
        return {
            "task": self.task.id, "title": self.task.title, "kind": self.task.kind, "total": self.total,
            "done": len(self.done), "done_ranges": format_ranges(self.done),
            # a task file that does not read: its units are unknown; what the checkpoint marked is all there is
            "damaged": None if self.damaged is None else self.damaged.to_dict(),
            **({} if self.damaged is None else {
                "done_ranges": ckp.done if ckp else "",
                "done": ranges.count(ranges.parse(ckp.done)) if ckp and ckp.done else 0}),
            "next_number": self.next_number,
            "next_unit": self.task.units[self.next_number - 1] if self.next_number else None,
            "next_actions": self.next_actions,
            "checkpoint": ckp.id if ckp else None, "checkpoint_name": ckp.name if ckp else None,
            "checkpoint_created": ckp.created if ckp else None,
            "current_state": ckp.current_state if ckp else None,
            "state_from": _own_id(ckp) if ckp and ckp.state_from else None,
            # the agent's own newest checkpoint, which gave no state, when automatic ones followed it
            "note_from": f"CKP-{checkpoint_number(ckp.note_from):04d}" if ckp and ckp.automatic and ckp.note_from
            and checkpoint_number(ckp.note_from) >= 0 else None,
            "criteria": list(self.task.criteria), "files": self.files,
            "results": list(ckp.results) if ckp else [],
            "anchors": dict(ckp.anchors) if ckp and ckp.anchors else {},
            "stale": self.stale,
            "parallel": [{"checkpoint": t.id, "name": t.name, "session": t.session, "current_state": t.current_state,
                          "next_actions": list(t.next), "files": files_once(t.files), "note": t.note}
                         for t in getattr(ckp, "parallel", None) or []],
            "message": self.message(),
        }


def checkpoint_label(ckp: Checkpoint) -> str:
    """A checkpoint's id, marked when it was made automatically, with its time: never taken for the
    agent's own record of new progress."""
    if not ckp.automatic:
        return ckp.id
    when = formats.automatic_when(ckp.automatic)
    return f"{ckp.id} (automatic, {when}, {ckp.created[11:16]} UTC)"


def nothing_since(task: Task, previous: Checkpoint | None, now=None) -> str:
    """What an automatic checkpoint says instead of copying one under a new number."""
    if previous is None:
        return f"no progress recorded on {task.id} yet"
    return f"no progress recorded since {previous.id}, {clock.ago(previous.created, now or clock.now())}"


def automatic_checkpoint(store: Store, task: Task, trigger: str, instructions: str, recorded_since,
                         session: str | None = None, device: str | None = None,
                         kind: str = "pre_compact", last_message: tuple[str, str | None] | None = None,
                         clean=None) -> tuple[Checkpoint | None, str]:
    """The checkpoint made before a context compaction (``kind`` ``"pre_compact"``) or when the context
    is nearly full (``"context"``): (checkpoint or None, what to say).

    It records only what is new: the decisions and entries recorded after the last checkpoint
    (``recorded_since(name, stamp)`` lists them) and ``last_message``, the agent's newest message
    and when it was written (last_words.last_assistant_message), when it is newer than that
    checkpoint and not in its note already (``clean(text)``: the message as a committed file may hold
    it, secrets and private paths taken out). With nothing new, no checkpoint is made and the answer
    says since when. Otherwise the previous checkpoint's state, next actions, status, files and
    results are kept, the new one is marked automatic, and its note says what was new.
    """
    previous = latest_checkpoint(store, task.id)
    recorded = recorded_since(previous.name if previous else None, previous.created if previous else task.created)
    message = _newer_message(last_message, previous, task, clean)
    if not recorded and not message:
        return None, nothing_since(task, previous)
    since = f" since {previous.id}" if previous else ""
    note, said = "", []
    if recorded:
        note = f"Recorded{since}: {', '.join(recorded[:10])}" + (f" and {len(recorded) - 10} more" if len(recorded) > 10 else "") + "."
        said.append(f"{len(recorded)} record(s)")
    if message:
        note += f" {LAST_MESSAGE}{message}"
        said.append("the agent's last message")
    if instructions.strip():  # the user's words: committed as the agent's message is (clean)
        note += f" Compaction instructions: {(clean(instructions) if clean is not None else instructions).strip()}"
    state, state_from, note_from = own_state(store, task, previous)
    ckp = checkpoint(store, task, state=state, next_actions=list(previous.next) if previous else [],
                     status=previous.status if previous else "in_progress", note=note,
                     session=session, device=device, automatic=f"{kind}:{trigger}", carry=True,
                     anchors=dict(previous.anchors) if previous else None, state_from=state_from,
                     note_from=note_from)
    return ckp, f"automatic checkpoint {ckp.id} ({' and '.join(said)}{since})"


def _newer_message(last_message: tuple[str, str | None] | None, previous: Checkpoint | None, task: Task,
                   clean=None, repeat: bool = False) -> str:
    """The agent's message as a note keeps it (``plain``) when it was written after ``previous``
    (or the task's start), else "". Stamps have whole seconds: a message in the checkpoint's second
    counts, unless the checkpoint's note holds it already (an automatic one made then). A message
    without a time is not known to be newer."""
    if not last_message or not last_message[0] or not last_message[1]:
        return ""
    text, at = last_message
    try:
        written = clock.parse(at).replace(microsecond=0)
        newer = written >= clock.parse(previous.created if previous else task.created)
    except ValueError:
        return ""
    if not newer:
        return ""
    message = plain(clean(text) if clean is not None else text)
    if not repeat and previous is not None and message in previous.note:
        return ""
    return message


MESSAGE_LIMIT = 300  # characters of the agent's last message an automatic checkpoint's note keeps
LAST_MESSAGE = "The agent's last message: "  # how a note introduces it (the brief keeps it when it clips one)


def own_state(store: Store, task: Task, previous: Checkpoint | None) -> tuple[str, str | None, str | None]:
    """The current state the agent itself last wrote, the name of the checkpoint it wrote it at,
    and the name of the agent's newest checkpoint when that one gave no state (a note, next steps:
    it stays in view, and the automatic ones are counted from it): an automatic checkpoint carries
    them, never a state of its own making. One written before automatic checkpoints said whose
    state they carry is looked for among the older ones."""
    if previous is None:
        return "", None, None
    if not previous.automatic:  # the agent's own newest (one that gave no state carries an older one's)
        noted = previous.name if previous.state_from or (previous.note and not previous.current_state) else None
        return previous.current_state, previous.state_from or previous.name, noted
    if previous.state_from:
        return previous.current_state, previous.state_from, previous.note_from
    names = store.checkpoint_names(task.id)
    older = names[:names.index(previous.name)] if previous.name in names else names
    for name in reversed(older):
        ckp = _load_or_report(store, task.id, name)
        if ckp is not None and not ckp.automatic:
            return ckp.current_state, ckp.name, None
    return "", None, None


def plain(text: str, limit: int = MESSAGE_LIMIT, end: bool = False) -> str:
    """A message as one plain line: markdown's bold, headings and list marks dropped, its lines
    joined, cut at ``limit`` characters; ``end``: its end kept instead (where a reply says where
    the work stands), from the first sentence, else the first word, that begins in it. A lone
    surrogate (JSON's "\\ud800", left where an agent cut a string between the halves of a pair)
    becomes U+FFFD: the line is stored as UTF-8, which has no spelling for it."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = "".join("\ufffd" if "\ud800" <= c <= "\udfff" else c for c in text)
    parts = []
    # `**` only: `__` is as often part of a name (`Tokenizer.__init__`) as emphasis
    for line in text.replace("**", "").splitlines():
        line = line.strip().lstrip("#").strip()
        if line[:2] in ("- ", "* ", "+ "):
            line = line[2:].strip()
        if line:
            parts.append(line)
    out = ""
    for line in parts:
        out += ("" if not out else " " if out[-1] in ".:;!?" else "; ") + line
    out = " ".join(out.split())
    if len(out) <= limit:
        return out
    if not end:
        return out[: limit - 1].rstrip() + "…"
    tail = out[-(limit - 1):]
    if out[-limit] != " ":  # begun mid-word: from the next word
        tail = tail.partition(" ")[2] or tail
    for at, char in enumerate(tail[:-1]):
        if char in ".!?" and tail[at + 1] == " " and tail[at + 2:].strip():
            tail = tail[at + 2:]  # from the next sentence: the first one begun in the tail
            break
    return "…" + tail


def trail_checkpoint(store: Store, task: Task, calls: list[dict], recorded_since, *, every: int,
                     risky: str | None = None, command: str | None = None,
                     last_message: tuple[str, str | None] | None = None,
                     anchor=None, clean=None, session: str | None = None, device: str | None = None
                     ) -> tuple[Checkpoint | None, str, list[dict]]:
    """The checkpoint the tool-call hooks make (seed 001: every few tool calls, and before a risky
    operation): (checkpoint or None, what to say, the calls still to count).

    ``calls``: the session's trail (core.tool_trail entries); those before the task's newest
    checkpoint are already covered by it (the agent checkpointed by hand). Due when ``every`` calls
    followed it, or at once before a ``risky`` command. Only what is new is recorded: with no call
    that changed anything and no decision or entry since, no checkpoint is made. The new one keeps
    the previous checkpoint's progress, next actions, files and results and the current state the
    agent last wrote itself (``own_state``), adds the files the edit tools changed, and is marked
    automatic; its note says why (before a ``risky`` one: what makes it risky and the ``command``,
    one line, cut at COMMAND_LIMIT, through ``clean``) and what it saw: the calls, the records, the agent's last message
    (``last_message``: its text and time, kept shortened when written since the last checkpoint,
    through ``clean`` as in automatic_checkpoint). ``anchor(edited, texts, previous_anchors)``: the anchors it
    pins (the caller's, as it knows the working tree), only called when a checkpoint is made.
    """
    from . import tool_trail

    previous = latest_checkpoint(store, task.id)
    # Stamps have whole seconds: a call in the checkpoint's second is counted, not dropped.
    since = [c for c in calls if previous is None or c["at"] >= previous.created]
    if risky is None and len(since) < every:
        return None, f"{len(since)} of {every} tool calls since {previous.id if previous else 'the start'}", since
    recorded = recorded_since(previous.name if previous else None, previous.created if previous else task.created)
    if not tool_trail.changes(since) and not recorded:
        return None, nothing_since(task, previous), [] if risky is None else since
    note = tool_trail.note(since, previous.id if previous else None) if since else ""
    if recorded:
        note += f" Recorded: {', '.join(recorded[:10])}" + (f" and {len(recorded) - 10} more" if len(recorded) > 10 else "") + "."
    said = note.strip()
    if risky:
        shown = command_line(command, clean)
        why = f"before a risky command ({risky})" + (f": `{shown}`" if shown else "")
        note, said = f"Made {why}. {note}", f"{why}; {said}" if said else why
    state, state_from, note_from = own_state(store, task, previous)
    # Kept while the agent has not checkpointed since saying it (the brief shows the newest
    # automatic checkpoint's note): compared with the agent's own newest checkpoint, not the automatic ones.
    own_name = note_from or state_from
    own = _load_or_report(store, task.id, own_name) if previous is not None and previous.automatic and own_name \
        else previous
    message = _newer_message(last_message, own, task, clean, repeat=True)
    if message:
        note += f" {LAST_MESSAGE}{message}"
    edited = tool_trail.files(since)
    next_actions = list(previous.next) if previous else []
    anchors = dict(previous.anchors) if previous else {}
    if anchor is not None:
        anchors = anchor(edited, [state], anchors)  # as for the agent's own: not the files it means to change next
    ckp = checkpoint(store, task, state=state, files=edited, next_actions=next_actions,
                     status=previous.status if previous else "in_progress", note=note.strip(),
                     session=session, device=device, carry=True, anchors=anchors, state_from=state_from,
                     note_from=note_from, automatic=f"before_risky:{risky}" if risky else f"tool_calls:{len(since)}")
    return ckp, f"automatic checkpoint {ckp.id} " + (said if risky else f"({said})"), []


COMMAND_LIMIT = 160  # characters of a risky command a safety checkpoint's note and message keep
_COMMAND_READ = 4000  # characters of it redacted: a secret is whole there, a command of megabytes is not read


def command_line(command: str | None, clean=None) -> str:
    """A shell command as a note keeps it: its credentials hidden (tool_trail.hide_credentials), through
    ``clean`` (secrets redacted, paths as committed),
    on one line, cut at COMMAND_LIMIT characters; "" for none."""
    if not isinstance(command, str) or not command.strip():
        return ""
    from .tool_trail import hide_credentials

    text = hide_credentials(command[:_COMMAND_READ])
    text = " ".join((clean(text) if clean is not None else text).split())
    return text if len(text) <= COMMAND_LIMIT else text[: COMMAND_LIMIT - 1].rstrip() + "…"


def _own_id(ckp: Checkpoint) -> str:
    return f"CKP-{checkpoint_number(ckp.state_from):04d}" if checkpoint_number(ckp.state_from) >= 0 else ckp.state_from


def _automatic_count(ckp: Checkpoint) -> int:
    """The automatic checkpoints since the agent's own newest (its note's, else its state's)."""
    return max(ckp.number - checkpoint_number(ckp.note_from or ckp.state_from), 1)


def _automatic_since(ckp: Checkpoint) -> str:
    """"2 automatic checkpoints since, the newest CKP-0003 (...)": counted by number, which a merge of
    parallel checkpoints may make approximate."""
    count = _automatic_count(ckp)
    label = checkpoint_label(ckp).removeprefix(ckp.id).strip(" ()").removeprefix("automatic, ")
    if count == 1:
        return f"1 automatic checkpoint since: {ckp.id} ({label})"
    return f"{count} automatic checkpoints since, the newest {ckp.id} ({label})"


def _where(ckp: Checkpoint) -> str:
    """Where the task stopped, for resume and the brief: an automatic checkpoint that carries the
    agent's own state names the agent's checkpoint first, then what followed it."""
    if ckp.automatic and ckp.state_from:
        gist = _gist(ckp, state_only=True)
        noted = getattr(ckp, "noted", None)  # the agent's newest said only a note: it stays in view
        if noted is not None:
            said = _gist(noted, note_only=True)
            head = f"last checkpoint {noted.id}" + (f": {said}" if said else "") + (
                f"; state as at {_own_id(ckp)}: {gist}" if gist else "")
        else:
            head = f"last checkpoint {_own_id(ckp)}" + (f": {gist}" if gist else "")
        return f"{head}; {_automatic_since(ckp)}"
    if ckp.state_from:  # the agent's own checkpoint, which kept an earlier state: its note first
        said, gist = _gist(ckp, note_only=True), _gist(ckp, state_only=True)
        return f"last checkpoint {ckp.id}" + (f": {said}" if said else "") + f"; state as at {_own_id(ckp)}: {gist}"
    gist = _gist(ckp)
    return f"last checkpoint {checkpoint_label(ckp)}" + (f": {gist}" if gist else " (no state given)")


def _gist(ckp: Checkpoint, width: int = 120, state_only: bool = False, note_only: bool = False) -> str:
    # A status says something only when it is not the default one (blocked, completed).
    status = ckp.status if ckp.status and ckp.status != "in_progress" else ""
    text = ckp.current_state if state_only else ckp.note or status if note_only else \
        ckp.current_state or ckp.note or status
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def resume_point(task: Task, checkpoint: Checkpoint | None, unreadable: int = 0) -> Resume:
    total = len(task.units)
    # Clipped before it becomes a set: a hand-edited `done: "1-999999999"` must not fill the memory.
    done = ranges.numbers(ranges.clip(ranges.parse(checkpoint.done), 1, total)) if checkpoint else set()
    pending = next((n for n in range(1, total + 1) if n not in done), None)
    actions = list(checkpoint.next) if checkpoint else []
    return Resume(task, checkpoint, done, pending, actions, unreadable, damaged=getattr(task, "damaged", None))


def latest_checkpoint(store: Store, task_id: str, names: list[str] | None = None) -> Checkpoint | None:
    """The newest readable checkpoint, with the progress of every branch tip.

    Corrupt newer checkpoints become problems and an older one is used.
    When a merge brought parallel checkpoints (two branches each added
    CKP-0004 to this task; their numbers collide, their names do not),
    the tips, checkpoints no later one names as a parent, are combined:
    the newest tip is returned with the union of the tips' done items,
    and ``.tips`` names them all so the next checkpoint joins them.
    ``names`` is ``store.checkpoint_names(task_id)`` when the caller has it.
    """
    if store.restore_lost_checkpoints(task_id):
        names = None  # files were written again: list them anew
    return newest_of(store, task_id, store.checkpoint_names(task_id) if names is None else names)


def newest_of(store: Store, task_id: str, names: list[str]) -> Checkpoint | None:
    """latest_checkpoint over ``names``, without the crash check (the caller holds the task's lock)."""
    newest = None
    for name in reversed(names):
        newest = _load_or_report(store, task_id, name)
        if newest is not None:
            break
    if newest is None:
        return None
    newest.tips = [newest.name]
    numbers = _numbers(names)
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
             for c in [_load_or_report(store, task_id, n)] if c is not None]
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
    head.parallel = [t for t in tips if t is not head]  # the other branches' ends: their state is shown too
    return head


def _load_or_report(store: Store, task_id: str, name: str) -> Checkpoint | None:
    """A checkpoint; one whose file does not read is reported, and taken as its journal line
    recorded it (built on an older one, the next checkpoint would drop its progress); None when
    the journal has no line for it either."""
    try:
        return store.load_checkpoint(task_id, name)
    except ParseError as exc:  # report it, let the caller fall back
        store.report(exc.problem)
        return store.recorded_checkpoint(task_id, name)


def resume_of(store: Store, task: Task) -> Resume:
    """Where to continue ``task``: its newest readable checkpoint (bad ones become problems), with
    the names of its checkpoints (``names``), listed once."""
    store.restore_lost_checkpoints(task.id)  # as latest_checkpoint does, before the names are listed
    names = store.checkpoint_names(task.id)
    latest = newest_of(store, task.id, names)
    if latest is not None and latest.automatic and latest.note_from:
        latest.noted = _load_or_report(store, task.id, latest.note_from)
    point = resume_point(task, latest, len(names) if latest is None else 0)
    point.names = names
    return point


def checkpoint(store: Store, task: Task, *, done: list[str] | None = None, undone: list[str] | None = None,
               state: str = "", key_data: dict[str, str] | None = None, files: list[str] | None = None,
               next_actions: list[str] | None = None, note: str = "", status: str = "in_progress",
               results: dict[str, bytes | tuple[bytes, int]] | None = None, session: str | None = None,
               device: str | None = None, automatic: str | None = None, carry: bool = False,
               anchors: dict[str, str] | None = None, state_from: str | None = None,
               note_from: str | None = None) -> Checkpoint:
    """Save a numbered checkpoint; progress accumulates from the previous one.

    ``carry``: keep the previous checkpoint's files too (an automatic checkpoint adds none). Results
    saved at earlier checkpoints are always kept: the newest lists every one so far.

    ``results``: name -> bytes, or (bytes, permission bits) to store a copy no more open than
    its source (``tether checkpoint --result NAME=@FILE`` passes the file's).

    A checkpoint that gives no state and marks nothing done or undone (a note, a file, key data)
    keeps the previous one's state and next actions, marked with ``state_from``: each checkpoint
    says where the work stands, and a note never takes the place of the state.
    """
    if task.status != "open":
        raise Conflict(f"task {task.id} is {task.status}", hint=f"reopen it with `tether task reopen {task.id}`")
    if status not in CHECKPOINT_STATUSES:
        raise InvalidInput(f"invalid status {status!r}", hint=f"use one of: {', '.join(CHECKPOINT_STATUSES)}")
    if automatic is None and status == "in_progress" and not any(
            (done, undone, state.strip(), key_data, files, [a for a in next_actions or [] if a.strip()],
             note.strip(), results, anchors)):
        # Nothing new: a numbered copy of the last checkpoint would pass for progress.
        raise NothingToRecord(f"a checkpoint of {task.id} needs something to record",
                           hint="give where it stands (its state), what is done, what comes next, or a note")
    # What only a damaged task's unknown units would resolve (a name): kept in the note, never dropped.
    unresolved_done: list[str] = []
    unresolved_undone: list[str] = []
    newly_done = _marked(task, [s for s in done or [] if s.strip()], unresolved_done)
    newly_undone = _marked(task, [s for s in undone or [] if s.strip()], unresolved_undone)
    if unresolved_done or unresolved_undone:
        said = f"not counted, as {task.id}'s task file did not read: " + "; ".join(
            f"{what} {', '.join(map(repr, specs))}" for what, specs in (("done", unresolved_done),
                                                                        ("undone", unresolved_undone)) if specs)
        note = f"{note.strip()} ({said})" if note.strip() else said[0].upper() + said[1:]
    result_paths = [store.save_result(task.id, name, *(data if isinstance(data, tuple) else (data,)))
                    for name, data in (results or {}).items()]
    created = clock.stamp()
    pairs = {str(k): str(v) for k, v in (key_data or {}).items()}  # records hold text: read back, it is checked

    restated = bool(state.strip()) or bool(newly_done) or bool(newly_undone) or automatic is not None

    def build(previous: Checkpoint | None, number: int, name: str) -> Checkpoint:
        # Read-modify-write under the task lock: keeps concurrent progress.
        so_far = ranges.parse(previous.done) if previous else []
        merged_key_data = dict(previous.key_data) if previous else {}
        merged_key_data.update(pairs)
        now_state, now_from, now_next = state, state_from, next_actions
        if not restated and previous is not None:
            if previous.current_state:
                now_state, now_from = previous.current_state, previous.state_from or previous.name
            now_next = next_actions or list(previous.next)
            carried_anchors = {**previous.anchors, **(anchors or {})}
        else:
            carried_anchors = dict(anchors or {})
        return Checkpoint(
            id=f"CKP-{number:04d}", name=name, task=task.id, number=number, created=created,
            status=status, done=ranges.fmt(ranges.subtract(ranges.union(so_far, newly_done), newly_undone)),
            current_state=now_state.strip(), key_data=merged_key_data,
            files=files_once((list(previous.files) if (carry or not restated) and previous else [])
                             + [str(f) for f in files or []]),
            next=[a for a in (now_next or []) if a.strip()], note=note.strip(),
            # Every result saved so far: the task's outputs are consolidated from all of them at its end.
            results=list(dict.fromkeys((list(previous.results) if previous else []) + result_paths)),
            device=device, session=session, parents=list(getattr(previous, "tips", None) or []),
            automatic=automatic, anchors=carried_anchors, state_from=now_from,
            note_from=note_from if automatic else None,
        )

    return store.add_checkpoint(task.id, lambda names: newest_of(store, task.id, names), build,
                                lambda c: formats.checkpoint_text(c, task))


def set_status(store: Store, task: Task, status: str) -> Task:
    task.status = status
    task.closed = None if status == "open" else clock.stamp()
    store.save_task(task)
    return task
