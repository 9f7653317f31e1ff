/* plans.c — the plan table: built-in defaults, the operator's JSON override, lookups and
 * the public JSON shape. See plans.h for the file format and why feature lines are
 * generated from the quotas. */
#include "billing/plans.h"
#include "billing/money.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/log.h"
#include "core/str.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name;
    enum billing_period period;
} quota_info[QUOTA_COUNT] = {
    [QUOTA_CHAT_MESSAGES_DAY]  = {"chat_messages_day", PERIOD_DAY},
    [QUOTA_RECOGNITIONS_DAY]   = {"recognitions_day", PERIOD_DAY},
    [QUOTA_RECOGNITIONS_MONTH] = {"recognitions_month", PERIOD_MONTH},
    [QUOTA_EXPORTS_DAY]        = {"exports_day", PERIOD_DAY},
};

const char *billing_quota_name(enum billing_quota q)
{
    return (unsigned)q < QUOTA_COUNT ? quota_info[q].name : "unknown";
}

int billing_quota_from_name(const char *name)
{
    for (int i = 0; name && i < QUOTA_COUNT; i++)
        if (!strcmp(name, quota_info[i].name)) return i;
    return -1;
}

enum billing_period billing_quota_period(enum billing_quota q)
{
    return (unsigned)q < QUOTA_COUNT ? quota_info[q].period : PERIOD_DAY;
}

/* The defaults. Descriptive lines only name what Rodeo does; the limits are printed from
 * the quota numbers. */
static const struct {
    const char *id, *name;
    int64_t price_cents;
    int64_t quota[QUOTA_COUNT];
    const char *features[4];
} default_plans[] = {
    {"free", "Free", 0, {20, 3, 30, 5},
     {"Chat assistant answering from the rodeo knowledge base",
      "Conversation history and search", NULL}},
    {"pro", "Pro", 1999, {200, 50, 1000, 100},
     {"Everything in Free, with higher limits", NULL}},
    {"premium", "Premium", 4999, {1000, QUOTA_UNLIMITED, QUOTA_UNLIMITED, QUOTA_UNLIMITED},
     {"Everything in Pro, with the highest limits", NULL}},
};

static void plan_clear(billing_plan_t *p)
{
    free(p->id);
    free(p->name);
    free(p->price_id);
    for (size_t i = 0; i < p->nfeatures; i++) free(p->features[i]);
    free(p->features);
    memset(p, 0, sizeof *p);
}

void billing_plans_free(billing_plans_t *p)
{
    if (!p) return;
    for (size_t i = 0; i < p->n; i++) plan_clear(&p->plans[i]);
    free(p->plans);
    free(p);
}

static billing_plan_t *plans_add(billing_plans_t *p, const char *id)
{
    p->plans = xrealloc(p->plans, (p->n + 1) * sizeof *p->plans);
    billing_plan_t *pl = &p->plans[p->n++];
    memset(pl, 0, sizeof *pl);
    pl->id = str_lower(xstrdup(id));
    for (int q = 0; q < QUOTA_COUNT; q++) pl->quota[q] = 0;
    return pl;
}

static int plan_err(char *err, size_t errlen, const char *path, const char *what, const char *id)
{
    snprintf(err, errlen, "plans file %s: %s%s%s", path ? path : "", what, id ? " in plan " : "",
             id ? id : "");
    return -1;
}

/* Applies one object from the file onto pl (a default or a fresh plan). */
static int plan_apply_json(billing_plan_t *pl, json_t *o, const char *path, char *err,
                           size_t errlen)
{
    json_t *v;
    if ((v = json_object_get(o, "name"))) {
        if (!json_is_string(v) || !*json_string_value(v) || json_string_length(v) > 64)
            return plan_err(err, errlen, path, "\"name\" must be a short string", pl->id);
        free(pl->name);
        pl->name = xstrdup(json_string_value(v));
    }
    if ((v = json_object_get(o, "price"))) {
        char why[128];
        if (money_cents_from_json(v, 0, MONEY_MAX_CHARGE_CENTS, &pl->price_cents, why, sizeof why))
            return plan_err(err, errlen, path, "\"price\" is not an amount like 19.99", pl->id);
    }
    if ((v = json_object_get(o, "price_id"))) {
        if (json_is_null(v)) {
            free(pl->price_id);
            pl->price_id = NULL;
        } else if (!json_is_string(v) || !*json_string_value(v) || json_string_length(v) > 255) {
            return plan_err(err, errlen, path, "\"price_id\" must be a string", pl->id);
        } else {
            free(pl->price_id);
            pl->price_id = xstrdup(json_string_value(v));
        }
    }
    if ((v = json_object_get(o, "features"))) {
        if (!json_is_array(v) || json_array_size(v) > 32)
            return plan_err(err, errlen, path, "\"features\" must be a list of strings", pl->id);
        size_t i;
        json_t *f;
        json_array_foreach(v, i, f)
            if (!json_is_string(f) || json_string_length(f) > 200)
                return plan_err(err, errlen, path, "\"features\" must be a list of strings", pl->id);
        for (i = 0; i < pl->nfeatures; i++) free(pl->features[i]);
        free(pl->features);
        pl->nfeatures = json_array_size(v);
        pl->features = pl->nfeatures ? xcalloc(pl->nfeatures, sizeof *pl->features) : NULL;
        json_array_foreach(v, i, f) pl->features[i] = xstrdup(json_string_value(f));
    }
    if ((v = json_object_get(o, "quotas"))) {
        if (!json_is_object(v))
            return plan_err(err, errlen, path, "\"quotas\" must be an object", pl->id);
        const char *k;
        json_t *q;
        json_object_foreach(v, k, q) {
            int qi = billing_quota_from_name(k);
            if (qi < 0) return plan_err(err, errlen, path, "unknown quota name", pl->id);
            if (json_is_null(q)) {
                pl->quota[qi] = QUOTA_UNLIMITED;
            } else if (json_is_integer(q) && json_integer_value(q) >= -1 &&
                       json_integer_value(q) <= 1000000000) {
                pl->quota[qi] = json_integer_value(q);
            } else {
                return plan_err(err, errlen, path, "a quota must be an integer >= -1 or null", pl->id);
            }
        }
    }
    return 0;
}

static int plans_merge_file(billing_plans_t *p, const char *path, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        snprintf(err, errlen, "plans file %s: %s (line %d)", path, jerr.text, jerr.line);
        return -1;
    }
    int rc = -1;
    json_t *list = json_object_get(root, "plans");
    if (!json_is_object(root) || !json_is_array(list) || json_array_size(list) > 16) {
        plan_err(err, errlen, path, "expected {\"plans\": [ ... ]} with at most 16 plans", NULL);
        goto out;
    }
    size_t i;
    json_t *o;
    json_array_foreach(list, i, o) {
        json_t *id = json_object_get(o, "id");
        if (!json_is_object(o) || !json_is_string(id) || json_string_length(id) == 0 ||
            json_string_length(id) > 32) {
            plan_err(err, errlen, path, "each plan needs a string \"id\"", NULL);
            goto out;
        }
        billing_plan_t *pl = (billing_plan_t *)billing_plans_find(p, json_string_value(id));
        if (!pl) {
            if (!json_object_get(o, "name") || !json_object_get(o, "price")) {
                plan_err(err, errlen, path, "a new plan needs \"name\" and \"price\"",
                         json_string_value(id));
                goto out;
            }
            pl = plans_add(p, json_string_value(id));
        }
        if (plan_apply_json(pl, o, path, err, errlen)) goto out;
    }
    rc = 0;
out:
    json_decref(root);
    return rc;
}

billing_plans_t *billing_plans_load(const char *path, const char *pro_price_id,
                                    const char *premium_price_id, char *err, size_t errlen)
{
    billing_plans_t *p = xcalloc(1, sizeof *p);
    for (size_t i = 0; i < sizeof default_plans / sizeof *default_plans; i++) {
        billing_plan_t *pl = plans_add(p, default_plans[i].id);
        pl->name = xstrdup(default_plans[i].name);
        pl->price_cents = default_plans[i].price_cents;
        memcpy(pl->quota, default_plans[i].quota, sizeof pl->quota);
        size_t nf = 0;
        while (nf < 4 && default_plans[i].features[nf]) nf++;
        pl->nfeatures = nf;
        pl->features = xcalloc(nf ? nf : 1, sizeof *pl->features);
        for (size_t f = 0; f < nf; f++) pl->features[f] = xstrdup(default_plans[i].features[f]);
        /* unset ids fall back to the original service's defaults (contract section 8) */
        const char *pid = !strcmp(pl->id, "pro")
                              ? (pro_price_id && *pro_price_id ? pro_price_id : "price_pro_monthly")
                        : !strcmp(pl->id, "premium")
                              ? (premium_price_id && *premium_price_id ? premium_price_id
                                                                       : "price_premium_monthly")
                        : NULL;
        if (pid) pl->price_id = xstrdup(pid);
    }
    if (path && *path && plans_merge_file(p, path, err, errlen)) {
        billing_plans_free(p);
        return NULL;
    }
    /* Invariants every caller relies on. */
    const billing_plan_t *free_plan = billing_plans_free_plan(p);
    if (!free_plan || free_plan->price_cents != 0 || free_plan->price_id) {
        snprintf(err, errlen, "plans file %s: the \"free\" plan must cost 0 and have no price_id",
                 path ? path : "");
        billing_plans_free(p);
        return NULL;
    }
    for (size_t i = 0; i < p->n; i++) {
        if (p->plans[i].price_cents > 0 && !p->plans[i].price_id) {
            plan_err(err, errlen, path, "a paid plan needs a \"price_id\"", p->plans[i].id);
            billing_plans_free(p);
            return NULL;
        }
    }
    return p;
}

const billing_plan_t *billing_plans_find(const billing_plans_t *p, const char *name)
{
    for (size_t i = 0; p && name && i < p->n; i++)
        if (str_eq_ci(p->plans[i].id, name) || str_eq_ci(p->plans[i].name, name))
            return &p->plans[i];
    return NULL;
}

const billing_plan_t *billing_plans_by_price_id(const billing_plans_t *p, const char *price_id)
{
    for (size_t i = 0; p && price_id && i < p->n; i++)
        if (p->plans[i].price_id && !strcmp(p->plans[i].price_id, price_id)) return &p->plans[i];
    return NULL;
}

const billing_plan_t *billing_plans_free_plan(const billing_plans_t *p)
{
    for (size_t i = 0; p && i < p->n; i++)
        if (!strcmp(p->plans[i].id, "free")) return &p->plans[i];
    return NULL;
}

/* The lines that state limits, printed from the numbers the server enforces. */
static void plan_quota_lines(const billing_plan_t *pl, json_t *arr)
{
    buf_t b = {0};
    int64_t chat = pl->quota[QUOTA_CHAT_MESSAGES_DAY];
    if (chat == QUOTA_UNLIMITED) buf_puts(&b, "Unlimited chat messages");
    else if (chat > 0) buf_printf(&b, "%lld chat messages per day", (long long)chat);
    if (b.len) json_array_append_new(arr, json_string(b.data));

    buf_reset(&b);
    int64_t rd = pl->quota[QUOTA_RECOGNITIONS_DAY], rm = pl->quota[QUOTA_RECOGNITIONS_MONTH];
    if (rd == 0 || rm == 0) buf_puts(&b, "");
    else if (rd == QUOTA_UNLIMITED && rm == QUOTA_UNLIMITED)
        buf_puts(&b, "Unlimited product recognition from photos");
    else if (rd == QUOTA_UNLIMITED)
        buf_printf(&b, "%lld product recognitions from photos per month", (long long)rm);
    else if (rm == QUOTA_UNLIMITED)
        buf_printf(&b, "%lld product recognitions from photos per day", (long long)rd);
    else
        buf_printf(&b, "%lld product recognitions from photos per day (%lld per month)",
                   (long long)rd, (long long)rm);
    if (b.len) json_array_append_new(arr, json_string(b.data));

    buf_reset(&b);
    int64_t ex = pl->quota[QUOTA_EXPORTS_DAY];
    if (ex == QUOTA_UNLIMITED) buf_puts(&b, "Unlimited conversation exports");
    else if (ex > 0) buf_printf(&b, "%lld conversation exports per day", (long long)ex);
    if (b.len) json_array_append_new(arr, json_string(b.data));
    buf_free(&b);
}

json_t *billing_plan_json(const billing_plan_t *pl)
{
    json_t *features = json_array();
    plan_quota_lines(pl, features);
    for (size_t i = 0; i < pl->nfeatures; i++)
        json_array_append_new(features, json_string(pl->features[i]));
    json_t *quotas = json_object();
    for (int q = 0; q < QUOTA_COUNT; q++)
        json_object_set_new(quotas, billing_quota_name(q),
                            pl->quota[q] == QUOTA_UNLIMITED ? json_null() : json_integer(pl->quota[q]));
    json_t *o = json_pack("{s:s, s:s, s:o, s:I, s:s, s:o, s:o}", "id", pl->id, "name", pl->name,
                          "price", money_json_dollars(pl->price_cents), "price_cents",
                          (json_int_t)pl->price_cents, "currency", "usd", "features", features,
                          "quotas", quotas);
    if (pl->price_id) json_object_set_new(o, "price_id", json_string(pl->price_id));
    return o;
}

json_t *billing_plans_json(const billing_plans_t *p)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < p->n; i++) json_array_append_new(arr, billing_plan_json(&p->plans[i]));
    return json_pack("{s:o}", "plans", arr);
}

/* ---- the process-wide table ---- */
static billing_plans_t *g_plans;
static pthread_mutex_t g_plans_lock = PTHREAD_MUTEX_INITIALIZER;

int billing_plans_init(char *err, size_t errlen)
{
    billing_plans_t *p = billing_plans_load(getenv("RODEO_PLANS_FILE"), g_config.stripe_pro_price_id,
                                            g_config.stripe_premium_price_id, err, errlen);
    if (!p) return -1;
    pthread_mutex_lock(&g_plans_lock);
    billing_plans_free(g_plans);
    g_plans = p;
    pthread_mutex_unlock(&g_plans_lock);
    return 0;
}

const billing_plans_t *billing_plans(void)
{
    pthread_mutex_lock(&g_plans_lock);
    if (!g_plans) {
        char err[256];
        g_plans = billing_plans_load(getenv("RODEO_PLANS_FILE"), g_config.stripe_pro_price_id,
                                     g_config.stripe_premium_price_id, err, sizeof err);
        if (!g_plans) {
            /* Start-up should have refused this file (billing_plans_init); fall back to the
             * built-in table rather than run without plans, and say so loudly. */
            log_error("billing: %s; using the built-in plans", err);
            g_plans = billing_plans_load(NULL, g_config.stripe_pro_price_id,
                                         g_config.stripe_premium_price_id, err, sizeof err);
        }
    }
    billing_plans_t *p = g_plans;
    pthread_mutex_unlock(&g_plans_lock);
    return p;
}

void billing_plans_shutdown(void)
{
    pthread_mutex_lock(&g_plans_lock);
    billing_plans_free(g_plans);
    g_plans = NULL;
    pthread_mutex_unlock(&g_plans_lock);
}
