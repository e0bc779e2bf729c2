"""The orchestrator API: `Campaign.invoke` (project, check scope and budget, run, apply) and `Campaign.open`."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from tether.campaign import Campaign
from tether.errors import InvalidInput, NotFound, Refused
from ctx_seed import write_context

NOW = "2026-01-29T15:00:00Z"
GTM = "YIELD-XYZ-001"
ONLY_CHANNELS = "boundary: Only channels: X, Discord, Farcaster, Blog"
X_POST = f".gtm/{GTM}/drafts/x_post.md"


@pytest.fixture
def pinned(monkeypatch):
    monkeypatch.setenv("TETHER_NOW", NOW)


def put(repo: Path, doc: dict, where: str) -> Path:
    return write_context(repo, doc, where)


@pytest.fixture
def camp(ws, repo, seed_doc, pinned) -> Campaign:
    put(repo, copy.deepcopy(seed_doc), f".tether/contexts/{GTM}/session_context.yaml")
    return Campaign.open(campaign=GTM, workspace=ws)


def draft_result(path: str = f".gtm/{GTM}/drafts/x_thread.md", tokens: int = 30000) -> dict:
    return {"skill_result": {"skill": "content-worker", "status": "success",
                             "outputs": {"artifacts": [{"type": "draft_x_thread", "path": path,
                                                        "status": "pending_review"}]},
                             "context_updates": {"compute": {"tokens_used": tokens}},
                             "next_suggested": "brand-validator"}}


class Skill:
    """A stand-in skill that records the views it was given."""

    def __init__(self, result=None, error: Exception | None = None, during=None) -> None:
        self.result, self.error, self.during, self.views = result, error, during, []

    def __call__(self, view):
        self.views.append(copy.deepcopy(view))
        if self.during:
            self.during()
        if self.error:
            raise self.error
        return self.result


# -- invoke -----------------------------------------------------------------------------------

def test_an_allowed_invocation_runs_the_skill_on_its_view_and_applies_the_result(camp):
    expected_view = camp.for_skill("content-worker")
    skill = Skill(draft_result())
    out = camp.invoke("content-worker", "Write the X announcement thread for the Yield.xyz integration.",
                      skill, cost=1, tokens=30000)
    assert (out.ran, out.verdict, out.error) == (True, None, None)
    assert skill.views == [expected_view]
    assert expected_view["context_for"] == "content-worker" and expected_view["revision"] == 0
    assert out.result["skill_result"]["base_revision"] == 0       # set by invoke from the view's revision
    assert out.applied["revision"] == 1
    assert f"artifacts[.gtm/{GTM}/drafts/x_thread.md]" in out.applied["changed"]
    doc = camp.load()
    assert doc["revision"] == 1
    assert doc["artifacts"][-1]["path"] == f".gtm/{GTM}/drafts/x_thread.md"
    assert doc["artifacts"][-1]["produced_by"] == "content-worker"
    assert (doc["compute"]["skills_invoked"], doc["compute"]["tokens_used"]) == (6, 75000)
    assert doc["compute"]["invocation_log"][-1] == {"skill": "content-worker", "timestamp": NOW, "tokens": 30000,
                                                    "result": "success"}


def test_the_result_is_based_on_the_revision_the_skill_was_given(camp):
    # While the skill runs, the brand validator approves the X draft the skill then rewrites:
    # applied on its base revision, the skill's stale rewrite is refused instead of overwriting it.
    def meanwhile():
        camp.apply({"skill": "brand-validator", "artifacts": [{"path": X_POST, "status": "approved"}]})
    skill = Skill(draft_result(path=X_POST), during=meanwhile)
    out = camp.invoke("content-worker", "Rewrite the X announcement post.", skill)
    assert out.ran is True
    assert isinstance(out.error, Refused)
    assert any(f"artifacts[{X_POST}]" in r and "brand-validator" in r and "after revision 0" in r
               for r in out.error.reasons), out.error.reasons
    doc = camp.load()
    assert next(a for a in doc["artifacts"] if a["path"] == X_POST)["status"] == "approved"
    assert doc["compute"]["invocation_log"][-1]["result"] == "refused"


def test_a_scope_blocked_request_does_not_run_the_skill_and_is_logged(camp):
    before = camp.load()["compute"]
    before_artifacts = camp.load()["artifacts"]
    skill = Skill(draft_result())
    out = camp.invoke("content-worker", "Also create a YouTube video script", skill)
    assert out.ran is False and skill.views == []
    assert (out.verdict.result, out.verdict.rule) == ("BLOCKED", ONLY_CHANNELS)
    assert out.result is None and out.applied is None
    doc = camp.load()
    assert doc["compute"]["invocation_log"][-1] == {"skill": "content-worker", "timestamp": NOW, "tokens": 0,
                                                    "result": "blocked"}
    assert doc["compute"]["skills_invoked"] == before["skills_invoked"]     # nothing ran, nothing spent
    assert doc["history"][-1]["action"] == "skill_blocked"
    assert "Also create a YouTube video script" in doc["history"][-1]["details"]
    assert len(doc["artifacts"]) == len(before_artifacts) == 3


def test_a_budget_blocked_request_does_not_run_the_skill_and_is_logged(ws, repo, seed_doc, pinned):
    doc = copy.deepcopy(seed_doc)
    doc["compute"].update(skills_invoked=8, budget_remaining=2)
    put(repo, doc, f".tether/contexts/{GTM}/session_context.yaml")
    camp = Campaign.open(campaign=GTM, workspace=ws)
    skill = Skill(draft_result())
    out = camp.invoke("competitor-analyzer", "Write the X announcement thread for the Yield.xyz integration.",
                      skill, cost=5)
    assert out.ran is False and skill.views == []
    assert out.verdict.rule == "active_task.budget.max_skill_calls"
    assert out.verdict.reason.startswith("Request exceeds remaining budget (5 > 2")
    assert out.verdict.action == "Escalate to @phil for budget approval"
    after = camp.load()["compute"]
    assert after["invocation_log"][-1]["result"] == "blocked"
    assert after["invocation_log"][-1]["skill"] == "competitor-analyzer"
    assert after["skills_invoked"] == 8
    tokens = camp.invoke("content-worker", "Write the X announcement thread.", skill, cost=1, tokens=60000)
    assert tokens.ran is False and tokens.verdict.rule == "active_task.budget.max_tokens"
    assert skill.views == []


def test_a_skill_that_raises_is_logged_as_an_error_and_the_exception_propagates(camp):
    before = camp.load()["compute"]
    skill = Skill(error=RuntimeError("model timeout"))
    with pytest.raises(RuntimeError, match="model timeout"):
        camp.invoke("content-worker", "Write the X announcement thread.", skill)
    assert len(skill.views) == 1
    doc = camp.load()
    assert doc["compute"]["invocation_log"][-1]["result"] == "error"
    assert doc["compute"]["skills_invoked"] == before["skills_invoked"] + 1   # it ran: the call is spent
    assert "RuntimeError: model timeout" in doc["history"][-1]["details"]


def test_a_refused_result_is_reported_in_the_invocation_and_logged(camp):
    before = camp.load()
    bad = {"skill": "content-worker", "decisions_made": [{"id": "decision-009", "decision": "We may quote APY"}],
           "artifacts": [{"type": "draft", "path": f".gtm/{GTM}/drafts/apy.md"}]}
    out = camp.invoke("content-worker", "Write the X announcement thread.", Skill(bad))
    assert out.ran is True and out.applied is None
    assert isinstance(out.error, Refused)
    assert any(r.startswith("decisions_made:") for r in out.error.reasons)
    doc = camp.load()
    assert doc["decisions_made"] == before["decisions_made"]
    assert doc["artifacts"] == before["artifacts"]                      # nothing of it was applied
    assert doc["compute"]["invocation_log"][-1]["result"] == "refused"
    assert doc["compute"]["skills_invoked"] == before["compute"]["skills_invoked"] + 1


def test_a_malformed_result_still_counts_the_call_it_spent(camp):
    before = camp.load()["compute"]
    out = camp.invoke("content-worker", "Write the X announcement thread.", Skill("not a mapping"))
    assert out.ran is True and out.applied is None
    assert "must be a mapping" in str(out.error)
    after = camp.load()["compute"]
    assert after["skills_invoked"] == before["skills_invoked"] + 1
    assert after["invocation_log"][-1]["result"] == "invalid_result"


def test_invoke_passes_a_token_budget_to_the_projection(camp):
    skill = Skill({"skill": "content-worker"})
    out = camp.invoke("content-worker", "Write the X announcement thread.", skill, token_budget=300)
    assert out.ran and out.error is None
    assert skill.views[0]["omitted"][-1] == "budget.tokens_remaining"


# -- open ---------------------------------------------------------------------------------------

@pytest.fixture
def two_open(ws, repo, seed_doc, pinned):
    first = put(repo, copy.deepcopy(seed_doc), f".tether/contexts/{GTM}/session_context.yaml")
    other = copy.deepcopy(seed_doc)
    other["id"] = "session-2026-01-29-002"
    other["campaign"]["gtm_id"] = "NIMBUS-002"
    second = put(repo, other, ".gtm/NIMBUS-002/session_context.yaml")
    return first, second


def test_open_by_campaign_id_looks_in_the_store_and_in_gtm(two_open, ws):
    first, second = two_open
    assert Campaign.open(campaign=GTM, workspace=ws).path == str(first)
    assert Campaign.open(campaign="NIMBUS-002", workspace=ws).path == str(second)
    with pytest.raises(NotFound, match="no session context for campaign NOPE-1"):
        Campaign.open(campaign="NOPE-1", workspace=ws)


def test_open_by_path_to_the_file_or_its_directory(two_open, ws):
    _, second = two_open
    assert Campaign.open(context=str(second), workspace=ws).load()["campaign"]["gtm_id"] == "NIMBUS-002"
    assert Campaign.open(context=str(second.parent), workspace=ws).path == str(second)


def test_open_by_tether_context(two_open, ws, monkeypatch):
    first, second = two_open
    monkeypatch.setenv("TETHER_CONTEXT", str(second))
    assert Campaign.open(workspace=ws).path == str(second)
    assert Campaign.open(campaign=GTM, workspace=ws).path == str(first)      # an explicit campaign wins


def test_open_with_several_open_contexts_asks_which(two_open, ws, cli):
    with pytest.raises(InvalidInput) as caught:
        Campaign.open(workspace=ws)
    assert str(caught.value) == f"2 open session contexts: {GTM}, NIMBUS-002"
    assert "--campaign" in caught.value.hint
    run = cli("ctx", "show")
    assert run.code == 1 and "2 open session contexts" in run.err


def test_open_picks_the_only_open_context_and_skips_closed_ones(two_open, ws):
    first, second = two_open
    Campaign.open(campaign="NIMBUS-002", workspace=ws).close(summary="done")
    assert Campaign.open(workspace=ws).path == str(first)


def test_open_with_no_context_at_all(ws, pinned):
    with pytest.raises(NotFound, match="there is no open session context"):
        Campaign.open(workspace=ws)


def test_create_then_open_the_only_one(ws, pinned):
    made = Campaign.create("LAUNCH-7", "@phil", workspace=ws, objectives=["Write the launch blog post"],
                           boundaries=["Only channels: Blog"], max_skill_calls=3)
    opened = Campaign.open(workspace=ws)
    assert opened.path == made.path
    assert opened.check_scope("Write the launch blog post.").allowed
    assert not opened.check_scope("Tweet about the launch.").allowed
    assert opened.check_budget(cost=4).rule == "active_task.budget.max_skill_calls"
