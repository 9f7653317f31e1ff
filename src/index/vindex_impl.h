/* vindex_impl.h — internals shared by the vindex_*.c files (not a public interface).
 *
 * Storage is slot-based: every inserted vector gets the next slot number (uint32), never
 * reused; replaced or deleted vectors keep their slot marked dead until a rebuild. Per-slot
 * data lives in fixed-size chunks reached through a chunk table, so growing never moves
 * existing data (concurrent readers keep valid pointers); a grown table is published
 * atomically and the old one is kept until vindex_free.
 *
 * Level-0 node record (stride bytes, one per slot), the hot data of a graph search:
 *     uint32 state | uint32 count | uint32 links[m0] | pad to 32 | code (fp32 or int8)
 * so the neighbour list and the vector sit in one contiguous run of cache lines.
 * Cold per-slot data: meta (id, attrs, state), the fp32 vector when the code is int8
 * (re-ranking, get, save), and upper-level links (only for the ~1/m slots above level 0). */
#ifndef RODEO_INDEX_VINDEX_IMPL_H
#define RODEO_INDEX_VINDEX_IMPL_H
#include "index/vindex.h"
#include "index/vdist.h"
#include <pthread.h>
#include <stdarg.h>

enum { SLOT_LIVE = 1, SLOT_DEAD = 2 };

typedef struct {
    uint64_t id;
    vindex_attrs_t attrs;
    uint32_t state;   /* SLOT_LIVE / SLOT_DEAD, atomic */
    int32_t level;    /* top graph level of this slot */
} vmeta_t;

typedef struct vtab {
    size_t cap;             /* chunks */
    char **nodes;           /* level-0 records */
    vmeta_t **meta;
    float **vec;            /* fp32 vectors when quantised, else NULL */
    uint32_t ***up;         /* per slot: upper links, level*(1+m) uint32, or NULL */
    vindex_attrs_t **fattr; /* dense copy of the attrs (16 B/slot, always heap): filtered
                               scans read 2x fewer bytes than through meta */
    struct vtab *retired;   /* previous, smaller table (kept for readers) */
} vtab_t;

typedef struct { float d; uint32_t id; } vpair_t;

/* Scratch for one search: visited tags with epochs and two heaps. */
typedef struct vscratch {
    uint16_t *tags; size_t tags_cap; uint16_t epoch;
    vpair_t *cand; size_t cand_cap;
    vpair_t *res; size_t res_cap;
    vpair_t *top; size_t top_cap;
    int8_t *qcode; float *qbuf;
    struct vscratch *next;
} vscratch_t;

typedef struct { uint64_t key; uint32_t slot; uint32_t used; } vidslot_t;

/* int8 grid: code = clamp(round((x - off) / scale)); off is zero for IP/COSINE. */
typedef struct vqgrid {
    float scale;
    struct vqgrid *retired;
    float off[];
} vqgrid_t;

#define VINDEX_LOCK_STRIPES 1024

struct vindex {
    vindex_params_t p;
    const vdist_kernels_t *k;
    uint32_t dim, m, m0;
    double level_mult;
    size_t code_bytes, code_off, stride;
    uint32_t chunk_shift;
    size_t chunk_mask;

    vtab_t *tab;                 /* atomic pointer */
    size_t n_slots;              /* atomic: slots handed out */
    size_t n_live, n_dead;       /* under wlock */
    uint64_t ep_packed;          /* atomic: (top level + 1) << 32 | entry slot; 0 when empty,
                                    one word so readers never pair a level with the wrong node */
    pthread_mutex_t wlock;       /* slot allocation, id map, counters, rng, table growth */
    pthread_mutex_t ep_lock;     /* held by an insert that raises the top level */
    pthread_mutex_t node_locks[VINDEX_LOCK_STRIPES];

    vidslot_t *ids; size_t ids_cap, ids_used;  /* id -> slot, open addressing, under wlock */
    uint64_t rng;

    /* int8 quantiser (vindex_quant.c): the current grid (atomic pointer, NULL until trained;
     * replaced grids stay on its retired list until vindex_free), how many vectors it was
     * trained on and how many inserted since fell well outside it (both under wlock) */
    struct vqgrid *q;
    size_t q_train_n, q_out, q_retrains;

    pthread_mutex_t scratch_lock;
    vscratch_t *scratch_free;

    /* snapshot mapping (vfile.c); chunks inside it are not freed */
    void *map; size_t map_len;

    /* spill file for the fp32 vectors of int8 collections (vindex_spill.c): chunk c of
     * t->vec is spill_maps[c] when it was mapped from there */
    int spill_fd, spill_failed;
    void **spill_maps; size_t spill_cap, spill_len;

    /* append log (vlog.c) */
    int log_fd; int log_sync;
    pthread_mutex_t log_lock;
};

void vindex_set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static inline vtab_t *vindex_tab(const vindex_t *v)
{
    return __atomic_load_n(&((vindex_t *)v)->tab, __ATOMIC_ACQUIRE);
}
static inline char *vindex_node(const vindex_t *v, const vtab_t *t, uint32_t s)
{
    return t->nodes[s >> v->chunk_shift] + (size_t)(s & v->chunk_mask) * v->stride;
}
static inline vmeta_t *vindex_meta(const vindex_t *v, const vtab_t *t, uint32_t s)
{
    return &t->meta[s >> v->chunk_shift][s & v->chunk_mask];
}
/* Word 0 of a record mirrors the slot's state (so a graph search checks liveness on a line
 * it already fetched); then the level-0 list: count, links. */
static inline uint32_t *vindex_node_state(const vindex_t *v, const vtab_t *t, uint32_t s)
{
    return (uint32_t *)vindex_node(v, t, s);
}
static inline uint32_t *vindex_links0(const vindex_t *v, const vtab_t *t, uint32_t s)
{
    return (uint32_t *)vindex_node(v, t, s) + 1;
}
static inline void vindex_set_state(const vindex_t *v, const vtab_t *t, uint32_t s, uint32_t st)
{
    __atomic_store_n(vindex_node_state(v, t, s), st, __ATOMIC_RELAXED);
    __atomic_store_n(&vindex_meta(v, t, s)->state, st, __ATOMIC_RELAXED);
}
static inline const void *vindex_code(const vindex_t *v, const vtab_t *t, uint32_t s)
{
    return vindex_node(v, t, s) + v->code_off;
}
/* The exact fp32 vector of a slot (in the node when not quantised). */
static inline const float *vindex_vec(const vindex_t *v, const vtab_t *t, uint32_t s)
{
    if (v->p.quant == VINDEX_QUANT_INT8)
        return t->vec[s >> v->chunk_shift] + (size_t)(s & v->chunk_mask) * v->dim;
    return (const float *)vindex_code(v, t, s);
}
static inline uint32_t *vindex_links_up(const vindex_t *v, const vtab_t *t, uint32_t s, int level)
{
    uint32_t *u = t->up[s >> v->chunk_shift][s & v->chunk_mask];
    return u + (size_t)(level - 1) * (v->m + 1);
}
static inline size_t vindex_nslots(const vindex_t *v)
{
    return __atomic_load_n(&v->n_slots, __ATOMIC_ACQUIRE);
}
/* The filter tests are inline: low-selectivity filters are answered by scanning every slot,
 * and a function call per slot was most of that scan's cost.
 * The filter without its predicate (no id needed), for the dense attribute scan. */
static inline int vfilter_match_attrs(const vindex_filter_t *f, const vindex_attrs_t *a)
{
    if (f->n_categories) {
        size_t i = 0;
        while (i < f->n_categories && f->categories[i] != a->category) i++;
        if (i == f->n_categories) return 0;
    }
    if (f->n_brands) {
        size_t i = 0;
        while (i < f->n_brands && f->brands[i] != a->brand) i++;
        if (i == f->n_brands) return 0;
    }
    if (f->has_price && !(a->price >= f->price_min && a->price <= f->price_max)) return 0;
    if ((a->flags & f->flags_all) != f->flags_all) return 0;
    if (a->flags & f->flags_none) return 0;
    return 1;
}

/* The whole filter: attributes first (cheap), then the caller's predicate, which needs the id. */
static inline int vfilter_match(const vindex_filter_t *f, uint64_t id, const vindex_attrs_t *a)
{
    if (!f) return 1;
    if (!vfilter_match_attrs(f, a)) return 0;
    return !f->pred || f->pred(id, a, f->pred_ctx);
}

static inline int vindex_slot_live(const vmeta_t *mt)
{
    return __atomic_load_n(&mt->state, __ATOMIC_RELAXED) == SLOT_LIVE;
}

/* Query representation for graph distances: fp32 (prepared copy) or int8 code. */
typedef struct {
    const float *f;
    const int8_t *c;
} vquery_t;

/* Distance used inside the graph (smaller is closer). */
static inline float vindex_gdist(const vindex_t *v, const vquery_t *q, const void *code)
{
    if (v->p.quant == VINDEX_QUANT_INT8) {
        if (v->p.metric == VINDEX_L2) return (float)v->k->l2_i8(q->c, (const int8_t *)code, v->dim);
        return -(float)v->k->dot_i8(q->c, (const int8_t *)code, v->dim);
    }
    if (v->p.metric == VINDEX_L2) return v->k->l2_f32(q->f, (const float *)code, v->dim);
    return -v->k->dot_f32(q->f, (const float *)code, v->dim);
}
/* Exact fp32 distance (smaller is closer) and its conversion to a public score. */
static inline float vindex_xdist(const vindex_t *v, const float *q, const float *x)
{
    if (v->p.metric == VINDEX_L2) return v->k->l2_f32(q, x, v->dim);
    return -v->k->dot_f32(q, x, v->dim);
}
static inline float vindex_score(const vindex_t *v, float d)
{
    return v->p.metric == VINDEX_L2 ? d : -d;
}

/* vindex_quant.c */
const vqgrid_t *vquant_grid(const vindex_t *v);
/* Publishes a new grid (caller holds wlock or is single-threaded); -1 when out of memory. */
int  vquant_install(vindex_t *v, float scale, const float *off);
void vquant_free(vindex_t *v);
/* Trains a grid on n vectors and installs it (caller holds wlock). */
int  vquant_train(vindex_t *v, const float *x, size_t n);
/* Encodes on the current grid; returns 1 when x lies well outside it (drift). */
int  vquant_encode(const vindex_t *v, const float *x, int8_t *code);
/* Query code: same grid as the data for L2, own scale for IP/COSINE. */
void vquant_encode_query(const vindex_t *v, const float *q, int8_t *code);
/* Should the grid be retrained (see vindex_quant.c)? Caller holds wlock. */
int  vquant_needs_retrain(const vindex_t *v);
/* Takes wlock; when still needed, retrains on a sample spread over all stored vectors and
 * re-encodes every code. 0 on success or when not needed. */
int  vquant_retrain(vindex_t *v);

/* vindex_spill.c: file-backed chunks for the fp32 vectors of int8 collections. */
size_t vspill_chunk_bytes(const vindex_t *v);
/* A chunk for t->vec[c]: mapped from the spill file, or heap when no file can be made;
 * NULL when out of memory. Caller holds wlock (or is single-threaded). */
float *vspill_chunk(vindex_t *v, size_t c);
int    vspill_is(const vindex_t *v, size_t c, const void *p);
/* Unmaps chunk c's vector pages from this process when they are file-backed (the data stays
 * in the file or page cache and faults back on the next read); heap chunks are left alone. */
void   vspill_drop(const vindex_t *v, size_t c);
void   vspill_close(vindex_t *v);

/* vindex_hnsw.c */
void vhnsw_insert(vindex_t *v, uint32_t slot, int level);
/* Graph search: up to ef candidates that are live and pass the filter, closest first,
 * with graph distances; returns how many. */
size_t vhnsw_search(const vindex_t *v, vscratch_t *s, const vquery_t *q, size_t ef,
                    const vindex_filter_t *f, vpair_t *out);

/* vindex_flat.c */
/* mode 1: exact fp32 scan; mode 2 (int8 collections): scan the int8 codes, re-rank the best
 * `rerank` in fp32. */
size_t vflat_search(const vindex_t *v, vscratch_t *s, const float *q, size_t k,
                    const vindex_filter_t *f, int mode, size_t rerank, vindex_hit_t *hits);
int vflat_search_batch(const vindex_t *v, const float *qs, size_t nq, size_t k,
                       const vindex_filter_t *f, vindex_hit_t *hits, size_t *counts);

/* vindex_sum.c: 64-bit checksum of index files (XXH3-style 8-lane accumulate, AVX2 when
 * available, identical portable result), streaming. */
typedef struct { uint64_t acc[8]; uint8_t buf[64]; size_t nbuf; uint64_t total, nblocks; } vsum_t;
void     vsum_init(vsum_t *s);
void     vsum_update(vsum_t *s, const void *data, size_t len);
uint64_t vsum_final(const vsum_t *s);
uint64_t vsum(const void *data, size_t len);
uint64_t vsum_portable(const void *data, size_t len);

/* vindex_log.c: append one mutation to the attached log (no-op without one). */
int vlog_append_upsert(vindex_t *v, uint64_t id, const float *x, const vindex_attrs_t *a);
int vlog_append_delete(vindex_t *v, uint64_t id);
void vlog_close(vindex_t *v);
int  vlog_truncate(vindex_t *v);

/* vindex.c helpers used by the others */
int  vindex_insert_prepared(vindex_t *v, uint64_t id, const float *x, const vindex_attrs_t *a,
                            int do_log);
int  vindex_delete_internal(vindex_t *v, uint64_t id, int do_log);
void vindex_sort_hits(const vindex_t *v, vindex_hit_t *hits, size_t n);
vscratch_t *vscratch_get(const vindex_t *v, size_t nslots);
void vscratch_put(const vindex_t *v, vscratch_t *s);
int  vscratch_reserve(vpair_t **arr, size_t *cap, size_t need);
/* Visited tags for at least nslots slots (the collection may have grown since _get). */
int  vscratch_tags(vscratch_t *s, size_t nslots);
void vindex_prepare_vec(const vindex_t *v, const float *in, float *out);
int  vindex_grow_to(vindex_t *v, size_t nslots);  /* under wlock */
void vindex_idmap_put(vindex_t *v, uint64_t id, uint32_t slot);
long vindex_idmap_get(const vindex_t *v, uint64_t id);
int  vindex_filter_slot(const vindex_t *v, const vmeta_t *mt, const vindex_filter_t *f);
vindex_t *vindex_alloc(const vindex_params_t *p, char *err, size_t errlen);

/* Bounded max-heap / min-heap on vpair_t (by d, then id). */
static inline int vpair_less(vpair_t a, vpair_t b) { return a.d < b.d || (a.d == b.d && a.id < b.id); }
static inline void vheap_max_push(vpair_t *h, size_t *n, vpair_t x)
{
    size_t i = (*n)++;
    while (i > 0) {
        size_t p = (i - 1) >> 1;
        if (!vpair_less(h[p], x)) break;
        h[i] = h[p]; i = p;
    }
    h[i] = x;
}
static inline void vheap_max_pop(vpair_t *h, size_t *n)
{
    vpair_t x = h[--(*n)];
    size_t i = 0, c;
    while ((c = 2 * i + 1) < *n) {
        if (c + 1 < *n && vpair_less(h[c], h[c + 1])) c++;
        if (!vpair_less(x, h[c])) break;
        h[i] = h[c]; i = c;
    }
    h[i] = x;
}
static inline void vheap_min_push(vpair_t *h, size_t *n, vpair_t x)
{
    size_t i = (*n)++;
    while (i > 0) {
        size_t p = (i - 1) >> 1;
        if (!vpair_less(x, h[p])) break;
        h[i] = h[p]; i = p;
    }
    h[i] = x;
}
static inline void vheap_min_pop(vpair_t *h, size_t *n)
{
    vpair_t x = h[--(*n)];
    size_t i = 0, c;
    while ((c = 2 * i + 1) < *n) {
        if (c + 1 < *n && vpair_less(h[c + 1], h[c])) c++;
        if (!vpair_less(h[c], x)) break;
        h[i] = h[c]; i = c;
    }
    h[i] = x;
}
#endif
