"""Claude Code hooks: warm-start every session, checkpoint before compaction and as tools run,
watch the context.

Claude Code runs ``tether hook claude-code`` with the event's JSON on stdin
(fields: session_id, transcript_path, cwd, hook_event_name, and per event
source, trigger, reason). A hook must never break the session: outside a
workspace, or for events tether does not handle, it exits 0 and prints
nothing. Exit code 2 means "block" to Claude Code, so tether never uses it
here; failures exit 1 with one line on stderr, which Claude Code shows.
Whatever stdin holds (not UTF-8, not JSON, a field of the wrong type), the
exit code is 0 or 1.

Hooks change a tracked file only to save a checkpoint when work was done (before a
compaction, every few tool calls that changed something, before a risky shell
command): what else they see of a session (its starts, ends and compactions, the
transcript's path, the tool calls) goes to git-ignored files under ``.tether/local/``;
the next ``tether close`` folds the session log into the memory log.
SessionStart also writes ``export TETHER_SESSION_ID=...`` to the file Claude Code
names in ``CLAUDE_ENV_FILE``, so the commands the agent runs record under
Claude Code's own session id.

UserPromptSubmit reads how full the context is from the end of the transcript and adds a
line to the context only when the session's state changes to ORANGE or worse (the state seen
last is kept per machine under ``.tether/local/context-state/``); at CRITICAL it also saves a
final automatic checkpoint of the active task. With nothing to say, it loads no store: it
runs before every prompt.
"""

from __future__ import annotations

# Claude Code caps a hook's additionalContext at 10,000 characters.
CONTEXT_LIMIT = 10_000


def _event_name(event: dict) -> str:
    # Claude Code sends hook_event_name; some hook loggers record it as "event".
    return str(event.get("hook_event_name") or event.get("event") or "")


def _say(stderr, text: str) -> None:
    """One line on stderr, whatever the text holds: Claude Code shows it as the hook's error."""
    stderr.write("tether: " + " ".join(text.split()) + "\n")


# The fields tether reads from the event: each a string when present (JSON null counts as absent).
_TEXT_FIELDS = ("cwd", "session_id", "transcript_path", "source", "trigger", "reason", "custom_instructions")


def _read_raw(stdin) -> bytes:
    buffer = getattr(stdin, "buffer", None)
    raw = buffer.read() if buffer is not None else stdin.read()
    if isinstance(raw, str):  # a text stream without bytes underneath (an embedding caller)
        raw = raw.encode("utf-8", "surrogatepass")
    return raw


_QUICK = (b"UserPromptSubmit", b"PostToolUse", b"PreToolUse")


def _quick_event(raw: bytes) -> dict | None:
    """A UserPromptSubmit, PostToolUse or PreToolUse event (one of them runs at every prompt or
    tool call) read without loading ``json`` (see model.fastjson), or None: then the full reading
    decides (another event, or input with anything unusual in it)."""
    if not any(name in raw for name in _QUICK):
        return None
    from ..model.fastjson import loads

    try:
        text = raw.decode("utf-8")
        if "\\ud" in text or "\\uD" in text:  # a surrogate escape, maybe lone: the full reading decides
            return None
        event = loads(text)
    except (ValueError, RecursionError):
        return None
    if type(event) is not dict or _event_name(event) not in ("UserPromptSubmit", "PostToolUse", "PreToolUse"):
        return None
    for key in _TEXT_FIELDS + ("tool_name",):
        value = event.get(key)
        if value is None:
            continue
        if type(value) is not str or "\0" in value:
            return None
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate
            return None
    return event


def _read_event(raw: bytes, stderr) -> dict | None:
    """The event, or None after saying on stderr why it cannot be used."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        _say(stderr, f"hook input is not UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start}); nothing was recorded")
        return None
    if not text.strip():
        _say(stderr, "hook input is empty (the agent sends the event as one JSON object on stdin); nothing was recorded")
        return None
    from ..store.codec import Unusable, json_value

    try:
        event = json_value(text)
    except Unusable as exc:
        _say(stderr, f"hook input cannot be used ({exc.reason}); nothing was recorded")
        return None
    except ValueError as exc:  # JSONDecodeError
        _say(stderr, f"hook input is not JSON ({exc.msg} at line {exc.lineno}); nothing was recorded")
        return None
    if not isinstance(event, dict):
        _say(stderr, "hook input must be a JSON object; nothing was recorded")
        return None
    return event


def _wrong_field(event: dict) -> str | None:
    for key in _TEXT_FIELDS:
        value = event.get(key)
        if value is not None and type(value) is not str:
            from ..store.fields import got

            return f"'{key}' must be a string, got {got(value)}"
    if "\0" in (event.get("cwd") or ""):
        return "'cwd' contains a NUL byte, so it is no path"
    return None


def handle(stdin, stdout, stderr, agent: str = "claude-code") -> int:
    """Exit 0 (done, or nothing to do) or 1 (with one line on stderr), whatever stdin holds.

    ``agent="codex"``: Codex's hooks (`tether hook codex`), whose SessionStart, PreCompact and
    UserPromptSubmit events carry the same fields; Codex has no SessionEnd, and reads a hook's
    stdout as JSON, so PreCompact's line goes out as a ``systemMessage``."""
    name = "hook"
    try:
        raw = _read_raw(stdin)
        quick = _quick_event(raw)
        if quick is not None:  # at every prompt and tool call: the short way
            name = _event_name(quick)
            if name == "UserPromptSubmit":
                return _prompt_submit(quick, stdout, stderr, agent)
            return _run(name, quick, stdout, stderr, agent)
        event = _read_event(raw, stderr)
        if event is None:
            return 1
        name = _event_name(event)
        if name not in ("SessionStart", "PreCompact", "PostCompact", "SessionEnd", "PostToolUse", "PreToolUse",
                        "UserPromptSubmit"):
            return 0
        wrong = _wrong_field(event)
        if wrong:
            # Not what Claude Code sends: guessing (the process's directory for a bad cwd, say)
            # could brief or write into another repository than the one meant.
            _say(stderr, f"hook input: {wrong}; the {name} hook did nothing")
            return 1
        if name == "UserPromptSubmit":
            return _prompt_submit(event, stdout, stderr, agent)
        return _run(name, event, stdout, stderr, agent)
    except Exception as exc:  # noqa: BLE001 - a hook never breaks the session: exit 1, never 70
        import os

        if os.environ.get("TETHER_DEBUG"):
            raise
        _say(stderr, f"internal error in the {name} hook: {type(exc).__name__}: {exc}"
                     " (rerun with TETHER_DEBUG=1 for a traceback, and report it)")
        return 1


def _run(name: str, event: dict, stdout, stderr, agent: str = "claude-code") -> int:
    from ..errors import TetherError  # loaded already: the CLI's own module needs it

    try:
        if name == "SessionStart" and _warm_session_start(event, stdout, stderr):
            return 0
        if name in ("PostToolUse", "PreToolUse"):
            due = _tool_call(name, event, stderr)
            if due is None:
                return 0
    except TetherError as exc:  # a link where the event goes: nothing is written through it
        _say(stderr, f"{exc}" + (f" ({exc.hint})" if exc.hint else ""))
        return 1
    # Imported here: a warm SessionStart, the common case, never needs them.
    from ..errors import NoWorkspace, ParseError, TetherError
    from ..workspace import Workspace

    try:
        ws = Workspace.open(event.get("cwd") or None)
    except NoWorkspace:
        return 0  # tether is not set up in this project: stay out of the way
    except TetherError as exc:  # a tether.toml that does not read (a typo, a conflict): the user's to fix
        said = f"{exc}" + (f" ({exc.hint})" if exc.hint else "")
        if name == "SessionStart":  # the session learns why it has no brief, and how to get one
            _say(stderr, f"{said}; the session is told it has no brief")
            _inject_text(f"tether could not brief this session: {said}. Once it is fixed, run `tether boot`.",
                         stdout)
            return 0
        _say(stderr, f"{said}; the {name} hook did nothing")
        return 1
    if event.get("session_id"):
        ws.session_id = event["session_id"]
    if agent == "codex" and name != "SessionStart" and not event.get("transcript_path"):
        # Without it PreCompact would save nothing of what the compaction loses, and an automatic
        # checkpoint would miss the agent's last message; only events that write get here.
        event = dict(event, transcript_path=_transcript(event, agent))
    try:
        if name == "SessionStart":
            return _session_start(ws, event, stdout, stderr)
        if name == "PreCompact":
            return _pre_compact(ws, event, stdout, agent)
        if name == "PostCompact":
            return _post_compact(ws, event, stdout)
        if name in ("PostToolUse", "PreToolUse"):
            return _tool_checkpoint(ws, event, due, stdout)
        ws.session_event("session_end", reason=event.get("reason"), transcript=event.get("transcript_path"))
        ws.prepare_next_boot()  # the next SessionStart (after /clear, or tomorrow) starts warm
        return 0
    except TetherError as exc:
        _say(stderr, f"{exc}" + (f" ({exc.hint})" if exc.hint else ""))
        return 1
    except (OSError, ParseError) as exc:  # disk full, a lock held too long, a damaged record: never block
        _say(stderr, f"{exc}; the {name} hook did nothing")
        return 1


def _session_start(ws, event: dict, stdout, stderr) -> int:
    # Reached when _warm_session_start found the cache stale: not asked again.
    brief = ws.boot(max_chars=CONTEXT_LIMIT, warm=False)
    try:
        ws.session_event("session_start", **_start_fields(event, brief))
    except OSError as exc:
        _not_recorded(stderr, exc)
    _persist_session(event, stderr)
    _inject(brief, stdout, _after_compaction(event, ws, stderr, brief.text))
    return 0


def _not_recorded(stderr, exc: OSError) -> None:
    """The brief matters more than the log line: a read-only checkout or a full disk still gets it."""
    _say(stderr, f"could not record the session start in .tether/local/sessions.jsonl"
                 f" ({exc.strerror or exc}); the brief was given all the same")


def _warm_session_start(event: dict, stdout, stderr) -> bool:
    """SessionStart from the boot cache, without loading the store; False: take the full path."""
    import os

    from ..core.brief import from_cache
    from ..store import eventlog, locate

    root = locate.find_root(event.get("cwd") or os.getcwd())
    if root is None:
        return False
    store_dir = os.path.join(root, locate.STORE_DIR)
    # as the cold path's Workspace.session_id has it (workspace.session_from_environment), unloaded
    session = event.get("session_id") or os.environ.get("TETHER_SESSION_ID") or os.environ.get("CODEX_THREAD_ID")
    brief = from_cache(root, store_dir, None, CONTEXT_LIMIT, session)
    if brief is None:
        return False
    if not session:
        from ..model.ids import new_id

        session = new_id("S")
    try:
        eventlog.append_local(store_dir, eventlog.record("session_start", session, _start_fields(event, brief)))
    except OSError as exc:
        _not_recorded(stderr, exc)
    _persist_session(event, stderr)
    _inject(brief, stdout, _after_compaction(event, None, stderr, brief.text))
    return True


def _persist_session(event: dict, stderr) -> None:
    """Have the session's own commands (`tether checkpoint` run by the agent) record under Claude
    Code's session id: a SessionStart hook may append `export` lines to $CLAUDE_ENV_FILE, which
    Claude Code sources before each Bash command of the session."""
    import os

    path = os.environ.get("CLAUDE_ENV_FILE")
    session = event.get("session_id")
    if not path or not session:
        return
    line = f"export TETHER_SESSION_ID={_shell_quoted(session)}\n"
    try:
        with open(path, "a+", encoding="utf-8") as fh:
            fh.seek(0)
            there = fh.read()
            if line.rstrip("\n") in there.splitlines():
                return  # a resume or compaction of the same session: said already
            # Another hook's last line may lack its line break: ours must not run into it.
            fh.write(line if not there or there.endswith("\n") else "\n" + line)
    except OSError as exc:
        _say(stderr, f"could not write the session id to CLAUDE_ENV_FILE ({exc.strerror or exc}); the agent's"
                     " own tether commands will record under their own session ids")


def _shell_quoted(text: str) -> str:
    # shlex.quote's rule, without importing shlex (and re) at every session start
    if text and all(c.isascii() and (c.isalnum() or c in "@%+=:,./-_") for c in text):
        return text
    return "'" + text.replace("'", "'\"'\"'") + "'"


def _start_fields(event: dict, brief) -> dict:
    return {"source": event.get("source"), "transcript": event.get("transcript_path"), "degraded": brief.degraded}


def _inject(brief, stdout, extra: str = "") -> None:
    text = brief.text
    if extra:  # first: the brief's reading order comes after what a compaction must not lose
        room = CONTEXT_LIMIT - len(text) - 2
        if len(extra) > room:  # the pins come first in it, so they are the last cut
            note = "\n[cut at Claude Code's limit]"
            extra = extra[: max(room - len(note), 0)] + note if room > len(note) + 200 else ""
        if extra:
            text = f"{extra}\n\n{text}"
    if len(text) > CONTEXT_LIMIT:  # the renderer keeps under the cap; this is a last guard
        text = text[: CONTEXT_LIMIT - 80] + "\n[brief cut at Claude Code's limit: run `tether boot` for all of it]\n"
    _inject_text(text, stdout)


def _inject_text(text: str, stdout) -> None:
    from ..model.fastjson import dumps  # not json: see model.fastjson

    payload = {"hookSpecificOutput": {"hookEventName": "SessionStart", "additionalContext": text}}
    stdout.write(dumps(payload) + "\n")


def _tool_call(name: str, event: dict, stderr) -> dict | None:
    """The fast part of PostToolUse and PreToolUse, run at every tool call: add the call to the
    session's trail (PostToolUse), and say whether a checkpoint is due (None: it is not, or tether
    is not set up here). Loads neither the store nor the workspace."""
    import os

    from ..store import locate

    root = locate.find_root(event.get("cwd") or os.getcwd())
    if root is None:
        return None
    store_dir = os.path.join(root, locate.STORE_DIR)
    from ..warm.config_cache import workspace_config

    config, _ = workspace_config(store_dir)
    session = event.get("session_id") or os.environ.get("TETHER_SESSION_ID") or "unknown"
    if name == "PreToolUse":
        if event.get("tool_name") != "Bash" or not config.get("checkpoint_before_risky", True):
            return None
        from ..core.tool_trail import risky

        tool_input = event.get("tool_input")
        command = tool_input.get("command") if isinstance(tool_input, dict) else None
        what = risky(command)
        return {"session": session, "risky": what, "command": command} if what else None
    every = config.get("checkpoint_every", 4)
    if not every:
        return None
    from ..core.tool_trail import entry
    from ..model.clock import stamp
    from ..store import trail

    try:
        count = trail.append(store_dir, session, entry(event, root, stamp()))
    except OSError as exc:  # a full disk or a read-only checkout: the tool call goes on
        _say(stderr, f"could not add the tool call to the session's trail in .tether/local/trails/"
                     f" ({exc.strerror or exc})")
        return None
    return {"session": session, "every": every} if count >= every else None


def _tool_checkpoint(ws, event: dict, due: dict, stdout) -> int:
    task_id, ckp, said = ws.tool_checkpoint(due["session"], every=due.get("every"), risky=due.get("risky"),
                                            command=due.get("command"), transcript=event.get("transcript_path"))
    if ckp is not None:
        if due.get("risky"):
            import json

            # Shown to the user, not fed to the model: the command goes on as asked.
            stdout.write(json.dumps({"systemMessage": f"tether: {said}"}, ensure_ascii=False) + "\n")
    return 0


DRIFT_LIMIT = 1500  # characters of drift warning a compacted session's first context gets


def _summary_of(event: dict) -> str | None:
    """The compaction's summary: PostCompact's ``compact_summary``, else the newest one in the
    transcript (read from its end)."""
    summary = event.get("compact_summary")
    if isinstance(summary, str) and summary.strip():
        return summary
    transcript = event.get("transcript_path")
    if not isinstance(transcript, str) or not transcript:
        return None
    from ..transcripts.last_words import last_compact_summary

    try:
        return last_compact_summary(transcript)
    except OSError:
        return None


def _drift_text(task_id: str, found, transcript) -> str:
    lines = [f"tether: possible goal drift after this compaction (task {task_id}):"]
    lines += [f"- {i.kind}: {i.message}" for i in found]
    lines.append(f"Before going on, run `tether resume {task_id}` and compare; the full conversation is in"
                 + (f" the transcript ({transcript})" if transcript else " the session's transcript") + ".")
    text = "\n".join(lines)
    return text if len(text) <= DRIFT_LIMIT else text[: DRIFT_LIMIT - 1] + "…"


def _after_compaction(event: dict, ws, stderr, shown: str = "") -> str:
    """For a session started by a compaction, what goes before the brief: the pins, kept
    verbatim through every compaction (those the brief ``shown`` leaves out: it has a section of
    them, cut when its budget is short), the drift found in the compaction's summary, and tether's
    own summary saved by PreCompact ("" when there is none of them). In that order: what does not
    fit is cut from the end, and the summary is the one `tether show` gives whole."""
    if event.get("source") != "compact":
        return ""
    from ..errors import TetherError

    parts = []
    try:
        if ws is None:
            from ..workspace import Workspace

            ws = Workspace.open(event.get("cwd") or None)
        pinned = _pins_text(ws, shown)
        if pinned:
            parts.append(pinned)
        summary = _summary_of(event)
        if summary:
            task_id, found = ws.drift(summary)
            if found:
                parts.append(_drift_text(task_id, found, event.get("transcript_path")))
        saved = _saved_summary(ws, event)
        if saved:
            parts.append(saved)
    except (TetherError, OSError) as exc:  # the brief matters more than these
        _say(stderr, f"pins and drift check skipped: {exc}")
    return "\n\n".join(parts)


PINS_LIMIT = 4000  # characters of pins a compacted session's first context gets


def _pins_text(ws, shown: str = "") -> str:
    from ..compaction.pins import current
    from ..core.sections import pin_line

    pins = [p for p in current(ws.store.pin_entries()) if pin_line(p) not in shown]
    if not pins:
        return ""
    lines = ["tether: pinned (kept verbatim through every compaction; `tether pin --list`):"]
    used = len(lines[0])
    for pin in pins:
        line = f"- {pin['text']}"
        if used + len(line) + 1 > PINS_LIMIT:
            lines.append(f"- ... {len(pins) - len(lines) + 1} more: run `tether pin --list`")
            break
        lines.append(line)
        used += len(line) + 1
    return "\n".join(lines)


def _post_compact(ws, event: dict, stdout) -> int:
    summary = _summary_of(event)
    task_id, found = ws.drift(summary) if summary else (ws.active_task_id(), [])
    kept = None
    if summary:  # Claude Code's own summary, kept in the repository beside tether's
        from ..compaction import Compactor
        from ..errors import TetherError

        try:
            kept = Compactor(ws).keep(summary, log={"hook": "post_compact", "trigger": event.get("trigger"),
                                                    "session": ws.session_id})["ref"]
        except (TetherError, OSError) as exc:
            import sys

            _say(sys.stderr, f"Claude Code's summary was not kept: {exc}")
    ws.session_event("post_compact", trigger=event.get("trigger"), task=task_id,
                     summary_chars=len(summary) if summary else None, summary=kept, drift=[i.kind for i in found])
    if found:
        import json

        # Shown to the user; the compacted session gets it with its first context (SessionStart).
        message = _drift_text(task_id, found, None)
        stdout.write(json.dumps({"systemMessage": message}, ensure_ascii=False) + "\n")
    return 0


def _pre_compact(ws, event: dict, stdout, agent: str = "claude-code") -> int:
    trigger = event.get("trigger") or "unknown"
    # A checkpoint only when something was recorded since the last one: a copy under a new number
    # would present old progress as new (core.tasks.automatic_checkpoint).
    transcript = event.get("transcript_path")
    task_id, ckp, said = ws.auto_checkpoint(trigger, event.get("custom_instructions") or "",
                                            transcript=transcript if isinstance(transcript, str) else None)
    saved = _save_transcript(ws, event)
    if saved and saved.get("problems"):
        import sys

        for problem in saved["problems"]:  # a pin left out of the summary the compacted session gets
            _say(sys.stderr, f"{problem['path']}:{problem['line']}: {problem['message']}" if problem["line"]
                 else f"{problem['path']}: {problem['message']}")
    fields = {"summary": saved["summary"], "archive": saved["archive"], "offloaded": len(saved["offloaded"]),
              "tokens_before": saved["tokens_before"], "tokens_after": saved["tokens_after"]} if saved else {}
    ws.session_event("pre_compact", trigger=trigger, task=task_id, checkpoint=ckp.name if ckp else None,
                     said=said, **fields)
    lines = []
    if saved:
        lines.append(f"tether: saved the session before compaction: {saved['archive']} (the transcript),"
                     f" {saved['summary']} (tether's summary), {len(saved['offloaded'])} large tool result(s)"
                     f" offloaded; `tether show REF` gives any of them back")
    if task_id is not None:
        lines.append(f"tether: {said}")
    if lines and agent == "codex":  # Codex reads a hook's stdout as one JSON object
        import json

        stdout.write(json.dumps({"systemMessage": "\n".join(lines)}, ensure_ascii=False) + "\n")
    elif lines:
        stdout.write("\n".join(lines) + "\n")  # Claude Code shows it in the transcript view
    # The SessionStart that follows the compaction then starts warm: boot's cache is made now,
    # while Claude Code compacts (seconds), not when the new context waits for the brief.
    ws.prepare_next_boot()
    return 0


def _save_transcript(ws, event: dict) -> dict | None:
    """What the compaction would lose, into the repository (compaction.save_before_compaction):
    the report, or None (no transcript, or it could not be read: the checkpoint stands alone)."""
    import os

    transcript = event.get("transcript_path")
    if not transcript:  # the agent gives one: without it, what compaction loses is lost
        import sys

        _say(sys.stderr, "the transcript was not saved before compaction: the event names no transcript_path")
        return None
    if not os.path.isfile(transcript):  # not on this machine (a replayed event)
        import sys

        _say(sys.stderr, "the transcript was not saved before compaction: the transcript_path it names is not a file"
                         " on this machine")
        return None
    from ..compaction import save_before_compaction
    from ..errors import TetherError

    try:
        return save_before_compaction(ws, transcript)
    except (TetherError, OSError, ValueError) as exc:
        import sys

        _say(sys.stderr, f"the transcript was not saved before compaction: {exc}")
        return None


SUMMARY_LIMIT = 3000  # characters of tether's own summary a compacted session's first context gets


def _saved_summary(ws, event: dict) -> str:
    """tether's summary of this session saved by its last PreCompact, for the session that
    compaction starts ("" when there is none)."""
    session = event.get("session_id")
    if not session:
        return ""
    ref = next((row.get("summary") for row in reversed(ws.store.session_events())
                if row.get("event") == "pre_compact" and row.get("session") == session), None)
    if not isinstance(ref, str) or not ref:
        return ""
    from ..compaction import Compactor

    from ..compaction.summary import fitted

    text = Compactor(ws).show(ref).decode("utf-8", "replace").strip()
    text = fitted(text, SUMMARY_LIMIT, f"`tether show {ref}` has all of it").strip()
    return f"tether: its summary of this session before the compaction ({ref}):\n{text}"


# -- UserPromptSubmit: the context window ---------------------------------------------------------

#: What the agent is told when its session enters each state: transcripts.states.AGENT_ADVICE.
WARN_FROM = ("ORANGE", "RED", "CRITICAL")


def _transcript(event: dict, agent: str) -> str | None:
    """The session's transcript: the event's ``transcript_path``, or, as Codex sends none for some
    sessions, the Codex rollout named by the session's id."""
    transcript = event.get("transcript_path")
    if not transcript and agent == "codex" and isinstance(event.get("session_id"), str):
        from ..transcripts.locate import codex_rollout

        transcript = codex_rollout(event["session_id"])
    return transcript


def _prompt_submit(event: dict, stdout, stderr, agent: str = "claude-code") -> int:
    """Say something only when the session's context state changes to ORANGE or worse."""
    import os

    from ..store import locate

    transcript = _transcript(event, agent)
    if not transcript:
        return 0
    if "\0" in transcript:
        _say(stderr, "hook input: 'transcript_path' contains a NUL byte, so it is no path; context not checked")
        return 1
    root = locate.find_root(event.get("cwd") or os.getcwd())
    if root is None:
        return 0
    store_dir = os.path.join(root, locate.STORE_DIR)
    reading = context_reading(store_dir, transcript, stderr)
    if reading is None:
        return 0
    from ..warm import context_states

    session = event.get("session_id") or os.environ.get("TETHER_SESSION_ID") or transcript
    before = context_states.last(store_dir, session)
    if before is not None and before.get("state") == reading.state:
        return 0  # the common case: nothing changed, nothing said, nothing written
    try:
        context_states.remember(store_dir, session, state=reading.state, percent=round(reading.percent, 1),
                                tokens=reading.tokens, window=reading.window)
    except OSError as exc:
        # Without a memory of what was said, saying it would repeat at every prompt.
        _say(stderr, f"could not record the context state in .tether/local/ ({exc.strerror or exc});"
                     " nothing was said")
        return 1
    if reading.state not in WARN_FROM:
        return 0
    line = _context_line(reading)
    if reading.state == "CRITICAL":
        line += " " + _final_checkpoint(root, dict(event, transcript_path=transcript), reading, stderr, agent)
    else:
        from ..transcripts.states import AGENT_ADVICE

        line += " " + AGENT_ADVICE[reading.state]
    _record_state(store_dir, session, event, reading, stderr)
    import json

    payload = {"hookSpecificOutput": {"hookEventName": "UserPromptSubmit", "additionalContext": line},
               "systemMessage": line}
    stdout.write(json.dumps(payload, ensure_ascii=False) + "\n")
    return 0


def context_reading(store_dir: str, transcript: str, stderr, window: int | None = None, model: str | None = None):
    """The transcript's reading with the workspace's thresholds and windows; None (after a line on
    stderr when it is worth one) when it cannot be had. A transcript not written yet is no error.
    ``window``: the one the agent reports, unless tether.toml names one for ``model``."""
    from ..transcripts.usage import context_usage

    config = _context_config(store_dir, stderr)
    if config is None:
        return None
    thresholds, windows = config
    if window and windows and model:
        from ..transcripts.windows import _lookup

        if _lookup(model.lower(), [(k.lower(), v) for k, v in windows.items()]):
            window = None
    try:
        return context_usage(transcript, windows=windows or None, thresholds=thresholds or None, window=window,
                             model=model)
    except FileNotFoundError:
        return None
    except OSError as exc:
        _say(stderr, f"cannot read the transcript {transcript} ({exc.strerror or exc}); context not checked")
        return None


def _context_config(store_dir: str, stderr):
    """(thresholds, windows) from tether.toml, through the parsed-config cache."""
    from ..errors import TetherError
    from ..store.layout import CONFIG
    from ..warm import config_cache

    def parse(data):
        from ..store.config_file import parse

        return parse(data, f".tether/{CONFIG}").to_dict()

    try:
        fields, _ = config_cache.load(store_dir, CONFIG, parse)
    except TetherError as exc:
        _say(stderr, f"{exc}; context not checked" + (f" ({exc.hint})" if exc.hint else ""))
        return None
    from ..model.config import context_settings

    settings = context_settings(fields)
    return settings["thresholds"] or {}, settings["windows"] or {}


def _context_line(reading) -> str:
    # Not the seed's action for the state ("Tier 1 & 2 compression active"): the agent (Claude Code,
    # Codex) compacts its own context; the advice that follows says what is the model's to do.
    return (f"tether: the context window is {reading.percent:.0f}% full ({reading.tokens:,} of"
            f" {reading.window:,} tokens): {reading.state}.")


def _final_checkpoint(root: str, event: dict, reading, stderr, agent: str = "claude-code") -> str:
    """At CRITICAL: the active task's automatic checkpoint, and what to do next."""
    from ..errors import ParseError, TetherError
    from ..workspace import Workspace

    command = "/new" if agent == "codex" else "/clear"  # each agent's own command for a fresh session
    fresh = (f"Finish the current step, then start a fresh session ({command}): it resumes from the repository"
             " (`tether resume`).")
    try:
        ws = Workspace.open(root)
        if event.get("session_id"):
            ws.session_id = event["session_id"]
        task_id, ckp, said = ws.auto_checkpoint(f"{reading.percent:.0f}%", kind="context",
                                                transcript=event.get("transcript_path"))
    except (TetherError, OSError, ParseError) as exc:
        _say(stderr, f"the final checkpoint failed: {exc}")
        return f"tether could not save a final checkpoint ({exc}): run `tether checkpoint` now. {fresh}"
    if task_id is None:
        return f"No task is active, so nothing was checkpointed. {fresh}"
    if ckp is None:
        return f"Final checkpoint of {task_id}: nothing new to save ({said}). {fresh}"
    return f"tether saved a final checkpoint of {task_id} ({ckp.id}). {fresh}"


def _record_state(store_dir: str, session: str, event: dict, reading, stderr) -> None:
    """The change in the session log (per machine), which `tether log --session` shows."""
    from ..store import eventlog

    try:
        eventlog.append_local(store_dir, eventlog.record("context_state", session, {
            "state": reading.state, "percent": round(reading.percent, 1), "tokens": reading.tokens,
            "window": reading.window, "transcript": event.get("transcript_path")}))
    except OSError as exc:
        _say(stderr, f"could not record the context state in .tether/local/sessions.jsonl ({exc.strerror or exc})")
