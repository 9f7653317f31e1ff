/* stripe.h — a small Stripe API client over libcurl.
 *
 * Requests are form-encoded the way Stripe's API expects (nested parameters as
 * `items[0][price]=...`, lists as `expand[0]=...`), authenticated with the secret key as a
 * Bearer token, and bounded by connect/total timeouts. Every POST carries an
 * Idempotency-Key; a request that fails on the network, times out, or gets 409/429/5xx is
 * retried (at most max_retries times, with backoff) with the *same* key, so a retry after a
 * lost response replays Stripe's stored result instead of charging twice.
 *
 * Errors never carry the secret key: Stripe's message is copied into stripe_error_t with
 * anything that looks like an API key (sk_..., rk_..., the configured key) masked.
 *
 * A client is immutable after creation and safe to share between threads (each request uses
 * its own curl handle). */
#ifndef RODEO_BILLING_STRIPE_H
#define RODEO_BILLING_STRIPE_H
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- form parameters: an ordered list of key=value pairs ---- */
typedef struct {
    char  **keys;
    char  **values;
    size_t  n, cap;
} stripe_params_t;

void stripe_params_add(stripe_params_t *p, const char *key, const char *value);
void stripe_params_addf(stripe_params_t *p, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void stripe_params_free(stripe_params_t *p);
/* application/x-www-form-urlencoded body (keys and values percent-encoded, RFC 3986
 * unreserved characters kept). Caller frees. */
char *stripe_params_encode(const stripe_params_t *p);

/* ---- errors ---- */
enum stripe_result {
    STRIPE_OK = 0,
    STRIPE_ERR_REQUEST,          /* Stripe refused the request (400/402/404): message is for users */
    STRIPE_ERR_AUTH,             /* 401/403: our key is wrong; tell the operator, not the user */
    STRIPE_ERR_UNAVAILABLE,      /* network failure, timeout, 429/5xx after the retries */
    STRIPE_ERR_CONFIG,           /* no secret key configured */
};

typedef struct {
    int  http_status;            /* 0 when no response arrived */
    char type[64];               /* Stripe error.type, e.g. "card_error" */
    char code[64];               /* Stripe error.code, e.g. "resource_missing" */
    char param[96];              /* Stripe error.param */
    char message[320];           /* masked human message */
    int  attempts;               /* requests made (1 + retries) */
} stripe_error_t;

/* ---- client ---- */
typedef struct stripe_client stripe_client_t;

typedef struct {
    const char *api_base;        /* "https://api.stripe.com" (no trailing /v1) */
    const char *secret_key;      /* sk_... ; NULL/"" makes every call STRIPE_ERR_CONFIG */
    int connect_timeout_ms;      /* default 3000 */
    int timeout_ms;              /* whole request, default 20000 */
    int max_retries;             /* default 2 */
    int retry_base_ms;           /* first backoff, doubled each time; default 250 */
} stripe_config_t;

stripe_client_t *stripe_client_new(const stripe_config_t *cfg);
void stripe_client_free(stripe_client_t *c);

/* One API call. method "GET" | "POST" | "DELETE"; path starts with "/v1/". For GET and
 * DELETE the params go in the query string. idempotency_key is required for POST (NULL ->
 * STRIPE_ERR_CONFIG, so no POST can go out without one). On STRIPE_OK *out is the response
 * object (caller owns); otherwise err is filled and *out is NULL. */
int stripe_request(stripe_client_t *c, const char *method, const char *path,
                   const stripe_params_t *params, const char *idempotency_key, json_t **out,
                   stripe_error_t *err);

/* Masks API keys in s (in place): every "sk_"/"rk_"/"pk_" word and every occurrence of
 * key becomes "sk_***". Exposed for tests. */
void stripe_mask_secrets(char *s, const char *key);
#endif
