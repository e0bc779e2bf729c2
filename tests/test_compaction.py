"""Compaction in three tiers (tether.compaction): what is taken out comes back byte for byte,
pins survive, secrets are redacted and counted, and bad input is refused clearly."""

from __future__ import annotations

import base64
import json
from pathlib import Path
import os
import random
import stat
import subprocess
import sys

import pytest

from tether.compaction import Compactor, compact
from tether.compaction.redact import Redactor

# Real-looking secrets (the providers' documented example formats) and look-alikes that are not.
AWS = "AKIAIOSFODNN7EXAMPLE"
GITHUB = "ghp_" + "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3z5A"
PRIVATE_KEY = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAq8Zc3lHqY0X9\nQ2JkYWJrZmRzbGtq\n-----END RSA PRIVATE KEY-----"


def big_output(lines: int = 9000, extra: str = "") -> str:
    # Distinct lines, non-ASCII included: the bytes must come back exactly.
    return extra + "".join(f"{i:05d} résultat ✓ value={i * 7}\n" for i in range(lines))


def openai_list(result: str, arguments: str = '{"path": "src/app.py"}') -> list:
    return [
        {"role": "system", "content": "You are a coding agent."},
        {"role": "user", "content": "Fix the crash in src/app.py when the config is empty"},
        {"role": "assistant", "content": "I will read it.",
         "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "read_file", "arguments": arguments}}]},
        {"role": "tool", "tool_call_id": "c1", "content": result},
        {"role": "assistant", "content": "We decided to keep the loader and guard the empty case instead of rewriting it."},
        {"role": "user", "content": "Good, go on."},
        {"role": "assistant", "content": "Next steps:\n- [ ] add a test for the empty config\n- [ ] run pytest"},
    ]


def anthropic_request(result_blocks) -> dict:
    return {
        "model": "claude-sonnet-4-5", "max_tokens": 1024, "system": "Be brief.",
        "messages": [
            {"role": "user", "content": "List the files"},
            {"role": "assistant", "content": [{"type": "text", "text": "Listing."},
                                              {"type": "tool_use", "id": "t1", "name": "Bash",
                                               "input": {"command": "ls -R"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": result_blocks}]},
            {"role": "assistant", "content": "Done."},
        ],
    }


def stub_ref(text: str) -> str:
    line = next(l for l in text.splitlines() if l.startswith("Ref: "))
    return line.split()[1]


# -- tier 1 --------------------------------------------------------------------------------------

def test_tier1_offloads_a_large_tool_result_and_show_gives_back_its_exact_bytes(ws):
    output = big_output()
    new, report = compact(openai_list(output), tiers=[1], workspace=ws, threshold=1000)
    tool = new[3]
    assert tool["role"] == "tool" and tool["tool_call_id"] == "c1"
    assert tool["content"].startswith("[tether] Offloaded tool result")
    ref = stub_ref(tool["content"])
    assert "00000 résultat" in tool["content"] and "08999 résultat" in tool["content"]  # head and tail
    [tier] = report["tiers"]
    assert tier["tier"] == 1 and tier["tokens_after"] < tier["tokens_before"] / 10
    assert tier["offloaded"][0]["bytes"] == len(output.encode("utf-8"))
    proc = subprocess.run([sys.executable, "-m", "tether", "show", ref], cwd=ws.root, capture_output=True)
    assert proc.returncode == 0 and proc.stdout == output.encode("utf-8")  # binary-safe, as a real process
    assert new[:3] == openai_list(output)[:3] and new[4:] == openai_list(output)[4:]  # the rest untouched


def test_tier1_leaves_small_results_alone_and_handles_anthropic_block_lists(ws):
    blocks = [{"type": "text", "text": big_output(3000)}, {"type": "text", "text": "second block"}]
    request = anthropic_request(blocks)
    new, report = compact(request, tiers=[1], workspace=ws, threshold=500)
    assert new["model"] == "claude-sonnet-4-5" and new["system"] == "Be brief."  # the request kept
    stubbed = new["messages"][2]["content"][0]
    assert stubbed["type"] == "tool_result" and stubbed["tool_use_id"] == "t1"
    assert "a JSON list of content blocks" in stubbed["content"]
    ref = report["tiers"][0]["offloaded"][0]["ref"]
    assert json.loads(Compactor(ws).show(ref)) == blocks
    again, report = compact(request, tiers=[1], workspace=ws, threshold=10 ** 6)
    assert again == request and report["tiers"][0]["offloaded"] == []


def screenshot(size: int = 300_000) -> str:
    return base64.b64encode(random.Random(size).randbytes(size)).decode()


def test_an_inline_image_counts_as_an_image_not_as_its_base64_text(ws, cli, tmp_path):
    # A screenshot a user pasted costs the model an image's tokens; read as text, its base64
    # made a short conversation CRITICAL and the tiers fired on nothing.
    image = screenshot()
    anthropic = anthropic_request("ok")
    anthropic["messages"][0]["content"] = [{"type": "text", "text": "Fix the layout in this screenshot"},
                                           {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                                                        "data": image}}]
    openai = openai_list("ok")
    openai[1]["content"] = [{"type": "text", "text": "Fix the layout in this screenshot"},
                            {"type": "image_url", "image_url": {"url": "data:image/png;base64," + image}}]
    for request, model in ((anthropic, "claude-sonnet-4-5"), (openai, "gpt-4o")):
        same, report = compact(request, workspace=ws, model=model)
        state = report["state"]
        assert state["state"] == "GREEN" and 1600 <= state["tokens"] < 3000, state
        assert same == request and report["tiers"] == []
    path = tmp_path / "pasted.json"
    path.write_text(json.dumps(openai))
    assert cli("usage", path, "--model", "gpt-4o", "--json").json()["state"] == "GREEN"


def test_tier1_leaves_a_screenshot_in_place_and_still_takes_a_large_text_beside_one(ws):
    # A computer-use tool's screenshot is no large result: a stub would give the model base64 for the picture.
    shot = [{"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": screenshot()}}]
    request = anthropic_request(shot)
    same, report = compact(request, tiers=[1], workspace=ws)
    assert same == request and report["tiers"][0]["offloaded"] == []
    both = [{"type": "text", "text": big_output(3000)}, *shot]
    new, report = compact(anthropic_request(both), tiers=[1], workspace=ws, threshold=500)
    [item] = report["tiers"][0]["offloaded"]
    assert json.loads(Compactor(ws).show(item["ref"])) == both  # nothing lost: the image is in what was kept
    assert new["messages"][2]["content"][0]["content"].startswith("[tether] Offloaded tool result")


def pdf(pages: int, separator: bytes = b" ", filler: int = 200_000) -> bytes:
    """A PDF of ``pages`` page objects (``/Type<separator>/Page``) under a ``/Type /Pages`` tree,
    with ``filler`` bytes of a stream (an embedded image, say) that base64 makes long."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(b"%d 0 R" % (4 + n) for n in range(pages)), pages),
               b"<< /Length %d >>\nstream\n" % filler + random.Random(pages).randbytes(filler) + b"\nendstream"]
    objects += [b"<</Type" + separator + b"/Page/Parent 2 0 R/MediaBox [0 0 612 792]>>" for _ in range(pages)]
    return b"%PDF-1.4\n" + b"".join(b"%d 0 obj\n" % n + body + b"\nendobj\n" for n, body in enumerate(objects, 1))


def pdf_blocks(data: bytes) -> dict:
    """The same PDF sent inline in each API's form."""
    encoded = base64.b64encode(data).decode()
    return {"anthropic": {"type": "document", "source": {"type": "base64", "media_type": "application/pdf",
                                                         "data": encoded}},
            "openai": {"type": "file", "file": {"filename": "spec.pdf",
                                                "file_data": "data:application/pdf;base64," + encoded}},
            "responses": {"type": "input_file", "filename": "spec.pdf",
                          "file_data": "data:application/pdf;base64," + encoded}}


@pytest.mark.parametrize("separator", [b" ", b"", b"\n", b"\r\n\t "], ids=["space", "none", "newline", "mixed"])
def test_an_inline_pdf_counts_an_image_a_page_not_its_base64_text(separator):
    from tether.transcripts.tokens import IMAGE_TOKENS, counted_strings, estimate

    for form, block in pdf_blocks(pdf(3, separator)).items():
        message = {"role": "user", "content": [{"type": "text", "text": "Summarise this spec"}, block]}
        texts, units = counted_strings([message])
        assert units == 3, form  # the /Type /Pages tree is no page
        assert not any(len(t) > 1000 for t in texts) and "Summarise this spec" in texts, form
        assert estimate("\n".join(texts)) + units * IMAGE_TOKENS < 3 * IMAGE_TOKENS + 100


def test_a_pdf_without_page_objects_or_not_base64_counts_one_page():
    from tether.transcripts.tokens import counted_strings

    compressed = pdf_blocks(b"%PDF-1.5\n1 0 obj\n<< /Type /ObjStm /N 4 >>\nstream\nxx\nendstream\nendobj\n")
    broken = {"type": "document", "source": {"type": "base64", "media_type": "application/pdf",
                                             "data": "not*base64!" * 10_000}}
    for block in [*compressed.values(), broken]:
        texts, units = counted_strings([{"role": "user", "content": [block]}])
        assert units == 1 and not any(len(t) > 1000 for t in texts)
    # A document of plain text is text the model reads: counted as text.
    text_doc = {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "the spec"}}
    assert counted_strings([text_doc]) == (["document", "text", "text/plain", "the spec"], 0)


def test_usage_and_compact_count_a_pasted_pdf_by_its_pages_and_tier1_leaves_it_in_place(ws, cli, tmp_path):
    # A 12-page PDF: 12 pages of images (19,200 tokens) is no large tool result, nor is its base64
    # (hundreds of thousands of characters) text to offload: a stub would leave the model base64.
    blocks = pdf_blocks(pdf(12))
    anthropic = anthropic_request([blocks["anthropic"]])
    openai = openai_list("ok")
    openai[1]["content"] = [{"type": "text", "text": "What does this spec say?"}, blocks["openai"]]
    responses = [{"role": "user", "content": [{"type": "input_text", "text": "What does this spec say?"},
                                              blocks["responses"]]}]
    for request, model in ((anthropic, "claude-sonnet-4-5"), (openai, "gpt-4o"), (responses, "gpt-4o")):
        same, report = compact(request, workspace=ws, model=model, tiers=[1])
        assert same == request and report["tiers"][0]["offloaded"] == []
        state = report["state"]
        assert state["state"] == "GREEN" and 12 * 1600 <= state["tokens"] < 12 * 1600 + 1000, state
        path = tmp_path / "pasted.json"
        path.write_text(json.dumps(request))
        usage = cli("usage", path, "--model", model, "--json").json()
        assert usage["tokens"] == state["tokens"] and usage["state"] == "GREEN"
    # Beside a large text, the result goes whole, the PDF in what was kept.
    both = [{"type": "text", "text": big_output(3000)}, blocks["anthropic"]]
    new, report = compact(anthropic_request(both), tiers=[1], workspace=ws, threshold=500)
    [item] = report["tiers"][0]["offloaded"]
    assert json.loads(Compactor(ws).show(item["ref"])) == both
    assert item["tokens"] > 12 * 1600


def test_offloading_twice_stores_one_file_and_a_stub_is_not_offloaded_again(ws):
    messages = openai_list(big_output())
    first, _ = compact(messages, tiers=[1], workspace=ws, threshold=1000)
    second, report = compact(first, tiers=[1], workspace=ws, threshold=10)
    assert report["tiers"][0]["offloaded"] == []
    assert second[3] == first[3]
    compact(messages, tiers=[1], workspace=ws, threshold=1000)
    assert len(list((ws.dir / "cache" / "offloaded").iterdir())) == 1


# -- tier 2 --------------------------------------------------------------------------------------

def test_tier2_truncates_long_tool_inputs_with_the_same_guarantee(ws):
    body = big_output(4000)
    args = json.dumps({"path": "src/big.py", "content": body})
    messages = openai_list("ok", arguments=args)
    new, report = compact(messages, tiers=[2], workspace=ws, input_limit=200)
    call = new[2]["tool_calls"][0]["function"]
    parsed = json.loads(call["arguments"])  # still JSON, as the API wants
    assert parsed["path"] == "src/big.py" and parsed["content"].startswith("[tether] Offloaded tool input")
    [item] = report["tiers"][0]["offloaded"]
    assert item["key"] == "content"
    assert Compactor(ws).show(item["ref"]) == body.encode("utf-8")


def test_tier2_on_anthropic_tool_use_input(ws):
    request = anthropic_request("fine")
    request["messages"][1]["content"][1]["input"] = {"command": "cat <<EOF\n" + big_output(3000) + "EOF"}
    new, report = compact(request, tiers=[2], workspace=ws, input_limit=100)
    use = new["messages"][1]["content"][1]
    assert use["type"] == "tool_use" and use["input"]["command"].startswith("[tether] Offloaded tool input")
    ref = report["tiers"][0]["offloaded"][0]["ref"]
    assert Compactor(ws).show(ref).decode("utf-8") == request["messages"][1]["content"][1]["input"]["command"]


# -- tier 3 --------------------------------------------------------------------------------------

def test_tier3_summarises_archives_and_checkpoints_the_active_task(ws):
    ws.start_task("Fix the empty-config crash", steps=["reproduce", "fix", "test"], task_id="T1")
    messages = openai_list(big_output(200))
    new, report = compact(messages, tiers=[3], workspace=ws, keep_recent=2)
    assert new[0] == messages[0]  # the system prompt stays first
    summary = new[1]["content"]
    assert new[1]["role"] == "system" and summary.startswith("[tether] Summary of the conversation so far")
    assert "## Objective\nFix the crash in src/app.py when the config is empty" in summary
    assert "We decided to keep the loader" in summary
    assert "- src/app.py (read)" in summary
    assert "step 1: reproduce" in summary and "## Resume point" in summary
    assert new[2:] == messages[-2:]  # the most recent messages verbatim
    [tier] = report["tiers"]
    assert tier["checkpoint"] == "CKP-0001" and tier["summary_source"] == "extracted"
    archived = json.loads(Compactor(ws).show(tier["archive"]))
    assert archived == messages  # the whole conversation, recoverable
    ckp = ws.latest_checkpoint("T1")
    assert ckp.key_data["archive"] == tier["archive"]
    # The same conversation compacted again (an agent builder's loop, a repeated command): the
    # newest checkpoint already names its archive, and no copy of it is made.
    _, again = compact(messages, tiers=[3], workspace=ws, keep_recent=2)
    assert again["tiers"][0]["checkpoint"] == "CKP-0001" and ws.latest_checkpoint("T1").id == "CKP-0001"
    _, longer = compact(messages + [{"role": "user", "content": "and the docs"}], tiers=[3], workspace=ws, keep_recent=2)
    assert longer["tiers"][0]["checkpoint"] == "CKP-0002"  # more conversation: a new moment


def test_tier3_makes_no_checkpoint_in_a_task_standing_in_for_a_closed_one(ws):
    """As the hooks' automatic checkpoints: the task this machine chose is complete, and the open
    task that stands in for it was not chosen; nothing is written there, nor is it chosen."""
    ws.start_task("Other", steps=["a"], task_id="T1")
    ws.start_task("Chosen", steps=["b"], task_id="T2")
    ws.set_task_status("T2", "complete")
    messages = openai_list(big_output(200))
    _, report = compact(messages, tiers=[3], workspace=ws, keep_recent=2)
    [tier] = report["tiers"]
    assert tier.get("checkpoint") is None and "T2, the task chosen on this machine, is no longer open" in tier["note"]
    assert ws.latest_checkpoint("T1") is None and ws.store.active_task() == "T2"
    assert Compactor(ws).show(tier["archive"])  # the conversation is archived all the same


def test_tier3_checkpoint_state_quoting_a_secret_is_redacted(ws):
    # The state line comes from the conversation's last replies and goes into a committed checkpoint.
    ws.start_task("Deploy", steps=["deploy"], task_id="T1")
    token = "ghp_" + "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3z5A"
    messages = [{"role": "user", "content": "Deploy the site"},
                {"role": "assistant", "content": f"Deployed with GITHUB_TOKEN={token} set in CI."},
                {"role": "user", "content": "thanks"}, {"role": "assistant", "content": "ok"}]
    _, report = compact(messages, tiers=[3], workspace=ws, keep_recent=1)
    state = ws.latest_checkpoint("T1").current_state
    assert token not in state and "[REDACTED: GitHub Token]" in state, state


def test_tier3_checkpoint_state_cut_from_a_replys_end_never_keeps_a_secret_its_anchor_was_cut_from(ws):
    """The state is the reply's end: a private key ending it loses its BEGIN line to the cut, and
    without it the rest of the key is no secret to the detector. The reply is redacted whole first."""
    import base64

    ws.start_task("Keys", steps=["make a key"], task_id="T1")
    rows = [base64.b64encode(random.Random(n).randbytes(48)).decode() for n in range(20)]
    key = "-----BEGIN RSA PRIVATE KEY-----\n" + "\n".join(rows) + "\n-----END RSA PRIVATE KEY-----"
    messages = [{"role": "user", "content": "Make me a deploy key"},
                {"role": "assistant", "content": f"Here is the new deploy key.\n{key}"},
                {"role": "user", "content": "thanks"}, {"role": "assistant", "content": "ok"}]
    compact(messages, tiers=[3], workspace=ws, keep_recent=1)
    state = ws.latest_checkpoint("T1").current_state
    assert not any(row in state for row in rows), state
    assert "[REDACTED: Private Key]" in state, state


def test_tier3_archives_a_list_given_as_bytes_as_those_very_bytes(ws):
    """Read from bytes with nothing to redact, the archive is the input itself, byte for byte
    (its spacing and key order too); with a secret, or an escape that could spell the home
    directory, it is the list written again, redacted and with the home written ~."""
    import os

    messages = openai_list(big_output(200))
    given = json.dumps(messages, ensure_ascii=False, separators=(", ", ":")).encode("utf-8")
    _, report = compact(given, tiers=[3], workspace=ws, keep_recent=2)
    assert Compactor(ws).show(report["tiers"][0]["archive"]) == given

    with_secret = openai_list(big_output(200, extra=f"aws_key = {AWS}\n"))
    _, report = compact(json.dumps(with_secret).encode("utf-8"), tiers=[3], workspace=ws, keep_recent=2)
    stored = Compactor(ws).show(report["tiers"][0]["archive"])
    assert report["tiers"][0]["archive_redactions"] == 1 and AWS.encode() not in stored
    assert json.loads(stored)[3]["content"] == with_secret[3]["content"].replace(AWS, "[REDACTED: AWS Access Key]")

    home = os.path.expanduser("~")
    escaped = openai_list(f"see {home}/notes.txt").copy()
    data = json.dumps(escaped, ensure_ascii=False).replace("/", "\\/").encode("utf-8")
    _, report = compact(data, tiers=[3], workspace=ws, keep_recent=2)
    stored = Compactor(ws).show(report["tiers"][0]["archive"])
    assert home.encode() not in stored and b"~/notes.txt" in stored


def test_tier3_takes_a_given_summary_and_keeps_tool_pairs_whole(ws):
    messages = openai_list("short output")
    # keep 4 would start the kept part at the tool result: it moves past it instead
    new, report = compact(messages, tiers=[3], workspace=ws, keep_recent=4, summary="My own summary.")
    assert "My own summary." in new[1]["content"] and "## Objective" not in new[1]["content"]
    assert report["tiers"][0]["summary_source"] == "given"
    assert new[2]["role"] != "tool"


def test_tier3_on_an_anthropic_list_alternates_roles(ws):
    request = anthropic_request("files")
    new, report = compact(request, tiers=[3], workspace=ws, keep_recent=1)
    roles = [m["role"] for m in new["messages"]]
    assert roles == ["user", "assistant"] and new["messages"][-1]["content"] == "Done."
    assert new["system"] == "Be brief."


# -- pins ----------------------------------------------------------------------------------------

def test_pins_survive_every_tier_verbatim(ws, cli):
    text = "Never change the public API of src/app.py: §3 of the contract"
    pinned = cli("pin", text, "--json").json()["pin"]
    cli("pin", "Tests run with `pytest -q`")
    messages = openai_list(big_output())
    for tiers in ([1], [2], [3], [1, 2, 3]):
        new, report = compact(messages, tiers=tiers, workspace=ws, threshold=1000, keep_recent=2)
        blob = json.dumps(new, ensure_ascii=False)
        assert f"- {text}" in blob and "- Tests run with `pytest -q`" in blob
        assert pinned["id"] in report["pins"]
    # tier 3 with nothing old enough to summarise: the pins the report names are still in the list
    short = [{"role": "user", "content": "hello"}, {"role": "assistant", "content": "hi"}]
    new, report = compact(short, tiers=[3], workspace=ws, keep_recent=4)
    assert report["tiers"][0]["summarised_messages"] == 0 and pinned["id"] in report["pins"]
    assert f"- {text}" in json.dumps(new, ensure_ascii=False) and new[-2:] == short
    assert report["tokens_after"] > report["tokens_before"]  # the pins block is counted
    # compacting the output again keeps one pins block, not two
    once, _ = compact(messages, tiers=[1], workspace=ws, threshold=1000)
    twice, _ = compact(once, tiers=[1], workspace=ws, threshold=1000)
    assert sum(text in (m.get("content") or "") for m in twice) == 1
    listed = cli("pin", "--list", "--json").json()["pins"]
    assert [p["text"] for p in listed] == [text, "Tests run with `pytest -q`"]
    common = os.path.commonprefix([p["id"] for p in listed])  # PIN-<day>-...: both ids begin with it
    ambiguous = cli("unpin", common)
    assert ambiguous.code == 1 and f"{common} begins 2 pins' ids" in ambiguous.err and "Hint:" in ambiguous.err
    assert len(cli("pin", "--list", "--json").json()["pins"]) == 2  # nothing unpinned
    assert cli("unpin", pinned["id"]).code == 0
    assert [p["text"] for p in cli("pin", "--list", "--json").json()["pins"]] == ["Tests run with `pytest -q`"]
    assert cli("unpin", pinned["id"]).code == 1  # gone


# -- secrets -------------------------------------------------------------------------------------

def test_secrets_are_redacted_counted_and_the_rest_is_byte_exact(ws):
    lookalikes = ("commit 3f2a9c41e0b1d2c3f4a5b6c7d8e9f00112233445\n"
                  "uuid 123e4567-e89b-12d3-a456-426614174000\n"
                  "password = os.environ['DB_PASSWORD']\n"
                  "the docs say: set AWS_ACCESS_KEY_ID in your shell\n")
    secrets = f"aws_key = {AWS}\ntoken: {GITHUB}\n{PRIVATE_KEY}\n"
    output = big_output(2000, extra=lookalikes + secrets)
    new, report = compact(openai_list(output), tiers=[1], workspace=ws, threshold=500)
    assert report["redactions"] == 3
    assert report["redacted_types"] == {"AWS Access Key": 1, "GitHub Token": 1, "Private Key": 1}
    stored = Compactor(ws).show(report["tiers"][0]["offloaded"][0]["ref"]).decode("utf-8")
    for secret in (AWS, GITHUB, "MIIEowIBAAKCAQEAq8Zc3lHqY0X9"):
        assert secret not in stored and secret not in json.dumps(new)
    expected = output.replace(AWS, "[REDACTED: AWS Access Key]").replace(GITHUB, "[REDACTED: GitHub Token]") \
        .replace(PRIVATE_KEY, "[REDACTED: Private Key]")
    assert stored == expected  # look-alikes and everything else untouched


def test_redaction_can_be_turned_off(ws):
    output = big_output(2000, extra=f"aws_key = {AWS}\n")
    _, report = compact(openai_list(output), tiers=[1], workspace=ws, threshold=500, redact=False)
    assert report["redactions"] == 0
    assert Compactor(ws).show(report["tiers"][0]["offloaded"][0]["ref"]) == output.encode("utf-8")


def test_the_prefilter_never_hides_a_line_detect_secrets_would_flag():
    lines = [f"x = {AWS}", f"t={GITHUB}", "password: 'hunter2hunter2'", "plain text line",
             "sk_live_" + "a" * 24, "xoxb-123456789012-abcdefabcdef", "AccountKey=" + "A" * 88,
             "https://user:s3cretpass@example.com/x", "1234567890:" + "A" * 35,
             "token = " + "a1" * 22, "the api key and the password are in the vault"]
    redactor = Redactor()
    assert redactor.candidate_lines("\n".join(lines)) == [0, 1, 2, 4, 5, 6, 7, 8, 9]
    found = redactor.find("\n".join(lines))
    assert found.count >= 8 and "IBM Cloud IAM Key" in found.types()


def test_the_prefilter_keeps_every_line_detect_secrets_flags_among_keyword_lines():
    """Lines holding a keyword anchor: those the pre-filter drops are flagged by no detector."""
    lines = ["api_key = 'abcdefghijklmnop'", "the secret is out", 'password: "x1y2z3w4"', "key_pass = hello",
             "secret_key=" + "d" * 48, "cl_token = " + "b" * 24, "my key: " + "c" * 44, "pwd = `abcdefgh`",
             "contraseña = 'abcdefgh'", "keyboard shortcuts", "passing tests: 12", "api key " + "e" * 44,
             "tokens used: 1200", "password = os.environ", 'db_password = "hunter2!"']
    redactor = Redactor()
    kept = set(redactor.candidate_lines("\n".join(lines)))
    with redactor._plugins() as plugins:
        flagged = {n for n, line in enumerate(lines) if redactor._find(line, [0], plugins).count}
    assert flagged and flagged <= kept
    assert not kept & {1, 9, 10, 12}  # keyword without a quote or a long run: nothing to find there


# -- the state decides -----------------------------------------------------------------------

def test_without_tiers_the_state_decides(ws):
    messages = openai_list(big_output(500))
    same, report = compact(messages, workspace=ws, window=10 ** 6)
    assert same == messages and report["tiers"] == [] and "GREEN" in report["note"]
    _, report = compact(messages, workspace=ws, window=report["state"]["tokens"] * 100 // 60, threshold=1000)
    assert report["state"]["state"] == "ORANGE" and [t["tier"] for t in report["tiers"]] == [1, 2]
    log = (ws.dir / "memory" / "compactions.jsonl").read_text().splitlines()
    assert json.loads(log[-1])["tiers"][0]["tokens_before"] == report["tiers"][0]["tokens_before"]


# -- the command line ------------------------------------------------------------------------------

def test_compact_command_writes_a_valid_list_in_the_same_shape(ws, cli, tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(m) + "\n" for m in openai_list(big_output())), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    run = cli("compact", src, "--tier", "1", "--threshold", "1000", "-o", out)
    assert run.code == 0, run.err
    assert "Tier 1:" in run.out and "offloaded/" in run.out
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 7 and rows[3]["content"].startswith("[tether] Offloaded")
    data = cli("compact", src, "--tier", "1,2", "--threshold", "1000", "--json").json()
    assert data["messages"][3]["role"] == "tool" and [t["tier"] for t in data["report"]["tiers"]] == [1, 2]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_compact_writes_into_a_pipe_or_through_a_link_as_the_shells_redirection_would(ws, cli, tmp_path):
    """-o is written as `>` writes: a rename would put a regular file in the place of a pipe or a
    device (run as root, `-o /dev/null` replaced /dev/null) and of a link."""
    import threading

    src = tmp_path / "in.json"
    src.write_text(json.dumps(openai_list("short")), encoding="utf-8")
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    got: list = []
    reader = threading.Thread(target=lambda: got.append(pipe.read_bytes()), daemon=True)
    reader.start()
    run = cli("compact", src, "--tier", "3", "-o", pipe)
    reader.join(30)
    assert run.code == 0, run.err
    assert stat.S_ISFIFO(os.lstat(pipe).st_mode)  # still the pipe
    assert json.loads(got[0])[0]["role"] == "system"
    target = tmp_path / "real.json"
    target.write_text("old\n")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    assert cli("compact", src, "--tier", "3", "-o", link).code == 0
    assert link.is_symlink() and json.loads(target.read_text())[0]["role"] == "system"


def test_compact_o_dev_stdout_writes_into_the_pipe_that_stdout_is(ws, tether_proc, tmp_path):
    """`-o /dev/stdout` with stdout a pipe (`tether compact ... -o /dev/stdout | jq`): the link
    names the pipe itself, which has no path to resolve to; it is written into, as `>` does."""
    src = tmp_path / "in.json"
    src.write_text(json.dumps(openai_list("short")), encoding="utf-8")
    run = tether_proc("compact", src, "--tier", "3", "-o", "/dev/stdout", cwd=ws.root)
    assert run.code == 0, run.err
    written, _ = json.JSONDecoder().raw_decode(run.out)  # the report follows it
    assert written[0]["role"] == "system"


def test_compact_o_keeps_an_existing_files_permissions(ws, cli, tmp_path):
    """`>` keeps the mode of the file it writes: a compacted list kept private (0600) stays so."""
    src = tmp_path / "in.json"
    src.write_text(json.dumps(openai_list("short")), encoding="utf-8")
    out = tmp_path / "private.json"
    out.write_text("old\n")
    out.chmod(0o600)
    assert cli("compact", src, "--tier", "3", "-o", out).code == 0
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600 and json.loads(out.read_text())[0]["role"] == "system"


def test_bad_input_is_refused_with_its_line_and_a_hint(ws, cli, tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text('[{"role": "user", "content": "hi"},\n{"role": \n', encoding="utf-8")
    run = cli("compact", broken)
    assert run.code == 1 and "broken.json:3: not valid JSON" in run.err and "Hint:" in run.err
    notes = tmp_path / "notes.json"
    notes.write_text('[{"content": "no role"}]', encoding="utf-8")
    data = cli("compact", notes, "--json").json()
    assert data["ok"] is False and "message 1 is not a message" in data["error"] and data["kind"] == "invalid_input"
    # OpenAI's Responses API items: the hint says what tether reads instead of only "a role"
    responses = tmp_path / "responses.json"
    responses.write_text(json.dumps([{"role": "user", "content": "fix it"},
                                     {"type": "function_call", "call_id": "c1", "name": "shell", "arguments": "{}"}]))
    data = cli("compact", responses, "--json").json()
    assert "message 2 is not a message" in data["error"] and "Responses API" in data["hint"]
    missing = cli("compact", tmp_path / "nope.json")
    assert missing.code == 1 and "cannot read" in missing.err
    assert cli("compact", broken, "--tier", "4").code == 2
    unknown = cli("show", "offloaded/0123456789ab", "--json").json()
    assert unknown["ok"] is False and unknown["kind"] == "not_found" and unknown["exit_code"] == 1
    assert "not a cache reference" in cli("show", "../../etc/passwd").err
    assert not (ws.dir / "cache").exists() or not any((ws.dir / "cache").rglob("*.tmp"))


@pytest.mark.parametrize("extra, said", [
    (("--window", "-1"), "--window must be from 1,000 to 100,000,000 tokens, got -1"),
    (("--window", "0"), "--window must be from 1,000 to 100,000,000 tokens, got 0"),
    (("--window", "5"), "--window must be from 1,000 to 100,000,000 tokens, got 5"),
    (("--keep", "-1"), "keep_recent must be a whole number of messages (0 or more), got -1"),
    (("-o", "{tmp}"), "-o {tmp}: is a folder"),
    (("-o", "{tmp}/no/such/folder/out.json"), "-o {tmp}/no/such/folder/out.json: {tmp}/no/such/folder is not a folder"),
    (("--summary-file", "{tmp}/nope.txt"), "cannot read the summary file {tmp}/nope.txt: No such file or directory"),
])
def test_what_compact_cannot_do_is_refused_before_anything_is_recorded(ws, cli, tmp_path, extra, said):
    ws.start_task("Parser", steps=["a"], task_id="T1")  # tier 3 would checkpoint it
    src = tmp_path / "in.json"
    src.write_text(json.dumps(openai_list(big_output())), encoding="utf-8")
    extra = [str(e).format(tmp=tmp_path) for e in extra]
    run = cli("compact", src, "--tier", "1,2,3", *extra)
    assert run.code == 1 and run.err.splitlines()[0] == "Error: " + said.format(tmp=tmp_path), run.err
    assert run.err.splitlines()[1].startswith("Hint: ")
    assert not (ws.dir / "memory" / "compactions.jsonl").exists()  # nothing compacted, nothing recorded
    assert ws.latest_checkpoint("T1") is None and not (tmp_path / "no").exists()


def test_a_cached_file_changed_by_hand_is_reported_not_returned(ws, cli):
    _, report = compact(openai_list(big_output()), tiers=[1], workspace=ws, threshold=1000)
    item = report["tiers"][0]["offloaded"][0]
    path = ws.dir / "cache" / "offloaded" / item["sha256"]
    path.chmod(0o644)
    path.write_bytes(b"tampered")
    run = cli("show", item["ref"])
    assert run.code == 1 and "no longer matches its name" in run.err


def test_a_summariser_that_returns_no_text_is_refused_and_nothing_is_compacted(ws):
    # A blank summary would have stood for the messages tier 3 removes; a number failed with
    # an AttributeError from inside tether.
    from tether.errors import InvalidInput

    messages = openai_list(big_output())
    for returned in ("", "  \n", 42, ["a summary"]):
        with pytest.raises(InvalidInput) as caught:
            compact(messages, tiers=[1, 3], workspace=ws, threshold=1000, keep_recent=2,
                    summariser=lambda older, returned=returned: returned)
        assert "not the summary's text" in str(caught.value) and "nothing was compacted" in caught.value.hint
    assert not (ws.dir / "cache").exists() and not (ws.dir / "memory" / "compactions.jsonl").exists()
    new, report = compact(messages, tiers=[3], workspace=ws, keep_recent=2, summariser=lambda older: None)
    assert report["tiers"][0]["summary_source"] == "extracted" and "## Objective" in new[1]["content"]


def test_a_configured_summariser_command_writes_the_summary(ws, cli, tmp_path):
    script = tmp_path / "summarise.py"
    script.write_text("import json, sys\nmessages = json.load(sys.stdin)\n"
                      "print(f'Custom summary of {len(messages)} messages.')\n", encoding="utf-8")
    toml = ws.dir / "tether.toml"
    toml.write_text(toml.read_text(encoding="utf-8") + f'\n[compaction]\nsummariser = "{sys.executable} {script}"\n'
                    "keep_recent = 2\n", encoding="utf-8")
    src = tmp_path / "in.json"
    src.write_text(json.dumps(openai_list("short")), encoding="utf-8")
    data = cli("compact", src, "--tier", "3", "--json").json()
    assert data["report"]["tiers"][0]["summary_source"] == "summariser"
    assert "Custom summary of 4 messages." in data["messages"][1]["content"]
    script.write_text("import sys\nsys.exit('model unavailable')\n", encoding="utf-8")
    failed = cli("compact", src, "--tier", "3")
    assert failed.code == 1 and "exited 1: model unavailable" in failed.err


def test_a_bad_compaction_setting_is_refused_with_its_line(ws, cli, tmp_path):
    toml = ws.dir / "tether.toml"
    toml.write_text(toml.read_text(encoding="utf-8") + '\n[compaction]\nthreshold = "big"\n', encoding="utf-8")
    src = tmp_path / "in.json"
    src.write_text(json.dumps(openai_list("short")), encoding="utf-8")
    run = cli("compact", src, "--tier", "1")
    assert run.code == 1 and "compaction.threshold must be a whole number" in run.err and "tether.toml:" in run.err


def test_the_list_is_written_exactly_as_json_dumps_indents_it():
    """Archives are compared byte for byte: the writer is json.dumps(indent=1)'s text, edge cases too."""
    import enum

    from tether.compaction.messages import indented

    class Level(enum.IntEnum):
        HIGH = 1

    values = [[], {}, [[]], {"a": {}, "": ""}, [1, 2.5, -0.0, 1e300, float("nan"), float("inf"), -float("inf"),
              True, False, None, 10 ** 30, "é\u2028\x00\"\\\n😀"], {"k": [{"x": [1, [2, [3]]]}]}, "text", 5, None,
              {1: "a", None: [True]}, [Level.HIGH], openai_list(big_output(50))]
    for value in values:
        assert indented(value) == json.dumps(value, ensure_ascii=False, indent=1)


def test_the_decision_search_is_the_pattern_whatever_the_case_and_letters():
    """The summary looks for a decision's words in the lowered text before running its pattern:
    the same answer on any text, in any case, with the letters re.IGNORECASE also takes."""
    import random

    from tether.compaction.summary import _DECISION, _may_decide

    rng = random.Random(5)
    pieces = ["We DECIDED", "decision", "we'll", "I'LL use", "going  with", "Going with", "chose", "Choose to",
              "insteadof", "Instead of", "settled on", "opted", "optedly", "xdecided", "ſettled on", "İnstead of",
              "the plan", "✓", " ", "\n", ".", "we will", "We Will", "i will use"]
    for _ in range(3000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 6)))
        assert _may_decide(text) == bool(_DECISION.search(text)), text


def test_the_decisions_of_a_list_are_those_each_reply_gives_on_its_own():
    """The replies that may hold a decision are found by searching them all joined: the same
    decisions, in the same order, as asking each reply alone, whatever replies (non-ASCII, letters
    re.IGNORECASE folds, empty, tether's own) stand beside them."""
    from tether.compaction.messages import TETHER_MARK
    from tether.compaction.summary import _deciding_sentences, _may_decide, decisions

    rng = random.Random(13)
    pieces = ["We decided to keep it", "decision made", "we'll use sqlite", "going with B", "ſettled on A",
              "İnstead of that", "plain words", "é✓", ". ", "\n", "opted for the cache", "chose wisely", "x"]

    def reply():
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 8)))
        return TETHER_MARK + text if rng.random() < 0.1 else text

    for _ in range(400):
        messages = [{"role": rng.choice(["assistant", "assistant", "user"]),
                     "content": rng.choice([reply(), [{"type": "text", "text": reply()}]])}
                    for _ in range(rng.randint(0, 12))]
        expected: list = []  # each reply alone, as the summary read them before
        for msg in messages:
            text = msg["content"] if isinstance(msg["content"], str) else msg["content"][0]["text"]
            if msg["role"] != "assistant" or text.startswith(TETHER_MARK) or not _may_decide(text):
                continue
            for sentence in _deciding_sentences(text):
                line = sentence if len(sentence) <= 240 else sentence[:239].rstrip() + "…"
                if len(sentence) >= 12 and line not in expected:
                    expected.append(line)
        assert decisions(messages, limit=10 ** 6) == expected


def test_the_deciding_sentences_are_those_the_split_text_gives():
    """A reply's decisions are read around the pattern's matches, not by splitting the whole reply:
    the same sentences, in the same order, as splitting it and searching each sentence, whatever
    the sentence ends, line breaks, spaces and letters around them."""
    from tether.compaction.summary import _DECISION, _deciding_sentences, sentences

    rng = random.Random(11)
    pieces = ["We decided", "decision", "we'll", "I'LL use", "going with", "chose", "instead of", "settled on",
              "opted", "xdecided", "decidedly", "ſettled on", "İnstead of", "the plan", "é", ".", "!", "?", "...",
              " ", "  ", "\n", "\n\n", "\t", ". ", ".\n", "!\n  ", "\u00a0", "\u2028", "a", "word", "1.5"]
    for _ in range(4000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 14)))
        expected = [s.strip() for s in sentences(text) if _DECISION.search(s)]
        assert _deciding_sentences(text) == expected, repr(text)


def test_a_messages_start_is_read_without_joining_all_its_parts():
    """tether finds its own blocks (pins, summaries, the acknowledgement) by how a message's text
    starts, joining only the parts that prefix reaches: the answer must be the whole text's."""
    from tether.compaction.messages import TETHER_MARK, text_of, text_starts

    rng = random.Random(29)
    pieces = ["", "a", "\n", TETHER_MARK, TETHER_MARK[:3], "Pinned", "x" * 40, "é"]
    for _ in range(3000):
        parts = []
        for _ in range(rng.randint(0, 5)):
            text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 3)))
            parts.append(rng.choice([text, {"type": "text", "text": text}, {"type": "image"}, {"text": 3}, 7]))
        content = rng.choice([parts, "".join(p for p in parts if isinstance(p, str)), None, 5])
        whole = text_of(content)
        for prefix in ("", TETHER_MARK, TETHER_MARK + "Pinned", "a\n", "\n\n", whole[:rng.randint(0, 60)], whole + "z"):
            assert text_starts(content, prefix) == whole.startswith(prefix), (content, prefix)


@pytest.mark.parametrize("line,secret", [
    ("AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
    ("export API_TOKEN=9f8e7d6c5b4a39281726", "9f8e7d6c5b4a39281726"),
    ("token = abcdefghijklmnopqrstuvwxyz123456", "abcdefghijklmnopqrstuvwxyz123456"),
    ("secret_key: django-insecure-8x9y0z1a2b3c", "django-insecure-8x9y0z1a2b3c"),
])
def test_an_unquoted_secret_assignment_is_redacted_as_env_and_yaml_print_it(line, secret):
    """detect-secrets wants the value quoted; `env`, .env files and YAML do not quote it."""
    from tether.compaction.redact import Redactor

    text = f"$ env\nPATH=/usr/bin\n{line}\nHOME=~\n"
    out, found = Redactor().redact(text)
    assert secret not in out and "[REDACTED: Secret Assignment]" in out and found.count == 1
    assert out.replace("[REDACTED: Secret Assignment]", secret) == text  # every other byte kept
    many = Redactor().find_many(["nothing here", text])
    assert list(many) == [1] and many[1].count == 1


@pytest.mark.parametrize("line", [
    "password = os.environ['DB_PASSWORD']", "token = get_token(session)", "PASSWORD_MIN_LENGTH=12",
    "TOKEN_FILE=/etc/tokens/x1", "export GITHUB_TOKEN=$GITHUB_TOKEN", "max_tokens=4096", "input_tokens: 123456789012",
    "tokens_used=12345abcdefgh", "api_key = '<your-api-key-here>'", "SECRET_NAME=production-database",
])
def test_what_only_looks_like_a_secret_assignment_is_kept(line):
    from tether.compaction.redact import Redactor

    assert Redactor().redact(line)[0] == line


GHP = "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789"
STRIPE_LONG = "sk_live_51pLIix6aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789abcdefABCDEF0123456789xyzXYZ"


@pytest.mark.parametrize("line,secret,kind", [
    (f"client = Github('{GHP}')", GHP, "GitHub Token"),  # detect-secrets skips a `name = call(` line whole
    ("s3 = make_client('AKIAIOSFODNN7EXAMPLE')", "AKIAIOSFODNN7EXAMPLE", "AWS Access Key"),
    (f"const stripe = require('stripe')('{STRIPE_LONG}')", STRIPE_LONG, "Stripe Access Key"),
    (f"stripe live key: {STRIPE_LONG} (rotate it)", STRIPE_LONG, "Stripe Access Key"),  # longer than its pattern
    ("export GITHUB_PAT=github_pat_11ABCDEFG0abcdefghijklmnop_qrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijk",
     "github_pat_11ABCDEFG0abcdefghijklmnop_qrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijk",
     "GitHub Fine-Grained Token"),
    ("ANTHROPIC_KEY: sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789AA",
     "sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789AA", "Anthropic API Key"),
    ("maps = Client(key='AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUvW')", "AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUvW",
     "Google API Key"),
    ("login(token=hf_AbCdEfGhIjKlMnOpQrStUvWxYz01234567)", "hf_AbCdEfGhIjKlMnOpQrStUvWxYz01234567", "Hugging Face Token"),
])
def test_a_token_is_cut_whole_wherever_it_stands(line, secret, kind):
    """Passed to a call, longer than the pattern that found it, or of a format detect-secrets does
    not know: the whole token goes, in find and in find_many (the archive's), and nothing else."""
    from tether.compaction.redact import Redactor

    text = f"$ python app.py\n{line}\nok\n"
    out, found = Redactor().redact(text)
    marker = f"[REDACTED: {kind}]"
    assert found.count == 1 and found.types() == {kind: 1}, (out, found.types())
    assert out.replace(marker, secret) == text  # the whole token and nothing else
    many = Redactor().find_many(["nothing here", text])
    assert list(many) == [1] and many[1].spans == found.spans


@pytest.mark.parametrize("line", [
    "secret = get_secret_key()", "password = request.headers['apikey']",  # what the indirect filter is for
    "placeholder github_pat_XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX", "see hf_hub_download_for_models_and_datasets1",
    "docs: AIzaXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
])
def test_indirect_references_and_placeholders_are_kept(line):
    from tether.compaction.redact import Redactor

    assert Redactor().redact(line)[0] == line


def test_compacting_an_agents_transcript_says_how_tether_reads_those(tmp_path, cli, ws):
    path = tmp_path / "session.jsonl"
    line = {"type": "user", "sessionId": "s1", "uuid": "u1", "message": {"role": "user", "content": "hi"}}
    for lines in ([line], [line, dict(line, uuid="u2")]):  # one record (a JSON object) and several (JSON Lines)
        path.write_text("".join(json.dumps(record) + "\n" for record in lines))
        run = cli("compact", str(path), "--json")
        data = run.json()
        assert run.code == 1 and "not a message" in data["error"] and "PreCompact hook" in data["hint"]


def test_a_bad_pins_line_is_said_by_every_command_that_reads_the_pins(ws, cli, tmp_path):
    """pin --list, unpin and compact leave a line of the pins log that does not read out, as boot
    does: each names it (path:line) on stderr and in --json, and exits 3, as the other listings do."""
    kept = cli("pin", "Never change load(path)").out.split()[1].rstrip(":")
    gone = cli("pin", "Temporary: skip the flaky test").out.split()[1].rstrip(":")
    with open(ws.dir / "memory" / "pins.jsonl", "a") as fh:
        fh.write('{"pin": "broken\n')
    said = ".tether/memory/pins.jsonl:3: invalid JSON (torn or hand-edited line); line skipped"

    listed = cli("pin", "--list")
    assert listed.code == 3 and f"{kept}  Never change load(path)" in listed.out and said not in listed.out
    assert f"Warning: {said}" in listed.err.splitlines() and "Hint: fix or delete each log line named" in listed.err
    data = cli("pin", "--list", "--json").json()
    assert [p["id"] for p in data["pins"]] == [kept, gone]
    assert data["problems"] == [{"path": ".tether/memory/pins.jsonl", "line": 3,
                                 "message": "invalid JSON (torn or hand-edited line); line skipped"}]

    unpinned = cli("unpin", gone)
    assert unpinned.code == 3 and f"Warning: {said}" in unpinned.err.splitlines()

    src = tmp_path / "in.json"
    src.write_text(json.dumps(openai_list(big_output())), encoding="utf-8")
    run = cli("compact", src, "--tier", "1", "--threshold", "1000", "-o", tmp_path / "out.json")
    assert run.code == 3 and f"Warning: {said}" in run.err.splitlines() and "1 pin re-injected" in run.out
    report = cli("compact", src, "--tier", "1", "--threshold", "1000", "--json").json()["report"]
    assert report["problems"][0]["line"] == 3
    logged = [json.loads(line) for line in (ws.dir / "memory" / "compactions.jsonl").read_text().splitlines()]
    assert all("problems" not in row for row in logged)  # what one run met, not the compaction's record


def test_tier3s_checkpoint_state_is_the_last_replys_end_in_whole_sentences(ws):
    """The state a tier 3 checkpoint records is read where a reply says where the work stands, its
    end, from a sentence's (or a word's) start: never a cut from the middle of a word."""
    ws.start_task("Parse json", steps=["parse", "test"], task_id="T1")
    messages = [{"role": "system", "content": "You are a coding agent."}]
    for n in range(6):
        messages.append({"role": "user", "content": f"Go on with step {n}"})
        messages.append({"role": "assistant", "content": "detail " * 300 + f"I fixed the parser in step {n}."
                         " Next I will run the tests."})
    compact(messages, tiers=[3], workspace=ws, keep_recent=2)
    state = ws.latest_checkpoint("T1").current_state
    assert state == "…Next I will run the tests.", state
    messages.append({"role": "assistant", "content": "x" * 40 + " word " * 100 + "no sentence ends here"})
    messages.append({"role": "user", "content": "and then?"})
    compact(messages, tiers=[3], workspace=ws, keep_recent=1)
    state = ws.latest_checkpoint("T1").current_state
    assert state.startswith("…word word") and state.endswith("no sentence ends here") and len(state) <= 300, state


def test_usage_and_compact_count_the_same_list_alike(ws, cli, tmp_path):
    """`tether usage` of a chat list gives the figure `tether compact` judges it by, whatever its shape:
    every string of it (roles and ids too, a request's system prompt) counted as one text; the request's
    model names the window for both."""
    from tether.transcripts.tokens import estimate

    openai = openai_list(big_output(50))
    big = openai_list(big_output(3000))  # a result tiers 1 and 2 count on its own, in the same pass
    request = anthropic_request([{"type": "text", "text": big_output(40)}])
    lists = {"openai.json": (json.dumps(openai), None), "big.json": (json.dumps(big), None),
             "request.json": (json.dumps(request), "claude-sonnet-4-5"),
             "pretty.json": (json.dumps({"messages": openai, "model": "gpt-4o"}, indent=2), "gpt-4o"),
             "lines.jsonl": ("\n".join(json.dumps(m) for m in openai) + "\n", None)}
    for name, (text, model) in lists.items():
        src = tmp_path / name
        src.write_text(text, encoding="utf-8")
        usage = cli("usage", src, "--json").json()
        report = cli("compact", src, "-o", tmp_path / "out.json", "--json").json()["report"]
        assert usage["format"] == "chat" and usage["source"] == "counted", name
        assert usage["tokens"] == report["state"]["tokens"], name
        assert (usage["window"], usage["model"]) == (report["state"]["window"], model), name
    strings = []

    def gather(value):
        if isinstance(value, str):
            strings.append(value)
        elif isinstance(value, (list, dict)):
            for v in value.values() if isinstance(value, dict) else value:
                gather(v)

    gather(request["messages"])
    gather(request["system"])  # after the messages, as the compaction counts it
    usage = cli("usage", tmp_path / "request.json")
    assert usage.out.splitlines()[0].startswith(f"Context: {estimate(chr(10).join(strings)):,} of 200,000 tokens")
    assert "From: counted: every string of the list (roles and ids too, and a request's system prompt), as" \
           " `tether compact` counts it (estimate)" in usage.out
    assert "(estimate, every string of the list)" in cli("compact", tmp_path / "openai.json", "-o",
                                                         tmp_path / "out.json").out


TOKENIZERS = Path(__file__).resolve().parents[2] / "shared" / "bench" / "tokenizers"


@pytest.mark.skipif(not (TOKENIZERS / "o200k_base.tiktoken").is_file(), reason="no offline tokenizer files")
def test_usage_and_compact_count_the_same_list_alike_with_exact_counts(ws, cli, tmp_path, monkeypatch):
    """With --exact both count with tiktoken, and still alike: the same strings, joined the same way."""
    pytest.importorskip("tiktoken")
    monkeypatch.setenv("TETHER_TIKTOKEN_DIR", str(TOKENIZERS))
    openai = openai_list(big_output(3000))
    request = anthropic_request([{"type": "text", "text": big_output(40)}])
    for name, text in {"big.json": json.dumps(openai), "request.json": json.dumps(request)}.items():
        src = tmp_path / name
        src.write_text(text, encoding="utf-8")
        usage = cli("usage", src, "--exact", "--json").json()
        report = cli("compact", src, "--exact", "-o", tmp_path / "out.json", "--json").json()["report"]
        assert usage["method"] == report["state"]["method"] == "tiktoken:o200k_base", name
        assert usage["tokens"] == report["state"]["tokens"], name
        estimated = cli("usage", src, "--json").json()["tokens"]
        assert usage["tokens"] != estimated, name  # counted otherwise, not the estimate relabelled


def test_compact_judges_the_state_by_the_context_settings_usage_reads(ws, cli, tmp_path):
    """`[context]` windows and thresholds in tether.toml: `tether compact` (and Compactor.state) judge the
    list's state by them, as `tether usage` does, and so apply the tiers the user's settings call for."""
    from tether import Workspace
    from tether.compaction.messages import parse

    src = tmp_path / "list.json"
    src.write_text(json.dumps({"model": "gpt-4o", "messages": openai_list(big_output(50))}), encoding="utf-8")

    def both():
        usage = cli("usage", src, "--model", "gpt-4o", "--json").json()
        report = cli("compact", src, "-o", tmp_path / "out.json", "--json").json()["report"]
        state = Compactor(Workspace.open(str(ws.root_dir))).state(parse(src.read_bytes()))
        assert report["state"]["window"] == state["window"] == usage["window"]
        assert report["state"]["state"] == state["state"] == usage["state"], (usage, report["state"])
        return usage, report

    usage, report = both()  # the built-in table and the seed's thresholds
    assert usage["window"] == 128_000 and usage["state"] == "GREEN" and report["tiers"] == []
    tokens = report["state"]["tokens"]
    config = ws.dir / "tether.toml"
    text = config.read_text()
    window = tokens * 3  # a third full: YELLOW by the seed's thresholds
    config.write_text(text.replace("[context]\n", f'[context]\nwindows = {{ "gpt-4o" = {window} }}\n'))
    usage, report = both()
    assert usage["window"] == window and usage["window_source"] == "config" and usage["state"] == "YELLOW"
    assert report["tiers"] == [] and report["state"]["window_source"] == "config"
    config.write_text(text.replace("[context]\n", f'[context]\nwindows = {{ "gpt-4o" = {window} }}\n'
                                                  "thresholds = { YELLOW = 10, ORANGE = 20, RED = 90, CRITICAL = 95 }\n"))
    usage, report = both()  # a third full is ORANGE by the user's thresholds: tiers 1 and 2
    assert usage["state"] == "ORANGE" and [t["tier"] for t in report["tiers"]] == [1, 2]


def test_the_garbage_collector_is_paused_during_a_compaction_and_back_as_it_was_after(ws):
    # Paused for speed (a list of megabytes makes millions of objects); a caller's collector must
    # come back as it was, after an error too, and one left off by the caller stays off.
    import gc

    from tether.compaction import messages as msgs
    from tether.errors import InvalidInput

    messages = openai_list(big_output())
    seen = []

    def summariser(older):
        seen.append(gc.isenabled())
        return "The summary."

    from tether.compaction import summary as summary_module

    extracting = []
    extract = summary_module.extract
    was = gc.isenabled()
    try:
        summary_module.extract = lambda *a, **k: extracting.append(gc.isenabled()) or extract(*a, **k)
        gc.enable()
        compact(messages, tiers=[1, 3], workspace=ws, threshold=1000, keep_recent=2, summariser=summariser)
        assert extracting == [False]  # tether's own work: paused
        assert seen == [True] and gc.isenabled()  # the user's summariser runs with it, as it would elsewhere
        with pytest.raises(InvalidInput):
            compact(messages, tiers=[4], workspace=ws)
        assert gc.isenabled()
        msgs.parse(json.dumps(messages).encode())
        assert gc.isenabled()
        with msgs.collector_paused():
            with msgs.collector_paused():
                assert not gc.isenabled()
            assert not gc.isenabled()  # the outer pause still holds it
        assert gc.isenabled()
        with msgs.collector_paused():
            assert not gc.isenabled()
            with msgs.collector_running():
                assert gc.isenabled()
            assert not gc.isenabled()
        gc.disable()
        compact(messages, tiers=[1, 3], workspace=ws, threshold=1000, keep_recent=2, summariser=summariser)
        assert seen[-1] is False and not gc.isenabled()  # left off by the caller: off throughout
    finally:
        summary_module.extract = extract
        (gc.enable if was else gc.disable)()


def test_a_lone_surrogate_in_a_list_is_compacted_and_written_back_as_its_escape(ws, cli, tmp_path):
    # JSON's "\ud800" (an agent cut a string between the halves of an emoji) reads as a lone
    # surrogate, which UTF-8 cannot hold: writing the list, its archive, tier 3's checkpoint or
    # the summariser's input failed with an internal error (exit 70) after the tiers had run.
    ws.start_task("Parser", steps=["a", "b"], task_id="T1")  # tier 3 checkpoints it, quoting the last reply
    messages = openai_list(big_output(extra="cut \ud83d here\n"))
    messages[4]["content"] = "We decided to keep the loader \udc00 as it is."
    script = tmp_path / "summarise.py"
    script.write_text("import json, sys\nmessages = json.load(sys.stdin)\nprint(ascii(messages[-1]['content']))\n",
                      encoding="utf-8")
    toml = ws.dir / "tether.toml"
    toml.write_text(toml.read_text(encoding="utf-8") + f'\n[compaction]\nsummariser = "{sys.executable} {script}"\n',
                    encoding="utf-8")
    src, out = tmp_path / "in.json", tmp_path / "out.json"
    src.write_text(json.dumps(messages), encoding="utf-8")  # ASCII, the surrogates escaped
    run = cli("compact", src, "--tier", "1,3", "--threshold", "1000", "--keep", "2", "-o", out, "--json")
    assert run.code == 0, run.out + run.err
    tiers = run.json()["report"]["tiers"]
    written = json.loads(out.read_bytes().decode("utf-8"))  # valid UTF-8 JSON
    assert written[-2:] == messages[-2:]
    assert "'We decided to keep the loader \\udc00 as it is.'" in written[1]["content"]  # the summariser's input
    assert json.loads(cli("show", tiers[1]["archive"]).out) == messages  # the archive reads back as it was
    # the offloaded result's bytes: its text as Python holds it (surrogatepass), as every stored text
    offloaded = Compactor(ws).show(tiers[0]["offloaded"][0]["ref"])
    assert offloaded.decode("utf-8", "surrogatepass") == messages[3]["content"]
    # the checkpoint's state is a plain line of UTF-8: the lone surrogate as U+FFFD
    assert ws.latest_checkpoint().current_state == "We decided to keep the loader \ufffd as it is."
    jsonl = tmp_path / "in.jsonl"
    jsonl.write_text("".join(json.dumps(m) + "\n" for m in messages), encoding="utf-8")
    again = cli("compact", jsonl, "--tier", "1", "--threshold", "1000", "-o", tmp_path / "out.jsonl")
    assert again.code == 0, again.err
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    assert rows[4] == messages[4]


def test_the_state_is_read_from_what_compact_takes(ws):
    # Compactor.state took only a parsed Document: given the list compact() takes, it failed with an
    # AttributeError from inside tether.
    messages = openai_list(big_output())
    compactor = Compactor(ws)
    state = compactor.state(messages)
    assert state == compactor.compact(messages, tiers=[1], record=False).report["state"]
    assert compactor.state({"model": "gpt-4o", "messages": messages})["window_source"] == "table"
    assert compactor.state(json.dumps(messages).encode())["tokens"] == state["tokens"]
    from tether.errors import InvalidInput

    with pytest.raises(InvalidInput):
        compactor.state({"not": "a list"})


def test_compact_json_on_stdout_escapes_a_lone_surrogate(ws, tether_proc, tmp_path):
    # The list on stdout under --json: printing it raised UnicodeEncodeError with a traceback.
    messages = openai_list(big_output())
    messages[1]["content"] = "Fix the crash \ud83d in src/app.py"
    src = tmp_path / "in.json"
    src.write_text(json.dumps(messages), encoding="utf-8")
    run = tether_proc("compact", src, "--tier", "1", "--threshold", "1000", "--json", cwd=ws.root)
    assert run.code == 0, run.err
    data = json.loads(run.out)
    assert data["ok"] is True and data["messages"][1] == messages[1]


def test_what_tier3_writes_while_it_summarises_is_on_disk_before_the_report_and_its_errors_are_the_compactions(
        ws, monkeypatch):
    # Tier 3 writes the archive and the offloads in a thread while it makes the summary: the report
    # names files that are there, a failed write fails the compaction, and a compaction failing
    # meanwhile leaves no thread behind.
    import threading

    from tether.compaction import summary as summary_module

    messages = openai_list(big_output())
    new, report = compact(messages, tiers=[1, 3], workspace=ws, threshold=1000, keep_recent=2)
    for tier in report["tiers"]:
        for ref in [tier.get("archive")] + [item["ref"] for item in tier.get("offloaded", [])]:
            if ref:
                assert Compactor(ws).show(ref)
    threads = threading.active_count()

    def refuse(items):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ws.store, "put_cached_many", refuse)
    with pytest.raises(OSError, match="No space left"):
        compact(openai_list(big_output(extra="other ")), tiers=[3], workspace=ws, keep_recent=2)
    assert threading.active_count() == threads
    monkeypatch.undo()

    def broken(*args, **kwargs):
        raise RuntimeError("extraction failed")

    monkeypatch.setattr(summary_module, "extract", broken)
    with pytest.raises(RuntimeError, match="extraction failed"):
        compact(openai_list(big_output(extra="third ")), tiers=[3], workspace=ws, keep_recent=2)
    assert threading.active_count() == threads


def test_a_summary_fitted_to_a_limit_gives_up_files_and_decisions_before_the_state():
    # The session after a compaction gets tether's summary in a few thousand characters: a long
    # list of files must not push out where the work stood (it was cut mid-word at the end).
    from tether.compaction.summary import fitted, render

    state = "Halfway through the migration: users table done, orders next; run make test after each."
    sections = {"objective": "Migrate the database to Postgres", "task": None,
                "decisions": [f"We decided thing number {i} for a reason that takes some words" for i in range(10)],
                "files_modified": [f"src/package/module_{i:02d}/with/a/deep/path.py" for i in range(40)],
                "files_read": [f"docs/chapter_{i}.md" for i in range(20)],
                "open_items": ["- [ ] orders table", "- [ ] drop the old engine"], "state": state}
    text = render(sections, archive="conversations/abc123def456")
    assert len(text) > 3000
    out = fitted(text, 3000, "`tether show conversations/abc123def456` has all of it")
    assert len(out) <= 3000
    assert state in out and "## Current state" in out and "## Open items and next steps" in out
    assert "more lines: `tether show conversations/abc123def456` has all of it" in out
    assert "module_00" in out and "module_39" not in out  # the files list lost its end, not its start
    assert fitted("## Objective\nshort\n", 3000, "x") == "## Objective\nshort\n"
    huge = render(dict(sections, state="word " * 2000), archive="conversations/abc123def456")
    cut = fitted(huge, 3000, "`tether show X` has all of it")
    assert len(cut) <= 3000 and cut.endswith("[cut here: `tether show X` has all of it]")


def test_a_compaction_refused_by_a_corrupt_task_file_stores_nothing(ws, cli, tmp_path):
    # Tier 3 writes its archive in a thread while it makes the summary: a task file that does not
    # read refused the compaction after the archive was written, a cached file no log names
    # (a cache-orphan to `tether audit`).
    ws.start_task("Parser", steps=["a", "b"], task_id="T1")
    task = ws.dir / "tasks" / "T1" / "task.md"
    good = task.read_text(encoding="utf-8")
    task.write_text(good.replace('units: ["a", "b"]', 'units: ["a", '), encoding="utf-8")
    src = tmp_path / "in.json"
    src.write_text(json.dumps(openai_list("short")), encoding="utf-8")
    for extra in ((), ("--summary-file", "-")):
        run = cli("compact", src, "--tier", "3", "--keep", "2", *extra, "--json", input="A summary.")
        assert run.code != 0 and "task.md:" in run.json()["error"], run.err
        assert [p.name for p in (ws.dir / "cache").rglob("*") if p.is_file()] == []
        assert not (ws.dir / "memory" / "compactions.jsonl").exists()
    task.write_text(good, encoding="utf-8")
    assert cli("compact", src, "--tier", "3", "--keep", "2").code == 0
    assert "cache-orphan" not in cli("audit").out


def test_a_long_given_summary_fitted_to_a_limit_keeps_the_resume_point_the_pins_and_the_archive():
    # A body (`--summary-file`, a summariser) has none of the sections given up first: the cut
    # at the end took tether's resume point, the pins and the archive's name with it.
    from tether.compaction.summary import fitted, render

    resume = "Resuming Port the parser (T1) from item 3 of 9. Next: item 3: tokenizer tests"
    task = {"id": "T1", "title": "Port the parser", "resume": resume}
    body = "\n".join(f"Paragraph {i}: what the user's summary says, é ü 漢字." for i in range(300))
    text = render({"task": task}, archive="conversations/abc123def456", pins=[{"text": "Never touch migrations"}],
                  body=body)
    out = fitted(text, 3000, "`tether show X` has all of it")
    assert len(out) <= 3000 and out.startswith("[tether] Summary") and "Paragraph 0:" in out
    assert "Paragraph 299" not in out and "[cut here: `tether show X` has all of it]" in out
    assert resume in out and "- Never touch migrations" in out
    assert out.rstrip().endswith("`tether show conversations/abc123def456`.")


def test_a_fitted_summary_gives_back_the_room_a_long_line_left():
    # Taking out a long objective or task definition frees more room than was needed: what was
    # taken out of the sections before it comes back, as much as fits (it ended 800 short).
    from tether.compaction.summary import fitted, render

    task = {"id": "T001", "title": "Migrate", "definition": "Definition " * 130, "remaining": [],
            "decisions": [], "resume": "T001 step 3 of 9: the orders table"}
    sections = {"objective": "Objective " * 140, "task": task,
                "decisions": [f"We decided point {i} after weighing it" for i in range(10)],
                "files_modified": [f"src/module_{i:02d}.py" for i in range(40)], "files_read": [],
                "open_items": ["- [ ] orders"], "state": "Halfway through the orders table."}
    out = fitted(render(sections, archive="conversations/abc"), 3000, "`tether show conversations/abc`")
    assert len(out) <= 3000 and len(out) > 2700
    assert "Halfway through the orders table." in out and "T001 step 3 of 9" in out
    assert "We decided point 0" in out and "src/module_00.py" in out
