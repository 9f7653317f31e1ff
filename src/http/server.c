/* server.c — libmicrohttpd glue and the request pipeline.
 *
 * MHD calls us three ways per request: the URI log callback (request line seen: we allocate
 * the request and keep the raw URI for redirects), the access handler (first with headers,
 * then once per body piece, then a final call), and the completed callback (after the last
 * byte or on error: access log, stream on_close, cleanup). Everything that can be decided
 * from the headers — routing, 404/405/307, preflight, body cap by Content-Length, auth, rate
 * limit — is decided on the first call, so a rejected request never has its body read.
 *
 * Threads: MHD's internal epoll loop with a pool of cfg->threads threads; a connection stays
 * on one thread. There is no lock on the request path except the rate-limit shard lock.
 *
 * Stop: refuse new connections (accept policy) and new requests on kept-alive ones (503,
 * Connection: close), wait for requests and streams in flight, end the streams still open,
 * then MHD_stop_daemon. */
#include "http/internal.h"
#include "core/crypto.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "kv/kv.h"
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

/* An oversized chunked body is read and discarded up to this much (or the cap, if larger)
 * past the cap, so that normal clients still receive their 413. */
#define DISCARD_MIN (1024 * 1024)

/* ---- request ids: a per-thread xorshift generator seeded from the OS once ---- */
static _Thread_local uint64_t rid_state[2];

static uint64_t rid_next(void)
{
    if (!rid_state[0] && !rid_state[1]) {
        if (random_bytes(rid_state, sizeof rid_state) != 0 || (!rid_state[0] && !rid_state[1])) {
            rid_state[0] = (uint64_t)time_mono_us() ^ 0x9e3779b97f4a7c15ULL;
            rid_state[1] = (uint64_t)(uintptr_t)&rid_state ^ 0xbf58476d1ce4e5b9ULL;
        }
    }
    uint64_t s1 = rid_state[0];
    const uint64_t s0 = rid_state[1];
    rid_state[0] = s0;
    s1 ^= s1 << 23;
    rid_state[1] = s1 ^ s0 ^ (s1 >> 17) ^ (s0 >> 26);
    return rid_state[1] + s0;
}

/* An incoming X-Request-Id is echoed when short and made of safe characters only, so it
 * cannot inject anything into logs or headers. */
static bool request_id_sane(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++) {
        unsigned char c = (unsigned char)s[n];
        if (n >= 64) return false;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.' || c == ':' || c == '+' || c == '=' || c == '/' || c == '@'))
            return false;
    }
    return n > 0;
}

static void request_id_set(http_req_t *req)
{
    const char *in = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "X-Request-Id");
    if (in && request_id_sane(in)) {
        snprintf(req->req_id, sizeof req->req_id, "%s", in);
        return;
    }
    static const char hex[] = "0123456789abcdef";
    uint64_t a = rid_next(), b = rid_next();
    for (int i = 0; i < 16; i++) {
        req->req_id[i] = hex[(a >> (60 - 4 * i)) & 15];
        req->req_id[16 + i] = hex[(b >> (60 - 4 * i)) & 15];
    }
    req->req_id[32] = 0;
}

/* Client address: the TCP peer, or X-Forwarded-For's first entry when the proxy is trusted
 * and that entry parses as an IP address. */
static void client_ip_set(http_server_t *srv, http_req_t *req)
{
    if (srv->cfg.trust_proxy) {
        const char *xff = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "X-Forwarded-For");
        if (xff) {
            while (*xff == ' ') xff++;
            size_t n = strcspn(xff, ", ");
            char tmp[64];
            if (n > 0 && n < sizeof tmp) {
                memcpy(tmp, xff, n);
                tmp[n] = 0;
                unsigned char bin[16];
                if (inet_pton(AF_INET, tmp, bin) == 1 || inet_pton(AF_INET6, tmp, bin) == 1) {
                    memcpy(req->client_ip, tmp, n + 1);
                    return;
                }
            }
        }
    }
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(req->client_ip, sizeof req->client_ip, "unknown");
    if (!ci || !ci->client_addr) return;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, req->client_ip, sizeof req->client_ip);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, req->client_ip, sizeof req->client_ip);
}

/* ---- sending ---- */

/* Adds the headers every response carries, queues it, and drops our reference. */
static enum MHD_Result send_response(http_req_t *req, int status, struct MHD_Response *r)
{
    if (!r) return MHD_NO;
    http_server_t *srv = req->srv;
    MHD_add_response_header(r, "X-Request-Id", req->req_id);
    cors_apply(srv, req, r);
    if (req->rl_limit > 0) {
        char v[32];
        snprintf(v, sizeof v, "%d", req->rl_limit);
        MHD_add_response_header(r, "X-RateLimit-Limit", v);
        snprintf(v, sizeof v, "%lld", (long long)req->rl_remaining);
        MHD_add_response_header(r, "X-RateLimit-Remaining", v);
        snprintf(v, sizeof v, "%lld", (long long)req->rl_reset);
        MHD_add_response_header(r, "X-RateLimit-Reset", v);
        if (status == 429) {
            long long after = (long long)req->rl_reset - (long long)time(NULL);
            snprintf(v, sizeof v, "%lld", after < 1 ? 1LL : after);
            MHD_add_response_header(r, "Retry-After", v);
        }
    }
    if (status == 401) MHD_add_response_header(r, "WWW-Authenticate", "Bearer");
    if (atomic_load(&srv->stopping)) MHD_add_response_header(r, "Connection", "close");
    enum MHD_Result ok = MHD_queue_response(req->conn, (unsigned)status, r);
    MHD_destroy_response(r);
    if (ok == MHD_YES) {
        req->responded = true;
        req->status_sent = status;
    }
    return ok;
}

static enum MHD_Result send_error(http_req_t *req, int status, const char *code, const char *detail)
{
    return send_response(req, status, resp_error_mhd(status, code, detail));
}

/* ---- auth ---- */

/* Runs the route's auth policy. Returns 0, or the status to answer (401/403) with detail. */
static int auth_check(http_server_t *srv, http_req_t *req, const http_route_t *route,
                      const char **detail)
{
    if (route->auth == HTTP_AUTH_NONE) return 0;
    const char *h = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "Authorization");
    const char *token = NULL;
    if (h) {
        while (*h == ' ') h++;
        if (!strncasecmp(h, "Bearer ", 7)) {
            token = h + 7;
            while (*token == ' ') token++;
            if (!*token) token = NULL;
        }
        if (!token) {
            *detail = "Invalid authentication credentials";
            return 401;
        }
    }
    if (!token) {
        if (route->auth == HTTP_AUTH_OPTIONAL) return 0;
        *detail = "Not authenticated";
        return 401;
    }
    http_principal_t p = {0};
    if (!srv->cfg.authenticate || srv->cfg.authenticate(token, &p, srv->cfg.auth_ud) != 0 ||
        p.user_id <= 0) {
        *detail = "Could not validate credentials";
        return 401;
    }
    req->principal.user_id = p.user_id;
    req->principal.is_admin = p.is_admin;
    /* the hook's email may live in thread storage another request reuses: copy it now */
    req->principal.email = p.email ? arena_strdup(&req->arena, p.email) : NULL;
    if (route->auth == HTTP_AUTH_ADMIN && !p.is_admin) {
        *detail = "Admin privileges required";
        return 403;
    }
    return 0;
}

/* ---- the pipeline ---- */

static size_t body_cap(http_server_t *srv, const http_route_t *route)
{
    return (route->flags & HTTP_ROUTE_UPLOAD) ? srv->cfg.max_upload_bytes : srv->cfg.max_body_bytes;
}

/* 307 to the same path without its trailing slash, when that path is a route. */
static enum MHD_Result try_slash_redirect(http_req_t *req)
{
    size_t plen = strlen(req->path);
    if (plen < 2 || req->path[plen - 1] != '/') return MHD_NO;
    char *stripped = arena_strndup(&req->arena, req->path, plen - 1);
    if (!router_path_exists(&req->srv->router, stripped, NULL)) return MHD_NO;
    const char *raw = req->raw_uri ? req->raw_uri : req->path;
    const char *q = strchr(raw, '?');
    size_t rawpath = q ? (size_t)(q - raw) : strlen(raw);
    while (rawpath > 1 && raw[rawpath - 1] == '/') rawpath--;
    buf_t loc = {0};
    buf_append(&loc, raw, rawpath);
    if (q) buf_puts(&loc, q);
    struct MHD_Response *r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (r) MHD_add_response_header(r, "Location", loc.data);
    buf_free(&loc);
    return send_response(req, 307, r);
}

/* First call: everything decided from the request line and headers. Returns MHD_YES with
 * req->responded set when answered, MHD_YES otherwise to go on with the body. */
static enum MHD_Result on_headers(http_server_t *srv, http_req_t *req)
{
    request_id_set(req);
    client_ip_set(srv, req);
    if (atomic_load(&srv->stopping))
        return send_error(req, 503, "service_unavailable", "Server is shutting down");

    if (!strcmp(req->method, "OPTIONS")) {
        buf_t methods = {0};
        enum MHD_Result rc;
        if (router_path_exists(&srv->router, req->path, &methods))
            rc = send_response(req, 204, cors_preflight(srv, req, methods.data));
        else
            rc = send_error(req, 404, "not_found", "Not Found");
        buf_free(&methods);
        return rc;
    }

    buf_t allow = {0};
    enum router_result rr = router_match(&srv->router, req->method, req->path, req, &req->entry, &allow);
    if (rr != ROUTER_FOUND) {
        enum MHD_Result rc;
        if (rr == ROUTER_BAD_METHOD) {
            struct MHD_Response *r = resp_error_mhd(405, "method_not_allowed", "Method Not Allowed");
            if (r) MHD_add_response_header(r, "Allow", allow.data);
            rc = send_response(req, 405, r);
        } else if (try_slash_redirect(req) == MHD_YES) {
            rc = MHD_YES;
        } else {
            rc = send_error(req, 404, "not_found", "Not Found");
        }
        buf_free(&allow);
        return rc;
    }
    buf_free(&allow);
    const http_route_t *route = req->entry->route;

    const char *cl = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "Content-Length");
    if (cl) {
        char *end;
        errno = 0;
        unsigned long long n = strtoull(cl, &end, 10);
        if (errno || end == cl || *end || n > body_cap(srv, route))
            return send_error(req, 413, "payload_too_large", "Request body too large");
    }

    const char *detail = NULL;
    int st = auth_check(srv, req, route, &detail);
    char rl_detail[128];
    if (st) {
        /* a failed sign-in is still counted, by address, so token guessing is limited */
        if (ratelimit_check(srv, req, route, true, rl_detail, sizeof rl_detail) == 429)
            return send_error(req, 429, "rate_limited", rl_detail);
        return send_error(req, st, st == 403 ? "forbidden" : "unauthorized", detail);
    }
    if (ratelimit_check(srv, req, route, false, rl_detail, sizeof rl_detail) == 429)
        return send_error(req, 429, "rate_limited", rl_detail);

    if (route->flags & HTTP_ROUTE_UPLOAD) {
        int ust = 0;
        const char *code = NULL, *udetail = NULL;
        req->upload = upload_begin(req, req->conn, &ust, &code, &udetail);
        if (!req->upload) return send_error(req, ust, code, udetail);
    }
    return MHD_YES;
}

/* Sends what a handler produced (its own response or a deferred one). */
static enum MHD_Result send_handler_resp(http_req_t *req, http_resp_t *resp)
{
    struct MHD_Response *r = resp_build(resp);   /* no response set -> 500 */
    if (resp->stream && !r) {
        resp_release(resp);
        stream_abort(resp->stream);
        return MHD_NO;
    }
    enum MHD_Result rc = send_response(req, resp->status, r);
    if (rc != MHD_YES && resp->stream) {
        /* MHD refused (connection going away) and freed the response with its stream
         * reference; tell the writer */
        stream_abort(resp->stream);
    }
    resp_release(resp);
    return rc;
}

/* A deferred response: send it when done, else stay suspended until it is (defer.c). */
static enum MHD_Result deferred_step(http_req_t *req)
{
    http_resp_t *dr = defer_take(req->deferred);
    return dr ? send_handler_resp(req, dr) : MHD_YES;
}

/* Final call: body complete; run the handler and send what it produced. Called again after
 * a deferred request's connection resumes. */
static enum MHD_Result on_complete(http_server_t *srv, http_req_t *req)
{
    (void)srv;
    if (req->deferred) return deferred_step(req);
    if (req->too_large)
        return send_error(req, 413, "payload_too_large", "Request body too large");
    if (req->upload) {
        const char *code = NULL, *detail = NULL;
        int st = req->upload_status;
        if (st) { code = req->upload_code; detail = req->upload_detail; }
        else st = upload_finish(req->upload, &code, &detail);
        if (st) return send_error(req, st, code, detail);
        upload_parts(req->upload, &req->parts, &req->nparts);
    }
    http_resp_t resp;
    memset(&resp, 0, sizeof resp);
    resp.req = req;
    resp.fd = -1;
    req->entry->route->handler(req, &resp);
    if (req->deferred) return deferred_step(req);
    return send_handler_resp(req, &resp);
}

static enum MHD_Result access_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                      const char *method, const char *version,
                                      const char *upload_data, size_t *upload_data_size,
                                      void **con_cls)
{
    (void)version;
    http_server_t *srv = cls;
    http_req_t *req = *con_cls;
    if (!req) return MHD_NO;   /* the URI callback always runs first */
    if (!req->started) {
        req->started = true;
        req->conn = conn;
        req->method = method;
        req->path = url;
        /* Without a body everything waits for the next call: a response queued now, before
         * MHD considers the request complete, would make it close the connection (no
         * keep-alive). With a body, deciding now lets a rejected body go unread. */
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
        const char *te = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Transfer-Encoding");
        if (!te && (!cl || !strcmp(cl, "0"))) return MHD_YES;
        req->headers_done = true;
        return on_headers(srv, req);
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (req->responded) return MHD_YES;
        req->body_seen += n;
        size_t cap = body_cap(srv, req->entry->route);
        if (req->too_large || req->body_seen > cap) {
            if (!req->too_large) {
                req->too_large = true;
                buf_free(&req->body);
                if (req->upload) { upload_cleanup(req->upload); req->upload = NULL; }
            }
            /* MHD 0.9.75 cannot answer in the middle of a body, so an oversized chunked
             * body is discarded and answered 413 at its end — but only up to a bound;
             * past it the connection is dropped rather than read forever. */
            size_t slack = cap > DISCARD_MIN ? cap : DISCARD_MIN;
            if (req->body_seen - cap > slack) {
                log_warn("http: %s %s: oversized body dropped after %zu bytes", req->method,
                         req->path, req->body_seen);
                req->status_sent = 413;
                return MHD_NO;
            }
            return MHD_YES;
        }
        if (req->upload) {
            if (!req->upload_status)
                req->upload_status = upload_feed(req->upload, upload_data, n, &req->upload_code,
                                                 &req->upload_detail);
        } else {
            buf_append(&req->body, upload_data, n);
        }
        return MHD_YES;
    }
    if (req->responded) return MHD_YES;
    if (!req->headers_done) {
        req->headers_done = true;
        enum MHD_Result rc = on_headers(srv, req);
        if (rc != MHD_YES || req->responded) return rc;
    }
    return on_complete(srv, req);
}

/* Request line received: allocate the request (its arena lives inside it). */
static void *uri_logger(void *cls, const char *uri, struct MHD_Connection *conn)
{
    (void)conn;
    http_server_t *srv = cls;
    http_req_t *req = xmalloc(sizeof *req);
    memset(req, 0, offsetof(http_req_t, arena_first));
    req->srv = srv;
    arena_init(&req->arena, req->arena_first, sizeof req->arena_first);
    req->raw_uri = arena_strdup(&req->arena, uri ? uri : "/");
    req->t_start_us = time_mono_us();
    atomic_fetch_add(&srv->inflight, 1);
    return req;
}

static void request_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                              enum MHD_RequestTerminationCode toe)
{
    (void)conn;
    http_server_t *srv = cls;
    http_req_t *req = *con_cls;
    if (!req) return;
    *con_cls = NULL;
    if (req->stream) {
        stream_finish(req->stream, toe != MHD_REQUEST_TERMINATED_COMPLETED_OK);
        stream_unref(req->stream);
    }
    if (req->deferred) defer_release(req->deferred);
    if (req->method && log_enabled(LOG_INFO)) {
        /* access log: never headers, tokens, bodies or the query string; the path is
         * decoded, so control bytes (%0A...) are masked to keep one event per line */
        char path[256];
        size_t n = 0;
        for (const char *p = req->path; *p && n < sizeof path - 4; p++)
            path[n++] = ((unsigned char)*p < 0x20 || *p == 0x7f) ? '?' : *p;
        if (req->path[n] && n >= sizeof path - 4) { memcpy(path + n, "...", 3); n += 3; }
        path[n] = 0;
        double ms = (double)(time_mono_us() - req->t_start_us) / 1000.0;
        log_info("http %s %s %d %.1fms rid=%s uid=%lld%s", req->method, path,
                 req->status_sent, ms, req->req_id, (long long)req->principal.user_id,
                 toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " aborted");
    }
    metrics_record(srv, req->status_sent, time_mono_us() - req->t_start_us);
    if (req->upload) upload_cleanup(req->upload);
    buf_free(&req->body);
    arena_free(&req->arena);
    free(req);
    atomic_fetch_sub(&srv->inflight, 1);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char line[512];
    vsnprintf(line, sizeof line, fmt, ap);
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = 0;
    log_debug("microhttpd: %s", line);
}

/* New connections are closed at once while stopping. This replaces MHD_quiesce_daemon(),
 * which on an epoll daemon with its own threads races the worker loop for the listen socket
 * and can abort the process (an open libmicrohttpd defect: MHD_PANIC "Failed to remove listen
 * FD from epoll set", seen here about once in a hundred test runs). */
static enum MHD_Result accept_policy(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
    (void)addr; (void)addrlen;
    http_server_t *srv = cls;
    return atomic_load(&srv->stopping) ? MHD_NO : MHD_YES;
}

http_server_t *http_server_start(const http_config_t *cfg, const http_route_t *routes,
                                 size_t nroutes, char *err, size_t errlen)
{
    http_server_t *srv = xcalloc(1, sizeof *srv);
    srv->cfg = *cfg;
    srv->cors_origins = xstrdup(cfg->cors_origins ? cfg->cors_origins : "");
    srv->upload_tmp_dir = xstrdup(cfg->upload_tmp_dir && *cfg->upload_tmp_dir ? cfg->upload_tmp_dir : "/tmp");
    srv->cfg.cors_origins = srv->cors_origins;
    srv->cfg.upload_tmp_dir = srv->upload_tmp_dir;
    if (!srv->cfg.max_body_bytes) srv->cfg.max_body_bytes = 1024 * 1024;
    if (!srv->cfg.max_upload_bytes) srv->cfg.max_upload_bytes = 10 * 1024 * 1024;
    pthread_mutex_init(&srv->streams_mu, NULL);
    if (router_build(&srv->router, routes, nroutes, err, errlen) != 0) goto fail;

    struct sockaddr_in6 a6 = {0};
    struct sockaddr_in a4 = {0};
    struct sockaddr *sa;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC |
                     MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG | MHD_USE_TURBO;
    const char *host = cfg->host && *cfg->host ? cfg->host : "0.0.0.0";
    if (!strcmp(host, "localhost")) host = "127.0.0.1";
    if (cfg->port < 0 || cfg->port > 65535) {
        snprintf(err, errlen, "invalid port %d", cfg->port);
        goto fail;
    }
    if (inet_pton(AF_INET, host, &a4.sin_addr) == 1) {
        a4.sin_family = AF_INET;
        a4.sin_port = htons((uint16_t)cfg->port);
        sa = (struct sockaddr *)&a4;
    } else if (inet_pton(AF_INET6, host, &a6.sin6_addr) == 1) {
        a6.sin6_family = AF_INET6;
        a6.sin6_port = htons((uint16_t)cfg->port);
        sa = (struct sockaddr *)&a6;
        /* "::" means every address: accept IPv4 clients on the same socket too */
        flags |= IN6_IS_ADDR_UNSPECIFIED(&a6.sin6_addr) ? MHD_USE_DUAL_STACK : MHD_USE_IPv6;
    } else {
        snprintf(err, errlen, "invalid listen address '%s' (use an IP address)", host);
        goto fail;
    }
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned threads = cfg->threads > 0 ? (unsigned)cfg->threads : (unsigned)(ncpu > 0 ? ncpu : 2);
    struct MHD_OptionItem opts[] = {
        {MHD_OPTION_SOCK_ADDR, 0, sa},
        {MHD_OPTION_THREAD_POOL_SIZE, threads, NULL},
        {MHD_OPTION_CONNECTION_TIMEOUT, (intptr_t)(cfg->timeout_s > 0 ? cfg->timeout_s : 30), NULL},
        {MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)uri_logger, srv},
        {MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)request_completed, srv},
        {MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_log, srv},
        {MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024, NULL},
        {MHD_OPTION_CONNECTION_LIMIT, 10000, NULL},
        {MHD_OPTION_END, 0, NULL},
    };
    if (threads <= 1) {   /* no pool: repeat a harmless option in its slot */
        opts[1].option = MHD_OPTION_CONNECTION_LIMIT;
        opts[1].value = 10000;
    }
    errno = 0;
    srv->d = MHD_start_daemon(flags, 0, accept_policy, srv, access_handler, srv, MHD_OPTION_ARRAY, opts,
                              MHD_OPTION_END);
    if (!srv->d) {
        snprintf(err, errlen, "cannot listen on %s:%d: %s", host, cfg->port,
                 errno ? strerror(errno) : "libmicrohttpd refused to start");
        goto fail;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(srv->d, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = di ? di->port : cfg->port;
    log_info(strchr(host, ':') ? "http: listening on [%s]:%d (%u threads)" : "http: listening on %s:%d (%u threads)",
             host, srv->port, threads);
    return srv;
fail:
    router_free(&srv->router);
    pthread_mutex_destroy(&srv->streams_mu);
    free(srv->cors_origins);
    free(srv->upload_tmp_dir);
    free(srv);
    return NULL;
}

int http_server_port(const http_server_t *srv) { return srv ? srv->port : -1; }

static void wait_idle(http_server_t *srv, int64_t until_us)
{
    while (atomic_load(&srv->inflight) > 0 && time_mono_us() < until_us) usleep(5000);
}

void http_server_drain(http_server_t *srv)
{
    if (!srv || srv->drained) return;
    srv->drained = true;
    atomic_store(&srv->stopping, true);   /* refuse new connections and new requests */
    int ms = srv->cfg.stop_timeout_ms > 0 ? srv->cfg.stop_timeout_ms : 10000;
    wait_idle(srv, time_mono_us() + (int64_t)ms * 1000);
    if (atomic_load(&srv->inflight) > 0) {
        log_warn("http: stop: %d requests still running after %d ms; ending %d streams",
                 atomic_load(&srv->inflight), ms, atomic_load(&srv->nstreams));
        stream_end_all(srv);
        wait_idle(srv, time_mono_us() + 2000 * 1000);
    }
}

void http_server_stop(http_server_t *srv)
{
    if (!srv) return;
    http_server_drain(srv);
    MHD_stop_daemon(srv->d);
    router_free(&srv->router);
    pthread_mutex_destroy(&srv->streams_mu);
    free(srv->cors_origins);
    free(srv->upload_tmp_dir);
    free(srv);
}
