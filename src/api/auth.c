/* auth.c — accounts and sessions: register, login, refresh (rotating), logout, me, and
 * Google sign-in. Identity always comes from a verified credential, never from the body.
 *
 * argon2 costs ~20-40 ms of CPU per register/login; on an HTTP thread it would stall every
 * connection that thread owns. So those two validate their body on the server thread and
 * hand the hashing (and the store work after it) to a small worker pool, answering through
 * a deferred response (http_resp_defer, as recognition does): AUTH_WORKERS threads (default
 * the CPU count; 0 = on the server thread), a queue of AUTH_QUEUE requests (default 64;
 * beyond it 503 auth_busy with Retry-After). */
#include "api/api.h"
#include "api/validate.h"
#include "auth/google.h"
#include "auth/password.h"
#include "auth/tokens.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/log.h"
#include "core/str.h"
#include "core/timeutil.h"
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include "recog/pool.h"   /* the generic bounded worker pool recognition also uses */

#define EMAIL_MAX 254

static recog_pool_t *auth_workers;   /* NULL: hashing runs on the server threads */

/* Trims and lower-cases into out; returns false unless it looks like local@domain.tld. */
static bool email_normalize(const char *in, char *out, size_t cap)
{
    size_t n = strlen(in);
    while (n && isspace((unsigned char)in[n - 1])) n--;
    while (n && isspace((unsigned char)*in)) { in++; n--; }
    if (n == 0 || n > EMAIL_MAX || n >= cap) return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c <= ' ' || c == 0x7f || c == '<' || c == '>' || c == '"' || c == ',' || c == ';')
            return false;
        out[i] = (char)tolower(c);
    }
    out[n] = 0;
    const char *at = strchr(out, '@');
    if (!at || at == out || strchr(at + 1, '@')) return false;
    const char *dot = strrchr(at + 1, '.');
    return dot && dot > at + 1 && dot[1] != 0;
}

/* Creates a session and answers {access_token, token_type, refresh_token, expires_in, user}. */
static void respond_session(http_resp_t *resp, int status, int64_t user_id, int64_t session_id,
                            const char *refresh)
{
    json_t *user = NULL;
    int rc = store_user_get(g_api.store, user_id, &user);
    if (rc != STORE_OK) { api_store_error(resp, rc, "User"); return; }
    int64_t now = time_now_us() / 1000000;
    char *access = tokens_access_issue(user_id, session_id,
                                       json_string_value(json_object_get(user, "email")), now,
                                       g_config.access_token_ttl_s);
    json_t *body = json_pack("{s:s, s:s, s:s, s:i, s:o}", "access_token", access, "token_type",
                             "bearer", "refresh_token", refresh, "expires_in",
                             g_config.access_token_ttl_s, "user", user);
    free(access);
    http_resp_json(resp, status, body);
}

static void start_session(http_resp_t *resp, int status, int64_t user_id)
{
    char hash[TOKEN_HASH_HEX];
    char *refresh = tokens_refresh_new(hash);
    int64_t sid = 0;
    int64_t expires = time_now_us() + (int64_t)g_config.refresh_token_ttl_s * 1000000;
    int rc = refresh ? store_session_create(g_api.store, user_id, hash, expires, &sid) : STORE_ERROR;
    if (rc == STORE_OK) respond_session(resp, status, user_id, sid, refresh);
    else api_store_error(resp, rc, "Session");
    free(refresh);
}

/* One register or login, everything after body validation: owned copies of the fields,
 * so it can outlive the request's parsed body on a worker. */
typedef struct {
    http_deferred_t *d;
    bool register_op;
    bool email_ok;                 /* login: the email parsed (else only the time is spent) */
    char email[EMAIL_MAX + 1];
    char *password;                /* wiped before it is freed */
    char *full_name;
} auth_job_t;

static void auth_job_free(auth_job_t *j)
{
    if (j->password) {
        volatile char *p = j->password;
        while (*p) *p++ = 0;
        free(j->password);
    }
    free(j->full_name);
    free(j);
}

static void register_finish(http_resp_t *resp, const auth_job_t *j)
{
    char *hash = password_hash(j->password);
    if (!hash) { http_resp_error(resp, 500, "internal_error", "Could not hash the password"); return; }
    store_new_user_t u = {.email = j->email, .password_hash = hash, .full_name = j->full_name};
    int64_t id;
    int rc = store_user_create(g_api.store, &u, &id);
    free(hash);
    if (rc == STORE_CONFLICT)
        http_resp_error(resp, 409, "email_taken", "An account with this email already exists");
    else if (rc != STORE_OK) api_store_error(resp, rc, "User");
    else start_session(resp, 201, id);
}

static void login_finish(http_resp_t *resp, const auth_job_t *j)
{
    int64_t id = 0;
    char *hash = NULL;
    bool active = false;
    int rc = j->email_ok ? store_user_auth_by_email(g_api.store, j->email, &id, &hash, &active) : STORE_NOT_FOUND;
    if (rc == STORE_ERROR) { api_store_error(resp, rc, "User"); return; }
    /* Unknown emails and OAuth-only accounts spend the same hashing time. */
    bool ok = password_verify(hash ? hash : password_dummy_hash(), j->password) && rc == STORE_OK && hash;
    free(hash);
    if (!ok) http_resp_error(resp, 401, "invalid_credentials", "Incorrect email or password");
    else if (!active) http_resp_error(resp, 403, "account_disabled", "This account is disabled");
    else start_session(resp, 200, id);
}

static void auth_run(auth_job_t *j, http_resp_t *resp)
{
    if (j->register_op) register_finish(resp, j);
    else login_finish(resp, j);
}

static void auth_job_main(void *arg)
{
    auth_job_t *j = arg;
    auth_run(j, http_deferred_resp(j->d));
    http_deferred_done(j->d);
    auth_job_free(j);
}

/* Runs j on a worker (the connection suspended meanwhile) or, without workers, here.
 * Takes ownership of j. */
static void auth_dispatch(http_resp_t *resp, auth_job_t *j)
{
    http_deferred_t *d = auth_workers ? http_resp_defer(resp) : NULL;
    if (!d) {
        auth_run(j, resp);
        auth_job_free(j);
        return;
    }
    j->d = d;
    if (recog_pool_submit(auth_workers, auth_job_main, j) != 0) {
        http_resp_t *dr = http_deferred_resp(d);
        http_resp_header(dr, "Retry-After", "1");
        http_resp_error(dr, 503, "auth_busy", "Too many sign-ins in progress; try again shortly");
        http_deferred_done(d);
        auth_job_free(j);
    }
}

int api_auth_init(void)
{
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    int n = (int)api_env_int("AUTH_WORKERS", ncpu > 0 ? (ncpu < 8 ? ncpu : 8) : 2, 0, 64);
    if (n > 0) {
        auth_workers = recog_pool_new(n, (int)api_env_int("AUTH_QUEUE", 64, 1, 100000));
        if (!auth_workers) log_warn("auth: no worker threads; password hashing runs on the server threads");
    }
    return 0;
}

void api_auth_quiesce(void)
{
    recog_pool_free(auth_workers);   /* the server drained first; queued sign-ins finish */
    auth_workers = NULL;
}

void api_auth_register(http_req_t *req, http_resp_t *resp)
{
    json_t *body = http_req_json(req, resp);
    if (!body) return;
    const char *email_in, *password, *full_name;
    char email[EMAIL_MAX + 1];
    if (!field_str(resp, body, "email", true, EMAIL_MAX, &email_in) ||
        !field_str(resp, body, "password", true, 1024, &password) ||
        !field_str(resp, body, "full_name", false, 255, &full_name))
        goto out;
    if (!email_normalize(email_in, email, sizeof email)) {
        http_resp_error(resp, 422, "validation_error", "email: not a valid email address");
        goto out;
    }
    const char *weak = password_weakness(password, email);
    if (weak) { http_resp_error(resp, 422, "weak_password", "password: %s", weak); goto out; }
    auth_job_t *j = xcalloc(1, sizeof *j);
    j->register_op = true;
    memcpy(j->email, email, sizeof email);
    j->password = xstrdup(password);
    j->full_name = full_name ? xstrdup(full_name) : NULL;
    auth_dispatch(resp, j);
out:
    json_decref(body);
}

void api_auth_login(http_req_t *req, http_resp_t *resp)
{
    json_t *body = http_req_json(req, resp);
    if (!body) return;
    const char *email_in, *password;
    if (!field_str(resp, body, "email", true, EMAIL_MAX, &email_in) ||
        !field_str(resp, body, "password", true, 1024, &password))
        goto out;
    auth_job_t *j = xcalloc(1, sizeof *j);
    j->email_ok = email_normalize(email_in, j->email, sizeof j->email);
    j->password = xstrdup(password);
    auth_dispatch(resp, j);
out:
    json_decref(body);
}

void api_auth_refresh(http_req_t *req, http_resp_t *resp)
{
    json_t *body = http_req_json(req, resp);
    if (!body) return;
    const char *old;
    if (!field_str(resp, body, "refresh_token", true, 256, &old)) goto out;
    char old_hash[TOKEN_HASH_HEX], new_hash[TOKEN_HASH_HEX];
    tokens_refresh_hash(old, old_hash);
    char *fresh = tokens_refresh_new(new_hash);
    int64_t uid = 0, sid = 0;
    int64_t expires = time_now_us() + (int64_t)g_config.refresh_token_ttl_s * 1000000;
    int rc = store_session_rotate(g_api.store, old_hash, new_hash, expires, &uid, &sid);
    if (rc == STORE_OK) respond_session(resp, 200, uid, sid, fresh);
    else if (rc == STORE_CONFLICT)
        http_resp_error(resp, 401, "refresh_token_reused",
                        "Refresh token was already used; the session has been revoked");
    else if (rc == STORE_NOT_FOUND)
        http_resp_error(resp, 401, "invalid_refresh_token", "Refresh token is invalid or expired");
    else api_store_error(resp, rc, "Session");
    free(fresh);
out:
    json_decref(body);
}

void api_auth_logout(http_req_t *req, http_resp_t *resp)
{
    /* The session id is in the (already verified) access token. */
    const char *auth = http_req_header(req, "Authorization");
    int64_t uid, sid;
    if (!auth || strncasecmp(auth, "Bearer ", 7) ||
        tokens_access_verify(auth + 7, time_now_us() / 1000000, &uid, &sid) != 0) {
        http_resp_error(resp, 401, "unauthorized", "Could not validate credentials");
        return;
    }
    int rc = store_session_revoke(g_api.store, http_req_principal(req)->user_id, sid);
    if (rc != STORE_OK && rc != STORE_NOT_FOUND) { api_store_error(resp, rc, "Session"); return; }
    http_resp_json(resp, 200, json_pack("{s:s}", "status", "success"));
}

void api_auth_me(http_req_t *req, http_resp_t *resp)
{
    json_t *user = NULL;
    int rc = store_user_get(g_api.store, http_req_principal(req)->user_id, &user);
    if (rc != STORE_OK) { api_store_error(resp, rc, "User"); return; }
    http_resp_json(resp, 200, user);
}

void api_auth_google(http_req_t *req, http_resp_t *resp)
{
    if (!g_config.google_client_id || !*g_config.google_client_id) {
        http_resp_error(resp, 503, "google_not_configured",
                        "Google sign-in is not configured on this server (GOOGLE_CLIENT_ID)");
        return;
    }
    /* The original clients send ?token=...; the documented form is a JSON body. */
    const char *token = http_req_query(req, "token");
    json_t *body = NULL;
    size_t blen = 0;
    http_req_body(req, &blen);
    if (!token || blen) {
        if (!(body = http_req_json(req, resp))) return;
        if (!field_str(resp, body, "token", true, 8192, &token)) goto out;
    }
    json_t *claims = NULL;
    const char *why = NULL;
    if (google_verify_id_token(token, g_config.google_client_id, g_config.google_jwks_url,
                               time_now_us() / 1000000, &claims, &why) != 0) {
        http_resp_error(resp, 401, "invalid_google_token", "%s", why);
        goto out;
    }
    const char *sub = json_string_value(json_object_get(claims, "sub"));
    const char *name = json_string_value(json_object_get(claims, "name"));
    char email[EMAIL_MAX + 1];
    int64_t id;
    int rc = store_user_by_oauth(g_api.store, "google", sub, &id);
    if (rc == STORE_NOT_FOUND) {
        if (!email_normalize(json_string_value(json_object_get(claims, "email")), email, sizeof email)) {
            http_resp_error(resp, 422, "validation_error", "Google account has no usable email");
            json_decref(claims);
            goto out;
        }
        store_new_user_t u = {.email = email, .full_name = name, .oauth_provider = "google",
                              .oauth_id = sub};
        rc = store_user_create(g_api.store, &u, &id);
        if (rc == STORE_CONFLICT) {
            /* Never attach a new identity to an existing account by email alone. */
            http_resp_error(resp, 409, "email_taken",
                            "An account with this email already exists; sign in with its password");
            json_decref(claims);
            goto out;
        }
    }
    json_decref(claims);
    if (rc != STORE_OK) { api_store_error(resp, rc, "User"); goto out; }
    start_session(resp, 200, id);
out:
    json_decref(body);
}
