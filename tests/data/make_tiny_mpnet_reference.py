"""Writes tiny_mpnet_reference.json: the vectors Hugging Face's own MPNet implementation gives
for the small MPNet model test_recall_semantic.write_tiny_mpnet writes (mean pooled over the
tokens, normalized, as sentence-transformers does for all-mpnet-base-v2), which
test_recall_semantic.py compares tether's numpy encoder with.

Run it in a scratch environment outside the project, where torch may be installed:
    python -m venv /tmp/stvenv && /tmp/stvenv/bin/pip install torch transformers numpy tokenizers pytest
    /tmp/stvenv/bin/python tests/data/make_tiny_mpnet_reference.py
"""

import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from transformers import MPNetConfig, MPNetModel

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from test_recall_semantic import MPNET_TEXTS, write_tiny_mpnet  # noqa: E402

with tempfile.TemporaryDirectory() as tmp:
    folder = write_tiny_mpnet(Path(tmp) / "tiny-mpnet")
    config = json.loads((folder / "config.json").read_text())
    model = MPNetModel(MPNetConfig(**{k: v for k, v in config.items() if k != "model_type"}), add_pooling_layer=False)
    from safetensors.torch import load_file

    missing, unexpected = model.load_state_dict(load_file(str(folder / "model.safetensors")), strict=False)
    assert not unexpected and set(missing) <= {"embeddings.position_ids"}, (missing, unexpected)
    model.eval()
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    # Cut at the model's max_seq_length, its special tokens kept, as sentence-transformers does.
    tokenizer.enable_truncation(max_length=json.loads((folder / "sentence_bert_config.json").read_text())["max_seq_length"])
    encodings = [tokenizer.encode(t).ids for t in MPNET_TEXTS]
    width = max(map(len, encodings))
    ids = torch.tensor([e + [1] * (width - len(e)) for e in encodings])  # <pad> is 1
    mask = torch.tensor([[1] * len(e) + [0] * (width - len(e)) for e in encodings])
    with torch.no_grad():
        tokens = model(input_ids=ids, attention_mask=mask).last_hidden_state
    pooled = (tokens * mask[:, :, None]).sum(1) / mask.sum(1, keepdim=True)
    vectors = torch.nn.functional.normalize(pooled, dim=1).numpy()

json.dump({"made_with": "transformers MPNetModel (CPU), mean pooling, normalized; tests/data/make_tiny_mpnet_reference.py",
           "texts": MPNET_TEXTS, "vectors": [[round(float(x), 7) for x in row] for row in vectors]},
          open(HERE / "tiny_mpnet_reference.json", "w"), indent=None)
print("tokens per text:", [len(e) for e in encodings])
