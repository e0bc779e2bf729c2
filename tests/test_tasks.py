"""Tasks, checkpoints and resume (seed 001), decisions and context entries, through the CLI and the API."""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

import pytest

from tether import Workspace

DOCS = [f"doc{n:02d}.pdf" for n in range(1, 21)]


def checkpoint_files(root: Path, task_id: str) -> list[Path]:
    return sorted((root / ".tether" / "tasks" / task_id / "checkpoints").glob("CKP-*.md"))


def front_matter(path: Path) -> dict:
    """The machine-readable half of a record: `key: <json>` lines between '---' markers."""
    text = path.read_text(encoding="utf-8")
    block = text.split("---\n")[1]
    return {k: json.loads(v) for k, _, v in (line.partition(": ") for line in block.splitlines())}


@pytest.fixture
def docs_task(ws, cli):
    """A 20-item task T004 started through the CLI, active."""
    run = cli("task", "start", "Process 20 documents", "--id", "T004", *[a for d in DOCS for a in ("--items", d)])
    assert run.code == 0, run.err
    return "T004"


# -- task start --------------------------------------------------------------

def test_start_with_steps_stores_them_in_order(ws, cli, repo):
    run = cli("task", "start", "Ship it", "--steps", "write", "--steps", "test", "--steps", "release",
              "--definition", "Ship version 1", "--criteria", "tests pass", "--json")
    assert run.code == 0, run.err
    data = run.json()
    task_id = data["task"]["id"]
    assert data["task"]["kind"] == "steps" and data["task"]["units"] == ["write", "test", "release"]
    meta = front_matter(repo / ".tether" / "tasks" / task_id / "task.md")
    assert meta["units"] == ["write", "test", "release"]
    assert meta["definition"] == "Ship version 1" and meta["criteria"] == ["tests pass"]
    assert (repo / ".tether" / "open" / task_id).is_file()
    assert Workspace.open().active_task_id() == task_id


def test_start_with_items_inline(ws, cli):
    run = cli("task", "start", "Docs", "-i", "a.pdf", "-i", "b.pdf", "--json")
    task = ws.task(run.json()["task"]["id"])
    assert (task.kind, task.units) == ("items", ["a.pdf", "b.pdf"])


def test_start_with_items_from_a_file_skips_blank_lines(ws, cli, tmp_path):
    listing = tmp_path / "items.txt"
    listing.write_text("doc1.pdf\n\n  doc2.pdf  \ndoc3.pdf\n", encoding="utf-8")
    run = cli("task", "start", "Docs", "--items-file", str(listing), "--json")
    assert run.code == 0, run.err
    assert ws.task(run.json()["task"]["id"]).units == ["doc1.pdf", "doc2.pdf", "doc3.pdf"]


def test_start_with_items_from_stdin(ws, cli):
    run = cli("task", "start", "Docs", "--items-file", "-", "--json", input="x.pdf\ny.pdf\n")
    assert run.code == 0, run.err
    assert ws.task(run.json()["task"]["id"]).units == ["x.pdf", "y.pdf"]


def test_start_with_steps_from_a_file(ws, cli, tmp_path):
    (tmp_path / "steps.txt").write_text("plan\nbuild\n", encoding="utf-8")
    run = cli("task", "start", "Build", "--steps-file", str(tmp_path / "steps.txt"), "--json")
    task = ws.task(run.json()["task"]["id"])
    assert (task.kind, task.units) == ("steps", ["plan", "build"])


def test_items_file_that_does_not_exist_is_a_user_error(ws, cli, tmp_path):
    run = cli("task", "start", "Docs", "--items-file", str(tmp_path / "missing.txt"))
    assert run.code == 1
    assert "Error: cannot read" in run.err and "No such file or directory" in run.err and "Hint:" in run.err
    assert ws.tasks() == []


def test_items_file_that_is_not_utf8_names_the_line(ws, cli, tmp_path):
    listing = tmp_path / "items.txt"
    listing.write_bytes(b"doc1.pdf\ndoc\xe92.pdf\n")
    run = cli("task", "start", "Docs", "--items-file", str(listing))
    assert run.code == 1
    assert f"{listing}:2: not UTF-8 text" in run.err and "Hint:" in run.err
    assert ws.tasks() == []


def test_user_given_id(ws, cli, repo):
    run = cli("task", "start", "Fix login", "--id", "T004")
    assert run.code == 0 and "Started task T004" in run.out
    assert (repo / ".tether" / "tasks" / "T004" / "task.md").is_file()


def test_duplicate_id_is_a_conflict_and_keeps_the_first_task(ws, cli, repo):
    assert cli("task", "start", "First", "--id", "T004").code == 0
    before = (repo / ".tether" / "tasks" / "T004" / "task.md").read_bytes()
    run = cli("task", "start", "Second", "--id", "T004")
    assert run.code == 1
    assert "already exists" in run.err and "Hint:" in run.err
    assert (repo / ".tether" / "tasks" / "T004" / "task.md").read_bytes() == before
    data = cli("task", "start", "Second", "--id", "T004", "--json").json()
    assert data["ok"] is False and data["kind"] == "conflict" and data["exit_code"] == 1


@pytest.mark.parametrize("bad", ["bad id", "-x", "../T1", "a/b", "x" * 65])
def test_invalid_id_is_rejected_and_nothing_is_created(ws, cli, repo, bad):
    run = cli("task", "start", "Title", f"--id={bad}")
    assert run.code == 1, run.out
    assert "invalid task id" in run.err and "Hint:" in run.err
    assert sorted(p.name for p in (repo / ".tether" / "tasks").iterdir()) == []


def test_steps_and_items_together_is_an_error(ws, cli):
    run = cli("task", "start", "Both", "--steps", "a", "--items", "b")
    assert run.code == 1
    assert "either steps or items" in run.err
    assert ws.tasks() == []


def test_empty_title_is_an_error(ws, cli):
    run = cli("task", "start", "   ")
    assert run.code == 1 and "needs a title" in run.err


def test_generated_ids_are_unique_over_many_starts(ws, fast_writes, monkeypatch):
    monkeypatch.setenv("TETHER_NOW", "2026-11-21T10:00:00Z")   # worst case: every id from one clock tick
    made = [ws.start_task(f"task {n}").id for n in range(300)]
    assert len(set(made)) == 300
    assert sorted(ws.store.task_ids()) == sorted(made)
    assert all(re.fullmatch(r"T-\d{6}-[0-9a-z]{6,}", i) for i in made)


# -- checkpoint ----------------------------------------------------------------

def test_checkpoints_are_numbered_in_order(docs_task, cli, repo):
    for spec in ("1", "2", "3"):
        assert cli("checkpoint", "--done", spec).code == 0
    names = [p.name for p in checkpoint_files(repo, docs_task)]
    assert [n[:8] for n in names] == ["CKP-0001", "CKP-0002", "CKP-0003"]
    assert all(re.fullmatch(r"CKP-000\d-[0-9a-z]{6}\.md", n) for n in names)


@pytest.mark.parametrize("specs, done", [
    (["3"], "3"),
    (["1-5"], "1-5"),
    (["2,4,9"], "2,4,9"),
    (["doc07.pdf"], "7"),
    (["DOC07.PDF"], "7"),                 # a unique case-insensitive name match
    (["1-3", "doc10.pdf", "12"], "1-3,10,12"),
    (["all"], "1-20"),
])
def test_done_by_number_range_list_name_and_all(docs_task, cli, specs, done):
    run = cli("checkpoint", *[a for s in specs for a in ("--done", s)], "--json")
    assert run.code == 0, run.err
    assert run.json()["checkpoint"]["done"] == done


@pytest.mark.parametrize("spec, words", [
    ("21", "out of range"),
    ("19-25", "out of range"),
    ("doc99.pdf", "is named"),
    ("0", "numbers start at 1"),
    ("5-3", "from low to high"),
])
def test_bad_unit_specs_write_nothing(docs_task, cli, repo, spec, words):
    cli("checkpoint", "--done", "1")
    before = [p.name for p in checkpoint_files(repo, docs_task)]
    run = cli("checkpoint", "--done", spec)
    assert run.code == 1
    assert words in run.err and "Hint:" in run.err
    assert [p.name for p in checkpoint_files(repo, docs_task)] == before
    assert not (repo / ".tether" / "tasks" / docs_task / "intermediate").exists()


@pytest.mark.parametrize("option", ["--done", "--undone"])
def test_a_huge_range_is_out_of_range_not_a_memory_hog(docs_task, cli, repo, option):
    # One range, checked as such: expanding 1-99999999999 into numbers would exhaust the memory.
    run = cli("checkpoint", option, "1-99999999999", "--json")
    assert run.code == 1, run.out
    data = run.json()
    assert data["kind"] == "invalid_input" and "99999999999 is out of range" in data["error"]
    assert checkpoint_files(repo, docs_task) == []


def test_bad_spec_does_not_save_the_result_either(docs_task, cli, repo, tmp_path):
    (tmp_path / "r.md").write_text("partial")
    run = cli("checkpoint", "--done", "99", "--result", f"r.md=@{tmp_path / 'r.md'}")
    assert run.code == 1
    assert checkpoint_files(repo, docs_task) == []
    assert not (repo / ".tether" / "tasks" / docs_task / "intermediate" / "r.md").exists()


def test_progress_accumulates_and_undone_removes(docs_task, cli, ws):
    cli("checkpoint", "--done", "1-5")
    cli("checkpoint", "--done", "6-8")
    cli("checkpoint", "--done", "10", "--undone", "2")
    latest = ws.latest_checkpoint(docs_task)
    assert latest.id == "CKP-0003"
    assert latest.done == "1,3-8,10"
    assert ws.resume().next_number == 2


def test_key_data_accumulates_and_later_values_win(docs_task, cli, ws):
    cli("checkpoint", "--data", "model=phi-3", "--data", "out=a.md")
    cli("checkpoint", "--data", "out=b.md")
    assert ws.latest_checkpoint(docs_task).key_data == {"model": "phi-3", "out": "b.md"}


def test_bad_key_data_is_a_user_error(docs_task, cli, repo):
    run = cli("checkpoint", "--data", "no-equals-sign")
    assert run.code == 1 and "KEY=VALUE" in run.err
    assert checkpoint_files(repo, docs_task) == []


def test_checkpoint_stores_every_field(docs_task, cli, repo, tmp_path):
    source = tmp_path / "summaries.md"
    source.write_bytes(b"# Summaries 1-5\n\xe2\x9c\x93 done\n")
    run = cli("checkpoint", "--done", "1-5", "--state", "Doc 6 half summarised",
              "--data", "output=out/summaries.md", "--file", "out/summaries.md: five summaries",
              "--next", "Finish doc06.pdf", "--next", "Then doc07.pdf", "--note", "doc07 needs OCR",
              "--status", "blocked", "--result", f"summaries-1-5.md=@{source}", "--json")
    assert run.code == 0, run.err
    path = repo / run.json()["path"]
    meta = front_matter(path)
    assert meta["id"] == "CKP-0001" and meta["task"] == docs_task and meta["number"] == 1
    assert meta["done"] == "1-5" and meta["status"] == "blocked"
    assert meta["current_state"] == "Doc 6 half summarised"
    assert meta["key_data"] == {"output": "out/summaries.md"}
    assert meta["files"] == ["out/summaries.md: five summaries"]
    assert meta["next"] == ["Finish doc06.pdf", "Then doc07.pdf"]
    assert meta["note"] == "doc07 needs OCR"
    cached = f".tether/tasks/{docs_task}/intermediate/summaries-1-5.md"
    assert meta["results"] == [cached]
    assert (repo / cached).read_bytes() == source.read_bytes()
    assert cached in run.json()["checkpoint"]["results"]


def test_result_from_inline_text_and_stdin(docs_task, cli, repo):
    cli("checkpoint", "--result", "inline.txt=hello")
    cli("checkpoint", "--result", "piped.txt=-", input="from stdin\n")
    cache = repo / ".tether" / "tasks" / docs_task / "intermediate"
    assert (cache / "inline.txt").read_text() == "hello"
    assert (cache / "piped.txt").read_text() == "from stdin\n"
    # each later checkpoint lists every result saved so far: resume names them all
    cli("checkpoint", "--done", "1", "--state", "no new result")
    listed = cli("resume", "--json").json()["resume"]["results"]
    assert [r.rsplit("/", 1)[-1] for r in listed] == ["inline.txt", "piped.txt"]
    assert "Results saved: " in cli("resume").out and "inline.txt" in cli("resume").out


def test_result_from_missing_file_is_a_user_error(docs_task, cli, repo, tmp_path):
    run = cli("checkpoint", "--result", f"x.md=@{tmp_path / 'nope.md'}")
    assert run.code == 1 and "cannot read" in run.err
    assert checkpoint_files(repo, docs_task) == []


def test_invalid_checkpoint_status_is_a_usage_error(docs_task, cli):
    assert cli("checkpoint", "--status", "finished").code == 2


def test_checkpoint_file_reads_like_the_seed_format(docs_task, cli, repo):
    run = cli("checkpoint", "--done", "1-12", "--state", "Doc 13 partially processed",
              "--data", "last_output=out/doc13.md", "--file", "out/doc12.md: summary",
              "--next", "Complete doc13.pdf", "--json")
    text = (repo / run.json()["path"]).read_text(encoding="utf-8")
    body = text.split("\n---\n", 1)[1]
    headings = [line for line in body.splitlines() if line.startswith("#")]
    assert headings[0] == "# Checkpoint: Process 20 documents"
    expected = ["## Task Definition", "## Progress", "## Current State", "## Key Data", "## Files Modified",
                "## Next Actions", "## Resume Command"]
    assert [h for h in headings if h in expected] == expected      # all present, in the seed's order
    assert "**Progress:** 12 of 20 complete" in body
    assert "- [x] Item 12: doc12.pdf" in body
    assert "- [ ] Item 13: doc13.pdf - PENDING" in body
    assert "Doc 13 partially processed" in body
    assert "- last_output: out/doc13.md" in body
    assert "- out/doc12.md: summary" in body
    assert "1. Complete doc13.pdf" in body
    assert f"`tether resume {docs_task}`" in body


def test_checkpoint_needs_an_open_task(ws, cli):
    run = cli("checkpoint", "--done", "1")
    assert run.code == 1 and "no open task" in run.err and "Hint:" in run.err


def test_checkpoint_of_a_completed_task_is_refused(docs_task, cli, repo):
    cli("task", "complete", docs_task)
    run = cli("checkpoint", "--task", docs_task, "--done", "1")
    assert run.code == 1 and "reopen" in run.err
    assert checkpoint_files(repo, docs_task) == []


def test_checkpoint_output_says_where_to_continue(docs_task, cli):
    run = cli("checkpoint", "--done", "1-5", "--state", "five done")
    assert run.code == 0
    assert "Saved CKP-0001 of T004" in run.out
    assert "from item 6 of 20" in run.out


# -- resume --------------------------------------------------------------------

def test_resume_from_item_13_after_three_checkpoints(docs_task, cli):
    cli("checkpoint", "--done", "1-5", "--state", "Docs 1-5 summarised")
    cli("checkpoint", "--done", "6-10", "--state", "Docs 1-10 summarised")
    cli("checkpoint", "--done", "11-12", "--state", "Doc 13 partially processed",
        "--next", "Complete doc13.pdf, then 14-20")
    run = cli("resume")
    assert run.code == 0
    first = run.out.splitlines()[0]
    assert first.startswith("Resuming Process 20 documents (T004) from item 13 of 20")
    assert "CKP-0003" in first and "Doc 13 partially processed" in first
    assert "Next: Complete doc13.pdf, then 14-20" in first
    data = cli("resume", "--json").json()["resume"]
    assert (data["next_number"], data["total"], data["done"], data["done_ranges"]) == (13, 20, 12, "1-12")
    assert data["next_unit"] == "doc13.pdf" and data["checkpoint"] == "CKP-0003"


def test_a_checkpoint_with_only_a_note_keeps_the_state_and_next_actions(docs_task, cli, repo):
    (repo / "notes.md").write_text("doc 13: pages 1-40 read\n", encoding="utf-8")
    assert cli("checkpoint", "--done", "1-12", "--state", "Doc 13 half read", "--next", "Finish doc13.pdf",
        "--anchor", "notes.md", "--file", "notes.md: pages 1-40").code == 0
    run = cli("checkpoint", "--note", "doc 13 is a scan: OCR needed", "--json")
    assert run.code == 0, run.err
    saved = run.json()["checkpoint"]
    assert (saved["current_state"], saved["next"], saved["state_from"]) == \
        ("Doc 13 half read", ["Finish doc13.pdf"], checkpoint_files(repo, "T004")[0].stem)
    assert "notes.md" in saved["anchors"]  # the state it keeps cites what it cited
    assert saved["files"] == ["notes.md: pages 1-40"]  # and the files it named
    first = cli("resume").out.splitlines()
    assert "last checkpoint CKP-0002: doc 13 is a scan: OCR needed; state as at CKP-0001: Doc 13 half read" \
        in first[0] and first[0].endswith("Next: Finish doc13.pdf")
    assert "State at CKP-0001 (not restated since): Doc 13 half read" in first
    assert "(as written at CKP-0001: this checkpoint gave no new state)" in \
        checkpoint_files(repo, "T004")[1].read_text(encoding="utf-8")
    assert cli("resume", "--json").json()["resume"]["state_from"] == "CKP-0001"
    # a third one carries it from the same, first, checkpoint
    cli("checkpoint", "--file", "ocr.py: added")
    assert "state as at CKP-0001: Doc 13 half read" in cli("resume").out
    # progress marked without a state says so: the old state no longer holds
    run = cli("checkpoint", "--done", "13", "--json")
    assert (run.json()["checkpoint"]["current_state"], run.json()["checkpoint"]["next"]) == ("", [])
    assert "last checkpoint CKP-0004 (no state given)" in cli("resume").out


def test_resume_without_checkpoint_starts_at_item_1(docs_task, cli):
    first = cli("resume").out.splitlines()[0]
    assert first.startswith("Starting Process 20 documents (T004) from item 1 of 20")
    assert "Next: item 1: doc01.pdf" in first


@pytest.mark.parametrize("args", [
    ["--state", "reading doc01"],                # a checkpoint without units done
    ["--done", "20"],                            # only the last item
    ["--done", "1-3", "--undone", "1-3"],         # progress taken back: still a checkpoint
])
def test_resume_never_starts_over_once_anything_is_recorded(docs_task, cli, ws, args):
    assert cli("checkpoint", *args).code == 0
    for message in (cli("resume").out.splitlines()[0], ws.resume().message(),
                    cli("resume", "--json").json()["resume"]["message"]):
        assert not message.startswith("Starting"), message
        assert message.startswith("Resuming")


def test_resume_free_form_task(ws, cli):
    cli("task", "start", "Investigate flaky test", "--id", "F1")
    assert cli("resume").out.startswith("Starting Investigate flaky test (F1)")
    cli("checkpoint", "--state", "narrowed it to the cache", "--next", "bisect the cache layer")
    first = cli("resume").out.splitlines()[0]
    assert first.startswith("Resuming Investigate flaky test (F1)")
    assert "Next: bisect the cache layer" in first


def test_resume_with_several_open_tasks_names_the_active_one(ws, cli):
    cli("task", "start", "Alpha", "--id", "A1", "-s", "one")
    cli("task", "start", "Beta", "--id", "B1", "-s", "one")
    cli("task", "start", "Gamma", "--id", "C1", "-s", "one")   # started last: active
    run = cli("resume")
    assert run.out.startswith("Starting Gamma (C1)")
    assert "Active task: C1. Other open tasks (2):" in run.out
    assert "A1: Alpha (`tether resume A1`)" in run.out and "B1: Beta (`tether resume B1`)" in run.out
    data = cli("resume", "--json").json()
    assert data["active"] == "C1" and sorted(o["id"] for o in data["others"]) == ["A1", "B1"]


def test_resume_id_switches_the_active_task(ws, cli):
    cli("task", "start", "Alpha", "--id", "A1", "-s", "one")
    cli("task", "start", "Beta", "--id", "B1", "-s", "one")
    assert cli("resume", "A1").out.startswith("Starting Alpha (A1)")
    assert cli("resume").out.startswith("Starting Alpha (A1)")
    assert cli("checkpoint", "--done", "1", "--json").json()["checkpoint"]["task"] == "A1"
    assert Workspace.open().active_task_id() == "A1"


def test_resume_when_everything_is_done(docs_task, cli):
    cli("checkpoint", "--done", "all", "--state", "all summarised", "--status", "completed")
    first = cli("resume").out.splitlines()[0]
    assert first.startswith("All 20 items of Process 20 documents (T004) are done")
    assert "mark T004 complete" in first


@pytest.mark.parametrize("argv", [["task", "complete", ""], ["task", "clear", " "], ["task", "status", ""],
                                  ["task", "switch", ""], ["resume", ""], ["checkpoint", "--task", "", "--done", "1"]],
                         ids=" ".join)
def test_an_empty_task_id_is_an_error_not_the_active_task(docs_task, cli, repo, argv):
    # `tether task complete "$TASK"` with TASK unset must not complete whatever task is active.
    run = cli(*argv)
    assert run.code == 1 and run.err.startswith("Error: the task id is empty") and "Hint:" in run.err
    data = cli(*argv, "--json").json()
    assert data["ok"] is False and data["kind"] == "invalid_input" and data["exit_code"] == 1
    assert cli("task", "list", "--json").json()["tasks"][0]["status"] == "open"
    assert checkpoint_files(repo, docs_task) == []


def test_resume_unknown_task(ws, cli):
    run = cli("resume", "NOPE")
    assert run.code == 1 and "no task NOPE" in run.err and "Hint:" in run.err


def test_resume_of_a_closed_task_refuses_and_keeps_the_active_one(ws, cli):
    # Like `task switch`: a closed task is not made active, nor offered as work to start.
    cli("task", "start", "Alpha", "--id", "A1", "-s", "one")
    cli("task", "start", "Beta", "--id", "B1", "-s", "one")
    cli("task", "clear", "B1")
    cli("task", "switch", "A1")
    run = cli("resume", "B1")
    assert run.code == 1 and run.out == ""
    assert run.err.splitlines() == ["Error: task B1 is archived", "Hint: reopen it with `tether task reopen B1`"]
    assert cli("resume", "B1", "--json").json()["kind"] == "conflict"
    assert Workspace.open().active_task_id() == "A1"


def test_resume_with_no_task_at_all(ws, cli):
    run = cli("resume")
    assert run.code == 1 and "no open task" in run.err


def test_the_active_task_of_another_branch_is_named_not_lost(ws, cli, git, repo):
    # Started and committed on a branch; a checkout of main has no such task, but this machine still
    # has it chosen: saying only "no open task" would send the agent to start the work again.
    git("add", "-A")
    git("commit", "-q", "-m", "tether")
    git("checkout", "-q", "-b", "feature")
    cli("task", "start", "Parser", "--id", "P1", "-s", "read", "-s", "fix")
    assert cli("close", "--summary", "started", "--commit").code == 0
    git("checkout", "-q", "main")
    run = cli("checkpoint", "--done", "1", "--json")
    assert run.code == 1 and run.json()["kind"] == "not_found"
    assert run.json()["error"] == ("there is no open task: the active one, P1, is not in this checkout"
                                   " (.tether/tasks/P1/ is missing: another branch has it, or it was deleted)")
    assert "switch back to the branch that has it" in run.json()["hint"]
    assert "P1" in cli("resume").err
    git("checkout", "-q", "feature")
    assert cli("checkpoint", "--done", "1").code == 0


def test_the_hint_for_an_active_task_deleted_and_committed_restores_it(ws, cli, git, repo):
    """The hint's command is run as given: `git checkout HEAD -- FOLDER` fails once the deletion
    is committed (HEAD has no such folder), so it names the commit before the deletion."""
    cli("task", "start", "Parser", "--id", "P1", "-s", "read", "-s", "fix")
    git("add", "-A")
    git("commit", "-q", "-m", "tether")
    git("rm", "-rq", ".tether/tasks/P1", ".tether/open/P1")
    git("commit", "-q", "-m", "tidy")
    run = cli("checkpoint", "--done", "1", "--json")
    assert run.code == 1 and "P1, is not in this checkout" in run.json()["error"]
    [command] = re.findall(r"`(git checkout \$\(.*?\)~1 -- \S+)`", run.json()["hint"])
    subprocess.run(command, shell=True, cwd=repo, check=True, capture_output=True)
    assert cli("index", "--repair").code == 0  # its open marker, as the next error says
    assert cli("checkpoint", "--done", "1").code == 0


def test_an_active_task_open_in_its_file_without_its_marker_says_how_to_restore_it(ws, cli, repo):
    cli("task", "start", "Parser", "--id", "P1", "-s", "read")
    (repo / ".tether" / "open" / "P1").unlink()
    run = cli("checkpoint", "--done", "1")
    assert run.code == 1
    assert run.err.splitlines() == [
        "Error: there is no open task: the active one, P1, is open in its task file but its open marker"
        " (.tether/open/P1) is missing", "Hint: run `tether index --repair` to restore the marker"]
    assert cli("index", "--repair").code == 0
    assert cli("checkpoint", "--done", "1").code == 0


# -- task status, list, clear, complete, reopen, switch -------------------------

def test_status_shows_progress_and_checkpoints(docs_task, cli):
    cli("checkpoint", "--done", "1-4")
    cli("checkpoint", "--done", "5")
    run = cli("task", "status")
    assert run.code == 0
    assert run.out.startswith("T004: Process 20 documents [open]")
    assert "progress: 5 of 20 items done" in run.out
    assert "checkpoints: 2 (latest CKP-0002-" in run.out
    data = cli("task", "status", "T004", "--json").json()
    assert len(data["checkpoints"]) == 2 and data["resume"]["next_number"] == 6


def test_status_prints_one_checkpoint(docs_task, cli):
    cli("checkpoint", "--done", "1", "--state", "first")
    cli("checkpoint", "--done", "2", "--state", "second")
    for ref in ("1", "CKP-0001"):
        run = cli("task", "status", "--checkpoint", ref)
        assert run.code == 0 and "## Current State\nfirst" in run.out
    run = cli("task", "status", "--checkpoint", "9")
    assert run.code == 1 and "no checkpoint CKP-0009" in run.err


def test_list_marks_the_active_task(ws, cli):
    cli("task", "start", "Alpha", "--id", "A1", "-i", "x", "-i", "y")
    cli("task", "start", "Beta", "--id", "B1")
    cli("task", "switch", "A1")
    cli("checkpoint", "--done", "1")
    lines = cli("task", "list").out.splitlines()
    assert any(line.startswith("* A1") and "1/2 items" in line for line in lines)
    assert any(line.startswith("  B1") for line in lines)
    data = cli("task", "list", "--json").json()
    assert data["active"] == "A1" and {t["id"] for t in data["tasks"]} == {"A1", "B1"}


def test_clear_archives_and_reopen_restores(docs_task, cli, repo):
    cli("checkpoint", "--done", "1-3")
    task_md = repo / ".tether" / "tasks" / docs_task / "task.md"
    run = cli("task", "clear", docs_task)
    assert run.code == 0 and "Archived task T004" in run.out
    assert task_md.is_file() and front_matter(task_md)["status"] == "archived"
    assert front_matter(task_md)["closed"]
    assert not (repo / ".tether" / "open" / docs_task).exists()
    assert len(checkpoint_files(repo, docs_task)) == 1           # archived, never deleted
    assert "T004" not in cli("task", "list").out
    assert any("T004" in line and "archived" in line for line in cli("task", "list", "--all").out.splitlines())
    assert cli("task", "clear", docs_task).code == 1              # already archived

    assert cli("task", "reopen", docs_task).code == 0
    assert (repo / ".tether" / "open" / docs_task).is_file()
    assert front_matter(task_md)["status"] == "open" and front_matter(task_md)["closed"] is None
    assert cli("resume", docs_task).out.startswith("Resuming Process 20 documents (T004) from item 4 of 20")


def test_reopen_without_an_id_reopens_the_task_closed_last(ws, cli, monkeypatch):
    cli("task", "start", "Alpha", "--id", "A1")
    cli("task", "start", "Beta", "--id", "B1")
    monkeypatch.setenv("TETHER_NOW", "2026-11-21T10:00:00Z")
    assert cli("task", "complete", "B1").code == 0
    monkeypatch.setenv("TETHER_NOW", "2026-11-21T11:00:00Z")
    assert cli("task", "clear", "A1").code == 0  # closed after B1, though created before it
    run = cli("task", "reopen")
    assert (run.code, run.out.strip()) == (0, "Reopened task A1: Alpha (the task closed last)")
    data = cli("task", "reopen", "--json").json()
    assert (data["task"]["id"], data["task"]["status"]) == ("B1", "open")
    assert {t["id"] for t in cli("task", "list", "--json").json()["tasks"]} == {"A1", "B1"}
    run = cli("task", "reopen")  # none is closed: said, nothing changes
    assert run.code == 1 and run.err.splitlines() == [
        "Error: there is no completed or archived task to reopen",
        "Hint: `tether task list --all` lists every task with its status"]
    assert cli("task", "reopen", "--json").json()["kind"] == "not_found"


def test_reopen_without_an_id_finds_a_task_marked_complete_by_hand(ws, cli, repo, monkeypatch):
    """A task.md whose status was edited to complete by hand has no `closed` time: it is still a
    closed task, taken as closed when its file was last written (here: never committed)."""
    import calendar
    import os

    def hand_complete(task_id: str, at: str) -> None:
        path = repo / ".tether" / "tasks" / task_id / "task.md"
        path.write_text(path.read_text(encoding="utf-8").replace('status: "open"', 'status: "complete"'),
                        encoding="utf-8")
        seconds = calendar.timegm(time.strptime(at, "%Y-%m-%dT%H:%M:%SZ"))
        os.utime(path, (seconds, seconds))

    for task_id in ("A1", "B1", "C1"):
        cli("task", "start", f"Task {task_id}", "--id", task_id)
    monkeypatch.setenv("TETHER_NOW", "2020-01-01T10:00:00Z")
    assert cli("task", "complete", "A1").code == 0
    hand_complete("B1", "2020-01-01T11:00:00Z")  # after A1's completion
    hand_complete("C1", "2020-01-01T09:00:00Z")  # before it
    assert cli("task", "list", "--all", "--json").json()["tasks"][1]["closed"] is None
    run = cli("resume", "C1")  # its status says it is closed, as the file does
    assert run.code == 1 and "task C1 is complete" in run.err, run.err
    for task_id in ("B1", "C1"):  # as `tether index --repair` leaves a closed task: no open marker
        (repo / ".tether" / "open" / task_id).unlink()
    run = cli("resume")  # no open task: the one closed last is named
    assert run.code == 1 and "(B1, 'Task B1', was marked complete by hand in its task file)" in run.err, run.err
    said = [cli("task", "reopen", "--json").json()["task"]["id"] for _ in range(3)]
    assert said == ["B1", "A1", "C1"]
    assert all(cli("task", "status", t, "--json").json()["task"]["status"] == "open" for t in said)


def _hand_close(repo: Path, task_id: str) -> None:
    """Mark a task complete by editing its task.md, as a person would (no `closed` time), and take
    its open marker away as `tether index --repair` does."""
    path = repo / ".tether" / "tasks" / task_id / "task.md"
    path.write_text(path.read_text(encoding="utf-8").replace('status: "open"', 'status: "complete"'), encoding="utf-8")
    (repo / ".tether" / "open" / task_id).unlink()


def _set_mtime(path: Path, at: str) -> None:
    import calendar
    import os

    seconds = calendar.timegm(time.strptime(at, "%Y-%m-%dT%H:%M:%SZ"))
    os.utime(path, (seconds, seconds))


def _cloned_with_three_closes(ws, cli, git, repo, tmp_path, monkeypatch) -> Path:
    """A1 marked complete by hand and committed at 09:00, C1 completed by tether at 09:30, B1 marked
    complete by hand and committed at 10:00; then cloned, the clone's task files given the reverse
    times (A1's newest, B1's oldest), as a clone, a checkout or a copy leaves them in any order."""
    for task_id in ("A1", "B1", "C1"):
        cli("task", "start", f"Task {task_id}", "--id", task_id)
    monkeypatch.setenv("GIT_COMMITTER_DATE", "2026-11-21T08:00:00Z")
    git("add", ".tether")
    git("commit", "-q", "-m", "three tasks")
    _hand_close(repo, "A1")
    monkeypatch.setenv("GIT_COMMITTER_DATE", "2026-11-21T09:00:00Z")
    git("commit", "-q", "-a", "-m", "A1 done")
    monkeypatch.setenv("TETHER_NOW", "2026-11-21T09:30:00Z")
    assert cli("task", "complete", "C1").code == 0
    monkeypatch.setenv("GIT_COMMITTER_DATE", "2026-11-21T09:30:00Z")
    git("add", ".tether")
    git("commit", "-q", "-m", "C1 done")
    _hand_close(repo, "B1")
    monkeypatch.setenv("GIT_COMMITTER_DATE", "2026-11-21T10:00:00Z")
    git("commit", "-q", "-a", "-m", "B1 done")
    monkeypatch.delenv("TETHER_NOW")
    clone = tmp_path / "clone"
    git("clone", "-q", str(repo), str(clone))
    for task_id, at in (("A1", "2026-11-21T12:00:00Z"), ("B1", "2026-11-21T08:30:00Z")):
        _set_mtime(clone / ".tether" / "tasks" / task_id / "task.md", at)
    monkeypatch.chdir(clone)
    return clone


def test_the_task_closed_last_is_the_same_on_a_clone(ws, cli, git, repo, tmp_path, monkeypatch):
    """Closed by hand and committed, a task was closed when the commit that holds it was made: a
    clone orders it so whatever times its files were given, among the tasks tether closed itself."""
    _cloned_with_three_closes(ws, cli, git, repo, tmp_path, monkeypatch)
    run = cli("resume")  # no open task: the one closed last is named
    assert run.code == 1 and "(B1, 'Task B1', was marked complete by hand in its task file)" in run.err, run.err
    assert "`tether task reopen B1` if it is not finished" in run.err
    run = cli("task", "reopen")
    assert (run.code, run.out.strip()) == (0, "Reopened task B1: Task B1 (the task closed last)")
    said = [cli("task", "reopen", "--json").json()["task"]["id"] for _ in range(2)]
    assert said == ["C1", "A1"]  # C1 closed at 09:30, after A1's commit at 09:00


def test_a_task_closed_by_hand_and_not_committed_is_taken_by_its_file_time(ws, cli, git, repo, tmp_path,
                                                                             monkeypatch):
    """On the clone, a task marked complete by hand and not committed yet was written here: its file's
    time is when it was closed, newer or older than the committed closes."""
    clone = _cloned_with_three_closes(ws, cli, git, repo, tmp_path, monkeypatch)
    for task_id, at in (("D1", "2026-11-21T09:45:00Z"), ("E1", "2026-11-21T09:15:00Z")):
        cli("task", "start", f"Task {task_id}", "--id", task_id)
        _hand_close(clone, task_id)
        _set_mtime(clone / ".tether" / "tasks" / task_id / "task.md", at)
    git("add", ".tether/tasks/E1", cwd=clone)  # staged, not committed: still this machine's write
    said = [cli("task", "reopen", "--json").json()["task"]["id"] for _ in range(5)]
    assert said == ["B1", "D1", "C1", "E1", "A1"]


def test_the_task_closed_last_asks_git_the_same_few_times_however_many_were_closed_by_hand(
        ws, cli, git, repo, spy, fast_writes):
    """Tasks closed by hand and committed are ordered by one walk of history for them all, after
    one look at which are as committed: not a git process per task. Closed by tether, none at all."""
    import tether.gitio.runner as runner

    queries, walks = spy(runner, "query"), spy(runner, "lines")

    def processes_of_a_reopen() -> tuple[int, int]:
        before = len(queries), len(walks)
        assert cli("task", "reopen").code == 0
        return len(queries) - before[0], len(walks) - before[1]

    for n in range(3):
        cli("task", "start", f"Task {n}", "--id", f"T{n}")
        assert cli("task", "complete", f"T{n}").code == 0
    assert processes_of_a_reopen() == (0, 0)
    counts = []
    for many in (2, 12):
        for n in range(many):
            cli("task", "start", f"Task {many}-{n}", "--id", f"H{many}x{n}")
            _hand_close(repo, f"H{many}x{n}")
        git("add", "-A", ".tether")
        git("commit", "-q", "-m", f"{many} closed by hand")
        counts.append(processes_of_a_reopen())
    assert counts[0] == counts[1] and counts[0][1] == 1, counts


def test_reopen_without_an_id_names_a_task_file_it_cannot_read(ws, cli, repo, monkeypatch):
    """A damaged task file may be the task closed last: reopen names it rather than reopen another
    or say none is closed; with an id, the others still reopen. An empty id is never taken for none."""
    cli("task", "start", "Alpha", "--id", "A1")
    cli("task", "start", "Beta", "--id", "B1")
    monkeypatch.setenv("TETHER_NOW", "2026-11-21T10:00:00Z")
    cli("task", "complete", "A1")
    monkeypatch.setenv("TETHER_NOW", "2026-11-21T11:00:00Z")
    cli("task", "complete", "B1")
    task_file = repo / ".tether" / "tasks" / "B1" / "task.md"
    task_file.write_text(task_file.read_text(encoding="utf-8").replace('title: "Beta"', 'title: "Beta'),
                         encoding="utf-8")
    run = cli("task", "reopen")
    assert run.code == 1 and run.err.startswith("Error: .tether/tasks/B1/task.md:"), run.err
    assert "`tether task reopen ID`" in run.err
    assert cli("task", "reopen", "--json").json()["kind"] == "corrupt"
    assert ws.task("A1").status == "complete"  # nothing changed
    assert cli("task", "reopen", "A1").code == 0
    run = cli("task", "reopen", "")
    assert run.code == 1 and "the task closed last" in run.err and "for the active task" not in run.err, run.err


def test_complete_defaults_to_the_active_task(docs_task, cli, repo):
    run = cli("task", "complete")
    assert run.code == 0 and "Completed task T004" in run.out
    assert front_matter(repo / ".tether" / "tasks" / docs_task / "task.md")["status"] == "complete"
    assert not (repo / ".tether" / "open" / docs_task).exists()
    assert cli("task", "list").out.strip() == "No open tasks."


def test_switch(ws, cli):
    cli("task", "start", "Alpha", "--id", "A1")
    cli("task", "start", "Beta", "--id", "B1")
    run = cli("task", "switch", "A1")
    assert run.code == 0 and "Active task is now A1" in run.out
    assert Workspace.open().active_task_id() == "A1"
    cli("task", "complete", "B1")
    run = cli("task", "switch", "B1")
    assert run.code == 1 and "reopen" in run.err
    assert cli("task", "switch", "B1", "--json").json()["kind"] == "conflict"  # as a checkpoint of it says
    assert cli("task", "switch", "ZZ").code == 1


# -- decisions ---------------------------------------------------------------------

def test_decide_stores_every_field(ws, cli, repo):
    cli("task", "start", "Models", "--id", "T9")
    run = cli("decide", "Which model?", "--decision", "Phi-3", "--rationale", "fits on the laptop",
              "--who", "@frans", "--when", "2026-03-04T05:06:07Z", "--task", "T9", "--json")
    assert run.code == 0, run.err
    record = run.json()["decision"]
    meta = front_matter(repo / ".tether" / "decisions" / f"{record['id']}.md")
    session = meta.pop("session")
    assert meta == {"id": record["id"], "question": "Which model?", "decision": "Phi-3",
                    "rationale": "fits on the laptop", "who": "@frans", "when": "2026-03-04T05:06:07Z", "task": "T9"}
    assert session == record["session"] and session.startswith("cmd-")  # a terminal's one-off command


def test_decide_needs_question_and_decision(ws, cli):
    assert cli("decide", "Which model?").code == 2  # an option missing: usage
    assert cli("decide", "--decision", "Phi-3").code == 2
    assert cli("decide", "Q?", "--decision", "A", "--when", "yesterday").code == 1
    assert ws.decisions() == []


def test_decide_list_is_oldest_first_and_limit_keeps_the_newest(ws, cli, monkeypatch):
    for day, question in (("2026-01-03", "third?"), ("2026-01-01", "first?"), ("2026-01-02", "second?")):
        monkeypatch.setenv("TETHER_NOW", f"{day}T10:00:00Z")
        assert cli("decide", question, "--decision", "yes").code == 0
    lines = cli("decide", "--list").out.splitlines()
    assert [line.split()[2] for line in lines] == ["first?", "second?", "third?"]
    data = cli("decide", "--list", "--limit", "2", "--json").json()
    assert [d["question"] for d in data["decisions"]] == ["second?", "third?"]


def test_decide_limit_keeps_the_newest_within_one_day(ws, cli, monkeypatch):
    # Generated ids carry only the day: the newest must still win inside one day.
    for minute in range(8):
        monkeypatch.setenv("TETHER_NOW", f"2026-01-01T10:{minute:02d}:00Z")
        cli("decide", f"q{minute}?", "--decision", "yes")
    data = cli("decide", "--list", "--limit", "3", "--json").json()
    assert [d["question"] for d in data["decisions"]] == ["q5?", "q6?", "q7?"]


def test_decide_with_own_id_twice_is_a_conflict(ws, cli):
    assert cli("decide", "Q?", "--decision", "A", "--id", "D1").code == 0
    run = cli("decide", "Q?", "--decision", "B", "--id", "D1")
    assert run.code == 1 and "already exists" in run.err
    assert [d.decision for d in ws.decisions()] == ["A"]


# -- context entries ----------------------------------------------------------------

def test_note_kinds_list_and_resolve(ws, cli, monkeypatch):
    texts = {"phase": "Phase 2: summarising", "gotcha": "doc07 is a scan", "dont": "do not re-run OCR",
             "blocker": "waiting for the API key", "note": "the client prefers PDF"}
    ids = {}
    for minute, (kind, text) in enumerate(texts.items()):
        monkeypatch.setenv("TETHER_NOW", f"2026-01-01T10:{minute:02d}:00Z")
        run = cli("note", kind, *text.split(), "--json")
        assert run.code == 0, run.err
        entry = run.json()["note"]
        assert (entry["kind"], entry["text"]) == (kind, text)
        ids[kind] = entry["id"]
    listed = cli("note", "list", "--json").json()["notes"]
    assert [(n["kind"], n["text"]) for n in listed] == list(texts.items())

    assert cli("note", "resolve", ids["blocker"]).code == 0
    assert "waiting for the API key" not in cli("note", "list").out
    assert ids["blocker"] not in [n["id"] for n in cli("note", "list", "--json").json()["notes"]]
    every = {n["id"]: n for n in cli("note", "list", "--all", "--json").json()["notes"]}
    assert every[ids["blocker"]]["resolved"] and every[ids["gotcha"]]["resolved"] is None
    assert "resolved" in cli("note", "list", "--all").out

    run = cli("note", "resolve", ids["blocker"])
    assert run.code == 1 and "already resolved" in run.err
    run = cli("note", "resolve", "N-000000-zzzzzz")
    assert run.code == 1 and "no context entry" in run.err


def test_note_entries_are_stored_in_context_jsonl(ws, cli, repo):
    cli("note", "gotcha", "mind", "the", "gap")
    rows = [json.loads(line) for line in (repo / ".tether" / "context.jsonl").read_text().splitlines()]
    assert len(rows) == 1 and rows[0]["kind"] == "gotcha" and rows[0]["text"] == "mind the gap"


def test_a_generated_note_id_that_is_taken_is_drawn_again(ws, cli, repo, monkeypatch):
    from tether.model import ids

    monkeypatch.setenv("TETHER_NOW", "2026-01-01T10:00:00Z")
    monkeypatch.setenv("TETHER_SESSION_ID", "S-ids")  # the context document it regenerates names the session
    suffixes = iter(["aaaa", "aaaa", "aaaa", "bbbb"])      # the second entry draws the first one's id twice
    monkeypatch.setattr(ids, "random_suffix", lambda length=6: next(suffixes))
    first = cli("note", "gotcha", "first", "--json").json()["note"]["id"]
    second = cli("note", "gotcha", "second", "--json").json()["note"]["id"]
    assert first.endswith("aaaa") and second.endswith("bbbb") and first[:-4] == second[:-4]
    rows = [json.loads(line) for line in (repo / ".tether" / "context.jsonl").read_text().splitlines()]
    assert [(r["id"], r["text"]) for r in rows] == [(first, "first"), (second, "second")]
    assert cli("note", "resolve", first).code == 0             # resolves exactly one entry
    assert [n["text"] for n in cli("note", "list", "--json").json()["notes"]] == ["second"]


NOTE_WRITER = r"""
import itertools, os, sys, time
from tether.model import ids
from tether import Workspace

root, index, count, go = sys.argv[1:]
draws = itertools.count()  # every writer draws the same "random" suffixes, in the same order
ids.random_suffix = lambda length=6: "%04d" % next(draws)
ws = Workspace.open(root)
open(f"{go}.ready.{index}", "w").close()
while not os.path.exists(go):
    time.sleep(0.002)
for j in range(int(count)):
    print(ws.note("note", f"writer {index} entry {j}").id, flush=True)
"""


def test_concurrent_writers_never_share_a_note_id(ws, repo, tmp_path, monkeypatch):
    import subprocess
    import sys
    import time

    monkeypatch.setenv("TETHER_NOW", "2026-01-01T10:00:00Z")   # one time of day: ids differ only by suffix
    writers, count, go = 4, 15, tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, "-c", NOTE_WRITER, str(repo), str(i), str(count), str(go)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(writers)]
    try:
        while not all((tmp_path / f"go.ready.{i}").exists() for i in range(writers)):
            assert all(p.poll() is None for p in procs), [p.stderr.read() for p in procs]
            time.sleep(0.01)
        go.touch()
        acked = []
        for proc in procs:
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
            acked += out.split()
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    rows = [json.loads(line) for line in (repo / ".tether" / "context.jsonl").read_text().splitlines()]
    assert len(rows) == writers * count
    assert len({r["id"] for r in rows}) == writers * count == len(set(acked))
    assert sorted(r["id"] for r in rows) == sorted(acked)


def test_note_needs_text(ws, cli):
    assert cli("note", "gotcha", "   ").code == 1
    assert cli("note", "gotcha").code == 2


def test_status_of_a_closed_task_says_where_it_stopped_and_how_to_continue(ws, cli):
    cli("task", "start", "Docs", "--id", "D1", "-i", "a.pdf", "-i", "b.pdf", "-i", "c.pdf")
    cli("checkpoint", "--done", "1", "--state", "a done")
    cli("task", "complete", "D1")
    run = cli("task", "status", "D1")
    assert run.code == 0
    assert "Resuming" not in run.out and "Starting" not in run.out
    assert "Docs (D1) is complete with 1 of 3 items done (last checkpoint CKP-0001" in run.out
    assert "To continue it: `tether task reopen D1`." in run.out
    cli("task", "reopen", "D1")
    assert "Resuming Docs (D1) from item 2 of 3" in cli("task", "status", "D1").out


def test_a_long_lived_workspace_reads_a_checkpoint_once_and_sees_every_new_one(ws, tether_proc, spy):
    """What `tether mcp` relies on: one Workspace answering many calls lists and parses the newest
    checkpoint only when its folder or file changed, and sees what another process writes at once."""
    import os
    import time as _time

    ws.start_task("Docs", items=[f"d{i}" for i in range(1, 6)], task_id="T1")
    ws.checkpoint(done=["1"], state="one")
    folder = ws.root / ".tether" / "tasks" / "T1" / "checkpoints"
    old = _time.time() - 3600  # older than the racily-clean margin: their stats can be trusted
    for path in [*folder.iterdir(), folder]:
        os.utime(path, (old, old))
    assert ws.resume().checkpoint.current_state == "one"
    lists, reads = spy(ws.store.tree, "list"), spy(ws.store.tree, "read")
    assert ws.resume().checkpoint.current_state == "one"
    assert [a for a in lists if "checkpoints" in a[0]] == [] and [a for a in reads if "CKP-" in a[0]] == []

    made = tether_proc("checkpoint", "--done", "2", "--state", "two", cwd=ws.root)  # another process, just now
    assert made.code == 0, made.err
    point = ws.resume()
    assert point.checkpoint.current_state == "two" and point.next_number == 3

    newest = sorted(folder.iterdir())[-1]
    stat = newest.stat()
    newest.write_text(newest.read_text().replace("two", "2!!"))  # same size, by hand
    os.utime(newest, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # even with its mtime put back
    assert ws.resume().checkpoint.current_state == "2!!"


def test_a_checkpoint_without_a_state_is_not_shown_with_its_status_word_for_one(ws, cli):
    cli("task", "start", "Docs", "--id", "D1", "-i", "a", "-i", "b")
    cli("checkpoint", "--done", "1")
    line = cli("resume").out.splitlines()[0]
    assert "(1 done; last checkpoint CKP-0001 (no state given))" in line and "in_progress" not in line
    cli("checkpoint", "--status", "blocked")
    assert "last checkpoint CKP-0002: blocked" in cli("resume").out  # a status that says something


def test_absolute_paths_an_agent_passes_are_committed_from_the_root_and_home_as_tilde(docs_task, cli, repo, ws):
    # Claude Code's tools name files by absolute path: a clone elsewhere, or the home directory,
    # must not reach the committed records.
    home = str(Path.home())
    run = cli("checkpoint", "--file", f"{repo}/src/a.py: parser added", "--file", f"{home}/.bashrc: alias",
              "--state", f"edited {repo}/src/a.py and {home}/notes.md", "--next", f"run {repo}/tests",
              "--data", f"log={home}/run.log", "--json")
    saved = run.json()["checkpoint"]
    assert saved["files"] == ["src/a.py: parser added", "~/.bashrc: alias"]
    assert saved["current_state"] == "edited src/a.py and ~/notes.md"
    assert saved["next"] == ["run tests"] and saved["key_data"]["log"] == "~/run.log"
    run = cli("checkpoint", "--note", f"see file://{home}/report.html; ran in {repo}/", "--json")
    assert run.json()["checkpoint"]["note"] == "see file://~/report.html; ran in ."

    cli("decide", f"Where do logs go ({home}/logs)?", "--decision", f"{repo}/logs", "--rationale", "kept")
    cli("note", "gotcha", f"{repo}/src/a.py breaks on tabs")
    cli("close", "--summary", f"parser in {repo}/src/a.py", "--next", f"test {repo}/src/a.py")
    committed = "".join(p.read_text(encoding="utf-8") for p in (repo / ".tether").rglob("*")
                        if p.is_file() and "local" not in p.parts and "cache" not in p.parts)
    assert str(repo) not in committed and home not in committed
    assert "src/a.py breaks on tabs" in committed and "Where do logs go (~/logs)?" in committed


def test_a_checkpoint_with_nothing_to_record_is_refused(docs_task, cli, repo, ws):
    cli("checkpoint", "--done", "1", "--state", "doc 1 read")
    run = cli("checkpoint")
    assert run.code == 1 and run.err.startswith("Error: a checkpoint of T004 needs something to record")
    assert "Hint: e.g. tether checkpoint --done 2 --state" in run.err  # the command line names its options
    assert cli("checkpoint", "--next", "  ", "--json").code == 1  # blank is nothing too
    assert len(checkpoint_files(repo, "T004")) == 1  # no numbered copy passing for progress
    assert cli("checkpoint", "--status", "blocked").code == 0  # a status is something
    import pytest as _pytest

    from tether.errors import InvalidInput
    with _pytest.raises(InvalidInput):
        ws.checkpoint()  # the library refuses it too (MCP's checkpoint tool calls it)


def test_reopening_a_task_restores_the_entries_its_close_resolved(ws, cli, repo):
    cli("task", "start", "Port", "--id", "P1", "-s", "a")
    blocker = cli("note", "blocker", "waiting on the API key", "--task", "P1", "--json").json()["note"]["id"]
    gotcha = cli("note", "gotcha", "tabs break the lexer", "--task", "P1", "--json").json()["note"]["id"]
    project = cli("note", "gotcha", "CI is slow on Mondays", "--json").json()["note"]["id"]
    cli("note", "resolve", gotcha)  # by hand, before the close: stays resolved
    assert cli("task", "complete", "P1").code == 0
    assert {n["id"] for n in cli("note", "list", "--json").json()["notes"]} == {project}
    run = cli("task", "reopen", "P1", "--json")
    assert run.json()["entries"] == [blocker]
    assert cli("task", "complete", "P1").code == 0
    assert f"Current again, with the task: blocker {blocker}" in cli("task", "reopen", "P1").out  # twice round: the second close retired it again, the reopen restores it
    listed = {n["id"]: n for n in cli("note", "list", "--json").json()["notes"]}
    assert set(listed) == {project, blocker} and listed[blocker]["resolved"] is None
    assert "waiting on the API key" in cli("boot").out
    # one record in recall, current; resolving it again holds
    hits = cli("recall", "waiting on the API key", "--json").json()["hits"]
    assert [h["status"] for h in hits if h["id"] == blocker] == ["current"]
    cli("note", "resolve", blocker)
    assert blocker not in {n["id"] for n in cli("note", "list", "--json").json()["notes"]}
    assert cli("verify").code == 0


def test_a_codex_command_records_under_the_codex_thread_id(ws, cli, monkeypatch):
    # Codex gives every command of a session CODEX_THREAD_ID, its hooks' session_id: the agent's
    # own checkpoints then record under the session its hooks know.
    monkeypatch.delenv("TETHER_SESSION_ID", raising=False)
    monkeypatch.setenv("CODEX_THREAD_ID", "019a-codex-thread")
    cli("task", "start", "Docs", "--id", "CX1", "-s", "a")
    assert cli("checkpoint", "--state", "a begun", "--json").json()["checkpoint"]["session"] == "019a-codex-thread"
    monkeypatch.setenv("TETHER_SESSION_ID", "S-given")  # tether's own variable wins
    assert cli("checkpoint", "--state", "a half", "--json").json()["checkpoint"]["session"] == "S-given"


def test_reopen_restores_entries_after_close_completed_and_after_complete_then_clear(ws, cli):
    cli("task", "start", "R", "--id", "R1", "-s", "a")
    blocker = cli("note", "blocker", "need the key", "--task", "R1", "--json").json()["note"]["id"]
    assert cli("close", "--summary", "s", "--completed", "R1").code == 0
    assert cli("task", "reopen", "R1", "--json").json()["entries"] == [blocker]
    cli("task", "complete", "R1")
    cli("task", "clear", "R1")  # archived after completed: what the first close resolved is kept
    assert cli("task", "reopen", "R1", "--json").json()["entries"] == [blocker]


def test_a_checkpoint_after_one_without_state_keeps_the_next_actions_and_files(docs_task, cli):
    cli("checkpoint", "--next", "summarise doc02.pdf", "--file", "g.py: started")
    saved = cli("checkpoint", "--note", "only a note", "--json").json()["checkpoint"]
    assert (saved["next"], saved["files"]) == (["summarise doc02.pdf"], ["g.py: started"])
    assert cli("resume").out.splitlines()[0].endswith("Next: summarise doc02.pdf")


def test_a_repository_reached_through_a_link_is_written_from_its_root_too(docs_task, cli, repo, tmp_path, monkeypatch):
    link = tmp_path / "linked"
    link.symlink_to(repo)
    (repo / "src").mkdir()
    monkeypatch.chdir(link / "src")
    monkeypatch.setenv("PWD", str(link / "src"))  # what the shell says of a folder reached through a link
    note = cli("checkpoint", "--note", f"edited {link}/src/a.py and {repo}/b.py", "--json").json()["checkpoint"]["note"]
    assert note == "edited src/a.py and b.py"


def test_resume_after_the_last_task_was_completed_names_it(ws, cli):
    cli("task", "start", "Port", "--id", "P9", "-s", "a")
    cli("task", "complete", "P9")
    run = cli("resume")
    assert run.code == 1 and run.err.startswith("Error: there is no open task (P9, 'Port', was marked complete ")
    assert "`tether task reopen P9` if it is not finished" in run.err


def test_resume_names_each_file_once_keeping_its_description(ws, cli):
    """A checkpoint without a state of its own carries the previous one's files: the same path given
    bare (or described again) is one entry, its descriptions kept together."""
    cli("task", "start", "Parse", "--id", "P1", "-s", "one", "-s", "two")
    cli("checkpoint", "--state", "parsing", "--file", "src/app.py: json parsing")
    cli("checkpoint", "--note", "more", "--file", "src/app.py", "--file", "src/b.py", "--file", "src/b.py: new")
    run = cli("resume")
    assert "Files modified: src/app.py: json parsing; src/b.py: new\n" in run.out + "\n"
    assert cli("resume", "--json").json()["resume"]["files"] == ["src/app.py: json parsing", "src/b.py: new"]
    cli("checkpoint", "--note", "again", "--file", "src/app.py: error paths")
    assert "Files modified: src/app.py: json parsing, error paths; src/b.py: new" in cli("resume").out
