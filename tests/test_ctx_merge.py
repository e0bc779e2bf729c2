"""Merging a skill's result into the session context: every rule, through the API and the CLI.

Rules (tether.campaign.merge): artifacts upserted by path; pending decisions
appended with ids and not duplicated; tokens and the invocation logged and the
remaining budget recomputed; validations replaced per validator; knowledge
merged without silently losing another skill's value or an owner's approval;
owner-only sections refused; stale and retried results refused; every refusal
lists its reasons and leaves the file byte for byte as it was.
"""

from __future__ import annotations

import json

import pytest
import yaml

from ctx_seed import CAMPAIGN, SEED_CONTEXT, SEED_CONTEXT_UPDATE, SEED_SKILL_RESULT, write_seed_context
from tether.campaign import Campaign
from tether.errors import InvalidInput, Refused

NOW = "2026-01-29T10:00:00Z"


@pytest.fixture(autouse=True)
def _pinned_time(monkeypatch, fast_writes):
    # Every test here writes the context several times: no fsync (durability is not under test).
    monkeypatch.setenv("TETHER_NOW", NOW)


@pytest.fixture
def camp(ws) -> Campaign:
    """A fresh kickoff context in the store: 10 calls, 100000 tokens, owner @phil."""
    return Campaign.create("C-1", "@phil", max_skill_calls=10, max_tokens=100000, deadline="2026-01-30T12:00:00Z")


@pytest.fixture
def seed(repo, ws) -> Campaign:
    """The seed's example context, where the seed keeps it."""
    write_seed_context(repo)
    return Campaign.open(campaign=CAMPAIGN)


def file_bytes(camp: Campaign) -> bytes:
    with open(camp.path, "rb") as fh:
        return fh.read()


def refused(camp: Campaign, result, **kw) -> list[str]:
    """Apply ``result``, expect a refusal, check nothing was written; the reasons."""
    before = file_bytes(camp)
    with pytest.raises(Refused) as caught:
        camp.apply(result, **kw)
    assert file_bytes(camp) == before, "a refused update changed the file"
    return caught.value.reasons


def last_history(camp: Campaign) -> dict:
    return camp.load()["history"][-1]


# -- artifacts ----------------------------------------------------------------------------------------

def test_artifacts_are_upserted_by_path(camp):
    out = camp.apply({"skill": "content-worker", "artifacts": [
        {"type": "draft_x_post", "path": "drafts/x.md", "status": "pending_review"},
        {"type": "draft_discord", "path": "drafts/discord.md"}]})
    assert out["changed"] == ["artifacts[drafts/x.md]", "artifacts[drafts/discord.md]"]
    out = camp.apply({"skill": "brand-validator", "artifacts": [{"path": "drafts/x.md", "status": "approved"}]})
    assert out["changed"] == ["artifacts[drafts/x.md]"]
    artifacts = camp.load()["artifacts"]
    assert [a["path"] for a in artifacts] == ["drafts/x.md", "drafts/discord.md"]
    x = artifacts[0]
    assert x["type"] == "draft_x_post" and x["status"] == "approved"   # kept, updated
    assert x["produced_by"] == "content-worker" and x["updated_by"] == "brand-validator" and x["timestamp"] == NOW
    assert artifacts[1] == {"type": "draft_discord", "path": "drafts/discord.md", "produced_by": "content-worker",
                            "timestamp": NOW}


def test_the_same_path_twice_in_one_result_is_one_artifact(camp):
    camp.apply({"skill": "cw", "artifacts": [{"path": "a.md", "status": "draft"}, {"path": "a.md", "status": "final"}]})
    assert [(a["path"], a["status"]) for a in camp.load()["artifacts"]] == [("a.md", "final")]


def test_upserting_a_seed_artifact_does_not_add_one(seed):
    before = seed.load()["artifacts"]
    seed.apply({"skill": "content-worker", "artifacts": [
        {"path": ".gtm/YIELD-XYZ-001/drafts/x_post.md", "status": "revised"}]})
    after = seed.load()["artifacts"]
    assert len(after) == len(before) == 3
    assert after[1]["status"] == "revised" and after[1]["type"] == "draft_x_post"
    assert after[0] == before[0] and after[2] == before[2]


# -- pending decisions -----------------------------------------------------------------------------------

def test_pending_decisions_get_sequential_ids(camp):
    out = camp.apply({"skill": "cw", "pending_decisions": [{"question": "Can we mention APY ranges?",
                                                            "options": ["Yes", "No"]},
                                                           {"question": "Tag the partner?"}]})
    assert out["decisions"] == [{"id": "decision-000", "added": True}, {"id": "decision-001", "added": True}]
    out = camp.apply({"skill": "cw", "pending_decisions": [{"question": "Thread or single post?"}]})
    assert out["decisions"] == [{"id": "decision-002", "added": True}]
    pending = camp.load()["pending_decisions"]
    assert [d["id"] for d in pending] == ["decision-000", "decision-001", "decision-002"]
    first = pending[0]
    assert first["options"] == ["Yes", "No"] and first["raised_by"] == "cw"
    assert first["escalated_to"] == "@phil" and first["escalated_at"] == NOW
    assert first["status"] == "awaiting_response" and first["deadline"] == "2026-01-30T12:00:00Z"


def test_decision_ids_continue_after_the_seeds(seed):
    # The seed has decision-000 decided and decision-001 pending.
    out = seed.apply({"skill": "cw", "pending_decisions": [{"question": "Which hashtags?"}]})
    assert out["decisions"] == [{"id": "decision-002", "added": True}]


def test_a_question_already_pending_or_decided_is_not_added_twice(seed):
    out = seed.apply({"skill": "cw", "pending_decisions": [
        {"question": "can we mention   specific APY ranges?"},          # pending as decision-001
        {"question": "Which messaging angle to use?"},                  # decided as decision-000
        {"question": "New one?"}, {"question": "New one?"}]})
    assert out["decisions"] == [{"id": "decision-001", "added": False}, {"id": "decision-000", "added": False},
                                {"id": "decision-002", "added": True}, {"id": "decision-002", "added": False}]
    pending = seed.load()["pending_decisions"]
    assert [d["id"] for d in pending] == ["decision-001", "decision-002"]
    assert last_history(seed)["changed"] == ["pending_decisions[decision-002]"]


# -- compute ----------------------------------------------------------------------------------------------

def test_tokens_and_the_invocation_are_added_and_the_budget_recomputed(camp):
    camp.apply({"skill": "product-oracle", "compute": {"tokens_used": 2000}, "invocation_id": "inv-1"})
    out = camp.apply({"skill": "content-worker", "status": "partial", "compute": {"tokens_used": 30000}})
    assert out["tokens"] == 30000 and out["budget"] == {"calls": 8, "tokens": 68000, "deadline": "2026-01-30T12:00:00Z"}
    compute = camp.load()["compute"]
    assert compute["skills_invoked"] == 2 and compute["tokens_used"] == 32000
    assert compute["budget_remaining"] == 8 and compute["budget_tokens_remaining"] == 68000
    assert compute["invocation_log"] == [
        {"skill": "product-oracle", "timestamp": NOW, "tokens": 2000, "result": "success", "invocation_id": "inv-1"},
        {"skill": "content-worker", "timestamp": NOW, "tokens": 30000, "result": "partial"}]


def test_compute_adds_to_the_seeds_counters(seed):
    seed.apply({"skill": "link-checker", "compute": {"tokens_used": 1000}})
    compute = seed.load()["compute"]
    assert (compute["skills_invoked"], compute["tokens_used"]) == (6, 46000)
    assert (compute["budget_remaining"], compute["budget_tokens_remaining"]) == (4, 54000)
    assert len(compute["invocation_log"]) == 6 and compute["invocation_log"][-1]["skill"] == "link-checker"


def test_a_result_without_tokens_still_counts_as_a_call(camp):
    out = camp.apply({"skill": "link-checker"})
    assert out["tokens"] == 0 and out["budget"]["calls"] == 9
    assert camp.load()["compute"]["invocation_log"][-1]["tokens"] == 0


# -- validations -----------------------------------------------------------------------------------------

def test_validations_are_replaced_per_validator(seed):
    before = seed.load()["validations"]
    out = seed.apply({"skill": "brand-validator", "validations": {
        "brand_validator": {"status": "fail", "issues": ["'yield farming' in x_post.md"]},
        "tone_checker": {"status": "warn", "notes": "a bit hype"}}})
    assert out["changed"] == ["validations.brand_validator", "validations.tone_checker"]
    after = seed.load()["validations"]
    assert after["brand_validator"] == {"last_run": NOW, "status": "fail", "issues": ["'yield farming' in x_post.md"]}
    assert after["tone_checker"] == {"last_run": NOW, "status": "warn", "notes": "a bit hype"}
    for name in ("link_checker", "audience_analyzer", "release_coordinator"):
        assert after[name] == before[name], name
    # Replaced, not merged: what the validator no longer reports is gone.
    seed.apply({"skill": "release-coordinator", "validations": {"release_coordinator": {"status": "pass"}}})
    assert seed.load()["validations"]["release_coordinator"] == {"last_run": NOW, "status": "pass"}


# -- knowledge ------------------------------------------------------------------------------------------

def test_new_knowledge_keys_are_added_at_any_depth(seed):
    out = seed.apply({"skill": "research-agent", "knowledge": {
        "protocol": {"audits": ["Trail of Bits"]}, "competitors": {"main": "Beefy"}}})
    assert out["changed"] == ["knowledge.protocol.audits", "knowledge.competitors"]
    knowledge = seed.load()["knowledge"]
    assert knowledge["protocol"]["audits"] == ["Trail of Bits"] and knowledge["protocol"]["tvl"] == "$50M"
    assert knowledge["competitors"] == {"main": "Beefy"}


def test_lists_gain_the_items_they_lack(seed):
    out = seed.apply({"skill": "product-oracle", "knowledge": {"product": {"chains_new_30d": ["Base", "Linea"]},
                                                               "past_learnings": ["Threads win"]}})
    knowledge = seed.load()["knowledge"]
    assert knowledge["product"]["chains_new_30d"] == ["Blast", "Base", "Linea"]
    assert knowledge["past_learnings"][-1] == "Threads win" and len(knowledge["past_learnings"]) == 4
    assert out["changed"] == ["knowledge.product.chains_new_30d[+]", "knowledge.past_learnings[+]"]


def test_reporting_a_value_unchanged_is_no_conflict(seed):
    out = seed.apply({"skill": "someone-else", "knowledge": {"product": {"chains_supported": 28}}})
    assert out["changed"] == []


def test_another_skills_value_is_not_overwritten(camp):
    camp.apply({"skill": "product-oracle", "knowledge": {"product": {"chains_supported": 28, "swap": True}}})
    reasons = refused(camp, {"skill": "content-worker", "knowledge": {"product": {"chains_supported": 30}},
                             "artifacts": [{"path": "drafts/x.md"}]})
    assert len(reasons) == 1
    reason = reasons[0]
    assert reason.startswith("knowledge.product.chains_supported: is 28 (set by product-oracle at revision 1); "
                             "content-worker reports 30.")
    assert "overrides" in reason
    assert camp.load()["knowledge"]["product"]["chains_supported"] == 28


def test_a_value_set_before_any_recorded_skill_is_not_overwritten(seed):
    reasons = refused(seed, {"skill": "content-worker", "knowledge": {"protocol": {"tvl": "$80M"}}})
    assert reasons == ['knowledge.protocol.tvl: is "$50M" (set before this skill); content-worker reports "$80M". '
                       "List knowledge.protocol.tvl in the result's overrides to replace it, or escalate"]


def test_a_skill_may_update_its_own_value(camp):
    camp.apply({"skill": "product-oracle", "knowledge": {"product": {"chains_supported": 28}}})
    out = camp.apply({"skill": "product-oracle", "knowledge": {"product": {"chains_supported": 29}}})
    assert out["changed"] == ["knowledge.product.chains_supported"]
    assert camp.load()["knowledge"]["product"]["chains_supported"] == 29


def test_overrides_replace_another_skills_value_and_take_ownership(camp):
    camp.apply({"skill": "product-oracle", "knowledge": {"product": {"chains_supported": 28}}})
    out = camp.apply({"skill": "research-agent", "knowledge": {"product": {"chains_supported": 30}},
                      "overrides": ["knowledge.product.chains_supported"]})
    assert out["changed"] == ["knowledge.product.chains_supported"]
    assert camp.load()["knowledge"]["product"]["chains_supported"] == 30
    # The value is research-agent's now: product-oracle cannot silently put its own back.
    reasons = refused(camp, {"skill": "product-oracle", "knowledge": {"product": {"chains_supported": 28}}})
    assert "set by research-agent at revision 2" in reasons[0]


def test_overrides_of_a_mapping_replace_it_whole(seed):
    seed.apply({"skill": "audience-analyzer", "knowledge": {"audience": {"primary_segment": "builders"}},
                "overrides": ["knowledge.audience"]})
    assert seed.load()["knowledge"]["audience"] == {"primary_segment": "builders"}


def test_an_override_names_the_exact_path(camp):
    camp.apply({"skill": "product-oracle", "knowledge": {"product": {"chains_supported": 28}}})
    # Overriding some other path does not license this one.
    reasons = refused(camp, {"skill": "cw", "knowledge": {"product": {"chains_supported": 30}},
                             "overrides": ["knowledge.protocol"]})
    assert reasons[0].startswith("knowledge.product.chains_supported: ")


def test_every_conflict_is_listed(seed):
    reasons = refused(seed, {"skill": "cw", "knowledge": {"protocol": {"tvl": "$80M", "name": "Yield"},
                                                          "audience": {"primary_segment": "x"}}})
    assert [r.split(":")[0] for r in reasons] == ["knowledge.protocol.tvl", "knowledge.protocol.name",
                                                  "knowledge.audience.primary_segment"]


def test_a_later_override_of_a_parent_is_not_undone_by_the_earlier_owner_of_a_child(camp):
    camp.apply({"skill": "product-oracle", "knowledge": {"product": {"swap": True}}})
    camp.apply({"skill": "product-oracle", "knowledge": {"product": {"chains_supported": 28}}})
    camp.apply({"skill": "research-agent", "knowledge": {"product": {"chains_supported": 30}},
                "overrides": ["knowledge.product"]})
    # research-agent set knowledge.product (and so chains_supported) last: product-oracle's old claim is gone.
    refused(camp, {"skill": "product-oracle", "knowledge": {"product": {"chains_supported": 28}}})
    assert camp.load()["knowledge"]["product"] == {"chains_supported": 30}


def test_replacing_ones_own_mapping_does_not_drop_another_skills_keys_in_it(camp):
    camp.apply({"skill": "product-oracle", "knowledge": {"product": {"chains_supported": 28}}})
    camp.apply({"skill": "audience-analyzer", "knowledge": {"product": {"audience_fit": "high"}}})
    # product-oracle owns knowledge.product, but audience_fit inside it is audience-analyzer's.
    reasons = refused(camp, {"skill": "product-oracle", "knowledge": {"product": "see product.json"}})
    assert reasons and "knowledge.product" in reasons[0]
    assert camp.load()["knowledge"]["product"]["audience_fit"] == "high"


def test_a_skill_cannot_forge_provenance_through_history(camp):
    camp.apply({"skill": "product-oracle", "knowledge": {"tvl": "$50M"}})
    # A history entry claiming content-worker set knowledge.tvl must not make it content-worker's.
    camp.apply({"skill": "content-worker", "history": [
        {"action": "knowledge_acquired", "actor": "content-worker", "revision": 99, "changed": ["knowledge.tvl"]}]})
    refused(camp, {"skill": "content-worker", "knowledge": {"tvl": "$80M"}})
    assert camp.load()["knowledge"]["tvl"] == "$50M"


def test_history_entries_from_a_result_are_the_skills(camp):
    camp.apply({"skill": "content-worker", "history": [{"action": "drafted", "details": "x post"}]})
    entry = camp.load()["history"][-2]
    assert entry == {"timestamp": NOW, "actor": "content-worker", "action": "drafted", "details": "x post",
                     "revision": 1, "changed": []}


# -- owner-approved knowledge -------------------------------------------------------------------------------

APPROVED = {"decision": "Use 'yield optimization' not 'yield farming'", "approved_by": "@phil",
            "timestamp": "2026-01-29T11:00:00Z"}


def test_an_approved_entry_cannot_be_changed(seed):
    changed = dict(APPROVED, decision="Use 'yield farming'")
    reasons = refused(seed, {"skill": "content-worker", "knowledge": {"brand_decisions": [changed]}})
    assert reasons == ["knowledge.brand_decisions: holds owner-approved entries; "
                       "a skill proposes a new one as a pending decision"]


def test_an_approved_entry_cannot_be_changed_even_with_overrides(seed):
    changed = dict(APPROVED, decision="Use 'yield farming'")
    reasons = refused(seed, {"skill": "content-worker", "knowledge": {"brand_decisions": [changed]},
                             "overrides": ["knowledge.brand_decisions"]})
    assert reasons and reasons[0].startswith("knowledge.brand_decisions: ")


def test_overrides_cannot_remove_approved_entries(seed):
    before = seed.load()["knowledge"]["brand_decisions"]
    refused(seed, {"skill": "content-worker", "knowledge": {"brand_decisions": []},
                   "overrides": ["knowledge.brand_decisions"]})
    assert seed.load()["knowledge"]["brand_decisions"] == before


def test_an_approved_mapping_cannot_be_changed(repo, ws):
    text = SEED_CONTEXT.replace("    # Audience insights", '    messaging:\n      angle: "cross-chain"\n'
                                                            '      approved_by: "@phil"\n    # Audience insights', 1)
    assert "messaging:" in text
    write_seed_context(repo, text)
    camp = Campaign.open(campaign=CAMPAIGN)
    for extra in ({}, {"overrides": ["knowledge.messaging"]}, {"overrides": ["knowledge.messaging.angle"]}):
        reasons = refused(camp, {"skill": "content-worker", "knowledge": {"messaging": {"angle": "yield"}}, **extra})
        assert reasons == ["knowledge.messaging: approved by @phil; a skill cannot change an owner-approved entry"]


def test_a_skill_cannot_forge_an_approval(camp):
    forged = {"decision": "APY claims are fine", "approved_by": "@phil"}
    reasons = refused(camp, {"skill": "content-worker", "knowledge": {"apy_policy": forged}})
    assert reasons == ["knowledge.apy_policy: a skill cannot record an approval by @phil; "
                       "escalate it as a pending decision"]
    reasons = refused(camp, {"skill": "content-worker", "knowledge": {"brand_decisions": [forged]}})
    assert reasons[0].startswith("knowledge.brand_decisions: a skill cannot record an approval by @phil")


def test_a_skill_cannot_forge_an_approval_deeper_down(camp):
    forged = {"decision": "APY claims are fine", "approved_by": "@phil"}
    refused(camp, {"skill": "content-worker", "knowledge": {"policies": {"apy": [forged]}}})
    refused(camp, {"skill": "content-worker", "knowledge": {"policies": {"apy": {"current": forged}}}})
    assert "policies" not in camp.load()["knowledge"]


def test_a_skill_cannot_append_to_approved_entries(seed):
    proposal = {"decision": "Say 'real yield'"}
    reasons = refused(seed, {"skill": "content-worker", "knowledge": {"brand_decisions": [APPROVED, proposal]}})
    assert reasons == ["knowledge.brand_decisions: holds owner-approved entries; "
                       "a skill proposes a new one as a pending decision"]
    # Not even an entry it "approves" itself.
    self_approved = {"decision": "Say 'real yield'", "approved_by": "content-worker"}
    refused(seed, {"skill": "content-worker", "knowledge": {"brand_decisions": [self_approved]}})
    assert len(seed.load()["knowledge"]["brand_decisions"]) == 2


def test_a_decision_recorded_by_the_owner_is_protected(camp):
    camp.escalate("Which angle?", by="content-worker")
    camp.decide("decision-000", "cross-chain + self-custody", by="@phil", record_in="brand_decisions")
    entry = camp.load()["knowledge"]["brand_decisions"][0]
    assert entry["approved_by"] == "@phil"
    refused(camp, {"skill": "content-worker", "knowledge": {"brand_decisions": [dict(entry, decision="benefits")]}})
    refused(camp, {"skill": "content-worker", "knowledge": {"brand_decisions": [dict(entry, decision="benefits")]},
                   "overrides": ["knowledge.brand_decisions"]})
    assert camp.load()["knowledge"]["brand_decisions"] == [entry]


# -- what only the owner changes ------------------------------------------------------------------------------

@pytest.mark.parametrize("key, value, says", [
    ("decisions_made", [{"id": "decision-009", "decision": "yes"}], "tether ctx decide"),
    ("campaign", {"status": "published"}, "escalate it to @phil"),
    ("active_task", {"budget": {"max_tokens": 10 ** 9}}, "escalate it to @phil"),
])
@pytest.mark.parametrize("where", ["top", "context_updates"])
def test_owner_only_sections_are_refused(seed, key, value, says, where):
    result = {"skill": "content-worker", key: value} if where == "top" else {
        "skill": "content-worker", "context_updates": {key: value}}
    reasons = refused(seed, result)
    assert len(reasons) == 1 and reasons[0].startswith(f"{key}: ") and says in reasons[0]


def test_a_refusal_lists_every_reason(seed):
    reasons = refused(seed, {"skill": "cw", "campaign": {"tier": 1}, "knowledge": {"protocol": {"tvl": "$1"}}})
    assert [r.split(":")[0] for r in reasons] == ["campaign", "knowledge.protocol.tvl"]


def test_a_closed_context_takes_no_result(camp):
    camp.close(summary="done")
    with pytest.raises(Refused, match="closed"):
        camp.apply({"skill": "late", "compute": {"tokens_used": 1}})


# -- stale results, compare-and-swap, retries ----------------------------------------------------------------

def test_a_stale_result_is_refused_only_when_it_overlaps(camp):
    camp.apply({"skill": "product-oracle", "knowledge": {"product": {"chains": 28}}})          # rev 1
    base = camp.load()["revision"]
    camp.apply({"skill": "research-agent", "knowledge": {"protocol": {"tvl": "$50M"}}})         # rev 2
    # Based on rev 1, touching only what did not change since: applied.
    out = camp.apply({"skill": "product-oracle", "base_revision": base,
                      "knowledge": {"product": {"chains": 29}}, "artifacts": [{"path": "p.json"}]})
    assert out["revision"] == 3
    # Based on rev 1, overwriting what research-agent changed at rev 2: refused.
    reasons = refused(camp, {"skill": "research-agent", "base_revision": base,
                             "knowledge": {"protocol": {"tvl": "$60M"}}})
    assert reasons == ["knowledge.protocol.tvl: changed at revision 2 by research-agent after revision 1, "
                       "which this result was based on"]


def test_a_stale_result_that_writes_the_value_already_there_is_not_refused(camp):
    # An equal value changes nothing (the merge rules): based before the change, it overwrites nothing.
    base = camp.load()["revision"]
    camp.apply({"skill": "product-oracle", "knowledge": {"protocol": {"tvl": "$50M"}, "product": {"chains": 28}}})
    out = camp.apply({"skill": "research-agent", "base_revision": base,
                      "knowledge": {"protocol": {"tvl": "$50M"}, "product": {"chains": 28}}})
    assert camp.load()["knowledge"]["protocol"]["tvl"] == "$50M" and out["revision"] == base + 2
    reasons = refused(camp, {"skill": "product-oracle", "base_revision": base,
                             "knowledge": {"protocol": {"tvl": "$50M"}, "product": {"chains": 29}}})
    assert reasons == [f"knowledge.product.chains: changed at revision {base + 1} by product-oracle after revision"
                       f" {base}, which this result was based on"]  # only what it would overwrite


def test_a_stale_result_that_adds_a_sibling_key_is_not_refused(camp):
    # s1 creates knowledge.w with w.a; s2, based on the revision before, adds w.b, which never existed.
    camp.apply({"skill": "s1", "base_revision": 0, "knowledge": {"w": {"a": 1}}})
    out = camp.apply({"skill": "s2", "base_revision": 0, "knowledge": {"w": {"b": 2}}})
    assert out["changed"] == ["knowledge.w.b"]
    assert camp.load()["knowledge"]["w"] == {"a": 1, "b": 2}
    # What the later change did set is still stale for a result based before it (even s1's own):
    # w.a, and anything below a mapping it set whole.
    reasons = refused(camp, {"skill": "s1", "base_revision": 0, "knowledge": {"w": {"a": 5}}})
    assert reasons == ["knowledge.w.a: changed at revision 1 by s1 after revision 0, which this result was based on"]
    camp.apply({"skill": "s1", "knowledge": {"deep": {"x": {"y": 1}}}})                      # rev 3
    reasons = refused(camp, {"skill": "s1", "base_revision": 2, "knowledge": {"deep": {"x": {"y": 2}}}})
    assert reasons == ["knowledge.deep.x.y: changed at revision 3 by s1 after revision 2, "
                       "which this result was based on"]


def test_stale_siblings_from_many_skills_all_apply(camp):
    for n in range(8):  # every one based on revision 0, each adding its own key under one new parent
        camp.apply({"skill": f"s{n}", "base_revision": 0, "knowledge": {"w": {f"k{n}": n}}})
    assert camp.load()["knowledge"]["w"] == {f"k{n}": n for n in range(8)}


@pytest.mark.parametrize("first, second, path", [
    ({"artifacts": [{"path": "d/x.md", "status": "a"}]}, {"artifacts": [{"path": "d/x.md", "status": "b"}]},
     "artifacts[d/x.md]"),
    ({"validations": {"brand": {"status": "pass"}}}, {"validations": {"brand": {"status": "fail"}}},
     "validations.brand"),
])
def test_stale_artifacts_and_validations_are_refused(camp, first, second, path):
    base = camp.load()["revision"]
    camp.apply({"skill": "one", **first})
    reasons = refused(camp, {"skill": "two", "base_revision": base, **second})
    assert reasons == [f"{path}: changed at revision 1 by one after revision 0, which this result was based on"]


def test_appends_are_never_stale(camp):
    base = camp.load()["revision"]
    camp.apply({"skill": "one", "knowledge": {"learnings": ["a"]}, "pending_decisions": [{"question": "Q1?"}]})
    out = camp.apply({"skill": "two", "base_revision": base, "knowledge": {"learnings": ["b"]},
                      "pending_decisions": [{"question": "Q2?"}], "artifacts": [{"path": "other.md"}]})
    assert out["revision"] == 2
    assert camp.load()["knowledge"]["learnings"] == ["a", "b"]


def test_a_base_revision_from_the_future_is_an_error(camp):
    before = file_bytes(camp)
    with pytest.raises(InvalidInput, match="based on revision 7, but the context is at revision 0"):
        camp.apply({"skill": "s", "base_revision": 7})
    assert file_bytes(camp) == before


def test_expect_revision_is_a_compare_and_swap(camp):
    camp.apply({"skill": "s", "compute": {"tokens_used": 1}})
    reasons_before = file_bytes(camp)
    with pytest.raises(Refused, match="expected revision 0, the context is at revision 1"):
        camp.apply({"skill": "s", "compute": {"tokens_used": 1}}, expect_revision=0)
    assert file_bytes(camp) == reasons_before
    assert camp.apply({"skill": "s", "compute": {"tokens_used": 1}}, expect_revision=1)["revision"] == 2


def test_expect_revision_on_the_command_line(camp, cli):
    run = cli("ctx", "apply", "-", "--expect-revision", "3", input="skill: s\n")
    assert run.code == 4
    assert run.err.splitlines()[0] == "Error: stale update: expected revision 3, the context is at revision 0"
    data = cli("ctx", "apply", "-", "--expect-revision", "3", "--json", input="skill: s\n").json()
    assert data["ok"] is False and data["kind"] == "refused" and data["exit_code"] == 4
    run = cli("ctx", "apply", "-", "--expect-revision", "0", "--json", input="skill: s\n")
    assert run.code == 0 and run.json()["revision"] == 1


def test_an_invocation_applied_twice_is_refused(camp):
    result = {"skill": "content-worker", "invocation_id": "run-42", "compute": {"tokens_used": 30000},
              "artifacts": [{"path": "x.md"}]}
    camp.apply(result)
    reasons = refused(camp, result)
    assert reasons == ["invocation_id: run-42 was already applied; a retry must not count twice"]
    compute = camp.load()["compute"]
    assert compute["tokens_used"] == 30000 and compute["skills_invoked"] == 1 and len(compute["invocation_log"]) == 1
    assert camp.apply(dict(result, invocation_id="run-43"))["revision"] == 2


# -- nothing half-applied -----------------------------------------------------------------------------------

def test_a_refusal_after_valid_parts_applies_none_of_them(camp):
    camp.apply({"skill": "product-oracle", "knowledge": {"product": {"chains": 28}}})
    before = camp.load()
    refused(camp, {"skill": "cw", "artifacts": [{"path": "new.md"}], "pending_decisions": [{"question": "Q?"}],
                   "validations": {"v": {"status": "pass"}}, "compute": {"tokens_used": 5000},
                   "knowledge": {"fresh": 1, "product": {"chains": 30}}})
    assert camp.load() == before


def test_an_invalid_deadline_in_a_result_leaves_the_file_as_it_was(camp):
    before = file_bytes(camp)
    with pytest.raises(InvalidInput, match="deadline"):
        camp.apply({"skill": "cw", "knowledge": {"fresh": 1}, "artifacts": [{"path": "a.md"}],
                    "pending_decisions": [{"question": "Q?", "deadline": "next week"}]})
    assert file_bytes(camp) == before


# -- history ---------------------------------------------------------------------------------------------------

def test_the_history_entry_names_the_revision_and_every_changed_path(seed):
    out = seed.apply({"skill": "content-worker", "summary": "drafted the thread", "next_suggested": "brand-validator",
                      "knowledge": {"protocol": {"audits": ["ToB"]}, "past_learnings": ["Threads win"]},
                      "artifacts": [{"path": "t.md"}], "pending_decisions": [{"question": "Q?"}],
                      "validations": {"self_check": {"status": "pass"}}, "compute": {"tokens_used": 10}})
    doc = seed.load()
    entry = doc["history"][-1]
    assert entry == {"action": "skill_result_applied", "timestamp": NOW, "actor": "content-worker",
                     "details": "drafted the thread; next suggested: brand-validator", "revision": 1,
                     "changed": ["knowledge.protocol.audits", "knowledge.past_learnings[+]", "artifacts[t.md]",
                                 "pending_decisions[decision-002]", "validations.self_check"]}
    assert out["changed"] == entry["changed"] and out["revision"] == doc["revision"] == 1
    assert doc["last_updated"] == NOW
    assert len(doc["history"]) == 4   # the seed's three, and this one


def test_every_apply_bumps_the_revision_by_one(camp):
    for n in range(1, 4):
        assert camp.apply({"skill": "s"})["revision"] == n
    assert [h.get("revision") for h in camp.load()["history"]] == [0, 1, 2, 3]


def test_the_first_result_moves_kickoff_to_in_progress(camp):
    assert camp.load()["campaign"]["status"] == "kickoff"
    camp.apply({"skill": "s"})
    assert camp.load()["campaign"]["status"] == "in_progress"


# -- the shapes a result comes in ----------------------------------------------------------------------------------

def test_the_seeds_skill_result_handoff_is_accepted(seed):
    out = seed.apply(yaml.safe_load(SEED_SKILL_RESULT))
    assert out["skill"] == "content-worker" and out["next_suggested"] == "brand-validator"
    assert out["tokens"] == 30000 and out["decisions"] == [{"id": "decision-002", "added": True}]
    doc = seed.load()
    assert doc["artifacts"][-1] == {"type": "draft_x_post", "path": "...", "produced_by": "content-worker",
                                    "timestamp": NOW}
    assert doc["pending_decisions"][-1]["question"] == "APY claims?"
    assert doc["compute"]["tokens_used"] == 75000


def test_the_seeds_context_update_is_accepted_with_the_skill_named(seed):
    update = yaml.safe_load(SEED_CONTEXT_UPDATE)
    with pytest.raises(InvalidInput, match="names no skill"):
        seed.apply(update)
    out = seed.apply(update, skill="content-worker")
    # Its draft is the seed's own x_post (upserted), its question is the seed's pending decision-001.
    assert out["changed"] == ["artifacts[.gtm/YIELD-XYZ-001/drafts/x_post.md]"]
    assert out["decisions"] == [{"id": "decision-001", "added": False}]
    doc = seed.load()
    assert len(doc["artifacts"]) == 3 and doc["compute"]["tokens_used"] == 75000


def test_artifacts_from_outputs_and_updates_are_all_kept(camp):
    camp.apply({"skill_result": {"skill": "cw", "outputs": {"artifacts": [{"path": "a.md"}]},
                                 "context_updates": {"artifacts": [{"path": "b.md"}]},
                                 "artifacts": [{"path": "c.md"}]}})
    assert sorted(a["path"] for a in camp.load()["artifacts"]) == ["a.md", "b.md", "c.md"]


def test_a_section_given_twice_is_an_error(camp):
    with pytest.raises(InvalidInput, match="knowledge is given twice"):
        camp.apply({"skill": "cw", "knowledge": {"a": 1}, "context_updates": {"knowledge": {"b": 2}}})


# -- the command line ---------------------------------------------------------------------------------------------

def test_apply_a_file_and_stdin(camp, cli, repo):
    (repo / "result.yaml").write_text(SEED_SKILL_RESULT)
    run = cli("ctx", "apply", "result.yaml")
    assert run.code == 0, run.err
    assert run.out.splitlines() == [
        "Applied content-worker's result (success): revision 1",
        "  changed artifacts[...]",
        "  changed pending_decisions[decision-000]",
        "  decision decision-000",
        "  compute: +30000 tokens; left: 9 skill calls, 70000 tokens",
        "  next suggested: brand-validator"]
    run = cli("ctx", "apply", "-", "--skill", "content-worker", "--json", input=SEED_CONTEXT_UPDATE)
    assert run.code == 0, run.out
    data = run.json()
    assert data["ok"] is True and data["command"] == "ctx" and data["context"] == ".tether/contexts/C-1/session_context.yaml"
    assert data["revision"] == 2 and data["skill"] == "content-worker" and data["tokens"] == 30000
    assert data["budget"] == {"calls": 8, "tokens": 40000, "deadline": "2026-01-30T12:00:00Z"}
    # JSON is YAML too.
    run = cli("ctx", "apply", "-", input=json.dumps({"skill": "s", "compute": {"tokens_used": 1}}))
    assert run.code == 0 and "revision 3" in run.out


def test_a_refusal_on_the_command_line_exits_4_with_every_reason(seed, cli):
    before = file_bytes(seed)
    run = cli("ctx", "apply", "-", "--campaign", CAMPAIGN,
              input="skill: cw\ncampaign: {tier: 1}\nknowledge: {protocol: {tvl: $1}}\n")
    assert run.code == 4 and run.out == ""
    lines = run.err.splitlines()
    assert lines[0] == "Error: cw's result was refused (2 reasons)"
    assert lines[1].startswith("  - campaign: ") and lines[2].startswith("  - knowledge.protocol.tvl: ")
    assert lines[3] == "Hint: nothing was applied; fix the result or escalate to @phil"
    data = cli("ctx", "apply", "-", "--campaign", CAMPAIGN, "--json",
               input="skill: cw\ncampaign: {tier: 1}\nknowledge: {protocol: {tvl: $1}}\n").json()
    assert data["ok"] is False and data["kind"] == "refused" and data["exit_code"] == 4
    assert [r.split(":")[0] for r in data["reasons"]] == ["campaign", "knowledge.protocol.tvl"]
    assert file_bytes(seed) == before


BAD_RESULTS = [
    ("a_list", "- 1\n- 2\n", "a skill result must be a mapping", "tether ctx schema skill_result"),
    ("a_string", "just text\n", "a skill result must be a mapping", "tether ctx schema skill_result"),
    ("empty", "", "a skill result must be a mapping", "tether ctx schema skill_result"),
    ("tokens_not_integer", "skill: s\ncompute: {tokens_used: lots}\n",
     'skill result: compute.tokens_used: expected an integer, got "lots"', "tether ctx schema skill_result"),
    ("unknown_top_key", "skill: s\nknowlege: {a: 1}\n", "skill result: (top level): unknown field 'knowlege'",
     "tether ctx schema skill_result"),
    ("unknown_compute_key", "skill: s\ncompute: {tokens: 5}\n",
     "skill result: compute: unknown field 'tokens' (known: tokens_used)", "tether ctx schema skill_result"),
    ("artifact_without_path", "skill: s\nartifacts: [{type: draft}]\n",
     "skill result: artifacts[0]: missing required field 'path'", "tether ctx schema skill_result"),
    ("bad_status", "skill: s\nstatus: done\n",
     'skill result: status: expected one of success, partial, failure, error, got "done"',
     "tether ctx schema skill_result"),
    ("no_skill", "compute: {tokens_used: 5}\n", "the result names no skill", "--skill NAME"),
]


@pytest.mark.parametrize("text, error, hint", [b[1:] for b in BAD_RESULTS], ids=[b[0] for b in BAD_RESULTS])
def test_bad_result_input_is_one_line_and_a_hint(camp, cli, text, error, hint):
    before = file_bytes(camp)
    run = cli("ctx", "apply", "-", input=text)
    assert run.code == 1 and run.out == ""
    first, second = run.err.splitlines()
    assert first.startswith(f"Error: {error}"), first
    assert second.startswith("Hint: ") and hint in second
    data = cli("ctx", "apply", "-", "--json", input=text).json()
    assert data["ok"] is False and data["kind"] == "invalid_input" and data["exit_code"] == 1
    assert data["error"].startswith(error) and hint in data["hint"]
    assert file_bytes(camp) == before


@pytest.mark.parametrize("text, where", [
    ("skill: s\nartifacts: [{path: a.md, timestamp: soon}]\n", "artifacts[0].timestamp"),
    ("skill: s\nvalidations: {brand: {status: pass, last_run: yesterday}}\n", "validations.brand.last_run"),
    ("skill: s\nhistory: [{action: x, revision: oops}]\n", "history[0].revision"),
])
def test_a_malformed_field_is_blamed_on_the_result_not_on_tether(camp, cli, text, where):
    # The result schema admits these fields; whatever tether does with them, it must not write them
    # into an invalid context, nor call the skill's mistake a bug in tether.
    before = file_bytes(camp)
    run = cli("ctx", "apply", "-", input=text)
    if run.code == 0:
        assert cli("ctx", "validate").code == 0
        return
    assert run.code == 1 and file_bytes(camp) == before
    first, hint = run.err.splitlines()
    assert first.startswith(f"Error: skill result: {where}: "), first
    assert "bug" not in hint, hint


def test_unreadable_result_files(camp, cli, repo):
    run = cli("ctx", "apply", "missing.yaml")
    assert run.code == 1 and run.err.startswith("Error: cannot read missing.yaml")
    (repo / "broken.yaml").write_text("skill: s\ncompute: {tokens_used: [\n")
    run = cli("ctx", "apply", "broken.yaml")
    assert run.code == 1 and run.err.startswith("Error: broken.yaml:")
    assert "invalid YAML" in run.err.splitlines()[0]
