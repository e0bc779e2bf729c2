"""``tether offload ...``: offload waves (seed 000). Each handler makes one call on
:class:`tether.offload.Offload` and renders what it returns."""

from __future__ import annotations

import sys

from ..errors import EXIT_DEGRADED, EXIT_OK, InvalidInput
from .commands import Parser  # built with the parser: this module registers its commands
from .output import Result, problems_text, read_input, utf8_text


def _offload():
    from ..offload import Offload

    return Offload()


def _text(args) -> str | None:
    """The packet's text: TEXT, --file FILE, or - (stdin); None when none was given."""
    if args.text is not None and args.file is not None:
        raise InvalidInput("give the text once: as TEXT, with --file, or - for stdin",
                           hint="e.g. `tether offload add blob ... --file notes.md`")
    name = args.file if args.file is not None else ("-" if args.text == "-" else None)
    if name is None:
        return args.text
    data, shown = read_input(name, "give a UTF-8 text file, or - for stdin")
    return utf8_text(data, shown, "offload text (convert it to UTF-8); point at binary files with a link packet")


def _problems(off) -> tuple[list, str, int]:
    found = off.problems
    return [p.to_dict() for p in found], problems_text(found), EXIT_DEGRADED if found else EXIT_OK


def cmd_cluster_create(args) -> Result:
    done = _offload().create_cluster(args.name, title=args.title, description=args.description)
    return Result(done, f"Created cluster {done['cluster']}\n  {done['path']}\n  maps: {', '.join(done['maps'])}")


def cmd_cluster_list(args) -> Result:
    off = _offload()
    found = off.clusters()
    problems, extra, code = _problems(off)
    lines = [f"{c['cluster']:<28} {c['counts']['frame']:>3} frames {c['counts']['blob']:>4} blobs"
             f" {c['counts']['link']:>4} links {c['counts']['term']:>3} terms {c['retired']:>3} retired  {c['title']}"
             for c in found]
    text = "\n".join(lines) or "No clusters yet (create one with `tether offload cluster create NAME`)."
    return Result({"clusters": found, "problems": problems}, text + extra, code)


def cmd_add(args) -> Result:
    done = _offload().add(args.kind, args.cluster, args.title, _text(args), tags=args.tag or [],
                          target=args.target, source=args.source)
    doc = done["packet"]
    text = f"Added {doc['kind']} {doc['id']} to {doc['cluster']}: {doc['title']}\n  {done['path']}"
    if doc["kind"] == "link":
        resolves = {True: "resolves", False: "does not resolve", None: "unknown"}[doc["resolves"]]
        text += f"\n  target {doc['target']}: {resolves} ({doc['resolution']})"
    return Result(done, text)


def _row(item: dict) -> str:
    mark = "" if item["status"] == "active" else f" ({item['status']})"
    return f"{item['id']:<18} {item['kind']:<5} {item['cluster']:<24} {item['title']}{mark}"


def cmd_list(args) -> Result:
    off = _offload()
    found = off.list(cluster=args.cluster, kind=args.kind, tag=args.tag, include_retired=args.all)
    problems, extra, code = _problems(off)
    text = "\n".join(_row(i) for i in found) or "No packets" + (" match." if args.cluster or args.kind or args.tag
                                                                 else " yet (add one with `tether offload add`).")
    return Result({"packets": found, "problems": problems}, text + extra, code)


def cmd_show(args) -> Result:
    done = _offload().show(args.id)
    from ..offload.packets import dump

    return Result(done, f"# {done['path']}\n" + dump(done["packet"]).decode("utf-8").split("\n", 1)[1].rstrip("\n"))


def cmd_retire(args) -> Result:
    done = _offload().retire(args.id, reason=args.reason)
    doc = done["packet"]
    verb = "Retired" if done["changed"] else "Already retired:"
    return Result(done, f"{verb} {doc['id']} ({doc['title']}); kept at {done['path']}")


def cmd_map(args) -> Result:
    off = _offload()
    done = off.refresh(check=args.check)
    problems, extra, code = _problems(off)
    done["problems"] = problems
    if args.check:
        text = ("Stale maps:\n" + "\n".join(f"  {p}" for p in done["stale"])) if done["stale"] else "The maps are current."
        code = EXIT_DEGRADED if done["stale"] or problems else EXIT_OK
    else:
        text = ("Rewrote:\n" + "\n".join(f"  {p}" for p in done["written"])) if done["written"] else "The maps are current."
    return Result(done, text + extra, code)


def cmd_ingest(args) -> Result:
    progress = None
    if sys.stderr.isatty() and not getattr(args, "json", False):
        def progress(done: int, total: int) -> None:
            if total >= 50 and (done == total or done % 10 == 0):
                width = 30
                filled = width * done // total
                sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} files")
                if done == total:
                    sys.stderr.write("\n")
    done = _offload().ingest(args.paths, args.cluster, tags=args.tag or [], progress=progress)
    blobs = sum(1 for c in done["created"] if c["kind"] == "blob")
    lines = [f"Ingested {done['files']} file(s) into {args.cluster}: {blobs} blob(s),"
             f" {len(done['created']) - blobs} link(s); {len(done['duplicates'])} duplicate(s) skipped,"
             f" {len(done['problems'])} problem(s)"]
    lines += [f"  + {c['id']}  {c['title']}" for c in done["created"]]
    lines += [f"  = {d['path']}: cites {d['target']}, linked already by {d['same_as']}" if d.get("target")
              else f"  = {d['path']}: same content as {d['same_as']}" for d in done["duplicates"]]
    lines += [f"  ! {p['path']}: {p['problem']}" for p in done["problems"]]
    return Result(done, "\n".join(lines), EXIT_DEGRADED if done["problems"] else EXIT_OK)


def cmd_snippet(args) -> Result:
    off = _offload()
    done = off.snippet(cluster=args.cluster)
    problems, extra, code = _problems(off)
    if problems and not getattr(args, "json", False):
        sys.stderr.write(extra.lstrip("\n") + "\n")  # on stderr: the Markdown on stdout stays an index
    text = done.pop("markdown")
    return Result({**done, "problems": problems}, text, code)


def cmd_schema(args) -> Result:
    import json

    from ..offload import Offload

    text = Offload.schema()
    return Result({"schema": json.loads(text)}, text)


class Intermixed(Parser):
    """Options before or after TEXT (`add blob - --cluster C` as `add blob --cluster C -`): argparse
    alone fills an optional positional at its first chance, and then refuses a later one."""

    _inside = False

    def parse_known_args(self, args=None, namespace=None):
        if self._inside or self._subparsers is not None:
            return super().parse_known_args(args, namespace)
        self._inside = True
        try:
            return self.parse_known_intermixed_args(args, namespace)
        finally:
            self._inside = False


def register(sub, add, common) -> None:
    off = sub.add_parser("offload", formatter_class=common.formatter_class,
                         help="Offload waves: clusters of packets (frames, blobs, links, terms) and their maps.",
                         description="Push what a session would be sad to lose into the repository as packets.")
    osub = off.add_subparsers(dest="offload_command", metavar="ACTION", required=True, parser_class=Intermixed)
    cluster = osub.add_parser("cluster", formatter_class=common.formatter_class, help="Create and list clusters.", description="Create and list clusters.")
    csub = cluster.add_subparsers(dest="cluster_command", metavar="ACTION", required=True, parser_class=Parser)
    p = add(csub, "create", cmd_cluster_create, "Create a cluster (a folder of packets with its maps).")
    p.add_argument("name", metavar="NAME", help="e.g. Cluster01_BPOE_Deltas")
    p.add_argument("--title", help="what the maps call it (default: its name)")
    p.add_argument("--description", help="a paragraph at the top of its MAP.md")
    add(csub, "list", cmd_cluster_list, "List the clusters and what they hold.")

    p = add(osub, "add", cmd_add, "Add a packet: frame, blob, link or term (text as TEXT, --file FILE or - for stdin).")
    p.add_argument("kind", metavar="KIND", help="frame, blob, link or term")
    p.add_argument("text", nargs="?", metavar="TEXT", help="the content; - reads stdin")
    p.add_argument("--cluster", "-c", required=True, help="the cluster it goes in")
    p.add_argument("--title", "-T", required=True, help="a few words; for a term, the term itself")
    p.add_argument("--tag", action="append", metavar="TAG", help="a tag (repeatable, or comma-separated)")
    p.add_argument("--target", metavar="PATH|URL", help="links: what it points at (a repo path is checked, a URL is not fetched)")
    p.add_argument("--source", help="terms: where the term came from")
    p.add_argument("--file", "-f", metavar="FILE", help="read the content from FILE ('-' for stdin)")

    p = add(osub, "list", cmd_list, "List packets, oldest first (--all: retired ones too).")
    p.add_argument("--cluster", "-c", help="only this cluster")
    p.add_argument("--kind", "-k", help="only this kind")
    p.add_argument("--tag", help="only packets with this tag")
    p.add_argument("--all", action="store_true", help="retired packets too")

    p = add(osub, "show", cmd_show, "Print one packet.")
    p.add_argument("id", metavar="ID")

    p = add(osub, "retire", cmd_retire, "Retire a packet: it stays, marked retired, with when, who and why.")
    p.add_argument("id", metavar="ID")
    p.add_argument("--reason", "-r", help="why (kept in the packet)")

    p = add(osub, "map", cmd_map, "Rewrite the navigation maps that differ from the packets (after a merge);"
                                  " --check only reports them (exit 3).")
    p.add_argument("--check", action="store_true", help="change nothing; exit 3 when a map is stale")

    p = add(osub, "ingest", cmd_ingest, "Turn local files (Markdown, text, HTML, JSON, YAML) into blobs, and the URLs"
                                        " and repo paths they cite into links; duplicates skipped by content hash.")
    p.add_argument("paths", nargs="+", metavar="PATH", help="files or folders (never read outside them)")
    p.add_argument("--cluster", "-c", required=True, help="the cluster they go in")
    p.add_argument("--tag", action="append", metavar="TAG", help="a tag for every packet made (repeatable)")

    p = add(osub, "snippet", cmd_snippet, "Print stable index entries (id, title, kind, path, hash, summary) and the"
                                          " terms, as Markdown (--json: JSON); unchanged packets, identical bytes.")
    p.add_argument("--cluster", "-c", help="only this cluster")

    add(osub, "schema", cmd_schema, "Print the packet format's JSON Schema.")
