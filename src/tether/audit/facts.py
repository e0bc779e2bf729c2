"""What the audit's rules look at, gathered through the workspace's interfaces: the store (tasks,
logs, the per-machine session files), the offload and campaign facades, the transcript readers,
and gitio for git. Each function returns plain data for one rule (see ``rules``); the costly ones
(transcripts, the memory log in full, packets) run only when there is something for them to read.
"""

from __future__ import annotations

import re

from ..model import clock

WARN_STATES = ("ORANGE", "RED", "CRITICAL")
RECENT_EVENTS = 500  # memory-log events read back from the end (the log only grows), at least
TRANSCRIPT_LINES = 5000  # transcript lines read back from the end, per session
_DIGEST = re.compile(rb"(?<![0-9a-f])[0-9a-f]{64}(?![0-9a-f])")
_REF = re.compile(rb"(?<![\w/])(?:offloaded|conversations)/[0-9a-f]{12}(?![0-9a-f])")
_UPDATED = re.compile(r"_Updated (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)")


def _since(stamp: str, days: float) -> bool:
    """Whether ``stamp`` falls within the last ``days`` (now: clock.now(), TETHER_NOW pins it)."""
    from datetime import timedelta

    try:
        return clock.parse(stamp) >= clock.now() - timedelta(days=days)
    except (ValueError, TypeError):
        return False


def recent_events(ws, settings: dict) -> list[dict]:
    return ws.store.event_tail(max(RECENT_EVENTS, settings["checkpoint_events"] + 1))


def active(ws, events: list[dict], sessions: list[dict]) -> dict | None:
    task_id = ws.active_task_id()
    if task_id is None:
        return None
    task = ws.task(task_id)
    if task.status != "open":
        return None
    latest = ws.latest_checkpoint(task_id)
    since = latest.created if latest is not None else task.created
    count = sum(1 for e in events if e.get("at", "") > since)
    count += sum(1 for s in sessions for row in s["trail"] if row.get("at", "") > since)
    return {"task": task_id, "path": ws.store.task_path(task_id), "since": since,
            "checkpoint": latest.id if latest is not None else None, "events": count}


def index(ws, uncommitted: list[str] | None, last: dict | None) -> tuple[dict | None, str | None]:
    """Whether the manifest is stale, and the commit at which it is known current (None: unknown).

    Checking it stats every file of the store. When git says no file of the store differs from
    the commit, the manifest's state is that commit's: an earlier audit that found it current at
    the same commit answers for it."""
    from ..gitio.refs import head_sha

    head = head_sha(ws.root_dir) if uncommitted is not None else None
    known = head is not None and last is not None and last.get("index_current_at") == head
    if known and not uncommitted:
        return None, head
    manifest = ws.store.manifest_path()
    if known and manifest not in uncommitted:
        # Current at the commit, unchanged since, while files it lists changed: stale, no stat needed.
        names = [p.removeprefix(ws.store.label + "/") for p in uncommitted[:3]]
        return {"path": manifest, "why": f"it does not list the store's files as they are ({len(uncommitted)} changed"
                                         f" or added since the last commit: {', '.join(names)}"
                                         + (", ..." if len(uncommitted) > 3 else "") + ")"}, head
    check = ws.check_index()
    if not check.stale:
        return None, head if known or not uncommitted else None
    if check.problem:
        why = check.problem
    else:
        parts = [f"{len(v)} {k}" for k, v in (("added", check.added), ("removed", check.removed),
                                               ("changed", check.changed)) if v]
        names = (check.added + check.changed + check.removed)[:3]
        why = (f"it does not list the store's files as they are ({', '.join(parts)}: "
               + ", ".join(names) + (", ..." if sum(map(len, (check.added, check.changed, check.removed))) > 3 else "")
               + ")")
    return {"path": ws.store.manifest_path(), "why": why}, None


def uncommitted(ws, full: bool = False) -> list[str] | None:
    """tether's files git reports changed or untracked; None without git. Asked of git about
    what can have changed since the last audit on this machine (warm.status), or with ``full``
    about every file."""
    from ..errors import GitProblem
    from ..warm import status

    try:
        return status.changed(ws.root_dir, ws.store_dir, ws.store.label, full)[0]
    except GitProblem:
        return None


def context_document(ws, events: list[dict]) -> tuple[dict | None, dict | None]:
    """The document's stamp and line, and the generated sections that disagree with the records
    ("disagrees": (heading, line) each); and the newest close or decision in the memory log."""
    from ..core.close import document_disagrees
    from ..errors import TetherError

    changes = [e for e in events if e.get("event") in ("session_close", "decision")]
    last = None
    if changes:
        newest = max(changes, key=lambda e: e.get("at", ""))
        what = "close" if newest["event"] == "session_close" else f"decision ({newest.get('decision')})"
        last = {"at": newest["at"], "what": what}
    path = ws.config.context_document
    data = ws.store.read_document(path)
    try:
        disagrees = document_disagrees(ws) if data is not None else []
    except TetherError:
        disagrees = []  # a document that does not read: verify names it
    doc = {"path": path, "exists": data is not None, "updated": None, "line": None, "disagrees": disagrees}
    if data is not None:
        text = data.decode("utf-8", "replace")
        match = _UPDATED.search(text)
        if match:
            doc["updated"] = match.group(1)
            doc["line"] = text.count("\n", 0, match.start()) + 1
    return doc, last


def overdue_decisions(ws) -> tuple[list[dict], list]:
    """Pending `tether ctx` decisions past their deadline, in every session context."""
    import os

    if not ws.store.campaign_contexts() and not os.path.isdir(os.path.join(ws.root_dir, ".gtm")):
        return [], []  # no session context (in the store, or in the seed's .gtm/): campaign code not loaded
    from ..campaign.api import Campaign
    from ..errors import TetherError

    out, problems = [], []
    for row in Campaign.list(ws):
        if row.get("status") in ("unreadable", "closed", "archived") or not row.get("path"):
            continue
        try:
            camp = Campaign.open(context=os.path.join(ws.root_dir, row["path"]), workspace=ws)
            late = camp.decisions(overdue_only=True)["pending"]
        except TetherError:
            continue  # `tether ctx validate` says what is wrong with it
        if not late:
            continue
        text = _read_text(ws, row["path"])
        for d in late:
            out.append({"path": row["path"], "line": _line_of(text, f"id: {d.get('id')}"), "id": d.get("id"),
                        "question": d.get("question"), "deadline": d.get("deadline"), "owner": d.get("escalated_to")})
    return out, problems


def _read_text(ws, path: str) -> str:
    import os

    try:
        with open(os.path.join(ws.root_dir, path), "rb") as fh:
            return fh.read().decode("utf-8", "replace")
    except OSError:
        return ""


def _line_of(text: str, needle: str) -> int | None:
    for number, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return number
    return None


def cache(ws) -> tuple[list, set]:
    files = ws.store.cached_files()
    if not files:
        return [], set()
    referenced = set()
    for _path, data in ws.store.cache_referrers():
        referenced.update(m.decode() for m in _DIGEST.findall(data))
        # "conversations/4a5a1c53ed25", as a session log line written before PostCompact's summary
        # had a compaction log line names it
        referenced.update(m.decode() for m in _REF.findall(data))
    return files, referenced


def packets(ws) -> tuple[list[dict], list]:
    """Every packet's map entry (retired ones too), and the problems met reading them."""
    if not ws.store.offload_clusters():
        return [], []
    from ..offload import Offload

    off = Offload(ws)
    return off.list(include_retired=True), off.problems


def broken_links(ws, entries: list[dict]) -> list[dict]:
    from ..offload import links

    out = []
    for item in entries:
        if item["kind"] != "link" or item["status"] != "active" or item.get("resolves") is None:
            continue  # a URL or an artefact: never fetched, nothing to compare
        now = links.check(ws.root_dir, item["target"])
        if now["resolves"] is False:
            data = ws.store.read_packet(item["cluster"], item["id"]) or b""
            out.append({"id": item["id"], "path": item["path"], "target": item["target"],
                        "resolution": now["resolution"],
                        "line": _line_of(data.decode("utf-8", "replace"), "target:")})
    return out


def stale_maps(ws) -> list[str]:
    if not ws.store.offload_clusters():
        return []
    from ..offload import Offload

    return Offload(ws).refresh(check=True)["stale"]


def sessions(ws, days: float) -> list[dict]:
    """The sessions this machine's session log saw in the last ``days``, each with its rows, its
    transcript, its trail and its context state now."""
    by: dict[str, dict] = {}
    for number, row in ws.store.session_log_rows():
        s = by.setdefault(row["session"], {"session": row["session"], "first": row["at"], "last": row["at"],
                                           "rows": [], "transcript": None})
        s["rows"].append((number, row))
        s["first"], s["last"] = min(s["first"], row["at"]), max(s["last"], row["at"])
        if isinstance(row.get("transcript"), str) and row["transcript"]:
            s["transcript"] = row["transcript"]
    out = []
    for s in by.values():
        if not _since(s["last"], days):
            continue
        s["trail"] = ws.store.trail_rows(s["session"])
        s["trail_path"] = ws.store.trail_path(s["session"])
        out.append(s)
    return sorted(out, key=lambda s: s["first"])


COMPACTED = ("pre_compact", "post_compact")  # session-log rows of a compaction (a compacted session's start too)


def context_states(ws, recent: list[dict]) -> list[dict]:
    """Sessions whose context is ORANGE or worse now (the UserPromptSubmit hook's per-session
    state), with the session-log line where they entered that state. A session compacted after
    that line is not: its context was emptied, whatever the state kept from its last prompt says."""
    from ..warm import context_states as states

    out = []
    for s in recent:
        changes = [(n, r) for n, r in s["rows"] if r.get("event") == "context_state"]
        if not changes:
            continue
        number, row = changes[-1]
        if any(n > number and (r.get("event") in COMPACTED or r.get("event") == "session_start"
                               and r.get("source") == "compact") for n, r in s["rows"]):
            continue
        now = states.last(ws.store_dir, s["session"])
        state = (now or {}).get("state") or row.get("state")
        if state not in WARN_STATES or row.get("state") not in WARN_STATES:
            continue
        out.append({"session": s["session"], "path": ws.store.session_log_path(), "line": number, "state": state,
                    "percent": (now or row).get("percent"), "at": row["at"]})
    return out


def newest_save(ws, events: list[dict]) -> str | None:
    """When the work was last saved: the newest checkpoint of any task or close, from the memory
    log's last lines, and each open task's newest checkpoint (its log line may be missing: it is
    not flushed on its own)."""
    times = [e["at"] for e in events if e.get("event") in ("checkpoint", "session_close")]
    for task in ws.tasks():
        latest = ws.latest_checkpoint(task.id)
        if latest is not None:
            times.append(latest.created)
    return max(times, default=None)


def keep_mentions(ws, recent: list[dict], phrases: list[str]) -> list[dict]:
    """The newest phrase asking to keep something in each recent session's transcript."""
    from ..transcripts import phrases as finder

    out = []
    for s in recent:
        path = s["transcript"]
        if not path:
            continue
        try:
            found = finder.find(path, phrases, TRANSCRIPT_LINES)
            if not found:
                continue
            first = found[0]
            line = finder.line_of(path, first["offset"])
        except OSError:
            continue  # a transcript moved or deleted: nothing to read
        out.append({"session": s["session"], "path": path, "line": line, "phrase": first["phrase"],
                    "at": first["at"] or s["last"], "excerpt": first["excerpt"]})
    return out


def busy(ws, recent: list[dict], events: list[dict], created: list[str]) -> list[dict]:
    """What each recent session did (tool calls and files in its trail) and whether it closed or
    offloaded anything (a packet created since it started)."""
    closed = {e.get("session") for e in events if e.get("event") == "session_close"}
    out = []
    for s in recent:
        from ..core.tool_trail import files as trail_files

        files = trail_files(s["trail"])
        out.append({"session": s["session"], "path": s["trail_path"], "calls": len(s["trail"]), "files": len(files),
                    "closed": s["session"] in closed, "offloaded": any(c >= s["first"] for c in created)})
    return out
