/* stream.c — chunked streaming responses written from any thread.
 *
 * Writers append to a per-stream queue. libmicrohttpd pulls from it through the content
 * reader; when the queue is empty the reader suspends the connection (so an idle stream
 * holds no server thread and no busy loop) and the next write or end resumes it. One mutex
 * per stream orders "queue empty -> suspend" against "append -> resume", so a resume can
 * never be lost or precede its suspend.
 *
 * Lifetime: the stream is reference-counted, three owners from birth: the writer's handle
 * (until http_stream_end), the MHD response (until MHD frees it; dropped at once if no
 * response could be made) and the request (until its completed callback). A writer that
 * finishes before the handler has even returned therefore cannot free it under the server,
 * whatever order MHD frees the response and completes the request in. on_close runs once, from
 * the request-completed callback (or when the response could not be queued), outside the
 * stream lock so it may call back into http_stream_*. */
#include "http/internal.h"
#include "core/log.h"
#include <stdlib.h>
#include <string.h>

#define STREAM_BLOCK (16 * 1024)

void stream_unref(http_stream_t *s)
{
    pthread_mutex_lock(&s->mu);
    int r = --s->refs;
    pthread_mutex_unlock(&s->mu);
    if (r > 0) return;
    buf_free(&s->q);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

static void server_list_remove(http_stream_t *s)
{
    http_server_t *srv = s->srv;
    pthread_mutex_lock(&srv->streams_mu);
    if (s->prev || s->next || srv->streams == s) {
        if (s->prev) s->prev->next = s->next;
        else srv->streams = s->next;
        if (s->next) s->next->prev = s->prev;
        s->prev = s->next = NULL;
        atomic_fetch_sub(&srv->nstreams, 1);
    }
    pthread_mutex_unlock(&srv->streams_mu);
}

http_stream_t *http_resp_stream(http_resp_t *resp, int status, const char *content_type,
                                http_stream_close_fn on_close, void *ud)
{
    if (resp->status) {
        log_warn("http: stream after a response for %s %s ignored", resp->req->method, resp->req->path);
        return NULL;
    }
    http_req_t *req = resp->req;
    http_stream_t *s = xcalloc(1, sizeof *s);
    pthread_mutex_init(&s->mu, NULL);
    s->refs = 3;
    s->conn = req->conn;
    s->srv = req->srv;
    s->on_close = on_close;
    s->ud = ud;
    resp->status = status;
    resp->content_type = content_type ? arena_strdup(&req->arena, content_type) : NULL;
    resp->stream = s;
    req->stream = s;
    http_server_t *srv = req->srv;
    pthread_mutex_lock(&srv->streams_mu);
    s->next = srv->streams;
    if (srv->streams) srv->streams->prev = s;
    srv->streams = s;
    atomic_fetch_add(&srv->nstreams, 1);
    pthread_mutex_unlock(&srv->streams_mu);
    return s;
}

int http_stream_write(http_stream_t *s, const void *data, size_t len)
{
    if (!s) return -1;
    pthread_mutex_lock(&s->mu);
    if (s->gone || s->ended) {
        pthread_mutex_unlock(&s->mu);
        return -1;
    }
    if (len) {
        buf_append(&s->q, data, len);
        if (s->suspended) {
            s->suspended = false;
            MHD_resume_connection(s->conn);
        }
    }
    pthread_mutex_unlock(&s->mu);
    return 0;
}

int http_stream_sse(http_stream_t *s, const char *event, const char *data, size_t len)
{
    if (!s) return -1;
    /* built whole and queued with one write, so events from several threads never interleave */
    buf_t b = {0};
    if (event && *event) {
        buf_puts(&b, "event: ");
        for (const char *p = event; *p; p++)
            buf_putc(&b, (*p == '\n' || *p == '\r') ? ' ' : *p);
        buf_putc(&b, '\n');
    }
    size_t i = 0;
    do {
        size_t j = i;
        while (j < len && data[j] != '\n') j++;
        size_t end = j;
        if (end > i && data[end - 1] == '\r') end--;
        buf_puts(&b, "data: ");
        buf_append(&b, data + i, end - i);
        buf_putc(&b, '\n');
        i = j + 1;
    } while (i <= len);   /* a trailing \n yields a last empty data line: "\n" survives */
    buf_putc(&b, '\n');
    int rc = http_stream_write(s, b.data, b.len);
    buf_free(&b);
    return rc;
}

/* Marks the stream ended and wakes its connection; caller holds s->mu. */
static void stream_end_locked(http_stream_t *s)
{
    s->ended = true;
    if (s->suspended) {
        s->suspended = false;
        MHD_resume_connection(s->conn);
    }
}

void http_stream_end(http_stream_t *s)
{
    if (!s) return;
    pthread_mutex_lock(&s->mu);
    bool release = !s->user_released;
    s->user_released = true;
    if (!s->gone && !s->ended) stream_end_locked(s);
    pthread_mutex_unlock(&s->mu);
    if (release) stream_unref(s);
}

/* libmicrohttpd content reader: hands out queued bytes, or suspends when there are none. */
static ssize_t stream_reader(void *cls, uint64_t pos, char *out, size_t max)
{
    (void)pos;
    http_stream_t *s = cls;
    pthread_mutex_lock(&s->mu);
    size_t avail = s->q.len - s->qoff;
    if (avail) {
        size_t n = avail < max ? avail : max;
        memcpy(out, s->q.data + s->qoff, n);
        s->qoff += n;
        if (s->qoff == s->q.len) { buf_reset(&s->q); s->qoff = 0; }
        else if (s->qoff > 65536 && s->qoff * 2 > s->q.len) {
            /* keep the queue from growing when a writer outpaces the socket */
            memmove(s->q.data, s->q.data + s->qoff, s->q.len - s->qoff);
            s->q.len -= s->qoff;
            s->q.data[s->q.len] = 0;
            s->qoff = 0;
        }
        pthread_mutex_unlock(&s->mu);
        return (ssize_t)n;
    }
    if (s->ended || s->gone) {
        pthread_mutex_unlock(&s->mu);
        return MHD_CONTENT_READER_END_OF_STREAM;
    }
    s->suspended = true;
    MHD_suspend_connection(s->conn);
    pthread_mutex_unlock(&s->mu);
    return 0;
}

static void stream_reader_free(void *cls) { stream_unref(cls); }

struct MHD_Response *stream_make_response(http_stream_t *s)
{
    struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, STREAM_BLOCK,
                                                               stream_reader, s, stream_reader_free);
    if (r) {
        pthread_mutex_lock(&s->mu);
        s->attached = true;   /* the response's reference now belongs to MHD */
        pthread_mutex_unlock(&s->mu);
    }
    return r;
}

/* Runs on_close once. forced = ended by the server (stop), reported as client_gone. */
static void stream_close_once(http_stream_t *s, bool client_gone)
{
    pthread_mutex_lock(&s->mu);
    s->gone = true;
    s->suspended = false;
    bool call = !s->closed_called;
    s->closed_called = true;
    pthread_mutex_unlock(&s->mu);
    server_list_remove(s);
    if (call && s->on_close) s->on_close(s->ud, client_gone);
}

void stream_finish(http_stream_t *s, bool client_gone)
{
    /* a stream the server cut short at stop reports client_gone: nobody reads the rest */
    pthread_mutex_lock(&s->mu);
    bool forced = s->forced;
    pthread_mutex_unlock(&s->mu);
    stream_close_once(s, client_gone || forced);
}

void stream_abort(http_stream_t *s)
{
    stream_close_once(s, true);
    pthread_mutex_lock(&s->mu);
    bool attached = s->attached;
    pthread_mutex_unlock(&s->mu);
    if (!attached) stream_unref(s);   /* the response reference nobody took */
}

/* Server stop: end every open stream so its connection can finish. */
void stream_end_all(http_server_t *srv)
{
    pthread_mutex_lock(&srv->streams_mu);
    for (http_stream_t *s = srv->streams; s; s = s->next) {
        pthread_mutex_lock(&s->mu);
        if (!s->ended && !s->gone) {
            s->forced = true;
            stream_end_locked(s);
        }
        pthread_mutex_unlock(&s->mu);
    }
    pthread_mutex_unlock(&srv->streams_mu);
}
