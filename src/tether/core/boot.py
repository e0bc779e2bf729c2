"""Boot (seed 002): the readiness brief a new session starts from.

Boot reconstructs the state from the repository (the working tree, or one
commit's tree with ``sha``) and declares readiness within a token budget.
Its cost depends on open tasks, live context entries and the budget, never on
history: it lists ``open/`` instead of every task, reads one checkpoint per
open task (a few more, halving its history, for the first one checkpointed since
the last close: where that unclosed work starts), the newest decisions by name until they would fill the configured
budget on their own (a window: the ones it did not read are counted, not
shown), and the tail of the event log (who recorded what since the last close).
Sections have no fixed caps: they fill by priority until the budget is spent (core.brief). The brief is kept per
machine (warm.brief_cache) and reused while nothing it read has changed.
"""

from __future__ import annotations


from ..errors import GitProblem, NotFound, ParseError, Problem
from ..model.config import Config
from ..model.ids import one_off
from ..model.record import REQUIRED, Record
from ..model.records import checkpoint_number
from ..store import layout
from ..store.eventlog import CHECKED_LINES
from ..store.files import Store
from ..model.tokens import estimate
from . import commit_lines
from .brief import Brief, for_session, from_cache, from_content, to_content, with_setup, with_stale
from .sections import decision_line, sections
from .tasks import Resume, resume_of



class Snapshot(Record):
    """Everything a brief says, gathered once; render it at any budget.

    source is "worktree" or "commit"; changed lists tether files that differ
    from HEAD (None when not checked); tasks are Resume points, newest first.
    """

    FIELDS = {"source": REQUIRED, "sha": REQUIRED, "branch": REQUIRED, "changed": REQUIRED, "config": REQUIRED,
              "latest": REQUIRED, "latest_source": REQUIRED, "tasks": REQUIRED, "active": REQUIRED,
              "decisions": REQUIRED, "decisions_total": REQUIRED, "notes": REQUIRED, "problems": list,
              "prime": None, "campaigns": list, "packets": list, "audit": None, "relevant": list,
              "relevant_source": None, "since_close": list, "recorded_since_close": list, "chosen": None,
              "pins": list}
    # chosen: the task this machine chose, when it is not open here (closed, or on another branch)
    # and ``active`` stands in for it

    def to_dict(self) -> dict:
        """Plain values: boot's --json fields (and what the warm-boot cache keeps)."""
        return {
            "source": self.source, "sha": self.sha, "branch": self.branch, "changed": self.changed,
            "latest": self.latest, "latest_source": self.latest_source, "active": self.active,
            "tasks": [r.to_dict() for r in self.tasks],
            "decisions": [dict(d.__dict__) for d in self.decisions], "decisions_total": self.decisions_total,
            "notes": [n.to_dict() for n in self.notes], "reading_order": self.config.reading_order,
            "problems": [p.to_dict() for p in self.problems], "campaigns": self.campaigns,
            "packets": self.packets, "audit": self.audit, "relevant": self.relevant,
            "relevant_source": self.relevant_source, "since_close": self.since_close,
            "recorded_since_close": self.recorded_since_close, "chosen": self.chosen, "pins": self.pins,
            "long_break": {"since": (self.latest or {}).get("generated_at") or (self.latest or {}).get("date"),
                           "days": self.config.long_break_days},
        }


def _latest_progress(store: Store) -> tuple[dict | None, str | None]:
    try:
        latest = store.read_latest()
    except ParseError as exc:
        store.report(exc.problem)
        latest, missing = None, False
    else:
        if latest is not None:
            newer = newer_close(store, latest.to_dict())
            if newer is None:
                return latest.to_dict(), store.latest_path()
            store.report(cut_short(store, newer))  # the log's close is the last one: shown, and named
            return {key: newer[key] for key in ("date", "file", "summary", "next_steps", "generated_at")}, newer["file"]
        missing = True
    dates = store.progress_dates()
    if not dates:
        return None, None
    if missing:  # logs exist, so a close wrote LATEST.json once: its loss is a problem to name
        store.report(Problem(store.latest_path(), None,
                             "missing; using the newest dated log (the next `tether close` rewrites it)"))
    text = (store.read_progress(dates[-1]) or b"").decode("utf-8", "replace")
    closes = closes_logged(text)
    if not closes:
        summary, next_steps = (text.strip().splitlines() or [""])[-1], []
    else:
        newest = max(closes, key=lambda c: (c["time"], c["order"]))
        summary, next_steps = newest["summary"], newest["next_steps"]
    shown = store.progress_path(dates[-1])
    return {"date": dates[-1], "file": shown, "summary": summary, "next_steps": next_steps}, shown


def closes_logged(text: str) -> list[dict]:
    """The closes a dated progress log holds, in the file's order: {"time" (its heading's "HH:MM"),
    "session", "sha" (as the heading abbreviates it, or None), "summary", "completed" (task ids),
    "next_steps", "order"}. The newest is the latest by its time, not by its place: a union merge
    of two branches' logs puts one side's sections after the other's, whatever their times."""
    import re

    out = []
    for order, block in enumerate(text.split("\n## ")[1:]):
        lines = block.splitlines()
        session, sha = None, None
        rest = lines[0][5:].removeprefix(" UTC")
        if rest.startswith(", session "):
            session, mark, tail = rest[len(", session "):].rpartition(", commit ")
            if not mark or not re.fullmatch(r"[0-9a-f]{4,64}", tail):
                session, sha = rest[len(", session "):], None
            else:
                sha = tail
        summary, completed, steps, in_steps = "", [], [], False
        for line in lines[1:]:
            if line.startswith("**Summary:**"):
                summary = line.split("**Summary:**", 1)[1].strip()
            elif line.startswith("**Completed:**"):  # "T1 (its title), T2 (...)"
                completed = re.findall(r"(?:^|\), )([^\s(),]+) \(", line.split("**Completed:**", 1)[1].strip())
            in_steps = line.startswith("**Next steps:**") or (in_steps and line.startswith("- "))
            if in_steps and line.startswith("- "):
                steps.append(line[2:].strip())
        out.append({"time": lines[0][:5], "session": session, "sha": sha, "summary": summary,
                    "completed": completed, "next_steps": steps, "order": order})
    return out


def newer_close(store: Store, latest: dict) -> dict | None:
    """The newest close of the newest dated progress log when LATEST.json (``latest``) names an
    older one: a close cut short after it appended its section and before it rewrote LATEST.json
    (or a merge that kept the older LATEST.json). The close's entry (closes_logged) with "date",
    "file" and "generated_at": the log keeps its minute only, taken at its last second (a
    checkpoint made in that minute counts as made before it). None when LATEST.json names the
    newest: closes of LATEST.json's minute count as its own when one of them has its session or
    its summary (a close run again after it stopped half-way takes the section it finds, whose
    session may be another process's); two branches' closes of one minute, merged, are not told
    apart, nor two of one session."""
    import re

    dates = store.progress_dates()
    named = str(latest.get("date") or "")
    if not dates or dates[-1] < named:
        return None
    date = dates[-1]
    closes = [c for c in closes_logged((store.read_progress(date) or b"").decode("utf-8", "replace"))
              if re.fullmatch(r"\d\d:\d\d", c["time"])]  # a section tether wrote: its time is known
    if not closes:
        return None
    newest = max(closes, key=lambda c: (c["time"], c["order"]))
    stamp = latest.get("generated_at")
    minute = None
    if stamp is not None:
        if not isinstance(stamp, str) or not re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d", stamp) or stamp[:10] != named:
            return None  # a time that is not one (named as such): nothing to compare with
        minute = stamp[11:16]
    if minute is None:  # a LATEST.json without its time: only a later day's close is known to be newer
        if date == named:
            return None
    elif (date, newest["time"]) < (named, minute):
        return None
    elif (date, newest["time"]) == (named, minute) and any(
            c["time"] == minute and (c["session"] == latest.get("session") or c["summary"] == latest.get("summary"))
            for c in closes):
        return None
    return {**newest, "date": date, "file": store.progress_path(date), "generated_at": f"{date}T{newest['time']}:59Z"}


def cut_short(store: Store, newer: dict) -> Problem:
    """The problem boot and verify name for newer_close's close."""
    who = f", session {newer['session']}" if newer["session"] else ""
    return Problem(store.latest_path(), None,
                   f"names an older close than {newer['file']} ({newer['time']} UTC{who}): a close cut short before"
                   " it rewrote LATEST.json, or a merge that kept the older one; boot shows the log's close; run"
                   " `tether index --repair` to rebuild LATEST.json from it")


def gather(store: Store, config: Config, *, source: str, sha: str | None, branch: str | None,
           changed: list[str] | None, active_hint: str | None) -> Snapshot:
    for problem in config.problems():  # unknown keys: a typo keeps a default silently otherwise
        store.report(problem)
    store.problems.extend(config.problems())  # unknown keys: a typo keeps a default silently otherwise
    latest, latest_source = _latest_progress(store)
    resumes: list[Resume] = []
    unreadable: list[str] = []
    for task_id in store.open_task_ids():
        try:
            task = store.load_task(task_id)
        except NotFound:
            store.report(Problem(store.marker_path(task_id), None, "open marker without a task"))
            continue
        except ParseError as exc:
            store.report(exc.problem)
            unreadable.append(task_id)
            continue
        if task.status != "open":
            store.report(Problem(store.marker_path(task_id), None,
                                 f"marker says open but the task is {task.status}; run `tether index --repair`"))
            continue
        resumes.append(resume_of(store, task))
    # Active: this machine's choice, else the task with the newest checkpoint.
    resumes.sort(key=lambda r: (r.checkpoint.created if r.checkpoint else r.task.created, r.task.id), reverse=True)
    ids = [r.task.id for r in resumes]
    # A chosen task whose file does not read stays the active one: the next `tether checkpoint` is
    # saved to it and `tether resume` reads its checkpoints, so the brief must not point at another task.
    active = active_hint if active_hint in ids or active_hint in unreadable else (ids[0] if ids else None)
    chosen = active_hint if active_hint and active != active_hint and active else None
    # The active task leads the list, so a capped or budgeted brief always shows its resume line.
    resumes.sort(key=lambda r: r.task.id != active)
    decision_ids = store.decision_ids()
    decisions = read_decisions(store, config.budget, decision_ids)
    open_ids = set(ids)
    # An entry of a task that is no longer open retired with it (close and `task complete` resolve
    # it; a merge may bring the task's completion without the resolution).
    notes = [n for n in store.notes() if not n.resolved and (n.task is None or n.task in open_ids)]
    since_close = _since_close(store, resumes, latest)
    prime = store.read_prime()
    from ..compaction.pins import current

    pins = current(store.pin_entries())  # what must never be lost: a new session needs it as a compacted one does
    campaigns = _campaigns(store)
    packets = _new_packets(store, resumes, latest)
    audit = _audit_findings(store)
    from .relevance import relevant

    older, older_source = relevant(store, resumes, active, decisions, notes)
    text = _check_context_document(store, config)
    if text and all(p in config.problems() for p in store.problems):  # a damaged record is the problem to name
        _check_document_sections(store, config, text, latest if latest_source == store.latest_path() else None,
                                 [r.task for r in resumes], decisions, notes)
    # A torn or bad line near the log's end is a problem to name; who recorded what since the close is said.
    recorded = _recorded_since_close(store.newest_events(CHECKED_LINES), latest, since_close)
    return Snapshot(source=source, sha=sha, branch=branch, changed=changed, config=config, latest=latest,
                    latest_source=latest_source, tasks=resumes, active=active, decisions=decisions,
                    decisions_total=len(decision_ids), notes=notes, problems=list(store.problems),
                    prime=prime.decode("utf-8", "replace") if prime is not None else None, campaigns=campaigns,
                    packets=packets, audit=audit, relevant=older, relevant_source=older_source,
                    since_close=since_close, recorded_since_close=recorded, chosen=chosen, pins=pins)


def _since_close(store: Store, resumes: list[Resume], latest: dict | None) -> list[dict]:
    """The checkpoints of each open task made after the last close (every one when no close is
    recorded): work a session did and never closed (it crashed, or is still running), which the
    close's summary and next steps know nothing of. One row per task, active first: {"task",
    "first", "newest", "count", "at", "session", "automatic"}. Only the first row's are counted
    (``first`` and ``count``; None for the others, or when a damaged checkpoint hides where they
    start), by halving the task's checkpoints by their time: a few reads, whatever the history or
    the number of open tasks. A close whose time is unknown (no LATEST.json) is compared with
    nothing."""
    closed = "" if latest is None else latest.get("generated_at")
    if not isinstance(closed, str) or (latest is not None and not closed):
        return []
    closer = None if latest is None else latest.get("session")
    out = []
    for r in resumes:
        newest = r.checkpoint
        if newest is None or not after_close(newest.created, newest.session, closed, closer):
            continue
        first = count = None
        if not out:
            names = r.names if r.names is not None else store.checkpoint_names(r.task.id)
            last = names.index(newest.name) if newest.name in names else len(names) - 1
            found = _first_after(store, r.task.id, names, last, closed, closer)
            if found is not None:
                first, count = _ckp_id(names[found]), last - found + 1
        out.append({"task": r.task.id, "first": first, "newest": newest.id, "count": count,
                    "at": newest.created, "session": newest.session, "automatic": newest.automatic})
    return out


def after_close(at, session, closed: str, closer) -> bool:
    """Whether what ``session`` did at ``at`` came after the close made at ``closed`` by ``closer``.
    Times are kept to the second (stamps of one form: their order is the text's); in the close's
    own second, what another session did is taken as after it (a session closes its own work, and
    the closing one's checkpoints come before its close)."""
    if not isinstance(at, str):
        return False
    return at > closed or (at == closed and isinstance(session, str) and bool(session) and session != closer)


# What a session records beside its checkpoints (the memory log's events): decisions, context entries.
RECORDS = {"decision": "decisions", "note": "entries"}


def _recorded_since_close(events: list[dict], latest: dict | None, since_close: list[dict]) -> list[dict]:
    """The sessions that recorded decisions or context entries after the last close (every one
    when no close is recorded) and neither checkpointed (since_close names those that did) nor
    closed: a session that crashed, or is still running, whose records the close's summary knows
    nothing of; a one-off command (ids.one_off) is no session and left nothing open. Found among
    the memory log's events boot reads anyway (its end: events carry the session, the records do
    not). One row per session, the newest first: {"session", "decisions",
    "entries" (their ids), "first", "at" (the times of its first and newest)}. A close whose time
    is unknown (no LATEST.json) is compared with nothing, as for since_close."""
    closed = "" if latest is None else latest.get("generated_at")
    if not isinstance(closed, str) or (latest is not None and not closed):
        return []
    rows: dict[str, dict] = {}
    closer = None if latest is None else latest.get("session")
    done = {row["session"] for row in since_close}
    for event in events:  # oldest first
        session, name = event.get("session"), event["event"]
        if type(session) is not str or not session or one_off(session) \
                or not after_close(event["at"], session, closed, closer):
            continue
        if name in ("checkpoint", "session_close"):
            done.add(session)
        elif name in RECORDS and isinstance(event.get(name), str):
            row = rows.setdefault(session, {"session": session, "decisions": [], "entries": [], "first": event["at"]})
            row[RECORDS[name]].append(event[name])
            row["at"] = event["at"]
    return sorted((row for session, row in rows.items() if session not in done), key=lambda r: r["at"], reverse=True)


def _first_after(store: Store, task_id: str, names: list[str], last: int, closed: str, closer) -> int | None:
    """The index of the first of ``names[:last + 1]`` made after the close at ``closed`` by ``closer``
    (``names[last]`` was: after_close), found by halving: checkpoints are numbered in the order
    they are made. None when a checkpoint on the way does not read (boot names it where it matters:
    the newest)."""
    if not closed:
        return 0
    low, high = 0, last
    while low < high:
        middle = (low + high) // 2
        try:
            checkpoint = store.load_checkpoint(task_id, names[middle])
        except (ParseError, NotFound):
            return None
        if after_close(checkpoint.created, checkpoint.session, closed, closer):
            high = middle
        else:
            low = middle + 1
    return low


def _ckp_id(name: str) -> str:
    number = checkpoint_number(name)
    return f"CKP-{number:04d}" if number >= 0 else name


# Offload packets boot reads, newest first (ids sort by creation): the brief names the new ones
# that share words with the open tasks, at a cost that does not grow with the clusters.
PACKETS_READ = 20
_STOP = frozenset("about after again also before being between could does doing done each from have into "
                  "just like make more most only other over same should some such than that their them then "
                  "there these they this those through under until very what when where which while will "
                  "with would your task tasks step steps".split())


def _words(text: str) -> set[str]:
    import re

    return {w for w in re.findall(r"[a-z0-9]+", text.lower()) if len(w) >= 4 and w not in _STOP}


def _new_packets(store: Store, resumes: list, latest: dict | None) -> list[dict]:
    """Active packets created since the last close that share words with an open task's title,
    definition or next step (or the last close's next steps), newest first: {"id", "kind",
    "title", "cluster", "path", "created", "words"}."""
    clusters = store.offload_clusters() if resumes else []
    if not clusters:
        return []
    wanted: set[str] = set()
    for r in resumes:
        wanted |= _words(f"{r.task.title} {r.task.definition} {r.next_step() or ''}")
    for step in (latest or {}).get("next_steps") or []:
        wanted |= _words(str(step))
    since = (latest or {}).get("generated_at") or ""
    newest = sorted(((pid.split("-", 1)[-1], cluster, pid) for cluster in clusters for pid in store.packet_ids(cluster)),
                    reverse=True)[:PACKETS_READ]
    from ..store.codec import Unusable
    from ..store.yaml_codec import YamlError, yaml_value

    out = []
    for _, cluster, pid in newest:
        try:
            data = store.read_packet(cluster, pid)
            doc = yaml_value(data.decode("utf-8", "replace")) if data else None
        except (ParseError, YamlError, Unusable):
            continue  # `tether offload list` names it
        if not isinstance(doc, dict) or doc.get("status") != "active" or str(doc.get("created") or "") <= since:
            continue
        tags = doc.get("tags") if isinstance(doc.get("tags"), list) else []
        shared = wanted & _words(f"{doc.get('title')} {doc.get('summary') or ''} {' '.join(map(str, tags))}")
        if shared:
            out.append({"id": pid, "kind": str(doc.get("kind")), "title": str(doc.get("title")), "cluster": cluster,
                        "path": store.packet_path(cluster, pid), "created": str(doc.get("created")),
                        "words": sorted(shared)})
    return out


def _audit_findings(store: Store) -> dict | None:
    """What the last `tether audit` kept for the next session (its ``next`` findings), None when
    no audit ran on this machine: read, never run, so boot stays fast."""
    value = store.read_audit_result()
    if value is None:
        return None
    found = [f for f in value["findings"] if isinstance(f, dict) and f.get("next")]
    return {"at": str(value.get("at")), "findings": found, "total": len(value["findings"])}


def read_decisions(store: Store, budget: int, decision_ids: list[str] | None = None) -> list:
    """The newest decisions, newest first by their time: read newest by name (generated ids start
    with their date) until they would fill ``budget`` on their own, as more could never be shown
    at it. The brief and the context document show the same ones."""
    decisions, cost = [], 0
    for decision_id in sorted(store.decision_ids() if decision_ids is None else decision_ids, reverse=True):
        if cost > budget:
            break
        try:
            decision = store.load_decision(decision_id)
        except ParseError as exc:
            store.report(exc.problem)
            continue
        decisions.append(decision)
        cost += estimate(decision_line(decision)) + 1
    decisions.sort(key=lambda d: (d.when, d.id), reverse=True)
    return decisions


def _campaigns(store: Store) -> list[dict]:
    """The open `tether ctx` session contexts in the store: stage, budget left, pending decisions.
    Read without the schema (boot must stay light); YAML is loaded only when one exists."""
    out = []
    for shown, data in store.campaign_contexts():
        from ..store.codec import Unusable, check_conflicts
        from ..store.yaml_codec import YamlError, yaml_value

        text = data.decode("utf-8", "replace")
        try:
            check_conflicts(text, shown)  # the marker's own line and words, as verify and ctx say them
        except ParseError as exc:
            store.report(exc.problem)
            continue
        try:
            doc = yaml_value(text)
        except (YamlError, Unusable) as exc:  # `tether ctx validate` says where
            store.report(Problem(shown, getattr(exc, "line", None),
                                 "not a readable session context; run `tether ctx validate`"))
            continue
        if isinstance(doc, dict) and isinstance(doc.get("session_context"), dict):
            doc = doc["session_context"]  # the file's one top-level key, as the seed writes it
        camp = doc.get("campaign") if isinstance(doc, dict) else None
        if not isinstance(camp, dict) or camp.get("status") == "closed":
            continue
        task = doc.get("active_task") if isinstance(doc.get("active_task"), dict) else {}
        limits = task.get("budget") if isinstance(task.get("budget"), dict) else {}
        compute = doc.get("compute") if isinstance(doc.get("compute"), dict) else {}
        pending = [p for p in doc.get("pending_decisions") or [] if isinstance(p, dict)]

        def left(limit, used):
            return limit - used if isinstance(limit, int) and isinstance(used, int) else None

        out.append({"campaign": str(camp.get("gtm_id")), "stage": str(camp.get("status")), "path": shown,
                    "calls_left": left(limits.get("max_skill_calls"), compute.get("skills_invoked") or 0),
                    "tokens_left": left(limits.get("max_tokens"), compute.get("tokens_used") or 0),
                    "deadline": limits.get("deadline") if isinstance(limits.get("deadline"), str) else None,
                    "pending": [{"id": str(p.get("id")), "question": str(p.get("question"))} for p in pending]})
    return out


def _check_context_document(store: Store, config: Config) -> str | None:
    """Name conflict markers a merge left in the context document: the brief sends a new
    session there first (LATEST.json is checked as it is parsed; index.json by `index --check`).
    Returns its text when it reads without them."""
    rel = config.context_document.removeprefix(store.label + "/")
    if rel == config.context_document:
        return None  # kept outside the store: not part of its state
    data = store.read_file(rel)
    if not data:
        return None
    from ..store.codec import check_conflicts, decode

    try:
        text = decode(data, store.shown(rel))  # `tether close` could not regenerate it: say so now
        if "<<<<<<< " in text or ">>>>>>> " in text:
            check_conflicts(text, store.shown(rel))
    except ParseError as exc:
        store.report(exc.problem)
        return None
    return text


def _check_document_sections(store: Store, config: Config, text: str, latest: dict | None, tasks: list,
                              decisions: list, notes: list) -> None:
    """Name the generated sections of the context document that disagree with the records boot
    just read: what a merge that kept one side's sections leaves (git's text merge resolved by
    hand, a hosting service's merge). The records are what boot shows; the document is what a new
    session reads first. Without LATEST.json, the sections it fills are not compared."""
    from . import context_document

    expected = context_document.recorded(latest=latest, task_ids=[t.id for t in tasks], decisions=decisions[:10],
                                         notes=notes, with_latest=latest is not None)
    found = context_document.disagreeing(text, expected)
    if found:
        store.report(Problem(config.context_document, found[0][1], context_document.disagreement(found)))


def snapshot(ws, sha: str | None = None, stats: dict | None = None, seen: dict | None = None) -> Snapshot:
    """The state boot reports; with ``stats`` (a dict), the stat of every path it read is recorded
    there, and with ``seen``, what it read: bytes of a file, names of a folder (warm.brief_cache.save)."""
    from ..gitio import refs

    if sha is None:
        import time

        config = ws.config
        head = refs.head_sha(ws.root_dir)
        started = time.time_ns()
        listings = None
        if ws.store.tree.keeps_stats:
            from ..warm.listings import Listings

            listings = Listings(ws.store_dir, started)
        with ws.store.collecting(), ws.store.recording(listings) as recorded:
            config = shown_reading_order(config, ws.store, ws.root_dir)
            if stats is not None:  # the config was read via its own cache, maybe long before this boot
                stats[layout.CONFIG] = ws.config_stat
            snap = gather(ws.store, config, source="worktree", sha=head, branch=refs.current_branch(ws.root_dir),
                          changed=None, active_hint=ws.store.active_task())
        if stats is not None:
            stats.update(recorded.stats)
        if seen is not None:
            seen.update(recorded.lists)
            seen.update(recorded.reads)
        if listings is not None:
            listings.save()
        try:
            from ..warm import head_diff

            read = recorded.reads
            snap.changed = head_diff.differing(ws.root_dir, ws.store_dir, head, read, read.__getitem__,
                                               stats if stats is not None else recorded.stats, started)
        except GitProblem as exc:
            snap.problems.append(Problem(ws.store.label, None, f"could not compare with HEAD: {exc}"))
        return snap
    try:
        full = refs.resolve_commit(ws.root, sha)
    except GitProblem as exc:
        raise GitProblem(str(exc), hint="run `git rev-parse HEAD` (or `git log --oneline`) for a valid SHA") from None
    from ..store.config_file import parse  # a commit's config has no parsed cache
    from ..store.trees import CommitTree

    tree = CommitTree(ws.root, full, ws.store.label)
    try:
        store = Store(tree, label=ws.store.label)
        config = parse(store.read_config(), f"{ws.store.label}/{layout.CONFIG} at {full[:12]}")
        with store.collecting():
            config = shown_reading_order(config, store)
            return gather(store, config, source="commit", sha=full, branch=None, changed=None, active_hint=None)
    finally:
        tree.close()


def shown_reading_order(config: Config, store: Store, root_dir: str | None = None) -> Config:
    """``config`` with the reading order the brief may show: each entry that leads outside the
    repository or into .git/ (as written, or with ``root_dir`` once links in the working tree are
    followed) is left out and named as a problem. The brief tells a new session what to read."""
    from ..store.confine import resolve

    refused = [tuple(entry) for entry in config.reading_order_refused]
    kept = []
    for path in config.reading_order:
        why = resolve(root_dir, path)[1] if root_dir is not None else None
        if why:
            refused.append((path, why))
        else:
            kept.append(path)
    for path, why in refused:
        store.report(Problem(store.shown(layout.CONFIG), None,
                             f"boot.reading_order: {path!r} {why}; left out of the reading order"))
    return config if kept == config.reading_order else Config(**{**config.to_dict(), "reading_order": kept})


def make_boot_cache(ws) -> None:
    """Build boot's cache now, so the next session's first boot is warm: at the end of a session
    (close, SessionEnd) and before a compaction (PreCompact), when nobody waits for a brief.

    Only a head start: whatever fails here, that next boot reads the files and reports it.
    """
    try:
        boot(ws, warm=False)  # the cache holds the content, whatever budget a later boot renders it at
    except Exception:  # noqa: BLE001 - see above: the next boot reports it
        pass


def boot(ws, sha: str | None = None, budget: int | None = None, max_chars: int | None = None,
         warm: bool = True, session: str | None = None, say=None) -> Brief:
    """The readiness brief, as the session ``session`` (the one asking, if any) is told it; from
    the warm-boot cache when nothing it reads has changed.

    ``warm=False``: read the files; for a caller that has just found the cache stale. ``say``: the
    asking adapter's wording of the commands the brief names (see brief.render).
    """
    if sha is None:
        from ..warm import brief_cache

        cached = from_cache(ws.root_dir, ws.store_dir, budget, max_chars, session, say) if warm else None
        if cached is not None:
            return cached
        import time

        started, stats, seen = time.time_ns(), {}, {}
        snap = snapshot(ws, None, stats, seen)
    else:
        snap = snapshot(ws, sha)
    content = to_content(snap.to_dict(), sections(snap), snap.config.budget)
    if sha is None and ws.store.tree.keeps_stats and not snap.problems:
        # Files on disk, whose stats say when the brief is stale. A degraded brief is not kept:
        # its problems are the files to fix, read again at every boot until they are.
        brief_cache.save(ws.store_dir, started, stats, snap.sha, snap.branch, content, seen)
    if sha is None:  # a commit's brief is the past: what changed since is today's question
        content = with_setup(with_stale(for_session(content, session), ws.root_dir, ws.store_dir), ws.root_dir,
                             ws.store_dir)
    return from_content(commit_lines.apply(content), budget, max_chars, say)


