/* remote.h — client of a remote inference tier (INFERENCE_URL: another `rodeo serve`, e.g.
 * `--role inference` on a bigger or GPU machine). Speaks the public inference API
 * (POST /v1/embed/image, /v1/embed/text, /v1/classify); image tensors travel as multipart
 * `file` parts of type application/x-rodeo-tensor (raw little-endian float32 CHW), which
 * the server takes as an already-preprocessed image. Thread-safe (one curl handle a call). */
#ifndef RODEO_ML_REMOTE_H
#define RODEO_ML_REMOTE_H
#include "ml/zeroshot.h"
#include <stddef.h>

#define ML_TENSOR_CONTENT_TYPE "application/x-rodeo-tensor"

typedef struct {
    const char *base_url;      /* e.g. "http://10.0.0.5:8000" */
    long        timeout_s;     /* whole request (0: 60) */
    char        model[128];    /* filled from the answers */
    int         dim;
    int         image_size;    /* from GET /v1/models */
} ml_remote_t;

/* GET /v1/models: fills r->model, r->dim and r->image_size from the "clip" entry. */
int ml_remote_info(ml_remote_t *r, char *err, size_t errlen);

/* n tensors of 3 x size x size floats -> *out (n x *dim, caller frees). */
int ml_remote_embed_images(ml_remote_t *r, const float *pixels, int n, int size, float **out, int *dim,
                           char *err, size_t errlen);
int ml_remote_embed_texts(ml_remote_t *r, const char *const *texts, int n, float **out, int *dim,
                          char *err, size_t errlen);
int ml_remote_classify(ml_remote_t *r, const float *pixels, int size, const char *const *labels, int n,
                       zeroshot_score_t *out, char *err, size_t errlen);
#endif
