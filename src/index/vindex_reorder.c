/* vindex_reorder.c — renumbers a collection's slots so that graph neighbours sit close in memory.
 *
 * Why: slots are handed out in insertion order, so the neighbours of a node are scattered over
 * the whole collection, and a graph search touches a new page (and a new line of the visited
 * tags) for almost every distance it computes. At 1M x 512 the search is bound by memory
 * latency, and laying the nodes out in the order below made it 1.27-1.37x faster at ef 64-192
 * (CPU time, same snapshot before and after, see bench/results/index.md, round 3); at 100k
 * (the whole index in ~110 2 MiB pages) it changed little.
 *
 * The order (hier_order) uses the HNSW levels as a ready-made hierarchical clustering. Also
 * measured at 1M, and dropped: a plain BFS from the entry point over the level-0 links (its
 * frontier grows ~30x per hop, so neighbours still land thousands of slots apart: 1.20-1.23x
 * over insertion order), and one flat partition around the level-2 nodes (1.27-1.30x; 3-5 %
 * slower than the hierarchical order in 9 of 9 paired runs).
 *
 * This is a pure permutation: every record, meta entry, filter attribute copy, fp32 vector and
 * upper-link array moves to its new slot, every link and the entry point are renamed, and the
 * id map points at the new slots; external ids, scores and fp32 search results do not change
 * (int8 graph distances are integers and ties between them go by slot number, so an int8
 * search may keep the other one of two tied candidates: ~1 % of hits in the tests). Done
 * in place (cycle-following), so it needs 16 bytes per slot of scratch, not a second copy of
 * the index. A snapshot saved afterwards stores the new order; the file format is unchanged
 * (it never promised an order). */
#include "index/vindex_impl.h"
#include <stdlib.h>
#include <string.h>

/* Hierarchical order: the HNSW levels themselves as a hierarchical clustering. Going down from
 * the top, the nodes of level l join the level-(l+1) node they are fewest level-l hops from
 * (multi-source BFS, sources in their already fixed order) and are laid out group by group,
 * each group in discovery order. At level 0 the groups are ~m-node clusters around level-1
 * nodes, inside ~m^2-node clusters around level-2 nodes, and so on: neighbours land on the
 * same or nearby pages at every scale. order[new] = old, pos[old] = new; lab and q are n-word
 * scratch. */
static void hier_order(const vindex_t *v, const vtab_t *t, size_t n, uint32_t entry, int top,
                       uint32_t *order, uint32_t *pos, uint32_t *lab, uint32_t *q)
{
    size_t k = 1;            /* order[0..k): the nodes of level >= l+1, in their final order */
    order[0] = entry;
    for (int l = top; l >= 0; l--) {
        uint32_t maxc = l == 0 ? v->m0 : v->m;
        for (size_t s = 0; s < n; s++) lab[s] = UINT32_MAX;
        size_t head = 0, tail = 0, scan = 0;
        for (size_t i = 0; i < k; i++) { lab[order[i]] = (uint32_t)i; q[tail++] = order[i]; }
        for (;;) {
            if (head == tail) {
                /* nodes of this level the walk cannot reach: one group, after the others */
                while (scan < n && (lab[scan] != UINT32_MAX || vindex_meta(v, t, (uint32_t)scan)->level < l))
                    scan++;
                if (scan >= n) break;
                lab[scan] = (uint32_t)k;
                q[tail++] = (uint32_t)scan;
            }
            uint32_t s = q[head++];
            const uint32_t *ll = l == 0 ? vindex_links0(v, t, s) : vindex_links_up(v, t, s, l);
            uint32_t c = ll[0] > maxc ? maxc : ll[0];
            for (uint32_t i = 0; i < c; i++) {
                uint32_t nb = ll[1 + i];
                if (nb >= n || lab[nb] != UINT32_MAX || vindex_meta(v, t, nb)->level < l) continue;
                lab[nb] = lab[s];
                q[tail++] = nb;
            }
        }
        /* stable counting sort of the discovery order q[0..tail) by group (0..k; group k is
         * empty, and may not fit, when every node is a source) */
        size_t groups = k < n ? k + 1 : n;
        for (size_t i = 0; i < groups; i++) pos[i] = 0;
        for (size_t i = 0; i < tail; i++) pos[lab[q[i]]]++;
        size_t sum = 0;
        for (size_t i = 0; i < groups; i++) { size_t c = pos[i]; pos[i] = (uint32_t)sum; sum += c; }
        for (size_t i = 0; i < tail; i++) { uint32_t s = q[i]; order[pos[lab[s]]++] = s; }
        k = tail;
    }
    for (size_t i = 0; i < n; i++) pos[order[i]] = (uint32_t)i;
}

static void rename_links(uint32_t *ll, uint32_t maxc, const uint32_t *pos)
{
    uint32_t cnt = ll[0] > maxc ? maxc : ll[0];
    for (uint32_t i = 0; i < cnt; i++) ll[1 + i] = pos[ll[1 + i]];
}

/* Everything a slot owns, for moving it as one unit. */
typedef struct { char *node; vmeta_t meta; vindex_attrs_t fattr; uint32_t *up; float *vec; } slot_tmp_t;

static void slot_save(const vindex_t *v, const vtab_t *t, uint32_t s, slot_tmp_t *x)
{
    size_t c = s >> v->chunk_shift, r = s & v->chunk_mask;
    memcpy(x->node, vindex_node(v, t, s), v->stride);
    x->meta = t->meta[c][r];
    x->fattr = t->fattr[c][r];
    x->up = t->up[c][r];
    if (x->vec) memcpy(x->vec, t->vec[c] + r * v->dim, v->dim * sizeof(float));
}

static void slot_restore(const vindex_t *v, const vtab_t *t, uint32_t s, const slot_tmp_t *x)
{
    size_t c = s >> v->chunk_shift, r = s & v->chunk_mask;
    memcpy(vindex_node(v, t, s), x->node, v->stride);
    t->meta[c][r] = x->meta;
    t->fattr[c][r] = x->fattr;
    t->up[c][r] = x->up;
    if (x->vec) memcpy(t->vec[c] + r * v->dim, x->vec, v->dim * sizeof(float));
}

static void slot_move(const vindex_t *v, const vtab_t *t, uint32_t to, uint32_t from)
{
    size_t c = to >> v->chunk_shift, r = to & v->chunk_mask;
    size_t fc = from >> v->chunk_shift, fr = from & v->chunk_mask;
    memcpy(vindex_node(v, t, to), vindex_node(v, t, from), v->stride);
    t->meta[c][r] = t->meta[fc][fr];
    t->fattr[c][r] = t->fattr[fc][fr];
    t->up[c][r] = t->up[fc][fr];
    if (v->p.quant == VINDEX_QUANT_INT8)
        memcpy(t->vec[c] + r * v->dim, t->vec[fc] + fr * v->dim, v->dim * sizeof(float));
}

int vindex_reorder(vindex_t *v, char *err, size_t errlen)
{
    if (!v) { vindex_set_err(err, errlen, "null argument"); return -1; }
    pthread_mutex_lock(&v->wlock);
    pthread_mutex_lock(&v->ep_lock);
    size_t n = v->n_slots;
    uint64_t epk = v->ep_packed;
    int rc = 0;
    if (n < 2 || epk == 0) goto out;
    vtab_t *t = v->tab;
    uint32_t *order = malloc(n * sizeof *order), *pos = malloc(n * sizeof *pos);
    uint32_t *lab = malloc(n * sizeof *lab), *qtmp = malloc(n * sizeof *qtmp);
    slot_tmp_t tmp = {0};
    tmp.node = malloc(v->stride);
    if (v->p.quant == VINDEX_QUANT_INT8) tmp.vec = malloc(v->dim * sizeof(float));
    if (!order || !pos || !lab || !qtmp || !tmp.node || (v->p.quant == VINDEX_QUANT_INT8 && !tmp.vec)) {
        vindex_set_err(err, errlen, "out of memory");
        rc = -1;
        goto done;
    }
    hier_order(v, t, n, (uint32_t)epk, (int)(epk >> 32) - 1, order, pos, lab, qtmp);

    /* rename every link first (each list belongs to one slot, so the order of this pass does
     * not matter), then move the slots */
    for (size_t s = 0; s < n; s++) {
        rename_links(vindex_links0(v, t, (uint32_t)s), v->m0, pos);
        const vmeta_t *mt = vindex_meta(v, t, (uint32_t)s);
        uint32_t *u = t->up[s >> v->chunk_shift][s & v->chunk_mask];
        for (int l = 0; u && l < mt->level; l++) rename_links(u + (size_t)l * (v->m + 1), v->m, pos);
    }
    /* cycle-following: new slot i takes old slot order[i]; pos[] doubles as the done mark
     * (set to UINT32_MAX once a slot holds its final content) */
    for (size_t i = 0; i < n; i++) {
        if (pos[i] == UINT32_MAX || order[i] == i) { pos[i] = UINT32_MAX; continue; }
        slot_save(v, t, (uint32_t)i, &tmp);
        uint32_t j = (uint32_t)i;
        for (;;) {
            uint32_t k = order[j];
            pos[j] = UINT32_MAX;
            if (k == i) { slot_restore(v, t, j, &tmp); break; }
            slot_move(v, t, j, k);
            j = k;
        }
    }
    /* pos[] is spent; the new slot of an old one is still recoverable from order[] */
    for (size_t i = 0; i < n; i++) pos[order[i]] = (uint32_t)i;
    v->ep_packed = (epk & ~(uint64_t)UINT32_MAX) | pos[(uint32_t)epk];
    for (size_t i = 0; i < v->ids_cap; i++)
        if (v->ids[i].used == 1) v->ids[i].slot = pos[v->ids[i].slot];
    /* fp32 vectors of int8 collections: the moves dirtied the spill file's pages; they go back
     * to the page cache (see vindex_spill.c). Not the chunks inside a loaded snapshot's private
     * mapping: dropping those would throw the moved vectors away. */
    if (v->p.quant == VINDEX_QUANT_INT8)
        for (size_t c = 0; c <= (n - 1) >> v->chunk_shift; c++)
            if (vspill_is(v, c, t->vec[c])) vspill_drop(v, c);
done:
    free(order);
    free(pos);
    free(lab);
    free(qtmp);
    free(tmp.node);
    free(tmp.vec);
out:
    pthread_mutex_unlock(&v->ep_lock);
    pthread_mutex_unlock(&v->wlock);
    return rc;
}
