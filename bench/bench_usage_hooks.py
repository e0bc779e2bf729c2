"""The per-prompt, per-tool-call and per-message costs of watching the session: the
UserPromptSubmit hook when nothing is due (the session's state unchanged since the last prompt),
the PostToolUse hook when no checkpoint is due (the call joins the session's trail), the
PreToolUse hook on a shell command that is not risky, and `tether statusline`,
as whole processes, round-robin with `python -c pass`, on a 10 MB Claude Code transcript and
(`--big SIZE`) a big one, both made by repeating the real samples in ../shared/bench/transcripts
in a temporary directory deleted at the end.

    .venv/bin/python bench/bench_usage_hooks.py                 # 10 MB only (~1 min)
    .venv/bin/python bench/bench_usage_hooks.py --big 1G        # and a 1 GB transcript

Target (issue 13): each hook's median within 2x `python -c pass`; the status line too. The
workspace's `hooks.checkpoint_every` is set to its maximum, so that no timed PostToolUse run is
the one that checkpoints (that one does the work of `tether checkpoint`).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import Cmd, env, header, interleaved, median_ms, print_times, run_once, tether_python, tether_script

SHARED = Path(__file__).resolve().parents[2] / "shared" / "bench" / "transcripts"
if not SHARED.is_dir():
    SHARED = Path("/work/shared/bench/transcripts")


def samples() -> list[Path]:
    claude = [p for p in sorted((SHARED / "claude-code").rglob("*.jsonl"))
              if "subagents" not in p.parts and p.name != "sample_hook_logs.jsonl" and "ccusage" not in p.parts]
    # The spotter session last: the built file ends with its last response (51% of 200K: ORANGE).
    claude.sort(key=lambda p: p.name.startswith("ae4a77f8"))
    return claude


def build(path: Path, sources: list[Path], size: int) -> int:
    blobs = [p.read_bytes() for p in sources]
    blobs = [b if b.endswith(b"\n") else b + b"\n" for b in blobs]
    total = 0
    with open(path, "wb") as f:
        while total < size:
            for blob in blobs:
                f.write(blob)
                total += len(blob)
    return total


def parse_size(text: str) -> int:
    units = {"K": 1024, "M": 1024 ** 2, "G": 1024 ** 3}
    text = text.strip().upper().rstrip("B")
    return int(float(text[:-1]) * units[text[-1]]) if text and text[-1] in units else int(text)


def workspace(root: Path) -> None:
    tether = str(tether_script())
    environ = env()
    subprocess.run(["git", "init", "-q", str(root)], check=True, env=environ)
    for args in (["init"], ["task", "start", "Process 20 documents", "--id", "T004",
                            *[a for i in range(1, 21) for a in ("-i", f"doc{i}.pdf")]],
                 ["checkpoint", "--done", "1-13", "--state", "13 documents summarised"]):
        subprocess.run([tether, *args], cwd=root, check=True, capture_output=True, env=environ)
    config = root / ".tether" / "tether.toml"
    text = config.read_text()
    if "checkpoint_every = 4" in text:  # older versions have no [hooks] table: nothing to change
        config.write_text(text.replace("checkpoint_every = 4", "checkpoint_every = 10000"))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--big", metavar="SIZE", help="also a big transcript of SIZE (e.g. 1G, 300M)")
    parser.add_argument("--runs", type=int, default=30, help="timed runs per command (default 30)")
    args = parser.parse_args(argv)
    sources = samples()
    if not sources:
        print(f"skipped: no Claude Code samples in {SHARED}")
        return 0
    header("UserPromptSubmit hook and tether statusline, nothing due")
    work = Path(tempfile.mkdtemp(prefix="tether-bench-usage-hooks-"))
    try:
        root = work / "repo"
        root.mkdir()
        workspace(root)
        sizes = {"10 MB": 10 * 1024 ** 2}
        if args.big:
            size = parse_size(args.big)
            free = shutil.disk_usage(work).free
            if size > free * 0.8:
                size = int(free * 0.5)
                print(f"  only {free / 1024 ** 3:.1f} GB free: the big transcript is {size / 1024 ** 3:.2f} GB")
            sizes[f"{size / 1024 ** 3:.2f} GB"] = size
        transcripts = {}
        for label, size in sizes.items():
            path = work / f"session-{len(transcripts)}.jsonl"
            start = time.perf_counter()
            written = build(path, sources, size)
            transcripts[label] = path
            print(f"  built {label} ({written / 1e6:,.1f} MB) from {len(sources)} sessions in {time.perf_counter() - start:.1f} s")
        tether = str(tether_script())
        py = tether_python()
        # What `tether install` writes on POSIX: the lean launcher beside the script (bin/tether-hook).
        launcher = Path(tether).with_name("tether-hook")
        hook_argv = [str(launcher), "claude-code"] if launcher.is_file() else [tether, "hook", "claude-code"]
        status_argv = [str(launcher), "statusline"] if launcher.is_file() else [tether, "statusline"]
        print(f"  hooks run as: {' '.join(Path(a).name if i == 0 else a for i, a in enumerate(hook_argv))}"
              + ("" if launcher.is_file() else " (no tether-hook launcher in this version)"))
        # pip's `tether` script imports `re` before tether runs (to tidy argv[0]): that floor, and the
        # hook run without the script, show what is tether's own.
        cmds = [Cmd("python -c pass", [py, "-c", "pass"]), Cmd("python -c 'import re'", [py, "-c", "import re"])]
        for label, path in transcripts.items():
            session = f"bench-{label.replace(' ', '')}"
            hook = {"session_id": session, "transcript_path": str(path), "cwd": str(root),
                    "hook_event_name": "UserPromptSubmit", "permission_mode": "default", "prompt": "go on"}
            status = {"hook_event_name": "Status", "session_id": session, "transcript_path": str(path),
                      "cwd": str(root), "model": {"id": "claude-opus-4-6", "display_name": "Opus 4.6"},
                      "workspace": {"current_dir": str(root), "project_dir": str(root)},
                      "context_window": {"context_window_size": 200000}}
            hook_cmd = Cmd(f"hook UserPromptSubmit, {label}", hook_argv, root, json.dumps(hook).encode())
            status_cmd = Cmd(f"statusline, {label}", status_argv, root, json.dumps(status).encode())
            # The first prompt says the state (a change from nothing); the ones timed have nothing due.
            _, said = run_once(hook_cmd, env())
            _, again = run_once(hook_cmd, env())
            _, line = run_once(status_cmd, env())
            print(f"  {label}: first prompt said {len(said)} bytes; the next {len(again)} bytes (nothing due);"
                  f" status line: {line.decode().strip()!r}")
            if again:
                raise SystemExit("the hook had something to say at the second prompt: nothing would be measured")
            cmds += [hook_cmd, Cmd(f"  same, as `tether hook` (pip's script), {label}", [tether, "hook", "claude-code"],
                                   root, hook_cmd.stdin),
                     Cmd(f"  same, as python -m tether hook, {label}", [py, "-m", "tether", "hook", "claude-code"],
                         root, hook_cmd.stdin), status_cmd]
            tool = {"session_id": session, "transcript_path": str(path), "cwd": str(root),
                    "permission_mode": "default", "tool_use_id": "toolu_01"}
            cmds += [Cmd(f"hook PostToolUse (Edit), {label}", hook_argv, root, json.dumps({
                         **tool, "hook_event_name": "PostToolUse", "tool_name": "Edit",
                         "tool_input": {"file_path": str(root / "out" / "summaries.md"), "old_string": "a",
                                        "new_string": "b"},
                         "tool_response": {"filePath": str(root / "out" / "summaries.md"), "success": True}}).encode()),
                     Cmd(f"hook PreToolUse (Bash, not risky), {label}", hook_argv, root,
                         json.dumps({**tool, "hook_event_name": "PreToolUse", "tool_name": "Bash",
                                     "tool_input": {"command": "ls -la out/", "description": "list"}}).encode())]
        print(f"\n  whole processes, round-robin, {args.runs} runs each (3 warm-up)")
        times = interleaved(cmds, args.runs)
        print_times(times)
        base = median_ms(times["python -c pass"])
        print("\n  ratio to python -c pass (target: <= 2.0)")
        for name, values in times.items():
            if name != "python -c pass":
                ratio = median_ms(values) / base
                print(f"  {name:<48} {ratio:5.2f}x  {'ok' if ratio <= 2.0 else 'MISSED'}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
