"""``tether recall QUERY``: one call on :class:`tether.recall.Recall`, rendered."""

from __future__ import annotations

from ..errors import EXIT_DEGRADED, EXIT_OK, Problem
from .output import Result, problems_text


def _hit_text(hit: dict) -> str:
    where = f"{hit['path']}:{hit['line']}" if hit.get("line") else hit["path"]
    facts = [hit["at"] or "", hit["who"] or "", hit["session"] or ""]
    status = "" if hit["status"] == "current" else f" [{hit.get('stale') or hit['status']}]"
    head = f"{hit['kind']} {hit['id']}{status}: {hit['title']}"
    if hit.get("via") == "neighbours":
        head += " (matched by the notes written beside it, not its own words)"
    return f"{head}\n  {hit['text']}\n  {where}  {'  '.join(f for f in facts if f)}".rstrip()


def cmd_recall(args) -> Result:
    from ..recall import Recall

    found = Recall().search(" ".join(args.query), limit=args.limit, budget=args.budget, kinds=args.kind,
                            task=args.task, since=args.since, mode=args.mode)
    problems = [Problem(p["path"], p["line"], p["message"]) for p in found["problems"]]
    if found["hits"]:
        text = "\n\n".join(_hit_text(h) for h in found["hits"])
        more = " (more matched: raise --limit or --budget)" if found["truncated"] else ""
        text += f"\n\n{len(found['hits'])} hit{'' if len(found['hits']) == 1 else 's'} ({found['mode']}), about {found['tokens']} tokens{more}"
    else:
        text = f"Nothing found for {found['query']!r} ({found['mode']})."
    return Result(found, text + problems_text(problems), EXIT_DEGRADED if problems else EXIT_OK)


RECALL_OPTIONS = (
    (("--kind", "-k"), {"action": "append", "metavar": "KIND",
                        "help": "only this kind (repeatable, or comma-separated): task, checkpoint, decision, context,"
                                " progress, campaign, packet, offloaded, conversation"}),
    (("--task", "-t"), {"metavar": "ID", "help": "only records of this task"}),
    (("--since",), {"metavar": "DATE", "help": "only records from this date or time on (2026-11-01)"}),
    (("--limit", "-n"), {"type": int, "metavar": "N", "help": "at most N hits (default 8)"}),
    (("--budget",), {"type": int, "metavar": "TOKENS", "help": "at most about this many tokens in all (default 1200)"}),
    (("--mode", "-m"), {"choices": ("lexical", "semantic", "hybrid"),
                        "help": "lexical (BM25), semantic (the [recall] model's vectors) or hybrid (both, fused);"
                                " default: hybrid when tether.toml names a model and tether[semantic] is installed,"
                                " else lexical"}),
)


def register(sub, add) -> None:
    p = add(sub, "recall", cmd_recall, "Search everything tether keeps (tasks, checkpoints, decisions, notes, progress,"
                                       " campaigns, packets, offloaded results, archived transcripts), best first.")
    p.add_argument("query", nargs="+", metavar="QUERY", help="words to look for (any of them; rarer ones count more)")
    for flags, options in RECALL_OPTIONS:
        p.add_argument(*flags, **options)
