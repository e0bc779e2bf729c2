"""The package layout's rules, enforced: each package imported in a fresh interpreter loads
only what its layer may use, and only the git package starts git.

    model    pure data: imports nothing of tether but errors
    store    the only code that knows file names: no per-machine caches, no domain, no adapters
    gitio    every git process: no caches, no domain, no adapters
    warm     the per-machine caches: no domain, no adapters
    core     the domain verbs: no adapters, no argparse, no subprocess
    transcripts        reading agents' transcripts: nothing of the store, no adapters
    compaction         the three tiers over message lists: no adapters, no processes, detect-secrets
                       and tiktoken only when a compaction runs
    offload            clusters of packets and their maps (seed 000): no adapters, no processes, YAML
                       and jsonschema only when a packet is written or read
    audit              forgotten obligations (seed 000's guard): no adapters, no processes (git through
                       gitio), YAML only when a packet or a session context is read
    recall             the recall index and its ranking: no adapters, no processes, no YAML; its
                       SQLite file is named in store.layout and found through the store
    cli, hooks, mcp    adapters over the library; none loads the MCP adapter (or the MCP SDK) on import,
                       and the MCP adapter loads no other adapter

Also checked: what the two paths that run most load, the warm boot and `tether checkpoint`.

README.md ("How it is built") draws the same picture.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import tether

PACKAGE = Path(tether.__file__).parent

# package -> prefixes of modules it must never load (tether's own, or heavy stdlib ones)
FORBIDDEN = {
    "model": ["tether.store", "tether.core", "tether.warm", "tether.gitio", "tether.cli", "tether.hooks", "tether.mcp", "mcp",
              "tether.workspace", "tether.campaign", "subprocess"],
    "store": ["tether.warm", "tether.core", "tether.cli", "tether.hooks", "tether.mcp", "mcp", "tether.workspace", "tether.campaign",
              "argparse"],
    "gitio": ["tether.core", "tether.warm", "tether.cli", "tether.hooks", "tether.mcp", "mcp", "tether.workspace", "tether.campaign",
              "argparse"],
    "warm": ["tether.core", "tether.cli", "tether.hooks", "tether.mcp", "mcp", "tether.workspace", "tether.campaign", "argparse"],
    "core": ["tether.cli", "tether.hooks", "tether.mcp", "mcp", "argparse", "subprocess"],
    "campaign": ["tether.cli", "tether.hooks", "tether.mcp", "mcp", "argparse", "subprocess"],
    "compaction": ["tether.cli", "tether.hooks", "tether.mcp", "mcp", "argparse", "subprocess", "detect_secrets", "tiktoken"],
    "offload": ["tether.cli", "tether.hooks", "tether.mcp", "mcp", "argparse", "subprocess", "yaml", "jsonschema"],
    "audit": ["tether.cli", "tether.hooks", "tether.mcp", "mcp", "argparse", "subprocess", "yaml", "jsonschema",
              "tether.campaign", "tether.offload", "tether.transcripts"],
    "recall": ["tether.cli", "tether.hooks", "tether.mcp", "mcp", "tether.campaign", "argparse", "subprocess", "yaml", "jsonschema"],
    "transcripts": ["tether.store", "tether.core", "tether.warm", "tether.gitio", "tether.cli", "tether.hooks", "tether.mcp", "mcp",
                    "tether.workspace", "tether.campaign", "argparse", "subprocess", "yaml"],
    # The other adapters start the MCP adapter (`tether mcp`) only when asked to: never on import.
    "cli": ["tether.mcp", "mcp"],
    "hooks": ["tether.mcp", "mcp"],
    # The MCP adapter may use the workspace and the facades; it needs no other adapter.
    "mcp": ["tether.cli", "tether.hooks", "argparse"],
}


def modules_of(package: str) -> list[str]:
    return sorted(f"tether.{package}.{p.stem}" for p in (PACKAGE / package).glob("*.py") if p.stem != "__init__")


def loaded_after_import(module: str) -> list[str]:
    script = (f"import sys, json\nimport {module}\n"
              "print(json.dumps(sorted(sys.modules)))\n")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


CASES = [(package, module) for package in FORBIDDEN for module in modules_of(package)]


@pytest.mark.parametrize("package,module", CASES, ids=[m for _, m in CASES])
def test_each_module_loads_only_what_its_layer_may_use(package, module):
    loaded = loaded_after_import(module)
    crossing = [m for m in loaded for bad in FORBIDDEN[package] if m == bad or m.startswith(bad + ".")]
    assert not crossing, f"{module} loads {crossing}"


def test_the_model_imports_nothing_of_tether_but_errors():
    for module in modules_of("model"):
        ours = [m for m in loaded_after_import(module) if m.startswith("tether")]
        assert set(ours) <= {"tether", "tether.errors", "tether.model"} | set(modules_of("model")), (module, ours)


SPAWNERS = {("subprocess", name) for name in ("run", "Popen", "call", "check_call", "check_output")} | {
    ("os", name) for name in ("posix_spawn", "posix_spawnp", "system", "execv", "execvp", "execve", "spawnv")}


def spawn_calls(path: Path) -> list[int]:
    """Line numbers of calls that start a process (subprocess.*, os.posix_spawn*, os.system, ...)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name):
            if (node.func.value.id, node.func.attr) in SPAWNERS:
                lines.append(node.lineno)
    return lines


def test_only_the_git_package_starts_processes():
    """gitio.runner is the one place a git process is started; the demo (an adapter) starts tether
    itself to show its commands, the compaction adapter the user's own summariser command, and
    nothing else starts anything."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        calls = spawn_calls(path)
        if calls and rel not in ("gitio/runner.py", "cli/demo.py", "cli/summariser.py"):
            found[rel] = calls
    assert not found, f"processes started outside gitio.runner: {found}"
    demo = (PACKAGE / "cli" / "demo.py").read_text(encoding="utf-8")
    assert '"git"' not in demo  # the demo runs git through gitio.runner too


WARM_BOOT_FORBIDDEN = ["tether.mcp", "mcp", "tether.workspace", "tether.store.files", "tether.store.base", "tether.store.trees",
                       "tether.core.boot", "tether.core.close", "tether.core.tasks", "tether.model.records", "tether.campaign",
                       "argparse", "subprocess", "yaml", "jsonschema", "datetime", "typing", "dataclasses", "re", "json",
                       "enum"]


def test_the_warm_boot_loads_only_what_it_needs(ws, cli, tmp_path):
    """`tether boot` answered from the boot cache: no store classes, no domain verbs, no argparse."""
    import os
    import time

    ws.start_task("Warm", items=["a", "b"], task_id="T1")
    ws.checkpoint(done=["1"], state="a done")
    past = time.time() - 60  # older than the racily-clean margin, so the cache trusts the stats
    for folder, _dirs, files in os.walk(ws.dir):
        for name in files + [folder]:
            path = os.path.join(folder, name)
            os.utime(path, (past, past))
    assert cli("boot").code in (0, 3)  # builds the cache
    event = json.dumps({"session_id": "s1", "transcript_path": str(tmp_path / "t.jsonl"), "cwd": str(ws.root),
                        "hook_event_name": "SessionStart", "source": "startup"})
    for argv in (["boot"], ["hook", "claude-code"]):  # the boot, and the SessionStart hook that gives the same brief
        script = ("import sys, io, contextlib\nfrom tether.cli.main import main\n"
                  "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
                  f"    code = main({argv!r})\n"
                  "loaded = sorted(sys.modules)\nimport json\n"  # json only now: it is on the list
                  "print(json.dumps([code, out.getvalue(), loaded]))\n")
        proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ws.root, timeout=60,
                              input=event)
        assert proc.returncode == 0, proc.stderr
        code, out, loaded = json.loads(proc.stdout)
        assert code in (0, 3) and "Warm" in out, (argv, out, proc.stderr)
        crossing = [m for m in loaded for bad in WARM_BOOT_FORBIDDEN if m == bad or m.startswith(bad + ".")]
        assert not crossing, (argv, crossing)


def test_every_public_name_resolves_and_importing_tether_loads_nothing_else():
    import tether

    for name in tether.__all__:
        assert getattr(tether, name) is not None, name
    assert issubclass(tether.ParseError, tether.TetherError) and issubclass(tether.GitProblem, tether.TetherError)
    loaded = loaded_after_import("tether")
    assert [m for m in loaded if m.startswith("tether.")] == []


# What `tether checkpoint` (run many times a session) must not load: other commands' modules, the
# parser of every command, the rare paths (config parsing, migrations, verify, repair, secrets,
# YAML, the merge driver, git) and the heavy stdlib modules none of it needs.
CHECKPOINT_FORBIDDEN = ["tether.mcp", "mcp", "argparse", "gettext", "locale", "tether.cli.commands", "tether.cli.session_commands",
                        "tether.cli.ctx", "tether.cli.demo", "tether.hooks", "tether.campaign", "tether.gitio",
                        "tether.transcripts", "tether.store.config_file", "tether.store.migrations",
                        "tether.store.yaml_codec", "tether.core.boot", "tether.core.brief", "tether.core.close",
                        "tether.core.manifest", "tether.core.verify", "tether.core.repair", "tether.core.secret_scan",
                        "tether.core.setup", "tether.core.context_document", "tether.warm.brief_cache",
                        "tether.warm.head_diff", "tether.warm.manifest_entries", "yaml", "tomllib", "tomli",
                        "detect_secrets", "jsonschema", "subprocess", "typing", "datetime", "dataclasses",
                        "pathlib", "hashlib", "shutil", "tempfile", "encodings.ascii", "re", "json", "enum"]


def test_a_checkpoint_loads_only_what_it_needs(ws, cli):
    """`tether checkpoint --done ... --state ...` in a fresh interpreter, with the per-machine config
    cache warm (as after the first command): its plain options are read without argparse, and it
    loads no other command's code and no rare path."""
    import os
    import time

    ws.start_task("Checkpoints", items=["a", "b", "c"], task_id="T1")
    past = time.time() - 60  # older than the racily-clean margin, so the config cache is kept
    for folder, _dirs, files in os.walk(ws.dir):
        for name in files + [folder]:
            os.utime(os.path.join(folder, name), (past, past))
    assert cli("checkpoint", "--done", "1", "--state", "a done").code == 0  # keeps the parsed config
    script = ("import sys, io, contextlib\nfrom tether.cli.main import main\n"
              "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
              "    code = main(['checkpoint', '--done', '2', '--state', 'b done', '--next', 'c'])\n"
              "loaded = sorted(sys.modules)\nimport json\n"  # json only now: it is on the list
              "print(json.dumps([code, out.getvalue(), loaded]))\n")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ws.root, timeout=60)
    assert proc.returncode == 0, proc.stderr
    code, out, loaded = json.loads(proc.stdout)
    assert code == 0 and "Saved CKP-0002" in out and "(2 done;" in out, out
    crossing = [m for m in loaded for bad in CHECKPOINT_FORBIDDEN if m == bad or m.startswith(bad + ".")]
    assert not crossing, crossing


# Forms main.quick_args reads itself, and forms it must leave to argparse.
QUICK_FORMS = [
    ["checkpoint"],
    ["checkpoint", "--state", "docs 1-5 done", "--done", "1-5"],
    ["checkpoint", "--done", "1", "--done", "2,4", "--undone", "3", "--json"],
    ["checkpoint", "-t", "T1", "--task", "T2", "--state", "", "--note", "n", "--status", "blocked"],
    ["checkpoint", "--json", "--data", "k=v", "--data", "out=a b", "--file", "src/a.py: parser", "--next", "x",
     "--next", "y", "--result", "r.md=@out.md", "--state", "first", "--state", "last"],
    ["audit"],
    ["audit", "--strict"],
    ["audit", "--json", "--fix", "--full"],
    ["recall", "why sqlite"],
    ["recall", "why", "sqlite", "--limit", "5", "--json"],
    ["recall", "tokens", "-k", "decision", "--kind", "context", "-n", "3", "--budget", "400", "-m", "lexical",
     "--task", "T1", "--since", "2026-11-01"],
    ["recall", "x", "--limit", " 7"],
]
ARGPARSE_FORMS = [
    ["checkpoint", "--state", "--done", "1"],  # a value that starts with '-'
    ["checkpoint", "--state", "-5"],
    ["checkpoint", "--state=x"],
    ["checkpoint", "--sta", "x"],  # an abbreviation
    ["checkpoint", "--note", "n", "extra"],  # a word that is no option
    ["checkpoint", "--status", "done"],  # not a choice
    ["checkpoint", "--state"],  # no value
    ["checkpoint", "-C", ".", "--state", "x"],
    ["checkpoint", "--help"],
    ["checkpoint", "--", "--state"],
    ["checkpoint", "-tT1"],
    ["--json", "checkpoint", "--state", "x"],
    ["resume"],
    ["recall"],
    ["recall", "--limit", "5", "why"],
    ["recall", "why", "--limit", "5", "sqlite"],
    ["recall", "why", "--limit", "five"],
    ["recall", "why", "--limit", "٣"],  # a digit argparse's int() takes, not ASCII
    ["recall", "why", "--mode", "fuzzy"],
    ["recall", "why", "--limit=5"],
    ["audit", "--skip", "links"],
    ["audit", "--strict", "--strict"],
    ["audit", "--stric"],
    ["audit", "--help"],
    ["audit", "-C", "."],
]


@pytest.mark.parametrize("argv", QUICK_FORMS, ids=[" ".join(a) for a in QUICK_FORMS])
def test_quick_forms_are_read_without_argparse_as_argparse_reads_them(argv):
    from tether.cli.main import build_parser, quick_args

    quick = quick_args(argv)
    assert quick is not None
    parsed = build_parser(argv[0]).parse_args(argv)
    assert {k: v for k, v in vars(quick).items() if k != "handler"} == \
        {k: v for k, v in vars(parsed).items() if k != "handler"}
    assert quick.handler.__name__ == f"cmd_{argv[0]}"


@pytest.mark.parametrize("argv", ARGPARSE_FORMS, ids=[" ".join(a) for a in ARGPARSE_FORMS])
def test_other_forms_are_left_to_argparse(argv):
    """argparse reads them, and says what is wrong with the ones it refuses."""
    from tether.cli.main import quick_args

    assert quick_args(argv) is None
