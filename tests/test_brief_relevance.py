"""The brief adds the older decisions and entries that bear on the open tasks, marked as such,
within its budget; found in the recall index when it exists, else among what boot read; and
a warm boot does not look for them again."""

from __future__ import annotations

import pytest

from tether.model.tokens import estimate

from test_brief_budget import age, section, warm_equals_cold

CACHE = ".tether/local/boot.cache"


@pytest.fixture
def now(monkeypatch):
    def at(stamp: str) -> None:
        monkeypatch.setenv("TETHER_NOW", stamp)

    at("2026-11-21T10:00:00Z")
    return at


def _history(ws, now, newer: int) -> None:
    """An old decision and an old gotcha that bear on the WAL task, an old one that does not,
    then ``newer`` unrelated decisions and gotchas."""
    now("2026-03-01T10:00:00Z")
    ws.decide("Which sqlite journal mode for the recall index?", "WAL, so readers never block the writer",
              decision_id="D-260301-wal")
    ws.decide("Which colour scheme for the terminal output?", "the sixteen basic colours", decision_id="D-260301-colour")
    now("2026-03-02T10:00:00Z")
    ws.note("gotcha", "The journal file of the sqlite index must live on a local disk, not NFS")
    for n in range(newer):
        now(f"2026-11-{1 + n % 20:02d}T{n % 24:02d}:{n % 60:02d}:00Z")
        ws.decide(f"Question {n} about the release notes?", f"approach {n}")
        ws.note("gotcha", f"Entry {n}: the changelog generator drops a heading when it is empty")
    now("2026-11-21T10:00:00Z")
    ws.start_task("Speed up the recall index", definition="Switch the sqlite journal to WAL", task_id="T004")


@pytest.mark.parametrize("newer", [10, 200])
def test_an_old_decision_that_bears_on_the_active_task_is_in_the_brief(ws, cli, now, fast_writes, newer):
    _history(ws, now, newer)
    if newer > 10:
        # Beyond boot's window of decisions: found through the recall index, read as it is.
        assert cli("recall", "sqlite journal").code == 0
    data = cli("boot", "--json").json()
    text = data["text"]
    lines = section(text, "## Older, relevant to T004")
    assert any("D-260301-wal" in line and "2026-03-01" in line and line.startswith("- decision:") for line in lines)
    assert any("local disk" in line and "2026-03-02" in line and line.startswith("- gotcha:") for line in lines)
    assert not any("D-260301-colour" in line for line in lines)  # shares nothing with the task
    assert data["relevant_source"] == ("recall index" if newer > 10 else "word overlap")
    assert [r["id"] for r in data["relevant"] if r["kind"] == "decision"] == ["D-260301-wal"]
    # Shown once: not again among the recent decisions.
    assert len([line for line in text.splitlines() if line.startswith("- ") and "D-260301-wal" in line]) == 1
    assert data["tokens"] <= 2000 and estimate(text) == data["tokens"]


def test_without_the_index_an_old_decision_beyond_the_window_is_not_searched_for(ws, cli, now, fast_writes):
    """No recall index: boot matches only what it read, and does not build the index."""
    _history(ws, now, 200)
    data = cli("boot", "--json").json()
    assert data["relevant_source"] == "word overlap"
    assert "D-260301-wal" not in data["text"]
    assert any("local disk" in r["text"] for r in data["relevant"])  # the live entries are all read
    assert not (ws.dir / "local" / "recall.sqlite").exists()


def test_the_brief_stays_within_budget_and_the_same_size_with_history(ws, cli, now, fast_writes):
    _history(ws, now, 10)
    small = cli("boot", "--json").json()
    for n in range(150):
        now(f"2026-05-{1 + n % 28:02d}T10:{n % 60:02d}:00Z")
        ws.decide(f"Should the sqlite index journal {n} use WAL?", f"yes {n}")
    assert cli("recall", "sqlite").code == 0
    for budget in (400, 2000):
        data = cli("boot", "--budget", str(budget), "--json").json()
        assert data["tokens"] <= budget
    large = cli("boot", "--json").json()
    assert len(large["relevant"]) <= 8
    assert large["tokens"] <= 2000 and small["tokens"] <= 2000
    assert abs(len(section(large["text"], "## Older, relevant to T004"))
               - len(section(small["text"], "## Older, relevant to T004"))) <= 8


def test_an_unrelated_task_gets_no_such_section(ws, cli, now):
    now("2026-03-01T10:00:00Z")
    ws.decide("Which sqlite journal mode for the recall index?", "WAL")
    ws.start_task("Write the release announcement", task_id="T009")
    assert "## Older, relevant" not in cli("boot").out


def test_the_section_is_the_same_warm_and_cold(repo, ws, cli, now, fast_writes):
    _history(ws, now, 10)
    text = warm_equals_cold(cli, repo)
    assert "## Older, relevant to T004" in text


def test_a_warm_boot_does_not_look_for_relevant_records(repo, ws, cli, now, fast_writes, monkeypatch):
    _history(ws, now, 200)
    assert cli("recall", "sqlite").code == 0
    age(repo)
    (repo / CACHE).unlink(missing_ok=True)
    cold = cli("boot").out  # builds the cache
    assert (repo / CACHE).exists() and "D-260301-wal" in cold
    import tether.core.relevance as relevance
    import tether.recall.index as index

    def refuse(*args, **kwargs):
        raise AssertionError("a warm boot looked for relevant records")

    monkeypatch.setattr(relevance, "relevant", refuse)
    monkeypatch.setattr(index, "related", refuse)
    assert cli("boot").out == cold
