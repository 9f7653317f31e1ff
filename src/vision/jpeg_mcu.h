/* jpeg_mcu.h — our Huffman decoding inside libjpeg, for the scales where every
 * component needs its AC coefficients (1/4, 1/2, 1/1: a 1 MP photo decodes at 1/2).
 * libjpeg-turbo resolves each AC symbol with a code lookup and then a separate magnitude
 * read; our table yields symbol, run and value in one lookup (jpeg_huff.h). It replaces
 * only the entropy module: libjpeg's IDCT, upsampling and colour conversion then produce
 * the same pixels from the same coefficients. */
#ifndef RODEO_VISION_JPEG_MCU_H
#define RODEO_VISION_JPEG_MCU_H
#include <stdio.h>
#include <jpeglib.h>

/* After jpeg_start_decompress()
 * on a single-scan Huffman file whose components all use AC coefficients (scale 1/4 and
 * up), replaces libjpeg's Huffman MCU decoder with ours: the same coefficients, so
 * libjpeg's IDCT, upsampling and colour conversion give the same pixels, sooner. Returns
 * NULL (nothing changed) when the file is not such a file or on allocation failure.
 * On anything but a clean stream the hook raises a libjpeg error (error_exit) after
 * marking itself failed: the caller must then release it, and decode the file again
 * without it to get libjpeg's own verdict. Release before jpeg_destroy/abort. */
typedef struct vision_jpeg_mcu_hook vision_jpeg_mcu_hook_t;
vision_jpeg_mcu_hook_t *vision_jpeg_mcu_hook_install(struct jpeg_decompress_struct *ci);
int  vision_jpeg_mcu_hook_failed(const vision_jpeg_mcu_hook_t *h);
void vision_jpeg_mcu_hook_release(struct jpeg_decompress_struct *ci, vision_jpeg_mcu_hook_t *h);
#endif
