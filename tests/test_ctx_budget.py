"""`tether ctx check-budget` (seed 004, "Budget Enforcement"): skill calls, tokens and the deadline.

ALLOWED exits 0 and BLOCKED exits 4, naming the limit that stops the request and
whom to ask; `--log-as SKILL` records a blocked request in compute.invocation_log.
Time is pinned with TETHER_NOW.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml

BENCH = Path(__file__).resolve().parents[1] / "bench" / "scope"
GTM = "YIELD-XYZ-001"
BEFORE_DEADLINE = "2026-01-29T15:00:00Z"   # the seed's task deadline is 2026-01-30T12:00:00Z
AFTER_DEADLINE = "2026-01-30T12:00:01Z"
ESCALATE = "Escalate to @phil for budget approval"


@pytest.fixture(scope="module")
def seed_doc() -> dict:
    """The seed's context: 10 skill calls and 100,000 tokens, 5 calls and 45,000 tokens used."""
    with open(BENCH / "tuning.yaml", encoding="utf-8") as fh:
        return yaml.safe_load(fh)["contexts"]["yield_xyz_launch"]["session_context"]


@pytest.fixture
def write_ctx(ws, repo, seed_doc, monkeypatch):
    monkeypatch.setenv("TETHER_NOW", BEFORE_DEADLINE)
    path = repo / ".tether" / "contexts" / GTM / "session_context.yaml"

    def write(**compute) -> Path:
        doc = copy.deepcopy(seed_doc)
        doc["compute"].update(compute)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump({"session_context": doc}, sort_keys=False), encoding="utf-8")
        return path
    return write


def budget(cli, *args: str) -> tuple[int, dict]:
    run = cli("ctx", "check-budget", "--json", *args)
    return run.code, run.json()


def show_compute(cli) -> dict:
    run = cli("ctx", "show", "--section", "compute", "--json")
    assert run.code == 0, run.err
    return run.json()["session_context"]["compute"]


# -- ALLOWED -----------------------------------------------------------------------------

def test_a_request_within_calls_tokens_and_deadline_is_allowed(write_ctx, cli):
    write_ctx()
    code, data = budget(cli, "--cost", "1", "--tokens", "30000")
    assert code == 0
    assert data["result"] == "ALLOWED"
    assert data["reason"] == "Within budget: 4 skill calls and 25000 tokens left after it"
    assert (data["rule"], data["action"]) == ("active_task.budget", "Proceed")
    assert data["facts"] == {"cost": 1, "tokens": 30000, "calls_remaining": 5, "tokens_remaining": 55000,
                             "deadline": "2026-01-30T12:00:00Z"}


def test_a_request_using_exactly_what_is_left_is_allowed(write_ctx, cli):
    write_ctx()
    code, data = budget(cli, "--cost", "5", "--tokens", "55000")
    assert (code, data["result"]) == (0, "ALLOWED")


def test_text_output_of_an_allowed_check(write_ctx, cli):
    write_ctx()
    run = cli("ctx", "check-budget", "--campaign", GTM, "--tokens", "1000")
    assert run.code == 0, run.err
    assert run.out.startswith("ALLOWED: Within budget")
    assert "action: Proceed" in run.out


def test_no_limits_means_allowed(ws, cli, monkeypatch):
    monkeypatch.setenv("TETHER_NOW", BEFORE_DEADLINE)
    assert cli("ctx", "init", "--campaign", "OPEN-1", "--owner", "@phil").code == 0
    code, data = budget(cli, "--cost", "50", "--tokens", "10000000")
    assert (code, data["result"]) == (0, "ALLOWED")
    assert "no limits set" in data["reason"]


# -- BLOCKED -----------------------------------------------------------------------------

def test_the_seeds_example_more_calls_than_remain_is_blocked(write_ctx, cli):
    write_ctx(skills_invoked=8, budget_remaining=2)
    code, data = budget(cli, "--cost", "5")
    assert code == 4
    assert data["result"] == "BLOCKED"
    assert data["reason"].startswith("Request exceeds remaining budget (5 > 2")
    assert data["rule"] == "active_task.budget.max_skill_calls"
    assert data["action"] == ESCALATE
    assert data["facts"]["calls_remaining"] == 2


def test_blocked_text_output_names_the_reason_and_whom_to_ask(write_ctx, cli):
    write_ctx(skills_invoked=8, budget_remaining=2)
    run = cli("ctx", "check-budget", "--cost", "5")
    assert run.code == 4
    assert run.out.startswith("BLOCKED: Request exceeds remaining budget (5 > 2")
    assert f"action: {ESCALATE}" in run.out


def test_the_default_cost_is_one_skill_call(write_ctx, cli):
    write_ctx(skills_invoked=10, budget_remaining=0)
    code, data = budget(cli)
    assert code == 4
    assert data["reason"].startswith("Request exceeds remaining budget (1 > 0")


def test_more_tokens_than_remain_is_blocked(write_ctx, cli):
    write_ctx()
    code, data = budget(cli, "--tokens", "60000")
    assert code == 4
    assert data["reason"] == "Request exceeds remaining tokens (60000 > 55000)"
    assert data["rule"] == "active_task.budget.max_tokens"
    assert data["action"] == ESCALATE


def test_a_passed_deadline_blocks_any_request(write_ctx, cli, monkeypatch):
    write_ctx()
    assert budget(cli)[0] == 0
    monkeypatch.setenv("TETHER_NOW", AFTER_DEADLINE)
    code, data = budget(cli, "--cost", "1")
    assert code == 4
    assert data["rule"] == "active_task.budget.deadline"
    assert "2026-01-30T12:00:00Z" in data["reason"] and "passed" in data["reason"]
    assert data["action"] == ESCALATE


def test_the_budget_follows_what_applied_results_spent(write_ctx, cli, repo):
    write_ctx()
    result = repo / "result.json"
    result.write_text(json.dumps({"skill_result": {"skill": "research-agent", "status": "success",
                                                   "context_updates": {"compute": {"tokens_used": 50000}}}}))
    assert cli("ctx", "apply", str(result)).code == 0
    compute = show_compute(cli)
    assert (compute["skills_invoked"], compute["tokens_used"]) == (6, 95000)
    assert (compute["budget_remaining"], compute["budget_tokens_remaining"]) == (4, 5000)
    code, data = budget(cli, "--tokens", "10000")
    assert code == 4 and data["reason"] == "Request exceeds remaining tokens (10000 > 5000)"
    code, data = budget(cli, "--cost", "5")
    assert code == 4 and data["reason"].startswith("Request exceeds remaining budget (5 > 4")


def test_a_result_that_spends_past_the_budget_is_kept_and_warned_of(write_ctx, cli, repo):
    write_ctx()
    result = repo / "result.json"
    result.write_text(json.dumps({"skill_result": {"skill": "research-agent", "status": "success",
                                                   "context_updates": {"compute": {"tokens_used": 62000}}}}))
    run = cli("ctx", "apply", str(result))
    assert run.code == 0  # the work was done: it is kept
    assert "left: 4 skill calls, -7000 tokens" in run.out
    assert "Warning: over budget (tokens): `tether ctx check-budget` now answers BLOCKED" in run.out
    assert budget(cli)[0] == 4


def test_a_closed_campaign_has_no_budget(write_ctx, seed_doc, cli, repo):
    path = write_ctx()
    doc = copy.deepcopy(seed_doc)
    doc["campaign"]["status"] = "closed"
    path.write_text(yaml.safe_dump({"session_context": doc}, sort_keys=False), encoding="utf-8")
    code, data = budget(cli, "--context", str(path))
    assert code == 4
    assert data["rule"] == "campaign.status"


def test_a_negative_cost_is_a_user_error(write_ctx, cli):
    write_ctx()
    run = cli("ctx", "check-budget", "--cost", "-1")
    assert run.code == 1
    assert "negative" in run.err


# -- logging -------------------------------------------------------------------------------

def test_log_as_records_a_blocked_check_without_spending(write_ctx, cli):
    write_ctx(skills_invoked=8, budget_remaining=2)
    before = show_compute(cli)
    assert cli("ctx", "check-budget", "--cost", "5", "--log-as", "competitor-analyzer").code == 4
    after = show_compute(cli)
    assert after["invocation_log"][:-1] == before["invocation_log"]
    assert after["invocation_log"][-1] == {"skill": "competitor-analyzer", "timestamp": BEFORE_DEADLINE,
                                           "tokens": 0, "result": "blocked"}
    assert (after["skills_invoked"], after["tokens_used"], after["budget_remaining"]) == (8, 45000, 2)
    history = cli("ctx", "show", "--section", "history", "--json").json()["session_context"]["history"]
    assert history[-1]["action"] == "skill_blocked"
    assert "Request exceeds remaining budget (5 > 2" in history[-1]["details"]


def test_an_allowed_or_unlogged_check_changes_nothing(write_ctx, cli):
    path = write_ctx()
    text = path.read_bytes()
    assert cli("ctx", "check-budget", "--log-as", "content-worker").code == 0
    assert cli("ctx", "check-budget", "--tokens", "999999").code == 4
    assert path.read_bytes() == text
