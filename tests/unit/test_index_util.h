/* test_index_util.h — data generation and brute-force ground truth for the index tests,
 * written independently of src/index (double precision, plain loops). */
#ifndef RODEO_TEST_INDEX_UTIL_H
#define RODEO_TEST_INDEX_UTIL_H
#include <stdint.h>
#include <stdlib.h>
#include <math.h>
#include "index/vindex.h"

static inline uint64_t tiu_next(uint64_t *s)
{
    *s ^= *s << 13; *s ^= *s >> 7; *s ^= *s << 17;
    return *s;
}
static inline double tiu_unif(uint64_t *s) { return ((tiu_next(s) >> 11) + 0.5) / 9007199254740992.0; }
static inline double tiu_gauss(uint64_t *s)
{
    return sqrt(-2.0 * log(tiu_unif(s))) * cos(6.283185307179586 * tiu_unif(s));
}

/* n points from a mixture of `clusters` Gaussians (centres ~N(0,1), spread sigma), optionally
 * normalised to unit length. */
static inline float *tiu_clustered(size_t n, size_t dim, size_t clusters, double sigma,
                                   int normalise, uint64_t seed)
{
    uint64_t s = seed * 2654435761u + 1;
    float *c = malloc(clusters * dim * sizeof(float));
    float *x = malloc(n * dim * sizeof(float));
    for (size_t i = 0; i < clusters * dim; i++) c[i] = (float)tiu_gauss(&s);
    for (size_t i = 0; i < n; i++) {
        size_t k = tiu_next(&s) % clusters;
        double norm = 0;
        for (size_t j = 0; j < dim; j++) {
            float t = c[k * dim + j] + (float)(sigma * tiu_gauss(&s));
            x[i * dim + j] = t;
            norm += (double)t * t;
        }
        if (normalise && norm > 0)
            for (size_t j = 0; j < dim; j++) x[i * dim + j] /= (float)sqrt(norm);
    }
    free(c);
    return x;
}

/* Indexes (0..n-1) of the k best rows for query q; keep[i] == 0 excludes row i. */
static inline void tiu_brute(const float *x, size_t n, size_t dim, const float *q, size_t k,
                             vindex_metric_t metric, const unsigned char *keep, uint64_t *out)
{
    double *best = malloc(k * sizeof *best);
    size_t nb = 0;
    for (size_t i = 0; i < n; i++) {
        if (keep && !keep[i]) continue;
        double d = 0, qq = 0, xx = 0;
        for (size_t j = 0; j < dim; j++) {
            double a = q[j], b = x[i * dim + j];
            if (metric == VINDEX_L2) d += (a - b) * (a - b);
            else { d -= a * b; qq += a * a; xx += b * b; }
        }
        if (metric == VINDEX_COSINE && qq > 0 && xx > 0) d /= sqrt(qq * xx);
        size_t pos = nb;
        while (pos > 0 && best[pos - 1] > d) pos--;
        if (pos >= k) continue;
        size_t end = nb < k ? nb : k - 1;
        for (size_t m = end; m > pos; m--) { best[m] = best[m - 1]; out[m] = out[m - 1]; }
        best[pos] = d;
        out[pos] = i;
        if (nb < k) nb++;
    }
    for (size_t i = nb; i < k; i++) out[i] = UINT64_MAX;
    free(best);
}

/* |found ∩ truth| / k */
static inline double tiu_recall(const vindex_hit_t *h, size_t nh, const uint64_t *truth, size_t k)
{
    size_t hit = 0;
    for (size_t i = 0; i < nh; i++)
        for (size_t j = 0; j < k; j++)
            if (truth[j] == h[i].id) { hit++; break; }
    return (double)hit / k;
}
#endif
