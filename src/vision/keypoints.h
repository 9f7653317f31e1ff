/* keypoints.h — local features for instance recognition: corners with rotation-normalised
 * binary descriptors (ORB-like), computed on a small working copy of a picture.
 *
 * Why: a global vector (features.h) mixes everything in the frame, so background clutter
 * and occluders shift it; local features survive both, since a product is recognised from
 * the subset of its corners that reappear in the photo in the same geometric arrangement
 * (src/recog/localmatch.h does the matching and the geometric check).
 *
 * Each keypoint: a Harris corner of luminance and colour (strongest first, non-maximum
 * suppressed) and a descriptor of KP_WORDS 64-bit words: 256 luminance comparisons between
 * point pairs of the surrounding patch (invariant to any increasing brightness/contrast
 * map) and 128 colour bits, the signs of the two opponent channels (R-G, (R+G)/2-B) at 64
 * patch points, which do not change under a brightness gain or a contrast change towards
 * grey either. The tests are upright (not steered by a keypoint angle): binary tests
 * tolerate the +-15 degrees of hand-held photos, and the geometric check that follows
 * estimates the rotation from the keypoints' positions.
 * Coordinates are in the working image, whose longest side is KP_SIDE pixels.
 * Thread-safe, no global state. */
#ifndef RODEO_VISION_KEYPOINTS_H
#define RODEO_VISION_KEYPOINTS_H
#include <stddef.h>
#include <stdint.h>

#define KP_SIDE 160       /* working image longest side */
#define KP_MAX 160        /* keypoints kept per picture */
#define KP_WORDS 6        /* descriptor: 4 words luminance + 2 words colour */

typedef struct {
    uint16_t n;                   /* keypoints used, 0..KP_MAX */
    uint16_t w, h;                /* working image size */
    uint16_t reserved;
    int16_t  xy[KP_MAX][2];       /* position, 1/8 pixel units */
    uint64_t d[KP_MAX][KP_WORDS]; /* descriptors */
} keypoints_t;

/* Detects and describes up to KP_MAX keypoints of an interleaved RGB8 image (rows `stride`
 * bytes apart). Returns 0 (out->n may be 0 for a featureless picture) or -1 when the
 * image is smaller than 16x16, larger than 16384 on a side, a pointer is NULL, or memory
 * runs out. */
int keypoints_compute(const uint8_t *rgb, int width, int height, size_t stride, keypoints_t *out);

/* Hamming distance of two descriptors (0..64*KP_WORDS). */
static inline int keypoints_distance(const uint64_t *a, const uint64_t *b)
{
    int d = 0;
    for (int i = 0; i < KP_WORDS; i++) d += __builtin_popcountll(a[i] ^ b[i]);
    return d;
}
#endif
