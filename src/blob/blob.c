/* blob.c — the backend-independent wrappers: key validation happens here, once, so no
 * backend can forget it. */
#include "blob/blob.h"
#include <stdio.h>
#include <string.h>

int blob_key_valid(const char *key)
{
    if (!key) return 0;
    for (int i = 0; i < BLOB_KEY_LEN; i++) {
        char c = key[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return 0;
    }
    return key[BLOB_KEY_LEN] == 0;
}

static int bad_key(char *err, size_t cap)
{
    if (err && cap) snprintf(err, cap, "invalid blob key (want 64 lower-case hex digits)");
    return BLOB_ERR_KEY;
}

int blob_put(blob_store_t *s, const char *key, const void *data, size_t len, char *err, size_t cap)
{
    if (!blob_key_valid(key)) return bad_key(err, cap);
    return s->ops->put(s, key, data, len, err, cap);
}

int blob_put_file(blob_store_t *s, const char *key, const char *path, char *err, size_t cap)
{
    if (!blob_key_valid(key)) return bad_key(err, cap);
    return s->ops->put_file(s, key, path, err, cap);
}

int blob_put_file_hashed(blob_store_t *s, const char *key, const char *path, char *err, size_t cap)
{
    if (!blob_key_valid(key)) return bad_key(err, cap);
    if (s->ops->put_file_hashed) return s->ops->put_file_hashed(s, key, path, err, cap);
    return s->ops->put_file(s, key, path, err, cap);
}

int blob_get(blob_store_t *s, const char *key, size_t max_bytes, buf_t *out, char *err, size_t cap)
{
    if (!blob_key_valid(key)) return bad_key(err, cap);
    return s->ops->get(s, key, max_bytes, out, err, cap);
}

int blob_remove(blob_store_t *s, const char *key, char *err, size_t cap)
{
    if (!blob_key_valid(key)) return bad_key(err, cap);
    return s->ops->remove(s, key, err, cap);
}

int blob_exists(blob_store_t *s, const char *key)
{
    return blob_key_valid(key) && s->ops->exists(s, key);
}

char *blob_url(blob_store_t *s, const char *key)
{
    return blob_key_valid(key) ? s->ops->url(s, key) : NULL;
}

void blob_close(blob_store_t *s)
{
    if (s) s->ops->close(s);
}
