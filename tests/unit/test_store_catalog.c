/* Tests for the catalog store: upsert identity (SKU, UPC, brand+model), admin update and
 * delete, search with filters, append-only price history and best price, vectors, upload
 * records, devices and analytics. Unique names per run: the PostgreSQL store is shared. */
#include "test.h"
#include "store_fixture.h"
#include "store/catalog.h"
#include "core/crypto.h"
#include <stdlib.h>

static void uniq(char *out, size_t cap, const char *prefix)
{
    char *t = random_token(6);
    snprintf(out, cap, "%s%s", prefix, t);
    for (char *p = out; *p; p++) if (*p == '_') *p = 'x';
    free(t);
}

TEST(store_catalog_upsert_identity)
{
    store_t *st = fixture_store_open();
    REQUIRE(st);
    char sku[64], brand[64];
    uniq(sku, sizeof sku, "SKU-");
    uniq(brand, sizeof brand, "Brand");
    store_product_in_t p = { .sku = sku, .brand = brand, .model = "Roper", .category = "boots",
                             .description = "A boot.", .keywords_json = "[\"roper\"]", .msrp_cents = 15995 };
    int64_t id1 = 0, id2 = 0, id3 = 0;
    bool created = false;
    REQUIRE(store_product_upsert(st, &p, &id1, &created) == STORE_OK);
    CHECK(created);
    /* same SKU, new description: updated in place */
    p.description = "A better boot.";
    REQUIRE(store_product_upsert(st, &p, &id2, &created) == STORE_OK);
    CHECK(!created);
    CHECK_INT(id2, id1);
    /* no SKU, same brand+model: the same product */
    store_product_in_t q = { .brand = brand, .model = "Roper", .category = "boots", .msrp_cents = -1 };
    q.sku = NULL;
    REQUIRE(store_product_upsert(st, &q, &id3, &created) == STORE_OK);
    CHECK(!created);
    CHECK_INT(id3, id1);
    json_t *o = NULL;
    REQUIRE(store_product_get(st, id1, true, &o) == STORE_OK);
    CHECK_STR(json_string_value(json_object_get(o, "brand")), brand);
    CHECK(json_is_null(json_object_get(o, "msrp")));          /* the last write had no msrp */
    CHECK(json_is_array(json_object_get(o, "prices")));
    CHECK(json_is_array(json_object_get(o, "image_urls")));
    json_decref(o);
    /* update conflicting with another product's SKU */
    char sku2[64];
    uniq(sku2, sizeof sku2, "SKU-");
    store_product_in_t other = { .sku = sku2, .brand = brand, .model = "Other", .category = "hats", .msrp_cents = 100 };
    int64_t oid = 0;
    REQUIRE(store_product_upsert(st, &other, &oid, NULL) == STORE_OK);
    store_product_in_t clash = { .sku = sku2, .brand = brand, .model = "Roper", .category = "boots", .msrp_cents = 1 };
    CHECK_INT(store_product_update(st, id1, &clash), STORE_CONFLICT);
    CHECK_INT(store_product_update(st, 999999999, &p), STORE_NOT_FOUND);
    CHECK_INT(store_product_delete(st, oid), STORE_OK);
    CHECK_INT(store_product_delete(st, oid), STORE_NOT_FOUND);
    CHECK_INT(store_product_get(st, oid, false, &o), STORE_NOT_FOUND);
    store_close(st);
}

TEST(store_catalog_search_and_prices)
{
    store_t *st = fixture_store_open();
    REQUIRE(st);
    char brand[64];
    uniq(brand, sizeof brand, "Zq");
    int64_t ids[3];
    const char *models[3] = { "Open Road", "Skyline 100%", "Rancher_Straw" };
    for (int i = 0; i < 3; i++) {
        store_product_in_t p = { .brand = brand, .model = models[i], .category = i < 2 ? "hats" : "belts",
                                 .description = i == 1 ? "black felt" : "straw", .msrp_cents = 10000 * (i + 1) };
        REQUIRE(store_product_upsert(st, &p, &ids[i], NULL) == STORE_OK);
    }
    store_product_query_t q = { .brand = brand, .min_cents = -1, .max_cents = -1, .limit = 10 };
    json_t *o = NULL;
    REQUIRE(store_product_list(st, &q, &o) == STORE_OK);
    CHECK_INT(json_integer_value(json_object_get(o, "total")), 3);
    json_decref(o);
    q.category = "HATS";
    q.q = "felt";
    REQUIRE(store_product_list(st, &q, &o) == STORE_OK);
    CHECK_INT(json_integer_value(json_object_get(o, "total")), 1);
    CHECK_STR(json_string_value(json_object_get(json_array_get(json_object_get(o, "items"), 0), "model")), "Skyline 100%");
    json_decref(o);
    /* LIKE wildcards in the query are literal */
    q.category = NULL;
    q.q = "100%";
    REQUIRE(store_product_list(st, &q, &o) == STORE_OK);
    CHECK_INT(json_integer_value(json_object_get(o, "total")), 1);
    json_decref(o);
    q.q = "_";
    REQUIRE(store_product_list(st, &q, &o) == STORE_OK);
    CHECK_INT(json_integer_value(json_object_get(o, "total")), 1);
    json_decref(o);
    q.q = NULL;
    q.min_cents = 15000;
    q.max_cents = 25000;
    REQUIRE(store_product_list(st, &q, &o) == STORE_OK);
    CHECK_INT(json_integer_value(json_object_get(o, "total")), 1);
    json_decref(o);

    /* prices: unchanged observations do not append, changes do; best price follows */
    store_price_in_t pr = { .store_name = "Boot Barn", .price_cents = 9000, .original_price_cents = -1,
                            .shipping_cents = 795, .in_stock = true, .scraped_at_us = 1000 };
    bool app = false;
    REQUIRE(store_price_record(st, ids[0], &pr, &app) == STORE_OK);
    CHECK(app);
    pr.scraped_at_us = 2000;
    REQUIRE(store_price_record(st, ids[0], &pr, &app) == STORE_OK);
    CHECK(!app);
    pr.price_cents = 8500;
    pr.scraped_at_us = 3000;
    REQUIRE(store_price_record(st, ids[0], &pr, &app) == STORE_OK);
    CHECK(app);
    store_price_in_t pr2 = { .store_name = "Sheplers", .price_cents = 8600, .original_price_cents = 9900,
                             .is_on_sale = true, .shipping_cents = 0, .in_stock = true, .scraped_at_us = 3000 };
    REQUIRE(store_price_record(st, ids[0], &pr2, &app) == STORE_OK);
    json_t *prices = NULL;
    REQUIRE(store_product_prices(st, ids[0], &prices) == STORE_OK);
    REQUIRE(json_array_size(prices) == 2);
    /* sorted by total: Sheplers 86.00 + 0 before Boot Barn 85.00 + 7.95 */
    CHECK_STR(json_string_value(json_object_get(json_array_get(prices, 0), "store_name")), "Sheplers");
    CHECK_NEAR(json_number_value(json_object_get(json_array_get(prices, 1), "price")), 85.0, 1e-9);
    CHECK_NEAR(json_number_value(json_object_get(json_array_get(prices, 1), "total_price")), 92.95, 1e-9);
    CHECK(json_is_true(json_object_get(json_array_get(prices, 0), "is_on_sale")));
    json_decref(prices);
    json_t *hist = NULL;
    REQUIRE(store_price_history(st, ids[0], "Boot Barn", &hist) == STORE_OK);
    CHECK_INT(json_array_size(hist), 2);
    json_decref(hist);
    REQUIRE(store_product_get(st, ids[0], false, &o) == STORE_OK);
    CHECK_NEAR(json_number_value(json_object_get(o, "current_best_price")), 85.0, 1e-9);
    json_decref(o);
    store_close(st);
}

static int count_vec(void *ctx, int64_t id, int dim, const void *data, size_t len)
{
    (void)id;
    float f[3];
    if (len != sizeof f) return 0;
    memcpy(f, data, sizeof f);   /* blob bytes carry no alignment promise */
    if (dim == 3 && f[2] == 3.0f) ++*(int *)ctx;
    return 0;
}

TEST(store_catalog_vectors_uploads_analytics)
{
    store_t *st = fixture_store_open();
    REQUIRE(st);
    char coll[64];
    uniq(coll, sizeof coll, "product_test_");
    float v[3] = { 1, 2, 3 };
    REQUIRE(store_vector_put(st, coll, 7, 3, v, sizeof v) == STORE_OK);
    v[2] = 3;
    REQUIRE(store_vector_put(st, coll, 7, 3, v, sizeof v) == STORE_OK);   /* replace */
    REQUIRE(store_vector_put(st, coll, 8, 3, v, sizeof v) == STORE_OK);
    int n = 0;
    REQUIRE(store_vector_each(st, coll, count_vec, &n) == STORE_OK);
    CHECK_INT(n, 2);
    float back[3];
    CHECK_INT(store_vector_get(st, coll, 8, back, sizeof back), STORE_OK);
    CHECK(back[1] == 2.0f);
    CHECK_INT(store_vector_get(st, coll, 8, back, 8), STORE_ERROR);   /* wrong size */
    CHECK_INT(store_vector_delete(st, coll, 8), STORE_OK);
    CHECK_INT(store_vector_get(st, coll, 8, back, sizeof back), STORE_NOT_FOUND);

    int64_t uid = fixture_user(st, "recog");
    REQUIRE(uid > 0);
    char dev[65];
    uniq(dev, sizeof dev, "dev");
    store_upload_in_t u = { .user_id = uid, .device_id = dev, .sha256 = "ab", .phash = 0x8000000000000001ULL,
                            .format = "jpeg", .width = 300, .height = 300,
                            .results_json = "{\"category\":{\"category\":\"hats\"},\"brand\":{\"brand\":\"Stetson\"}}",
                            .method = "classic", .timings_json = "{\"total_ms\":12.5}" };
    int64_t up = 0;
    REQUIRE(store_upload_add(st, &u, &up) == STORE_OK);
    REQUIRE(store_device_touch(st, dev, "Apple", "iPhone", NULL, uid) == STORE_OK);
    REQUIRE(store_device_touch(st, dev, "Apple", "iPhone", NULL, 0) == STORE_OK);
    char *res = NULL;
    int64_t owner = 0;
    REQUIRE(store_upload_results(st, up, &owner, &res, NULL) == STORE_OK);
    CHECK_INT(owner, uid);
    CHECK(res && strstr(res, "Stetson"));
    free(res);
    json_t *a = NULL;
    REQUIRE(store_product_analytics(st, uid, &a) == STORE_OK);
    CHECK_INT(json_integer_value(json_object_get(a, "total_uploads")), 1);
    CHECK_INT(json_integer_value(json_object_get(a, "unique_devices")), 1);
    CHECK_STR(json_string_value(json_object_get(a, "most_recognized_brand")), "Stetson");
    CHECK_NEAR(json_number_value(json_object_get(a, "average_processing_time_ms")), 12.5, 1e-9);
    json_decref(a);
    store_close(st);
}
