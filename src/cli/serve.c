/* serve.c — `rodeo serve`: the HTTP API (+ web app), until SIGTERM/SIGINT, then a graceful
 * stop: stop accepting, let in-flight requests finish, close the store. */
#include "api/api.h"
#include "api/inference.h"
#include "cli/cli.h"
#include "core/config.h"
#include "core/log.h"
#include "core/str.h"
#include "core/timeutil.h"
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/stat.h>

static void usage(FILE *out)
{
    fprintf(out,
            "usage: rodeo serve [--host ADDR] [--port N] [--threads N] [--role all|inference]\n\n"
            "Runs the HTTP API on HOST:PORT (env HOST, default 0.0.0.0; PORT, default 8000) with\n"
            "data under RODEO_DATA_DIR (default ./data). Stops gracefully on SIGTERM/SIGINT.\n"
            "--role inference serves only the inference API (/v1/*, /health, /ready): no store.\n");
}

static int flag_int(const char *v, int lo, int hi, int *out)
{
    int64_t n;
    if (!v || !str_to_i64(v, &n) || n < lo || n > hi) return -1;
    *out = (int)n;
    return 0;
}

/* The server settings both roles share, from g_config; tmpdir is created under the data dir. */
static http_config_t http_config_from_env(char *tmpdir, size_t cap, kv_t *kv)
{
    snprintf(tmpdir, cap, "%s/tmp", g_config.data_dir);
    mkdir(g_config.data_dir, 0700);
    mkdir(tmpdir, 0700);
    return (http_config_t){
        .host = g_config.host, .port = g_config.port, .threads = g_config.http_threads,
        .max_body_bytes = g_config.max_body_bytes, .max_upload_bytes = g_config.max_upload_bytes,
        .upload_tmp_dir = tmpdir, .timeout_s = g_config.request_timeout_s,
        .cors_origins = g_config.cors_origins, .trust_proxy = g_config.trust_proxy,
        .rate_limit = g_config.rate_limit_enabled && kv, .kv = kv,
    };
}

/* `--role inference`: the models and the inference routes only (see api/inference.h). */
static int serve_inference(int64_t t0, sigset_t *stop)
{
    char err[512] = "", tmpdir[1024];
    api_inference_init(err, sizeof err);
    kv_t *kv = kv_open(g_config.redis_url, err, sizeof err);
    size_t nroutes;
    const http_route_t *routes = api_inference_routes(&nroutes);
    http_config_t hc = http_config_from_env(tmpdir, sizeof tmpdir, kv);
    http_server_t *srv = kv ? http_server_start(&hc, routes, nroutes, err, sizeof err) : NULL;
    if (!srv) {
        fprintf(stderr, "rodeo serve: %s\n", err);
        if (kv) kv_close(kv);
        api_inference_shutdown();
        return 1;
    }
    log_info("rodeo %s inference tier listening on http://%s:%d (started in %.1f ms)", RODEO_VERSION,
             g_config.host, http_server_port(srv), (double)(time_mono_us() - t0) / 1000.0);
    int sig = 0;
    sigwait(stop, &sig);
    http_server_stop(srv);
    kv_close(kv);
    api_inference_shutdown();
    log_info("stopped");
    return 0;
}

int cmd_serve(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) { usage(stdout); return 0; }
    if (cli_init_config() != 0) return 1;
    int inference_only = 0;
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(argv[i], "--port") && flag_int(v, 0, 65535, &g_config.port) == 0) i++;
        else if (!strcmp(argv[i], "--threads") && flag_int(v, 1, 1024, &g_config.http_threads) == 0) i++;
        else if (!strcmp(argv[i], "--host") && v) { free(g_config.host); g_config.host = strdup(v); i++; }
        else if (!strcmp(argv[i], "--role") && v && (!strcmp(v, "all") || !strcmp(v, "inference"))) { inference_only = !strcmp(v, "inference"); i++; }
        else { fprintf(stderr, "rodeo serve: bad option '%s'\n", argv[i]); usage(stderr); return 2; }
    }
    int64_t t0 = time_mono_us();

    /* Block the stop signals in every thread; this one waits for them with sigwait. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    char err[512];
    if (inference_only) return serve_inference(t0, &stop);
    if (api_init(err, sizeof err) != 0) {
        fprintf(stderr, "rodeo serve: %s\n", err);
        api_shutdown();
        return 1;
    }
    char tmpdir[1024];
    size_t nroutes;
    const http_route_t *routes = api_routes(&nroutes);
    http_config_t hc = http_config_from_env(tmpdir, sizeof tmpdir, g_api.kv);
    hc.authenticate = api_authenticate;
    http_server_t *srv = http_server_start(&hc, routes, nroutes, err, sizeof err);
    if (!srv) {
        fprintf(stderr, "rodeo serve: %s\n", err);
        api_shutdown();
        return 1;
    }
    log_info("rodeo %s listening on http://%s:%d (store %s, started in %.1f ms)", RODEO_VERSION,
             g_config.host, http_server_port(srv), store_backend(g_api.store),
             (double)(time_mono_us() - t0) / 1000.0);
    int sig = 0;
    sigwait(&stop, &sig);
    log_info("received %s, shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    http_server_drain(srv);
    api_quiesce();   /* deferred responses still reach their (suspended, live) connections */
    http_server_stop(srv);
    api_shutdown();
    log_info("stopped");
    return 0;
}
