"""The recall facade: refresh the index from what changed, search it, fit the hits to a budget.

    from tether.recall import Recall
    found = Recall(workspace).search("sqlite locking", limit=5, budget=800, kinds=["decision"])
    for hit in found["hits"]:
        print(hit["path"], hit["line"], hit["status"], hit["text"])

Each hit: kind, id, title, text (an excerpt), path and line, at, who, session, task, status
(current, resolved, superseded, retired, or a task's or checkpoint's own), score (the mode's:
lexical, BM25 (lifted when the query names its author, a note's by its sitting's best) where lower is better; semantic, the cosine; hybrid, the fused reciprocal-rank
score; the last two higher is better). ``mode``: which ran. ``problems``: the files (path, line)
that could not be read; they are left out.

Modes: ``lexical`` (SQLite FTS5, BM25), ``semantic`` (the ``[recall] model``'s vectors, cosine)
and ``hybrid`` (both, fused by reciprocal rank). The default is hybrid when tether.toml names a
model and what runs it is installed, else lexical; numpy and the model are loaded only then.
"""

from __future__ import annotations

import re

from ..errors import InvalidInput
from . import extract, rank

_SINCE = re.compile(r"\d{4}-\d\d-\d\d([T ]\d\d:\d\d(:\d\d)?Z?)?$")


def _is_date(text: str) -> bool:
    """A day, or a day and a time of it, that the calendar has (not 2026-02-30 or 25:00)."""
    if not _SINCE.match(text):
        return False
    from datetime import datetime

    try:
        datetime.fromisoformat(text.replace(" ", "T").removesuffix("Z"))
    except ValueError:
        return False
    return True


class Recall:
    def __init__(self, workspace=None) -> None:
        if workspace is None:
            from ..workspace import Workspace

            workspace = Workspace.open()
        self.workspace = workspace
        self.store = workspace.store
        self._index = None
        self._encoder = None
        self.refreshed: dict = {}
        self.embedded = 0  # records the last search gave vectors to

    @property
    def index(self):
        if self._index is None:
            from .index import Index

            path = self.store.recall_index_file()
            if path is None:
                raise InvalidInput("recall needs a workspace on disk", hint="run it inside a repository")
            self._index = Index(path, self.store)
        return self._index

    def refresh(self) -> dict:
        """Read what changed since the last refresh; {"read", "removed", "checked", "unchanged_folders"}."""
        self.refreshed = self.index.refresh()
        return self.refreshed

    def default_mode(self) -> str:
        """hybrid when ``[recall] model`` names a model and what runs it is installed, else lexical."""
        settings = self.workspace.config.recall or {}
        if not settings.get("model"):
            return "lexical"
        if settings.get("backend") == "sentence-transformers":
            import importlib.util

            return "hybrid" if importlib.util.find_spec("sentence_transformers") is not None else "lexical"
        from .embed import extra_installed

        return "hybrid" if extra_installed() else "lexical"

    @property
    def encoder(self):
        if self._encoder is None:
            from .embed import load

            self._encoder = load(self.workspace.config.recall or {}, self.workspace.root_dir)
        return self._encoder

    def embed(self) -> int:
        """Refresh the index and give the records new or changed since the last time their vectors."""
        self.refresh()
        self.embedded = self.index.embed(self.encoder)
        return self.embedded

    def search(self, query: str, limit: int | None = None, budget: int | None = None, kinds=None,
               task: str | None = None, since: str | None = None, mode: str | None = None) -> dict:
        limit = rank.LIMIT if limit is None else limit
        budget = rank.BUDGET if budget is None else budget
        if not 1 <= limit <= rank.MAX_LIMIT:
            raise InvalidInput(f"--limit must be from 1 to {rank.MAX_LIMIT:,}, got {limit}", hint="e.g. --limit 5")
        if budget < 50:
            raise InvalidInput(f"--budget must be at least 50 tokens, got {budget}", hint="e.g. --budget 800")
        kinds = [k for value in kinds or [] for k in str(value).split(",") if k.strip()]
        wrong = [k for k in kinds if k not in extract.KINDS]
        if wrong:
            raise InvalidInput(f"no kind {wrong[0]!r}", hint=f"kinds: {', '.join(extract.KINDS)}")
        if since is not None and not _is_date(since.strip()):
            raise InvalidInput(f"--since {since!r} is not a date", hint="e.g. --since 2026-11-01 or 2026-11-01T09:00Z")
        if mode is not None and mode not in rank.MODES:
            raise InvalidInput(f"no mode {mode!r}", hint=f"modes: {', '.join(rank.MODES)}")
        if task is not None and task not in self.store.task_ids():
            raise InvalidInput(f"no task {task!r}", hint="tether task list --all names every task")
        expression = rank.match_expression(query or "")
        if expression is None:
            common = list(dict.fromkeys(rank.words_of(query or "")))
            if common:  # only stop words: every record holds them, so any order would be chance
                raise InvalidInput(f"the query has no words to search for, only common ones ({', '.join(common[:6])})",
                                   hint='add a word that names what you look for, e.g. tether recall "why sqlite"')
            raise InvalidInput("the query has no words to search for", hint='e.g. tether recall "why sqlite"')
        mode = mode or self.default_mode()
        since = since.strip().replace(" ", "T") if since else None
        if mode == "lexical":
            self.refresh()
            rows = self.index.search(expression, limit, kinds=kinds, task=task, since=since, query=query)
        else:
            encoder = self.encoder  # a missing extra or model stops here, before any work
            self.embed()
            query_vector = encoder.encode_queries([query])[0]
            depth = max(limit, rank.FUSE_DEPTH)
            nearest = self.index.nearest(query_vector, depth if mode == "hybrid" else limit, kinds=kinds,
                                         task=task, since=since)
            if mode == "semantic":
                rows = nearest
            else:
                lexical = self.index.search(expression, depth, kinds=kinds, task=task, since=since, query=query)
                by_id = {row["rowid"]: row for row in lexical + nearest}
                fused = rank.fuse({"lexical": [r["rowid"] for r in lexical], "semantic": [r["rowid"] for r in nearest]})
                rows = [dict(by_id[rid], score=score) for rid, score in fused[:limit]]
        index = self.index
        # Said of a hit its own words do not match: the agent weighs it knowing why it is there.
        beside = index.matched_by_neighbours(expression, [r["rowid"] for r in rows if r["kind"] == "context"])
        newest: dict = {}
        hits = []
        for row in rows:
            status = row["status"]
            if row["kind"] == "checkpoint" and row["task"]:
                # A task's newest checkpoint is its resume point; the older ones are history.
                if row["task"] not in newest:
                    newest[row["task"]] = index.newest_checkpoint(row["task"])
                status = "superseded" if row["number"] is not None and newest[row["task"]] not in (
                    None, row["number"]) else "current"
            # Where the body is the file's lines (a packet, a progress section, a session context, an
            # archived conversation, a cached text), the hit names the line that matches best, and its
            # excerpt starts there.
            best = rank.best_line(row["body"], expression) if row["body_line"] is not None else None
            # A progress record keeps its heading as its title (searched as such); its time and session
            # are the hit's own fields, so the title shown is the close's summary.
            title = extract.progress_title(row["title"], row["body"]) if row["kind"] == "progress" else row["title"]
            hits.append({"kind": row["kind"], "id": row["id"], "title": title,
                         "text": rank.excerpt(row["body"], expression, line=best), "path": self.store.shown(row["path"]),
                         "line": row["line"] if best is None else row["body_line"] + best, "at": row["at"], "who": row["who"], "session": row["session"],
                         "task": row["task"], "status": status, "score": round(row["score"], 4)})
            if row["rowid"] in beside:
                hits[-1]["via"] = "neighbours"
            hits[-1]["_row"] = row["rowid"]  # where the index keeps a context entry's anchors; not returned
        kept, used, more = rank.fit(hits, limit, budget)
        self._mark_stale(kept)
        for hit in kept:
            del hit["_row"]
        return {"query": query, "mode": mode, "hits": kept, "tokens": used, "truncated": more, "budget": budget, "limit": limit,
                "indexed": self.refreshed, "problems": [p._asdict() for p in index.problems()]}

    def _mark_stale(self, hits: list[dict]) -> None:
        """A current decision, entry or resume point whose cited code changed or is gone: status "stale", and
        ``stale`` says which file. Only the hits kept are looked at: a few files, no git."""
        wanted = [h for h in hits if h["status"] == "current" and h["kind"] in ("decision", "context", "checkpoint")]
        if not wanted:
            return
        from ..errors import NotFound, ParseError

        anchors: dict = {}
        context = {h["_row"]: h for h in wanted if h["kind"] == "context"}
        for rowid, cited in self.index.anchors(list(context)).items():  # kept in the index: no log read again
            anchors[("context", context[rowid]["id"])] = cited
        for hit in wanted:
            try:
                if hit["kind"] == "decision":
                    anchors[("decision", hit["id"])] = self.store.load_decision(hit["id"]).anchors
                elif hit["kind"] == "checkpoint" and "/" in hit["id"]:  # a task's resume point: "T001/CKP-0003"
                    task, ref = hit["id"].split("/", 1)
                    anchors[("checkpoint", hit["id"])] = self.workspace.find_checkpoint(ref, task).anchors
            except (NotFound, ParseError, InvalidInput):
                pass
        if not any(anchors.values()):
            return
        from ..warm.anchors import Checker, warning

        check = Checker(self.workspace.root_dir, self.workspace.store_dir)
        for hit in wanted:
            flags = check.flags(anchors.get((hit["kind"], hit["id"])), since=hit.get("at"))
            if flags:
                hit["status"], hit["stale"] = "stale", warning(flags)
        check.save()

    def close(self) -> None:
        if self._index is not None:
            self._index.close()
            self._index = None
