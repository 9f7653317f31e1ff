/* clip.c — CLIP vision and text towers (see clip.h).
 *
 * Vision: patch embedding, class token + positions, pre-LN ("pre_layrnorm" in the HF names),
 * encoder, post-LN on the class token, projection, L2 norm. Text: token + position embedding,
 * causal encoder, final LN at the end-of-text token, projection, L2 norm. The text tower runs
 * only over the first L positions, L = last end token + 1 in the batch: under the causal mask
 * nothing after a row's end token can change it. */
#include "ml/clip.h"
#include "ml/bpe.h"
#include "ml/encoder.h"
#include "ml/patch.h"
#include "ml/weights.h"
#include "core/buf.h"
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct {
    ml_encoder_t enc;
    const float *ln_pre_g, *ln_pre_b, *ln_post_g, *ln_post_b;
    const float *class_emb, *pos_emb;
    ml_matrix_t patch_w, proj;
    int size, patch, tokens;
} vision_t;

typedef struct {
    ml_encoder_t enc;
    const float *tok_emb, *pos_emb, *ln_g, *ln_b;
    ml_matrix_t proj;
    int vocab, ctx, eos;
} text_t;

struct clip_model {
    ml_weights_t w;
    vision_t     vis;
    text_t       txt;
    int          has_text, dim;
    float        logit_scale;
    bpe_t       *bpe;
    char        *name;
};

static enum ml_act parse_act(json_t *cfg, const char *def)
{
    json_t *a = json_object_get(cfg, "hidden_act");
    const char *s = json_is_string(a) ? json_string_value(a) : def;
    if (!strcmp(s, "quick_gelu")) return ML_ACT_QUICK_GELU;
    if (!strcmp(s, "gelu")) return ML_ACT_GELU;
    return (enum ml_act)-1;
}

static int load_vision(clip_model_t *m, json_t *vc)
{
    vision_t *v = &m->vis;
    ml_encoder_t *e = &v->enc;
    e->dim = ml_json_int(vc, "hidden_size", 768);
    e->mlp = ml_json_int(vc, "intermediate_size", 3072);
    e->heads = ml_json_int(vc, "num_attention_heads", 12);
    e->nlayers = ml_json_int(vc, "num_hidden_layers", 12);
    e->eps = (float)ml_json_num(vc, "layer_norm_eps", 1e-5);
    e->act = parse_act(vc, "quick_gelu");
    v->size = ml_json_int(vc, "image_size", 224);
    v->patch = ml_json_int(vc, "patch_size", 32);
    if ((int)e->act < 0) { snprintf(m->w.err, sizeof m->w.err, "vision_config.hidden_act is not gelu or quick_gelu"); return -1; }
    if (v->patch <= 0 || v->size <= 0 || v->size % v->patch || v->size > 4096) {
        snprintf(m->w.err, sizeof m->w.err, "vision_config: image_size %d is not a multiple of patch_size %d", v->size, v->patch);
        return -1;
    }
    int g = v->size / v->patch;
    v->tokens = g * g + 1;
    int64_t D = e->dim;
    int64_t pshape[4] = {D, 3, v->patch, v->patch}, posshape[2] = {v->tokens, D};
    const float *pw = ml_weights_get(&m->w, "vision_model.embeddings.patch_embedding.weight", 4, pshape);
    v->class_emb = ml_weights_vec(&m->w, D, "vision_model.embeddings.class_embedding");
    v->pos_emb = ml_weights_get(&m->w, "vision_model.embeddings.position_embedding.weight", 2, posshape);
    v->ln_pre_g = ml_weights_vec(&m->w, D, "vision_model.pre_layrnorm.weight");
    v->ln_pre_b = ml_weights_vec(&m->w, D, "vision_model.pre_layrnorm.bias");
    v->ln_post_g = ml_weights_vec(&m->w, D, "vision_model.post_layernorm.weight");
    v->ln_post_b = ml_weights_vec(&m->w, D, "vision_model.post_layernorm.bias");
    if (!pw || !v->class_emb || !v->pos_emb || !v->ln_pre_g || !v->ln_pre_b || !v->ln_post_g || !v->ln_post_b)
        return -1;
    /* The conv weight [D][3][P][P] is a [D][3PP] matrix as laid out in memory. */
    v->patch_w = (ml_matrix_t){pw, NULL, (int)D, 3 * v->patch * v->patch, NULL};
    ml_weights_prepare(&m->w, &v->patch_w, "vision_model.embeddings.patch_embedding.weight");
    if (ml_weights_mat(&m->w, &v->proj, m->dim, D, "visual_projection.weight")) return -1;
    static const ml_layer_names_t names = {
        "vision_model.encoder.layers.%d.", "layer_norm1", "layer_norm2", "self_attn.q_proj",
        "self_attn.k_proj", "self_attn.v_proj", "self_attn.out_proj", "mlp.fc1", "mlp.fc2"};
    return ml_encoder_load(e, &m->w, &names);
}

static int load_text(clip_model_t *m, json_t *tc)
{
    text_t *t = &m->txt;
    ml_encoder_t *e = &t->enc;
    e->dim = ml_json_int(tc, "hidden_size", 512);
    e->mlp = ml_json_int(tc, "intermediate_size", 2048);
    e->heads = ml_json_int(tc, "num_attention_heads", 8);
    e->nlayers = ml_json_int(tc, "num_hidden_layers", 12);
    e->eps = (float)ml_json_num(tc, "layer_norm_eps", 1e-5);
    e->act = parse_act(tc, "quick_gelu");
    e->causal = 1;
    t->vocab = ml_json_int(tc, "vocab_size", 49408);
    t->ctx = ml_json_int(tc, "max_position_embeddings", 77);
    if ((int)e->act < 0) { snprintf(m->w.err, sizeof m->w.err, "text_config.hidden_act is not gelu or quick_gelu"); return -1; }
    if (t->ctx < 2 || t->ctx > 4096 || t->vocab < 2) {
        snprintf(m->w.err, sizeof m->w.err, "text_config: bad context %d or vocabulary %d", t->ctx, t->vocab);
        return -1;
    }
    int64_t D = e->dim;
    int64_t tshape[2] = {t->vocab, D}, pshape[2] = {t->ctx, D};
    t->tok_emb = ml_weights_get(&m->w, "text_model.embeddings.token_embedding.weight", 2, tshape);
    t->pos_emb = ml_weights_get(&m->w, "text_model.embeddings.position_embedding.weight", 2, pshape);
    t->ln_g = ml_weights_vec(&m->w, D, "text_model.final_layer_norm.weight");
    t->ln_b = ml_weights_vec(&m->w, D, "text_model.final_layer_norm.bias");
    if (!t->tok_emb || !t->pos_emb || !t->ln_g || !t->ln_b) return -1;
    if (ml_weights_mat(&m->w, &t->proj, m->dim, D, "text_projection.weight")) return -1;
    static const ml_layer_names_t names = {
        "text_model.encoder.layers.%d.", "layer_norm1", "layer_norm2", "self_attn.q_proj",
        "self_attn.k_proj", "self_attn.v_proj", "self_attn.out_proj", "mlp.fc1", "mlp.fc2"};
    return ml_encoder_load(e, &m->w, &names);
}

void clip_free(clip_model_t *m)
{
    if (!m) return;
    ml_encoder_free(&m->vis.enc);
    ml_encoder_free(&m->txt.enc);
    bpe_free(m->bpe);
    ml_weights_close(&m->w);
    free(m->name);
    free(m);
}

static char *path_join(const char *dir, const char *file)
{
    buf_t b = {0};
    buf_printf(&b, "%s/%s", dir, file);
    return buf_steal(&b);
}

int clip_weights_flags(int load_flags)
{
    return (load_flags & CLIP_LOAD_INT8 ? ML_WEIGHTS_INT8 : 0) | (load_flags & CLIP_LOAD_BF16 ? ML_WEIGHTS_BF16 : 0);
}

clip_model_t *clip_load(const char *dir, int flags, char *err, size_t errlen)
{
    char *cfg_path = path_join(dir, "config.json"), *st_path = path_join(dir, "model.safetensors");
    json_error_t jerr;
    json_t *cfg = json_load_file(cfg_path, 0, &jerr);
    clip_model_t *m = NULL;
    if (!cfg || !json_is_object(cfg)) {
        snprintf(err, errlen, "%s: %s", cfg_path, cfg ? "not a JSON object" : jerr.text);
        goto out;
    }
    m = xcalloc(1, sizeof *m);
    const char *slash = strrchr(dir, '/');
    m->name = xstrdup(slash && slash[1] ? slash + 1 : dir);
    if (ml_weights_open(&m->w, st_path, clip_weights_flags(flags), err, errlen) != 0) { clip_free(m); m = NULL; goto out; }
    m->dim = ml_json_int(cfg, "projection_dim", 512);
    if (m->dim <= 0 || m->dim > 65536) { snprintf(err, errlen, "%s: bad projection_dim", cfg_path); clip_free(m); m = NULL; goto out; }
    int64_t one = 1;
    const float *ls = ml_weights_has(&m->w, "logit_scale") ? ml_weights_get(&m->w, "logit_scale", 0, &one) : NULL;
    m->logit_scale = ls ? expf(*ls) : 100.0f;
    m->w.err[0] = '\0';
    int rc = load_vision(m, json_object_get(cfg, "vision_config"));
    if (rc == 0 && !(flags & CLIP_LOAD_NO_TEXT)) {
        rc = load_text(m, json_object_get(cfg, "text_config"));
        if (rc == 0) {
            char *vp = path_join(dir, "vocab.json"), *mp = path_join(dir, "merges.txt");
            m->bpe = bpe_load(vp, mp, m->w.err, sizeof m->w.err);
            free(vp);
            free(mp);
            if (!m->bpe) rc = -1;
            else m->txt.eos = bpe_eot(m->bpe);
            m->has_text = m->bpe != NULL;
        }
    }
    if (rc != 0) {
        snprintf(err, errlen, "%s: %s", dir, m->w.err[0] ? m->w.err : "cannot load model");
        clip_free(m);
        m = NULL;
    }
out:
    if (cfg) json_decref(cfg);
    free(cfg_path);
    free(st_path);
    return m;
}

int   clip_image_size(const clip_model_t *m) { return m->vis.size; }
int   clip_embed_dim(const clip_model_t *m) { return m->dim; }
int   clip_context(const clip_model_t *m) { return m->txt.ctx; }
int   clip_has_text(const clip_model_t *m) { return m->has_text; }
int   clip_uses_bf16(const clip_model_t *m) { return m->w.bf16; }
int   clip_uses_int8(const clip_model_t *m) { return m->w.int8; }
const char *clip_precision(const clip_model_t *m) { return m->w.int8 ? "int8" : m->w.bf16 ? "bf16" : "fp32"; }
float clip_logit_scale(const clip_model_t *m) { return m->logit_scale; }
const char *clip_name(const clip_model_t *m) { return m->name; }
const struct bpe *clip_tokenizer(const clip_model_t *m) { return m->bpe; }

int clip_embed_images(const clip_model_t *m, const float *pixels, int n, float *out)
{
    if (n <= 0) return -1;
    const vision_t *v = &m->vis;
    int D = v->enc.dim, T = v->tokens, np = T - 1;
    float *x = ml_scratch_get(1, (size_t)n * T * D + (size_t)n * np * D + (size_t)n * D);
    float *pe = x + (size_t)n * T * D, *pooled = pe + (size_t)n * np * D;
    ml_patch_embed(pe, pixels, n, v->size, v->patch, &v->patch_w, NULL);
    for (int b = 0; b < n; b++) {
        float *xb = x + (size_t)b * T * D;
        for (int d = 0; d < D; d++) xb[d] = v->class_emb[d] + v->pos_emb[d];
        for (int p = 0; p < np; p++) {
            const float *src = pe + ((size_t)b * np + p) * D, *pos = v->pos_emb + (size_t)(p + 1) * D;
            float *dst = xb + (size_t)(p + 1) * D;
            for (int d = 0; d < D; d++) dst[d] = src[d] + pos[d];
        }
    }
    ml_layernorm(x, x, v->ln_pre_g, v->ln_pre_b, n * T, D, v->enc.eps);
    ml_encoder_forward(&v->enc, x, n, T);
    for (int b = 0; b < n; b++)
        ml_layernorm(pooled + (size_t)b * D, x + (size_t)b * T * D, v->ln_post_g, v->ln_post_b, 1, D, v->enc.eps);
    ml_linear(out, pooled, &v->proj, NULL, n, 0, ML_ACT_NONE);
    for (int b = 0; b < n; b++) ml_l2_normalize(out + (size_t)b * m->dim, m->dim);
    ml_scratch_release(1, x);
    return 0;
}

/* Position of the row's first end token; a row without one uses its last position. */
static int eot_position(const text_t *t, const int32_t *row)
{
    for (int i = 0; i < t->ctx; i++) if (row[i] == t->eos) return i;
    return t->ctx - 1;
}

int clip_embed_tokens(const clip_model_t *m, const int32_t *ids, int n, float *out)
{
    if (n <= 0 || !m->txt.enc.layers) return -1;
    const text_t *t = &m->txt;
    int D = t->enc.dim, L = 1;
    int *eot = xmalloc((size_t)n * sizeof *eot);
    for (int b = 0; b < n; b++) {
        eot[b] = eot_position(t, ids + (size_t)b * t->ctx);
        if (eot[b] + 1 > L) L = eot[b] + 1;
    }
    float *x = ml_scratch_get(1, (size_t)n * L * D + (size_t)n * D);
    float *pooled = x + (size_t)n * L * D;
    for (int b = 0; b < n; b++)
        for (int i = 0; i < L; i++) {
            int32_t id = ids[(size_t)b * t->ctx + i];
            if (id < 0 || id >= t->vocab) id = t->eos;     /* out-of-range ids: never index outside */
            const float *te = t->tok_emb + (size_t)id * D, *pe = t->pos_emb + (size_t)i * D;
            float *dst = x + ((size_t)b * L + i) * D;
            for (int d = 0; d < D; d++) dst[d] = te[d] + pe[d];
        }
    ml_encoder_forward(&t->enc, x, n, L);
    for (int b = 0; b < n; b++)
        ml_layernorm(pooled + (size_t)b * D, x + ((size_t)b * L + eot[b]) * D, t->ln_g, t->ln_b, 1, D, t->enc.eps);
    ml_linear(out, pooled, &t->proj, NULL, n, 0, ML_ACT_NONE);
    for (int b = 0; b < n; b++) ml_l2_normalize(out + (size_t)b * m->dim, m->dim);
    ml_scratch_release(1, x);
    free(eot);
    return 0;
}

int clip_embed_texts(const clip_model_t *m, const char *const *texts, int n, float *out)
{
    if (n <= 0 || !m->has_text) return -1;
    int32_t *ids = xmalloc((size_t)n * m->txt.ctx * sizeof *ids);
    for (int b = 0; b < n; b++) bpe_encode(m->bpe, texts[b], ids + (size_t)b * m->txt.ctx, m->txt.ctx);
    int rc = clip_embed_tokens(m, ids, n, out);
    free(ids);
    return rc;
}
