/* weights.h — typed access to a model's tensors with shape checks. float32 tensors are
 * returned as pointers into the mmap'd safetensors file (no copy); float16 / bfloat16 ones
 * are converted once into buffers owned by the weight set. A missing tensor or a shape
 * mismatch is an error naming the tensor and both shapes. */
#ifndef RODEO_ML_WEIGHTS_H
#define RODEO_ML_WEIGHTS_H
#include "ml/safetensors.h"
#include "ml/kernels.h"
#include <stdint.h>

typedef struct {
    st_file_t *st;
    void     **owned;          /* converted or packed buffers, freed by ml_weights_close */
    size_t     nowned, capowned;
    size_t     owned_bytes;
    int        bf16;           /* pack linear weights for the bf16 kernel */
    int        int8;           /* quantise linear weights for the int8 kernel */
    char       err[512];       /* the first error; later lookups keep it */
} ml_weights_t;

/* What ml_weights_mat prepares besides the float32 view (flags of ml_weights_open). */
enum { ML_WEIGHTS_BF16 = 1, ML_WEIGHTS_INT8 = 2 };
/* Opens dir/model.safetensors. flags: ML_WEIGHTS_BF16 packs matrices for the bf16 path,
 * ML_WEIGHTS_INT8 quantises them for the int8 path (int8 wins when both are set); a path
 * this CPU cannot run is dropped (float32 then). */
int  ml_weights_open(ml_weights_t *w, const char *path, int flags, char *err, size_t errlen);
void ml_weights_close(ml_weights_t *w);
/* The float32 data of tensor name with exactly the given shape, or NULL (error in w->err). */
const float *ml_weights_get(ml_weights_t *w, const char *name, int ndim, const int64_t *shape);
/* Shorthands for one- and two-dimensional tensors; the name is a printf format. */
const float *ml_weights_vec(ml_weights_t *w, int64_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int ml_weights_mat(ml_weights_t *w, ml_matrix_t *m, int64_t rows, int64_t cols, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Makes the reduced-precision copy of m (m->f32, n, k set; the tensor is name) that
 * ml_weights_mat makes for its matrices, for matrices built by hand (the patch embedding's
 * 4-D kernel seen as [n][k]). Nothing for fp32. */
void ml_weights_prepare(ml_weights_t *w, ml_matrix_t *m, const char *name);
/* 1 when the tensor exists (any dtype). */
int ml_weights_has(ml_weights_t *w, const char *name);


/* config.json helpers: the integer / number at key in a jansson object, or def when absent
 * (obj may be NULL). A present key of the wrong type also yields def. */
int    ml_json_int(const void *obj, const char *key, int def);
double ml_json_num(const void *obj, const char *key, double def);
#endif
