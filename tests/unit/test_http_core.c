/* test_http_core.c — the HTTP layer end to end over loopback: routing precedence, params,
 * 404/405/307, the JSON error shape, body caps, JSON parsing, auth levels, rate limits,
 * X-Forwarded-For, CORS, request ids. */
#include "test.h"
#include "http_testlib.h"
#include "http/http.h"
#include "kv/kv.h"
#include "core/log.h"
#include <jansson.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static void h_health(http_req_t *req, http_resp_t *resp)
{
    (void)req;
    http_resp_json(resp, 200, json_pack("{s:s}", "status", "ok"));
}

static void h_search(http_req_t *req, http_resp_t *resp)
{
    const char *q = http_req_query(req, "q");
    http_resp_json(resp, 200, json_pack("{s:s, s:s?}", "which", "search", "q", q));
}

static void h_conv(http_req_t *req, http_resp_t *resp)
{
    http_resp_json(resp, 200, json_pack("{s:s, s:s, s:s}", "which", "id", "id",
                                        http_req_param(req, "id"), "method", http_req_method(req)));
}

static void h_two(http_req_t *req, http_resp_t *resp)
{
    http_resp_json(resp, 200, json_pack("{s:s, s:s}", "a", http_req_param(req, "a"), "b",
                                        http_req_param(req, "b")));
}

static void h_echo(http_req_t *req, http_resp_t *resp)
{
    json_t *j = http_req_json(req, resp);
    if (!j) return;
    http_resp_json(resp, 201, j);
}

static void h_raw(http_req_t *req, http_resp_t *resp)
{
    size_t len;
    const char *b = http_req_body(req, &len);
    http_resp_header(resp, "X-Len", len ? "nonzero" : "zero");
    http_resp_bytes(resp, 200, "application/octet-stream", b, len);
}

static void h_whoami(http_req_t *req, http_resp_t *resp)
{
    const http_principal_t *p = http_req_principal(req);
    char *scratch = http_req_alloc(req, 64);
    snprintf(scratch, 64, "ip=%s", http_req_client_ip(req));
    http_resp_json(resp, 200, json_pack("{s:I, s:b, s:s?, s:s}", "user_id", (json_int_t)p->user_id,
                                        "is_admin", p->is_admin, "email", p->email, "ip", scratch));
}

static void h_nothing(http_req_t *req, http_resp_t *resp) { (void)req; (void)resp; }

static void h_twice(http_req_t *req, http_resp_t *resp)
{
    (void)req;
    http_resp_error(resp, 409, "conflict", "first %d", 1);
    http_resp_json(resp, 200, json_pack("{s:s}", "second", "yes"));
}

static void h_rest(http_req_t *req, http_resp_t *resp)
{
    const char *p = http_req_param(req, "path");
    http_resp_json(resp, 200, json_pack("{s:s, s:s, s:b}", "which", "rest", "path", p, "safe",
                                        http_path_is_safe(p)));
}

static const http_route_t routes[] = {
    {"GET", "/health", h_health, HTTP_AUTH_NONE, 0, 0},
    {"GET", "/api/conversations/{id}", h_conv, HTTP_AUTH_NONE, 0, 0},
    {"PATCH", "/api/conversations/{id}", h_conv, HTTP_AUTH_NONE, 0, 0},
    {"GET", "/api/conversations/search", h_search, HTTP_AUTH_NONE, 0, 0},
    {"GET", "/api/things/{a}/sub/{b}", h_two, HTTP_AUTH_NONE, 0, 0},
    {"GET", "/api/things/x/sub/{b}", h_search, HTTP_AUTH_NONE, 0, 0},
    {"POST", "/api/echo", h_echo, HTTP_AUTH_NONE, 0, 0},
    {"POST", "/api/raw", h_raw, HTTP_AUTH_NONE, 0, HTTP_ROUTE_RAW_BODY},
    {"GET", "/api/me", h_whoami, HTTP_AUTH_REQUIRED, 0, 0},
    {"GET", "/api/opt", h_whoami, HTTP_AUTH_OPTIONAL, 0, 0},
    {"GET", "/api/admin", h_whoami, HTTP_AUTH_ADMIN, 0, 0},
    {"GET", "/api/open", h_whoami, HTTP_AUTH_NONE, 0, 0},
    {"GET", "/api/limited", h_whoami, HTTP_AUTH_OPTIONAL, 3, 0},
    {"POST", "/api/limited", h_whoami, HTTP_AUTH_OPTIONAL, 5, 0},
    {"GET", "/api/nothing", h_nothing, HTTP_AUTH_NONE, 0, 0},
    {"GET", "/api/twice", h_twice, HTTP_AUTH_NONE, 0, 0},
    {"GET", "/files/{path...}", h_rest, HTTP_AUTH_NONE, 0, 0},
    {"GET", "/files/index.html", h_health, HTTP_AUTH_NONE, 0, 0},
    {"GET", "/files/{id}", h_conv, HTTP_AUTH_NONE, 0, 0},
};
#define NROUTES (sizeof routes / sizeof *routes)

typedef struct { http_server_t *srv; kv_t *kv; int port; } fixture_t;

static int fx_start(fixture_t *f, http_config_t cfg)
{
    log_set_level(LOG_OFF);   /* the tests provoke warnings on purpose */
    char err[256] = "";
    f->kv = kv_open(NULL, err, sizeof err);
    cfg.kv = f->kv;
    f->srv = http_server_start(&cfg, routes, NROUTES, err, sizeof err);
    if (!f->srv) { printf("    start: %s\n", err); kv_close(f->kv); return -1; }
    f->port = http_server_port(f->srv);
    return 0;
}

static void fx_stop(fixture_t *f)
{
    http_server_stop(f->srv);
    kv_close(f->kv);
}

/* Parses r->body as JSON and returns field as a string (or NULL); caller frees. */
static char *jfield(hres_t *r, const char *field)
{
    json_t *j = json_loads(r->body.data ? r->body.data : "", 0, NULL);
    if (!j) return NULL;
    json_t *v = json_object_get(j, field);
    char *out = NULL;
    if (json_is_string(v)) out = strdup(json_string_value(v));
    else if (json_is_integer(v)) { out = malloc(32); snprintf(out, 32, "%lld", (long long)json_integer_value(v)); }
    else if (json_is_boolean(v)) out = strdup(json_is_true(v) ? "true" : "false");
    json_decref(j);
    return out;
}

#define CHECK_FIELD(r, field, want) do { char *_v = jfield((r), (field)); CHECK_STR(_v, (want)); free(_v); } while (0)

/* Every error body has exactly detail (string) and code (string). */
static void check_error_shape(hres_t *r, const char *code)
{
    json_t *j = json_loads(r->body.data ? r->body.data : "", 0, NULL);
    CHECK(j != NULL);
    if (!j) { printf("    body: %s\n", r->body.data); return; }
    CHECK(json_object_size(j) == 2);
    CHECK(json_is_string(json_object_get(j, "detail")));
    CHECK_STR(json_string_value(json_object_get(j, "code")), code);
    json_decref(j);
    CHECK_STR(hres_header(r, "Content-Type"), "application/json");
}

TEST(http_routing_precedence_and_params)
{
    fixture_t f;
    REQUIRE(fx_start(&f, htest_config()) == 0);
    hres_t r;
    hreq(f.port, "GET", "/health", NULL, NULL, 0, &r);
    CHECK_INT(r.status, 200);
    CHECK_STR(r.body.data, "{\"status\":\"ok\"}");
    hres_free(&r);

    hreq(f.port, "GET", "/api/conversations/search?q=rope%20horse", NULL, NULL, 0, &r);
    CHECK_INT(r.status, 200);
    CHECK_FIELD(&r, "which", "search");
    CHECK_FIELD(&r, "q", "rope horse");
    hres_free(&r);

    hreq(f.port, "GET", "/api/conversations/42", NULL, NULL, 0, &r);
    CHECK_FIELD(&r, "which", "id");
    CHECK_FIELD(&r, "id", "42");
    hres_free(&r);

    /* PATCH on the literal path falls to the parameter route with that method */
    hreq(f.port, "PATCH", "/api/conversations/search", NULL, NULL, 0, &r);
    CHECK_INT(r.status, 200);
    CHECK_FIELD(&r, "which", "id");
    CHECK_FIELD(&r, "method", "PATCH");
    hres_free(&r);

    hreq(f.port, "GET", "/api/things/one/sub/two", NULL, NULL, 0, &r);
    CHECK_FIELD(&r, "a", "one");
    CHECK_FIELD(&r, "b", "two");
    hres_free(&r);
    /* the literal "x" outranks {a} */
    hreq(f.port, "GET", "/api/things/x/sub/two", NULL, NULL, 0, &r);
    CHECK_FIELD(&r, "which", "search");
    hres_free(&r);
    /* percent-decoded parameter */
    hreq(f.port, "GET", "/api/conversations/a%20b", NULL, NULL, 0, &r);
    CHECK_FIELD(&r, "id", "a b");
    hres_free(&r);

    /* HEAD on a GET route: headers, no body */
    hreq(f.port, "HEAD", "/health", NULL, NULL, 0, &r);
    CHECK_INT(r.status, 200);
    CHECK_INT(r.body.len, 0);
    hres_free(&r);
    fx_stop(&f);
}

TEST(http_not_found_method_redirect)
{
    fixture_t f;
    REQUIRE(fx_start(&f, htest_config()) == 0);
    hres_t r;
    const char *paths[] = {"/nope", "/api/conversations", "/api/conversations/1/2", "/", "//health",
                           "/api/conversations//", "/health/x"};
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
        hreq(f.port, "GET", paths[i], NULL, NULL, 0, &r);
        CHECK_INT(r.status, 404);
        check_error_shape(&r, "not_found");
        hres_free(&r);
    }
    hreq(f.port, "DELETE", "/api/conversations/7", NULL, NULL, 0, &r);
    CHECK_INT(r.status, 405);
    check_error_shape(&r, "method_not_allowed");
    CHECK_STR(hres_header(&r, "Allow"), "GET, HEAD, PATCH, OPTIONS");
    hres_free(&r);
    hreq(f.port, "POST", "/health", NULL, "{}", 2, &r);
    CHECK_INT(r.status, 405);
    hres_free(&r);

    hreq(f.port, "POST", "/api/echo/?x=1&y=%20", NULL, "{}", 2, &r);
    CHECK_INT(r.status, 307);
    CHECK_STR(hres_header(&r, "Location"), "/api/echo?x=1&y=%20");
    hres_free(&r);
    hreq(f.port, "GET", "/api/conversations/5/", NULL, NULL, 0, &r);
    CHECK_INT(r.status, 307);
    CHECK_STR(hres_header(&r, "Location"), "/api/conversations/5");
    hres_free(&r);

    hreq(f.port, "GET", "/api/nothing", NULL, NULL, 0, &r);
    CHECK_INT(r.status, 500);
    check_error_shape(&r, "internal_error");
    hres_free(&r);
    hreq(f.port, "GET", "/api/twice", NULL, NULL, 0, &r);
    CHECK_INT(r.status, 409);
    check_error_shape(&r, "conflict");
    hres_free(&r);
    fx_stop(&f);
}

TEST(http_json_bodies)
{
    fixture_t f;
    REQUIRE(fx_start(&f, htest_config()) == 0);
    const char *ct[] = {"Content-Type: application/json", NULL};
    hres_t r;
    { const char *jb = "{\"a\": [1, \"\\u00e9\"]}"; hreq(f.port, "POST", "/api/echo", ct, jb, strlen(jb), &r); }
    CHECK_INT(r.status, 201);
    CHECK_STR(r.body.data, "{\"a\":[1,\"\xc3\xa9\"]}");
    hres_free(&r);

    struct { const char *body; int status; const char *code; } cases[] = {
        {"{\"a\": ", 400, "invalid_json"},          /* truncated */
        {"{\"a\" 1}", 400, "invalid_json"},         /* garbage */
        {"[1,2]", 422, "validation_error"},         /* wrong type */
        {"\"str\"", 422, "validation_error"},
        {"42", 422, "validation_error"},
        {"", 422, "validation_error"},              /* missing */
        {"{\"a\":\"\xff\xfe\"}", 400, "invalid_json"},   /* invalid UTF-8 */
        {"{\"a\":\"\xc0\xaf\"}", 400, "invalid_json"},   /* overlong */
        {"{\"a\":\"\\u0000\"}", 400, "invalid_json"},    /* NUL */
        {"{} {}", 400, "invalid_json"},             /* trailing data */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        hreq(f.port, "POST", "/api/echo", ct, cases[i].body, strlen(cases[i].body), &r);
        CHECK_INT(r.status, cases[i].status);
        check_error_shape(&r, cases[i].code);
        hres_free(&r);
    }
    /* deep nesting: rejected, not a crash */
    buf_t deep = {0};
    for (int i = 0; i < 500; i++) buf_puts(&deep, "[");
    buf_t obj = {0};
    buf_puts(&obj, "{\"a\":");
    buf_append(&obj, deep.data, deep.len);
    hreq(f.port, "POST", "/api/echo", ct, obj.data, obj.len, &r);
    CHECK_INT(r.status, 400);
    hres_free(&r);
    buf_free(&deep);
    buf_free(&obj);

    /* raw body kept byte-exact, NULs included */
    const char raw[] = {'a', 0, 'b', '\xff'};
    hreq(f.port, "POST", "/api/raw", NULL, raw, sizeof raw, &r);
    CHECK_INT(r.status, 200);
    CHECK_INT(r.body.len, 4);
    CHECK(!memcmp(r.body.data, raw, 4));
    hres_free(&r);
    fx_stop(&f);
}

TEST(http_body_cap_413)
{
    fixture_t f;
    REQUIRE(fx_start(&f, htest_config()) == 0);   /* cap 1024 */
    char *big = malloc(200000);
    memset(big, 'x', 200000);
    hres_t r;
    /* exactly at the cap passes */
    hreq(f.port, "POST", "/api/raw", NULL, big, 1024, &r);
    CHECK_INT(r.status, 200);
    CHECK_INT(r.body.len, 1024);
    hres_free(&r);
    /* by Content-Length, answered before the body is read */
    hreq(f.port, "POST", "/api/raw", NULL, big, 1025, &r);
    CHECK_INT(r.status, 413);
    check_error_shape(&r, "payload_too_large");
    hres_free(&r);
    hreq(f.port, "POST", "/api/raw", NULL, big, 200000, &r);
    CHECK_INT(r.status, 413);
    hres_free(&r);
    /* chunked: no Content-Length, counted while streaming */
    const char *chunked[] = {"Transfer-Encoding: chunked", NULL};
    hreq(f.port, "POST", "/api/raw", chunked, big, 200000, &r);
    CHECK_INT(r.status, 413);
    check_error_shape(&r, "payload_too_large");
    hres_free(&r);
    /* far past the cap (cap + 1 MiB discard bound): dropped, never a 200, no hang */
    char *huge = malloc(3 << 20);
    memset(huge, 'y', 3 << 20);
    hreq(f.port, "POST", "/api/raw", chunked, huge, 3 << 20, &r);
    CHECK(r.status == 0 || r.status == 413);
    hres_free(&r);
    free(huge);
    hreq(f.port, "POST", "/api/raw", chunked, big, 1000, &r);
    CHECK_INT(r.status, 200);
    CHECK_INT(r.body.len, 1000);
    hres_free(&r);
    /* a bogus Content-Length */
    const char *badcl[] = {"Content-Length: 12abc", NULL};
    hreq(f.port, "POST", "/api/raw", badcl, NULL, 0, &r);
    CHECK(r.status == 400 || r.status == 413);
    hres_free(&r);
    free(big);
    fx_stop(&f);
}

TEST(http_auth_levels)
{
    fixture_t f;
    REQUIRE(fx_start(&f, htest_config()) == 0);
    hres_t r;
    hreq(f.port, "GET", "/api/me", NULL, NULL, 0, &r);
    CHECK_INT(r.status, 401);
    check_error_shape(&r, "unauthorized");
    CHECK_FIELD(&r, "detail", "Not authenticated");
    CHECK_STR(hres_header(&r, "WWW-Authenticate"), "Bearer");
    hres_free(&r);

    const char *good[] = {"Authorization: Bearer user-7", NULL};
    const char *bad[] = {"Authorization: Bearer nonsense", NULL};
    const char *basic[] = {"Authorization: Basic dXNlcjpwYXNz", NULL};
    const char *admin[] = {"Authorization: bearer admin-3", NULL};
    hreq(f.port, "GET", "/api/me", good, NULL, 0, &r);
    CHECK_INT(r.status, 200);
    CHECK_FIELD(&r, "user_id", "7");
    CHECK_FIELD(&r, "email", "user@example.com");
    hres_free(&r);
    hreq(f.port, "GET", "/api/me", bad, NULL, 0, &r);
    CHECK_INT(r.status, 401);
    check_error_shape(&r, "unauthorized");
    hres_free(&r);
    hreq(f.port, "GET", "/api/me", basic, NULL, 0, &r);
    CHECK_INT(r.status, 401);
    hres_free(&r);

    hreq(f.port, "GET", "/api/opt", NULL, NULL, 0, &r);
    CHECK_INT(r.status, 200);
    CHECK_FIELD(&r, "user_id", "0");
    hres_free(&r);
    hreq(f.port, "GET", "/api/opt", good, NULL, 0, &r);
    CHECK_FIELD(&r, "user_id", "7");
    hres_free(&r);
    hreq(f.port, "GET", "/api/opt", bad, NULL, 0, &r);
    CHECK_INT(r.status, 401);
    hres_free(&r);

    hreq(f.port, "GET", "/api/admin", good, NULL, 0, &r);
    CHECK_INT(r.status, 403);
    check_error_shape(&r, "forbidden");
    hres_free(&r);
    hreq(f.port, "GET", "/api/admin", admin, NULL, 0, &r);
    CHECK_INT(r.status, 200);
    CHECK_FIELD(&r, "is_admin", "true");
    hres_free(&r);
    hreq(f.port, "GET", "/api/admin", NULL, NULL, 0, &r);
    CHECK_INT(r.status, 401);
    hres_free(&r);

    /* NONE ignores even a bad token */
    hreq(f.port, "GET", "/api/open", bad, NULL, 0, &r);
    CHECK_INT(r.status, 200);
    CHECK_FIELD(&r, "user_id", "0");
    hres_free(&r);
    fx_stop(&f);
}

TEST(http_rate_limit)
{
    fixture_t f;
    REQUIRE(fx_start(&f, htest_config()) == 0);   /* GET /api/limited: 3 per minute */
    hres_t r;
    /* don't straddle a window boundary */
    while (time(NULL) % 60 > 55) { struct timespec ts = {0, 200000000}; nanosleep(&ts, NULL); }
    for (int i = 1; i <= 3; i++) {
        hreq(f.port, "GET", "/api/limited", NULL, NULL, 0, &r);
        CHECK_INT(r.status, 200);
        CHECK_STR(hres_header(&r, "X-RateLimit-Limit"), "3");
        char want[8];
        snprintf(want, sizeof want, "%d", 3 - i);
        CHECK_STR(hres_header(&r, "X-RateLimit-Remaining"), want);
        const char *reset = hres_header(&r, "X-RateLimit-Reset");
        CHECK(reset && atoll(reset) > time(NULL) - 1 && atoll(reset) <= time(NULL) + 60);
        hres_free(&r);
    }
    hreq(f.port, "GET", "/api/limited", NULL, NULL, 0, &r);
    CHECK_INT(r.status, 429);
    check_error_shape(&r, "rate_limited");
    CHECK_FIELD(&r, "detail", "Rate limit exceeded: 3 per 1 minute");
    const char *ra = hres_header(&r, "Retry-After");
    CHECK(ra && atoi(ra) >= 1 && atoi(ra) <= 60);
    CHECK_STR(hres_header(&r, "X-RateLimit-Remaining"), "0");
    hres_free(&r);

    /* another method on the same pattern has its own bucket */
    hreq(f.port, "POST", "/api/limited", NULL, NULL, 0, &r);
    CHECK_INT(r.status, 200);
    CHECK_STR(hres_header(&r, "X-RateLimit-Limit"), "5");
    hres_free(&r);
    /* a signed-in user has a bucket of their own */
    const char *good[] = {"Authorization: Bearer user-9", NULL};
    hreq(f.port, "GET", "/api/limited", good, NULL, 0, &r);
    CHECK_INT(r.status, 200);
    CHECK_STR(hres_header(&r, "X-RateLimit-Remaining"), "2");
    hres_free(&r);
    /* bad tokens count against the address: the address bucket is spent -> 429, not 401 */
    const char *bad[] = {"Authorization: Bearer junk", NULL};
    hreq(f.port, "GET", "/api/limited", bad, NULL, 0, &r);
    CHECK_INT(r.status, 429);
    hres_free(&r);
    /* X-Forwarded-For is ignored without trust_proxy */
    const char *xff[] = {"X-Forwarded-For: 10.1.2.3", NULL};
    hreq(f.port, "GET", "/api/limited", xff, NULL, 0, &r);
    CHECK_INT(r.status, 429);
    hres_free(&r);
    hreq(f.port, "GET", "/api/open", xff, NULL, 0, &r);
    CHECK_FIELD(&r, "ip", "ip=127.0.0.1");
    hres_free(&r);
    /* unlimited routes carry no X-RateLimit headers */
    hreq(f.port, "GET", "/health", NULL, NULL, 0, &r);
    CHECK(hres_header(&r, "X-RateLimit-Limit") == NULL);
    hres_free(&r);
    fx_stop(&f);

    /* rate_limit = false disables limits */
    http_config_t cfg = htest_config();
    cfg.rate_limit = false;
    REQUIRE(fx_start(&f, cfg) == 0);
    for (int i = 0; i < 5; i++) {
        hreq(f.port, "GET", "/api/limited", NULL, NULL, 0, &r);
        CHECK_INT(r.status, 200);
        hres_free(&r);
    }
    fx_stop(&f);
}

TEST(http_trust_proxy)
{
    fixture_t f;
    http_config_t cfg = htest_config();
    cfg.trust_proxy = true;
    REQUIRE(fx_start(&f, cfg) == 0);
    hres_t r;
    const char *xff[] = {"X-Forwarded-For: 10.1.2.3, 192.168.0.1", NULL};
    hreq(f.port, "GET", "/api/open", xff, NULL, 0, &r);
    CHECK_FIELD(&r, "ip", "ip=10.1.2.3");
    hres_free(&r);
    const char *junk[] = {"X-Forwarded-For: <script>", NULL};
    hreq(f.port, "GET", "/api/open", junk, NULL, 0, &r);
    CHECK_FIELD(&r, "ip", "ip=127.0.0.1");
    hres_free(&r);
    const char *v6[] = {"X-Forwarded-For: 2001:db8::1", NULL};
    hreq(f.port, "GET", "/api/open", v6, NULL, 0, &r);
    CHECK_FIELD(&r, "ip", "ip=2001:db8::1");
    hres_free(&r);
    /* each forwarded address has its own bucket */
    while (time(NULL) % 60 > 55) { struct timespec ts = {0, 200000000}; nanosleep(&ts, NULL); }
    const char *a[] = {"X-Forwarded-For: 10.0.0.1", NULL};
    const char *b[] = {"X-Forwarded-For: 10.0.0.2", NULL};
    for (int i = 0; i < 3; i++) { hreq(f.port, "GET", "/api/limited", a, NULL, 0, &r); hres_free(&r); }
    hreq(f.port, "GET", "/api/limited", a, NULL, 0, &r);
    CHECK_INT(r.status, 429);
    hres_free(&r);
    hreq(f.port, "GET", "/api/limited", b, NULL, 0, &r);
    CHECK_INT(r.status, 200);
    hres_free(&r);
    fx_stop(&f);
}

TEST(http_cors)
{
    fixture_t f;
    REQUIRE(fx_start(&f, htest_config()) == 0);   /* "*" */
    hres_t r;
    const char *origin[] = {"Origin: https://evil.example", NULL};
    hreq(f.port, "GET", "/health", origin, NULL, 0, &r);
    CHECK_STR(hres_header(&r, "Access-Control-Allow-Origin"), "*");
    CHECK(hres_header(&r, "Access-Control-Allow-Credentials") == NULL);
    const char *exp = hres_header(&r, "Access-Control-Expose-Headers");
    CHECK(exp && strstr(exp, "X-Conversation-ID") && strstr(exp, "X-RateLimit-Reset"));
    hres_free(&r);
    fx_stop(&f);

    http_config_t cfg = htest_config();
    cfg.cors_origins = "https://app.example, https://admin.example";
    REQUIRE(fx_start(&f, cfg) == 0);
    const char *ok[] = {"Origin: https://admin.example", NULL};
    hreq(f.port, "GET", "/health", ok, NULL, 0, &r);
    CHECK_STR(hres_header(&r, "Access-Control-Allow-Origin"), "https://admin.example");
    CHECK_STR(hres_header(&r, "Access-Control-Allow-Credentials"), "true");
    CHECK_STR(hres_header(&r, "Vary"), "Origin");
    hres_free(&r);
    hreq(f.port, "GET", "/health", origin, NULL, 0, &r);
    CHECK(hres_header(&r, "Access-Control-Allow-Origin") == NULL);
    CHECK(hres_header(&r, "Access-Control-Allow-Credentials") == NULL);
    hres_free(&r);

    /* preflight on a route path (auth-required routes too): 204, no auth needed */
    const char *pre[] = {"Origin: https://app.example", "Access-Control-Request-Method: GET",
                         "Access-Control-Request-Headers: authorization, content-type", NULL};
    hreq(f.port, "OPTIONS", "/api/me", pre, NULL, 0, &r);
    CHECK_INT(r.status, 204);
    CHECK_STR(hres_header(&r, "Access-Control-Allow-Origin"), "https://app.example");
    CHECK_STR(hres_header(&r, "Access-Control-Allow-Headers"), "authorization, content-type");
    CHECK_STR(hres_header(&r, "Access-Control-Allow-Methods"), "GET, HEAD, OPTIONS");
    CHECK_STR(hres_header(&r, "Access-Control-Max-Age"), "600");
    hres_free(&r);
    const char *evil[] = {"Origin: https://app.example", "Access-Control-Request-Headers: x\x01y", NULL};
    hreq(f.port, "OPTIONS", "/api/conversations/3", evil, NULL, 0, &r);
    CHECK_INT(r.status, 204);
    CHECK_STR(hres_header(&r, "Access-Control-Allow-Methods"), "GET, HEAD, PATCH, OPTIONS");
    CHECK_STR(hres_header(&r, "Access-Control-Allow-Headers"), "Authorization, Content-Type");
    hres_free(&r);
    hreq(f.port, "OPTIONS", "/nowhere", pre, NULL, 0, &r);
    CHECK_INT(r.status, 404);
    hres_free(&r);
    fx_stop(&f);
}

TEST(http_request_id)
{
    fixture_t f;
    REQUIRE(fx_start(&f, htest_config()) == 0);
    hres_t r;
    const char *mine[] = {"X-Request-Id: abc-123_XYZ.4", NULL};
    hreq(f.port, "GET", "/health", mine, NULL, 0, &r);
    CHECK_STR(hres_header(&r, "X-Request-Id"), "abc-123_XYZ.4");
    hres_free(&r);
    /* errors carry it too */
    hreq(f.port, "GET", "/missing", mine, NULL, 0, &r);
    CHECK_STR(hres_header(&r, "X-Request-Id"), "abc-123_XYZ.4");
    hres_free(&r);
    char gen1[64] = "", gen2[64] = "";
    hreq(f.port, "GET", "/health", NULL, NULL, 0, &r);
    const char *g = hres_header(&r, "X-Request-Id");
    CHECK(g && strlen(g) == 32);
    if (g) snprintf(gen1, sizeof gen1, "%s", g);
    hres_free(&r);
    /* hostile ids are replaced */
    buf_t longid = {0};
    buf_puts(&longid, "X-Request-Id: ");
    for (int i = 0; i < 200; i++) buf_putc(&longid, 'a');
    const char *hostile[][2] = {{"X-Request-Id: has space", NULL}, {"X-Request-Id: a\"b<c>", NULL},
                                {longid.data, NULL}};
    for (int i = 0; i < 3; i++) {
        hreq(f.port, "GET", "/health", hostile[i], NULL, 0, &r);
        g = hres_header(&r, "X-Request-Id");
        CHECK(g && strlen(g) == 32);
        if (g && i == 0) snprintf(gen2, sizeof gen2, "%s", g);
        hres_free(&r);
    }
    CHECK(strcmp(gen1, gen2) != 0);
    buf_free(&longid);
    fx_stop(&f);
}

TEST(http_bad_config)
{
    log_set_level(LOG_ERROR);
    char err[256];
    http_config_t cfg = htest_config();
    cfg.host = "not-an-address";
    CHECK(http_server_start(&cfg, routes, NROUTES, err, sizeof err) == NULL);
    CHECK(strstr(err, "listen address") != NULL);
    cfg = htest_config();
    http_route_t badr[] = {{"GET", "/x/{", h_health, HTTP_AUTH_NONE, 0, 0}};
    CHECK(http_server_start(&cfg, badr, 1, err, sizeof err) == NULL);
    http_route_t badr2[] = {{"GET", "nope", h_health, HTTP_AUTH_NONE, 0, 0}};
    CHECK(http_server_start(&cfg, badr2, 1, err, sizeof err) == NULL);
    /* a port already taken: a clear error, no crash */
    cfg = htest_config();
    http_server_t *a = http_server_start(&cfg, routes, NROUTES, err, sizeof err);
    REQUIRE(a);
    cfg.port = http_server_port(a);
    CHECK(http_server_start(&cfg, routes, NROUTES, err, sizeof err) == NULL);
    CHECK(strstr(err, "cannot listen") != NULL);
    http_server_stop(a);
    /* IPv6 any-address accepts IPv4 clients too */
    cfg = htest_config();
    cfg.host = "::";
    http_server_t *v6 = http_server_start(&cfg, routes, NROUTES, err, sizeof err);
    if (v6) {
        hres_t r;
        hreq(http_server_port(v6), "GET", "/health", NULL, NULL, 0, &r);
        CHECK_INT(r.status, 200);
        hres_free(&r);
        http_server_stop(v6);
    }
    CHECK_STR(http_status_code_name(404), "not_found");
    CHECK_STR(http_status_code_name(429), "rate_limited");
    CHECK_STR(http_status_code_name(599), "internal_error");
}

TEST(http_access_log)
{
    fixture_t f;
    REQUIRE(fx_start(&f, htest_config()) == 0);
    log_set_level(LOG_INFO);
    char *dir = test_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/log.txt", dir);
    fflush(stderr);
    int saved = dup(2);
    FILE *lf = fopen(path, "w");
    REQUIRE(lf);
    dup2(fileno(lf), 2);
    hres_t r;
    const char *h[] = {"Authorization: Bearer user-7", "X-Request-Id: log-test-1", NULL};
    hreq(f.port, "GET", "/api/me?secret=hunter2", h, NULL, 0, &r);
    hres_free(&r);
    hreq(f.port, "GET", "/api/conversations/a%0Ab", NULL, NULL, 0, &r);
    hres_free(&r);
    usleep(50000);                   /* the completed callback logs after the response */
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    fclose(lf);
    log_set_level(LOG_WARN);
    FILE *in = fopen(path, "r");
    REQUIRE(in);
    char text[4096] = "";
    size_t n = fread(text, 1, sizeof text - 1, in);
    text[n] = 0;
    fclose(in);
    CHECK(strstr(text, "GET /api/me 200") != NULL);
    CHECK(strstr(text, "rid=log-test-1 uid=7") != NULL);
    CHECK(strstr(text, "hunter2") == NULL);       /* no query string */
    CHECK(strstr(text, "user-7") == NULL);        /* no token */
    CHECK(strstr(text, "/api/conversations/a?b 200") != NULL);   /* control byte masked */
    fx_stop(&f);
    free(dir);
}

TEST(http_expect_continue)
{
    fixture_t f;
    REQUIRE(fx_start(&f, htest_config()) == 0);
    hres_t r;
    const char *h[] = {"Expect: 100-continue", NULL};
    hreq(f.port, "POST", "/api/raw", h, "0123456789", 10, &r);
    CHECK_INT(r.status, 200);
    CHECK_STR(r.body.data, "0123456789");
    hres_free(&r);
    /* too large by Content-Length: refused before the client sends the body */
    char big[4096];
    memset(big, 'b', sizeof big);
    hreq(f.port, "POST", "/api/raw", h, big, sizeof big, &r);
    CHECK_INT(r.status, 413);
    CHECK(strstr(r.headers.data, "100 Continue") == NULL);
    hres_free(&r);
    /* unknown route: refused before the body too */
    hreq(f.port, "POST", "/api/unknown", h, "{}", 2, &r);
    CHECK_INT(r.status, 404);
    CHECK(strstr(r.headers.data, "100 Continue") == NULL);
    hres_free(&r);
    fx_stop(&f);
}

TEST(http_catch_all_routes)
{
    fixture_t f;
    REQUIRE(fx_start(&f, htest_config()) == 0);
    hres_t r;
    hreq(f.port, "GET", "/files/index.html", NULL, NULL, 0, &r);
    CHECK_FIELD(&r, "status", "ok");                 /* literal first */
    hres_free(&r);
    hreq(f.port, "GET", "/files/a.css", NULL, NULL, 0, &r);
    CHECK_FIELD(&r, "which", "id");                  /* one-segment param beats the rest */
    hres_free(&r);
    hreq(f.port, "GET", "/files/css/site/a.css", NULL, NULL, 0, &r);
    CHECK_FIELD(&r, "which", "rest");
    CHECK_FIELD(&r, "path", "css/site/a.css");
    CHECK_FIELD(&r, "safe", "true");
    hres_free(&r);
    hreq(f.port, "GET", "/files/a/../../etc/passwd", NULL, NULL, 0, &r);
    if (r.status == 200) CHECK_FIELD(&r, "safe", "false");   /* curl may normalise ".." */
    hres_free(&r);
    hreq(f.port, "GET", "/files/a//b", NULL, NULL, 0, &r);
    CHECK_INT(r.status, 404);
    hres_free(&r);
    hreq(f.port, "GET", "/files", NULL, NULL, 0, &r);
    CHECK_INT(r.status, 404);
    hres_free(&r);
    fx_stop(&f);

    CHECK(http_path_is_safe("a/b.css"));
    CHECK(http_path_is_safe("..a/b..c"));
    CHECK(!http_path_is_safe(""));
    CHECK(!http_path_is_safe("/etc/passwd"));
    CHECK(!http_path_is_safe("a/../b"));
    CHECK(!http_path_is_safe(".."));
    CHECK(!http_path_is_safe("a/./b"));
    CHECK(!http_path_is_safe("a//b"));
    CHECK(!http_path_is_safe("a/"));
    CHECK(!http_path_is_safe("a\\b"));
    CHECK(!http_path_is_safe("a\nb"));
    CHECK(!http_path_is_safe(NULL));
    char err[128];
    http_route_t bad[] = {{"GET", "/x/{p...}/y", h_health, HTTP_AUTH_NONE, 0, 0}};
    http_config_t cfg = htest_config();
    CHECK(http_server_start(&cfg, bad, 1, err, sizeof err) == NULL);
}
