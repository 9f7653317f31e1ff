/* billing.h (store) — persistence for payments, subscriptions, Stripe webhook events and
 * usage counters. Same conventions as store.h (STORE_* codes, ownership in every query,
 * JSON read models with API field names, timestamps in microseconds).
 *
 * users.plan is a denormalised copy of the user's plan, recomputed in the same transaction
 * as every subscription change: the plan of the newest subscription whose status grants
 * access (active, trialing, past_due), else "free". The per-request quota check reads it
 * with one primary-key lookup. */
#ifndef RODEO_STORE_BILLING_H
#define RODEO_STORE_BILLING_H
#include "store/store.h"

/* ---- customers ---- */
/* email, full_name (may be NULL) and stripe_customer_id (NULL when none yet); caller frees. */
int store_billing_customer_get(store_t *st, int64_t user_id, char **email, char **full_name,
                               char **customer_id);
/* Remembers the customer id unless one is already set; *stored (caller frees) is the id the
 * user ends up with (the first writer wins under concurrency). */
int store_billing_customer_set(store_t *st, int64_t user_id, const char *customer_id,
                               char **stored);

/* ---- plans and quotas ---- */
/* The user's plan id into out (e.g. "pro"); STORE_NOT_FOUND for an unknown user. */
int store_billing_user_plan(store_t *st, int64_t user_id, char *out, size_t cap);

typedef struct {
    const char *quota;           /* "chat_messages_day" */
    const char *period;          /* "2026-11-24" / "2026-11" */
    int64_t     limit;           /* > 0; unlimited quotas are not passed here */
    int64_t     count;           /* out: the count after this call */
    bool        allowed;         /* out */
} store_quota_step_t;

/* Atomically consumes one unit of every step, all or nothing: each counter is incremented
 * only while below its limit (one UPSERT ... RETURNING per counter, inside one transaction
 * when there are several). On return every step says allowed/count; when any is denied no
 * counter changes. Correct under concurrency on SQLite and PostgreSQL. */
int store_billing_quota_consume(store_t *st, int64_t user_id, store_quota_step_t *steps, int n);
/* Gives one unit back (never below 0), for work that failed after its quota was taken. */
int store_billing_quota_refund(store_t *st, int64_t user_id, const char *quota, const char *period);
/* Current count (0 when no row). */
int store_billing_quota_count(store_t *st, int64_t user_id, const char *quota, const char *period,
                              int64_t *count);

/* Housekeeping for a periodic job: deletes usage counters of periods before the previous
 * calendar month (period keys compare as text: "2026-09-30" < "2026-10") and webhook event
 * records older than 30 days (Stripe stops redelivering after 3). *removed may be NULL. */
int store_billing_prune(store_t *st, int64_t now_us, int64_t *removed);

/* ---- payments ---- */
typedef struct {
    int64_t     user_id;
    const char *payment_intent_id;
    int64_t     amount_cents;
    const char *currency;
    const char *status;
    const char *description;
    const char *metadata_json;   /* serialised object or NULL */
} store_new_payment_t;

/* *id_out = local id. An existing row for the same PaymentIntent (a retried request that
 * Stripe answered from its idempotency cache) is returned as is. */
int store_billing_payment_add(store_t *st, const store_new_payment_t *p, int64_t *id_out);
/* Newest first: [{id, amount (dollars), amount_cents, currency, status, description,
 * created_at}]. */
int store_billing_payment_list(store_t *st, int64_t user_id, int limit, json_t **out);

/* ---- subscriptions ---- */
typedef struct {
    int64_t     user_id;
    const char *subscription_id; /* Stripe's sub_... */
    const char *customer_id;
    const char *plan;
    const char *status;
    int64_t     period_start_us, period_end_us;   /* 0 = unknown */
    bool        cancel_at_period_end;
    int64_t     event_at_us;     /* Stripe's timestamp of this state (object/event created) */
} store_subscription_t;

/* Inserts unless a row for that Stripe id exists (then a webhook got there first with a
 * state at least as new; the row is kept). *id_out is the local id either way. Recomputes
 * users.plan. */
int store_billing_subscription_add(store_t *st, const store_subscription_t *s, int64_t *id_out);
/* The user's row by local id: {id, stripe_subscription_id, plan, status, ...}. */
int store_billing_subscription_get(store_t *st, int64_t user_id, int64_t id, json_t **out);
/* The newest access-granting row or STORE_NOT_FOUND: {id, stripe_subscription_id, plan,
 * status, current_period_start, current_period_end, cancel_at_period_end, created_at}. */
int store_billing_subscription_current(store_t *st, int64_t user_id, json_t **out);
/* Stripe ids of the user's access-granting subscriptions other than except_id (NULL = all). */
int store_billing_subscription_active_ids(store_t *st, int64_t user_id, const char *except_id,
                                          json_t **out);

/* ---- Stripe state changes (webhooks and API responses) ----
 * Every change is guarded so that an older state never overwrites a newer one: a
 * subscription changes only when event_at_us is newer than the row's latest_event_at, or
 * equal with a status at least as far along (incomplete < trialing < active < past_due <
 * unpaid < canceled); canceled and incomplete_expired are final. A payment that succeeded
 * or was canceled never changes again. */
enum store_sub_change {
    STORE_SUB_STATE = 0,         /* customer.subscription.*: status, periods, flag, plan */
    STORE_SUB_INVOICE_PAID,      /* incomplete/past_due/unpaid -> active */
    STORE_SUB_INVOICE_FAILED,    /* active -> past_due */
};

typedef struct {
    const char *event_id;        /* NULL: not from a webhook (no dedupe) */
    const char *event_type;
    /* at most one of the following is acted on */
    const store_subscription_t *sub;    /* user_id 0: resolved from customer_id */
    enum store_sub_change       sub_change;
    const char *payment_intent_id;
    const char *payment_status;  /* "succeeded" | "failed" | "canceled" | ... */
} store_stripe_change_t;

/* Applies one change in one transaction. With event_id: the event is recorded first and a
 * redelivery returns STORE_CONFLICT without any effect. Unknown objects are recorded and
 * ignored (STORE_OK). *applied (may be NULL) tells whether a row changed. */
int store_billing_stripe_apply(store_t *st, const store_stripe_change_t *ch, bool *applied);
#endif
