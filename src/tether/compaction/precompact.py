"""Before Claude Code or Codex compacts a session: save what its compaction would lose, into the
repository.

    from tether.compaction import save_before_compaction
    report = save_before_compaction(workspace, transcript_path)

One streaming pass over the session's JSONL transcript (a line at a time, never the file whole;
Claude Code's records, and Codex's response items read as the same messages: ``codex_message``):

- tier 1: every tool result over the threshold goes to ``.tether/cache/offloaded/<sha256>``,
  secrets redacted, as :func:`tether.compaction.compact` stores it (same stubs, same ``show``);
- the transcript is archived to ``.tether/cache/conversations/<sha256>``: its lines as they
  are, except that an offloaded result is its stub there and a line holding a secret has it
  redacted (that line is written again as compact JSON; every other line is kept byte for byte);
- tier 3's extractive summary (objective, decisions, files touched, open items, state, the active
  task's resume point, the pins, the archive's reference) is stored next to the archive.

Nothing in it depends on the time, so running it twice on the same transcript stores nothing
new (and logs nothing new). The memory it takes is bounded by the longest line and a few
megabytes of offloaded results waiting for their flush, whatever the transcript's size.
"""

from __future__ import annotations

import json
import os

from ..errors import InvalidInput
from ..model.fastjson import loads_bulk, utf8
from ..transcripts.tokens import estimate_joined
from . import offload, summary as _summary
from .api import _Known  # not in the line loop: an import there is a lookup a line
from .messages import strings

#: Offloaded bytes kept in memory before they are written (one flush for each such batch).
STAGED_LIMIT = 16 << 20
#: Lines redacted together: the anchors are searched once over all of their strings.
BATCH_BYTES = 1 << 20
_KEEP_REPLIES = 3
_DECISIONS = 10


def save_before_compaction(workspace, transcript_path, *, threshold: int | None = None,
                           redact: bool | None = None) -> dict:
    """Offload, archive and summarise a Claude Code transcript or a Codex rollout; the report (refs, tokens before
    and after, redactions). ``workspace``: a Workspace, or None for the one here."""
    from .api import Compactor

    compactor = Compactor(workspace, threshold=threshold, redact=redact)
    compactor._types, compactor._staged = {}, {}
    run = _Run(compactor, transcript_path)
    try:
        fh = open(transcript_path, "rb")
    except OSError as exc:
        raise InvalidInput(f"cannot read the transcript {transcript_path}: {exc.strerror or exc}",
                           hint="give the path of the session's .jsonl transcript") from None
    with fh:
        digest, _, archived_new = compactor.workspace.store.put_cached_stream("conversations", run.archive(fh))
    compactor._store_staged()
    return run.finish(digest, archived_new)


class _Run:
    def __init__(self, compactor, path):
        self.c = compactor
        self.path = str(path)
        self.threshold = compactor.options["threshold"]
        self.items: list = []
        self.tokens_before = 0
        self.lines = 0
        self.unreadable: list = []
        self.archive_redactions = 0
        self.first_request = ""
        self.decisions: list = []
        self.modified: dict = {}
        self.read: dict = {}
        self.replies: list = []
        self.staged_bytes = 0
        from .redact import home

        self.home = home()
        self.home_bytes = self.home.encode("utf-8", "surrogateescape") if self.home else b""

    # -- the pass --------------------------------------------------------------------------
    def archive(self, fh):
        """The archive's bytes, a batch of lines at a time; offloads and gathers as it goes."""
        from ..transcripts.lines import raw_lines

        batch, size = [], 0
        for number, _, raw in raw_lines(fh, max_line=1 << 62):
            self.lines += 1
            batch.append(self._line(number, raw))
            size += len(raw)
            if size >= BATCH_BYTES:
                yield self._redacted(batch)
                batch, size = [], 0
        if batch:
            yield self._redacted(batch)

    def _line(self, number: int, raw: bytes):
        """[raw bytes, the object (None when it is not a JSON object), changed]."""
        try:
            obj = loads_bulk(raw)  # a pass over megabytes: orjson when there, json's values
        except ValueError:
            if raw.strip():
                self.unreadable.append(number)
            return [raw, None, False]
        if not isinstance(obj, dict):
            return [raw, None, False]
        if obj.get("type") == "response_item":  # a Codex rollout
            return self._codex_line(number, raw, obj)
        message = obj.get("message")
        if obj.get("type") not in ("user", "assistant") or not isinstance(message, dict) \
                or message.get("role") not in ("user", "assistant"):
            return [raw, obj, False]
        texts = list(strings(message.get("content")))
        count = self.c.count
        if texts:
            if count.method == "estimate" and message["role"] == "user":
                # the results tier 1 may count are estimated alone in the same pass (see Compactor.tokens)
                total, alone = estimate_joined(texts, self.threshold // 2 + 1)
                if alone:
                    count = _Known(count, {id(texts[i]): (texts[i], n) for i, n in alone.items()})
                self.tokens_before += total
            else:
                self.tokens_before += count("\n".join(texts))
        self._gather(message, obj)
        changed = False
        if message["role"] == "user" and isinstance(message.get("content"), list):
            [new], items = offload.tier1([message], self.threshold, count, self._put)
            if items:
                for item in items:
                    item.pop("message", None)
                    item["line"] = number
                self.items += items
                obj = dict(obj, message=new)
                changed = True
        return [raw, obj, changed]

    def _codex_line(self, number: int, raw: bytes, obj: dict):
        """A Codex response item, read as the message tether's tiers know (codex_message): counted,
        gathered for the summary, and a large tool output offloaded in the line's payload."""
        payload = obj.get("payload")
        message = codex_message(payload)
        if message is None:
            return [raw, obj, False]
        texts = list(strings(message["content"]))
        if texts:
            self.tokens_before += self.c.count("\n".join(texts))
        if not message.pop("context", False):
            self._gather(message, obj)
        if payload.get("type") not in CODEX_OUTPUTS:
            return [raw, obj, False]
        [new], items = offload.tier1([message], self.threshold, self.c.count, self._put)
        if not items:
            return [raw, obj, False]
        for item in items:
            item.pop("message", None)
            item["line"] = number
        self.items += items
        stub = new["content"][0]["content"]
        output = payload["output"]
        output = dict(output, content=stub) if isinstance(output, dict) else stub
        return [raw, dict(obj, payload=dict(payload, output=output)), True]

    def _put(self, data: bytes):
        out = self.c._put(data)
        self.staged_bytes += len(data)
        if self.staged_bytes >= STAGED_LIMIT:
            self.c._store_staged()
            self.staged_bytes = 0
        return out

    def _gather(self, message: dict, obj: dict) -> None:
        """What the summary needs, kept small: the first request, the last decisions, the files,
        the last replies."""
        msg = {"role": message["role"], "content": message.get("content")}
        if msg["role"] == "user":
            if not self.first_request and obj.get("isMeta") is not True and obj.get("isCompactSummary") is not True:
                self.first_request = _summary.first_request([msg])
            return
        for decision in _summary.decisions([msg], limit=_DECISIONS):
            if decision not in self.decisions:
                self.decisions.append(decision)
        del self.decisions[:-_DECISIONS]
        modified, read = _summary.files_touched([msg], self.c.workspace.root_dir)
        for path in modified:
            self.modified.setdefault(path, None)
        for path in read:
            self.read.setdefault(path, None)
        text = "\n".join(p["text"] for p in msg["content"] if isinstance(p, dict) and isinstance(p.get("text"), str)) \
            if isinstance(msg["content"], list) else msg["content"] if isinstance(msg["content"], str) else ""
        if text.strip():
            self.replies.append({"role": "assistant", "content": text})
            del self.replies[:-_KEEP_REPLIES]

    def _redacted(self, batch: list) -> bytes:
        redactor = self.c._redactor_or_none()
        found: dict = {}
        counts: list = []
        hit: set = set()
        if redactor is not None:
            texts = []
            for raw, obj, _ in batch:
                values = [raw.decode("utf-8", "replace")] if obj is None else strings(obj)
                texts += values
                counts.append(len(values))
            found = redactor.find_many(texts)
            if found:  # the line each text is of: the first whose strings end after it
                import bisect
                from itertools import accumulate

                ends = list(accumulate(counts))
                hit = {bisect.bisect_right(ends, i) for i in found}
        out = []
        position = 0
        for index, (raw, obj, changed) in enumerate(batch):
            count = counts[index] if counts else 0
            if index in hit:
                changed = True
                obj = self._apply(obj, raw, found, position)
            position += count
            if not changed:
                line = raw
            elif isinstance(obj, bytes):
                line = obj
            else:
                end = b"\n" if raw.endswith(b"\n") else b""
                line = utf8(json.dumps(obj, ensure_ascii=False, separators=(",", ":"))) + end
            if self.home and self.home_bytes in line:  # the cwd of every line: private
                text, n = self.c._unhome(line.decode("utf-8", "surrogateescape"))
                line = text.encode("utf-8", "surrogateescape")
                self.archive_redactions += n
            out.append(line)
        return b"".join(out)

    def _apply(self, obj, raw: bytes, found: dict, first: int):
        from .api import _map_strings
        from .redact import apply

        position = iter(range(first, first + 10 ** 12))

        def fix(text: str) -> str:
            index = next(position)
            redaction = found.get(index)
            if redaction is None:
                return text
            self.archive_redactions += redaction.count
            self.c._redacted_types(redaction.types())
            return apply(text, redaction)

        if obj is None:
            return fix(raw.decode("utf-8", "replace")).encode("utf-8")
        return _map_strings(obj, fix)

    # -- the report ------------------------------------------------------------------------
    def finish(self, digest: str, archived_new: bool) -> dict:
        c = self.c
        archive = f"conversations/{digest[:12]}"
        in_state = [0]  # redactions made in the last reply before its cut (current_state's redact)

        def redacted_reply(reply: str) -> str:
            reply, count = c.redacted(reply)
            in_state[0] += count
            return reply

        sections = {"objective": _summary._clip(self.first_request, 1500), "task": c._task_state(),
                    "decisions": [], "files_modified": list(self.modified),
                    "files_read": [p for p in self.read if p not in self.modified],
                    "open_items": _summary.open_items(self.replies),
                    "state": _summary.current_state(self.replies, redact=redacted_reply)}
        task = sections["task"] or {}
        sections["decisions"] = list(task.get("decisions") or []) + self.decisions
        sections["open_items"] = list(task.get("remaining") or []) + sections["open_items"]
        # Made of the transcript's words (the first request, the last replies): committed, so redacted too.
        text, summary_redactions = c.redacted(_summary.render(sections, archive=archive, pins=c.pins()))
        summary_redactions += in_state[0]
        summary_digest, _, summary_new = c.workspace.store.put_cached_many([("conversations", utf8(text))])[0]
        removed = sum(i["tokens"] for i in self.items)
        stubs = sum(i.pop("stub_tokens") for i in self.items)
        offloaded_redactions = sum(i["redactions"] for i in self.items)
        report = {
            # Its name only: the folder Claude Code keeps it in spells the home directory and the
            # project's path, and this report is committed (the session log, per machine, has it all).
            "transcript": os.path.basename(self.path), "lines": self.lines, "unreadable_lines": self.unreadable[:20],
            "threshold": self.threshold, "offloaded": self.items,
            "archive": archive, "sha256": digest, "summary": f"conversations/{summary_digest[:12]}",
            "summary_sha256": summary_digest, "summary_tokens": c.count(text),
            "tokens_before": self.tokens_before, "tokens_after": self.tokens_before - removed + stubs,
            "redactions": offloaded_redactions + self.archive_redactions + summary_redactions,
            "archive_redactions": self.archive_redactions, "summary_redactions": summary_redactions,
            "redacted_types": dict(c._types),
            "method": c.count.method,
        }
        new = archived_new or summary_new or c.stored_new
        report["stored_new"] = new
        if new:
            report["log"] = c.workspace.store.append_compaction(dict(report, at=_now(), hook="pre_compact"))
        if c.pin_problems:  # pins left out of the summary: said by the hook, not part of the record
            report["problems"] = [p.to_dict() for p in c.pin_problems]
        return report



#: Codex's tool outputs and calls among its response items.
CODEX_OUTPUTS = ("function_call_output", "custom_tool_call_output")
CODEX_CALLS = ("function_call", "custom_tool_call")
#: How the user-role messages Codex writes itself begin (the environment, AGENTS.md, skills).
_CODEX_CONTEXT = ("<environment_context>", "<user_instructions>", "# AGENTS.md instructions", "<skills_instructions>",
                  "<permissions instructions>")


def codex_message(payload) -> dict | None:
    """A Codex rollout's response item as a message of tether's tiers ("role" and "content"
    blocks: text, tool_use, tool_result), or None for what they do not read (reasoning, the
    developer's messages). A message Codex wrote itself is marked ``context``: counted, never
    taken for the user's request."""
    if not isinstance(payload, dict):
        return None
    kind = payload.get("type")
    call = payload.get("call_id") if isinstance(payload.get("call_id"), str) else ""
    if kind == "message" and payload.get("role") in ("user", "assistant"):
        content = payload.get("content")
        parts = content if isinstance(content, list) else [{"text": content}]  # Codex writes a list
        blocks = [{"type": "text", "text": part["text"]} for part in parts
                  if isinstance(part, dict) and isinstance(part.get("text"), str)]
        message = {"role": payload["role"], "content": blocks}
        if payload["role"] == "user" and blocks and blocks[0]["text"].lstrip().startswith(_CODEX_CONTEXT):
            message["context"] = True
        return message
    if kind in CODEX_OUTPUTS:
        # A string, {"content": str, "success": bool}, or a list of content items (text, images)
        output = payload.get("output")
        text = output.get("content") if isinstance(output, dict) else output
        if not isinstance(text, (str, list)):
            return None
        return {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call, "content": text}]}
    if kind in CODEX_CALLS:
        if kind == "custom_tool_call":  # apply_patch: the patch itself
            tool_input = {"command": payload.get("input")}
        else:
            from ..transcripts.records import arguments_of

            tool_input = arguments_of(payload.get("arguments"))
        return {"role": "assistant", "content": [{"type": "tool_use", "id": call, "name": str(payload.get("name") or "?"),
                                                  "input": tool_input}]}
    return None


def _now() -> str:
    from ..model import clock

    return clock.stamp()
