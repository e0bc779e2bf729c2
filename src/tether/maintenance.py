"""Repairs that bring derived, tracked files back in line with the records (`tether index --repair`)."""

from __future__ import annotations

import os
import re

from .recordtype import Record

# A writer's temporary file lives for milliseconds; one this old was left by a killed writer.
STALE_TMP_SECONDS = 600
# What fsio (and the manifest cache) name them: ".<name>.<8 hex digits>.tmp" beside the file.
TMP_NAME = re.compile(r"\..+\.[0-9a-f]{8}\.tmp")


def remove_stale_tmp_files(ws, older_than: float = STALE_TMP_SECONDS) -> list[str]:
    """Delete temporary files that writers killed mid-write left behind; returns their paths.

    Readers and git ignore them, but nothing else would ever remove them. Only
    files named as tether names them and not modified for ``older_than`` seconds
    are removed, so a write in progress keeps its file. Paths are relative to
    the store directory, sorted.
    """
    import time

    cutoff = time.time() - older_than
    removed = []
    for directory, _dirs, names in os.walk(ws.store_dir):
        for name in names:
            if not TMP_NAME.fullmatch(name):
                continue
            path = os.path.join(directory, name)
            try:
                if os.lstat(path).st_mtime >= cutoff:
                    continue
                os.unlink(path)
            except FileNotFoundError:  # its writer finished after all, or another repair got it
                continue
            removed.append(os.path.relpath(path, ws.store_dir).replace(os.sep, "/"))
    return sorted(removed)


def repair_open_markers(ws) -> list[str]:
    """Make ``open/`` list exactly the tasks whose status is open; returns what changed."""
    store = ws.store
    changed: list[str] = []
    open_now = set(store.open_task_ids())
    should_be_open = set()
    for task_id in store.task_ids():
        try:
            task = store.load_task(task_id)
        except Exception as exc:
            if getattr(exc, "problem", None) is None:
                raise
            store.problems.append(exc.problem)
            if task_id in open_now:
                should_be_open.add(task_id)  # unreadable: keep its marker so boot reports it
            continue
        if task.status == "open":
            should_be_open.add(task_id)
    for task_id in sorted(should_be_open - open_now):
        store.tree.create(f"open/{task_id}", "")
        changed.append(f"added open/{task_id}")
    for task_id in sorted(open_now - should_be_open):
        store.tree.remove(f"open/{task_id}")
        changed.append(f"removed open/{task_id}")
    return changed


def repair_torn_lines(ws) -> list[str]:
    """Set aside (or, for a checkpoint journal, complete from the checkpoint file) the torn last line
    of each log, as the next write to it would; returns what was done, one line each."""
    from . import fsio
    from .store import journal

    store = ws.store
    logs = [("context.jsonl", None), ("memory/events.jsonl", None)]
    logs += [(f"tasks/{task_id}/{journal.JOURNAL}", task_id) for task_id in store.task_ids()]
    done = []
    for rel, task_id in logs:
        mend = (lambda torn, task_id=task_id: journal.whole_line(store, task_id, torn)) if task_id else None
        report = fsio.mend_log(os.path.join(ws.store_dir, rel), os.path.join(ws.store_dir, fsio.TORN_DIR, rel), mend)
        if report is not None:
            fsio.mended.remove(report)  # said here, not again by the command line
            done.append(describe_mended(report, store.shown(rel), ws.root_dir))
    return done


def describe_mended(report: dict, shown: str, root: str) -> str:
    """One line for a repaired torn line (fsio.mended)."""
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
    from .mergedriver import mark_resolved

    leftovers = remove_stale_tmp_files(ws)
    done, resolved = repair_generated(ws)
    done += repair_open_markers(ws)
    done += repair_torn_lines(ws)
    files = manifest.write(ws.store)
    marked = mark_resolved(ws.root_dir, resolved + [f"{ws.store.label}/{manifest.MANIFEST}"])
    return Repair(repaired=done, files=files, marked_resolved=marked, tmp_removed=len(leftovers))


def _latest_from_events(store) -> bytes | None:
    """LATEST.json rebuilt from the newest session_close event (the log merges by union)."""
    import json

    closes = [e for e in store.all_events() if e.get("event") == "session_close" and e.get("at")]
    if not closes:
        return None
    last = max(closes, key=lambda e: (str(e["at"]), str(e.get("session", ""))))
    date = str(last["at"])[:10]
    latest = {"date": date, "file": store.shown(f"progress/{date}.md"), "sha": last.get("sha"),
              "summary": str(last.get("summary", "")), "next_steps": last.get("next_steps") or [],
              "completed": last.get("completed") or [], "session": last.get("session"),
              "generated_at": last["at"]}
    return (json.dumps(latest, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def repair_generated(ws) -> tuple[list[str], list[str]]:
    """Resolve LATEST.json and the context document after a merge without the driver.

    The three versions come from git's index while the merge is unresolved,
    else from the conflict markers in the file. A file someone already
    resolved by hand is left alone. Returns (what was done, repository paths
    now resolved that git still lists as unmerged).
    """
    from .errors import TetherError
    from .fsio import write_atomic
    from .generated_merge import Unmergeable, has_conflict_markers, sides_of_conflicted
    from .mergedriver import cat_blobs, merge_generated, unmerged

    root = ws.root_dir
    try:
        document = ws.config.context_document
    except TetherError:  # no readable tether.toml: the document is where init puts it
        document = f"{ws.store.label}/CONTEXT.md"
    targets = [(f"{ws.store.label}/progress/LATEST.json", "latest"), (document, "context")]
    conflicted = unmerged(root, [t for t, _ in targets])
    done: list[str] = []
    resolved: list[str] = []
    for rel, kind in targets:
        try:
            with open(os.path.join(root, rel), "rb") as fh:
                current: bytes | None = fh.read()
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
            write_atomic(os.path.join(root, rel), merged)
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


def _blocks_in_conflict(data: bytes) -> bool:
    """Whether git's text merge conflicted inside tether's blocks (not only in hand-written text)."""
    from .generated_merge import Unmergeable, split_hunks

    try:
        hunks = split_hunks(data.decode("utf-8"))
    except (Unmergeable, UnicodeDecodeError):
        return True
    return any("<!-- tether:" in "".join(h) for h in hunks if not isinstance(h, str))
