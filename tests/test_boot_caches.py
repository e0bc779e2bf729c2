"""Review of the cold-boot caches (headblobs, store/listings): boot with them says what boot
without them says, and a cache that cannot be written or is damaged never stops a boot."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

import pytest

from tether.store import fsio as racy_rule  # where the racily-clean rule lives

from tether.warm import listings

CACHES = ("local/boot.cache", "local/head.cache", "local/listings.cache")


def boot_proc(root, *args):
    """`tether boot --json` as its own process, with this checkout's tether."""
    src = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")
    env = {**os.environ, "PYTHONPATH": src}
    return subprocess.run([sys.executable, "-m", "tether", "boot", "--json", *args], cwd=root,
                          capture_output=True, text=True, env=env, timeout=60)


def uncached(ws):
    """boot --json as it is with no cache at all; the caches are put back afterwards."""
    saved = {}
    for rel in CACHES:
        p = ws.dir / rel
        if p.is_file():
            saved[rel] = p.read_bytes()
            p.unlink()
    try:
        proc = boot_proc(ws.root)
        assert proc.returncode in (0, 3), proc.stderr
        return json.loads(proc.stdout)
    finally:
        for rel in CACHES:
            (ws.dir / rel).unlink(missing_ok=True)
        for rel, data in saved.items():
            (ws.dir / rel).write_bytes(data)


def commit(git, message="tether state"):
    git("add", "-A")
    git("commit", "-qm", message)


def a_committed_task(ws, git):
    task = ws.start_task("Summarise", items=[f"doc{n}" for n in range(1, 11)])
    ws.checkpoint(task.id, done=["1"], state="doc 1")
    commit(git)
    return task


# -- caches that cannot be written ------------------------------------------------------------------

def test_boot_works_when_local_cannot_hold_a_cache(ws, git):
    """`.tether/local` is not a directory: the caches cannot be written, boot still works."""
    a_committed_task(ws, git)
    shutil.rmtree(ws.dir / "local")
    (ws.dir / "local").write_text("not a folder\n")
    proc = boot_proc(ws.root)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["tasks"][0]["current_state"] == "doc 1"


def test_boot_works_on_a_read_only_mount(ws, git):
    """A checkout on a read-only filesystem (a CI container's source mount): no cache is
    written (removing a temporary file that was never created fails with EROFS), boot works."""
    a_committed_task(ws, git)
    for rel in CACHES:
        (ws.dir / rel).unlink(missing_ok=True)
    if shutil.which("unshare") is None:
        pytest.skip("needs unshare(1) to mount the checkout read-only")
    src = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")
    root = str(ws.root)
    script = (f'mount --bind "{root}" "{root}" && mount -o remount,bind,ro "{root}" || exit 99; '
              f'cd "{root}" && PYTHONPATH="{src}" "{sys.executable}" -m tether boot --json')
    proc = subprocess.run(["unshare", "--mount", "--map-root-user", "sh", "-c", script],
                          capture_output=True, text=True, timeout=60)
    if proc.returncode == 99 or "unshare:" in proc.stderr:
        pytest.skip(f"cannot mount read-only here: {proc.stderr.strip()}")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["tasks"][0]["current_state"] == "doc 1"


# -- a damaged listing ------------------------------------------------------------------------------

def test_a_damaged_listing_cache_does_not_stop_boot(ws, git, monkeypatch):
    """One byte of the cached names changed (a flipped bit): the listing still matches the
    folder's stat, but not the cache's checksum, so the folder is listed again."""
    monkeypatch.setattr(racy_rule, "RACY_NS", 0)
    task = a_committed_task(ws, git)
    ws.checkpoint(task.id, done=["2"], state="doc 2")
    expected = uncached(ws)
    ws.boot()  # saves the listing
    path = ws.dir / listings.CACHE
    data = bytearray(path.read_bytes())
    at = data.rindex(b"CKP-") + 5  # a digit of the newest checkpoint's name
    data[at] ^= 1
    path.write_bytes(bytes(data))
    (ws.dir / "local" / "boot.cache").unlink(missing_ok=True)
    proc = boot_proc(ws.root)
    assert proc.returncode in (0, 3), proc.stderr
    assert json.loads(proc.stdout)["tasks"] == expected["tasks"]


# -- a folder's mtime put back ----------------------------------------------------------------------

def test_a_checkpoint_added_with_the_folder_mtime_put_back_is_seen_by_a_real_boot(ws, git):
    """A real boot asks the warm cache first: its stats carry the ctime too, so a file added
    with the folder's mtime put back (its size unchanged, as on ext4) is seen."""
    task = a_committed_task(ws, git)
    ws.checkpoint(task.id, done=["2"], state="doc 2")
    time.sleep(2.2)  # past the racy window of both caches
    assert ws.boot().data["tasks"][0]["current_state"] == "doc 2"
    assert (ws.dir / "local" / "boot.cache").exists()
    folder = ws.dir / "tasks" / task.id / "checkpoints"
    before = os.stat(folder)
    newest = sorted(folder.glob("CKP-*.md"))[-1]
    text = (newest.read_text().replace("doc 2", "doc 9 (copied by hand)").replace(newest.stem, "CKP-0003-handmd")
            .replace('id: "CKP-0002"', 'id: "CKP-0003"').replace("number: 2", "number: 3"))
    (folder / "CKP-0003-handmd.md").write_text(text)
    os.utime(folder, ns=(before.st_atime_ns, before.st_mtime_ns))  # mtime back; ctime moves on
    if os.stat(folder).st_size != before.st_size:
        pytest.skip("this filesystem changes a directory's size per entry")
    proc = boot_proc(ws.root)
    assert proc.returncode in (0, 3), proc.stderr
    assert json.loads(proc.stdout)["tasks"][0]["current_state"] == "doc 9 (copied by hand)"
