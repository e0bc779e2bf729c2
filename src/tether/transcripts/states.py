"""Context states and the action each calls for (seed 001, "Compression Thresholds").

| usage     | state    | action                            |
|-----------|----------|-----------------------------------|
| < 25%     | GREEN    | Normal operation                  |
| 25-50%    | YELLOW   | Monitor, prepare compression      |
| 50-75%    | ORANGE   | Tier 1 & 2 compression active     |
| 75-85%    | RED      | Tier 3 summarisation + checkpoint |
| > 85%     | CRITICAL | Final checkpoint + fresh session  |

The table's ranges share their ends; at a shared end the later state holds (50% is ORANGE,
85% is CRITICAL), so a reading at a limit errs towards acting. Thresholds are configurable:
the percentage at which each state after GREEN begins.

Imports nothing: the usage hook reads through this module.
"""

from __future__ import annotations

STATES = ("GREEN", "YELLOW", "ORANGE", "RED", "CRITICAL")
THRESHOLDS = {"YELLOW": 25.0, "ORANGE": 50.0, "RED": 75.0, "CRITICAL": 85.0}

ACTIONS = {
    "GREEN": "Normal operation",
    "YELLOW": "Monitor, prepare compression",
    "ORANGE": "Tier 1 & 2 compression active",
    "RED": "Tier 3 summarisation + checkpoint",
    "CRITICAL": "Final checkpoint + fresh session",
}

DETAILS = {
    "GREEN": "Nothing to do.",
    "YELLOW": "Watch the context; get ready to offload large tool results.",
    "ORANGE": "Tier 1: offload tool results over 15k tokens to cache/offloaded/. "
              "Tier 2: truncate persisted tool inputs.",
    "RED": "Tier 3: summarise the conversation and archive it to cache/conversations/; checkpoint the task.",
    "CRITICAL": "Save a final checkpoint and continue in a fresh session.",
}


#: What a live agent session (Claude Code, Codex) is told at each state, in place of ACTIONS: the agent
#: compacts its own context; the tiers are what `tether compact` does to a message list.
AGENT_ADVICE = {
    "GREEN": "Nothing to do.",
    "YELLOW": "Nothing to do yet; checkpoint at the next step boundary as usual.",
    "ORANGE": "Keep large tool output out of the context (write it to a file, read parts of it) and"
              " checkpoint the active task at the next step boundary (`tether checkpoint`).",
    "RED": "The agent will compact this session soon. Checkpoint the active task now (`tether checkpoint"
           " --done ... --state ... --next ...`), so that the compaction or a fresh session loses nothing.",
    "CRITICAL": "Checkpoint now, finish the current step, then start a fresh session: it resumes from the"
                " repository (`tether resume`).",
}


def thresholds(custom: dict | None = None) -> dict:
    """The thresholds in force: the seed's, with ``custom`` (state -> percent) over them.

    Raises ValueError for an unknown state, a value outside 0-100, or thresholds out of order.
    """
    out = dict(THRESHOLDS)
    for name, value in (custom or {}).items():
        key = str(name).upper()
        if key not in THRESHOLDS:
            raise ValueError(f"unknown context state {name!r}: the thresholds are {', '.join(THRESHOLDS)}")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 100:
            raise ValueError(f"the {key} threshold must be a percentage from 0 to 100, not {value!r}")
        out[key] = float(value)
    values = [out[name] for name in STATES[1:]]
    if values != sorted(values):
        raise ValueError("context thresholds must rise from YELLOW to CRITICAL: "
                         + ", ".join(f"{k} {v:g}" for k, v in out.items()))
    return out


def state_for(percent: float, custom: dict | None = None) -> str:
    """The state for a context ``percent`` full."""
    limits = thresholds(custom) if custom else THRESHOLDS
    state = "GREEN"
    for name in STATES[1:]:
        if percent >= limits[name]:
            state = name
    return state
