/* db_json.c — turns result rows into the API's JSON objects, driven by a one-letter type
 * per column (see db.h), so domain files name fields once (as SQL aliases) and never copy
 * cells by hand. */
#include "store/db.h"
#include "core/timeutil.h"
#include <stdio.h>

static json_t *cell_json(const db_result_t *r, int row, int col, char kind)
{
    if (db_isnull(r, row, col)) return json_null();
    switch (kind) {
    case 'i': return json_integer((json_int_t)db_get_int64(r, row, col));
    case 'd': return json_real(db_get_double(r, row, col));
    case 'b': return json_boolean(db_get_bool(r, row, col));
    case 't': {
        char iso[TIME_ISO_LEN];
        return json_string(time_iso8601(db_get_int64(r, row, col), iso, sizeof iso));
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
        json_object_set_new(o, db_colname(r, col), cell_json(r, row, col, spec[col]));
    }
    return o;
}

json_t *db_rows_json(const db_result_t *r, const char *spec)
{
    json_t *a = json_array();
    for (int row = 0; row < db_rows(r); row++) json_array_append_new(a, db_row_json(r, row, spec));
    return a;
}
