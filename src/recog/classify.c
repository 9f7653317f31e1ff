/* classify.c — the ViT category classifier in recognition (see classify.h). */
#include "recog/classify.h"
#include "recog/clipmatch.h"
#include "core/buf.h"
#include "vision/image.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int recog_classifier_predict(const vit_model_t *m, const vision_intake_t *in, recog_label_t *out, int max)
{
    if (!m || !in || !in->thumb.px || in->thumb.c != 3 || max <= 0) return -1;
    int s = vit_image_size(m), nl = vit_num_labels(m);
    if (s <= 0 || nl <= 0) return -1;
    vision_image_t sq = { 0 };
    if (vision_image_resample(&in->thumb, s, s, 0, 0, s, s, VISION_FILTER_BILINEAR, &sq) != 0) return -1;
    float *px = xmalloc(sizeof(float) * 3 * (size_t)s * (size_t)s);
    static const float mean[3] = { 0.5f, 0.5f, 0.5f }, sd[3] = { 0.5f, 0.5f, 0.5f };
    vision_image_to_tensor(&sq, mean, sd, px);
    vision_image_free(&sq);
    int k = nl < max ? nl : max;
    vit_prediction_t *top = xmalloc(sizeof *top * (size_t)k);
    int got = vit_classify(m, px, top, k);
    for (int i = 0; i < got; i++) {
        snprintf(out[i].name, sizeof out[i].name, "%s", top[i].label ? top[i].label : "");
        out[i].confidence = top[i].score;
    }
    free(top);
    free(px);
    return got > 0 ? got : -1;
}

int recog_fuse_classifier(recog_label_t *labels, int n, int cap, const recog_label_t *cls, int ncls,
                          const char *only, recog_known_fn known, void *ctx)
{
    if (!cls || ncls <= 0 || cap <= 0) return n;
    int total = n + ncls;
    recog_label_t *cand = xcalloc((size_t)total, sizeof *cand);
    float *vote = xcalloc((size_t)total, sizeof *vote), *prior = xcalloc((size_t)total, sizeof *prior);
    int nc = 0;
    for (int i = 0; i < n; i++) {
        cand[nc] = labels[i];
        vote[nc++] = labels[i].confidence;
    }
    double psum = 0;
    for (int i = 0; i < ncls; i++) {
        const char *name = cls[i].name;
        if (!*name || (only && strcasecmp(only, name)) || (known && !known(ctx, name))) continue;
        int at = -1;
        for (int j = 0; j < nc && at < 0; j++)
            if (!strcasecmp(cand[j].name, name)) at = j;
        if (at < 0) {
            at = nc++;
            snprintf(cand[at].name, sizeof cand[at].name, "%s", name);
        }
        prior[at] += cls[i].confidence;
        psum += cls[i].confidence;
    }
    if (psum > 0) {
        double vsum = 0;
        for (int i = 0; i < nc; i++) vsum += vote[i];
        for (int i = 0; i < nc; i++)
            cand[i].confidence = CLIP_ZS_WEIGHT * (float)(prior[i] / psum) +
                                 (1 - CLIP_ZS_WEIGHT) * (vsum > 0 ? (float)(vote[i] / vsum) : 1.0f / (float)nc);
        /* best first; ties keep the vote's order */
        for (int i = 1; i < nc; i++)
            for (int j = i; j > 0 && cand[j].confidence > cand[j - 1].confidence; j--) {
                recog_label_t t = cand[j]; cand[j] = cand[j - 1]; cand[j - 1] = t;
            }
        n = nc < cap ? nc : cap;
        memcpy(labels, cand, sizeof *labels * (size_t)n);
    }
    free(cand); free(vote); free(prior);
    return n;
}
