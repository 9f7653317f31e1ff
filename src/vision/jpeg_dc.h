/* jpeg_dc.h — a fast path for the 1/8-scale JPEG decode that intake does on every large
 * photo. At 1/8 libjpeg-turbo keeps only each block's DC coefficient (its 1x1 IDCT), yet
 * its general Huffman decoder still resolves every AC symbol one at a time; most of a
 * 12 MP intake was spent there. This decoder skips AC symbols several at a time through
 * tables that map the next bits of the stream to "bits to drop, coefficients passed,
 * end of block", and reproduces what libjpeg-turbo outputs at scale 1/8 byte for byte:
 * DC/8 + 128 with its rounding and range limiting, the 2x2 reduced IDCT it uses for
 * chroma that is subsampled 2x in both directions (4:2:0), sample replication for other
 * subsampling (libjpeg turns fancy upsampling off at 1/8), and its YCbCr->RGB tables.
 *
 * Scope: baseline/extended sequential Huffman, 8-bit, one interleaved scan of 1 (gray)
 * or 3 (YCbCr) components, any sampling factors whose 1/8 output libjpeg builds by DCT
 * scaling 1x1 or 2x2 plus integer replication, restart markers. Everything else, and any
 * stream that is not perfectly well formed (bad Huffman code, wrong or missing restart
 * marker, data that ends or hits a marker before the last block), is left to libjpeg:
 * the caller decodes the file the ordinary way, so its verdict on damaged files is
 * exactly libjpeg's. The decoder only ever reads inside the buffer libjpeg's memory
 * source points at. */
#ifndef RODEO_VISION_JPEG_DC_H
#define RODEO_VISION_JPEG_DC_H
#include "vision/image.h"
#include <stdio.h>
#include <jpeglib.h>

enum {
    JPEG_DC_OK = 0,          /* out holds the upright 1/8-scale RGB image */
    JPEG_DC_UNSUPPORTED = 1, /* not a layout this decoder handles; out untouched */
    JPEG_DC_STREAM = 2,      /* the entropy data is not clean; out untouched */
    JPEG_DC_NOMEM = -1       /* allocation failed; out untouched */
};

/* ci: a decompressor after jpeg_read_header() on a jpeg_mem_src() buffer, not started.
 * Decodes at scale 1/8 to RGB, writing rows upright per EXIF orientation (1..8) into
 * out (must be empty; allocated here with the oriented size). Reads the tables libjpeg
 * parsed and the entropy data after the first SOS. The caller sets scale 1/8 and output
 * colour space JCS_RGB first (anything else is JPEG_DC_UNSUPPORTED); the only libjpeg
 * call made is jpeg_calc_output_dimensions(), which reports libjpeg's own per-component
 * DCT scaling and leaves ci ready for jpeg_start_decompress(). On any non-zero return
 * the caller decodes with libjpeg. */
int vision_jpeg_dc_decode(struct jpeg_decompress_struct *ci, int orientation, vision_image_t *out);

/* Process-wide switch (on by default) read by decode_jpeg.c for this decoder and for
 * jpeg_mcu.c's: off makes every JPEG go through libjpeg alone, which lets tests and
 * benchmarks compare the two paths. */
void vision_jpeg_dc_enable(int on);
int  vision_jpeg_dc_enabled(void);
#endif
