"""The command-line adapter: thin commands over :mod:`tether.workspace`."""
