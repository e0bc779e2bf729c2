"""tether: keep AI sessions tethered to a git repository.

The public Python API::

    from tether import Workspace
    ws = Workspace.open()
    ws.checkpoint(done=["1-5"], state="docs 1-5 done")
    print(ws.boot().text)
"""

__version__ = "0.1.0"

_ERRORS = (
    "TetherError", "NoWorkspace", "ConfigMissing", "NotFound", "InvalidInput", "Conflict", "Corrupt",
    "ParseError", "GitProblem", "ReadOnly", "UsageError", "Degraded", "Refused", "Problem",
)
__all__ = ["Workspace", *_ERRORS, "__version__"]


def __getattr__(name: str):
    # Imported on first use: `tether boot` and the hooks start through this package, and the
    # warm boot never needs the workspace classes (importing them costs more than the boot).
    if name == "Workspace":
        from .workspace import Workspace

        return Workspace
    if name in _ERRORS:
        from . import errors

        return getattr(errors, name)
    raise AttributeError(f"module 'tether' has no attribute {name!r}")
