/* fvecs.c — reader/writer for .fvecs/.ivecs (see fvecs.h). The reader validates the whole
 * layout before allocating the output, so a hostile header cannot request a huge buffer. */
#include "index/fvecs.h"
#include "index/vindex_impl.h"
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *vecs_parse(const void *buf, size_t len, int elem_float, size_t *n, size_t *dim,
                 char *err, size_t errlen)
{
    const unsigned char *b = buf;
    if (!b || len < 4) { vindex_set_err(err, errlen, "empty or truncated file"); return NULL; }
    int32_t d;
    memcpy(&d, b, 4);
    if (d < 1 || d > 65536) { vindex_set_err(err, errlen, "bad dimension %d in first row", d); return NULL; }
    size_t row = 4 + (size_t)d * 4;
    if (len % row) {
        vindex_set_err(err, errlen, "file size %zu is not a multiple of the row size %zu (truncated?)", len, row);
        return NULL;
    }
    size_t rows = len / row;
    for (size_t i = 0; i < rows; i++) {
        int32_t di;
        memcpy(&di, b + i * row, 4);
        if (di != d) { vindex_set_err(err, errlen, "row %zu has dimension %d, expected %d", i, di, d); return NULL; }
    }
    void *out = malloc(rows * (size_t)d * 4);
    if (!out) { vindex_set_err(err, errlen, "out of memory"); return NULL; }
    for (size_t i = 0; i < rows; i++)
        memcpy((char *)out + i * (size_t)d * 4, b + i * row + 4, (size_t)d * 4);
    if (elem_float) {
        const float *f = out;
        for (size_t i = 0; i < rows * (size_t)d; i++)
            if (!isfinite(f[i])) {
                vindex_set_err(err, errlen, "row %zu has a non-finite value", i / (size_t)d);
                free(out);
                return NULL;
            }
    }
    *n = rows;
    *dim = (size_t)d;
    return out;
}

static void *read_all(const char *path, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) { vindex_set_err(err, errlen, "%s: %s", path, strerror(errno)); return NULL; }
    if (fseek(f, 0, SEEK_END) || ftell(f) < 0) {
        vindex_set_err(err, errlen, "%s: not a regular file", path);
        fclose(f);
        return NULL;
    }
    size_t sz = (size_t)ftell(f);
    rewind(f);
    void *b = malloc(sz ? sz : 1);
    if (!b || fread(b, 1, sz, f) != sz) {
        vindex_set_err(err, errlen, "%s: read failed", path);
        free(b);
        fclose(f);
        return NULL;
    }
    fclose(f);
    *len = sz;
    return b;
}

static void *read_vecs(const char *path, int fl, size_t *n, size_t *dim, char *err, size_t errlen)
{
    size_t len;
    void *b = read_all(path, &len, err, errlen);
    if (!b) return NULL;
    char e2[200] = "";
    void *out = vecs_parse(b, len, fl, n, dim, e2, sizeof e2);
    if (!out) vindex_set_err(err, errlen, "%s: %s", path, e2);
    free(b);
    return out;
}

float *fvecs_read(const char *path, size_t *n, size_t *dim, char *err, size_t errlen)
{
    return read_vecs(path, 1, n, dim, err, errlen);
}

int32_t *ivecs_read(const char *path, size_t *n, size_t *dim, char *err, size_t errlen)
{
    return read_vecs(path, 0, n, dim, err, errlen);
}

static int write_vecs(const char *path, const void *rows, size_t n, size_t dim, char *err, size_t errlen)
{
    FILE *f = fopen(path, "wb");
    if (!f) { vindex_set_err(err, errlen, "%s: %s", path, strerror(errno)); return -1; }
    int32_t d = (int32_t)dim;
    int bad = 0;
    for (size_t i = 0; i < n && !bad; i++) {
        bad |= fwrite(&d, 4, 1, f) != 1;
        bad |= fwrite((const char *)rows + i * dim * 4, 4, dim, f) != dim;
    }
    bad |= fclose(f) != 0;
    if (bad) { vindex_set_err(err, errlen, "%s: write failed", path); return -1; }
    return 0;
}

int ivecs_write(const char *path, const int32_t *rows, size_t n, size_t dim, char *err, size_t errlen)
{
    return write_vecs(path, rows, n, dim, err, errlen);
}

int fvecs_write(const char *path, const float *rows, size_t n, size_t dim, char *err, size_t errlen)
{
    return write_vecs(path, rows, n, dim, err, errlen);
}
