/* billing_common.c — what the payment and subscription handlers share: the Stripe client
 * singleton, customer creation, Stripe error mapping, idempotency keys, and the quota gate
 * the other resources call (see payments.h). */
#include "api/api.h"
#include "api/payments.h"
#include "billing/stripe.h"
#include "billing/stripe_calls.h"
#include "store/billing.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/crypto.h"
#include "core/log.h"
#include "core/timeutil.h"
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static stripe_client_t *g_stripe;
static pthread_once_t stripe_once = PTHREAD_ONCE_INIT;

static void stripe_init(void)
{
    stripe_config_t cfg = {.api_base = g_config.stripe_api_base,
                           .secret_key = g_config.stripe_secret_key, .max_retries = 2};
    g_stripe = stripe_client_new(&cfg);
}

struct stripe_client *api_stripe(void)
{
    pthread_once(&stripe_once, stripe_init);
    return g_stripe;
}

void api_stripe_error(http_resp_t *resp, int rc, const void *stripe_err, const char *what)
{
    const stripe_error_t *e = stripe_err;
    switch (rc) {
    case STRIPE_ERR_REQUEST:
        http_resp_error(resp, 400, "payment_error", "%s failed: %s", what,
                        e->message[0] ? e->message : "refused by the payment provider");
        break;
    case STRIPE_ERR_AUTH:
        log_error("billing: Stripe rejected our API key (%s); check STRIPE_SECRET_KEY", e->message);
        http_resp_error(resp, 502, "payment_provider_error",
                        "%s failed: the payment provider refused this server's credentials", what);
        break;
    case STRIPE_ERR_CONFIG:
        http_resp_error(resp, 503, "payments_not_configured",
                        "Payments are not configured on this server");
        break;
    default:
        log_warn("billing: Stripe unavailable after %d attempts: %s", e->attempts, e->message);
        http_resp_error(resp, 502, "payment_provider_unavailable",
                        "%s failed: the payment provider is unavailable; try again", what);
    }
}

char *api_stripe_customer(http_resp_t *resp, int64_t user_id)
{
    char *email = NULL, *name = NULL, *cus = NULL;
    int rc = store_billing_customer_get(g_api.store, user_id, &email, &name, &cus);
    if (rc != STORE_OK) {
        api_store_error(resp, rc, "User");
        return NULL;
    }
    if (!cus) {
        stripe_error_t e;
        char *created = NULL;
        rc = stripe_customer_create(api_stripe(), user_id, email, name, &created, &e);
        if (rc != STRIPE_OK) {
            api_stripe_error(resp, rc, &e, "Customer creation");
        } else {
            /* first writer wins; a concurrent request got the same customer from Stripe's
             * idempotency cache anyway */
            rc = store_billing_customer_set(g_api.store, user_id, created, &cus);
            if (rc != STORE_OK) api_store_error(resp, rc, "User");
        }
        free(created);
    }
    free(email);
    free(name);
    return cus;
}

char *api_idempotency_key(http_req_t *req, const char *kind, int64_t user_id)
{
    buf_t b = {0};
    const char *client = http_req_header(req, "Idempotency-Key");
    if (client && *client && strlen(client) <= 255) {
        char hex[2 * SHA256_LEN + 1];
        sha256_hex(client, strlen(client), hex);
        buf_printf(&b, "rodeo-%s-%" PRId64 "-c%.32s", kind, user_id, hex);
    } else {
        char *tok = random_token(18);
        buf_printf(&b, "rodeo-%s-%" PRId64 "-%s", kind, user_id, tok);
        free(tok);
    }
    return buf_steal(&b);
}

/* ---- quota gate ---- */
static const char *quota_label(enum billing_quota q)
{
    switch (q) {
    case QUOTA_CHAT_MESSAGES_DAY:  return "Daily chat message limit";
    case QUOTA_RECOGNITIONS_DAY:   return "Daily product recognition limit";
    case QUOTA_RECOGNITIONS_MONTH: return "Monthly product recognition limit";
    case QUOTA_EXPORTS_DAY:        return "Daily export limit";
    default:                       return "Usage limit";
    }
}

void api_quota_denied(http_resp_t *resp, const billing_quota_info_t *info)
{
    char reset[TIME_ISO_LEN];
    time_iso8601(info->reset_at_us, reset, sizeof reset);
    const billing_plan_t *pl = billing_plans_find(billing_plans(), info->plan);
    const char *plan_name = pl ? pl->name : info->plan;
    buf_t detail = {0};
    if (info->not_in_plan)
        buf_printf(&detail, "%s: not included in the %s plan; upgrade to use it",
                   quota_label(info->quota), plan_name);
    else
        buf_printf(&detail, "%s reached (%lld on the %s plan); resets at %s",
                   quota_label(info->quota), (long long)info->limit, plan_name, reset);
    json_t *body = json_pack("{s:s, s:s, s:s, s:I, s:I, s:s, s:s}", "detail", detail.data,
                             "code", info->not_in_plan ? "plan_required" : "quota_exceeded",
                             "quota", billing_quota_name(info->quota), "limit", (json_int_t)info->limit,
                             "used", (json_int_t)info->used, "reset_at", reset, "plan", info->plan);
    buf_free(&detail);
    if (!info->not_in_plan) {
        int64_t wait = (info->reset_at_us - time_now_us() + 999999) / 1000000;
        char ra[24];
        snprintf(ra, sizeof ra, "%lld", (long long)(wait > 0 ? wait : 1));
        http_resp_header(resp, "Retry-After", ra);
    }
    http_resp_json(resp, info->not_in_plan ? 402 : 429, body);
}

bool api_quota_check(http_req_t *req, http_resp_t *resp, enum billing_action action)
{
    int64_t uid = http_req_principal(req)->user_id;
    if (!uid) return true;
    billing_quota_info_t info;
    int rc = billing_quota_consume(g_api.store, uid, action, 0, &info);
    if (rc == BILLING_QUOTA_ALLOWED) {
        if (info.limit != QUOTA_UNLIMITED) {
            char v[24];
            snprintf(v, sizeof v, "%lld", (long long)info.limit);
            http_resp_header(resp, "X-Quota-Limit", v);
            snprintf(v, sizeof v, "%lld", (long long)info.remaining);
            http_resp_header(resp, "X-Quota-Remaining", v);
        }
        return true;
    }
    if (rc == BILLING_QUOTA_DENIED) api_quota_denied(resp, &info);
    else api_store_error(resp, STORE_ERROR, "Usage");
    return false;
}

void api_quota_refund(http_req_t *req, enum billing_action action)
{
    int64_t uid = http_req_principal(req)->user_id;
    if (uid) billing_quota_refund(g_api.store, uid, action, 0);
}
