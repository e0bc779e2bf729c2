"""git's own three-way text merge (``git merge-file``) of bytes held in memory.

The merge driver falls back to it, the merged-hash computation of index.json
replays it for the files git merges as text or by union, and the context
document's hand-written parts are merged with it (``--diff3``).
"""

from __future__ import annotations

import os

from . import runner


def merge(base: bytes, ours: bytes, theirs: bytes, *, union: bool = False, diff3: bool = False,
          marker_size: int | None = None, labels: bool = False) -> tuple[int, bytes, bytes]:
    """(exit code, merged bytes, errors) of ``git merge-file -p``: the code is the number of
    conflicts left, negative (or over 127) when git failed."""
    import tempfile

    options = [*(["--union"] if union else []), *(["--diff3"] if diff3 else []),
               *([f"--marker-size={marker_size}"] if marker_size else []),
               *(["-L", "ours", "-L", "base", "-L", "theirs"] if labels else [])]
    with tempfile.TemporaryDirectory(prefix="tether-merge-") as tmp:
        names = []
        for label, data in (("ours", ours), ("base", base), ("theirs", theirs)):
            names.append(os.path.join(tmp, label))
            with open(names[-1], "wb") as fh:
                fh.write(data)
        proc = runner.run(tmp, "merge-file", "-p", *options, *names, check=False)
    return proc.returncode, proc.stdout, proc.stderr


def merge_files(base_file: str, ours_file: str, theirs_file: str, marker_size: int) -> None:
    """git's text merge of three files, the result (with conflict markers) written into ``ours_file``."""
    runner.run(None, "merge-file", f"--marker-size={marker_size}", "-L", "ours", "-L", "base", "-L", "theirs",
               ours_file, base_file, theirs_file, check=False)
