/* vit.h — ViT image classifier from a Hugging Face ViTForImageClassification directory
 * (config.json with sizes and id2label, model.safetensors with vit.* and classifier.*).
 * Input images are 3 x S x S float32 CHW, already normalised the way the model was trained
 * (usually mean 0.5, std 0.5). A loaded model is read-only and thread-safe. */
#ifndef RODEO_ML_VIT_H
#define RODEO_ML_VIT_H
#include <stddef.h>

typedef struct vit_model vit_model_t;

typedef struct {
    int         index;
    const char *label;      /* owned by the model */
    float       score;      /* softmax probability */
} vit_prediction_t;

/* flags: CLIP_LOAD_BF16 / CLIP_LOAD_INT8 from clip.h select the bf16 / int8 matrix path. */
vit_model_t *vit_load(const char *dir, int flags, char *err, size_t errlen);
void vit_free(vit_model_t *m);
int  vit_image_size(const vit_model_t *m);
int  vit_num_labels(const vit_model_t *m);
const char *vit_label(const vit_model_t *m, int i);    /* id2label, or "LABEL_i" */
/* Raw classifier logits for n images into out[n][labels]. */
int  vit_logits(const vit_model_t *m, const float *pixels, int n, float *out);
/* The k most probable labels of one image, best first. Returns how many were written. */
int  vit_classify(const vit_model_t *m, const float *pixels, vit_prediction_t *top, int k);
#endif
