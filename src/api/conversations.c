/* conversations.c — the signed-in user's conversations: list, create, get (with messages),
 * patch, delete, search. The owner is always the caller; someone else's conversation is 404. */
#include "api/api.h"
#include "api/validate.h"
#include "core/config.h"
#include "core/str.h"
#include <string.h>

#define TITLE_MAX 500
#define MODEL_MAX 100
#define QUERY_MAX 200

static int64_t caller(http_req_t *req) { return http_req_principal(req)->user_id; }

void api_conversation_list(http_req_t *req, http_resp_t *resp)
{
    int64_t limit, offset;
    if (!query_int(req, resp, "limit", 50, 1, 100, &limit) ||
        !query_int(req, resp, "offset", 0, 0, 1000000000, &offset))
        return;
    /* archived=false (default, as the original listed only active ones) | true | all */
    int archived = 0;
    const char *a = http_req_query(req, "archived");
    bool b;
    if (a && !strcmp(a, "all")) archived = -1;
    else if (a && str_to_bool(a, &b)) archived = b ? 1 : 0;
    else if (a) {
        http_resp_error(resp, 422, "validation_error", "archived: must be true, false or all");
        return;
    }
    json_t *list = NULL;
    int rc = store_conversation_list(g_api.store, caller(req), archived, (int)limit, (int)offset, &list);
    if (rc != STORE_OK) { api_store_error(resp, rc, "Conversation"); return; }
    http_resp_json(resp, 200, list);
}

void api_conversation_create(http_req_t *req, http_resp_t *resp)
{
    size_t len = 0;
    http_req_body(req, &len);
    json_t *body = len ? http_req_json(req, resp) : json_object();
    if (!body) return;
    const char *title, *model;
    if (!field_str(resp, body, "title", false, TITLE_MAX, &title) ||
        !field_str(resp, body, "model", false, MODEL_MAX, &model))
        goto out;
    json_t *conv = NULL;
    int rc = store_conversation_create(g_api.store, caller(req), title ? title : "New Chat",
                                       model ? model : g_config.openai_model, &conv);
    if (rc != STORE_OK) api_store_error(resp, rc, "Conversation");
    else http_resp_json(resp, 200, conv);
out:
    json_decref(body);
}

void api_conversation_get(http_req_t *req, http_resp_t *resp)
{
    int64_t id;
    if (!param_id(req, resp, "id", &id)) return;
    json_t *conv = NULL;
    int rc = store_conversation_get(g_api.store, caller(req), id, true, &conv);
    if (rc != STORE_OK) { api_store_error(resp, rc, "Conversation"); return; }
    http_resp_json(resp, 200, conv);
}

void api_conversation_patch(http_req_t *req, http_resp_t *resp)
{
    int64_t id;
    if (!param_id(req, resp, "id", &id)) return;
    json_t *body = http_req_json(req, resp);
    if (!body) return;
    const char *title;
    int archived;
    if (!field_str(resp, body, "title", false, TITLE_MAX, &title) ||
        !field_bool(resp, body, "is_archived", &archived))
        goto out;
    int rc = store_conversation_update(g_api.store, caller(req), id, title, archived);
    if (rc != STORE_OK) api_store_error(resp, rc, "Conversation");
    else http_resp_json(resp, 200, json_pack("{s:s}", "status", "success"));
out:
    json_decref(body);
}

void api_conversation_delete(http_req_t *req, http_resp_t *resp)
{
    int64_t id;
    if (!param_id(req, resp, "id", &id)) return;
    int rc = store_conversation_delete(g_api.store, caller(req), id);
    if (rc != STORE_OK) api_store_error(resp, rc, "Conversation");
    else http_resp_json(resp, 200, json_pack("{s:s}", "status", "success"));
}

void api_conversation_search(http_req_t *req, http_resp_t *resp)
{
    const char *q = http_req_query(req, "q");
    int64_t limit;
    if (!q || !*q) { http_resp_error(resp, 422, "validation_error", "q: field required"); return; }
    if (!utf8_valid(q, strlen(q)) || utf8_len(q, strlen(q)) > QUERY_MAX) {
        http_resp_error(resp, 422, "validation_error", "q: must be valid UTF-8, at most %d characters", QUERY_MAX);
        return;
    }
    if (!query_int(req, resp, "limit", 20, 1, 100, &limit)) return;
    json_t *list = NULL;
    int rc = store_conversation_search(g_api.store, caller(req), q, (int)limit, &list);
    if (rc != STORE_OK) { api_store_error(resp, rc, "Conversation"); return; }
    http_resp_json(resp, 200, list);
}
