/* decode_jpeg.c — libjpeg-turbo decoding with DCT scaling.
 *
 * libjpeg's default error handler prints to stderr and exit()s; ours formats the message
 * and longjmps back (every libjpeg call below sits under a setjmp). Warnings are counted,
 * not printed; "premature end of data" is promoted to a rejection, because libjpeg would
 * otherwise pad a truncated file with grey and report success. Two DoS guards: the
 * memory manager's cap (a progressive JPEG keeps whole-image coefficient planes) and a
 * scan-count limit in the progress monitor (thousands of tiny scans burn CPU).
 *
 * Entropy decoding is ours where the file allows (most of the time goes there): at 1/8
 * jpeg_dc.c decodes the whole picture from libjpeg's parsed header; at other scales
 * jpeg_mcu.c replaces libjpeg's Huffman module. Both decline anything unclean, and a
 * declined MCU hook means the file is decoded again from the start by libjpeg alone. */
#include "vision/decode.h"
#include "vision/jpeg_dc.h"
#include "vision/jpeg_mcu.h"
#include <setjmp.h>
#include <stdio.h>
#include <jpeglib.h>
#include <jerror.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    struct jpeg_decompress_struct cinfo;
    struct jpeg_error_mgr jerr;
    struct jpeg_progress_mgr progress;
    jmp_buf jb;
    int max_scans;
    int truncated;                  /* saw JWRN_JPEG_EOF */
    const uint8_t *data;            /* the file, for a second decoding attempt */
    size_t len;
    char msg[JMSG_LENGTH_MAX];
} jpeg_state_t;

static void on_error_exit(j_common_ptr cinfo)
{
    jpeg_state_t *st = (jpeg_state_t *)cinfo->client_data;
    (*cinfo->err->format_message)(cinfo, st->msg);
    longjmp(st->jb, 1);
}

static void on_emit_message(j_common_ptr cinfo, int level)
{
    jpeg_state_t *st = (jpeg_state_t *)cinfo->client_data;
    if (level < 0) {
        cinfo->err->num_warnings++;
        if (cinfo->err->msg_code == JWRN_JPEG_EOF) st->truncated = 1;
    }
}

static void on_output_message(j_common_ptr cinfo) { (void)cinfo; }

static void on_progress(j_common_ptr cinfo)
{
    jpeg_state_t *st = (jpeg_state_t *)cinfo->client_data;
    j_decompress_ptr d = (j_decompress_ptr)cinfo;
    if (st->max_scans > 0 && d->input_scan_number > st->max_scans) {
        snprintf(st->msg, sizeof st->msg, "too many progressive scans (> %d)", st->max_scans);
        longjmp(st->jb, 1);
    }
}

/* dec->exif from the APP1 "Exif" marker libjpeg saved (its memory: valid until the
 * decompressor is aborted or destroyed). */
static void take_exif(vision_decoder_t *dec, jpeg_state_t *st)
{
    for (jpeg_saved_marker_ptr m = st->cinfo.marker_list; m; m = m->next)
        if (m->marker == JPEG_APP0 + 1 && m->data_length > 6 && !memcmp(m->data, "Exif\0\0", 6)) {
            vision_decoder_set_exif(dec, m->data, m->data_length);
            break;
        }
}

int vision_jpeg_open(vision_decoder_t *dec, const uint8_t *data, size_t len,
                     const vision_decode_limits_t *lim, vision_error_t *err)
{
    jpeg_state_t *st = calloc(1, sizeof *st);
    if (!st) { vision_error_set(err, 500, "internal_error", "Out of memory"); return -1; }
    dec->codec = st;
    st->cinfo.err = jpeg_std_error(&st->jerr);
    st->jerr.error_exit = on_error_exit;
    st->jerr.emit_message = on_emit_message;
    st->jerr.output_message = on_output_message;
    st->cinfo.client_data = st;
    st->max_scans = lim ? lim->max_scans : 0;
    if (setjmp(st->jb)) {
        vision_error_set(err, 400, st->truncated ? "truncated_image" : "corrupt_image",
                         "Invalid JPEG: %s", st->msg);
        return -1;
    }
    jpeg_create_decompress(&st->cinfo);
    if (lim && lim->max_decoder_bytes) st->cinfo.mem->max_memory_to_use = (long)lim->max_decoder_bytes;
    st->progress.progress_monitor = on_progress;
    st->cinfo.progress = &st->progress;
    st->data = data;
    st->len = len;
    jpeg_mem_src(&st->cinfo, data, (unsigned long)len);
    jpeg_save_markers(&st->cinfo, JPEG_APP0 + 1, 0xFFFF);
    if (jpeg_read_header(&st->cinfo, TRUE) != JPEG_HEADER_OK) {
        vision_error_set(err, 400, "corrupt_image", "Invalid JPEG: no image");
        return -1;
    }
    dec->width = (int)st->cinfo.image_width;
    dec->height = (int)st->cinfo.image_height;
    dec->progressive = jpeg_has_multiple_scans(&st->cinfo) ? 1 : 0;
    take_exif(dec, st);
    return 0;
}

/* Pillow's CMYK -> RGB (Convert.c cmyk2rgb): R = (255-K) - (255-K)*C/255, rounded. */
static void cmyk_row_to_rgb(const uint8_t *in, uint8_t *out, int w, int inverted)
{
    for (int x = 0; x < w; x++, in += 4, out += 3) {
        int k = inverted ? 255 - in[3] : in[3], nk = 255 - k;
        for (int ch = 0; ch < 3; ch++) {
            int c = inverted ? 255 - in[ch] : in[ch];
            int t = c * nk + 128;
            int v = nk - (((t >> 8) + t) >> 8);
            out[ch] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
        }
    }
}

/* libjpeg's error message as our verdict. */
static void set_jpeg_error(jpeg_state_t *st, vision_error_t *err)
{
    int mem = strstr(st->msg, "memory") || strstr(st->msg, "Backing store");
    int scans = strstr(st->msg, "progressive scans") != NULL;
    vision_error_set(err, mem ? 413 : 400,
                     mem ? "too_many_pixels" : scans ? "too_many_scans"
                         : st->truncated ? "truncated_image" : "corrupt_image",
                     mem ? "JPEG needs more decoder memory than allowed: %s" : "Invalid JPEG: %s",
                     st->msg);
}

/* One decoding attempt. use_hook lets our entropy decoder (jpeg_dc.c) stand in for
 * libjpeg's; returns 0, -1 (err set), or 1 when it declined the stream midway (nothing
 * set: the caller decodes again without it, so libjpeg alone judges the file). */
static int decode_attempt(vision_decoder_t *dec, int min_side, int min_long, int orientation,
                          vision_image_t *out, vision_error_t *err, int use_hook)
{
    jpeg_state_t *st = dec->codec;
    j_decompress_ptr ci = &st->cinfo;
    uint8_t *volatile rowbuf = NULL;
    vision_jpeg_mcu_hook_t *volatile hook = NULL;
    if (setjmp(st->jb)) {
        free(rowbuf);
        vision_image_free(out);
        int declined = vision_jpeg_mcu_hook_failed(hook);
        vision_jpeg_mcu_hook_release(ci, hook);
        if (declined) return 1;
        set_jpeg_error(st, err);
        return -1;
    }
    int d = 1, longer = dec->width > dec->height ? dec->width : dec->height;
    if (min_side > 0)
        for (d = 8; d > 1; d /= 2)
            if (dec->width >= min_side * d && dec->height >= min_side * d && longer >= min_long * d) break;
    ci->scale_num = 1;
    ci->scale_denom = (unsigned)d;
    int cmyk = ci->jpeg_color_space == JCS_CMYK || ci->jpeg_color_space == JCS_YCCK;
    ci->out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
    if (d == 8 && !cmyk && use_hook && vision_jpeg_dc_enabled()) {
        /* Our DC-only decoder for the 1/8 case; it declines anything unusual, and then
         * libjpeg below decodes (or rejects) the file as before. */
        int rc = vision_jpeg_dc_decode(ci, orientation, out);
        if (rc == JPEG_DC_NOMEM) {
            snprintf(st->msg, sizeof st->msg, "out of memory");
            longjmp(st->jb, 1);
        }
        if (rc == JPEG_DC_OK) {
            dec->scale_denom = d;
            dec->decoded_width = (int)ci->output_width;
            dec->decoded_height = (int)ci->output_height;
            return 0;
        }
    }
    jpeg_start_decompress(ci);
    if (use_hook && vision_jpeg_dc_enabled()) hook = vision_jpeg_mcu_hook_install(ci);
    int w = (int)ci->output_width, h = (int)ci->output_height, swap = orientation >= 5;
    if (vision_image_alloc(out, swap ? h : w, swap ? w : h, 3) != 0) {
        snprintf(st->msg, sizeof st->msg, "cannot allocate %dx%d", w, h);
        longjmp(st->jb, 1);
    }
    /* Upright, non-CMYK rows go straight into the image; others through an 8-row buffer
     * (CMYK converted there, oriented rows scattered from there). */
    int direct = orientation == 1 && !cmyk;
    if (!direct) {
        rowbuf = malloc((size_t)w * (cmyk ? 4 : 3) * 8 + (size_t)w * 3 * 8);
        if (!rowbuf) { snprintf(st->msg, sizeof st->msg, "out of memory"); longjmp(st->jb, 1); }
    }
    uint8_t *rgb8 = rowbuf ? rowbuf + (size_t)w * (cmyk ? 4 : 3) * 8 : NULL;
    while (ci->output_scanline < ci->output_height) {
        int y0 = (int)ci->output_scanline;
        int n = (int)(ci->output_height - ci->output_scanline);
        if (n > 8) n = 8;
        JSAMPROW rows[8];
        size_t pix = cmyk ? 4 : 3;
        for (int i = 0; i < n; i++)
            rows[i] = direct ? out->px + (size_t)(y0 + i) * w * 3 : rowbuf + (size_t)i * w * pix;
        int got = (int)jpeg_read_scanlines(ci, rows, (JDIMENSION)n);
        if (got <= 0) break;
        if (direct) continue;
        const uint8_t *src = rowbuf;
        if (cmyk) {
            for (int i = 0; i < got; i++)
                cmyk_row_to_rgb(rowbuf + (size_t)i * w * 4, rgb8 + (size_t)i * w * 3, w, ci->saw_Adobe_marker);
            src = rgb8;
        }
        vision_image_place_rows(out, orientation, w, h, y0, src, got);
    }
    free(rowbuf);
    rowbuf = NULL;
    vision_jpeg_mcu_hook_release(ci, hook);
    hook = NULL;
    if (ci->output_scanline < ci->output_height || st->truncated) {
        vision_image_free(out);
        vision_error_set(err, 400, "truncated_image", "Invalid JPEG: the file is truncated");
        return -1;
    }
    dec->scale_denom = d;
    dec->decoded_width = w;
    dec->decoded_height = h;
    return 0;
}

int vision_jpeg_decode(vision_decoder_t *dec, int min_side, int min_long, int orientation,
                       vision_image_t *out, vision_error_t *err)
{
    int rc = decode_attempt(dec, min_side, min_long, orientation, out, err, 1);
    if (rc != 1) return rc;
    /* Our entropy decoder found the stream unclean: start over with libjpeg alone. The
     * saved EXIF marker lived in the aborted image's memory; point at the new one. */
    jpeg_state_t *st = dec->codec;
    if (setjmp(st->jb)) {
        set_jpeg_error(st, err);
        return -1;
    }
    jpeg_abort_decompress(&st->cinfo);
    st->truncated = 0;
    st->jerr.num_warnings = 0;
    jpeg_mem_src(&st->cinfo, st->data, (unsigned long)st->len);
    jpeg_read_header(&st->cinfo, TRUE);
    if (dec->exif && dec->exif != dec->exif_owned) {
        dec->exif = NULL;
        dec->exif_len = 0;
        take_exif(dec, st);
    }
    return decode_attempt(dec, min_side, min_long, orientation, out, err, 0);
}

void vision_jpeg_close(vision_decoder_t *dec)
{
    jpeg_state_t *st = dec->codec;
    if (!st) return;
    /* jpeg_destroy cannot fail, but guard anyway since error_exit longjmps. */
    if (!setjmp(st->jb)) jpeg_destroy_decompress(&st->cinfo);
    free(st);
    dec->codec = NULL;
}
