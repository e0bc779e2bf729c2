"""Finding the workspace from any subdirectory, as git finds its repository.

Its own small module: a warm boot and the SessionStart hook need only this
and the boot cache, not the workspace classes.
"""

from __future__ import annotations

import os

from .layout import STORE_DIR


def _walk_up(start) -> list[str]:
    current = os.path.realpath(os.fspath(start))
    out = [current]
    while True:
        parent = os.path.dirname(current)
        if parent == current:
            return out
        out.append(parent)
        current = parent


def find_root(start) -> str | None:
    """The nearest directory at or above ``start`` that holds ``.tether/``, within the git
    repository ``start`` is in: a repository nested in another's folder (a clone inside a
    clone, a submodule, a worktree) is not part of the outer one's workspace, as it is not
    part of the outer one's repository."""
    for candidate in _walk_up(start):
        if os.path.isdir(os.path.join(candidate, STORE_DIR)):
            return candidate
        if os.path.exists(os.path.join(candidate, ".git")):
            return None  # the repository's root, and no workspace there
    return None


def find_git_root(start) -> str | None:
    for candidate in _walk_up(start):
        if os.path.exists(os.path.join(candidate, ".git")):
            return candidate
    return None
