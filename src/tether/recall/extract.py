"""A store file's bytes to the records recall indexes: one dict per record, with where it
starts (its line), when, who, which session and task, and its status as the file says it.

Pure: no I/O. A file that cannot be read as its kind raises ParseError (path, line); a bad
line of a log is reported in ``problems`` and the other lines are kept.
"""

from __future__ import annotations

import re

from ..errors import ParseError, Problem
from ..store import codec

CHUNK = 1500  # characters of free text per record: a hit points at a few lines, not a whole file
_SECTION = re.compile(r"^## (\d\d:\d\d) UTC, session (\S+?)(?:,|$)", re.M)  # ", commit SHA" after a close --commit


def _record(kind, rid, title, body, line=1, at=None, who=None, session=None, task=None, status="current",
            number=None, context="", body_line=None) -> dict:
    # body_line: the file's line of the body's first line when the body is the file's text line for
    # line (a search then names the line of the best match, rank.best_line), else None
    return {"kind": kind, "rid": rid, "title": title or "", "body": body or "", "line": line, "at": at or None,
            "who": who or None, "session": session or None, "task": task or None, "status": status,
            "number": number, "context": context or "", "sitting": None, "anchors": None, "body_line": body_line}


def _words(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dict):
        return "\n".join(f"{k}: {_words(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return "\n".join(_words(v) for v in value)
    return str(value)


def records(kind: str, rel: str, shown: str, data: bytes, problems: list[Problem]) -> list[dict]:
    return _READERS[kind](rel, shown, data, problems)


def _task(rel, shown, data, problems):
    meta, _ = codec.load_front_matter(data, shown)
    units = meta.get("units") or []
    body = "\n".join(filter(None, [_words(meta.get("definition")), _words(meta.get("criteria")),
                                   _words(units[:200] if isinstance(units, list) else units)]))
    status = meta.get("status") or "open"
    return [_record("task", str(meta.get("id") or rel.split("/")[1]), _words(meta.get("title")), body,
                    at=meta.get("created"), who=meta.get("created_by"), task=meta.get("id"),
                    status="current" if status == "open" else str(status))]


def _checkpoint(rel, shown, data, problems):
    meta, _ = codec.load_front_matter(data, shown)
    task = str(meta.get("task") or rel.split("/")[1])
    parts = [_words(meta.get("current_state")), _words(meta.get("next")), _words(meta.get("note")),
             _words(meta.get("files")), _words(meta.get("key_data"))]
    number = meta.get("number") if isinstance(meta.get("number"), int) else None
    # Superseded or current is decided when searching: it depends on the task's newer checkpoints.
    return [_record("checkpoint", f"{task}/{meta.get('id') or rel.rsplit('/', 1)[-1][:-3]}",
                    _words(meta.get("current_state"))[:120], "\n".join(p for p in parts if p),
                    at=meta.get("created"), who=meta.get("device"), session=meta.get("session"), task=task,
                    status=str(meta.get("status") or "in_progress"), number=number)]


def _decision(rel, shown, data, problems):
    meta, _ = codec.load_front_matter(data, shown)
    body = "\n".join(filter(None, [_words(meta.get("decision")), _words(meta.get("rationale"))]))
    return [_record("decision", str(meta.get("id") or rel.rsplit("/", 1)[-1][:-3]), _words(meta.get("question")),
                    body, at=meta.get("when"), who=meta.get("who"), session=meta.get("session"), task=meta.get("task"))]


def _context(rel, shown, data, problems):
    found, resolved, written = [], {}, {}
    anchors: dict = {}  # id -> (when, anchors): the entry's own, then its newest re-confirmation (store.notes)
    for number, row in codec.iter_jsonl(data, shown, problems, numbered=True):
        if "resolve" in row:  # the newest line of an entry wins, as in store.notes
            key = str(row["resolve"])
            resolved[key] = max(resolved.get(key, ("", 0)), (str(row.get("at") or ""), number))
        elif "confirm" in row and "text" not in row:
            when = str(row.get("at") or "")
            if isinstance(row.get("anchors"), dict) and anchors.get(row["confirm"], ("",))[0] <= when:
                anchors[row["confirm"]] = (when, row["anchors"])
        elif isinstance(row.get("text"), str) and row.get("id"):
            written[str(row["id"])] = max(written.get(str(row["id"]), ("", 0)), (str(row.get("at") or ""), number))
            found.append(_record("context", str(row["id"]), str(row.get("kind") or "note"), row["text"], line=number,
                                 at=row.get("at"), who=row.get("by"), session=row.get("session"),
                                 task=row.get("task")))
            if isinstance(row.get("anchors"), dict) and row["anchors"] and str(row["id"]) not in anchors:
                anchors[str(row["id"])] = ("", row["anchors"])
    # an entry written again (a task reopened) is one record: its newest line
    found = [rec for rec in found if (str(rec["at"] or ""), rec["line"]) == written[rec["rid"]]]
    for rec in found:
        if resolved.get(rec["rid"], ("", 0)) > written[rec["rid"]]:
            rec["status"] = "resolved"
        cited = anchors.get(rec["rid"], (None, None))[1]
        # kept in the index: a search then checks a hit's anchors without reading the whole log again
        rec["anchors"] = codec.canonical_json(cited) if cited else None
    _add_neighbours(found)
    return found


# A note is indexed with the notes written just before and after it in the same sitting: "Yes!
# It was so much fun" or "that one, then" says what it is about only beside the entry it answers.
# The neighbours are a weaker field of the note's record (rank.BM25_WEIGHTS); the hit is still the
# note itself. Only free-form notes: a phase, gotcha, don't, blocker or learning is a fact written
# to stand alone (the brief shows it alone), and two of them written together need not be related.
NEIGHBOURS_BEFORE = 2  # a reply, and the question or statement it replies to
NEIGHBOURS_AFTER = 1  # the answer a note drew
SITTING = 3600  # seconds: notes further apart than this are not one exchange
CONVERSATIONAL = "note"  # the entry kind that gets neighbours


def _add_neighbours(found: list[dict]) -> None:
    """Each note's neighbours (its ``context`` field), and its sitting: the id of the first note
    of the run it belongs to, each written within SITTING of the one before (rank.lift_sittings)."""
    from ..model import clock  # here: a search that reads no file loads nothing more

    notes = [rec for rec in found if rec["title"] == CONVERSATIONAL]
    times = [_seconds(rec["at"], clock) for rec in notes]
    first = None
    for i, rec in enumerate(notes):
        if times[i] is None:
            first = None
            continue
        if first is None or times[i - 1] is None or abs(times[i] - times[i - 1]) > SITTING:
            first = rec["rid"]
        rec["sitting"] = first
        near = [j for j in range(i - NEIGHBOURS_BEFORE, i + NEIGHBOURS_AFTER + 1)
                if j != i and 0 <= j < len(notes) and times[j] is not None and abs(times[j] - times[i]) <= SITTING]
        rec["context"] = "\n".join(notes[j]["body"] for j in near)


def _seconds(at, clock) -> float | None:
    """A record's time in seconds, or None when it has none that reads as an ISO time."""
    if not isinstance(at, str) or not at:
        return None
    try:
        return clock.parse(at).timestamp()
    except ValueError:
        return None


_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")
_DATE = re.compile(r"(\d{4})-(\d\d)-(\d\d)")


def date_words(at) -> str:
    """When a record was written, as words a query names a time with: "9 November 2026" for
    2026-11-09T...; "" when it has no date. Indexed as a field of its own (rank.BM25_WEIGHTS), so
    "what did we decide in March 2026" finds that month's records first among those that match."""
    found = _DATE.match(at) if isinstance(at, str) else None
    if found is None or not 1 <= int(found.group(2)) <= 12:
        return ""
    return f"{int(found.group(3))} {_MONTHS[int(found.group(2)) - 1]} {found.group(1)}"


def _progress(rel, shown, data, problems):
    text = codec.decode(data, shown)
    date = rel.rsplit("/", 1)[-1][:-3]
    out = []
    marks = list(_SECTION.finditer(text))
    for i, mark in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
        section = text[mark.start():end]
        line = text.count("\n", 0, mark.start()) + 1
        out.append(_record("progress", f"{date} {mark.group(1)}", section.split("\n", 1)[0][3:],
                           section.split("\n", 1)[-1][:CHUNK * 4], line=line, body_line=line + 1,
                           at=f"{date}T{mark.group(1)}:00Z", session=mark.group(2)))
    return out


_HEADING_FACTS = re.compile(r"^\d\d:\d\d UTC, session \S+?(?:, |$)")


def progress_title(heading: str, body: str) -> str:
    """A progress hit's title, from what its record keeps (the section's heading and body): the
    close's summary, as a checkpoint's is its state; else what the heading says besides the time
    and the session (a commit), which the hit shows on their own; else "a close"."""
    for line in body.split("\n", 8)[:8]:
        if line.startswith("**Summary:**"):
            summary = line[len("**Summary:**"):].strip()
            if summary:
                return summary[:120]
    return _HEADING_FACTS.sub("", heading, count=1).strip() or "a close"


def chunks(text: str, first_line: int = 1):
    """(line, text) pieces of at most about CHUNK characters, cut at line ends where it can."""
    start, line, size = 0, first_line, len(text)
    while start < size:
        end = min(size, start + CHUNK)
        if end < size:
            cut = text.rfind("\n", start + CHUNK // 3, end)
            if cut > start:
                end = cut + 1
        piece = text[start:end]
        if piece.strip():
            yield line, piece
        line += piece.count("\n")
        start = end


def _field(text: str, key: str) -> str | None:
    found = re.search(rf"^{key}: *(.*)$", text, re.M)
    return found.group(1).strip().strip('"\'') if found else None


def _text_file(kind):
    def read(rel, shown, data, problems):
        text = codec.decode(data, shown)
        name = rel.rsplit("/", 1)[-1]
        if kind == "packet":
            rid = _field(text, "id") or name[:-5]
            title, at = _field(text, "title") or rid, _field(text, "created")
            status = "retired" if _field(text, "status") == "retired" else "current"
            session = _field(text, "session")
            text = packet_text(text)
        elif kind == "campaign":
            rid = rel.split("/")[1]
            title, at, status, session = f"campaign {rid}", None, "current", None
            text = context_text(text)
        else:  # content-addressed cache files: offloaded results and archived conversations
            rid = f"{'offloaded' if kind == 'offloaded' else 'conversations'}/{name[:12]}"
            found = _conversation(kind, rid, data, shown)
            if found is not None:
                return found
            title, at, status, session = rid, None, "current", None
        return [_record(kind, rid, title, piece, line=line, at=at, session=session, status=status, body_line=line)
                for line, piece in chunks(text)]
    return read


# A packet's or a session context's words, line for line: the values that say what it is about
# (a packet's title, summary, tags, content; a context's objectives, learnings, questions, ...)
# without the YAML around them, and the fields that only file it (ids, dates, statuses, revisions,
# hashes, counts) blanked. The lines stay the file's, so a hit names the line of its match and its
# excerpt is text, never the YAML around it.
_FILING = frozenset("schema id kind cluster status created session hash target_kind resolves checked at bytes"
                    " format".split())
# A session context's: the protocol's keys are its structure (campaign.document.SECTIONS and
# session_context.schema.json's properties), left out; any other key is a word someone chose (a
# knowledge entry's, a validation's name) and is kept before its value.
CONTEXT_KEYS = frozenset((
    "session_context id revision started_at last_updated campaign gtm_id title tier campaign_owner status closed_at"
    " active_task type description assigned_to scope objectives boundaries out_of_scope vocabulary budget"
    " max_skill_calls max_tokens deadline knowledge artifacts path produced_by timestamp pending_decisions question"
    " context options escalated_to escalated_at raised_by decisions_made decision rationale decided_by validations"
    " last_run issues blockers notes compute skills_invoked budget_remaining tokens_used budget_tokens_remaining"
    " invocation_log skill tokens result invocation_id history action actor details changed").split())
_CONTEXT_FILING = frozenset("id revision started_at last_updated gtm_id tier status closed_at assigned_to max_skill_calls"
                            " max_tokens deadline timestamp escalated_at last_run skills_invoked budget_remaining"
                            " tokens_used budget_tokens_remaining tokens result invocation_id action changed".split())
_KEY = re.compile(r"( *)(?:- )?([A-Za-z_][\w-]*):(?: +(.*))?$")
_BLOCK = re.compile(r"[|>][-+0-9]*$")
_EMPTY = frozenset(("", "[]", "{}", "null", "~", "''", '""'))
# A value's trailing comment: after its closing quote, or in a plain scalar after a blank.
_COMMENT = re.compile(r"""^((?:"(?:[^"\\]|\\.)*"|'(?:[^']|'')*')|[^"'#][^#]*?)\s+#.*$""")


def packet_text(text: str) -> str:
    """The packet file ``text`` as recall indexes it: as many lines, each the words of its line.
    An ingested blob's ``abstract`` is left out when it has ``content``: its sentences are the
    content's, and a hit is better pointed at where they stand in their paragraph."""
    has_content = any(line.startswith("content:") for line in text.split("\n"))
    return _yaml_words(text, _FILING | ({"abstract"} if has_content else set()), lambda key: False)


def context_text(text: str) -> str:
    """A session context file ``text`` as recall indexes it: as many lines, each the words of its
    line (a key of the user's own kept before its value)."""
    return _yaml_words(text, _CONTEXT_FILING, lambda key: key not in CONTEXT_KEYS)


def _yaml_words(text: str, filing, shown) -> str:
    """YAML ``text`` line for line as its words: the values of the keys not in ``filing``, a key
    itself only where ``shown(key)`` says so."""
    out = []
    # The value the deeper lines that follow continue: (its key's indent, kept, a block scalar's
    # lines as they are or a folded scalar's words, in double quotes); None in a mapping or a list.
    owner = None
    listed = True  # whether the items of the list being read are kept (the key above them is)
    for line in text.split("\n"):
        stripped = line.strip()
        indent = len(line) - len(line.lstrip(" "))
        if owner is not None and (not stripped or indent > owner[0]):
            _, kept, block, double = owner
            out.append("" if not kept else line if block else _unquote(stripped, double))
            continue
        owner = None
        if not stripped or stripped.startswith("#"):
            out.append("")  # a blank line, or a comment (the file's header)
            continue
        found = _KEY.match(line)
        if found is None:  # a list's item, or a line of no shape tether writes: its words
            item = stripped[2:] if stripped.startswith("- ") else stripped
            kept = listed or not stripped.startswith("- ")
            owner = (indent, kept, False, item.startswith('"'))
            out.append(_unquote(item, owner[3], True) if kept else "")
            continue
        key, value = found.group(2), (found.group(3) or "").strip()
        indent = found.start(2)  # "- key: value": the lines that continue it are deeper than its key
        kept = key not in filing
        label = f"{key}: " if kept and shown(key) else ""
        if not value:
            listed = kept  # a mapping or a list follows: its own keys (or items) decide
            out.append(label.rstrip(" "))
        elif _BLOCK.match(value):
            owner = (indent, kept, True, False)
            out.append(label.rstrip(" "))
        else:
            owner = (indent, kept, False, value.startswith('"'))
            words = _unquote(value, owner[3], True)
            out.append((label + words).rstrip(" ") if kept and words not in _EMPTY else "")
    return "\n".join(out)


def _unquote(value: str, double: bool, first: bool = False) -> str:
    """A YAML scalar's words: its quotes off, a double-quoted one's escapes (``\\n``) as spaces;
    on its ``first`` line (the key's), a trailing comment off."""
    if first and (" #" in value or "\t#" in value):
        found = _COMMENT.match(value)
        value = found.group(1) if found else value
    if double:
        value = re.sub(r"\\[nt\"\\]", " ", value)
        return value.strip('"')  # its own quotes only: "use 'yield optimization'" keeps the inner ones
    return value.strip("'").replace("''", "'")


TOOL_INPUT = 200  # characters of a tool call's input indexed: what it did, not the file it wrote


def _conversation(kind, rid, data: bytes, shown) -> list[dict] | None:
    """A cached file that is an agent transcript (Claude Code, Codex) or a message list, as its
    conversation: the messages' text, thinking, tool names and short inputs, failed tools'
    errors, each at the line of the file where its text is, line for line (body_line), so a hit
    names the line of the message that matches best; pieces joined up to about CHUNK characters.
    Never the JSON itself (keys, ids, usage, signatures: words nobody searches for that match
    "token" or "cache"). None when the file is not one (plain text, JSON of another shape)."""
    if data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] not in (b"{", b"["):
        return None
    import io

    from ..transcripts.transcript import Transcript

    reading = Transcript(io.BytesIO(data), name=shown)
    starts, said = [], []
    for r in reading:
        starts.append((r.line, r.offset))
        if text := _said(r):
            said.append((r, text))
    if not said:
        return None
    pieces = _text_lines(said, starts, data)
    if reading.problems:
        lines = data.split(b"\n")
        # A line the agent left torn or unreadable is indexed as it is: nothing is lost, and an
        # archive is a copy nobody can mend, so it is not reported on every search.
        pieces += [(p.line, None, lines[p.line - 1].decode("utf-8", "replace")) for p in reading.problems
                   if 0 < p.line <= len(lines) and lines[p.line - 1].strip()]
        pieces.sort(key=lambda piece: piece[0])
    out, group = [], []

    def flush():
        if group:
            first = group[0][0]
            body = [""] * (group[-1][0] - first + 1)
            for line, _, text in group:  # each on its line of the file: a record of the file's lines
                flat = " ".join(text.split("\n"))
                body[line - first] = f"{body[line - first]} {flat}" if body[line - first] else flat
            out.append(_record(kind, rid, rid, "\n".join(body), line=first, at=group[0][1], body_line=first))
            group.clear()

    size = 0
    for line, at, text in pieces:
        for _, part in chunks(text) if len(text) > CHUNK else [(line, text)]:
            if group and size + len(part) > CHUNK:
                flush()
                size = 0
            group.append((line, at, part))
            size += len(part) + 1
    flush()
    return out


def _text_lines(said, starts, data: bytes) -> list:
    """(line, time, text) per record that says something, the line the file's line of its text:
    in a message list pretty-printed a line per key (compaction's archives), the line of its
    ``content`` or ``text``, not of the brace its message opens with. A text not found there (an
    encoding tether does not write) is at its message's first line."""
    import json

    ends: dict = {}  # a message's line -> the offset where the next one starts (records come in order)
    previous = None
    for line, offset in starts:
        if previous is not None and line != previous and previous not in ends:
            ends[previous] = offset
        previous = line
    out, cursor = [], (0, 0)  # (message line, the offset past its last record's text found)
    for rec, text in said:
        line, offset = rec.line, rec.offset
        end = ends.get(line, len(data))
        found = line
        if data.find(b"\n", offset, end) in (-1, end - 1):  # the message is one line (JSON Lines)
            out.append((found, rec.timestamp, text))
            continue
        needle = rec.tool_name if rec.tool_name and not rec.text.strip() else rec.text.strip()[:40]
        if needle:
            begin = cursor[1] if cursor[0] == line else offset
            for ascii in (False, True):
                at = data.find(json.dumps(needle, ensure_ascii=ascii)[1:-1].encode("utf-8"), begin, end)
                if at >= 0:
                    found = line + data.count(b"\n", offset, at)
                    cursor = (line, at + 1)
                    break
        out.append((found, rec.timestamp, text))
    return out


def _said(rec) -> str:
    """What one transcript record says, as text for the index ("" for what says nothing)."""
    from ..transcripts import records as R

    kind, role = rec.kind, rec.role or "assistant"
    if kind in (R.TEXT, R.SUMMARY, R.THINKING):
        text = rec.text.strip()
        label = {R.SUMMARY: "summary", R.THINKING: f"{role} (thinking)"}.get(kind, role)
        return f"{label}: {text}" if text else ""
    if kind == R.TOOL_USE:
        value = rec.tool_input
        if isinstance(value, dict):
            value = "; ".join(f"{k}: {_short(v)}" for k, v in value.items() if isinstance(v, (str, int, float)))
        value = _short(value) if value else ""
        return f"{role} ran {rec.tool_name or 'a tool'}" + (f": {value}" if value else "")
    if kind == R.TOOL_RESULT and rec.is_error and rec.text.strip():
        return f"tool error: {_short(rec.text.strip())}"
    return ""


def _short(value) -> str:
    text = str(value)
    return text if len(text) <= TOOL_INPUT else text[:TOOL_INPUT].rstrip() + " …"


_READERS = {"task": _task, "checkpoint": _checkpoint, "decision": _decision, "context": _context,
            "progress": _progress, "packet": _text_file("packet"), "campaign": _text_file("campaign"),
            "offloaded": _text_file("offloaded"), "conversation": _text_file("conversation")}
KINDS = tuple(_READERS)

__all__ = ["records", "chunks", "KINDS", "ParseError"]
