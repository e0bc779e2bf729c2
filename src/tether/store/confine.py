"""Where a path named by committed content really leads, links followed (model.confine's rule)."""

from __future__ import annotations

import os

from ..model.confine import OUTSIDE, is_git


def resolve(root_dir: str, path: str) -> tuple[str, str | None]:
    """(the path with every link followed, why it is refused or None): inside the working tree
    and outside ``.git/``, once links are followed."""
    real_root = os.path.realpath(root_dir)
    real = os.path.realpath(os.path.join(real_root, path))
    rel = os.path.relpath(real, real_root)
    if rel == os.pardir or rel.startswith(os.pardir + os.sep):
        return real, OUTSIDE + " (through a symbolic link)"
    if any(is_git(part) for part in rel.split(os.sep)):
        return real, "leads into .git/ (through a symbolic link)"
    return real, None
