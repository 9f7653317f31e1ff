/* usage.c — GET /api/subscription/plans (the plan table, contract section 4 shape) and
 * GET /api/subscription/usage (the caller's plan, limits and current counts). */
#include "api/api.h"
#include "api/payments.h"
#include "billing/plans.h"
#include "billing/quota.h"

void api_plans_list(http_req_t *req, http_resp_t *resp)
{
    http_resp_json(resp, 200, billing_plans_json(billing_plans()));
}

void api_usage_get(http_req_t *req, http_resp_t *resp)
{
    json_t *out = NULL;
    int rc = billing_quota_usage_json(g_api.store, http_req_principal(req)->user_id, 0, &out);
    if (rc != STORE_OK) api_store_error(resp, rc, "User");
    else http_resp_json(resp, 200, out);
}
