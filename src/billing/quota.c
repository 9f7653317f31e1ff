/* quota.c — maps actions to quotas, limits to the user's plan, and periods to UTC calendar
 * days and months; the atomic counting itself is store_billing_quota_consume(). */
#include "billing/quota.h"
#include "store/billing.h"
#include "core/log.h"
#include "core/timeutil.h"
#include <stdio.h>
#include <string.h>
#include <time.h>

static int action_quotas(enum billing_action a, enum billing_quota q[2])
{
    switch (a) {
    case BILLING_ACTION_CHAT_MESSAGE: q[0] = QUOTA_CHAT_MESSAGES_DAY; return 1;
    case BILLING_ACTION_RECOGNITION:
        q[0] = QUOTA_RECOGNITIONS_DAY;
        q[1] = QUOTA_RECOGNITIONS_MONTH;
        return 2;
    case BILLING_ACTION_EXPORT: q[0] = QUOTA_EXPORTS_DAY; return 1;
    }
    return 0;
}

void billing_quota_period_key(enum billing_period p, int64_t now_us, char out[16], int64_t *reset_us)
{
    time_t t = (time_t)(now_us / 1000000);
    struct tm tm;
    gmtime_r(&t, &tm);
    /* bounded for the formatter: years 0..9999 */
    unsigned y = (unsigned)(tm.tm_year + 1900) % 10000u, m = (unsigned)tm.tm_mon % 12u + 1,
             d = (unsigned)tm.tm_mday % 32u;
    struct tm next = {0};
    if (p == PERIOD_MONTH) {
        snprintf(out, 16, "%04u-%02u", y, m);
        next.tm_year = tm.tm_year + (tm.tm_mon == 11);
        next.tm_mon = (tm.tm_mon + 1) % 12;
        next.tm_mday = 1;
    } else {
        snprintf(out, 16, "%04u-%02u-%02u", y, m, d);
        next.tm_year = tm.tm_year;
        next.tm_mon = tm.tm_mon;
        next.tm_mday = tm.tm_mday + 1;     /* timegm normalises the overflow */
    }
    if (reset_us) *reset_us = (int64_t)timegm(&next) * 1000000;
}

static const billing_plan_t *user_plan(store_t *st, int64_t user_id, char *plan_id, size_t cap,
                                       int *rc)
{
    *rc = store_billing_user_plan(st, user_id, plan_id, cap);
    if (*rc != STORE_OK) return NULL;
    const billing_plans_t *plans = billing_plans();
    const billing_plan_t *pl = billing_plans_find(plans, plan_id);
    if (!pl) {
        /* a plan the operator removed: treat the user as free rather than unlimited */
        pl = billing_plans_free_plan(plans);
    }
    return pl;
}

int billing_quota_consume(store_t *st, int64_t user_id, enum billing_action action,
                          int64_t now_us, billing_quota_info_t *info)
{
    memset(info, 0, sizeof *info);
    info->limit = QUOTA_UNLIMITED;
    info->remaining = -1;
    if (!now_us) now_us = time_now_us();
    enum billing_quota qs[2];
    int nq = action_quotas(action, qs);
    info->quota = nq ? qs[0] : QUOTA_CHAT_MESSAGES_DAY;
    int rc;
    const billing_plan_t *pl = user_plan(st, user_id, info->plan, sizeof info->plan, &rc);
    if (!pl) {
        if (rc == STORE_NOT_FOUND) log_warn("billing: quota check for unknown user %lld", (long long)user_id);
        return BILLING_QUOTA_ERROR;
    }
    store_quota_step_t steps[2];
    char periods[2][16];
    int64_t resets[2];
    enum billing_quota which[2];
    int n = 0;
    for (int i = 0; i < nq; i++) {
        int64_t limit = pl->quota[qs[i]];
        if (limit == QUOTA_UNLIMITED) continue;
        if (limit == 0) {      /* not part of this plan */
            info->allowed = false;
            info->not_in_plan = true;
            info->quota = qs[i];
            info->limit = 0;
            info->remaining = 0;
            billing_quota_period_key(billing_quota_period(qs[i]), now_us, periods[0], &info->reset_at_us);
            return BILLING_QUOTA_DENIED;
        }
        billing_quota_period_key(billing_quota_period(qs[i]), now_us, periods[n], &resets[n]);
        steps[n] = (store_quota_step_t){.quota = billing_quota_name(qs[i]), .period = periods[n],
                                        .limit = limit};
        which[n] = qs[i];
        n++;
    }
    info->allowed = true;
    if (n == 0) return BILLING_QUOTA_ALLOWED;
    if (store_billing_quota_consume(st, user_id, steps, n) != STORE_OK) {
        info->allowed = false;
        return BILLING_QUOTA_ERROR;
    }
    /* Report the denying quota, or the one with the least room left. */
    int pick = 0;
    for (int i = 0; i < n; i++) {
        if (!steps[i].allowed) { pick = i; info->allowed = false; break; }
        if (steps[i].count >= 0 &&
            steps[i].limit - steps[i].count < steps[pick].limit - steps[pick].count)
            pick = i;
    }
    info->quota = which[pick];
    info->limit = steps[pick].limit;
    info->used = steps[pick].count < 0 ? 0 : steps[pick].count;
    info->remaining = info->limit - info->used < 0 ? 0 : info->limit - info->used;
    info->reset_at_us = resets[pick];
    return info->allowed ? BILLING_QUOTA_ALLOWED : BILLING_QUOTA_DENIED;
}

void billing_quota_refund(store_t *st, int64_t user_id, enum billing_action action, int64_t now_us)
{
    if (!now_us) now_us = time_now_us();
    enum billing_quota qs[2];
    int nq = action_quotas(action, qs);
    char plan_id[32];
    int rc;
    const billing_plan_t *pl = user_plan(st, user_id, plan_id, sizeof plan_id, &rc);
    if (!pl) return;
    for (int i = 0; i < nq; i++) {
        if (pl->quota[qs[i]] <= 0) continue;
        char period[16];
        billing_quota_period_key(billing_quota_period(qs[i]), now_us, period, NULL);
        store_billing_quota_refund(st, user_id, billing_quota_name(qs[i]), period);
    }
}

int billing_quota_usage_json(store_t *st, int64_t user_id, int64_t now_us, json_t **out)
{
    *out = NULL;
    if (!now_us) now_us = time_now_us();
    char plan_id[32];
    int rc;
    const billing_plan_t *pl = user_plan(st, user_id, plan_id, sizeof plan_id, &rc);
    if (!pl) return rc;
    json_t *quotas = json_object();
    for (int q = 0; q < QUOTA_COUNT; q++) {
        char period[16], iso[TIME_ISO_LEN];
        int64_t reset, used = 0;
        billing_quota_period_key(billing_quota_period(q), now_us, period, &reset);
        if (store_billing_quota_count(st, user_id, billing_quota_name(q), period, &used) != STORE_OK) {
            json_decref(quotas);
            return STORE_ERROR;
        }
        int64_t limit = pl->quota[q];
        json_object_set_new(quotas, billing_quota_name(q), json_pack("{s:o, s:I, s:o, s:s}",
            "limit", limit == QUOTA_UNLIMITED ? json_null() : json_integer(limit),
            "used", (json_int_t)used,
            "remaining", limit == QUOTA_UNLIMITED ? json_null() : json_integer(limit > used ? limit - used : 0),
            "reset_at", time_iso8601(reset, iso, sizeof iso)));
    }
    *out = json_pack("{s:s, s:o}", "plan", pl->id, "quotas", quotas);
    return STORE_OK;
}
