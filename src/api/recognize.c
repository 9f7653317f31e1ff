/* recognize.c — POST /api/recognize-product and GET /api/product-analytics, plus the
 * recognition service they share (engine, duplicate cache, photo store).
 *
 * Request (multipart, contract §5): file (required), include_prices (default true),
 * consent_to_fingerprinting (default false); Rodeo adds optional top_k (1..20), category
 * and brand filters. Unknown form fields are refused (422), so a typo in a filter is not
 * silently ignored.
 * Flow: quota -> byte-identical re-upload (the SHA-256 the HTTP layer computed while the file
 * streamed in, one indexed row read: answered on the server thread) -> the rest on the
 * recognition workers (the connection is suspended meanwhile, http_resp_defer, so a slow
 * photo never stalls other connections): intake (validation verdict = the HTTP answer) ->
 * duplicate cache (same caller, pHash within DUP_DISTANCE, last 24 h, same options) ->
 * engine (CLIP when loaded, its embeddings batched across concurrent requests; else
 * classic features; recog/recognize.h) -> upload record (EXIF as the intake kept it,
 * device only with consent) -> 200.
 * Workers: RECOG_WORKERS threads (default 4; 0 = run on the server thread), queue of
 * RECOG_QUEUE requests (default 256; beyond it 503 recognition_busy). Batching:
 * RECOG_BATCH photos per CLIP pass (default 8; 1 = off), RECOG_BATCH_WAIT_MS the longest a
 * pass waits for photos still in intake (default 5), RECOG_BATCH_PASSES passes at once
 * (default CPUs / matrix threads).
 * Privacy (contract F10): a cached result is only ever the same caller's; the photo's
 * metadata in a response is always this upload's own. */
#include "api/api.h"
#include "api/payments.h"
#include "api/products.h"
#include "blob/blob.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/log.h"
#include "core/str.h"
#include "core/timeutil.h"
#include "ml/kernels.h"
#include "ml/service.h"
#include "recog/clipmatch.h"
#include "recog/pool.h"
#include "recog/recognize.h"
#include "recog/refresh.h"
#include "store/catalog.h"
#include "vision/dupindex.h"
#include "vision/intake.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define DUP_DISTANCE 4                    /* pHash bits: a re-encode or resize of the same photo */
#define DUP_WINDOW_US (24LL * 3600 * 1000000)

static recog_engine_t    *engine;
static vision_dupindex_t *dups;
static blob_store_t      *photos;
static recog_pool_t      *workers;  /* NULL: recognitions run on the server threads */
static pthread_t          starter;
static int                starter_running;
static volatile int       starter_cancel;
static pthread_t          warmer;          /* zero-shot label warm-up at start (CLIP only) */
static int                warmer_running;
static volatile int       warm_cancel;     /* shutdown: the warm-ups stop between labels */
static recog_refresh_t   *refresher;       /* recomputes missing catalog features (refresh.h) */
static bool               warm_labels;     /* RECOG_WARM_LABELS (default on) */

recog_engine_t *api_recognize_engine(void) { return engine; }

static int refill_dup(void *ctx, int64_t id, uint64_t phash)
{
    (void)ctx;
    vision_dupindex_add(dups, id, phash);
    return 0;
}

static void *starter_thread(void *arg)
{
    (void)arg;
    const char *dir = getenv("RODEO_CONTENT_DIR");
    buf_t path = { 0 };
    buf_printf(&path, "%s/catalog", dir && *dir ? dir : "content");
    if (!starter_cancel) recog_load_starter(g_api.store, engine, path.data, g_config.data_dir);
    buf_free(&path);
    /* the import may have brought categories and brands: their labels too (cached: free) */
    if (!starter_cancel && warm_labels && recog_engine_clip(engine)) recog_clip_warm_labels(recog_engine_clip(engine), &warm_cancel);
    return NULL;
}

/* The zero-shot labels of the loaded catalog, embedded in the background once the model is
 * loaded, so the first recognitions do not pay for them (a request needing a label still
 * being embedded waits for it; ml/zeroshot.h). */
static void *warm_thread(void *arg)
{
    recog_clip_t *c = arg;
    int n = recog_clip_warm_labels(c, &warm_cancel);
    recog_clip_warm_t st;
    recog_clip_warm_status(c, &st);
    if (n >= 0) log_info("recognition: %d zero-shot labels ready in %.0f ms", n, st.ms);
    else if (!warm_cancel) log_warn("recognition: zero-shot label warm-up failed after %ld of %ld", st.done, st.total);
    return NULL;
}

/* An integer setting from the environment within [lo, hi]; def when unset or malformed. */
long api_env_int(const char *name, long def, long lo, long hi)
{
    const char *s = getenv(name);
    int64_t v;
    if (!s || !*s) return def;
    if (!str_to_i64(s, &v) || v < lo || v > hi) {
        log_warn("%s=%s ignored (expected %ld..%ld); using %ld", name, s, lo, hi, def);
        return def;
    }
    return (long)v;
}

/* After the refresh added entries: their categories and brands may be new labels. */
static void refresh_done(void *ctx, const volatile int *cancel)
{
    (void)cancel;   /* warm_cancel is set at shutdown before the refresh is stopped */
    if (warm_labels) recog_clip_warm_labels(ctx, &warm_cancel);
}

/* A boolean setting from the environment; def when unset or malformed. */
static bool env_bool(const char *name, bool def)
{
    const char *s = getenv(name);
    bool v = def;
    if (s && *s && !str_to_bool(s, &v)) {
        log_warn("%s=%s ignored (expected a boolean)", name, s);
        v = def;
    }
    return v;
}

int api_recognize_init(char *err, size_t errlen)
{
    engine = recog_engine_new();
    dups = vision_dupindex_new();
    photos = blob_fs_open(g_config.data_dir, "/api/blobs", err, errlen);
    if (!engine || !dups || !photos) {
        if (!*err) snprintf(err, errlen, "cannot create the recognition engine");
        return -1;
    }
    /* CLIP alongside the classic features when its weights loaded (ml_service_init ran first) */
    if (ml_service_clip() && recog_use_clip(engine, ml_service_clip(), err, errlen) != 0) {
        log_warn("recognition: CLIP not used: %s", err);
        err[0] = '\0';
    }
    /* what is stored only: missing features are the background refresh's (below) */
    long n = recog_engine_load_stored(engine, g_api.store, err, errlen);
    if (n < 0) return -1;
    int nworkers = (int)api_env_int("RECOG_WORKERS", 4, 0, 64);
    if (nworkers > 0) {
        workers = recog_pool_new(nworkers, (int)api_env_int("RECOG_QUEUE", 256, 1, 100000));
        if (!workers) log_warn("recognition: no worker threads; recognitions run on the server threads");
    }
    recog_clip_t *clip = recog_engine_clip(engine);
    int batch = (int)api_env_int("RECOG_BATCH", 8, 1, 64);
    if (clip && batch > 1) {
        /* as many passes at once as the cores allow next to each pass's matrix threads */
        long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
        int mt = ml_threads_get() > 0 ? ml_threads_get() : 1;
        int passes = (int)api_env_int("RECOG_BATCH_PASSES", ncpu > mt ? ncpu / mt : 1, 1, 64);
        recog_clip_set_batching(clip, batch, (int)api_env_int("RECOG_BATCH_WAIT_MS", 5, 0, 1000) * 1000, passes);
    }
    warm_cancel = 0;
    warm_labels = env_bool("RECOG_WARM_LABELS", true);
    if (clip && warm_labels)
        warmer_running = pthread_create(&warmer, NULL, warm_thread, clip) == 0;
    recog_refresh_opts_t ro = { .batch = (int)api_env_int("RECOG_REFRESH_BATCH", 16, 1, 100000),
                                .pause_ms = (int)api_env_int("RECOG_REFRESH_PAUSE_MS", 0, 0, 600000),
                                .on_done = clip ? refresh_done : NULL, .ctx = clip };
    refresher = recog_refresh_start(g_api.store, engine, photos, &ro);
    if (!refresher) log_warn("recognition: cannot start the feature refresh thread");
    store_uploads_since(g_api.store, time_now_us() - DUP_WINDOW_US, refill_dup, NULL);
    log_info("recognition: %ld catalog images loaded (method: %s)", n, recog_method(engine));
    const char *s = getenv("RODEO_STARTER_CATALOG");
    bool on = true;
    if (s && *s && !str_to_bool(s, &on)) on = true;
    if (on && !recog_starter_done(g_config.data_dir)) {
        starter_cancel = 0;
        starter_running = pthread_create(&starter, NULL, starter_thread, NULL) == 0;
    }
    return 0;
}

void api_recognize_quiesce(void)
{
    warm_cancel = 1;
    recog_refresh_stop(refresher);   /* stops after the item in hand */
    refresher = NULL;
    recog_pool_free(workers);   /* the server drained first: nothing new arrives; queued jobs finish */
    workers = NULL;
}

void api_recognize_shutdown(void)
{
    api_recognize_quiesce();
    long nb, ni;
    int largest;
    if (engine && recog_clip_batch_stats(recog_engine_clip(engine), &nb, &ni, &largest) == 0 && nb)
        log_info("recognition: batches %ld, photos %ld, mean %.2f, largest %d", nb, ni, (double)ni / (double)nb, largest);
    warm_cancel = 1;
    if (warmer_running) {
        pthread_join(warmer, NULL);
        warmer_running = 0;
    }
    if (starter_running) {
        starter_cancel = 1;
        pthread_join(starter, NULL);
        starter_running = 0;
    }
    recog_engine_free(engine);
    vision_dupindex_free(dups);
    if (photos) blob_close(photos);
    engine = NULL;
    dups = NULL;
    photos = NULL;
}

/* A boolean form field: absent -> def; malformed -> 422 and false. */
static bool form_bool(http_req_t *req, http_resp_t *resp, const char *name, bool def, bool *out)
{
    const http_part_t *p = http_req_part(req, name);
    *out = def;
    if (!p) return true;
    if (!p->value || !str_to_bool(p->value, out)) {
        http_resp_error(resp, 422, "validation_error", "%s: must be true or false", name);
        return false;
    }
    return true;
}

/* The stored response of upload id if it is the caller's, recent, and for the same
 * options; NULL otherwise. */
static json_t *cached_upload(int64_t id, int64_t user_id, const char *options)
{
    int64_t owner = 0, at = 0;
    char *res = NULL;
    if (store_upload_results(g_api.store, id, &owner, &res, &at) != STORE_OK) return NULL;
    json_t *r = (owner == user_id && time_now_us() - at < DUP_WINDOW_US && res) ? json_loads(res, 0, NULL) : NULL;
    free(res);
    const char *opts = json_string_value(json_object_get(r, "_options"));
    if (r && opts && !strcmp(opts, options)) return r;
    json_decref(r);
    return NULL;
}

/* Byte-identical re-upload: the upload's SHA-256 (computed by the HTTP layer while the part
 * streamed to disk) and one indexed row read; no decode, no re-read. The fast path. */
static json_t *cached_exact(const http_part_t *file, int64_t user_id, const char *options)
{
    if (!file->sha256 || strlen(file->sha256) != 64) return NULL;
    int64_t id = 0;
    if (store_upload_find_sha256(g_api.store, user_id, file->sha256, time_now_us() - DUP_WINDOW_US, &id) != STORE_OK)
        return NULL;
    return cached_upload(id, user_id, options);
}

/* The earlier response for a near-identical photo from the same caller, or NULL. */
static json_t *cached(int64_t user_id, uint64_t phash, const char *options)
{
    vision_dup_match_t m[8];
    size_t n = vision_dupindex_query(dups, phash, DUP_DISTANCE, m, 8);
    for (size_t i = 0; i < n; i++) {
        json_t *r = cached_upload(m[i].id, user_id, options);
        if (r) return r;
    }
    return NULL;
}

/* Everything after the byte-identical cache: intake, near-duplicate cache, recognition, the
 * upload record. Runs on a recognition worker (or the server thread without workers). */
static void recognize_slow(http_req_t *req, http_resp_t *resp, const http_part_t *file, const recog_opts_t *opts,
                           const char *options, bool consent, int64_t uid, int64_t t0)
{
    recog_opts_t o = *opts;
    json_t *out = NULL;
    vision_intake_options_t io;
    vision_intake_options_default(&io);
    io.consent = consent;
    io.input_size = recog_intake_size(engine);   /* CLIP's tensor; classic uses the thumbnail */
    io.max_file_bytes = g_config.max_upload_bytes ? g_config.max_upload_bytes : io.max_file_bytes;
    io.sha256 = file->sha256;   /* hashed by the HTTP layer as the upload streamed */
    vision_intake_t in;
    memset(&in, 0, sizeof in);
    /* the request was announced to the batcher: recog_respond ends that; other exits here */
    o.announced = true;
    if (vision_intake_file(file->path, &io, &in) != 0) {
        recog_clip_expect(recog_engine_clip(engine), -1);
        if (uid) api_quota_refund(req, BILLING_ACTION_RECOGNITION);
        http_resp_error(resp, in.error.status ? in.error.status : 400, in.error.code[0] ? in.error.code : "invalid_image",
                        "%s", in.error.message);
        goto done;
    }
    out = cached(uid, in.phash, options);
    if (out) {
        recog_clip_expect(recog_engine_clip(engine), -1);
        json_object_del(out, "_options");
        json_object_set_new(out, "cached", json_true());
        /* the cached part is what the pixels say; the metadata is this upload's own */
        json_object_set_new(out, "metadata", recog_metadata(&in, (double)(time_now_us() - t0) / 1000.0));
        http_resp_json(resp, 200, out);
        out = NULL;
        goto done;
    }
    char err[300] = "";
    out = recog_respond(g_api.store, engine, &in, &o, t0, err, sizeof err);
    if (!out) {
        if (uid) api_quota_refund(req, BILLING_ACTION_RECOGNITION);
        http_resp_error(resp, 503, "recognition_unavailable", "Recognition failed: %s", err);
        goto done;
    }
    json_object_set_new(out, "cached", json_false());
    /* keep the photo (content-addressed) and the record */
    char berr[200];
    /* the upload's temp file lies under the data dir and the HTTP layer hashed it: the store
     * can link it into place instead of copying and hashing it again */
    int vouched = file->sha256 && !strcmp(file->sha256, in.sha256);
    int stored = (vouched ? blob_put_file_hashed(photos, in.sha256, file->path, berr, sizeof berr)
                          : blob_put_file(photos, in.sha256, file->path, berr, sizeof berr)) == BLOB_OK;
    if (!stored) log_warn("recognize: photo not stored: %s", berr);
    json_object_set_new(out, "_options", json_string(options));
    char *results = json_dumps(out, JSON_COMPACT);
    json_object_del(out, "_options");
    char *timings = json_dumps(json_object_get(out, "timings"), JSON_COMPACT);
    store_upload_in_t up = { .user_id = uid, .device_id = consent && in.device_id[0] ? in.device_id : NULL,
                             .sha256 = in.sha256, .blob_key = stored ? in.sha256 : NULL,
                             .format = vision_format_name(in.format), .phash = in.phash, .width = in.width,
                             .height = in.height, .metadata_json = in.exif_json, .results_json = results,
                             .method = json_string_value(json_object_get(out, "method")), .timings_json = timings };
    int64_t upload_id = 0;
    if (store_upload_add(g_api.store, &up, &upload_id) == STORE_OK) vision_dupindex_add(dups, upload_id, in.phash);
    if (up.device_id) {
        json_t *ex = in.exif_json ? json_loads(in.exif_json, 0, NULL) : NULL;
        store_device_touch(g_api.store, up.device_id, json_string_value(json_object_get(ex, "camera_make")),
                           json_string_value(json_object_get(ex, "camera_model")),
                           json_string_value(json_object_get(ex, "software")), uid);
        json_decref(ex);
    }
    free(results);
    free(timings);
    http_resp_json(resp, 200, out);
    out = NULL;
done:
    json_decref(out);
    vision_intake_free(&in);
}

typedef struct {
    http_deferred_t *d;
    http_req_t *req;
    const http_part_t *file;   /* the request's: lives until the response is sent */
    recog_opts_t o;
    char *options;
    bool consent;
    int64_t uid, t0;
} recog_job_t;

static void recognize_job(void *arg)
{
    recog_job_t *j = arg;
    recognize_slow(j->req, http_deferred_resp(j->d), j->file, &j->o, j->options, j->consent, j->uid, j->t0);
    http_deferred_done(j->d);
    free(j->options);
    free(j);
}


void api_recognize_product(http_req_t *req, http_resp_t *resp)
{
    int64_t t0 = time_now_us();
    const http_part_t *parts;
    size_t np = http_req_parts(req, &parts);
    static const char *known[] = { "file", "include_prices", "consent_to_fingerprinting", "top_k", "category", "brand" };
    for (size_t i = 0; i < np; i++) {
        bool ok = false;
        for (size_t k = 0; k < sizeof known / sizeof *known; k++) ok |= !strcmp(parts[i].name, known[k]);
        if (!ok) {
            http_resp_error(resp, 422, "validation_error", "%.60s: unknown field", parts[i].name);
            return;
        }
    }
    const http_part_t *file = http_req_part(req, "file");
    if (!file || !file->path) {
        http_resp_error(resp, 422, "validation_error", "file: field required (a photo as a file part)");
        return;
    }
    bool prices, consent;
    if (!form_bool(req, resp, "include_prices", true, &prices) ||
        !form_bool(req, resp, "consent_to_fingerprinting", false, &consent))
        return;
    recog_opts_t o = { .include_prices = prices, .top_k = 5, .classifier = ml_service_vit() };
    const http_part_t *tk = http_req_part(req, "top_k");
    if (tk) {
        int64_t k;
        if (!tk->value || !str_to_i64(tk->value, &k) || k < 1 || k > RECOG_MAX_MATCHES) {
            http_resp_error(resp, 422, "validation_error", "top_k: must be an integer from 1 to %d", RECOG_MAX_MATCHES);
            return;
        }
        o.top_k = (int)k;
    }
    const http_part_t *cat = http_req_part(req, "category"), *brand = http_req_part(req, "brand");
    o.category = cat && cat->value && *cat->value ? cat->value : NULL;
    o.brand = brand && brand->value && *brand->value ? brand->value : NULL;
    bool bad_cat = o.category && !recog_has_category(engine, o.category);
    if (bad_cat || (o.brand && !recog_has_brand(engine, o.brand))) {
        http_resp_error(resp, 422, "validation_error", "%s: unknown %s '%.60s'", bad_cat ? "category" : "brand",
                        bad_cat ? "category" : "brand", bad_cat ? o.category : o.brand);
        return;
    }
    int64_t uid = http_req_principal(req)->user_id;
    if (uid && !api_quota_check(req, resp, BILLING_ACTION_RECOGNITION)) return;
    char *options = NULL;

    buf_t ob = { 0 };
    /* the method is part of the key: after CLIP (or the classifier) is configured, older answers do not return */
    buf_printf(&ob, "p=%d k=%d c=%s b=%s m=%s%s", prices, o.top_k, o.category ? o.category : "", o.brand ? o.brand : "",
               recog_method(engine), o.classifier ? "+vit" : "");
    options = buf_steal(&ob);
    json_t *out = cached_exact(file, uid, options);
    if (out) {
        /* the same bytes again: the stored answer, its metadata included (same photo, same caller) */
        json_object_del(out, "_options");
        json_object_set_new(out, "cached", json_true());
        json_t *md = json_object_get(out, "metadata");
        if (json_is_object(md))
            json_object_set_new(md, "processing_time_ms", json_real((double)(time_now_us() - t0) / 1000.0));
        http_resp_json(resp, 200, out);
        free(options);
        return;
    }
    /* the slow part: on a worker, the connection suspended meanwhile; announced to the CLIP
     * batcher now, so a pass forming while this photo's intake runs can wait for it */
    recog_clip_expect(recog_engine_clip(engine), +1);
    http_deferred_t *d = workers ? http_resp_defer(resp) : NULL;
    if (!d) {
        recognize_slow(req, resp, file, &o, options, consent, uid, t0);
        free(options);
        return;
    }
    recog_job_t *j = xcalloc(1, sizeof *j);
    *j = (recog_job_t){ d, req, file, o, options, consent, uid, t0 };
    if (recog_pool_submit(workers, recognize_job, j) != 0) {
        recog_clip_expect(recog_engine_clip(engine), -1);
        if (uid) api_quota_refund(req, BILLING_ACTION_RECOGNITION);
        http_resp_t *dr = http_deferred_resp(d);
        http_resp_header(dr, "Retry-After", "1");
        http_resp_error(dr, 503, "recognition_busy", "Too many recognitions in progress; try again shortly");
        http_deferred_done(d);
        free(options);
        free(j);
    }
}

/* GET /api/admin/recognition/features: the background feature refresh's progress
 * (refresh.h), plus the zero-shot label warm-up's when CLIP is loaded. */
void api_recognition_features(http_req_t *req, http_resp_t *resp)
{
    (void)req;
    json_t *out = recog_refresh_status_json(refresher);
    recog_clip_t *clip = engine ? recog_engine_clip(engine) : NULL;
    if (clip) {
        static const char *states[] = { "idle", "running", "done", "failed" };
        recog_clip_warm_t w;
        recog_clip_warm_status(clip, &w);
        json_object_set_new(out, "labels", json_pack("{s:s, s:I, s:I, s:I}", "state", states[w.state & 3], "done",
                                                     (json_int_t)w.done, "total", (json_int_t)w.total, "computed",
                                                     (json_int_t)w.computed));
    }
    http_resp_json(resp, 200, out);
}

void api_product_analytics(http_req_t *req, http_resp_t *resp)
{
    const http_principal_t *p = http_req_principal(req);
    if (!p->user_id) {
        /* anonymous callers own no uploads they can be shown */
        http_resp_json(resp, 200, json_pack("{s:i, s:i, s:n, s:n, s:n, s:s}", "total_uploads", 0, "unique_devices", 0,
                                            "average_processing_time_ms", "most_recognized_category",
                                            "most_recognized_brand", "scope", "none"));
        return;
    }
    /* admins see totals over everyone with ?scope=all; everyone else sees their own */
    const char *scope = http_req_query(req, "scope");
    bool all = scope && !strcmp(scope, "all");
    if (all && !p->is_admin) {
        http_resp_error(resp, 403, "forbidden", "Only administrators can see totals");
        return;
    }
    json_t *out = NULL;
    int rc = store_product_analytics(g_api.store, all ? 0 : p->user_id, &out);
    if (rc != STORE_OK) { api_store_error(resp, rc, "Analytics"); return; }
    json_object_set_new(out, "scope", json_string(all ? "all" : "own"));
    http_resp_json(resp, 200, out);
}
