/* engine.c — see engine.h. Image slots are dense (slot number = the vector index id), so a
 * hit maps to its product and template without a lookup; a small open-addressing table
 * maps catalog image ids to slots for replacement. */
#include "recog/engine.h"
#include "recog/verify.h"
#include "recog/localmatch.h"
#include "recog/clipmatch.h"
#include "index/vindex.h"
#include "core/buf.h"
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct {
    int64_t image_id, product_id;
    uint32_t category, brand;        /* indexes into the name tables */
    features_template_t *tpl;
    int live;
} slot_t;

struct recog_engine {
    pthread_rwlock_t lock;
    vindex_t *ix;
    slot_t   *slots;
    size_t    nslots, cap, live;
    int64_t  *map_keys;              /* image id -> slot + 1 (0 = empty) */
    size_t   *map_vals;
    size_t    map_cap;
    char    **cats, **brands;
    size_t    ncats, nbrands;
    struct recog_clip *clip;         /* CLIP matcher when loaded (owned) */
};

static size_t hash64(int64_t k) { uint64_t x = (uint64_t)k * 0x9E3779B97F4A7C15ULL; return (size_t)(x ^ (x >> 29)); }

static void map_put(recog_engine_t *e, int64_t key, size_t slot);

static void map_grow(recog_engine_t *e)
{
    size_t old = e->map_cap;
    int64_t *ok = e->map_keys;
    size_t *ov = e->map_vals;
    e->map_cap = old ? old * 2 : 1024;
    e->map_keys = xcalloc(e->map_cap, sizeof *e->map_keys);
    e->map_vals = xcalloc(e->map_cap, sizeof *e->map_vals);
    for (size_t i = 0; i < old; i++)
        if (ov[i]) map_put(e, ok[i], ov[i] - 1);
    free(ok);
    free(ov);
}

static void map_put(recog_engine_t *e, int64_t key, size_t slot)
{
    if ((e->nslots + 1) * 2 > e->map_cap) map_grow(e);
    size_t i = hash64(key) & (e->map_cap - 1);
    while (e->map_vals[i] && e->map_keys[i] != key) i = (i + 1) & (e->map_cap - 1);
    e->map_keys[i] = key;
    e->map_vals[i] = slot + 1;
}

static long map_get(const recog_engine_t *e, int64_t key)
{
    if (!e->map_cap) return -1;
    size_t i = hash64(key) & (e->map_cap - 1);
    while (e->map_vals[i]) {
        if (e->map_keys[i] == key) return (long)e->map_vals[i] - 1;
        i = (i + 1) & (e->map_cap - 1);
    }
    return -1;
}

/* Index of name in a table (case-insensitive), adding it when add is set; -1 unknown. */
static long name_id(char ***tab, size_t *n, const char *name, int add)
{
    for (size_t i = 0; i < *n; i++)
        if (!strcasecmp((*tab)[i], name)) return (long)i;
    if (!add) return -1;
    *tab = xrealloc(*tab, sizeof **tab * (*n + 1));
    (*tab)[*n] = xstrdup(name);
    return (long)(*n)++;
}

recog_engine_t *recog_engine_new(void)
{
    recog_engine_t *e = xcalloc(1, sizeof *e);
    vindex_params_t p;
    vindex_params_default(&p, FEATURES_DIM, VINDEX_IP);
    char err[200];
    e->ix = vindex_create(&p, err, sizeof err);
    if (!e->ix) { free(e); return NULL; }
    pthread_rwlock_init(&e->lock, NULL);
    return e;
}

void recog_engine_free(recog_engine_t *e)
{
    if (!e) return;
    recog_clip_free(e->clip);
    vindex_free(e->ix);
    for (size_t i = 0; i < e->nslots; i++) free(e->slots[i].tpl);
    for (size_t i = 0; i < e->ncats; i++) free(e->cats[i]);
    for (size_t i = 0; i < e->nbrands; i++) free(e->brands[i]);
    free(e->cats);
    free(e->brands);
    free(e->slots);
    free(e->map_keys);
    free(e->map_vals);
    pthread_rwlock_destroy(&e->lock);
    free(e);
}

size_t recog_engine_count(recog_engine_t *e)
{
    pthread_rwlock_rdlock(&e->lock);
    size_t n = e->live;
    pthread_rwlock_unlock(&e->lock);
    return n;
}

int recog_engine_add(recog_engine_t *e, int64_t image_id, int64_t product_id, const char *category,
                     const char *brand, const float *vec, const features_template_t *tpl, char *err,
                     size_t errlen)
{
    if (!vec || !tpl || !category || !brand) {
        snprintf(err, errlen, "missing vector, template, category or brand");
        return -1;
    }
    pthread_rwlock_wrlock(&e->lock);
    long s = map_get(e, image_id);
    if (s < 0) {
        if (e->nslots == e->cap) {
            e->cap = e->cap ? e->cap * 2 : 256;
            e->slots = xrealloc(e->slots, sizeof *e->slots * e->cap);
        }
        s = (long)e->nslots++;
        memset(&e->slots[s], 0, sizeof e->slots[s]);
        e->slots[s].tpl = xmalloc(sizeof *tpl);
        map_put(e, image_id, (size_t)s);
    }
    slot_t *sl = &e->slots[s];
    vindex_attrs_t a = { 0 };
    sl->category = a.category = (uint32_t)name_id(&e->cats, &e->ncats, category, 1);
    sl->brand = a.brand = (uint32_t)name_id(&e->brands, &e->nbrands, brand, 1);
    int rc = vindex_upsert(e->ix, (uint64_t)s, vec, &a, err, errlen);
    if (rc == 0) {
        if (!sl->live) e->live++;
        sl->live = 1;
        sl->image_id = image_id;
        sl->product_id = product_id;
        memcpy(sl->tpl, tpl, sizeof *tpl);
        recog_verify_blur(sl->tpl);     /* once here instead of once per query */
    }
    pthread_rwlock_unlock(&e->lock);
    return rc;
}

void recog_engine_remove_product(recog_engine_t *e, int64_t product_id)
{
    pthread_rwlock_wrlock(&e->lock);
    for (size_t i = 0; i < e->nslots; i++)
        if (e->slots[i].live && e->slots[i].product_id == product_id) {
            vindex_delete(e->ix, i);
            e->slots[i].live = 0;
            e->live--;
        }
    pthread_rwlock_unlock(&e->lock);
    if (e->clip) recog_clip_remove_product(e->clip, product_id);
}

int recog_engine_has_category(recog_engine_t *e, const char *category)
{
    pthread_rwlock_rdlock(&e->lock);
    int r = name_id(&e->cats, &e->ncats, category, 0) >= 0;
    pthread_rwlock_unlock(&e->lock);
    return r;
}

int recog_engine_has_brand(recog_engine_t *e, const char *brand)
{
    pthread_rwlock_rdlock(&e->lock);
    int r = name_id(&e->brands, &e->nbrands, brand, 0) >= 0;
    pthread_rwlock_unlock(&e->lock);
    return r;
}

static int by_score(const void *a, const void *b)
{
    float x = ((const recog_match_t *)a)->score, y = ((const recog_match_t *)b)->score;
    if (x != y) return x < y ? 1 : -1;
    int64_t p = ((const recog_match_t *)a)->product_id, q = ((const recog_match_t *)b)->product_id;
    return p < q ? -1 : p > q;
}

static int by_confidence(const void *a, const void *b)
{
    float x = ((const recog_label_t *)a)->confidence, y = ((const recog_label_t *)b)->confidence;
    if (x != y) return x < y ? 1 : -1;
    return strcmp(((const recog_label_t *)a)->name, ((const recog_label_t *)b)->name);
}

/* Vote shares of the names (table tab) of the top products; fills labels, sorted. */
static int vote(const recog_match_t *m, int n, const uint32_t *ids, char **tab, size_t ntab,
                recog_label_t *labels)
{
    if (n == 0) return 0;
    double *w = xcalloc(ntab ? ntab : 1, sizeof *w), total = 0;
    for (int i = 0; i < n && i < RECOG_VOTE_N; i++) {
        double x = exp((m[i].score - m[0].score) / RECOG_VOTE_T);
        w[ids[i]] += x;
        total += x;
    }
    int k = 0;
    for (size_t c = 0; c < ntab && k < RECOG_MAX_LABELS; c++)
        if (w[c] > 0) {
            snprintf(labels[k].name, sizeof labels[k].name, "%s", tab[c]);
            labels[k].confidence = (float)(w[c] / total);
            k++;
        }
    free(w);
    qsort(labels, (size_t)k, sizeof *labels, by_confidence);
    return k;
}

int recog_engine_query(recog_engine_t *e, const float *vec, const features_template_t *tpl,
                       const recog_query_t *q, recog_result_t *out)
{
    if (!vec || !tpl || !q || !out) return -1;
    memset(out, 0, sizeof *out);
    int top_k = q->top_k < 1 ? 5 : q->top_k > RECOG_MAX_MATCHES ? RECOG_MAX_MATCHES : q->top_k;
    pthread_rwlock_rdlock(&e->lock);
    vindex_filter_t f = { 0 };
    uint32_t cat_id = 0, brand_id = 0;
    int empty = 0;
    if (q->category) {
        long c = name_id(&e->cats, &e->ncats, q->category, 0);
        if (c < 0) empty = 1;
        cat_id = (uint32_t)c;
        f.categories = &cat_id;
        f.n_categories = 1;
    }
    if (q->brand) {
        long b = name_id(&e->brands, &e->nbrands, q->brand, 0);
        if (b < 0) empty = 1;
        brand_id = (uint32_t)b;
        f.brands = &brand_id;
        f.n_brands = 1;
    }
    features_template_t *photo = malloc(sizeof *photo);
    if (!photo) { pthread_rwlock_unlock(&e->lock); return -1; }
    *photo = *tpl;
    recog_verify_blur(photo);
    vindex_hit_t hits[RECOG_CANDIDATES];
    vindex_search_opts_t so = { .filter = (q->category || q->brand) ? &f : NULL, .ef = 128 };
    int nh = empty ? 0 : vindex_search(e->ix, vec, RECOG_CANDIDATES, &so, hits);
    if (nh < 0) { pthread_rwlock_unlock(&e->lock); free(photo); return -1; }
    /* stage 2: local features on every candidate */
    recog_match_t img[RECOG_CANDIDATES];
    float s1[RECOG_CANDIDATES];
    for (int i = 0; i < nh; i++) {
        const slot_t *s = &e->slots[hits[i].id];
        recog_local_t lr;
        int n = recog_local_match(&photo->kp, &s->tpl->kp, &lr);
        float local = n / (n + RECOG_LOCAL_HALF);
        img[i] = (recog_match_t){ s->product_id, s->image_id, 0, hits[i].score, 0 };
        s1[i] = hits[i].score + RECOG_MU * local;
    }
    /* stage 3: pixel alignment for the stage-2 leaders only (the costly check) */
    for (int i = 0; i < nh; i++) {
        int above = 0;
        for (int j = 0; j < nh; j++) above += s1[j] > s1[i] || (s1[j] == s1[i] && j < i);
        if (above < RECOG_VERIFY_TOP) img[i].verify = recog_verify_blurred(photo, e->slots[hits[i].id].tpl);
        float score = (s1[i] + RECOG_LAMBDA * img[i].verify) / (1 + RECOG_MU + RECOG_LAMBDA);
        img[i].score = score < 0 ? 0 : score;
    }
    /* the best image per product */
    recog_match_t cand[RECOG_CANDIDATES];
    uint32_t cats[RECOG_CANDIDATES], brands[RECOG_CANDIDATES];
    int nc = 0;
    for (int i = 0; i < nh; i++) {
        const slot_t *s = &e->slots[hits[i].id];
        int j;
        for (j = 0; j < nc; j++)
            if (cand[j].product_id == s->product_id) break;
        if (j == nc) {
            cand[nc] = img[i];
            cats[nc] = s->category;
            brands[nc] = s->brand;
            nc++;
        } else if (img[i].score > cand[j].score) {
            cand[j] = img[i];
        }
    }
    /* sort candidates with their labels together */
    for (int i = 1; i < nc; i++)
        for (int j = i; j > 0 && by_score(&cand[j - 1], &cand[j]) > 0; j--) {
            recog_match_t t = cand[j]; cand[j] = cand[j - 1]; cand[j - 1] = t;
            uint32_t c = cats[j]; cats[j] = cats[j - 1]; cats[j - 1] = c;
            uint32_t b = brands[j]; brands[j] = brands[j - 1]; brands[j - 1] = b;
        }
    out->n_categories = vote(cand, nc, cats, e->cats, e->ncats, out->categories);
    out->n_brands = vote(cand, nc, brands, e->brands, e->nbrands, out->brands);
    pthread_rwlock_unlock(&e->lock);
    free(photo);
    out->n_matches = nc < top_k ? nc : top_k;
    memcpy(out->matches, cand, sizeof *cand * (size_t)out->n_matches);
    return 0;
}

void recog_engine_set_clip(recog_engine_t *e, struct recog_clip *c)
{
    if (e->clip != c) recog_clip_free(e->clip);
    e->clip = c;
}

struct recog_clip *recog_engine_clip(recog_engine_t *e) { return e ? e->clip : NULL; }
