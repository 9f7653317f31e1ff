#!/usr/bin/python3
"""ml_make_models.py OUTDIR [--big] [--no-tok-cases] — builds the models and expectations the C unit tests of
src/ml compare against, in one Python start-up:

  clip_tiny/        tiny CLIP (Hugging Face tensor names, config.json, vocab.json, merges.txt),
                    random weights, written as safetensors by hand (JSON header + raw data)
  clip_tiny_fp16/   the same weights stored as F16
  vit_tiny/         tiny ViTForImageClassification (GELU, patch 16, id2label)
  clip_b32/         (--big) a ViT-B/32-sized CLIP vision tower with random weights
  *.f32 / *.i32     inputs and expected outputs, raw little-endian arrays
  tok_cases.txt     tokenizer cases, one JSON string per line; tok_ids.i32 their ids (77 each)

The expected outputs come from an independent forward pass written here with plain torch
ops (full 77-token context, no end-of-text shortcut; HF's argmax pooling), and the expected
token ids from an independent BPE implementation: pre-tokenisation with Python's `re` over
character classes built from unicodedata, and the merge loop of OpenAI's simple_tokenizer.
"""
import json
import math
import os
import random
import re
import struct
import sys
import unicodedata

import torch

torch.manual_seed(1234)
random.seed(1234)
torch.set_num_threads(1)
CTX = 77


# ---------------------------------------------------------------- safetensors writer
def write_safetensors(path, tensors, dtype="F32"):
    header, blobs, off = {}, [], 0
    for name, t in tensors.items():
        t = t.detach().contiguous()
        if t.dtype == torch.int64:
            raw = t.numpy().tobytes()
            dt = "I64"
        elif dtype == "F16" and t.dtype == torch.float32:
            raw = t.to(torch.float16).numpy().tobytes()
            dt = "F16"
        else:
            raw = t.to(torch.float32).numpy().tobytes()
            dt = "F32"
        header[name] = {"dtype": dt, "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def save(path, t, fmt="f"):
    t = t.detach().contiguous()
    with open(path, "wb") as f:
        if fmt == "f":
            f.write(t.to(torch.float32).numpy().tobytes())
        else:
            f.write(t.to(torch.int32).numpy().tobytes())


# ---------------------------------------------------------------- tokenizer reference
def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def char_class(pred):
    parts, start = [], None
    for cp in range(0x110000 + 1):
        ok = cp < 0x110000 and not (0xD800 <= cp <= 0xDFFF) and pred(cp)
        if ok and start is None:
            start = cp
        elif not ok and start is not None:
            a, b = start, cp - 1
            parts.append(re.escape(chr(a)) if a == b else re.escape(chr(a)) + "-" + re.escape(chr(b)))
            start = None
    return "".join(parts)


L = char_class(lambda c: unicodedata.category(chr(c)).startswith("L"))
N = char_class(lambda c: unicodedata.category(chr(c)).startswith("N"))
PAT = re.compile(r"<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[" + L + "]+|[" + N + r"]|[^\s" + L + N + "]+",
                 re.IGNORECASE)


def get_pairs(word):
    return set(zip(word, word[1:]))


class RefTokenizer:
    def __init__(self, vocab, merges):
        self.encoder = vocab
        self.ranks = dict(zip(merges, range(len(merges))))
        self.byte_encoder = bytes_to_unicode()
        self.cache = {"<|startoftext|>": "<|startoftext|>", "<|endoftext|>": "<|endoftext|>"}

    def bpe(self, token):
        if token in self.cache:
            return self.cache[token]
        word = tuple(token[:-1]) + (token[-1] + "</w>",)
        pairs = get_pairs(word)
        if not pairs:
            return token + "</w>"
        while True:
            bigram = min(pairs, key=lambda p: self.ranks.get(p, float("inf")))
            if bigram not in self.ranks:
                break
            first, second = bigram
            new_word, i = [], 0
            while i < len(word):
                try:
                    j = word.index(first, i)
                    new_word.extend(word[i:j])
                    i = j
                except ValueError:
                    new_word.extend(word[i:])
                    break
                if word[i] == first and i < len(word) - 1 and word[i + 1] == second:
                    new_word.append(first + second)
                    i += 2
                else:
                    new_word.append(word[i])
                    i += 1
            word = tuple(new_word)
            if len(word) == 1:
                break
            pairs = get_pairs(word)
        out = " ".join(word)
        self.cache[token] = out
        return out

    def encode(self, text):
        text = re.sub(r"\s+", " ", text).strip().lower()
        ids = []
        for tok in PAT.findall(text):
            tok = "".join(self.byte_encoder[b] for b in tok.encode("utf-8"))
            ids.extend(self.encoder.get(t, self.encoder["<|endoftext|>"]) for t in self.bpe(tok).split(" "))
        sot, eot = self.encoder["<|startoftext|>"], self.encoder["<|endoftext|>"]
        ids = ([sot] + ids)[:CTX - 1] + [eot]
        return ids + [0] * (CTX - len(ids))


WORDS = ("a photo of the red cowboy hat boots saddle leather western belt buckle rodeo horse rope "
         "lasso spur jeans denim ranch barrel racing bull riding championship arena product "
         "brand new vintage brown black white blue small large men women kids").split()
UNI = ["café", "naïve", "Über", "straße", "ÉCOLE", "mañana", "Ωmega", "αβγ", "Привет", "日本語",
       "東京", "한국어", "العربية", "हिन्दी", "İstanbul", "ﬁne", "Ǆemal", "ǅ", "😀", "🤠🐎", "👍🏽",
       "½", "²³", "٣٤", "Ⅻ", "①", "＆", "—", "…", "«»", "€100", "¥", "\u00a0", "\u3000", "\u200b", "\t", "\n"]
PUNCT = list("!?.,;:'\"()[]{}<>@#$%^&*-_=+/\\|~`") + ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'LL",
                                                    "<|endoftext|>", "<|startoftext|>", "...", "!!!", "--"]


def random_text(rng):
    n = rng.choice([1, 2, 3, 5, 8, 13, 40, 120])
    parts = []
    for _ in range(n):
        r = rng.random()
        if r < 0.45:
            w = rng.choice(WORDS)
            parts.append(w.upper() if rng.random() < 0.1 else w.capitalize() if rng.random() < 0.2 else w)
        elif r < 0.6:
            parts.append(rng.choice(UNI))
        elif r < 0.75:
            parts.append(rng.choice(PUNCT))
        elif r < 0.85:
            parts.append(str(rng.randint(0, 100000)))
        else:
            parts.append("".join(chr(rng.choice([rng.randint(0x20, 0x7e), rng.randint(0xa0, 0x2ff),
                                                 rng.randint(0x370, 0x4ff), rng.randint(0x4e00, 0x4e80),
                                                 rng.randint(0x1f300, 0x1f6ff)]))
                                 for _ in range(rng.randint(1, 6))))
    seps = [" ", "", "  ", "\t", " \n "]
    out = ""
    for p in parts:
        out += p + rng.choice(seps)
    return out.replace("Σ", "")


def train_bpe(corpus, nmerges):
    """A small BPE trainer (most frequent pair first) giving the test vocabulary."""
    be = bytes_to_unicode()
    counts = {}
    for text in corpus:
        text = re.sub(r"\s+", " ", text).strip().lower()
        for tok in PAT.findall(text):
            if tok in ("<|startoftext|>", "<|endoftext|>"):
                continue
            tok = "".join(be[b] for b in tok.encode("utf-8"))
            w = tuple(tok[:-1]) + (tok[-1] + "</w>",)
            counts[w] = counts.get(w, 0) + 1
    merges = []
    for _ in range(nmerges):
        pc = {}
        for w, c in counts.items():
            for p in zip(w, w[1:]):
                pc[p] = pc.get(p, 0) + c
        if not pc:
            break
        best = max(sorted(pc), key=lambda p: pc[p])
        merges.append(best)
        a, b = best
        nc = {}
        for w, c in counts.items():
            nw, i = [], 0
            while i < len(w):
                if i < len(w) - 1 and w[i] == a and w[i + 1] == b:
                    nw.append(a + b)
                    i += 2
                else:
                    nw.append(w[i])
                    i += 1
            nc[tuple(nw)] = nc.get(tuple(nw), 0) + c
        counts = nc
    vocab_list = list(be.values())
    vocab_list += [v + "</w>" for v in vocab_list]
    for a, b in merges:
        vocab_list.append(a + b)
    vocab_list += ["<|startoftext|>", "<|endoftext|>"]
    vocab = {}
    for t in vocab_list:
        if t not in vocab:
            vocab[t] = len(vocab)
    return vocab, merges


# ---------------------------------------------------------------- models
def rnd(*shape, scale=0.08):
    return torch.randn(*shape) * scale


def encoder_layer_tensors(prefix, names, D, F):
    t = {}
    t[prefix + names["ln1"] + ".weight"] = 1 + rnd(D, scale=0.1)
    t[prefix + names["ln1"] + ".bias"] = rnd(D, scale=0.05)
    t[prefix + names["ln2"] + ".weight"] = 1 + rnd(D, scale=0.1)
    t[prefix + names["ln2"] + ".bias"] = rnd(D, scale=0.05)
    for k in ("q", "k", "v", "o"):
        t[prefix + names[k] + ".weight"] = rnd(D, D, scale=1 / math.sqrt(D))
        t[prefix + names[k] + ".bias"] = rnd(D, scale=0.02)
    t[prefix + names["fc1"] + ".weight"] = rnd(F, D, scale=1 / math.sqrt(D))
    t[prefix + names["fc1"] + ".bias"] = rnd(F, scale=0.02)
    t[prefix + names["fc2"] + ".weight"] = rnd(D, F, scale=1 / math.sqrt(F))
    t[prefix + names["fc2"] + ".bias"] = rnd(D, scale=0.02)
    return t


CLIP_NAMES = dict(ln1="layer_norm1", ln2="layer_norm2", q="self_attn.q_proj", k="self_attn.k_proj",
                  v="self_attn.v_proj", o="self_attn.out_proj", fc1="mlp.fc1", fc2="mlp.fc2")
VIT_NAMES = dict(ln1="layernorm_before", ln2="layernorm_after", q="attention.attention.query",
                 k="attention.attention.key", v="attention.attention.value", o="attention.output.dense",
                 fc1="intermediate.dense", fc2="output.dense")


def act_fn(name):
    if name == "quick_gelu":
        return lambda x: x * torch.sigmoid(1.702 * x)
    return lambda x: 0.5 * x * (1 + torch.erf(x / math.sqrt(2)))


def ref_encoder(x, W, prefix, names, layers, heads, eps, act, causal):
    """Pre-norm transformer, written out with plain tensor ops. x: [B, T, D]."""
    B, T, D = x.shape
    dh = D // heads
    f = act_fn(act)
    lin = lambda h, n: h @ W[prefix % i + n + ".weight"].T + W[prefix % i + n + ".bias"]
    for i in range(layers):
        ln = lambda h, n: torch.nn.functional.layer_norm(h, (D,), W[prefix % i + n + ".weight"], W[prefix % i + n + ".bias"], eps)
        h = ln(x, names["ln1"])
        q = lin(h, names["q"]).view(B, T, heads, dh).transpose(1, 2)
        k = lin(h, names["k"]).view(B, T, heads, dh).transpose(1, 2)
        v = lin(h, names["v"]).view(B, T, heads, dh).transpose(1, 2)
        s = (q @ k.transpose(-1, -2)) / math.sqrt(dh)
        if causal:
            s = s + torch.triu(torch.full((T, T), float("-inf")), diagonal=1)
        a = (torch.softmax(s, dim=-1) @ v).transpose(1, 2).reshape(B, T, D)
        x = x + lin(a, names["o"])
        h = ln(x, names["ln2"])
        x = x + lin(f(lin(h, names["fc1"])), names["fc2"])
    return x


def make_clip(vc, tc, proj, with_text, vocab_size):
    W = {}
    D = vc["hidden_size"]
    P = vc["patch_size"]
    T = (vc["image_size"] // P) ** 2 + 1
    W["vision_model.embeddings.patch_embedding.weight"] = rnd(D, 3, P, P, scale=0.05)
    W["vision_model.embeddings.class_embedding"] = rnd(D, scale=0.5)
    W["vision_model.embeddings.position_embedding.weight"] = rnd(T, D, scale=0.1)
    W["vision_model.embeddings.position_ids"] = torch.arange(T).unsqueeze(0)
    for n in ("pre_layrnorm", "post_layernorm"):
        W["vision_model.%s.weight" % n] = 1 + rnd(D, scale=0.1)
        W["vision_model.%s.bias" % n] = rnd(D, scale=0.05)
    for i in range(vc["num_hidden_layers"]):
        W.update(encoder_layer_tensors("vision_model.encoder.layers.%d." % i, CLIP_NAMES, D, vc["intermediate_size"]))
    W["visual_projection.weight"] = rnd(proj, D, scale=1 / math.sqrt(D))
    W["logit_scale"] = torch.tensor(math.log(1 / 0.07))
    if with_text:
        Dt = tc["hidden_size"]
        W["text_model.embeddings.token_embedding.weight"] = rnd(vocab_size, Dt, scale=0.3)
        W["text_model.embeddings.position_embedding.weight"] = rnd(CTX, Dt, scale=0.1)
        W["text_model.final_layer_norm.weight"] = 1 + rnd(Dt, scale=0.1)
        W["text_model.final_layer_norm.bias"] = rnd(Dt, scale=0.05)
        for i in range(tc["num_hidden_layers"]):
            W.update(encoder_layer_tensors("text_model.encoder.layers.%d." % i, CLIP_NAMES, Dt, tc["intermediate_size"]))
        W["text_projection.weight"] = rnd(proj, Dt, scale=1 / math.sqrt(Dt))
    return W


def clip_image_ref(W, vc, pixels):
    D, P = vc["hidden_size"], vc["patch_size"]
    x = torch.nn.functional.conv2d(pixels, W["vision_model.embeddings.patch_embedding.weight"], stride=P)
    x = x.flatten(2).transpose(1, 2)
    cls = W["vision_model.embeddings.class_embedding"].expand(x.shape[0], 1, D)
    x = torch.cat([cls, x], 1) + W["vision_model.embeddings.position_embedding.weight"]
    x = torch.nn.functional.layer_norm(x, (D,), W["vision_model.pre_layrnorm.weight"], W["vision_model.pre_layrnorm.bias"], vc["layer_norm_eps"])
    x = ref_encoder(x, W, "vision_model.encoder.layers.%d.", CLIP_NAMES, vc["num_hidden_layers"],
                    vc["num_attention_heads"], vc["layer_norm_eps"], vc["hidden_act"], False)
    pooled = torch.nn.functional.layer_norm(x[:, 0], (D,), W["vision_model.post_layernorm.weight"], W["vision_model.post_layernorm.bias"], vc["layer_norm_eps"])
    e = pooled @ W["visual_projection.weight"].T
    return e / e.norm(dim=-1, keepdim=True)


def clip_text_ref(W, tc, ids):
    D = tc["hidden_size"]
    x = W["text_model.embeddings.token_embedding.weight"][ids] + W["text_model.embeddings.position_embedding.weight"]
    x = ref_encoder(x, W, "text_model.encoder.layers.%d.", CLIP_NAMES, tc["num_hidden_layers"],
                    tc["num_attention_heads"], tc["layer_norm_eps"], tc["hidden_act"], True)
    x = torch.nn.functional.layer_norm(x, (D,), W["text_model.final_layer_norm.weight"], W["text_model.final_layer_norm.bias"], tc["layer_norm_eps"])
    pooled = x[torch.arange(ids.shape[0]), ids.argmax(dim=-1)]
    e = pooled @ W["text_projection.weight"].T
    return e / e.norm(dim=-1, keepdim=True)


def write_clip_dir(d, W, vc, tc, proj, vocab, merges, dtype="F32"):
    os.makedirs(d, exist_ok=True)
    write_safetensors(os.path.join(d, "model.safetensors"), W, dtype)
    cfg = {"architectures": ["CLIPModel"], "projection_dim": proj, "vision_config": vc, "model_type": "clip"}
    if tc:
        cfg["text_config"] = tc
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=1)
    if vocab:
        with open(os.path.join(d, "vocab.json"), "w", encoding="utf-8") as f:
            json.dump(vocab, f, ensure_ascii=False)
        with open(os.path.join(d, "merges.txt"), "w", encoding="utf-8") as f:
            f.write("#version: 0.2\n")
            for a, b in merges:
                f.write(a + " " + b + "\n")


def make_vit(out):
    D, F, H, LYR, S, P, C = 64, 128, 4, 2, 48, 16, 5
    T = (S // P) ** 2 + 1
    W = {"vit.embeddings.cls_token": rnd(1, 1, D, scale=0.5),
         "vit.embeddings.position_embeddings": rnd(1, T, D, scale=0.1),
         "vit.embeddings.patch_embeddings.projection.weight": rnd(D, 3, P, P, scale=0.03),
         "vit.embeddings.patch_embeddings.projection.bias": rnd(D, scale=0.05),
         "vit.layernorm.weight": 1 + rnd(D, scale=0.1), "vit.layernorm.bias": rnd(D, scale=0.05),
         "classifier.weight": rnd(C, D, scale=0.3), "classifier.bias": rnd(C, scale=0.1)}
    for i in range(LYR):
        W.update(encoder_layer_tensors("vit.encoder.layer.%d." % i, VIT_NAMES, D, F))
    labels = ["saddle", "cowboy hat", "boots", "belt buckle", "lasso"]
    cfg = {"architectures": ["ViTForImageClassification"], "hidden_size": D, "intermediate_size": F,
           "num_attention_heads": H, "num_hidden_layers": LYR, "image_size": S, "patch_size": P,
           "hidden_act": "gelu", "layer_norm_eps": 1e-12, "num_channels": 3,
           "id2label": {str(i): l for i, l in enumerate(labels)}, "label2id": {l: i for i, l in enumerate(labels)}}
    d = os.path.join(out, "vit_tiny")
    os.makedirs(d, exist_ok=True)
    write_safetensors(os.path.join(d, "model.safetensors"), W)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=1)
    px = torch.randn(3, 3, S, S)
    x = torch.nn.functional.conv2d(px, W["vit.embeddings.patch_embeddings.projection.weight"],
                                   W["vit.embeddings.patch_embeddings.projection.bias"], stride=P).flatten(2).transpose(1, 2)
    x = torch.cat([W["vit.embeddings.cls_token"].expand(3, 1, D), x], 1) + W["vit.embeddings.position_embeddings"]
    x = ref_encoder(x, W, "vit.encoder.layer.%d.", VIT_NAMES, LYR, H, 1e-12, "gelu", False)
    x = torch.nn.functional.layer_norm(x[:, 0], (D,), W["vit.layernorm.weight"], W["vit.layernorm.bias"], 1e-12)
    logits = x @ W["classifier.weight"].T + W["classifier.bias"]
    save(os.path.join(out, "vit_pixels.f32"), px)
    save(os.path.join(out, "vit_logits.f32"), logits)


def main():
    out = sys.argv[1]
    big = "--big" in sys.argv
    os.makedirs(out, exist_ok=True)
    trng = random.Random(99)
    corpus = [random_text(trng) for _ in range(300)]
    vocab, merges = train_bpe(corpus, 300)
    tok = RefTokenizer(vocab, merges)
    # tokenizer cases
    crng = random.Random(7)
    cases = [random_text(crng) for _ in range(0 if "--no-tok-cases" in sys.argv else 3000)]
    cases += ["", "   ", "a", "A photo of a cowboy hat.", "it's what they'll've done", "x" * 3000,
              " ".join(["saddle"] * 200), "<|endoftext|><|startoftext|>", "İİ ǅ ﬁ", "\u0300\u0301 e\u0301"]
    with open(os.path.join(out, "tok_cases.txt"), "w", encoding="utf-8") as f:
        for c in cases:
            f.write(json.dumps(c, ensure_ascii=True) + "\n")
    save(os.path.join(out, "tok_ids.i32"), torch.tensor([tok.encode(c) for c in cases]), "i")
    # tiny CLIP
    vc = {"hidden_size": 64, "intermediate_size": 136, "num_attention_heads": 4, "num_hidden_layers": 2,
          "image_size": 32, "patch_size": 8, "hidden_act": "quick_gelu", "layer_norm_eps": 1e-5}
    tc = {"hidden_size": 40, "intermediate_size": 88, "num_attention_heads": 4, "num_hidden_layers": 2,
          "vocab_size": len(vocab), "max_position_embeddings": CTX, "hidden_act": "quick_gelu",
          "layer_norm_eps": 1e-5, "eos_token_id": vocab["<|endoftext|>"]}
    proj = 24
    W = make_clip(vc, tc, proj, True, len(vocab))
    write_clip_dir(os.path.join(out, "clip_tiny"), W, vc, tc, proj, vocab, merges)
    texts = ["a photo of a cowboy hat", "Rodeo!", "brown leather saddle with silver conchos, size 16",
             "", "🤠 boots", " ".join(["rope"] * 100)]
    with open(os.path.join(out, "clip_texts.txt"), "w", encoding="utf-8") as f:
        for t in texts:
            f.write(json.dumps(t) + "\n")
    ids = torch.tensor([tok.encode(t) for t in texts])
    pixels = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        save(os.path.join(out, "clip_pixels.f32"), pixels)
        save(os.path.join(out, "clip_image_ref.f32"), clip_image_ref(W, vc, pixels))
        save(os.path.join(out, "clip_text_ref.f32"), clip_text_ref(W, tc, ids))
        # fp16 file: the reference uses the fp16-rounded weights
        W16 = {k: (v.to(torch.float16).to(torch.float32) if k != "logit_scale" else v) for k, v in W.items()}
        write_clip_dir(os.path.join(out, "clip_tiny_fp16"), W, vc, tc, proj, vocab, merges, "F16")
        save(os.path.join(out, "clip_image_ref16.f32"), clip_image_ref(W16, vc, pixels))
        make_vit(out)
        if big:
            vb = {"hidden_size": 768, "intermediate_size": 3072, "num_attention_heads": 12, "num_hidden_layers": 12,
                  "image_size": 224, "patch_size": 32, "hidden_act": "quick_gelu", "layer_norm_eps": 1e-5}
            Wb = make_clip(vb, None, 512, False, 0)
            write_clip_dir(os.path.join(out, "clip_b32"), Wb, vb, None, 512, None, None)
            pb = torch.randn(2, 3, 224, 224)
            save(os.path.join(out, "b32_pixels.f32"), pb)
            save(os.path.join(out, "b32_ref.f32"), clip_image_ref(Wb, vb, pb))


main()
