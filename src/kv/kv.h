/* kv.h — small key/value service used for rate limits, caches and short-lived state.
 * Backends: in-process (memory.c, default) and Redis (redis.c, scale-out; REDIS_URL).
 * All functions are thread-safe. Keys and values are strings; TTLs in seconds. */
#ifndef RODEO_KV_H
#define RODEO_KV_H
#include <stddef.h>
#include <stdint.h>

typedef struct kv kv_t;

/* url NULL or "memory://" -> in-process. Returns NULL with a message in err on failure. */
kv_t *kv_open(const char *url, char *err, size_t errlen);
void  kv_close(kv_t *kv);

/* Fixed-window counter for rate limits: adds 1 to the counter of the current window of
 * window_s seconds for key, and returns the count after the increment and the Unix time (s)
 * at which the window resets. Returns 0, or -1 when the backend is unreachable. */
int kv_incr_window(kv_t *kv, const char *key, int window_s, int64_t *count, int64_t *reset_at);

/* Plain cache operations. kv_get returns a malloc'd copy (caller frees) or NULL. */
int   kv_set(kv_t *kv, const char *key, const char *val, size_t len, int ttl_s);
char *kv_get(kv_t *kv, const char *key, size_t *len);
int   kv_del(kv_t *kv, const char *key);
#endif
