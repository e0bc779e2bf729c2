"""What the model reads, in the words of the MCP tools.

The library's texts (errors' hints, the brief, where to resume) name the command line's commands
and options (the CLI is the adapter most of them were written for); over MCP the model calls
tools, so a command a tool does is said as that tool call (``tools``), with its options as the
tool's arguments, and a command no tool does (`tether init`, `tether index --repair`) is left as
it is: it is run in a shell. The mapping is here, at the edge: the library keeps one wording. An
argument that does not fit a tool's schema becomes one line and a hint (``argument_error``), not
the SDK's validation dump.
"""

from __future__ import annotations

import functools
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
    (r"pin --list", 'pins(action="list")'),
    (r"pin " + _Q, r'pins(action="pin", text="\1")'),
    (r"unpin " + _ID, r'pins(action="unpin", id="\1")'),
    (r"close --summary " + _Q, r'close(summary="\1")'),
    (r"recall " + _Q, r'recall(query="\1")'),
    (r"resume " + _ID, r'resume(task="\1")'),
    (r"resume", "resume()"),
    (r"boot", "brief()"),
    (r"usage PATH", "usage(transcript=PATH)"),
    (r"show " + _ID, r'show(ref="\1")'),
    (r"ctx for SKILL", "ctx_for(skill=SKILL)"),
))

_RUN = re.compile(r"\brun (`[a-z_]+[(`])")  # a command is run, a tool called

# Options of the command line that are a tool's arguments under another name, or the same.
OPTIONS = {"done": "done", "undone": "undone", "anchor": "anchors", "limit": "limit", "budget": "budget",
           "since": "since", "task": "task", "kind": "kinds", "mode": "mode"}
# "--done 3", "--anchor src/a.py::f", "--since 2026-11-01": an option and the value a hint gives it
_OPTION = re.compile(r"--(" + "|".join(OPTIONS) + r")\b(?: (\d[\w:.,-]*|[\w.-]*[/.][\w./:\[\]-]*|[A-Z][A-Z_]*"
                     r"(?:\[[^\]\s]*\])?))?")


def tools(text: str) -> str:
    """``text`` (an error's line or hint, a line of the brief, where to resume) with the commands and
    options a tool does said as tool calls."""
    if "tether " not in text and "--" not in text:
        return text
    # A command in backticks is read whole, its options and all; one no tool does (or with an
    # option no tool takes) is kept as it is, to be run in a shell.
    parts = _QUOTED.split(text)
    for i in range(0, len(parts), 2):
        if parts[i]:
            parts[i] = _loose(parts[i])
    for i in range(1, len(parts), 2):
        call = _call(parts[i])
        parts[i] = f"`{parts[i]}`" if call is None else f"`{call}`"
    return _RUN.sub(r"call \1", "".join(parts))


def _loose(text: str) -> str:
    """Commands and options outside backticks (a hint's "e.g. --done 3"), by the patterns above."""
    if "tether " not in text and "--" not in text:
        return text
    for pattern, call in COMMANDS:
        text = pattern.sub(lambda m, call=call: f"`{m.expand(call)}`", text)
    return _OPTION.sub(_option, text)


_QUOTED = re.compile(r"`(tether [^`]*)`")

# Kinds of value an option gives its argument.
STR, LIST, INT, FLAG, UNITS, PAIR = "str", "list", "int", "flag", "units", "pair"
_TASK = {"--task": ("task", STR), "-t": ("task", STR)}
_ANCHORS = {"--anchor": ("anchors", LIST), "-a": ("anchors", LIST)}
_CAMPAIGN = {"--context": ("context", STR), "--campaign": ("campaign", STR)}
_KINDS = ("phase", "gotcha", "dont", "blocker", "note", "learning")

# The command's words -> (the tool, the arguments the words fix, the names of its positional
# arguments, its options: option -> (argument, kind) or (argument, kind, arguments it fixes)).
CALLS = {
    ("checkpoint",): ("checkpoint", {}, (), {
        "--done": ("done", UNITS), "--undone": ("undone", UNITS), "--state": ("state", STR),
        "--next": ("next", LIST), "--file": ("files", LIST), "--note": ("note", STR),
        "--data": ("data", PAIR), "--status": ("status", STR), **_TASK, **_ANCHORS}),
    ("task", "list"): ("tasks", {"action": "list"}, (), {"--all": ("all", FLAG)}),
    ("task", "status"): ("tasks", {"action": "status"}, ("task",), {}),
    ("task", "start"): ("tasks", {"action": "start"}, ("title",), {
        "--steps": ("steps", LIST), "--items": ("items", LIST), "--criteria": ("criteria", LIST),
        "-c": ("criteria", LIST), "--definition": ("definition", STR), "--id": ("task", STR)}),
    **{("task", action): ("tasks", {"action": action}, ("task",), {})
       for action in ("complete", "clear", "reopen", "switch")},
    ("note", "list"): ("notes", {"action": "list"}, (), {"--all": ("all", FLAG)}),
    **{("note", action): ("notes", {"action": action}, ("id",), {}) for action in ("resolve", "confirm")},
    **{("note", kind): ("notes", {"action": "add", "kind": kind}, ("text",), {**_TASK, **_ANCHORS, "--by": ("by", STR)})
       for kind in _KINDS},
    ("note",): ("notes", {"action": "add"}, ("kind", "text"), {**_TASK, **_ANCHORS}),
    ("decide",): ("decisions", {"action": "decide"}, ("question",), {
        "--decision": ("decision", STR), "--rationale": ("rationale", STR), "--who": ("who", STR),
        "--when": ("when", STR), **_TASK, **_ANCHORS, "--list": (None, FLAG, {"action": "list"}),
        "--confirm": ("id", STR, {"action": "confirm"}), "--limit": ("limit", INT)}),
    ("verify", "--stale"): ("stale", {}, (), {"--limit": ("limit", INT)}),
    ("resume",): ("resume", {}, ("task",), {}),
    ("boot",): ("brief", {}, (), {"--budget": ("budget", INT)}),
    ("close",): ("close", {}, (), {"--summary": ("summary", STR), "--next": ("next_steps", LIST),
                                   "--completed": ("completed", LIST), "--commit": ("commit", FLAG),
                                   "--offload": ("offload", FLAG)}),
    ("recall",): ("recall", {}, ("query",), {"--kind": ("kinds", LIST), "--since": ("since", STR),
                                             "--mode": ("mode", STR), "--limit": ("limit", INT),
                                             "--budget": ("budget", INT), **_TASK}),
    ("show",): ("show", {}, ("ref",), {}),
    ("pin",): ("pins", {"action": "pin"}, ("text",), {"--list": (None, FLAG, {"action": "list"})}),
    ("unpin",): ("pins", {"action": "unpin"}, ("id",), {}),
    ("usage",): ("usage", {}, ("transcript",), {"--model": ("model", STR), "--window": ("window", INT)}),
    ("ctx", "for"): ("ctx_for", {}, ("skill",), {"--budget": ("budget", INT), "--roles": ("roles", STR), **_CAMPAIGN}),
    ("ctx", "escalate"): ("ctx_escalate", {}, ("question",), {
        "--context-text": ("context_text", STR), "--option": ("options", LIST), "--owner": ("owner", STR),
        "--deadline": ("deadline", STR), **_CAMPAIGN}),
    ("ctx", "decide"): ("ctx_decide", {}, ("decision_id",), {
        "--decision": ("decision", STR), "-D": ("decision", STR), "--rationale": ("rationale", STR),
        "-r": ("rationale", STR), "--by": ("by", STR), "--record-in": ("record_in", STR), **_CAMPAIGN}),
}
# Tools a call without arguments would only fail: a bare command names the tool.
NEEDS_ARGUMENTS = {"checkpoint", "close", "recall", "show", "ctx_for", "ctx_escalate", "ctx_decide"}


@functools.lru_cache(maxsize=512)  # the brief names the same commands at every call
def _call(command: str) -> str | None:
    """The tool call that does ``command`` ("tether checkpoint --done 3 --state ..."), None when no
    tool does it or it has a word the tool has no argument for."""
    import shlex

    try:
        words = shlex.split(command)[1:]
    except ValueError:  # an unbalanced quote: not a command to read
        return None
    for size in (2, 1):
        spec = CALLS.get(tuple(words[:size]))
        if spec is not None:
            break
    else:
        return None
    tool, fixed, positional, options = spec
    args: dict = dict(fixed)
    rest, names = words[size:], list(positional)
    while rest:
        word = rest.pop(0)
        if not word.startswith("-") or word in ("-", "--"):
            if not names:
                return None
            args[names.pop(0)] = word
            continue
        option, _, inline = word.partition("=")
        found = options.get(option)
        if found is None:
            return None
        name, kind, *sets = found
        if sets:
            args.update(sets[0])
        if kind == FLAG:
            if name:
                args[name] = True
            continue
        if not inline and not rest:
            return None
        value = inline or rest.pop(0)
        if kind == LIST:
            args.setdefault(name, []).append(value)
        elif kind == PAIR:
            key, _, val = value.partition("=")
            args.setdefault(name, {})[key] = val
        else:
            args[name] = value
    kinds = {found[0]: found[1] for found in options.values()}
    if not args and tool in NEEDS_ARGUMENTS:
        return tool
    return f"{tool}({', '.join(f'{name}={_value(value, kinds.get(name))}' for name, value in args.items())})"


def _value(value, kind: str | None) -> str:
    if value is True:
        return "true"
    if kind in (INT, UNITS) and isinstance(value, str) and (value.isdigit() or kind == INT and value.isupper()):
        return value  # a number, or a number's placeholder (N)
    return json.dumps(value, ensure_ascii=False)


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
