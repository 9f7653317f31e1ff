#!/usr/bin/python3
"""original_pipeline.py PHOTO [ITER] — the original service's recognition path on one photo,
re-created with the same libraries (contract §5; its category/brand/match steps were mocks
and cost nothing): validate (open + verify + reopen for size), EXIF summary, pHash of the
original (grayscale, 32x32 Lanczos, 2-D DCT, 8x8 > median; numpy in place of imagehash,
which is not packaged here), then preprocess (RGB, EXIF orientation, thumbnail 1024 Lanczos,
sharpness x1.2, save q95 optimize). Prints per-stage medians in ms."""
import io
import statistics
import sys
import time

import numpy as np
from PIL import Image, ImageEnhance


def dct2(a):
    n = a.shape[0]
    k = np.arange(n)
    m = np.cos(np.pi * (2 * k[None, :] + 1) * k[:, None] / (2 * n))
    return m @ a @ m.T


def run(path):
    t = [time.perf_counter()]
    im = Image.open(path)
    im.verify()
    im = Image.open(path)
    w, h = im.size
    assert w >= 200 and h >= 200 and im.format in ("JPEG", "PNG", "WEBP")
    t.append(time.perf_counter())
    ex = im._getexif() or {}
    summary = {k: str(v) for k, v in ex.items()}
    t.append(time.perf_counter())
    g = im.convert("L").resize((32, 32), Image.LANCZOS)
    d = dct2(np.asarray(g, dtype=np.float64))[:8, :8]
    bits = (d > np.median(d)).flatten()
    t.append(time.perf_counter())
    img = Image.open(path)
    if img.mode != "RGB":
        img = img.convert("RGB")
    o = (img._getexif() or {}).get(274, 1)
    if o == 3:
        img = img.rotate(180, expand=True)
    elif o == 6:
        img = img.rotate(270, expand=True)
    elif o == 8:
        img = img.rotate(90, expand=True)
    img.thumbnail((1024, 1024), Image.LANCZOS)
    img = ImageEnhance.Sharpness(img).enhance(1.2)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=95, optimize=True)
    t.append(time.perf_counter())
    return [(t[i + 1] - t[i]) * 1000 for i in range(len(t) - 1)] + [(t[-1] - t[0]) * 1000], bits, summary


if __name__ == "__main__":
    path = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    runs = [run(path)[0] for _ in range(n)]
    names = ["validate", "exif", "phash", "preprocess", "total"]
    for i, name in enumerate(names):
        print("  %-12s p50 %8.2f ms" % (name, statistics.median(r[i] for r in runs)))
