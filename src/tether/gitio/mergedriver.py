"""tether's git merge driver: ``git merge`` merges the generated files by their meaning.

``.tether/.gitattributes`` names ``merge=tether`` for ``progress/LATEST.json``,
``CONTEXT.md``, ``index.json`` and the campaigns' ``session_context.yaml``; git runs the driver for each of them that
both sides changed (``tether merge-driver --marker-size %L %O %A %B %P``) and
takes what it leaves in ``%A``. The driver lives in each clone's own git
config, which is never committed: `tether init` registers it (again, if the
interpreter moved) and `tether close` registers it when it is missing.

Where no driver is registered (a fresh clone, a hosting service's merge
button), git falls back to its text merge and leaves conflict markers.

index.json needs the merged content of every file both sides changed, which
git has not written yet when the driver runs (it merges in memory and checks
out at the end). The driver finds the commits being merged (``GITHEAD_<sha>``
for `git merge` and `git pull`, ``rebase-merge/done`` for a rebase), checks
that their index.json blobs are exactly the three versions git gave it, and
merges those files' blobs the way git does (``git merge-file --union`` for
the logs, this module for the generated files). When the commits cannot be
found (cherry-pick, a criss-cross merge) the entries keep our side's hash and
the driver says to run `tether index` after the merge.

A session context is merged by its meaning (campaign.clones, given by the caller as
``contexts``: this package knows no campaign); where both clones set one value
differently the driver leaves the file conflicted, with markers around those values only.

`tether index --repair` (:mod:`tether.core.repair`) uses the same merges
when a merge happened without the driver.
"""

from __future__ import annotations

import os
import sys

from . import runner, textmerge
from .gitconfig import MERGE_DRIVER
from .objects import cat_blobs
from ..errors import GitProblem
from .semantic_merge import Unmergeable, merge_context, merge_latest, merge_manifest
from ..model.record import REQUIRED, Record

NAME = MERGE_DRIVER
DESCRIPTION = "tether generated files (LATEST.json, CONTEXT.md, index.json) and session contexts"
ARGS = "merge-driver --marker-size %L %O %A %B %P"


def kind_of(path: str) -> str:
    """Which merge a path gets: "latest", "manifest", "offload-map", "session-context" or "context"
    (any other text document)."""
    from ..store import layout

    path = path.replace("\\", "/")
    if path.rsplit("/", 1)[-1] == layout.CONTEXT_FILE:
        return "session-context"
    if layout.is_offload_map(path):
        return "offload-map"
    if path.endswith(layout.LATEST):
        return "latest"
    if path.rsplit("/", 1)[-1] == layout.MANIFEST:
        return "manifest"
    return "context"


# -- registration --------------------------------------------------------------------

def driver_command(executable: str | None = None) -> str:
    """The shell command git runs: this interpreter, or `tether` on PATH if it has moved."""
    import shlex

    python = executable if executable is not None else sys.executable
    if not python:
        return f"tether {ARGS}"
    quoted = shlex.quote(python)
    return f"if [ -x {quoted} ]; then {quoted} -m tether {ARGS}; else tether {ARGS}; fi"


def _git_config(root: str, *args: str) -> str | None:
    try:
        proc = runner.run(root, "config", "--local", *args, check=False)
    except GitProblem:  # no git at all
        return None
    return proc.stdout.decode("utf-8", "surrogateescape").strip() if proc.returncode == 0 else None


def register(root: str) -> str | None:
    """Define the driver in the clone's git config; returns what changed, or None.

    A driver someone defined by hand (one that does not run `merge-driver`) is kept.
    """
    current = _git_config(root, "--get", f"merge.{NAME}.driver")
    wanted = driver_command()
    if current == wanted or (current and "merge-driver" not in current):
        return None
    if _git_config(root, f"merge.{NAME}.name", DESCRIPTION) is None \
            or _git_config(root, f"merge.{NAME}.driver", wanted) is None:
        return None  # not a git repository we can configure: the text merge and `index --repair` remain
    verb = "updated" if current else "registered"
    return f"{verb} the merge driver in git config (merge.{NAME}.driver)"


def ensure_registered(root: str) -> None:
    """Register the driver if this clone has none (a fresh clone that never ran `tether init`)."""
    if _git_config(root, "--get", f"merge.{NAME}.driver") is None:
        register(root)


def upgraded_attributes(existing: str, wanted: str) -> str | None:
    """``existing`` (.gitattributes) with the rules of ``wanted`` it lacks; None when it has them all."""
    have = {line.strip() for line in existing.splitlines()}
    missing = [line for line in wanted.splitlines() if line and not line.startswith("#") and line not in have]
    if not missing:
        return None
    comments = [line for line in wanted.splitlines() if line.startswith("#") and line not in have]
    lines = ([comments[-1]] if comments else []) + missing
    return existing.rstrip("\n") + "\n" + "\n".join(lines) + "\n"


# -- the driver ----------------------------------------------------------------------

class Outcome(Record):
    FIELDS = {"path": REQUIRED, "kind": REQUIRED, "clean": REQUIRED, "note": None}


def _read(path: str) -> bytes:
    with open(path, "rb") as fh:
        return fh.read()


def merge_generated(kind: str, base: bytes, ours: bytes, theirs: bytes, marker_size: int = 7,
                    blocks: dict[str, str] | None = None, contexts=None) -> tuple[bytes, bool]:
    """``blocks``: the context document's blocks regenerated from the merged records, else the
    newer side's stand. ``contexts(base, ours, theirs, marker_size)``: the session context's merge,
    (data or None, clean, conflicts or the reason it could not merge); Unmergeable without it."""
    if kind == "session-context":
        if contexts is None:
            raise Unmergeable("no merge for session contexts was given")
        data, clean, detail = contexts(base, ours, theirs, marker_size)
        if data is None:
            raise Unmergeable(detail)
        return data, clean
    if kind == "latest":
        return merge_latest(base, ours, theirs)
    if kind == "offload-map":
        # Rendered from the packets, which git merges file by file: our side stands until the next
        # offload command (or `tether index --repair`) renders the merged packets again.
        return ours, True
    return merge_context(base, ours, theirs, marker_size, blocks)


def run(base_file: str, ours_file: str, theirs_file: str, path: str, marker_size: int = 7,
        regenerate=None, contexts=None) -> Outcome:
    """Merge one file as git's driver: the result goes into ``ours_file``.

    ``regenerate(root, commits)`` gives the context document's blocks from the records as the
    merge leaves them (core.merging): the driver finds the commits as for index.json. Without
    it, or without the commits, the blocks of the newer side stand and the note says so.
    ``contexts``: the session context's merge (see merge_generated).
    """
    from ..store.fsio import write_atomic

    kind = kind_of(path)
    note = None
    try:
        base, ours, theirs = _read(base_file), _read(ours_file), _read(theirs_file)
        if kind == "session-context":
            return _session_context(base_file, ours_file, theirs_file, path, marker_size, contexts,
                                    (base, ours, theirs))
        if kind == "manifest":
            merged, unknown = merge_manifest(base, ours, theirs, lambda paths: _hashes_or_none(
                path, (base, ours, theirs), paths, regenerate, contexts))
            clean = True
            if unknown:
                note = (f"{path}: the merged hash of {len(unknown)} file(s) changed on both sides is unknown"
                        f" ({', '.join(unknown[:3])}); run `tether index` after the merge")
        else:
            blocks = _blocks_of_merge(regenerate, path, (base, ours, theirs)) if kind == "context" else {}
            merged, clean = merge_generated(kind, base, ours, theirs, marker_size, blocks or None)
            if not clean:
                note = f"{path}: both sides changed the same hand-written lines; resolve them, then `git add` it"
            elif kind == "context" and not blocks:
                note = (f"{path}: its generated sections are the newer side's, not rebuilt from the merged"
                        " records; run `tether index --repair` after the merge")
        write_atomic(ours_file, merged)
        return Outcome(path, kind, clean, note)
    except Exception as exc:  # never leave git without a result: fall back to its own text merge
        textmerge.merge_files(base_file, ours_file, theirs_file, marker_size)
        reason = str(exc) if isinstance(exc, Unmergeable) else f"{type(exc).__name__}: {exc}"
        return Outcome(path, kind, False, f"{path}: {reason}; left git's text merge: run `tether index --repair`")


CONTEXT_UNMERGED = ("{path}: {why}; left git's text merge. Keep one side (`git checkout --ours -- {path}`, or"
                    " --theirs) or edit it, then `tether ctx validate --context {path}` and `git add {path}`")


def _session_context(base_file: str, ours_file: str, theirs_file: str, path: str, marker_size: int, contexts,
                     versions: tuple[bytes, bytes, bytes]) -> Outcome:
    """A campaign's session context: merged by meaning; real conflicts are marked, value by value."""
    from ..store.fsio import write_atomic

    kind = "session-context"
    if contexts is None:
        data, clean, detail = None, False, "no merge for session contexts was given"
    else:
        data, clean, detail = contexts(*versions, marker_size)
    if data is None:
        textmerge.merge_files(base_file, ours_file, theirs_file, marker_size)
        return Outcome(path, kind, False, CONTEXT_UNMERGED.format(path=path, why=detail))
    write_atomic(ours_file, data)
    if clean:
        return Outcome(path, kind, True, None)
    shown = "; ".join(detail[:5]) + (f"; and {len(detail) - 5} more" if len(detail) > 5 else "")
    return Outcome(path, kind, False, f"{path}: both clones set {len(detail)} value(s) differently ({shown});"
                   " the rest is merged. Keep one value at each marked place, then `tether ctx validate"
                   f" --context {path}` and `git add {path}`")


def _blocks_of_merge(regenerate, path: str, versions: tuple[bytes, bytes, bytes]) -> dict:
    if regenerate is None:
        return {}
    try:
        commits = find_commits(".", path, versions)  # git runs drivers at the worktree's top
    except Exception:  # noqa: BLE001 - no commits: the newer side's blocks, and the note
        return {}
    return _regenerated(regenerate, ".", commits) if commits else {}


def _hashes_or_none(path: str, versions: tuple[bytes, bytes, bytes], paths: list[str], regenerate=None,
                    contexts=None) -> dict:
    try:
        return merged_hashes(".", path, versions, paths, regenerate, contexts)  # git runs drivers at the worktree's top
    except Exception:
        return {}  # unknown hashes: the manifest names them, `tether index` fixes them


# -- index.json: the commits behind the merge --------------------------------------------

def _git(root: str, *args: str) -> tuple[int, bytes]:
    proc = runner.run(root, *args, check=False)
    return proc.returncode, proc.stdout


def _candidates(root: str) -> list[str]:
    """Commits that may be "theirs": git merge/pull name it in GITHEAD_<sha>, a rebase in its todo list."""
    out = [name[len("GITHEAD_"):] for name in os.environ if name.startswith("GITHEAD_")]
    code, raw = _git(root, "rev-parse", "--git-path", "rebase-merge/done")
    if code == 0:
        done = os.path.join(root, raw.decode().strip())
        try:
            with open(done, encoding="utf-8") as fh:
                lines = [ln.split() for ln in fh if ln.strip() and not ln.startswith("#")]
        except OSError:
            lines = []
        if lines and len(lines[-1]) >= 2:
            out.append(lines[-1][1])
    return out


def find_commits(root: str, path: str, versions: tuple[bytes, bytes, bytes]) -> tuple[str, str, str] | None:
    """(base, ours, theirs) commits whose ``path`` blobs are exactly ``versions``, or None."""
    base_data, ours_data, theirs_data = versions
    for theirs in _candidates(root):
        got = cat_blobs(root, [f"HEAD:{path}", f"{theirs}:{path}"])
        if got != [ours_data, theirs_data]:
            continue
        code, raw = _git(root, "merge-base", "--all", "HEAD", theirs)
        bases = raw.decode().split() if code == 0 else []
        options = (bases if len(bases) == 1 else []) + [f"{theirs}^"]  # a merge, or a rebase/cherry-pick
        for base in options:
            if (cat_blobs(root, [f"{base}:{path}"])[0] or b"") == base_data:
                return base, "HEAD", theirs
    return None


def _attributes(root: str, paths: list[str]) -> dict[str, dict[str, str]]:
    code, raw = _git(root, "check-attr", "-z", "merge", "conflict-marker-size", "--", *paths)
    out: dict[str, dict[str, str]] = {p: {} for p in paths}
    fields = raw.split(b"\0")
    for i in range(0, len(fields) - 2, 3):
        path, name, value = (f.decode("utf-8", "surrogateescape") for f in fields[i:i + 3])
        out.setdefault(path, {})[name] = value
    return out


def _merge_file(base: bytes, ours: bytes, theirs: bytes, union: bool) -> bytes | None:
    code, merged, _ = textmerge.merge(base, ours, theirs, union=union)
    return merged if code == 0 else None


def merged_blob(name: str, base: bytes | None, ours: bytes, theirs: bytes, attrs: dict[str, str],
                blocks=None, contexts=None) -> bytes | None:
    """What git's merge leaves in ``name`` when both sides changed it, by the driver its
    attributes name; None when that merge conflicts (git stops for the user) or is another's."""
    driver = attrs.get("merge", "unspecified")
    if driver == "union":
        return _merge_file(base or b"", ours, theirs, union=True)
    if driver == NAME and kind_of(name) != "manifest":
        size = attrs.get("conflict-marker-size", "7")
        try:
            data, clean = merge_generated(kind_of(name), base or b"", ours, theirs,
                                          int(size) if size.isdigit() else 7, blocks, contexts)
        except Unmergeable:
            return None
        return data if clean else None
    if driver in ("unspecified", "set", "text"):
        return _merge_file(base or b"", ours, theirs, union=False)
    return None


def merged_hashes(root: str, path: str, versions: tuple[bytes, bytes, bytes], paths: list[str],
                  regenerate=None, contexts=None) -> dict:
    """sha256 of each file both sides changed, as this merge leaves it; files it cannot know are left out.
    ``regenerate(root, commits)``: the context document's blocks from the merged records, as the
    driver gives them to that document (see run)."""
    import hashlib

    from ..store import layout

    commits = find_commits(root, path, versions)
    if commits is None:
        return {}
    prefix = path[: -len(layout.MANIFEST)]
    full = [prefix + p for p in paths]
    blobs = cat_blobs(root, [f"{rev}:{f}" for f in full for rev in commits])
    attributes = _attributes(root, full)
    blocks = None
    out: dict[str, str | None] = {}
    for i, (rel, name) in enumerate(zip(paths, full)):
        base, ours, theirs = blobs[3 * i:3 * i + 3]
        if ours is None or theirs is None:
            continue  # deleted on one side, changed on the other: git stops for the user
        attrs = attributes.get(name, {})
        if blocks is None and regenerate is not None and attrs.get("merge") == NAME and kind_of(name) == "context":
            blocks = _regenerated(regenerate, root, commits)
        merged = merged_blob(name, base, ours, theirs, attrs, blocks or None, contexts)
        if merged is not None:
            out[rel] = "sha256:" + hashlib.sha256(merged).hexdigest()
    return out


def merged_file(root: str, name: str, base: bytes | None, ours: bytes, theirs: bytes,
                contexts=None) -> bytes | None:
    """``merged_blob`` of one repository path, with its attributes asked of git."""
    return merged_blob(name, base, ours, theirs, _attributes(root, [name]).get(name, {}), contexts=contexts)


def _regenerated(regenerate, root: str, commits: tuple[str, str, str]) -> dict:
    try:
        return regenerate(root, commits) or {}
    except Exception:  # noqa: BLE001 - a merge must not fail for it: the blocks of the newer side stand
        return {}


# -- a merge in progress (`tether index --repair`) ------------------------------------

def unmerged(root: str, paths: list[str]) -> dict[str, dict[int, str]]:
    """Paths git lists as unmerged (a merge in progress), with the blob id of each stage."""
    code, raw = _git(root, "ls-files", "-u", "-z", "--", *paths)
    out: dict[str, dict[int, str]] = {}
    for entry in raw.split(b"\0"):
        if not entry:
            continue
        info, _, name = entry.decode("utf-8", "surrogateescape").partition("\t")
        _mode, oid, stage = info.split()
        out.setdefault(name, {})[int(stage)] = oid
    return out


def mark_resolved(root: str, paths: list[str]) -> list[str]:
    """`git add` the paths that git lists as unmerged; returns those it marked."""
    todo = [p for p in paths if p in unmerged(root, paths)]
    if todo and _git(root, "add", "--", *todo)[0] != 0:
        return []
    return todo
