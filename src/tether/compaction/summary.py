"""Tier 3's summary: extracted from the conversation, no model needed.

Sections (seed 001's resume protocol): the objective, decisions, files touched, open items and
next steps, the current state, and the active task's resume point when tether has one. Each
is taken, not written: the objective is the first request (or the one a previous summary
carried), decisions are the assistant's sentences that say one was made, files come from the
tool calls' inputs, open items from the task's remaining steps and the last replies' to-do
lines, the state is the end of the last reply.

Then the compacted list: the system messages, one message with the summary and the pins, and
the most recent messages verbatim. Pure functions over plain data.
"""

from __future__ import annotations

import os

import re

from .redact import IGNORECASE_FOLDS  # the characters re.IGNORECASE takes for an ASCII letter
from .messages import TETHER_MARK, is_tether, is_tool_result_message, strings, text_of, text_starts, tool_calls

SUMMARY_TITLE = TETHER_MARK + "Summary of the conversation so far (tether compact, tier 3)"
PINS_TITLE = TETHER_MARK + "Pinned: keep these verbatim"
ACK = TETHER_MARK + "Understood. I will continue from this summary."

_DECISION = re.compile(r"\b(?:decided|decision|we will|we'll|I will use|I'll use|going with|chose|choose to|"
                       r"instead of|settled on|opted)\b", re.I)
_DECISION_WORDS = ("decided", "decision", "we will", "we'll", "i will use", "i'll use", "going with", "chose",
                   "choose to", "instead of", "settled on", "opted")  # _DECISION's words, lowered
_TODO = re.compile(r"^\s*(?:[-*]\s*\[ \]|TODO\b|FIXME\b|Next(?: steps?)?\s*:|Remaining\s*:|Still to do\s*:)", re.I)
_PATCH_FILE = re.compile(r"^\*\*\* (?:Update|Add|Delete) File: (.+)$", re.M)
MODIFYING = {"edit", "multiedit", "write", "notebookedit", "apply_patch", "str_replace_editor", "create_file",
             "write_file", "edit_file", "str_replace", "insert"}
PATH_KEYS = ("file_path", "notebook_path", "path", "filename", "file")


def _clip(text: str, limit: int) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def first_request(messages: list) -> str:
    for msg in messages:
        if msg.get("role") == "user" and not is_tool_result_message(msg) and not is_tether(msg):
            text = text_of(msg.get("content")).strip()
            if text:
                return text
    return ""


def previous_objective(messages: list) -> str | None:
    """The objective a summary tether wrote earlier carried."""
    for msg in messages:
        if not text_starts(msg.get("content"), SUMMARY_TITLE):
            continue
        match = re.search(r"^## Objective\n(.*?)(?=^## |\Z)", text_of(msg.get("content")), re.S | re.M)
        if match:
            return match.group(1).strip()
    return None


def files_touched(messages: list, root: str | None = None) -> tuple[list, list]:
    """(modified, read) file paths from the tool calls, in first-seen order; with ``root`` (the
    repository's folder), a path inside it as the repository names it (agents give absolute ones)."""
    modified: dict = {}
    read: dict = {}
    seen: dict = {}
    for msg in messages:
        for name, value in tool_calls(msg):
            lowered = (name or "").lower()
            paths = []
            if isinstance(value, dict):
                paths = [value[k] for k in PATH_KEYS if isinstance(value.get(k), str)]
            for text in strings(value):
                if "*** " in text:  # what the patch pattern starts with: most inputs are spared it
                    found = _PATCH_FILE.findall(text)
                    if found:
                        paths += found
                        lowered = "apply_patch"
            for path in paths:
                named = seen.get(path)
                if named is None:  # an agent names the same few files again and again
                    named = seen[path] = _within(path.strip(), root)
                (modified if lowered in MODIFYING else read).setdefault(named, None)
    return list(modified), [p for p in read if p not in modified]


def _within(path: str, root: str | None) -> str:
    """``path`` from ``root`` when it is an absolute path inside it; otherwise as given."""
    if not root or not os.path.isabs(path):
        return path
    rel = os.path.relpath(os.path.normpath(path), root)
    return path if rel == ".." or rel.startswith(".." + os.sep) else rel.replace(os.sep, "/")


def _may_decide(text: str) -> bool:
    """Whether _DECISION matches ``text``: its words are looked for in the lowered text first
    (many times faster than the pattern), when lowering is what re.IGNORECASE does (_lowered)."""
    low = _lowered(text)
    if low is not None and not any(word in low for word in _DECISION_WORDS):
        return False
    return _DECISION.search(text) is not None




def _may_decide_many(texts: list) -> list[int]:
    """The indices of the texts _may_decide lets through, in order: those whose lowered text holds
    a decision word, and those that cannot be lowered (_lowered), which the pattern decides. The
    others are searched joined, as bytes (a search a word, not a search a word and a text)."""
    import bisect
    from itertools import accumulate

    lows = [_lowered(text) for text in texts]
    found = {index for index, low in enumerate(lows) if low is None}
    plain = [index for index, low in enumerate(lows) if low]
    # UTF-8: an ASCII word is found where it is in the text (no other character's bytes are ASCII)
    pieces = [lows[i].encode("utf-8", "surrogatepass") for i in plain]
    joined = b"\n".join(pieces)  # no word holds a line break: none spans two texts
    starts = list(accumulate((len(piece) + 1 for piece in pieces), initial=0))
    for word in _DECISION_BYTES:
        at = joined.find(word)
        while at != -1:
            place = bisect.bisect_right(starts, at) - 1
            found.add(plain[place])
            at = joined.find(word, starts[place + 1])  # the rest of this text is not needed
    return sorted(found)


_DECISION_BYTES = tuple(word.encode() for word in _DECISION_WORDS)


def _lowered(text: str) -> str | None:
    """``text`` lowered, when an ASCII word is in it, at the same place, exactly where the word
    matches ``text`` ignoring case: always for ASCII text; for other text, unless it holds one of
    IGNORECASE_FOLDS (no other character lowers to, or folds with, an ASCII letter). None otherwise."""
    if text.isascii():
        return text.lower()
    if any(fold in text for fold in IGNORECASE_FOLDS):
        return None
    low = text.lower()
    return low if len(low) == len(text) else None


def decisions(messages: list, limit: int = 10) -> list[str]:
    out: list[str] = []
    texts = [text_of(msg.get("content")) for msg in messages if msg.get("role") == "assistant"]
    # tether's own, or no decision in the text (then none in its sentences): not split
    texts = [text for text in texts if not text.startswith(TETHER_MARK)]
    for index in _may_decide_many(texts):
        for sentence in _deciding_sentences(texts[index]):
            if 12 <= len(sentence):
                line = _clip(sentence, 240)
                if line not in out:
                    out.append(line)
    return out[-limit:]


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


def sentences(text: str) -> list[str]:
    """``text`` split into sentences: after ``.!?`` and whitespace, and at line breaks."""
    return _SENTENCE_END.split(text)


def _deciding_sentences(text: str) -> list[str]:
    """The sentences of ``text`` (see :func:`sentences`) that _DECISION matches, in order, each
    stripped. A long reply is not split whole: the matches are found in the text, and each one's
    sentence is read around it. None can cross a sentence's end (each word of _DECISION is
    letters and single spaces), ``\\b`` at a sentence's edge sees whitespace beside it in the text
    as in the sentence alone, and no sentence crosses a line break: the one around a match starts
    after the last ``.!?`` and whitespace between its line's start and the match, and ends at the
    next (or at the line's end)."""
    out: list = []
    seen_to = -1
    for at in _decision_starts(text):
        if at < seen_to:
            continue  # in the sentence just taken
        line = text.rfind("\n", 0, at) + 1
        start = line
        for end in _PUNCTUATION_SPACE.finditer(text, line, at):
            start = end.end()
        line_end = text.find("\n", at)
        if line_end == -1:
            line_end = len(text)
        stop = _PUNCTUATION_SPACE.search(text, at, line_end + 1)  # the line break is whitespace too
        seen_to = stop.start() + 1 if stop else line_end
        out.append(text[start:seen_to].strip())
    return out


_PUNCTUATION_SPACE = re.compile(r"[.!?]\s+")  # a sentence's end within a line (starts with a class: a fast scan)


def _decision_starts(text: str) -> list[int]:
    """Where _DECISION matches in ``text``, sorted: at each place one of its words begins in the
    lowered text, when lowering is what re.IGNORECASE does (_lowered); else by the pattern."""
    low = _lowered(text)
    if low is None:
        return [m.start() for m in _DECISION.finditer(text)]
    places = set()
    for word in _DECISION_WORDS:
        at = low.find(word)
        while at != -1:
            places.add(at)
            at = low.find(word, at + 1)
    match = _DECISION.match
    return [at for at in sorted(places) if match(text, at)]


def open_items(messages: list, limit: int = 10) -> list[str]:
    out: list[str] = []
    replies: list = []  # the last three, found from the end
    for msg in reversed(messages):
        if len(replies) == 3:
            break
        if msg.get("role") == "assistant" and not is_tether(msg):
            replies.insert(0, msg)
    for msg in replies:
        for line in text_of(msg.get("content")).splitlines():
            if _TODO.match(line):
                item = _clip(line, 240)
                if item not in out:
                    out.append(item)
    return out[-limit:]


def current_state(messages: list, limit: int = 1200, redact=None) -> str:
    """The last reply's end, at most ``limit`` characters from a line or word. ``redact``: applied
    to the whole reply before the cut, which can part a secret from what shows it is one (a private
    key's BEGIN line): the text redacted after the cut would keep the rest of the key."""
    for msg in reversed(messages):
        if msg.get("role") == "assistant" and not is_tether(msg):
            text = text_of(msg.get("content")).strip()
            if text and redact is not None:
                text = redact(text).strip()
            if text:
                if len(text) <= limit:
                    return text
                tail = text[-limit:]
                if not text[-limit - 1].isspace():  # begun mid-line or mid-word: from the next line, else word
                    cut = tail.find("\n")
                    cut = cut if 0 <= cut < len(tail) - 1 else tail.find(" ")
                    tail = tail[cut + 1:] if 0 <= cut < len(tail) - 1 else tail
                return "…" + tail.lstrip()
    return ""


def extract(messages: list, task: dict | None = None, root: str | None = None, redact=None) -> dict:
    """The summary's sections. ``task``: the active task as tether knows it (``id``, ``title``,
    ``definition``, ``remaining``, ``decisions``, ``resume``), or None; ``root``: the repository's
    folder, from which the files are named; ``redact``: see :func:`current_state`."""
    objective = previous_objective(messages) or _clip(first_request(messages), 1500)
    modified, read = files_touched(messages, root)
    items = list((task or {}).get("remaining") or []) + open_items(messages)
    return {
        "objective": objective,
        "task": task,
        "decisions": list((task or {}).get("decisions") or []) + decisions(messages),
        "files_modified": modified,
        "files_read": read,
        "open_items": items,
        "state": current_state(messages, redact=redact),
    }


def render(sections: dict, archive: str | None = None, pins: list | None = None, body: str | None = None) -> str:
    """The summary message's text. ``body`` replaces the extracted sections (a user's summary or
    their summariser's); the resume point, pins and archive are tether's in either case."""
    lines = [SUMMARY_TITLE, ""]
    task = sections.get("task")
    if body is not None:
        lines += [body.strip(), ""]
    else:
        lines += ["## Objective", sections["objective"] or "(no request found)", ""]
        if task:
            lines += [f"## Active task", f"{task['id']}: {task['title']}"]
            if task.get("definition"):
                lines.append(_clip(task["definition"], 1500))
            lines.append("")
        lines += ["## Decisions"] + [f"- {d}" for d in sections["decisions"] or ["(none recorded)"]] + [""]
        files = [f"- {p} (modified)" for p in sections["files_modified"][:40]]
        files += [f"- {p} (read)" for p in sections["files_read"][:20]]
        lines += ["## Files touched"] + (files or ["(none)"]) + [""]
        lines += ["## Open items and next steps"] + [f"- {i.lstrip('-* ')}" for i in sections["open_items"] or ["(none found)"]] + [""]
        lines += ["## Current state", sections["state"] or "(no reply yet)", ""]
    if task and task.get("resume"):
        lines += ["## Resume point", task["resume"], ""]
    if pins:
        lines += [PINS_TITLE] + [f"- {p['text']}" for p in pins] + [""]
    if archive:
        lines += [f"The full conversation before this summary is archived: `tether show {archive}`."]
    return "\n".join(lines).rstrip() + "\n"


# The sections a summary shortened to a limit gives up first, in order: what the agent can find
# again (files, decisions, items) before what says where the work stands (the state, the resume
# point and the pins are never shortened here).
_GIVE_FIRST = ("## Files touched", "## Decisions", "## Open items and next steps", "## Active task", "## Objective")


def fitted(text: str, limit: int, whole: str) -> str:
    """``text``, a summary :func:`render` made, in at most ``limit`` characters: the sections of
    _GIVE_FIRST lose their last lines first, each shortening said on a line naming ``whole`` (where
    all of it is), so the current state and the resume point stay whole. What still does not fit
    is cut just before them (a long given body), else at its end, said the same way."""
    if len(text) <= limit:
        return text
    blocks = re.split(r"(?m)^(?=## )", text)
    sections = {}  # title -> (its block's index, its lines)
    for title in _GIVE_FIRST:
        index = next((i for i, b in enumerate(blocks) if b.startswith(title + "\n")), None)
        if index is not None:
            sections[title] = (index, blocks[index].rstrip("\n").split("\n")[1:])
    keep = {title: len(lines) for title, (_, lines) in sections.items()}

    def block(title: str) -> str:
        index, lines = sections[title]
        if keep[title] == len(lines):
            return blocks[index]
        gone = len(lines) - keep[title]
        note = f"- … {gone} more line{'s' if gone != 1 else ''}: {whole}"
        return "\n".join([title] + lines[:keep[title]] + [note]) + "\n\n"

    def size() -> int:
        return sum(len(block(t)) if t in sections else 0 for t in sections) + sum(
            len(b) for i, b in enumerate(blocks) if i not in {index for index, _ in sections.values()})

    for title in sections:  # _GIVE_FIRST's order: what can be found again goes first
        while keep[title] and size() > limit:
            keep[title] -= 1
        if size() <= limit:
            # then the room a whole line's removal left is given back, the most needed first
            for back in reversed(list(sections)):
                while keep[back] < len(sections[back][1]):
                    keep[back] += 1
                    if size() > limit:
                        keep[back] -= 1
                        break
            for name, (index, _) in sections.items():
                blocks[index] = block(name)
            return "".join(blocks).rstrip() + "\n"
    # What is left is cut before the state or the resume point (a long given body has neither
    # section above: the cut at the end took the resume point, the pins and the archive's name).
    note = f"[cut here: {whole}]"
    for index, block in enumerate(blocks):
        if block.startswith(("## Current state\n", "## Resume point\n")):
            tail = "".join(blocks[index:])
            room = limit - len(tail) - len(note) - 3  # a line break before the note, two after
            if room > 0:
                return "".join(blocks[:index])[:room].rstrip() + "\n" + note + "\n\n" + tail
    shortened = "".join(blocks)
    return shortened[: limit - len(note) - 1].rstrip() + "\n" + note


def pins_text(pins: list) -> str:
    return "\n".join([PINS_TITLE] + [f"- {p['text']}" for p in pins]) + "\n"


def split_for_summary(messages: list, keep: int) -> tuple[list, list, list]:
    """(leading system messages, messages to summarise, recent messages kept verbatim). The kept
    part never starts with a tool result (its call would be summarised away) nor with a message
    tether added."""
    head = 0
    while head < len(messages) and messages[head].get("role") in ("system", "developer") and not is_tether(messages[head]):
        head += 1
    start = max(head, len(messages) - max(keep, 0))
    while start < len(messages) and (is_tool_result_message(messages[start]) or is_tether(messages[start])):
        start += 1
    return messages[:head], messages[head:start], messages[start:]


def with_block(system: list, block: str, rest: list, dialect: str) -> list:
    """``system`` + the block tether adds + ``rest``, in a form the API takes: a system message for
    OpenAI lists; otherwise a user message, answered by a short assistant message when ``rest``
    starts with a user message (roles alternate)."""
    if dialect == "openai":
        return system + [{"role": "system", "content": block}] + rest
    out = system + [{"role": "user", "content": block}]
    if not rest or rest[0].get("role") == "user":
        out.append({"role": "assistant", "content": ACK})
    return out + rest


def without_tether_blocks(messages: list) -> list:
    """The list less the pins blocks tether added (and the acknowledgement after one), so that a
    new compaction puts one fresh block in their place. Summaries are kept: they are history."""
    out = []
    skip_ack = False
    for msg in messages:
        content = msg.get("content")
        if text_starts(content, PINS_TITLE):
            skip_ack = True
            continue
        if skip_ack and text_starts(content, ACK):
            skip_ack = False
            continue
        skip_ack = False
        out.append(msg)
    return out
