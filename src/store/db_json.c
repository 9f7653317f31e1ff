/* db_json.c — turns result rows into the API's JSON objects, driven by a one-letter type
 * per column (see db.h), so domain files name fields once (as SQL aliases) and never copy
 * cells by hand. */
#include "store/db.h"
#include "core/timeutil.h"
#include <stdio.h>

/* ISO-8601 rendering without gmtime_r/snprintf: a list of 20 conversations renders 40
 * timestamps, and the libc path was a fifth of the whole call. Same output as
 * time_iso8601() (checked against it by a unit test). Civil-from-days after H. Hinnant. */
void db_iso8601(int64_t us, char out[TIME_ISO_LEN])
{
    int64_t sec = us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000);
    int64_t frac = us - sec * 1000000;
    int64_t days = sec >= 0 ? sec / 86400 : -((-sec + 86399) / 86400);
    int64_t sod = sec - days * 86400;
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    int64_t y = yoe + era * 400 + (m <= 2);
    if (y < 0 || y > 9999) {                 /* outside 4-digit years: the general path */
        time_iso8601(us, out, TIME_ISO_LEN);
        return;
    }
    int64_t f[] = {y / 1000, y / 100 % 10, y / 10 % 10, y % 10};
    char *p = out;
    for (int i = 0; i < 4; i++) *p++ = (char)('0' + f[i]);
#define TWO(v) do { *p++ = (char)('0' + (v) / 10); *p++ = (char)('0' + (v) % 10); } while (0)
    *p++ = '-'; TWO(m); *p++ = '-'; TWO(d); *p++ = 'T';
    TWO(sod / 3600); *p++ = ':'; TWO(sod / 60 % 60); *p++ = ':'; TWO(sod % 60);
#undef TWO
    *p++ = '.';
    for (int64_t div = 100000; div; div /= 10) *p++ = (char)('0' + frac / div % 10);
    *p++ = 'Z';
    *p = 0;
}

static json_t *cell_json(const db_result_t *r, int row, int col, char kind)
{
    if (db_isnull(r, row, col)) return json_null();
    switch (kind) {
    case 'i': return json_integer((json_int_t)db_get_int64(r, row, col));
    case 'd': return json_real(db_get_double(r, row, col));
    case 'b': return json_boolean(db_get_bool(r, row, col));
    case 't': {
        char iso[TIME_ISO_LEN];
        db_iso8601(db_get_int64(r, row, col), iso);
        return json_string_nocheck(iso);
    }
    case 'j': {
        size_t len;
        const char *s = db_get_blob(r, row, col, &len);
        json_t *v = s ? json_loadb(s, len, JSON_DECODE_ANY, NULL) : NULL;
        return v ? v : json_null();
    }
    default: {
        size_t len;
        const char *s = db_get_blob(r, row, col, &len);
        if (!s) {                      /* a number where text was expected: render it */
            char tmp[32];
            snprintf(tmp, sizeof tmp, "%lld", (long long)db_get_int64(r, row, col));
            return json_string(tmp);
        }
        json_t *v = json_stringn(s, len);
        return v ? v : json_null();    /* invalid UTF-8 cannot be a JSON string */
    }
    }
}

json_t *db_row_json(const db_result_t *r, int row, const char *spec)
{
    json_t *o = json_object();
    int nc = db_cols(r);
    for (int col = 0; col < nc && spec[col]; col++) {
        if (spec[col] == '-') continue;
        json_object_set_new_nocheck(o, db_colname(r, col), cell_json(r, row, col, spec[col]));  /* our SQL names */
    }
    return o;
}

json_t *db_rows_json(const db_result_t *r, const char *spec)
{
    json_t *a = json_array();
    for (int row = 0; row < db_rows(r); row++) json_array_append_new(a, db_row_json(r, row, spec));
    return a;
}

int db_pool_query_row_json(db_pool_t *p, const char *sql, const db_value_t *params, int n,
                           const char *spec, json_t **out)
{
    db_result_t *r;
    *out = NULL;
    int rc = db_pool_query(p, sql, params, n, &r);
    if (rc != DB_OK) return rc;
    if (db_rows(r) > 0) *out = db_row_json(r, 0, spec);
    else rc = DB_NOT_FOUND;
    db_result_free(r);
    return rc;
}

int db_pool_query_rows_json(db_pool_t *p, const char *sql, const db_value_t *params, int n,
                            const char *spec, json_t **out)
{
    db_result_t *r;
    *out = NULL;
    int rc = db_pool_query(p, sql, params, n, &r);
    if (rc != DB_OK) return rc;
    *out = db_rows_json(r, spec);
    db_result_free(r);
    return DB_OK;
}
