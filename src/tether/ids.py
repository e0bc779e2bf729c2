"""Identifiers that never collide across branches and machines.

Generated ids carry the creation date (so they sort and read well) and random
bits (so two machines or branches never pick the same one); ids given by a
user (``T004``) are checked for shape and uniqueness by the store.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timezone

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case
ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def random_suffix(length: int = 6) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def new_id(prefix: str, when: datetime | None = None) -> str:
    """``T-261121-7kq2mx``: prefix, UTC date, 30 random bits."""
    when = when or datetime.now(timezone.utc)
    return f"{prefix}-{when:%y%m%d}-{random_suffix()}"


def valid_id(value: str) -> bool:
    return bool(ID_RE.match(value))
