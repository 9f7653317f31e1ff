/* jpeg_huff.h — Huffman decoding shared by our two JPEG entropy decoders (internal to
 * src/vision): the DC-only 1/8 decoder (jpeg_dc.c) and the MCU decoder that stands in for
 * libjpeg's (jpeg_mcu.c).
 *
 * Tables come from libjpeg's parsed JHUFF_TBLs in the forms the loops need: a code
 * lookahead, DC and AC "code + magnitude in one lookup" tables, and the multi-symbol AC
 * skip table. The bit reader reads MSB-first from the file in memory, undoing byte
 * stuffing; it never reads outside [p, end): at a marker or the end it supplies zero bits
 * (as libjpeg does) and counts them in pad, so callers can tell a block that used them.
 * Every decoding rule copies libjpeg-turbo's jdhuff.c (canonical codes, the checks
 * jpeg_make_d_derived_tbl makes, HUFF_EXTEND, the natural-order guard entries); the hot
 * functions are static inline so each decoder's loop keeps the bit buffer in registers. */
#ifndef RODEO_VISION_JPEG_HUFF_H
#define RODEO_VISION_JPEG_HUFF_H
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <jpeglib.h>

#define HUFF_LOOK_BITS 12      /* code lookahead used to build the tables below */
#define HUFF_SKIP_BITS 14      /* multi-symbol AC skip table (16-bit entries: 32 KiB) */
#define HUFF_DC_BITS 9         /* DC code + magnitude table */
#define HUFF_AC_BITS 11        /* AC code + value table (full-coefficient decoding) */

/* One Huffman table in the forms this decoder uses. */
typedef struct {
    int32_t maxcode[18];          /* largest code of each length, -1 if none (jdhuff.c) */
    int32_t valoff[18];           /* symbol index = code + valoff[length] */
    uint8_t val[256];
    int32_t *dc;                  /* [1<<HUFF_DC_BITS] (diff << 8) | bits, 0 = slow path */
    int32_t *ac;                  /* [1<<HUFF_AC_BITS] (value << 16) | zflag<<12 | run<<8 | bits */
    uint16_t *skip;               /* [1<<HUFF_SKIP_BITS] bits | eob<<4 | adv<<5 | last_adv<<11 */
    uint16_t look[1 << HUFF_LOOK_BITS];/* (length << 8) | symbol for codes of <= HUFF_LOOK_BITS bits */
} huff_table_t;

#define HUFF_AC_ZFLAG (1 << 12)        /* symbol with no magnitude bits: EOB (run < 15) or ZRL */
#define HUFF_SKIP_EOB (1u << 4)

/* The bit reader: bits MSB-first in buf; nbits of them are valid (pad of those are the
 * zero bits supplied after a marker or the end of the data). */
typedef struct {
    uint64_t buf;
    int nbits, pad;
    const uint8_t *p, *end;
    const uint8_t *ff;            /* next 0xFF at or after p, or end */
    int stop;                     /* 1 = p is at a marker's 0xFF, 2 = end of data */
} huff_reader_t;


/* libjpeg's jpeg_natural_order with its 16 guard entries (a corrupt run past 63 lands
 * on coefficient 63, not outside the block). */
extern const uint8_t huff_natural_order[64 + 16];

/* Table set of one decode: the DC and AC slots of a file, initialised on first use. */
typedef struct {
    huff_table_t *dc[NUM_HUFF_TBLS], *ac[NUM_HUFF_TBLS];
} huff_set_t;

/* Slot no (0..3) of kind dc/ac from ci's parsed tables. NULL where libjpeg would refuse
 * the table or none is defined (libjpeg would then substitute its standard tables: left
 * to it); *oom set on allocation failure. */
huff_table_t *huff_set_get(huff_set_t *set, j_decompress_ptr ci, int is_dc, int no, int *oom);
void huff_set_free(huff_set_t *set);
/* The lookup forms, built once per table on demand; 0 or -1 (out of memory). */
int  huff_build_dc(huff_table_t *t);
int  huff_build_ac(huff_table_t *t);
int  huff_build_skip(huff_table_t *t);

/* The next 0xFF at or after p (or end): bytes before it need no unstuffing. */
const uint8_t *huff_next_ff(const uint8_t *p, const uint8_t *end);
/* Byte-at-a-time refill near a 0xFF or the end (the inline huff_fill handles the rest). */
void huff_refill_slow(huff_reader_t *br);

static inline int huff_extend(int x, int s) { return s && x < (1 << (s - 1)) ? x - (1 << s) + 1 : x; }

/* The bit buffer the decoding loops work on: a local of the loop (kept in registers;
 * huff_reader_t stays in memory and holds it only around the slow refill). */
typedef struct {
    uint64_t buf;
    int nbits;
} huff_bits_t;

/* Tops b up to at least 57 bits. The fast path loads 8 bytes when none of them is 0xFF
 * (br->ff, found with memchr, says how far that holds); it may leave bits of the next,
 * not yet counted byte below nbits, the same bits the next refill ORs in. */
static inline __attribute__((always_inline)) void huff_fill(huff_reader_t *br, huff_bits_t *b)
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
    huff_refill_slow(br);
    b->buf = br->buf;
    b->nbits = br->nbits;
}

static inline __attribute__((always_inline)) void huff_need(huff_reader_t *br, huff_bits_t *b, int n)
{
    if (b->nbits < n) huff_fill(br, b);
}

static inline void huff_drop(huff_bits_t *b, int n)
{
    b->buf <<= n;
    b->nbits -= n;
}

static inline int huff_get_bits(huff_bits_t *b, int n)
{
    if (!n) return 0;
    int v = (int)(b->buf >> (64 - n));
    huff_drop(b, n);
    return v;
}

/* One symbol whose code and magnitude bits do not fit the fast tables: the code from the
 * lookahead table, or jpeg_huff_decode's canonical walk for codes longer than
 * HUFF_LOOK_BITS (no shorter code matched, so its walk would reach that length too);
 * -1 = bad code. Needs >= 16 bits in the buffer. */
static inline int huff_slow_symbol(huff_bits_t *b, const huff_table_t *t)
{
    unsigned e = t->look[b->buf >> (64 - HUFF_LOOK_BITS)];
    if (e) {
        huff_drop(b, (int)(e >> 8));
        return (int)(e & 0xFF);
    }
    int l = HUFF_LOOK_BITS + 1;
    int32_t code = (int32_t)(b->buf >> (64 - l));
    while (code > t->maxcode[l]) {
        if (++l > 16) return -1;
        code = (int32_t)(b->buf >> (64 - l));
    }
    huff_drop(b, l);
    return t->val[(code + t->valoff[l]) & 0xFF];
}

/* DC difference; 0 on success. */
static inline int huff_decode_dc(huff_reader_t *br, huff_bits_t *b, const huff_table_t *t, int *diff)
{
    huff_need(br, b, HUFF_DC_BITS);
    int32_t e = t->dc[b->buf >> (64 - HUFF_DC_BITS)];
    if (e & 0xFF) {
        huff_drop(b, e & 0xFF);
        *diff = e >> 8;
        return 0;
    }
    huff_need(br, b, 32);
    int s = huff_slow_symbol(b, t);
    if (s < 0) return -1;
    *diff = huff_extend(huff_get_bits(b, s), s);
    return 0;
}

/* The loops below copy the buffer and table pointers into locals: the build uses
 * -fno-strict-aliasing, so through pointers GCC would store and reload them around
 * every table lookup, which puts a store-to-load round trip on the critical path. */
#define HUFF_LOCAL_NEED(n)                \
    do {                                  \
        if (nbits < (n)) {                \
            b->buf = buf;                 \
            b->nbits = nbits;             \
            huff_fill(br, b);             \
            buf = b->buf;                 \
            nbits = b->nbits;             \
        }                                 \
    } while (0)
#define HUFF_LOCAL_SYNC_OUT() do { b->buf = buf; b->nbits = nbits; } while (0)
#define HUFF_LOCAL_SYNC_IN() do { buf = b->buf; nbits = b->nbits; } while (0)

/* Passes over the 63 AC coefficients of a block; 0 on success. The hot loop of the
 * whole decoder: one skip-table step per iteration, the buffer topped up only when
 * fewer bits remain than a step can consume. */
static inline int huff_skip_ac(huff_reader_t *br, huff_bits_t *b, const huff_table_t *t)
{
    const uint16_t *skip = t->skip;
    uint64_t buf = b->buf;
    int nbits = b->nbits, k = 1, rc = 0;
    for (;;) {
        HUFF_LOCAL_NEED(HUFF_SKIP_BITS);
        unsigned e = skip[buf >> (64 - HUFF_SKIP_BITS)];
        int adv = (int)(e >> 5) & 63;
        if (e && k + adv - (int)(e >> 11) < 64) {
            buf <<= e & 15;
            nbits -= (int)(e & 15);
            if (e & HUFF_SKIP_EOB) break;
            k += adv;
        } else {
            HUFF_LOCAL_NEED(32);
            HUFF_LOCAL_SYNC_OUT();
            int sym = huff_slow_symbol(b, t), r = sym >> 4, s = sym & 15;
            if (sym >= 0 && s) huff_drop(b, s);
            HUFF_LOCAL_SYNC_IN();
            if (sym < 0) { rc = -1; break; }
            if (s) k += r + 1;
            else if (r == 15) k += 16;
            else break;
        }
        if (k >= 64) break;
    }
    HUFF_LOCAL_SYNC_OUT();
    return rc;
}

/* Decodes a block's AC values into blk (zeroed by the caller), as decode_mcu does, and
 * returns in *used whether any coefficient the 2x2 IDCT reads (rows and columns 0, 1,
 * 3, 5, 7, DC aside) is non-zero; 0 on success. */
#define HUFF_IDCT2_USED 0xAB00AB00AB00ABAAull  /* bit r*8+c for r, c in {0,1,3,5,7}, not 0 */
static inline int huff_decode_ac(huff_reader_t *br, huff_bits_t *b, const huff_table_t *t, int16_t *blk, int *used)
{
    const int32_t *ac = t->ac;
    uint64_t buf = b->buf, nz = 0;
    int nbits = b->nbits, rc = 0;
    for (int k = 1; k < 64; k++) {
        HUFF_LOCAL_NEED(HUFF_AC_BITS);
        int32_t e = ac[buf >> (64 - HUFF_AC_BITS)];
        if (e & 0xFF) {
            buf <<= e & 0xFF;
            nbits -= e & 0xFF;
            int r = (e >> 8) & 15;
            if (e & HUFF_AC_ZFLAG) {
                if (r != 15) break;
                k += 15;
                continue;
            }
            k += r;
            int pos = huff_natural_order[k];
            blk[pos] = (int16_t)(e >> 16);
            nz |= 1ull << pos;
            continue;
        }
        HUFF_LOCAL_NEED(32);
        HUFF_LOCAL_SYNC_OUT();
        int sym = huff_slow_symbol(b, t);
        int r = sym >> 4, s = sym & 15, v = sym >= 0 && s ? huff_extend(huff_get_bits(b, s), s) : 0;
        HUFF_LOCAL_SYNC_IN();
        if (sym < 0) { rc = -1; break; }
        if (s) {
            k += r;
            int pos = huff_natural_order[k];
            blk[pos] = (int16_t)v;
            nz |= v ? 1ull << pos : 0;
        } else if (r != 15) {
            break;
        } else {
            k += 15;
        }
    }
    HUFF_LOCAL_SYNC_OUT();
    *used = (nz & HUFF_IDCT2_USED) != 0;
    return rc;
}

/* Restart marker handling after an interval: drop the buffered bits, expect RSTn right
 * where the data stopped. Anything else (extra bytes, another marker) is libjpeg's job. */
static inline __attribute__((always_inline)) int huff_restart(huff_reader_t *br, huff_bits_t *b, int *rst_num)
{
    if (br->stop == 2 || br->end - br->p < 2 || br->p[0] != 0xFF ||
        br->p[1] != 0xD0 + *rst_num)
        return -1;
    if (br->pad > b->nbits) return -1;        /* the interval used padding bits */
    br->p += 2;
    br->ff = huff_next_ff(br->p, br->end);
    b->buf = 0;
    b->nbits = br->pad = br->stop = 0;
    *rst_num = (*rst_num + 1) & 7;
    return 0;
}

#endif
