"""Token counting without a tokenizer: a conservative estimate.

Boot and hooks run at every session start, so they cannot afford to load a
BPE vocabulary. The estimate counts word pieces and punctuation the way BPE
tokenizers split them, rounding up; ``bench/bench_boot.py`` checks it against
real tokenizers (cl100k_base, o200k_base) and reports the ratio, which must
stay at or above 1.0 so a budget is never exceeded.
"""

from __future__ import annotations

import re

_PIECES = re.compile(r"[A-Za-z]+|[0-9]+|[^\sA-Za-z0-9]")


def estimate(text: str) -> int:
    count = 0
    for piece in _PIECES.findall(text):
        size = len(piece)
        if piece.isascii():
            # Letters: about one token per 4 characters; digits: per 3.
            count += 1 + (size - 1) // (3 if piece[0].isdigit() else 4)
        else:
            count += 2  # non-ASCII characters often take two or more tokens
    return count + text.count("\n") // 2
