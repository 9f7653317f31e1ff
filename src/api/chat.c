/* chat.c — POST /api/chat: validates the turn, stores the question, retrieves passages,
 * then streams the answer: from the LLM engine (deltas written to the client as they
 * arrive, no server thread held while waiting) or, with no LLM configured, the extractive
 * answer. Wire formats (contract §2): raw text/plain chunks by default; with
 * Accept: text/event-stream, SSE events {"delta": ...}, a final event with ids, sources and
 * usage, then [DONE]; failures become an error event (SSE) or a marked error line (raw) and
 * are never stored as the answer.
 *
 * Lifetime: a chat_session_t is shared by the HTTP stream (until on_close) and the LLM
 * request (until its completion has been handled); a reference count frees it after both.
 * The stream handle is ours until we call http_stream_end, exactly once, when the answer is
 * complete (also after the client left). The mutex orders writes to the stream and the
 * answer buffer between the handler, the LLM event thread and the chat worker; it is
 * recursive so a completion run inline on the same thread cannot deadlock; on_close never
 * takes it (atomics only). */
#include "api/payments.h"
#include "api/api.h"
#include "api/chat.h"
#include "api/chat_internal.h"
#include "api/validate.h"
#include "kb/prompt.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/log.h"
#include "core/str.h"
#include "core/timeutil.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOP_K 3
#define TITLE_CHARS 50

typedef struct {
    pthread_mutex_t mu;
    atomic_int refs;
    http_stream_t *stream;     /* ours until http_stream_end (called exactly once) */
    atomic_bool closed;        /* on_close ran: writes are pointless */
    bool       sse;
    bool       persist;
    int64_t    conv_id;
    char      *model;
    buf_t      answer;
    json_t    *sources;
    _Atomic uint64_t llm_id;   /* 0 until llm_chat_stream returned */
    atomic_bool llm_finished, client_gone;
    int        deltas;
    size_t     prompt_chars;
    llm_result_t result;
} chat_session_t;

static chat_session_t *session_new(void)
{
    chat_session_t *s = xcalloc(1, sizeof *s);
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&s->mu, &a);
    pthread_mutexattr_destroy(&a);
    atomic_init(&s->refs, 1);
    return s;
}

static void session_release(chat_session_t *s)
{
    if (atomic_fetch_sub(&s->refs, 1) != 1) return;
    buf_free(&s->answer);
    json_decref(s->sources);
    free(s->model);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* ---- framing (caller holds s->mu and s->stream is set) ---- */

static int send_sse(chat_session_t *s, const char *event, json_t *payload)
{
    buf_t b = {0};
    if (event) buf_printf(&b, "event: %s\n", event);
    char *j = json_dumps(payload, JSON_COMPACT);
    buf_printf(&b, "data: %s\n\n", j);
    free(j);
    json_decref(payload);
    int rc = http_stream_write(s->stream, b.data, b.len);
    buf_free(&b);
    return rc;
}

static int send_delta(chat_session_t *s, const char *text, size_t len)
{
    if (!s->sse) return http_stream_write(s->stream, text, len);
    return send_sse(s, NULL, json_pack("{s:s%}", "delta", text, len));
}

static void send_error(chat_session_t *s, const char *code, const char *detail)
{
    if (s->sse) {
        send_sse(s, "error", json_pack("{s:{s:s, s:s}}", "error", "code", code, "detail", detail));
        return;
    }
    buf_t b = {0};
    buf_printf(&b, "%s[RodeoAI error (%s): %s]", s->answer.len ? "\n\n" : "", code, detail);
    http_stream_write(s->stream, b.data, b.len);
    buf_free(&b);
}

static void send_done(chat_session_t *s, int64_t message_id, int pt, int ct)
{
    if (!s->sse) return;
    json_t *usage = json_pack("{s:i, s:i}", "prompt_tokens", pt, "completion_tokens", ct);
    json_t *ev = json_pack("{s:b, s:o, s:o, s:s, s:O, s:o}", "done", 1,
                           "conversation_id", s->conv_id ? json_integer(s->conv_id) : json_null(),
                           "message_id", message_id ? json_integer(message_id) : json_null(),
                           "model", s->model, "sources", s->sources, "usage", usage);
    send_sse(s, NULL, ev);
    http_stream_write(s->stream, "data: [DONE]\n\n", 14);
}

static int64_t store_answer(chat_session_t *s, const char *model, int pt, int ct)
{
    if (!s->persist || !s->conv_id || s->answer.len == 0) return 0;
    store_new_message_t m = { "assistant", s->answer.data, model, pt, ct };
    int64_t id = 0;
    int rc = store_message_add(g_api.store, s->conv_id, &m, &id);
    if (rc != STORE_OK) {
        log_error("chat: cannot store the answer of conversation %lld (store rc %d)", (long long)s->conv_id, rc);
        return 0;
    }
    return id;
}

/* ---- LLM callbacks (event thread) and completion (worker thread) ---- */

static void on_delta(void *ud, const char *text, size_t len)
{
    chat_session_t *s = ud;
    pthread_mutex_lock(&s->mu);
    buf_append(&s->answer, text, len);
    s->deltas++;
    bool cancel = false;
    if (!atomic_load(&s->closed) && send_delta(s, text, len) < 0) {
        atomic_store(&s->client_gone, true);
        cancel = true;
    } else if (atomic_load(&s->client_gone)) cancel = true;   /* left before the id was known */
    pthread_mutex_unlock(&s->mu);
    uint64_t id = atomic_load(&s->llm_id);
    if (cancel && id) llm_cancel(g_chat.llm, id);
}

static void finish_job(void *arg)
{
    chat_session_t *s = arg;
    /* No delta can arrive any more (the request is finished), so the answer is stable and
     * the store write needs no lock: a slow database never blocks the stream's other users. */
    const llm_result_t *r = &s->result;
    int pt = r->prompt_tokens >= 0 ? r->prompt_tokens : (int)(s->prompt_chars / 4);
    int ct = r->completion_tokens >= 0 ? r->completion_tokens : s->deltas;
    bool ok = r->status == LLM_OK;
    /* A client that left after the first token still gets its partial answer saved. */
    bool keep = ok || (r->status == LLM_CANCELLED && atomic_load(&s->client_gone) && s->answer.len);
    int64_t mid = keep ? store_answer(s, s->model, pt, ct) : 0;
    if (!ok && r->status != LLM_CANCELLED)
        log_warn("chat: conversation %lld: upstream %s: %s", (long long)s->conv_id, llm_status_name(r->status),
                 r->message);
    pthread_mutex_lock(&s->mu);
    if (!atomic_load(&s->closed)) {
        if (ok) send_done(s, mid, pt, ct);
        else {
            const char *detail = r->status == LLM_ERR_AUTH ? "the language model rejected our credentials"
                               : r->status == LLM_ERR_RATE_LIMIT ? "the language model is rate limited; try again shortly"
                               : r->status == LLM_ERR_TIMEOUT ? "the language model did not answer in time"
                               : r->status == LLM_ERR_CONNECT ? "the language model cannot be reached"
                               : r->status == LLM_CANCELLED ? "the request was cancelled"
                               : "the language model failed while answering; the answer is incomplete";
            send_error(s, llm_status_name(r->status), detail);
        }
    }
    http_stream_end(s->stream);
    s->stream = NULL;
    pthread_mutex_unlock(&s->mu);
    session_release(s);
}

static void on_done(void *ud, const llm_result_t *r)
{
    chat_session_t *s = ud;
    pthread_mutex_lock(&s->mu);
    s->result = *r;
    pthread_mutex_unlock(&s->mu);
    atomic_store(&s->llm_finished, true);
    chat_defer(finish_job, s);        /* the store write must not stall the event thread */
}

/* Runs on an HTTP server thread, possibly inside libmicrohttpd's bookkeeping: it takes no
 * session lock (only atomics), so it can never wait on a writer that waits on the server.
 * If the client leaves in the instant before the request id is known, the next delta's
 * failed write cancels instead. */
static void on_close(void *ud, bool client_gone)
{
    chat_session_t *s = ud;
    atomic_store(&s->closed, true);
    if (client_gone) {
        atomic_store(&s->client_gone, true);
        uint64_t id = atomic_load(&s->llm_id);
        if (id && !atomic_load(&s->llm_finished)) llm_cancel(g_chat.llm, id);
    }
    session_release(s);
}

/* ---- request validation ---- */

static bool validate_messages(http_resp_t *resp, json_t *msgs, const char **question)
{
    if (!json_is_array(msgs)) {
        http_resp_error(resp, 422, "validation_error", "messages: field required (a list of {role, content})");
        return false;
    }
    size_t n = json_array_size(msgs);
    if (n == 0) {
        http_resp_error(resp, 422, "validation_error", "messages: must not be empty");
        return false;
    }
    if (n > CHAT_MAX_MESSAGES) {
        http_resp_error(resp, 422, "validation_error", "messages: at most %d messages", CHAT_MAX_MESSAGES);
        return false;
    }
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *m = json_array_get(msgs, i);
        const char *role = json_string_value(json_object_get(m, "role"));
        json_t *c = json_object_get(m, "content");
        if (!json_is_object(m) || !role || (strcmp(role, "user") && strcmp(role, "assistant"))) {
            http_resp_error(resp, 422, "validation_error", "messages[%zu].role: must be \"user\" or \"assistant\"", i);
            return false;
        }
        if (!json_is_string(c) || memchr(json_string_value(c), 0, json_string_length(c))) {
            http_resp_error(resp, 422, "validation_error", "messages[%zu].content: must be a string", i);
            return false;
        }
        total += utf8_len(json_string_value(c), json_string_length(c));
        if (total > CHAT_MAX_CHARS) {
            http_resp_error(resp, 422, "validation_error", "messages: at most %d characters in total", CHAT_MAX_CHARS);
            return false;
        }
    }
    json_t *last = json_array_get(msgs, n - 1);
    if (strcmp(json_string_value(json_object_get(last, "role")), "user") != 0) {
        http_resp_error(resp, 422, "validation_error", "messages: the last message must have role \"user\"");
        return false;
    }
    const char *q = json_string_value(json_object_get(last, "content"));
    const char *p = q;
    while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r') p++;
    if (!*p) {
        http_resp_error(resp, 422, "validation_error", "messages[%zu].content: must not be empty", n - 1);
        return false;
    }
    *question = q;
    return true;
}

/* First 50 code points of the question, plus "..." when longer (contract §1, step 5). */
static char *title_of(const char *q)
{
    size_t len = strlen(q), cut = utf8_prefix_bytes(q, len, TITLE_CHARS);
    buf_t b = {0};
    buf_append(&b, q, cut);
    for (size_t i = 0; i < b.len; i++) if (b.data[i] == '\n' || b.data[i] == '\r') b.data[i] = ' ';
    if (cut < len) buf_puts(&b, "...");
    return buf_steal(&b);
}

/* Harder limit for anonymous callers on top of the route's per-IP budget. */
static bool anonymous_allowed(http_req_t *req, http_resp_t *resp)
{
    if (g_chat.anon_per_min <= 0 || !g_api.kv) return true;
    char key[160];
    snprintf(key, sizeof key, "chat-anon:%s", http_req_client_ip(req) ? http_req_client_ip(req) : "?");
    int64_t count = 0, reset = 0;
    if (kv_incr_window(g_api.kv, key, 60, &count, &reset) != 0) return true;   /* fail open: kv down */
    if (count <= g_chat.anon_per_min) return true;
    char ra[32];
    int64_t wait = reset - time_now_us() / 1000000;
    snprintf(ra, sizeof ra, "%lld", (long long)(wait > 0 ? wait : 1));
    http_resp_header(resp, "Retry-After", ra);
    http_resp_error(resp, 429, "rate_limited", "Anonymous chat is limited to %d messages per minute; sign in for more",
                    g_chat.anon_per_min);
    return false;
}

void api_chat(http_req_t *req, http_resp_t *resp)
{
    json_t *body = http_req_json(req, resp);
    if (!body) return;
    const char *question = NULL, *model = NULL;
    json_t *msgs = json_object_get(body, "messages");
    int64_t conv_id = 0;
    bool have_conv = false;
    chat_session_t *s = NULL;
    kb_hit_t *hits = NULL;
    size_t nhits = 0;
    if (!validate_messages(resp, msgs, &question)) goto out;
    if (!field_str(resp, body, "model", false, 100, &model)) goto out;
    if (!model) model = g_chat.default_model;
    if (!llm_model_allowed(g_chat.models, model)) {
        http_resp_error(resp, 422, "validation_error", "model: \"%s\" is not available (allowed: %s)", model, g_chat.models);
        goto out;
    }
    if (!field_int(resp, body, "conversation_id", false, 1, INT64_MAX, &conv_id, &have_conv)) goto out;
    int64_t uid = http_req_principal(req)->user_id;
    if (uid == 0 && !anonymous_allowed(req, resp)) goto out;
    if (uid && !api_quota_check(req, resp, BILLING_ACTION_CHAT_MESSAGE)) goto out;   /* plan quota */
    bool persist = uid != 0 || g_config.anonymous_history;

    /* Conversation: an existing one must be the caller's (anonymous callers own none). */
    if (have_conv) {
        json_t *conv = NULL;
        int rc = uid ? store_conversation_get(g_api.store, uid, conv_id, false, &conv) : STORE_NOT_FOUND;
        if (rc != STORE_OK) { api_store_error(resp, rc, "Conversation"); goto out; }
        const char *t = json_string_value(json_object_get(conv, "title"));
        if (t && !strcmp(t, "New Chat")) {
            char *title = title_of(question);
            store_conversation_update(g_api.store, uid, conv_id, title, -1);
            free(title);
        }
        json_decref(conv);
        persist = true;
    } else if (persist) {
        char *title = title_of(question);
        json_t *conv = NULL;
        int rc = store_conversation_create(g_api.store, uid, title, model, &conv);
        free(title);
        if (rc != STORE_OK) { api_store_error(resp, rc, "Conversation"); goto out; }
        conv_id = json_integer_value(json_object_get(conv, "id"));
        json_decref(conv);
    }
    /* The question is stored before any upstream call. */
    if (persist) {
        store_new_message_t um = { "user", question, NULL, -1, -1 };
        int rc = store_message_add(g_api.store, conv_id, &um, NULL);
        if (rc != STORE_OK) { api_store_error(resp, rc, "Conversation"); goto out; }
    }
    const char *level = NULL;
    json_t *user = NULL;
    if (uid && store_user_get(g_api.store, uid, &user) == STORE_OK)
        level = json_string_value(json_object_get(user, "skill_level"));
    level = kb_skill_level(level);
    json_decref(user);
    nhits = kb_search(g_chat.kb, question, TOP_K, &hits);

    s = session_new();
    s->persist = persist;
    s->conv_id = conv_id;
    s->model = xstrdup(g_chat.llm ? model : "extractive");
    s->sources = kb_sources_json(hits, nhits);
    const char *accept = http_req_header(req, "Accept");
    s->sse = accept && strstr(accept, "text/event-stream");
    if (conv_id) {
        char idbuf[32];
        snprintf(idbuf, sizeof idbuf, "%lld", (long long)conv_id);
        http_resp_header(resp, "X-Conversation-ID", idbuf);
    }
    /* The HTTP layer adds Cache-Control: no-cache, X-Accel-Buffering: no and exposes
     * X-Conversation-ID to cross-origin clients. */
    atomic_fetch_add(&s->refs, 1);   /* the stream's reference, dropped by on_close */
    pthread_mutex_lock(&s->mu);
    s->stream = http_resp_stream(resp, 200, s->sse ? "text/event-stream; charset=utf-8" : "text/plain; charset=utf-8",
                                 on_close, s);
    if (!s->stream) {   /* the layer refused the stream: on_close will not run */
        atomic_fetch_sub(&s->refs, 1);
        pthread_mutex_unlock(&s->mu);
        log_error("chat: cannot start the response stream");
        goto out;
    }
    if (g_chat.llm) {
        json_t *history = json_array();
        for (size_t i = 0; i + 1 < json_array_size(msgs); i++) json_array_append(history, json_array_get(msgs, i));
        json_t *prompt = kb_prompt_messages(level, hits, nhits, history, question);
        json_decref(history);
        size_t i;
        json_t *m;
        json_array_foreach(prompt, i, m) s->prompt_chars += json_string_length(json_object_get(m, "content"));
        llm_params_t params = { 0.7, 1500 };
        llm_callbacks_t cb = { on_delta, on_done, s };
        atomic_fetch_add(&s->refs, 1);   /* the LLM request's reference, dropped by finish_job */
        atomic_store(&s->llm_id, llm_chat_stream(g_chat.llm, model, prompt, &params, &cb));
        json_decref(prompt);
        pthread_mutex_unlock(&s->mu);
    } else {
        /* Embedded default: the extractive answer, in the same stream format, in pieces so
         * clients render it progressively like a model's answer. */
        char *answer = kb_extractive_answer(question, hits, nhits);
        size_t len = strlen(answer), pos = 0;
        while (pos < len && !atomic_load(&s->closed)) {
            size_t n = len - pos > 64 ? 64 : len - pos;
            n = utf8_boundary(answer + pos, n);
            if (n == 0) n = len - pos;
            buf_append(&s->answer, answer + pos, n);
            if (send_delta(s, answer + pos, n) < 0) break;
            pos += n;
        }
        free(answer);
        int ct = (int)(s->answer.len / 4);
        int64_t mid = store_answer(s, "extractive", 0, ct);
        if (!atomic_load(&s->closed)) send_done(s, mid, 0, ct);
        http_stream_end(s->stream);
        s->stream = NULL;
        pthread_mutex_unlock(&s->mu);
    }
out:
    kb_hits_free(hits, nhits);
    if (s) session_release(s);
    json_decref(body);
}
