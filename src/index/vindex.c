/* vindex.c — the collection: parameters, slot storage, id map, upsert/delete/get, search
 * dispatch (exact vs graph, filter strategy, int8 re-ranking), batches, rebuild, stats. */
#include "index/vindex_impl.h"
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

void vindex_set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

const char *vindex_metric_name(vindex_metric_t m)
{
    return m == VINDEX_COSINE ? "cosine" : m == VINDEX_IP ? "ip" : m == VINDEX_L2 ? "l2" : "?";
}

int vindex_metric_parse(const char *s)
{
    if (!s) return -1;
    if (!strcmp(s, "cosine")) return VINDEX_COSINE;
    if (!strcmp(s, "ip")) return VINDEX_IP;
    if (!strcmp(s, "l2")) return VINDEX_L2;
    return -1;
}

void vindex_params_default(vindex_params_t *p, uint32_t dim, vindex_metric_t metric)
{
    memset(p, 0, sizeof *p);
    p->dim = dim;
    p->metric = metric;
    p->m = 16;
    p->ef_construction = 200;
    p->ef_search = 64;
    p->quant = VINDEX_QUANT_NONE;
    p->flat_below = 2000;
    p->seed = 0x5eed5eedULL;
}

const vindex_params_t *vindex_params(const vindex_t *v) { return &v->p; }

vindex_t *vindex_alloc(const vindex_params_t *p, char *err, size_t errlen)
{
    if (!p || p->dim < 1 || p->dim > 65536) {
        vindex_set_err(err, errlen, "dimension must be 1..65536");
        return NULL;
    }
    if (p->metric != VINDEX_COSINE && p->metric != VINDEX_IP && p->metric != VINDEX_L2) {
        vindex_set_err(err, errlen, "unknown metric");
        return NULL;
    }
    if (p->m < 4 || p->m > 128) { vindex_set_err(err, errlen, "m must be 4..128"); return NULL; }
    if (p->ef_construction < 1 || p->ef_construction > 100000 || p->ef_search < 1 ||
        p->ef_search > 100000) {
        vindex_set_err(err, errlen, "ef must be 1..100000");
        return NULL;
    }
    if (p->quant != VINDEX_QUANT_NONE && p->quant != VINDEX_QUANT_INT8) {
        vindex_set_err(err, errlen, "unknown quantisation");
        return NULL;
    }
    vindex_t *v = calloc(1, sizeof *v);
    if (!v) { vindex_set_err(err, errlen, "out of memory"); return NULL; }
    v->p = *p;
    v->k = vdist_get();
    v->dim = p->dim;
    v->m = p->m;
    v->m0 = 2 * p->m;
    v->level_mult = 1.0 / log((double)p->m);
    v->code_bytes = p->quant == VINDEX_QUANT_INT8 ? p->dim : (size_t)p->dim * sizeof(float);
    /* 16-byte alignment, not 64: rounding every record to whole cache lines would cost
     * more memory than hnswlib's layout (~2% at dim 512) for no measured speed gain. */
    /* without a graph a record is the state word and the code: scans read no link bytes */
    v->code_off = p->no_graph ? 16 : ((2 + (size_t)v->m0) * sizeof(uint32_t) + 15) & ~(size_t)15;
    v->stride = (v->code_off + v->code_bytes + 15) & ~(size_t)15;
    /* chunks of at least ~1 MiB of records (256..65536 slots) */
    uint32_t sh = 8;
    while (sh < 16 && ((size_t)1 << sh) * v->stride < ((size_t)1 << 20)) sh++;
    v->chunk_shift = sh;
    v->chunk_mask = ((size_t)1 << sh) - 1;
    v->rng = p->seed ? p->seed : 0x5eed5eedULL;
    v->log_fd = -1;
    v->spill_fd = -1;
    pthread_mutex_init(&v->wlock, NULL);
    pthread_mutex_init(&v->ep_lock, NULL);
    pthread_mutex_init(&v->scratch_lock, NULL);
    pthread_mutex_init(&v->log_lock, NULL);
    for (int i = 0; i < VINDEX_LOCK_STRIPES; i++) pthread_mutex_init(&v->node_locks[i], NULL);
    v->tab = calloc(1, sizeof(vtab_t));
    if (!v->tab) {
        vindex_set_err(err, errlen, "out of memory");
        vindex_free(v);
        return NULL;
    }
    return v;
}

vindex_t *vindex_create(const vindex_params_t *p, char *err, size_t errlen)
{
    return vindex_alloc(p, err, errlen);
}

static int in_map(const vindex_t *v, const void *ptr)
{
    return v->map && (const char *)ptr >= (const char *)v->map &&
           (const char *)ptr < (const char *)v->map + v->map_len;
}

void vindex_free(vindex_t *v)
{
    if (!v) return;
    vlog_close(v);
    vtab_t *t = v->tab;
    if (t) {
        for (size_t c = 0; c < t->cap; c++) {
            if (t->up && t->up[c]) {
                for (size_t i = 0; i <= v->chunk_mask; i++)
                    if (!in_map(v, t->up[c][i])) free(t->up[c][i]);
                free(t->up[c]);
            }
            if (t->nodes && !in_map(v, t->nodes[c])) free(t->nodes[c]);
            if (t->meta && !in_map(v, t->meta[c])) free(t->meta[c]);
            if (t->vec && !in_map(v, t->vec[c]) && !vspill_is(v, c, t->vec[c])) free(t->vec[c]);
            if (t->fattr) free(t->fattr[c]);
        }
    }
    while (t) {
        vtab_t *r = t->retired;
        free(t->nodes); free(t->meta); free(t->vec); free(t->up); free(t->fattr);
        free(t);
        t = r;
    }
    while (v->scratch_free) {
        vscratch_t *s = v->scratch_free;
        v->scratch_free = s->next;
        free(s->tags); free(s->cand); free(s->res); free(s->top); free(s->qcode); free(s->qbuf);
        free(s);
    }
    if (v->map) munmap(v->map, v->map_len);
    vspill_close(v);
    free(v->ids);
    vquant_free(v);
    pthread_mutex_destroy(&v->wlock);
    pthread_mutex_destroy(&v->ep_lock);
    pthread_mutex_destroy(&v->scratch_lock);
    pthread_mutex_destroy(&v->log_lock);
    for (int i = 0; i < VINDEX_LOCK_STRIPES; i++) pthread_mutex_destroy(&v->node_locks[i]);
    free(v);
}

/* Makes sure chunks exist for slots < n (caller holds wlock or is single-threaded).
 * A larger chunk table is published atomically; the old one is kept for readers. */
int vindex_grow_to(vindex_t *v, size_t n)
{
    vtab_t *t = v->tab;
    size_t need = (n + v->chunk_mask) >> v->chunk_shift;
    if (need > ((size_t)1 << 32) >> v->chunk_shift) return -1;   /* slots are uint32 */
    if (need > t->cap) {
        size_t cap = t->cap ? t->cap : 4;
        while (cap < need) cap *= 2;
        vtab_t *nt = calloc(1, sizeof *nt);
        if (!nt) return -1;
        nt->cap = cap;
        nt->nodes = calloc(cap, sizeof *nt->nodes);
        nt->meta = calloc(cap, sizeof *nt->meta);
        nt->up = calloc(cap, sizeof *nt->up);
        nt->vec = calloc(cap, sizeof *nt->vec);
        nt->fattr = calloc(cap, sizeof *nt->fattr);
        if (!nt->nodes || !nt->meta || !nt->up || !nt->vec || !nt->fattr) {
            free(nt->nodes); free(nt->meta); free(nt->up); free(nt->vec); free(nt->fattr); free(nt);
            return -1;
        }
        if (t->cap) {
            memcpy(nt->nodes, t->nodes, t->cap * sizeof *nt->nodes);
            memcpy(nt->meta, t->meta, t->cap * sizeof *nt->meta);
            memcpy(nt->up, t->up, t->cap * sizeof *nt->up);
            memcpy(nt->vec, t->vec, t->cap * sizeof *nt->vec);
            memcpy(nt->fattr, t->fattr, t->cap * sizeof *nt->fattr);
        }
        nt->retired = t;
        __atomic_store_n(&v->tab, nt, __ATOMIC_RELEASE);
        t = nt;
    }
    size_t per = (size_t)1 << v->chunk_shift;
    for (size_t c = 0; c < need; c++) {
        if (t->nodes[c]) continue;
        void *nodes = NULL;
        if (posix_memalign(&nodes, 64, per * v->stride)) return -1;
        vmeta_t *meta = calloc(per, sizeof *meta);
        uint32_t **up = calloc(per, sizeof *up);
        vindex_attrs_t *fa = calloc(per, sizeof *fa);
        float *vec = NULL;
        if (v->p.quant == VINDEX_QUANT_INT8) vec = vspill_chunk(v, c);
        if (!meta || !up || !fa || (v->p.quant == VINDEX_QUANT_INT8 && !vec)) {
            free(nodes); free(meta); free(up); free(fa);
            if (vec && !vspill_is(v, c, vec)) free(vec);
            return -1;
        }
        /* Chunks are only reachable for slots < n_slots, which is published later. */
        t->meta[c] = meta; t->up[c] = up; t->vec[c] = vec; t->nodes[c] = nodes; t->fattr[c] = fa;
    }
    return 0;
}

/* ---- id -> slot map: open addressing, linear probing, tombstones; under wlock ---- */
static size_t id_hash(uint64_t x)
{
    x ^= x >> 33; x *= 0xff51afd7ed558ccdULL; x ^= x >> 33; x *= 0xc4ceb9fe1a85ec53ULL; x ^= x >> 33;
    return (size_t)x;
}

long vindex_idmap_get(const vindex_t *v, uint64_t id)
{
    if (!v->ids_cap) return -1;
    size_t mask = v->ids_cap - 1;
    for (size_t i = id_hash(id) & mask;; i = (i + 1) & mask) {
        const vidslot_t *e = &v->ids[i];
        if (e->used == 0) return -1;
        if (e->used == 1 && e->key == id) return e->slot;
    }
}

static int idmap_resize(vindex_t *v, size_t cap)
{
    vidslot_t *n = calloc(cap, sizeof *n);
    if (!n) return -1;
    for (size_t i = 0; i < v->ids_cap; i++) {
        if (v->ids[i].used != 1) continue;
        size_t j = id_hash(v->ids[i].key) & (cap - 1);
        while (n[j].used) j = (j + 1) & (cap - 1);
        n[j] = v->ids[i];
    }
    free(v->ids);
    v->ids = n;
    v->ids_cap = cap;
    v->ids_used = v->n_live;
    return 0;
}

static int idmap_reserve(vindex_t *v, size_t live)
{
    /* load factor up to 0.8 (tombstones included): the map is off the search path */
    if ((v->ids_used + 1) * 5 <= v->ids_cap * 4) return 0;
    size_t cap = 64;
    while (cap * 2 < (live + 1) * 3) cap *= 2;
    return idmap_resize(v, cap);
}

void vindex_idmap_put(vindex_t *v, uint64_t id, uint32_t slot)
{
    size_t mask = v->ids_cap - 1;
    size_t i = id_hash(id) & mask, tomb = SIZE_MAX;
    for (;; i = (i + 1) & mask) {
        vidslot_t *e = &v->ids[i];
        if (e->used == 1 && e->key == id) { e->slot = slot; return; }
        if (e->used == 2 && tomb == SIZE_MAX) tomb = i;
        if (e->used == 0) break;
    }
    if (tomb != SIZE_MAX) i = tomb;
    else v->ids_used++;
    v->ids[i] = (vidslot_t){id, slot, 1};
}

static void idmap_del(vindex_t *v, uint64_t id)
{
    if (!v->ids_cap) return;
    size_t mask = v->ids_cap - 1;
    for (size_t i = id_hash(id) & mask;; i = (i + 1) & mask) {
        vidslot_t *e = &v->ids[i];
        if (e->used == 0) return;
        if (e->used == 1 && e->key == id) { e->used = 2; return; }
    }
}

/* ---- scratch pool ---- */
int vscratch_tags(vscratch_t *s, size_t nslots)
{
    if (s->tags_cap >= nslots) return 0;
    size_t cap = nslots + nslots / 4 + 1024;
    uint16_t *t = calloc(cap, sizeof *t);
    if (!t) return -1;
    free(s->tags);
    s->tags = t;
    s->tags_cap = cap;
    s->epoch = 0;
    return 0;
}

int vscratch_reserve(vpair_t **arr, size_t *cap, size_t need)
{
    if (need <= *cap) return 0;
    size_t c = *cap ? *cap : 64;
    while (c < need) c *= 2;
    vpair_t *n = realloc(*arr, c * sizeof *n);
    if (!n) return -1;
    *arr = n;
    *cap = c;
    return 0;
}

vscratch_t *vscratch_get(const vindex_t *cv, size_t nslots)
{
    vindex_t *v = (vindex_t *)cv;
    pthread_mutex_lock(&v->scratch_lock);
    vscratch_t *s = v->scratch_free;
    if (s) v->scratch_free = s->next;
    pthread_mutex_unlock(&v->scratch_lock);
    if (!s) {
        s = calloc(1, sizeof *s);
        if (!s) return NULL;
        s->qcode = malloc(v->dim + 64);
        s->qbuf = malloc(v->dim * sizeof(float) + 64);
        if (!s->qcode || !s->qbuf) { free(s->qcode); free(s->qbuf); free(s); return NULL; }
    }
    if (vscratch_tags(s, nslots)) { vscratch_put(v, s); return NULL; }
    return s;
}

void vscratch_put(const vindex_t *cv, vscratch_t *s)
{
    vindex_t *v = (vindex_t *)cv;
    pthread_mutex_lock(&v->scratch_lock);
    s->next = v->scratch_free;
    v->scratch_free = s;
    pthread_mutex_unlock(&v->scratch_lock);
}

/* ---- writes ---- */
static int vec_finite(const float *x, size_t d)
{
    for (size_t i = 0; i < d; i++) if (!isfinite(x[i])) return 0;
    return 1;
}

void vindex_prepare_vec(const vindex_t *v, const float *in, float *out)
{
    if (out != in) memcpy(out, in, v->dim * sizeof(float));
    if (v->p.metric != VINDEX_COSINE) return;
    double n = 0;
    for (size_t i = 0; i < v->dim; i++) n += (double)out[i] * out[i];
    if (n <= 0) return;  /* zero vector: kept as is, scores 0 against everything */
    float inv = (float)(1.0 / sqrt(n));
    for (size_t i = 0; i < v->dim; i++) out[i] *= inv;
}

static int random_level(vindex_t *v)
{
    v->rng ^= v->rng << 13; v->rng ^= v->rng >> 7; v->rng ^= v->rng << 17;
    double u = ((v->rng >> 11) + 1.0) / 9007199254740993.0;   /* (0, 1] */
    int l = (int)(-log(u) * v->level_mult);
    return l > 30 ? 30 : l;
}

/* Stores one prepared (normalised) vector in a new slot, retires the id's old slot, then
 * links it into the graph outside the write lock (so several writers build in parallel). */
int vindex_insert_prepared(vindex_t *v, uint64_t id, const float *x, const vindex_attrs_t *a,
                           int do_log)
{
    static const vindex_attrs_t zero;
    if (!a) a = &zero;
    pthread_mutex_lock(&v->wlock);
    size_t slot = v->n_slots;
    if ((v->p.quant == VINDEX_QUANT_INT8 && !v->q && vquant_train(v, x, 1)) ||
        slot >= UINT32_MAX - 1 || vindex_grow_to(v, slot + 1) || idmap_reserve(v, v->n_live + 1)) {
        pthread_mutex_unlock(&v->wlock);
        return -1;
    }
    int level = v->p.no_graph ? 0 : random_level(v);
    uint32_t **upp = NULL;
    vtab_t *t = v->tab;
    upp = &t->up[slot >> v->chunk_shift][slot & v->chunk_mask];
    *upp = NULL;
    if (level > 0) {
        *upp = calloc((size_t)level * (v->m + 1), sizeof(uint32_t));
        if (!*upp) { pthread_mutex_unlock(&v->wlock); return -1; }
    }
    long old = vindex_idmap_get(v, id);
    if (old >= 0) {
        vindex_set_state(v, t, (uint32_t)old, SLOT_DEAD);
        __atomic_sub_fetch(&v->n_live, 1, __ATOMIC_RELAXED);
        __atomic_add_fetch(&v->n_dead, 1, __ATOMIC_RELAXED);
    }
    vmeta_t *mt = vindex_meta(v, t, (uint32_t)slot);
    mt->id = id;
    mt->attrs = *a;
    t->fattr[slot >> v->chunk_shift][slot & v->chunk_mask] = *a;
    mt->level = level;
    __atomic_store_n(&mt->state, SLOT_LIVE, __ATOMIC_RELAXED);
    char *node = vindex_node(v, t, (uint32_t)slot);
    memset(node, 0, v->code_off);
    *(uint32_t *)node = SLOT_LIVE;
    if (v->p.quant == VINDEX_QUANT_INT8) {
        if (vquant_encode(v, x, (int8_t *)(node + v->code_off))) v->q_out++;
        memcpy(t->vec[slot >> v->chunk_shift] + (slot & v->chunk_mask) * v->dim, x,
               v->dim * sizeof(float));
        /* every earlier slot of a chunk is written before its last one (slots are handed
         * out in order under this lock): a full chunk's pages leave our resident set */
        if ((slot & v->chunk_mask) == v->chunk_mask) vspill_drop(v, slot >> v->chunk_shift);
    } else {
        memcpy(node + v->code_off, x, v->dim * sizeof(float));
    }
    vindex_idmap_put(v, id, (uint32_t)slot);
    __atomic_add_fetch(&v->n_live, 1, __ATOMIC_RELAXED);
    __atomic_store_n(&v->n_slots, slot + 1, __ATOMIC_RELEASE);
    int retrain = vquant_needs_retrain(v);
    pthread_mutex_unlock(&v->wlock);
    if (do_log && vlog_append_upsert(v, id, x, a)) return -1;
    /* before linking, so this node and the ones after it are linked on the new grid */
    if (retrain && vquant_retrain(v)) return -1;
    if (!v->p.no_graph) vhnsw_insert(v, (uint32_t)slot, level);
    return 0;
}

int vindex_upsert(vindex_t *v, uint64_t id, const float *vec, const vindex_attrs_t *attrs,
                  char *err, size_t errlen)
{
    if (!v || !vec) { vindex_set_err(err, errlen, "null argument"); return -1; }
    if (!vec_finite(vec, v->dim)) { vindex_set_err(err, errlen, "vector has NaN or infinity"); return -1; }
    if (attrs && !isfinite(attrs->price)) { vindex_set_err(err, errlen, "price is not finite"); return -1; }
    float *x = malloc(v->dim * sizeof(float));
    if (!x) { vindex_set_err(err, errlen, "out of memory"); return -1; }
    vindex_prepare_vec(v, vec, x);
    int rc = vindex_insert_prepared(v, id, x, attrs, 1);
    free(x);
    if (rc) vindex_set_err(err, errlen, "out of memory or index full");
    return rc;
}

typedef struct {
    vindex_t *v;
    const uint64_t *ids;
    const float *vecs;
    const vindex_attrs_t *attrs;
    size_t n, next;
    int failed;
} batch_job_t;

static void *batch_worker(void *arg)
{
    batch_job_t *j = arg;
    float *x = malloc(j->v->dim * sizeof(float));
    if (!x) { __atomic_store_n(&j->failed, 1, __ATOMIC_RELAXED); return NULL; }
    for (;;) {
        size_t i = __atomic_fetch_add(&j->next, 1, __ATOMIC_RELAXED);
        if (i >= j->n) break;
        vindex_prepare_vec(j->v, j->vecs + i * j->v->dim, x);
        if (vindex_insert_prepared(j->v, j->ids[i], x, j->attrs ? &j->attrs[i] : NULL, 1)) {
            __atomic_store_n(&j->failed, 1, __ATOMIC_RELAXED);
            break;
        }
    }
    free(x);
    return NULL;
}

int vindex_upsert_batch(vindex_t *v, const uint64_t *ids, const float *vecs,
                        const vindex_attrs_t *attrs, size_t n, int threads,
                        char *err, size_t errlen)
{
    if (!v || (n && (!ids || !vecs))) { vindex_set_err(err, errlen, "null argument"); return -1; }
    for (size_t i = 0; i < n; i++) {
        if (!vec_finite(vecs + i * v->dim, v->dim)) {
            vindex_set_err(err, errlen, "vector %zu has NaN or infinity", i);
            return -1;
        }
        if (attrs && !isfinite(attrs[i].price)) {
            vindex_set_err(err, errlen, "vector %zu: price is not finite", i);
            return -1;
        }
    }
    if (v->p.quant == VINDEX_QUANT_INT8 && n) {
        pthread_mutex_lock(&v->wlock);
        if (!v->q) {
            size_t ns = n < 20000 ? n : 20000;
            float *tmp = malloc(ns * v->dim * sizeof(float));
            if (tmp) {
                size_t step = n / ns;
                for (size_t i = 0; i < ns; i++)
                    vindex_prepare_vec(v, vecs + i * step * v->dim, tmp + i * v->dim);
                vquant_train(v, tmp, ns);
                free(tmp);
            }
        }
        pthread_mutex_unlock(&v->wlock);
    }
    batch_job_t j = {v, ids, vecs, attrs, n, 0, 0};
    if (threads < 1) threads = 1;
    if (threads > 64) threads = 64;
    pthread_t th[64];
    int started = 0;
    for (int i = 1; i < threads; i++)
        if (pthread_create(&th[started], NULL, batch_worker, &j) == 0) started++;
    batch_worker(&j);
    for (int i = 0; i < started; i++) pthread_join(th[i], NULL);
    if (j.failed) { vindex_set_err(err, errlen, "out of memory or index full"); return -1; }
    return 0;
}

int vindex_delete_internal(vindex_t *v, uint64_t id, int do_log)
{
    pthread_mutex_lock(&v->wlock);
    long s = vindex_idmap_get(v, id);
    if (s < 0) { pthread_mutex_unlock(&v->wlock); return 1; }
    vindex_set_state(v, v->tab, (uint32_t)s, SLOT_DEAD);
    idmap_del(v, id);
    __atomic_sub_fetch(&v->n_live, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&v->n_dead, 1, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&v->wlock);
    if (do_log && vlog_append_delete(v, id)) return -1;
    return 0;
}

int vindex_delete(vindex_t *v, uint64_t id)
{
    if (!v) return -1;
    return vindex_delete_internal(v, id, 1);
}

int vindex_get(vindex_t *v, uint64_t id, float *vec_out, vindex_attrs_t *attrs_out)
{
    if (!v) return -1;
    pthread_mutex_lock(&v->wlock);
    long s = vindex_idmap_get(v, id);
    if (s >= 0) {
        vtab_t *t = v->tab;
        if (vec_out) memcpy(vec_out, vindex_vec(v, t, (uint32_t)s), v->dim * sizeof(float));
        if (attrs_out) *attrs_out = vindex_meta(v, t, (uint32_t)s)->attrs;
    }
    pthread_mutex_unlock(&v->wlock);
    return s >= 0 ? 0 : 1;
}

size_t vindex_count(const vindex_t *v)
{
    return v ? __atomic_load_n(&v->n_live, __ATOMIC_RELAXED) : 0;
}

void vindex_stats(const vindex_t *cv, vindex_stats_t *o)
{
    vindex_t *v = (vindex_t *)cv;
    memset(o, 0, sizeof *o);
    pthread_mutex_lock(&v->wlock);
    o->dim = v->dim; o->m = v->m; o->ef_construction = v->p.ef_construction;
    o->ef_search = v->p.ef_search; o->metric = v->p.metric; o->quant = v->p.quant;
    o->count = v->n_live; o->deleted = v->n_dead; o->slots = v->n_slots;
    uint64_t epk = __atomic_load_n(&v->ep_packed, __ATOMIC_ACQUIRE);
    o->max_level = (int)(epk >> 32) - 1;
    vtab_t *t = v->tab;
    size_t per = (size_t)1 << v->chunk_shift, heap = sizeof *v, mapped = 0;
    for (size_t c = 0; c < t->cap; c++) {
        if (!t->nodes[c]) continue;
        size_t b = per * (v->stride + sizeof(vmeta_t) + sizeof(void *)) +
                   (t->vec[c] ? per * v->dim * sizeof(float) : 0);
        if (in_map(v, t->nodes[c])) mapped += per * v->stride; else heap += per * v->stride;
        heap += per * (sizeof(vmeta_t) + sizeof(void *) + sizeof(vindex_attrs_t));
        if (t->vec[c]) {
            if (in_map(v, t->vec[c]) || vspill_is(v, c, t->vec[c])) mapped += per * v->dim * sizeof(float);
            else heap += per * v->dim * sizeof(float);
        }
        (void)b;
        size_t base = c * per;
        for (size_t i = 0; i < per && base + i < v->n_slots; i++)
            if (t->up[c][i]) heap += (size_t)t->meta[c][i].level * (v->m + 1) * sizeof(uint32_t);
    }
    for (vtab_t *r = t; r; r = r->retired) heap += r->cap * 4 * sizeof(void *);
    heap += v->ids_cap * sizeof(vidslot_t);
    o->memory_bytes = heap + mapped;
    o->mapped_bytes = mapped;
    o->kernels = v->k->name;
    pthread_mutex_unlock(&v->wlock);
}

/* ---- filters ---- */
int vindex_filter_match(const vindex_filter_t *f, uint64_t id, const vindex_attrs_t *a)
{
    return vfilter_match(f, id, a);
}

int vindex_filter_slot(const vindex_t *v, const vmeta_t *mt, const vindex_filter_t *f)
{
    (void)v;
    return vindex_slot_live(mt) && (!f || vindex_filter_match(f, mt->id, &mt->attrs));
}

/* Fraction of live slots passing f, from an evenly spaced sample (deterministic). */
static double estimate_selectivity(const vindex_t *v, const vindex_filter_t *f, size_t n)
{
    vtab_t *t = vindex_tab(v);
    size_t step = n / 512 + 1, live = 0, pass = 0;
    for (size_t s = 0; s < n; s += step) {
        const vmeta_t *mt = vindex_meta(v, t, (uint32_t)s);
        if (!vindex_slot_live(mt)) continue;
        live++;
        if (vindex_filter_match(f, mt->id, &mt->attrs)) pass++;
    }
    return live ? (double)pass / live : 0.0;
}

static int hit_better(const vindex_t *v, const vindex_hit_t *a, const vindex_hit_t *b)
{
    if (a->score != b->score)
        return v->p.metric == VINDEX_L2 ? a->score < b->score : a->score > b->score;
    return a->id < b->id;
}

void vindex_sort_hits(const vindex_t *v, vindex_hit_t *h, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        vindex_hit_t x = h[i];
        size_t j = i;
        while (j > 0 && hit_better(v, &x, &h[j - 1])) { h[j] = h[j - 1]; j--; }
        h[j] = x;
    }
}

static int pair_cmp(const void *a, const void *b)
{
    const vpair_t *x = a, *y = b;
    return vpair_less(*x, *y) ? -1 : vpair_less(*y, *x) ? 1 : 0;
}

/* One query, already prepared (normalised) in q. */
static int search_prepared(const vindex_t *v, vscratch_t *s, const float *q, size_t k,
                           const vindex_search_opts_t *o, vindex_hit_t *hits)
{
    static const vindex_search_opts_t none;
    if (!o) o = &none;
    const vindex_filter_t *f = o->filter;
    size_t ef = o->ef ? o->ef : v->p.ef_search;
    if (ef < k) ef = k;
    size_t live = vindex_count(v);
    size_t n = vindex_nslots(v);
    int exact = o->exact || live < v->p.flat_below || v->p.no_graph ||
                __atomic_load_n(&v->ep_packed, __ATOMIC_ACQUIRE) == 0;
    if (!exact && f) {
        /* Cost model in units of one distance: a filtered scan pays a cheap attribute check
         * per slot plus a distance per match; a filtered graph search visits roughly
         * 30*ef/p nodes before it has collected ef matches. */
        double p = estimate_selectivity(v, f, n);
        double flat_cost = p * live + 0.02 * n;
        double graph_cost = p > 0 ? 30.0 * ef / p : INFINITY;
        if (flat_cost < graph_cost) exact = 1;
        else ef = (size_t)(ef / (p < 0.5 ? 0.5 : p));   /* widen the beam when many are skipped */
    }
    if (exact) {
        /* int8 collections scan codes and re-rank when the scan was our choice (a filter),
         * reading a quarter of the bytes; exact == 1 always means the fp32 ground truth. */
        int chosen = !o->exact && (live >= v->p.flat_below || v->p.no_graph);
        int mode = v->p.quant == VINDEX_QUANT_INT8 && (o->exact == 2 || chosen) ? 2 : 1;
        size_t rr = o->rerank ? o->rerank : (k * 8 > 64 ? k * 8 : 64);
        return (int)vflat_search(v, s, q, k, f, mode, rr, hits);
    }
    vquery_t gq = {q, NULL};
    if (v->p.quant == VINDEX_QUANT_INT8) {
        vquant_encode_query(v, q, s->qcode);
        gq.c = s->qcode;
    }
    if (vscratch_reserve(&s->top, &s->top_cap, ef + 1)) return -1;
    size_t nr = vhnsw_search(v, s, &gq, ef, f, s->top);
    vtab_t *t = vindex_tab(v);
    if (v->p.quant == VINDEX_QUANT_INT8) {
        size_t r = o->rerank ? o->rerank : (ef > 4 * k ? ef : 4 * k);
        if (r > nr) r = nr;
        for (size_t i = 0; i < r; i++)
            s->top[i].d = vindex_xdist(v, q, vindex_vec(v, t, s->top[i].id));
        qsort(s->top, r, sizeof *s->top, pair_cmp);
        nr = r;
    }
    if (nr > k) nr = k;
    for (size_t i = 0; i < nr; i++) {
        hits[i].id = vindex_meta(v, t, s->top[i].id)->id;
        hits[i].score = vindex_score(v, s->top[i].d);
    }
    vindex_sort_hits(v, hits, nr);
    return (int)nr;
}

int vindex_search(const vindex_t *v, const float *query, size_t k,
                  const vindex_search_opts_t *opts, vindex_hit_t *hits)
{
    if (!v || !query || (k && !hits)) return -1;
    if (k == 0) return 0;
    if (!vec_finite(query, v->dim)) return -1;
    vscratch_t *s = vscratch_get(v, vindex_nslots(v));
    if (!s) return -1;
    vindex_prepare_vec(v, query, s->qbuf);
    int n = search_prepared(v, s, s->qbuf, k, opts, hits);
    vscratch_put(v, s);
    return n;
}

typedef struct {
    const vindex_t *v;
    const float *qs;
    size_t nq, k, next;
    const vindex_search_opts_t *o;
    vindex_hit_t *hits;
    size_t *counts;
    int failed;
} sbatch_t;

static void *sbatch_worker(void *arg)
{
    sbatch_t *b = arg;
    for (;;) {
        size_t i = __atomic_fetch_add(&b->next, 1, __ATOMIC_RELAXED);
        if (i >= b->nq) break;
        int n = vindex_search(b->v, b->qs + i * b->v->dim, b->k, b->o, b->hits + i * b->k);
        if (n < 0) { __atomic_store_n(&b->failed, 1, __ATOMIC_RELAXED); n = 0; }
        b->counts[i] = (size_t)n;
    }
    return NULL;
}

int vindex_search_batch(const vindex_t *v, const float *queries, size_t nq, size_t k,
                        const vindex_search_opts_t *opts, int threads,
                        vindex_hit_t *hits, size_t *counts)
{
    if (!v || (nq && (!queries || !hits || !counts))) return -1;
    if (nq == 0 || k == 0) { for (size_t i = 0; i < nq; i++) counts[i] = 0; return 0; }
    for (size_t i = 0; i < nq; i++) if (!vec_finite(queries + i * v->dim, v->dim)) return -1;
    int exact = (opts && opts->exact == 1) || vindex_count(v) < v->p.flat_below || v->p.no_graph;
    if (exact && nq > 1) {
        float *qs = malloc(nq * v->dim * sizeof(float));
        if (!qs) return -1;
        for (size_t i = 0; i < nq; i++) vindex_prepare_vec(v, queries + i * v->dim, qs + i * v->dim);
        int rc = vflat_search_batch(v, qs, nq, k, opts ? opts->filter : NULL, hits, counts);
        free(qs);
        return rc;
    }
    sbatch_t b = {v, queries, nq, k, 0, opts, hits, counts, 0};
    if (threads < 1) threads = 1;
    if (threads > 64) threads = 64;
    pthread_t th[64];
    int started = 0;
    for (int i = 1; i < threads; i++)
        if (pthread_create(&th[started], NULL, sbatch_worker, &b) == 0) started++;
    sbatch_worker(&b);
    for (int i = 0; i < started; i++) pthread_join(th[i], NULL);
    return b.failed ? -1 : 0;
}

int vindex_next_live(const vindex_t *v, size_t *cursor, uint64_t *id, const float **vec,
                     vindex_attrs_t *attrs)
{
    size_t n = vindex_nslots(v);
    vtab_t *t = vindex_tab(v);
    for (size_t s = *cursor; s < n; s++) {
        const vmeta_t *mt = vindex_meta(v, t, (uint32_t)s);
        if (!vindex_slot_live(mt)) continue;
        *id = mt->id;
        *vec = vindex_vec(v, t, (uint32_t)s);
        if (attrs) *attrs = mt->attrs;
        *cursor = s + 1;
        return 1;
    }
    *cursor = n;
    return 0;
}

/* ---- rebuild from the store ---- */
vindex_t *vindex_rebuild(const vindex_params_t *p, vindex_source_fn next, void *ctx,
                         int threads, char *err, size_t errlen)
{
    if (!next) { vindex_set_err(err, errlen, "no source"); return NULL; }
    vindex_t *v = vindex_create(p, err, errlen);
    if (!v) return NULL;
    /* Collect in batches so int8 training sees a representative sample and two threads can
     * link in parallel. */
    size_t cap = 4096, n = 0;
    uint64_t *ids = malloc(cap * sizeof *ids);
    float *vecs = malloc(cap * v->dim * sizeof(float));
    vindex_attrs_t *attrs = malloc(cap * sizeof *attrs);
    int rc = (ids && vecs && attrs) ? 0 : -1;
    if (rc) vindex_set_err(err, errlen, "out of memory");
    while (!rc) {
        uint64_t id;
        const float *x = NULL;
        vindex_attrs_t a = {0};
        int r = next(ctx, &id, &x, &a);
        if (r < 0) { vindex_set_err(err, errlen, "source failed"); rc = -1; break; }
        if (r > 0) {
            if (!x) { vindex_set_err(err, errlen, "source gave no vector"); rc = -1; break; }
            ids[n] = id;
            memcpy(vecs + n * v->dim, x, v->dim * sizeof(float));
            attrs[n++] = a;
        }
        if (n == cap || (r == 0 && n)) {
            rc = vindex_upsert_batch(v, ids, vecs, attrs, n, threads, err, errlen);
            n = 0;
        }
        if (r == 0) break;
    }
    free(ids); free(vecs); free(attrs);
    if (rc) { vindex_free(v); return NULL; }
    /* nobody else holds the new collection yet: lay it out for locality (vindex_reorder); it
     * fails only for lack of memory before touching anything, and the index is usable as is */
    (void)vindex_reorder(v, NULL, 0);
    return v;
}
