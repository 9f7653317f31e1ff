/* http_server.c — benchmark target for bench/http_layer/run.sh: the real HTTP layer (router,
 * request id, CORS, access log, rate-limit machinery) serving a trivial JSON route, so the
 * figure measures src/http and not a handler. Built against build/librodeo.a by the script.
 * usage: http_server PORT THREADS [RATE_PER_MIN]  (LOG_LEVEL from the environment) */
#include "http/http.h"
#include "kv/kv.h"
#include "core/log.h"
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void h_health(http_req_t *req, http_resp_t *resp)
{
    (void)req;
    http_resp_json(resp, 200, json_pack("{s:s}", "status", "healthy"));
}

int main(int argc, char **argv)
{
    if (argc < 3) { fprintf(stderr, "usage: %s PORT THREADS [RATE]\n", argv[0]); return 2; }
    log_set_level(log_level_parse(getenv("LOG_LEVEL")));
    int rate = argc > 3 ? atoi(argv[3]) : 0;
    http_route_t routes[] = {{"GET", "/health", h_health, HTTP_AUTH_NONE, rate, 0}};
    /* block the stop signals in every thread (the pool inherits the mask); wait for them here */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    char err[256];
    kv_t *kv = kv_open(NULL, err, sizeof err);
    http_config_t cfg = {.host = "127.0.0.1", .port = atoi(argv[1]), .threads = atoi(argv[2]),
                         .max_body_bytes = 1 << 20, .timeout_s = 30, .cors_origins = "*",
                         .kv = kv, .rate_limit = rate > 0, .stop_timeout_ms = 1000};
    http_server_t *srv = http_server_start(&cfg, routes, 1, err, sizeof err);
    if (!srv) { fprintf(stderr, "start: %s\n", err); return 1; }
    int sig;
    sigwait(&set, &sig);
    http_server_stop(srv);
    kv_close(kv);
    return 0;
}
