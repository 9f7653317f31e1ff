/* billing.c (store) — payments, subscriptions, webhook event records and usage counters.
 * The ordering guards for Stripe state live in the SQL here, so that the check and the
 * write are one statement (no read-then-write race between two webhook deliveries). */
#include "store/billing.h"
#include "store/internal.h"
#include "billing/money.h"
#include "core/timeutil.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Statuses that grant the plan: past_due keeps access while Stripe retries the card. */
#define GRANTING "('active','trialing','past_due')"

/* ---- customers ---- */
int store_billing_customer_get(store_t *st, int64_t user_id, char **email, char **full_name,
                               char **customer_id)
{
    *email = *full_name = *customer_id = NULL;
    db_value_t p[] = {db_int(user_id)};
    db_result_t *r;
    int rc = db_pool_query(st->pool,
        "SELECT email, full_name, stripe_customer_id FROM users WHERE id = $1", p, 1, &r);
    if (rc != DB_OK) return rc;
    if (db_rows(r) == 0) rc = STORE_NOT_FOUND;
    else {
        *email = db_dup_text(r, 0, 0);
        *full_name = db_dup_text(r, 0, 1);
        *customer_id = db_dup_text(r, 0, 2);
    }
    db_result_free(r);
    return rc;
}

int store_billing_customer_set(store_t *st, int64_t user_id, const char *customer_id,
                               char **stored)
{
    *stored = NULL;
    db_value_t p[] = {db_int(user_id), db_text(customer_id), db_int(time_now_us())};
    int rc = db_pool_exec(st->pool,
        "UPDATE users SET stripe_customer_id = $2, updated_at = $3"
        " WHERE id = $1 AND stripe_customer_id IS NULL", p, 3, NULL);
    if (rc != DB_OK) return rc;
    db_result_t *r;
    rc = db_pool_query(st->pool, "SELECT stripe_customer_id FROM users WHERE id = $1", p, 1, &r);
    if (rc != DB_OK) return rc;
    if (db_rows(r) == 0 || db_isnull(r, 0, 0)) rc = STORE_NOT_FOUND;
    else *stored = db_dup_text(r, 0, 0);
    db_result_free(r);
    return rc;
}

/* ---- plans and quotas ---- */
int store_billing_user_plan(store_t *st, int64_t user_id, char *out, size_t cap)
{
    db_value_t p[] = {db_int(user_id)};
    db_result_t *r;
    int rc = db_pool_query(st->pool, "SELECT plan FROM users WHERE id = $1", p, 1, &r);
    if (rc != DB_OK) return rc;
    if (db_rows(r) == 0) rc = STORE_NOT_FOUND;
    else snprintf(out, cap, "%s", db_get_text(r, 0, 0) ? db_get_text(r, 0, 0) : "free");
    db_result_free(r);
    return rc;
}

static const char SQL_QUOTA_UPSERT[] =
    "INSERT INTO usage_counters (user_id, quota, period, count) VALUES ($1, $2, $3, 1)"
    " ON CONFLICT (user_id, quota, period) DO UPDATE SET count = usage_counters.count + 1"
    " WHERE usage_counters.count < $4 RETURNING count";

static int quota_step(db_conn_t *c, int64_t user_id, store_quota_step_t *s)
{
    if (s->limit <= 0) {     /* nothing may be consumed; do not create a row */
        s->allowed = false;
        s->count = 0;
        return DB_OK;
    }
    db_value_t p[] = {db_int(user_id), db_text(s->quota), db_text(s->period), db_int(s->limit)};
    int64_t count = 0;
    int rc = db_query_int64(c, SQL_QUOTA_UPSERT, p, 4, &count);
    if (rc == DB_OK) {
        s->allowed = true;
        s->count = count;
        return DB_OK;
    }
    if (rc == DB_NOT_FOUND) {          /* the WHERE held the update back: at the limit */
        s->allowed = false;
        s->count = s->limit;
        return DB_OK;
    }
    return rc;
}

int store_billing_quota_consume(store_t *st, int64_t user_id, store_quota_step_t *steps, int n)
{
    for (int i = 0; i < n; i++) {
        steps[i].allowed = true;
        steps[i].count = -1;
    }
    if (n <= 0) return STORE_OK;
    db_conn_t *c = db_acquire(st->pool);
    if (!c) return STORE_ERROR;
    int rc = DB_OK;
    if (n == 1) {
        rc = quota_step(c, user_id, &steps[0]);
    } else {
        rc = db_begin(c);
        bool all = true;
        for (int i = 0; rc == DB_OK && i < n && all; i++) {
            rc = quota_step(c, user_id, &steps[i]);
            all = steps[i].allowed;
        }
        if (rc == DB_OK && all) rc = db_commit(c);
        else db_rollback(c);
    }
    db_release(c);
    return rc == DB_OK ? STORE_OK : STORE_ERROR;
}

int store_billing_quota_refund(store_t *st, int64_t user_id, const char *quota, const char *period)
{
    db_value_t p[] = {db_int(user_id), db_text(quota), db_text(period)};
    return db_pool_exec(st->pool,
        "UPDATE usage_counters SET count = count - 1"
        " WHERE user_id = $1 AND quota = $2 AND period = $3 AND count > 0", p, 3, NULL);
}

int store_billing_quota_count(store_t *st, int64_t user_id, const char *quota, const char *period,
                              int64_t *count)
{
    db_value_t p[] = {db_int(user_id), db_text(quota), db_text(period)};
    *count = 0;
    int rc = db_pool_query_int64(st->pool,
        "SELECT count FROM usage_counters WHERE user_id = $1 AND quota = $2 AND period = $3",
        p, 3, count);
    return rc == DB_NOT_FOUND ? STORE_OK : rc;
}

int store_billing_prune(store_t *st, int64_t now_us, int64_t *removed)
{
    time_t t = (time_t)(now_us / 1000000);
    struct tm tm;
    gmtime_r(&t, &tm);
    int y = tm.tm_year + 1900, m = tm.tm_mon;        /* previous month, 1-based */
    if (m == 0) { m = 12; y--; }
    char keep_from[16];
    snprintf(keep_from, sizeof keep_from, "%04d-%02d", y % 10000, m % 13);
    int64_t n1 = 0, n2 = 0;
    db_value_t p[] = {db_text(keep_from)};
    int rc = db_pool_exec(st->pool, "DELETE FROM usage_counters WHERE period < $1", p, 1, &n1);
    if (rc != DB_OK) return rc;
    db_value_t q[] = {db_int(now_us - 30LL * 86400 * 1000000)};
    rc = db_pool_exec(st->pool, "DELETE FROM stripe_events WHERE received_at < $1", q, 1, &n2);
    if (rc == DB_OK && removed) *removed = n1 + n2;
    return rc;
}

/* ---- payments ---- */
int store_billing_payment_add(store_t *st, const store_new_payment_t *pm, int64_t *id_out)
{
    int64_t now = time_now_us();
    db_value_t p[] = {db_int(pm->user_id), db_text(pm->payment_intent_id), db_int(pm->amount_cents),
                      db_text(pm->currency ? pm->currency : "usd"), db_text(pm->status),
                      db_text(pm->description), db_text(pm->metadata_json ? pm->metadata_json : "{}"),
                      db_int(now)};
    int64_t id = 0;
    int rc = db_pool_query_int64(st->pool,
        "INSERT INTO payments (user_id, stripe_payment_intent_id, amount_cents, currency, status,"
        " description, metadata, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)"
        " ON CONFLICT (stripe_payment_intent_id) DO NOTHING RETURNING id", p, DB_NPARAMS(p), &id);
    if (rc == DB_NOT_FOUND) {
        db_value_t q[] = {db_text(pm->payment_intent_id), db_int(pm->user_id)};
        rc = db_pool_query_int64(st->pool,
            "SELECT id FROM payments WHERE stripe_payment_intent_id = $1 AND user_id = $2", q, 2, &id);
    }
    if (rc == DB_OK && id_out) *id_out = id;
    return rc;
}

int store_billing_payment_list(store_t *st, int64_t user_id, int limit, json_t **out)
{
    *out = NULL;
    db_value_t p[] = {db_int(user_id), db_int(limit > 0 ? limit : 100)};
    db_result_t *r;
    int rc = db_pool_query(st->pool,
        "SELECT id, amount_cents, currency, status, description, created_at FROM payments"
        " WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2", p, 2, &r);
    if (rc != DB_OK) return rc;
    json_t *arr = db_rows_json(r, "iissst");
    size_t i;
    json_t *o;
    json_array_foreach(arr, i, o) {
        int64_t cents = json_integer_value(json_object_get(o, "amount_cents"));
        json_object_set_new(o, "amount", money_json_dollars(cents));
    }
    db_result_free(r);
    *out = arr;
    return STORE_OK;
}

/* ---- subscriptions ---- */
static int recompute_plan(db_conn_t *c, int64_t user_id)
{
    db_value_t p[] = {db_int(user_id)};
    /* written only when it changes: most webhook events leave the plan as it was, and an
     * unchanged row then costs no page write */
#define PLAN_NOW "COALESCE((SELECT plan FROM subscriptions WHERE user_id = $1 AND status IN " \
                 GRANTING " ORDER BY created_at DESC, id DESC LIMIT 1), 'free')"
    return db_exec(c, "UPDATE users SET plan = " PLAN_NOW " WHERE id = $1 AND plan <> " PLAN_NOW,
                   p, 1, NULL);
#undef PLAN_NOW
}

static db_value_t opt_time(int64_t us) { return us > 0 ? db_int(us) : db_null(); }

static int sub_insert(db_conn_t *c, const store_subscription_t *s, int64_t user_id, int64_t *id)
{
    int64_t now = time_now_us();
    db_value_t p[] = {db_int(user_id), db_text(s->subscription_id), db_text(s->customer_id),
                      db_text(s->plan), db_text(s->status), opt_time(s->period_start_us),
                      opt_time(s->period_end_us), db_bool(s->cancel_at_period_end),
                      db_int(s->event_at_us), db_int(now)};
    int rc = db_query_int64(c,
        "INSERT INTO subscriptions (user_id, stripe_subscription_id, stripe_customer_id, plan, status,"
        " current_period_start, current_period_end, cancel_at_period_end, latest_event_at,"
        " created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)"
        " ON CONFLICT (stripe_subscription_id) DO NOTHING RETURNING id", p, DB_NPARAMS(p), id);
    if (rc == DB_NOT_FOUND) {
        db_value_t q[] = {db_text(s->subscription_id)};
        rc = db_query_int64(c, "SELECT id FROM subscriptions WHERE stripe_subscription_id = $1",
                            q, 1, id);
    }
    return rc;
}

int store_billing_subscription_add(store_t *st, const store_subscription_t *s, int64_t *id_out)
{
    db_conn_t *c = db_acquire(st->pool);
    if (!c) return STORE_ERROR;
    int64_t id = 0;
    int rc = db_begin(c);
    if (rc == DB_OK) rc = sub_insert(c, s, s->user_id, &id);
    if (rc == DB_OK) rc = recompute_plan(c, s->user_id);
    if (rc == DB_OK) rc = db_commit(c);
    else db_rollback(c);
    db_release(c);
    if (rc == DB_OK && id_out) *id_out = id;
    return rc;
}

static const char SUB_COLS[] =
    "SELECT id, stripe_subscription_id, plan, status, current_period_start, current_period_end,"
    " cancel_at_period_end, created_at FROM subscriptions";
#define SUB_SPEC "isssttbt"

int store_billing_subscription_get(store_t *st, int64_t user_id, int64_t id, json_t **out)
{
    *out = NULL;
    db_value_t p[] = {db_int(id), db_int(user_id)};
    db_result_t *r;
    char sql[512];
    snprintf(sql, sizeof sql, "%s WHERE id = $1 AND user_id = $2", SUB_COLS);
    int rc = db_pool_query(st->pool, sql, p, 2, &r);
    if (rc != DB_OK) return rc;
    if (db_rows(r) == 0) rc = STORE_NOT_FOUND;
    else *out = db_row_json(r, 0, SUB_SPEC);
    db_result_free(r);
    return rc;
}

int store_billing_subscription_current(store_t *st, int64_t user_id, json_t **out)
{
    *out = NULL;
    db_value_t p[] = {db_int(user_id)};
    db_result_t *r;
    int rc = db_pool_query(st->pool,
        "SELECT id, stripe_subscription_id, plan, status, current_period_start, current_period_end,"
        " cancel_at_period_end, created_at FROM subscriptions WHERE user_id = $1 AND status IN "
        GRANTING " ORDER BY created_at DESC, id DESC LIMIT 1", p, 1, &r);
    if (rc != DB_OK) return rc;
    if (db_rows(r) == 0) rc = STORE_NOT_FOUND;
    else *out = db_row_json(r, 0, SUB_SPEC);
    db_result_free(r);
    return rc;
}

int store_billing_subscription_active_ids(store_t *st, int64_t user_id, const char *except_id,
                                          json_t **out)
{
    *out = NULL;
    db_value_t p[] = {db_int(user_id), db_text(except_id ? except_id : "")};
    db_result_t *r;
    int rc = db_pool_query(st->pool,
        "SELECT stripe_subscription_id FROM subscriptions WHERE user_id = $1 AND status IN "
        GRANTING " AND stripe_subscription_id IS NOT NULL AND stripe_subscription_id <> $2"
        " ORDER BY id", p, 2, &r);
    if (rc != DB_OK) return rc;
    json_t *arr = json_array();
    for (int i = 0; i < db_rows(r); i++) json_array_append_new(arr, json_string(db_get_text(r, i, 0)));
    db_result_free(r);
    *out = arr;
    return STORE_OK;
}

/* ---- Stripe state changes ---- */
static int status_rank(const char *s)
{
    static const char *order[] = {"incomplete", "trialing", "active", "past_due", "unpaid"};
    for (int i = 0; i < 5; i++)
        if (s && !strcmp(s, order[i])) return i;
    return 5;   /* canceled, incomplete_expired, unknown: the end of the line */
}

#define OLD_RANK "(CASE status WHEN 'incomplete' THEN 0 WHEN 'trialing' THEN 1 WHEN 'active' THEN 2" \
                 " WHEN 'past_due' THEN 3 WHEN 'unpaid' THEN 4 ELSE 5 END)"

static int apply_sub_state(db_conn_t *c, const store_subscription_t *s, bool *applied,
                           int64_t *user_id)
{
    int64_t now = time_now_us();
    db_value_t p[] = {db_text(s->subscription_id), db_text(s->status), opt_time(s->period_start_us),
                      opt_time(s->period_end_us), db_bool(s->cancel_at_period_end),
                      db_text(s->plan), db_int(s->event_at_us), db_int(now),
                      db_int(status_rank(s->status))};
    int rc = db_query_int64(c,
        "UPDATE subscriptions SET status = $2, current_period_start = COALESCE($3, current_period_start),"
        " current_period_end = COALESCE($4, current_period_end), cancel_at_period_end = $5,"
        " plan = COALESCE($6, plan), latest_event_at = $7, updated_at = $8"
        " WHERE stripe_subscription_id = $1 AND status NOT IN ('canceled', 'incomplete_expired')"
        " AND (latest_event_at < $7 OR (latest_event_at = $7 AND " OLD_RANK " <= $9))"
        " RETURNING user_id", p, DB_NPARAMS(p), user_id);
    if (rc == DB_OK) {
        *applied = true;
        return DB_OK;
    }
    if (rc != DB_NOT_FOUND) return rc;
    /* Not applied: a newer state is stored, or the row does not exist yet (the webhook beat
     * our own insert after the API call). Create it when the customer is one of ours. */
    db_value_t q[] = {db_text(s->subscription_id)};
    int64_t existing;
    rc = db_query_int64(c, "SELECT id FROM subscriptions WHERE stripe_subscription_id = $1", q, 1,
                        &existing);
    if (rc != DB_NOT_FOUND) return rc == DB_OK ? DB_OK : rc;
    if (!s->plan || !s->customer_id) return DB_OK;
    int64_t uid = s->user_id;
    if (!uid) {
        db_value_t cu[] = {db_text(s->customer_id)};
        rc = db_query_int64(c, "SELECT id FROM users WHERE stripe_customer_id = $1", cu, 1, &uid);
        if (rc == DB_NOT_FOUND) return DB_OK;   /* not our customer */
        if (rc != DB_OK) return rc;
    }
    int64_t id;
    rc = sub_insert(c, s, uid, &id);
    if (rc == DB_OK) {
        *applied = true;
        *user_id = uid;
    }
    return rc;
}

static int apply_invoice(db_conn_t *c, const store_subscription_t *s, enum store_sub_change kind,
                         bool *applied, int64_t *user_id)
{
    db_value_t p[] = {db_text(s->subscription_id), db_int(s->event_at_us), db_int(time_now_us())};
    int rc = db_query_int64(c, kind == STORE_SUB_INVOICE_PAID
        ? "UPDATE subscriptions SET status = 'active', latest_event_at = $2, updated_at = $3"
          " WHERE stripe_subscription_id = $1 AND status IN ('incomplete', 'past_due', 'unpaid')"
          " AND latest_event_at <= $2 RETURNING user_id"
        : "UPDATE subscriptions SET status = 'past_due', latest_event_at = $2, updated_at = $3"
          " WHERE stripe_subscription_id = $1 AND status = 'active'"
          " AND latest_event_at <= $2 RETURNING user_id", p, 3, user_id);
    if (rc == DB_OK) *applied = true;
    return rc == DB_NOT_FOUND ? DB_OK : rc;
}

int store_billing_stripe_apply(store_t *st, const store_stripe_change_t *ch, bool *applied_out)
{
    bool applied = false;
    db_conn_t *c = db_acquire(st->pool);
    if (!c) return STORE_ERROR;
    int rc = db_begin(c);
    if (rc == DB_OK && ch->event_id) {
        int64_t changes = 0;
        db_value_t p[] = {db_text(ch->event_id), db_text(ch->event_type ? ch->event_type : ""),
                          db_int(time_now_us())};
        rc = db_exec(c, "INSERT INTO stripe_events (event_id, type, received_at) VALUES ($1, $2, $3)"
                        " ON CONFLICT (event_id) DO NOTHING", p, 3, &changes);
        if (rc == DB_OK && changes == 0) rc = DB_CONFLICT;     /* a redelivery */
    }
    int64_t user_id = 0;
    if (rc == DB_OK && ch->sub && ch->sub->subscription_id) {
        rc = ch->sub_change == STORE_SUB_STATE ? apply_sub_state(c, ch->sub, &applied, &user_id)
                                               : apply_invoice(c, ch->sub, ch->sub_change, &applied, &user_id);
        if (rc == DB_OK && applied && user_id) rc = recompute_plan(c, user_id);
    } else if (rc == DB_OK && ch->payment_intent_id && ch->payment_status) {
        int64_t changes = 0;
        db_value_t p[] = {db_text(ch->payment_intent_id), db_text(ch->payment_status),
                          db_int(time_now_us())};
        rc = db_exec(c, "UPDATE payments SET status = $2, updated_at = $3"
                        " WHERE stripe_payment_intent_id = $1 AND status NOT IN ('succeeded', 'canceled')"
                        " AND status <> $2", p, 3, &changes);
        applied = changes > 0;
    }
    if (rc == DB_OK) rc = db_commit(c);
    else db_rollback(c);
    db_release(c);
    if (applied_out) *applied_out = rc == DB_OK && applied;
    return rc;
}
