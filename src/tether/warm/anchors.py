"""Memories anchored to code: which files a memory cites, their blob ids, and whether they changed.

A decision, context entry or checkpoint may cite code (``path`` or ``path:line``);
the record keeps, per citation, the git blob id of the file's bytes when it was
written (``anchors``: citation -> blob id). A citation is stale when the file's
bytes now have another id, gone when the file is no more.

Checking is done on the working tree, not by asking git: each file's id is kept
with its stat (``local/anchors.cache``, git-ignored) as git's index keeps it, so
showing a hundred anchored memories costs a hundred stats, no process and no hash
for a file that did not change.
"""

from __future__ import annotations

import os
import re

from ..store.fsio import stat_key
from . import cachefile

CACHE = "local/anchors.cache"
FORMAT = 2  # 2: {"files", "commits"}; 1: the files alone
MAX_ENTRIES = 50_000  # beyond this the cache is not written: anchors are a few hundred files

# A path-like word with an extension, maybe ":line" or "::symbol": "src/a.py", "layout.py:40",
# "src/a.py::Checker.flags".
_CITED = re.compile(r"(?<![\w/.:-])((?:[\w.-]+/)*[\w-][\w.-]*\.[A-Za-z][\w]*)"
                    r"(?:::([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)|:(\d+))?(?![\w/-])")


def split(citation: str) -> tuple[str, int | None]:
    """('src/a.py', 12) from 'src/a.py:12'; ('src/a.py', None) from 'src/a.py' and from
    'src/a.py::parse' (whose symbol is symbol_of's)."""
    if "::" in citation:
        return citation.partition("::")[0], None
    path, sep, line = citation.rpartition(":")
    if sep and line.isdigit() and path:
        return path, int(line)
    return citation, None


def symbol_of(citation: str) -> str | None:
    """'Checker.flags' from 'src/a.py::Checker.flags'; None for a path or path:line."""
    return citation.partition("::")[2] or None if "::" in citation else None


def norm(root: str, text: str) -> str | None:
    """A repo-relative "/" path for ``text`` (relative to the repository, or absolute inside it),
    None when it leaves the repository or is git's own (``.git/``: no file of the repository)."""
    full = os.path.normpath(os.path.join(root, text))
    rel = os.path.relpath(full, root)
    if rel == "." or rel.startswith(".." + os.sep) or rel == ".." or rel == ".git" or rel.startswith(".git" + os.sep):
        return None
    return rel.replace(os.sep, "/")


def cited(root: str, texts, names=None) -> list[str]:
    """Citations found in ``texts``: each path-like word that names a file of the repository,
    with its ":line" when given. A bare name ("layout.py:40") counts only when ``names()`` (the
    repository's files, asked lazily) holds exactly one file of that name."""
    found: list[str] = []
    by_name: dict[str, list[str]] | None = None
    for text in texts:
        for match in _CITED.finditer(text or ""):
            word, symbol, line = match.group(1).rstrip("."), match.group(2), match.group(3)
            path = norm(root, word)
            if path is None or path.startswith(".tether/"):
                continue
            if not os.path.isfile(os.path.join(root, path)):
                if "/" in word or names is None or word.index(".") < 2:
                    continue  # a one-letter stem is "e.g." far more often than a file: no git for it
                if by_name is None:
                    by_name = {}
                    for name in names():
                        by_name.setdefault(name.rpartition("/")[2], []).append(name)
                hits = by_name.get(word, [])
                if len(hits) != 1:
                    continue  # unknown or ambiguous: a guess would flag the wrong file
                path = hits[0]
            citation = f"{path}::{symbol}" if symbol else f"{path}:{line}" if line else path
            if citation not in found:
                found.append(citation)
    return found


class Checker:
    """Current blob ids of the working tree's files, each kept with its stat."""

    def __init__(self, root: str, store_dir: str, started_ns: int | None = None) -> None:
        import time

        self.root, self.store_dir = root, store_dir
        self.path = os.path.join(store_dir, CACHE)
        self.started_ns = started_ns or time.time_ns()
        saved = cachefile.read(self.path, "anchors", FORMAT, store_dir)
        saved = saved if isinstance(saved, dict) else {}
        self.files: dict = saved.get("files") if isinstance(saved.get("files"), dict) else {}
        # (HEAD, since, paths) -> {path: commits}: counted once per HEAD, as HEAD alone moves them
        self.commits: dict = saved.get("commits") if isinstance(saved.get("commits"), dict) else {}
        self.dirty = False

    def oid(self, path: str) -> str | None:
        """The blob id of the file at ``path`` (repo-relative) as it is now; None when it is gone."""
        full = os.path.join(self.root, path)
        key = stat_key(full)
        if key is None or not os.path.isfile(full):
            return None
        hit = self.files.get(path)
        if isinstance(hit, tuple) and len(hit) == 2 and hit[0] == key and isinstance(hit[1], str):
            return hit[1]
        try:
            with open(full, "rb") as fh:
                data = fh.read()
        except OSError:
            return None
        from ..gitio.objects import blob_oid  # and hashlib: only for a file whose id is not kept

        ours = blob_oid(data)
        if cachefile.trusted(key, self.started_ns):
            self.files[path] = (key, ours)
            self.dirty = True
        return ours

    def symbol_oid(self, path: str, symbol: str) -> str | None:
        """The blob id of ``symbol``'s definition text in the file at ``path`` as it is now; None
        when the file or the definition is gone."""
        full = os.path.join(self.root, path)
        key = stat_key(full)
        if key is None or not os.path.isfile(full):
            return None
        cached = f"{path}::{symbol}"
        hit = self.files.get(cached)
        if isinstance(hit, tuple) and len(hit) == 2 and hit[0] == key:
            return hit[1] if isinstance(hit[1], str) else None
        try:
            with open(full, "rb") as fh:
                data = fh.read()
        except OSError:
            return None
        from ..gitio.objects import blob_oid
        from ..model.symbols import definition

        text = definition(data, path, symbol)
        ours = blob_oid(text) if text is not None else None
        if cachefile.trusted(key, self.started_ns):
            self.files[cached] = (key, ours)
            self.dirty = True
        return ours

    def current(self, citation: str) -> str | None:
        """What ``citation`` pins as it is now: its symbol's definition, or its whole file."""
        symbol = symbol_of(citation)
        path = split(citation)[0]
        return self.symbol_oid(path, symbol) if symbol else self.oid(path)

    def pin(self, citations) -> dict[str, str]:
        """citation -> the blob id of what it names now (a file, or a symbol's definition), for
        those that exist."""
        out = {}
        for citation in citations:
            oid = self.current(citation)
            if oid is not None:
                out[citation] = oid
        return out

    def flags(self, anchors: dict | None, since: str | None = None, ask_git: bool = True) -> list[dict]:
        """One flag per anchor whose file changed or is gone: {"anchor", "path", "state"}; with
        ``since`` (when the memory was recorded), a changed file's flag also says in how many
        commits since ("commits"; 0: the change is not committed), when git can tell (without
        ``ask_git``: only when an earlier look counted them for this HEAD)."""
        out = []
        for citation, was in sorted((anchors or {}).items()):
            path, symbol = split(citation)[0], symbol_of(citation)
            now = self.current(citation)
            if now is None:
                out.append({"anchor": citation, "path": path, "state": "gone"})
            elif now != was:
                out.append({"anchor": citation, "path": path, "state": "changed"})
            if symbol and out and out[-1]["anchor"] == citation:
                out[-1]["symbol"] = symbol
        # A symbol's pinned id is its text's, not the file's: commits are counted for whole files.
        changed = {split(c)[0]: was for c, was in sorted((anchors or {}).items())
                   if not symbol_of(c) and any(f["anchor"] == c and f["state"] == "changed" for f in out)}
        if since and changed:
            counts = self.commits_since(changed, since, ask_git)
            if counts is not None:
                for flag in out:
                    if flag["state"] == "changed":
                        flag["commits"] = counts.get(flag["path"], 0)
        return out

    def commits_since(self, pinned: dict[str, str], since: str, ask_git: bool = True) -> dict[str, int] | None:
        """path -> commits of HEAD's history that changed it after its pinned version (gitio:
        one git process per HEAD, memory and paths, then kept); None when git cannot tell, or
        was not to be asked and nothing is kept."""
        from ..errors import GitProblem
        from ..gitio.refs import head_sha

        try:
            head = head_sha(self.root)
            if head is None:
                return None
            key = (head, since, tuple(sorted(pinned.items())))
            hit = self.commits.get(key)
            if isinstance(hit, dict) or not ask_git:
                return hit if isinstance(hit, dict) else None
            from ..gitio.commits import commits_since
            from ..model import clock

            counts = commits_since(self.root, pinned, int(clock.parse(since).timestamp()))
        except (GitProblem, OSError, ValueError):
            return None
        if len(self.commits) >= 1_000:  # counts for older HEADs are never asked for again
            self.commits = {k: v for k, v in self.commits.items() if k[0] == head}
        self.commits[key] = counts
        self.dirty = True
        return counts

    def save(self) -> None:
        if self.dirty and len(self.files) <= MAX_ENTRIES:
            cachefile.write(self.path, "anchors", FORMAT, {"files": self.files, "commits": self.commits},
                            self.store_dir)
            self.dirty = False


def warning(flags: list[dict]) -> str:
    """'may be stale: src/a.py changed since; src/b.py is gone' ("" when nothing is flagged)."""
    if not flags:
        return ""
    return "may be stale: " + "; ".join(dict.fromkeys(_said(f) for f in flags))


def _said(flag: dict) -> str:
    if flag.get("symbol"):
        where = f"{flag['symbol']} in {flag['path']}"
        return f"{where} changed since" if flag["state"] == "changed" else f"{where} is gone"
    if flag["state"] != "changed":
        return f"{flag['path']} is gone"
    commits = flag.get("commits")
    if commits is None:
        return f"{flag['path']} changed since"
    if commits == 0:
        return f"{flag['path']} changed since (not committed)"
    return f"{flag['path']} changed in {commits} commit{'s' if commits != 1 else ''} since"
