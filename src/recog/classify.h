/* classify.h — the operator's category classifier (a Hugging Face ViT image classifier,
 * VIT_MODEL) in product recognition.
 *
 * The classifier's labels (id2label) are matched case-insensitively to the catalog's
 * categories; labels that name no category are ignored and the remaining probabilities
 * renormalised. When at least one label matches, the classifier takes the place CLIP
 * zero-shot has in the category fusion (clipmatch.h) and joins the neighbours' vote with
 * the same weight in the classic path: confidence = CLIP_ZS_WEIGHT * classifier share +
 * (1 - CLIP_ZS_WEIGHT) * vote share. */
#ifndef RODEO_RECOG_CLASSIFY_H
#define RODEO_RECOG_CLASSIFY_H
#include "ml/vit.h"
#include "recog/engine.h"
#include "vision/intake.h"

#define RECOG_CLASSIFIER_MAX 64      /* labels kept from the classifier (best first) */

/* The classifier's probabilities for one accepted photo, best first, at most max labels.
 * Input: the intake's upright thumbnail resized to the model's square input (bilinear,
 * aspect not kept, as Hugging Face's ViTImageProcessor does), scaled with mean 0.5 and
 * std 0.5. Returns the count written, or -1 (no thumbnail, or the model failed). */
int recog_classifier_predict(const vit_model_t *m, const vision_intake_t *in, recog_label_t *out, int max);

/* Fuses the classifier's labels into a vote's labels (shares summing to 1, best first),
 * in place: candidates are the vote's labels plus the classifier's labels that known()
 * accepts (and, with only set, equal to it case-insensitively); a classifier label takes
 * the spelling of the vote label it matches. Without any accepted classifier label the
 * vote is left as it is. Returns the new count (<= cap), best first. */
typedef int (*recog_known_fn)(void *ctx, const char *name);
int recog_fuse_classifier(recog_label_t *labels, int n, int cap, const recog_label_t *cls, int ncls,
                          const char *only, recog_known_fn known, void *ctx);
#endif
