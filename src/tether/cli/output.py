"""What the handlers share: the Result a command hands back (data for --json, text for people),
its rendering, and reading the arguments. No argparse here: `tether checkpoint` runs without it."""

from __future__ import annotations

import sys

from ..errors import EXIT_OK, InvalidInput
from ..model.record import Record


class Result(Record):
    FIELDS = {"data": dict, "text": "", "exit_code": EXIT_OK}


def problems_text(problems) -> str:
    if not problems:
        return ""
    # A checkpoint's file that does not read is taken as its task's journal recorded it, where it did.
    journaled = any("/checkpoints/CKP-" in str(getattr(p, "path", "") or "") for p in problems)
    said = " (a checkpoint's is taken as its task's journal, checkpoints.jsonl, recorded it)" if journaled else \
        " and were left out"
    lines = ["", f"Problems ({len(problems)}): these files could not be read{said}:"]
    lines += [f"  {p}" for p in problems]
    lines.append("Hint: " + problems_hint(problems))
    return "\n".join(lines)


def problems_hint(problems) -> str:
    """What to do about the problems a command met: `tether verify` names them all (a command reads
    only what it needs); a log's line is fixed or deleted where it is (restoring the file would drop
    the lines written since its commit), a torn last line set aside by `tether index --repair`."""
    paths = [str(getattr(p, "path", "") or "") for p in problems]
    torn = any("torn last line" in str(getattr(p, "message", "")) for p in problems)
    if any(path.endswith(".jsonl") for path in paths):
        fix = "fix or delete each log line named" + (
            ", or run `tether index --repair` to set a torn last line aside (its bytes kept)" if torn else "")
        if not all(path.endswith(".jsonl") for path in paths):
            fix += "; fix any other file at its line, or restore its last committed version with `git checkout -- PATH`"
    else:
        fix = "fix each file at the line given, or restore its last committed version with `git checkout -- PATH`"
    return f"{fix}; `tether verify` lists every problem in the store."


def task_line(task, resume=None, active: str | None = None) -> str:
    mark = "*" if task.id == active else " "
    progress = ""
    if resume is not None and resume.total:
        progress = f"  {len(resume.done)}/{resume.total} {task.unit_name}s"
    return f"{mark} {task.id:<18} {task.status:<9}{progress}  {task.title}"


def _ws():
    from ..workspace import Workspace

    return Workspace.open()


def read_input(name: str, hint: str, what: str = "", shown_stdin: str = "stdin") -> tuple[bytes, str]:
    """(the bytes of file ``name``, or of stdin for '-'; the name to show for it). Unreadable:
    InvalidInput "cannot read {what}{name}" with ``hint``."""
    try:
        if name == "-":
            return sys.stdin.buffer.read(), shown_stdin
        with open(name, "rb") as fh:
            return fh.read(), name
    except OSError as exc:
        raise InvalidInput(f"cannot read {what}{name}: {exc.strerror}", hint=hint) from None


def utf8_text(data: bytes, shown: str, hint: str) -> str:
    """``data`` as UTF-8 text; otherwise InvalidInput naming the line where it is not."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InvalidInput(f"{shown}:{line}: not UTF-8 text", hint=hint) from None


def _lines_from(values: list[str] | None, files: list[str] | None) -> list[str]:
    """Inline values plus lines of files ('-' is stdin), blank lines dropped."""
    out = list(values or [])
    for name in files or []:
        data, shown = read_input(name, "give a UTF-8 text file with one entry per line")
        text = utf8_text(data, shown, "save the file as UTF-8 and run the command again")
        out += [line.strip() for line in text.splitlines() if line.strip()]
    return out


def _limit(value: int | None) -> int | None:
    if value is not None and value < 1:
        raise InvalidInput(f"--limit must be at least 1, got {value}", hint="e.g. --limit 5 for the newest five")
    return value


def _split(values: list[str] | None) -> list[str]:
    return [part.strip() for v in values or [] for part in v.split(",") if part.strip()]
