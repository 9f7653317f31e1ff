/* webhook.c — verifies a Stripe webhook and turns its event into one guarded store change
 * (see webhook.h for the order of checks and the events handled). */
#include "billing/webhook.h"
#include "billing/signature.h"
#include "store/billing.h"
#include "core/log.h"
#include "core/timeutil.h"
#include <string.h>

static void answer_error(billing_webhook_result_t *out, int status, const char *code,
                         const char *detail)
{
    out->status = status;
    out->body = json_pack("{s:s, s:s}", "detail", detail, "code", code);
}

static const char *str_field(json_t *o, const char *k, size_t max)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s && *s && strlen(s) <= max ? s : NULL;
}

static int64_t secs_to_us(json_t *v)
{
    if (!json_is_integer(v)) return 0;
    json_int_t s = json_integer_value(v);
    return s > 0 && s < 253402300800LL ? (int64_t)s * 1000000 : 0;   /* before year 10000 */
}

/* The plan of a subscription object: its first item's price, else our own metadata. */
static const char *sub_plan(const billing_plans_t *plans, json_t *obj)
{
    json_t *items = json_object_get(json_object_get(obj, "items"), "data");
    json_t *price = json_object_get(json_array_get(items, 0), "price");
    const char *price_id = json_is_string(price) ? json_string_value(price)
                                                 : json_string_value(json_object_get(price, "id"));
    const billing_plan_t *pl = billing_plans_by_price_id(plans, price_id);
    if (!pl) pl = billing_plans_find(plans, json_string_value(json_object_get(json_object_get(obj, "metadata"), "plan")));
    return pl && pl->price_id ? pl->id : NULL;
}

void billing_webhook_handle(store_t *st, const billing_plans_t *plans, const char *secret,
                            const char *signature_header, const void *body, size_t len,
                            int64_t now_s, int tolerance_s, billing_webhook_result_t *out)
{
    out->status = 0;
    out->body = NULL;
    if (!secret || !*secret) {
        answer_error(out, 503, "webhook_not_configured", "Webhook secret not configured");
        return;
    }
    if (!signature_header || !*signature_header) {
        answer_error(out, 400, "missing_signature", "Missing Stripe-Signature header");
        return;
    }
    if (!now_s) now_s = time_now_us() / 1000000;
    enum billing_sig_result sr = billing_signature_verify(signature_header, body, len, secret,
                                                          now_s, tolerance_s);
    if (sr != BILLING_SIG_OK) {
        char detail[128];
        snprintf(detail, sizeof detail, "Invalid signature: %s", billing_signature_reason(sr));
        answer_error(out, 400, "invalid_signature", detail);
        return;
    }
    json_error_t je;
    json_t *ev = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    const char *id = str_field(ev, "id", 255), *type = str_field(ev, "type", 128);
    json_t *obj = json_object_get(json_object_get(ev, "data"), "object");
    int64_t created_us = secs_to_us(json_object_get(ev, "created"));
    if (!json_is_object(ev) || !id || !type || !json_is_object(obj) || !created_us) {
        json_decref(ev);
        answer_error(out, 400, "invalid_payload", "Invalid payload");
        return;
    }

    store_stripe_change_t ch = {.event_id = id, .event_type = type};
    store_subscription_t sub = {0};
    if (!strncmp(type, "payment_intent.", 15)) {
        const char *what = type + 15;
        ch.payment_intent_id = str_field(obj, "id", 255);
        ch.payment_status = !strcmp(what, "succeeded") ? "succeeded"
                          : !strcmp(what, "payment_failed") ? "failed"
                          : !strcmp(what, "canceled") ? "canceled"
                          : !strcmp(what, "processing") ? "processing" : NULL;
    } else if (!strncmp(type, "customer.subscription.", 22)) {
        const char *what = type + 22;
        if (!strcmp(what, "created") || !strcmp(what, "updated") || !strcmp(what, "deleted")) {
            sub.subscription_id = str_field(obj, "id", 255);
            json_t *cust = json_object_get(obj, "customer");
            sub.customer_id = json_is_string(cust) ? str_field(obj, "customer", 255)
                                                   : str_field(cust, "id", 255);
            sub.status = !strcmp(what, "deleted") ? "canceled" : str_field(obj, "status", 64);
            sub.plan = sub_plan(plans, obj);
            sub.period_start_us = secs_to_us(json_object_get(obj, "current_period_start"));
            sub.period_end_us = secs_to_us(json_object_get(obj, "current_period_end"));
            sub.cancel_at_period_end = json_is_true(json_object_get(obj, "cancel_at_period_end"));
            sub.event_at_us = created_us;
            if (sub.subscription_id && sub.status) {
                ch.sub = &sub;
                ch.sub_change = STORE_SUB_STATE;
            }
        }
    } else if (!strcmp(type, "invoice.paid") || !strcmp(type, "invoice.payment_succeeded") ||
               !strcmp(type, "invoice.payment_failed")) {
        json_t *s = json_object_get(obj, "subscription");
        sub.subscription_id = json_is_string(s) ? json_string_value(s)
                                                : json_string_value(json_object_get(s, "id"));
        sub.event_at_us = created_us;
        if (sub.subscription_id && *sub.subscription_id) {
            ch.sub = &sub;
            ch.sub_change = !strcmp(type, "invoice.payment_failed") ? STORE_SUB_INVOICE_FAILED
                                                                    : STORE_SUB_INVOICE_PAID;
        }
    }

    bool applied = false;
    int rc = store_billing_stripe_apply(st, &ch, &applied);
    if (rc == STORE_CONFLICT) {
        out->status = 200;
        out->body = json_pack("{s:s, s:b, s:b}", "status", "success", "duplicate", 1, "applied", 0);
    } else if (rc != STORE_OK) {
        /* 500 makes Stripe redeliver later; nothing was recorded (the transaction rolled back) */
        log_error("billing: webhook %s (%s) could not be stored", id, type);
        answer_error(out, 500, "store_unavailable", "Could not record the event; retry later");
    } else {
        out->status = 200;
        out->body = json_pack("{s:s, s:b, s:b}", "status", "success", "duplicate", 0, "applied", applied);
    }
    json_decref(ev);
}
