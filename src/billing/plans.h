/* plans.h — the subscription plans and their quotas, defined in one place.
 *
 * Built-in defaults (Free $0, Pro $19.99, Premium $49.99 per month) can be overridden by the
 * operator with a JSON file (RODEO_PLANS_FILE):
 *
 *   {"plans": [{"id": "pro", "name": "Pro", "price": "19.99", "price_id": "price_...",
 *               "features": ["..."], "quotas": {"chat_messages_day": 200, ...}}, ...]}
 *
 * Entries merge into the defaults by id (fields left out keep their default); new ids add
 * paid plans (they need name, price and price_id). A quota of -1 (or null) is unlimited.
 * The Stripe price ids of pro/premium come from STRIPE_PRO_PRICE_ID /
 * STRIPE_PREMIUM_PRICE_ID unless the file names one.
 *
 * A plan's public feature list is generated from its quotas (so the list can never promise
 * more than the server enforces) followed by its descriptive lines.
 *
 * The loaded table is a documented singleton: billing_plans_init() at start-up, read-only
 * afterwards. */
#ifndef RODEO_BILLING_PLANS_H
#define RODEO_BILLING_PLANS_H
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

enum billing_quota {
    QUOTA_CHAT_MESSAGES_DAY = 0,
    QUOTA_RECOGNITIONS_DAY,
    QUOTA_RECOGNITIONS_MONTH,
    QUOTA_EXPORTS_DAY,
    QUOTA_COUNT
};
enum billing_period { PERIOD_DAY, PERIOD_MONTH };

#define QUOTA_UNLIMITED (-1)

/* "chat_messages_day", ... (the names used in config files, the database and errors). */
const char *billing_quota_name(enum billing_quota q);
/* -1 when unknown. */
int billing_quota_from_name(const char *name);
enum billing_period billing_quota_period(enum billing_quota q);

typedef struct {
    char    *id;                 /* "free", "pro", "premium": stored in subscriptions.plan */
    char    *name;               /* "Free" */
    int64_t  price_cents;        /* monthly, USD */
    char    *price_id;           /* Stripe price id; NULL for the free plan */
    char   **features;           /* descriptive lines, after the generated quota lines */
    size_t   nfeatures;
    int64_t  quota[QUOTA_COUNT]; /* QUOTA_UNLIMITED or >= 0 */
} billing_plan_t;

typedef struct {
    billing_plan_t *plans;
    size_t          n;
} billing_plans_t;

/* Defaults merged with the file at path (NULL/"" = defaults only). Returns NULL with a
 * message in err on a bad file (unreadable, bad JSON, wrong types, negative price, a paid
 * plan without price_id, no free plan). */
billing_plans_t *billing_plans_load(const char *path, const char *pro_price_id,
                                    const char *premium_price_id, char *err, size_t errlen);
void billing_plans_free(billing_plans_t *p);

/* Case-insensitive lookup by id or display name; NULL when unknown. */
const billing_plan_t *billing_plans_find(const billing_plans_t *p, const char *name);
const billing_plan_t *billing_plans_by_price_id(const billing_plans_t *p, const char *price_id);
/* The plan with price 0 whose id is "free" (always present). */
const billing_plan_t *billing_plans_free_plan(const billing_plans_t *p);

/* {name, price, features[], price_id?} in the contract's §4 shape, plus "id" and
 * "quotas" {name: limit|null}. */
json_t *billing_plan_json(const billing_plan_t *plan);
/* {"plans": [...]} for GET /api/subscription/plans. */
json_t *billing_plans_json(const billing_plans_t *p);

/* The process-wide table. billing_plans_init() loads it from g_config and
 * RODEO_PLANS_FILE (call once before threads start; returns -1 with err on a bad file).
 * billing_plans() returns it, loading the defaults on first use if init was never called. */
int billing_plans_init(char *err, size_t errlen);
const billing_plans_t *billing_plans(void);
void billing_plans_shutdown(void);
#endif
