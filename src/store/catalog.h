/* catalog.h — store functions for the product catalog, its images, store prices (with
 * append-only history), stored feature vectors, and the recognition upload records.
 * Same conventions as store.h (STORE_* codes, jansson read models with API field names,
 * money in cents in the database and dollars in JSON). Kept out of store.h so the catalog
 * area stays one file pair.
 *
 * Identity of a product on import: the same SKU, else the same UPC, else the same
 * (brand, model); a match is updated in place, so importing a file twice changes nothing.
 * Prices: recording a price appends a row only when something differs from the latest row
 * of that store (price, original price, sale, stock, shipping); the current best price of
 * the product is refreshed on every record. */
#ifndef RODEO_STORE_CATALOG_H
#define RODEO_STORE_CATALOG_H
#include "store/store.h"

typedef struct {
    const char *sku, *upc, *brand, *model, *category, *subcategory, *description;
    const char *attributes_json;   /* JSON object text; NULL = "{}" */
    const char *keywords_json;     /* JSON array text; NULL = "[]" */
    int64_t     msrp_cents;        /* -1 = none */
} store_product_in_t;

/* Insert or update by identity (above). *created (may be NULL) says which. */
int store_product_upsert(store_t *st, const store_product_in_t *p, int64_t *id, bool *created);
/* Admin update of an existing product: every field is replaced (NULL clears optional ones).
 * STORE_CONFLICT when the new sku or (brand, model) belongs to another product. */
int store_product_update(store_t *st, int64_t id, const store_product_in_t *p);
int store_product_delete(store_t *st, int64_t id);             /* cascades images, prices */
int store_product_find_sku(store_t *st, const char *sku, int64_t *id);
/* {id, sku, upc, brand, model, category, subcategory, description, attributes, keywords,
 *  msrp, current_best_price, image_urls:[...], created_at, updated_at[, prices:[...]]} */
int store_product_get(store_t *st, int64_t id, bool with_prices, json_t **out);

typedef struct {
    const char *q;              /* words matched (case-insensitive substring, all words) against
                                   brand, model, description, keywords, sku; NULL = any */
    const char *category, *brand;   /* exact (case-insensitive); NULL = any */
    int64_t     min_cents, max_cents;  /* on current best price, else MSRP; -1 = open */
    int         limit, offset;
} store_product_query_t;
/* {"total": n, "items": [product as above without prices]} ordered by brand, model, id. */
int store_product_list(store_t *st, const store_product_query_t *q, json_t **out);

/* Calls fn for every product: (id, category or "", brand). For the recognition engine. */
typedef int (*store_label_fn)(void *ctx, int64_t product_id, const char *category, const char *brand);
int store_product_labels_each(store_t *st, store_label_fn fn, void *ctx);

/* Image of a product; idempotent for the same (product, sha256). url: where clients fetch
 * it (an http URL, or NULL when served from blob storage under blob_key). */
int store_product_image_add(store_t *st, int64_t product_id, const char *blob_key, const char *url,
                            const char *sha256, int64_t *image_id, bool *created);
/* Blob key of a stored product image (caller frees); STORE_NOT_FOUND for none. */
int store_product_image_blob(store_t *st, int64_t image_id, char **blob_key);
/* Calls fn for every product image held in blob storage: (image_id, product_id). For index
 * rebuilds: an image recorded only as a remote URL has no photo to compute features from. */
typedef int (*store_image_fn)(void *ctx, int64_t image_id, int64_t product_id);
int store_product_images_each(store_t *st, store_image_fn fn, void *ctx);

typedef struct {
    const char *store_name, *store_url, *product_url, *stock_level, *shipping_info;
    int64_t price_cents, original_price_cents;   /* original -1 = none */
    int64_t shipping_cents;                       /* -1 unknown (counted as 0 in totals) */
    int64_t sale_end_us;                          /* 0 none */
    bool    is_on_sale, in_stock;
    int64_t scraped_at_us;                        /* 0 = now */
} store_price_in_t;
int store_price_record(store_t *st, int64_t product_id, const store_price_in_t *p, bool *appended);
/* Latest price per store, cheapest total (price + shipping) first:
 * [{store_name, store_url, product_url, price, original_price, is_on_sale, sale_end_date,
 *   in_stock, stock_level, shipping, shipping_info, total_price, last_updated}] */
int store_product_prices(store_t *st, int64_t product_id, json_t **out);
/* Every row of one store's history, oldest first: [{price, original_price, is_on_sale,
 * in_stock, scraped_at}] (all stores when store_name is NULL). */
int store_price_history(store_t *st, int64_t product_id, const char *store_name, json_t **out);

/* Opaque vectors keyed by (collection, item id): float features, byte templates. */
int store_vector_put(store_t *st, const char *collection, int64_t item_id, int dim, const void *data,
                     size_t len);
int store_vector_delete(store_t *st, const char *collection, int64_t item_id);
/* Deletes every vector of a collection (e.g. features of a superseded version). */
int store_vector_collection_delete(store_t *st, const char *collection);
typedef int (*store_vector_fn)(void *ctx, int64_t item_id, int dim, const void *data, size_t len);
int store_vector_each(store_t *st, const char *collection, store_vector_fn fn, void *ctx);
int store_vector_get(store_t *st, const char *collection, int64_t item_id, void *data, size_t len);

/* ---- recognition uploads ---- */
typedef struct {
    int64_t     user_id;                 /* 0 anonymous */
    const char *device_id;               /* NULL without consent */
    const char *sha256, *blob_key, *format;
    uint64_t    phash;
    int         width, height;
    const char *metadata_json;           /* EXIF summary as consented */
    const char *results_json;            /* the response body */
    const char *method;
    const char *timings_json;
} store_upload_in_t;
int store_upload_add(store_t *st, const store_upload_in_t *u, int64_t *id);
/* The stored response of an upload and its owner (for the duplicate cache). */
int store_upload_results(store_t *st, int64_t id, int64_t *user_id, char **results_json,
                         int64_t *created_at_us);
/* The newest upload of exactly these bytes by this caller (user_id 0: anonymous) since
 * since_us: its id. For the byte-identical duplicate fast path. */
int store_upload_find_sha256(store_t *st, int64_t user_id, const char *sha256, int64_t since_us, int64_t *id);
/* Uploads since since_us, oldest first: fn(ctx, id, phash). To refill the duplicate index. */
typedef int (*store_upload_fn)(void *ctx, int64_t id, uint64_t phash);
int store_uploads_since(store_t *st, int64_t since_us, store_upload_fn fn, void *ctx);
/* Device seen with consent: insert or bump upload_count/last_seen; attaches user_id when
 * the row has none. */
int store_device_touch(store_t *st, const char *device_id, const char *make, const char *model,
                       const char *software, int64_t user_id);
/* {total_uploads, unique_devices, average_processing_time_ms, most_recognized_category,
 *  most_recognized_brand} over user_id's uploads (user_id 0: everyone's). */
int store_product_analytics(store_t *st, int64_t user_id, json_t **out);
#endif
