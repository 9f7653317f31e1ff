/* gemm_f32.c — AVX-512 float32 GEMM over unpacked [n][k] weights (see gemm_f32.h).
 *
 * The activations are transposed once per call into xt = [k][mpad] (small: tokens x width).
 * The microkernel keeps a 6 (weight rows) x 64 (activation rows, 4 zmm) tile of sums in 24
 * registers: per k it loads 4 vectors of xt and broadcasts one scalar from each of the 6
 * weight rows, which are read sequentially, so the weights stream straight from the mapping.
 * Weight rows are taken in chunks of 48 that stay in L2 while every activation block passes
 * over them. Columns of the activation beyond a multiple of 64 use a 6 x 16 kernel. */
#include "ml/gemm_f32.h"
#include "ml/kernels.h"
#include "core/buf.h"
#include <immintrin.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define NR 6        /* weight rows per tile */
#define NCHUNK 48   /* weight rows per L2 chunk (a multiple of NR) */

static int g_force_blas;
void gemm_f32_force_blas(int on) { g_force_blas = on; }

int gemm_f32_hw(void)
{
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        const char *e = getenv("ML_F32_KERNEL");
        cached = __builtin_cpu_supports("avx512f") && !(e && !strcmp(e, "blas"));
    }
    return cached && !g_force_blas;
}

typedef struct {
    float *out;
    const float *xt, *w;
    int m, mpad, n, k, accumulate, n0, n1;
} job_t;

/* Writes a tile of sums (rows = weight rows i, columns = activation rows j) into out. */
static void store_tile(const job_t *J, const float *tile, int tw, int n0, int nr, int m0, int mc)
{
    /* row by row of out: each output cache line is touched once (a column walk with a
     * stride of n floats thrashes L1 sets when n is a multiple of 1024) */
    for (int j = 0; j < mc; j++) {
        float *o = J->out + (size_t)(m0 + j) * J->n + n0;
        if (J->accumulate) for (int i = 0; i < nr; i++) o[i] += tile[i * tw + j];
        else for (int i = 0; i < nr; i++) o[i] = tile[i * tw + j];
    }
}

/* Written out by hand: GCC at -O2 does not fully unroll the 6 x 4 accumulator loops and
 * would keep the sums on the stack. */
__attribute__((target("avx512f")))
static void kernel_6x64(const job_t *J, int n0, int nr, int m0, float *tile)
{
    const float *w0, *w1, *w2, *w3, *w4, *w5;
#define ROWP(i) (J->w + (size_t)(n0 + ((i) < nr ? (i) : nr - 1)) * J->k)
    w0 = ROWP(0); w1 = ROWP(1); w2 = ROWP(2); w3 = ROWP(3); w4 = ROWP(4); w5 = ROWP(5);
    __m512 z = _mm512_setzero_ps();
    __m512 c00 = z, c01 = z, c02 = z, c03 = z, c10 = z, c11 = z, c12 = z, c13 = z,
           c20 = z, c21 = z, c22 = z, c23 = z, c30 = z, c31 = z, c32 = z, c33 = z,
           c40 = z, c41 = z, c42 = z, c43 = z, c50 = z, c51 = z, c52 = z, c53 = z;
    const float *xp = J->xt + m0;
    size_t ld = (size_t)J->mpad;
    for (int kk = 0; kk < J->k; kk++, xp += ld) {
        __m512 a0 = _mm512_loadu_ps(xp), a1 = _mm512_loadu_ps(xp + 16);
        __m512 a2 = _mm512_loadu_ps(xp + 32), a3 = _mm512_loadu_ps(xp + 48);
        __m512 b;
#define ROW(wp, r0, r1, r2, r3) b = _mm512_set1_ps(wp[kk]); \
        r0 = _mm512_fmadd_ps(b, a0, r0); r1 = _mm512_fmadd_ps(b, a1, r1); \
        r2 = _mm512_fmadd_ps(b, a2, r2); r3 = _mm512_fmadd_ps(b, a3, r3);
        ROW(w0, c00, c01, c02, c03) ROW(w1, c10, c11, c12, c13) ROW(w2, c20, c21, c22, c23)
        ROW(w3, c30, c31, c32, c33) ROW(w4, c40, c41, c42, c43) ROW(w5, c50, c51, c52, c53)
#undef ROW
    }
#define ST(i, r0, r1, r2, r3) _mm512_storeu_ps(tile + (i) * 64, r0); _mm512_storeu_ps(tile + (i) * 64 + 16, r1); \
    _mm512_storeu_ps(tile + (i) * 64 + 32, r2); _mm512_storeu_ps(tile + (i) * 64 + 48, r3);
    ST(0, c00, c01, c02, c03) ST(1, c10, c11, c12, c13) ST(2, c20, c21, c22, c23)
    ST(3, c30, c31, c32, c33) ST(4, c40, c41, c42, c43) ST(5, c50, c51, c52, c53)
#undef ST
}

__attribute__((target("avx512f")))
static void kernel_6x16(const job_t *J, int n0, int nr, int m0, float *tile)
{
    const float *w0 = ROWP(0), *w1 = ROWP(1), *w2 = ROWP(2), *w3 = ROWP(3), *w4 = ROWP(4), *w5 = ROWP(5);
    __m512 c0 = _mm512_setzero_ps(), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0;
    const float *xp = J->xt + m0;
    size_t ld = (size_t)J->mpad;
    for (int kk = 0; kk < J->k; kk++, xp += ld) {
        __m512 a = _mm512_loadu_ps(xp);
        c0 = _mm512_fmadd_ps(_mm512_set1_ps(w0[kk]), a, c0);
        c1 = _mm512_fmadd_ps(_mm512_set1_ps(w1[kk]), a, c1);
        c2 = _mm512_fmadd_ps(_mm512_set1_ps(w2[kk]), a, c2);
        c3 = _mm512_fmadd_ps(_mm512_set1_ps(w3[kk]), a, c3);
        c4 = _mm512_fmadd_ps(_mm512_set1_ps(w4[kk]), a, c4);
        c5 = _mm512_fmadd_ps(_mm512_set1_ps(w5[kk]), a, c5);
    }
    _mm512_storeu_ps(tile, c0); _mm512_storeu_ps(tile + 64, c1); _mm512_storeu_ps(tile + 128, c2);
    _mm512_storeu_ps(tile + 192, c3); _mm512_storeu_ps(tile + 256, c4); _mm512_storeu_ps(tile + 320, c5);
#undef ROWP
}

static void run_job(const job_t *J)
{
    float tile[NR * 64];
    int mfull = J->mpad / 64 * 64;     /* mpad is padded to 64 when that wastes <= 48 rows */
    for (int c0 = J->n0; c0 < J->n1; c0 += NCHUNK) {
        int c1 = c0 + NCHUNK < J->n1 ? c0 + NCHUNK : J->n1;
        for (int m0 = 0; m0 < mfull; m0 += 64)
            for (int n0 = c0; n0 < c1; n0 += NR) {
                int nr = c1 - n0 < NR ? c1 - n0 : NR;
                kernel_6x64(J, n0, nr, m0, tile);
                store_tile(J, tile, 64, n0, nr, m0, J->m - m0 < 64 ? J->m - m0 : 64);
            }
        for (int m0 = mfull; m0 < J->m; m0 += 16)
            for (int n0 = c0; n0 < c1; n0 += NR) {
                int nr = c1 - n0 < NR ? c1 - n0 : NR;
                kernel_6x16(J, n0, nr, m0, tile);
                store_tile(J, tile, 64, n0, nr, m0, J->m - m0 < 16 ? J->m - m0 : 16);
            }
    }
}

static void *thread_main(void *arg)
{
    run_job(arg);
    return NULL;
}

/* Per-thread transpose buffer, kept across calls (see ml_scratch_get for the policy). */
void gemm_f32_nt(float *out, const float *x, const float *w, int m, int n, int k, int accumulate)
{
    /* A remainder of more than 16 rows runs the 64-wide kernel on zero padding (cheaper than
     * several 16-wide passes); a remainder of up to 16 rows uses the 16-wide kernel. */
    int mpad = m % 64 > 16 ? (m + 63) / 64 * 64 : (m + 15) / 16 * 16;
    float *xt = ml_scratch_get(3, (size_t)k * mpad);
    for (int kk = 0; kk < k; kk++) {
        float *row = xt + (size_t)kk * mpad;
        for (int j = 0; j < m; j++) row[j] = x[(size_t)j * k + kk];
        for (int j = m; j < mpad; j++) row[j] = 0.0f;
    }
    int nt = ml_threads_get(), chunks = (n + NCHUNK - 1) / NCHUNK;
    if (nt > chunks) nt = chunks;
    if (nt > 16) nt = 16;
    if (nt < 1) nt = 1;
    job_t jobs[16];
    pthread_t tid[16];
    int started[16] = {0};
    for (int t = 0; t < nt; t++)
        jobs[t] = (job_t){out, xt, w, m, mpad, n, k, accumulate,
                          chunks * t / nt * NCHUNK, chunks * (t + 1) / nt * NCHUNK < n ? chunks * (t + 1) / nt * NCHUNK : n};
    for (int t = 1; t < nt; t++) started[t] = pthread_create(&tid[t], NULL, thread_main, &jobs[t]) == 0;
    run_job(&jobs[0]);
    for (int t = 1; t < nt; t++) {
        if (started[t]) pthread_join(tid[t], NULL);
        else run_job(&jobs[t]);
    }
    ml_scratch_release(3, xt);
}
