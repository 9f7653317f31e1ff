/* inference.c — POST /v1/embed/image, /v1/embed/text, /v1/classify and GET /v1/models.
 *
 * Images arrive as multipart `file` parts: photos go through the vision intake (the same
 * validation and CLIP preprocessing as recognition), and parts of type
 * application/x-rodeo-tensor are taken as already-preprocessed float32 CHW tensors (what
 * an API server sends to its remote inference tier). Embeddings are L2-normalised, in upload
 * order. A missing model is a 503 with a detail saying what to do. */
#include "api/inference.h"
#include "api/api.h"
#include "core/buf.h"
#include "core/config.h"
#include "ml/remote.h"
#include "ml/service.h"
#include "vision/intake.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int api_inference_init(char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    return ml_service_init();
}

void api_inference_shutdown(void) { ml_service_shutdown(); }

void api_inference_ready(http_req_t *req, http_resp_t *resp)
{
    (void)req;
    if (!ml_service_clip_ready()) {
        http_resp_error(resp, 503, "model_not_loaded", "%s", ml_service_clip_error());
        return;
    }
    http_resp_json(resp, 200, json_pack("{s:s, s:s}", "status", "ready", "model", ml_service_clip_name()));
}

/* Rate limits as in routes.c; an inference tier behind API servers usually runs with
 * RATE_LIMIT=0 on a private network (all its callers share a few addresses). */
static const http_route_t inference_routes[] = {
    {"GET",  "/health",         api_health,          HTTP_AUTH_NONE, 0,   0},
    {"GET",  "/ready",          api_inference_ready, HTTP_AUTH_NONE, 0,   0},
    {"GET",  "/v1/models",      api_models_info,     HTTP_AUTH_NONE, 300, 0},
    {"POST", "/v1/embed/image", api_embed_image,     HTTP_AUTH_NONE, 120, HTTP_ROUTE_UPLOAD},
    {"POST", "/v1/embed/text",  api_embed_text,      HTTP_AUTH_NONE, 120, 0},
    {"POST", "/v1/classify",    api_classify,        HTTP_AUTH_NONE, 120, HTTP_ROUTE_UPLOAD},
};

const http_route_t *api_inference_routes(size_t *n)
{
    *n = sizeof inference_routes / sizeof *inference_routes;
    return inference_routes;
}

static int require_model(http_resp_t *resp)
{
    if (ml_service_clip_ready()) return 1;
    http_resp_error(resp, 503, "model_not_loaded", "%s", ml_service_clip_error());
    return 0;
}

/* {"model", "dim", "embeddings": [[...], ...]} */
static json_t *embeddings_json(const float *v, int n, int dim)
{
    json_t *rows = json_array();
    for (int i = 0; i < n; i++) {
        json_t *row = json_array();
        for (int k = 0; k < dim; k++) json_array_append_new(row, json_real(v[(size_t)i * dim + k]));
        json_array_append_new(rows, row);
    }
    return json_pack("{s:s, s:i, s:o}", "model", ml_service_clip_name(), "dim", dim, "embeddings", rows);
}

/* Turns one file part into a CLIP input tensor at dst (3 x size x size floats). Answers the
 * error itself and returns -1 when the part is not a usable image. */
static int part_tensor(const http_part_t *p, int index, int size, float *dst, http_resp_t *resp)
{
    size_t want = (size_t)3 * size * size * sizeof(float);
    if (p->content_type && !strcmp(p->content_type, ML_TENSOR_CONTENT_TYPE)) {
        FILE *f = p->size == want ? fopen(p->path, "rb") : NULL;
        size_t got = f ? fread(dst, 1, want, f) : 0;
        if (f) fclose(f);
        if (got != want) {
            http_resp_error(resp, 422, "validation_error", "file %d: a tensor part must hold 3x%dx%d float32 values (%zu bytes)",
                            index, size, size, want);
            return -1;
        }
        for (size_t i = 0; i < want / sizeof(float); i++)
            if (!(dst[i] > -1e6f && dst[i] < 1e6f)) {          /* NaN, infinities, absurd values */
                http_resp_error(resp, 422, "validation_error", "file %d: tensor values must be finite", index);
                return -1;
            }
        return 0;
    }
    vision_intake_options_t o;
    vision_intake_options_default(&o);
    o.input_size = size;
    o.thumb_size = 0;
    if (g_config.max_upload_bytes) o.max_file_bytes = g_config.max_upload_bytes;
    vision_intake_t in;
    memset(&in, 0, sizeof in);
    int rc = 0;
    if (vision_intake_file(p->path, &o, &in) != 0) {
        http_resp_error(resp, in.error.status ? in.error.status : 400, in.error.code[0] ? in.error.code : "invalid_image",
                        "file %d: %s", index, in.error.message);
        rc = -1;
    } else if (in.tensor_size != size) {
        http_resp_error(resp, 500, "internal_error", "file %d: preprocessing produced %d pixels, expected %d", index, in.tensor_size, size);
        rc = -1;
    } else memcpy(dst, in.tensor, want);
    vision_intake_free(&in);
    return rc;
}

void api_models_info(http_req_t *req, http_resp_t *resp)
{
    (void)req;
    json_t *clip = json_object();
    int ready = ml_service_clip_ready();
    const clip_model_t *m = ml_service_clip();
    json_object_set_new(clip, "loaded", json_boolean(ready && ml_service_clip_dim() > 0));
    if (ready && ml_service_clip_dim() > 0) {
        json_object_set_new(clip, "model", json_string(ml_service_clip_name()));
        json_object_set_new(clip, "dim", json_integer(ml_service_clip_dim()));
        json_object_set_new(clip, "image_size", json_integer(ml_service_clip_image_size()));
        json_object_set_new(clip, "remote", json_boolean(m == NULL));
        if (m) {
            json_object_set_new(clip, "text", json_boolean(clip_has_text(m)));
            json_object_set_new(clip, "precision", json_string(clip_precision(m)));
        }
    } else json_object_set_new(clip, "detail", json_string(ready ? "the remote inference tier does not answer" : ml_service_clip_error()));
    json_t *vit = json_object();
    const vit_model_t *v = ml_service_vit();
    json_object_set_new(vit, "loaded", json_boolean(v != NULL));
    if (v) {
        json_object_set_new(vit, "labels", json_integer(vit_num_labels(v)));
        json_object_set_new(vit, "image_size", json_integer(vit_image_size(v)));
    }
    http_resp_json(resp, 200, json_pack("{s:o, s:o}", "clip", clip, "vit", vit));
}

void api_embed_image(http_req_t *req, http_resp_t *resp)
{
    const http_part_t *parts;
    size_t np = http_req_parts(req, &parts);
    int nfiles = 0;
    for (size_t i = 0; i < np; i++) {
        if (strcmp(parts[i].name, "file")) {
            http_resp_error(resp, 422, "validation_error", "%.60s: unknown field (send images as 'file' parts)", parts[i].name);
            return;
        }
        if (!parts[i].path) {
            http_resp_error(resp, 422, "validation_error", "file: must be a file part");
            return;
        }
        nfiles++;
    }
    if (nfiles == 0) { http_resp_error(resp, 422, "validation_error", "file: field required (one or more images)"); return; }
    if (nfiles > INFERENCE_MAX_IMAGES) {
        http_resp_error(resp, 422, "validation_error", "file: at most %d images per request", INFERENCE_MAX_IMAGES);
        return;
    }
    if (!require_model(resp)) return;
    int size = ml_service_clip_image_size();
    if (size <= 0) { http_resp_error(resp, 503, "model_not_loaded", "the inference tier does not answer"); return; }
    float *px = xmalloc((size_t)nfiles * 3 * size * size * sizeof *px);
    for (int i = 0; i < nfiles; i++)
        if (part_tensor(&parts[i], i, size, px + (size_t)i * 3 * size * size, resp) != 0) { free(px); return; }
    float *emb = NULL;
    int dim = 0;
    char err[512];
    if (ml_service_embed_images(px, nfiles, &emb, &dim, err, sizeof err) != 0)
        http_resp_error(resp, 503, "inference_failed", "%s", err);
    else http_resp_json(resp, 200, embeddings_json(emb, nfiles, dim));
    free(emb);
    free(px);
}

void api_embed_text(http_req_t *req, http_resp_t *resp)
{
    json_t *body = http_req_json(req, resp);
    if (!body) return;
    const char *key;
    json_t *val;
    json_object_foreach(body, key, val)
        if (strcmp(key, "texts")) {
            http_resp_error(resp, 422, "validation_error", "%.60s: unknown field", key);
            json_decref(body);
            return;
        }
    json_t *texts = json_object_get(body, "texts");
    size_t n = json_array_size(texts);
    if (!json_is_array(texts) || n == 0 || n > INFERENCE_MAX_TEXTS) {
        http_resp_error(resp, 422, "validation_error", "texts: must be an array of 1 to %d strings", INFERENCE_MAX_TEXTS);
        json_decref(body);
        return;
    }
    const char **t = xmalloc(n * sizeof *t);
    for (size_t i = 0; i < n; i++) {
        json_t *s = json_array_get(texts, i);
        if (!json_is_string(s) || json_string_length(s) > 10000 || strlen(json_string_value(s)) != json_string_length(s)) {
            http_resp_error(resp, 422, "validation_error", "texts[%zu]: must be a string of at most 10000 bytes", i);
            free(t);
            json_decref(body);
            return;
        }
        t[i] = json_string_value(s);
    }
    if (require_model(resp)) {
        float *emb = NULL;
        int dim = 0;
        char err[512];
        if (ml_service_embed_texts(t, (int)n, &emb, &dim, err, sizeof err) != 0)
            http_resp_error(resp, 503, "inference_failed", "%s", err);
        else http_resp_json(resp, 200, embeddings_json(emb, (int)n, dim));
        free(emb);
    }
    free(t);
    json_decref(body);
}

void api_classify(http_req_t *req, http_resp_t *resp)
{
    const http_part_t *parts, *file = NULL, *labels = NULL;
    size_t np = http_req_parts(req, &parts);
    for (size_t i = 0; i < np; i++) {
        const http_part_t *p = &parts[i];
        if (!strcmp(p->name, "file") && !file) file = p;
        else if (!strcmp(p->name, "labels") && !labels) labels = p;
        else {
            http_resp_error(resp, 422, "validation_error", "%.60s: unknown or repeated field", p->name);
            return;
        }
    }
    if (!file || !file->path) { http_resp_error(resp, 422, "validation_error", "file: field required (an image file part)"); return; }
    if (!labels || !labels->value) {
        http_resp_error(resp, 422, "validation_error", "labels: field required (a JSON array of strings)");
        return;
    }
    json_t *lj = json_loads(labels->value, 0, NULL);
    size_t n = json_array_size(lj);
    if (!json_is_array(lj) || n == 0 || n > INFERENCE_MAX_LABELS) {
        http_resp_error(resp, 422, "validation_error", "labels: must be a JSON array of 1 to %d strings", INFERENCE_MAX_LABELS);
        json_decref(lj);
        return;
    }
    const char **l = xmalloc(n * sizeof *l);
    for (size_t i = 0; i < n; i++) {
        json_t *s = json_array_get(lj, i);
        if (!json_is_string(s) || json_string_length(s) == 0 || json_string_length(s) > 200 ||
            strlen(json_string_value(s)) != json_string_length(s)) {
            http_resp_error(resp, 422, "validation_error", "labels[%zu]: must be a non-empty string of at most 200 bytes", i);
            free(l);
            json_decref(lj);
            return;
        }
        l[i] = json_string_value(s);
    }
    if (!require_model(resp)) goto out;
    int size = ml_service_clip_image_size();
    if (size <= 0) { http_resp_error(resp, 503, "model_not_loaded", "the inference tier does not answer"); goto out; }
    float *px = xmalloc((size_t)3 * size * size * sizeof *px);
    if (part_tensor(file, 0, size, px, resp) == 0) {
        zeroshot_score_t *sc = xmalloc(n * sizeof *sc);
        char err[512];
        if (ml_service_classify(px, l, (int)n, sc, err, sizeof err) != 0)
            http_resp_error(resp, 503, "inference_failed", "%s", err);
        else {
            json_t *arr = json_array();
            for (size_t i = 0; i < n; i++)
                json_array_append_new(arr, json_pack("{s:s, s:f}", "label", l[sc[i].index], "score", (double)sc[i].score));
            http_resp_json(resp, 200, json_pack("{s:o}", "labels", arr));
        }
        free(sc);
    }
    free(px);
out:
    free(l);
    json_decref(lj);
}
