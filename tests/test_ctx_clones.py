"""One campaign, two clones: each applies skill results to the shared session context, then
`git pull`. tether's merge driver (`.tether/.gitattributes`, registered by `tether init`) merges
session_context.yaml by meaning: both clones' changes are kept, and only a value both set
differently is left for a person, named by its path. Real git, real clones, the real CLI.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

CAMPAIGN = "C-1"
CONTEXT = f".tether/contexts/{CAMPAIGN}/session_context.yaml"
DAY = "2026-03-02"


def git(root: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)
    if check:
        assert proc.returncode == 0, f"git {' '.join(args)}: {proc.stdout}{proc.stderr}"
    return proc


def tether(root: Path, *args: str, input: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tether", *args], cwd=root, capture_output=True, text=True,
                          input=input, timeout=60)


def ok(root: Path, *args: str, input: str | None = None) -> str:
    proc = tether(root, *args, input=input)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def at(monkeypatch, hour: str) -> None:
    monkeypatch.setenv("TETHER_NOW", f"{DAY}T{hour}:00Z")


def apply(root: Path, monkeypatch, hour: str, result: dict) -> None:
    at(monkeypatch, hour)
    ok(root, "ctx", "apply", "-", "--campaign", CAMPAIGN, input=yaml.safe_dump(result))


def context(root: Path) -> dict:
    return json.loads(ok(root, "ctx", "show", "--campaign", CAMPAIGN, "--json"))["session_context"]


def pull(root: Path) -> subprocess.CompletedProcess:
    return git(root, "pull", "--no-rebase", "--no-edit", "origin", "main", check=False)


@pytest.fixture
def clones(tmp_path, monkeypatch) -> tuple[Path, Path]:
    """A bare origin holding a workspace with campaign C-1 (one pending decision, a call budget),
    and two clones of it, B and C, each set up with `tether init`."""
    at(monkeypatch, "09:00")
    monkeypatch.setenv("TETHER_ACTOR", "bot-manager")
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin))
    seed = tmp_path / "seed"
    git(tmp_path, "clone", "-q", str(origin), str(seed))
    (seed / "README.md").write_text("# Project\n")
    ok(seed, "init")
    ok(seed, "ctx", "init", "--campaign", CAMPAIGN, "--owner", "@phil", "--max-skill-calls", "10")
    ok(seed, "ctx", "escalate", "Can we mention APY ranges?", "--campaign", CAMPAIGN)
    git(seed, "add", "-A")
    git(seed, "commit", "-q", "-m", "campaign")
    git(seed, "push", "-q", "origin", "HEAD:main")
    out = []
    for name in ("B", "C"):
        git(tmp_path, "clone", "-q", str(origin), str(tmp_path / name))
        ok(tmp_path / name, "init")
        out.append(tmp_path / name)
    return out[0], out[1]


def push(root: Path, message: str) -> None:
    git(root, "commit", "-q", "-am", message)
    git(root, "push", "-q", "origin", "HEAD:main")


def commit(root: Path, message: str) -> None:
    git(root, "commit", "-q", "-am", message)


ORACLE = {"skill": "product-oracle", "invocation_id": "b-1", "knowledge": {"product": {"chains": ["eth", "sol"]}},
          "artifacts": [{"type": "brief", "path": "briefs/product.md"}], "compute": {"tokens_used": 1200},
          "validations": {"facts": {"status": "pass"}}}
MEMORY = {"skill": "campaign-memory", "invocation_id": "c-1", "knowledge": {"past": {"lesson": "short threads"}},
          "artifacts": [{"type": "notes", "path": "notes/past.md"}], "compute": {"tokens_used": 3400},
          "validations": {"facts": {"status": "warn"}}}


def test_two_clones_changing_different_keys_merge_cleanly(clones, monkeypatch):
    b, c = clones
    apply(b, monkeypatch, "10:00", ORACLE)
    push(b, "oracle")
    apply(c, monkeypatch, "11:00", MEMORY)
    commit(c, "memory")
    sides = [yaml.safe_load((root / CONTEXT).read_text())["session_context"]["revision"] for root in (b, c)]
    merged = pull(c)
    assert merged.returncode == 0, merged.stdout + merged.stderr
    assert git(c, "status", "--porcelain").stdout == ""
    assert ok(c, "ctx", "validate", "--campaign", CAMPAIGN).strip().endswith("valid")
    assert tether(c, "verify").returncode == 0
    doc = context(c)
    assert doc["knowledge"]["product"] == {"chains": ["eth", "sol"]}
    assert doc["knowledge"]["past"] == {"lesson": "short threads"}
    assert [a["path"] for a in doc["artifacts"]] == ["briefs/product.md", "notes/past.md"]
    applied = [(h["actor"], h["timestamp"]) for h in doc["history"] if h["action"] == "skill_result_applied"]
    assert applied == [("product-oracle", f"{DAY}T10:00:00Z"), ("campaign-memory", f"{DAY}T11:00:00Z")]
    compute = doc["compute"]
    assert compute["tokens_used"] == 4600 and compute["skills_invoked"] == 2
    assert compute["budget_remaining"] == 8  # derived from the merged counters, not either side's
    assert [e["invocation_id"] for e in compute["invocation_log"]] == ["b-1", "c-1"]
    # The newer run of a validator wins; the revision is past both sides'; the time is the later side's.
    assert doc["validations"]["facts"]["status"] == "warn"
    assert doc["revision"] == max(sides) + 1
    assert doc["last_updated"] == f"{DAY}T11:00:00Z"
    assert doc["history"][-1]["action"] == "clones_merged" and doc["history"][-1]["revision"] == doc["revision"]
    # Both results are in: applying either again is refused (by invocation_id), not counted twice.
    for result in (ORACLE, MEMORY):
        run = tether(c, "ctx", "apply", "-", "--campaign", CAMPAIGN, input=yaml.safe_dump(result))
        assert run.returncode == 4 and "was already applied" in run.stdout + run.stderr
    # The other clone pulling the same two changes the other way round writes the same file.
    git(c, "push", "-q", "origin", "HEAD:main")
    assert pull(b).returncode == 0
    assert (b / CONTEXT).read_bytes() == (c / CONTEXT).read_bytes()


def test_a_value_both_clones_set_differently_stays_conflicted_and_is_named(clones, monkeypatch):
    b, c = clones
    apply(b, monkeypatch, "10:00", {"skill": "brand", "knowledge": {"tone": "casual", "x": 1}})
    push(b, "casual")
    apply(c, monkeypatch, "11:00", {"skill": "brand-2", "knowledge": {"tone": "formal", "y": 2}})
    commit(c, "formal")
    merged = pull(c)
    assert merged.returncode == 1
    assert "UU " + CONTEXT in git(c, "status", "--porcelain").stdout
    said = merged.stdout + merged.stderr
    assert f"{CONTEXT}: both clones set 1 value(s) differently (knowledge.tone: ours \"formal\", theirs \"casual\")" in said
    text = (c / CONTEXT).read_text()
    assert text.startswith("# tether merge: 1 conflict(s), both clones set these differently: knowledge.tone\n")
    # Only the value is marked: everything else is merged already.
    assert "<<<<<<< ours\n    tone: formal\n=======\n    tone: casual\n>>>>>>> theirs\n" in text
    assert "    x: 1\n" in text and "    y: 2\n" in text
    line = text.splitlines().index("<<<<<<< ours") + 1
    show = tether(c, "ctx", "show", "--campaign", CAMPAIGN)
    assert show.returncode == 1
    error, hint = show.stderr.splitlines()[:2]
    assert error == f"Error: {CONTEXT}:{line}: unresolved conflict: both clones set knowledge.tone differently"
    assert "edit each marked value" in hint and f"git checkout --ours -- {CONTEXT}" in hint
    assert f"tether ctx validate --context {CONTEXT}" in hint and "apply the other side" not in hint
    verify = tether(c, "verify")
    assert verify.returncode == 3 and f"{CONTEXT}:{line}: unresolved conflict: both clones set knowledge.tone" in verify.stdout
    assert json.loads(tether(c, "verify", "--json").stdout)["problems"][0]["line"] == line
    # Resolved as the hint says: keep one value, validate, add, commit.
    lines = text.splitlines(keepends=True)
    start = lines.index("<<<<<<< ours\n")
    resolved = lines[:start] + ["    tone: formal\n"] + lines[start + 5:]
    (c / CONTEXT).write_text("".join(resolved))
    assert tether(c, "ctx", "validate", "--campaign", CAMPAIGN).returncode == 0
    git(c, "add", CONTEXT)
    git(c, "commit", "-q", "--no-edit")
    doc = context(c)
    assert doc["knowledge"] == {"tone": "formal", "x": 1, "y": 2}


def test_a_decision_made_on_one_clone_and_pending_on_the_other_is_made(clones, monkeypatch):
    b, c = clones
    at(monkeypatch, "10:00")
    ok(b, "ctx", "decide", "decision-000", "--decision", "yes, ranges only", "--record-in", "brand_decisions",
       "--by", "@phil", "--campaign", CAMPAIGN)
    push(b, "decided")
    at(monkeypatch, "11:00")
    # C did not see it: it is still pending there; C escalates another question, which takes the same
    # next id as one B's clone would give.
    ok(c, "ctx", "escalate", "Which chains first?", "--campaign", CAMPAIGN)
    commit(c, "escalated")
    at(monkeypatch, "10:30")
    ok(b, "ctx", "escalate", "Can we name partners?", "--campaign", CAMPAIGN)
    push(b, "escalated on B")
    merged = pull(c)
    assert merged.returncode == 0, merged.stdout + merged.stderr
    doc = context(c)
    [made] = doc["decisions_made"]
    assert (made["id"], made["decision"]) == ("decision-000", "yes, ranges only")
    pending = {d["question"]: d["id"] for d in doc["pending_decisions"]}
    assert set(pending) == {"Which chains first?", "Can we name partners?"}
    assert sorted(pending.values()) == ["decision-001", "decision-002"]  # one of the two took a new id
    assert pending["Can we name partners?"] == "decision-001"  # the earlier escalation keeps its id
    assert "decision-001 (Which chains first?) is decision-002 now" in doc["history"][-1]["details"]
    # The owner's approval (record_in) is kept as it was recorded.
    [approved] = doc["knowledge"]["brand_decisions"]
    assert approved == {"decision": "yes, ranges only", "approved_by": "@phil", "timestamp": f"{DAY}T10:00:00Z"}
    assert tether(c, "ctx", "validate", "--campaign", CAMPAIGN).returncode == 0
    listed = json.loads(ok(c, "ctx", "decisions", "--campaign", CAMPAIGN, "--json"))
    assert sorted(d["id"] for d in listed["pending"]) == ["decision-001", "decision-002"]


def test_a_decision_decided_differently_on_each_clone_is_a_conflict(clones, monkeypatch):
    b, c = clones
    at(monkeypatch, "10:00")
    ok(b, "ctx", "decide", "decision-000", "--decision", "yes", "--campaign", CAMPAIGN)
    push(b, "yes")
    at(monkeypatch, "11:00")
    ok(c, "ctx", "decide", "decision-000", "--decision", "no", "--campaign", CAMPAIGN)
    commit(c, "no")
    merged = pull(c)
    assert merged.returncode == 1
    assert (c / CONTEXT).read_text().startswith(
        "# tether merge: 1 conflict(s), both clones set these differently: decisions_made[decision-000]\n")
    show = tether(c, "ctx", "show", "--campaign", CAMPAIGN)
    assert "both clones set decisions_made[decision-000] differently" in show.stderr
    # Keeping one side whole, as the hint offers, gives a valid context.
    git(c, "checkout", "--theirs", "--", CONTEXT)
    assert tether(c, "ctx", "validate", "--campaign", CAMPAIGN).returncode == 0
    assert context(c)["decisions_made"][0]["decision"] == "yes"


def test_a_result_based_on_a_revision_before_the_merge_cannot_overwrite_the_other_clones_change(clones, monkeypatch):
    """Revisions of two clones are not comparable: B's change at its revision 2 is not "before" C's
    revision 3. A result C's skill was given at revision 3, applied after the merge, is refused where
    it would overwrite what either clone changed since they parted (which clone gave it is not
    known), and applies where it overwrites nothing."""
    b, c = clones
    apply(b, monkeypatch, "10:00", {"skill": "pricer", "knowledge": {"price": 1}})
    push(b, "price 1")
    apply(c, monkeypatch, "10:30", {"skill": "writer", "knowledge": {"draft": "v1"}})
    apply(c, monkeypatch, "10:40", {"skill": "writer", "knowledge": {"draft": "v2"}})
    commit(c, "drafts")
    given = context(c)["revision"]
    assert pull(c).returncode == 0
    at(monkeypatch, "11:00")
    stale = {"skill": "pricer", "base_revision": given, "knowledge": {"price": 2}}
    run = tether(c, "ctx", "apply", "-", "--campaign", CAMPAIGN, input=yaml.safe_dump(stale))
    assert run.returncode == 4, run.stdout + run.stderr
    assert f"knowledge.price: changed at revision {given + 1} by a merge of two clones after revision {given}" \
        in run.stdout + run.stderr
    fresh = {"skill": "writer", "base_revision": given, "knowledge": {"summary": "short"}}
    ok(c, "ctx", "apply", "-", "--campaign", CAMPAIGN, input=yaml.safe_dump(fresh))
    assert context(c)["knowledge"] == {"price": 1, "draft": "v2", "summary": "short"}


def test_without_the_driver_git_conflicts_the_hint_names_init_and_repair_merges(clones, monkeypatch):
    """A clone before `tether init` (git config is never cloned): git's own text merge conflicts; the
    hint says how to merge by meaning now (`tether index --repair`) and how to register the driver."""
    b, c = clones
    apply(b, monkeypatch, "10:00", ORACLE)
    push(b, "oracle")
    apply(c, monkeypatch, "11:00", MEMORY)
    commit(c, "memory")
    git(c, "config", "--remove-section", "merge.tether")
    merged = pull(c)
    assert merged.returncode == 1 and "CONFLICT (content)" in merged.stdout
    text = (c / CONTEXT).read_text()
    assert "<<<<<<< " in text and not text.startswith("# tether merge")
    show = tether(c, "ctx", "show", "--campaign", CAMPAIGN)
    error, hint = show.stderr.splitlines()[:2]
    assert "unresolved git conflict marker" in error and "`tether index --repair`" in error
    assert "`tether index --repair`" in hint and "`tether init`" in hint and "apply the other side" not in hint
    assert "merge driver is not registered" in tether(c, "verify").stdout
    repair = ok(c, "index", "--repair")
    assert f"{CONTEXT}: merged: both clones' changes; marked resolved (git add)" in repair
    assert CONTEXT not in git(c, "diff", "--name-only", "--diff-filter=U").stdout
    git(c, "add", "-A")
    git(c, "commit", "-q", "--no-edit")
    doc = context(c)
    assert doc["compute"]["tokens_used"] == 4600 and set(doc["knowledge"]) >= {"product", "past"}
    # Registered again, the next merge needs no repair.
    assert "registered the merge driver" in ok(c, "init")
    git(c, "push", "-q", "origin", "HEAD:main")
    apply(b, monkeypatch, "12:00", {"skill": "writer", "knowledge": {"draft": "v1"}})
    apply(c, monkeypatch, "12:30", {"skill": "checker", "knowledge": {"check": "ok"}})
    commit(c, "check")
    git(b, "commit", "-q", "-am", "draft")
    git(b, "pull", "-q", "--no-rebase", "--no-edit", "origin", "main")
    git(b, "push", "-q", "origin", "HEAD:main")
    assert pull(c).returncode == 0
    assert {"draft", "check"} <= set(context(c)["knowledge"])


def test_an_older_workspace_gets_the_rule_from_init(clones, monkeypatch):
    b, _c = clones
    attributes = b / ".tether" / ".gitattributes"
    rule = "/contexts/*/session_context.yaml merge=tether"
    attributes.write_text(attributes.read_text().replace(rule + "\n", ""))
    notices = json.loads(tether(b, "verify", "--json").stdout)["notices"]
    assert any(rule in n and "`tether init`" in n for n in notices), notices
    assert "updated .tether/.gitattributes (merge driver rules)" in ok(b, "init")
    assert rule in attributes.read_text().splitlines()
    assert git(b, "check-attr", "merge", "--", CONTEXT).stdout.strip() == f"{CONTEXT}: merge: tether"
    assert json.loads(tether(b, "verify", "--json").stdout)["notices"] == []


# -- the merge itself (pure): rules one at a time ---------------------------------------------------

def doc_with(**sections) -> dict:
    base = {"id": "s-1", "revision": 3, "last_updated": f"{DAY}T09:00:00Z",
            "campaign": {"gtm_id": CAMPAIGN, "campaign_owner": "@phil"},
            "active_task": {"description": "d", "scope": {}, "budget": {}}}
    return {"session_context": {**base, **sections}}


def merge(base: dict, ours: dict, theirs: dict):
    from tether.campaign import Campaign

    data = [yaml.safe_dump(d, sort_keys=False).encode() for d in (base, ours, theirs)]
    return Campaign.merge_versions(*data, "ctx.yaml")


def test_an_approved_entry_is_taken_whole_never_combined():
    approved = {"rule": "no APY", "approved_by": "@phil"}
    base = doc_with(knowledge={"brand": approved})
    ours = doc_with(knowledge={"brand": {**approved, "rule": "APY ranges only"}}, revision=4)
    theirs = doc_with(knowledge={"brand": {**approved, "note": "added"}}, revision=4)
    out = merge(base, ours, theirs)
    assert not out.clean and out.conflicts == ['knowledge.brand: ours {"rule": "APY ranges only", "approved_by": '
                                               '"@phil"}, theirs {"rule": "no APY", "approved_by": "@phil", "note": "added"}']
    one_side = merge(base, ours, doc_with(knowledge={"brand": approved, "other": 1}, revision=4))
    merged = yaml.safe_load(one_side.data)["session_context"]["knowledge"]
    assert one_side.clean and merged == {"brand": {**approved, "rule": "APY ranges only"}, "other": 1}


def test_an_artifact_both_clones_updated_is_merged_field_by_field():
    art = {"type": "draft", "path": "d.md", "produced_by": "writer", "timestamp": f"{DAY}T09:00:00Z"}
    base = doc_with(artifacts=[art])
    ours = doc_with(artifacts=[{**art, "status": "approved", "timestamp": f"{DAY}T10:00:00Z", "updated_by": "ed"}])
    theirs = doc_with(artifacts=[{**art, "words": 300, "timestamp": f"{DAY}T11:00:00Z", "updated_by": "counter"}])
    out = merge(base, ours, theirs)
    [merged] = yaml.safe_load(out.data)["session_context"]["artifacts"]
    assert out.clean and merged == {**art, "status": "approved", "words": 300, "timestamp": f"{DAY}T11:00:00Z",
                                    "updated_by": "counter"}


def test_a_merge_the_schema_refuses_is_not_written():
    """A side edited by hand into a value the schema refuses: the merge would take it; it says why instead."""
    base = doc_with(compute={"tokens_used": 5})
    ours = doc_with(compute={"tokens_used": 5}, knowledge={"a": 1})
    theirs = doc_with(compute={"tokens_used": "many"})
    out = merge(base, ours, theirs)
    assert out.data is None and not out.clean
    assert out.problem.startswith("the merged context would not pass the schema: compute.tokens_used")


def test_equal_entries_on_one_side_are_kept_and_an_entry_both_sides_hold_is_kept_once():
    """Two blocked calls of one skill in one second are two log entries (the counters count both);
    an entry both sides hold (each merged it before) is one."""
    blocked = {"skill": "writer", "timestamp": f"{DAY}T10:00:00Z", "tokens": 0, "result": "blocked"}
    shared = {"skill": "oracle", "timestamp": f"{DAY}T09:30:00Z", "tokens": 5, "result": "success"}
    base = doc_with(compute={"skills_invoked": 0, "tokens_used": 0, "invocation_log": []})
    ours = doc_with(compute={"skills_invoked": 1, "tokens_used": 5, "invocation_log": [shared, blocked, blocked]})
    theirs = doc_with(compute={"skills_invoked": 1, "tokens_used": 5, "invocation_log": [shared]},
                      knowledge={"a": 1})
    out = merge(base, ours, theirs)
    log = yaml.safe_load(out.data)["session_context"]["compute"]["invocation_log"]
    assert out.clean and log == [shared, blocked, blocked]


def test_a_context_in_the_seeds_place_is_merged_by_repair_or_by_the_users_own_rule(clones, monkeypatch):
    """.gtm/<id>/ is outside .tether/, so .tether/.gitattributes does not send it to the driver:
    `tether index --repair` merges it, and a rule in the repository's own .gitattributes lets the
    driver do it (docs/campaigns.md, Across clones)."""
    b, c = clones
    gtm = ".gtm/G-1/session_context.yaml"
    at(monkeypatch, "09:30")
    ok(b, "ctx", "init", "--campaign", "G-1", "--owner", "@phil", "--context", gtm)
    git(b, "add", "-A")
    push(b, "gtm campaign")
    assert pull(c).returncode == 0
    rule = "/.gtm/*/session_context.yaml merge=tether\n"
    for with_rule in (False, True):
        at(monkeypatch, "10:00")
        ok(b, "ctx", "apply", "-", "--context", gtm, input=yaml.safe_dump({"skill": "a", "knowledge": {f"a{with_rule}": 1}}))
        push(b, "a")
        at(monkeypatch, "11:00")
        ok(c, "ctx", "apply", "-", "--context", gtm, input=yaml.safe_dump({"skill": "b", "knowledge": {f"b{with_rule}": 2}}))
        commit(c, "b")
        merged = pull(c)
        if not with_rule:
            assert merged.returncode == 1 and f"UU {gtm}" in git(c, "status", "--porcelain").stdout
            assert f"{gtm}: merged: both clones' changes; marked resolved (git add)" in ok(c, "index", "--repair")
            git(c, "commit", "-q", "--no-edit")
            (c / ".gitattributes").write_text(rule)
            git(c, "add", ".gitattributes")
            git(c, "commit", "-q", "-m", "the seed's contexts merge by meaning too")
            git(c, "push", "-q", "origin", "HEAD:main")
            assert pull(b).returncode == 0
        else:
            assert merged.returncode == 0, merged.stdout + merged.stderr
    knowledge = json.loads(ok(c, "ctx", "show", "--context", gtm, "--json"))["session_context"]["knowledge"]
    assert knowledge == {"aFalse": 1, "bFalse": 2, "aTrue": 1, "bTrue": 2}
