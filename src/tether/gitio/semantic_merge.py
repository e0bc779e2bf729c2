"""Merging tether's generated files when two branches both rewrote them.

git merges the append-only logs by itself (``merge=union``). The generated
files are rewritten whole by every ``tether close``, so git's text merge of
two closes conflicts; these functions merge them by what they mean:

- ``progress/LATEST.json``: the newer close wins, by ``generated_at``, then
  session id, then bytes, so the answer does not depend on which branch is
  merged into which; when both branches closed since they parted, the older
  close's next steps are kept after the newer's.
- ``CONTEXT.md``: the hand-written text outside tether's markers is merged
  3-way, as git would. Where both sides only added text at the same place,
  both additions are kept (ours first); where both changed the same lines, a
  conflict is left for the user, because only a person can choose. tether's
  blocks are regenerated from the records as the merge leaves them when the
  driver can find the merge's commits (mergedriver.run), else they come whole
  from the newer side (`tether index --repair` regenerates them).
- ``index.json``: entry by entry, 3-way. The hash of a file both sides
  changed depends on that file's merged content, which only the caller can
  know (``resolve``).

Each merge returns ``(merged bytes, clean)``, or raises :class:`Unmergeable`
when a side cannot be read as what it should be.
"""

from __future__ import annotations

import re

from ..store.codec import json_value
from ..store.formats import BLOCK_MARK, block_re

PLACEHOLDER = BLOCK_MARK + "block {} -->"
PLACEHOLDER_RE = re.compile(r"<!-- tether:block ([a-z_]+) -->")
UPDATED_RE = re.compile(r"_Updated (\S+)")
# Internal marker size for parsing git merge-file's output: longer than any line a person writes.
INNER_MARKER = 41


class Unmergeable(Exception):
    """A side is not what the file should hold (invalid JSON, an unknown layout)."""


# -- LATEST.json ---------------------------------------------------------------------

def _latest_key(data: bytes) -> tuple | None:
    """What orders two closes: their time, then session, then bytes; None for a side that is not
    a LATEST.json boot would read."""
    from ..errors import ParseError
    from ..store.formats import read_latest

    try:
        latest = read_latest(data, "LATEST.json")
    except ParseError:
        return None
    return (_moment(latest.generated_at), str(latest.session or ""), data)


def _moment(stamp: object) -> float:
    from ..model import clock

    try:
        return clock.parse(str(stamp)).timestamp()
    except (ValueError, TypeError):
        return float("-inf")  # a hand-edited or missing time loses to any real one


def merge_latest(base: bytes, ours: bytes, theirs: bytes) -> tuple[bytes, bool]:
    keys = [k for k in (_latest_key(ours), _latest_key(theirs)) if k is not None]
    if not keys:
        raise Unmergeable("neither side is a valid LATEST.json")
    newer = max(keys)[2]
    older = min(keys)[2] if len(keys) == 2 else None
    if older is None or older == newer or older == base:
        return newer, True
    # Both branches closed since they parted: the older close's next steps are not overtaken by the
    # newer one (another clone's plan); kept after the newer's, the same from either side.
    from ..store.formats import latest_text, read_latest

    won, lost = read_latest(newer, "LATEST.json"), read_latest(older, "LATEST.json")
    extra = [step for step in lost.next_steps if step not in won.next_steps]
    if not extra:
        return newer, True
    won.next_steps = [*won.next_steps, *extra]
    return latest_text(won).encode("utf-8"), True


# -- CONTEXT.md --------------------------------------------------------------------------

def _skeleton(text: str) -> tuple[str, dict[str, str]]:
    """The document with each tether block folded into a one-line placeholder."""
    blocks: dict[str, str] = {}

    def fold(match: re.Match) -> str:
        blocks.setdefault(match.group("name"), match.group(0))
        return PLACEHOLDER.format(match.group("name"))

    return block_re().sub(fold, text), blocks


def _updated(blocks: dict[str, str]) -> tuple[str, str]:
    where = blocks.get("where_we_are", "")
    found = UPDATED_RE.search(where)
    return (found.group(1) if found else "", where)


def _stamped(block: str, newer: dict[str, str]) -> str:
    """A regenerated where_we_are with the newer side's "_Updated ..." line: the merge writes nothing
    new of its own, and merging A into B or B into A gives the same stamp."""
    stamp = re.search(r"^_Updated .*$", newer.get("where_we_are", ""), re.M)
    return re.sub(r"^_Updated .*$", lambda _: stamp.group(0), block, count=1, flags=re.M) if stamp else block


def merge_context(base: bytes, ours: bytes, theirs: bytes, marker_size: int = 7,
                  regenerated: dict[str, str] | None = None) -> tuple[bytes, bool]:
    """``regenerated``: the blocks as the merged records give them (see mergedriver.run); without
    them, each block is the newer side's."""
    try:
        texts = [side.decode("utf-8") for side in (base, ours, theirs)]
    except UnicodeDecodeError:
        raise Unmergeable("a side is not UTF-8 text") from None
    (base_text, base_blocks), (ours_text, ours_blocks), (theirs_text, theirs_blocks) = map(_skeleton, texts)
    merged, conflicts = merge_text(base_text, ours_text, theirs_text, marker_size)
    newer, older = ((theirs_blocks, ours_blocks) if _updated(theirs_blocks) > _updated(ours_blocks)
                    else (ours_blocks, theirs_blocks))
    out, seen = [], set()
    for line in merged.splitlines(keepends=True):
        found = PLACEHOLDER_RE.fullmatch(line.rstrip("\n"))
        if found is None:
            out.append(line)
            continue
        name = found.group(1)
        if name in seen:
            continue  # both sides kept the same block: once is enough
        seen.add(name)
        block = newer.get(name) or older.get(name) or base_blocks[name]
        if regenerated and name in regenerated:
            block = _stamped(regenerated[name], newer) if name == "where_we_are" else regenerated[name]
        out.append(block + ("\n" if line.endswith("\n") else ""))
    return "".join(out).encode("utf-8"), conflicts == 0


def merge_text(base: str, ours: str, theirs: str, marker_size: int = 7) -> tuple[str, int]:
    """git's 3-way line merge, except that two additions at one place keep both.

    Returns the text and the number of conflicts left in it (as markers of
    ``marker_size``, labelled ours and theirs).
    """
    hunks = _diff3(base, ours, theirs)
    out, conflicts = [], 0
    for hunk in hunks:
        if isinstance(hunk, str):
            out.append(hunk)
        elif not hunk[1]:  # nothing of the base was changed: two additions at one place
            out.append(_joined(hunk[0], hunk[2]))
        else:
            conflicts += 1
            out.append(f"{'<' * marker_size} ours\n" + _ended(hunk[0]) + f"{'=' * marker_size}\n"
                       + _ended(hunk[2]) + f"{'>' * marker_size} theirs\n")
    return "".join(out), conflicts


def _ended(text: str) -> str:
    return text if not text or text.endswith("\n") else text + "\n"


def _joined(first: str, second: str) -> str:
    return (_ended(first) + second) if first and second else first + second


def _diff3(base: str, ours: str, theirs: str) -> list:
    """Run ``git merge-file --diff3``: a list of common text and (ours, base, theirs) hunks."""
    from . import textmerge

    code, merged, errors = textmerge.merge(base.encode("utf-8"), ours.encode("utf-8"), theirs.encode("utf-8"),
                                           diff3=True, marker_size=INNER_MARKER, labels=True)
    if code < 0 or code > 127:
        raise Unmergeable(f"git merge-file failed: {errors.decode('utf-8', 'replace').strip()}")
    return split_hunks(merged.decode("utf-8"), INNER_MARKER)


def split_hunks(text: str, marker_size: int | None = None) -> list:
    """Common text and (ours, base, theirs) conflict hunks of a conflicted file.

    ``marker_size`` None accepts any size of at least 7 (a file git left
    conflicted). The base part is "" when the markers carry none (git's
    default conflict style): read as two additions at one place.
    """
    size = rf"{{{marker_size}}}" if marker_size else r"{7,}"
    start = re.compile(rf"^<{size}(?: .*)?$")
    out: list = []
    common: list[str] = []
    lines = text.splitlines(keepends=True)
    i = 0
    while i < len(lines):
        line = lines[i]
        if not start.match(line.rstrip("\n")):
            common.append(line)
            i += 1
            continue
        n = len(line) - len(line.lstrip("<"))
        parts: dict[str, list[str]] = {"ours": [], "base": [], "theirs": []}
        part = "ours"
        i += 1
        while True:
            if i >= len(lines):
                raise Unmergeable("a conflict marker is never closed")
            bare = lines[i].rstrip("\n")
            if part == "ours" and re.fullmatch(rf"\|{{{n}}}(?: .*)?", bare):
                part = "base"
            elif part in ("ours", "base") and bare == "=" * n:
                part = "theirs"
            elif part == "theirs" and re.fullmatch(rf">{{{n}}}(?: .*)?", bare):
                break
            else:
                parts[part].append(lines[i])
            i += 1
        i += 1
        if common:
            out.append("".join(common))
            common = []
        out.append(tuple("".join(parts[k]) for k in ("ours", "base", "theirs")))
    if common:
        out.append("".join(common))
    return out


def sides_of_conflicted(text: str) -> tuple[str, str, str]:
    """(base, ours, theirs) rebuilt from a file git left with conflict markers."""
    sides = {"ours": [], "base": [], "theirs": []}
    for hunk in split_hunks(text):
        for i, key in enumerate(("ours", "base", "theirs")):
            sides[key].append(hunk if isinstance(hunk, str) else hunk[i])
    return "".join(sides["base"]), "".join(sides["ours"]), "".join(sides["theirs"])


def has_conflict_markers(data: bytes) -> bool:
    return data.startswith(b"<<<<<<<") or b"\n<<<<<<<" in data


# -- index.json -----------------------------------------------------------------------------

def _manifest_files(data: bytes, required: bool) -> dict:
    try:
        value = json_value(data.decode("utf-8")) if data.strip() else None
    except (UnicodeDecodeError, ValueError):  # Unusable is a ValueError too
        value = None
    if isinstance(value, dict) and isinstance(value.get("files"), dict):
        return value["files"]
    if required:
        raise Unmergeable("a side is not a valid index.json")
    return {}  # the base may be absent (both sides added the file)


def merge_manifest(base: bytes, ours: bytes, theirs: bytes, resolve=None) -> tuple[bytes, list[str]]:
    """The merged manifest, and the paths whose merged hash could not be known.

    ``resolve(paths)`` returns ``{path: hash, or None if the merge deletes it}``
    for files both sides changed; a path it leaves out keeps our side's hash,
    so ``tether index --check`` names it until ``tether index`` runs.
    """
    from ..core.manifest import render

    o, a, b = _manifest_files(base, False), _manifest_files(ours, True), _manifest_files(theirs, True)
    merged: dict[str, str] = {}
    both: list[str] = []
    for path in sorted(set(o) | set(a) | set(b)):
        old, mine, other = o.get(path), a.get(path), b.get(path)
        if mine == other or other == old:
            value = mine
        elif mine == old:
            value = other
        else:
            both.append(path)
            continue
        if value is not None:
            merged[path] = value
    known = resolve(both) if (both and resolve is not None) else {}
    unknown = [p for p in both if p not in known]
    for path in both:
        value = known[path] if path in known else (a.get(path) or b.get(path))
        if value is not None:
            merged[path] = value
    return render(merged).encode("utf-8"), unknown
