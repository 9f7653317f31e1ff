/* jpeg_huff.c — building the Huffman lookup tables and the slow refill of the bit
 * reader (see jpeg_huff.h). */
#include "vision/jpeg_huff.h"
#include <stdlib.h>

/* libjpeg's jpeg_natural_order with its 16 guard entries (a corrupt run past 63 lands
 * on coefficient 63, not outside the block). */
const uint8_t huff_natural_order[64 + 16] = {
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5,
    12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
    35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
    58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
    63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63
};



/* jpeg_make_d_derived_tbl's checks and canonical codes; -1 where libjpeg would fail. */
static int huff_table_init(huff_table_t *t, const JHUFF_TBL *src, int is_dc)
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
                if (l <= HUFF_LOOK_BITS) {
                    int shift = HUFF_LOOK_BITS - l, base = code << shift;
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

int huff_build_dc(huff_table_t *t)
{
    if (t->dc) return 0;
    t->dc = calloc(1u << HUFF_DC_BITS, sizeof *t->dc);
    if (!t->dc) return -1;
    for (int i = 0; i < (1 << HUFF_DC_BITS); i++) {
        int e = t->look[i << (HUFF_LOOK_BITS - HUFF_DC_BITS)], l = e >> 8, s = e & 15;
        if (!e || l + s > HUFF_DC_BITS) continue;
        int extra = (i >> (HUFF_DC_BITS - l - s)) & ((1 << s) - 1);
        t->dc[i] = (int32_t)((uint32_t)huff_extend(extra, s) << 8) | (l + s);
    }
    return 0;
}

int huff_build_ac(huff_table_t *t)
{
    if (t->ac) return 0;
    t->ac = calloc(1u << HUFF_AC_BITS, sizeof *t->ac);
    if (!t->ac) return -1;
    for (int i = 0; i < (1 << HUFF_AC_BITS); i++) {
        int e = t->look[i << (HUFF_LOOK_BITS - HUFF_AC_BITS)], l = e >> 8, sym = e & 0xFF;
        int r = sym >> 4, s = sym & 15;
        if (!e || l + s > HUFF_AC_BITS) continue;
        if (!s) { t->ac[i] = HUFF_AC_ZFLAG | (r << 8) | l; continue; }
        int extra = (i >> (HUFF_AC_BITS - l - s)) & ((1 << s) - 1);
        t->ac[i] = (int32_t)((uint32_t)huff_extend(extra, s) << 16) | (r << 8) | (l + s);
    }
    return 0;
}

/* The skip table: for every HUFF_SKIP_BITS-bit window, the run of whole symbols (codes plus
 * magnitude bits) it contains, stopping after end-of-block and before the positions
 * passed would reach 64. last_adv (the positions the run's last symbol advances; 0 when
 * it is end-of-block) lets the decoder check that the block had not already ended
 * before that symbol. Codes are found with the HUFF_LOOK_BITS lookahead, so a code longer
 * than that ends a run (the decoder's slow path takes it). */
int huff_build_skip(huff_table_t *t)
{
    if (t->skip) return 0;
    t->skip = calloc(1u << HUFF_SKIP_BITS, sizeof *t->skip);
    if (!t->skip) return -1;
    const unsigned mask = (1u << HUFF_SKIP_BITS) - 1;
    for (unsigned i = 0; i <= mask; i++) {
        int o = 0, adv = 0, last = 0, eob = 0;
        while (o < HUFF_SKIP_BITS) {
            unsigned win = (i << o) & mask;
            int e = HUFF_SKIP_BITS >= HUFF_LOOK_BITS ? t->look[win >> (HUFF_SKIP_BITS - HUFF_LOOK_BITS)]
                                           : t->look[win << (HUFF_LOOK_BITS - HUFF_SKIP_BITS)];
            int l = e >> 8, sym = e & 0xFF, r = sym >> 4, s = sym & 15;
            if (!e || o + l + s > HUFF_SKIP_BITS) break;
            if (!s && r != 15) { o += l; eob = 1; last = 0; break; }
            int a = s ? r + 1 : 16;
            if (adv + a > 63) break;
            o += l + s;
            adv += a;
            last = a;
        }
        if (o)
            t->skip[i] = (uint16_t)(o | (eob ? HUFF_SKIP_EOB : 0) | adv << 5 | last << 11);
    }
    return 0;
}

static void huff_table_free(huff_table_t *t)
{
    if (!t) return;
    free(t->dc);
    free(t->ac);
    free(t->skip);
    free(t);
}

huff_table_t *huff_set_get(huff_set_t *set, j_decompress_ptr ci, int is_dc, int no, int *oom)
{
    if (no < 0 || no >= NUM_HUFF_TBLS) return NULL;
    huff_table_t **slot = is_dc ? &set->dc[no] : &set->ac[no];
    if (*slot) return *slot;
    huff_table_t *t = calloc(1, sizeof *t);
    if (!t) { *oom = 1; return NULL; }
    if (huff_table_init(t, is_dc ? ci->dc_huff_tbl_ptrs[no] : ci->ac_huff_tbl_ptrs[no], is_dc) != 0) {
        free(t);
        return NULL;
    }
    *slot = t;
    return t;
}

void huff_set_free(huff_set_t *set)
{
    for (int i = 0; i < NUM_HUFF_TBLS; i++) {
        huff_table_free(set->dc[i]);
        huff_table_free(set->ac[i]);
        set->dc[i] = set->ac[i] = NULL;
    }
}


/* The next 0xFF at or after p (or end): bytes before it need no unstuffing. */
const uint8_t *huff_next_ff(const uint8_t *p, const uint8_t *end)
{
    const uint8_t *q = p < end ? memchr(p, 0xFF, (size_t)(end - p)) : NULL;
    return q ? q : end;
}

/* Byte at a time, near a 0xFF or the end: undoes byte stuffing (FF 00, and FF FF .. 00
 * as libjpeg accepts it); at a marker or the end of the data, supplies zero bits and
 * counts them in pad. */
void huff_refill_slow(huff_reader_t *br)
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
    if (br->ff < br->p) br->ff = huff_next_ff(br->p, br->end);
}
