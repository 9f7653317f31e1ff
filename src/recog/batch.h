/* batch.h — request batching for image embeddings.
 *
 * A model forward pass over n images costs much less than n passes of one (the matrix
 * products get wider; bench/results/ml.md: ViT-B/32 on 2 threads, 43.7 ms/image at batch 1,
 * 27.9 at batch 8). Concurrent recognitions therefore hand their tensors to one batcher:
 * the first caller becomes the leader, waits up to max_wait_us for more tensors — but only
 * while some request announced with recog_batcher_expect is still on its way (its intake
 * running), so a lone request never waits — then runs one pass over up to max_batch
 * tensors and hands every caller its row. Callers that arrive while max_passes passes run
 * form the next batch. Several passes may run at once (max_passes): on a machine with more
 * cores than one pass's matrix threads use, one pass at a time would leave cores idle.
 * Thread-safe; the embed function must be too. */
#ifndef RODEO_RECOG_BATCH_H
#define RODEO_RECOG_BATCH_H
#include <stddef.h>

typedef struct recog_batcher recog_batcher_t;

/* Embeds n tensors (n x in_floats, contiguous) into out (n x dim). 0 or -1. */
typedef int (*recog_embed_fn)(void *ctx, const float *tensors, int n, float *out);

typedef struct {
    long batches, items;   /* passes run, tensors embedded */
    int  largest;          /* largest batch so far */
} recog_batch_stats_t;

/* in_floats: floats per tensor; dim: floats per embedding; max_batch >= 1 (1 = no
 * batching); max_wait_us >= 0; max_passes >= 1 passes at once. */
recog_batcher_t *recog_batcher_new(recog_embed_fn fn, void *ctx, size_t in_floats, int dim, int max_batch,
                                   int max_wait_us, int max_passes);
void recog_batcher_free(recog_batcher_t *b);
/* A request will (delta +1) / will no longer (-1) call recog_batcher_embed soon. */
void recog_batcher_expect(recog_batcher_t *b, int delta);
/* One tensor's embedding into out (dim floats), computed in a shared pass. Blocks until
 * done. announced: the caller was counted with recog_batcher_expect(+1); its arrival ends
 * that under the same lock as its enqueue, so a collecting leader never sees the
 * announcement gone before the tensor is there. 0, or -1 when the pass failed. */
int  recog_batcher_embed(recog_batcher_t *b, const float *tensor, float *out, int announced);
void recog_batcher_stats(recog_batcher_t *b, recog_batch_stats_t *out);
#endif
