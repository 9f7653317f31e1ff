/* test_recog_batch.c — the recognition worker pool (recog/pool.h) and the embedding batcher
 * (recog/batch.h): every job runs, a full queue refuses, stopping drains what is queued;
 * concurrent callers each get their own row from shared passes no larger than max_batch; a
 * lone caller does not wait; an announced caller is waited for (bounded); a failed pass
 * fails exactly its callers; batched CLIP embeddings equal one-at-a-time ones. */
#include "test.h"
#include "core/buf.h"
#include "core/timeutil.h"
#include "ml/clip.h"
#include "recog/batch.h"
#include "recog/clipmatch.h"
#include "recog/pool.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

static atomic_int ran;

static void job_sleep(void *arg)
{
    usleep((useconds_t)(intptr_t)arg);
    atomic_fetch_add(&ran, 1);
}

TEST(recog_pool_runs_refuses_drains)
{
    atomic_store(&ran, 0);
    recog_pool_t *p = recog_pool_new(2, 4);
    REQUIRE(p);
    CHECK_INT(recog_pool_threads(p), 2);
    /* 2 running (long) + 4 queued fill it; the 7th is refused */
    int ok = 0;
    for (int i = 0; i < 2; i++) ok += recog_pool_submit(p, job_sleep, (void *)(intptr_t)300000) == 0;
    usleep(100000);              /* both picked up by the workers */
    for (int i = 0; i < 5; i++) ok += recog_pool_submit(p, job_sleep, (void *)(intptr_t)1000) == 0;
    CHECK_INT(ok, 6);
    CHECK_INT(recog_pool_busy(p), 6);
    recog_pool_free(p);          /* queued jobs still run */
    CHECK_INT(atomic_load(&ran), 6);
    CHECK(recog_pool_submit(NULL, job_sleep, NULL) == -1);
}

/* Fake model: out[i] = {sum of tensor i, batch size}; sleeps so callers pile up. */
#define IN 16
static atomic_int fail_next, calls, inside, most_inside;
static int fake_embed(void *ctx, const float *t, int n, float *out)
{
    (void)ctx;
    atomic_fetch_add(&calls, 1);
    int now = atomic_fetch_add(&inside, 1) + 1;
    for (int m = atomic_load(&most_inside); now > m && !atomic_compare_exchange_weak(&most_inside, &m, now);) {}
    usleep(20000);
    atomic_fetch_sub(&inside, 1);
    if (atomic_exchange(&fail_next, 0)) return -1;
    for (int i = 0; i < n; i++) {
        float s = 0;
        for (int k = 0; k < IN; k++) s += t[i * IN + k];
        out[2 * i] = s;
        out[2 * i + 1] = (float)n;
    }
    return 0;
}

typedef struct { recog_batcher_t *b; int id; float out[2]; int rc; int announced; } caller_t;

static void *call(void *arg)
{
    caller_t *c = arg;
    float t[IN];
    for (int k = 0; k < IN; k++) t[k] = (float)(c->id * 100 + k);
    c->rc = recog_batcher_embed(c->b, t, c->out, c->announced);
    return NULL;
}

TEST(recog_batch_shares_passes)
{
    recog_batcher_t *b = recog_batcher_new(fake_embed, NULL, IN, 2, 4, 50000, 1);
    REQUIRE(b);
    /* a lone caller, nobody announced: no waiting for company */
    caller_t one = { b, 1, {0}, -1, 0 };
    int64_t t0 = time_mono_us();
    call(&one);
    CHECK(time_mono_us() - t0 < 45000);
    CHECK_INT(one.rc, 0);
    CHECK_NEAR(one.out[0], 16 * 100 + 120, 1e-3);
    CHECK_NEAR(one.out[1], 1, 0);
    /* 10 concurrent callers: shared passes of at most 4, each caller its own row */
    enum { N = 10 };
    caller_t c[N];
    pthread_t th[N];
    atomic_store(&calls, 0);
    for (int i = 0; i < N; i++) {
        c[i] = (caller_t){ b, i + 2, {0}, -1, 0 };
        pthread_create(&th[i], NULL, call, &c[i]);
    }
    int shared = 0;
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        CHECK_INT(c[i].rc, 0);
        CHECK_NEAR(c[i].out[0], (float)((i + 2) * 100 * IN + 120), 1e-2);
        CHECK(c[i].out[1] >= 1 && c[i].out[1] <= 4);
        shared += c[i].out[1] > 1;
    }
    CHECK(shared > 0);
    CHECK(atomic_load(&calls) < N);
    recog_batch_stats_t st;
    recog_batcher_stats(b, &st);
    CHECK_INT(st.items, N + 1);
    CHECK(st.batches <= N && st.largest <= 4 && st.largest >= 2);
    /* an announced caller is waited for: a pass of 2 although they arrive 10 ms apart, and
     * its arrival ends the announcement (the next lone caller does not wait) */
    recog_batcher_expect(b, 1);
    caller_t a = { b, 20, {0}, -1, 0 }, z = { b, 21, {0}, -1, 1 };
    pthread_t ta;
    pthread_create(&ta, NULL, call, &a);
    usleep(10000);
    call(&z);
    pthread_join(ta, NULL);
    CHECK_NEAR(a.out[1], 2, 0);
    CHECK_NEAR(z.out[1], 2, 0);
    t0 = time_mono_us();
    call(&one);
    CHECK(time_mono_us() - t0 < 45000);
    /* ... but not forever: announced, never arriving -> the pass runs after max_wait */
    recog_batcher_expect(b, 1);
    t0 = time_mono_us();
    call(&one);
    int64_t waited = time_mono_us() - t0;
    CHECK(waited >= 45000 && waited < 1000000);
    recog_batcher_expect(b, -1);
    /* a failed pass fails its callers only */
    atomic_store(&fail_next, 1);
    call(&one);
    CHECK_INT(one.rc, -1);
    call(&one);
    CHECK_INT(one.rc, 0);
    recog_batcher_free(b);
    CHECK(recog_batcher_new(NULL, NULL, IN, 2, 4, 0, 1) == NULL);
    CHECK_INT(atomic_load(&most_inside), 1);    /* one pass at a time so far */
}

TEST(recog_batch_concurrent_passes)
{
    /* two passes at once, batches of 2: 8 callers, every one answered with its own row */
    recog_batcher_t *b = recog_batcher_new(fake_embed, NULL, IN, 2, 2, 0, 2);
    REQUIRE(b);
    atomic_store(&most_inside, 0);
    enum { N = 8 };
    caller_t c[N];
    pthread_t th[N];
    for (int i = 0; i < N; i++) {
        c[i] = (caller_t){ b, i + 1, {0}, -1, 0 };
        pthread_create(&th[i], NULL, call, &c[i]);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        CHECK_INT(c[i].rc, 0);
        CHECK_NEAR(c[i].out[0], (float)((i + 1) * 100 * IN + 120), 1e-2);
        CHECK(c[i].out[1] >= 1 && c[i].out[1] <= 2);
    }
    CHECK_INT(atomic_load(&most_inside), 2);
    recog_batch_stats_t st;
    recog_batcher_stats(b, &st);
    CHECK_INT(st.items, N);
    recog_batcher_free(b);
}

typedef struct { recog_clip_t *c; const float *t; float *out; int rc; } clipcall_t;
static void *clip_call(void *arg)
{
    clipcall_t *k = arg;
    k->rc = recog_clip_embed_image(k->c, k->t, k->out);
    return NULL;
}

TEST(recog_batch_clip_equals_single)
{
    char *d = test_tmpdir();
    buf_t cmd = { 0 };
    buf_printf(&cmd, "/usr/bin/python3 tests/tools/ml_make_models.py '%s' --no-tok-cases > /dev/null 2>&1", d);
    int made = system(cmd.data) == 0;
    buf_reset(&cmd);
    buf_printf(&cmd, "%s/clip_tiny", d);
    char err[256];
    clip_model_t *m = made ? clip_load(cmd.data, 0, err, sizeof err) : NULL;
    buf_free(&cmd);
    free(d);
    REQUIRE(m);
    recog_clip_t *c = recog_clip_new(m, err, sizeof err);
    REQUIRE(c);
    long nb, ni;
    int largest;
    CHECK(recog_clip_batch_stats(c, &nb, &ni, &largest) == -1);
    int S = recog_clip_image_size(c), D = recog_clip_dim(c);
    enum { N = 6 };
    float *t = malloc(sizeof(float) * 3 * (size_t)S * (size_t)S * N), *want = malloc(sizeof(float) * (size_t)D * N),
          *got = malloc(sizeof(float) * (size_t)D * N);
    unsigned seed = 5;
    for (int i = 0; i < 3 * S * S * N; i++) { seed = seed * 1103515245u + 12345u; t[i] = (float)((seed >> 8) & 0xffff) / 32768.0f - 1; }
    for (int i = 0; i < N; i++) CHECK(recog_clip_embed_image(c, t + (size_t)i * 3 * S * S, want + (size_t)i * D) == 0);
    REQUIRE(recog_clip_set_batching(c, 4, 20000, 2) == 0);
    CHECK(recog_clip_set_batching(c, 4, 20000, 2) == -1);
    recog_clip_expect(c, N);     /* all announced: the leader waits for the others */
    clipcall_t k[N];
    pthread_t th[N];
    for (int i = 0; i < N; i++) {
        k[i] = (clipcall_t){ c, t + (size_t)i * 3 * S * S, got + (size_t)i * D, -1 };
        pthread_create(&th[i], NULL, clip_call, &k[i]);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        CHECK_INT(k[i].rc, 0);
        for (int j = 0; j < D; j++) CHECK_NEAR(got[(size_t)i * D + j], want[(size_t)i * D + j], 1e-4);
    }
    recog_clip_expect(c, -N);
    REQUIRE(recog_clip_batch_stats(c, &nb, &ni, &largest) == 0);
    CHECK_INT(ni, N);
    CHECK(largest >= 2 && largest <= 4 && nb < N);
    free(t); free(want); free(got);
    recog_clip_free(c);
    clip_free(m);
}
