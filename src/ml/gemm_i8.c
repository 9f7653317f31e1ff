/* gemm_i8.c — int8 matrix product with int32 accumulation (see gemm_i8.h).
 *
 * Layout: the weights of 32 output columns form a strip of kq quads; a quad holds, for each
 * of the 32 columns, 4 consecutive k values (128 bytes = two zmm). The activations are u8
 * rows padded to 4 x kq bytes. The VNNI microkernel computes a 12-row x 32-column tile: per
 * quad it loads the two weight vectors and broadcasts one 32-bit group of 4 activation bytes
 * per row, so 24 vpdpbusd run from 2 loads + 12 broadcasts with the sums in 24 registers.
 * Rows past the last multiple of 12 go through a 4-row tile (the activations are padded
 * with zero-point rows to a multiple of 4). Threads split the column strips.
 *
 * No overflow: |u8 x s8| <= 255 x 127, and k <= 65535 quads of 4 keeps the int32 sum in range
 * (gemm_i8_quantize rejects wider matrices). */
#include "ml/gemm_i8.h"
#include "ml/kernels.h"
#include "ml/pool.h"
#include "core/buf.h"
#include <immintrin.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define NR 32      /* columns per strip */
#define MR 12      /* rows per full tile */
#define MT 4       /* rows per tail tile */
#define MAX_K (65535 * 4)

static int g_portable;

void gemm_i8_force_portable(int on) { g_portable = on; }

int gemm_i8_hw(void)
{
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512f") &&
                 __builtin_cpu_supports("avx512bw");
    }
    return cached;
}

static int use_hw(void) { return gemm_i8_hw() && !g_portable; }
static int strips(int n) { return (n + NR - 1) / NR; }
static size_t align64(size_t x) { return (x + 63) & ~(size_t)63; }

int gemm_i8_weight(const gemm_i8_mat_t *q, int c, int i)
{
    if (c < 0 || c >= q->n || i < 0 || i >= q->k) return 0;
    return q->w[(size_t)(c / NR) * q->kq * NR * 4 + (size_t)(i / 4) * NR * 4 + (size_t)(c % NR) * 4 + i % 4];
}

/* Scalar quantiser: the reference for the vector one (same operations, same rounding). */
static float quantize_row_scalar(uint8_t *dst, const float *x, int k, float mx)
{
    float inv = 127.0f / mx;
    for (int i = 0; i < k; i++) {
        long v = lrintf(x[i] * inv);
        if (v > 127) v = 127;
        if (v < -127) v = -127;
        dst[i] = (uint8_t)(v + 128);
    }
    return mx / 127.0f;
}

__attribute__((target("avx512f,avx512bw")))
static float quantize_row_avx512(uint8_t *dst, const float *x, int k, float mx)
{
    float inv = 127.0f / mx;
    __m512 vi = _mm512_set1_ps(inv), lo = _mm512_set1_ps(-127.0f), hi = _mm512_set1_ps(127.0f);
    __m512i zp = _mm512_set1_epi32(128);
    int i = 0;
    for (; i + 16 <= k; i += 16) {
        __m512 v = _mm512_min_ps(_mm512_max_ps(_mm512_mul_ps(_mm512_loadu_ps(x + i), vi), lo), hi);
        __m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(v), zp);
        _mm_storeu_si128((__m128i *)(dst + i), _mm512_cvtepi32_epi8(q));
    }
    if (i < k) quantize_row_scalar(dst + i, x + i, k - i, mx);
    return mx / 127.0f;
}

/* max |x|, or NaN when a value is NaN (vmaxps alone would drop it). */
__attribute__((target("avx512f")))
static float max_abs_avx512(const float *x, int k)
{
    __m512 m = _mm512_setzero_ps();
    __mmask16 nan = 0;
    int i = 0;
    for (; i + 16 <= k; i += 16) {
        __m512 v = _mm512_loadu_ps(x + i);
        nan |= _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
        m = _mm512_max_ps(m, _mm512_abs_ps(v));
    }
    float mx = _mm512_reduce_max_ps(m);
    for (; i < k; i++) {
        if (isnan(x[i])) nan = 1;
        if (fabsf(x[i]) > mx) mx = fabsf(x[i]);
    }
    return nan ? NAN : mx;
}

/* max |x|; NaN when a value is NaN, inf when one is infinite. */
static float row_max_abs(const float *x, int k)
{
    if (use_hw()) return max_abs_avx512(x, k);
    float mx = 0.0f;
    for (int i = 0; i < k; i++) {
        if (isnan(x[i])) return NAN;
        if (fabsf(x[i]) > mx) mx = fabsf(x[i]);
    }
    return mx;
}

gemm_i8_mat_t *gemm_i8_quantize(const float *w, int n, int k)
{
    if (n <= 0 || k <= 0 || k > MAX_K) return NULL;
    int kq = (k + 3) / 4;
    size_t hdr = align64(sizeof(gemm_i8_mat_t)), sc = align64((size_t)n * sizeof(float)),
           co = align64((size_t)n * sizeof(int32_t)), wb = (size_t)strips(n) * kq * NR * 4;
    char *mem = xmalloc(hdr + sc + co + wb + 64);
    gemm_i8_mat_t *q = (gemm_i8_mat_t *)mem;
    q->n = n;
    q->k = k;
    q->kq = kq;
    q->scale = (float *)(mem + hdr);
    q->corr = (int32_t *)(mem + hdr + sc);
    q->w = (int8_t *)(mem + hdr + sc + co);
    memset(q->w, 0, wb);
    uint8_t *tmp = xmalloc((size_t)k);
    for (int c = 0; c < n; c++) {
        const float *row = w + (size_t)c * k;
        float mx = row_max_abs(row, k);
        if (!isfinite(mx)) { free(mem); free(tmp); return NULL; }
        q->scale[c] = mx / 127.0f;
        int8_t *d = q->w + (size_t)(c / NR) * kq * NR * 4 + (size_t)(c % NR) * 4;
        int32_t sum = 0;
        if (mx > 0) {
            /* the activation quantiser's arithmetic, then the zero point taken off again */
            if (use_hw()) quantize_row_avx512(tmp, row, k, mx);
            else quantize_row_scalar(tmp, row, k, mx);
            for (int i = 0; i < k; i += 4) {
                int8_t *dq = d + (size_t)(i / 4) * NR * 4;
                for (int j = 0; j < 4 && i + j < k; j++) {
                    int v = (int)tmp[i + j] - 128;
                    dq[j] = (int8_t)v;
                    sum += v;
                }
            }
        }
        q->corr[c] = 128 * sum;
    }
    free(tmp);
    return q;
}

float gemm_i8_quantize_row(uint8_t *dst, const float *x, int k)
{
    if (k <= 0) return 0.0f;
    float mx = row_max_abs(x, k);
    int finite = isfinite(mx);
    if (!finite || mx == 0.0f) {
        memset(dst, 128, (size_t)k);
        return finite ? 0.0f : NAN;
    }
    return use_hw() ? quantize_row_avx512(dst, x, k, mx) : quantize_row_scalar(dst, x, k, mx);
}

typedef struct {
    float *out;
    const uint8_t *xq;
    const float *xs;
    const gemm_i8_mat_t *w;
    const float *bias;
    int m, mfull, mpad, accumulate, nt, ns;
} job_t;

/* Dequantises a tile of int32 sums (rows x 32, row stride NR) into out. */
static void store_tile(const job_t *J, const int32_t *tile, int r0, int rows, int s)
{
    int c0 = s * NR, cols = J->w->n - c0 < NR ? J->w->n - c0 : NR;
    const float *ws = J->w->scale + c0;
    const int32_t *corr = J->w->corr + c0;
    for (int r = 0; r < rows && r0 + r < J->m; r++) {
        float *o = J->out + (size_t)(r0 + r) * J->w->n + c0, sx = J->xs[r0 + r];
        const int32_t *t = tile + r * NR;
        for (int c = 0; c < cols; c++) {
            float v = (float)(t[c] - corr[c]) * (sx * ws[c]);
            if (J->bias) v += J->bias[c0 + c];
            o[c] = J->accumulate ? o[c] + v : v;
        }
    }
}

__attribute__((target("avx512f,avx512bw,avx512vnni")))
static void store_tile_avx512(const job_t *J, const int32_t *tile, int r0, int rows, int s)
{
    int c0 = s * NR;
    if (J->w->n - c0 < NR) { store_tile(J, tile, r0, rows, s); return; }
    __m512 ws0 = _mm512_loadu_ps(J->w->scale + c0), ws1 = _mm512_loadu_ps(J->w->scale + c0 + 16);
    __m512i co0 = _mm512_loadu_si512(J->w->corr + c0), co1 = _mm512_loadu_si512(J->w->corr + c0 + 16);
    __m512 b0 = _mm512_setzero_ps(), b1 = b0;
    if (J->bias) { b0 = _mm512_loadu_ps(J->bias + c0); b1 = _mm512_loadu_ps(J->bias + c0 + 16); }
    for (int r = 0; r < rows && r0 + r < J->m; r++) {
        float *o = J->out + (size_t)(r0 + r) * J->w->n + c0;
        __m512 sx = _mm512_set1_ps(J->xs[r0 + r]);
        __m512 v0 = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(_mm512_loadu_si512(tile + r * NR), co0)), _mm512_mul_ps(sx, ws0));
        __m512 v1 = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(_mm512_loadu_si512(tile + r * NR + 16), co1)), _mm512_mul_ps(sx, ws1));
        if (J->bias) {
            v0 = _mm512_add_ps(v0, b0);
            v1 = _mm512_add_ps(v1, b1);
        }
        if (J->accumulate) {
            v0 = _mm512_add_ps(v0, _mm512_loadu_ps(o));
            v1 = _mm512_add_ps(v1, _mm512_loadu_ps(o + 16));
        }
        _mm512_storeu_ps(o, v0);
        _mm512_storeu_ps(o + 16, v1);
    }
}

/* Written out by hand (macros) so the 24 sums stay in registers. */
__attribute__((target("avx512f,avx512bw,avx512vnni")))
static void tile_12x32(const job_t *J, const int8_t *ws, int r0, int32_t *tile)
{
    __m512i z = _mm512_setzero_si512();
    __m512i c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z, c30 = z, c31 = z, c40 = z, c41 = z,
            c50 = z, c51 = z, c60 = z, c61 = z, c70 = z, c71 = z, c80 = z, c81 = z, c90 = z, c91 = z,
            ca0 = z, ca1 = z, cb0 = z, cb1 = z;
    int kq = J->w->kq;
    const int32_t *xr = (const int32_t *)(J->xq + (size_t)r0 * kq * 4);
    size_t ld = (size_t)kq;
    for (int p = 0; p < kq; p++) {
        __m512i b0 = _mm512_loadu_si512(ws + (size_t)p * NR * 4);
        __m512i b1 = _mm512_loadu_si512(ws + (size_t)p * NR * 4 + 64);
        __m512i a;
#define ROW(i, c0, c1) a = _mm512_set1_epi32(xr[(i) * ld + p]); \
        c0 = _mm512_dpbusd_epi32(c0, a, b0); c1 = _mm512_dpbusd_epi32(c1, a, b1);
        ROW(0, c00, c01) ROW(1, c10, c11) ROW(2, c20, c21) ROW(3, c30, c31)
        ROW(4, c40, c41) ROW(5, c50, c51) ROW(6, c60, c61) ROW(7, c70, c71)
        ROW(8, c80, c81) ROW(9, c90, c91) ROW(10, ca0, ca1) ROW(11, cb0, cb1)
#undef ROW
    }
#define ST(i, c0, c1) _mm512_storeu_si512(tile + (i) * NR, c0); _mm512_storeu_si512(tile + (i) * NR + 16, c1);
    ST(0, c00, c01) ST(1, c10, c11) ST(2, c20, c21) ST(3, c30, c31) ST(4, c40, c41) ST(5, c50, c51)
    ST(6, c60, c61) ST(7, c70, c71) ST(8, c80, c81) ST(9, c90, c91) ST(10, ca0, ca1) ST(11, cb0, cb1)
#undef ST
}

__attribute__((target("avx512f,avx512bw,avx512vnni")))
static void tile_4x32(const job_t *J, const int8_t *ws, int r0, int32_t *tile)
{
    __m512i z = _mm512_setzero_si512();
    __m512i c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z, c30 = z, c31 = z;
    int kq = J->w->kq;
    const int32_t *xr = (const int32_t *)(J->xq + (size_t)r0 * kq * 4);
    size_t ld = (size_t)kq;
    for (int p = 0; p < kq; p++) {
        __m512i b0 = _mm512_loadu_si512(ws + (size_t)p * NR * 4);
        __m512i b1 = _mm512_loadu_si512(ws + (size_t)p * NR * 4 + 64);
        __m512i a;
#define ROW(i, c0, c1) a = _mm512_set1_epi32(xr[(i) * ld + p]); \
        c0 = _mm512_dpbusd_epi32(c0, a, b0); c1 = _mm512_dpbusd_epi32(c1, a, b1);
        ROW(0, c00, c01) ROW(1, c10, c11) ROW(2, c20, c21) ROW(3, c30, c31)
#undef ROW
    }
    _mm512_storeu_si512(tile + 0 * NR, c00); _mm512_storeu_si512(tile + 0 * NR + 16, c01);
    _mm512_storeu_si512(tile + 1 * NR, c10); _mm512_storeu_si512(tile + 1 * NR + 16, c11);
    _mm512_storeu_si512(tile + 2 * NR, c20); _mm512_storeu_si512(tile + 2 * NR + 16, c21);
    _mm512_storeu_si512(tile + 3 * NR, c30); _mm512_storeu_si512(tile + 3 * NR + 16, c31);
}

/* The same tiles in plain C: u8 x s8 products summed in int32, bit-identical results. */
static void tile_portable(const job_t *J, const int8_t *ws, int r0, int rows, int32_t *tile)
{
    int kq = J->w->kq;
    memset(tile, 0, (size_t)rows * NR * sizeof *tile);
    for (int r = 0; r < rows; r++) {
        const uint8_t *xr = J->xq + (size_t)(r0 + r) * kq * 4;
        int32_t *t = tile + r * NR;
        for (int p = 0; p < kq; p++) {
            const int8_t *wp = ws + (size_t)p * NR * 4;
            const uint8_t *a = xr + 4 * p;
            for (int c = 0; c < NR; c++)
                t[c] += a[0] * wp[4 * c] + a[1] * wp[4 * c + 1] + a[2] * wp[4 * c + 2] + a[3] * wp[4 * c + 3];
        }
    }
}

/* Strips are taken in groups whose weights (~384 KB) stay in L2 while every row tile passes
 * over them; a row tile's activations (12 x k bytes) stay in L1 across the group's strips.
 * One strip at a time instead re-read all activations from L3 per strip once they outgrow
 * L2 (the MLP's second product at batch 8: 400 x 3072 bytes). */
static void run_job(void *arg, int t)
{
    const job_t *J = arg;
    int32_t tile[MR * NR];
    int hw = use_hw(), s0 = J->ns * t / J->nt, s1 = J->ns * (t + 1) / J->nt;
    size_t strip_bytes = (size_t)J->w->kq * NR * 4;
    int group = (int)((384u << 10) / strip_bytes);
    if (group < 1) group = 1;
    for (int g0 = s0; g0 < s1; g0 += group) {
        int g1 = g0 + group < s1 ? g0 + group : s1;
        for (int r0 = 0; r0 < J->mpad; ) {
            int rows = r0 < J->mfull ? MR : MT;
            for (int s = g0; s < g1; s++) {
                const int8_t *ws = J->w->w + (size_t)s * strip_bytes;
                if (!hw) { tile_portable(J, ws, r0, rows, tile); store_tile(J, tile, r0, rows, s); }
                else {
                    if (rows == MR) tile_12x32(J, ws, r0, tile);
                    else tile_4x32(J, ws, r0, tile);
                    store_tile_avx512(J, tile, r0, rows, s);
                }
            }
            r0 += rows;
        }
    }
}

void gemm_i8(float *out, const float *x, const gemm_i8_mat_t *w, const float *bias, int m, int accumulate)
{
    if (m <= 0) return;
    int k = w->k, kq = w->kq, mfull = m / MR * MR, mpad = mfull + (m - mfull + MT - 1) / MT * MT;
    size_t rowb = (size_t)kq * 4;
    /* One scratch: the u8 rows, then the row scales. */
    size_t qbytes = (size_t)mpad * rowb, nfl = (qbytes + 3) / 4 + (size_t)mpad;
    float *mem = ml_scratch_get(3, nfl);
    uint8_t *xq = (uint8_t *)mem;
    float *xs = mem + (qbytes + 3) / 4;
    for (int r = 0; r < mpad; r++) {
        uint8_t *row = xq + (size_t)r * rowb;
        if (r < m) {
            xs[r] = gemm_i8_quantize_row(row, x + (size_t)r * k, k);
            memset(row + k, 128, rowb - (size_t)k);   /* padding: zero point, zero weights */
        } else {
            memset(row, 128, rowb);
            xs[r] = 0.0f;
        }
    }
    int ns = strips(w->n), nt = ml_pool_threads_for(m, w->n, k);
    if (nt > ns) nt = ns;
    if (nt > 16) nt = 16;
    if (nt < 1) nt = 1;
    job_t J = {out, xq, xs, w, bias, m, mfull, mpad, accumulate, nt, ns};
    ml_pool_run(nt, run_job, &J);
    ml_scratch_release(3, mem);
}
