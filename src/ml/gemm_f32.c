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
#define KC 768      /* k per pass (run_job) */

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
    int k0, k1;                 /* the k range of this pass (see run_job) */
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
    const float *xp = J->xt + (size_t)J->k0 * J->mpad + m0;
    size_t ld = (size_t)J->mpad;
    for (int kk = J->k0; kk < J->k1; kk++, xp += ld) {
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
    const float *xp = J->xt + (size_t)J->k0 * J->mpad + m0;
    size_t ld = (size_t)J->mpad;
    for (int kk = J->k0; kk < J->k1; kk++, xp += ld) {
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
    const float *xp = J->xt + (size_t)J->k0 * J->mpad + m0;
    size_t ld = (size_t)J->mpad;
    for (int kk = J->k0; kk < J->k1; kk++, xp += ld) {
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
    const float *xp = J->xt + (size_t)J->k0 * J->mpad + m0;
    size_t ld = (size_t)J->mpad;
    for (int kk = J->k0; kk < J->k1; kk++, xp += ld) {
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

/* Rows [0, mv) go through the vector kernels in blocks of 64 and 48 rows (mv is a multiple
 * of 16, zero-padded in xt past m); rows [mv, m) through dot_rows. The 48-row blocks take
 * the remainder so that no 16- or 32-row block is needed where avoidable: those run fewer
 * FMAs per load (M = 400, batch 8: 4 x 64 + 3 x 48 instead of 6 x 64 + 16, ~5% faster). */
static void run_job(const job_t *J0, const float *x, int mv)
{
    float tile[NR * 64];
    job_t P = *J0, *J = &P;
    int nvec = mv / 16, n48 = (4 - nvec % 4) % 4;     /* 4 a + 3 n48 = nvec */
    if (3 * n48 > nvec) n48 = 0;                       /* too few rows: 64s, then 16..48 */
    int n64 = (nvec - 3 * n48) / 4, vrest = n48 ? 0 : nvec % 4, m48 = n64 * 64, mrest = m48 + 48 * n48;
    int mcap = J->m < mv ? J->m : mv;
    for (int c0 = J->n0; c0 < J->n1; c0 += NCHUNK) {
        int c1 = c0 + NCHUNK < J->n1 ? c0 + NCHUNK : J->n1;
        /* k in passes of KC: an activation block (KC x 64 floats) and the chunk's weights
         * (48 x KC) then stay in L2 while the chunk's row tiles pass over them; with the
         * whole k of the MLP's second product (3072) they did not, and every tile re-read
         * its activations from L3. Later passes add to the output. With a single row block
         * (batch 1) nothing is re-read and k stays whole. */
        int kc = mv > 64 ? KC : J0->k;
        for (int k0 = 0; k0 < J0->k; k0 += kc) {
            P.k0 = k0;
            P.k1 = k0 + kc < J0->k ? k0 + kc : J0->k;
            P.accumulate = k0 ? 1 : J0->accumulate;
            for (int m0 = 0; m0 < m48; m0 += 64)
                for (int n0 = c0; n0 < c1; n0 += NR) {
                    int nr = c1 - n0 < NR ? c1 - n0 : NR;
                    kernel_6x64(J, n0, nr, m0, tile);
                    store_tile(J, tile, 64, n0, nr, m0, mcap - m0 < 64 ? mcap - m0 : 64);
                }
            for (int m0 = m48; m0 < mrest; m0 += 48)
                for (int n0 = c0; n0 < c1; n0 += NR) {
                    int nr = c1 - n0 < NR ? c1 - n0 : NR;
                    kernel_6x48(J, n0, nr, m0, tile);
                    store_tile(J, tile, 64, n0, nr, m0, mcap - m0 < 48 ? mcap - m0 : 48);
                }
            if (vrest)
                for (int n0 = c0; n0 < c1; n0 += NR) {
                    int nr = c1 - n0 < NR ? c1 - n0 : NR;
                    if (vrest == 1) kernel_6x16(J, n0, nr, mrest, tile);
                    else if (vrest == 2) kernel_6x32(J, n0, nr, mrest, tile);
                    else kernel_6x48(J, n0, nr, mrest, tile);
                    store_tile(J, tile, 64, n0, nr, mrest, mcap - mrest);
                }
        }
        if (mv < J->m) dot_rows(J0, x, mv, J->m - mv, c0, c1);
    }
}

static void pool_job(void *arg, int t)
{
    const job_t *j = (const job_t *)arg + t;
    run_job(j, j->x, j->mv);
}

/* dst[c][r] = src[r][c] for an 8 x 8 block (the unpack / shuffle / lane-permute network):
 * ~3 instructions per 8 values instead of a strided scalar store per value. */
__attribute__((target("avx512f")))
static void transpose_8x8(const float *src, size_t lds, float *dst, size_t ldd)
{
    __m256 r0 = _mm256_loadu_ps(src), r1 = _mm256_loadu_ps(src + lds), r2 = _mm256_loadu_ps(src + 2 * lds),
           r3 = _mm256_loadu_ps(src + 3 * lds), r4 = _mm256_loadu_ps(src + 4 * lds), r5 = _mm256_loadu_ps(src + 5 * lds),
           r6 = _mm256_loadu_ps(src + 6 * lds), r7 = _mm256_loadu_ps(src + 7 * lds);
    __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1), t2 = _mm256_unpacklo_ps(r2, r3),
           t3 = _mm256_unpackhi_ps(r2, r3), t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5),
           t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
    __m256 u0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0)), u1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2)),
           u2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0)), u3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2)),
           u4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0)), u5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2)),
           u6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0)), u7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
    _mm256_storeu_ps(dst, _mm256_permute2f128_ps(u0, u4, 0x20));
    _mm256_storeu_ps(dst + ldd, _mm256_permute2f128_ps(u1, u5, 0x20));
    _mm256_storeu_ps(dst + 2 * ldd, _mm256_permute2f128_ps(u2, u6, 0x20));
    _mm256_storeu_ps(dst + 3 * ldd, _mm256_permute2f128_ps(u3, u7, 0x20));
    _mm256_storeu_ps(dst + 4 * ldd, _mm256_permute2f128_ps(u0, u4, 0x31));
    _mm256_storeu_ps(dst + 5 * ldd, _mm256_permute2f128_ps(u1, u5, 0x31));
    _mm256_storeu_ps(dst + 6 * ldd, _mm256_permute2f128_ps(u2, u6, 0x31));
    _mm256_storeu_ps(dst + 7 * ldd, _mm256_permute2f128_ps(u3, u7, 0x31));
}

/* Per-thread transpose buffer, kept across calls (see ml_scratch_get for the policy). */
void gemm_f32_nt(float *out, const float *x, const float *w, int m, int n, int k, int accumulate)
{
    /* Up to 4 rows beyond a multiple of 16 go to dot_rows; more are zero-padded to 16. */
    int mv = m % 16 <= 4 ? m / 16 * 16 : (m + 15) / 16 * 16, mpad = mv ? mv : 16;
    float *xt = ml_scratch_get(3, (size_t)k * mpad);
    int mt = m < mv ? m : mv;                  /* rows that go into xt */
    /* 8 x 8 blocks in registers, then the rows and columns past the last multiple of 8 in
     * scalar strips of 16 columns (each source line read once, the 16 destination rows in L1). */
    int k8 = k / 8 * 8, m8 = mt / 8 * 8;
    for (int k0 = 0; k0 < k8; k0 += 8)
        for (int j = 0; j < m8; j += 8) transpose_8x8(x + (size_t)j * k + k0, (size_t)k, xt + (size_t)k0 * mpad + j, (size_t)mpad);
    for (int k0 = 0; k0 < k; k0 += 16) {
        int kn = k - k0 < 16 ? k - k0 : 16;
        for (int j = k0 + kn <= k8 ? m8 : 0; j < mt; j++) {
            const float *src = x + (size_t)j * k + k0;
            float *dst = xt + (size_t)k0 * mpad + j;
            for (int t = 0; t < kn; t++) dst[(size_t)t * mpad] = src[t];
        }
        for (int t = 0; t < kn; t++)
            for (int j = mt; j < mpad; j++) xt[(size_t)(k0 + t) * mpad + j] = 0.0f;
    }
    int nt = ml_pool_threads_for(m, n, k), chunks = (n + NCHUNK - 1) / NCHUNK;
    if (nt > chunks) nt = chunks;
    if (nt > 16) nt = 16;
    if (nt < 1) nt = 1;
    job_t jobs[16];
    for (int t = 0; t < nt; t++)
        jobs[t] = (job_t){out, xt, w, x, m, mpad, n, k, accumulate,
                          chunks * t / nt * NCHUNK, chunks * (t + 1) / nt * NCHUNK < n ? chunks * (t + 1) / nt * NCHUNK : n, mv, 0, k};
    ml_pool_run(nt, pool_job, jobs);
    ml_scratch_release(3, xt);
}
