"""Fuzzing every parser through real processes: no crash, no hang, no damage left unreported.

A seeded, bounded sample of what ``bench/bench_fuzz.py`` runs at length (``tests/fuzzing.py``
holds the harness and says what each failure kind means). Each parser gets the same number
of cases; a case breaks one file of a realistic workspace (or the hook's stdin) in one seeded
way and runs the commands that read it, then the one that must report it. A failure prints
the case, the mutation, the command, its exit code and its last lines of output, and the
command that replays it. ``TETHER_FUZZ_SEED`` and ``TETHER_FUZZ_CASES`` (cases per parser)
change the sample.
"""

from __future__ import annotations

import os

import pytest

import fuzzing

SEED = int(os.environ.get("TETHER_FUZZ_SEED") or fuzzing.DEFAULT_SEED)
PER_TARGET = int(os.environ.get("TETHER_FUZZ_CASES") or 4)


@pytest.fixture(scope="module")
def runner(tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzz")
    template = fuzzing.build_template(root / "template")
    return fuzzing.Runner(template, root / "cases", timeout=20.0)


def _reports(failures) -> str:
    return f"{len(failures)} failure(s):\n\n" + "\n\n".join(f.report() for f in failures)


def test_the_reference_readers_accept_the_workspace_as_built(runner):
    repo = runner.template.repo
    checked = {}
    for rel, data in fuzzing.snapshot(repo).items():
        check = fuzzing.reference_for(rel)
        if check is not None:
            checked[rel] = check(data, rel)
    for rel in fuzzing.RESULT_RELS:
        checked[rel] = fuzzing.check_skill_result((repo / rel).read_bytes(), rel)
    checked[".tether/open"] = fuzzing.markers_verdict(repo)
    assert len(checked) >= 25
    assert {rel: v for rel, v in checked.items() if v.valid is not True} == {}


def _replace(data: bytes, old: bytes, new: bytes) -> bytes:
    assert old in data, old
    return data.replace(old, new, 1)


def test_the_reference_readers_reject_what_formats_md_rules_out(runner):
    # The harness's oracle must be able to say "damaged": each of these breaks a documented rule.
    repo = runner.template.repo
    names = runner.template.facts["checkpoints"]["ITEMS"]
    ckp_rel = f".tether/tasks/ITEMS/checkpoints/{names[-1]}.md"
    ckp = (repo / ckp_rel).read_bytes()
    task = (repo / ".tether/tasks/ITEMS/task.md").read_bytes()
    notes = (repo / ".tether/context.jsonl").read_bytes()
    latest = (repo / ".tether/progress/LATEST.json").read_bytes()
    context = (repo / fuzzing.CONTEXT_REL).read_bytes()
    broken = {
        "done as a number": fuzzing.check_checkpoint(_replace(ckp, b'done: "1-13"', b"done: 12"), ckp_rel),
        "front matter cut short": fuzzing.check_checkpoint(ckp[:ckp.index(b"current_state")], ckp_rel),
        "conflict marker": fuzzing.check_task(b"<<<<<<< HEAD\n" + task, ".tether/tasks/ITEMS/task.md"),
        "invalid UTF-8": fuzzing.check_task(_replace(task, b"Summarise", b"Summ\xe9rise"), ".tether/tasks/ITEMS/task.md"),
        "id of another folder": fuzzing.check_task(task, ".tether/tasks/OTHER/task.md"),
        "unknown note kind": fuzzing.check_notes(_replace(notes, b'"kind":"gotcha"', b'"kind":"bogus"'), "x"),
        "lone surrogate": fuzzing.check_notes(_replace(notes, b'"kind":"gotcha"', b'"kind":"\\ud800"'), "x"),
        "huge int": fuzzing.check_latest(_replace(latest, b'"summary": "', b'"summary": ' + b"9" * 5000 + b', "x": "'), "x"),
        "deep nesting": fuzzing.check_latest(b"[" * 5000 + b"]" * 5000, "x"),
        "budget as text": fuzzing.check_session_context(
            _replace(context, b"max_skill_calls: 10", b"max_skill_calls: lots"), fuzzing.CONTEXT_REL),
        "recursive alias": fuzzing.check_session_context(
            _replace(context, b"tier: 2", b"tier: &r [*r]"), fuzzing.CONTEXT_REL),
        "result without a skill": fuzzing.check_skill_result(b"compute: {tokens_used: 5}\n", "r.yaml"),
        "hook input that is a list": fuzzing.check_hook_input(b"[1, 2]", "<stdin>"),
        "settings hooks as a list": fuzzing.check_settings(b'{"hooks": []}', ".claude/settings.json"),
        "budget below 100": fuzzing.check_config(b"[boot]\nbudget = 5\n", ".tether/tether.toml"),
    }
    assert {what: v for what, v in broken.items() if v.valid is not False} == {}


def test_the_control_passes_every_check(runner):
    # The same commands and checks over the undamaged workspace: a failure here is the harness's, not tether's.
    failures, codes = [], {}
    for case in fuzzing.control_cases(runner.template, SEED):
        result = runner.run(case)
        failures += result.failures
        codes.update({f"{case.target}: {name}": run.code for name, run in result.runs})
    if failures:
        pytest.fail(_reports(failures), pytrace=False)
    assert len(codes) >= 40
    unexpected = {k: c for k, c in codes.items() if c != 0 and not k.endswith(("ctx-scope", "ctx-apply-stdin"))}
    assert unexpected == {}


def test_claude_codes_recorded_hook_inputs_as_they_are(runner):
    # The inputs the hook fuzzing starts from half of the time, unmutated: one of each event.
    recorded = fuzzing.real_hook_inputs()
    if not recorded:
        pytest.skip("no recorded hook inputs (../shared/bench is not beside the repository)")
    one_each = {str(e.get("hook_event_name") or e.get("event")): e for e in recorded}
    failures = []
    for index, event in enumerate(one_each.values()):
        case = fuzzing.make_case(SEED, fuzzing.TARGET_ORDER.index("hook stdin"), runner.template)
        case.index, case.mutation, case.params["event"] = 10_000 + index, "m_none", event
        result = runner.run(case)
        failures += result.failures
        assert [run.code for _, run in result.runs] == [0, 0], result.runs
    if failures:
        pytest.fail(_reports(failures), pytrace=False)
    assert {"SessionStart", "PreCompact"} <= set(one_each)


@pytest.mark.parametrize("target", fuzzing.TARGET_ORDER)
def test_fuzz(runner, target):
    position = fuzzing.TARGET_ORDER.index(target)
    indexes = [position + k * len(fuzzing.TARGET_ORDER) for k in range(PER_TARGET)]
    results = fuzzing.run_cases(runner, SEED, indexes)
    assert [r.case.target for r in results] == [target] * PER_TARGET
    assert all(r.runs for r in results)
    failures = [f for r in results for f in r.failures]
    if failures:
        pytest.fail(_reports(failures), pytrace=False)
