"""Where a named definition (a symbol: ``parse``, ``Checker.flags``) sits in a file's text.

An anchor to a symbol pins the definition's own text, so a memory about one function
is not flagged when another part of its file changes. Python files are read with
``ast`` (exact: nested classes and methods, decorators included); other files by a
definition keyword before the name (``def``, ``class``, ``function``, ``func``,
``fn``, ``struct``, ``interface``, ``type``, ``enum``, ``trait``, ``impl``, ...) and
the block that follows it: by braces when the line opens one, else by indentation.
"""

from __future__ import annotations

import re

_NAME = re.compile(r"[A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)*\Z")
_KEYWORDS = (r"def|class|function|func|fn|struct|interface|type|enum|trait|impl|module|record|object|"
             r"protocol|extension|sub|proc|macro|const|let|var|val")


def valid(symbol: str) -> bool:
    """``name`` or ``Outer.inner``: what a symbol anchor may name."""
    return bool(_NAME.match(symbol))


def definition(source: bytes, path: str, symbol: str) -> bytes | None:
    """The bytes of ``symbol``'s definition in ``source`` (the file at ``path``), None when the
    file defines no such symbol (or cannot be read as text)."""
    if not valid(symbol):
        return None
    try:
        text = source.decode("utf-8")
    except UnicodeDecodeError:
        return None
    lines = text.splitlines(keepends=True)
    span = _python(text, symbol) if path.endswith((".py", ".pyi")) else None
    if span is None:
        span = _generic(lines, symbol.rpartition(".")[2])
    if span is None:
        return None
    first, last = span
    return "".join(lines[first - 1:last]).encode("utf-8")


def _python(text: str, symbol: str) -> tuple[int, int] | None:
    import ast

    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return None
    scope: list = tree.body
    node = None
    for part in symbol.split("."):
        node = next((n for n in scope if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                     and n.name == part), None)
        if node is None:
            node = next((n for n in scope if isinstance(n, (ast.Assign, ast.AnnAssign))
                         and part in _targets(n)), None)
            if node is None:
                return None
        scope = getattr(node, "body", [])
    first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
    return first, node.end_lineno or node.lineno


def _targets(node) -> list[str]:
    import ast

    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    return [t.id for t in targets if isinstance(t, ast.Name)]


def _generic(lines: list[str], name: str) -> tuple[int, int] | None:
    head = re.compile(rf"^\s*(?:[\w@\[\]()<>,\s]*\s)?(?:{_KEYWORDS})\s+(?:\([^)]*\)\s*)?(?:\*\s*)?{re.escape(name)}\b")
    for i, line in enumerate(lines):
        if len(line) < 1_000 and head.search(line):  # a minified line is no definition to cite
            return i + 1, _block_end(lines, i)
    return None


def _block_end(lines: list[str], start: int) -> int:
    """The last line (1-based) of the block that opens at ``start`` (0-based): to the matching
    brace when the header (or the line after it) opens one, else the lines indented deeper."""
    if any("{" in lines[j] for j in range(start, min(start + 2, len(lines)))):
        depth = 0
        for j in range(start, len(lines)):
            depth += lines[j].count("{") - lines[j].count("}")
            if depth <= 0 and "{" in "".join(lines[start:j + 1]):
                return j + 1
        return len(lines)
    indent = len(lines[start]) - len(lines[start].lstrip())
    end = start
    for j in range(start + 1, len(lines)):
        if not lines[j].strip():
            continue
        if len(lines[j]) - len(lines[j].lstrip()) <= indent:
            if lines[j].strip() in ("end", "end;", "fi", "done", "esac"):  # Ruby, Lua, shell: the closing word
                end = j
            break
        end = j
    return end + 1
