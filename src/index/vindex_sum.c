/* vindex_sum.c — the checksum of index files, fast enough to verify a multi-gigabyte
 * snapshot on every load.
 *
 * Per 64-byte block b (8 lanes of u64 x[i]), with k = KEY[i] + b * STEP (position-dependent,
 * so swapped or shifted blocks change the sum):
 *     dk = x[i] ^ k;   acc[i] += (dk & 0xffffffff) * (dk >> 32);   acc[i ^ 1] += x[i]
 * (the XXH3 accumulate step: the data is also added raw to the neighbour lane, so a product
 * that happens to be zero cannot hide a change). There is no dependency between blocks other
 * than one add per lane, so the AVX2 version runs at memory speed; the portable version
 * computes the identical value. The finaliser mixes the lanes, the length and the tail bytes
 * (< 64) with xxHash64-style avalanching. Not cryptographic: it catches torn writes,
 * truncation and flipped bits. */
#include "index/vindex_impl.h"
#include <immintrin.h>
#include <string.h>

#define P1 0x9E3779B185EBCA87ULL
#define P2 0xC2B2AE3D27D4EB4FULL
#define P3 0x165667B19E3779F9ULL
#define P4 0x85EBCA77C2B2AE63ULL
#define STEP 0x9FB21C651E98DF25ULL

static const uint64_t KEY[8] = {
    0xbe4ba423396cfeb8ULL, 0x1cad21f72c81017cULL, 0xdb979083e96dd4deULL, 0x1f67b3b7a4a44072ULL,
    0x78e5c0cc4ee679cbULL, 0x2172ffcc7dd05a82ULL, 0x8e2443f7744608b8ULL, 0x4c263a81e69035e0ULL};

static inline uint64_t rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }
static inline uint64_t rd64(const uint8_t *p) { uint64_t x; memcpy(&x, p, 8); return x; }

static void blocks_c(uint64_t *acc, const uint8_t *p, size_t nblk, uint64_t b0)
{
    for (size_t b = 0; b < nblk; b++, p += 64) {
        uint64_t off = (b0 + b) * STEP;
        for (int i = 0; i < 8; i++) {
            uint64_t x = rd64(p + 8 * i), dk = x ^ (KEY[i] + off);
            acc[i] += (dk & 0xffffffffULL) * (dk >> 32);
            acc[i ^ 1] += x;
        }
    }
}

__attribute__((target("avx2"))) static void blocks_avx2(uint64_t *acc, const uint8_t *p, size_t nblk,
                                                       uint64_t b0)
{
    __m256i a0 = _mm256_loadu_si256((const __m256i *)acc);
    __m256i a1 = _mm256_loadu_si256((const __m256i *)(acc + 4));
    const __m256i k0 = _mm256_loadu_si256((const __m256i *)KEY);
    const __m256i k1 = _mm256_loadu_si256((const __m256i *)(KEY + 4));
    __m256i off = _mm256_set1_epi64x((long long)(b0 * STEP));
    const __m256i step = _mm256_set1_epi64x((long long)STEP);
    for (size_t b = 0; b < nblk; b++, p += 64) {
        __m256i x0 = _mm256_loadu_si256((const __m256i *)p);
        __m256i x1 = _mm256_loadu_si256((const __m256i *)(p + 32));
        __m256i d0 = _mm256_xor_si256(x0, _mm256_add_epi64(k0, off));
        __m256i d1 = _mm256_xor_si256(x1, _mm256_add_epi64(k1, off));
        a0 = _mm256_add_epi64(a0, _mm256_mul_epu32(d0, _mm256_srli_epi64(d0, 32)));
        a1 = _mm256_add_epi64(a1, _mm256_mul_epu32(d1, _mm256_srli_epi64(d1, 32)));
        /* acc[i ^ 1] += x[i]: swap adjacent 64-bit lanes */
        a0 = _mm256_add_epi64(a0, _mm256_shuffle_epi32(x0, 0x4e));
        a1 = _mm256_add_epi64(a1, _mm256_shuffle_epi32(x1, 0x4e));
        off = _mm256_add_epi64(off, step);
    }
    _mm256_storeu_si256((__m256i *)acc, a0);
    _mm256_storeu_si256((__m256i *)(acc + 4), a1);
}

static int use_avx2(void)
{
    static int v = -1;
    int r = __atomic_load_n(&v, __ATOMIC_RELAXED);
    if (r < 0) {
        __builtin_cpu_init();
        r = __builtin_cpu_supports("avx2") ? 1 : 0;
        __atomic_store_n(&v, r, __ATOMIC_RELAXED);
    }
    return r;
}

static void blocks(vsum_t *s, const uint8_t *p, size_t nblk)
{
    if (!nblk) return;
    if (use_avx2()) blocks_avx2(s->acc, p, nblk, s->nblocks);
    else blocks_c(s->acc, p, nblk, s->nblocks);
    s->nblocks += nblk;
}

void vsum_init(vsum_t *s)
{
    memset(s, 0, sizeof *s);
    for (int i = 0; i < 8; i++) s->acc[i] = P1 * (uint64_t)(i + 1);
}

void vsum_update(vsum_t *s, const void *data, size_t len)
{
    const uint8_t *p = data;
    s->total += len;
    if (s->nbuf) {
        size_t take = 64 - s->nbuf < len ? 64 - s->nbuf : len;
        memcpy(s->buf + s->nbuf, p, take);
        s->nbuf += take; p += take; len -= take;
        if (s->nbuf < 64) return;
        blocks(s, s->buf, 1);
        s->nbuf = 0;
    }
    blocks(s, p, len / 64);
    p += len / 64 * 64;
    len %= 64;
    memcpy(s->buf, p, len);
    s->nbuf = len;
}

static inline uint64_t round1(uint64_t acc, uint64_t in) { return rotl(acc + in * P2, 31) * P1; }

uint64_t vsum_final(const vsum_t *s)
{
    uint64_t h = s->total * P1;
    for (int i = 0; i < 8; i++) h = rotl(h ^ round1(0, s->acc[i]), 27) * P1 + P4;
    size_t i = 0;
    for (; i + 8 <= s->nbuf; i += 8) h = rotl(h ^ round1(0, rd64(s->buf + i)), 27) * P1 + P4;
    for (; i < s->nbuf; i++) h = rotl(h ^ (s->buf[i] * P3), 11) * P1;
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

/* The portable path, for tests that check both paths agree. */
uint64_t vsum_portable(const void *data, size_t len)
{
    vsum_t s;
    vsum_init(&s);
    const uint8_t *p = data;
    s.total = len;
    blocks_c(s.acc, p, len / 64, 0);
    s.nblocks = len / 64;
    memcpy(s.buf, p + len / 64 * 64, len % 64);
    s.nbuf = len % 64;
    return vsum_final(&s);
}
