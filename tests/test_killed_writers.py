"""A writer killed between appending to a log and rewriting the committed document that shows it.

Two such pairs exist: the context entries (`context.jsonl`) and decisions, shown by the context
document (`CONTEXT.md`), which every `tether note`, `decide` and `note resolve` rewrites after its
record; and the dated progress log, whose newest close `LATEST.json` names, which `tether close`
rewrites after appending its section. The process is killed (``os._exit``) right where it would
rewrite the document. What a user relies on: the next boot and `tether verify` name the file and
the command that repairs it, the brief shows what was recorded, and that command (or the next
write) repairs it, losing nothing.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from test_brief_budget import CACHE, age, section, warm_equals_cold


def killed_at(target: str, *argv: str) -> None:
    """Run `tether ARGV` in its own process, killed when it calls ``target`` ("module:attribute")."""
    module, _, name = target.partition(":")
    owner, _, attribute = name.rpartition(".")
    code = (f"import os, importlib\n"
            f"where = importlib.import_module({module!r})\n"
            + (f"where = getattr(where, {owner!r})\n" if owner else "")
            + f"setattr(where, {attribute!r}, lambda *a, **k: os._exit(9))\n"
            f"from tether.cli.main import main\nmain({list(argv)!r})\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 9, proc.stderr


def test_an_entry_whose_document_was_not_rewritten_is_named_and_the_next_write_repairs_it(ws, repo, cli, at):
    at("2026-11-21T10:00:00Z", "s1")
    assert cli("note", "gotcha", "app.py imports itself").code == 0
    killed_at("tether.core.close:write_context_document", "note", "dont", "never push on a Friday")
    document = repo / ".tether" / "CONTEXT.md"
    assert "never push on a Friday" not in document.read_text()
    assert "never push on a Friday" in cli("note", "list").out  # recorded: the log has it

    run = cli("boot")
    assert run.code == 3  # degraded
    (problem,) = section(run.out, "## Problems")
    assert problem.startswith("- .tether/CONTEXT.md:") and "What NOT to do disagrees with the records" in problem
    assert problem.endswith("run `tether index --repair` to regenerate it")
    assert section(run.out, "## What NOT to do")[0].startswith("- never push on a Friday [")
    assert "What NOT to do disagrees" in cli("verify").out

    at("2026-11-21T10:05:00Z", "s1")
    assert cli("note", "learning", "the parser is slow").code == 0  # the next write rewrites the document
    text = document.read_text()
    assert all(s in text for s in ("app.py imports itself", "never push on a Friday", "the parser is slow"))
    assert cli("boot").code == 0 and cli("verify").code == 0


@pytest.fixture
def cut_short(ws, repo, cli, at):
    """A close, a session that checkpointed and was killed in its close right after the progress
    log got its section, before LATEST.json was rewritten (a brief was cached before that)."""
    at("2026-11-21T10:00:00Z", "s1")
    cli("task", "start", "Docs", "--id", "T2", "-s", "write")
    cli("task", "start", "Refactor", "--id", "T1", "-s", "split", "-s", "test")
    assert cli("close", "--summary", "planned", "--next", "split app.py").code == 0
    at("2026-11-21T11:00:00Z", "s2")
    assert cli("checkpoint", "--done", "1", "--state", "split done").code == 0
    age(repo)
    assert "## Problems" not in cli("boot").out and (repo / CACHE).exists()
    at("2026-11-21T11:30:00Z", "s2")
    killed_at("tether.store.files:Store.write_latest", "close", "--summary", "split done, docs written",
              "--completed", "T2", "--next", "write the tests", "--next", "release")
    at("2026-11-21T12:00:00Z", "s3")  # the next session asks
    return repo


def test_a_close_killed_before_latest_json_is_named_and_the_brief_shows_it(cut_short, cli):
    log = cut_short / ".tether" / "progress" / "2026-11-21.md"
    assert "**Summary:** split done, docs written" in log.read_text()  # the log has the close; LATEST.json not
    assert json.loads((cut_short / ".tether" / "progress" / "LATEST.json").read_text())["summary"] == "planned"

    run = cli("boot")  # the cached brief is stale: the log it read changed
    assert run.code == 3
    assert section(run.out, "## Problems") == [
        "- .tether/progress/LATEST.json: names an older close than .tether/progress/2026-11-21.md (11:30 UTC, session"
        " s2): a close cut short before it rewrote LATEST.json, or a merge that kept the older one; boot shows the"
        " log's close; run `tether index --repair` to rebuild LATEST.json from it"]
    assert section(run.out, "## Last session") == [
        "2026-11-21 (.tether/progress/2026-11-21.md): split done, docs written"]
    assert section(run.out, "## Next steps") == ["- write the tests", "- release"]
    assert "## Not closed" not in run.out  # s2's checkpoint came before its close
    assert section(run.out, "## Open tasks (1)")[0].startswith("- ACTIVE Resuming Refactor (T1)")
    data = cli("boot", "--json").json()
    assert data["latest"]["generated_at"] == "2026-11-21T11:30:59Z"  # the log keeps the minute
    assert data["latest_source"] == ".tether/progress/2026-11-21.md"
    verified = cli("verify", "--json").json()["problems"]
    assert [p["path"] for p in verified] == [".tether/progress/LATEST.json"]
    assert "names an older close than .tether/progress/2026-11-21.md" in verified[0]["message"]


def test_index_repair_finishes_the_close_that_was_cut_short(cut_short, cli, git):
    run = cli("index", "--repair")
    assert run.code == 0
    assert ".tether/progress/LATEST.json: rebuilt from the newer close in .tether/progress/2026-11-21.md" in run.out
    latest = json.loads((cut_short / ".tether" / "progress" / "LATEST.json").read_text())
    assert latest == {"date": "2026-11-21", "file": ".tether/progress/2026-11-21.md", "summary": "split done, docs written",
                      "next_steps": ["write the tests", "release"], "completed": ["T2"], "session": "s2",
                      "sha": git("rev-parse", "HEAD").strip(), "generated_at": "2026-11-21T11:30:59Z"}
    # The memory log gets the close the killed process did not log: what s2 did is whole.
    closes = [e for e in cli("log", "--session", "s2", "--json").json()["events"] if e["event"] == "session_close"]
    assert [(e["at"], e["summary"], e["completed"]) for e in closes] == [
        ("2026-11-21T11:30:59Z", "split done, docs written", ["T2"])]
    text = warm_equals_cold(cli, cut_short)
    assert "## Problems" not in text
    assert section(text, "## Last session") == [
        "2026-11-21 (.tether/progress/LATEST.json): split done, docs written"]
    assert "1. write the tests\n2. release" in (cut_short / ".tether" / "CONTEXT.md").read_text()
    assert cli("verify").code == 0
    log = (cut_short / ".tether" / "progress" / "2026-11-21.md").read_text()
    assert "**Summary:** planned" in log and "**Summary:** split done, docs written" in log
    # Run again, the close finds what it wrote and writes nothing twice.
    assert cli("close", "--summary", "split done, docs written", "--completed", "T2", "--next", "write the tests",
               "--next", "release").code == 0
    assert log == (cut_short / ".tether" / "progress" / "2026-11-21.md").read_text()


def test_a_later_days_log_counts_and_a_close_of_latest_json_s_own_minute_does_not(ws, repo, cli, at):
    at("2026-11-21T10:00:00Z", "s1")
    assert cli("close", "--summary", "day one").code == 0
    at("2026-11-21T10:00:30Z", "s1")  # the same minute, the same session: LATEST.json's own
    assert cli("close", "--summary", "day one, again").code == 0
    assert cli("boot").code == 0 and cli("verify").code == 0
    at("2026-11-23T09:00:00Z", "s4")
    killed_at("tether.store.files:Store.write_latest", "close", "--summary", "day three")
    run = cli("boot")
    assert "names an older close than .tether/progress/2026-11-23.md (09:00 UTC, session s4)" in run.out
    assert section(run.out, "## Last session") == ["2026-11-23 (.tether/progress/2026-11-23.md): day three"]
