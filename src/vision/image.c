/* image.c — pixel operations for intake. The resampler follows Pillow's Resample.c
 * closely on purpose: the tensor must match the Python reference the models were
 * trained/validated with, so the coefficient math, rounding and pass order are the same. */
#include "vision/image.h"
#include <math.h>
#if defined(__x86_64__) && defined(__GNUC__)
#define VISION_X86 1
#include <immintrin.h>
#endif
#include <stdlib.h>
#include <string.h>

#define PRECISION_BITS (32 - 8 - 2)

int vision_image_alloc(vision_image_t *im, int w, int h, int c)
{
    if (w <= 0 || h <= 0 || c <= 0 || c > 4) return -1;
    size_t n = (size_t)w * (size_t)h;
    if (n > SIZE_MAX / (size_t)c || n * (size_t)c > ((size_t)1 << 33)) return -1;
    im->px = malloc(n * (size_t)c);
    if (!im->px) return -1;
    im->w = w; im->h = h; im->c = c;
    return 0;
}

void vision_image_free(vision_image_t *im)
{
    free(im->px);
    memset(im, 0, sizeof *im);
}

static double filter_bilinear(double x)
{
    if (x < 0.0) x = -x;
    return x < 1.0 ? 1.0 - x : 0.0;
}

static double filter_bicubic(double x)
{
    const double a = -0.5;
    if (x < 0.0) x = -x;
    if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
    if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
    return 0.0;
}

static double sinc(double x)
{
    if (x == 0.0) return 1.0;
    x *= M_PI;
    return sin(x) / x;
}

static double filter_lanczos(double x)
{
    return (-3.0 <= x && x < 3.0) ? sinc(x) * sinc(x / 3) : 0.0;
}

typedef struct {
    double (*fn)(double);
    double support;
} filter_def_t;

static const filter_def_t filters[] = {
    [VISION_FILTER_BILINEAR] = {filter_bilinear, 1.0},
    [VISION_FILTER_BICUBIC] = {filter_bicubic, 2.0},
    [VISION_FILTER_LANCZOS] = {filter_lanczos, 3.0},
};

/* Fixed-point coefficients for outputs first..first+count-1 of an in_size -> out_size
 * resize: bounds[2i] = first input index, bounds[2i+1] = taps; kk holds ksize ints per
 * output. Mirrors Pillow's precompute_coeffs + normalize_coeffs_8bpc. Returns ksize. */
static int coeffs_compute(int in_size, int out_size, int first, int count,
                          const filter_def_t *f, int **bounds_out, int32_t **kk_out)
{
    double scale = (double)in_size / out_size, filterscale = scale < 1.0 ? 1.0 : scale;
    double support = f->support * filterscale, ss = 1.0 / filterscale;
    int ksize = (int)ceil(support) * 2 + 1;
    int *bounds = malloc(sizeof(int) * 2 * (size_t)count);
    int32_t *kk = malloc(sizeof(int32_t) * (size_t)ksize * (size_t)count);
    double *k = malloc(sizeof(double) * (size_t)ksize);
    if (!bounds || !kk || !k) { free(bounds); free(kk); free(k); return -1; }
    for (int i = 0; i < count; i++) {
        int xx = first + i;
        double center = (xx + 0.5) * scale, ww = 0.0;
        int xmin = (int)(center - support + 0.5);
        if (xmin < 0) xmin = 0;
        int xmax = (int)(center + support + 0.5);
        if (xmax > in_size) xmax = in_size;
        xmax -= xmin;
        for (int x = 0; x < xmax; x++) {
            double w = f->fn((x + xmin - center + 0.5) * ss);
            k[x] = w;
            ww += w;
        }
        int32_t *kout = kk + (size_t)i * ksize;
        for (int x = 0; x < ksize; x++) {
            double v = x < xmax ? (ww != 0.0 ? k[x] / ww : k[x]) : 0.0;
            kout[x] = v < 0 ? (int32_t)(-0.5 + v * (1 << PRECISION_BITS))
                            : (int32_t)(0.5 + v * (1 << PRECISION_BITS));
        }
        bounds[2 * i] = xmin;
        bounds[2 * i + 1] = xmax;
    }
    free(k);
    *bounds_out = bounds;
    *kk_out = kk;
    return ksize;
}

static inline uint8_t clip8(int32_t in)
{
    if (in >= (1 << PRECISION_BITS << 8)) return 255;
    if (in <= 0) return 0;
    return (uint8_t)(in >> PRECISION_BITS);
}

/* The two passes are the hot loops of intake: -O3 lets GCC vectorise them, and
 * target_clones adds an AVX2 variant chosen at load time from the CPU actually running
 * (the default clone stays plain x86-64, so the binary is portable). */
#if defined(VISION_X86) && !defined(__clang__)
#define HOT __attribute__((optimize("O3"), target_clones("avx2", "default")))
#else
#define HOT
#endif

/* AVX2 kernels are used when the CPU has AVX2 (checked at run time, never assumed from
 * the build machine) unless switched off. Relaxed atomics: a benign, idempotent race. */
static int simd_state = -1;   /* -1 unknown, 0 off, 1 on */

#ifdef VISION_X86
static int cpu_has_avx2(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") ? 1 : 0;
}
#else
static int cpu_has_avx2(void) { return 0; }
#endif

static int simd_enabled(void)
{
    int s = __atomic_load_n(&simd_state, __ATOMIC_RELAXED);
    if (s < 0) {
        s = cpu_has_avx2();
        __atomic_store_n(&simd_state, s, __ATOMIC_RELAXED);
    }
    return s;
}

void vision_image_simd_enable(int on)
{
    __atomic_store_n(&simd_state, on && cpu_has_avx2() ? 1 : 0, __ATOMIC_RELAXED);
}

#ifdef VISION_X86
/* One RGB row of the horizontal pass with AVX2: two taps per step, lanes
 * [R G B 0 | R G B 0] for pixels i and i+1, so one multiply-add does six products.
 * Integer sums in a different order are the same sums: output identical to the scalar
 * loop. An 8-byte load at pixel i reads 2 bytes past pixel i+1, which is only allowed
 * where those bytes exist (not at the very end of the buffer); the rest is scalar. */
__attribute__((target("avx2"))) static void hrow_rgb_avx2(const uint8_t *in, int in_w, int last_row,
                                                         uint8_t *out, int out_w, int ksize,
                                                         const int *bounds, const int32_t *kk)
{
    const __m128i shuf = _mm_setr_epi8(0, 1, 2, -1, 3, 4, 5, -1, -1, -1, -1, -1, -1, -1, -1, -1);
    const __m256i perm = _mm256_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1);
    for (int x = 0; x < out_w; x++) {
        int xmin = bounds[2 * x], xmax = bounds[2 * x + 1];
        const int32_t *k = kk + (size_t)x * ksize;
        const uint8_t *p = in + (size_t)xmin * 3;
        int safe = xmin + xmax < in_w || !last_row;
        __m256i acc = _mm256_setzero_si256();
        int i = 0;
        for (; i + 1 < xmax && (i + 2 < xmax || safe); i += 2) {
            __m128i px = _mm_shuffle_epi8(_mm_loadl_epi64((const __m128i *)(p + 3 * i)), shuf);
            __m256i kv = _mm256_permutevar8x32_epi32(
                _mm256_castsi128_si256(_mm_loadl_epi64((const __m128i *)(k + i))), perm);
            acc = _mm256_add_epi32(acc, _mm256_mullo_epi32(_mm256_cvtepu8_epi32(px), kv));
        }
        __m128i sum = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
        int32_t lane[4];
        _mm_storeu_si128((__m128i *)lane, sum);
        int32_t s0 = lane[0] + (1 << (PRECISION_BITS - 1)), s1 = lane[1] + (1 << (PRECISION_BITS - 1)),
                s2 = lane[2] + (1 << (PRECISION_BITS - 1));
        for (; i < xmax; i++) {
            s0 += p[3 * i] * k[i]; s1 += p[3 * i + 1] * k[i]; s2 += p[3 * i + 2] * k[i];
        }
        out[3 * x] = clip8(s0); out[3 * x + 1] = clip8(s1); out[3 * x + 2] = clip8(s2);
    }
}

#endif /* VISION_X86 */

/* Horizontal pass over rows [row0, row0+rows) of src into dst (rows x win_w). */
HOT static void pass_horizontal(const vision_image_t *src, int row0, int rows, vision_image_t *dst,
                            int ksize, const int *bounds, const int32_t *kk)
{
    int c = src->c, simd = simd_enabled();
    for (int y = 0; y < rows; y++) {
        const uint8_t *in = src->px + (size_t)(row0 + y) * src->w * c;
        uint8_t *out = dst->px + (size_t)y * dst->w * c;
#ifdef VISION_X86
        if (c == 3 && simd) {
            hrow_rgb_avx2(in, src->w, row0 + y == src->h - 1, out, dst->w, ksize, bounds, kk);
            continue;
        }
#else
        (void)simd;
#endif
        for (int x = 0; x < dst->w; x++) {
            int xmin = bounds[2 * x], xmax = bounds[2 * x + 1];
            const int32_t *k = kk + (size_t)x * ksize;
            const uint8_t *p = in + (size_t)xmin * c;
            if (c == 3) {
                int32_t s0 = 1 << (PRECISION_BITS - 1), s1 = s0, s2 = s0;
                for (int i = 0; i < xmax; i++, p += 3) {
                    s0 += p[0] * k[i]; s1 += p[1] * k[i]; s2 += p[2] * k[i];
                }
                out[3 * x] = clip8(s0); out[3 * x + 1] = clip8(s1); out[3 * x + 2] = clip8(s2);
            } else if (c == 1) {
                int32_t s0 = 1 << (PRECISION_BITS - 1);
                for (int i = 0; i < xmax; i++) s0 += p[i] * k[i];
                out[x] = clip8(s0);
            } else {
                for (int ch = 0; ch < c; ch++) {
                    int32_t s = 1 << (PRECISION_BITS - 1);
                    for (int i = 0; i < xmax; i++) s += p[(size_t)i * c + ch] * k[i];
                    out[x * c + ch] = clip8(s);
                }
            }
        }
    }
}

/* Vertical pass: bounds are relative to src's first row. Rows are accumulated as whole
 * rows (row-major friendly), which gives the same sums as PIL's per-pixel loop. */
HOT static int pass_vertical(const vision_image_t *src, vision_image_t *dst,
                         int ksize, const int *bounds, const int32_t *kk)
{
    size_t rowlen = (size_t)dst->w * dst->c;
    int32_t *acc = malloc(sizeof(int32_t) * rowlen);
    if (!acc) return -1;
    for (int y = 0; y < dst->h; y++) {
        int ymin = bounds[2 * y], ymax = bounds[2 * y + 1];
        const int32_t *k = kk + (size_t)y * ksize;
        for (size_t i = 0; i < rowlen; i++) acc[i] = 1 << (PRECISION_BITS - 1);
        for (int j = 0; j < ymax; j++) {
            const uint8_t *in = src->px + (size_t)(ymin + j) * rowlen;
            int32_t kj = k[j];
            for (size_t i = 0; i < rowlen; i++) acc[i] += in[i] * kj;
        }
        uint8_t *out = dst->px + (size_t)y * rowlen;
        for (size_t i = 0; i < rowlen; i++) out[i] = clip8(acc[i]);
    }
    free(acc);
    return 0;
}

int vision_image_resample(const vision_image_t *src, int out_w, int out_h,
                          int x0, int y0, int win_w, int win_h,
                          vision_filter_t filter, vision_image_t *dst)
{
    if (!src->px || out_w <= 0 || out_h <= 0 || win_w <= 0 || win_h <= 0 || x0 < 0 || y0 < 0 ||
        x0 + win_w > out_w || y0 + win_h > out_h || (unsigned)filter > VISION_FILTER_LANCZOS)
        return -1;
    const filter_def_t *f = &filters[filter];
    int need_h = out_w != src->w, need_v = out_h != src->h;
    int *bh = NULL, *bv = NULL;
    int32_t *kh = NULL, *kv = NULL;
    int ksh = 0, ksv = 0, rc = -1;
    vision_image_t tmp = {0};

    /* Rows of src the vertical pass reads (all rows in the window when no vertical pass). */
    int row0 = y0, rows = win_h;
    if (need_v) {
        ksv = coeffs_compute(src->h, out_h, y0, win_h, f, &bv, &kv);
        if (ksv < 0) goto out;
        row0 = bv[0];
        rows = bv[2 * (win_h - 1)] + bv[2 * (win_h - 1) + 1] - row0;
        for (int i = 0; i < win_h; i++) bv[2 * i] -= row0;
    }
    if (need_h) {
        ksh = coeffs_compute(src->w, out_w, x0, win_w, f, &bh, &kh);
        if (ksh < 0 || vision_image_alloc(&tmp, win_w, rows, src->c) != 0) goto out;
        pass_horizontal(src, row0, rows, &tmp, ksh, bh, kh);
    } else {
        /* Window of columns x0..x0+win_w straight from src. */
        if (vision_image_alloc(&tmp, win_w, rows, src->c) != 0) goto out;
        for (int y = 0; y < rows; y++)
            memcpy(tmp.px + (size_t)y * win_w * src->c,
                   src->px + ((size_t)(row0 + y) * src->w + x0) * src->c, (size_t)win_w * src->c);
    }
    if (need_v) {
        if (vision_image_alloc(dst, win_w, win_h, src->c) != 0) goto out;
        if (pass_vertical(&tmp, dst, ksv, bv, kv) != 0) { vision_image_free(dst); goto out; }
        vision_image_free(&tmp);
    } else {
        *dst = tmp;
        memset(&tmp, 0, sizeof tmp);
    }
    rc = 0;
out:
    vision_image_free(&tmp);
    free(bh); free(bv); free(kh); free(kv);
    return rc;
}

void vision_image_place_rows(vision_image_t *dst, int orientation, int src_w, int src_h, int y0,
                             const uint8_t *rows, int n)
{
    int c = dst->c, W = src_w, H = src_h;
    size_t stride = (size_t)dst->w * c;
    if (orientation >= 5 && orientation <= 8 && c == 3) {
        /* Transposing orientations: source column x becomes destination row x (5, 6) or
         * W-1-x (7, 8), and the n source rows land side by side in it. Walking columns
         * makes every write a short contiguous run instead of a column-wise scatter. */
        int dir = (orientation == 5 || orientation == 8) ? 1 : -1;
        int dx0 = dir > 0 ? y0 : H - 1 - y0;
        for (int x = 0; x < W; x++) {
            int dy = orientation <= 6 ? x : W - 1 - x;
            uint8_t *q = dst->px + (size_t)dy * stride + (size_t)dx0 * 3;
            const uint8_t *p = rows + (size_t)x * 3;
            for (int r = 0; r < n; r++, p += (size_t)W * 3, q += dir * 3) {
                q[0] = p[0]; q[1] = p[1]; q[2] = p[2];
            }
        }
        return;
    }
    for (int r = 0; r < n; r++) {
        int sy = y0 + r;
        const uint8_t *p = rows + (size_t)r * W * c;
        /* Destination of source pixel (0, sy) and the step per source pixel, in bytes. */
        ptrdiff_t start, step;
        switch (orientation) {
        case 2: start = (ptrdiff_t)sy * stride + (ptrdiff_t)(W - 1) * c; step = -c; break;
        case 3: start = (ptrdiff_t)(H - 1 - sy) * stride + (ptrdiff_t)(W - 1) * c; step = -c; break;
        case 4: start = (ptrdiff_t)(H - 1 - sy) * stride; step = c; break;
        case 5: start = (ptrdiff_t)sy * c; step = (ptrdiff_t)stride; break;
        case 6: start = (ptrdiff_t)(H - 1 - sy) * c; step = (ptrdiff_t)stride; break;
        case 7: start = (ptrdiff_t)(W - 1) * stride + (ptrdiff_t)(H - 1 - sy) * c; step = -(ptrdiff_t)stride; break;
        case 8: start = (ptrdiff_t)(W - 1) * stride + (ptrdiff_t)sy * c; step = -(ptrdiff_t)stride; break;
        default:
            memcpy(dst->px + (size_t)sy * stride, p, (size_t)W * c);
            continue;
        }
        uint8_t *q = dst->px + start;
        if (c == 3)
            for (int x = 0; x < W; x++, p += 3, q += step) { q[0] = p[0]; q[1] = p[1]; q[2] = p[2]; }
        else
            for (int x = 0; x < W; x++, p += c, q += step) memcpy(q, p, (size_t)c);
    }
}

int vision_image_orient(vision_image_t *im, int orientation)
{
    if (orientation < 2 || orientation > 8 || !im->px) return 0;
    int swap = orientation >= 5;
    vision_image_t out = {0};
    if (vision_image_alloc(&out, swap ? im->h : im->w, swap ? im->w : im->h, im->c) != 0) return -1;
    /* Blocks of 8 rows keep the column-wise writes of 5..8 within few cache lines. */
    for (int y = 0; y < im->h; y += 8) {
        int n = im->h - y < 8 ? im->h - y : 8;
        vision_image_place_rows(&out, orientation, im->w, im->h, y,
                                im->px + (size_t)y * im->w * im->c, n);
    }
    vision_image_free(im);
    *im = out;
    return 0;
}

/* Vectorised by GCC at -O3 (stride-3 loads become shuffles); a per-intake pass over the
 * whole reduced decode for the pHash. */
HOT static void gray_row(const uint8_t *restrict p, uint8_t *restrict out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = (uint8_t)((p[3 * i] * 19595 + p[3 * i + 1] * 38470 + p[3 * i + 2] * 7471 + 0x8000) >> 16);
}

int vision_image_to_gray(const vision_image_t *src, vision_image_t *dst)
{
    if (!src->px || src->c != 3 || vision_image_alloc(dst, src->w, src->h, 1) != 0) return -1;
    gray_row(src->px, dst->px, (size_t)src->w * src->h);
    return 0;
}

void vision_image_to_tensor(const vision_image_t *im, const float mean[3], const float std[3],
                            float *chw)
{
    size_t n = (size_t)im->w * im->h;
    for (int c = 0; c < 3; c++) {
        /* Precomputed per-value table: 256 entries beat a divide per pixel. */
        float lut[256];
        for (int v = 0; v < 256; v++) lut[v] = ((float)v / 255.0f - mean[c]) / std[c];
        float *out = chw + (size_t)c * n;
        const uint8_t *p = im->px + c;
        for (size_t i = 0; i < n; i++, p += 3) out[i] = lut[*p];
    }
}
