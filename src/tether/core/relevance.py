"""The older records that bear on the open tasks: what the brief adds after its essentials.

The brief shows the newest decisions and entries first; an old one that bears on today's task
would be buried under them. So boot matches each open task's title, definition, success
criteria and next actions against the decisions and the live gotchas, don'ts and learnings
that the brief would not show at their section's priority (all but the newest few of each),
and against the decisions beyond its window when the recall index exists: the index
(``local/recall.sqlite``) is read as it is, never refreshed here (a refresh walks the store).
Without it, only the records boot already read are matched, by shared words.

A record bears on a task when they share ``MIN_SHARED`` distinct words (of four letters or
more, common words left out); at most ``MOST`` records are kept, each under the task it shares
most with (the active task first on a tie). Computed when the brief is gathered, that is when
the warm-boot cache is built, never at a warm boot.
"""

from __future__ import annotations

import re

from ..errors import NotFound, ParseError

MIN_SHARED = 2
MOST = 8  # records, so the brief does not grow with history
KINDS = ("gotcha", "dont", "learning")
_INDEX_HITS = 20  # decisions asked of the recall index per task
_STOP = frozenset("about after again also before being between could does doing done each from have into "
                  "just like make more most only other over same should some such than that their them then "
                  "there these they this those through under until very what when where which while will "
                  "with would your task tasks step steps item items".split())


def words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", text.lower()) if len(w) >= 4 and w not in _STOP}


def task_text(resume) -> str:
    task = resume.task
    return " ".join([task.title, task.definition or "", *map(str, task.criteria or []),
                     *map(str, resume.next_actions or [])])


def relevant(store, resumes: list, active: str | None, decisions: list, notes: list) -> tuple[list[dict], str]:
    """([{"task", "kind", "id", "text", "when", "shared"}], how they were found: "recall index"
    or "word overlap"). ``decisions`` newest first; ``notes`` the live entries, oldest first."""
    index = store.recall_index_file() if resumes else None
    source = "recall index" if index is not None and _exists(index) else "word overlap"
    if not resumes:
        return [], source
    from .sections import HEAD  # the newest lines of each section, shown at its priority anyway

    first = {"decision": HEAD["decisions"], "gotcha": HEAD["gotchas"], "dont": HEAD["donts"],
             "learning": HEAD["learnings"]}
    candidates: dict[tuple[str, str], dict] = {}
    for d in decisions[first["decision"]:]:
        candidates[("decision", d.id)] = _decision(d)
    for kind in KINDS:
        # The active task's entries are shown under it; the newest of the others at their priority.
        general = [n for n in notes if n.kind == kind and (n.task is None or n.task != active)]
        for n in list(reversed(general))[first[kind]:]:
            candidates[(kind, n.id)] = {"kind": kind, "id": n.id, "text": n.text, "when": str(n.at)[:10],
                                        "words": words(n.text)}
    wanted = [(r.task.id, words(task_text(r))) for r in resumes]
    if source == "recall index":
        read = {d.id for d in decisions}
        for rid in _from_index(index, [task_text(r) for r in resumes]):
            if rid in read or ("decision", rid) in candidates:
                continue
            try:
                d = store.load_decision(rid)
            except (NotFound, ParseError):
                continue  # the index is older than the files: `tether recall` refreshes it
            candidates[("decision", d.id)] = _decision(d)
    order = {task_id: i for i, task_id in enumerate(tid for tid, _ in wanted)}
    found = []
    for item in candidates.values():
        best = max(((len(item["words"] & ws), -order[tid], tid) for tid, ws in wanted), default=None)
        if best is None or best[0] < MIN_SHARED:
            continue
        shared = sorted(item["words"] & dict(wanted)[best[2]])
        found.append({"task": best[2], "kind": item["kind"], "id": item["id"], "text": item["text"],
                      "when": item["when"], "shared": shared})
    found.sort(key=lambda f: f["when"], reverse=True)  # then, within a task, the most words shared first
    found.sort(key=lambda f: (order[f["task"]], -len(f["shared"])))
    return found[:MOST], source


def _decision(d) -> dict:
    return {"kind": "decision", "id": d.id, "text": f"{d.question} -> {d.decision}", "when": str(d.when)[:10],
            "words": words(f"{d.question} {d.decision} {getattr(d, 'rationale', '') or ''}")}


def _exists(path: str) -> bool:
    import os

    return os.path.isfile(path)


def _from_index(path: str, queries: list[str]) -> list[str]:
    """Decision ids the recall index ranks first for each query, read-only and as it is."""
    from ..recall.index import related

    out: list[str] = []
    for query in queries:
        out += [rid for rid in related(path, query, "decision", _INDEX_HITS) if rid not in out]
    return out
