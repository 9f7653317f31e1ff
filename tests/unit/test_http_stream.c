/* test_http_stream.c — chunked streams written from other threads: ordering, headers, many
 * concurrent streams, idle streams costing no CPU, client disconnects (on_close with
 * client_gone, writes returning -1), and server stop with streams and requests in flight. */
#include "test.h"
#include "http_testlib.h"
#include "http/http.h"
#include "core/log.h"
#include "kv/kv.h"
#include "core/timeutil.h"
#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

/* One writer job per stream: the handler starts it on its own thread. */
typedef struct {
    http_stream_t *s;
    pthread_t th;
    int  nchunks, delay_us;
    atomic_bool go;          /* writer waits for this before the first chunk */
    atomic_int  closes;      /* on_close calls */
    atomic_bool client_gone;
    atomic_bool saw_minus1;
    atomic_bool done;
    int  written;
} job_t;

#define MAX_JOBS 128
static job_t jobs[MAX_JOBS];
static atomic_int njobs;
static atomic_bool default_go;
static int default_chunks, default_delay;

static void jobs_reset(int nchunks, int delay_us, bool go)
{
    memset(jobs, 0, sizeof jobs);
    atomic_store(&njobs, 0);
    default_chunks = nchunks;
    default_delay = delay_us;
    atomic_store(&default_go, go);
}

static void jobs_join(void)
{
    for (int i = 0; i < atomic_load(&njobs); i++) pthread_join(jobs[i].th, NULL);
}

static void on_close(void *ud, bool gone)
{
    job_t *j = ud;
    atomic_store(&j->client_gone, gone);
    atomic_fetch_add(&j->closes, 1);
}

static void *writer(void *p)
{
    job_t *j = p;
    while (!atomic_load(&j->go) && !atomic_load(&j->closes)) usleep(1000);
    for (int i = 0; i < j->nchunks; i++) {
        char line[64];
        int n = snprintf(line, sizeof line, "chunk-%d\n", i);
        if (http_stream_write(j->s, line, (size_t)n) < 0) { atomic_store(&j->saw_minus1, true); break; }
        j->written++;
        if (j->delay_us) usleep((useconds_t)j->delay_us);
    }
    http_stream_end(j->s);
    atomic_store(&j->done, true);
    return NULL;
}

static void h_stream(http_req_t *req, http_resp_t *resp)
{
    (void)req;
    int i = atomic_fetch_add(&njobs, 1);
    if (i >= MAX_JOBS) { http_resp_error(resp, 503, "busy", "too many"); return; }
    job_t *j = &jobs[i];
    j->nchunks = default_chunks;
    j->delay_us = default_delay;
    atomic_store(&j->go, atomic_load(&default_go));
    http_resp_header(resp, "X-Conversation-ID", "77");
    j->s = http_resp_stream(resp, 200, "text/plain; charset=utf-8", on_close, j);
    pthread_create(&j->th, NULL, writer, j);
}

static void h_slow(http_req_t *req, http_resp_t *resp)
{
    (void)req;
    usleep(300000);
    http_resp_json(resp, 200, json_pack("{s:s}", "slow", "done"));
}

static void h_health(http_req_t *req, http_resp_t *resp)
{
    (void)req;
    http_resp_json(resp, 200, json_pack("{s:s}", "status", "ok"));
}

static const http_route_t routes[] = {
    {"POST", "/api/chat", h_stream, HTTP_AUTH_NONE, 0, 0},
    {"GET", "/slow", h_slow, HTTP_AUTH_NONE, 0, 0},
    {"GET", "/health", h_health, HTTP_AUTH_NONE, 0, 0},
};

static http_server_t *start(int *port, int stop_ms)
{
    log_set_level(LOG_ERROR);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    http_config_t cfg = htest_config();
    cfg.stop_timeout_ms = stop_ms;
    char err[256];
    http_server_t *srv = http_server_start(&cfg, routes, 3, err, sizeof err);
    if (srv) *port = http_server_port(srv);
    return srv;
}

static void expected_body(buf_t *b, int n)
{
    for (int i = 0; i < n; i++) buf_printf(b, "chunk-%d\n", i);
}

static bool wait_for(atomic_int *v, int want, int ms)
{
    for (int i = 0; i < ms && atomic_load(v) < want; i++) usleep(1000);
    return atomic_load(v) >= want;
}

TEST(http_stream_order_and_headers)
{
    int port;
    jobs_reset(200, 0, true);
    http_server_t *srv = start(&port, 2000);
    REQUIRE(srv);
    hres_t r;
    hreq(port, "POST", "/api/chat", NULL, "{}", 2, &r);
    CHECK_INT(r.status, 200);
    buf_t want = {0};
    expected_body(&want, 200);
    CHECK_STR(r.body.data, want.data);
    CHECK_STR(hres_header(&r, "X-Conversation-ID"), "77");
    CHECK_STR(hres_header(&r, "Transfer-Encoding"), "chunked");
    CHECK_STR(hres_header(&r, "Cache-Control"), "no-cache");
    CHECK_STR(hres_header(&r, "X-Accel-Buffering"), "no");
    CHECK_STR(hres_header(&r, "Content-Type"), "text/plain; charset=utf-8");
    CHECK(hres_header(&r, "X-Request-Id") != NULL);
    hres_free(&r);
    CHECK(wait_for(&jobs[0].closes, 1, 2000));
    CHECK_INT(atomic_load(&jobs[0].closes), 1);
    CHECK(!atomic_load(&jobs[0].client_gone));
    jobs_join();
    buf_free(&want);
    http_server_stop(srv);
    CHECK_INT(atomic_load(&jobs[0].closes), 1);   /* exactly once */
}

typedef struct { int port; hres_t r; } client_arg_t;

static void *client_thread(void *p)
{
    client_arg_t *a = p;
    hreq(a->port, "POST", "/api/chat", NULL, "{}", 2, &a->r);
    return NULL;
}

TEST(http_stream_many_concurrent)
{
    int port;
    enum { N = 50, CHUNKS = 30 };
    jobs_reset(CHUNKS, 2000, true);
    http_server_t *srv = start(&port, 2000);
    REQUIRE(srv);
    static client_arg_t args[N];
    pthread_t th[N];
    for (int i = 0; i < N; i++) {
        args[i].port = port;
        pthread_create(&th[i], NULL, client_thread, &args[i]);
    }
    for (int i = 0; i < N; i++) pthread_join(th[i], NULL);
    buf_t want = {0};
    expected_body(&want, CHUNKS);
    int good = 0;
    for (int i = 0; i < N; i++) {
        good += args[i].r.status == 200 && args[i].r.body.data && !strcmp(args[i].r.body.data, want.data);
        hres_free(&args[i].r);
    }
    CHECK_INT(good, N);
    buf_free(&want);
    jobs_join();
    http_server_stop(srv);
    int closes = 0, gone = 0;
    for (int i = 0; i < N; i++) { closes += atomic_load(&jobs[i].closes); gone += atomic_load(&jobs[i].client_gone); }
    CHECK_INT(closes, N);
    CHECK_INT(gone, 0);
}

/* curl multi: open n streaming requests without blocking, so the test can act meanwhile. */
typedef struct { CURLM *m; CURL *e[64]; buf_t body[64]; int n; } multi_t;

static size_t on_data(char *p, size_t sz, size_t n, void *ud)
{
    buf_append(ud, p, sz * n);
    return sz * n;
}

static void multi_open(multi_t *mt, int port, int n)
{
    memset(mt, 0, sizeof *mt);
    mt->m = curl_multi_init();
    mt->n = n;
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/api/chat", port);
    for (int i = 0; i < n; i++) {
        CURL *e = curl_easy_init();
        curl_easy_setopt(e, CURLOPT_URL, url);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, "{}");
        curl_easy_setopt(e, CURLOPT_PROXY, "");
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(e, CURLOPT_WRITEDATA, &mt->body[i]);
        curl_multi_add_handle(mt->m, e);
        mt->e[i] = e;
    }
}

/* Drives transfers for ms milliseconds; returns how many are still running. */
static int multi_pump(multi_t *mt, int ms)
{
    int running = 0;
    int64_t until = time_mono_us() + (int64_t)ms * 1000;
    do {
        curl_multi_perform(mt->m, &running);
        if (!running) break;
        curl_multi_poll(mt->m, NULL, 0, 10, NULL);
    } while (time_mono_us() < until);
    return running;
}

static void multi_close(multi_t *mt)
{
    for (int i = 0; i < mt->n; i++) {
        curl_multi_remove_handle(mt->m, mt->e[i]);
        curl_easy_cleanup(mt->e[i]);
        buf_free(&mt->body[i]);
    }
    curl_multi_cleanup(mt->m);
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

TEST(http_stream_idle_streams_cost_nothing)
{
    int port;
    enum { N = 20 };
    jobs_reset(3, 0, false);        /* writers wait: the streams sit idle */
    http_server_t *srv = start(&port, 2000);   /* 2 server threads */
    REQUIRE(srv);
    multi_t mt;
    multi_open(&mt, port, N);
    multi_pump(&mt, 300);
    CHECK_INT(atomic_load(&njobs), N);
    /* idle: suspended connections must not spin */
    double c0 = cpu_seconds();
    multi_pump(&mt, 400);
    double used = cpu_seconds() - c0;
    CHECK(used < 0.2);
    /* and the server still answers other requests at once */
    int64_t t0 = time_mono_us();
    hres_t r;
    hreq(port, "GET", "/health", NULL, NULL, 0, &r);
    CHECK_INT(r.status, 200);
    CHECK(time_mono_us() - t0 < 500000);
    hres_free(&r);
    /* wake the writers: every stream completes in order */
    for (int i = 0; i < N; i++) atomic_store(&jobs[i].go, true);
    CHECK_INT(multi_pump(&mt, 5000), 0);
    int good = 0;
    for (int i = 0; i < N; i++)
        good += mt.body[i].data && !strcmp(mt.body[i].data, "chunk-0\nchunk-1\nchunk-2\n");
    CHECK_INT(good, N);
    multi_close(&mt);
    jobs_join();
    http_server_stop(srv);
}

TEST(http_stream_client_disconnect)
{
    int port;
    jobs_reset(100000, 1000, false);   /* writes until the client is gone */
    http_server_t *srv = start(&port, 2000);
    REQUIRE(srv);
    multi_t mt;
    multi_open(&mt, port, 3);
    multi_pump(&mt, 200);
    REQUIRE(atomic_load(&njobs) == 3);
    for (int i = 0; i < 3; i++) atomic_store(&jobs[i].go, true);
    multi_pump(&mt, 100);
    CHECK(mt.body[0].len > 0);
    /* the client goes away mid-stream */
    multi_close(&mt);
    int closed = 0;
    for (int i = 0; i < 3; i++) closed += wait_for(&jobs[i].closes, 1, 5000);
    CHECK_INT(closed, 3);
    for (int i = 0; i < 3; i++) {
        for (int k = 0; k < 5000 && !atomic_load(&jobs[i].done); k++) usleep(1000);
        CHECK(atomic_load(&jobs[i].client_gone));
        CHECK(atomic_load(&jobs[i].saw_minus1));
        CHECK(atomic_load(&jobs[i].done));
        CHECK(jobs[i].written < 100000);
    }
    jobs_join();
    http_server_stop(srv);
    for (int i = 0; i < 3; i++) CHECK_INT(atomic_load(&jobs[i].closes), 1);
}

static void *stop_thread(void *srv)
{
    http_server_stop(srv);
    return NULL;
}

TEST(http_stream_stop_with_open_streams)
{
    int port;
    jobs_reset(1000000, 100, false);   /* never finishes on its own */
    http_server_t *srv = start(&port, 300);
    REQUIRE(srv);
    multi_t mt;
    multi_open(&mt, port, 4);
    multi_pump(&mt, 200);
    REQUIRE(atomic_load(&njobs) == 4);
    for (int i = 0; i < 2; i++) atomic_store(&jobs[i].go, true);   /* two busy, two idle */
    multi_pump(&mt, 50);
    /* stop from another thread while the client keeps reading */
    pthread_t stopper;
    int64_t t0 = time_mono_us();
    pthread_create(&stopper, NULL, stop_thread, srv);
    int running = multi_pump(&mt, 5000);
    pthread_join(stopper, NULL);
    double secs = (double)(time_mono_us() - t0) / 1e6;
    CHECK(secs < 4.0);
    CHECK_INT(running, 0);
    for (int i = 0; i < 4; i++) {
        CHECK_INT(atomic_load(&jobs[i].closes), 1);
        CHECK(atomic_load(&jobs[i].client_gone));   /* told to stop producing */
    }
    jobs_join();
    for (int i = 0; i < 4; i++) CHECK(atomic_load(&jobs[i].done));
    multi_close(&mt);
}

static void *slow_client(void *p)
{
    client_arg_t *a = p;
    hreq(a->port, "GET", "/slow", NULL, NULL, 0, &a->r);
    return NULL;
}

TEST(http_stop_waits_for_inflight_request)
{
    int port;
    jobs_reset(0, 0, true);
    http_server_t *srv = start(&port, 5000);
    REQUIRE(srv);
    client_arg_t a = {.port = port};
    pthread_t th;
    pthread_create(&th, NULL, slow_client, &a);
    usleep(100000);                 /* the handler is sleeping now */
    int64_t t0 = time_mono_us();
    pthread_t stopper;
    pthread_create(&stopper, NULL, stop_thread, srv);
    usleep(50000);
    /* while stopping: a new connection is not served */
    hres_t during;
    hreq(port, "GET", "/health", NULL, NULL, 0, &during);
    CHECK(during.status == 0 || during.status == 503);
    hres_free(&during);
    pthread_join(stopper, NULL);
    int64_t took = time_mono_us() - t0;
    pthread_join(th, NULL);
    CHECK_INT(a.r.status, 200);
    CHECK_STR(a.r.body.data, "{\"slow\":\"done\"}");
    CHECK(took >= 100000 && took < 3000000);
    hres_free(&a.r);
    /* stopped: nothing listens any more */
    hres_t r;
    hreq(port, "GET", "/health", NULL, NULL, 0, &r);
    CHECK_INT(r.status, 0);
    hres_free(&r);
}

static void h_sse(http_req_t *req, http_resp_t *resp)
{
    (void)req;
    http_stream_t *s = http_resp_stream(resp, 200, "text/event-stream", NULL, NULL);
    http_stream_sse(s, NULL, "hello", 5);
    http_stream_sse(s, "token", "line1\r\nline2", 12);
    http_stream_sse(s, NULL, "\n", 1);
    http_stream_sse(s, "bad\nname", "", 0);
    http_stream_write(s, "data: [DONE]\n\n", 14);
    http_stream_end(s);
    /* after end: refused, handle released */
}

static void h_file(http_req_t *req, http_resp_t *resp)
{
    const char *p = http_req_query(req, "p");
    if (http_resp_file(resp, 200, "text/plain", p) != 0)
        http_resp_error(resp, 404, "not_found", "No such file");
}

static void h_metrics(http_req_t *req, http_resp_t *resp)
{
    (void)req;
    extern http_server_t *metrics_srv;
    http_resp_json(resp, 200, http_server_metrics(metrics_srv));
}
http_server_t *metrics_srv;

static const http_route_t extra_routes[] = {
    {"GET", "/sse", h_sse, HTTP_AUTH_NONE, 0, 0},
    {"GET", "/file", h_file, HTTP_AUTH_NONE, 0, 0},
    {"GET", "/metrics", h_metrics, HTTP_AUTH_NONE, 0, 0},
    {"GET", "/limited", h_health, HTTP_AUTH_NONE, 1, 0},
};

TEST(http_stream_sse_format_file_metrics)
{
    log_set_level(LOG_ERROR);
    http_config_t cfg = htest_config();
    char err[256];
    kv_t *kv = kv_open(NULL, err, sizeof err);
    cfg.kv = kv;
    http_server_t *srv = http_server_start(&cfg, extra_routes, 4, err, sizeof err);
    REQUIRE(srv);
    metrics_srv = srv;
    int port = http_server_port(srv);
    hres_t r;
    hreq(port, "GET", "/sse", NULL, NULL, 0, &r);
    CHECK_INT(r.status, 200);
    CHECK_STR(r.body.data, "data: hello\n\n"
                           "event: token\ndata: line1\ndata: line2\n\n"
                           "data: \ndata: \n\n"
                           "event: bad name\ndata: \n\n"
                           "data: [DONE]\n\n");
    CHECK_STR(hres_header(&r, "Content-Type"), "text/event-stream");
    hres_free(&r);

    char *dir = test_tmpdir();
    char path[600], url[700];
    snprintf(path, sizeof path, "%s/f.txt", dir);
    FILE *f = fopen(path, "w");
    REQUIRE(f);
    for (int i = 0; i < 10000; i++) fprintf(f, "%04d\n", i % 10000);
    fclose(f);
    snprintf(url, sizeof url, "/file?p=%s", path);
    hreq(port, "GET", url, NULL, NULL, 0, &r);
    CHECK_INT(r.status, 200);
    CHECK_INT(r.body.len, 50000);
    CHECK(r.body.data && !strncmp(r.body.data + 49995, "9999\n", 5));
    CHECK_STR(hres_header(&r, "Content-Length"), "50000");
    hres_free(&r);
    snprintf(url, sizeof url, "/file?p=%s", dir);          /* a directory */
    hreq(port, "GET", url, NULL, NULL, 0, &r);
    CHECK_INT(r.status, 404);
    hres_free(&r);
    hreq(port, "GET", "/file?p=/nonexistent/x", NULL, NULL, 0, &r);
    CHECK_INT(r.status, 404);
    hres_free(&r);
    free(dir);

    hreq(port, "GET", "/limited", NULL, NULL, 0, &r);
    hres_free(&r);
    hreq(port, "GET", "/limited", NULL, NULL, 0, &r);   /* 429 unless a window boundary passed */
    int second = (int)r.status;
    hres_free(&r);
    hreq(port, "GET", "/nowhere", NULL, NULL, 0, &r);
    hres_free(&r);
    usleep(50000);
    hreq(port, "GET", "/metrics", NULL, NULL, 0, &r);
    json_t *m = json_loads(r.body.data, 0, NULL);
    REQUIRE(m);
    /* before this one: sse, 3 x file, 2 x limited, nowhere = 7 */
    CHECK_INT(json_integer_value(json_object_get(m, "requests")), 7);
    json_t *st = json_object_get(m, "status");
    CHECK_INT(json_integer_value(json_object_get(st, "2xx")), second == 429 ? 3 : 4);
    CHECK_INT(json_integer_value(json_object_get(st, "4xx")), second == 429 ? 4 : 3);
    CHECK_INT(json_integer_value(json_object_get(m, "rate_limited")), second == 429 ? 1 : 0);
    CHECK_INT(json_integer_value(json_object_get(m, "in_flight")), 1);   /* this request */
    json_t *lat = json_object_get(m, "latency_ms");
    json_int_t total = 0;
    const char *k;
    json_t *v;
    json_object_foreach(lat, k, v) total += json_integer_value(v);
    CHECK_INT(total, 7);
    json_decref(m);
    hres_free(&r);
    http_server_stop(srv);
    kv_close(kv);
}

/* Races on purpose: 40 streams, writers at full speed with tiny pauses, half of the clients
 * vanish at staggered moments. Every stream must get exactly one on_close, vanished ones
 * with client_gone, completed ones with the whole body. */
TEST(http_stream_disconnect_storm)
{
    int port;
    enum { N = 40, CHUNKS = 400 };
    jobs_reset(CHUNKS, 500, false);   /* >= 200 ms per stream; the last client leaves at 76 ms */
    http_server_t *srv = start(&port, 2000);
    REQUIRE(srv);
    multi_t mt;
    multi_open(&mt, port, N);
    buf_t want = {0};
    expected_body(&want, CHUNKS);
    bool dropped[N] = {0};
    /* every stream started (handler ran) before anyone leaves; then all writers go */
    for (int k = 0; k < 500 && atomic_load(&njobs) < N; k++) multi_pump(&mt, 10);
    REQUIRE(atomic_load(&njobs) == N);
    for (int i = 0; i < N; i++) atomic_store(&jobs[i].go, true);
    int64_t t0 = time_mono_us();
    int running = N;
    while (running && time_mono_us() - t0 < 10000000) {
        running = multi_pump(&mt, 5);
        int64_t el = (time_mono_us() - t0) / 1000;
        for (int i = 0; i < N; i += 2) {
            /* client i leaves after i * 2 ms */
            if (!dropped[i] && el >= i * 2) {
                curl_multi_remove_handle(mt.m, mt.e[i]);
                curl_easy_cleanup(mt.e[i]);
                mt.e[i] = curl_easy_init();    /* keep multi_close simple */
                curl_multi_add_handle(mt.m, mt.e[i]);
                dropped[i] = true;
            }
        }
    }
    /* the replacement handles have no URL: they fail at once */
    multi_pump(&mt, 100);
    for (int i = 0; i < atomic_load(&njobs); i++) wait_for(&jobs[i].closes, 1, 5000);
    int full = 0;
    for (int i = 1; i < N; i += 2) full += mt.body[i].data && !strcmp(mt.body[i].data, want.data);
    CHECK_INT(full, N / 2);
    multi_close(&mt);
    jobs_join();
    http_server_stop(srv);
    int closes_ok = 0, gone = 0, minus1 = 0, done = 0;
    int n = atomic_load(&njobs);
    CHECK_INT(n, N);
    for (int i = 0; i < n; i++) {
        closes_ok += atomic_load(&jobs[i].closes) == 1;
        gone += atomic_load(&jobs[i].client_gone);
        minus1 += atomic_load(&jobs[i].saw_minus1);
        done += atomic_load(&jobs[i].done);
    }
    CHECK_INT(closes_ok, N);
    CHECK_INT(done, N);
    /* the dropped half (minus any that finished before their client left) are gone */
    CHECK(gone >= N / 2 - 3 && gone <= N / 2);
    if (gone < N / 2 - 3 || gone > N / 2) printf("    gone = %d, minus1 = %d\n", gone, minus1);
    CHECK(minus1 <= gone);
    buf_free(&want);
}

/* A stream idle (suspended) for longer than the connection timeout is not cut off: the
 * idle timeout is for clients, not for a slow producer (an LLM thinking). */
TEST(http_stream_outlives_idle_timeout)
{
    log_set_level(LOG_ERROR);
    jobs_reset(5, 0, false);
    http_config_t cfg = htest_config();
    cfg.timeout_s = 1;
    char err[256];
    http_server_t *srv = http_server_start(&cfg, routes, 3, err, sizeof err);
    REQUIRE(srv);
    multi_t mt;
    multi_open(&mt, http_server_port(srv), 1);
    multi_pump(&mt, 200);
    REQUIRE(atomic_load(&njobs) == 1);
    multi_pump(&mt, 2300);          /* > 2 timeouts with nothing written */
    atomic_store(&jobs[0].go, true);
    CHECK_INT(multi_pump(&mt, 3000), 0);
    CHECK_STR(mt.body[0].data, "chunk-0\nchunk-1\nchunk-2\nchunk-3\nchunk-4\n");
    multi_close(&mt);
    jobs_join();
    CHECK(!atomic_load(&jobs[0].client_gone));
    http_server_stop(srv);
}
