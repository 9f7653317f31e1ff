/* payments.h — the billing part of the HTTP API: plans, payments, subscriptions, the Stripe
 * webhook, and the quota gate other handlers call.
 *
 * Quota gate (for chat, recognition and export handlers):
 *     if (!api_quota_check(req, resp, BILLING_ACTION_CHAT_MESSAGE)) return;
 * It consumes one unit for the signed-in user (anonymous callers pass: they are held by the
 * per-IP rate limits), and on denial has already answered 429 (limit reached; Retry-After
 * until the period resets) or 402 (the plan does not include it) with
 *     {"detail", "code": "quota_exceeded" | "plan_required", "quota", "limit", "used",
 *      "reset_at", "plan"}
 * or 503 when the store is down. If the work then fails for a reason that is not the
 * user's, give the unit back with api_quota_refund(). */
#ifndef RODEO_API_PAYMENTS_H
#define RODEO_API_PAYMENTS_H
#include "billing/quota.h"
#include "http/http.h"
#include <stdbool.h>

bool api_quota_check(http_req_t *req, http_resp_t *resp, enum billing_action action);
void api_quota_refund(http_req_t *req, enum billing_action action);
/* Writes the 429/402 body for a denial (exposed for handlers that check quotas themselves). */
void api_quota_denied(http_resp_t *resp, const billing_quota_info_t *info);

/* usage.c */
void api_plans_list(http_req_t *req, http_resp_t *resp);
void api_usage_get(http_req_t *req, http_resp_t *resp);
/* payments.c */
void api_payment_create_intent(http_req_t *req, http_resp_t *resp);
void api_payment_list(http_req_t *req, http_resp_t *resp);
/* subscriptions.c */
void api_subscription_create(http_req_t *req, http_resp_t *resp);
void api_subscription_cancel(http_req_t *req, http_resp_t *resp);
void api_subscription_mine(http_req_t *req, http_resp_t *resp);
/* webhooks.c */
void api_webhook_stripe(http_req_t *req, http_resp_t *resp);

/* billing_common.c: shared by the payment handlers */
struct stripe_client;
struct stripe_client *api_stripe(void);              /* process-wide client from g_config */
/* The user's Stripe customer id, created at Stripe and remembered on first use. On failure
 * the error response is already sent and NULL returned. Caller frees. */
char *api_stripe_customer(http_resp_t *resp, int64_t user_id);
/* Maps a failed Stripe call to our error response ("<what> failed: <Stripe's message>"). */
void api_stripe_error(http_resp_t *resp, int rc, const void *stripe_err, const char *what);
/* An Idempotency-Key for a Stripe POST: derived from the client's own Idempotency-Key
 * header when it sent one (so the client's retry is also safe), else random. Caller frees. */
char *api_idempotency_key(http_req_t *req, const char *kind, int64_t user_id);
#endif
