"""How many tokens a model's context window holds.

The window used for a reading is, first to last: the caller's ``window``; the caller's
table (``windows``, model name prefix -> tokens); the window the transcript itself reports
(Codex writes ``model_context_window``); the built-in table below; 200,000.

Claude models with a 1M-token variant (the ``context-1m`` beta, or ``[1m]`` in Claude
Code's model setting) are written to the transcript under their plain name, so the variant
is recognised by ``[1m]`` in the name or by a context that no longer fits the standard
window: a prompt of more tokens than 200,000 was sent to the 1M variant.

Imports nothing: the usage hook reads through this module.
"""

from __future__ import annotations

DEFAULT = 200_000
ONE_MILLION = 1_000_000

# (name prefix, window, larger variant or None). Longest prefix wins.
# Codex reports its own window in the transcript (a share of the model's input limit); these
# are the models' input limits, used when it does not.
MODELS = (
    ("claude-opus-4-6", 200_000, ONE_MILLION),
    ("claude-opus-4-7", 200_000, ONE_MILLION),
    ("claude-sonnet-4-6", 200_000, ONE_MILLION),
    ("claude-sonnet-4-5", 200_000, ONE_MILLION),
    ("claude-sonnet-4", 200_000, ONE_MILLION),
    ("claude-opus-4", 200_000, None),
    ("claude-haiku-4", 200_000, None),
    ("claude-3", 200_000, None),
    ("claude-", 200_000, None),
    ("gpt-5", 272_000, None),
    ("codex-mini", 200_000, None),
    ("gpt-4.1", 1_047_576, None),
    ("gpt-4o", 128_000, None),
    ("gpt-4.5", 128_000, None),
    ("gpt-4-turbo", 128_000, None),
    ("gpt-4", 8_192, None),
    ("gpt-oss", 131_072, None),
    ("o1", 200_000, None),
    ("o3", 200_000, None),
    ("o4-mini", 200_000, None),
)


def reported_window(value) -> int | None:
    """A window as a transcript reports it: a positive int, else None."""
    return value if type(value) is int and value > 0 else None


def _lookup(model: str, table) -> tuple | None:
    best = None
    for entry in table:
        prefix = entry[0]
        if model.startswith(prefix) and (best is None or len(prefix) > len(best[0])):
            best = entry
    return best


SMALLEST, LARGEST = 1_000, 100_000_000  # a context window given by hand must be within these


def checked_window(window: int | None) -> int | None:
    """``window`` as given by a user (None: found from the model); InvalidInput when no model has it."""
    if window is not None and not SMALLEST <= window <= LARGEST:
        from ..errors import InvalidInput

        raise InvalidInput(f"--window must be from {SMALLEST:,} to {LARGEST:,} tokens, got {window}",
                           hint="e.g. --window 200000")
    return window


def window_for(model: str | None, tokens: int | None = None, *, window: int | None = None,
               windows: dict | None = None, reported: int | None = None) -> tuple:
    """(window, where it came from) for ``model`` holding ``tokens``.

    Where: ``"option"``, ``"config"``, ``"transcript"``, ``"table"``, ``"table, 1M variant"``
    or ``"default"``.
    """
    if window:
        return int(window), "option"
    name = (model or "").strip().lower()
    if windows and name:
        found = _lookup(name, [(k.lower(), v) for k, v in windows.items()])
        if found:
            return int(found[1]), "config"
    if reported:
        return int(reported), "transcript"
    if name.endswith("[1m]"):
        return ONE_MILLION, "table, 1M variant"
    found = _lookup(name, MODELS) if name else None
    if found is None:
        return DEFAULT, "default"
    _, size, larger = found
    if larger and tokens is not None and tokens > size:
        return larger, "table, 1M variant"
    return size, "table"
