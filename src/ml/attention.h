/* attention.h — the AVX-512 multi-head self-attention used by ml_attention (kernels.h) when
 * the heads have 64 dimensions and the CPU has AVX-512F; other shapes and CPUs take the
 * OpenBLAS path there. Same contract as ml_attention. */
#ifndef RODEO_ML_ATTENTION_H
#define RODEO_ML_ATTENTION_H
#include <stddef.h>

/* 1 when ml_attention_fast handles dim / heads on this CPU. */
int    ml_attention_fast_ok(int dim, int heads);
/* Floats of scratch ml_attention_fast needs for a sequence of tokens. */
size_t ml_attention_fast_scratch(int tokens);
/* out, q, k, v: [tokens][ld], heads x 64 columns side by side; causal masks the future. */
void   ml_attention_fast(float *out, const float *q, const float *k, const float *v, int tokens,
                         int ld, int heads, int causal, float *scratch);
#endif
