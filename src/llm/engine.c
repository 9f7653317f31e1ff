/* engine.c — the streaming LLM engine: one thread drives every upstream request through a
 * curl multi handle, so 200 concurrent chats cost 200 sockets, not 200 threads.
 *
 * Other threads talk to the event thread through a mutex-protected inbox (new requests,
 * cancellations) and curl_multi_wakeup(). Request state is touched only by the event
 * thread after submission, so callbacks run there without engine locks held. Retry delays
 * are timers in the same loop (the poll timeout is the nearest due time). */
#include "llm/llm.h"
#include "llm/sse.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/timeutil.h"
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct llm_req {
    struct llm_req *next;           /* inbox / active list link */
    uint64_t  id;
    char     *body;
    llm_callbacks_t cb;
    CURL     *easy;
    struct curl_slist *headers;
    sse_parser_t sse;
    long      http_status;
    int       first_token;          /* a delta reached the client */
    int       saw_done;             /* [DONE] or a finish_reason */
    int       failed;               /* our write callback aborted: result holds why */
    int       attempt;
    int64_t   due_us;               /* waiting for a retry until then (0 = running) */
    int64_t   last_io_us;           /* monotonic time of the last byte (idle timeout) */
    buf_t     errbody;              /* first bytes of a non-200 response */
    long      retry_after_s;
    llm_result_t result;
} llm_req_t;

struct llm_engine {
    llm_config_t cfg;
    char     *base_url, *api_key, *auth_header;
    CURLM    *multi;
    pthread_t thread;
    pthread_mutex_t mu;
    llm_req_t *inbox;               /* submitted, not yet seen by the thread */
    uint64_t *cancels;              /* ids to cancel */
    size_t    ncancels, cancels_cap;
    int       stop;
    uint64_t  next_id;
    int       active;               /* inbox + waiting + running */
    llm_req_t *reqs;                /* owned by the event thread */
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

static void req_free(llm_req_t *r)
{
    if (r->easy) curl_easy_cleanup(r->easy);
    curl_slist_free_all(r->headers);
    sse_free(&r->sse);
    buf_free(&r->errbody);
    free(r->body);
    free(r);
}

/* ---- response handling (event thread) ---- */

static void fail(llm_req_t *r, int status, const char *fmt, const char *detail)
{
    if (r->failed) return;
    r->failed = 1;
    r->result.status = status;
    snprintf(r->result.message, sizeof r->result.message, fmt, detail ? detail : "");
}

static int on_event(void *ud, const char *event, const char *data, size_t len)
{
    llm_req_t *r = ud;
    (void)event;
    llm_chunk_t c;
    char err[200];
    if (llm_chunk_parse(data, len, &c, err, sizeof err) != 0) {
        fail(r, LLM_ERR_PROTOCOL, "%s", err);
        return 1;
    }
    if (c.done) r->saw_done = 1;
    if (c.delta_len) {
        r->first_token = 1;
        r->cb.on_delta(r->cb.ud, c.delta, c.delta_len);
    }
    if (c.finish_reason[0]) {
        r->saw_done = 1;
        memcpy(r->result.finish_reason, c.finish_reason, sizeof c.finish_reason);
    }
    if (c.prompt_tokens >= 0) r->result.prompt_tokens = c.prompt_tokens;
    if (c.completion_tokens >= 0) r->result.completion_tokens = c.completion_tokens;
    llm_chunk_free(&c);
    return 0;
}

static size_t on_header(char *buf, size_t size, size_t n, void *ud)
{
    llm_req_t *r = ud;
    size_t len = size * n;
    r->last_io_us = time_mono_us();
    if (len > 12 && !strncasecmp(buf, "retry-after:", 12)) {
        long v = strtol(buf + 12, NULL, 10);
        if (v > 0) r->retry_after_s = v;
    }
    return len;
}

static size_t on_write(char *ptr, size_t size, size_t n, void *ud)
{
    llm_req_t *r = ud;
    size_t len = size * n;
    r->last_io_us = time_mono_us();
    if (!r->http_status) curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &r->http_status);
    if (r->http_status != 200) {
        if (r->errbody.len < 2048) buf_append(&r->errbody, ptr, len < 2048 ? len : 2048);
        return len;
    }
    int rc = sse_feed(&r->sse, ptr, len, on_event, r);
    if (rc == -1) fail(r, LLM_ERR_PROTOCOL, "%sstream line too long", "");
    return rc ? 0 : len;
}

static void req_start(llm_engine_t *e, llm_req_t *r)
{
    r->attempt++;
    r->due_us = 0;
    r->last_io_us = time_mono_us();
    r->http_status = 0;
    r->retry_after_s = 0;
    buf_reset(&r->errbody);
    sse_free(&r->sse);
    sse_init(&r->sse);
    if (r->easy) curl_easy_cleanup(r->easy);
    CURL *c = r->easy = curl_easy_init();
    buf_t url = {0};
    buf_printf(&url, "%s/chat/completions", e->base_url);
    curl_easy_setopt(c, CURLOPT_URL, url.data);
    buf_free(&url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, r->headers);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, r->body);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_PRIVATE, r);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, e->cfg.connect_timeout_ms);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, e->cfg.total_timeout_s);
    curl_multi_add_handle(e->multi, c);
}

static int retryable(const llm_req_t *r)
{
    int s = r->result.status;
    return !r->first_token && (s == LLM_ERR_CONNECT || s == LLM_ERR_TIMEOUT || s == LLM_ERR_RATE_LIMIT ||
                               s == LLM_ERR_UPSTREAM || s == LLM_ERR_CUT);
}

/* Pulls a human message out of an OpenAI-style error body, for the log. */
static void error_message(llm_req_t *r, char *out, size_t cap)
{
    json_t *j = json_loadb(r->errbody.data ? r->errbody.data : "", r->errbody.len, 0, NULL);
    const char *m = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
    snprintf(out, cap, "%.150s", m ? m : "(no error message)");
    json_decref(j);
}

static void finish(llm_engine_t *e, llm_req_t *r, int status)
{
    r->result.status = status;
    r->result.http_status = r->http_status;
    r->result.attempts = r->attempt;
    /* Unlink before the callback: it may submit new requests (they go to the inbox). */
    for (llm_req_t **pp = &e->reqs; *pp; pp = &(*pp)->next)
        if (*pp == r) { *pp = r->next; break; }
    r->cb.on_done(r->cb.ud, &r->result);
    pthread_mutex_lock(&e->mu);
    e->active--;
    pthread_mutex_unlock(&e->mu);
    req_free(r);
}

/* Classifies a finished transfer, then either finishes the request or schedules a retry. */
static void transfer_done(llm_engine_t *e, llm_req_t *r, CURLcode code)
{
    curl_multi_remove_handle(e->multi, r->easy);
    char msg[200];
    if (!r->http_status) curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &r->http_status);
    if (r->failed) {
        /* status and message already set by the write path */
    } else if (code == CURLE_COULDNT_CONNECT || code == CURLE_COULDNT_RESOLVE_HOST ||
               code == CURLE_SSL_CONNECT_ERROR) {
        fail(r, LLM_ERR_CONNECT, "cannot connect: %s", curl_easy_strerror(code));
    } else if (code == CURLE_OPERATION_TIMEDOUT) {
        fail(r, LLM_ERR_TIMEOUT, "timed out: %s", r->first_token ? "stream stalled" : "no response");
    } else if (code != CURLE_OK) {
        fail(r, r->http_status == 200 ? LLM_ERR_CUT : LLM_ERR_UPSTREAM, "transfer failed: %s",
             curl_easy_strerror(code));
    } else if (r->http_status == 401 || r->http_status == 403) {
        error_message(r, msg, sizeof msg);
        fail(r, LLM_ERR_AUTH, "authentication rejected: %s", msg);
    } else if (r->http_status == 429) {
        error_message(r, msg, sizeof msg);
        fail(r, LLM_ERR_RATE_LIMIT, "rate limited: %s", msg);
    } else if (r->http_status >= 500) {
        error_message(r, msg, sizeof msg);
        fail(r, LLM_ERR_UPSTREAM, "upstream error: %s", msg);
    } else if (r->http_status != 200) {
        error_message(r, msg, sizeof msg);
        fail(r, LLM_ERR_BAD_REQUEST, "request rejected: %s", msg);
    } else if (!r->saw_done) {
        fail(r, LLM_ERR_CUT, "%sstream ended before [DONE]", "");
    }
    if (!r->failed) { finish(e, r, LLM_OK); return; }
    int status = r->result.status;
    if (retryable(r) && r->attempt <= e->cfg.max_retries) {
        long delay = e->cfg.backoff_ms << (r->attempt - 1);
        if (r->retry_after_s > 0 && r->retry_after_s * 1000 > delay) delay = r->retry_after_s * 1000;
        if (delay > 10000) delay = 10000;
        log_info("llm: request %llu attempt %d failed (%s: %s, HTTP %ld); retrying in %ld ms",
                 (unsigned long long)r->id, r->attempt, llm_status_name(status), r->result.message,
                 r->http_status, delay);
        r->failed = 0;
        r->result.status = LLM_OK;
        r->result.message[0] = 0;
        r->saw_done = 0;
        r->due_us = time_mono_us() + delay * 1000;
        return;
    }
    log_warn("llm: request %llu failed after %d attempt(s): %s: %s (HTTP %ld)", (unsigned long long)r->id,
             r->attempt, llm_status_name(status), r->result.message, r->http_status);
    finish(e, r, status);
}

static void cancel_req(llm_engine_t *e, llm_req_t *r, const char *why)
{
    if (!r->due_us && r->easy) curl_multi_remove_handle(e->multi, r->easy);
    r->failed = 1;
    snprintf(r->result.message, sizeof r->result.message, "%s", why);
    finish(e, r, LLM_CANCELLED);
}

static void *event_loop(void *arg)
{
    llm_engine_t *e = arg;
    for (;;) {
        pthread_mutex_lock(&e->mu);
        llm_req_t *in = e->inbox;
        e->inbox = NULL;
        size_t nc = e->ncancels;
        uint64_t *cancels = NULL;
        if (nc) { cancels = e->cancels; e->cancels = NULL; e->ncancels = e->cancels_cap = 0; }
        int stop = e->stop;
        pthread_mutex_unlock(&e->mu);
        while (in) {   /* inbox is LIFO; order does not matter for independent requests */
            llm_req_t *r = in;
            in = in->next;
            r->next = e->reqs;
            e->reqs = r;
            req_start(e, r);
        }
        for (size_t i = 0; i < nc; i++)
            for (llm_req_t *r = e->reqs; r; r = r->next)
                if (r->id == cancels[i]) { cancel_req(e, r, "cancelled by client"); break; }
        free(cancels);
        if (stop) {
            while (e->reqs) cancel_req(e, e->reqs, "engine stopping");
            break;
        }
        int running;
        curl_multi_perform(e->multi, &running);
        CURLMsg *m;
        int left;
        while ((m = curl_multi_info_read(e->multi, &left))) {
            if (m->msg != CURLMSG_DONE) continue;
            llm_req_t *r = NULL;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
            transfer_done(e, r, m->data.result);
        }
        int64_t now = time_mono_us(), next = now + 1000000, idle = e->cfg.idle_timeout_ms * 1000;
        for (llm_req_t *r = e->reqs, *nx; r; r = nx) {
            nx = r->next;
            if (!r->due_us) {   /* running: idle timer (curl's low-speed check is 1 s coarse) */
                if (now - r->last_io_us >= idle) transfer_done(e, r, CURLE_OPERATION_TIMEDOUT);
                else if (r->last_io_us + idle < next) next = r->last_io_us + idle;
                continue;
            }
            if (r->due_us <= now) req_start(e, r);
            else if (r->due_us < next) next = r->due_us;
        }
        int timeout_ms = (int)((next - now) / 1000);
        if (timeout_ms < 0) timeout_ms = 0;
        curl_multi_poll(e->multi, NULL, 0, timeout_ms, NULL);
    }
    return NULL;
}

llm_engine_t *llm_engine_start(const llm_config_t *cfg, char *err, size_t errlen)
{
    if (!cfg->base_url || !*cfg->base_url) { snprintf(err, errlen, "no base URL"); return NULL; }
    pthread_once(&curl_once, curl_init_once);
    llm_engine_t *e = xcalloc(1, sizeof *e);
    e->cfg = *cfg;
    size_t bl = strlen(cfg->base_url);
    while (bl && cfg->base_url[bl - 1] == '/') bl--;
    e->base_url = xstrndup(cfg->base_url, bl);
    if (cfg->api_key && *cfg->api_key) {
        buf_t a = {0};
        buf_printf(&a, "Authorization: Bearer %s", cfg->api_key);
        e->auth_header = buf_steal(&a);
    }
    if (e->cfg.connect_timeout_ms <= 0) e->cfg.connect_timeout_ms = 5000;
    if (e->cfg.idle_timeout_ms <= 0) e->cfg.idle_timeout_ms = 60000;
    if (e->cfg.total_timeout_s <= 0) e->cfg.total_timeout_s = 600;
    if (e->cfg.max_retries < 0) e->cfg.max_retries = 0;
    if (e->cfg.backoff_ms <= 0) e->cfg.backoff_ms = 250;
    e->cfg.base_url = e->cfg.api_key = NULL;
    e->next_id = 1;
    pthread_mutex_init(&e->mu, NULL);
    e->multi = curl_multi_init();
    curl_multi_setopt(e->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 0L);
    if (pthread_create(&e->thread, NULL, event_loop, e) != 0) {
        snprintf(err, errlen, "cannot start LLM event thread");
        curl_multi_cleanup(e->multi);
        free(e->base_url); free(e->auth_header); free(e);
        return NULL;
    }
    return e;
}

void llm_engine_stop(llm_engine_t *e)
{
    if (!e) return;
    pthread_mutex_lock(&e->mu);
    e->stop = 1;
    pthread_mutex_unlock(&e->mu);
    curl_multi_wakeup(e->multi);
    pthread_join(e->thread, NULL);
    /* Anything submitted after the loop exited is cancelled here. */
    while (e->inbox) {
        llm_req_t *r = e->inbox;
        e->inbox = r->next;
        r->result.status = LLM_CANCELLED;
        snprintf(r->result.message, sizeof r->result.message, "engine stopping");
        r->cb.on_done(r->cb.ud, &r->result);
        req_free(r);
    }
    curl_multi_cleanup(e->multi);
    free(e->cancels);
    pthread_mutex_destroy(&e->mu);
    if (e->auth_header) memset(e->auth_header, 0, strlen(e->auth_header));
    free(e->auth_header);
    free(e->base_url);
    free(e);
}

int llm_engine_active(llm_engine_t *e)
{
    pthread_mutex_lock(&e->mu);
    int n = e->active;
    pthread_mutex_unlock(&e->mu);
    return n;
}

uint64_t llm_chat_stream(llm_engine_t *e, const char *model, const json_t *messages,
                         const llm_params_t *params, const llm_callbacks_t *cb)
{
    llm_req_t *r = xcalloc(1, sizeof *r);
    r->body = llm_chat_body(model, messages, params);
    r->cb = *cb;
    r->result.prompt_tokens = r->result.completion_tokens = -1;
    r->headers = curl_slist_append(NULL, "Content-Type: application/json");
    r->headers = curl_slist_append(r->headers, "Accept: text/event-stream");
    if (e->auth_header) r->headers = curl_slist_append(r->headers, e->auth_header);
    sse_init(&r->sse);
    pthread_mutex_lock(&e->mu);
    uint64_t id = r->id = e->next_id++;
    if (e->stop) {
        pthread_mutex_unlock(&e->mu);
        r->result.status = LLM_CANCELLED;
        snprintf(r->result.message, sizeof r->result.message, "engine stopping");
        r->cb.on_done(r->cb.ud, &r->result);
        req_free(r);
        return id;
    }
    r->next = e->inbox;
    e->inbox = r;
    e->active++;
    pthread_mutex_unlock(&e->mu);
    curl_multi_wakeup(e->multi);
    return id;
}

void llm_cancel(llm_engine_t *e, uint64_t id)
{
    pthread_mutex_lock(&e->mu);
    if (e->ncancels == e->cancels_cap) {
        e->cancels_cap = e->cancels_cap ? e->cancels_cap * 2 : 16;
        e->cancels = xrealloc(e->cancels, e->cancels_cap * sizeof *e->cancels);
    }
    e->cancels[e->ncancels++] = id;
    pthread_mutex_unlock(&e->mu);
    curl_multi_wakeup(e->multi);
}
