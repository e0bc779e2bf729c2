"""`tether task reopen` without a task id, as a whole process, on the big workspace: closed by tether, and closed by hand.

    .venv/bin/python bench/bench_reopen.py            # big workspace (10,000 tasks)
    .venv/bin/python bench/bench_reopen.py --small    # a tenth of it, for a quick run

Without an id, reopen takes the task closed last. A task tether closed says when in its task file
(``closed``); one marked closed by hand in its task.md says nothing, and its file's time is only
when git last wrote it: such tasks are ordered by when the commits that hold them were made, one
``git log`` for them all, which reads the commits made since the newest close.

Two local clones of the cached workspace (hard links: the cache is never written):

- ``tether``: as generated, its 9,990 closed tasks closed by tether, 10 open.
- ``by_hand``: its 10 open tasks marked complete by hand in their task.md and committed, then
  ``--commits`` commits of other files (default 1,000) made after that one, which the walk of
  history reads before it reaches the commit of the tasks closed by hand.

Before each run the clone is put back to its commit (untimed): the reopen rewrote a task file.
Medians are printed with ``python -c pass``, round-robin; the clones are deleted at the end.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from pathlib import Path

import make_workspace
from common import Cmd, env, header, interleaved, median_ms, print_times, tether_python, tether_script


def clone(source: Path, target: Path) -> Path:
    make_workspace.git(source, "clone", "-q", "--local", str(source), str(target))
    return target


def close_open_tasks_by_hand(repo: Path, commits: int) -> int:
    """Mark every open task complete in its task.md (no `closed` time), take its open marker away,
    commit; then ``commits`` commits of another file, later. Returns how many were closed."""
    opened = sorted(p.name for p in (repo / ".tether" / "open").iterdir())
    for task_id in opened:
        path = repo / ".tether" / "tasks" / task_id / "task.md"
        path.write_text(path.read_text(encoding="utf-8").replace('status: "open"', 'status: "complete"'),
                        encoding="utf-8")
        (repo / ".tether" / "open" / task_id).unlink()
    make_workspace.git(repo, "add", "-A", ".tether")
    make_workspace.git(repo, "commit", "-q", "--no-verify", "-m", "tasks closed by hand")
    start = int(make_workspace.END.timestamp()) + 60
    stream = []
    for n in range(commits):  # fast-import: thousands of commits in a second
        data = f"change {n}\n".encode()
        parent = "from refs/heads/main^0\n" if n == 0 else ""  # the first goes on the branch as it is
        stream.append(f"commit refs/heads/main\ncommitter bench <bench@example.invalid> {start + 60 * (n + 1)} +0000\n"
                      f"data 7\nchange\n{parent}M 100644 inline src/changes.txt\ndata {len(data)}\n".encode()
                      + data + b"\n")
    subprocess.run(["git", "-C", str(repo), "fast-import", "--quiet"], input=b"".join(stream), check=True,
                   env=make_workspace.git_env())
    make_workspace.git(repo, "reset", "-q", "--hard", "main")
    make_workspace.git(repo, "update-index", "-q", "--refresh")
    return len(opened)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", action="store_true", help="use the small workspace (quick run)")
    parser.add_argument("--runs", type=int, default=15, help="timed runs per command (default 15)")
    parser.add_argument("--commits", type=int, default=1000,
                        help="commits made after the tasks closed by hand (default 1000)")
    args = parser.parse_args()
    kind = "small" if args.small else "big"
    big = make_workspace.ensure(kind)
    info = make_workspace.info(big)
    header("bench_reopen")
    where = Path(tempfile.mkdtemp(prefix="tether-bench-reopen-"))
    try:
        by_tether = clone(big, where / "tether")
        by_hand = clone(big, where / "by_hand")
        closed = close_open_tasks_by_hand(by_hand, args.commits)
        print(f"  {kind}: {info['params']['tasks']:,} tasks; by_hand: {closed} of them closed by hand and committed,"
              f" {args.commits:,} commits after that one")
        tether = str(tether_script())
        reopen = [tether, "task", "reopen"]
        cmds = [Cmd("python_pass", [tether_python(), "-c", "pass"]),
                Cmd("reopen_closed_by_tether", reopen, by_tether), Cmd("reopen_closed_by_hand", reopen, by_hand)]

        for cmd in cmds[1:]:  # untimed: what each reopens (by_hand: one of the tasks closed by hand)
            said = subprocess.run(cmd.argv, cwd=cmd.cwd, capture_output=True, text=True, env=env())
            print(f"  {cmd.name}: {(said.stdout or said.stderr).strip()}")
            make_workspace.reset(cmd.cwd)

        def prepare(cmd: Cmd) -> None:
            if cmd.cwd is not None:
                make_workspace.reset(cmd.cwd)

        times = interleaved(cmds, args.runs, before_each=prepare)
    finally:
        shutil.rmtree(where, ignore_errors=True)
    print(f"\n{args.runs} runs each, interleaved")
    print_times(times)
    base, tether_ms, hand_ms = (median_ms(times[c.name]) for c in cmds)
    print(f"\n  reopen, closed by tether / python -c pass   {tether_ms / base:6.2f}")
    print(f"  reopen, closed by hand / python -c pass     {hand_ms / base:6.2f}")
    print(f"  closed by hand / closed by tether           {hand_ms / tether_ms:6.2f}")


if __name__ == "__main__":
    main()
