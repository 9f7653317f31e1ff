/* pool.h — persistent helper threads for the matrix products. A ViT-B/32 image runs ~75
 * products; creating and joining threads for each one costs tens of microseconds a time, so
 * the helpers are started once and parked on a condition variable between products.
 *
 * One product at a time uses the pool; a caller that finds it busy (several requests
 * embedding concurrently) runs its product with freshly created threads instead, as before,
 * so concurrent callers never wait on each other. */
#ifndef RODEO_ML_POOL_H
#define RODEO_ML_POOL_H

/* Runs fn(arg, t) for every t in [0, nt): t = 0 on the calling thread, the others on helper
 * threads; returns when all have finished. nt is clamped to [1, 16]. */
void ml_pool_run(int nt, void (*fn)(void *arg, int t), void *arg);
/* Threads worth using for a product of m x n x k multiply-adds: ml_threads_get(), but one
 * per 4 M multiply-adds at most (a 2.4 M product takes ~10 us on one core; handing half of
 * it to a helper costs a wake-up, and on a loaded machine a wait for its time slice). */
int  ml_pool_threads_for(int m, int n, int k);
/* Number of helper threads started so far (tests). */
int  ml_pool_helpers(void);
#endif
