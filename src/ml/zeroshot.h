/* zeroshot.h — zero-shot classification with CLIP: each label becomes a prompt ensemble
 * ("a photo of a {}.", "a product photo of {}.", ...), whose text embeddings are averaged and
 * re-normalised, and cached (labels repeat across requests); an image embedding is scored
 * against the labels by softmax(logit_scale x cosine). Thread-safe: a label is computed
 * once; a thread needing a label another thread is computing waits for that result (so a
 * warm-up at start and the first requests never embed the same label twice). */
#ifndef RODEO_ML_ZEROSHOT_H
#define RODEO_ML_ZEROSHOT_H
#include "ml/clip.h"
#include <stddef.h>

typedef struct zeroshot zeroshot_t;

typedef struct {
    int   index;         /* position in the caller's label array */
    float score;         /* probability; the scores of one call sum to 1 */
} zeroshot_score_t;

/* templates: NULL-terminated, each with one "{}" for the label; NULL selects the defaults.
 * cache_max: labels kept (0: 4096); when full the cache starts over. The model must outlive
 * the classifier. Returns NULL when the model has no text tower. */
zeroshot_t *zeroshot_new(const clip_model_t *m, const char *const *templates, size_t cache_max);
void zeroshot_free(zeroshot_t *z);
/* The normalised ensemble embedding of label into out (clip_embed_dim floats): from the
 * cache, by waiting for another thread computing it, or computed here. */
int  zeroshot_label_embedding(zeroshot_t *z, const char *label, float *out);
/* Scores n labels for one L2-normalised image embedding; out[n] sorted by score, best first.
 * Returns 0, or -1 for n <= 0. */
int  zeroshot_classify(zeroshot_t *z, const float *image_emb, const char *const *labels, int n,
                       zeroshot_score_t *out);
/* Cache statistics (for tests and metrics): hits, and misses (computed or waited for). */
void zeroshot_cache_stats(zeroshot_t *z, size_t *hits, size_t *misses);
/* Label embeddings computed so far (the text tower actually ran for them). */
size_t zeroshot_computed(zeroshot_t *z);
/* What the calling thread spent on label embeddings that were not cached (computing them,
 * or waiting for another thread computing them) since its previous call, over every
 * classifier: microseconds and labels. Resets the thread's counters. For per-request
 * timings: a warm cache reads 0. */
void zeroshot_thread_usage(int64_t *us, long *labels);
#endif
