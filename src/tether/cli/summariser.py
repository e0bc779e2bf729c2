"""A user's summariser command for tier 3 (``[compaction] summariser`` in tether.toml).

The command gets the messages to summarise as a JSON array on stdin and prints the summary
(Markdown) on stdout. It runs here, in the adapter, because the library starts no process
but git: the facade takes any callable.
"""

from __future__ import annotations

import json
import shlex
import subprocess

from ..errors import InvalidInput
from ..model.fastjson import utf8


def command_summariser(command: str, cwd: str, timeout: int = 600):
    argv = shlex.split(command)

    def summarise(messages: list) -> str:
        try:
            proc = subprocess.run(argv, input=utf8(json.dumps(messages, ensure_ascii=False)),
                                  capture_output=True, cwd=cwd, timeout=timeout)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise InvalidInput(f"the summariser command {argv[0]!r} did not run: {exc}",
                               hint="fix [compaction] summariser in .tether/tether.toml, or pass --summary-file") from None
        if proc.returncode != 0:
            said = proc.stderr.decode("utf-8", "replace").strip().splitlines()
            raise InvalidInput(f"the summariser command exited {proc.returncode}"
                               + (f": {said[-1]}" if said else ""),
                               hint="fix the command, or pass --summary-file; nothing was compacted")
        text = proc.stdout.decode("utf-8", "replace").strip()
        if not text:
            raise InvalidInput("the summariser command printed nothing", hint="it must print the summary on stdout")
        return text

    return summarise
