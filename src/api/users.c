/* users.c — GET/PATCH /api/users/{id}: a user's own profile (admins may see and edit any).
 * Another user's id answers 404, exactly like an id that does not exist. */
#include "api/api.h"
#include "api/validate.h"
#include <stdlib.h>
#include <string.h>

static const char *const skill_levels[] = {"beginner", "intermediate", "advanced", "professional", NULL};

#define PREFERENCES_MAX_BYTES 16384

/* Resolves {id} and checks it is the caller (or the caller is an admin). */
static bool target_user(http_req_t *req, http_resp_t *resp, int64_t *id)
{
    if (!param_id(req, resp, "id", id)) return false;
    const http_principal_t *p = http_req_principal(req);
    if (p->user_id != *id && !p->is_admin) {
        http_resp_error(resp, 404, "not_found", "User not found");
        return false;
    }
    return true;
}

void api_user_get(http_req_t *req, http_resp_t *resp)
{
    int64_t id;
    if (!target_user(req, resp, &id)) return;
    json_t *user = NULL;
    int rc = store_user_get(g_api.store, id, &user);
    if (rc != STORE_OK) { api_store_error(resp, rc, "User"); return; }
    http_resp_json(resp, 200, user);
}

void api_user_patch(http_req_t *req, http_resp_t *resp)
{
    int64_t id;
    if (!target_user(req, resp, &id)) return;
    json_t *body = http_req_json(req, resp);
    if (!body) return;
    const char *full_name, *skill;
    char *prefs = NULL;
    if (!field_str(resp, body, "full_name", false, 255, &full_name) ||
        !field_enum(resp, body, "skill_level", false, skill_levels, &skill))
        goto out;
    json_t *p = json_object_get(body, "preferences");
    if (p && !json_is_null(p)) {
        if (!json_is_object(p)) {
            http_resp_error(resp, 422, "validation_error", "preferences: must be a JSON object");
            goto out;
        }
        prefs = json_dumps(p, JSON_COMPACT);
        if (!prefs || strlen(prefs) > PREFERENCES_MAX_BYTES) {
            http_resp_error(resp, 422, "validation_error", "preferences: must be at most %d bytes",
                            PREFERENCES_MAX_BYTES);
            goto out;
        }
    }
    int rc = store_user_update(g_api.store, id, full_name, skill, prefs);
    if (rc != STORE_OK) api_store_error(resp, rc, "User");
    else http_resp_json(resp, 200, json_pack("{s:s}", "status", "success"));
out:
    free(prefs);
    json_decref(body);
}
