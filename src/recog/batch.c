/* batch.c — leader/follower batching of embedding calls (see batch.h).
 *
 * No extra thread: callers queue a slot and sleep; a caller that finds fewer than
 * max_passes passes running becomes a leader, collects, runs the pass outside the lock and wakes everyone. A caller
 * whose slot did not fit in that pass may lead the next one. */
#include "recog/batch.h"
#include "core/buf.h"
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct slot {
    const float *tensor;
    float *out;
    int rc;
    bool taken;                /* in a pass (collected by a leader) */
    bool done;
    struct slot *next;
} slot_t;

struct recog_batcher {
    pthread_mutex_t mu;
    pthread_cond_t  cv;        /* a slot arrived, a pass ended, or an expectation dropped */
    recog_embed_fn fn;
    void *ctx;
    size_t in_floats;
    int dim, max_batch, max_wait_us, max_passes;
    slot_t *head, *tail;       /* FIFO of slots waiting for a pass */
    int pending;
    int expect;                /* requests announced, not yet here */
    int running;               /* leaders collecting or running a pass */
    recog_batch_stats_t st;
};

recog_batcher_t *recog_batcher_new(recog_embed_fn fn, void *ctx, size_t in_floats, int dim, int max_batch,
                                   int max_wait_us, int max_passes)
{
    if (!fn || !in_floats || dim <= 0) return NULL;
    recog_batcher_t *b = xcalloc(1, sizeof *b);
    pthread_mutex_init(&b->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&b->cv, &ca);
    pthread_condattr_destroy(&ca);
    b->fn = fn;
    b->ctx = ctx;
    b->in_floats = in_floats;
    b->dim = dim;
    b->max_batch = max_batch < 1 ? 1 : max_batch;
    b->max_wait_us = max_wait_us < 0 ? 0 : max_wait_us;
    b->max_passes = max_passes < 1 ? 1 : max_passes;
    return b;
}

void recog_batcher_free(recog_batcher_t *b)
{
    if (!b) return;
    pthread_cond_destroy(&b->cv);
    pthread_mutex_destroy(&b->mu);
    free(b);
}

void recog_batcher_expect(recog_batcher_t *b, int delta)
{
    if (!b) return;
    pthread_mutex_lock(&b->mu);
    b->expect += delta;
    if (b->expect < 0) b->expect = 0;
    if (delta < 0) pthread_cond_broadcast(&b->cv);   /* a collecting leader need not wait for it */
    pthread_mutex_unlock(&b->mu);
}

/* Leader: waits for company while it is worth it, then takes up to max_batch slots. Lock held. */
static int collect(recog_batcher_t *b, slot_t **batch)
{
    struct timespec dl;
    clock_gettime(CLOCK_MONOTONIC, &dl);
    dl.tv_nsec += (long)(b->max_wait_us % 1000000) * 1000;
    dl.tv_sec += b->max_wait_us / 1000000 + dl.tv_nsec / 1000000000;
    dl.tv_nsec %= 1000000000;
    while (b->pending < b->max_batch && b->expect > 0 && b->max_wait_us > 0)
        if (pthread_cond_timedwait(&b->cv, &b->mu, &dl) == ETIMEDOUT) break;
    int n = 0;
    while (b->head && n < b->max_batch) {
        b->head->taken = true;
        batch[n++] = b->head;
        b->head = b->head->next;
    }
    if (!b->head) b->tail = NULL;
    b->pending -= n;
    return n;
}

int recog_batcher_embed(recog_batcher_t *b, const float *tensor, float *out, int announced)
{
    if (!b || !tensor || !out) return -1;
    slot_t s = { .tensor = tensor, .out = out };
    pthread_mutex_lock(&b->mu);
    if (announced && b->expect > 0) b->expect--;
    if (b->tail) b->tail->next = &s; else b->head = &s;
    b->tail = &s;
    b->pending++;
    pthread_cond_broadcast(&b->cv);
    slot_t **batch = NULL;
    while (!s.done) {
        /* a slot already taken by another leader's pass only waits for it */
        if (b->running >= b->max_passes || s.taken) { pthread_cond_wait(&b->cv, &b->mu); continue; }
        b->running++;
        if (!batch) batch = xmalloc(sizeof *batch * (size_t)b->max_batch);
        int n = collect(b, batch);
        if (!n) {                /* another leader took every slot, ours too */
            b->running--;
            pthread_cond_broadcast(&b->cv);
            continue;
        }
        pthread_mutex_unlock(&b->mu);
        int rc;
        if (n == 1) {
            rc = b->fn(b->ctx, batch[0]->tensor, 1, batch[0]->out);   /* no copies for one */
        } else {
            float *in = xmalloc(sizeof(float) * b->in_floats * (size_t)n);
            float *emb = xmalloc(sizeof(float) * (size_t)b->dim * (size_t)n);
            for (int i = 0; i < n; i++) memcpy(in + b->in_floats * (size_t)i, batch[i]->tensor, sizeof(float) * b->in_floats);
            rc = b->fn(b->ctx, in, n, emb);
            if (rc == 0)
                for (int i = 0; i < n; i++) memcpy(batch[i]->out, emb + (size_t)b->dim * (size_t)i, sizeof(float) * (size_t)b->dim);
            free(in);
            free(emb);
        }
        pthread_mutex_lock(&b->mu);
        for (int i = 0; i < n; i++) { batch[i]->rc = rc == 0 ? 0 : -1; batch[i]->done = true; }
        b->st.batches++;
        b->st.items += n;
        if (n > b->st.largest) b->st.largest = n;
        b->running--;
        pthread_cond_broadcast(&b->cv);
    }
    pthread_mutex_unlock(&b->mu);
    free(batch);
    return s.rc;
}

void recog_batcher_stats(recog_batcher_t *b, recog_batch_stats_t *out)
{
    pthread_mutex_lock(&b->mu);
    *out = b->st;
    pthread_mutex_unlock(&b->mu);
}
