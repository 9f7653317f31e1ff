/* vindex_quant.c — int8 scalar quantisation of stored vectors and queries.
 *
 * One scale for all dimensions keeps integer distances proportional to real ones:
 *   L2:     code = round((x - off) / s), off = per-dimension midpoint of the training data;
 *           |x - y|^2 ~= s^2 |cx - cy|^2, and the query is encoded on the same grid.
 *   IP/COS: off = 0, code = round(x / s); q.x ~= s * sq * (cq . cx) where the query gets its
 *           own scale sq (it only multiplies every score by the same constant).
 * s is chosen from the training sample's largest magnitude so codes fill [-127, 127]; values
 * beyond the trained range are clamped (the fp32 re-ranking corrects the order at the end). */
#include "index/vindex_impl.h"
#include <math.h>
#include <stdlib.h>

static int8_t clamp8(float x)
{
    float r = nearbyintf(x);
    if (r > 127.f) r = 127.f;
    if (r < -127.f) r = -127.f;
    return (int8_t)r;
}

int vquant_train(vindex_t *v, const float *x, size_t n)
{
    size_t d = v->dim;
    if (n == 0) return -1;
    if (v->p.metric == VINDEX_L2) {
        for (size_t j = 0; j < d; j++) {
            float lo = x[j], hi = x[j];
            for (size_t i = 1; i < n; i++) {
                float t = x[i * d + j];
                if (t < lo) lo = t;
                if (t > hi) hi = t;
            }
            v->q_off[j] = 0.5f * (lo + hi);
        }
    } else {
        for (size_t j = 0; j < d; j++) v->q_off[j] = 0;
    }
    float amax = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++) {
            float t = fabsf(x[i * d + j] - v->q_off[j]);
            if (t > amax) amax = t;
        }
    /* A single training vector says little about the range: leave headroom. */
    if (n == 1) amax *= 2.0f;
    v->q_scale = amax > 0 ? amax / 127.f : 1.0f;
    v->q_trained = 1;
    return 0;
}

void vquant_encode(const vindex_t *v, const float *x, int8_t *code)
{
    float inv = 1.0f / v->q_scale;
    for (size_t j = 0; j < v->dim; j++) code[j] = clamp8((x[j] - v->q_off[j]) * inv);
}

void vquant_encode_query(const vindex_t *v, const float *q, int8_t *code)
{
    if (v->p.metric == VINDEX_L2) { vquant_encode(v, q, code); return; }
    float amax = 0;
    for (size_t j = 0; j < v->dim; j++) if (fabsf(q[j]) > amax) amax = fabsf(q[j]);
    float inv = amax > 0 ? 127.f / amax : 0.f;
    for (size_t j = 0; j < v->dim; j++) code[j] = clamp8(q[j] * inv);
}
