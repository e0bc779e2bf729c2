"""Lines of a transcript file, forward or from the end, never the whole file at once.

Forward: :func:`objects` yields each line's JSON object with its number and byte offset, and
reports what it cannot read (invalid JSON, invalid UTF-8, not an object, a line too long to
hold, a torn last line) to a :class:`~.records.Problems`, never raising for a bad line.

Backward: :func:`backward` yields complete lines from the end of a file in chunks, so what it
costs depends on how far back the caller reads, not on the file's length.

Imports only ``os`` (and ``json`` to read forward): the usage hook reads through this module.
"""

from __future__ import annotations

import os

from ..model.fastjson import scan as _SCAN
_NOTHING = object()

#: A line longer than this is reported and skipped, not held in memory.
MAX_LINE = 256 * 1024 * 1024
_CHUNK = 1024 * 1024


class Opened:
    """A binary file object from a path or a caller's file object (left open for the caller)."""

    __slots__ = ("file", "name", "own")

    def __init__(self, source, name: str | None = None):
        if hasattr(source, "read"):
            self.file = source
            self.own = False
            self.name = name or _name_of(source)
        else:
            self.file = open(os.fspath(source), "rb")
            self.own = True
            self.name = name or os.fspath(source)

    def close(self) -> None:
        if self.own:
            self.file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _name_of(fileobj) -> str | None:
    name = getattr(fileobj, "name", None)
    return name if isinstance(name, str) else None


def raw_lines(f, start_offset: int = 0, start_line: int | None = 1, max_line: int = MAX_LINE):
    """(number, offset, bytes or None) per line; None for a line over ``max_line`` bytes,
    which is read past in chunks, never held. ``start_line`` None: numbers unknown (reading
    from the middle of a file), every line is numbered 0."""
    step = 0 if start_line is None else 1
    number, offset = start_line or 0, start_offset
    readline = f.readline
    while True:
        line = readline(max_line)
        if not line:
            return
        size = len(line)
        if size == max_line and not line.endswith(b"\n"):
            # Too long to hold: read past the rest of it and report it.
            while True:
                rest = readline(_CHUNK)
                size += len(rest)
                if not rest or rest.endswith(b"\n"):
                    break
            yield number, offset, None
        else:
            yield number, offset, line
        number += step
        offset += size


def objects(f, problems, path: str | None, start_offset: int = 0, start_line: int | None = 1,
            max_line: int = MAX_LINE, stats: dict | None = None):
    """(number, offset, dict) per line holding a JSON object; other lines go to ``problems``.

    Blank lines are not data and are skipped without a report. ``stats``, when given, counts
    ``lines`` and ``bytes``. When line numbers are unknown (``start_line`` None), a problem
    names the line's byte offset.
    """
    from json import loads

    scan = _SCAN
    lines = 0
    last_end = start_offset
    numbered = start_line is not None
    for number, offset, line in raw_lines(f, start_offset, start_line, max_line):
        lines += 1
        if line is None:
            at = "" if numbered else f"at byte {offset}: "
            problems.add(path, number, f"{at}line longer than {max_line} bytes, skipped")
            continue
        last_end = offset + len(line)
        try:
            # The C scanner on the decoded line, without json.loads' layers; anything unusual
            # (a BOM, leading space, surrogates, an error) goes through json.loads, which decides.
            text = line.decode("utf-8")
            obj, end = scan(text, 0)
            if end != len(text) and text[end:].strip():
                raise ValueError
        except (ValueError, StopIteration, RecursionError):
            obj = _NOTHING
        if obj is _NOTHING:
            try:
                obj = loads(line)
            except RecursionError:
                problems.add(path, number, ("" if numbered else f"at byte {offset}: ") + "JSON nested too deeply")
                continue
            except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
                if not line.strip():
                    continue
                at = "" if numbered else f"at byte {offset}: "
                if not line.endswith(b"\n"):
                    problems.add(path, number, f"{at}torn last line (no newline; still being written?): {_reason(exc)}")
                else:
                    problems.add(path, number, f"{at}not valid JSON: {_reason(exc)}")
                continue
        if type(obj) is not dict:
            at = "" if numbered else f"at byte {offset}: "
            problems.add(path, number, f"{at}a JSON {type(obj).__name__}, not an object")
            continue
        yield number, offset, obj
    if stats is not None:
        stats["lines"] = stats.get("lines", 0) + lines
        stats["bytes"] = stats.get("bytes", 0) + (last_end - start_offset)


def _reason(exc: ValueError) -> str:
    text = str(exc)
    return text if len(text) <= 120 else text[:117] + "..."


def backward(f, end: int | None = None, chunk: int = 64 * 1024, max_line: int = MAX_LINE):
    """(offset, bytes) per line, last line first, reading from the end in chunks that start at
    ``chunk`` bytes and double up to 4 MB. A last line without its newline is yielded too (the
    caller decides whether a torn line matters). A line over ``max_line`` bytes is yielded as
    (offset, None), never held."""
    if end is None:
        f.seek(0, os.SEEK_END)
        end = f.tell()
    pos = end
    pending = b""        # bytes from pos up to the earliest line yielded: the end of a line whose start is further back
    too_long = False     # pending was dropped: we are reading back through an over-long line
    while pos > 0:
        size = min(chunk, pos)
        pos -= size
        f.seek(pos)
        block = f.read(size)
        if too_long:
            cut = block.rfind(b"\n")
            if cut < 0:
                continue
            yield pos + cut + 1, None
            too_long = False
            data = block[:cut + 1]
        else:
            data = block + pending
        stop = len(data)
        while stop > 0:
            cut = data.rfind(b"\n", 0, stop - 1)
            if cut < 0:
                break
            yield pos + cut + 1, data[cut + 1:stop]
            stop = cut + 1
        pending = data[:stop]
        if len(pending) > max_line:
            pending, too_long = b"", True
        if chunk < 4 * 1024 * 1024:
            chunk *= 2
    if too_long:
        yield 0, None
    elif pending:
        yield 0, pending
