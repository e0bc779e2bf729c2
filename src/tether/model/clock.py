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
