#!/usr/bin/python3
"""gen_images.py OUTDIR — benchmark photos: photo-like content (smooth gradients, shapes,
mild sensor noise, fine texture) with phone-style EXIF (Make/Model, orientation 6 = the
usual portrait-held phone photo, GPS). 12 MP (4000x3000) and 1 MP (1152x864) JPEGs, q=90,
4:2:0 baseline, the way phones write them."""
import os, sys
import numpy as np
from PIL import Image, ImageDraw, ImageFilter, TiffImagePlugin

out = sys.argv[1]
os.makedirs(out, exist_ok=True)


def photo(w, h, seed):
    r = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.stack([128 + 90 * np.sin(x / w * 3.1 + 0.5), 110 + 80 * np.cos(y / h * 2.3),
                     100 + 60 * np.sin((x + y) / (w + h) * 5.0)], axis=2)
    im = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8), "RGB")
    d = ImageDraw.Draw(im)
    for i in range(60):
        x0, y0 = int(r.integers(0, w)), int(r.integers(0, h))
        s = int(r.integers(w // 40, w // 6))
        col = tuple(int(c) for c in r.integers(0, 256, 3))
        if i % 3 == 0:
            d.ellipse([x0, y0, x0 + s, y0 + s // 2], fill=col)
        elif i % 3 == 1:
            d.rectangle([x0, y0, x0 + s, y0 + s // 2], fill=col)
        else:
            d.pieslice([x0, y0, x0 + s, y0 + s], 30, 300, fill=col)
    im = im.filter(ImageFilter.GaussianBlur(2))
    a = np.asarray(im).astype(np.float32)
    a += r.normal(0, 7, size=a.shape)                      # sensor noise
    a += 6 * np.sin(x / 3.0)[..., None] * np.cos(y / 5.0)[..., None]   # fine texture
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8), "RGB")


def exif():
    R = TiffImagePlugin.IFDRational
    ex = Image.Exif()
    ex[0x010F] = "Apple"
    ex[0x0110] = "iPhone 13"
    ex[0x0131] = "17.1"
    ex[0x0112] = 6
    ex[0x8769] = {0x9003: "2024:06:01 10:00:00", 0xA434: "iPhone 13 back camera 5.1mm f/1.6"}
    ex[0x8825] = {1: "N", 2: (R(36, 1), R(7, 1), R(3000, 100)), 3: "W", 4: (R(97, 1), R(3, 1), R(0, 1))}
    return ex.tobytes()


for name, (w, h) in {"photo_12mp.jpg": (4000, 3000), "photo_1mp.jpg": (1152, 864)}.items():
    photo(w, h, seed=w).save(os.path.join(out, name), quality=90, exif=exif())
    print(name, os.path.getsize(os.path.join(out, name)))
