/* test_billing.c — money parsing, webhook signatures and the plan table. */
#include "test.h"
#include "billing/money.h"
#include "billing/plans.h"
#include "billing/signature.h"
#include "core/buf.h"
#include "core/crypto.h"
#include <stdlib.h>

static int64_t parse(const char *s)
{
    int64_t c = -12345;
    char err[128];
    if (money_parse_cents(s, 0, MONEY_MAX_CHARGE_CENTS, &c, err, sizeof err) != 0) return -1;
    return c;
}

TEST(billing_money_parse_exact)
{
    CHECK_INT(parse("19.99"), 1999);
    CHECK_INT(parse("0.5"), 50);
    CHECK_INT(parse("0.50"), 50);
    CHECK_INT(parse("20"), 2000);
    CHECK_INT(parse("0"), 0);
    CHECK_INT(parse("0.01"), 1);
    CHECK_INT(parse("999999.99"), 99999999);
    CHECK_INT(parse("007.10"), 710);
}

TEST(billing_money_parse_hostile)
{
    const char *bad[] = {"", "1e3", "1E3", "-1", "+1", "0.001", "19.999", "19.", ".5", " 19.99",
                         "19.99 ", "19,99", "1,000.00", "1 000", "0x10", "NaN", "inf", "19.9.9",
                         "1000000.00", "99999999999999999999999", "12a", "\xd9\xa1\xd9\xa2",
                         "19.99\n", "$19.99", "1_000"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        if (parse(bad[i]) != -1) test_fail(__FILE__, __LINE__, "accepted \"%s\"", bad[i]);
    }
    int64_t c = 7;
    char err[64];
    CHECK(money_parse_cents(NULL, 0, 100, &c, err, sizeof err) == -1);
    CHECK(money_parse_cents("0.49", MONEY_MIN_CHARGE_CENTS, 100, &c, err, sizeof err) == -1);
    CHECK(strstr(err, "minimum") != NULL);
    CHECK_INT(c, 7);    /* untouched on failure */
}

static int64_t from_json(const char *text)
{
    json_error_t je;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &je);
    if (!v) return -2;
    int64_t c = 0;
    char err[128];
    int rc = money_cents_from_json(v, 0, MONEY_MAX_CHARGE_CENTS, &c, err, sizeof err);
    json_decref(v);
    return rc ? -1 : c;
}

TEST(billing_money_json_numbers)
{
    /* The original's int(amount*100) gave 1998 here. */
    CHECK_INT(from_json("19.99"), 1999);
    CHECK_INT(from_json("0.29"), 29);          /* 0.29*100 = 28.999999999999996 */
    CHECK_INT(from_json("4.35"), 435);
    CHECK_INT(from_json("1.005e2"), 10050);
    CHECK_INT(from_json("1e3"), 100000);       /* a JSON number is a number: $1000 */
    CHECK_INT(from_json("25"), 2500);
    CHECK_INT(from_json("\"12.34\""), 1234);
    CHECK_INT(from_json("0.001"), -1);
    CHECK_INT(from_json("19.999"), -1);
    CHECK_INT(from_json("-1"), -1);
    CHECK_INT(from_json("-0.5"), -1);
    CHECK_INT(from_json("1e300"), -1);
    CHECK_INT(from_json("9223372036854775807"), -1);
    CHECK_INT(from_json("true"), -1);
    CHECK_INT(from_json("null"), -1);
    CHECK_INT(from_json("[1]"), -1);
    CHECK_INT(from_json("\"1e3\""), -1);
    CHECK(money_cents_from_json(NULL, 0, 10, &(int64_t){0}, NULL, 0) == -1);
    /* Every cent value in a range survives the double round trip. */
    int bad = 0;
    for (int64_t cents = 0; cents < 200000; cents += 7) {
        char text[32];
        money_format(cents, text, sizeof text);
        json_t *v = json_real(strtod(text, NULL));
        int64_t got = -1;
        if (money_cents_from_json(v, 0, MONEY_MAX_CHARGE_CENTS, &got, NULL, 0) || got != cents) bad++;
        json_decref(v);
    }
    CHECK_INT(bad, 0);
}

TEST(billing_money_format)
{
    char out[32];
    CHECK_STR(money_format(1999, out, sizeof out), "19.99");
    CHECK_STR(money_format(5, out, sizeof out), "0.05");
    CHECK_STR(money_format(0, out, sizeof out), "0.00");
    CHECK_STR(money_format(-250, out, sizeof out), "-2.50");
    json_t *d = money_json_dollars(1999);
    char *s = json_dumps(d, JSON_ENCODE_ANY | JSON_REAL_PRECISION(15));
    CHECK_STR(s, "19.99");
    free(s);
    json_decref(d);
    d = money_json_dollars(2000);
    CHECK(json_is_integer(d) && json_integer_value(d) == 20);
    json_decref(d);
}

/* ---- webhook signatures ---- */
static const char *SECRET = "whsec_test_0123456789abcdef";
static const char *BODY = "{\"id\":\"evt_1\",\"type\":\"payment_intent.succeeded\"}";

static char *header_for(const char *secret, int64_t t, const char *body)
{
    return billing_signature_header(secret, t, body, strlen(body));
}

TEST(billing_signature_valid)
{
    int64_t now = 1760000000;
    char *h = header_for(SECRET, now, BODY);
    CHECK(billing_signature_verify(h, BODY, strlen(BODY), SECRET, now, 0) == BILLING_SIG_OK);
    /* Computed independently: HMAC-SHA256(secret, "t.body"). */
    buf_t msg = {0};
    buf_printf(&msg, "%lld.%s", (long long)now, BODY);
    uint8_t mac[SHA256_LEN];
    hmac_sha256(SECRET, strlen(SECRET), msg.data, msg.len, mac);
    char hex[65];
    hex_encode(mac, SHA256_LEN, hex);
    CHECK(strstr(h, hex) != NULL);
    buf_free(&msg);
    free(h);
    /* Within tolerance on both sides. */
    h = header_for(SECRET, now - 299, BODY);
    CHECK(billing_signature_verify(h, BODY, strlen(BODY), SECRET, now, 0) == BILLING_SIG_OK);
    free(h);
    h = header_for(SECRET, now + 299, BODY);
    CHECK(billing_signature_verify(h, BODY, strlen(BODY), SECRET, now, 0) == BILLING_SIG_OK);
    free(h);
}

TEST(billing_signature_rejects)
{
    int64_t now = 1760000000;
    char *h = header_for(SECRET, now, BODY);
    /* tampered body: one byte changed, one byte added, truncated */
    char *tampered = xstrdup(BODY);
    tampered[8] = '2';
    CHECK(billing_signature_verify(h, tampered, strlen(tampered), SECRET, now, 0) == BILLING_SIG_NO_MATCH);
    CHECK(billing_signature_verify(h, BODY, strlen(BODY) - 1, SECRET, now, 0) == BILLING_SIG_NO_MATCH);
    buf_t longer = {0};
    buf_printf(&longer, "%s ", BODY);
    CHECK(billing_signature_verify(h, longer.data, longer.len, SECRET, now, 0) == BILLING_SIG_NO_MATCH);
    buf_free(&longer);
    free(tampered);
    /* wrong secret */
    CHECK(billing_signature_verify(h, BODY, strlen(BODY), "whsec_other", now, 0) == BILLING_SIG_NO_MATCH);
    /* missing secret never verifies */
    CHECK(billing_signature_verify(h, BODY, strlen(BODY), NULL, now, 0) == BILLING_SIG_NO_SECRET);
    CHECK(billing_signature_verify(h, BODY, strlen(BODY), "", now, 0) == BILLING_SIG_NO_SECRET);
    free(h);
    /* old and future timestamps (replay) */
    h = header_for(SECRET, now - 301, BODY);
    CHECK(billing_signature_verify(h, BODY, strlen(BODY), SECRET, now, 0) == BILLING_SIG_EXPIRED);
    CHECK(billing_signature_verify(h, BODY, strlen(BODY), SECRET, now, 600) == BILLING_SIG_OK);
    free(h);
    h = header_for(SECRET, now + 400, BODY);
    CHECK(billing_signature_verify(h, BODY, strlen(BODY), SECRET, now, 0) == BILLING_SIG_EXPIRED);
    free(h);
    /* timestamp changed in the header: the MAC covers it */
    h = header_for(SECRET, now, BODY);
    char *t = strstr(h, "t=") + 2;
    t[9] = t[9] == '1' ? '2' : '1';
    CHECK(billing_signature_verify(h, BODY, strlen(BODY), SECRET, now, 1000) == BILLING_SIG_NO_MATCH);
    free(h);
}

TEST(billing_signature_multiple_v1)
{
    int64_t now = 1760000000;
    char *good = header_for(SECRET, now, BODY);
    const char *v1 = strstr(good, "v1=") + 3;
    char bogus[65];
    memset(bogus, 'a', 64);
    bogus[64] = 0;
    buf_t h = {0};
    /* a rolled secret: the old signature first, ours second, with a v0 and spaces */
    buf_printf(&h, "t=%lld, v1=%s, v0=%s, v1=%s", (long long)now, bogus, bogus, v1);
    CHECK(billing_signature_verify(h.data, BODY, strlen(BODY), SECRET, now, 0) == BILLING_SIG_OK);
    buf_reset(&h);
    buf_printf(&h, "v1=%s,t=%lld", v1, (long long)now);     /* order does not matter */
    CHECK(billing_signature_verify(h.data, BODY, strlen(BODY), SECRET, now, 0) == BILLING_SIG_OK);
    buf_reset(&h);
    buf_printf(&h, "t=%lld,v1=%s,v1=%s", (long long)now, bogus, bogus);
    CHECK(billing_signature_verify(h.data, BODY, strlen(BODY), SECRET, now, 0) == BILLING_SIG_NO_MATCH);
    buf_reset(&h);
    buf_printf(&h, "t=%lld,v0=%s", (long long)now, v1);     /* only v1 counts */
    CHECK(billing_signature_verify(h.data, BODY, strlen(BODY), SECRET, now, 0) == BILLING_SIG_MALFORMED);
    buf_reset(&h);
    buf_printf(&h, "t=%lld", (long long)now);               /* 17 signatures: too many */
    for (int i = 0; i < 17; i++) buf_printf(&h, ",v1=%s", v1);
    CHECK(billing_signature_verify(h.data, BODY, strlen(BODY), SECRET, now, 0) == BILLING_SIG_MALFORMED);
    buf_free(&h);
    free(good);
}

TEST(billing_signature_malformed)
{
    int64_t now = 1760000000;
    char *good = header_for(SECRET, now, BODY);
    const char *v1 = strstr(good, "v1=") + 3;
    char bad[8][200];
    snprintf(bad[0], 200, "v1=%s", v1);                          /* no timestamp */
    snprintf(bad[1], 200, "t=%lld", (long long)now);              /* no signature */
    snprintf(bad[2], 200, "t=abc,v1=%s", v1);                     /* non-numeric t */
    snprintf(bad[3], 200, "t=-5,v1=%s", v1);
    snprintf(bad[4], 200, "t=%lld,t=%lld,v1=%s", (long long)now, (long long)now, v1);
    snprintf(bad[5], 200, "garbage");
    snprintf(bad[6], 200, "t=99999999999999999999,v1=%s", v1);   /* overflow */
    snprintf(bad[7], 200, "t=,v1=%s", v1);
    for (int i = 0; i < 8; i++)
        if (billing_signature_verify(bad[i], BODY, strlen(BODY), SECRET, now, 0) != BILLING_SIG_MALFORMED)
            test_fail(__FILE__, __LINE__, "accepted or misclassified \"%s\"", bad[i]);
    CHECK(billing_signature_verify(NULL, BODY, strlen(BODY), SECRET, now, 0) == BILLING_SIG_MALFORMED);
    CHECK(billing_signature_verify("", BODY, strlen(BODY), SECRET, now, 0) == BILLING_SIG_MALFORMED);
    /* wrong-length or non-hex v1: no match, never a crash */
    char h[200];
    snprintf(h, sizeof h, "t=%lld,v1=%.*s", (long long)now, 63, v1);
    CHECK(billing_signature_verify(h, BODY, strlen(BODY), SECRET, now, 0) == BILLING_SIG_NO_MATCH);
    snprintf(h, sizeof h, "t=%lld,v1=%.*szz", (long long)now, 62, v1);
    CHECK(billing_signature_verify(h, BODY, strlen(BODY), SECRET, now, 0) == BILLING_SIG_NO_MATCH);
    /* oversized header */
    char *huge = xmalloc(8192);
    memset(huge, 'a', 8191);
    huge[8191] = 0;
    memcpy(huge, "t=1,", 4);
    CHECK(billing_signature_verify(huge, BODY, strlen(BODY), SECRET, now, 0) == BILLING_SIG_MALFORMED);
    free(huge);
    free(good);
    /* binary body with NUL bytes is signed byte-exact */
    const char bin[] = {'{', 0, '}', (char)0xff};
    char *bh = billing_signature_header(SECRET, now, bin, sizeof bin);
    CHECK(billing_signature_verify(bh, bin, sizeof bin, SECRET, now, 0) == BILLING_SIG_OK);
    CHECK(billing_signature_verify(bh, bin, 2, SECRET, now, 0) == BILLING_SIG_NO_MATCH);
    free(bh);
}

/* ---- plans ---- */
TEST(billing_plans_defaults)
{
    char err[256];
    billing_plans_t *p = billing_plans_load(NULL, "price_pro_x", "price_prem_y", err, sizeof err);
    REQUIRE(p != NULL);
    CHECK_INT(p->n, 3);
    const billing_plan_t *pro = billing_plans_find(p, "PRO");
    REQUIRE(pro != NULL);
    CHECK_INT(pro->price_cents, 1999);
    CHECK_STR(pro->price_id, "price_pro_x");
    const billing_plan_t *prem = billing_plans_find(p, "Premium");
    REQUIRE(prem != NULL);
    CHECK_INT(prem->price_cents, 4999);
    CHECK_INT(prem->quota[QUOTA_RECOGNITIONS_DAY], QUOTA_UNLIMITED);
    CHECK(billing_plans_by_price_id(p, "price_prem_y") == prem);
    CHECK(billing_plans_find(p, "gold") == NULL);
    const billing_plan_t *fr = billing_plans_free_plan(p);
    REQUIRE(fr != NULL);
    CHECK(fr->price_id == NULL);
    CHECK(fr->quota[QUOTA_CHAT_MESSAGES_DAY] > 0);
    CHECK(fr->quota[QUOTA_CHAT_MESSAGES_DAY] < pro->quota[QUOTA_CHAT_MESSAGES_DAY]);

    json_t *j = billing_plans_json(p);
    json_t *arr = json_object_get(j, "plans");
    CHECK_INT(json_array_size(arr), 3);
    json_t *jpro = json_array_get(arr, 1);
    CHECK_STR(json_string_value(json_object_get(jpro, "name")), "Pro");
    CHECK_STR(json_string_value(json_object_get(jpro, "price_id")), "price_pro_x");
    CHECK(json_object_get(json_array_get(arr, 0), "price_id") == NULL);
    CHECK_NEAR(json_number_value(json_object_get(jpro, "price")), 19.99, 1e-9);
    /* The feature list states the enforced limit. */
    char want[64];
    snprintf(want, sizeof want, "%lld chat messages per day", (long long)pro->quota[QUOTA_CHAT_MESSAGES_DAY]);
    CHECK_STR(json_string_value(json_array_get(json_object_get(jpro, "features"), 0)), want);
    CHECK(json_is_null(json_object_get(json_object_get(json_array_get(arr, 2), "quotas"), "recognitions_day")));
    json_decref(j);
    billing_plans_free(p);
}

static char *write_file(const char *dir, const char *text)
{
    buf_t b = {0};
    buf_printf(&b, "%s/plans.json", dir);
    FILE *f = fopen(b.data, "w");
    fputs(text, f);
    fclose(f);
    return buf_steal(&b);
}

TEST(billing_plans_override_file)
{
    char *dir = test_tmpdir();
    char *path = write_file(dir,
        "{\"plans\":[{\"id\":\"pro\",\"price\":\"24.50\",\"quotas\":{\"chat_messages_day\":300,"
        "\"exports_day\":null},\"features\":[\"Team seats\"]},"
        "{\"id\":\"gold\",\"name\":\"Gold\",\"price\":99,\"price_id\":\"price_gold\"}]}");
    char err[256];
    billing_plans_t *p = billing_plans_load(path, "price_pro", "price_prem", err, sizeof err);
    REQUIRE(p != NULL);
    const billing_plan_t *pro = billing_plans_find(p, "pro");
    CHECK_INT(pro->price_cents, 2450);
    CHECK_INT(pro->quota[QUOTA_CHAT_MESSAGES_DAY], 300);
    CHECK_INT(pro->quota[QUOTA_EXPORTS_DAY], QUOTA_UNLIMITED);
    CHECK_INT(pro->quota[QUOTA_RECOGNITIONS_DAY], 50);   /* default kept */
    CHECK_STR(pro->price_id, "price_pro");
    CHECK_INT(pro->nfeatures, 1);
    const billing_plan_t *gold = billing_plans_find(p, "GOLD");
    REQUIRE(gold != NULL);
    CHECK_INT(gold->price_cents, 9900);
    CHECK_INT(p->n, 4);
    billing_plans_free(p);
    free(path);

    const char *bad[] = {
        "not json", "[]", "{\"plans\":{}}", "{\"plans\":[{\"name\":\"x\"}]}",
        "{\"plans\":[{\"id\":\"pro\",\"price\":-1}]}",
        "{\"plans\":[{\"id\":\"pro\",\"price\":\"19.999\"}]}",
        "{\"plans\":[{\"id\":\"pro\",\"quotas\":{\"bogus\":1}}]}",
        "{\"plans\":[{\"id\":\"pro\",\"quotas\":{\"exports_day\":-2}}]}",
        "{\"plans\":[{\"id\":\"pro\",\"quotas\":{\"exports_day\":\"5\"}}]}",
        "{\"plans\":[{\"id\":\"pro\",\"features\":[1]}]}",
        "{\"plans\":[{\"id\":\"free\",\"price\":5}]}",
        "{\"plans\":[{\"id\":\"pro\",\"price_id\":null}]}",
        "{\"plans\":[{\"id\":\"new\",\"name\":\"New\"}]}",
        "{\"plans\":[{\"id\":\"pro\",\"name\":\"A\",\"name\":\"B\"}]}",
        "{\"plans\":[{\"id\":\"pro\",\"price\":1e30}]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        path = write_file(dir, bad[i]);
        err[0] = 0;
        p = billing_plans_load(path, "price_pro", "price_prem", err, sizeof err);
        if (p) test_fail(__FILE__, __LINE__, "accepted plans file %s", bad[i]);
        else CHECK(strstr(err, "plans file") != NULL);
        billing_plans_free(p);
        free(path);
    }
    CHECK(billing_plans_load("/nonexistent/plans.json", "a", "b", err, sizeof err) == NULL);
    free(dir);
}

TEST(billing_plans_quota_names)
{
    for (int q = 0; q < QUOTA_COUNT; q++)
        CHECK_INT(billing_quota_from_name(billing_quota_name(q)), q);
    CHECK_INT(billing_quota_from_name("nope"), -1);
    CHECK_INT(billing_quota_from_name(NULL), -1);
    CHECK(billing_quota_period(QUOTA_RECOGNITIONS_MONTH) == PERIOD_MONTH);
    CHECK(billing_quota_period(QUOTA_CHAT_MESSAGES_DAY) == PERIOD_DAY);
}
