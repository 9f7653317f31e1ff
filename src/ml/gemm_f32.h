/* gemm_f32.h — float32 matrix product on AVX-512 that reads the weights in their file
 * layout (no packed copy: the mmap'd tensor is used as is). OpenBLAS as packaged by Debian
 * runs its AVX2 (Haswell) kernel on every x86 CPU, which leaves half of a full-width
 * AVX-512 core (Zen 5, Sapphire Rapids) idle; this kernel vectorises over the activation
 * rows instead, so the weights need no repacking. Chosen at run time; callers fall back to
 * cblas_sgemm where gemm_f32_hw() is 0. */
#ifndef RODEO_ML_GEMM_F32_H
#define RODEO_ML_GEMM_F32_H

/* 1 when the CPU has AVX-512F (and the kernel is not disabled with ML_F32_KERNEL=blas). */
int  gemm_f32_hw(void);
/* out[m][n] (=, or += with accumulate) x[m][k] * w^T, w = [n][k] row-major. Uses up to
 * ml_threads_get() threads. Requires gemm_f32_hw(). */
void gemm_f32_nt(float *out, const float *x, const float *w, int m, int n, int k, int accumulate);
/* Forces cblas_sgemm everywhere (tests compare the two); 0 restores detection. */
void gemm_f32_force_blas(int on);
#endif
