"""Projections (seed 004, "Reading Context"): each skill receives only its part of the context.

A roles file maps a skill to the entries it receives, in priority order::

    roles:
      content-worker:
        - campaign.gtm_id
        - active_task.description as task.description
        - scope.channels as task.scope.channels     # derived: the "Only channels: ..." list
        - knowledge.product
        - budget.tokens_remaining                   # derived: what is left
      default:                                      # any skill without its own entry
        - campaign
        - knowledge

A source is a dotted path into ``session_context`` or a derived value:
``budget.calls_remaining``, ``budget.tokens_remaining``, ``budget.deadline``,
``scope.constraints`` (the boundaries), ``scope.<kind>`` for every
``Only <kind>: a, b`` boundary, and ``revision``. Under a token budget, entries
are dropped from the end and named in ``omitted``.
"""

from __future__ import annotations

import os

from ..errors import InvalidInput, NotFound
from ..errors import ParseError
from . import budget as budget_rules

ROLES_FILE = "roles.yaml"
DEFAULT_ROLES = """\
# Which parts of the session context each skill receives (`tether ctx for SKILL`).
# Entries are in priority order: under a token budget the last ones are left out first.
# "SOURCE as TARGET" renames; derived sources: budget.calls_remaining, budget.tokens_remaining,
# budget.deadline, scope.constraints, scope.<kind> (from "Only <kind>: a, b" boundaries), revision.
roles:
  content-worker:
    - campaign.gtm_id
    - campaign.tier
    - active_task.description as task.description
    - scope.channels as task.scope.channels
    - active_task.scope.boundaries as task.scope.boundaries
    - knowledge.product
    - knowledge.protocol
    - knowledge.brand_decisions
    - knowledge.audience
    - knowledge.past_learnings
    - budget.tokens_remaining
  research-agent:
    - campaign.gtm_id
    - active_task.description as task.description
    - active_task.scope as task.scope
    - knowledge.product
    - knowledge.protocol
    - budget.tokens_remaining
  brand-validator:
    - campaign.gtm_id
    - active_task.scope.boundaries as task.scope.boundaries
    - knowledge.brand_decisions
    - artifacts
    - decisions_made
  default:
    - campaign
    - active_task.description as task.description
    - active_task.scope as task.scope
    - knowledge
    - budget.calls_remaining
    - budget.tokens_remaining
"""


def parse_roles(data: bytes, shown: str) -> dict[str, list[tuple[str, str]]]:
    from .document import parse_yaml

    parsed, _ = parse_yaml(data, shown)
    roles = parsed.get("roles") if isinstance(parsed, dict) else None
    if not isinstance(roles, dict) or not roles:
        raise ParseError(shown, 1, "expected a top-level `roles:` mapping of skill -> list of entries")
    out = {}
    for skill, entries in roles.items():
        if not isinstance(entries, list) or not all(isinstance(e, str) and e.strip() for e in entries):
            raise ParseError(shown, None, f"roles.{skill}: expected a list of entries such as `knowledge.product`")
        pairs = []
        for entry in entries:
            source, sep, target = entry.partition(" as ")
            pairs.append((source.strip(), target.strip() if sep else source.strip()))
        out[str(skill)] = pairs
    return out


def find_roles(context_path: str, store_dir: str | None, explicit: str | None = None) -> tuple[str | None, bytes]:
    """--roles FILE, else roles.yaml beside the context, else the store's, else the built-in default."""
    candidates = [explicit] if explicit else [os.path.join(os.path.dirname(context_path), ROLES_FILE)]
    if not explicit and store_dir:
        candidates.append(os.path.join(store_dir, "contexts", ROLES_FILE))
    from ..store.nofollow import read_bytes

    store = os.path.abspath(store_dir) if store_dir else None
    for path in candidates:
        # In the store, never through a link (LinkRefused), as every read of the store's files.
        inside = store is not None and os.path.abspath(path).startswith(store + os.sep)
        try:
            return path, read_bytes(path, store if inside else None)
        except FileNotFoundError:
            if explicit:
                raise NotFound(f"no roles file at {explicit}", hint="see `tether ctx roles` for the format") from None
    return None, DEFAULT_ROLES.encode("utf-8")


def derived(doc: dict) -> dict:
    from .scope import structured_lists

    left = budget_rules.remaining(doc)
    scope = (doc.get("active_task") or {}).get("scope") or {}
    values = {"budget.calls_remaining": left["calls"], "budget.tokens_remaining": left["tokens"],
              "budget.deadline": left["deadline"], "scope.constraints": list(scope.get("boundaries") or []),
              "revision": int(doc.get("revision") or 0)}
    for kind, items in structured_lists(doc).items():
        values[f"scope.{kind}"] = items
    return values


_MISSING = object()


def _get(doc: dict, path: str):
    node = doc
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return _MISSING
        node = node[part]
    return node


def _put(out: dict, path: str, value) -> None:
    parts = path.split(".")
    node = out
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value


def project(doc: dict, roles: dict, skill: str, token_budget: int | None = None, fmt: str = "yaml") -> dict:
    """The skill's view: ``{context_for, revision, <entries>..., missing?, omitted?}``."""
    entries = roles.get(skill) or roles.get("default")
    if entries is None:
        raise NotFound(f"no role {skill!r} in the roles file (known: {', '.join(sorted(roles))})",
                       hint="add it to roles.yaml, or add a `default:` role")
    extra = derived(doc)
    picked, missing = [], []
    for source, target in entries:
        value = extra[source] if source in extra else _get(doc, source)
        if value is _MISSING:
            missing.append(source)
        else:
            picked.append((source, target, value))

    def build(chosen) -> dict:
        view: dict = {"context_for": skill, "revision": int(doc.get("revision") or 0)}
        for _, target, value in chosen:
            _put(view, target, value)
        if missing:
            view["missing"] = missing
        return view

    view, omitted = build(picked), []
    if token_budget is not None:
        from ..model.tokens import estimate

        while picked and estimate(render(view, fmt)) > token_budget:
            omitted.insert(0, picked.pop()[0])
            view = build(picked)
            view["omitted"] = omitted
        if estimate(render(view, fmt)) > token_budget:
            raise InvalidInput(f"even an empty projection for {skill} exceeds {token_budget} tokens",
                               hint="raise --budget")
    return view


def render(view: dict, fmt: str) -> str:
    if fmt == "json":
        import json

        return json.dumps(view, indent=2, ensure_ascii=False)
    from .document import dump_yaml

    return dump_yaml(view)
