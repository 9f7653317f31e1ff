/* stripe_calls.c — the parameters of each Stripe call Rodeo makes (see stripe_calls.h). */
#include "billing/stripe_calls.h"
#include "core/buf.h"
#include "core/crypto.h"
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int stripe_customer_create(stripe_client_t *c, int64_t user_id, const char *email,
                           const char *name, char **customer_id, stripe_error_t *err)
{
    *customer_id = NULL;
    stripe_params_t p = {0};
    if (email) stripe_params_add(&p, "email", email);
    if (name) stripe_params_add(&p, "name", name);
    stripe_params_addf(&p, "metadata[user_id]", "%" PRId64, user_id);
    /* Same user + same fields -> same key -> Stripe returns the first customer. */
    char *form = stripe_params_encode(&p);
    char hex[2 * SHA256_LEN + 1];
    sha256_hex(form, strlen(form), hex);
    free(form);
    char key[96];
    snprintf(key, sizeof key, "rodeo-customer-%" PRId64 "-%.16s", user_id, hex);
    json_t *obj = NULL;
    int rc = stripe_request(c, "POST", "/v1/customers", &p, key, &obj, err);
    stripe_params_free(&p);
    if (rc != STRIPE_OK) return rc;
    const char *id = json_string_value(json_object_get(obj, "id"));
    if (!id || strncmp(id, "cus_", 4)) {
        json_decref(obj);
        snprintf(err->message, sizeof err->message, "malformed customer from payment provider");
        return STRIPE_ERR_UNAVAILABLE;
    }
    *customer_id = xstrdup(id);
    json_decref(obj);
    return STRIPE_OK;
}

static void add_metadata_value(stripe_params_t *p, const char *k, const json_t *v)
{
    buf_t key = {0};
    buf_printf(&key, "metadata[%s]", k);
    if (json_is_string(v)) stripe_params_add(p, key.data, json_string_value(v));
    else if (json_is_integer(v)) stripe_params_addf(p, key.data, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else if (json_is_real(v)) stripe_params_addf(p, key.data, "%.17g", json_real_value(v));
    else if (json_is_boolean(v)) stripe_params_add(p, key.data, json_is_true(v) ? "true" : "false");
    buf_free(&key);
}

int billing_metadata_validate(const json_t *md, char *err, size_t errlen)
{
    if (!md || json_is_null(md)) return 0;
    if (!json_is_object(md)) {
        snprintf(err, errlen, "metadata must be an object");
        return -1;
    }
    if (json_object_size(md) > 10) {
        snprintf(err, errlen, "metadata has more than 10 keys");
        return -1;
    }
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)md, k, v) {
        size_t kl = strlen(k);
        bool ok = kl >= 1 && kl <= 40 && strcmp(k, "user_id") != 0;
        for (size_t i = 0; ok && i < kl; i++)
            ok = (k[i] >= 'a' && k[i] <= 'z') || (k[i] >= 'A' && k[i] <= 'Z') ||
                 (k[i] >= '0' && k[i] <= '9') || k[i] == '_' || k[i] == '-';
        if (!ok) {
            snprintf(err, errlen, "metadata keys must be 1-40 letters, digits, '_' or '-' (and not user_id)");
            return -1;
        }
        if (!(json_is_string(v) || json_is_integer(v) || json_is_real(v) || json_is_boolean(v)) ||
            (json_is_string(v) && json_string_length(v) > 500)) {
            snprintf(err, errlen, "metadata values must be strings of at most 500 bytes, numbers or booleans");
            return -1;
        }
    }
    return 0;
}

int stripe_payment_intent_create(stripe_client_t *c, const char *customer, int64_t amount_cents,
                                 const char *currency, const char *description, int64_t user_id,
                                 const json_t *client_metadata, const char *idempotency_key,
                                 json_t **pi, stripe_error_t *err)
{
    stripe_params_t p = {0};
    stripe_params_addf(&p, "amount", "%" PRId64, amount_cents);
    stripe_params_add(&p, "currency", currency);
    if (description) stripe_params_add(&p, "description", description);
    if (customer) stripe_params_add(&p, "customer", customer);
    stripe_params_add(&p, "automatic_payment_methods[enabled]", "true");
    if (json_is_object(client_metadata)) {
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)client_metadata, k, v)
            if (strcmp(k, "user_id")) add_metadata_value(&p, k, v);
    }
    stripe_params_addf(&p, "metadata[user_id]", "%" PRId64, user_id);
    int rc = stripe_request(c, "POST", "/v1/payment_intents", &p, idempotency_key, pi, err);
    stripe_params_free(&p);
    if (rc == STRIPE_OK && !json_is_string(json_object_get(*pi, "id"))) {
        json_decref(*pi);
        *pi = NULL;
        snprintf(err->message, sizeof err->message, "malformed payment intent from payment provider");
        return STRIPE_ERR_UNAVAILABLE;
    }
    return rc;
}

int stripe_subscription_create(stripe_client_t *c, const char *customer, const char *price_id,
                               int trial_days, int64_t user_id, const char *plan_id,
                               const char *idempotency_key, json_t **sub, stripe_error_t *err)
{
    stripe_params_t p = {0};
    stripe_params_add(&p, "customer", customer);
    stripe_params_add(&p, "items[0][price]", price_id);
    stripe_params_add(&p, "payment_behavior", "default_incomplete");
    stripe_params_add(&p, "payment_settings[save_default_payment_method]", "on_subscription");
    if (trial_days > 0) stripe_params_addf(&p, "trial_period_days", "%d", trial_days);
    stripe_params_addf(&p, "metadata[user_id]", "%" PRId64, user_id);
    stripe_params_add(&p, "metadata[plan]", plan_id);
    stripe_params_add(&p, "expand[0]", "latest_invoice.payment_intent");
    stripe_params_add(&p, "expand[1]", "pending_setup_intent");
    int rc = stripe_request(c, "POST", "/v1/subscriptions", &p, idempotency_key, sub, err);
    stripe_params_free(&p);
    if (rc == STRIPE_OK && !json_is_string(json_object_get(*sub, "id"))) {
        json_decref(*sub);
        *sub = NULL;
        snprintf(err->message, sizeof err->message, "malformed subscription from payment provider");
        return STRIPE_ERR_UNAVAILABLE;
    }
    return rc;
}

int stripe_subscription_cancel(stripe_client_t *c, const char *subscription_id, bool at_period_end,
                               const char *idempotency_key, json_t **sub, stripe_error_t *err)
{
    *sub = NULL;
    buf_t path = {0};
    buf_puts(&path, "/v1/subscriptions/");
    bool bad = !subscription_id || !*subscription_id || strlen(subscription_id) > 255;
    /* ids are Stripe's (sub_[A-Za-z0-9]+); refuse anything that could change the path */
    for (const char *s = bad ? "" : subscription_id; *s && !bad; s++) {
        char ch = *s;
        bad = !((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_');
    }
    if (bad) {
        buf_free(&path);
        memset(err, 0, sizeof *err);
        snprintf(err->message, sizeof err->message, "invalid subscription id");
        return STRIPE_ERR_REQUEST;
    }
    buf_puts(&path, subscription_id);
    stripe_params_t p = {0};
    int rc;
    if (at_period_end) {
        stripe_params_add(&p, "cancel_at_period_end", "true");
        rc = stripe_request(c, "POST", path.data, &p, idempotency_key, sub, err);
    } else {
        rc = stripe_request(c, "DELETE", path.data, &p, NULL, sub, err);
    }
    stripe_params_free(&p);
    buf_free(&path);
    return rc;
}

const char *stripe_subscription_client_secret(const json_t *sub)
{
    json_t *inv = json_object_get(sub, "latest_invoice");
    const char *s = json_string_value(json_object_get(json_object_get(inv, "payment_intent"), "client_secret"));
    if (s) return s;
    return json_string_value(json_object_get(json_object_get(sub, "pending_setup_intent"), "client_secret"));
}
