/* fvecs.h — the TEXMEX vector file formats used by SIFT1M/GIST1M and ann-benchmarks:
 * .fvecs (each row: int32 dim, then dim float32) and .ivecs (int32 dim, then dim int32),
 * little-endian. Every row must have the same dim (1..65536); anything else is an error
 * with a message (truncated row, changing dim, non-finite float), never a crash. */
#ifndef RODEO_INDEX_FVECS_H
#define RODEO_INDEX_FVECS_H
#include <stddef.h>
#include <stdint.h>

/* Parse an in-memory file. elem_float: 1 for .fvecs (values must be finite), 0 for .ivecs.
 * On success returns a malloc'd n x dim row-major array (float or int32), sets *n, *dim.
 * An empty buffer is an error (no dimension). */
void *vecs_parse(const void *buf, size_t len, int elem_float, size_t *n, size_t *dim,
                 char *err, size_t errlen);
/* Read a whole file (fvecs_read: floats; ivecs_read: int32); caller frees. */
float   *fvecs_read(const char *path, size_t *n, size_t *dim, char *err, size_t errlen);
int32_t *ivecs_read(const char *path, size_t *n, size_t *dim, char *err, size_t errlen);
/* Write rows (n x dim). 0 on success. */
int ivecs_write(const char *path, const int32_t *rows, size_t n, size_t dim, char *err, size_t errlen);
int fvecs_write(const char *path, const float *rows, size_t n, size_t dim, char *err, size_t errlen);
#endif
