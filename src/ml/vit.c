/* vit.c — ViTForImageClassification forward pass: patch embedding with bias, class token +
 * positions, pre-norm encoder (GELU, eps 1e-12 by default), final layer norm on the class
 * token, linear classifier. Shares the encoder with CLIP; only the names differ. */
#include "ml/vit.h"
#include "ml/clip.h"
#include "ml/encoder.h"
#include "ml/patch.h"
#include "ml/weights.h"
#include "core/buf.h"
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct vit_model {
    ml_weights_t w;
    ml_encoder_t enc;
    const float *cls, *pos, *patch_b, *ln_g, *ln_b, *head_b;
    ml_matrix_t  patch_w, head;
    int          size, patch, tokens, nlabels;
    char       **labels;
};

void vit_free(vit_model_t *m)
{
    if (!m) return;
    ml_encoder_free(&m->enc);
    if (m->labels) for (int i = 0; i < m->nlabels; i++) free(m->labels[i]);
    free(m->labels);
    ml_weights_close(&m->w);
    free(m);
}

static int load(vit_model_t *m, json_t *cfg)
{
    ml_encoder_t *e = &m->enc;
    e->dim = ml_json_int(cfg, "hidden_size", 768);
    e->mlp = ml_json_int(cfg, "intermediate_size", 3072);
    e->heads = ml_json_int(cfg, "num_attention_heads", 12);
    e->nlayers = ml_json_int(cfg, "num_hidden_layers", 12);
    e->eps = (float)ml_json_num(cfg, "layer_norm_eps", 1e-12);
    json_t *a = json_object_get(cfg, "hidden_act");
    const char *act = json_is_string(a) ? json_string_value(a) : "gelu";
    if (!strcmp(act, "gelu")) e->act = ML_ACT_GELU;
    else if (!strcmp(act, "quick_gelu")) e->act = ML_ACT_QUICK_GELU;
    else { snprintf(m->w.err, sizeof m->w.err, "hidden_act '%.32s' is not supported", act); return -1; }
    m->size = ml_json_int(cfg, "image_size", 224);
    m->patch = ml_json_int(cfg, "patch_size", 16);
    if (m->patch <= 0 || m->size <= 0 || m->size % m->patch || m->size > 4096) {
        snprintf(m->w.err, sizeof m->w.err, "image_size %d is not a multiple of patch_size %d", m->size, m->patch);
        return -1;
    }
    int g = m->size / m->patch;
    m->tokens = g * g + 1;
    int64_t D = e->dim;
    int64_t cshape[3] = {1, 1, D}, pshape[3] = {1, m->tokens, D}, wshape[4] = {D, 3, m->patch, m->patch};
    m->cls = ml_weights_get(&m->w, "vit.embeddings.cls_token", 3, cshape);
    m->pos = ml_weights_get(&m->w, "vit.embeddings.position_embeddings", 3, pshape);
    const float *pw = ml_weights_get(&m->w, "vit.embeddings.patch_embeddings.projection.weight", 4, wshape);
    m->patch_b = ml_weights_vec(&m->w, D, "vit.embeddings.patch_embeddings.projection.bias");
    m->ln_g = ml_weights_vec(&m->w, D, "vit.layernorm.weight");
    m->ln_b = ml_weights_vec(&m->w, D, "vit.layernorm.bias");
    if (!m->cls || !m->pos || !pw || !m->patch_b || !m->ln_g || !m->ln_b) return -1;
    m->patch_w = (ml_matrix_t){pw, NULL, (int)D, 3 * m->patch * m->patch, NULL};
    ml_weights_prepare(&m->w, &m->patch_w, "vit.embeddings.patch_embeddings.projection.weight");
    const st_tensor_t *ct = safetensors_find(m->w.st, "classifier.weight");
    if (!ct || ct->ndim != 2 || ct->shape[0] < 1 || ct->shape[0] > 1000000) {
        snprintf(m->w.err, sizeof m->w.err, "missing or malformed tensor 'classifier.weight'");
        return -1;
    }
    m->nlabels = (int)ct->shape[0];
    if (ml_weights_mat(&m->w, &m->head, m->nlabels, D, "classifier.weight")) return -1;
    m->head_b = ml_weights_vec(&m->w, m->nlabels, "classifier.bias");
    if (!m->head_b) return -1;
    m->labels = xcalloc((size_t)m->nlabels, sizeof *m->labels);
    json_t *id2label = json_object_get(cfg, "id2label");
    for (int i = 0; i < m->nlabels; i++) {
        char key[16];
        snprintf(key, sizeof key, "%d", i);
        json_t *l = json_object_get(id2label, key);
        if (json_is_string(l)) m->labels[i] = xstrdup(json_string_value(l));
        else { buf_t b = {0}; buf_printf(&b, "LABEL_%d", i); m->labels[i] = buf_steal(&b); }
    }
    static const ml_layer_names_t names = {
        "vit.encoder.layer.%d.", "layernorm_before", "layernorm_after", "attention.attention.query",
        "attention.attention.key", "attention.attention.value", "attention.output.dense",
        "intermediate.dense", "output.dense"};
    return ml_encoder_load(e, &m->w, &names);
}

vit_model_t *vit_load(const char *dir, int flags, char *err, size_t errlen)
{
    buf_t cp = {0}, sp = {0};
    buf_printf(&cp, "%s/config.json", dir);
    buf_printf(&sp, "%s/model.safetensors", dir);
    json_error_t jerr;
    json_t *cfg = json_load_file(cp.data, 0, &jerr);
    vit_model_t *m = NULL;
    if (!cfg || !json_is_object(cfg)) {
        snprintf(err, errlen, "%s: %s", cp.data, cfg ? "not a JSON object" : jerr.text);
        goto out;
    }
    m = xcalloc(1, sizeof *m);
    if (ml_weights_open(&m->w, sp.data, clip_weights_flags(flags), err, errlen) != 0) {
        free(m);
        m = NULL;
        goto out;
    }
    if (load(m, cfg) != 0) {
        snprintf(err, errlen, "%s: %s", dir, m->w.err);
        vit_free(m);
        m = NULL;
    }
out:
    if (cfg) json_decref(cfg);
    buf_free(&cp);
    buf_free(&sp);
    return m;
}

int vit_image_size(const vit_model_t *m) { return m->size; }
int vit_num_labels(const vit_model_t *m) { return m->nlabels; }
const char *vit_label(const vit_model_t *m, int i) { return i >= 0 && i < m->nlabels ? m->labels[i] : NULL; }

int vit_logits(const vit_model_t *m, const float *pixels, int n, float *out)
{
    if (n <= 0) return -1;
    int D = m->enc.dim, T = m->tokens, np = T - 1;
    float *x = ml_scratch_get(1, (size_t)n * T * D + (size_t)n * np * D + (size_t)n * D);
    float *pe = x + (size_t)n * T * D, *pooled = pe + (size_t)n * np * D;
    ml_patch_embed(pe, pixels, n, m->size, m->patch, &m->patch_w, m->patch_b);
    for (int b = 0; b < n; b++) {
        float *xb = x + (size_t)b * T * D;
        for (int d = 0; d < D; d++) xb[d] = m->cls[d] + m->pos[d];
        for (int p = 0; p < np; p++)
            for (int d = 0; d < D; d++)
                xb[(size_t)(p + 1) * D + d] = pe[((size_t)b * np + p) * D + d] + m->pos[(size_t)(p + 1) * D + d];
    }
    ml_encoder_forward(&m->enc, x, n, T);
    for (int b = 0; b < n; b++)
        ml_layernorm(pooled + (size_t)b * D, x + (size_t)b * T * D, m->ln_g, m->ln_b, 1, D, m->enc.eps);
    ml_linear(out, pooled, &m->head, m->head_b, n, 0, ML_ACT_NONE);
    ml_scratch_release(1, x);
    return 0;
}

int vit_classify(const vit_model_t *m, const float *pixels, vit_prediction_t *top, int k)
{
    if (k <= 0) return 0;
    float *p = xmalloc((size_t)m->nlabels * sizeof *p);
    vit_logits(m, pixels, 1, p);
    ml_softmax_row(p, m->nlabels, m->nlabels);
    if (k > m->nlabels) k = m->nlabels;
    for (int i = 0; i < k; i++) {              /* partial selection: k is small */
        int best = -1;
        for (int j = 0; j < m->nlabels; j++)
            if (p[j] >= 0 && (best < 0 || p[j] > p[best])) best = j;
        top[i] = (vit_prediction_t){best, m->labels[best], p[best]};
        p[best] = -1.0f;
    }
    free(p);
    return k;
}
