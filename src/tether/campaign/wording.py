"""How the scope checker reads a request's words: stems, stop words, negations, mentions of patterns."""

from __future__ import annotations

import re

_RX: dict[str, re.Pattern] = {}


def _rx(pattern: str) -> re.Pattern:
    if pattern not in _RX:
        _RX[pattern] = re.compile(r"(?<![\w@#/])(?:" + pattern + r")(?![\w])", re.I)
    return _RX[pattern]


STOP = frozenset("""
a an the and or but of to for in on at by with from into onto about as is are be been being was were it its this that
these those our we us you your they them their he she his her i me my so if then than too very just only also all any
each every some more most other such no not nor can could should would will shall may might must do does did done
have has had up out over under again once here there when where why how what which who whom new now one two per via
write create draft make add prepare build run put set get use say include mention generate produce give turn keep
post posts
""".split())
VERBISH = frozenset("write create draft make add prepare build run put set get use say include mention generate".split())
NEGATION = re.compile(r"\b(no|not|never|without|avoid\w*|don'?t|do not|doesn'?t|exclud\w*|except|instead of|"
                      r"rather than|skip\w*|leave)\b", re.I)
CLAUSE_BREAK = re.compile(r"[.;:!?]|\s[-–—]\s|,\s*(but|and then)\b|\bbut\b", re.I)


def stem(word: str) -> str:
    word = word.lower().strip("'’")
    if word.endswith("'s") or word.endswith("’s"):
        word = word[:-2]
    for suffix, keep in (("ies", 4), ("ing", 5), ("ed", 5), ("es", 5), ("s", 4)):
        if word.endswith(suffix) and len(word) >= keep + len(suffix) - 1:
            return word[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return word


def bare(word: str) -> str:
    """Lower case without a possessive: "Yield.xyz's" -> "yield.xyz"."""
    return re.sub(r"['’]s$", "", word.lower())


def split_words(text: str) -> list[str]:
    return re.findall(r"[A-Za-z][\w.'’-]*[\w]|[A-Za-z]", text)


def content_stems(text: str) -> set[str]:
    return {stem(w) for w in split_words(text) if w.lower() not in STOP and len(w) > 1}


def negated(text: str, start: int) -> bool:
    """Is the mention at ``start`` under a negation in its own clause?"""
    head = text[:start]
    breaks = list(CLAUSE_BREAK.finditer(head))
    clause = head[breaks[-1].end():] if breaks else head
    words = clause.split()[-5:]
    if not words:
        return False
    window = " ".join(words)
    hit = NEGATION.search(window)
    if not hit:
        return False
    if hit.group(1).lower() == "leave":  # "leave pricing out": only with its "out"
        return re.search(r"^\W*\w+(\s+\w+)?\s+out\b", text[start:], re.I) is not None
    return True


def mentions(text: str, patterns: dict[str, str], negations: bool = True) -> list[tuple[str, int, int]]:
    """Non-negated (name, start, end) hits; where hits overlap, the longest wins."""
    hits = []
    for name, pattern in patterns.items():
        for match in _rx(pattern).finditer(text):
            hits.append((name, match.start(), match.end()))
    hits.sort(key=lambda h: (h[1], -(h[2] - h[1])))
    out, last_end = [], -1
    for hit in hits:
        if hit[1] < last_end:
            continue
        last_end = hit[2]
        if not (negations and negated(text, hit[1])):
            out.append(hit)
    return out
