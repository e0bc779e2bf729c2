"""Every error tether raises, in one tree; and the :class:`Problem`, a damaged file named.

Every error a user can cause carries one clear line (``str(error)``), a ``hint``
saying what to do next (adapters add hints that name commands), and an
``exit_code`` that adapters (CLI, hooks, MCP) use as is. Catching
:class:`TetherError` catches all of them. The tree::

    TetherError                 exit 1   something the user can fix
    ├── NoWorkspace             exit 1   no .tether/ above the working directory
    ├── ConfigMissing           exit 1   .tether/ exists but tether.toml does not (boot halts)
    ├── NotFound                exit 1   a task, checkpoint or decision id that does not exist
    ├── InvalidInput            exit 1   a value that cannot be used (bad id, bad item range, ...)
    ├── Conflict                exit 1   the id is taken, the task is closed, ...
    ├── Corrupt                 exit 1   a record the command needs cannot be read
    │   └── ParseError          exit 1   ... with the file and line (``.problem``)
    │       └── LinkRefused     exit 1   a symbolic link inside .tether/: tether neither reads nor writes through one
    ├── GitProblem              exit 1   git is missing, an invalid SHA, a commit failed
    ├── ReadOnly                exit 1   a write to a store that cannot change (a commit's tree)
    ├── UsageError              exit 2   the command line itself is wrong (adapters raise it)
    ├── Degraded                exit 3   the job ran but state has problems (corrupt files, stale index)
    └── Refused                 exit 4   the answer is no: an update refused (conflict, stale, closed)
                                         or a scope/budget check BLOCKED; the reasons say why
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_USER = 1
EXIT_USAGE = 2
EXIT_DEGRADED = 3
EXIT_REFUSED = 4
EXIT_INTERNAL = 70  # an unexpected bug: EX_SOFTWARE from sysexits.h


# Hints the adapters (CLI, MCP) give when the library named no next step for an error of that class.
HINTS = {
    "Corrupt": "fix the file at that line, or restore its last committed version with `git checkout -- PATH`",
    "ParseError": "fix the file at that line, or restore its last committed version with `git checkout -- PATH`",
    "ReadOnly": "run the command without --sha to change the working tree",
}


class TetherError(Exception):
    exit_code = EXIT_USER
    kind = "error"

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint

    def to_dict(self) -> dict:
        return {"error": str(self), "hint": self.hint, "kind": self.kind, "exit_code": self.exit_code}


class NoWorkspace(TetherError):
    kind = "no_workspace"


class ConfigMissing(TetherError):
    kind = "config_missing"


class NotFound(TetherError):
    kind = "not_found"


class InvalidInput(TetherError):
    kind = "invalid_input"


class NothingToRecord(InvalidInput):
    """A checkpoint given nothing to record (a numbered copy of the last would pass for progress);
    its kind stays ``invalid_input``. The command line names its options in the hint."""


class ConfigInvalid(InvalidInput):
    """tether.toml does not read (a typo, a merge conflict, a newer schema): every command that
    needs it stops; `tether verify` reports it as the store's problem. Its kind stays
    ``invalid_input``, as before the class. Its message starts with the file, and the line when
    one is to blame ("path:line: why")."""

    @property
    def line(self) -> int | None:
        head = str(self).split(": ", 1)[0]
        _, sep, number = head.rpartition(":")
        return int(number) if sep and number.isdigit() else None

    @property
    def reason(self) -> str:
        """The message without the file and line it starts with."""
        return str(self).split(": ", 1)[1] if ": " in str(self) else str(self)


class Conflict(TetherError):
    kind = "conflict"


class Corrupt(TetherError):
    kind = "corrupt"


class ParseError(Corrupt):
    """A file that cannot be read as what it should be; ``problem`` says where."""

    def __init__(self, path: str, line: int | None, message: str, conflict: bool = False) -> None:
        super().__init__(f"{path}:{line}: {message}" if line else f"{path}: {message}")
        self.problem = Problem(path, line, message)
        self.conflict = conflict  # git's conflict markers: a merge left it unresolved


class Problem(tuple):
    """A file tether could not use, and why: shown to people, never hidden.

    A named tuple (path, line, message), written out: ``collections`` would load a dozen
    modules into every hook process, which imports this module first."""

    __slots__ = ()
    _fields = ("path", "line", "message")

    def __new__(cls, path, line, message):
        return tuple.__new__(cls, (path, line, message))

    def __getnewargs__(self):
        return tuple(self)

    path = property(lambda self: self[0], doc="the file, as shown")
    line = property(lambda self: self[1], doc="its line, or None")
    message = property(lambda self: self[2], doc="what is wrong")

    def __repr__(self) -> str:
        return f"Problem(path={self[0]!r}, line={self[1]!r}, message={self[2]!r})"

    def _asdict(self) -> dict:
        return {"path": self[0], "line": self[1], "message": self[2]}

    def _replace(self, **changes) -> "Problem":
        return Problem(**{**self._asdict(), **changes})

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.message}"

    def to_dict(self) -> dict:
        return {"path": self.path, "line": self.line, "message": self.message}


class LinkRefused(ParseError):
    """A symbolic link inside ``.tether/``: a committed link would send tether's writes (and reads)
    anywhere on the machine, so tether follows none. Met on a read, it is a problem to report
    (``.problem``) like any file tether cannot use; on a write, an error."""

    kind = "link"
    WHY = "a symbolic link; tether neither reads nor writes through links inside .tether/"

    def __init__(self, path: str) -> None:
        super().__init__(path, None, f"{self.WHY}; not read")
        self.args = (f"{path} is {self.WHY}",)
        self.hint = "replace the link with the file or folder itself, or remove it (`git rm` it)"
        self.path = path


class GitProblem(TetherError):
    kind = "git"


class ReadOnly(TetherError):
    kind = "read_only"


class UsageError(TetherError):
    exit_code = EXIT_USAGE
    kind = "usage"


class Degraded(TetherError):
    exit_code = EXIT_DEGRADED
    kind = "degraded"


class Unavailable(TetherError):
    """Something this Python lacks (SQLite built without FTS5, for recall): nothing was changed."""

    exit_code = EXIT_REFUSED
    kind = "unavailable"


class Refused(TetherError):
    """An update tether will not merge, with every reason (path: why) so nothing is lost silently."""

    exit_code = EXIT_REFUSED
    kind = "refused"

    def __init__(self, message: str, hint: str | None = None, reasons: list[str] | None = None) -> None:
        super().__init__(message, hint)
        self.reasons = list(reasons or [])

    def to_dict(self) -> dict:
        return {**super().to_dict(), "reasons": self.reasons}
