"""Where an agent keeps a project's transcripts, and the newest of them.

- Claude Code: ``~/.claude/projects/<dir>/<session>.jsonl`` (``$CLAUDE_CONFIG_DIR`` moves
  ``~/.claude``), where ``<dir>`` is the directory Claude Code was started in with every
  character other than a letter or digit replaced by ``-`` (``/src/my.app`` ->
  ``-src-my-app``). Subagent files sit one folder deeper and are not sessions.
- Codex: ``~/.codex/sessions/YYYY/MM/DD/rollout-*.jsonl`` (``$CODEX_HOME`` moves ``~/.codex``),
  one file per session for every project; a rollout's first line (``session_meta``) names the
  directory it ran in.

Only names and first lines are read. Imports only ``os`` and ``json`` (for a first line).
"""

from __future__ import annotations

import os

#: How many Codex day folders (newest first) to look through for a rollout of the project.
CODEX_DAYS = 60
#: How much of a rollout's first line to read for its directory.
FIRST_LINE = 64 * 1024


def claude_home() -> str:
    return os.environ.get("CLAUDE_CONFIG_DIR") or os.path.join(os.path.expanduser("~"), ".claude")


def codex_home() -> str:
    return os.environ.get("CODEX_HOME") or os.path.join(os.path.expanduser("~"), ".codex")


def claude_project_dir(directory: str) -> str:
    """The folder where Claude Code keeps the sessions it ran in ``directory``."""
    name = "".join(c if c.isascii() and c.isalnum() else "-" for c in directory)
    return os.path.join(claude_home(), "projects", name)


def _newest_in(folder: str) -> tuple[float, str] | None:
    best = None
    try:
        entries = os.scandir(folder)
    except OSError:
        return None
    with entries:
        for entry in entries:
            if not entry.name.endswith(".jsonl"):
                continue
            try:
                if not entry.is_file():
                    continue
                mtime = entry.stat().st_mtime
            except OSError:
                continue
            if best is None or mtime > best[0]:
                best = (mtime, entry.path)
    return best


def newest_claude_code(directories) -> tuple[float, str] | None:
    """(mtime, path) of the newest Claude Code session started in one of ``directories``."""
    found = [f for f in (_newest_in(claude_project_dir(d)) for d in directories) if f]
    return max(found) if found else None


def rollout_cwd(path: str) -> str | None:
    """The directory a Codex rollout ran in, from its first line (None: not said)."""
    import json

    try:
        with open(path, "rb") as fh:
            line = fh.readline(FIRST_LINE)
        obj = json.loads(line)
    except (OSError, ValueError, RecursionError):
        return None
    payload = obj.get("payload") if isinstance(obj, dict) else None
    cwd = payload.get("cwd") if isinstance(payload, dict) else None
    return cwd if isinstance(cwd, str) else None


def _subdirs(folder: str) -> list[str]:
    try:
        return sorted((e.name for e in os.scandir(folder) if e.is_dir()), reverse=True)
    except OSError:
        return []


def _day_folders(root: str):
    """Codex's day folders, newest first."""
    for year in _subdirs(root):
        for month in _subdirs(os.path.join(root, year)):
            for day in _subdirs(os.path.join(root, year, month)):
                yield os.path.join(root, year, month, day)


def newest_codex(directories) -> tuple[float, str] | None:
    """(mtime, path) of the newest Codex rollout that ran in one of ``directories``, looking through
    the newest CODEX_DAYS day folders."""
    wanted = {os.path.realpath(d) for d in directories}
    best = None
    left = CODEX_DAYS
    for folder in _day_folders(os.path.join(codex_home(), "sessions")):
        if left <= 0:
            break
        left -= 1
        candidates = []
        try:
            with os.scandir(folder) as entries:
                for entry in entries:
                    if entry.name.startswith("rollout-") and entry.name.endswith(".jsonl"):
                        candidates.append((entry.stat().st_mtime, entry.path))
        except OSError:
            continue
        for mtime, path in sorted(candidates, reverse=True):
            if best is not None and mtime <= best[0]:
                break
            cwd = rollout_cwd(path)
            if cwd is not None and os.path.realpath(cwd) in wanted:
                best = (mtime, path)
                break
        if best is not None:
            # A session still being written sits in the folder of the day it began: one more day
            # folder is looked at, no further.
            left = min(left, 1)
    return best


def codex_rollout(session_id: str) -> str | None:
    """The rollout of Codex session ``session_id`` (its file is named ``rollout-<time>-<id>.jsonl``),
    looked for in the newest CODEX_DAYS day folders; None when not found."""
    if not session_id or "/" in session_id or "\\" in session_id or "\0" in session_id:
        return None
    tail = f"-{session_id}.jsonl"
    for left, folder in enumerate(_day_folders(os.path.join(codex_home(), "sessions"))):
        if left >= CODEX_DAYS:
            break
        try:
            with os.scandir(folder) as entries:
                for entry in entries:
                    if entry.name.startswith("rollout-") and entry.name.endswith(tail):
                        return entry.path
        except OSError:
            continue
    return None


def newest(directories) -> tuple[str, str] | None:
    """(agent, path) of the newest transcript of a session run in one of ``directories``:
    agent ``"claude-code"`` or ``"codex"``; None when neither has one."""
    directories = [d for d in dict.fromkeys(os.path.realpath(d) for d in directories)]
    found = []
    claude = newest_claude_code(directories)
    if claude:
        found.append((claude[0], "claude-code", claude[1]))
    codex = newest_codex(directories)
    if codex:
        found.append((codex[0], "codex", codex[1]))
    if not found:
        return None
    _, agent, path = max(found)
    return agent, path


def searched(directories) -> list[str]:
    """Where :func:`newest` looks, for an error message."""
    directories = list(dict.fromkeys(os.path.realpath(d) for d in directories))
    return [claude_project_dir(d) for d in directories] + [os.path.join(codex_home(), "sessions")]
