"""What a new user sets up for an agent: the agent's instructions in CLAUDE.md/AGENTS.md (installed
idempotently, removed by uninstall with tether's hooks), the pre-commit hook that keeps the manifest
current without ever blocking a commit of code, the machine's device label, and `--items 30`.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tether import Workspace

TETHER = [sys.executable, "-m", "tether"]
BEGIN, END = "<!-- tether:begin agent -->", "<!-- tether:end agent -->"


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    for name in list(os.environ):
        if name.startswith(("TETHER_", "GIT_")):
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for role in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{role}_NAME", "Test User")
        monkeypatch.setenv(f"GIT_{role}_EMAIL", "test@example.com")
    monkeypatch.setenv("TETHER_FSYNC", "0")


@pytest.fixture
def project(tmp_path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    Workspace.init(root)
    return root


def tether(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*TETHER, *args], cwd=cwd, capture_output=True, text=True, timeout=60)


def git(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=60)


# -- CLAUDE.md / AGENTS.md ------------------------------------------------------------------------

def test_install_adds_the_agents_section_to_claude_md_keeping_the_users_text(project):
    (project / "CLAUDE.md").write_text("# Project\n\nUse tabs.\n")
    assert tether(project, "install", "claude-code").returncode == 0
    text = (project / "CLAUDE.md").read_text()
    assert text.startswith("# Project\n\nUse tabs.\n\n" + BEGIN + "\n")
    section = text[text.index(BEGIN):text.index(END)]
    for command in ("tether checkpoint --done", "tether note gotcha", "tether decide", "tether task complete",
                    "tether close", "tether boot"):
        assert command in section
    assert len(section.splitlines()) <= 16
    again = tether(project, "install", "claude-code")
    assert again.returncode == 0 and "(up to date)" in again.stdout
    assert (project / "CLAUDE.md").read_text() == text


@pytest.mark.skipif(not hasattr(os, "symlink") or sys.platform == "win32", reason="symbolic links")
def test_install_writes_through_a_claude_md_that_links_to_agents_md(project):
    """A common setup: CLAUDE.md a link to AGENTS.md, one text for every agent. The section goes into
    AGENTS.md and the link stays a link (written in its place, it became a copy that drifts)."""
    (project / "AGENTS.md").write_text("# Agents\n\nUse tabs.\n")
    (project / "CLAUDE.md").symlink_to("AGENTS.md")
    proc = tether(project, "install", "claude-code")
    assert proc.returncode == 0, proc.stderr
    assert (project / "CLAUDE.md").is_symlink() and os.readlink(project / "CLAUDE.md") == "AGENTS.md"
    assert (project / "AGENTS.md").read_text().startswith("# Agents\n\nUse tabs.\n\n" + BEGIN + "\n")
    assert "Commit .claude/settings.json, CLAUDE.md and AGENTS.md" in proc.stdout
    assert tether(project, "uninstall", "claude-code").returncode == 0
    assert (project / "CLAUDE.md").is_symlink() and (project / "AGENTS.md").read_text() == "# Agents\n\nUse tabs.\n"


@pytest.mark.skipif(not hasattr(os, "symlink") or sys.platform == "win32", reason="symbolic links")
def test_uninstalling_one_agent_keeps_the_section_the_other_reads_through_the_link(project):
    """CLAUDE.md a link to AGENTS.md, both agents installed: the section is one text in one file.
    Uninstalling Claude Code must leave it for Codex (as it does AGENTS.md's own), and uninstalling
    Codex must leave it for Claude Code, which reads it through the link."""
    (project / "AGENTS.md").write_text("# Agents\n")
    (project / "CLAUDE.md").symlink_to("AGENTS.md")
    assert tether(project, "install", "claude-code").returncode == 0
    assert tether(project, "install", "codex").returncode == 0
    proc = tether(project, "uninstall", "claude-code", "--json")
    assert proc.returncode == 0, proc.stderr
    assert BEGIN in (project / "AGENTS.md").read_text(), "Codex lost its section"
    assert json.loads(proc.stdout)["sections_removed"] == []
    assert tether(project, "install", "claude-code").returncode == 0
    proc = tether(project, "uninstall", "codex", "--json")
    assert proc.returncode == 0, proc.stderr
    assert BEGIN in (project / "CLAUDE.md").read_text(), "Claude Code lost its section"
    assert tether(project, "uninstall", "claude-code").returncode == 0  # the last one out removes it
    assert (project / "AGENTS.md").read_text() == "# Agents\n" and (project / "CLAUDE.md").is_symlink()


def test_install_updates_an_older_section_in_place(project):
    (project / "CLAUDE.md").write_text(f"# Project\n\n{BEGIN}\nold words\n{END}\n\n## Style\nUse tabs.\n")
    assert tether(project, "install", "claude-code").returncode == 0
    text = (project / "CLAUDE.md").read_text()
    assert "old words" not in text and text.count(BEGIN) == 1
    assert text.startswith(f"# Project\n\n{BEGIN}\n") and text.endswith(f"{END}\n\n## Style\nUse tabs.\n")


def test_install_for_other_agents_writes_agents_md(project):
    assert tether(project, "install", "claude-code", "--agents-md").returncode == 0
    assert BEGIN in (project / "AGENTS.md").read_text()
    assert not (project / "CLAUDE.md").exists()
    assert tether(project, "install", "claude-code", "--no-instructions").returncode == 0
    assert not (project / "CLAUDE.md").exists()


def test_uninstall_removes_tethers_hooks_and_section_and_keeps_the_users(project):
    (project / ".claude").mkdir()
    own = {"type": "command", "command": "echo mine"}
    (project / ".claude" / "settings.json").write_text(json.dumps(
        {"model": "opus", "hooks": {"SessionStart": [{"hooks": [own]}], "Stop": [{"hooks": [own]}]}}))
    (project / "CLAUDE.md").write_text("# Project\n")
    assert tether(project, "install", "claude-code").returncode == 0
    proc = tether(project, "uninstall", "claude-code", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["removed"] == ["SessionStart", "PreCompact", "PostCompact", "SessionEnd", "PostToolUse",
                              "PreToolUse", "UserPromptSubmit"] and out["sections_removed"] == ["CLAUDE.md"]
    settings = json.loads((project / ".claude" / "settings.json").read_text())
    assert settings == {"model": "opus", "hooks": {"SessionStart": [{"hooks": [own]}], "Stop": [{"hooks": [own]}]}}
    assert (project / "CLAUDE.md").read_text() == "# Project\n"
    again = tether(project, "uninstall", "claude-code")
    assert again.returncode == 0 and "No tether hooks" in again.stdout


def test_uninstall_removes_a_claude_md_that_held_only_tethers_section(project):
    assert tether(project, "install", "claude-code").returncode == 0
    assert tether(project, "uninstall", "claude-code").returncode == 0
    assert not (project / "CLAUDE.md").exists()
    assert json.loads((project / ".claude" / "settings.json").read_text()) == {}


def test_uninstalling_claude_code_keeps_the_agents_md_section_codex_reads(project):
    assert tether(project, "install", "codex").returncode == 0
    assert tether(project, "install", "claude-code", "--agents-md").returncode == 0
    assert tether(project, "uninstall", "claude-code").returncode == 0
    assert "<!-- tether:begin agent -->" in (project / "AGENTS.md").read_text()  # Codex's hooks are still there
    assert tether(project, "uninstall", "codex").returncode == 0
    assert not (project / "AGENTS.md").exists()
    assert tether(project, "install", "claude-code", "--agents-md").returncode == 0  # no Codex: it goes
    assert tether(project, "uninstall", "claude-code").returncode == 0
    assert not (project / "AGENTS.md").exists()


# -- pre-commit -----------------------------------------------------------------------------------------

def test_the_pre_commit_hook_keeps_the_manifest_current_and_never_blocks_code(project):
    assert git(project, "add", "-A").returncode == 0
    assert git(project, "commit", "-qm", "init").returncode == 0
    proc = tether(project, "install", "pre-commit")
    assert proc.returncode == 0, proc.stderr
    hook = project / ".git" / "hooks" / "pre-commit"
    assert os.access(hook, os.X_OK)
    assert "nothing changed" in tether(project, "install", "pre-commit").stdout
    # tether's files change, the manifest is stale: the commit goes through with a current manifest
    assert tether(project, "task", "start", "Work", "--steps", "one").returncode == 0
    assert tether(project, "index", "--check").returncode != 0
    (project / "code.py").write_text("x = 1\n")
    assert git(project, "add", "-A").returncode == 0
    commit = git(project, "commit", "-qm", "work")
    assert commit.returncode == 0, commit.stderr
    assert git(project, "status", "--porcelain").stdout == ""
    assert tether(project, "index", "--check").returncode == 0
    # a commit of code alone: untouched, and not blocked even with tether's files mid-session
    assert tether(project, "checkpoint", "--done", "1").returncode == 0
    (project / "code.py").write_text("x = 2\n")
    assert git(project, "add", "code.py").returncode == 0
    commit = git(project, "commit", "-qm", "code")
    assert commit.returncode == 0, commit.stderr
    assert git(project, "show", "--name-only", "--format=", "HEAD").stdout.split() == ["code.py"]


def test_install_pre_commit_keeps_someone_elses_hook(project):
    hook = project / ".git" / "hooks" / "pre-commit"
    hook.parent.mkdir(parents=True, exist_ok=True)
    hook.write_text("#!/bin/sh\nmake lint\n")
    proc = tether(project, "install", "pre-commit")
    assert proc.returncode != 0 and proc.stderr.startswith("Error: ") and "Hint: add this line" in proc.stderr
    assert hook.read_text() == "#!/bin/sh\nmake lint\n"


# -- the device label, and `--items 30` -------------------------------------------------------------------

def test_checkpoints_carry_the_users_device_label_never_the_host_name(project):
    ws = Workspace.open(project)
    ws.start_task("Work", steps=["one"])
    assert ws.checkpoint(done=["1"]).device is None
    assert tether(project, "config", "--device", "Laptop").returncode == 0
    ckp = Workspace.open(project).checkpoint(state="again")
    assert ckp.device == "Laptop"
    assert git(project, "check-ignore", "-q", ".tether/local/device").returncode == 0  # never committed
    host = re.escape(os.uname().nodename)  # as a whole name: a short one ("vm") occurs inside random ids
    assert not re.search(rf"(?<![A-Za-z0-9]){host}(?![A-Za-z0-9])", Workspace.open(project).checkpoint_text(ckp))


@pytest.mark.parametrize("option", ["--items", "--steps"])
def test_a_bare_number_as_the_only_item_is_refused_with_a_hint(project, option):
    proc = tether(project, "task", "start", "Docs", option, "30")
    assert proc.returncode != 0
    assert f"{option} 30 would make one entry named '30'" in proc.stderr and f"{option}-file" in proc.stderr
    assert Workspace.open(project).tasks() == []
    assert tether(project, "task", "start", "Docs", option, "30", option, "31").returncode == 0


def test_the_pre_commit_hook_says_the_audits_findings_and_blocks_only_when_strict(project):
    assert git(project, "add", "-A").returncode == 0
    assert git(project, "commit", "-qm", "init").returncode == 0
    assert tether(project, "install", "pre-commit").returncode == 0
    # A cached file nothing refers to: a finding, said on stderr; the commit goes through.
    ws = Workspace.open(project)
    _, shown = ws.store.put_cached("offloaded", b"orphan\n")
    (project / "code.py").write_text("x = 1\n")
    assert git(project, "add", "code.py").returncode == 0
    commit = git(project, "commit", "-qm", "code")
    assert commit.returncode == 0, commit.stderr
    assert f"{shown}: [cache-orphan]" in commit.stderr
    # Installed with --strict: the same finding blocks the next commit, until it is fixed.
    proc = tether(project, "install", "pre-commit", "--strict")
    assert proc.returncode == 0 and "blocks a commit" in proc.stdout
    (project / "code.py").write_text("x = 2\n")
    assert git(project, "add", "code.py").returncode == 0
    commit = git(project, "commit", "-qm", "code 2")
    assert commit.returncode != 0 and "[cache-orphan]" in commit.stderr and "--no-verify" in commit.stderr
    (project / shown).unlink()
    commit = git(project, "commit", "-qm", "code 2")
    assert commit.returncode == 0, commit.stderr


def test_the_pre_commit_frameworks_hook_runs_the_strict_audit():
    import yaml

    hooks = yaml.safe_load((Path(__file__).resolve().parents[1] / ".pre-commit-hooks.yaml").read_text())
    [hook] = hooks
    assert hook["id"] == "tether-audit" and hook["entry"].split()[:3] == ["tether", "audit", "--strict"]
    assert hook["pass_filenames"] is False and hook["always_run"] is True and hook["language"] == "python"


def test_install_says_when_the_hook_command_names_the_home_folder(project):
    command = f"{Path.home()}/.local/bin/tether-hook"
    for agent in ("claude-code", "codex"):
        proc = tether(project, "install", agent, "--command", f"{command} {agent}")
        assert proc.returncode == 0, proc.stderr
        assert "Note: the command written into those files names your home folder" in proc.stdout
    assert "home folder" not in tether(project, "install", "claude-code").stdout
