"""Seeded fuzzing of tether's parsers through real processes.

Shared by ``tests/test_fuzz.py`` (a short run in CI) and ``bench/bench_fuzz.py`` (the long
run). A case is: a fresh copy of one realistic workspace (built once per run), one file
of it broken in one seeded way, then the commands a user runs over that state, each as
its own ``python -m tether`` process with a timeout, then the command that must report
the damage. A case is fully determined by ``SEED/INDEX``:

    .venv/bin/python tests/fuzzing.py --replay 20261121/17 --keep

rebuilds the workspace, replays that case and prints every run (``--keep`` leaves the
workspace on disk to rerun a command by hand).

What counts as a failure (``Failure.kind``):

- ``crash``: exit 70, a Python traceback on stderr, or an exit code the command's
  documentation does not list (docs/reference.md);
- ``hang``: a run still going after the timeout;
- ``unreported``: the broken file no longer follows docs/formats.md (as the strict
  reference readers below read it) and the command that must say so (``tether verify``,
  ``tether ctx validate``, ``tether ctx apply``, ``tether install claude-code``, the hook)
  does not name it;
- ``progress``: a checkpoint written over a damaged state holds fewer done units than the
  readable or journaled history (a checkpoint's ``done: 12`` instead of ``"1-12"`` must not
  become "only 12 is done");
- ``wrote-invalid``: a command wrote a file (or appended a line) that the reference
  readers reject: damage spreading from the broken file into tether's own output;
- ``contract``: a documented promise broken without a crash: ``--json`` output that is not
  one JSON object, a refused ``install`` or ``ctx apply`` that changed the file, a hook that
  changed a file for input it refuses, a warm boot that differs from a cold one;
- ``escape``: a file written outside the repository: through a hostile path in the
  config, or through a symlink a hostile clone put in place of a store file.
- ``harness``: the harness itself failed on that case (a bug to fix here, not in tether).

The reference readers implement docs/formats.md independently of tether's code: a
file is ``valid`` (True), ``invalid`` (False, with the reason) or ``None`` where the docs
leave it open (then nothing is checked).
"""

from __future__ import annotations

import copy
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable, NamedTuple

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
SHARED_HOOKS = PROJECT.parent / "shared" / "bench" / "transcripts" / "claude-code" / "fasthooks" / "sample_hook_logs.jsonl"

DEFAULT_SEED = 20261121
BUILD_DAY = "2026-11-21"
CASE_NOW = f"{BUILD_DAY}T15:00:00Z"  # the cases run later the same day: close appends to the day's log
CAMPAIGN = "CAMP-1"
CONTEXT_REL = f".tether/contexts/{CAMPAIGN}/session_context.yaml"
SETTINGS_REL = ".claude/settings.json"
RESULT_RELS = ("results/brand-validator.yaml", "results/audience-analyzer.json")
CASE_DIRS = {"repo", "tmp"}  # all a case may hold besides what escapes the repository
# The kinds of damage (a Verdict's reason starts with one) that the reporting command must name, in
# CI and in the bench: "value" is an enum, a key or a path the docs rule out; "format" an ISO time or
# a date that is not one, or index.json not of its shape (its digests, its count).
CHECKED_CATEGORIES = ("syntax", "type", "missing", "value", "state", "format")
ALL_CATEGORIES = CHECKED_CATEGORIES
MEMORY_MB = 2048


# -- environment ---------------------------------------------------------------------------

def child_env(home: Path, pycache: Path | None = None, now: str = CASE_NOW) -> dict[str, str]:
    """What every tether process sees: no user home, git config or TETHER_* from outside."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TETHER_", "GIT_")) and k not in ("PYTHONDONTWRITEBYTECODE", "XDG_CONFIG_HOME")}
    env.update({
        "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"), "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Fuzz Author", "GIT_AUTHOR_EMAIL": "author@example.invalid",
        "GIT_COMMITTER_NAME": "Fuzz Committer", "GIT_COMMITTER_EMAIL": "committer@example.invalid",
        "GIT_AUTHOR_DATE": f"{BUILD_DAY}T09:00:00Z", "GIT_COMMITTER_DATE": f"{BUILD_DAY}T09:00:00Z",
        "TETHER_NOW": now, "TETHER_FSYNC": "0", "TETHER_DEVICE": "fuzz", "TETHER_SESSION_ID": "S-fuzz",
        "LC_ALL": "C.UTF-8",
    })
    if pycache is not None:  # thousands of short processes: keep their bytecode instead of recompiling
        env["PYTHONPYCACHEPREFIX"] = str(pycache)
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _limit_memory() -> None:
    # An alias bomb must end as a MemoryError in that process, not as a machine out of memory.
    try:
        import resource

        limit = MEMORY_MB * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, ValueError, OSError):
        pass


class Run(NamedTuple):
    argv: list
    code: int | None  # None: killed at the timeout
    out: bytes
    err: bytes
    seconds: float

    @property
    def hung(self) -> bool:
        return self.code is None

    def shown(self) -> str:
        return "tether " + " ".join(_quote(a) for a in self.argv)

    def err_tail(self, lines: int = 6) -> str:
        text = self.err.decode("utf-8", "replace").rstrip()
        if not text and self.code not in (0, None):
            text = self.out.decode("utf-8", "replace").rstrip()  # --json errors are on stdout
        return "\n".join(line[:300] for line in text.splitlines()[-lines:])


def _quote(arg: str) -> str:
    return arg if re.fullmatch(r"[\w@%+=:,./-]+", arg) else "'" + arg.replace("'", "'\\''") + "'"


def run_tether(argv: list[str], cwd: Path, env: dict[str, str], stdin: bytes | None = None,
               timeout: float = 20.0) -> Run:
    start = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "tether", *argv], cwd=cwd, env=env,
                            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
                            preexec_fn=_limit_memory)
    try:
        out, err = proc.communicate(stdin, timeout=timeout)
        code: int | None = proc.returncode
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # its git children too
        except ProcessLookupError:
            pass
        out, err = proc.communicate()
        code = None
    return Run(argv, code, out, err, time.monotonic() - start)


def git(cwd: Path, env: dict[str, str], *args: str) -> str:
    proc = subprocess.run(["git", "-C", str(cwd), *args], capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout


# -- the workspace every case starts from --------------------------------------------------

ITEMS = [f"doc{i:02}.pdf" for i in range(1, 21)]
FIRST_RESULT = """\
skill_result:
  skill: content-worker
  status: success
  invocation_id: inv-content-worker-1
  outputs:
    summary: Drafted the announcement
    artifacts:
      - {type: draft_x_post, path: .gtm/CAMP-1/drafts/x_post.md, status: pending_review}
  context_updates:
    knowledge:
      protocol: {name: Yield.xyz, tvl: $50M, chains: [ethereum, arbitrum]}
      past_learnings: [Thread format outperforms single posts]
    pending_decisions:
      - question: Can we mention specific APY ranges?
        context: Vaults show 5-15% APY but rates fluctuate
        options: ["Yes, with a disclaimer", "No"]
    compute: {tokens_used: 30000}
  next_suggested: brand-validator
"""
NEXT_RESULTS = {
    RESULT_RELS[0]: """\
skill_result:
  skill: brand-validator
  status: success
  invocation_id: inv-brand-validator-1
  outputs:
    summary: Checked the drafts against the brand rules
    artifacts:
      - {type: validation_report, path: .gtm/CAMP-1/reports/brand.md, status: final}
  context_updates:
    validations:
      brand_validator: {status: pass, issues: []}
    knowledge:
      audience: {primary_segment: builders, secondary_segment: yield_seekers}
    pending_decisions:
      - question: Can we name the partner?
        context: They have not confirmed yet
        options: ["Yes", "Not yet"]
    compute: {tokens_used: 4000}
  next_suggested: content-worker
""",
    RESULT_RELS[1]: json.dumps({
        "skill": "audience-analyzer", "base_revision": 3, "invocation_id": "inv-audience-1",
        "knowledge": {"product": {"chains_supported": 28, "features": {"swap": True, "lending": False}}},
        "validations": {"audience_analyzer": {"status": "pass", "notes": "Segments match"}},
        "compute": {"tokens_used": 5000}}, indent=2) + "\n",
}
# A person's own settings, with a tether hook an earlier install wrote with another path (install replaces it).
USER_SETTINGS = {"model": "opus", "permissions": {"allow": ["Bash(git status)"]},
                 "hooks": {"Stop": [{"hooks": [{"type": "command", "command": "echo stopped"}]}],
                           "SessionStart": [{"matcher": "startup", "hooks": [{"type": "command", "command": "date"}]}],
                           "PreCompact": [{"matcher": "manual|auto", "hooks": [
                               {"type": "command", "command": "/old/venv/bin/tether hook claude-code", "timeout": 30}]}]}}


def _build_steps() -> list[tuple[str, list[str], str | None]]:
    """(time, argv, stdin) of every command that makes the workspace, in order."""
    t = iter(f"{BUILD_DAY}T{9 + m // 60:02}:{m % 60:02}:00Z" for m in range(1, 200))
    return [
        (next(t), ["init"], None),
        (next(t), ["task", "start", "Summarise 20 documents", "--id", "ITEMS", "-d", "Summarise every PDF in docs/",
                   "-c", "each doc has a summary", "--items-file", "items.txt"], None),
        (next(t), ["checkpoint", "--done", "1-5", "--state", "docs 1-5 summarised", "--next", "summarise doc06",
                   "--data", "output=out/summaries.md", "--file", "out/summaries.md: 5 summaries",
                   "--result", "summaries-1-5.md=@out/summaries.md"], None),
        (next(t), ["checkpoint", "--done", "6-12", "--state", "doc 13 half done", "--data", "last_output=out/doc13.md",
                   "--next", "finish doc13", "--next", "summarise doc14", "--note", "slow OCR"], None),
        (next(t), ["task", "start", "Release 1.0", "--id", "STEPS", "-s", "write notes", "-s", "tag", "-s", "publish",
                   "-s", "announce"], None),
        (next(t), ["checkpoint", "--done", "1", "--state", "notes written", "--next", "tag"], None),
        (next(t), ["task", "start", "Set up the pipeline", "--id", "DONE", "-s", "install", "-s", "configure"], None),
        (next(t), ["checkpoint", "--done", "all", "--state", "pipeline ready", "--status", "completed"], None),
        (next(t), ["decide", "Summary length?", "--decision", "One paragraph", "--rationale", "readers skim",
                   "--who", "@frans", "--id", "D-length"], None),
        (next(t), ["decide", "Which model?", "--decision", "the small one", "--task", "ITEMS"], None),
        (next(t), ["note", "phase", "Phase 1: summarising"], None),
        (next(t), ["note", "gotcha", "doc07.pdf is a scanned image: OCR first"], None),
        (next(t), ["note", "dont", "Do not re-summarise finished documents"], None),
        (next(t), ["note", "blocker", "Waiting for the docs of batch 2"], None),
        (next(t), ["note", "note", "The client prefers British spelling"], None),
        (next(t), ["note", "learning", "Ask for the source files first"], None),
        (next(t), ["ctx", "init", "--campaign", CAMPAIGN, "--owner", "@phil", "--id", "session-fuzz-001",
                   "--title", "Yield.xyz launch", "--tier", "2", "--type", "content_generation",
                   "--description", "Announce the Yield.xyz integration", "--assigned-to", "content-worker",
                   "--objective", "Posts for X and the blog", "--boundary", "Only channels: X, Blog",
                   "--boundary", "No APY claims without verified source", "--out-of-scope", "Paid promotion",
                   "--max-skill-calls", "10", "--max-tokens", "100000", "--deadline", "2026-11-30T12:00:00Z"], None),
        (next(t), ["ctx", "apply", "-", "--campaign", CAMPAIGN], FIRST_RESULT),
        (next(t), ["ctx", "escalate", "Approve a blog post as well?", "--campaign", CAMPAIGN, "--option", "Yes",
                   "--option", "No"], None),
        (next(t), ["ctx", "decide", "decision-001", "--decision", "Yes", "--by", "@phil", "--campaign", CAMPAIGN], None),
        (next(t), ["checkpoint", "--task", "ITEMS", "--done", "13", "--state", "doc 13 done",
                   "--next", "summarise doc14"], None),
        # recorded after the last checkpoint: what makes the PreCompact hook checkpoint again
        (next(t), ["note", "gotcha", "doc14.pdf has two appendices to summarise too"], None),
        (next(t), ["close", "--summary", "Summarised docs 1-13", "--completed", "DONE", "--next", "finish docs 14-20"],
         None),
    ]


def _build_in_this_process(dest: Path) -> None:
    """Make the workspace with tether's own commands, run in this (isolated) process.

    Random suffixes are drawn from a seeded generator so that every build is byte for byte
    the same: a case's byte offsets then mean the same thing on every run and machine.
    """
    import contextlib
    import io

    os.environ["TETHER_FSYNC"] = "0"
    try:
        from tether.model import ids
    except ImportError:  # the flat layout of older commits (bench_fuzz can run them)
        from tether import ids
    from tether.cli.main import main

    draw = random.Random(DEFAULT_SEED)
    ids.random_suffix = lambda length=6: "".join(draw.choice(ids._ALPHABET) for _ in range(length))
    repo = dest / "repo"
    repo.mkdir(parents=True)
    env = dict(os.environ)
    git(repo, env, "init", "-q", "-b", "main")
    git(repo, env, "config", "commit.gpgsign", "false")
    (repo / "README.md").write_text("# Project\n\nSummaries of the client's documents.\n")
    (repo / "items.txt").write_text("\n".join(ITEMS) + "\n")
    (repo / "out").mkdir()
    (repo / "out" / "summaries.md").write_text("".join(f"- {d}: summary\n" for d in ITEMS[:5]))
    (repo / ".claude").mkdir()
    (repo / SETTINGS_REL).write_text(json.dumps(USER_SETTINGS, indent=2) + "\n")
    git(repo, env, "add", "-A")
    git(repo, env, "commit", "-q", "-m", "initial")
    os.chdir(repo)
    for when, argv, stdin in _build_steps():
        os.environ["TETHER_NOW"] = when
        if argv == ["close", "--summary", "Summarised docs 1-13", "--completed", "DONE", "--next",
                    "finish docs 14-20"]:
            with open(repo / ".tether" / "CONTEXT.md", "a", encoding="utf-8") as fh:  # a person's own notes
                fh.write("\n## Team notes\n\nWritten by hand: the client reviews on Fridays.\n")
        out, err = io.StringIO(), io.StringIO()
        saved = sys.stdin
        sys.stdin = io.TextIOWrapper(io.BytesIO((stdin or "").encode("utf-8")), encoding="utf-8")
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = main(argv)
        finally:
            sys.stdin = saved
        if code != 0:
            raise SystemExit(f"building the fuzz workspace: tether {' '.join(argv)} exited {code}: {err.getvalue()}")
    for rel, text in NEXT_RESULTS.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text, encoding="utf-8")
    git(repo, env, "add", "-A")
    git(repo, env, "commit", "-q", "-m", "tether state")


@dataclass
class Template:
    """The built workspace and the facts cases need about it."""

    root: Path  # holds repo/
    facts: dict

    @property
    def repo(self) -> Path:
        return self.root / "repo"


def build_template(dest: Path) -> Template:
    """Build the workspace in a child process (its own environment, one interpreter start)."""
    dest.mkdir(parents=True, exist_ok=True)
    home = dest / "home"
    home.mkdir(exist_ok=True)
    env = child_env(home, now=f"{BUILD_DAY}T09:00:00Z")
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--build", str(dest)], env=env,
                          capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise RuntimeError(f"building the fuzz workspace failed:\n{proc.stdout}\n{proc.stderr}")
    return Template(dest, _facts(dest / "repo"))


def _facts(repo: Path) -> dict:
    store = repo / ".tether"
    checkpoints = {task: sorted(p.stem for p in (store / "tasks" / task / "checkpoints").glob("CKP-*.md"))
                   for task in ("ITEMS", "STEPS", "DONE")}
    notes = [json.loads(line) for line in (store / "context.jsonl").read_text().splitlines() if line.strip()]
    newest = store / "tasks" / "ITEMS" / "checkpoints" / (checkpoints["ITEMS"][-1] + ".md")
    done = re.search(r'^done: "([^"]*)"$', newest.read_text(), re.M).group(1)
    return {
        "checkpoints": checkpoints,
        "items_done": done,
        "decisions": sorted(p.stem for p in (store / "decisions").glob("*.md")),
        "note_ids": [n["id"] for n in notes if "id" in n and n.get("kind") != "phase"],
        "progress_dates": sorted(p.stem for p in (store / "progress").glob("????-??-??.md")),
    }


def copy_template(template: Template, dest: Path, clone: bool) -> Path:
    """A fresh copy of the workspace; ``clone``: without the per-machine local/ and locks/, as a new clone has."""
    ignore = shutil.ignore_patterns("local", "locks") if clone else None

    def skip(folder: str, names: list[str]) -> set[str]:
        if ignore is None or not folder.endswith(os.sep + ".tether"):
            return set()
        return set(ignore(folder, names))

    shutil.copytree(template.repo, dest / "repo", symlinks=True, ignore=skip)
    return dest / "repo"


# -- reference readers: docs/formats.md, read strictly --------------------------------------

class Verdict(NamedTuple):
    valid: bool | None        # None: the docs leave it open, nothing is checked
    reason: str = ""          # "<category>: <what>", categories: syntax, type, value, missing, state
    names: tuple = ()         # repo-relative paths a report may name instead of the file itself


VALID = Verdict(True)
UNCLEAR = Verdict(None)
TIME_FIELDS = ("time", "time?")


def _bad(category: str, what: str, *names: str) -> Verdict:
    return Verdict(False, f"{category}: {what}", tuple(names))


def _decode(data: bytes) -> str | Verdict:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return _bad("syntax", f"invalid UTF-8 at line {line}")


def _marker_line(text: str) -> int | None:
    for number, line in enumerate(text.split("\n"), 1):
        if line.startswith(("<<<<<<< ", ">>>>>>> ")):
            return number
    return None


def _json(text: str) -> tuple[object, Verdict | None]:
    try:
        return json.loads(text), None  # NaN and Infinity as Python reads them: fields' types catch them
    except RecursionError:
        return None, _bad("syntax", "nested too deep to read")
    except json.JSONDecodeError as exc:
        return None, _bad("syntax", f"invalid JSON at line {exc.lineno}")
    except ValueError as exc:  # an integer of thousands of digits
        return None, _bad("syntax", "unreadable number: " + str(exc).split(":")[0][:60])


PLAIN = (str, int, float, bool, type(None))
MAX_DEPTH = 100           # formats.md: "a value nested more than 100 levels deep"
MAX_VALUES = 1_000_000    # formats.md: "aliases that expand to more than a million values"


def _hostile(value) -> Verdict | None:
    """What a parser accepts but is not plain data (formats.md, "Malformed files"): a lone
    surrogate, nesting past the limit, a value that contains itself, YAML's binary, dates,
    sets and pairs, or more values than the limit once aliases are expanded."""
    stack = [(value, frozenset(), 0)]
    seen = 0
    while stack:
        item, above, depth = stack.pop()
        seen += 1
        if seen > MAX_VALUES:
            return _bad("syntax", "more values than the limit once aliases are expanded")
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return _bad("syntax", "a lone surrogate in a string")
        elif isinstance(item, (dict, list)):
            if depth >= MAX_DEPTH:
                return _bad("syntax", "nested deeper than the limit")
            if id(item) in above:
                return _bad("syntax", "a value that contains itself (recursive alias)")
            inner = above | {id(item)}
            for key, child in (item.items() if isinstance(item, dict) else enumerate(item)):
                if isinstance(item, dict):
                    if type(key) not in PLAIN:
                        return _bad("syntax", "a key that is not text or a number")
                    stack.append((key, inner, depth + 1))
                stack.append((child, inner, depth + 1))
        elif type(item) not in PLAIN:
            return _bad("syntax", f"a YAML value that is not plain data ({type(item).__name__})")
    return None


def _is_time(value) -> bool:
    if not isinstance(value, str):
        return False
    try:
        datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _is_ranges(value) -> bool:
    for part in value.split(","):
        part = part.strip()
        if not part:
            continue
        match = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not match:
            return False
        low = int(match.group(1))
        high = int(match.group(2) or low)
        if low < 1 or high < low:
            return False
    return True


def _type_ok(kind, value) -> bool:
    if kind in ("str", "ranges", "date"):
        return isinstance(value, str)
    if kind == "str?":
        return value is None or isinstance(value, str)
    if kind == "time":
        return isinstance(value, str)
    if kind == "time?":
        return value is None or isinstance(value, str)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "list[str]":
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if kind == "dict[str,str]":
        return isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())
    if isinstance(kind, tuple):  # an enum of strings
        return isinstance(value, str)
    raise AssertionError(kind)


def _value_ok(kind, value) -> bool:
    if kind in TIME_FIELDS:
        return value is None or _is_time(value)
    if kind == "ranges":
        return _is_ranges(value)
    if kind == "date":
        return bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}", value))
    if isinstance(kind, tuple):
        return value in kind
    return True


def _fields(record: dict, spec: dict, required: tuple, where: str = "") -> Verdict | None:
    for key in required:
        if key not in record:
            return _bad("missing", f"{where}field '{key}'")
    for key, kind in spec.items():
        if key not in record:
            continue
        value = record[key]
        if not _type_ok(kind, value):
            shown = type(value).__name__
            if isinstance(value, (list, dict)) and kind in ("list[str]", "dict[str,str]"):
                shown += " with an item that is not a string"
            return _bad("type", f"{where}field '{key}' is {shown}")
        if not _value_ok(kind, value):
            what = kind.rstrip("?") if isinstance(kind, str) else "choice"
            category = "format" if kind in TIME_FIELDS or kind == "date" else "value"
            return _bad(category, f"{where}field '{key}' is not a valid {what}")
    return None


TASK = {"id": "str", "title": "str", "created": "time", "status": ("open", "complete", "archived"),
        "kind": ("steps", "items"), "closed": "time?", "created_by": "str?", "definition": "str",
        "criteria": "list[str]", "units": "list[str]"}
CHECKPOINT = {"id": "str", "name": "str", "task": "str", "number": "int", "created": "time",
              "status": ("in_progress", "completed", "blocked"), "done": "ranges", "current_state": "str",
              "key_data": "dict[str,str]", "files": "list[str]", "next": "list[str]", "note": "str",
              "results": "list[str]", "device": "str?", "session": "str?", "parents": "list[str]",
              "automatic": "str?", "anchors": "dict[str,str]", "state_from": "str?"}
DECISION = {"id": "str", "question": "str", "decision": "str", "when": "time", "rationale": "str",
            "who": "str?", "task": "str?", "anchors": "dict[str,str]"}
NOTE = {"id": "str", "kind": ("phase", "gotcha", "dont", "blocker", "note", "learning"), "text": "str",
        "at": "time", "by": "str?", "task": "str?", "anchors": "dict[str,str]"}
RESOLVE = {"resolve": "str", "at": "time"}
CONFIRM = {"confirm": "str", "at": "time", "anchors": "dict[str,str]"}
EVENT = {"at": "time", "event": "str"}  # the fields of the memory log tether reads
LATEST = {"date": "date", "file": "str", "sha": "str?", "summary": "str", "next_steps": "list[str]",
          "completed": "list[str]", "session": "str", "generated_at": "time"}


def front_matter(data: bytes) -> tuple[dict | None, Verdict | None]:
    """The front matter mapping, as formats.md describes it: ``key: <JSON>`` lines, else YAML."""
    text = _decode(data)
    if isinstance(text, Verdict):
        return None, text
    if _marker_line(text):
        return None, _bad("syntax", f"conflict marker at line {_marker_line(text)}")
    if not text.startswith("---\n"):
        return None, _bad("syntax", "no front matter")
    end = text.find("\n---\n", 3)
    if end < 0:
        if not text.endswith("\n---"):
            return None, _bad("syntax", "front matter never closed")
        end = len(text) - 4
    block = text[4:end + 1]
    meta: dict = {}
    for line in block.splitlines():
        key, sep, value = line.partition(": ")
        if not sep or not key.isidentifier():
            break
        parsed, problem = _json(value)
        if problem is not None:
            break
        meta[key] = parsed
    else:
        hostile = _hostile(meta)
        return (None, hostile) if hostile else (meta, None)
    import yaml  # written by hand in another YAML style

    try:
        meta = yaml.load(block, Loader=_yaml_loader())
    except yaml.YAMLError:
        return None, _bad("syntax", "invalid YAML front matter")
    except (ValueError, RecursionError, TypeError) as exc:
        return None, _bad("syntax", f"unreadable YAML value ({type(exc).__name__})")
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        return None, _bad("syntax", "front matter is not a mapping")
    return (None, _hostile(meta)) if _hostile(meta) else (meta, None)


def check_task(data: bytes, rel: str) -> Verdict:
    meta, problem = front_matter(data)
    if problem:
        return problem
    problem = _fields(meta, TASK, ("id", "title", "created"))
    if problem:
        return problem
    if meta["id"] != rel.split("/")[-2]:
        return _bad("value", "id is not the folder's name")
    return VALID


def check_checkpoint(data: bytes, rel: str) -> Verdict:
    meta, problem = front_matter(data)
    if problem:
        return problem
    problem = _fields(meta, CHECKPOINT, ("id", "name", "task", "number", "created"))
    if problem:
        return problem
    stem = rel.rsplit("/", 1)[-1].removesuffix(".md")
    if meta["name"] != stem:
        return _bad("value", "name is not the file's stem")
    if meta["number"] != int(stem.split("-")[1]):
        return _bad("value", "number is not the file's number")
    if meta["task"] != rel.split("/")[-3]:
        return _bad("value", "task is not the folder's task")
    return VALID


def check_decision(data: bytes, rel: str) -> Verdict:
    meta, problem = front_matter(data)
    if problem:
        return problem
    return _fields(meta, DECISION, ("id", "question", "decision", "when")) or VALID


def _jsonl(data: bytes, check_row: Callable[[dict], Verdict | None], first_line: int = 1) -> Verdict:
    for number, raw in enumerate(data.split(b"\n"), first_line):
        if not raw.strip():
            continue
        text = _decode(raw)
        if isinstance(text, Verdict):
            return _bad("syntax", f"invalid UTF-8 at line {number}")
        if text.startswith(("<<<<<<< ", ">>>>>>> ", "||||||| ")) or text.strip() == "=======":
            return _bad("syntax", f"conflict marker at line {number}")
        row, problem = _json(text)
        if problem:
            return Verdict(False, f"{problem.reason} (line {number})")
        if not isinstance(row, dict):
            return _bad("syntax", f"line {number} is not a JSON object")
        problem = _hostile(row) or check_row(row)
        if problem:
            return Verdict(False, f"{problem.reason} (line {number})")
    return VALID


def _note_row(row: dict) -> Verdict | None:
    if "resolve" in row:
        return _fields(row, RESOLVE, ("resolve", "at"), "resolution ")
    if "confirm" in row and any(k not in row for k in ("id", "kind", "text", "at")):
        return _fields(row, CONFIRM, ("confirm", "at"), "confirmation ")
    return _fields(row, NOTE, ("id", "kind", "text", "at"))


def _event_row(row: dict) -> Verdict | None:
    return _fields(row, EVENT, ("at", "event"))


def _journal_row(row: dict) -> Verdict | None:
    problem = _fields(row, CHECKPOINT, ("id", "name", "task", "number", "created"), "journal ")
    if problem:
        return problem
    if not re.fullmatch(r"CKP-\d+-[0-9a-z]+", row["name"]):
        return _bad("value", "journal name is not a checkpoint's name")
    return None


def check_notes(data: bytes, rel: str) -> Verdict:
    return _jsonl(data, _note_row)


def check_events(data: bytes, rel: str) -> Verdict:
    return _jsonl(data, _event_row)


def check_journal(data: bytes, rel: str) -> Verdict:
    return _jsonl(data, _journal_row)


def _json_document(data: bytes) -> tuple[object, Verdict | None]:
    text = _decode(data)
    if isinstance(text, Verdict):
        return None, text
    if _marker_line(text):
        return None, _bad("syntax", f"conflict marker at line {_marker_line(text)}")
    value, problem = _json(text)
    if problem:
        return None, problem
    return value, _hostile(value)


def check_latest(data: bytes, rel: str) -> Verdict:
    value, problem = _json_document(data)
    if problem:
        return problem
    if not isinstance(value, dict):
        return _bad("type", "not a JSON object")
    return _fields(value, LATEST, tuple(LATEST)) or VALID  # every field must be there


def check_index(data: bytes, rel: str) -> Verdict:
    """The manifest's shape is a format kind: formats.md does not list index.json among the files
    whose fields are type-checked on read, and `index --check` finds one that does not match."""
    value, problem = _json_document(data)
    if problem:
        return problem
    if not isinstance(value, dict):
        return _bad("format", "not a JSON object")
    problem = _fields(value, {"schema": "int", "generator": "str", "count": "int"}, ("files", "count"))
    if problem:
        return Verdict(False, "format: " + problem.reason)
    files = value["files"]
    if not isinstance(files, dict):
        return _bad("format", f"field 'files' is {type(files).__name__}")
    for path, digest in files.items():
        if not isinstance(digest, str):
            return _bad("format", "a file's hash is not a string")
        if not re.fullmatch(r"sha256:[0-9a-f]{64}", digest):
            return _bad("format", "a file's hash is not sha256:<64 hex digits>")
    if value["count"] != len(files):
        return _bad("format", "count is not the number of files")
    return VALID


def check_text(data: bytes, rel: str) -> Verdict:
    """CONTEXT.md and the dated progress logs: Markdown for people; UTF-8 without conflict markers."""
    text = _decode(data)
    if isinstance(text, Verdict):
        return text
    line = _marker_line(text)
    return _bad("syntax", f"conflict marker at line {line}") if line else VALID


CONFIG = {"boot": {"budget": "int", "reading_order": "list[str]", "long_break_days": "int"},
          "context": {"document": "str"}, "hooks": {"checkpoint_every": "int", "checkpoint_before_risky": "bool"},
          "secrets": {"allow": "list[str]"},
          "audit": {"checkpoint_hours": "number", "checkpoint_events": "int", "busy_tool_calls": "int",
                    "busy_files": "int", "recent_days": "number", "phrases": "list[str]"},
          "recall": {"model": "str", "backend": "str", "query_prefix": "str", "document_prefix": "str"}}


def check_config(data: bytes, rel: str) -> Verdict:
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    text = _decode(data)
    if isinstance(text, Verdict):
        return text
    try:
        config = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return _bad("syntax", "invalid TOML")
    except (ValueError, RecursionError) as exc:
        return _bad("syntax", f"unreadable TOML value ({type(exc).__name__})")
    problem = _hostile(config)
    if problem:
        return problem
    if "schema" in config:
        if not _type_ok("int", config["schema"]):
            return _bad("type", "schema is not a whole number")
        if config["schema"] != 1:
            return UNCLEAR  # another layout: a newer tether's, or one init migrates
    for key, value in config.items():
        if key != "schema" and key not in CONFIG:
            return _bad("value", f"unknown key {key!r}")
        if key in CONFIG:
            if not isinstance(value, dict):
                return _bad("type", f"[{key}] is not a table")
            unknown = sorted(set(value) - set(CONFIG[key]))
            if unknown:
                return _bad("value", f"unknown key {key}.{unknown[0]}")
            problem = _fields(value, CONFIG[key], (), f"{key}.")
            if problem:
                return problem
    boot = config.get("boot", {})
    if boot.get("budget") is not None and boot["budget"] < 100:
        return _bad("value", "boot.budget is below 100")
    if boot.get("long_break_days") is not None and boot["long_break_days"] < 1:
        return _bad("value", "boot.long_break_days is below 1")
    every = config.get("hooks", {}).get("checkpoint_every")
    if every is not None and not 0 <= every <= 10_000:
        return _bad("value", "hooks.checkpoint_every is outside 0-10000")
    audit = config.get("audit", {})
    for key in ("checkpoint_hours", "recent_days"):
        if audit.get(key) is not None and not 0 < audit[key] <= 100_000:
            return _bad("value", f"audit.{key} is not above 0")
    for key, least in (("checkpoint_events", 0), ("busy_tool_calls", 1), ("busy_files", 1)):
        if audit.get(key) is not None and not least <= audit[key] <= 10_000_000:
            return _bad("value", f"audit.{key} is below {least}")
    if "phrases" in audit and (not audit["phrases"] or any(not p.strip() or len(p) > 200 for p in audit["phrases"])):
        return _bad("value", "audit.phrases holds an empty or over-long phrase")
    recall = config.get("recall", {})
    if "model" in recall and (not recall["model"].strip() or "\n" in recall["model"]):
        return _bad("value", "recall.model is empty")
    if recall.get("backend") not in (None, "tether", "sentence-transformers"):
        return _bad("value", "recall.backend is neither tether nor sentence-transformers")
    if any(len(recall.get(key, "")) > 200 for key in ("query_prefix", "document_prefix")):
        return _bad("value", "a recall prefix is over 200 characters")
    if any(not re.fullmatch(r"[0-9a-f]{40}", h) for h in config.get("secrets", {}).get("allow", [])):
        return _bad("value", "secrets.allow holds something that is not a hash of 40 hex digits")
    document = config.get("context", {}).get("document")
    if document == "":
        return _bad("value", "context.document is empty")
    if document is not None and _leaves_repository(document):
        return _bad("value", "context.document leads out of the repository or into .git/")
    if any(_leaves_repository(path) for path in boot.get("reading_order", [])):
        return UNCLEAR  # left out of the brief and named by boot; the config itself stays valid
    return VALID


def _leaves_repository(path: str) -> bool:
    """Absolute, above the root, or with a .git part (formats.md, "What tether refuses")."""
    parts = path.replace("\\", "/").split("/")
    return (path.startswith("/") or os.path.normpath(path).startswith("..")
            or any(part.lower() == ".git" for part in parts))


def _yaml_loader():
    """A safe YAML loader that keeps timestamps as the strings they were written as (what formats.md shows)."""
    import yaml

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class Loader(base):  # type: ignore[misc, valid-type]
        pass

    Loader.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in base.yaml_implicit_resolvers.items()}
    return Loader


def load_yaml(data: bytes) -> tuple[object, Verdict | None]:
    import yaml

    text = _decode(data)
    if isinstance(text, Verdict):
        return None, text
    if _marker_line(text):
        return None, _bad("syntax", f"conflict marker at line {_marker_line(text)}")
    try:
        value = yaml.load(text, Loader=_yaml_loader())
    except yaml.YAMLError:
        return None, _bad("syntax", "invalid YAML")
    except (ValueError, RecursionError, TypeError) as exc:
        return None, _bad("syntax", f"unreadable YAML value ({type(exc).__name__})")
    return value, _hostile(value)


_SCHEMAS: dict = {}


def _schema_problem(name: str, value) -> Verdict | None:
    """The published JSON Schema (src/tether/campaign/*.schema.json) is the format's definition."""
    if name not in _SCHEMAS:
        from jsonschema import Draft202012Validator, FormatChecker

        import tether

        checker = FormatChecker(formats=())
        checker.checks("iso8601")(lambda v: not isinstance(v, str) or _is_time(v))
        path = Path(tether.__file__).parent / "campaign" / f"{name}.schema.json"
        _SCHEMAS[name] = Draft202012Validator(json.loads(path.read_text()), format_checker=checker)
    try:
        error = next(iter(_SCHEMAS[name].iter_errors(value)), None)
    except RecursionError:
        return _bad("syntax", "nested too deep to validate")
    if error is None:
        return None
    where = ".".join(str(p) for p in error.absolute_path) or "(top level)"
    category = "type" if error.validator == "type" else "missing" if error.validator == "required" else "value"
    return _bad(category, f"{where}: {error.validator}")


def check_session_context(data: bytes, rel: str) -> Verdict:
    value, problem = load_yaml(data)
    if problem:
        return problem
    if not isinstance(value, dict) or not isinstance(value.get("session_context"), dict):
        return _bad("type", "no session_context mapping at the top")
    return _schema_problem("session_context", value) or VALID


SKILL_UPDATE_KEYS = ("knowledge", "pending_decisions", "validations", "compute", "history", "decisions_made",
                     "campaign", "active_task")


def check_skill_result(data: bytes, rel: str) -> Verdict:
    value, problem = load_yaml(data)
    if problem:
        return problem
    if isinstance(value, dict) and len(value) == 1 and next(iter(value)) in ("skill_result", "context_update"):
        value = next(iter(value.values()))
    if not isinstance(value, dict):
        return _bad("type", "a skill result must be a mapping")
    problem = _schema_problem("skill_result", value)
    if problem:
        return problem
    if not value.get("skill"):
        return _bad("missing", "the result names no skill")
    inner = value.get("context_updates") or {}
    if isinstance(inner, dict):
        for key in SKILL_UPDATE_KEYS:
            if key in value and key in inner:
                return _bad("value", f"{key} given twice")
    return VALID


HOOK_EVENTS = ("SessionStart", "PreCompact", "SessionEnd", "UserPromptSubmit")


def check_settings(data: bytes, rel: str) -> Verdict:
    text = _decode(data)
    if isinstance(text, Verdict):
        return text
    if not text.strip():
        return VALID  # an empty file is an empty object to install into
    value, problem = _json(text)
    if problem:
        # Beyond what Python reads (thousands of digits, deep nesting) refusing and keeping are both fine.
        return UNCLEAR if "unreadable number" in problem.reason or "too deep" in problem.reason else problem
    if _hostile(value):
        return UNCLEAR
    if not isinstance(value, dict):
        return _bad("type", "not a JSON object")
    hooks = value.get("hooks", {})
    if not isinstance(hooks, dict):
        return _bad("type", "hooks is not an object")
    for event in HOOK_EVENTS:
        if event in hooks and not isinstance(hooks[event], list):
            return _bad("type", f"hooks.{event} is not a list")
    return VALID


HOOK_FIELDS = {"SessionStart": ("source",), "PreCompact": ("trigger", "custom_instructions"), "SessionEnd": ("reason",),
               "UserPromptSubmit": ()}


def check_hook_input(data: bytes, rel: str) -> Verdict:
    """What docs/claude-code.md says the hook refuses: not UTF-8, not a JSON object, a value it
    cannot use, a field it reads that is not a string, a cwd with a NUL."""
    text = _decode(data)
    if isinstance(text, Verdict):
        return text
    if not text.strip():
        return UNCLEAR  # tether reads nothing as an empty event; the docs do not say
    value, problem = _json(text)
    if problem:
        return problem
    problem = _hostile(value)
    if problem:
        return problem
    if not isinstance(value, dict):
        return _bad("type", "not a JSON object")
    name = value.get("hook_event_name") or value.get("event")
    if name is not None and not isinstance(name, str):
        return UNCLEAR  # a field it reads, so refused; or no event it handles, so ignored: the docs say both
    if name not in HOOK_EVENTS:
        return VALID  # ignored whatever else it holds
    read = ("session_id", "cwd", "transcript_path", *HOOK_FIELDS[name])
    for key in read:
        if value.get(key) is not None and not isinstance(value[key], str):
            return _bad("type", f"{key} is not a string")
    if "\0" in (value.get("cwd") or ""):
        return _bad("value", "cwd holds a NUL")
    if name == "UserPromptSubmit" and "\0" in (value.get("transcript_path") or ""):
        return _bad("value", "transcript_path holds a NUL")  # the transcript it reads
    if any(value.get(key) is None for key in read if key in value):
        return UNCLEAR  # null where a string is read: the docs do not say
    return VALID


def reference_for(rel: str) -> Callable[[bytes, str], Verdict] | None:
    """The reference reader of a repository-relative path, or None for files of no documented format."""
    if not rel.startswith(".tether/"):
        return {SETTINGS_REL: check_settings}.get(rel)
    inner = rel[len(".tether/"):]
    if inner.startswith(("local/", "locks/")) or inner.endswith(".tmp"):
        return None
    if re.fullmatch(r"tasks/[^/]+/task\.md", inner):
        return check_task
    if re.fullmatch(r"tasks/[^/]+/checkpoints/CKP-[^/]+\.md", inner):
        return check_checkpoint
    if re.fullmatch(r"tasks/[^/]+/checkpoints\.jsonl", inner):
        return check_journal
    if re.fullmatch(r"decisions/[^/]+\.md", inner):
        return check_decision
    if re.fullmatch(r"contexts/[^/]+/session_context\.yaml", inner):
        return check_session_context
    return {"context.jsonl": check_notes, "memory/events.jsonl": check_events, "progress/LATEST.json": check_latest,
            "index.json": check_index, "CONTEXT.md": check_text, "tether.toml": check_config}.get(
        inner, check_text if re.fullmatch(r"progress/\d{4}-\d{2}-\d{2}\.md", inner) else None)


def markers_verdict(repo: Path) -> Verdict:
    """open/ holds one empty marker per open task and nothing else (formats.md, "open/<task-id>")."""
    store = repo / ".tether"
    statuses = {}
    for folder in sorted((store / "tasks").iterdir()) if (store / "tasks").is_dir() else []:
        path = folder / "task.md"
        if path.is_file():
            meta, problem = front_matter(path.read_bytes())
            statuses[folder.name] = meta.get("status", "open") if problem is None else None
    names = sorted(os.listdir(store / "open")) if (store / "open").is_dir() else []
    unclear = False
    for name in names:
        rel = f".tether/open/{name}"
        if name.startswith("."):
            continue
        if (store / "open" / name).is_dir():
            return _bad("state", "a directory where a marker should be", rel)
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", name):
            unclear = True  # a name that is no id: the docs do not say
            continue
        if name not in statuses:
            return _bad("state", "a marker without a task", rel)
        if statuses[name] not in ("open", None):
            return _bad("state", "a marker of a task that is not open", rel)
        if (store / "open" / name).stat().st_size:
            unclear = True
    for task, status in statuses.items():
        if status == "open" and task not in names:
            return _bad("state", "an open task without its marker", f".tether/tasks/{task}/task.md")
    return UNCLEAR if unclear else VALID


# -- mutations ---------------------------------------------------------------------------------

class Hostile(NamedTuple):
    label: str
    json: str
    yaml: str
    toml: str | None


def _deep(opening: str, inner: str, closing: str, depth: int = 5000) -> str:
    return opening * depth + inner + closing * depth


HOSTILE = [
    Hostile("int", "7", "7", "7"),
    Hostile("zero", "0", "0", "0"),
    Hostile("negative int", "-1", "-1", "-1"),
    Hostile("float", "1.5", "1.5", "1.5"),
    Hostile("bool", "true", "true", "true"),
    Hostile("null", "null", "null", None),
    Hostile("empty string", '""', '""', '""'),
    Hostile("list", '[1, "a"]', '[1, "a"]', '[1, "a"]'),
    Hostile("dict", '{"a": 1}', '{"a": 1}', "{a = 1}"),
    Hostile("huge int (5000 digits)", "9" * 5000, "9" * 5000, "9" * 5000),
    Hostile("deep list (depth 5000)", _deep("[", "", "]"), _deep("[", "", "]"), _deep("[", "", "]")),
    Hostile("deep dict (depth 5000)", _deep('{"a": ', "1", "}"), _deep('{"a": ', "1", "}"), _deep("{a = ", "1", "}")),
    Hostile("lone surrogate", '"\\ud800"', '"\\ud800"', '"\\ud800"'),
    Hostile("long string (200000 chars)", '"' + "x" * 200_000 + '"', '"' + "x" * 200_000 + '"',
            '"' + "x" * 200_000 + '"'),
    Hostile("NaN", "NaN", ".nan", "nan"),
    Hostile("infinity", "1e999", ".inf", "inf"),
    Hostile("string with a newline", '"a\\nb"', '"a\\nb"', '"a\\nb"'),
    Hostile("string with NUL", '"a\\u0000b"', '"a\\0b"', '"a\\u0000b"'),
    Hostile("path out of the repository", '"../fuzz-escape.md"', '"../fuzz-escape.md"', '"../fuzz-escape.md"'),
    Hostile("conflict-marker string", '"<<<<<<< theirs"', '"<<<<<<< theirs"', '"<<<<<<< theirs"'),
]


class Mutation(NamedTuple):
    op: str                 # write | delete | directory | custom
    data: bytes | None
    desc: str
    apply: Callable[[Path], None] | None = None


def _lines(data: bytes) -> list[bytes]:
    return data.splitlines(keepends=True)


def m_flip(data: bytes, rng: random.Random) -> Mutation:
    if not data:
        return Mutation("write", b"\xff", "flip: one byte 0xff in an empty file")
    buf = bytearray(data)
    spots = sorted(rng.randrange(len(buf)) for _ in range(rng.randint(1, 4)))
    for spot in spots:
        buf[spot] ^= rng.choice([1, 2, 4, 8, 16, 32, 64, 128, rng.randrange(1, 256)])
    return Mutation("write", bytes(buf), f"flip bytes at offsets {spots}")


def m_truncate(data: bytes, rng: random.Random) -> Mutation:
    cut = rng.randrange(len(data)) if data else 0
    return Mutation("write", data[:cut], f"truncate at byte {cut} of {len(data)}")


def m_delete_line(data: bytes, rng: random.Random) -> Mutation:
    lines = _lines(data)
    if not lines:
        return m_flip(data, rng)
    i = rng.randrange(len(lines))
    return Mutation("write", b"".join(lines[:i] + lines[i + 1:]), f"delete line {i + 1}")


def m_duplicate_line(data: bytes, rng: random.Random) -> Mutation:
    lines = _lines(data)
    if not lines:
        return m_flip(data, rng)
    i = rng.randrange(len(lines))
    line = lines[i] if lines[i].endswith(b"\n") else lines[i] + b"\n"
    return Mutation("write", b"".join(lines[:i] + [line] + lines[i:]), f"duplicate line {i + 1}")


def m_swap_lines(data: bytes, rng: random.Random) -> Mutation:
    lines = _lines(data)
    if len(lines) < 2:
        return m_flip(data, rng)
    i = rng.randrange(len(lines) - 1)
    a, b = lines[i], lines[i + 1]
    if not b.endswith(b"\n"):
        a, b = a.rstrip(b"\n"), b + b"\n"
    return Mutation("write", b"".join(lines[:i] + [b, a] + lines[i + 2:]), f"swap lines {i + 1} and {i + 2}")


INVALID_UTF8 = [b"\xff", b"\xc3\x28", b"\x80", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\xe9"]


def m_invalid_utf8(data: bytes, rng: random.Random) -> Mutation:
    seq = rng.choice(INVALID_UTF8)
    at = rng.randrange(len(data) + 1)
    while at < len(data) and (data[at] & 0xC0) == 0x80:  # not inside a character: the damage is the sequence itself
        at += 1
    return Mutation("write", data[:at] + seq + data[at:], f"invalid UTF-8 {seq!r} at byte {at}")


def m_nul(data: bytes, rng: random.Random) -> Mutation:
    at = rng.randrange(len(data) + 1)
    while at < len(data) and (data[at] & 0xC0) == 0x80:
        at += 1
    return Mutation("write", data[:at] + b"\0" * rng.choice([1, 64]) + data[at:], f"NUL bytes at byte {at}")


def m_conflict(data: bytes, rng: random.Random) -> Mutation:
    lines = _lines(data) or [b"\n"]
    if not lines[-1].endswith(b"\n"):
        lines[-1] += b"\n"
    i = rng.randrange(len(lines))
    j = min(len(lines), i + rng.randint(1, 3))
    theirs = [m_flip(line, rng).data or b"" for line in lines[i:j]]
    theirs = [t if t.endswith(b"\n") else t + b"\n" for t in theirs]
    block = [b"<<<<<<< HEAD\n", *lines[i:j], b"=======\n", *theirs, b">>>>>>> theirs\n"]
    return Mutation("write", b"".join(lines[:i] + block + lines[j:]), f"conflict markers around lines {i + 1}-{j}")


def m_empty(data: bytes, rng: random.Random) -> Mutation:
    return Mutation("write", b"", "empty file")


def m_crlf(data: bytes, rng: random.Random) -> Mutation:
    return Mutation("write", data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"), "CRLF line ends")


def m_bom(data: bytes, rng: random.Random) -> Mutation:
    return Mutation("write", b"\xef\xbb\xbf" + data, "UTF-8 byte order mark")


def m_long_line(data: bytes, rng: random.Random) -> Mutation:
    lines = _lines(data)
    i = rng.randrange(len(lines) + 1)
    return Mutation("write", b"".join(lines[:i] + [b"y" * 300_000 + b"\n"] + lines[i:]),
                    f"a line of 300000 bytes before line {i + 1}")


def m_none(data: bytes, rng: random.Random) -> Mutation:
    """The control: the state as built, which every check must pass."""
    return Mutation("none", None, "none (control)")


def m_directory(data: bytes, rng: random.Random) -> Mutation:
    return Mutation("directory", None, "a directory in place of the file")


def m_delete(data: bytes, rng: random.Random) -> Mutation:
    return Mutation("delete", None, "file deleted")


def m_symlink_out(data: bytes, rng: random.Random) -> Mutation:
    """The file as a symlink to a file outside the repository (a hostile clone): reading it is the file's
    business, writing through it is writing outside the repository."""
    return Mutation("symlink", data, "a symlink to a file outside the repository (same content)")


BYTE_MUTATIONS = [m_flip, m_flip, m_truncate, m_truncate, m_delete_line, m_duplicate_line, m_swap_lines,
                  m_invalid_utf8, m_invalid_utf8, m_nul, m_conflict, m_conflict, m_empty, m_crlf, m_bom,
                  m_long_line, m_directory, m_delete, m_symlink_out]
STREAM_MUTATIONS = [m for m in BYTE_MUTATIONS if m not in (m_directory, m_delete, m_symlink_out)]

# -- structured mutations: JSON values -------------------------------------------------------

SENTINEL = "\x00FUZZ\x00"


def _paths(value, path: tuple = (), depth: int = 0) -> list[tuple]:
    out = [path]
    if depth >= 6:
        return out
    if isinstance(value, dict):
        for key, child in value.items():
            out += _paths(child, path + (key,), depth + 1)
    elif isinstance(value, list):
        for i, child in enumerate(value[:20]):
            out += _paths(child, path + (i,), depth + 1)
    return out


def _replace(value, path: tuple, new):
    if not path:
        return new
    value = copy.deepcopy(value)
    holder = value
    for part in path[:-1]:
        holder = holder[part]
    holder[path[-1]] = new
    return value


def _render(value, literal: str, style: str) -> str:
    if style == "canonical":
        text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    elif style == "field":
        text = json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    else:
        text = json.dumps(value, ensure_ascii=False, indent=int(style))
    return text.replace(json.dumps(SENTINEL), literal)


def _shown_path(where: str, path: tuple) -> str:
    return ".".join([where] * bool(where) + [str(p) for p in path]) or "(the whole value)"


class _JsonSlot(NamedTuple):
    """One JSON value inside a file, and how to put it back."""

    value: object
    style: str
    put: Callable[[str], bytes]
    where: str


def _json_slots(data: bytes, kind: str) -> list[_JsonSlot]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return []
    if kind in ("json", "stdin", "settings"):
        value, problem = _json(text)
        if problem:
            return []
        style = "2" if kind in ("settings", "stdin") else ("1" if '\n "' in text else "2")
        return [_JsonSlot(value, style, lambda s: s.encode("utf-8", "surrogatepass"), "")]
    lines = text.split("\n")
    slots = []
    if kind == "jsonl":
        for i, line in enumerate(lines):
            value, problem = _json(line) if line.strip() else (None, VALID)
            if problem is None:
                def put(s, i=i):
                    return "\n".join(lines[:i] + [s] + lines[i + 1:]).encode("utf-8", "surrogatepass")
                slots.append(_JsonSlot(value, "canonical", put, f"line {i + 1}"))
    elif kind == "frontmatter":
        if lines[:1] != ["---"] or "---" not in lines[1:]:
            return []
        end = lines.index("---", 1)
        for i in range(1, end):
            key, sep, raw = lines[i].partition(": ")
            value, problem = _json(raw) if sep else (None, VALID)
            if problem is None:
                def put(s, i=i, key=key):
                    return "\n".join(lines[:i] + [f"{key}: {s}"] + lines[i + 1:]).encode("utf-8", "surrogatepass")
                slots.append(_JsonSlot(value, "field", put, key))
    return slots


def m_wrong_type(data: bytes, rng: random.Random, kind: str) -> Mutation:
    slots = _json_slots(data, kind)
    if not slots:
        return m_flip(data, rng)
    slot = rng.choice(slots)
    paths = _paths(slot.value)
    if len(paths) > 1 and kind in ("json", "stdin", "settings"):
        paths = paths[1:]  # the whole document has its own mutation
    path = rng.choice(paths)
    hostile = rng.choice(HOSTILE)
    text = _render(_replace(slot.value, path, SENTINEL), hostile.json, slot.style)
    return Mutation("write", slot.put(text), f"wrong type: {_shown_path(slot.where, path)} <- {hostile.label}")


def m_drop_field(data: bytes, rng: random.Random, kind: str) -> Mutation:
    if kind == "frontmatter":
        return _drop_front_matter_line(data, rng)
    slots = [s for s in _json_slots(data, kind) if any(isinstance(v, dict) and v for v in _values(s.value))]
    if not slots:
        return m_delete_line(data, rng)
    slot = rng.choice(slots)
    holders = [p for p in _paths(slot.value) if isinstance(_get(slot.value, p), dict) and _get(slot.value, p)]
    path = rng.choice(holders)
    key = rng.choice(sorted(_get(slot.value, path)))
    value = copy.deepcopy(slot.value)
    del _get(value, path)[key]
    return Mutation("write", slot.put(_render(value, "", slot.style)),
                    f"field dropped: {_shown_path(slot.where, path + (key,))}")


def _drop_front_matter_line(data: bytes, rng: random.Random) -> Mutation:
    lines = data.split(b"\n")
    if lines[:1] != [b"---"] or b"---" not in lines[1:]:
        return m_delete_line(data, rng)
    end = lines.index(b"---", 1)
    if end < 2:
        return m_delete_line(data, rng)
    i = rng.randrange(1, end)
    key = lines[i].partition(b":")[0].decode("utf-8", "replace")
    return Mutation("write", b"\n".join(lines[:i] + lines[i + 1:]), f"field dropped: {key}")


def _values(value):
    return [_get(value, p) for p in _paths(value)]


def _get(value, path: tuple):
    for part in path:
        value = value[part]
    return value


def m_add_field(data: bytes, rng: random.Random, kind: str) -> Mutation:
    hostile = rng.choice(HOSTILE)
    if kind == "frontmatter":
        lines = data.split(b"\n")
        if lines[:1] != [b"---"]:
            return m_flip(data, rng)
        at = rng.randrange(1, max(2, lines.index(b"---", 1) if b"---" in lines[1:] else 2))
        line = f"fuzz_unknown: {hostile.json}".encode("utf-8", "surrogatepass")
        return Mutation("write", b"\n".join(lines[:at] + [line] + lines[at:]), f"unknown field <- {hostile.label}")
    slots = [s for s in _json_slots(data, kind) if isinstance(s.value, dict)]
    if not slots:
        return m_duplicate_line(data, rng)
    slot = rng.choice(slots)
    value = dict(slot.value, fuzz_unknown=SENTINEL)
    return Mutation("write", slot.put(_render(value, hostile.json, slot.style)),
                    f"unknown field: {_shown_path(slot.where, ('fuzz_unknown',))} <- {hostile.label}")


def m_replace_root(data: bytes, rng: random.Random, kind: str) -> Mutation:
    slots = _json_slots(data, kind)
    if not slots:
        return m_flip(data, rng)
    slot = rng.choice(slots)
    hostile = rng.choice(HOSTILE)
    return Mutation("write", slot.put(hostile.json), f"whole value: {_shown_path(slot.where, ())} <- {hostile.label}")


def m_append_hostile(data: bytes, rng: random.Random, kind: str) -> Mutation:
    """A log line copied from the last one with one value made hostile, appended as a writer would."""
    slots = _json_slots(data, kind)
    if not slots:
        return m_flip(data, rng)
    slot = slots[-1]
    path = rng.choice(_paths(slot.value)[1:] or [()])
    hostile = rng.choice(HOSTILE)
    line = _render(_replace(slot.value, path, SENTINEL), hostile.json, "canonical").encode("utf-8", "surrogatepass")
    base = data if data.endswith(b"\n") or not data else data + b"\n"
    return Mutation("write", base + line + b"\n", f"appended line: {_shown_path('', path)} <- {hostile.label}")


def m_yaml_style(data: bytes, rng: random.Random) -> Mutation:
    """A front matter line rewritten in plain YAML style, as a person edits by hand (still valid)."""
    lines = data.split(b"\n")
    slots = _json_slots(data, "frontmatter")
    candidates = [i for i, line in enumerate(lines[1:], 1) if re.fullmatch(rb'\w+: "[^"\\]*"', line)]
    if not slots or not candidates:
        return m_flip(data, rng)
    i = rng.choice(candidates)
    key, _, value = lines[i].partition(b": ")
    lines[i] = key + b": " + value[1:-1] + rng.choice([b"", b"  # edited"])
    return Mutation("write", b"\n".join(lines), f"YAML style (unquoted) on line {i + 1}")


YAML_TAGS = ["!!binary aGVsbG8=", "!!python/object/apply:os.system ['true']", "!!timestamp 2026-01-01T00:00:00Z",
             "!!set {a: null}", "!!float 1", "!!int x", "!custom x", "*undefined_alias", "&fuzz 5", "!!str 7",
             "!!omap [{a: 1}]", "? complex key"]


def _alias_bomb(levels: int = 6, width: int = 10) -> str:
    parts = ["&l0 [" + ", ".join(["fuzz"] * width) + "]"]
    for level in range(1, levels):
        parts.append(f"&l{level} [" + ", ".join([f"*l{level - 1}"] * width) + "]")
    return "[" + ", ".join(parts) + "]"


YAML_LINE = re.compile(r"^(\s*)(- )?([A-Za-z_][\w.-]*):(?: (.*))?$")
YAML_ITEM = re.compile(r"^(\s*)- (?![\w.-]+:)(.+)$")


def _yaml_slot(data: bytes, rng: random.Random) -> tuple[list[str], int, int, str] | None:
    """(lines, first line, end of its block, prefix) of a key or list item whose value is replaced."""
    try:
        lines = data.decode("utf-8").split("\n")
    except UnicodeDecodeError:
        return None
    candidates = [i for i, line in enumerate(lines) if YAML_LINE.match(line) or YAML_ITEM.match(line)]
    if not candidates:
        return None
    i = rng.choice(candidates)
    match = YAML_LINE.match(lines[i])
    if match:
        indent = len(match.group(1)) + (2 if match.group(2) else 0)
        prefix = f"{match.group(1)}{match.group(2) or ''}{match.group(3)}: "
        end = i + 1
        if not match.group(4):  # a block follows: it goes with the value
            while end < len(lines) and (not lines[end].strip() or _indent(lines[end]) > indent
                                        or (_indent(lines[end]) == indent and lines[end].lstrip().startswith("- "))):
                end += 1
        return lines, i, end, prefix
    item = YAML_ITEM.match(lines[i])
    return lines, i, i + 1, f"{item.group(1)}- "


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _yaml_put(data: bytes, rng: random.Random, literal: str, label: str) -> Mutation:
    slot = _yaml_slot(data, rng)
    if slot is None:
        return m_flip(data, rng)
    lines, i, end, prefix = slot
    new = lines[:i] + [prefix + literal] + lines[end:]
    return Mutation("write", "\n".join(new).encode("utf-8", "surrogatepass"),
                    f"{label} at line {i + 1} ({prefix.strip()})")


def m_yaml_wrong_type(data: bytes, rng: random.Random) -> Mutation:
    hostile = rng.choice(HOSTILE)
    return _yaml_put(data, rng, hostile.yaml, f"wrong type <- {hostile.label}")


def m_yaml_tag(data: bytes, rng: random.Random) -> Mutation:
    tag = rng.choice(YAML_TAGS)
    return _yaml_put(data, rng, tag, f"YAML tag {tag!r}")


def m_alias_bomb(data: bytes, rng: random.Random) -> Mutation:
    return _yaml_put(data, rng, _alias_bomb(), "alias bomb (10^6 leaves)")


def m_recursive_alias(data: bytes, rng: random.Random) -> Mutation:
    return _yaml_put(data, rng, rng.choice(["&fuzzr [*fuzzr]", "&fuzzr {a: *fuzzr}"]), "recursive alias")


def m_tab_indent(data: bytes, rng: random.Random) -> Mutation:
    lines = data.split(b"\n")
    candidates = [i for i, line in enumerate(lines) if line.startswith(b"  ")]
    if not candidates:
        return m_flip(data, rng)
    i = rng.choice(candidates)
    lines[i] = b"\t" + lines[i][2:]
    return Mutation("write", b"\n".join(lines), f"tab indentation on line {i + 1}")


def m_multi_document(data: bytes, rng: random.Random) -> Mutation:
    return Mutation("write", data + b"---\nsecond: document\n", "a second YAML document")


def m_front_matter_tag(data: bytes, rng: random.Random) -> Mutation:
    lines = data.split(b"\n")
    if lines[:1] != [b"---"] or b"---" not in lines[1:]:
        return m_flip(data, rng)
    end = lines.index(b"---", 1)
    if end < 2:
        return m_flip(data, rng)
    i = rng.randrange(1, end)
    key = lines[i].partition(b":")[0]
    tag = rng.choice(YAML_TAGS + [_alias_bomb(), "&fuzzr [*fuzzr]"])
    lines[i] = key + b": " + tag.encode()
    return Mutation("write", b"\n".join(lines), f"YAML in front matter: {key.decode('utf-8', 'replace')} <- {tag[:40]!r}")


TOML_LINE = re.compile(r"^(\s*)([A-Za-z0-9_.-]+)(\s*=\s*)(.*)$")


def m_toml_wrong_type(data: bytes, rng: random.Random) -> Mutation:
    try:
        lines = data.decode("utf-8").split("\n")
    except UnicodeDecodeError:
        return m_flip(data, rng)
    candidates = [i for i, line in enumerate(lines) if TOML_LINE.match(line)]
    hostile = rng.choice([h for h in HOSTILE if h.toml is not None])
    if not candidates:
        return m_flip(data, rng)
    i = rng.choice(candidates)
    match = TOML_LINE.match(lines[i])
    lines[i] = f"{match.group(1)}{match.group(2)}{match.group(3)}{hostile.toml}"
    return Mutation("write", "\n".join(lines).encode("utf-8", "surrogatepass"),
                    f"wrong type: {match.group(2)} <- {hostile.label} (line {i + 1})")


def m_toml_table(data: bytes, rng: random.Random) -> Mutation:
    choice = rng.choice(["boot = 5\n", "context = \"x\"\n", "[boot]\nbudget = 3000\n", "[[boot]]\n"])
    at_end = choice.startswith("[")
    text = data + b"\n" + choice.encode() if at_end else choice.encode() + data
    return Mutation("write", text, f"TOML table clash: {choice.strip()!r}")


def m_toml_path(data: bytes, rng: random.Random) -> Mutation:
    """context.document where a hostile config puts it: out of the repository, or onto a directory."""
    value = rng.choice(["../fuzz-escape.md", ".tether/../../fuzz-escape.md", "..", ".tether", "", ".git"])
    text, count = re.subn(rb"(?m)^document = .*$", b"document = " + json.dumps(value).encode(), data)
    if not count:
        text = data + b'\n[context]\ndocument = ' + json.dumps(value).encode() + b"\n"
    return Mutation("write", text, f"context.document = {value!r}")


def m_event_name(data: bytes, rng: random.Random) -> Mutation:
    slots = _json_slots(data, "stdin")
    if not slots or not isinstance(slots[0].value, dict):
        return m_flip(data, rng)
    value = dict(slots[0].value)
    key = "hook_event_name" if "hook_event_name" in value else "event"
    name = rng.choice(["PreToolUse", "sessionstart", "", "SessionStart ", "Notification", "SessionStart\u0000"])
    value[key] = name
    return Mutation("write", slots[0].put(_render(value, "", slots[0].style)), f"event name {name!r}")


def _bind(fn, kind: str):
    """``fn`` for one kind of file, under ``fn``'s name (a case names its mutation)."""
    def mutate(data, rng):
        return fn(data, rng, kind)
    mutate.__name__ = fn.__name__
    return mutate


def _structured(kind: str) -> list:
    wrong = _bind(m_wrong_type, kind)
    return [wrong, wrong, wrong, wrong, _bind(m_drop_field, kind), _bind(m_add_field, kind)]


def _markers_mutations() -> list:
    def custom(name: str, desc: str, action: Callable[[Path], None]):
        def mutate(data, rng):
            return Mutation("custom", None, desc, action)
        mutate.__name__ = name
        return mutate

    def rename(repo):
        (repo / ".tether/open/ITEMS").rename(repo / ".tether/open/GHOST")

    def drop(repo):
        (repo / ".tether/open/STEPS").unlink()

    def closed(repo):
        (repo / ".tether/open/DONE").write_bytes(b"")

    def content(repo):
        (repo / ".tether/open/ITEMS").write_bytes(b"<<<<<<< HEAD\nnot empty\n")

    def directory(repo):
        (repo / ".tether/open/ITEMS").unlink()
        (repo / ".tether/open/ITEMS").mkdir()
        (repo / ".tether/open/ITEMS/stray").write_bytes(b"x")

    def bad_name(repo):
        (repo / ".tether/open/bad name!").write_bytes(b"")

    def all_gone(repo):
        shutil.rmtree(repo / ".tether/open")

    def file_not_dir(repo):
        shutil.rmtree(repo / ".tether/open")
        (repo / ".tether/open").write_bytes(b"ITEMS\n")

    return [custom("m_marker_rename", "marker renamed to a task that does not exist (open/GHOST)", rename),
            custom("m_marker_drop", "marker of an open task deleted (open/STEPS)", drop),
            custom("m_marker_closed", "marker for a complete task (open/DONE)", closed),
            custom("m_marker_content", "marker that is not empty", content),
            custom("m_marker_directory", "a directory in place of a marker (open/ITEMS)", directory),
            custom("m_marker_bad_name", "a marker whose name is no id (open/'bad name!')", bad_name),
            custom("m_markers_gone", "open/ deleted", all_gone),
            custom("m_markers_file", "a file in place of open/", file_not_dir)]


YAML_MUTATIONS = [m_yaml_wrong_type, m_yaml_wrong_type, m_yaml_wrong_type, m_yaml_tag, m_yaml_tag, m_alias_bomb,
                  m_recursive_alias, m_tab_indent, m_multi_document]
MUTATIONS: dict[str, list] = {
    "frontmatter": BYTE_MUTATIONS + _structured("frontmatter") + [m_yaml_style, m_front_matter_tag, m_front_matter_tag],
    "jsonl": BYTE_MUTATIONS + _structured("jsonl") + [
        _bind(m_replace_root, "jsonl"), _bind(m_append_hostile, "jsonl"), _bind(m_append_hostile, "jsonl")],
    "json": BYTE_MUTATIONS + _structured("json") + [_bind(m_replace_root, "json")],
    "text": BYTE_MUTATIONS + [m_conflict, m_invalid_utf8],
    "toml": BYTE_MUTATIONS + [m_toml_wrong_type] * 6 + [m_toml_table, m_toml_path, m_toml_path],
    "yaml": BYTE_MUTATIONS + YAML_MUTATIONS + YAML_MUTATIONS,
    "result": BYTE_MUTATIONS + YAML_MUTATIONS + _structured("json"),
    "settings": BYTE_MUTATIONS + _structured("settings") + [_bind(m_replace_root, "settings")],
    "stdin": STREAM_MUTATIONS + _structured("stdin") + _structured("stdin") + [
        _bind(m_replace_root, "stdin"), m_event_name, m_event_name],
    "markers": _markers_mutations(),
}


# -- commands ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Command:
    name: str
    argv: tuple
    codes: frozenset             # the exit codes docs/reference.md lists for it
    json: bool = True            # takes --json
    stdin: str | None = None     # a hook event's name, "result" or "target" (the case's mutated bytes)
    kind: str = ""               # what else is checked around it


def _c(name, argv, codes, **kw) -> Command:
    return Command(name, tuple(argv), frozenset(codes), **kw)


COMMANDS = {c.name: c for c in [
    _c("boot", ["boot"], {0, 1, 3}),
    _c("boot-warm", ["boot"], {0, 1, 3}, kind="warm-boot"),
    _c("boot-sha", ["boot", "--sha", "HEAD"], {0, 1, 3}, kind="boot-sha"),
    _c("resume", ["resume", "{task}"], {0, 1, 3}),
    _c("task-list", ["task", "list"], {0, 1, 3}),
    _c("task-list-all", ["task", "list", "--all"], {0, 1, 3}),
    _c("task-status", ["task", "status", "{task}"], {0, 1, 3}),
    _c("task-status-ckp", ["task", "status", "{task}", "--checkpoint", "{ckp}"], {0, 1, 3}),
    _c("checkpoint", ["checkpoint", "--task", "{task}", "--done", "{n}", "--state", "fuzz state", "--next", "fuzz next"],
       {0, 1, 3}, kind="checkpoint"),  # 3: saved, a damaged task file or checkpoint met on the way
    _c("note-list", ["note", "list", "--all"], {0, 1, 3}),
    _c("note-add", ["note", "gotcha", "fuzz gotcha"], {0, 1}),
    _c("note-resolve", ["note", "resolve", "{note}"], {0, 1}),
    _c("decide-list", ["decide", "--list"], {0, 1, 3}),
    _c("decide-add", ["decide", "Fuzz question?", "--decision", "fuzz answer", "--task", "ITEMS"], {0, 1}),
    _c("log", ["log", "--limit", "3"], {0, 1}),
    _c("log-date", ["log", "--date", "{date}"], {0, 1}),
    _c("config", ["config"], {0, 1, 3}),
    _c("verify", ["verify"], {0, 1, 3}),
    _c("index-check", ["index", "--check"], {0, 1, 3}),
    _c("index-repair", ["index", "--repair"], {0, 1, 3}),  # 3: a file left with conflict markers, index.json as it was
    _c("close", ["close", "--summary", "fuzz close", "--next", "fuzz next step"], {0, 1}, kind="close"),
    _c("merge-driver", ["merge-driver", "../tmp/base", "../tmp/ours", "../tmp/theirs", "{path}"], {0, 1},
       json=False, kind="merge-driver"),
    _c("ctx-validate", ["ctx", "validate", "--campaign", CAMPAIGN], {0, 1, 3}, kind="ctx"),
    _c("ctx-show", ["ctx", "show", "--campaign", CAMPAIGN], {0, 1}, kind="ctx-strict"),
    _c("ctx-list", ["ctx", "list"], {0, 1, 3}),
    _c("ctx-for", ["ctx", "for", "content-worker", "--campaign", CAMPAIGN], {0, 1}, kind="ctx-strict"),
    _c("ctx-scope", ["ctx", "check-scope", "Also create a YouTube video script", "--campaign", CAMPAIGN],
       {0, 1, 4}, kind="ctx-strict"),
    _c("ctx-budget", ["ctx", "check-budget", "--cost", "2", "--tokens", "1000", "--campaign", CAMPAIGN], {0, 1, 4},
       kind="ctx-strict"),
    _c("ctx-decisions", ["ctx", "decisions", "--all", "--campaign", CAMPAIGN], {0, 1}, kind="ctx-strict"),
    _c("ctx-escalate", ["ctx", "escalate", "Fuzz question for the owner?", "--campaign", CAMPAIGN], {0, 1, 4},
       kind="ctx-strict"),
    _c("ctx-close", ["ctx", "close", "--summary", "fuzz", "--learning", "fuzz learning", "--campaign", CAMPAIGN],
       {0, 1}, kind="ctx-strict"),
    _c("ctx-init", ["ctx", "init", "--campaign", "CAMP-2", "--owner", "@fuzz"], {0, 1}),
    _c("ctx-apply", ["ctx", "apply", "{result}", "--campaign", CAMPAIGN], {0, 1, 4}, kind="apply"),
    _c("ctx-apply-stdin", ["ctx", "apply", "-", "--campaign", CAMPAIGN], {0, 1, 4}, stdin="result", kind="apply"),
    _c("install", ["install", "claude-code"], {0, 1}, kind="install"),
    _c("hook-start", ["hook", "claude-code"], {0, 1}, json=False, stdin="SessionStart", kind="hook"),
    _c("hook-precompact", ["hook", "claude-code"], {0, 1}, json=False, stdin="PreCompact", kind="hook"),
    _c("hook-end", ["hook", "claude-code"], {0, 1}, json=False, stdin="SessionEnd", kind="hook"),
    _c("hook-stdin", ["hook", "claude-code"], {0, 1}, json=False, stdin="target", kind="hook"),
]}


def hook_event(name: str, cwd: str) -> dict:
    """A hook input with the fields docs/claude-code.md says Claude Code sends."""
    event = {"session_id": "fuzz-session-0001", "transcript_path": "transcript.jsonl", "cwd": cwd,
             "hook_event_name": name}
    event.update({"SessionStart": {"source": "startup"},
                  "PreCompact": {"trigger": "manual", "custom_instructions": "keep the summaries"},
                  "SessionEnd": {"reason": "clear"}}.get(name, {}))
    return event


CWD_PLACEHOLDER = "@@CWD@@"  # the case's repository, put in after the mutation so offsets do not depend on it


def real_hook_inputs() -> list[dict]:
    """Claude Code's recorded hook inputs (../shared/bench), when present; read, never copied."""
    if not SHARED_HOOKS.is_file():
        return []
    events = []
    for line in SHARED_HOOKS.read_text(encoding="utf-8").splitlines():
        if line.strip():
            event = json.loads(line)
            if "cwd" in event:
                event["cwd"] = CWD_PLACEHOLDER
            events.append(event)
    return events


# -- targets: the parsers and files that are fuzzed ---------------------------------------------

def _pick_task(t: Template, rng: random.Random) -> str:
    return f".tether/tasks/{rng.choice(['ITEMS', 'ITEMS', 'STEPS', 'DONE'])}/task.md"


def _pick_checkpoint(t: Template, rng: random.Random) -> str:
    task = rng.choice(["ITEMS", "ITEMS", "ITEMS", "STEPS"])
    names = t.facts["checkpoints"][task]
    name = names[-1] if rng.random() < 0.6 else rng.choice(names)
    return f".tether/tasks/{task}/checkpoints/{name}.md"


@dataclass(frozen=True)
class Target:
    name: str
    kind: str                  # which mutations apply
    readers: tuple             # commands that read it
    reporter: str | None       # the command that must name it when it is damaged
    pick: Callable[[Template, random.Random], str]


def _fixed(rel: str):
    return lambda t, rng: rel


TARGETS = {t.name: t for t in [
    Target("task.md", "frontmatter", ("boot", "resume", "task-list", "task-list-all", "task-status", "checkpoint",
                                      "close", "hook-precompact", "boot-sha", "index-repair", "boot-warm"),
           "verify", _pick_task),
    Target("checkpoint", "frontmatter", ("boot", "resume", "task-status", "task-status-ckp", "checkpoint",
                                         "checkpoint", "hook-precompact", "boot-sha", "close", "task-list",
                                         "boot-warm"), "verify", _pick_checkpoint),
    Target("checkpoints.jsonl", "jsonl", ("checkpoint", "checkpoint", "boot", "resume", "task-status",
                                          "hook-precompact", "close"), "verify",
           lambda t, rng: f".tether/tasks/{rng.choice(['ITEMS', 'ITEMS', 'STEPS'])}/checkpoints.jsonl"),
    Target("decision", "frontmatter", ("boot", "decide-list", "decide-add", "close", "boot-sha", "boot-warm"), "verify",
           lambda t, rng: f".tether/decisions/{rng.choice(t.facts['decisions'])}.md"),
    Target("context.jsonl", "jsonl", ("boot", "note-list", "note-add", "note-resolve", "close", "boot-sha",
                                      "hook-start", "ctx-init", "boot-warm"), "verify", _fixed(".tether/context.jsonl")),
    Target("events.jsonl", "jsonl", ("boot", "close", "hook-start", "hook-end", "hook-precompact", "checkpoint",
                                     "boot-sha", "boot-warm"), "verify", _fixed(".tether/memory/events.jsonl")),
    Target("LATEST.json", "json", ("boot", "close", "index-check", "index-repair", "merge-driver", "hook-start",
                                   "boot-sha", "log", "boot-warm"), "verify", _fixed(".tether/progress/LATEST.json")),
    Target("progress log", "text", ("log", "log-date", "boot", "close", "boot-sha"), "verify",
           lambda t, rng: f".tether/progress/{t.facts['progress_dates'][-1]}.md"),
    Target("index.json", "json", ("index-check", "index-repair", "close", "merge-driver", "boot"), "verify",
           _fixed(".tether/index.json")),
    Target("CONTEXT.md", "text", ("boot", "close", "index-repair", "merge-driver", "index-check", "hook-start",
                                  "boot-warm"), "verify", _fixed(".tether/CONTEXT.md")),
    Target("tether.toml", "toml", ("config", "boot", "task-list", "checkpoint", "close", "hook-start", "note-add",
                                   "ctx-list", "boot-warm"), "verify", _fixed(".tether/tether.toml")),
    Target("open markers", "markers", ("boot", "task-list", "index-check", "index-repair", "close", "hook-start",
                                       "checkpoint"), "verify", _fixed(".tether/open")),
    Target("session_context.yaml", "yaml", ("ctx-show", "ctx-list", "ctx-for", "ctx-scope", "ctx-budget",
                                            "ctx-decisions", "ctx-apply", "ctx-escalate", "ctx-close", "boot"),
           "ctx-validate", _fixed(CONTEXT_REL)),
    Target("skill result", "result", ("ctx-apply", "ctx-apply-stdin"), "ctx-validate",
           lambda t, rng: rng.choice(RESULT_RELS)),
    Target("settings.json", "settings", ("install",), None, _fixed(SETTINGS_REL)),
    Target("hook stdin", "stdin", ("hook-stdin",), "verify", _fixed("<stdin>")),
]}
TARGET_ORDER = list(TARGETS)

# What a deleted file means, by target (formats.md): an absence that is a valid state, or damage.
ON_MISSING = {
    "task.md": lambda rel: _bad("state", "task folder without task.md", rel.rsplit("/", 1)[0]),
    "checkpoint": lambda rel: _bad("state", "journaled checkpoint's file missing",
                                   rel.split("/checkpoints/")[0] + "/checkpoints.jsonl"),
    "checkpoints.jsonl": lambda rel: UNCLEAR,
    "decision": lambda rel: VALID,
    "context.jsonl": lambda rel: VALID,
    "events.jsonl": lambda rel: VALID,
    "LATEST.json": lambda rel: UNCLEAR,
    "progress log": lambda rel: UNCLEAR,
    "index.json": lambda rel: UNCLEAR,
    "CONTEXT.md": lambda rel: VALID,
    "tether.toml": lambda rel: _bad("state", "tether.toml missing", rel),
    "session_context.yaml": lambda rel: UNCLEAR,
    "skill result": lambda rel: _bad("state", "result file missing", rel),
    "settings.json": lambda rel: VALID,
}


def assess(target: str, repo: Path, rel: str, stdin: bytes | None = None) -> Verdict:
    """The reference readers' verdict on the target as it is now."""
    if target == "open markers":
        return markers_verdict(repo)
    if target == "hook stdin":
        return check_hook_input(stdin or b"", rel)
    path = repo / rel
    if path.is_symlink() and rel.startswith(".tether/"):
        return _bad("state", "a symbolic link inside .tether/", rel)
    if path.is_dir():
        return _bad("state", "a directory where a file should be", rel)
    if not path.exists():
        return ON_MISSING[target](rel)
    return reference_for(rel)(path.read_bytes(), rel) if reference_for(rel) else check_skill_result(
        path.read_bytes(), rel)


# -- cases ----------------------------------------------------------------------------------------

@dataclass
class Case:
    seed: int
    index: int
    target: str
    path: str
    mutation: str
    commands: list
    json_flags: list
    clone: bool               # a fresh clone (or a machine restart): no local/ and locks/
    params: dict

    @property
    def id(self) -> str:
        return f"{self.seed}/{self.index}"

    def describe(self) -> str:
        return (f"case {self.id}: {self.target} ({self.path}), {self.mutation.removeprefix('m_')}, "
                f"{'fresh clone' if self.clone else 'same machine'}, then " + ", ".join(
                    f"{c}{' --json' if j else ''}" for c, j in zip(self.commands, self.json_flags)))


def make_case(seed: int, index: int, template: Template, commands_per_case: int = 2) -> Case:
    """Case INDEX of SEED: the same for every run on a template built by this code."""
    rng = random.Random(f"{seed}/{index}")
    target = TARGETS[TARGET_ORDER[index % len(TARGET_ORDER)]]
    path = target.pick(template, rng)
    mutation = rng.choice(MUTATIONS[target.kind])
    count = rng.randint(1, commands_per_case)
    chosen = rng.sample(target.readers, min(count, len(target.readers)))
    chosen = list(dict.fromkeys(chosen))
    if target.reporter:
        chosen = [c for c in chosen if c != target.reporter] + [target.reporter]
    flags = [COMMANDS[c].json and (c == target.reporter or rng.random() < 0.3) for c in chosen]
    task = path.split("/")[2] if target.name in ("task.md", "checkpoint") else "ITEMS"
    if target.name == "checkpoint":
        ckp = str(int(path.rsplit("/", 1)[-1].split("-")[1]))
    else:
        ckp = str(rng.randint(1, 3))
    done = {"ITEMS": ["14", "15-16", "20", "3", "all", "doc17.pdf", "13-14"], "STEPS": ["2", "2-3"],
            "DONE": ["1"]}[task]
    real = real_hook_inputs()
    synthetic = [hook_event(n, CWD_PLACEHOLDER) for n in HOOK_EVENTS]
    params = {
        "task": task, "ckp": ckp, "n": rng.choice(done), "note": rng.choice(template.facts["note_ids"]),
        "date": template.facts["progress_dates"][-1],
        "result": path if target.name == "skill result" else rng.choice(RESULT_RELS),
        # the hook's input: the documented fields, or one Claude Code recorded (when ../shared is there)
        "event": rng.choice(synthetic) if not real or rng.random() < 0.5 else rng.choice(real),
    }
    return Case(seed, index, target.name, path, mutation.__name__, chosen, flags, rng.random() < 0.4, params)


# -- running a case ---------------------------------------------------------------------------------

@dataclass
class Failure:
    kind: str        # crash, hang, unreported, progress, wrote-invalid, contract, escape
    case: Case
    mutation: str
    command: str
    code: int | None
    detail: str
    stderr: str = ""
    signature: str = ""

    def report(self) -> str:
        lines = [f"[{self.kind}] {self.case.target}: {self.detail}",
                 f"  {self.case.describe()}",
                 f"  mutation: {self.mutation}",
                 f"  command: {self.command} -> exit {'timeout' if self.code is None else self.code}"]
        if self.signature:
            lines.append(f"  signature: {self.signature}")
        if self.stderr:
            lines += ["  output:"] + [f"    {line}" for line in self.stderr.splitlines()]
        lines.append(f"  reproduce: .venv/bin/python tests/fuzzing.py --replay {self.case.id} --keep")
        return "\n".join(lines)


@dataclass
class CaseResult:
    case: Case
    mutation: str = ""
    runs: list = field(default_factory=list)        # (command name, Run)
    failures: list = field(default_factory=list)
    verdict: Verdict = UNCLEAR                     # of the target right after the mutation


def _outside(casedir: Path) -> dict[str, bytes]:
    folder = casedir / "tmp" / "outside"
    return {p.name: p.read_bytes() for p in folder.iterdir()} if folder.is_dir() else {}


def snapshot(repo: Path) -> dict[str, bytes | None]:
    """The repository's files (None for a directory in a file's place is not needed: directories are skipped)."""
    out = {}
    for folder, dirs, files in os.walk(repo):
        rel_folder = os.path.relpath(folder, repo)
        if rel_folder == ".":
            dirs[:] = [d for d in dirs if d != ".git"]
        if rel_folder == ".tether":
            dirs[:] = [d for d in dirs if d not in ("local", "locks")]
        for name in files:
            rel = os.path.normpath(os.path.join(rel_folder, name)).replace(os.sep, "/")
            try:
                with open(os.path.join(folder, name), "rb") as fh:
                    out[rel] = fh.read()
            except OSError:
                out[rel] = None
    return out


def _same(value) -> str:
    """A value's canonical JSON, so that NaN equals NaN when settings are compared."""
    return json.dumps(value, sort_keys=True, default=repr)


def _ranges(text: str, top: int = 20) -> set[int]:
    out: set[int] = set()
    for part in str(text).split(","):
        part = part.strip()
        if not part:
            continue
        low, _, high = part.partition("-")
        try:
            start, end = int(low), int(high or low)
        except ValueError:
            return set()
        out.update(range(max(start, 1), min(end, top) + 1))
    return out


ITEMS_UNITS = {name.lower(): i for i, name in enumerate(ITEMS, 1)}


def _spec_units(spec: str) -> set[int]:
    if spec == "all":
        return set(range(1, len(ITEMS) + 1))
    if spec.lower() in ITEMS_UNITS:
        return {ITEMS_UNITS[spec.lower()]}
    return _ranges(spec)


class Runner:
    """Runs cases against one template, each in a fresh copy under ``workdir``."""

    def __init__(self, template: Template, workdir: Path, timeout: float = 20.0, signatures: bool = True,
                 categories: tuple = CHECKED_CATEGORIES) -> None:
        self.template = template
        self.categories = categories
        self.workdir = workdir
        self.timeout = timeout
        self.signatures = signatures
        (workdir / "home").mkdir(parents=True, exist_ok=True)
        self.env = child_env(workdir / "home", workdir / "pycache")

    # -- one case ------------------------------------------------------------------------------
    def run(self, case: Case, keep: bool = False) -> CaseResult:
        casedir = self.workdir / f"case-{case.seed}-{case.index}"
        if casedir.exists():
            shutil.rmtree(casedir)
        casedir.mkdir(parents=True)
        (casedir / "tmp").mkdir()
        repo = copy_template(self.template, casedir, case.clone)
        result = CaseResult(case)
        try:
            self._run(case, casedir, repo, result)
        except Exception as exc:  # the harness's own bug: shown like a failure, so a long run goes on
            import traceback

            result.failures.append(Failure("harness", case, result.mutation, "(the harness)", None,
                                           f"{type(exc).__name__}: {exc}", traceback.format_exc(limit=4),
                                           f"harness: {type(exc).__name__}"))
        finally:
            if not keep:
                shutil.rmtree(casedir, ignore_errors=True)
        return result

    def _run(self, case: Case, casedir: Path, repo: Path, result: CaseResult) -> None:
        target = TARGETS[case.target]
        if "boot-warm" in case.commands:  # the cache a boot before the damage leaves
            self._exec(case, result, repo, casedir, "boot", False, None, check=True)
        stdin_bytes = None
        mrng = random.Random(f"{case.seed}/{case.index}/mutation")
        mutate = m_none if case.mutation == "m_none" else next(
            m for m in MUTATIONS[target.kind] if m.__name__ == case.mutation)
        if target.name == "hook stdin":
            base = json.dumps(case.params["event"], indent=2, ensure_ascii=False).encode("utf-8")
            mutation = mutate(base, mrng)
            # the control (no mutation, data None) sends the event as it is
            stdin_bytes = (base if mutation.data is None else mutation.data).replace(CWD_PLACEHOLDER.encode(), json.dumps(str(repo))[1:-1].encode())
        else:
            path = repo / case.path
            original = path.read_bytes() if path.is_file() else b""
            mutation = mutate(original, mrng)
            self._apply(mutation, path, repo, casedir)
        result.mutation = mutation.desc
        result.verdict = assess(case.target, repo, case.path, stdin_bytes)
        for name, as_json in zip(case.commands, case.json_flags):
            if name == target.reporter and name == case.commands[-1]:
                self._report(case, result, repo, casedir, name, stdin_bytes)
            else:
                self._exec(case, result, repo, casedir, name, as_json, stdin_bytes)

    @staticmethod
    def _apply(mutation: Mutation, path: Path, repo: Path, casedir: Path) -> None:
        if mutation.op == "none":
            return
        if mutation.op == "symlink":
            outside = casedir / "tmp" / "outside" / path.name
            outside.parent.mkdir(parents=True, exist_ok=True)
            outside.write_bytes(mutation.data)
            path.unlink(missing_ok=True)
            path.symlink_to(os.path.relpath(outside, path.parent))
            return
        if mutation.op == "custom":
            mutation.apply(repo)
        elif mutation.op == "delete":
            path.unlink(missing_ok=True)
        elif mutation.op == "directory":
            path.unlink(missing_ok=True)
            path.mkdir(parents=True)
            (path / "stray").write_bytes(b"x")
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(mutation.data)

    def _argv(self, case: Case, command: Command, as_json: bool) -> list[str]:
        values = dict(case.params, path=case.path)
        argv = [a.format(**values) if "{" in a else a for a in command.argv]
        return argv + (["--json"] if as_json else [])

    def _stdin(self, case: Case, command: Command, repo: Path, stdin_bytes: bytes | None) -> bytes | None:
        if command.stdin is None:
            return None
        if command.stdin == "target":
            return stdin_bytes
        if command.stdin == "result":
            path = repo / case.path if case.target == "skill result" else repo / case.params["result"]
            return path.read_bytes() if path.is_file() else b""
        return json.dumps(hook_event(command.stdin, str(repo))).encode("utf-8")

    def _exec(self, case: Case, result: CaseResult, repo: Path, casedir: Path, name: str, as_json: bool,
              stdin_bytes: bytes | None, check: bool = True) -> Run:
        command = COMMANDS[name]
        if command.kind == "boot-sha":
            git(repo, self.env, "add", "-A")
            git(repo, self.env, "commit", "-q", "--no-verify", "--allow-empty", "-m", "fuzz: the damage, committed")
        if command.kind == "merge-driver":
            original = self.template.repo / case.path
            for side in ("base", "theirs"):
                (casedir / "tmp" / side).write_bytes(original.read_bytes() if original.is_file() else b"")
            ours = repo / case.path
            (casedir / "tmp" / "ours").write_bytes(ours.read_bytes() if ours.is_file() else b"")
        verdict_before = assess(case.target, repo, case.path, stdin_bytes)
        before = snapshot(repo)
        outside_before = _outside(casedir)
        listing = self._listing(repo)
        argv = self._argv(case, command, as_json)
        run = run_tether(argv, repo, self.env, self._stdin(case, command, repo, stdin_bytes), self.timeout)
        result.runs.append((name, run))
        if not check:
            return run
        fail = self._failer(case, result, run)
        if run.hung:
            fail("hang", f"no exit after {self.timeout:g} s",
                 signature=f"hang: `tether {' '.join(command.argv[:2])}` after {case.mutation.removeprefix('m_')} "
                           f"on {case.target}")
            return run
        if run.code == 70 or b"Traceback (most recent call last)" in run.err or run.code not in command.codes:
            why = ("exit 70 (internal error)" if run.code == 70 else "a Python traceback" if b"Traceback" in run.err
                   else f"exit {run.code}, not one of {sorted(command.codes)}")
            fail("crash", why, signature=self._signature(run, repo, stdin=self._stdin(case, command, repo, stdin_bytes)))
            return run
        if as_json:
            self._check_json(run, fail)
        self._check_escape(casedir, fail, outside_before)
        after = snapshot(repo)
        self._check_written(before, after, fail)
        if command.kind == "checkpoint" or (command.kind == "hook" and self._event_name(case, command, stdin_bytes)
                                            == "PreCompact"):
            self._check_progress(case, repo, listing, verdict_before, run, fail)
        if command.kind == "install":
            self._check_install(case, verdict_before, before, after, run, fail)
        if command.kind == "apply":
            self._check_apply(case, repo, before, after, run, fail)
        if command.kind == "hook":
            self._check_hook(case, command, stdin_bytes, before, after, run, fail)
        if command.kind == "ctx-strict" and verdict_before.valid is False and case.target == "session_context.yaml" \
                and run.code in (0, 4):
            fail("unreported", f"used a session context that fails its schema ({verdict_before.reason})")
        if command.kind == "warm-boot":
            self._check_warm_boot(case, result, repo, run, as_json, fail)
        return run

    # -- the checks ----------------------------------------------------------------------------
    def _failer(self, case: Case, result: CaseResult, run: Run):
        def fail(kind: str, detail: str, signature: str = "") -> None:
            result.failures.append(Failure(kind, case, result.mutation, run.shown(), run.code, detail, run.err_tail(),
                                           signature or re.sub(r"\d+", "N", re.sub(
                                               r"CKP-\d+-[0-9a-z]+", "CKP-*", f"{case.target}: {detail}"))))
        return fail

    @staticmethod
    def _check_json(run: Run, fail) -> None:
        try:
            data = json.loads(run.out)
        except ValueError:
            fail("contract", "--json output is not one JSON object")
            return
        if not isinstance(data, dict) or not isinstance(data.get("ok"), bool):
            fail("contract", "--json output has no 'ok'")
        elif data["ok"] is False and data.get("exit_code") != run.code:
            fail("contract", f"--json error says exit_code {data.get('exit_code')!r}, the process exited {run.code}")
        elif run.code in (1, 2) and data["ok"] is not False:
            fail("contract", f"exit {run.code} with ok: true")
        elif run.err.strip():
            fail("contract", "--json printed on stderr too")

    @staticmethod
    def _check_escape(casedir: Path, fail, outside_before: dict) -> None:
        strays = sorted(set(os.listdir(casedir)) - CASE_DIRS)
        if strays:
            fail("escape", f"wrote outside the repository: {strays}", signature=f"wrote outside the repository")
            for name in strays:
                path = casedir / name
                shutil.rmtree(path) if path.is_dir() else path.unlink()
        outside = _outside(casedir)
        if outside != outside_before:
            changed = sorted(n for n in set(outside) | set(outside_before) if outside.get(n) != outside_before.get(n))
            fail("escape", f"wrote through a symlink to a file outside the repository: {changed}",
                 signature="wrote through a symlink out of the repository")

    @staticmethod
    def _check_written(before: dict, after: dict, fail) -> None:
        for rel, new in sorted(after.items()):
            old = before.get(rel)
            if new is None or new == old:
                continue
            check = reference_for(rel)
            if check is None:
                continue
            if old and new.startswith(old) and rel.endswith((".jsonl", ".md")) and (
                    rel.endswith(".jsonl") or "/progress/" in rel):
                start = len(old)
                if rel.endswith(".jsonl") and not old.endswith(b"\n"):
                    # the torn last line and what followed it: completed, or glued to the new entry
                    start = old.rfind(b"\n") + 1
                    junction = new[start:new.find(b"\n", len(old)) + 1 or len(new)]
                    if check(junction, rel).valid is False:
                        fail("wrote-invalid", f"{rel}: appended to a torn last line (the new entry is glued to it)",
                             signature=f"append glued to a torn line: {re.sub(r'ITEMS|STEPS|DONE', 'TASK', rel)}")
                        continue
                verdict = check(new[start:], rel)
            else:
                if old is not None and check(old, rel).valid is False:
                    continue  # it was damaged already: what the case did, not what tether wrote
                verdict = check(new, rel)
            if verdict.valid is False:
                general = re.sub(r"CKP-\d+-[0-9a-z]+", "CKP-*", rel)
                reason = re.sub(r"\d+", "N", verdict.reason)
                fail("wrote-invalid", f"{rel}: {verdict.reason}", signature=f"wrote invalid {general}: {reason}")

    @staticmethod
    def _listing(repo: Path) -> set[str]:
        folder = repo / ".tether/tasks/ITEMS/checkpoints"
        return set(os.listdir(folder)) if folder.is_dir() else set()

    def _progress_floor(self, case: Case, repo: Path, verdict_before: Verdict) -> set[int] | None:
        if case.target == "task.md" or case.params["task"] != "ITEMS":
            return None
        if case.target == "checkpoint" and case.path.rsplit("/", 1)[-1][:-3] == self.template.facts["checkpoints"]["ITEMS"][-1]:
            # the newest checkpoint itself: a valid edit is the person's word, a deleted file is unclear
            if verdict_before.valid is not False or not (repo / case.path).exists():
                return None
        return _ranges(self.template.facts["items_done"])

    def _check_progress(self, case: Case, repo: Path, listing: set[str], verdict_before: Verdict, run: Run,
                        fail) -> None:
        if run.code not in (0, 3):  # 3: saved all the same
            return
        floor = self._progress_floor(case, repo, verdict_before)
        if floor is None:
            return
        new = sorted(self._listing(repo) - listing)
        if not new:
            return
        meta, problem = front_matter((repo / ".tether/tasks/ITEMS/checkpoints" / new[-1]).read_bytes())
        if problem:
            fail("wrote-invalid", f"the new checkpoint does not read: {problem.reason}")
            return
        if run.argv[0] == "checkpoint":
            floor = floor | _spec_units(case.params["n"])
        got = _ranges(str(meta.get("done", "")))
        if not floor <= got:
            missing = sorted(floor - got)
            fail("progress", f"new checkpoint {new[-1]} has done {meta.get('done')!r}; lost units {missing[:10]}",
                 signature=f"progress lost by {'the PreCompact hook' if run.argv[0] == 'hook' else 'tether checkpoint'}"
                           f" after {case.mutation.removeprefix('m_')} on {case.target}")

    def _check_install(self, case, verdict_before, before, after, run, fail) -> None:
        old, new = before.get(SETTINGS_REL), after.get(SETTINGS_REL)
        if verdict_before.valid is False and run.code == 0:
            fail("unreported", f"installed into a settings file that is not usable ({verdict_before.reason})")
        if run.code != 0 and old != new:
            fail("contract", "install failed but changed .claude/settings.json")
        if run.code == 0 and case.target == "settings.json" and new is not None:
            value, problem = _json_document(new)
            if problem or not isinstance(value, dict):
                fail("wrote-invalid", "install wrote settings that are not a JSON object")
                return
            kept, _ = _json_document(old) if old else ({}, None)
            if isinstance(kept, dict):
                lost = [k for k in kept if k != "hooks" and _same(value.get(k)) != _same(kept[k])]
                if lost:
                    fail("contract", f"install changed the user's settings {lost}")
            hooks = value.get("hooks", {})
            for event in HOOK_EVENTS:
                groups = hooks.get(event) if isinstance(hooks, dict) else None
                if not isinstance(groups, list) or not any(
                        isinstance(g, dict) and isinstance(g.get("hooks"), list)
                        and any(isinstance(h, dict) and h.get("command") == "tether-hook claude-code" for h in g["hooks"])
                        for g in groups):
                    fail("contract", f"install exited 0 without tether's {event} hook")
                    break

    def _check_apply(self, case, repo, before, after, run, fail) -> None:
        verdict = assess("skill result", repo, case.path) if case.target == "skill result" else VALID
        if verdict.valid is False and run.code == 0:
            fail("unreported", f"applied a result that is not a skill result ({verdict.reason})")
        if run.code != 0 and before.get(CONTEXT_REL) != after.get(CONTEXT_REL):
            fail("contract", f"ctx apply exited {run.code} but changed the session context")

    def _event_name(self, case: Case, command: Command, stdin_bytes: bytes | None):
        if command.stdin != "target":
            return command.stdin
        try:
            event = json.loads(stdin_bytes or b"")
        except (ValueError, RecursionError):
            return None
        if not isinstance(event, dict):
            return None
        return str(event.get("hook_event_name") or event.get("event") or "")

    def _check_hook(self, case, command, stdin_bytes, before, after, run, fail) -> None:
        changed = sorted(rel for rel in set(before) | set(after) if before.get(rel) != after.get(rel))
        if command.stdin == "target":
            verdict = check_hook_input(stdin_bytes or b"", "<stdin>")
            if verdict.valid is False:
                if run.code != 1:
                    fail("unreported", f"hook input is not a JSON object ({verdict.reason}) but the hook exited {run.code}")
                if changed:
                    fail("contract", f"hook input is not a JSON object but the hook recorded {changed}")
                return
            name = self._event_name(case, command, stdin_bytes)
            if name is not None and name not in HOOK_EVENTS and (changed or run.out.strip()):
                fail("contract", f"event {name!r} is not handled but the hook wrote {changed} or printed")
        if run.code == 0 and run.out.strip() and self._event_name(case, command, stdin_bytes) == "SessionStart":
            try:
                payload = json.loads(run.out)
                ok = isinstance(payload["hookSpecificOutput"]["additionalContext"], str)
            except (ValueError, KeyError, TypeError):
                ok = False
            if not ok:
                fail("contract", "SessionStart printed something that is not Claude Code's hook output")

    def _check_warm_boot(self, case, result, repo, run, as_json, fail) -> None:
        for name in ("boot.cache", "head.cache", "listings.cache"):
            (repo / ".tether/local" / name).unlink(missing_ok=True)
        cold = run_tether(run.argv, repo, self.env, None, self.timeout)
        result.runs.append(("boot", cold))
        if (cold.code, cold.out) != (run.code, run.out):
            fail("contract", f"the warm boot (exit {run.code}) differs from a cold boot (exit {cold.code}) "
                             "after the damage", signature=f"warm boot differs from cold: {case.target}")

    # -- the report the damage needs ----------------------------------------------------------------
    def _report(self, case: Case, result: CaseResult, repo: Path, casedir: Path, name: str,
                stdin_bytes: bytes | None) -> None:
        verdict = assess(case.target, repo, case.path, stdin_bytes)
        run = self._exec(case, result, repo, casedir, name, True, stdin_bytes)
        if run.hung or run.code == 70 or run.code not in COMMANDS[name].codes:
            return  # counted as a crash or a hang already
        fail = self._failer(case, result, run)
        try:
            data = json.loads(run.out)
        except ValueError:
            return  # counted as a broken contract already
        if case.target in ("hook stdin", "skill result"):
            # the input was not a store file: the store must still read clean
            if name == "verify" and run.code != 0:
                fail("wrote-invalid", "verify reports problems after the hook: " + "; ".join(
                    f"{p.get('path')}:{p.get('line')}: {p.get('message')}" for p in data.get("problems", [])[:3]),
                    signature="the hook left files verify reports")
            if name == "ctx-validate" and run.code != 0:
                fail("wrote-invalid", "the session context no longer validates after ctx apply",
                     signature="ctx apply left an invalid session context")
            return
        if verdict.valid is not False or verdict.reason.split(":")[0] not in self.categories:
            return
        names = {case.path, *verdict.names}
        shown = [f".tether/{n[len('.tether/'):]}" if n.startswith(".tether/") else n for n in names]
        text = json.dumps(data, ensure_ascii=False)
        if case.target == "tether.toml":  # an unusable config stops the command; a key it ignores is a problem
            reported = (run.code == 1 and "tether.toml" in text) or (run.code == 3 and ".tether/tether.toml" in [
                p.get("path") for p in data.get("problems", []) if isinstance(p, dict)])
        elif case.target == "session_context.yaml":
            reported = run.code in (1, 3) and CONTEXT_REL in text
        else:
            paths = [p.get("path") for p in data.get("problems", []) if isinstance(p, dict)]
            reported = run.code == 3 and any(p in shown for p in paths)
        if not reported:
            category = verdict.reason.split(":")[0]
            what = re.sub(r"\d+", "N", verdict.reason)
            named = verdict.names[0] if verdict.names else case.path
            fail("unreported", f"{verdict.reason}; `tether {name.replace('-', ' ')}` exited {run.code} without "
                               f"naming {named}", signature=f"{case.target}: {what} [{category}]")

    # -- signatures ----------------------------------------------------------------------------------
    def _signature(self, run: Run, repo: Path, stdin: bytes | None) -> str:
        text = run.err.decode("utf-8", "replace")
        if "Traceback (most recent call last)" not in text and self.signatures:
            rerun = run_tether(run.argv, repo, {**self.env, "TETHER_DEBUG": "1"}, stdin, self.timeout)
            text = rerun.err.decode("utf-8", "replace") or text
        return crash_signature(text, run)


def crash_signature(text: str, run: Run) -> str:
    """Exception type and the innermost frame in tether's code (or the message), stable across line edits."""
    frames = re.findall(r'File "([^"]+)", line \d+, in (\S+)', text)
    ours = [(f, fn) for f, fn in frames if f"{os.sep}tether{os.sep}" in f]
    where = ""
    if ours or frames:
        path, func = (ours or frames)[-1]
        where = f" in {path.split(os.sep + 'tether' + os.sep, 1)[-1]}:{func}"
    last = [line for line in text.strip().splitlines() if re.match(r"^[A-Za-z_][\w.]*(Error|Exception|Exit)\b", line)]
    if last:
        kind, _, message = last[-1].partition(":")
    else:
        found = re.search(r"internal error: (\w+): (.*)", text)
        kind, message = (found.group(1), found.group(2)) if found else (f"exit {run.code}", text.strip()[-100:])
    message = re.sub(r"'[^']{30,}'", "'…'", message.strip())  # long quoted values vary by case; names do not
    message = re.sub(r"\d+", "N", message)[:100]
    return f"{kind.split('.')[-1]}{where}: {message}"


def control_cases(template: Template, seed: int = DEFAULT_SEED, dedupe: bool = True) -> list[Case]:
    """Every target's commands over the workspace as built, where every check must pass
    (``dedupe``: each command once over all targets, the reporters every time)."""
    cases, seen = [], set()
    for index, target in enumerate(TARGETS.values()):
        case = make_case(seed, index, template)
        readers = [c for c in dict.fromkeys(target.readers) if c != target.reporter and not (dedupe and c in seen)]
        seen.update(readers)
        commands = readers + ([target.reporter] if target.reporter else [])
        case.mutation, case.commands, case.clone = "m_none", commands, index % 2 == 1
        case.json_flags = [COMMANDS[c].json and (c == target.reporter or i % 2 == 1) for i, c in enumerate(commands)]
        cases.append(case)
    return cases


def run_cases(runner: Runner, seed: int, indexes, commands_per_case: int = 2,
              progress: Callable[[CaseResult], None] | None = None) -> list[CaseResult]:
    results = []
    for index in indexes:
        result = runner.run(make_case(seed, index, runner.template, commands_per_case))
        results.append(result)
        if progress:
            progress(result)
    return results


# -- command line: build (internal) and replay ----------------------------------------------------------

def _replay(case_id: str, keep: bool, timeout: float, commands_per_case: int) -> int:
    seed, _, index = case_id.partition("/")
    workdir = Path(tempfile.mkdtemp(prefix="tether-fuzz-replay-"))
    template = build_template(workdir / "template")
    runner = Runner(template, workdir / "cases", timeout)
    case = make_case(int(seed), int(index), template, commands_per_case)
    print(case.describe())
    result = runner.run(case, keep=keep)
    print(f"mutation: {result.mutation}")
    print(f"reference verdict after the mutation: {result.verdict.valid} {result.verdict.reason}")
    for name, run in result.runs:
        code = "timeout" if run.hung else run.code
        print(f"\n$ {run.shown()}   # {name}: exit {code}, {run.seconds:.2f} s")
        out = (run.out.decode("utf-8", "replace") + run.err.decode("utf-8", "replace")).rstrip()
        print("\n".join(out.splitlines()[-25:]))
    print(f"\n{len(result.failures)} failure(s)")
    for failure in result.failures:
        print(failure.report())
    if keep:
        print(f"\nkept: {runner.workdir / f'case-{case.seed}-{case.index}'}/repo  "
              f"(env: HOME={runner.workdir / 'home'} TETHER_NOW={CASE_NOW} TETHER_FSYNC=0)")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if result.failures else 0


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="tether's fuzzing harness: replay one case (see bench/bench_fuzz.py "
                                                 "for a run of many)")
    parser.add_argument("--replay", metavar="SEED/INDEX", help="replay one case and print every run")
    parser.add_argument("--keep", action="store_true", help="keep the case's workspace to look at")
    parser.add_argument("--timeout", type=float, default=20.0, help="seconds before a run counts as a hang")
    parser.add_argument("--commands-per-case", type=int, default=2)
    parser.add_argument("--build", metavar="DIR", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.build:
        _build_in_this_process(Path(args.build))
        return 0
    if args.replay:
        return _replay(args.replay, args.keep, args.timeout, args.commands_per_case)
    parser.print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())
