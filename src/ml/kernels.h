/* kernels.h — the tensor math of the inference engine: matrix products on OpenBLAS sgemm
 * (or the bf16 / int8 paths in gemm_bf16.c, gemm_i8.c), and our own fused row kernels (layer norm, softmax,
 * GELU / QuickGELU with the bias folded in, attention). Row-major float32 throughout.
 *
 * Elementwise kernels have an AVX2+FMA version chosen once at run time by CPU feature
 * detection and a portable C fallback; both agree to ~1e-6 relative. */
#ifndef RODEO_ML_KERNELS_H
#define RODEO_ML_KERNELS_H
#include <stddef.h>
#include <stdint.h>

/* A weight matrix of a linear layer in the Hugging Face layout [out = n][in = k]. f32 always
 * points at the float32 weights (usually into the mmap'd file); bf16 / i8 are set only when a
 * reduced-precision path made a copy (see gemm_bf16.h, gemm_i8.h); i8 wins over bf16. */
struct gemm_i8_mat;
typedef struct {
    const float *f32;
    uint16_t    *bf16;     /* packed for the bf16 kernel, owned by the model's weight set */
    int          n, k;
    const struct gemm_i8_mat *i8;   /* quantised for the int8 kernel, owned likewise */
} ml_matrix_t;

enum ml_act { ML_ACT_NONE = 0, ML_ACT_GELU, ML_ACT_QUICK_GELU };

/* Sets the thread count used by the matrix products (OpenBLAS and our kernels);
 * n <= 0 means RODEO_THREADS from the environment, else 1. Returns the count in force. */
int  ml_threads_set(int n);
int  ml_threads_get(void);

/* out[m][n] = x[m][k] * w^T + bias (bias may be NULL), then act. With accumulate set, the
 * product and bias are added to out instead (the residual connection), and act must be NONE. */
void ml_linear(float *out, const float *x, const ml_matrix_t *w, const float *bias, int m,
               int accumulate, enum ml_act act);

/* out = layernorm(x) * g + b per row of dim values; out may equal x. */
void ml_layernorm(float *out, const float *x, const float *g, const float *b, int rows, int dim, float eps);
/* In-place softmax over the first len values of a row (the rest of a row of cols is zeroed:
 * that is how the causal mask is applied). */
void ml_softmax_row(float *x, int len, int cols);
/* y += bias per row, then act, in place over rows x cols. */
void ml_bias_act(float *x, const float *bias, int rows, int cols, enum ml_act act);
/* Multi-head self-attention for one sequence: q, k, v, out are [tokens][ld] with the heads
 * side by side in the first dim columns; scratch holds tokens*tokens floats. causal masks
 * the future (text tower). */
void ml_attention(float *out, const float *q, const float *k, const float *v, int tokens,
                  int dim, int ld, int heads, int causal, float *scratch);
/* Scales x to unit L2 norm (a zero vector stays zero). */
void ml_l2_normalize(float *x, int dim);
/* Per-thread scratch of at least n floats for the forward passes, reused across calls so a
 * steady stream of requests neither allocates nor page-faults. Buffers above 16 MB are not
 * kept (the caller frees them with ml_scratch_release). slot: 0..3, one per concurrent use. */
float *ml_scratch_get(int slot, size_t n);
void   ml_scratch_release(int slot, float *p);
/* Vectorised exp over n values in place (used by softmax; exposed for tests). */
void ml_exp_inplace(float *x, size_t n);
/* Which elementwise implementation runs: "avx512", "avx2" or "generic". */
const char *ml_kernels_isa(void);
/* Caps the elementwise kernels at AVX2 (tests run every level); 0 restores detection. */
void ml_kernels_force_avx2(int on);
/* Forces the portable fallback (tests compare both); 0 restores detection. */
void ml_kernels_force_generic(int on);
#endif
