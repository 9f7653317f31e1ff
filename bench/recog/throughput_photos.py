#!/usr/bin/python3
"""throughput_photos.py OUTDIR COUNT — COUNT distinct 12 MP "phone photos" (4000x3000, q90,
camera EXIF, ~2 MB) for the throughput benchmark: each a different rendered product on its
own textured backdrop with sensor-like noise, so neither the byte-identical cache nor the
near-duplicate (pHash) cache can answer any of them. Existing files are kept (re-runs are
free)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "content", "catalog"))
import numpy as np
import render
from PIL import Image, ImageFilter

out, count = sys.argv[1], int(sys.argv[2])
W, H = 4000, 3000
CATS = ["hats", "boots", "saddles", "belts", "vests", "buckles", "jeans", "jackets"]
os.makedirs(out, exist_ok=True)
for i in range(count):
    path = os.path.join(out, "photo-%04d.jpg" % i)
    if os.path.exists(path):
        continue
    cat = CATS[i % len(CATS)]
    try:
        spec = render.product_spec(7 * 1000003 + 101 * i + 1, cat)
    except Exception:
        spec = render.product_spec(7 * 1000003 + 101 * i + 1, "hats")
    img, mask = render.render_product(spec, 1024)
    rng = np.random.default_rng(1000 + i)
    bg = rng.normal(rng.uniform(60, 200), 25, (H // 8, W // 8, 3)).clip(0, 255).astype(np.uint8)
    bg = Image.fromarray(bg).resize((W, H), Image.BICUBIC).filter(ImageFilter.GaussianBlur(6))
    side = int(rng.integers(1600, 2700))
    obj = img.resize((side, side), Image.BICUBIC)
    x, y = int(rng.integers(0, W - side)), int(rng.integers(0, H - side))
    bg.paste(obj, (x, y), mask.resize((side, side)))
    arr = np.asarray(bg).astype(np.int16) + rng.integers(-6, 7, (H, W, 3), dtype=np.int16)
    photo = Image.fromarray(arr.clip(0, 255).astype(np.uint8))
    exif = Image.Exif()
    exif[271] = "Apple"
    exif[272] = "iPhone 13"
    photo.save(path + ".tmp", format="JPEG", quality=90, exif=exif.tobytes())
    os.replace(path + ".tmp", path)
print(out, count)
