"""The shared session context of multi-skill workflows (seed 004).

One YAML file per campaign session holds identity, the active task's scope and
budget, accumulated knowledge, artifacts, decisions, validations, compute and
history. Modules: ``document`` (the file, locked and atomic), ``schema`` (the
published JSON Schemas), ``merge`` (applying skill results), ``clones`` (two clones'
versions merged by meaning, for git's merge driver), ``projection``
(what each skill receives), ``scope`` and ``budget`` (enforcement),
``decisions``, ``lifecycle``, ``lexicon`` and ``wording`` (the scope checker's words), and ``api``
(:class:`Campaign`, the orchestrator API).
"""

from .api import Campaign, Invocation

__all__ = ["Campaign", "Invocation"]
