/* recognize.c — engine loading from the store, the recognition response, catalog import
 * and the starter catalog (see recognize.h). */
#include "recog/recognize.h"
#include "recog/classify.h"
#include "recog/clipmatch.h"
#include "blob/blob.h"
#include "catalog/catalog.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "ml/zeroshot.h"
#include "store/catalog.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- loading ---- */

typedef struct { int64_t id; char *category, *brand; } label_t;
typedef struct { int64_t image, product; } imgmap_t;
typedef struct { int64_t image; float *vec; } vecrow_t;

typedef struct {
    label_t  *labels; size_t nl, cl;
    imgmap_t *imgs;   size_t ni, ci;
    vecrow_t *vecs;   size_t nv, cv;
    recog_engine_t *e;
    long added;
    char *err; size_t errlen;
} loader_t;

static int on_label(void *ctx, int64_t id, const char *cat, const char *brand)
{
    loader_t *L = ctx;
    if (L->nl == L->cl) { L->cl = L->cl ? 2 * L->cl : 256; L->labels = xrealloc(L->labels, sizeof *L->labels * L->cl); }
    L->labels[L->nl++] = (label_t){ id, xstrdup(cat ? cat : ""), xstrdup(brand ? brand : "") };
    return 0;
}

static int on_image(void *ctx, int64_t image, int64_t product)
{
    loader_t *L = ctx;
    if (L->ni == L->ci) { L->ci = L->ci ? 2 * L->ci : 256; L->imgs = xrealloc(L->imgs, sizeof *L->imgs * L->ci); }
    L->imgs[L->ni++] = (imgmap_t){ image, product };
    return 0;
}

static int on_vector(void *ctx, int64_t image, int dim, const void *data, size_t len)
{
    loader_t *L = ctx;
    if (dim != FEATURES_DIM || len != sizeof(float) * FEATURES_DIM) return 0;   /* older layout: skipped */
    if (L->nv == L->cv) { L->cv = L->cv ? 2 * L->cv : 256; L->vecs = xrealloc(L->vecs, sizeof *L->vecs * L->cv); }
    float *v = xmalloc(len);
    memcpy(v, data, len);   /* blob bytes carry no alignment promise */
    L->vecs[L->nv++] = (vecrow_t){ image, v };
    return 0;
}

static int cmp_label(const void *a, const void *b)
{
    int64_t x = ((const label_t *)a)->id, y = ((const label_t *)b)->id;
    return x < y ? -1 : x > y;
}
static int cmp_img(const void *a, const void *b)
{
    int64_t x = ((const imgmap_t *)a)->image, y = ((const imgmap_t *)b)->image;
    return x < y ? -1 : x > y;
}

static int on_template(void *ctx, int64_t image, int dim, const void *data, size_t len)
{
    loader_t *L = ctx;
    (void)dim;
    if (len != sizeof(features_template_t)) return 0;
    /* vectors and templates both come ordered by image id: advance a cursor */
    size_t lo = 0, hi = L->nv;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (L->vecs[mid].image < image) lo = mid + 1; else hi = mid;
    }
    if (lo == L->nv || L->vecs[lo].image != image || !L->ni || !L->nl) return 0;
    imgmap_t key = { image, 0 }, *im = bsearch(&key, L->imgs, L->ni, sizeof *L->imgs, cmp_img);
    if (!im) return 0;
    label_t lk = { im->product, NULL, NULL }, *lab = bsearch(&lk, L->labels, L->nl, sizeof *L->labels, cmp_label);
    if (!lab) return 0;
    features_template_t *t = xmalloc(sizeof *t);
    memcpy(t, data, sizeof *t);
    int rc = recog_engine_add(L->e, image, im->product, lab->category, lab->brand, L->vecs[lo].vec, t, L->err, L->errlen);
    free(t);
    if (rc == 0) L->added++;
    return rc;
}

/* ---- CLIP entries ---- */

typedef struct { loader_t *L; recog_clip_t *c; long images, texts; } cliploader_t;

static label_t *find_label(loader_t *L, int64_t product)
{
    label_t lk = { product, NULL, NULL };
    return L->nl ? bsearch(&lk, L->labels, L->nl, sizeof *L->labels, cmp_label) : NULL;
}

static int on_clip_image(void *ctx, int64_t image, int dim, const void *data, size_t len)
{
    cliploader_t *C = ctx;
    if (dim != recog_clip_dim(C->c) || len != sizeof(float) * (size_t)dim || !C->L->ni) return 0;
    imgmap_t key = { image, 0 }, *im = bsearch(&key, C->L->imgs, C->L->ni, sizeof *C->L->imgs, cmp_img);
    label_t *lab = im ? find_label(C->L, im->product) : NULL;
    if (!lab) return 0;     /* image or product deleted since */
    float *v = xmalloc(len);
    memcpy(v, data, len);
    if (recog_clip_add(C->c, RECOG_CLIP_IMAGE, image, im->product, lab->category, lab->brand, v) == 0) C->images++;
    free(v);
    return 0;
}

static int on_clip_text(void *ctx, int64_t product, int dim, const void *data, size_t len)
{
    cliploader_t *C = ctx;
    label_t *lab = find_label(C->L, product);
    if (dim != recog_clip_dim(C->c) || len != sizeof(float) * (size_t)dim || !lab) return 0;
    float *v = xmalloc(len);
    memcpy(v, data, len);
    if (recog_clip_add(C->c, RECOG_CLIP_TEXT, product, product, lab->category, lab->brand, v) == 0) C->texts++;
    free(v);
    return 0;
}

/* The text embedding of one product into the store and the matcher. 0 or -1. */
static int clip_add_text(store_t *st, recog_clip_t *c, int64_t product, const char *brand, const char *model,
                         const char *description, const char *category)
{
    char text[1024];
    recog_clip_product_text(brand, model, description, text, sizeof text);
    float *v = xmalloc(sizeof(float) * (size_t)recog_clip_dim(c));
    int rc = -1;
    if (recog_clip_embed_text(c, text, v) == 0 &&
        store_vector_put(st, recog_clip_collection(c, RECOG_CLIP_TEXT), product, recog_clip_dim(c), v,
                         sizeof(float) * (size_t)recog_clip_dim(c)) == STORE_OK)
        rc = recog_clip_add(c, RECOG_CLIP_TEXT, product, product, category, brand, v);
    free(v);
    return rc;
}

int recog_product_text_refresh(store_t *st, recog_engine_t *e, int64_t product_id)
{
    recog_clip_t *c = recog_engine_clip(e);
    if (!c || recog_clip_has_image(c, product_id)) return 0;
    json_t *p = NULL;
    if (store_product_get(st, product_id, false, &p) != STORE_OK) return -1;
    int rc = clip_add_text(st, c, product_id, json_string_value(json_object_get(p, "brand")),
                           json_string_value(json_object_get(p, "model")),
                           json_string_value(json_object_get(p, "description")),
                           json_string_value(json_object_get(p, "category")));
    json_decref(p);
    return rc;
}

/* CLIP entries from the store: image vectors, then text vectors of products without one; a
 * product with neither (imageless, or its images imported before CLIP was configured) gets
 * its text embedding now when compute is set, stored so the next start finds it (the server
 * leaves that to the background refresh, refresh.h). */
static int clip_load_entries(recog_clip_t *c, store_t *st, loader_t *L, bool compute, char *err, size_t errlen)
{
    cliploader_t C = { L, c, 0, 0 };
    if (store_vector_each(st, recog_clip_collection(c, RECOG_CLIP_IMAGE), on_clip_image, &C) != STORE_OK ||
        store_vector_each(st, recog_clip_collection(c, RECOG_CLIP_TEXT), on_clip_text, &C) != STORE_OK) {
        snprintf(err, errlen, "cannot read CLIP vectors from the store");
        return -1;
    }
    long filled = 0, pending = 0;
    for (size_t i = 0; compute && i < L->nl; i++) {
        int64_t id = L->labels[i].id;
        if (recog_clip_has_image(c, id) || recog_clip_has_text(c, id)) continue;
        json_t *p = NULL;
        if (store_product_get(st, id, false, &p) != STORE_OK) continue;
        if (clip_add_text(st, c, id, json_string_value(json_object_get(p, "brand")),
                          json_string_value(json_object_get(p, "model")),
                          json_string_value(json_object_get(p, "description")), L->labels[i].category) == 0)
            filled++;
        if (json_array_size(json_object_get(p, "image_urls"))) pending++;
        json_decref(p);
    }
    log_info("recognition: CLIP %ld image and %ld text entries (%ld text embeddings computed now)", C.images,
             C.texts + filled, filled);
    if (pending)
        log_warn("recognition: %ld products have images without CLIP embeddings (imported before CLIP was "
                 "configured); they match by text until a server's background refresh or `rodeo catalog import` embeds their photos", pending);
    return 0;
}

static long engine_load(recog_engine_t *e, store_t *st, bool compute, char *err, size_t errlen)
{
    loader_t L = { .e = e, .err = err, .errlen = errlen };
    long rc = -1;
    if (store_product_labels_each(st, on_label, &L) != STORE_OK ||
        store_product_images_each(st, on_image, &L) != STORE_OK ||
        store_vector_each(st, RECOG_FEATURES_COLLECTION, on_vector, &L) != STORE_OK) {
        snprintf(err, errlen, "cannot read the catalog from the store");
        goto out;
    }
    if (L.nl) qsort(L.labels, L.nl, sizeof *L.labels, cmp_label);
    if (L.ni) qsort(L.imgs, L.ni, sizeof *L.imgs, cmp_img);
    if (store_vector_each(st, RECOG_TEMPLATES_COLLECTION, on_template, &L) != STORE_OK) {
        if (!*err) snprintf(err, errlen, "cannot read catalog templates from the store");
        goto out;
    }
    rc = L.added;
    if (recog_engine_clip(e) && clip_load_entries(recog_engine_clip(e), st, &L, compute, err, errlen) != 0) rc = -1;
out:
    for (size_t i = 0; i < L.nl; i++) { free(L.labels[i].category); free(L.labels[i].brand); }
    for (size_t i = 0; i < L.nv; i++) free(L.vecs[i].vec);
    free(L.labels);
    free(L.imgs);
    free(L.vecs);
    return rc;
}

long recog_engine_load(recog_engine_t *e, store_t *st, char *err, size_t errlen)
{
    return engine_load(e, st, true, err, errlen);
}

long recog_engine_load_stored(recog_engine_t *e, store_t *st, char *err, size_t errlen)
{
    return engine_load(e, st, false, err, errlen);
}

int recog_intake_features(const vision_intake_t *in, float *vec, features_template_t *tpl)
{
    const vision_image_t *t = &in->thumb;
    if (!t->px || t->c != 3) return -1;
    return features_compute_all(t->px, t->w, t->h, (size_t)t->w * 3, NULL, vec, tpl);
}

int recog_use_clip(recog_engine_t *e, const clip_model_t *m, char *err, size_t errlen)
{
    recog_clip_t *c = m ? recog_clip_new(m, err, errlen) : NULL;
    if (!c) return -1;
    recog_engine_set_clip(e, c);
    return 0;
}

int recog_intake_size(recog_engine_t *e)
{
    recog_clip_t *c = recog_engine_clip(e);
    return c ? recog_clip_image_size(c) : 32;
}

const char *recog_method(recog_engine_t *e)
{
    recog_clip_t *c = recog_engine_clip(e);
    return c && recog_clip_count(c) ? "clip" : "classic";
}

int recog_has_category(recog_engine_t *e, const char *category)
{
    recog_clip_t *c = recog_engine_clip(e);
    return recog_engine_has_category(e, category) || (c && recog_clip_has_category(c, category));
}

int recog_has_brand(recog_engine_t *e, const char *brand)
{
    recog_clip_t *c = recog_engine_clip(e);
    return recog_engine_has_brand(e, brand) || (c && recog_clip_has_brand(c, brand));
}

/* ---- the response ---- */

static json_t *labels_json(const recog_label_t *l, int n, const char *key)
{
    json_t *o = json_object(), *all = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(all, json_pack("{s:s, s:f}", key, l[i].name, "confidence", (double)l[i].confidence));
    json_object_set_new(o, key, n ? json_string(l[0].name) : json_string("unknown"));
    json_object_set_new(o, "confidence", json_real(n ? l[0].confidence : 0.0));
    json_object_set_new(o, "all_predictions", all);
    return o;
}

json_t *recog_metadata(const vision_intake_t *in, double total_ms)
{
    /* camera from the EXIF summary; location only where the intake kept it (consent) */
    json_t *exif = in->exif_json ? json_loads(in->exif_json, 0, NULL) : NULL;
    const char *make = json_string_value(json_object_get(exif, "camera_make"));
    const char *model = json_string_value(json_object_get(exif, "camera_model"));
    json_t *camera = json_null();
    if (make || model) {
        buf_t b = { 0 };
        buf_printf(&b, "%s%s%s", make ? make : "", make && model ? " " : "", model ? model : "");
        camera = json_string(b.data);
        buf_free(&b);
    }
    json_t *gps = json_object_get(exif, "gps");
    json_t *md = json_pack("{s:o, s:O, s:f}", "camera", camera, "upload_location", gps ? gps : json_null(),
                           "processing_time_ms", total_ms);
    json_decref(exif);
    return md;
}

static int engine_knows_category(void *ctx, const char *name) { return recog_engine_has_category(ctx, name); }

/* The classifier's labels for this photo into cls (0 when m is NULL or it failed); adds its
 * time to *ms. */
static int classify(const vit_model_t *m, const vision_intake_t *in, recog_label_t *cls, double *ms)
{
    if (!m) return 0;
    int64_t t = time_mono_us();
    int n = recog_classifier_predict(m, in, cls, RECOG_CLASSIFIER_MAX);
    if (n < 0) { log_warn("recognize: the category classifier failed on this photo"); n = 0; }
    *ms += (double)(time_mono_us() - t) / 1000.0;
    if (*ms <= 0) *ms = 1e-6;     /* marks "ran" for the caller */
    return n;
}

json_t *recog_respond(store_t *st, recog_engine_t *e, const vision_intake_t *in, const recog_opts_t *o,
                      int64_t started_us, char *err, size_t errlen)
{
    float vec[FEATURES_DIM];
    features_template_t *tpl = xmalloc(sizeof *tpl);
    recog_result_t *res = xmalloc(sizeof *res);
    json_t *out = NULL;
    int64_t t0 = time_mono_us(), t1, t2, tf;   /* tf: features/embedding done */
    recog_query_t q = { .top_k = o->top_k > 0 ? o->top_k : 5, .category = o->category, .brand = o->brand };
    const char *method = "classic";
    /* the operator's classifier, when configured, speaks for the category (classify.h); it
     * runs after the CLIP embedding, so a batched pass does not wait for it */
    recog_label_t *cls = o->classifier ? xmalloc(sizeof *cls * RECOG_CLASSIFIER_MAX) : NULL;
    int ncls = 0;
    double classifier_ms = 0;
    int64_t label_us = 0;      /* zero-shot labels this request found uncached (ml/zeroshot.h) */
    long labels_embedded = 0;
    recog_clip_t *clip = recog_engine_clip(e);
    float *emb = NULL;
    /* CLIP when loaded, holding entries and given a tensor of its input size; any failure
     * there falls back to the classic features, and "method" says which answered */
    bool use_clip = clip && recog_clip_count(clip) && in->tensor && in->tensor_size == recog_clip_image_size(clip);
    if (o->announced && !use_clip) recog_clip_expect(clip, -1);   /* it will not come to the batcher */
    if (use_clip) {
        emb = xmalloc(sizeof(float) * (size_t)recog_clip_dim(clip));
        if (recog_clip_embed_image_announced(clip, in->tensor, emb, o->announced) == 0) {
            tf = time_mono_us();
            ncls = classify(o->classifier, in, cls, &classifier_ms);
            t1 = time_mono_us();
            zeroshot_thread_usage(NULL, NULL);   /* from here: this request's uncached labels */
            if (recog_clip_query_prior(clip, emb, &q, cls, ncls, res) == 0) {
                method = "clip";
                t2 = time_mono_us();
                zeroshot_thread_usage(&label_us, &labels_embedded);
                goto respond;
            }
        }
        log_warn("recognize: CLIP failed on this photo; classic features answer");
    }
    if (recog_intake_features(in, vec, tpl) != 0) {
        snprintf(err, errlen, "the photo could not be described");
        goto done;
    }
    t1 = tf = time_mono_us();
    if (recog_engine_query(e, vec, tpl, &q, res) != 0) {
        snprintf(err, errlen, "recognition failed");
        goto done;
    }
    if (cls && !classifier_ms) {
        ncls = classify(o->classifier, in, cls, &classifier_ms);
        t1 += (int64_t)(classifier_ms * 1000.0);   /* search_ms leaves the classifier out, as with CLIP */
    }
    if (ncls && res->n_matches)
        res->n_categories = recog_fuse_classifier(res->categories, res->n_categories, RECOG_MAX_LABELS, cls, ncls,
                                                  q.category, engine_knows_category, e);
    t2 = time_mono_us();
respond:;
    json_t *matches = json_array();
    for (int i = 0; i < res->n_matches; i++) {
        json_t *p = NULL;
        int rc = store_product_get(st, res->matches[i].product_id, o->include_prices, &p);
        if (rc == STORE_NOT_FOUND) continue;    /* deleted since the engine loaded it */
        if (rc != STORE_OK) {
            snprintf(err, errlen, "the data store is unavailable");
            json_decref(matches);
            goto done;
        }
        json_t *m = json_object();
        json_object_set(m, "product_id", json_object_get(p, "id"));
        const char *keys[] = { "brand", "model", "category", "subcategory", "description", "sku" };
        for (size_t k = 0; k < sizeof keys / sizeof *keys; k++)
            json_object_set(m, keys[k], json_object_get(p, keys[k]));
        json_object_set_new(m, "similarity_score", json_real(res->matches[i].score));
        json_object_set(m, "image_urls", json_object_get(p, "image_urls"));
        json_object_set(m, "msrp", json_object_get(p, "msrp"));
        json_object_set(m, "current_best_price", json_object_get(p, "current_best_price"));
        if (o->include_prices) json_object_set(m, "prices", json_object_get(p, "prices"));
        json_array_append_new(matches, m);
        json_decref(p);
    }
    int64_t t3 = time_mono_us();
    double total_ms = (double)(time_now_us() - started_us) / 1000.0;
    out = json_pack("{s:b, s:s, s:o, s:o, s:o, s:o, s:{s:f, s:f, s:f, s:f, s:f}}",
                    "success", 1, "method", method,
                    "category", labels_json(res->categories, res->n_categories, "category"),
                    "brand", labels_json(res->brands, res->n_brands, "brand"),
                    "matches", matches, "metadata", recog_metadata(in, total_ms),
                    "timings", "intake_ms", in->t.total_us / 1000.0, "features_ms", (tf - t0) / 1000.0,
                    "search_ms", (t2 - t1) / 1000.0, "response_ms", (t3 - t2) / 1000.0, "total_ms", total_ms);
    if (out && o->classifier)
        json_object_set_new(json_object_get(out, "timings"), "classifier_ms", json_real(classifier_ms));
    if (out && !strcmp(method, "clip")) {
        /* part of search_ms: label embeddings computed (or waited for) by this request; 0
         * once the start-up warm-up has cached them */
        json_object_set_new(json_object_get(out, "timings"), "label_embed_ms", json_real((double)label_us / 1000.0));
        json_object_set_new(json_object_get(out, "timings"), "label_embeds", json_integer(labels_embedded));
    }
done:
    free(cls);
    free(emb);
    free(tpl);
    free(res);
    return out;
}

/* ---- import ---- */

static long file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (long)sb.st_size : 0;
}

/* Intake, blob, features: one local catalog image onto a product. 0 or -1 (msg). */
static int import_image(store_t *st, recog_engine_t *e, blob_store_t *blobs, int64_t product_id,
                        const catalog_product_t *p, const char *path, char *msg, size_t msglen)
{
    vision_intake_options_t opt;
    vision_intake_options_default(&opt);
    recog_clip_t *clip = recog_engine_clip(e);
    opt.input_size = clip ? recog_clip_image_size(clip) : 32;   /* classic alone needs no model tensor */
    vision_intake_t in;
    memset(&in, 0, sizeof in);
    int rc = -1;
    float *vec = xmalloc(sizeof(float) * FEATURES_DIM);
    features_template_t *tpl = xmalloc(sizeof *tpl);
    float *cv = clip ? xmalloc(sizeof(float) * (size_t)recog_clip_dim(clip)) : NULL;
    size_t clen = clip ? sizeof(float) * (size_t)recog_clip_dim(clip) : 0;
    if (vision_intake_file(path, &opt, &in) != 0) {
        snprintf(msg, msglen, "image %s: %s", p->image, in.error.message);
        goto out;
    }
    char berr[200];
    if (blob_put_file(blobs, in.sha256, path, berr, sizeof berr) != BLOB_OK) {
        snprintf(msg, msglen, "image %s: cannot store: %s", p->image, berr);
        goto out;
    }
    if (recog_intake_features(&in, vec, tpl) != 0) {
        snprintf(msg, msglen, "image %s: too small to describe", p->image);
        goto out;
    }
    /* every embedding is computed before the first write, so a failure leaves nothing behind */
    if (clip && recog_clip_embed_image(clip, in.tensor, cv) != 0) {
        snprintf(msg, msglen, "image %s: CLIP embedding failed", p->image);
        goto out;
    }
    int64_t image_id = 0;
    if (store_product_image_add(st, product_id, in.sha256, NULL, in.sha256, &image_id, NULL) != STORE_OK ||
        store_vector_put(st, RECOG_FEATURES_COLLECTION, image_id, FEATURES_DIM, vec, sizeof(float) * FEATURES_DIM) != STORE_OK ||
        store_vector_put(st, RECOG_TEMPLATES_COLLECTION, image_id, (int)sizeof *tpl, tpl, sizeof *tpl) != STORE_OK) {
        snprintf(msg, msglen, "image %s: the data store failed", p->image);
        goto out;
    }
    if (clip) {
        if (store_vector_put(st, recog_clip_collection(clip, RECOG_CLIP_IMAGE), image_id, recog_clip_dim(clip), cv,
                             clen) != STORE_OK) {
            snprintf(msg, msglen, "image %s: the data store failed", p->image);
            goto out;
        }
        /* the product has a photo now: its text stand-in is retired */
        store_vector_delete(st, recog_clip_collection(clip, RECOG_CLIP_TEXT), product_id);
        recog_clip_add(clip, RECOG_CLIP_IMAGE, image_id, product_id, p->category, p->brand, cv);
    }
    char eerr[200];
    if (e && recog_engine_add(e, image_id, product_id, p->category, p->brand, vec, tpl, eerr, sizeof eerr) != 0) {
        snprintf(msg, msglen, "image %s: %s", p->image, eerr);
        goto out;
    }
    rc = 0;
out:
    vision_intake_free(&in);
    free(cv);
    free(vec);
    free(tpl);
    return rc;
}

/* A small set of SKUs and (brand, model) keys seen in this file: duplicates are errors. */
typedef struct { char **keys; size_t n, cap; long *lines; } seen_t;
static long seen_add(seen_t *s, const char *key, long line)
{
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->keys[i], key)) return s->lines[i];
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 256;
        s->keys = xrealloc(s->keys, sizeof *s->keys * s->cap);
        s->lines = xrealloc(s->lines, sizeof *s->lines * s->cap);
    }
    s->keys[s->n] = xstrdup(key);
    s->lines[s->n++] = line;
    return 0;
}
static void seen_free(seen_t *s)
{
    for (size_t i = 0; i < s->n; i++) free(s->keys[i]);
    free(s->keys);
    free(s->lines);
}

int recog_import_products(store_t *st, recog_engine_t *e, const char *path, const char *images_dir,
                          const char *data_dir, recog_progress_fn progress, recog_report_fn report,
                          void *ctx, recog_import_stats_t *stats, char *err, size_t errlen)
{
    catalog_reader_t *r = catalog_open(path, CATALOG_PRODUCTS, err, errlen);
    if (!r) return -1;
    blob_store_t *blobs = blob_fs_open(data_dir, "/api/blobs", err, errlen);
    if (!blobs) { catalog_close(r); return -1; }
    long total = file_size(path);
    FILE *f = fopen(path, "rb");   /* a second handle only to measure progress */
    seen_t seen = { 0 };
    char msg[700];
    catalog_product_t p;
    int rc;
    while ((rc = catalog_next_product(r, &p, msg, sizeof msg)) != 0) {
        stats->rows++;
        if (rc < 0) {
            stats->failed++;
            if (report) report(ctx, msg);
            continue;
        }
        /* a key repeated inside one file is a mistake, not an update */
        buf_t key = { 0 };
        buf_printf(&key, "bm:%s\x1f%s", p.brand, p.model);
        long first = seen_add(&seen, key.data, p.line);
        if (!first && p.sku) {
            buf_reset(&key);
            buf_printf(&key, "sku:%s", p.sku);
            first = seen_add(&seen, key.data, p.line);
        }
        buf_free(&key);
        if (first) {
            snprintf(msg, sizeof msg, "line %ld: duplicate of line %ld (same SKU or brand and model)", p.line, first);
            stats->failed++;
            if (report) report(ctx, msg);
            catalog_product_clear(&p);
            continue;
        }
        /* the image is checked before anything is written, so a row never half-imports */
        buf_t img = { 0 };
        int local = p.image && strncmp(p.image, "http://", 7) && strncmp(p.image, "https://", 8) &&
                    !(images_dir && !*images_dir);
        if (local) {
            buf_printf(&img, "%s/%s", images_dir ? images_dir : ".", p.image);
            if (access(img.data, R_OK) != 0) {
                snprintf(msg, sizeof msg, "line %ld: image %s not found%s", p.line, p.image,
                         images_dir ? "" : " (use --images DIR)");
                stats->failed++;
                if (report) report(ctx, msg);
                buf_free(&img);
                catalog_product_clear(&p);
                continue;
            }
        }
        store_product_in_t in = { p.sku, p.upc, p.brand, p.model, p.category, p.subcategory, p.description,
                                  p.attributes_json, p.keywords_json, p.msrp_cents };
        int64_t id = 0;
        bool created = false;
        int src = store_product_upsert(st, &in, &id, &created);
        if (src != STORE_OK) {
            snprintf(msg, sizeof msg, "line %ld: %s", p.line,
                     src == STORE_CONFLICT ? "its SKU and its brand+model belong to two different products" :
                                             "the data store failed");
            stats->failed++;
            if (report) report(ctx, msg);
        } else {
            if (created) stats->created++; else stats->updated++;
            if (local) {
                char m2[300];
                if (import_image(st, e, blobs, id, &p, img.data, m2, sizeof m2) == 0) stats->images++;
                else {
                    stats->images_failed++;
                    snprintf(msg, sizeof msg, "line %ld: %s (product imported without it)", p.line, m2);
                    if (report) report(ctx, msg);
                }
            } else if (p.image) {
                /* remote images are recorded, not fetched: the server never downloads URLs */
                store_product_image_add(st, id, NULL, p.image, NULL, NULL, NULL);
            }
            /* no CLIP image embedding: the product's text stands in, so a photo can find it */
            recog_clip_t *clip = recog_engine_clip(e);
            if (clip && !recog_clip_has_image(clip, id) &&
                clip_add_text(st, clip, id, p.brand, p.model, p.description, p.category) != 0) {
                snprintf(msg, sizeof msg, "line %ld: CLIP text embedding failed (product imported without it)", p.line);
                if (report) report(ctx, msg);
            }
        }
        buf_free(&img);
        catalog_product_clear(&p);
        if (progress) progress(ctx, f ? ftell(f) : 0, total);
    }
    if (progress) progress(ctx, total, total);
    if (f) fclose(f);
    seen_free(&seen);
    blob_close(blobs);
    catalog_close(r);
    return 0;
}

int recog_import_prices(store_t *st, const char *path, recog_report_fn report, void *ctx,
                        recog_import_stats_t *stats, char *err, size_t errlen)
{
    catalog_reader_t *r = catalog_open(path, CATALOG_PRICES, err, errlen);
    if (!r) return -1;
    char msg[400];
    catalog_price_t p;
    int rc;
    while ((rc = catalog_next_price(r, &p, msg, sizeof msg)) != 0) {
        if (rc < 0) {
            stats->prices_failed++;
            if (report) report(ctx, msg);
            continue;
        }
        int64_t id = 0;
        if (store_product_find_sku(st, p.sku, &id) != STORE_OK) {
            snprintf(msg, sizeof msg, "line %ld: no product with sku %s", p.line, p.sku);
            stats->prices_failed++;
            if (report) report(ctx, msg);
            catalog_price_clear(&p);
            continue;
        }
        store_price_in_t in = { p.store_name, p.store_url, p.product_url, p.stock_level, p.shipping_info,
                                p.price_cents, p.original_price_cents, p.shipping_cents, p.sale_end_us,
                                p.is_on_sale, p.in_stock, 0 };
        bool appended = false;
        if (store_price_record(st, id, &in, &appended) != STORE_OK) {
            snprintf(msg, sizeof msg, "line %ld: the data store failed", p.line);
            stats->prices_failed++;
            if (report) report(ctx, msg);
        } else {
            stats->prices++;
            if (appended) stats->prices_appended++;
        }
        catalog_price_clear(&p);
    }
    catalog_close(r);
    return 0;
}

static void log_report(void *ctx, const char *m) { (void)ctx; log_warn("starter catalog: %s", m); }

int recog_starter_done(const char *data_dir)
{
    buf_t mark = { 0 };
    buf_printf(&mark, "%s/catalog/.starter-imported", data_dir);
    int done = access(mark.data, F_OK) == 0;
    buf_free(&mark);
    return done;
}

long recog_load_starter(store_t *st, recog_engine_t *e, const char *content_dir, const char *data_dir)
{
    buf_t csv = { 0 }, prices = { 0 }, render = { 0 }, images = { 0 }, cmd = { 0 };
    buf_printf(&csv, "%s/products.csv", content_dir);
    buf_printf(&prices, "%s/prices.csv", content_dir);
    buf_printf(&render, "%s/render.py", content_dir);
    buf_printf(&images, "%s/catalog", data_dir);
    long n = 0;
    if (access(csv.data, R_OK) != 0) goto out;
    /* render the product pictures once; the paths come from our own config, not a request */
    buf_printf(&cmd, "/usr/bin/python3 '%s' '%s' '%s' >/dev/null 2>&1", render.data, csv.data, images.data);
    int have_images = access("/usr/bin/python3", X_OK) == 0 && access(render.data, R_OK) == 0 &&
                      !strchr(content_dir, '\'') && !strchr(data_dir, '\'') && system(cmd.data) == 0;
    if (!have_images) log_warn("starter catalog: images not rendered (needs /usr/bin/python3 with PIL)");
    recog_import_stats_t s = { 0 };
    char err[300];
    if (recog_import_products(st, e, csv.data, have_images ? images.data : "", data_dir, NULL, log_report, NULL,
                              &s, err, sizeof err) != 0) {
        log_warn("starter catalog: %s", err);
        goto out;
    }
    if (access(prices.data, R_OK) == 0) recog_import_prices(st, prices.data, log_report, NULL, &s, err, sizeof err);
    log_info("starter catalog: %ld products, %ld images, %ld prices", s.created + s.updated, s.images, s.prices);
    n = s.created + s.updated;
    {
        /* first start done for this data dir: the marker keeps later starts from re-importing */
        buf_t mark = { 0 };
        buf_printf(&mark, "%s/catalog", data_dir);
        mkdir(mark.data, 0700);
        buf_puts(&mark, "/.starter-imported");
        FILE *f = fopen(mark.data, "w");
        if (f) { fprintf(f, "%ld\n", n); fclose(f); }
        buf_free(&mark);
    }
out:
    buf_free(&csv); buf_free(&prices); buf_free(&render); buf_free(&images); buf_free(&cmd);
    return n;
}
