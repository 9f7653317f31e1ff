#!/usr/bin/python3
"""recog_make_benchmark.py — the generated product-recognition benchmark.

Renders N synthetic products (content/catalog/render.py: category silhouette, colours,
pattern, trim, all from a seed) as clean catalog images, and Q query "photos" of each made
the way the issue asks: scale, rotation up to 15 degrees, crop, brightness/contrast change,
background clutter, partial occlusion, and JPEG re-compression at quality 50. Every query
gets crop + scale + rotation + brightness/contrast + q50; clutter and occlusion each hit
about half of them (seeded, so a run is reproducible).

usage: recog_make_benchmark.py OUTDIR [--products N] [--queries Q] [--seed S]
writes OUTDIR/catalog/P0000.jpg ..., OUTDIR/queries/P0000_0.jpg ...,
       OUTDIR/products.csv (id,category,file) and OUTDIR/queries.csv (file,product_id,category,tags)
"""
import argparse
import io
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "content", "catalog"))
import render  # noqa: E402

from PIL import Image, ImageDraw, ImageEnhance  # noqa: E402


def clutter(rng, w, h):
    """A busy background: a random base colour with random shapes and lines."""
    bg = Image.new("RGB", (w, h), tuple(rng.randrange(256) for _ in range(3)))
    d = ImageDraw.Draw(bg)
    for _ in range(rng.randrange(12, 30)):
        c = tuple(rng.randrange(256) for _ in range(3))
        x0, y0 = rng.uniform(-0.2, 1) * w, rng.uniform(-0.2, 1) * h
        x1, y1 = x0 + rng.uniform(0.05, 0.4) * w, y0 + rng.uniform(0.05, 0.4) * h
        kind = rng.randrange(3)
        if kind == 0:
            d.rectangle([x0, y0, x1, y1], fill=c)
        elif kind == 1:
            d.ellipse([x0, y0, x1, y1], fill=c)
        else:
            d.line([(x0, y0), (x1, y1)], fill=c, width=rng.randrange(2, 8))
    return bg


def make_query(rng, img, mask, spec):
    S = img.size[0]
    m = 1.3
    C = int(S * m)
    tags = []
    if rng.random() < 0.5:
        canvas = clutter(rng, C, C)
        tags.append("clutter")
    else:
        # a plain surface, not necessarily the catalog's one
        g = rng.randrange(170, 256)
        canvas = Image.new("RGB", (C, C), (g, g - rng.randrange(0, 20), g - rng.randrange(0, 30)))
    angle = rng.uniform(-15, 15)
    obj = img.convert("RGBA")
    obj.putalpha(mask)
    obj = obj.rotate(angle, resample=Image.BICUBIC, expand=True)
    ox = (C - obj.size[0]) // 2 + int(rng.uniform(-0.06, 0.06) * S)
    oy = (C - obj.size[1]) // 2 + int(rng.uniform(-0.06, 0.06) * S)
    canvas.paste(obj, (ox, oy), obj)
    # partial occlusion: a foreign object over part of the product
    if rng.random() < 0.5:
        tags.append("occlusion")
        d = ImageDraw.Draw(canvas)
        area = rng.uniform(0.08, 0.2) * S * S * 0.6
        ar = rng.uniform(0.5, 2.0)
        w = (area * ar) ** 0.5
        h = area / w
        cx = C / 2 + rng.uniform(-0.3, 0.3) * S
        cy = C / 2 + rng.uniform(-0.3, 0.3) * S
        c = tuple(rng.randrange(256) for _ in range(3))
        box = [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]
        (d.rectangle if rng.random() < 0.5 else d.ellipse)(box, fill=c)
    # crop: keep 78-95% of each side around a jittered centre of the product
    fw, fh = rng.uniform(0.6, 0.73), rng.uniform(0.6, 0.73)   # of the 1.3x canvas
    cw, ch = fw * C, fh * C
    cx = C / 2 + rng.uniform(-0.05, 0.05) * C
    cy = C / 2 + rng.uniform(-0.05, 0.05) * C
    canvas = canvas.crop((int(cx - cw / 2), int(cy - ch / 2), int(cx + cw / 2), int(cy + ch / 2)))
    # scale: the photo arrives at a random size
    side = rng.randrange(160, 480)
    k = side / max(canvas.size)
    canvas = canvas.resize((max(1, int(canvas.size[0] * k)), max(1, int(canvas.size[1] * k))),
                           Image.BICUBIC if k > 1 else Image.LANCZOS)
    canvas = ImageEnhance.Brightness(canvas).enhance(rng.uniform(0.7, 1.3))
    canvas = ImageEnhance.Contrast(canvas).enhance(rng.uniform(0.7, 1.3))
    return canvas, "+".join(tags) or "plain"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("outdir")
    ap.add_argument("--products", type=int, default=500)
    ap.add_argument("--queries", type=int, default=5)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--size", type=int, default=256)
    a = ap.parse_args()
    os.makedirs(os.path.join(a.outdir, "catalog"), exist_ok=True)
    os.makedirs(os.path.join(a.outdir, "queries"), exist_ok=True)
    prod = open(os.path.join(a.outdir, "products.csv"), "w")
    qry = open(os.path.join(a.outdir, "queries.csv"), "w")
    prod.write("id,category,file\n")
    qry.write("file,product_id,category,tags\n")
    for i in range(a.products):
        spec = render.product_spec(a.seed * 1000003 + i, render.CATEGORIES[i % len(render.CATEGORIES)])
        img, mask = render.render_product(spec, a.size)
        name = "P%04d.jpg" % i
        img.save(os.path.join(a.outdir, "catalog", name), quality=92)
        prod.write("%d,%s,catalog/%s\n" % (i, spec["category"], name))
        rng = random.Random(a.seed * 7777 + i)
        for q in range(a.queries):
            qimg, tags = make_query(rng, img, mask, spec)
            buf = io.BytesIO()
            qimg.save(buf, format="JPEG", quality=50)   # the re-compression transform
            qname = "P%04d_%d.jpg" % (i, q)
            with open(os.path.join(a.outdir, "queries", qname), "wb") as f:
                f.write(buf.getvalue())
            qry.write("queries/%s,%d,%s,%s\n" % (qname, i, spec["category"], tags))
    prod.close()
    qry.close()


if __name__ == "__main__":
    main()
