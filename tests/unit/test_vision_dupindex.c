/* test_vision_dupindex.c — near-duplicate lookup by pHash Hamming distance, checked
 * against a brute-force oracle on random data. */
#include "test.h"
#include "vision/dupindex.h"
#include <stdlib.h>

static uint64_t rnd64(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

TEST(vision_dupindex_basic)
{
    vision_dupindex_t *ix = vision_dupindex_new();
    vision_dup_match_t m[8];
    CHECK_INT(vision_dupindex_query(ix, 0, 64, m, 8), 0);
    vision_dupindex_add(ix, 1, 0x00000000000000ffull);
    vision_dupindex_add(ix, 2, 0x00000000000000f0ull);  /* distance 4 from id 1 */
    vision_dupindex_add(ix, 3, 0xffffffffffffffffull);
    vision_dupindex_add(ix, 4, 0x00000000000000ffull);  /* same photo again, later */
    CHECK_INT(vision_dupindex_count(ix), 4);
    size_t n = vision_dupindex_query(ix, 0xff, 4, m, 8);
    CHECK_INT(n, 3);
    CHECK_INT(m[0].id, 4);            /* exact, newest first */
    CHECK_INT(m[0].distance, 0);
    CHECK_INT(m[1].id, 1);
    CHECK_INT(m[2].id, 2);
    CHECK_INT(m[2].distance, 4);
    CHECK_INT(vision_dupindex_query(ix, 0xff, 3, m, 8), 2);
    CHECK_INT(vision_dupindex_query(ix, 0xff, 0, m, 1), 1);
    CHECK_INT(vision_dupindex_query(ix, 0xff, -1, m, 8), 0);
    CHECK_INT(vision_dupindex_query(ix, 0xff, 64, m, 0), 0);
    CHECK_INT(vision_dupindex_query(ix, 0xff, 99, m, 8), 4);   /* clamped to 64 */
    CHECK_INT(vision_dupindex_remove(ix, 4), 1);
    CHECK_INT(vision_dupindex_remove(ix, 4), 0);
    CHECK_INT(vision_dupindex_query(ix, 0xff, 0, m, 8), 1);
    CHECK_INT(m[0].id, 1);
    vision_dupindex_free(ix);
    vision_dupindex_free(NULL);
}

TEST(vision_dupindex_matches_brute_force)
{
    vision_dupindex_t *ix = vision_dupindex_new();
    enum { N = 5000 };
    static uint64_t h[N];
    uint64_t s = 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < N; i++) {
        /* Clusters: every 10th hash is a near copy of an earlier one. */
        h[i] = (i % 10 == 9) ? h[i - 5] ^ (1ull << (rnd64(&s) % 64)) ^ (1ull << (rnd64(&s) % 64)) : rnd64(&s);
        vision_dupindex_add(ix, i, h[i]);
    }
    int bad = 0;
    for (int q = 0; q < 50; q++) {
        uint64_t query = h[rnd64(&s) % N] ^ (1ull << (rnd64(&s) % 64));
        int maxd = (int)(rnd64(&s) % 12);
        vision_dup_match_t m[16];
        size_t n = vision_dupindex_query(ix, query, maxd, m, 16);
        /* Oracle: count within distance, and the distances must be the smallest ones. */
        int hist[65] = {0}, total = 0;
        for (int i = 0; i < N; i++) {
            int d = __builtin_popcountll(h[i] ^ query);
            if (d <= maxd) { hist[d]++; total++; }
        }
        size_t want = total < 16 ? (size_t)total : 16;
        if (n != want) bad++;
        int d = 0;
        for (size_t i = 0; i < n; i++) {
            while (d <= 64 && hist[d] == 0) d++;
            if (d > 64 || m[i].distance != d || __builtin_popcountll(h[m[i].id] ^ query) != d) { bad++; break; }
            hist[d]--;
        }
    }
    CHECK_INT(bad, 0);
    vision_dupindex_free(ix);
}
