/* clipmatch.h — the CLIP side of product recognition, used when CLIP weights are loaded.
 *
 * Holds one CLIP embedding per catalog entry: each product image's image embedding, or, for
 * a product with no image yet, the text embedding of "brand model: description" (CLIP puts
 * both in one space, so a photo can match a product nobody has photographed). A query:
 *   1. inner-product scan of the entries passing the request's filters (category, brand) in
 *      a vindex collection without a graph (int8 codes, the best CLIP_HEAD re-scored exactly
 *      in fp32); products ranked by their best entry;
 *   2. category = CLIP zero-shot over the category list (prompt ensembles, ml/zeroshot.h)
 *      averaged with a vote of the nearest products (weights exp((s - best) / CLIP_VOTE_T));
 *   3. brand likewise, over the brands of the chosen category ("<brand> <category>" prompts).
 * Confidences are the combined shares (they sum to 1 over all_predictions).
 *
 * Stored vectors: collections named after the model (recog_clip_collection), image entries
 * keyed by product image id, text entries by product id, so any process can rebuild.
 * Thread-safe: queries run in parallel (read lock); adds take the write lock. */
#ifndef RODEO_RECOG_CLIPMATCH_H
#define RODEO_RECOG_CLIPMATCH_H
#include "ml/clip.h"
#include "recog/engine.h"
#include <stddef.h>
#include <stdint.h>

#define CLIP_VOTE_N 10
#define CLIP_VOTE_T 0.05f
#define CLIP_ZS_WEIGHT 0.5f      /* share of zero-shot in the combined label confidence */
#define CLIP_HEAD 256            /* entries the scan keeps before grouping by product */
#define CLIP_WARM_MAX 2048       /* labels a warm-up embeds: half zero-shot's default cache */

typedef struct recog_clip recog_clip_t;

typedef enum { RECOG_CLIP_IMAGE = 0, RECOG_CLIP_TEXT = 1 } recog_clip_kind_t;

/* m is borrowed (must outlive the matcher) and must have a text tower. NULL + err otherwise. */
recog_clip_t *recog_clip_new(const clip_model_t *m, char *err, size_t errlen);
void   recog_clip_free(recog_clip_t *c);
int    recog_clip_dim(const recog_clip_t *c);
int    recog_clip_image_size(const recog_clip_t *c);
size_t recog_clip_count(recog_clip_t *c);
/* Store collection for kind: "product_clip_image:<model>:<dim>" / "product_clip_text:...". */
const char *recog_clip_collection(const recog_clip_t *c, recog_clip_kind_t kind);

/* Embeddings (L2-normalised, recog_clip_dim floats): of one intake tensor (3 x S x S), of one
 * text. 0 or -1. With batching on, concurrent image calls share one forward pass. */
int recog_clip_embed_image(recog_clip_t *c, const float *tensor, float *out);
int recog_clip_embed_text(recog_clip_t *c, const char *text, float *out);
/* Turns on request batching of recog_clip_embed_image (recog/batch.h): up to max_batch photos
 * per forward pass, up to max_passes passes at once, a leader waiting at most max_wait_us
 * for requests announced with recog_clip_expect. Call once, before queries start. 0, or -1
 * (already on). */
int  recog_clip_set_batching(recog_clip_t *c, int max_batch, int max_wait_us, int max_passes);
/* A photo is on its way to recog_clip_embed_image (+1) / will not come after all (-1).
 * No-op without batching. An announced photo that does come is embedded with
 * recog_clip_embed_image_announced(.., 1), which ends its announcement. */
void recog_clip_expect(recog_clip_t *c, int delta);
int  recog_clip_embed_image_announced(recog_clip_t *c, const float *tensor, float *out, int announced);
/* Passes run, photos embedded and the largest batch so far; -1 without batching. */
int  recog_clip_batch_stats(recog_clip_t *c, long *batches, long *items, int *largest);
/* "brand model: description" into buf. */
void recog_clip_product_text(const char *brand, const char *model, const char *description, char *buf,
                             size_t buflen);

/* Adds or replaces an entry (item_id: image id for IMAGE, product id for TEXT). Adding an image
 * drops the product's text entry; a text entry is ignored while the product has an image.
 * Returns 0, -1 on a bad vector (not unit length, NaN). */
int  recog_clip_add(recog_clip_t *c, recog_clip_kind_t kind, int64_t item_id, int64_t product_id,
                    const char *category, const char *brand, const float *vec);
void recog_clip_remove_product(recog_clip_t *c, int64_t product_id);
/* Does the product have an image entry? / a text entry? */
int  recog_clip_has_image(recog_clip_t *c, int64_t product_id);
int  recog_clip_has_text(recog_clip_t *c, int64_t product_id);
int  recog_clip_has_category(recog_clip_t *c, const char *category);
int  recog_clip_has_brand(recog_clip_t *c, const char *brand);

/* Warms the zero-shot label cache: embeds every label a query can ask for now — each
 * category with a live entry, and "<brand> <category>" for each pair with one — so the
 * first recognitions find them cached (a request needing a label being warmed waits for
 * it rather than computing it again, ml/zeroshot.h). Runs on the caller's thread (a
 * background one at start; again after imports add labels: cached labels cost a lookup),
 * stopping when *cancel (may be NULL) becomes non-zero. Categories come first, then pairs,
 * CLIP_WARM_MAX labels at most. Returns the labels covered, -1 when cancelled or an
 * embedding failed. */
int  recog_clip_warm_labels(recog_clip_t *c, const volatile int *cancel);
typedef struct {
    int    state;          /* 0 never ran, 1 running, 2 done, 3 failed or cancelled */
    long   done, total;    /* labels of the latest run */
    size_t computed;       /* label embeddings computed since start (by anyone) */
    double ms;             /* the latest run's time */
} recog_clip_warm_t;
void recog_clip_warm_status(recog_clip_t *c, recog_clip_warm_t *out);

/* Recognises one photo embedding. matches[].global = cosine, .score = max(0, cosine),
 * .verify = 0, .image_id = the entry's item (0 for a text entry). 0, or -1 on bad input. */
int recog_clip_query(recog_clip_t *c, const float *emb, const recog_query_t *q, recog_result_t *out);
/* The same, with the operator's classifier's category probabilities (classify.h; names
 * matched case-insensitively) in zero-shot's place for the category; the brand step then
 * follows the category so chosen. prior NULL / nprior 0: recog_clip_query. */
int recog_clip_query_prior(recog_clip_t *c, const float *emb, const recog_query_t *q, const recog_label_t *prior,
                           int nprior, recog_result_t *out);
#endif
