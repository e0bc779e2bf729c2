"""index.json: the manifest of state files and their content hashes (seed 002).

``tether index`` writes it; ``tether index --check`` compares it with the
files and fails when it is stale, so CI or a pre-commit hook can guard it.
The manifest is deterministic: the same files give byte-identical output.
"""

from __future__ import annotations

import hashlib
import json
from .parsing import ParseError, load_json
from .recordtype import REQUIRED, Record
from .store.files import MANIFEST, FileStore

SCHEMA = 1


def compute(store: FileStore) -> dict[str, str]:
    return {rel: "sha256:" + hashlib.sha256(data).hexdigest() for rel, data in store.state_files()}


def render(files: dict[str, str]) -> str:
    body = {"schema": SCHEMA, "generator": "tether", "count": len(files), "files": dict(sorted(files.items()))}
    return json.dumps(body, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def write(store: FileStore) -> dict[str, str]:
    files = compute(store)
    store.write_file(MANIFEST, render(files))
    return files


class Check(Record):
    FIELDS = {"stale": REQUIRED, "added": list, "removed": list, "changed": list, "problem": None}


def check(store: FileStore) -> Check:
    shown = store.shown(MANIFEST)
    data = store.read_file(MANIFEST)
    if data is None:
        return Check(stale=True, problem=f"{shown} is missing")
    try:
        recorded = load_json(data, shown)
    except ParseError as exc:
        return Check(stale=True, problem=str(exc))
    if not isinstance(recorded, dict) or not isinstance(recorded.get("files"), dict):
        return Check(stale=True, problem=f"{shown}: expected an object with a 'files' mapping")
    old: dict = recorded["files"]
    new = compute(store)
    added = sorted(set(new) - set(old))
    removed = sorted(set(old) - set(new))
    changed = sorted(p for p in set(new) & set(old) if new[p] != old[p])
    return Check(stale=bool(added or removed or changed), added=added, removed=removed, changed=changed)
