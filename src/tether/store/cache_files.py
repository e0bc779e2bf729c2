"""The store's compaction files: the content-addressed cache, the pins and the compaction log.

A mixin of :class:`tether.store.files.Store`, which gives it ``tree``, ``shown``,
``report``, ``read_record`` and ``_writable``. A cached file's name is the SHA-256 of
its bytes: writing one that exists is a no-op, and reading one checks the name again,
so a file changed by hand is reported rather than handed back as the original.
"""

from __future__ import annotations

from ..errors import InvalidInput, LinkRefused, NotFound, ParseError, Problem
from . import layout
from .codec import canonical_json, iter_jsonl

KINDS = ("offloaded", "conversations")
_HEX = "0123456789abcdef"


def _hex_name(text: str) -> bool:
    """[0-9a-f]{6,64}, the whole of ``text``; without `re`, which most commands need not load."""
    return 6 <= len(text) <= 64 and not text.strip(_HEX)


class CacheFiles:
    def put_cached(self, kind: str, data: bytes) -> tuple[str, str]:
        """Store ``data`` in the cache; (digest, shown path). Idempotent."""
        self._writable()
        digest = _sha256(data).hexdigest()
        rel = layout.cached_file(kind, digest)
        self.tree.create(rel, data)  # False when it is there already: same name, same bytes
        return digest, self.shown(rel)

    def put_cached_many(self, items) -> list[tuple[str, str, bool]]:
        """``put_cached`` for each (kind, data), all made durable together (one flush, not two
        per file); every file is on disk when it returns. (digest, shown path, whether new). An
        item may carry a third element, its :func:`cache_digest` already made (not made twice)."""
        self._writable()
        out, rels = [], []
        for kind, data, *known in items:
            digest = known[0] if known else cache_digest(data)
            rel = layout.cached_file(kind, digest)
            rels.append((rel, data))
            out.append((digest, self.shown(rel)))
        created = self.tree.create_many(rels) if rels else []
        return [(d, shown, new) for (d, shown), new in zip(out, created)]

    def put_cached_stream(self, kind: str, chunks) -> tuple[str, str, bool]:
        """Store the bytes of ``chunks`` (read once, never held whole); (digest, shown path,
        whether new)."""
        self._writable()
        digest, new = self.tree.create_hashed(layout.cached_file(kind, "x").rsplit("/", 1)[0], chunks)
        return digest, self.shown(layout.cached_file(kind, digest)), new

    def cached_path(self, kind: str, digest: str) -> str:
        return self.shown(layout.cached_file(kind, digest))

    def find_cached(self, ref: str) -> tuple[str, str]:
        """(kind, digest) of a reference: ``offloaded/<hex>``, ``conversations/<hex>``, a path
        ending in one, or a hex digest or a unique prefix of at least 6 digits."""
        text = ref.strip().removeprefix("sha256:")
        kind = None
        for name in KINDS:
            marker = f"{name}/"
            if marker in text:
                kind, text = name, text.rsplit(marker, 1)[1]
        text = text.lower()
        if not _hex_name(text):
            raise InvalidInput(f"{ref!r} is not a cache reference",
                               hint="give the reference a stub shows, e.g. offloaded/3f2a9c41 (6 to 64 hex digits)")
        found = []
        for name in (kind,) if kind else KINDS:
            for entry in self._list(f"{layout.CACHE}/{name}"):
                if entry.startswith(text):
                    found.append((name, entry))
        if not found:
            raise NotFound(f"nothing in the cache is named {ref}",
                           hint="check the reference in the stub; the cache is .tether/cache/ (is the branch"
                                " that offloaded it merged or pulled?)")
        if len(found) > 1:
            raise InvalidInput(f"{ref} names {len(found)} cached files", hint="give more hex digits of the reference")
        return found[0]

    def read_cached(self, kind: str, digest: str) -> bytes:
        rel = layout.cached_file(kind, digest)
        data = self.read_record(rel)
        if data is None:
            raise NotFound(f"no cached file {self.shown(rel)}")
        if _sha256(data).hexdigest() != digest:
            raise ParseError(self.shown(rel), None, "its content no longer matches its name (edited by hand?);"
                             " restore its last committed version with `git checkout -- PATH`")
        return data

    def cached_files(self) -> list[tuple[str, str, str]]:
        """(kind, digest, shown path) of every file in the cache."""
        out = []
        for kind in KINDS:
            for name in self._list(f"{layout.CACHE}/{kind}"):
                if _hex_name(name):
                    out.append((kind, name, self.shown(layout.cached_file(kind, name))))
        return out

    def cache_referrers(self) -> list[tuple[str, bytes]]:
        """(shown path, bytes) of the logs that name cached files: the compaction log, the session
        log (pre_compact and post_compact records) and the memory log (folded session records)."""
        out = []
        for rel in (layout.COMPACTIONS, layout.SESSION_LOG, layout.EVENT_LOG):
            try:
                data = self.tree.read(rel)
            except (OSError, LinkRefused):
                data = None
            if data:
                out.append((self.shown(rel), data))
        return out

    # -- pins ------------------------------------------------------------------------------
    def append_pin(self, entry: dict) -> None:
        """A pin ``{"pin": id, "text", "at"}`` or its removal ``{"unpin": id, "at"}``."""
        self._writable()
        self.tree.append(layout.PINS, canonical_json(entry) + "\n")

    def pin_entries(self) -> list[dict]:
        """The pins log's lines in order; a bad line is reported and left out."""
        return self._log_rows(layout.PINS, _wrong_pin)

    def has_pins(self) -> bool:
        return self.tree.exists(layout.PINS)

    def _log_rows(self, rel: str, check=None) -> list[dict]:
        try:
            data = self.read_record(rel) or b""
        except ParseError as exc:
            self.report(exc.problem)
            return []
        problems: list[Problem] = []
        rows = list(iter_jsonl(data, self.shown(rel), problems, check=check))
        for problem in problems:
            self.report(problem)
        return rows

    def check_cache(self) -> int:
        """Read every cached file and check its bytes against its name (tether verify), reporting
        each that no longer matches and what sits in the cache under a name that is no digest;
        the number of files read."""
        checked = 0
        for kind in KINDS:
            for name in sorted(self._list(f"{layout.CACHE}/{kind}")):
                if name.startswith("."):
                    continue  # .DS_Store, a writer's temporary file: left alone, as in the other folders
                if len(name) != 64 or not _hex_name(name):
                    self.report(Problem(self.shown(layout.cached_file(kind, name)), None,
                                        "not a cached file's name (the SHA-256 of its bytes, 64 hex digits);"
                                        " `tether show` cannot check it against its bytes"))
                    continue
                checked += 1
                try:
                    self.read_cached(kind, name)
                except ParseError as exc:
                    self.report(exc.problem)
                except NotFound:
                    pass  # removed since it was listed
        return checked

    def generated(self, path: str) -> bool:
        """Whether ``path`` (from the repository's root) is a file tether writes from what it
        computed or archived, not from what a person typed: the cache (offloaded results, archived
        transcripts, summaries) and the compaction log (digests)."""
        inside = path.removeprefix(layout.STORE_DIR + "/")
        return inside != path and (inside.startswith(layout.CACHE + "/") or inside == layout.COMPACTIONS)

    # -- the compaction log ------------------------------------------------------------------
    def compaction_entries(self) -> list[dict]:
        """The compaction log's lines in order; a bad line is reported and left out."""
        return self._log_rows(layout.COMPACTIONS)

    def has_compactions(self) -> bool:
        return self.tree.exists(layout.COMPACTIONS)

    def append_compaction(self, report: dict) -> str:
        self._writable()
        self.tree.append(layout.COMPACTIONS, canonical_json(report) + "\n")
        return self.shown(layout.COMPACTIONS)


def _wrong_pin(row: dict) -> str | None:
    """What makes a pins log line neither a pin nor its removal (None: it is one)."""
    if isinstance(row.get("pin"), str) and isinstance(row.get("text"), str) or isinstance(row.get("unpin"), str):
        return None
    return 'neither a pin ({"pin": ID, "text": ...}) nor its removal ({"unpin": ID})'


def cache_digest(data: bytes) -> str:
    """The name a cached file of these bytes has: their SHA-256, in hex."""
    return _sha256(data).hexdigest()


def _sha256(data: bytes):
    import hashlib  # not at import: every command loads the store, few store anything here

    return hashlib.sha256(data)
