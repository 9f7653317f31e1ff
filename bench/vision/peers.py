#!/usr/bin/python3
"""peers.py FILE ITERS [INTAKE_BINARY] — the same job (photo -> upright 224x224 CLIP-normalised CHW float32)
done by the Python peers, interleaved per iteration; prints one JSON line per sample.
  pil        : Image.open + exif_transpose + convert RGB + resize (bicubic) + crop
  pil_draft  : the same with im.draft("RGB", (224, 224)) (libjpeg DCT scaling)
  cv2        : cv2.imread (full decode, applies EXIF orientation) + INTER_AREA resize
  cv2_reduced: cv2.imread(IMREAD_REDUCED_COLOR_8) + INTER_AREA resize
  rodeo      : the C intake (bench_intake --serve, driven over a pipe so that every
               iteration runs all methods back to back; it also hashes the file, parses
               EXIF, computes the pHash and a thumbnail)"""
import json, subprocess, sys, time
import numpy as np
import cv2
from PIL import Image, ImageOps

cv2.setNumThreads(1)
MEAN = np.array([0.48145466, 0.4578275, 0.40821073], dtype=np.float32)
STD = np.array([0.26862954, 0.26130258, 0.27577711], dtype=np.float32)
S = 224


def dims(w, h):
    return (S, max(S, int(h * S / w + 0.5))) if w <= h else (max(S, int(w * S / h + 0.5)), S)


def finish(a):   # HxWx3 uint8 RGB, already resized -> centre crop + normalise CHW
    h, w, _ = a.shape
    t, l = (h - S) // 2, (w - S) // 2
    a = a[t:t + S, l:l + S].astype(np.float32) / 255.0
    return np.ascontiguousarray(((a - MEAN) / STD).transpose(2, 0, 1))


def pil(path, draft=False):
    im = Image.open(path)
    if draft:
        im.draft("RGB", (S, S))
    im = ImageOps.exif_transpose(im).convert("RGB")
    im = im.resize(dims(*im.size), Image.BICUBIC)
    return finish(np.asarray(im))


def ocv(path, flag):
    a = cv2.imread(path, flag)
    a = cv2.cvtColor(a, cv2.COLOR_BGR2RGB)
    h, w, _ = a.shape
    return finish(cv2.resize(a, dims(w, h), interpolation=cv2.INTER_AREA))


METHODS = {
    "pil": lambda p: pil(p),
    "pil_draft": lambda p: pil(p, True),
    "cv2": lambda p: ocv(p, cv2.IMREAD_COLOR),
    "cv2_reduced": lambda p: ocv(p, cv2.IMREAD_REDUCED_COLOR_8),
}

path, iters = sys.argv[1], int(sys.argv[2])
if len(sys.argv) > 3:
    proc = subprocess.Popen([sys.argv[3], "--serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)

    def rodeo(p):
        proc.stdin.write(p + "\n")
        proc.stdin.flush()
        r = json.loads(proc.stdout.readline())
        assert r["rc"] == 0
        return r
    METHODS = {"rodeo": rodeo, **METHODS}
for fn in METHODS.values():
    fn(path)                                      # warm-up (imports, page cache)
for i in range(iters):
    for name, fn in METHODS.items():
        t0, c0 = time.perf_counter(), time.thread_time()
        out = fn(path)
        us = int((time.perf_counter() - t0) * 1e6)
        cpu = int((time.thread_time() - c0) * 1e6)
        if name == "rodeo":   # the intake's own clocks, excluding the pipe round trip
            us, cpu = out["us"], out["cpu_us"]
        else:
            assert out.shape == (3, S, S)
        print(json.dumps({"method": name, "iter": i, "us": us, "cpu_us": cpu}))
