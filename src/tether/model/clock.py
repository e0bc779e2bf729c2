"""Time in one place, so tests and the demo can pin it (``TETHER_NOW``)."""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from datetime import datetime

# datetime is imported inside the functions: boot often needs no clock at all.


def now() -> datetime:
    from datetime import datetime, timezone

    pinned = os.environ.get("TETHER_NOW")
    if pinned:
        try:
            return parse(pinned)
        except ValueError:
            from ..errors import InvalidInput

            raise InvalidInput(f"TETHER_NOW is not an ISO 8601 time: {pinned!r}",
                               hint="unset it, or use e.g. TETHER_NOW=2026-11-21T10:00:00Z") from None
    return datetime.now(timezone.utc).replace(microsecond=0)


_stamped: tuple = (None, "")


def stamp(when: datetime | None = None) -> str:
    """ISO 8601 UTC with a Z, to the second: ``2026-11-21T10:57:04Z``."""
    global _stamped
    if when is None and not os.environ.get("TETHER_NOW"):
        import time  # built in: a checkpoint's stamp needs no datetime (2 ms to import)

        second = int(time.time())
        if _stamped[0] != second:  # a loop of checkpoints formats each second once
            _stamped = (second, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(second)))
        return _stamped[1]
    from datetime import timezone

    return (when or now()).astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse(text: str) -> datetime:
    from datetime import datetime, timezone

    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value


def ago(then: str, reference: datetime) -> str:
    """'3h ago' style age of an ISO stamp relative to ``reference``."""
    try:
        seconds = int((reference - parse(then)).total_seconds())
    except ValueError:
        return "at an unknown time"
    if seconds < 0:
        return "in the future"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return "just now"


# formats.md's times: ISO 8601, a date and a time to the minute or the second (a fraction allowed),
# in UTC with a Z (what tether writes: 2026-11-21T10:57:04Z) or with an offset; without a zone it
# reads as UTC (parse). Checked by hand, not by datetime: records are read on every checkpoint.
_STAMP_RE = None
_DAY_RE = None
_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _valid_day(year: int, month: int, day: int) -> bool:
    if not 1 <= month <= 12 or not 1 <= day <= _MONTH_DAYS[month - 1]:
        return False
    return not (month == 2 and day == 29 and (year % 4 or (year % 100 == 0 and year % 400)))


def is_stamp(text: str) -> bool:
    """Whether ``text`` is a time as formats.md describes them (see above)."""
    global _STAMP_RE
    if _STAMP_RE is None:
        import re

        _STAMP_RE = re.compile(r"(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d)(?::(\d\d)(?:\.\d{1,6})?)?"
                               r"(?:Z|[+-](\d\d):(\d\d))?", re.ASCII)
    match = _STAMP_RE.fullmatch(text)
    if match is None:
        return False
    year, month, day, hour, minute, second, zone_h, zone_m = (int(g or 0) for g in match.groups())
    return (year > 0 and _valid_day(year, month, day) and hour < 24 and minute < 60 and second < 60
            and zone_h < 24 and zone_m < 60)


def is_day(text: str) -> bool:
    """Whether ``text`` is a date as tether writes them: ``2026-11-21``."""
    global _DAY_RE
    if _DAY_RE is None:
        import re

        _DAY_RE = re.compile(r"(\d{4})-(\d\d)-(\d\d)", re.ASCII)
    match = _DAY_RE.fullmatch(text)
    return match is not None and int(match.group(1)) > 0 and _valid_day(*map(int, match.groups()))
