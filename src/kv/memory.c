/* memory.c — the in-process kv backend: a sharded hash map so that rate-limit counters of
 * different clients never contend on one lock. Entries carry an absolute expiry; expired
 * entries are dropped when touched (lazy) and by an incremental sweep: every insert also
 * checks the next SWEEP_STEP buckets of its shard, so a flood of one-off keys (many client
 * addresses) cannot grow memory forever, and no single call pays for a whole-table scan. */
#include "kv/kv_backend.h"
#include "core/buf.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NSHARDS     64
#define SWEEP_STEP  4

typedef struct entry {
    struct entry *next;
    uint64_t hash;
    int64_t  expire_at;     /* Unix seconds; 0 = never */
    int64_t  window_start;  /* counters: start of the current window */
    int64_t  count;         /* counters: hits in the current window */
    char    *val;           /* plain values (NULL for counters) */
    size_t   len;
    char     key[];
} entry_t;

typedef struct {
    pthread_mutex_t mu;
    entry_t **slots;
    size_t   nslots;        /* power of two */
    size_t   n;
    size_t   sweep_at;      /* next bucket the incremental sweep looks at */
} shard_t;

typedef struct {
    struct kv base;
    shard_t shards[NSHARDS];
} kv_memory_t;

/* FNV-1a, 64-bit: short keys, good enough spread, no allocation. */
static uint64_t hash_key(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) { h ^= (unsigned char)*s; h *= 1099511628211ULL; }
    return h;
}

static int64_t now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME_COARSE, &ts);
    return (int64_t)ts.tv_sec;
}

static shard_t *shard_for(kv_memory_t *m, uint64_t h) { return &m->shards[(h >> 58) % NSHARDS]; }

static void entry_free(entry_t *e)
{
    free(e->val);
    free(e);
}

static void shard_grow(shard_t *sh)
{
    size_t nn = sh->nslots * 2;
    entry_t **ns = xcalloc(nn, sizeof *ns);
    for (size_t i = 0; i < sh->nslots; i++) {
        entry_t *e = sh->slots[i];
        while (e) {
            entry_t *next = e->next;
            size_t j = e->hash & (nn - 1);
            e->next = ns[j];
            ns[j] = e;
            e = next;
        }
    }
    free(sh->slots);
    sh->slots = ns;
    sh->nslots = nn;
}

/* Drops the expired entries of the next SWEEP_STEP buckets (caller holds the lock). */
static void shard_sweep(shard_t *sh, int64_t now)
{
    for (int k = 0; k < SWEEP_STEP; k++) {
        size_t i = sh->sweep_at++ & (sh->nslots - 1);
        entry_t **pp = &sh->slots[i];
        while (*pp) {
            entry_t *e = *pp;
            if (e->expire_at && e->expire_at <= now) { *pp = e->next; entry_free(e); sh->n--; }
            else pp = &e->next;
        }
    }
}

/* Finds the live entry for key; removes it when expired. Caller holds the lock. */
static entry_t **shard_find(shard_t *sh, const char *key, uint64_t h, int64_t now)
{
    entry_t **pp = &sh->slots[h & (sh->nslots - 1)];
    while (*pp) {
        entry_t *e = *pp;
        if (e->hash == h && !strcmp(e->key, key)) {
            if (e->expire_at && e->expire_at <= now) {
                *pp = e->next;
                entry_free(e);
                sh->n--;
                return NULL;
            }
            return pp;
        }
        pp = &e->next;
    }
    return NULL;
}

static entry_t *shard_insert(shard_t *sh, const char *key, uint64_t h, int64_t now)
{
    shard_sweep(sh, now);
    if (sh->n + 1 > sh->nslots) shard_grow(sh);
    size_t klen = strlen(key);
    entry_t *e = xcalloc(1, sizeof *e + klen + 1);
    memcpy(e->key, key, klen + 1);
    e->hash = h;
    size_t i = h & (sh->nslots - 1);
    e->next = sh->slots[i];
    sh->slots[i] = e;
    sh->n++;
    return e;
}

static int mem_incr_window(kv_t *kv, const char *key, int window_s, int64_t *count,
                           int64_t *reset_at)
{
    kv_memory_t *m = (kv_memory_t *)kv;
    uint64_t h = hash_key(key);
    shard_t *sh = shard_for(m, h);
    int64_t now = now_s();
    int64_t start = now - now % window_s;
    pthread_mutex_lock(&sh->mu);
    entry_t **pp = shard_find(sh, key, h, now);
    entry_t *e = pp ? *pp : shard_insert(sh, key, h, now);
    if (e->val) { free(e->val); e->val = NULL; e->len = 0; e->count = 0; }
    if (e->window_start != start) { e->window_start = start; e->count = 0; }
    e->count++;
    e->expire_at = start + window_s;
    if (count) *count = e->count;
    if (reset_at) *reset_at = start + window_s;
    pthread_mutex_unlock(&sh->mu);
    return 0;
}

static int mem_set(kv_t *kv, const char *key, const char *val, size_t len, int ttl_s)
{
    kv_memory_t *m = (kv_memory_t *)kv;
    uint64_t h = hash_key(key);
    shard_t *sh = shard_for(m, h);
    int64_t now = now_s();
    char *copy = xmalloc(len + 1);
    memcpy(copy, val, len);
    copy[len] = 0;
    pthread_mutex_lock(&sh->mu);
    entry_t **pp = shard_find(sh, key, h, now);
    entry_t *e = pp ? *pp : shard_insert(sh, key, h, now);
    free(e->val);
    e->val = copy;
    e->len = len;
    e->count = 0;
    e->window_start = 0;
    e->expire_at = ttl_s > 0 ? now + ttl_s : 0;
    pthread_mutex_unlock(&sh->mu);
    return 0;
}

static char *mem_get(kv_t *kv, const char *key, size_t *len)
{
    kv_memory_t *m = (kv_memory_t *)kv;
    uint64_t h = hash_key(key);
    shard_t *sh = shard_for(m, h);
    char *out = NULL;
    pthread_mutex_lock(&sh->mu);
    entry_t **pp = shard_find(sh, key, h, now_s());
    if (pp) {
        entry_t *e = *pp;
        if (e->val) {
            out = xmalloc(e->len + 1);
            memcpy(out, e->val, e->len + 1);
            if (len) *len = e->len;
        } else {
            /* a counter reads as its decimal value, as in Redis */
            char tmp[32];
            int n = snprintf(tmp, sizeof tmp, "%lld", (long long)e->count);
            out = xstrdup(tmp);
            if (len) *len = (size_t)n;
        }
    }
    pthread_mutex_unlock(&sh->mu);
    return out;
}

static int mem_del(kv_t *kv, const char *key)
{
    kv_memory_t *m = (kv_memory_t *)kv;
    uint64_t h = hash_key(key);
    shard_t *sh = shard_for(m, h);
    pthread_mutex_lock(&sh->mu);
    entry_t **pp = shard_find(sh, key, h, now_s());
    if (pp) {
        entry_t *e = *pp;
        *pp = e->next;
        entry_free(e);
        sh->n--;
    }
    pthread_mutex_unlock(&sh->mu);
    return 0;
}

static void mem_close(kv_t *kv)
{
    kv_memory_t *m = (kv_memory_t *)kv;
    for (int s = 0; s < NSHARDS; s++) {
        shard_t *sh = &m->shards[s];
        for (size_t i = 0; i < sh->nslots; i++) {
            entry_t *e = sh->slots[i];
            while (e) { entry_t *next = e->next; entry_free(e); e = next; }
        }
        free(sh->slots);
        pthread_mutex_destroy(&sh->mu);
    }
    free(m);
}

size_t kv_memory_entries(kv_t *kv)
{
    kv_memory_t *m = (kv_memory_t *)kv;
    size_t n = 0;
    for (int s = 0; s < NSHARDS; s++) {
        pthread_mutex_lock(&m->shards[s].mu);
        n += m->shards[s].n;
        pthread_mutex_unlock(&m->shards[s].mu);
    }
    return n;
}

static const kv_ops_t memory_ops = {
    mem_incr_window, mem_set, mem_get, mem_del, mem_close,
};

kv_t *kv_memory_open(char *err, size_t errlen)
{
    (void)err; (void)errlen;
    kv_memory_t *m = xcalloc(1, sizeof *m);
    m->base.ops = &memory_ops;
    for (int s = 0; s < NSHARDS; s++) {
        pthread_mutex_init(&m->shards[s].mu, NULL);
        m->shards[s].nslots = 16;
        m->shards[s].slots = xcalloc(16, sizeof(entry_t *));
    }
    return &m->base;
}
