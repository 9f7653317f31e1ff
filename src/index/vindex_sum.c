/* vindex_sum.c — the checksum of index files: four independent 64-bit multiply-rotate lanes
 * (the xxHash64 round) over 32-byte blocks, then a mixing finaliser. Not cryptographic; it
 * is there to catch torn writes, truncation and flipped bits at memory speed (~10+ GB/s), so
 * a large snapshot can be verified on every load. */
#include "index/vindex_impl.h"
#include <string.h>

#define P1 0x9E3779B185EBCA87ULL
#define P2 0xC2B2AE3D27D4EB4FULL
#define P3 0x165667B19E3779F9ULL
#define P4 0x85EBCA77C2B2AE63ULL
#define P5 0x27D4EB2F165667C5ULL

static inline uint64_t rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }
static inline uint64_t round1(uint64_t acc, uint64_t in) { return rotl(acc + in * P2, 31) * P1; }
static inline uint64_t rd64(const uint8_t *p) { uint64_t x; memcpy(&x, p, 8); return x; }

void vsum_init(vsum_t *s)
{
    memset(s, 0, sizeof *s);
    s->acc[0] = P1 + P2; s->acc[1] = P2; s->acc[2] = 0; s->acc[3] = (uint64_t)0 - P1;
}

static void blocks(vsum_t *s, const uint8_t *p, size_t nblk)
{
    uint64_t a = s->acc[0], b = s->acc[1], c = s->acc[2], d = s->acc[3];
    for (size_t i = 0; i < nblk; i++, p += 32) {
        a = round1(a, rd64(p)); b = round1(b, rd64(p + 8));
        c = round1(c, rd64(p + 16)); d = round1(d, rd64(p + 24));
    }
    s->acc[0] = a; s->acc[1] = b; s->acc[2] = c; s->acc[3] = d;
}

void vsum_update(vsum_t *s, const void *data, size_t len)
{
    const uint8_t *p = data;
    s->total += len;
    if (s->nbuf) {
        size_t take = 32 - s->nbuf < len ? 32 - s->nbuf : len;
        memcpy(s->buf + s->nbuf, p, take);
        s->nbuf += take; p += take; len -= take;
        if (s->nbuf < 32) return;
        blocks(s, s->buf, 1);
        s->nbuf = 0;
    }
    blocks(s, p, len / 32);
    p += len / 32 * 32;
    len %= 32;
    memcpy(s->buf, p, len);
    s->nbuf = len;
}

uint64_t vsum_final(const vsum_t *s)
{
    uint64_t h = rotl(s->acc[0], 1) + rotl(s->acc[1], 7) + rotl(s->acc[2], 12) + rotl(s->acc[3], 18);
    for (int i = 0; i < 4; i++) h = (h ^ round1(0, s->acc[i])) * P1 + P4;
    h += s->total;
    size_t i = 0;
    for (; i + 8 <= s->nbuf; i += 8) h = rotl(h ^ round1(0, rd64(s->buf + i)), 27) * P1 + P4;
    for (; i < s->nbuf; i++) h = rotl(h ^ (s->buf[i] * P5), 11) * P1;
    h ^= h >> 33; h *= P2; h ^= h >> 29; h *= P3; h ^= h >> 32;
    return h;
}

uint64_t vsum(const void *data, size_t len)
{
    vsum_t s;
    vsum_init(&s);
    vsum_update(&s, data, len);
    return vsum_final(&s);
}
