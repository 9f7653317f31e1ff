/* internal.h — structures shared by the files of src/http (server, router, request,
 * response, stream, multipart, cors, ratelimit). Not part of the public interface. */
#ifndef RODEO_HTTP_INTERNAL_H
#define RODEO_HTTP_INTERNAL_H
#include "http/http.h"
#include "core/buf.h"
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>

/* ---- per-request arena: one block inside the request, more blocks on demand ---- */
typedef struct arena_block { struct arena_block *next; size_t cap, used; char data[]; } arena_block_t;
typedef struct {
    char   *cur;        /* current block's data */
    size_t  cap, used;
    arena_block_t *blocks;   /* malloc'd overflow blocks */
} arena_t;
void  arena_init(arena_t *a, char *first, size_t cap);
void *arena_alloc(arena_t *a, size_t n);
char *arena_strdup(arena_t *a, const char *s);
char *arena_strndup(arena_t *a, const char *s, size_t n);
void  arena_free(arena_t *a);

/* ---- router ---- */
#define HTTP_MAX_PARAMS 8
#define HTTP_MAX_SEGS   32
typedef struct {
    const http_route_t *route;
    int    nsegs;
    char **segs;         /* pattern split on '/', "{name}" kept with braces */
    int    nparams;
    int    literals;     /* number of literal segments (precedence) */
    bool   rest;         /* last segment is "{name...}": matches the rest of the path */
} router_entry_t;

typedef struct {
    router_entry_t *entries;
    size_t n;
} router_t;

enum router_result { ROUTER_FOUND, ROUTER_NOT_FOUND, ROUTER_BAD_METHOD };

int  router_build(router_t *r, const http_route_t *routes, size_t n, char *err, size_t errlen);
void router_free(router_t *r);
/* Matches method + path. On FOUND fills *out and params (names point into the router,
 * values into req scratch). On BAD_METHOD fills allow (comma list of methods). */
enum router_result router_match(const router_t *r, const char *method, const char *path,
                                http_req_t *req, const router_entry_t **out, buf_t *allow);
/* True when some route (any method) matches path. */
bool router_path_exists(const router_t *r, const char *path, buf_t *methods);

/* ---- streams (stream.c) ---- */
struct http_stream {
    pthread_mutex_t mu;
    int    refs;                 /* user handle + MHD response + request */
    buf_t  q;                    /* queued bytes */
    size_t qoff;                 /* bytes of q already handed to MHD */
    bool   ended;                /* http_stream_end called (or forced at stop) */
    bool   gone;                 /* client went away / request terminated */
    bool   suspended;            /* connection suspended waiting for data */
    bool   closed_called;        /* on_close has run */
    bool   user_released;        /* http_stream_end dropped the user reference */
    bool   attached;             /* MHD response exists */
    bool   forced;               /* ended by http_server_stop, not by the writer */
    struct MHD_Connection *conn;
    http_server_t *srv;
    http_stream_close_fn on_close;
    void  *ud;
    struct http_stream *prev, *next;  /* server's list of live streams */
};
struct MHD_Response *stream_make_response(http_stream_t *s);
void stream_finish(http_stream_t *s, bool client_gone);  /* request completed */
void stream_abort(http_stream_t *s);       /* made by the handler, could not be sent */
void stream_unref(http_stream_t *s);       /* drops one reference (the request's) */
void stream_end_all(http_server_t *srv);                 /* stop: end every open stream */

/* ---- deferred responses (defer.c) ---- */
/* Called by the pipeline after the handler deferred (and again on each resume): returns the
 * finished response to send, or NULL after suspending the connection until done. */
http_resp_t *defer_take(http_deferred_t *d);
void defer_release(http_deferred_t *d);   /* the request's reference (request completed) */

/* ---- response under construction ---- */
typedef struct { const char *name, *value; } http_hdr_t;
#define HTTP_MAX_RESP_HEADERS 24
struct http_resp {
    int     status;            /* 0 = nothing set yet */
    const char *content_type;
    char   *body;              /* malloc'd, freed by MHD (or by us when not sent) */
    size_t  len;
    http_hdr_t headers[HTTP_MAX_RESP_HEADERS];
    int     nheaders;
    http_stream_t *stream;
    http_req_t *req;
    int     fd;                /* http_resp_file: open file (-1 none) */
    uint64_t fd_size;
};

/* ---- multipart upload state (multipart.c) ---- */
typedef struct upload upload_t;
upload_t *upload_begin(http_req_t *req, struct MHD_Connection *conn, int *status,
                       const char **code, const char **detail);
/* Feeds body bytes; returns 0, or an HTTP status (400/413/422) with code/detail. */
int  upload_feed(upload_t *u, const char *data, size_t len, const char **code, const char **detail);
int  upload_finish(upload_t *u, const char **code, const char **detail);
void upload_parts(upload_t *u, const http_part_t **parts, size_t *n);
void upload_cleanup(upload_t *u);   /* deletes temp files, frees */

/* ---- request ---- */
#define HTTP_REQ_ARENA 2048
struct http_req {
    http_server_t *srv;
    struct MHD_Connection *conn;
    const char *method;
    const char *path;
    const char *raw_uri;
    const router_entry_t *entry;
    int    nparams;
    const char *pnames[HTTP_MAX_PARAMS];
    const char *pvalues[HTTP_MAX_PARAMS];
    char   client_ip[64];
    char   req_id[72];
    http_principal_t principal;
    buf_t  body;
    size_t body_seen;          /* bytes received (also when discarded) */
    bool   too_large;
    bool   started;            /* first access-handler call done */
    bool   headers_done;       /* on_headers ran (routing, auth, limits) */
    bool   responded;
    int    upload_status;      /* error from the multipart parser, 0 = ok */
    const char *upload_code, *upload_detail;
    upload_t *upload;
    const http_part_t *parts;
    size_t nparts;
    int64_t t_start_us;
    int    status_sent;
    http_stream_t *stream;     /* streaming response attached to this request */
    http_deferred_t *deferred; /* response completed by another thread (defer.c) */
    int    rl_limit;           /* rate-limit headers to add (limit > 0) */
    int64_t rl_remaining, rl_reset;
    arena_t arena;
    char   arena_first[HTTP_REQ_ARENA];
};

/* ---- server ---- */
struct http_server {
    struct MHD_Daemon *d;
    http_config_t cfg;
    char  *cors_origins;       /* owned copy */
    char  *upload_tmp_dir;     /* owned copy */
    router_t router;
    int    port;
    atomic_int inflight;       /* requests between start and completion */
    atomic_bool stopping;
    bool        drained;        /* http_server_drain ran (owner thread only) */
    pthread_mutex_t streams_mu;
    http_stream_t *streams;    /* live streams (for stop) */
    atomic_int nstreams;
    /* metrics (metrics.c) */
    atomic_ullong m_requests;
    atomic_ullong m_class[6];  /* 0 = no status (aborted), 1xx..5xx */
    atomic_ullong m_latency[8];
    atomic_ullong m_rate_limited;
};

/* metrics.c: records one finished request. */
void metrics_record(http_server_t *srv, int status, int64_t duration_us);

/* cors.c: adds CORS headers for this request's Origin to an MHD response. */
void cors_apply(http_server_t *srv, http_req_t *req, struct MHD_Response *r);
/* Builds the 204 preflight response; methods = comma list allowed on the path. */
struct MHD_Response *cors_preflight(http_server_t *srv, http_req_t *req, const char *methods);

/* ratelimit.c: 0 = allowed (fills req->rl_*), 429 = exceeded (detail filled). */
int ratelimit_check(http_server_t *srv, http_req_t *req, const http_route_t *route,
                    bool by_address, char *detail, size_t detail_len);

/* response.c: turns the handler's http_resp into an MHD response. */
struct MHD_Response *resp_build(http_resp_t *resp);
void resp_release(http_resp_t *resp);
/* A JSON error response body {"detail","code"} as an MHD response. */
struct MHD_Response *resp_error_mhd(int status, const char *code, const char *detail);
#endif
