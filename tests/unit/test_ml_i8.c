/* test_ml_i8.c — the int8 matrix product (gemm_i8.c) against a scalar int8 reference that
 * shares nothing with the kernel but the quantised inputs: exact equality of the results on
 * both the VNNI kernel and the portable loop, quantisation of hand-computed rows, hostile
 * inputs (zero and non-finite rows, non-finite weights, impossible sizes), and the
 * persistent thread pool the products run on. */
#include "test.h"
#include "ml/gemm_i8.h"
#include "ml/kernels.h"
#include "ml/pool.h"
#include "core/buf.h"
#include <cblas.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

static float frand(void) { return (float)rand() / RAND_MAX * 2.0f - 1.0f; }

/* out = x W^T through the reference: quantise rows with gemm_i8_quantize_row, read the
 * quantised weights back with gemm_i8_weight, sum (xq - 128) * wq in 64-bit integers. */
static void reference(float *out, const float *x, const gemm_i8_mat_t *q, const float *bias, int m, int accumulate)
{
    int n = q->n, k = q->k;
    uint8_t *xq = xmalloc((size_t)k);
    for (int r = 0; r < m; r++) {
        float sx = gemm_i8_quantize_row(xq, x + (size_t)r * k, k);
        for (int c = 0; c < n; c++) {
            long long acc = 0;
            for (int i = 0; i < k; i++) acc += (long long)(xq[i] - 128) * gemm_i8_weight(q, c, i);
            float v = (float)acc * (sx * q->scale[c]);
            if (bias) v += bias[c];
            float *o = out + (size_t)r * n + c;
            *o = accumulate ? *o + v : v;
        }
    }
    free(xq);
}

/* Runs one shape on the current path; checks exact equality with the reference and that
 * the quantisation error against the float32 product stays small. */
static void i8_case(int m, int n, int k, int accumulate, int with_bias)
{
    float *bias = with_bias ? xmalloc((size_t)n * 4) : NULL;
    for (int i = 0; with_bias && i < n; i++) bias[i] = frand();
    float *x = xmalloc((size_t)m * k * 4), *w = xmalloc((size_t)n * k * 4);
    float *ref = xmalloc((size_t)m * n * 4), *out = xmalloc((size_t)m * n * 4), *f32 = xmalloc((size_t)m * n * 4);
    for (int i = 0; i < m * k; i++) x[i] = frand() * 3;
    for (int i = 0; i < n * k; i++) w[i] = frand() * 0.1f;
    for (int i = 0; i < m * n; i++) ref[i] = out[i] = f32[i] = accumulate ? (float)i * 0.01f : -7.0f;
    gemm_i8_mat_t *q = gemm_i8_quantize(w, n, k);
    if (!q) { test_fail(__FILE__, __LINE__, "quantize %dx%d failed", n, k); goto out; }
    reference(ref, x, q, bias, m, accumulate);
    gemm_i8(out, x, q, bias, m, accumulate);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1, x, k, w, k, accumulate ? 1 : 0, f32, n);
    for (int r = 0; with_bias && r < m; r++)
        for (int c = 0; c < n; c++) f32[(size_t)r * n + c] += bias[c];
    int bad = 0;
    double err = 0, norm = 0;
    for (int i = 0; i < m * n; i++) {
        if (out[i] != ref[i] && bad++ < 3)
            test_fail(__FILE__, __LINE__, "i8 %dx%dx%d acc %d: [%d] %.9g != %.9g", m, n, k, accumulate, i, out[i], ref[i]);
        err += (out[i] - f32[i]) * (double)(out[i] - f32[i]);
        norm += (double)f32[i] * f32[i];
    }
    /* two 8-bit roundings on uniform data: ~1% relative error in the products */
    if (norm > 0 && sqrt(err / norm) > 0.03)
        test_fail(__FILE__, __LINE__, "i8 %dx%dx%d: relative error %.4f vs float32", m, n, k, sqrt(err / norm));
out:
    free(q); free(x); free(w); free(ref); free(out); free(f32); free(bias);
}

static void all_cases(void)
{
    i8_case(1, 1, 1, 0, 0);
    i8_case(13, 37, 29, 0, 1);      /* one 12-row tile + a padded 4-row tile, column tail */
    i8_case(16, 64, 768, 1, 1);
    i8_case(50, 96, 130, 1, 0);     /* k not a multiple of 4 */
    i8_case(25, 33, 7, 0, 0);
    i8_case(3, 512, 64, 0, 1);      /* tail tile only */
    int old = ml_threads_get();
    ml_threads_set(2);
    i8_case(50, 300, 96, 0, 1);
    i8_case(401, 101, 40, 1, 0);
    i8_case(130, 300, 256, 1, 1);   /* above ml_pool_threads_for's threshold: two threads */
    ml_threads_set(old);
}

TEST(ml_gemm_i8_exact)
{
    srand(31);
    all_cases();                          /* the VNNI kernel where the CPU has it */
    gemm_i8_force_portable(1);
    all_cases();                          /* the portable loop */
    gemm_i8_force_portable(0);
}

/* The vector quantiser and the scalar one agree byte for byte. */
TEST(ml_gemm_i8_quantize)
{
    uint8_t q[40], q2[40];
    float x[40] = {1.0f, -1.0f, 0.5f, 0.0f, 0.25f};
    CHECK_NEAR(gemm_i8_quantize_row(q, x, 5), 1.0 / 127, 1e-9);
    CHECK_INT(q[0], 255);
    CHECK_INT(q[1], 1);
    CHECK_INT(q[2], 192);                 /* 63.5 rounds to even */
    CHECK_INT(q[3], 128);
    CHECK_INT(q[4], 160);                 /* 31.75 -> 32 */
    srand(5);
    for (int i = 0; i < 40; i++) x[i] = frand() * 50;
    float s1 = gemm_i8_quantize_row(q, x, 37);
    gemm_i8_force_portable(1);
    float s2 = gemm_i8_quantize_row(q2, x, 37);
    gemm_i8_force_portable(0);
    CHECK(s1 == s2);
    CHECK(!memcmp(q, q2, 37));
    /* weights: symmetric per row, the largest magnitude maps to +-127 */
    float w[2 * 6] = {0.5f, -1.0f, 0.25f, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    gemm_i8_mat_t *m = gemm_i8_quantize(w, 2, 6);
    REQUIRE(m);
    CHECK_INT(gemm_i8_weight(m, 0, 0), 64);           /* 63.5 -> 64 */
    CHECK_INT(gemm_i8_weight(m, 0, 1), -127);
    CHECK_INT(gemm_i8_weight(m, 0, 2), 32);
    CHECK_INT(gemm_i8_weight(m, 1, 3), 0);
    CHECK_INT(m->corr[0], 128 * (64 - 127 + 32));
    CHECK(m->scale[1] == 0.0f);                        /* an all-zero row */
    CHECK_INT(gemm_i8_weight(m, 5, 0), 0);             /* out of range */
    free(m);
}

TEST(ml_gemm_i8_hostile)
{
    float w[4 * 8], x[3 * 8], out[3 * 4];
    srand(8);
    for (int i = 0; i < 32; i++) w[i] = frand();
    CHECK(gemm_i8_quantize(w, 0, 8) == NULL);
    CHECK(gemm_i8_quantize(w, 4, 0) == NULL);
    CHECK(gemm_i8_quantize(w, 1, 65535 * 4 + 1) == NULL);   /* the int32 sums could overflow */
    w[5] = INFINITY;
    CHECK(gemm_i8_quantize(w, 4, 8) == NULL);
    w[5] = NAN;
    CHECK(gemm_i8_quantize(w, 4, 8) == NULL);
    w[5] = 0.5f;
    gemm_i8_mat_t *q = gemm_i8_quantize(w, 4, 8);
    REQUIRE(q);
    for (int pass = 0; pass < 2; pass++) {
        gemm_i8_force_portable(pass);
        for (int i = 0; i < 24; i++) x[i] = frand();
        for (int i = 0; i < 8; i++) x[i] = 0.0f;          /* row 0: zeros */
        x[8 + 3] = NAN;                                   /* row 1: not finite */
        gemm_i8(out, x, q, NULL, 3, 0);
        for (int c = 0; c < 4; c++) {
            CHECK(out[c] == 0.0f);
            CHECK(isnan(out[4 + c]));
            CHECK(isfinite(out[8 + c]));
        }
        x[8 + 3] = -INFINITY;
        gemm_i8(out, x, q, NULL, 3, 0);
        for (int c = 0; c < 4; c++) CHECK(isnan(out[4 + c]) && isfinite(out[8 + c]));
    }
    gemm_i8_force_portable(0);
    gemm_i8(out, x, q, NULL, 0, 0);                             /* no rows: nothing to do */
    free(q);
}

/* ---- the thread pool ----------------------------------------------------------------- */

typedef struct { atomic_int hits[16]; atomic_int calls; } pool_probe_t;

static void probe(void *arg, int t)
{
    pool_probe_t *p = arg;
    atomic_fetch_add(&p->hits[t], 1);
    atomic_fetch_add(&p->calls, 1);
}

static void *pool_caller(void *arg)
{
    pool_probe_t *p = arg;
    for (int i = 0; i < 200; i++) ml_pool_run(3, probe, p);
    return NULL;
}

TEST(ml_pool)
{
    pool_probe_t p;
    memset(&p, 0, sizeof p);
    for (int i = 0; i < 500; i++) ml_pool_run(4, probe, &p);
    for (int t = 0; t < 4; t++) CHECK_INT(atomic_load(&p.hits[t]), 500);
    CHECK_INT(atomic_load(&p.hits[4]), 0);
    CHECK(ml_pool_helpers() >= 3);
    ml_pool_run(1, probe, &p);                            /* runs inline */
    CHECK_INT(atomic_load(&p.hits[0]), 501);
    ml_pool_run(40, probe, &p);                           /* clamped to 16 */
    CHECK_INT(atomic_load(&p.hits[15]), 1);
    /* concurrent callers: one gets the pool, the other spawns threads; every job runs once */
    memset(&p, 0, sizeof p);
    pthread_t a, b;
    REQUIRE(pthread_create(&a, NULL, pool_caller, &p) == 0);
    REQUIRE(pthread_create(&b, NULL, pool_caller, &p) == 0);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    CHECK_INT(atomic_load(&p.calls), 2 * 200 * 3);
    for (int t = 0; t < 3; t++) CHECK_INT(atomic_load(&p.hits[t]), 400);
    /* small products stay on the calling thread */
    int old = ml_threads_get();
    ml_threads_set(2);
    CHECK_INT(ml_pool_threads_for(9, 512, 512), 1);
    CHECK_INT(ml_pool_threads_for(400, 768, 768), 2);
    ml_threads_set(old);
}
