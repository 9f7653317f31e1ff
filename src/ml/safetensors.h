/* safetensors.h — strict, memory-mapped reader for the safetensors weight format.
 *
 * Layout: an 8-byte little-endian header length N, N bytes of JSON mapping tensor names to
 * {"dtype", "shape", "data_offsets": [begin, end]} (offsets relative to the byte after the
 * header), then the raw little-endian tensor data. Every claim in the header is checked
 * before any tensor is handed out: header length bounds, JSON syntax, known dtype, shape of
 * non-negative dimensions whose product times the dtype size equals the byte range, ranges
 * inside the file, no two tensors overlapping. A bad file yields NULL and a message naming
 * the offending tensor; it never crashes the reader.
 *
 * Tensor data points straight into the read-only mapping (no copy); it stays valid until
 * safetensors_close. */
#ifndef RODEO_ML_SAFETENSORS_H
#define RODEO_ML_SAFETENSORS_H
#include <stddef.h>
#include <stdint.h>

typedef enum {
    ST_F32, ST_F16, ST_BF16, ST_F64, ST_I64, ST_I32, ST_I16, ST_I8, ST_U8, ST_BOOL
} st_dtype_t;

#define ST_MAX_DIMS 8
#define ST_MAX_HEADER (100u << 20)   /* 100 MB of JSON is far beyond any real model */

typedef struct {
    char      *name;
    st_dtype_t dtype;
    int        ndim;
    int64_t    shape[ST_MAX_DIMS];
    int64_t    numel;
    size_t     offset;               /* from the start of the file */
    size_t     nbytes;
    const void *data;                /* into the mapping */
} st_tensor_t;

typedef struct st_file st_file_t;

/* Opens and validates path. Returns NULL with a message in err on any problem. */
st_file_t *safetensors_open(const char *path, char *err, size_t errlen);
/* Validates an in-memory image (the same checks; the caller keeps ownership of data, which
 * must outlive the returned handle). Used by tests and by verify. */
st_file_t *safetensors_open_memory(const void *data, size_t len, char *err, size_t errlen);
void safetensors_close(st_file_t *f);

const st_tensor_t *safetensors_find(const st_file_t *f, const char *name);
size_t safetensors_count(const st_file_t *f);
const st_tensor_t *safetensors_at(const st_file_t *f, size_t i);
/* Size in bytes of one element; 0 for an unknown value. */
size_t safetensors_dtype_size(st_dtype_t dt);
const char *safetensors_dtype_name(st_dtype_t dt);
/* Total file size (mapped length). */
size_t safetensors_file_size(const st_file_t *f);
#endif
