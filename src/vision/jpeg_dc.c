/* jpeg_dc.c — 1/8-scale JPEG decoding that skips AC coefficients in bulk (see jpeg_dc.h).
 *
 * Why it is faster than libjpeg-turbo at the same job: at 1/8 a block whose component is
 * decoded with the 1x1 IDCT needs only its DC value, but the position of the next block
 * in the bit stream depends on every AC symbol in between. libjpeg resolves those symbols
 * one by one (code lookup, then a separate drop of the magnitude bits). Here a table
 * indexed by the next SKIP_BITS bits of the stream says how many bits the whole run of
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
#define JPEG_INTERNALS    /* jpegint.h: the entropy decoder interface the MCU hook fills */
#include "vision/jpeg_dc.h"
#include <jerror.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define LOOK_BITS 12      /* code lookahead used to build the tables below */
#define SKIP_BITS 14      /* multi-symbol AC skip table (16-bit entries: 32 KiB) */
#define DC_BITS 9         /* DC code + magnitude table */
#define AC_BITS 11        /* AC code + value table (2x2 IDCT components) */

/* One Huffman table in the forms this decoder uses. */
typedef struct {
    int32_t maxcode[18];          /* largest code of each length, -1 if none (jdhuff.c) */
    int32_t valoff[18];           /* symbol index = code + valoff[length] */
    uint8_t val[256];
    int32_t *dc;                  /* [1<<DC_BITS] (diff << 8) | bits, 0 = slow path */
    int32_t *ac;                  /* [1<<AC_BITS] (value << 16) | zflag<<12 | run<<8 | bits */
    uint16_t *skip;               /* [1<<SKIP_BITS] bits | eob<<4 | adv<<5 | last_adv<<11 */
    uint16_t look[1 << LOOK_BITS];/* (length << 8) | symbol for codes of <= LOOK_BITS bits */
} htab_t;

#define AC_ZFLAG (1 << 12)        /* symbol with no magnitude bits: EOB (run < 15) or ZRL */
#define SKIP_EOB (1u << 4)

/* The bit reader: bits MSB-first in buf; nbits of them are valid (pad of those are the
 * zero bits supplied after a marker or the end of the data). */
typedef struct {
    uint64_t buf;
    int nbits, pad;
    const uint8_t *p, *end;
    const uint8_t *ff;            /* next 0xFF at or after p, or end */
    int stop;                     /* 1 = p is at a marker's 0xFF, 2 = end of data */
} bitreader_t;

typedef struct {
    int h, v;                     /* sampling factors (as laid out in the MCU) */
    int ssize;                    /* libjpeg's DCT_scaled_size at 1/8: 1 or 2 */
    int hf, vf;                   /* replication factors up to output resolution */
    int16_t q[64];                /* quantiser, natural order, as libjpeg's short table */
    htab_t *dct, *act;
    uint32_t pred;                /* DC predictor; libjpeg's int, wrapping like it */
    uint8_t *plane;               /* one MCU row of reduced samples */
    int stride;                   /* samples per plane row */
    int *xidx;                    /* output column -> plane column */
} comp_t;

/* libjpeg's jpeg_natural_order with its 16 guard entries (a corrupt run past 63 lands
 * on coefficient 63, not outside the block). */
static const uint8_t natural_order[64 + 16] = {
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5,
    12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
    35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
    58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
    63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63
};

/* ---- Huffman tables ---------------------------------------------------------------- */

static int extend(int x, int s) { return s && x < (1 << (s - 1)) ? x - (1 << s) + 1 : x; }

/* jpeg_make_d_derived_tbl's checks and canonical codes; -1 where libjpeg would fail. */
static int htab_init(htab_t *t, const JHUFF_TBL *src, int is_dc)
{
    if (!src) return -1;
    int p = 0, code = 0;
    for (int l = 1; l <= 16; l++) {
        p += src->bits[l];
        if (p > 256) return -1;
    }
    int nsym = p;
    memcpy(t->val, src->huffval, 256);
    if (is_dc)
        for (int i = 0; i < nsym; i++)
            if (t->val[i] > 15) return -1;
    memset(t->look, 0, sizeof t->look);
    p = 0;
    for (int l = 1; l <= 16; l++) {
        /* libjpeg: the codes of each length must fit in it and not be all ones. */
        if (src->bits[l] && code + src->bits[l] >= (1 << l)) return -1;
        if (src->bits[l]) {
            t->valoff[l] = p - code;
            for (int n = src->bits[l]; n--; p++, code++)
                if (l <= LOOK_BITS) {
                    int shift = LOOK_BITS - l, base = code << shift;
                    for (int f = 0; f < (1 << shift); f++)
                        t->look[base | f] = (uint16_t)((l << 8) | t->val[p]);
                }
            t->maxcode[l] = code - 1;
        } else {
            t->maxcode[l] = -1;
        }
        code <<= 1;
    }
    t->maxcode[17] = 0x7FFFFFFF;
    return 0;
}

static int htab_build_dc(htab_t *t)
{
    if (t->dc) return 0;
    t->dc = calloc(1u << DC_BITS, sizeof *t->dc);
    if (!t->dc) return -1;
    for (int i = 0; i < (1 << DC_BITS); i++) {
        int e = t->look[i << (LOOK_BITS - DC_BITS)], l = e >> 8, s = e & 15;
        if (!e || l + s > DC_BITS) continue;
        int extra = (i >> (DC_BITS - l - s)) & ((1 << s) - 1);
        t->dc[i] = (int32_t)((uint32_t)extend(extra, s) << 8) | (l + s);
    }
    return 0;
}

static int htab_build_ac(htab_t *t)
{
    if (t->ac) return 0;
    t->ac = calloc(1u << AC_BITS, sizeof *t->ac);
    if (!t->ac) return -1;
    for (int i = 0; i < (1 << AC_BITS); i++) {
        int e = t->look[i << (LOOK_BITS - AC_BITS)], l = e >> 8, sym = e & 0xFF;
        int r = sym >> 4, s = sym & 15;
        if (!e || l + s > AC_BITS) continue;
        if (!s) { t->ac[i] = AC_ZFLAG | (r << 8) | l; continue; }
        int extra = (i >> (AC_BITS - l - s)) & ((1 << s) - 1);
        t->ac[i] = (int32_t)((uint32_t)extend(extra, s) << 16) | (r << 8) | (l + s);
    }
    return 0;
}

/* The skip table: for every SKIP_BITS-bit window, the run of whole symbols (codes plus
 * magnitude bits) it contains, stopping after end-of-block and before the positions
 * passed would reach 64. last_adv (the positions the run's last symbol advances; 0 when
 * it is end-of-block) lets the decoder check that the block had not already ended
 * before that symbol. Codes are found with the LOOK_BITS lookahead, so a code longer
 * than that ends a run (the decoder's slow path takes it). */
static int htab_build_skip(htab_t *t)
{
    if (t->skip) return 0;
    t->skip = calloc(1u << SKIP_BITS, sizeof *t->skip);
    if (!t->skip) return -1;
    const unsigned mask = (1u << SKIP_BITS) - 1;
    for (unsigned i = 0; i <= mask; i++) {
        int o = 0, adv = 0, last = 0, eob = 0;
        while (o < SKIP_BITS) {
            unsigned win = (i << o) & mask;
            int e = SKIP_BITS >= LOOK_BITS ? t->look[win >> (SKIP_BITS - LOOK_BITS)]
                                           : t->look[win << (LOOK_BITS - SKIP_BITS)];
            int l = e >> 8, sym = e & 0xFF, r = sym >> 4, s = sym & 15;
            if (!e || o + l + s > SKIP_BITS) break;
            if (!s && r != 15) { o += l; eob = 1; last = 0; break; }
            int a = s ? r + 1 : 16;
            if (adv + a > 63) break;
            o += l + s;
            adv += a;
            last = a;
        }
        if (o)
            t->skip[i] = (uint16_t)(o | (eob ? SKIP_EOB : 0) | adv << 5 | last << 11);
    }
    return 0;
}

static void htab_free(htab_t *t)
{
    if (!t) return;
    free(t->dc);
    free(t->ac);
    free(t->skip);
    free(t);
}

/* ---- bit reader -------------------------------------------------------------------- */

/* The next 0xFF at or after p (or end): bytes before it need no unstuffing. */
static const uint8_t *next_ff(const uint8_t *p, const uint8_t *end)
{
    const uint8_t *q = p < end ? memchr(p, 0xFF, (size_t)(end - p)) : NULL;
    return q ? q : end;
}

/* Byte at a time, near a 0xFF or the end: undoes byte stuffing (FF 00, and FF FF .. 00
 * as libjpeg accepts it); at a marker or the end of the data, supplies zero bits and
 * counts them in pad. */
static __attribute__((noinline)) void refill_slow(bitreader_t *br)
{
    while (br->nbits <= 56) {
        if (br->stop) {
            br->pad += 64 - br->nbits;
            br->nbits = 64;
            break;
        }
        if (br->p >= br->end) { br->stop = 2; continue; }
        unsigned c = *br->p;
        if (c == 0xFF) {
            const uint8_t *q = br->p + 1;
            while (q < br->end && *q == 0xFF) q++;
            if (q >= br->end) { br->stop = 2; continue; }
            if (*q != 0) { br->p = q - 1; br->stop = 1; continue; }
            br->p = q + 1;
        } else {
            br->p++;
        }
        br->buf |= (uint64_t)c << (56 - br->nbits);
        br->nbits += 8;
    }
    if (br->ff < br->p) br->ff = next_ff(br->p, br->end);
}

/* The bit buffer the decoding loops work on: a local of the loop (kept in registers;
 * bitreader_t stays in memory and holds it only around the slow refill). */
typedef struct {
    uint64_t buf;
    int nbits;
} bits_t;

/* Tops b up to at least 57 bits. The fast path loads 8 bytes when none of them is 0xFF
 * (br->ff, found with memchr, says how far that holds); it may leave bits of the next,
 * not yet counted byte below nbits, the same bits the next refill ORs in. */
static inline __attribute__((always_inline)) void fill(bitreader_t *br, bits_t *b)
{
    if (br->ff - br->p >= 8) {
        uint64_t w;
        memcpy(&w, br->p, 8);
        w = __builtin_bswap64(w);
        b->buf |= w >> b->nbits;
        int take = (63 - b->nbits) >> 3;
        br->p += take;
        b->nbits += take << 3;
        return;
    }
    br->buf = b->buf;
    br->nbits = b->nbits;
    refill_slow(br);
    b->buf = br->buf;
    b->nbits = br->nbits;
}

static inline __attribute__((always_inline)) void need(bitreader_t *br, bits_t *b, int n)
{
    if (b->nbits < n) fill(br, b);
}

static inline void drop(bits_t *b, int n)
{
    b->buf <<= n;
    b->nbits -= n;
}

static inline int get_bits(bits_t *b, int n)
{
    if (!n) return 0;
    int v = (int)(b->buf >> (64 - n));
    drop(b, n);
    return v;
}

/* One symbol whose code and magnitude bits do not fit the fast tables: the code from the
 * lookahead table, or jpeg_huff_decode's canonical walk for codes longer than
 * LOOK_BITS (no shorter code matched, so its walk would reach that length too);
 * -1 = bad code. Needs >= 16 bits in the buffer. */
static inline int slow_symbol(bits_t *b, const htab_t *t)
{
    unsigned e = t->look[b->buf >> (64 - LOOK_BITS)];
    if (e) {
        drop(b, (int)(e >> 8));
        return (int)(e & 0xFF);
    }
    int l = LOOK_BITS + 1;
    int32_t code = (int32_t)(b->buf >> (64 - l));
    while (code > t->maxcode[l]) {
        if (++l > 16) return -1;
        code = (int32_t)(b->buf >> (64 - l));
    }
    drop(b, l);
    return t->val[(code + t->valoff[l]) & 0xFF];
}

/* DC difference; 0 on success. */
static inline int decode_dc(bitreader_t *br, bits_t *b, const htab_t *t, int *diff)
{
    need(br, b, DC_BITS);
    int32_t e = t->dc[b->buf >> (64 - DC_BITS)];
    if (e & 0xFF) {
        drop(b, e & 0xFF);
        *diff = e >> 8;
        return 0;
    }
    need(br, b, 32);
    int s = slow_symbol(b, t);
    if (s < 0) return -1;
    *diff = extend(get_bits(b, s), s);
    return 0;
}

/* The loops below copy the buffer and table pointers into locals: the build uses
 * -fno-strict-aliasing, so through pointers GCC would store and reload them around
 * every table lookup, which puts a store-to-load round trip on the critical path. */
#define LOCAL_NEED(n)                                                                   \
    do {                                                                                \
        if (nbits < (n)) {                                                              \
            b->buf = buf;                                                               \
            b->nbits = nbits;                                                           \
            fill(br, b);                                                                \
            buf = b->buf;                                                               \
            nbits = b->nbits;                                                           \
        }                                                                               \
    } while (0)
#define LOCAL_SYNC_OUT() do { b->buf = buf; b->nbits = nbits; } while (0)
#define LOCAL_SYNC_IN() do { buf = b->buf; nbits = b->nbits; } while (0)

/* Passes over the 63 AC coefficients of a block; 0 on success. The hot loop of the
 * whole decoder: one skip-table step per iteration, the buffer topped up only when
 * fewer bits remain than a step can consume. */
static inline int skip_ac(bitreader_t *br, bits_t *b, const htab_t *t)
{
    const uint16_t *skip = t->skip;
    uint64_t buf = b->buf;
    int nbits = b->nbits, k = 1, rc = 0;
    for (;;) {
        LOCAL_NEED(SKIP_BITS);
        unsigned e = skip[buf >> (64 - SKIP_BITS)];
        int adv = (int)(e >> 5) & 63;
        if (e && k + adv - (int)(e >> 11) < 64) {
            buf <<= e & 15;
            nbits -= (int)(e & 15);
            if (e & SKIP_EOB) break;
            k += adv;
        } else {
            LOCAL_NEED(32);
            LOCAL_SYNC_OUT();
            int sym = slow_symbol(b, t), r = sym >> 4, s = sym & 15;
            if (sym >= 0 && s) drop(b, s);
            LOCAL_SYNC_IN();
            if (sym < 0) { rc = -1; break; }
            if (s) k += r + 1;
            else if (r == 15) k += 16;
            else break;
        }
        if (k >= 64) break;
    }
    LOCAL_SYNC_OUT();
    return rc;
}

/* Decodes a block's AC values into blk (zeroed by the caller), as decode_mcu does, and
 * returns in *used whether any coefficient the 2x2 IDCT reads (rows and columns 0, 1,
 * 3, 5, 7, DC aside) is non-zero; 0 on success. */
#define IDCT2_USED 0xAB00AB00AB00ABAAull  /* bit r*8+c for r, c in {0,1,3,5,7}, not 0 */
static inline int decode_ac(bitreader_t *br, bits_t *b, const htab_t *t, int16_t *blk, int *used)
{
    const int32_t *ac = t->ac;
    uint64_t buf = b->buf, nz = 0;
    int nbits = b->nbits, rc = 0;
    for (int k = 1; k < 64; k++) {
        LOCAL_NEED(AC_BITS);
        int32_t e = ac[buf >> (64 - AC_BITS)];
        if (e & 0xFF) {
            buf <<= e & 0xFF;
            nbits -= e & 0xFF;
            int r = (e >> 8) & 15;
            if (e & AC_ZFLAG) {
                if (r != 15) break;
                k += 15;
                continue;
            }
            k += r;
            int pos = natural_order[k];
            blk[pos] = (int16_t)(e >> 16);
            nz |= 1ull << pos;
            continue;
        }
        LOCAL_NEED(32);
        LOCAL_SYNC_OUT();
        int sym = slow_symbol(b, t);
        int r = sym >> 4, s = sym & 15, v = sym >= 0 && s ? extend(get_bits(b, s), s) : 0;
        LOCAL_SYNC_IN();
        if (sym < 0) { rc = -1; break; }
        if (s) {
            k += r;
            int pos = natural_order[k];
            blk[pos] = (int16_t)v;
            nz |= v ? 1ull << pos : 0;
        } else if (r != 15) {
            break;
        } else {
            k += 15;
        }
    }
    LOCAL_SYNC_OUT();
    *used = (nz & IDCT2_USED) != 0;
    return rc;
}

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
    htab_t *dc[NUM_HUFF_TBLS], *ac[NUM_HUFF_TBLS];
    uint8_t *rgb;                 /* output rows of one MCU row, upright order */
} ctx_t;

static void ctx_free(ctx_t *c)
{
    for (int i = 0; i < NUM_HUFF_TBLS; i++) {
        htab_free(c->dc[i]);
        htab_free(c->ac[i]);
    }
    for (int i = 0; i < c->ncomp; i++) {
        free(c->comp[i].plane);
        free(c->comp[i].xidx);
    }
    free(c->rgb);
}

/* The table slot no of kind dc/ac, initialised on first use; NULL where libjpeg would
 * refuse the table (or none is defined: libjpeg would then substitute the standard
 * tables, which we leave to it). *oom set on allocation failure. */
static htab_t *get_table(ctx_t *c, j_decompress_ptr ci, int is_dc, int no, int *oom)
{
    htab_t **slot = is_dc ? &c->dc[no] : &c->ac[no];
    if (*slot) return *slot;
    htab_t *t = calloc(1, sizeof *t);
    if (!t) { *oom = 1; return NULL; }
    if (htab_init(t, is_dc ? ci->dc_huff_tbl_ptrs[no] : ci->ac_huff_tbl_ptrs[no], is_dc) != 0) {
        free(t);
        return NULL;
    }
    *slot = t;
    return t;
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
        cp->dct = get_table(c, ci, 1, ji->dc_tbl_no, &oom);
        cp->act = get_table(c, ci, 0, ji->ac_tbl_no, &oom);
        if (oom) return JPEG_DC_NOMEM;
        if (!cp->dct || !cp->act) return JPEG_DC_UNSUPPORTED;
        if (htab_build_dc(cp->dct) || (cp->ssize == 1 ? htab_build_skip(cp->act) : htab_build_ac(cp->act)))
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
static inline __attribute__((always_inline)) int decode_block(bitreader_t *br, bits_t *b, comp_t *cp, int bx, int by)
{
    int diff;
    if (decode_dc(br, b, cp->dct, &diff)) return -1;
    cp->pred += (uint32_t)diff;
    int16_t dc = (int16_t)cp->pred;
    if (cp->ssize == 1) {
        cp->plane[(size_t)by * cp->stride + bx] = idct_1x1(dc, cp->q[0]);
        return skip_ac(br, b, cp->act);
    }
    int16_t blk[64];
    int used;
    memset(blk, 0, sizeof blk);
    blk[0] = dc;
    if (decode_ac(br, b, cp->act, blk, &used)) return -1;
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

/* Restart marker handling after an interval: drop the buffered bits, expect RSTn right
 * where the data stopped. Anything else (extra bytes, another marker) is libjpeg's job. */
static inline __attribute__((always_inline)) int restart(bitreader_t *br, bits_t *b, int *rst_num)
{
    if (br->stop == 2 || br->end - br->p < 2 || br->p[0] != 0xFF ||
        br->p[1] != 0xD0 + *rst_num)
        return -1;
    if (br->pad > b->nbits) return -1;        /* the interval used padding bits */
    br->p += 2;
    br->ff = next_ff(br->p, br->end);
    b->buf = 0;
    b->nbits = br->pad = br->stop = 0;
    *rst_num = (*rst_num + 1) & 7;
    return 0;
}

static int decode_scan(ctx_t *c, j_decompress_ptr ci, int out_w, int out_h, int orientation,
                       vision_image_t *out)
{
    int single = ci->comps_in_scan == 1;
    int maxh = single ? 1 : ci->max_h_samp_factor, maxv = single ? 1 : ci->max_v_samp_factor;
    int mcus = (int)((ci->image_width + 8 * maxh - 1) / (8 * maxh));
    int rows = (int)((ci->image_height + 8 * maxv - 1) / (8 * maxv));
    bitreader_t br = {0};
    bits_t b = {0, 0};
    br.p = ci->src->next_input_byte;
    br.end = br.p + ci->src->bytes_in_buffer;
    br.ff = next_ff(br.p, br.end);
    unsigned interval = ci->restart_interval, togo = interval;
    int rst_num = 0;
    comp_t *order[4];
    for (int s = 0; s < ci->comps_in_scan; s++) order[s] = &c->comp[ci->cur_comp_info[s]->component_index];
    for (int my = 0; my < rows; my++) {
        for (int mx = 0; mx < mcus; mx++) {
            if (interval && togo == 0) {
                if (restart(&br, &b, &rst_num)) return JPEG_DC_STREAM;
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

/* ---- full-coefficient MCU decoder for libjpeg ------------------------------------- */

/* Stands in for libjpeg's Huffman entropy module (jdhuff.c) for the rest of a
 * single-scan decode: same coefficients, found with the code+value tables above. pub
 * must stay first: libjpeg calls through ci->entropy. */
struct vision_jpeg_mcu_hook {
    struct jpeg_entropy_decoder pub;
    struct jpeg_entropy_decoder *orig;
    bitreader_t br;
    htab_t *dc[NUM_HUFF_TBLS], *ac[NUM_HUFF_TBLS];
    const htab_t *blk_dc[D_MAX_BLOCKS_IN_MCU], *blk_ac[D_MAX_BLOCKS_IN_MCU];
    int blk_comp[D_MAX_BLOCKS_IN_MCU], nblocks;
    uint32_t pred[MAX_COMPS_IN_SCAN];
    unsigned interval, togo;
    int rst_num, failed;
    long mcus_left;
};

static void hook_start_pass(j_decompress_ptr ci) { (void)ci; }

/* Declines further work by raising a libjpeg error; the caller sees failed and decodes
 * the file again with libjpeg alone. */
static boolean hook_fail(j_decompress_ptr ci, vision_jpeg_mcu_hook_t *h)
{
    h->failed = 1;
    ERREXIT(ci, JERR_BAD_HUFF_TABLE);
    return FALSE;
}

static boolean hook_decode_mcu(j_decompress_ptr ci, JBLOCKROW *MCU_data)
{
    vision_jpeg_mcu_hook_t *h = (vision_jpeg_mcu_hook_t *)ci->entropy;
    bits_t b = {h->br.buf, h->br.nbits};
    if (h->interval) {
        if (h->togo == 0) {
            if (restart(&h->br, &b, &h->rst_num)) return hook_fail(ci, h);
            memset(h->pred, 0, sizeof h->pred);
            h->togo = h->interval;
        }
        h->togo--;
    }
    for (int k = 0; k < h->nblocks; k++) {
        JCOEF *blk = MCU_data[k][0];
        int diff, used;
        if (decode_dc(&h->br, &b, h->blk_dc[k], &diff)) return hook_fail(ci, h);
        h->pred[h->blk_comp[k]] += (uint32_t)diff;
        blk[0] = (JCOEF)(int16_t)h->pred[h->blk_comp[k]];
        if (decode_ac(&h->br, &b, h->blk_ac[k], blk, &used)) return hook_fail(ci, h);
    }
    h->br.buf = b.buf;
    h->br.nbits = b.nbits;
    if (h->br.pad > b.nbits) return hook_fail(ci, h);
    if (--h->mcus_left == 0 && h->br.stop == 2) return hook_fail(ci, h);
    return TRUE;
}

vision_jpeg_mcu_hook_t *vision_jpeg_mcu_hook_install(struct jpeg_decompress_struct *ci)
{
    if (ci->progressive_mode || ci->arith_code || ci->data_precision != 8 ||
        ci->global_state != DSTATE_SCANNING || ci->inputctl->has_multiple_scans ||
        ci->input_scan_number != 1 || ci->output_scanline != 0 || ci->Ss != 0 || ci->Se != 63 ||
        ci->Ah || ci->Al || !ci->src || !ci->entropy || ci->blocks_in_MCU > D_MAX_BLOCKS_IN_MCU)
        return NULL;
    /* Every component must need its AC coefficients (DCT scaling above 1x1). */
    for (int s = 0; s < ci->comps_in_scan; s++)
        if (!ci->cur_comp_info[s] || ci->cur_comp_info[s]->DCT_scaled_size < 2) return NULL;
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, init_tables);
    vision_jpeg_mcu_hook_t *h = calloc(1, sizeof *h);
    if (!h) return NULL;
    ctx_t tables;
    memset(&tables, 0, sizeof tables);
    int oom = 0, ok = 1;
    for (int b = 0; b < ci->blocks_in_MCU && ok; b++) {
        int m = ci->MCU_membership[b];
        jpeg_component_info *ji = m >= 0 && m < ci->comps_in_scan ? ci->cur_comp_info[m] : NULL;
        if (!ji || ji->dc_tbl_no < 0 || ji->dc_tbl_no >= NUM_HUFF_TBLS || ji->ac_tbl_no < 0 ||
            ji->ac_tbl_no >= NUM_HUFF_TBLS) { ok = 0; break; }
        const htab_t *dct = get_table(&tables, ci, 1, ji->dc_tbl_no, &oom);
        const htab_t *act = get_table(&tables, ci, 0, ji->ac_tbl_no, &oom);
        if (!dct || !act || htab_build_dc(tables.dc[ji->dc_tbl_no]) ||
            htab_build_ac(tables.ac[ji->ac_tbl_no])) { ok = 0; break; }
        h->blk_dc[b] = dct;
        h->blk_ac[b] = act;
        h->blk_comp[b] = m;
    }
    memcpy(h->dc, tables.dc, sizeof h->dc);
    memcpy(h->ac, tables.ac, sizeof h->ac);
    h->nblocks = ci->blocks_in_MCU;
    if (!ok) {
        vision_jpeg_mcu_hook_release(ci, h);
        return NULL;
    }
    h->br.p = ci->src->next_input_byte;
    h->br.end = h->br.p + ci->src->bytes_in_buffer;
    h->br.ff = next_ff(h->br.p, h->br.end);
    h->interval = ci->restart_interval;
    h->togo = h->interval;
    h->mcus_left = (long)ci->MCUs_per_row * (long)ci->MCU_rows_in_scan;
    h->pub.start_pass = hook_start_pass;
    h->pub.decode_mcu = hook_decode_mcu;
    h->pub.insufficient_data = FALSE;
    h->orig = ci->entropy;
    ci->entropy = &h->pub;
    return h;
}

int vision_jpeg_mcu_hook_failed(const vision_jpeg_mcu_hook_t *h) { return h && h->failed; }

void vision_jpeg_mcu_hook_release(struct jpeg_decompress_struct *ci, vision_jpeg_mcu_hook_t *h)
{
    if (!h) return;
    if (h->orig && ci->entropy == &h->pub) ci->entropy = h->orig;
    for (int i = 0; i < NUM_HUFF_TBLS; i++) {
        htab_free(h->dc[i]);
        htab_free(h->ac[i]);
    }
    free(h);
}
