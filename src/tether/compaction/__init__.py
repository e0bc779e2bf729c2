"""Compaction of a context in seed 001's three tiers, with nothing lost.

Over a plain message list (OpenAI or Anthropic chat format): tier 1 moves every large tool
result to the repository's cache and leaves a stub; tier 2 does the same for long tool inputs;
tier 3 replaces the older conversation by a structured summary, archives the whole of it and
records a checkpoint. Pins (keep-hints) are put back after every compaction; what is stored
has its secrets redacted. Modules: ``messages`` (the list: read, walked, written in its own
shape), ``offload`` (tiers 1 and 2), ``summary`` (tier 3's extractive summary and the list it
makes), ``pins`` (the pins in force), ``redact`` (secrets found with detect-secrets and cut),
``api`` (:class:`Compactor` and :func:`compact`, the facade; it alone talks to the store), and
``precompact`` (:func:`save_before_compaction`: a Claude Code transcript, streamed, offloaded,
archived and summarised before Claude Code compacts it).

Nothing here imports detect-secrets or the token counters until a compaction needs them.
"""

__all__ = ["compact", "Compactor", "Compaction", "save_before_compaction"]


def __getattr__(name: str):
    if name == "save_before_compaction":
        from .precompact import save_before_compaction

        return save_before_compaction
    if name in __all__:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'tether.compaction' has no attribute {name!r}")
