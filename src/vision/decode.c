/* decode.c — dispatch to the codec files and the limits every format shares. */
#include "vision/decode.h"
#include <stdlib.h>
#include <string.h>

void vision_decoder_set_exif(vision_decoder_t *dec, const uint8_t *p, size_t n)
{
    if (!p || n < 8 || dec->exif) return;
    if (n >= 6 && !memcmp(p, "Exif\0\0", 6)) { dec->exif = p; dec->exif_len = n; return; }
    dec->exif_owned = malloc(n + 6);
    if (!dec->exif_owned) return;
    memcpy(dec->exif_owned, "Exif\0\0", 6);
    memcpy(dec->exif_owned + 6, p, n);
    dec->exif = dec->exif_owned;
    dec->exif_len = n + 6;
}

int vision_decoder_open(vision_decoder_t *dec, vision_format_t fmt, const uint8_t *data,
                        size_t len, const vision_decode_limits_t *lim, vision_error_t *err)
{
    memset(dec, 0, sizeof *dec);
    dec->format = fmt;
    dec->scale_denom = 1;
    int rc;
    switch (fmt) {
    case VISION_FORMAT_JPEG: rc = vision_jpeg_open(dec, data, len, lim, err); break;
    case VISION_FORMAT_PNG: rc = vision_png_open(dec, data, len, err); break;
    case VISION_FORMAT_WEBP: rc = vision_webp_open(dec, data, len, err); break;
    default:
        vision_error_set(err, 415, "unsupported_format",
                         "Unsupported image format: %s. Allowed: JPEG, PNG, WEBP",
                         vision_format_name(fmt));
        return -1;
    }
    if (rc == 0 && (dec->width <= 0 || dec->height <= 0)) {
        vision_error_set(err, 400, "corrupt_image", "Image header has no dimensions");
        rc = -1;
    }
    if (rc == 0 && lim && lim->max_pixels &&
        (uint64_t)dec->width * (uint64_t)dec->height > lim->max_pixels) {
        vision_error_set(err, 413, "too_many_pixels",
                         "Image is %dx%d (%.1f MP); the limit is %.1f MP", dec->width, dec->height,
                         (double)dec->width * dec->height / 1e6, (double)lim->max_pixels / 1e6);
        rc = -1;
    }
    if (rc != 0) vision_decoder_close(dec);
    return rc;
}

int vision_decoder_decode(vision_decoder_t *dec, int min_side, int min_long, int orientation,
                          vision_image_t *out, vision_error_t *err)
{
    int rc;
    if (orientation < 1 || orientation > 8) orientation = 1;
    switch (dec->format) {
    case VISION_FORMAT_JPEG: return vision_jpeg_decode(dec, min_side, min_long, orientation, out, err);
    case VISION_FORMAT_PNG: rc = vision_png_decode(dec, min_side, min_long, out, err); break;
    case VISION_FORMAT_WEBP: rc = vision_webp_decode(dec, min_side, min_long, out, err); break;
    default:
        vision_error_set(err, 500, "internal_error", "Decoder not open");
        return -1;
    }
    if (rc == 0 && vision_image_orient(out, orientation) != 0) {
        vision_image_free(out);
        vision_error_set(err, 500, "internal_error", "Out of memory while orienting the image");
        return -1;
    }
    return rc;
}

void vision_decoder_close(vision_decoder_t *dec)
{
    switch (dec->format) {
    case VISION_FORMAT_JPEG: vision_jpeg_close(dec); break;
    case VISION_FORMAT_PNG: vision_png_close(dec); break;
    case VISION_FORMAT_WEBP: vision_webp_close(dec); break;
    default: break;
    }
    free(dec->exif_owned);
    memset(dec, 0, sizeof *dec);
}
