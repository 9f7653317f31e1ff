/* Tests for src/auth: JWT HS256/RS256 verification, password policy and hashing, tokens. */
#include "test.h"
#include "auth/jwt.h"
#include "auth/password.h"
#include "auth/tokens.h"
#include "core/buf.h"
#include "core/crypto.h"
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <stdlib.h>

static const char K[] = "unit-test-secret-unit-test-secret";

static char *make_token(const char *header_json, const char *payload_json, const char *key)
{
    char *h = base64url_encode(header_json, strlen(header_json));
    char *p = base64url_encode(payload_json, strlen(payload_json));
    buf_t b = {0};
    buf_printf(&b, "%s.%s", h, p);
    uint8_t mac[32];
    hmac_sha256(key, strlen(key), b.data, b.len, mac);
    char *s = base64url_encode(mac, 32);
    buf_printf(&b, ".%s", s);
    free(h); free(p); free(s);
    return buf_steal(&b);
}

TEST(auth_jwt_hs256_round_trip)
{
    json_t *c = json_pack("{s:s, s:I}", "sub", "42", "exp", (json_int_t)2000);
    char *t = jwt_sign_hs256(c, K, strlen(K));
    json_t *out = NULL;
    CHECK_INT(jwt_verify_hs256(t, K, strlen(K), 1000, &out), JWT_OK);
    CHECK_STR(json_string_value(json_object_get(out, "sub")), "42");
    json_decref(out);
    CHECK_INT(jwt_verify_hs256(t, K, strlen(K), 2000, &out), JWT_EXPIRED);
    CHECK_INT(jwt_verify_hs256(t, "other", 5, 1000, &out), JWT_BAD_SIGNATURE);
    free(t);
    json_decref(c);
}

TEST(auth_jwt_rejects_tampering_and_alg_tricks)
{
    json_t *out = NULL;
    char *good = make_token("{\"alg\":\"HS256\"}", "{\"sub\":\"1\",\"exp\":99999999999}", K);
    CHECK_INT(jwt_verify_hs256(good, K, strlen(K), 1000, &out), JWT_OK);
    json_decref(out);
    /* payload swapped, signature kept */
    char *forged = make_token("{\"alg\":\"HS256\"}", "{\"sub\":\"2\",\"exp\":99999999999}", "wrong");
    char *dot = strchr(good, '.'), *dot2 = strchr(dot + 1, '.');
    char *fdot = strchr(forged, '.'), *fdot2 = strchr(fdot + 1, '.');
    buf_t b = {0};
    buf_append(&b, forged, (size_t)(fdot2 - forged));
    buf_puts(&b, dot2);
    CHECK_INT(jwt_verify_hs256(b.data, K, strlen(K), 1000, &out), JWT_BAD_SIGNATURE);
    buf_free(&b);
    /* alg none with empty signature */
    char *h = base64url_encode("{\"alg\":\"none\"}", 14), *p = base64url_encode("{\"sub\":\"1\",\"exp\":99999999999}", 29);
    buf_printf(&b, "%s.%s.", h, p);
    CHECK_INT(jwt_verify_hs256(b.data, K, strlen(K), 1000, &out), JWT_BAD_ALG);
    buf_free(&b);
    free(h); free(p);
    char *rs = make_token("{\"alg\":\"RS256\"}", "{\"sub\":\"1\",\"exp\":99999999999}", K);
    CHECK_INT(jwt_verify_hs256(rs, K, strlen(K), 1000, &out), JWT_BAD_ALG);
    char *noexp = make_token("{\"alg\":\"HS256\"}", "{\"sub\":\"1\"}", K);
    CHECK_INT(jwt_verify_hs256(noexp, K, strlen(K), 1000, &out), JWT_MALFORMED);
    const char *junk[] = {"", "a", "a.b", "a.b.c.d", "..", "!!!.???.###", "e30.e30.", NULL};
    for (int i = 0; junk[i]; i++) CHECK(jwt_verify_hs256(junk[i], K, strlen(K), 1000, &out) != JWT_OK);
    char *arr = make_token("{\"alg\":\"HS256\"}", "[1,2]", K);
    CHECK_INT(jwt_verify_hs256(arr, K, strlen(K), 1000, &out), JWT_MALFORMED);
    free(good); free(forged); free(rs); free(noexp); free(arr);
}

/* Signs with a freshly generated RSA key and verifies through the JWK n/e path. */
TEST(auth_jwt_rs256_verifies_with_jwk)
{
    EVP_PKEY *pk = EVP_RSA_gen(2048);
    REQUIRE(pk);
    BIGNUM *n = NULL, *e = NULL;
    EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_N, &n);
    EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_E, &e);
    uint8_t nb[512], eb[8];
    int nl = BN_bn2bin(n, nb), el = BN_bn2bin(e, eb);
    char *n64 = base64url_encode(nb, (size_t)nl), *e64 = base64url_encode(eb, (size_t)el);
    const char *hdr = "{\"alg\":\"RS256\",\"kid\":\"k1\"}", *pl = "{\"sub\":\"g1\",\"exp\":5000}";
    char *h = base64url_encode(hdr, strlen(hdr)), *p = base64url_encode(pl, strlen(pl));
    buf_t b = {0};
    buf_printf(&b, "%s.%s", h, p);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    size_t slen = 0;
    EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, pk);
    EVP_DigestSign(md, NULL, &slen, (uint8_t *)b.data, b.len);
    uint8_t *sig = malloc(slen);
    EVP_DigestSign(md, sig, &slen, (uint8_t *)b.data, b.len);
    char *s64 = base64url_encode(sig, slen);
    size_t signing_len = b.len;
    buf_printf(&b, ".%s", s64);
    json_t *out = NULL;
    CHECK_INT(jwt_verify_rs256(b.data, n64, e64, 1000, &out), JWT_OK);
    json_decref(out);
    CHECK_INT(jwt_verify_rs256(b.data, n64, e64, 6000, &out), JWT_EXPIRED);
    b.data[signing_len - 3] ^= 1;   /* flip a payload character */
    CHECK(jwt_verify_rs256(b.data, n64, e64, 1000, &out) != JWT_OK);
    /* an HS256 token "signed" with the public modulus as the secret must fail */
    char *conf = make_token("{\"alg\":\"HS256\"}", pl, n64);
    CHECK_INT(jwt_verify_rs256(conf, n64, e64, 1000, &out), JWT_BAD_ALG);
    free(conf);
    free(sig); free(s64); free(h); free(p); free(n64); free(e64);
    buf_free(&b);
    EVP_MD_CTX_free(md);
    BN_free(n); BN_free(e);
    EVP_PKEY_free(pk);
}

TEST(auth_password_policy)
{
    CHECK(password_weakness("short", NULL) != NULL);
    CHECK(password_weakness("aaaaaaaaaaaa", NULL) != NULL);
    CHECK(password_weakness("Password", NULL) != NULL);
    CHECK(password_weakness("rider@example.com", "rider@example.com") != NULL);
    CHECK(password_weakness("\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8", NULL) != NULL);
    char big[400];
    for (int i = 0; i < 399; i++) big[i] = (char)('a' + i % 26);
    big[399] = 0;
    CHECK(password_weakness(big, NULL) != NULL);
    CHECK(password_weakness("saddle bronc 8 seconds", NULL) == NULL);
    CHECK(password_weakness("c\xc3\xa9l\xc3\xa8" "bre!23", NULL) == NULL);
}

TEST(auth_password_hash_and_verify)
{
    char *h = password_hash("saddle bronc 8 seconds");
    REQUIRE(h);
    CHECK(!strncmp(h, "$argon2id$", 10));
    CHECK(password_verify(h, "saddle bronc 8 seconds"));
    CHECK(!password_verify(h, "saddle bronc 8 second"));
    CHECK(!password_verify("not-a-hash", "x"));
    CHECK(!password_verify(NULL, "x"));
    char *h2 = password_hash("saddle bronc 8 seconds");
    CHECK(strcmp(h, h2) != 0);        /* salted */
    CHECK(password_dummy_hash() != NULL);
    free(h); free(h2);
}

TEST(auth_tokens_access_and_refresh)
{
    char err[200];
    REQUIRE(tokens_init("0123456789abcdef0123456789abcdef", "/nonexistent", false, err, sizeof err) == 0);
    char *t = tokens_access_issue(7, 9, "a@b.co", 1000, 60);
    int64_t uid = 0, sid = 0;
    CHECK(tokens_access_verify(t, 1010, &uid, &sid) == 0);
    CHECK_INT(uid, 7);
    CHECK_INT(sid, 9);
    CHECK(tokens_access_verify(t, 1061, &uid, &sid) != 0);
    char h1[TOKEN_HASH_HEX], h2[TOKEN_HASH_HEX];
    char *r = tokens_refresh_new(h1);
    REQUIRE(r);
    tokens_refresh_hash(r, h2);
    CHECK_STR(h1, h2);
    CHECK(strlen(r) >= 40);
    free(t); free(r);
    /* production refuses a missing or short secret */
    CHECK(tokens_init(NULL, "/nonexistent", true, err, sizeof err) != 0);
    CHECK(tokens_init("short", "/nonexistent", true, err, sizeof err) != 0);
    /* generated secret persists across restarts */
    char *dir = test_tmpdir();
    REQUIRE(tokens_init(NULL, dir, false, err, sizeof err) == 0);
    char *t1 = tokens_access_issue(1, 1, "", 1000, 60);
    REQUIRE(tokens_init(NULL, dir, false, err, sizeof err) == 0);
    CHECK(tokens_access_verify(t1, 1001, &uid, &sid) == 0);
    tokens_shutdown();
    free(t1); free(dir);
}
