"""tether: keep AI sessions tethered to a git repository.

The public Python API::

    from tether import Workspace
    ws = Workspace.open()
    ws.checkpoint(done=["1-5"], state="docs 1-5 done")
    print(ws.boot().text)
"""

from .errors import (ConfigMissing, Conflict, Degraded, GitProblem, InvalidInput, NotFound, NoWorkspace,
                     TetherError, UsageError)
from .workspace import Workspace

__version__ = "0.1.0"

__all__ = [
    "Workspace", "TetherError", "NoWorkspace", "ConfigMissing", "NotFound", "InvalidInput", "Conflict",
    "GitProblem", "UsageError", "Degraded", "__version__",
]
