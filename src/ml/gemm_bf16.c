/* gemm_bf16.c — bfloat16 matrix product with float32 accumulation (see gemm_bf16.h).
 *
 * Why our own kernel: Debian's OpenBLAS is built without BUILD_BFLOAT16 (no sbgemm). The
 * microkernel computes an 8-row x 32-column tile: per pair of k values it loads two 64-byte
 * weight vectors (16 columns x 2 k each) and broadcasts one 32-bit bf16 pair per row, so
 * 16 vdpbf16ps run from 2 loads + 8 broadcasts. The weight strip for 32 columns stays in
 * L2 while all row tiles pass over it. Threads split the column strips. */
#include "ml/gemm_bf16.h"
#include "ml/kernels.h"
#include "ml/pool.h"
#include "core/buf.h"
#include <immintrin.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define NR 32      /* columns per strip */
#define MR 8       /* rows per tile */

static int g_portable;

void gemm_bf16_force_portable(int on) { g_portable = on; }

int gemm_bf16_hw(void)
{
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("avx512bf16") && __builtin_cpu_supports("avx512f") &&
                 __builtin_cpu_supports("avx512bw");
    }
    return cached;
}

uint16_t gemm_bf16_from_float(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40);  /* quiet NaN */
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

float gemm_bf16_to_float(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static int kpairs(int k) { return (k + 1) / 2; }
static int strips(int n) { return (n + NR - 1) / NR; }

size_t gemm_bf16_packed_size(int n, int k)
{
    return (size_t)strips(n) * kpairs(k) * NR * 2;
}

void gemm_bf16_pack(uint16_t *dst, const float *w, int n, int k)
{
    int kp = kpairs(k);
    /* Walk the source row by row (sequential reads); the writes stride by NR pairs. */
    for (int s = 0; s < strips(n); s++)
        for (int c = 0; c < NR; c++) {
            int col = s * NR + c;
            uint16_t *d = dst + ((size_t)s * kp * NR + c) * 2;
            const float *src = col < n ? w + (size_t)col * k : NULL;
            for (int p = 0; p < kp; p++)
                for (int j = 0; j < 2; j++) {
                    int kk = 2 * p + j;
                    d[(size_t)p * NR * 2 + j] = gemm_bf16_from_float(src && kk < k ? src[kk] : 0.0f);
                }
        }
}

/* One job: x already in bf16 [mpad][2*kp]; compute column strips [s0, s1). */
typedef struct {
    float *out;
    const uint16_t *xb, *w;
    int m, n, kp, accumulate, s0, s1;
} job_t;

static void store_tile(const job_t *j, const float *tile, int r0, int s)
{
    for (int r = 0; r < MR && r0 + r < j->m; r++) {
        float *o = j->out + (size_t)(r0 + r) * j->n + s * NR;
        int cols = j->n - s * NR < NR ? j->n - s * NR : NR;
        const float *t = tile + r * NR;
        if (j->accumulate) for (int c = 0; c < cols; c++) o[c] += t[c];
        else memcpy(o, t, (size_t)cols * sizeof(float));
    }
}

__attribute__((target("avx512f,avx512bw,avx512bf16")))
static void run_job_avx512(const job_t *j)
{
    float tile[MR * NR];
    for (int s = j->s0; s < j->s1; s++) {
        const uint16_t *ws = j->w + (size_t)s * j->kp * NR * 2;
        for (int r0 = 0; r0 < j->m; r0 += MR) {
            __m512 c00 = _mm512_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00,
                   c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00,
                   c61 = c00, c70 = c00, c71 = c00;
            const int32_t *xr = (const int32_t *)(j->xb + (size_t)r0 * j->kp * 2);
            size_t ld = (size_t)j->kp;   /* row stride in 32-bit pairs */
            for (int p = 0; p < j->kp; p++) {
                __m512bh b0 = (__m512bh)_mm512_loadu_si512(ws + (size_t)p * NR * 2);
                __m512bh b1 = (__m512bh)_mm512_loadu_si512(ws + (size_t)p * NR * 2 + 32);
                __m512bh a;
#define ROW(i, c0, c1) a = (__m512bh)_mm512_set1_epi32(xr[(i) * ld + p]); \
                c0 = _mm512_dpbf16_ps(c0, a, b0); c1 = _mm512_dpbf16_ps(c1, a, b1);
                ROW(0, c00, c01) ROW(1, c10, c11) ROW(2, c20, c21) ROW(3, c30, c31)
                ROW(4, c40, c41) ROW(5, c50, c51) ROW(6, c60, c61) ROW(7, c70, c71)
#undef ROW
            }
            _mm512_storeu_ps(tile + 0 * NR, c00); _mm512_storeu_ps(tile + 0 * NR + 16, c01);
            _mm512_storeu_ps(tile + 1 * NR, c10); _mm512_storeu_ps(tile + 1 * NR + 16, c11);
            _mm512_storeu_ps(tile + 2 * NR, c20); _mm512_storeu_ps(tile + 2 * NR + 16, c21);
            _mm512_storeu_ps(tile + 3 * NR, c30); _mm512_storeu_ps(tile + 3 * NR + 16, c31);
            _mm512_storeu_ps(tile + 4 * NR, c40); _mm512_storeu_ps(tile + 4 * NR + 16, c41);
            _mm512_storeu_ps(tile + 5 * NR, c50); _mm512_storeu_ps(tile + 5 * NR + 16, c51);
            _mm512_storeu_ps(tile + 6 * NR, c60); _mm512_storeu_ps(tile + 6 * NR + 16, c61);
            _mm512_storeu_ps(tile + 7 * NR, c70); _mm512_storeu_ps(tile + 7 * NR + 16, c71);
            store_tile(j, tile, r0, s);
        }
    }
}

static void run_job_portable(const job_t *j)
{
    float tile[MR * NR];
    for (int s = j->s0; s < j->s1; s++) {
        const uint16_t *ws = j->w + (size_t)s * j->kp * NR * 2;
        for (int r0 = 0; r0 < j->m; r0 += MR) {
            memset(tile, 0, sizeof tile);
            for (int r = 0; r < MR; r++) {
                const uint16_t *xr = j->xb + (size_t)(r0 + r) * j->kp * 2;
                for (int p = 0; p < j->kp; p++) {
                    float a0 = gemm_bf16_to_float(xr[2 * p]), a1 = gemm_bf16_to_float(xr[2 * p + 1]);
                    const uint16_t *wp = ws + (size_t)p * NR * 2;
                    for (int c = 0; c < NR; c++)
                        tile[r * NR + c] += a0 * gemm_bf16_to_float(wp[2 * c]) + a1 * gemm_bf16_to_float(wp[2 * c + 1]);
                }
            }
            store_tile(j, tile, r0, s);
        }
    }
}

static void run_job(const job_t *j)
{
    if (gemm_bf16_hw() && !g_portable) run_job_avx512(j);
    else run_job_portable(j);
}

static void pool_job(void *arg, int t) { run_job((const job_t *)arg + t); }

/* Per-thread scratch for the bf16 copy of the activations: grows, never shrinks, so the
 * steady state allocates nothing. Freed at thread exit by the key destructor. */
static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;
typedef struct { uint16_t *p; size_t cap; } scratch_t;
static void scratch_free(void *p) { scratch_t *s = p; free(s->p); free(s); }
static void scratch_init(void) { pthread_key_create(&scratch_key, scratch_free); }

static uint16_t *scratch_get(size_t n)
{
    pthread_once(&scratch_once, scratch_init);
    scratch_t *s = pthread_getspecific(scratch_key);
    if (!s) { s = xcalloc(1, sizeof *s); pthread_setspecific(scratch_key, s); }
    if (s->cap < n) { free(s->p); s->p = xmalloc(n * sizeof *s->p); s->cap = n; }
    return s->p;
}

/* Rounds a row to bf16 with vcvtne2ps2bf16 (round to nearest even, as the scalar path). */
__attribute__((target("avx512f,avx512bw,avx512bf16")))
static void row_to_bf16_avx512(uint16_t *dst, const float *src, int k)
{
    int c = 0;
    for (; c + 32 <= k; c += 32) {
        __m512bh v = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(src + c + 16), _mm512_loadu_ps(src + c));
        _mm512_storeu_si512(dst + c, (__m512i)v);
    }
    for (; c < k; c++) dst[c] = gemm_bf16_from_float(src[c]);
}

void gemm_bf16(float *out, const float *x, const uint16_t *wpacked, int m, int n, int k, int accumulate)
{
    int kp = kpairs(k), mpad = (m + MR - 1) / MR * MR;
    uint16_t *xb = scratch_get((size_t)mpad * kp * 2);
    int hw = gemm_bf16_hw() && !g_portable;
    for (int r = 0; r < mpad; r++) {
        uint16_t *row = xb + (size_t)r * kp * 2;
        if (r >= m) { memset(row, 0, (size_t)kp * 2 * sizeof *row); continue; }
        const float *xr = x + (size_t)r * k;
        if (hw) row_to_bf16_avx512(row, xr, k);
        else for (int c = 0; c < k; c++) row[c] = gemm_bf16_from_float(xr[c]);
        if (k & 1) row[k] = 0;
    }
    int ns = strips(n), nt = ml_pool_threads_for(m, n, k);
    if (nt > ns) nt = ns;
    if (nt > 16) nt = 16;
    job_t jobs[16];
    for (int t = 0; t < nt; t++)
        jobs[t] = (job_t){out, xb, wpacked, m, n, kp, accumulate, ns * t / nt, ns * (t + 1) / nt};
    ml_pool_run(nt, pool_job, jobs);
}
