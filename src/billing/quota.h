/* quota.h — plan-based usage quotas, enforced server-side.
 *
 * An action (one chat message, one product recognition, one export) consumes one unit of
 * each quota that governs it (a recognition counts against recognitions_day and
 * recognitions_month). The limits come from the user's plan (plans.h); counters live in
 * the store (usage_counters), keyed by UTC day ("2026-11-24") or month ("2026-11"), so they
 * survive restarts and are shared by every server process. Consuming is atomic: under any
 * number of concurrent requests at most `limit` of them are allowed per period.
 *
 * Cost per check: one primary-key read of users.plan plus one UPSERT per limited quota
 * (see bench/results/billing.md). */
#ifndef RODEO_BILLING_QUOTA_H
#define RODEO_BILLING_QUOTA_H
#include "billing/plans.h"
#include "store/store.h"
#include <stdbool.h>
#include <stdint.h>

enum billing_action {
    BILLING_ACTION_CHAT_MESSAGE = 0,   /* chat_messages_day */
    BILLING_ACTION_RECOGNITION,        /* recognitions_day + recognitions_month */
    BILLING_ACTION_EXPORT,             /* exports_day */
};

enum { BILLING_QUOTA_ALLOWED = 0, BILLING_QUOTA_DENIED = 1, BILLING_QUOTA_ERROR = -1 };

typedef struct {
    bool    allowed;
    enum billing_quota quota;  /* the quota that denied, else the tightest one checked */
    int64_t limit;             /* QUOTA_UNLIMITED when nothing limits the action */
    int64_t used;              /* count in the current period after this call */
    int64_t remaining;         /* limit - used (>= 0), or -1 when unlimited */
    int64_t reset_at_us;       /* start of the next period (UTC), 0 when unlimited */
    bool    not_in_plan;       /* the plan's limit is 0: upgrading is the only way (402) */
    char    plan[32];          /* the user's plan id */
} billing_quota_info_t;

/* Consumes one unit for user_id at time now_us (0 = now). Returns BILLING_QUOTA_ALLOWED,
 * BILLING_QUOTA_DENIED (nothing consumed) or BILLING_QUOTA_ERROR (store failure; deny). */
int billing_quota_consume(store_t *st, int64_t user_id, enum billing_action action,
                          int64_t now_us, billing_quota_info_t *info);
/* Gives the unit back (the work it paid for failed). now_us must be in the same period as
 * the consume call (pass the same value). */
void billing_quota_refund(store_t *st, int64_t user_id, enum billing_action action, int64_t now_us);

/* The period key ("2026-11-24" / "2026-11") and the start of the next period, UTC. */
void billing_quota_period_key(enum billing_period p, int64_t now_us, char out[16], int64_t *reset_us);

/* {plan, quotas: {name: {limit|null, used, remaining|null, reset_at}}} for the user. */
int billing_quota_usage_json(store_t *st, int64_t user_id, int64_t now_us, json_t **out);
#endif
