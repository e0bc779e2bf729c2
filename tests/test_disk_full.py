"""A full disk: every write fails whole, names its file, and the command can simply be run again.

The disk fills at every point of a command in turn: tether's low-level write
(``fsio._write``) fails from its N-th call on, either at once (ENOSPC) or after
taking part of the bytes (a short write, as the kernel does when a few blocks are
left). Then the disk has room again and the same command is run again. A real
full disk, a small tmpfs, is used too where this machine lets the test mount one.
"""

from __future__ import annotations

import errno
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from tether.store import appendlog, fsio
from tether.store.codec import iter_jsonl

SUMMARY = "Finished the first docs"


class FullDisk:
    """fsio._write that fails from its ``at``-th call on (``short``: that call writes half first)."""

    def __init__(self, at: int | None, short: bool = False) -> None:
        self.at, self.short, self.calls, self.real = at, short, 0, os.write

    def __call__(self, fd: int, data) -> int:
        call, self.calls = self.calls, self.calls + 1
        if self.at is None or call < self.at:
            return self.real(fd, data)
        if self.short and call == self.at and len(data) > 1:
            return self.real(fd, bytes(data[:len(data) // 2]))
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def make_repo(root: Path, cli) -> Path:
    root.mkdir()
    for args in (["init", "-q", "-b", "main"], ["config", "commit.gpgsign", "false"]):
        subprocess.run(["git", "-C", str(root), *args], check=True)
    (root / "README.md").write_text("# Project\n")
    subprocess.run(["git", "-C", str(root), "add", "README.md"], check=True)
    subprocess.run(["git", "-C", str(root), "commit", "-q", "-m", "initial"], check=True)
    os.chdir(root)
    assert cli("init").code == 0
    assert cli("task", "start", "Docs", "--id", "A1", "-i", "a", "-i", "b").code == 0
    assert cli("checkpoint", "--done", "1", "--state", "a done").code == 0
    assert cli("note", "gotcha", "b is a scan").code == 0
    return root


def leftovers(store: Path) -> list[str]:
    """Temporary files anywhere in the store, and task folders without a task."""
    found = [p.relative_to(store).as_posix() for p in store.rglob("*") if p.name.endswith(".tmp")]
    found += [p.relative_to(store).as_posix() for p in (store / "tasks").iterdir() if not (p / "task.md").exists()]
    return found


def assert_closed_once(cli, store: Path) -> None:
    log = (store / "progress").glob("*.md")
    assert sum(p.read_text().count(f"**Summary:** {SUMMARY}") for p in log) == 1
    events = list(iter_jsonl((store / "memory" / "events.jsonl").read_bytes(), "events", []))
    assert [e["summary"] for e in events if e["event"] == "session_close"] == [SUMMARY]
    assert json.loads((store / "progress" / "LATEST.json").read_text())["summary"] == SUMMARY
    assert cli("task", "status", "A1", "--json").json()["task"]["status"] == "complete"
    verify = cli("verify", "--json").json()
    assert verify["problems"] == [] and verify["torn"] == []
    assert cli("index", "--check").code == 0
    assert leftovers(store) == []


def count_writes(monkeypatch, run) -> int:
    counter = FullDisk(None)
    monkeypatch.setattr(fsio, "_write", counter)
    run()
    monkeypatch.setattr(fsio, "_write", os.write)
    return counter.calls


def close(cli):
    return cli("close", "--summary", SUMMARY, "--completed", "A1", "--next", "review b")


@pytest.mark.parametrize("short", [False, True], ids=["enospc", "short-write"])
def test_a_close_stopped_by_a_full_disk_at_any_write_completes_once_when_run_again(tmp_path, cli, monkeypatch, short):
    monkeypatch.setenv("TETHER_SESSION_ID", "S-close-1")
    make_repo(tmp_path / "probe", cli)
    writes = count_writes(monkeypatch, lambda: close(cli))
    assert writes >= 7  # task.md, the log's heading and section, LATEST.json, the event, CONTEXT.md, index.json
    for at in range(writes):
        store = make_repo(tmp_path / f"r{at}", cli) / ".tether"
        monkeypatch.setenv("TETHER_SESSION_ID", f"S-fails-{at}")  # run again by a new process, a new session id
        monkeypatch.setattr(fsio, "_write", FullDisk(at, short))
        failed = close(cli)
        monkeypatch.setattr(fsio, "_write", os.write)
        assert failed.code == 1, (at, failed.out)
        error = failed.err.splitlines()[0]
        assert error.startswith("Error: .tether/") and error.endswith(": No space left on device"), (at, error)
        assert "free some space" in failed.err
        assert leftovers(store) == [], at
        monkeypatch.setenv("TETHER_SESSION_ID", f"S-again-{at}")
        again = close(cli)
        assert again.code == 0, (at, again.err)
        assert_closed_once(cli, store)


def test_a_second_close_with_other_content_is_a_close_of_its_own(ws, cli):
    assert cli("close", "--summary", "morning").code == 0
    assert cli("close", "--summary", "afternoon").code == 0
    assert cli("close", "--summary", "afternoon", "--next", "more").code == 0
    log = next((ws.dir / "progress").glob("*.md")).read_text()
    assert [line for line in log.splitlines() if line.startswith("**Summary:**")] == [
        "**Summary:** morning", "**Summary:** afternoon", "**Summary:** afternoon"]


@pytest.mark.parametrize("short", [False, True], ids=["enospc", "short-write"])
def test_a_task_start_stopped_by_a_full_disk_leaves_nothing(tmp_path, cli, monkeypatch, short):
    start = ("task", "start", "Second", "--id", "B2", "-i", "x", "-i", "y")
    make_repo(tmp_path / "probe", cli)
    writes = count_writes(monkeypatch, lambda: cli(*start))
    assert writes >= 3  # task.md, local/active, the event
    for at in range(writes):
        store = make_repo(tmp_path / f"r{at}", cli) / ".tether"
        monkeypatch.setattr(fsio, "_write", FullDisk(at, short))
        failed = cli(*start)
        monkeypatch.setattr(fsio, "_write", os.write)
        assert failed.code == 1 and "No space left on device" in failed.err, (at, failed.err)
        assert not (store / "tasks" / "B2").exists() and not (store / "open" / "B2").exists(), at
        assert leftovers(store) == [], at
        assert cli("verify").code == 0, at
        assert cli(*start).code == 0, at                      # the same id is free: run it again
        assert cli("task", "status", "B2", "--json").json()["task"]["units"] == ["x", "y"]


def test_an_append_the_disk_cannot_take_whole_is_taken_back(tmp_path, monkeypatch):
    log = tmp_path / "log.jsonl"
    appendlog.append_text(log, '{"n":1}\n')
    monkeypatch.setattr(fsio, "_write", FullDisk(0, short=True))
    with pytest.raises(OSError) as caught:
        appendlog.append_text(log, '{"n":2,"pad":"' + "x" * 100 + '"}\n')
    assert caught.value.errno == errno.ENOSPC and caught.value.filename == str(log)
    assert log.read_bytes() == b'{"n":1}\n'                 # no torn line left behind
    monkeypatch.setattr(fsio, "_write", os.write)
    appendlog.append_text(log, '{"n":3}\n')
    assert log.read_bytes() == b'{"n":1}\n{"n":3}\n'


def test_a_file_the_disk_cannot_take_leaves_no_temporary_file_or_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(fsio, "_write", FullDisk(0))
    (tmp_path / "store").mkdir()
    target = tmp_path / "store" / "new" / "deeper" / "task.md"
    for write in (fsio.write_atomic, fsio.create_exclusive):
        with pytest.raises(OSError) as caught:
            write(target, "x" * 100)
        assert caught.value.errno == errno.ENOSPC and caught.value.filename == str(target)
        assert list((tmp_path / "store").iterdir()) == []


# -- a real full disk --------------------------------------------------------------------------------

@pytest.fixture
def small_disk(tmp_path):
    """Mount a small tmpfs (root only); skip where this machine does not allow it."""
    mounted = []

    def mount(name: str, size: str = "4m") -> Path:
        point = tmp_path / name
        point.mkdir()
        proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(point)],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip() or proc.returncode}")
        mounted.append(point)
        return point

    yield mount
    os.chdir(tmp_path)
    for point in mounted:
        subprocess.run(["umount", "-l", str(point)], capture_output=True)


def fill(disk: Path, leave_pages: int) -> Path:
    """Fill the disk, then free ``leave_pages`` pages of it; returns the filler file."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        block = b"\0" * (1 << 16)
        while True:
            try:
                if os.write(fd, block) < len(block):
                    break
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                if len(block) == 1:
                    break
                block = block[:len(block) // 2]
        size = os.fstat(fd).st_size
        os.ftruncate(fd, max(0, size - leave_pages * 4096))
    finally:
        os.close(fd)
    return filler


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="mounting a tmpfs needs root")
def test_close_on_a_really_full_disk_names_the_file_and_completes_once_when_run_again(small_disk, cli, monkeypatch):
    outcomes = set()
    for pages in range(0, 12):
        disk = small_disk(f"disk{pages}")
        store = make_repo(disk / "repo", cli) / ".tether"
        monkeypatch.setenv("TETHER_SESSION_ID", f"S-full-{pages}")
        filler = fill(disk, pages)
        first = close(cli)
        if first.code != 0:
            assert first.code == 1, (pages, first.err)
            assert re.match(r"Error: \.tether/\S+: No space left on device\n", first.err), (pages, first.err)
            assert leftovers(store) == [], pages
        outcomes.add(first.err.split(": ")[1] if first.code else "closed")
        filler.unlink()
        monkeypatch.setenv("TETHER_SESSION_ID", f"S-room-{pages}")
        again = close(cli)
        assert again.code == 0, (pages, again.err)
        assert_closed_once(cli, store)
    assert len(outcomes) > 2, outcomes  # stopped at different files, and with room enough, closed
