"""The published JSON Schemas and validation messages a person can act on.

``session_context.schema.json`` and ``skill_result.schema.json`` sit beside this
module (``tether ctx schema`` prints them). jsonschema is imported only here, on
the paths that validate: it costs ~60 ms, more than the rest of a ``ctx`` command.
"""

from __future__ import annotations

import json
import os

from ..errors import Problem

_HERE = os.path.dirname(__file__)
SCHEMAS = {"session_context": "session_context.schema.json", "skill_result": "skill_result.schema.json"}
_validators: dict = {}

_TYPE_NAMES = {"integer": "an integer", "string": "a string", "object": "a mapping", "array": "a list",
               "number": "a number", "boolean": "true or false", "null": "null"}


def schema_text(name: str) -> str:
    with open(os.path.join(_HERE, SCHEMAS[name]), encoding="utf-8") as fh:
        return fh.read()


def _is_time(value) -> bool:
    """A real instant: the pattern alone lets 2026-02-30 and hour 25 through."""
    if not isinstance(value, str):
        return True
    from ..model import clock

    try:
        clock.parse(value)
    except ValueError:
        return False
    return True


def _validator(name: str):
    if name not in _validators:
        from jsonschema import Draft202012Validator, FormatChecker

        checker = FormatChecker(formats=())
        checker.checks("iso8601")(_is_time)
        _validators[name] = Draft202012Validator(json.loads(schema_text(name)), format_checker=checker)
    return _validators[name]


def dotted(path) -> str:
    """``['active_task', 'budget', 'max_tokens']`` -> ``active_task.budget.max_tokens``; list indexes as [0]."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _shown(value) -> str:
    return json.dumps(value, ensure_ascii=False, default=str) if not isinstance(value, (dict, list)) else (
        "a mapping" if isinstance(value, dict) else "a list")


def _message(error) -> str:
    kind = error.validator
    if kind == "type":
        wanted = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
        names = " or ".join(_TYPE_NAMES.get(w, w) for w in wanted if w != "null") or "null"
        return f"expected {names}, got {_shown(error.instance)}"
    if kind == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return f"missing required field {missing!r}"
    if kind == "enum":
        return f"expected one of {', '.join(map(str, error.validator_value))}, got {_shown(error.instance)}"
    if kind == "minimum":
        return f"must be at least {error.validator_value}, got {_shown(error.instance)}"
    if kind == "pattern" and "\\d{4}" in error.validator_value:
        return f"expected an ISO 8601 time such as 2026-01-30T12:00:00Z, got {_shown(error.instance)}"
    if kind == "format":
        return f"expected a real ISO 8601 time such as 2026-01-30T12:00:00Z, got {_shown(error.instance)}"
    if kind == "minLength":
        return "must not be empty"
    if kind == "additionalProperties":
        known = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(known))
        return f"unknown field {', '.join(map(repr, extra))} (known: {', '.join(known)})"
    return error.message


def validate(name: str, data, strip_prefix: int = 0) -> list[tuple[str, list, str]]:
    """Every violation as (dotted path, raw path to blame, message).

    ``strip_prefix`` drops leading path parts from the shown path (the
    ``session_context`` wrapper says nothing to a person). For an unknown key the
    raw path points at that key, whose line is where a person fixes it.
    """
    out = []
    errors = list(_validator(name).iter_errors(data))
    patterned = {tuple(e.absolute_path) for e in errors if e.validator == "pattern"}
    for error in errors:
        raw = list(error.absolute_path)
        if error.validator == "format" and tuple(raw) in patterned:
            continue  # "tomorrow" fails the pattern too: one message is enough
        blame = raw
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
            blame = raw + extra[:1]
        out.append((dotted(raw[strip_prefix:]), blame, _message(error)))
    return sorted(out, key=lambda e: [str(p) for p in e[1]])


def problems(name: str, data, shown: str, text: str | None = None, strip_prefix: int = 0) -> list[Problem]:
    """Violations as Problems (``file:line: path: message``); lines found when ``text`` is given."""
    found = validate(name, data, strip_prefix)
    lines = line_finder(text) if text is not None and found else None
    out = [Problem(shown, lines(raw) if lines else None, f"{path}: {message}") for path, raw, message in found]
    return sorted(out, key=lambda p: p.line or 0)  # in file order, as a person reads it


def line_finder(text: str):
    """A function from a raw data path to the 1-based line where YAML ``text`` holds it."""
    import yaml

    try:
        root = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:
        root = None

    def find(path) -> int | None:
        node = root
        if node is None:
            return None
        line = node.start_mark.line + 1
        for part in path:
            child = None
            if isinstance(node, yaml.MappingNode):
                for key, value in node.value:
                    if key.value == str(part):
                        child, line = value, key.start_mark.line + 1
                        break
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
                child = node.value[part]
                line = child.start_mark.line + 1
            if child is None:
                return line
            node = child
        return line

    return find
