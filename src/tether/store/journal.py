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

from .codec import canonical_json
from .fsio import boot_id
from .layout import checkpoint_file, journal as journal_file


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
    from ..errors import ParseError
    from .codec import iter_jsonl
    from .formats import checkpoint_from, checkpoint_text
    from .fsio import WHOLE

    data = store.tree.tail(journal_file(task_id), WHOLE)
    if not data:
        return []
    task, restored = None, []
    shown = store.shown(journal_file(task_id))
    unread: list = []
    for number, row in iter_jsonl(data, shown, unread, numbered=True):
        name = row.get("name")
        if type(name) is not str or not name.startswith("CKP-") or "/" in name \
                or _intact(store, checkpoint_file(task_id, name)):
            continue
        try:
            checkpoint = checkpoint_from(row, shown, line=number)
        except ParseError:  # a line without a field or with a wrong one: nothing to restore from (verify names it)
            continue
        task = task or store.load_task(task_id)
        store.tree.write(checkpoint_file(task_id, name), checkpoint_text(checkpoint, task))  # durable this time
        restored.append(name)
    for problem in unread:
        store.report(problem)
    return restored


def whole_line(store, task_id: str, torn: bytes, skip: str | None = None) -> bytes | None:
    """The journal line that ``torn`` (a torn last line) was the start of, rendered again from its
    checkpoint file; None when no checkpoint missing from the journal matches it (``skip``: the
    checkpoint being appended now)."""
    from ..errors import ParseError
    from .formats import read_checkpoint

    data = store.tree.read(journal_file(task_id)) or b""
    data = data[:data.rfind(b"\n") + 1]  # the whole lines: the torn one is what we look for
    for name in reversed(store.checkpoint_names(task_id)):  # the torn line is the newest one's
        # A line names its checkpoint as canonical JSON does: found without parsing the journal.
        if name == skip or f'"name":"{name}"'.encode("utf-8") in data:
            continue
        rel = checkpoint_file(task_id, name)
        try:
            checkpoint = read_checkpoint(store.tree.read(rel) or b"", store.shown(rel))
        except ParseError:
            continue
        whole = line(checkpoint).encode("utf-8")
        if whole.startswith(torn):
            return whole
    return None


def recorded(store, task_id: str, name: str):
    """The checkpoint ``name`` as its journal line recorded it (what a hand-damaged file held);
    None when the journal has no whole, valid line for it."""
    from ..errors import ParseError
    from .codec import iter_jsonl
    from .formats import checkpoint_from
    from .fsio import WHOLE

    found = None
    data = store.tree.tail(journal_file(task_id), WHOLE)
    shown = store.shown(journal_file(task_id))
    unread: list = []
    for number, row in iter_jsonl(data, shown, unread, numbered=True):
        if row.get("name") == name:
            found = (number, row)  # the last line for it, as before
    for problem in unread:  # read through: a line that does not read may have been this checkpoint's
        store.report(problem)
    if found is None:
        return None
    try:
        return checkpoint_from(found[1], shown, line=found[0])
    except ParseError:  # a line without a field or with a wrong one (verify names it)
        return None


def _intact(store, rel: str) -> bool:
    """Absent, empty, zero-filled or cut short is what a machine crash leaves; a file that reads
    as a checkpoint is kept, whatever a person changed in it."""
    from ..errors import LinkRefused, ParseError
    from .formats import read_checkpoint

    try:
        data = store.tree.peek(rel)  # not read(): boot does not record what the check looks at
    except LinkRefused:
        return True  # never written through: boot and verify name the link
    if data is None:
        return False
    if not data.startswith(b"---\n") or b"\0" in data:
        return False
    try:
        read_checkpoint(data, rel)
    except ParseError:
        return False
    return True
