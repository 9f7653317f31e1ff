/* weights.c — shape-checked tensor lookup over a safetensors file (see weights.h). The
 * first error is kept so a loader can request every tensor and report once. */
#include "ml/weights.h"
#include "ml/gemm_bf16.h"
#include "ml/gemm_i8.h"
#include "core/buf.h"
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int ml_weights_open(ml_weights_t *w, const char *path, int flags, char *err, size_t errlen)
{
    memset(w, 0, sizeof *w);
    w->st = safetensors_open(path, err, errlen);
    if (!w->st) return -1;
    /* a path the CPU cannot run falls back to float32 (the caller's flags are wishes) */
    w->int8 = (flags & ML_WEIGHTS_INT8) && gemm_i8_hw();
    w->bf16 = !w->int8 && (flags & ML_WEIGHTS_BF16) && gemm_bf16_hw();
    return 0;
}

void ml_weights_close(ml_weights_t *w)
{
    for (size_t i = 0; i < w->nowned; i++) free(w->owned[i]);
    free(w->owned);
    safetensors_close(w->st);
    memset(w, 0, sizeof *w);
}

/* Takes ownership of p (a malloc'd block of bytes), freed by ml_weights_close. */
static void *adopt(ml_weights_t *w, void *p, size_t bytes)
{
    if (w->nowned == w->capowned) {
        w->capowned = w->capowned ? w->capowned * 2 : 64;
        w->owned = xrealloc(w->owned, w->capowned * sizeof *w->owned);
    }
    w->owned[w->nowned++] = p;
    w->owned_bytes += bytes;
    return p;
}

static void *own(ml_weights_t *w, size_t bytes)
{
    return adopt(w, xmalloc(bytes ? bytes : 1), bytes);
}

static void fail(ml_weights_t *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(ml_weights_t *w, const char *fmt, ...)
{
    if (w->err[0]) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->err, sizeof w->err, fmt, ap);
    va_end(ap);
}

static void shape_str(char *out, size_t len, int ndim, const int64_t *shape)
{
    size_t o = 0;
    o += (size_t)snprintf(out + o, len - o, "[");
    for (int i = 0; i < ndim && o < len; i++)
        o += (size_t)snprintf(out + o, len - o, i ? ", %lld" : "%lld", (long long)shape[i]);
    if (o < len) snprintf(out + o, len - o, "]");
}

static float half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1f, man = h & 0x3ff, u;
    if (exp == 0) {
        if (!man) u = sign;
        else {                                   /* subnormal: renormalise */
            int e = -1;
            do { e++; man <<= 1; } while (!(man & 0x400));
            u = sign | ((uint32_t)(127 - 15 - e) << 23) | ((man & 0x3ff) << 13);
        }
    } else if (exp == 31) u = sign | 0x7f800000u | (man << 13);
    else u = sign | ((exp + 127 - 15) << 23) | (man << 13);
    float f;
    memcpy(&f, &u, 4);
    return f;
}

int ml_weights_has(ml_weights_t *w, const char *name)
{
    return safetensors_find(w->st, name) != NULL;
}

const float *ml_weights_get(ml_weights_t *w, const char *name, int ndim, const int64_t *shape)
{
    const st_tensor_t *t = safetensors_find(w->st, name);
    if (!t) { fail(w, "missing tensor '%s'", name); return NULL; }
    int same = t->ndim == ndim;
    for (int i = 0; same && i < ndim; i++) same = t->shape[i] == shape[i];
    if (!same) {
        char want[128], got[128];
        shape_str(want, sizeof want, ndim, shape);
        shape_str(got, sizeof got, t->ndim, t->shape);
        fail(w, "tensor '%s' has shape %s, expected %s", name, got, want);
        return NULL;
    }
    if (t->dtype == ST_F32 && ((uintptr_t)t->data & 3u) == 0) return t->data;
    if (t->dtype != ST_F32 && t->dtype != ST_F16 && t->dtype != ST_BF16) {
        fail(w, "tensor '%s' has dtype %s; only F32, F16 and BF16 weights are supported",
             name, safetensors_dtype_name(t->dtype));
        return NULL;
    }
    float *dst = own(w, (size_t)t->numel * sizeof(float));
    const uint8_t *src = t->data;
    for (int64_t i = 0; i < t->numel; i++) {
        if (t->dtype == ST_F32) memcpy(&dst[i], src + 4 * i, 4);
        else {
            uint16_t h = (uint16_t)(src[2 * i] | (src[2 * i + 1] << 8));
            dst[i] = t->dtype == ST_F16 ? half_to_float(h) : gemm_bf16_to_float(h);
        }
    }
    return dst;
}

const float *ml_weights_vec(ml_weights_t *w, int64_t n, const char *fmt, ...)
{
    char name[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    return ml_weights_get(w, name, 1, &n);
}

/* The float32 copy of a packed matrix is not read again: hand its pages of the read-only
 * file mapping back (they would simply be re-read from the file if ever touched), so the
 * bf16 / int8 model's resident size is the packed copy, not both. Owned buffers are left alone. */
static void release_pages(const void *p, size_t len)
{
    long pg = sysconf(_SC_PAGESIZE);
    uintptr_t a = ((uintptr_t)p + (uintptr_t)pg - 1) & ~((uintptr_t)pg - 1);
    uintptr_t b = ((uintptr_t)p + len) & ~((uintptr_t)pg - 1);
    if (b > a) madvise((void *)a, b - a, MADV_DONTNEED);
}

int ml_weights_mat(ml_weights_t *w, ml_matrix_t *m, int64_t rows, int64_t cols, const char *fmt, ...)
{
    char name[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    int64_t shape[2] = {rows, cols};
    memset(m, 0, sizeof *m);
    m->f32 = ml_weights_get(w, name, 2, shape);
    if (!m->f32) return -1;
    m->n = (int)rows;
    m->k = (int)cols;
    ml_weights_prepare(w, m, name);
    return 0;
}

void ml_weights_prepare(ml_weights_t *w, ml_matrix_t *m, const char *name)
{
    int packed = 0;
    if (w->int8) {
        /* NULL for a matrix with non-finite weights: that one stays fp32 */
        gemm_i8_mat_t *q = gemm_i8_quantize(m->f32, m->n, m->k);
        if (q) {
            m->i8 = adopt(w, q, (size_t)m->n * m->k + (size_t)m->n * 8);
            packed = 1;
        }
    } else if (w->bf16) {
        m->bf16 = own(w, gemm_bf16_packed_size(m->n, m->k) * sizeof(uint16_t));
        gemm_bf16_pack(m->bf16, m->f32, m->n, m->k);
        packed = 1;
    }
    if (packed) {
        const st_tensor_t *t = safetensors_find(w->st, name);
        if (t && t->data == (const void *)m->f32) release_pages(m->f32, (size_t)m->n * m->k * sizeof(float));
    }
}

int ml_json_int(const void *obj, const char *key, int def)
{
    json_t *v = obj ? json_object_get((json_t *)obj, key) : NULL;
    if (!json_is_integer(v)) return def;
    json_int_t x = json_integer_value(v);
    return x < -1000000000 || x > 1000000000 ? def : (int)x;
}

double ml_json_num(const void *obj, const char *key, double def)
{
    json_t *v = obj ? json_object_get((json_t *)obj, key) : NULL;
    return json_is_number(v) ? json_number_value(v) : def;
}
