"""save_before_compaction: a Claude Code transcript's large results offloaded, the transcript
archived and summarised in the repository, secrets redacted, nothing stored twice."""

from __future__ import annotations

import json

from tether.compaction import Compactor, save_before_compaction

GITHUB = "ghp_" + "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3z5A"


def line(kind: str, content, **extra) -> str:
    role = "user" if kind == "user" else "assistant"
    row = {"type": kind, "uuid": f"u{len(content) if isinstance(content, str) else id(content)}",
           "message": {"role": role, "content": content}, **extra}
    return json.dumps(row, ensure_ascii=False) + "\n"


def transcript(tmp_path, big: str, secret_line: str = ""):
    rows = [
        json.dumps({"type": "file-history-snapshot", "snapshot": {}}) + "\n",
        line("user", "Fix the crash in src/loader.py when the config file is empty"),
        line("assistant", [{"type": "text", "text": "We decided to guard the empty case instead of rewriting it."},
                           {"type": "tool_use", "id": "t1", "name": "Read", "input": {"file_path": "src/loader.py"}}]),
        line("user", [{"type": "tool_result", "tool_use_id": "t1", "content": big}]),
        line("assistant", [{"type": "tool_use", "id": "t2", "name": "Edit",
                            "input": {"file_path": "src/loader.py", "old_string": "a", "new_string": "b"}}]),
        line("user", [{"type": "tool_result", "tool_use_id": "t2", "content": "ok " + secret_line}]),
        "{not json\n",
        line("assistant", "Next steps:\n- [ ] add a test for the empty config"),
    ]
    path = tmp_path / "session.jsonl"
    path.write_text("".join(rows), encoding="utf-8")
    return path, rows


def big_output(lines: int = 3000) -> str:
    return "".join(f"{i:05d} résultat ✓ value={i * 7}\n" for i in range(lines))


def test_large_results_are_offloaded_archived_and_summarised(ws, tmp_path):
    big = big_output()
    path, rows = transcript(tmp_path, big)
    report = save_before_compaction(ws, path, threshold=1000)
    [item] = report["offloaded"]
    assert item["kind"] == "tool_result" and item["tool_use_id"] == "t1" and item["line"] == 4
    compactor = Compactor(ws)
    assert compactor.show(item["ref"]) == big.encode("utf-8")  # byte-exact
    assert report["tokens_after"] < report["tokens_before"] / 5
    assert report["unreadable_lines"] == [7] and report["lines"] == 8
    archived = compactor.show(report["archive"]).decode("utf-8").splitlines(keepends=True)
    assert len(archived) == len(rows)
    for index, (kept, original) in enumerate(zip(archived, rows)):
        if index == 3:  # the offloaded result: its stub, the rest of the line as it was
            row = json.loads(kept)
            assert row["message"]["content"][0]["content"].startswith("[tether] Offloaded tool result")
            assert item["ref"] in row["message"]["content"][0]["content"]
        else:
            assert kept == original  # every other line byte for byte
    summary = compactor.show(report["summary"]).decode("utf-8")
    assert "## Objective\nFix the crash in src/loader.py when the config file is empty" in summary
    assert "We decided to guard the empty case" in summary
    assert "- src/loader.py (modified)" in summary and "add a test for the empty config" in summary
    assert report["archive"] in summary
    log = (ws.dir / "memory" / "compactions.jsonl").read_text().splitlines()
    assert json.loads(log[-1])["archive"] == report["archive"]


def test_running_twice_stores_nothing_new(ws, tmp_path):
    path, _ = transcript(tmp_path, big_output())
    first = save_before_compaction(ws, path, threshold=1000)
    cache = sorted(p.name for p in (ws.dir / "cache").rglob("*") if p.is_file())
    log = (ws.dir / "memory" / "compactions.jsonl").read_text()
    second = save_before_compaction(ws, path, threshold=1000)
    assert sorted(p.name for p in (ws.dir / "cache").rglob("*") if p.is_file()) == cache
    assert (ws.dir / "memory" / "compactions.jsonl").read_text() == log
    assert first["stored_new"] and not second["stored_new"]
    assert {k: v for k, v in second.items() if k not in ("stored_new", "log")} == \
           {k: v for k, v in first.items() if k not in ("stored_new", "log")}


def test_secrets_are_redacted_in_the_archive_and_in_offloads(ws, tmp_path):
    big = big_output(2000) + f"token: {GITHUB}\n"
    path, rows = transcript(tmp_path, big, secret_line=f"export GITHUB_TOKEN={GITHUB}")
    report = save_before_compaction(ws, path, threshold=1000)
    assert report["redactions"] == 2 and report["redacted_types"] == {"GitHub Token": 2}
    compactor = Compactor(ws)
    for ref in (report["archive"], report["offloaded"][0]["ref"], report["summary"]):
        assert GITHUB.encode() not in compactor.show(ref)
    archived = compactor.show(report["archive"]).decode("utf-8").splitlines(keepends=True)
    redacted = json.loads(archived[5])["message"]["content"][0]["content"]
    assert redacted == "ok export GITHUB_TOKEN=[REDACTED: GitHub Token]"
    assert archived[1] == rows[1]


def test_a_secret_the_summary_quotes_is_redacted_there_too(ws, tmp_path):
    # The summary quotes the session's first request and last replies: it is committed as well.
    path, rows = transcript(tmp_path, big_output(2000))
    rows[1] = line("user", f"Fix the crash in src/loader.py; the CI token is {GITHUB}")
    path.write_text("".join(rows), encoding="utf-8")
    report = save_before_compaction(ws, path, threshold=1000)
    summary = Compactor(ws).show(report["summary"]).decode("utf-8")
    assert GITHUB not in summary and "the CI token is [REDACTED: GitHub Token]" in summary
    assert report["summary_redactions"] == 1 and report["archive_redactions"] == 1
    assert report["redactions"] == 2 and report["redacted_types"] == {"GitHub Token": 2}


def test_a_lone_surrogate_in_the_transcript_is_archived_and_summarised_as_its_escape(ws, tmp_path):
    # Claude Code writes "\ud83d" where it cut a string between the halves of an emoji. A line
    # written again (a secret redacted, a result offloaded), or a summary quoting it, failed to
    # encode: the PreCompact hook saved nothing of the session.
    path, rows = transcript(tmp_path, big_output(2000) + "cut <HIGH>\n", secret_line=f"<LOW> {GITHUB}")
    rows[1] = line("user", "Fix the loader <HIGH> crash")
    rows = [row.replace("<HIGH>", "\\ud83d").replace("<LOW>", "\\udc00") for row in rows]  # JSON's escapes
    path.write_text("".join(rows), encoding="utf-8")
    report = save_before_compaction(ws, path, threshold=1000)
    compactor = Compactor(ws)
    archived = compactor.show(report["archive"]).decode("utf-8").splitlines(keepends=True)  # valid UTF-8
    assert archived[1] == rows[1]  # not written again: as it was
    result = json.loads(archived[5])["message"]["content"][0]["content"]
    assert result == "ok \udc00 [REDACTED: GitHub Token]"  # written again, read back to the same text
    assert json.loads(archived[3])["message"]["content"][0]["content"].startswith("[tether] Offloaded tool result")
    offloaded = compactor.show(report["offloaded"][0]["ref"]).decode("utf-8", "surrogatepass")
    assert offloaded.endswith("cut \ud83d\n")
    summary = compactor.show(report["summary"]).decode("utf-8")
    assert "Fix the loader \\ud83d crash" in summary  # the escape, as text


def test_a_private_key_ending_the_last_reply_is_redacted_in_the_summary_though_its_cut_drops_the_begin_line(
        ws, tmp_path):
    """The summary's current state is the last reply's end: cut first, the key lost its BEGIN line,
    and what was left was no secret to the detector, yet was committed."""
    import base64
    import random

    rows_of_key = [base64.b64encode(random.Random(n).randbytes(48)).decode() for n in range(30)]
    key = "-----BEGIN RSA PRIVATE KEY-----\n" + "\n".join(rows_of_key) + "\n-----END RSA PRIVATE KEY-----"
    path, rows = transcript(tmp_path, big_output(2000))
    rows[-1] = line("assistant", f"Here is the new deploy key.\n{key}")
    path.write_text("".join(rows), encoding="utf-8")
    report = save_before_compaction(ws, path, threshold=1000)
    summary = Compactor(ws).show(report["summary"]).decode("utf-8")
    assert not any(row in summary for row in rows_of_key), summary
    assert "[REDACTED: Private Key]" in summary and report["summary_redactions"] >= 1


def test_a_missing_transcript_is_a_clear_error(ws, tmp_path):
    import pytest

    from tether.errors import InvalidInput

    with pytest.raises(InvalidInput, match="cannot read the transcript"):
        save_before_compaction(ws, tmp_path / "nope.jsonl")


def test_the_home_directory_is_never_stored(tmp_path, monkeypatch):
    """A transcript names the user's home in every line's cwd: what is committed writes it ~."""
    import json as _json

    from tether import Workspace
    from tether.compaction import save_before_compaction

    home = tmp_path / "home" / "alice"
    home.mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    repo = tmp_path / "repo"
    repo.mkdir()
    import subprocess

    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    Workspace.init(repo)
    ws = Workspace.open(repo)
    big = "\n".join(f"{home}/proj/file{i}.py: ok" for i in range(3000))
    lines = [
        {"type": "user", "cwd": f"{home}/proj", "message": {"role": "user", "content": "run the tests"}},
        {"type": "assistant", "cwd": f"{home}/proj", "message": {"role": "assistant", "content": [
            {"type": "tool_use", "id": "t1", "name": "Bash", "input": {"command": "pytest"}}]}},
        {"type": "user", "cwd": f"{home}/proj", "message": {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "t1", "content": big}]}},
    ]
    # Where Claude Code keeps it: a folder named after the project's path, under the home.
    transcript = home / ".claude" / "projects" / "-home-alice-proj" / "c45af7b1.jsonl"
    transcript.parent.mkdir(parents=True)
    transcript.write_text("".join(_json.dumps(line) + "\n" for line in lines))
    report = save_before_compaction(ws, transcript, threshold=1000)
    assert report["offloaded"] and report["redacted_types"].get("home directory", 0) >= 3
    stored = [p for p in (repo / ".tether" / "cache").rglob("*") if p.is_file()]
    assert stored
    committed = [p for p in (repo / ".tether").rglob("*") if p.is_file() and "local" not in p.parts]
    for path in committed:  # the cache and the compaction log alike: what a commit would take
        assert str(home).encode() not in path.read_bytes(), path
        assert b"alice" not in path.read_bytes(), path
    assert report["transcript"] == "c45af7b1.jsonl"
    assert b"~/proj/file1.py: ok" in b"".join(p.read_bytes() for p in stored)


def test_the_summary_names_the_repositorys_files_as_the_repository_does(ws, tmp_path):
    """Agents give absolute paths; the summary (and the checkpoint it makes) names a file of the
    repository from its root, and leaves one outside it as it was."""
    inside = str(ws.root / "src" / "loader.py")
    rows = [line("user", "Fix the loader"),
            line("assistant", [{"type": "tool_use", "id": "t1", "name": "Edit",
                                "input": {"file_path": inside, "old_string": "a", "new_string": "b"}},
                               {"type": "tool_use", "id": "t2", "name": "Read", "input": {"file_path": "/etc/hosts"}}]),
            line("user", [{"type": "tool_result", "tool_use_id": "t1", "content": "ok"}])]
    path = tmp_path / "abs.jsonl"
    path.write_text("".join(rows), encoding="utf-8")
    summary = Compactor(ws).show(save_before_compaction(ws, path, threshold=1000)["summary"]).decode("utf-8")
    assert "- src/loader.py (modified)" in summary and inside not in summary and "/etc/hosts" in summary
    messages = [{"role": "user", "content": "Fix the loader"},
                {"role": "assistant", "content": None, "tool_calls": [{"id": "c1", "type": "function", "function": {
                    "name": "Edit", "arguments": json.dumps({"file_path": inside, "old_string": "a", "new_string": "b"})}}]},
                {"role": "tool", "tool_call_id": "c1", "content": "ok"}] + [{"role": "user", "content": "go on"}] * 5
    text = json.dumps(Compactor(ws).compact(messages, [3], record=False).output())
    assert "src/loader.py" in text and inside not in text
