/* test_catalog.c — catalog import parsing: CSV quoting, JSON Lines, validation, and
 * hostile files (truncated, oversized, wrong types, wrong encoding, garbage). */
#include "test.h"
#include "catalog/catalog.h"
#include "catalog/csv.h"
#include "core/buf.h"
#include <stdlib.h>

static char *write_file(const char *name, const char *content, size_t len)
{
    char *dir = test_tmpdir();
    buf_t b = {0};
    buf_printf(&b, "%s/%s", dir, name);
    free(dir);
    FILE *f = fopen(b.data, "wb");
    fwrite(content, 1, len, f);
    fclose(f);
    return buf_steal(&b);
}

/* Reads every product row; returns counts of good and bad rows, last error kept. */
static void read_all(const char *path, int *good, int *bad, char *lasterr, catalog_product_t *first)
{
    char err[300];
    *good = *bad = 0;
    catalog_reader_t *r = catalog_open(path, CATALOG_PRODUCTS, err, sizeof err);
    if (!r) { *bad = -1; snprintf(lasterr, 300, "%s", err); return; }
    catalog_product_t p;
    int rc;
    while ((rc = catalog_next_product(r, &p, err, sizeof err)) != 0) {
        if (rc < 0) { (*bad)++; snprintf(lasterr, 300, "%s", err); continue; }
        if (*good == 0 && first) *first = p;
        else catalog_product_clear(&p);
        (*good)++;
    }
    catalog_close(r);
}

TEST(catalog_csv_quoting)
{
    const char *csv = "\xEF\xBB\xBFsku,brand,model,category,description,msrp,keywords\r\n"
                      "A-1,Ariat,\"Heritage, Roper\",Boots,\"say \"\"hi\"\"\nsecond line\",159.95,roper; work ;;\r\n"
                      "\n"
                      "A-2,Justin,Bent Rail,boots,,$1,299.00,\n";
    char *path = write_file("p.csv", csv, strlen(csv));
    int good, bad;
    char err[300] = "";
    catalog_product_t p;
    read_all(path, &good, &bad, err, &p);
    /* row 2 has one field too many: "$1" and "299.00" split on the comma */
    CHECK_INT(good, 1);
    CHECK_INT(bad, 1);
    CHECK(strstr(err, "line 5") != NULL);
    CHECK_STR(p.model, "Heritage, Roper");
    CHECK_STR(p.description, "say \"hi\"\nsecond line");
    CHECK_STR(p.category, "boots");
    CHECK_INT(p.msrp_cents, 15995);
    CHECK_STR(p.keywords_json, "[\"roper\",\"work\"]");
    CHECK_STR(p.attributes_json, "{}");
    CHECK_INT(p.line, 2);
    catalog_product_clear(&p);
    free(path);
}

TEST(catalog_jsonl_types)
{
    const char *jl = "{\"sku\":\"S1\",\"brand\":\"Stetson\",\"model\":\"Open Road\",\"category\":\"hats\",\"msrp\":225,"
                     "\"keywords\":[\"felt\",\"classic\"],\"attributes\":{\"brim_in\":2.5}}\n"
                     "{\"brand\":5,\"model\":\"x\",\"category\":\"hats\"}\n"
                     "{\"brand\":\"B\",\"model\":\"M\",\"category\":\"hats\",\"attributes\":[1]}\n"
                     "[1,2]\n"
                     "{\"brand\":\"B\",\"model\":\"M\"\n"
                     "{\"brand\":\"B\",\"brand\":\"C\",\"model\":\"M\",\"category\":\"hats\"}\n"
                     "\n";
    char *path = write_file("p.jsonl", jl, strlen(jl));
    int good, bad;
    char err[300] = "";
    catalog_product_t p;
    read_all(path, &good, &bad, err, &p);
    CHECK_INT(good, 1);
    CHECK_INT(bad, 5);
    CHECK_STR(p.brand, "Stetson");
    CHECK_INT(p.msrp_cents, 22500);
    CHECK_STR(p.keywords_json, "[\"felt\",\"classic\"]");
    CHECK_STR(p.attributes_json, "{\"brim_in\":2.5}");
    catalog_product_clear(&p);
    free(path);
}

TEST(catalog_validation_errors)
{
    struct { const char *row; const char *expect; } cases[] = {
        { ",Model,boots,,", "brand is required" },
        { "Brand,,boots,,", "model is required" },
        { "Brand,Model,,,", "category is required" },
        { "Brand,Model,bo<ts,,", "category" },
        { "Brand,Model,boots,12.345,", "not an amount" },
        { "Brand,Model,boots,-5,", "not an amount" },
        { "Brand,Model,boots,abc,", "not an amount" },
        { "Brand,Model,boots,1,../etc/passwd", "relative path" },
        { "Brand,Model,boots,1,/etc/passwd", "relative path" },
        { "Brand,Model,boots,1,ftp://x/y.jpg", "relative path" },
        { "Br\xE9nd,Model,boots,1,", "UTF-8" },
        { "Brand,Mo\"del,boots,1,", "quote inside" },
        { "Brand,\"Model\"x,boots,1,", "after a closing quote" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        buf_t b = {0};
        buf_printf(&b, "brand,model,category,msrp,image\n%s\nGood,Row,hats,,\n", cases[i].row);
        char *path = write_file("v.csv", b.data, b.len);
        int good, bad;
        char err[300] = "";
        read_all(path, &good, &bad, err, NULL);
        CHECK_INT(good, 1);      /* the next row is still read */
        CHECK_INT(bad, 1);
        if (!strstr(err, cases[i].expect)) test_fail(__FILE__, __LINE__, "case %zu: '%s' lacks '%s'", i, err, cases[i].expect);
        buf_free(&b);
        free(path);
    }
}

TEST(catalog_hostile_files)
{
    int good, bad;
    char err[300];
    /* empty, header only, missing required column, duplicate column, unterminated quote */
    char *p1 = write_file("e.csv", "", 0);
    read_all(p1, &good, &bad, err, NULL);
    CHECK_INT(bad, -1);
    char *p2 = write_file("h.csv", "brand,model,category\n", 21);
    read_all(p2, &good, &bad, err, NULL);
    CHECK_INT(good, 0);
    CHECK_INT(bad, 0);
    char *p3 = write_file("m.csv", "brand,model\nA,B\n", 16);
    read_all(p3, &good, &bad, err, NULL);
    CHECK_INT(bad, -1);
    CHECK(strstr(err, "category") != NULL);
    char *p4 = write_file("d.csv", "brand,Brand,model,category\n", 27);
    read_all(p4, &good, &bad, err, NULL);
    CHECK_INT(bad, -1);
    CHECK(strstr(err, "duplicate") != NULL);
    const char *trunc = "brand,model,category\nA,B,boots\nC,\"D never closed,boots\n";
    char *p5 = write_file("t.csv", trunc, strlen(trunc));
    read_all(p5, &good, &bad, err, NULL);
    CHECK_INT(good, 1);
    CHECK_INT(bad, 1);
    CHECK(strstr(err, "unterminated") != NULL);
    /* an oversized field and an oversized JSON line are errors, not allocations without end */
    buf_t big = {0};
    buf_puts(&big, "brand,model,category\nA,");
    for (int i = 0; i < CSV_MAX_FIELD + 100; i++) buf_putc(&big, 'x');
    buf_puts(&big, ",boots\nE,F,hats\n");
    char *p6 = write_file("big.csv", big.data, big.len);
    read_all(p6, &good, &bad, err, NULL);
    CHECK_INT(good, 1);
    CHECK_INT(bad, 1);
    CHECK(strstr(err, "longer than") != NULL);
    buf_reset(&big);
    buf_puts(&big, "{\"brand\":\"");
    for (int i = 0; i < 300 * 1024; i++) buf_putc(&big, 'x');
    buf_puts(&big, "\"}\n{\"brand\":\"B\",\"model\":\"M\",\"category\":\"hats\"}\n");
    char *p7 = write_file("big.jsonl", big.data, big.len);
    read_all(p7, &good, &bad, err, NULL);
    CHECK_INT(good, 1);
    CHECK_INT(bad, 1);
    /* random bytes: every row is an error or skipped; never a crash */
    uint8_t junk[4096];
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof junk; i++) { x = x * 1103515245 + 12345; junk[i] = (uint8_t)(x >> 16); }
    memcpy(junk, "brand,model,category\n", 21);
    char *p8 = write_file("junk.csv", (const char *)junk, sizeof junk);
    read_all(p8, &good, &bad, err, NULL);
    CHECK(bad >= 1);
    buf_free(&big);
    free(p1); free(p2); free(p3); free(p4); free(p5); free(p6); free(p7); free(p8);
}

TEST(catalog_prices_and_money)
{
    int64_t c;
    CHECK(catalog_parse_money("189.95", &c) && c == 18995);
    CHECK(catalog_parse_money("12.5", &c) && c == 1250);
    CHECK(catalog_parse_money("$1,299.00", &c) && c == 129900);
    CHECK(catalog_parse_money("0", &c) && c == 0);
    CHECK(!catalog_parse_money("1.", &c));
    CHECK(!catalog_parse_money("1.001", &c));
    CHECK(!catalog_parse_money("1e5", &c));
    CHECK(!catalog_parse_money("99999999999", &c));
    CHECK(!catalog_parse_money("", &c));
    CHECK_INT(catalog_shipping_cents("Free shipping over $50"), 0);
    CHECK_INT(catalog_shipping_cents("$7.95 flat"), 795);
    CHECK_INT(catalog_shipping_cents("ships soon"), -1);
    const char *csv = "sku,store_name,store_url,price,original_price,sale_end_date,in_stock,shipping_info\n"
                      "A,Boot Barn,https://www.bootbarn.com,127.49,149.99,2026-12-24,yes,$7.95 flat\n"
                      "A,Sheplers,javascript:alert(1),1,,,,\n"
                      "A,Sheplers,,1,,2026-13-45,,\n"
                      "A,Sheplers,,,,,,\n";
    char *path = write_file("prices.csv", csv, strlen(csv));
    char err[300];
    catalog_reader_t *r = catalog_open(path, CATALOG_PRICES, err, sizeof err);
    REQUIRE(r);
    catalog_price_t p;
    CHECK_INT(catalog_next_price(r, &p, err, sizeof err), 1);
    CHECK_INT(p.price_cents, 12749);
    CHECK_INT(p.original_price_cents, 14999);
    CHECK(p.is_on_sale);
    CHECK(p.in_stock);
    CHECK_INT(p.shipping_cents, 795);
    CHECK_INT(p.sale_end_us, 1798070400LL * 1000000);
    catalog_price_clear(&p);
    CHECK_INT(catalog_next_price(r, &p, err, sizeof err), -1);
    CHECK(strstr(err, "URL") != NULL);
    CHECK_INT(catalog_next_price(r, &p, err, sizeof err), -1);
    CHECK(strstr(err, "YYYY-MM-DD") != NULL);
    CHECK_INT(catalog_next_price(r, &p, err, sizeof err), -1);
    CHECK(strstr(err, "price is required") != NULL);
    CHECK_INT(catalog_next_price(r, &p, err, sizeof err), 0);
    catalog_close(r);
    free(path);
}

TEST(catalog_starter_file_parses)
{
    /* the shipped starter catalog must import without a single bad row */
    int good, bad;
    char err[300] = "";
    read_all("content/catalog/products.csv", &good, &bad, err, NULL);
    CHECK(good >= 150);
    CHECK_INT(bad, 0);
    if (bad) printf("    %s\n", err);
    catalog_reader_t *r = catalog_open("content/catalog/prices.csv", CATALOG_PRICES, err, sizeof err);
    REQUIRE(r);
    catalog_price_t p;
    int rc, n = 0, nbad = 0;
    while ((rc = catalog_next_price(r, &p, err, sizeof err)) != 0) {
        if (rc < 0) { nbad++; continue; }
        n++;
        catalog_price_clear(&p);
    }
    catalog_close(r);
    CHECK(n >= 300);
    CHECK_INT(nbad, 0);
}
