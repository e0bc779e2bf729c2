"""Repairs that bring derived, tracked files back in line with the records (`tether index --repair`)."""

from __future__ import annotations

from ..errors import ParseError
from ..model.record import Record
from ..model.records import Latest


def repair_open_markers(ws) -> list[str]:
    """Make ``open/`` list exactly the tasks whose status is open; returns what changed."""
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
        changed.append(f"added open/{task_id}")
    for task_id in sorted(open_now - should_be_open):
        store.set_open_marker(task_id, False)
        changed.append(f"removed open/{task_id}")
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
    FIELDS = {"repaired": list, "files": 0, "marked_resolved": list, "tmp_removed": 0}


def repair(ws) -> Repair:
    """`tether index --repair`: generated files a merge left conflicted, open markers, torn last lines
    of the logs, the manifest.

    LATEST.json and the context document are merged as the merge driver
    would have; index.json is rewritten from the files. Those that git still
    lists as unmerged and are now clean are marked resolved (`git add`), so
    `git commit` can conclude the merge.
    """
    from . import manifest
    from ..gitio.mergedriver import mark_resolved

    leftovers = ws.store.remove_leftovers()
    done, resolved = repair_generated(ws)
    done += repair_open_markers(ws)
    offload_done, maps = repair_offload_maps(ws)
    done += offload_done
    resolved += maps
    done += [describe_mended(r, r["path"], ws.root_dir) for r in ws.store.mend_logs()]
    files = manifest.write(ws.store)
    marked = mark_resolved(ws.root_dir, resolved + [ws.store.manifest_path()])
    return Repair(repaired=done, files=files, marked_resolved=marked, tmp_removed=len(leftovers))


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


def repair_offload_maps(ws) -> tuple[list[str], list[str]]:
    """Rewrite the offload maps from the packets (a merge keeps one side's maps, or git's text merge
    left conflict markers in them); (what was done, every map's path, for `git add` when unmerged)."""
    store = ws.store
    if not store.offload_clusters() and store.read_map(None, "text") is None:
        return [], []
    from ..offload.api import Offload

    off = Offload(ws)
    outcome = off.refresh()
    for problem in off.problems:
        store.report(problem)
    paths = [p for name in [None, *store.offload_clusters()] for p in store.map_paths(name)]
    return [f"rewrote {p}" for p in outcome["written"]], paths


def repair_generated(ws) -> tuple[list[str], list[str]]:
    """Resolve LATEST.json and the context document after a merge without the driver.

    The three versions come from git's index while the merge is unresolved,
    else from the conflict markers in the file. A file someone already
    resolved by hand is left alone. Returns (what was done, repository paths
    now resolved that git still lists as unmerged).
    """
    from ..errors import TetherError
    from ..gitio.semantic_merge import Unmergeable, has_conflict_markers, sides_of_conflicted
    from ..gitio.mergedriver import merge_generated, unmerged
    from ..gitio.objects import cat_blobs

    root = ws.root_dir
    try:
        document = ws.config.context_document
    except TetherError:  # no readable tether.toml: the document is where init puts it
        document = ws.store.default_document()
    targets = [(ws.store.latest_path(), "latest"), (document, "context")]
    conflicted = unmerged(root, [t for t, _ in targets])
    done: list[str] = []
    resolved: list[str] = []
    for rel, kind in targets:
        try:
            current: bytes | None = ws.store.read_document(rel)
        except OSError:
            current = None
        marked = current is not None and has_conflict_markers(current)
        try:
            if rel in conflicted:
                base, ours, theirs = (s or b"" for s in cat_blobs(root, [f":{n}:{rel}" for n in (1, 2, 3)]))
                if not marked and current is not None and current != ours:
                    done.append(f"left {rel} as it was resolved; `git add` it")
                    continue
            elif marked:
                base, ours, theirs = (s.encode("utf-8") for s in sides_of_conflicted(current.decode("utf-8")))
            else:
                if kind == "latest" and current is not None and not _reads_as_latest(current, rel):
                    rebuilt = _latest_from_events(ws.store)  # generated: the memory log says what it held
                    if rebuilt is None:
                        done.append(f"could not rebuild {rel}: the memory log holds no close; restore it from git")
                    else:
                        ws.store.write_document(rel, rebuilt)
                        done.append(f"rebuilt {rel} from the memory log's newest close (it did not read)")
                continue
            merged, clean = merge_generated(kind, base, ours, theirs)
        except (Unmergeable, UnicodeDecodeError) as exc:
            merged = _latest_from_events(ws.store) if kind == "latest" else None
            if merged is None:
                done.append(f"could not resolve {rel} ({exc}); fix it by hand")
                continue
            clean = True
        if not clean and marked and not _blocks_in_conflict(current):
            merged = current  # only hand-written lines conflict, perhaps half resolved already: the user's
        else:
            ws.store.write_document(rel, merged)
        if clean:
            done.append(f"resolved {rel}")
            if rel in conflicted:
                resolved.append(rel)
        else:
            line = next((n for n, text in enumerate(merged.decode("utf-8").splitlines(), 1)
                         if text.startswith("<<<<<<<")), 1)
            done.append(f"{rel}:{line}: hand-written lines that both sides changed are left for you"
                        " (edit them, then `git add` the file)")
    return done, resolved


def _reads_as_latest(data: bytes, rel: str) -> bool:
    from ..errors import ParseError
    from ..store.formats import read_latest

    try:
        read_latest(data, rel)
    except ParseError:
        return False
    return True


def _blocks_in_conflict(data: bytes) -> bool:
    """Whether git's text merge conflicted inside tether's blocks (not only in hand-written text)."""
    from ..gitio.semantic_merge import Unmergeable, split_hunks
    from ..store.formats import BLOCK_MARK

    try:
        hunks = split_hunks(data.decode("utf-8"))
    except (Unmergeable, UnicodeDecodeError):
        return True
    return any(BLOCK_MARK in "".join(h) for h in hunks if not isinstance(h, str))
