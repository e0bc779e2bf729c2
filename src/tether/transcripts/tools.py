"""The agents' tool names that carry meaning for tether. Imports nothing: the PostToolUse hook,
run at every tool call, reads it."""

#: Tools that change files, by the name each agent gives them; the input key naming the file.
EDIT_TOOLS = {
    "Edit": "file_path", "MultiEdit": "file_path", "Write": "file_path",
    "NotebookEdit": "notebook_path",
}
