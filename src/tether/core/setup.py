"""Creating (or repairing) a workspace: ``tether init``."""

from __future__ import annotations

import os

from ..store.config_file import default_text
from ..store import layout


def guess_reading_order(root: str) -> list[str]:
    candidates = ["README.md", "SESSION_CONTEXT.md", "docs/architecture.md", "docs/decisions.md"]
    return [c for c in candidates if os.path.isfile(os.path.join(root, c))]


def init(ws, reading_order: list[str] | None = None) -> list[str]:
    """The files and settings created; idempotent: a second run creates nothing."""
    from ..gitio import mergedriver

    store = ws.store
    created = store.create_defaults({
        layout.CONFIG: default_text(reading_order if reading_order is not None else guess_reading_order(ws.root_dir)),
        layout.GITIGNORE: layout.GITIGNORE_TEXT,
        layout.GITATTRIBUTES: layout.GITATTRIBUTES_TEXT,
    })
    existing = store.read_file(layout.GITATTRIBUTES)
    upgraded = mergedriver.upgraded_attributes(existing.decode("utf-8", "replace"), layout.GITATTRIBUTES_TEXT) \
        if existing is not None else None
    if upgraded is not None:
        store.write_file(layout.GITATTRIBUTES, upgraded)
        created.append(f"updated {store.shown(layout.GITATTRIBUTES)} (merge driver rules)")
    for sub in layout.FOLDERS:
        os.makedirs(os.path.join(ws.store_dir, sub), exist_ok=True)
    generated = [rel for rel in (layout.CONTEXT_DOCUMENT, layout.MANIFEST) if not store.exists(rel)]
    if created or generated:
        from .close import write_generated

        write_generated(ws)
        created += [store.shown(rel) for rel in generated]  # say so: a user sees every new file
    from ..store import migrations

    done = migrations.migrate(store, ws.config.schema)  # a newer schema than ours was refused reading it
    created += [f"migrated the store: {name}" for name in done]
    registered = mergedriver.register(ws.root_dir)  # per clone: git config is never committed
    if registered:
        created.append(registered)
    return created
