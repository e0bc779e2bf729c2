"""The shapes of tether's files that more than one package reads or writes.

The session context document's blocks: tether owns only the text between
``<!-- tether:begin NAME -->`` and ``<!-- tether:end NAME -->``; the domain writes
them (core.context_document) and the merge by meaning folds them (gitio).
"""

from __future__ import annotations

import re

BLOCK_RE = re.compile(r"<!-- tether:begin (?P<name>[a-z_]+) -->\n.*?<!-- tether:end (?P=name) -->", re.S)
BLOCK_MARK = "<!-- tether:"  # what every marker of tether's, in the document or in a merge, starts with


def block(name: str, body: str) -> str:
    return f"<!-- tether:begin {name} -->\n{body}\n<!-- tether:end {name} -->"
