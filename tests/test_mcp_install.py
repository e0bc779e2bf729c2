"""`tether install ... --mcp` and `tether install cursor`: tether's MCP server in each agent's
project configuration (.mcp.json, .codex/config.toml, .cursor/mcp.json), the user's own entries
kept, and `uninstall` removing tether's alone."""

from __future__ import annotations

import json
import sys

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

TETHER = {"command": "tether", "args": ["mcp"]}


def test_claude_code_mcp_json_keeps_the_users_servers_and_uninstall_removes_only_tethers(ws, cli):
    own = {"mcpServers": {"db": {"command": "db-mcp", "args": ["--ro"]}}, "note": "mine"}
    (ws.root / ".mcp.json").write_text(json.dumps(own))
    run = cli("install", "claude-code", "--mcp", "--no-instructions")
    assert run.code == 0 and "Registered the MCP server 'tether' (`tether mcp`)" in run.out
    assert json.loads((ws.root / ".mcp.json").read_text()) == {
        "mcpServers": {"db": own["mcpServers"]["db"], "tether": TETHER}, "note": "mine"}
    before = (ws.root / ".mcp.json").read_bytes()
    again = cli("install", "claude-code", "--mcp", "--no-instructions", "--json").json()
    assert again["mcp"]["changed"] is False and (ws.root / ".mcp.json").read_bytes() == before
    assert cli("uninstall", "claude-code").code == 0
    assert json.loads((ws.root / ".mcp.json").read_text()) == own


def test_without_mcp_nothing_is_registered_and_a_file_of_tethers_alone_goes_on_uninstall(ws, cli):
    assert cli("install", "claude-code", "--no-instructions").code == 0
    assert not (ws.root / ".mcp.json").exists()
    assert cli("install", "claude-code", "--no-instructions", "--mcp").code == 0
    assert json.loads((ws.root / ".mcp.json").read_text()) == {"mcpServers": {"tether": TETHER}}
    run = cli("uninstall", "claude-code")
    assert "Removed tether's MCP server" in run.out and not (ws.root / ".mcp.json").exists()


def test_the_server_runs_under_the_same_program_as_the_hooks(ws, cli):
    program = "/opt/tools/bin/tether"
    assert cli("install", "claude-code", "--mcp", "--no-instructions", "--command", f"{program} hook claude-code").code == 0
    assert json.loads((ws.root / ".mcp.json").read_text())["mcpServers"]["tether"] == {"command": program, "args": ["mcp"]}
    run = cli("install", "claude-code", "--mcp", "--no-instructions")  # back to the plain command: replaced, not added
    assert "Replaced tether's earlier MCP server" in run.out
    assert json.loads((ws.root / ".mcp.json").read_text())["mcpServers"] == {"tether": TETHER}


def test_a_server_of_the_users_named_tether_is_never_overwritten(ws, cli):
    theirs = {"mcpServers": {"tether": {"command": "node", "args": ["tether-server.js"]}}}
    (ws.root / ".mcp.json").write_text(json.dumps(theirs))
    run = cli("install", "claude-code", "--mcp", "--no-instructions")
    assert run.code == 1 and "is not tether's; nothing was changed" in run.err and "Hint: rename that entry" in run.err
    assert json.loads((ws.root / ".mcp.json").read_text()) == theirs
    assert not (ws.root / ".claude" / "settings.json").exists()  # refused before the hooks were installed
    assert cli("uninstall", "claude-code").code == 0
    assert json.loads((ws.root / ".mcp.json").read_text()) == theirs


def test_a_broken_mcp_json_is_reported_with_its_line_and_left_alone(ws, cli):
    (ws.root / ".cursor").mkdir()
    (ws.root / ".cursor" / "mcp.json").write_text('{\n  "mcpServers": {\n    "db": ,\n  }\n}\n')
    run = cli("install", "cursor")
    assert run.code == 1 and ".cursor/mcp.json:3: invalid JSON" in run.err and "Hint:" in run.err
    assert (ws.root / ".cursor" / "mcp.json").read_text().startswith('{\n  "mcpServers"')


def test_cursor_install_and_uninstall(ws, cli):
    run = cli("install", "cursor")
    assert run.code == 0 and "Registered the MCP server 'tether'" in run.out
    assert json.loads((ws.root / ".cursor" / "mcp.json").read_text()) == {"mcpServers": {"tether": TETHER}}
    assert "already registered" in cli("install", "cursor").out
    assert cli("uninstall", "cursor").code == 0 and not (ws.root / ".cursor").exists()
    assert "No tether MCP server" in cli("uninstall", "cursor").out


CODEX_OWN = '''# my Codex settings
model = "gpt-5-codex"

[mcp_servers.docs]
command = "docs-mcp"
args = ["--port", "0"]

[mcp_servers.docs.env]
TOKEN_FILE = "~/.docs"
'''


def test_codex_config_toml_keeps_the_users_text_and_uninstall_restores_it(ws, cli):
    (ws.root / ".codex").mkdir()
    path = ws.root / ".codex" / "config.toml"
    path.write_text(CODEX_OWN)
    run = cli("install", "codex", "--mcp")
    assert run.code == 0 and "Registered the MCP server 'tether'" in run.out
    text = path.read_text()
    assert text.startswith(CODEX_OWN)  # the user's text, byte for byte
    parsed = tomllib.loads(text)
    assert parsed["mcp_servers"]["tether"] == TETHER and parsed["mcp_servers"]["docs"]["env"] == {"TOKEN_FILE": "~/.docs"}
    assert "already registered" in cli("install", "codex", "--mcp").out and path.read_text() == text
    assert cli("uninstall", "codex").code == 0
    assert path.read_text() == CODEX_OWN


def test_codex_tables_of_tethers_own_go_with_it_and_an_inline_entry_is_not_rewritten(ws, cli):
    (ws.root / ".codex").mkdir()
    path = ws.root / ".codex" / "config.toml"
    path.write_text('[mcp_servers.tether]\ncommand = "/old/tether"\nargs = ["mcp"]\n\n'
                    '[mcp_servers.tether.env]\nX = "1"\n\n[profiles.fast]\nmodel = "o4-mini"\n')
    assert cli("install", "codex", "--mcp").code == 0
    parsed = tomllib.loads(path.read_text())
    assert parsed["mcp_servers"] == {"tether": TETHER} and parsed["profiles"] == {"fast": {"model": "o4-mini"}}
    assert cli("uninstall", "codex").code == 0
    assert tomllib.loads(path.read_text()) == {"profiles": {"fast": {"model": "o4-mini"}}}

    path.write_text('mcp_servers = { tether = { command = "/old/tether", args = ["mcp"] } }\n')
    run = cli("install", "codex", "--mcp")
    assert run.code == 1 and "written inline" in run.err and "[mcp_servers.tether]" in run.err
    assert path.read_text() == 'mcp_servers = { tether = { command = "/old/tether", args = ["mcp"] } }\n'


def test_a_broken_codex_config_is_reported_and_left_alone(ws, cli):
    (ws.root / ".codex").mkdir()
    path = ws.root / ".codex" / "config.toml"
    path.write_text('model = "o3"\n[mcp_servers.docs\ncommand = "x"\n')
    run = cli("install", "codex", "--mcp")
    assert run.code == 1 and "invalid TOML" in run.err and "line 2" in run.err and "Hint:" in run.err
    assert path.read_text() == 'model = "o3"\n[mcp_servers.docs\ncommand = "x"\n'
    assert not (ws.root / ".codex" / "hooks.json").exists()  # refused before the hooks were installed
