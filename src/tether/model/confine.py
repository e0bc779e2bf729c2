"""Paths named by committed content stay in the working tree, out of ``.git/``: the rule.

A repository's files come from whoever committed them: a path that ``tether.toml`` or a
session context names (the context document, the reading order, an artifact) is input,
not an instruction. It is checked twice: as written (``refusal`` here, when the file is
read: no absolute path, no ``..`` above the root, no ``.git`` part), and where it leads
(store.confine.resolve, when tether is about to use it: a link in the working tree may
lead anywhere). Links inside ``.tether/`` are refused outright (see store.fsio).
"""

from __future__ import annotations

import posixpath

OUTSIDE = "leads outside the repository"


def is_git(part: str) -> bool:
    return part.casefold() == ".git"  # .GIT is .git on a case-insensitive filesystem


def refusal(path: str) -> str | None:
    """Why a repository path from committed content cannot be used, None when it can."""
    if not path.strip():
        return "is empty"
    if "\0" in path:
        return "holds a NUL character"
    if path.startswith(("/", "\\")) or path[1:2] == ":":  # a Windows drive too
        return "is absolute (use a path from the repository root)"
    for form in {path, path.replace("\\", "/")}:
        parts = posixpath.normpath(form).split("/")
        if parts[0] == "..":
            return OUTSIDE
        if parts == ["."]:
            return "names the repository itself, not a file"
        if any(is_git(part) for part in parts):
            return "is inside .git/"
    return None


def normalized(path: str) -> str:
    """``./docs//a.md`` as ``docs/a.md``: one spelling, so a prefix test (``.tether/``) holds."""
    return posixpath.normpath(path)


def as_committed(text: str, root: str, home: str | None) -> str:
    """``text`` as a committed record should say it: a path in the working tree written from the
    repository root (``/work/app/src/a.py`` -> ``src/a.py``: every clone lives elsewhere), and
    what else lies under the home directory written ``~`` (private). Agents pass absolute
    paths: their tools use them."""
    for prefix, by in ((root.rstrip("/\\"), ""), ((home or "").rstrip("/\\"), "~")):
        if len(prefix) > 1 and prefix in text:
            import re  # only then: a checkpoint's start-up stays lean

            # at a path's start only (not inside a longer name), and the separator after the root
            # dropped with it; the root alone is ".", the home alone "~"
            start = r"(?<![\w.~/\\-])" + re.escape(prefix)
            if by:  # the home directory in a file:// URL's path too
                start = r"(?:(?<=file://)|(?<![\w.~/\\-]))" + re.escape(prefix)
                text = re.sub(start + r"(?=[/\\\"'\s,;:)]|$)", by, text)
            else:
                text = re.sub(start + r"[/\\](?=[^\s/\\\"',;:)])", "", text)
                text = re.sub(start + r"[/\\]?(?=[\"'\s,;:)]|$)", ".", text)
    return text
