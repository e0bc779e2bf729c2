"""Forgotten obligations and bloat (seed 000's guard): ``tether audit``.

Modules: ``rules`` (pure: each rule turns gathered facts into findings, naming the file and line
and how to fix it; no I/O), ``facts`` (gathers what the rules look at, through the store, the
offload and campaign facades, the transcript readers and gitio; starts no process itself), and
``api`` (:class:`Auditor`, the facade: runs the rules, applies the safe fixes, keeps the last
result under ``.tether/local/`` for the next boot's brief).
"""

__all__ = ["Auditor"]


def __getattr__(name: str):
    if name in __all__:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'tether.audit' has no attribute {name!r}")
