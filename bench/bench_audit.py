"""`tether audit` as a whole process on the big workspace, side by side with `python -c pass`.

    .venv/bin/python bench/bench_audit.py            # big workspace (10,000 tasks, 111,000 state files)
    .venv/bin/python bench/bench_audit.py --small    # a tenth of it, for a quick run

Three states of the workspace, each run round-robin with `python -c pass` and the empty
workspace (so they share the machine's noise):

- committed: the workspace at its commit, with what the previous audit kept in
  .tether/local/ (audit.json: the manifest known current at this commit; status.cache and
  written: which of tether's files differ from HEAD, and the paths tether wrote since): the
  audit asks git nothing (warm.status), and does not stat the store again;
- session: one `tether checkpoint` made since the commit (untimed, before each run, after the
  workspace is put back to its commit with `git reset --hard`, which rewrites git's index; on
  the empty workspace, which has no task, a `tether note`): the paths the checkpoint noted are
  compared with HEAD, and the manifest, known current at the commit and unchanged since, is
  stale without a stat of every file; the pre-commit hook's and a session's case;
- first: no audit.json (deleted before each run): the manifest is checked in full (every
  state file stat'ed; its hashes from the per-machine manifest cache, kept warm); which files
  are uncommitted comes from status.cache as in `committed`;
- fresh: audit.json, status.cache and written deleted before each run, as on a fresh clone
  (the manifest cache kept warm): a full `git status` and the manifest checked in full.

In the committed state three reference commands run too: the `git status` a full look asks
(tether's files changed or untracked), `tether audit --full`, and the audit without the two
rules that need git (`--skip uncommitted --skip index-stale`).

The audit finds the big workspace's active task overdue for a checkpoint (its newest is days
old), and exits 0 (no --strict). The workspace is reset to its commit at the end.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import make_workspace
from common import Cmd, header, interleaved, median_ms, print_times, tether_python, tether_script, verdict

RESULT = ".tether/local/audit.json"
LOOK = (".tether/local/status.cache", ".tether/local/written")  # what the audit keeps of git's answer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", action="store_true", help="use the small workspace (quick run)")
    parser.add_argument("--runs", type=int, default=11, help="timed runs per command and state (default 11)")
    args = parser.parse_args()
    kind = "small" if args.small else "big"
    empty, big = make_workspace.ensure("empty"), make_workspace.ensure(kind)
    info = make_workspace.info(big)
    header("bench_audit")
    print(f"  workspaces: empty {empty}\n              {kind}   {big}")
    print(f"  {kind}: {info['files']:,} state files ({info['params']['tasks']:,} tasks, "
          f"{info['params']['checkpoints']:,} checkpoints, {info['params']['events']:,} memory events)")
    tether = str(tether_script())
    audit = [tether, "audit"]
    py = tether_python()
    baseline = Cmd("python_pass", [py, "-c", "pass"])
    environ = __import__("common").env()

    def prepare(state: str):
        def before(cmd: Cmd) -> None:
            if cmd.cwd is None:
                return
            make_workspace.reset(cmd.cwd)
            if state in ("first", "fresh"):
                (cmd.cwd / RESULT).unlink(missing_ok=True)
            if state == "fresh":
                for kept in LOOK:
                    (cmd.cwd / kept).unlink(missing_ok=True)
            elif state == "session":
                import subprocess

                step = ["checkpoint", "--state", "bench step"] if cmd.cwd == big else ["note", "note", "bench step"]
                subprocess.run([tether, *step], cwd=cmd.cwd, env=environ, capture_output=True, check=True)
        return before

    results = {}
    try:
        for state in ("committed", "session", "first", "fresh"):
            cmds = [baseline, Cmd(f"audit_empty_{state}", audit, empty), Cmd(f"audit_{kind}_{state}", audit, big)]
            if state == "committed":  # where the time goes: git's part, and the audit without it
                cmds += [Cmd(f"git_status_{kind}", ["git", "status", "--porcelain=v1", "-z", "--untracked-files=all",
                                                     "--no-renames", "--", ".tether"], big),
                         Cmd(f"audit_{kind}_full", [*audit, "--full"], big),
                         Cmd(f"audit_{kind}_no_git", [*audit, "--skip", "uncommitted", "--skip", "index-stale"], big)]
            results[state] = interleaved(cmds, args.runs, warmup=2, before_each=prepare(state))
            print(f"\n{state}: {args.runs} runs each, interleaved", flush=True)
            print_times(results[state])
    finally:
        for repo in (empty, big):
            make_workspace.reset(repo)
            for kept in (RESULT, *LOOK):
                (repo / kept).unlink(missing_ok=True)
    print("\nRatios to `python -c pass` (medians of the same round-robin):")
    for state, times in results.items():
        base = median_ms(times["python_pass"])
        print(verdict(f"audit {kind}, {state}", median_ms(times[f"audit_{kind}_{state}"]) / base, 5.0))
        print(verdict(f"audit empty, {state}", median_ms(times[f"audit_empty_{state}"]) / base, 5.0))
        if state == "committed":
            print(verdict(f"git status of .tether, {kind} (reference)", median_ms(times[f"git_status_{kind}"]) / base, 5.0))
            print(verdict(f"audit {kind} --full (reference)", median_ms(times[f"audit_{kind}_full"]) / base, 5.0))
            print(verdict(f"audit {kind} without its two git rules", median_ms(times[f"audit_{kind}_no_git"]) / base,
                          5.0))


if __name__ == "__main__":
    main()
