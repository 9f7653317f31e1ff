/* clip_match.c — the matcher stage of the CLIP path alone (recog/clipmatch.h): N catalog
 * entries (random unit vectors, 8 categories x 40 brands, as clip_latency.c), then ITER
 * queries (random unit vectors) each unfiltered, with a category filter and with a brand
 * filter, timed in thread CPU time (the stage is single-threaded; wall time on this shared
 * machine is noisy). The label embeddings are computed before timing starts. Prints the
 * median and p90 per query kind, and the add time.
 * usage: clip_match MODEL_DIR [N=100000] [ITER=200] [KINDS=7: bit 0 unfiltered, 1 category, 2 brand] */
#include "recog/clipmatch.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "clip_catalog.h"

static double cpu_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc < 2) { fprintf(stderr, "usage: clip_match MODEL_DIR [N] [ITER]\n"); return 2; }
    long N = argc > 2 ? atol(argv[2]) : 100000;
    int iters = argc > 3 ? atoi(argv[3]) : 200;
    int kinds_mask = argc > 4 ? atoi(argv[4]) : 7;
    char err[300];
    clip_model_t *m = clip_load(argv[1], 0, err, sizeof err);
    if (!m) { fprintf(stderr, "%s\n", err); return 1; }
    recog_clip_t *c = recog_clip_new(m, err, sizeof err);
    if (!c) { fprintf(stderr, "%s\n", err); return 1; }
    int dim = recog_clip_dim(c);
    float *v = malloc(sizeof(float) * (size_t)dim);
    double a0 = cpu_us();
    bench_fill_catalog(c, N, v);
    double add_ms = (cpu_us() - a0) / 1000.0;
    static const char *kinds[3] = { "unfiltered", "category=hats", "brand=Brand7" };
    recog_query_t qs[3] = { { .top_k = 5 }, { .top_k = 5, .category = "hats" }, { .top_k = 5, .brand = "Brand7" } };
    recog_result_t r;
    for (int k = 0; k < 3; k++) {     /* label embeddings and first-touch faults, untimed */
        bench_unit(v, dim);
        recog_clip_query(c, v, &qs[k], &r);
    }
    double *t[3];
    double check = 0;
    for (int k = 0; k < 3; k++) t[k] = calloc((size_t)iters, sizeof(double));
    for (int it = 0; it < iters; it++) {
        bench_unit(v, dim);
        for (int k = 0; k < 3; k++) {
            if (!(kinds_mask >> k & 1)) continue;
            double s = cpu_us();
            recog_clip_query(c, v, &qs[k], &r);
            t[k][it] = cpu_us() - s;
            check += r.n_matches ? r.matches[0].global : 0;
        }
    }
    printf("%ld entries x %d dims, %d queries each; add %.0f ms CPU (%.2f us/entry); checksum %.6f\n", N, dim, iters,
           add_ms, add_ms * 1000.0 / (double)N, check);
    for (int k = 0; k < 3; k++) {
        if (!(kinds_mask >> k & 1)) { free(t[k]); continue; }
        qsort(t[k], (size_t)iters, sizeof(double), cmp_d);
        printf("  %-14s CPU p50 %8.1f us   p90 %8.1f us\n", kinds[k], t[k][iters / 2], t[k][(iters * 9) / 10]);
        free(t[k]);
    }
    free(v);
    recog_clip_free(c);
    clip_free(m);
    return 0;
}
