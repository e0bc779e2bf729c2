"""What a link packet points at, and whether it resolves.

A URL (``https://...``, ``mailto:``) is never fetched: whether it resolves is unknown (null).
Anything else with a scheme (``github:owner/repo``, ``doi:...``) is another artefact, unknown
too. The rest is a path in the repository: checked there and only there. A path that leaves
the repository (absolute, ``..``, or through a symbolic link that points out) is not looked
at, and says so. This module reads the working tree (lstat only); the facade calls it.
"""

from __future__ import annotations

import os
import re

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://\S+$|^mailto:\S+$")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]{1,}:\S")
_LINE = re.compile(r"(?::\d+(?:-\d+)?|#[^/]*)$")  # src/a.py:12, docs/x.md#section


def kind_of(target: str) -> str:
    if _URL.match(target):
        return "url"
    if _SCHEME.match(target) and not re.match(r"^[A-Za-z]:[\\/]", target):
        return "other"
    return "path"


def check(root: str, target: str) -> dict:
    """``target``, ``target_kind``, ``resolves`` (True, False or None: unknown) and ``resolution``."""
    target = target.strip()
    kind = kind_of(target)
    out = {"target": target, "target_kind": kind}
    if kind == "url":
        return {**out, "resolves": None, "resolution": "a URL: never fetched, so unknown"}
    if kind == "other":
        return {**out, "resolves": None, "resolution": "not a path in this repository: unknown"}
    resolves, why = _path(root, _LINE.sub("", target) or target)
    return {**out, "resolves": resolves, "resolution": why}


def _path(root: str, target: str) -> tuple[bool | None, str]:
    root = os.path.realpath(root)
    if os.path.isabs(target):
        candidate = os.path.normpath(target)
        if candidate != root and not candidate.startswith(root + os.sep):
            return None, "outside the repository: not checked"
        rel = os.path.relpath(candidate, root)
    else:
        rel = os.path.normpath(target)
    if rel == ".":
        return True, "the repository itself"
    parts = rel.split(os.sep)
    if parts[0] == "..":
        return None, "outside the repository: not checked"
    if parts[0] == ".git":
        return None, "inside .git: not checked"
    here = root
    for i, part in enumerate(parts):
        here = os.path.join(here, part)
        try:
            st = os.lstat(here)
        except FileNotFoundError:
            return False, "no such path in the repository"
        except NotADirectoryError:
            return False, "no such path in the repository (a file where a folder should be)"
        except OSError as exc:
            return None, f"cannot be checked ({exc.strerror})"
        if _is_link(st):
            real = os.path.realpath(here)
            if real != root and not real.startswith(root + os.sep):
                return None, "a symbolic link that leads out of the repository: not followed"
            if not os.path.exists(real):
                return False, "a symbolic link to nothing"
            here = real
    return True, "a folder in the repository" if os.path.isdir(here) else "a file in the repository"


def _is_link(st) -> bool:
    import stat

    return stat.S_ISLNK(st.st_mode)
