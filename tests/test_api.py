"""The library without the command line: one error tree, problems returned per call."""

from __future__ import annotations

import pytest

import tether
from tether import Workspace


def damaged(ws) -> None:
    ws.start_task("Healthy", items=["a", "b"], task_id="T1")
    ws.checkpoint(done=["1"], state="a done")
    ws.start_task("Victim", items=["x"], task_id="T2")
    ckp = ws.checkpoint(done=["1"], state="x done")
    path = ws.dir / "tasks" / "T2" / "checkpoints" / f"{ckp.name}.md"
    path.write_text(path.read_text()[:40])  # torn mid front matter


def test_problems_come_with_each_call_and_never_pile_up_on_a_long_lived_workspace(ws):
    damaged(ws)
    api = Workspace.open(ws.root)
    for _ in range(3):
        listed = api.tasks()
        assert [t.id for t in listed] == ["T1", "T2"] and listed.problems == []
        where = api.progress(api.task("T2"))
        assert len(where.problems) == 1 and "T2" in where.problems[0].path
        status = api.task_status("T2")
        assert len(status.problems) == 1
        brief = api.boot(warm=False)
        assert len(brief.data["problems"]) == 1
    assert api.store.problems == []


def test_a_truncated_task_file_is_a_tether_error_with_its_path(ws):
    ws.start_task("Victim", items=["x"], task_id="T3")
    (ws.dir / "tasks" / "T3" / "task.md").write_text("---\nid: \"T3\"\n")
    with pytest.raises(tether.TetherError) as caught:
        Workspace.open(ws.root).task("T3")
    assert isinstance(caught.value, tether.ParseError) and isinstance(caught.value, tether.Corrupt)
    assert caught.value.problem.path == ".tether/tasks/T3/task.md"


def test_git_failures_are_tether_errors(ws):
    with pytest.raises(tether.TetherError) as caught:
        ws.boot(sha="0" * 40)
    assert isinstance(caught.value, tether.GitProblem)


def test_the_commands_only_the_cli_had_are_calls_on_the_workspace(ws):
    ws.start_task("Docs", items=["a", "b", "c"], task_id="T4")
    first = ws.checkpoint(done=["1"], state="a")
    ws.checkpoint(done=["2"], state="b")
    assert ws.find_checkpoint("1").name == first.name
    assert ws.checkpoint_text(first).startswith("---\n") and ws.checkpoint_path(first).endswith(f"{first.name}.md")
    ws.close("Did a and b", next_steps=["c"])
    logs = ws.log()
    assert len(logs.dates) == 1 and "Did a and b" in logs.logs[0]
    assert ws.write_index() > 0 and ws.check_index().stale is False
    assert ws.repair().files > 0 and ws.verify().problems == []


def test_a_checkpoint_makes_its_task_the_one_this_machine_works_on(ws):
    """The library decides, so the CLI and the MCP server agree: a checkpoint of a named task, or
    of the open task standing in for a chosen one that is closed, makes that task the chosen one;
    the next checkpoint without a task goes there, not to whichever task was checkpointed last."""
    ws.start_task("First", items=["a", "b"], task_id="A")
    ws.start_task("Second", items=["x", "y"], task_id="B")
    assert ws.store.active_task() == "B"
    ws.checkpoint("A", done=["1"], state="a done")
    assert ws.store.active_task() == "A" and ws.stand_in() is None  # named: chosen
    ws.switch("B")
    ws.set_task_status("B", "complete")
    assert ws.stand_in() == {"chosen": "B", "status": "complete", "active": "A"}
    assert ws.checkpoint(state="meant for B").task == "A"
    assert ws.store.active_task() == "A" and ws.stand_in() is None
    ws.store.set_active_task("GONE")  # started on another branch: not in this checkout
    assert ws.stand_in() == {"chosen": "GONE", "status": None, "active": "A"}
