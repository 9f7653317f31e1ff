/* decode.h — header parsing and pixel decoding for the accepted formats (JPEG via
 * libjpeg-turbo, PNG via libpng's simplified API, WebP via libwebp), behind one call
 * pair so intake can check limits between "what does the header claim" and "decode".
 *
 * Output is always 8-bit RGB:
 *   - JPEG: YCbCr/gray -> RGB by libjpeg; CMYK/YCCK -> RGB with Pillow's formula, Adobe
 *     (Photoshop) inverted CMYK recognised by the Adobe APP14 marker.
 *   - PNG: 16-bit truncated to 8 (as Pillow), palette expanded, gray -> RGB, any alpha
 *     (tRNS included) composited onto white; large files box-reduced while streaming.
 *   - WebP: lossy/lossless; alpha composited onto white (straight alpha, sRGB values);
 *     large files shrunk by libwebp's rescaler while decoding.
 * JPEGs decode at a reduced DCT scale (1/2, 1/4, 1/8) when asked: see decode(). Their
 * entropy data is decoded by our own Huffman decoders where the file allows (jpeg_dc.c at
 * 1/8, jpeg_mcu.c inside libjpeg at other scales), with libjpeg's exact output; any other
 * file, and any stream that is not clean, is decoded and judged by libjpeg alone. */
#ifndef RODEO_VISION_DECODE_H
#define RODEO_VISION_DECODE_H
#include "vision/format.h"
#include "vision/image.h"

typedef struct {
    uint64_t max_pixels;        /* header width*height above this -> 413, before decoding */
    size_t   max_decoder_bytes; /* libjpeg working memory (progressive coefficient planes) */
    int      max_scans;         /* progressive JPEG scan limit (scan-flood DoS guard) */
} vision_decode_limits_t;

typedef struct {
    vision_format_t format;
    int width, height;          /* as stored in the file, from the header */
    int progressive;            /* JPEG only */
    const uint8_t *exif;        /* EXIF block starting with "Exif\0\0", or NULL; owned here */
    size_t exif_len;
    int scale_denom;            /* after decode: 1, 2, 4 or 8 */
    int decoded_width, decoded_height;  /* after decode, before orientation */
    void *codec;                /* codec state */
    uint8_t *exif_owned;
} vision_decoder_t;

/* Reads the header of data[0..len) (which must stay valid until close). Fails with 400
 * corrupt_image/truncated_image, 413 too_many_pixels, 415 unsupported_format. On failure
 * the decoder is already closed. */
int  vision_decoder_open(vision_decoder_t *dec, vision_format_t fmt, const uint8_t *data,
                         size_t len, const vision_decode_limits_t *lim, vision_error_t *err);

/* Decodes to RGB into out (must be empty), upright per EXIF orientation (1..8; other
 * values mean 1). For JPEG, min_side > 0 selects the largest DCT scale denominator d in
 * {8,4,2,1} with width >= min_side*d and height >= min_side*d (Pillow's draft() rule) and
 * max(width, height) >= min_long*d (so a thumbnail of min_long px is still a downscale), so
 * a 12 MP photo feeding a 224 model decodes at 1/8, and rows are written straight to
 * their oriented place (no second full-size buffer). PNG uses an f x f box average
 * computed while rows stream in, f the largest with both sides >= 2*min_side*f and the
 * longer >= min_long*f (never the
 * whole image in memory unless interlaced). WebP decodes at full size. PNG/WebP are oriented after decoding. A truncated or corrupt stream fails (400), never yields a
 * half-grey image. */
int  vision_decoder_decode(vision_decoder_t *dec, int min_side, int min_long, int orientation,
                           vision_image_t *out, vision_error_t *err);
void vision_decoder_close(vision_decoder_t *dec);

/* Codec entry points (one file each); used by decode.c only. */
int  vision_jpeg_open(vision_decoder_t *dec, const uint8_t *data, size_t len,
                      const vision_decode_limits_t *lim, vision_error_t *err);
int  vision_jpeg_decode(vision_decoder_t *dec, int min_side, int min_long, int orientation,
                        vision_image_t *out, vision_error_t *err);
void vision_jpeg_close(vision_decoder_t *dec);
int  vision_png_open(vision_decoder_t *dec, const uint8_t *data, size_t len, vision_error_t *err);
int  vision_png_decode(vision_decoder_t *dec, int min_side, int min_long, vision_image_t *out,
                       vision_error_t *err);
void vision_png_close(vision_decoder_t *dec);
int  vision_webp_open(vision_decoder_t *dec, const uint8_t *data, size_t len, vision_error_t *err);
int  vision_webp_decode(vision_decoder_t *dec, int min_side, int min_long, vision_image_t *out,
                        vision_error_t *err);
void vision_webp_close(vision_decoder_t *dec);
/* Copies a raw TIFF-structured EXIF payload behind an "Exif\0\0" header (what libexif
 * expects) into dec->exif_owned; a payload already carrying the header is kept as is. */
void vision_decoder_set_exif(vision_decoder_t *dec, const uint8_t *p, size_t n);
#endif
