/* validate.h — request validation helpers shared by handlers. Each checks one field or
 * parameter; on violation it sends 422 {"detail": "<field>: <why>", "code":
 * "validation_error"} on resp and returns false, so a handler reads:
 *     if (!field_str(resp, body, "title", false, 500, &title)) return;
 * Strings from JSON are valid UTF-8 (jansson guarantees it); NUL bytes are rejected. */
#ifndef RODEO_API_VALIDATE_H
#define RODEO_API_VALIDATE_H
#include "http/http.h"
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* Optional field: absent or null -> *out = NULL and true. max_chars counts code points. */
bool field_str(http_resp_t *resp, json_t *obj, const char *name, bool required,
               size_t max_chars, const char **out);
/* *present tells whether the field was given (non-null). */
bool field_int(http_resp_t *resp, json_t *obj, const char *name, bool required, int64_t min,
               int64_t max, int64_t *out, bool *present);
bool field_bool(http_resp_t *resp, json_t *obj, const char *name, int *out /* -1 absent */);
/* One of a fixed set of strings (case-sensitive). */
bool field_enum(http_resp_t *resp, json_t *obj, const char *name, bool required,
                const char *const *allowed, const char **out);

/* Query parameters: absent -> def. */
bool query_int(http_req_t *req, http_resp_t *resp, const char *name, int64_t def, int64_t min,
               int64_t max, int64_t *out);
/* Path parameter that must be a positive 63-bit id. */
bool param_id(http_req_t *req, http_resp_t *resp, const char *name, int64_t *out);
#endif
