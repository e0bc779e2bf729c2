"""The record model every reader yields: pure data, no I/O.

A transcript is read as a stream of :class:`Record`, one per piece of the conversation the
model saw (a text, a thinking block, a tool call, a tool result, a compact summary), plus
records that are not content: a compact boundary, the usage of one API response, a title,
and events (hook runs, progress, file snapshots) kept only so nothing is silently dropped.

Plain classes with ``__slots__``: the readers make millions of these on a big transcript,
and the usage path imports nothing heavier than this module.
"""

from __future__ import annotations


from .tools import EDIT_TOOLS  # noqa: F401 - part of the record model's vocabulary

# Record kinds.
TEXT = "text"                # a message's text (user, assistant, system, developer)
THINKING = "thinking"        # reasoning the model wrote (Claude thinking, Codex reasoning summary)
TOOL_USE = "tool_use"        # a tool call: tool_name, tool_input, tool_use_id
TOOL_RESULT = "tool_result"  # a tool's output: text, tool_use_id, is_error
IMAGE = "image"              # an image or document block (no text; kept for its position)
SUMMARY = "summary"          # a compact summary: what replaced the conversation before a boundary
COMPACT_BOUNDARY = "compact_boundary"  # the context was compacted here
USAGE = "usage"              # one API response's token usage, counted once
TITLE = "title"              # a session title line (Claude Code's {"type": "summary"}), not content
OTHER = "other"              # a content block of a type this reader does not know; text is its JSON
EVENT = "event"              # anything else the transcript logs (progress, hooks, snapshots)

#: Kinds whose text is in the model's context.
CONTENT = frozenset({TEXT, THINKING, TOOL_USE, TOOL_RESULT, SUMMARY, OTHER})


class Usage:
    """Token usage of one API response, as the provider reported it.

    ``flavor`` says how to read it: ``"anthropic"`` (``input`` excludes the cache, which is
    ``cache_creation`` + ``cache_read``) or ``"openai"`` (``input`` includes ``cached``;
    ``total`` = input + output).
    """

    __slots__ = ("flavor", "input", "output", "cache_creation", "cache_read", "cached",
                 "reasoning", "total", "window")

    def __init__(self, flavor: str, input: int = 0, output: int = 0, cache_creation: int = 0,
                 cache_read: int = 0, cached: int = 0, reasoning: int = 0, total: int | None = None,
                 window: int | None = None):
        self.flavor = flavor
        self.input = input
        self.output = output
        self.cache_creation = cache_creation
        self.cache_read = cache_read
        self.cached = cached
        self.reasoning = reasoning
        self.total = total
        self.window = window  # the context window the transcript itself reports, if any

    @classmethod
    def from_anthropic(cls, data: dict) -> "Usage":
        return cls("anthropic", input=_int(data.get("input_tokens")), output=_int(data.get("output_tokens")),
                   cache_creation=_int(data.get("cache_creation_input_tokens")),
                   cache_read=_int(data.get("cache_read_input_tokens")))

    @classmethod
    def from_openai(cls, data: dict, window: int | None = None) -> "Usage":
        """Codex's ``*_token_usage`` and the Responses API (``input_tokens``), or Chat
        Completions (``prompt_tokens``/``completion_tokens``)."""
        details = data.get("input_tokens_details") or data.get("prompt_tokens_details")
        out_details = data.get("output_tokens_details") or data.get("completion_tokens_details")
        details = details if type(details) is dict else {}
        out_details = out_details if type(out_details) is dict else {}
        inp = data.get("input_tokens", data.get("prompt_tokens"))
        out = data.get("output_tokens", data.get("completion_tokens"))
        total = data.get("total_tokens")
        return cls("openai", input=_int(inp), output=_int(out),
                   cached=_int(data.get("cached_input_tokens", details.get("cached_tokens"))),
                   reasoning=_int(data.get("reasoning_output_tokens", out_details.get("reasoning_tokens"))),
                   total=None if total is None else _int(total), window=window)

    @property
    def prompt(self) -> int:
        """Tokens the request sent: everything in the context when the model was called."""
        if self.flavor == "anthropic":
            return self.input + self.cache_creation + self.cache_read
        return self.input

    @property
    def context(self) -> int:
        """Tokens in the context by the provider's own tool's measure (see docs/transcripts.md):
        Claude Code counts the prompt; Codex counts the last response's ``total_tokens``."""
        if self.flavor == "anthropic":
            return self.prompt
        return self.total if self.total is not None else self.input + self.output

    def is_zero(self) -> bool:
        return not (self.input or self.output or self.cache_creation or self.cache_read or self.total)

    def as_dict(self) -> dict:
        out = {"flavor": self.flavor, "input": self.input, "output": self.output}
        if self.flavor == "anthropic":
            out.update(cache_creation=self.cache_creation, cache_read=self.cache_read)
        else:
            out.update(cached=self.cached, reasoning=self.reasoning, total=self.total)
        if self.window is not None:
            out["window"] = self.window
        return out

    def __eq__(self, other):
        return isinstance(other, Usage) and all(getattr(self, s) == getattr(other, s) for s in self.__slots__)

    def __repr__(self):
        return f"Usage({self.as_dict()})"


class Record:
    """One piece of a transcript. Fields a reader does not know stay at their defaults."""

    __slots__ = ("kind", "role", "text", "tool_name", "tool_input", "tool_use_id", "is_error",
                 "message_id", "uuid", "parent_uuid", "timestamp", "sidechain", "agent_id", "model",
                 "usage", "files", "meta", "path", "line", "offset")

    def __init__(self, kind: str, role: str | None = None, text: str = "", *, tool_name: str | None = None,
                 tool_input=None, tool_use_id: str | None = None, is_error: bool = False,
                 message_id: str | None = None, uuid: str | None = None, parent_uuid: str | None = None,
                 timestamp: str | None = None, sidechain: bool = False, agent_id: str | None = None,
                 model: str | None = None, usage: Usage | None = None, files: tuple = (),
                 meta: dict | None = None, path: str | None = None, line: int = 0, offset: int = 0):
        self.kind = kind
        self.role = role
        self.text = text
        self.tool_name = tool_name
        self.tool_input = tool_input     # a dict (parsed arguments) or a str (free-form input)
        self.tool_use_id = tool_use_id   # pairs a TOOL_USE with its TOOL_RESULT
        self.is_error = is_error
        self.message_id = message_id     # the API response this block came from
        self.uuid = uuid
        self.parent_uuid = parent_uuid
        self.timestamp = timestamp
        self.sidechain = sidechain       # a subagent's record, not the main conversation's
        self.agent_id = agent_id
        self.model = model
        self.usage = usage               # on USAGE records only
        self.files = files               # files an edit tool call changes
        self.meta = meta                 # small extras: a boundary's trigger and pre_tokens, an event's type
        self.path = path                 # the transcript file
        self.line = line                 # 1-based line of the record's start (of the last line, for USAGE)
        self.offset = offset             # byte offset of that line

    @property
    def input_text(self) -> str:
        """A tool call's input as the model wrote it (JSON for structured input)."""
        if self.tool_input is None:
            return ""
        if isinstance(self.tool_input, str):
            return self.tool_input
        import json

        return json.dumps(self.tool_input, ensure_ascii=False)

    @property
    def chars(self) -> int:
        """Characters this record puts in the context: its text, and a tool call's name and input."""
        if self.kind not in CONTENT:
            return 0
        size = len(self.text)
        if self.kind == TOOL_USE:
            size += len(self.tool_name or "") + len(self.input_text)
        return size

    def as_dict(self) -> dict:
        out = {}
        for name in self.__slots__:
            value = getattr(self, name)
            if value in (None, "", (), False, 0) and name not in ("kind",):
                continue
            out[name] = value.as_dict() if isinstance(value, Usage) else list(value) if isinstance(value, tuple) else value
        return out

    def __repr__(self):
        text = self.text if len(self.text) <= 40 else self.text[:37] + "..."
        extra = f" {self.tool_name}" if self.tool_name else ""
        return f"<Record {self.kind}{extra} {self.role or '-'} line {self.line}: {text!r}>"


class Problem:
    """A line that could not be read: where, and why."""

    __slots__ = ("path", "line", "reason")

    def __init__(self, path: str | None, line: int, reason: str):
        self.path = path
        self.line = line
        self.reason = reason

    def __str__(self):
        # line 0: not counted (a transcript read back from its end); the reason says the byte
        where = f"{self.path or '<stream>'}:{self.line}" if self.line else self.path or "<stream>"
        return f"{where}: {self.reason}"

    def __repr__(self):
        return f"Problem({str(self)!r})"

    def as_dict(self) -> dict:
        return {"path": self.path, "line": self.line, "reason": self.reason}


class Problems:
    """Unreadable lines of one reading: all counted, the first ``keep`` named."""

    __slots__ = ("count", "named", "keep")

    def __init__(self, keep: int = 1000):
        self.count = 0
        self.named: list = []
        self.keep = keep

    def add(self, path: str | None, line: int, reason: str) -> None:
        self.count += 1
        if len(self.named) < self.keep:
            self.named.append(Problem(path, line, reason))

    def __len__(self):
        return self.count

    def __iter__(self):
        return iter(self.named)

    def __bool__(self):
        return self.count > 0

    def summary(self) -> str:
        if not self.count:
            return "no unreadable lines"
        lines = [str(p) for p in self.named]
        if self.count > len(self.named):
            lines.append(f"... and {self.count - len(self.named)} more")
        return f"{self.count} unreadable line(s):\n  " + "\n  ".join(lines)


def _int(value) -> int:
    # Usage fields are ints in every known version; anything else (null, a string) counts as 0
    # rather than stopping the reading.
    return value if type(value) is int else 0


def arguments_of(arguments):
    """A function call's arguments: the JSON object they encode, or the string as written."""
    if isinstance(arguments, str):
        from ..model.fastjson import loads

        try:
            parsed = loads(arguments)
        except ValueError:
            return arguments
        return parsed if isinstance(parsed, dict) else arguments
    return arguments
