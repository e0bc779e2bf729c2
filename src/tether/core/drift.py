"""Goal drift after a compaction (seed 001): does the summary the session goes on from still
hold the task it was working on?

Compares a summary (Claude Code's own compact summary, or tether's) with the active task's
title, definition, success criteria and open items, and with the decisions recorded. No model:
each indicator says what it found and how, so a person can judge it.

- ``objective``: none of the words that name the task (its title, then its definition and
  criteria) appear in the summary.
- ``completion``: the summary says the work is done while items or steps remain open.
- ``decided``: the summary asks, or calls open, a question a recorded decision answered.

Pure: the caller passes the task, its open units and the decisions in.
"""

from __future__ import annotations

import re

# Words that say nothing of what a task is about.
_STOP = frozenset("""
a about above after again all also am an and any are as at be because been before being below between both but by can
could did do does doing done down during each few for from further had has have having he her here hers him his how i if
in into is it its itself just me more most my no nor not now of off on once only or other our out over own same she
should so some such than that the their them then there these they this those through to too under until up very was we
were what when where which while who whom why will with would you your yours task tasks work working make makes made
use used using new get got item items step steps file files one two three first next last every need needs needed let
""".split())

_COMPLETION = re.compile(
    r"\b(?:all (?:of )?(?:the )?(?:items|steps|tasks|work|documents|docs|files)(?: \w+)? (?:are|is|were|have been|has been)"
    r" (?:now )?(?:done|complete|completed|finished|processed)"
    r"|(?:the )?task (?:is |was |has been )?(?:now )?(?:complete|completed|done|finished)"
    r"|(?:everything|all work) (?:is |was |has been )?(?:now )?(?:done|complete|completed|finished)"
    r"|(?:completed|finished) (?:all|every|the (?:whole|entire) task|everything)"
    r"|nothing (?:is )?(?:left|remaining) to do"
    r"|no (?:remaining|open|pending) (?:items|steps|work|tasks))\b", re.IGNORECASE)

_OPEN_QUESTION = re.compile(
    r"\?|\b(?:need(?:s|ed)? to (?:decide|choose|confirm|clarify|pick|settle|determine)|(?:still )?undecided|unclear"
    r"|open question|pending decision|to be decided|tbd|not (?:yet )?(?:decided|settled|chosen)"
    r"|should (?:we|i)|ask the user|waiting (?:for|on) (?:the user|a decision|confirmation))\b", re.IGNORECASE)

_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_+#.-]*[A-Za-z0-9+#]|[A-Za-z]")


class Indicator:
    """One sign of drift: its kind, what was found, and how."""

    __slots__ = ("kind", "message", "how", "evidence")

    def __init__(self, kind: str, message: str, how: str, evidence: str = ""):
        self.kind, self.message, self.how, self.evidence = kind, message, how, evidence

    def as_dict(self) -> dict:
        return {"kind": self.kind, "message": self.message, "how": self.how, "evidence": self.evidence}

    def __repr__(self):
        return f"Indicator({self.kind!r}, {self.message!r})"


def terms(text: str) -> set[str]:
    """The words of ``text`` that can name what a task is about, lowercased and stemmed."""
    return set(_words(text))


def _words(text: str) -> dict[str, str]:
    """stem -> the word as first written, for each word of ``text`` that can name a task."""
    out: dict[str, str] = {}
    for word in _WORD.findall(text):
        low = word.lower()
        if len(low) > 2 and low not in _STOP:
            out.setdefault(_stem(low), low)
    return out


def _stem(word: str) -> str:
    word = word.strip(".-")
    for suffix in ("ing", "ies", "es", "ed", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4 and not (suffix == "s" and word.endswith("ss")):
            word = word[: -len(suffix)] + ("y" if suffix == "ies" else "")
            break
    return word[:-1] if word.endswith("e") and len(word) > 4 else word


def check(summary: str, *, title: str, definition: str = "", criteria=(), open_units=(), unit_name: str = "item",
          total_units: int = 0, decisions=(), task_id: str | None = None) -> list[Indicator]:
    """The drift indicators of ``summary`` against the task; ``decisions``: (id, question,
    decision, when) of each recorded decision, newest first. A summary that names ``task_id``
    holds the objective: the id is the task, as `tether resume ID` gives it back."""
    found: list[Indicator] = []
    said = terms(summary)
    title_words = _words(title)
    named = set(title_words)
    described = terms(" ".join([definition, *criteria])) - named
    by_id = bool(task_id) and re.search(rf"(?<![\w-]){re.escape(task_id)}(?![\w-])", summary) is not None
    if (named or described) and not by_id:
        hits_named = sorted(named & said)
        hits_described = sorted(described & said)
        share = len(hits_described) / len(described) if described else 0.0
        if not hits_named and (not described or share < 0.25):
            shown = ", ".join(f"'{title_words[w]}'" for w in sorted(named)[:6]) \
                or ", ".join(f"'{w}'" for w in sorted(described)[:6])
            found.append(Indicator(
                "objective", f"the objective is no longer mentioned: none of {shown} appears in the summary",
                f"compared the {len(named)} word(s) of the task's title and the {len(described)} of its definition"
                f" and criteria with the summary's words ({len(hits_described)} of the latter found)"))
    open_units = list(open_units)
    if open_units:
        claim = _COMPLETION.search(summary)
        if claim:
            plural = f"{unit_name}s" if len(open_units) != 1 else unit_name
            of = f" of {total_units}" if total_units else ""
            found.append(Indicator(
                "completion", f"completion is claimed (\"{claim.group(0)}\") while {len(open_units)}{of} {plural}"
                              f" {'remains' if len(open_units) == 1 else 'remain'} open (next: {open_units[0]})",
                "a phrase that says the work is done, against the task's open items or steps",
                _sentence(summary, claim.start())))
    for sentence in _sentences(summary):
        if not _OPEN_QUESTION.search(sentence):
            continue
        asked = terms(sentence)
        for dec_id, question, decision, when in decisions:
            about = terms(question) | terms(decision)
            shared = asked & about
            if len(shared) >= 2 or (about and len(shared) / len(about) >= 0.5 and shared):
                found.append(Indicator(
                    "decided", f"asks again what {dec_id} decided ({when[:10]}): {question} -> {decision}",
                    f"a question or an open point in the summary sharing {len(shared)} word(s)"
                    f" ({', '.join(sorted(shared)[:5])}) with the decision", sentence.strip()[:300]))
                break
    return found


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.?!])\s+|\n+", text) if s.strip()]


def _sentence(text: str, at: int) -> str:
    start = max(text.rfind(".", 0, at), text.rfind("\n", 0, at)) + 1
    end_candidates = [i for i in (text.find(".", at), text.find("\n", at)) if i >= 0]
    end = min(end_candidates) + 1 if end_candidates else len(text)
    return text[start:end].strip()[:300]
