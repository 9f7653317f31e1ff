/* feedback.c — POST /api/feedback: a rating on one of the caller's messages.
 * message_id is required (the original's table needed it but its API did not ask for it,
 * so feedback was never saved); the original's fields message/timestamp/messageIndex are
 * accepted and ignored. */
#include "api/api.h"
#include "api/validate.h"

static const char *const ratings[] = {"positive", "negative", NULL};

void api_feedback_create(http_req_t *req, http_resp_t *resp)
{
    json_t *body = http_req_json(req, resp);
    if (!body) return;
    const char *rating, *comment;
    int64_t message_id;
    if (!field_enum(resp, body, "feedback", true, ratings, &rating) ||
        !field_int(resp, body, "message_id", true, 1, INT64_MAX, &message_id, NULL) ||
        !field_str(resp, body, "comment", false, 2000, &comment))
        goto out;
    int64_t id;
    int rc = store_feedback_add(g_api.store, http_req_principal(req)->user_id, message_id, rating,
                                comment, &id);
    if (rc != STORE_OK) api_store_error(resp, rc, "Message");
    else http_resp_json(resp, 200, json_pack("{s:s, s:s, s:I}", "status", "success", "message",
                                             "Feedback recorded", "id", (json_int_t)id));
out:
    json_decref(body);
}
