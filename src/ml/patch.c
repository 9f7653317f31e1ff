/* patch.c — patch embedding as im2col + one matrix product (see patch.h). */
#include "ml/patch.h"
#include "core/buf.h"
#include <stdlib.h>
#include <string.h>

void ml_patch_embed(float *out, const float *pixels, int n, int size, int patch,
                    const ml_matrix_t *w, const float *bias)
{
    int g = size / patch, np = g * g, k = 3 * patch * patch;
    float *cols = ml_scratch_get(2, (size_t)n * np * k);
    for (int b = 0; b < n; b++)
        for (int py = 0; py < g; py++)
            for (int px = 0; px < g; px++) {
                float *dst = cols + ((size_t)b * np + py * g + px) * k;
                for (int c = 0; c < 3; c++)
                    for (int y = 0; y < patch; y++) {
                        const float *src = pixels + (((size_t)b * 3 + c) * size + py * patch + y) * size + px * patch;
                        memcpy(dst + (c * patch + y) * patch, src, (size_t)patch * sizeof(float));
                    }
            }
    ml_linear(out, cols, w, bias, n * np, 0, ML_ACT_NONE);
    ml_scratch_release(2, cols);
}
