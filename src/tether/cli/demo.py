"""`tether demo`: a whole session lifecycle in a throwaway repository.

It runs the real ``tether`` commands, as a user would type them, and shows
their output: init, a bulk task, checkpoints, a session killed mid-task, a
new Claude Code session briefed by tether's SessionStart hook (its commands
recording under Claude Code's session id), a PreCompact that finds nothing
new to checkpoint, the PostToolUse hook's automatic checkpoint after four tool
calls, close with a commit, boot at that SHA, and a multi-skill
workflow sharing one session context (seed 004) whose learnings the next boot
shows.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path


def _run(repo: Path, env: dict, *args: str, show: bool = True, check: bool = True) -> str:
    cmd = [sys.executable, "-m", "tether", *args]
    proc = subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True)
    if show:
        print("$ tether " + " ".join(_quote(a) for a in args))
        out = (proc.stdout + proc.stderr).rstrip()
        print(textwrap.indent(out, "  ") if out else "  (no output)")
        print()
    if check and proc.returncode not in (0, 3):
        raise SystemExit(f"demo step failed: tether {' '.join(args)} (exit {proc.returncode})")
    return proc.stdout


def _quote(arg: str) -> str:
    return f'"{arg}"' if (" " in arg or not arg) else arg


def _git(repo: Path, *args: str) -> str:
    from ..gitio import runner

    return runner.output(repo, *args)


CLAUDE_SESSION = "c45af7b1-cb7c-4e51-93db-8cbb250a877a"  # the id Claude Code gives a session


def _hook(repo: Path, env: dict, name: str, **fields) -> str:
    """Run the hook as Claude Code does: the event's JSON on stdin."""
    import json

    payload = {"session_id": CLAUDE_SESSION, "hook_event_name": name, "cwd": str(repo), **fields}
    shown = {k: v for k, v in payload.items() if k not in ("cwd", "transcript_path")}
    print(f"$ echo '{json.dumps(shown)}' | tether hook claude-code      (Claude Code runs this)")
    proc = subprocess.run([sys.executable, "-m", "tether", "hook", "claude-code"], input=json.dumps(payload),
                          cwd=repo, env=env, capture_output=True, text=True)
    out = proc.stdout
    if name == "SessionStart" and proc.returncode == 0:
        brief = json.loads(out)["hookSpecificOutput"]["additionalContext"].splitlines()
        out = "additionalContext (the brief Claude Code puts in the session):\n" + "\n".join(
            "  " + line for line in brief[:12]) + f"\n  ... ({len(brief) - 12} more lines)"
    text = (out + proc.stderr).rstrip()
    print(textwrap.indent(text, "  ") if text else "  (no output)")
    print()
    return proc.stdout


def _banner(text: str) -> None:
    print("=" * 78)
    print(text)
    print("=" * 78)


def run_demo(keep: bool = False) -> None:
    base = Path(tempfile.mkdtemp(prefix="tether-demo-"))
    repo = base / "doc-pipeline"
    repo.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TETHER_", "GIT_"))}
    env.update({"GIT_AUTHOR_NAME": "Demo User", "GIT_AUTHOR_EMAIL": "demo@example.invalid",
                "GIT_COMMITTER_NAME": "Demo User", "GIT_COMMITTER_EMAIL": "demo@example.invalid",
                "TETHER_DEVICE": "laptop"})
    try:
        _git(repo, "init", "-q", "-b", "main")
        (repo / "README.md").write_text("# doc-pipeline\nSummarise 20 documents into out/.\n")
        (repo / "docs").mkdir()
        (repo / "docs" / "architecture.md").write_text("# Architecture\nOne summary file per document.\n")
        _git(repo, "add", ".")
        _git(repo, "-c", "user.name=Demo User", "-c", "user.email=demo@example.invalid", "commit", "-q", "-m", "Initial commit")

        _banner("Session 1: set up, start a bulk task, checkpoint as work happens")
        s1 = {**env, "TETHER_SESSION_ID": "S-demo-1"}
        _run(repo, s1, "init")
        items = "\n".join(f"doc{n:02d}.pdf" for n in range(1, 21)) + "\n"
        (repo / "items.txt").write_text(items)
        _run(repo, s1, "task", "start", "Process 20 documents", "--id", "T004",
             "--definition", "Extract a one-paragraph summary of each document in docs/in/ into out/",
             "--criteria", "out/ has 20 summaries", "--items-file", "items.txt")
        _run(repo, s1, "note", "phase", "Phase 1: summarising the document set")
        _run(repo, s1, "note", "gotcha", "doc07.pdf is a scanned image: run OCR before summarising")
        _run(repo, s1, "note", "dont", "Do not re-summarise finished documents: resume from the checkpoint")
        _run(repo, s1, "decide", "Summary length?", "--decision", "One paragraph, at most 120 words",
             "--rationale", "Readers skim; longer summaries were ignored", "--who", "@frans")
        _run(repo, s1, "checkpoint", "--done", "1-5", "--state", "Docs 1-5 summarised",
             "--result", "summaries-1-5.md=Five summaries...", "--file", "out/doc01-05.md: summaries",
             "--next", "Summarise doc06.pdf")
        _run(repo, s1, "checkpoint", "--done", "6-10", "--state", "Docs 1-10 summarised",
             "--next", "Summarise doc11.pdf", show=False)
        print("$ tether checkpoint --done 6-10 ...   (CKP-0002, docs 1-10 complete)\n")

        _banner("Session 1 dies mid-task (context limit): its process is killed, nothing is closed")
        script = ("from tether import Workspace\n"
                  "ws = Workspace.open()\n"
                  "ckp = ws.checkpoint(done=['11-12'], state='Doc 13 partially processed',\n"
                  "                    key_data={'last_output': 'out/doc13.md'},\n"
                  "                    next_actions=['Complete doc13.pdf, then 14-20'])\n"
                  "print('  session 1 saved', ckp.id, '(docs 1-12 done), then:', flush=True)\n"
                  "import os, signal; os.kill(os.getpid(), signal.SIGKILL)\n")
        child = subprocess.run([sys.executable, "-c", script], cwd=repo, env=s1, capture_output=True, text=True)
        print(child.stdout.rstrip())
        print(f"  the session process was killed (exit {child.returncode}): no close, no summary.\n")

        _banner("Session 2: Claude Code starts a new session; tether's hooks brief it")
        _run(repo, env, "install", "claude-code", "--command", "tether hook claude-code", show=False)
        print("$ tether install claude-code   (hooks in .claude/settings.json, the agent's commands in CLAUDE.md)\n")
        env_file = base / "claude-env"  # Claude Code names this file; its commands start with it sourced
        hooks_env = {**env, "CLAUDE_ENV_FILE": str(env_file)}
        before = _git(repo, "status", "--porcelain")
        _hook(repo, hooks_env, "SessionStart", source="startup", transcript_path=str(base / "transcript.jsonl"))
        print(f"$ cat $CLAUDE_ENV_FILE   (sourced before each of the agent's commands)\n  {env_file.read_text().strip()}\n")
        s2 = {**env, "TETHER_SESSION_ID": CLAUDE_SESSION}
        _run(repo, s2, "resume")
        _run(repo, s2, "checkpoint", "--done", "13-16", "--state", "Docs 1-16 summarised", "--next", "Summarise doc17.pdf")
        _hook(repo, hooks_env, "PreCompact", trigger="auto")
        _hook(repo, hooks_env, "SessionStart", source="compact")
        after = _git(repo, "status", "--porcelain")
        print("$ git status --porcelain   (before the hooks ran, and after)")
        print("  " + ("unchanged: the hooks wrote only .tether/local/, which git ignores" if after == before
                      else "changed:\n" + textwrap.indent(after, "    ")) + "\n")
        print("The agent works on without checkpointing; Claude Code runs the PostToolUse hook after each tool call:\n")
        transcript = base / "transcript.jsonl"  # what Claude Code writes as the session goes
        import json

        transcript.write_text(json.dumps({"type": "assistant", "message": {"role": "assistant", "content": [
            {"type": "text", "text": "doc17 and doc18 summarised; doc19 next."}]}}) + "\n")
        for n, tool in enumerate(("Read", "Edit", "Read", "Edit"), 17):
            target = f"docs/doc{n}.pdf" if tool == "Read" else "out/summaries.md"
            _hook(repo, hooks_env, "PostToolUse", tool_name=tool, tool_input={"file_path": str(repo / target)},
                  transcript_path=str(transcript))
        _run(repo, s2, "resume")
        _run(repo, s2, "checkpoint", "--done", "17-20", "--status", "completed", "--state", "All 20 summarised")
        _run(repo, s2, "close", "--summary", "Summarised all 20 documents", "--completed", "T004",
             "--next", "Review summaries with @frans", "--commit")
        print("$ git log -1 --format='%h %s%n%n%(trailers)'")
        print(textwrap.indent(_git(repo, "log", "-1", "--format=%h %s%n%n%(trailers)").rstrip(), "  "), "\n")
        _run(repo, s2, "log", "--session", CLAUDE_SESSION)

        _banner("Session 3: boot at that commit, from git objects, budget 400 tokens")
        sha = _git(repo, "rev-parse", "HEAD").strip()
        _run(repo, s2, "boot", "--sha", sha[:12], "--budget", "400")
        _run(repo, s2, "index", "--check")
        _run(repo, s2, "verify")
        _campaign(repo, s2)
        print(f"Done. The demo repository was {repo}" + ("" if keep else " (removed)"))
    finally:
        if not keep:
            shutil.rmtree(base, ignore_errors=True)


ORACLE_RESULT = """\
skill_result:
  skill: product-oracle
  status: success
  context_updates:
    knowledge:
      product: {chains_supported: 28, yield_protocols: [Yearn, Tokemak, Yield.xyz]}
      protocol: {name: Yield.xyz, tvl: $50M, key_feature: Auto-compounding vaults}
    compute: {tokens_used: 2000}
  next_suggested: content-worker
"""
CONTENT_RESULT = """\
skill_result:
  skill: content-worker
  status: success
  outputs:
    artifacts: [{type: draft_x_post, path: drafts/x_post.md, status: pending_review}]
  context_updates:
    pending_decisions: [{question: Can we mention specific APY ranges?, context: Vaults show 5-15% APY}]
    knowledge:
      past_learnings: [Thread format outperforms single posts by 3x for integrations]
    compute: {tokens_used: 30000}
  next_suggested: brand-validator
"""


def _campaign(repo: Path, env: dict) -> None:
    _banner("Session 4: a multi-skill workflow shares one session context")
    print("A campaign runs several skills (a product oracle, a content writer, a brand validator) on one\n"
          "job. They share one session context: its scope, budget and knowledge are set once, and each\n"
          "skill's result is a YAML file that `tether ctx apply` merges into it. The first one applied:\n")
    print("$ cat results/oracle.yaml")
    print(textwrap.indent(ORACLE_RESULT.rstrip(), "  "), "\n")
    (repo / "results").mkdir()
    (repo / "results" / "oracle.yaml").write_text(ORACLE_RESULT)
    (repo / "results" / "content.yaml").write_text(CONTENT_RESULT)
    (repo / "drafts").mkdir()
    (repo / "drafts" / "x_post.md").write_text("Yield.xyz vaults are live: auto-compounding, cross-chain.\n")
    _run(repo, env, "ctx", "init", "--campaign", "YIELD-XYZ-001", "--owner", "@phil", "--tier", "2",
         "--description", "Generate Tier 2 content for Yield.xyz integration",
         "--objective", "Create announcement posts for X, Discord, Farcaster", "--objective", "Draft blog post outline",
         "--boundary", "Only channels: X, Discord, Farcaster, Blog", "--boundary", "No APY claims without verified source",
         "--out-of-scope", "Paid promotion (not this campaign)", "--max-skill-calls", "3", "--max-tokens", "100000")
    _run(repo, env, "ctx", "apply", "results/oracle.yaml")
    _run(repo, env, "ctx", "check-scope", "Also create a YouTube video script", check=False)
    _run(repo, env, "ctx", "check-scope", "Write the X announcement thread for the integration", check=False)
    _run(repo, env, "ctx", "for", "content-worker", "--budget", "200")
    print("$ cat results/content.yaml   (the content writer's result: a draft, and a question for the owner)")
    print(textwrap.indent(CONTENT_RESULT.rstrip(), "  "), "\n")
    _run(repo, env, "ctx", "apply", "results/content.yaml")
    _run(repo, env, "ctx", "check-budget", "--cost", "2", check=False)
    _run(repo, env, "ctx", "decide", "decision-000", "--decision", "No: say 'competitive yields'", "--by", "@phil",
         "--record-in", "brand_decisions")
    _run(repo, env, "ctx", "close", "--summary", "X post drafted and approved",
         "--learning", "Ask for approved APY language before drafting")
    print("$ tether boot   (the campaign's learnings, for every later session)")
    brief = _run(repo, env, "boot", show=False)
    start = brief.find("## Learnings")
    section = brief[start:].split("\n## ")[0] if start >= 0 else "(no learnings section)"
    print(textwrap.indent(section.rstrip(), "  "), "\n")
