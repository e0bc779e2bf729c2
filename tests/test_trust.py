"""A repository's content is input from whoever committed it: tether must not let it lead
tether's reads and writes outside the repository (issue "Trust").

Each test builds what a hostile commit could hold (a link inside .tether/, a tether.toml
naming a path outside, an artifact outside) in a real clone, runs the command a person or
the SessionStart hook would, and checks that nothing outside was read or written.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from conftest import run_git

SESSION_START = json.dumps({"hook_event_name": "SessionStart", "source": "startup"})


@pytest.fixture
def outside(tmp_path) -> Path:
    """A folder outside every repository of the test, with a file that must never change."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    (home / ".bashrc").write_text("export PATH=/usr/bin\n")
    return home


def clone_of(repo: Path, tmp_path: Path, monkeypatch, name: str = "clone") -> Path:
    """Commit everything in ``repo`` and clone it: what a person gets from someone else."""
    run_git(repo, "add", "-A", "-f", ".tether")
    run_git(repo, "commit", "-q", "-m", "hostile")
    clone = tmp_path / name
    run_git(tmp_path, "clone", "-q", str(repo), str(clone))
    monkeypatch.chdir(clone)
    return clone


def link(path: Path, target: str, directory: bool = False) -> None:
    """Replace ``path`` (file or folder) with a symbolic link to ``target``, as a checkout would
    (the next tether process starts without the folders an earlier one found real)."""
    import tether.store.nofollow

    getattr(tether.store.nofollow, "_real_dirs", set()).clear()
    if path.is_dir() and not path.is_symlink():
        import shutil

        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(target, target_is_directory=directory)


def listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


# -- links inside .tether/ -----------------------------------------------------------------------

def test_the_session_start_hook_of_a_clone_never_appends_through_a_committed_link(
        ws, repo, tmp_path, outside, monkeypatch, tether_proc):
    # Hooks write only the per-machine session log: a committed link in its place is refused.
    link(ws.dir / "local", "../../home", directory=True)
    clone = clone_of(repo, tmp_path, monkeypatch)
    assert (clone / ".tether" / "local").is_symlink()

    run = tether_proc("hook", "claude-code", input=SESSION_START)
    assert run.code == 1
    assert run.err.count("\n") == 1 and ".tether/local is a symbolic link" in run.err
    assert (outside / ".bashrc").read_text() == "export PATH=/usr/bin\n"
    assert listing(outside) == [".bashrc"]


def test_the_warm_hook_path_never_appends_through_a_link_that_arrived_later(
        ws, repo, outside, tether_proc, cli):
    cli("task", "start", "Work", "--items", "a")
    assert cli("boot").code == 0  # the boot cache: the next hook starts warm
    assert tether_proc("hook", "claude-code", input=SESSION_START).code == 0
    link(ws.dir / "local" / "sessions.jsonl", "../../../home/.bashrc")  # as a `git pull -f` could bring it

    run = tether_proc("hook", "claude-code", input=SESSION_START)
    assert run.code == 1 and "sessions.jsonl is a symbolic link" in run.err
    assert (outside / ".bashrc").read_text() == "export PATH=/usr/bin\n"


def test_the_event_log_appender_refuses_a_link_itself(ws, outside):
    from tether.store import eventlog
    from tether.errors import LinkRefused

    link(ws.dir / "memory" / "events.jsonl", str(outside / ".bashrc"))
    with pytest.raises(LinkRefused, match="events.jsonl"):
        eventlog.append(ws.store_dir, eventlog.record("session_start", "S-1", {}))
    link(ws.dir / "memory", str(outside), directory=True)
    with pytest.raises(LinkRefused, match=r"\.tether/memory is a symbolic link"):
        eventlog.append(ws.store_dir, eventlog.record("session_start", "S-1", {}))
    assert listing(outside) == [".bashrc"]


@pytest.mark.parametrize("linked,argv", [
    ("tasks/T1/intermediate", ["checkpoint", "--done", "1", "--result", "r.md=@result.md"]),
    ("progress", ["close", "--summary", "done"]),
    ("decisions", ["decide", "Which?", "--decision", "This one"]),
    ("tasks/T1/checkpoints", ["checkpoint", "--done", "1"]),
    ("open", ["task", "start", "Another", "--id", "T2"]),
    ("locks", ["checkpoint", "--done", "1"]),
])
def test_commands_of_a_clone_never_write_through_a_linked_folder(
        ws, repo, tmp_path, outside, monkeypatch, cli, linked, argv):
    assert cli("task", "start", "Work", "--items", "a", "--items", "b", "--id", "T1").code == 0
    (ws.dir / "tasks" / "T1" / "intermediate").mkdir()
    depth = "../" * (linked.count("/") + 2)
    link(ws.dir / linked, f"{depth}home", directory=True)
    clone = clone_of(repo, tmp_path, monkeypatch)
    (clone / "result.md").write_text("the result\n")

    run = cli(*argv)
    assert run.code == 1, run
    assert f".tether/{linked} is a symbolic link" in run.err and "Hint:" in run.err
    assert listing(outside) == [".bashrc"]


def test_a_checkpoint_never_writes_its_lock_token_into_a_linked_lock_file(ws, outside, cli):
    cli("task", "start", "Work", "--items", "a", "--id", "T1")
    link(ws.dir / "locks" / "task-T1.lock", str(outside / ".bashrc"))
    run = cli("checkpoint", "--done", "1")
    assert run.code == 1 and "locks/task-T1.lock is a symbolic link" in run.err
    assert (outside / ".bashrc").read_text() == "export PATH=/usr/bin\n"


def test_a_file_replaced_by_a_link_is_refused_not_overwritten(ws, outside, cli):
    cli("task", "start", "Work", "--items", "a", "--id", "T1")
    cli("close", "--summary", "first")
    link(ws.dir / "progress" / "LATEST.json", str(outside / ".bashrc"))
    run = cli("close", "--summary", "second")
    assert run.code == 1 and "progress/LATEST.json is a symbolic link" in run.err
    assert (ws.dir / "progress" / "LATEST.json").is_symlink()
    assert (outside / ".bashrc").read_text() == "export PATH=/usr/bin\n"


def test_a_linked_store_folder_is_refused(repo, tmp_path, outside, cli):
    real = tmp_path / "elsewhere"
    real.mkdir()
    (repo / ".tether").symlink_to(real, target_is_directory=True)
    run = cli("init")
    assert run.code == 1 and ".tether is a symbolic link" in run.err
    assert listing(real) == []


def test_boot_reports_a_linked_record_and_does_not_read_it(ws, outside, cli):
    secret = outside / "D-261121-secret.md"
    secret.write_text('---\nid: "D-261121-secret"\nquestion: "the home folder"\ndecision: "LEAKED"\n'
                      'when: "2026-11-21T10:00:00Z"\nrationale: ""\nwho: null\ntask: null\n---\n')
    link(ws.dir / "decisions" / "D-261121-secret.md", str(secret))
    link(ws.dir / "open", str(outside), directory=True)  # boot lists it for the open tasks
    run = cli("boot")
    assert run.code == 3
    assert "LEAKED" not in run.out
    assert ".tether/decisions/D-261121-secret.md: a symbolic link" in run.out
    assert ".tether/open: a symbolic link" in run.out


def test_verify_names_every_link_in_the_store_with_its_target(ws, outside, cli):
    cli("task", "start", "Work", "--items", "a", "--id", "T1")
    link(ws.dir / "decisions" / "D-1.md", str(outside / ".bashrc"))
    link(ws.dir / "tasks" / "T1" / "intermediate", "../../../../home", directory=True)
    link(ws.dir / "local", str(outside), directory=True)  # per machine, but tether writes there too
    run = cli("verify", "--json")
    assert run.code == 3
    problems = {p["path"]: p["message"] for p in run.json()["problems"]}
    assert problems[".tether/decisions/D-1.md"].startswith(f"a symbolic link (to {outside / '.bashrc'})")
    assert problems[".tether/tasks/T1/intermediate"].startswith("a symbolic link (to ../../../../home)")
    assert ".tether/local" in problems
    assert len([p for p in problems if "D-1" in p]) == 1  # named once, not again by the read that met it


def test_caches_behind_a_linked_local_folder_are_not_written(ws, outside, cli):
    cli("task", "start", "Work", "--items", "a", "--id", "T1")
    link(ws.dir / "local", str(outside), directory=True)
    cli("boot")
    cli("checkpoint", "--task", "T1", "--done", "1")
    cli("index")
    assert listing(outside) == [".bashrc"]


def test_the_manifest_does_not_hash_what_a_link_points_to(ws, outside, cli):
    link(ws.dir / "stolen", str(outside / ".bashrc"))
    assert cli("index").code == 0
    assert "stolen" not in json.loads((ws.dir / "index.json").read_text())["files"]


def test_a_checkpoint_loop_checks_each_folder_once_per_process(ws, spy):
    ws.start_task("Work", items=[f"doc{i}" for i in range(1, 6)])
    ws.checkpoint(done=["1"])  # creates the folders: each is checked once it exists
    ws.checkpoint(done=["2"])
    lstats = spy(os, "lstat", lambda path, *a, **kw: path)
    for number in range(3, 6):
        ws.checkpoint(done=[str(number)])
    assert lstats == []  # the hot path pays nothing after the first checkpoint


# -- paths named by tether.toml -------------------------------------------------------------------

def set_config(ws, *, document: str | None = None, reading_order: list[str] | None = None) -> None:
    from tether.store.config_file import default_text

    text = default_text(reading_order or ["README.md"])
    if document is not None:
        text = text.replace('document = ".tether/CONTEXT.md"', f"document = {json.dumps(document)}")
    (ws.dir / "tether.toml").write_text(text)


def test_close_of_a_clone_refuses_a_context_document_in_git_config(ws, repo, tmp_path, monkeypatch, cli):
    set_config(ws, document=".git/config")
    clone = clone_of(repo, tmp_path, monkeypatch)
    before = (clone / ".git" / "config").read_bytes()

    run = cli("close", "--summary", "done", "--commit")
    assert run.code == 1
    assert "context.document = '.git/config' is inside .git/" in run.err and "Hint:" in run.err
    assert (clone / ".git" / "config").read_bytes() == before
    run_git(clone, "status")  # git still works


@pytest.mark.parametrize("document,why", [
    ("../elsewhere/doc.md", "leads outside the repository"),
    ("{elsewhere}/doc.md", "is absolute"),
    ("docs/../../elsewhere/doc.md", "leads outside the repository"),
    ("vendor/lib/.git/config", "is inside .git/"),  # a nested repository's git folder
    (".GIT/config", "is inside .git/"),
    (".", "names the repository itself"),
])
def test_a_context_document_outside_the_repository_is_refused_before_anything_is_written(
        ws, tmp_path, cli, document, why):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "doc.md").write_text("someone else's file\n")
    document = document.format(elsewhere=elsewhere)
    set_config(ws, document=document)
    run = cli("close", "--summary", "done")
    assert run.code == 1
    assert f"context.document = {document!r} {why}" in run.err
    assert (elsewhere / "doc.md").read_text() == "someone else's file\n"
    assert not (ws.dir / "progress" / "LATEST.json").exists()  # refused before anything was written
    assert cli("boot").code == 1  # the config is invalid: boot halts, as with any invalid setting


def test_a_device_as_context_document_is_refused_when_the_config_is_read(ws, cli):
    # Only commands that never write the document run here: a tether without the check, run as
    # root, would replace /dev/null with a regular file at `tether close`.
    set_config(ws, document="/dev/null")
    for argv in (["config"], ["boot"]):
        run = cli(*argv)
        assert run.code == 1 and "context.document = '/dev/null' is absolute" in run.err, argv
    run = cli("verify")  # verify reports it as the damage it looks for
    assert run.code == 3 and "context.document = '/dev/null' is absolute" in run.out
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


@pytest.mark.parametrize("target,why", [
    ("../../elsewhere", "leads outside the repository (through a symbolic link)"),
    ("../../repo/.git", "leads into .git/ (through a symbolic link)"),
])
def test_a_link_in_the_working_tree_cannot_lead_the_context_document_out(ws, repo, tmp_path, cli, target, why):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (repo / "docs").mkdir()
    (repo / "docs" / "notes").symlink_to(target, target_is_directory=True)
    set_config(ws, document="docs/notes/config")
    git_config = (repo / ".git" / "config").read_bytes()

    run = cli("close", "--summary", "done")
    assert run.code == 1 and f"context.document = 'docs/notes/config' {why}" in run.err
    assert listing(elsewhere) == [] and (repo / ".git" / "config").read_bytes() == git_config


def test_a_context_document_linked_inside_the_repository_is_written_there(ws, repo, cli):
    (repo / "docs").mkdir()
    (repo / "docs" / "CONTEXT.md").symlink_to("../SESSION.md")  # a link that stays in the working tree
    set_config(ws, document="docs/CONTEXT.md")
    assert cli("close", "--summary", "done").code == 0
    assert "done" in (repo / "SESSION.md").read_text()


def test_reading_order_entries_outside_the_repository_are_left_out_and_named(ws, repo, tmp_path, cli):
    (tmp_path / "secret.md").write_text("private\n")
    (repo / "docs").mkdir()
    (repo / "docs" / "guide.md").symlink_to("../../secret.md")
    set_config(ws, reading_order=["README.md", "/etc/shadow", "../secret.md", ".git/config", "docs/guide.md"])

    run = cli("boot", "--json")
    assert run.code == 3
    data = run.json()
    assert data["reading_order"] == ["README.md"]
    problems = [p["message"] for p in data["problems"] if p["path"] == ".tether/tether.toml"]
    assert problems == [
        "boot.reading_order: '/etc/shadow' is absolute (use a path from the repository root); left out of the reading order",
        "boot.reading_order: '../secret.md' leads outside the repository; left out of the reading order",
        "boot.reading_order: '.git/config' is inside .git/; left out of the reading order",
        "boot.reading_order: 'docs/guide.md' leads outside the repository (through a symbolic link); left out of"
        " the reading order"]
    brief = cli("boot").out
    assert "/etc/shadow" in brief and "1. .tether/CONTEXT.md\n2. README.md\n\n" in brief.split("## Reading order")[1] + "\n"
    config = cli("config", "--json").json()
    assert [r["path"] for r in config["reading_order_refused"]] == ["/etc/shadow", "../secret.md", ".git/config"]

    cli("close", "--summary", "done")  # the context document's reading order is the brief's
    block = (ws.dir / "CONTEXT.md").read_text().split("tether:begin reading_order")[1]
    assert "README.md" in block and "secret" not in block and "shadow" not in block


def test_a_config_cache_from_before_the_path_checks_is_not_trusted(ws, cli):
    from tether.store.fsio import stat_key
    from tether.warm import cachefile, config_cache

    assert cli("config").code == 0
    toml = ws.dir / "tether.toml"
    toml.write_text(toml.read_text().replace('document = ".tether/CONTEXT.md"', 'document = ".git/config"'))
    old = dict(budget=2000, reading_order=[], context_document=".git/config")  # what it parsed without checking
    cache = str(ws.dir / config_cache.CACHE)
    cachefile.write(cache, "config", config_cache.FORMAT - 1, {"key": stat_key(str(toml)), "config": old})
    run = cli("close", "--summary", "done")
    assert run.code == 1 and "context.document = '.git/config' is inside .git/" in run.err


def test_install_refuses_a_claude_folder_linked_outside(ws, repo, outside, cli):
    (outside / ".claude").mkdir()
    (repo / ".claude").symlink_to(outside / ".claude", target_is_directory=True)
    run = cli("install", "claude-code")
    assert run.code == 1 and "leads outside the repository" in run.err
    assert listing(outside / ".claude") == []


# -- session contexts -----------------------------------------------------------------------------

GTM = "YIELD-XYZ-001"


def seeded(repo: Path, doc: dict, where: str = f".gtm/{GTM}/session_context.yaml") -> Path:
    from ctx_seed import write_context

    return write_context(repo, doc, where)


def test_ctx_close_records_artifacts_outside_the_repository_without_opening_them(
        ws, repo, tmp_path, seed_doc, cli, spy):
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "doc.md").write_text("not the campaign's\n")
    (tmp_path / "outside" / "linked.md").write_text("not the campaign's either\n")
    (repo / "drafts").mkdir()
    (repo / "drafts" / "x_post.md").write_text("Yield.xyz vaults are live.\n")
    (repo / "drafts" / "leak.md").symlink_to("../../outside/linked.md")
    doc = dict(seed_doc, artifacts=[{"type": "draft", "path": "drafts/x_post.md"},
                                    {"type": "stolen", "path": "/etc/shadow"},
                                    {"type": "stolen", "path": "../outside/doc.md"},
                                    {"type": "stolen", "path": "drafts/leak.md"},
                                    {"type": "stolen", "path": ".git/config"}])
    seeded(repo, doc)
    opened = spy(__import__("builtins"), "open", lambda path, *a, **kw: str(path))

    run = cli("ctx", "close", "--campaign", GTM, "--json")
    assert run.code == 0, run.err
    out = run.json()
    assert out["outside"] == ["/etc/shadow", "../outside/doc.md", "drafts/leak.md", ".git/config"]
    manifest = json.loads((repo / out["archive"] / "manifest.json").read_text())
    by_path = {a["path"]: a for a in manifest["artifacts"]}
    assert by_path["drafts/x_post.md"]["bytes"] == len("Yield.xyz vaults are live.\n")
    for path in out["outside"]:
        assert by_path[path]["outside"] is True
        assert "sha256" not in by_path[path] and "bytes" not in by_path[path]
    assert not [p for p in opened if "shadow" in p or "outside" in p or p.endswith(".git/config")]
    text = cli("ctx", "show", "--campaign", GTM)  # still readable after the close
    assert text.code == 0


def test_ctx_close_refuses_a_context_id_that_is_not_a_folder_name(ws, repo, tmp_path, seed_doc, cli):
    seeded(repo, dict(seed_doc, id="../../../../outside"))
    run = cli("ctx", "close", "--campaign", GTM)
    assert run.code == 1 and "the context id '../../../../outside' cannot name the archive's folder" in run.err
    assert not (tmp_path / "outside").exists()
    assert cli("ctx", "show", "--campaign", GTM, "--json").json()["session_context"]["campaign"]["status"] \
        == "in_progress"  # refused before anything changed


def test_a_campaign_folder_linked_outside_the_repository_is_refused(ws, repo, tmp_path, seed_doc, cli):
    elsewhere = tmp_path / "elsewhere"
    seeded(tmp_path, seed_doc, f"elsewhere/{GTM}/session_context.yaml")
    before = listing(elsewhere)
    (repo / ".gtm").symlink_to(elsewhere, target_is_directory=True)
    run = cli("ctx", "close", "--campaign", GTM)
    assert run.code == 1 and "leads outside the repository (through a symbolic link)" in run.err
    assert listing(elsewhere) == before
    listed = cli("ctx", "list", "--json").json()
    assert [c["status"] for c in listed["contexts"]] == ["unreadable"]


def test_a_session_context_in_the_store_is_never_written_through_a_link(ws, repo, tmp_path, seed_doc, cli):
    elsewhere = tmp_path / "elsewhere"
    seeded(tmp_path, seed_doc, f"elsewhere/{GTM}/session_context.yaml")
    before = (elsewhere / GTM / "session_context.yaml").read_bytes()
    link(ws.dir / "contexts", str(elsewhere), directory=True)
    run = cli("ctx", "stage", "review", "--campaign", GTM)
    assert run.code == 1 and ".tether/contexts is a symbolic link" in run.err
    assert (elsewhere / GTM / "session_context.yaml").read_bytes() == before
    assert listing(elsewhere) == [GTM, f"{GTM}/session_context.yaml"]


# -- permissions of what tether copies in ---------------------------------------------------------

@pytest.mark.parametrize("source_mode,stored", [(0o600, 0o600), (0o640, 0o640), (0o644, 0o644), (0o755, 0o644)],
                         ids=["0600", "0640", "0644", "0755"])
def test_a_result_copied_in_is_no_more_open_than_its_source(ws, repo, cli, source_mode, stored):
    old = os.umask(0o022)  # what the stored bits are compared with
    try:
        cli("task", "start", "Work", "--items", "a", "--id", "T1")
        secret = repo / "private.md"
        secret.write_text("token notes\n")
        secret.chmod(source_mode)
        assert cli("checkpoint", "--done", "1", "--result", "r.md=@private.md").code == 0
        saved = ws.dir / "tasks" / "T1" / "intermediate" / "r.md"
        assert saved.read_text() == "token notes\n"
        assert stat.S_IMODE(saved.stat().st_mode) == stored
        secret.chmod(0o644)  # saving it again with other bits replaces the file with them
        assert cli("checkpoint", "--result", "r.md=@private.md").code == 0
        assert stat.S_IMODE(saved.stat().st_mode) == 0o644
    finally:
        os.umask(old)


def test_a_result_through_the_api_may_carry_its_mode(ws):
    ws.start_task("Work", items=["a"], task_id="T1")
    ws.checkpoint(results={"r.md": (b"private\n", 0o600), "s.md": b"plain\n"})
    folder = ws.dir / "tasks" / "T1" / "intermediate"
    assert stat.S_IMODE((folder / "r.md").stat().st_mode) == 0o600
    assert (folder / "s.md").read_bytes() == b"plain\n"


# -- secrets in what close --commit commits -------------------------------------------------------

AWS = "AKIAIOSFODNN7EXAMPLE"  # AWS's own documentation example: obviously fake
GITHUB = "ghp_" + "wWPw5k4aXcaT4fNP0UcnZwJUVFk6LO0pINUx"  # the shape of a GitHub token, not a real one
GITHUB_2 = "ghp_" + "Xb2Q9z8Lk3Jm4Nn5Pp6Rr7Ss8Tt9Uu0Vv1Ww"
PEM = "-----BEGIN RSA PRIVATE KEY-----"


@pytest.fixture
def leaky(ws, cli):
    """A session that wrote a fake AWS key and a GitHub token in a checkpoint note and a private
    key header in a decision."""
    cli("task", "start", "Deploy", "--items", "a", "--items", "b", "--id", "T1")
    assert cli("checkpoint", "--done", "1", "--note", f"creds: {AWS} and {GITHUB}").code == 0
    assert cli("decide", "Which key?", "--decision", f"{PEM} MIIEpAIBAAKCAQEA").code == 0
    return ws


def test_close_commit_warns_with_file_and_line_and_never_prints_the_secret(leaky, cli, git):
    run = cli("close", "--summary", "Deployed", "--commit")
    assert run.code == 0  # a warning: the close is committed
    assert git("log", "-1", "--format=%s").strip() == "tether: close session"
    warnings = [line for line in run.err.splitlines() if line.startswith("Warning: ")]
    assert AWS not in run.err + run.out and GITHUB not in run.err + run.out and "MIIEp" not in run.err
    found = {(w.split(": ")[1].rsplit(":", 1)[0], w.split(": ")[2].split(" (hash")[0]) for w in warnings}
    checkpoint = next(p for p in git("ls-files", ".tether/tasks/T1/checkpoints").split() if p.endswith(".md"))
    decision = next(p for p in git("ls-files", ".tether/decisions").split())
    for path, kind in [(checkpoint, "AWS Access Key"), (checkpoint, "GitHub Token"),
                       (".tether/tasks/T1/checkpoints.jsonl", "AWS Access Key"),
                       (".tether/tasks/T1/checkpoints.jsonl", "GitHub Token"),
                       (decision, "Private Key"), (".tether/CONTEXT.md", "Private Key")]:
        assert (path, kind) in found, (path, kind, warnings)
    for warning in warnings:  # each names the line, and the line holds what it says
        where = warning.split(": ")[1]
        path, line = where.rsplit(":", 1)
        text = (git("show", f"HEAD:{path}").splitlines())[int(line) - 1]
        assert AWS in text or GITHUB in text or "PRIVATE KEY" in text
    assert "[secrets] allow" in run.err


def test_close_commit_reports_secrets_in_json_and_in_the_commit_message(leaky, cli):
    data = cli("close", "--summary", f"Rotated {AWS}", "--commit", "--json").json()
    assert data["commit"]
    message = [s for s in data["secrets"] if s["path"] == "(commit message)"]
    assert message == [{"path": "(commit message)", "line": 3, "type": "AWS Access Key",
                        "hash": message[0]["hash"]}]
    assert all(set(s) == {"path", "line", "type", "hash"} for s in data["secrets"])


def test_an_allowed_hash_is_not_reported_again_and_allows_only_that_secret(leaky, cli):
    first = cli("close", "--summary", "one", "--json").json()  # not committed: nothing scanned
    assert first["secrets"] == []
    hashes = {s["type"]: s["hash"] for s in cli("close", "--summary", "two", "--commit", "--json").json()["secrets"]}
    toml = leaky.dir / "tether.toml"
    toml.write_text(toml.read_text().replace("allow = []", f'allow = ["{hashes["GitHub Token"]}",'
                                                            f' "{hashes["AWS Access Key"].upper()}"]'))
    assert cli("checkpoint", "--note", f"again {AWS} {GITHUB}").code == 0
    run = cli("close", "--summary", "three", "--commit")
    assert "AWS Access Key" not in run.err and "GitHub Token" not in run.err
    assert cli("checkpoint", "--note", f"another token {GITHUB_2}").code == 0  # same prefix, other token
    run = cli("close", "--summary", "four", "--commit")
    assert "GitHub Token" in run.err


def test_a_plain_session_commits_without_warnings(ws, cli):
    cli("task", "start", "Summarise", "--items", "doc1.pdf", "--items", "doc2.pdf")
    for _ in range(2):  # the second close records the first one's commit id in LATEST.json and the log
        cli("checkpoint", "--done", "1", "--state", "doc1 summarised", "--data", "out=out/doc1.md")
        cli("decide", "Length?", "--decision", "One paragraph", "--rationale", "readers skim")
        cli("note", "gotcha", "doc2.pdf is a scan: OCR first")
        data = cli("close", "--summary", "Summarised doc1", "--next", "doc2", "--commit", "--json").json()
        assert data["commit"] and data["secrets"] == []


def test_lines_committed_before_are_not_reported_again(leaky, cli):
    assert cli("close", "--summary", "one", "--commit", "--json").json()["secrets"]
    cli("checkpoint", "--done", "2", "--state", "done")
    assert cli("close", "--summary", "two", "--commit", "--json").json()["secrets"] == []


def test_a_close_that_does_not_commit_does_not_load_the_scanner(ws, repo):
    code = ("import sys; from tether.cli.main import main; "
            "main(['close', '--summary', 'x']); main(['close', '--summary', 'y', '--commit']); "
            "print('detect_secrets' in sys.modules)")
    first = subprocess.run([__import__("sys").executable, "-c", code.replace(
        "main(['close', '--summary', 'y', '--commit']); ", "")], cwd=repo, capture_output=True, text=True)
    assert first.stdout.strip().endswith("False"), first.stderr
    both = subprocess.run([__import__("sys").executable, "-c", code], cwd=repo, capture_output=True, text=True)
    assert both.stdout.strip().endswith("True"), both.stderr


def test_an_invalid_allow_list_is_refused(ws, cli):
    toml = ws.dir / "tether.toml"
    toml.write_text(toml.read_text().replace("allow = []", 'allow = ["AKIAIOSFODNN7EXAMPLE"]'))
    run = cli("close", "--summary", "x", "--commit")
    assert run.code == 1 and "secrets.allow must be a list of the hashes" in run.err


def test_the_lines_a_commit_adds_are_read_from_the_diff_exactly(repo, git):
    from tether.gitio.commits import added_lines

    (repo / "log.txt").write_text("one\ntwo\n")
    (repo / "name with space.md").write_text("a\n")
    git("add", "-A")
    git("commit", "-q", "-m", "base")
    base = git("rev-parse", "HEAD").strip()
    (repo / "log.txt").write_text("one\n+++ not a header\n@@ -1 +1 @@ nor a hunk\ntwo\nthree")
    (repo / "name with space.md").write_text("a\nb\n")
    (repo / "image.bin").write_bytes(b"\x00\x01\x02secret")
    (repo / "README.md").unlink()
    git("add", "-A")
    added = added_lines(repo, base)
    assert added == {"log.txt": [(2, "+++ not a header"), (3, "@@ -1 +1 @@ nor a hunk"), (5, "three")],
                     "name with space.md": [(2, "b")]}


def test_without_detect_secrets_the_close_commits_and_says_the_scan_did_not_run(leaky, cli, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "detect_secrets.core.scan", None)  # as if it were not installed
    run = cli("close", "--summary", "Deployed", "--commit")
    assert run.code == 0 and "Committed" in run.out
    assert run.err.startswith("Warning: (secret scan): not run: detect-secrets is not installed")
    assert "looks like a secret" not in run.err and "Hint" not in run.err


def test_close_commit_asks_no_entropy_detector_about_what_tether_generated(ws, cli):
    """The compaction log's digests and an archived transcript's signatures are not secrets; a key
    stored there without redaction still is, and a random-looking token a person wrote still is."""
    import hashlib

    signature = "EqQBCkYIBxgCKkB" + "x7Kq9ZmV2pLw0aJ8sT4uY6rN1cB3dF5gH7jK9lM2nP4qR6sT8vW0yZ2aC4eG6iK8mO0" * 3
    cache = ws.dir / "cache" / "conversations"
    cache.mkdir(parents=True, exist_ok=True)
    (cache / "abc123").write_text(f'{{"type":"thinking","signature":"{signature}"}}\nkey: {AWS}\n')
    digest = hashlib.sha256(b"x").hexdigest()
    (ws.dir / "memory" / "compactions.jsonl").write_text(f'{{"sha256":"{digest}","summary_sha256":"{digest}"}}\n')
    typed = "Zq8vN3xK7mP2wR9tY4uB6cE1hJ5lO0sD"  # high entropy, in a note a person wrote
    cli("note", "note", f'the staging pass is "{typed}"')
    data = cli("close", "--summary", "one", "--commit", "--json").json()
    kinds = {(s["path"].split("/")[1], s["type"]) for s in data["secrets"] if s["path"].startswith(".tether/")}
    assert ("cache", "AWS Access Key") in kinds  # a pattern detector still looks in the cache
    assert not any(k[0] in ("cache", "memory") and "Entropy" in k[1] for k in kinds), data["secrets"]
    assert any("Entropy" in t or t == "Secret Keyword" for p, t in kinds if p in ("context.jsonl", "CONTEXT.md")), kinds


HEX_SECRET = "3f9a7c2e1b8d4f6a0c5e9b2d7f1a3c8e6b4d0f2a"  # 40 random-looking hex digits given as key data


def test_close_commit_leaves_tethers_own_anchor_ids_alone_and_still_finds_secrets_beside_them(ws, cli, repo, git):
    # Anchors pin the cited files' git blob ids; a file not committed yet (or changed since) has an id
    # git does not know, which the high-entropy detector took for a secret on every checkpoint line.
    (repo / "src").mkdir()
    (repo / "src" / "a.py").write_text("".join(f"x{n} = {n}\n" for n in range(10)))
    (repo / "src" / "b.py").write_text("def parse():\n    return 1\n")
    cli("task", "start", "Port", "--items", "a", "--items", "b", "--id", "T1")
    assert cli("checkpoint", "--done", "1", "--state", "ported", "--anchor", "src/a.py:3",
               "--anchor", "src/b.py::parse").code == 0
    assert cli("checkpoint", "--done", "2", "--state", "checked", "--anchor", "src/b.py:2",
               "--note", f"creds: {AWS}", "--data", f"api={HEX_SECRET}").code == 0
    assert cli("decide", "Which parser?", "--decision", "ours", "--anchor", "src/a.py:5").code == 0
    assert cli("note", "gotcha", "parse returns 1", "--anchor", "src/b.py:2").code == 0
    ids = {v for line in (ws.dir / "tasks" / "T1" / "checkpoints.jsonl").read_text().splitlines()
           for v in json.loads(line)["anchors"].values()}
    assert len(ids) == 2 and all(subprocess.run(["git", "cat-file", "-e", i], cwd=repo).returncode != 0 for i in ids)

    data = cli("close", "--summary", "ported", "--commit", "--json").json()
    found = {(s["path"].rsplit("/", 1)[-1].split("-")[0], s["type"]) for s in data["secrets"]}
    assert not [s for s in data["secrets"] if s["type"] == "Hex High Entropy String"
                and s["hash"] in {hashlib.sha1(i.encode()).hexdigest() for i in ids}], data["secrets"]
    assert ("CKP", "AWS Access Key") in found and ("checkpoints.jsonl", "AWS Access Key") in found
    assert ("CKP", "Hex High Entropy String") in found                      # the key data beside the anchors
    assert ("checkpoints.jsonl", "Hex High Entropy String") in found
    assert {s["hash"] for s in data["secrets"] if s["type"] == "Hex High Entropy String"} == {
        hashlib.sha1(HEX_SECRET.encode()).hexdigest()}


def test_own_digests_are_only_those_where_tether_writes_them():
    from tether.store.formats import own_digests

    blob, digest = "b8595995dba30b1cf7ee90f336b3e3356ee99e1b", "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"
    assert own_digests(f'anchors: {{"src/a.py:3": "{blob}"}}') == {blob}
    assert own_digests(json.dumps({"anchors": {"src/a.py": blob}, "key_data": {"k": HEX_SECRET}})) == {blob}
    assert own_digests(json.dumps({"kept": "conversations/2d711642b726", "kept_sha256": digest})) == {digest}
    assert own_digests(json.dumps({"note": blob, "anchors": {"src/a.py": "not hex"}})) == set()
    assert own_digests(f'note: "{blob}"') == set() and own_digests("{torn") == set()


def test_close_commit_reports_an_unquoted_secret_assignment(ws, cli):
    cli("note", "note", "staging: AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    run = cli("close", "--summary", "one", "--commit")
    assert "Secret Assignment" in run.err and "wJalrXUtnFEMI" not in run.err + run.out


def test_close_commit_reports_a_token_passed_to_a_call_and_one_detect_secrets_does_not_know(ws, cli):
    cli("note", "note", "client = Github('ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789')")
    cli("note", "note", "GITHUB_PAT=github_pat_11ABCDEFG0abcdefghijklmnop_qrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ab")
    run = cli("close", "--summary", "one", "--commit")
    assert "GitHub Token" in run.err and "GitHub Fine-Grained Token" in run.err
    assert "aBcDeFgHiJkLmNoPqRsTuVwXyZ" not in run.err + run.out and "11ABCDEFG0" not in run.err + run.out


def test_what_tether_generated_is_scanned_through_the_redactors_prefilter_and_finds_the_same(ws, monkeypatch):
    """An archived transcript is megabytes: its lines go to detect-secrets only where the
    redactor's pre-filter keeps them, and the findings are those of every line given."""
    import random

    from tether.compaction.redact import Redactor
    from tether.core.secret_scan import scan

    rng = random.Random(7)
    kinds = ["password = \"hunter2hunter2\"", "key: AKIAIOSFODNN7EXAMPLE", "client = Github('ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789')",
             "the token was rotated", "db_pass == 'x9y8z7w6v5'", "sha 3f786850e387550fdab836ed7e6dc881de23001b",
             '{"type":"text","text":"done"}', "slack xoxb-123456789012-123456789012-abcdefghijklmnopqrstuvwx"]
    lines = [(n, rng.choice(kinds) + f" #{n}") for n in range(1, 400)]
    added = {".tether/cache/conversations/abc": lines}

    def generated(path):
        return path.startswith(".tether/cache/")

    filtered = scan(str(ws.root), added, "", generated=generated)
    monkeypatch.setattr(Redactor, "candidate_lines", lambda self, text: list(range(text.count("\n") + 1)))
    everything = scan(str(ws.root), added, "", generated=generated)
    assert filtered and sorted(map(str, filtered)) == sorted(map(str, everything))
    assert {f.type for f in filtered} >= {"AWS Access Key", "GitHub Token", "Slack Token", "Secret Keyword"}
