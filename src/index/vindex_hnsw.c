/* vindex_hnsw.c — the HNSW graph (Malkov & Yashunin): insertion and layer search.
 *
 * Concurrency model: a node's data (code, meta, upper-link arrays) is written before the node
 * is linked from anywhere, and every link is stored with release semantics; readers load
 * links with acquire semantics and never lock. Writers modify a node's neighbour list under
 * that node's stripe lock, writing the ids first and the count last, so a reader sees either
 * the old or the new list, or a mix whose every entry is a valid, fully written node.
 * A search only follows slots below the slot count it read at its start (newer nodes may be
 * linked already but are outside its visited array).
 *
 * Speed: the level-0 loop first collects a node's unvisited neighbours, then prefetches each
 * neighbour's record (links + code) a few neighbours ahead of the distance being computed, so
 * memory latency overlaps with arithmetic; visited marks are 16-bit epoch tags (no clearing
 * per query); heaps are flat arrays in per-thread scratch. */
#include "index/vindex_impl.h"
#include <immintrin.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static inline uint32_t ld(const uint32_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static inline void st(uint32_t *p, uint32_t x) { __atomic_store_n(p, x, __ATOMIC_RELEASE); }

static inline uint32_t *links_at(const vindex_t *v, const vtab_t *t, uint32_t s, int level)
{
    return level == 0 ? vindex_links0(v, t, s) : vindex_links_up(v, t, s, level);
}

/* How many neighbours ahead of the distance being computed their records are prefetched
 * (whole record: links + code). Measured at 100k x 512 fp32, ef 24, one thread, on the shared
 * 2-core bench machine: 4 ahead gave the best median QPS (8.5k vs 8.3k for 2 ahead and for
 * first-line-only prefetching); re-measured as CPU-time ratios to hnswlib over 6 interleaved
 * rounds: 4, 8, 12 and 16 ahead, and prefetching into L2 instead of L1, all within noise
 * (1.13-1.22x), see bench/results/index.md. -DPF_AHEAD=n overrides it for such runs, and
 * -DPF_LINES=n limits the prefetch to a record's first n cache lines. */
#ifndef PF_AHEAD
#define PF_AHEAD 4
#endif

static inline void prefetch_record(const vindex_t *v, const vtab_t *t, uint32_t s)
{
    const char *p = vindex_node(v, t, s);
    size_t end = v->code_off + v->code_bytes;
#ifdef PF_LINES
    if (end > (size_t)PF_LINES * 64) end = (size_t)PF_LINES * 64;
#endif
    for (size_t o = 0; o < end; o += 64) _mm_prefetch(p + o, _MM_HINT_T0);
}

static inline float node_dist(const vindex_t *v, const vtab_t *t, const vquery_t *q, uint32_t s)
{
    return vindex_gdist(v, q, vindex_code(v, t, s));
}

/* Greedy walk at one upper level from *cur; updates *cur and *curd. */
static void greedy_level(const vindex_t *v, const vtab_t *t, const vquery_t *q, int level,
                         size_t nlimit, uint32_t *cur, float *curd)
{
    int changed = 1;
    uint32_t nb[128];
    while (changed) {
        changed = 0;
        uint32_t *ll = links_at(v, t, *cur, level);
        uint32_t cnt = ld(ll), k = 0;
        if (cnt > v->m) cnt = v->m;
        for (uint32_t i = 0; i < cnt; i++) {
            uint32_t n = ld(ll + 1 + i);
            if (n < nlimit) nb[k++] = n;
        }
        /* same prefetch pipeline as level 0: these hops are a chain of cache misses too */
        for (uint32_t j = 0; j < k && j < PF_AHEAD; j++) prefetch_record(v, t, nb[j]);
        for (uint32_t j = 0; j < k; j++) {
            if (j + PF_AHEAD < k) prefetch_record(v, t, nb[j + PF_AHEAD]);
            float d = node_dist(v, t, q, nb[j]);
            if (d < *curd) { *curd = d; *cur = nb[j]; changed = 1; }
        }
    }
}

static inline int accepted(const vindex_t *v, const vtab_t *t, uint32_t n, const vindex_filter_t *f)
{
    if (__atomic_load_n(vindex_node_state(v, t, n), __ATOMIC_RELAXED) != SLOT_LIVE) return 0;
    if (!f) return 1;
    const vmeta_t *mt = vindex_meta(v, t, n);
    return vindex_filter_match(f, mt->id, &mt->attrs);
}

/* Distance kinds, so the hot loop is compiled once per kind with no branches on it. */
enum { GD_F32_IP, GD_F32_L2, GD_I8_IP, GD_I8_L2 };

static inline __attribute__((always_inline)) float gdist_k(const vindex_t *v, const vquery_t *q,
                                                            const void *code, int kind)
{
    switch (kind) {
    case GD_F32_IP: return -v->k->dot_f32(q->f, (const float *)code, v->dim);
    case GD_F32_L2: return v->k->l2_f32(q->f, (const float *)code, v->dim);
    case GD_I8_IP: return -(float)v->k->dot_i8(q->c, (const int8_t *)code, v->dim);
    default: return (float)v->k->l2_i8(q->c, (const int8_t *)code, v->dim);
    }
}

/* Best-first search of one level from `entry`, keeping up to ef accepted nodes in s->res
 * (a max-heap; returns its size). accept: 0 = every node (insertion), 1 = live nodes that
 * pass the filter (queries). */
static inline __attribute__((always_inline)) size_t
search_layer_k(const vindex_t *v, const vtab_t *t, vscratch_t *s, const vquery_t *q,
               uint32_t entry, int level, size_t ef, int accept, const vindex_filter_t *f,
               size_t nlimit, int kind)
{
    if (vscratch_reserve(&s->res, &s->res_cap, ef + 2) ||
        vscratch_reserve(&s->cand, &s->cand_cap, 64)) return 0;
    uint16_t ep = ++s->epoch;
    if (ep == 0) { memset(s->tags, 0, s->tags_cap * sizeof *s->tags); ep = s->epoch = 1; }
    uint16_t *tags = s->tags;
    size_t nc = 0, nr = 0;
    uint32_t maxc = level == 0 ? v->m0 : v->m;
    uint32_t nb[256];

    float d0 = gdist_k(v, q, vindex_code(v, t, entry), kind);
    float lower = INFINITY;
    if (!accept || accepted(v, t, entry, f)) {
        s->res[nr++] = (vpair_t){d0, entry};
        lower = d0;
    }
    s->cand[nc++] = (vpair_t){d0, entry};
    tags[entry] = ep;

    while (nc > 0) {
        vpair_t c = s->cand[0];
        if (c.d > lower && nr >= ef) break;
        vheap_min_pop(s->cand, &nc);
        uint32_t *ll = links_at(v, t, c.id, level);
        uint32_t cnt = ld(ll);
        if (cnt > maxc) cnt = maxc;
        uint32_t k = 0;
        for (uint32_t i = 0; i < cnt; i++) {
            uint32_t n = ld(ll + 1 + i);
            if (n >= nlimit || tags[n] == ep) continue;
            tags[n] = ep;
            nb[k++] = n;
        }
        for (uint32_t j = 0; j < k && j < PF_AHEAD; j++) prefetch_record(v, t, nb[j]);
        for (uint32_t j = 0; j < k; j++) {
            if (j + PF_AHEAD < k) prefetch_record(v, t, nb[j + PF_AHEAD]);
            uint32_t n = nb[j];
            float d = gdist_k(v, q, vindex_code(v, t, n), kind);
            if (nr < ef || d < lower) {
                if (nc + 1 > s->cand_cap && vscratch_reserve(&s->cand, &s->cand_cap, nc + 1)) return nr;
                vheap_min_push(s->cand, &nc, (vpair_t){d, n});
                if (!accept || accepted(v, t, n, f)) {
                    vheap_max_push(s->res, &nr, (vpair_t){d, n});
                    if (nr > ef) vheap_max_pop(s->res, &nr);
                    lower = s->res[0].d;
                }
            }
        }
    }
    return nr;
}

static size_t search_layer(const vindex_t *v, const vtab_t *t, vscratch_t *s, const vquery_t *q,
                           uint32_t entry, int level, size_t ef, int accept,
                           const vindex_filter_t *f, size_t nlimit)
{
    int l2 = v->p.metric == VINDEX_L2;
    if (v->p.quant == VINDEX_QUANT_INT8)
        return l2 ? search_layer_k(v, t, s, q, entry, level, ef, accept, f, nlimit, GD_I8_L2)
                  : search_layer_k(v, t, s, q, entry, level, ef, accept, f, nlimit, GD_I8_IP);
    return l2 ? search_layer_k(v, t, s, q, entry, level, ef, accept, f, nlimit, GD_F32_L2)
              : search_layer_k(v, t, s, q, entry, level, ef, accept, f, nlimit, GD_F32_IP);
}

/* Pops the max-heap s->res (n entries) into out[] closest first. */
static void drain_sorted(vscratch_t *s, size_t n, vpair_t *out)
{
    size_t i = n;
    while (n > 0) {
        out[--i] = s->res[0];
        vheap_max_pop(s->res, &n);
    }
}

/* The neighbour-selection heuristic: keep a candidate only if it is closer to the base than
 * to every neighbour kept so far (spreads links across directions; keeps clusters connected).
 * cands are sorted closest first; returns how many were kept (in place, at the front). */
static size_t select_heuristic(const vindex_t *v, const vtab_t *t, vpair_t *cands, size_t n,
                               size_t max)
{
    if (n <= max) return n;
    size_t kept = 0;
    for (size_t i = 0; i < n && kept < max; i++) {
        vquery_t cq = {(const float *)vindex_code(v, t, cands[i].id),
                       (const int8_t *)vindex_code(v, t, cands[i].id)};
        int good = 1;
        for (size_t j = 0; j < kept; j++) {
            if (node_dist(v, t, &cq, cands[j].id) < cands[i].d) { good = 0; break; }
        }
        if (good) cands[kept++] = cands[i];
    }
    return kept;
}

static pthread_mutex_t *stripe(vindex_t *v, uint32_t s)
{
    return &v->node_locks[s & (VINDEX_LOCK_STRIPES - 1)];
}

/* Adds `slot` to neighbour n's list at `level`, pruning with the heuristic when full. */
static void link_back(vindex_t *v, const vtab_t *t0, uint32_t n, uint32_t slot, int level,
                      vpair_t *tmp)
{
    uint32_t maxc = level == 0 ? v->m0 : v->m;
    pthread_mutex_lock(stripe(v, n));
    /* n's list may hold nodes linked after our caller took its table snapshot; their slots
     * were published before they were linked (and the lock orders us after that), so a
     * fresh count-then-table read covers them. */
    (void)t0;
    (void)vindex_nslots(v);
    const vtab_t *t = vindex_tab(v);
    uint32_t *ll = links_at(v, t, n, level);
    uint32_t cnt = ld(ll);
    int present = 0;
    for (uint32_t i = 0; i < cnt; i++) if (ld(ll + 1 + i) == slot) present = 1;
    if (!present) {
        if (cnt < maxc) {
            st(ll + 1 + cnt, slot);
            st(ll, cnt + 1);
        } else {
            vquery_t nq = {(const float *)vindex_code(v, t, n), (const int8_t *)vindex_code(v, t, n)};
            size_t k = 0;
            tmp[k++] = (vpair_t){node_dist(v, t, &nq, slot), slot};
            for (uint32_t i = 0; i < cnt; i++) {
                uint32_t o = ld(ll + 1 + i);
                tmp[k++] = (vpair_t){node_dist(v, t, &nq, o), o};
            }
            /* insertion sort: k <= 2m+1 */
            for (size_t i = 1; i < k; i++) {
                vpair_t x = tmp[i]; size_t j = i;
                while (j > 0 && vpair_less(x, tmp[j - 1])) { tmp[j] = tmp[j - 1]; j--; }
                tmp[j] = x;
            }
            size_t kept = select_heuristic(v, t, tmp, k, maxc);
            for (size_t i = 0; i < kept; i++) st(ll + 1 + i, tmp[i].id);
            st(ll, (uint32_t)kept);
        }
    }
    pthread_mutex_unlock(stripe(v, n));
}

/* Writes a new node's list at `level` from its selected neighbours w[0..kept) (sorted by
 * distance). A concurrent writer may already have found the node (through a level above, or
 * through a neighbour linked at this level) and added itself to this very list with
 * link_back; overwriting would drop that back-link, and a node whose in-links are all lost
 * can no longer be reached by any search. So entries already present are merged with the
 * selection and the union pruned with the same heuristic, all under the node's lock. */
static void set_own_links(vindex_t *v, uint32_t slot, int level, const vpair_t *w, size_t kept)
{
    uint32_t maxc = level == 0 ? v->m0 : v->m;
    vpair_t u[3 * 128 + 1];
    pthread_mutex_lock(stripe(v, slot));
    /* entries added by others may be newer than the caller's table snapshot (see link_back) */
    (void)vindex_nslots(v);
    const vtab_t *t = vindex_tab(v);
    uint32_t *ll = links_at(v, t, slot, level);
    uint32_t cnt = ld(ll);
    size_t k = 0;
    for (size_t i = 0; i < kept; i++) u[k++] = w[i];
    if (cnt) {
        vquery_t sq = {(const float *)vindex_code(v, t, slot), (const int8_t *)vindex_code(v, t, slot)};
        for (uint32_t i = 0; i < cnt; i++) {
            uint32_t o = ld(ll + 1 + i);
            int dup = 0;
            for (size_t j = 0; j < kept; j++) if (w[j].id == o) { dup = 1; break; }
            if (!dup) u[k++] = (vpair_t){node_dist(v, t, &sq, o), o};
        }
        for (size_t i = 1; i < k; i++) {   /* insertion sort: k <= m + 2m */
            vpair_t x = u[i]; size_t j = i;
            while (j > 0 && vpair_less(x, u[j - 1])) { u[j] = u[j - 1]; j--; }
            u[j] = x;
        }
        k = select_heuristic(v, t, u, k, maxc);
    }
    for (size_t i = 0; i < k; i++) st(ll + 1 + i, u[i].id);
    st(ll, (uint32_t)k);
    pthread_mutex_unlock(stripe(v, slot));
}

void vhnsw_insert(vindex_t *v, uint32_t slot, int level)
{
    size_t nlimit = vindex_nslots(v);   /* before the table: the table covers it */
    vtab_t *t = vindex_tab(v);
    const void *code = vindex_code(v, t, slot);
    vquery_t q = {(const float *)code, (const int8_t *)code};

    pthread_mutex_lock(&v->ep_lock);
    uint64_t epk = __atomic_load_n(&v->ep_packed, __ATOMIC_ACQUIRE);
    int maxl = (int)(epk >> 32) - 1;
    int held = 1;
    if (epk == 0) {
        __atomic_store_n(&v->ep_packed, ((uint64_t)(level + 1) << 32) | slot, __ATOMIC_RELEASE);
        pthread_mutex_unlock(&v->ep_lock);
        return;
    }
    if (level <= maxl) { pthread_mutex_unlock(&v->ep_lock); held = 0; }

    uint32_t cur = (uint32_t)epk;
    float curd = node_dist(v, t, &q, cur);
    for (int lc = maxl; lc > level; lc--) greedy_level(v, t, &q, lc, nlimit, &cur, &curd);

    vscratch_t *s = vscratch_get(v, nlimit);
    size_t ef = v->p.ef_construction;
    vpair_t *w = malloc((ef + 2 * v->m0 + 2) * sizeof *w);
    if (!s || !w) {
        /* Out of memory: the node stays stored (exact search finds it) but unlinked. */
        free(w);
        if (s) vscratch_put(v, s);
        if (held) pthread_mutex_unlock(&v->ep_lock);
        return;
    }
    for (int lc = level < maxl ? level : maxl; lc >= 0; lc--) {
        size_t nr = search_layer(v, t, s, &q, cur, lc, ef, 0, NULL, nlimit);
        /* drop self (can happen when a concurrent writer already linked us) */
        drain_sorted(s, nr, w);
        size_t nw = 0;
        for (size_t i = 0; i < nr; i++) if (w[i].id != slot) w[nw++] = w[i];
        if (nw == 0) continue;
        cur = w[0].id;
        size_t kept = select_heuristic(v, t, w, nw, v->m);
        set_own_links(v, slot, lc, w, kept);
        uint32_t sel[128];
        for (size_t i = 0; i < kept; i++) sel[i] = w[i].id;
        for (size_t i = 0; i < kept; i++) link_back(v, t, sel[i], slot, lc, w);
    }
    free(w);
    vscratch_put(v, s);
    if (held) {
        if (level > maxl)
            __atomic_store_n(&v->ep_packed, ((uint64_t)(level + 1) << 32) | slot, __ATOMIC_RELEASE);
        pthread_mutex_unlock(&v->ep_lock);
    }
}

size_t vhnsw_search(const vindex_t *v, vscratch_t *s, const vquery_t *q, size_t ef,
                    const vindex_filter_t *f, vpair_t *out)
{
    uint64_t epk = __atomic_load_n(&v->ep_packed, __ATOMIC_ACQUIRE);
    if (epk == 0) return 0;
    size_t nlimit = vindex_nslots(v);
    vtab_t *t = vindex_tab(v);
    if (vscratch_tags(s, nlimit)) return 0;
    int maxl = (int)(epk >> 32) - 1;
    uint32_t cur = (uint32_t)epk;
    float curd = node_dist(v, t, q, cur);
    for (int lc = maxl; lc > 0; lc--) greedy_level(v, t, q, lc, nlimit, &cur, &curd);
    size_t nr = search_layer(v, t, s, q, cur, 0, ef, 1, f, nlimit);
    drain_sorted(s, nr, out);
    return nr;
}
