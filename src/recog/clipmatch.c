/* clipmatch.c — CLIP entries, filtered search and label fusion (see clipmatch.h).
 * The vectors live in a vindex collection (src/index) without a graph: every search is an
 * exact scan, which at catalog sizes (10^2..10^5 entries x 512) is a few milliseconds, needs
 * no index build, and applies the filters (category, brand as the attributes) during the
 * scan. The collection is int8: the scan reads the codes (a quarter of the memory traffic:
 * at 10^5 entries an fp32 scan is bound by reading 200 MB), keeps the best CLIP_HEAD, and
 * re-scores those exactly in fp32, so the head's order and scores are exact and its
 * membership differs from the exact one only if an int8 error (~1e-3 on unit vectors)
 * exceeds the gap between the best results and the CLIP_HEAD-th.
 * What stays here is the bookkeeping vindex has no notion of: which product an item belongs
 * to, a product's image and text entries, and the label names behind the attribute ids. */
#include "recog/clipmatch.h"
#include "recog/batch.h"
#include "core/buf.h"
#include "core/timeutil.h"
#include "index/vindex.h"
#include "ml/zeroshot.h"
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct {
    int64_t item, product;
    int     kind, cat, brand;    /* category / brand: indexes into the intern tables */
    int     live;
} entry_t;

typedef struct { int64_t *keys; size_t *vals; uint8_t *full; size_t cap, used; } map_t;
typedef struct { int nimg; size_t text; } prod_t;   /* live images; text slot + 1 (0: none) */

struct recog_clip {
    pthread_rwlock_t lock;
    const clip_model_t *m;
    zeroshot_t *zs;
    recog_batcher_t *batch;             /* NULL: each photo embedded alone */
    int dim, size;
    char coll[2][160];
    vindex_t *vx;                       /* the vectors: id item_key(kind, item), attrs
                                           category / brand = intern ids, flags = kind */
    entry_t *ents; size_t n, cap, live; /* per item: product and labels (no vectors) */
    char **cats, **brands; int ncats, nbrands;
    long *cat_live, *brand_live;        /* live entries per label */
    int ncats_counted, nbrands_counted;
    map_t imap;                         /* (item, kind) -> slot + 1 */
    map_t pmap;                         /* product -> prods index + 1 */
    prod_t *prods; size_t nprods, cprods;
    pthread_mutex_t warm_lock;          /* the label warm-up's progress */
    recog_clip_warm_t warm;
};

static void map_free(map_t *m);

recog_clip_t *recog_clip_new(const clip_model_t *m, char *err, size_t errlen)
{
    if (!m || !clip_has_text(m)) {
        snprintf(err, errlen, "CLIP recognition needs a model with its text tower");
        return NULL;
    }
    recog_clip_t *c = xcalloc(1, sizeof *c);
    c->zs = zeroshot_new(m, NULL, 0);
    if (!c->zs) { free(c); snprintf(err, errlen, "cannot set up zero-shot classification"); return NULL; }
    c->m = m;
    c->dim = clip_embed_dim(m);
    vindex_params_t vp;
    vindex_params_default(&vp, (uint32_t)c->dim, VINDEX_IP);
    vp.quant = VINDEX_QUANT_INT8;
    vp.no_graph = 1;
    c->vx = vindex_create(&vp, err, errlen);
    if (!c->vx) { zeroshot_free(c->zs); free(c); return NULL; }
    pthread_rwlock_init(&c->lock, NULL);
    c->size = clip_image_size(m);
    snprintf(c->coll[0], sizeof c->coll[0], "product_clip_image:%.100s:%d", clip_name(m), c->dim);
    snprintf(c->coll[1], sizeof c->coll[1], "product_clip_text:%.100s:%d", clip_name(m), c->dim);
    return c;
}

void recog_clip_free(recog_clip_t *c)
{
    if (!c) return;
    zeroshot_free(c->zs);
    recog_batcher_free(c->batch);
    for (int i = 0; i < c->ncats; i++) free(c->cats[i]);
    for (int i = 0; i < c->nbrands; i++) free(c->brands[i]);
    vindex_free(c->vx);
    free(c->cats); free(c->brands); free(c->ents);
    free(c->cat_live); free(c->brand_live); free(c->prods);
    map_free(&c->imap); map_free(&c->pmap);
    pthread_rwlock_destroy(&c->lock);
    pthread_mutex_destroy(&c->warm_lock);
    free(c);
}

int recog_clip_dim(const recog_clip_t *c) { return c->dim; }
int recog_clip_image_size(const recog_clip_t *c) { return c->size; }
const char *recog_clip_collection(const recog_clip_t *c, recog_clip_kind_t kind) { return c->coll[kind ? 1 : 0]; }

size_t recog_clip_count(recog_clip_t *c)
{
    pthread_rwlock_rdlock(&c->lock);
    size_t n = c->live;
    pthread_rwlock_unlock(&c->lock);
    return n;
}

static int embed_images(void *ctx, const float *tensors, int n, float *out)
{
    return clip_embed_images(ctx, tensors, n, out);
}

int recog_clip_set_batching(recog_clip_t *c, int max_batch, int max_wait_us, int max_passes)
{
    if (!c || c->batch) return -1;
    c->batch = recog_batcher_new(embed_images, (void *)c->m, (size_t)3 * (size_t)c->size * (size_t)c->size, c->dim,
                                 max_batch, max_wait_us, max_passes);
    return c->batch ? 0 : -1;
}

void recog_clip_expect(recog_clip_t *c, int delta)
{
    if (c) recog_batcher_expect(c->batch, delta);
}

int recog_clip_batch_stats(recog_clip_t *c, long *batches, long *items, int *largest)
{
    if (!c || !c->batch) return -1;
    recog_batch_stats_t st;
    recog_batcher_stats(c->batch, &st);
    *batches = st.batches;
    *items = st.items;
    *largest = st.largest;
    return 0;
}

int recog_clip_embed_image_announced(recog_clip_t *c, const float *tensor, float *out, int announced)
{
    if (!tensor) return -1;
    return c->batch ? recog_batcher_embed(c->batch, tensor, out, announced) : clip_embed_images(c->m, tensor, 1, out);
}

int recog_clip_embed_image(recog_clip_t *c, const float *tensor, float *out)
{
    return recog_clip_embed_image_announced(c, tensor, out, 0);
}

int recog_clip_embed_text(recog_clip_t *c, const char *text, float *out)
{
    const char *t[1] = { text };
    return text ? clip_embed_texts(c->m, t, 1, out) : -1;
}

void recog_clip_product_text(const char *brand, const char *model, const char *description, char *buf,
                             size_t buflen)
{
    snprintf(buf, buflen, "%s %s%s%s", brand ? brand : "", model ? model : "",
             description && *description ? ": " : "", description ? description : "");
}

/* Index of name in an intern table (case-insensitive), -1 if absent. */
static int intern_find(char **tab, int n, const char *name)
{
    for (int i = 0; name && i < n; i++)
        if (!strcasecmp(tab[i], name)) return i;
    return -1;
}
static int intern(char ***tab, int *n, const char *name)
{
    int i = intern_find(*tab, *n, name);
    if (i >= 0) return i;
    *tab = xrealloc(*tab, sizeof **tab * (size_t)(*n + 1));
    (*tab)[*n] = xstrdup(name);
    return (*n)++;
}

/* ---- int64 -> size_t hash map (linear probing; a removed key keeps its cell with value 0,
 * so probe chains stay intact). Values are stored +1: 0 means none. ---- */
static size_t hash64(int64_t k) { uint64_t x = (uint64_t)k * 0x9E3779B97F4A7C15ULL; return (size_t)(x ^ (x >> 29)); }

static size_t *map_cell(map_t *m, int64_t key, int insert)
{
    if (insert && (m->used + 1) * 4 >= m->cap * 3) {     /* grow at 3/4 */
        map_t g = { 0 };
        g.cap = m->cap ? 2 * m->cap : 1024;
        g.keys = xcalloc(g.cap, sizeof *g.keys);
        g.vals = xcalloc(g.cap, sizeof *g.vals);
        g.full = xcalloc(g.cap, 1);
        for (size_t i = 0; i < m->cap; i++)
            if (m->full[i] && m->vals[i]) *map_cell(&g, m->keys[i], 1) = m->vals[i];
        free(m->keys); free(m->vals); free(m->full);
        *m = g;
    }
    if (!m->cap) return NULL;
    for (size_t i = hash64(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (m->full[i] && m->keys[i] == key) return &m->vals[i];
        if (!m->full[i]) {
            if (!insert) return NULL;
            m->full[i] = 1;
            m->keys[i] = key;
            m->used++;
            return &m->vals[i];
        }
    }
}
static size_t map_get(map_t *m, int64_t key) { size_t *v = map_cell(m, key, 0); return v ? *v : 0; }
static void map_free(map_t *m) { free(m->keys); free(m->vals); free(m->full); }

/* The product's bookkeeping (created on demand when create). Lock held. */
static prod_t *prod_of(recog_clip_t *c, int64_t product, int create)
{
    size_t v = map_get(&c->pmap, product);
    if (v) return &c->prods[v - 1];
    if (!create) return NULL;
    if (c->nprods == c->cprods) {
        c->cprods = c->cprods ? 2 * c->cprods : 256;
        c->prods = xrealloc(c->prods, sizeof *c->prods * c->cprods);
    }
    c->prods[c->nprods] = (prod_t){ 0, 0 };
    *map_cell(&c->pmap, product, 1) = ++c->nprods;
    return &c->prods[c->nprods - 1];
}

static int64_t item_key(int kind, int64_t item) { return (int64_t)((uint64_t)item << 1) | kind; }

/* Retires entry slot and its vector (lock held). */
static void kill_slot(recog_clip_t *c, size_t slot)
{
    entry_t *e = &c->ents[slot];
    if (!e->live) return;
    vindex_delete(c->vx, (uint64_t)item_key(e->kind, e->item));
    e->live = 0;
    c->live--;
    c->cat_live[e->cat]--;
    c->brand_live[e->brand]--;
    size_t *v = map_cell(&c->imap, item_key(e->kind, e->item), 0);
    if (v) *v = 0;
    prod_t *p = prod_of(c, e->product, 0);
    if (p && e->kind == RECOG_CLIP_IMAGE) p->nimg--;
    if (p && e->kind == RECOG_CLIP_TEXT) p->text = 0;
}

int recog_clip_add(recog_clip_t *c, recog_clip_kind_t kind, int64_t item_id, int64_t product_id,
                   const char *category, const char *brand, const float *vec)
{
    double norm = 0;
    for (int i = 0; i < c->dim; i++) norm += (double)vec[i] * vec[i];
    if (!(fabs(norm - 1.0) < 1e-2)) return -1;
    pthread_rwlock_wrlock(&c->lock);
    prod_t *p = prod_of(c, product_id, 1);
    if (kind == RECOG_CLIP_TEXT && p->nimg > 0) {      /* a photo beats a description */
        pthread_rwlock_unlock(&c->lock);
        return 0;
    }
    if (kind == RECOG_CLIP_IMAGE && p->text) kill_slot(c, p->text - 1);
    /* the same item again replaces its slot */
    size_t slot = map_get(&c->imap, item_key(kind, item_id));
    if (slot) kill_slot(c, --slot);
    else {
        if (c->n == c->cap) {
            c->cap = c->cap ? 2 * c->cap : 256;
            c->ents = xrealloc(c->ents, sizeof *c->ents * c->cap);
        }
        slot = c->n++;
        c->ents[slot].live = 0;
    }
    int ci = intern(&c->cats, &c->ncats, category ? category : ""), bi = intern(&c->brands, &c->nbrands, brand ? brand : "");
    c->cat_live = xrealloc(c->cat_live, sizeof *c->cat_live * (size_t)c->ncats);
    c->brand_live = xrealloc(c->brand_live, sizeof *c->brand_live * (size_t)c->nbrands);
    for (; c->ncats_counted < c->ncats; c->ncats_counted++) c->cat_live[c->ncats_counted] = 0;
    for (; c->nbrands_counted < c->nbrands; c->nbrands_counted++) c->brand_live[c->nbrands_counted] = 0;
    vindex_attrs_t attrs = { .category = (uint32_t)ci, .brand = (uint32_t)bi, .flags = (uint32_t)kind };
    if (vindex_upsert(c->vx, (uint64_t)item_key(kind, item_id), vec, &attrs, NULL, 0) != 0) {
        pthread_rwlock_unlock(&c->lock);     /* out of memory: the item stays absent */
        return -1;
    }
    c->ents[slot] = (entry_t){ item_id, product_id, (int)kind, ci, bi, 1 };
    c->live++;
    c->cat_live[ci]++;
    c->brand_live[bi]++;
    *map_cell(&c->imap, item_key(kind, item_id), 1) = slot + 1;
    p = prod_of(c, product_id, 0);     /* the map may have grown: look it up again */
    if (kind == RECOG_CLIP_IMAGE) p->nimg++;
    else p->text = slot + 1;
    pthread_rwlock_unlock(&c->lock);
    return 0;
}

void recog_clip_remove_product(recog_clip_t *c, int64_t product_id)
{
    pthread_rwlock_wrlock(&c->lock);
    prod_t *p = prod_of(c, product_id, 0);
    if (p && p->text) kill_slot(c, p->text - 1);
    for (size_t i = 0; p && p->nimg > 0 && i < c->n; i++)     /* admin deletes are rare: a scan */
        if (c->ents[i].live && c->ents[i].product == product_id) kill_slot(c, i);
    pthread_rwlock_unlock(&c->lock);
}

int recog_clip_has_image(recog_clip_t *c, int64_t product_id)
{
    pthread_rwlock_rdlock(&c->lock);
    prod_t *p = prod_of(c, product_id, 0);
    int r = p && p->nimg > 0;
    pthread_rwlock_unlock(&c->lock);
    return r;
}

int recog_clip_has_text(recog_clip_t *c, int64_t product_id)
{
    pthread_rwlock_rdlock(&c->lock);
    prod_t *p = prod_of(c, product_id, 0);
    int r = p && p->text;
    pthread_rwlock_unlock(&c->lock);
    return r;
}

/* A label is known while a live entry carries it. */
static int has_label(recog_clip_t *c, const char *name, int is_brand)
{
    pthread_rwlock_rdlock(&c->lock);
    int k = is_brand ? intern_find(c->brands, c->nbrands, name) : intern_find(c->cats, c->ncats, name);
    int r = k >= 0 && (is_brand ? c->brand_live[k] : c->cat_live[k]) > 0;
    pthread_rwlock_unlock(&c->lock);
    return r;
}
int recog_clip_has_category(recog_clip_t *c, const char *category) { return has_label(c, category, 0); }
int recog_clip_has_brand(recog_clip_t *c, const char *brand) { return has_label(c, brand, 1); }

static void warm_set(recog_clip_t *c, int state, long done, long total, double ms)
{
    pthread_mutex_lock(&c->warm_lock);
    c->warm.state = state;
    c->warm.done = done;
    c->warm.total = total;
    c->warm.ms = ms;
    pthread_mutex_unlock(&c->warm_lock);
}

void recog_clip_warm_status(recog_clip_t *c, recog_clip_warm_t *out)
{
    pthread_mutex_lock(&c->warm_lock);
    *out = c->warm;
    pthread_mutex_unlock(&c->warm_lock);
    out->computed = zeroshot_computed(c->zs);
}

int recog_clip_warm_labels(recog_clip_t *c, const volatile int *cancel)
{
    int64_t t0 = time_mono_us();
    /* the prompts, exactly as recog_clip_query_prior builds them, copied under the lock */
    pthread_rwlock_rdlock(&c->lock);
    size_t npair = (size_t)c->ncats * (size_t)(c->nbrands ? c->nbrands : 1);
    char *cat_seen = xcalloc((size_t)c->ncats + 1, 1), *pair_seen = xcalloc(npair + 1, 1);
    char **labels = NULL;
    long n = 0, cap = 0;
    /* categories first (every query needs them), then the pairs, at most CLIP_WARM_MAX: more
     * would overflow the label cache, which starts over when full */
    for (int k = 0; k < 2; k++) {
        for (size_t i = 0; i < c->n && n < CLIP_WARM_MAX; i++) {
            const entry_t *e = &c->ents[i];
            if (!e->live) continue;
            char *seen = k ? &pair_seen[(size_t)e->cat * (size_t)c->nbrands + (size_t)e->brand] : &cat_seen[e->cat];
            if (*seen) continue;
            *seen = 1;
            if (n == cap) { cap = cap ? 2 * cap : 64; labels = xrealloc(labels, sizeof *labels * (size_t)cap); }
            buf_t b = { 0 };
            if (k) buf_printf(&b, "%s %s", c->brands[e->brand], c->cats[e->cat]);
            else buf_puts(&b, c->cats[e->cat]);
            labels[n++] = buf_steal(&b);
        }
    }
    pthread_rwlock_unlock(&c->lock);
    free(cat_seen);
    free(pair_seen);
    warm_set(c, 1, 0, n, 0);
    float *emb = xmalloc(sizeof(float) * (size_t)c->dim);
    long done = 0;
    int rc = 0;
    for (long i = 0; i < n; i++) {
        if (cancel && *cancel) { rc = -1; break; }
        if (zeroshot_label_embedding(c->zs, labels[i], emb) != 0) { rc = -1; break; }
        warm_set(c, 1, ++done, n, (double)(time_mono_us() - t0) / 1000.0);
    }
    warm_set(c, rc == 0 ? 2 : 3, done, n, (double)(time_mono_us() - t0) / 1000.0);
    for (long i = 0; i < n; i++) free(labels[i]);
    free(labels);
    free(emb);
    return rc == 0 ? (int)done : -1;
}

typedef struct { int64_t product, item; float s; int cat, brand; } hit_t;

/* Fuses zero-shot over labels ids[0..n) with the neighbours' vote (vote[id] shares) into out,
 * best first, at most RECOG_MAX_LABELS. names: the intern table; prompts: text per label.
 * prior (the operator's classifier, classify.h), when some of its labels name one of these
 * (case-insensitively), takes zero-shot's place, renormalised over them. */
static int fuse(recog_clip_t *c, const float *emb, const int *ids, int n, const char *const *prompts,
                const float *vote, char **names, const recog_label_t *prior, int nprior, recog_label_t *out,
                int *best_id)
{
    zeroshot_score_t *zs = xmalloc(sizeof *zs * (size_t)n);
    float *p = xcalloc((size_t)n, sizeof *p);
    float *cls = xcalloc((size_t)n, sizeof *cls);
    double csum = 0;
    for (int k = 0; k < nprior; k++)
        for (int i = 0; i < n; i++)
            if (!strcasecmp(prior[k].name, names[ids[i]])) { cls[i] += prior[k].confidence; csum += prior[k].confidence; break; }
    if (csum > 0)
        for (int i = 0; i < n; i++) p[i] += CLIP_ZS_WEIGHT * (float)(cls[i] / csum);
    else if (zeroshot_classify(c->zs, emb, prompts, n, zs) == 0)
        for (int i = 0; i < n; i++) p[zs[i].index] += CLIP_ZS_WEIGHT * zs[i].score;
    else
        for (int i = 0; i < n; i++) p[i] += CLIP_ZS_WEIGHT / (float)n;
    double vsum = 0;
    for (int i = 0; i < n; i++) vsum += vote[ids[i]];
    for (int i = 0; i < n; i++)
        p[i] += (1 - CLIP_ZS_WEIGHT) * (vsum > 0 ? (float)(vote[ids[i]] / vsum) : 1.0f / (float)n);
    /* best first; ties keep list order, so out[0] is always *best_id's label */
    int *order = xmalloc(sizeof *order * (size_t)n);
    for (int i = 0; i < n; i++) order[i] = i;
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && p[order[j]] > p[order[j - 1]]; j--) { int t = order[j]; order[j] = order[j - 1]; order[j - 1] = t; }
    *best_id = ids[order[0]];
    int k = n < RECOG_MAX_LABELS ? n : RECOG_MAX_LABELS;
    for (int i = 0; i < k; i++) {
        snprintf(out[i].name, sizeof out[i].name, "%s", names[ids[order[i]]]);
        out[i].confidence = p[order[i]];
    }
    free(order);
    free(p); free(zs); free(cls);
    return k;
}

/* The best cap live entries passing the filters (vindex: int8 scan, the head re-scored
 * exactly in fp32) into hits, best first. *over: there may be passing entries beyond them.
 * Lock held. */
static size_t scan(recog_clip_t *c, const float *emb, int fcat, int fbrand, hit_t *hits, size_t cap, int *over)
{
    uint32_t cat = (uint32_t)fcat, brand = (uint32_t)fbrand;
    vindex_filter_t f = { .categories = fcat >= 0 ? &cat : NULL, .n_categories = fcat >= 0,
                          .brands = fbrand >= 0 ? &brand : NULL, .n_brands = fbrand >= 0 };
    vindex_search_opts_t o = { .filter = fcat >= 0 || fbrand >= 0 ? &f : NULL, .rerank = (uint32_t)cap };
    vindex_hit_t *vh = xmalloc(sizeof *vh * cap);
    int got = vindex_search(c->vx, emb, cap, &o, vh);
    size_t nh = 0;
    for (int k = 0; k < got; k++) {
        size_t slot = map_get(&c->imap, (int64_t)vh[k].id);
        if (!slot) continue;       /* cannot happen: the index and the map change together */
        const entry_t *e = &c->ents[slot - 1];
        hits[nh++] = (hit_t){ e->product, e->kind == RECOG_CLIP_IMAGE ? e->item : 0, vh[k].score, e->cat, e->brand };
    }
    *over = got > 0 && (size_t)got == cap && cap < vindex_count(c->vx);
    free(vh);
    return nh;
}

/* Do sorted hits hold at least want distinct products? */
static int distinct_at_least(const hit_t *hits, size_t nh, size_t want)
{
    size_t d = 0;
    for (size_t i = 0; i < nh && d < want; i++) {
        int dup = 0;
        for (size_t j = 0; j < i && !dup; j++) dup = hits[j].product == hits[i].product;
        d += !dup;
    }
    return d >= want;
}

int recog_clip_query(recog_clip_t *c, const float *emb, const recog_query_t *q, recog_result_t *out)
{
    return recog_clip_query_prior(c, emb, q, NULL, 0, out);
}

int recog_clip_query_prior(recog_clip_t *c, const float *emb, const recog_query_t *q, const recog_label_t *prior,
                           int nprior, recog_result_t *out)
{
    if (!c || !emb || !q || !out) return -1;
    memset(out, 0, sizeof *out);
    int top_k = q->top_k < 1 ? 1 : q->top_k > RECOG_MAX_MATCHES ? RECOG_MAX_MATCHES : q->top_k;
    pthread_rwlock_rdlock(&c->lock);
    int fcat = q->category ? intern_find(c->cats, c->ncats, q->category) : -1;
    int fbrand = q->brand ? intern_find(c->brands, c->nbrands, q->brand) : -1;
    if ((q->category && fcat < 0) || (q->brand && fbrand < 0) || !c->live) {
        pthread_rwlock_unlock(&c->lock);
        return 0;     /* an unknown filter value or an empty catalog matches nothing */
    }
    /* 1. exact scan keeping the best CLIP_HEAD entries, best first; best entry per product.
     * When products with many images crowd the head below RECOG_MAX_MATCHES distinct
     * products, the scan runs again keeping everything. */
    size_t cap = CLIP_HEAD, nh;
    hit_t *hits;
    for (;;) {
        hits = xmalloc(sizeof *hits * (cap < c->n ? cap : c->n));
        int over = 0;
        nh = scan(c, emb, fcat, fbrand, hits, cap < c->n ? cap : c->n, &over);
        if (!over || cap >= c->n || distinct_at_least(hits, nh, RECOG_MAX_MATCHES)) break;
        free(hits);
        cap = c->n;
    }
    size_t np = 0;      /* dedupe by product, keeping the first (best); only the head matters */
    for (size_t i = 0; i < nh && np < RECOG_MAX_MATCHES; i++) {
        int dup = 0;
        for (size_t j = 0; j < np && !dup; j++) dup = hits[j].product == hits[i].product;
        if (!dup) hits[np++] = hits[i];
    }
    for (size_t i = 0; i < np && (int)i < top_k; i++) {
        out->matches[i] = (recog_match_t){ hits[i].product, hits[i].item, hits[i].s > 0 ? hits[i].s : 0, hits[i].s, 0 };
        out->n_matches++;
    }
    if (!np) { free(hits); pthread_rwlock_unlock(&c->lock); return 0; }
    /* 2. category: zero-shot over the (filtered) category list + the neighbours' vote */
    float *cvote = xcalloc((size_t)c->ncats, sizeof *cvote), *bvote = xcalloc((size_t)c->nbrands, sizeof *bvote);
    for (size_t i = 0; i < np && i < CLIP_VOTE_N; i++) cvote[hits[i].cat] += expf((hits[i].s - hits[0].s) / CLIP_VOTE_T);
    int *ids = xmalloc(sizeof *ids * (size_t)(c->ncats > c->nbrands ? c->ncats : c->nbrands));
    const char **prompts = xmalloc(sizeof *prompts * (size_t)(c->ncats > c->nbrands ? c->ncats : c->nbrands));
    char *seen = xcalloc((size_t)(c->ncats > c->nbrands ? c->ncats : c->nbrands), 1);
    int n = 0;
    for (size_t i = 0; i < c->n; i++) {     /* labels present among the live, filtered entries */
        const entry_t *e = &c->ents[i];
        if (!e->live || seen[e->cat] || (fcat >= 0 && e->cat != fcat) || (fbrand >= 0 && e->brand != fbrand)) continue;
        seen[e->cat] = 1;
        ids[n] = e->cat;
        prompts[n] = c->cats[e->cat];
        n++;
    }
    int best_cat = -1, best_brand = -1;
    out->n_categories = fuse(c, emb, ids, n, prompts, cvote, c->cats, prior, nprior, out->categories, &best_cat);
    /* 3. brand: over the brands of the chosen category, prompts "<brand> <category>" */
    for (size_t i = 0; i < np && i < CLIP_VOTE_N; i++)
        if (hits[i].cat == best_cat) bvote[hits[i].brand] += expf((hits[i].s - hits[0].s) / CLIP_VOTE_T);
    memset(seen, 0, (size_t)(c->ncats > c->nbrands ? c->ncats : c->nbrands));
    n = 0;
    char **ptxt = xmalloc(sizeof *ptxt * (size_t)c->nbrands);
    for (size_t i = 0; i < c->n; i++) {
        const entry_t *e = &c->ents[i];
        if (!e->live || seen[e->brand] || e->cat != best_cat || (fbrand >= 0 && e->brand != fbrand)) continue;
        seen[e->brand] = 1;
        ids[n] = e->brand;
        buf_t b = { 0 };
        buf_printf(&b, "%s %s", c->brands[e->brand], c->cats[best_cat]);
        ptxt[n] = buf_steal(&b);
        prompts[n] = ptxt[n];
        n++;
    }
    out->n_brands = n ? fuse(c, emb, ids, n, prompts, bvote, c->brands, NULL, 0, out->brands, &best_brand) : 0;
    for (int i = 0; i < n; i++) free(ptxt[i]);
    free(ptxt); free(seen); free(prompts); free(ids); free(cvote); free(bvote); free(hits);
    pthread_rwlock_unlock(&c->lock);
    return 0;
}
