"""The published JSON Schema of a packet (``packet.schema.json`` beside this module;
``tether offload schema`` prints it), and validation messages with the file and line.

jsonschema is imported only when a packet is validated: when it is written, shown, or read
for the first time by a map rebuild (the per-machine cache remembers it after that).
"""

from __future__ import annotations

import json
import os

from ..errors import Problem

_HERE = os.path.dirname(__file__)
FILE = "packet.schema.json"
_validator = None


def schema_text() -> str:
    with open(os.path.join(_HERE, FILE), encoding="utf-8") as fh:
        return fh.read()


def _checker():
    global _validator
    if _validator is None:
        from jsonschema import Draft202012Validator

        _validator = Draft202012Validator(json.loads(schema_text()))
    return _validator


def problems(doc, shown: str, text: str | None = None) -> list[Problem]:
    """Every way ``doc`` breaks the schema, as Problems in file order (lines when ``text`` is given)."""
    errors = list(_checker().iter_errors(doc))
    if not errors:
        return []
    # The session context's schema module words jsonschema's errors for people; shared, not copied.
    from ..campaign.schema import _message, dotted, line_finder

    find = line_finder(text) if text is not None else None
    out = []
    for error in errors:
        raw = list(error.absolute_path)
        if error.validator == "required" and not raw:
            message = _message(error)
        else:
            message = f"{dotted(raw)}: {_message(error)}"
        out.append(Problem(shown, find(raw) if find else None, message))
    return sorted(out, key=lambda p: (p.line or 0, p.message))
