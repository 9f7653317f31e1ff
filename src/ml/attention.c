/* attention.c — AVX-512 self-attention for heads of 64 dimensions (every CLIP and ViT size).
 *
 * Why: the per-head products are tiny (ViT-B/32: 50 x 50 x 64), so OpenBLAS spends much of
 * each call on dispatch and packing; 288 such calls per image cost ~1.5 ms, a tenth of the
 * int8 forward pass. Here K of a head is transposed once into kt[64][tpad] (tpad = tokens
 * rounded up to 16, zero-padded), then 4 query rows x 64 keys of scores are accumulated in
 * 16 registers (per dimension: 4 loads of kt, 4 broadcasts of q); softmax runs on the rows
 * (ml_softmax_row: only the first len scores count, the causal mask); and P x V is
 * accumulated the same way, 4 rows x 64 output dimensions per pass. */
#include "ml/attention.h"
#include "ml/kernels.h"
#include <immintrin.h>
#include <math.h>
#include <string.h>

#define DH 64

static int have_avx512(void)
{
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("avx512f");
    }
    return cached;
}

int ml_attention_fast_ok(int dim, int heads)
{
    return have_avx512() && heads > 0 && dim == heads * DH;
}

size_t ml_attention_fast_scratch(int tokens)
{
    size_t tpad = (size_t)(tokens + 15) / 16 * 16;
    return (size_t)DH * tpad + (size_t)tokens * tpad + 64;
}

/* s[r][0..16 nvec) = scale * q_r . k_(j0 + j) for 4 rows (row pointers may repeat). */
__attribute__((target("avx512f")))
static void scores_4x64(float *s, size_t lds, const float *const q[4], const float *kt, size_t tpad,
                        int j0, int nvec, float scale)
{
    __m512 z = _mm512_setzero_ps();
    __m512 a00 = z, a01 = z, a02 = z, a03 = z, a10 = z, a11 = z, a12 = z, a13 = z,
           a20 = z, a21 = z, a22 = z, a23 = z, a30 = z, a31 = z, a32 = z, a33 = z;
    const float *kp = kt + j0;
    for (int c = 0; c < DH; c++, kp += tpad) {
        /* key vectors past nvec read padding inside kt's row or the next row: never stored */
        __m512 k0 = _mm512_loadu_ps(kp), k1 = nvec > 1 ? _mm512_loadu_ps(kp + 16) : z;
        __m512 k2 = nvec > 2 ? _mm512_loadu_ps(kp + 32) : z, k3 = nvec > 3 ? _mm512_loadu_ps(kp + 48) : z;
        __m512 b;
#define ROW(r, x0, x1, x2, x3) b = _mm512_set1_ps(q[r][c]); \
        x0 = _mm512_fmadd_ps(b, k0, x0); x1 = _mm512_fmadd_ps(b, k1, x1); \
        x2 = _mm512_fmadd_ps(b, k2, x2); x3 = _mm512_fmadd_ps(b, k3, x3);
        ROW(0, a00, a01, a02, a03) ROW(1, a10, a11, a12, a13) ROW(2, a20, a21, a22, a23) ROW(3, a30, a31, a32, a33)
#undef ROW
    }
    __m512 sc = _mm512_set1_ps(scale);
    __m512 acc[4][4] = {{a00, a01, a02, a03}, {a10, a11, a12, a13}, {a20, a21, a22, a23}, {a30, a31, a32, a33}};
    for (int r = 0; r < 4; r++)
        for (int v = 0; v < nvec; v++) _mm512_storeu_ps(s + r * lds + 16 * v, _mm512_mul_ps(acc[r][v], sc));
}

/* o_r[0..64) = sum_j p_r[j] v_j for 4 rows; len = keys with nonzero weight in any row. */
__attribute__((target("avx512f")))
static void pv_4x64(float *const o[4], const float *const p[4], const float *v, size_t ldv, int len)
{
    __m512 z = _mm512_setzero_ps();
    __m512 a00 = z, a01 = z, a02 = z, a03 = z, a10 = z, a11 = z, a12 = z, a13 = z,
           a20 = z, a21 = z, a22 = z, a23 = z, a30 = z, a31 = z, a32 = z, a33 = z;
    for (int j = 0; j < len; j++) {
        const float *vr = v + (size_t)j * ldv;
        __m512 v0 = _mm512_loadu_ps(vr), v1 = _mm512_loadu_ps(vr + 16);
        __m512 v2 = _mm512_loadu_ps(vr + 32), v3 = _mm512_loadu_ps(vr + 48);
        __m512 b;
#define ROW(r, x0, x1, x2, x3) b = _mm512_set1_ps(p[r][j]); \
        x0 = _mm512_fmadd_ps(b, v0, x0); x1 = _mm512_fmadd_ps(b, v1, x1); \
        x2 = _mm512_fmadd_ps(b, v2, x2); x3 = _mm512_fmadd_ps(b, v3, x3);
        ROW(0, a00, a01, a02, a03) ROW(1, a10, a11, a12, a13) ROW(2, a20, a21, a22, a23) ROW(3, a30, a31, a32, a33)
#undef ROW
    }
    __m512 acc[4][4] = {{a00, a01, a02, a03}, {a10, a11, a12, a13}, {a20, a21, a22, a23}, {a30, a31, a32, a33}};
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 4; c++) _mm512_storeu_ps(o[r] + 16 * c, acc[r][c]);
}

void ml_attention_fast(float *out, const float *q, const float *k, const float *v, int tokens,
                       int ld, int heads, int causal, float *scratch)
{
    size_t tpad = (size_t)(tokens + 15) / 16 * 16;
    float *kt = scratch, *s = kt + (size_t)DH * tpad;
    float scale = 1.0f / sqrtf((float)DH);
    float rowbuf[4][DH];
    for (int h = 0; h < heads; h++) {
        const float *qh = q + h * DH, *kh = k + h * DH, *vh = v + h * DH;
        for (int c = 0; c < DH; c++) {
            float *d = kt + (size_t)c * tpad;
            for (int j = 0; j < tokens; j++) d[j] = kh[(size_t)j * ld + c];
            for (size_t j = (size_t)tokens; j < tpad; j++) d[j] = 0.0f;
        }
        for (int i0 = 0; i0 < tokens; i0 += 4) {
            const float *qr[4];
            for (int r = 0; r < 4; r++) qr[r] = qh + (size_t)(i0 + r < tokens ? i0 + r : tokens - 1) * ld;
            /* causal: keys past the last row of the group are masked for all four */
            int keys = causal ? (i0 + 4 < tokens ? i0 + 4 : tokens) : tokens;
            float tmp[4 * 64];
            for (int j0 = 0; j0 < keys; j0 += 64) {
                int nvec = (keys - j0 + 15) / 16;
                if (nvec > 4) nvec = 4;
                if (i0 + 4 <= tokens) scores_4x64(s + (size_t)i0 * tpad + j0, tpad, qr, kt, tpad, j0, nvec, scale);
                else {                          /* last group: rows past the end go to tmp */
                    scores_4x64(tmp, 64, qr, kt, tpad, j0, nvec, scale);
                    for (int r = 0; i0 + r < tokens; r++)
                        memcpy(s + (size_t)(i0 + r) * tpad + j0, tmp + r * 64, (size_t)nvec * 16 * sizeof(float));
                }
            }
            const float *pr[4];
            float *orow[4];
            for (int r = 0; r < 4; r++) {
                int i = i0 + r < tokens ? i0 + r : tokens - 1;
                if (i0 + r < tokens) ml_softmax_row(s + (size_t)i * tpad, causal ? i + 1 : tokens, keys);
                pr[r] = s + (size_t)i * tpad;
                orow[r] = i0 + r < tokens ? out + (size_t)i * ld + h * DH : rowbuf[r];
            }
            pv_4x64(orow, pr, vh, (size_t)ld, keys);
        }
    }
}
