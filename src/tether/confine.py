"""Paths named by committed content stay in the working tree, out of ``.git/``.

A repository's files come from whoever committed them: a path that ``tether.toml`` or a
session context names (the context document, the reading order, an artifact) is input,
not an instruction. It is checked twice: as written (``refusal``, when the file is read:
no absolute path, no ``..`` above the root, no ``.git`` part), and where it leads
(``resolve``, when tether is about to use it: a link in the working tree may lead
anywhere). Links inside ``.tether/`` are refused outright (see fsio).
"""

from __future__ import annotations

import os
import posixpath

OUTSIDE = "leads outside the repository"


def _is_git(part: str) -> bool:
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
        if any(_is_git(part) for part in parts):
            return "is inside .git/"
    return None


def normalized(path: str) -> str:
    """``./docs//a.md`` as ``docs/a.md``: one spelling, so a prefix test (``.tether/``) holds."""
    return posixpath.normpath(path)


def resolve(root_dir: str, path: str) -> tuple[str, str | None]:
    """(the path with every link followed, why it is refused or None): inside the working tree
    and outside ``.git/``, once links are followed."""
    real_root = os.path.realpath(root_dir)
    real = os.path.realpath(os.path.join(real_root, path))
    rel = os.path.relpath(real, real_root)
    if rel == os.pardir or rel.startswith(os.pardir + os.sep):
        return real, OUTSIDE + " (through a symbolic link)"
    if any(_is_git(part) for part in rel.split(os.sep)):
        return real, "leads into .git/ (through a symbolic link)"
    return real, None
