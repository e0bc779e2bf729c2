"""Counting tokens in transcript text: exact with tiktoken, or a fast estimate.

Exact counts use tiktoken's encodings (``o200k_base`` for GPT-4o, GPT-5 and Codex models,
``cl100k_base`` for older GPT-4 models). Claude's tokenizer is not public: for Claude text an
exact tiktoken count is a close proxy, and the transcript's own usage figures are the truth.

tiktoken is imported only when an exact count is asked for. Its vocabulary files come from,
first to last: a directory of ``<encoding>.tiktoken`` files (the ``directory`` argument or
``TETHER_TIKTOKEN_DIR``), checked against the hash tiktoken pins for them; tiktoken's own
cache (``TIKTOKEN_CACHE_DIR``); or tiktoken's download.

:func:`estimate` is a central estimate: it counts word pieces, digit groups, punctuation,
whitespace runs and non-ASCII characters the way BPE splits them, with weights fitted on the
sample transcripts in ``../shared/bench/transcripts`` against o200k_base. ``bench/bench_transcripts.py``
measures its error. Its counts are defined here in Python; ``_counts.c`` counts the same in C,
several times faster, and is used where pip could build it (a C compiler at install; without
one, tether installs without it). ``tests/test_token_estimate.py`` runs every check on both.
``tether.tokens.estimate``, which the boot brief uses, is a different
tool: an upper bound, so a budget is never exceeded; it overestimates transcripts.
"""

from __future__ import annotations

import os
import re
import threading

from .records import CONTENT, TOOL_USE

ENCODINGS = ("o200k_base", "cl100k_base")
DEFAULT_ENCODING = "o200k_base"

try:  # the counts in C, when pip could build them (_counts.c); the same counts as below
    from . import _counts as _native
except ImportError:
    _native = None


def _table(byte_class) -> bytes:
    return bytes(byte_class(i) for i in range(256))


# Each class of bytes (letters, digits, whitespace) is read as the bits of one integer: the text
# translated to "0" and "1" (or base-4 digits) and parsed with int(), which is one pass; the
# counts are then a few dozen operations on integers of an eighth of the text's size, where
# each bytes.count or regular expression would be another pass over all of it. The first byte
# is the highest bit, so ``bits >> 1`` holds, at each byte's place, the byte before it.
_LETTER_BITS = _table(lambda i: 49 if 65 <= i <= 90 or 97 <= i <= 122 else 48)
_DIGIT_BITS = _table(lambda i: 49 if 48 <= i <= 57 else 48)
_SPACE_DIGITS = _table(lambda i: 49 if i == 32 else 51 if 9 <= i <= 13 else 48)  # base 4: 1 space, 3 other
_PUNCTUATION = bytes(range(33, 48)) + bytes(range(58, 65)) + bytes(range(91, 97)) + bytes(range(123, 127))
_NOT_LEAD_BYTES = bytes(range(0xC0))


def estimate(text: str) -> int:
    """Estimated tokens in ``text``, without a tokenizer."""
    if not text:
        return 0
    if _native is not None:
        return _weighed(*_native.parts(text)[:4])
    data = text.encode("utf-8", "surrogatepass")
    count, punctuation, non_ascii = _counted(data, text.isascii())
    return _weighed(count, punctuation, data.count(b"\n"), non_ascii)


def _weighed(count: int, punctuation: int, breaks: int, non_ascii: int) -> int:
    """The estimate from what it adds up: the weights, fitted (see the module's doc), rounded."""
    return count + int(0.6 * punctuation + 0.3 * breaks + 2.0 * non_ascii + 0.5)


def _counted(data: bytes, ascii_only: bool) -> tuple[int, int, int]:
    """(words, digit groups and whitespace runs counted; punctuation bytes; non-ASCII characters)
    of ``data``, the UTF-8 of a text."""
    if not data:
        return 0, 0, 0
    # Words: one token up to 8 letters, then about one more every 4 letters: a run of n >= 9 adds
    # (n - 5) // 4. The letters at offsets 0, 4, 8... of a run are (n - 1) // 4 + 1 of them;
    # less the one at offset 4 of each run of 5 or more, that is 1 + (n - 5) // 4.
    every, fourth = _every(int(data.translate(_LETTER_BITS).decode("ascii"), 2), 4)
    count = every.bit_count() - fourth.bit_count()
    # Digits go in groups of up to 3: those at offsets 0, 3, 6... of a run, ceil(n / 3) of them.
    digits = int(data.translate(_DIGIT_BITS).decode("ascii"), 2)
    if digits:
        count += _every(digits, 3)[0].bit_count()
    # Runs of whitespace other than one space (indentation, line breaks) are a token each; a
    # single space between two words is not: the runs that start with a line break or a tab,
    # and those of a space followed by more whitespace. Two bits a byte: the low one whitespace,
    # the high one whitespace other than a space.
    pairs = int(data.translate(_SPACE_DIGITS).decode("ascii"), 4)
    if pairs:
        space = pairs & int.from_bytes(b"\x55" * ((len(data) + 3) // 4), "big")
        count += (space & ~(space >> 2) & ((pairs >> 1) | (space << 2))).bit_count()
    punctuation = len(data) - len(data.translate(None, _PUNCTUATION))   # runs of it merge
    # Non-ASCII characters, often 2+ tokens each: one UTF-8 lead byte (0xC0 and up) per character.
    non_ascii = 0 if ascii_only else len(data.translate(None, _NOT_LEAD_BYTES))
    return count, punctuation, non_ascii


def _every(bits: int, step: int) -> tuple[int, int]:
    """(the set bits at offsets 0, step, 2 step... of each run of set bits, counted from the run's
    highest bit; those at offset step). By doubling: the bits at offsets span to 2 span - 1 are
    those up to span - 1 shifted by span, where the run goes on that far; so the rounds grow
    with the logarithm of the longest run, not with its length."""
    starts = bits & ~(bits >> 1)
    ending = bits  # the bits that end a run of ``span`` set bits
    for shift in range(1, step):
        ending &= bits >> shift
    at_step = (starts >> step) & ending
    found = starts | at_step
    span = step
    while True:
        ending &= ending >> span
        span *= 2
        if not ending:
            return found, at_step
        found |= (found >> span) & ending


_WHITESPACE = frozenset(b" \t\n\x0b\x0c\r")


def _parts(text: str) -> tuple:
    """What :func:`estimate` adds up for ``text``, before the weighted terms are rounded: (count,
    punctuation, line breaks, non-ASCII characters, whether its leading whitespace run is counted,
    whether its trailing one is, whether it is all whitespace)."""
    if _native is not None:
        return _native.parts(text)
    return _python_parts(text)


def _python_parts(text: str) -> tuple:
    """:func:`_parts`, in Python."""
    if not text:
        return 0, 0, 0, 0, 0, 0, True
    data = text.encode("utf-8", "surrogatepass")
    count, punctuation, non_ascii = _counted(data, text.isascii())
    # A whitespace run is counted when it starts with a line break or a tab, or is a space and more.
    first = data[0]
    lead = int(first in _WHITESPACE and (first != 32 or (len(data) > 1 and data[1] in _WHITESPACE)))
    end = len(data)
    while end and data[end - 1] in _WHITESPACE and len(data) - end < 256:
        end -= 1
    if end and data[end - 1] in _WHITESPACE:  # a long trailing run
        end = len(data.rstrip(b" \t\n\x0b\x0c\r"))
    if end == len(data):
        trail = 0
    else:
        first = data[end]
        trail = int(first != 32 or len(data) - end > 1)
    return count, punctuation, data.count(b"\n"), non_ascii, lead, trail, end == 0


def estimate_joined(texts: list, alone_from: int | None = None) -> tuple[int, dict]:
    """``estimate("\\n".join(texts))``, exactly, and the estimate of each text of ``alone_from``
    characters or more (index -> tokens), counted on its own: the whole is summed from the parts of those
    texts and of the runs of the others joined (see :class:`Joined`)."""
    if _native is not None:
        count, punctuation, breaks, non_ascii, alone = _native.joined(texts, alone_from)
        total = _weighed(count, punctuation, breaks, non_ascii) if texts else 0
        return total, {i: _weighed(c, p, n, u) if texts[i] else 0 for i, c, p, n, u in alone}
    joined = Joined()
    singles: dict = {}
    run: list = []
    for index, text in enumerate(texts):
        if alone_from is not None and len(text) >= alone_from:
            if run:
                joined.add("\n".join(run))
                run = []
            parts = joined.add(text)
            singles[index] = _weighed(*parts[:4]) if text else 0
        else:
            run.append(text)
    if run:
        joined.add("\n".join(run))
    return joined.total(), singles


class Joined:
    """``estimate("\\n".join(texts))`` of texts given one at a time, none of them kept: a long list
    is counted as it is read. What the estimate counts is a sum over words, digit groups and
    whitespace runs, which a line break between two texts separates, except the whitespace runs
    it joins: the one it makes at each join is counted once, in place of the trailing and leading
    runs (or whole blank texts) it merges. Each text is read whole, so many small ones are
    better given joined (by a line break) as one."""

    __slots__ = ("count", "punctuation", "breaks", "non_ascii", "pending", "unclosed", "pieces")

    def __init__(self):
        self.count = self.punctuation = self.breaks = self.non_ascii = 0
        self.pending = 0  # the counted pieces of the whitespace run open at the join
        self.unclosed = False
        self.pieces = 0

    def add(self, text: str) -> tuple:
        """Count ``text`` in, after a line break; its parts (see _parts)."""
        parts = c, p, n, u, lead, trail, blank = _parts(text)
        self.count += c
        self.punctuation += p
        self.breaks += n
        self.non_ascii += u
        self.pieces += 1
        if self.pieces == 1:
            self.pending = lead if blank else trail
            return parts
        self.breaks += 1
        if blank:
            self.pending += lead
            self.unclosed = True
            return parts
        self.count += 1 - self.pending - lead
        self.pending = trail
        self.unclosed = False
        return parts

    def total(self) -> int:
        """The estimate of the texts added, joined."""
        if not self.pieces:
            return 0
        count = self.count + (1 - self.pending if self.unclosed else 0)
        return _weighed(count, self.punctuation, self.breaks, self.non_ascii)


def strings(value) -> list:
    """Every string inside a JSON value, depth first. A list, gathered by plain recursion:
    a generator per level costs more than the strings' counting."""
    if _native is not None:
        return _native.strings(value)
    out: list = []
    if isinstance(value, str):
        out.append(value)
    elif isinstance(value, (dict, list)):
        _gather(value, out.append)
    return out


def _gather(container, add) -> None:
    for v in (container.values() if isinstance(container, dict) else container):
        if isinstance(v, str):
            add(v)
        elif isinstance(v, (dict, list)):
            _gather(v, add)


# An image's cost to the model: a provider bills it by its pixels once resized (Anthropic's
# bound for the largest image it keeps), never by the length of its base64 text.
IMAGE_TOKENS = 1600
_IMAGE_TYPES = frozenset(("image", "image_url", "input_image"))


def is_image(block: dict) -> bool:
    """Whether a content block is an image sent inline (base64 or a data: URL): Anthropic's
    ``image`` with a base64 ``source``, OpenAI's ``image_url`` and the Responses API's ``input_image``."""
    kind = block.get("type")
    if kind == "image":
        source = block.get("source")
        return isinstance(source, dict) and isinstance(source.get("data"), str)
    url = block.get("image_url")
    if isinstance(url, dict):
        url = url.get("url")
    return isinstance(url, str) and url.startswith("data:")


_PDF_TYPES = frozenset(("document", "file", "input_file"))
_MEDIA_TYPES = _IMAGE_TYPES | _PDF_TYPES
# A page object's type: `/Type /Page` with any whitespace (or none) between, and the name ending
# there (`/Pages` is the page tree, not a page).
_PAGE = re.compile(rb"/Type\s*/Page(?![^\s()<>\[\]{}/%])")


def inline_pdf(block: dict) -> str | None:
    """The base64 text of a PDF sent inline in a content block, else None: Anthropic's ``document``
    with a base64 ``source``, OpenAI's ``file`` part whose ``file.file_data`` is a data: URL, and
    the Responses API's ``input_file`` whose ``file_data`` is one."""
    kind = block.get("type")
    if kind == "document":
        source = block.get("source")
        if isinstance(source, dict) and source.get("type") == "base64" and isinstance(source.get("data"), str):
            return source["data"]  # a "text" source is text the model reads as such: counted as text
        return None
    holder = block.get("file") if kind == "file" else block
    data = holder.get("file_data") if isinstance(holder, dict) else None
    if isinstance(data, str) and data.startswith("data:"):
        return data.partition(",")[2]
    return None


def pdf_pages(data: str) -> int:
    """The pages of a PDF given as base64 text: its page objects, at least 1 (a PDF whose pages sit
    in compressed object streams shows none); 1 for text that is not base64."""
    import base64
    import binascii

    try:
        raw = base64.b64decode("".join(data.split()), validate=True)
    except (binascii.Error, ValueError):
        return 1
    return max(1, len(_PAGE.findall(raw)))


def media_units(block: dict) -> int:
    """What an inline content block costs the model in images: 1 for an image (is_image), one per
    page for a PDF (inline_pdf), 0 for any other block. A provider bills a PDF page as an image of
    the page plus the page's text; the text is not known without reading the PDF, so a page counts
    IMAGE_TOKENS, never the length of its base64 text."""
    kind = block.get("type")
    if type(kind) is not str or kind not in _MEDIA_TYPES:  # any JSON value may be there
        return 0
    if kind in _IMAGE_TYPES:
        return 1 if is_image(block) else 0
    data = inline_pdf(block)
    return 0 if data is None else pdf_pages(data)


def counted_strings(value) -> tuple[list, int]:
    """(every string inside a JSON value but those of inline images and PDFs, what those cost in
    images: one each image, one each PDF page, see media_units), for counting tokens: their base64
    text would count as tens of thousands of tokens. The second figure times IMAGE_TOKENS is their
    tokens."""
    if _native is not None:
        # the walk in C, each block of a media type held whole in its place, then judged here
        found, held = _native.strings_but(value, _MEDIA_TYPES)
        if not held:
            return found, 0
        out, images = [], 0
        for item in found:
            if not isinstance(item, dict):
                out.append(item)
                continue
            units = media_units(item)
            if units:
                images += units
            else:  # a media type's name on something else: its strings, as any dict's
                texts, more = counted_strings(list(item.values()))
                out += texts
                images += more
        return out, images
    return _python_counted_strings(value)


def _python_counted_strings(value) -> tuple[list, int]:
    """:func:`counted_strings`, walked in Python."""
    out: list = []
    if isinstance(value, str):
        return [value], 0
    if not isinstance(value, (dict, list)):
        return out, 0
    images = [0]

    def walk(container) -> None:
        if isinstance(container, dict):
            kind = container.get("type")
            if type(kind) is str and kind in _MEDIA_TYPES:
                units = media_units(container)
                if units:
                    images[0] += units
                    return
            values = container.values()
        else:
            values = container
        for v in values:
            if isinstance(v, str):
                out.append(v)
            elif isinstance(v, (dict, list)):
                walk(v)

    walk(value)
    return out, images[0]


def list_tokens(values, count) -> int:
    """Tokens of a chat message list as a model is sent it and `tether compact` judges it: every
    string of ``values`` (its messages, then a request's ``system`` prompt: content, tool calls and
    results, and the roles, ids and other fields; an inline image as IMAGE_TOKENS and an inline
    PDF as IMAGE_TOKENS a page, not their base64 text), joined by line breaks and counted as one text
    (compaction.api.Compactor.tokens counts the same, faster, for the tiers). ``values`` may be a
    stream: with the estimate, each is counted as it comes and none is kept."""
    images = 0
    if count.method == "estimate":
        joined = Joined()
        for value in values:
            texts, found = counted_strings(value)
            images += found
            if texts:  # a value without a string adds nothing to the join, not an empty line
                joined.add("\n".join(texts))
        return joined.total() + images * IMAGE_TOKENS
    texts: list = []
    for value in values:
        found_texts, found = counted_strings(value)
        texts += found_texts
        images += found
    return count("\n".join(texts)) + images * IMAGE_TOKENS


def estimate_at_most(text: str) -> int:
    """A bound :func:`estimate` never exceeds, from the length alone. Each character adds at most:
    a letter or digit 1 (a run of n makes at most n tokens), whitespace 1 for the run it starts
    and 0.3 more for a line break, punctuation 0.6, a non-ASCII character 2; the sum is rounded
    half up."""
    return int(1.3 * len(text) + 0.5) if text.isascii() else 2 * len(text)


def bytes_at_most(text: str) -> int:
    """A bound of a byte-level BPE count (tiktoken): never more tokens than UTF-8 bytes."""
    return len(text) if text.isascii() else 4 * len(text)


def conservative(text: str) -> int:
    """The boot brief's upper-bound estimate (``tether.tokens.estimate``)."""
    from ..model.tokens import estimate as upper

    return upper(text)


def encoding_for(model: str | None) -> str:
    """The tiktoken encoding for a model: cl100k_base for GPT-4 and GPT-3.5, o200k_base otherwise."""
    name = (model or "").lower()
    if name.startswith(("gpt-4-", "gpt-3.5")) or name == "gpt-4":
        return "cl100k_base"
    return DEFAULT_ENCODING


class TokenizerUnavailable(Exception):
    """tiktoken is not installed, or the encoding's vocabulary cannot be had."""


_cache: dict = {}
_lock = threading.Lock()


def encoding(name: str = DEFAULT_ENCODING, directory: str | None = None):
    """The tiktoken Encoding ``name``; raises :class:`TokenizerUnavailable`."""
    directory = directory or os.environ.get("TETHER_TIKTOKEN_DIR") or None
    key = (name, directory)
    with _lock:
        if key in _cache:
            return _cache[key]
        try:
            import tiktoken
        except ImportError as exc:
            raise TokenizerUnavailable("tiktoken is not installed (pip install tiktoken)") from exc
        try:
            if directory:
                enc = _from_directory(tiktoken, name, directory)
            else:
                enc = tiktoken.get_encoding(name)
        except TokenizerUnavailable:
            raise
        except Exception as exc:  # tiktoken raises what its download or its files raise
            raise TokenizerUnavailable(f"no {name} encoding: {exc}") from exc
        _cache[key] = enc
        return enc


def _from_directory(tiktoken, name: str, directory: str):
    """Build ``name`` with tiktoken's own constructor, its vocabulary read from ``directory``."""
    from tiktoken_ext import openai_public

    constructor = getattr(openai_public, "ENCODING_CONSTRUCTORS", {}).get(name)
    if constructor is None:
        raise TokenizerUnavailable(f"tiktoken has no encoding named {name!r}")

    def local(url: str, expected_hash: str | None = None):
        path = os.path.join(directory, url.rsplit("/", 1)[-1])
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as exc:
            raise TokenizerUnavailable(f"no {name} vocabulary: {exc}") from exc
        if expected_hash:
            import hashlib

            if hashlib.sha256(data).hexdigest() != expected_hash:
                raise TokenizerUnavailable(f"{path} does not match the hash tiktoken pins for {name}")
        import base64

        return {base64.b64decode(token): int(rank) for token, rank in (line.split() for line in data.splitlines() if line)}

    # The constructors read their vocabulary through this module-level name; _lock is held.
    original = openai_public.load_tiktoken_bpe
    openai_public.load_tiktoken_bpe = local
    try:
        return tiktoken.Encoding(**constructor())
    finally:
        openai_public.load_tiktoken_bpe = original


def available(name: str = DEFAULT_ENCODING, directory: str | None = None) -> bool:
    """Whether an exact count of ``name`` can be had without a download."""
    directory = directory or os.environ.get("TETHER_TIKTOKEN_DIR") or None
    if (name, directory) in _cache:
        return True
    try:
        import importlib.util

        if importlib.util.find_spec("tiktoken") is None:
            return False
    except (ImportError, ValueError):
        return False
    if directory:
        return os.path.isfile(os.path.join(directory, f"{name}.tiktoken"))
    import hashlib
    import tempfile

    url = f"https://openaipublic.blob.core.windows.net/encodings/{name}.tiktoken"
    cache = os.environ.get("TIKTOKEN_CACHE_DIR", os.environ.get("DATA_GYM_CACHE_DIR"))
    if cache is None:
        cache = os.path.join(tempfile.gettempdir(), "data-gym-cache")
    return bool(cache) and os.path.isfile(os.path.join(cache, hashlib.sha1(url.encode()).hexdigest()))


class Counter:
    """Counts tokens one way: ``method`` is ``"tiktoken:<encoding>"`` or ``"estimate"``."""

    __slots__ = ("method", "_count", "_at_most")

    def __init__(self, method: str, count, at_most=None):
        self.method = method
        self._count = count
        self._at_most = at_most

    def at_most(self, text: str) -> int | None:
        """A bound the count of ``text`` never exceeds, from its length (None: no bound known):
        what is provably under a threshold need not be counted."""
        return self._at_most(text) if self._at_most is not None else None

    def __call__(self, text: str) -> int:
        return self._count(text) if text else 0

    def record(self, record) -> int:
        """Tokens a record's content takes: its text, and a tool call's name and input."""
        if record.kind not in CONTENT:
            return 0
        total = self(record.text)
        if record.kind == TOOL_USE:
            total += self(record.tool_name or "") + self(record.input_text)
        return total


def counter(exact: bool | None = False, encoding_name: str | None = None, directory: str | None = None,
            model: str | None = None) -> Counter:
    """A :class:`Counter`. ``exact=True``: tiktoken or :class:`TokenizerUnavailable`;
    ``exact=None``: tiktoken when its vocabulary is at hand without a download, else the
    estimate; ``exact=False``: the estimate."""
    if exact is False:
        return Counter("estimate", estimate, estimate_at_most)
    name = encoding_name or encoding_for(model)
    if exact is None and not available(name, directory):
        return Counter("estimate", estimate, estimate_at_most)
    try:
        enc = encoding(name, directory)
    except TokenizerUnavailable:
        if exact:
            raise
        return Counter("estimate", estimate, estimate_at_most)
    encode = enc.encode_ordinary
    return Counter(f"tiktoken:{name}", lambda text: len(encode(text)), bytes_at_most)
