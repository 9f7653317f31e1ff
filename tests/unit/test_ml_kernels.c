/* test_ml_kernels.c — the row kernels against double-precision formulas (both the AVX2 and
 * the portable versions), and the bf16 GEMM against sgemm on awkward sizes. */
#include "test.h"
#include "ml/kernels.h"
#include "ml/gemm_bf16.h"
#include "ml/gemm_f32.h"
#include "core/buf.h"
#include <cblas.h>
#include <stdlib.h>

static float frand(void) { return (float)rand() / RAND_MAX * 2.0f - 1.0f; }

static void kernels_once(void)
{
    enum { R = 3, C = 37 };
    float x[R * C], y[R * C], g[C], b[C];
    for (int i = 0; i < R * C; i++) x[i] = frand() * 4;
    for (int i = 0; i < C; i++) { g[i] = 1 + frand() * 0.2f; b[i] = frand() * 0.1f; }
    ml_layernorm(y, x, g, b, R, C, 1e-5f);
    for (int r = 0; r < R; r++) {
        double mean = 0, var = 0;
        for (int c = 0; c < C; c++) mean += x[r * C + c];
        mean /= C;
        for (int c = 0; c < C; c++) var += (x[r * C + c] - mean) * (x[r * C + c] - mean);
        var /= C;
        for (int c = 0; c < C; c++)
            CHECK_NEAR(y[r * C + c], (x[r * C + c] - mean) / sqrt(var + 1e-5) * g[c] + b[c], 2e-5);
    }
    /* in place */
    memcpy(y, x, sizeof x);
    ml_layernorm(y, y, g, b, R, C, 1e-5f);
    float y2[R * C];
    ml_layernorm(y2, x, g, b, R, C, 1e-5f);
    CHECK(!memcmp(y, y2, sizeof y));

    for (int act = ML_ACT_NONE; act <= ML_ACT_QUICK_GELU; act++) {
        memcpy(y, x, sizeof x);
        ml_bias_act(y, b, R, C, (enum ml_act)act);
        for (int i = 0; i < R * C; i++) {
            double v = x[i] + b[i % C], want = v;
            if (act == ML_ACT_GELU) want = 0.5 * v * (1 + erf(v / sqrt(2.0)));
            if (act == ML_ACT_QUICK_GELU) want = v / (1 + exp(-1.702 * v));
            CHECK_NEAR(y[i], want, 1e-5 * (1 + fabs(want)));
        }
    }
    float e[40];
    for (int i = 0; i < 40; i++) e[i] = -80.0f + 4.2f * i;       /* spans tiny and huge (but finite) results */
    float e2[40];
    memcpy(e2, e, sizeof e);
    ml_exp_inplace(e2, 40);
    for (int i = 0; i < 40; i++) CHECK_NEAR(e2[i], exp(e[i]), 3e-7 * exp(e[i]) + 1e-38);
    float s[10] = {1, 2, 3, 4, 1000, -1000, 0, 0, 0, 0};
    ml_softmax_row(s, 6, 10);
    double sum = 0;
    for (int i = 0; i < 6; i++) sum += s[i];
    CHECK_NEAR(sum, 1.0, 1e-6);
    CHECK_NEAR(s[4], 1.0, 1e-6);
    CHECK(s[6] == 0 && s[9] == 0);
    float causal[4] = {5, 7, 9, 11};
    ml_softmax_row(causal, 1, 4);
    CHECK(causal[0] == 1.0f && causal[1] == 0 && causal[3] == 0);
    float v[3] = {3, 4, 0}, z[3] = {0, 0, 0};
    ml_l2_normalize(v, 3);
    CHECK_NEAR(v[0], 0.6, 1e-7);
    ml_l2_normalize(z, 3);
    CHECK(z[0] == 0);
}

TEST(ml_kernels_math)
{
    srand(11);
    kernels_once();
    ml_kernels_force_avx2(1);              /* the AVX2 level on AVX-512 machines */
    CHECK(strcmp(ml_kernels_isa(), "avx512") != 0);
    srand(11);
    kernels_once();
    ml_kernels_force_avx2(0);
    ml_kernels_force_generic(1);
    CHECK_STR(ml_kernels_isa(), "generic");
    srand(11);
    kernels_once();
    ml_kernels_force_generic(0);
}

/* Against the formula in double: the OpenBLAS path (heads of 4), the AVX-512 path (heads of
 * 64) on token counts around its 4-row and 16/64-key blocks, and the generic fallback. */
static void attention_case(int T, int D, int H)
{
    float *q = xmalloc((size_t)T * D * 4), *k = xmalloc((size_t)T * D * 4), *v = xmalloc((size_t)T * D * 4);
    float *out = xmalloc((size_t)T * D * 4), *scratch = xmalloc((size_t)T * T * 4);
    double *w = xmalloc((size_t)T * 8);
    for (int i = 0; i < T * D; i++) { q[i] = frand(); k[i] = frand(); v[i] = frand(); }
    for (int causal = 0; causal < 2; causal++) {
        ml_attention(out, q, k, v, T, D, D, H, causal, scratch);
        int dh = D / H;
        for (int h = 0; h < H; h++)
            for (int i = 0; i < T; i++) {
                double mx = -1e30, sum = 0;
                int n = causal ? i + 1 : T;
                for (int j = 0; j < n; j++) {
                    double s = 0;
                    for (int c = 0; c < dh; c++) s += q[i * D + h * dh + c] * k[j * D + h * dh + c];
                    w[j] = s / sqrt((double)dh);
                    if (w[j] > mx) mx = w[j];
                }
                for (int j = 0; j < n; j++) { w[j] = exp(w[j] - mx); sum += w[j]; }
                for (int c = 0; c < dh; c++) {
                    double o = 0;
                    for (int j = 0; j < n; j++) o += w[j] / sum * v[j * D + h * dh + c];
                    if (fabs(out[i * D + h * dh + c] - o) > 1e-5) {
                        test_fail(__FILE__, __LINE__, "attention T %d D %d H %d causal %d: [%d][%d] %g vs %g",
                                  T, D, H, causal, i, h * dh + c, out[i * D + h * dh + c], o);
                        goto done;
                    }
                }
            }
    }
done:
    free(q); free(k); free(v); free(out); free(scratch); free(w);
}

TEST(ml_attention_matches_formula)
{
    srand(3);
    attention_case(7, 12, 3);
    static const int tokens[] = {1, 3, 4, 5, 16, 17, 50, 64, 65, 77, 130};
    for (int i = 0; i < (int)(sizeof tokens / sizeof *tokens); i++) attention_case(tokens[i], 128, 2);
    ml_kernels_force_generic(1);
    attention_case(50, 128, 2);
    ml_kernels_force_generic(0);
}

static void gemm_case(int m, int n, int k, int accumulate)
{
    float *x = xmalloc((size_t)m * k * 4), *w = xmalloc((size_t)n * k * 4);
    float *ref = xmalloc((size_t)m * n * 4), *out = xmalloc((size_t)m * n * 4), *out2 = xmalloc((size_t)m * n * 4);
    for (int i = 0; i < m * k; i++) x[i] = gemm_bf16_to_float(gemm_bf16_from_float(frand()));
    for (int i = 0; i < n * k; i++) w[i] = gemm_bf16_to_float(gemm_bf16_from_float(frand()));
    for (int i = 0; i < m * n; i++) ref[i] = out[i] = out2[i] = accumulate ? (float)i * 0.01f : 0.0f;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1, x, k, w, k, accumulate ? 1 : 0, ref, n);
    uint16_t *p = xmalloc(gemm_bf16_packed_size(n, k) * 2);
    gemm_bf16_pack(p, w, n, k);
    gemm_bf16(out, x, p, m, n, k, accumulate);
    gemm_bf16_force_portable(1);
    gemm_bf16(out2, x, p, m, n, k, accumulate);
    gemm_bf16_force_portable(0);
    /* inputs are exactly representable in bf16: only the float32 summation order differs */
    double maxd = 0, maxd2 = 0;
    for (int i = 0; i < m * n; i++) {
        double d = fabs(out[i] - ref[i]), d2 = fabs(out2[i] - ref[i]);
        if (d > maxd) maxd = d;
        if (d2 > maxd2) maxd2 = d2;
    }
    if (maxd > 1e-4 * k || maxd2 > 1e-4 * k)
        test_fail(__FILE__, __LINE__, "gemm %dx%dx%d acc %d: max diff %g / %g", m, n, k, accumulate, maxd, maxd2);
    free(x); free(w); free(ref); free(out); free(out2); free(p);
}

TEST(ml_gemm_bf16)
{
    srand(9);
    CHECK(gemm_bf16_from_float(1.0f) == 0x3f80);
    CHECK(gemm_bf16_to_float(gemm_bf16_from_float(3.140625f)) == 3.140625f);
    CHECK(gemm_bf16_from_float(1.00390625f) == 0x3f80);      /* ties to even */
    CHECK(gemm_bf16_from_float(1.01171875f) == 0x3f82);
    float nan = NAN;
    CHECK(isnan(gemm_bf16_to_float(gemm_bf16_from_float(nan))));
    gemm_case(1, 1, 1, 0);
    gemm_case(13, 37, 29, 0);
    gemm_case(50, 96, 64, 1);
    gemm_case(9, 33, 130, 1);
    int old = ml_threads_get();
    ml_threads_set(2);
    gemm_case(17, 200, 48, 0);
    gemm_case(40, 300, 400, 1);           /* large enough for two threads */
    ml_threads_set(old);
}

static void f32_case(int m, int n, int k, int accumulate)
{
    float *x = xmalloc((size_t)m * k * 4), *w = xmalloc((size_t)n * k * 4);
    float *ref = xmalloc((size_t)m * n * 4), *out = xmalloc((size_t)m * n * 4);
    for (int i = 0; i < m * k; i++) x[i] = frand();
    for (int i = 0; i < n * k; i++) w[i] = frand();
    for (int i = 0; i < m * n; i++) ref[i] = out[i] = accumulate ? (float)i * 0.01f : -7.0f;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1, x, k, w, k, accumulate ? 1 : 0, ref, n);
    gemm_f32_nt(out, x, w, m, n, k, accumulate);
    double maxd = 0;
    for (int i = 0; i < m * n; i++) if (fabs(out[i] - ref[i]) > maxd) maxd = fabs(out[i] - ref[i]);
    if (maxd > 2e-6 * k) test_fail(__FILE__, __LINE__, "f32 gemm %dx%dx%d acc %d: max diff %g", m, n, k, accumulate, maxd);
    free(x); free(w); free(ref); free(out);
}

TEST(ml_gemm_f32)
{
    if (!gemm_f32_hw()) return;         /* no AVX-512: the engine uses cblas_sgemm (tested everywhere) */
    srand(21);
    /* every row-remainder path (16-wide, padded 64-wide), weight-row remainders of 1..5 */
    f32_case(1, 1, 1, 0);
    f32_case(13, 37, 29, 0);
    f32_case(50, 97, 64, 1);
    f32_case(64, 48, 100, 0);
    f32_case(80, 53, 33, 1);
    f32_case(130, 200, 17, 0);
    f32_case(4, 50, 70, 1);               /* dot rows only */
    f32_case(36, 61, 48, 0);              /* 32-wide block + 4 dot rows */
    f32_case(52, 12, 33, 1);              /* 48-wide block + 4 dot rows */
    f32_case(20, 7, 16, 0);               /* 16 + padded */
    f32_case(160, 30, 20, 1);             /* 64 + 2 x 48 */
    f32_case(96, 13, 1600, 0);            /* 2 x 48, three k passes (the last short) */
    f32_case(200, 19, 781, 1);            /* 3 x 64 + 8 padded, k % 8 != 0 */
    int old = ml_threads_get();
    ml_threads_set(2);
    f32_case(50, 300, 96, 0);
    f32_case(401, 101, 40, 1);
    f32_case(130, 300, 128, 1);           /* large enough for two threads */
    ml_threads_set(old);
}
