"""tether: keep AI sessions tethered to a git repository.

The public Python API::

    from tether import Workspace
    ws = Workspace.open()
    ws.checkpoint(done=["1-5"], state="docs 1-5 done")
    print(ws.boot().text)

Everything listed in ``__all__`` is importable from here: the :class:`Workspace`,
the records and result types its calls return, and the error tree
(:mod:`tether.errors`). Importing this package loads nothing else: each name is
imported on first use, so the warm session start never pays for the classes.
"""

__version__ = "0.1.0"

_ERRORS = (
    "TetherError", "NoWorkspace", "ConfigMissing", "NotFound", "InvalidInput", "Conflict", "Corrupt",
    "ParseError", "GitProblem", "ReadOnly", "UsageError", "Degraded", "Refused", "Problem", "NothingToRecord",
)
# name -> the module that defines it
_TYPES = {
    "Workspace": "workspace",
    "Task": "model.records", "Checkpoint": "model.records", "Decision": "model.records", "Note": "model.records",
    "Latest": "model.records", "Found": "model.records",
    "Resume": "core.tasks", "TaskStatus": "core.worklist", "Brief": "core.brief",
    "CloseResult": "core.close", "ProgressLogs": "core.close", "Verification": "core.verify",
    "Check": "core.manifest", "Repair": "core.repair",
}
__all__ = [*_TYPES, *_ERRORS, "__version__"]


def __getattr__(name: str):
    if name in _TYPES:
        from importlib import import_module

        return getattr(import_module(f".{_TYPES[name]}", __name__), name)
    if name in _ERRORS:
        from . import errors

        return getattr(errors, name)
    raise AttributeError(f"module 'tether' has no attribute {name!r}")
