/* refresh.h — recomputing catalog features the engine is missing, in the background.
 *
 * Catalog image features are stored in versioned collections (RECOG_FEATURES_COLLECTION /
 * RECOG_TEMPLATES_COLLECTION follow FEATURES_VERSION; CLIP vectors are named after the
 * model). After an upgrade that bumps a version, or when CLIP is configured after the
 * catalog was imported, product images have no vectors of the current kind and recognition
 * would silently miss them. A refresh finds, at start:
 *   - product images without current classic features (vector or template), or without a
 *     CLIP image embedding when CLIP is loaded;
 *   - products without images and without a CLIP text embedding (CLIP loaded);
 * and recomputes them from the stored photos (the blob store) a batch at a time on its own
 * thread, adding each to the engine as soon as it is stored: recognition uses what is
 * ready, start and requests never wait. A photo that cannot be read or decoded is counted
 * as failed and skipped (tried once per run; remote image URLs are never fetched). When a
 * run completes with no failure, the rows of older feature versions are deleted.
 *
 * One refresh per engine; the caller owns it (recog_refresh_stop joins and frees). */
#ifndef RODEO_RECOG_REFRESH_H
#define RODEO_RECOG_REFRESH_H
#include "blob/blob.h"
#include "recog/engine.h"
#include "store/store.h"
#include <jansson.h>
#include <stddef.h>

typedef struct recog_refresh recog_refresh_t;

typedef enum {
    RECOG_REFRESH_IDLE = 0,      /* not started yet */
    RECOG_REFRESH_RUNNING,
    RECOG_REFRESH_DONE,          /* finished (failed photos included: they are counted) */
    RECOG_REFRESH_FAILED,        /* could not run: the store failed, or stopped early */
} recog_refresh_state_t;

typedef struct {
    recog_refresh_state_t state;
    long done, total, failed;    /* items (images and imageless products) of this run */
} recog_refresh_status_t;

typedef struct {
    int batch;                   /* items per batch (default 16) */
    int pause_ms;                /* sleep between batches (default 0): leaves CPU to requests */
    /* called on the refresh thread when a run ends (e.g. to warm labels for new entries) */
    void (*on_done)(void *ctx, const volatile int *cancel);
    void *ctx;
} recog_refresh_opts_t;

/* Starts the refresh thread over the engine's store and photos (all borrowed: they must
 * outlive recog_refresh_stop). opts may be NULL. NULL when the thread cannot start. */
recog_refresh_t *recog_refresh_start(store_t *st, recog_engine_t *e, blob_store_t *blobs,
                                     const recog_refresh_opts_t *opts);
/* Asks the thread to stop after the item in hand, joins it and frees. NULL is fine. */
void recog_refresh_stop(recog_refresh_t *r);
void recog_refresh_status(recog_refresh_t *r, recog_refresh_status_t *out);
const char *recog_refresh_state_name(recog_refresh_state_t s);   /* "idle", "running", ... */
/* {"features_version", "state", "done", "total", "failed"}: the admin endpoint's body. */
json_t *recog_refresh_status_json(recog_refresh_t *r);
#endif
