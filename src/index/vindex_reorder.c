/* vindex_reorder.c — renumbers a collection's slots so that graph neighbours sit close in memory.
 *
 * Why: slots are handed out in insertion order, so the neighbours of a node are scattered over
 * the whole collection, and a graph search touches a new page (and a new line of the visited
 * tags) for almost every distance it computes. Numbering the nodes in breadth-first order over
 * the level-0 graph, starting at the entry point, puts a node's neighbours (and a query's whole
 * search region) on nearby pages. This is a pure permutation: every record, meta entry, filter
 * attribute copy, fp32 vector and upper-link array moves to its new slot, every link and the
 * entry point are renamed, and the id map points at the new slots; external ids, scores and
 * search results do not change. Done in place (cycle-following), so it needs 8 bytes per slot
 * of extra memory, not a second copy of the index.
 *
 * The permutation is applied in memory; a snapshot saved afterwards stores the new order, and
 * the file format is unchanged (it never promised an order). */
#include "index/vindex_impl.h"
#include <stdlib.h>
#include <string.h>

/* Plain BFS over the level-0 links from the entry point; slots it cannot reach start their own
 * walks, in slot order. order[new] = old, pos[old] = new. */
static void bfs_order(const vindex_t *v, const vtab_t *t, size_t n, uint32_t entry,
                      uint32_t *order, uint32_t *pos)
{
    for (size_t s = 0; s < n; s++) pos[s] = UINT32_MAX;
    size_t head = 0, tail = 0, next_root = 0;
    uint32_t root = entry;
    while (tail < n) {
        if (head == tail) {
            while (pos[root] != UINT32_MAX) root = (uint32_t)next_root++;
            pos[root] = (uint32_t)tail;
            order[tail++] = root;
        }
        uint32_t s = order[head++];
        const uint32_t *ll = vindex_links0(v, t, s);
        uint32_t cnt = ll[0] > v->m0 ? v->m0 : ll[0];
        for (uint32_t i = 0; i < cnt; i++) {
            uint32_t nb = ll[1 + i];
            if (nb >= n || pos[nb] != UINT32_MAX) continue;
            pos[nb] = (uint32_t)tail;
            order[tail++] = nb;
        }
    }
}

/* Partition order. A plain BFS gives poor locality on these graphs: with 2m links per node the
 * frontier grows ~30x per hop, so a node's neighbours land thousands of slots away. Instead:
 * seeds are the nodes of upper level L (L chosen so that there is one seed per ~100-1000
 * nodes; they are spread over the data like the centroids of a clustering, for free); every
 * node joins the seed it is fewest level-0 hops from (multi-source BFS), and the collection
 * is laid out partition by partition, partitions in BFS order over the level-L graph (so
 * neighbouring partitions are near too), nodes within one in BFS order from their seed.
 * order[new] = old, pos[old] = new; lab and tmp are n-word scratch. */
static void partition_order(const vindex_t *v, const vtab_t *t, size_t n, uint32_t entry,
                            int top, uint32_t *order, uint32_t *pos, uint32_t *lab, uint32_t *tmp)
{
    /* L: the lowest upper level with at most n/100 nodes (level >= L), at least 1 */
    size_t cnt_at[32] = {0};
    for (size_t s = 0; s < n; s++) {
        int l = vindex_meta(v, t, (uint32_t)s)->level;
        cnt_at[l < 31 ? l : 31]++;
    }
    int L = top;
    size_t above = 0;
    for (int l = top; l >= 1; l--) {
        above += cnt_at[l];
        if (above * 100 > n) break;
        L = l;
    }
    if (L < 1) { bfs_order(v, t, n, entry, order, pos); return; }
    /* seeds in BFS order over the level-L links from the entry point (order[] as the queue,
     * pos[] as the mark); seeds the walk misses follow in slot order */
    for (size_t s = 0; s < n; s++) pos[s] = UINT32_MAX, lab[s] = UINT32_MAX;
    size_t ns = 0, head = 0, next_root = 0;
    uint32_t root = entry;
    for (;;) {
        if (head == ns) {
            while (next_root < n && (pos[root] != UINT32_MAX || vindex_meta(v, t, root)->level < L))
                root = (uint32_t)next_root++;
            if (pos[root] != UINT32_MAX || vindex_meta(v, t, root)->level < L) break;
            pos[root] = (uint32_t)ns;
            order[ns++] = root;
        }
        uint32_t s = order[head++];
        const uint32_t *ll = vindex_links_up(v, t, s, L);
        uint32_t c = ll[0] > v->m ? v->m : ll[0];
        for (uint32_t i = 0; i < c; i++) {
            uint32_t nb = ll[1 + i];
            if (nb >= n || pos[nb] != UINT32_MAX || vindex_meta(v, t, nb)->level < L) continue;
            pos[nb] = (uint32_t)ns;
            order[ns++] = nb;
        }
    }
    /* multi-source BFS over level 0: lab[s] = rank of the seed s joins; tmp is the queue, so
     * it ends up holding every reached node in discovery order */
    size_t tail = 0;
    for (size_t i = 0; i < ns; i++) { lab[order[i]] = (uint32_t)i; tmp[tail++] = order[i]; }
    head = 0;
    next_root = 0;
    for (;;) {
        if (head == tail) {
            /* unreached nodes (not linked, or cut off): their own partition, after the rest */
            while (next_root < n && lab[next_root] != UINT32_MAX) next_root++;
            if (next_root >= n) break;
            lab[next_root] = (uint32_t)ns;
            tmp[tail++] = (uint32_t)next_root;
        }
        uint32_t s = tmp[head++];
        const uint32_t *ll = vindex_links0(v, t, s);
        uint32_t c = ll[0] > v->m0 ? v->m0 : ll[0];
        for (uint32_t i = 0; i < c; i++) {
            uint32_t nb = ll[1 + i];
            if (nb >= n || lab[nb] != UINT32_MAX) continue;
            lab[nb] = lab[s];
            tmp[tail++] = nb;
        }
    }
    /* stable counting sort of the discovery order by partition (labels are 0..ns) */
    for (size_t i = 0; i <= ns && i < n; i++) pos[i] = 0;
    for (size_t s = 0; s < n; s++) pos[lab[s]]++;
    size_t sum = 0;
    for (size_t i = 0; i <= ns && i < n; i++) { size_t c = pos[i]; pos[i] = (uint32_t)sum; sum += c; }
    for (size_t i = 0; i < n; i++) { uint32_t s = tmp[i]; order[pos[lab[s]]++] = s; }
    for (size_t i = 0; i < n; i++) pos[order[i]] = (uint32_t)i;
}

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
#if defined(REORDER_BFS)
    (void)partition_order; (void)hier_order;
    bfs_order(v, t, n, (uint32_t)epk, order, pos);
#elif defined(REORDER_PART)
    (void)hier_order;
    partition_order(v, t, n, (uint32_t)epk, (int)(epk >> 32) - 1, order, pos, lab, qtmp);
#else
    (void)partition_order;
    hier_order(v, t, n, (uint32_t)epk, (int)(epk >> 32) - 1, order, pos, lab, qtmp);
#endif

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
