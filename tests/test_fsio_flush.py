"""Many files published at once (a compaction's offloaded results): their flushes run several at
a time, and still every file is flushed before any of their names appears, and a failed flush
publishes nothing and names its file."""

from __future__ import annotations

import errno
import os

import pytest

from tether.store import fsio


@pytest.fixture
def durable(monkeypatch):
    monkeypatch.setattr(fsio, "_DURABLE", True)


def items(tmp_path, n=40):
    return [(tmp_path / "cache" / f"f{i:02d}", f"data {i}".encode()) for i in range(n)]


def test_every_file_is_flushed_before_any_name_appears(tmp_path, monkeypatch, durable):
    events: list = []
    real_fsync, real_link = os.fsync, os.link

    def fsync(fd):
        events.append("flush")
        return real_fsync(fd)

    def link(src, dst, *args, **kwargs):
        events.append("link")
        return real_link(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "link", link)
    given = items(tmp_path)
    assert fsio.create_many(given, root=str(tmp_path)) == [True] * 40
    assert events[:40] == ["flush"] * 40 and events.count("link") == 40  # then the folder's flush
    for path, data in given:
        assert path.read_bytes() == data
    assert not [p for p in (tmp_path / "cache").iterdir() if p.name.endswith(fsio.TMP_SUFFIX)]


def test_a_failed_flush_among_many_publishes_nothing_and_names_its_file(tmp_path, monkeypatch, durable):
    real_fsync = os.fsync
    calls = {"n": 0}

    def fsync(fd):
        calls["n"] += 1
        if calls["n"] == 17:
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    with pytest.raises(OSError) as caught:
        fsio.create_many(items(tmp_path), root=str(tmp_path))
    assert caught.value.errno == errno.EIO and str(tmp_path / "cache") in str(caught.value)
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == []  # no name, no temporary file
