/* refresh.c — background recompute of missing catalog features (see refresh.h).
 *
 * What is missing is decided from the store, not the engine: an image is complete when its
 * feature vector and template are stored under the current collection names (and, with
 * CLIP, its image embedding); the engine loaded exactly those at start. The work list is
 * built once per run from id sets read in item order, so a catalog of 10^5 images costs a
 * few sorted arrays, not a query per image. */
#include "recog/refresh.h"
#include "recog/clipmatch.h"
#include "recog/recognize.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "store/catalog.h"
#include "vision/features.h"
#include "vision/intake.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_PHOTO_BYTES (64u << 20)   /* a stored catalog photo larger than this is not read */

struct recog_refresh {
    store_t *st;
    recog_engine_t *e;
    blob_store_t *blobs;
    recog_refresh_opts_t o;
    pthread_t th;
    volatile int cancel;
    pthread_mutex_t mu;          /* guards s */
    recog_refresh_status_t s;
};

typedef struct { int64_t *v; size_t n, cap; } idset_t;
typedef struct { int64_t id; char *category, *brand; } label_t;
typedef struct { int64_t image, product; } image_t;

static void ids_push(idset_t *s, int64_t id)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 1024;
        s->v = xrealloc(s->v, sizeof *s->v * s->cap);
    }
    s->v[s->n++] = id;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int ids_has(const idset_t *s, int64_t id)
{
    return s->n && bsearch(&id, s->v, s->n, sizeof *s->v, cmp_i64) != NULL;
}

static int on_vector_id(void *ctx, int64_t id, int dim, const void *data, size_t len)
{
    (void)dim; (void)data; (void)len;
    ids_push(ctx, id);
    return 0;
}

/* The ids stored in a collection, sorted. 0 or -1 (store error). */
static int collection_ids(store_t *st, const char *collection, idset_t *out)
{
    if (store_vector_each(st, collection, on_vector_id, out) != STORE_OK) return -1;
    if (out->n) qsort(out->v, out->n, sizeof *out->v, cmp_i64);   /* in item order already; cheap to make sure */
    return 0;
}

typedef struct { label_t *v; size_t n, cap; } labels_t;
typedef struct { image_t *v; size_t n, cap; } images_t;

static int on_label(void *ctx, int64_t id, const char *cat, const char *brand)
{
    labels_t *L = ctx;
    if (L->n == L->cap) { L->cap = L->cap ? 2 * L->cap : 256; L->v = xrealloc(L->v, sizeof *L->v * L->cap); }
    L->v[L->n++] = (label_t){ id, xstrdup(cat ? cat : ""), xstrdup(brand ? brand : "") };
    return 0;
}

static int on_image(void *ctx, int64_t image, int64_t product)
{
    images_t *I = ctx;
    if (I->n == I->cap) { I->cap = I->cap ? 2 * I->cap : 256; I->v = xrealloc(I->v, sizeof *I->v * I->cap); }
    I->v[I->n++] = (image_t){ image, product };
    return 0;
}

static int cmp_label(const void *a, const void *b) { return cmp_i64(&((const label_t *)a)->id, &((const label_t *)b)->id); }

static const label_t *find_label(const labels_t *L, int64_t product)
{
    label_t k = { product, NULL, NULL };
    return L->n ? bsearch(&k, L->v, L->n, sizeof *L->v, cmp_label) : NULL;
}

/* One unit of work: an image (classic features and/or CLIP) or an imageless product's text. */
typedef struct { int64_t id, product; unsigned char text, classic, clip; } item_t;

static void set_status(recog_refresh_t *r, recog_refresh_state_t state, long done, long total, long failed)
{
    pthread_mutex_lock(&r->mu);
    r->s = (recog_refresh_status_t){ state, done, total, failed };
    pthread_mutex_unlock(&r->mu);
}

/* Recomputes what one image lacks from its stored photo. 0, or -1 with why. */
static int refresh_image(recog_refresh_t *r, const item_t *it, const label_t *lab, char *why, size_t cap)
{
    recog_clip_t *clip = it->clip ? recog_engine_clip(r->e) : NULL;
    char *key = NULL, berr[200];
    buf_t photo = { 0 };
    vision_intake_t in;
    memset(&in, 0, sizeof in);
    float *vec = xmalloc(sizeof(float) * FEATURES_DIM);
    features_template_t *tpl = xmalloc(sizeof *tpl);
    float *cv = clip ? xmalloc(sizeof(float) * (size_t)recog_clip_dim(clip)) : NULL;
    int rc = -1;
    if (store_product_image_blob(r->st, it->id, &key) != STORE_OK || !key) {
        snprintf(why, cap, "no stored photo (remote images are not fetched)");
        goto out;
    }
    if (blob_get(r->blobs, key, MAX_PHOTO_BYTES, &photo, berr, sizeof berr) != BLOB_OK) {
        snprintf(why, cap, "photo %s: %s", key, berr);
        goto out;
    }
    vision_intake_options_t opt;
    vision_intake_options_default(&opt);
    opt.input_size = clip ? recog_clip_image_size(clip) : 32;   /* classic alone needs no model tensor */
    opt.max_file_bytes = MAX_PHOTO_BYTES;
    if (vision_intake_bytes((const uint8_t *)photo.data, photo.len, &opt, &in) != 0) {
        snprintf(why, cap, "photo %s: %s", key, in.error.message);
        goto out;
    }
    /* everything is computed before the first write, so a failure leaves nothing behind */
    if (it->classic && recog_intake_features(&in, vec, tpl) != 0) {
        snprintf(why, cap, "photo %s: too small to describe", key);
        goto out;
    }
    if (clip && recog_clip_embed_image(clip, in.tensor, cv) != 0) {
        snprintf(why, cap, "photo %s: CLIP embedding failed", key);
        goto out;
    }
    if (it->classic) {
        char eerr[200];
        if (store_vector_put(r->st, RECOG_FEATURES_COLLECTION, it->id, FEATURES_DIM, vec, sizeof(float) * FEATURES_DIM) != STORE_OK ||
            store_vector_put(r->st, RECOG_TEMPLATES_COLLECTION, it->id, (int)sizeof *tpl, tpl, sizeof *tpl) != STORE_OK) {
            snprintf(why, cap, "the data store failed");
            goto out;
        }
        if (recog_engine_add(r->e, it->id, it->product, lab->category, lab->brand, vec, tpl, eerr, sizeof eerr) != 0) {
            snprintf(why, cap, "%s", eerr);
            goto out;
        }
    }
    if (clip) {
        int dim = recog_clip_dim(clip);
        if (store_vector_put(r->st, recog_clip_collection(clip, RECOG_CLIP_IMAGE), it->id, dim, cv,
                             sizeof(float) * (size_t)dim) != STORE_OK) {
            snprintf(why, cap, "the data store failed");
            goto out;
        }
        /* the product has a photo embedding now: its text stand-in is retired */
        store_vector_delete(r->st, recog_clip_collection(clip, RECOG_CLIP_TEXT), it->product);
        recog_clip_add(clip, RECOG_CLIP_IMAGE, it->id, it->product, lab->category, lab->brand, cv);
    }
    rc = 0;
out:
    vision_intake_free(&in);
    buf_free(&photo);
    free(key);
    free(vec);
    free(tpl);
    free(cv);
    return rc;
}

/* Old feature versions are dropped once every image has current ones. */
static void drop_old_versions(recog_refresh_t *r)
{
    char name[64];
    for (int v = 1; v < FEATURES_VERSION; v++) {
        snprintf(name, sizeof name, "product_features_v%d", v);
        store_vector_collection_delete(r->st, name);
        snprintf(name, sizeof name, "product_templates_v%d", v);
        store_vector_collection_delete(r->st, name);
    }
}

/* The pause between batches, in slices, so a stop never waits for it. */
static void pause_ms(recog_refresh_t *r, int ms)
{
    for (int left = ms; left > 0 && !r->cancel; left -= 20) {
        int step = left < 20 ? left : 20;
        struct timespec ts = { 0, (long)step * 1000000L };
        nanosleep(&ts, NULL);
    }
}

static void *refresh_main(void *arg)
{
    recog_refresh_t *r = arg;
    recog_clip_t *clip = recog_engine_clip(r->e);
    labels_t L = { 0 };
    images_t I = { 0 };
    idset_t feat = { 0 }, tpl = { 0 }, cimg = { 0 }, ctext = { 0 }, with_image = { 0 };
    item_t *items = NULL;
    size_t n = 0;
    long done = 0, failed = 0;
    set_status(r, RECOG_REFRESH_RUNNING, 0, 0, 0);
    if (store_product_labels_each(r->st, on_label, &L) != STORE_OK ||
        store_product_images_each(r->st, on_image, &I) != STORE_OK ||
        collection_ids(r->st, RECOG_FEATURES_COLLECTION, &feat) != 0 ||
        collection_ids(r->st, RECOG_TEMPLATES_COLLECTION, &tpl) != 0 ||
        (clip && (collection_ids(r->st, recog_clip_collection(clip, RECOG_CLIP_IMAGE), &cimg) != 0 ||
                  collection_ids(r->st, recog_clip_collection(clip, RECOG_CLIP_TEXT), &ctext) != 0))) {
        log_warn("recognition: cannot read the catalog to find missing features");
        set_status(r, RECOG_REFRESH_FAILED, 0, 0, 0);
        goto out;
    }
    if (L.n) qsort(L.v, L.n, sizeof *L.v, cmp_label);
    items = xmalloc(sizeof *items * (I.n + L.n + 1));
    for (size_t i = 0; i < I.n; i++) {
        ids_push(&with_image, I.v[i].product);
        if (!find_label(&L, I.v[i].product)) continue;   /* product deleted since */
        item_t it = { I.v[i].image, I.v[i].product, 0, 0, 0 };
        it.classic = !ids_has(&feat, it.id) || !ids_has(&tpl, it.id);
        it.clip = clip && !ids_has(&cimg, it.id);
        if (it.classic || it.clip) items[n++] = it;
    }
    if (with_image.n) qsort(with_image.v, with_image.n, sizeof *with_image.v, cmp_i64);
    for (size_t i = 0; clip && i < L.n; i++)
        if (!ids_has(&with_image, L.v[i].id) && !ids_has(&ctext, L.v[i].id))
            items[n++] = (item_t){ L.v[i].id, L.v[i].id, 1, 0, 0 };
    set_status(r, RECOG_REFRESH_RUNNING, 0, (long)n, 0);
    if (n) log_info("recognition: %zu catalog items lack current features (version %d%s); recomputing them in the background",
                    n, FEATURES_VERSION, clip ? ", CLIP" : "");
    int batch = r->o.batch > 0 ? r->o.batch : 16;
    int64_t t0 = time_mono_us(), last_log = t0;
    for (size_t i = 0; i < n && !r->cancel; i++) {
        const item_t *it = &items[i];
        char why[300] = "";
        int rc;
        if (it->text) rc = recog_product_text_refresh(r->st, r->e, it->product);
        else rc = refresh_image(r, it, find_label(&L, it->product), why, sizeof why);
        if (rc != 0) {
            failed++;
            log_warn("recognition: %s %lld skipped: %s", it->text ? "product" : "catalog image", (long long)it->id,
                     it->text ? "text embedding failed" : why);
        } else done++;
        set_status(r, RECOG_REFRESH_RUNNING, done, (long)n, failed);
        if ((i + 1) % (size_t)batch == 0 || i + 1 == n) {
            int64_t now = time_mono_us();
            if (now - last_log > 5000000 || i + 1 == n) {
                log_info("recognition: features recomputed for %ld of %zu (%ld failed, %.1f s)", done, n, failed,
                         (double)(now - t0) / 1e6);
                last_log = now;
            }
            if (r->o.pause_ms > 0 && i + 1 < n) pause_ms(r, r->o.pause_ms);
        }
    }
    if (r->cancel) {
        set_status(r, RECOG_REFRESH_FAILED, done, (long)n, failed);
        goto out;
    }
    if (!failed) drop_old_versions(r);
    set_status(r, RECOG_REFRESH_DONE, done, (long)n, failed);
    if (r->o.on_done) r->o.on_done(r->o.ctx, &r->cancel);
out:
    for (size_t i = 0; i < L.n; i++) { free(L.v[i].category); free(L.v[i].brand); }
    free(L.v);
    free(I.v);
    free(feat.v); free(tpl.v); free(cimg.v); free(ctext.v); free(with_image.v);
    free(items);
    return NULL;
}

recog_refresh_t *recog_refresh_start(store_t *st, recog_engine_t *e, blob_store_t *blobs,
                                     const recog_refresh_opts_t *opts)
{
    if (!st || !e || !blobs) return NULL;
    recog_refresh_t *r = xcalloc(1, sizeof *r);
    r->st = st;
    r->e = e;
    r->blobs = blobs;
    if (opts) r->o = *opts;
    pthread_mutex_init(&r->mu, NULL);
    if (pthread_create(&r->th, NULL, refresh_main, r) != 0) {
        pthread_mutex_destroy(&r->mu);
        free(r);
        return NULL;
    }
    return r;
}

void recog_refresh_stop(recog_refresh_t *r)
{
    if (!r) return;
    r->cancel = 1;
    pthread_join(r->th, NULL);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

void recog_refresh_status(recog_refresh_t *r, recog_refresh_status_t *out)
{
    if (!r) { memset(out, 0, sizeof *out); return; }
    pthread_mutex_lock(&r->mu);
    *out = r->s;
    pthread_mutex_unlock(&r->mu);
}

const char *recog_refresh_state_name(recog_refresh_state_t s)
{
    switch (s) {
    case RECOG_REFRESH_RUNNING: return "running";
    case RECOG_REFRESH_DONE:    return "done";
    case RECOG_REFRESH_FAILED:  return "failed";
    default:                    return "idle";
    }
}

json_t *recog_refresh_status_json(recog_refresh_t *r)
{
    recog_refresh_status_t s;
    recog_refresh_status(r, &s);
    return json_pack("{s:i, s:s, s:I, s:I, s:I}", "features_version", FEATURES_VERSION, "state",
                     recog_refresh_state_name(s.state), "done", (json_int_t)s.done, "total", (json_int_t)s.total,
                     "failed", (json_int_t)s.failed);
}
