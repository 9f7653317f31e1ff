/* kernels.c — row kernels and sgemm glue for the inference engine (see kernels.h).
 *
 * Why our own exp: QuickGELU and GELU run over every MLP activation (ViT-B/32: 1.8 M values
 * per image); scalar libm expf/erff alone would cost ~10% of the whole forward pass. The
 * AVX2 exp is the classic Cephes range reduction + degree-6 polynomial (rel. error ~2e-7),
 * erf is Abramowitz-Stegun 7.1.26 (abs. error 1.5e-7) on top of it. */
#include "ml/kernels.h"
#include "ml/attention.h"
#include "ml/gemm_bf16.h"
#include "ml/gemm_f32.h"
#include "ml/gemm_i8.h"
#include <cblas.h>
#include <immintrin.h>
#include <math.h>
#include <pthread.h>
#include "core/buf.h"
#include <stdlib.h>
#include <string.h>

static int g_threads = 1;
static int g_force_generic;
static int g_force_avx2;

int ml_threads_set(int n)
{
    if (n <= 0) {
        const char *e = getenv("RODEO_THREADS");
        n = e ? atoi(e) : 1;
        if (n <= 0) n = 1;
    }
    if (n > 64) n = 64;
    g_threads = n;
    openblas_set_num_threads(n);
    return n;
}

int ml_threads_get(void) { return g_threads; }

static int have_avx2(void)
{
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    }
    return cached && !g_force_generic;
}

/* AVX-512 versions of the activation and exp loops (half the instructions of AVX2 on a
 * full-width core; GELU runs over every MLP activation). */
static int have_avx512(void)
{
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq");
    }
    return cached && !g_force_generic && !g_force_avx2;
}

void ml_kernels_force_avx2(int on) { g_force_avx2 = on; }

const char *ml_kernels_isa(void) { return have_avx512() ? "avx512" : have_avx2() ? "avx2" : "generic"; }
void ml_kernels_force_generic(int on) { g_force_generic = on; }

/* ---- AVX2 math ---------------------------------------------------------------------- */

__attribute__((target("avx2,fma")))
static inline __m256 exp256(__m256 x)
{
    const __m256 hi = _mm256_set1_ps(88.3762626647949f), lo = _mm256_set1_ps(-87.3365478515625f);
    x = _mm256_max_ps(_mm256_min_ps(x, hi), lo);
    __m256 fx = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693359375f), x);
    x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(-2.12194440e-4f), x);
    __m256 y = _mm256_set1_ps(1.9875691500E-4f);
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.3981999507E-3f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(8.3334519073E-3f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(4.1665795894E-2f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.6666665459E-1f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(5.0000001201E-1f));
    y = _mm256_fmadd_ps(y, _mm256_mul_ps(x, x), _mm256_add_ps(x, _mm256_set1_ps(1.0f)));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(fx), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(y, _mm256_castsi256_ps(e));
}

/* erf(x) for x >= 0 (callers pass |x| and restore the sign). */
__attribute__((target("avx2,fma")))
static inline __m256 erf256_pos(__m256 ax)
{
    __m256 t = _mm256_div_ps(_mm256_set1_ps(1.0f), _mm256_fmadd_ps(_mm256_set1_ps(0.3275911f), ax, _mm256_set1_ps(1.0f)));
    __m256 p = _mm256_set1_ps(1.061405429f);
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-1.453152027f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(1.421413741f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-0.284496736f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(0.254829592f));
    p = _mm256_mul_ps(p, t);
    __m256 e = exp256(_mm256_sub_ps(_mm256_setzero_ps(), _mm256_mul_ps(ax, ax)));
    return _mm256_fnmadd_ps(p, e, _mm256_set1_ps(1.0f));
}

/* ---- AVX-512 math: the same approximations as the AVX2 ones, 16 lanes -------------- */

__attribute__((target("avx512f,avx512dq")))
static inline __m512 exp512(__m512 x)
{
    x = _mm512_max_ps(_mm512_min_ps(x, _mm512_set1_ps(88.3762626647949f)), _mm512_set1_ps(-87.3365478515625f));
    __m512 fx = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    x = _mm512_fnmadd_ps(fx, _mm512_set1_ps(0.693359375f), x);
    x = _mm512_fnmadd_ps(fx, _mm512_set1_ps(-2.12194440e-4f), x);
    __m512 y = _mm512_set1_ps(1.9875691500E-4f);
    y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(1.3981999507E-3f));
    y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(8.3334519073E-3f));
    y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(4.1665795894E-2f));
    y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(1.6666665459E-1f));
    y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(5.0000001201E-1f));
    y = _mm512_fmadd_ps(y, _mm512_mul_ps(x, x), _mm512_add_ps(x, _mm512_set1_ps(1.0f)));
    __m512i e = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(fx), _mm512_set1_epi32(127)), 23);
    return _mm512_mul_ps(y, _mm512_castsi512_ps(e));
}

__attribute__((target("avx512f,avx512dq")))
static inline __m512 erf512_pos(__m512 ax)
{
    __m512 t = _mm512_div_ps(_mm512_set1_ps(1.0f), _mm512_fmadd_ps(_mm512_set1_ps(0.3275911f), ax, _mm512_set1_ps(1.0f)));
    __m512 p = _mm512_set1_ps(1.061405429f);
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-1.453152027f));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(1.421413741f));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-0.284496736f));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(0.254829592f));
    p = _mm512_mul_ps(p, t);
    __m512 e = exp512(_mm512_sub_ps(_mm512_setzero_ps(), _mm512_mul_ps(ax, ax)));
    return _mm512_fnmadd_ps(p, e, _mm512_set1_ps(1.0f));
}

/* One vector of bias + activation; m selects the lanes loaded and stored (row tails). */
__attribute__((target("avx512f,avx512dq")))
static inline void bias_act_vec512(float *p, const float *bias, __mmask16 m, enum ml_act act)
{
    __m512 v = _mm512_maskz_loadu_ps(m, p);
    if (bias) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, bias));
    if (act == ML_ACT_QUICK_GELU) {
        __m512 one = _mm512_set1_ps(1.0f);
        v = _mm512_div_ps(v, _mm512_add_ps(one, exp512(_mm512_mul_ps(_mm512_set1_ps(-1.702f), v))));
    } else if (act == ML_ACT_GELU) {
        __m512 z = _mm512_mul_ps(v, _mm512_set1_ps(0.70710678118654752f));
        __m512 er = erf512_pos(_mm512_abs_ps(z));
        er = _mm512_mask_sub_ps(er, _mm512_cmp_ps_mask(z, _mm512_setzero_ps(), _CMP_LT_OQ), _mm512_setzero_ps(), er);
        v = _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.5f), v), _mm512_add_ps(_mm512_set1_ps(1.0f), er));
    }
    _mm512_mask_storeu_ps(p, m, v);
}

__attribute__((target("avx512f,avx512dq")))
static void bias_act_avx512(float *x, const float *bias, int rows, int cols, enum ml_act act)
{
    for (int r = 0; r < rows; r++) {
        float *row = x + (size_t)r * cols;
        int c = 0;
        for (; c + 16 <= cols; c += 16) bias_act_vec512(row + c, bias ? bias + c : NULL, 0xffff, act);
        if (c < cols) bias_act_vec512(row + c, bias ? bias + c : NULL, (__mmask16)((1u << (cols - c)) - 1), act);
    }
}

__attribute__((target("avx512f,avx512dq")))
static void exp_avx512(float *x, size_t n)
{
    size_t i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(x + i, exp512(_mm512_loadu_ps(x + i)));
    if (i < n) {
        __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        _mm512_mask_storeu_ps(x + i, m, exp512(_mm512_maskz_loadu_ps(m, x + i)));
    }
}

__attribute__((target("avx2,fma")))
static void bias_act_avx2(float *x, const float *bias, int rows, int cols, enum ml_act act)
{
    const __m256 half = _mm256_set1_ps(0.5f), one = _mm256_set1_ps(1.0f);
    const __m256 rsqrt2 = _mm256_set1_ps(0.70710678118654752f), qg = _mm256_set1_ps(-1.702f);
    const __m256 sign = _mm256_set1_ps(-0.0f);
    for (int r = 0; r < rows; r++) {
        float *row = x + (size_t)r * cols;
        int c = 0;
        for (; c + 8 <= cols; c += 8) {
            __m256 v = _mm256_loadu_ps(row + c);
            if (bias) v = _mm256_add_ps(v, _mm256_loadu_ps(bias + c));
            if (act == ML_ACT_QUICK_GELU) {
                __m256 s = _mm256_div_ps(one, _mm256_add_ps(one, exp256(_mm256_mul_ps(qg, v))));
                v = _mm256_mul_ps(v, s);
            } else if (act == ML_ACT_GELU) {
                __m256 z = _mm256_mul_ps(v, rsqrt2);
                __m256 sg = _mm256_and_ps(z, sign);
                __m256 er = _mm256_or_ps(erf256_pos(_mm256_andnot_ps(sign, z)), sg);
                v = _mm256_mul_ps(_mm256_mul_ps(half, v), _mm256_add_ps(one, er));
            }
            _mm256_storeu_ps(row + c, v);
        }
        for (; c < cols; c++) {
            float v = row[c] + (bias ? bias[c] : 0.0f);
            if (act == ML_ACT_QUICK_GELU) v = v / (1.0f + expf(-1.702f * v));
            else if (act == ML_ACT_GELU) v = 0.5f * v * (1.0f + erff(v * 0.70710678118654752f));
            row[c] = v;
        }
    }
}

__attribute__((target("avx2,fma")))
static void exp_avx2(float *x, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, exp256(_mm256_loadu_ps(x + i)));
    for (; i < n; i++) x[i] = expf(x[i]);
}

__attribute__((target("avx2,fma")))
static void layernorm_avx2(float *out, const float *x, const float *g, const float *b, int rows, int dim, float eps)
{
    for (int r = 0; r < rows; r++) {
        const float *in = x + (size_t)r * dim;
        float *o = out + (size_t)r * dim;
        __m256 s = _mm256_setzero_ps();
        int c = 0;
        for (; c + 8 <= dim; c += 8) s = _mm256_add_ps(s, _mm256_loadu_ps(in + c));
        float buf[8], sum = 0;
        _mm256_storeu_ps(buf, s);
        for (int i = 0; i < 8; i++) sum += buf[i];
        for (; c < dim; c++) sum += in[c];
        float mean = sum / dim;
        __m256 mv = _mm256_set1_ps(mean), q = _mm256_setzero_ps();
        for (c = 0; c + 8 <= dim; c += 8) {
            __m256 d = _mm256_sub_ps(_mm256_loadu_ps(in + c), mv);
            q = _mm256_fmadd_ps(d, d, q);
        }
        _mm256_storeu_ps(buf, q);
        float var = 0;
        for (int i = 0; i < 8; i++) var += buf[i];
        for (; c < dim; c++) var += (in[c] - mean) * (in[c] - mean);
        float inv = 1.0f / sqrtf(var / dim + eps);
        __m256 iv = _mm256_set1_ps(inv);
        for (c = 0; c + 8 <= dim; c += 8) {
            __m256 d = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(in + c), mv), iv);
            _mm256_storeu_ps(o + c, _mm256_fmadd_ps(d, _mm256_loadu_ps(g + c), _mm256_loadu_ps(b + c)));
        }
        for (; c < dim; c++) o[c] = (in[c] - mean) * inv * g[c] + b[c];
    }
}

/* ---- portable versions -------------------------------------------------------------- */

static void layernorm_generic(float *out, const float *x, const float *g, const float *b, int rows, int dim, float eps)
{
    for (int r = 0; r < rows; r++) {
        const float *in = x + (size_t)r * dim;
        float *o = out + (size_t)r * dim;
        double sum = 0, var = 0;
        for (int c = 0; c < dim; c++) sum += in[c];
        float mean = (float)(sum / dim);
        for (int c = 0; c < dim; c++) var += (double)(in[c] - mean) * (in[c] - mean);
        float inv = 1.0f / sqrtf((float)(var / dim) + eps);
        for (int c = 0; c < dim; c++) o[c] = (in[c] - mean) * inv * g[c] + b[c];
    }
}

void ml_layernorm(float *out, const float *x, const float *g, const float *b, int rows, int dim, float eps)
{
    if (have_avx2()) layernorm_avx2(out, x, g, b, rows, dim, eps);
    else layernorm_generic(out, x, g, b, rows, dim, eps);
}

void ml_exp_inplace(float *x, size_t n)
{
    if (have_avx512()) { exp_avx512(x, n); return; }
    if (have_avx2()) { exp_avx2(x, n); return; }
    for (size_t i = 0; i < n; i++) x[i] = expf(x[i]);
}

/* max, exp(x - max) with the sum, scale: three passes over a row held in L1. */
__attribute__((target("avx512f,avx512dq")))
static void softmax_avx512(float *x, int len)
{
    __m512 mx = _mm512_set1_ps(-INFINITY);
    int i = 0;
    for (; i + 16 <= len; i += 16) mx = _mm512_max_ps(mx, _mm512_loadu_ps(x + i));
    __mmask16 tail = (__mmask16)((1u << (len - i)) - 1);
    if (tail) mx = _mm512_mask_max_ps(mx, tail, mx, _mm512_maskz_loadu_ps(tail, x + i));
    __m512 m = _mm512_set1_ps(_mm512_reduce_max_ps(mx)), s = _mm512_setzero_ps();
    for (i = 0; i + 16 <= len; i += 16) {
        __m512 e = exp512(_mm512_sub_ps(_mm512_loadu_ps(x + i), m));
        s = _mm512_add_ps(s, e);
        _mm512_storeu_ps(x + i, e);
    }
    if (tail) {
        __m512 e = exp512(_mm512_sub_ps(_mm512_maskz_loadu_ps(tail, x + i), m));
        s = _mm512_mask_add_ps(s, tail, s, e);
        _mm512_mask_storeu_ps(x + i, tail, e);
    }
    float sum = _mm512_reduce_add_ps(s);
    __m512 inv = _mm512_set1_ps(sum > 0 ? 1.0f / sum : 0.0f);
    for (i = 0; i + 16 <= len; i += 16) _mm512_storeu_ps(x + i, _mm512_mul_ps(_mm512_loadu_ps(x + i), inv));
    if (tail) _mm512_mask_storeu_ps(x + i, tail, _mm512_mul_ps(_mm512_maskz_loadu_ps(tail, x + i), inv));
}

void ml_softmax_row(float *x, int len, int cols)
{
    if (len > 0 && have_avx512()) {
        softmax_avx512(x, len);
        for (int i = len; i < cols; i++) x[i] = 0.0f;
        return;
    }
    float mx = -INFINITY;
    for (int i = 0; i < len; i++) if (x[i] > mx) mx = x[i];
    for (int i = 0; i < len; i++) x[i] -= mx;
    ml_exp_inplace(x, (size_t)len);
    float s = 0;
    for (int i = 0; i < len; i++) s += x[i];
    float inv = s > 0 ? 1.0f / s : 0.0f;
    for (int i = 0; i < len; i++) x[i] *= inv;
    for (int i = len; i < cols; i++) x[i] = 0.0f;
}

void ml_bias_act(float *x, const float *bias, int rows, int cols, enum ml_act act)
{
    if (!bias && act == ML_ACT_NONE) return;
    if (have_avx512()) { bias_act_avx512(x, bias, rows, cols, act); return; }
    if (have_avx2()) { bias_act_avx2(x, bias, rows, cols, act); return; }
    for (int r = 0; r < rows; r++) {
        float *row = x + (size_t)r * cols;
        for (int c = 0; c < cols; c++) {
            float v = row[c] + (bias ? bias[c] : 0.0f);
            if (act == ML_ACT_QUICK_GELU) v = v / (1.0f + expf(-1.702f * v));
            else if (act == ML_ACT_GELU) v = 0.5f * v * (1.0f + erff(v * 0.70710678118654752f));
            row[c] = v;
        }
    }
}

void ml_linear(float *out, const float *x, const ml_matrix_t *w, const float *bias, int m,
               int accumulate, enum ml_act act)
{
    if (w->i8) {                       /* the bias is fused into the int8 kernel's store */
        gemm_i8(out, x, w->i8, bias, m, accumulate);
        if (!accumulate) ml_bias_act(out, NULL, m, w->n, act);
        return;
    }
    if (accumulate && bias)
        for (int r = 0; r < m; r++) {
            float *row = out + (size_t)r * w->n;
            for (int c = 0; c < w->n; c++) row[c] += bias[c];
        }
    if (w->bf16)
        gemm_bf16(out, x, w->bf16, m, w->n, w->k, accumulate);
    else if (gemm_f32_hw())
        gemm_f32_nt(out, x, w->f32, m, w->n, w->k, accumulate);
    else
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, w->n, w->k, 1.0f, x, w->k,
                    w->f32, w->k, accumulate ? 1.0f : 0.0f, out, w->n);
    if (!accumulate) ml_bias_act(out, bias, m, w->n, act);
}

void ml_attention(float *out, const float *q, const float *k, const float *v, int tokens,
                  int dim, int ld, int heads, int causal, float *scratch)
{
    if (!g_force_generic && ml_attention_fast_ok(dim, heads)) {
        /* slot 2: free while attention runs (the patch embedding uses it before the layers) */
        float *s = ml_scratch_get(2, ml_attention_fast_scratch(tokens));
        ml_attention_fast(out, q, k, v, tokens, ld, heads, causal, s);
        ml_scratch_release(2, s);
        return;
    }
    int dh = dim / heads;
    float scale = 1.0f / sqrtf((float)dh);
    for (int h = 0; h < heads; h++) {
        const float *qh = q + h * dh, *kh = k + h * dh, *vh = v + h * dh;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, tokens, tokens, dh, scale, qh, ld,
                    kh, ld, 0.0f, scratch, tokens);
        for (int i = 0; i < tokens; i++)
            ml_softmax_row(scratch + (size_t)i * tokens, causal ? i + 1 : tokens, tokens);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, tokens, dh, tokens, 1.0f, scratch,
                    tokens, vh, ld, 0.0f, out + h * dh, ld);
    }
}

#define SCRATCH_SLOTS 4
#define SCRATCH_KEEP  ((size_t)16 << 20)
typedef struct { float *p[SCRATCH_SLOTS]; size_t cap[SCRATCH_SLOTS]; } scratch_set_t;
static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;

static void scratch_destroy(void *arg)
{
    scratch_set_t *s = arg;
    for (int i = 0; i < SCRATCH_SLOTS; i++) free(s->p[i]);
    free(s);
}

static void scratch_key_init(void) { pthread_key_create(&scratch_key, scratch_destroy); }

float *ml_scratch_get(int slot, size_t n)
{
    if (n * sizeof(float) > SCRATCH_KEEP || slot < 0 || slot >= SCRATCH_SLOTS) return xmalloc(n * sizeof(float));
    pthread_once(&scratch_once, scratch_key_init);
    scratch_set_t *s = pthread_getspecific(scratch_key);
    if (!s) { s = xcalloc(1, sizeof *s); pthread_setspecific(scratch_key, s); }
    if (s->cap[slot] < n) {
        free(s->p[slot]);
        s->p[slot] = xmalloc(n * sizeof(float));
        s->cap[slot] = n;
    }
    return s->p[slot];
}

void ml_scratch_release(int slot, float *p)
{
    scratch_set_t *s = NULL;
    if (slot >= 0 && slot < SCRATCH_SLOTS) {
        pthread_once(&scratch_once, scratch_key_init);
        s = pthread_getspecific(scratch_key);
    }
    if (!s || s->p[slot] != p) free(p);
}

void ml_l2_normalize(float *x, int dim)
{
    double s = 0;
    for (int i = 0; i < dim; i++) s += (double)x[i] * x[i];
    if (s <= 0) return;
    float inv = (float)(1.0 / sqrt(s));
    for (int i = 0; i < dim; i++) x[i] *= inv;
}
