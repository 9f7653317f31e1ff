/* catalog.c — catalog import rows (see catalog.h). Both formats are reduced to one
 * "get field by key as text" view, so CSV and JSON Lines share every validation rule. */
#include "catalog/catalog.h"
#include "catalog/csv.h"
#include "core/buf.h"
#include "core/str.h"
#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define JSONL_MAX_LINE (256 * 1024)

struct catalog_reader {
    FILE          *f;
    catalog_kind_t kind;
    csv_reader_t  *csv;          /* CSV mode */
    long           line;         /* JSONL mode */
    json_t        *obj;          /* JSONL: current object */
    buf_t          linebuf;
    buf_t          scratch;      /* JSONL: a non-string value rendered as text */
};

/* ---- field access shared by both formats ---- */

/* Value of key as text: 1 present, 0 absent/empty, -1 wrong type (err set). */
static int field(catalog_reader_t *r, const char *key, const char **out, char *err, size_t errlen)
{
    *out = NULL;
    if (r->csv) {
        const char *v = csv_get(r->csv, key);
        if (!v || !*v) return 0;
        *out = v;
        return 1;
    }
    json_t *v = json_object_get(r->obj, key);
    if (!v || json_is_null(v)) return 0;
    buf_reset(&r->scratch);
    if (json_is_string(v)) {
        buf_append(&r->scratch, json_string_value(v), json_string_length(v));
        if (strlen(r->scratch.data) != r->scratch.len) {
            snprintf(err, errlen, "%s contains a NUL character", key);
            return -1;
        }
    } else if (json_is_integer(v)) {
        buf_printf(&r->scratch, "%lld", (long long)json_integer_value(v));
    } else if (json_is_real(v)) {
        buf_printf(&r->scratch, "%.2f", json_real_value(v));
    } else if (json_is_boolean(v)) {
        buf_puts(&r->scratch, json_is_true(v) ? "true" : "false");
    } else {
        snprintf(err, errlen, "%s must be a string or number, not %s", key,
                 json_is_array(v) ? "an array" : "an object");
        return -1;
    }
    if (!r->scratch.len) return 0;
    *out = r->scratch.data;
    return 1;
}

/* Copies key's trimmed text into *dst after checks: UTF-8, no control characters, at most
 * max code points; required keys must be present. Returns 0 or -1 (err set). */
static int text(catalog_reader_t *r, const char *key, bool required, size_t max, char **dst, char *err,
                size_t errlen)
{
    const char *v;
    char e[200] = "";
    if (r->obj && strcmp(key, "sku") && strcmp(key, "upc")) {
        json_t *j = json_object_get(r->obj, key);
        if (j && !json_is_null(j) && !json_is_string(j)) {
            snprintf(err, errlen, "%s must be a string", key);
            return -1;
        }
    }
    int rc = field(r, key, &v, e, sizeof e);
    if (rc < 0) { snprintf(err, errlen, "%s", e); return -1; }
    char *s = rc ? str_trim(xstrdup(v)) : NULL;
    if (s && !*s) { free(s); s = NULL; }
    if (!s) {
        if (required) { snprintf(err, errlen, "%s is required", key); return -1; }
        *dst = NULL;
        return 0;
    }
    size_t n = strlen(s);
    if (!utf8_valid(s, n)) {
        snprintf(err, errlen, "%s is not valid UTF-8 (is the file in another encoding?)", key);
        free(s);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 && s[i] != '\n' && s[i] != '\t') {
            snprintf(err, errlen, "%s contains a control character", key);
            free(s);
            return -1;
        }
    if (utf8_len(s, n) > max) {
        snprintf(err, errlen, "%s is longer than %zu characters", key, max);
        free(s);
        return -1;
    }
    *dst = s;
    return 0;
}

bool catalog_parse_money(const char *s, int64_t *cents)
{
    if (!s) return false;
    while (*s == ' ') s++;
    if (*s == '$') s++;
    int64_t whole = 0;
    int digits = 0;
    for (; *s; s++) {
        if (*s == ',' && digits > 0) continue;       /* thousands separators */
        if (!isdigit((unsigned char)*s)) break;
        whole = whole * 10 + (*s - '0');
        if (whole > 1000000000LL) return false;
        digits++;
    }
    if (!digits) return false;
    int64_t frac = 0;
    if (*s == '.') {
        s++;
        int fd = 0;
        for (; isdigit((unsigned char)*s); s++, fd++) {
            if (fd >= 2) return false;
            frac = frac * 10 + (*s - '0');
        }
        if (fd == 0) return false;
        if (fd == 1) frac *= 10;
    }
    while (*s == ' ') s++;
    if (*s) return false;
    *cents = whole * 100 + frac;
    return true;
}

int64_t catalog_shipping_cents(const char *s)
{
    if (!s) return -1;
    if (!strncasecmp(s, "free", 4)) return 0;
    const char *d = strchr(s, '$');
    if (!d) return -1;
    char num[32];
    size_t n = 0;
    for (const char *p = d + 1; *p && (isdigit((unsigned char)*p) || *p == '.' || *p == ',') && n < sizeof num - 1; p++)
        num[n++] = *p;
    while (n && num[n - 1] == '.') n--;
    num[n] = 0;
    int64_t c;
    return catalog_parse_money(num, &c) ? c : -1;
}

static int money(catalog_reader_t *r, const char *key, bool required, int64_t *out, char *err, size_t errlen)
{
    const char *v;
    char e[200] = "";
    int rc = field(r, key, &v, e, sizeof e);
    if (rc < 0) { snprintf(err, errlen, "%s", e); return -1; }
    if (rc == 0) {
        if (required) { snprintf(err, errlen, "%s is required", key); return -1; }
        *out = -1;
        return 0;
    }
    if (!catalog_parse_money(v, out)) {
        snprintf(err, errlen, "%s: '%.40s' is not an amount (like 189.95)", key, v);
        return -1;
    }
    return 0;
}

static int boolean(catalog_reader_t *r, const char *key, bool dflt, bool *out, char *err, size_t errlen)
{
    const char *v;
    char e[200] = "";
    int rc = field(r, key, &v, e, sizeof e);
    if (rc < 0) { snprintf(err, errlen, "%s", e); return -1; }
    if (rc == 0) { *out = dflt; return 0; }
    if (!str_to_bool(v, out)) {
        snprintf(err, errlen, "%s: '%.40s' is not true/false", key, v);
        return -1;
    }
    return 0;
}

static bool is_http_url(const char *s)
{
    return (!strncmp(s, "http://", 7) && s[7]) || (!strncmp(s, "https://", 8) && s[8]);
}

/* A relative image path: no absolute path, no parent segment, no backslash. */
static bool safe_relative_path(const char *s)
{
    if (s[0] == '/' || strchr(s, '\\')) return false;
    const char *p = s;
    while (*p) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (n == 0 || (n == 2 && !strncmp(p, "..", 2)) || (n == 1 && *p == '.')) return false;
        p += n;
        if (*p == '/') p++;
    }
    return true;
}

static void product_zero(catalog_product_t *p) { memset(p, 0, sizeof *p); p->msrp_cents = -1; }

void catalog_product_clear(catalog_product_t *p)
{
    free(p->sku); free(p->upc); free(p->brand); free(p->model); free(p->category);
    free(p->subcategory); free(p->description); free(p->image); free(p->keywords_json);
    free(p->attributes_json);
    product_zero(p);
}

void catalog_price_clear(catalog_price_t *p)
{
    free(p->sku); free(p->store_name); free(p->store_url); free(p->product_url);
    free(p->stock_level); free(p->shipping_info);
    memset(p, 0, sizeof *p);
}

/* keywords: CSV text "a; b;c" or JSON array of strings -> JSON array text. */
static int keywords(catalog_reader_t *r, char **out, char *err, size_t errlen)
{
    json_t *arr = json_array();
    json_t *src = r->obj ? json_object_get(r->obj, "keywords") : NULL;
    if (src && json_is_array(src)) {
        size_t i;
        json_t *v;
        json_array_foreach(src, i, v) {
            if (!json_is_string(v)) {
                snprintf(err, errlen, "keywords must be strings");
                json_decref(arr);
                return -1;
            }
            json_array_append(arr, v);
        }
    } else {
        char *t = NULL;
        if (text(r, "keywords", false, 2000, &t, err, errlen)) { json_decref(arr); return -1; }
        for (char *save = NULL, *tok = t ? strtok_r(t, ";", &save) : NULL; tok; tok = strtok_r(NULL, ";", &save)) {
            tok = str_trim(tok);
            if (*tok) json_array_append_new(arr, json_string(tok));
        }
        free(t);
    }
    if (json_array_size(arr) > 50) {
        snprintf(err, errlen, "more than 50 keywords");
        json_decref(arr);
        return -1;
    }
    *out = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    return 0;
}

static int attributes(catalog_reader_t *r, char **out, char *err, size_t errlen)
{
    json_t *v = r->obj ? json_object_get(r->obj, "attributes") : NULL;
    json_t *owned = NULL;
    if (r->csv) {
        const char *t = csv_get(r->csv, "attributes");
        if (t && *t) {
            json_error_t je;
            owned = json_loads(t, JSON_REJECT_DUPLICATES, &je);
            if (!owned) {
                snprintf(err, errlen, "attributes is not valid JSON: %s", je.text);
                return -1;
            }
            v = owned;
        }
    }
    if (!v || json_is_null(v)) { *out = xstrdup("{}"); return 0; }
    if (!json_is_object(v)) {
        snprintf(err, errlen, "attributes must be a JSON object");
        json_decref(owned);
        return -1;
    }
    char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(owned);
    if (!s || strlen(s) > 8000) {
        snprintf(err, errlen, "attributes larger than 8000 bytes");
        free(s);
        return -1;
    }
    *out = s;
    return 0;
}

static int product_from_fields(catalog_reader_t *r, catalog_product_t *p, char *err, size_t errlen)
{
    char e[240] = "";
    int rc = -1;
    if (text(r, "brand", true, 100, &p->brand, e, sizeof e) || text(r, "model", true, 200, &p->model, e, sizeof e) ||
        text(r, "category", true, 50, &p->category, e, sizeof e) ||
        text(r, "subcategory", false, 100, &p->subcategory, e, sizeof e) ||
        text(r, "description", false, 2000, &p->description, e, sizeof e) ||
        text(r, "sku", false, 100, &p->sku, e, sizeof e) || text(r, "upc", false, 14, &p->upc, e, sizeof e) ||
        text(r, "image", false, 1000, &p->image, e, sizeof e) || money(r, "msrp", false, &p->msrp_cents, e, sizeof e) ||
        keywords(r, &p->keywords_json, e, sizeof e) || attributes(r, &p->attributes_json, e, sizeof e))
        goto out;
    str_lower(p->category);
    for (const char *c = p->category; *c; c++)
        if (!isalnum((unsigned char)*c) && *c != ' ' && *c != '-' && *c != '&') {
            snprintf(e, sizeof e, "category '%.40s' may hold only letters, digits, spaces, '-' and '&'", p->category);
            goto out;
        }
    if (p->sku)
        for (const char *c = p->sku; *c; c++)
            if (!isalnum((unsigned char)*c) && !strchr("-_./", *c)) {
                snprintf(e, sizeof e, "sku '%.40s' may hold only letters, digits and - _ . /", p->sku);
                goto out;
            }
    if (p->upc) {
        size_t n = strlen(p->upc);
        for (const char *c = p->upc; *c; c++)
            if (!isdigit((unsigned char)*c)) n = 0;
        if (n < 8) {
            snprintf(e, sizeof e, "upc '%.20s' must be 8 to 14 digits", p->upc);
            goto out;
        }
    }
    if (p->image && !is_http_url(p->image) && !safe_relative_path(p->image)) {
        snprintf(e, sizeof e, "image '%.60s' must be a relative path inside the images folder or an http(s) URL",
                 p->image);
        goto out;
    }
    rc = 0;
out:
    if (rc) snprintf(err, errlen, "line %ld: %s", p->line, e);
    return rc;
}

static int price_from_fields(catalog_reader_t *r, catalog_price_t *p, char *err, size_t errlen)
{
    char e[240] = "", *date = NULL;
    int rc = -1;
    if (text(r, "sku", true, 100, &p->sku, e, sizeof e) || text(r, "store_name", true, 100, &p->store_name, e, sizeof e) ||
        text(r, "store_url", false, 1000, &p->store_url, e, sizeof e) ||
        text(r, "product_url", false, 1000, &p->product_url, e, sizeof e) ||
        text(r, "stock_level", false, 50, &p->stock_level, e, sizeof e) ||
        text(r, "shipping_info", false, 200, &p->shipping_info, e, sizeof e) ||
        money(r, "price", true, &p->price_cents, e, sizeof e) ||
        money(r, "original_price", false, &p->original_price_cents, e, sizeof e) ||
        boolean(r, "in_stock", true, &p->in_stock, e, sizeof e) ||
        text(r, "sale_end_date", false, 10, &date, e, sizeof e))
        goto out;
    if (boolean(r, "is_on_sale", p->original_price_cents > p->price_cents, &p->is_on_sale, e, sizeof e)) goto out;
    if ((p->store_url && !is_http_url(p->store_url)) || (p->product_url && !is_http_url(p->product_url))) {
        snprintf(e, sizeof e, "store_url and product_url must be http(s) URLs");
        goto out;
    }
    if (date) {
        struct tm tm = { 0 };
        char *end = strptime(date, "%Y-%m-%d", &tm);
        if (!end || *end) {
            snprintf(e, sizeof e, "sale_end_date '%s' is not YYYY-MM-DD", date);
            goto out;
        }
        p->sale_end_us = (int64_t)timegm(&tm) * 1000000;
    }
    p->shipping_cents = catalog_shipping_cents(p->shipping_info);
    rc = 0;
out:
    free(date);
    if (rc) snprintf(err, errlen, "line %ld: %s", p->line, e);
    return rc;
}

/* ---- reader ---- */

catalog_reader_t *catalog_open(const char *path, catalog_kind_t kind, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot open %s", path);
        return NULL;
    }
    catalog_reader_t *r = xcalloc(1, sizeof *r);
    r->f = f;
    r->kind = kind;
    int c;
    while ((c = getc(f)) == ' ' || c == '\n' || c == '\r' || c == '\t') {}
    rewind(f);
    if (c != '{') {
        r->csv = csv_open(f, err, errlen);
        if (!r->csv) { catalog_close(r); return NULL; }
        const char *need[3] = { "brand", "model", "category" };
        const char *need_price[3] = { "sku", "store_name", "price" };
        for (int i = 0; i < 3; i++) {
            const char *col = kind == CATALOG_PRODUCTS ? need[i] : need_price[i];
            if (csv_column(r->csv, col) < 0) {
                snprintf(err, errlen, "header: required column '%s' is missing", col);
                catalog_close(r);
                return NULL;
            }
        }
    }
    return r;
}

void catalog_close(catalog_reader_t *r)
{
    if (!r) return;
    csv_close(r->csv);
    json_decref(r->obj);
    buf_free(&r->linebuf);
    buf_free(&r->scratch);
    if (r->f) fclose(r->f);
    free(r);
}

/* Next JSON Lines object: 1, 0 at end, -1 bad line (err). Blank lines are skipped. */
static int jsonl_next(catalog_reader_t *r, long *line, char *err, size_t errlen)
{
    json_decref(r->obj);
    r->obj = NULL;
    for (;;) {
        buf_reset(&r->linebuf);
        int c, too_long = 0;
        while ((c = getc(r->f)) != EOF && c != '\n') {
            if (r->linebuf.len >= JSONL_MAX_LINE) { too_long = 1; continue; }
            buf_putc(&r->linebuf, (char)c);
        }
        if (c == EOF && r->linebuf.len == 0 && !too_long) return 0;
        *line = ++r->line;
        if (too_long) {
            snprintf(err, errlen, "line %ld: longer than %d bytes", *line, JSONL_MAX_LINE);
            return -1;
        }
        char *s = r->linebuf.data ? r->linebuf.data : (char *)"";
        if (!*str_trim(s)) { if (c == EOF) return 0; continue; }
        json_error_t je;
        r->obj = json_loads(s, JSON_REJECT_DUPLICATES, &je);
        if (!r->obj) {
            snprintf(err, errlen, "line %ld: invalid JSON: %s", *line, je.text);
            return -1;
        }
        if (!json_is_object(r->obj)) {
            snprintf(err, errlen, "line %ld: each line must be a JSON object", *line);
            return -1;
        }
        return 1;
    }
}

int catalog_next_product(catalog_reader_t *r, catalog_product_t *out, char *err, size_t errlen)
{
    product_zero(out);
    long line = 0;
    int rc = r->csv ? csv_next(r->csv, err, errlen) : jsonl_next(r, &line, err, errlen);
    if (rc != 1) return rc;
    out->line = r->csv ? csv_line(r->csv) : line;
    if (product_from_fields(r, out, err, errlen)) {
        catalog_product_clear(out);
        return -1;
    }
    return 1;
}

int catalog_next_price(catalog_reader_t *r, catalog_price_t *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    long line = 0;
    int rc = r->csv ? csv_next(r->csv, err, errlen) : jsonl_next(r, &line, err, errlen);
    if (rc != 1) return rc;
    out->line = r->csv ? csv_line(r->csv) : line;
    if (price_from_fields(r, out, err, errlen)) {
        catalog_price_clear(out);
        return -1;
    }
    return 1;
}
