/* engine.h — the in-memory product recognition engine (classic features).
 *
 * Holds, per catalog image: its product, the product's category and brand, the feature
 * vector (in a vector index, inner product; exact below a few thousand images, HNSW above)
 * and the verification template with its keypoints. A query runs in three stages:
 *   1. the index returns the RECOG_CANDIDATES nearest images (request filters applied);
 *   2. each candidate's keypoints are matched to the photo's (localmatch.h):
 *      local = inliers / (inliers + RECOG_LOCAL_HALF), so a product whose corners reappear
 *      in one consistent arrangement rises even when clutter or an occluder spoilt its
 *      global vector;
 *   3. the best RECOG_VERIFY_TOP by global + RECOG_MU * local are aligned pixel by pixel
 *      (verify.h); score = (global + RECOG_MU * local + RECOG_LAMBDA * verify) /
 *      (1 + RECOG_MU + RECOG_LAMBDA), where verify is 0 for candidates stage 3 skipped.
 * Products are ranked by their best image. Category and brand are a vote of the top
 * products, each weighted by exp((score - best) / RECOG_VOTE_T): confidences are the vote
 * shares, so a photo that matches nothing well spreads its confidence instead of claiming
 * a certainty it does not have.
 *
 * Thread-safe: queries run in parallel (read lock); adds take the write lock. */
#ifndef RODEO_RECOG_ENGINE_H
#define RODEO_RECOG_ENGINE_H
#include "vision/features.h"
#include <stddef.h>
#include <stdint.h>

#define RECOG_CANDIDATES 150
#define RECOG_LAMBDA 0.25f
#define RECOG_MU 0.4f
#define RECOG_LOCAL_HALF 10.0f
#define RECOG_VERIFY_TOP 16
#define RECOG_VOTE_N 10
#define RECOG_VOTE_T 0.04f
#define RECOG_MAX_MATCHES 20
#define RECOG_MAX_LABELS 16
/* Vector collections in the store (vectors table), keyed by product image id. The suffix
 * follows FEATURES_VERSION: vectors of another layout or weighting are never compared;
 * after an upgrade the server recomputes them from the stored photos in the background
 * (src/recog/refresh.c), and `rodeo catalog import` (same file) does so in the foreground. */
#define RECOG_FEATURES_COLLECTION "product_features_v3"
#define RECOG_TEMPLATES_COLLECTION "product_templates_v3"

typedef struct recog_engine recog_engine_t;

typedef struct {
    int64_t product_id, image_id;
    float   score;      /* combined, 0..1 */
    float   global;     /* vector similarity */
    float   verify;     /* pixel alignment (verify.h); 0 when not computed */
} recog_match_t;

typedef struct {
    char  name[64];
    float confidence;
} recog_label_t;

typedef struct {
    recog_match_t matches[RECOG_MAX_MATCHES];
    int n_matches;
    recog_label_t categories[RECOG_MAX_LABELS];
    int n_categories;
    recog_label_t brands[RECOG_MAX_LABELS];
    int n_brands;
} recog_result_t;

typedef struct {
    int top_k;                 /* matches wanted (1..RECOG_MAX_MATCHES) */
    const char *category;      /* only products of this category (NULL: any) */
    const char *brand;         /* only this brand (NULL: any) */
} recog_query_t;

recog_engine_t *recog_engine_new(void);
void            recog_engine_free(recog_engine_t *e);
size_t          recog_engine_count(recog_engine_t *e);

/* Adds or replaces one catalog image. category/brand are copied (case kept for display,
 * compared case-insensitively). Returns 0, or -1 (err) on a bad vector. */
int recog_engine_add(recog_engine_t *e, int64_t image_id, int64_t product_id, const char *category,
                     const char *brand, const float *vec, const features_template_t *tpl, char *err,
                     size_t errlen);
/* Drops every image of a product. */
void recog_engine_remove_product(recog_engine_t *e, int64_t product_id);

/* Recognises one photo (its feature vector and template). Returns 0 (out filled; zero
 * matches when the catalog or the filtered subset is empty) or -1 on bad input. */
int recog_engine_query(recog_engine_t *e, const float *vec, const features_template_t *tpl,
                       const recog_query_t *q, recog_result_t *out);

/* The CLIP matcher (recog/clipmatch.h) used alongside the classic features when CLIP is
 * loaded: set takes ownership (freed with the engine; set before queries start); get
 * returns NULL when classic features are all there is. */
struct recog_clip;
void recog_engine_set_clip(recog_engine_t *e, struct recog_clip *c);
struct recog_clip *recog_engine_clip(recog_engine_t *e);

/* Is this category / brand known to the engine (case-insensitive)? For filter checks. */
int recog_engine_has_category(recog_engine_t *e, const char *category);
int recog_engine_has_brand(recog_engine_t *e, const char *brand);
#endif
