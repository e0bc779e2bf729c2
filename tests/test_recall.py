"""tether recall: the index follows the files (only what changed is read), survives losing its
database and damaged files, ranks what matches best first, filters, and keeps to its budget."""

from __future__ import annotations

import os
import re
import time

import pytest

from tether.recall import Recall


def age(root) -> None:
    """Make every file older than the racily-clean margin, as files are a few seconds after a command."""
    past = time.time() - 60
    for folder, _dirs, files in os.walk(root):
        for name in files + [folder]:
            os.utime(os.path.join(folder, name), (past, past))


@pytest.fixture
def memory(ws):
    task = ws.start_task("Parser rewrite", definition="rewrite the config parser", task_id="T1")
    ws.checkpoint(state="lexer done; tokens carry line numbers", next_actions=["write the parser"])
    ws.checkpoint(state="parser reads sections", next_actions=["error messages"])
    ws.decide("Which database for the cache?", "SQLite in WAL mode", rationale="no server to run; one writer")
    ws.note("gotcha", "NFS mounts break SQLite locking: keep the cache on local disk")
    old = ws.note("dont", "Do not vendor the YAML library")
    ws.resolve_note(old.id)
    ws.start_task("Docs pass", definition="document every command", task_id="T2")
    age(ws.dir)
    return ws


def test_hits_carry_provenance_and_status(memory):
    found = Recall(memory).search("sqlite locking")
    first = found["hits"][0]
    assert first["kind"] == "context" and "NFS" in first["text"]
    assert first["path"].endswith("context.jsonl") and first["line"] == 1 and first["at"]
    kinds = {h["kind"] for h in found["hits"]}
    assert "decision" in kinds
    resolved = Recall(memory).search("vendor YAML library")["hits"][0]
    assert resolved["status"] == "resolved"
    older = Recall(memory).search("lexer tokens line numbers", kinds=["checkpoint"])["hits"][0]
    assert older["id"] == "T1/CKP-0001" and older["status"] == "superseded" and older["session"]
    newest = Recall(memory).search("parser reads sections", kinds=["checkpoint"])["hits"][0]
    assert newest["id"] == "T1/CKP-0002" and newest["status"] == "current"


def test_a_decision_and_an_entry_name_the_session_that_wrote_them(ws, cli, monkeypatch):
    monkeypatch.setenv("TETHER_SESSION_ID", "S-agent-7")
    assert cli("decide", "Which lexer?", "--decision", "a hand-written one", "--rationale", "speed").code == 0
    assert cli("note", "gotcha", "the lexer chokes on CRLF line endings").code == 0
    monkeypatch.delenv("TETHER_SESSION_ID")  # a terminal's one-off command: its own cmd-... id
    assert cli("note", "gotcha", "the lexer drops a BOM silently").code == 0
    hits = cli("recall", "lexer", "--json").json()["hits"]
    assert [h["session"] for h in hits if h["kind"] == "decision"] == ["S-agent-7"]
    entries = {h["text"]: h["session"] for h in hits if h["kind"] == "context"}
    assert entries["the lexer chokes on CRLF line endings"] == "S-agent-7"
    assert entries["the lexer drops a BOM silently"].startswith("cmd-")
    # the same session as the memory log's event names, for `tether log --session`
    events = cli("log", "--session", "S-agent-7", "--json").json()["events"]
    assert {e["event"] for e in events} == {"decision", "note"}


def test_only_a_new_checkpoint_is_read(memory):
    rec = Recall(memory)
    assert rec.refresh()["read"] >= 5  # first use builds it
    assert Recall(memory).refresh()["read"] == 0
    cp = memory.checkpoint("T1", state="semantic checks on the parse tree", next_actions=["ship"])
    rec = Recall(memory)
    rec.refresh()
    assert rec.index.read == [f"tasks/T1/checkpoints/{cp.name}.md"]
    assert Recall(memory).search("semantic parse tree")["hits"][0]["id"] == "T1/CKP-0003"


def test_an_edited_or_removed_file_is_seen(memory):
    Recall(memory).refresh()
    context = os.path.join(memory.dir, "context.jsonl")
    with open(context, "ab") as fh:
        fh.write(b'{"at":"2026-12-01T10:00:00Z","by":"@ann","id":"N-1","kind":"learning","text":"flaky zeppelin test"}\n')
    hit = Recall(memory).search("zeppelin")["hits"][0]
    assert hit["who"] == "@ann" and hit["kind"] == "context"
    decision = [h for h in Recall(memory).search("database cache WAL")["hits"] if h["kind"] == "decision"][0]
    os.unlink(os.path.join(memory.root_dir, decision["path"]))
    assert all(h["kind"] != "decision" for h in Recall(memory).search("database cache WAL")["hits"])


def test_the_index_is_rebuilt_when_deleted_or_unreadable(memory):
    rec = Recall(memory)
    rec.refresh()
    path = memory.store.recall_index_file()
    rec.close()
    assert os.path.exists(path)
    os.unlink(path)
    assert Recall(memory).search("WAL mode")["hits"][0]["kind"] == "decision"
    with open(path, "wb") as fh:
        fh.write(b"not a database at all" * 100)
    assert Recall(memory).search("WAL mode")["hits"][0]["kind"] == "decision"


def test_a_damaged_file_is_reported_with_its_line_and_skipped(memory, cli, monkeypatch):
    with open(os.path.join(memory.dir, "context.jsonl"), "ab") as fh:
        fh.write(b'{"at": torn\n')
    bad = os.path.join(memory.dir, "decisions", "D-bad.md")
    with open(bad, "w") as fh:
        fh.write("no front matter here, sqlite\n")
    found = Recall(memory).search("sqlite locking")
    where = {(p["path"].rsplit("/", 1)[-1], p["line"]) for p in found["problems"]}
    assert ("D-bad.md", 1) in where and any(name == "context.jsonl" and line for name, line in where)
    assert any(h["kind"] == "context" for h in found["hits"])  # the good lines are still there
    monkeypatch.chdir(memory.root_dir)
    run = cli("recall", "sqlite")
    assert run.code == 3 and "D-bad.md:1" in run.out
    again = Recall(memory).search("sqlite")["problems"]  # reported each time, once
    assert len(again) == len(found["problems"]) == 2


def test_ranking_puts_the_best_match_first(memory):
    for i in range(20):
        memory.note("note", f"routine note {i} about the build and the parser")
    memory.note("gotcha", "the parser chokes on tabs in section headers")
    hits = Recall(memory).search("parser tabs section headers")["hits"]
    assert "tabs" in hits[0]["text"]


def test_filters(memory):
    rec = Recall(memory)
    assert {h["kind"] for h in rec.search("parser", kinds=["task"])["hits"]} == {"task"}
    assert {h["task"] for h in rec.search("parser docs command", task="T2")["hits"]} == {"T2"}
    assert rec.search("parser", since="2999-01-01")["hits"] == []
    from tether.errors import InvalidInput

    for bad in ({"kinds": ["nope"]}, {"since": "last week"}, {"limit": 0}, {"budget": 3}, {"since": "2026-13-45"},
                {"since": "2026-02-30"}, {"since": "2026-12-05T25:00Z"}, {"limit": 10 ** 20}, {"task": "T99"}):
        with pytest.raises(InvalidInput):
            rec.search("parser", **bad)
    assert rec.search("parser", since="2026-02-28T23:59Z")["hits"]  # a real time is still one


@pytest.mark.parametrize("argv, said", [
    (["--limit", "99999999999999999999"], "--limit must be from 1 to 1,000, got 99999999999999999999"),
    (["--since", "2026-13-45"], "--since '2026-13-45' is not a date"),
    (["--task", "T99"], "no task 'T99'"),
])
def test_the_cli_refuses_what_no_search_can_mean_with_a_hint(memory, cli, argv, said):
    run = cli("recall", "parser", *argv)
    assert run.code == 1 and run.err.splitlines()[0] == f"Error: {said}" and run.err.splitlines()[1].startswith("Hint: ")
    assert cli("recall", "parser", *argv, "--json").json()["error"] == said


def test_budget_and_limit_keep_hits_small(memory):
    for i in range(30):
        memory.note("note", f"cache warming step {i}: " + "the cache is warmed from the manifest " * 10)
    found = Recall(memory).search("cache warming manifest", budget=200)
    assert 1 <= len(found["hits"]) < 30 and found["tokens"] <= 200 and found["truncated"]
    assert len(Recall(memory).search("cache warming", limit=3)["hits"]) == 3
    assert len(Recall(memory).search("cache warming")["hits"]) <= 8  # small by default


def test_the_cli_prints_hits_and_json(memory, cli, monkeypatch):
    monkeypatch.chdir(memory.root_dir)
    run = cli("recall", "SQLite", "locking", "--limit", "2")
    assert run.code == 0 and "context.jsonl:1" in run.out and "2 hits" in run.out
    data = cli("recall", "WAL", "--json").json()
    assert data["hits"][0]["kind"] == "decision" and data["hits"][0]["path"].startswith(".tether/decisions/")
    bad = cli("recall", "x", "--since", "yesterday", "--json")
    assert bad.code == 1 and "hint" in bad.json()


def test_offloaded_results_and_packets_are_found(memory):
    from tether.offload import Offload

    off = Offload(memory)
    off.create_cluster("Notes01")
    off.add("blob", "Notes01", "Retry policy", content="exponential backoff with jitter for the uploader")
    cache = os.path.join(memory.dir, "cache", "offloaded")
    os.makedirs(cache, exist_ok=True)
    with open(os.path.join(cache, "ab" * 32), "w") as fh:
        fh.write("line one\nFAILED tests/test_upload.py::test_quota - quota exceeded\n")
    kinds = {h["kind"] for h in Recall(memory).search("backoff jitter uploader quota exceeded")["hits"]}
    assert {"packet", "offloaded"} <= kinds


HTTP_NOTE = """# HTTP client conventions

These are the conventions the team agreed for the outbound HTTP client.
They cover timeouts, logging and the error policy.

## Timeouts

Every call has a connect timeout of 3 seconds and a read timeout of 10 seconds.

## Errors

Never retry on HTTP 4xx: the request is wrong and sending it again changes nothing.
Retry 5xx and timeouts up to three times with exponential backoff.
"""


def test_a_packet_hit_names_the_line_of_its_match_and_shows_that_text(memory, tmp_path):
    """An offload packet is a YAML file: its hit points at the line where the matching text is
    (not line 1), and its excerpt is that text, not the packet's id, kind and hash."""
    from tether.offload import Offload

    off = Offload(memory)
    off.create_cluster("C01_Http")
    (memory.root / "notes").mkdir()
    (memory.root / "notes" / "http.md").write_text(HTTP_NOTE)
    off.ingest([str(memory.root / "notes")], "C01_Http")
    # A long packet: the match is in a piece far below its first (extract.CHUNK).
    filler = "\n\n".join(f"Paragraph {i} says something about the uploader queue." for i in range(200))
    off.add("blob", "C01_Http", "Uploader notes", content=filler + "\n\nThe quokka cache is flushed at midnight.\n")
    for query, words in (("retry 4xx", "Never retry on HTTP 4xx"), ("quokka flushed", "The quokka cache is flushed")):
        hit = Recall(memory).search(query, kinds=["packet"])["hits"][0]
        lines = (memory.root / hit["path"]).read_text().split("\n")
        assert hit["line"] > 1 and words in lines[hit["line"] - 1], (query, hit["line"])
        assert hit["text"].lstrip("… ").startswith(words)
        assert not any(key in hit["text"] for key in ("schema:", "kind:", "sha256", "content:", hit["id"]))


def test_a_packet_is_searched_by_its_words_not_its_filing(memory):
    """Its id, kind, status, hash and dates file it: they are not its words, and no longer match."""
    from tether.offload import Offload

    off = Offload(memory)
    off.create_cluster("C01_Http")
    off.add("blob", "C01_Http", "Backoff", content="exponential backoff with jitter", tags=["uploader"])
    assert [h["kind"] for h in Recall(memory).search("jitter uploader")["hits"]] == ["packet"]
    assert Recall(memory).search("sha256 active blob", kinds=["packet"])["hits"] == []


def test_a_packets_indexed_text_keeps_its_lines_and_words_whatever_yaml_wrote():
    """Quoted and folded scalars, a retired packet's reason: one indexed line per line of the file."""
    from tether.offload import packets
    from tether.recall.extract import packet_text

    doc = packets.make(packet_id="BLB-261205-0xx2yfqpd5", kind="blob", cluster="C1", title="Colon: " + "long " * 30,
                       created="2026-12-05T08:00:00Z", session="S1", tags=["uploader"],
                       content="ends in spaces  \nsecond: not a key\n" + "word " * 40)
    text = packets.dump(packets.retire(doc, at="2026-12-06T08:00:00Z", session="S2", reason="superseded by D7")).decode()
    lines, indexed = text.split("\n"), packet_text(text).split("\n")
    assert len(indexed) == len(lines)
    words = " ".join(indexed).split()
    for kept in ("Colon:", "uploader", "superseded", "D7", "spaces", "second:", "key"):
        assert kept in words
    for filing in ("BLB-261205-0xx2yfqpd5", "blob", "retired", "S1", "S2", "'2026-12-05T08:00:00Z'", "\\n", "content:"):
        assert not any(filing in w for w in words), filing
    assert indexed[lines.index("- uploader")] == "uploader"


def test_a_session_context_hit_names_the_line_of_its_match_and_shows_that_text(ws, monkeypatch):
    """A session context is YAML: its hit points at the line of the matching text, and its excerpt
    is that text, not the keys, ids, revisions and times around it; a knowledge entry's own key
    (a word someone chose) is kept."""
    from tether.campaign import Campaign

    monkeypatch.setenv("TETHER_NOW", "2026-12-05T10:00:00Z")
    camp = Campaign.create("GTM-LOGI-001", "@ann", workspace=ws)
    camp.apply({"skill": "research", "status": "success", "summary": "Audience research for the campaign",
                "knowledge": {"target_audience": "CFOs at mid-size logistics firms",
                              "learnings": ["Webinars convert twice as well as ebooks for this audience: keep the"
                                            " ebook only as a lead magnet", "Pricing pages with a calculator help"]}})
    camp.escalate("Which channel leads: LinkedIn or trade press?", options=["LinkedIn", "trade press"])
    monkeypatch.delenv("TETHER_NOW")
    age(ws.dir)
    for query, words in (("webinars ebooks", "Webinars convert twice as well as ebooks"),
                         ("channel LinkedIn press", "Which channel leads: LinkedIn or trade press?"),
                         ("CFOs logistics", "target_audience: CFOs at mid-size logistics firms")):
        hit = Recall(ws).search(query, kinds=["campaign"])["hits"][0]
        lines = (ws.root / hit["path"]).read_text().split("\n")
        assert hit["line"] > 1 and words.split(":")[-1].strip() in lines[hit["line"] - 1], (query, hit["line"])
        assert hit["text"].lstrip("… ").startswith(words), (query, hit["text"])
        for structure in ("session_context", "knowledge:", "question:", "revision", "- ", "'", "2026-"):
            assert structure not in hit["text"], (query, structure, hit["text"])
    # Its filing (ids, times, statuses, revisions) is not its words.
    text = (ws.root / ".tether/contexts/GTM-LOGI-001/session_context.yaml").read_text()
    session = re.search(r"^  id: (\S+)", text, re.M).group(1)
    for filing in (session, "awaiting_response", "skill_result_applied"):
        assert Recall(ws).search(filing, kinds=["campaign"])["hits"] == [], filing


def test_a_hand_written_session_contexts_indexed_text_keeps_its_lines_and_words():
    """The seed's own context (comments, quoted values): one indexed line per line, no comment,
    id, time or count; the protocol's keys are all known, so none of them is taken for a word."""
    import json
    from importlib import resources

    from ctx_seed import SEED_CONTEXT
    from tether.recall.extract import CONTEXT_KEYS, context_text

    lines, indexed = SEED_CONTEXT.split("\n"), context_text(SEED_CONTEXT).split("\n")
    assert len(indexed) == len(lines)
    assert indexed[lines.index('    title: "Yield.xyz Integration Launch"')] == "Yield.xyz Integration Launch"
    assert indexed[[i for i, line in enumerate(lines) if "status:" in line and "kickoff |" in line][0]] == ""
    words = " ".join(indexed).split()
    for gone in ("session-2026-01-29-001", "2026-01-29T10:00:00Z", "100000", "in_progress", "objectives:", "#"):
        assert not any(gone in w for w in words), gone
    for kept in ("Farcaster", "outperforms", "approval"):
        assert kept in words

    def keys(schema):
        for key, value in (schema.get("properties") or {}).items():
            yield key
            yield from keys(value)
        for inner in (schema.get("items"), schema.get("additionalProperties")):
            if isinstance(inner, dict):
                yield from keys(inner)

    schema = json.loads(resources.files("tether.campaign").joinpath("session_context.schema.json").read_text())
    assert set(keys(schema)) <= CONTEXT_KEYS


def test_the_tasks_folder_is_walked_only_after_a_write_to_it(memory, monkeypatch):
    """On a big workspace listing every task folder is most of a search: it is done again only
    when the memory log (which every tether write to a task appends to) changed, or later than
    the index's time-to-live."""
    from tether.recall import index as index_module

    Recall(memory).refresh()
    Recall(memory).refresh()  # keeps the walk's marker (the memory log's stat is trusted now)
    listed = []
    real = os.scandir
    monkeypatch.setattr(index_module.os, "scandir", lambda path: listed.append(str(path)) or real(path))
    task_md = os.path.join(memory.dir, "tasks", "T2", "task.md")
    with open(task_md, "r+", encoding="utf-8") as fh:  # a hand edit in place: no tether write
        text = fh.read().replace("document every command", "document every command with the quokka team")
        fh.seek(0)
        fh.write(text)
    assert Recall(memory).search("quokka")["hits"] == []
    assert not any("/tasks" in p for p in listed)
    memory.checkpoint("T1", state="one more step")  # a tether write: the tasks are walked again
    age(memory.dir)
    listed.clear()
    assert Recall(memory).search("quokka")["hits"][0]["id"] == "T2"
    assert any(p.endswith("/tasks") for p in listed)
    monkeypatch.setattr(index_module, "TASKS_WALK_TTL", 0)  # or once the last walk is too old
    listed.clear()
    Recall(memory).refresh()
    assert any(p.endswith("/tasks") for p in listed)


def test_nothing_is_walked_while_nothing_tether_writes_changed(memory, monkeypatch):
    from tether.recall import index as index_module

    Recall(memory).refresh()
    Recall(memory).refresh()
    listed = []
    real = os.scandir
    monkeypatch.setattr(index_module.os, "scandir", lambda path: listed.append(str(path)) or real(path))
    assert Recall(memory).refresh()["walked"] is False
    assert [p for p in listed if "/contexts" not in p and "/offload" not in p] == []  # the witnesses' folders only
    memory.decide("Which queue?", "none: a cron job")  # a new decision file: its folder changes
    age(memory.dir)
    assert Recall(memory).search("cron job")["hits"][0]["kind"] == "decision"


# -- archived transcripts, ranking by kind, excerpt size, stop words -------------------------------

SIGNATURE = "EqQBCkgIARABGAIiQGx" + "aZ3b9Kq1Lm0N+Pr/St8Uv2Wx4Yz6" * 40  # the shape of a thinking block's


def claude_line(number: int, kind: str, content) -> str:
    import json

    message = {"role": "user" if kind == "user" else "assistant", "content": content}
    if kind == "assistant":
        message.update(id=f"msg_{number:04d}", model="claude-sonnet-4-5", usage={
            "input_tokens": 4, "output_tokens": 310, "cache_creation_input_tokens": 1200,
            "cache_read_input_tokens": 48000, "service_tier": "standard"})
    return json.dumps({"type": kind, "uuid": f"uuid-{number}", "parentUuid": f"uuid-{number - 1}",
                       "sessionId": "5f0c-session", "requestId": f"req_{number:04d}", "cwd": "/repo",
                       "timestamp": f"2026-12-01T10:{number:02d}:00Z", "message": message}) + "\n"


@pytest.fixture
def archived(ws, tmp_path):
    """A Claude Code session (usage fields, thinking signatures, tool calls) archived by the
    PreCompact hook's code, and a gotcha about tokenize()."""
    from tether.compaction import save_before_compaction

    memory = ws
    memory.start_task("Calculator fixes", definition="the calculator parses 2+3 right", task_id="T1")
    memory.decide("Which parser?", "a hand-written recursive descent parser", rationale="small grammar")

    rows = [claude_line(1, "user", "The calculator crashes: tokenize the input 2+3 and it loses the 3")]
    for n in range(2, 24, 2):
        rows.append(claude_line(n, "assistant", [
            {"type": "thinking", "thinking": "", "signature": SIGNATURE},
            {"type": "text", "text": f"Looking at the tokens the tokenizer makes, attempt {n}."},
            {"type": "tool_use", "id": f"toolu_{n}", "name": "Bash",
             "input": {"command": "pytest tests/test_parse.py -k tokenize", "description": "run the parser tests"}}]))
        rows.append(claude_line(n + 1, "user", [{"type": "tool_result", "tool_use_id": f"toolu_{n}",
                                                  "content": "1 failed, 3 passed"}]))
    path = tmp_path / "session.jsonl"
    path.write_text("".join(rows), encoding="utf-8")
    report = save_before_compaction(memory, path, threshold=1000)
    memory.note("gotcha", "tokenize() in src/calc/parse.py drops the last operand when the input has no newline")
    age(memory.dir)
    return memory, report


def test_an_archived_transcript_is_searched_as_its_conversation(archived):
    memory, report = archived
    archive = ".tether/cache/" + report["archive"].split("/")[0] + "/" + report["sha256"]
    found = Recall(memory).search("calculator crashes loses", kinds=["conversation"])["hits"]
    [said] = [h for h in found if h["path"] == archive]  # (the other: the summary stored beside it)
    assert said["line"] == 1 and said["at"] == "2026-12-01T10:01:00Z"  # the message's line in the archive
    assert said["text"].startswith("user: The calculator crashes")
    found = Recall(memory).search("pytest test_parse attempt", kinds=["conversation"])["hits"]
    ran = [h for h in found if h["path"] == archive]
    assert ran and "assistant ran Bash: command: pytest tests/test_parse.py" in ran[0]["text"]
    # A later message of the same piece: the hit names its line and starts with its text.
    later = [h for h in Recall(memory).search("tokenizer attempt 14", kinds=["conversation"])["hits"]
             if h["path"] == archive][0]
    assert later["line"] == 14 and later["text"].lstrip("… ").startswith("assistant: Looking at the tokens the tokenizer makes, attempt 14.")
    # The JSON around the messages is not indexed: keys, ids, usage fields, signatures.
    for noise in ("service_tier standard cache_creation", "requestId parentUuid sessionId cwd",
                  "msg toolu uuid", SIGNATURE[:40], "signature thinking type"):
        hits = Recall(memory).search(noise, kinds=["conversation"])["hits"]
        assert all(report["sha256"] not in h["path"] for h in hits), noise


def test_a_curated_record_outranks_archived_talk_about_the_same_word(archived):
    memory, _ = archived
    hits = Recall(memory).search("tokenize")["hits"]
    assert hits[0]["kind"] == "context" and hits[0]["text"].startswith("tokenize() in src/calc/parse.py")
    assert any(h["kind"] == "conversation" for h in hits[1:])  # still found, below it


def test_an_excerpt_is_bounded_in_tokens_whatever_its_words(memory):
    from tether.model.tokens import estimate
    from tether.recall import rank

    blob = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk" * 8
    cache = os.path.join(memory.dir, "cache", "offloaded")
    os.makedirs(cache, exist_ok=True)
    with open(os.path.join(cache, "cd" * 32), "w") as fh:
        fh.write("upload quota exceeded, response body: " + " ".join(f"{blob}{i}" for i in range(60)) + "\n")
    memory.note("note", "the checksum is " + "0123456789abcdef" * 4 + " for the quota file")
    age(memory.dir)
    hits = Recall(memory).search("quota")["hits"]
    assert {h["kind"] for h in hits} == {"offloaded", "context"}
    for hit in hits:
        assert "quota" in hit["text"] and "…" in hit["text"]  # the long tokens shortened, not dropped
        assert estimate(hit["text"]) <= rank.SNIPPET_TOKENS + 4  # +4: the ellipses at either end
    assert max(len(w) for h in hits for w in h["text"].split()) <= rank.LONG_WORD


def test_a_query_of_common_words_only_asks_for_a_real_word(memory, cli, monkeypatch):
    from tether.errors import InvalidInput

    with pytest.raises(InvalidInput, match="only common ones") as raised:
        Recall(memory).search("the of and")
    assert raised.value.hint
    monkeypatch.chdir(memory.root_dir)
    run = cli("recall", "the", "of", "and", "--json")
    assert run.code == 1 and "no words to search for" in run.json()["error"] and run.json()["hint"]
    # Beside other words they are dropped: the same hits as without them.
    ids = [h["id"] for h in Recall(memory).search("locking")["hits"]]
    assert [h["id"] for h in Recall(memory).search("the locking of the")["hits"]] == ids


def test_a_message_list_archived_by_tier_3_is_searched_as_its_conversation(ws):
    from tether.compaction import compact

    messages = [{"role": "system", "content": "You are a coding agent."},
                {"role": "user", "content": "The zeppelin importer drops rows with a trailing comma"},
                {"role": "assistant", "content": None, "tool_calls": [{"id": "call_1", "type": "function", "function": {
                    "name": "read_file", "arguments": "{\"path\": \"src/zeppelin/importer.py\"}"}}]},
                {"role": "tool", "tool_call_id": "call_1", "content": "def load(rows): ..."},
                {"role": "assistant", "content": "Found it: the splitter ignores the last empty field."},
                {"role": "user", "content": "ok"}, {"role": "assistant", "content": "done"}]
    _, report = compact(messages, tiers=[3], workspace=ws, keep_recent=2)
    archive = report["tiers"][0]["archive"]
    age(ws.dir)
    hits = [h for h in Recall(ws).search("zeppelin importer splitter", kinds=["conversation"])["hits"]
            if h["id"] == archive]
    text = hits[0]["text"]
    assert text.lstrip("… ").startswith("user: The zeppelin importer drops rows")  # from the matching message
    assert "assistant ran read_file: path: src/zeppelin/importer.py" in text and "tool_call_id" not in text
    # The line of the message's text in the pretty-printed list, not of the list's first message.
    lines = (ws.root / hits[0]["path"]).read_text().split("\n")
    assert '"The zeppelin importer drops rows' in lines[hits[0]["line"] - 1]
    found = [h for h in Recall(ws).search("splitter ignores empty field", kinds=["conversation"])["hits"]
             if h["id"] == archive][0]
    assert found["text"].lstrip("… ").startswith("assistant: Found it: the splitter ignores the last empty field.")
    assert '"Found it: the splitter' in lines[found["line"] - 1]


def test_a_short_note_is_found_through_the_notes_beside_it(ws, monkeypatch):
    """A note that says what it is about only beside the one it answers is found by what that one
    says, below a note holding the words itself; the hit is the note, not its neighbour. Notes
    written hours apart are not one exchange, and a gotcha (a fact written to stand alone) gets
    no neighbours."""
    said = [("2026-11-02T10:00:00Z", "note", "Which port does the staging proxy listen on?"),
            ("2026-11-02T10:01:00Z", "note", "8443, and only from the VPN"),
            ("2026-11-02T10:02:00Z", "gotcha", "CI caches are purged every Sunday night"),
            ("2026-11-02T10:03:00Z", "note", "thanks, noted"),
            ("2026-11-02T15:00:00Z", "note", "lunch order: two pizzas"),
            ("2026-11-02T18:00:00Z", "note", "the staging proxy certificate renews itself monthly")]
    ids = {}
    for at, kind, text in said:
        monkeypatch.setenv("TETHER_NOW", at)
        ids[text] = ws.note(kind, text).id
    monkeypatch.delenv("TETHER_NOW")
    age(ws.dir)
    hits = Recall(ws).search("staging proxy port", limit=8)["hits"]
    order = [h["id"] for h in hits]
    assert order[0] == ids["Which port does the staging proxy listen on?"]
    reply = next(h for h in hits if h["id"] == ids["8443, and only from the VPN"])
    assert reply["text"] == "8443, and only from the VPN" and reply["line"] == 2
    # Each hit says how it matched: the reply through its neighbours, the question by its own words.
    assert reply["via"] == "neighbours" and "via" not in hits[0]
    from tether.cli.recall_commands import _hit_text

    assert "(matched by the notes written beside it, not its own words)" in _hit_text(reply).splitlines()[0]
    assert [h["id"] for h in hits if h.get("via") != "neighbours"] == [
        ids["Which port does the staging proxy listen on?"], ids["the staging proxy certificate renews itself monthly"]]
    assert ids["thanks, noted"] in order  # two notes after the question: still the exchange
    # Below the notes holding the words themselves.
    assert order.index(reply["id"]) > order.index(ids["the staging proxy certificate renews itself monthly"])
    assert ids["CI caches are purged every Sunday night"] not in order
    # Hours apart is another sitting: the lunch order is not found through the proxy question or
    # the certificate note, nor anything through it.
    assert ids["lunch order: two pizzas"] not in order
    assert [h["id"] for h in Recall(ws).search("pizzas")["hits"]] == [ids["lunch order: two pizzas"]]


def test_a_query_naming_a_month_or_a_day_finds_that_times_records_first(ws, monkeypatch):
    """When a record was written is searchable as words ("9 November 2026"): of records that match
    alike, the one of the time the query names comes first; a record of that day that matches no
    other word is not put above them."""
    ids = {}
    for at, text in [("2026-03-04T09:00:00Z", "deploy freeze for the release branch, as agreed"),
                     ("2026-11-09T09:00:00Z", "deploy freeze for the release branch"),
                     ("2026-11-09T12:00:00Z", "lunch with the design team")]:
        monkeypatch.setenv("TETHER_NOW", at)
        ids[at] = ws.note("gotcha", text).id
    monkeypatch.delenv("TETHER_NOW")
    age(ws.dir)
    march = [h["id"] for h in Recall(ws).search("deploy freeze in March")["hits"]]
    assert march[0] == ids["2026-03-04T09:00:00Z"]
    november = [h["id"] for h in Recall(ws).search("deploy freeze on 9 November 2026")["hits"]]
    assert november[:2] == [ids["2026-11-09T09:00:00Z"], ids["2026-03-04T09:00:00Z"]]
    # The dates are words of the index, not of the hit: its text is the entry's own.
    assert all("November" not in h["text"] for h in Recall(ws).search("November")["hits"])


def test_a_note_in_the_sitting_of_the_best_match_outranks_a_like_one_elsewhere(ws, monkeypatch):
    """Two notes hold the same one word of the query; the one written in the sitting of the note
    that holds most of the query's words comes first, though the other is shorter (BM25 alone
    puts it first). The best match stays first, and a sitting ends where an hour passes between
    two notes."""
    said = [("2026-11-02T09:00:00Z", "we moved the billing service to Postgres 16 last night"),
            ("2026-11-02T09:01:00Z", "did the invoices job survive?"),
            ("2026-11-02T09:02:00Z", "yes, it ran at six as usual"),
            ("2026-11-02T09:03:00Z", "good; the dashboards look normal too"),
            ("2026-11-02T09:04:00Z", "and if it breaks, the rollback is restoring last night's dump"),
            ("2026-11-02T14:00:00Z", "rollback drill on Friday"),
            ("2026-11-02T14:01:00Z", "who brings the snacks?"),
            ("2026-11-02T14:02:00Z", "the design team")]
    said += [(f"2026-11-03T09:0{i}:00Z", text) for i, text in enumerate(
        ["lunch order: two pizzas", "the printer on floor two is jammed again", "standup moves to ten",
         "new laptops arrive in December", "the wiki search is slow today", "Ann is out until Monday"])]
    ids = {}
    for at, text in said:
        monkeypatch.setenv("TETHER_NOW", at)
        ids[text] = ws.note("note", text).id
    monkeypatch.delenv("TETHER_NOW")
    age(ws.dir)
    order = [h["id"] for h in Recall(ws).search("billing Postgres rollback")["hits"]]
    assert order[0] == ids["we moved the billing service to Postgres 16 last night"]
    same = order.index(ids["and if it breaks, the rollback is restoring last night's dump"])
    assert same < order.index(ids["rollback drill on Friday"])
    # Three sittings: the morning, the afternoon (five hours later), the next day.
    from tether.recall import extract

    with open(os.path.join(ws.dir, "context.jsonl"), "rb") as fh:
        found = extract.records("context", "context.jsonl", "context.jsonl", fh.read(), [])
    firsts = [ids[said[0][1]]] * 5 + [ids[said[5][1]]] * 3 + [ids[said[8][1]]] * 6
    assert [rec["sitting"] for rec in found] == firsts


def test_a_close_in_a_repository_without_commits_is_found_in_its_progress_log(tmp_path):
    """A close's section heading names HEAD's commit only when there is one (", commit SHA"): in a
    repository without commits yet the section is one record all the same, with its session."""
    import subprocess

    from tether import Workspace

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    ws, _ = Workspace.init(tmp_path)
    ws.close("wired the zebra logger into the parser", next_steps=["rotate the zebra logs nightly"])
    assert "commit" not in next((ws.dir / "progress").glob("*.md")).read_text()
    age(ws.dir)
    hits = Recall(ws).search("zebra logger", kinds=["progress"])["hits"]
    assert hits and hits[0]["kind"] == "progress" and "zebra" in hits[0]["text"]
    assert hits[0]["session"] == ws.session_id


def test_a_progress_hit_is_titled_by_its_summary_not_the_time_and_session_shown_beside_it(ws, cli, monkeypatch):
    monkeypatch.setenv("TETHER_NOW", "2026-11-21T11:30:00Z")
    monkeypatch.setenv("TETHER_SESSION_ID", "S-agent-3")
    assert cli("close", "--summary", "Switched the zebra parser to streaming", "--next", "benchmark it").code == 0
    log = ws.dir / "progress" / "2026-11-21.md"
    # A section written by hand, without a summary: titled by what its heading says besides them.
    log.write_text(log.read_text() + "\n## 12:05 UTC, session S-agent-4, commit 1a2b3c4d5e6f\n\nzebra notes by hand\n")
    age(ws.dir)
    run = cli("recall", "zebra", "--kind", "progress")
    assert run.code == 0, run.out
    heads = {line for line in run.out.splitlines() if line.startswith("progress ")}
    assert heads == {"progress 2026-11-21 11:30: Switched the zebra parser to streaming",
                     "progress 2026-11-21 12:05: commit 1a2b3c4d5e6f"}
    hits = cli("recall", "zebra", "--kind", "progress", "--json").json()["hits"]
    assert sorted((h["title"], h["at"], h["session"]) for h in hits) == [
        ("Switched the zebra parser to streaming", "2026-11-21T11:30:00Z", "S-agent-3"),
        ("commit 1a2b3c4d5e6f", "2026-11-21T12:05:00Z", "S-agent-4")]
    # The index keeps the heading as the record's title (searched as such): its format is unchanged.
    from tether.recall import extract

    stored = extract.records("progress", "progress/2026-11-21.md", str(log), log.read_bytes(), [])
    assert [r["title"].split(", commit")[0] for r in stored] == ["11:30 UTC, session S-agent-3",
                                                                 "12:05 UTC, session S-agent-4"]


def test_a_record_by_the_author_the_query_names_comes_first_among_like_ones(ws, monkeypatch):
    """Two gotchas say the same; the query names the author of the longer one (its `by`, not a
    word of its text), which BM25 alone puts second: it comes first. The name must be a whole word
    of the query ("annotation" names nobody), and a record of that author that matches none of the
    query's other words is not found by the name alone."""
    said = [("bob", "the cache must be rebuilt after a schema change"),
            ("@ann", "the cache must be rebuilt after every schema change, whatever the tests say"),
            ("@ann", "lunch on Friday with the design team")]
    ids = {}
    for by, text in said:
        ids[text] = ws.note("gotcha", text, by=by).id
    age(ws.dir)
    bob, ann = ids[said[0][1]], ids[said[1][1]]
    named = [h["id"] for h in Recall(ws).search("what did Ann find about the cache and schema changes")["hits"]]
    assert named == [ann, bob]
    assert [h["id"] for h in Recall(ws).search("the annotation cache and schema changes")["hits"]] == [bob, ann]
    assert [h["id"] for h in Recall(ws).search("cache and schema changes")["hits"]] == [bob, ann]
    assert [h["who"] for h in Recall(ws).search("Ann cache")["hits"]] == ["@ann", "bob"]
    from tether.recall import rank

    assert rank.authors_named("ask Ann Lee, not Lee Ann", ["Ann Lee", "Lee", "@ann", "Lee Ann", "Anne", "ann lee smith"]) == {
        "Ann Lee", "Lee", "@ann", "Lee Ann"}
