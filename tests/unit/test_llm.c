/* test_llm.c — SSE parsing (every split point, hostile streams), chunk and embeddings
 * parsing, model allow-list, and the streaming engine against the fake OpenAI server in
 * each failure mode. */
#include "test.h"
#include "llm/llm.h"
#include "llm/sse.h"
#include "llm_fake.h"
#include "core/buf.h"
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

typedef struct { buf_t log; int n; } sse_log_t;

static int log_event(void *ud, const char *event, const char *data, size_t len)
{
    sse_log_t *l = ud;
    buf_printf(&l->log, "[%s|", event);
    buf_append(&l->log, data, len);
    buf_puts(&l->log, "]");
    l->n++;
    return 0;
}

TEST(llm_sse_parses_any_split)
{
    const char *stream = ": keep-alive\r\n\r\ndata: {\"a\":1}\r\n\r\nevent: error\ndata: line1\ndata: line2\n\n"
                         "data:nospace\r\rdata: \xc3\xa9t\xc3\xa9\n\nid: 7\nretry: 10\n\ndata: [DONE]\n\n";
    const char *want = "[|{\"a\":1}][error|line1\nline2][|nospace][|\xc3\xa9t\xc3\xa9][|[DONE]]";
    size_t len = strlen(stream);
    for (size_t cut1 = 0; cut1 <= len; cut1++) {
        for (size_t cut2 = cut1; cut2 <= len; cut2 += 7) {
            sse_parser_t p;
            sse_init(&p);
            sse_log_t l = {0};
            sse_feed(&p, stream, cut1, log_event, &l);
            sse_feed(&p, stream + cut1, cut2 - cut1, log_event, &l);
            sse_feed(&p, stream + cut2, len - cut2, log_event, &l);
            if (!l.log.data || strcmp(l.log.data, want)) {
                test_fail(__FILE__, __LINE__, "split %zu/%zu gave %s", cut1, cut2, l.log.data ? l.log.data : "(none)");
                cut1 = len + 1;
            }
            buf_free(&l.log);
            sse_free(&p);
            if (cut1 > len) break;
        }
    }
}

TEST(llm_sse_rejects_oversized_lines)
{
    sse_parser_t p;
    sse_init(&p);
    sse_log_t l = {0};
    char *big = malloc(SSE_MAX_EVENT + 10);
    memset(big, 'x', SSE_MAX_EVENT + 10);
    memcpy(big, "data: ", 6);
    CHECK_INT(sse_feed(&p, big, SSE_MAX_EVENT + 10, log_event, &l), -1);
    CHECK_INT(l.n, 0);
    free(big);
    buf_free(&l.log);
    sse_free(&p);
}

TEST(llm_chunk_parse_real_and_hostile)
{
    llm_chunk_t c;
    char err[200];
    const char *ok = "{\"id\":\"x\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\\u00e9\"},\"finish_reason\":null}]}";
    REQUIRE(llm_chunk_parse(ok, strlen(ok), &c, err, sizeof err) == 0);
    CHECK_INT(c.delta_len, 5);
    CHECK(!memcmp(c.delta, "Hel\xc3\xa9", 5));
    CHECK_INT(c.done, 0);
    llm_chunk_free(&c);
    const char *fin = "{\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":3}}";
    REQUIRE(llm_chunk_parse(fin, strlen(fin), &c, err, sizeof err) == 0);
    CHECK_STR(c.finish_reason, "stop");
    CHECK_INT(c.prompt_tokens, 12);
    CHECK_INT(c.completion_tokens, 3);
    CHECK_INT(c.delta_len, 0);
    llm_chunk_free(&c);
    const char *usage_only = "{\"choices\":[],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2}}";
    REQUIRE(llm_chunk_parse(usage_only, strlen(usage_only), &c, err, sizeof err) == 0);
    CHECK_INT(c.completion_tokens, 2);
    llm_chunk_free(&c);
    REQUIRE(llm_chunk_parse(" [DONE] ", 8, &c, err, sizeof err) == 0);
    CHECK_INT(c.done, 1);
    const char *bad[] = { "{not json", "[1,2]", "\"str\"", "{\"choices\":5}", "{\"choices\":[7]}",
                          "{\"choices\":[{\"delta\":{\"content\":5}}]}", "{\"error\":{\"message\":\"boom\"}}",
                          "{}", "", "{\"choices\":[{\"delta\":{\"content\":\"a\"}}]", "\x01\x02" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        if (llm_chunk_parse(bad[i], strlen(bad[i]), &c, err, sizeof err) != -1)
            test_fail(__FILE__, __LINE__, "accepted %s", bad[i]);
        CHECK(c.owner == NULL);
    }
}

TEST(llm_model_allow_list)
{
    CHECK(llm_model_allowed("gpt-4o-mini, gpt-4o", "gpt-4o"));
    CHECK(llm_model_allowed("gpt-4o-mini,gpt-4o", "gpt-4o-mini"));
    CHECK(!llm_model_allowed("gpt-4o-mini,gpt-4o", "gpt-4"));
    CHECK(!llm_model_allowed("gpt-4o-mini,gpt-4o", "gpt-4o-mini,gpt-4o"));
    CHECK(!llm_model_allowed("gpt-4o", ""));
    CHECK(!llm_model_allowed(NULL, "x"));
    CHECK(!llm_model_allowed("", "x"));
}

TEST(llm_embed_parse_hostile)
{
    float *v;
    int dim;
    char err[100];
    const char *ok = "{\"data\":[{\"embedding\":[0.5,-1,2e-3]}]}";
    REQUIRE(llm_embed_parse(ok, strlen(ok), &v, &dim, err, sizeof err) == 0);
    CHECK_INT(dim, 3);
    CHECK_NEAR(v[1], -1.0, 1e-6);
    free(v);
    const char *bad[] = { "", "{}", "{\"data\":[]}", "{\"data\":[{\"embedding\":[]}]}",
                          "{\"data\":[{\"embedding\":[1,\"x\"]}]}", "{\"data\":[{\"embedding\":{}}]}", "nul\x01" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK(llm_embed_parse(bad[i], strlen(bad[i]), &v, &dim, err, sizeof err) == -1);
}

TEST(llm_chat_body_shape)
{
    json_t *msgs = json_pack("[{s:s,s:s}]", "role", "user", "content", "hi");
    llm_params_t p = { 0.5, 100 };
    char *b = llm_chat_body("m1", msgs, &p);
    json_t *j = json_loads(b, 0, NULL);
    CHECK_STR(json_string_value(json_object_get(j, "model")), "m1");
    CHECK(json_is_true(json_object_get(j, "stream")));
    CHECK_INT(json_integer_value(json_object_get(j, "max_tokens")), 100);
    CHECK(json_equal(json_object_get(j, "messages"), msgs));
    json_decref(j);
    json_decref(msgs);
    free(b);
}

/* ---- engine against the fake upstream ---- */

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t  cv;
    int    done;
    buf_t  text;
    int    deltas;
    llm_result_t r;
    llm_engine_t *e;
    uint64_t id;
    int    cancel_after;      /* cancel once this many deltas arrived (0 = never) */
} waiter_t;

static void w_delta(void *ud, const char *t, size_t n)
{
    waiter_t *w = ud;
    pthread_mutex_lock(&w->mu);
    buf_append(&w->text, t, n);
    w->deltas++;
    int cancel = w->cancel_after && w->deltas == w->cancel_after;
    pthread_mutex_unlock(&w->mu);
    if (cancel) llm_cancel(w->e, w->id);
}

static void w_done(void *ud, const llm_result_t *r)
{
    waiter_t *w = ud;
    pthread_mutex_lock(&w->mu);
    w->r = *r;
    w->done = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

static void w_init(waiter_t *w, llm_engine_t *e)
{
    memset(w, 0, sizeof *w);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    w->e = e;
}

static void w_wait(waiter_t *w)
{
    pthread_mutex_lock(&w->mu);
    while (!w->done) pthread_cond_wait(&w->cv, &w->mu);
    pthread_mutex_unlock(&w->mu);
}

static void w_destroy(waiter_t *w)
{
    buf_free(&w->text);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
}

static void run_one(llm_engine_t *e, const char *question, waiter_t *w, int cancel_after)
{
    w_init(w, e);
    w->cancel_after = cancel_after;
    json_t *msgs = json_pack("[{s:s,s:s}]", "role", "user", "content", question);
    llm_callbacks_t cb = { w_delta, w_done, w };
    pthread_mutex_lock(&w->mu);
    w->id = llm_chat_stream(e, "fake-model", msgs, NULL, &cb);
    pthread_mutex_unlock(&w->mu);
    json_decref(msgs);
    w_wait(w);
}

static llm_engine_t *engine_for(fake_llm_t *f, int retries, long idle_ms)
{
    llm_config_t c = { .base_url = f->base_url, .api_key = "sk-test", .connect_timeout_ms = 2000,
                       .idle_timeout_ms = idle_ms, .max_retries = retries, .backoff_ms = 20 };
    char err[100];
    return llm_engine_start(&c, err, sizeof err);
}

TEST(llm_engine_streams_and_fails_cleanly)
{
    fake_llm_t f;
    REQUIRE(fake_llm_start(&f) == 0);
    llm_engine_t *e = engine_for(&f, 2, 700);
    REQUIRE(e);
    waiter_t w;

    /* Success: deltas in order, usage from the stream. */
    run_one(e, "hello rodeo world", &w, 0);
    CHECK_INT(w.r.status, LLM_OK);
    CHECK_STR(w.text.data, "Echo: hello rodeo world");
    CHECK_INT(w.deltas, 4);
    CHECK_INT(w.r.completion_tokens, 4);
    CHECK(w.r.prompt_tokens > 0);
    CHECK_STR(w.r.finish_reason, "stop");
    CHECK_INT(w.r.attempts, 1);
    w_destroy(&w);

    /* 5xx then success: retried before the first token. */
    fake_llm_post(&f, "/_control", "{\"queue\":[\"500\",\"503\"]}");
    run_one(e, "retry me", &w, 0);
    CHECK_INT(w.r.status, LLM_OK);
    CHECK_INT(w.r.attempts, 3);
    CHECK_STR(w.text.data, "Echo: retry me");
    w_destroy(&w);

    /* 429 persistently: gives up after max_retries with a rate-limit status. */
    fake_llm_post(&f, "/_control", "{\"queue\":[\"429\",\"429\",\"429\"]}");
    run_one(e, "x", &w, 0);
    CHECK_INT(w.r.status, LLM_ERR_RATE_LIMIT);
    CHECK_INT(w.r.attempts, 3);
    CHECK_INT(w.r.http_status, 429);
    CHECK(w.text.len == 0);
    w_destroy(&w);

    /* 401 is not retried. */
    fake_llm_post(&f, "/_control", "{\"queue\":[\"401\"]}");
    run_one(e, "x", &w, 0);
    CHECK_INT(w.r.status, LLM_ERR_AUTH);
    CHECK_INT(w.r.attempts, 1);
    CHECK(strstr(w.r.message, "Incorrect") || strstr(w.r.message, "fake upstream"));
    w_destroy(&w);

    /* Malformed chunk after the first token: protocol error, never retried. */
    fake_llm_post(&f, "/_control", "{\"queue\":[\"malformed\"]}");
    run_one(e, "a b c", &w, 0);
    CHECK_INT(w.r.status, LLM_ERR_PROTOCOL);
    CHECK_INT(w.r.attempts, 1);
    CHECK_STR(w.text.data, "Echo:");
    w_destroy(&w);

    /* In-stream error object. */
    fake_llm_post(&f, "/_control", "{\"queue\":[\"error_event\"]}");
    run_one(e, "a b c", &w, 0);
    CHECK_INT(w.r.status, LLM_ERR_PROTOCOL);
    CHECK(strstr(w.r.message, "mid-stream") != NULL);
    w_destroy(&w);

    /* Stream cut mid-way: reported as cut, partial text delivered, not retried. */
    fake_llm_post(&f, "/_control", "{\"queue\":[\"cut\"]}");
    run_one(e, "one two three four", &w, 0);
    CHECK_INT(w.r.status, LLM_ERR_CUT);
    CHECK_STR(w.text.data, "Echo: one");
    CHECK_INT(w.r.attempts, 1);
    w_destroy(&w);

    /* Stall after the first token: idle timeout (0.7 s). */
    fake_llm_post(&f, "/_control", "{\"queue\":[\"stall\"]}");
    run_one(e, "a b", &w, 0);
    CHECK_INT(w.r.status, LLM_ERR_TIMEOUT);
    CHECK_STR(w.text.data, "Echo:");
    w_destroy(&w);

    /* Cancel after the second delta. */
    fake_llm_post(&f, "/_control", "{\"pace_ms\":30}");
    run_one(e, "w1 w2 w3 w4 w5 w6 w7 w8 w9 w10", &w, 2);
    CHECK_INT(w.r.status, LLM_CANCELLED);
    CHECK(w.deltas >= 2 && w.deltas < 11);
    w_destroy(&w);
    fake_llm_post(&f, "/_control", "{\"pace_ms\":0}");
    CHECK_INT(llm_engine_active(e), 0);
    llm_engine_stop(e);

    /* No response at all before the idle timeout; no retries configured. */
    e = engine_for(&f, 0, 700);
    fake_llm_post(&f, "/_control", "{\"queue\":[\"timeout\"]}");
    run_one(e, "x", &w, 0);
    CHECK_INT(w.r.status, LLM_ERR_TIMEOUT);
    CHECK_INT(w.r.attempts, 1);
    w_destroy(&w);
    llm_engine_stop(e);
    fake_llm_stop(&f);
}

TEST(llm_engine_connection_refused_and_stop)
{
    /* A port nothing listens on: bind, read the port, close. */
    fake_llm_t dead = { .pid = 0, .port = 0 };
    int s = -1;
    {
        fake_llm_t f;
        REQUIRE(fake_llm_start(&f) == 0);
        dead.port = f.port;
        fake_llm_stop(&f);
    }
    (void)s;
    snprintf(dead.base_url, sizeof dead.base_url, "http://127.0.0.1:%d/v1", dead.port);
    llm_engine_t *e = engine_for(&dead, 1, 700);
    waiter_t w;
    run_one(e, "x", &w, 0);
    CHECK_INT(w.r.status, LLM_ERR_CONNECT);
    CHECK_INT(w.r.attempts, 2);
    w_destroy(&w);

    /* Stopping the engine cancels requests waiting for a retry. */
    llm_engine_stop(e);
    llm_config_t c = { .base_url = dead.base_url, .max_retries = 5, .backoff_ms = 5000 };
    char err[64];
    e = llm_engine_start(&c, err, sizeof err);
    w_init(&w, e);
    json_t *msgs = json_pack("[{s:s,s:s}]", "role", "user", "content", "x");
    llm_callbacks_t cb = { w_delta, w_done, &w };
    llm_chat_stream(e, "m", msgs, NULL, &cb);
    json_decref(msgs);
    usleep(200000);
    llm_engine_stop(e);
    CHECK(w.done);
    CHECK_INT(w.r.status, LLM_CANCELLED);
    w_destroy(&w);
}

TEST(llm_engine_many_concurrent_streams_one_thread)
{
    fake_llm_t f;
    REQUIRE(fake_llm_start(&f) == 0);
    fake_llm_post(&f, "/_control", "{\"pace_ms\":20}");
    llm_engine_t *e = engine_for(&f, 0, 5000);
    enum { N = 40 };
    waiter_t *w = calloc(N, sizeof *w);
    json_t *msgs = json_pack("[{s:s,s:s}]", "role", "user", "content", "a b c d e");
    for (int i = 0; i < N; i++) {
        w_init(&w[i], e);
        llm_callbacks_t cb = { w_delta, w_done, &w[i] };
        llm_chat_stream(e, "m", msgs, NULL, &cb);
    }
    json_decref(msgs);
    int ok = 0;
    for (int i = 0; i < N; i++) {
        w_wait(&w[i]);
        ok += w[i].r.status == LLM_OK && w[i].text.data && !strcmp(w[i].text.data, "Echo: a b c d e");
        w_destroy(&w[i]);
    }
    CHECK_INT(ok, N);
    char *stats = fake_llm_get(&f, "/_stats");
    json_t *j = json_loads(stats ? stats : "{}", 0, NULL);
    /* Streams overlapped upstream: they were not serialised behind one another. */
    CHECK(json_integer_value(json_object_get(j, "max_active")) >= N / 2);
    json_decref(j);
    free(stats);
    free(w);
    llm_engine_stop(e);
    fake_llm_stop(&f);
}

TEST(llm_embed_against_fake_upstream)
{
    fake_llm_t f;
    REQUIRE(fake_llm_start(&f) == 0);
    llm_config_t c = { .base_url = f.base_url, .api_key = "sk-test", .idle_timeout_ms = 5000 };
    float *v = NULL;
    int dim = 0;
    char err[200];
    REQUIRE(llm_embed(&c, "text-embedding-3-small", "bull riding rules", &v, &dim, err, sizeof err) == 0);
    CHECK_INT(dim, 64);
    float sum = 0;
    for (int i = 0; i < dim; i++) sum += v[i];
    CHECK_NEAR(sum, 3.0, 1e-6);                     /* three words, bag-of-words counts */
    free(v);
    /* A rejected key is an error, not a vector of zeros (contract F21). */
    fake_llm_post(&f, "/_control", "{\"require_key\":\"sk-other\"}");
    v = NULL;
    CHECK(llm_embed(&c, "m", "x", &v, &dim, err, sizeof err) == -1);
    CHECK(v == NULL);
    CHECK(strstr(err, "401") != NULL);
    fake_llm_stop(&f);
    /* Unreachable. */
    CHECK(llm_embed(&c, "m", "x", &v, &dim, err, sizeof err) == -1);
}
