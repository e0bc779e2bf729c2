"""`tether boot` and the SessionStart hook as whole processes, and the brief's size in tokens.

    .venv/bin/python bench/bench_boot.py            # big workspace (10k tasks, 100k checkpoints, 100k events)
    .venv/bin/python bench/bench_boot.py --small    # a tenth of it, for a quick run

Times `python -c pass` (the interpreter the `tether` script runs under), `tether boot` and
`tether hook claude-code` (SessionStart JSON on stdin) on an empty and a big workspace,
round-robin in one run so they share the machine's noise, and prints medians and ratios
against the issue's targets. Then counts the brief's tokens: tether's estimate
(tether.model.tokens.estimate) and real BPE counts (cl100k_base, o200k_base) from the offline
vocabularies in ../shared/bench/tokenizers. The estimate must never be below the real count,
or a `--budget` could be exceeded.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import make_workspace
from common import Cmd, env, header, interleaved, median_ms, print_times, run_once, tether_python, tether_script, verdict

# What boot ran before it compared only the files it read (kept as a reference figure).
GIT_STATUS = ["git", "status", "--porcelain=v1", "-z", "--untracked-files=all", "--no-renames", "--", ".tether"]
TOKENIZERS = Path(__file__).resolve().parents[2] / "shared" / "bench" / "tokenizers"


def hook_input(repo: Path, source: str = "startup") -> bytes:
    # The fields Claude Code sends on SessionStart (see its hooks reference).
    return json.dumps({"session_id": "bench-session", "transcript_path": str(repo / "transcript.jsonl"),
                       "cwd": str(repo), "hook_event_name": "SessionStart", "source": source}).encode()


def load_encodings() -> tuple[dict, str | None]:
    """cl100k_base and o200k_base built offline, with the constructor args of the installed tiktoken."""
    try:
        import tiktoken
        from tiktoken.load import load_tiktoken_bpe
        from tiktoken_ext import openai_public
    except ImportError:
        return {}, "tiktoken is not installed (pip install -e '.[bench]')"
    directory = Path(os.environ.get("TETHER_TOKENIZERS") or TOKENIZERS)

    def offline(url: str, expected_hash: str | None = None) -> dict:
        path = directory / url.rsplit("/", 1)[1]
        data = path.read_bytes()
        if expected_hash and hashlib.sha256(data).hexdigest() != expected_hash:
            raise ValueError(f"{path} does not match the hash tiktoken pins for it")
        saved = os.environ.get("TIKTOKEN_CACHE_DIR")
        os.environ["TIKTOKEN_CACHE_DIR"] = ""  # read the file itself; never write a cache copy
        try:
            return load_tiktoken_bpe(str(path))
        finally:
            if saved is None:
                del os.environ["TIKTOKEN_CACHE_DIR"]
            else:
                os.environ["TIKTOKEN_CACHE_DIR"] = saved

    encodings, missing = {}, []
    original = openai_public.load_tiktoken_bpe
    openai_public.load_tiktoken_bpe = offline  # the constructors stay tiktoken's own: pat_str, special tokens
    try:
        for name in ("cl100k_base", "o200k_base"):
            try:
                encodings[name] = tiktoken.Encoding(**openai_public.ENCODING_CONSTRUCTORS[name]())
            except FileNotFoundError:
                missing.append(name)
    finally:
        openai_public.load_tiktoken_bpe = original
    note = f"no {', '.join(missing)} vocabulary in {directory}" if missing else None
    return encodings, note


def token_report(briefs: dict[str, str]) -> bool:
    """Print estimate vs real counts; False when the estimate undercounts anywhere."""
    from tether.model.tokens import estimate

    encodings, note = load_encodings()
    names = list(encodings)
    print("\nBrief size in tokens (estimate = tether.model.tokens.estimate; ratio = estimate / real, must be >= 1.0)")
    if note:
        print(f"  real token counts skipped for: {note}")
    cols = "".join(f"  {n:>11}  {'ratio':>5}" for n in names)
    print(f"  {'brief':<26} {'chars':>6}  {'estimate':>8}{cols}")
    ok = True
    for label, text in briefs.items():
        est = estimate(text)
        row = f"  {label:<26} {len(text):6d}  {est:8d}"
        for name in names:
            real = len(encodings[name].encode(text, disallowed_special=()))
            ratio = est / real if real else float("inf")
            ok &= ratio >= 1.0
            row += f"  {real:11d}  {ratio:5.2f}" + ("" if ratio >= 1.0 else " <-- UNDERCOUNT")
        print(row)
    if names and not ok:
        print("\n  !!! tether's estimate is BELOW the real token count: a --budget can be exceeded. !!!")
    return ok


def budget_report(repo: Path, budgets: list[int]) -> None:
    """Does a brief under `--budget N` really stay within N tokens?"""
    encodings, _ = load_encodings()
    if not encodings:
        return
    print(f"\nBudget honoured? `tether boot --budget N` on the big workspace, real tokens per encoding")
    for budget in budgets:
        _, out = run_once(Cmd(f"boot --budget {budget}", [str(tether_script()), "boot", "--budget", str(budget)], repo),
                          env())
        text = out.decode()
        reals = {n: len(e.encode(text, disallowed_special=())) for n, e in encodings.items()}
        worst = max(reals.values())
        flag = "ok" if worst <= budget else "EXCEEDED"
        print(f"  budget {budget:5d}: " + ", ".join(f"{n} {r}" for n, r in reals.items()) + f"  {flag}")


def hyperfine_check(cmds: list[Cmd], runs: int) -> None:
    """A cross-check with hyperfine when it is installed (commands without stdin only)."""
    exe = shutil.which("hyperfine")
    if not exe:
        return
    print("\nhyperfine cross-check (each command's runs back to back, not interleaved):")
    for cmd in cmds:
        if cmd.stdin is not None or cmd.name.endswith("_cold"):  # hyperfine cannot drop the cache between runs
            continue
        out = Path(make_workspace.CACHE) / "hyperfine.json"
        subprocess.run([exe, "-N", "--warmup", "3", "--runs", str(runs), "--export-json", str(out),
                        " ".join(cmd.argv)], cwd=cmd.cwd, env=env(), capture_output=True, check=True)
        median = json.loads(out.read_text())["results"][0]["median"] * 1000
        print(f"  {cmd.name:<16} {median:7.1f} ms")


def drop_cache_if_cold(cmd: Cmd) -> None:
    if cmd.name.endswith("_cold"):
        (cmd.cwd / ".tether" / "local" / "boot.cache").unlink(missing_ok=True)


class CheckpointFirst:
    """Before each *_after_checkpoint run, a checkpoint of the workspace's active task (`tether
    checkpoint`, then a new session: /clear, a crash); before each *_after_compaction run, the
    PreCompact hook (it checkpoints the active task and makes boot's cache), as Claude Code runs
    it before the SessionStart that follows a compaction; before each *_after_commit run, a commit
    that changes none of tether's files (HEAD moves). Untimed, in this process."""

    def __init__(self) -> None:
        self.done = 0

    def __call__(self, cmd: Cmd) -> None:
        import io

        drop_cache_if_cold(cmd)
        if cmd.name.endswith("_after_checkpoint"):
            from tether.workspace import Workspace

            ws = Workspace(cmd.cwd)
            self.done += 1
            ws.checkpoint(ws.require_active(), done=[str(self.done)], state=f"checkpoint {self.done}")
        elif cmd.name.endswith("_after_compaction"):
            from tether.hooks.claude_code import handle

            event = {**json.loads(cmd.stdin), "hook_event_name": "PreCompact", "trigger": "auto"}
            if handle(io.StringIO(json.dumps(event)), io.StringIO(), io.StringIO()) != 0:
                raise SystemExit("the PreCompact hook failed")
        elif cmd.name.endswith("_after_commit"):  # a commit of code: HEAD moves, tether's files do not
            make_workspace.git(cmd.cwd, "commit", "-q", "--allow-empty", "--no-verify", "-m", "code")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", action="store_true", help="use the small workspace (quick run)")
    parser.add_argument("--runs", type=int, default=30, help="timed runs per command (default 30)")
    args = parser.parse_args()
    kind = "small" if args.small else "big"
    empty, big = make_workspace.ensure("empty"), make_workspace.ensure(kind)
    shape = make_workspace.info(big)["params"]
    header("bench_boot")
    print(f"  workspaces: empty {empty}\n              {kind}   {big}")
    print(f"  {kind}: {shape['tasks']:,} tasks ({shape['open_tasks']} open), {shape['checkpoints']:,} checkpoints, "
          f"{shape['events']:,} memory events, {shape['decisions']:,} decisions")

    py, tether = tether_python(), str(tether_script())
    python_pass = Cmd("python_pass", [py, "-c", "pass"])
    hook_empty = Cmd("hook_empty", [tether, "hook", "claude-code"], empty, hook_input(empty))
    cmds = [python_pass, Cmd("boot_empty", [tether, "boot"], empty), Cmd("boot_big", [tether, "boot"], big), hook_empty,
            Cmd("hook_big", [tether, "hook", "claude-code"], big, hook_input(big)),
            # Cold: the boot cache removed first, as for the first boot after tether's files changed.
            Cmd("boot_empty_cold", [tether, "boot"], empty), Cmd("boot_big_cold", [tether, "boot"], big),
            Cmd("hook_big_cold", [tether, "hook", "claude-code"], big, hook_input(big)),
            # For reference: the full `git status` of .tether/ that boot no longer runs (it grows with history).
            Cmd("git_status_empty", GIT_STATUS, empty), Cmd("git_status_big", GIT_STATUS, big)]
    head = make_workspace.git(big, "rev-parse", "HEAD").strip()  # the *_after_commit runs move it
    try:
        times = interleaved(cmds, args.runs, before_each=drop_cache_if_cold)
        # Apart: a checkpoint changes what the other boots read, and a cache is not saved for files
        # changed within two seconds, so these would turn the warm runs after them cold.
        after = interleaved([python_pass, hook_empty,
                             Cmd("hook_big_after_checkpoint", [tether, "hook", "claude-code"], big, hook_input(big)),
                             Cmd("hook_big_after_compaction", [tether, "hook", "claude-code"], big,
                                 hook_input(big, "compact")),
                             Cmd("hook_big_after_commit", [tether, "hook", "claude-code"], big, hook_input(big))],
                            args.runs, before_each=CheckpointFirst())
        print(f"\nWhole-process times, {args.runs} runs each, interleaved (hook runs append a session_start event, "
              "as in real use; *_cold runs start without the boot cache)")
        print_times(times)
        med = {n: median_ms(v) for n, v in times.items()}
        print("\nRatios")
        print(verdict("boot_big / python_pass", med["boot_big"] / med["python_pass"], 3))
        print(verdict("boot_big / boot_empty", med["boot_big"] / med["boot_empty"], 1.5))
        print(verdict("hook_big / python_pass", med["hook_big"] / med["python_pass"], 3))
        print(verdict("hook_big / hook_empty", med["hook_big"] / med["hook_empty"], 1.5))
        print(verdict("boot_empty / python_pass (for reference)", med["boot_empty"] / med["python_pass"], 3))
        print(f"  cold, for reference (the first boot after tether's files changed): boot big "
              f"{med['boot_big_cold'] / med['python_pass']:.2f}x python, {med['boot_big_cold'] / med['boot_empty_cold']:.2f}x"
              f" empty cold; hook big {med['hook_big_cold'] / med['python_pass']:.2f}x python")
        print(f"\nThe SessionStart hook just after a checkpoint of the active task (`tether checkpoint`, untimed), "
              f"after a compaction (the PreCompact hook, untimed) and after a commit of code (untimed), "
              f"{args.runs} runs interleaved")
        print_times(after)
        late = {n: median_ms(v) for n, v in after.items()}
        for name in ("hook_big_after_checkpoint", "hook_big_after_compaction", "hook_big_after_commit"):
            print(f"  {name}: {late[name] / late['python_pass']:.2f}x python, "
                  f"{late[name] / late['hook_empty']:.2f}x the empty workspace's hook (warm)")
        print(f"  git status of .tether/ alone: {med['git_status_big']:.0f} ms big, {med['git_status_empty']:.0f} ms empty "
              "(boot overlaps it with its own reads)")
        hyperfine_check(cmds, args.runs)
    finally:
        make_workspace.git(big, "reset", "-q", "--soft", head)
        make_workspace.reset(empty)
        make_workspace.reset(big)

    briefs = {}
    for label, repo in (("empty", empty), (kind, big)):
        briefs[f"tether boot ({label})"] = run_once(Cmd("boot", [tether, "boot"], repo), env())[1].decode()
        hook = json.loads(run_once(Cmd("hook", [tether, "hook", "claude-code"], repo, hook_input(repo)), env())[1])
        briefs[f"SessionStart hook ({label})"] = hook["hookSpecificOutput"]["additionalContext"]
    make_workspace.reset(empty)
    make_workspace.reset(big)
    token_report(briefs)
    budget_report(big, [300, 1000, 2000])


if __name__ == "__main__":
    main()
