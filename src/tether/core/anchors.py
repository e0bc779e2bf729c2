"""Memories anchored to code: pin what a memory cites, flag what changed since, re-confirm.

The blob ids come from warm.anchors (the working tree's files, each id kept with
its stat): no git process per memory, nor at all once the ids are kept.
"""

from __future__ import annotations

import os

from ..errors import Conflict, GitProblem, InvalidInput, NotFound


def checker(ws):
    from ..warm.anchors import Checker

    return Checker(ws.root_dir, ws.store_dir)


def pin(ws, explicit, texts) -> dict[str, str]:
    """citation -> blob id for the citations given (each must name a file of the repository)
    and those found in ``texts``."""
    from ..warm.anchors import cited, norm, split, symbol_of

    root = ws.root_dir
    wanted: list[str] = []
    symbols: list[str] = []
    for given in explicit or []:
        path, line = split(given.strip())
        symbol = symbol_of(given.strip())
        rel = norm(root, path)
        shapes = "give a path from the repository root, e.g. --anchor src/a.py, src/a.py:12 or src/a.py::parse"
        if rel is None or not os.path.isfile(os.path.join(root, rel)):
            head, colon, tail = given.strip().partition(":")
            if colon and symbol is None and os.path.isfile(os.path.join(root, head)):
                raise InvalidInput(f"--anchor {given!r}: {tail!r} is neither a line number nor ::SYMBOL", hint=shapes)
            raise InvalidInput(f"--anchor {given!r} names no file of the repository", hint=shapes)
        count = _lines(os.path.join(root, rel)) if line is not None else 0
        if line is not None and not 1 <= line <= count:
            raise InvalidInput(f"--anchor {given!r}: {rel} has {count} line{'s' if count != 1 else ''}",
                               hint="cite a line the file has, or the file alone")
        if symbol is not None and not _valid_symbol(symbol):
            raise InvalidInput(f"--anchor {given!r}: {symbol!r} is not a symbol name",
                               hint="name a definition: --anchor src/a.py::parse or src/a.py::Checker.flags")
        citation = f"{rel}::{symbol}" if symbol else f"{rel}:{line}" if line else rel
        wanted.append(citation)
        if symbol:
            symbols.append(citation)
    # A file named in the text is pinned whole, unless an --anchor already cites it more exactly
    # (a line, a symbol): the text's mention must not flag the memory for an edit elsewhere.
    given = {split(c)[0] for c in wanted}
    for c in cited(root, texts, lambda: _repo_files(root)):
        path, line = split(c)
        if line is not None and not 1 <= line <= _lines(os.path.join(root, path)):
            c = path  # a text citing a line the file lacks (a typo, an older version): the file it names
        if c not in wanted and path not in given:
            wanted.append(c)
    if not wanted:
        return {}
    check = checker(ws)
    pinned = check.pin(wanted)
    check.save()
    missing = [c for c in symbols if c not in pinned]
    if missing:
        path, _, symbol = missing[0].partition("::")
        raise InvalidInput(f"--anchor {missing[0]!r}: {path} defines no {symbol}",
                           hint="name a function, class, method (Class.method) or top-level name the file defines")
    return pinned


def _lines(path: str) -> int:
    with open(path, "rb") as fh:
        data = fh.read()
    return data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)


def carried(ws, edited: list[str], texts: list[str], previous: dict[str, str]) -> dict[str, str]:
    """The anchors of an automatic checkpoint: the files the session's tools edited, pinned as they
    are now, and what its carried texts cite; a citation of a file not edited since keeps the pin
    of the checkpoint it was carried from (a change by anyone else stays visible to
    `tether verify --stale`)."""
    from ..store.locate import STORE_DIR
    from ..warm.anchors import split

    root = ws.root_dir
    files = [f for f in edited
             if not f.startswith(STORE_DIR + "/") and os.path.isfile(os.path.join(root, f))]
    changed = set(edited)
    out = {c: blob for c, blob in previous.items() if split(c)[0] not in changed}
    try:
        fresh = pin(ws, files, texts)
    except InvalidInput:  # a file gone between the call and now: the texts' citations still count
        fresh = pin(ws, [], texts)
    for citation, blob in fresh.items():
        out.setdefault(citation, blob)
    return out


def _valid_symbol(symbol: str) -> bool:
    from ..model.symbols import valid

    return valid(symbol)


def _repo_files(root: str) -> list[str]:
    from ..gitio.objects import tracked_files

    try:
        return tracked_files(root)
    except (GitProblem, OSError):  # not a repository, or git missing: bare names stay unresolved
        return []


def flag_all(ws, records) -> dict[str, list[dict]]:
    """record id -> its stale anchors' flags, for the records that have any."""
    check = None
    out = {}
    for record in records:
        if getattr(record, "anchors", None):
            check = check or checker(ws)
            flags = check.flags(record.anchors, since=recorded_at(record))
            if flags:
                out[record.id] = flags
    if check is not None:
        check.save()
    return out


def recorded_at(record) -> str | None:
    """When a decision (when), context entry (at) or checkpoint (created) was recorded."""
    for name in ("when", "at", "created"):
        value = getattr(record, name, None)
        if isinstance(value, str) and value:
            return value
    return None


def stale(ws) -> list[dict]:
    """Every current decision and context entry, and each open task's newest checkpoint, with an
    anchor whose file changed or is gone (tether verify --stale)."""
    from .memory import decisions, notes

    found = []
    items = [("decision", d) for d in decisions(ws)] + [("note", n) for n in notes(ws)]
    for task in ws.tasks():  # each open task's newest checkpoint: where the next session resumes
        ckp = ws.latest_checkpoint(task.id)
        if ckp is not None:
            items.append(("checkpoint", ckp))
    flagged = flag_all(ws, [r for _, r in items])
    for kind, record in items:
        if record.id in flagged:
            text = {"decision": "question", "note": "text"}.get(kind)
            text = getattr(record, text) if text else f"{record.task}: {record.current_state}"
            found.append({"kind": kind, "id": record.id, "text": text, "flags": flagged[record.id]})
    return found


def confirm(ws, memory_id: str) -> dict:
    """Re-pin a decision's or context entry's anchors to their files as they are now."""
    from .memory import notes

    check = checker(ws)
    try:
        decision = ws.store.load_decision(memory_id)
    except NotFound:
        decision = None
    if decision is not None:
        anchors = _repin(check, decision.anchors, memory_id)
        decision.anchors = anchors
        ws.store.replace_decision(decision)
        check.save()
        return {"kind": "decision", "id": memory_id, "anchors": anchors}
    matches = [n for n in notes(ws, include_resolved=True) if n.id == memory_id]
    if not matches and memory_id.upper().startswith("CKP-"):
        # A checkpoint is a moment, never rewritten: the task's next checkpoint is its confirmation.
        raise InvalidInput(f"{memory_id} is a checkpoint: checkpoints are not re-confirmed in place",
                           hint="record the task's next checkpoint; it supersedes this one and pins what it cites"
                                " (--anchor PATH[:LINE])")
    if not matches:
        raise NotFound(f"no decision or context entry {memory_id}",
                       hint="run `tether verify --stale` to see the ids of stale memories")
    if matches[0].resolved:  # it no longer applies: there is nothing to hold true
        raise Conflict(f"entry {memory_id} is resolved ({matches[0].resolved[:10]}): there is nothing to confirm",
                       hint="record it anew if it holds again (`tether note KIND TEXT`)")
    anchors = _repin(check, matches[0].anchors, memory_id)
    from ..model import clock

    with ws.store.lock("context"):
        ws.store.append_note({"confirm": memory_id, "at": clock.stamp(), "anchors": anchors})
    check.save()
    return {"kind": "note", "id": memory_id, "anchors": anchors}


def _repin(check, anchors: dict, memory_id: str) -> dict[str, str]:
    if not anchors:
        raise InvalidInput(f"{memory_id} cites no code: nothing to confirm",
                           hint="anchors are given with --anchor PATH[:LINE] or found in the text")
    gone = [f["path"] for f in check.flags(anchors) if f["state"] == "gone"]
    if gone:
        raise InvalidInput(f"{memory_id} cites {', '.join(gone)}, which is gone",
                           hint=f"resolve it (`tether note resolve {memory_id}`) or record it anew")
    return check.pin(anchors)
