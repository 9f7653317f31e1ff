/* stripe_calls.h — the Stripe API calls Rodeo makes, with the exact parameters Stripe
 * expects, on top of stripe_request(). All amounts are integer cents. */
#ifndef RODEO_BILLING_STRIPE_CALLS_H
#define RODEO_BILLING_STRIPE_CALLS_H
#include "billing/stripe.h"

/* POST /v1/customers {email, name, metadata[user_id]}. The idempotency key is derived from
 * the user id and the fields, so two concurrent first payments of one user create one
 * customer. *customer_id is malloc'd. */
int stripe_customer_create(stripe_client_t *c, int64_t user_id, const char *email,
                           const char *name, char **customer_id, stripe_error_t *err);

/* POST /v1/payment_intents {amount, currency, description, customer,
 * automatic_payment_methods[enabled]=true, metadata}. client_metadata may be NULL or an
 * object of short strings/numbers (already validated by billing_metadata_validate); our
 * metadata[user_id] always wins. */
int stripe_payment_intent_create(stripe_client_t *c, const char *customer, int64_t amount_cents,
                                 const char *currency, const char *description, int64_t user_id,
                                 const json_t *client_metadata, const char *idempotency_key,
                                 json_t **pi, stripe_error_t *err);

/* POST /v1/subscriptions {customer, items[0][price], payment_behavior=default_incomplete,
 * payment_settings[save_default_payment_method]=on_subscription, trial_period_days?,
 * metadata[user_id], metadata[plan], expand[]=latest_invoice.payment_intent,
 * expand[]=pending_setup_intent}. trial_days 0 = none. */
int stripe_subscription_create(stripe_client_t *c, const char *customer, const char *price_id,
                               int trial_days, int64_t user_id, const char *plan_id,
                               const char *idempotency_key, json_t **sub, stripe_error_t *err);

/* at_period_end: POST /v1/subscriptions/{id} cancel_at_period_end=true; otherwise
 * DELETE /v1/subscriptions/{id} (immediate). */
int stripe_subscription_cancel(stripe_client_t *c, const char *subscription_id, bool at_period_end,
                               const char *idempotency_key, json_t **sub, stripe_error_t *err);

/* The secret the browser confirms: the first invoice's PaymentIntent secret, or for trials
 * (no payment due yet) the pending SetupIntent's secret. NULL when neither is present. */
const char *stripe_subscription_client_secret(const json_t *sub);

/* Checks client metadata for PaymentIntents: NULL/absent ok; else an object of at most 10
 * keys ([A-Za-z0-9_-]{1,40}, not "user_id") with string/integer/real/bool values of at most
 * 500 bytes. Returns 0, or -1 with a message. */
int billing_metadata_validate(const json_t *md, char *err, size_t errlen);
#endif
