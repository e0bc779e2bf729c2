"""The workspace config, ``.tether/tether.toml``: boot halts without it."""

from __future__ import annotations

import re
import sys

from ..errors import ConfigMissing, InvalidInput
from .record import Record

CONFIG_FILE = "tether.toml"
DEFAULT_BUDGET = 2000

DEFAULT_TOML = """\
# tether workspace configuration: see docs/formats.md in the tether documentation.
# Boot halts without this file; `tether init` recreates it and keeps your records.
schema = {schema}

[boot]
# Token budget of the boot brief (`tether boot --budget N` overrides it).
budget = 2000
# Key documents a new session should read, in order (paths from the repository root).
reading_order = [{reading_order}]

[context]
# Where `tether close` writes the session context document, from the repository root.
document = ".tether/CONTEXT.md"

[secrets]
# `tether close --commit` warns about what looks like a secret in what it commits. A false
# positive's hash, as the warning prints it, added here is not reported again.
allow = []
"""


# The workspace's format version, written as tether.toml's `schema`: what this tether reads and writes.
# A workspace with an older one is brought up to it by store.migrations; a newer one is refused.
SCHEMA = 1


class Config(Record):
    """``reading_order_refused``: [path, why] of each reading-order entry left out (boot names them)."""

    FIELDS = {"budget": DEFAULT_BUDGET, "reading_order": list, "context_document": ".tether/CONTEXT.md",
              "reading_order_refused": list, "secrets_allow": list, "schema": SCHEMA}


def _toml():
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.10 only
        import tomli as tomllib
    return tomllib


def parse(data: bytes | None, shown: str) -> Config:
    if data is None:
        raise ConfigMissing(f"{shown} is missing", hint="run `tether init` to recreate it (your records are kept)")
    toml = _toml()
    try:
        raw = toml.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InvalidInput(f"{shown}:{line}: invalid UTF-8", hint="save the file as UTF-8") from None
    except toml.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        # A file cut short is reported "at end of document": that is its last line.
        line = match.group(1) if match else len(data.splitlines()) or 1
        where = f"{shown}:{line}"
        raise InvalidInput(f"{where}: invalid TOML ({str(exc).split(' (at')[0]})",
                           hint="fix the line, or move the file away and run `tether init`") from None
    schema = raw.get("schema", SCHEMA)
    if not isinstance(schema, int) or isinstance(schema, bool) or schema < 1:
        raise InvalidInput(f"{shown}: schema must be a positive integer, got {schema!r}", hint=f"set schema = {SCHEMA}")
    if schema > SCHEMA:
        raise InvalidInput(f"{shown}: written by a newer tether (schema {schema}; this tether knows schema {SCHEMA})",
                           hint=f"upgrade tether to a version that knows schema {schema}; nothing was changed")
    boot = raw.get("boot", {})
    context = raw.get("context", {})
    secrets = raw.get("secrets", {})
    allow = secrets.get("allow", []) if isinstance(secrets, dict) else None
    if not isinstance(allow, list) or not all(isinstance(h, str) and re.fullmatch(r"[0-9a-fA-F]{40}", h) for h in allow):
        raise InvalidInput(f"{shown}: secrets.allow must be a list of the hashes `tether close --commit` prints"
                           " (40 hex digits)", hint='allow = ["0123456789abcdef0123456789abcdef01234567"]')
    budget = boot.get("budget", DEFAULT_BUDGET)
    order = boot.get("reading_order", [])
    document = context.get("document", ".tether/CONTEXT.md")
    if not isinstance(budget, int) or budget < 100:
        raise InvalidInput(f"{shown}: boot.budget must be an integer of at least 100, got {budget!r}",
                           hint="set boot.budget = 2000")
    if not isinstance(order, list) or not all(isinstance(p, str) for p in order):
        raise InvalidInput(f"{shown}: boot.reading_order must be a list of paths", hint='reading_order = ["README.md"]')
    if not isinstance(document, str) or not document.strip():
        raise InvalidInput(f"{shown}: context.document must be a path", hint='document = ".tether/CONTEXT.md"')
    from .confine import normalized, refusal

    # tether writes the document at every close: a path outside the repository (or into .git/)
    # stops everything here. The reading order is only shown, so a bad entry is left out of it
    # and boot names it, rather than halting boot.
    why = refusal(document)
    if why:
        raise InvalidInput(f"{shown}: context.document = {document!r} {why}; tether writes only inside the"
                           " repository, outside .git/", hint='document = ".tether/CONTEXT.md"')
    kept, refused = [], []
    for path in order:
        why = refusal(path)
        if why:
            refused.append([path, why])
        else:
            kept.append(normalized(path))
    return Config(budget=budget, reading_order=kept, context_document=normalized(document),
                  reading_order_refused=refused, secrets_allow=[h.lower() for h in allow], schema=schema)


def default_text(reading_order: list[str]) -> str:
    import json

    return DEFAULT_TOML.format(schema=SCHEMA, reading_order=", ".join(json.dumps(p) for p in reading_order))
