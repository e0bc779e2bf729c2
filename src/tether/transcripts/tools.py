"""The agents' tool names that carry meaning for tether. Imports nothing: the PostToolUse hook,
run at every tool call, reads it."""

#: Tools that change files, by the name each agent gives them; the input key naming the file.
EDIT_TOOLS = {
    "Edit": "file_path", "MultiEdit": "file_path", "Write": "file_path",
    "NotebookEdit": "notebook_path",
}

#: Tools whose input is a patch in Codex's format (the files it changes are named in its headers),
#: by each agent's name, and the input key holding the patch.
PATCH_TOOLS = {"apply_patch": "command"}
PATCH_MARKERS = ("*** Update File: ", "*** Add File: ", "*** Delete File: ", "*** Move to: ")


def patched_files(patch) -> tuple:
    """The files a Codex patch changes, from its own headers, in order, once each."""
    if not isinstance(patch, str) or "*** " not in patch:
        return ()
    files: dict = {}  # not a list: a patch may name thousands, each looked up in the others
    for line in patch.splitlines():
        if line.startswith(PATCH_MARKERS):
            for marker in PATCH_MARKERS:
                if line.startswith(marker):
                    name = line[len(marker):].strip()
                    if name:
                        files.setdefault(name, None)
    return tuple(files)
