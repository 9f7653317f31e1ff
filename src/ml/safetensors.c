/* safetensors.c — strict reader for safetensors files (see safetensors.h for the checks).
 * The header is parsed with jansson (duplicate keys rejected); tensors are kept sorted by
 * name for binary-search lookup, and a second sort by offset proves they do not overlap. */
#include "ml/safetensors.h"
#include "core/buf.h"
#include <jansson.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

struct st_file {
    const uint8_t *base;
    size_t         len;
    int            mapped;       /* 1: base is our mmap, unmapped at close */
    st_tensor_t   *t;
    size_t         n;
};

static const struct { const char *name; st_dtype_t dt; size_t size; } dtypes[] = {
    {"F32", ST_F32, 4}, {"F16", ST_F16, 2}, {"BF16", ST_BF16, 2}, {"F64", ST_F64, 8},
    {"I64", ST_I64, 8}, {"I32", ST_I32, 4}, {"I16", ST_I16, 2}, {"I8", ST_I8, 1},
    {"U8", ST_U8, 1}, {"BOOL", ST_BOOL, 1},
};

size_t safetensors_dtype_size(st_dtype_t dt)
{
    for (size_t i = 0; i < sizeof dtypes / sizeof *dtypes; i++)
        if (dtypes[i].dt == dt) return dtypes[i].size;
    return 0;
}

const char *safetensors_dtype_name(st_dtype_t dt)
{
    for (size_t i = 0; i < sizeof dtypes / sizeof *dtypes; i++)
        if (dtypes[i].dt == dt) return dtypes[i].name;
    return "?";
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(((const st_tensor_t *)a)->name, ((const st_tensor_t *)b)->name);
}

static int cmp_offset(const void *a, const void *b)
{
    const st_tensor_t *x = *(const st_tensor_t *const *)a, *y = *(const st_tensor_t *const *)b;
    return x->offset < y->offset ? -1 : x->offset > y->offset ? 1 : 0;
}

static void free_tensors(st_tensor_t *t, size_t n)
{
    for (size_t i = 0; i < n; i++) free(t[i].name);
    free(t);
}

/* Parses one header entry into *t; returns 0 or -1 with a message naming the tensor. */
static int parse_entry(const char *name, json_t *v, size_t data_start, size_t file_len,
                       st_tensor_t *t, char *err, size_t errlen)
{
    if (!json_is_object(v)) {
        snprintf(err, errlen, "tensor '%s': header entry is not an object", name);
        return -1;
    }
    json_t *dt = json_object_get(v, "dtype"), *shape = json_object_get(v, "shape");
    json_t *offs = json_object_get(v, "data_offsets");
    if (!json_is_string(dt)) { snprintf(err, errlen, "tensor '%s': missing dtype", name); return -1; }
    size_t esize = 0;
    for (size_t i = 0; i < sizeof dtypes / sizeof *dtypes; i++)
        if (!strcmp(json_string_value(dt), dtypes[i].name)) { t->dtype = dtypes[i].dt; esize = dtypes[i].size; }
    if (!esize) {
        snprintf(err, errlen, "tensor '%s': unsupported dtype '%.32s'", name, json_string_value(dt));
        return -1;
    }
    if (!json_is_array(shape) || json_array_size(shape) > ST_MAX_DIMS) {
        snprintf(err, errlen, "tensor '%s': shape must be an array of at most %d dimensions", name, ST_MAX_DIMS);
        return -1;
    }
    t->ndim = (int)json_array_size(shape);
    uint64_t numel = 1;
    int overflow = 0;
    for (int i = 0; i < t->ndim; i++) {
        json_t *d = json_array_get(shape, (size_t)i);
        if (!json_is_integer(d) || json_integer_value(d) < 0) {
            snprintf(err, errlen, "tensor '%s': dimension %d is not a non-negative integer", name, i);
            return -1;
        }
        uint64_t dim = (uint64_t)json_integer_value(d);
        t->shape[i] = (int64_t)dim;
        if (dim && numel > UINT64_MAX / dim) overflow = 1;
        else numel *= dim;
    }
    if (overflow || numel > (uint64_t)INT64_MAX / esize) {
        snprintf(err, errlen, "tensor '%s': absurd shape (element count overflows)", name);
        return -1;
    }
    if (!json_is_array(offs) || json_array_size(offs) != 2 ||
        !json_is_integer(json_array_get(offs, 0)) || !json_is_integer(json_array_get(offs, 1))) {
        snprintf(err, errlen, "tensor '%s': data_offsets must be [begin, end]", name);
        return -1;
    }
    json_int_t b = json_integer_value(json_array_get(offs, 0)), e = json_integer_value(json_array_get(offs, 1));
    size_t data_len = file_len - data_start;
    if (b < 0 || e < b || (uint64_t)e > data_len) {
        snprintf(err, errlen, "tensor '%s': data_offsets [%lld, %lld] outside the %zu data bytes",
                 name, (long long)b, (long long)e, data_len);
        return -1;
    }
    if ((uint64_t)(e - b) != numel * esize) {
        snprintf(err, errlen, "tensor '%s': shape x dtype size is %llu bytes but data_offsets span %lld",
                 name, (unsigned long long)(numel * esize), (long long)(e - b));
        return -1;
    }
    t->numel = (int64_t)numel;
    t->offset = data_start + (size_t)b;
    t->nbytes = (size_t)(e - b);
    return 0;
}

static st_file_t *open_image(const uint8_t *base, size_t len, char *err, size_t errlen)
{
    if (len < 8) { snprintf(err, errlen, "file too short for a safetensors header (%zu bytes)", len); return NULL; }
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | base[i];
    if (hlen < 2 || hlen > ST_MAX_HEADER || hlen > len - 8) {
        snprintf(err, errlen, "header length %llu is out of bounds (file has %zu bytes)", (unsigned long long)hlen, len);
        return NULL;
    }
    json_error_t jerr;
    json_t *root = json_loadb((const char *)base + 8, (size_t)hlen, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) { snprintf(err, errlen, "header is not valid JSON: %s", jerr.text); return NULL; }
    if (!json_is_object(root)) {
        json_decref(root);
        snprintf(err, errlen, "header is not a JSON object");
        return NULL;
    }
    size_t cap = json_object_size(root), n = 0;
    st_tensor_t *t = xcalloc(cap ? cap : 1, sizeof *t);
    const char *key;
    json_t *v;
    size_t data_start = 8 + (size_t)hlen;
    json_object_foreach(root, key, v) {
        if (!strcmp(key, "__metadata__")) {
            if (!json_is_object(v)) { snprintf(err, errlen, "__metadata__ is not an object"); goto fail; }
            continue;
        }
        if (parse_entry(key, v, data_start, len, &t[n], err, errlen) != 0) goto fail;
        t[n].name = xstrdup(key);
        t[n].data = base + t[n].offset;
        n++;
    }
    json_decref(root);
    root = NULL;
    /* Overlap check: sort by offset, each range must end at or before the next begins. */
    if (n > 1) {
        st_tensor_t **byoff = xmalloc(n * sizeof *byoff);
        for (size_t i = 0; i < n; i++) byoff[i] = &t[i];
        qsort(byoff, n, sizeof *byoff, cmp_offset);
        for (size_t i = 1; i < n; i++)
            if (byoff[i - 1]->offset + byoff[i - 1]->nbytes > byoff[i]->offset) {
                snprintf(err, errlen, "tensor '%s' overlaps tensor '%s'", byoff[i]->name, byoff[i - 1]->name);
                free(byoff);
                goto fail;
            }
        free(byoff);
    }
    qsort(t, n, sizeof *t, cmp_name);
    st_file_t *f = xcalloc(1, sizeof *f);
    f->base = base;
    f->len = len;
    f->t = t;
    f->n = n;
    return f;
fail:
    if (root) json_decref(root);
    free_tensors(t, n);
    return NULL;
}

st_file_t *safetensors_open_memory(const void *data, size_t len, char *err, size_t errlen)
{
    return open_image(data, len, err, errlen);
}

st_file_t *safetensors_open(const char *path, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) { snprintf(err, errlen, "%s: %s", path, strerror(errno)); return NULL; }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: not a regular file", path);
        close(fd);
        return NULL;
    }
    size_t len = (size_t)st.st_size;
    if (len < 8) {
        close(fd);
        snprintf(err, errlen, "%s: file too short for a safetensors header (%zu bytes)", path, len);
        return NULL;
    }
    void *m = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (m == MAP_FAILED) { snprintf(err, errlen, "%s: mmap: %s", path, strerror(errno)); return NULL; }
    char inner[400];
    st_file_t *f = open_image(m, len, inner, sizeof inner);
    if (!f) {
        munmap(m, len);
        snprintf(err, errlen, "%s: %s", path, inner);
        return NULL;
    }
    f->mapped = 1;
    return f;
}

void safetensors_close(st_file_t *f)
{
    if (!f) return;
    if (f->mapped) munmap((void *)f->base, f->len);
    free_tensors(f->t, f->n);
    free(f);
}

const st_tensor_t *safetensors_find(const st_file_t *f, const char *name)
{
    size_t lo = 0, hi = f->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(name, f->t[mid].name);
        if (!c) return &f->t[mid];
        if (c < 0) hi = mid; else lo = mid + 1;
    }
    return NULL;
}

size_t safetensors_count(const st_file_t *f) { return f->n; }
const st_tensor_t *safetensors_at(const st_file_t *f, size_t i) { return i < f->n ? &f->t[i] : NULL; }
size_t safetensors_file_size(const st_file_t *f) { return f->len; }
