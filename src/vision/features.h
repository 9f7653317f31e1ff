/* features.h — classic visual features for product matching when no CLIP weights exist.
 *
 * One call turns an RGB picture (the intake's small thumbnail, any size >= 8x8) into one
 * L2-normalised float vector, so that the inner product of two vectors (what the vector
 * index computes) is a weighted sum of per-block cosine similarities. The blocks, each
 * L2-normalised on its own and scaled by sqrt(weight):
 *   colour   centre-weighted joint HSV histogram (hue soft-binned), Hellinger-mapped
 *   layout   coarse HSV histograms over an overlapping 3x3 grid (where the colours are)
 *   pairs    colour co-occurrence of neighbouring pixels (which colours touch: pattern)
 *   shape    HOG-like gradient-orientation histograms over a 4x4 grid
 *   texture  rotation-invariant local binary patterns at two radii
 *   silhouette  where the foreground lies in the object frame (8x8) plus its aspect ratio
 * Foreground: colours that fill much of the picture's border are taken as background and
 * down-weighted everywhere (the boundary prior); the grids of layout, shape and silhouette
 * are laid over the object frame (foreground centroid and spread), not the picture.
 * Why these: each is cheap (the whole vector takes well under a millisecond), and together
 * they survive crop, scale, small rotations, brightness/contrast shifts and JPEG artefacts
 * measured on the generated benchmark (bench/recog). The picture is squashed to a square
 * working grid, which tolerates the aspect changes of ordinary crops.
 *
 * The vector layout is versioned: FEATURES_VERSION changes whenever dimensions or weights
 * change, so stored catalog vectors can be recomputed rather than compared across versions.
 * Thread-safe, no global state. */
#ifndef RODEO_VISION_FEATURES_H
#define RODEO_VISION_FEATURES_H
#include <stddef.h>
#include <stdint.h>
#include "vision/keypoints.h"

#define FEATURES_VERSION 3
/* Total floats in a feature vector. */
#define FEATURES_DIM 679

/* Block weights (sum 1). Exposed so the benchmark can run ablations. */
typedef struct {
    float colour, layout, pairs, shape, texture, silhouette;
} features_weights_t;

/* The weights the library uses by default (tuned on the generated benchmark). */
features_weights_t features_default_weights(void);

/* Computes the feature vector of an interleaved RGB8 image (rows `stride` bytes apart,
 * stride >= 3*width) into out[FEATURES_DIM]. weights may be NULL for the defaults.
 * Returns 0, or -1 (out untouched) when the image is smaller than 8x8, larger than
 * 16384 on a side, or a pointer is NULL. */
int features_compute(const uint8_t *rgb, int width, int height, size_t stride,
                     const features_weights_t *weights, float *out);

/* Block boundaries inside the vector: block b (0 colour, 1 layout, 2 pairs, 3 shape,
 * 4 texture, 5 silhouette) occupies [off[b], off[b+1]). For benchmarks and ablations. */
#define FEATURES_BLOCKS 6
void features_block_offsets(int off[FEATURES_BLOCKS + 1]);

/* What geometric verification needs of a picture (src/recog/verify.h, localmatch.h): a
 * small picture of the product, the working image halved to FEATURES_TPL square, RGB8,
 * plus the foreground weight of each pixel (0..255) from the same background model as the
 * vector (9 KB), and the picture's local features (vision/keypoints.h, 8 KB). Stored with
 * each catalog image (version 3 added the keypoints) and used only for the few candidates
 * a search returns. */
#define FEATURES_TPL 48
typedef struct {
    uint8_t rgb[FEATURES_TPL * FEATURES_TPL * 3];
    uint8_t fg[FEATURES_TPL * FEATURES_TPL];
    keypoints_t kp;
} features_template_t;

/* features_compute plus, when tpl is not NULL, the verification template and keypoints
 * (about a millisecond more). */
int features_compute_all(const uint8_t *rgb, int width, int height, size_t stride,
                         const features_weights_t *weights, float *out, features_template_t *tpl);

/* Inner product of two feature vectors (cosine similarity, both being unit length). */
float features_similarity(const float *a, const float *b);
#endif
