"""Whether git's config defines a key, read from the config files themselves, without git.

boot asks at every session start whether this clone registered tether's merge driver (git
config is never committed, so a fresh clone lacks it): a git process there would cost more
than the rest of a warm boot. So the files git reads are read directly, as refs.py reads
HEAD: the repository's config (through a worktree's ``.git`` file and its ``commondir``, and
its ``config.worktree``), the user's (``GIT_CONFIG_GLOBAL``, else ``$XDG_CONFIG_HOME/git/config``
and ``~/.gitconfig``), the system's (``GIT_CONFIG_SYSTEM``, else ``/etc/gitconfig``, unless
``GIT_CONFIG_NOSYSTEM``) and ``GIT_CONFIG_COUNT``'s pairs in the environment. Where git would read
further (an ``include`` or ``includeIf``), or a file does not read, the answer is None:
unknown, and the caller says nothing rather than guess.
"""

from __future__ import annotations

import os

from .refs import read_git_file

# The name of tether's merge driver in git config and in .gitattributes (merge=tether).
MERGE_DRIVER = "tether"


def _repository_files(root: str) -> list[str] | None:
    """The repository's own config files, in the order git reads them; None when unknown."""
    dot_git = os.path.join(root, ".git")
    if os.path.isdir(dot_git):
        return [os.path.join(dot_git, "config")]
    text = read_git_file(dot_git)
    if not text or not text.startswith("gitdir:"):
        return None
    git_dir = os.path.join(root, text[len("gitdir:"):].strip())
    common = read_git_file(os.path.join(git_dir, "commondir"))
    if common is False:
        return None
    common_dir = os.path.join(git_dir, common.strip()) if common else git_dir
    return [os.path.join(common_dir, "config"), os.path.join(git_dir, "config.worktree")]


def _other_files() -> list[str]:
    env = os.environ
    files = []
    if not env.get("GIT_CONFIG_NOSYSTEM"):
        files.append(env.get("GIT_CONFIG_SYSTEM") or "/etc/gitconfig")
    if env.get("GIT_CONFIG_GLOBAL"):
        files.append(env["GIT_CONFIG_GLOBAL"])
    else:
        home = env.get("HOME") or os.path.expanduser("~")
        xdg = env.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
        files += [os.path.join(xdg, "git", "config"), os.path.join(home, ".gitconfig")]
    return files


def _unquoted(value: str) -> str:
    """A value as git reads it: comments cut, quotes removed (escapes are kept as written)."""
    out, quoted, i = [], False, 0
    while i < len(value):
        ch = value[i]
        if ch == "\\" and i + 1 < len(value):
            out.append(value[i:i + 2])
            i += 2
            continue
        if ch == '"':
            quoted = not quoted
        elif ch in "#;" and not quoted:
            break
        else:
            out.append(ch)
        i += 1
    return "".join(out).strip()


def _section(header: str) -> str | None:
    """``[merge "tether"]`` -> "merge.tether"; ``[merge.tether]`` (the old form) the same."""
    inner = header[1:header.index("]")] if "]" in header else None
    if inner is None:
        return None
    name, _, sub = inner.strip().partition(" ")
    sub = sub.strip()
    if sub.startswith('"') and sub.endswith('"') and len(sub) >= 2:
        return f"{name.lower()}.{sub[1:-1]}"
    return inner.strip().lower() if not sub else None


def value_in(text: str, section: str, key: str) -> tuple[str | None, bool]:
    """(the last value ``text`` gives ``section``.``key``, or None; whether it includes other files)."""
    head, _, sub = section.partition(".")
    wanted = f"{head.lower()}.{sub}" if sub else head.lower()
    found, current, includes = None, None, False
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            current = _section(line)
            if current is not None and current.split(".", 1)[0] in ("include", "includeif"):
                includes = True
            rest = line[line.index("]") + 1:].strip() if "]" in line else ""
            if not rest or rest[0] in "#;":
                continue
            line = rest  # a key on the header's line
        if current != wanted:
            continue
        name, eq, value = line.partition("=")
        if name.strip().lower() == key.lower():
            found = _unquoted(value) if eq else "true"
    return found, includes


def get(root: str, name: str) -> str | None | bool:
    """The value git's config gives ``name`` (``merge.tether.driver``): a string, None when no file
    sets it, False when only git could tell (an include, a file that does not read)."""
    section, _, key = name.rpartition(".")
    env = os.environ
    try:
        count = int(env.get("GIT_CONFIG_COUNT") or 0)
    except ValueError:
        return False
    for i in range(count):  # `git -c`-like pairs in the environment come last, and win
        if env.get(f"GIT_CONFIG_KEY_{i}", "").lower() == name.lower():
            return env.get(f"GIT_CONFIG_VALUE_{i}", "")
    repository = _repository_files(root)
    if repository is None:
        return False
    value = None
    for path in _other_files() + repository:  # system, user, then the repository: the last one wins
        text = read_git_file(path)
        if text is False:
            return False
        if not text:
            continue
        found, includes = value_in(text, section, key)
        if includes:
            return False
        if found is not None:
            value = found
    return value
