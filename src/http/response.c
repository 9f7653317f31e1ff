/* response.c — building responses. A handler fills http_resp_t (status, body, headers);
 * after it returns the server turns that into one libmicrohttpd response. The first call
 * that sets a response wins: a later one is a handler bug, logged and dropped, never a
 * second response on the wire. */
#include "http/internal.h"
#include "core/log.h"
#include <fcntl.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct { int status; const char *code; } status_codes[] = {
    {400, "bad_request"}, {401, "unauthorized"}, {402, "payment_required"},
    {403, "forbidden"}, {404, "not_found"}, {405, "method_not_allowed"},
    {406, "not_acceptable"}, {408, "request_timeout"}, {409, "conflict"}, {410, "gone"},
    {411, "length_required"}, {413, "payload_too_large"}, {415, "unsupported_media_type"},
    {422, "validation_error"}, {429, "rate_limited"}, {500, "internal_error"},
    {501, "not_implemented"}, {502, "bad_gateway"}, {503, "service_unavailable"},
    {504, "gateway_timeout"},
};

const char *http_status_code_name(int status)
{
    for (size_t i = 0; i < sizeof status_codes / sizeof *status_codes; i++)
        if (status_codes[i].status == status) return status_codes[i].code;
    if (status >= 500) return "internal_error";
    if (status >= 400) return "bad_request";
    return "ok";
}

/* True (and a warning) when the handler already chose a response. */
static bool already_set(http_resp_t *resp)
{
    if (!resp->status) return false;
    log_warn("http: second response for %s %s ignored", resp->req->method, resp->req->path);
    return true;
}

void http_resp_take(http_resp_t *resp, int status, const char *content_type, void *data,
                    size_t len)
{
    if (already_set(resp)) { free(data); return; }
    resp->status = status;
    resp->content_type = content_type ? arena_strdup(&resp->req->arena, content_type) : NULL;
    resp->body = data;
    resp->len = data ? len : 0;
}

void http_resp_bytes(http_resp_t *resp, int status, const char *content_type, const void *data,
                     size_t len)
{
    if (already_set(resp)) return;
    char *copy = NULL;
    if (len) {
        copy = xmalloc(len);
        memcpy(copy, data, len);
    }
    http_resp_take(resp, status, content_type, copy, len);
}

void http_resp_json(http_resp_t *resp, int status, json_t *body)
{
    if (already_set(resp)) { json_decref(body); return; }
    char *s = body ? json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    json_decref(body);
    if (!s) s = xstrdup("null");
    http_resp_take(resp, status, "application/json", s, strlen(s));
}

/* {"detail": ..., "code": ...} as a malloc'd string; jansson escapes the message. */
static char *error_body(const char *code, const char *detail, size_t *len)
{
    json_t *j = json_pack("{s:s, s:s}", "detail", detail ? detail : "", "code", code ? code : "error");
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!s) s = xstrdup("{\"detail\":\"Internal error\",\"code\":\"internal_error\"}");
    *len = strlen(s);
    return s;
}

void http_resp_error(http_resp_t *resp, int status, const char *code, const char *fmt, ...)
{
    if (already_set(resp)) return;
    char detail[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    size_t len;
    char *s = error_body(code ? code : http_status_code_name(status), detail, &len);
    http_resp_take(resp, status, "application/json", s, len);
}

void http_resp_header(http_resp_t *resp, const char *name, const char *value)
{
    if (!name || !value) return;
    if (resp->nheaders == HTTP_MAX_RESP_HEADERS) {
        log_warn("http: too many response headers, %s dropped", name);
        return;
    }
    /* header injection guard: CR/LF in a value would split the response */
    if (strpbrk(value, "\r\n") || strpbrk(name, "\r\n: ")) {
        log_warn("http: header %s with control characters dropped", name);
        return;
    }
    resp->headers[resp->nheaders].name = arena_strdup(&resp->req->arena, name);
    resp->headers[resp->nheaders].value = arena_strdup(&resp->req->arena, value);
    resp->nheaders++;
}

int http_resp_file(http_resp_t *resp, int status, const char *content_type, const char *path)
{
    if (!path || already_set(resp)) return -1;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return -1;
    }
    resp->status = status;
    resp->content_type = content_type ? arena_strdup(&resp->req->arena, content_type) : NULL;
    resp->fd = fd;
    resp->fd_size = (uint64_t)st.st_size;
    return 0;
}

struct MHD_Response *resp_error_mhd(int status, const char *code, const char *detail)
{
    size_t len;
    char *s = error_body(code ? code : http_status_code_name(status), detail, &len);
    struct MHD_Response *r = MHD_create_response_from_buffer(len, s, MHD_RESPMEM_MUST_FREE);
    if (!r) { free(s); return NULL; }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    return r;
}

struct MHD_Response *resp_build(http_resp_t *resp)
{
    struct MHD_Response *r;
    if (resp->stream) {
        r = stream_make_response(resp->stream);
        if (!r) return NULL;
        MHD_add_response_header(r, "Cache-Control", "no-cache");
        MHD_add_response_header(r, "X-Accel-Buffering", "no");
    } else if (resp->fd >= 0) {
        r = MHD_create_response_from_fd64(resp->fd_size, resp->fd);   /* MHD closes fd */
        if (!r) return NULL;
        resp->fd = -1;
    } else {
        if (!resp->status) {
            log_error("http: handler for %s %s sent no response", resp->req->method, resp->req->path);
            http_resp_error(resp, 500, "internal_error", "Internal server error");
        }
        r = MHD_create_response_from_buffer(resp->len, resp->body ? resp->body : (void *)"",
                                            resp->body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
        if (!r) return NULL;
        resp->body = NULL;   /* MHD owns it now */
    }
    if (resp->content_type)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, resp->content_type);
    for (int i = 0; i < resp->nheaders; i++)
        MHD_add_response_header(r, resp->headers[i].name, resp->headers[i].value);
    return r;
}

void resp_release(http_resp_t *resp)
{
    free(resp->body);
    resp->body = NULL;
    if (resp->fd >= 0) close(resp->fd);
    resp->fd = -1;
}
