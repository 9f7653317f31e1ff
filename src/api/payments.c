/* payments.c — one-time payments: POST /api/payments/create-intent and
 * GET /api/payments/my-payments. Amounts are exact integer cents from the request on
 * (contract flaw F15: the original truncated 19.99 to 1998 and had no bounds). */
#include "api/api.h"
#include "api/payments.h"
#include "api/validate.h"
#include "billing/money.h"
#include "billing/stripe_calls.h"
#include "store/billing.h"
#include <stdlib.h>
#include <string.h>

#define DESCRIPTION_MAX 500

void api_payment_create_intent(http_req_t *req, http_resp_t *resp)
{
    int64_t uid = http_req_principal(req)->user_id;
    json_t *body = http_req_json(req, resp);
    if (!body) return;
    char *customer = NULL, *idem = NULL;
    json_t *pi = NULL;
    const char *description, *currency;
    int64_t cents;
    char why[128];
    if (money_cents_from_json(json_object_get(body, "amount"), MONEY_MIN_CHARGE_CENTS,
                              MONEY_MAX_CHARGE_CENTS, &cents, why, sizeof why) != 0) {
        http_resp_error(resp, 422, "validation_error",
                        "amount: %s (dollars with at most two decimals, 0.50 to 999999.99)", why);
        goto out;
    }
    if (!field_str(resp, body, "description", true, DESCRIPTION_MAX, &description) ||
        !field_str(resp, body, "currency", false, 3, &currency))
        goto out;
    if (currency && strcmp(currency, "usd")) {
        http_resp_error(resp, 422, "validation_error", "currency: only usd is supported");
        goto out;
    }
    json_t *md = json_object_get(body, "metadata");
    if (billing_metadata_validate(md, why, sizeof why) != 0) {
        http_resp_error(resp, 422, "validation_error", "metadata: %s", why);
        goto out;
    }
    if (!(customer = api_stripe_customer(resp, uid))) goto out;
    idem = api_idempotency_key(req, "pi", uid);
    stripe_error_t e;
    int rc = stripe_payment_intent_create(api_stripe(), customer, cents, "usd", description, uid,
                                          md, idem, &pi, &e);
    if (rc != STRIPE_OK) {
        api_stripe_error(resp, rc, &e, "Payment intent creation");
        goto out;
    }
    const char *secret = json_string_value(json_object_get(pi, "client_secret"));
    const char *status = json_string_value(json_object_get(pi, "status"));
    char *md_text = json_is_object(md) ? json_dumps(md, JSON_COMPACT) : NULL;
    store_new_payment_t p = {.user_id = uid, .payment_intent_id = json_string_value(json_object_get(pi, "id")),
                             .amount_cents = cents, .currency = "usd",
                             .status = status ? status : "requires_payment_method",
                             .description = description, .metadata_json = md_text};
    int64_t local = 0;
    rc = store_billing_payment_add(g_api.store, &p, &local);
    free(md_text);
    if (rc != STORE_OK) {
        api_store_error(resp, rc, "Payment");
        goto out;
    }
    http_resp_json(resp, 200, json_pack("{s:s?, s:I, s:I, s:s, s:s}", "client_secret", secret,
                                        "payment_id", (json_int_t)local, "amount", (json_int_t)cents,
                                        "currency", "usd", "payment_intent_id", p.payment_intent_id));
out:
    json_decref(pi);
    json_decref(body);
    free(customer);
    free(idem);
}

void api_payment_list(http_req_t *req, http_resp_t *resp)
{
    int64_t limit;
    if (!query_int(req, resp, "limit", 100, 1, 500, &limit)) return;
    json_t *list = NULL;
    int rc = store_billing_payment_list(g_api.store, http_req_principal(req)->user_id, (int)limit, &list);
    if (rc != STORE_OK) api_store_error(resp, rc, "Payment");
    else http_resp_json(resp, 200, list);
}
