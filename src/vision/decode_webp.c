/* decode_webp.c — libwebp (lossy, lossless, alpha), through the advanced decoding API so
 * large files can be shrunk by libwebp's rescaler while decoding. Alpha is composited onto
 * white here since libwebp returns straight (non-premultiplied) RGBA. EXIF comes from the RIFF
 * container's "EXIF" chunk, found by a bounds-checked walk over the chunk list. */
#include "vision/decode.h"
#include <webp/decode.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const uint8_t *data;
    size_t len;
    int has_alpha;
} webp_state_t;

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void webp_find_exif(vision_decoder_t *dec, const uint8_t *d, size_t n)
{
    size_t off = 12;
    while (off + 8 <= n) {
        uint32_t clen = le32(d + off + 4);
        if (clen > n - off - 8) return;
        if (!memcmp(d + off, "EXIF", 4)) { vision_decoder_set_exif(dec, d + off + 8, clen); return; }
        off += 8 + (size_t)clen + (clen & 1);
    }
}

int vision_webp_open(vision_decoder_t *dec, const uint8_t *data, size_t len, vision_error_t *err)
{
    webp_state_t *st = calloc(1, sizeof *st);
    if (!st) { vision_error_set(err, 500, "internal_error", "Out of memory"); return -1; }
    dec->codec = st;
    WebPBitstreamFeatures f;
    VP8StatusCode rc = WebPGetFeatures(data, len, &f);
    if (rc != VP8_STATUS_OK) {
        vision_error_set(err, 400, rc == VP8_STATUS_NOT_ENOUGH_DATA ? "truncated_image" : "corrupt_image",
                         "Invalid WebP (status %d)", (int)rc);
        return -1;
    }
    if (f.has_animation) {
        vision_error_set(err, 415, "unsupported_format", "Animated WebP is not supported");
        return -1;
    }
    st->data = data;
    st->len = len;
    st->has_alpha = f.has_alpha;
    dec->width = f.width;
    dec->height = f.height;
    webp_find_exif(dec, data, len);
    return 0;
}

int vision_webp_decode(vision_decoder_t *dec, int min_side, int min_long, vision_image_t *out,
                       vision_error_t *err)
{
    webp_state_t *st = dec->codec;
    int w = dec->width, h = dec->height, f = 1, longer = w > h ? w : h;
    /* Same reduction rule as PNG; libwebp's rescaler shrinks lossy files while decoding
     * rows (bounded memory). Lossless files are decoded whole by libwebp either way. */
    if (min_side > 0)
        for (f = 8; f > 1; f /= 2)
            if (w >= 2 * min_side * f && h >= 2 * min_side * f && longer >= min_long * f) break;
    int ow = (w + f - 1) / f, oh = (h + f - 1) / f, ch = st->has_alpha ? 4 : 3;
    if (vision_image_alloc(out, ow, oh, 3) != 0) {
        vision_error_set(err, 413, "too_many_pixels", "Cannot allocate the WebP image");
        return -1;
    }
    uint8_t *rgba = NULL;
    if (ch == 4 && !(rgba = malloc((size_t)ow * oh * 4))) {
        vision_image_free(out);
        vision_error_set(err, 500, "internal_error", "Out of memory");
        return -1;
    }
    WebPDecoderConfig cfg;
    if (!WebPInitDecoderConfig(&cfg)) { free(rgba); goto bad; }
    if (f > 1) {
        cfg.options.use_scaling = 1;
        cfg.options.scaled_width = ow;
        cfg.options.scaled_height = oh;
    }
    cfg.output.colorspace = ch == 4 ? MODE_RGBA : MODE_RGB;
    cfg.output.is_external_memory = 1;
    cfg.output.u.RGBA.rgba = ch == 4 ? rgba : out->px;
    cfg.output.u.RGBA.stride = ow * ch;
    cfg.output.u.RGBA.size = (size_t)ow * oh * ch;
    VP8StatusCode rc = WebPDecode(st->data, st->len, &cfg);
    WebPFreeDecBuffer(&cfg.output);
    if (rc != VP8_STATUS_OK) { free(rgba); goto bad; }
    if (rgba) {
        size_t n = (size_t)ow * oh;
        for (size_t i = 0; i < n; i++) {
            const uint8_t *p = rgba + 4 * i;
            int a = p[3];
            for (int c = 0; c < 3; c++)
                out->px[3 * i + c] = (uint8_t)((p[c] * a + 255 * (255 - a) + 127) / 255);
        }
        free(rgba);
    }
    dec->scale_denom = f;
    dec->decoded_width = ow;
    dec->decoded_height = oh;
    return 0;
bad:
    vision_image_free(out);
    vision_error_set(err, 400, "corrupt_image", "Invalid WebP: the bitstream does not decode");
    return -1;
}

void vision_webp_close(vision_decoder_t *dec)
{
    free(dec->codec);
    dec->codec = NULL;
}
