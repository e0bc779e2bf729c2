"""Repairs that bring derived, tracked files back in line with the records (`tether index --repair`)."""

from __future__ import annotations

from ..errors import ParseError
from ..model.record import Record
from ..model.records import Latest


class Done:
    """What a repair did: one line each (``lines``), and the same by file (``by_path``)."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.by_path: dict[str, list[str]] = {}

    def add(self, path: str, what: str, line: str) -> None:
        self.lines.append(line)
        self.by_path.setdefault(path, []).append(what)


def repair_open_markers(ws, done: Done) -> list[str]:
    """Make ``open/`` list exactly the tasks whose status is open; returns the markers changed."""
    store = ws.store
    changed: list[str] = []
    open_now = set(store.open_task_ids())
    should_be_open = set()
    for task_id in store.task_ids():
        try:
            task = store.load_task(task_id)
        except ParseError as exc:
            store.report(exc.problem)
            if task_id in open_now:
                should_be_open.add(task_id)  # unreadable: keep its marker so boot reports it
            continue
        if task.status == "open":
            should_be_open.add(task_id)
    for task_id in sorted(should_be_open - open_now):
        store.set_open_marker(task_id, True)
        changed.append(store.marker_path(task_id))
        done.add(store.marker_path(task_id), "added (the task is open)", f"added open/{task_id}")
    for task_id in sorted(open_now - should_be_open):
        store.set_open_marker(task_id, False)
        changed.append(store.marker_path(task_id))
        done.add(store.marker_path(task_id), "removed (the task is not open)", f"removed open/{task_id}")
    return changed


def describe_mended(report: dict, shown: str, root: str) -> str:
    """One line for a repaired torn line (store.appendlog's report)."""
    import os

    where = f"{shown}:{report['line']}: a torn last line ({report['bytes']} bytes, a writer stopped mid-append)"
    if report["action"] == "restored":
        return f"{where} completed from its checkpoint file"
    kept = os.path.relpath(report["kept"], root)
    return f"{where} set aside in {report['kept'] if kept.startswith('..') else kept}"


class Repair(Record):
    """What `tether index --repair` did. ``repaired``: each thing done, one line each; ``changes``:
    the same by file ({"path", "done"}), with the files it marked resolved; ``manifest``:
    "rewritten" or "unchanged"; ``to_add``: the files it wrote that git's index does not hold as
    they are now; ``to_commit``: those it wrote that differ from HEAD; ``merging``: a merge is in
    progress (then ``unmerged`` lists what git still holds unmerged, tether's or not); ``conflicted``:
    the store's files that still hold conflict markers (Problems, the first marker's line), for
    which the manifest was left as it was."""

    FIELDS = {"repaired": list, "files": 0, "marked_resolved": list, "tmp_removed": 0, "manifest": "unchanged",
              "changes": list, "to_add": list, "to_commit": list, "merging": False, "unmerged": list,
              "conflicted": list}

    def to_dict(self) -> dict:
        return {**super().to_dict(), "conflicted": [p.to_dict() for p in self.conflicted]}


def repair(ws) -> Repair:
    """`tether index --repair`: generated files a merge left conflicted, a LATEST.json older than the
    progress log's newest close (a close cut short), open markers, torn last lines of the logs, the
    context document's generated sections, the manifest.

    LATEST.json and the context document are merged as the merge driver
    would have; then the document's generated sections are regenerated from
    the records when they disagree (the records on disk are merged: git wrote
    them before it stopped); index.json is rewritten from the files. Those that
    git still lists as unmerged and are now clean are marked resolved (`git add`),
    so `git commit` can conclude the merge.
    """
    from . import manifest
    from ..gitio.mergedriver import mark_resolved

    leftovers = ws.store.remove_leftovers()
    done = Done()
    resolved, written = repair_generated(ws, done)
    contexts = repair_session_contexts(ws, done)
    resolved += contexts
    written += contexts
    written += finish_cut_short_close(ws, done)
    written += repair_open_markers(ws, done)
    maps = repair_offload_maps(ws, done)
    resolved += maps
    for report in ws.store.mend_logs():
        line = describe_mended(report, report["path"], ws.root_dir)
        done.add(report["path"], f"line {report['line']}: {line.split(': ', 1)[1]}", line)
        written.append(report["path"])
    written += [p for p in done.by_path if p in maps]
    document = regenerate_document(ws, done)
    if document:
        written.append(document)
    manifest_path = ws.store.manifest_path()
    conflicted = still_conflicted(ws)
    if conflicted:
        # A conflicted file's hash would be stale the moment it is resolved: the manifest waits.
        files = 0
        for problem in conflicted:
            why = (f"not rewritten: {problem.path}:{problem.line} holds an"
                   f" {problem.message.split('; ', 1)[0]}; resolve it, then run `tether index --repair` again")
            done.add(manifest_path, why, f"{manifest_path}: {why}")
    else:
        before = ws.store.read_document(manifest_path)
        files = manifest.write(ws.store)
        if ws.store.read_document(manifest_path) != before:
            written.append(manifest_path)
            done.by_path.setdefault(manifest_path, []).append(f"rewritten ({files} files)")
        resolved.append(manifest_path)
    marked = mark_resolved(ws.root_dir, resolved)
    for path in marked:
        done.by_path.setdefault(path, []).append("marked resolved (git add)")
    outcome = Repair(repaired=done.lines, files=files, marked_resolved=marked, tmp_removed=len(leftovers),
                     manifest="rewritten" if manifest_path in written else "unchanged",
                     changes=[{"path": p, "done": what} for p, what in done.by_path.items()],
                     conflicted=conflicted)
    _what_git_holds(ws, outcome, list(dict.fromkeys(written + marked)),
                    [ws.store.latest_path(), _document(ws), manifest_path, *maps])
    return outcome


def still_conflicted(ws) -> list:
    """The store's files that still hold git's conflict markers, each a Problem at its first
    marker's line, found as `tether verify` finds them (Store.check_document): the context
    document, and what git still lists as unmerged inside the store (the manifest aside: it is
    what waits for them)."""
    from ..errors import GitProblem
    from ..gitio.mergedriver import unmerged

    paths = [_document(ws)]
    try:
        paths += sorted(p for p in unmerged(ws.root_dir, [ws.store.label]) if p.startswith(ws.store.label + "/"))
    except GitProblem:
        pass  # no git: the document alone
    found = []
    for path in dict.fromkeys(p for p in paths if p != ws.store.manifest_path()):
        try:
            ws.store.check_document(path)
        except ParseError as exc:
            if exc.conflict:
                found.append(exc.problem)
    return found


def _document(ws) -> str:
    from ..errors import TetherError

    try:
        return ws.config.context_document
    except TetherError:  # no readable tether.toml: the document is where init puts it
        return ws.store.default_document()


def regenerate_document(ws, done: Done) -> str | None:
    """Regenerate the context document's generated sections when they disagree with the records;
    its path when it did."""
    from .close import document_disagrees, write_context_document
    from ..errors import TetherError

    try:
        found = document_disagrees(ws)
        if not found:
            return None
        write_context_document(ws)
    except (TetherError, OSError):
        return None  # a document that does not read: verify and boot name it
    path = ws.config.context_document
    headings = ", ".join(heading for heading, _ in found)
    what = f"generated sections regenerated from the records ({headings} disagreed with them)"
    done.add(path, what, f"regenerated {path}: {what}")
    return path


def _what_git_holds(ws, outcome: Repair, written: list[str], generated: list[str]) -> None:
    """What the user does next: which of the files repair wrote git's index does not hold as they
    are (to add) or HEAD does not (to commit), and whether a merge is in progress. During one, the
    generated files an earlier run or an editor left unstaged are named too: the merge commit
    takes what is staged."""
    import os

    from ..errors import GitProblem
    from ..gitio import refs, status
    from ..gitio.mergedriver import unmerged

    try:
        outcome.merging = os.path.exists(os.path.join(refs.git_dir(ws.root_dir), "MERGE_HEAD"))
        asked = list(dict.fromkeys(written + (generated if outcome.merging else [])))
        codes = status.codes(ws.root_dir, asked)
        outcome.unmerged = sorted(unmerged(ws.root_dir, [])) if outcome.merging else []
    except GitProblem:
        return  # no git: nothing to say of it
    outcome.to_add = [p for p in asked if codes.get(p, "  ")[1] != " "]
    outcome.to_commit = [p for p in written if codes.get(p, "  ") != "  "]


def _latest_from_events(store) -> bytes | None:
    """LATEST.json rebuilt from the newest session_close event (the log merges by union)."""
    from ..store.formats import latest_text

    closes = [e for e in store.all_events() if e.get("event") == "session_close" and e.get("at")]
    if not closes:
        return None
    last = max(closes, key=lambda e: (str(e["at"]), str(e.get("session", ""))))
    date = str(last["at"])[:10]
    latest = Latest(date=date, file=store.progress_path(date), sha=last.get("sha"),
                    summary=str(last.get("summary", "")), next_steps=last.get("next_steps") or [],
                    completed=last.get("completed") or [], session=last.get("session"), generated_at=last["at"])
    return latest_text(latest).encode("utf-8")


def finish_cut_short_close(ws, done: Done) -> list[str]:
    """Rebuild LATEST.json when the newest dated progress log holds a newer close than it names
    (core.boot.newer_close: a close cut short between the two writes, or a merge that kept the
    older LATEST.json): from that close's session_close event when the memory log has it (a
    merge), else from its section, whose time is its minute and whose commit is abbreviated
    (resolved when git knows it). The event the cut-short close did not write is appended, so
    the memory log has it too. Returns the paths written."""
    from ..errors import GitProblem
    from ..store.eventlog import record
    from .boot import newer_close

    store = ws.store
    try:
        latest = store.read_latest()
    except ParseError:
        return []  # repair_generated rebuilt it if it could; boot names it otherwise
    newer = newer_close(store, latest.to_dict()) if latest is not None else None
    if newer is None:
        return []
    logged = [e for e in store.all_events() if e["event"] == "session_close" and e.get("session") == newer["session"]
              and e.get("summary") == newer["summary"] and str(e["at"])[:10] == newer["date"]]
    written = [store.latest_path()]
    if logged:
        event = logged[-1]
        rebuilt = Latest(date=newer["date"], file=newer["file"], sha=event.get("sha"), summary=newer["summary"],
                         next_steps=event.get("next_steps") or [], completed=event.get("completed") or [],
                         session=newer["session"], generated_at=event["at"])
        how = "its session_close event"
    else:
        sha = newer["sha"]
        if sha:
            from ..gitio import refs

            try:
                sha = refs.resolve_commit(ws.root_dir, sha)
            except GitProblem:
                pass  # not in this clone: kept as the log abbreviates it
        rebuilt = Latest(date=newer["date"], file=newer["file"], sha=sha, summary=newer["summary"],
                         next_steps=newer["next_steps"], completed=newer["completed"], session=newer["session"],
                         generated_at=newer["generated_at"])
        how = "its section"
        store.append_event(record("session_close", newer["session"], {
            "summary": rebuilt.summary, "completed": rebuilt.completed, "next_steps": rebuilt.next_steps,
            "sha": rebuilt.sha}, rebuilt.generated_at))
        written.append(store.event_log_path())
    store.write_latest(rebuilt)
    what = (f"rebuilt from the newer close in {newer['file']} ({newer['date']} {newer['time']} UTC, from {how}):"
            " a close cut short before it rewrote LATEST.json, or a merge that kept the older one")
    done.add(store.latest_path(), what, f"{store.latest_path()}: {what}")
    if how == "its section":
        done.add(store.event_log_path(), "the cut-short close's session_close event appended",
                 f"{store.event_log_path()}: the cut-short close's session_close event appended")
    return written


def repair_offload_maps(ws, done: Done) -> list[str]:
    """Rewrite the offload maps from the packets (a merge keeps one side's maps, or git's text merge
    left conflict markers in them); every map's path, for `git add` when unmerged."""
    store = ws.store
    if not store.offload_clusters() and store.read_map(None, "text") is None:
        return []
    from ..offload.api import Offload

    off = Offload(ws)
    outcome = off.refresh()
    for problem in off.problems:
        store.report(problem)
    for path in outcome["written"]:
        done.add(path, "rendered again from the packets", f"rewrote {path}")
    return [p for name in [None, *store.offload_clusters()] for p in store.map_paths(name)]


def repair_generated(ws, done: Done) -> tuple[list[str], list[str]]:
    """Resolve LATEST.json and the context document after a merge without the driver.

    The three versions come from git's index while the merge is unresolved,
    else from the conflict markers in the file. A file someone already
    resolved by hand is left alone. Returns (repository paths now resolved
    that git still lists as unmerged, paths written); what was done goes to ``done``.
    """
    from ..gitio.semantic_merge import Unmergeable, has_conflict_markers, sides_of_conflicted
    from ..gitio.mergedriver import merge_generated, unmerged
    from ..gitio.objects import cat_blobs

    root = ws.root_dir
    document = _document(ws)
    targets = [(ws.store.latest_path(), "latest"), (document, "context")]
    conflicted = unmerged(root, [t for t, _ in targets])
    resolved: list[str] = []
    written: list[str] = []
    for rel, kind in targets:
        try:
            current: bytes | None = ws.store.read_document(rel)
        except OSError:
            current = None
        marked = current is not None and has_conflict_markers(current)
        from_log = False
        try:
            if rel in conflicted:
                base, ours, theirs = (s or b"" for s in cat_blobs(root, [f":{n}:{rel}" for n in (1, 2, 3)]))
                if not marked and current is not None and current != ours:
                    done.add(rel, "left as you resolved it; `git add` it", f"left {rel} as it was resolved; `git add` it")
                    continue
            elif marked:
                base, ours, theirs = (s.encode("utf-8") for s in sides_of_conflicted(current.decode("utf-8")))
            else:
                if kind == "latest" and current is not None and not _reads_as_latest(current, rel):
                    rebuilt = _latest_from_events(ws.store)  # generated: the memory log says what it held
                    if rebuilt is None:
                        why = "could not rebuild it: the memory log holds no close; restore it from git"
                        done.add(rel, why, f"could not rebuild {rel}: the memory log holds no close; restore it from git")
                    else:
                        ws.store.write_document(rel, rebuilt)
                        written.append(rel)
                        done.add(rel, "rebuilt from the memory log's newest close (it did not read)",
                                 f"rebuilt {rel} from the memory log's newest close (it did not read)")
                continue
            merged, clean = merge_generated(kind, base, ours, theirs)
        except (Unmergeable, UnicodeDecodeError) as exc:
            merged = _latest_from_events(ws.store) if kind == "latest" else None
            if merged is None:
                done.add(rel, f"could not resolve it ({exc}); fix it by hand", f"could not resolve {rel} ({exc}); fix it by hand")
                continue
            clean, from_log = True, True
        if not clean and marked and not _blocks_in_conflict(current):
            merged = current  # only hand-written lines conflict, perhaps half resolved already: the user's
        else:
            ws.store.write_document(rel, merged)
            written.append(rel)
        if clean:
            how = ("rebuilt from the memory log's newest close (neither side read)" if from_log
                   else "merged: the newer close" if kind == "latest" else "merged: your text from both sides")
            done.add(rel, how, f"resolved {rel}")
            if rel in conflicted:
                resolved.append(rel)
        else:
            line = next((n for n, text in enumerate(merged.decode("utf-8").splitlines(), 1)
                         if text.startswith("<<<<<<<")), 1)
            left = "hand-written lines that both sides changed are left for you (edit them, then `git add` the file)"
            done.add(rel, f"line {line}: {left}", f"{rel}:{line}: {left}")
    return resolved, written


def repair_session_contexts(ws, done: Done) -> list[str]:
    """Merge by meaning the campaign session contexts git left unmerged (a merge without tether's
    merge driver, or before `tether init` added their rule to .gitattributes), as the driver would:
    from the three versions git's index holds. Returns the paths now resolved; one whose conflicts
    only a person can settle is written with markers around those values and named."""
    from ..campaign import Campaign
    from ..errors import GitProblem
    from ..gitio.mergedriver import unmerged
    from ..gitio.objects import cat_blobs
    from ..gitio.semantic_merge import has_conflict_markers
    from ..store.layout import CONTEXT_FILE

    root = ws.root_dir
    try:
        found = [p for p in unmerged(root, []) if p.rsplit("/", 1)[-1] == CONTEXT_FILE]
    except GitProblem:
        return []
    resolved = []
    for rel in sorted(found):
        stages = cat_blobs(root, [f":{n}:{rel}" for n in (1, 2, 3)])
        if stages[1] is None or stages[2] is None:
            continue  # deleted on one side: git's own question, for the user
        current = ws.store.read_document(rel, "session context")
        if current is not None and not has_conflict_markers(current) and current != stages[1]:
            done.add(rel, "left as you resolved it; `git add` it", f"left {rel} as it was resolved; `git add` it")
            continue
        merged = Campaign.merge_versions(stages[0] or b"", stages[1], stages[2], rel)
        if merged.data is None:
            why = f"could not merge it ({merged.problem}); resolve it by hand, then `tether ctx validate`"
            done.add(rel, why, f"{rel}: {why}")
            continue
        if merged.data != current:
            ws.store.write_document(rel, merged.data, "session context")
        if merged.clean:
            done.add(rel, "merged: both clones' changes", f"resolved {rel}")
            resolved.append(rel)
        else:
            line = next(n for n, text in enumerate(merged.data.decode("utf-8").splitlines(), 1)
                        if text.startswith("<<<<<<<"))
            left = (f"both clones set {', '.join(c.split(':', 1)[0] for c in merged.conflicts)} differently; the rest"
                    " is merged: keep one value at each marked place, then `tether ctx validate` and `git add` it")
            done.add(rel, f"line {line}: {left}", f"{rel}:{line}: {left}")
    return resolved


def _reads_as_latest(data: bytes, rel: str) -> bool:
    from ..errors import ParseError
    from ..store.formats import read_latest

    try:
        read_latest(data, rel)
    except ParseError:
        return False
    return True


def _blocks_in_conflict(data: bytes) -> bool:
    """Whether git's text merge conflicted inside tether's blocks (not only in hand-written text):
    a hunk that holds a block's marker, or lies between a begin and its end (two closes' blocks
    differ in their body, their markers in common)."""
    from ..gitio.semantic_merge import Unmergeable, split_hunks
    from ..store.formats import BLOCK_MARK

    try:
        hunks = split_hunks(data.decode("utf-8"))
    except (Unmergeable, UnicodeDecodeError):
        return True
    inside = False
    for hunk in hunks:
        if isinstance(hunk, str):
            begin, end = hunk.rfind(BLOCK_MARK + "begin "), hunk.rfind(BLOCK_MARK + "end ")
            if begin != end:  # the later of the two says where the common text leaves off
                inside = begin > end
        elif inside or BLOCK_MARK in "".join(hunk):
            return True
    return False
