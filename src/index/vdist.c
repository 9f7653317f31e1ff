/* vdist.c — fp32 and int8 dot/L2 kernels: portable C, AVX2+FMA, AVX-512(+VNNI).
 * Why hand-written: the HNSW inner loop is one distance per visited neighbour, and the
 * compiler may not reassociate float sums without -ffast-math, so the portable loop would run
 * scalar. Several accumulators hide FMA latency; tails are done in scalar code. */
#include "index/vdist.h"
#include <immintrin.h>
#include <stdlib.h>
#include <string.h>

/* ---- portable ---- */
static float dot_f32_c(const float *a, const float *b, size_t d)
{
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t i = 0;
    for (; i + 4 <= d; i += 4) {
        s0 += a[i] * b[i]; s1 += a[i + 1] * b[i + 1];
        s2 += a[i + 2] * b[i + 2]; s3 += a[i + 3] * b[i + 3];
    }
    for (; i < d; i++) s0 += a[i] * b[i];
    return (s0 + s1) + (s2 + s3);
}

static float l2_f32_c(const float *a, const float *b, size_t d)
{
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t i = 0;
    for (; i + 4 <= d; i += 4) {
        float t0 = a[i] - b[i], t1 = a[i + 1] - b[i + 1];
        float t2 = a[i + 2] - b[i + 2], t3 = a[i + 3] - b[i + 3];
        s0 += t0 * t0; s1 += t1 * t1; s2 += t2 * t2; s3 += t3 * t3;
    }
    for (; i < d; i++) { float t = a[i] - b[i]; s0 += t * t; }
    return (s0 + s1) + (s2 + s3);
}

static int32_t dot_i8_c(const int8_t *a, const int8_t *b, size_t d)
{
    int32_t s = 0;
    for (size_t i = 0; i < d; i++) s += (int32_t)a[i] * b[i];
    return s;
}

static int32_t l2_i8_c(const int8_t *a, const int8_t *b, size_t d)
{
    int32_t s = 0;
    for (size_t i = 0; i < d; i++) { int32_t t = (int32_t)a[i] - b[i]; s += t * t; }
    return s;
}

/* ---- AVX2 + FMA ---- */
__attribute__((target("avx2,fma"))) static inline float hsum256(__m256 v)
{
    __m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);
    lo = _mm_add_ps(lo, hi);
    lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
    lo = _mm_add_ss(lo, _mm_shuffle_ps(lo, lo, 1));
    return _mm_cvtss_f32(lo);
}

__attribute__((target("avx2,fma"))) static inline int32_t hsum256_i32(__m256i v)
{
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    return _mm_cvtsi128_si32(s);
}

__attribute__((target("avx2,fma"))) static float dot_f32_avx2(const float *a, const float *b, size_t d)
{
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    __m256 s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 32 <= d; i += 32) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
        s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), s2);
        s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), s3);
    }
    for (; i + 8 <= d; i += 8)
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    float s = hsum256(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
    for (; i < d; i++) s += a[i] * b[i];
    return s;
}

__attribute__((target("avx2,fma"))) static float l2_f32_avx2(const float *a, const float *b, size_t d)
{
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    __m256 s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 32 <= d; i += 32) {
        __m256 t0 = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
        __m256 t1 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8));
        __m256 t2 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16));
        __m256 t3 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24));
        s0 = _mm256_fmadd_ps(t0, t0, s0); s1 = _mm256_fmadd_ps(t1, t1, s1);
        s2 = _mm256_fmadd_ps(t2, t2, s2); s3 = _mm256_fmadd_ps(t3, t3, s3);
    }
    for (; i + 8 <= d; i += 8) {
        __m256 t = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
        s0 = _mm256_fmadd_ps(t, t, s0);
    }
    float s = hsum256(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
    for (; i < d; i++) { float t = a[i] - b[i]; s += t * t; }
    return s;
}

/* int8: sign-extend 16 bytes to 16 x int16, then vpmaddwd pairs into int32 (exact). */
__attribute__((target("avx2,fma"))) static int32_t dot_i8_avx2(const int8_t *a, const int8_t *b, size_t d)
{
    __m256i s0 = _mm256_setzero_si256(), s1 = _mm256_setzero_si256();
    size_t i = 0;
    for (; i + 32 <= d; i += 32) {
        __m256i a0 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(a + i)));
        __m256i b0 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(b + i)));
        __m256i a1 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(a + i + 16)));
        __m256i b1 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(b + i + 16)));
        s0 = _mm256_add_epi32(s0, _mm256_madd_epi16(a0, b0));
        s1 = _mm256_add_epi32(s1, _mm256_madd_epi16(a1, b1));
    }
    int32_t s = hsum256_i32(_mm256_add_epi32(s0, s1));
    for (; i < d; i++) s += (int32_t)a[i] * b[i];
    return s;
}

__attribute__((target("avx2,fma"))) static int32_t l2_i8_avx2(const int8_t *a, const int8_t *b, size_t d)
{
    __m256i s0 = _mm256_setzero_si256(), s1 = _mm256_setzero_si256();
    size_t i = 0;
    for (; i + 32 <= d; i += 32) {
        __m256i t0 = _mm256_sub_epi16(_mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(a + i))),
                                      _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(b + i))));
        __m256i t1 = _mm256_sub_epi16(_mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(a + i + 16))),
                                      _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(b + i + 16))));
        s0 = _mm256_add_epi32(s0, _mm256_madd_epi16(t0, t0));
        s1 = _mm256_add_epi32(s1, _mm256_madd_epi16(t1, t1));
    }
    int32_t s = hsum256_i32(_mm256_add_epi32(s0, s1));
    for (; i < d; i++) { int32_t t = (int32_t)a[i] - b[i]; s += t * t; }
    return s;
}

/* ---- AVX-512 (F/BW/VNNI): fp32 in 16-lane FMAs; int8 via vpdpwssd on int16 lanes ---- */
#define T512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma")))
/* fp32: four accumulators over 64 floats per step. An FMA has 4 cycles of latency and two
 * issue per cycle, so two chains left a 512-d product latency-bound (~64 cycles of dependent
 * FMAs); four chains halve that. In a graph search every cycle here is on the critical path
 * between two cache-missing records. */
T512 static float dot_f32_avx512(const float *a, const float *b, size_t d)
{
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    __m512 s2 = _mm512_setzero_ps(), s3 = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 64 <= d; i += 64) {
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
        s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
        s2 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32), s2);
        s3 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48), s3);
    }
    s0 = _mm512_add_ps(s0, s2);
    s1 = _mm512_add_ps(s1, s3);
    for (; i + 32 <= d; i += 32) {
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
        s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
    }
    if (i < d) {
        size_t left = d - i;
        __mmask16 m = left >= 16 ? 0xffff : (__mmask16)((1u << left) - 1);
        s0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), s0);
        if (left > 16) {
            m = (__mmask16)((1u << (left - 16)) - 1);
            s1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i + 16), _mm512_maskz_loadu_ps(m, b + i + 16), s1);
        }
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}

T512 static float l2_f32_avx512(const float *a, const float *b, size_t d)
{
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    __m512 s2 = _mm512_setzero_ps(), s3 = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 64 <= d; i += 64) {
        __m512 t0 = _mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
        __m512 t1 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16));
        __m512 t2 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32));
        __m512 t3 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48));
        s0 = _mm512_fmadd_ps(t0, t0, s0); s1 = _mm512_fmadd_ps(t1, t1, s1);
        s2 = _mm512_fmadd_ps(t2, t2, s2); s3 = _mm512_fmadd_ps(t3, t3, s3);
    }
    s0 = _mm512_add_ps(s0, s2);
    s1 = _mm512_add_ps(s1, s3);
    for (; i + 32 <= d; i += 32) {
        __m512 t0 = _mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
        __m512 t1 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16));
        s0 = _mm512_fmadd_ps(t0, t0, s0); s1 = _mm512_fmadd_ps(t1, t1, s1);
    }
    for (; i < d; i += 16) {
        size_t left = d - i;
        __mmask16 m = left >= 16 ? 0xffff : (__mmask16)((1u << left) - 1);
        __m512 t = _mm512_sub_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i));
        s0 = _mm512_fmadd_ps(t, t, s0);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}

T512 static int32_t dot_i8_avx512(const int8_t *a, const int8_t *b, size_t d)
{
    __m512i s0 = _mm512_setzero_si512(), s1 = _mm512_setzero_si512();
    size_t i = 0;
    for (; i + 64 <= d; i += 64) {
        __m512i a0 = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)(a + i)));
        __m512i b0 = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)(b + i)));
        __m512i a1 = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)(a + i + 32)));
        __m512i b1 = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)(b + i + 32)));
        s0 = _mm512_dpwssd_epi32(s0, a0, b0);
        s1 = _mm512_dpwssd_epi32(s1, a1, b1);
    }
    for (; i < d; i += 32) {
        size_t left = d - i;
        __mmask32 m = left >= 32 ? 0xffffffffu : (__mmask32)((1u << left) - 1);
        __m512i a0 = _mm512_cvtepi8_epi16(_mm256_maskz_loadu_epi8(m, a + i));
        __m512i b0 = _mm512_cvtepi8_epi16(_mm256_maskz_loadu_epi8(m, b + i));
        s0 = _mm512_dpwssd_epi32(s0, a0, b0);
    }
    return _mm512_reduce_add_epi32(_mm512_add_epi32(s0, s1));
}

T512 static int32_t l2_i8_avx512(const int8_t *a, const int8_t *b, size_t d)
{
    __m512i s0 = _mm512_setzero_si512(), s1 = _mm512_setzero_si512();
    size_t i = 0;
    for (; i + 64 <= d; i += 64) {
        __m512i t0 = _mm512_sub_epi16(_mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)(a + i))),
                                      _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)(b + i))));
        __m512i t1 = _mm512_sub_epi16(_mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)(a + i + 32))),
                                      _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)(b + i + 32))));
        s0 = _mm512_dpwssd_epi32(s0, t0, t0);
        s1 = _mm512_dpwssd_epi32(s1, t1, t1);
    }
    for (; i < d; i += 32) {
        size_t left = d - i;
        __mmask32 m = left >= 32 ? 0xffffffffu : (__mmask32)((1u << left) - 1);
        __m512i t = _mm512_sub_epi16(_mm512_cvtepi8_epi16(_mm256_maskz_loadu_epi8(m, a + i)),
                                     _mm512_cvtepi8_epi16(_mm256_maskz_loadu_epi8(m, b + i)));
        s0 = _mm512_dpwssd_epi32(s0, t, t);
    }
    return _mm512_reduce_add_epi32(_mm512_add_epi32(s0, s1));
}

static const vdist_kernels_t k_portable = {dot_f32_c, l2_f32_c, dot_i8_c, l2_i8_c, "portable"};
static const vdist_kernels_t k_avx2 = {dot_f32_avx2, l2_f32_avx2, dot_i8_avx2, l2_i8_avx2, "avx2"};
static const vdist_kernels_t k_avx512 = {dot_f32_avx512, l2_f32_avx512, dot_i8_avx512, l2_i8_avx512, "avx512"};

static int has_avx2(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

static int has_avx512(void)
{
    __builtin_cpu_init();
    return has_avx2() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512vnni");
}

const vdist_kernels_t *vdist_get_named(const char *name)
{
    if (!strcmp(name, "portable")) return &k_portable;
    if (!strcmp(name, "avx2")) return has_avx2() ? &k_avx2 : NULL;
    if (!strcmp(name, "avx512")) return has_avx512() ? &k_avx512 : NULL;
    return NULL;
}

/* AVX-512 on the fp32 path gains little on CPUs that split 512-bit ops (Zen 4) but the
 * int8 VNNI path does gain; RODEO_VDIST=avx2|portable overrides for comparisons. */
const vdist_kernels_t *vdist_get(void)
{
    static const vdist_kernels_t *chosen;
    const vdist_kernels_t *k = __atomic_load_n(&chosen, __ATOMIC_ACQUIRE);
    if (k) return k;
    const char *env = getenv("RODEO_VDIST");
    if (env) k = vdist_get_named(env);
    if (!k) k = has_avx512() ? &k_avx512 : has_avx2() ? &k_avx2 : &k_portable;
    __atomic_store_n(&chosen, k, __ATOMIC_RELEASE);
    return k;
}
