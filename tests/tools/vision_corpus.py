#!/usr/bin/python3
"""vision_corpus.py OUTDIR — writes the image-intake test corpus and its references.

Every file the C tests (tests/unit/test_vision*.c) read is made here, with Debian's PIL and
numpy, so the corpus is reproducible and nothing binary lives in the repository.
References are computed independently of the C code:
  <name>.tensor   float32 CHW 3x224x224 from PIL (draft for JPEG, exif_transpose, resize
                  shortest side to 224 with the named filter, centre crop, CLIP mean/std)
  <name>.phash    16 hex digits: PIL gray + Lanczos 32x32, then a numpy DCT-II and median
  gray32.bin / gray32.phash   a random 32x32 block and its numpy pHash
"""
import io, os, struct, sys, zlib
import numpy as np
from PIL import Image, ImageDraw, ImageOps, TiffImagePlugin

OUT = sys.argv[1]
MEAN = np.array([0.48145466, 0.4578275, 0.40821073], dtype=np.float32)
STD = np.array([0.26862954, 0.26130258, 0.27577711], dtype=np.float32)
rng = np.random.default_rng(1234)


def path(name):
    return os.path.join(OUT, name)


def scene(w, h, seed=0):
    """Gradients + shapes + noise: photo-like, asymmetric (orientation errors show)."""
    r = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    a = np.stack([x / w * 255, y / h * 255, (x + y) / (w + h) * 255], axis=2)
    a += r.normal(0, 12, size=(h, w, 3))
    im = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8), "RGB")
    d = ImageDraw.Draw(im)
    for i in range(12):
        x0, y0 = int(r.integers(0, w - 20)), int(r.integers(0, h - 20))
        x1, y1 = x0 + int(r.integers(10, w // 3)), y0 + int(r.integers(10, h // 3))
        col = tuple(int(c) for c in r.integers(0, 256, 3))
        (d.ellipse if i % 2 else d.rectangle)([x0, y0, x1, y1], fill=col)
    return im


def quadrants(w, h):
    """Upright reference: red TL, green TR, blue BL, yellow BR."""
    im = Image.new("RGB", (w, h))
    d = ImageDraw.Draw(im)
    d.rectangle([0, 0, w // 2 - 1, h // 2 - 1], fill=(255, 0, 0))
    d.rectangle([w // 2, 0, w - 1, h // 2 - 1], fill=(0, 255, 0))
    d.rectangle([0, h // 2, w // 2 - 1, h - 1], fill=(0, 0, 255))
    d.rectangle([w // 2, h // 2, w - 1, h - 1], fill=(255, 255, 0))
    return im


# The transform that exif_transpose applies for each orientation; stored = inverse(upright).
FWD = {2: [Image.FLIP_LEFT_RIGHT], 3: [Image.ROTATE_180], 4: [Image.FLIP_TOP_BOTTOM],
       5: [Image.TRANSPOSE], 6: [Image.ROTATE_270], 7: [Image.TRANSVERSE], 8: [Image.ROTATE_90]}
INV = {2: Image.FLIP_LEFT_RIGHT, 3: Image.ROTATE_180, 4: Image.FLIP_TOP_BOTTOM,
       5: Image.TRANSPOSE, 6: Image.ROTATE_90, 7: Image.TRANSVERSE, 8: Image.ROTATE_270}


def exif_block(orientation=None, gps=False, camera=True):
    ex = Image.Exif()
    if camera:
        ex[0x010F] = "Canon"
        ex[0x0110] = "Canon EOS R5"
        ex[0x0131] = "Firmware 1.8.1"
        ex[0x8769] = {0x9003: "2024:05:01 12:34:56", 0xA434: "RF24-105mm F4 L IS USM",
                      0xA431: "SN-0123456789", 0x829D: TiffImagePlugin.IFDRational(4, 1),
                      0x920A: TiffImagePlugin.IFDRational(50, 1), 0x8827: 400}
    if orientation:
        ex[0x0112] = orientation
    if gps:
        R = TiffImagePlugin.IFDRational
        ex[0x8825] = {1: "N", 2: (R(40, 1), R(26, 1), R(4610, 100)),
                      3: "W", 4: (R(79, 1), R(58, 1), R(5600, 100)),
                      5: b"\x00", 6: R(3005, 10)}
    return ex.tobytes()


def open_reduced(p, size=224, thumb=256):
    """Opens like intake decodes: JPEG at DCT scale 1/d, d the largest of 8,4,2,1 with both
    sides >= size*d and the longer >= thumb*d (draft() is asked for exactly that scale)."""
    im = Image.open(p)
    if im.format == "JPEG":
        w, h = im.size
        d = next(d for d in (8, 4, 2, 1) if d == 1 or (w >= size * d and h >= size * d and max(w, h) >= thumb * d))
        im.draft("RGB", (w // d, h // d))
    return im


def ref_tensor(p, size=224, resample=Image.BICUBIC):
    im = open_reduced(p, size)
    im = ImageOps.exif_transpose(im)
    im = flatten(im)
    w, h = im.size
    if w <= h:
        nw, nh = size, int(h * size / w + 0.5)
    else:
        nw, nh = int(w * size / h + 0.5), size
    nw, nh = max(nw, size), max(nh, size)
    im = im.resize((nw, nh), resample)
    left, top = (nw - size) // 2, (nh - size) // 2
    im = im.crop((left, top, left + size, top + size))
    a = np.asarray(im, dtype=np.float32) / np.float32(255.0)
    a = (a - MEAN) / STD
    return np.ascontiguousarray(a.transpose(2, 0, 1), dtype=np.float32)


def flatten(im):
    if im.mode == "P" and "transparency" in im.info:
        im = im.convert("RGBA")
    if im.mode in ("RGBA", "LA"):
        bg = Image.new("RGBA", im.size, (255, 255, 255, 255))
        return Image.alpha_composite(bg, im.convert("RGBA")).convert("RGB")
    return im.convert("RGB")


def dct_matrix(n):
    k = np.arange(n)[:, None]
    i = np.arange(n)[None, :]
    return 2.0 * np.cos(np.pi * k * (2 * i + 1) / (2 * n))


def numpy_phash(gray32):
    c = dct_matrix(32)
    d = c @ gray32.astype(np.float64) @ c.T   # DCT along axis 0, then axis 1
    low = d[:8, :8]
    bits = (low > np.median(low)).flatten()
    return "%016x" % int("".join("1" if b else "0" for b in bits), 2)


def ref_phash(p, size=224):
    im = flatten(ImageOps.exif_transpose(open_reduced(p, size))).convert("L").resize((32, 32), Image.LANCZOS)
    return numpy_phash(np.asarray(im))


def ref_thumb(p, size=256, model=224):
    """Thumbnail as intake makes it: from the upright reduced decode, longest side 256,
    bilinear (PIL resize), never upscaled."""
    im = flatten(ImageOps.exif_transpose(open_reduced(p, model, size)))
    w, h = im.size
    if w > size or h > size:
        if w >= h:
            w, h = size, max(1, int(h * size / w + 0.5))
        else:
            w, h = max(1, int(w * size / h + 0.5)), size
        im = im.resize((w, h), Image.BILINEAR)
    return np.asarray(im)


def write_refs(name, resample=Image.BICUBIC):
    ref_thumb(path(name)).tofile(path(name + ".thumb"))
    ref_tensor(path(name), resample=resample).tofile(path(name + ".tensor"))
    with open(path(name + ".phash"), "w") as f:
        f.write(ref_phash(path(name)))


def png_chunk(t, data):
    return struct.pack(">I", len(data)) + t + data + struct.pack(">I", zlib.crc32(t + data) & 0xFFFFFFFF)


def png16(name, a16):
    h, w, _ = a16.shape
    raw = b"".join(b"\x00" + a16[y].astype(">u2").tobytes() for y in range(h))
    data = (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0))
            + png_chunk(b"IDAT", zlib.compress(raw)) + png_chunk(b"IEND", b""))
    open(path(name), "wb").write(data)


def png_adam7(name, a8):
    """8-bit RGB PNG with Adam7 interlacing (PIL cannot write it), filter type 0."""
    h, w, _ = a8.shape
    raw = b""
    for y0, x0, dy, dx in [(0, 0, 8, 8), (0, 4, 8, 8), (4, 0, 8, 4), (0, 2, 4, 4), (2, 0, 4, 2), (0, 1, 2, 2), (1, 0, 2, 1)]:
        sub = a8[y0::dy, x0::dx]
        if sub.shape[0] == 0 or sub.shape[1] == 0:
            continue
        raw += b"".join(b"\x00" + sub[y].tobytes() for y in range(sub.shape[0]))
    data = (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 1))
            + png_chunk(b"IDAT", zlib.compress(raw)) + png_chunk(b"IEND", b""))
    open(path(name), "wb").write(data)


def main():
    os.makedirs(OUT, exist_ok=True)
    base = scene(1600, 1200, seed=1)
    base.save(path("baseline.jpg"), quality=90, exif=exif_block(gps=True))
    base.save(path("progressive.jpg"), quality=90, progressive=True)
    scene(300, 500, seed=2).save(path("portrait.jpg"), quality=92)
    for n in ["baseline.jpg", "progressive.jpg", "portrait.jpg"]:
        write_refs(n)
    ref_tensor(path("baseline.jpg"), resample=Image.BILINEAR).tofile(path("baseline.jpg.bilinear"))
    # The same photo re-encoded smaller and harder (a near duplicate), and the pHash of the
    # full-size decode (no DCT scaling) for comparison with ours from the reduced decode.
    base.resize((800, 600), Image.LANCZOS).save(path("baseline_small_q60.jpg"), quality=60)
    full = np.asarray(Image.open(path("baseline.jpg")).convert("L").resize((32, 32), Image.LANCZOS))
    open(path("baseline.jpg.phash_full"), "w").write(numpy_phash(full))
    # Orientation: stored pixels are the inverse transform of an upright 400x300 picture.
    up = quadrants(400, 300)
    for o in range(1, 9):
        stored = up if o == 1 else up.transpose(INV[o])
        stored.save(path("orient_%d.jpg" % o), quality=95, exif=exif_block(orientation=o, camera=False))
    # The same for PNG (eXIf chunk) and WebP (RIFF EXIF chunk), which are oriented after decoding.
    up.transpose(INV[6]).save(path("orient_6.png"), exif=exif_block(orientation=6, camera=False))
    up.transpose(INV[8]).save(path("orient_8.webp"), lossless=True, exif=exif_block(orientation=8, camera=False))
    # A photo-like oriented file for the tensor comparison.
    scene(640, 480, seed=3).save(path("orient6_scene.jpg"), quality=90, exif=exif_block(orientation=6))
    write_refs("orient6_scene.jpg")
    # CMYK JPEG (PIL writes Adobe inverted CMYK with an APP14 marker).
    scene(480, 360, seed=4).convert("CMYK").save(path("cmyk.jpg"), quality=95)
    write_refs("cmyk.jpg")
    # 16-bit RGB PNG (written by hand: PIL cannot write 16-bit RGB).
    a8 = np.asarray(scene(320, 240, seed=5)).astype(np.uint16)
    png16("rgb16.png", a8 * 257 + rng.integers(0, 200, size=a8.shape).astype(np.uint16))
    write_refs("rgb16.png")
    # Interlaced PNGs: small (read whole, no reduction) and large (read whole, then reduced).
    png_adam7("adam7.png", np.asarray(scene(333, 250, seed=16)))
    write_refs("adam7.png")
    png_adam7("adam7_large.png", np.asarray(scene(1000, 900, seed=17)))
    write_refs("adam7_large.png")
    # A large PNG: streamed with a 4x4 box reduction (1000x900 -> 250x225).
    scene(1000, 900, seed=17).save(path("large.png"))
    write_refs("large.png")
    scene(1000, 900, seed=18).save(path("large.webp"), quality=90)
    write_refs("large.webp")
    # Palette PNG with transparency (index 0 fully transparent).
    pal = scene(300, 260, seed=6).quantize(colors=64)
    pa = np.asarray(pal).copy()
    pa[:60, :] = 0
    pal2 = Image.fromarray(pa, "P")
    pal2.putpalette(pal.getpalette())
    pal2.save(path("palette_trns.png"), transparency=0)
    write_refs("palette_trns.png")
    # Grayscale JPEG (one component) and gray+alpha PNG.
    scene(500, 400, seed=14).convert("L").save(path("gray.jpg"), quality=90)
    write_refs("gray.jpg")
    la = scene(260, 300, seed=15).convert("LA")
    la.putalpha(Image.fromarray(np.where(np.arange(260)[None, :] < 130, 0, 255).repeat(300, 0).astype(np.uint8)))
    la.save(path("gray_alpha.png"))
    write_refs("gray_alpha.png")
    scene(400, 300, seed=7).save(path("lossy.webp"), quality=85)
    scene(400, 300, seed=8).save(path("lossless.webp"), lossless=True)
    rgba = scene(400, 300, seed=9).convert("RGBA")
    alpha = np.zeros((300, 400), dtype=np.uint8)
    alpha[:, 200:] = 255
    rgba.putalpha(Image.fromarray(alpha))
    rgba.save(path("alpha.webp"), lossless=True)
    for n in ["lossy.webp", "lossless.webp", "alpha.webp"]:
        write_refs(n)
    # A PNG that claims to be a JPEG (extension lies).
    scene(256, 256, seed=10).save(path("really_png.jpg"), format="PNG")
    scene(150, 120, seed=11).save(path("tiny.jpg"), quality=90)
    # Header bombs: tiny files whose headers claim huge images.
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), (10, 20, 30)).save(buf, "JPEG")
    j = bytearray(buf.getvalue())
    sof = j.index(b"\xff\xc0")
    j[sof + 5:sof + 9] = struct.pack(">HH", 65000, 65000)
    open(path("bomb.jpg"), "wb").write(j)
    raw = zlib.compress(b"\x00" * 1000)
    open(path("bomb.png"), "wb").write(
        b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", 100000, 100000, 8, 2, 0, 0, 0))
        + png_chunk(b"IDAT", raw) + png_chunk(b"IEND", b""))
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), (10, 20, 30)).save(buf, "WEBP", lossless=True)
    wb = bytearray(buf.getvalue())
    vp8l = wb.index(b"VP8L")
    hdr = struct.unpack("<I", wb[vp8l + 9:vp8l + 13])[0]
    hdr = (hdr & ~((1 << 28) - 1)) | 16383 | (16383 << 14)
    wb[vp8l + 9:vp8l + 13] = struct.pack("<I", hdr)
    open(path("bomb.webp"), "wb").write(wb)
    # Truncated files.
    for n in ["baseline.jpg", "progressive.jpg", "lossy.webp"]:
        d = open(path(n), "rb").read()
        open(path("trunc_" + n), "wb").write(d[: len(d) * 6 // 10])
    d = open(path("rgb16.png"), "rb").read()
    open(path("trunc_rgb16.png"), "wb").write(d[: len(d) // 2])
    open(path("empty.jpg"), "wb").close()
    open(path("random.jpg"), "wb").write(rng.integers(0, 256, 4096, dtype=np.uint8).tobytes())
    open(path("jpeg_garbage.jpg"), "wb").write(b"\xff\xd8\xff" + rng.integers(0, 256, 4096, dtype=np.uint8).tobytes())
    open(path("fake.heic"), "wb").write(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 512)
    scene(250, 250, seed=12).save(path("anim.gif"))
    scene(250, 250, seed=13).save(path("image.bmp"))
    # pHash on a fixed 32x32 block.
    g = rng.integers(0, 256, size=(32, 32), dtype=np.uint8)
    g.tofile(path("gray32.bin"))
    open(path("gray32.phash"), "w").write(numpy_phash(g))


if __name__ == "__main__":
    main()
