"""The audit's rules: pure functions from gathered facts (see ``facts``) to findings.

Each finding names a file (and a line where there is one), says what was forgotten and how to fix
it; ``fixable`` ones are mended by ``tether audit --fix``. Times are ISO 8601 UTC stamps.
"""

from __future__ import annotations

from ..model import clock
from ..model.record import REQUIRED, Record

# Thresholds when tether.toml's [audit] leaves them out.
DEFAULTS = {"checkpoint_hours": 4.0, "checkpoint_events": 200, "busy_tool_calls": 40, "busy_files": 10,
            "recent_days": 3.0, "phrases": ["we should not lose this", "we must not lose this", "remember this",
                                            "don't forget this", "worth keeping"]}

RULES = ("checkpoint-overdue", "index-stale", "uncommitted", "context-stale", "decision-overdue", "cache-orphan",
         "link-broken", "maps-stale", "context-unsaved", "keep-unoffloaded", "busy-unsaved")
FIXABLE = ("index-stale", "context-stale", "maps-stale")
# What the next session must hear about first (the boot brief names these; it says itself which
# of tether's files differ from HEAD).
FOR_NEXT_SESSION = ("checkpoint-overdue", "decision-overdue", "keep-unoffloaded", "busy-unsaved", "context-unsaved",
                    "link-broken", "context-stale")
SHOWN_UNCOMMITTED = 20


class Finding(Record):
    FIELDS = {"rule": REQUIRED, "path": REQUIRED, "line": None, "message": REQUIRED, "fix": REQUIRED,
              "fixable": False}

    def where(self) -> str:
        return f"{self.path}:{self.line}" if self.line else self.path

    def text(self) -> str:
        return f"{self.where()}: [{self.rule}] {self.message}\n    fix: {self.fix}"


def _hours(since: str, now: str) -> float | None:
    try:
        return (clock.parse(now) - clock.parse(since)).total_seconds() / 3600
    except (ValueError, TypeError):
        return None


def checkpoint_overdue(active: dict | None, now: str, settings: dict) -> list[Finding]:
    """``active``: {"task", "path", "since", "checkpoint" (id or None), "events"} of the open active task."""
    if not active:
        return []
    hours = settings["checkpoint_hours"]
    limit = settings["checkpoint_events"]
    age = _hours(active["since"], now)
    why = []
    if age is not None and age > hours:
        why.append(f"{age:.1f} hours ago (more than {hours:g})")
    if limit and active["events"] >= limit:
        why.append(f"{active['events']} events ago (at least {limit})")
    if not why:
        return []
    task = active["task"]
    what = f"its newest checkpoint, {active['checkpoint']}, was" if active["checkpoint"] else "it has no checkpoint; it started"
    return [Finding(rule="checkpoint-overdue", path=active["path"],
                    message=f"task {task} is active and {what} {' and '.join(why)}",
                    fix=f'`tether checkpoint --task {task} --state "..."` (or, if it is finished,'
                        f" `tether task complete {task}`)")]


def index_stale(index: dict | None) -> list[Finding]:
    """``index``: {"path", "why"} when the manifest does not list the store's files as they are."""
    if not index:
        return []
    return [Finding(rule="index-stale", path=index["path"], message=index["why"],
                    fix="`tether index` (or `tether audit --fix`)", fixable=True)]


def uncommitted(paths: list[str] | None, label: str) -> list[Finding]:
    if not paths:
        return []
    fix = "commit them: `tether close --summary \"...\" --commit`, or `git add .tether && git commit`"
    out = [Finding(rule="uncommitted", path=path, message="tether's file is changed or new and not committed", fix=fix)
           for path in paths[:SHOWN_UNCOMMITTED]]
    if len(paths) > SHOWN_UNCOMMITTED:
        out.append(Finding(rule="uncommitted", path=label,
                           message=f"and {len(paths) - SHOWN_UNCOMMITTED} more of tether's files are not committed",
                           fix=f"`git status {label}` lists them"))
    return out


def context_stale(document: dict | None, last_change: dict | None) -> list[Finding]:
    """``document``: {"path", "line", "updated", "disagrees"} of the session context document
    (updated None: no stamp, or no document; disagrees: (heading, line) of each generated section
    that says something else than the records, as a merge that kept one side's leaves it);
    ``last_change``: {"event", "at", "what"}: the newest close or decision."""
    if document and document.get("disagrees"):
        found = document["disagrees"]
        headings = ", ".join(heading for heading, _ in found)
        return [Finding(rule="context-stale", path=document["path"], line=found[0][1],
                        message=f"the session context document's generated sections ({headings}) disagree with"
                                " the records (a merge kept one side's, or a write was cut short)",
                        fix="`tether audit --fix` regenerates them (hand-written parts are kept)", fixable=True)]
    if not document or not last_change:
        return []
    updated = document.get("updated")
    if updated is not None and updated >= last_change["at"]:
        return []
    said = f"was last updated {updated}" if updated else ("is missing" if not document.get("exists")
                                                          else "says nothing of when it was updated")
    return [Finding(rule="context-stale", path=document["path"], line=document.get("line"),
                    message=f"the session context document {said}, before the last {last_change['what']}"
                            f" ({last_change['at']})",
                    fix="`tether audit --fix` regenerates it (hand-written parts are kept)", fixable=True)]


def decision_overdue(decisions: list[dict]) -> list[Finding]:
    """``decisions``: {"path", "line", "id", "question", "deadline", "owner"} of pending ctx decisions past deadline."""
    return [Finding(rule="decision-overdue", path=d["path"], line=d.get("line"),
                    message=f"decision {d['id']} ({d['question']}) is still pending; its deadline {d['deadline']}"
                            f" has passed" + (f" (owner: {d['owner']})" if d.get("owner") else ""),
                    fix=f'`tether ctx decide {d["id"]} --decision "..." --context {d["path"]}` (or escalate it'
                        " again with a new deadline)")
            for d in decisions]


def cache_orphans(files: list[tuple[str, str, str]], referenced: set) -> list[Finding]:
    """``files``: (kind, digest, shown path) in the cache; ``referenced``: digests some log names, and
    references (``conversations/4a5a1c53ed25``: the kind and the digest's first 12 digits)."""
    out = []
    for kind, digest, path in files:
        if digest not in referenced and f"{kind}/{digest[:12]}" not in referenced:
            out.append(Finding(rule="cache-orphan", path=path,
                               message=f"this cached file ({kind}) is referenced by nothing in the store: no"
                                       " compaction log line, no compaction record of a session",
                               fix=f"if no stub of yours names it, delete it (`git rm {path}` once committed);"
                                   " if one does, keep it"
                                   f" (`tether show {kind}/{digest[:12]}` shows it)"))
    return out


def links_broken(links: list[dict]) -> list[Finding]:
    """``links``: {"id", "path", "line", "target", "resolution"} of active links that no longer resolve."""
    return [Finding(rule="link-broken", path=item["path"], line=item.get("line"),
                    message=f"link {item['id']} to {item['target']} no longer resolves ({item['resolution']})",
                    fix=f"restore {item['target']}, or `tether offload retire {item['id']} --reason \"moved\"`"
                        " and add a link to where it went")
            for item in links]


def maps_stale(paths: list[str]) -> list[Finding]:
    return [Finding(rule="maps-stale", path=path, message="this navigation map does not say what the packets say",
                    fix="`tether offload map` (or `tether audit --fix`)", fixable=True) for path in paths]


def context_unsaved(states: list[dict], newest_save: str | None) -> list[Finding]:
    """``states``: {"session", "path", "line", "state", "percent", "at"}: the sessions whose context is
    ORANGE or worse now (not compacted since), with the line where they entered it; ``newest_save``:
    the time of the newest checkpoint (of any task, open or not) or close."""
    out = []
    for s in states:
        if newest_save is not None and newest_save >= s["at"]:
            continue
        out.append(Finding(rule="context-unsaved", path=s["path"], line=s.get("line"),
                           message=f"session {s['session']} has been {s['state']} ({s['percent']}% of its context)"
                                   f" since {s['at']} with no checkpoint since",
                           fix='`tether checkpoint --state "..."` now, then compact or start a fresh session'
                               " (`tether resume` picks up)"))
    return out


def keep_unoffloaded(mentions: list[dict], packets: list[str]) -> list[Finding]:
    """``mentions``: {"session", "path", "line", "phrase", "at", "excerpt"}: the newest phrase asking to
    keep something in each recent transcript; ``packets``: when each offload packet was created."""
    newest = max(packets) if packets else None
    out = []
    for m in mentions:
        if newest is not None and m["at"] is not None and newest >= m["at"]:
            continue
        out.append(Finding(rule="keep-unoffloaded", path=m["path"], line=m.get("line"),
                           message=f"session {m['session']} said \"{m['phrase']}\" ({m['at'] or 'time unknown'}:"
                                   f" {m['excerpt']!r}) and nothing was offloaded after it",
                           fix='`tether offload add blob CLUSTER "TITLE" -` with what was to be kept on stdin'
                               " (or `tether close --offload`)"))
    return out


def busy_unsaved(sessions: list[dict], settings: dict) -> list[Finding]:
    """``sessions``: {"session", "path", "calls", "files", "closed", "offloaded"} of recent sessions."""
    out = []
    for s in sessions:
        if s["closed"] or s["offloaded"]:
            continue
        if s["calls"] < settings["busy_tool_calls"] and s["files"] < settings["busy_files"]:
            continue
        out.append(Finding(rule="busy-unsaved", path=s["path"],
                           message=f"session {s['session']} made {s['calls']} tool calls and changed {s['files']}"
                                   " files, and offloaded and closed nothing",
                           fix='`tether close --summary "..."` (with --offload to keep its learnings), or'
                               " `tether offload add ...` what it found"))
    return out
