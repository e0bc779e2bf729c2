"""`tether mcp` over stdio, driven by the MCP SDK's own client, beside an echo server on the same SDK.

    .venv/bin/python bench/bench_mcp.py                 # a scratch workspace (one task, 200 checkpoints)
    .venv/bin/python bench/bench_mcp.py --big           # the big workspace of make_workspace.py (10,000 tasks)

Both servers run as real processes under the same interpreter; the client talks to both from one
event loop, alternating calls (echo, resume, echo, tasks, ...), so they share the machine's noise.
Prints the median round trip of each tool call against the echo server's (target: resume within
1.5x of echo), and the connect time (spawn to `initialize` answered) of each server, round-robin,
against `python -c pass`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import env, header, median_ms, spread, tether_python, tether_script, verdict

ECHO_SERVER = '''
from mcp.server.mcpserver import MCPServer

server = MCPServer("echo", log_level="WARNING")


@server.tool(structured_output=False)
async def echo(text: str = "") -> str:
    return text


server.run("stdio")
'''


def scratch(root: Path, checkpoints: int) -> Path:
    """A git repository with a tether workspace, one task of 500 items and some checkpoints."""
    repo = root / "repo"
    repo.mkdir()
    environ = env()
    subprocess.run(["git", "init", "-q", str(repo)], check=True, env=environ)
    script = str(tether_script())
    subprocess.run([script, "init"], cwd=repo, check=True, capture_output=True, env=environ)
    items = root / "items.txt"
    items.write_text("".join(f"item {i}\n" for i in range(1, 501)))
    subprocess.run([script, "task", "start", "Summarise the docs", "--items-file", str(items), "--id", "T1"],
                   cwd=repo, check=True, capture_output=True, env=environ)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from tether import Workspace

    ws = Workspace.open(repo)
    for n in range(1, checkpoints + 1):
        ws.checkpoint(done=[str(n)], state=f"item {n} summarised", next_actions=[f"summarise item {n + 1}"])
    for n in range(20):
        ws.note("gotcha", f"gotcha number {n}: the parser drops footnotes in section {n}")
        ws.decide(f"Question {n}?", f"Answer {n}", rationale="measured")
    return repo


async def connect(argv: list[str], cwd: Path, environ: dict):
    from contextlib import AsyncExitStack

    from mcp import ClientSession, StdioServerParameters, stdio_client

    stack = AsyncExitStack()
    params = StdioServerParameters(command=argv[0], args=argv[1:], cwd=str(cwd), env=environ)
    read, write = await stack.enter_async_context(stdio_client(params))
    session = await stack.enter_async_context(ClientSession(read, write))
    await session.initialize()
    return stack, session


async def measure(repo: Path, echo_argv: list[str], tether_argv: list[str], calls: int, connects: int) -> dict:
    environ = env()
    times: dict[str, list[float]] = {}

    def add(name: str, seconds: float) -> None:
        times.setdefault(name, []).append(seconds)

    # Connect time, round-robin: spawn, initialize answered, then close.
    for i in range(connects + 2):
        for name, argv in (("connect echo", echo_argv), ("connect tether mcp", tether_argv)):
            start = time.perf_counter()
            stack, _ = await connect(argv, repo, environ)
            elapsed = time.perf_counter() - start
            await stack.aclose()
            if i >= 2:  # two warm-up rounds
                add(name, elapsed)
    start = time.perf_counter()
    subprocess.run([tether_python(), "-c", "pass"], check=True)
    add("python -c pass", time.perf_counter() - start)
    for _ in range(connects - 1):
        start = time.perf_counter()
        subprocess.run([tether_python(), "-c", "pass"], check=True)
        add("python -c pass", time.perf_counter() - start)

    # Round trips on open sessions, alternating so both servers share the noise.
    echo_stack, echo = await connect(echo_argv, repo, environ)
    tether_stack, tether = await connect(tether_argv, repo, environ)
    try:
        plan = [("resume", {}), ("tasks", {}), ("notes", {}), ("brief", {})]
        for i in range(calls + 5):
            for tool, arguments in plan:
                for name, session, call, args in (("echo", echo, "echo", {"text": "x" * 200}),
                                                  (tool, tether, tool, arguments)):
                    start = time.perf_counter()
                    result = await session.call_tool(call, args)
                    elapsed = time.perf_counter() - start
                    if result.is_error:
                        raise SystemExit(f"{call} failed: {result.content[0].text}")
                    if i >= 5:
                        add(f"call {name}", elapsed)
    finally:
        await tether_stack.aclose()
        await echo_stack.aclose()
    return times


def in_process(repo: Path, calls: int) -> list[float]:
    """Workspace.resume() on one long-lived Workspace, as the server holds it: tether's own share."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from tether import Workspace

    ws = Workspace.open(repo)
    ws.resume()
    out = []
    for _ in range(calls):
        start = time.perf_counter()
        ws.resume().to_dict()
        out.append(time.perf_counter() - start)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=100, help="timed calls of each tool (default 100)")
    parser.add_argument("--connects", type=int, default=15, help="timed connects of each server (default 15)")
    parser.add_argument("--checkpoints", type=int, default=200, help="checkpoints in the scratch workspace")
    parser.add_argument("--big", action="store_true", help="use make_workspace.py's big workspace instead")
    args = parser.parse_args()
    import anyio

    header("tether mcp over stdio, the SDK's client, beside an echo server on the same SDK")
    import mcp  # noqa: F401  (fails early, with the extra to install, when the SDK is absent)
    from importlib.metadata import version

    print(f"  mcp {version('mcp')}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        if args.big:
            import make_workspace

            repo = make_workspace.big()
            print(f"  workspace: big ({repo})")
        else:
            repo = scratch(root, args.checkpoints)
            print(f"  workspace: scratch, 1 task of 500 items, {args.checkpoints} checkpoints, 20 notes, 20 decisions")
        echo = root / "echo_server.py"
        echo.write_text(ECHO_SERVER)
        python = tether_python()
        times = anyio.run(measure, repo, [python, str(echo)], [str(tether_script()), "mcp"], args.calls,
                          args.connects)
        times["resume in-process (API)"] = in_process(repo, args.calls)
    width = max(len(n) for n in times)
    print(f"\n  {'what':<{width}}  {'median ms':>9}  {'IQR ms':>16}  runs")
    for name, values in times.items():
        print(f"  {name:<{width}}  {median_ms(values):9.2f}  {spread(values):>16}  {len(values)}")
    echo_ms = median_ms(times["call echo"])
    print()
    print(verdict("call resume / call echo", median_ms(times["call resume"]) / echo_ms, 1.5))
    for tool in ("tasks", "notes", "brief"):
        print(f"  {f'call {tool} / call echo':<44} {median_ms(times[f'call {tool}']) / echo_ms:6.2f}   (no target)")
    print(f"  {'connect tether mcp / connect echo':<44} "
          f"{median_ms(times['connect tether mcp']) / median_ms(times['connect echo']):6.2f}   (no target)")
    print(f"  (connect echo / python -c pass: "
          f"{median_ms(times['connect echo']) / statistics.median(times['python -c pass']) / 1000:.1f}x;"
          " the SDK's own import is most of it)")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
