"""Transcript readers: Claude Code, Codex and chat message lists, on fixtures written here.

Each fixture is a few hand-written JSON lines in the shape of the real formats (see
docs/transcripts.md); tests/test_transcripts_samples.py reads the real samples.
"""

from __future__ import annotations

import io
import json

import pytest

from tether.transcripts import Transcript, context_usage, detect_format, from_records, subagent_paths, totals
from tether.transcripts.records import (COMPACT_BOUNDARY, EVENT, IMAGE, OTHER, SUMMARY, TEXT, THINKING, TITLE,
                                        TOOL_RESULT, TOOL_USE, USAGE)


def jsonl(*objs, tail: bytes = b"") -> bytes:
    return b"".join(json.dumps(o).encode() + b"\n" for o in objs) + tail


def write(tmp_path, name, data: bytes):
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def kinds(records):
    return [r.kind for r in records]


# -- Claude Code --------------------------------------------------------------------------------

def cc(kind, uuid, parent=None, sidechain=False, **fields):
    base = {"parentUuid": parent, "isSidechain": sidechain, "userType": "external", "cwd": "/w",
            "sessionId": "s1", "version": "2.1.0", "type": kind, "uuid": uuid,
            "timestamp": f"2026-01-01T00:00:{len(uuid):02d}Z"}
    base.update(fields)
    return base


def cc_user(uuid, content, **fields):
    return cc("user", uuid, message={"role": "user", "content": content}, **fields)


def usage(inp, out, create=0, read=0):
    return {"input_tokens": inp, "cache_creation_input_tokens": create, "cache_read_input_tokens": read,
            "output_tokens": out, "service_tier": "standard"}


def cc_assistant(uuid, msg_id, blocks, use, model="claude-sonnet-4-5-20250929", **fields):
    return cc("assistant", uuid, requestId="req_" + msg_id,
              message={"model": model, "id": msg_id, "type": "message", "role": "assistant",
                       "content": blocks, "stop_reason": None, "usage": use}, **fields)


def claude_session():
    """A session: a prompt, one response over three lines (text, thinking, two tool calls),
    their results, a second response, a compaction with its summary, and a third response."""
    return [
        {"type": "file-history-snapshot", "messageId": "m0", "snapshot": {}, "isSnapshotUpdate": False},
        cc_user("u1", "Fix the parser"),
        cc_assistant("a1", "msg_A", [{"type": "text", "text": "Looking."}], usage(3, 1, 1000, 20000)),
        cc_assistant("a2", "msg_A", [{"type": "thinking", "thinking": "The bug is in lexing.", "signature": "x"}],
                     usage(3, 1, 1000, 20000)),
        cc_assistant("a3", "msg_A", [{"type": "tool_use", "id": "toolu_1", "name": "Read",
                                      "input": {"file_path": "/w/parse.py"}}], usage(3, 1, 1000, 20000)),
        cc_user("u2", [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "def parse(): ...\n" * 50}],
                toolUseResult={"type": "text"}),
        cc_assistant("a4", "msg_A", [{"type": "tool_use", "id": "toolu_2", "name": "Edit",
                                      "input": {"file_path": "/w/parse.py", "old_string": "a", "new_string": "b"}}],
                     usage(3, 240, 1000, 20000)),
        {"type": "progress", "data": {"type": "hook_progress"}, "uuid": "p1", "isSidechain": False},
        cc_user("u3", [{"type": "tool_result", "tool_use_id": "toolu_2", "is_error": True,
                        "content": [{"type": "text", "text": "old_string not found"}]}]),
        cc_assistant("a5", "msg_B", [{"type": "text", "text": "Retrying."}], usage(5, 60, 300, 21000)),
        cc("system", "b1", subtype="compact_boundary", content="Conversation compacted",
           compactMetadata={"trigger": "manual", "preTokens": 21365}, logicalParentUuid="a5"),
        cc_user("u4", "This session is being continued from a previous conversation. Summary: parser fixed.",
                isCompactSummary=True, isVisibleInTranscriptOnly=True),
        cc_user("u5", "<local-command-stdout>Compacted</local-command-stdout>", isMeta=True),
        cc_assistant("a6", "msg_C", [{"type": "text", "text": "Continuing."}], usage(7, 12, 9000, 0)),
        cc("system", "s1", subtype="turn_duration", durationMs=1200),
    ]


def test_claude_code_records(tmp_path):
    path = write(tmp_path, "s.jsonl", jsonl(*claude_session()))
    t = Transcript(path)
    records = t.records()
    assert t.format == "claude-code" and t.problems.count == 0
    content = [r for r in records if r.kind not in (EVENT, USAGE)]
    assert kinds(content) == [TEXT, TEXT, THINKING, TOOL_USE, TOOL_RESULT, TOOL_USE, TOOL_RESULT, TEXT,
                              COMPACT_BOUNDARY, SUMMARY, TEXT, TEXT]
    read, result, edit, error = content[3], content[4], content[5], content[6]
    assert (read.tool_name, read.tool_input, read.tool_use_id, read.files) == (
        "Read", {"file_path": "/w/parse.py"}, "toolu_1", ())
    assert result.tool_use_id == "toolu_1" and result.chars == len("def parse(): ...\n" * 50)
    assert edit.files == ("/w/parse.py",) and edit.message_id == "msg_A"
    assert error.is_error and error.text == "old_string not found"
    boundary = content[8]
    assert boundary.meta["trigger"] == "manual" and boundary.meta["pre_tokens"] == 21365
    assert content[9].text.startswith("This session is being continued")
    assert content[10].meta == {"meta": True}
    assert records[1].line == 2 and records[1].timestamp and records[1].uuid == "u1"


def test_one_usage_per_response_with_its_final_figures(tmp_path):
    # msg_A is on four lines (one with a tool result between them) that repeat its usage;
    # the last line carries the final output_tokens.
    path = write(tmp_path, "s.jsonl", jsonl(*claude_session()))
    records = Transcript(path).records()
    usages = [r for r in records if r.kind == USAGE]
    assert [(u.message_id, u.usage.output, u.line) for u in usages] == [("msg_A", 240, 7), ("msg_B", 60, 10),
                                                                        ("msg_C", 12, 14)]
    assert usages[0].usage.prompt == 3 + 1000 + 20000
    # msg_A's usage comes when msg_B starts: after msg_A's last tool result, before "Retrying."
    order = [(r.kind, r.message_id) for r in records if r.kind in (USAGE, TEXT) and r.role == "assistant"]
    assert order[:3] == [(TEXT, "msg_A"), (USAGE, "msg_A"), (TEXT, "msg_B")]
    assert totals(records) == {"main": {"responses": 3, "input": 15, "output": 312, "cache_creation": 10300,
                                        "cache_read": 41000, "cached": 0, "reasoning": 0}}


def test_a_replayed_response_is_not_counted_again(tmp_path):
    a = cc_assistant("a1", "msg_A", [{"type": "text", "text": "hi"}], usage(1, 5, 0, 100))
    b = cc_assistant("a2", "msg_B", [{"type": "text", "text": "there"}], usage(1, 5, 0, 200))
    replay = dict(a, uuid="a3")
    t = Transcript(write(tmp_path, "s.jsonl", jsonl(a, b, replay)))
    usages = [r for r in t if r.kind == USAGE]
    assert [(r.message_id, (r.meta or {}).get("replayed")) for r in usages] == [
        ("msg_A", None), ("msg_B", None), ("msg_A", True)]
    assert t.stats["replayed_responses"] == 1
    assert totals(usages)["main"]["responses"] == 2


def test_synthetic_messages_have_no_usage(tmp_path):
    real = cc_assistant("a1", "msg_A", [{"type": "text", "text": "ok"}], usage(2, 3, 0, 500))
    synthetic = cc_assistant("a2", "x-1", [{"type": "text", "text": "API Error"}], usage(0, 0), model="<synthetic>",
                             isApiErrorMessage=True)
    path = write(tmp_path, "s.jsonl", jsonl(real, synthetic))
    assert [r.message_id for r in Transcript(path) if r.kind == USAGE] == ["msg_A"]
    assert context_usage(path).tokens == 502


def test_unknown_types_blocks_and_fields_are_carried(tmp_path):
    objs = [
        cc_user("u1", "hello", brandNewField={"x": 1}),
        cc("telemetry-v9", "t1", payloadish=[1, 2]),
        cc_assistant("a1", "msg_A", [{"type": "hologram", "beam": 3}, {"type": "image", "source": {}},
                                     {"type": "redacted_thinking", "data": "zz"}], usage(1, 1)),
        {"type": "summary", "summary": "Parser work", "leafUuid": "a1"},
        cc("system", "s1", subtype="future_notice", content="hi"),
    ]
    t = Transcript(write(tmp_path, "s.jsonl", jsonl(*objs)))
    records = t.records()
    assert t.problems.count == 0
    assert kinds(records) == [TEXT, EVENT, OTHER, IMAGE, THINKING, TITLE, EVENT, USAGE]
    assert json.loads(records[2].text) == {"type": "hologram", "beam": 3}
    assert records[1].meta == {"type": "telemetry-v9"}
    assert records[4].meta == {"redacted": True}
    assert t.stats["types"] == {"user": 1, "telemetry-v9": 1, "assistant": 1, "summary": 1, "system": 1}


def test_unreadable_lines_are_counted_and_named(tmp_path):
    good = cc_user("u1", "hello")
    data = (jsonl(good) + b"{not json at all\n" + b"\xff\xfe garbage\n" + b"[1, 2]\n" + b"\n"
            + jsonl(cc_user("u2", "still read")) + b'{"type": "user", "mess')
    path = write(tmp_path, "s.jsonl", data)
    t = Transcript(path)
    records = t.records()
    assert [r.text for r in records] == ["hello", "still read"]
    assert t.problems.count == 4
    named = [str(p) for p in t.problems]
    assert named[0].startswith(f"{path}:2: not valid JSON")
    assert named[1].startswith(f"{path}:3: not valid JSON")
    assert named[2] == f"{path}:4: a JSON list, not an object"
    assert named[3].startswith(f"{path}:7: torn last line")
    assert t.stats["lines"] == 7


def test_odd_but_valid_lines_and_odd_invalid_ones(tmp_path):
    good = json.dumps(cc_user("u1", "hello")).encode()
    data = (b"\xef\xbb\xbf" + good + b"\n"           # a byte-order mark
            + b"   " + good.replace(b'"u1"', b'"u2"') + b"  \n"   # spaces around
            + good.replace(b'"u1"', b'"u3"') + b" {}\n"           # two values on one line
            + b"[" * 100000 + b"]" * 100000 + b"\n"            # nested past the parser's limit
            + good.replace(b'"u1"', b'"u4"') + b"\r\n")
    t = Transcript(write(tmp_path, "s.jsonl", data))
    assert [r.uuid for r in t] == ["u1", "u2", "u4"]
    assert [(p.line, p.reason.split(":")[0]) for p in t.problems] == [(3, "not valid JSON"),
                                                                      (4, "JSON nested too deeply")]


def test_problems_beyond_the_kept_ones_are_counted(tmp_path):
    path = write(tmp_path, "s.jsonl", jsonl(cc_user("u1", "hi")) + b"bad\n" * 30)
    t = Transcript(path, keep_problems=5)
    t.records()
    assert t.problems.count == 30 and len(t.problems.named) == 5
    assert "... and 25 more" in t.problems.summary()


def test_a_line_too_long_is_skipped_not_held(tmp_path):
    from tether.transcripts import lines
    from tether.transcripts.records import Problems

    data = jsonl(cc_user("u1", "a")) + b'{"x": "' + b"y" * 5000 + b'"}\n' + jsonl(cc_user("u2", "b"))
    problems = Problems()
    got = [obj["uuid"] for _, _, obj in lines.objects(io.BytesIO(data), problems, "f", max_line=1024)]
    assert got == ["u1", "u2"]
    assert [str(p) for p in problems] == ["f:2: line longer than 1024 bytes, skipped"]


def test_inline_sidechains_and_subagent_files(tmp_path):
    main = [
        cc_user("u1", "Research this"),
        cc_assistant("a1", "msg_A", [{"type": "tool_use", "id": "t1", "name": "Task", "input": {"prompt": "go"}}],
                     usage(2, 30, 0, 10000)),
        # An older version's inline subagent.
        cc_user("s1", "go", sidechain=True),
        cc_assistant("s2", "msg_S", [{"type": "text", "text": "found it"}], usage(9, 40, 0, 50000), sidechain=True),
        cc_user("u2", [{"type": "tool_result", "tool_use_id": "t1", "content": "found it"}]),
        cc_assistant("a2", "msg_B", [{"type": "text", "text": "Done."}], usage(4, 8, 100, 10040)),
    ]
    path = write(tmp_path, "sess.jsonl", jsonl(*main))
    agent = [cc_user("x1", "sub prompt", sidechain=True, agentId="abc"),
             cc_assistant("x2", "msg_X", [{"type": "text", "text": "sub answer"}], usage(1, 2, 0, 7000),
                          sidechain=True, agentId="abc")]
    sub = write(tmp_path, "sess/subagents/agent-abc.jsonl", jsonl(*agent))
    assert subagent_paths(path) == [str(sub)]

    alone = Transcript(path).records()
    assert [r.text for r in alone if r.sidechain and r.kind == TEXT] == ["go", "found it"]
    both = Transcript(path, subagents=True)
    records = both.records()
    assert both.files == [str(path), str(sub)]
    agent_records = [r for r in records if r.agent_id == "abc"]
    assert all(r.sidechain for r in agent_records) and agent_records[0].path == str(sub)
    sums = totals(records)
    assert sums["main"]["responses"] == 2 and sums["sidechain"]["responses"] == 2
    # The context is the main chain's: the subagent's larger prompt is not the session's.
    reading = context_usage(path)
    assert (reading.tokens, reading.source) == (4 + 100 + 10040, "usage")
    # A subagent's own file is its own chain.
    assert context_usage(sub).tokens == 7001


# -- Codex ---------------------------------------------------------------------------------------

def cx(kind, payload, ts="2026-01-01T00:00:00Z"):
    return {"timestamp": ts, "type": kind, "payload": payload}


def token_count(last_in, last_out, total_in, total_out, window=272000, cached=0, reasoning=0):
    def u(i, o):
        return {"input_tokens": i, "cached_input_tokens": cached, "output_tokens": o,
                "reasoning_output_tokens": reasoning, "total_tokens": i + o}
    return cx("event_msg", {"type": "token_count", "info": {"total_token_usage": u(total_in, total_out),
                                                            "last_token_usage": u(last_in, last_out),
                                                            "model_context_window": window},
                            "rate_limits": {"primary": {"used_percent": 3.0}}})


def codex_rollout():
    return [
        cx("session_meta", {"id": "r1", "cwd": "/w", "cli_version": "0.135.0", "originator": "codex_cli_rs"}),
        cx("event_msg", {"type": "task_started", "turn_id": "t1", "model_context_window": 258400}),
        cx("turn_context", {"turn_id": "t1", "cwd": "/w", "model": "gpt-5-codex"}),
        cx("response_item", {"type": "message", "role": "developer",
                              "content": [{"type": "input_text", "text": "<permissions>read-only</permissions>"}]}),
        cx("response_item", {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Add a test"}]}),
        cx("event_msg", {"type": "user_message", "message": "Add a test", "images": []}),
        cx("event_msg", {"type": "agent_reasoning", "text": "Find the tests folder"}),
        cx("response_item", {"type": "reasoning", "summary": [{"type": "summary_text", "text": "Find the tests folder"}],
                              "encrypted_content": "gAAA"}),
        cx("response_item", {"type": "function_call", "name": "shell", "call_id": "c1",
                              "arguments": json.dumps({"command": ["ls", "tests"]})}),
        cx("response_item", {"type": "function_call_output", "call_id": "c1",
                              "output": json.dumps({"output": "test_a.py\n", "metadata": {"exit_code": 0}})}),
        cx("response_item", {"type": "custom_tool_call", "name": "apply_patch", "call_id": "c2", "status": "completed",
                              "input": "*** Begin Patch\n*** Add File: tests/test_b.py\n+def test_b(): pass\n"
                                       "*** Update File: setup.cfg\n@@\n-x\n+y\n*** End Patch\n"}),
        cx("response_item", {"type": "custom_tool_call_output", "call_id": "c2",
                              "output": {"content": "patch rejected", "success": False}}),
        token_count(12000, 300, 12000, 300),
        token_count(12000, 300, 12000, 300),   # only the rate limits changed
        cx("event_msg", {"type": "agent_message", "message": "Added tests/test_b.py."}),
        cx("response_item", {"type": "message", "role": "assistant",
                              "content": [{"type": "output_text", "text": "Added tests/test_b.py."}]}),
        cx("event_msg", {"type": "token_count", "info": None, "rate_limits": {}}),
        token_count(12500, 80, 24500, 380),
        cx("event_msg", {"type": "task_complete", "turn_id": "t1"}),
    ]


def test_codex_records(tmp_path):
    t = Transcript(write(tmp_path, "rollout.jsonl", jsonl(*codex_rollout())))
    records = t.records()
    assert t.format == "codex" and t.problems.count == 0
    content = [r for r in records if r.kind not in (EVENT,)]
    assert kinds(content) == [TEXT, TEXT, THINKING, TOOL_USE, TOOL_RESULT, TOOL_USE, TOOL_RESULT, USAGE, TEXT, USAGE]
    dev, user, thinking, call, out, patch, patch_out, usage1, answer, usage2 = content
    assert (dev.role, user.role, user.text, user.model) == ("developer", "user", "Add a test", "gpt-5-codex")
    # The twins: the user prompt's event came after its item, the reasoning's and the
    # answer's before theirs; each text is read once.
    assert user.meta is None and thinking.meta == {"echo": "agent_reasoning"}
    assert answer.meta == {"echo": "agent_message"} and answer.role == "assistant"
    assert call.tool_input == {"command": ["ls", "tests"]} and call.tool_use_id == "c1"
    assert out.tool_use_id == "c1" and "test_a.py" in out.text
    assert patch.files == ("tests/test_b.py", "setup.cfg") and patch.tool_name == "apply_patch"
    assert patch_out.is_error and patch_out.text == "patch rejected"
    assert (usage1.usage.context, usage1.usage.window, usage1.model) == (12300, 272000, "gpt-5-codex")
    assert usage2.usage.context == 12580 and usage2.meta["total"]["input_tokens"] == 24500
    assert t.stats["repeated_token_counts"] == 1


def test_codex_compaction(tmp_path):
    rollout = codex_rollout() + [
        cx("compacted", {"message": "Summary: tests added; next, CI.", "replacement_history": []}),
        cx("event_msg", {"type": "context_compacted"}),
        cx("response_item", {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Now CI"}]}),
    ]
    path = write(tmp_path, "rollout.jsonl", jsonl(*rollout))
    records = Transcript(path).records()
    boundary = [i for i, r in enumerate(records) if r.kind == COMPACT_BOUNDARY]
    assert len(boundary) == 1
    summary = records[boundary[0] + 1]
    assert summary.kind == SUMMARY and summary.text == "Summary: tests added; next, CI."
    # The last token_count is from before the compaction: the summary and what followed are counted.
    from tether.transcripts.tokens import estimate

    reading = context_usage(path)
    assert reading.source == "counted" and reading.compacted
    # The fixed prompt, measured on the first response: its 12,000 input tokens less what the
    # transcript wrote before it.
    baseline = 12000 - estimate("<permissions>read-only</permissions>") - estimate("Add a test")
    assert reading.baseline == baseline
    assert reading.tokens == baseline + estimate("Summary: tests added; next, CI.") + estimate("Now CI")
    assert reading.model == "gpt-5-codex"
    # A token_count after the compaction is the figure again.
    path2 = write(tmp_path, "rollout2.jsonl", jsonl(*rollout, token_count(4000, 50, 28500, 430)))
    assert context_usage(path2).tokens == 4050


def test_codex_compaction_with_its_replacement_history(tmp_path):
    summary = "Summary: tests added; next, CI."
    history = [
        {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "<permissions>ro</permissions>"}]},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Add a test"}]},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": summary}]},
    ]
    rollout = codex_rollout() + [cx("compacted", {"message": summary, "replacement_history": history})]
    path = write(tmp_path, "rollout.jsonl", jsonl(*rollout))
    records = Transcript(path).records()
    at = next(i for i, r in enumerate(records) if r.kind == COMPACT_BOUNDARY)
    after = records[at + 1:]
    assert [(r.kind, r.text) for r in after] == [(SUMMARY, summary), (TEXT, "<permissions>ro</permissions>"),
                                                 (TEXT, "Add a test")]
    assert after[1].meta == {"replacement": True}
    from tether.transcripts.tokens import estimate

    reading = context_usage(path)
    assert reading.tokens == reading.baseline + sum(estimate(r.text) for r in after)


def test_codex_without_an_envelope(tmp_path):
    lines_ = [
        {"id": "r0", "timestamp": "2025-05-01T00:00:00Z", "instructions": None},
        {"record_type": "state"},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]},
        {"type": "function_call", "name": "shell", "arguments": "{\"command\": [\"pwd\"]}", "call_id": "c"},
        {"type": "function_call_output", "call_id": "c", "output": "/w"},
    ]
    path = write(tmp_path, "rollout-old.jsonl", jsonl(*lines_))
    assert detect_format(path) == "codex"
    records = [r for r in Transcript(path) if r.kind != EVENT]
    assert kinds(records) == [TEXT, TOOL_USE, TOOL_RESULT]
    assert records[2].text == "/w"


# -- chat message lists ------------------------------------------------------------------------

OPENAI = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": [{"type": "text", "text": "Weather in Paris?"},
                                 {"type": "image_url", "image_url": {"url": "data:..."}}]},
    {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": "weather", "arguments": "{\"city\": \"Paris\"}"}}]},
    {"role": "tool", "tool_call_id": "call_1", "content": "18C, cloudy"},
    {"role": "assistant", "content": "18C and cloudy.", "usage": {"prompt_tokens": 90, "completion_tokens": 6,
                                                                   "total_tokens": 96}},
]

ANTHROPIC = {
    "model": "claude-sonnet-4-5",
    "system": "You are terse.",
    "messages": [
        {"role": "user", "content": "Read a.py"},
        {"role": "assistant", "content": [
            {"type": "thinking", "thinking": "Use the tool.", "signature": "s"},
            {"type": "tool_use", "id": "tu1", "name": "Write", "input": {"file_path": "a.py", "content": "x = 1"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "tu1", "content": "written"}]},
    ],
    "max_tokens": 1024,
}


def test_chat_openai_jsonl_and_array(tmp_path):
    as_lines = write(tmp_path, "chat.jsonl", jsonl(*OPENAI))
    as_array = write(tmp_path, "chat.json", json.dumps(OPENAI, indent=2).encode())
    for path in (as_lines, as_array):
        t = Transcript(path)
        records = t.records()
        assert t.format == "chat" and t.problems.count == 0, path
        assert kinds(records) == [TEXT, TEXT, IMAGE, TOOL_USE, TOOL_RESULT, TEXT, USAGE]
        assert records[3].tool_input == {"city": "Paris"} and records[3].tool_use_id == "call_1"
        assert records[4].tool_use_id == "call_1" and records[4].text == "18C, cloudy"
        assert records[6].usage.prompt == 90 and records[6].usage.context == 96
    array_lines = [r.line for r in Transcript(as_array).records()]
    assert array_lines[0] == 2 and array_lines == sorted(array_lines)


def test_chat_anthropic_request(tmp_path):
    path = write(tmp_path, "request.json", json.dumps(ANTHROPIC).encode())
    records = Transcript(path).records()
    assert [(r.kind, r.role) for r in records] == [
        (TEXT, "system"), (TEXT, "user"), (THINKING, "assistant"), (TOOL_USE, "assistant"), (TOOL_RESULT, "user")]
    assert records[3].files == ("a.py",)
    reading = context_usage(path)
    assert reading.source == "counted" and reading.tokens > 0
    assert reading.tokens == from_records(Transcript(path)).tokens


def test_chat_stream_reads_one_element_at_a_time(tmp_path, monkeypatch):
    from tether.transcripts import chat

    monkeypatch.setattr(chat, "_CHUNK", 7)  # elements straddle many reads
    messages = [{"role": "user" if i % 2 else "assistant", "content": f"message {i} " + "é" * (i % 5)}
                for i in range(300)]
    path = write(tmp_path, "big.json", json.dumps({"messages": messages}).encode())
    records = Transcript(path).records()
    assert [r.text for r in records] == [m["content"] for m in messages]


def test_chat_invalid_element_stops_with_its_line(tmp_path):
    text = '[\n  {"role": "user", "content": "one"},\n  {"role": "user", "content": oops},\n' \
           '  {"role": "user", "content": "three"}\n]\n'
    path = write(tmp_path, "bad.json", text.encode())
    t = Transcript(path)
    assert [r.text for r in t] == ["one"]
    assert t.problems.count == 1 and str(t.problems.named[0]).startswith(f"{path}:3: not valid JSON")


# -- format detection ---------------------------------------------------------------------------

def test_detection(tmp_path):
    cases = {
        "claude-code": jsonl(*claude_session()),
        "codex": jsonl(*codex_rollout()),
        "chat": jsonl(*OPENAI),
    }
    for expected, data in cases.items():
        assert detect_format(write(tmp_path, f"{expected}.jsonl", data)) == expected
    assert detect_format(write(tmp_path, "a.json", json.dumps(ANTHROPIC, indent=1).encode())) == "chat"
    assert detect_format(write(tmp_path, "hooks.jsonl", jsonl({"event": "Stop", "session_id": "x"}))) is None
    # A first line longer than what detection reads is told by its first keys.
    long_first = json.dumps(cc_user("u1", "x" * (2 * 1024 * 1024))).encode() + b"\n"
    assert detect_format(io.BytesIO(long_first)) == "claude-code"


def test_an_unknown_file_is_a_named_problem(tmp_path):
    path = write(tmp_path, "notes.txt", b"just some notes\n")
    t = Transcript(path)
    assert t.records() == [] and "not a transcript format" in str(t.problems.named[0])
    with pytest.raises(ValueError, match="unknown transcript format"):
        Transcript(path, format="word")


# -- any value in any field ----------------------------------------------------------------------

ODD_VALUES = [None, True, 0, -1, 3.5, "", "x", [], [1, "a"], {}, {"type": "text"}, [{"type": []}], {"a": {"b": []}}]


def mutations(obj, rng, depth=0):
    """``obj`` with one value somewhere replaced by a value of another type."""
    if isinstance(obj, dict) and obj:
        key = rng.choice(list(obj))
        out = dict(obj)
        out[key] = mutations(obj[key], rng, depth + 1) if rng.random() < 0.6 and depth < 6 else rng.choice(ODD_VALUES)
        return out
    if isinstance(obj, list) and obj:
        i = rng.randrange(len(obj))
        out = list(obj)
        out[i] = mutations(obj[i], rng, depth + 1) if rng.random() < 0.6 and depth < 6 else rng.choice(ODD_VALUES)
        return out
    return rng.choice(ODD_VALUES)


@pytest.mark.parametrize("name,make", [("claude", claude_session), ("codex", codex_rollout),
                                       ("chat", lambda: OPENAI)])
def test_any_value_in_any_field_is_read_without_an_error(tmp_path, name, make):
    import random

    rng = random.Random(name)
    base = make()
    for trial in range(60):
        objs = [mutations(o, rng) if rng.random() < 0.4 else o for o in base]
        path = write(tmp_path, f"{name}{trial}.jsonl", jsonl(*objs))
        t = Transcript(path)
        records = t.records()          # never raises
        assert t.problems.count == 0
        for r in records:
            assert isinstance(r.text, str) and r.kind
        context_usage(path)            # nor does this
        from_records(Transcript(path))


def test_the_public_names_resolve():
    import tether.transcripts as package

    for name in package.__all__:
        assert getattr(package, name) is not None, name
    with pytest.raises(AttributeError):
        package.no_such_name
