"""Format versions are read, not only written: a newer schema is refused, an older one migrated."""

from __future__ import annotations

import json

import pytest

from tether.model.config import SCHEMA
from tether.store import migrations


def config_text(ws) -> str:
    return (ws.dir / "tether.toml").read_text(encoding="utf-8")


def test_the_migration_list_reaches_the_schema_this_tether_writes(ws):
    assert len(migrations.MIGRATIONS) == SCHEMA - 1
    assert f"schema = {SCHEMA}\n" in config_text(ws)
    assert migrations.pending(SCHEMA) == []


@pytest.mark.parametrize("command", [["boot"], ["task", "list"], ["checkpoint", "--state", "x"], ["close", "--summary", "s"]])
def test_a_newer_schema_is_refused_with_upgrade_tether_and_nothing_changes(ws, cli, command):
    ws.start_task("T", items=["a"], task_id="T1")
    toml = ws.dir / "tether.toml"
    toml.write_text(config_text(ws).replace(f"schema = {SCHEMA}", f"schema = {SCHEMA + 98}"))
    before = sorted(p.relative_to(ws.dir).as_posix() for p in ws.dir.rglob("*") if "local" not in p.parts)
    got = cli(*command, "--json")
    assert got.code == 1, (got.code, got.out, got.err)
    error = got.json()
    assert "newer tether" in error["error"] and "upgrade tether" in error["hint"]
    after = sorted(p.relative_to(ws.dir).as_posix() for p in ws.dir.rglob("*") if "local" not in p.parts)
    assert after == before


def test_a_schema_that_is_not_a_number_is_an_error_with_its_fix(ws, cli):
    (ws.dir / "tether.toml").write_text(config_text(ws).replace(f"schema = {SCHEMA}", 'schema = "one"'))
    got = cli("boot")
    assert got.code == 1 and "schema must be a whole number" in got.err and f"schema = {SCHEMA}" in got.err


def test_pending_migrations_run_in_order_and_resume_where_a_crash_stopped_them(ws):
    ran: list[str] = []

    def step(name):
        return name, lambda store: ran.append(name)

    steps = [step("split-logs"), step("rename-open"), step("add-cache")]
    assert migrations.pending(1, steps) == ["split-logs", "rename-open", "add-cache"]
    assert migrations.pending(3, steps) == ["add-cache"]
    assert migrations.migrate(ws.store, 1, steps[:2]) == ["split-logs", "rename-open"]  # stopped after two
    assert "schema = 3\n" in config_text(ws)
    assert migrations.migrate(ws.store, 3, steps) == ["add-cache"]
    assert ran == ["split-logs", "rename-open", "add-cache"]
    assert "schema = 4\n" in config_text(ws) and config_text(ws).count("schema =") == 1


def test_a_manifest_from_a_newer_tether_is_named_not_taken_for_stale_entries(ws, cli):
    assert cli("index").code == 0
    index = ws.dir / "index.json"
    data = json.loads(index.read_text())
    data["schema"] = 99
    index.write_text(json.dumps(data))
    got = cli("index", "--check", "--json")
    assert got.code == 3 and "upgrade tether" in got.json()["problem"]
