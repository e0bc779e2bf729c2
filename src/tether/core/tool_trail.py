"""What the agent's tool calls say about its work (seed 001's auto-save triggers).

A hook records each tool call of a session as one trail entry (``entry``); every few calls, or
before a risky shell command (``risky``), the calls since the task's last checkpoint become an
automatic checkpoint: the files the edit tools changed, and a note of the calls (``note``).
Calls that only read (``changes`` is false for them) give nothing to record.

Pure: no files, no processes. It runs on every tool call, so it imports nothing at load.
"""

from __future__ import annotations

# Tools that look and change nothing: a trail of only these is nothing to checkpoint.
READ_ONLY = frozenset({
    "Read", "Grep", "Glob", "LS", "NotebookRead", "WebFetch", "WebSearch", "BashOutput", "TodoRead",
    "ListMcpResourcesTool", "ReadMcpResourceTool",
})

# Shell commands that destroy work or history: a safety checkpoint first (seed 001, "Before risky
# operation"). Each: (words that must all appear, in order, as whole words; what it is).
RISKY = (
    (("rm", "-r"), "recursive delete"), (("rm", "-rf"), "recursive delete"), (("rm", "-fr"), "recursive delete"),
    (("rm", "-Rf"), "recursive delete"), (("rm", "--recursive"), "recursive delete"),
    (("git", "reset", "--hard"), "git reset --hard"), (("git", "clean"), "git clean"),
    (("git", "checkout", "--"), "git checkout -- (discards changes)"), (("git", "checkout", "."), "git checkout ."),
    (("git", "restore"), "git restore"), (("git", "push", "--force"), "force push"), (("git", "push", "-f"), "force push"),
    (("git", "push", "--force-with-lease"), "force push"), (("git", "branch", "-D"), "branch deleted"),
    (("git", "stash", "drop"), "stash dropped"), (("git", "stash", "clear"), "stashes cleared"),
    (("git", "rebase"), "git rebase"), (("drop", "table"), "DROP TABLE"), (("drop", "database"), "DROP DATABASE"),
    (("truncate", "table"), "TRUNCATE TABLE"), (("mkfs",), "mkfs"), (("dd",), "dd"),
    (("find", "-delete"), "find -delete"), (("git", "checkout", "-f"), "git checkout -f"),
    (("git", "checkout", "--force"), "git checkout -f"), (("git", "switch", "-f"), "git switch -f"),
    (("git", "switch", "--force"), "git switch -f"), (("git", "switch", "--discard-changes"), "git switch -f"),
    (("rm", "-R"), "recursive delete"), (("rm", "-rF"), "recursive delete"),
)
_SEPARATORS = ";&|()`\n"


def entry(event: dict, root: str, at: str) -> dict:
    """The trail entry of one tool call: its time, the tool, and the file it changed (relative to
    ``root``; a file outside the repository is counted, never named: its path may be private)."""
    from ..transcripts.tools import EDIT_TOOLS, PATCH_TOOLS, patched_files

    tool = event.get("tool_name")
    tool = tool if isinstance(tool, str) and tool else "?"
    row = {"at": at, "tool": tool[:100]}
    tool_input = event.get("tool_input")
    if not isinstance(tool_input, dict):
        return row
    key = EDIT_TOOLS.get(tool)
    if key:
        paths = (tool_input.get(key),)
    elif tool in PATCH_TOOLS:  # Codex's apply_patch: one call may change several files
        paths = patched_files(tool_input.get(PATCH_TOOLS[tool]))[:_PATCH_FILES]
    else:
        return row
    named, outside = [], 0
    for path in paths:
        if isinstance(path, str) and path and "\0" not in path:
            rel = relative(path, root, event.get("cwd"))
            if rel is None:
                outside += 1
            elif rel not in named:
                named.append(rel)
    if outside:
        row["outside"] = outside
    if len(named) == 1:
        row["file"] = named[0]
    elif named:
        row["files"] = named
    return row


#: Files of one patch named in the trail (a patch over hundreds of files is counted, not listed).
_PATCH_FILES = 50


def relative(path: str, root: str, cwd) -> str | None:
    """``path`` from the repository root, "/"-separated, or None when it is outside the repository
    or inside ``.git/``."""
    import os.path

    base = cwd if isinstance(cwd, str) and cwd and "\0" not in cwd else root
    full = os.path.normpath(os.path.join(base, path))
    root = os.path.normpath(root)
    if os.path.commonpath([full, root]) != root or full == root:
        return None
    rel = os.path.relpath(full, root).replace(os.sep, "/")
    return None if rel == ".git" or rel.startswith(".git/") else rel


def risky(command) -> str | None:
    """What makes a shell command risky (``"git reset --hard"``; each kind once, in the table's
    order: ``"recursive delete and force push"``), or None."""
    if not isinstance(command, str):
        return None
    text = command.replace("'", " ").replace('"', " ")  # SQL passed in quotes to a client counts
    for sep in _SEPARATORS:
        text = text.replace(sep, " ; ")
    words = text.split()
    present = set(words)
    lowered = None
    found: list[str] = []
    for needed, what in RISKY:
        if what in found:
            continue
        # SQL keywords in any case; shell words and options as typed (-D is not -d).
        if needed[0] in ("drop", "truncate"):
            if lowered is None:
                low_text = text.lower()
                lowered = low_text.split()
                present_lowered = set(lowered)
            seq, seen, whole = lowered, present_lowered, low_text
        else:
            seq, seen, whole = words, present, text
        # The walk in order only when every word is there (the first may end a path: /bin/rm), so
        # that a command of megabytes costs a few set lookups, not a walk per pattern.
        if needed[0] in whole and all(word in seen for word in needed[1:]) and _in_order(seq, needed):
            found.append(what)
    return " and ".join(found) if found else None


def _in_order(words: list[str], needed: tuple) -> bool:
    """``needed`` appear in order within one simple command (between separators)."""
    want = 0
    for word in words:
        if word == ";":
            want = 0
            continue
        if word == needed[want] or (want == 0 and word.rsplit("/", 1)[-1] == needed[0]):
            want += 1
            if want == len(needed):
                return True
    return False


def changes(entries: list[dict]) -> bool:
    """Did any of these calls change something (a tool that is not read-only)?"""
    return any(e.get("tool") not in READ_ONLY for e in entries)


def files(entries: list[dict]) -> list[str]:
    """The files the calls changed, in order of first change, once each."""
    seen: dict[str, None] = {}
    for e in entries:
        if isinstance(e.get("file"), str):
            seen.setdefault(e["file"], None)
        for path in e.get("files") if isinstance(e.get("files"), list) else ():
            if isinstance(path, str):
                seen.setdefault(path, None)
    return list(seen)


def note(entries: list[dict], since: str | None) -> str:
    """``4 tool calls since CKP-0003: Edit 2, Bash 1, Read 1; 2 files changed.``"""
    counts: dict[str, int] = {}
    for e in entries:
        counts[e.get("tool") or "?"] = counts.get(e.get("tool") or "?", 0) + 1
    tools = ", ".join(f"{name} {n}" for name, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
    changed = files(entries)
    outside = sum(e["outside"] if type(e.get("outside")) is int else 1 for e in entries if e.get("outside"))
    text = f"{len(entries)} tool call{'s' if len(entries) != 1 else ''}{f' since {since}' if since else ''}: {tools}"
    if changed:
        text += f"; {len(changed)} file{'s' if len(changed) != 1 else ''} changed"
    if outside:
        text += f"; {outside} edit{'s' if outside != 1 else ''} outside the repository"
    return text + "."


# Credentials a shell command carries where a text's secret detectors do not look (a password of
# low entropy, a header's token): a command shown in a committed note has them cut first.
_CREDENTIALS = (
    r"(?i)(authorization:\s*(?:bearer|basic|token)\s+)[^\s'\"]+",  # an HTTP header's credential
    r"(://[^/\s:@'\"]+:)[^/\s@'\"]+(?=@)",  # a URL's password (https://user:PASSWORD@host)
    r"(?i)(--?(?:password|passwd|pass|token|secret|api[-_]?key|access[-_]?key)[= ]\s*)[^\s'\"]+",
    r"(\bmysql\w*\b[^;&|]*?\s-p)(?=[^\s'\"])[^\s'\"]+",  # mysql -pPASSWORD
    r"(?i)(\b[A-Z_]*(?:PASSWORD|PASSWD|TOKEN|SECRET|API_?KEY)=)[^\s'\"]+",  # NAME=value before a command
)
CREDENTIAL = "[REDACTED: credential]"


def hide_credentials(command: str) -> str:
    """``command`` with the credentials its options, headers, URLs and variables carry replaced by
    CREDENTIAL (the secret detectors of compaction.redact run after, for the rest)."""
    import re

    for pattern in _CREDENTIALS:
        command = re.sub(pattern, _hidden, command)
    return command


def _hidden(match) -> str:
    value = match.group(0)[len(match.group(1)):]
    return match.group(0) if value.startswith("[REDACTED") else match.group(1) + CREDENTIAL  # cut once
