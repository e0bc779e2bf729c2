"""After a long break (seed 003, "For Long Breaks"): what to verify before acting.

What to verify is gathered with the rest of the brief (``lines``): the reading order's
documents in order, the decisions made before the break, and the context entries that
name dependencies or tools. Whether the break is long, and how long, depends on the
moment the brief is shown, not on the files: so ``render`` decides it each time a brief
is rendered, cold or warm, the way commit_lines renders what depends on the commit, and
a warm brief never says an age that has since grown.
"""

from __future__ import annotations

import os

# An entry that names something which may have moved on during the break: a version number,
# a package or tool, hardware, a model. Simple on purpose: listing one entry too many costs a line.
# Compiled on first use: a warm session start renders this section without reading any entry.
_DEPENDENCY = None
DEPENDENCY = (
    r"\bv?\d+\.\d+|\b(?:version|depend\w*|package\w*|librar\w*|install\w*|upgrad\w*|pip|npm|cargo|uv|"
    r"tool\w*|sdk|api|cli|model\w*|gpu|cuda|hardware|driver\w*|python|node|docker|compiler|toolchain|"
    r"server\w*|endpoint\w*|credential\w*|quota)\b")

HEADING = "## After a long break ({days} days since the last close)"


def names_dependency(text: str) -> bool:
    global _DEPENDENCY
    if _DEPENDENCY is None:
        import re

        _DEPENDENCY = re.compile(DEPENDENCY, re.I)
    return bool(_DEPENDENCY.search(text))


def lines(reading: list[str], decisions: list, notes: list, since: str | None) -> list[str]:
    """What to verify, from gathered records: ``decisions`` newest first, each with ``when``."""
    out = ["Before acting, verify that what the last session knew still holds:"]
    if reading:
        out.append("- Read, in order: " + ", ".join(f"`{p}`" for p in reading) + ".")
    older = [d for d in decisions if since is None or d.when <= since][:5]
    for d in older:
        out.append(f"- Still valid? {d.question} -> {d.decision} ({d.when[:10]}; {d.id})")
    for n in [n for n in notes if names_dependency(n.text)][:5]:
        out.append(f"- Still true? {n.text} [{n.id}]")
    out.append("- Do the dependencies, tools and hardware named above still work; are the goals still valid?")
    return out


def _stamp_fields(text: str) -> list[int] | None:
    r"""Year, month, day, hour, minute, second at the start of ``text``, as
    ``(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?`` matches it (a missing time is 0);
    None when it does not start with a date. With str methods: no `re` at a warm session start."""
    if not (text[0:4].isdecimal() and len(text) >= 10 and text[4] == "-" and text[5:7].isdecimal()
            and text[7] == "-" and text[8:10].isdecimal()):
        return None
    fields = [int(text[0:4]), int(text[5:7]), int(text[8:10]), 0, 0, 0]
    if text[10:11] in ("T", " ") and len(text) >= 16 and text[11:13].isdecimal() and text[13] == ":" \
            and text[14:16].isdecimal():
        fields[3:5] = int(text[11:13]), int(text[14:16])
        if text[16:17] == ":" and text[17:19].isdecimal() and len(text) >= 19:
            fields[5] = int(text[17:19])
    return fields


def _days(stamp: str) -> int | None:
    """Whole days from ``stamp`` (ISO 8601 UTC, or a date) to now; None if it cannot be read."""
    fields = _stamp_fields(stamp or "")
    if fields is None:
        return None
    year, month, day, *clock = fields
    then = _epoch_days(year, month, day) * 86400 + clock[0] * 3600 + clock[1] * 60 + clock[2]
    pinned = os.environ.get("TETHER_NOW")
    if pinned:  # the clock tests and the demo pin
        from ..model import clock as model_clock

        now = model_clock.parse(pinned).timestamp()
    else:
        import time

        now = time.time()
    return int((now - then) // 86400)


def _epoch_days(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date, without importing datetime."""
    year -= month <= 2
    era = year // 400
    yoe = year - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def render(data: dict, lines: list[str]) -> tuple[str, list[str]]:
    """The section's heading and lines at this moment: no lines while the break is short."""
    brk = data.get("long_break") or {}
    days = _days(brk.get("since") or "")
    if days is None or days < brk.get("days", 14):
        return "", []
    return HEADING.format(days=days), lines
