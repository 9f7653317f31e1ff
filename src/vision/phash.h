/* phash.h — 64-bit DCT perceptual hash (the contract's algorithm, as Python's imagehash
 * computes it): grayscale (PIL "L"), Lanczos resize to 32x32, 2-D DCT-II, top-left 8x8
 * block, bit = coefficient > median of those 64, row-major with the first bit as the most
 * significant. Near-duplicates are found by Hamming distance between hashes. */
#ifndef RODEO_VISION_PHASH_H
#define RODEO_VISION_PHASH_H
#include <stdint.h>
#include "vision/image.h"

/* Hash of a 32x32 grayscale block (row-major). */
uint64_t vision_phash_gray32(const uint8_t gray[32 * 32]);
/* Hash of an RGB or gray image. gray32 (optional) receives the 32x32 block hashed.
 * Returns 0 or -1 (empty image). */
int vision_phash_image(const vision_image_t *im, uint64_t *out, uint8_t gray32[32 * 32]);
/* Number of differing bits (0..64). */
int vision_phash_distance(uint64_t a, uint64_t b);
/* 16 lower-case hex digits + NUL. */
void vision_phash_hex(uint64_t h, char out[17]);
/* Parses exactly 16 hex digits; returns 0 or -1. */
int vision_phash_parse(const char *hex, uint64_t *out);
#endif
