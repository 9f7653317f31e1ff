/* decode_png.c — libpng's simplified read API: it normalises every PNG flavour (16-bit,
 * palette + tRNS, gray, alpha) to 8-bit RGB and composites alpha onto the background we
 * give it (white), with its own setjmp-based error handling (no stderr output).
 * EXIF lives in an eXIf chunk the simplified API does not expose, so we walk the chunk
 * list (bounds-checked) up to the first IDAT to find it. */
#include "vision/decode.h"
#include <png.h>
#include <stdlib.h>
#include <string.h>

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void png_find_exif(vision_decoder_t *dec, const uint8_t *d, size_t n)
{
    size_t off = 8;
    while (off + 12 <= n) {
        uint32_t clen = be32(d + off);
        if (clen > n - off - 12) return;
        const uint8_t *type = d + off + 4;
        if (!memcmp(type, "eXIf", 4)) { vision_decoder_set_exif(dec, d + off + 8, clen); return; }
        if (!memcmp(type, "IDAT", 4)) return;
        off += 12 + (size_t)clen;
    }
}

int vision_png_open(vision_decoder_t *dec, const uint8_t *data, size_t len, vision_error_t *err)
{
    png_image *img = calloc(1, sizeof *img);
    if (!img) { vision_error_set(err, 500, "internal_error", "Out of memory"); return -1; }
    dec->codec = img;
    img->version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(img, data, len)) {
        vision_error_set(err, 400, "corrupt_image", "Invalid PNG: %s", img->message);
        return -1;
    }
    dec->width = (int)img->width;
    dec->height = (int)img->height;
    png_find_exif(dec, data, len);
    return 0;
}

int vision_png_decode(vision_decoder_t *dec, vision_image_t *out, vision_error_t *err)
{
    png_image *img = dec->codec;
    img->format = PNG_FORMAT_RGB;
    /* Without this libpng treats untagged 16-bit data as linear light and gamma-encodes it
     * on the way to 8 bits; cameras and PIL treat it as sRGB-encoded like 8-bit data. */
    img->flags |= PNG_IMAGE_FLAG_16BIT_sRGB;
    if (vision_image_alloc(out, (int)img->width, (int)img->height, 3) != 0) {
        vision_error_set(err, 413, "too_many_pixels", "Cannot allocate the PNG image");
        return -1;
    }
    png_color white = {255, 255, 255};
    if (!png_image_finish_read(img, &white, out->px, 0, NULL)) {
        int trunc = strstr(img->message, "Not enough") || strstr(img->message, "Read Error") ||
                    strstr(img->message, "EOF") || strstr(img->message, "end of data");
        vision_error_set(err, 400, trunc ? "truncated_image" : "corrupt_image", "Invalid PNG: %s",
                         img->message);
        vision_image_free(out);
        return -1;
    }
    dec->decoded_width = out->w;
    dec->decoded_height = out->h;
    return 0;
}

void vision_png_close(vision_decoder_t *dec)
{
    png_image *img = dec->codec;
    if (!img) return;
    png_image_free(img);
    free(img);
    dec->codec = NULL;
}
