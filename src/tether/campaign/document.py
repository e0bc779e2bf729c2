"""The session context file: read it strictly, change it under a lock, write it atomically.

The file is YAML with the seed's top key ``session_context``. tether owns its
formatting when it writes (key order is kept, comments are not), bumps
``revision`` on every change, and never writes a file that fails the schema.
"""

from __future__ import annotations

import copy
import hashlib
import os

from ..errors import Corrupt, InvalidInput, NotFound, ParseError, Problem
from ..store import fsio, nofollow, written
from ..store.codec import Unusable, check_conflicts, decode, line_at
from ..store.yaml_codec import YamlError, yaml_value

HEADER = "# Session context (seed 004), kept by tether: change it with `tether ctx ...`.\n"
# The protocol's sections: anything else in session_context is kept, and `tether ctx validate` names it.
SECTIONS = ("id", "revision", "started_at", "last_updated", "campaign", "active_task", "knowledge", "artifacts",
            "pending_decisions", "decisions_made", "validations", "compute", "history")


def _yaml():
    import yaml

    return yaml


def parse_yaml(data: bytes, shown: str):
    """YAML text to plain data; what cannot be read or kept becomes a ParseError with the file and line."""
    text = decode(data, shown)
    check_conflicts(text, shown)
    try:
        return yaml_value(text), text
    except YamlError as exc:
        raise ParseError(shown, exc.line, f"invalid YAML ({exc.reason})") from None
    except Unusable as exc:
        path = getattr(exc, "path", None)
        if path is None:
            raise ParseError(shown, line_at(text, exc.offset), exc.reason) from None
        from .schema import dotted, line_finder

        raise ParseError(shown, line_finder(text)(path), f"{dotted(path)}: {exc.reason}") from None


def conflict_hint(shown: str, data: bytes) -> str:
    """How to resolve a session context a merge left conflicted, with what is on this machine only
    (the other clone's skill results are not)."""
    from .clones import conflicted_paths

    keep = (f"keep one side whole with `git checkout --ours -- {shown}` (or --theirs; the other clone's"
            " changes to it are then lost)")
    done = f"then `tether ctx validate --context {shown}` and `git add {shown}`"
    if conflicted_paths(data.decode("utf-8", "replace")) is not None:
        return f"edit each marked value (everything else is merged already), or {keep}; {done}"
    return (f"merge both clones' versions by meaning with `tether index --repair` (run `tether init` once in this"
            f" clone and commit .tether/.gitattributes so the next merge does it by itself), or {keep}; {done}")


def dump_yaml(data) -> str:
    yaml = _yaml()
    return yaml.dump(data, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper), sort_keys=False,
                     allow_unicode=True, default_flow_style=False, width=100)


class ContextFile:
    """One session context on disk. ``shown`` is the path people see in messages."""

    def __init__(self, path: str, shown: str | None = None, store_dir: str | None = None) -> None:
        self.path = os.path.abspath(path)
        self.shown = shown or path
        self.store_dir = store_dir
        # A context in the store is read and written as the store's files are: never through a link.
        inside = store_dir is not None and self.path.startswith(os.path.abspath(store_dir) + os.sep)
        self.root = os.path.abspath(store_dir) if inside else None
        digest = hashlib.sha1(self.path.encode("utf-8")).hexdigest()[:12]
        # Locks live in the workspace's git-ignored locks/ when there is one, not beside the user's files.
        self.lock_path = os.path.join(store_dir, "locks", f"ctx-{digest}.lock") if store_dir else self.path + ".lock"
        # The content hash of the last version that passed the schema: reads skip jsonschema (~70 ms) for it.
        self.valid_path = os.path.join(store_dir, "local", f"ctx-{digest}.valid") if store_dir else None
        self.extra: dict = {}  # the file's other top-level keys, as the last load found them

    def exists(self) -> bool:
        return os.path.isfile(self.path)

    def _bytes(self) -> bytes:
        try:
            return nofollow.read_bytes(self.path, self.root)
        except FileNotFoundError:
            raise NotFound(f"no session context at {self.shown}",
                           hint="create one with `tether ctx init --campaign ID --owner @who`") from None
        except IsADirectoryError:
            error = ParseError(self.shown, None, "a directory where the session context should be")
            error.hint = "move it away, or restore the file with `git checkout -- PATH`"
            raise error from None

    def read_raw(self) -> tuple[dict, str]:
        return parse_yaml(self._bytes(), self.shown)

    def load(self, validate: bool = True) -> dict:
        """The ``session_context`` mapping; halts with file:line when it is broken."""
        data = self._bytes()
        try:
            parsed, text = parse_yaml(data, self.shown)
        except ParseError as exc:  # API callers catch TetherError; the message keeps file:line
            if exc.conflict:  # mid-merge `git checkout -- PATH` fails (unmerged), and would drop a side anyway
                raise Corrupt(str(exc), hint=conflict_hint(self.shown, data)) from None
            raise Corrupt(str(exc), hint="fix the file at that line, or restore its last committed version with `git checkout -- PATH`") from None
        if not isinstance(parsed, dict) or not isinstance(parsed.get("session_context"), dict):
            raise Corrupt(f"{self.shown}: the top-level key must be session_context",
                          hint="see `tether ctx schema` for the shape")
        # Kept as they are on every write: tether does not know them, so it must not drop them.
        self.extra = {key: value for key, value in parsed.items() if key != "session_context"}
        if validate and not self._known_valid(data):
            problems = self.problems(parsed, text)
            if problems:
                raise Corrupt(f"{problems[0]}" + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""),
                              hint=f"fix it, then run `tether ctx validate --context {self.shown}`")
            self._remember_valid(data)
        return parsed["session_context"]

    def _known_valid(self, data: bytes) -> bool:
        if self.valid_path is None:
            return False
        from ..warm import cachefile

        return cachefile.read(self.valid_path, "ctx-valid", 1, self.store_dir) == hashlib.sha256(data).hexdigest()

    def _remember_valid(self, data: bytes) -> None:
        if self.valid_path is not None:
            from ..warm import cachefile

            cachefile.write(self.valid_path, "ctx-valid", 1, hashlib.sha256(data).hexdigest(), self.store_dir)

    def problems(self, parsed, text: str | None = None) -> list[Problem]:
        from .schema import problems

        return problems("session_context", parsed, self.shown, text, strip_prefix=1)

    def unknown_keys(self, parsed, text: str) -> list[Problem]:
        """Keys the protocol does not have, at the file's top level and in ``session_context``: kept on
        every write, read by no command, so most likely a typo (``knowlege:``) for a person to see."""
        if not isinstance(parsed, dict):
            return []
        from .schema import line_finder

        find = line_finder(text)
        out = [Problem(self.shown, find([key]), f"{key}: unknown key beside session_context; tether keeps it"
                       " but reads only session_context") for key in parsed if key != "session_context"]
        doc = parsed.get("session_context")
        if isinstance(doc, dict):
            out += [Problem(self.shown, find(["session_context", key]),
                            f"{key}: unknown section; tether keeps it but no command reads it"
                            f" (known: {', '.join(sorted(SECTIONS))})") for key in doc if key not in SECTIONS]
        return out

    def write(self, doc: dict) -> None:
        """Validate, then write atomically. Never leaves a file tether could not read back."""
        wrapped = {"session_context": doc, **self.extra}
        bad = self.problems(wrapped)
        if bad:
            raise InvalidInput(f"refusing to write an invalid context: {bad[0].message}",
                               hint="this is a bug in the update; the file on disk is unchanged")
        data = (HEADER + dump_yaml(wrapped)).encode("utf-8")
        written.note_file(self.root, self.path)
        fsio.write_atomic(self.path, data, root=self.root)
        self._remember_valid(data)

    def lock(self, timeout: float = 30.0) -> fsio.FileLock:
        return fsio.FileLock(self.lock_path, timeout=timeout, root=self.store_dir)

    def update(self, change, timeout: float = 30.0):
        """Under the lock: read, ``change(doc, next_revision)``, and write when it changed anything.

        Returns (what ``change`` returned, the document). An exception from ``change``
        leaves the file as it was.
        """
        with self.lock(timeout):
            doc = self.load()
            before = copy.deepcopy(doc)
            revision = int(before.get("revision") or 0) + 1
            outcome = change(doc, revision)
            if doc != before:
                doc["revision"] = revision
                self.write(doc)
            return outcome, doc
