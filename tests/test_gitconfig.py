"""gitio.gitconfig reads whether git's config defines a key from the files, without git: each
answer here is checked against `git config --get` itself."""

from __future__ import annotations

import os
import subprocess

import pytest

from tether.gitio import gitconfig

KEY = "merge.tether.driver"


def git(cwd, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(["git", "-C", str(cwd), *args], capture_output=True, text=True)
    assert not check or proc.returncode == 0, proc.stderr
    return proc


def git_says(root) -> str | None:
    proc = git(root, "config", "--get", KEY, check=False)
    return proc.stdout.rstrip("\n") if proc.returncode == 0 else None


@pytest.fixture
def repo(tmp_path):
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    return root


@pytest.mark.parametrize("text", [
    '[merge "tether"]\n\tname = x\n\tdriver = run %O %A\n',
    '[merge "tether"]\n\tdriver = "run  %O" ; a comment\n',
    '[Merge "tether"]\n\tDRIVER = run\n',              # section and key names: any case
    '[merge "Tether"]\n\tdriver = run\n',              # a subsection's: exact
    '[merge.tether]\n\tdriver = old form\n',           # the old form, lower-cased by git
    '[merge "tether"] driver = on the header line\n',
    '[merge "tether"]\n\tdriver = first\n[merge "tether"]\n\tdriver = last\n',
    '[merge "other"]\n\tdriver = not ours\n',
    '# [merge "tether"]\n; driver = commented out\n',
])
def test_the_repository_config_reads_as_git_reads_it(repo, text):
    with open(repo / ".git" / "config", "a") as fh:
        fh.write(text)
    assert gitconfig.get(str(repo), KEY) == git_says(repo)


def test_the_users_and_the_environments_config_count_and_the_repository_wins(repo, tmp_path, monkeypatch):
    assert gitconfig.get(str(repo), KEY) is None is git_says(repo)
    git(repo, "config", "--global", KEY, "from the user")
    assert gitconfig.get(str(repo), KEY) == "from the user" == git_says(repo)
    git(repo, "config", KEY, "from the repository")
    assert gitconfig.get(str(repo), KEY) == "from the repository" == git_says(repo)
    monkeypatch.setenv("GIT_CONFIG_COUNT", "1")
    monkeypatch.setenv("GIT_CONFIG_KEY_0", KEY)
    monkeypatch.setenv("GIT_CONFIG_VALUE_0", "from the environment")
    assert gitconfig.get(str(repo), KEY) == "from the environment" == git_says(repo)


def test_a_worktree_reads_the_common_config(repo, tmp_path):
    git(repo, "commit", "-q", "--allow-empty", "-m", "first")
    git(repo, "config", KEY, "shared")
    other = tmp_path / "other"
    git(repo, "worktree", "add", "-q", str(other), "-b", "side")
    assert os.path.isfile(other / ".git")
    assert gitconfig.get(str(other), KEY) == "shared" == git_says(other)


def test_an_include_is_unknown_rather_than_guessed(repo, tmp_path):
    extra = tmp_path / "extra.config"
    extra.write_text(f'[merge "tether"]\n\tdriver = included\n')
    git(repo, "config", "include.path", str(extra))
    assert git_says(repo) == "included"
    assert gitconfig.get(str(repo), KEY) is False
