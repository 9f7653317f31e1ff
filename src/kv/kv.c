/* kv.c — picks the backend from the URL and forwards calls through its vtable.
 * Keeping the dispatch here means callers never know which backend they talk to. */
#include "kv/kv_backend.h"
#include <stdio.h>
#include <string.h>

kv_t *kv_open(const char *url, char *err, size_t errlen)
{
    if (!url || !*url || !strcmp(url, "memory://") || !strcmp(url, "memory"))
        return kv_memory_open(err, errlen);
    if (err && errlen) snprintf(err, errlen, "unsupported kv URL");
    return NULL;
}

void kv_close(kv_t *kv)
{
    if (kv) kv->ops->close(kv);
}

int kv_incr_window(kv_t *kv, const char *key, int window_s, int64_t *count, int64_t *reset_at)
{
    if (!kv || !key || window_s <= 0) return -1;
    return kv->ops->incr_window(kv, key, window_s, count, reset_at);
}

int kv_set(kv_t *kv, const char *key, const char *val, size_t len, int ttl_s)
{
    if (!kv || !key || (!val && len)) return -1;
    return kv->ops->set(kv, key, val ? val : "", len, ttl_s);
}

char *kv_get(kv_t *kv, const char *key, size_t *len)
{
    if (!kv || !key) return NULL;
    return kv->ops->get(kv, key, len);
}

int kv_del(kv_t *kv, const char *key)
{
    if (!kv || !key) return -1;
    return kv->ops->del(kv, key);
}
