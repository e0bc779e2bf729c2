"""Compaction in three tiers, over the real Claude Code transcripts in ../shared/bench/transcripts.

    .venv/bin/python bench/bench_compaction.py              # everything
    .venv/bin/python bench/bench_compaction.py --mb 20      # a smaller throughput corpus

Each Claude Code session (main chain; subagent files are sessions of their own) is turned into
the Anthropic message list its API calls sent, in memory: the user and assistant lines in
order, consecutive lines of one role merged into one message (Claude Code writes one content
block a line). Nothing is written outside a temporary repository, deleted at the end.

(a) tiers: tokens before and after each tier alone and all three, per session and in total,
    at the default tier 1 threshold (15,000 tokens) and at 2,000 (these samples hold few
    results over 15,000 tokens).
(b) recovery: every piece a tier took out, read back with Compactor.show, compared with the
    original bytes; a piece with redactions is compared with the original less its redacted
    spans. The share of removed bytes recovered byte-exact is printed, and the redactions.
(c) throughput: MB/s of reading the list and of each tier and combination (input JSON size / wall
    time, in process, the parse included) on a corpus made by repeating the sessions (each copy
    made distinct), redaction on and off, against the issue's target; --repeat N runs each row N
    times round-robin and prints the range and median.
(e) save_before_compaction (the PreCompact facade) over each real Claude Code session file, then
    over one transcript made by repeating them (each copy distinct) to --precompact-mb MB
    (default 10), twice (the second run stores nothing new), and the peak memory of a separate
    process that runs it at 10 MB and at --precompact-big-mb MB (default 200).
(d) redaction: a generated corpus of real-looking secrets (the providers' formats, random
    values) and of look-alikes that are not secrets (hashes, ids, placeholders, variables
    named like secrets); found and false positives, tether's plugin set against all of
    detect-secrets' default plugins.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import string
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared" / "bench"
TRANSCRIPTS = SHARED / "transcripts" / "claude-code"
CODEX_ROLLOUTS = SHARED / "transcripts" / "codex"

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from tether.compaction import Compactor  # noqa: E402
from tether.compaction import messages as msgs  # noqa: E402
from tether.compaction import redact as redact_module  # noqa: E402
from tether.compaction.redact import Redactor, apply  # noqa: E402
from tether.transcripts import tokens as token_counts  # noqa: E402


# -- the sessions as message lists ---------------------------------------------------------------

def sessions() -> dict:
    out = {}
    for path in sorted(TRANSCRIPTS.rglob("*.jsonl")):
        if "hook_logs" in path.name:
            continue  # hook inputs, not a transcript
        listed = to_messages(path)
        if len(listed) >= 2:
            out[str(path.relative_to(TRANSCRIPTS))] = listed
    return out


def to_messages(path: Path) -> list:
    messages: list = []
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            try:
                row = json.loads(line)
            except ValueError:
                continue
            if not isinstance(row, dict) or row.get("type") not in ("user", "assistant"):
                continue
            if row.get("isSidechain") and "subagents" not in str(path) and "sidechain" not in path.name:
                continue
            message = row.get("message")
            if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
                continue
            content = message.get("content")
            blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
            if not isinstance(blocks, list):
                continue
            if messages and messages[-1]["role"] == message["role"]:
                messages[-1]["content"].extend(blocks)
            else:
                messages.append({"role": message["role"], "content": list(blocks)})
    return messages


def workspace(root: Path):
    from tether import Workspace

    subprocess.run(["git", "init", "-q", str(root)], check=True)
    ws, _ = Workspace.init(root)
    return ws


def tokens(compactor, listed) -> int:
    return compactor.tokens(msgs.Document(listed))


# -- (a) and (b) -------------------------------------------------------------------------------

def tiers_and_recovery(ws, corpus: dict) -> None:
    print("(a) tokens before and after each tier (estimate), per session; (b) recovery via show")
    for threshold in (15_000, 2_000):
        compactor = Compactor(ws, threshold=threshold)
        print(f"\n  tier 1 threshold {threshold:,} tokens, tier 2 limit 2,000, tier 3 keeps the last 4 messages")
        print(f"  {'session':58} {'before':>9} {'tier 1':>9} {'tier 2':>9} {'tier 3':>9} {'1+2+3':>9}")
        totals = [0] * 5
        removed = exact = redacted_pieces = redactions = pieces = 0
        for name, listed in corpus.items():
            row = [tokens(compactor, listed)]
            for tiers in ([1], [2], [3], [1, 2, 3]):
                done = compactor.compact(listed, tiers, record=False)
                row.append(done.report["tokens_after"])
                for tier in done.report["tiers"]:
                    for item in tier.get("offloaded", ()):
                        original = original_of(listed, item)
                        stored = compactor.show(item["ref"])
                        pieces += 1
                        removed += len(original)
                        if item["redactions"]:
                            redacted_pieces += 1
                            redactions += item["redactions"]
                            text = original.decode("utf-8")
                            if stored == apply(text, Redactor().find(text)).encode("utf-8"):
                                exact += len(original)
                        elif stored == original:
                            exact += len(original)
                    if tier.get("archive"):
                        stored = compactor.show(tier["archive"])
                        pieces += 1
                        original = json.dumps(listed, ensure_ascii=False, indent=1).encode("utf-8") + b"\n"
                        removed += len(original)
                        if tier["archive_redactions"]:
                            redacted_pieces += 1
                            redactions += tier["archive_redactions"]
                            if json.loads(stored) == redacted_copy(listed):
                                exact += len(original)
                        elif stored == original:
                            exact += len(original)
            totals = [a + b for a, b in zip(totals, row)]
            print(f"  {name[:58]:58} " + " ".join(f"{v:>9,}" for v in row))
        print(f"  {'total':58} " + " ".join(f"{v:>9,}" for v in totals))
        print(f"  after/before: " + "  ".join(f"tier {t} {a / totals[0]:.2f}" for t, a in zip(("1", "2", "3", "1+2+3"), totals[1:])))
        share = 100.0 * exact / removed if removed else 100.0
        print(f"  (b) {pieces} pieces taken out ({removed:,} bytes); recovered byte-exact: {share:.1f}%"
              f" ({redacted_pieces} pieces with {redactions} redactions, compared with the original less those spans)")


def original_of(listed: list, item: dict) -> bytes:
    msg = listed[item["message"]]
    if item["kind"] == "tool_result":
        for part in msg["content"]:
            if isinstance(part, dict) and part.get("type") == "tool_result" and part.get("tool_use_id") == item["tool_use_id"]:
                content = part.get("content")
                if isinstance(content, str):
                    return content.encode("utf-8")
                if len(content) == 1 and content[0].get("type") == "text" and len(content[0]) == 2:
                    return content[0]["text"].encode("utf-8")
                return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    for part in msg["content"]:
        if isinstance(part, dict) and part.get("type") == "tool_use" and part.get("id") == item["tool_use_id"]:
            value = part["input"]
            for key in item["key"].replace("]", "").replace("[", ".").split("."):
                value = value[int(key)] if isinstance(value, list) else value[key]
            return value.encode("utf-8")
    raise KeyError(item)


def redacted_copy(value, redactor=[]):
    if not redactor:
        redactor.append(Redactor())
    if isinstance(value, str):
        return redactor[0].redact(value)[0]
    if isinstance(value, dict):
        return {k: redacted_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redacted_copy(v) for v in value]
    return value


# -- (c) ---------------------------------------------------------------------------------------

def throughput(ws, corpus: dict, megabytes: int, repeat: int = 1) -> None:
    base = [m for listed in corpus.values() for m in listed]
    size = len(json.dumps(base, ensure_ascii=False).encode("utf-8"))
    copies = max(1, megabytes * 1_000_000 // size)
    big = []
    for n in range(copies):  # each copy distinct, so every offload writes a new file
        for m in base:
            big.append(json.loads(json.dumps(m).replace("\\n", f"\\n[{n}] ", 1)))
    data = json.dumps(big, ensure_ascii=False).encode("utf-8")
    mb = len(data) / 1e6
    print(f"\n(c) throughput on {mb:.1f} MB ({copies} copies of the {len(corpus)} sessions, {len(big):,} messages),"
          f" in process, tier 1 threshold 2,000; MB/s over {repeat} run(s) each, round-robin (min-max, median)")
    print("  the token estimate counted in " + ("C (tether.transcripts._counts)" if token_counts._native is not None
                                                else "Python (its C extension was not built)")
          + "; the redaction's text joined in " + ("C (tether.compaction._utf8)" if redact_module._utf8 is not None
                                                   else "Python (its C extension was not built)"))
    rows = [("read (parse only)", None), ("tier 1", [1]), ("tier 2", [2]), ("tier 3", [3]), ("tiers 1+2", [1, 2]),
            ("tiers 1+2+3", [1, 2, 3])]
    Compactor(ws, redact=True)._redactor_or_none()  # detect-secrets imported once, before any timing
    speeds: dict = {}
    for _ in range(repeat):
        for label, tiers in rows:
            for redact in ((True, False) if tiers else (None,)):
                compactor = Compactor(ws, threshold=2_000, redact=bool(redact))
                start = time.perf_counter()
                doc = msgs.parse(data)
                if tiers:
                    compactor.compact(doc, tiers, record=False)
                seconds = time.perf_counter() - start
                speeds.setdefault((label, redact), []).append(mb / seconds)
    # Every file new: a workspace of its own for each run (made untimed), so each offload and the
    # archive is written and flushed; above, the repeats find most files already there.
    for _ in range(repeat):
        for redact in (True, False):
            with tempfile.TemporaryDirectory(dir=ws.root) as fresh:
                compactor = Compactor(workspace(Path(fresh)), threshold=2_000, redact=redact)
                start = time.perf_counter()
                compactor.compact(msgs.parse(data), [1, 2, 3], record=False)
                seconds = time.perf_counter() - start
            speeds.setdefault(("tiers 1+2+3, every file new", redact), []).append(mb / seconds)
    rows.append(("tiers 1+2+3, every file new", [1, 2, 3]))
    print(f"  {'what':22} {'redaction on':>22} {'redaction off':>22} {'target':>8}")
    for label, tiers in rows:
        cells = [_speed(speeds[(label, r)]) for r in ((True, False) if tiers else (None,))]
        if not tiers:
            cells = [cells[0], ""]
        print(f"  {label:22} {cells[0]:>22} {cells[1]:>22} {'>= 50':>8}")


def _speed(values: list) -> str:
    values = sorted(values)
    median = values[len(values) // 2]
    return f"{values[0]:.1f}-{values[-1]:.1f} ({median:.1f})" if len(values) > 1 else f"{median:.1f}"


# -- (d) ---------------------------------------------------------------------------------------

def jwt(subject: str, issued: str) -> str:
    import base64

    def part(obj) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    return part({"alg": "HS256", "typ": "JWT"}) + "." + part({"sub": subject, "iat": int(issued)})


def secret_corpus(rng: random.Random) -> tuple[list, list]:
    def pick(chars, n):
        return "".join(rng.choice(chars) for _ in range(n))

    up, low, dig = string.ascii_uppercase, string.ascii_lowercase, string.digits
    alnum = up + low + dig
    secrets = []  # (the line, the secret in it)
    for _ in range(20):
        aws, ghp, glpat = f"{rng.choice(['AKIA', 'ASIA'])}{pick(up + dig, 16)}", f"ghp_{pick(alnum, 36)}", f"glpat-{pick(alnum, 20)}"
        slack = f"xoxb-{pick(dig, 12)}-{pick(dig, 12)}-{pick(low + dig, 24)}"
        stripe, stripe_long = f"sk_live_{pick(alnum, 24)}", f"sk_live_{pick(alnum, 99)}"  # the pattern's length; today's
        openai, sendgrid = f"sk-{pick(alnum, 20)}T3BlbkFJ{pick(alnum, 20)}", f"SG.{pick(alnum, 22)}.{pick(alnum, 43)}"
        token = f"{jwt(pick(low, 8), pick(dig, 10))}.{pick(alnum, 43)}"
        key = f"{pick(alnum + '+/', 64)}\n{pick(alnum + '+/', 64)}"
        password, url_password, npm = f"{pick(alnum, 14)}!", pick(alnum, 16), f"npm_{pick(alnum, 36)}"
        pat = f"github_pat_{pick(alnum, 22)}_{pick(alnum, 59)}"
        anthropic = f"sk-ant-api03-{pick(alnum + '-_', 93)}AA"
        google, hugging = f"AIza{pick(alnum + '-_', 35)}", f"hf_{pick(alnum, 34)}"
        secrets += [
            (f"export AWS_ACCESS_KEY_ID={aws}", aws),
            (f"GITHUB_TOKEN={ghp}", ghp),
            (f"gitlab: {glpat}", glpat),
            (f"SLACK_BOT_TOKEN={slack}", slack),
            (f"stripe.api_key = '{stripe}'", stripe),
            (f"OPENAI_API_KEY={openai}", openai),
            (f"SENDGRID={sendgrid}", sendgrid),
            (f"Authorization: Bearer {token}", token),
            (f"-----BEGIN RSA PRIVATE KEY-----\n{key}\n-----END RSA PRIVATE KEY-----", key),
            (f'db_password = "{password}"', password),
            (f"DATABASE_URL=postgres://admin:{url_password}@db.example.com:5432/app", url_password),
            (f"//registry.npmjs.org/:_authToken={npm}", npm),
            # passed to a call (detect-secrets skips such a line whole), longer than the pattern, or of
            # a format detect-secrets does not know (tether's own detectors)
            (f"client = Github('{ghp}')", ghp),
            (f"s3 = boto3.client('s3', aws_access_key_id='{aws}')", aws),
            (f"stripe live key: {stripe_long}", stripe_long),
            (f"export GITHUB_PAT={pat}", pat),
            (f"ANTHROPIC_API_KEY={anthropic}", anthropic),
            (f"maps = googlemaps.Client(key='{google}')", google),
            (f"login(token='{hugging}')", hugging),
        ]
    lookalikes = []
    for _ in range(20):
        lookalikes += [
            f"commit {pick('0123456789abcdef', 40)}",
            f"sha256:{pick('0123456789abcdef', 64)}",
            f"request id {pick('0123456789abcdef', 8)}-{pick('0123456789abcdef', 4)}-4{pick('0123456789abcdef', 3)}-a{pick('0123456789abcdef', 3)}-{pick('0123456789abcdef', 12)}",
            f"data:image/png;base64,{pick(alnum + '+/', 80)}",
            "password = os.environ['DB_PASSWORD']",
            "token = get_token(session)",
            "AWS keys start with AKIA; GitHub tokens with ghp_",
            "api_key = '<your-api-key-here>'",
            f"def test_secret_rotation_{pick(low, 8)}(): pass",
            f"the offloaded result is at offloaded/{pick('0123456789abcdef', 12)}",
            f"serverAddress = 203.0.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
            f"const veryLongIdentifierName{pick(up, 1)}{pick(low, 20)} = computeTheThing()",
            # quoted, as JSON tool output holds them: what the entropy detectors flag
            f'{{"sha": "{pick("0123456789abcdef", 40)}", "tree": "{pick("0123456789abcdef", 40)}"}}',
            f'"integrity": "sha512-{pick(alnum + "+/", 86)}=="',
            "GITHUB_PAT=github_pat_XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
            f"from huggingface_hub import hf_hub_download_{pick(low, 30)}",
        ]
    return secrets, lookalikes


def redaction(seed: int) -> None:
    pairs, lookalikes = secret_corpus(random.Random(seed))
    secrets = [line for line, _ in pairs]
    print(f"\n(d) redaction: {len(secrets)} real-looking secrets ({len(secrets) // 20} formats and placings),"
          f" {len(lookalikes)} look-alikes ({len(lookalikes) // 20} kinds)")
    print(f"  {'detectors':48} {'found':>10} {'cut whole':>10} {'false positives':>16}")
    for label, redactor in (("tether (detect-secrets less entropy and IP)", Redactor()),
                            ("all of detect-secrets' default plugins", Redactor(skipped=()))):
        found = sum(1 for s in secrets if redactor.find(s).count)
        # cut whole: nothing of the secret is left, not even a piece of 8 characters past what a pattern matched
        whole = sum(1 for line, value in pairs
                    if not any(value[i:i + 8] in redactor.redact(line)[0] for i in range(0, len(value) - 7)))
        false = sum(1 for s in lookalikes if redactor.find(s).count)
        print(f"  {label:48} {found:>4}/{len(secrets):<5} {whole:>4}/{len(secrets):<5} {false:>8}/{len(lookalikes):<7}")
    missed = sorted({s.split('=')[0].split(':')[0][:30] for s in secrets if not Redactor().find(s).count})
    if missed:
        print(f"  missed by tether's set: {', '.join(missed)}")
    text = "\n".join(secrets + lookalikes)
    same = Redactor().find(text).spans == Redactor(prefilter=False).find(text).spans
    print(f"  the pre-filter finds exactly what detect-secrets finds given every line: {same}")
    out = Redactor().redact(text)[0]
    kept = all(line in out for line in lookalikes if not Redactor().find(line).count)
    print(f"  look-alikes not flagged kept byte-exact in the redacted text: {kept}")


# -- (e) ---------------------------------------------------------------------------------------

def precompact(ws, megabytes: int, big_megabytes: int) -> None:
    from tether.compaction import save_before_compaction

    print("\n(e) save_before_compaction over the Claude Code and Codex transcripts (tier 1 threshold 2,000 tokens)")
    print(f"  {'transcript':58} {'MB':>6} {'seconds':>8} {'MB/s':>7} {'tokens before':>13} {'after':>9} {'offloaded':>9}")
    files = [p for p in sorted(TRANSCRIPTS.rglob("*.jsonl")) if "hook_logs" not in p.name]
    rollouts = sorted(CODEX_ROLLOUTS.glob("*.jsonl")) if CODEX_ROLLOUTS.is_dir() else []
    for path in files + rollouts:
        size = path.stat().st_size / 1e6
        start = time.perf_counter()
        report = save_before_compaction(ws, path, threshold=2_000)
        seconds = time.perf_counter() - start
        name = str(path.relative_to(TRANSCRIPTS)) if path in files else "codex: " + path.name
        print(f"  {name[:58]:58} {size:>6.2f} {seconds:>8.2f} {size / seconds:>7.1f}"
              f" {report['tokens_before']:>13,} {report['tokens_after']:>9,} {len(report['offloaded']):>9}")
    big = Path(ws.root) / "big.jsonl"
    make_transcript(files, big, megabytes)
    size = big.stat().st_size / 1e6
    for label in ("first run", "second run (idempotent)"):
        start = time.perf_counter()
        report = save_before_compaction(ws, big, threshold=2_000)
        seconds = time.perf_counter() - start
        print(f"  {'repeated, ' + label:58} {size:>6.2f} {seconds:>8.2f} {size / seconds:>7.1f}"
              f" {report['tokens_before']:>13,} {report['tokens_after']:>9,} {len(report['offloaded']):>9}"
              f"  stored new: {report['stored_new']}, redactions {report['redactions']}")
    print(f"  peak memory (VmHWM of a process that runs it once, Linux; 0 MB: the process without a run)")
    for mb in (0, 10, big_megabytes):
        print(f"  {mb:>5} MB: {peak_rss(files, mb, ws.root):>8.1f} MB")


def make_transcript(files: list, out: Path, megabytes: int) -> None:
    lines = [l for p in files for l in p.read_bytes().splitlines(keepends=True) if l.strip()]
    with open(out, "wb") as fh:
        written, n = 0, 0
        while written < megabytes * 1_000_000:
            for line in lines:  # each copy distinct, so every offload is a new file
                data = line.replace(b"\\n", f"\\n[{n}] ".encode(), 1)
                fh.write(data if data.endswith(b"\n") else data + b"\n")
                written += len(data)
            n += 1


def peak_rss(files: list, megabytes: int, root) -> float:
    code = ("import resource, sys; from pathlib import Path; sys.path.insert(0, %r); sys.path.insert(0, %r)\n"
            "import bench_compaction as b; from tether import Workspace\n"
            "from tether.compaction import save_before_compaction\n"
            "files = [Path(p) for p in sys.argv[2:]]; mb = int(sys.argv[1]); root = Path(%r)\n"
            "if mb:\n"
            "    big = root / f'rss-{mb}.jsonl'; b.make_transcript(files, big, mb)\n"
            "    save_before_compaction(Workspace.open(root), big, threshold=2_000); big.unlink()\n"
            "print([l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')][0])\n"
            % (str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1] / "src"), str(root)))
    out = subprocess.run([sys.executable, "-c", code, str(megabytes)] + [str(f) for f in files],
                         capture_output=True, text=True, check=True, cwd=root)
    return int(out.stdout.split()[-1]) / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mb", type=int, default=50, help="size of the throughput corpus (default 50 MB)")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--repeat", type=int, default=1, help="runs of each (c) row, round-robin (default 1)")
    parser.add_argument("--precompact-mb", type=int, default=10, help="size of the repeated transcript for (e)")
    parser.add_argument("--precompact-big-mb", type=int, default=200, help="size of the big transcript for (e)'s memory")
    parser.add_argument("--only", choices=("a", "c", "d", "e"), help="run one part")
    args = parser.parse_args()
    if not TRANSCRIPTS.is_dir():
        print(f"no transcripts at {TRANSCRIPTS}: nothing to measure")
        return 0
    corpus = sessions()
    root = Path(tempfile.mkdtemp(prefix="tether-bench-compaction-"))
    try:
        ws = workspace(root)
        if args.only in (None, "a"):
            tiers_and_recovery(ws, corpus)
        if args.only in (None, "c"):
            throughput(ws, corpus, args.mb, args.repeat)
        if args.only in (None, "d"):
            redaction(args.seed)
        if args.only in (None, "e"):
            precompact(ws, args.precompact_mb, args.precompact_big_mb)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
