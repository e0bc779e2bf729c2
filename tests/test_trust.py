"""A repository's content is input from whoever committed it: tether must not let it lead
tether's reads and writes outside the repository (issue "Trust").

Each test builds what a hostile commit could hold (a link inside .tether/, a tether.toml
naming a path outside, an artifact outside) in a real clone, runs the command a person or
the SessionStart hook would, and checks that nothing outside was read or written.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from conftest import run_git

SESSION_START = json.dumps({"hook_event_name": "SessionStart", "source": "startup"})


@pytest.fixture
def outside(tmp_path) -> Path:
    """A folder outside every repository of the test, with a file that must never change."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    (home / ".bashrc").write_text("export PATH=/usr/bin\n")
    return home


def clone_of(repo: Path, tmp_path: Path, monkeypatch, name: str = "clone") -> Path:
    """Commit everything in ``repo`` and clone it: what a person gets from someone else."""
    run_git(repo, "add", "-A", "-f", ".tether")
    run_git(repo, "commit", "-q", "-m", "hostile")
    clone = tmp_path / name
    run_git(tmp_path, "clone", "-q", str(repo), str(clone))
    monkeypatch.chdir(clone)
    return clone


def link(path: Path, target: str, directory: bool = False) -> None:
    """Replace ``path`` (file or folder) with a symbolic link to ``target``, as a checkout would
    (the next tether process starts without the folders an earlier one found real)."""
    import tether.fsio

    getattr(tether.fsio, "_real_dirs", set()).clear()
    if path.is_dir() and not path.is_symlink():
        import shutil

        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(target, target_is_directory=directory)


def listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


# -- links inside .tether/ -----------------------------------------------------------------------

def test_the_session_start_hook_of_a_clone_never_appends_through_a_committed_link(
        ws, repo, tmp_path, outside, monkeypatch, tether_proc):
    link(ws.dir / "memory" / "events.jsonl", "../../../home/.bashrc")
    clone = clone_of(repo, tmp_path, monkeypatch)
    assert (clone / ".tether" / "memory" / "events.jsonl").is_symlink()

    run = tether_proc("hook", "claude-code", input=SESSION_START)
    assert run.code == 1
    assert run.err.count("\n") == 1 and ".tether/memory/events.jsonl is a symbolic link" in run.err
    assert (outside / ".bashrc").read_text() == "export PATH=/usr/bin\n"
    assert listing(outside) == [".bashrc"]


def test_the_warm_hook_path_never_appends_through_a_link_that_arrived_later(
        ws, repo, outside, tether_proc, cli):
    cli("task", "start", "Work", "--items", "a")
    assert cli("boot").code == 0  # the boot cache: the next hook starts warm
    assert tether_proc("hook", "claude-code", input=SESSION_START).code == 0
    link(ws.dir / "memory" / "events.jsonl", "../../../home/.bashrc")  # as a `git pull` would bring it

    run = tether_proc("hook", "claude-code", input=SESSION_START)
    assert run.code == 1 and "events.jsonl is a symbolic link" in run.err
    assert (outside / ".bashrc").read_text() == "export PATH=/usr/bin\n"


def test_the_event_log_appender_refuses_a_link_itself(ws, outside):
    from tether import eventlog
    from tether.errors import LinkRefused

    link(ws.dir / "memory" / "events.jsonl", str(outside / ".bashrc"))
    with pytest.raises(LinkRefused, match="events.jsonl"):
        eventlog.append(ws.store_dir, eventlog.record("session_start", "S-1", {}))
    link(ws.dir / "memory", str(outside), directory=True)
    with pytest.raises(LinkRefused, match=r"\.tether/memory is a symbolic link"):
        eventlog.append(ws.store_dir, eventlog.record("session_start", "S-1", {}))
    assert listing(outside) == [".bashrc"]


@pytest.mark.parametrize("linked,argv", [
    ("tasks/T1/intermediate", ["checkpoint", "--done", "1", "--result", "r.md=@result.md"]),
    ("progress", ["close", "--summary", "done"]),
    ("decisions", ["decide", "Which?", "--decision", "This one"]),
    ("tasks/T1/checkpoints", ["checkpoint", "--done", "1"]),
    ("open", ["task", "start", "Another", "--id", "T2"]),
    ("locks", ["checkpoint", "--done", "1"]),
])
def test_commands_of_a_clone_never_write_through_a_linked_folder(
        ws, repo, tmp_path, outside, monkeypatch, cli, linked, argv):
    assert cli("task", "start", "Work", "--items", "a", "--items", "b", "--id", "T1").code == 0
    (ws.dir / "tasks" / "T1" / "intermediate").mkdir()
    depth = "../" * (linked.count("/") + 2)
    link(ws.dir / linked, f"{depth}home", directory=True)
    clone = clone_of(repo, tmp_path, monkeypatch)
    (clone / "result.md").write_text("the result\n")

    run = cli(*argv)
    assert run.code == 1, run
    assert f".tether/{linked} is a symbolic link" in run.err and "Hint:" in run.err
    assert listing(outside) == [".bashrc"]


def test_a_checkpoint_never_writes_its_lock_token_into_a_linked_lock_file(ws, outside, cli):
    cli("task", "start", "Work", "--items", "a", "--id", "T1")
    link(ws.dir / "locks" / "task-T1.lock", str(outside / ".bashrc"))
    run = cli("checkpoint", "--done", "1")
    assert run.code == 1 and "locks/task-T1.lock is a symbolic link" in run.err
    assert (outside / ".bashrc").read_text() == "export PATH=/usr/bin\n"


def test_a_file_replaced_by_a_link_is_refused_not_overwritten(ws, outside, cli):
    cli("task", "start", "Work", "--items", "a", "--id", "T1")
    cli("close", "--summary", "first")
    link(ws.dir / "progress" / "LATEST.json", str(outside / ".bashrc"))
    run = cli("close", "--summary", "second")
    assert run.code == 1 and "progress/LATEST.json is a symbolic link" in run.err
    assert (ws.dir / "progress" / "LATEST.json").is_symlink()
    assert (outside / ".bashrc").read_text() == "export PATH=/usr/bin\n"


def test_a_linked_store_folder_is_refused(repo, tmp_path, outside, cli):
    real = tmp_path / "elsewhere"
    real.mkdir()
    (repo / ".tether").symlink_to(real, target_is_directory=True)
    run = cli("init")
    assert run.code == 1 and ".tether is a symbolic link" in run.err
    assert listing(real) == []


def test_boot_reports_a_linked_record_and_does_not_read_it(ws, outside, cli):
    secret = outside / "D-261121-secret.md"
    secret.write_text('---\nid: "D-261121-secret"\nquestion: "the home folder"\ndecision: "LEAKED"\n'
                      'when: "2026-11-21T10:00:00Z"\nrationale: ""\nwho: null\ntask: null\n---\n')
    link(ws.dir / "decisions" / "D-261121-secret.md", str(secret))
    link(ws.dir / "open", str(outside), directory=True)  # boot lists it for the open tasks
    run = cli("boot")
    assert run.code == 3
    assert "LEAKED" not in run.out
    assert ".tether/decisions/D-261121-secret.md: a symbolic link" in run.out
    assert ".tether/open: a symbolic link" in run.out


def test_verify_names_every_link_in_the_store_with_its_target(ws, outside, cli):
    cli("task", "start", "Work", "--items", "a", "--id", "T1")
    link(ws.dir / "decisions" / "D-1.md", str(outside / ".bashrc"))
    link(ws.dir / "tasks" / "T1" / "intermediate", "../../../../home", directory=True)
    link(ws.dir / "local", str(outside), directory=True)  # per machine, but tether writes there too
    run = cli("verify", "--json")
    assert run.code == 3
    problems = {p["path"]: p["message"] for p in run.json()["problems"]}
    assert problems[".tether/decisions/D-1.md"].startswith(f"a symbolic link (to {outside / '.bashrc'})")
    assert problems[".tether/tasks/T1/intermediate"].startswith("a symbolic link (to ../../../../home)")
    assert ".tether/local" in problems
    assert len([p for p in problems if "D-1" in p]) == 1  # named once, not again by the read that met it


def test_caches_behind_a_linked_local_folder_are_not_written(ws, outside, cli):
    cli("task", "start", "Work", "--items", "a", "--id", "T1")
    link(ws.dir / "local", str(outside), directory=True)
    cli("boot")
    cli("checkpoint", "--task", "T1", "--done", "1")
    cli("index")
    assert listing(outside) == [".bashrc"]


def test_the_manifest_does_not_hash_what_a_link_points_to(ws, outside, cli):
    link(ws.dir / "stolen", str(outside / ".bashrc"))
    assert cli("index").code == 0
    assert "stolen" not in json.loads((ws.dir / "index.json").read_text())["files"]


def test_a_checkpoint_loop_checks_each_folder_once_per_process(ws, spy):
    ws.start_task("Work", items=[f"doc{i}" for i in range(1, 6)])
    ws.checkpoint(done=["1"])  # creates the folders: each is checked once it exists
    ws.checkpoint(done=["2"])
    lstats = spy(os, "lstat", lambda path, *a, **kw: path)
    for number in range(3, 6):
        ws.checkpoint(done=[str(number)])
    assert lstats == []  # the hot path pays nothing after the first checkpoint
