"""Claude Code hooks: warm-start every session, checkpoint before compaction.

Claude Code runs ``tether hook claude-code`` with the event's JSON on stdin
(fields: session_id, transcript_path, cwd, hook_event_name, and per event
source, trigger, reason). A hook must never break the session: outside a
workspace, or for events tether does not handle, it exits 0 and prints
nothing. Exit code 2 means "block" to Claude Code, so tether never uses it
here; failures exit 1 with one line on stderr, which Claude Code shows.
"""

from __future__ import annotations

import json

# Claude Code caps a hook's additionalContext at 10,000 characters.
CONTEXT_LIMIT = 10_000


def _event_name(event: dict) -> str:
    # Claude Code sends hook_event_name; some hook loggers record it as "event".
    return str(event.get("hook_event_name") or event.get("event") or "")


def handle(stdin, stdout, stderr) -> int:
    raw = stdin.read()
    try:
        event = json.loads(raw) if raw.strip() else {}
    except ValueError as exc:
        stderr.write(f"tether: hook input is not JSON ({exc.msg} at line {exc.lineno}); nothing was recorded\n")
        return 1
    if not isinstance(event, dict):
        stderr.write("tether: hook input must be a JSON object; nothing was recorded\n")
        return 1
    name = _event_name(event)
    if name not in ("SessionStart", "PreCompact", "SessionEnd"):
        return 0
    from ..errors import TetherError  # loaded already: the CLI's own module needs it

    try:
        if name == "SessionStart" and _warm_session_start(event, stdout):
            return 0
    except TetherError as exc:  # a link where the event goes: nothing is written through it
        stderr.write(f"tether: {exc}" + (f" ({exc.hint})" if exc.hint else "") + "\n")
        return 1
    # Imported here: a warm SessionStart, the common case, never needs them.
    from ..errors import NoWorkspace, ParseError
    from ..workspace import Workspace

    try:
        ws = Workspace.open(event.get("cwd") or None)
    except NoWorkspace:
        return 0  # tether is not set up in this project: stay out of the way
    if event.get("session_id"):
        ws.session_id = str(event["session_id"])
    try:
        if name == "SessionStart":
            return _session_start(ws, event, stdout)
        if name == "PreCompact":
            return _pre_compact(ws, event)
        ws.event("session_end", reason=event.get("reason"), transcript=event.get("transcript_path"))
        ws.prepare_next_boot()  # the next SessionStart (after /clear, or tomorrow) starts warm
        return 0
    except TetherError as exc:
        stderr.write(f"tether: {exc}" + (f" ({exc.hint})" if exc.hint else "") + "\n")
        return 1
    except (OSError, ParseError) as exc:  # disk full, a lock held too long, a damaged record: never block
        stderr.write(f"tether: {exc}; the {name} hook did nothing\n")
        return 1


def _session_start(ws, event: dict, stdout) -> int:
    # Reached when _warm_session_start found the cache stale: not asked again.
    brief = ws.boot(max_chars=CONTEXT_LIMIT, warm=False)
    ws.event("session_start", **_start_fields(event, brief))
    _inject(brief, stdout)
    return 0


def _warm_session_start(event: dict, stdout) -> bool:
    """SessionStart from the boot cache, without loading the store; False: take the full path."""
    import os

    from ..core.brief import from_cache
    from ..store import eventlog, locate

    root = locate.find_root(event.get("cwd") or os.getcwd())
    if root is None:
        return False
    store_dir = os.path.join(root, locate.STORE_DIR)
    brief = from_cache(root, store_dir, None, CONTEXT_LIMIT)
    if brief is None:
        return False
    session = str(event.get("session_id") or "") or os.environ.get("TETHER_SESSION_ID")
    if not session:
        from ..model.ids import new_id

        session = new_id("S")
    try:
        eventlog.append(store_dir, eventlog.record("session_start", session, _start_fields(event, brief)))
    except OSError:
        return False  # the full path says what went wrong
    _inject(brief, stdout)
    return True


def _start_fields(event: dict, brief) -> dict:
    return {"source": event.get("source"), "transcript": event.get("transcript_path"), "degraded": brief.degraded}


def _inject(brief, stdout) -> None:
    text = brief.text
    if len(text) > CONTEXT_LIMIT:  # the renderer keeps under the cap; this is a last guard
        text = text[: CONTEXT_LIMIT - 80] + "\n[brief cut at Claude Code's limit: run `tether boot` for all of it]\n"
    payload = {"hookSpecificOutput": {"hookEventName": "SessionStart", "additionalContext": text}}
    stdout.write(json.dumps(payload, ensure_ascii=False) + "\n")


def _pre_compact(ws, event: dict) -> int:
    from ..model.records import CHECKPOINT_STATUSES

    trigger = event.get("trigger") or "unknown"
    task_id = ws.active_task_id()
    saved = None
    if task_id is not None:
        previous = ws.resume(task_id).checkpoint
        state = previous.current_state if previous else ""
        ckp = ws.checkpoint(task_id, state=state or "Context compaction started",
                            next_actions=list(previous.next) if previous else [],
                            # keep a blocked (or completed) checkpoint's status: compaction changes nothing
                            status=previous.status if previous and previous.status in CHECKPOINT_STATUSES
                            else "in_progress",
                            note=f"Automatic checkpoint before context compaction (trigger: {trigger})."
                            + (f" Instructions: {event['custom_instructions']}" if event.get("custom_instructions") else ""))
        saved = ckp.name
    ws.event("pre_compact", trigger=trigger, task=task_id, checkpoint=saved)
    # The SessionStart that follows the compaction then starts warm: boot's cache is made now,
    # while Claude Code compacts (seconds), not when the new context waits for the brief.
    ws.prepare_next_boot()
    return 0
