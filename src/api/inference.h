/* inference.h — the inference API (inference.c): CLIP embeddings and zero-shot
 * classification over HTTP, served by every `rodeo serve` (and by an inference tier that
 * API servers reach through INFERENCE_URL). The models come from ml/service.h. */
#ifndef RODEO_API_INFERENCE_H
#define RODEO_API_INFERENCE_H
#include "http/http.h"
#include <stddef.h>

#define INFERENCE_MAX_IMAGES 32     /* files per /v1/embed/image request */
#define INFERENCE_MAX_TEXTS  256    /* texts per /v1/embed/text request */
#define INFERENCE_MAX_LABELS 100    /* labels per /v1/classify request */

/* Loads the models (ml_service_init); never fails for missing weights. */
int  api_inference_init(char *err, size_t errlen);
void api_inference_shutdown(void);

/* The routes of `rodeo serve --role inference`: /health, /ready (200 once CLIP is loaded)
 * and the /v1 inference routes (the same entries as in the full table). */
const http_route_t *api_inference_routes(size_t *n);
void api_inference_ready(http_req_t *req, http_resp_t *resp);  /* GET  /ready (inference role) */
void api_models_info(http_req_t *req, http_resp_t *resp);     /* GET  /v1/models */
void api_embed_image(http_req_t *req, http_resp_t *resp);     /* POST /v1/embed/image */
void api_embed_text(http_req_t *req, http_resp_t *resp);      /* POST /v1/embed/text */
void api_classify(http_req_t *req, http_resp_t *resp);        /* POST /v1/classify */
#endif
