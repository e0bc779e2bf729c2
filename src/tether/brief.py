"""Rendering under a hard token budget: fill by priority, say what was left out.

A brief is a list of sections. Each has a display position, a priority, a
heading, lines, and the command that shows everything it holds. Sections are
filled in priority order, line by line, until the budget is spent; anything
that did not fit is named in a closing line with the command that shows it.
The output never grows with history: every section is capped before it
reaches the budget.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .tokens import estimate


@dataclass
class Section:
    key: str
    heading: str | None
    lines: list[str]
    priority: int                 # lower fills first
    more: str | None = None       # command that shows all of it
    hidden: int = 0               # items left out before rendering (caps)
    kept: list[str] = field(default_factory=list)


@dataclass
class Rendered:
    text: str
    tokens: int
    omitted: dict[str, int]       # section key -> items left out
    commands: dict[str, str]      # section key -> command that shows them


def render(title: str, sections: list[Section], budget: int, max_chars: int | None = None) -> Rendered:
    reserve = 60  # room for the closing "left out" line
    used = estimate(title) + 1
    chars = len(title) + 1
    for section in sorted(sections, key=lambda s: s.priority):
        section.kept = []
        head_cost = estimate(section.heading) + 1 if section.heading else 0
        for line in section.lines:
            cost = estimate(line) + (head_cost if not section.kept else 0)
            size = len(line) + 1 + (len(section.heading or "") + 2 if not section.kept else 0)
            if used + cost > budget - reserve or (max_chars and chars + size > max_chars - 400):
                break
            section.kept.append(line)
            used += cost
            chars += size
    omitted = {s.key: len(s.lines) - len(s.kept) + s.hidden for s in sections if len(s.lines) - len(s.kept) + s.hidden}
    commands = {s.key: s.more for s in sections if s.key in omitted and s.more}
    out = [title]
    for section in sections:
        if not section.kept:
            continue
        out.append("")
        if section.heading:
            out.append(section.heading)
        out.extend(section.kept)
    if omitted:
        parts = [f"{n} {key.replace('_', ' ')}" + (f" (`{commands[key]}`)" if key in commands else "")
                 for key, n in omitted.items()]
        out += ["", "Left out to fit the budget: " + "; ".join(parts) + "."]
    text = "\n".join(out) + "\n"
    return Rendered(text=text, tokens=estimate(text), omitted=omitted, commands=commands)
