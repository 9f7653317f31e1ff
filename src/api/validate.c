/* validate.c — field/parameter checks producing the 422 error shape. */
#include "api/validate.h"
#include "core/str.h"
#include <string.h>

static bool invalid(http_resp_t *resp, const char *name, const char *why)
{
    http_resp_error(resp, 422, "validation_error", "%s: %s", name, why);
    return false;
}

bool field_str(http_resp_t *resp, json_t *obj, const char *name, bool required,
               size_t max_chars, const char **out)
{
    json_t *v = json_object_get(obj, name);
    *out = NULL;
    if (!v || json_is_null(v)) return required ? invalid(resp, name, "field required") : true;
    if (!json_is_string(v)) return invalid(resp, name, "must be a string");
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    if (strlen(s) != len) return invalid(resp, name, "must not contain NUL characters");
    if (utf8_len(s, len) > max_chars) {
        http_resp_error(resp, 422, "validation_error", "%s: must be at most %zu characters",
                        name, max_chars);
        return false;
    }
    *out = s;
    return true;
}

bool field_int(http_resp_t *resp, json_t *obj, const char *name, bool required, int64_t min,
               int64_t max, int64_t *out, bool *present)
{
    json_t *v = json_object_get(obj, name);
    if (present) *present = false;
    if (!v || json_is_null(v)) return required ? invalid(resp, name, "field required") : true;
    if (!json_is_integer(v)) return invalid(resp, name, "must be an integer");
    json_int_t n = json_integer_value(v);
    if (n < min || n > max) {
        http_resp_error(resp, 422, "validation_error", "%s: must be between %lld and %lld", name,
                        (long long)min, (long long)max);
        return false;
    }
    *out = n;
    if (present) *present = true;
    return true;
}

bool field_bool(http_resp_t *resp, json_t *obj, const char *name, int *out)
{
    json_t *v = json_object_get(obj, name);
    *out = -1;
    if (!v || json_is_null(v)) return true;
    if (!json_is_boolean(v)) return invalid(resp, name, "must be a boolean");
    *out = json_is_true(v) ? 1 : 0;
    return true;
}

bool field_enum(http_resp_t *resp, json_t *obj, const char *name, bool required,
                const char *const *allowed, const char **out)
{
    if (!field_str(resp, obj, name, required, 64, out)) return false;
    if (!*out) return true;
    for (int i = 0; allowed[i]; i++)
        if (!strcmp(*out, allowed[i])) return true;
    char list[256] = "";
    for (int i = 0; allowed[i]; i++) {
        if (i) strncat(list, ", ", sizeof list - strlen(list) - 1);
        strncat(list, allowed[i], sizeof list - strlen(list) - 1);
    }
    http_resp_error(resp, 422, "validation_error", "%s: must be one of %s", name, list);
    return false;
}

bool query_int(http_req_t *req, http_resp_t *resp, const char *name, int64_t def, int64_t min,
               int64_t max, int64_t *out)
{
    const char *s = http_req_query(req, name);
    if (!s) { *out = def; return true; }
    int64_t n;
    if (!str_to_i64(s, &n)) return invalid(resp, name, "must be an integer");
    if (n < min || n > max) {
        http_resp_error(resp, 422, "validation_error", "%s: must be between %lld and %lld", name,
                        (long long)min, (long long)max);
        return false;
    }
    *out = n;
    return true;
}

bool param_id(http_req_t *req, http_resp_t *resp, const char *name, int64_t *out)
{
    const char *s = http_req_param(req, name);
    int64_t n;
    if (!s || !str_to_i64(s, &n) || n <= 0) return invalid(resp, name, "must be a positive integer");
    *out = n;
    return true;
}
