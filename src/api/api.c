/* api.c — the API context: start-up (store, migrations, kv, token key), the per-request
 * authenticate hook, and the store-error mapping shared by handlers. */
#include "api/api.h"
#include "api/inference.h"
#include "api/chat.h"
#include "api/products.h"
#include "auth/tokens.h"
#include "billing/plans.h"
#include "core/config.h"
#include "core/log.h"
#include "core/timeutil.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

api_ctx_t g_api;

/* Per-thread copy of the principal's email: the HTTP layer reads it during the request. */
static __thread char principal_email[256];

static int mkdir_p(const char *path)
{
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') { *p = 0; mkdir(tmp, 0700); *p = '/'; }
    return (mkdir(tmp, 0700) == 0 || errno == EEXIST) ? 0 : -1;
}

int api_init(char *err, size_t errlen)
{
    const config_t *c = &g_config;
    memset(&g_api, 0, sizeof g_api);
    g_api.started_us = time_now_us();
    if (mkdir_p(c->data_dir) != 0) {
        snprintf(err, errlen, "cannot create data dir %s: %s", c->data_dir, strerror(errno));
        return -1;
    }
    if (tokens_init(c->jwt_secret, c->data_dir, c->production, err, errlen) != 0) return -1;
    if (billing_plans_init(err, errlen) != 0) return -1;     /* a bad RODEO_PLANS_FILE stops start-up */
    g_api.store = store_open(c->database_url, c->data_dir, c->http_threads + 2, err, errlen);
    if (!g_api.store) return -1;
    if (store_migrate(g_api.store, err, errlen) < 0) return -1;
    g_api.kv = kv_open(c->redis_url, err, errlen);
    if (!g_api.kv) return -1;
    if (api_auth_init() != 0) return -1;
    if (api_chat_init(err, errlen) != 0) return -1;
    if (api_inference_init(err, errlen) != 0) return -1;   /* the models first: recognition uses CLIP */
    if (api_recognize_init(err, errlen) != 0) return -1;
    return 0;
}

void api_quiesce(void)
{
    api_auth_quiesce();
    api_recognize_quiesce();
}

void api_shutdown(void)
{
    api_chat_shutdown();
    api_auth_quiesce();
    api_recognize_shutdown();
    api_inference_shutdown();
    if (g_api.kv) kv_close(g_api.kv);
    if (g_api.store) store_close(g_api.store);
    tokens_shutdown();
    memset(&g_api, 0, sizeof g_api);
}

int api_authenticate(const char *token, http_principal_t *p, void *ud)
{
    int64_t uid, sid;
    if (tokens_access_verify(token, time_now_us() / 1000000, &uid, &sid) != 0) return -1;
    bool admin = false;
    char *email = NULL;
    if (store_user_principal(g_api.store, uid, sid, &admin, &email) != STORE_OK) return -1;
    snprintf(principal_email, sizeof principal_email, "%s", email ? email : "");
    free(email);
    p->user_id = uid;
    p->is_admin = admin;
    p->email = principal_email;
    return 0;
}

void api_store_error(http_resp_t *resp, int rc, const char *what)
{
    if (rc == STORE_NOT_FOUND) http_resp_error(resp, 404, "not_found", "%s not found", what);
    else if (rc == STORE_CONFLICT) http_resp_error(resp, 409, "conflict", "%s already exists", what);
    else http_resp_error(resp, 503, "store_unavailable", "The data store is unavailable; try again");
}
