"""Merge tether's hooks into a project's ``.claude/settings.json``.

The user's own settings and hooks are kept exactly; tether's entries are
added once (recognised by their command), so installing twice changes
nothing. A settings file that is not valid JSON is reported with its line
and left untouched.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from ..errors import InvalidInput
from ..fsio import write_atomic

EVENTS = {
    # SessionStart fires on startup, resume, clear and after compact: brief every time.
    "SessionStart": "startup|resume|clear|compact",
    "PreCompact": "manual|auto",
    "SessionEnd": None,
}


def install_claude_code(root: Path, command: str = "tether hook claude-code") -> dict:
    path = root / ".claude" / "settings.json"
    settings: dict = {}
    if path.exists():
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            line = path.read_bytes().count(b"\n", 0, exc.start) + 1
            raise InvalidInput(f"{path}:{line}: invalid UTF-8; nothing was changed",
                               hint="save the file as UTF-8 and run the command again") from None
        try:
            settings = json.loads(text) if text.strip() else {}
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"{path}:{exc.lineno}: invalid JSON ({exc.msg}); nothing was changed",
                               hint="fix the file (or move it away) and run the command again") from None
        if not isinstance(settings, dict):
            raise InvalidInput(f"{path}: expected a JSON object; nothing was changed", hint="fix the file")
    hooks = settings.setdefault("hooks", {})
    if not isinstance(hooks, dict):
        raise InvalidInput(f"{path}: 'hooks' must be an object; nothing was changed", hint="fix the file")
    added = []
    for event, matcher in EVENTS.items():
        groups = hooks.setdefault(event, [])
        if not isinstance(groups, list):
            raise InvalidInput(f"{path}: hooks.{event} must be a list; nothing was changed", hint="fix the file")
        present = any(isinstance(g, dict) and any(isinstance(h, dict) and h.get("command") == command
                                                  for h in g.get("hooks", []) or [])
                      for g in groups)
        if present:
            continue
        group: dict = {"hooks": [{"type": "command", "command": command, "timeout": 30}]}
        if matcher:
            group = {"matcher": matcher, **group}
        groups.append(group)
        added.append(event)
    if added:
        write_atomic(path, json.dumps(settings, indent=2, ensure_ascii=False) + "\n")
    # "hook_command", not "command": the CLI's --json envelope already uses "command" for its own name.
    outcome = {"path": str(path), "added": added, "hook_command": command}
    program = command.split()[0]
    if shutil.which(program) is None and not Path(program).exists():
        outcome["warning"] = f"`{program}` is not on PATH here; Claude Code must be able to run `{command}`"
    return outcome
