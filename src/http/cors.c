/* cors.c — Cross-Origin Resource Sharing. Two modes from CORS_ORIGINS:
 *   "*"          any origin, never with credentials (the original's wildcard+credentials
 *                combination is exactly what browsers forbid, flaw F12);
 *   "a,b,c"      the request's Origin is echoed only when listed, with credentials and
 *                Vary: Origin so caches keep per-origin copies.
 * Expose-Headers always lists the headers clients must read (X-Conversation-ID, ...). */
#include "core/str.h"
#include "http/internal.h"
#include <string.h>
#include <strings.h>

#define EXPOSE "X-Conversation-ID, X-Request-Id, Retry-After, X-RateLimit-Limit, " \
               "X-RateLimit-Remaining, X-RateLimit-Reset"

void cors_apply(http_server_t *srv, http_req_t *req, struct MHD_Response *r)
{
    const char *list = srv->cors_origins;
    if (!list || !*list) return;
    if (!strcmp(list, "*")) {
        MHD_add_response_header(r, "Access-Control-Allow-Origin", "*");
    } else {
        MHD_add_response_header(r, "Vary", "Origin");
        const char *origin = http_req_header(req, "Origin");
        if (origin && str_list_contains(list, origin, true)) {
            MHD_add_response_header(r, "Access-Control-Allow-Origin", origin);
            MHD_add_response_header(r, "Access-Control-Allow-Credentials", "true");
        }
    }
    MHD_add_response_header(r, "Access-Control-Expose-Headers", EXPOSE);
}

/* Allowed request header names: token characters and commas/spaces only, so an echoed
 * Access-Control-Request-Headers can never inject anything. */
static bool header_list_sane(const char *s)
{
    if (strlen(s) > 1024) return false;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == ',' || c == ' ' || c == '.'))
            return false;
    }
    return true;
}

struct MHD_Response *cors_preflight(http_server_t *srv, http_req_t *req, const char *methods)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!r) return NULL;
    MHD_add_response_header(r, "Allow", methods);
    MHD_add_response_header(r, "Access-Control-Allow-Methods", methods);
    const char *hdrs = http_req_header(req, "Access-Control-Request-Headers");
    MHD_add_response_header(r, "Access-Control-Allow-Headers",
                            hdrs && *hdrs && header_list_sane(hdrs) ? hdrs
                                                                   : "Authorization, Content-Type");
    MHD_add_response_header(r, "Access-Control-Max-Age", "600");
    cors_apply(srv, req, r);
    return r;
}
