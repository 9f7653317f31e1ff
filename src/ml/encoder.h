/* encoder.h — the pre-norm transformer encoder shared by the CLIP vision and text towers and
 * the ViT classifier: x += attn(LN1(x)); x += MLP(LN2(x)). Only the tensor names, the
 * activation, the layer-norm epsilon and the causal mask differ between them. */
#ifndef RODEO_ML_ENCODER_H
#define RODEO_ML_ENCODER_H
#include "ml/kernels.h"
#include "ml/weights.h"

typedef struct {
    const float *ln1_g, *ln1_b, *ln2_g, *ln2_b;
    ml_matrix_t  q, k, v, o, fc1, fc2;
    const float *q_b, *k_b, *v_b, *o_b, *fc1_b, *fc2_b;
} ml_layer_t;

typedef struct {
    int          dim, heads, mlp, nlayers;
    float        eps;
    enum ml_act  act;
    int          causal;
    ml_layer_t  *layers;          /* owned */
} ml_encoder_t;

/* printf formats (one %d: the layer index) for each tensor of a layer, after a prefix. */
typedef struct {
    const char *layer;            /* e.g. "vision_model.encoder.layers.%d." */
    const char *ln1, *ln2, *q, *k, *v, *o, *fc1, *fc2;   /* e.g. "layer_norm1", "self_attn.q_proj" */
} ml_layer_names_t;

/* Looks up every tensor of e->nlayers layers (e's sizes set by the caller). Returns 0 or -1
 * with the first problem in w->err. */
int  ml_encoder_load(ml_encoder_t *e, ml_weights_t *w, const ml_layer_names_t *names);
void ml_encoder_free(ml_encoder_t *e);
/* Runs all layers in place over x = [batch][tokens][dim]. Scratch is allocated once per call. */
void ml_encoder_forward(const ml_encoder_t *e, float *x, int batch, int tokens);
#endif
