/* api.h — the HTTP API: one file per resource (src/api/<resource>.c), all routes in one
 * table (routes.c), and the shared context every handler reads.
 *
 * The context is a documented singleton: set up once by api_init() before the server
 * starts, read-only while it runs, torn down by api_shutdown() after it stopped. */
#ifndef RODEO_API_H
#define RODEO_API_H
#include "http/http.h"
#include "kv/kv.h"
#include "store/store.h"
#include <stdbool.h>
#include <stddef.h>

typedef struct {
    store_t *store;
    kv_t    *kv;
    int64_t  started_us;
} api_ctx_t;

extern api_ctx_t g_api;

/* Opens store (and migrates), kv and tokens from g_config, runs each resource's start-up
 * (e.g. loading starter content). Returns 0 or -1 with err. */
int  api_init(char *err, size_t errlen);
void api_shutdown(void);
/* Between http_server_drain and http_server_stop: finishes work handed to other threads
 * (recognitions) so its responses reach connections that are still open. */
void api_quiesce(void);

/* The route table and the authenticate hook handed to the HTTP layer. */
const http_route_t *api_routes(size_t *n);
int  api_authenticate(const char *token, http_principal_t *p, void *ud);

/* An integer setting from the environment within [lo, hi]; def (with a warning when
 * malformed) otherwise. (recognize.c) */
long api_env_int(const char *name, long def, long lo, long hi);

/* Maps a STORE_* code that is not STORE_OK to its response (404 with what, 409, 500). */
void api_store_error(http_resp_t *resp, int rc, const char *what);

/* ---- handlers, grouped by resource file ---- */
/* health.c */
void api_root(http_req_t *req, http_resp_t *resp);
void api_health(http_req_t *req, http_resp_t *resp);
void api_ready(http_req_t *req, http_resp_t *resp);
/* auth.c; init starts the password-hashing workers, quiesce drains and joins them */
int  api_auth_init(void);
void api_auth_quiesce(void);
void api_auth_register(http_req_t *req, http_resp_t *resp);
void api_auth_login(http_req_t *req, http_resp_t *resp);
void api_auth_refresh(http_req_t *req, http_resp_t *resp);
void api_auth_logout(http_req_t *req, http_resp_t *resp);
void api_auth_me(http_req_t *req, http_resp_t *resp);
void api_auth_google(http_req_t *req, http_resp_t *resp);
/* users.c */
void api_user_get(http_req_t *req, http_resp_t *resp);
void api_user_patch(http_req_t *req, http_resp_t *resp);
/* conversations.c */
void api_conversation_list(http_req_t *req, http_resp_t *resp);
void api_conversation_create(http_req_t *req, http_resp_t *resp);
void api_conversation_get(http_req_t *req, http_resp_t *resp);
void api_conversation_patch(http_req_t *req, http_resp_t *resp);
void api_conversation_delete(http_req_t *req, http_resp_t *resp);
void api_conversation_search(http_req_t *req, http_resp_t *resp);
/* feedback.c */
void api_feedback_create(http_req_t *req, http_resp_t *resp);
#endif
