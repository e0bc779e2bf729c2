"""What the model reads when a call goes wrong, in the words of the MCP tools.

The library's errors name the command line's commands and options in their hints (the CLI is the
adapter most of them were written for); over MCP the model calls tools, so a command a tool does is
said as that tool call (``tools``), and a command no tool does (`tether init`, `tether index
--repair`) is left as it is: it is run in a shell. An argument that does not fit a tool's schema
becomes one line and a hint (``argument_error``), not the SDK's validation dump.
"""

from __future__ import annotations

import json
import re

_ID = r"([\w.{}\[\]-]+)"  # a task, entry or decision id (or the placeholder in a hint's f-string)
_Q = r'"([^"]*)"'

# (the command as a library hint writes it, the tool call that does the job); the first that
# matches wins, so a longer form comes before its prefix.
COMMANDS = tuple((re.compile(r"`?tether " + pattern + r"`?(?![\w-])"), call) for pattern, call in (
    (r"task list --all", 'tasks(action="list", all=true)'),
    (r"task list", 'tasks(action="list")'),
    (r"task status " + _ID, r'tasks(action="status", task="\1")'),
    (r"task (reopen|switch|complete|clear) " + _ID, r'tasks(action="\1", task="\2")'),
    (r"task (complete|clear)", r'tasks(action="\1")'),
    (r"task start " + _Q + r'(?: --\w+ "[^"]*")*', r'tasks(action="start", title="\1")'),
    (r"note list --all", 'notes(action="list", all=true)'),
    (r"note list", 'notes(action="list")'),
    (r"note (resolve|confirm) " + _ID, r'notes(action="\1", id="\2")'),
    (r"note KIND TEXT", 'notes(action="add", kind=KIND, text=TEXT)'),
    (r"note (phase|gotcha|dont|blocker|note|learning) " + _Q, r'notes(action="add", kind="\1", text="\2")'),
    (r"decide " + _Q + r" --decision " + _Q + r" --rationale " + _Q,
     r'decisions(action="decide", question="\1", decision="\2", rationale="\3")'),
    (r"decide " + _Q + r" --decision " + _Q, r'decisions(action="decide", question="\1", decision="\2")'),
    (r"decide --list", 'decisions(action="list")'),
    (r"decide --confirm " + _ID, r'decisions(action="confirm", id="\1")'),
    (r"verify --stale", "stale()"),
    (r"close --summary " + _Q, r'close(summary="\1")'),
    (r"recall " + _Q, r'recall(query="\1")'),
    (r"resume " + _ID, r'resume(task="\1")'),
    (r"resume", "resume()"),
    (r"boot", "brief()"),
    (r"usage PATH", "usage(transcript=PATH)"),
    (r"show " + _ID, r'show(ref="\1")'),
    (r"ctx for SKILL", "ctx_for(skill=SKILL)"),
))

_RUN = re.compile(r"\brun (`[a-z_]+\()")  # a command is run, a tool called

# Options of the command line that are a tool's arguments under another name, or the same.
OPTIONS = {"done": "done", "undone": "undone", "anchor": "anchors", "limit": "limit", "budget": "budget",
           "since": "since", "task": "task", "kind": "kinds", "mode": "mode"}
# "--done 3", "--anchor src/a.py::f", "--since 2026-11-01": an option and the value a hint gives it
_OPTION = re.compile(r"--(" + "|".join(OPTIONS) + r")\b(?: (\d[\w:.,-]*|[\w.-]*[/.][\w./:\[\]-]*|[A-Z][A-Z_]*"
                     r"(?:\[[^\]\s]*\])?))?")


def tools(text: str) -> str:
    """``text`` (an error's line or hint) with the commands and options a tool does said as tool calls."""
    if "tether " not in text and "--" not in text:
        return text
    for pattern, call in COMMANDS:
        text = pattern.sub(lambda m, call=call: f"`{m.expand(call)}`", text)
    return _RUN.sub(r"call \1", _OPTION.sub(_option, text))


def _option(match) -> str:
    name = OPTIONS[match.group(1)]
    value = match.group(2)
    if value is None:
        return name
    if value.isdigit():
        return f"{name}={value}"
    shown = json.dumps(value)
    return f"{name}=[{shown}]" if name in ("anchors", "kinds") else f"{name}={shown}"


# -- arguments that do not fit a tool's schema ----------------------------------------------

def argument_error(tool: str, schema: dict, arguments: dict, errors: list[dict]) -> tuple[str, str]:
    """(the one line, the hint) for arguments pydantic refused, from its ``errors()`` and the tool's
    input schema (which says what each argument takes)."""
    properties = schema.get("properties", {})
    lines, hints = [], []
    for name in dict.fromkeys(str(e["loc"][0]) for e in errors if e.get("loc")):
        spec = properties.get(name, {})
        if name not in arguments:  # a required argument left out
            lines.append(f"{tool} needs {name} ({_takes(spec)})")
            hints.append(f"e.g. {tool}({name}={_example(name, spec)})")
            continue
        allowed = _enum(spec)
        if allowed:  # as the library says it of a value it does not know ("unknown entry kind ...")
            lines.append(f"unknown {name} {_shown(arguments[name])}")
            hints.append(f"use one of: {', '.join(json.dumps(v) for v in allowed)}")
        else:
            lines.append(f"{name} must be {_takes(spec)}, got {_shown(arguments[name])}")
            hints.append(f"e.g. {name}={_example(name, spec)}")
    if not lines:  # not an argument's fault (cannot happen with the SDK's model; said all the same)
        lines = ["; ".join(e.get("msg", "invalid arguments") for e in errors)]
    return "; ".join(lines), "; ".join(hints) or f"see the {tool} tool's input schema"


def unknown_arguments(tool: str, schema: dict, names: list[str]) -> tuple[str, str]:
    """(the line, the hint) for arguments the tool does not take: dropped in silence, what they
    said would be lost."""
    takes = ", ".join(schema.get("properties", {}))
    which = ", ".join(names)
    return (f"{tool} takes no argument {which}" if len(names) == 1 else f"{tool} takes no arguments {which}",
            f"{tool} takes: {takes}")


def _arms(spec: dict) -> list[dict]:
    return [a for a in spec.get("anyOf", [spec]) if a.get("type") != "null"]


def _enum(spec: dict) -> list:
    return [v for a in _arms(spec) for v in a.get("enum", ())] or ([spec["const"]] if "const" in spec else [])


def _takes(spec: dict) -> str:
    allowed = _enum(spec)
    if allowed:
        return "one of " + ", ".join(json.dumps(v) for v in allowed)
    said = []
    for arm in _arms(spec):
        kind = arm.get("type")
        if kind == "array":
            items = arm.get("items", {})
            said.append("a list of " + " or ".join(dict.fromkeys(_NOUN.get(a.get("type"), "value") + "s"
                                                                 for a in _arms(items))))
        elif kind == "object":
            said.append("an object")
        else:
            said.append(_ARTICLE.get(kind, "a value"))
    said = list(dict.fromkeys(said)) or ["a value"]
    return said[0] if len(said) == 1 else f"{', '.join(said[:-1])} or {said[-1]}"


_NOUN = {"string": "string", "integer": "integer", "number": "number", "boolean": "boolean"}
_ARTICLE = {"string": "a string", "integer": "an integer", "number": "a number", "boolean": "true or false"}


def _example(name: str, spec: dict) -> str:
    allowed = _enum(spec)
    if allowed:
        return json.dumps(allowed[0])
    kinds = [a.get("type") for a in _arms(spec)]
    if name in ("done", "undone", "completed"):
        return '"1-3"'
    if "array" in kinds:
        return '["..."]'
    if "integer" in kinds:
        return str(spec.get("default") if isinstance(spec.get("default"), int) else 10)
    if "boolean" in kinds:
        return "true"
    if "object" in kinds:
        return '{"key": "value"}'
    return '"..."'


def _shown(value) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."
