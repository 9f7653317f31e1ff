/* vindex_quant.c — int8 scalar quantisation of stored vectors and queries, and retraining.
 *
 * One scale for all dimensions keeps integer distances proportional to real ones:
 *   L2:     code = round((x - off) / s), off = per-dimension midpoint of the training data;
 *           |x - y|^2 ~= s^2 |cx - cy|^2, and the query is encoded on the same grid.
 *   IP/COS: off = 0, code = round(x / s); q.x ~= s * sq * (cq . cx) where the query gets its
 *           own scale sq (it only multiplies every score by the same constant).
 * s is chosen from the training sample's largest magnitude so codes fill [-127, 127]; values
 * beyond the trained range are clamped (the fp32 re-ranking corrects the order at the end).
 *
 * Why retraining: the first training sample (the first batch, or the very first vector of
 * single upserts) need not represent what comes later; if later vectors fall outside its
 * range their codes saturate and the graph is walked on meaningless distances. So the
 * collection retrains from an evenly spread sample of everything stored (the exact fp32
 * copies are kept) and re-encodes every code when (a) the collection has grown to 4x the
 * sample the grid was trained on (while that sample is below QSAMPLE), or (b) more than 5%
 * of the vectors inserted since the last training fell well outside the grid (drift).
 * Both make retraining rare (geometric, or only on real drift), so its O(n * dim) cost is
 * amortised. The grid is published as one pointer (old grids are kept until vindex_free), so
 * a concurrent query encodes against one consistent grid; while codes are being re-encoded
 * its graph distances mix both grids for a moment, which the fp32 re-ranking absorbs. */
#include "index/vindex_impl.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define QSAMPLE 20000          /* vectors in a training sample */
#define QOUT_FACTOR 1.25f      /* "well outside": beyond 1.25x the trained range */

static int8_t clamp8(float x)
{
    float r = nearbyintf(x);
    if (r > 127.f) r = 127.f;
    if (r < -127.f) r = -127.f;
    return (int8_t)r;
}

const vqgrid_t *vquant_grid(const vindex_t *v)
{
    return __atomic_load_n(&((vindex_t *)v)->q, __ATOMIC_ACQUIRE);
}

int vquant_install(vindex_t *v, float scale, const float *off)
{
    vqgrid_t *g = malloc(sizeof *g + v->dim * sizeof(float));
    if (!g) return -1;
    g->scale = scale;
    memcpy(g->off, off, v->dim * sizeof(float));
    g->retired = v->q;
    __atomic_store_n(&v->q, g, __ATOMIC_RELEASE);
    return 0;
}

void vquant_free(vindex_t *v)
{
    vqgrid_t *g = v->q;
    while (g) {
        vqgrid_t *r = g->retired;
        free(g);
        g = r;
    }
    v->q = NULL;
}

int vquant_train(vindex_t *v, const float *x, size_t n)
{
    size_t d = v->dim;
    if (n == 0) return -1;
    float *off = calloc(d, sizeof(float));
    if (!off) return -1;
    if (v->p.metric == VINDEX_L2) {
        for (size_t j = 0; j < d; j++) {
            float lo = x[j], hi = x[j];
            for (size_t i = 1; i < n; i++) {
                float t = x[i * d + j];
                if (t < lo) lo = t;
                if (t > hi) hi = t;
            }
            off[j] = 0.5f * (lo + hi);
        }
    }
    float amax = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++) {
            float t = fabsf(x[i * d + j] - off[j]);
            if (t > amax) amax = t;
        }
    /* A single training vector says little about the range: leave headroom. */
    if (n == 1) amax *= 2.0f;
    int rc = vquant_install(v, amax > 0 ? amax / 127.f : 1.0f, off);
    free(off);
    if (rc) return -1;
    v->q_train_n = n;
    v->q_out = 0;
    return 0;
}

int vquant_encode(const vindex_t *v, const float *x, int8_t *code)
{
    const vqgrid_t *g = vquant_grid(v);
    if (!g) {   /* untrained (nothing stored yet): any code will do, nothing is compared */
        memset(code, 0, v->dim);
        return 0;
    }
    float inv = 1.0f / g->scale, worst = 0;
    for (size_t j = 0; j < v->dim; j++) {
        float t = (x[j] - g->off[j]) * inv;
        if (fabsf(t) > worst) worst = fabsf(t);
        code[j] = clamp8(t);
    }
    return worst > 127.f * QOUT_FACTOR;
}

void vquant_encode_query(const vindex_t *v, const float *q, int8_t *code)
{
    if (v->p.metric == VINDEX_L2) { vquant_encode(v, q, code); return; }
    float amax = 0;
    for (size_t j = 0; j < v->dim; j++) if (fabsf(q[j]) > amax) amax = fabsf(q[j]);
    float inv = amax > 0 ? 127.f / amax : 0.f;
    for (size_t j = 0; j < v->dim; j++) code[j] = clamp8(q[j] * inv);
}

int vquant_needs_retrain(const vindex_t *v)
{
    if (v->p.quant != VINDEX_QUANT_INT8 || !v->q) return 0;
    size_t live = v->n_live;
    if (v->q_train_n < QSAMPLE && live >= 4 * v->q_train_n) return 1;
    return v->q_out > 64 && v->q_out * 20 > live;
}

int vquant_retrain(vindex_t *v)
{
    pthread_mutex_lock(&v->wlock);
    if (!vquant_needs_retrain(v)) { pthread_mutex_unlock(&v->wlock); return 0; }
    size_t n = v->n_slots, live = v->n_live, d = v->dim;
    size_t ns = live < QSAMPLE ? live : QSAMPLE;
    vtab_t *t = v->tab;
    float *x = ns ? malloc(ns * d * sizeof(float)) : NULL;
    if (!x) { pthread_mutex_unlock(&v->wlock); return -1; }
    /* evenly spaced over the slots: the i-th pick is the first live slot at or after
     * i * n / ns (fewer picks when dead slots cluster at the end) */
    size_t got = 0, s = 0;
    for (size_t i = 0; i < ns && s < n; i++) {
        size_t want = i * n / ns;
        if (s < want) s = want;
        while (s < n && !vindex_slot_live(vindex_meta(v, t, (uint32_t)s))) s++;
        if (s >= n) break;
        memcpy(x + got++ * d, vindex_vec(v, t, (uint32_t)s), d * sizeof(float));
        s++;
    }
    int rc = got ? vquant_train(v, x, got) : -1;
    free(x);
    if (rc == 0) {
        for (size_t i = 0; i < n; i++) {
            char *node = vindex_node(v, t, (uint32_t)i);
            vquant_encode(v, vindex_vec(v, t, (uint32_t)i), (int8_t *)(node + v->code_off));
            /* re-reading every vector must not leave the fp32 pages resident */
            if ((i & v->chunk_mask) == v->chunk_mask || i + 1 == n) vspill_drop(v, i >> v->chunk_shift);
        }
        v->q_retrains++;
    }
    pthread_mutex_unlock(&v->wlock);
    return rc;
}
