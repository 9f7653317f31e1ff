/* gemm_i8.h — the int8 matrix product: weights quantised once at load (symmetric int8, one
 * scale per output channel), activations quantised per call (one scale per row, stored as
 * u8 with zero point 128), int32 accumulation, dequantised as acc x row scale x column scale.
 *
 * The shift of the activations by 128 (vpdpbusd multiplies unsigned by signed bytes) adds
 * 128 x sum_k w[n][k] to every sum; that column sum is precomputed at load and subtracted
 * before dequantising, so the result is exactly sx[m] * sw[n] * sum_k xq[m][k] * wq[n][k].
 *
 * Chosen at run time: the AVX512_VNNI kernel (vpdpbusd, 64 multiply-adds per instruction)
 * when the CPU has it, else a portable C loop over the same layout (correct and exact but
 * slow; the engine only picks int8 on VNNI machines). */
#ifndef RODEO_ML_GEMM_I8_H
#define RODEO_ML_GEMM_I8_H
#include <stddef.h>
#include <stdint.h>

/* A quantised weight matrix [n][k], one allocation (free with free()). */
typedef struct gemm_i8_mat {
    int      n, k, kq;          /* kq: k rounded up to a multiple of 4, divided by 4 */
    float   *scale;             /* [n]: max |w[n][:]| / 127 (0 for an all-zero row) */
    int32_t *corr;              /* [n]: 128 x sum_k wq[n][k] */
    int8_t  *w;                 /* packed: strips of 32 columns x kq quads x 32 x 4 bytes */
} gemm_i8_mat_t;

/* 1 when the CPU runs the AVX512_VNNI kernel. */
int  gemm_i8_hw(void);
/* Quantises w[n][k] (float32) into a new matrix, or NULL when n or k is not positive or
 * a weight is not finite (the caller keeps fp32 for that matrix). */
gemm_i8_mat_t *gemm_i8_quantize(const float *w, int n, int k);
/* The quantised weight for column c, input i (tests and diagnostics). */
int  gemm_i8_weight(const gemm_i8_mat_t *q, int c, int i);
/* Quantises one activation row of k floats into dst (k bytes, u8 with zero point 128) and
 * returns its scale (max |x| / 127; 0 for a zero row; NaN when the row is not finite,
 * which makes that output row NaN as in fp32). */
float gemm_i8_quantize_row(uint8_t *dst, const float *x, int k);
/* out[m][n] (=, or += with accumulate) x[m][k] * W^T + bias, W from gemm_i8_quantize; bias
 * ([n]) may be NULL. The bias is added in the dequantising store (no extra pass over out).
 * Uses up to ml_threads_get() threads. */
void gemm_i8(float *out, const float *x, const gemm_i8_mat_t *w, const float *bias, int m, int accumulate);
/* Forces the portable loop even on capable CPUs (tests compare the two); 0 restores. */
void gemm_i8_force_portable(int on);
#endif
