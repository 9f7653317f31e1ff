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
#include "ml/pool.h"
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
    const float *xt, *w, *x;
    int m, mpad, n, k, accumulate, n0, n1, mv;
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

/* 6 weight rows x 16, 32 or 48 activation rows (the block after the last full 64),
 * written out for the same reason as kernel_6x64. */
__attribute__((target("avx512f")))
static void kernel_6x16(const job_t *J, int n0, int nr, int m0, float *tile)
{
    const float *w0 = ROWP(0), *w1 = ROWP(1), *w2 = ROWP(2), *w3 = ROWP(3), *w4 = ROWP(4), *w5 = ROWP(5);
    __m512 z = _mm512_setzero_ps();
    __m512 c00 = z, c10 = z, c20 = z, c30 = z, c40 = z, c50 = z;
    const float *xp = J->xt + m0;
    size_t ld = (size_t)J->mpad;
    for (int kk = 0; kk < J->k; kk++, xp += ld) {
        __m512 a0 = _mm512_loadu_ps(xp + 0);
        { __m512 b = _mm512_set1_ps(w0[kk]); c00 = _mm512_fmadd_ps(b, a0, c00); }
        { __m512 b = _mm512_set1_ps(w1[kk]); c10 = _mm512_fmadd_ps(b, a0, c10); }
        { __m512 b = _mm512_set1_ps(w2[kk]); c20 = _mm512_fmadd_ps(b, a0, c20); }
        { __m512 b = _mm512_set1_ps(w3[kk]); c30 = _mm512_fmadd_ps(b, a0, c30); }
        { __m512 b = _mm512_set1_ps(w4[kk]); c40 = _mm512_fmadd_ps(b, a0, c40); }
        { __m512 b = _mm512_set1_ps(w5[kk]); c50 = _mm512_fmadd_ps(b, a0, c50); }
    }
    _mm512_storeu_ps(tile + 0, c00);
    _mm512_storeu_ps(tile + 64, c10);
    _mm512_storeu_ps(tile + 128, c20);
    _mm512_storeu_ps(tile + 192, c30);
    _mm512_storeu_ps(tile + 256, c40);
    _mm512_storeu_ps(tile + 320, c50);
}

__attribute__((target("avx512f")))
static void kernel_6x32(const job_t *J, int n0, int nr, int m0, float *tile)
{
    const float *w0 = ROWP(0), *w1 = ROWP(1), *w2 = ROWP(2), *w3 = ROWP(3), *w4 = ROWP(4), *w5 = ROWP(5);
    __m512 z = _mm512_setzero_ps();
    __m512 c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z, c30 = z, c31 = z, c40 = z, c41 = z, c50 = z, c51 = z;
    const float *xp = J->xt + m0;
    size_t ld = (size_t)J->mpad;
    for (int kk = 0; kk < J->k; kk++, xp += ld) {
        __m512 a0 = _mm512_loadu_ps(xp + 0);
        __m512 a1 = _mm512_loadu_ps(xp + 16);
        { __m512 b = _mm512_set1_ps(w0[kk]); c00 = _mm512_fmadd_ps(b, a0, c00); c01 = _mm512_fmadd_ps(b, a1, c01); }
        { __m512 b = _mm512_set1_ps(w1[kk]); c10 = _mm512_fmadd_ps(b, a0, c10); c11 = _mm512_fmadd_ps(b, a1, c11); }
        { __m512 b = _mm512_set1_ps(w2[kk]); c20 = _mm512_fmadd_ps(b, a0, c20); c21 = _mm512_fmadd_ps(b, a1, c21); }
        { __m512 b = _mm512_set1_ps(w3[kk]); c30 = _mm512_fmadd_ps(b, a0, c30); c31 = _mm512_fmadd_ps(b, a1, c31); }
        { __m512 b = _mm512_set1_ps(w4[kk]); c40 = _mm512_fmadd_ps(b, a0, c40); c41 = _mm512_fmadd_ps(b, a1, c41); }
        { __m512 b = _mm512_set1_ps(w5[kk]); c50 = _mm512_fmadd_ps(b, a0, c50); c51 = _mm512_fmadd_ps(b, a1, c51); }
    }
    _mm512_storeu_ps(tile + 0, c00); _mm512_storeu_ps(tile + 16, c01);
    _mm512_storeu_ps(tile + 64, c10); _mm512_storeu_ps(tile + 80, c11);
    _mm512_storeu_ps(tile + 128, c20); _mm512_storeu_ps(tile + 144, c21);
    _mm512_storeu_ps(tile + 192, c30); _mm512_storeu_ps(tile + 208, c31);
    _mm512_storeu_ps(tile + 256, c40); _mm512_storeu_ps(tile + 272, c41);
    _mm512_storeu_ps(tile + 320, c50); _mm512_storeu_ps(tile + 336, c51);
}

__attribute__((target("avx512f")))
static void kernel_6x48(const job_t *J, int n0, int nr, int m0, float *tile)
{
    const float *w0 = ROWP(0), *w1 = ROWP(1), *w2 = ROWP(2), *w3 = ROWP(3), *w4 = ROWP(4), *w5 = ROWP(5);
    __m512 z = _mm512_setzero_ps();
    __m512 c00 = z, c01 = z, c02 = z, c10 = z, c11 = z, c12 = z, c20 = z, c21 = z, c22 = z, c30 = z, c31 = z, c32 = z, c40 = z, c41 = z, c42 = z, c50 = z, c51 = z, c52 = z;
    const float *xp = J->xt + m0;
    size_t ld = (size_t)J->mpad;
    for (int kk = 0; kk < J->k; kk++, xp += ld) {
        __m512 a0 = _mm512_loadu_ps(xp + 0);
        __m512 a1 = _mm512_loadu_ps(xp + 16);
        __m512 a2 = _mm512_loadu_ps(xp + 32);
        { __m512 b = _mm512_set1_ps(w0[kk]); c00 = _mm512_fmadd_ps(b, a0, c00); c01 = _mm512_fmadd_ps(b, a1, c01); c02 = _mm512_fmadd_ps(b, a2, c02); }
        { __m512 b = _mm512_set1_ps(w1[kk]); c10 = _mm512_fmadd_ps(b, a0, c10); c11 = _mm512_fmadd_ps(b, a1, c11); c12 = _mm512_fmadd_ps(b, a2, c12); }
        { __m512 b = _mm512_set1_ps(w2[kk]); c20 = _mm512_fmadd_ps(b, a0, c20); c21 = _mm512_fmadd_ps(b, a1, c21); c22 = _mm512_fmadd_ps(b, a2, c22); }
        { __m512 b = _mm512_set1_ps(w3[kk]); c30 = _mm512_fmadd_ps(b, a0, c30); c31 = _mm512_fmadd_ps(b, a1, c31); c32 = _mm512_fmadd_ps(b, a2, c32); }
        { __m512 b = _mm512_set1_ps(w4[kk]); c40 = _mm512_fmadd_ps(b, a0, c40); c41 = _mm512_fmadd_ps(b, a1, c41); c42 = _mm512_fmadd_ps(b, a2, c42); }
        { __m512 b = _mm512_set1_ps(w5[kk]); c50 = _mm512_fmadd_ps(b, a0, c50); c51 = _mm512_fmadd_ps(b, a1, c51); c52 = _mm512_fmadd_ps(b, a2, c52); }
    }
    _mm512_storeu_ps(tile + 0, c00); _mm512_storeu_ps(tile + 16, c01); _mm512_storeu_ps(tile + 32, c02);
    _mm512_storeu_ps(tile + 64, c10); _mm512_storeu_ps(tile + 80, c11); _mm512_storeu_ps(tile + 96, c12);
    _mm512_storeu_ps(tile + 128, c20); _mm512_storeu_ps(tile + 144, c21); _mm512_storeu_ps(tile + 160, c22);
    _mm512_storeu_ps(tile + 192, c30); _mm512_storeu_ps(tile + 208, c31); _mm512_storeu_ps(tile + 224, c32);
    _mm512_storeu_ps(tile + 256, c40); _mm512_storeu_ps(tile + 272, c41); _mm512_storeu_ps(tile + 288, c42);
    _mm512_storeu_ps(tile + 320, c50); _mm512_storeu_ps(tile + 336, c51); _mm512_storeu_ps(tile + 352, c52);
}

/* A few leftover activation rows (<= 4): dot products along k, where both the activation
 * row and the weight row are contiguous; cheaper than padding them to a 16-wide vector. */
__attribute__((target("avx512f")))
static void dot_rows(const job_t *J, const float *x, int r0, int nrows, int n0, int n1)
{
    int k = J->k, k32 = k / 32 * 32;
    for (int n = n0; n < n1; n++) {
        const float *w = J->w + (size_t)n * k;
        for (int r = 0; r < nrows; r++) {
            const float *xr = x + (size_t)(r0 + r) * k;
            /* two independent chains hide the FMA latency */
            __m512 a0 = _mm512_setzero_ps(), a1 = a0;
            for (int kk = 0; kk < k32; kk += 32) {
                a0 = _mm512_fmadd_ps(_mm512_loadu_ps(xr + kk), _mm512_loadu_ps(w + kk), a0);
                a1 = _mm512_fmadd_ps(_mm512_loadu_ps(xr + kk + 16), _mm512_loadu_ps(w + kk + 16), a1);
            }
            float sum = _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
            for (int kk = k32; kk < k; kk++) sum += xr[kk] * w[kk];
            float *o = J->out + (size_t)(r0 + r) * J->n + n;
            *o = J->accumulate ? *o + sum : sum;
        }
    }
}
#undef ROWP

/* Rows [0, mv) go through the vector kernels (blocks of 64, then one block of 16..48; mv
 * is a multiple of 16, zero-padded in xt past m); rows [mv, m) through dot_rows. */
static void run_job(const job_t *J, const float *x, int mv)
{
    float tile[NR * 64];
    int mfull = mv / 64 * 64, vrest = (mv - mfull) / 16;
    for (int c0 = J->n0; c0 < J->n1; c0 += NCHUNK) {
        int c1 = c0 + NCHUNK < J->n1 ? c0 + NCHUNK : J->n1;
        for (int m0 = 0; m0 < mfull; m0 += 64)
            for (int n0 = c0; n0 < c1; n0 += NR) {
                int nr = c1 - n0 < NR ? c1 - n0 : NR;
                kernel_6x64(J, n0, nr, m0, tile);
                store_tile(J, tile, 64, n0, nr, m0, J->m - m0 < 64 ? J->m - m0 : 64);
            }
        if (vrest)
            for (int n0 = c0; n0 < c1; n0 += NR) {
                int nr = c1 - n0 < NR ? c1 - n0 : NR;
                if (vrest == 1) kernel_6x16(J, n0, nr, mfull, tile);
                else if (vrest == 2) kernel_6x32(J, n0, nr, mfull, tile);
                else kernel_6x48(J, n0, nr, mfull, tile);
                store_tile(J, tile, 64, n0, nr, mfull, (J->m < mv ? J->m : mv) - mfull);
            }
        if (mv < J->m) dot_rows(J, x, mv, J->m - mv, c0, c1);
    }
}

static void pool_job(void *arg, int t)
{
    const job_t *j = (const job_t *)arg + t;
    run_job(j, j->x, j->mv);
}

/* Per-thread transpose buffer, kept across calls (see ml_scratch_get for the policy). */
void gemm_f32_nt(float *out, const float *x, const float *w, int m, int n, int k, int accumulate)
{
    /* Up to 4 rows beyond a multiple of 16 go to dot_rows; more are zero-padded to 16. */
    int mv = m % 16 <= 4 ? m / 16 * 16 : (m + 15) / 16 * 16, mpad = mv ? mv : 16;
    float *xt = ml_scratch_get(3, (size_t)k * mpad);
    int mt = m < mv ? m : mv;                  /* rows that go into xt */
    /* Transpose in strips of 16 columns of x: each source line is read once and the 16
     * destination rows being written stay in L1. */
    for (int k0 = 0; k0 < k; k0 += 16) {
        int kn = k - k0 < 16 ? k - k0 : 16;
        for (int j = 0; j < mt; j++) {
            const float *src = x + (size_t)j * k + k0;
            float *dst = xt + (size_t)k0 * mpad + j;
            for (int t = 0; t < kn; t++) dst[(size_t)t * mpad] = src[t];
        }
        for (int t = 0; t < kn; t++)
            for (int j = mt; j < mpad; j++) xt[(size_t)(k0 + t) * mpad + j] = 0.0f;
    }
    int nt = ml_threads_get(), chunks = (n + NCHUNK - 1) / NCHUNK;
    if (nt > chunks) nt = chunks;
    if (nt > 16) nt = 16;
    if (nt < 1) nt = 1;
    job_t jobs[16];
    for (int t = 0; t < nt; t++)
        jobs[t] = (job_t){out, xt, w, x, m, mpad, n, k, accumulate,
                          chunks * t / nt * NCHUNK, chunks * (t + 1) / nt * NCHUNK < n ? chunks * (t + 1) / nt * NCHUNK : n, mv};
    ml_pool_run(nt, pool_job, jobs);
    ml_scratch_release(3, xt);
}
