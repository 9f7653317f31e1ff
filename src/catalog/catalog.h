/* catalog.h — catalog import files: products (CSV with a header row, or JSON Lines with the
 * same keys) and store prices (CSV or JSON Lines). Each row is parsed and validated in full
 * before the caller writes anything, so a broken row is reported (with its line and the
 * reason) and skipped, never half-written.
 *
 * Product keys: sku, upc, brand, model, category, subcategory, description, msrp, image,
 *   keywords (';'-separated in CSV, a JSON array or ';' string in JSON Lines), attributes
 *   (a JSON object, or its text in CSV). brand, model and category are required; so is one
 *   of sku/(brand, model) (always true). image is a path relative to the images folder
 *   (no "..", not absolute) or an http(s) URL.
 * Price keys: sku, store_name, store_url, product_url, price, original_price, is_on_sale,
 *   sale_end_date (YYYY-MM-DD), in_stock, stock_level, shipping_info (free text; a "$x.yy"
 *   inside it or "free" gives the shipping cost). sku, store_name and price are required.
 * Money is parsed exactly into cents ("189.95" -> 18995; at most 2 decimals, no floats).
 * Text must be valid UTF-8 (a Latin-1 file is reported row by row, not imported as junk). */
#ifndef RODEO_CATALOG_CATALOG_H
#define RODEO_CATALOG_CATALOG_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    char *sku, *upc, *brand, *model, *category, *subcategory, *description, *image;
    char *keywords_json;     /* JSON array of strings, never NULL after a successful parse */
    char *attributes_json;   /* JSON object text, never NULL after a successful parse */
    int64_t msrp_cents;      /* -1 when absent */
    long line;
} catalog_product_t;

typedef struct {
    char *sku, *store_name, *store_url, *product_url, *stock_level, *shipping_info;
    int64_t price_cents, original_price_cents;   /* original -1 when absent */
    int64_t shipping_cents;                       /* -1 unknown */
    int64_t sale_end_us;                          /* 0 when absent */
    bool is_on_sale, in_stock;
    long line;
} catalog_price_t;

typedef enum { CATALOG_PRODUCTS = 0, CATALOG_PRICES = 1 } catalog_kind_t;
typedef struct catalog_reader catalog_reader_t;

/* Opens a file; the format comes from the content (a first non-blank '{' means JSON
 * Lines, anything else CSV). NULL with err when it cannot be read or the CSV header lacks
 * a required column. */
catalog_reader_t *catalog_open(const char *path, catalog_kind_t kind, char *err, size_t errlen);
void              catalog_close(catalog_reader_t *r);

/* Next row: 1 parsed and valid (fill product or price per kind; free with the matching
 * *_clear), 0 end, -1 this row is invalid (err: "line N: reason"; call again to go on). */
int catalog_next_product(catalog_reader_t *r, catalog_product_t *out, char *err, size_t errlen);
int catalog_next_price(catalog_reader_t *r, catalog_price_t *out, char *err, size_t errlen);
void catalog_product_clear(catalog_product_t *p);
void catalog_price_clear(catalog_price_t *p);

/* Exact decimal money to cents: "12", "12.5", "12.50", "$1,299.00" -> 1200, 1250, 1250,
 * 129900. Rejects negatives, more than 2 decimals, > 10^9 dollars and junk. */
bool catalog_parse_money(const char *s, int64_t *cents);
/* Shipping cost from free text: "free..." -> 0, first "$x.yy" -> cents, else -1. */
int64_t catalog_shipping_cents(const char *s);
#endif
