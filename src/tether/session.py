"""Boot and close (seeds 002 and 003): the two ends of every session.

Boot reconstructs the state from the repository (the working tree, or one
commit's tree with ``sha``) and declares readiness within a token budget.
Its cost depends on open tasks and fixed caps, never on history: it lists
``open/`` instead of every task, reads one checkpoint per open task, the
newest decisions by name, and the tail of the event log.
"""

from __future__ import annotations


from . import clock, commitstate
from .brief import Brief, Section, from_content, to_content
from .config import CONFIG_FILE, Config, parse
from .eventlog import CHECKED_LINES
from .errors import GitProblem, InvalidInput, NotFound
from .parsing import Problem
from .recordtype import REQUIRED, Record
from .store.files import FileStore, loads_latest
from .store.trees import DirTree
from .tasks import Resume, resume_of

MAX_DECISIONS = 5
MAX_TASKS = 10
MAX_NOTES = 8
MAX_NEXT = 8


class Snapshot(Record):
    """Everything a brief says, gathered once; render it at any budget.

    source is "worktree" or "commit"; changed lists tether files that differ
    from HEAD (None when not checked); tasks are Resume points, newest first.
    """

    FIELDS = {"source": REQUIRED, "sha": REQUIRED, "branch": REQUIRED, "changed": REQUIRED, "config": REQUIRED,
              "latest": REQUIRED, "latest_source": REQUIRED, "tasks": REQUIRED, "active": REQUIRED,
              "decisions": REQUIRED, "decisions_total": REQUIRED, "notes": REQUIRED, "problems": list}

    def to_dict(self) -> dict:
        """Plain values: boot's --json fields (and what the warm-boot cache keeps)."""
        return {
            "source": self.source, "sha": self.sha, "branch": self.branch, "changed": self.changed,
            "latest": self.latest, "latest_source": self.latest_source, "active": self.active,
            "tasks": [r.to_dict() for r in self.tasks],
            "decisions": [dict(d.__dict__) for d in self.decisions], "decisions_total": self.decisions_total,
            "notes": [n.to_dict() for n in self.notes], "reading_order": self.config.reading_order,
            "problems": [p.to_dict() for p in self.problems],
        }


def _latest_progress(store: FileStore) -> tuple[dict | None, str | None]:
    data = store.read_file("progress/LATEST.json")
    latest = loads_latest(data, store.shown("progress/LATEST.json"), store.problems)
    if latest is not None:
        return latest, store.shown("progress/LATEST.json")
    dates = store.progress_dates()
    if not dates:
        return None, None
    if data is None:  # logs exist, so a close wrote LATEST.json once: its loss is a problem to name
        store.problems.append(Problem(store.shown("progress/LATEST.json"), None,
                                      "missing; using the newest dated log (the next `tether close` rewrites it)"))
    rel = f"progress/{dates[-1]}.md"
    text = (store.read_file(rel) or b"").decode("utf-8", "replace")
    summary, next_steps = _newest_section(text)
    return {"date": dates[-1], "file": store.shown(rel), "summary": summary, "next_steps": next_steps}, store.shown(rel)


def _newest_section(text: str) -> tuple[str, list[str]]:
    """The summary and next steps of a dated log's newest close. By the time in each section's
    heading ("## 15:33 UTC, session ..."), not by position: a union merge of two branches' logs
    puts one side's sections after the other's, whatever their times."""
    sections: list[tuple[str, int, list[str]]] = []
    for number, block in enumerate(text.split("\n## ")[1:]):
        lines = block.splitlines()
        sections.append((lines[0][:5], number, lines[1:]))
    if not sections:
        return (text.strip().splitlines() or [""])[-1], []
    _, _, lines = max(sections)
    summary, steps, in_steps = "", [], False
    for line in lines:
        if line.startswith("**Summary:**"):
            summary = line.split("**Summary:**", 1)[1].strip()
        in_steps = line.startswith("**Next steps:**") or (in_steps and line.startswith("- "))
        if in_steps and line.startswith("- "):
            steps.append(line[2:].strip())
    return summary, steps


def gather(store: FileStore, config: Config, *, source: str, sha: str | None, branch: str | None,
           changed: list[str] | None, active_hint: str | None) -> Snapshot:
    latest, latest_source = _latest_progress(store)
    resumes: list[Resume] = []
    for task_id in store.open_task_ids():
        try:
            task = store.load_task(task_id)
        except NotFound:
            store.problems.append(Problem(store.shown(f"open/{task_id}"), None, "open marker without a task"))
            continue
        except Exception as exc:
            if getattr(exc, "problem", None) is None:
                raise
            store.problems.append(exc.problem)
            continue
        if task.status != "open":
            store.problems.append(Problem(store.shown(f"open/{task_id}"), None,
                                          f"marker says open but the task is {task.status}; run `tether index --repair`"))
            continue
        resumes.append(resume_of(store, task))
    # Active: this machine's choice, else the task with the newest checkpoint.
    resumes.sort(key=lambda r: (r.checkpoint.created if r.checkpoint else r.task.created, r.task.id), reverse=True)
    ids = [r.task.id for r in resumes]
    active = active_hint if active_hint in ids else (ids[0] if ids else None)
    # The active task leads the list, so a capped or budgeted brief always shows its resume line.
    resumes.sort(key=lambda r: r.task.id != active)
    decision_ids = store.decision_ids()
    decisions = []
    for decision_id in decision_ids[-MAX_DECISIONS:]:
        try:
            decisions.append(store.load_decision(decision_id))
        except Exception as exc:
            if getattr(exc, "problem", None) is None:
                raise
            store.problems.append(exc.problem)
    notes = [n for n in store.notes() if not n.resolved]
    _check_context_document(store, config)
    store.recent_events(CHECKED_LINES)  # not shown, but a torn or bad line near the end is a problem to name
    return Snapshot(source=source, sha=sha, branch=branch, changed=changed, config=config, latest=latest,
                    latest_source=latest_source, tasks=resumes, active=active, decisions=decisions,
                    decisions_total=len(decision_ids), notes=notes, problems=list(store.problems))


def _check_context_document(store: FileStore, config: Config) -> None:
    """Name conflict markers a merge left in the context document: the brief sends a new
    session there first (LATEST.json is checked as it is parsed; index.json by `index --check`)."""
    rel = config.context_document.removeprefix(".tether/")
    if rel == config.context_document:
        return  # kept outside the store: not part of its state
    data = store.read_file(rel)
    if not data:
        return
    from .parsing import ParseError, check_conflicts, decode

    try:
        text = decode(data, store.shown(rel))  # `tether close` could not regenerate it: say so now
        if "<<<<<<< " in text or ">>>>>>> " in text:
            check_conflicts(text, store.shown(rel))
    except ParseError as exc:
        store.problems.append(exc.problem)


def snapshot(ws, sha: str | None = None, stats: dict | None = None, seen: dict | None = None) -> Snapshot:
    """The state boot reports; with ``stats`` (a dict), the stat of every path it read is recorded
    there, and with ``seen``, what it read: bytes of a file, names of a folder (bootcache.save)."""
    from . import git

    if sha is None:
        config = ws.config
        head = git.head_sha(ws.root_dir)
        import time

        started = time.time_ns()
        tree = ws.store.tree
        recorded = {} if stats is None else stats  # the stats of what is read: headblobs keys file ids on them
        tree.reads, tree.stats, tree.lists = {}, recorded, {}
        if isinstance(tree, DirTree):
            from .store.listings import Listings

            ws.store.listings = Listings(ws.store_dir, started)
        try:
            if stats is not None:  # the config was read via its own cache, maybe long before this boot
                stats[CONFIG_FILE] = ws.config_stat
            active = (tree.read("local/active") or b"").decode("utf-8", "replace").strip()
            snap = gather(ws.store, config, source="worktree", sha=head, branch=git.current_branch(ws.root_dir),
                          changed=None, active_hint=active)
            read = tree.reads
            if seen is not None:
                seen.update(tree.lists)
                seen.update(read)
            if ws.store.listings is not None:
                ws.store.listings.save()
        finally:
            tree.reads = tree.stats = tree.lists = None
            ws.store.listings = None
        try:
            from . import headblobs

            snap.changed = headblobs.differing(ws.root_dir, ws.store_dir, head, read, read.__getitem__, recorded, started)
        except git.GitError as exc:
            snap.problems.append(Problem(".tether", None, f"could not compare with HEAD: {exc}"))
        return snap
    try:
        full = git.resolve_commit(ws.root, sha)
    except git.GitError as exc:
        raise GitProblem(str(exc), hint="run `git rev-parse HEAD` (or `git log --oneline`) for a valid SHA") from None
    from .store.trees import CommitTree

    tree = CommitTree(ws.root, full, ".tether")
    try:
        store = FileStore(tree, label=".tether")
        config = parse(store.read_file(CONFIG_FILE), f".tether/{CONFIG_FILE} at {full[:12]}")
        return gather(store, config, source="commit", sha=full, branch=None, changed=None, active_hint=None)
    finally:
        tree.close()


def _when(stamp: str | None) -> str:
    return (stamp or "?").replace("T", " ")[:16]


def sections(snap: Snapshot) -> list[Section]:
    """The brief's sections. What depends on the commit (the title, the state line, the plan's
    review step) is left to commitstate, which renders it at every boot."""
    # Shown first, filled after the open tasks: a tight budget keeps where to resume over this line.
    out = [Section("state", None, [""], priority=3.5)]  # its line: commitstate.state_line
    if snap.problems:
        out.append(Section("problems", "## Problems (degraded: fix these files)",
                           [f"- {p}" for p in snap.problems[:10]], priority=1,
                           more="tether index --check", hidden=max(0, len(snap.problems) - 10)))
    if snap.latest:
        lines = [f"{snap.latest.get('date', '?')} ({snap.latest_source}): {snap.latest.get('summary', '')}"]
        out.append(Section("last_progress", "## Last session", lines, priority=2, more="tether log"))
    else:
        out.append(Section("last_progress", "## Last session", ["No progress recorded yet."], priority=2))
    task_lines = []
    for resume in snap.tasks[:MAX_TASKS]:
        mark = "ACTIVE " if resume.task.id == snap.active else ""
        task_lines.append(f"- {mark}{resume.message()}")
    if not task_lines:
        task_lines = ["- No open tasks."]
    out.append(Section("open_tasks", f"## Open tasks ({len(snap.tasks)})", task_lines, priority=3,
                       more="tether task list", hidden=max(0, len(snap.tasks) - MAX_TASKS)))
    next_steps = [str(s) for s in (snap.latest or {}).get("next_steps", []) or []]
    if next_steps:
        out.append(Section("next_steps", "## Next steps", [f"- {s}" for s in next_steps[:MAX_NEXT]], priority=4,
                           more="tether log", hidden=max(0, len(next_steps) - MAX_NEXT)))
    for key, kind, heading, priority in (("blockers", "blocker", "## Blockers", 5), ("donts", "dont", "## What NOT to do", 6),
                                         ("gotchas", "gotcha", "## Gotchas", 7), ("phase", "phase", "## Where we are", 3),
                                         ("learnings", "learning", "## Learnings", 9), ("notes", "note", "## Notes", 11)):
        chosen = [n for n in snap.notes if n.kind == kind]
        if kind == "phase":
            chosen = chosen[-1:]
        if chosen:
            shown = chosen[-MAX_NOTES:]
            out.append(Section(key, heading, [f"- {n.text}" for n in shown], priority=priority,
                               more="tether note list", hidden=len(chosen) - len(shown)))
    if snap.decisions:
        lines = [f"- {d.question} -> {d.decision} ({d.who or 'unknown'}, {d.when[:10]}; {d.id})"
                 for d in reversed(snap.decisions)]
        out.append(Section("decisions", f"## Recent decisions ({snap.decisions_total} in all)", lines, priority=8,
                           more="tether decide --list", hidden=snap.decisions_total - len(snap.decisions)))
    reading = [".tether/CONTEXT.md", *snap.config.reading_order]
    out.append(Section("reading_order", "## Reading order",
                       [f"{i}. {p}" for i, p in enumerate(dict.fromkeys(reading), 1)], priority=9, more="tether config"))
    out.append(Section("plan", "## Proposed plan", _plan(snap), priority=10))
    order = ["state", "problems", "phase", "last_progress", "open_tasks", "next_steps", "blockers", "donts",
             "gotchas", "decisions", "learnings", "notes", "reading_order", "plan"]
    out.sort(key=lambda s: order.index(s.key))
    return out


def _plan(snap: Snapshot) -> list[str]:
    steps = []
    if snap.problems:
        steps.append(f"Repair the {len(snap.problems)} problem(s) listed above (state is degraded).")
    active = next((r for r in snap.tasks if r.task.id == snap.active), None)
    if active:
        steps.append(f"Resume {active.task.id}: {active.next_step() or 'continue from its last checkpoint'}"
                     " (`tether resume`), checkpoint every few items.")
    for step in [str(s) for s in (snap.latest or {}).get("next_steps", []) or []][:3]:
        if not active or step != active.task.id:
            steps.append(f"Then: {step}" if steps else step)
    blockers = [n for n in snap.notes if n.kind == "blocker"]
    if blockers:
        steps.append(f"Clear the blocker: {blockers[-1].text}")
    steps.append('End with `tether close --summary "..." --next "..."` so the next session starts here.')
    return steps  # numbered by commitstate.plan, which adds the review step when files differ


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
         warm: bool = True) -> Brief:
    """The readiness brief; from the warm-boot cache when nothing it reads has changed.

    ``warm=False``: read the files; for a caller that has just found the cache stale.
    """
    if sha is None:
        from . import bootcache

        cached = bootcache.warm_brief(ws.root_dir, ws.store_dir, budget, max_chars) if warm else None
        if cached is not None:
            return cached
        import time

        started, stats, seen = time.time_ns(), {}, {}
        snap = snapshot(ws, None, stats, seen)
    else:
        snap = snapshot(ws, sha)
    content = to_content(snap.to_dict(), sections(snap), snap.config.budget)
    if sha is None and isinstance(ws.store.tree, DirTree) and not snap.problems:
        # Files on disk, whose stats say when the brief is stale. A degraded brief is not kept:
        # its problems are the files to fix, read again at every boot until they are.
        bootcache.save(ws.store_dir, started, stats, snap.sha, snap.branch, content, seen)
    return from_content(commitstate.apply(content), budget, max_chars)


# -- close ------------------------------------------------------------------------

def write_generated(ws, snap: Snapshot | None = None) -> None:
    """Regenerate the session context document and the index manifest."""
    from . import contextdoc, manifest

    snap = snap or snapshot(ws)
    existing = _context_document_text(ws, snap.config)
    tasks = [("ACTIVE: " if r.task.id == snap.active else "") + r.message() for r in snap.tasks]
    decisions = ws.decisions(limit=10)
    text = contextdoc.merge(existing, contextdoc.blocks(
        updated=clock.stamp(), sha=snap.sha, session=ws.session_id, latest=snap.latest, tasks=tasks,
        next_steps=[str(s) for s in (snap.latest or {}).get("next_steps", []) or []],
        decisions=list(reversed(decisions)), notes=ws.notes(), reading_order=snap.config.reading_order))
    from .fsio import write_atomic

    write_atomic(ws.root / snap.config.context_document, text)
    manifest.write(ws.store)


def _context_document_text(ws, config: Config) -> str | None:
    """The context document's text, None if absent; ParseError (with the line) if it is not UTF-8:
    its hand-written part is kept byte for byte, so it cannot be rewritten from a guess."""
    from .parsing import decode

    path = ws.root / config.context_document
    if not path.is_file():
        return None
    return decode(path.read_bytes(), config.context_document)


def _logged_section(store: FileStore, sha: str | None, body: list[str]) -> tuple[str, str] | None:
    """(date, file) of the newest progress section when it is this close's (the same commit,
    summary, completed tasks and next steps): a close run again after it stopped half-way."""
    dates = store.progress_dates()
    if not dates:
        return None
    rel = f"progress/{dates[-1]}.md"
    text = (store.read_file(rel) or b"").decode("utf-8", "replace")
    if "\n## " not in text:
        return None
    heading, _, rest = text.rsplit("\n## ", 1)[1].partition("\n")
    commit = heading.rpartition(", commit ")[2] if ", commit " in heading else None
    if commit != (sha[:12] if sha else None) or [line.rstrip() for line in rest.rstrip().split("\n")] != body:
        return None
    return dates[-1], store.shown(rel)


def _logged_event(store: FileStore, event: dict) -> bool:
    """Whether the newest session_close event is this close's (see _logged_section)."""
    from .eventlog import CHECKED_LINES

    closes = [e for e in store.recent_events(CHECKED_LINES) if e.get("event") == "session_close"]
    return bool(closes) and all(closes[-1].get(key) == value for key, value in event.items())


class CloseResult(Record):
    FIELDS = {"date": REQUIRED, "file": REQUIRED, "latest": REQUIRED, "completed": REQUIRED,
              "commit": REQUIRED, "context_document": REQUIRED}


def close(ws, summary: str, completed: list[str], next_steps: list[str], commit: bool) -> CloseResult:
    from . import git
    from .tasks import set_status

    summary = " ".join(summary.split())
    if not summary:
        raise InvalidInput("a close needs a summary of the session", hint='tether close --summary "what was done"')
    completed = [c.strip() for item in completed for c in item.split(",") if c.strip()]
    next_steps = [s.strip() for s in next_steps if s.strip()]
    config = ws.config
    tasks = [ws.store.load_task(task_id) for task_id in completed]  # every id checked before anything is written
    _context_document_text(ws, config)  # and the document it regenerates: one it cannot read stops it here
    with ws.store.lock("close"):
        now = clock.now()
        sha = git.head_sha(ws.root)
        for task in tasks:
            if task.status != "complete":
                set_status(ws.store, task, "complete")
        date = f"{now:%Y-%m-%d}"
        section = [f"## {now:%H:%M} UTC, session {ws.session_id}" + (f", commit {sha[:12]}" if sha else ""),
                   "", f"**Summary:** {summary}"]
        if tasks:
            section.append("**Completed:** " + ", ".join(f"{t.id} ({t.title})" for t in tasks))
        if next_steps:
            section += ["**Next steps:**", *[f"- {s}" for s in next_steps]]
        # Safely repeatable: a close that stopped half-way (a full disk) is run again as it was, so
        # the section and the event it had written already are found and not written twice.
        logged = _logged_section(ws.store, sha, section[1:])
        if logged is None:
            file = ws.store.append_progress(date, "\n".join(section))
        else:
            date, file = logged
        latest = {"date": date, "file": file, "sha": sha, "summary": summary, "next_steps": next_steps,
                  "completed": [t.id for t in tasks], "session": ws.session_id, "generated_at": clock.stamp(now)}
        import json

        ws.store.write_file("progress/LATEST.json", json.dumps(latest, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
        event = {"summary": summary, "completed": latest["completed"], "next_steps": next_steps, "sha": sha}
        if logged is None or not _logged_event(ws.store, event):
            ws.event("session_close", **event)
        write_generated(ws)
        commit_sha = None
        if commit:
            paths = [".tether"]
            doc = config.context_document
            if not doc.startswith(".tether/"):
                paths.append(doc)
            try:
                commit_sha = git.commit_paths(ws.root, paths, f"tether: close session\n\n{summary}",
                                              {"Tether-Session": ws.session_id})
            except git.GitError as exc:
                raise GitProblem(f"the session was closed but not committed: {exc}",
                                 hint=getattr(exc, "hint", None) or "commit .tether/ yourself") from None
    return CloseResult(date=date, file=file, latest=latest, completed=[t.id for t in tasks], commit=commit_sha,
                       context_document=config.context_document)
