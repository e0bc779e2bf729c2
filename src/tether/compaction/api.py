"""The compaction facade: one call applies the tiers, stores what they take out, and reports.

    from tether.compaction import compact
    new_messages, report = compact(messages)                 # the tiers the context's state calls for
    new_messages, report = compact(messages, tiers=[1, 2])   # or those named

``messages`` is a list of messages (OpenAI or Anthropic chat format), or a request object with
``messages``; what comes back has the same form, ready to send. What the tiers take out goes to
the repository's cache (``.tether/cache/``, committed), secrets redacted; ``show(ref)`` gives
its bytes back. The report (tokens before and after each tier, what was offloaded, redactions)
is returned and appended to ``.tether/memory/compactions.jsonl``.
"""

from __future__ import annotations

from ..errors import InvalidInput, NotFound
from ..model import clock, ids
from ..model.record import Record
from ..store.cache_files import cache_digest
from . import messages as _messages
from . import offload, pins as _pins, summary as _summary

DEFAULTS = {"threshold": 15_000, "input_limit": 2_000, "keep_recent": 4, "redact": True, "summariser": ""}
TIERS_FOR_STATE = {"GREEN": (), "YELLOW": (), "ORANGE": (1, 2), "RED": (1, 2, 3), "CRITICAL": (1, 2, 3)}


class Compaction(Record):
    """What one compaction did: ``document`` (the compacted list, a messages.Document), ``report``."""

    FIELDS = {"document": None, "report": dict}

    @property
    def messages(self) -> list:
        return self.document.messages

    def output(self):
        """The compacted list in the form it came in: a list, or the request object."""
        if self.document.shape == _messages.OBJECT:
            return {**(self.document.envelope or {}), "messages": self.document.messages}
        return self.document.messages


STATE_LIMIT = 300  # characters of the last reply a tier 3 checkpoint keeps as its state


class Compactor:
    """Compaction in one workspace. Options left None come from ``[compaction]`` in tether.toml,
    then from DEFAULTS. ``summariser``: a callable given the messages to summarise (a list) that
    returns the summary's text, replacing the extracted sections (None: the extracted ones; anything
    else that is not a non-empty str is refused with InvalidInput)."""

    def __init__(self, workspace=None, *, threshold: int | None = None, input_limit: int | None = None,
                 keep_recent: int | None = None, redact: bool | None = None, summariser=None,
                 exact: bool | None = False, model: str | None = None, window: int | None = None) -> None:
        if workspace is None:
            from ..workspace import Workspace

            workspace = Workspace.open()
        self.workspace = workspace
        configured = dict(DEFAULTS, **(getattr(workspace.config, "compaction", None) or {}))
        given = {"threshold": threshold, "input_limit": input_limit, "keep_recent": keep_recent, "redact": redact}
        self.options = {k: (v if v is not None else configured[k]) for k, v in given.items()}
        keep = self.options["keep_recent"]
        if isinstance(keep, bool) or not isinstance(keep, int) or keep < 0:
            raise InvalidInput(f"keep_recent must be a whole number of messages (0 or more), got {keep!r}",
                               hint=f"e.g. --keep {DEFAULTS['keep_recent']}")
        from ..transcripts.windows import checked_window

        checked_window(window)
        for key in ("threshold", "input_limit"):
            value = self.options[key]
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidInput(f"{key} must be a whole number of tokens of at least 1, got {value!r}",
                                   hint=f"e.g. {key.replace('_', '-')} {DEFAULTS[key]}")
        self.summariser = summariser
        self.summariser_command = configured.get("summariser") or ""
        from ..transcripts.tokens import counter

        self.count = counter(exact, model=model)  # the encoding `tether usage --model` counts with
        self.model = model
        self.window = window
        # [context]'s windows and thresholds, read as `tether usage` reads them: both judge a list alike.
        self.context_settings = workspace.config.context_settings()
        self._redactor = None
        self._types: dict = {}  # redacted types by count: of the running compaction, or of keep()'s texts
        self._gathered = None
        self._staged: dict = {}
        self._writing = None  # the thread writing staged files, while the summary is made
        self.stored_new = False  # whether a compaction of this Compactor wrote a file not there before
        # The pins log's lines that did not read, as the last pins() met them: a pin left out is said.
        self.pin_problems: list = []

    # -- reading the state -----------------------------------------------------------------
    def tokens(self, source) -> int:
        """Tokens of every string in the list (and a request's system prompt), counted as one text:
        one call of the counter, not one per string. ``source``: what :meth:`compact` takes."""
        from ..transcripts.tokens import IMAGE_TOKENS, counted_strings

        doc = self._document(source)
        texts, images = self._counted_strings(doc)
        system, system_images = counted_strings((doc.envelope or {}).get("system"))
        texts, images = texts + system, images + system_images
        if self.count.method != "estimate":
            return self.count("\n".join(texts)) + images * IMAGE_TOKENS
        # The estimate sums the texts' parts without joining them (transcripts.tokens.estimate_joined),
        # and counts those tier 1 or 2 may count on their own in the same pass: the tiers ask again.
        from ..transcripts.tokens import estimate_joined

        alone_from = None
        if self._gathered is not None and self._gathered.get("alone"):
            # the estimate's bound is at most 2 a character: a shorter text is never counted by them
            alone_from = min(self.options["threshold"], self.options["input_limit"]) // 2 + 1
        total, alone = estimate_joined(texts, alone_from)
        if alone:
            known = self._gathered.setdefault("known", {})
            for index, tokens in alone.items():
                known[id(texts[index])] = (texts[index], tokens)
        return total + images * IMAGE_TOKENS

    def _counter(self):
        """The counter, answering for the texts already counted in this compaction."""
        known = (self._gathered or {}).get("known")
        return _Known(self.count, known) if known else self.count

    def _counted_strings(self, doc) -> tuple[list, int]:
        """The strings of the messages that count as text, and their inline images (counted_strings),
        gathered once per compaction as _message_strings is."""
        from ..transcripts.tokens import counted_strings

        if self._gathered is None:
            return counted_strings(doc.messages)
        if self._gathered.get("counted_of") is not doc.messages:
            self._gathered.update({"counted_of": doc.messages, "counted": counted_strings(doc.messages)})
        return self._gathered["counted"]

    def _message_strings(self, doc) -> list:
        """Every string of the messages, gathered once per compaction for the state and tier 3's
        archive (within one, no list is changed in place: a tier makes a new one)."""
        if self._gathered is None:
            return _messages.strings(doc.messages)
        if self._gathered.get("of") is not doc.messages:
            counted = self._gathered.get("counted") if self._gathered.get("counted_of") is doc.messages else None
            # with no inline image, the strings counted are every string, in the same order
            every = counted[0] if counted is not None and not counted[1] else _messages.strings(doc.messages)
            self._gathered.update({"of": doc.messages, "strings": every})
        return self._gathered["strings"]

    def state(self, source) -> dict:
        """How full the context this list makes is: tokens, window, percent, state and action, with
        the windows and state thresholds of ``[context]`` in tether.toml (as `tether usage`).
        ``source``: what :meth:`compact` takes."""
        from ..transcripts.states import ACTIONS, state_for
        from ..transcripts.windows import window_for

        doc = self._document(source)
        tokens = self.tokens(doc)
        model = self.model or (doc.envelope or {}).get("model")
        settings = self.context_settings
        window, source = window_for(model if isinstance(model, str) else None, tokens, window=self.window,
                                    windows=settings["windows"])
        percent = 100.0 * tokens / window if window else 0.0
        state = state_for(percent, settings["thresholds"])
        return {"tokens": tokens, "window": window, "window_source": source, "percent": round(percent, 1),
                "state": state, "action": ACTIONS[state], "method": self.count.method}

    # -- storing what is taken out ----------------------------------------------------------
    def _redactor_or_none(self):
        if not self.options["redact"]:
            return None
        if self._redactor is None:
            from .redact import Redactor, Unavailable

            try:
                self._redactor = Redactor()
            except Unavailable as exc:
                raise InvalidInput(f"cannot redact secrets: {exc}",
                                   hint="install detect-secrets, or set redact = false under [compaction]") from None
        return self._redactor

    def _put(self, data: bytes):
        """Redact, store; (ref, digest, redactions, the text as stored)."""
        text, count = self.redacted(data.decode("utf-8", "surrogatepass"))
        if count:
            data = text.encode("utf-8", "surrogatepass")
        digest = self._stage("offloaded", data)
        return f"offloaded/{digest[:12]}", digest, count, text

    def redacted(self, text: str) -> tuple[str, int]:
        """``text`` as it may be committed: secrets redacted (when this compactor redacts) and the
        home directory written ``~``; (the text, how many were cut)."""
        count = 0
        redactor = self._redactor_or_none()
        if redactor is not None:
            cut, found = redactor.redact(text)
            if found.count:
                count = found.count
                self._redacted_types(found.types())
                text = cut
        text, homes = self._unhome(text)
        return text, count + homes

    def _unhome(self, text: str) -> tuple[str, int]:
        """The home directory written ``~`` (counted as a redaction of its own type)."""
        from .redact import HOME_TYPE, home, unhome

        text, n = unhome(text, home())
        if n:
            self._redacted_types({HOME_TYPE: n})
        return text, n

    def _stage(self, kind: str, data: bytes) -> str:
        """The digest ``data`` will be stored under; the file is written by :meth:`_store_staged`,
        with the others of this compaction (one flush for all). The home directory is never
        stored (see redact.unhome)."""
        from .redact import home

        prefix = home()
        if prefix and prefix.encode("utf-8", "surrogateescape") in data:
            text, _ = self._unhome(data.decode("utf-8", "surrogateescape"))
            data = text.encode("utf-8", "surrogateescape")
        digest = cache_digest(data)
        if digest not in self._staged:
            self._staged[digest] = (kind, data, digest)
        return digest

    def _store_staged(self) -> None:
        """Write what the tiers took out, durably, before anything reports it as stored."""
        self._written()
        staged, self._staged = list(self._staged.values()), {}
        if staged:
            stored = self.workspace.store.put_cached_many(staged)
            self.stored_new = self.stored_new or any(new for _, _, new in stored)

    def _store_staged_meanwhile(self) -> None:
        """Start writing what is staged in a thread of its own: the waits for the disk (which
        release the GIL) pass while the summary is made. :meth:`_store_staged` waits for it, and
        raises what it raised. Only once nothing can refuse the compaction: a refused one stores
        nothing."""
        self._written()  # one writer at a time
        staged, self._staged = list(self._staged.values()), {}
        if not staged:
            return
        import threading

        done: dict = {}

        def write() -> None:
            try:
                done["stored"] = self.workspace.store.put_cached_many(staged)
            except BaseException as exc:  # raised again in the compaction's own thread
                done["error"] = exc

        thread = threading.Thread(target=write, name="tether-compaction-store", daemon=True)
        thread.start()
        self._writing = (thread, done)

    def _written(self) -> None:
        """Wait for the writes :meth:`_store_staged_meanwhile` started."""
        writing, self._writing = self._writing, None
        if writing is None:
            return
        thread, done = writing
        thread.join()
        if "error" in done:
            raise done["error"]
        self.stored_new = self.stored_new or any(new for _, _, new in done["stored"])

    def keep(self, text: str, kind: str = "conversations", log: dict | None = None) -> dict:
        """Store a text in the cache now (secrets redacted, the home directory written ``~``),
        as a compaction stores what it takes out: ``{"ref", "sha256", "redactions", "new"}``.
        The PostCompact hook keeps Claude Code's own summary this way. ``log``: fields of a line
        for the compaction log naming what was kept (a cached file no committed log names is an
        orphan to `tether audit`, and to every other clone)."""
        text, count = self.redacted(text)
        digest = self._stage(kind, text.encode("utf-8", "surrogatepass"))
        before = self.stored_new
        self.stored_new = False
        self._store_staged()
        new, self.stored_new = self.stored_new, before or self.stored_new
        kept = {"ref": f"{kind}/{digest[:12]}", "sha256": digest, "redactions": count, "new": new}
        if log is not None:
            kept["log"] = self.workspace.store.append_compaction(
                {**log, "at": _now(), "kept": kept["ref"], "kept_sha256": digest})
        return kept

    def _redacted_types(self, types: dict) -> None:
        for kind, n in types.items():
            self._types[kind] = self._types.get(kind, 0) + n

    def _archive(self, doc) -> tuple[str, str, int]:
        """The whole list, redacted, in the cache; (ref, digest, redactions). Nothing redacted: the
        bytes it was read from, when they can be kept as they are (messages.verbatim)."""
        redactor = self._redactor_or_none()
        count = 0
        data = None
        if redactor is not None:
            from .redact import apply

            whole = {"messages": doc.messages, "envelope": doc.envelope}
            texts = self._message_strings(doc) + _messages.strings(doc.envelope)  # strings(whole)
            found = redactor.find_many(texts)
            if found:
                for redaction in found.values():
                    count += redaction.count
                    self._redacted_types(redaction.types())
                position = iter(range(len(texts)))

                def fix(text: str) -> str:
                    index = next(position)
                    return apply(text, found[index]) if index in found else text

                whole = _map_strings(whole, fix)
                doc = _messages.Document(whole["messages"], doc.shape, doc.dialect, whole["envelope"])
            else:
                data = _messages.verbatim(doc)
        else:
            data = _messages.verbatim(doc)
        digest = self._stage("conversations", data if data is not None else _messages.dump(doc))
        return f"conversations/{digest[:12]}", digest, count

    # -- compacting --------------------------------------------------------------------------
    def compact(self, source, tiers=None, *, summary: str | None = None, record: bool = True) -> Compaction:
        """Apply ``tiers`` (default: those the state calls for) to ``source``: a Document, a list of
        messages, a request object, or the bytes of one. ``summary``: the tier 3 summary's text,
        given (it replaces the extracted sections and any summariser)."""
        with _messages.collector_paused():
            doc = self._document(source)
            self._gathered = {"alone": not tiers or bool({1, 2} & set(tiers))}  # whether tier 1 or 2 may count
            try:
                return self._compact(doc, tiers, summary, record)
            finally:
                self._gathered = None
                writing, self._writing = self._writing, None
                if writing is not None:  # the compaction failed after it began to write: wait, its error stands
                    writing[0].join()

    def _compact(self, doc, tiers, summary, record) -> Compaction:
        before = self.state(doc)
        chosen = tuple(sorted(set(tiers))) if tiers else TIERS_FOR_STATE[before["state"]]
        for tier in chosen:
            if tier not in (1, 2, 3):
                raise InvalidInput(f"there is no tier {tier}", hint="tiers are 1 (tool results), 2 (tool inputs)"
                                                                    " and 3 (summary)")
        self._types: dict = {}
        self._staged: dict = {}
        pins = self.pins()
        reports = []
        current = doc.copy_with(_summary.without_tether_blocks(doc.messages))
        tokens = before["tokens"] if len(current.messages) == len(doc.messages) else self.tokens(current)
        for tier in chosen:
            start = tokens
            extra: dict = {}
            if tier in (1, 2):
                if tier == 1:
                    new, items = offload.tier1(current.messages, self.options["threshold"], self._counter(), self._put)
                    extra = {"offloaded": items, "threshold": self.options["threshold"]}
                else:
                    new, items = offload.tier2(current.messages, self.options["input_limit"], self._counter(),
                                               self._put)
                    extra = {"offloaded": items, "input_limit": self.options["input_limit"]}
                # What left less what came in its place: the rest of the list is unchanged, and
                # counting a long list again per tier would cost more than the tier.
                tokens = start - sum(i["tokens"] for i in items) + sum(i.pop("stub_tokens") for i in items)
            else:
                new, extra = self._tier3(doc, current, pins, summary)
                tokens = self.tokens(current.copy_with(new))
            current = current.copy_with(new)
            extra["redactions"] = sum(i.get("redactions", 0) for i in extra.get("offloaded", ())) + extra.get(
                "archive_redactions", 0)
            reports.append({"tier": tier, "tokens_before": start, "tokens_after": tokens, **extra})
        self._store_staged()
        # The summary carries the pins; without one (tier 3 not chosen, or nothing old enough to
        # summarise) they go in a block of their own, so the pins the report names are in the list.
        summarised = any(r["tier"] == 3 and r.get("summarised_messages") for r in reports)
        if pins and chosen and not summarised:
            system, rest = _leading_system(current.messages)
            current = current.copy_with(_summary.with_block(system, _summary.pins_text(pins), rest, doc.dialect))
        after = tokens if summarised or not (pins and chosen) else tokens + self.count(_summary.pins_text(pins))
        report = {"at": _now(), "state": before,
                  "tiers": reports, "tokens_before": before["tokens"], "tokens_after": after,
                  "pins": [p["id"] for p in pins] if chosen else [],
                  "redactions": sum(r["redactions"] for r in reports), "redacted_types": dict(self._types),
                  "format": {"shape": doc.shape, "dialect": doc.dialect}, "method": self.count.method}
        if not chosen:
            report["note"] = f"the context is {before['state']} ({before['percent']}%): no tier is due"
        if record and chosen:
            report["log"] = self.workspace.store.append_compaction(report)
        if self.pin_problems:  # what this run met, not part of the compaction's record
            report["problems"] = [p.to_dict() for p in self.pin_problems]
        return Compaction(document=current, report=report)

    def _tier3(self, original, current, pins, given: str | None):
        system, older, recent = _summary.split_for_summary(current.messages, self.options["keep_recent"])
        if not older:
            return current.messages, {"summarised_messages": 0, "kept_messages": len(recent),
                                      "note": f"nothing older than the last {self.options['keep_recent']} messages"
                                              " to summarise"}
        ref, digest, redacted = self._archive(original)
        # The task's files read before the writes start: one that does not read refuses the
        # compaction, and a refused one stores nothing.
        task = self._task_state()
        fell = self.workspace.stand_in() if task is not None else None
        if given is not None or self.summariser is None:  # nothing left to refuse the compaction
            self._store_staged_meanwhile()
        extra = {"archive": ref, "sha256": digest, "archive_redactions": redacted, "summarised_messages": len(older),
                 "kept_messages": len(recent)}
        sections = _summary.extract(older, task, self.workspace.root_dir, redact=lambda text: self.redacted(text)[0])
        body, source = given, "given"
        if body is None and self.summariser is not None:
            with _messages.collector_running():  # the user's code (a model's client, say) as it runs elsewhere
                body, source = self.summariser(older), "summariser"
            # A summary of nothing would stand for the messages it removes: refused, as the
            # command's empty output is (cli.summariser), before anything is stored.
            if body is not None and (not isinstance(body, str) or not body.strip()):
                raise InvalidInput(f"the summariser returned {_clip(repr(body), 60)}, not the summary's text",
                                   hint="return the summary as a non-empty str (or None for tether's own);"
                                        " nothing was compacted")
        if body is None:
            source = "extracted"
        extra["summary_source"] = source
        text = _summary.render(sections, archive=ref, pins=pins, body=body)
        if fell is not None:  # an automatic checkpoint never goes to a task the agent did not choose
            extra["note"] = (f"no checkpoint: {fell['chosen']}, the task chosen on this machine, is no longer open"
                             f" (the open task {fell['active']} was not chosen)")
        elif task is not None:
            self._store_staged()  # the checkpoint names the archive: it is on disk first
            extra["checkpoint"] = self._checkpoint(sections, ref)
        return _summary.with_block(system, text, recent, original.dialect), extra

    def _task_state(self) -> dict | None:
        ws = self.workspace
        if ws.active_task_id() is None:
            return None
        resume = ws.progress(ws.task())  # where the task stands (no staleness asked: no git while compacting)
        task = resume.task
        remaining = [f"{task.unit_name} {i}: {u}" for i, u in enumerate(task.units, 1) if i not in set(resume.done)]
        decided = [f"{d.decision} ({d.question})" for d in ws.decisions(limit=5) if d.task in (None, task.id)]
        return {"id": task.id, "title": task.title, "definition": task.definition, "remaining": remaining[:10],
                "decisions": decided, "resume": resume.message()}

    def _checkpoint(self, sections: dict, ref: str) -> str | None:
        latest = self.workspace.latest_checkpoint()
        if latest is not None and (latest.key_data or {}).get("archive") == ref:
            return latest.id  # the same conversation compacted again: the newest checkpoint already says so
        from ..core.tasks import plain  # as the hooks' automatic checkpoints keep the agent's last message

        # The last reply's end, whole sentences (or words): where the work stood, not a cut from its middle.
        # Redacted whole already (extract's redact): a cut can part a secret from its BEGIN line.
        state = plain(sections["state"], STATE_LIMIT, end=True) if sections["state"].strip() else "context compacted"
        ckp = self.workspace.checkpoint(state=state, key_data={"archive": ref},
                                        files=sections["files_modified"][:20],
                                        note=f"tier 3 compaction: summary made, conversation archived ({ref})")
        return ckp.id

    def _document(self, source):
        if isinstance(source, _messages.Document):
            return source
        if isinstance(source, (bytes, bytearray)):
            return _messages.parse(bytes(source))
        if isinstance(source, list):
            return _messages.Document(_messages._checked(source, "messages"), _messages.ARRAY)
        if isinstance(source, dict) and isinstance(source.get("messages"), list):
            envelope = {k: v for k, v in source.items() if k != "messages"}
            return _messages.Document(_messages._checked(source["messages"], "messages"), _messages.OBJECT,
                                      envelope=envelope)
        raise InvalidInput("not a message list", hint="give a list of messages or an object with \"messages\"")

    # -- the cache and the pins -----------------------------------------------------------------
    def show(self, ref: str) -> bytes:
        """The bytes stored under ``ref`` (as stored: secrets redacted)."""
        store = self.workspace.store
        kind, digest = store.find_cached(ref)
        return store.read_cached(kind, digest)

    def pins(self) -> list[dict]:
        """The pins in force; ``pin_problems`` the log's lines left out (with path and line)."""
        return _pins.current(self._pin_entries())

    def _pin_entries(self) -> list[dict]:
        store = self.workspace.store
        with store.collecting() as problems:
            entries = store.pin_entries()
        self.pin_problems = list(problems)
        return entries

    def pin(self, text: str) -> dict:
        text = text.strip()
        if not text:
            raise InvalidInput("a pin needs text", hint='e.g. tether pin "never touch the migrations folder"')
        pin_id = ids.new_id("PIN")
        entry = {"pin": pin_id, "text": text, "at": _now()}
        self.workspace.store.append_pin(entry)
        # In the memory log too, as a decision or a note is: what a session did (`tether log --session`).
        self.workspace.event("pin", pin=pin_id)
        return {"id": pin_id, "text": text, "at": entry["at"]}

    def unpin(self, ref: str) -> dict:
        matches = _pins.find(self._pin_entries(), ref)
        if not matches:
            raise NotFound(f"no pin {ref}", hint="run `tether pin --list` to see the pins and their ids")
        if len(matches) > 1:
            raise InvalidInput(f"{ref} begins {len(matches)} pins' ids ({', '.join(p['id'] for p in matches[:4])})",
                               hint="give more of the id; `tether pin --list` shows them")
        found = matches[0]
        self.workspace.store.append_pin({"unpin": found["id"], "at": _now()})
        self.workspace.event("unpin", pin=found["id"])
        return found


class _Known:
    """A counter that gives the count of a text already counted (the same object) without
    counting it again; any other text is counted."""

    __slots__ = ("count", "known", "method")

    def __init__(self, count, known: dict):
        self.count, self.known, self.method = count, known, count.method

    def at_most(self, text: str):
        return self.count.at_most(text)

    def __call__(self, text: str) -> int:
        hit = self.known.get(id(text))
        return hit[1] if hit is not None and hit[0] is text else self.count(text)


def compact(messages, tiers=None, *, workspace=None, summary: str | None = None, **options):
    """One call: (the compacted messages in the form given, the report)."""
    done = Compactor(workspace, **options).compact(messages, tiers, summary=summary)
    return done.output(), done.report


def _leading_system(messages: list) -> tuple[list, list]:
    head = 0
    while head < len(messages) and messages[head].get("role") in ("system", "developer"):
        head += 1
    return messages[:head], messages[head:]


def _map_strings(value, fn):
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, dict):
        return {k: _map_strings(v, fn) for k, v in value.items()}
    if isinstance(value, list):
        return [_map_strings(v, fn) for v in value]
    return value


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _now() -> str:
    return clock.stamp()
