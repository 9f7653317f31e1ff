/* test_billing_store.c — billing persistence, quotas and webhook processing on a real store
 * (SQLite, or PostgreSQL with TEST_DATABASE_URL: the names start with store_ so the
 * PostgreSQL suite runs them too). */
#include "test.h"
#include "store_fixture.h"
#include "billing/plans.h"
#include "billing/quota.h"
#include "billing/signature.h"
#include "billing/webhook.h"
#include "store/billing.h"
#include "core/buf.h"
#include "core/timeutil.h"
#include <pthread.h>
#include <stdlib.h>

static char *user_plan(store_t *st, int64_t uid)
{
    static __thread char plan[32];
    if (store_billing_user_plan(st, uid, plan, sizeof plan) != STORE_OK) return "(error)";
    return plan;
}

TEST(store_billing_quota_boundary)
{
    store_t *st = fixture_store_open();
    REQUIRE(st);
    int64_t uid = fixture_user(st, "quota");
    REQUIRE(uid > 0);
    store_quota_step_t s = {.quota = "exports_day", .period = "2026-11-24", .limit = 3};
    for (int i = 1; i <= 3; i++) {
        CHECK_INT(store_billing_quota_consume(st, uid, &s, 1), STORE_OK);
        CHECK(s.allowed);
        CHECK_INT(s.count, i);
    }
    CHECK_INT(store_billing_quota_consume(st, uid, &s, 1), STORE_OK);
    CHECK(!s.allowed);
    int64_t n = -1;
    CHECK_INT(store_billing_quota_count(st, uid, "exports_day", "2026-11-24", &n), STORE_OK);
    CHECK_INT(n, 3);                                   /* a denial does not count */
    /* another period, another counter */
    store_quota_step_t t = {.quota = "exports_day", .period = "2026-11-25", .limit = 3};
    CHECK_INT(store_billing_quota_consume(st, uid, &t, 1), STORE_OK);
    CHECK(t.allowed);
    CHECK_INT(t.count, 1);
    /* refund gives one back, never below zero */
    CHECK_INT(store_billing_quota_refund(st, uid, "exports_day", "2026-11-24"), STORE_OK);
    CHECK_INT(store_billing_quota_consume(st, uid, &s, 1), STORE_OK);
    CHECK(s.allowed);
    for (int i = 0; i < 5; i++) store_billing_quota_refund(st, uid, "exports_day", "2026-11-25");
    CHECK_INT(store_billing_quota_count(st, uid, "exports_day", "2026-11-25", &n), STORE_OK);
    CHECK_INT(n, 0);
    /* limit 0 never creates a row */
    store_quota_step_t z = {.quota = "recognitions_day", .period = "2026-11-24", .limit = 0};
    CHECK_INT(store_billing_quota_consume(st, uid, &z, 1), STORE_OK);
    CHECK(!z.allowed);
    store_close(st);
}

TEST(store_billing_quota_all_or_nothing)
{
    store_t *st = fixture_store_open();
    REQUIRE(st);
    int64_t uid = fixture_user(st, "quota2");
    store_quota_step_t s[2] = {{.quota = "recognitions_day", .period = "2026-11-24", .limit = 5},
                               {.quota = "recognitions_month", .period = "2026-11", .limit = 2}};
    CHECK_INT(store_billing_quota_consume(st, uid, s, 2), STORE_OK);
    CHECK(s[0].allowed && s[1].allowed);
    CHECK_INT(store_billing_quota_consume(st, uid, s, 2), STORE_OK);
    CHECK(s[0].allowed && s[1].allowed);
    CHECK_INT(s[0].count, 2);
    CHECK_INT(store_billing_quota_consume(st, uid, s, 2), STORE_OK);
    CHECK(!s[1].allowed);
    int64_t day = -1;
    store_billing_quota_count(st, uid, "recognitions_day", "2026-11-24", &day);
    CHECK_INT(day, 2);                 /* the day counter was rolled back with the denial */
    store_close(st);
}

typedef struct {
    store_t *st;
    int64_t uid;
    int allowed, errors;
    pthread_mutex_t *lock;
} race_t;

static void *race_worker(void *ud)
{
    race_t *r = ud;
    store_quota_step_t s = {.quota = "chat_messages_day", .period = "2026-11-24", .limit = 10};
    int rc = store_billing_quota_consume(r->st, r->uid, &s, 1);
    pthread_mutex_lock(r->lock);
    if (rc != STORE_OK) r->errors++;
    else if (s.allowed) r->allowed++;
    pthread_mutex_unlock(r->lock);
    return NULL;
}

TEST(store_billing_quota_concurrent_exact)
{
    store_t *st = fixture_store_open();
    REQUIRE(st);
    int64_t uid = fixture_user(st, "race");
    pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    race_t r = {.st = st, .uid = uid, .lock = &lock};
    pthread_t th[50];
    for (int i = 0; i < 50; i++) pthread_create(&th[i], NULL, race_worker, &r);
    for (int i = 0; i < 50; i++) pthread_join(th[i], NULL);
    CHECK_INT(r.errors, 0);
    CHECK_INT(r.allowed, 10);
    int64_t n = 0;
    store_billing_quota_count(st, uid, "chat_messages_day", "2026-11-24", &n);
    CHECK_INT(n, 10);
    store_close(st);
}

TEST(store_billing_quota_plan_limits)
{
    store_t *st = fixture_store_open();
    REQUIRE(st);
    int64_t uid = fixture_user(st, "planq");
    const billing_plan_t *fr = billing_plans_free_plan(billing_plans());
    int64_t limit = fr->quota[QUOTA_EXPORTS_DAY];
    REQUIRE(limit > 0 && limit < 1000);
    int64_t now = 1764000000LL * 1000000;         /* 2025-11-24T16:00:00Z */
    billing_quota_info_t info;
    for (int64_t i = 1; i <= limit; i++) {
        CHECK_INT(billing_quota_consume(st, uid, BILLING_ACTION_EXPORT, now, &info), BILLING_QUOTA_ALLOWED);
        CHECK_INT(info.used, i);
        CHECK_INT(info.remaining, limit - i);
    }
    CHECK_INT(billing_quota_consume(st, uid, BILLING_ACTION_EXPORT, now, &info), BILLING_QUOTA_DENIED);
    CHECK(!info.allowed);
    CHECK(!info.not_in_plan);
    CHECK_INT(info.quota, QUOTA_EXPORTS_DAY);
    CHECK_INT(info.limit, limit);
    CHECK_STR(info.plan, "free");
    CHECK_INT(info.reset_at_us, 1764028800LL * 1000000);   /* next UTC midnight */
    /* the next day is a fresh period */
    CHECK_INT(billing_quota_consume(st, uid, BILLING_ACTION_EXPORT, now + 86400LL * 1000000, &info),
              BILLING_QUOTA_ALLOWED);
    /* a refund makes room again */
    billing_quota_refund(st, uid, BILLING_ACTION_EXPORT, now);
    CHECK_INT(billing_quota_consume(st, uid, BILLING_ACTION_EXPORT, now, &info), BILLING_QUOTA_ALLOWED);
    /* unknown user: an error, never "allowed" */
    CHECK_INT(billing_quota_consume(st, 987654321, BILLING_ACTION_EXPORT, now, &info), BILLING_QUOTA_ERROR);
    CHECK(!info.allowed);
    json_t *usage = NULL;
    CHECK_INT(billing_quota_usage_json(st, uid, now, &usage), STORE_OK);
    CHECK_INT(json_integer_value(json_object_get(json_object_get(json_object_get(usage, "quotas"),
                                                                 "exports_day"), "used")), limit);
    json_decref(usage);
    store_close(st);
}

TEST(billing_quota_period_keys)
{
    char k[16];
    int64_t reset;
    billing_quota_period_key(PERIOD_DAY, 1767225599LL * 1000000, k, &reset);   /* 2025-12-31T23:59:59Z */
    CHECK_STR(k, "2025-12-31");
    CHECK_INT(reset, 1767225600LL * 1000000);
    billing_quota_period_key(PERIOD_MONTH, 1767225599LL * 1000000, k, &reset);
    CHECK_STR(k, "2025-12");
    CHECK_INT(reset, 1767225600LL * 1000000);                                   /* 2026-01-01 */
    billing_quota_period_key(PERIOD_MONTH, 1709164800LL * 1000000, k, &reset);  /* 2024-02-29 */
    CHECK_STR(k, "2024-02");
    CHECK_INT(reset, 1709251200LL * 1000000);                                   /* 2024-03-01 */
}

/* ---- subscriptions, plan, webhooks ---- */
static const char *WHSEC = "whsec_unit_test_secret";

static int64_t user_with_customer(store_t *st, const char *prefix, char *cus, size_t cap)
{
    int64_t uid = fixture_user(st, prefix);
    snprintf(cus, cap, "cus_%s_%lld", prefix, (long long)uid);
    char *stored = NULL;
    if (store_billing_customer_set(st, uid, cus, &stored) != STORE_OK) return 0;
    free(stored);
    return uid;
}

/* Delivers a signed event; returns the HTTP status and fills dup/applied. */
static int deliver(store_t *st, const char *json_text, int *dup, int *applied)
{
    int64_t now = time_now_us() / 1000000;
    char *h = billing_signature_header(WHSEC, now, json_text, strlen(json_text));
    billing_webhook_result_t res;
    billing_webhook_handle(st, billing_plans(), WHSEC, h, json_text, strlen(json_text), now, 0, &res);
    free(h);
    if (dup) *dup = json_is_true(json_object_get(res.body, "duplicate"));
    if (applied) *applied = json_is_true(json_object_get(res.body, "applied"));
    int status = res.status;
    json_decref(res.body);
    return status;
}

static char *sub_event(const char *evt, const char *type, long created, const char *sub,
                       const char *cus, const char *status, const char *price, int cancel_at_end)
{
    buf_t b = {0};
    buf_printf(&b, "{\"id\":\"%s\",\"object\":\"event\",\"type\":\"%s\",\"created\":%ld,"
               "\"data\":{\"object\":{\"id\":\"%s\",\"object\":\"subscription\",\"customer\":\"%s\","
               "\"status\":\"%s\",\"cancel_at_period_end\":%s,\"current_period_start\":%ld,"
               "\"current_period_end\":%ld,\"items\":{\"data\":[{\"price\":{\"id\":\"%s\"}}]}}}}",
               evt, type, created, sub, cus, status, cancel_at_end ? "true" : "false", created,
               created + 30 * 86400, price);
    return buf_steal(&b);
}

TEST(store_billing_webhook_subscription_lifecycle)
{
    store_t *st = fixture_store_open();
    REQUIRE(st);
    char cus[64];
    int64_t uid = user_with_customer(st, "lifecycle", cus, sizeof cus);
    REQUIRE(uid > 0);
    const billing_plan_t *pro = billing_plans_find(billing_plans(), "pro");
    const billing_plan_t *prem = billing_plans_find(billing_plans(), "premium");
    char subid[64];
    snprintf(subid, sizeof subid, "sub_life_%lld", (long long)uid);
    long t0 = 1764000000;
    /* our API stored the subscription as incomplete */
    store_subscription_t s = {.user_id = uid, .subscription_id = subid, .customer_id = cus,
                              .plan = "pro", .status = "incomplete", .event_at_us = (int64_t)t0 * 1000000};
    int64_t local = 0;
    CHECK_INT(store_billing_subscription_add(st, &s, &local), STORE_OK);
    CHECK(local > 0);
    CHECK_STR(user_plan(st, uid), "free");          /* incomplete grants nothing */
    int dup, applied;
    char evt[64];
    /* it became active */
    snprintf(evt, sizeof evt, "evt_a_%lld", (long long)uid);
    char *e = sub_event(evt, "customer.subscription.updated", t0 + 10, subid, cus, "active", pro->price_id, 0);
    CHECK_INT(deliver(st, e, &dup, &applied), 200);
    CHECK(!dup && applied);
    CHECK_STR(user_plan(st, uid), "pro");
    /* redelivery of the same event: acknowledged, no effect */
    CHECK_INT(deliver(st, e, &dup, &applied), 200);
    CHECK(dup && !applied);
    free(e);
    /* an older event arriving late cannot regress it */
    snprintf(evt, sizeof evt, "evt_old_%lld", (long long)uid);
    e = sub_event(evt, "customer.subscription.updated", t0 + 5, subid, cus, "incomplete", pro->price_id, 0);
    CHECK_INT(deliver(st, e, &dup, &applied), 200);
    CHECK(!dup && !applied);
    CHECK_STR(user_plan(st, uid), "pro");
    free(e);
    /* same second, earlier status: not applied either */
    snprintf(evt, sizeof evt, "evt_tie_%lld", (long long)uid);
    e = sub_event(evt, "customer.subscription.created", t0 + 10, subid, cus, "incomplete", pro->price_id, 0);
    CHECK_INT(deliver(st, e, &dup, &applied), 200);
    CHECK(!applied);
    free(e);
    /* upgrade to premium through the price id */
    snprintf(evt, sizeof evt, "evt_up_%lld", (long long)uid);
    e = sub_event(evt, "customer.subscription.updated", t0 + 20, subid, cus, "active", prem->price_id, 1);
    CHECK_INT(deliver(st, e, &dup, &applied), 200);
    CHECK(applied);
    CHECK_STR(user_plan(st, uid), "premium");
    free(e);
    json_t *cur = NULL;
    CHECK_INT(store_billing_subscription_current(st, uid, &cur), STORE_OK);
    CHECK(json_is_true(json_object_get(cur, "cancel_at_period_end")));
    CHECK_STR(json_string_value(json_object_get(cur, "plan")), "premium");
    CHECK(json_is_string(json_object_get(cur, "current_period_end")));
    json_decref(cur);
    /* invoice failed -> past_due keeps access; invoice paid -> active */
    buf_t b = {0};
    buf_printf(&b, "{\"id\":\"evt_if_%lld\",\"type\":\"invoice.payment_failed\",\"created\":%ld,"
               "\"data\":{\"object\":{\"id\":\"in_1\",\"subscription\":\"%s\"}}}", (long long)uid, t0 + 30, subid);
    CHECK_INT(deliver(st, b.data, &dup, &applied), 200);
    CHECK(applied);
    json_t *row = NULL;
    store_billing_subscription_get(st, uid, local, &row);
    CHECK_STR(json_string_value(json_object_get(row, "status")), "past_due");
    json_decref(row);
    CHECK_STR(user_plan(st, uid), "premium");
    buf_reset(&b);
    buf_printf(&b, "{\"id\":\"evt_ip_%lld\",\"type\":\"invoice.paid\",\"created\":%ld,"
               "\"data\":{\"object\":{\"id\":\"in_2\",\"subscription\":\"%s\"}}}", (long long)uid, t0 + 40, subid);
    CHECK_INT(deliver(st, b.data, &dup, &applied), 200);
    CHECK(applied);
    store_billing_subscription_get(st, uid, local, &row);
    CHECK_STR(json_string_value(json_object_get(row, "status")), "active");
    json_decref(row);
    /* deleted: final; a later "active" update cannot resurrect it */
    snprintf(evt, sizeof evt, "evt_del_%lld", (long long)uid);
    e = sub_event(evt, "customer.subscription.deleted", t0 + 50, subid, cus, "active", prem->price_id, 0);
    CHECK_INT(deliver(st, e, &dup, &applied), 200);
    CHECK(applied);
    CHECK_STR(user_plan(st, uid), "free");
    free(e);
    snprintf(evt, sizeof evt, "evt_zombie_%lld", (long long)uid);
    e = sub_event(evt, "customer.subscription.updated", t0 + 60, subid, cus, "active", prem->price_id, 0);
    CHECK_INT(deliver(st, e, &dup, &applied), 200);
    CHECK(!applied);
    CHECK_STR(user_plan(st, uid), "free");
    free(e);
    CHECK_INT(store_billing_subscription_current(st, uid, &cur), STORE_NOT_FOUND);
    buf_free(&b);
    store_close(st);
}

TEST(store_billing_webhook_unknown_and_early)
{
    store_t *st = fixture_store_open();
    REQUIRE(st);
    char cus[64];
    int64_t uid = user_with_customer(st, "early", cus, sizeof cus);
    const billing_plan_t *pro = billing_plans_find(billing_plans(), "pro");
    char subid[64], evt[64];
    snprintf(subid, sizeof subid, "sub_early_%lld", (long long)uid);
    /* the webhook beats our own insert: the row is created for our customer */
    snprintf(evt, sizeof evt, "evt_e1_%lld", (long long)uid);
    char *e = sub_event(evt, "customer.subscription.created", 1764000100, subid, cus, "trialing", pro->price_id, 0);
    int dup, applied;
    CHECK_INT(deliver(st, e, &dup, &applied), 200);
    CHECK(applied);
    free(e);
    CHECK_STR(user_plan(st, uid), "pro");
    /* our insert afterwards keeps the webhook's state */
    store_subscription_t s = {.user_id = uid, .subscription_id = subid, .customer_id = cus,
                              .plan = "pro", .status = "incomplete", .event_at_us = 1764000099LL * 1000000};
    int64_t local = 0;
    CHECK_INT(store_billing_subscription_add(st, &s, &local), STORE_OK);
    json_t *row = NULL;
    CHECK_INT(store_billing_subscription_get(st, uid, local, &row), STORE_OK);
    CHECK_STR(json_string_value(json_object_get(row, "status")), "trialing");
    json_decref(row);
    /* a stranger's customer: recorded, no row */
    snprintf(evt, sizeof evt, "evt_e2_%lld", (long long)uid);
    e = sub_event(evt, "customer.subscription.created", 1764000100, "sub_stranger_x", "cus_stranger",
                  "active", pro->price_id, 0);
    CHECK_INT(deliver(st, e, &dup, &applied), 200);
    CHECK(!applied && !dup);
    CHECK_INT(deliver(st, e, &dup, &applied), 200);
    CHECK(dup);
    free(e);
    /* unhandled event types are acknowledged once */
    buf_t b = {0};
    buf_printf(&b, "{\"id\":\"evt_misc_%lld\",\"type\":\"charge.refunded\",\"created\":1764000100,"
               "\"data\":{\"object\":{\"id\":\"ch_1\"}}}", (long long)uid);
    CHECK_INT(deliver(st, b.data, &dup, &applied), 200);
    CHECK(!dup);
    CHECK_INT(deliver(st, b.data, &dup, &applied), 200);
    CHECK(dup);
    buf_free(&b);
    store_close(st);
}

TEST(store_billing_webhook_payments)
{
    store_t *st = fixture_store_open();
    REQUIRE(st);
    int64_t uid = fixture_user(st, "pay");
    char pi[64];
    snprintf(pi, sizeof pi, "pi_unit_%lld", (long long)uid);
    store_new_payment_t p = {.user_id = uid, .payment_intent_id = pi, .amount_cents = 1999,
                             .currency = "usd", .status = "requires_payment_method",
                             .description = "Entry fee"};
    int64_t id = 0, id2 = 0;
    CHECK_INT(store_billing_payment_add(st, &p, &id), STORE_OK);
    CHECK_INT(store_billing_payment_add(st, &p, &id2), STORE_OK);   /* same intent: same row */
    CHECK_INT(id2, id);
    int dup, applied;
    buf_t b = {0};
    /* succeeded arrives before the earlier failure: the failure must not regress it */
    buf_printf(&b, "{\"id\":\"evt_ps_%lld\",\"type\":\"payment_intent.succeeded\",\"created\":1764000200,"
               "\"data\":{\"object\":{\"id\":\"%s\",\"object\":\"payment_intent\",\"status\":\"succeeded\"}}}",
               (long long)uid, pi);
    CHECK_INT(deliver(st, b.data, &dup, &applied), 200);
    CHECK(applied);
    buf_reset(&b);
    buf_printf(&b, "{\"id\":\"evt_pf_%lld\",\"type\":\"payment_intent.payment_failed\",\"created\":1764000100,"
               "\"data\":{\"object\":{\"id\":\"%s\",\"object\":\"payment_intent\"}}}", (long long)uid, pi);
    CHECK_INT(deliver(st, b.data, &dup, &applied), 200);
    CHECK(!applied);
    json_t *list = NULL;
    CHECK_INT(store_billing_payment_list(st, uid, 10, &list), STORE_OK);
    CHECK_INT(json_array_size(list), 1);
    json_t *row = json_array_get(list, 0);
    CHECK_STR(json_string_value(json_object_get(row, "status")), "succeeded");
    CHECK_INT(json_integer_value(json_object_get(row, "amount_cents")), 1999);
    CHECK_NEAR(json_number_value(json_object_get(row, "amount")), 19.99, 1e-9);
    CHECK_STR(json_string_value(json_object_get(row, "description")), "Entry fee");
    json_decref(list);
    /* another user's list is empty */
    int64_t other = fixture_user(st, "pay2");
    CHECK_INT(store_billing_payment_list(st, other, 10, &list), STORE_OK);
    CHECK_INT(json_array_size(list), 0);
    json_decref(list);
    buf_free(&b);
    store_close(st);
}

TEST(store_billing_webhook_rejects)
{
    store_t *st = fixture_store_open();
    REQUIRE(st);
    const char *body = "{\"id\":\"evt_rej\",\"type\":\"payment_intent.succeeded\",\"created\":1764000000,"
                       "\"data\":{\"object\":{\"id\":\"pi_x\"}}}";
    int64_t now = time_now_us() / 1000000;
    char *h = billing_signature_header(WHSEC, now, body, strlen(body));
    billing_webhook_result_t r;
    /* no secret configured: refused, never processed */
    billing_webhook_handle(st, billing_plans(), NULL, h, body, strlen(body), now, 0, &r);
    CHECK_INT(r.status, 503);
    CHECK_STR(json_string_value(json_object_get(r.body, "code")), "webhook_not_configured");
    json_decref(r.body);
    /* no header */
    billing_webhook_handle(st, billing_plans(), WHSEC, NULL, body, strlen(body), now, 0, &r);
    CHECK_INT(r.status, 400);
    CHECK_STR(json_string_value(json_object_get(r.body, "code")), "missing_signature");
    json_decref(r.body);
    /* wrong secret, tampered body, stale timestamp */
    billing_webhook_handle(st, billing_plans(), "whsec_other", h, body, strlen(body), now, 0, &r);
    CHECK_INT(r.status, 400);
    CHECK_STR(json_string_value(json_object_get(r.body, "code")), "invalid_signature");
    json_decref(r.body);
    char *tampered = xstrdup(body);
    tampered[strlen(tampered) - 5] = 'y';
    billing_webhook_handle(st, billing_plans(), WHSEC, h, tampered, strlen(tampered), now, 0, &r);
    CHECK_INT(r.status, 400);
    json_decref(r.body);
    free(tampered);
    billing_webhook_handle(st, billing_plans(), WHSEC, h, body, strlen(body), now + 301, 0, &r);
    CHECK_INT(r.status, 400);
    json_decref(r.body);
    free(h);
    /* well signed garbage is still refused */
    const char *bad[] = {"not json", "[]", "{}", "{\"id\":\"evt_1\",\"type\":\"x\"}",
                         "{\"id\":\"evt_1\",\"type\":\"x\",\"created\":\"now\",\"data\":{\"object\":{}}}",
                         "{\"id\":5,\"type\":\"x\",\"created\":1,\"data\":{\"object\":{}}}",
                         "{\"id\":\"evt_1\",\"type\":\"x\",\"created\":1,\"data\":{\"object\":[]}}",
                         "{\"id\":\"evt_1\",\"id\":\"evt_2\",\"type\":\"x\",\"created\":1,\"data\":{\"object\":{}}}"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        h = billing_signature_header(WHSEC, now, bad[i], strlen(bad[i]));
        billing_webhook_handle(st, billing_plans(), WHSEC, h, bad[i], strlen(bad[i]), now, 0, &r);
        if (r.status != 400) test_fail(__FILE__, __LINE__, "payload %s -> %d", bad[i], r.status);
        else CHECK_STR(json_string_value(json_object_get(r.body, "code")), "invalid_payload");
        json_decref(r.body);
        free(h);
    }
    store_close(st);
}

TEST(store_billing_prune_old_periods)
{
    store_t *st = fixture_store_open();
    REQUIRE(st);
    int64_t uid = fixture_user(st, "prune");
    const char *periods[] = {"2026-09-30", "2026-09", "2026-10-01", "2026-10", "2026-11-24", "2026-11"};
    for (int i = 0; i < 6; i++) {
        store_quota_step_t s = {.quota = "chat_messages_day", .period = periods[i], .limit = 5};
        REQUIRE(store_billing_quota_consume(st, uid, &s, 1) == STORE_OK);
    }
    int64_t now = 1763942400LL * 1000000;      /* 2025-11-24: nothing is old enough yet */
    int64_t removed = -1;
    CHECK_INT(store_billing_prune(st, now, &removed), STORE_OK);
    int64_t n;
    store_billing_quota_count(st, uid, "chat_messages_day", "2026-09-30", &n);
    CHECK_INT(n, 1);
    now = 1795478400LL * 1000000;              /* 2026-11-24T00:00:00Z: keeps October on */
    CHECK_INT(store_billing_prune(st, now, &removed), STORE_OK);
    CHECK(removed >= 2);
    store_billing_quota_count(st, uid, "chat_messages_day", "2026-09-30", &n);
    CHECK_INT(n, 0);
    store_billing_quota_count(st, uid, "chat_messages_day", "2026-09", &n);
    CHECK_INT(n, 0);
    store_billing_quota_count(st, uid, "chat_messages_day", "2026-10-01", &n);
    CHECK_INT(n, 1);
    store_billing_quota_count(st, uid, "chat_messages_day", "2026-11", &n);
    CHECK_INT(n, 1);
    store_close(st);
}
