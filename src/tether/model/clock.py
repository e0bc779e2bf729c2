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
# reads as UTC (parse). Checked by hand, not by datetime (records are read on every checkpoint),
# nor by `re`, which neither a checkpoint nor a warm session start loads otherwise: the shape is
# (\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d)(?::(\d\d)(?:\.\d{1,6})?)?(?:Z|[+-](\d\d):(\d\d))? (ASCII digits).
_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _valid_day(year: int, month: int, day: int) -> bool:
    if not 1 <= month <= 12 or not 1 <= day <= _MONTH_DAYS[month - 1]:
        return False
    return not (month == 2 and day == 29 and (year % 4 or (year % 100 == 0 and year % 400)))


def is_stamp(text: str) -> bool:
    """Whether ``text`` is a time as formats.md describes them (see above)."""
    if not isinstance(text, str):
        raise TypeError(f"expected a string, not {type(text).__name__}")
    size = len(text)
    if (size < 16 or not text.isascii() or text[4] != "-" or text[7] != "-" or text[10] not in "T "
            or text[13] != ":" or not (text[:4] + text[5:7] + text[8:10] + text[11:13] + text[14:16]).isdigit()):
        return False
    at, second, zone_h, zone_m = 16, 0, 0, 0
    if text[at:at + 1] == ":" and size >= at + 3 and text[at + 1:at + 3].isdigit():
        second, at = int(text[at + 1:at + 3]), at + 3
        if text[at:at + 1] == ".":
            digits = len(text) - at - 1 - len(text[at + 1:].lstrip("0123456789"))
            if 1 <= digits <= 6:  # more is no match at all: a digit can start no zone
                at += 1 + digits
    if at < size:
        zone = text[at:]
        if zone != "Z":
            if len(zone) != 6 or zone[0] not in "+-" or zone[3] != ":" or not (zone[1:3] + zone[4:]).isdigit():
                return False
            zone_h, zone_m = int(zone[1:3]), int(zone[4:])
    year, month, day = int(text[:4]), int(text[5:7]), int(text[8:10])
    hour, minute = int(text[11:13]), int(text[14:16])
    return (year > 0 and _valid_day(year, month, day) and hour < 24 and minute < 60 and second < 60
            and zone_h < 24 and zone_m < 60)


def is_day(text: str) -> bool:
    """Whether ``text`` is a date as tether writes them: ``2026-11-21``."""
    if not isinstance(text, str):
        raise TypeError(f"expected a string, not {type(text).__name__}")
    if len(text) != 10 or not text.isascii() or text[4] != "-" or text[7] != "-":
        return False
    if not (text[:4] + text[5:7] + text[8:]).isdigit():
        return False
    year = int(text[:4])
    return year > 0 and _valid_day(year, int(text[5:7]), int(text[8:]))
