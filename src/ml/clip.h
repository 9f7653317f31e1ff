/* clip.h — CLIP image and text embeddings on the CPU from a Hugging Face model directory
 * (config.json, model.safetensors with vision_model.* / text_model.* / visual_projection /
 * text_projection / logit_scale, vocab.json + merges.txt). Sizes come from config.json
 * (Hugging Face defaults for absent keys), so ViT-B/32, B/16 and L/14 all load.
 *
 * A loaded model is read-only: any number of threads may embed concurrently. */
#ifndef RODEO_ML_CLIP_H
#define RODEO_ML_CLIP_H
#include <stddef.h>
#include <stdint.h>

typedef struct clip_model clip_model_t;

enum {
    CLIP_LOAD_BF16 = 1,        /* use the bfloat16 matrix path (when the CPU has AVX512_BF16) */
    CLIP_LOAD_NO_TEXT = 2,     /* skip the text tower and tokenizer */
    CLIP_LOAD_INT8 = 4,        /* use the int8 matrix path (when the CPU has AVX512_VNNI); wins over bf16 */
};

/* Loads dir. Returns NULL with a message naming the missing file or bad tensor. */
clip_model_t *clip_load(const char *dir, int flags, char *err, size_t errlen);
void clip_free(clip_model_t *m);

int   clip_image_size(const clip_model_t *m);     /* input side, e.g. 224 */
int   clip_embed_dim(const clip_model_t *m);      /* projection dim, e.g. 512 */
int   clip_context(const clip_model_t *m);        /* text context, e.g. 77 */
int   clip_has_text(const clip_model_t *m);
int   clip_uses_bf16(const clip_model_t *m);
int   clip_uses_int8(const clip_model_t *m);
const char *clip_precision(const clip_model_t *m); /* "int8", "bf16" or "fp32" */
/* CLIP_LOAD_* precision flags as ml_weights_open flags (weights.h); shared with vit_load. */
int   clip_weights_flags(int load_flags);
float clip_logit_scale(const clip_model_t *m);    /* exp(logit_scale) */
const char *clip_name(const clip_model_t *m);     /* directory base name */

/* pixels: n images of 3 x S x S float32 (CHW, already CLIP-normalised). out: n x dim,
 * L2-normalised. Returns 0, or -1 for n <= 0. */
int clip_embed_images(const clip_model_t *m, const float *pixels, int n, float *out);
/* Tokenises and embeds n texts into out (n x dim, L2-normalised). -1 without a text tower. */
int clip_embed_texts(const clip_model_t *m, const char *const *texts, int n, float *out);
/* Embeds pre-tokenised ids (n x context; each row holds an end token, see bpe_encode).
 * Runs only up to the last end token of the batch: the causal mask makes the rest moot. */
int clip_embed_tokens(const clip_model_t *m, const int32_t *ids, int n, float *out);
/* The model's tokenizer (NULL without text). */
const struct bpe *clip_tokenizer(const clip_model_t *m);
#endif
