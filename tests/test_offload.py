"""Offload waves (issue 14, seed 000): clusters, packets, their schema, links, maps and merges."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

C = "Cluster01_BPOE_Deltas"
OFF = Path(".tether/offload")


@pytest.fixture
def wave(ws, cli):
    assert cli("offload", "cluster", "create", C, "--title", "BPOE deltas").code == 0
    return ws


def add(cli, kind, *args, input=None, cluster=C, title="A title"):
    run = cli("offload", "add", kind, "--cluster", cluster, "--title", title, *args, "--json", input=input)
    assert run.code == 0, run.out + run.err
    return run.json()


def packet_files(root: Path) -> list[Path]:
    return sorted(p for p in (root / OFF / "clusters").rglob("*.yaml") if p.name not in ("cluster.yaml", "map.yaml"))


def validate(path: Path) -> dict:
    import jsonschema
    import yaml

    from tether.offload.schema import schema_text

    doc = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.BaseLoader if False else yaml.SafeLoader)
    jsonschema.Draft202012Validator(json.loads(schema_text())).validate(doc)
    return doc


# -- packets ----------------------------------------------------------------------------------------
def test_each_kind_is_a_yaml_file_that_the_published_schema_accepts(wave, cli, repo, monkeypatch):
    monkeypatch.setenv("TETHER_SESSION_ID", "S-agent-1")
    (repo / "notes.md").write_text("# Notes\n\nStitched advisories go here. More detail follows.\n")
    blob = add(cli, "blob", "-", "--tag", "bpoe,offload", "--tag", "bpoe",
               input="Sessions are working memory. Repos are the source of truth.\nOffload little and often.\n")
    frame = add(cli, "frame", "Wave 1 frames the deltas.", title="Wave 1")
    from_file = add(cli, "blob", "--file", "notes.md", title="Notes")
    term = add(cli, "term", "A dense payload packet.", "--source", "seed 000", title="GBR-Blob")
    link = add(cli, "link", "--target", "notes.md", title="The notes")
    docs = {p.stem: validate(p) for p in packet_files(repo)}
    assert len(docs) == 5
    b = docs[blob["packet"]["id"]]
    assert b["kind"] == "blob" and b["cluster"] == C and b["session"] == "S-agent-1" and b["status"] == "active"
    assert b["tags"] == ["bpoe", "offload"]
    assert b["content"] == "Sessions are working memory. Repos are the source of truth.\nOffload little and often.\n"
    import hashlib

    assert b["hash"] == "sha256:" + hashlib.sha256(b["content"].encode()).hexdigest()
    assert b["summary"] == "Sessions are working memory."
    assert docs[from_file["packet"]["id"]]["content"].startswith("# Notes")
    assert docs[term["packet"]["id"]]["source"] == "seed 000" and docs[term["packet"]["id"]]["title"] == "GBR-Blob"
    assert docs[frame["packet"]["id"]]["id"].startswith("FRM-")
    ln = docs[link["packet"]["id"]]
    assert ln["target"] == "notes.md" and ln["resolves"] is True and ln["target_kind"] == "path" and "hash" not in ln
    # The file is readable by people: the content as a literal block.
    text = (repo / blob["path"]).read_text()
    assert "content: |\n  Sessions are working memory." in text


def test_list_show_and_retire_keep_every_packet(wave, cli, repo):
    first = add(cli, "blob", "one", title="First")["packet"]["id"]
    second = add(cli, "blob", "two", title="Second")["packet"]["id"]
    listed = cli("offload", "list", "--json").json()["packets"]
    assert [p["id"] for p in listed] == [first, second]
    shown = cli("offload", "show", first)
    assert shown.code == 0 and "title: First" in shown.out and "content: one" in shown.out
    run = cli("offload", "retire", first, "--reason", "superseded by the second", "--json")
    assert run.code == 0 and run.json()["changed"] is True
    assert [p["id"] for p in cli("offload", "list", "--json").json()["packets"]] == [second]
    everything = cli("offload", "list", "--all", "--json").json()["packets"]
    assert {p["id"]: p["status"] for p in everything} == {first: "retired", second: "active"}
    doc = validate(repo / run.json()["path"])  # still there, with when, who and why
    assert doc["retired"]["reason"] == "superseded by the second" and doc["content"] == "one"
    again = cli("offload", "retire", first, "--json").json()
    assert again["changed"] is False
    assert "~~**blob** First~~ (retired)" in (repo / OFF / "clusters" / C / "MAP.md").read_text()


def test_filters(wave, cli):
    add(cli, "blob", "x", "--tag", "a", title="Tagged")
    add(cli, "frame", "y", title="Frame")
    assert [p["title"] for p in cli("offload", "list", "--tag", "a", "--json").json()["packets"]] == ["Tagged"]
    assert [p["title"] for p in cli("offload", "list", "--kind", "frame", "--json").json()["packets"]] == ["Frame"]
    assert cli("offload", "list", "--cluster", C, "--json").json()["packets"]


def test_ids_are_unique_and_carry_the_kind(wave, cli, fast_writes):
    from tether.offload import Offload

    off = Offload(wave)
    made = [off.add("blob", C, f"b{i}", content=f"text {i}")["packet"]["id"] for i in range(40)]
    assert len(set(made)) == 40 and all(i.startswith("BLB-") for i in made)


@pytest.mark.parametrize("argv,code,kind,words", [
    (["add", "note", "--cluster", C, "--title", "t", "x"], 1, "invalid_input", "no packet kind"),
    (["add", "blob", "--cluster", "Nope", "--title", "t", "x"], 1, "not_found", "no cluster"),
    (["add", "blob", "--cluster", C, "--title", "  ", "x"], 1, "invalid_input", "needs a title"),
    (["add", "blob", "--cluster", C, "--title", "t"], 1, "invalid_input", "needs text"),
    (["add", "link", "--cluster", C, "--title", "t"], 1, "invalid_input", "needs a target"),
    (["add", "blob", "--cluster", C, "--title", "t", "--target", "x", "y"], 1, "invalid_input", "for links"),
    (["add", "blob", "--cluster", C, "--title", "t", "--tag", "no spaces", "x"], 1, "invalid_input", "not a tag"),
    (["add", "blob", "--cluster", C, "--title", "t", "--file", "missing.txt"], 1, "invalid_input", "cannot read"),
    (["add", "blob", "--cluster", C, "x"], 2, "usage", "--title"),
    (["cluster", "create", "../up"], 1, "invalid_input", "not a cluster name"),
    (["cluster", "create", C], 1, "conflict", "exists already"),
    (["show", "BLB-000000-0000000"], 1, "not_found", "no packet"),
    (["retire", "nope"], 1, "not_found", "no packet"),
])
def test_bad_input_is_one_line_with_a_hint_and_changes_nothing(wave, cli, repo, argv, code, kind, words):
    before = sorted(p.relative_to(repo).as_posix() for p in (repo / OFF).rglob("*"))
    run = cli("offload", *argv)
    assert run.code == code and words in run.err and "Hint:" in run.err
    assert len([line for line in run.err.splitlines() if line.startswith("Error:")]) == 1
    data = cli("offload", *argv, "--json")
    assert data.code == code and data.json()["kind"] == kind and data.json()["hint"]
    assert sorted(p.relative_to(repo).as_posix() for p in (repo / OFF).rglob("*")) == before


def test_text_that_is_not_utf8_is_refused_with_its_line(wave, cli, repo):
    (repo / "latin1.txt").write_bytes(b"fine\ncaf\xe9\n")
    run = cli("offload", "add", "blob", "--cluster", C, "--title", "t", "--file", "latin1.txt")
    assert run.code == 1 and "latin1.txt:2: not UTF-8" in run.err


def test_a_corrupt_packet_is_reported_with_path_and_line_not_skipped_silently(wave, cli, repo):
    good = add(cli, "blob", "fine", title="Good")["packet"]["id"]
    bad = add(cli, "blob", "soon broken", title="Bad")
    path = repo / bad["path"]
    path.write_text(path.read_text().replace("kind: blob", "kind: [blob"))
    run = cli("offload", "list", "--json")
    assert run.code == 3
    data = run.json()
    assert [p["id"] for p in data["packets"]] == [good]
    assert data["problems"][0]["path"] == bad["path"] and data["problems"][0]["line"]
    path.write_text(path.read_text().replace("kind: [blob", "kind: scroll"))
    run = cli("offload", "list")
    assert run.code == 3 and f"{bad['path']}:" in run.out and "kind" in run.out
    shown = cli("offload", "show", bad["packet"]["id"])
    assert shown.code == 1 and bad["path"] in shown.err


def test_the_schema_is_published(cli):
    run = cli("offload", "schema")
    assert run.code == 0 and json.loads(run.out)["title"] == "tether offload packet"


# -- links --------------------------------------------------------------------------------------------
def test_links_are_checked_inside_the_repository_only(wave, cli, repo, tmp_path):
    outside = tmp_path / "secret.txt"
    outside.write_text("not ours")
    (repo / "docs").mkdir()
    (repo / "docs" / "a.md").write_text("a")
    os.symlink(outside, repo / "escape.txt")
    os.symlink(repo / "docs" / "a.md", repo / "inside.txt")
    cases = {"docs/a.md": True, "docs/a.md:12": True, "docs": True, "docs/missing.md": False,
             "../secret.txt": None, str(outside): None, "escape.txt": None, "inside.txt": True,
             "https://example.com/x": None, "github:owner/repo": None}
    for target, expected in cases.items():
        doc = add(cli, "link", "--target", target, title=target)["packet"]
        assert doc["resolves"] is expected, (target, doc)
        assert doc["resolution"]
    url = [p for p in cli("offload", "list", "--json").json()["packets"] if p["title"] == "https://example.com/x"][0]
    assert url["resolves"] is None


# -- maps ---------------------------------------------------------------------------------------------
def maps_of(repo: Path) -> dict[str, bytes]:
    return {p.relative_to(repo).as_posix(): p.read_bytes() for p in sorted((repo / OFF).rglob("*"))
            if p.name in ("MAP.md", "map.yaml")}


def test_maps_are_written_on_every_change_and_are_what_a_full_rebuild_gives(wave, cli, repo):
    ids = [add(cli, kind, f"text {i}", title=f"P{i}")["packet"]["id"]
           for i, kind in enumerate(["blob", "frame", "link", "term", "blob"]) if kind != "link"]
    ids.append(add(cli, "link", "--target", "README.md", title="Readme")["packet"]["id"])
    cli("offload", "retire", ids[0])
    written = maps_of(repo)
    text = written[f".tether/offload/clusters/{C}/MAP.md"].decode()
    assert all(i in text for i in ids)
    import yaml

    data = yaml.safe_load(written[f".tether/offload/clusters/{C}/map.yaml"])
    assert [p["id"] for p in data["packets"]] == ids  # creation order
    top = yaml.safe_load(written[".tether/offload/map.yaml"])
    assert top["clusters"][0]["counts"] == {"blob": 1, "frame": 1, "link": 1, "term": 1}
    assert top["clusters"][0]["retired"] == 1 and "terms" not in top
    # Same packets, same bytes: without the cache, from the packets alone.
    for p in (repo / OFF).rglob("*"):
        if p.name in ("MAP.md", "map.yaml"):
            p.unlink()
    for p in (repo / ".tether" / "local" / "offload").iterdir():
        p.unlink()
    assert cli("offload", "map").code == 0
    assert maps_of(repo) == written
    assert cli("offload", "map", "--check").code == 0


def test_a_new_packet_is_appended_to_its_clusters_maps(wave, cli, repo):
    add(cli, "blob", "first", title="First")
    second = add(cli, "blob", "second", title="Second")
    assert second["appended"] is True


def test_map_check_finds_a_hand_edited_map_and_map_rewrites_it(wave, cli, repo):
    add(cli, "blob", "first", title="First")
    cluster_map = repo / OFF / "clusters" / C / "MAP.md"
    good = cluster_map.read_bytes()
    cluster_map.write_bytes(good + b"- a line someone added\n")
    run = cli("offload", "map", "--check", "--json")
    assert run.code == 3 and run.json()["stale"] == [f".tether/offload/clusters/{C}/MAP.md"]
    assert cli("offload", "map").code == 0 and cluster_map.read_bytes() == good
    # The next change notices too, rather than appending to a map it did not write.
    cluster_map.write_bytes(good + b"- again\n")
    assert add(cli, "blob", "second", title="Second")["appended"] is False
    assert b"again" not in cluster_map.read_bytes()


# -- git ------------------------------------------------------------------------------------------------
def test_two_branches_adding_packets_merge_without_conflicts(wave, cli, repo, git):
    add(cli, "blob", "base", title="Base")
    git("add", "-A")
    git("commit", "-q", "-m", "base")
    git("checkout", "-q", "-b", "side")
    theirs = add(cli, "blob", "from the side branch", title="Side")["packet"]["id"]
    git("add", "-A")
    git("commit", "-q", "-m", "side")
    git("checkout", "-q", "main")
    ours = add(cli, "frame", "from main", title="Main")["packet"]["id"]
    git("add", "-A")
    git("commit", "-q", "-m", "main")
    git("merge", "-q", "--no-edit", "side")  # raises on a conflict
    assert git("status", "--porcelain").strip() == ""
    # The maps kept one side; the next offload command renders both.
    assert cli("offload", "map", "--check").code == 3
    assert cli("offload", "map").code == 0
    text = (repo / OFF / "clusters" / C / "MAP.md").read_text()
    assert theirs in text and ours in text
    assert cli("offload", "map", "--check").code == 0


def test_a_merge_without_the_driver_is_repaired_by_index_repair(wave, cli, repo, git):
    add(cli, "blob", "base", title="Base")
    git("add", "-A")
    git("commit", "-q", "-m", "base")
    git("config", "--remove-section", "merge.tether")
    git("checkout", "-q", "-b", "side")
    theirs = add(cli, "blob", "side", title="Side")["packet"]["id"]
    git("add", "-A")
    git("commit", "-q", "-m", "side")
    git("checkout", "-q", "main")
    ours = add(cli, "blob", "main", title="Main")["packet"]["id"]
    git("add", "-A")
    git("commit", "-q", "-m", "main")
    import subprocess

    subprocess.run(["git", "merge", "-q", "--no-edit", "side"], cwd=repo, capture_output=True)
    run = cli("index", "--repair")
    assert run.code in (0, 3), run.err
    text = (repo / OFF / "clusters" / C / "MAP.md").read_text()
    assert "<<<<<<<" not in text and theirs in text and ours in text
    unmerged = git("ls-files", "-u")
    assert ".tether/offload" not in unmerged


# -- snippets -----------------------------------------------------------------------------------------
def test_snippets_are_stable_and_list_the_terms(wave, cli, repo):
    blob = add(cli, "blob", "Dense insight. More.", title="Insight")["packet"]
    term = add(cli, "term", "A dense payload packet.", "--source", "seed 000", title="GBR-Blob")["packet"]
    retired = add(cli, "frame", "old framing", title="Old")["packet"]
    cli("offload", "retire", retired["id"])
    md = cli("offload", "snippet")
    js = cli("offload", "snippet", "--json")
    assert md.code == 0 and js.code == 0
    data = js.json()
    assert [p["id"] for p in data["packets"]] == [blob["id"]]
    row = data["packets"][0]
    assert row["hash"] == blob["hash"] and row["path"] == f".tether/offload/clusters/{C}/{blob['id']}.yaml"
    assert row["summary"] == "Dense insight." and row["kind"] == "blob" and row["title"] == "Insight"
    assert data["terms"] == [{"term": "GBR-Blob", "definition": "A dense payload packet.", "id": term["id"],
                              "cluster": C, "path": f".tether/offload/clusters/{C}/{term['id']}.yaml",
                              "hash": term["hash"], "source": "seed 000"}]
    assert blob["id"] in md.out and "**GBR-Blob**" in md.out and retired["id"] not in md.out
    # Nothing changed: the same bytes, also without the per-machine cache.
    import shutil

    shutil.rmtree(repo / ".tether" / "local" / "offload")
    assert cli("offload", "snippet").out == md.out
    assert cli("offload", "snippet", "--json").out == js.out


# -- ingest -------------------------------------------------------------------------------------------
def test_ingest_turns_files_into_blobs_and_links_and_skips_duplicates(wave, cli, repo):
    adv = repo / "advisories"
    (adv / "sub").mkdir(parents=True)
    (repo / "docs").mkdir()
    (repo / "docs" / "playbook.md").write_text("# Playbook\n")
    (adv / "a.md").write_text("# Advisory 1\n\nOffload often. It keeps sessions honest.\n\n"
                              "See [the playbook](../docs/playbook.md) and https://example.org/a.\n")
    (adv / "sub" / "copy.md").write_text((adv / "a.md").read_text())
    (adv / "b.html").write_text("<html><head><title>Adv 2</title><script>var x = 'hidden';</script></head>"
                                "<body><h1>Routing</h1><p>Outreach receives curated advisories. More.</p></body></html>")
    (adv / "c.yaml").write_text("rule: keep the repo the source of truth\n")
    run = cli("offload", "ingest", "advisories", "--cluster", C, "--tag", "wave2", "--json")
    assert run.code == 0, run.out
    data = run.json()
    blobs = [c for c in data["created"] if c["kind"] == "blob"]
    linked = sorted(c["title"].split(" (cited")[0] for c in data["created"] if c["kind"] == "link")
    assert sorted(b["from"] for b in blobs) == ["advisories/a.md", "advisories/b.html", "advisories/c.yaml"]
    assert linked == ["docs/playbook.md", "https://example.org/a"]
    assert data["duplicates"] == [{"path": "advisories/sub/copy.md", "same_as": blobs[0]["id"]}]
    assert data["problems"] == [] and data["files"] == 4
    listed = {p["title"]: p for p in cli("offload", "list", "--json").json()["packets"]}
    html = validate(repo / listed["Adv 2"]["path"])
    assert "hidden" not in html["content"] and "Outreach receives curated advisories." in html["content"]
    assert html["origin"] == {"path": "advisories/b.html", "bytes": (adv / "b.html").stat().st_size, "format": "html"}
    assert html["tags"] == ["wave2"] and "Routing: Outreach receives curated advisories." in html["abstract"]
    assert listed["Advisory 1"]["summary"] == "Offload often."
    link = [p for p in listed.values() if p["kind"] == "link" and p["target"] == "docs/playbook.md"][0]
    assert link["resolves"] is True
    # Again: everything is there already.
    again = cli("offload", "ingest", "advisories", "--cluster", C, "--json").json()
    assert again["created"] == [] and len(again["duplicates"]) == 4
    # A new file citing what the cluster links already: its blob is made, the link skipped and named.
    (repo / "more").mkdir()
    (repo / "more" / "d.md").write_text("# Advisory 3\n\nAgain [the playbook](../docs/playbook.md).\n")
    third = cli("offload", "ingest", "more", "--cluster", C, "--json").json()
    assert [c["kind"] for c in third["created"]] == ["blob"]
    assert third["duplicates"] == [{"path": "more/d.md", "target": "docs/playbook.md", "same_as": link["id"]}]
    (repo / "more" / "e.md").write_text("# Advisory 4\n\nSee the [playbook](../docs/playbook.md) once more.\n")
    text = cli("offload", "ingest", "more", "--cluster", C).out
    assert f"  = more/e.md: cites docs/playbook.md, linked already by {link['id']}" in text


def test_ingest_never_reads_outside_its_roots_and_reports_what_it_cannot_read(wave, cli, repo, tmp_path):
    secret = tmp_path / "outside"
    secret.mkdir()
    (secret / "secret.md").write_text("# Secret\n\nNever to be ingested.\n")
    adv = repo / "advisories"
    adv.mkdir()
    (adv / "ok.md").write_text("# Fine\n\nA readable advisory.\n")
    os.symlink(secret / "secret.md", adv / "link.md")
    os.symlink(secret, adv / "linked-folder")
    (adv / "latin1.txt").write_bytes(b"caf\xe9\n")
    (adv / "nul.md").write_bytes(b"text\x00binary")
    (adv / "image.png").write_bytes(b"\x89PNG")
    os.mkfifo(adv / "pipe.md")
    run = cli("offload", "ingest", "advisories", "missing-folder", "--cluster", C, "--json")
    assert run.code == 3
    data = run.json()
    assert [c["from"] for c in data["created"]] == ["advisories/ok.md"]
    problems = {p["path"]: p["problem"] for p in data["problems"]}
    assert set(problems) == {"advisories/link.md", "advisories/linked-folder", "advisories/latin1.txt",
                             "advisories/nul.md", "advisories/image.png", "advisories/pipe.md", "missing-folder"}
    assert "symbolic link" in problems["advisories/link.md"] and "not UTF-8" in problems["advisories/latin1.txt"]
    assert "binary" in problems["advisories/nul.md"] and "not a regular file" in problems["advisories/pipe.md"]
    for packet in packet_files(repo):
        assert "Never to be ingested" not in packet.read_text()
    text = cli("offload", "ingest", "advisories", "--cluster", C)
    assert text.code == 3 and "! advisories/link.md: a symbolic link: not followed" in text.out


def test_ingest_reports_json_and_yaml_that_do_not_parse_with_line_and_column_and_keeps_no_blob(wave, cli, repo):
    adv = repo / "advisories"
    adv.mkdir()
    (adv / "good.json").write_text('{"rule": "offload often"}\n')
    (adv / "bad.json").write_text('{"rule": "offload often",\n "why": }\n')
    (adv / "bad.yaml").write_text("rules: [keep the repo\nnext: 2\n")
    (adv / "merged.yml").write_text("rule: a\n<<<<<<< HEAD\nwhy: one\n=======\nwhy: two\n>>>>>>> other\n")
    run = cli("offload", "ingest", "advisories", "--cluster", C, "--json")
    assert run.code == 3, run.out
    data = run.json()
    assert [c["from"] for c in data["created"]] == ["advisories/good.json"]
    problems = {p["path"]: p for p in data["problems"]}
    assert set(problems) == {"advisories/bad.json", "advisories/bad.yaml", "advisories/merged.yml"}
    assert (problems["advisories/bad.json"]["line"], problems["advisories/bad.json"]["column"]) == (2, 9)
    assert problems["advisories/bad.json"]["problem"].startswith("not valid JSON (line 2, column 9: Expecting value)")
    assert "rename it .txt" in problems["advisories/bad.json"]["problem"]
    assert problems["advisories/bad.yaml"]["line"] == 2 and "not valid YAML" in problems["advisories/bad.yaml"]["problem"]
    assert problems["advisories/merged.yml"]["line"] == 2
    assert "unresolved git conflict marker" in problems["advisories/merged.yml"]["problem"]
    for packet in packet_files(repo):
        text = packet.read_text()
        assert '"why": }' not in text and "keep the repo" not in text and "<<<<<<<" not in text
    shown = cli("offload", "ingest", "advisories", "--cluster", C)
    assert shown.code == 3
    assert "  ! advisories/bad.json: not valid JSON (line 2, column 9: Expecting value)" in shown.out
    # Fixed, it is ingested; nothing of the first run is lost or made twice.
    (adv / "bad.json").write_text('{"rule": "offload often",\n "why": "sessions stay honest"}\n')
    again = cli("offload", "ingest", "advisories", "--cluster", C, "--json").json()
    assert [c["from"] for c in again["created"]] == ["advisories/bad.json"]
    assert [d["path"] for d in again["duplicates"]] == ["advisories/good.json"]


def minimal_pdf(text: str) -> bytes:
    """A one-page PDF whose text is ``text`` (Helvetica), written by hand: no library needed."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
               b" /Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return out


def test_ingest_reads_pdfs_with_pypdf_and_reports_those_it_cannot(wave, cli, repo, monkeypatch):
    pytest.importorskip("pypdf")
    adv = repo / "advisories"
    adv.mkdir()
    (adv / "cadence.pdf").write_bytes(minimal_pdf("Offload little and often. PDFs too."))
    (adv / "broken.pdf").write_bytes(b"%PDF-1.4 not really")
    data = cli("offload", "ingest", "advisories", "--cluster", C, "--json").json()
    assert [c["from"] for c in data["created"]] == ["advisories/cadence.pdf"]
    assert [p["path"] for p in data["problems"]] == ["advisories/broken.pdf"]
    assert "pypdf cannot read" in data["problems"][0]["problem"]
    doc = validate(repo / cli("offload", "list", "--json").json()["packets"][0]["path"])
    assert doc["content"] == "Offload little and often. PDFs too.\n" and doc["origin"]["format"] == "pdf"
    # Without pypdf: reported, with what to install.
    import sys

    monkeypatch.setitem(sys.modules, "pypdf", None)
    (adv / "second.pdf").write_bytes(minimal_pdf("Another advisory."))
    data = cli("offload", "ingest", "advisories/second.pdf", "--cluster", C, "--json").json()
    assert data["created"] == [] and "pip install 'tether[pdf]'" in data["problems"][0]["problem"]


def test_verify_reads_every_packet(wave, cli, repo):
    good = add(cli, "blob", "fine", title="Good")
    bad = add(cli, "blob", "soon broken", title="Bad")
    assert cli("verify").code == 0
    path = repo / bad["path"]
    path.write_text(path.read_text().replace("status: active", "status: lost"))
    (repo / OFF / "clusters" / C / "notes.txt").write_text("stray")
    run = cli("verify", "--json")
    assert run.code == 3
    problems = {(p["path"], p["line"]) for p in run.json()["problems"]}
    assert (bad["path"], 7) in problems and (f".tether/offload/clusters/{C}/notes.txt", None) in problems
    assert not any(p[0] == good["path"] for p in problems)


def test_verify_names_a_cluster_file_two_clones_left_conflicted(wave, cli, repo):
    # Two clones that each ran `offload cluster create` of one name: git leaves cluster.yaml
    # with conflict markers (add/add), and CI's `tether verify` must say so, not pass.
    path = repo / OFF / "clusters" / C / "cluster.yaml"
    theirs = path.read_text().replace("title: BPOE deltas", "title: BPOE deltas (bob)")
    head, _, _ = path.read_text().partition("title:")
    path.write_text(head + "<<<<<<< HEAD\n" + path.read_text()[len(head):] + "=======\n"
                    + theirs[len(head):] + ">>>>>>> origin/main\n")
    run = cli("verify", "--json")
    assert run.code == 3, run.out
    found = [p for p in run.json()["problems"] if p["path"] == f".tether/offload/clusters/{C}/cluster.yaml"]
    assert found and found[0]["line"] == head.count("\n") + 1 and "conflict marker" in found[0]["message"]
    path.write_text("schema: 1\ncluster: x\ntitle: [unclosed\n")
    found = [p for p in cli("verify", "--json").json()["problems"] if p["path"].endswith("/cluster.yaml")]
    assert found and "invalid YAML" in found[0]["message"]


def _adds(root: str, worker: int, count: int) -> None:
    from tether import Workspace
    from tether.offload import Offload

    off = Offload(Workspace.open(root))
    for i in range(count):
        off.add("blob", C, f"w{worker} #{i}", content=f"from worker {worker}, packet {i}")


def test_concurrent_adds_lose_nothing_and_leave_the_maps_a_full_rebuild_would_write(wave, cli, repo, fast_writes):
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    workers = [ctx.Process(target=_adds, args=(str(repo), w, 8)) for w in range(4)]
    for p in workers:
        p.start()
    for p in workers:
        p.join(60)
        assert p.exitcode == 0
    listed = cli("offload", "list", "--json").json()["packets"]
    assert len(listed) == 32 and len({p["id"] for p in listed}) == 32
    assert cli("offload", "map", "--check").code == 0
    written = maps_of(repo)
    import shutil

    shutil.rmtree(repo / ".tether" / "local" / "offload")
    for p in (repo / OFF).rglob("*"):
        if p.name in ("MAP.md", "map.yaml"):
            p.unlink()
    assert cli("offload", "map").code == 0 and maps_of(repo) == written
