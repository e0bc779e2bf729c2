"""The workspace config's values: what ``.tether/tether.toml`` says (store.config_file reads it)."""

from __future__ import annotations

from .record import Record

DEFAULT_BUDGET = 2000
DEFAULT_LONG_BREAK = 14  # days without a close after which the brief says what to verify (seed 003)
DEFAULT_CHECKPOINT_EVERY = 4  # tool calls between automatic checkpoints (seed 001: every 3-5); 0: never
# The workspace's format version, written as tether.toml's `schema`: what this tether reads and writes.
# A workspace with an older one is brought up to it by store.migrations; a newer one is refused.
SCHEMA = 1


class Config(Record):
    """``reading_order_refused``: [path, why] of each reading-order entry left out (boot names them);
    ``warnings``: unknown keys, as Problem dicts (kept in the parsed-config cache with the rest);
    ``context_thresholds``: state -> percent at which it begins, over the seed's (``[context] thresholds``);
    ``context_windows``: model name prefix -> context window in tokens (``[context] windows``);
    ``audit``: the ``[audit]`` thresholds given (tether.audit.rules.DEFAULTS fills in the rest);
    ``recall``: the ``[recall]`` values given (the semantic tier's model, tether.recall.embed)."""

    FIELDS = {"budget": DEFAULT_BUDGET, "reading_order": list, "context_document": ".tether/CONTEXT.md",
              "reading_order_refused": list, "secrets_allow": list, "schema": SCHEMA, "warnings": list,
              "long_break_days": DEFAULT_LONG_BREAK, "checkpoint_every": DEFAULT_CHECKPOINT_EVERY,
              "checkpoint_before_risky": True, "compaction": dict, "context_thresholds": dict,
              "context_windows": dict, "audit": dict, "recall": dict}

    def context_settings(self) -> dict:
        """What ``[context]`` gives a reading of the context: see :func:`context_settings`."""
        return context_settings({"context_windows": self.context_windows, "context_thresholds": self.context_thresholds})

    def problems(self) -> list:
        from ..errors import Problem

        return [Problem(**w) for w in self.warnings]


def context_settings(fields: dict) -> dict:
    """The windows and state thresholds ``[context]`` sets, as the keyword arguments of a reading
    (tether.transcripts' ``context_usage``, ``window_for`` and ``state_for``): ``windows`` and
    ``thresholds``, None when the file sets none. ``fields``: a Config's, as a dict (the hooks
    have them so, from the parsed-config cache). The one place the configuration becomes them, so
    that `tether usage`, `tether compact` and the hooks judge a context alike."""
    return {"windows": dict(fields.get("context_windows") or {}) or None,
            "thresholds": dict(fields.get("context_thresholds") or {}) or None}
