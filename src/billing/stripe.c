/* stripe.c — Stripe API client: form encoding, auth, idempotent retries, error mapping.
 * See stripe.h for the retry and secrecy rules. */
#include "billing/stripe.h"
#include "core/buf.h"
#include "core/log.h"
#include <ctype.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STRIPE_API_VERSION "2023-10-16"
#define STRIPE_MAX_RESPONSE (4u << 20)

struct stripe_client {
    char *api_base;
    char *secret_key;
    char *auth_header;
    int connect_timeout_ms, timeout_ms, max_retries, retry_base_ms;
};

/* ---- parameters ---- */
void stripe_params_add(stripe_params_t *p, const char *key, const char *value)
{
    if (p->n == p->cap) {
        p->cap = p->cap ? 2 * p->cap : 8;
        p->keys = xrealloc(p->keys, p->cap * sizeof *p->keys);
        p->values = xrealloc(p->values, p->cap * sizeof *p->values);
    }
    p->keys[p->n] = xstrdup(key);
    p->values[p->n] = xstrdup(value ? value : "");
    p->n++;
}

void stripe_params_addf(stripe_params_t *p, const char *key, const char *fmt, ...)
{
    buf_t b = {0};
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&b, fmt, ap);
    va_end(ap);
    stripe_params_add(p, key, b.data ? b.data : "");
    buf_free(&b);
}

void stripe_params_free(stripe_params_t *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->keys[i]);
        free(p->values[i]);
    }
    free(p->keys);
    free(p->values);
    memset(p, 0, sizeof *p);
}

static void form_escape(buf_t *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (isalnum(*c) || *c == '-' || *c == '_' || *c == '.' || *c == '~') {
            buf_putc(b, (char)*c);
        } else {
            char e[3] = {'%', hex[*c >> 4], hex[*c & 15]};
            buf_append(b, e, 3);
        }
    }
}

char *stripe_params_encode(const stripe_params_t *p)
{
    buf_t b = {0};
    for (size_t i = 0; p && i < p->n; i++) {
        if (i) buf_putc(&b, '&');
        form_escape(&b, p->keys[i]);
        buf_putc(&b, '=');
        form_escape(&b, p->values[i]);
    }
    return buf_steal(&b);
}

/* ---- masking ---- */
void stripe_mask_secrets(char *s, const char *key)
{
    if (!s) return;
    size_t klen = key ? strlen(key) : 0;
    char *w = s;
    for (const char *r = s; *r;) {
        bool at_word = r == s || !(isalnum((unsigned char)r[-1]) || r[-1] == '_');
        bool is_key = klen >= 8 && !strncmp(r, key, klen);
        bool is_prefix = at_word && (!strncmp(r, "sk_", 3) || !strncmp(r, "rk_", 3) ||
                                     !strncmp(r, "pk_", 3));
        if (is_key || is_prefix) {
            const char *e = is_key ? r + klen : r + 3;
            while (isalnum((unsigned char)*e) || *e == '_' || *e == '*') e++;
            /* the replacement (6 bytes) is never longer than what it replaces unless the
             * match was shorter; keep such short matches as they are */
            if (e - r >= 6) {
                memcpy(w, "sk_***", 6);
                w += 6;
                r = e;
                continue;
            }
        }
        *w++ = *r++;
    }
    *w = 0;
}

/* ---- client ---- */
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

stripe_client_t *stripe_client_new(const stripe_config_t *cfg)
{
    pthread_once(&curl_once, curl_init_once);
    stripe_client_t *c = xcalloc(1, sizeof *c);
    const char *base = cfg->api_base && *cfg->api_base ? cfg->api_base : "https://api.stripe.com";
    size_t blen = strlen(base);
    while (blen > 0 && base[blen - 1] == '/') blen--;
    c->api_base = xstrndup(base, blen);
    if (cfg->secret_key && *cfg->secret_key) {
        c->secret_key = xstrdup(cfg->secret_key);
        buf_t b = {0};
        buf_printf(&b, "Authorization: Bearer %s", cfg->secret_key);
        c->auth_header = buf_steal(&b);
    }
    c->connect_timeout_ms = cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms : 3000;
    c->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 20000;
    c->max_retries = cfg->max_retries >= 0 ? cfg->max_retries : 2;
    if (c->max_retries > 5) c->max_retries = 5;
    c->retry_base_ms = cfg->retry_base_ms > 0 ? cfg->retry_base_ms : 250;
    return c;
}

void stripe_client_free(stripe_client_t *c)
{
    if (!c) return;
    free(c->api_base);
    if (c->secret_key) memset(c->secret_key, 0, strlen(c->secret_key));
    if (c->auth_header) memset(c->auth_header, 0, strlen(c->auth_header));
    free(c->secret_key);
    free(c->auth_header);
    free(c);
}

typedef struct {
    buf_t body;
    bool  too_big;
    int   should_retry;          /* Stripe-Should-Retry: -1 absent, 0 false, 1 true */
} response_t;

static size_t on_body(char *data, size_t size, size_t n, void *ud)
{
    response_t *r = ud;
    size_t len = size * n;
    if (r->body.len + len > STRIPE_MAX_RESPONSE) {
        r->too_big = true;
        return 0;
    }
    buf_append(&r->body, data, len);
    return len;
}

static size_t on_header(char *data, size_t size, size_t n, void *ud)
{
    response_t *r = ud;
    size_t len = size * n;
    static const char name[] = "stripe-should-retry:";
    if (len > sizeof name - 1 && !strncasecmp(data, name, sizeof name - 1)) {
        const char *v = data + sizeof name - 1;
        while (*v == ' ') v++;
        r->should_retry = !strncasecmp(v, "true", 4) ? 1 : 0;
    }
    return len;
}

static void set_err(stripe_error_t *err, int status, const char *type, const char *code,
                    const char *param, const char *msg, const char *key)
{
    err->http_status = status;
    snprintf(err->type, sizeof err->type, "%s", type ? type : "");
    snprintf(err->code, sizeof err->code, "%s", code ? code : "");
    snprintf(err->param, sizeof err->param, "%s", param ? param : "");
    snprintf(err->message, sizeof err->message, "%s", msg ? msg : "");
    stripe_mask_secrets(err->message, key);
    stripe_mask_secrets(err->param, key);
    stripe_mask_secrets(err->code, key);
}

/* Performs one HTTP exchange; returns the status (0 = no response) and fills r. */
static long stripe_once(stripe_client_t *c, const char *method, const char *url,
                        const char *form, const char *idem, response_t *r, char *cerr)
{
    CURL *h = curl_easy_init();
    if (!h) {
        snprintf(cerr, CURL_ERROR_SIZE, "curl_easy_init failed");
        return 0;
    }
    struct curl_slist *hdrs = NULL;
    hdrs = curl_slist_append(hdrs, c->auth_header);
    hdrs = curl_slist_append(hdrs, "Stripe-Version: " STRIPE_API_VERSION);
    hdrs = curl_slist_append(hdrs, "Accept: application/json");
    hdrs = curl_slist_append(hdrs, "Expect:");
    buf_t idem_h = {0};
    if (idem) {
        buf_printf(&idem_h, "Idempotency-Key: %s", idem);
        hdrs = curl_slist_append(hdrs, idem_h.data);
    }
    if (!strcmp(method, "POST")) {
        hdrs = curl_slist_append(hdrs, "Content-Type: application/x-www-form-urlencoded");
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, form);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(form));
    } else if (strcmp(method, "GET")) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "rodeo/" RODEO_VERSION);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)c->connect_timeout_ms);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)c->timeout_ms);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
    cerr[0] = 0;
    long status = 0;
    CURLcode rc = curl_easy_perform(h);
    if (rc == CURLE_OK) curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    else if (!cerr[0]) snprintf(cerr, CURL_ERROR_SIZE, "%s", curl_easy_strerror(rc));
    curl_slist_free_all(hdrs);
    buf_free(&idem_h);
    curl_easy_cleanup(h);
    return status;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {}
}

int stripe_request(stripe_client_t *c, const char *method, const char *path,
                   const stripe_params_t *params, const char *idempotency_key, json_t **out,
                   stripe_error_t *err)
{
    *out = NULL;
    memset(err, 0, sizeof *err);
    if (!c || !c->secret_key) {
        set_err(err, 0, "configuration", "not_configured", NULL,
                "payments are not configured on this server", NULL);
        return STRIPE_ERR_CONFIG;
    }
    bool is_post = !strcmp(method, "POST");
    if (is_post && (!idempotency_key || !*idempotency_key)) {
        set_err(err, 0, "configuration", "idempotency_key_missing", NULL,
                "internal error: POST without an idempotency key", NULL);
        return STRIPE_ERR_CONFIG;
    }
    char *form = stripe_params_encode(params);
    buf_t url = {0};
    buf_printf(&url, "%s%s", c->api_base, path);
    if (!is_post && form[0]) buf_printf(&url, "?%s", form);

    int result = STRIPE_ERR_UNAVAILABLE;
    for (int attempt = 0;; attempt++) {
        response_t r = {.should_retry = -1};
        char cerr[CURL_ERROR_SIZE];
        long status = stripe_once(c, method, url.data, form, is_post ? idempotency_key : NULL,
                                  &r, cerr);
        err->attempts = attempt + 1;
        bool retry;
        if (status == 0) {
            set_err(err, 0, "api_connection_error", "", NULL,
                    r.too_big ? "payment provider response too large" : cerr, c->secret_key);
            retry = !r.too_big;
        } else {
            json_error_t je;
            json_t *doc = json_loadb(r.body.data ? r.body.data : "", r.body.len, 0, &je);
            if (status >= 200 && status < 300 && json_is_object(doc)) {
                *out = doc;
                buf_free(&r.body);
                result = STRIPE_OK;
                break;
            }
            json_t *e = json_object_get(doc, "error");
            set_err(err, (int)status, json_string_value(json_object_get(e, "type")),
                    json_string_value(json_object_get(e, "code")),
                    json_string_value(json_object_get(e, "param")),
                    json_is_string(json_object_get(e, "message"))
                        ? json_string_value(json_object_get(e, "message"))
                        : (status >= 200 && status < 300 ? "malformed response from payment provider"
                                                         : "payment provider error"),
                    c->secret_key);
            json_decref(doc);
            if (status == 401 || status == 403) {
                result = STRIPE_ERR_AUTH;
                retry = false;
            } else if (status == 409 || status == 429 || status >= 500) {
                result = STRIPE_ERR_UNAVAILABLE;
                retry = r.should_retry != 0;
            } else if (status >= 200 && status < 300) {
                result = STRIPE_ERR_UNAVAILABLE;   /* 2xx without a JSON object */
                retry = false;
            } else {
                result = r.should_retry == 1 ? STRIPE_ERR_UNAVAILABLE : STRIPE_ERR_REQUEST;
                retry = r.should_retry == 1;
            }
        }
        buf_free(&r.body);
        if (!retry || attempt >= c->max_retries) {
            if (status == 0) result = STRIPE_ERR_UNAVAILABLE;
            break;
        }
        log_warn("stripe: %s %s failed (status %ld, %s), retrying with the same idempotency key",
                 method, path, status, err->message);
        sleep_ms(c->retry_base_ms << attempt);
    }
    free(form);
    buf_free(&url);
    return result;
}
