/* kv_backend.h — the small vtable every kv backend implements (memory.c now, redis.c later).
 * kv.c dispatches the public kv_* calls through it, so a backend is one new file plus one
 * line in kv_open's scheme table. Not for use outside src/kv. */
#ifndef RODEO_KV_BACKEND_H
#define RODEO_KV_BACKEND_H
#include "kv/kv.h"

typedef struct kv_ops {
    int   (*incr_window)(kv_t *kv, const char *key, int window_s, int64_t *count, int64_t *reset_at);
    int   (*set)(kv_t *kv, const char *key, const char *val, size_t len, int ttl_s);
    char *(*get)(kv_t *kv, const char *key, size_t *len);
    int   (*del)(kv_t *kv, const char *key);
    void  (*close)(kv_t *kv);
} kv_ops_t;

/* Every backend's handle starts with this header. */
struct kv {
    const kv_ops_t *ops;
};

/* In-process backend (memory.c). */
kv_t *kv_memory_open(char *err, size_t errlen);
/* Entries held, expired ones not yet reclaimed included (tests, diagnostics). */
size_t kv_memory_entries(kv_t *kv);
#endif
