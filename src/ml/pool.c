/* pool.c — persistent helper threads for the matrix products (see pool.h).
 *
 * A dispatch bumps a generation counter under the mutex and broadcasts; helper t (1-based)
 * runs the job when t < nt and reports by decrementing the pending count. Helpers spin
 * briefly on the generation before sleeping: products follow each other within
 * microseconds, and a condition-variable wake-up alone costs about as much as the thread
 * creation the pool replaces. The helpers live until the process exits. */
#include "ml/pool.h"
#include "ml/kernels.h"
#include <immintrin.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#define MAX_THREADS 16
#define SPIN_ROUNDS 2000      /* ~10-40 us of pause: covers the gap between consecutive
                                 * products, not the attention between layers (a spinning
                                 * helper on an oversubscribed machine takes a core from
                                 * the thread it waits for) */

static pthread_mutex_t busy = PTHREAD_MUTEX_INITIALIZER;   /* held by the caller using the pool */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t  wake = PTHREAD_COND_INITIALIZER, done = PTHREAD_COND_INITIALIZER;
static atomic_uint generation;
static atomic_int  pending;
static int nhelpers;
static void (*job_fn)(void *, int);
static void *job_arg;
static int job_nt;
static unsigned start_gen[MAX_THREADS];   /* the generation current when helper t was created */

static void *helper(void *p)
{
    int t = (int)(long)p;
    pthread_mutex_lock(&mu);
    unsigned seen = start_gen[t];            /* not the current one: a job may already be posted */
    pthread_mutex_unlock(&mu);
    for (;;) {
        for (int i = 0; i < SPIN_ROUNDS && atomic_load(&generation) == seen; i++) _mm_pause();
        pthread_mutex_lock(&mu);
        while (atomic_load(&generation) == seen) pthread_cond_wait(&wake, &mu);
        seen = atomic_load(&generation);
        void (*fn)(void *, int) = job_fn;
        void *arg = job_arg;
        int nt = job_nt;
        pthread_mutex_unlock(&mu);
        if (t < nt) {
            fn(arg, t);
            if (atomic_fetch_sub(&pending, 1) == 1) {
                pthread_mutex_lock(&mu);
                pthread_cond_signal(&done);
                pthread_mutex_unlock(&mu);
            }
        }
    }
    return NULL;
}

typedef struct { void (*fn)(void *, int); void *arg; int t; } spawn_t;
static void *spawned(void *p) { spawn_t *s = p; s->fn(s->arg, s->t); return NULL; }

/* The pool is busy: create threads for this product only. */
static void run_spawned(int nt, void (*fn)(void *, int), void *arg)
{
    pthread_t tid[MAX_THREADS];
    spawn_t js[MAX_THREADS];
    int started[MAX_THREADS] = {0};
    for (int t = 1; t < nt; t++) {
        js[t] = (spawn_t){fn, arg, t};
        started[t] = pthread_create(&tid[t], NULL, spawned, &js[t]) == 0;
    }
    fn(arg, 0);
    for (int t = 1; t < nt; t++) {
        if (started[t]) pthread_join(tid[t], NULL);
        else fn(arg, t);
    }
}

void ml_pool_run(int nt, void (*fn)(void *arg, int t), void *arg)
{
    if (nt > MAX_THREADS) nt = MAX_THREADS;
    if (nt <= 1) { fn(arg, 0); return; }
    if (pthread_mutex_trylock(&busy) != 0) { run_spawned(nt, fn, arg); return; }
    pthread_mutex_lock(&mu);
    while (nhelpers < nt - 1) {                     /* start missing helpers once */
        pthread_t tid;
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        start_gen[nhelpers + 1] = atomic_load(&generation);
        int rc = pthread_create(&tid, &at, helper, (void *)(long)(nhelpers + 1));
        pthread_attr_destroy(&at);
        if (rc != 0) break;
        nhelpers++;
    }
    int use = nhelpers + 1 < nt ? nhelpers + 1 : nt;   /* jobs [use, nt) run here */
    job_fn = fn;
    job_arg = arg;
    job_nt = use;
    atomic_store(&pending, use - 1);
    atomic_fetch_add(&generation, 1);
    pthread_cond_broadcast(&wake);
    pthread_mutex_unlock(&mu);
    fn(arg, 0);
    for (int t = use; t < nt; t++) fn(arg, t);
    for (int i = 0; i < SPIN_ROUNDS && atomic_load(&pending) > 0; i++) _mm_pause();
    pthread_mutex_lock(&mu);
    while (atomic_load(&pending) > 0) pthread_cond_wait(&done, &mu);
    pthread_mutex_unlock(&mu);
    pthread_mutex_unlock(&busy);
}

int ml_pool_threads_for(int m, int n, int k)
{
    double macs = (double)m * n * k;
    int nt = ml_threads_get(), cap = (int)(macs / 4e6);
    if (cap < 1) cap = 1;
    return nt < cap ? nt : cap;
}

int ml_pool_helpers(void)
{
    pthread_mutex_lock(&mu);
    int n = nhelpers;
    pthread_mutex_unlock(&mu);
    return n;
}
