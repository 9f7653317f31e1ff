#!/usr/bin/python3
"""recog_make_vit.py OUTDIR FAVOURITE LABEL... — a tiny random-weight Hugging Face
ViTForImageClassification (config.json with id2label + model.safetensors) for the recognition
tests. Its classifier bias makes FAVOURITE by far the most probable label for any photo
(softmax ~0.9), with the next-to-last label second; the rest share what is left. Labels are
written as given (mixed case on purpose: recognition matches them case-insensitively)."""
import json
import os
import struct
import sys

import numpy as np

out, fav, labels = sys.argv[1], sys.argv[2], sys.argv[3:]
assert fav in labels and len(labels) >= 3
D, F, H, LYR, S, P = 32, 64, 4, 1, 32, 16
T = (S // P) ** 2 + 1
rng = np.random.default_rng(5)


def rnd(*shape, scale=0.02):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


W = {"vit.embeddings.cls_token": rnd(1, 1, D), "vit.embeddings.position_embeddings": rnd(1, T, D),
     "vit.embeddings.patch_embeddings.projection.weight": rnd(D, 3, P, P),
     "vit.embeddings.patch_embeddings.projection.bias": rnd(D),
     "vit.layernorm.weight": np.ones(D, np.float32), "vit.layernorm.bias": rnd(D),
     "classifier.weight": rnd(len(labels), D, scale=0.01)}
bias = np.zeros(len(labels), np.float32)
bias[labels.index(fav)] = 8.0
bias[len(labels) - 2 if labels.index(fav) != len(labels) - 2 else 0] = 5.5
W["classifier.bias"] = bias
names = {"layernorm_before": D, "layernorm_after": D}
for i in range(LYR):
    p = "vit.encoder.layer.%d." % i
    for ln in ("layernorm_before", "layernorm_after"):
        W[p + ln + ".weight"] = np.ones(D, np.float32)
        W[p + ln + ".bias"] = rnd(D)
    for k in ("attention.attention.query", "attention.attention.key", "attention.attention.value",
              "attention.output.dense"):
        W[p + k + ".weight"] = rnd(D, D, scale=0.1)
        W[p + k + ".bias"] = rnd(D)
    W[p + "intermediate.dense.weight"] = rnd(F, D, scale=0.1)
    W[p + "intermediate.dense.bias"] = rnd(F)
    W[p + "output.dense.weight"] = rnd(D, F, scale=0.1)
    W[p + "output.dense.bias"] = rnd(D)
os.makedirs(out, exist_ok=True)
header, blobs, off = {}, [], 0
for name, t in W.items():
    raw = np.ascontiguousarray(t, np.float32).tobytes()
    header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
    blobs.append(raw)
    off += len(raw)
header["__metadata__"] = {"format": "pt"}
h = json.dumps(header).encode()
h += b" " * ((8 - len(h) % 8) % 8)
with open(os.path.join(out, "model.safetensors"), "wb") as f:
    f.write(struct.pack("<Q", len(h)))
    f.write(h)
    for b in blobs:
        f.write(b)
cfg = {"architectures": ["ViTForImageClassification"], "hidden_size": D, "intermediate_size": F,
       "num_attention_heads": H, "num_hidden_layers": LYR, "image_size": S, "patch_size": P, "hidden_act": "gelu",
       "layer_norm_eps": 1e-12, "num_channels": 3, "id2label": {str(i): l for i, l in enumerate(labels)},
       "label2id": {l: i for i, l in enumerate(labels)}}
with open(os.path.join(out, "config.json"), "w") as f:
    json.dump(cfg, f, indent=1)
print(out)
