/* service.h — the process's inference models: one documented singleton, set up once at
 * start-up (ml_service_init) and read-only afterwards, shared by the inference API, the
 * recognition pipeline and the knowledge base.
 *
 * Local mode loads CLIP from CLIP_MODEL (default $RODEO_MODEL_DIR/clip-vit-base-patch32) and
 * the ViT classifier from VIT_MODEL when set. Missing weights are reported once, clearly, and
 * the features that need them answer "unavailable" (the server still starts). Remote mode
 * (INFERENCE_URL set) loads nothing and sends every call to that inference tier.
 * ML_PRECISION=bf16 selects the bfloat16 matrix path where the CPU has AVX512_BF16,
 * ML_PRECISION=int8 the int8 path where it has AVX512_VNNI, ML_PRECISION=reduced the fastest
 * of the two the CPU has (fp32 is the default and the reference). RODEO_THREADS sets the
 * matrix threads. */
#ifndef RODEO_ML_SERVICE_H
#define RODEO_ML_SERVICE_H
#include "ml/clip.h"
#include "ml/vit.h"
#include "ml/zeroshot.h"
#include <stddef.h>

/* The CLIP_LOAD_* precision flags for an ML_PRECISION value on this CPU: 0 (fp32) for NULL,
 * "", "fp32" or a path the CPU lacks; -1 for an unknown value. */
int  ml_service_precision_flags(const char *value);
/* Loads the models from g_config (never fails for missing weights; returns 0). */
int  ml_service_init(void);
void ml_service_shutdown(void);

/* Local models, or NULL (not configured, missing, or remote mode). */
const clip_model_t *ml_service_clip(void);
const vit_model_t  *ml_service_vit(void);
/* 1 when CLIP embeddings can be computed (locally, or remotely in remote mode). */
int  ml_service_clip_ready(void);
/* Why CLIP is unavailable (a sentence for a 503 detail); "" when ready. */
const char *ml_service_clip_error(void);
/* The model's name ("clip-vit-base-patch32"), its embedding size and input side (remote mode:
 * learnt from the first answer; 0 before). */
const char *ml_service_clip_name(void);
int  ml_service_clip_dim(void);
int  ml_service_clip_image_size(void);

/* Embeddings (L2-normalised) of n CLIP-normalised 3 x S x S tensors / of n texts into a new
 * array (*out, n x *dim floats; caller frees). Returns 0, or -1 with a message. */
int  ml_service_embed_images(const float *pixels, int n, float **out, int *dim, char *err, size_t errlen);
int  ml_service_embed_texts(const char *const *texts, int n, float **out, int *dim, char *err, size_t errlen);
/* Zero-shot: probabilities of n labels for one image tensor, best first. */
int  ml_service_classify(const float *pixels, const char *const *labels, int n, zeroshot_score_t *out,
                         char *err, size_t errlen);
#endif
