#!/usr/bin/python3
"""make_photo.py OUT.jpg [W H] — a 12 MP "phone photo" of a rendered product: the product
scaled up on a textured backdrop with sensor-like noise and camera EXIF, JPEG q90."""
import random
import sys
import os
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "content", "catalog"))
import render
from PIL import Image, ImageDraw, ImageFilter
import numpy as np

out = sys.argv[1]
W, H = (int(sys.argv[2]), int(sys.argv[3])) if len(sys.argv) > 3 else (4000, 3000)
spec = render.product_spec(7 * 1000003 + 1, "hats")
img, mask = render.render_product(spec, 1024)
rng = np.random.default_rng(3)
bg = (rng.normal(150, 25, (H // 8, W // 8, 3))).clip(0, 255).astype(np.uint8)
bg = Image.fromarray(bg).resize((W, H), Image.BICUBIC).filter(ImageFilter.GaussianBlur(6))
obj = img.resize((2400, 2400), Image.BICUBIC)
bg.paste(obj, ((W - 2400) // 2, (H - 2400) // 2), mask.resize((2400, 2400)))
arr = np.asarray(bg).astype(np.int16) + rng.integers(-6, 7, (H, W, 3))
photo = Image.fromarray(arr.clip(0, 255).astype(np.uint8))
exif = Image.Exif()
exif[271] = "Apple"
exif[272] = "iPhone 13"
photo.save(out, quality=90, exif=exif.tobytes())
print(out, W, H, os.path.getsize(out))
