"""The command reference cannot drift from the CLI.

docs/reference.md must have a heading naming every command and subcommand the argparse
parser knows, in backticks (### `tether task start`; several commands may share one
heading), and that heading's section must name each of the command's options and
positional arguments and each top-level field of its --json output. Every command needs
help text, every documented command must exist, and the exit codes and error kinds must
all be in the reference.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from tether import errors
from tether.cli.main import build_parser, main
from tether.errors import ReadOnly

REFERENCE = Path(__file__).resolve().parents[1] / "docs" / "reference.md"
ENVELOPE = {"ok", "schema_version", "command"}


def commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    """(path, parser, help) for every subcommand, nested ones included."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help for choice in action._choices_actions}
            for name, sub in action.choices.items():
                yield path + (name,), sub, helps.get(name)
                yield from commands(sub, path + (name,))


PARSER = build_parser()
COMMANDS = list(commands(PARSER))
GLOBAL = {s for a in PARSER._actions for s in a.option_strings}  # --json, -C, --version, -h, --help
IDS = [" ".join(path) for path, _, _ in COMMANDS]


def sections() -> dict[str, str]:
    """Command name ("tether task start") -> the text of the section under its heading."""
    lines = REFERENCE.read_text(encoding="utf-8").splitlines()
    headings, fenced = [], False
    for number, line in enumerate(lines):
        if line.startswith("```"):
            fenced = not fenced  # "# tether boot: ..." inside an example is not a heading
        match = None if fenced else re.match(r"^(#{1,6})\s+(.*)$", line)
        if match:
            headings.append((number, len(match.group(1)), match.group(2)))
    out: dict[str, str] = {}
    for i, (number, level, title) in enumerate(headings):
        end = next((n for n, lvl, _ in headings[i + 1:] if lvl <= level), len(lines))
        for name in re.findall(r"`(tether(?: [^`]*)?)`", title):
            out[name] = "\n".join(lines[number:end])
    return out


def mentioned(word: str, text: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text) is not None


def test_the_parser_has_the_nested_commands():
    # Guards the walk itself: if it stopped descending, the tests below would check nothing.
    assert {"task start", "note gotcha", "hook claude-code", "install claude-code"} <= set(IDS)


@pytest.mark.parametrize("path,parser,help_text", COMMANDS, ids=IDS)
def test_every_command_has_help(path, parser, help_text):
    assert help_text and help_text.strip(), f"`tether {' '.join(path)}` has no help text"


@pytest.mark.parametrize("path,parser,help_text", COMMANDS, ids=IDS)
def test_every_command_and_option_is_in_the_reference(path, parser, help_text):
    name = "tether " + " ".join(path)
    section = sections().get(name)
    assert section is not None, f"docs/reference.md has no heading for `{name}`"
    for action in parser._actions:
        if isinstance(action, (argparse._SubParsersAction, argparse._HelpAction)):
            continue
        if action.option_strings:
            for option in action.option_strings:
                if option not in GLOBAL:
                    assert mentioned(option, section), f"`{name}` option {option} is not in its section"
        else:
            shown = action.metavar or action.dest.upper()
            assert mentioned(shown, section), f"`{name}` argument {shown} is not in its section"


def test_global_options_are_documented():
    text = REFERENCE.read_text(encoding="utf-8")
    for option in GLOBAL:
        assert mentioned(option, text), option


def test_every_documented_command_exists():
    real = {"tether"} | {"tether " + i for i in IDS}
    assert set(sections()) - real == set()


def test_exit_codes_and_error_kinds_are_documented():
    text = REFERENCE.read_text(encoding="utf-8")
    codes = {v for k, v in vars(errors).items() if k.startswith("EXIT_")}
    assert codes == {0, 1, 2, 3, 4, 70}
    for code in codes:
        assert re.search(rf"^\| `{code}` \|", text, re.M), f"exit code {code} is not in the table"

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    kinds = {errors.TetherError.kind, "internal"} | {c.kind for c in subclasses(errors.TetherError)}
    assert ReadOnly.kind in kinds
    for kind in kinds:
        assert re.search(rf"^\| `{kind}` \|", text, re.M), f"error kind {kind} is not in the table"


# -- --json fields -----------------------------------------------------------------------------------

@pytest.fixture
def session(tmp_path, monkeypatch):
    """A repository with a workspace; the working directory is its root."""
    for name in list(os.environ):
        if name.startswith("TETHER_"):
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for role in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{role}_NAME", "Test User")
        monkeypatch.setenv(f"GIT_{role}_EMAIL", "test@example.com")
    root = tmp_path / "project"
    root.mkdir()
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    monkeypatch.chdir(root)
    return root


def run_json(capsys, *argv: str) -> dict:
    code = main([*argv, "--json"])
    out = capsys.readouterr().out
    assert code in (0, 3), (argv, out)
    return json.loads(out)


def test_json_fields_are_documented(session, capsys):
    """Run every command that prints JSON; each top-level field must be named in its section."""
    (session / "items.txt").write_text("doc1.pdf\ndoc2.pdf\ndoc3.pdf\n")
    seen: dict[str, set[str]] = {}

    def run(path: str, *args: str) -> dict:
        data = run_json(capsys, *path.split(), *args)
        seen.setdefault(path, set()).update(set(data) - ENVELOPE)
        return data

    run("init")
    run("config")
    run("task start", "Summarise docs", "--items-file", "items.txt", "--id", "T1")
    run("checkpoint", "--done", "1", "--state", "doc1 done", "--result", "r.md=text")
    run("resume")
    run("task status")
    run("task status", "--checkpoint", "1")
    run("task list", "--all")
    run("task switch", "T1")
    run("task complete", "T1")
    run("task reopen", "T1")
    run("task clear", "T1")
    run("task reopen", "T1")
    run("decide", "Which model?", "--decision", "Phi-3")
    run("decide", "--list")
    note = run("note gotcha", "doc2 is scanned")
    for kind in ("phase", "dont", "blocker", "note"):
        run(f"note {kind}", "some text")
    run("note list")
    run("note resolve", note["note"]["id"])
    run("close", "--summary", "did things", "--next", "more")
    run("boot")
    run("log")
    run("index")
    run("index", "--check")
    run("index", "--repair")
    run("merge-driver", ".tether/CONTEXT.md", ".tether/CONTEXT.md", ".tether/CONTEXT.md", ".tether/CONTEXT.md")
    run("install claude-code", "--status-line")
    run("uninstall claude-code")
    run("install codex")
    run("uninstall codex")
    from test_transcripts import claude_session, jsonl

    (session / "t.jsonl").write_bytes(jsonl(*claude_session()))
    run("usage", "t.jsonl")
    run("offload cluster create", "Cluster01", "--title", "First wave")
    run("offload cluster list")
    blob = run("offload add", "blob", "--cluster", "Cluster01", "--title", "Insight", "Dense text.")
    run("offload add", "link", "--cluster", "Cluster01", "--title", "Items", "--target", "items.txt")
    run("offload list", "--all")
    run("offload show", blob["packet"]["id"])
    run("offload retire", blob["packet"]["id"])
    (session / "adv").mkdir()
    (session / "adv" / "a.md").write_text("# Advisory\n\nOffload often. See https://example.org/a.\n")
    run("offload ingest", "adv", "--cluster", "Cluster01")
    run("offload map")
    run("offload snippet")
    run("offload schema")
    documented = sections()
    missing = {f"tether {path}: {field}" for path, fields in seen.items() for field in fields
               if f"`{field}`" not in documented[f"tether {path}"]}
    assert missing == set()


def test_error_json_shape_is_documented(session, capsys):
    code = main(["task", "status", "NOPE", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 1 and data["ok"] is False
    assert set(data) == {"ok", "schema_version", "command", "error", "hint", "kind", "exit_code"} and data["command"] == "task"
    errors_section = re.search(r"^## Errors$(.*?)^## ", REFERENCE.read_text(encoding="utf-8"), re.M | re.S).group(1)
    for field in data:
        assert f"`{field}`" in errors_section, field


def mcp_rows(text: str) -> dict[str, str]:
    """Tool name -> its row of the first table in ``text`` whose first cell names tools."""
    rows = {}
    for line in text.splitlines():
        cells = line.split("|")
        if line.startswith("|") and len(cells) > 2:
            for name in re.findall(r"`([a-z_]+)`", cells[1]):
                rows.setdefault(name, line)
    return rows


def test_the_mcp_tools_and_their_actions_are_in_both_tool_tables():
    """docs/mcp.md and the reference's `tether mcp` section each list every tool the server has,
    and in its row every action it takes: neither can fall behind the server."""
    pytest.importorskip("mcp")
    import anyio

    from tether.mcp.server import build

    listed = anyio.run(build(str(REFERENCE.parent)).list_tools)
    actions = {t.name: t.input_schema["properties"].get("action", {}).get("enum", []) for t in listed}
    for where, text in (("docs/mcp.md", (REFERENCE.parent / "mcp.md").read_text(encoding="utf-8")
                         .split("## Tools", 1)[1]),
                        ("reference.md", sections()["tether mcp"])):
        rows = mcp_rows(text)
        assert sorted(set(actions) - set(rows)) == [], f"tools missing from {where}'s table"
        missing = {name: [a for a in values if not mentioned(a, rows[name])] for name, values in actions.items()}
        assert {name: left for name, left in missing.items() if left} == {}, f"actions missing from {where}"
