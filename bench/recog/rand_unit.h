/* rand_unit.h — random unit vectors for the CLIP matcher benchmarks (clip_latency, clip_match):
 * a fixed xorshift stream, so every run fills the catalog with the same entries. */
#ifndef BENCH_RAND_UNIT_H
#define BENCH_RAND_UNIT_H
#include <math.h>
#include <stdint.h>

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
#endif
