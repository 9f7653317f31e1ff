/* Tests for named collections (vcatalog): create, reopen with log replay, damaged files
 * reported and replaced by a rebuild, drop, names validated. */
#include "test.h"
#include "test_index_util.h"
#include "index/vcatalog.h"
#include <stdlib.h>

static int ndamaged;
static char damaged_name[80];
static void on_damaged(void *ctx, const char *name, const char *why)
{
    (void)ctx; (void)why;
    ndamaged++;
    snprintf(damaged_name, sizeof damaged_name, "%s", name);
}

TEST(index_catalog_lifecycle)
{
    char *dir = test_tmpdir();
    char err[256];
    ndamaged = 0;
    vcatalog_t *c = vcatalog_open(dir, on_damaged, NULL, err, sizeof err);
    REQUIRE(c);
    vindex_params_t p;
    vindex_params_default(&p, 8, VINDEX_COSINE);
    vindex_t *a = vcatalog_create(c, "products", &p, err, sizeof err);
    REQUIRE(a);
    CHECK(vcatalog_create(c, "products", &p, err, sizeof err) == NULL);   /* exists */
    CHECK(vcatalog_create(c, "../etc", &p, err, sizeof err) == NULL);     /* bad name */
    CHECK(vcatalog_create(c, "", &p, err, sizeof err) == NULL);
    vindex_params_default(&p, 4, VINDEX_L2);
    vindex_t *b = vcatalog_create(c, "knowledge", &p, err, sizeof err);
    REQUIRE(b);
    float *x = tiu_clustered(50, 8, 3, 0.3, 1, 51);
    for (size_t i = 0; i < 50; i++) CHECK_INT(vindex_upsert(a, i, x + i * 8, NULL, err, sizeof err), 0);
    float y[4] = {1, 2, 3, 4};
    CHECK_INT(vindex_upsert(b, 9, y, NULL, err, sizeof err), 0);
    const char *names[4];
    CHECK_INT(vcatalog_list(c, names, 4), 2);
    CHECK_STR(names[0], "knowledge");
    CHECK_STR(names[1], "products");
    vcatalog_close(c);   /* no snapshot: everything is in the logs */

    c = vcatalog_open(dir, on_damaged, NULL, err, sizeof err);
    REQUIRE(c);
    CHECK_INT(ndamaged, 0);
    a = vcatalog_get(c, "products");
    REQUIRE(a);
    CHECK_INT(vindex_count(a), 50);
    vindex_hit_t h[1];
    CHECK(vindex_search(a, x + 8 * 8, 1, NULL, h) == 1 && h[0].id == 8);
    CHECK_INT(vindex_count(vcatalog_get(c, "knowledge")), 1);
    CHECK(vcatalog_get(c, "nothing") == NULL);
    CHECK_INT(vcatalog_save_all(c, err, sizeof err), 0);
    vcatalog_close(c);

    /* damage the products snapshot: reported, left out, replaced by a rebuild */
    char path[512];
    snprintf(path, sizeof path, "%s/products.rvx", dir);
    FILE *f = fopen(path, "r+b");
    REQUIRE(f);
    fseek(f, 5000, SEEK_SET);
    fputc(0x77, f);
    fclose(f);
    c = vcatalog_open(dir, on_damaged, NULL, err, sizeof err);
    REQUIRE(c);
    CHECK_INT(ndamaged, 1);
    CHECK_STR(damaged_name, "products");
    CHECK(vcatalog_get(c, "products") == NULL);
    vindex_params_default(&p, 8, VINDEX_COSINE);
    vindex_t *r = vindex_create(&p, err, sizeof err);
    for (size_t i = 0; i < 50; i++) vindex_upsert(r, i, x + i * 8, NULL, err, sizeof err);
    CHECK_INT(vcatalog_put(c, "products", r, err, sizeof err), 0);
    CHECK(vcatalog_get(c, "products") == r);
    CHECK_INT(vcatalog_drop(c, "knowledge"), 0);
    CHECK_INT(vcatalog_drop(c, "knowledge"), 1);
    vcatalog_close(c);
    c = vcatalog_open(dir, on_damaged, NULL, err, sizeof err);
    REQUIRE(c);
    CHECK_INT(ndamaged, 1);
    CHECK_INT(vcatalog_list(c, names, 4), 1);
    CHECK_INT(vindex_count(vcatalog_get(c, "products")), 50);
    vcatalog_close(c);
    free(x);
    free(dir);
}
