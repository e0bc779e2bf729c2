"""tether.gitio (refs, objects, commits) against real git repositories in tmp_path."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tether.errors import GitProblem as GitError
from tether.gitio.commits import changed_paths, commit_paths
from tether.gitio.objects import GitTree, same_tree, tree_entries
from tether.gitio.refs import current_branch, head_sha, resolve_commit


@pytest.fixture(autouse=True)
def _isolated_git(tmp_path, monkeypatch):
    # Never read the developer's ~/.gitconfig or /etc/gitconfig.
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for var in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL",
                "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "GIT_CONFIG_GLOBAL"):
        monkeypatch.delenv(var, raising=False)


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True,
                          text=True).stdout


def write(root: Path, rel: str, text: str | bytes) -> None:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    (p.write_bytes if isinstance(text, bytes) else p.write_text)(text)


@pytest.fixture
def repo(tmp_path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "Test User")
    git(root, "config", "user.email", "test@example.com")
    git(root, "config", "commit.gpgsign", "false")
    return root


def commit_all(root: Path, msg: str = "c") -> str:
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", msg)
    return git(root, "rev-parse", "HEAD").strip()


def status(root: Path) -> list[str]:
    return sorted(git(root, "status", "--porcelain", "--untracked-files=all").splitlines())


# --- HEAD, branches, revisions ---------------------------------------------------------

def test_head_sha_unborn_then_commits(repo):
    assert head_sha(repo) is None
    assert current_branch(repo) == "main"
    write(repo, "a.txt", "1")
    first = commit_all(repo)
    assert head_sha(repo) == first
    write(repo, "a.txt", "2")
    second = commit_all(repo)
    assert head_sha(repo) == second != first


def test_branch_and_detached_head(repo):
    write(repo, "a.txt", "1")
    sha = commit_all(repo)
    git(repo, "switch", "-q", "-c", "feature/x")
    assert current_branch(repo) == "feature/x"
    git(repo, "checkout", "-q", "--detach", "HEAD")
    assert current_branch(repo) is None
    assert head_sha(repo) == sha


def test_packed_refs(repo):
    write(repo, "a.txt", "1")
    sha = commit_all(repo)
    git(repo, "pack-refs", "--all")
    assert not (repo / ".git/refs/heads/main").exists()
    assert head_sha(repo) == sha
    assert current_branch(repo) == "main"


def test_unborn_branch_after_commits(repo):
    write(repo, "a.txt", "1")
    commit_all(repo)
    git(repo, "pack-refs", "--all")
    git(repo, "checkout", "-q", "--orphan", "fresh")
    assert current_branch(repo) == "fresh"
    assert head_sha(repo) is None


def test_worktree_falls_back_to_git(repo, tmp_path):
    write(repo, "a.txt", "1")
    sha = commit_all(repo)
    wt = tmp_path / "wt"
    git(repo, "worktree", "add", "-q", "-b", "side", str(wt))
    assert (wt / ".git").is_file()
    assert head_sha(wt) == sha
    assert current_branch(wt) == "side"
    assert resolve_commit(wt, "main") == sha


def test_resolve_commit(repo):
    write(repo, "a.txt", "1")
    sha = commit_all(repo)
    git(repo, "tag", "-a", "v1", "-m", "annotated")  # peels through the tag object
    write(repo, "a.txt", "2")
    commit_all(repo)
    assert resolve_commit(repo, sha[:8]) == sha
    assert resolve_commit(repo, "v1") == sha
    assert resolve_commit(repo, "HEAD~1") == sha
    for bad in ("nope", "0" * 40, "HEAD:a.txt", "--all", ""):
        with pytest.raises(GitError) as err:
            resolve_commit(repo, bad)
        assert str(err.value) == f"not a commit: {bad}"
        assert err.value.hint == "run `git rev-parse HEAD` to get a valid SHA"


def test_not_a_repository(tmp_path):
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(GitError) as err:
        head_sha(plain)
    assert "\n" not in str(err.value)


def test_missing_git_binary(repo, monkeypatch):
    monkeypatch.setenv("PATH", str(repo / "nowhere"))
    with pytest.raises(GitError) as err:
        changed_paths(repo, ".tether")
    assert err.value.hint == "install git"


def test_the_spawned_queries_answer_fail_and_miss_git_like_the_others(repo, monkeypatch):
    """tree_entries and same_tree run git without the subprocess module: same answers, same errors."""
    (repo / "README.md").write_text("# Project\n")
    head = commit_all(repo)
    readme = git(repo, "rev-parse", "HEAD:README.md").strip()
    assert tree_entries(repo, head, ["README.md", "absent.md"]) == {"README.md": readme}
    (repo / "sub").mkdir()
    (repo / "sub" / "a.txt").write_text("a\n")
    commit_all(repo)
    (repo / "README.md").write_text("changed\n")
    commit_all(repo)
    assert same_tree(repo, "HEAD~1", "HEAD", "sub") is True
    assert same_tree(repo, head, "HEAD", "sub") is False  # absent at the first commit
    assert same_tree(repo, head, "HEAD", "") is False  # the root tree changed
    with pytest.raises(GitError) as err:
        tree_entries(repo, "0" * 40, ["README.md"])
    assert str(err.value).startswith("git ls-tree failed: ")
    monkeypatch.setenv("PATH", str(repo / "nowhere"))
    with pytest.raises(GitError) as err:
        tree_entries(repo, head, ["README.md"])
    assert err.value.hint == "install git"


# --- changed_paths ---------------------------------------------------------------------

def test_changed_paths(repo):
    write(repo, ".tether/a.md", "a")
    write(repo, ".tether/sub/b.md", "b")
    write(repo, "other.txt", "o")
    assert changed_paths(repo, ".tether") == [".tether/a.md", ".tether/sub/b.md"]  # no commits yet
    commit_all(repo)
    assert changed_paths(repo, ".tether") == []
    write(repo, ".tether/a.md", "changed")
    write(repo, ".tether/new/c.md", "c")
    (repo / ".tether/sub/b.md").unlink()
    write(repo, "other.txt", "changed outside")
    assert changed_paths(repo, ".tether") == [".tether/a.md", ".tether/new/c.md", ".tether/sub/b.md"]


def test_changed_paths_staged_and_ignored(repo):
    write(repo, ".tether/a.md", "a")
    commit_all(repo)
    write(repo, ".gitignore", ".tether/cache/\n")
    write(repo, ".tether/cache/x", "ignored")
    write(repo, ".tether/a.md", "staged")
    git(repo, "add", ".tether/a.md")
    git(repo, "mv", ".tether/a.md", ".tether/renamed.md")
    assert changed_paths(repo, ".tether") == [".tether/a.md", ".tether/renamed.md"]


# --- commit_paths ----------------------------------------------------------------------

def test_commit_paths_leaves_user_changes_alone(repo):
    write(repo, ".tether/a.md", "a")
    write(repo, "staged.txt", "s0")
    write(repo, "modified.txt", "m0")
    base = commit_all(repo)
    write(repo, ".tether/a.md", "a2")
    write(repo, ".tether/new.md", "n")
    write(repo, "staged.txt", "s1")
    git(repo, "add", "staged.txt")
    write(repo, "modified.txt", "m1")
    before = status(repo)

    sha = commit_paths(repo, ".tether", "tether: sync", {"Tether-Task": "T-1", "Tether-Op": "save"})

    assert sha == head_sha(repo) == git(repo, "rev-parse", "main").strip()
    assert git(repo, "rev-parse", "HEAD~1").strip() == base
    stat = git(repo, "show", "--stat", "--format=", "HEAD")
    assert ".tether/a.md" in stat and ".tether/new.md" in stat
    assert "staged.txt" not in stat and "modified.txt" not in stat
    assert status(repo) == [" M modified.txt", "M  staged.txt"]
    assert before == [" M .tether/a.md", " M modified.txt", "?? .tether/new.md", "M  staged.txt"]
    assert git(repo, "diff", "--cached", "--name-only").split() == ["staged.txt"]
    assert git(repo, "show", "HEAD:.tether/a.md") == "a2"
    trailers = git(repo, "log", "-1", "--format=%(trailers)")
    assert "Tether-Task: T-1" in trailers and "Tether-Op: save" in trailers
    assert git(repo, "log", "-1", "--format=%s").strip() == "tether: sync"
    assert list((repo / ".git").glob("tether-index*")) == []


def test_commit_paths_nothing_to_commit(repo):
    write(repo, ".tether/a.md", "a")
    write(repo, "x.txt", "x")
    sha = commit_all(repo)
    write(repo, "x.txt", "changed")
    assert commit_paths(repo, ".tether", "m", {}) is None
    assert commit_paths(repo, "does-not-exist", "m", {}) is None
    assert head_sha(repo) == sha


def test_commit_paths_takes_worktree_version_of_staged_paths(repo):
    write(repo, ".tether/a.md", "a")
    commit_all(repo)
    write(repo, ".tether/a.md", "staged")
    git(repo, "add", ".tether/a.md")
    write(repo, ".tether/a.md", "worktree")
    assert commit_paths(repo, ".tether", "m", {})
    assert git(repo, "show", "HEAD:.tether/a.md") == "worktree"
    assert status(repo) == []


def test_commit_paths_staged_then_deleted_is_nothing(repo):
    write(repo, "x.txt", "x")
    sha = commit_all(repo)
    write(repo, ".tether/a.md", "a")
    git(repo, "add", ".tether/a.md")
    (repo / ".tether/a.md").unlink()
    assert changed_paths(repo, ".tether") == [".tether/a.md"]
    assert commit_paths(repo, ".tether", "m", {}) is None
    assert head_sha(repo) == sha


def test_commit_paths_unborn(repo):
    write(repo, ".tether/a.md", "a")
    write(repo, "README", "user file")
    git(repo, "add", "README")
    sha = commit_paths(repo, ".tether", "init", {"Tether": "yes"})
    assert sha and head_sha(repo) == sha
    assert current_branch(repo) == "main"
    assert git(repo, "ls-tree", "-r", "--name-only", "HEAD").split() == [".tether/a.md"]
    assert git(repo, "rev-list", "--count", "HEAD").strip() == "1"
    assert status(repo) == ["A  README"]


def test_commit_paths_deletion(repo):
    write(repo, ".tether/a.md", "a")
    write(repo, ".tether/b.md", "b")
    commit_all(repo)
    (repo / ".tether/a.md").unlink()
    sha = commit_paths(repo, ".tether", "delete", {})
    assert sha
    assert git(repo, "ls-tree", "-r", "--name-only", "HEAD").split() == [".tether/b.md"]
    assert status(repo) == []
    # the whole directory gone
    (repo / ".tether/b.md").unlink()
    (repo / ".tether").rmdir()
    assert commit_paths(repo, ".tether", "delete all", {})
    assert git(repo, "ls-tree", "-r", "--name-only", "HEAD").split() == []
    assert status(repo) == []


def test_commit_paths_skips_hooks(repo):
    hook = repo / ".git/hooks/pre-commit"
    hook.write_text("#!/bin/sh\nexit 1\n")
    hook.chmod(0o755)
    write(repo, ".tether/a.md", "a")
    assert commit_paths(repo, ".tether", "m", {})


def test_commit_paths_without_identity(repo):
    git(repo, "config", "--unset", "user.name")
    git(repo, "config", "--unset", "user.email")
    git(repo, "config", "user.useConfigOnly", "true")
    write(repo, ".tether/a.md", "a")
    with pytest.raises(GitError) as err:
        commit_paths(repo, ".tether", "m", {})
    assert err.value.hint == "set git config user.name and user.email"
    assert "\n" not in str(err.value)
    assert head_sha(repo) is None
    assert list((repo / ".git").glob("tether-index*")) == []


def test_commit_paths_rejects_bad_trailer(repo):
    write(repo, ".tether/a.md", "a")
    with pytest.raises(GitError):
        commit_paths(repo, ".tether", "m", {"Bad\nKey": "v"})
    assert head_sha(repo) is None


# --- GitTree ---------------------------------------------------------------------------

def test_gittree_reads_old_commit(repo):
    write(repo, ".tether/tasks/T-1/task.md", "old task")
    write(repo, ".tether/tasks/T-1/notes/n1.md", "note")
    write(repo, ".tether/tether.toml", "v = 1\n")
    write(repo, ".tether/blob.bin", bytes(range(256)) + b"\n\0\r\n")
    write(repo, "outside.txt", "x")
    old = commit_all(repo)
    write(repo, ".tether/tasks/T-1/task.md", "new task")
    write(repo, ".tether/tasks/T-2/task.md", "t2")
    (repo / ".tether/tether.toml").unlink()
    commit_all(repo)

    with GitTree(repo, old, prefix=".tether") as tree:
        assert tree.read("tasks/T-1/task.md") == b"old task"
        assert tree.read("./tasks//T-1/task.md") == b"old task"
        assert tree.read("tether.toml") == b"v = 1\n"
        assert tree.read("blob.bin") == bytes(range(256)) + b"\n\0\r\n"
        assert tree.read("tasks/T-2/task.md") is None
        assert tree.read("tasks") is None  # a directory is not a file
        assert tree.read("../outside.txt") is None
        assert tree.list() == ["blob.bin", "tasks", "tether.toml"]
        assert tree.list("tasks") == ["T-1"]
        assert tree.list("tasks/T-1") == ["notes", "task.md"]
        assert tree.list("tasks/T-1/notes") == ["n1.md"]
        assert tree.list("missing") == []
        assert tree.list("tether.toml") == []
        assert tree.is_dir("") and tree.is_dir("tasks/T-1/notes")
        assert not tree.is_dir("tether.toml") and not tree.is_dir("nope")
    with GitTree(repo, old) as whole:
        assert whole.read("outside.txt") == b"x"
        assert whole.list() == [".tether", "outside.txt"]


def test_gittree_many_reads_one_process(repo, monkeypatch):
    for i in range(200):
        write(repo, f".tether/items/{i:03}.md", f"item {i}\n" * (i + 1))
    sha = commit_all(repo)
    spawned = []
    real_popen = subprocess.Popen

    def counting_popen(*args, **kwargs):
        spawned.append(args[0])
        return real_popen(*args, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", counting_popen)
    tree = GitTree(repo, sha, ".tether")
    try:
        names = tree.list("items")
        assert len(names) == 200
        for i, name in enumerate(names):
            assert tree.read(f"items/{name}") == (f"item {i}\n" * (i + 1)).encode()
            assert tree.read(f"items/missing-{name}") is None
        assert tree.is_dir("items")
    finally:
        tree.close()
    assert len(spawned) == 1
    tree.close()  # idempotent


def test_gittree_odd_names(repo):
    write(repo, "d/with space.txt", "s")
    write(repo, "d/x missing", "m")
    write(repo, "d/ünï.txt", "u")
    sha = commit_all(repo)
    with GitTree(repo, sha) as tree:
        assert tree.read("d/with space.txt") == b"s"
        assert tree.read("d/x missing") == b"m"
        assert tree.read("d/ünï.txt") == b"u"
        assert tree.read("d/y missing") is None
        assert tree.list("d") == ["with space.txt", "x missing", "ünï.txt"]


def test_commit_paths_compare_and_swap(repo, monkeypatch):
    import tether.gitio.commits as tg

    write(repo, ".tether/a.md", "a")
    stale = commit_all(repo)
    write(repo, "x.txt", "someone else committed")
    moved = commit_all(repo)
    write(repo, ".tether/a.md", "b")
    monkeypatch.setattr(tg, "head_sha", lambda root: stale)  # HEAD read before the other commit
    with pytest.raises(GitError) as err:
        tg.commit_paths(repo, ".tether", "m", {})
    assert str(err.value).startswith("HEAD moved")
    assert git(repo, "rev-parse", "HEAD").strip() == moved


# --- history: when files were last committed ------------------------------------------------

def commit_at(root: Path, when: str, msg: str = "c") -> None:
    git(root, "add", "-A")
    subprocess.run(["git", "-C", str(root), "commit", "-q", "-m", msg], check=True, capture_output=True,
                   env={**os.environ, "GIT_COMMITTER_DATE": when})


def seconds(when: str) -> int:
    import calendar
    import time

    return calendar.timegm(time.strptime(when, "%Y-%m-%dT%H:%M:%SZ"))


def test_as_committed_leaves_out_what_differs_from_head_or_is_not_in_it(repo):
    from tether.gitio.history import as_committed

    paths = ["w/a.md", "w/b.md", "w/c.md", "w/d.md", "w/e.md"]
    assert as_committed(repo, paths) == set()  # no commit yet
    for name in ("a", "b", "c"):
        write(repo, f"w/{name}.md", name)
    commit_all(repo)
    write(repo, "w/b.md", "changed")
    write(repo, "w/c.md", "staged")
    git(repo, "add", "w/c.md")
    write(repo, "w/d.md", "new")
    os.utime(repo / "w" / "a.md", (0, 0))  # a new time, the same bytes: as committed
    assert as_committed(repo, paths) == {"w/a.md"}
    assert as_committed(repo / "w", ["a.md", "b.md"]) == {"a.md"}  # paths relative to the root given
    with pytest.raises(GitError):
        as_committed(repo.parent, ["a.md"])  # not a repository


def test_last_commit_times_walks_back_to_the_newest_it_is_told_of(repo):
    """Each path's last commit, the walk stopped at the first commit made before both ``after`` and
    the newest found; a conflict resolved in a merge is that path's change."""
    from tether.gitio.history import last_commit_times

    write(repo, "w/a.md", "a")
    write(repo, "w/b.md", "b")
    write(repo, "w/c.md", "c")
    write(repo, "w/d.md", "d")
    commit_at(repo, "2026-11-21T08:00:00Z")
    write(repo, "w/a.md", "a2")
    commit_at(repo, "2026-11-21T09:00:00Z")
    git(repo, "checkout", "-q", "-b", "side")
    write(repo, "w/b.md", "side")
    commit_at(repo, "2026-11-21T09:30:00Z")
    git(repo, "checkout", "-q", "main")
    write(repo, "w/b.md", "main")
    commit_at(repo, "2026-11-21T09:45:00Z")
    subprocess.run(["git", "-C", str(repo), "merge", "-q", "side"], capture_output=True)
    write(repo, "w/b.md", "resolved")
    commit_at(repo, "2026-11-21T10:00:00Z", "merge")
    every = ["w/a.md", "w/b.md", "w/c.md", "w/none.md"]
    assert last_commit_times(repo, every) == {"w/b.md": seconds("2026-11-21T10:00:00Z")}
    assert last_commit_times(repo, ["w/a.md", "w/c.md"]) == {"w/a.md": seconds("2026-11-21T09:00:00Z")}
    assert last_commit_times(repo, ["w/c.md"]) == {"w/c.md": seconds("2026-11-21T08:00:00Z")}
    assert last_commit_times(repo, ["w/a.md", "w/c.md"], after=seconds("2026-11-21T09:10:00Z")) == {}
    assert last_commit_times(repo, ["w/a.md", "w/c.md"], after=0) == {"w/a.md": seconds("2026-11-21T09:00:00Z")}
    assert last_commit_times(repo, ["w/c.md", "w/d.md"]) == {  # changed by the same commit: both
        "w/c.md": seconds("2026-11-21T08:00:00Z"), "w/d.md": seconds("2026-11-21T08:00:00Z")}
    assert last_commit_times(repo / "w", ["c.md"]) == {"c.md": seconds("2026-11-21T08:00:00Z")}
    with pytest.raises(GitError) as err:
        last_commit_times(repo.parent, ["a.md"])
    assert str(err.value).startswith("git log failed: ")
