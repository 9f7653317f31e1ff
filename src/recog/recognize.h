/* recognize.h — product recognition as a service over the store: load the engine from the
 * stored catalog vectors, import catalog files (products, images, prices), and turn an
 * accepted photo (vision intake) into the API's response. Shared by `rodeo catalog`,
 * `rodeo recognize`, `rodeo eval recognition` and POST /api/recognize-product, so the
 * command line prints exactly what the endpoint answers.
 *
 * Method: "clip" when the engine has a CLIP matcher (recog_use_clip, clipmatch.h) holding
 * entries and the intake made a tensor of its input size (recog_intake_size); otherwise, or
 * when CLIP fails on a photo, "classic" (features.h + verify.h). The response's "method"
 * says which produced it. */
#ifndef RODEO_RECOG_RECOGNIZE_H
#define RODEO_RECOG_RECOGNIZE_H
#include "ml/clip.h"
#include "ml/vit.h"
#include "recog/engine.h"
#include "store/store.h"
#include "vision/intake.h"
#include <jansson.h>
#include <stdbool.h>

/* Fills the engine from the store's catalog images. Returns images loaded, -1 on error.
 * With CLIP, products with no stored CLIP entry get their text embedding computed now. */
long recog_engine_load(recog_engine_t *e, store_t *st, char *err, size_t errlen);
/* The same with only what is stored: nothing is computed, so it is quick; the server's
 * start, whose background refresh (refresh.h) computes what is missing. */
long recog_engine_load_stored(recog_engine_t *e, store_t *st, char *err, size_t errlen);

/* Attaches a CLIP matcher over model m (borrowed; must outlive the engine) before loading:
 * recog_engine_load then loads the CLIP vectors too, imports embed with CLIP, recog_respond
 * answers with it. -1 (err) when m is NULL or has no text tower: the engine stays classic. */
int recog_use_clip(recog_engine_t *e, const clip_model_t *m, char *err, size_t errlen);
/* The intake's tensor side this engine needs (CLIP's input size, else a token 32). */
int recog_intake_size(recog_engine_t *e);
/* "clip" or "classic": what answers when CLIP does not fail on the photo. */
const char *recog_method(recog_engine_t *e);
/* Known filter values, over the classic images and the CLIP entries (case-insensitive). */
int recog_has_category(recog_engine_t *e, const char *category);
int recog_has_brand(recog_engine_t *e, const char *brand);

/* After an admin create/update: a product without a CLIP image entry gets (again) the text
 * embedding of "brand model: description", stored and searchable. 0 (also without CLIP),
 * -1 when the store or the embedding fails. */
int recog_product_text_refresh(store_t *st, recog_engine_t *e, int64_t product_id);

/* Feature vector and template of an accepted intake (from its thumbnail). 0 or -1. */
int recog_intake_features(const vision_intake_t *in, float *vec, features_template_t *tpl);

typedef struct {
    bool include_prices;
    int  top_k;                   /* default 5 */
    const char *category, *brand; /* optional filters */
    const vit_model_t *classifier;/* the operator's category classifier (VIT_MODEL), or NULL:
                                     then CLIP zero-shot / the vote alone (recog/classify.h) */
    bool announced;               /* the caller counted this photo with recog_clip_expect(+1):
                                     recog_respond ends that (embedding it, or not) */
} recog_opts_t;

/* The full success response (contract §5 plus "method" and "timings"):
 * {success, method, category{category, confidence, all_predictions}, brand{...},
 *  matches[{product_id, brand, model, category, subcategory, description, similarity_score,
 *  image_urls, msrp, current_best_price[, prices]}], metadata{camera, upload_location,
 *  processing_time_ms}}. NULL only when out of memory or the store fails (err set). */
json_t *recog_respond(store_t *st, recog_engine_t *e, const vision_intake_t *in, const recog_opts_t *o,
                      int64_t started_us, char *err, size_t errlen);

/* {camera, upload_location, processing_time_ms} of this photo (camera "make model" or
 * null; location only when the intake kept GPS, i.e. with consent). */
json_t *recog_metadata(const vision_intake_t *in, double total_ms);

/* ---- catalog import ---- */
typedef struct {
    long rows, created, updated, failed;
    long images, images_failed, prices, prices_appended, prices_failed;
} recog_import_stats_t;
/* progress(ctx, done_bytes, total_bytes) after each row; report(ctx, message) for each row
 * that failed (message names the line). */
typedef void (*recog_progress_fn)(void *ctx, long done, long total);
typedef void (*recog_report_fn)(void *ctx, const char *message);

/* Imports a products file (CSV/JSONL). images_dir (may be NULL) resolves relative image
 * paths ("" = import products without their local images); each local image is validated by the intake, stored as a blob under data_dir,
 * embedded and added to the engine (e may be NULL: store only). Rows are independent:
 * a failed row is reported and skipped, the run goes on. Returns 0, -1 when the file
 * itself cannot be read (err). */
int recog_import_products(store_t *st, recog_engine_t *e, const char *path, const char *images_dir,
                          const char *data_dir, recog_progress_fn progress, recog_report_fn report,
                          void *ctx, recog_import_stats_t *stats, char *err, size_t errlen);
/* Imports a prices file: each row's SKU must name an imported product. */
int recog_import_prices(store_t *st, const char *path, recog_report_fn report, void *ctx,
                        recog_import_stats_t *stats, char *err, size_t errlen);

/* First start of a data dir (no <data_dir>/catalog/.starter-imported marker yet): when the
 * starter catalog is found (content_dir, e.g. "content/catalog"), renders its images into
 * <data_dir>/catalog/images (with /usr/bin/python3 and content/catalog/render.py; without
 * them products load imageless),
 * then imports products and prices (idempotent by SKU, so a shared database that already
 * holds them is only updated) and writes the marker. Returns products imported. */
int  recog_starter_done(const char *data_dir);
long recog_load_starter(store_t *st, recog_engine_t *e, const char *content_dir, const char *data_dir);
#endif
