/* ratelimit.c — per-route, per-client fixed windows of 60 s kept in the kv service.
 * The key is "rl:<METHOD> <pattern>|u:<user id>" for signed-in users and
 * "rl:<METHOD> <pattern>|a:<address>" otherwise, so users behind one proxy do not share a
 * bucket (flaw F23) while anonymous clients and failed sign-ins are still counted per
 * address. A kv outage fails open: better to serve than to lock everyone out. */
#include "http/internal.h"
#include "core/log.h"
#include "kv/kv.h"
#include <stdio.h>
#include <time.h>

#define WINDOW_S 60

int ratelimit_check(http_server_t *srv, http_req_t *req, const http_route_t *route,
                    bool by_address, char *detail, size_t detail_len)
{
    if (!srv->cfg.rate_limit || !srv->cfg.kv || route->rate_per_min <= 0) return 0;
    char key[512];
    if (!by_address && req->principal.user_id > 0)
        snprintf(key, sizeof key, "rl:%s %s|u:%lld", route->method, route->pattern,
                 (long long)req->principal.user_id);
    else
        snprintf(key, sizeof key, "rl:%s %s|a:%s", route->method, route->pattern, req->client_ip);
    int64_t count = 0, reset_at = 0;
    if (kv_incr_window(srv->cfg.kv, key, WINDOW_S, &count, &reset_at) != 0) {
        log_warn("http: rate-limit store unavailable; request allowed");
        return 0;
    }
    int limit = route->rate_per_min;
    req->rl_limit = limit;
    req->rl_remaining = count >= limit ? 0 : limit - count;
    req->rl_reset = reset_at;
    if (count > limit) {
        snprintf(detail, detail_len, "Rate limit exceeded: %d per 1 minute", limit);
        return 429;
    }
    return 0;
}
