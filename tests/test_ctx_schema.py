"""The session context's JSON Schema and validation: messages a person can act on, with file:line.

A context is the seed's YAML (``session_context:``). Every problem names the
file, the line, the dotted path and what is wrong, e.g.
``active_task.budget.max_tokens: expected an integer, got "lots"``. The context
may live where the seed keeps it (.gtm/<campaign>/session_context.yaml) as well
as in tether's store.
"""

from __future__ import annotations

import json
import os

import pytest
import yaml

from ctx_seed import (CAMPAIGN, CONTEXT_REL, SEED_CONTEXT, SEED_CONTEXT_UPDATE, SEED_SKILL_RESULT, line_of,
                      seed_document_blocks, write_seed_context)

NOW = "2026-01-29T10:00:00Z"


@pytest.fixture(autouse=True)
def _pinned_time(monkeypatch):
    monkeypatch.setenv("TETHER_NOW", NOW)


def edit(text: str, old: str, new: str) -> str:
    """``text`` with the first ``old`` replaced: the edit must apply, or the test proves nothing."""
    assert old in text, old
    return text.replace(old, new, 1)


def validate(cli, path) -> tuple[int, dict]:
    run = cli("ctx", "validate", "--context", path, "--json")
    return run.code, run.json()


# -- the seed's own example ---------------------------------------------------------------------------

def test_the_seed_documents_example_context_is_valid(repo, ws, cli):
    blocks = seed_document_blocks()
    if not blocks:
        pytest.skip("the seed document is not beside the repository")
    example = next(b for b in blocks if b.startswith("session_context:"))
    path = write_seed_context(repo, example)
    code, data = validate(cli, path)
    assert code == 0 and data["valid"] is True and data["problems"] == [], data
    # The copy the other ctx tests use is the same document.
    assert yaml.safe_load(SEED_CONTEXT) == yaml.safe_load(example)


def test_the_seed_example_loads_and_validates(repo, ws, cli):
    write_seed_context(repo)
    run = cli("ctx", "validate", "--campaign", CAMPAIGN)
    assert run.code == 0, run.err
    assert run.out.strip() == f"{CONTEXT_REL}: valid"
    shown = cli("ctx", "show", "--campaign", CAMPAIGN, "--json")
    assert shown.code == 0, shown.err
    doc = shown.json()["session_context"]
    assert doc["id"] == "session-2026-01-29-001"
    assert doc["active_task"]["budget"] == {"max_skill_calls": 10, "max_tokens": 100000,
                                            "deadline": "2026-01-30T12:00:00Z"}
    # Times stay the strings they were written as (not datetimes, not reformatted).
    assert doc["started_at"] == "2026-01-29T10:00:00Z"
    assert doc["validations"]["link_checker"]["last_run"] is None


def test_a_context_tether_wrote_itself_is_valid(ws, cli):
    assert cli("ctx", "init", "--campaign", "C-1", "--owner", "@phil", "--max-skill-calls", "3",
               "--deadline", "2026-01-30T12:00:00Z", "--boundary", "Only channels: X").code == 0
    run = cli("ctx", "validate", "--campaign", "C-1", "--json")
    assert run.code == 0 and run.json()["valid"] is True


# -- what is wrong, where ------------------------------------------------------------------------------

SEED_MISTAKES = [
    # (id, old, new, expected message, text on the line the message must point at)
    ("max_tokens_not_integer", "max_tokens: 100000", 'max_tokens: "lots"',
     'active_task.budget.max_tokens: expected an integer, got "lots"', 'max_tokens: "lots"'),
    ("tier_not_integer", "tier: 2", 'tier: "two"', 'campaign.tier: expected an integer, got "two"', 'tier: "two"'),
    ("negative_calls", "max_skill_calls: 10", "max_skill_calls: -1",
     "active_task.budget.max_skill_calls: must be at least 0, got -1", "max_skill_calls: -1"),
    ("unknown_status", 'status: "in_progress"', 'status: "done"',
     'campaign.status: expected one of kickoff, in_progress, review, published, closed, got "done"',
     'status: "done"'),
    ("missing_gtm_id", '    gtm_id: "YIELD-XYZ-001"\n', "",
     "campaign: missing required field 'gtm_id'", "  campaign:"),
    ("missing_description", '    description: "Generate Tier 2 content for Yield.xyz integration"\n', "",
     "active_task: missing required field 'description'", "  active_task:"),
    ("empty_id", 'id: "session-2026-01-29-001"', 'id: ""', "id: must not be empty", 'id: ""'),
    ("malformed_deadline", 'deadline: "2026-01-30T12:00:00Z"', 'deadline: "tomorrow"',
     'active_task.budget.deadline: expected an ISO 8601 time such as 2026-01-30T12:00:00Z, got "tomorrow"',
     'deadline: "tomorrow"'),
    ("malformed_artifact_time", 'timestamp: "2026-01-29T14:30:00Z"', 'timestamp: "14:30"',
     'artifacts[1].timestamp: expected an ISO 8601 time such as 2026-01-30T12:00:00Z, got "14:30"',
     'timestamp: "14:30"'),
    ("artifact_without_path", '      path: ".gtm/YIELD-XYZ-001/research/protocol_analysis.json"\n', "",
     "artifacts[0]: missing required field 'path'", '- type: "research_summary"'),
    ("log_tokens_not_integer", "tokens: 3000", 'tokens: "3k"',
     'compute.invocation_log[1].tokens: expected an integer, got "3k"', 'tokens: "3k"'),
    ("validation_status", 'status: "pass"', 'status: "ok"',
     'validations.brand_validator.status: expected one of pass, fail, warn, pending, blocked, skipped, got "ok"',
     'status: "ok"'),
    ("objectives_not_a_list",
     'objectives:\n        - "Create announcement posts for X, Discord, Farcaster"\n        - "Draft blog post outline"',
     'objectives: "Create posts"', 'active_task.scope.objectives: expected a list, got "Create posts"',
     'objectives: "Create posts"'),
]


@pytest.mark.parametrize("old, new, message, needle", [m[1:] for m in SEED_MISTAKES],
                         ids=[m[0] for m in SEED_MISTAKES])
def test_a_mistake_is_named_by_path_problem_and_line(repo, ws, cli, old, new, message, needle):
    text = edit(SEED_CONTEXT, old, new)
    write_seed_context(repo, text)
    code, data = validate(cli, CONTEXT_REL)
    assert code == 3, data
    assert data["ok"] is True and data["command"] == "ctx" and data["valid"] is False
    assert data["problems"] == [{"path": CONTEXT_REL, "line": line_of(text, needle), "message": message}]
    # The text form: one `file:line: path: problem` line per problem, on stdout.
    run = cli("ctx", "validate", "--context", CONTEXT_REL)
    assert run.code == 3
    assert run.out.splitlines() == [f"{CONTEXT_REL}:{line_of(text, needle)}: {message}"]


@pytest.mark.parametrize("section, key, known", [
    ("scope", 'channels: ["x", "discord"]', "boundaries, objectives, out_of_scope, vocabulary"),
    ("budget", "max_token: 5000", "deadline, max_skill_calls, max_tokens"),
])
def test_unknown_keys_in_scope_and_budget_are_refused(repo, ws, cli, section, key, known):
    # A misspelt key there would silently switch enforcement off.
    text = edit(SEED_CONTEXT, f"    {section}:\n", f"    {section}:\n      {key}\n")
    write_seed_context(repo, text)
    code, data = validate(cli, CONTEXT_REL)
    assert code == 3
    [problem] = data["problems"]
    name = key.split(":")[0]
    assert problem["message"] == f"active_task.{section}: unknown field '{name}' (known: {known})"
    # The line is the misspelt key's own line, where the person has to fix it.
    assert problem["line"] == line_of(text, key), (problem["line"], line_of(text, f"    {section}:"))


def test_unknown_keys_elsewhere_are_allowed(repo, ws, cli):
    # Forward compatible: only scope and budget are closed.
    text = edit(SEED_CONTEXT, "  # === Campaign Reference ===\n", "  custom_notes: \"kept\"\n  # === Campaign Reference ===\n")
    text = edit(text, "    tier: 2\n", "    tier: 2\n    region: \"EU\"\n")
    text = edit(text, "    product:\n", "    anything_new:\n      nested: [1, 2]\n    product:\n")
    write_seed_context(repo, text)
    code, data = validate(cli, CONTEXT_REL)
    assert code == 0 and data["problems"] == []


@pytest.mark.parametrize("bad", ["2026-02-30T12:00:00Z", "2026-13-01T12:00:00Z", "2026-01-30T25:00:00Z"])
def test_impossible_times_are_malformed(repo, ws, cli, bad):
    # The pattern alone admits these; budget enforcement cannot use a deadline that is no date at all.
    text = edit(SEED_CONTEXT, 'deadline: "2026-01-30T12:00:00Z"', f'deadline: "{bad}"')
    write_seed_context(repo, text)
    code, data = validate(cli, CONTEXT_REL)
    assert code == 3, data
    [problem] = data["problems"]
    assert problem["message"].startswith("active_task.budget.deadline: ") and bad in problem["message"]
    assert problem["line"] == line_of(text, bad)


def test_every_problem_is_reported(repo, ws, cli):
    text = edit(SEED_CONTEXT, 'id: "session-2026-01-29-001"', "id: 7")
    text = edit(text, "tier: 2", 'tier: "two"')
    text = edit(text, "max_tokens: 100000", 'max_tokens: "lots"')
    write_seed_context(repo, text)
    code, data = validate(cli, CONTEXT_REL)
    assert code == 3
    assert {(p["line"], p["message"]) for p in data["problems"]} == {
        (line_of(text, "id: 7"), "id: expected a string, got 7"),
        (line_of(text, 'tier: "two"'), 'campaign.tier: expected an integer, got "two"'),
        (line_of(text, 'max_tokens: "lots"'), 'active_task.budget.max_tokens: expected an integer, got "lots"'),
    }


def test_problems_are_listed_in_file_order(repo, ws, cli):
    text = edit(SEED_CONTEXT, 'id: "session-2026-01-29-001"', "id: 7")
    text = edit(text, "tier: 2", 'tier: "two"')
    text = edit(text, "max_tokens: 100000", 'max_tokens: "lots"')
    write_seed_context(repo, text)
    _, data = validate(cli, CONTEXT_REL)
    lines = [p["line"] for p in data["problems"]]
    assert lines == sorted(lines), [f"{p['line']}: {p['message']}" for p in data["problems"]]


@pytest.mark.parametrize("content, message", [
    ("just: a mapping\n", "(top level): missing required field 'session_context'"),
    ("- a\n- list\n", "(top level): expected a mapping, got a list"),
])
def test_a_file_without_the_session_context_key(repo, ws, cli, content, message):
    write_seed_context(repo, content)
    code, data = validate(cli, CONTEXT_REL)
    assert code == 3
    assert [p["message"] for p in data["problems"]] == [message]


def test_commands_that_read_the_context_refuse_an_invalid_one_with_file_and_line(repo, ws, cli):
    text = edit(SEED_CONTEXT, "max_tokens: 100000", 'max_tokens: "lots"')
    path = write_seed_context(repo, text)
    before = path.read_bytes()
    for argv in (["show"], ["check-budget"], ["for", "content-worker"]):
        run = cli("ctx", *argv, "--campaign", CAMPAIGN)
        assert run.code == 1, (argv, run.out)
        first, hint = run.err.splitlines()
        assert first == (f"Error: {CONTEXT_REL}:{line_of(text, 'lots')}: "
                         'active_task.budget.max_tokens: expected an integer, got "lots"'), argv
        assert hint.startswith("Hint: ") and "tether ctx validate" in hint
    run = cli("ctx", "apply", "-", "--campaign", CAMPAIGN, input="skill: s\ncompute: {tokens_used: 5}\n")
    assert run.code == 1 and "max_tokens" in run.err
    assert path.read_bytes() == before


# -- YAML that does not parse, conflict markers -------------------------------------------------------

SYNTAX_ERRORS = [
    ("tab", "    tier: 2\n", "\ttier: 2\n", "tier: 2"),
    ("bad_indent", "    tier: 2\n", "    tier: 2\n   oops: 1\n", "oops: 1"),
    ("colon_in_value", "    tier: 2\n", "    tier: 2: 3\n", "tier: 2: 3"),
]


@pytest.mark.parametrize("old, new, needle", [s[1:] for s in SYNTAX_ERRORS], ids=[s[0] for s in SYNTAX_ERRORS])
def test_yaml_syntax_errors_name_file_and_line(repo, ws, cli, old, new, needle):
    text = edit(SEED_CONTEXT, old, new)
    write_seed_context(repo, text)
    line = line_of(text, needle)
    run = cli("ctx", "show", "--campaign", CAMPAIGN)
    assert run.code == 1 and run.out == ""
    assert run.err.splitlines()[0].startswith(f"Error: {CONTEXT_REL}:{line}: invalid YAML (")
    data = cli("ctx", "show", "--campaign", CAMPAIGN, "--json").json()
    assert data["ok"] is False and data["kind"] == "corrupt" and data["error"].startswith(f"{CONTEXT_REL}:{line}: ")


CONFLICT_MESSAGE = ("unresolved git conflict marker; resolve the merge (`tether index --repair` merges the two"
                    " sides by meaning)")
CONFLICT = "<<<<<<< HEAD\n  # ours\n=======\n  # theirs\n>>>>>>> feature\n"


def test_git_conflict_markers_name_file_and_line(repo, ws, cli):
    text = edit(SEED_CONTEXT, "  # === Accumulated Knowledge ===\n", CONFLICT + "  # === Accumulated Knowledge ===\n")
    path = write_seed_context(repo, text)
    line = line_of(text, "<<<<<<< HEAD")
    for argv in (["show"], ["apply", "-"]):
        run = cli("ctx", *argv, "--campaign", CAMPAIGN, input="skill: s\n")
        assert run.code == 1, argv
        assert run.err.splitlines()[0] == (f"Error: {CONTEXT_REL}:{line}: "
                                           + CONFLICT_MESSAGE), argv
    assert path.read_text() == text  # nothing written over a conflicted file


def test_the_api_reports_a_broken_file_with_file_and_line(repo, ws):
    from tether.campaign import Campaign

    text = edit(SEED_CONTEXT, "    tier: 2\n", "\ttier: 2\n")
    write_seed_context(repo, text)
    with pytest.raises(Exception) as caught:
        Campaign.open(campaign=CAMPAIGN).load()
    assert f"{CONTEXT_REL}:{line_of(text, 'tier: 2')}: invalid YAML" in str(caught.value)


@pytest.mark.parametrize("kind", ["syntax", "conflict"])
def test_validate_reports_unparseable_files_as_problems(repo, ws, cli, kind):
    # validate's job is to find problems: one that stops the parse is one too (exit 3, with its line).
    if kind == "syntax":
        text, needle = edit(SEED_CONTEXT, "    tier: 2\n", "\ttier: 2\n"), "tier: 2"
    else:
        text = edit(SEED_CONTEXT, "  # === Accumulated Knowledge ===\n", CONFLICT + "  # === Accumulated Knowledge ===\n")
        needle = "<<<<<<< HEAD"
    write_seed_context(repo, text)
    run = cli("ctx", "validate", "--context", CONTEXT_REL, "--json")
    assert run.code == 3, run.out
    data = run.json()
    assert data["valid"] is False
    assert [(p["path"], p["line"]) for p in data["problems"]] == [(CONTEXT_REL, line_of(text, needle))]


# -- the published schemas ------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["session_context", "skill_result"])
def test_schema_prints_a_valid_json_schema(ws, cli, name):
    from jsonschema import Draft202012Validator

    argv = ["ctx", "schema"] + ([name] if name != "session_context" else [])
    run = cli(*argv)
    assert run.code == 0
    schema = json.loads(run.out)
    Draft202012Validator.check_schema(schema)
    assert schema["$id"].endswith(f"/{name}.schema.json")
    data = cli(*argv, "--json").json()
    assert data["ok"] is True and data["name"] == name and data["schema"] == schema


def test_schema_of_an_unknown_name_is_a_usage_error(ws, cli):
    run = cli("ctx", "schema", "bogus")
    assert run.code == 2 and run.err.startswith("Error: ")


def test_the_printed_schemas_accept_the_seeds_examples(ws, cli):
    # Another tool can validate with the published schemas alone, without tether.
    from jsonschema import Draft202012Validator

    context_schema = json.loads(cli("ctx", "schema").out)
    result_schema = json.loads(cli("ctx", "schema", "skill_result").out)
    assert list(Draft202012Validator(context_schema).iter_errors(yaml.safe_load(SEED_CONTEXT))) == []
    for text, key in ((SEED_SKILL_RESULT, "skill_result"), (SEED_CONTEXT_UPDATE, "context_update")):
        inner = yaml.safe_load(text)[key]
        assert list(Draft202012Validator(result_schema).iter_errors(inner)) == [], key
    # And they reject what tether rejects.
    broken = yaml.safe_load(edit(SEED_CONTEXT, "max_tokens: 100000", 'max_tokens: "lots"'))
    assert [list(e.absolute_path) for e in Draft202012Validator(context_schema).iter_errors(broken)] == [
        ["session_context", "active_task", "budget", "max_tokens"]]


# -- where a context lives ------------------------------------------------------------------------------

def test_a_context_in_the_campaign_folder_is_found_by_campaign_and_by_path(repo, ws, cli):
    write_seed_context(repo)
    folder = repo / ".gtm" / CAMPAIGN
    for how in (["--campaign", CAMPAIGN], ["--context", CONTEXT_REL], ["--context", str(folder)],
                ["--context", str(repo / CONTEXT_REL)]):
        run = cli("ctx", "show", *how, "--section", "campaign", "--json")
        assert run.code == 0, (how, run.err)
        assert run.json()["session_context"]["campaign"]["gtm_id"] == CAMPAIGN, how
        assert run.json()["context"] == CONTEXT_REL, how
    listed = cli("ctx", "list", "--json").json()["contexts"]
    assert [(c["campaign"], c["status"], c["path"]) for c in listed] == [(CAMPAIGN, "in_progress", CONTEXT_REL)]
    # With a single open context, no flag is needed at all.
    assert cli("ctx", "validate").out.strip() == f"{CONTEXT_REL}: valid"


def test_updates_to_a_campaign_folder_context_stay_there(repo, ws, cli):
    path = write_seed_context(repo)
    run = cli("ctx", "apply", "-", "--campaign", CAMPAIGN, input="skill: link-checker\nvalidations:\n"
                                                                    "  link_checker: {status: pass}\n")
    assert run.code == 0, run.err
    doc = yaml.safe_load(path.read_text())["session_context"]
    assert doc["validations"]["link_checker"]["status"] == "pass" and doc["revision"] == 1
    # Nothing beside the user's file (locks live in the store), no second copy in the store.
    assert sorted(os.listdir(path.parent)) == ["session_context.yaml"]
    assert not (repo / ".tether" / "contexts" / CAMPAIGN).exists()
    assert cli("ctx", "validate", "--campaign", CAMPAIGN).code == 0


def test_campaign_lookup_works_from_a_subdirectory(repo, ws, cli, monkeypatch):
    write_seed_context(repo)
    sub = repo / "src" / "deep"
    sub.mkdir(parents=True)
    monkeypatch.chdir(sub)
    run = cli("ctx", "validate", "--campaign", CAMPAIGN)
    assert run.code == 0 and run.out.strip() == f"{CONTEXT_REL}: valid"


def test_an_unknown_campaign_is_one_line_and_a_hint(ws, cli):
    run = cli("ctx", "validate", "--campaign", "NOPE-1")
    assert run.code == 1
    first, hint = run.err.splitlines()
    assert first == "Error: no session context for campaign NOPE-1"
    assert hint.startswith("Hint: ") and "tether ctx init --campaign NOPE-1" in hint


def test_a_context_outside_any_workspace_is_usable_by_path(tmp_path, cli, monkeypatch):
    outside = tmp_path / "plain"
    outside.mkdir()
    monkeypatch.chdir(outside)
    path = write_seed_context(outside)
    assert cli("ctx", "validate", "--context", str(path)).code == 0
    run = cli("ctx", "apply", "-", "--context", str(path), input="skill: s\ncompute: {tokens_used: 10}\n")
    assert run.code == 0, run.err
    assert yaml.safe_load(path.read_text())["session_context"]["compute"]["tokens_used"] == 45010
    assert not (outside / ".tether").exists()   # no store was made for it


def test_a_context_both_branches_changed_merges_by_meaning(repo, ws, cli, git, monkeypatch):
    """Two branches each apply a skill result: tether's merge driver (registered by init) keeps both
    results, so nothing has to be applied again (tests/test_ctx_clones.py: across clones, conflicts)."""
    import subprocess

    monkeypatch.setenv("TETHER_ACTOR", "bot-manager")
    assert cli("ctx", "init", "--campaign", "M-1", "--owner", "@dana", "--max-skill-calls", "5").code == 0
    git("add", "-A")
    git("commit", "-qm", "kickoff")
    results = repo.parent / "results"
    results.mkdir()
    (results / "a.yaml").write_text("skill: audience-analyzer\ninvocation_id: inv-a\nbase_revision: 0\n"
                                    "knowledge: {audience: {primary: devs}}\ncompute: {tokens_used: 100}\n")
    (results / "b.yaml").write_text("skill: content-worker\ninvocation_id: inv-b\nbase_revision: 0\n"
                                    "artifacts: [{path: drafts/x.md, status: pending_review}]\ncompute: {tokens_used: 200}\n")
    git("checkout", "-qb", "a")
    assert cli("ctx", "apply", str(results / "a.yaml")).code == 0
    git("commit", "-qam", "a")
    git("checkout", "-q", "main")
    assert cli("ctx", "apply", str(results / "b.yaml")).code == 0
    git("commit", "-qam", "b")
    merged = subprocess.run(["git", "merge", "-q", "--no-edit", "a"], cwd=repo, capture_output=True, text=True)
    assert merged.returncode == 0, merged.stdout + merged.stderr
    assert cli("ctx", "validate").code == 0
    for result in ("a.yaml", "b.yaml"):  # both are in: a retry of either is refused, not counted twice
        assert cli("ctx", "apply", str(results / result)).code == 4
    doc = cli("ctx", "show", "--json").json()["session_context"]
    assert doc["knowledge"]["audience"] == {"primary": "devs"}
    assert [a["path"] for a in doc["artifacts"]] == ["drafts/x.md"]
    assert doc["compute"]["tokens_used"] == 300 and doc["compute"]["skills_invoked"] == 2
    assert doc["compute"]["budget_remaining"] == 3
    assert doc["revision"] == 2 and doc["history"][-1]["action"] == "clones_merged"


def test_boot_names_a_conflicted_context_as_verify_does(repo, ws, cli):
    """The same conflict marker, at the same line with the same words, in the brief and in verify
    (the brief used to name the YAML error the marker caused, a line further on)."""
    text = edit(SEED_CONTEXT, "  # === Accumulated Knowledge ===\n", CONFLICT + "  # === Accumulated Knowledge ===\n")
    rel = f".tether/contexts/{CAMPAIGN}/session_context.yaml"
    (repo / rel).parent.mkdir(parents=True)
    (repo / rel).write_text(text)
    expected = f"{rel}:{line_of(text, '<<<<<<< HEAD')}: " + CONFLICT_MESSAGE
    verify = cli("verify")
    assert verify.code == 3 and expected in verify.out
    boot = cli("boot")
    assert boot.code == 3 and f"- {expected}" in boot.out
