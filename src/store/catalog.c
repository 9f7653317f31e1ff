/* catalog.c — products, images, prices (append-only history), stored vectors and
 * recognition upload records over db.h (see catalog.h). */
#include "store/catalog.h"
#include "store/internal.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/timeutil.h"
#include <stdlib.h>
#include <string.h>

static json_t *dollars(int64_t cents) { return json_real((double)cents / 100.0); }
static json_t *dollars_or_null(const db_result_t *r, int row, int col)
{
    return db_isnull(r, row, col) ? json_null() : dollars(db_get_int64(r, row, col));
}

static db_value_t cents_or_null(int64_t c) { return c < 0 ? db_null() : db_int(c); }

/* ---- products ---- */

int store_product_find_sku(store_t *st, const char *sku, int64_t *id)
{
    db_value_t p[] = { db_text(sku) };
    return db_pool_query_int64(st->pool, "SELECT id FROM products WHERE sku = $1", p, 1, id);
}

/* The existing product this row denotes, by SKU, else UPC, else (brand, model). */
static int product_identify(db_conn_t *c, const store_product_in_t *p, int64_t *id)
{
    int rc = DB_NOT_FOUND;
    if (p->sku) {
        db_value_t a[] = { db_text(p->sku) };
        rc = db_query_int64(c, "SELECT id FROM products WHERE sku = $1", a, 1, id);
        if (rc != DB_NOT_FOUND) return rc;
    }
    if (p->upc) {
        db_value_t a[] = { db_text(p->upc) };
        rc = db_query_int64(c, "SELECT id FROM products WHERE upc = $1 ORDER BY id LIMIT 1", a, 1, id);
        if (rc != DB_NOT_FOUND) return rc;
    }
    db_value_t a[] = { db_text(p->brand), db_text(p->model) };
    return db_query_int64(c, "SELECT id FROM products WHERE brand = $1 AND model = $2", a, 2, id);
}

static int product_write(db_conn_t *c, int64_t id, const store_product_in_t *p, int64_t now)
{
    db_value_t a[] = { db_text(p->sku), db_text(p->upc), db_text(p->brand), db_text(p->model),
                       db_text(p->category), db_text(p->subcategory), db_text(p->description),
                       db_text(p->attributes_json ? p->attributes_json : "{}"),
                       db_text(p->keywords_json ? p->keywords_json : "[]"), cents_or_null(p->msrp_cents),
                       db_int(now), db_int(id) };
    int64_t changes = 0;
    int rc = db_exec(c,
        "UPDATE products SET sku = $1, upc = $2, brand = $3, model = $4, category = $5,"
        " subcategory = $6, description = $7, attributes = $8, keywords = $9, msrp_cents = $10,"
        " updated_at = $11 WHERE id = $12", a, DB_NPARAMS(a), &changes);
    if (rc == DB_OK && changes == 0) rc = DB_NOT_FOUND;
    return rc;
}

int store_product_upsert(store_t *st, const store_product_in_t *p, int64_t *id, bool *created)
{
    if (!p->brand || !p->model) return STORE_ERROR;
    db_conn_t *c = db_acquire(st->pool);
    if (!c) return STORE_ERROR;
    int64_t now = time_now_us(), pid = 0;
    int rc = db_begin(c);
    if (rc == DB_OK) rc = product_identify(c, p, &pid);
    bool made = false;
    if (rc == DB_NOT_FOUND) {
        db_value_t a[] = { db_text(p->sku), db_text(p->upc), db_text(p->brand), db_text(p->model),
                           db_text(p->category), db_text(p->subcategory), db_text(p->description),
                           db_text(p->attributes_json ? p->attributes_json : "{}"),
                           db_text(p->keywords_json ? p->keywords_json : "[]"), cents_or_null(p->msrp_cents),
                           db_int(now) };
        rc = db_query_int64(c,
            "INSERT INTO products (sku, upc, brand, model, category, subcategory, description,"
            " attributes, keywords, msrp_cents, created_at, updated_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING id",
            a, DB_NPARAMS(a), &pid);
        made = true;
    } else if (rc == DB_OK) {
        rc = product_write(c, pid, p, now);
    }
    if (rc == DB_OK) rc = db_commit(c);
    db_release(c);
    if (rc == DB_OK) {
        if (id) *id = pid;
        if (created) *created = made;
    }
    return rc;
}

int store_product_update(store_t *st, int64_t id, const store_product_in_t *p)
{
    if (!p->brand || !p->model) return STORE_ERROR;
    db_conn_t *c = db_acquire(st->pool);
    if (!c) return STORE_ERROR;
    int rc = product_write(c, id, p, time_now_us());
    db_release(c);
    return rc;
}

int store_product_delete(store_t *st, int64_t id)
{
    db_conn_t *c = db_acquire(st->pool);
    if (!c) return STORE_ERROR;
    int64_t changes = 0;
    db_value_t a[] = { db_int(id) };
    int rc = db_begin(c);
    /* vectors are keyed by image id: drop them with the images */
    if (rc == DB_OK)
        rc = db_exec(c, "DELETE FROM vectors WHERE item_id IN (SELECT id FROM product_images WHERE product_id = $1)"
                        " AND collection LIKE 'product%'", a, 1, NULL);
    if (rc == DB_OK) rc = db_exec(c, "DELETE FROM product_prices WHERE product_id = $1", a, 1, NULL);
    if (rc == DB_OK) rc = db_exec(c, "DELETE FROM product_images WHERE product_id = $1", a, 1, NULL);
    if (rc == DB_OK) rc = db_exec(c, "DELETE FROM products WHERE id = $1", a, 1, &changes);
    if (rc == DB_OK && changes == 0) rc = DB_NOT_FOUND;
    if (rc == DB_OK) rc = db_commit(c);
    db_release(c);
    return rc;
}

#define PRODUCT_COLS \
    "p.id, p.sku, p.upc, p.brand, p.model, p.category, p.subcategory, p.description, p.attributes," \
    " p.keywords, p.msrp_cents, p.current_best_price_cents, p.created_at, p.updated_at"

/* One product row (PRODUCT_COLS at row) as the API's object, image URLs attached. */
static json_t *product_json(db_conn_t *c, const db_result_t *r, int row)
{
    json_t *o = db_row_json(r, row, "isssssssjj--tt");
    json_object_set_new(o, "msrp", dollars_or_null(r, row, 10));
    json_object_set_new(o, "current_best_price", dollars_or_null(r, row, 11));
    json_t *urls = json_array();
    db_value_t a[] = { db_int(db_get_int64(r, row, 0)) };
    db_result_t *im = NULL;
    if (db_query(c, "SELECT id, url, blob_key FROM product_images WHERE product_id = $1 ORDER BY id", a, 1, &im) == DB_OK) {
        for (int i = 0; i < db_rows(im); i++) {
            const char *url = db_get_text(im, i, 1);
            if (url) json_array_append_new(urls, json_string(url));
            else {
                char path[96];
                snprintf(path, sizeof path, "/api/products/images/%lld", (long long)db_get_int64(im, i, 0));
                json_array_append_new(urls, json_string(path));
            }
        }
    }
    db_result_free(im);
    json_object_set_new(o, "image_urls", urls);
    return o;
}

static int prices_json(db_conn_t *c, int64_t product_id, json_t **out);

int store_product_get(store_t *st, int64_t id, bool with_prices, json_t **out)
{
    db_conn_t *c = db_acquire(st->pool);
    if (!c) return STORE_ERROR;
    db_value_t a[] = { db_int(id) };
    db_result_t *r = NULL;
    int rc = db_query(c, "SELECT " PRODUCT_COLS " FROM products p WHERE p.id = $1", a, 1, &r);
    if (rc == DB_OK && db_rows(r) == 0) rc = DB_NOT_FOUND;
    if (rc == DB_OK) {
        json_t *o = product_json(c, r, 0);
        if (with_prices) {
            json_t *pr = NULL;
            rc = prices_json(c, id, &pr);
            if (rc == DB_OK) json_object_set_new(o, "prices", pr);
        }
        if (rc == DB_OK) *out = o;
        else json_decref(o);
    }
    db_result_free(r);
    db_release(c);
    return rc;
}

int store_product_list(store_t *st, const store_product_query_t *q, json_t **out)
{
    buf_t where = { 0 };
    db_value_t a[16];
    int n = 0;
    char *likes[8] = { 0 };
    int nlikes = 0;
    buf_puts(&where, " WHERE 1 = 1");
    if (q->category) {
        a[n++] = db_text(q->category);
        buf_printf(&where, " AND lower(p.category) = lower($%d)", n);
    }
    if (q->brand) {
        a[n++] = db_text(q->brand);
        buf_printf(&where, " AND lower(p.brand) = lower($%d)", n);
    }
    if (q->min_cents >= 0) {
        a[n++] = db_int(q->min_cents);
        buf_printf(&where, " AND COALESCE(p.current_best_price_cents, p.msrp_cents) >= $%d", n);
    }
    if (q->max_cents >= 0) {
        a[n++] = db_int(q->max_cents);
        buf_printf(&where, " AND COALESCE(p.current_best_price_cents, p.msrp_cents) <= $%d", n);
    }
    if (q->q) {
        /* every word must appear somewhere in the product's text (up to 8 words) */
        char *copy = xstrdup(q->q), *save = NULL;
        for (char *w = strtok_r(copy, " \t", &save); w && nlikes < 8; w = strtok_r(NULL, " \t", &save)) {
            likes[nlikes] = db_like_contains(w);
            a[n++] = db_text(likes[nlikes++]);
            buf_printf(&where,
                " AND (lower(p.brand) LIKE lower($%d) ESCAPE '\\' OR lower(p.model) LIKE lower($%d) ESCAPE '\\'"
                " OR lower(COALESCE(p.description, '')) LIKE lower($%d) ESCAPE '\\'"
                " OR lower(COALESCE(p.keywords, '')) LIKE lower($%d) ESCAPE '\\'"
                " OR lower(COALESCE(p.sku, '')) LIKE lower($%d) ESCAPE '\\'"
                " OR lower(COALESCE(p.category, '')) LIKE lower($%d) ESCAPE '\\')", n, n, n, n, n, n);
        }
        free(copy);
    }
    db_conn_t *c = db_acquire(st->pool);
    int rc = c ? DB_OK : DB_ERROR;
    int64_t total = 0;
    db_result_t *r = NULL;
    if (rc == DB_OK) {
        buf_t sql = { 0 };
        buf_printf(&sql, "SELECT count(*) FROM products p%s", where.data);
        rc = db_query_int64(c, sql.data, a, n, &total);
        buf_reset(&sql);
        a[n] = db_int(q->limit > 0 ? q->limit : 50);
        a[n + 1] = db_int(q->offset > 0 ? q->offset : 0);
        buf_printf(&sql, "SELECT " PRODUCT_COLS " FROM products p%s ORDER BY p.brand, p.model, p.id LIMIT $%d OFFSET $%d",
                   where.data, n + 1, n + 2);
        if (rc == DB_OK) rc = db_query(c, sql.data, a, n + 2, &r);
        buf_free(&sql);
    }
    if (rc == DB_OK) {
        json_t *items = json_array();
        for (int i = 0; i < db_rows(r); i++) json_array_append_new(items, product_json(c, r, i));
        *out = json_pack("{s:I, s:o}", "total", (json_int_t)total, "items", items);
    }
    db_result_free(r);
    db_release(c);
    for (int i = 0; i < nlikes; i++) free(likes[i]);
    buf_free(&where);
    return rc;
}

int store_product_labels_each(store_t *st, store_label_fn fn, void *ctx)
{
    db_result_t *r = NULL;
    int rc = db_pool_query(st->pool, "SELECT id, COALESCE(category, ''), brand FROM products ORDER BY id", NULL, 0, &r);
    for (int i = 0; rc == DB_OK && i < db_rows(r); i++)
        if (fn(ctx, db_get_int64(r, i, 0), db_get_text(r, i, 1), db_get_text(r, i, 2))) rc = DB_ERROR;
    db_result_free(r);
    return rc;
}

/* ---- images ---- */

int store_product_image_add(store_t *st, int64_t product_id, const char *blob_key, const char *url,
                            const char *sha256, int64_t *image_id, bool *created)
{
    db_conn_t *c = db_acquire(st->pool);
    if (!c) return STORE_ERROR;
    int64_t id = 0;
    int rc = DB_NOT_FOUND;
    bool made = false;
    if (sha256) {
        db_value_t a[] = { db_int(product_id), db_text(sha256) };
        rc = db_query_int64(c, "SELECT id FROM product_images WHERE product_id = $1 AND sha256 = $2", a, 2, &id);
    }
    if (rc == DB_NOT_FOUND) {
        db_value_t a[] = { db_int(product_id), db_text(blob_key), db_text(url), db_text(sha256), db_int(time_now_us()) };
        rc = db_query_int64(c,
            "INSERT INTO product_images (product_id, blob_key, url, sha256, created_at)"
            " VALUES ($1, $2, $3, $4, $5) RETURNING id", a, 5, &id);
        made = rc == DB_OK;
    }
    db_release(c);
    if (rc == DB_OK) {
        if (image_id) *image_id = id;
        if (created) *created = made;
    }
    return rc;
}

int store_product_image_blob(store_t *st, int64_t image_id, char **blob_key)
{
    db_value_t a[] = { db_int(image_id) };
    db_result_t *r = NULL;
    int rc = db_pool_query(st->pool, "SELECT blob_key FROM product_images WHERE id = $1 AND blob_key IS NOT NULL",
                           a, 1, &r);
    if (rc == DB_OK && db_rows(r) == 0) rc = DB_NOT_FOUND;
    if (rc == DB_OK) *blob_key = db_dup_text(r, 0, 0);
    db_result_free(r);
    return rc;
}

int store_product_images_each(store_t *st, store_image_fn fn, void *ctx)
{
    db_result_t *r = NULL;
    int rc = db_pool_query(st->pool, "SELECT id, product_id FROM product_images WHERE blob_key IS NOT NULL ORDER BY id", NULL, 0, &r);
    for (int i = 0; rc == DB_OK && i < db_rows(r); i++)
        if (fn(ctx, db_get_int64(r, i, 0), db_get_int64(r, i, 1))) rc = DB_ERROR;
    db_result_free(r);
    return rc;
}

/* ---- prices ---- */

/* Latest row per store for a product, cheapest total first. */
static int prices_json(db_conn_t *c, int64_t product_id, json_t **out)
{
    db_value_t a[] = { db_int(product_id) };
    db_result_t *r = NULL;
    int rc = db_query(c,
        "SELECT pp.store_name, pp.store_url, pp.product_url, pp.price_cents, pp.original_price_cents,"
        " pp.is_on_sale, pp.sale_end, pp.in_stock, pp.stock_level, pp.shipping_cents, pp.scraped_at,"
        " pp.price_cents + COALESCE(pp.shipping_cents, 0) AS total"
        " FROM product_prices pp WHERE pp.product_id = $1 AND pp.id = ("
        "   SELECT q.id FROM product_prices q WHERE q.product_id = pp.product_id"
        "   AND q.store_name = pp.store_name ORDER BY q.scraped_at DESC, q.id DESC LIMIT 1)"
        " ORDER BY total, pp.store_name", a, 1, &r);
    if (rc != DB_OK) return rc;
    json_t *arr = json_array();
    for (int i = 0; i < db_rows(r); i++) {
        json_t *o = db_row_json(r, i, "sss--b-bs");
        json_object_set_new(o, "price", dollars(db_get_int64(r, i, 3)));
        json_object_set_new(o, "original_price", dollars_or_null(r, i, 4));
        if (db_isnull(r, i, 6)) json_object_set_new(o, "sale_end_date", json_null());
        else {
            char iso[32];
            db_iso8601(db_get_int64(r, i, 6), iso);
            json_object_set_new(o, "sale_end_date", json_stringn(iso, 10));
        }
        json_object_set_new(o, "shipping", dollars_or_null(r, i, 9));
        json_object_set_new(o, "total_price", dollars(db_get_int64(r, i, 11)));
        char iso[32];
        db_iso8601(db_get_int64(r, i, 10), iso);
        json_object_set_new(o, "last_updated", json_string(iso));
        json_array_append_new(arr, o);
    }
    db_result_free(r);
    *out = arr;
    return DB_OK;
}

int store_product_prices(store_t *st, int64_t product_id, json_t **out)
{
    db_conn_t *c = db_acquire(st->pool);
    if (!c) return STORE_ERROR;
    int rc = prices_json(c, product_id, out);
    db_release(c);
    return rc;
}

int store_price_history(store_t *st, int64_t product_id, const char *store_name, json_t **out)
{
    db_value_t a[] = { db_int(product_id), db_text(store_name) };
    db_result_t *r = NULL;
    int rc = store_name
        ? db_pool_query(st->pool,
              "SELECT store_name, price_cents, original_price_cents, is_on_sale, in_stock, scraped_at"
              " FROM product_prices WHERE product_id = $1 AND store_name = $2 ORDER BY scraped_at, id", a, 2, &r)
        : db_pool_query(st->pool,
              "SELECT store_name, price_cents, original_price_cents, is_on_sale, in_stock, scraped_at"
              " FROM product_prices WHERE product_id = $1 ORDER BY scraped_at, id", a, 1, &r);
    if (rc != DB_OK) return rc;
    json_t *arr = json_array();
    for (int i = 0; i < db_rows(r); i++) {
        json_t *o = db_row_json(r, i, "s--bbt");
        json_object_set_new(o, "price", dollars(db_get_int64(r, i, 1)));
        json_object_set_new(o, "original_price", dollars_or_null(r, i, 2));
        json_array_append_new(arr, o);
    }
    db_result_free(r);
    *out = arr;
    return DB_OK;
}

int store_price_record(store_t *st, int64_t product_id, const store_price_in_t *p, bool *appended)
{
    if (!p->store_name || p->price_cents < 0) return STORE_ERROR;
    db_conn_t *c = db_acquire(st->pool);
    if (!c) return STORE_ERROR;
    int64_t now = p->scraped_at_us ? p->scraped_at_us : time_now_us();
    int rc = db_begin(c);
    bool add = true;
    db_result_t *r = NULL;
    if (rc == DB_OK) {
        db_value_t a[] = { db_int(product_id), db_text(p->store_name) };
        rc = db_query(c,
            "SELECT price_cents, original_price_cents, is_on_sale, in_stock, shipping_cents, id"
            " FROM product_prices WHERE product_id = $1 AND store_name = $2"
            " ORDER BY scraped_at DESC, id DESC LIMIT 1", a, 2, &r);
    }
    if (rc == DB_OK && db_rows(r) == 1) {
        int64_t orig = db_isnull(r, 0, 1) ? -1 : db_get_int64(r, 0, 1);
        int64_t ship = db_isnull(r, 0, 4) ? -1 : db_get_int64(r, 0, 4);
        add = db_get_int64(r, 0, 0) != p->price_cents || orig != p->original_price_cents ||
              db_get_bool(r, 0, 2) != p->is_on_sale || db_get_bool(r, 0, 3) != p->in_stock ||
              ship != p->shipping_cents;
        if (!add) {
            /* unchanged: the observation only confirms the latest row */
            db_value_t b[] = { db_int(now), db_int(db_get_int64(r, 0, 5)) };
            rc = db_exec(c, "UPDATE product_prices SET verified_at = $1 WHERE id = $2", b, 2, NULL);
        }
    }
    db_result_free(r);
    if (rc == DB_OK && add) {
        db_value_t a[] = { db_int(product_id), db_text(p->store_name), db_text(p->store_url),
                           db_text(p->product_url), db_int(p->price_cents), cents_or_null(p->original_price_cents),
                           db_bool(p->is_on_sale), p->sale_end_us ? db_int(p->sale_end_us) : db_null(),
                           db_bool(p->in_stock), db_text(p->stock_level), cents_or_null(p->shipping_cents),
                           db_int(now) };
        rc = db_exec(c,
            "INSERT INTO product_prices (product_id, store_name, store_url, product_url, price_cents,"
            " original_price_cents, is_on_sale, sale_end, in_stock, stock_level, shipping_cents,"
            " scraped_at, verified_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)",
            a, DB_NPARAMS(a), NULL);
    }
    if (rc == DB_OK) {
        /* best current in-stock price over every store's latest row */
        db_value_t a[] = { db_int(product_id), db_int(time_now_us()) };
        rc = db_exec(c,
            "UPDATE products SET updated_at = $2, current_best_price_cents = ("
            " SELECT min(pp.price_cents) FROM product_prices pp WHERE pp.product_id = $1 AND pp.in_stock = 1"
            " AND pp.id = (SELECT q.id FROM product_prices q WHERE q.product_id = pp.product_id"
            " AND q.store_name = pp.store_name ORDER BY q.scraped_at DESC, q.id DESC LIMIT 1))"
            " WHERE id = $1", a, 2, NULL);
    }
    if (rc == DB_OK) rc = db_commit(c);
    db_release(c);
    if (rc == DB_OK && appended) *appended = add;
    return rc;
}

/* ---- vectors ---- */

int store_vector_put(store_t *st, const char *collection, int64_t item_id, int dim, const void *data,
                     size_t len)
{
    db_value_t a[] = { db_text(collection), db_int(item_id), db_int(dim), db_blob(data, len) };
    return db_pool_exec(st->pool,
        "INSERT INTO vectors (collection, item_id, dim, data) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (collection, item_id) DO UPDATE SET dim = excluded.dim, data = excluded.data",
        a, 4, NULL);
}

int store_vector_delete(store_t *st, const char *collection, int64_t item_id)
{
    db_value_t a[] = { db_text(collection), db_int(item_id) };
    return db_pool_exec(st->pool, "DELETE FROM vectors WHERE collection = $1 AND item_id = $2", a, 2, NULL);
}

int store_vector_collection_delete(store_t *st, const char *collection)
{
    db_value_t a[] = { db_text(collection) };
    return db_pool_exec(st->pool, "DELETE FROM vectors WHERE collection = $1", a, 1, NULL);
}

int store_vector_each(store_t *st, const char *collection, store_vector_fn fn, void *ctx)
{
    db_value_t a[] = { db_text(collection) };
    db_result_t *r = NULL;
    int rc = db_pool_query(st->pool, "SELECT item_id, dim, data FROM vectors WHERE collection = $1 ORDER BY item_id",
                           a, 1, &r);
    for (int i = 0; rc == DB_OK && i < db_rows(r); i++) {
        size_t len = 0;
        const void *d = db_get_blob(r, i, 2, &len);
        if (fn(ctx, db_get_int64(r, i, 0), (int)db_get_int64(r, i, 1), d, len)) rc = DB_ERROR;
    }
    db_result_free(r);
    return rc;
}

int store_vector_get(store_t *st, const char *collection, int64_t item_id, void *data, size_t len)
{
    db_value_t a[] = { db_text(collection), db_int(item_id) };
    db_result_t *r = NULL;
    int rc = db_pool_query(st->pool, "SELECT data FROM vectors WHERE collection = $1 AND item_id = $2", a, 2, &r);
    if (rc == DB_OK && db_rows(r) == 0) rc = DB_NOT_FOUND;
    if (rc == DB_OK) {
        size_t n = 0;
        const void *d = db_get_blob(r, 0, 0, &n);
        if (n != len) rc = DB_ERROR;
        else memcpy(data, d, len);
    }
    db_result_free(r);
    return rc;
}

/* ---- uploads ---- */

int store_upload_add(store_t *st, const store_upload_in_t *u, int64_t *id)
{
    db_value_t a[] = { db_id(u->user_id), db_text(u->device_id), db_text(u->sha256), db_int((int64_t)u->phash),
                       db_text(u->blob_key), db_int(u->width), db_int(u->height), db_text(u->format),
                       db_text(u->metadata_json ? u->metadata_json : "{}"), db_text(u->results_json),
                       db_text(u->method), db_text(u->timings_json), db_int(time_now_us()) };
    return db_pool_query_int64(st->pool,
        "INSERT INTO image_uploads (user_id, device_id, sha256, phash, blob_key, width, height, format,"
        " metadata, results, method, timings, created_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
        a, DB_NPARAMS(a), id);
}

int store_upload_results(store_t *st, int64_t id, int64_t *user_id, char **results_json, int64_t *created_at_us)
{
    db_value_t a[] = { db_int(id) };
    db_result_t *r = NULL;
    int rc = db_pool_query(st->pool, "SELECT user_id, results, created_at FROM image_uploads WHERE id = $1", a, 1, &r);
    if (rc == DB_OK && db_rows(r) == 0) rc = DB_NOT_FOUND;
    if (rc == DB_OK) {
        if (user_id) *user_id = db_get_int64(r, 0, 0);
        if (results_json) *results_json = db_dup_text(r, 0, 1);
        if (created_at_us) *created_at_us = db_get_int64(r, 0, 2);
    }
    db_result_free(r);
    return rc;
}

int store_upload_find_sha256(store_t *st, int64_t user_id, const char *sha256, int64_t since_us, int64_t *id)
{
    db_value_t a[] = { db_int(user_id), db_text(sha256), db_int(since_us) };
    return db_pool_query_int64(st->pool,
        "SELECT id FROM image_uploads WHERE sha256 = $2 AND created_at >= $3 AND results IS NOT NULL"
        " AND COALESCE(user_id, 0) = $1 ORDER BY id DESC LIMIT 1", a, 3, id);
}

int store_uploads_since(store_t *st, int64_t since_us, store_upload_fn fn, void *ctx)
{
    db_value_t a[] = { db_int(since_us) };
    db_result_t *r = NULL;
    int rc = db_pool_query(st->pool,
        "SELECT id, phash FROM image_uploads WHERE created_at >= $1 AND results IS NOT NULL ORDER BY id", a, 1, &r);
    for (int i = 0; rc == DB_OK && i < db_rows(r); i++)
        if (fn(ctx, db_get_int64(r, i, 0), (uint64_t)db_get_int64(r, i, 1))) rc = DB_ERROR;
    db_result_free(r);
    return rc;
}

int store_device_touch(store_t *st, const char *device_id, const char *make, const char *model,
                       const char *software, int64_t user_id)
{
    int64_t now = time_now_us();
    db_value_t a[] = { db_text(device_id), db_text(make), db_text(model), db_text(software), db_int(now),
                       db_id(user_id) };
    return db_pool_exec(st->pool,
        "INSERT INTO device_fingerprints (device_id, camera_make, camera_model, software, first_seen,"
        " last_seen, upload_count, user_id) VALUES ($1, $2, $3, $4, $5, $5, 1, $6)"
        " ON CONFLICT (device_id) DO UPDATE SET last_seen = excluded.last_seen,"
        " upload_count = device_fingerprints.upload_count + 1,"
        " user_id = COALESCE(device_fingerprints.user_id, excluded.user_id)", a, 6, NULL);
}

/* Most frequent key in a small tally. */
static const char *tally_top(json_t *tally)
{
    const char *best = NULL, *k;
    json_int_t bn = 0;
    json_t *v;
    json_object_foreach(tally, k, v)
        if (json_integer_value(v) > bn || (json_integer_value(v) == bn && best && strcmp(k, best) < 0)) {
            bn = json_integer_value(v);
            best = k;
        }
    return best;
}

int store_product_analytics(store_t *st, int64_t user_id, json_t **out)
{
    db_value_t a[] = { db_int(user_id) };
    db_result_t *r = NULL;
    /* the most recent 10000 uploads are enough for the "most recognised" figures */
    int rc = db_pool_query(st->pool,
        "SELECT results, timings, device_id FROM image_uploads WHERE ($1 = 0 OR user_id = $1)"
        " ORDER BY id DESC LIMIT 10000", a, 1, &r);
    if (rc != DB_OK) return rc;
    int64_t total = 0, devices = 0;
    db_value_t b[] = { db_int(user_id) };
    rc = db_pool_query_int64(st->pool, "SELECT count(*) FROM image_uploads WHERE ($1 = 0 OR user_id = $1)", b, 1, &total);
    if (rc == DB_OK)
        rc = db_pool_query_int64(st->pool,
            "SELECT count(DISTINCT device_id) FROM image_uploads WHERE ($1 = 0 OR user_id = $1) AND device_id IS NOT NULL",
            b, 1, &devices);
    if (rc != DB_OK) { db_result_free(r); return rc; }
    json_t *cats = json_object(), *brands = json_object();
    double ms = 0;
    int nms = 0;
    for (int i = 0; i < db_rows(r); i++) {
        json_t *res = db_get_text(r, i, 0) ? json_loads(db_get_text(r, i, 0), 0, NULL) : NULL;
        json_t *tim = db_get_text(r, i, 1) ? json_loads(db_get_text(r, i, 1), 0, NULL) : NULL;
        const char *cat = json_string_value(json_object_get(json_object_get(res, "category"), "category"));
        const char *br = json_string_value(json_object_get(json_object_get(res, "brand"), "brand"));
        if (cat) json_object_set_new(cats, cat, json_integer(json_integer_value(json_object_get(cats, cat)) + 1));
        if (br) json_object_set_new(brands, br, json_integer(json_integer_value(json_object_get(brands, br)) + 1));
        json_t *t = json_object_get(tim, "total_ms");
        if (json_is_number(t)) { ms += json_number_value(t); nms++; }
        json_decref(res);
        json_decref(tim);
    }
    const char *tc = tally_top(cats), *tb = tally_top(brands);
    *out = json_pack("{s:I, s:I, s:o, s:o, s:o}", "total_uploads", (json_int_t)total, "unique_devices",
                     (json_int_t)devices, "average_processing_time_ms", nms ? json_real(ms / nms) : json_null(),
                     "most_recognized_category", tc ? json_string(tc) : json_null(),
                     "most_recognized_brand", tb ? json_string(tb) : json_null());
    json_decref(cats);
    json_decref(brands);
    db_result_free(r);
    return DB_OK;
}
