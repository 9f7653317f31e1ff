/* products.c — the catalog over HTTP: public search and detail (with current prices per
 * store, cheapest total first), admin create/update/delete, and product images served from
 * blob storage. Writes keep the recognition engine in step (a deleted product stops
 * matching at once). */
#include "api/api.h"
#include "api/products.h"
#include "api/validate.h"
#include "blob/blob.h"
#include "catalog/catalog.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/log.h"
#include "recog/recognize.h"
#include "store/catalog.h"
#include "vision/format.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A money query parameter in dollars ("120" or "120.50"); -1 when absent. */
static bool query_money(http_req_t *req, http_resp_t *resp, const char *name, int64_t *cents)
{
    const char *v = http_req_query(req, name);
    *cents = -1;
    if (!v) return true;
    if (!catalog_parse_money(v, cents)) {
        http_resp_error(resp, 422, "validation_error", "%s: must be an amount in dollars like 120 or 99.95", name);
        return false;
    }
    return true;
}

static bool query_text(http_req_t *req, http_resp_t *resp, const char *name, size_t max, const char **out)
{
    *out = http_req_query(req, name);
    if (*out && !**out) *out = NULL;
    if (*out && strlen(*out) > max) {
        http_resp_error(resp, 422, "validation_error", "%s: longer than %zu characters", name, max);
        return false;
    }
    return true;
}

void api_products_list(http_req_t *req, http_resp_t *resp)
{
    store_product_query_t q = { 0 };
    int64_t limit, offset;
    if (!query_int(req, resp, "limit", 20, 1, 100, &limit) || !query_int(req, resp, "offset", 0, 0, 1000000, &offset) ||
        !query_text(req, resp, "q", 200, &q.q) || !query_text(req, resp, "category", 50, &q.category) ||
        !query_text(req, resp, "brand", 100, &q.brand) || !query_money(req, resp, "min_price", &q.min_cents) ||
        !query_money(req, resp, "max_price", &q.max_cents))
        return;
    if (q.min_cents >= 0 && q.max_cents >= 0 && q.min_cents > q.max_cents) {
        http_resp_error(resp, 422, "validation_error", "min_price: greater than max_price");
        return;
    }
    q.limit = (int)limit;
    q.offset = (int)offset;
    json_t *out = NULL;
    int rc = store_product_list(g_api.store, &q, &out);
    if (rc != STORE_OK) { api_store_error(resp, rc, "Product"); return; }
    json_object_set_new(out, "limit", json_integer(limit));
    json_object_set_new(out, "offset", json_integer(offset));
    http_resp_json(resp, 200, out);
}

void api_product_get(http_req_t *req, http_resp_t *resp)
{
    int64_t id;
    if (!param_id(req, resp, "id", &id)) return;
    json_t *p = NULL;
    int rc = store_product_get(g_api.store, id, true, &p);
    if (rc != STORE_OK) { api_store_error(resp, rc, "Product"); return; }
    json_t *hist = NULL;
    if (store_price_history(g_api.store, id, NULL, &hist) == STORE_OK) json_object_set_new(p, "price_history", hist);
    http_resp_json(resp, 200, p);
}

/* Validates an admin product body into in (strings borrowed from body). */
static bool product_body(http_resp_t *resp, json_t *body, store_product_in_t *in, char **kw, char **attrs)
{
    const char *brand, *model, *category, *sub, *desc, *sku, *upc;
    if (!field_str(resp, body, "brand", true, 100, &brand) || !field_str(resp, body, "model", true, 200, &model) ||
        !field_str(resp, body, "category", true, 50, &category) ||
        !field_str(resp, body, "subcategory", false, 100, &sub) ||
        !field_str(resp, body, "description", false, 2000, &desc) || !field_str(resp, body, "sku", false, 100, &sku) ||
        !field_str(resp, body, "upc", false, 14, &upc))
        return false;
    if (!*brand || !*model || !*category) {
        http_resp_error(resp, 422, "validation_error", "%s: must not be empty", !*brand ? "brand" : !*model ? "model" : "category");
        return false;
    }
    int64_t msrp = -1;
    json_t *m = json_object_get(body, "msrp");
    if (m && !json_is_null(m)) {
        char num[64];
        if (json_is_integer(m)) snprintf(num, sizeof num, "%lld", (long long)json_integer_value(m));
        else if (json_is_real(m)) snprintf(num, sizeof num, "%.2f", json_real_value(m));
        else if (json_is_string(m)) snprintf(num, sizeof num, "%s", json_string_value(m));
        else num[0] = 0;
        if (!catalog_parse_money(num, &msrp) ||
            (json_is_real(m) && fabs((double)msrp / 100.0 - json_real_value(m)) > 1e-6)) {
            http_resp_error(resp, 422, "validation_error", "msrp: must be a non-negative amount with at most 2 decimals");
            return false;
        }
    }
    json_t *k = json_object_get(body, "keywords");
    if (k && !json_is_null(k)) {
        size_t i;
        json_t *v;
        if (!json_is_array(k) || json_array_size(k) > 50) goto bad_kw;
        json_array_foreach(k, i, v) if (!json_is_string(v)) goto bad_kw;
        *kw = json_dumps(k, JSON_COMPACT);
    }
    json_t *a = json_object_get(body, "attributes");
    if (a && !json_is_null(a)) {
        if (!json_is_object(a)) {
            http_resp_error(resp, 422, "validation_error", "attributes: must be an object");
            return false;
        }
        *attrs = json_dumps(a, JSON_COMPACT | JSON_SORT_KEYS);
    }
    *in = (store_product_in_t){ sku, upc, brand, model, category, sub, desc, *attrs, *kw, msrp };
    return true;
bad_kw:
    http_resp_error(resp, 422, "validation_error", "keywords: must be an array of at most 50 strings");
    return false;
}

static void product_write(http_req_t *req, http_resp_t *resp, int64_t id)
{
    json_t *body = http_req_json(req, resp);
    if (!body) return;
    store_product_in_t in;
    char *kw = NULL, *attrs = NULL;
    if (product_body(resp, body, &in, &kw, &attrs)) {
        int rc;
        bool created = false;
        if (id) rc = store_product_update(g_api.store, id, &in);
        else {
            /* create refuses an existing identity rather than silently updating it */
            int64_t existing = 0;
            rc = in.sku ? store_product_find_sku(g_api.store, in.sku, &existing) : STORE_NOT_FOUND;
            if (rc == STORE_OK) rc = STORE_CONFLICT;
            else if (rc == STORE_NOT_FOUND) {
                rc = store_product_upsert(g_api.store, &in, &id, &created);
                if (rc == STORE_OK && !created) rc = STORE_CONFLICT;
            }
        }
        json_t *p = NULL;
        if (rc == STORE_OK) rc = store_product_get(g_api.store, id, true, &p);
        if (rc != STORE_OK) api_store_error(resp, rc, "Product");
        else {
            /* with CLIP, an imageless product is searchable by its text at once */
            if (api_recognize_engine() && recog_product_text_refresh(g_api.store, api_recognize_engine(), id) != 0)
                log_warn("products: CLIP text embedding of product %lld failed", (long long)id);
            http_resp_json(resp, created ? 201 : 200, p);
        }
    }
    free(kw);
    free(attrs);
    json_decref(body);
}

void api_product_create(http_req_t *req, http_resp_t *resp) { product_write(req, resp, 0); }

void api_product_update(http_req_t *req, http_resp_t *resp)
{
    int64_t id;
    if (!param_id(req, resp, "id", &id)) return;
    product_write(req, resp, id);
}

void api_product_delete(http_req_t *req, http_resp_t *resp)
{
    int64_t id;
    if (!param_id(req, resp, "id", &id)) return;
    int rc = store_product_delete(g_api.store, id);
    if (rc != STORE_OK) { api_store_error(resp, rc, "Product"); return; }
    if (api_recognize_engine()) recog_engine_remove_product(api_recognize_engine(), id);
    http_resp_json(resp, 200, json_pack("{s:s}", "status", "success"));
}

void api_product_image(http_req_t *req, http_resp_t *resp)
{
    int64_t id;
    if (!param_id(req, resp, "id", &id)) return;
    char *key = NULL;
    int rc = store_product_image_blob(g_api.store, id, &key);
    if (rc != STORE_OK) { api_store_error(resp, rc, "Image"); return; }
    char err[200];
    blob_store_t *b = blob_fs_open(g_config.data_dir, "/api/blobs", err, sizeof err);
    buf_t data = { 0 };
    if (!b || blob_get(b, key, 20 * 1024 * 1024, &data, err, sizeof err) != BLOB_OK) {
        http_resp_error(resp, 404, "not_found", "Image not found");
    } else {
        vision_format_t f = vision_format_sniff((const uint8_t *)data.data, data.len);
        const char *ct = f == VISION_FORMAT_PNG ? "image/png" : f == VISION_FORMAT_WEBP ? "image/webp" : "image/jpeg";
        http_resp_header(resp, "Cache-Control", "public, max-age=86400");
        size_t len = data.len;
        http_resp_take(resp, 200, ct, buf_steal(&data), len);
    }
    buf_free(&data);
    if (b) blob_close(b);
    free(key);
}
