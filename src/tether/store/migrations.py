"""Store layout migrations: named, in order, each taking a workspace one schema further.

The workspace's schema is tether.toml's ``schema`` (model.config.SCHEMA is the one
this tether writes). ``MIGRATIONS[n]`` takes a store at schema ``n + 1`` to ``n + 2``;
the list's length is therefore always ``SCHEMA - 1``. A migration changes files
through the store's tree, is safe to run again after a crash half-way (it checks
before it moves), and ends by writing its new schema number, so the list resumes
where it stopped. ``tether init`` runs what is pending; a newer schema than this
tether knows is refused where the config is read ("upgrade tether").

The first layout change adds its function here, appends ``("its-name", function)``
and raises model.config.SCHEMA by one.
"""

from __future__ import annotations

import re

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable

from ..model.config import SCHEMA
from . import layout

MIGRATIONS: list[tuple[str, Callable]] = []

_SCHEMA_LINE = re.compile(r"^schema\s*=\s*\d+\s*$", re.M)


def pending(schema: int, migrations: list | None = None) -> list[str]:
    """The names of the migrations a workspace at ``schema`` needs, in the order they run."""
    steps = MIGRATIONS if migrations is None else migrations
    return [name for name, _ in steps[max(schema - 1, 0):]]


def migrate(store, schema: int, migrations: list | None = None) -> list[str]:
    """Run the pending migrations on ``store`` (a workspace at ``schema``); returns their names."""
    steps = MIGRATIONS if migrations is None else migrations
    done = []
    for number, (name, step) in enumerate(steps[max(schema - 1, 0):], start=max(schema, 1)):
        step(store)
        _set_schema(store, number + 1)
        done.append(name)
    return done


def _set_schema(store, schema: int) -> None:
    text = (store.read_file(layout.CONFIG) or b"").decode("utf-8")
    if _SCHEMA_LINE.search(text):
        text = _SCHEMA_LINE.sub(f"schema = {schema}", text, count=1)
    else:
        text = f"schema = {schema}\n" + text
    store.write_file(layout.CONFIG, text)


assert len(MIGRATIONS) == SCHEMA - 1, "each schema after the first is reached by one migration"
