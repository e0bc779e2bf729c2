"""A packet as a document: made from what the user gives, checked, written and read as YAML.

Pure functions over plain data (the facade does the I/O). Kinds: ``frame`` (the framing of a
theme or wave), ``blob`` (dense payload), ``link`` (a pointer to a repo path, a URL, another
repository or an artefact) and ``term`` (a glossary entry: the title is the term, the content
its definition, ``source`` where it came from). The file is YAML with a fixed key order,
the content last, as a literal block when it has several lines.
"""

from __future__ import annotations

import hashlib
import re

from ..errors import InvalidInput, ParseError

SCHEMA = 1
KINDS = {"frame": "FRM", "blob": "BLB", "link": "LNK", "term": "TRM"}
STATUSES = ("active", "retired")
ORDER = ("schema", "id", "kind", "cluster", "title", "status", "created", "session", "tags", "summary", "hash",
         "target", "target_kind", "resolves", "resolution", "checked", "source", "origin", "abstract", "retired",
         "content")
HEADER = "# tether offload packet (`tether offload schema` describes it); change it with `tether offload ...`\n"
MAX_TITLE = 200
MAX_TAG = 64
MAX_CONTENT = 1_000_000  # characters: a packet is read whole by every full map rebuild
MAX_SUMMARY = 160
TAG_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/+-]*$")


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise InvalidInput(f"there is no packet kind {kind!r}", hint=f"kinds: {', '.join(KINDS)}")
    return kind


def check_title(title: str) -> str:
    title = " ".join((title or "").split())
    if not title:
        raise InvalidInput("a packet needs a title", hint='give --title "what it is, in a few words"')
    if len(title) > MAX_TITLE:
        raise InvalidInput(f"the title has {len(title)} characters (at most {MAX_TITLE})",
                           hint="put the detail in the packet's text and keep the title short")
    return title


def check_tags(tags) -> list[str]:
    out: list[str] = []
    for tag in tags or []:
        for part in str(tag).split(","):
            part = part.strip()
            if not part:
                continue
            if len(part) > MAX_TAG or not TAG_RE.match(part):
                raise InvalidInput(f"{part!r} is not a tag", hint="tags are words: letters, digits and . _ : / + -"
                                                                  f" (at most {MAX_TAG} characters), e.g. --tag bpoe")
            if part not in out:
                out.append(part)
    return sorted(out)


def check_content(text: str | None, shown: str = "the text") -> str | None:
    if text is None:
        return None
    if len(text) > MAX_CONTENT:
        raise InvalidInput(f"{shown} has {len(text):,} characters (a packet holds at most {MAX_CONTENT:,})",
                           hint="split it into several blobs, or add a link packet pointing at the file")
    if "\x00" in text:
        raise InvalidInput(f"{shown} holds a NUL character (binary data?)", hint="offload text; link binary files")
    return text.replace("\r\n", "\n")


def content_hash(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def summary_of(text: str | None, title: str) -> str:
    """One line: the first sentence or line of the text with words in it (past its headings), else
    its first heading, else the title."""
    lines = [line for line in (text or "").splitlines() if line.strip()]
    body = [line for line in lines if not line.lstrip().startswith("#")]
    for line in body or lines:
        line = line.strip().lstrip("#>*-+ ").strip()
        if any(c.isalnum() for c in line):
            line = " ".join(line.split())
            cut = re.search(r"(?<=[.!?])\s", line)
            if cut and cut.start() >= 10:  # not after "e.g." or "No."
                line = line[:cut.start()]
            return line if len(line) <= MAX_SUMMARY else line[:MAX_SUMMARY - 1].rstrip() + "…"
    return title


def make(*, packet_id: str, kind: str, cluster: str, title: str, created: str, session: str, tags=(),
         content: str | None = None, target: dict | None = None, source: str | None = None,
         origin: dict | None = None, abstract: str | None = None) -> dict:
    """A new packet's document. ``target``: for links, what links.check found."""
    doc: dict = {"schema": SCHEMA, "id": packet_id, "kind": kind, "cluster": cluster, "title": title,
                 "status": "active", "created": created, "session": session, "tags": list(tags),
                 "summary": summary_of(content, title)}
    if content is not None and content.strip():
        doc["hash"] = content_hash(content)
    if kind == "link":
        doc.update(target or {})
    if source:
        doc["source"] = source
    if origin:
        doc["origin"] = origin
    if abstract:
        doc["abstract"] = abstract
    if content is not None and content.strip():
        doc["content"] = content
    return ordered(doc)


def retire(doc: dict, *, at: str, session: str, reason: str | None) -> dict:
    new = dict(doc)
    new["status"] = "retired"
    new["retired"] = {"at": at, "session": session, **({"reason": reason} if reason else {})}
    return ordered(new)


def ordered(doc: dict) -> dict:
    known = {key: doc[key] for key in ORDER if key in doc}
    return {**known, **{key: value for key, value in doc.items() if key not in known}}


def dump(doc: dict) -> bytes:
    """The packet's file: the header, then YAML (multi-line text as literal blocks)."""
    import yaml

    base = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

    class Dumper(base):  # type: ignore[misc, valid-type]
        pass

    def text(dumper, value):
        style = "|" if "\n" in value and _literal_ok(value) else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    Dumper.add_representer(str, text)
    body = yaml.dump(ordered(doc), Dumper=Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False,
                     width=100)
    return (HEADER + body).encode("utf-8")


def _literal_ok(value: str) -> bool:
    # PyYAML drops to a quoted style for these anyway; checked here so the output is predictable.
    return not any(line != line.rstrip(" \t") for line in value.split("\n")) and "\t" not in value


def _yaml_file(data: bytes, shown: str):
    """(text, value) of a YAML file of the offload folder; ParseError with the file and line when it
    does not read (not UTF-8, a conflict marker, invalid YAML)."""
    from ..store.codec import Unusable, check_conflicts, decode, line_at
    from ..store.yaml_codec import YamlError, yaml_value

    text = decode(data, shown)
    check_conflicts(text, shown)
    try:
        return text, yaml_value(text)
    except YamlError as exc:
        raise ParseError(shown, exc.line, f"invalid YAML ({exc.reason})") from None
    except Unusable as exc:
        raise ParseError(shown, line_at(text, exc.offset), exc.reason) from None


def parse(data: bytes, shown: str) -> dict:
    """A packet file to its document; ParseError with the file and line when it is not one."""
    text, doc = _yaml_file(data, shown)
    if not isinstance(doc, dict):
        raise ParseError(shown, 1, "a packet is a mapping of fields (id, kind, title, ...)")
    from .schema import problems

    found = problems(doc, shown, text)
    if found:
        raise ParseError(found[0].path, found[0].line, found[0].message)
    return doc


def parse_cluster(data: bytes, shown: str) -> dict:
    """A cluster.yaml to its mapping (title, description, ...); ParseError with the file and line
    when it is not one (a conflict marker two clones' `cluster create` left, a hand edit)."""
    _, info = _yaml_file(data, shown)
    if not isinstance(info, dict) or not all(isinstance(info.get(k, ""), str) for k in ("title", "description")):
        raise ParseError(shown, 1, "expected a mapping with text title and description")
    return info
