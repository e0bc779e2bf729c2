"""``tether statusline``: Claude Code's status line, from the JSON Claude Code writes on stdin.

Claude Code runs the command after each assistant message (at most every 300 ms) with the
session's JSON (session_id, transcript_path, cwd, model, workspace, context_window, ...) and
shows the first line printed: here the active task's position and the context state,
``T004 13/20 · context 62% ORANGE``; a task standing in for the one this machine chose (closed,
or on another branch) is marked, as resume and the brief mark it: ``T8 0/2 (stand-in for T7,
complete)``. A status line must never fail: whatever is missing
(no workspace, no task, no transcript yet, input it cannot read) is left out, and the exit
code is 0. It never changes anything, the UserPromptSubmit hook's memory of states included.
"""

from __future__ import annotations

import os


def _event(stdin) -> dict:
    buffer = getattr(stdin, "buffer", None)
    raw = buffer.read() if buffer is not None else stdin.read()
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    from ..model.fastjson import loads  # not json: see model.fastjson

    try:
        event = loads(raw) if raw.strip() else {}
    except (ValueError, RecursionError):
        return {}
    return event if isinstance(event, dict) else {}


def _text(value) -> str | None:
    """A usable string field (a path can hold neither a NUL nor a lone surrogate), else None."""
    if not isinstance(value, str) or not value or "\0" in value:
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return None
    return value


def line(event: dict, stderr) -> str:
    """The status line for one input."""
    return status(event, stderr)["line"]


def status(event: dict, stderr) -> dict:
    """The status line for one input (``line``), and ``stand_in``: when the task shown stands in
    for the one this machine chose, {"chosen", "status"} (None: not in this checkout), else None."""
    from ..store import locate

    workspace = event.get("workspace") if isinstance(event.get("workspace"), dict) else {}
    cwd = _text(workspace.get("current_dir")) or _text(event.get("cwd")) or os.getcwd()
    root = locate.find_root(cwd)
    parts = []
    stand_in = None
    if root is not None:
        position, stand_in = _task_position(root)
        if position:
            parts.append(position)
    transcript = _text(event.get("transcript_path"))
    if transcript:
        reading = _reading(root, transcript, event, stderr)
        if reading is not None:
            parts.append(f"context {reading.percent:.0f}% {reading.state}")
    return {"line": " · ".join(parts), "stand_in": stand_in}


def _reading(root, transcript: str, event: dict, stderr):
    """The context's reading; the window Claude Code reports (it knows a 1M-token variant) unless
    tether.toml names one for the model."""
    model = event.get("model") if isinstance(event.get("model"), dict) else {}
    model_id = _text(model.get("id"))
    size = None
    context = event.get("context_window")
    if isinstance(context, dict) and type(context.get("context_window_size")) is int \
            and context["context_window_size"] >= 1000:
        size = context["context_window_size"]
    if root is None:
        from ..transcripts.usage import context_usage

        try:
            return context_usage(transcript, model=model_id, window=size)
        except (OSError, ValueError):
            return None
    from ..store.locate import STORE_DIR
    from .claude_code import context_reading

    return context_reading(os.path.join(root, STORE_DIR), transcript, stderr, window=size, model=model_id)


def _task_position(root: str) -> tuple[str | None, dict | None]:
    """``T004 13/20`` for the active task (its id alone when it has no steps or items), marked when
    it stands in for the task this machine chose, and that stand-in (Workspace.stand_in's
    "chosen" and "status", "unreadable" when the chosen task's file cannot be read): from the per-machine cache while the files it comes from are
    unchanged (only the chosen task's position is kept), else through the store."""
    import time

    from ..errors import TetherError
    from ..store.locate import STORE_DIR
    from ..warm import position_cache

    store_dir = os.path.join(root, STORE_DIR)
    started = time.time_ns()
    try:
        hit, position = position_cache.load(store_dir)
        if hit:
            return position, None
        from ..workspace import Workspace

        ws = Workspace.open(root)
        task_id = ws.active_task_id()
        if task_id is None:
            if not ws.store.open_task_ids():
                position_cache.save(store_dir, None, None, started)
            return None, None
        progress = ws.progress(ws.task(task_id))
        chosen = ws.store.active_task()
    except (TetherError, OSError):
        return None, None
    fell = None
    if chosen and chosen != task_id:
        try:
            fell = ws.stand_in()
        except (TetherError, OSError):  # the chosen task's file: the task shown is a stand-in all the same
            fell = {"chosen": chosen, "status": "unreadable"}
    position = f"{task_id} {len(progress.done)}/{progress.total}" if progress.total else task_id
    if chosen == task_id:  # chosen on this machine: the cache's files say it all
        position_cache.save(store_dir, task_id, position, started)
    if fell is None:
        return position, None
    # as resume and the brief say it: the session must not take the stand-in for its own task
    said = fell["status"] or "not in this checkout"
    return f"{position} (stand-in for {fell['chosen']}, {said})", {"chosen": fell["chosen"], "status": fell["status"]}


def read_status(stdin, stderr) -> dict:
    """``status`` of the input on ``stdin``; never fails (what went wrong is the line)."""
    try:
        return status(_event(stdin), stderr)
    except Exception as exc:  # noqa: BLE001 - a status line never fails
        if os.environ.get("TETHER_DEBUG"):
            raise
        return {"line": f"tether: {type(exc).__name__}", "stand_in": None}


def handle(stdin, stdout, stderr) -> int:
    stdout.write(read_status(stdin, stderr)["line"] + "\n")
    return 0
