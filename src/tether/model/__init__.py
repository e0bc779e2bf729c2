"""The data model: what tether's records are, as pure data. No I/O, no git, no file formats.

Modules: ``record`` (the light base class of every record type), ``records``
(tasks, checkpoints, decisions, context entries, the last close, and ``Found``:
records with the problems met reading them), ``ranges`` (item ranges as
intervals, "1-12,15"), ``ids`` (collision-free ids), ``clock`` (time, pinnable
with TETHER_NOW), ``config`` (tether.toml's values and schema), ``tokens`` (the
brief's token estimate). Imports nothing of tether but ``errors``.
"""
