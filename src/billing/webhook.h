/* webhook.h — Stripe webhook processing, independent of the HTTP layer.
 *
 * Order of checks: secret configured (else 503: never accept unverified), header present
 * (else 400), signature valid and fresh (else 400), payload a Stripe event (else 400).
 * Then the event is applied through store_billing_stripe_apply(): recorded by id first, so
 * a redelivery is acknowledged without effect, and guarded so out-of-order delivery cannot
 * move a payment or subscription back to an older state.
 *
 * Handled: payment_intent.succeeded / payment_failed / canceled / processing,
 * customer.subscription.created / updated / deleted (status, periods, cancel flag, plan from
 * the price id), invoice.paid / invoice.payment_succeeded / invoice.payment_failed. Every
 * other verified event is recorded and acknowledged. */
#ifndef RODEO_BILLING_WEBHOOK_H
#define RODEO_BILLING_WEBHOOK_H
#include "billing/plans.h"
#include "store/store.h"
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    int     status;              /* HTTP status to answer */
    json_t *body;                /* response body (caller owns) */
} billing_webhook_result_t;

/* now_s: current Unix time (0 = now). tolerance_s <= 0: default 300 s. */
void billing_webhook_handle(store_t *st, const billing_plans_t *plans, const char *secret,
                            const char *signature_header, const void *body, size_t len,
                            int64_t now_s, int tolerance_s, billing_webhook_result_t *out);
#endif
