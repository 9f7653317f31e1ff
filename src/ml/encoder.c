/* encoder.c — pre-norm transformer layers over a batch of sequences (see encoder.h). All
 * linear layers run on the whole batch at once (M = batch x tokens rows) so the matrix
 * products stay large; attention runs per sequence and head. Biases and residuals are folded
 * into the products (ml_linear accumulate), GELU into the fc1 output pass. */
#include "ml/encoder.h"
#include "core/buf.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int load_linear(ml_weights_t *w, ml_matrix_t *m, const float **bias, int64_t out, int64_t in,
                       const char *layer, int i, const char *name)
{
    char fmt[256];
    snprintf(fmt, sizeof fmt, "%s%s.weight", layer, name);
    char full[256];
    snprintf(full, sizeof full, fmt, i);
    if (ml_weights_mat(w, m, out, in, "%s", full) != 0) return -1;
    snprintf(fmt, sizeof fmt, "%s%s.bias", layer, name);
    snprintf(full, sizeof full, fmt, i);
    *bias = ml_weights_vec(w, out, "%s", full);
    return *bias ? 0 : -1;
}

static int load_norm(ml_weights_t *w, const float **g, const float **b, int64_t dim,
                     const char *layer, int i, const char *name)
{
    char fmt[256], full[256];
    snprintf(fmt, sizeof fmt, "%s%s.weight", layer, name);
    snprintf(full, sizeof full, fmt, i);
    *g = ml_weights_vec(w, dim, "%s", full);
    snprintf(fmt, sizeof fmt, "%s%s.bias", layer, name);
    snprintf(full, sizeof full, fmt, i);
    *b = ml_weights_vec(w, dim, "%s", full);
    return *g && *b ? 0 : -1;
}

int ml_encoder_load(ml_encoder_t *e, ml_weights_t *w, const ml_layer_names_t *n)
{
    if (e->dim <= 0 || e->heads <= 0 || e->dim % e->heads || e->mlp <= 0 || e->nlayers <= 0 ||
        e->nlayers > 512) {
        snprintf(w->err, sizeof w->err, "bad encoder sizes: hidden %d, heads %d, mlp %d, layers %d",
                 e->dim, e->heads, e->mlp, e->nlayers);
        return -1;
    }
    e->layers = xcalloc((size_t)e->nlayers, sizeof *e->layers);
    for (int i = 0; i < e->nlayers; i++) {
        ml_layer_t *L = &e->layers[i];
        if (load_norm(w, &L->ln1_g, &L->ln1_b, e->dim, n->layer, i, n->ln1) ||
            load_norm(w, &L->ln2_g, &L->ln2_b, e->dim, n->layer, i, n->ln2) ||
            load_linear(w, &L->q, &L->q_b, e->dim, e->dim, n->layer, i, n->q) ||
            load_linear(w, &L->k, &L->k_b, e->dim, e->dim, n->layer, i, n->k) ||
            load_linear(w, &L->v, &L->v_b, e->dim, e->dim, n->layer, i, n->v) ||
            load_linear(w, &L->o, &L->o_b, e->dim, e->dim, n->layer, i, n->o) ||
            load_linear(w, &L->fc1, &L->fc1_b, e->mlp, e->dim, n->layer, i, n->fc1) ||
            load_linear(w, &L->fc2, &L->fc2_b, e->dim, e->mlp, n->layer, i, n->fc2)) {
            ml_encoder_free(e);
            return -1;
        }
    }
    return 0;
}

void ml_encoder_free(ml_encoder_t *e)
{
    free(e->layers);
    e->layers = NULL;
}

void ml_encoder_forward(const ml_encoder_t *e, float *x, int batch, int tokens)
{
    int D = e->dim, M = batch * tokens;
    size_t md = (size_t)M * D;
    float *mem = ml_scratch_get(0, md * 5 + (size_t)M * e->mlp + (size_t)tokens * tokens);
    float *h = mem, *q = h + md, *k = q + md, *v = k + md, *a = v + md, *f = a + md;
    float *scores = f + (size_t)M * e->mlp;
    for (int l = 0; l < e->nlayers; l++) {
        const ml_layer_t *L = &e->layers[l];
        ml_layernorm(h, x, L->ln1_g, L->ln1_b, M, D, e->eps);
        ml_linear(q, h, &L->q, L->q_b, M, 0, ML_ACT_NONE);
        ml_linear(k, h, &L->k, L->k_b, M, 0, ML_ACT_NONE);
        ml_linear(v, h, &L->v, L->v_b, M, 0, ML_ACT_NONE);
        for (int b = 0; b < batch; b++) {
            size_t off = (size_t)b * tokens * D;
            ml_attention(a + off, q + off, k + off, v + off, tokens, D, D, e->heads, e->causal, scores);
        }
        ml_linear(x, a, &L->o, L->o_b, M, 1, ML_ACT_NONE);
        ml_layernorm(h, x, L->ln2_g, L->ln2_b, M, D, e->eps);
        ml_linear(f, h, &L->fc1, L->fc1_b, M, 0, e->act);
        ml_linear(x, f, &L->fc2, L->fc2_b, M, 1, ML_ACT_NONE);
    }
    ml_scratch_release(0, mem);
}
