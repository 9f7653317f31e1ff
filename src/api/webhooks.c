/* webhooks.c — POST /api/webhooks/stripe: the raw body and Stripe-Signature header go to
 * billing_webhook_handle() (verification, exactly-once, ordering; see billing/webhook.h).
 * The secret is read from the configuration on every request, so a server without one
 * refuses webhooks instead of accepting them unverified. */
#include "api/api.h"
#include "api/payments.h"
#include "billing/webhook.h"
#include "core/config.h"

void api_webhook_stripe(http_req_t *req, http_resp_t *resp)
{
    size_t len = 0;
    const char *body = http_req_body(req, &len);
    billing_webhook_result_t r;
    billing_webhook_handle(g_api.store, billing_plans(), g_config.stripe_webhook_secret,
                           http_req_header(req, "Stripe-Signature"), body ? body : "", len, 0, 0, &r);
    http_resp_json(resp, r.status, r.body);
}
