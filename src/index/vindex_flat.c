/* vindex_flat.c — exact search: a SIMD scan for one query, cblas_sgemm for batches.
 * Used for small collections, low-selectivity filters, and as ground truth. The scan walks
 * slots in storage order (sequential memory, which the hardware prefetcher streams) and keeps
 * the best k in a bounded max-heap. */
#include "index/vindex_impl.h"
#include <cblas.h>
#include <stdlib.h>
#include <string.h>

static void heap_offer(vpair_t *h, size_t *n, size_t k, vpair_t x)
{
    if (*n < k) vheap_max_push(h, n, x);
    else if (vpair_less(x, h[0])) { vheap_max_pop(h, n); vheap_max_push(h, n, x); }
}

static size_t heap_to_hits(const vindex_t *v, const vtab_t *t, vpair_t *h, size_t n,
                           vindex_hit_t *hits)
{
    size_t cnt = n;
    while (n > 0) {
        vpair_t x = h[0];
        vheap_max_pop(h, &n);
        hits[n].id = vindex_meta(v, t, x.id)->id;
        hits[n].score = vindex_score(v, x.d);
    }
    vindex_sort_hits(v, hits, cnt);
    return cnt;
}

/* A filtered scan tests the dense attrs first: most slots fail there, having read 16 bytes.
 * For a slot that passes, liveness (and the caller's predicate) is checked only after its
 * distance: the state word sits on the first line of the record the distance reads anyway,
 * so checking it first would stall the scan on that line's miss before the code's loads
 * are issued, and reading meta's copy would cost one more cache line per passing slot. */
static inline int attrs_pass(const vindex_t *v, const vtab_t *t, uint32_t s, const vindex_filter_t *f)
{
    return !f || vfilter_match_attrs(f, &t->fattr[s >> v->chunk_shift][s & v->chunk_mask]);
}

static inline int live_and_pred(const vindex_t *v, const vtab_t *t, uint32_t s, const vindex_filter_t *f)
{
    if (__atomic_load_n(vindex_node_state(v, t, s), __ATOMIC_RELAXED) != SLOT_LIVE) return 0;
    return !f || !f->pred ||
           f->pred(vindex_meta(v, t, s)->id, &t->fattr[s >> v->chunk_shift][s & v->chunk_mask], f->pred_ctx);
}

size_t vflat_search(const vindex_t *v, vscratch_t *s, const float *q, size_t k,
                    const vindex_filter_t *f, int mode, size_t rerank, vindex_hit_t *hits)
{
    size_t n = vindex_nslots(v);
    vtab_t *t = vindex_tab(v);
    size_t keep = mode == 2 ? (rerank > k ? rerank : k) : k;
    if (vscratch_reserve(&s->top, &s->top_cap, keep + 1)) return 0;
    vpair_t *h = s->top;
    size_t nh = 0;
    if (mode == 2) {
        vquery_t gq = {q, s->qcode};
        vquant_encode_query(v, q, s->qcode);
        for (size_t i = 0; i < n; i++) {
            if (!attrs_pass(v, t, (uint32_t)i, f)) continue;
            float d = vindex_gdist(v, &gq, vindex_code(v, t, (uint32_t)i));
            if (!live_and_pred(v, t, (uint32_t)i, f)) continue;
            heap_offer(h, &nh, keep, (vpair_t){d, (uint32_t)i});
        }
        /* re-score the int8 candidates exactly and keep k */
        size_t m = nh;
        vpair_t *c = malloc((m + 1) * sizeof *c);
        if (!c) return 0;
        memcpy(c, h, m * sizeof *c);
        nh = 0;
        for (size_t i = 0; i < m; i++)
            heap_offer(h, &nh, k, (vpair_t){vindex_xdist(v, q, vindex_vec(v, t, c[i].id)), c[i].id});
        free(c);
        return heap_to_hits(v, t, h, nh, hits);
    }
    for (size_t i = 0; i < n; i++) {
        if (!attrs_pass(v, t, (uint32_t)i, f)) continue;
        float d = vindex_xdist(v, q, vindex_vec(v, t, (uint32_t)i));
        if (!live_and_pred(v, t, (uint32_t)i, f)) continue;
        if (nh < k || d < h[0].d) heap_offer(h, &nh, k, (vpair_t){d, (uint32_t)i});
    }
    return heap_to_hits(v, t, h, nh, hits);
}

/* Batches: per chunk of slots, one sgemm gives the dot products of a block of queries with
 * every vector of the chunk (the vectors are read once per block instead of once per query).
 * L2 uses |q|^2 + |x|^2 - 2 q.x. */
#define QBLOCK 64
int vflat_search_batch(const vindex_t *v, const float *qs, size_t nq, size_t k,
                       const vindex_filter_t *f, vindex_hit_t *hits, size_t *counts)
{
    size_t n = vindex_nslots(v);
    vtab_t *t = vindex_tab(v);
    size_t per = (size_t)1 << v->chunk_shift, d = v->dim;
    int l2 = v->p.metric == VINDEX_L2;
    int quant = v->p.quant == VINDEX_QUANT_INT8;
    size_t ldx = quant ? d : v->stride / sizeof(float);
    float *c = malloc(QBLOCK * per * sizeof(float));
    float *xn = malloc(per * sizeof(float));
    float *qn = malloc(QBLOCK * sizeof(float));
    vpair_t *heaps = malloc(QBLOCK * (k + 1) * sizeof(vpair_t));
    size_t *nh = malloc(QBLOCK * sizeof(size_t));
    unsigned char *ok = malloc(per);
    int rc = (c && xn && qn && heaps && nh && ok) ? 0 : -1;
    for (size_t q0 = 0; !rc && q0 < nq; q0 += QBLOCK) {
        size_t bq = nq - q0 < QBLOCK ? nq - q0 : QBLOCK;
        for (size_t j = 0; j < bq; j++) {
            nh[j] = 0;
            qn[j] = l2 ? v->k->dot_f32(qs + (q0 + j) * d, qs + (q0 + j) * d, d) : 0;
        }
        for (size_t base = 0; base < n; base += per) {
            size_t rows = n - base < per ? n - base : per;
            size_t cidx = base >> v->chunk_shift;
            const float *x = quant ? t->vec[cidx] : (const float *)(t->nodes[cidx] + v->code_off);
            size_t nok = 0;
            for (size_t r = 0; r < rows; r++) {
                ok[r] = (unsigned char)vindex_filter_slot(v, &t->meta[cidx][r], f);
                nok += ok[r];
                if (l2 && ok[r]) xn[r] = v->k->dot_f32(x + r * ldx, x + r * ldx, d);
            }
            if (!nok) continue;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)bq, (int)rows, (int)d,
                        1.0f, qs + q0 * d, (int)d, x, (int)ldx, 0.0f, c, (int)rows);
            for (size_t j = 0; j < bq; j++) {
                vpair_t *h = heaps + j * (k + 1);
                const float *cr = c + j * rows;
                for (size_t r = 0; r < rows; r++) {
                    if (!ok[r]) continue;
                    float dd = l2 ? qn[j] + xn[r] - 2.0f * cr[r] : -cr[r];
                    if (l2 && dd < 0) dd = 0;
                    if (nh[j] < k || dd < h[0].d)
                        heap_offer(h, &nh[j], k, (vpair_t){dd, (uint32_t)(base + r)});
                }
            }
        }
        for (size_t j = 0; j < bq; j++)
            counts[q0 + j] = heap_to_hits(v, t, heaps + j * (k + 1), nh[j], hits + (q0 + j) * k);
    }
    free(c); free(xn); free(qn); free(heaps); free(nh); free(ok);
    return rc;
}
