/* metrics.c — request counters for /metrics-style endpoints and load tests: totals, status
 * classes and a latency histogram, all relaxed atomics (no lock on the request path). */
#include "http/internal.h"
#include <stdio.h>

static const int64_t bounds_ms[] = {1, 5, 25, 100, 500, 2500, 10000};
#define NBOUNDS (sizeof bounds_ms / sizeof *bounds_ms)

void metrics_record(http_server_t *srv, int status, int64_t duration_us)
{
    atomic_fetch_add_explicit(&srv->m_requests, 1, memory_order_relaxed);
    int cls = status >= 100 && status < 600 ? status / 100 : 0;
    atomic_fetch_add_explicit(&srv->m_class[cls], 1, memory_order_relaxed);
    size_t b = 0;
    while (b < NBOUNDS && duration_us > bounds_ms[b] * 1000) b++;
    atomic_fetch_add_explicit(&srv->m_latency[b], 1, memory_order_relaxed);
    if (status == 429) atomic_fetch_add_explicit(&srv->m_rate_limited, 1, memory_order_relaxed);
}

json_t *http_server_metrics(const http_server_t *srv)
{
    http_server_t *s = (http_server_t *)srv;   /* atomic loads need a non-const object */
    json_t *classes = json_object();
    static const char *names[] = {"aborted", "1xx", "2xx", "3xx", "4xx", "5xx"};
    for (int i = 0; i < 6; i++)
        json_object_set_new(classes, names[i], json_integer((json_int_t)atomic_load(&s->m_class[i])));
    json_t *lat = json_object();
    for (size_t b = 0; b <= NBOUNDS; b++) {
        char key[32];
        if (b < NBOUNDS) snprintf(key, sizeof key, "le_%lld", (long long)bounds_ms[b]);
        else snprintf(key, sizeof key, "inf");
        json_object_set_new(lat, key, json_integer((json_int_t)atomic_load(&s->m_latency[b])));
    }
    return json_pack("{s:I, s:o, s:o, s:i, s:i, s:I}",
                     "requests", (json_int_t)atomic_load(&s->m_requests),
                     "status", classes, "latency_ms", lat,
                     "in_flight", atomic_load(&s->inflight),
                     "streams_open", atomic_load(&s->nstreams),
                     "rate_limited", (json_int_t)atomic_load(&s->m_rate_limited));
}
