/* pool.h — a small fixed pool of worker threads with a bounded FIFO queue, for slow request
 * work (recognition) that must not run on the HTTP server's threads.
 *
 * Jobs run in submission order on whichever worker is free. Stopping (recog_pool_free) lets
 * every job already queued run to completion, so a deferred HTTP response is always
 * answered; submissions after that are refused. */
#ifndef RODEO_RECOG_POOL_H
#define RODEO_RECOG_POOL_H
#include <stddef.h>

typedef struct recog_pool recog_pool_t;
typedef void (*recog_pool_fn)(void *arg);

/* threads >= 1; max_queue >= 1 jobs waiting (running ones not counted). NULL when no thread
 * could be started. */
recog_pool_t *recog_pool_new(int threads, int max_queue);
/* Queues fn(arg). 0, or -1 when the queue is full or the pool is stopping (arg untouched:
 * the caller still owns it). */
int  recog_pool_submit(recog_pool_t *p, recog_pool_fn fn, void *arg);
/* Jobs queued or running. */
int  recog_pool_busy(recog_pool_t *p);
int  recog_pool_threads(const recog_pool_t *p);
/* Runs what is queued, joins the workers, frees. NULL is fine. */
void recog_pool_free(recog_pool_t *p);
#endif
