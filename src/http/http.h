/* http.h — Rodeo's HTTP layer: server, router, request/response, middleware.
 *
 * The server runs on libmicrohttpd (internal epoll, a pool of threads). Handlers are plain
 * functions registered in one route table (src/api/routes.c). The layer does, before the
 * handler runs: request id, body cap (413), CORS + preflight, auth (from the bearer token;
 * the route says whether auth is none/optional/required/admin), per-route rate limit (429 with
 * Retry-After and X-RateLimit-* headers) — and after it: the access log line.
 *
 * Handlers are synchronous and run on a server thread; they may block on the store. Long
 * streams (chat) use http_stream_*: the handler starts the stream and returns; any thread then
 * writes chunks; the connection is suspended while no data is queued, so an idle stream does
 * not hold a server thread. Slow work (recognition) uses http_resp_defer: another thread
 * builds the response while the connection is suspended.
 *
 * Every 4xx/5xx body has one shape: {"detail": "<human message>", "code": "<machine code>"}.
 */
#ifndef RODEO_HTTP_H
#define RODEO_HTTP_H
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct http_req  http_req_t;
typedef struct http_resp http_resp_t;
typedef struct http_server http_server_t;
typedef struct http_stream http_stream_t;
typedef struct http_deferred http_deferred_t;

typedef void (*http_handler_fn)(http_req_t *req, http_resp_t *resp);

enum http_auth {
    HTTP_AUTH_NONE = 0,      /* token ignored */
    HTTP_AUTH_OPTIONAL,      /* valid token -> user; missing -> anonymous; invalid -> 401 */
    HTTP_AUTH_REQUIRED,      /* missing/invalid -> 401 */
    HTTP_AUTH_ADMIN,         /* required + users.is_admin, else 403 */
};

/* Route flags */
#define HTTP_ROUTE_UPLOAD   0x1  /* multipart/form-data streamed to temp files (see parts) */
#define HTTP_ROUTE_RAW_BODY 0x2  /* body kept byte-exact (webhooks); always true for JSON too */

typedef struct {
    const char     *method;      /* "GET", "POST", ... */
    const char     *pattern;     /* "/api/conversations/{id}"; literal segments win; a last
                                    segment "{name...}" takes the rest of the path */
    http_handler_fn handler;
    enum http_auth  auth;
    int             rate_per_min;/* 0 = no limit */
    unsigned        flags;
} http_route_t;

/* One uploaded form part (HTTP_ROUTE_UPLOAD routes). File parts are on disk in a temp file
 * the layer deletes after the handler returns, unless the handler renamed it away. */
typedef struct {
    const char *name;            /* form field name */
    const char *filename;        /* client filename or NULL for plain fields */
    const char *content_type;    /* client-declared; never trusted for validation */
    const char *path;            /* temp file path for file parts, else NULL */
    const char *value;           /* value for plain fields (NUL-terminated), else NULL */
    size_t      size;
    const char *sha256;          /* file parts: lowercase hex SHA-256 of the bytes, computed
                                    while they streamed to disk ("" if hashing failed); else NULL */
} http_part_t;

/* The authenticated principal, filled by the auth middleware from the token only. */
typedef struct {
    int64_t user_id;             /* 0 = anonymous */
    bool    is_admin;
    const char *email;
} http_principal_t;

/* ---- request accessors (strings live until the handler returns) ---- */
const char *http_req_method(const http_req_t *req);
const char *http_req_path(const http_req_t *req);
const char *http_req_header(const http_req_t *req, const char *name);      /* case-insensitive */
const char *http_req_query(const http_req_t *req, const char *name);       /* decoded, or NULL */
const char *http_req_param(const http_req_t *req, const char *name);       /* path {param} */
const char *http_req_body(const http_req_t *req, size_t *len);             /* raw bytes */
const char *http_req_client_ip(const http_req_t *req);  /* X-Forwarded-For only with TRUST_PROXY */
const char *http_req_id(const http_req_t *req);
const http_principal_t *http_req_principal(const http_req_t *req);
const http_part_t *http_req_part(const http_req_t *req, const char *name); /* first with name */
size_t      http_req_parts(const http_req_t *req, const http_part_t **parts);
/* Parses the body as a JSON object and returns a new reference (the caller json_decref's
 * it, or hands it to http_resp_json). On failure sends the error on resp and returns NULL:
 * empty body -> 422 validation_error; invalid UTF-8 or malformed JSON -> 400 invalid_json;
 * valid JSON that is not an object -> 422 validation_error. */
json_t     *http_req_json(http_req_t *req, http_resp_t *resp);
/* Per-request scratch memory freed after the response (no need to free). */
void       *http_req_alloc(http_req_t *req, size_t n);

/* ---- responses: exactly one of these per request ---- */
void http_resp_json(http_resp_t *resp, int status, json_t *body);          /* steals body */
void http_resp_error(http_resp_t *resp, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void http_resp_bytes(http_resp_t *resp, int status, const char *content_type,
                     const void *data, size_t len);                         /* copies */
void http_resp_take(http_resp_t *resp, int status, const char *content_type,
                    void *data, size_t len);                                /* takes malloc'd */
void http_resp_header(http_resp_t *resp, const char *name, const char *value);

/* ---- streaming responses (chunked) ----
 * http_resp_stream() sends status + headers as soon as the first chunk (or end) is queued;
 * headers set with http_resp_header in the same handler are sent with them, plus
 * Cache-Control: no-cache and X-Accel-Buffering: no. http_stream_write/end may be called
 * from any thread, also after the handler returned; writes are sent in call order.
 * on_close runs exactly once, on a server thread, when the stream was fully sent
 * (client_gone = false) or the client went away / the server is stopping (client_gone =
 * true: stop producing). Writes after that return -1.
 * Ownership: the handle stays valid until http_stream_end, which the writer must call exactly
 * once in every case (also after a -1 or after on_close); it ends the stream if still open
 * and releases the handle. Do not use the handle after http_stream_end. */
typedef void (*http_stream_close_fn)(void *ud, bool client_gone);
http_stream_t *http_resp_stream(http_resp_t *resp, int status, const char *content_type,
                                http_stream_close_fn on_close, void *ud);
int  http_stream_write(http_stream_t *s, const void *data, size_t len);    /* -1 if client gone */
void http_stream_end(http_stream_t *s);
/* One server-sent event: "event: <event>\n" (when event is non-NULL) then one "data: " line
 * per line of data (split on \n; a \r before it is dropped), then a blank line. Start the
 * stream with content type "text/event-stream". Returns 0, or -1 like http_stream_write. */
int  http_stream_sse(http_stream_t *s, const char *event, const char *data, size_t len);

/* ---- deferred responses: slow work off the server threads ----
 * A handler whose work is slow (recognition) calls http_resp_defer, hands the handle to
 * another thread and returns at once. The connection is suspended meanwhile: it holds no
 * server thread, so the other connections of that thread go on. The other thread may read
 * the request (http_req_* accessors, form parts and their temp files: all live until the
 * response is sent), builds the answer with the usual http_resp_* calls on
 * http_deferred_resp(d) (not a stream) and calls http_deferred_done(d) exactly once; the
 * connection resumes and the answer goes out (500 when none was set). Do not use d after
 * done. The handler must not touch its own resp after deferring. http_resp_defer returns
 * NULL when a response was already set. http_server_drain waits for deferred requests like
 * any request in flight, but only up to its timeout: whoever completes them must finish
 * them all before http_server_stop frees the connections (rodeo serve drains the
 * recognition pool in between). */
http_deferred_t *http_resp_defer(http_resp_t *resp);
http_resp_t     *http_deferred_resp(http_deferred_t *d);
void             http_deferred_done(http_deferred_t *d);

/* True when rel is a safe relative path to join under a directory: non-empty, no leading
 * '/', no "." or ".." segment, no empty segment, no backslash or control byte. */
bool http_path_is_safe(const char *rel);

/* Serves a file by path (zero-copy from the kernel, Content-Length set). Returns 0, or -1
 * (nothing sent) when it cannot be opened as a regular file: the caller answers 404. The
 * caller validates the path (never pass user input through unchecked). */
int  http_resp_file(http_resp_t *resp, int status, const char *content_type, const char *path);

/* ---- server ---- */
/* The auth middleware hands the bearer token to this hook (set by the API layer, which owns
 * JWT verification and the user/session lookup). Returns 0 and fills *p, or -1 when the
 * token is invalid/expired/revoked (-> 401). p->email may point into static/thread storage
 * valid until the request ends. */
typedef int (*http_auth_fn)(const char *token, http_principal_t *p, void *ud);
struct kv;   /* src/kv/kv.h: rate-limit counters */

typedef struct {
    const char *host;
    int         port;            /* 0 = pick a free port (tests) */
    int         threads;         /* server threads (<= 0: CPUs). Each serves many connections;
                                    a handler that blocks stalls the others on its thread */
    size_t      max_body_bytes;
    size_t      max_upload_bytes;
    const char *upload_tmp_dir;
    int         timeout_s;
    const char *cors_origins;    /* "*" or comma list of allowed origins */
    bool        trust_proxy;     /* take the client address from X-Forwarded-For */
    bool        rate_limit;      /* false disables per-route limits */
    struct kv  *kv;              /* counters for rate limits (NULL = no limits) */
    http_auth_fn authenticate;
    void       *auth_ud;
    int         stop_timeout_ms; /* graceful stop: wait for requests/streams (0 = 10000) */
} http_config_t;

/* Starts listening. The routes array (and its strings) must outlive the server; cfg is
 * copied. Returns NULL with a message in err (bad route pattern, bad address, port taken). */
http_server_t *http_server_start(const http_config_t *cfg, const http_route_t *routes,
                                 size_t nroutes, char *err, size_t errlen);
int  http_server_port(const http_server_t *srv);
/* Stops accepting (new connections are closed at once; a new request on a kept-alive one
 * gets 503 + Connection: close), waits for in-flight requests and streams (stop_timeout_ms, default
 * 10 s), then ends the streams still open (their on_close gets client_gone = true), waits
 * up to 2 s more, closes every connection and frees. */
void http_server_stop(http_server_t *srv);
/* The first half of http_server_stop: stop accepting, wait for in-flight requests, end the
 * streams still open; the daemon keeps running, so work finishing on other threads (deferred
 * responses) still reaches live connections. Call it, then drain those threads, then
 * http_server_stop (which skips what drain did). Idempotent. */
void http_server_drain(http_server_t *srv);

/* Counters since start, as a JSON object (caller decrefs): requests, by status class
 * ("2xx"...), latency histogram (upper bounds in ms, "le_1" ... "inf"), in_flight requests,
 * open streams, rate-limited (429) answers. Cheap: atomic loads only. */
json_t *http_server_metrics(const http_server_t *srv);

/* Status code -> reason phrase and default machine code ("not_found", ...). */
const char *http_status_code_name(int status);
#endif
