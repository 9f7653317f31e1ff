/* jpeg_dc.c — 1/8-scale JPEG decoding that skips AC coefficients in bulk (see jpeg_dc.h).
 *
 * Why it is faster than libjpeg-turbo at the same job: at 1/8 a block whose component is
 * decoded with the 1x1 IDCT needs only its DC value, but the position of the next block
 * in the bit stream depends on every AC symbol in between. libjpeg resolves those symbols
 * one by one (code lookup, then a separate drop of the magnitude bits). Here a table
 * indexed by the next HUFF_SKIP_BITS bits of the stream says how many bits the whole run of
 * symbols that fits in those bits occupies (codes and magnitude bits together), how many
 * coefficient positions they advance, and whether the run ends with end-of-block, so the
 * usual photo block is skipped in a handful of lookups. Components that libjpeg decodes
 * with the 2x2 IDCT (4:2:0 chroma) need real AC values; those use a table that yields a
 * symbol and its value in one lookup.
 *
 * Exactness: every arithmetic step copies libjpeg-turbo 2.x (jdhuff.c decoding, JCOEF
 * 16-bit coefficients, short quantisers, jidctred.c jpeg_idct_1x1/2x2, the range-limit
 * table of jdmaster.c, jdcolor.c's YCbCr tables, replication upsampling since jdsample.c
 * disables fancy upsampling when min_DCT_scaled_size is 1); the unit tests compare the
 * output with libjpeg's own 1/8 decode pixel for pixel.
 *
 * Safety: the bit reader never reads past the end of the buffer; when it reaches a
 * marker or the end it supplies zero bits (as libjpeg does) and counts them, and any
 * block that used such bits, any invalid code, any unexpected marker makes the whole
 * decode return JPEG_DC_STREAM so the caller hands the file to libjpeg instead. */
#include "vision/jpeg_dc.h"
#include "vision/jpeg_huff.h"
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int h, v;                     /* sampling factors (as laid out in the MCU) */
    int ssize;                    /* libjpeg's DCT_scaled_size at 1/8: 1 or 2 */
    int hf, vf;                   /* replication factors up to output resolution */
    int16_t q[64];                /* quantiser, natural order, as libjpeg's short table */
    huff_table_t *dct, *act;
    uint32_t pred;                /* DC predictor; libjpeg's int, wrapping like it */
    uint8_t *plane;               /* one MCU row of reduced samples */
    int stride;                   /* samples per plane row */
    int *xidx;                    /* output column -> plane column */
} comp_t;

/* ---- reconstruction (jidctred.c, jdmaster.c, jdcolor.c) --------------------------- */

/* IDCT_range_limit(): index (x & 1023) for a centred value x; -128..127 map to 0..255,
 * larger values saturate, and out-of-range wraps exactly as libjpeg's table does. */
static uint8_t idct_limit[1024];
static int16_t cr_r[256], cb_b[256];
static int32_t cr_g[256], cb_g[256];

static void init_tables(void)
{
    for (int i = 0; i < 1024; i++)
        idct_limit[i] = (uint8_t)(i < 128 ? i + 128 : i < 512 ? 255 : i < 896 ? 0 : i - 896);
    for (int i = 0; i < 256; i++) {
        int32_t x = i - 128;
        cr_r[i] = (int16_t)((91881 * x + 32768) >> 16);    /* FIX(1.40200) */
        cb_b[i] = (int16_t)((116130 * x + 32768) >> 16);   /* FIX(1.77200) */
        cr_g[i] = -46802 * x;                              /* FIX(0.71414) */
        cb_g[i] = -22554 * x + 32768;                      /* FIX(0.34414), ONE_HALF */
    }
}

static inline uint8_t clamp255(int v) { return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v); }

/* jpeg_idct_1x1: DESCALE(dc * q, 3) through the range limit. */
static inline uint8_t idct_1x1(int16_t dc, int16_t q)
{
    int v = (int)dc * (int)q;
    return idct_limit[((v + 4) >> 3) & 1023];
}

/* jpeg_idct_2x2 (CONST_BITS 13, PASS1_BITS 2), out[0..1] and out[stride..stride+1].
 * libjpeg skips the odd-part arithmetic for all-zero columns and rows; the full
 * formula gives the same numbers there (the odd part is 0 and the even part's
 * rounding term falls away), so it is computed without those unpredictable branches. */
static void idct_2x2(const int16_t *in, const int16_t *q, uint8_t *out, int stride)
{
    static const int cols[5] = {0, 1, 3, 5, 7};
    int64_t ws[2][5];
    for (int i = 0; i < 5; i++) {
        const int16_t *ip = in + cols[i], *qp = q + cols[i];
        int64_t tmp10 = (int64_t)(ip[0] * qp[0]) * (1 << 15);
        int64_t tmp0 = (int64_t)(ip[56] * qp[56]) * -5906 + (int64_t)(ip[40] * qp[40]) * 6967 +
                       (int64_t)(ip[24] * qp[24]) * -10426 + (int64_t)(ip[8] * qp[8]) * 29692;
        /* libjpeg stores pass-1 results in an int workspace. */
        ws[0][i] = (int)((tmp10 + tmp0 + (1 << 12)) >> 13);
        ws[1][i] = (int)((tmp10 - tmp0 + (1 << 12)) >> 13);
    }
    for (int r = 0; r < 2; r++, out += stride) {
        const int64_t *w = ws[r];
        int64_t tmp10 = w[0] * (1 << 15);
        int64_t tmp0 = w[4] * -5906 + w[3] * 6967 + w[2] * -10426 + w[1] * 29692;
        out[0] = idct_limit[(int)((tmp10 + tmp0 + (1 << 19)) >> 20) & 1023];
        out[1] = idct_limit[(int)((tmp10 - tmp0 + (1 << 19)) >> 20) & 1023];
    }
}

/* ---- the decoder ------------------------------------------------------------------- */

typedef struct {
    comp_t comp[3];
    int ncomp;
    huff_set_t tables;
    uint8_t *rgb;                 /* output rows of one MCU row, upright order */
} ctx_t;

static void ctx_free(ctx_t *c)
{
    huff_set_free(&c->tables);
    for (int i = 0; i < c->ncomp; i++) {
        free(c->comp[i].plane);
        free(c->comp[i].xidx);
    }
    free(c->rgb);
}

/* Sets up components and tables; JPEG_DC_OK or the reason not to go on. */
static int setup(ctx_t *c, j_decompress_ptr ci, int out_w)
{
    if (ci->progressive_mode || ci->arith_code || ci->data_precision != 8) return JPEG_DC_UNSUPPORTED;
    if (!((ci->num_components == 3 && ci->jpeg_color_space == JCS_YCbCr) ||
          (ci->num_components == 1 && ci->jpeg_color_space == JCS_GRAYSCALE)))
        return JPEG_DC_UNSUPPORTED;
    if (ci->comps_in_scan != ci->num_components || ci->Ss != 0 || ci->Se != 63 || ci->Ah || ci->Al)
        return JPEG_DC_UNSUPPORTED;
    int blocks = 0, oom = 0;
    c->ncomp = ci->num_components;
    for (int s = 0; s < ci->comps_in_scan; s++) {
        jpeg_component_info *ji = ci->cur_comp_info[s];
        if (!ji || ji->component_index < 0 || ji->component_index >= c->ncomp) return JPEG_DC_UNSUPPORTED;
        comp_t *cp = &c->comp[ji->component_index];
        if (cp->dct) return JPEG_DC_UNSUPPORTED;          /* a component twice in the scan */
        int single = ci->comps_in_scan == 1;
        cp->h = single ? 1 : ji->h_samp_factor;
        cp->v = single ? 1 : ji->v_samp_factor;
        cp->ssize = single ? 1 : ji->DCT_scaled_size;
        if (cp->ssize != 1 && cp->ssize != 2) return JPEG_DC_UNSUPPORTED;
        int maxh = single ? 1 : ci->max_h_samp_factor, maxv = single ? 1 : ci->max_v_samp_factor;
        if (maxh % (cp->h * cp->ssize) || maxv % (cp->v * cp->ssize)) return JPEG_DC_UNSUPPORTED;
        cp->hf = maxh / (cp->h * cp->ssize);
        cp->vf = maxv / (cp->v * cp->ssize);
        blocks += cp->h * cp->v;
        JQUANT_TBL *qt = ji->quant_tbl_no >= 0 && ji->quant_tbl_no < NUM_QUANT_TBLS
                             ? ci->quant_tbl_ptrs[ji->quant_tbl_no] : NULL;
        if (!qt || ji->dc_tbl_no < 0 || ji->dc_tbl_no >= NUM_HUFF_TBLS || ji->ac_tbl_no < 0 ||
            ji->ac_tbl_no >= NUM_HUFF_TBLS)
            return JPEG_DC_UNSUPPORTED;
        for (int i = 0; i < 64; i++) cp->q[i] = (int16_t)qt->quantval[i];
        cp->dct = huff_set_get(&c->tables, ci, 1, ji->dc_tbl_no, &oom);
        cp->act = huff_set_get(&c->tables, ci, 0, ji->ac_tbl_no, &oom);
        if (oom) return JPEG_DC_NOMEM;
        if (!cp->dct || !cp->act) return JPEG_DC_UNSUPPORTED;
        if (huff_build_dc(cp->dct) || (cp->ssize == 1 ? huff_build_skip(cp->act) : huff_build_ac(cp->act)))
            return JPEG_DC_NOMEM;
        int mcus = (int)((ci->image_width + 8 * maxh - 1) / (8 * maxh));
        cp->stride = mcus * cp->h * cp->ssize;
        cp->plane = malloc((size_t)cp->stride * cp->v * cp->ssize);
        cp->xidx = malloc(sizeof(int) * (size_t)out_w);
        if (!cp->plane || !cp->xidx) return JPEG_DC_NOMEM;
        for (int x = 0; x < out_w; x++) cp->xidx[x] = x / cp->hf;
    }
    if (blocks > D_MAX_BLOCKS_IN_MCU) return JPEG_DC_UNSUPPORTED;
    return JPEG_DC_OK;
}

/* One output row (plane row index ry within the MCU row) converted to RGB. */
static void convert_row(const ctx_t *c, int ry, int w, uint8_t *dst)
{
    const comp_t *y = &c->comp[0];
    const uint8_t *py = y->plane + (size_t)(ry / y->vf) * y->stride;
    if (c->ncomp == 1) {
        for (int x = 0; x < w; x++, dst += 3) dst[0] = dst[1] = dst[2] = py[x];
        return;
    }
    const comp_t *b = &c->comp[1], *r = &c->comp[2];
    const uint8_t *pb = b->plane + (size_t)(ry / b->vf) * b->stride;
    const uint8_t *pr = r->plane + (size_t)(ry / r->vf) * r->stride;
    for (int x = 0; x < w; x++, dst += 3) {
        int Y = py[y->xidx[x]], cb = pb[b->xidx[x]], cr = pr[r->xidx[x]];
        dst[0] = clamp255(Y + cr_r[cr]);
        dst[1] = clamp255(Y + ((cb_g[cb] + cr_g[cr]) >> 16));
        dst[2] = clamp255(Y + cb_b[cb]);
    }
}

/* Decodes one block of component cp at plane position (bx, by) in blocks. */
static inline __attribute__((always_inline)) int decode_block(huff_reader_t *br, huff_bits_t *b, comp_t *cp, int bx, int by)
{
    int diff;
    if (huff_decode_dc(br, b, cp->dct, &diff)) return -1;
    cp->pred += (uint32_t)diff;
    int16_t dc = (int16_t)cp->pred;
    if (cp->ssize == 1) {
        cp->plane[(size_t)by * cp->stride + bx] = idct_1x1(dc, cp->q[0]);
        return huff_skip_ac(br, b, cp->act);
    }
    int16_t blk[64];
    int used;
    memset(blk, 0, sizeof blk);
    blk[0] = dc;
    if (huff_decode_ac(br, b, cp->act, blk, &used)) return -1;
    uint8_t *o = cp->plane + (size_t)by * 2 * cp->stride + bx * 2;
    if (used) {
        idct_2x2(blk, cp->q, o, cp->stride);
    } else {
        /* What jpeg_idct_2x2 computes when every coefficient it reads but DC is zero. */
        int ws = (int)((uint32_t)(dc * cp->q[0]) << 2);
        o[0] = o[1] = o[cp->stride] = o[cp->stride + 1] =
            idct_limit[(int)(((int64_t)ws + 16) >> 5) & 1023];
    }
    return 0;
}

static int decode_scan(ctx_t *c, j_decompress_ptr ci, int out_w, int out_h, int orientation,
                       vision_image_t *out)
{
    int single = ci->comps_in_scan == 1;
    int maxh = single ? 1 : ci->max_h_samp_factor, maxv = single ? 1 : ci->max_v_samp_factor;
    int mcus = (int)((ci->image_width + 8 * maxh - 1) / (8 * maxh));
    int rows = (int)((ci->image_height + 8 * maxv - 1) / (8 * maxv));
    huff_reader_t br = {0};
    huff_bits_t b = {0, 0};
    br.p = ci->src->next_input_byte;
    br.end = br.p + ci->src->bytes_in_buffer;
    br.ff = huff_next_ff(br.p, br.end);
    unsigned interval = ci->restart_interval, togo = interval;
    int rst_num = 0;
    comp_t *order[4];
    for (int s = 0; s < ci->comps_in_scan; s++) order[s] = &c->comp[ci->cur_comp_info[s]->component_index];
    for (int my = 0; my < rows; my++) {
        for (int mx = 0; mx < mcus; mx++) {
            if (interval && togo == 0) {
                if (huff_restart(&br, &b, &rst_num)) return JPEG_DC_STREAM;
                for (int i = 0; i < c->ncomp; i++) c->comp[i].pred = 0;
                togo = interval;
            }
            for (int s = 0; s < ci->comps_in_scan; s++) {
                comp_t *cp = order[s];
                for (int j = 0; j < cp->v; j++)
                    for (int i = 0; i < cp->h; i++)
                        if (decode_block(&br, &b, cp, mx * cp->h + i, j)) return JPEG_DC_STREAM;
            }
            if (interval) togo--;
        }
        if (br.pad > b.nbits) return JPEG_DC_STREAM;    /* used bits past a marker/end */
        int y0 = my * maxv, n = out_h - y0 < maxv ? out_h - y0 : maxv;
        for (int r = 0; r < n; r++)
            convert_row(c, r, out_w, orientation == 1 ? out->px + (size_t)(y0 + r) * out_w * 3
                                                      : c->rgb + (size_t)r * out_w * 3);
        if (orientation != 1) vision_image_place_rows(out, orientation, out_w, out_h, y0, c->rgb, n);
    }
    /* libjpeg stops reading at the last block without looking for EOI, but it would have
     * warned (and intake rejected the file) had it needed to read past the data's end. */
    if (br.stop == 2) return JPEG_DC_STREAM;
    return JPEG_DC_OK;
}

static _Atomic int dc_enabled = 1;

void vision_jpeg_dc_enable(int on) { dc_enabled = on ? 1 : 0; }
int vision_jpeg_dc_enabled(void) { return dc_enabled; }

int vision_jpeg_dc_decode(struct jpeg_decompress_struct *ci, int orientation, vision_image_t *out)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, init_tables);
    if (ci->scale_num != 1 || ci->scale_denom != 8 || ci->out_color_space != JCS_RGB ||
        ci->progressive_mode || ci->arith_code || !ci->src || !ci->src->next_input_byte)
        return JPEG_DC_UNSUPPORTED;
    jpeg_calc_output_dimensions(ci);
    if (ci->min_DCT_scaled_size != 1) return JPEG_DC_UNSUPPORTED;
    int w = (int)ci->output_width, h = (int)ci->output_height;
    if (w <= 0 || h <= 0) return JPEG_DC_UNSUPPORTED;
    ctx_t c;
    memset(&c, 0, sizeof c);
    int rc = setup(&c, ci, w);
    if (rc == JPEG_DC_OK && orientation != 1) {
        c.rgb = malloc((size_t)w * 3 * 4);
        if (!c.rgb) rc = JPEG_DC_NOMEM;
    }
    if (rc == JPEG_DC_OK) {
        int swap = orientation >= 5 && orientation <= 8;
        if (vision_image_alloc(out, swap ? h : w, swap ? w : h, 3) != 0) rc = JPEG_DC_NOMEM;
        else rc = decode_scan(&c, ci, w, h, orientation, out);
        if (rc != JPEG_DC_OK) vision_image_free(out);
    }
    ctx_free(&c);
    return rc;
}
