"""Index snippets: stable entries for external indexes (CoIndex, GIBindex, a docs site).

Active packets only, in a fixed order (cluster, then creation), with nothing that changes
when the packets do not (no time of generation): the same packets give byte-identical
Markdown and JSON. Terms (glossary entries) are listed apart. Pure functions over map entries.
"""

from __future__ import annotations

from .maps import _md, order

FIELDS = ("id", "kind", "title", "cluster", "path", "hash", "summary", "tags")


def entries(items: list[dict]) -> dict:
    """{"packets": [...], "terms": [...]} from map entries (each with its ``cluster``)."""
    active = sorted((i for i in items if i["status"] == "active"), key=lambda i: (i["cluster"], order(i["id"])))
    packets, terms = [], []
    for item in active:
        row = {key: item.get(key) for key in FIELDS}
        if item["kind"] == "link":
            row["target"], row["resolves"] = item["target"], item["resolves"]
        if item["kind"] == "term":
            terms.append({"term": item["title"], "definition": item["summary"], "id": item["id"],
                          "cluster": item["cluster"], "path": item["path"], "hash": item["hash"],
                          "source": item.get("source")})
        else:
            packets.append(row)
    terms.sort(key=lambda t: (t["term"].lower(), t["id"]))
    return {"packets": packets, "terms": terms}


def markdown(snippet: dict) -> str:
    out = ["<!-- tether offload snippet: stable entries, regenerated with `tether offload snippet` -->",
           "## Offload packets", ""]
    if not snippet["packets"]:
        out.append("None.")
    for p in snippet["packets"]:
        digest = f" `{p['hash'][:19]}`" if p.get("hash") else ""
        line = f"- `{p['id']}` {p['kind']}: [{_md(p['title'])}]({p['path']}){digest}"
        if p["kind"] == "link":
            line += f" → {_md(p['target'])}"
        if p["summary"] != p["title"]:
            line += f" — {_md(p['summary'])}"
        out.append(line)
    out += ["", "## Terms", ""]
    if not snippet["terms"]:
        out.append("None.")
    for t in snippet["terms"]:
        out.append(f"- **{_md(t['term'])}**: {_md(t['definition'])} ([{t['id']}]({t['path']}))")
    return "\n".join(out) + "\n"
