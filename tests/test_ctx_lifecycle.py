"""The session context's lifecycle (seed 004): kickoff -> in_progress -> review -> published -> closed,
decisions (escalate, decide, overdue), close (archive, learnings and decisions kept in memory)
and projections (`tether ctx for SKILL`: what each skill receives).
"""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path

import pytest
import yaml

from tether import Workspace
from tether.campaign import projection
from tether.model.tokens import estimate
from ctx_seed import write_context

NOW = "2026-01-29T10:00:00Z"
GTM = "YIELD-XYZ-001"
TASK_DEADLINE = "2026-01-30T12:00:00Z"
LIVE = f".tether/contexts/{GTM}/session_context.yaml"


@pytest.fixture
def pinned(monkeypatch):
    monkeypatch.setenv("TETHER_NOW", NOW)
    monkeypatch.setenv("TETHER_SESSION_ID", "S-ctx")


@pytest.fixture
def started(ws, cli, pinned):
    """A kickoff context made by `tether ctx init`, with the seed's scope and budget."""
    run = cli("ctx", "init", "--campaign", GTM, "--owner", "@phil", "--title", "Yield.xyz Integration Launch",
              "--tier", "2", "--type", "content_generation",
              "--description", "Generate Tier 2 content for Yield.xyz integration",
              "--objective", "Create announcement posts for X, Discord, Farcaster",
              "--objective", "Draft blog post outline",
              "--boundary", "Only channels: X, Discord, Farcaster, Blog",
              "--boundary", "No APY claims without verified source",
              "--out-of-scope", "Paid promotion (not this campaign)",
              "--max-skill-calls", "10", "--max-tokens", "100000", "--deadline", TASK_DEADLINE, "--json")
    assert run.code == 0, run.err
    return run.json()


def put_seed(repo: Path, doc: dict, where: str = LIVE) -> Path:
    return write_context(repo, doc, where)


def show(cli, *args: str) -> dict:
    run = cli("ctx", "show", "--json", *args)
    assert run.code == 0, run.err
    return run.json()["session_context"]


def apply(cli, repo: Path, result: dict, *args: str):
    path = repo / "result.json"
    path.write_text(json.dumps(result), encoding="utf-8")
    return cli("ctx", "apply", str(path), *args)


DRAFT = {"skill_result": {"skill": "content-worker", "status": "success",
                          "outputs": {"artifacts": [{"type": "draft_x_post", "path": "drafts/x_post.md",
                                                     "status": "pending_review"}]},
                          "context_updates": {"compute": {"tokens_used": 30000}}}}


# -- stages ---------------------------------------------------------------------------------

def test_kickoff_context_from_init(started, cli):
    assert started["campaign"] == GTM and started["context"] == LIVE and started["past_learnings"] == 0
    doc = show(cli)
    assert doc["id"] == started["id"] and doc["id"].startswith("session-2026-01-29-")
    assert doc["revision"] == 0
    assert doc["campaign"] == {"gtm_id": GTM, "title": "Yield.xyz Integration Launch", "tier": 2,
                               "campaign_owner": "@phil", "status": "kickoff"}
    assert doc["active_task"]["budget"] == {"max_skill_calls": 10, "max_tokens": 100000, "deadline": TASK_DEADLINE}
    assert doc["knowledge"] == {}
    assert (doc["compute"]["budget_remaining"], doc["compute"]["budget_tokens_remaining"]) == (10, 100000)
    assert doc["history"][0]["action"] == "session_started"
    assert cli("ctx", "validate").code == 0


def test_init_twice_for_one_campaign_is_refused(started, cli):
    run = cli("ctx", "init", "--campaign", GTM, "--owner", "@phil")
    assert run.code == 1
    assert "already exists" in run.err


@pytest.mark.parametrize("option, said", [
    (("--deadline", "yesterday"), "active_task.budget.deadline: expected an ISO 8601 time"),
    (("--max-skill-calls", "-5"), "active_task.budget.max_skill_calls: must be at least 0, got -5"),
])
def test_init_with_a_value_the_context_cannot_hold_is_the_users_to_fix(ws, cli, repo, option, said):
    run = cli("ctx", "init", "--campaign", "C2", "--owner", "@x", *option)
    assert run.code == 1 and run.err.startswith(f"Error: {said}"), run.err
    assert "bug" not in run.err and "nothing was written" in run.err
    assert not (repo / ".tether" / "contexts" / "C2").exists()


def test_the_lifecycle_from_kickoff_to_closed(started, cli, repo):
    assert show(cli)["campaign"]["status"] == "kickoff"
    assert apply(cli, repo, DRAFT).code == 0                      # the first applied result starts the work
    assert show(cli)["campaign"]["status"] == "in_progress"
    run = cli("ctx", "stage", "review", "--json")
    assert run.code == 0, run.err
    assert (run.json()["from"], run.json()["to"]) == ("in_progress", "review")
    doc = show(cli)
    assert doc["campaign"]["status"] == "review"
    assert doc["history"][-1]["action"] == "status_changed"
    assert doc["history"][-1]["details"] == "in_progress -> review"
    # A result applied during review does not move the campaign back to in_progress.
    validation = {"skill": "brand-validator", "validations": {"brand_validator": {"status": "pass", "issues": []}}}
    assert apply(cli, repo, validation).code == 0
    assert show(cli)["campaign"]["status"] == "review"
    assert cli("ctx", "stage", "published").code == 0
    assert show(cli)["campaign"]["status"] == "published"
    listing = cli("ctx", "list", "--json").json()["contexts"]
    assert [(c["campaign"], c["status"]) for c in listing] == [(GTM, "published")]
    assert cli("ctx", "close", "--summary", "Published on all channels").code == 0
    assert show(cli, "--campaign", GTM)["campaign"]["status"] == "closed"
    assert show(cli, "--campaign", GTM)["campaign"]["closed_at"] == NOW


def test_stage_rejects_unknown_repeated_and_closed(started, cli):
    bad = cli("ctx", "stage", "shipped")
    assert bad.code == 1 and "unknown stage" in bad.err
    same = cli("ctx", "stage", "kickoff")
    assert same.code == 1 and "already kickoff" in same.err
    closing = cli("ctx", "stage", "closed")
    assert closing.code == 1 and "tether ctx close" in closing.err
    assert show(cli)["campaign"]["status"] == "kickoff"
    assert cli("ctx", "close").code == 0
    after = cli("ctx", "stage", "review", "--campaign", GTM)
    assert after.code == 1 and "closed" in after.err


# -- decisions ----------------------------------------------------------------------------------

def test_escalate_adds_a_pending_decision_for_the_owner_by_the_task_deadline(started, cli):
    run = cli("ctx", "escalate", "Can we mention specific APY ranges?", "--json",
              "--context-text", "Yield.xyz vaults show 5-15% APY but rates fluctuate",
              "--option", "Yes, with disclaimer about variability", "--option", "No, just say 'competitive yields'")
    assert run.code == 0, run.err
    pending = show(cli)["pending_decisions"]
    assert pending == [{"id": "decision-000", "question": "Can we mention specific APY ranges?",
                        "context": "Yield.xyz vaults show 5-15% APY but rates fluctuate",
                        "options": ["Yes, with disclaimer about variability", "No, just say 'competitive yields'"],
                        "escalated_to": "@phil", "escalated_at": NOW, "status": "awaiting_response",
                        "deadline": TASK_DEADLINE}]
    assert run.json()["decision"]["added"] is True


def test_escalate_with_its_own_owner_and_deadline(started, cli):
    run = cli("ctx", "escalate", "May we quote the audit firm?", "--owner", "@legal",
              "--deadline", "2026-01-29T18:00:00Z", "--json")
    assert run.code == 0, run.err
    entry = show(cli)["pending_decisions"][-1]
    assert (entry["escalated_to"], entry["deadline"]) == ("@legal", "2026-01-29T18:00:00Z")
    assert run.out and cli("ctx", "escalate", "Another question?").out.startswith(
        f"Escalated decision-001 to @phil (deadline {TASK_DEADLINE})")
    bad = cli("ctx", "escalate", "When?", "--deadline", "tomorrow-ish")
    assert bad.code == 1 and "invalid deadline" in bad.err


def test_the_same_question_is_not_escalated_twice(started, cli):
    assert cli("ctx", "escalate", "Can we mention specific APY ranges?").code == 0
    again = cli("ctx", "escalate", "can we mention   specific APY ranges?", "--json")
    assert again.code == 0
    assert again.json()["decision"]["added"] is False
    assert len(show(cli)["pending_decisions"]) == 1


def test_decide_moves_the_decision_to_decisions_made_with_who_and_when(started, cli, monkeypatch):
    cli("ctx", "escalate", "Can we mention specific APY ranges?")
    monkeypatch.setenv("TETHER_NOW", "2026-01-29T14:20:00Z")
    run = cli("ctx", "decide", "decision-000", "--decision", "Yes, with disclaimer about variability",
              "--by", "@phil", "--rationale", "Rates fluctuate", "--json")
    assert run.code == 0, run.err
    doc = show(cli)
    assert doc["pending_decisions"] == []
    assert doc["decisions_made"] == [{"id": "decision-000", "question": "Can we mention specific APY ranges?",
                                      "decision": "Yes, with disclaimer about variability", "decided_by": "@phil",
                                      "timestamp": "2026-01-29T14:20:00Z", "rationale": "Rates fluctuate"}]
    assert doc["history"][-1]["action"] == "decision_made"
    listing = cli("ctx", "decisions", "--all", "--json").json()
    assert listing["pending"] == [] and [d["id"] for d in listing["made"]] == ["decision-000"]


def test_decide_defaults_who_to_the_actor_then_to_whom_it_was_escalated(started, cli, monkeypatch):
    cli("ctx", "escalate", "First?", "--owner", "@legal")
    cli("ctx", "escalate", "Second?")
    assert cli("ctx", "decide", "decision-000", "-D", "Yes").code == 0
    monkeypatch.setenv("TETHER_ACTOR", "@ana")
    assert cli("ctx", "decide", "decision-001", "-D", "No").code == 0
    made = show(cli)["decisions_made"]
    assert [(d["id"], d["decided_by"]) for d in made] == [("decision-000", "@legal"), ("decision-001", "@ana")]


def test_deciding_an_unknown_or_decided_decision_fails(started, cli):
    cli("ctx", "escalate", "First?")
    assert cli("ctx", "decide", "decision-000", "-D", "Yes").code == 0
    again = cli("ctx", "decide", "decision-000", "-D", "No")
    assert again.code == 1 and "already decided" in again.err
    unknown = cli("ctx", "decide", "decision-042", "-D", "Yes")
    assert unknown.code == 1 and "no pending decision decision-042" in unknown.err
    assert [d["decision"] for d in show(cli)["decisions_made"]] == ["Yes"]


def test_overdue_lists_pending_decisions_past_their_deadline(started, cli, monkeypatch):
    cli("ctx", "escalate", "Later?")                                            # task deadline 2026-01-30T12:00
    cli("ctx", "escalate", "Sooner?", "--deadline", "2026-01-29T12:00:00Z")
    none = cli("ctx", "decisions", "--overdue")
    assert none.code == 0 and none.out.strip() == "No overdue decisions."
    monkeypatch.setenv("TETHER_NOW", "2026-01-29T13:00:00Z")
    one = cli("ctx", "decisions", "--overdue", "--json").json()
    assert [(d["id"], d["overdue"]) for d in one["pending"]] == [("decision-001", True)]
    text = cli("ctx", "decisions").out
    assert "decision-001  OVERDUE Sooner?" in text and "decision-000  Later?" in text
    monkeypatch.setenv("TETHER_NOW", "2026-01-31T00:00:00Z")
    both = cli("ctx", "decisions", "--overdue", "--json").json()
    assert sorted(d["id"] for d in both["pending"]) == ["decision-000", "decision-001"]
    assert all(d["overdue"] for d in both["pending"])


def test_a_decision_without_any_deadline_is_never_overdue(ws, cli, monkeypatch, pinned):
    assert cli("ctx", "init", "--campaign", "NODEADLINE-1", "--owner", "@phil").code == 0
    assert cli("ctx", "escalate", "Whenever?").code == 0
    assert show(cli)["pending_decisions"][0]["deadline"] is None
    monkeypatch.setenv("TETHER_NOW", "2030-01-01T00:00:00Z")
    assert cli("ctx", "decisions", "--overdue", "--json").json()["pending"] == []


# -- approved knowledge (decide --record-in) ---------------------------------------------------

@pytest.fixture
def approved(started, cli):
    cli("ctx", "escalate", "Which messaging angle?")
    run = cli("ctx", "decide", "decision-000", "-D", "Messaging angle: cross-chain + self-custody",
              "--by", "@phil", "--record-in", "brand_decisions")
    assert run.code == 0, run.err
    assert "recorded in knowledge.brand_decisions as approved by @phil" in run.out
    entries = show(cli)["knowledge"]["brand_decisions"]
    assert entries == [{"decision": "Messaging angle: cross-chain + self-custody", "approved_by": "@phil",
                        "timestamp": NOW}]
    return entries


def test_a_skill_cannot_add_to_owner_approved_entries(approved, cli, repo):
    run = apply(cli, repo, {"skill": "content-worker",
                            "knowledge": {"brand_decisions": [{"decision": "Messaging angle: yield farming"}]}})
    assert run.code == 4
    assert "owner-approved" in run.err
    assert show(cli)["knowledge"]["brand_decisions"] == approved


def test_a_skill_cannot_replace_owner_approved_entries_with_overrides(approved, cli, repo):
    run = apply(cli, repo, {"skill": "content-worker", "overrides": ["knowledge.brand_decisions"],
                            "knowledge": {"brand_decisions": [{"decision": "Messaging angle: yield farming"}]}})
    assert run.code == 4, run.out
    assert show(cli)["knowledge"]["brand_decisions"] == approved


def test_a_skill_cannot_forge_an_approval_over_a_value_it_set_itself(started, cli, repo):
    assert apply(cli, repo, {"skill": "content-worker", "knowledge": {"tone": "casual"}}).code == 0
    forged = {"skill": "content-worker",
              "knowledge": {"tone": {"decision": "formal", "approved_by": "@phil"}}}
    run = apply(cli, repo, forged)
    assert run.code == 4, run.out
    assert show(cli)["knowledge"]["tone"] == "casual"


# -- close ----------------------------------------------------------------------------------------

@pytest.fixture
def seeded_gtm(ws, repo, seed_doc, pinned):
    """The seed's context where the seed keeps it (.gtm/ID/), with two of its three artifacts on disk."""
    context = put_seed(repo, copy.deepcopy(seed_doc), f".gtm/{GTM}/session_context.yaml")
    (repo / f".gtm/{GTM}/research").mkdir()
    (repo / f".gtm/{GTM}/research/protocol_analysis.json").write_text('{"tvl": "$50M"}\n')
    (repo / f".gtm/{GTM}/drafts").mkdir()
    (repo / f".gtm/{GTM}/drafts/x_post.md").write_text("Yield.xyz vaults are live.\n")
    return context


def test_close_archives_the_context_and_a_manifest_of_the_artifacts(seeded_gtm, cli, repo):
    run = cli("ctx", "close", "--campaign", GTM, "--summary", "Published", "--json")
    assert run.code == 0, run.err
    out = run.json()
    archive = repo / out["archive"]
    assert out["archive"] == f".gtm/{GTM}/archive/session-2026-01-29-001"
    archived = yaml.safe_load((archive / "session_context.yaml").read_text())["session_context"]
    assert archived["id"] == "session-2026-01-29-001"
    assert archived["campaign"]["status"] == "closed" and archived["campaign"]["closed_at"] == NOW
    assert archived == show(cli, "--campaign", GTM)             # the final state, as the live file has it
    manifest = json.loads((archive / "manifest.json").read_text())
    assert (manifest["campaign"], manifest["context"], manifest["closed_at"]) == (GTM, "session-2026-01-29-001", NOW)
    by_path = {a["path"]: a for a in manifest["artifacts"]}
    assert sorted(by_path) == sorted(a["path"] for a in archived["artifacts"])
    x_post = repo / f".gtm/{GTM}/drafts/x_post.md"
    assert by_path[f".gtm/{GTM}/drafts/x_post.md"]["sha256"] == hashlib.sha256(x_post.read_bytes()).hexdigest()
    assert by_path[f".gtm/{GTM}/drafts/x_post.md"]["bytes"] == len(x_post.read_bytes())
    assert "sha256" in by_path[f".gtm/{GTM}/research/protocol_analysis.json"]
    discord = by_path[f".gtm/{GTM}/drafts/discord_post.md"]
    assert discord.get("missing") is True and "sha256" not in discord
    assert out["spend"] == {"skills_invoked": 5, "tokens_used": 45000, "artifacts": 3, "decisions_made": 1,
                            "pending_decisions": 1}
    events = [e for e in Workspace.open(repo).store.recent_events(20) if e["event"] == "ctx_closed"]
    assert events and events[-1]["campaign"] == GTM and events[-1]["archive"] == out["archive"]


def test_close_keeps_learnings_and_decisions_in_the_workspaces_memory(seeded_gtm, cli, repo):
    run = cli("ctx", "close", "--campaign", GTM, "--learning", "Announce integrations on Tuesdays", "--json")
    assert run.code == 0, run.err
    notes = [n.text for n in Workspace.open(repo).notes() if n.kind == "learning"]
    expected = ["Announce integrations on Tuesdays",
                "Thread format outperforms single posts by 3x for integrations",
                "Tuesday/Wednesday posts get 40% more engagement",
                "Avoid superlatives—specific numbers perform better",
                "Brand decision (YIELD-XYZ-001, approved by @phil): Use 'yield optimization' not 'yield farming'",
                "Brand decision (YIELD-XYZ-001, approved by @phil): Messaging angle: cross-chain + self-custody"]
    assert sorted(notes) == sorted(expected)
    assert sorted(run.json()["learnings"]) == sorted(expected)
    decisions = {d.id: d for d in Workspace.open(repo).decisions()}
    made = decisions[f"{GTM}.decision-000"]
    assert (made.question, made.decision, made.who) == ("Which messaging angle to use?",
                                                        "Both - technical on Farcaster, benefits on X", "@phil")
    assert run.json()["decisions"] == [f"{GTM}.decision-000"]
    boot = cli("boot")
    assert boot.code == 0, boot.err
    learnings = boot.out.split("## Learnings", 1)[1].split("\n## ", 1)[0]
    assert "- Announce integrations on Tuesdays" in learnings
    assert "- Thread format outperforms single posts by 3x for integrations" in learnings
    recent = boot.out.split("## Recent decisions", 1)[1].split("\n## ", 1)[0]
    assert "Which messaging angle to use? -> Both - technical on Farcaster, benefits on X" in recent
    assert f"{GTM}.decision-000" in recent


def test_a_closed_context_refuses_results_and_a_second_close(seeded_gtm, cli, repo):
    assert cli("ctx", "close", "--campaign", GTM).code == 0
    before = seeded_gtm.read_bytes()
    run = apply(cli, repo, DRAFT, "--campaign", GTM)
    assert run.code == 4
    assert "closed" in run.err
    assert seeded_gtm.read_bytes() == before
    again = cli("ctx", "close", "--campaign", GTM)
    assert again.code == 1 and "already closed" in again.err
    # Closed contexts are not "the open one".
    assert cli("ctx", "show").code == 1


def test_a_new_campaign_starts_with_the_learnings_of_closed_ones(seeded_gtm, cli, repo):
    assert cli("ctx", "close", "--campaign", GTM, "--learning", "Announce integrations on Tuesdays").code == 0
    run = cli("ctx", "init", "--campaign", "NEXT-002", "--owner", "@phil", "--json")
    assert run.code == 0, run.err
    assert run.json()["past_learnings"] == 6
    learned = show(cli, "--campaign", "NEXT-002")["knowledge"]["past_learnings"]
    assert "Announce integrations on Tuesdays" in learned
    assert "Thread format outperforms single posts by 3x for integrations" in learned
    assert len(learned) == 6
    # Closing the next campaign does not store the learnings it inherited a second time.
    assert cli("ctx", "close", "--campaign", "NEXT-002", "--learning", "Keep X threads under 6 posts").code == 0
    texts = [n.text for n in Workspace.open(repo).notes() if n.kind == "learning"]
    assert texts.count("Announce integrations on Tuesdays") == 1
    assert "Keep X threads under 6 posts" in texts and len(texts) == 7


# -- projections ----------------------------------------------------------------------------------

@pytest.fixture
def seeded(ws, repo, seed_doc, pinned):
    return put_seed(repo, copy.deepcopy(seed_doc))


def content_worker_view(seed_doc: dict) -> dict:
    """The seed's "Content Worker receives" block, filled from the seed's context."""
    knowledge = seed_doc["knowledge"]
    return {
        "context_for": "content-worker", "revision": 0,
        "campaign": {"gtm_id": GTM, "tier": 2},
        "task": {"description": "Generate Tier 2 content for Yield.xyz integration",
                 "scope": {"channels": ["x", "discord", "farcaster", "blog"],
                           "boundaries": seed_doc["active_task"]["scope"]["boundaries"]}},
        "knowledge": {k: knowledge[k] for k in ("product", "protocol", "brand_decisions", "audience", "past_learnings")},
        "budget": {"tokens_remaining": 55000},
    }


def test_content_worker_receives_exactly_the_seeds_parts(seeded, seed_doc, cli):
    expected = content_worker_view(seed_doc)
    run = cli("ctx", "for", "content-worker", "--json")
    assert run.code == 0, run.err
    assert run.json()["view"] == expected
    as_yaml = cli("ctx", "for", "content-worker")
    assert as_yaml.code == 0
    assert yaml.safe_load(as_yaml.out) == expected
    as_json = cli("ctx", "for", "content-worker", "--format", "json")
    assert as_json.code == 0
    assert json.loads(as_json.out) == expected


def test_a_roles_file_beside_the_context_decides_what_a_skill_receives(seeded, cli):
    (seeded.parent / "roles.yaml").write_text(
        "roles:\n"
        "  content-worker:\n"
        "    - campaign.gtm_id\n"
        "    - knowledge.audience.platform_notes.x as notes.x\n"
        "    - budget.calls_remaining\n"
        "    - knowledge.not_there\n")
    run = cli("ctx", "for", "content-worker", "--json")
    assert run.code == 0, run.err
    assert run.json()["view"] == {"context_for": "content-worker", "revision": 0, "campaign": {"gtm_id": GTM},
                                  "notes": {"x": "Benefit-focused, less technical"},
                                  "budget": {"calls_remaining": 5}, "missing": ["knowledge.not_there"]}
    roles = cli("ctx", "roles", "--json").json()
    assert roles["path"] == str(seeded.parent / "roles.yaml")
    # No `default:` role in this file: a skill it does not name gets an error, not the whole context.
    unknown = cli("ctx", "for", "brand-validator")
    assert unknown.code == 1
    assert "no role 'brand-validator'" in unknown.err


def test_an_unknown_skill_gets_the_built_in_default_role(seeded, cli):
    view = cli("ctx", "for", "some-new-skill", "--json").json()["view"]
    assert set(view) == {"context_for", "revision", "campaign", "task", "knowledge", "budget"}
    assert view["budget"] == {"calls_remaining": 5, "tokens_remaining": 55000}


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_a_token_budget_drops_entries_from_the_end_and_names_them(seeded, seed_doc, cli, fmt):
    full = content_worker_view(seed_doc)
    n = 300
    assert estimate(projection.render(full, fmt)) > n      # the budget really bites
    run = cli("ctx", "for", "content-worker", "--budget", str(n), "--format", fmt, "--json")
    assert run.code == 0, run.err
    view = run.json()["view"]
    assert estimate(projection.render(view, fmt)) <= n
    sources = [s for s, _ in projection.parse_roles(projection.DEFAULT_ROLES.encode(), "roles")["content-worker"]]
    omitted = view["omitted"]
    assert omitted and omitted == sources[len(sources) - len(omitted):]   # the last entries, in order
    assert "budget" not in view                                          # budget.tokens_remaining is last
    assert view["campaign"] == full["campaign"]                          # the first entries are kept
    text = cli("ctx", "for", "content-worker", "--budget", str(n), "--format", fmt)
    assert text.code == 0
    assert estimate(text.out) <= n


def test_a_budget_too_small_for_anything_is_an_error(seeded, cli):
    run = cli("ctx", "for", "content-worker", "--budget", "10")
    assert run.code == 1
    assert "exceeds 10 tokens" in run.err


def test_a_close_that_stopped_half_way_keeps_the_memory_and_finishes_when_run_again(seeded_gtm, cli, repo):
    """A close whose archive cannot be written (here a file where its folder goes) has already
    marked the context closed: the learnings and the owner's decisions are kept all the same, a new
    `ctx init` must not replace the only copy of the campaign, and running the close again
    (as its error says) finishes it, without --campaign."""
    (repo / f".gtm/{GTM}/archive").write_text("not a folder\n")
    first = cli("ctx", "close", "--campaign", GTM, "--learning", "Announce integrations on Tuesdays")
    assert first.code == 1 and "Not a directory" in first.err
    ws = Workspace.open(repo)
    assert "Announce integrations on Tuesdays" in [n.text for n in ws.notes() if n.kind == "learning"]
    assert f"{GTM}.decision-000" in {d.id for d in ws.decisions()}
    before = seeded_gtm.read_bytes()
    replaced = cli("ctx", "init", "--campaign", GTM, "--owner", "@phil", "--context", str(seeded_gtm))
    assert replaced.code == 1 and "did not finish" in replaced.err and "tether ctx close" in replaced.err
    assert seeded_gtm.read_bytes() == before
    shown = cli("ctx", "show")
    assert shown.code == 1 and f"tether ctx close --campaign {GTM}" in shown.err
    (repo / f".gtm/{GTM}/archive").unlink()
    again = cli("ctx", "close", "--learning", "Announce integrations on Tuesdays", "--json")
    assert again.code == 0, again.err
    assert again.json()["learnings"] == [] and again.json()["decisions"] == []  # kept the first time, not twice
    archive = repo / again.json()["archive"]
    assert (archive / "manifest.json").is_file()
    assert yaml.safe_load((archive / "session_context.yaml").read_text())["session_context"]["campaign"]["status"] == "closed"
    learnings = [n.text for n in Workspace.open(repo).notes() if n.kind == "learning"]
    assert learnings.count("Announce integrations on Tuesdays") == 1
    third = cli("ctx", "close", "--campaign", GTM)
    assert third.code == 1 and "already closed" in third.err
