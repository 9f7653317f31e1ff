/* pool.c — worker threads over a bounded ring of jobs (see pool.h). One mutex, two
 * condition variables: work available, and (at stop) nothing left. */
#include "recog/pool.h"
#include "core/buf.h"
#include "core/log.h"
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

typedef struct { recog_pool_fn fn; void *arg; } job_t;

struct recog_pool {
    pthread_mutex_t mu;
    pthread_cond_t  work;
    job_t   *ring;
    int      cap, head, n;     /* queued jobs: ring[head .. head+n) mod cap */
    int      running;
    bool     stopping;
    pthread_t *tid;
    int      nthreads;
};

static void *worker_main(void *arg)
{
    recog_pool_t *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->n && !p->stopping) pthread_cond_wait(&p->work, &p->mu);
        if (!p->n) break;      /* stopping and drained */
        job_t j = p->ring[p->head];
        p->head = (p->head + 1) % p->cap;
        p->n--;
        p->running++;
        pthread_mutex_unlock(&p->mu);
        j.fn(j.arg);
        pthread_mutex_lock(&p->mu);
        p->running--;
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

recog_pool_t *recog_pool_new(int threads, int max_queue)
{
    if (threads < 1) threads = 1;
    if (max_queue < 1) max_queue = 1;
    recog_pool_t *p = xcalloc(1, sizeof *p);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work, NULL);
    p->cap = max_queue;
    p->ring = xcalloc((size_t)max_queue, sizeof *p->ring);
    p->tid = xcalloc((size_t)threads, sizeof *p->tid);
    for (int i = 0; i < threads; i++) {
        if (pthread_create(&p->tid[p->nthreads], NULL, worker_main, p) != 0) {
            log_warn("recognition pool: only %d of %d threads started", p->nthreads, threads);
            break;
        }
        p->nthreads++;
    }
    if (!p->nthreads) { recog_pool_free(p); return NULL; }
    return p;
}

int recog_pool_submit(recog_pool_t *p, recog_pool_fn fn, void *arg)
{
    if (!p || !fn) return -1;
    pthread_mutex_lock(&p->mu);
    if (p->stopping || p->n == p->cap) {
        pthread_mutex_unlock(&p->mu);
        return -1;
    }
    p->ring[(p->head + p->n) % p->cap] = (job_t){ fn, arg };
    p->n++;
    pthread_cond_signal(&p->work);
    pthread_mutex_unlock(&p->mu);
    return 0;
}

int recog_pool_busy(recog_pool_t *p)
{
    pthread_mutex_lock(&p->mu);
    int b = p->n + p->running;
    pthread_mutex_unlock(&p->mu);
    return b;
}

int recog_pool_threads(const recog_pool_t *p) { return p ? p->nthreads : 0; }

void recog_pool_free(recog_pool_t *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->stopping = true;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->nthreads; i++) pthread_join(p->tid[i], NULL);
    pthread_cond_destroy(&p->work);
    pthread_mutex_destroy(&p->mu);
    free(p->ring);
    free(p->tid);
    free(p);
}
