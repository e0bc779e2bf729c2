"""Memories anchored to code: pinned blob ids, flagged when the file changes or goes, re-confirmed."""

from __future__ import annotations

import json

import pytest

from tether.gitio import runner


@pytest.fixture
def code(repo, git):
    (repo / "src").mkdir()
    (repo / "src" / "a.py").write_text("x = 1\n")
    (repo / "src" / "layout.py").write_text("y = 2\n")
    git("add", "src")
    git("commit", "-q", "-m", "code")
    return repo


def test_a_commit_that_changes_the_anchored_file_flags_the_decision(ws, code, git, cli):
    made = cli("decide", "Which x?", "--decision", "x is 1", "--anchor", "src/a.py:1", "--json").json()
    anchors = made["decision"]["anchors"]
    assert list(anchors) == ["src/a.py:1"]
    assert anchors["src/a.py:1"] == git("rev-parse", "HEAD:src/a.py").strip()  # git's own blob id
    assert "may be stale" not in cli("decide", "--list").out

    (code / "src" / "a.py").write_text("x = 2\n")
    git("commit", "-q", "-am", "change x")
    listed = cli("decide", "--list")
    assert "may be stale: src/a.py changed in 1 commit since" in listed.out
    (code / "src" / "a.py").write_text("x = 3\n")
    assert "may be stale: src/a.py changed in 1 commit since" in cli("decide", "--list").out  # same HEAD
    git("commit", "-q", "-am", "change x again")
    assert "may be stale: src/a.py changed in 2 commits since" in cli("decide", "--list").out
    stale = cli("verify", "--stale", "--json")
    assert stale.code == 3
    assert [s["id"] for s in stale.json()["stale"]] == [made["decision"]["id"]]

    confirmed = cli("decide", "--confirm", made["decision"]["id"])
    assert confirmed.code == 0, confirmed.err
    assert "may be stale" not in cli("decide", "--list").out
    assert cli("verify", "--stale").code == 0
    assert ws.store.load_decision(made["decision"]["id"]).anchors["src/a.py:1"] == \
        git("rev-parse", "HEAD:src/a.py").strip()


def test_paths_found_in_the_text_anchor_an_entry_and_a_deleted_file_is_named(ws, code, git, cli):
    added = cli("note", "gotcha", "layout.py:1 must stay y; src/a.py too; nothere.py is not a file", "--json").json()
    assert added["note"]["anchors"].keys() == {"src/layout.py:1", "src/a.py"}
    git("rm", "-q", "src/layout.py")
    git("commit", "-q", "-m", "drop layout")
    listed = cli("note", "list")
    assert "may be stale: src/layout.py is gone" in listed.out
    failed = cli("note", "confirm", added["note"]["id"])
    assert failed.code != 0 and "gone" in failed.err


def test_a_bare_name_that_is_ambiguous_anchors_nothing(ws, code, git, cli):
    (code / "lib").mkdir()
    (code / "lib" / "a.py").write_text("z\n")
    git("add", "lib")
    git("commit", "-q", "-m", "second a.py")
    added = cli("note", "note", "see a.py", "--json").json()
    assert "anchors" not in added["note"] or not added["note"]["anchors"]


def test_re_confirming_an_entry_survives_reading_back(ws, code, git, cli):
    added = cli("note", "dont", "do not touch", "--anchor", "src/a.py", "--json").json()
    (code / "src" / "a.py").write_text("x = 3\n")
    assert "changed since" in cli("note", "list").out
    assert cli("note", "confirm", added["note"]["id"]).code == 0
    assert "may be stale" not in cli("note", "list").out
    assert [n.anchors for n in ws.notes()] == [{"src/a.py": _oid(code / "src" / "a.py")}]


def test_an_anchor_outside_the_repository_or_missing_is_refused(ws, code, cli):
    for anchor in ("src/missing.py", ".git/config", ".git/HEAD", "../outside.py", "src/../.git/config"):
        bad = cli("note", "note", "x", "--anchor", anchor)
        assert bad.code == 1 and "names no file of the repository" in bad.err, (anchor, bad.err)
    assert cli("note", "list", "--json").json()["notes"] == []
    assert cli("note", "note", "see .git/config for the remote").code == 0  # named in a text: not an anchor
    assert not cli("note", "list", "--json").json()["notes"][0].get("anchors")


def test_records_without_anchors_are_written_as_before(ws, code, cli):
    cli("note", "note", "plain words")
    cli("decide", "Q?", "--decision", "D")
    line = (code / ".tether" / "context.jsonl").read_text().splitlines()[-1]
    assert "anchors" not in json.loads(line)
    decision = next((code / ".tether" / "decisions").glob("*.md")).read_text()
    assert "anchors" not in decision


def test_showing_anchored_memories_starts_no_git_process(ws, code, git, cli, spy):
    for n in range(5):
        cli("note", "note", f"entry {n} about src/a.py")
    (code / "src" / "a.py").write_text("changed\n")
    cli("note", "list")  # learns the file's new id
    started = [spy(runner, "query"), spy(runner, "run"), spy(runner, "batch")]
    listed = cli("note", "list")
    assert listed.out.count("may be stale") == 5
    assert cli("verify", "--stale").code == 3
    assert started == [[], [], []]
    cli("note", "note", "a bare name: layout.py")  # resolving a bare name asks git once
    assert len(started[0]) == 1


def _oid(path) -> str:
    from tether.gitio.objects import blob_oid

    return blob_oid(path.read_bytes())


def test_boot_flags_a_stale_memory_warm_or_cold_without_more_git(ws, code, git, cli, spy):
    cli("note", "gotcha", "src/a.py must keep x")
    cli("decide", "Where is y?", "--decision", "in src/layout.py")
    git("add", ".tether")
    git("commit", "-q", "-m", "memories")
    assert "May be stale" not in ws.boot().text  # cold: builds the cache
    calls = [spy(runner, "query"), spy(runner, "run"), spy(runner, "batch")]
    (code / "other.py").write_text("z\n")  # a commit of code the memories do not cite: boot's own git questions
    git("add", "other.py")
    git("commit", "-q", "-m", "other code")
    assert "May be stale" not in ws.boot().text  # warm
    before = [len(c) for c in calls]

    (code / "src" / "a.py").write_text("x = 5\n")
    git("rm", "-q", "src/layout.py")
    git("commit", "-q", "-am", "change the code only")
    for c in calls:
        c.clear()
    warm = ws.boot()
    assert "src/a.py must keep x (entry" in warm.text and "may be stale: src/a.py changed since" in warm.text
    assert "may be stale: src/layout.py is gone" in warm.text
    assert [len(c) for c in calls] == before  # the same git questions as a boot without anchors
    assert {s["id"] for s in warm.to_dict()["stale"]} == {n.id for n in ws.notes()} | {d.id for d in ws.decisions()}
    cold = ws.boot(warm=False)
    assert "may be stale: src/a.py changed since" in cold.text
    # Boot asks git nothing for the commit count; once a listing has counted them, it says them too.
    assert "src/a.py changed in 1 commit since" in cli("verify", "--stale").out
    assert "may be stale: src/a.py changed in 1 commit since" in ws.boot().text


def test_a_checkpoint_cites_code_and_verify_stale_names_it(ws, code, git, cli, tether_proc):
    assert cli("task", "start", "Parse", "--id", "T1", "--steps", "a,b").code == 0
    made = tether_proc("checkpoint", "--state", "editing src/a.py", "--anchor", "src/layout.py:1", "--json")
    assert made.code == 0, made.err
    journal = (code / ".tether" / "tasks" / "T1" / "checkpoints.jsonl").read_text()
    assert '"src/layout.py:1"' in journal and '"src/a.py"' in journal
    assert ws.latest_checkpoint("T1").anchors.keys() == {"src/a.py", "src/layout.py:1"}
    assert cli("verify", "--stale").code == 0
    (code / "src" / "layout.py").write_text("y = 3\n")
    stale = cli("verify", "--stale", "--json")
    assert stale.code == 3
    assert [(s["kind"], s["flags"][0]["path"]) for s in stale.json()["stale"]] == [("checkpoint", "src/layout.py")]


def test_a_resume_point_citing_changed_code_is_flagged_in_boot_resume_and_recall(ws, code, git, cli):
    """Where the next session starts is shown by boot, resume and recall: each says when the code
    the checkpoint cites moved since, as verify --stale does."""
    assert cli("task", "start", "Parse", "--id", "T1", "--steps", "a,b").code == 0
    assert cli("checkpoint", "--state", "lexer tokens done", "--anchor", "src/layout.py:1").code == 0
    assert "may be stale" not in cli("boot").out + cli("resume").out
    assert cli("recall", "lexer tokens", "--json").json()["hits"][0]["status"] == "current"
    (code / "src" / "layout.py").write_text("y = 3\n")
    git("commit", "-q", "-am", "layout moved")
    said = "may be stale: src/layout.py changed in 1 commit since"
    boot = cli("boot")  # boot asks git nothing: commits are counted only where a listing counted them
    assert "## May be stale" in boot.out
    assert "T1: lexer tokens done (checkpoint CKP-0001): may be stale: src/layout.py changed since" in boot.out
    assert cli("boot", "--json").json()["stale"][0]["id"] == "CKP-0001"
    resume = cli("resume")
    assert f"CKP-0001 {said}" in resume.out
    assert cli("resume", "--json").json()["resume"]["stale"] == said
    hit = cli("recall", "lexer tokens", "--json").json()["hits"][0]
    assert hit["id"] == "T1/CKP-0001" and hit["status"] == "stale" and hit["stale"] == said


def test_recall_marks_a_hit_whose_cited_code_changed(ws, code, git, cli):
    cli("decide", "Which parser for tokens?", "--decision", "the hand-written one in src/a.py")
    cli("note", "gotcha", "tokens: the lexer in src/layout.py drops tabs")
    found = cli("recall", "tokens", "--json").json()
    assert {h["status"] for h in found["hits"]} == {"current"}
    (code / "src" / "a.py").write_text("x = 9\n")
    hits = {h["kind"]: h for h in cli("recall", "tokens", "--json").json()["hits"]}
    assert hits["decision"]["status"] == "stale"
    assert hits["decision"]["stale"] == "may be stale: src/a.py changed since (not committed)"
    assert hits["context"]["status"] == "current"
    assert "[may be stale: src/a.py changed since (not committed)]" in cli("recall", "tokens").out


def test_recall_reads_an_entrys_anchors_from_its_index_and_sees_a_confirmation(ws, code, git, cli, spy):
    cli("note", "gotcha", "tokens: the lexer in src/layout.py drops tabs")
    assert cli("recall", "tokens lexer", "--json").json()["hits"][0]["status"] == "current"
    (code / "src" / "layout.py").write_text("y = 4\n")
    [hit] = cli("recall", "tokens lexer", "--json").json()["hits"]
    assert hit["status"] == "stale" and "src/layout.py changed" in hit["stale"] and "_row" not in hit
    assert cli("note", "confirm", hit["id"]).code == 0
    assert cli("recall", "tokens lexer", "--json").json()["hits"][0]["status"] == "current"


def test_words_that_only_look_like_file_names_ask_git_nothing(ws, code, cli, spy):
    asked = spy(runner, "query")
    added = cli("note", "note", "e.g. the i.e. case, version v1.2, see https://example.com/x.html", "--json").json()
    assert asked == [] and added["note"]["anchors"] == {}


def test_commits_are_counted_after_a_version_that_was_never_committed(ws, code, git, cli, monkeypatch):
    """A memory written against an uncommitted edit: no commit holds that version, so the commits
    made after the memory are the ones counted."""
    (code / "src" / "a.py").write_text("x = 'draft'\n")
    made = cli("note", "gotcha", "src/a.py keeps x a string", "--json").json()
    assert "may be stale" not in cli("note", "list").out
    (code / "src" / "a.py").write_text("x = 'final'\n")
    assert "src/a.py changed since (not committed)" in cli("note", "list").out
    # Counted by commit time, to the second: this commit is made a second later than any clock here.
    monkeypatch.setenv("GIT_COMMITTER_DATE", "2030-01-01T00:00:00Z")
    git("commit", "-q", "-am", "final x")
    listed = cli("note", "list", "--json").json()
    [flag] = next(n for n in listed["notes"] if n["id"] == made["note"]["id"])["stale"]
    assert flag == {"anchor": "src/a.py", "path": "src/a.py", "state": "changed", "commits": 1}


def test_confirming_a_checkpoint_says_the_next_checkpoint_does_it(ws, code, cli):
    assert cli("task", "start", "Parse", "--id", "T1", "--steps", "a,b").code == 0
    made = cli("checkpoint", "--state", "editing", "--anchor", "src/a.py", "--json").json()
    (code / "src" / "a.py").write_text("x = 4\n")
    listed = cli("verify", "--stale")
    assert listed.code == 3 and "next `tether checkpoint`" in listed.out
    refused = cli("note", "confirm", made["checkpoint"]["id"])
    assert refused.code == 1 and "is a checkpoint" in refused.err and "next checkpoint" in refused.err
    assert cli("checkpoint", "--state", "a.py re-read", "--anchor", "src/a.py").code == 0
    assert cli("verify", "--stale").code == 0


# -- symbols ------------------------------------------------------------------------------------------

PARSER = '''import re


@cached
def parse(text):
    return text.split()


class Lexer:
    LIMIT = 3

    def tokens(self, text):
        return list(text)

    def other(self):
        return None
'''


def test_a_symbol_anchor_is_flagged_when_its_definition_changes_not_its_neighbours(ws, code, git, cli):
    (code / "src" / "parser.py").write_text(PARSER)
    git("add", "src")
    git("commit", "-q", "-m", "parser")
    made = cli("decide", "How are tokens made?", "--decision", "one per character",
               "--anchor", "src/parser.py::Lexer.tokens", "--json").json()
    assert list(made["decision"]["anchors"]) == ["src/parser.py::Lexer.tokens"]
    noted = cli("note", "gotcha", "src/parser.py::parse splits on any whitespace", "--json").json()
    assert list(noted["note"]["anchors"]) == ["src/parser.py::parse"]

    source = code / "src" / "parser.py"
    source.write_text(PARSER.replace("return None", "return 0").replace("import re", "import os"))
    assert "may be stale" not in cli("decide", "--list").out + cli("note", "list").out  # neighbours only

    source.write_text(source.read_text().replace("return list(text)", "return text.split(',')"))
    assert "[may be stale: Lexer.tokens in src/parser.py changed since]" in cli("decide", "--list").out
    assert "may be stale" not in cli("note", "list").out
    assert cli("decide", "--confirm", made["decision"]["id"]).code == 0
    assert "may be stale" not in cli("decide", "--list").out

    source.write_text(source.read_text().replace("def parse(text):\n    return text.split()\n", ""))
    listed = cli("note", "list", "--json").json()
    [flag] = next(n for n in listed["notes"] if n["id"] == noted["note"]["id"])["stale"]
    assert flag == {"anchor": "src/parser.py::parse", "path": "src/parser.py", "state": "gone", "symbol": "parse"}
    assert "parse in src/parser.py is gone" in cli("verify", "--stale").out


def test_a_symbol_the_file_does_not_define_is_refused_and_nothing_is_written(ws, code, cli):
    before = cli("decide", "--list").out
    refused = cli("decide", "Which x?", "--decision", "1", "--anchor", "src/a.py::nothere")
    assert refused.code == 1 and "src/a.py defines no nothere" in refused.err
    bad = cli("note", "gotcha", "x", "--anchor", "src/a.py::1bad")
    assert bad.code == 1 and "is not a symbol name" in bad.err
    assert cli("decide", "--list").out == before


@pytest.mark.parametrize("path,source,symbol,expected", [
    ("a.py", PARSER, "parse", "@cached\ndef parse(text):\n    return text.split()\n"),
    ("a.py", PARSER, "Lexer.LIMIT", "    LIMIT = 3\n"),
    ("a.py", PARSER, "Lexer.missing", None),
    ("a.js", "export function parse(a) {\n  if (a) { return 1; }\n  return 2;\n}\nconst b = 1;\n", "parse",
     "export function parse(a) {\n  if (a) { return 1; }\n  return 2;\n}\n"),
    ("a.go", "func (s *Server) Handle(w W) {\n\tx := 1\n}\n\nfunc Other() {}\n", "Server.Handle",
     "func (s *Server) Handle(w W) {\n\tx := 1\n}\n"),
    ("a.rb", "def hello\n  puts 1\nend\ndef bye\nend\n", "hello", "def hello\n  puts 1\nend\n"),
    ("a.py", "def broken(:\n", "broken", "def broken(:\n"),  # not Python that parses: the keyword rule
])
def test_where_a_definition_sits(path, source, symbol, expected):
    from tether.model.symbols import definition

    found = definition(source.encode(), path, symbol)
    assert (found.decode() if found is not None else None) == expected


@pytest.mark.parametrize("text", ["see src/a.py:12", "layout.py", "a..py too", "x_y.md!", "é.py", "e.g. this"])
def test_the_checkpoints_quick_look_never_misses_what_could_cite_code(text):
    """`tether checkpoint` loads the anchors' code only for a text that may cite some: the quick
    look must say yes to every text in which the full rule finds a citation-shaped word."""
    from tether.warm.anchors import _CITED
    from tether.workspace import _may_cite

    assert _CITED.search(text) is None or _may_cite(text)


def test_the_quick_look_agrees_with_the_full_rule_on_generated_texts():
    import random

    from tether.warm.anchors import _CITED
    from tether.workspace import _may_cite

    rng = random.Random(7)
    alphabet = "ab.-_/:1 é\n"
    for _ in range(20_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        if _CITED.search(text):
            assert _may_cite(text), text


def test_an_exact_anchor_is_not_widened_by_the_same_file_named_in_the_text(ws, code, git, cli):
    (code / "src" / "parser.py").write_text(PARSER)
    git("add", "src")
    git("commit", "-q", "-m", "parser")
    made = cli("decide", "Where does precedence live?", "--decision", "in the lexer",
               "--rationale", "see src/parser.py", "--anchor", "src/parser.py::Lexer.tokens", "--json").json()
    assert list(made["decision"]["anchors"]) == ["src/parser.py::Lexer.tokens"]
    (code / "src" / "parser.py").write_text(PARSER.replace("import re", "import os"))
    assert "may be stale" not in cli("decide", "--list").out


def test_files_a_checkpoint_means_to_change_next_are_not_its_anchors(ws, code, cli):
    assert cli("task", "start", "Parse", "--id", "T1", "--steps", "a,b").code == 0
    made = cli("checkpoint", "--state", "src/a.py reads x", "--next", "write tests in src/layout.py",
               "--json").json()
    assert list(made["checkpoint"]["anchors"]) == ["src/a.py"]
    (code / "src" / "layout.py").write_text("y = 3\n")  # doing the next step
    assert cli("verify", "--stale").code == 0


@pytest.mark.parametrize("anchor,said", [("src/a.py:999", "src/a.py has 1 line"),
                                         ("src/a.py:0", "src/a.py has 1 line"),
                                         ("src/a.py:abc", "'abc' is neither a line number nor ::SYMBOL")])
def test_a_line_the_file_does_not_have_is_refused(ws, code, cli, anchor, said):
    run = cli("note", "gotcha", "x", "--anchor", anchor)
    assert run.code == 1 and said in run.err and "Hint:" in run.err
    assert cli("note", "list").out.strip() == "No context entries."


def test_a_text_citing_a_line_the_file_lacks_cites_the_file(ws, code, cli):
    """Free text is not refused for a line number the file does not have (a typo, an older
    version): the file it names is cited whole; one it has keeps its line."""
    cli("note", "gotcha", "see src/a.py:999 and src/layout.py:1")
    [note] = cli("note", "list", "--json").json()["notes"]
    assert set(note["anchors"]) == {"src/a.py", "src/layout.py:1"}


def test_a_resolved_entry_is_not_confirmed(ws, code, cli):
    made = cli("note", "gotcha", "src/a.py holds x", "--json").json()["note"]["id"]
    assert cli("note", "resolve", made).code == 0
    run = cli("note", "confirm", made)
    assert run.code == 1 and "is resolved" in run.err and "nothing to confirm" in run.err
    again = cli("note", "resolve", made)
    assert again.code == 1 and "note list --all" in again.err
