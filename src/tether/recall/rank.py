"""What a query means to the index, and how many hits fit a budget. Pure."""

from __future__ import annotations

import re

from ..model import tokens

LIMIT = 8  # hits, by default: enough to find the fact, few enough never to flood a context
MAX_LIMIT = 1000  # hits at most: a search is for a context, not an export
BUDGET = 1200  # estimated tokens of all hits together, by default
SNIPPET = 48  # words of a hit's excerpt at most
SNIPPET_TOKENS = 100  # and estimated tokens: words of base64 or hashes cost many each
LONG_WORD = 40  # characters: an unbroken token longer than this (a hash, base64) is shortened in an excerpt
MODES = ("lexical", "semantic", "hybrid")
# Reciprocal rank fusion of the two tiers (tuned on LoCoMo conversations 1-5 only): each list
# is read this deep, and a record scores the sum over the lists of weight / (K + its rank).
FUSE_DEPTH = 50
FUSE_K = 10  # small: the top of either list counts far more than its middle
FUSE_WEIGHTS = {"lexical": 1.0, "semantic": 0.5}
# BM25's weight of each indexed field: title, body, neighbours, date. The title counts twice the
# body. A note's neighbours (the notes written just before and after it, extract.NEIGHBOURS_*) and
# the date it was written in words (extract.date_words) count about a third: a record holding the
# query's words itself comes first, one whose words make sense only beside its neighbours still
# matches, and a query naming a month or a day puts that time's records first among equals (tuned
# on LoCoMo conversations 1-5, where 0.25-0.5 all gave about the same).
BM25_WEIGHTS = (2.0, 1.0, 0.35, 0.35)
# A note is lifted by the best match of its sitting (the notes written one after the other, each
# within an hour of the one before: extract.SITTING): its lexical score plus SITTING_LIFT times the
# best score among the sitting's notes that match (its own when alone or the best). A question's
# answer often sits in the same exchange as the note that holds most of its words, a few turns away
# and sharing only one of them: that note then outranks one holding the same word in an unrelated
# sitting. Read SITTING_DEPTH deep: the matches beyond are too weak to lift (tuned on LoCoMo
# conversations 1-5, where 0.5-0.8 all paid about the same).
SITTING_LIFT = 0.6
SITTING_DEPTH = 50
# A record whose author the query names ("what did ann decide about the cache": a decision or an
# entry written by "@ann" or "Ann") has its BM25 counted AUTHOR_LIFT more, before the sittings
# lift: among records that match the query's other words alike, the named author's come first,
# while one that matches them far better still outranks them. The name need not be in the text
# (an entry's author is its `by`, not its words), and where it is, in a log that names the same
# few people in most records, BM25 gives it next to nothing (tuned on LoCoMo conversations 1-5,
# where 0.2-0.5 all paid about the same).
AUTHOR_LIFT = 0.3
# Curated records (what someone chose to keep: decisions, context entries, checkpoints, tasks,
# packets, progress, campaigns) outrank bulk ones (whatever compaction stored) at comparable
# relevance: the BM25 score of a bulk kind is multiplied by its factor. FTS5's BM25 (k1 1.2)
# gives one word at most k1 + 1 = 2.2 times what one occurrence of it gives in a record of
# average length, however often a piece repeats it; below 1 / 2.2 the factor makes a curated
# record holding the query's words once outrank a bulk piece holding the same words any number
# of times, while a bulk piece holding more of the query's words, or rarer ones, still can.
KIND_WEIGHTS = {"offloaded": 0.4, "conversation": 0.4}
_WORD = re.compile(r"[^\W_]+", re.U)
# Words that match nearly every record: they cost time and add nothing to BM25's ranking.
STOP = frozenset("""a about after again all also am an and any are as at be been before being both but by can
could did do does doing for from had has have having he her here hers him his how i if in into is it its
me my no nor not of on or our ours out over she should so some such than that the their theirs them then
there these they this those through to too under until up very was we were what when where which while who
whom why will with would you your yours""".split())


def words_of(query: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(query)]


def match_expression(query: str) -> str | None:
    """An FTS5 MATCH expression: any of the query's words but the stop words (BM25 ranks records
    with more and rarer ones first), each quoted so no word is read as an operator; None when no
    word is left (none, or only stop words: those match nearly everything, ranked by chance)."""
    kept = [w for w in words_of(query) if w not in STOP]
    unique = list(dict.fromkeys(kept))
    return " OR ".join(f'"{w}"' for w in unique) if unique else None


def fuse(lists: dict[str, list], k: int = FUSE_K, weights: dict | None = None) -> list[tuple[object, float]]:
    """Reciprocal rank fusion: (key, score) of every key in any list, best first. ``lists``: tier
    name -> keys best first. Ties keep the order of first appearance (the lexical list first)."""
    weights = FUSE_WEIGHTS if weights is None else weights
    scores: dict = {}
    for name, keys in lists.items():
        weight = weights.get(name, 1.0)
        for rank_, key in enumerate(keys, 1):
            scores[key] = scores.get(key, 0.0) + weight / (k + rank_)
    return sorted(scores.items(), key=lambda item: -item[1])


def authors_named(query: str, authors) -> set:
    """Of ``authors`` (the ``who`` of records), those the query names: every word of the name, in
    order and as whole words ("@ann" by "ann", "Ann Lee" by "ann lee"), case aside."""
    said = words_of(query)
    named = set()
    for who in authors:
        name = words_of(who or "")
        if name and any(said[i:i + len(name)] == name for i in range(len(said) - len(name) + 1)):
            named.add(who)
    return named


def lift_authors(candidates: list[tuple], named: set) -> list[tuple]:
    """``candidates`` (key, score, sitting, who), best first, each score (BM25, lower is better)
    times 1 + AUTHOR_LIFT when its author is in ``named``; (key, score, sitting) best first."""
    if not named:
        return [(key, score, sitting) for key, score, sitting, _ in candidates]
    lifted = [(key, score * (1 + AUTHOR_LIFT) if who in named else score, sitting)
              for key, score, sitting, who in candidates]
    return sorted(lifted, key=lambda item: item[1])


def lift_sittings(candidates: list[tuple]) -> list[tuple[object, float]]:
    """(key, score) best first, each score (BM25, lower is better) plus SITTING_LIFT times the best
    score of its sitting. ``candidates``: (key, score, sitting) best first; a sitting of None is
    the record's own (it lifts itself, so scores stay comparable). Ties keep the given order."""
    best: dict = {}
    for key, score, sitting in candidates:
        group = key if sitting is None else sitting
        if group not in best or score < best[group]:
            best[group] = score
    lifted = [(key, score + SITTING_LIFT * best[key if sitting is None else sitting])
              for key, score, sitting in candidates]
    return sorted(lifted, key=lambda item: item[1])


def fit(hits: list[dict], limit: int, budget: int) -> tuple[list[dict], int, bool]:
    """The best hits that fit: at most ``limit``, their estimated tokens within ``budget`` (the
    first is always kept, cut to fit). Returns (hits, tokens used, whether any was left out)."""
    kept, used = [], 0
    for hit in hits[:limit]:
        cost = tokens.estimate(hit["title"]) + tokens.estimate(hit["text"]) + 24  # 24: provenance line
        if used + cost > budget:
            if kept:
                return kept, used, True
            room = max(8, budget - 24 - tokens.estimate(hit["title"]))
            hit = dict(hit, text=_cut(hit["text"], room))
            cost = tokens.estimate(hit["title"]) + tokens.estimate(hit["text"]) + 24
        kept.append(hit)
        used += cost
    return kept, used, len(hits) > len(kept)


def _cut(text: str, room: int) -> str:
    words = text.split()
    while words and tokens.estimate(" ".join(words)) > room:
        words = words[: max(1, len(words) * 3 // 4)] if len(words) > 1 else []
    return " ".join(words) + " …"


def _stems(expression: str | None) -> list[str]:
    """The query's words as an excerpt looks for them: quoted in ``expression``, each cut to a
    rough stem ("retries" and "retrying" hold "retr") as FTS5's Porter stemmer matched them."""
    out = []
    for word in re.findall(r'"([^"]+)"', expression or ""):
        for suffix in ("ing", "ies", "ed", "es", "s", "y", "e"):
            if word.endswith(suffix) and len(word) - len(suffix) >= 3:
                word = word[: -len(suffix)]
                break
        out.append(word)
    return out


def best_line(text: str, expression: str | None) -> int | None:
    """The line of ``text`` (0 for its first) that holds the most of the query's words, the first
    of those that hold as many; with none, its first line that is not blank; None when all are."""
    stems = _stems(expression)
    best, most = None, 0
    for number, line in enumerate(text.split("\n")):
        if not line.strip():
            continue
        if best is None:
            best = number
        low = line.lower()
        held = sum(1 for stem in stems if stem in low)
        if held > most:
            best, most = number, held
    return best


def excerpt(text: str, expression: str | None, size: int = SNIPPET, most: int = SNIPPET_TOKENS,
            line: int | None = None) -> str:
    """At most ``size`` words and about ``most`` estimated tokens of a record, around its first
    word of the query, on one line; a word over LONG_WORD characters is cut with an ellipsis.
    ``line`` (best_line's): around that line's first word of the query, from that line on."""
    first = 0  # the first word the excerpt may start at
    if line:
        first = len(" ".join(text.split("\n")[:line]).split())
    words = [w if len(w) <= LONG_WORD else w[:LONG_WORD - 8] + "…" for w in text.split()]
    stems = _stems(expression)
    at = next((i for i, w in enumerate(words[first:], first) if any(q in w.lower() for q in stems)), first) \
        if stems else first
    start = max(first, min(at - size // 4, len(words) - size))
    end = min(len(words), start + size)
    cost = [tokens.estimate(w) for w in words[start:end]]
    total = sum(cost)
    while total > most and end - 1 > at:  # the end first: the words after the match matter least
        end -= 1
        total -= cost[end - start]
    while total > most and start < at:
        total -= cost.pop(0)
        start += 1
    return ("… " if start else "") + " ".join(words[start:end]) + (" …" if end < len(words) else "")
