/* patch.h — the patch embedding of vision transformers: cut each 3 x S x S image into
 * (S/P)^2 patches in row-major order, flatten each patch as (channel, y, x) — the layout of
 * a Conv2d weight [D][3][P][P] — and multiply by that weight. */
#ifndef RODEO_ML_PATCH_H
#define RODEO_ML_PATCH_H
#include "ml/kernels.h"

/* out = [n][(S/P)^2][D]: patch embeddings of n images (bias may be NULL). */
void ml_patch_embed(float *out, const float *pixels, int n, int size, int patch,
                    const ml_matrix_t *w, const float *bias);
#endif
