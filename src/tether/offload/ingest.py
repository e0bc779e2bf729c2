"""Reading local files for `tether offload ingest`: what is in the given roots, and its text.

Never outside the roots: folders are walked without following symbolic links (a link is
reported, not read), files are opened with O_NOFOLLOW and must be regular files, and a root
is taken as given (the user named it). A file that cannot be read (permissions, not UTF-8,
an unsupported format, too large, JSON or YAML that does not parse) is reported with its path
and why (and its line and column when known), never dropped silently nor kept as a blob.
Formats: Markdown, plain text, reStructuredText, HTML (its text, without scripts and styles),
JSON and YAML (as written), and PDF (its pages' text) when pypdf is installed (`tether[pdf]`). This module reads; the facade makes the packets.
"""

from __future__ import annotations

import os
import re
import stat

TEXT = {".md": "markdown", ".markdown": "markdown", ".txt": "text", ".text": "text", ".rst": "text",
        ".html": "html", ".htm": "html", ".json": "json", ".yaml": "yaml", ".yml": "yaml", ".pdf": "pdf"}
MAX_BYTES = 4_000_000
_URL = re.compile(r"https?://[^\s<>\"'`)\]]+")
_MD_LINK = re.compile(r"\]\(([^)\s]+)\)")


class Item:
    """One file found: ``path`` (absolute), ``shown`` (as the user sees it), and after ``read``
    either ``text`` and ``format`` or ``problem``."""

    def __init__(self, path: str, shown: str) -> None:
        self.path, self.shown = path, shown
        self.text: str | None = None
        self.format: str | None = None
        self.size = 0
        self.problem: str | None = None
        self.line: int | None = None  # where the problem is, when a parser said
        self.column: int | None = None


def find(roots: list[str]) -> tuple[list[Item], list[tuple[str, str]]]:
    """Every file under the roots (sorted per root), and (shown path, why) of what was skipped."""
    items: list[Item] = []
    skipped: list[tuple[str, str]] = []
    seen: set[str] = set()
    for root in roots:
        try:
            st = os.stat(root)
        except OSError as exc:
            skipped.append((root, f"cannot be read ({exc.strerror})"))
            continue
        if stat.S_ISREG(st.st_mode):
            real = os.path.realpath(root)
            if real not in seen:
                seen.add(real)
                items.append(Item(real, root))
            continue
        if not stat.S_ISDIR(st.st_mode):
            skipped.append((root, "not a file or a folder"))
            continue
        found = []
        stack = [os.path.realpath(root)]
        base = stack[0]
        while stack:
            folder = stack.pop()
            try:
                entries = list(os.scandir(folder))
            except OSError as exc:
                skipped.append((_shown(root, base, folder), f"folder cannot be read ({exc.strerror})"))
                continue
            for entry in entries:
                shown = _shown(root, base, entry.path)
                if entry.name.startswith("."):
                    continue  # .git, editors' files: hidden folders and files are not advisories
                if entry.is_symlink():
                    skipped.append((shown, "a symbolic link: not followed"))
                elif entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                elif entry.is_file(follow_symlinks=False):
                    found.append(Item(entry.path, shown))
                else:
                    skipped.append((shown, "not a regular file"))
        for item in sorted(found, key=lambda i: i.shown):
            if item.path not in seen:
                seen.add(item.path)
                items.append(item)
    return items, skipped


def _shown(root: str, base: str, path: str) -> str:
    rel = os.path.relpath(path, base)
    return root if rel == "." else os.path.join(root, rel)


def read(item: Item) -> Item:
    """Fill ``item`` with its text and format, or its problem."""
    fmt = TEXT.get(os.path.splitext(item.path)[1].lower())
    if fmt is None:
        item.problem = "not a format ingest reads (Markdown, text, HTML, JSON, YAML, PDF)"
        return item
    try:
        fd = os.open(item.path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        item.problem = f"cannot be read ({exc.strerror})"
        return item
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            item.problem = "not a regular file"
            return item
        if st.st_size > MAX_BYTES:
            item.problem = f"{st.st_size:,} bytes: larger than ingest reads ({MAX_BYTES:,}); link it instead"
            return item
        chunks = []
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
        data = b"".join(chunks)
    except OSError as exc:
        item.problem = f"cannot be read ({exc.strerror})"
        return item
    finally:
        os.close(fd)
    item.size = len(data)
    if fmt == "pdf":
        item.text, item.problem = pdf_text(data)
        item.format = "pdf" if item.text else None
        return item
    if b"\x00" in data:
        item.problem = "binary (NUL bytes), not text"
        return item
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        item.line = data.count(b"\n", 0, exc.start) + 1
        item.problem = f"not UTF-8 text (line {item.line})"
        return item
    if fmt == "html":
        text = html_text(text)
    item.text, item.format = text.replace("\r\n", "\n"), fmt
    if not item.text.strip():
        item.problem = "empty"
        item.text = None
    elif fmt in ("json", "yaml"):
        found = syntax_problem(item.text, fmt)
        if found is not None:
            # A blob of a half-written or conflicted file would pass for the data it is not.
            item.line, item.column, item.problem = found
            item.text, item.format = None, None
    return item


def syntax_problem(text: str, fmt: str) -> tuple[int | None, int | None, str] | None:
    """(line, column, what is wrong and what to do) where ``text`` stops being JSON or YAML
    (``fmt``); None when it parses. A conflict marker is named first, at its line. Syntax only: the file is kept as written, so YAML's tags and dates are
    not tether's concern."""
    if "<<<<<<< " in text or ">>>>>>> " in text:
        from ..store.codec import CONFLICT_PREFIXES

        for number, line in enumerate(text.splitlines(), 1):
            if line.startswith(CONFLICT_PREFIXES) or line == "=======":
                return number, None, f"an unresolved git conflict marker (line {number}); resolve the merge first"
    line = column = None
    if fmt == "json":
        import json

        try:
            json.loads(text)
            return None
        except json.JSONDecodeError as exc:
            line, column, why = exc.lineno, exc.colno, exc.msg
        except RecursionError:
            why = "nested too deeply to read"
    else:
        import yaml

        try:
            for _ in yaml.compose_all(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
                pass
            return None
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            if mark is not None:
                line, column = mark.line + 1, mark.column + 1
            why = " ".join(f"{exc.context or ''} {exc.problem or ''}".split()) or "not YAML"
        except yaml.YAMLError as exc:
            why = " ".join(str(exc).split())[:120] or "not YAML"
        except RecursionError:
            why = "nested too deeply to read"
    where = f"line {line}, column {column}: " if line else ""
    return line, column, f"not valid {fmt.upper()} ({where}{why}); fix it, or rename it .txt to ingest it as text"


def pdf_text(data: bytes) -> tuple[str | None, str | None]:
    """(the text of a PDF's pages, None) or (None, why not). pypdf is optional (`tether[pdf]`)."""
    try:
        import pypdf
    except ImportError:
        return None, "a PDF: reading it needs pypdf (pip install 'tether[pdf]')"
    import io
    import logging

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # its warnings on odd files are not ours to print
    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            return None, "an encrypted PDF: not read"
        pages = [(page.extract_text() or "").strip() for page in reader.pages]
    except Exception as exc:  # noqa: BLE001 - a damaged PDF is a problem to report, whatever pypdf raised
        return None, f"a PDF pypdf cannot read ({type(exc).__name__}: {' '.join(str(exc).split())[:120]})"
    text = "\n\n".join(p.replace("\r\n", "\n") for p in pages if p)
    if not text.strip():
        return None, "a PDF without text (scanned images?)"
    return text + "\n", None


def html_text(markup: str) -> str:
    """The text of an HTML page: block elements as lines, scripts and styles left out; the title first."""
    from html.parser import HTMLParser

    class Text(HTMLParser):
        BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article", "pre",
                  "blockquote", "title", "ul", "ol", "table"}

        def __init__(self) -> None:
            super().__init__(convert_charrefs=True)
            self.out: list[str] = []
            self.skip = 0
            self.heading = ""

        def handle_starttag(self, tag, attrs):
            if tag in ("script", "style", "noscript", "template"):
                self.skip += 1
            elif tag in self.BLOCKS:
                self.out.append("\n")
            if tag in ("h1", "h2", "h3", "title"):
                self.heading = "#" * (1 if tag == "title" else int(tag[1])) + " "
                self.out.append(self.heading)
            if tag == "a":
                href = dict(attrs).get("href") or ""
                if href.startswith(("http://", "https://")):
                    self.out.append(f" ({href}) ")

        def handle_endtag(self, tag):
            if tag in ("script", "style", "noscript", "template"):
                self.skip = max(0, self.skip - 1)
            elif tag in self.BLOCKS:
                self.out.append("\n")

        def handle_data(self, data):
            if not self.skip:
                self.out.append(data)

    parser = Text()
    parser.feed(markup)
    parser.close()
    lines = [" ".join(line.split()) for line in "".join(parser.out).splitlines()]
    # Each heading starts a paragraph, as in Markdown: the abstract reads them as such.
    return "\n".join(("\n" + line if line.startswith("#") else line)
                     for line in lines if line.strip("# ")).lstrip("\n") + "\n"


def title_of(text: str, fallback: str) -> str:
    for line in text.splitlines()[:40]:
        line = line.strip()
        if line.startswith("#"):
            title = line.lstrip("#").strip()
            if title:
                return title[:200]
    return fallback


def abstract(text: str, limit: int = 600) -> str:
    """A dense extractive summary: the headings and the first sentence of each paragraph, in
    order, up to ``limit`` characters."""
    out: list[str] = []
    size = 0
    for block in re.split(r"\n\s*\n", text):
        lines = [line.strip() for line in block.strip().splitlines() if line.strip()]
        if not lines:
            continue
        first = lines[0]
        if first.startswith("#"):
            piece = first.lstrip("#").strip()
            rest = " ".join(lines[1:])
        else:
            piece, rest = "", " ".join(lines)
        if rest:
            sentence = re.split(r"(?<=[.!?])\s", rest, maxsplit=1)[0]
            piece = f"{piece}: {sentence}" if piece else sentence
        piece = " ".join(piece.split())
        if not piece or any(c.isalnum() for c in piece) is False:
            continue
        if size + len(piece) > limit:
            if not out:
                out.append(piece[:limit - 1] + "…")
            break
        out.append(piece)
        size += len(piece) + 1
    return "\n".join(out)


def cited(text: str) -> list[str]:
    """The URLs and relative paths a text cites, in order of first mention, each once."""
    found: list[str] = []
    for match in _URL.finditer(text):
        url = match.group(0).rstrip(".,;:")
        if url not in found:
            found.append(url)
    for match in _MD_LINK.finditer(text):
        target = match.group(1)
        if target.startswith(("#", "mailto:", "http://", "https://")) or "://" in target:
            continue
        if target not in found:
            found.append(target)
    return found
