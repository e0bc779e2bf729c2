"""index.json: the manifest of state files and their content hashes (seed 002).

``tether index`` writes it; ``tether index --check`` compares it with the
files and fails when it is stale, so CI or a pre-commit hook can guard it.
The manifest is deterministic: the same files give byte-identical output.
On the working tree only changed files are read again (see warm.manifest_entries).
"""

from __future__ import annotations

import hashlib
import json
from ..errors import ParseError
from ..store.codec import load_json
from ..model.record import REQUIRED, Record
from ..store.files import Store
from ..store.formats import MANIFEST_SCHEMA as SCHEMA, manifest_problem


def _entries(store: Store) -> tuple[str, int]:
    """The "path": "sha256:..." lines of index.json, joined, and their number."""
    if store.tree.directory is not None:
        from ..warm.manifest_entries import entries

        skip_dirs, skip_files = store.not_in_manifest()  # as Store.state_files leaves them out
        return entries(store.tree.directory, skip_dirs, skip_files)
    files = {rel: "sha256:" + hashlib.sha256(data).hexdigest() for rel, data in store.state_files()}
    return _join(files), len(files)


def _join(files: dict[str, str]) -> str:
    from ..warm.manifest_entries import SEPARATOR, member

    return SEPARATOR.join(member(rel, files[rel]) for rel in sorted(files))


def _parse(entries: str, count: int) -> dict[str, str]:
    return json.loads(f"{{{entries}}}") if count else {}


def _document(entries: str, count: int) -> str:
    # json.dumps(body, indent=1, sort_keys=True, ensure_ascii=False), written out: with an
    # indent, json encodes in pure Python (~0.3 s for 100,000 files).
    files = f"{{\n{entries}\n }}" if count else "{}"
    return f'{{\n "count": {count},\n "files": {files},\n "generator": "tether",\n "schema": {SCHEMA}\n}}\n'


def compute(store: Store) -> dict[str, str]:
    """{path: "sha256:<hex>"} of every state file."""
    return _parse(*_entries(store))


def render(files: dict[str, str]) -> str:
    return _document(_join(files), len(files))


def write(store: Store) -> int:
    """Write index.json; returns the number of files it lists."""
    entries, count = _entries(store)
    store.write_manifest(_document(entries, count))
    return count


class Check(Record):
    """Whether index.json is stale; ``problem`` says why it cannot be compared, and ``conflicted``
    whether that is a merge's conflict markers."""

    FIELDS = {"stale": REQUIRED, "added": list, "removed": list, "changed": list, "problem": None,
              "conflicted": False}


def check(store: Store) -> Check:
    shown = store.manifest_path()
    data = store.read_manifest_bytes()
    if data is None:
        return Check(stale=True, problem=f"{shown} is missing")
    entries, count = _entries(store)
    if data == _document(entries, count).encode("utf-8"):  # what `tether index` would write
        return Check(stale=False)
    try:
        recorded = load_json(data, shown)
    except ParseError as exc:
        return Check(stale=True, problem=str(exc), conflicted=exc.conflict)
    wrong = manifest_problem(recorded, data)  # not of its shape: nothing to compare (verify says so too)
    if wrong:
        line, message = wrong
        return Check(stale=True, problem=f"{shown}{'' if line is None else f':{line}'}: {message}")
    old: dict = recorded["files"]
    new = _parse(entries, count)
    added = sorted(set(new) - set(old))
    removed = sorted(set(old) - set(new))
    changed = sorted(p for p in set(new) & set(old) if new[p] != old[p])
    return Check(stale=bool(added or removed or changed), added=added, removed=removed, changed=changed)
