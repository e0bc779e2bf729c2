"""The offload facade: clusters and packets in the store, and their maps kept current.

    from tether.offload import Offload
    off = Offload()                                          # the workspace above the working directory
    off.create_cluster("Cluster01_BPOE_Deltas", title="BPOE deltas")
    done = off.add("blob", "Cluster01_BPOE_Deltas", "Offload little and often", content="...")
    off.retire(done["packet"]["id"], reason="superseded")

Every change runs under the store's ``offload`` lock and leaves the navigation maps current.
A new packet newer than every other one in its cluster is appended to the cluster's maps
(constant time, however large the cluster); anything else (a retirement, a merge that brought
packets, a map edited by hand) rebuilds that cluster's maps from the per-machine cache of
map entries, which reads again only the packet files whose stat changed.
"""

from __future__ import annotations

from ..errors import InvalidInput, NotFound, ParseError, Problem
from ..model import clock, ids
from . import links, maps, packets

CACHE_VERSION = 1
LOCK = "offload"


class Offload:
    def __init__(self, workspace=None) -> None:
        if workspace is None:
            from ..workspace import Workspace

            workspace = Workspace.open()
        self.workspace = workspace
        self.store = workspace.store
        self.problems: list[Problem] = []

    # -- clusters ---------------------------------------------------------------------------
    def create_cluster(self, name: str, title: str | None = None, description: str | None = None) -> dict:
        name = (name or "").strip()
        if not ids.valid_id(name):
            raise InvalidInput(f"{name!r} is not a cluster name",
                               hint="letters, digits, '.', '_' and '-', at most 64, e.g. Cluster01_BPOE_Deltas")
        info = {"schema": packets.SCHEMA, "cluster": name, "title": " ".join((title or name).split()),
                "description": (description or "").strip(), "created": clock.stamp(),
                "session": self.workspace.session_id}
        with self.store.lock(LOCK):
            if self.store.has_cluster(name):
                from ..errors import Conflict

                raise Conflict(f"cluster {name} exists already", hint="add packets to it with `tether offload add`")
            self.store.create_cluster(name, packets.dump(info).replace(packets.HEADER.encode(), _CLUSTER_HEADER))
            self._rebuild(name)
            self._write_top()
        return {"cluster": name, "title": info["title"], "path": self.store.cluster_path(name),
                "maps": list(self.store.map_paths(name))}

    def clusters(self) -> list[dict]:
        out = []
        for name in self.store.offload_clusters():
            info = self._info(name)
            summ = maps.summary(self._entries(name))
            out.append({"cluster": name, "title": info.get("title") or name, "counts": summ["counts"],
                        "retired": summ["retired"], "newest": summ["newest"], "map": self.store.map_paths(name)[0]})
        return out

    def _cluster(self, name: str) -> str:
        if not ids.valid_id(name or "") or name not in self.store.offload_clusters():
            known = self.store.offload_clusters()
            raise NotFound(f"no cluster {name!r}", hint=(f"clusters: {', '.join(known[:8])}" if known else "none yet")
                           + f"; create it with `tether offload cluster create {name or 'NAME'}`")
        return name

    def _info(self, name: str) -> dict:
        try:
            data = self.store.read_cluster(name)
            if data is None:
                return {}
            return packets.parse_cluster(data, self.store.cluster_path(name))
        except ParseError as exc:
            self._report(exc.problem)
            return {}

    # -- packets ------------------------------------------------------------------------------
    def add(self, kind: str, cluster: str, title: str, content: str | None = None, *, tags=(),
            target: str | None = None, source: str | None = None, origin: dict | None = None) -> dict:
        """A new packet; returns {"packet", "path", "maps", "appended"}."""
        packets.check_kind(kind)
        title = packets.check_title(title)
        tags = packets.check_tags(tags)
        content = packets.check_content(content)
        found = None
        if kind == "link":
            if not (target or "").strip():
                raise InvalidInput("a link needs a target", hint="give --target PATH or --target URL")
            found = links.check(self.workspace.root_dir, target)
            found["checked"] = clock.stamp()
        elif target:
            raise InvalidInput(f"--target is for links, not {kind}s", hint="use `tether offload add link --target ...`")
        elif content is None or not content.strip():
            raise InvalidInput(f"a {kind} needs text", hint="give the text as an argument, --file FILE, or - for stdin")
        if source and kind != "term":
            raise InvalidInput(f"--source is for terms, not {kind}s", hint="say where a term came from with --source")
        with self.store.lock(LOCK):
            cluster = self._cluster(cluster)
            doc = packets.make(packet_id=ids.ordered_id(packets.KINDS[kind]), kind=kind, cluster=cluster, title=title,
                               created=clock.stamp(), session=self.workspace.session_id, tags=tags,
                               content=content, target=found, source=source, origin=origin)
            # Not checked against the schema here: make() builds it from checked values (the tests hold
            # it to the schema), and jsonschema would cost every add several times the rest. Reads check.
            before = self.store.cluster_key(cluster)
            path = self.store.create_packet(cluster, doc["id"], packets.dump(doc))
            appended = self._append(cluster, maps.entry(doc, path), before)
            if not appended:
                self._rebuild(cluster)
            self._write_top()
        return {"packet": doc, "path": path, "maps": list(self.store.map_paths(cluster)), "appended": appended}

    # -- what a session marked as worth keeping (tether close) -----------------------------------
    KEEP_WORDS = ("remember", "worth keeping", "should not lose", "must not lose", "don't forget", "keep this")

    def worth_keeping(self, since: str | None, cluster: str = "Learnings") -> list[dict]:
        """Context entries made after ``since`` that the session marked as worth keeping (kind
        ``learning``, or text that says "remember", "worth keeping", ...), not offloaded yet: each
        with the exact `tether offload add` command that keeps it in ``cluster``."""
        import shlex

        entries = [n for n in self.workspace.notes(include_resolved=True)
                   if (since is None or n.at > since)
                   and (n.kind == "learning" or any(w in n.text.lower() for w in self.KEEP_WORDS))]
        if not entries:
            return []
        kept = {t for item in self.list(include_retired=True) for t in item["tags"] if t.startswith("note:")} \
            if self.store.offload_clusters() else set()
        out = []
        # The cluster is made by the first command when it is missing.
        first = "" if cluster in self.store.offload_clusters() else f"tether offload cluster create {cluster} && "
        for n in entries:
            if f"note:{n.id}" in kept:
                continue
            title = _title_of(n.text)
            out.append({"note": n.id, "kind": n.kind, "text": n.text, "title": title,
                        "command": f"{first if not out else ''}tether offload add blob -c {cluster}"
                                   f" -T {shlex.quote(title)} {shlex.quote(n.text)} --tag note:{n.id} --tag {n.kind}"})
        return out

    def keep(self, items: list[dict], cluster: str = "Learnings") -> list[dict]:
        """Offload each of ``worth_keeping``'s items as a blob in ``cluster`` (made if missing)."""
        if not items:
            return []
        if cluster not in self.store.offload_clusters():
            self.create_cluster(cluster, title="Kept at close",
                                description="What sessions marked as worth keeping (`tether close --offload`)")
        return [dict(item, packet=self.add("blob", cluster, item["title"], item["text"],
                                           tags=[f"note:{item['note']}", item["kind"]])["packet"]["id"])
                for item in items]

    def ingest(self, roots: list[str], cluster: str, *, tags=(), progress=None) -> dict:
        """Turn local files into blobs (full text, an extractive abstract, where it came from) and
        links (the URLs and repository paths they cite), skipping content already in the cluster
        (by hash) and links to targets it has. ``progress(done, total)`` is called per file.

        Returns {"created", "duplicates", "problems", "files"}: every file is in one of them; a link
        skipped for a target the cluster has is among the duplicates too, with its ``target``.
        """
        import os

        from . import ingest

        if not roots:
            raise InvalidInput("nothing to ingest", hint="give files or folders, e.g. `tether offload ingest advisories/`")
        tags = packets.check_tags(tags)
        items, skipped = ingest.find(list(roots))
        problems = [{"path": shown, "problem": why} for shown, why in skipped]
        created: list[dict] = []
        duplicates: list[dict] = []
        root = os.path.realpath(self.workspace.root_dir)
        with self.store.lock(LOCK):
            cluster = self._cluster(cluster)
            known = self._entries(cluster)
            hashes = {i["hash"]: i["id"] for i in known if i.get("hash") and i["status"] == "active"}
            targets = {i["target"]: i["id"] for i in known if i["kind"] == "link" and i["status"] == "active"}
            for done, item in enumerate(items, 1):
                ingest.read(item)
                if progress is not None:
                    progress(done, len(items))
                if item.problem:
                    where = {"line": item.line, "column": item.column} if item.line else {}
                    problems.append({"path": item.shown, "problem": item.problem, **where})
                    continue
                text = item.text
                if len(text) > packets.MAX_CONTENT:
                    problems.append({"path": item.shown, "problem": f"{len(text):,} characters: more than a packet"
                                                                   f" holds ({packets.MAX_CONTENT:,}); link it instead"})
                    continue
                digest = packets.content_hash(text)
                if digest in hashes:
                    duplicates.append({"path": item.shown, "same_as": hashes[digest]})
                    continue
                inside = item.path == root or item.path.startswith(root + os.sep)
                origin_path = os.path.relpath(item.path, root) if inside else item.shown
                title = ingest.title_of(text, os.path.basename(item.path))
                doc = self._new(cluster, "blob", packets.check_title(title), text, tags,
                                origin={"path": origin_path.replace(os.sep, "/"), "bytes": item.size,
                                        "format": item.format},
                                abstract=ingest.abstract(text) or None)
                hashes[digest] = doc["id"]
                created.append({"id": doc["id"], "kind": "blob", "title": doc["title"], "from": item.shown})
                for target in ingest.cited(text):
                    if links.kind_of(target) == "path":
                        if not inside:
                            continue  # relative to a file outside the repository: nothing here to check
                        target = os.path.normpath(os.path.join(os.path.dirname(origin_path), target)).replace(os.sep, "/")
                    if target in targets:  # the cluster links it already: skipped, and named
                        if not any(d.get("target") == target for d in duplicates):
                            duplicates.append({"path": item.shown, "target": target, "same_as": targets[target]})
                        continue
                    found = links.check(root, target)
                    found["checked"] = clock.stamp()
                    link = self._new(cluster, "link", packets.check_title(f"{target} (cited by {title})"[:200]), None,
                                     tags, target=found, origin={"path": origin_path.replace(os.sep, "/")})
                    targets[target] = link["id"]
                    created.append({"id": link["id"], "kind": "link", "title": link["title"], "from": item.shown})
            if created:
                self._rebuild(cluster)
                self._write_top()
        return {"created": created, "duplicates": duplicates, "problems": problems, "files": len(items)}

    def _new(self, cluster: str, kind: str, title: str, content, tags, **extra) -> dict:
        doc = packets.make(packet_id=ids.ordered_id(packets.KINDS[kind]), kind=kind, cluster=cluster, title=title,
                           created=clock.stamp(), session=self.workspace.session_id, tags=tags,
                           content=content, **extra)
        self.store.create_packet(cluster, doc["id"], packets.dump(doc))
        return doc

    def _load(self, packet_id: str) -> tuple[str, dict, str]:
        cluster = self.store.find_packet(packet_id)
        if cluster is None:
            raise NotFound(f"no packet {packet_id}", hint="run `tether offload list` to see the packets and their ids")
        path = self.store.packet_path(cluster, packet_id)
        data = self.store.read_packet(cluster, packet_id)
        if data is None:
            raise NotFound(f"no packet {packet_id}", hint="run `tether offload list` to see the packets and their ids")
        return cluster, packets.parse(data, path), path

    def show(self, packet_id: str) -> dict:
        cluster, doc, path = self._load(packet_id)
        return {"packet": doc, "path": path}

    def retire(self, packet_id: str, reason: str | None = None) -> dict:
        """Mark a packet retired (kept, with when, who and why); retiring it again changes nothing."""
        with self.store.lock(LOCK):
            cluster, doc, path = self._load(packet_id)
            if doc["status"] == "retired":
                return {"packet": doc, "path": path, "changed": False}
            new = packets.retire(doc, at=clock.stamp(), session=self.workspace.session_id,
                                 reason=" ".join(reason.split()) if reason else None)
            self.store.replace_packet(cluster, packet_id, packets.dump(new))
            self._rebuild(cluster)
            self._write_top()
        return {"packet": new, "path": path, "changed": True}

    def list(self, cluster: str | None = None, kind: str | None = None, tag: str | None = None,
             include_retired: bool = False) -> list[dict]:
        """Map entries, oldest first; unreadable packets are left out and reported (``problems``)."""
        if kind is not None:
            packets.check_kind(kind)
        names = [self._cluster(cluster)] if cluster else self.store.offload_clusters()
        out = []
        for name in names:
            for item in self._entries(name):
                if (include_retired or item["status"] == "active") and kind in (None, item["kind"]) \
                        and (tag is None or tag in item["tags"]):
                    out.append(dict(item, cluster=name))
        return sorted(out, key=lambda i: maps.order(i["id"]))

    def snippet(self, cluster: str | None = None) -> dict:
        """Stable index entries of the active packets: {"packets", "terms", "markdown"}."""
        from . import snippets

        out = snippets.entries(self.list(cluster=cluster))
        return {**out, "markdown": snippets.markdown(out)}

    # -- the maps --------------------------------------------------------------------------------
    def refresh(self, check: bool = False) -> dict:
        """Rewrite every map that differs from what the packets give (``check``: only say which)."""
        stale: list[str] = []
        with self.store.lock(LOCK):
            for name in self.store.offload_clusters():
                stale += self._rebuild(name, write=not check)
            stale += self._write_top(write=not check)
        return {"stale": stale, "written": [] if check else stale, "clusters": len(self.store.offload_clusters())}

    def _entries(self, cluster: str) -> list[dict]:
        """Every packet's map entry, from the cache where the file's stat has not changed."""
        cache_path = self.store.offload_cache_file(cluster)
        from ..warm import cachefile

        cached = cachefile.read(cache_path, "offload-entries", CACHE_VERSION, self.store.tree.directory) \
            if cache_path else None
        cached = cached if isinstance(cached, dict) else {}
        fresh: dict = {}
        out = []
        for packet_id in self.store.packet_ids(cluster):
            key = self.store.packet_key(cluster, packet_id)
            hit = cached.get(packet_id)
            if hit is not None and key is not None and tuple(hit[0]) == tuple(key):
                item = hit[1]
            else:
                path = self.store.packet_path(cluster, packet_id)
                try:
                    data = self.store.read_packet(cluster, packet_id)
                    if data is None:
                        continue
                    doc = packets.parse(data, path)
                    if doc["id"] != packet_id or doc["cluster"] != cluster:
                        raise ParseError(path, None, f"its id and cluster ({doc['id']}, {doc['cluster']}) do not match"
                                                     " its file name and folder; move it back or fix them")
                except ParseError as exc:
                    self._report(exc.problem)
                    continue
                item = maps.entry(doc, path)
            fresh[packet_id] = (key, item)
            out.append(item)
        if cache_path and fresh != cached:
            cachefile.write(cache_path, "offload-entries", CACHE_VERSION, fresh, self.store.tree.directory)
        return out

    def _head(self, cluster: str) -> dict | None:
        path = self.store.offload_cache_file(cluster + ".head")
        from ..warm import cachefile

        head = cachefile.read(path, "offload-head", CACHE_VERSION, self.store.tree.directory) if path else None
        return head if isinstance(head, dict) else None

    def _save_head(self, cluster: str, head: dict) -> None:
        path = self.store.offload_cache_file(cluster + ".head")
        if path:
            from ..warm import cachefile

            cachefile.write(path, "offload-head", CACHE_VERSION, head, self.store.tree.directory)

    def _current_head(self, cluster: str) -> dict | None:
        """The head cache when the cluster's folder and maps are as this machine last left them."""
        head = self._head(cluster)
        if head is None or head.get("folder") != self.store.cluster_key(cluster):
            return None
        if head.get("text") != self.store.map_key(cluster, "text") or head.get("data") != self.store.map_key(cluster, "data"):
            return None
        return head

    def _append(self, cluster: str, item: dict, before: tuple | None) -> bool:
        """Add a new packet's lines to its cluster's maps when it is the newest there and the maps are
        as this machine left them (the folder as it was before the packet was written)."""
        head = self._head(cluster)
        if head is None or before is None or head.get("folder") != before or not head["summary"].get("last") \
                or maps.order(item["id"]) <= maps.order(head["summary"]["last"]):
            return False
        if head.get("text") != self.store.map_key(cluster, "text") or head.get("data") != self.store.map_key(cluster, "data"):
            return False
        self.store.append_map(cluster, "text", maps.text_line(item))
        self.store.append_map(cluster, "data", maps.data_line(item))
        self._save_head(cluster, {**head, "summary": maps.add_to_summary(head["summary"], item),
                                  "folder": self.store.cluster_key(cluster), "text": self.store.map_key(cluster, "text"),
                                  "data": self.store.map_key(cluster, "data")})
        return True

    def _rebuild(self, cluster: str, write: bool = True) -> list[str]:
        """Render a cluster's maps from its packets; write those that differ. The shown paths of those."""
        items = self._entries(cluster)
        info = self._info(cluster)
        changed = []
        for kind, shown in zip(("text", "data"), self.store.map_paths(cluster)):
            data = maps.render_cluster(cluster, info, items, kind).encode("utf-8")
            if self.store.read_map(cluster, kind) != data:
                changed.append(shown)
                if write:
                    self.store.write_map(cluster, kind, data)
        if write:
            self._save_head(cluster, {"summary": maps.summary(items), "info": info,
                                      "folder": self.store.cluster_key(cluster),
                                      "text": self.store.map_key(cluster, "text"),
                                      "data": self.store.map_key(cluster, "data")})
        return changed

    def _write_top(self, write: bool = True) -> list[str]:
        rows = []
        for name in self.store.offload_clusters():
            head = self._current_head(name)
            if head is None:  # changed behind this machine's back (a merge, a pull): render it again
                if write:
                    self._rebuild(name)
                    head = self._current_head(name)
                if head is None:
                    rows.append((name, self._info(name), maps.summary(self._entries(name))))
                    continue
            rows.append((name, head.get("info") or {}, head["summary"]))
        changed = []
        for kind, shown in zip(("text", "data"), self.store.map_paths(None)):
            data = maps.render_all(rows, kind).encode("utf-8")
            if self.store.read_map(None, kind) != data:
                changed.append(shown)
                if write:
                    self.store.write_map(None, kind, data)
        return changed

    # -- misc ------------------------------------------------------------------------------------
    def _report(self, problem: Problem) -> None:
        if problem not in self.problems:
            self.problems.append(problem)

    @staticmethod
    def schema() -> str:
        from .schema import schema_text

        return schema_text()


_CLUSTER_HEADER = b"# tether offload cluster: its name, title and description; the maps beside it are generated\n"


def _title_of(text: str) -> str:
    """A packet title from an entry's text: its first line, at most 80 characters."""
    first = " ".join(text.split())
    return first if len(first) <= 80 else first[:77].rstrip() + "..."
