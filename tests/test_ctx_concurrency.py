"""One session context, many writers at once: real processes, nothing lost, nothing counted twice.

Writers are separate Python processes (the API, or ``python -m tether ctx apply``)
that print what tether acknowledged to them, so the test knows exactly what each
was promised. Every update is read-change-write under the context's lock, so the
file afterwards holds every acknowledged result, and a result based on a revision
that someone has since overwritten is refused, never silently lost.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tether.campaign import Campaign

WRITERS = 4
ROUNDS = 10

WRITER = r"""
import json, os, sys, time
from tether.campaign import Campaign

context, index, rounds, go = sys.argv[1:]
index, rounds = int(index), int(rounds)
camp = Campaign.open(context=context)
open(f"{go}.ready.{index}", "w").close()
while not os.path.exists(go):  # a barrier: every writer starts at the same moment
    time.sleep(0.002)
for j in range(rounds):
    out = camp.apply({
        "skill": f"writer-{index}",
        "invocation_id": f"w{index}-{j}",
        "artifacts": [{"type": "draft", "path": f"drafts/w{index}-{j}.md"}],
        "knowledge": {f"writer_{index}": {"last_step": j}, "seen": [f"w{index}-{j}"]},
        "compute": {"tokens_used": (index + 1) * 1000 + j},
    })
    print(json.dumps({"revision": out["revision"], "step": j}), flush=True)
"""


@pytest.fixture(autouse=True)
def _env(monkeypatch, fast_writes):
    # Hundreds of writes: no fsync here (tests/test_concurrency.py covers durability).
    monkeypatch.setenv("TETHER_NOW", "2026-01-29T10:00:00Z")


@pytest.fixture
def camp(ws) -> Campaign:
    return Campaign.create("RACE-1", "@phil", max_skill_calls=1000, max_tokens=10 ** 7)


def start_together(code: str, args_for, count: int, go: Path) -> list[subprocess.Popen]:
    """``count`` processes running ``code``; they wait at a barrier until all are ready, then go."""
    procs = [subprocess.Popen([sys.executable, "-c", code, *map(str, args_for(i))], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for i in range(count)]
    try:
        deadline = time.monotonic() + 60   # only so a broken writer cannot hang the suite
        while not all(Path(f"{go}.ready.{i}").exists() for i in range(count)):
            assert time.monotonic() < deadline and all(p.poll() is None for p in procs), \
                [p.communicate()[1] for p in procs if p.poll() is not None]
            time.sleep(0.005)
        go.touch()
    except BaseException:
        for proc in procs:
            proc.kill()
            proc.wait()
        raise
    return procs


def finish(procs: list[subprocess.Popen]) -> list[str]:
    outs = []
    try:
        for proc in procs:
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
            outs.append(out)
    finally:
        for proc in procs:  # never leave a writer behind
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return outs


def test_concurrent_writers_lose_nothing(camp, cli, tmp_path):
    go = tmp_path / "go"
    procs = start_together(WRITER, lambda i: (camp.path, i, ROUNDS, go), WRITERS, go)
    outs = finish(procs)

    # Every apply was acknowledged with its own revision: 1..40, no two writers got the same one.
    acked = [json.loads(line)["revision"] for out in outs for line in out.splitlines()]
    assert len(acked) == WRITERS * ROUNDS
    assert sorted(acked) == list(range(1, WRITERS * ROUNDS + 1))
    for out in outs:  # each writer's own revisions only grow
        mine = [json.loads(line)["revision"] for line in out.splitlines()]
        assert mine == sorted(mine)

    doc = Campaign.open(context=camp.path).load()   # a fresh reader
    assert doc["revision"] == WRITERS * ROUNDS
    paths = sorted(a["path"] for a in doc["artifacts"])
    assert paths == sorted(f"drafts/w{i}-{j}.md" for i in range(WRITERS) for j in range(ROUNDS))
    assert {a["path"]: a["produced_by"] for a in doc["artifacts"]} == {
        f"drafts/w{i}-{j}.md": f"writer-{i}" for i in range(WRITERS) for j in range(ROUNDS)}
    compute = doc["compute"]
    expected_tokens = sum((i + 1) * 1000 + j for i in range(WRITERS) for j in range(ROUNDS))
    assert compute["tokens_used"] == expected_tokens
    assert compute["skills_invoked"] == WRITERS * ROUNDS
    assert compute["budget_remaining"] == 1000 - WRITERS * ROUNDS
    assert compute["budget_tokens_remaining"] == 10 ** 7 - expected_tokens
    log = compute["invocation_log"]
    assert len(log) == WRITERS * ROUNDS
    assert sorted(e["invocation_id"] for e in log) == sorted(f"w{i}-{j}" for i in range(WRITERS) for j in range(ROUNDS))
    assert sum(e["tokens"] for e in log) == expected_tokens
    knowledge = doc["knowledge"]
    assert sorted(knowledge["seen"]) == sorted(f"w{i}-{j}" for i in range(WRITERS) for j in range(ROUNDS))
    assert all(knowledge[f"writer_{i}"] == {"last_step": ROUNDS - 1} for i in range(WRITERS))
    # History: one entry per revision, in order, each naming the artifact it added.
    applied = [h for h in doc["history"] if h["action"] == "skill_result_applied"]
    assert [h["revision"] for h in applied] == list(range(1, WRITERS * ROUNDS + 1))
    assert all(any(c.startswith("artifacts[drafts/") for c in h["changed"]) for h in applied)
    # And the file is one tether (and the schema) accepts.
    run = cli("ctx", "validate", "--context", camp.path, "--json")
    assert run.code == 0 and run.json()["valid"] is True, run.out


def test_concurrent_command_line_applies_lose_nothing(camp, cli, tmp_path, repo):
    count = 8
    files = []
    for i in range(count):
        path = tmp_path / f"result-{i}.yaml"
        path.write_text(yaml.safe_dump({"skill_result": {
            "skill": f"cli-{i}", "invocation_id": f"cli-{i}", "outputs": {"artifacts": [{"path": f"out/{i}.md"}]},
            "context_updates": {"compute": {"tokens_used": 100 + i}, "pending_decisions": [{"question": f"Q{i}?"}]}}}))
        files.append(path)
    procs = [subprocess.Popen([sys.executable, "-m", "tether", "ctx", "apply", str(f), "--campaign", "RACE-1", "--json"],
                              cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for f in files]
    outs = finish(procs)
    revisions = sorted(json.loads(out)["revision"] for out in outs)
    assert revisions == list(range(1, count + 1))
    doc = Campaign.open(context=camp.path).load()
    assert sorted(a["path"] for a in doc["artifacts"]) == sorted(f"out/{i}.md" for i in range(count))
    assert doc["compute"]["tokens_used"] == sum(100 + i for i in range(count))
    assert len(doc["compute"]["invocation_log"]) == count
    # Every question got its own id: decision-000 .. decision-007, none twice.
    ids = sorted(d["id"] for d in doc["pending_decisions"])
    assert ids == [f"decision-{n:03d}" for n in range(count)]
    assert sorted(d["question"] for d in doc["pending_decisions"]) == sorted(f"Q{i}?" for i in range(count))
    assert cli("ctx", "validate", "--context", camp.path).code == 0


@pytest.mark.parametrize("skills, overrides", [
    (("content-worker", "content-worker"), []),                         # two runs of one skill
    (("content-worker", "brand-strategist"), ["knowledge.angle"]),      # two skills, both meaning to replace it
], ids=["same-skill", "different-skills"])
def test_two_writers_on_the_same_base_one_wins_the_other_is_refused(camp, cli, tmp_path, repo, skills, overrides):
    camp.apply({"skill": "content-worker", "knowledge": {"angle": "cross-chain"}})
    base = camp.load()["revision"]
    values = ("self-custody", "benefits")
    files = []
    for n, (skill, value) in enumerate(zip(skills, values)):
        path = tmp_path / f"writer-{n}.yaml"
        path.write_text(yaml.safe_dump({"skill": skill, "base_revision": base, "overrides": overrides,
                                        "knowledge": {"angle": value}, "artifacts": [{"path": f"w{n}.md"}],
                                        "compute": {"tokens_used": 1000}}))
        files.append(path)
    procs = [subprocess.Popen([sys.executable, "-m", "tether", "ctx", "apply", str(f), "--context", camp.path, "--json"],
                              cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for f in files]
    results = []
    try:
        for proc in procs:
            out, err = proc.communicate(timeout=120)
            results.append((proc.returncode, json.loads(out)))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    assert sorted(code for code, _ in results) == [0, 4], results
    winner = next(n for n, (code, _) in enumerate(results) if code == 0)
    loser = 1 - winner
    refusal = results[loser][1]
    assert refusal["ok"] is False and refusal["kind"] == "refused"
    assert refusal["reasons"] == [f"knowledge.angle: changed at revision {base + 1} by {skills[winner]} "
                                  f"after revision {base}, which this result was based on"]
    doc = camp.load()
    assert doc["knowledge"]["angle"] == values[winner]
    assert doc["revision"] == base + 1
    # The refused result applied nothing at all: not its artifact, not its tokens.
    assert [a["path"] for a in doc["artifacts"]] == [f"w{winner}.md"]
    assert doc["compute"]["tokens_used"] == 1000 and doc["compute"]["skills_invoked"] == 2
    # Nothing lost: the refused writer, re-based on what it now sees, can still say its piece.
    again = yaml.safe_load(files[loser].read_text())
    again["base_revision"] = doc["revision"]
    again["overrides"] = ["knowledge.angle"]
    run = cli("ctx", "apply", "-", "--context", camp.path, "--json", input=json.dumps(again))
    assert run.code == 0, run.out
    assert camp.load()["knowledge"]["angle"] == values[loser]
    assert cli("ctx", "validate", "--context", camp.path).code == 0


def test_a_retry_racing_its_original_counts_once(camp, tmp_path, repo):
    # A manager that times out and retries sends the same invocation twice, possibly at once.
    path = tmp_path / "result.yaml"
    path.write_text(yaml.safe_dump({"skill": "content-worker", "invocation_id": "inv-7",
                                    "compute": {"tokens_used": 30000}, "artifacts": [{"path": "x.md"}]}))
    procs = [subprocess.Popen([sys.executable, "-m", "tether", "ctx", "apply", str(path), "--context", camp.path,
                               "--json"], cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(3)]
    codes = []
    try:
        for proc in procs:
            proc.communicate(timeout=120)
            codes.append(proc.returncode)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert sorted(codes) == [0, 4, 4]
    compute = camp.load()["compute"]
    assert compute["tokens_used"] == 30000 and compute["skills_invoked"] == 1
    assert [e["invocation_id"] for e in compute["invocation_log"]] == ["inv-7"]
    assert [a["path"] for a in camp.load()["artifacts"]] == ["x.md"]


STALE_WRITER = r"""
import json, os, sys, time
from tether.campaign import Campaign

context, index, rounds, go = sys.argv[1:]
index, rounds = int(index), int(rounds)
camp = Campaign.open(context=context)
open(f"{go}.ready.{index}", "w").close()
while not os.path.exists(go):
    time.sleep(0.002)
for j in range(rounds):
    # Every result is based on revision 0, as a skill given the context at kickoff reports late;
    # each adds its own key under one parent that did not exist at revision 0.
    out = camp.apply({"skill": f"skill-{index}", "base_revision": 0, "invocation_id": f"s{index}-{j}",
                      "knowledge": {"findings": {f"s{index}_{j}": j}}})
    print(json.dumps({"revision": out["revision"]}), flush=True)
"""


def test_concurrent_stale_results_that_touch_nothing_changed_all_apply(camp, tmp_path):
    go = tmp_path / "go"
    outs = finish(start_together(STALE_WRITER, lambda i: (camp.path, i, 5, go), WRITERS, go))
    assert sorted(json.loads(line)["revision"] for out in outs for line in out.splitlines()) == \
        list(range(1, WRITERS * 5 + 1))
    assert camp.load()["knowledge"]["findings"] == {f"s{i}_{j}": j for i in range(WRITERS) for j in range(5)}
