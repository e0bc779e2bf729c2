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
import os
import shutil
import sys
from pathlib import Path

from ..errors import InvalidInput
from ..store.fsio import write_atomic

EVENTS = {
    # SessionStart fires on startup, resume, clear and after compact: brief every time.
    "SessionStart": "startup|resume|clear|compact",
    "PreCompact": "manual|auto",
    # After a compaction: its summary checked for goal drift.
    "PostCompact": "manual|auto",
    "SessionEnd": None,
    # Every tool call joins the session's trail; every few, an automatic checkpoint (seed 001).
    "PostToolUse": None,
    # Before a risky shell command (`git reset --hard`), a safety checkpoint.
    "PreToolUse": "Bash",
    # Before each prompt: a line when the context's state changes to ORANGE or worse.
    "UserPromptSubmit": None,
}


LAUNCHER = "tether-hook"  # bin/tether-hook: `tether hook AGENT` without pip's wrapper (POSIX installs)


def default_hook_command(agent: str) -> str:
    """What an agent runs for tether's hooks: the lean launcher, where pip installs it runnable."""
    return f"tether hook {agent}" if os.name == "nt" else f"{LAUNCHER} {agent}"


def _tether_words(command: object, agent: str) -> list[str] | None:
    """The words that start tether in a hook command for ``agent`` (`tether`, a path to it,
    `python -m tether`, or the launcher), None when the command is not tether's hook."""
    words = command.split() if isinstance(command, str) else []
    if len(words) >= 3 and words[-2:] == ["hook", agent] and Path(words[-3]).name == "tether":
        return words[:-2]
    if len(words) >= 2 and words[-1] == agent and Path(words[-2]).name == LAUNCHER:
        return words[:-1]
    return None


def status_line_command(hook_command: str) -> str:
    """`tether statusline` under the same program as the hook's command."""
    words = _tether_words(hook_command, "claude-code")
    return " ".join(words + ["statusline"]) if words else "tether statusline"


def _is_tether_status_line(value: object) -> bool:
    command = value.get("command") if isinstance(value, dict) else None
    words = command.split() if isinstance(command, str) else []
    return len(words) >= 2 and words[-1] == "statusline" and Path(words[-2]).name in ("tether", LAUNCHER)


def install_claude_code(root: Path, command: str | None = None, status_line: bool = False) -> dict:
    command = command or default_hook_command("claude-code")
    # A committed link (.claude -> ~/.claude) would have tether edit settings outside the repository.
    _project_file(root, ".claude")
    path = _project_file(root, ".claude/settings.json")
    settings = _json_object(path)
    added, replaced = _merge_hooks(path, settings, EVENTS, command, _is_tether_hook)
    line = None
    if status_line:
        line = _set_status_line(settings, status_line_command(command))
    if added or (line and line["changed"]):
        write_atomic(path, json.dumps(settings, indent=2, ensure_ascii=False) + "\n")
    # "hook_command", not "command": the CLI's --json envelope already uses "command" for its own name.
    outcome = {"path": str(path), "added": added, "replaced": replaced, "hook_command": command}
    if line is not None:
        outcome["status_line"] = line
    program = command.split()[0]
    if shutil.which(program) is None and not Path(program).exists():
        warning = f"`{program}` is not on PATH here; Claude Code must be able to run `{command}`"
        beside = Path(sys.executable).parent / "tether"  # this install's console script
        if beside.exists():
            program = beside.with_name(LAUNCHER) if beside.with_name(LAUNCHER).exists() and os.name != "nt" else None
            hook = f"{program} claude-code" if program else f"{beside} hook claude-code"
            warning += f'. Run: {beside} install claude-code --command "{hook}"'
        outcome["warning"] = warning
    return outcome


def _refuse_odd_groups(path: Path, event: str, groups: list) -> None:
    """A group whose hooks are not a list: tether would have to guess what the agent makes of it."""
    for i, group in enumerate(groups):
        if isinstance(group, dict) and "hooks" in group and not isinstance(group["hooks"], list):
            raise InvalidInput(f"{path}: hooks.{event}[{i}].hooks must be a list; nothing was changed",
                               hint="fix the file (a list of hooks is expected there)")


def _group_hooks(group) -> list:
    """A settings group's hooks; [] for a group of another shape (kept as it is, never iterated)."""
    inner = group.get("hooks") if isinstance(group, dict) else None
    return inner if isinstance(inner, list) else []


def _set_status_line(settings: dict, command: str) -> dict:
    """Claude Code's statusLine set to tether's, unless the user has one of their own (kept)."""
    existing = settings.get("statusLine")
    if existing is not None and not _is_tether_status_line(existing):
        own = existing.get("command") if isinstance(existing, dict) else existing
        return {"command": command, "changed": False, "kept": own}
    wanted = {"type": "command", "command": command, "padding": 0}
    if existing == wanted:
        return {"command": command, "changed": False}
    settings["statusLine"] = wanted
    return {"command": command, "changed": True}


def _is_tether_hook(command: object) -> bool:
    """`tether-hook claude-code`, `tether hook claude-code`, either under a full path, or
    `python -m tether hook claude-code`."""
    return _tether_words(command, "claude-code") is not None


def _without_hooks(groups: list, drop) -> tuple[list, list[dict]]:
    """(the groups minus the hooks ``drop(hook)`` selects, those hooks); groups left empty go, the
    others are kept as they were."""
    kept, dropped = [], []
    for group in groups:
        inner = group.get("hooks") if isinstance(group, dict) else None
        if not isinstance(inner, list):
            kept.append(group)
            continue
        gone = [h for h in inner if isinstance(h, dict) and drop(h)]
        if not gone:
            kept.append(group)
            continue
        dropped += gone
        rest = [h for h in inner if h not in gone]
        if rest:
            kept.append({**group, "hooks": rest})
    return kept, dropped


def _merge_hooks(path: Path, settings: dict, events: dict, command: str, is_ours,
                 timeouts: dict | None = None) -> tuple[list, list]:
    """Add tether's hook (``command``) to each of ``events`` (event -> matcher) in ``settings``,
    keeping the user's own hooks and dropping tether's with another command (``is_ours``):
    (the events added, the commands replaced). Checks the shape first: nothing is changed on a
    file of another shape."""
    hooks = settings.setdefault("hooks", {})
    if not isinstance(hooks, dict):
        raise InvalidInput(f"{path}: 'hooks' must be an object; nothing was changed", hint="fix the file")
    added: list[str] = []
    replaced: list[str] = []
    for event, matcher in events.items():
        groups = hooks.setdefault(event, [])
        if not isinstance(groups, list):
            raise InvalidInput(f"{path}: hooks.{event} must be a list; nothing was changed", hint="fix the file")
        _refuse_odd_groups(path, event, groups)
        if any(isinstance(h, dict) and h.get("command") == command for g in groups for h in _group_hooks(g)):
            continue
        kept, stale = _without_hooks(groups, lambda h: h.get("command") != command and is_ours(h.get("command")))
        replaced += [h["command"] for h in stale if h["command"] not in replaced]
        group: dict = {"hooks": [{"type": "command", "command": command, "timeout": (timeouts or {}).get(event, 30)}]}
        if matcher:
            group = {"matcher": matcher, **group}
        groups[:] = kept + [group]
        added.append(event)
    return added, replaced


# -- the agent's instructions in CLAUDE.md / AGENTS.md ----------------------------------------------

AGENT_BEGIN = "<!-- tether:begin agent -->"
AGENT_END = "<!-- tether:end agent -->"
AGENT_FILES = ("CLAUDE.md", "AGENTS.md")


def _project_file(root: Path, name: str) -> Path:
    from ..store.confine import resolve

    real, why = resolve(str(root), name)
    if why:  # a link would have tether edit a file outside the repository
        raise InvalidInput(f"{root / name} {why}; nothing was changed", hint=f"replace the link with the project's own {name}")
    # A link to another of the project's files (CLAUDE.md -> AGENTS.md, a common setup) is edited
    # through: written in its place, the link would become a copy that drifts from its target.
    return Path(real) if (root / name).is_symlink() else root / name


def _read_text(path: Path) -> str | None:
    if not path.exists():
        return None
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        line = path.read_bytes().count(b"\n", 0, exc.start) + 1
        raise InvalidInput(f"{path}:{line}: invalid UTF-8; nothing was changed",
                           hint="save the file as UTF-8 and run the command again") from None


def _without_section(text: str) -> tuple[str, int | None]:
    """The text without tether's section, and where it was (None: not there)."""
    start = text.find(AGENT_BEGIN)
    end = text.find(AGENT_END, start + 1) if start >= 0 else -1
    if start < 0 or end < 0:
        return text, None
    end += len(AGENT_END)
    if text[end:end + 1] == "\n":
        end += 1
    return text[:start] + text[end:], start


def install_agent_section(root: Path, name: str = "CLAUDE.md") -> dict:
    """Add (or update in place) tether's marked section of the agent's instructions; the user's text
    around it is kept byte for byte."""
    from ..core.workflow import agent_lines

    path = _project_file(root, name)
    section = "\n".join([AGENT_BEGIN, *agent_lines(), AGENT_END]) + "\n"
    text = _read_text(path)
    if text is None:
        new = section
    else:
        rest, at = _without_section(text)
        if at is None:
            new = rest + ("" if not rest or rest.endswith("\n\n") else "\n" if rest.endswith("\n") else "\n\n") + section
        else:
            new = rest[:at] + section + rest[at:]
    if new != text:
        write_atomic(path, new)
    return {"path": str(path), "changed": new != text, "created": text is None}


def remove_agent_section(root: Path, name: str) -> bool:
    """Remove tether's section (the file goes too when nothing else was in it); whether it was there."""
    path = _project_file(root, name)
    text = _read_text(path)
    if text is None:
        return False
    rest, at = _without_section(text)
    if at is None:
        return False
    if at == len(rest) and rest.endswith("\n\n"):  # the blank line install put before it
        rest = rest[:-1]
    if rest.strip() or path != root / name:  # a link's target stays: the link would dangle
        write_atomic(path, rest)
    else:
        path.unlink()
    return True


def uninstall_claude_code(root: Path) -> dict:
    """Remove tether's hooks from .claude/settings.json (the user's own are kept) and tether's
    section from CLAUDE.md and AGENTS.md."""
    path = _project_file(root, ".claude/settings.json")
    removed: list[str] = []
    text = _read_text(path)
    if text is not None and text.strip():
        try:
            settings = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"{path}:{exc.lineno}: invalid JSON ({exc.msg}); nothing was changed",
                               hint="fix the file (or move it away) and run the command again") from None
        hooks = settings.get("hooks") if isinstance(settings, dict) else None
        if isinstance(hooks, dict):
            for event in list(hooks):
                groups = hooks[event]
                if not isinstance(groups, list):
                    continue
                kept, gone = _without_hooks(groups, lambda h: _is_tether_hook(h.get("command")))
                if gone and event not in removed:
                    removed.append(event)
                if kept:
                    hooks[event] = kept
                else:
                    del hooks[event]
            if not hooks:
                del settings["hooks"]
        line_removed = isinstance(settings, dict) and _is_tether_status_line(settings.get("statusLine"))
        if line_removed:
            del settings["statusLine"]  # a status line of the user's own is kept
        if removed or line_removed:
            write_atomic(path, json.dumps(settings, indent=2, ensure_ascii=False) + "\n")
    else:
        line_removed = False
    # AGENTS.md's section stays while Codex's hooks are installed: Codex reads it there (and
    # through a CLAUDE.md that links to AGENTS.md, the same file).
    names = [name for name in AGENT_FILES if not (codex_installed(root) and same_file(root, name, "AGENTS.md"))]
    sections = [name for name in names if remove_agent_section(root, name)]
    return {"path": str(path), "removed": removed, "sections_removed": sections, "status_line_removed": line_removed}


# -- the pre-commit hook -------------------------------------------------------------------------------

PRE_COMMIT_MARK = "# tether: keep .tether/index.json current"


def pre_commit_script(python: str, strict: bool = False) -> str:
    # The manifest only when the commit carries tether's files: a commit of code alone is never
    # touched. Then the audit (without its `uncommitted` rule: the commit is what commits them):
    # its findings are said on stderr and, unless the hook was installed with --strict, the hook
    # exits 0, so it never blocks a commit.
    if strict:
        audit = (f"'{python}' -m tether audit --strict --skip uncommitted >&2 || {{\n"
                 "  echo 'tether audit --strict: fix the findings above (or commit with --no-verify)' >&2\n"
                 "  exit 1\n}\n")
        promise = "blocks a commit while the audit finds something"
    else:
        audit = (f"out=$('{python}' -m tether audit --skip uncommitted 2>&1)\n"
                 'case "$out" in "No findings"*) ;; *) printf \'%s\\n\' "$out" >&2 ;; esac\n')
        promise = "never blocks a commit"
    return (f"#!/bin/sh\n{PRE_COMMIT_MARK} (written by `tether install pre-commit`; {promise})\n"
            "if ! git diff --cached --quiet -- .tether 2>/dev/null; then\n"
            f"  '{python}' -m tether index >/dev/null 2>&1 && git add .tether/index.json >/dev/null 2>&1\n"
            f"fi\n{audit}exit 0\n")


def install_pre_commit(root: Path, strict: bool = False) -> dict:
    import os

    from ..gitio.refs import git_dir

    path = Path(git_dir(str(root))) / "hooks" / "pre-commit"
    script = pre_commit_script(sys.executable.replace("'", "'\\''"), strict)
    existing = path.read_text(encoding="utf-8", errors="replace") if path.exists() else None
    if existing is not None and PRE_COMMIT_MARK not in existing:
        raise InvalidInput(f"{path} exists and is not tether's; nothing was changed",
                           hint="add this line to it: `if ! git diff --cached --quiet -- .tether; then tether index"
                                " && git add .tether/index.json; fi`")
    changed = existing != script
    if changed:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, script, mode=0o755)
    os.chmod(path, 0o755)
    return {"path": str(path), "changed": changed, "strict": strict}


# -- Codex: .codex/hooks.json ----------------------------------------------------------------------------

# Codex's hooks (developers.openai.com/codex/hooks): the same events, fields, matchers and groups as
# Claude Code's, in `.codex/hooks.json` ({"hooks": {...}}); its shell tool reaches hooks as "Bash".
CODEX_EVENTS = EVENTS
#: Codex cuts a SessionEnd hook's timeout to 3 seconds (and warns at every session when it is longer).
CODEX_TIMEOUTS = {"SessionEnd": 3}


def _is_tether_codex_hook(command: object) -> bool:
    return _tether_words(command, "codex") is not None


def _json_object(path: Path) -> dict:
    """A settings file's object ({} when absent or empty); InvalidInput, with its line, otherwise."""
    text = _read_text(path)
    if text is None or not text.strip():
        return {}
    from ..store.codec import Unusable, json_value, line_at

    try:
        value = json_value(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"{path}:{exc.lineno}: invalid JSON ({exc.msg}); nothing was changed",
                           hint="fix the file (or move it away) and run the command again") from None
    except Unusable as exc:
        where = line_at(text, exc.offset)
        raise InvalidInput(f"{path}{f':{where}' if where else ''}: {exc.reason}; nothing was changed",
                           hint="fix the file (or move it away) and run the command again") from None
    if not isinstance(value, dict):
        raise InvalidInput(f"{path}: expected a JSON object; nothing was changed", hint="fix the file")
    return value


def install_codex(root: Path, command: str | None = None) -> dict:
    """Merge tether's hooks into the project's .codex/hooks.json; the user's own are kept, and
    installing again changes nothing."""
    command = command or default_hook_command("codex")
    _project_file(root, ".codex")
    path = _project_file(root, ".codex/hooks.json")
    config = _json_object(path)
    added, replaced = _merge_hooks(path, config, CODEX_EVENTS, command, _is_tether_codex_hook, CODEX_TIMEOUTS)
    if added:
        path.parent.mkdir(exist_ok=True)
        write_atomic(path, json.dumps(config, indent=2, ensure_ascii=False) + "\n")
    outcome = {"path": str(path), "added": added, "replaced": replaced, "hook_command": command}
    program = command.split()[0]
    if shutil.which(program) is None and not Path(program).exists():
        outcome["warning"] = f"`{program}` is not on PATH here; Codex must be able to run `{command}`"
    return outcome


def same_file(root: Path, name: str, other: str) -> bool:
    """Whether the project's files ``name`` and ``other`` are one (CLAUDE.md a link to AGENTS.md)."""
    return os.path.realpath(root / name) == os.path.realpath(root / other)


def claude_code_installed(root: Path) -> bool:
    """Whether .claude/settings.json holds tether's hooks."""
    return _holds_hooks(root, ".claude/settings.json", _is_tether_hook)


def codex_installed(root: Path) -> bool:
    """Whether .codex/hooks.json holds tether's hooks."""
    return _holds_hooks(root, ".codex/hooks.json", _is_tether_codex_hook)


def _holds_hooks(root: Path, rel: str, is_tethers) -> bool:
    """Whether the agent's hooks file ``rel`` holds a hook ``is_tethers`` recognises (an unreadable
    file: taken as yes, so nothing the agent may need is removed)."""
    try:
        hooks = _json_object(_project_file(root, rel)).get("hooks")
    except InvalidInput:
        return True
    return isinstance(hooks, dict) and any(
        isinstance(groups, list) and _without_hooks(groups, lambda h: is_tethers(h.get("command")))[1]
        for groups in hooks.values())


def uninstall_codex(root: Path) -> dict:
    """Remove tether's hooks from .codex/hooks.json (the user's own are kept; a file left with no
    hooks at all is removed)."""
    path = _project_file(root, ".codex/hooks.json")
    removed: list[str] = []
    config = _json_object(path)
    hooks = config.get("hooks")
    if isinstance(hooks, dict):
        for event in list(hooks):
            groups = hooks[event]
            if not isinstance(groups, list):
                continue
            kept, gone = _without_hooks(groups, lambda h: _is_tether_codex_hook(h.get("command")))
            if gone:
                removed.append(event)
                if kept:
                    hooks[event] = kept
                else:
                    del hooks[event]
        if removed:
            if hooks or set(config) - {"hooks"}:
                write_atomic(path, json.dumps(config, indent=2, ensure_ascii=False) + "\n")
            else:
                path.unlink()  # it held tether's hooks only
                try:
                    path.parent.rmdir()  # .codex/ too, when install made it for them
                except OSError:
                    pass
    return {"path": str(path), "removed": removed}


# -- the MCP server in each agent's project configuration -------------------------------------------
# Claude Code reads a project's servers from .mcp.json, Cursor from .cursor/mcp.json (both
# {"mcpServers": {NAME: {"command", "args"}}}), and Codex from the [mcp_servers.NAME] tables of
# .codex/config.toml in a project the user trusts. tether's entry is the one named "tether"; every
# other entry, and every other key of those files, is the user's and is kept as it is.

MCP_NAME = "tether"
MCP_JSON = {"claude-code": ".mcp.json", "cursor": ".cursor/mcp.json"}
CODEX_CONFIG = ".codex/config.toml"


def mcp_command(hook_command: str | None = None) -> list[str]:
    """`tether mcp` under the same program as the hook's command (a full path stays a full path;
    the launcher's sibling `tether` for the launcher, which runs hooks only)."""
    words = (hook_command or "").split()
    if len(words) >= 3 and words[-2] == "hook":
        return words[:-2] + ["mcp"]
    if len(words) >= 2 and Path(words[-2]).name == LAUNCHER:
        return words[:-2] + [str(Path(words[-2]).with_name("tether")), "mcp"]
    return ["tether", "mcp"]


def _is_tether_server(entry: object) -> bool:
    if not isinstance(entry, dict):
        return False
    command, args = entry.get("command"), entry.get("args")
    words = ([command] if isinstance(command, str) else []) + (list(args) if isinstance(args, list) else [])
    return len(words) >= 2 and words[-1] == "mcp" and Path(str(words[-2])).name == "tether"


def install_mcp_json(root: Path, agent: str, command: list[str], write: bool = True) -> dict:
    """Register tether's server in the agent's project MCP file; installing again changes nothing.
    ``write=False``: only check that it can be (the hooks' install asks first, so a refusal
    leaves both files as they were)."""
    name = MCP_JSON[agent]
    if "/" in name:
        _project_file(root, name.split("/")[0])
    path = _project_file(root, name)
    config = _json_object(path)
    servers = config.setdefault("mcpServers", {})
    if not isinstance(servers, dict):
        raise InvalidInput(f"{path}: 'mcpServers' must be an object; nothing was changed", hint="fix the file")
    entry = {"command": command[0], "args": command[1:]}
    present = servers.get(MCP_NAME)
    if present is not None and not _is_tether_server(present):
        raise InvalidInput(f"{path}: a server named {MCP_NAME!r} is there already and is not tether's; nothing was changed",
                           hint=f"rename that entry in {name}, then install again")
    changed = present != entry
    if changed and write:
        servers[MCP_NAME] = entry
        path.parent.mkdir(exist_ok=True)
        write_atomic(path, json.dumps(config, indent=2, ensure_ascii=False) + "\n")
    return {"path": str(path), "server": {MCP_NAME: entry}, "changed": changed, "replaced": present if changed else None}


def uninstall_mcp_json(root: Path, agent: str) -> dict:
    """Remove tether's server from the agent's project MCP file (a file left empty is removed)."""
    name = MCP_JSON[agent]
    path = _project_file(root, name)
    config = _json_object(path)
    servers = config.get("mcpServers")
    removed = isinstance(servers, dict) and _is_tether_server(servers.get(MCP_NAME))
    if removed:
        del servers[MCP_NAME]
        if servers or set(config) - {"mcpServers"}:
            write_atomic(path, json.dumps(config, indent=2, ensure_ascii=False) + "\n")
        else:
            path.unlink()  # it held tether's server only
            if "/" in name:
                try:
                    path.parent.rmdir()  # .cursor/ too, when install made it for it
                except OSError:
                    pass
    return {"path": str(path), "removed": removed}


def _toml_string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a TOML basic string


def _codex_table(command: list[str]) -> str:
    args = ", ".join(_toml_string(a) for a in command[1:])
    return f"[mcp_servers.{MCP_NAME}]\ncommand = {_toml_string(command[0])}\nargs = [{args}]\n"


def _codex_config(path: Path) -> tuple[str, dict]:
    from ..store.config_file import _toml

    text = _read_text(path) or ""
    try:
        return text, _toml().loads(text)
    except ValueError as exc:  # tomllib.TOMLDecodeError: its message names the line
        raise InvalidInput(f"{path}: invalid TOML ({exc}); nothing was changed",
                           hint="fix the file (or move it away) and run the command again") from None


def _without_table(text: str) -> tuple[str, bool]:
    """The text without tether's [mcp_servers.tether] table (its header up to the next header)."""
    header = f"[mcp_servers.{MCP_NAME}]"
    lines = text.splitlines(keepends=True)
    out, skipping, found = [], False, False
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("["):
            table = stripped.split("#")[0].strip()
            skipping = table == header or table.startswith(header[:-1] + ".")  # its own sub-tables too
            found = found or skipping
        if not skipping:
            out.append(line)
    kept = "".join(out)
    while kept.endswith("\n\n"):
        kept = kept[:-1]
    return kept, found


def install_codex_mcp(root: Path, command: list[str], write: bool = True) -> dict:
    """Register tether's server in the project's .codex/config.toml; the rest of the file is kept
    byte for byte, and installing again changes nothing. ``write=False``: only check."""
    _project_file(root, ".codex")
    path = _project_file(root, CODEX_CONFIG)
    text, config = _codex_config(path)
    servers = config.get("mcp_servers")
    present = servers.get(MCP_NAME) if isinstance(servers, dict) else None
    entry = {"command": command[0], "args": command[1:]}
    if present is not None and not _is_tether_server(present):
        raise InvalidInput(f"{path}: a server named {MCP_NAME!r} is there already and is not tether's; nothing was changed",
                           hint=f"rename [mcp_servers.{MCP_NAME}] in {CODEX_CONFIG}, then install again")
    changed = present != entry
    if changed:
        kept, found = _without_table(text)
        if present is not None and not found:  # written inline (mcp_servers = {tether = {...}}): not ours to rewrite
            raise InvalidInput(f"{path}: tether's server is written inline, not as [mcp_servers.{MCP_NAME}]; "
                               "nothing was changed", hint=f"replace it with:\n{_codex_table(command)}")
        new = (kept + ("\n" if kept and not kept.endswith("\n") else "") + ("\n" if kept.strip() else "")
               + _codex_table(command))
        if write:
            path.parent.mkdir(exist_ok=True)
            write_atomic(path, new)
    return {"path": str(path), "server": {MCP_NAME: entry}, "changed": changed, "replaced": present if changed else None}


def uninstall_codex_mcp(root: Path) -> dict:
    path = _project_file(root, CODEX_CONFIG)
    text, config = _codex_config(path)
    servers = config.get("mcp_servers")
    removed = False
    if isinstance(servers, dict) and _is_tether_server(servers.get(MCP_NAME)):
        kept, removed = _without_table(text)
        if removed:
            if kept.strip():
                write_atomic(path, kept)
            else:
                path.unlink()  # it held tether's server only
                try:
                    path.parent.rmdir()
                except OSError:
                    pass
    return {"path": str(path), "removed": removed}
