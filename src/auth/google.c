/* google.c — JWKS fetching/caching and Google ID token checks. */
#include "auth/google.h"
#include "auth/jwt.h"
#include "core/buf.h"
#include "core/log.h"
#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define JWKS_MAX_BYTES (256 * 1024)
#define JWKS_DEFAULT_TTL 3600
#define JWKS_MIN_REFETCH_S 2     /* bounds refetches caused by tokens with unknown kids */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static json_t *jwks_keys;        /* array of JWK objects */
static int64_t jwks_expires;     /* unix seconds */
static int64_t jwks_fetched;

typedef struct { buf_t body; long max_age; } fetch_t;

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
    fetch_t *f = ud;
    if (f->body.len + sz * n > JWKS_MAX_BYTES) return 0;
    buf_append(&f->body, p, sz * n);
    return sz * n;
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud)
{
    fetch_t *f = ud;
    size_t len = sz * n;
    if (len > 14 && !strncasecmp(p, "cache-control:", 14)) {
        char line[512];
        size_t m = len < sizeof line - 1 ? len : sizeof line - 1;
        memcpy(line, p, m);
        line[m] = 0;
        char *ma = strcasestr(line, "max-age=");
        if (ma) f->max_age = strtol(ma + 8, NULL, 10);
    }
    return len;
}

/* Fetches the key set; caller holds mu. */
static int jwks_fetch(const char *url, int64_t now_s)
{
    fetch_t f = {{0}, -1};
    CURL *c = curl_easy_init();
    if (!c) return -1;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &f);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &f);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 5L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    jwks_fetched = now_s;
    if (rc != CURLE_OK || status != 200) {
        log_warn("google: JWKS fetch failed (%s, HTTP %ld)", curl_easy_strerror(rc), status);
        buf_free(&f.body);
        return -1;
    }
    json_t *doc = json_loadb(f.body.data ? f.body.data : "", f.body.len, 0, NULL);
    buf_free(&f.body);
    json_t *keys = json_object_get(doc, "keys");
    if (!json_is_array(keys)) {
        log_warn("google: JWKS document has no keys array");
        json_decref(doc);
        return -1;
    }
    json_decref(jwks_keys);
    jwks_keys = json_incref(keys);
    jwks_expires = now_s + (f.max_age > 0 ? f.max_age : JWKS_DEFAULT_TTL);
    json_decref(doc);
    return 0;
}

/* Copies n/e of the RS256 key with this kid; caller holds mu. */
static int jwks_find(const char *kid, char **n, char **e)
{
    size_t i;
    json_t *k;
    json_array_foreach(jwks_keys, i, k) {
        const char *id = json_string_value(json_object_get(k, "kid"));
        const char *kty = json_string_value(json_object_get(k, "kty"));
        const char *kn = json_string_value(json_object_get(k, "n"));
        const char *ke = json_string_value(json_object_get(k, "e"));
        if (id && kty && kn && ke && !strcmp(id, kid) && !strcmp(kty, "RSA")) {
            *n = strdup(kn);
            *e = strdup(ke);
            return 0;
        }
    }
    return -1;
}

void google_jwks_reset(void)
{
    pthread_mutex_lock(&mu);
    json_decref(jwks_keys);
    jwks_keys = NULL;
    jwks_expires = jwks_fetched = 0;
    pthread_mutex_unlock(&mu);
}

int google_verify_id_token(const char *token, const char *client_id, const char *jwks_url,
                           int64_t now_s, json_t **claims, const char **why)
{
    json_t *h = NULL, *c = NULL;
    *why = "invalid Google ID token";
    if (jwt_decode_unverified(token, &h, &c) != JWT_OK) return -1;
    json_decref(c);
    const char *kid = json_string_value(json_object_get(h, "kid"));
    char *n = NULL, *e = NULL;
    int found = -1;
    if (kid) {
        pthread_mutex_lock(&mu);
        if (!jwks_keys || now_s >= jwks_expires) jwks_fetch(jwks_url, now_s);
        found = jwks_keys ? jwks_find(kid, &n, &e) : -1;
        if (found && now_s - jwks_fetched >= JWKS_MIN_REFETCH_S && jwks_fetch(jwks_url, now_s) == 0)
            found = jwks_find(kid, &n, &e);
        pthread_mutex_unlock(&mu);
    }
    json_decref(h);
    if (found) { *why = "Google ID token signed by an unknown key"; return -1; }
    enum jwt_err err = jwt_verify_rs256(token, n, e, now_s, &c);
    free(n);
    free(e);
    if (err) { *why = err == JWT_EXPIRED ? "Google ID token expired" : "invalid Google ID token signature"; return -1; }
    const char *aud = json_string_value(json_object_get(c, "aud"));
    const char *iss = json_string_value(json_object_get(c, "iss"));
    const char *sub = json_string_value(json_object_get(c, "sub"));
    const char *email = json_string_value(json_object_get(c, "email"));
    json_t *ev = json_object_get(c, "email_verified");
    int verified = json_is_true(ev) || (json_is_string(ev) && !strcmp(json_string_value(ev), "true"));
    if (!aud || strcmp(aud, client_id)) *why = "Google ID token is for another client";
    else if (!iss || (strcmp(iss, "accounts.google.com") && strcmp(iss, "https://accounts.google.com")))
        *why = "Google ID token has the wrong issuer";
    else if (!sub || !*sub || !email) *why = "Google ID token lacks subject or email";
    else if (!verified) *why = "Google account email is not verified";
    else { *claims = c; return 0; }
    json_decref(c);
    return -1;
}
