#!/usr/bin/python3
"""render.py — deterministic product "photos" for the starter catalog and the recognition
benchmark.

Rodeo ships no product photos (none we could license), so each product gets a rendered
image: a category silhouette (boot, hat, saddle, belt, buckle, vest, jeans, jacket) whose
proportions, colours, surface pattern and trim come from a seed. Same seed, same pixels
(PIL + random.Random only; no global state), so the images are rebuilt at import time
instead of being committed.

Library use:   render_product(spec) -> (RGB image, L mask)    spec = product_spec(seed, category)
Command line:  render.py CATALOG.csv OUTDIR [--size N]
               renders every row's `image` path (relative to OUTDIR) from its sku + category.
"""
import colorsys
import csv
import hashlib
import math
import os
import random
import sys

from PIL import Image, ImageDraw, ImageFilter

CATEGORIES = ["boots", "hats", "saddles", "belts", "buckles", "vests", "jeans", "jackets"]
PATTERNS = ["solid", "hstripes", "vstripes", "diagonal", "checks", "dots", "grain",
            "scales", "zigzag", "gradient", "crosshatch", "diamonds"]


def _hsv(h, s, v):
    r, g, b = colorsys.hsv_to_rgb(h % 1.0, max(0, min(1, s)), max(0, min(1, v)))
    return (int(r * 255), int(g * 255), int(b * 255))


def product_spec(seed, category=None):
    """All the random choices for one product, drawn from a private RNG keyed by seed."""
    rng = random.Random(seed)
    cat = category or rng.choice(CATEGORIES)
    h = rng.random()
    spec = {
        "seed": seed,
        "category": cat,
        "primary": _hsv(h, rng.uniform(0.35, 1.0), rng.uniform(0.25, 0.95)),
        "secondary": _hsv(h + rng.uniform(0.15, 0.85), rng.uniform(0.2, 1.0), rng.uniform(0.2, 1.0)),
        "accent": _hsv(rng.random(), rng.uniform(0.5, 1.0), rng.uniform(0.6, 1.0)),
        "pattern": rng.choice(PATTERNS),
        "pattern_scale": rng.uniform(5, 18),
        "pattern_angle": rng.uniform(0, math.pi),
        "shape": [rng.random() for _ in range(8)],
        "trim": rng.randrange(4),
        "background": _hsv(rng.random(), rng.uniform(0.0, 0.12), rng.uniform(0.9, 1.0)),
    }
    return spec


def _silhouette(draw, cat, p, S):
    """Draws the category outline into a mask (value 255) and returns trim polylines."""
    u = S / 256.0
    P = lambda pts: [(x * u, y * u) for x, y in pts]
    trims = []
    if cat == "boots":
        top = 30 + 30 * p[0]; shaft_w = 60 + 30 * p[1]; x0 = 70 + 20 * p[2]
        toe = 215 + 25 * p[3]; heel_h = 12 + 14 * p[4]
        sole_y = 205 + 10 * p[5]
        pts = [(x0, top), (x0 + shaft_w, top), (x0 + shaft_w + 6, 150),
               (toe - 40, 165 + 10 * p[6]), (toe, sole_y - 12 * p[7]), (toe, sole_y),
               (x0 + 20, sole_y), (x0 + 20, sole_y + heel_h), (x0 - 8, sole_y + heel_h),
               (x0 - 10, 150)]
        draw.polygon(P(pts), fill=255)
        trims.append(P([(x0 + 5, top + 25), (x0 + shaft_w - 5, top + 25)]))
        trims.append(P([(x0 + 10, top + 50), (x0 + shaft_w / 2, top + 80), (x0 + shaft_w - 10, top + 50)]))
    elif cat == "hats":
        brim_w = 200 + 40 * p[0]; brim_h = 30 + 25 * p[1]; cy = 165 + 15 * p[2]
        crown_w = 90 + 40 * p[3]; crown_h = 70 + 40 * p[4]
        draw.ellipse(P([(128 - brim_w / 2, cy - brim_h / 2), (128 + brim_w / 2, cy + brim_h / 2)]), fill=255)
        dent = 10 + 20 * p[5]
        crown = [(128 - crown_w / 2, cy), (128 - crown_w / 2 + 8, cy - crown_h),
                 (128, cy - crown_h + dent), (128 + crown_w / 2 - 8, cy - crown_h), (128 + crown_w / 2, cy)]
        draw.polygon(P(crown), fill=255)
        trims.append(P([(128 - crown_w / 2 + 2, cy - 14), (128 + crown_w / 2 - 2, cy - 14)]))
    elif cat == "saddles":
        horn_x = 70 + 20 * p[0]; cantle_x = 180 + 25 * p[1]; seat_y = 95 + 20 * p[2]
        skirt_b = 190 + 25 * p[3]
        pts = [(horn_x - 10, 45 + 15 * p[4]), (horn_x + 10, 45 + 15 * p[4]), (horn_x + 14, seat_y - 10),
               ((horn_x + cantle_x) / 2, seat_y + 10), (cantle_x, seat_y - 30 - 20 * p[5]),
               (cantle_x + 15, seat_y - 25), (cantle_x + 25, seat_y + 20), (cantle_x + 30, skirt_b - 30),
               (cantle_x + 10, skirt_b), (horn_x - 25, skirt_b), (horn_x - 35, skirt_b - 40),
               (horn_x - 20, seat_y)]
        draw.polygon(P(pts), fill=255)
        fx = (horn_x + cantle_x) / 2
        draw.rectangle(P([(fx - 18 - 8 * p[6], seat_y + 20), (fx + 18 + 8 * p[6], 240)]), fill=255)
        trims.append(P([(horn_x - 20, skirt_b - 20), (cantle_x + 15, skirt_b - 20)]))
    elif cat == "belts":
        y = 100 + 40 * p[0]; hgt = 30 + 20 * p[1]; x1 = 230 + 20 * p[2]
        tip = 15 + 15 * p[3]
        pts = [(8, y), (x1 - tip, y), (x1, y + hgt / 2), (x1 - tip, y + hgt), (8, y + hgt)]
        draw.polygon(P(pts), fill=255)
        bw = 40 + 20 * p[4]
        draw.rectangle(P([(4, y - 12 - 8 * p[5]), (4 + bw, y + hgt + 12 + 8 * p[5])]), fill=255)
        trims.append(P([(50, y + 5), (x1 - tip, y + 5)]))
        trims.append(P([(50, y + hgt - 5), (x1 - tip, y + hgt - 5)]))
    elif cat == "buckles":
        w = 150 + 70 * p[0]; h = 100 + 60 * p[1]
        box = P([(128 - w / 2, 128 - h / 2), (128 + w / 2, 128 + h / 2)])
        if p[2] < 0.5:
            draw.ellipse(box, fill=255)
        else:
            draw.rounded_rectangle(box, radius=(10 + 30 * p[3]) * u, fill=255)
        trims.append(P([(128 - w / 2 + 12, 128), (128, 128 - h / 2 + 12), (128 + w / 2 - 12, 128),
                        (128, 128 + h / 2 - 12), (128 - w / 2 + 12, 128)]))
    elif cat == "vests":
        w = 130 + 50 * p[0]; top = 35 + 15 * p[1]; bot = 215 + 20 * p[2]; arm = 35 + 25 * p[3]
        vx = 30 + 40 * p[4]
        l, r = 128 - w / 2, 128 + w / 2
        pts = [(l + 25, top), (128 - 14, top), (128, top + vx + 40), (128 + 14, top),
               (r - 25, top), (r - 20, top + arm), (r, top + arm + 30), (r, bot),
               (128 + 6, bot + 10 * p[5]), (128 - 6, bot + 10 * p[5]), (l, bot), (l, top + arm + 30),
               (l + 20, top + arm)]
        draw.polygon(P(pts), fill=255)
        trims.append(P([(128, top + vx + 45), (128, bot - 4)]))
    elif cat == "jeans":
        wt = 95 + 45 * p[0]; top = 18 + 12 * p[1]; flare = 0.2 * p[2] - 0.05
        legw = wt / 2 - 3
        l, r = 128 - wt / 2, 128 + wt / 2
        bot = 245
        crotch = top + 70 + 25 * p[3]
        pts = [(l, top), (r, top), (r + 8 + flare * 100, bot), (r - legw + flare * 40, bot),
               (128 + 2, crotch), (128 - 2, crotch), (l + legw - flare * 40, bot),
               (l - 8 - flare * 100, bot)]
        draw.polygon(P(pts), fill=255)
        trims.append(P([(l, top + 14), (r, top + 14)]))
        trims.append(P([(128, top + 14), (128, crotch - 5)]))
    else:  # jackets
        w = 120 + 40 * p[0]; top = 35 + 10 * p[1]; bot = 220 + 20 * p[2]; slv = 22 + 14 * p[3]
        l, r = 128 - w / 2, 128 + w / 2
        cuff = 200 + 30 * p[4]
        pts = [(l + 15, top), (128 - 12, top), (128, top + 20 + 30 * p[5]), (128 + 12, top),
               (r - 15, top), (r + 35, top + 40), (r + 35 + 10 * p[6], cuff), (r + 35 - slv, cuff),
               (r, top + 80), (r, bot), (l, bot), (l, top + 80), (l - 35 + slv, cuff),
               (l - 35 - 10 * p[6], cuff), (l - 35, top + 40)]
        draw.polygon(P(pts), fill=255)
        trims.append(P([(128, top + 30), (128, bot - 4)]))
        trims.append(P([(l + 5, top + 75 + 20 * p[7]), (r - 5, top + 75 + 20 * p[7])]))
    return trims


def _texture(spec, S):
    """The product's surface: primary colour with a pattern in the secondary colour."""
    rng = random.Random(spec["seed"] * 7919 + 1)
    img = Image.new("RGB", (S, S), spec["primary"])
    d = ImageDraw.Draw(img)
    sec = spec["secondary"]
    k = spec["pattern_scale"] * S / 256.0
    pat = spec["pattern"]
    if pat == "hstripes":
        y = 0.0
        while y < S:
            d.rectangle([0, y, S, y + k / 2], fill=sec); y += k
    elif pat == "vstripes":
        x = 0.0
        while x < S:
            d.rectangle([x, 0, x + k / 2, S], fill=sec); x += k
    elif pat in ("diagonal", "crosshatch"):
        a = spec["pattern_angle"]
        dx, dy = math.cos(a), math.sin(a)
        for t in range(-2 * S, 2 * S, max(2, int(k))):
            cx, cy = S / 2 + t * -dy, S / 2 + t * dx
            d.line([(cx - dx * 2 * S, cy - dy * 2 * S), (cx + dx * 2 * S, cy + dy * 2 * S)],
                   fill=sec, width=max(1, int(k / 3)))
            if pat == "crosshatch":
                cx2, cy2 = S / 2 + t * dx, S / 2 + t * dy
                d.line([(cx2 + dy * 2 * S, cy2 - dx * 2 * S), (cx2 - dy * 2 * S, cy2 + dx * 2 * S)],
                       fill=sec, width=max(1, int(k / 4)))
    elif pat == "checks":
        n = int(S / k) + 1
        for i in range(n):
            for j in range(n):
                if (i + j) % 2:
                    d.rectangle([i * k, j * k, (i + 1) * k, (j + 1) * k], fill=sec)
    elif pat == "dots":
        r = k / 4
        n = int(S / k) + 1
        for i in range(n):
            for j in range(n):
                cx = i * k + (k / 2 if j % 2 else 0)
                d.ellipse([cx - r, j * k - r, cx + r, j * k + r], fill=sec)
    elif pat == "grain":
        for _ in range(int(S * S / 40)):
            x, y = rng.uniform(0, S), rng.uniform(0, S)
            d.line([(x, y), (x + rng.uniform(2, 8), y + rng.uniform(-1, 1))], fill=sec)
    elif pat == "scales":
        r = k / 2
        n = int(S / k) + 2
        for j in range(2 * n):
            for i in range(n):
                cx = i * k + (r if j % 2 else 0)
                d.arc([cx - r, j * r - r, cx + r, j * r + r], 0, 180, fill=sec, width=max(1, int(k / 6)))
    elif pat == "zigzag":
        y = 0.0
        while y < S:
            pts = [(x, y + (k / 2 if (x // k) % 2 else 0)) for x in range(0, S + int(k), max(1, int(k)))]
            d.line(pts, fill=sec, width=max(1, int(k / 4))); y += k
    elif pat == "gradient":
        for y in range(S):
            t = y / S
            c = tuple(int(spec["primary"][i] * (1 - t) + sec[i] * t) for i in range(3))
            d.line([(0, y), (S, y)], fill=c)
    elif pat == "diamonds":
        n = int(S / k) + 2
        for j in range(n):
            for i in range(n):
                cx, cy = i * k + (k / 2 if j % 2 else 0), j * k / 2
                q = k / 3
                d.polygon([(cx, cy - q), (cx + q, cy), (cx, cy + q), (cx - q, cy)], fill=sec)
    return img


def render_product(spec, size=256):
    """Returns (image, mask): the product on its catalog background, and its silhouette."""
    S = size
    mask = Image.new("L", (S, S), 0)
    trims = _silhouette(ImageDraw.Draw(mask), spec["category"], spec["shape"], S)
    tex = _texture(spec, S)
    d = ImageDraw.Draw(tex)
    w = max(2, int(S / 64))
    for line in trims[: 1 + spec["trim"]]:
        d.line(line, fill=spec["accent"], width=w + spec["trim"])
    img = Image.new("RGB", (S, S), spec["background"])
    img.paste(tex, (0, 0), mask)
    # a darker outline so the silhouette reads on light backgrounds
    edge = mask.filter(ImageFilter.FIND_EDGES)
    dark = tuple(int(c * 0.45) for c in spec["primary"])
    img.paste(Image.new("RGB", (S, S), dark), (0, 0), edge)
    return img, mask


# Colour words used in the catalog's attributes, as RGB; the first word that matches wins.
COLOUR_WORDS = [
    ("silverbelly", (205, 196, 178)), ("black", (28, 26, 26)), ("chocolate", (74, 45, 30)),
    ("cognac", (146, 76, 36)), ("tan", (186, 142, 96)), ("bone", (222, 212, 190)),
    ("red", (150, 30, 32)), ("sand", (200, 180, 140)), ("brown", (110, 70, 40)),
    ("walnut", (96, 62, 38)), ("chestnut", (120, 58, 30)), ("natural", (214, 188, 140)),
    ("white", (236, 234, 228)), ("indigo", (40, 52, 92)), ("navy", (30, 40, 72)),
    ("gray", (120, 120, 124)), ("charcoal", (60, 60, 64)), ("olive", (90, 96, 52)),
    ("khaki", (170, 150, 110)), ("ivory", (235, 228, 205)), ("caramel", (170, 110, 60)),
    ("buckskin", (190, 160, 110)), ("silver", (192, 192, 198)), ("gold", (200, 160, 60)),
    ("antiqued", (140, 128, 110)), ("bronze", (130, 95, 50)), ("oil", (150, 100, 55)),
    ("stone", (90, 110, 140)), ("rinse", (36, 44, 70)), ("aztec", (160, 50, 40)),
    ("bark", (100, 80, 60)), ("cafe", (110, 80, 60)), ("bourbon", (130, 70, 35)),
    ("kango", (150, 120, 90)), ("saddle", (140, 90, 50)), ("powder", (170, 130, 100)),
    ("heather", (140, 140, 140)), ("harness", (100, 55, 30)), ("roughout", (150, 110, 80)),
]


def colour_for(text):
    """RGB for the first known colour word in text, or None."""
    t = (text or "").lower()
    for word, rgb in COLOUR_WORDS:
        if word in t:
            return rgb
    return None


def seed_for(key):
    """A stable integer seed from a string key (a SKU)."""
    return int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:6], "big")


def render_catalog(csv_path, outdir, size=256):
    """Renders every catalog row's image; returns the number written."""
    n = 0
    with open(csv_path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            rel = (row.get("image") or "").strip()
            if not rel or "://" in rel or rel.startswith("/") or ".." in rel.split("/"):
                continue
            path = os.path.join(outdir, rel)
            os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
            cat = row.get("category", "").strip()
            spec = product_spec(seed_for(row["sku"]), cat if cat in CATEGORIES else None)
            rgb = colour_for(row.get("attributes", "") + " " + row.get("model", ""))
            if rgb:
                spec["primary"] = rgb
            img, _ = render_product(spec, size)
            img.save(path, quality=92)
            n += 1
    return n


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.stderr.write("usage: render.py CATALOG.csv OUTDIR [--size N]\n")
        sys.exit(2)
    size = 256
    if "--size" in sys.argv:
        size = int(sys.argv[sys.argv.index("--size") + 1])
    print(render_catalog(sys.argv[1], sys.argv[2], size))
