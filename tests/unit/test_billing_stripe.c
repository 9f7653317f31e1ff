/* test_billing_stripe.c — the Stripe client against tests/tools/fake_stripe.py on loopback:
 * auth header, form encoding of nested params, idempotency keys (present, stable on retry,
 * no double charge), error mapping without leaking the key, timeouts. */
#include "test.h"
#include "billing/stripe.h"
#include "billing/stripe_calls.h"
#include "core/buf.h"
#include <curl/curl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#define KEY "sk_test_51RodeoSecretKeyDoNotLeak"

typedef struct {
    pid_t pid;
    int   port;
    char  base[64];
} fake_t;

/* Starts the fake peer and reads its "PORT n" line. */
static int fake_start(fake_t *f)
{
    memset(f, 0, sizeof *f);
    int fds[2];
    if (pipe(fds)) return -1;
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execl("/usr/bin/python3", "python3", "tests/tools/fake_stripe.py", "--port", "0", "--key",
              KEY, "--price", "price_pro_monthly=1999", "--price", "price_premium_monthly=4999",
              (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    char line[64] = {0};
    size_t n = 0;
    while (n < sizeof line - 1) {
        ssize_t r = read(fds[0], line + n, 1);
        if (r <= 0 || line[n] == '\n') break;
        n++;
    }
    close(fds[0]);
    f->pid = pid;
    if (sscanf(line, "PORT %d", &f->port) != 1) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return -1;
    }
    snprintf(f->base, sizeof f->base, "http://127.0.0.1:%d", f->port);
    return 0;
}

static void fake_stop(fake_t *f)
{
    if (f->pid > 0) {
        kill(f->pid, SIGTERM);
        waitpid(f->pid, NULL, 0);
    }
}

static size_t collect(char *d, size_t s, size_t n, void *ud)
{
    buf_append(ud, d, s * n);
    return s * n;
}

/* Talks to the fake's /_test/ control endpoints. */
static json_t *fake_ctl(fake_t *f, const char *method, const char *path, const char *body)
{
    CURL *h = curl_easy_init();
    buf_t url = {0}, resp = {0};
    buf_printf(&url, "%s%s", f->base, path);
    curl_easy_setopt(h, CURLOPT_URL, url.data);
    if (!strcmp(method, "POST")) curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &resp);
    curl_easy_perform(h);
    curl_easy_cleanup(h);
    json_t *j = resp.data ? json_loads(resp.data, JSON_DECODE_ANY, NULL) : NULL;
    buf_free(&url);
    buf_free(&resp);
    return j;
}

static stripe_client_t *client_for(fake_t *f, const char *key, int timeout_ms)
{
    stripe_config_t cfg = {.api_base = f->base, .secret_key = key, .timeout_ms = timeout_ms,
                           .max_retries = 2, .retry_base_ms = 5};
    return stripe_client_new(&cfg);
}

TEST(billing_stripe_form_encoding)
{
    stripe_params_t p = {0};
    stripe_params_add(&p, "items[0][price]", "price_1");
    stripe_params_add(&p, "description", "Entry fee & more = 100%");
    stripe_params_add(&p, "metadata[note]", "caf\xc3\xa9 r\xc3\xa9sum\xc3\xa9");
    stripe_params_add(&p, "empty", NULL);
    char *s = stripe_params_encode(&p);
    CHECK_STR(s, "items%5B0%5D%5Bprice%5D=price_1&description=Entry%20fee%20%26%20more%20%3D%20100%25"
                 "&metadata%5Bnote%5D=caf%C3%A9%20r%C3%A9sum%C3%A9&empty=");
    free(s);
    stripe_params_free(&p);
    s = stripe_params_encode(&p);
    CHECK_STR(s, "");
    free(s);
}

TEST(billing_stripe_mask_secrets)
{
    char m[200];
    snprintf(m, sizeof m, "Invalid API Key provided: %s", KEY);
    stripe_mask_secrets(m, KEY);
    CHECK(strstr(m, "RodeoSecret") == NULL);
    CHECK_STR(m, "Invalid API Key provided: sk_***");
    snprintf(m, sizeof m, "key rk_live_abcdefgh and sk_test_****1234 but task_id stays");
    stripe_mask_secrets(m, NULL);
    CHECK_STR(m, "key sk_*** and sk_*** but task_id stays");
    snprintf(m, sizeof m, "embedded%sx", KEY);      /* not at a word start: the key itself */
    stripe_mask_secrets(m, KEY);
    CHECK(strstr(m, "RodeoSecret") == NULL);
}

TEST(billing_stripe_calls_against_fake)
{
    fake_t f;
    REQUIRE(fake_start(&f) == 0);
    stripe_client_t *c = client_for(&f, KEY, 5000);
    stripe_error_t err;
    char *cus = NULL, *cus2 = NULL;
    CHECK_INT(stripe_customer_create(c, 42, "rider@example.com", "Rider One", &cus, &err), STRIPE_OK);
    REQUIRE(cus != NULL);
    CHECK(!strncmp(cus, "cus_", 4));
    /* the same user again: the derived idempotency key replays the first customer */
    CHECK_INT(stripe_customer_create(c, 42, "rider@example.com", "Rider One", &cus2, &err), STRIPE_OK);
    CHECK_STR(cus2, cus);

    json_t *md = json_pack("{s:s, s:i, s:s}", "event", "Cheyenne Frontier Days", "entry", 3,
                           "user_id", "999");
    json_t *pi = NULL;
    CHECK_INT(stripe_payment_intent_create(c, cus, 1999, "usd", "Entry fee", 42, md, "idem-pi-1",
                                           &pi, &err), STRIPE_OK);
    REQUIRE(pi != NULL);
    CHECK_INT(json_integer_value(json_object_get(pi, "amount")), 1999);
    CHECK_STR(json_string_value(json_object_get(json_object_get(pi, "metadata"), "user_id")), "42");
    CHECK_STR(json_string_value(json_object_get(json_object_get(pi, "metadata"), "event")),
              "Cheyenne Frontier Days");
    { const char *cs = json_string_value(json_object_get(pi, "client_secret")); CHECK(cs && !strncmp(cs, "pi_", 3) && strstr(cs, "_secret_")); }
    json_decref(pi);
    json_decref(md);

    /* subscription without trial: the first invoice's PaymentIntent secret */
    json_t *sub = NULL;
    CHECK_INT(stripe_subscription_create(c, cus, "price_pro_monthly", 0, 42, "pro", "idem-sub-1",
                                         &sub, &err), STRIPE_OK);
    REQUIRE(sub != NULL);
    CHECK_STR(json_string_value(json_object_get(sub, "status")), "incomplete");
    const char *secret = stripe_subscription_client_secret(sub);
    CHECK(secret && !strncmp(secret, "pi_", 3));
    json_decref(sub);
    /* with a trial: no payment due, the pending SetupIntent's secret (the original crashed) */
    CHECK_INT(stripe_subscription_create(c, cus, "price_premium_monthly", 7, 42, "premium",
                                         "idem-sub-2", &sub, &err), STRIPE_OK);
    REQUIRE(sub != NULL);
    CHECK_STR(json_string_value(json_object_get(sub, "status")), "trialing");
    secret = stripe_subscription_client_secret(sub);
    CHECK(secret && !strncmp(secret, "seti_", 5));
    char *sid = xstrdup(json_string_value(json_object_get(sub, "id")));
    json_decref(sub);

    /* what went over the wire */
    json_t *reqs = fake_ctl(&f, "GET", "/_test/requests", NULL);
    REQUIRE(json_is_array(reqs));
    size_t i;
    json_t *r;
    int subs_seen = 0;
    json_array_foreach(reqs, i, r) {
        CHECK_STR(json_string_value(json_object_get(r, "content_type")), "application/x-www-form-urlencoded");
        CHECK(json_string_value(json_object_get(r, "idempotency_key")) != NULL);
        CHECK(json_string_value(json_object_get(r, "stripe_version")) != NULL);
        if (!strcmp(json_string_value(json_object_get(r, "path")), "/v1/subscriptions")) {
            json_t *form = json_object_get(r, "form");
            CHECK_STR(json_string_value(json_object_get(json_array_get(json_object_get(form, "items"), 0), "price")),
                      subs_seen ? "price_premium_monthly" : "price_pro_monthly");
            CHECK_STR(json_string_value(json_object_get(json_object_get(form, "payment_settings"),
                                                        "save_default_payment_method")), "on_subscription");
            CHECK_INT(json_array_size(json_object_get(form, "expand")), 2);
            CHECK_STR(json_string_value(json_object_get(json_object_get(form, "metadata"), "plan")),
                      subs_seen ? "premium" : "pro");
            subs_seen++;
        }
    }
    CHECK_INT(subs_seen, 2);
    json_decref(reqs);

    /* cancel at period end, then now */
    CHECK_INT(stripe_subscription_cancel(c, sid, true, "idem-cancel-1", &sub, &err), STRIPE_OK);
    CHECK(json_is_true(json_object_get(sub, "cancel_at_period_end")));
    json_decref(sub);
    CHECK_INT(stripe_subscription_cancel(c, sid, false, NULL, &sub, &err), STRIPE_OK);
    CHECK_STR(json_string_value(json_object_get(sub, "status")), "canceled");
    json_decref(sub);
    /* again: Stripe refuses, we get a request error with Stripe's message */
    CHECK_INT(stripe_subscription_cancel(c, sid, false, NULL, &sub, &err), STRIPE_ERR_REQUEST);
    CHECK(sub == NULL);
    CHECK_INT(err.http_status, 400);
    CHECK_INT(stripe_subscription_cancel(c, "../customers", false, NULL, &sub, &err), STRIPE_ERR_REQUEST);
    CHECK_INT(stripe_subscription_cancel(c, "", true, "k", &sub, &err), STRIPE_ERR_REQUEST);
    free(sid);
    free(cus);
    free(cus2);
    stripe_client_free(c);
    fake_stop(&f);
}

TEST(billing_stripe_errors_and_secrecy)
{
    fake_t f;
    REQUIRE(fake_start(&f) == 0);
    /* wrong key: the fake echoes it in the message; our error must not carry it */
    const char *wrong = "sk_test_WrongKeyThatMustNotAppear";
    stripe_client_t *c = client_for(&f, wrong, 5000);
    stripe_error_t err;
    json_t *pi = NULL;
    CHECK_INT(stripe_payment_intent_create(c, NULL, 1000, "usd", "x", 1, NULL, "k1", &pi, &err),
              STRIPE_ERR_AUTH);
    CHECK_INT(err.http_status, 401);
    CHECK_INT(err.attempts, 1);                      /* no retry on auth errors */
    CHECK(strstr(err.message, "WrongKey") == NULL);
    CHECK(strstr(err.message, "Invalid API Key") != NULL);
    stripe_client_free(c);

    /* no key configured: nothing is sent */
    c = client_for(&f, NULL, 5000);
    CHECK_INT(stripe_payment_intent_create(c, NULL, 1000, "usd", "x", 1, NULL, "k1", &pi, &err),
              STRIPE_ERR_CONFIG);
    stripe_client_free(c);

    c = client_for(&f, KEY, 5000);
    /* POST without an idempotency key never leaves the process */
    stripe_params_t p = {0};
    stripe_params_add(&p, "email", "a@b.c");
    json_t *obj = NULL;
    CHECK_INT(stripe_request(c, "POST", "/v1/customers", &p, NULL, &obj, &err), STRIPE_ERR_CONFIG);
    stripe_params_free(&p);
    /* Stripe validation error: code and param come through */
    CHECK_INT(stripe_payment_intent_create(c, NULL, 10, "usd", "x", 1, NULL, "k2", &pi, &err),
              STRIPE_ERR_REQUEST);
    CHECK_STR(err.code, "amount_too_small");
    CHECK_STR(err.param, "amount");
    CHECK_INT(err.http_status, 400);
    CHECK_INT(err.attempts, 1);
    /* reusing a key with other parameters is Stripe's idempotency_error */
    CHECK_INT(stripe_payment_intent_create(c, NULL, 5000, "usd", "x", 1, NULL, "k3", &pi, &err), STRIPE_OK);
    json_decref(pi);
    CHECK_INT(stripe_payment_intent_create(c, NULL, 6000, "usd", "x", 1, NULL, "k3", &pi, &err),
              STRIPE_ERR_REQUEST);
    CHECK_STR(err.type, "idempotency_error");
    /* unknown price */
    json_t *sub = NULL;
    char *cus = NULL;
    REQUIRE(stripe_customer_create(c, 5, "x@y.z", NULL, &cus, &err) == STRIPE_OK);
    CHECK_INT(stripe_subscription_create(c, cus, "price_nope", 0, 5, "pro", "k4", &sub, &err),
              STRIPE_ERR_REQUEST);
    CHECK_STR(err.param, "items[0][price]");
    free(cus);
    stripe_client_free(c);

    /* nothing listening: unavailable after the retries */
    stripe_config_t cfg = {.api_base = "http://127.0.0.1:1", .secret_key = KEY, .max_retries = 1,
                           .retry_base_ms = 1, .connect_timeout_ms = 500};
    c = stripe_client_new(&cfg);
    CHECK_INT(stripe_payment_intent_create(c, NULL, 1000, "usd", "x", 1, NULL, "k5", &pi, &err),
              STRIPE_ERR_UNAVAILABLE);
    CHECK_INT(err.attempts, 2);
    CHECK_INT(err.http_status, 0);
    stripe_client_free(c);
    fake_stop(&f);
}

/* Counts requests the fake saw for a path and checks they all used one key. */
static int requests_with_key(fake_t *f, const char *path, const char *key)
{
    json_t *reqs = fake_ctl(f, "GET", "/_test/requests", NULL);
    size_t i;
    json_t *r;
    int n = 0;
    json_array_foreach(reqs, i, r) {
        if (strcmp(json_string_value(json_object_get(r, "path")), path)) continue;
        const char *k = json_string_value(json_object_get(r, "idempotency_key"));
        if (k && !strcmp(k, key)) n++;
        else n = -1000;
    }
    json_decref(reqs);
    return n;
}

TEST(billing_stripe_retry_same_idempotency_key)
{
    fake_t f;
    REQUIRE(fake_start(&f) == 0);
    stripe_client_t *c = client_for(&f, KEY, 5000);
    stripe_error_t err;
    json_t *pi = NULL;

    /* the response to a processed request is lost (500 after processing): the retry with the
     * same key replays it, so exactly one PaymentIntent exists */
    json_decref(fake_ctl(&f, "POST", "/_test/fail",
                         "{\"path\":\"/v1/payment_intents\",\"count\":1,\"status\":500,\"mode\":\"after\"}"));
    CHECK_INT(stripe_payment_intent_create(c, NULL, 2500, "usd", "Entry", 3, NULL, "idem-retry-A",
                                           &pi, &err), STRIPE_OK);
    CHECK_INT(err.attempts, 2);
    json_decref(pi);
    CHECK_INT(requests_with_key(&f, "/v1/payment_intents", "idem-retry-A"), 2);
    json_t *objs = fake_ctl(&f, "GET", "/_test/objects", NULL);
    CHECK_INT(json_integer_value(json_object_get(objs, "payment_intents")), 1);
    json_decref(objs);

    /* connection dropped after processing: same outcome */
    json_decref(fake_ctl(&f, "POST", "/_test/reset", NULL));
    json_decref(fake_ctl(&f, "POST", "/_test/fail",
                         "{\"path\":\"/v1/payment_intents\",\"count\":1,\"mode\":\"drop\"}"));
    CHECK_INT(stripe_payment_intent_create(c, NULL, 2500, "usd", "Entry", 3, NULL, "idem-retry-B",
                                           &pi, &err), STRIPE_OK);
    json_decref(pi);
    CHECK_INT(requests_with_key(&f, "/v1/payment_intents", "idem-retry-B"), 2);
    objs = fake_ctl(&f, "GET", "/_test/objects", NULL);
    CHECK_INT(json_integer_value(json_object_get(objs, "payment_intents")), 1);
    json_decref(objs);

    /* persistent 503: gives up after max_retries, every attempt with the same key */
    json_decref(fake_ctl(&f, "POST", "/_test/reset", NULL));
    json_decref(fake_ctl(&f, "POST", "/_test/fail",
                         "{\"path\":\"/v1/payment_intents\",\"count\":10,\"status\":503,\"mode\":\"before\"}"));
    CHECK_INT(stripe_payment_intent_create(c, NULL, 2500, "usd", "Entry", 3, NULL, "idem-retry-C",
                                           &pi, &err), STRIPE_ERR_UNAVAILABLE);
    CHECK_INT(err.attempts, 3);
    CHECK_INT(requests_with_key(&f, "/v1/payment_intents", "idem-retry-C"), 3);
    stripe_client_free(c);

    /* timeout: a slow peer is abandoned and retried, the key stays the same */
    json_decref(fake_ctl(&f, "POST", "/_test/reset", NULL));
    json_decref(fake_ctl(&f, "POST", "/_test/fail",
                         "{\"path\":\"/v1/payment_intents\",\"count\":1,\"mode\":\"slow\",\"delay\":1.0}"));
    c = client_for(&f, KEY, 300);
    CHECK_INT(stripe_payment_intent_create(c, NULL, 2500, "usd", "Entry", 3, NULL, "idem-retry-D",
                                           &pi, &err), STRIPE_OK);
    CHECK(err.attempts >= 2);
    json_decref(pi);
    CHECK(requests_with_key(&f, "/v1/payment_intents", "idem-retry-D") >= 2);
    stripe_client_free(c);
    fake_stop(&f);
}

TEST(billing_stripe_metadata_validate)
{
    char err[128];
    json_t *ok = json_pack("{s:s, s:i, s:b}", "event", "x", "n", 5, "flag", 1);
    CHECK_INT(billing_metadata_validate(ok, err, sizeof err), 0);
    CHECK_INT(billing_metadata_validate(NULL, err, sizeof err), 0);
    json_decref(ok);
    const char *bad[] = {"[1]", "\"s\"", "{\"user_id\":\"7\"}", "{\"a b\":\"x\"}", "{\"\":\"x\"}",
                         "{\"k\":{\"nested\":1}}", "{\"k\":[1]}", "{\"k\":null}",
                         "{\"a\":1,\"b\":1,\"c\":1,\"d\":1,\"e\":1,\"f\":1,\"g\":1,\"h\":1,\"i\":1,\"j\":1,\"k\":1}"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        json_t *v = json_loads(bad[i], JSON_DECODE_ANY, NULL);
        if (billing_metadata_validate(v, err, sizeof err) == 0)
            test_fail(__FILE__, __LINE__, "accepted metadata %s", bad[i]);
        json_decref(v);
    }
    buf_t big = {0};
    buf_puts(&big, "{\"k\":\"");
    for (int i = 0; i < 501; i++) buf_putc(&big, 'x');
    buf_puts(&big, "\"}");
    json_t *v = json_loads(big.data, 0, NULL);
    CHECK_INT(billing_metadata_validate(v, err, sizeof err), -1);
    json_decref(v);
    buf_free(&big);
}

TEST(billing_stripe_hostile_responses)
{
    fake_t f;
    REQUIRE(fake_start(&f) == 0);
    stripe_config_t cfg = {.api_base = f.base, .secret_key = KEY, .timeout_ms = 5000, .max_retries = 0};
    stripe_client_t *c = stripe_client_new(&cfg);
    const char *modes[] = {"garbage", "huge", "truncated"};
    for (int i = 0; i < 3; i++) {
        char ctl[160];
        snprintf(ctl, sizeof ctl, "{\"path\":\"/v1/payment_intents\",\"count\":1,\"mode\":\"%s\"}", modes[i]);
        json_decref(fake_ctl(&f, "POST", "/_test/fail", ctl));
        json_t *pi = (json_t *)1;
        stripe_error_t err;
        int rc = stripe_payment_intent_create(c, NULL, 1000, "usd", "x", 1, NULL, "k-hostile", &pi, &err);
        if (rc != STRIPE_ERR_UNAVAILABLE) test_fail(__FILE__, __LINE__, "mode %s -> rc %d", modes[i], rc);
        CHECK(pi == NULL);
        CHECK(err.message[0] != 0);
    }
    stripe_client_free(c);
    fake_stop(&f);
}
