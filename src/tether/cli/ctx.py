"""``tether ctx ...``: the shared session context of multi-skill workflows (seed 004).

Each handler finds the context (--context PATH, --campaign ID, $TETHER_CONTEXT, or
the only open one), makes one call on :class:`tether.campaign.Campaign`, renders.
Checks exit 0 for ALLOWED and 4 for BLOCKED, so a shell manager can branch on them.
"""

from __future__ import annotations

from ..errors import EXIT_DEGRADED, EXIT_OK, EXIT_REFUSED, InvalidInput
from .commands import Parser
from .output import Result, read_input


def _campaign(args):
    from ..campaign import Campaign

    return Campaign.open(context=args.context, campaign=args.campaign, roles=getattr(args, "roles", None))


def _read_result(source: str):
    """A skill result from a file or stdin ('-'), as YAML (JSON is YAML too)."""
    from ..campaign.document import parse_yaml

    data, shown = read_input(source, "give a YAML or JSON file, or - for stdin", shown_stdin="<stdin>")
    parsed, _ = parse_yaml(data, shown)
    return parsed


def cmd_init(args) -> Result:
    from ..campaign import Campaign

    camp = Campaign.create(args.campaign_id, args.owner, context=args.context, context_id=args.id,
                           title=args.title or "", tier=args.tier, task_type=args.type or "",
                           description=args.description or "", assigned_to=args.assigned_to,
                           objectives=args.objective or [], boundaries=args.boundary or [],
                           out_of_scope=args.out_of_scope or [], max_skill_calls=args.max_skill_calls,
                           max_tokens=args.max_tokens, deadline=args.deadline)
    doc = camp.load()
    learned = len((doc.get("knowledge") or {}).get("past_learnings") or [])
    text = (f"Started session context {doc['id']} for {args.campaign_id} (status kickoff)\n  {camp.file.shown}"
            + (f"\n  {learned} past learnings loaded from memory" if learned else ""))
    return Result({"context": camp.file.shown, "id": doc["id"], "campaign": args.campaign_id,
                   "past_learnings": learned}, text)


def cmd_list(args) -> Result:
    from ..campaign import Campaign
    from ..workspace import Workspace

    found = Campaign.list(Workspace.open())
    lines = [f"{c['campaign'] or '?':<20} {c['status'] or '?':<12} rev {'?' if c['revision'] is None else c['revision']!s:<5}"
             f" {c['path']}" + (f"  ({c['problem']})" if c.get("problem") else "") for c in found]
    # An unreadable context is degraded state, as every other listing with a damaged file says.
    code = EXIT_DEGRADED if any(c["status"] == "unreadable" for c in found) else EXIT_OK
    return Result({"contexts": found}, "\n".join(lines) or "No session contexts (create one with `tether ctx init`).",
                  code)


def cmd_show(args) -> Result:
    from ..campaign.document import dump_yaml

    camp = _campaign(args)
    doc = camp.load()
    if args.section:
        if args.section not in doc:
            raise InvalidInput(f"no section {args.section!r}", hint=f"sections: {', '.join(doc)}")
        doc = {args.section: doc[args.section]}
    return Result({"context": camp.file.shown, "session_context": doc}, dump_yaml(doc).rstrip("\n"))


def cmd_validate(args) -> Result:
    camp = _campaign(args)
    warnings = []
    try:
        parsed, text = camp.file.read_raw()
        problems = camp.file.problems(parsed, text)
        # Allowed (forward compatible) but read by nothing: a typo to show, not a reason to fail.
        warnings = camp.file.unknown_keys(parsed, text)
    except Exception as exc:  # unreadable YAML or conflict markers: a problem to report, like any other
        if getattr(exc, "problem", None) is None:
            raise
        problems = [exc.problem]
    data = {"context": camp.file.shown, "valid": not problems, "problems": [p.to_dict() for p in problems],
            "warnings": [p.to_dict() for p in warnings]}
    lines = [f"warning: {p}" for p in warnings]
    if problems:
        return Result(data, "\n".join([str(p) for p in problems] + lines), EXIT_DEGRADED)
    return Result(data, "\n".join([f"{camp.file.shown}: valid"] + lines))


def cmd_schema(args) -> Result:
    import json

    from ..campaign.schema import schema_text

    text = schema_text(args.name)
    return Result({"name": args.name, "schema": json.loads(text)}, text)


def cmd_roles(args) -> Result:
    from ..campaign import projection

    camp = _campaign(args)
    path, data = camp.roles_source()
    roles = projection.parse_roles(data, path or "(built-in roles)")
    shown = path or "(built-in default; copy it to roles.yaml beside the context to change it)"
    return Result({"path": path, "roles": {k: [f"{s} as {t}" if s != t else s for s, t in v] for k, v in roles.items()}},
                  f"# {shown}\n" + data.decode("utf-8"))


def cmd_for(args) -> Result:
    from ..campaign.projection import render

    view = _campaign(args).for_skill(args.skill, args.budget, args.format)
    return Result({"view": view}, render(view, args.format).rstrip("\n"))


def cmd_apply(args) -> Result:
    camp = _campaign(args)
    summary = camp.apply(_read_result(args.result), skill=args.skill, expect_revision=args.expect_revision)
    lines = [f"Applied {summary['skill']}'s result ({summary['status']}): revision {summary['revision']}"]
    lines += [f"  changed {c}" for c in summary["changed"]]
    lines += [f"  decision {d['id']}" + ("" if d["added"] else " (asked before: already pending or decided; not added twice)")
              for d in summary["decisions"]]
    left = summary["budget"]
    limits = [f"{left['calls']} skill call{'s' if left['calls'] != 1 else ''}" if left["calls"] is not None else "",
              f"{left['tokens']} tokens" if left["tokens"] is not None else ""]
    shown = ", ".join(x for x in limits if x) or "no limits set"
    lines.append(f"  compute: +{summary['tokens']} tokens; left: {shown}")
    over = [what for what, n in (("skill calls", left["calls"]), ("tokens", left["tokens"])) if n is not None and n < 0]
    if over:  # the work was done and is kept; the budget is the owner's to raise or to stop at
        lines.append(f"  Warning: over budget ({' and '.join(over)}): `tether ctx check-budget` now answers BLOCKED;"
                     f" escalate to the owner (`tether ctx escalate`) before more skill calls")
    if summary["next_suggested"]:
        lines.append(f"  next suggested: {summary['next_suggested']}")
    return Result({"context": camp.file.shown, **summary}, "\n".join(lines))


def _verdict(camp, verdict, log_as: str | None, what: str) -> Result:
    if log_as and not verdict.allowed:
        camp.log_invocation(log_as, "blocked", details=f"{what}: {verdict.reason}")
    return Result({"context": camp.file.shown, **verdict.to_dict()}, verdict.text(),
                  EXIT_OK if verdict.allowed else EXIT_REFUSED)


def cmd_check_scope(args) -> Result:
    camp = _campaign(args)
    return _verdict(camp, camp.check_scope(args.request), args.log_as, args.request)


def cmd_check_budget(args) -> Result:
    camp = _campaign(args)
    verdict = camp.check_budget(args.cost, args.tokens)
    return _verdict(camp, verdict, args.log_as, f"cost {args.cost}, {args.tokens} tokens")


def cmd_escalate(args) -> Result:
    camp = _campaign(args)
    entry = camp.escalate(args.question, context=args.context_text or "", options=args.option or [],
                          owner=args.owner, deadline=args.deadline)
    text = (f"Escalated {entry['id']} to {entry['escalated_to']}" + (f" (deadline {entry['deadline']})" if entry["deadline"] else "")
            if entry["added"] else f"Already pending as {entry['id']} (not added twice)")
    return Result({"context": camp.file.shown, "decision": entry}, text)


def cmd_decide(args) -> Result:
    camp = _campaign(args)
    made = camp.decide(args.decision_id, args.decision, by=args.by, rationale=args.rationale or "",
                       record_in=args.record_in)
    text = f"Decided {made['id']}: {made['decision']} ({made['decided_by']}, {made['timestamp']})"
    if args.record_in:
        text += f"\n  recorded in knowledge.{args.record_in} as approved by {made['decided_by']}"
    return Result({"context": camp.file.shown, "decision": made}, text)


def cmd_decisions(args) -> Result:
    camp = _campaign(args)
    listing = camp.decisions(include_made=args.all, overdue_only=args.overdue)
    lines = [f"{d['id']}  {'OVERDUE ' if d['overdue'] else ''}{d['question']}  -> {d.get('escalated_to')}"
             + (f" by {d['deadline']}" if d.get("deadline") else "") for d in listing["pending"]]
    if not lines:
        lines = ["No overdue decisions." if args.overdue else "No pending decisions."]
    if args.all:
        lines += ["", "Decided:"] + [f"{d['id']}  {d.get('question', '')} -> {d['decision']} ({d.get('decided_by')})"
                                      for d in listing["made"]]
    return Result({"context": camp.file.shown, **listing}, "\n".join(lines))


def cmd_stage(args) -> Result:
    camp = _campaign(args)
    before = camp.set_stage(args.stage)
    return Result({"context": camp.file.shown, "from": before, "to": args.stage}, f"Campaign status: {before} -> {args.stage}")


def cmd_close(args) -> Result:
    from ..campaign import Campaign

    camp = Campaign.open(context=args.context, campaign=args.campaign, closing=True)
    out = camp.close(args.summary or "", args.learning or [])
    spend = out["spend"]
    text = (f"Closed {out['campaign']}; archived in {out['archive']}\n"
            f"  {_count(len(out['learnings']), 'learning')} and {_count(len(out['decisions']), 'decision')} kept in the workspace's memory\n"
            f"  spend: {_count(spend['skills_invoked'], 'skill call')}, {spend['tokens_used']} tokens, {_count(spend['artifacts'], 'artifact')}")
    if out["outside"]:
        text += (f"\n  {_count(len(out['outside']), 'artifact')} outside the repository, recorded by path only"
                 f" (never read): {', '.join(out['outside'])}")
    return Result({"context": camp.file.shown, **out}, text)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def register(sub, add, common) -> None:
    ctx = sub.add_parser("ctx", formatter_class=common.formatter_class,
                         help="Shared session context of multi-skill workflows (campaigns).",
                         description="The shared session context of a campaign: projections, updates, scope and budget.")
    csub = ctx.add_subparsers(dest="ctx_command", metavar="ACTION", required=True, parser_class=Parser)

    def action(name, handler, help_text, roles=False):
        p = add(csub, name, handler, help_text)
        p.add_argument("--context", metavar="PATH", help="the context file (default: --campaign, $TETHER_CONTEXT, or the only open one)")
        p.add_argument("--campaign", metavar="ID", help="find the context by campaign id (.tether/contexts/ID/ or .gtm/ID/)")
        if roles:
            p.add_argument("--roles", metavar="FILE", help="roles file (default: roles.yaml beside the context, then .tether/contexts/)")
        return p

    p = add(csub, "init", cmd_init, "Kickoff: create a session context (past learnings are loaded from memory).")
    p.add_argument("--campaign", dest="campaign_id", required=True, metavar="ID", help="campaign id, e.g. YIELD-XYZ-001")
    p.add_argument("--owner", required=True, help="campaign owner, e.g. @phil (decisions and budget go to them)")
    p.add_argument("--context", metavar="PATH", help="where to create it (default: .tether/contexts/ID/session_context.yaml)")
    p.add_argument("--id", help="session id (default: session-DATE-xxxx)")
    p.add_argument("--title")
    p.add_argument("--tier", type=int)
    p.add_argument("--type", help="task type, e.g. content_generation")
    p.add_argument("--description", help="the active task")
    p.add_argument("--assigned-to", metavar="SKILL")
    p.add_argument("--objective", action="append", metavar="TEXT", help="a scope objective (repeatable)")
    p.add_argument("--boundary", action="append", metavar="TEXT", help='a boundary, e.g. "Only channels: X, Blog" (repeatable)')
    p.add_argument("--out-of-scope", action="append", metavar="TEXT", help="an out-of-scope item (repeatable)")
    p.add_argument("--max-skill-calls", type=int, metavar="N")
    p.add_argument("--max-tokens", type=int, metavar="N")
    p.add_argument("--deadline", metavar="TIME", help="ISO 8601, e.g. 2026-01-30T12:00:00Z")
    add(csub, "list", cmd_list, "List the session contexts in this repository.")
    p = action("show", cmd_show, "Print the session context (YAML; --json for JSON).")
    p.add_argument("--section", metavar="KEY", help="only this top-level section, e.g. compute")
    action("validate", cmd_validate, "Check the context against the JSON Schema; problems with file:line (exit 3).")
    p = add(csub, "schema", cmd_schema, "Print a published JSON Schema.")
    p.add_argument("name", nargs="?", default="session_context", choices=["session_context", "skill_result"])
    action("roles", cmd_roles, "Print the roles file in use: which parts each skill receives.", roles=True)
    p = action("for", cmd_for, "Emit exactly the part of the context a skill receives.", roles=True)
    p.add_argument("skill")
    p.add_argument("--budget", type=int, metavar="N", help="at most N tokens: later entries are left out first")
    p.add_argument("--format", choices=["yaml", "json"], default="yaml")
    p = action("apply", cmd_apply, "Merge a skill result (YAML/JSON file, - for stdin); refused updates exit 4.")
    p.add_argument("result", metavar="RESULT")
    p.add_argument("--skill", help="the skill, when the result does not name it")
    p.add_argument("--expect-revision", type=int, metavar="N", help="refuse unless the context is at revision N")
    for name, handler, help_text in (("check-scope", cmd_check_scope, "ALLOWED (exit 0) or BLOCKED (exit 4) with the reason and rule."),
                                     ("check-budget", cmd_check_budget, "Check a cost against calls, tokens and deadline left.")):
        p = action(name, handler, help_text)
        if name == "check-scope":
            p.add_argument("request")
        else:
            p.add_argument("--cost", type=int, default=1, metavar="N", help="skill calls it needs (default 1)")
            p.add_argument("--tokens", type=int, default=0, metavar="T", help="tokens it needs")
        p.add_argument("--log-as", metavar="SKILL", help="log a BLOCKED answer in the invocation log as this skill")
    p = action("escalate", cmd_escalate, "Add a pending decision for the owner (with a deadline).")
    p.add_argument("question")
    p.add_argument("--context-text", metavar="TEXT", help="background for the owner")
    p.add_argument("--option", action="append", metavar="TEXT", help="an option (repeatable)")
    p.add_argument("--owner", help="who decides (default: the campaign owner)")
    p.add_argument("--deadline", metavar="TIME", help="default: the task's deadline")
    p = action("decide", cmd_decide, "Decide a pending decision: it moves to decisions_made with who and when.")
    p.add_argument("decision_id", metavar="ID")
    p.add_argument("--decision", "-D", required=True)
    p.add_argument("--by", help="who decided (default: $TETHER_ACTOR, else the one it was escalated to)")
    p.add_argument("--rationale", "-r")
    p.add_argument("--record-in", metavar="KEY", help="also file it as an approved entry of knowledge.KEY, e.g. brand_decisions")
    p = action("decisions", cmd_decisions, "List pending decisions (--overdue: past their deadline; --all: decided too).")
    p.add_argument("--overdue", action="store_true")
    p.add_argument("--all", action="store_true")
    p = action("stage", cmd_stage, "Move the campaign to a stage: kickoff, in_progress, review, published.")
    p.add_argument("stage")
    p = action("close", cmd_close, "Close: archive with the campaign's files; learnings and decisions go to memory.")
    p.add_argument("--summary")
    p.add_argument("--learning", action="append", metavar="TEXT", help="a lesson to keep (repeatable)")
