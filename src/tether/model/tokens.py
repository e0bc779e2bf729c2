"""Token counting without a tokenizer: a conservative estimate.

Boot and hooks run at every session start, so they cannot afford to load a
BPE vocabulary. The estimate counts word pieces and punctuation the way BPE
tokenizers split them, rounding up; ``bench/bench_boot.py`` checks it against
real tokenizers (cl100k_base, o200k_base) and reports the ratio, which must
stay at or above 1.0 so a budget is never exceeded.
"""

from __future__ import annotations

# The pieces: runs of ASCII letters, runs of ASCII digits, and every other character that is not
# whitespace (str.isspace, as `re`'s \s): [A-Za-z]+|[0-9]+|[^\sA-Za-z0-9]. Letters: about one token
# per 4 characters; digits: per 3; other ASCII: one; other characters often take two or more.
# Counted over the text's bytes classed by one translate, not with `re` (which a warm session
# start does not otherwise load): each character not ASCII is one b"?" there.
_CLASSES = bytes(ord("a") if chr(i).isascii() and chr(i).isalpha() else ord("0") if chr(i) in "0123456789"
                 else ord(" ") if chr(i).isspace() else ord(".") for i in range(128)) + b"." * 128
_LETTERS = bytes.maketrans(b"0.", b"  ")  # the letter runs, apart
_DIGITS = bytes.maketrans(b"a.", b"  ")  # the digit runs, apart


def estimate(text: str) -> int:
    size = len(text)
    classes = text.encode("ascii", "replace").translate(_CLASSES)
    letters, digits = classes.count(b"a"), classes.count(b"0")
    count = 0
    for run in classes.translate(_LETTERS).split():
        count += 1 + (len(run) - 1) // 4
    for run in classes.translate(_DIGITS).split():
        count += 1 + (len(run) - 1) // 3
    ascii_other = size - letters - digits - classes.count(b" ")  # every character not ASCII counted in too
    if text.isascii():
        return count + ascii_other + text.count("\n") // 2
    wide = size - len(text.encode("ascii", "ignore"))  # the characters not ASCII
    wide_spaces = size - len("".join(text.split())) - classes.count(b" ")
    return count + (ascii_other - wide) + 2 * (wide - wide_spaces) + text.count("\n") // 2
