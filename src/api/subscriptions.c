/* subscriptions.c — POST /api/payments/create-subscription,
 * DELETE /api/payments/cancel-subscription/{subscription_id} and
 * GET /api/payments/my-subscription.
 *
 * One access-granting subscription per user: subscribing to another plan replaces the
 * current one (it is canceled at Stripe right after the new one exists), and subscribing to
 * the plan one already has is 409. Requests of one user are serialised by a striped lock so
 * two concurrent clicks cannot both create one (within one server process; across processes
 * the replacement step still leaves one). Trials answer with the pending SetupIntent's
 * secret (flaw F14). */
#include "api/api.h"
#include "api/payments.h"
#include "api/validate.h"
#include "billing/money.h"
#include "billing/plans.h"
#include "billing/stripe_calls.h"
#include "store/billing.h"
#include "core/log.h"
#include "core/str.h"
#include "core/timeutil.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define USER_LOCKS 64
static pthread_mutex_t user_locks[USER_LOCKS];
static pthread_once_t user_locks_once = PTHREAD_ONCE_INIT;

static void user_locks_init(void)
{
    for (int i = 0; i < USER_LOCKS; i++) pthread_mutex_init(&user_locks[i], NULL);
}

static pthread_mutex_t *user_lock(int64_t uid)
{
    pthread_once(&user_locks_once, user_locks_init);
    return &user_locks[(uint64_t)uid % USER_LOCKS];
}

static int64_t secs_us(json_t *v)
{
    return json_is_integer(v) && json_integer_value(v) > 0 ? (int64_t)json_integer_value(v) * 1000000 : 0;
}

/* Records Stripe's answer about a subscription as a guarded state change (no event id). */
static void apply_stripe_sub(int64_t uid, json_t *sub, const char *plan)
{
    const char *cust = json_string_value(json_object_get(sub, "customer"));
    store_subscription_t s = {
        .user_id = uid, .subscription_id = json_string_value(json_object_get(sub, "id")),
        .customer_id = cust, .plan = plan, .status = json_string_value(json_object_get(sub, "status")),
        .period_start_us = secs_us(json_object_get(sub, "current_period_start")),
        .period_end_us = secs_us(json_object_get(sub, "current_period_end")),
        .cancel_at_period_end = json_is_true(json_object_get(sub, "cancel_at_period_end")),
        /* Stripe's objects carry no "updated" time: this answer is as of now (seconds, so a
         * webhook about the same change ties and the status order decides) */
        .event_at_us = time_now_us() / 1000000 * 1000000};
    if (!s.subscription_id || !s.status) return;
    store_stripe_change_t ch = {.sub = &s, .sub_change = STORE_SUB_STATE};
    if (store_billing_stripe_apply(g_api.store, &ch, NULL) != STORE_OK)
        log_error("billing: could not record the state of subscription %s", s.subscription_id);
}

/* Cancels the user's other access-granting subscriptions at Stripe (immediately). */
static void replace_others(int64_t uid, const char *keep)
{
    json_t *ids = NULL;
    if (store_billing_subscription_active_ids(g_api.store, uid, keep, &ids) != STORE_OK) return;
    size_t i;
    json_t *v;
    json_array_foreach(ids, i, v) {
        json_t *sub = NULL;
        stripe_error_t e;
        int rc = stripe_subscription_cancel(api_stripe(), json_string_value(v), false, NULL, &sub, &e);
        if (rc == STRIPE_OK) apply_stripe_sub(uid, sub, NULL);
        else log_error("billing: replacing subscription %s failed: %s", json_string_value(v), e.message);
        json_decref(sub);
    }
    json_decref(ids);
}

void api_subscription_create(http_req_t *req, http_resp_t *resp)
{
    int64_t uid = http_req_principal(req)->user_id;
    json_t *body = http_req_json(req, resp);
    if (!body) return;
    const char *plan_name;
    int64_t trial_days = 0;
    char *customer = NULL, *idem = NULL;
    json_t *sub = NULL, *current = NULL;
    bool locked = false;
    if (!field_str(resp, body, "plan", true, 64, &plan_name) ||
        !field_int(resp, body, "trial_days", false, 0, 730, &trial_days, NULL))
        goto out;
    const billing_plan_t *plan = billing_plans_find(billing_plans(), plan_name);
    if (!plan || !plan->price_id) {
        if (plan) http_resp_error(resp, 400, "invalid_plan", "Cannot create subscription for free plan");
        else http_resp_error(resp, 400, "invalid_plan", "Unknown plan '%s'", plan_name);
        goto out;
    }
    pthread_mutex_lock(user_lock(uid));
    locked = true;
    int rc = store_billing_subscription_current(g_api.store, uid, &current);
    if (rc == STORE_OK && !strcmp(json_string_value(json_object_get(current, "plan")), plan->id)) {
        http_resp_error(resp, 409, "already_subscribed", "You already have an active %s subscription",
                        plan->name);
        goto out;
    }
    if (rc != STORE_OK && rc != STORE_NOT_FOUND) {
        api_store_error(resp, rc, "Subscription");
        goto out;
    }
    if (!(customer = api_stripe_customer(resp, uid))) goto out;
    idem = api_idempotency_key(req, "sub", uid);
    stripe_error_t e;
    rc = stripe_subscription_create(api_stripe(), customer, plan->price_id, (int)trial_days, uid,
                                    plan->id, idem, &sub, &e);
    if (rc != STRIPE_OK) {
        api_stripe_error(resp, rc, &e, "Subscription creation");
        goto out;
    }
    const char *sid = json_string_value(json_object_get(sub, "id"));
    const char *status = json_string_value(json_object_get(sub, "status"));
    int64_t created = secs_us(json_object_get(sub, "created"));
    store_subscription_t s = {.user_id = uid, .subscription_id = sid, .customer_id = customer,
                              .plan = plan->id, .status = status ? status : "incomplete",
                              .period_start_us = secs_us(json_object_get(sub, "current_period_start")),
                              .period_end_us = secs_us(json_object_get(sub, "current_period_end")),
                              .cancel_at_period_end = json_is_true(json_object_get(sub, "cancel_at_period_end")),
                              .event_at_us = created ? created : time_now_us() / 1000000 * 1000000};
    int64_t local = 0;
    rc = store_billing_subscription_add(g_api.store, &s, &local);
    if (rc != STORE_OK) {
        log_error("billing: Stripe subscription %s exists but could not be stored; a webhook will"
                  " record it", sid);
        api_store_error(resp, rc, "Subscription");
        goto out;
    }
    replace_others(uid, sid);
    const char *secret = stripe_subscription_client_secret(sub);
    const char *kind = !secret ? NULL : !strncmp(secret, "seti_", 5) ? "setup_intent" : "payment_intent";
    http_resp_json(resp, 200, json_pack("{s:I, s:s, s:s?, s:s?, s:s, s:s}", "subscription_id",
                                        (json_int_t)local, "stripe_subscription_id", sid,
                                        "client_secret", secret, "client_secret_type", kind,
                                        "status", s.status, "plan", plan->id));
out:
    if (locked) pthread_mutex_unlock(user_lock(uid));
    json_decref(sub);
    json_decref(current);
    json_decref(body);
    free(customer);
    free(idem);
}

void api_subscription_cancel(http_req_t *req, http_resp_t *resp)
{
    int64_t uid = http_req_principal(req)->user_id;
    int64_t id;
    if (!param_id(req, resp, "subscription_id", &id)) return;
    bool at_period_end = true;
    const char *q = http_req_query(req, "at_period_end");
    if (q && !str_to_bool(q, &at_period_end)) {
        http_resp_error(resp, 422, "validation_error", "at_period_end: must be a boolean");
        return;
    }
    json_t *row = NULL, *sub = NULL;
    char *idem = NULL;
    int rc = store_billing_subscription_get(g_api.store, uid, id, &row);
    if (rc != STORE_OK) {
        if (rc == STORE_NOT_FOUND) http_resp_error(resp, 404, "not_found", "Subscription not found");
        else api_store_error(resp, rc, "Subscription");
        return;
    }
    const char *status = json_string_value(json_object_get(row, "status"));
    if (status && (!strcmp(status, "canceled") || !strcmp(status, "incomplete_expired"))) {
        http_resp_error(resp, 400, "already_canceled", "Subscription is already canceled");
        goto out;
    }
    if (at_period_end) idem = api_idempotency_key(req, "cancel", uid);
    stripe_error_t e;
    rc = stripe_subscription_cancel(api_stripe(),
                                    json_string_value(json_object_get(row, "stripe_subscription_id")),
                                    at_period_end, idem, &sub, &e);
    if (rc != STRIPE_OK) {
        api_stripe_error(resp, rc, &e, "Cancellation");
        goto out;
    }
    apply_stripe_sub(uid, sub, NULL);
    int64_t end = secs_us(json_object_get(sub, "current_period_end"));
    char iso[TIME_ISO_LEN];
    http_resp_json(resp, 200, json_pack("{s:s, s:s?}", "status",
                                        at_period_end ? "canceling_at_period_end" : "canceled",
                                        "period_end", end ? time_iso8601(end, iso, sizeof iso) : NULL));
out:
    json_decref(row);
    json_decref(sub);
    free(idem);
}

void api_subscription_mine(http_req_t *req, http_resp_t *resp)
{
    int64_t uid = http_req_principal(req)->user_id;
    json_t *cur = NULL;
    int rc = store_billing_subscription_current(g_api.store, uid, &cur);
    if (rc == STORE_NOT_FOUND) {
        http_resp_json(resp, 200, json_pack("{s:b, s:s}", "has_subscription", 0, "plan", "free"));
        return;
    }
    if (rc != STORE_OK) {
        api_store_error(resp, rc, "Subscription");
        return;
    }
    const billing_plan_t *pl = billing_plans_find(billing_plans(),
                                                  json_string_value(json_object_get(cur, "plan")));
    json_object_set_new(cur, "has_subscription", json_true());
    if (pl) {
        json_t *pj = billing_plan_json(pl);
        json_object_set(cur, "price", json_object_get(pj, "price"));
        json_object_set(cur, "features", json_object_get(pj, "features"));
        json_object_set(cur, "quotas", json_object_get(pj, "quotas"));
        json_decref(pj);
    }
    http_resp_json(resp, 200, cur);
}
