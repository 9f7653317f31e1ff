/* clip_catalog.h — the synthetic CLIP catalog of the matcher benchmarks (clip_latency,
 * clip_match): random unit vectors from a fixed xorshift stream, so every run fills the
 * catalog with the same entries, spread over 8 categories and 40 brands. */
#ifndef BENCH_CLIP_CATALOG_H
#define BENCH_CLIP_CATALOG_H
#include "recog/clipmatch.h"
#include <math.h>
#include <stdint.h>
#include <stdio.h>

static uint64_t bench_rng = 88172645463325252ULL;

/* One N(0,1) draw (Box-Muller over two xorshift64 outputs). */
static inline float bench_gauss(void)
{
    bench_rng ^= bench_rng << 13; bench_rng ^= bench_rng >> 7; bench_rng ^= bench_rng << 17;
    double u = ((double)(bench_rng >> 11) + 0.5) / 9007199254740992.0;
    bench_rng ^= bench_rng << 13; bench_rng ^= bench_rng >> 7; bench_rng ^= bench_rng << 17;
    double w = (double)(bench_rng >> 11) / 9007199254740992.0;
    return (float)(sqrt(-2 * log(u)) * cos(6.283185307179586 * w));
}

/* v = a uniformly random direction of dimension dim. */
static inline void bench_unit(float *v, int dim)
{
    double ss = 0;
    for (int k = 0; k < dim; k++) { v[k] = bench_gauss(); ss += (double)v[k] * v[k]; }
    for (int k = 0; k < dim; k++) v[k] = (float)(v[k] / sqrt(ss));
}

/* Adds N image entries (ids 1..N, product = id) to c; v: scratch of recog_clip_dim(c) floats. */
static inline void bench_fill_catalog(recog_clip_t *c, long N, float *v)
{
    static const char *cats[8] = { "boots", "hats", "saddles", "belts", "buckles", "vests", "jeans", "jackets" };
    int dim = recog_clip_dim(c);
    char brand[32];
    for (long i = 0; i < N; i++) {
        bench_unit(v, dim);
        snprintf(brand, sizeof brand, "Brand%ld", i % 40);
        recog_clip_add(c, RECOG_CLIP_IMAGE, i + 1, i + 1, cats[i % 8], brand, v);
    }
}
#endif
