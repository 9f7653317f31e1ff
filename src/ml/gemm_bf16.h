/* gemm_bf16.h — the reduced-precision matrix product: weights rounded once to bfloat16 and
 * packed for AVX512_BF16 (vdpbf16ps), activations rounded per call, float32 accumulation.
 * Chosen at run time: the AVX512_BF16 kernel when the CPU has it, else a portable loop over
 * the same packed layout (correct but slow; the engine keeps fp32 on such machines). */
#ifndef RODEO_ML_GEMM_BF16_H
#define RODEO_ML_GEMM_BF16_H
#include <stddef.h>
#include <stdint.h>

/* 1 when the CPU runs the AVX512_BF16 kernel (vdpbf16ps). */
int    gemm_bf16_hw(void);
/* Number of uint16 elements gemm_bf16_pack writes for an [n][k] weight matrix. */
size_t gemm_bf16_packed_size(int n, int k);
/* Rounds w[n][k] (float32, nearest-even) into the packed layout: strips of 32 output
 * columns, each holding k/2 pairs x 32 columns x 2 values; padding is zero. */
void   gemm_bf16_pack(uint16_t *dst, const float *w, int n, int k);
/* out[m][n] (=, or += with accumulate) x[m][k] * W^T, W packed by gemm_bf16_pack. Uses up to
 * ml_threads_get() threads. */
void   gemm_bf16(float *out, const float *x, const uint16_t *wpacked, int m, int n, int k, int accumulate);
/* float <-> bfloat16 (round to nearest even; NaN stays NaN). */
uint16_t gemm_bf16_from_float(float f);
float    gemm_bf16_to_float(uint16_t h);
/* Forces the portable loop even on capable CPUs (tests compare the two); 0 restores. */
void   gemm_bf16_force_portable(int on);
#endif
