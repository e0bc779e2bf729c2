"""What a command hands back to the CLI: data for --json, text for people."""

from __future__ import annotations

import argparse

from ..errors import EXIT_OK, UsageError
from ..model.record import Record


class Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse would print usage and exit(2) itself
        raise UsageError(message, hint=f"run `{self.prog} --help`")


class Result(Record):
    FIELDS = {"data": dict, "text": "", "exit_code": EXIT_OK}


def problems_text(problems) -> str:
    if not problems:
        return ""
    lines = ["", f"Problems ({len(problems)}): these files could not be read and were left out:"]
    lines += [f"  {p}" for p in problems]
    return "\n".join(lines)


def task_line(task, resume=None, active: str | None = None) -> str:
    mark = "*" if task.id == active else " "
    progress = ""
    if resume is not None and resume.total:
        progress = f"  {len(resume.done)}/{resume.total} {task.unit_name}s"
    return f"{mark} {task.id:<18} {task.status:<9}{progress}  {task.title}"
