/* decode_png.c — libpng (classic API), streamed row by row with an optional box reduction.
 *
 * Why not libpng's simplified API: it needs a buffer for the whole image, and a 10 MB PNG
 * can hold 50 MP (150 MB of RGB) — per upload. Reading rows and averaging f x f blocks
 * (f in {8,4,2,1}, the largest that keeps both sides >= 2 x min_side) bounds the heap to
 * one row plus the reduced image. Interlaced (Adam7) files
 * cannot be streamed that way and are read whole, then reduced.
 *
 * Pixel semantics follow Pillow (the reference the tests compare with): 16-bit samples are
 * truncated to their high byte, palette/gray are expanded to RGB, gamma chunks are ignored,
 * and alpha (an alpha channel or tRNS) is composited onto white with straight alpha.
 * Errors longjmp back from libpng's callbacks; warnings are ignored (no stderr output).
 * EXIF lives in an eXIf chunk; the chunk list is walked (bounds-checked) up to IDAT. */
#include "vision/decode.h"
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    png_structp png;
    png_infop info;
    const uint8_t *data;
    size_t len, off;
    jmp_buf jb;
    char msg[160];
} png_state_t;

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

static void on_png_error(png_structp png, png_const_charp msg)
{
    png_state_t *st = png_get_error_ptr(png);
    snprintf(st->msg, sizeof st->msg, "%s", msg);
    longjmp(st->jb, 1);
}

static void on_png_warning(png_structp png, png_const_charp msg) { (void)png; (void)msg; }

static void on_png_read(png_structp png, png_bytep out, size_t n)
{
    png_state_t *st = png_get_io_ptr(png);
    if (n > st->len - st->off) png_error(png, "Read Error: truncated file");
    memcpy(out, st->data + st->off, n);
    st->off += n;
}

static int png_fail(png_state_t *st, vision_error_t *err)
{
    int trunc = strstr(st->msg, "truncated") || strstr(st->msg, "Not enough") ||
                strstr(st->msg, "end of data") || strstr(st->msg, "EOF");
    vision_error_set(err, 400, trunc ? "truncated_image" : "corrupt_image", "Invalid PNG: %s", st->msg);
    return -1;
}

int vision_png_open(vision_decoder_t *dec, const uint8_t *data, size_t len, vision_error_t *err)
{
    png_state_t *st = calloc(1, sizeof *st);
    if (!st) { vision_error_set(err, 500, "internal_error", "Out of memory"); return -1; }
    dec->codec = st;
    st->data = data;
    st->len = len;
    st->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, st, on_png_error, on_png_warning);
    if (!st->png) { vision_error_set(err, 500, "internal_error", "libpng init failed"); return -1; }
    st->info = png_create_info_struct(st->png);
    if (!st->info) { vision_error_set(err, 500, "internal_error", "libpng init failed"); return -1; }
    if (setjmp(st->jb)) return png_fail(st, err);
    png_set_read_fn(st->png, st, on_png_read);
    /* Our own pixel cap runs on the header; libpng's default 1M-column limit is not it. */
    png_set_user_limits(st->png, 0x7fffffff, 0x7fffffff);
    png_set_chunk_malloc_max(st->png, 16u << 20);
    png_read_info(st->png, st->info);
    dec->width = (int)png_get_image_width(st->png, st->info);
    dec->height = (int)png_get_image_height(st->png, st->info);
    png_find_exif(dec, data, len);
    return 0;
}

/* Straight alpha onto white, rounded (the same formula as the WebP path). */
static inline uint8_t over_white(int c, int a)
{
    return (uint8_t)((c * a + 255 * (255 - a) + 127) / 255);
}

/* Adds one decoded row (RGB or RGBA, width w) into the column-block sums of acc. */
static void accumulate_row(const uint8_t *row, int w, int ch, int f, uint32_t *acc)
{
    for (int x = 0; x < w; x++, row += ch) {
        uint32_t *a = acc + (size_t)(x / f) * 3;
        if (ch == 4) {
            a[0] += over_white(row[0], row[3]);
            a[1] += over_white(row[1], row[3]);
            a[2] += over_white(row[2], row[3]);
        } else {
            a[0] += row[0]; a[1] += row[1]; a[2] += row[2];
        }
    }
}

/* Writes the averages of one band of block sums (rows_in_band source rows) to out_row. */
static void emit_band(uint32_t *acc, int w, int f, int rows_in_band, uint8_t *out_row, int ow)
{
    for (int ox = 0; ox < ow; ox++) {
        int cols = (ox + 1) * f <= w ? f : w - ox * f;
        uint32_t n = (uint32_t)(cols * rows_in_band);
        for (int c = 0; c < 3; c++) out_row[ox * 3 + c] = (uint8_t)((acc[ox * 3 + c] + n / 2) / n);
    }
    memset(acc, 0, sizeof(uint32_t) * 3 * (size_t)ow);
}

int vision_png_decode(vision_decoder_t *dec, int min_side, int min_long, vision_image_t *out,
                      vision_error_t *err)
{
    png_state_t *st = dec->codec;
    png_structp png = st->png;
    uint8_t *volatile row = NULL;
    uint8_t *volatile whole = NULL;
    png_bytep *volatile rows = NULL;
    uint32_t *volatile acc = NULL;
    if (setjmp(st->jb)) {
        free(row); free(whole); free(rows); free(acc);
        vision_image_free(out);
        return png_fail(st, err);
    }
    /* Keep at least 2x oversampling after the box (the resampler's antialiasing then does
     * the rest); a box straight down to min_side would alias visibly. */
    int w = dec->width, h = dec->height, f = 1, longer = w > h ? w : h;
    if (min_side > 0)
        for (f = 8; f > 1; f /= 2)
            if (w >= 2 * min_side * f && h >= 2 * min_side * f && longer >= min_long * f) break;
    png_set_expand(png);          /* palette -> RGB, gray < 8 bit -> 8, tRNS -> alpha */
    png_set_strip_16(png);        /* high byte, as Pillow does */
    png_set_gray_to_rgb(png);
    int passes = png_set_interlace_handling(png);
    png_read_update_info(png, st->info);
    int ch = png_get_channels(png, st->info);
    if (ch != 3 && ch != 4) { snprintf(st->msg, sizeof st->msg, "unexpected %d channels", ch); longjmp(st->jb, 1); }
    int ow = (w + f - 1) / f, oh = (h + f - 1) / f;
    if (vision_image_alloc(out, ow, oh, 3) != 0) {
        snprintf(st->msg, sizeof st->msg, "cannot allocate %dx%d", ow, oh);
        longjmp(st->jb, 1);
    }
    size_t rowbytes = png_get_rowbytes(png, st->info);
    acc = calloc((size_t)ow * 3, sizeof(uint32_t));
    if (!acc) { snprintf(st->msg, sizeof st->msg, "out of memory"); longjmp(st->jb, 1); }
    if (passes > 1) {
        /* Adam7: every pass touches the whole image, so it is decoded whole first. */
        whole = malloc(rowbytes * (size_t)h);
        rows = malloc(sizeof(png_bytep) * (size_t)h);
        if (!whole || !rows) { snprintf(st->msg, sizeof st->msg, "out of memory"); longjmp(st->jb, 1); }
        for (int y = 0; y < h; y++) rows[y] = whole + rowbytes * (size_t)y;
        png_read_image(png, rows);
    } else {
        row = malloc(rowbytes);
        if (!row) { snprintf(st->msg, sizeof st->msg, "out of memory"); longjmp(st->jb, 1); }
    }
    for (int y = 0; y < h; y++) {
        const uint8_t *r = row;
        if (whole) r = rows[y];
        else png_read_row(png, row, NULL);
        accumulate_row(r, w, ch, f, acc);
        if ((y + 1) % f == 0 || y == h - 1)
            emit_band(acc, w, f, y % f + 1, out->px + (size_t)(y / f) * ow * 3, ow);
    }
    free(row); free(whole); free(rows); free(acc);
    row = NULL; whole = NULL; rows = NULL; acc = NULL;
    dec->scale_denom = f;
    dec->decoded_width = ow;
    dec->decoded_height = oh;
    return 0;
}

void vision_png_close(vision_decoder_t *dec)
{
    png_state_t *st = dec->codec;
    if (!st) return;
    if (st->png) png_destroy_read_struct(&st->png, st->info ? &st->info : NULL, NULL);
    free(st);
    dec->codec = NULL;
}
