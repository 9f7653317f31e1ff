/* defer.c — responses completed by another thread (see http_resp_defer in http.h).
 *
 * The handler defers and returns; the pipeline then calls defer_take, which suspends the
 * connection unless the work is already done. http_deferred_done marks the response done
 * and resumes the connection; libmicrohttpd then calls the access handler again, and
 * defer_take hands the finished response to the pipeline to send. One mutex orders
 * "not done -> suspend" against "done -> resume", so a resume is never lost and never
 * precedes its suspend (the same rule as stream.c).
 *
 * Lifetime: two references, the worker's (dropped by http_deferred_done) and the request's
 * (dropped when the request completes), so neither side frees the handle under the other. */
#include "http/internal.h"
#include "core/log.h"
#include <stdlib.h>
#include <string.h>

struct http_deferred {
    pthread_mutex_t mu;
    int  refs;
    bool done;          /* http_deferred_done ran */
    bool suspended;     /* connection suspended waiting for done */
    struct MHD_Connection *conn;
    http_resp_t resp;   /* built by the worker */
};

static void defer_unref(http_deferred_t *d)
{
    pthread_mutex_lock(&d->mu);
    int r = --d->refs;
    pthread_mutex_unlock(&d->mu);
    if (r > 0) return;
    resp_release(&d->resp);   /* a no-op once sent; frees the body of one never sent */
    pthread_mutex_destroy(&d->mu);
    free(d);
}

http_deferred_t *http_resp_defer(http_resp_t *resp)
{
    http_req_t *req = resp->req;
    if (resp->status || resp->stream || req->deferred) {
        log_warn("http: defer after a response for %s %s ignored", req->method, req->path);
        return NULL;
    }
    http_deferred_t *d = xcalloc(1, sizeof *d);
    pthread_mutex_init(&d->mu, NULL);
    d->refs = 2;
    d->conn = req->conn;
    d->resp = *resp;       /* headers set so far come along */
    d->resp.fd = -1;
    memset(resp->headers, 0, sizeof resp->headers);
    resp->nheaders = 0;
    req->deferred = d;
    return d;
}

http_resp_t *http_deferred_resp(http_deferred_t *d) { return d ? &d->resp : NULL; }

void http_deferred_done(http_deferred_t *d)
{
    if (!d) return;
    pthread_mutex_lock(&d->mu);
    d->done = true;
    if (d->suspended) {
        d->suspended = false;
        MHD_resume_connection(d->conn);
    }
    pthread_mutex_unlock(&d->mu);
    defer_unref(d);
}

http_resp_t *defer_take(http_deferred_t *d)
{
    pthread_mutex_lock(&d->mu);
    if (!d->done) {
        if (!d->suspended) {
            d->suspended = true;
            MHD_suspend_connection(d->conn);
        }
        pthread_mutex_unlock(&d->mu);
        return NULL;
    }
    pthread_mutex_unlock(&d->mu);
    return &d->resp;
}

void defer_release(http_deferred_t *d) { defer_unref(d); }
