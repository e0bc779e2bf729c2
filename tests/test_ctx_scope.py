"""The scope checker (seed 004, "Scope Enforcement"): ALLOWED/BLOCKED, and the rule that decided it.

The checker is rule-based and frozen: these tests pin its answers on explicit cases
of every rule kind, and its precision and recall on the labelled request sets in
bench/scope/ (tuning.yaml is for tuning, heldout.yaml for evaluation only).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml

from tether.campaign import scope
from tether.errors import InvalidInput

BENCH = Path(__file__).resolve().parents[1] / "bench" / "scope"
SEED_GTM = "YIELD-XYZ-001"

ONLY_CHANNELS = "boundary: Only channels: X, Discord, Farcaster, Blog"
NO_PARTNERS = "boundary: No partner mentions without approval"
NO_APY = "boundary: No APY claims without verified source"
PAID = "out_of_scope: Paid promotion (not this campaign)"
OUTREACH = "out_of_scope: Partner outreach (separate task)"
ANNOUNCE = "objective: Create announcement posts for X, Discord, Farcaster"
OUTLINE = "objective: Draft blog post outline"


def load_set(name: str) -> dict:
    with open(BENCH / f"{name}.yaml", encoding="utf-8") as fh:
        return yaml.safe_load(fh)


@pytest.fixture(scope="module")
def seed_doc() -> dict:
    """The seed's Yield.xyz session context (copied verbatim into the tuning set)."""
    return load_set("tuning")["contexts"]["yield_xyz_launch"]["session_context"]


@pytest.fixture
def seed(seed_doc) -> dict:
    return copy.deepcopy(seed_doc)


def check(doc: dict, request: str):
    return scope.check(doc, request)


# -- the seed's own example ------------------------------------------------------------

def test_the_seeds_youtube_example_is_blocked_by_the_channel_boundary(seed):
    verdict = check(seed, "Also create a YouTube video script")
    assert verdict.result == "BLOCKED" and not verdict.allowed
    assert verdict.rule == ONLY_CHANNELS
    assert "YouTube" in verdict.reason and "outside the allowed channels" in verdict.reason
    assert verdict.action == "Request denied. Create a separate task if needed."
    assert verdict.to_dict() == {"result": "BLOCKED", "reason": verdict.reason, "rule": ONLY_CHANNELS,
                                 "action": verdict.action}


# -- out_of_scope items ------------------------------------------------------------------

@pytest.mark.parametrize("request_text, rule", [
    ("Run paid promotion for the launch.", PAID),
    ("Boost the X thread with $500 of promoted tweets.", PAID),       # allowed channel, paid all the same
    ("Set up sponsored casts on Farcaster to amplify the launch.", PAID),
    ("Reach out to our partners about the launch.", OUTREACH),
    ("DM the Tokemak team to coordinate a joint announcement.", OUTREACH),
])
def test_a_request_matching_an_out_of_scope_item_is_blocked_by_it(seed, request_text, rule):
    verdict = check(seed, request_text)
    assert (verdict.result, verdict.rule) == ("BLOCKED", rule)
    assert verdict.action == "Request denied. Create a separate task if needed."


def test_out_of_scope_concepts_come_from_the_contexts_vocabulary_too(seed):
    request = "Get a few accounts to shill the X thread."
    assert check(seed, request).allowed  # "shill" means nothing to the built-in lexicon
    seed["active_task"]["scope"]["vocabulary"] = {"paid_promotion": ["shill"]}
    verdict = check(seed, request)
    assert (verdict.result, verdict.rule) == ("BLOCKED", PAID)


def test_the_out_of_scope_reason_names_the_item_once(seed):
    # The item carries its own reason in parentheses: the answer should not repeat it.
    verdict = check(seed, "Run paid promotion for the launch.")
    assert verdict.rule == PAID
    assert verdict.reason.count("(not this campaign)") == 1, verdict.reason


# -- structured boundaries ("Only channels: ...") -------------------------------------------

@pytest.mark.parametrize("request_text, named", [
    ("Write a Telegram announcement for the Yield.xyz integration.", "Telegram"),
    ("Draft a LinkedIn post about the integration.", "LinkedIn"),
    ("Share the announcement in an IG story.", "IG story"),
    ("Post the announcement to r/defi.", "r/defi"),
    ("Write an email newsletter to our subscribers about the integration.", "email newsletter"),
    ("Write the X announcement and a TikTok version of it too.", "TikTok"),  # one bad channel is enough
])
def test_a_channel_outside_the_only_channels_boundary_is_blocked(seed, request_text, named):
    verdict = check(seed, request_text)
    assert (verdict.result, verdict.rule) == ("BLOCKED", ONLY_CHANNELS)
    assert named in verdict.reason


@pytest.mark.parametrize("request_text", [
    "Write the announcement for X.",
    "Tweet the Yield.xyz integration announcement.",          # tweet = X
    "Post the integration announcement on Twitter.",          # Twitter = X
    "Write a Farcaster cast announcing the integration.",
    "Write the Discord announcement for the launch.",
])
def test_allowed_channels_and_their_synonyms_pass_the_channel_boundary(seed, request_text):
    verdict = check(seed, request_text)
    assert (verdict.result, verdict.rule) == ("ALLOWED", ANNOUNCE)
    assert verdict.action == "Proceed"


def test_only_regions_and_limited_to_languages_are_structured_boundaries_too():
    doc = {
        "campaign": {"gtm_id": "CARD-1", "title": "Card launch", "campaign_owner": "@dana", "status": "in_progress"},
        "active_task": {"description": "Launch content for the card", "scope": {
            "objectives": ["Write the release announcement for the blog"],
            "boundaries": ["Only regions: EU, UK", "Content limited to English, German"],
            "out_of_scope": []}},
    }
    regions, languages = "boundary: Only regions: EU, UK", "boundary: Content limited to English, German"
    base = "Write the release announcement for the blog"
    assert (check(doc, base + " for readers in the US").rule) == regions
    assert not check(doc, base + " for readers in the US").allowed
    assert check(doc, base + " for readers in Germany").allowed      # an EU member is part of the EU
    french = check(doc, base + " in French")
    assert (french.result, french.rule) == ("BLOCKED", languages)
    assert check(doc, base + " in German").allowed


# -- prohibitions with conditions ----------------------------------------------------------

def test_an_apy_claim_without_a_source_is_blocked_by_the_apy_boundary(seed):
    verdict = check(seed, "Say in the X thread that the vaults earn 5-15% APY.")
    assert (verdict.result, verdict.rule) == ("BLOCKED", NO_APY)
    assert "without verified source" in verdict.reason
    assert verdict.action.startswith("Escalate to @phil")


def test_an_apy_claim_that_cites_a_verified_source_meets_the_condition(seed):
    verdict = check(seed, "Say in the X thread that the vaults earn 5-15% APY, citing the verified source (link attached).")
    assert verdict.allowed
    assert verdict.rule == ANNOUNCE


def test_naming_partners_without_approval_is_blocked(seed):
    verdict = check(seed, "Write a Farcaster cast comparing Yield.xyz vaults with Yearn and Tokemak.")
    assert (verdict.result, verdict.rule) == ("BLOCKED", NO_PARTNERS)
    assert "yearn" in verdict.reason.lower() and "tokemak" in verdict.reason.lower()


def test_an_approval_stated_in_the_request_meets_the_partner_condition(seed):
    assert not check(seed, "Mention Yearn in the Farcaster cast.").allowed
    verdict = check(seed, "Mention Yearn in the Farcaster cast; @phil approved naming Yearn.")
    assert verdict.allowed and verdict.rule == ANNOUNCE


def test_the_campaigns_own_subject_is_not_a_partner(seed):
    verdict = check(seed, "Mention Yield.xyz's $50M TVL in the Farcaster cast.")
    assert verdict.allowed and verdict.rule == ANNOUNCE


def decided(doc: dict, decision_id: str, question: str, decision: str) -> None:
    doc["decisions_made"].append({"id": decision_id, "question": question, "decision": decision,
                                  "decided_by": "@phil", "timestamp": "2026-01-29T12:00:00Z"})


def test_an_affirmative_decision_naming_the_same_partner_meets_the_condition(seed):
    request = "Mention Yearn in the Farcaster cast."
    assert check(seed, request).rule == NO_PARTNERS
    decided(seed, "decision-002", "Can we name Yearn in the posts?", "Yes - Yearn approved being named")
    verdict = check(seed, request)
    assert verdict.allowed and verdict.rule == ANNOUNCE


def test_a_decision_about_one_partner_does_not_clear_another(seed):
    decided(seed, "decision-002", "Can we name Yearn in the posts?", "Yes - Yearn approved being named")
    both = check(seed, "Write a Farcaster cast comparing Yield.xyz vaults with Yearn and Tokemak.")
    assert (both.result, both.rule) == ("BLOCKED", NO_PARTNERS)
    assert "tokemak" in both.reason.lower()


def test_a_negative_decision_does_not_meet_the_condition(seed):
    decided(seed, "decision-002", "Can we name Tokemak?", "No - Tokemak has not agreed to be named")
    verdict = check(seed, "Mention Tokemak in the Farcaster cast.")
    assert (verdict.result, verdict.rule) == ("BLOCKED", NO_PARTNERS)


def test_an_affirmative_decision_on_the_same_figures_clears_exactly_those_figures(seed):
    decided(seed, "decision-002", "Can we quote the APY range?", "Approved: say 5-15% APY with a variability disclaimer")
    assert check(seed, "Say in the X thread that the vaults earn 5-15% APY.").allowed
    other = check(seed, "Say in the X thread that the vaults earn 20% APY.")
    assert (other.result, other.rule) == ("BLOCKED", NO_APY)


def test_a_pending_decision_is_not_an_approval(seed):
    # The seed's decision-001 on APY ranges is still awaiting a response.
    assert any("APY" in d["question"] for d in seed["pending_decisions"])
    assert check(seed, "Headline the Discord post with 'Earn up to 15% APY'.").rule == NO_APY


def test_a_needs_sign_off_boundary_blocks_until_the_request_meets_it():
    doc = {
        "campaign": {"gtm_id": "NIM-1", "title": "Nimbus SDK v3 launch", "campaign_owner": "@dana", "status": "in_progress"},
        "active_task": {"description": "Launch content for the Nimbus SDK v3 release", "scope": {
            "objectives": ["Write the newsletter section about the release"],
            "boundaries": ["Pricing needs sign-off from @dana"], "out_of_scope": []}},
    }
    blocked = check(doc, "Say in the newsletter that the Pro plan costs $20/month.")
    assert (blocked.result, blocked.rule) == ("BLOCKED", "boundary: Pricing needs sign-off from @dana")
    assert check(doc, "Say in the newsletter that the Pro plan costs $20/month; @dana signed off on the price.").allowed


def test_never_mention_a_named_company_blocks_mentioning_it():
    # The module's own example: "Never mention X". X here is one capitalised name.
    doc = {
        "campaign": {"gtm_id": "NIM-1", "title": "Nimbus SDK v3 launch", "campaign_owner": "@dana", "status": "in_progress"},
        "active_task": {"description": "Launch content for the Nimbus SDK v3 release", "scope": {
            "objectives": ["Write the release announcement for the blog"],
            "boundaries": ["Never mention Globex"], "out_of_scope": []}},
    }
    verdict = check(doc, "Mention Globex in the release announcement on the blog.")
    assert (verdict.result, verdict.rule) == ("BLOCKED", "boundary: Never mention Globex")


# -- negation ------------------------------------------------------------------------------

@pytest.mark.parametrize("request_text", [
    "Draft the X thread only - no paid boost, we are keeping this one organic.",
    "Write the Discord announcement, without any sponsored posts.",
    "Write the X post without quoting any APY figure.",
    "Write the X announcement and do not name any partners.",
])
def test_a_negated_mention_does_not_trigger_a_rule(seed, request_text):
    verdict = check(seed, request_text)
    assert (verdict.result, verdict.rule) == ("ALLOWED", ANNOUNCE)


# -- asking the owner, objectives, off-task -------------------------------------------------

@pytest.mark.parametrize("request_text", [
    "Ask @phil whether we can mention the 5-15% APY range.",
    "Ask @phil whether we can run paid promotion.",       # the topic is out of scope; asking is not
    "Check with @phil if we can name Yearn.",
])
def test_asking_the_owner_is_allowed(seed, request_text):
    verdict = check(seed, request_text)
    assert (verdict.result, verdict.rule) == ("ALLOWED", "ask the owner")


def test_a_request_serving_an_objective_is_allowed_and_names_it(seed):
    verdict = check(seed, "Draft the blog post outline for the launch.")
    assert (verdict.result, verdict.rule) == ("ALLOWED", OUTLINE)
    assert "Draft blog post outline" in verdict.reason


@pytest.mark.parametrize("request_text", [
    "Refactor the swap router's retry logic.",
    "Write the Q1 hiring plan for the growth team.",
])
def test_an_off_task_request_is_blocked_by_the_objectives(seed, request_text):
    verdict = check(seed, request_text)
    assert (verdict.result, verdict.rule) == ("BLOCKED", "objectives")
    assert verdict.reason == "The request serves none of the task's objectives"


def test_an_empty_request_is_an_input_error(seed):
    with pytest.raises(InvalidInput):
        check(seed, "   ")


# -- precision and recall on the labelled sets ---------------------------------------------

def confusion(name: str) -> dict:
    data = load_set(name)
    counts = {"tp": 0, "fp": 0, "fn": 0, "tn": 0}
    for item in data["requests"]:
        assert item["expected"] in ("ALLOWED", "BLOCKED"), item
        doc = data["contexts"][item["context"]]["session_context"]
        blocked = not scope.check(doc, item["request"]).allowed
        expected = item["expected"] == "BLOCKED"
        counts[("t" if blocked == expected else "f") + ("p" if blocked else "n")] += 1
    return counts


# BLOCKED is the positive class. Floors sit a few points below the figures measured when the
# checker was frozen (tuning: P 1.000, R 1.000; heldout: P 0.865 = 45/52, R 0.918 = 45/49),
# so a regression fails here; bench/ reports the figures themselves.
FLOORS = {"tuning": (0.96, 0.96), "heldout": (0.83, 0.88)}


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_blocked_precision_and_recall_stay_above_their_floors(name):
    counts = confusion(name)
    assert counts["tp"] + counts["fn"] > 0 and counts["tn"] + counts["fp"] > 0  # both classes are labelled
    precision = counts["tp"] / max(1, counts["tp"] + counts["fp"])
    recall = counts["tp"] / (counts["tp"] + counts["fn"])
    floor_p, floor_r = FLOORS[name]
    assert precision >= floor_p and recall >= floor_r, (
        f"{name}: precision {precision:.3f} (floor {floor_p}), recall {recall:.3f} (floor {floor_r}); {counts}")


def test_both_sets_hold_the_seeds_example_as_blocked():
    for name in ("tuning", "heldout"):
        items = [i for i in load_set(name)["requests"] if i["request"] == "Also create a YouTube video script"]
        assert items and all(i["expected"] == "BLOCKED" for i in items)


# -- the CLI -------------------------------------------------------------------------------

@pytest.fixture
def seed_ctx(ws, repo, seed_doc, monkeypatch) -> Path:
    monkeypatch.setenv("TETHER_NOW", "2026-01-29T15:00:00Z")
    path = repo / ".tether" / "contexts" / SEED_GTM / "session_context.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(yaml.safe_dump({"session_context": seed_doc}, sort_keys=False), encoding="utf-8")
    return path


def compute(cli) -> dict:
    run = cli("ctx", "show", "--section", "compute", "--json")
    assert run.code == 0, run.err
    return run.json()["session_context"]["compute"]


def test_cli_check_scope_blocked_exits_4_with_reason_rule_and_action(seed_ctx, cli):
    run = cli("ctx", "check-scope", "Also create a YouTube video script")
    assert run.code == 4
    assert run.out.startswith("BLOCKED: YouTube is outside the allowed channels")
    assert f"rule: {ONLY_CHANNELS}" in run.out
    assert "action: Request denied. Create a separate task if needed." in run.out


def test_cli_check_scope_allowed_exits_0(seed_ctx, cli):
    run = cli("ctx", "check-scope", "--campaign", SEED_GTM, "Draft the blog post outline for the launch.")
    assert run.code == 0, run.err
    assert run.out.startswith("ALLOWED: ")
    assert f"rule: {OUTLINE}" in run.out


def test_cli_check_scope_json_fields(seed_ctx, cli):
    run = cli("ctx", "check-scope", "--json", "Also create a YouTube video script")
    assert run.code == 4
    data = run.json()
    assert data["result"] == "BLOCKED"
    assert data["rule"] == ONLY_CHANNELS
    assert "YouTube" in data["reason"]
    assert data["action"] == "Request denied. Create a separate task if needed."
    assert data["context"] == f".tether/contexts/{SEED_GTM}/session_context.yaml"
    allowed = cli("ctx", "check-scope", "--json", "Tweet the Yield.xyz integration announcement.")
    assert allowed.code == 0
    assert {k: allowed.json()[k] for k in ("result", "rule", "action")} == {
        "result": "ALLOWED", "rule": ANNOUNCE, "action": "Proceed"}


def test_cli_check_scope_log_as_logs_a_blocked_check(seed_ctx, cli):
    before = compute(cli)
    assert cli("ctx", "check-scope", "--log-as", "content-worker", "Also create a YouTube video script").code == 4
    after = compute(cli)
    assert after["invocation_log"][:-1] == before["invocation_log"]
    assert after["invocation_log"][-1] == {"skill": "content-worker", "timestamp": "2026-01-29T15:00:00Z",
                                           "tokens": 0, "result": "blocked"}
    # A blocked request ran nothing: it costs neither a skill call nor tokens.
    assert (after["skills_invoked"], after["tokens_used"]) == (before["skills_invoked"], before["tokens_used"])
    history = cli("ctx", "show", "--section", "history", "--json").json()["session_context"]["history"]
    assert history[-1]["action"] == "skill_blocked" and history[-1]["actor"] == "content-worker"
    assert "Also create a YouTube video script" in history[-1]["details"]


def test_cli_check_scope_logs_nothing_when_allowed_or_not_asked_to(seed_ctx, cli):
    text = seed_ctx.read_bytes()
    assert cli("ctx", "check-scope", "--log-as", "content-worker", "Draft the blog post outline.").code == 0
    assert cli("ctx", "check-scope", "Also create a YouTube video script").code == 4
    assert seed_ctx.read_bytes() == text  # a check alone changes nothing


def test_cli_check_scope_empty_request_is_a_user_error(seed_ctx, cli):
    run = cli("ctx", "check-scope", "--json", " ")
    assert run.code == 1
    assert json.loads(run.out)["ok"] is False
