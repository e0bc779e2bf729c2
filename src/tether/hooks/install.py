"""Merge tether's hooks into a project's ``.claude/settings.json``.

The user's own settings and hooks are kept exactly; tether's entries are
added once (recognised by their command), so installing twice changes
nothing. Installing with another command (a full path, once `tether` turned
out not to be on Claude Code's PATH) replaces tether's earlier entries rather
than adding a second set that would fail at every event. A settings file that
is not valid JSON is reported with its line and left untouched.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

from ..errors import InvalidInput
from ..store.fsio import write_atomic

EVENTS = {
    # SessionStart fires on startup, resume, clear and after compact: brief every time.
    "SessionStart": "startup|resume|clear|compact",
    "PreCompact": "manual|auto",
    "SessionEnd": None,
}


def install_claude_code(root: Path, command: str = "tether hook claude-code") -> dict:
    from ..store.confine import resolve

    path = root / ".claude" / "settings.json"
    _, why = resolve(str(root), ".claude/settings.json")
    if why:  # a committed link (.claude -> ~/.claude) would have tether edit settings outside the repository
        raise InvalidInput(f"{path} {why}; nothing was changed",
                           hint="replace the link with the project's own .claude/ folder")
    settings: dict = {}
    if path.exists():
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            line = path.read_bytes().count(b"\n", 0, exc.start) + 1
            raise InvalidInput(f"{path}:{line}: invalid UTF-8; nothing was changed",
                               hint="save the file as UTF-8 and run the command again") from None
        from ..store.codec import Unusable, json_value, line_at

        try:
            settings = json_value(text) if text.strip() else {}
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"{path}:{exc.lineno}: invalid JSON ({exc.msg}); nothing was changed",
                               hint="fix the file (or move it away) and run the command again") from None
        except Unusable as exc:
            where = line_at(text, exc.offset)
            raise InvalidInput(f"{path}{f':{where}' if where else ''}: {exc.reason}; nothing was changed",
                               hint="fix the file (or move it away) and run the command again") from None
        if not isinstance(settings, dict):
            raise InvalidInput(f"{path}: expected a JSON object; nothing was changed", hint="fix the file")
    hooks = settings.setdefault("hooks", {})
    if not isinstance(hooks, dict):
        raise InvalidInput(f"{path}: 'hooks' must be an object; nothing was changed", hint="fix the file")
    added: list[str] = []
    replaced: list[str] = []
    for event, matcher in EVENTS.items():
        groups = hooks.setdefault(event, [])
        if not isinstance(groups, list):
            raise InvalidInput(f"{path}: hooks.{event} must be a list; nothing was changed", hint="fix the file")
        present = any(isinstance(g, dict) and any(isinstance(h, dict) and h.get("command") == command
                                                  for h in g.get("hooks", []) or [])
                      for g in groups)
        if present:
            continue
        groups[:] = _without_other_tether_hooks(groups, command, replaced)
        group: dict = {"hooks": [{"type": "command", "command": command, "timeout": 30}]}
        if matcher:
            group = {"matcher": matcher, **group}
        groups.append(group)
        added.append(event)
    if added:
        write_atomic(path, json.dumps(settings, indent=2, ensure_ascii=False) + "\n")
    # "hook_command", not "command": the CLI's --json envelope already uses "command" for its own name.
    outcome = {"path": str(path), "added": added, "replaced": replaced, "hook_command": command}
    program = command.split()[0]
    if shutil.which(program) is None and not Path(program).exists():
        warning = f"`{program}` is not on PATH here; Claude Code must be able to run `{command}`"
        beside = Path(sys.executable).parent / "tether"  # this install's console script
        if beside.exists():
            warning += f'. Run: {beside} install claude-code --command "{beside} hook claude-code"'
        outcome["warning"] = warning
    return outcome


def _is_tether_hook(command: object) -> bool:
    """`tether hook claude-code`, `/path/to/tether hook claude-code` or `python -m tether hook claude-code`."""
    words = command.split() if isinstance(command, str) else []
    return len(words) >= 3 and words[-2:] == ["hook", "claude-code"] and Path(words[-3]).name == "tether"


def _without_other_tether_hooks(groups: list, command: str, replaced: list[str]) -> list:
    """The groups minus tether's hooks with another command (noted in replaced); groups left empty go."""
    kept = []
    for group in groups:
        inner = group.get("hooks") if isinstance(group, dict) else None
        if not isinstance(inner, list):
            kept.append(group)
            continue
        stale = [h for h in inner if isinstance(h, dict) and h.get("command") != command
                 and _is_tether_hook(h.get("command"))]
        if not stale:
            kept.append(group)
            continue
        replaced += [h["command"] for h in stale if h["command"] not in replaced]
        rest = [h for h in inner if h not in stale]
        if rest:
            kept.append({**group, "hooks": rest})
    return kept
