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
"""


# The workspace's format version, written as tether.toml's `schema`: what this tether reads and writes.
# A workspace with an older one is brought up to it by store.migrations; a newer one is refused.
SCHEMA = 1


class Config(Record):
    FIELDS = {"budget": DEFAULT_BUDGET, "reading_order": list, "context_document": ".tether/CONTEXT.md",
              "schema": SCHEMA}


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
    return Config(budget=budget, reading_order=order, context_document=document, schema=schema)


def default_text(reading_order: list[str]) -> str:
    import json

    return DEFAULT_TOML.format(schema=SCHEMA, reading_order=", ".join(json.dumps(p) for p in reading_order))
