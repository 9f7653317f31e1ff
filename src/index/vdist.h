/* vdist.h — distance kernels for the vector index, chosen once at run time.
 *
 * The binary is built for baseline x86-64; kernels for AVX2/FMA and AVX-512 (VNNI for int8)
 * are compiled with per-function target attributes and selected by vdist_init() through
 * __builtin_cpu_supports, so one build runs everywhere and uses what the CPU has.
 * All kernels accept any dimension (tails handled) and unaligned pointers. */
#ifndef RODEO_INDEX_VDIST_H
#define RODEO_INDEX_VDIST_H
#include <stddef.h>
#include <stdint.h>

typedef float   (*vdist_f32_fn)(const float *a, const float *b, size_t dim);
typedef int32_t (*vdist_i8_fn)(const int8_t *a, const int8_t *b, size_t dim);

typedef struct {
    vdist_f32_fn dot_f32;   /* sum a[i]*b[i] */
    vdist_f32_fn l2_f32;    /* sum (a[i]-b[i])^2 */
    vdist_i8_fn  dot_i8;    /* exact int32 sum a[i]*b[i]; inputs in [-127,127] */
    vdist_i8_fn  l2_i8;     /* exact int32 sum (a[i]-b[i])^2; inputs in [-127,127] */
    const char  *name;      /* "avx512", "avx2" or "portable" */
} vdist_kernels_t;

/* The kernels for this CPU (thread-safe, idempotent). */
const vdist_kernels_t *vdist_get(void);
/* Force a kernel set by name ("portable", "avx2", "avx512"); returns NULL when the CPU
 * lacks it. For tests that compare SIMD against the portable reference. */
const vdist_kernels_t *vdist_get_named(const char *name);
#endif
