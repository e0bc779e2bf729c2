"""Identifiers that never collide across branches and machines.

Generated ids carry the creation date and time (so they sort by creation and
read well) and random bits (so two machines or branches practically never pick
the same one; the store's exclusive create catches a local clash). Ids given
by a user (``T004``) are checked for shape and uniqueness by the store.
"""

from __future__ import annotations

import os

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case
# An id's shape, ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$, checked with str methods: `re` is not loaded
# on the paths that run most (a checkpoint, a warm session start).
_ID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-"


def random_suffix(length: int = 6) -> str:
    # os.urandom rather than secrets: same source, and secrets costs 5 ms to import.
    return "".join(_ALPHABET[b & 31] for b in os.urandom(length))


def new_id(prefix: str, when=None) -> str:
    """``T-261121-ab7kq2m``: prefix, UTC date, then 3 characters of time of day
    (2.7-second steps, so ids made by one clock sort by creation) and 4 random."""
    if when is None and not os.environ.get("TETHER_NOW"):
        import time  # built in: a session id at every checkpoint needs no datetime (2 ms to import)

        when = time.gmtime()
        hour, minute, second, day = when.tm_hour, when.tm_min, when.tm_sec, time.strftime("%y%m%d", when)
    else:
        if when is None:
            from . import clock

            when = clock.now()
        hour, minute, second, day = when.hour, when.minute, when.second, f"{when:%y%m%d}"
    tick = (hour * 3600 + minute * 60 + second) * 32768 // 86400
    stamp = "".join(_ALPHABET[(tick >> shift) & 31] for shift in (10, 5, 0))
    return f"{prefix}-{day}-{stamp}{random_suffix(4)}"


# The prefix of the id a command gets when no session is named (a terminal's `tether decide`): it
# is no session, and the brief never counts it as one left open. Agent sessions carry their own id.
ONE_OFF = "cmd"


def one_off(session) -> bool:
    """Whether ``session`` is an id new_id(ONE_OFF) made: the shape of ``cmd-261205-x6mp6k9``."""
    return (isinstance(session, str) and len(session) == 18 and session.startswith("cmd-") and session[10] == "-"
            and session[4:10].isascii() and session[4:10].isdigit() and all(c in _ALPHABET for c in session[11:]))


def ordered_id(prefix: str, when=None) -> str:
    """``BLB-261205-3f0k2m7x9q``: like new_id, with the time of day to the millisecond (6
    characters), so that the ids one machine makes a few seconds apart sort as they were made
    (offload packets, whose maps list them in that order), then 4 random characters."""
    if when is None and not os.environ.get("TETHER_NOW"):
        import time

        now = time.time()
        moment = time.gmtime(now)
        day = time.strftime("%y%m%d", moment)
        ms = (moment.tm_hour * 3600 + moment.tm_min * 60 + moment.tm_sec) * 1000 + int(now * 1000) % 1000
    else:
        if when is None:
            from . import clock

            when = clock.now()
        day = f"{when:%y%m%d}"
        ms = (when.hour * 3600 + when.minute * 60 + when.second) * 1000 + when.microsecond // 1000
    stamp = "".join(_ALPHABET[(ms >> shift) & 31] for shift in (25, 20, 15, 10, 5, 0))
    return f"{prefix}-{day}-{stamp}{random_suffix(4)}"


def valid_id(value: str) -> bool:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, not {type(value).__name__}")
    return 0 < len(value) <= 64 and value.isascii() and value[0].isalnum() and not value.strip(_ID_CHARS)
