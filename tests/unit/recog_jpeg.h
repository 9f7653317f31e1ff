/* recog_jpeg.h — test/bench helper: decode a JPEG file to interleaved RGB8 with libjpeg,
 * optionally at a reduced DCT scale. Production code decodes through the vision intake;
 * this exists so the recognition tests and benchmark do not depend on it. */
#ifndef RODEO_TEST_RECOG_JPEG_H
#define RODEO_TEST_RECOG_JPEG_H
#include <stdint.h>
/* Returns a malloc'd buffer (caller frees) and sets *w, *h; NULL on any error. */
uint8_t *recog_jpeg_load(const char *path, int *w, int *h);
#endif
