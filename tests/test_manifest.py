"""index.json with the per-machine hash cache: the same bytes as hashing every file, and no change missed."""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from tether.store import fsio as racy_rule  # where the racily-clean rule lives
from tether.warm import manifest_entries
from tether.core import manifest


def reference(store: Path) -> str:
    """index.json as the manifest was first defined: every state file read and hashed, json.dumps."""
    from tether.store import DirTree, Store

    files = {rel: "sha256:" + hashlib.sha256(data).hexdigest()
             for rel, data in Store(DirTree(store)).state_files()}
    body = {"schema": 1, "generator": "tether", "count": len(files), "files": dict(sorted(files.items()))}
    return json.dumps(body, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def index_text(ws) -> str:
    manifest.write(ws.store)
    return (Path(ws.store_dir) / "index.json").read_text(encoding="utf-8")


def settle(path: Path) -> None:
    """Wait until the filesystem clock has moved past ``path``'s ctime, so its stat can be trusted."""
    probe = path.parent / ".clock-probe"
    while True:
        probe.write_bytes(b"")
        if probe.stat().st_ctime_ns > path.stat().st_ctime_ns:
            probe.unlink()
            return
        time.sleep(0.001)


@pytest.fixture
def trust_settled(monkeypatch):
    """A stat the filesystem clock has moved past is trusted at once (warm.cachefile's racy margin is
    seconds; its own tests below check the rule itself)."""
    monkeypatch.setattr(racy_rule, "RACY_NS", 0)


@pytest.fixture
def hashed(monkeypatch):
    """The paths the cache reads and hashes, run by run."""
    calls: list[str] = []
    real = manifest_entries._hash_file

    def spy(path):
        calls.append(path)
        return real(path)

    monkeypatch.setattr(manifest_entries, "_hash_file", spy)
    return calls


def tricky_tree(store: Path) -> None:
    """Names whose sort order and JSON escaping a hand-written renderer could get wrong."""
    files = {
        "a.md": "file before its sibling directory", "a/b.md": "in a", "a-b": "dash sorts before slash",
        "a/b/c.md": "deeper", "a0": "digit after slash", "tasks/T1/checkpoints/CKP-0001-x.md": "x",
        "quote\"and\\back.md": "escaped", "ünï/cödé.md": "non-ASCII stays UTF-8", "tab\tname": "control",
        "empty.md": "", "decisions/D-1.md": "d",
    }
    for rel, text in files.items():
        path = store / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (store / "tasks" / "T1" / ".task.md.ab12cd34.tmp").write_text("a writer's temporary file")
    for skipped in ("local/x", "locks/y.lock", "cache/z"):
        (store / skipped).parent.mkdir(parents=True, exist_ok=True)
        (store / skipped).write_text("per machine")
    (store / "linked.md").symlink_to("a.md")                # tether follows no link: not listed
    (store / "linkdir").symlink_to("a", target_is_directory=True)  # nor walked into
    (store / "dangling.md").symlink_to("nowhere.md")


def test_index_is_byte_identical_to_hashing_every_file_cold_and_warm(ws):
    store = Path(ws.store_dir)
    tricky_tree(store)
    cold = index_text(ws)
    assert cold == reference(store)
    assert (store / manifest_entries.CACHE_DIR).is_dir()
    settle(store / "index.json")
    assert index_text(ws) == cold                            # from the cache
    files = json.loads(cold)["files"]
    assert "a/b/c.md" in files and "linked.md" not in files and not any(p.startswith("linkdir") for p in files)
    assert "dangling.md" not in files and not any(p.endswith(".tmp") or p.startswith("local/") for p in files)


def test_an_unchanged_file_is_not_read_again_and_a_changed_one_is(ws, hashed, trust_settled):
    store = Path(ws.store_dir)
    tricky_tree(store)
    index_text(ws)
    settle(store / "index.json")
    index_text(ws)  # trusts what the first run hashed before the clock moved on
    hashed.clear()
    settle(store / "index.json")
    index_text(ws)
    assert hashed == []
    (store / "a" / "b.md").write_text("in a, changed")
    (store / "new.md").write_text("a new file")
    assert index_text(ws) == reference(store)
    assert sorted(os.path.relpath(p, store) for p in hashed) == ["a/b.md", "new.md"]


def test_a_same_size_edit_in_place_right_after_index_is_seen(ws, cli):
    # No wait between the write and the edit: they can share one tick of the file clock.
    store = Path(ws.store_dir)
    target = store / "decisions" / "D-1.md"
    target.parent.mkdir(exist_ok=True)
    target.write_text("answer: yes\n")
    assert cli("index").code == 0
    with open(target, "r+b") as fh:
        fh.write(b"answer: no!\n")                           # same size, same inode
    check = cli("index", "--check", "--json").json()
    assert check["stale"] and check["changed"] == ["decisions/D-1.md"]


def test_an_edit_that_puts_the_old_mtime_back_is_seen(ws, cli, hashed, trust_settled):
    store = Path(ws.store_dir)
    target = store / "decisions" / "D-1.md"
    target.parent.mkdir(exist_ok=True)
    target.write_text("answer: yes\n")
    settle(target)
    assert cli("index").code == 0
    settle(store / "index.json")
    assert cli("index", "--check").code == 0                 # the cache now trusts D-1.md's stat
    hashed.clear()
    assert cli("index", "--check").code == 0 and hashed == []
    before = target.stat()
    with open(target, "r+b") as fh:
        fh.write(b"answer: no!\n")
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = target.stat()
    assert (after.st_mtime_ns, after.st_size, after.st_ino) == (before.st_mtime_ns, before.st_size, before.st_ino)
    check = cli("index", "--check", "--json").json()
    assert check["stale"] and check["changed"] == ["decisions/D-1.md"]   # its ctime moved


def fake_stats(monkeypatch, target: Path, stamp: int) -> None:
    """Make ``target`` (a file or directory) report the same mtime and ctime (``stamp``)
    whatever is written to it, as a coarse clock does for writes within one tick."""
    real, wanted = os.stat, os.path.realpath(target)

    def stat(path, *args, **kwargs):
        st = real(path, *args, **kwargs)
        if os.path.realpath(path) == wanted:
            return SimpleNamespace(st_mode=st.st_mode, st_ino=st.st_ino, st_size=st.st_size,
                                   st_mtime_ns=stamp, st_ctime_ns=stamp)
        return st

    monkeypatch.setattr(os, "stat", stat)


def test_racily_clean_a_file_stamped_in_the_tick_the_scan_started_is_hashed_again(ws, monkeypatch, trust_settled):
    store = Path(ws.store_dir)
    target = store / "memory" / "events.jsonl"
    target.parent.mkdir(exist_ok=True)
    target.write_text('{"event":"a"}\n')
    tick = 5_000_000_000
    fake_stats(monkeypatch, target, tick)
    monkeypatch.setattr(manifest_entries, "_now", lambda: tick)         # the scan starts in that tick
    first = index_text(ws)
    with open(target, "r+b") as fh:                                    # later in the same tick:
        fh.write(b'{"event":"b"}\n')                                   # the stat does not change
    monkeypatch.setattr(manifest_entries, "_now", lambda: tick + 10**9)
    assert index_text(ws) == reference(store) != first


def test_a_file_stamped_before_the_scan_started_is_trusted(ws, monkeypatch, trust_settled):
    # The other side of the rule (and proof that the test above can fail): a stat older than
    # the scan is taken from the cache, so an edit that left it unchanged would not be seen.
    store = Path(ws.store_dir)
    target = store / "memory" / "events.jsonl"
    target.parent.mkdir(exist_ok=True)
    target.write_text('{"event":"a"}\n')
    tick = 5_000_000_000
    fake_stats(monkeypatch, target, tick - 1)
    monkeypatch.setattr(manifest_entries, "_now", lambda: tick)
    first = index_text(ws)
    with open(target, "r+b") as fh:
        fh.write(b'{"event":"b"}\n')
    assert index_text(ws) == first != reference(store)


def test_racily_clean_a_directory_stamped_in_the_tick_the_scan_started_is_listed_again(ws, monkeypatch, trust_settled):
    store = Path(ws.store_dir)
    folder = store / "decisions"
    folder.mkdir(exist_ok=True)
    (folder / "D-1.md").write_text("one")
    tick = 5_000_000_000
    fake_stats(monkeypatch, folder, tick)
    monkeypatch.setattr(manifest_entries, "_now", lambda: tick)
    index_text(ws)
    (folder / "D-2.md").write_text("two")                  # the directory's stat does not change
    monkeypatch.setattr(manifest_entries, "_now", lambda: tick + 10**9)
    assert "decisions/D-2.md" in json.loads(index_text(ws))["files"]


def test_files_and_directories_added_removed_or_renamed_right_after_index(ws, cli):
    store = Path(ws.store_dir)
    tricky_tree(store)
    index_text(ws)
    settle(store / "index.json")
    index_text(ws)
    (store / "a" / "b.md").rename(store / "a" / "renamed.md")
    (store / "a" / "b" / "c.md").unlink()
    (store / "a" / "b").rmdir()
    (store / "tasks" / "T2" / "checkpoints").mkdir(parents=True)
    (store / "tasks" / "T2" / "checkpoints" / "CKP-0001-y.md").write_text("y")
    (store / "tasks" / "T1" / "checkpoints" / "CKP-0002-z.md").write_text("z")
    check = cli("index", "--check", "--json").json()
    assert check["added"] == ["a/renamed.md", "tasks/T1/checkpoints/CKP-0002-z.md", "tasks/T2/checkpoints/CKP-0001-y.md"]
    assert check["removed"] == ["a/b.md", "a/b/c.md"]
    assert index_text(ws) == reference(store)


def test_a_damaged_or_foreign_cache_is_ignored(ws):
    store = Path(ws.store_dir)
    tricky_tree(store)
    expected = index_text(ws)
    shards = sorted((store / manifest_entries.CACHE_DIR).iterdir())
    assert shards
    shards[0].write_bytes(shards[0].read_bytes()[:-7] + b"garbage")    # torn: its crc32 no longer matches
    (store / manifest_entries.CACHE_DIR / "07").write_bytes(b"tether-manifest-cache 0 py2.7 1\nold")
    assert index_text(ws) == expected == reference(store)


def test_render_matches_json_dumps():
    for files in ({}, {"a": "sha256:00"}, {"ü/\"q\"\\n\t": "sha256:ff", "b": "x", "a/b": "y", "a.b": "z"}):
        body = {"schema": 1, "generator": "tether", "count": len(files), "files": dict(sorted(files.items()))}
        assert manifest.render(files) == json.dumps(body, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
