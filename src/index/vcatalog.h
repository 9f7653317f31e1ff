/* vcatalog.h — named vector collections kept in one directory.
 *
 * Each collection NAME lives in DIR/NAME.rvx (snapshot, see vindex.h) plus DIR/NAME.log
 * (mutations since that snapshot). Opening the catalog loads every snapshot and replays its
 * log; a collection whose files are corrupt is reported through the `damaged` callback and
 * left out, so the caller can rebuild it from the data store (vindex_rebuild) and put it back
 * with vcatalog_put. Names are 1-64 characters of [A-Za-z0-9_-].
 *
 * Threads: get/list may run concurrently with each other; create/put/drop/save take the
 * catalog lock. A collection returned by get stays owned by the catalog and valid until it is
 * dropped or replaced or the catalog is closed. */
#ifndef RODEO_INDEX_VCATALOG_H
#define RODEO_INDEX_VCATALOG_H
#include "index/vindex.h"

typedef struct vcatalog vcatalog_t;

/* damaged(ctx, name, reason) is called for each collection that could not be loaded. */
typedef void (*vcatalog_damaged_fn)(void *ctx, const char *name, const char *reason);

vcatalog_t *vcatalog_open(const char *dir, vcatalog_damaged_fn damaged, void *ctx,
                          char *err, size_t errlen);
/* Saves nothing; call vcatalog_save_all first for a clean shutdown (the logs make it safe
 * not to). */
void vcatalog_close(vcatalog_t *c);

int vcatalog_valid_name(const char *name);
/* New empty collection (error if the name exists); its log is attached. */
vindex_t *vcatalog_create(vcatalog_t *c, const char *name, const vindex_params_t *p,
                          char *err, size_t errlen);
/* Adopts v under name (replacing and freeing any existing one), snapshots it and attaches
 * a fresh log: how a rebuilt collection is installed. */
int vcatalog_put(vcatalog_t *c, const char *name, vindex_t *v, char *err, size_t errlen);
vindex_t *vcatalog_get(vcatalog_t *c, const char *name);
/* Removes the collection and its files. 0 done, 1 not found. */
int vcatalog_drop(vcatalog_t *c, const char *name);
/* Snapshots every collection (which also empties the logs). */
int vcatalog_save_all(vcatalog_t *c, char *err, size_t errlen);
/* Names in sorted order; returns the count, fills up to max pointers (owned by the catalog,
 * valid until the next create/put/drop). */
size_t vcatalog_list(vcatalog_t *c, const char **names, size_t max);
#endif
