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
