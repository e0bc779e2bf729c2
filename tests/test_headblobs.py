"""What HEAD holds for the files boot read, kept per commit: the same answer as git, fewer git processes.

Boot's "tether's files differ from HEAD" compares the files it read with their blob ids at
HEAD. Those ids are kept per commit in .tether/local/head.cache; the tests check the cached
answer against `git ls-tree` after every kind of change, and that a session which checkpoints
between boots stops starting git once the active task's folder is known.
"""

from __future__ import annotations


import pytest

from tether.store import fsio
from tether.warm import cachefile

from tether.gitio import objects as git_objects
from tether.warm import head_diff


def truth(git_run, head, paths):
    """git's own answer, one path at a time (not through tether, so not counted)."""
    answer = {}
    for p in paths:
        line = git_run("-c", "core.quotePath=false", "--literal-pathspecs", "ls-tree", head, "--", p).strip()
        if line:
            answer[p] = line.split()[2]
    return answer


@pytest.fixture
def ls_tree_calls(spy):
    return spy(git_objects, "tree_entries", lambda root, rev, specs: list(specs))


def committed_task(ws, git_run):
    task = ws.start_task("Summarise", items=[f"doc{n}" for n in range(1, 21)])
    ws.checkpoint(task.id, done=["1"], state="doc 1")
    git_run("add", "-A")
    git_run("commit", "-qm", "tether state")
    return task


def paths_of(ws, task_id):
    folder = ws.dir / "tasks" / task_id / "checkpoints"
    return sorted(f".tether/tasks/{task_id}/checkpoints/{p.name}" for p in folder.glob("CKP-*.md")) + [
        f".tether/tasks/{task_id}/task.md", ".tether/nothing-here.md", ".tether/tasks/none/task.md"]


def test_the_cached_answer_is_gits_after_new_files_edits_and_commits(ws, git, ls_tree_calls):
    root, store = str(ws.root), str(ws.dir)
    task = committed_task(ws, git)
    head = git("rev-parse", "HEAD").strip()
    paths = paths_of(ws, task.id)
    assert head_diff.blob_oids(root, store, head, paths) == truth(git, head, paths)
    first = len(ls_tree_calls)

    # The same question again: nothing to ask git.
    assert head_diff.blob_oids(root, store, head, paths) == truth(git, head, paths)
    assert len(ls_tree_calls) == first

    # A new checkpoint (absent at HEAD) and an edited one (its HEAD id is unchanged).
    ws.checkpoint(task.id, done=["2"], state="doc 2")
    paths = paths_of(ws, task.id)
    answer = head_diff.blob_oids(root, store, head, paths)
    assert answer == truth(git, head, paths)
    assert not any(p.endswith("CKP-0002") or "CKP-0002-" in p for p in answer)

    # HEAD moves: the cache for the old commit does not answer for the new one.
    git("add", "-A")
    git("commit", "-qm", "more")
    new_head = git("rev-parse", "HEAD").strip()
    assert head_diff.blob_oids(root, store, new_head, paths) == truth(git, new_head, paths)
    assert any("CKP-0002-" in p for p in head_diff.blob_oids(root, store, new_head, paths))


def test_checkpoints_between_boots_stop_starting_git(ws, git, ls_tree_calls):
    task = committed_task(ws, git)
    ws.boot()  # the session's first boot asks git for the paths it read
    boots = []
    for n in range(2, 6):
        ws.checkpoint(task.id, done=[str(n)], state=f"doc {n}")
        before = len(ls_tree_calls)
        brief = ws.boot()
        boots.append(len(ls_tree_calls) - before)
        newest = sorted((ws.dir / "tasks" / task.id / "checkpoints").glob("CKP-*.md"))[-1].name
        assert any(newest in p for p in brief.data["changed"])  # still reported as new
    # The first boot lists the folder the new checkpoints land in; the later ones ask nothing.
    assert boots[0] <= 1 and boots[1:] == [0, 0, 0]


def test_a_damaged_or_foreign_cache_is_ignored(ws, git):
    root, store = str(ws.root), str(ws.dir)
    task = committed_task(ws, git)
    head = git("rev-parse", "HEAD").strip()
    paths = paths_of(ws, task.id)
    cache = ws.dir / head_diff.CACHE
    cache.write_bytes(b"\x00garbage")
    assert head_diff.blob_oids(root, store, head, paths) == truth(git, head, paths)
    for damage in ({"head": head, "paths": [], "dirs": {}},
                   {"head": "0" * 40, "paths": dict.fromkeys(paths, "f" * 40), "dirs": {}}):
        cachefile.write(str(cache), "head", head_diff.FORMAT, damage)
        assert head_diff.blob_oids(root, store, head, paths) == truth(git, head, paths)


def test_paths_are_taken_literally(ws, git):
    root, store = str(ws.root), str(ws.dir)
    (ws.dir / "odd[1].md").write_text("one\n")
    (ws.dir / "odd1.md").write_text("two\n")
    git("add", "-A")
    git("commit", "-qm", "odd names")
    head = git("rev-parse", "HEAD").strip()
    paths = [".tether/odd[1].md", ".tether/odd*.md"]
    answer = head_diff.blob_oids(root, store, head, paths)
    assert list(answer) == [".tether/odd[1].md"]
    assert answer[".tether/odd[1].md"] == git("rev-parse", "HEAD:.tether/odd[1].md").strip()


def test_a_directory_with_a_name_that_cannot_be_kept_whole_is_still_answered(ws, git):
    root, store = str(ws.root), str(ws.dir)
    folder = ws.dir / "odd"
    folder.mkdir()
    (folder / "plain.md").write_text("one\n")
    (folder / "tab\tname.md").write_text("two\n")
    git("add", "-A")
    git("commit", "-qm", "a tab in a name")
    head = git("rev-parse", "HEAD").strip()
    first = [".tether/odd/plain.md"]
    assert head_diff.blob_oids(root, store, head, first) == truth(git, head, first)
    (folder / "new.md").write_text("three\n")  # new in a known directory: it is listed whole
    paths = [".tether/odd/plain.md", ".tether/odd/tab\tname.md", ".tether/odd/new.md"]
    for _ in range(2):
        assert head_diff.blob_oids(root, store, head, paths) == truth(git, head, paths)


@pytest.fixture
def hashed(spy, monkeypatch):
    """The files boot hashed (their blob id computed from their bytes)."""
    from tether.warm import brief_cache

    monkeypatch.setattr(fsio, "RACY_NS", 0)  # trust stats at once (bootcache's tests cover the rule)
    return spy(git_objects, "blob_oid", lambda data, sha256=False: data)


def test_a_file_is_hashed_again_only_when_its_stat_changed(ws, git, hashed):
    import os

    task = committed_task(ws, git)
    assert ws.boot(warm=False).data["changed"] == []
    assert hashed  # the first boot hashes what it read
    hashed.clear()
    assert ws.boot(warm=False).data["changed"] == []
    assert hashed == []  # nothing changed: no file hashed
    ws.checkpoint(task.id, done=["2"], state="doc 2")
    changed = ws.boot(warm=False).data["changed"]
    assert len(changed) == 1 and "/checkpoints/CKP-0002-" in changed[0]
    assert hashed == []  # the new checkpoint is not in HEAD: it differs without being hashed

    # An edit in place that keeps the size and puts the mtime back: the ctime still moves.
    task_md = ws.dir / "tasks" / task.id / "task.md"
    before = os.stat(task_md)
    data = task_md.read_bytes()
    task_md.write_bytes(data.replace(b"Summarise", b"Summarize"))
    os.utime(task_md, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert f".tether/tasks/{task.id}/task.md" in ws.boot(warm=False).data["changed"]
    # Put back as committed: the same bytes as HEAD again.
    task_md.write_bytes(data)
    assert f".tether/tasks/{task.id}/task.md" not in ws.boot(warm=False).data["changed"]


def test_a_commit_that_leaves_tethers_folder_alone_reuses_what_the_last_commit_held(ws, git, ls_tree_calls, spy):
    """A commit of code, a new branch: one small git query says tether's folder is the same tree,
    so every id (and absence) learnt at the old HEAD holds, with no listing of the paths again."""
    root, store = str(ws.root), str(ws.dir)
    task = committed_task(ws, git)
    ws.checkpoint(task.id, done=["2"], state="doc 2")  # differs from HEAD: HEAD lacks it
    rels = sorted(p.relative_to(ws.dir).as_posix() for p in (ws.dir / "tasks" / task.id).rglob("*.md"))

    def content_of(rel):
        return (ws.dir / rel).read_bytes()

    def changed():
        return head_diff.differing(root, store, git("rev-parse", "HEAD").strip(), rels, content_of, None, 0)

    before = changed()
    assert len(before) == 1 and before[0].startswith(f".tether/tasks/{task.id}/checkpoints/CKP-0002")
    asked = len(ls_tree_calls)
    same = spy(git_objects, "same_tree")
    (ws.root / "README.md").write_text("# Project, edited\n")
    git("commit", "-qm", "code", "--", "README.md")  # tether's own changes stay uncommitted
    assert changed() == before
    assert len(ls_tree_calls) == asked and len(same) == 1
    assert changed() == before and len(same) == 1  # the cache now names the new HEAD
    # A commit of tether's files: another tree, so the paths are asked again, and nothing differs.
    git("add", "-A")
    git("commit", "-qm", "tether state")
    assert changed() == [] and len(ls_tree_calls) == asked + 1
