"""The workspace config, ``.tether/tether.toml``: boot halts without it."""

from __future__ import annotations

import re
import sys

from .errors import ConfigMissing, InvalidInput
from .recordtype import Record

CONFIG_FILE = "tether.toml"
DEFAULT_BUDGET = 2000

DEFAULT_TOML = """\
# tether workspace configuration: see docs/formats.md in the tether documentation.
# Boot halts without this file; `tether init` recreates it and keeps your records.
schema = 1

[boot]
# Token budget of the boot brief (`tether boot --budget N` overrides it).
budget = 2000
# Key documents a new session should read, in order (paths from the repository root).
reading_order = [{reading_order}]

[context]
# Where `tether close` writes the session context document, from the repository root.
document = ".tether/CONTEXT.md"
"""


SCHEMA = 1  # the newest tether.toml layout this tether reads
# What tether reads: anything else is a warning (a misspelt key would silently keep its default).
KNOWN = {"schema": None, "boot": ("budget", "reading_order"), "context": ("document",)}


class Config(Record):
    # warnings: unknown keys, as Problem dicts (kept in the parsed-config cache with the rest).
    FIELDS = {"budget": DEFAULT_BUDGET, "reading_order": list, "context_document": ".tether/CONTEXT.md",
              "warnings": list}

    def problems(self) -> list:
        from .parsing import Problem

        return [Problem(**w) for w in self.warnings]


def _toml():
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.10 only
        import tomli as tomllib
    return tomllib


def _line(text: str, key: str, table: str | None = None) -> int | None:
    """The line where ``key`` (in ``[table]``, or ``table.key = ...``) is set; with ``key`` None, the
    line of the ``[table]`` header. Found only for a message."""
    header = re.compile(r"^\s*\[\s*%s\s*\]" % re.escape(table)) if table else None
    assign = re.compile(r"^\s*%s\s*=" % re.escape(key)) if key else None
    dotted = re.compile(r"^\s*%s\s*\.\s*%s\s*=" % (re.escape(table), re.escape(key))) if table and key else None
    inside = table is None
    for number, line in enumerate(text.split("\n"), 1):
        if line.lstrip().startswith("["):
            inside = bool(header and header.match(line))
            if inside and assign is None:
                return number
            continue
        if assign is not None and inside and assign.match(line):
            return number
        if dotted is not None and dotted.match(line):
            return number
    return None


def parse(data: bytes | None, shown: str) -> Config:
    if data is None:
        raise ConfigMissing(f"{shown} is missing", hint="run `tether init` to recreate it (your records are kept)")
    from .parsing import MAX_DEPTH, MAX_DIGITS, line_at, long_number, too_deep

    def at(line) -> str:
        return f"{shown}:{line}" if line else shown

    toml = _toml()
    fix = "fix the line, or move the file away and run `tether init`"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InvalidInput(f"{shown}:{line}: invalid UTF-8", hint="save the file as UTF-8") from None
    deep = too_deep(text)
    if deep is not None:  # tomllib recurses once per level: no depth it cannot read reaches it
        raise InvalidInput(f"{at(line_at(text, deep))}: nested deeper than {MAX_DEPTH} levels", hint=fix)
    try:
        raw = toml.loads(text)
    except toml.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        # A file cut short is reported "at end of document": that is its last line.
        line = match.group(1) if match else len(data.splitlines()) or 1
        raise InvalidInput(f"{shown}:{line}: invalid TOML ({str(exc).split(' (at')[0]})", hint=fix) from None
    except ValueError:  # an integer too long to convert
        raise InvalidInput(f"{at(line_at(text, long_number(text)))}: a number of more than {MAX_DIGITS} digits",
                           hint=fix) from None
    except RecursionError:
        raise InvalidInput(f"{shown}: nested too deeply", hint=fix) from None
    schema = raw.get("schema", SCHEMA)
    if type(schema) is not int or schema < 1:
        raise InvalidInput(f"{at(_line(text, 'schema'))}: schema must be a whole number (1), got {_got(schema)}",
                           hint=f"set schema = {SCHEMA}, or move the file away and run `tether init`")
    if schema > SCHEMA:
        # A newer layout may mean something else by the same keys: reading it as this one would be a guess.
        raise InvalidInput(f"{at(_line(text, 'schema'))}: schema {schema} is newer than this tether reads"
                           f" (schema {SCHEMA}); upgrade tether",
                           hint="upgrade tether (pip install -U tether) to the version that wrote this file")
    tables = {}
    for name in ("boot", "context"):
        table = raw.get(name, {})
        if not isinstance(table, dict):
            raise InvalidInput(f"{at(_line(text, name))}: {name} must be a table ([{name}]), got {_got(table)}",
                               hint=f"write its keys under a [{name}] line")
        tables[name] = table
    budget = tables["boot"].get("budget", DEFAULT_BUDGET)
    order = tables["boot"].get("reading_order", [])
    document = tables["context"].get("document", ".tether/CONTEXT.md")
    if type(budget) is not int or budget < 100:
        raise InvalidInput(f"{at(_line(text, 'budget', 'boot'))}: boot.budget must be an integer of at least 100,"
                           f" got {_got(budget)}", hint="set boot.budget = 2000")
    if not isinstance(order, list) or not all(isinstance(p, str) for p in order):
        raise InvalidInput(f"{at(_line(text, 'reading_order', 'boot'))}: boot.reading_order must be a list of paths",
                           hint='reading_order = ["README.md"]')
    if not isinstance(document, str) or not document.strip():
        raise InvalidInput(f"{at(_line(text, 'document', 'context'))}: context.document must be a path",
                           hint='document = ".tether/CONTEXT.md"')
    warnings = []
    for key, value in raw.items():
        if key not in KNOWN:
            what = f"table [{key}]" if isinstance(value, dict) else f"key {key}"
            line = _line(text, None, key) if isinstance(value, dict) else _line(text, key)
            warnings.append({"path": shown, "line": line, "message": f"unknown {what}; tether ignores it"})
        elif KNOWN[key]:
            warnings += [{"path": shown, "line": _line(text, inner, key),
                          "message": f"unknown key {key}.{inner}; tether ignores it"}
                         for inner in value if inner not in KNOWN[key]]
    return Config(budget=budget, reading_order=order, context_document=document, warnings=warnings)


def _got(value) -> str:
    from .records import got

    return got(value)


def default_text(reading_order: list[str]) -> str:
    import json

    return DEFAULT_TOML.format(reading_order=", ".join(json.dumps(p) for p in reading_order))
