/* products.h — the product catalog and recognition endpoints (products.c, recognize.c)
 * and the recognition service they share: the engine, the duplicate cache and the photo
 * store, set up by api_recognize_init() from api_init(). */
#ifndef RODEO_API_PRODUCTS_H
#define RODEO_API_PRODUCTS_H
#include "http/http.h"
#include "recog/engine.h"
#include <stddef.h>

/* Creates the engine, loads the stored catalog into it, refills the duplicate cache from
 * the last 24 h of uploads, and (unless RODEO_STARTER_CATALOG=0) imports the starter
 * catalog in a background thread when the catalog is empty. */
int  api_recognize_init(char *err, size_t errlen);
void api_recognize_shutdown(void);
/* Finishes every queued and running recognition (their deferred responses are sent while
 * the HTTP daemon still runs: call between http_server_drain and http_server_stop). */
void api_recognize_quiesce(void);
recog_engine_t *api_recognize_engine(void);

/* products.c */
void api_products_list(http_req_t *req, http_resp_t *resp);
void api_product_get(http_req_t *req, http_resp_t *resp);
void api_product_create(http_req_t *req, http_resp_t *resp);
void api_product_update(http_req_t *req, http_resp_t *resp);
void api_product_delete(http_req_t *req, http_resp_t *resp);
void api_product_image(http_req_t *req, http_resp_t *resp);
/* recognize.c */
void api_recognize_product(http_req_t *req, http_resp_t *resp);
void api_product_analytics(http_req_t *req, http_resp_t *resp);
/* GET /api/admin/recognition/features (admin): the background feature refresh and label
 * warm-up progress. */
void api_recognition_features(http_req_t *req, http_resp_t *resp);
#endif
