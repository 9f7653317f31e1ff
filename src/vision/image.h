/* image.h — 8-bit interleaved images and the pixel operations intake needs: EXIF
 * orientation, PIL-compatible separable resampling, grayscale, and the CHW float tensor.
 *
 * The resampler reproduces Pillow's Image.resize (Resample.c): the filter's support is
 * widened by the downscale factor (so shrinking is antialiased, area-like), coefficients
 * are rounded to 22-bit fixed point, the horizontal pass runs first into an 8-bit
 * intermediate, then the vertical pass. Same input, same filter => the same bytes as PIL. */
#ifndef RODEO_VISION_IMAGE_H
#define RODEO_VISION_IMAGE_H
#include <stddef.h>
#include <stdint.h>

/* Pixels row-major, rows of w*c bytes, no padding; c is 3 (RGB) or 1 (gray).
 * A zeroed struct is empty; the struct owns px. */
typedef struct {
    int w, h, c;
    uint8_t *px;
} vision_image_t;

typedef enum {
    VISION_FILTER_BILINEAR = 0,   /* triangle, support 1 (PIL BILINEAR) */
    VISION_FILTER_BICUBIC,        /* Keys a = -0.5, support 2 (PIL BICUBIC) */
    VISION_FILTER_LANCZOS         /* Lanczos-3 (PIL LANCZOS / ANTIALIAS) */
} vision_filter_t;

/* Allocates w*h*c bytes (uninitialised). Returns 0, or -1 when the size is not
 * positive or would overflow. Frees nothing: call on an empty image. */
int  vision_image_alloc(vision_image_t *im, int w, int h, int c);
void vision_image_free(vision_image_t *im);

/* Resamples src as if to out_w x out_h and keeps only the window of win_w x win_h pixels
 * whose top-left corner is (x0, y0) in that output (a resize + crop that computes only the
 * kept pixels). The window must lie inside out_w x out_h. dst must be empty; on success it
 * owns a new win_w x win_h image with src's channel count. Returns 0 or -1 (bad args). */
int  vision_image_resample(const vision_image_t *src, int out_w, int out_h,
                           int x0, int y0, int win_w, int win_h,
                           vision_filter_t filter, vision_image_t *dst);

/* Run-time switch for the AVX2 resampling kernel (on by default when the CPU has AVX2;
 * asking for it on a CPU without AVX2 leaves it off). Results are identical either way;
 * tests and benchmarks use this to compare the two paths. */
void vision_image_simd_enable(int on);

/* Applies EXIF orientation 1..8 (the transform that makes the image display upright,
 * as PIL's ImageOps.exif_transpose). Values outside 2..8 leave the image unchanged.
 * May replace im->px (the old buffer is freed). Returns 0 or -1 on allocation limits. */
int  vision_image_orient(vision_image_t *im, int orientation);

/* Streaming form of the same transform: writes n rows (each src_w pixels of dst->c bytes)
 * starting at source row y0 of a src_w x src_h image to their oriented place in dst, which
 * must already have the oriented size. Lets a decoder write upright pixels directly
 * instead of decoding then copying the whole image. */
void vision_image_place_rows(vision_image_t *dst, int orientation, int src_w, int src_h, int y0,
                             const uint8_t *rows, int n);

/* RGB -> luma with PIL's "L" conversion (ITU-R 601-2, 16-bit fixed point, rounded).
 * dst must be empty. Returns 0 or -1. */
int  vision_image_to_gray(const vision_image_t *src, vision_image_t *dst);

/* RGB image -> float32 CHW tensor: (px/255 - mean[c]) / std[c]. chw holds 3*w*h floats. */
void vision_image_to_tensor(const vision_image_t *im, const float mean[3],
                            const float std[3], float *chw);
#endif
