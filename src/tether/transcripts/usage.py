"""How full the context is now: tokens, window, percentage, state and action.

:func:`context_usage` reads a transcript from its end: it seeks back in chunks to the last
record that tells, so its cost depends on how far back that record is, not on the length of
the transcript. What tells:

- Claude Code: the last API response of the conversation (the main chain; a subagent's own
  file is its own chain). Its prompt, ``input_tokens + cache_creation_input_tokens +
  cache_read_input_tokens``, is what the context held when the model was last called; the
  reply's ``output_tokens`` are reported beside it, not added (Claude Code's status line and
  ccusage count the same way; see docs/transcripts.md).
- Codex: the last ``token_count`` event: ``last_token_usage.total_tokens`` (what Codex itself
  counts as the tokens in the context window) and ``model_context_window``.
- A compact boundary after that record: the figures are from before the compaction, so the
  records since the boundary (the summary, and what followed) are counted instead, plus the
  fixed prompt no transcript holds (system prompt, tool definitions), measured at the head of
  the file: the first response's prompt less the content before it (:class:`Baseline`).
- No usage at all (a session with no reply yet): every record is counted.
- A chat message list: every string of it (roles and ids too, and a request's ``system``),
  joined and counted as one text, as `tether compact` counts it (tokens.list_tokens); a saved
  request's ``model`` names the model.

Counting is :mod:`.tokens`' estimate unless ``exact`` asks for tiktoken. The usage path
imports ``os`` and this package's plain modules (no ``json``: see model.fastjson); tiktoken
and the readers only when something must be counted.
"""

from __future__ import annotations

import os

from ..model.fastjson import loads as _fast_loads
from . import lines as _lines
from . import states as _states
from .detect import CHAT, CLAUDE_CODE, CODEX, detect
from .records import COMPACT_BOUNDARY, CONTENT, USAGE, Problems, Usage
from .windows import reported_window, window_for

#: How far back past a Codex usage record to look for the turn's model.
MODEL_SCAN = 4 * 1024 * 1024
#: How far into a file to look for its first response, for the fixed prompt's size.
BASELINE_SCAN = 4 * 1024 * 1024


class ContextUsage:
    """One reading of a context's fill."""

    __slots__ = ("tokens", "window", "window_source", "percent", "state", "action", "detail", "source",
                 "method", "model", "format", "usage", "compacted", "baseline", "offset", "bytes_read", "problems",
                 "path", "chosen")

    def __init__(self, **fields):
        for name in self.__slots__:
            setattr(self, name, fields.get(name))

    @property
    def advice(self) -> str | None:
        """What the agent is to do at this state (states.AGENT_ADVICE) when the transcript is a live
        agent session's (Claude Code, Codex: it compacts its own context), else None (a message
        list: ``action`` and ``detail``, the tiers `tether compact` applies, say it)."""
        return _states.AGENT_ADVICE[self.state] if self.format in (CLAUDE_CODE, CODEX) else None

    def as_dict(self) -> dict:
        out = {name: getattr(self, name) for name in self.__slots__}
        out["usage"] = self.usage.as_dict() if self.usage is not None else None
        out["problems"] = [str(p) for p in self.problems or ()]
        return out

    def __repr__(self):
        return (f"ContextUsage({self.tokens} of {self.window} tokens, {self.percent:.1f}%, {self.state}, "
                f"from {self.source})")


def context_usage(source, *, format: str | None = None, model: str | None = None, window: int | None = None,
                  windows: dict | None = None, thresholds: dict | None = None, exact: bool | None = False,
                  encoding: str | None = None, directory: str | None = None) -> ContextUsage:
    """The context's fill now, read from the end of ``source`` (a path or a binary file object).

    ``model`` names the model when the transcript does not (or to override it); ``window``
    fixes the window; ``windows`` maps model name prefixes to windows; ``thresholds`` moves the
    states' limits (state -> percent); ``exact``/``encoding``/``directory`` choose how records
    are counted when they must be (see :func:`.tokens.counter`).
    """
    limits = _states.thresholds(thresholds)  # a bad configuration fails before any reading
    opened = _lines.Opened(source)
    try:
        f = opened.file
        fmt = format or detect(f)
        problems = Problems()
        f.seek(0, os.SEEK_END)
        end = f.tell()
        if fmt is None and end:  # an empty file is a session not begun, not another format
            problems.add(opened.name, 1, "not a transcript format tether reads "
                                         "(Claude Code, Codex, or a chat message list)")
        found = None
        if fmt == CLAUDE_CODE:
            found = _claude_tail(f, end, problems, opened.name)
        elif fmt == CODEX:
            found = _codex_tail(f, end, problems, opened.name)
        if found is None:
            found = {"bytes_read": 0}
        usage = found.get("usage")
        counted = None
        if usage is None:
            count = _counter(exact, encoding, directory, model or found.get("model"))
            chain = found.get("chain", False)
            start = found.get("boundary", 0)
            if fmt == CHAT:  # counted as `tether compact` counts it, every string of the list
                from .chat import counted as _list_counted

                f.seek(0)
                tokens, listed = _list_counted(f, problems, opened.name, count)
                counted = (tokens, count.method)
                if listed:
                    found["model"] = listed
            else:
                counted = _count_from(f, fmt, start, chain, problems, opened.name, count)
            found["bytes_read"] = found.get("bytes_read", 0) + end - start
            if "boundary" in found:
                found["baseline"] = _head_baseline(f, fmt, chain, problems, opened.name, count)
                found["bytes_read"] += f.tell()
    finally:
        opened.close()
    return _reading(usage, counted, found, fmt, model, window, windows, limits, problems, opened.name)


def _reading(usage, counted, found, fmt, model, window, windows, limits, problems, path) -> ContextUsage:
    model = model or found.get("model")
    if usage is not None:
        tokens, source, method = usage.context, "usage", None
        reported = usage.window or found.get("window")
    elif counted is not None:
        tokens, method = counted
        tokens += found.get("baseline") or 0
        source = "counted" if tokens else "empty"
        reported = found.get("window")
    else:
        tokens, source, method, reported = 0, "empty", None, None
    size, where = window_for(model, tokens, window=window, windows=windows, reported=reported)
    percent = 100.0 * tokens / size if size else 0.0
    state = _states.state_for(percent, limits)
    return ContextUsage(tokens=tokens, window=size, window_source=where, percent=percent, state=state,
                        action=_states.ACTIONS[state], detail=_states.DETAILS[state], source=source, method=method,
                        model=model, format=fmt, usage=usage, compacted="boundary" in found,
                        baseline=found.get("baseline"),
                        offset=found.get("offset"), bytes_read=found.get("bytes_read"),
                        problems=list(problems), path=path)


# -- from the end ------------------------------------------------------------------------------

def _loads(line: bytes, offset: int, end: int, problems, path):
    try:
        obj = _fast_loads(line)
    except (ValueError, RecursionError):
        if offset + len(line) >= end and not line.endswith(b"\n"):
            problems.add(path, 0, f"torn last line at byte {offset} (still being written?), not read")
        else:
            problems.add(path, 0, f"not valid JSON at byte {offset}, not read")
        return None
    return obj if type(obj) is dict else None


def _claude_tail(f, end: int, problems, path) -> dict:
    """The last usage of the file's chain, or the compact boundary that makes it stale (and
    then the model of the usage before it, if it is within MODEL_SCAN bytes)."""
    chain = None      # the file's chain: the isSidechain of its last record that has one
    read = 0
    boundary = None   # a compact boundary after every usage seen so far
    limit = 0         # past a boundary, how far back to look for the session's model
    for offset, line in _lines.backward(f, end):
        if boundary is not None and offset < limit:
            break
        if line is None:
            problems.add(path, 0, f"line at byte {offset} too long to read, skipped")
            continue
        read += len(line)
        if chain is None and b'"isSidechain"' in line:
            obj = _loads(line, offset, end, problems, path)
            if obj is not None and "isSidechain" in obj:
                chain = obj.get("isSidechain") is True
        if b'"usage"' not in line and b'"compact_boundary"' not in line:
            continue
        obj = _loads(line, offset, end, problems, path)
        if obj is None or (obj.get("isSidechain") is True) != bool(chain):
            continue
        kind = obj.get("type")
        if kind == "system" and obj.get("subtype") == "compact_boundary":
            if boundary is None:
                boundary, limit = offset, offset - MODEL_SCAN
            continue
        message = obj.get("message")
        if kind not in ("assistant", None) or not isinstance(message, dict):
            continue
        usage = message.get("usage")
        if not isinstance(usage, dict) or message.get("model") == "<synthetic>":
            continue
        parsed = Usage.from_anthropic(usage)
        if parsed.is_zero():
            continue
        model = message.get("model") if isinstance(message.get("model"), str) else None
        if boundary is not None:
            # Stale figures; the model they name is still the session's.
            return {"boundary": boundary, "model": model, "chain": bool(chain), "bytes_read": read}
        return {"usage": parsed, "model": model, "offset": offset, "chain": bool(chain), "bytes_read": read}
    if boundary is not None:
        return {"boundary": boundary, "chain": bool(chain), "bytes_read": read}
    return {"chain": bool(chain), "bytes_read": read}


def _codex_tail(f, end: int, problems, path) -> dict:
    """The last token_count, or the compaction that makes it stale; then the turn's model."""
    read = 0
    found = None
    lines = _lines.backward(f, end)
    for offset, line in lines:
        if line is None:
            problems.add(path, 0, f"line at byte {offset} too long to read, skipped")
            continue
        read += len(line)
        if found is None:
            if b'"token_count"' in line:
                obj = _loads(line, offset, end, problems, path)
                payload = obj.get("payload") if obj else None
                if not isinstance(payload, dict) or payload.get("type") != "token_count":
                    continue
                info = payload.get("info")
                if not isinstance(info, dict):
                    continue
                last = info.get("last_token_usage")
                window = reported_window(info.get("model_context_window"))
                usage = Usage.from_openai(last if isinstance(last, dict) else {}, window=window)
                found = {"usage": usage, "offset": offset}
                if isinstance(info.get("model"), str):
                    found["model"] = info["model"]
                    if window is not None:
                        break
                limit = offset - MODEL_SCAN
            elif b'"compacted"' in line:
                obj = _loads(line, offset, end, problems, path)
                if obj is not None and obj.get("type") == "compacted":
                    found = {"boundary": offset}
                    limit = offset - MODEL_SCAN
        else:
            if offset < limit:
                break
            if b'"turn_context"' in line or b'"task_started"' in line:
                obj = _loads(line, offset, end, problems, path)
                payload = obj.get("payload") if obj else None
                if not isinstance(payload, dict):
                    continue
                if obj.get("type") == "turn_context" and isinstance(payload.get("model"), str):
                    found.setdefault("model", payload["model"])
                elif payload.get("type") == "task_started" and reported_window(payload.get("model_context_window")):
                    found.setdefault("window", payload["model_context_window"])
                usage = found.get("usage")
                if "model" in found and ("window" in found or (usage is not None and usage.window)):
                    break
    lines.close()
    found = found or {}
    found["bytes_read"] = read
    return found


def _counter(exact, encoding, directory, model):
    from . import tokens as _tokens

    return _tokens.counter(exact, encoding, directory, model)


def _count_from(f, fmt, start: int, chain: bool, problems, path, count):
    """(tokens, method) of the content records from byte ``start`` on, in ``chain``."""
    from .transcript import READERS

    if fmt not in READERS:
        return 0, count.method
    f.seek(start)
    total = 0
    for record in READERS[fmt](f, problems, path, None, start_offset=start, start_line=None):
        if record.kind in CONTENT and record.sidechain == chain:
            total += count.record(record)
    return total, count.method


class Baseline:
    """The tokens of a session's fixed prompt, which no transcript holds (the system prompt,
    the tool definitions): the first response's prompt less the content written before it.

    Fed records in file order; ``value`` is set once the first response of ``chain`` is seen
    within the first BASELINE_SCAN bytes, and stays None otherwise.
    """

    __slots__ = ("chain", "count", "before", "cutoff", "value", "done")

    def __init__(self, chain: bool, count):
        self.chain = chain
        self.count = count
        self.before = 0        # tokens of the content before the first response
        self.cutoff = None     # offset of the first response's first record
        self.value = None
        self.done = False

    def feed(self, record) -> bool:
        """Take one record; True once nothing more is needed."""
        if self.done:
            return True
        if record.offset > BASELINE_SCAN:
            self.done = True
        elif record.sidechain != self.chain:
            pass
        elif record.kind == USAGE:
            if self.cutoff is not None and record.usage is not None and not record.usage.is_zero():
                self.value = max(0, record.usage.prompt - self.before)
                self.done = True
        elif record.kind in CONTENT:
            if record.role == "assistant" and self.cutoff is None:
                self.cutoff = record.offset
            elif self.cutoff is None or record.offset < self.cutoff:
                self.before += self.count.record(record)
        return self.done


def _head_baseline(f, fmt, chain, problems, path, count):
    from .records import Problems as _Problems
    from .transcript import READERS

    if fmt not in (CLAUDE_CODE, CODEX):
        return None
    f.seek(0)
    baseline = Baseline(chain, count)
    # What the head holds was reported by the reading of the whole file, if anyone reads it:
    # these lines are not this reading's problems.
    for record in READERS[fmt](f, _Problems(), path, None):
        if baseline.feed(record):
            break
    return baseline.value


# -- forward -----------------------------------------------------------------------------------

def from_records(records, *, format: str | None = None, model: str | None = None, window: int | None = None,
                 windows: dict | None = None, thresholds: dict | None = None, exact: bool | None = False,
                 encoding: str | None = None, directory: str | None = None) -> ContextUsage:
    """The same reading as :func:`context_usage`, from the records of one file read forward.

    It reads everything, so it is the reference the from-the-end reading is tested against,
    and the way to read a transcript that is only a stream. A chat list's records leave out
    what it is counted by (roles, ids): given its Transcript, its file is read again for the
    count; given bare records, each record's content is counted.
    """
    limits = _states.thresholds(thresholds)
    count = _counter(exact, encoding, directory, model)
    baselines = {False: Baseline(False, count), True: Baseline(True, count)}
    # Per chain (False: main, True: sidechain): the last usage, the last boundary, and the
    # tokens of the content since that boundary.
    last_usage = {}
    last_boundary = {}
    since = {False: 0, True: 0}
    chain = False
    problems = None
    fmt = format
    for record in records:
        if record.uuid is not None and record.kind != USAGE:
            chain = record.sidechain  # USAGE records come when their response ends, out of line order
        side = record.sidechain
        baselines[side].feed(record)
        if record.kind == USAGE:
            if record.usage is not None and not record.usage.is_zero():
                if side not in last_usage or record.offset >= last_usage[side].offset:
                    last_usage[side] = record
        elif record.kind == COMPACT_BOUNDARY:
            last_boundary[side] = record
            since[side] = 0
        elif record.kind in CONTENT:
            since[side] += count.record(record)
    if hasattr(records, "problems"):
        problems = records.problems
        fmt = fmt or getattr(records, "format", None)
    usage = last_usage.get(chain) if fmt != CHAT else None   # a list's usage is not its context (see context_usage)
    boundary = last_boundary.get(chain)
    found = {}
    counted = None
    if usage is not None and (boundary is None or boundary.offset < usage.offset):
        found.update(offset=usage.offset)
        if usage.model:
            found["model"] = usage.model
        usage = usage.usage
    else:
        if fmt == CLAUDE_CODE and usage is not None and usage.model:
            found["model"] = usage.model
        elif fmt == CODEX and boundary is not None and boundary.model:
            found["model"] = boundary.model
        usage = None
        if boundary is not None:
            found["boundary"] = boundary.offset
            if fmt in (CLAUDE_CODE, CODEX):
                found["baseline"] = baselines[chain].value
        counted = (since[chain], count.method)
        source = getattr(records, "source", None)
        if fmt == CHAT and source is not None:
            # A list's records leave out what it is counted by (roles, ids): its file is read again.
            from .chat import counted as _list_counted
            from .records import Problems as _Problems

            with _lines.Opened(source, getattr(records, "name", None)) as opened:
                opened.file.seek(0)
                tokens, listed = _list_counted(opened.file, _Problems(), opened.name, count)
            counted = (tokens, count.method)
            if listed:
                found["model"] = listed
    return _reading(usage, counted, found, fmt, model, window, windows, limits, problems or (), None)


def totals(records) -> dict:
    """Session totals of the USAGE records (each API response once), main and sidechains apart."""
    out = {}
    for record in records:
        if record.kind != USAGE or record.usage is None or (record.meta and record.meta.get("replayed")):
            continue
        key = "sidechain" if record.sidechain else "main"
        entry = out.setdefault(key, {"responses": 0, "input": 0, "output": 0, "cache_creation": 0,
                                     "cache_read": 0, "cached": 0, "reasoning": 0})
        u = record.usage
        entry["responses"] += 1
        for name in ("input", "output", "cache_creation", "cache_read", "cached", "reasoning"):
            entry[name] += getattr(u, name)
    return out
