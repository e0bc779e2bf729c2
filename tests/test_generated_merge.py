"""The merge rules of the generated files, side by side (tests/test_merge.py runs them under real git).

LATEST.json: the newer close, the same from either side. CONTEXT.md: hand-written
text merged 3-way (two additions at one place kept, two changes of one line a
conflict), blocks from the newer side. index.json: 3-way entry by entry, with the
hashes of files both sides changed asked of the caller.
"""

from __future__ import annotations

import json

import pytest

from tether.core import context_document
from tether.gitio.semantic_merge import Unmergeable, merge_context, merge_latest, merge_manifest, merge_text, sides_of_conflicted
from tether.core.manifest import render


def latest(at: str, session: str, summary: str = "s") -> bytes:
    return (json.dumps({"date": at[:10], "file": f".tether/progress/{at[:10]}.md", "generated_at": at,
                        "session": session, "summary": summary, "next_steps": [], "completed": [], "sha": None},
                       indent=2) + "\n").encode()


def test_latest_is_the_newer_close_from_either_side():
    old, new = latest("2026-03-02T10:30:00Z", "S-A"), latest("2026-03-02T11:30:00Z", "S-B")
    assert merge_latest(b"", old, new) == (new, True)
    assert merge_latest(b"", new, old) == (new, True)
    # Compared as times, not strings: an offset that is later in UTC wins.
    shifted = latest("2026-03-02T12:00:00+01:00", "S-C")  # 11:00 UTC
    assert merge_latest(b"", shifted, new)[0] == new


def test_latest_ties_break_the_same_way_in_both_directions():
    a, b = latest("2026-03-02T11:00:00Z", "S-A"), latest("2026-03-02T11:00:00Z", "S-B")
    assert merge_latest(b"", a, b)[0] == merge_latest(b"", b, a)[0] == b


def test_latest_takes_the_readable_side_and_refuses_when_neither_is():
    good = latest("2026-03-02T10:30:00Z", "S-A")
    conflicted = b"{\n<<<<<<< HEAD\n  \"summary\": \"x\"\n=======\n>>>>>>> B\n}\n"
    assert merge_latest(b"", conflicted, good)[0] == good
    assert merge_latest(b"", good, b"[]")[0] == good
    with pytest.raises(Unmergeable):
        merge_latest(b"", conflicted, b"not json")


def test_two_additions_at_one_place_are_both_kept_ours_first():
    base = "title\n\nend\n"
    text, conflicts = merge_text(base, "title\n\nend\nours 1\nours 2\n", "title\n\nend\ntheirs\n")
    assert (text, conflicts) == ("title\n\nend\nours 1\nours 2\ntheirs\n", 0)


def test_changes_in_different_places_merge_and_one_line_changed_twice_conflicts():
    base = "one\ntwo\nthree\nfour\nfive\n"
    text, conflicts = merge_text(base, "ONE\ntwo\nthree\nfour\nfive\n", "one\ntwo\nthree\nfour\nFIVE\n")
    assert (text, conflicts) == ("ONE\ntwo\nthree\nfour\nFIVE\n", 0)
    text, conflicts = merge_text(base, "uno\ntwo\nthree\nfour\nfive\n", "eins\ntwo\nthree\nfour\nfive\n",
                                 marker_size=9)
    assert conflicts == 1
    assert text == ("<<<<<<<<< ours\nuno\n=========\neins\n>>>>>>>>> theirs\n"
                    "two\nthree\nfour\nfive\n")


def doc(updated: str, summary: str, hand_top: str = "", hand_end: str = "") -> bytes:
    blocks = context_document.blocks(updated=updated, sha=None, session="S", latest={"date": "d", "summary": summary},
                               tasks=[], next_steps=[summary], decisions=[], notes=[], reading_order=[])
    text = context_document.merge(None, blocks)
    text = text.replace("# Session Context\n", f"# Session Context\n{hand_top}", 1) + hand_end
    return text.encode()


def test_context_keeps_both_sides_text_and_the_newer_blocks():
    base = doc("2026-03-02T09:00:00Z", "base")
    ours = doc("2026-03-02T10:30:00Z", "ours", hand_top="Owner: @frans\n")
    theirs = doc("2026-03-02T11:30:00Z", "theirs", hand_end="\nTheirs' own note.\n")
    merged, clean = merge_context(base, ours, theirs)
    text = merged.decode()
    assert clean
    assert text == doc("2026-03-02T11:30:00Z", "theirs", hand_top="Owner: @frans\n",
                       hand_end="\nTheirs' own note.\n").decode()
    # Blocks are regions, not lines: none is duplicated or mixed, whatever the direction.
    again, _ = merge_context(base, theirs, ours)
    assert again == merged


def test_context_conflicts_only_where_a_person_must_choose():
    base = doc("2026-03-02T09:00:00Z", "base", hand_top="Owner: nobody\n")
    ours = doc("2026-03-02T10:30:00Z", "ours", hand_top="Owner: @a\n")
    theirs = doc("2026-03-02T11:30:00Z", "theirs", hand_top="Owner: @b\n")
    merged, clean = merge_context(base, ours, theirs)
    text = merged.decode()
    assert not clean
    assert "<<<<<<< ours\nOwner: @a\n=======\nOwner: @b\n>>>>>>> theirs\n" in text
    assert text.count("<<<<<<<") == 1 and "theirs\n" in text and "**Last session (d):** theirs" in text


def test_a_conflicted_file_splits_back_into_its_sides():
    text = "a\n<<<<<<< HEAD\nmine\n||||||| base\nold\n=======\nyours\n>>>>>>> B\nz\n=======\n"
    assert sides_of_conflicted(text) == ("a\nold\nz\n=======\n", "a\nmine\nz\n=======\n", "a\nyours\nz\n=======\n")
    with pytest.raises(Unmergeable):
        sides_of_conflicted("a\n<<<<<<< HEAD\nmine\n")


def manifest(files: dict) -> bytes:
    return render(files).encode()


def test_manifest_merges_entry_by_entry_and_asks_for_files_both_changed():
    base = manifest({"log": "sha256:0", "gone": "sha256:g", "same": "sha256:s"})
    ours = manifest({"log": "sha256:1", "gone": "sha256:g", "same": "sha256:s", "mine": "sha256:m"})
    theirs = manifest({"log": "sha256:2", "same": "sha256:s", "yours": "sha256:y"})
    asked = []

    def resolve(paths):
        asked.append(paths)
        return {"log": "sha256:merged"}

    merged, unknown = merge_manifest(base, ours, theirs, resolve)
    assert asked == [["log"]] and unknown == []
    assert merged == manifest({"log": "sha256:merged", "same": "sha256:s", "mine": "sha256:m", "yours": "sha256:y"})
    # Unknown hashes keep ours, and are named.
    merged, unknown = merge_manifest(base, ours, theirs, lambda paths: {})
    assert unknown == ["log"] and json.loads(merged)["files"]["log"] == "sha256:1"
    with pytest.raises(Unmergeable):
        merge_manifest(base, b"<<<<<<< HEAD\n", theirs)


def test_latest_keeps_the_older_closes_next_steps_when_both_branches_closed():
    def close(at, session, steps):
        value = json.loads(latest(at, session))
        value["next_steps"] = steps
        return (json.dumps(value, indent=2, sort_keys=True) + "\n").encode()

    base = close("2026-03-02T09:00:00Z", "S-0", ["plan"])
    a = close("2026-03-02T10:00:00Z", "S-A", ["test f(), then the README", "ship"])
    b = close("2026-03-02T11:00:00Z", "S-B", ["ship", "announce"])
    for merged in (merge_latest(base, a, b)[0], merge_latest(base, b, a)[0]):
        value = json.loads(merged)
        assert value["session"] == "S-B" and value["next_steps"] == ["ship", "announce", "test f(), then the README"]
    assert merge_latest(a, a, b)[0] == b  # one side did not close since they parted: the newer close as it is
