"""Rendering under a hard token budget: fill by priority, say what was left out.

A brief is a list of sections. Each has a display position, a priority, a
heading, lines, and the command that shows everything it holds. Sections are
filled in priority order, line by line, until the budget is spent; anything
that did not fit is named in a closing line with the command that shows it.

No section has a fixed cap. Each section's first ``head`` lines fill at its
priority; then, in a second pass by the same priorities, the rest of each
section fills whatever budget is left. So a long list of gotchas cannot crowd
out the decisions, and a short brief never says "left out" while budget
remains. What boot did not read at all (``hidden``: the decisions beyond its
window) is counted in the same closing line, so the count stays honest. The
output never grows with history: boot reads bounded windows (core.boot).
"""

from __future__ import annotations

from ..errors import LinkRefused
from ..model.record import REQUIRED, Record
from ..model.tokens import estimate


class Section(Record):
    # priority: lower fills first; more: the command that shows all of it;
    # hidden: items boot did not read (beyond its window); head: lines filled at this priority
    # (None: all), the rest after every section's head; kept: lines that fit.
    FIELDS = {"key": REQUIRED, "heading": REQUIRED, "lines": REQUIRED, "priority": REQUIRED,
              "more": None, "hidden": 0, "head": None, "kept": list}


class Rendered(Record):
    # omitted: section key -> items left out; commands: section key -> command that shows them.
    FIELDS = {"text": REQUIRED, "tokens": REQUIRED, "omitted": REQUIRED, "commands": REQUIRED}


MIN_BUDGET = 100  # tokens: below it, not even the essential sections fit
# Sections up to this priority are what a new session cannot start without: the problems, the
# last session, the open tasks (the active one first). The title names the commit anyway.
ESSENTIAL = 3
COMPACT_RESERVE = 35  # the closing line that only names the sections left out
# Characters of one line of the brief at most: a task titled with a page of text must not push
# every open task out of it (the whole text is one command away: each section names it).
LINE_MAX = 500


def _fitted(line: str) -> str:
    return line if len(line) <= LINE_MAX else line[:LINE_MAX - 1].rstrip() + "…"


def render(title: str, sections: list[Section], budget: int, max_chars: int | None = None, say=None) -> Rendered:
    """``say``: the asking adapter's wording of the commands a line names (a function of the line;
    None: the command line's), applied before the budget is spent, so the budget holds for it."""
    reserve = 60  # room for the closing "left out" line
    used = estimate(title) + 1
    chars = len(title) + 1
    ordered = sorted(sections, key=lambda s: s.priority)
    for section in ordered:
        section.kept = []
        if say is not None:
            section.heading = say(section.heading) if section.heading else section.heading
            section.lines = [say(line) for line in section.lines]
        section.lines = [_fitted(line) for line in section.lines]
    # First every section's head, then the rest of each: (section, index of its first line, lines).
    passes = [(s, 0, s.lines if s.head is None else s.lines[:s.head]) for s in ordered]
    passes += [(s, s.head, s.lines[s.head:]) for s in ordered if s.head is not None and len(s.lines) > s.head]
    for section, start, lines in passes:
        if len(section.kept) < start:
            continue  # its head did not fit: its kept lines stay a prefix of its lines
        head_cost = estimate(section.heading) + 1 if section.heading else 0
        for line in lines:
            # +1: the line's newline (estimate counts one token per two newlines, rounded down).
            cost = estimate(line) + 1 + (head_cost if not section.kept else 0)
            size = len(line) + 1 + (len(section.heading or "") + 2 if not section.kept else 0)
            # An essential line may use the room of the full closing line: a shorter one will do.
            room = budget - (COMPACT_RESERVE if section.priority <= ESSENTIAL else reserve)
            if used + cost > room or (max_chars and chars + size > max_chars - 400):
                break
            section.kept.append(line)
            used += cost
            chars += size
    text, omitted, commands = _assemble(title, sections, say=say)
    # The closing line grows with what was left out and may outrun the reserve:
    # drop the lowest-priority lines until the whole brief fits the budget.
    # Before an essential line goes (a small budget, a long closing line), the closing line
    # shrinks to the sections' names, without their commands, then to their number.
    compact = 0  # 1: the sections' names only; 2: their number only
    while estimate(text) > budget:
        victim = max((s for s in sections if s.kept), key=lambda s: s.priority, default=None)
        if compact < 2 and (victim is None or victim.priority <= ESSENTIAL):
            compact += 1
        elif victim is not None:
            victim.kept.pop()
        else:
            break
        text, omitted, commands = _assemble(title, sections, compact, say)
    return Rendered(text=text, tokens=estimate(text), omitted=omitted, commands=commands)


def _assemble(title: str, sections: list[Section], compact: int = 0,
              say=None) -> tuple[str, dict[str, int], dict[str, str]]:
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
    closing = None
    if omitted and compact:
        named = ", ".join(k.replace("_", " ") for k in omitted) if compact == 1 else \
            f"{len(omitted)} section{'s' if len(omitted) > 1 else ''}"
        closing = f"Left out to fit the budget: {named} (`tether boot --budget 2000` shows them)."
    elif omitted:
        parts = [f"{n} {key.replace('_', ' ')}" + (f" (`{commands[key]}`)" if key in commands else "")
                 for key, n in omitted.items()]
        closing = "Left out to fit the budget: " + "; ".join(parts) + "."
    if closing:
        out += ["", say(closing) if say is not None else closing]
    return "\n".join(out) + "\n", omitted, commands


class Brief(Record):
    """A rendered brief. data: what the brief says (boot's --json fields); see session.gather."""

    FIELDS = {"data": REQUIRED, "rendered": REQUIRED, "budget": REQUIRED}

    @property
    def text(self) -> str:
        return self.rendered.text

    @property
    def degraded(self) -> bool:
        return bool(self.data["problems"])

    def to_dict(self) -> dict:
        return {**self.data, "degraded": self.degraded, "budget": self.budget, "tokens": self.rendered.tokens,
                "omitted": self.rendered.omitted, "omitted_commands": self.rendered.commands, "text": self.text}


def to_content(data: dict, sections: list[Section], default_budget: int) -> dict:
    """Plain values (what warm.brief_cache saves) from which ``from_content`` renders at any budget, once
    commit_lines.apply has added the title and the other parts that name the commit."""
    return {"data": data, "budget": default_budget,
            "sections": [(s.key, s.heading, s.lines, s.priority, s.more, s.hidden, s.head) for s in sections]}


def from_content(content: dict, budget: int | None, max_chars: int | None, say=None) -> Brief:
    budget = budget if budget is not None else content["budget"]
    if budget < MIN_BUDGET:
        from ..errors import InvalidInput

        raise InvalidInput(f"budget {budget} is too small for a brief",
                           hint=f"a brief needs a budget of {MIN_BUDGET} tokens or more (the default is {content['budget']})")
    sections = [Section(key, heading, list(lines), priority, more, hidden, head)
                for key, heading, lines, priority, more, hidden, head in content["sections"]]
    return Brief(content["data"], render(content["title"], sections, budget, max_chars, say), budget)


def for_session(content: dict, session: str | None) -> dict:
    """``content`` as the session ``session`` is told it: "Not closed" names no task whose newest
    checkpoint that session made, nor that session as one that recorded decisions or entries (it
    is running: that work is its own, not an earlier session's; the newest other session that
    recorded some is named instead). Applied at every boot, warm or not: the cached content is
    the same for every session."""
    data = content["data"]
    rows, recorded = data.get("since_close") or [], data.get("recorded_since_close") or []
    if not session or not any(row.get("session") == session for row in rows + recorded):
        return content
    kept = [row for row in rows if row.get("session") != session]
    others = [row for row in recorded if row.get("session") != session]
    from .sections import not_closed_lines

    lines_now = not_closed_lines(kept, others, bool(data.get("latest")))
    sections = [(key, heading, lines_now if key == "not_closed" else lines, priority, more, hidden, head)
                for key, heading, lines, priority, more, hidden, head in content["sections"]
                if key != "not_closed" or lines_now]
    return {**content, "data": {**data, "since_close": kept, "recorded_since_close": others}, "sections": sections}


def with_stale(content: dict, root_dir: str, store_dir: str) -> dict:
    """``content`` with a section naming the decisions and entries it shows whose cited code changed
    or is gone. Checked at every boot, warm or not (the code is no file the brief was built from),
    from the files' stat-kept blob ids (warm.anchors): no git process, and nothing at all to do
    when no memory shown cites code."""
    data = content["data"]
    shown = [("decision", d, d.get("question", "")) for d in data.get("decisions") or []]
    shown += [("entry", n, n.get("text", "")) for n in data.get("notes") or []]
    # each open task's resume point: where the next session starts, from code that may have moved
    shown += [("checkpoint", {"id": t.get("checkpoint"), "anchors": t.get("anchors"), "at": t.get("checkpoint_created")},
               f"{t.get('task')}: {t.get('current_state') or t.get('checkpoint_name')}")
              for t in data.get("tasks") or [] if t.get("checkpoint")]
    anchored = [(kind, row, text) for kind, row, text in shown if row.get("anchors")]
    if not anchored:
        return content
    from ..warm.anchors import Checker, warning

    check = Checker(root_dir, store_dir)
    lines, flagged = [], []
    for kind, row, text in anchored:
        # Commit counts only as an earlier listing kept them: boot starts no git process for this.
        flags = check.flags(row["anchors"], since=row.get("when") or row.get("at"), ask_git=False)
        if flags:
            lines.append(f"- {text} ({kind} {row.get('id')}): {warning(flags)}")
            flagged.append({"kind": kind, "id": row.get("id"), "flags": flags})
    check.save()
    if not lines:
        return content
    sections = list(content["sections"])
    at = next((i for i, s in enumerate(sections) if s[0] in ("campaign", "packets", "decisions", "learnings",
                                                               "notes", "reading_order", "plan", "teach")), len(sections))
    sections.insert(at, ("stale", "## May be stale: cited code changed since", lines, 5.8,
                         "tether verify --stale", 0, 3))
    return {**content, "data": {**data, "stale": flagged}, "sections": sections}


DRIVER_MISSING = ("tether's merge driver is not registered in this clone: {attributes} sends tether's generated"
                  " files and session contexts to it (merge=tether), but git config has no merge.tether.driver, so a merge"
                  " of two branches that both closed (or both changed a session context) conflicts on them. Run `tether init` once in this clone to register it.")


def merge_driver_state(root_dir: str, store_dir: str) -> str | None:
    """"missing" when the store's .gitattributes names tether's merge driver and git's config does
    not define it (a fresh clone: git config is never committed); "registered" when it does; None
    when the attributes name none or only git could tell. Read from the files, without git: boot
    asks at every session start (gitio.gitconfig)."""
    import os

    from ..gitio import gitconfig
    from ..store.layout import GITATTRIBUTES
    from ..store.nofollow import read_bytes

    try:
        attributes = read_bytes(os.path.join(store_dir, GITATTRIBUTES), store_dir)
    except (OSError, LinkRefused):
        return None
    if f"merge={gitconfig.MERGE_DRIVER}".encode() not in attributes:
        return None
    value = gitconfig.get(root_dir, f"merge.{gitconfig.MERGE_DRIVER}.driver")
    if value is False:
        return None
    return "registered" if value else "missing"


def with_setup(content: dict, root_dir: str, store_dir: str) -> dict:
    """``content`` with a line saying this clone lacks tether's merge driver, when it does: checked
    at every boot, warm or not (git config is no file the brief was built from), from the files."""
    state = merge_driver_state(root_dir, store_dir)
    data = {**content["data"], "merge_driver": state}
    if state != "missing":
        return {**content, "data": data}
    from ..store.layout import GITATTRIBUTES, STORE_DIR

    sections = list(content["sections"])
    at = next((i + 1 for i, s in enumerate(sections) if s[0] == "state"), 0)
    line = DRIVER_MISSING.format(attributes=f"{STORE_DIR}/{GITATTRIBUTES}")
    sections.insert(at, ("setup", None, [line], 3.6, None, 0, None))
    return {**content, "data": data, "sections": sections}


def from_cache(root_dir: str, store_dir: str, budget: int | None, max_chars: int | None,
               session: str | None = None, say=None) -> Brief | None:
    """The brief from boot's per-machine cache, rendered at ``budget`` for ``session`` (the one
    asking: for_session); None when boot must read the files. The warm path of every session
    start: it loads no store and no domain verbs."""
    from ..errors import GitProblem
    from ..gitio import refs
    from ..warm import brief_cache
    from . import commit_lines

    try:
        head, branch = refs.head_sha(root_dir), refs.current_branch(root_dir)
    except GitProblem:
        return None  # the full boot reports it
    content = brief_cache.load(store_dir, head, branch, root_dir)
    if content is None:
        return None
    return from_content(with_setup(with_stale(for_session(commit_lines.apply(content), session), root_dir, store_dir),
                                   root_dir, store_dir), budget, max_chars, say)
