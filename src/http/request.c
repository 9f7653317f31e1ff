/* request.c — request accessors, the per-request arena and JSON body parsing.
 * Header and query values come straight from libmicrohttpd's parsed tables (already
 * decoded, no copies); path parameters and small derived strings go into the arena, which
 * starts inside the request struct so most requests never call malloc for scratch. */
#include "http/internal.h"
#include "core/str.h"
#include <stdlib.h>
#include <string.h>

void arena_init(arena_t *a, char *first, size_t cap)
{
    a->cur = first;
    a->cap = cap;
    a->used = 0;
    a->blocks = NULL;
}

void *arena_alloc(arena_t *a, size_t n)
{
    size_t off = (a->used + 15) & ~(size_t)15;
    if (off + n > a->cap || off + n < off) {
        size_t cap = n > 4096 ? n : 4096;
        arena_block_t *b = xmalloc(sizeof *b + cap + 16);
        b->next = a->blocks;
        a->blocks = b;
        /* data[] follows a header of pointer/size fields: align to 16 by hand */
        char *base = (char *)(((uintptr_t)b->data + 15) & ~(uintptr_t)15);
        a->cur = base;
        a->cap = cap;
        off = 0;
    }
    a->used = off + n;
    return a->cur + off;
}

char *arena_strndup(arena_t *a, const char *s, size_t n)
{
    char *d = arena_alloc(a, n + 1);
    memcpy(d, s, n);
    d[n] = 0;
    return d;
}

char *arena_strdup(arena_t *a, const char *s) { return arena_strndup(a, s, strlen(s)); }

void arena_free(arena_t *a)
{
    arena_block_t *b = a->blocks;
    while (b) { arena_block_t *n = b->next; free(b); b = n; }
    a->blocks = NULL;
}

const char *http_req_method(const http_req_t *req) { return req->method; }
const char *http_req_path(const http_req_t *req) { return req->path; }
const char *http_req_id(const http_req_t *req) { return req->req_id; }
const char *http_req_client_ip(const http_req_t *req) { return req->client_ip; }
const http_principal_t *http_req_principal(const http_req_t *req) { return &req->principal; }

const char *http_req_header(const http_req_t *req, const char *name)
{
    if (!req->conn || !name) return NULL;
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *http_req_query(const http_req_t *req, const char *name)
{
    if (!req->conn || !name) return NULL;
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *http_req_param(const http_req_t *req, const char *name)
{
    for (int i = 0; i < req->nparams; i++)
        if (!strcmp(req->pnames[i], name)) return req->pvalues[i];
    return NULL;
}

const char *http_req_body(const http_req_t *req, size_t *len)
{
    if (len) *len = req->body.len;
    return req->body.data ? req->body.data : "";
}

void *http_req_alloc(http_req_t *req, size_t n) { return arena_alloc(&req->arena, n ? n : 1); }

const http_part_t *http_req_part(const http_req_t *req, const char *name)
{
    for (size_t i = 0; i < req->nparts; i++)
        if (!strcmp(req->parts[i].name, name)) return &req->parts[i];
    return NULL;
}

size_t http_req_parts(const http_req_t *req, const http_part_t **parts)
{
    if (parts) *parts = req->parts;
    return req->nparts;
}

json_t *http_req_json(http_req_t *req, http_resp_t *resp)
{
    size_t len = req->body.len;
    const char *data = req->body.data ? req->body.data : "";
    if (len == 0) {
        http_resp_error(resp, 422, "validation_error", "Request body required");
        return NULL;
    }
    if (!utf8_valid(data, len)) {
        http_resp_error(resp, 400, "invalid_json", "Request body is not valid UTF-8");
        return NULL;
    }
    json_error_t jerr;
    json_t *j = json_loadb(data, len, JSON_DECODE_ANY, &jerr);
    if (!j) {
        http_resp_error(resp, 400, "invalid_json", "Invalid JSON at line %d column %d: %s",
                        jerr.line, jerr.column, jerr.text);
        return NULL;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        http_resp_error(resp, 422, "validation_error", "Request body must be a JSON object");
        return NULL;
    }
    return j;
}

bool http_path_is_safe(const char *rel)
{
    if (!rel || !*rel || *rel == '/') return false;
    const char *seg = rel;
    for (const char *p = rel;; p++) {
        if (*p == '/' || !*p) {
            size_t n = (size_t)(p - seg);
            if (n == 0 || (n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
                return false;
            if (!*p) return true;
            seg = p + 1;
        } else if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '\\') {
            return false;
        }
    }
}
