"""The recall index: one SQLite database per machine with FTS5 over the store's records.

Kept current like the manifest's hash cache (warm.manifest_entries): every recall file is
stat()ed on each refresh and only those whose stat changed are read again, except in the
folders whose files are written once and never edited (checkpoints, decisions, cache/):
there an unchanged folder stat means unchanged files, so history costs one stat per folder.
A stat is kept as trusted only when the file is older than the racily-clean margin
(warm.cachefile), so a change made in the same clock tick is read again next time.
A database that cannot be opened is removed and built again: it is derived, never the truth.

The tasks folder (on a big workspace, ten thousand folders to list) is walked only when the
memory log, which every tether write to a task appends to, changed since the last walk, or that
walk is older than ``TASKS_WALK_TTL``: a hand edit of a task file is seen after the next tether
write or within that time. The same holds for the whole refresh: while the store's witnesses
(the logs tether appends to, the folders it adds files to) are as they were at the last refresh
and that refresh is younger than the same time, nothing is walked at all.
"""

from __future__ import annotations

import os
import sqlite3
import time

from ..errors import ParseError, Problem, Unavailable
from ..warm.cachefile import RACY_NS
from . import extract
from .rank import BM25_WEIGHTS, KIND_WEIGHTS, SITTING_DEPTH, authors_named, lift_authors, lift_sittings

FORMAT = "10"  # 4: the vectors table and records.hash; 5: transcripts indexed as their conversation; 6: fts.context,
# fts.date; 7: records.sitting; 8: records.anchors; 9: records.body_line, packets indexed as their words;
# 10: session contexts as their words, conversations line for line
TASKS_WALK_TTL = 300 * 10**9  # ns
_WITNESSES = "\0witnesses"  # the dirs row holding the witnesses' stats at the last refresh
_SCHEMA = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE files(path TEXT PRIMARY KEY, kind TEXT, key TEXT, dir TEXT);  -- dir: its frozen folder, or NULL
CREATE INDEX files_dir ON files(dir);
CREATE TABLE dirs(path TEXT PRIMARY KEY, key TEXT);
CREATE TABLE records(id INTEGER PRIMARY KEY, path TEXT, kind TEXT, rid TEXT, title TEXT, line INTEGER, at TEXT,
                     who TEXT, session TEXT, task TEXT, status TEXT, number INTEGER, hash TEXT,
                     sitting TEXT,  -- sitting: a note's, the id of its first note (extract._add_neighbours)
                     anchors TEXT,  -- anchors: a context entry's, as JSON, its confirmations applied
                     body_line INTEGER);  -- the file's line of the body's first, when its lines are the file's
CREATE INDEX records_path ON records(path);
CREATE INDEX records_hash ON records(hash);
CREATE INDEX records_task ON records(task, kind);
CREATE TABLE problems(source TEXT, path TEXT, line INTEGER, message TEXT);  -- source: the store path
CREATE VIRTUAL TABLE fts USING fts5(title, body, context, date, tokenize='porter unicode61 remove_diacritics 2');
-- context: a note's neighbours, date: when it was written, in words (extract.date_words)
CREATE TABLE vectors(hash TEXT PRIMARY KEY, vec BLOB);  -- hash: of the text embedded, vec: float16 (meta 'vectors': whose)
"""
EMBED_BATCH = 128  # records embedded, then written, at a time: a stopped refresh keeps what it did
_COLUMNS = ("kind", "rid", "title", "line", "at", "who", "session", "task", "status", "number", "sitting", "anchors",
            "body_line")


def check_fts5() -> None:
    try:
        sqlite3.connect(":memory:").execute("CREATE VIRTUAL TABLE t USING fts5(x)")
    except sqlite3.OperationalError:
        raise Unavailable(f"this Python's SQLite ({sqlite3.sqlite_version}) was built without FTS5, which recall needs",
                          hint="use a Python whose sqlite3 has FTS5 (python.org and most distributions' builds do)") from None


def _key(st) -> str:
    return f"{st.st_mtime_ns}.{st.st_ctime_ns}.{st.st_size}.{st.st_ino}"


class Index:
    def __init__(self, path: str, store) -> None:
        self.path, self.store = path, store
        self.root = store.tree.directory
        self.db = self._open()
        self.read: list[str] = []  # store paths read by the last refresh (the tests watch it)

    def _open(self) -> sqlite3.Connection:
        for attempt in (1, 2):
            try:
                db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
                have = db.execute("SELECT name FROM sqlite_master WHERE name='meta'").fetchone()
                if have is None:
                    self._create(db)
                elif db.execute("SELECT value FROM meta WHERE key='format'").fetchone() != (FORMAT,):
                    raise sqlite3.DatabaseError("another format")
                return db
            except sqlite3.OperationalError as exc:
                if "fts5" in str(exc):
                    check_fts5()
                if attempt == 2:
                    raise
                self._remove()
            except sqlite3.DatabaseError:
                if attempt == 2:
                    raise
                self._remove()
        raise AssertionError("unreachable")

    @staticmethod
    def _create(db) -> None:
        """The tables, under SQLite's write lock: two processes starting together create them once."""
        db.execute("BEGIN IMMEDIATE")
        try:
            if db.execute("SELECT name FROM sqlite_master WHERE name='meta'").fetchone() is None:
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute("INSERT INTO meta VALUES('format', ?)", (FORMAT,))
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    def _remove(self) -> None:
        for suffix in ("", "-journal", "-wal", "-shm"):
            try:
                os.unlink(self.path + suffix)
            except FileNotFoundError:
                pass

    # -- the scan ------------------------------------------------------------------------------
    def _scan(self, started: int):
        """Stat what may have changed. Returns ({store path: (kind, key or None when not trusted yet)}
        of the files outside unchanged frozen folders, {frozen folder walked: (key or None, names)},
        and the frozen folders found unchanged (their files are neither listed nor read)."""
        old_dirs = dict(self.db.execute("SELECT path, key FROM dirs"))
        found: dict = {}
        walked: dict = {}
        kept: set = set()
        kind_of, frozen = self.store.recall_kind, self.store.recall_frozen
        margin = started - RACY_NS

        def walk(rel: str) -> None:
            full = f"{self.root}/{rel}"
            is_frozen = frozen(rel)
            if is_frozen:
                try:
                    st = os.stat(full, follow_symlinks=False)
                except OSError:
                    return
                key, folder_mtime = _key(st), st.st_mtime_ns
                if old_dirs.get(rel) == key:
                    kept.add(rel)
                    return
                names = []
            try:
                entries = list(os.scandir(full))
            except OSError:
                return
            for entry in entries:
                path = f"{rel}/{entry.name}"
                if entry.is_dir(follow_symlinks=False):
                    walk(path)
                    continue
                kind = kind_of(path)
                if kind is None or not entry.is_file(follow_symlinks=False):
                    continue
                st = entry.stat(follow_symlinks=False)
                found[path] = (kind, _key(st) if st.st_mtime_ns < margin else None)
                if is_frozen:
                    names.append(path)
            if is_frozen:
                walked[rel] = (key if folder_mtime < margin and all(found[n][1] for n in names) else None, names)

        skip_top, marker = self._skippable(started)
        if skip_top is not None:  # the last walk of it stands: its rows and folders are kept as they are
            kept.update(d for d in old_dirs if d.startswith(skip_top + "/") or d == f"\0{skip_top}")
            found.update((p, (k, key)) for p, k, key in self.db.execute(
                "SELECT path, kind, key FROM files WHERE dir IS NULL AND path LIKE ? || '/%'", (skip_top,)))
        self.walk_marker = marker
        for top in self.store.recall_tops:
            if top == skip_top:
                continue
            full = f"{self.root}/{top}"
            try:
                st = os.stat(full, follow_symlinks=False)
            except OSError:
                continue
            if os.path.isdir(full) and not os.path.islink(full):
                walk(top)
            elif self.store.recall_kind(top) and os.path.isfile(full):
                found[top] = (self.store.recall_kind(top), _key(st) if st.st_mtime_ns < margin else None)
        return found, walked, kept, old_dirs

    def _skippable(self, started: int) -> tuple[str | None, str | None]:
        """(the top folder this refresh need not walk, or None; the marker to keep if it walks it):
        the marker is the memory log's stat and the time of the walk."""
        top, log = self.store.recall_skippable
        try:
            st = os.stat(f"{self.root}/{log}", follow_symlinks=False)
        except OSError:
            return None, None
        if st.st_mtime_ns >= started - RACY_NS:
            return None, None  # written in this clock tick: not a stat to trust
        key = _key(st)
        row = self.db.execute("SELECT key FROM dirs WHERE path=?", (f"\0{top}",)).fetchone()
        if row and row[0]:
            seen, _, when = row[0].rpartition("@")
            if seen == key and when.isdigit() and started - int(when) < TASKS_WALK_TTL:
                return top, None
        return None, f"{key}@{started}"

    def _old_files(self, folders: list[str]) -> dict:
        """{path: key} of the files indexed outside frozen folders and in the frozen ``folders``."""
        db = self.db
        old = dict(db.execute("SELECT path, key FROM files WHERE dir IS NULL"))
        if len(folders) > 200:  # a first build or a big change: one pass over the table
            wanted = set(folders)
            old.update((p, k) for p, k, d in db.execute("SELECT path, key, dir FROM files WHERE dir IS NOT NULL")
                       if d in wanted)
        else:
            for folder in folders:
                old.update(db.execute("SELECT path, key FROM files WHERE dir=?", (folder,)))
        return old

    def _witnessed(self, started: int) -> str | None:
        """The witnesses' stats as one key, or None when one of them is too new to trust."""
        keys = []
        witnesses = self.store.recall_witnesses
        for rel in witnesses:
            full = f"{self.root}/{rel}"
            try:
                st = os.stat(full, follow_symlinks=False)
            except FileNotFoundError:
                keys.append(f"{rel}:-")
                continue
            except OSError:
                return None
            if st.st_mtime_ns >= started - RACY_NS:
                return None
            keys.append(f"{rel}:{_key(st)}")
            if rel in witnesses[-2:]:  # a campaign's or a cluster's own folder gains its files
                try:
                    subs = sorted(e.name for e in os.scandir(full) if e.is_dir(follow_symlinks=False))
                except OSError:
                    return None
                for name in subs:
                    try:
                        sub = os.stat(f"{full}/{name}", follow_symlinks=False)
                    except OSError:
                        return None
                    if sub.st_mtime_ns >= started - RACY_NS:
                        return None
                    keys.append(f"{rel}/{name}:{_key(sub)}")
        return "|".join(keys)

    def refresh(self) -> dict:
        """Bring the index up to date with the files; returns what it did."""
        started = time.time_ns()
        witnessed = self._witnessed(started)
        if witnessed is not None:
            row = self.db.execute("SELECT key FROM dirs WHERE path=?", (_WITNESSES,)).fetchone()
            if row and row[0]:
                seen, _, when = row[0].rpartition("@")
                if seen == witnessed and when.isdigit() and started - int(when) < TASKS_WALK_TTL:
                    self.read = []
                    return {"read": 0, "removed": 0, "checked": 0, "unchanged_folders": 0, "walked": False}
        done = self._refresh(started)
        if witnessed is not None:
            self.db.execute("INSERT OR REPLACE INTO dirs VALUES(?, ?)", (_WITNESSES, f"{witnessed}@{started}"))
        return done

    def _refresh(self, started: int) -> dict:
        found, walked, kept, old_dirs = self._scan(started)
        gone_dirs = [d for d in old_dirs if d not in kept and d not in walked and d != _WITNESSES]
        old_files = self._old_files(list(walked) + gone_dirs)
        changed = [p for p, (kind, key) in found.items() if key is None or old_files.get(p) != key]
        removed = [p for p in old_files if p not in found]
        self.read = []
        unchanged_dirs = all(old_dirs.get(d) == k for d, (k, _) in walked.items()) and not gone_dirs
        marker = self.walk_marker
        if marker is not None:
            top = self.store.recall_skippable[0]
            gone_dirs = [d for d in gone_dirs if d != f"\0{top}"]
            walked[f"\0{top}"] = (marker, [])
        if not changed and not removed and unchanged_dirs and marker is None:
            return {"read": 0, "removed": 0, "checked": len(found), "unchanged_folders": len(kept), "walked": True}
        folder_of = {p: d for d, (_, names) in walked.items() for p in names}
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            if changed or removed:
                db.execute("DELETE FROM meta WHERE key='embedded'")  # records may lack vectors now
            for path in removed:
                self._forget(path)
                db.execute("DELETE FROM files WHERE path=?", (path,))
            for path in sorted(changed):
                kind, key = found[path]
                self._forget(path)
                self._read(path, kind)
                db.execute("INSERT OR REPLACE INTO files VALUES(?,?,?,?)", (path, kind, key, folder_of.get(path)))
            db.executemany("DELETE FROM dirs WHERE path=?", [(d,) for d in gone_dirs])
            db.executemany("INSERT OR REPLACE INTO dirs VALUES(?,?)", [(d, k) for d, (k, _) in walked.items()])
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:  # SQLite may have rolled back itself (a full disk)
                db.execute("ROLLBACK")
            raise
        return {"read": len(self.read), "removed": len(removed), "checked": len(found), "unchanged_folders": len(kept), "walked": True}

    def _forget(self, path: str) -> None:
        db = self.db
        db.execute("DELETE FROM fts WHERE rowid IN (SELECT id FROM records WHERE path=?)", (path,))
        db.execute("DELETE FROM records WHERE path=?", (path,))
        db.execute("DELETE FROM problems WHERE source=?", (path,))

    def _read(self, path: str, kind: str) -> None:
        self.read.append(path)
        shown = self.store.shown(path)
        problems: list[Problem] = []
        try:
            with open(f"{self.root}/{path}", "rb") as fh:
                data = fh.read()
            found = extract.records(kind, path, shown, data, problems)
        except ParseError as exc:
            problems.append(exc.problem)
            found = []
        except OSError as exc:
            problems.append(Problem(shown, None, f"cannot read it ({exc.strerror})"))
            found = []
        except (ValueError, TypeError, AttributeError) as exc:  # a record of the wrong shape
            problems.append(Problem(shown, 1, f"not a readable {kind} ({exc})"))
            found = []
        db = self.db
        import hashlib  # here: a search that finds nothing changed loads no OpenSSL

        for rec in found:
            digest = hashlib.blake2b(embedding_text(rec["title"], rec["body"]).encode("utf-8", "replace"),
                                     digest_size=16).hexdigest()
            cur = db.execute("INSERT INTO records(path, kind, rid, title, line, at, who, session, task, status, number,"
                             " sitting, anchors, body_line, hash) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                             (path, *[_plain(rec[c]) for c in _COLUMNS], digest))
            db.execute("INSERT INTO fts(rowid, title, body, context, date) VALUES(?,?,?,?,?)",
                       (cur.lastrowid, rec["title"], rec["body"], rec["context"], extract.date_words(rec["at"])))
        db.executemany("INSERT INTO problems VALUES(?,?,?,?)", [(path, p.path, p.line, p.message) for p in problems])

    # -- the semantic tier ---------------------------------------------------------------------
    def embed(self, encoder) -> int:
        """Give every record whose text has no vector one: the records new or changed since the last
        call (vectors are kept by the text's hash, so a file read again costs only its new records);
        a model other than the one the stored vectors came from has them all computed again.
        While no refresh has changed a record since every record had its vector (meta 'embedded'),
        nothing is looked at. Returns how many texts were embedded."""
        db = self.db
        identity = encoder.identity
        if db.execute("SELECT value FROM meta WHERE key='embedded'").fetchone() == (identity,):
            return 0
        import numpy as np

        with self._writing():
            if db.execute("SELECT value FROM meta WHERE key='vectors'").fetchone() != (identity,):
                db.execute("DELETE FROM vectors")
                db.execute("INSERT OR REPLACE INTO meta VALUES('vectors', ?)", (identity,))
            else:  # the vectors no record uses any more
                db.execute("DELETE FROM vectors WHERE hash NOT IN (SELECT hash FROM records WHERE hash IS NOT NULL)")
        missing = db.execute("SELECT r.hash, min(r.title), min(fts.body) FROM records r JOIN fts ON fts.rowid = r.id"
                             f" WHERE {_NO_VECTOR} GROUP BY r.hash").fetchall()
        for start in range(0, len(missing), EMBED_BATCH):
            chunk = missing[start:start + EMBED_BATCH]
            vectors = encoder.encode_documents([embedding_text(title, body) for _, title, body in chunk])
            with self._writing():
                if db.execute("SELECT value FROM meta WHERE key='vectors'").fetchone() != (identity,):
                    return start  # another process moved to another model meanwhile: its vectors stay
                db.executemany("INSERT OR REPLACE INTO vectors VALUES(?, ?)",
                               [(digest, np.asarray(v, dtype="<f2").tobytes()) for (digest, _, _), v in zip(chunk, vectors)])
        with self._writing():
            # Only when nothing is missing still: another process may have added records meanwhile.
            db.execute("INSERT OR REPLACE INTO meta SELECT 'embedded', ? WHERE NOT EXISTS"
                       f" (SELECT 1 FROM records r WHERE {_NO_VECTOR}) AND"
                       " (SELECT value FROM meta WHERE key='vectors') = ?", (identity, identity))
        return len(missing)

    def _writing(self):
        """A write transaction taken at once (BEGIN IMMEDIATE), rolled back on any error."""
        import contextlib

        @contextlib.contextmanager
        def transaction():
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield
                self.db.execute("COMMIT")
            except BaseException:
                if self.db.in_transaction:
                    self.db.execute("ROLLBACK")
                raise
        return transaction()

    def nearest(self, query_vector, limit: int, kinds=None, task=None, since=None) -> list[dict]:
        """The ``limit`` records whose vectors are nearest the query's (cosine), best first; each
        row as :meth:`search` gives it, with the cosine as its score."""
        import numpy as np

        where, args = self._filters(kinds, task, since)
        sql = "SELECT r.id, v.vec FROM records r JOIN vectors v ON v.hash = r.hash"
        pairs = self.db.execute(sql + (f" WHERE {' AND '.join(where)}" if where else ""), args).fetchall()
        if not pairs:
            return []
        query = np.asarray(query_vector, dtype=np.float32).ravel()
        matrix = np.frombuffer(b"".join(blob for _, blob in pairs), dtype="<f2").reshape(len(pairs), -1)
        if matrix.shape[1] != query.shape[0]:
            return []  # vectors of another model, being replaced: none to compare with
        scores = matrix.astype(np.float32) @ query
        norms = np.linalg.norm(matrix.astype(np.float32), axis=1) * max(float(np.linalg.norm(query)), 1e-12)
        scores /= np.maximum(norms, 1e-12)
        top = np.argsort(-scores, kind="stable")[:limit]
        chosen = {pairs[i][0]: float(scores[i]) for i in top}
        rows = {row["rowid"]: row for row in self._rows(list(chosen))}
        return [dict(rows[rid], score=score) for rid, score in chosen.items() if rid in rows]

    def _rows(self, ids: list[int]) -> list[dict]:
        found = []
        for start in range(0, len(ids), 500):
            part = ids[start:start + 500]
            found += self.db.execute(
                "SELECT r.path, r.kind, r.rid, r.title, r.line, r.at, r.who, r.session, r.task, r.status, r.number,"
                f" r.body_line, fts.body, 0, r.id FROM records r JOIN fts ON fts.rowid = r.id WHERE r.id IN ({','.join('?' * len(part))})",
                part).fetchall()
        return [dict(zip(_NAMES + ("rowid",), row)) for row in found]

    @staticmethod
    def _filters(kinds, task, since) -> tuple[list[str], list]:
        where, args = [], []
        if kinds:
            where.append(f"r.kind IN ({','.join('?' * len(kinds))})")
            args += list(kinds)
        if task:
            where.append("r.task = ?")
            args.append(task)
        if since:
            where.append("r.at >= ?")
            args.append(since)
        return where, args

    # -- queries -------------------------------------------------------------------------------
    def problems(self) -> list[Problem]:
        return [Problem(*row) for row in self.db.execute("SELECT path, line, message FROM problems ORDER BY path, line")]

    def search(self, expression: str, limit: int, kinds=None, task=None, since=None, query: str | None = None) -> list[dict]:
        """The ``limit`` best matches, each lifted when ``query`` names its author (rank.lift_authors),
        then each note by its sitting's best (rank.lift_sittings): the candidates' ids, scores,
        sittings and authors first, then the rows of those kept."""
        where, args = self._filters(kinds, task, since)
        sql = (f"SELECT r.id, {_SCORE} AS score, r.sitting, r.who FROM fts JOIN records r ON r.id = fts.rowid"
               f" WHERE {' AND '.join(['fts MATCH ?'] + where)} ORDER BY score LIMIT ?")
        candidates = self.db.execute(sql, (expression, *args, max(limit, SITTING_DEPTH))).fetchall()
        named = authors_named(query, {c[3] for c in candidates if c[3]}) if query else set()
        chosen = lift_sittings(lift_authors(candidates, named))[:limit]
        rows = {row["rowid"]: row for row in self._rows([rid for rid, _ in chosen])}
        return [dict(rows[rid], score=score) for rid, score in chosen]

    def matched_by_neighbours(self, expression: str, ids: list[int]) -> set[int]:
        """Of ``ids``, those that match ``expression`` only through the notes written beside them
        (the neighbours' field), not through their own title, text or date. A record found by its
        meaning alone (the semantic tier) matches neither way, and is not among them."""
        if not ids:
            return set()

        def matching(fields: str) -> set[int]:
            rows = self.db.execute(f"SELECT rowid FROM fts WHERE fts MATCH ? AND rowid IN ({','.join('?' * len(ids))})",
                                   (f"{{{fields}}} : ({expression})", *ids)).fetchall()
            return {rowid for (rowid,) in rows}

        beside = matching("context")
        return beside - matching("title body date") if beside else set()

    def anchors(self, rowids: list[int]) -> dict[int, dict]:
        """rowid -> the anchors of each of those records that has any (context entries')."""
        if not rowids:
            return {}
        import json

        rows = self.db.execute(f"SELECT id, anchors FROM records WHERE anchors IS NOT NULL AND id IN"
                               f" ({','.join('?' * len(rowids))})", rowids).fetchall()
        return {rowid: json.loads(text) for rowid, text in rows}

    def newest_checkpoint(self, task: str) -> int | None:
        row = self.db.execute("SELECT max(number) FROM records WHERE task=? AND kind='checkpoint'", (task,)).fetchone()
        return row[0] if row else None

    def close(self) -> None:
        self.db.close()


# BM25 over title, body, neighbours and date (rank.BM25_WEIGHTS), times the kind's weight (rank.KIND_WEIGHTS):
# lower is better.
_BM25 = "bm25(fts, {})".format(", ".join(repr(w) for w in BM25_WEIGHTS))
_SCORE = _BM25 + " * CASE r.kind {} ELSE 1.0 END".format(
    " ".join(f"WHEN '{kind}' THEN {weight!r}" for kind, weight in KIND_WEIGHTS.items()))
_NO_VECTOR = "NOT EXISTS (SELECT 1 FROM vectors v WHERE v.hash = r.hash)"
_NAMES = ("path", "kind", "id", "title", "line", "at", "who", "session", "task", "status", "number", "body_line", "body",
          "score")


def embedding_text(title: str, body: str) -> str:
    """What a record's vector is computed from: its title when it adds to the body, then the body."""
    title, body = (title or "").strip(), (body or "").strip()
    return body if not title or body.startswith(title) else f"{title}. {body}"


def _plain(value):
    return value if value is None or isinstance(value, (str, int)) else str(value)


def related(path: str, query: str, kind: str, limit: int) -> list[str]:
    """The ids of the records of ``kind`` that BM25 ranks first for ``query``, from the index at
    ``path`` read-only and as it is (no refresh: that walks the store); [] when it cannot be read."""
    from urllib.parse import quote

    from .rank import match_expression

    expression = match_expression(query)
    if expression is None:
        return []
    try:
        db = sqlite3.connect(f"file:{quote(path)}?mode=ro", uri=True, timeout=1)
        try:
            if db.execute("SELECT value FROM meta WHERE key='format'").fetchone() != (FORMAT,):
                return []
            rows = db.execute("SELECT r.rid FROM fts JOIN records r ON r.id = fts.rowid WHERE fts MATCH ? AND r.kind = ?"
                              f" ORDER BY {_BM25} LIMIT ?", (expression, kind, limit)).fetchall()
        finally:
            db.close()
    except sqlite3.Error:
        return []  # busy, damaged or another format: boot matches what it read instead
    return [str(rid) for (rid,) in rows]
