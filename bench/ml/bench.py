#!/usr/bin/python3
"""bench.py — CLIP ViT-B/32 inference: ours (bench/ml/clip_bench) vs PyTorch, interleaved.

Generates a full-size CLIP ViT-B/32 with random weights (safetensors, Hugging Face names,
synthetic 49408-token vocabulary) under $ML_BENCH_DIR (default /tmp/rodeo-bench-ml), then for
each configuration alternates rounds: our binary (a fresh process: load + 1 warm-up + ITERS
timed runs, median) and PyTorch in this process (same weights, torch.inference_mode, same
thread count, the same warm-up and median). Prints a markdown table of medians over rounds.

Each round times both sides back to back, so the ratio of a round compares them under the same
machine load; the table gives the median of those paired ratios (the peer's own time moves 2x
with the load of a shared 2-vCPU machine). Times are wall clock and, for the 1-thread rows,
process CPU time too (clip_bench's CLOCK_PROCESS_CPUTIME_ID, Python's time.process_time):
on 1 thread CPU time excludes the waits for a core. Our reduced-precision paths (bf16, int8)
are timed in the same rounds.

PyTorch peer: an nn.Module written like Hugging Face's CLIP (nn.Linear q/k/v/out, eager
attention as HF's CLIPAttention, QuickGELU; torch 1.13 has no SDPA); the text tower runs the full 77-token context as CLIP does, on pre-tokenised ids.
"""
import json
import math
import os
import statistics
import struct
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
DIR = os.environ.get("ML_BENCH_DIR", "/tmp/rodeo-bench-ml")
MODEL = os.path.join(DIR, "clip-vit-base-patch32")
ROUNDS = int(os.environ.get("ML_BENCH_ROUNDS", "9"))


def write_model():
    if os.path.exists(os.path.join(MODEL, "merges.txt")):
        return
    os.makedirs(MODEL, exist_ok=True)
    g = torch.Generator().manual_seed(0)
    T = {}

    def r(*s, scale=0.02):
        return torch.randn(*s, generator=g) * scale

    def layers(prefix, D, Fd, n):
        for i in range(n):
            p = "%s.encoder.layers.%d." % (prefix, i)
            for ln in ("layer_norm1", "layer_norm2"):
                T[p + ln + ".weight"] = 1 + r(D, scale=0.1)
                T[p + ln + ".bias"] = r(D)
            for k in ("q_proj", "k_proj", "v_proj", "out_proj"):
                T[p + "self_attn." + k + ".weight"] = r(D, D, scale=1 / math.sqrt(D))
                T[p + "self_attn." + k + ".bias"] = r(D)
            T[p + "mlp.fc1.weight"] = r(Fd, D, scale=1 / math.sqrt(D))
            T[p + "mlp.fc1.bias"] = r(Fd)
            T[p + "mlp.fc2.weight"] = r(D, Fd, scale=1 / math.sqrt(Fd))
            T[p + "mlp.fc2.bias"] = r(D)

    T["vision_model.embeddings.patch_embedding.weight"] = r(768, 3, 32, 32)
    T["vision_model.embeddings.class_embedding"] = r(768, scale=0.5)
    T["vision_model.embeddings.position_embedding.weight"] = r(50, 768, scale=0.1)
    for n in ("pre_layrnorm", "post_layernorm"):
        T["vision_model.%s.weight" % n] = 1 + r(768, scale=0.1)
        T["vision_model.%s.bias" % n] = r(768)
    layers("vision_model", 768, 3072, 12)
    T["visual_projection.weight"] = r(512, 768, scale=1 / math.sqrt(768))
    T["text_model.embeddings.token_embedding.weight"] = r(49408, 512, scale=0.3)
    T["text_model.embeddings.position_embedding.weight"] = r(77, 512, scale=0.1)
    T["text_model.final_layer_norm.weight"] = 1 + r(512, scale=0.1)
    T["text_model.final_layer_norm.bias"] = r(512)
    layers("text_model", 512, 2048, 12)
    T["text_projection.weight"] = r(512, 512, scale=1 / math.sqrt(512))
    T["logit_scale"] = torch.tensor(math.log(100.0))
    header, off = {}, 0
    for k, v in T.items():
        n = v.numel() * 4
        header[k] = {"dtype": "F32", "shape": list(v.shape), "data_offsets": [off, off + n]}
        off += n
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(os.path.join(MODEL, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for v in T.values():
            f.write(v.contiguous().numpy().tobytes())
    cfg = {"projection_dim": 512, "vision_config": {"hidden_size": 768, "intermediate_size": 3072,
           "num_attention_heads": 12, "num_hidden_layers": 12, "image_size": 224, "patch_size": 32},
           "text_config": {"hidden_size": 512, "intermediate_size": 2048, "num_attention_heads": 8,
                           "num_hidden_layers": 12, "vocab_size": 49408, "max_position_embeddings": 77}}
    json.dump(cfg, open(os.path.join(MODEL, "config.json"), "w"))
    write_vocab()


def write_vocab():
    # synthetic vocabulary of the real size: byte alphabet, merges of common letter pairs
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b); cs.append(256 + n); n += 1
    base = [chr(c) for c in cs]
    vocab = {t: i for i, t in enumerate(base + [t + "</w>" for t in base])}
    # merges of short letter sequences (<= 5 letters, like real CLIP's ~525 KB merges.txt)
    merges, letters = [], "etaoinshrdlcumwfgypbvkjxqz"
    frontier = list(letters)
    while len(vocab) < 49406:
        nxt = []
        for a in frontier:
            for b in letters:
                for m in ((a, b), (a, b + "</w>")):
                    if a + m[1] not in vocab and len(vocab) < 49406:
                        merges.append(m)
                        vocab[a + m[1]] = len(vocab)
                if len(a) < 5:
                    nxt.append(a + b)
        frontier = nxt
    vocab["<|startoftext|>"] = 49406
    vocab["<|endoftext|>"] = 49407
    json.dump(vocab, open(os.path.join(MODEL, "vocab.json"), "w"))
    with open(os.path.join(MODEL, "merges.txt"), "w") as f:
        f.write("#version: 0.2\n" + "".join(a + " " + b + "\n" for a, b in merges))


def load_tensors():
    with open(os.path.join(MODEL, "model.safetensors"), "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        h = json.loads(f.read(n))
        data = f.read()
    return {k: torch.from_numpy(np.frombuffer(data, np.float32, int(np.prod(v["shape"])) if v["shape"] else 1,
                                              v["data_offsets"][0]).reshape(v["shape"]).copy())
            for k, v in h.items()}


class Layer(torch.nn.Module):
    def __init__(self, W, p, D, Fd, H, causal):
        super().__init__()
        self.H, self.causal = H, causal

        def lin(name, i, o):
            l = torch.nn.Linear(i, o)
            l.weight.data, l.bias.data = W[p + name + ".weight"], W[p + name + ".bias"]
            return l

        def ln(name):
            l = torch.nn.LayerNorm(D)
            l.weight.data, l.bias.data = W[p + name + ".weight"], W[p + name + ".bias"]
            return l
        self.ln1, self.ln2 = ln("layer_norm1"), ln("layer_norm2")
        self.q, self.k, self.v = lin("self_attn.q_proj", D, D), lin("self_attn.k_proj", D, D), lin("self_attn.v_proj", D, D)
        self.o = lin("self_attn.out_proj", D, D)
        self.fc1, self.fc2 = lin("mlp.fc1", D, Fd), lin("mlp.fc2", Fd, D)

    def forward(self, x):
        B, T, D = x.shape
        h = self.ln1(x)
        sh = lambda t: t.view(B, T, self.H, D // self.H).transpose(1, 2)
        s = sh(self.q(h)) @ sh(self.k(h)).transpose(-1, -2) * (D // self.H) ** -0.5
        if self.causal:
            s = s + torch.full((T, T), float("-inf")).triu(1)
        a = torch.softmax(s, dim=-1) @ sh(self.v(h))
        x = x + self.o(a.transpose(1, 2).reshape(B, T, D))
        h = self.fc1(self.ln2(x))
        return x + self.fc2(h * torch.sigmoid(1.702 * h))


class Vision(torch.nn.Module):
    def __init__(self, W):
        super().__init__()
        self.W = W
        self.layers = torch.nn.ModuleList(Layer(W, "vision_model.encoder.layers.%d." % i, 768, 3072, 12, False) for i in range(12))

    def forward(self, px):
        W = self.W
        x = F.conv2d(px, W["vision_model.embeddings.patch_embedding.weight"], stride=32).flatten(2).transpose(1, 2)
        x = torch.cat([W["vision_model.embeddings.class_embedding"].expand(px.shape[0], 1, 768), x], 1)
        x = F.layer_norm(x + W["vision_model.embeddings.position_embedding.weight"], (768,),
                         W["vision_model.pre_layrnorm.weight"], W["vision_model.pre_layrnorm.bias"])
        for l in self.layers:
            x = l(x)
        p = F.layer_norm(x[:, 0], (768,), W["vision_model.post_layernorm.weight"], W["vision_model.post_layernorm.bias"])
        e = p @ W["visual_projection.weight"].T
        return e / e.norm(dim=-1, keepdim=True)


class Text(torch.nn.Module):
    def __init__(self, W):
        super().__init__()
        self.W = W
        self.layers = torch.nn.ModuleList(Layer(W, "text_model.encoder.layers.%d." % i, 512, 2048, 8, True) for i in range(12))

    def forward(self, ids):
        W = self.W
        x = W["text_model.embeddings.token_embedding.weight"][ids] + W["text_model.embeddings.position_embedding.weight"]
        for l in self.layers:
            x = l(x)
        x = F.layer_norm(x, (512,), W["text_model.final_layer_norm.weight"], W["text_model.final_layer_norm.bias"])
        e = x[torch.arange(ids.shape[0]), ids.argmax(-1)] @ W["text_projection.weight"].T
        return e / e.norm(dim=-1, keepdim=True)


def time_torch(fn, arg, batch, iters):
    """Median wall and process-CPU milliseconds per item."""
    with torch.inference_mode():
        fn(arg)
        ts, cs = [], []
        for _ in range(iters):
            t, c = time.perf_counter(), time.process_time()
            fn(arg)
            ts.append((time.perf_counter() - t) * 1e3 / batch)
            cs.append((time.process_time() - c) * 1e3 / batch)
    return statistics.median(ts), statistics.median(cs)


def ours(exe, mode, batch, threads, iters, prec=None):
    cmd = [exe, MODEL, mode, str(batch), str(threads), str(iters)] + ([prec] if prec else [])
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode:
        sys.exit(out.stderr)
    info = json.loads(out.stdout)
    if prec and info["precision"] != prec:
        sys.exit("%s: this CPU has no %s path (got %s)" % (" ".join(cmd), prec, info["precision"]))
    return info


def med(x):
    return statistics.median(x) if x else None


def main():
    write_model()
    W = load_tensors()
    vis, txt = Vision(W).eval(), Text(W).eval()
    exe = os.path.join(HERE, "..", "..", "build", "clip_bench")
    configs = [("image", 1, 1, 8), ("image", 8, 1, 3), ("image", 1, 2, 8), ("image", 8, 2, 3),
               ("text", 1, 1, 10), ("text", 16, 1, 3), ("text", 1, 2, 10), ("text", 16, 2, 3)]
    if "--quick" in sys.argv:
        configs = configs[:1]
    for m in ("image", "text"):
        if "--" + m in sys.argv:
            configs = [c for c in configs if c[0] == m]
    if os.environ.get("ML_BENCH_THREADS"):
        configs = [c for c in configs if c[2] == int(os.environ["ML_BENCH_THREADS"])]
    rows = []
    ids8 = torch.zeros(16, 77, dtype=torch.long)
    for i in range(16):                      # ~8-token prompts, end token = highest id
        ids8[i, :9] = torch.tensor([49406] + [300 + (i * 7 + j) % 1000 for j in range(7)] + [49407])
    precs = {"image": ["bf16", "int8"], "text": ["int8"]}
    for mode, batch, threads, iters in configs:
        torch.set_num_threads(threads)
        arg = torch.randn(batch, 3, 224, 224) if mode == "image" else ids8[:batch]
        fn = vis if mode == "image" else txt
        R = {k: [] for k in ("fp32", "fp32_cpu", "peer", "peer_cpu") + tuple(precs[mode]) + tuple(p + "_cpu" for p in precs[mode])}
        info = {}
        for _ in range(ROUNDS):
            # order within a round: fp32, peer, reduced paths (the peer sits between ours)
            info = ours(exe, mode, batch, threads, iters)
            R["fp32"].append(info["ms_per_item"]); R["fp32_cpu"].append(info["cpu_ms_per_item"])
            w, c = time_torch(fn, arg, batch, iters)
            R["peer"].append(w); R["peer_cpu"].append(c)
            for prec in precs[mode]:
                pi = ours(exe, mode, batch, threads, iters, prec)
                R[prec].append(pi["ms_per_item"]); R[prec + "_cpu"].append(pi["cpu_ms_per_item"])
        ratio = lambda k, ref="peer": med([a / b for a, b in zip(R[k], R[ref])])
        row = {"mode": mode, "batch": batch, "threads": threads, "info": info, "R": R,
               "fp32": med(R["fp32"]), "peer": med(R["peer"]), "r_fp32": ratio("fp32"),
               "r_fp32_cpu": ratio("fp32_cpu", "peer_cpu")}
        for prec in precs[mode]:
            row[prec] = med(R[prec])
            row["r_" + prec] = ratio(prec)
            row["r_%s_cpu" % prec] = ratio(prec + "_cpu", "peer_cpu")
        rows.append(row)
        print("%s batch %d threads %d (%d rounds): ours fp32 %.1f ms, torch %.1f ms; paired ratio wall %.2f cpu %.2f%s | load %.0f ms rss %.0f MB sgemm peak %.0f" % (
            mode, batch, threads, ROUNDS, row["fp32"], row["peer"], row["r_fp32"], row["r_fp32_cpu"],
            "".join(", %s %.1f ms (%.2f / cpu %.2f)" % (p, row[p], row["r_" + p], row["r_%s_cpu" % p]) for p in precs[mode]),
            info["load_ms"], info["rss_mb"], info["sgemm_peak"]), flush=True)
        for k in ("fp32", "peer", "int8"):
            if k in R:
                print("    %-5s wall per round: %s" % (k, " ".join("%.1f" % v for v in R[k])))
        print("    paired fp32/peer per round: %s" % " ".join("%.2f" % (a / b) for a, b in zip(R["fp32"], R["peer"])))
        if "int8" in R:
            print("    paired int8/peer per round: %s" % " ".join("%.2f" % (a / b) for a, b in zip(R["int8"], R["peer"])))
        if threads == 1:
            print("    cpu fp32 %.1f peer %.1f int8 %s ms; paired cpu fp32/peer: %s" % (
                med(R["fp32_cpu"]), med(R["peer_cpu"]), "%.1f" % med(R["int8_cpu"]) if "int8" in R else "-",
                " ".join("%.2f" % (a / b) for a, b in zip(R["fp32_cpu"], R["peer_cpu"]))), flush=True)
    print("\n| tower | batch | threads | ours fp32 ms/item | PyTorch ms/item | fp32 / PyTorch (paired median) | same, CPU time | bf16 ms/item | bf16 / PyTorch | int8 ms/item | int8 / PyTorch | int8 / PyTorch, CPU time | GFLOP/s (fp32) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    f = lambda v, fmt="%.1f": fmt % v if v is not None else "-"
    for r in rows:
        one = r["threads"] == 1
        print("| %s | %d | %d | %.1f | %.1f | **%.2f** | %s | %s | %s | %s | **%s** | %s | %s |" % (
            r["mode"], r["batch"], r["threads"], r["fp32"], r["peer"], r["r_fp32"], f(r["r_fp32_cpu"], "%.2f") if one else "-",
            f(r.get("bf16")), f(r.get("r_bf16"), "%.2f"), f(r.get("int8")), f(r.get("r_int8"), "%.2f"),
            f(r.get("r_int8_cpu"), "%.2f") if one else "-",
            "%.0f" % (8.8 / (r["fp32"] / 1e3)) if r["mode"] == "image" else "-"))


main()
