"""``tether audit``: one call on :class:`tether.audit.Auditor`, rendered."""

from __future__ import annotations

from ..errors import EXIT_DEGRADED, EXIT_OK
from .output import Result, problems_text


def cmd_audit(args) -> Result:
    from ..audit import Auditor

    report = Auditor().run(fix=args.fix, skip=args.skip or [], full=args.full)
    lines = [f"Fixed: {what}" for what in report.fixed]
    if report.findings:
        lines.append(f"{len(report.findings)} finding{'s' if len(report.findings) != 1 else ''}"
                     f" ({len(report.rules)} rules checked):")
        for number, f in enumerate(report.findings):
            following = report.findings[number + 1] if number + 1 < len(report.findings) else None
            # A run of findings with one fix (uncommitted files) says it once, after the last.
            lines.append(f.text() if following is None or following.fix != f.fix or following.rule != f.rule
                         else f"{f.where()}: [{f.rule}] {f.message}")
        fixable = sum(1 for f in report.findings if f.fixable)
        if fixable and not args.fix:
            lines.append(f"`tether audit --fix` fixes {fixable} of them.")
    else:
        lines.append(f"No findings ({len(report.rules)} rules checked).")
    if report.skipped:
        lines.append(f"Skipped: {', '.join(report.skipped)}.")
    code = EXIT_DEGRADED if args.strict and (report.findings or report.problems) else EXIT_OK
    return Result({**report.to_dict(), "strict": bool(args.strict)}, "\n".join(lines) + problems_text(report.problems),
                  code)


def register(sub, add) -> None:
    from ..audit.rules import RULES

    p = add(sub, "audit", cmd_audit, "Find forgotten obligations and bloat (seed 000): overdue checkpoints, "
                                     "uncommitted or unindexed files, stale documents, overdue decisions, orphaned "
                                     "cache files, broken links, unsaved sessions.")
    p.add_argument("--fix", action="store_true",
                   help="do the safe fixes first: regenerate the context document and the offload maps, rewrite "
                        "the index manifest")
    p.add_argument("--strict", action="store_true", help="exit 3 when there is a finding (for CI and hooks)")
    p.add_argument("--full", action="store_true",
                   help="ask git about every file of the store (a full `git status`), not only what tether wrote, "
                        "what git changed and the watched places since the last audit")
    p.add_argument("--skip", action="append", metavar="RULE", choices=RULES,
                   help=f"leave a rule out (repeatable): {', '.join(RULES)}")
