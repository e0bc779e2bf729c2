"""`tether mcp` as an MCP client sees it: the real server process over stdio, driven by the MCP
SDK's own client. Every tool is called on a scratch workspace, the resources are read, and a
mistake comes back as a tool error carrying the CLI's hint."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

pytest.importorskip("mcp")

import anyio  # noqa: E402
from mcp import ClientSession, StdioServerParameters, stdio_client  # noqa: E402

from test_transcripts import cc_assistant, cc_user, jsonl  # noqa: E402

TOOLS = {"brief", "resume", "tasks", "checkpoint", "notes", "decisions", "pins", "stale", "close", "show", "usage",
         "recall",
         "ctx_for", "ctx_apply", "ctx_check_scope", "ctx_check_budget", "ctx_escalate", "ctx_decide"}


def talk(root: Path, script):
    """Start `python -m tether mcp` in ``root``, connect the SDK's client, run ``script(session)``."""
    params = StdioServerParameters(command=sys.executable, args=["-m", "tether", "mcp"], cwd=str(root),
                                   env={**os.environ, "TETHER_FSYNC": "0"})

    async def main():
        async with stdio_client(params) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                return await script(session)

    return anyio.run(main)


async def call(session, name: str, **arguments):
    """A tool's answer as JSON; the test fails with the error text if the tool failed."""
    result = await session.call_tool(name, arguments)
    assert not result.is_error, result.content[0].text
    return json.loads(result.content[0].text)


async def error(session, name: str, **arguments) -> str:
    result = await session.call_tool(name, arguments)
    assert result.is_error, result.content
    return result.content[0].text


@pytest.fixture
def project(ws, cli):
    assert cli("task", "start", "Parse the docs", "--items", "intro", "--items", "api", "--items", "faq",
               "--id", "T1", "-c", "every page parsed").code == 0
    assert cli("task", "start", "Fix the build", "--steps", "reproduce", "--steps", "fix", "--id", "T2").code == 0
    assert cli("task", "switch", "T1").code == 0
    return ws


def test_the_tools_over_stdio_change_and_read_the_same_workspace_as_the_cli(project, cli):
    async def script(session):
        listed = {t.name for t in (await session.list_tools()).tools}
        out = {"tools": listed}
        out["checkpoint"] = await call(session, "checkpoint", done=["1-2"], state="intro and api parsed",
                                       next=["parse faq", "then index", "then publish"], files=["docs/api.md"])
        out["resume"] = await call(session, "resume", limit=2)
        out["resume_t2"] = await call(session, "resume", task="T2")
        out["list"] = await call(session, "tasks")
        out["list_1"] = await call(session, "tasks", limit=1)
        out["status"] = await call(session, "tasks", action="status", task="T1")
        out["note"] = await call(session, "notes", action="add", kind="gotcha", text="faq.md is generated")
        await call(session, "notes", action="add", kind="dont", text="never edit dist/")
        out["notes"] = await call(session, "notes", limit=1)
        out["resolved"] = await call(session, "notes", action="resolve", id=out["note"]["note"]["id"])
        out["decided"] = await call(session, "decisions", action="decide", question="Which parser?",
                                    decision="markdown-it", rationale="fast",
                                    when="2026-12-01T10:00:00Z")
        await call(session, "decisions", action="decide", question="Which index?", decision="SQLite")
        out["decisions"] = await call(session, "decisions", limit=1)
        out["recall"] = await call(session, "recall", query="which index markdown", limit=3)
        out["recall_semantic"] = await error(session, "recall", query="which index", mode="semantic")
        out["brief"] = await call(session, "brief", budget=400)
        out["close"] = await call(session, "close", summary="parsed two pages", next_steps=["parse faq"])
        return out

    out = talk(project.root, script)
    assert out["tools"] == TOOLS
    found = out["recall"]
    assert found["hits"] and len(found["hits"]) <= 3 and found["tokens"] <= found["budget"]
    assert any(h["kind"] == "decision" and "markdown-it" in h["text"] for h in found["hits"])
    assert found["mode"] == "lexical"  # no [recall] model here
    assert "[recall] model" in str(out["recall_semantic"])  # asked for anyway: the error's hint
    saved = out["checkpoint"]
    assert saved["checkpoint"]["task"] == "T1" and saved["checkpoint"]["done"] == "1-2" and saved["problems"] == []
    assert saved["resume"]["next_unit"] == "faq" and saved["path"].startswith(".tether/tasks/T1/checkpoints/")
    resume = out["resume"]["resume"]
    assert resume["next_unit"] == "faq" and resume["current_state"] == "intro and api parsed"
    assert resume["next_actions"] == ["parse faq", "then index"]  # limit=2
    assert out["resume_t2"]["resume"]["task"] == "T2"  # naming a task made it the active one
    assert {t["id"] for t in out["list"]["tasks"]} == {"T1", "T2"} and out["list"]["active"] == "T2"
    assert out["list_1"]["total"] == 2 and len(out["list_1"]["tasks"]) == 1
    assert out["status"]["resume"]["done"] == 2 and out["status"]["task"]["criteria"] == ["every page parsed"]
    assert [n["text"] for n in out["notes"]["notes"]] == ["never edit dist/"] and out["notes"]["total"] == 2
    assert out["resolved"]["note"]["resolved"]
    assert out["decided"]["decision"]["decision"] == "markdown-it"
    assert [d["question"] for d in out["decisions"]["decisions"]] == ["Which index?"]
    brief = out["brief"]
    assert brief["tokens"] <= 400 and "Fix the build (T2)" in brief["text"]  # the active task leads
    assert out["close"]["file"]

    # The CLI reads what the MCP client wrote.
    assert "Saved" not in cli("resume", "T1").out and "item 3 of 3" in cli("resume", "T1").out
    listed = cli("decide", "--list", "--json").json()["decisions"]
    assert [d["decision"] for d in listed] == ["markdown-it", "SQLite"]
    assert "faq.md is generated" not in cli("note", "list").out and "never edit dist/" in cli("note", "list").out


def test_a_mistake_is_a_tool_error_with_a_hint_naming_tools_and_the_server_keeps_serving(project, cli):
    async def script(session):
        out = {"unknown": await error(session, "resume", task="T9"),
               "status": await error(session, "tasks", action="status", task="T9"),
               "budget": await error(session, "brief", budget=10),
               "limit": await error(session, "notes", limit=0),
               "empty": await error(session, "notes", action="add", text="  "),
               "show": await error(session, "show", ref="conversations/000000000000"),
               "no_ctx": await error(session, "ctx_check_scope", request="a blog post")}
        out["after"] = await call(session, "resume")
        return out

    out = talk(project.root, script)
    # The CLI's line; its hint names the tool that does what the CLI's command would
    assert cli("resume", "T9").err.splitlines()[0] == "Error: no task T9"
    assert out["unknown"] == 'Error executing tool resume: no task T9\nHint: call `tasks(action="list", all=true)` to see task ids'
    assert "no task T9" in out["status"]
    assert "budget 10 is too small" in out["budget"] and "--budget" not in out["budget"]
    assert "Hint: a brief needs a budget of 100 tokens or more (the default is 1000)" in out["budget"]  # MCP's default
    assert "limit must be at least 1" in out["limit"]
    assert "give the entry's text" in out["empty"]
    assert "Hint:" in out["show"] and "Hint:" in out["no_ctx"]
    assert out["after"]["resume"]["task"] == "T1"


def test_outside_a_workspace_the_tools_say_how_to_make_one(tmp_path):
    async def script(session):
        return await error(session, "brief")

    text = talk(tmp_path, script)
    assert "no tether workspace" in text and "Hint: run `tether init`" in text


READ_ONLY = {"brief", "stale", "show", "recall", "usage", "ctx_for"}


def test_tools_say_whether_they_change_the_repositorys_memory_and_the_read_only_ones_do_not(project, cli):
    """Clients act on the hints (Codex runs a read-only tool without asking): the tools marked
    read-only leave every tracked file of tether's as it was."""
    store = project.root / ".tether"

    def tracked() -> dict:
        return {p.relative_to(store).as_posix(): p.read_bytes() for p in sorted(store.rglob("*"))
                if p.is_file() and not p.relative_to(store).as_posix().startswith(("local/", "locks/"))}

    assert cli("checkpoint", "--done", "1", "--state", "intro parsed").code == 0
    before = tracked()

    async def script(session):
        hints = {t.name: t.annotations for t in (await session.list_tools()).tools}
        changed = []
        for name, arguments in (("brief", {}), ("stale", {}), ("show", {"ref": "offloaded/0123456789ab"}),
                                ("recall", {"query": "intro parsed"}), ("usage", {}), ("ctx_for", {"skill": "x"})):
            await session.call_tool(name, arguments)  # an error (no transcript, no campaign) changes nothing either
            if tracked() != before:
                changed.append((name, arguments))
        return hints, changed

    hints, changed = talk(project.root, script)
    assert changed == []
    assert {name for name, h in hints.items() if h.read_only_hint} == READ_ONLY
    assert all(h.read_only_hint is False and h.destructive_hint is False for name, h in hints.items()
               if name not in READ_ONLY)
    assert all(h.open_world_hint is False for h in hints.values())


def test_resources_the_brief_the_context_document_and_each_open_task(project, cli):
    assert cli("note", "gotcha", "the API docs are generated").code == 0
    assert cli("close", "--summary", "first pass").code == 0  # writes the context document

    async def script(session):
        listed = [str(r.uri) for r in (await session.list_resources()).resources]
        templates = [t.uri_template for t in (await session.list_resource_templates()).resource_templates]
        read = {}
        for uri in listed:
            read[uri] = (await session.read_resource(uri)).contents[0].text
        return listed, templates, read

    listed, templates, read = talk(project.root, script)
    assert listed == ["tether://brief", "tether://context", "tether://task/T1", "tether://task/T2"]
    assert templates == ["tether://task/{task_id}"]
    assert read["tether://brief"].startswith("# tether boot")
    context = (project.root / ".tether" / "CONTEXT.md").read_text(encoding="utf-8")
    assert read["tether://context"] == context and "the API docs are generated" in context
    assert read["tether://task/T1"].startswith("T1: Parse the docs [open]")
    assert "success criterion: every page parsed" in read["tether://task/T1"]
    assert "T2: Fix the build" in read["tether://task/T2"]


def test_show_pages_through_offloaded_bytes_and_usage_reads_a_transcript(project, tmp_path, cli):
    from tether.compaction import Compactor

    text = "".join(f"line {i:04d} of the offloaded result\n" for i in range(300))
    ref = Compactor(project).keep(text)["ref"]
    transcript = tmp_path / "s.jsonl"
    transcript.write_bytes(jsonl(cc_user("u0", "hi"), cc_assistant(
        "a0", "msg_0", [{"type": "text", "text": "ok"}],
        {"input_tokens": 10, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 49_990,
         "output_tokens": 5}, model="claude-sonnet-4-5-20250929")))

    async def script(session):
        first = await call(session, "show", ref=ref)
        pages = [first["text"]]
        offset = first["next_offset"]
        while offset is not None:
            page = await call(session, "show", ref=ref, offset=offset, max_chars=5000)
            pages.append(page["text"])
            offset = page["next_offset"]
        refused = await error(session, "show", ref=ref, offset=-5)  # a page from the end would start over
        return first, "".join(pages), await call(session, "usage", transcript=str(transcript)), refused

    first, whole, usage, refused = talk(project.root, script)
    assert "offset must be 0 or more, got -5" in refused and "Hint: start at offset=0" in refused
    assert len(first["text"]) == 4000 and first["total_chars"] == len(text)  # a small default page
    assert whole == text
    assert (usage["tokens"], usage["window"], usage["percent"]) == (50_000, 200_000, 25.0)
    by_cli = cli("usage", str(transcript), "--json").json()
    assert {k: by_cli[k] for k in usage} == usage  # the same reading the CLI gives


def test_the_ctx_operations_of_a_campaign(project, cli):
    assert cli("ctx", "init", "--campaign", "C1", "--owner", "@lead", "--boundary", "Only channels: X, Blog",
               "--max-skill-calls", "2", "--description", "Launch post").code == 0

    async def script(session):
        out = {"blocked": await call(session, "ctx_check_scope", request="Also create a YouTube video script",
                                     log_as="writer"),
               "allowed": await call(session, "ctx_check_scope", request="Draft the Blog post", campaign="C1"),
               "applied": await call(session, "ctx_apply", result={
                   "skill": "writer", "artifacts": [{"path": "drafts/x.md", "status": "draft"}]}),
               "budget": await call(session, "ctx_check_budget", cost=5),
               "view": await call(session, "ctx_for", skill="writer", budget=300),
               "escalated": await call(session, "ctx_escalate", question="Publish on Friday?",
                                       options=["yes", "no"])}
        out["decided"] = await call(session, "ctx_decide", decision_id=out["escalated"]["decision"]["id"],
                                    decision="yes", by="@lead")
        out["refused"] = await error(session, "ctx_apply", result={"skill": "writer"}, expect_revision=1)  # stale
        return out

    out = talk(project.root, script)
    assert out["blocked"]["result"] == "BLOCKED" and "YouTube" in out["blocked"]["reason"]
    assert out["allowed"]["result"] == "ALLOWED"
    assert out["applied"]["revision"] == 2 and out["applied"]["changed"] == ["artifacts[drafts/x.md]"]
    assert out["budget"]["result"] == "BLOCKED"
    assert out["view"]["view"]["context_for"] == "writer"
    assert out["decided"]["decision"]["decision"] == "yes"
    assert out["refused"].startswith("Error executing tool ctx_apply: ") and "revision" in out["refused"]
    shown = cli("ctx", "show", "--json").json()["session_context"]
    assert shown["decisions_made"][0]["decision"] == "yes"
    assert any(i.get("result") == "blocked" for i in shown["compute"]["invocation_log"])  # log_as logged it


def test_without_the_sdk_tether_mcp_says_how_to_install_it(ws, tmp_path):
    import subprocess

    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "mcp").mkdir()
    (blocker / "mcp" / "__init__.py").write_text("raise ImportError('no', name='mcp')\n")
    env = {**os.environ, "PYTHONPATH": str(blocker)}
    proc = subprocess.run([sys.executable, "-m", "tether", "mcp"], cwd=ws.root, capture_output=True, text=True,
                          env=env, timeout=60, stdin=subprocess.DEVNULL)
    assert proc.returncode == 2 and "the MCP SDK is not installed" in proc.stderr
    assert "pip install 'tether[mcp]'" in proc.stderr


def test_the_server_sees_what_the_cli_writes_between_calls(project, cli):
    """The server keeps its Workspace between calls; what another process writes meanwhile is
    read all the same."""
    async def script(session):
        before = await call(session, "resume")
        assert cli("checkpoint", "--done", "1", "--state", "intro parsed by the CLI").code == 0
        assert cli("note", "blocker", "the API docs are missing").code == 0
        assert cli("task", "start", "Third task", "--items", "x", "--id", "T3").code == 0
        return before, await call(session, "resume", task="T1"), await call(session, "notes"), \
            await call(session, "tasks")

    before, after, notes, tasks = talk(project.root, script)
    assert before["resume"]["checkpoint"] is None
    assert after["resume"]["checkpoint"] == "CKP-0001" and after["resume"]["current_state"] == "intro parsed by the CLI"
    assert [n["text"] for n in notes["notes"]] == ["the API docs are missing"]
    assert {t["id"] for t in tasks["tasks"]} == {"T1", "T2", "T3"}


def test_the_servers_records_are_one_session_which_the_brief_names_if_it_never_closes(project, cli):
    """The server lives as long as the agent's session: what it records carries one session id (not
    a one-off command's, which the brief never names), so the next brief says it did not close."""
    assert cli("close", "--summary", "set up").code == 0

    async def script(session):
        await call(session, "decisions", action="decide", question="Which parser?", decision="markdown-it")
        await call(session, "notes", action="add", kind="gotcha", text="faq.md is generated")

    talk(project.root, script)
    rows = cli("boot", "--json").json()["recorded_since_close"]
    assert len(rows) == 1 and len(rows[0]["decisions"]) == 1 and len(rows[0]["entries"]) == 1, rows
    assert rows[0]["session"].startswith("S-")
    assert f"session {rows[0]['session']} recorded 1 decision and 1 context entry" in cli("boot").out


def test_notes_decisions_and_the_brief_flag_memories_whose_cited_code_changed(project, cli, git):
    (project.root / "parser.py").write_text("def parse(): ...\n")
    git("add", "parser.py")
    git("commit", "-q", "-m", "parser")
    assert cli("note", "gotcha", "parse() in parser.py skips tables").code == 0
    assert cli("decide", "Which parser?", "--decision", "ours", "--anchor", "parser.py:1").code == 0
    (project.root / "parser.py").write_text("def parse(tables=True): ...\n")
    git("commit", "-q", "-am", "tables")

    async def script(session):
        return await call(session, "notes"), await call(session, "decisions"), await call(session, "brief")

    notes, decisions, brief = talk(project.root, script)
    assert notes["notes"][0]["stale"] == [{"anchor": "parser.py", "path": "parser.py", "state": "changed", "commits": 1}]
    assert decisions["decisions"][0]["stale"][0]["anchor"] == "parser.py:1"
    assert "May be stale: cited code changed since" in brief["text"]


def test_an_agent_on_mcp_alone_starts_a_task_cites_code_and_keeps_its_memories_true(ws, git):
    """Start a task, anchor an entry and a decision to code, see them go stale when the code
    changes in a commit, confirm the one that still holds and resolve the other, all over MCP."""
    (ws.root / "calc.py").write_text("def parse(text):\n    return text.split()\n\n\ndef other():\n    return 1\n")
    git("add", "calc.py")
    git("commit", "-q", "-m", "calc")

    async def script(session):
        started = await call(session, "tasks", action="start", title="Parse input", steps=["lex", "parse"])
        saved = await call(session, "checkpoint", state="lexing", anchors=["calc.py::parse"])
        note = await call(session, "notes", action="add", kind="gotcha", text="parse() splits on any space",
                          anchors=["calc.py::parse"])
        decision = await call(session, "decisions", action="decide", question="Which split?",
                              decision="str.split", anchors=["calc.py:1"])
        (ws.root / "calc.py").write_text("def parse(text):\n    return text.split(',')\n\n\ndef other():\n    return 1\n")
        git("commit", "-q", "-am", "split on commas")
        stale = await call(session, "stale")
        confirmed = await call(session, "decisions", action="confirm", id=decision["decision"]["id"])
        resolved = await call(session, "notes", action="resolve", id=note["note"]["id"])
        after = await call(session, "stale")
        refused = await error(session, "notes", action="confirm")
        return started, saved, note, decision, stale, confirmed, resolved, after, refused

    started, saved, note, decision, stale, confirmed, resolved, after, refused = talk(ws.root, script)
    assert started["task"]["title"] == "Parse input" and ws.active_task_id() == started["task"]["id"]
    assert saved["checkpoint"]["task"] == started["task"]["id"]
    assert list(note["note"]["anchors"]) == ["calc.py::parse"]
    ids = {s["id"] for s in stale["stale"]}
    assert {note["note"]["id"], decision["decision"]["id"]} <= ids and stale["total"] == len(stale["stale"])
    assert confirmed["confirmed"]["id"] == decision["decision"]["id"] and resolved["note"]["resolved"]
    assert {s["kind"] for s in after["stale"]} <= {"checkpoint"}  # only the checkpoint, superseded by the next one
    assert "give the id of the entry to confirm" in refused and "Hint:" in refused


def test_a_checkpoint_over_a_damaged_one_names_it_once_per_call(project, cli):
    """The server keeps its workspace between calls: a problem met by one call is that call's."""
    assert cli("checkpoint", "--done", "1", "--state", "intro parsed").code == 0
    [path] = list((project.root / ".tether" / "tasks" / "T1" / "checkpoints").glob("CKP-0001-*.md"))
    path.write_text("---\nid: [\n")

    async def script(session):
        return [await call(session, "checkpoint", done=["2"], state="api parsed"),
                await call(session, "checkpoint", done=["3"], state="faq parsed")]

    first, second = talk(project.root, script)
    assert first["checkpoint"]["done"] == "1-2"
    assert [p["path"] for p in first["problems"]] == [f".tether/tasks/T1/checkpoints/{path.name}"]
    assert second["checkpoint"]["done"] == "1-3" and second["problems"] == []  # the newest reads: nothing met


def without_envelope(data: dict) -> dict:
    return {k: v for k, v in data.items() if k not in ("ok", "schema_version", "command")}


def test_checkpoint_and_the_task_list_answer_with_the_data_the_clis_json_gives(project, cli):
    assert cli("checkpoint", "--task", "T2", "--done", "1", "--state", "reproduced").code == 0
    assert cli("task", "switch", "T1").code == 0
    by_cli = without_envelope(cli("checkpoint", "--done", "1", "--state", "intro parsed", "--next", "parse api",
                                  "--json").json())

    async def script(session):
        return (await call(session, "checkpoint", done="2", state="api parsed", next=["parse faq"]),
                await call(session, "tasks"))

    saved, listed = talk(project.root, script)
    assert set(saved) == set(by_cli) | {"note"} and saved["note"] is None
    assert set(saved["checkpoint"]) == set(by_cli["checkpoint"]) and set(saved["resume"]) == set(by_cli["resume"])
    assert saved["checkpoint"]["id"] == "CKP-0002" and saved["checkpoint"]["next"] == ["parse faq"]
    assert saved["path"] == f".tether/tasks/T1/checkpoints/{saved['checkpoint']['name']}.md"
    assert saved["resume"]["done_ranges"] == "1-2" and saved["resume"]["next_unit"] == "faq"
    assert (project.root / saved["path"]).is_file()

    cli_list = cli("task", "list", "--json").json()
    assert listed["active"] == cli_list["active"] == "T1"
    for mine, theirs in zip(listed["tasks"], cli_list["tasks"], strict=True):
        # each entry as the CLI's, without the task's units: `resume` counts them and names the next
        assert mine == {k: v for k, v in theirs.items() if k != "units"}
    assert [t["resume"]["done_ranges"] for t in listed["tasks"]] == ["1-2", "1"]


def test_a_stand_in_for_a_closed_task_is_said_and_chosen_by_a_checkpoint_as_the_cli_does(project, cli, tmp_path):
    """T1, the task this machine chose, is complete: the open task with the newest checkpoint stands
    in for it. The list, resume and a checkpoint without a task say so; the checkpoint makes the
    stand-in the chosen task, over MCP as on the command line."""
    assert cli("checkpoint", "--task", "T2", "--done", "1", "--state", "reproduced").code == 0
    assert cli("task", "switch", "T1").code == 0
    assert cli("task", "complete").code == 0
    active = project.root / ".tether" / "local" / "active"
    assert active.read_text().strip() == "T1"

    async def script(session):
        out = {"list": await call(session, "tasks"), "resume": await call(session, "resume"),
               "saved": await call(session, "checkpoint", state="fixing")}
        out["chosen"] = active.read_text().strip()
        out["again"] = await call(session, "checkpoint", state="fixed")
        return out

    out = talk(project.root, script)
    said = "T1, the task chosen on this machine, is complete: "
    assert out["list"]["active"] == "T2" and out["list"]["note"].startswith(said + "the active task is T2")
    assert out["resume"]["resume"]["task"] == "T2" and out["resume"]["note"].startswith(said + "this is T2")
    assert out["saved"]["checkpoint"]["task"] == out["list"]["active"]  # the list said where it would go
    assert out["saved"]["note"].startswith(said + "this went to T2, the open task with the newest checkpoint")
    assert 'tasks(action="switch", task=ID)' in out["saved"]["note"]
    assert out["chosen"] == "T2" and out["again"]["note"] is None  # chosen now: nothing more to say

    # The same steps on the command line end the same way.
    assert cli("task", "switch", "T1").code == 1  # complete: it cannot be chosen again, so choose it by hand
    active.write_text("T1\n")
    run = cli("checkpoint", "--state", "fixing on the CLI")
    assert "Note: T1, the task chosen on this machine, is complete: this went to T2" in run.out
    assert active.read_text().strip() == "T2"


def test_a_task_started_on_another_branch_is_said_to_be_missing_from_this_checkout(project):
    (project.root / ".tether" / "local" / "active").write_text("FEAT1\n")

    async def script(session):
        return await call(session, "checkpoint", state="here", task=None), await call(session, "tasks")

    saved, listed = talk(project.root, script)
    assert saved["note"].startswith("FEAT1, the task chosen on this machine, is not in this checkout (another branch?)")
    assert listed["note"] is None and listed["active"] == saved["checkpoint"]["task"]


@pytest.mark.parametrize("arguments, line, hint", [
    ({"status": "done"}, 'unknown status "done"', 'use one of: "in_progress", "completed", "blocked"'),
    ({"done": ""}, "done names nothing", 'e.g. done="3" or done="1-5,7"; leave done out for none'),
    ({"done": {"from": 1}}, 'done must be a list of strings or integers, a string or an integer, got {"from": 1}',
     'e.g. done="1-3"'),
    ({"next": "parse faq"}, 'next must be a list of strings, got "parse faq"', 'e.g. next=["..."]'),
    ({"next_actions": ["parse faq"]}, "checkpoint takes no argument next_actions",
     "checkpoint takes: state, done, undone, next, files, note, data, status, task, anchors"),
])
def test_a_checkpoint_with_arguments_that_do_not_fit_is_one_line_and_a_hint_and_saves_nothing(
        project, arguments, line, hint):
    async def script(session):
        return await error(session, "checkpoint", state="x", **arguments), await call(session, "resume")

    text, resume = talk(project.root, script)
    assert text == f"Error executing tool checkpoint: {line}\nHint: {hint}"
    assert resume["resume"]["checkpoint"] is None


def test_wrong_values_are_tethers_one_line_with_the_allowed_values_and_units_may_be_a_string(project):
    async def script(session):
        out = {name: await error(session, tool, **arguments) for name, tool, arguments in (
            ("kind", "notes", {"action": "add", "kind": "bogus", "text": "x"}),
            ("action", "tasks", {"action": "bogus"}),
            ("decide", "decisions", {"action": "revise"}),
            ("limit", "notes", {"limit": "many"}),
            ("summary", "close", {}),
        )}
        out["range"] = await call(session, "checkpoint", done="1-2", state="intro and api parsed")
        out["number"] = await call(session, "checkpoint", done=3, undone=[2], state="faq parsed, api again")
        out["json"] = await call(session, "checkpoint", undone='["3"]')  # a list sent as JSON text
        return out

    out = talk(project.root, script)
    assert out["kind"] == ('Error executing tool notes: unknown kind "bogus"\n'
                           'Hint: use one of: "phase", "gotcha", "dont", "blocker", "note", "learning"')
    assert out["action"].endswith('Hint: use one of: "list", "status", "start", "complete", "switch", "reopen", "clear"')
    assert 'unknown action "revise"' in out["decide"] and '"decide", "list", "confirm"' in out["decide"]
    assert out["limit"] == 'Error executing tool notes: limit must be an integer, got "many"\nHint: e.g. limit=10'
    assert out["summary"] == 'Error executing tool close: close needs summary (a string)\nHint: e.g. close(summary="...")'
    for text in (out["kind"], out["action"], out["limit"], out["summary"]):
        assert "validation error" not in text and "pydantic" not in text and len(text.splitlines()) == 2
    assert out["range"]["checkpoint"]["done"] == "1-2"
    assert out["number"]["checkpoint"]["done"] == "1,3" and out["json"]["checkpoint"]["done"] == "1"


def test_the_tasks_tool_completes_switches_clears_and_reopens_tasks_as_the_cli_does(project, cli):
    assert cli("note", "blocker", "the faq page is missing", "--task", "T1").code == 0

    async def script(session):
        out = {"switched": await call(session, "tasks", action="switch", task="T2")}
        out["cli_active"] = cli("task", "list", "--json").json()["active"]
        out["completed"] = await call(session, "tasks", action="complete")  # the active one: T2
        out["refused"] = await error(session, "tasks", action="switch", task="T2")
        out["no_id"] = await error(session, "tasks", action="switch")
        out["complete_t1"] = await call(session, "tasks", action="complete", task="T1")
        out["reopened"] = await call(session, "tasks", action="reopen", task="T1")
        out["cleared"] = await call(session, "tasks", action="clear", task="T1")
        out["all"] = await call(session, "tasks", all=True)
        return out

    out = talk(project.root, script)
    assert out["switched"] == {"active": "T2"} and out["cli_active"] == "T2"
    assert out["completed"]["task"]["id"] == "T2" and out["completed"]["task"]["status"] == "complete"
    assert out["completed"]["note"] == ('T2 was marked complete with 0 of 2 steps done'
                                        ' (tasks(action="reopen", task="T2") if it is not finished)')
    assert out["refused"] == ('Error executing tool tasks: task T2 is complete\n'
                              'Hint: reopen it with `tasks(action="reopen", task="T2")`')
    assert out["no_id"].endswith('give the id of the task to switch\nHint: task ids: tasks(action="list")')
    assert out["complete_t1"]["task"]["status"] == "complete"
    assert out["reopened"]["task"]["status"] == "open" and len(out["reopened"]["entries"]) == 1  # its blocker again
    assert out["cleared"]["task"]["status"] == "archived"
    assert {t["id"]: t["status"] for t in out["all"]["tasks"]} == {"T1": "archived", "T2": "complete"}
    assert {t["id"]: t["status"] for t in cli("task", "list", "--all", "--json").json()["tasks"]} == \
        {"T1": "archived", "T2": "complete"}


def test_the_instructions_teach_the_loop_the_instructions_files_teach_with_tools_that_exist(project):
    from tether.core.workflow import LOOP, agent_lines, mcp_instructions

    async def script(session):
        init = await session.initialize()
        return init.instructions, {t.name for t in (await session.list_tools()).tools}

    instructions, tools = talk(project.root, script)
    assert instructions == mcp_instructions()
    section = "\n".join(agent_lines())
    for when, command, tool_call in LOOP:  # each step of AGENTS.md's loop, and the MCP start
        assert f"- {when}: {tool_call}" in instructions
        assert command is None or f"- {when}: {command.splitlines()[0]}" in section
    import re

    named = set(re.findall(r"`([a-z_]+)`", instructions))
    assert named <= tools and {"brief", "checkpoint", "decisions", "notes", "tasks", "close", "resume"} <= named
    assert "after each step" in instructions and 'action="complete"' in instructions


def test_every_command_a_library_hint_names_is_a_tool_call_over_mcp_when_a_tool_does_it():
    """Library hints name the command line's commands; the MCP adapter says a tool call instead
    wherever a tool does the job. A new hint naming a command a tool does, untranslated, fails here."""
    import re

    from tether.mcp.hints import tools

    # commands no tool does: run in a shell all the same
    shell_only = re.compile(r"tether (init|index|offload|ctx (init|show|close|list|validate|schema|roles|decisions)"
                            r"|audit|verify\b(?! --stale)|install|log)")
    src = Path(__file__).resolve().parents[1] / "src" / "tether"
    quoted = set()
    for path in src.rglob("*.py"):
        if path.relative_to(src).parts[0] in ("cli", "hooks", "mcp"):
            continue  # adapters say their own
        for hint in re.findall(r"hint\s*=\s*(?:f?'[^']*'|f?\"[^\"]*\")", path.read_text(encoding="utf-8")):
            quoted.update(re.findall(r"`(tether [^`]*)`", hint))
    assert len(quoted) > 20
    left = sorted(c for c in quoted if "`tether " in tools(f"`{c}`") and not shell_only.match(c))
    assert left == []
    assert tools("run `tether task list --all` to see task ids") == 'call `tasks(action="list", all=true)` to see task ids'
    assert tools("e.g. --done 3 or --done 1-4") == 'e.g. done=3 or done="1-4"'
    assert tools('resolve it (`tether note resolve N-1`) or record it anew') == \
        'resolve it (`notes(action="resolve", id="N-1")`) or record it anew'
    assert tools("run `tether init` at the root") == "run `tether init` at the root"  # no tool does it
    # A command is read whole, its options said as the tool's arguments.
    assert tools('`tether checkpoint --done 3 --state "api parsed" --next "parse faq" --next "index"`') == \
        '`checkpoint(done=3, state="api parsed", next=["parse faq", "index"])`'
    assert tools('End with `tether close --summary "..." --next "..." --commit`.') == \
        'End with `close(summary="...", next_steps=["..."], commit=true)`.'
    assert tools('`tether task start "Title" --steps "..." --criteria "..."`') == \
        '`tasks(action="start", title="Title", steps=["..."], criteria=["..."])`'
    assert tools("(`tether boot --budget 2000` shows them)") == "(`brief(budget=2000)` shows them)"
    # one with an option no tool takes is kept whole, to be run in a shell, not half translated
    assert tools("`tether checkpoint --done 2 --result out=@a.md`") == "`tether checkpoint --done 2 --result out=@a.md`"


def test_resume_says_which_task_is_active_and_the_other_open_ones_as_the_cli_json_does(project, cli):
    """An agent that resumed one task must know the others are open, as `tether resume --json`
    tells it (active, others, the task files that could not be read)."""
    assert cli("task", "start", "Write the index", "--id", "T3").code == 0
    assert cli("task", "switch", "T1").code == 0

    async def script(session):
        return {"resume": await call(session, "resume"), "one": await call(session, "resume", limit=1)}

    out = talk(project.root, script)
    expected = cli("resume", "--json").json()
    assert out["resume"]["active"] == expected["active"] == "T1"
    assert out["resume"]["others"] == expected["others"] == [{"id": "T2", "title": "Fix the build"},
                                                             {"id": "T3", "title": "Write the index"}]
    assert out["resume"]["others_total"] == 2 and out["resume"]["note"] is None
    assert out["one"]["others"] == [{"id": "T3", "title": "Write the index"}] and out["one"]["others_total"] == 2

    # A task file that cannot be read is named with its path and line, as the CLI names it.
    (project.root / ".tether" / "tasks" / "T3" / "task.md").write_text("garbage\n")

    async def again(session):
        return await call(session, "resume")

    out = talk(project.root, again)
    expected = cli("resume", "--json").json()
    assert out["others"] == expected["others"] == [{"id": "T2", "title": "Fix the build"}]
    assert out["problems"] == expected["problems"] and out["problems"][0]["path"] == ".tether/tasks/T3/task.md"
    assert out["problems"][0]["line"] == 1


def test_reopen_without_a_task_reopens_the_task_closed_last_and_says_which_as_the_cli_does(project, cli):
    assert cli("note", "blocker", "the faq page is missing", "--task", "T1").code == 0
    assert cli("task", "complete", "T1").code == 0
    assert cli("task", "clear", "T2").code == 0  # closed last

    async def script(session):
        out = {"empty": await error(session, "tasks", action="reopen", task="")}
        out["first"] = await call(session, "tasks", action="reopen")
        out["second"] = await call(session, "tasks", action="reopen")
        out["none"] = await error(session, "tasks", action="reopen")
        return out

    out = talk(project.root, script)
    assert out["empty"] == ("Error executing tool tasks: the task id is empty\nHint: give a task id"
                            ' (`tasks(action="list", all=true)`), or none at all for the task closed last')
    assert out["first"]["task"]["id"] == "T2" and out["first"]["task"]["status"] == "open"
    assert out["first"]["note"] == "reopened T2, the task closed last (task=ID to reopen another)"
    assert out["second"]["task"]["id"] == "T1" and len(out["second"]["entries"]) == 1  # its blocker again
    assert out["none"] == ("Error executing tool tasks: there is no completed or archived task to reopen\n"
                           'Hint: `tasks(action="list", all=true)` lists every task with its status')
    assert cli("task", "reopen").err.startswith("Error: there is no completed or archived task to reopen")

    # A task file that cannot be read may be the one closed last: named with its path and line,
    # and nothing is reopened.
    assert cli("task", "complete", "T1").code == 0
    (project.root / ".tether" / "tasks" / "T2" / "task.md").write_text("garbage\n")

    async def unreadable(session):
        return await error(session, "tasks", action="reopen"), await call(session, "tasks", all=True)

    text, listed = talk(project.root, unreadable)
    assert text == ("Error executing tool tasks: .tether/tasks/T2/task.md:1: expected front matter starting with '---'\n"
                    'Hint: fix the file (`tether verify` lists every one), or name the task:'
                    ' `tasks(action="reopen", task="ID")`')
    assert [(t["id"], t["status"]) for t in listed["tasks"]] == [("T1", "complete")]


# commands no tool does: run in a shell all the same
SHELL_ONLY = r"tether (init|index|offload|pin|log|config|audit|verify(?! --stale)|ctx (init|show|close|list|validate))"


def test_the_brief_and_where_to_resume_name_tool_calls_over_mcp_where_the_cli_names_commands(project, cli):
    """The library words the brief and a resume point's message for the command line; the MCP
    adapter says the tool call wherever a tool does the command, within the brief's budget."""
    import re

    assert cli("task", "complete", "T2").code == 0
    assert cli("note", "gotcha", "faq.md is generated").code == 0

    async def script(session):
        out = {"brief": await call(session, "brief"), "small": await call(session, "brief", budget=150),
               "status": await call(session, "tasks", action="status", task="T2"),
               "list": await call(session, "tasks", all=True)}
        out["resource"] = (await session.read_resource("tether://brief")).contents[0].text
        out["task"] = (await session.read_resource("tether://task/T2")).contents[0].text
        return out

    out = talk(project.root, script)
    brief = out["brief"]
    assert brief["tokens"] <= brief["budget"] == 1000
    for text in (brief["text"], out["resource"]):
        assert 'checkpoint(done=1, state="where it stands", next=["what comes next"])' in text
        assert 'close(summary="what was done", next_steps=["what comes next"], commit=true)' in text
        assert 'notes(action="add", kind="gotcha", text="...")' in text
        assert [c for c in re.findall(r"`(tether [^`]*)`", text) if not re.match(SHELL_ONLY, c)] == []
    small = out["small"]
    closing = small["text"].split("Left out to fit the budget: ")[1]
    # The closing line's form depends on how much room is left (its commands, the sections' names
    # or their number): whichever it takes, a command in it is a tool call.
    assert small["tokens"] <= 150 and ('gotchas (`notes(action="list")`)' in closing
                                        or "(`brief(budget=2000)` shows them)" in closing), closing
    from tether.mcp.hints import tools

    assert tools("Left out to fit the budget: 1 gotchas (`tether note list`); 3 plan.") == (
        'Left out to fit the budget: 1 gotchas (`notes(action="list")`); 3 plan.')
    assert [c for c in re.findall(r"`(tether [^`]*)`", closing) if not re.match(SHELL_ONLY, c)] == []
    reopen = 'To continue it: `tasks(action="reopen", task="T2")`.'
    assert out["status"]["resume"]["message"].endswith(reopen) and reopen in out["task"]

    # The command line keeps its commands.
    assert '`tether checkpoint --done 1 --state "where it stands"' in cli("boot").out
    assert cli("task", "status", "T2", "--json").json()["resume"]["message"].endswith(
        "To continue it: `tether task reopen T2`.")


def test_usage_advises_and_close_keeps_in_the_words_of_the_tools(project, tmp_path, cli):
    """The usage tool's advice is the CLI's (`tether usage --json`), its commands said as tool calls;
    close takes offload as `tether close --offload` does."""
    def transcript(name: str, tokens: int) -> str:
        path = tmp_path / name
        path.write_bytes(jsonl(cc_user("u0", "hi"), cc_assistant(
            "a0", "msg_0", [{"type": "text", "text": "ok"}],
            {"input_tokens": 10, "cache_creation_input_tokens": 0, "cache_read_input_tokens": tokens - 10,
             "output_tokens": 5}, model="claude-sonnet-4-5-20250929")))
        return str(path)

    red, critical = transcript("red.jsonl", 160_000), transcript("critical.jsonl", 180_000)
    assert cli("note", "learning", "the faq is generated from faq.yaml").code == 0

    async def script(session):
        return (await call(session, "usage", transcript=red), await call(session, "usage", transcript=critical),
                await call(session, "close", summary="parsed", offload=True))

    at_red, at_critical, closed = talk(project.root, script)
    assert at_red["state"] == "RED" and at_critical["state"] == "CRITICAL"
    assert cli("usage", red, "--json").json()["advice"].startswith(
        "The agent will compact this session soon. Checkpoint the active task now (`tether checkpoint --done")
    assert at_red["advice"] == ("The agent will compact this session soon. Checkpoint the active task now"
                                ' (`checkpoint(done="...", state="...", next=["..."])`), so that the compaction or'
                                " a fresh session loses nothing.")
    assert at_critical["advice"].endswith("it resumes from the repository (`resume()`).")
    assert "tether " not in at_red["advice"] + at_critical["advice"]
    [kept] = closed["keep"]
    assert kept["text"] == "the faq is generated from faq.yaml" and kept["packet"].startswith("BLB-")


def test_the_pins_tool_pins_lists_and_unpins_as_the_cli_does_and_the_session_log_lists_it(project, cli,
                                                                                         monkeypatch):
    """An agent on MCP alone keeps what must survive every compaction: `pins` answers as `tether pin
    --list --json`, `tether pin --json` and `tether unpin --json` do, names a pins log line that does not
    read in `problems` (its path and line), and what it did is in `tether log --session`."""
    monkeypatch.setenv("TETHER_SESSION_ID", "s-pins")
    kept = cli("pin", "Never change load(path)", "--json").json()["pin"]

    async def script(session):
        out = {"pinned": await call(session, "pins", action="pin", text="  Keep the public API stable  ")}
        out["listed"] = await call(session, "pins")
        out["newest"] = await call(session, "pins", limit=1)
        out["unpinned"] = await call(session, "pins", action="unpin", id=kept["id"][:-2])  # the start of an id
        out["left"] = await call(session, "pins", action="list")
        out["unknown"] = await error(session, "pins", action="unpin", id="PIN-nope")
        out["empty"] = await error(session, "pins", action="pin", text="  ")
        out["no_id"] = await error(session, "pins", action="unpin")
        with open(project.dir / "memory" / "pins.jsonl", "a") as fh:
            fh.write('{"pin": "broken\n')
        out["damaged"] = await call(session, "pins")
        return out

    out = talk(project.root, script)
    pinned = out["pinned"]["pin"]
    assert pinned["text"] == "Keep the public API stable" and pinned["id"].startswith("PIN-")
    assert out["listed"] == {"total": 2, "pins": [kept, pinned], "problems": []}
    assert out["newest"]["pins"] == [pinned] and out["newest"]["total"] == 2
    assert out["unpinned"] == {"unpinned": kept, "problems": []}
    assert out["left"]["pins"] == [pinned]
    assert cli("pin", "--list", "--json").json()["pins"] == [pinned]  # the CLI sees what the tool did
    assert "no pin PIN-nope" in out["unknown"] and 'pins(action="list")' in out["unknown"]
    assert "nothing to pin" in out["empty"] and "give the id of the pin" in out["no_id"]
    damaged = out["damaged"]
    assert damaged["pins"] == [pinned] and damaged["problems"] == [
        {"path": ".tether/memory/pins.jsonl", "line": 4, "message": "invalid JSON (torn or hand-edited line); line skipped"}]
    assert cli("pin", "--list", "--json").json()["problems"] == damaged["problems"]
    # What the session did: its pin and unpin, as its decisions and notes are listed.
    events = cli("log", "--session", "s-pins", "--json").json()["events"]
    assert [(e["event"], e["pin"]) for e in events if e["event"] in ("pin", "unpin")] == [
        ("pin", kept["id"]), ("pin", pinned["id"]), ("unpin", kept["id"])]
    assert f"pin  pin={pinned['id']}" in cli("log", "--session", "s-pins").out
