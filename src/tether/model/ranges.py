"""Sets of unit numbers as sorted, merged intervals: ``'1-400,402'`` is [(1, 400), (402, 402)].

A bulk task's progress is a few runs of done items whatever its size, so every
checkpoint works on intervals (cost: the number of runs) rather than on a set of
every item done (cost: the number of items, thousands, at each checkpoint).
"""

from __future__ import annotations

Intervals = list  # of (low, high) tuples, sorted, disjoint, not adjacent


def parse(text: str) -> Intervals:
    """'1-3,5' -> [(1, 3), (5, 5)]; raises ValueError on anything else."""
    out = []
    for part in str(text).split(","):
        part = part.strip()
        if not part:
            continue
        low, sep, high = part.partition("-")
        start, end = int(low), int(high) if sep else int(low)
        if start < 1 or end < start:
            raise ValueError(part)
        out.append((start, end))
    return _merged(out)


def of(numbers) -> Intervals:
    return _merged([(n, n) for n in numbers])


def _merged(pairs: list) -> Intervals:
    pairs.sort()
    out: Intervals = []
    for low, high in pairs:
        if out and low <= out[-1][1] + 1:
            if high > out[-1][1]:
                out[-1] = (out[-1][0], high)
        else:
            out.append((low, high))
    return out


def union(a: Intervals, b: Intervals) -> Intervals:
    return _merged(a + b) if b else a


def subtract(a: Intervals, b: Intervals) -> Intervals:
    if not b:
        return a
    out: Intervals = []
    for low, high in a:
        for cut_low, cut_high in b:
            if cut_high < low or cut_low > high:
                continue
            if cut_low > low:
                out.append((low, cut_low - 1))
            low = cut_high + 1
            if low > high:
                break
        if low <= high:
            out.append((low, high))
    return out


def clip(a: Intervals, low: int, high: int) -> Intervals:
    return [(max(lo, low), min(hi, high)) for lo, hi in a if hi >= low and lo <= high]


def count(a: Intervals) -> int:
    return sum(hi - lo + 1 for lo, hi in a)


def complement(a: Intervals, low: int, high: int) -> Intervals:
    return subtract([(low, high)], a) if high >= low else []


def numbers(a: Intervals) -> set[int]:
    return {n for lo, hi in a for n in range(lo, hi + 1)}


def fmt(a: Intervals) -> str:
    return ",".join(str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in a)
