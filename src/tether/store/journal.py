"""A task's checkpoint journal: one fsync makes a checkpoint durable.

A checkpoint is a Markdown file for people (``checkpoints/CKP-0004-x.md``) and,
since a new file needs two fsyncs to survive a power loss (the file, then its
directory), also one line appended to ``tasks/<id>/checkpoints.jsonl``: its front
matter as JSON. The file is published first (complete, by hard link, but left in
the OS's cache), then the line is appended and fsynced; that fsync is the moment
the checkpoint is acknowledged. A killed process loses nothing either way: the
OS still writes out what it cached. Only a crash of the machine itself can lose
a published file that was not yet written out, or leave it empty; its journal
line has it, and ``restore`` writes it again.

When to look: the OS's cache survives anything but a restart of the machine,
so the journal is checked once per boot per task: the boot id (fsio.boot_id)
is kept in the task's lock file with the name its last writer wrote.
The journal is tracked in git and merged like the other logs (``merge=union``).
"""

from __future__ import annotations

import os

from ..fsio import boot_id
from ..parsing import canonical_json

JOURNAL = "checkpoints.jsonl"


def line(checkpoint) -> str:
    return canonical_json(checkpoint.to_dict()) + "\n"


def needs_check(token: str | None) -> bool:
    """Whether the machine restarted since this task's files were last known whole.

    ``token``: the task's lock-file token, "<boot id>/<name>" as its last writer or check left it.
    """
    return not (token or "").startswith(boot_id() + "/")


def restore(store, task_id: str) -> list[str]:
    """Write again the checkpoint files a machine crash lost or emptied; returns their names.

    A file that is there and reads as a checkpoint is kept as is, even if it
    differs from its journal line: a person may have edited it.
    """
    from ..parsing import iter_jsonl
    from ..records import Checkpoint
    from ..fsio import WHOLE

    folder = f"tasks/{task_id}/checkpoints"
    data = store.tree.tail(f"tasks/{task_id}/{JOURNAL}", WHOLE)
    if not data:
        return []
    task, restored = None, []
    for row in iter_jsonl(data, store.shown(f"tasks/{task_id}/{JOURNAL}"), store.problems):
        name = str(row.get("name") or "")
        if not name.startswith("CKP-") or "/" in name or _intact(store, f"{folder}/{name}.md"):
            continue
        try:
            checkpoint = Checkpoint(**{key: row[key] for key in Checkpoint.FIELDS if key in row})
        except TypeError:  # a line without a required field: nothing to restore from
            continue
        task = task or store.load_task(task_id)
        store.tree.write(f"{folder}/{name}.md", checkpoint.to_text(task))  # durable this time
        restored.append(name)
    return restored


def whole_line(store, task_id: str, torn: bytes, skip: str | None = None) -> bytes | None:
    """The journal line that ``torn`` (a torn last line) was the start of, rendered again from its
    checkpoint file; None when no checkpoint missing from the journal matches it (``skip``: the
    checkpoint being appended now)."""
    from ..parsing import ParseError
    from ..records import Checkpoint

    rel = f"tasks/{task_id}/{JOURNAL}"
    data = store.tree.read(rel) or b""
    data = data[:data.rfind(b"\n") + 1]  # the whole lines: the torn one is what we look for
    folder = f"tasks/{task_id}/checkpoints"
    for name in reversed(store.checkpoint_names(task_id)):  # the torn line is the newest one's
        # A line names its checkpoint as canonical JSON does: found without parsing the journal.
        if name == skip or f'"name":"{name}"'.encode("utf-8") in data:
            continue
        try:
            checkpoint = Checkpoint.from_bytes(store.tree.read(f"{folder}/{name}.md") or b"", store.shown(folder))
        except ParseError:
            continue
        whole = line(checkpoint).encode("utf-8")
        if whole.startswith(torn):
            return whole
    return None


def newest_after(store, task_id: str, names: list[str], readable):
    """The newest checkpoint after ``readable`` (the newest one whose file reads), from its journal
    line: what a hand-damaged newer file held; None when the journal has no line for any of them."""
    from ..fsio import WHOLE
    from ..parsing import iter_jsonl
    from ..ranges import parse
    from ..records import Checkpoint

    later = names[names.index(readable.name) + 1:] if readable is not None and readable.name in names else names
    if not later:
        return None
    rows = {}
    data = store.tree.tail(f"tasks/{task_id}/{JOURNAL}", WHOLE)
    for row in iter_jsonl(data, store.shown(f"tasks/{task_id}/{JOURNAL}"), []):
        if row.get("name") in later:
            rows[row["name"]] = row
    for name in reversed(later):
        row = rows.get(name)
        if row is None:
            continue
        try:
            checkpoint = Checkpoint(**{key: row[key] for key in Checkpoint.FIELDS if key in row})
            parse(checkpoint.done)
        except (TypeError, ValueError):  # a line without a required field, or a bad done
            continue
        checkpoint.tips = [name]
        return checkpoint
    return None


def _intact(store, rel: str) -> bool:
    """Absent, empty, zero-filled or cut short is what a machine crash leaves; a file that reads
    as a checkpoint is kept, whatever a person changed in it."""
    from ..parsing import ParseError
    from ..records import Checkpoint

    try:
        with open(os.path.join(store.tree.root, rel), "rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        return False
    if not data.startswith(b"---\n") or b"\0" in data:
        return False
    try:
        Checkpoint.from_bytes(data, rel)
    except ParseError:
        return False
    return True
