/* jwt.c — strict JWT encode/verify (HS256 with HMAC, RS256 with OpenSSL EVP). */
#include "auth/jwt.h"
#include "core/buf.h"
#include "core/crypto.h"
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <stdlib.h>
#include <string.h>

const char *jwt_err_str(enum jwt_err e)
{
    switch (e) {
    case JWT_OK: return "ok";
    case JWT_MALFORMED: return "malformed token";
    case JWT_BAD_ALG: return "unexpected signing algorithm";
    case JWT_BAD_SIGNATURE: return "bad signature";
    case JWT_EXPIRED: return "token expired";
    case JWT_NO_KEY: return "unknown signing key";
    }
    return "invalid token";
}

static json_t *b64_json(const char *s, size_t len)
{
    size_t n;
    uint8_t *raw = base64url_decode(s, len, &n);
    if (!raw) return NULL;
    json_t *j = json_loadb((const char *)raw, n, JSON_REJECT_DUPLICATES, NULL);
    free(raw);
    if (j && !json_is_object(j)) { json_decref(j); return NULL; }
    return j;
}

/* Splits "a.b.c" into its three parts; rejects anything else (including empty parts
 * before the signature, and oversized tokens). */
static int split3(const char *token, const char **p, size_t *len)
{
    if (!token) return -1;
    size_t total = strlen(token);
    if (total > 16384) return -1;
    const char *d1 = strchr(token, '.');
    if (!d1) return -1;
    const char *d2 = strchr(d1 + 1, '.');
    if (!d2 || strchr(d2 + 1, '.')) return -1;
    p[0] = token; len[0] = (size_t)(d1 - token);
    p[1] = d1 + 1; len[1] = (size_t)(d2 - d1 - 1);
    p[2] = d2 + 1; len[2] = total - (size_t)(d2 + 1 - token);
    return (len[0] && len[1]) ? 0 : -1;
}

enum jwt_err jwt_decode_unverified(const char *token, json_t **header, json_t **claims)
{
    const char *p[3];
    size_t len[3];
    if (split3(token, p, len)) return JWT_MALFORMED;
    json_t *h = b64_json(p[0], len[0]), *c = b64_json(p[1], len[1]);
    if (!h || !c) { json_decref(h); json_decref(c); return JWT_MALFORMED; }
    *header = h;
    *claims = c;
    return JWT_OK;
}

char *jwt_sign_hs256(const json_t *claims, const void *key, size_t key_len)
{
    static const char header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
    char *payload = json_dumps(claims, JSON_COMPACT);
    char *h64 = base64url_encode(header, sizeof header - 1);
    char *p64 = base64url_encode(payload, strlen(payload));
    buf_t b = {0};
    buf_printf(&b, "%s.%s", h64, p64);
    uint8_t mac[SHA256_LEN];
    hmac_sha256(key, key_len, b.data, b.len, mac);
    char *s64 = base64url_encode(mac, sizeof mac);
    buf_printf(&b, ".%s", s64);
    free(payload); free(h64); free(p64); free(s64);
    return buf_steal(&b);
}

static enum jwt_err check_header_alg(const json_t *h, const char *alg)
{
    const char *a = json_string_value(json_object_get(h, "alg"));
    return (a && !strcmp(a, alg)) ? JWT_OK : JWT_BAD_ALG;
}

static enum jwt_err check_exp(const json_t *c, int64_t now_s)
{
    json_t *exp = json_object_get(c, "exp");
    if (!json_is_integer(exp) && !json_is_real(exp)) return JWT_MALFORMED;
    double e = json_number_value(exp);
    return (double)now_s < e ? JWT_OK : JWT_EXPIRED;
}

enum jwt_err jwt_verify_hs256(const char *token, const void *key, size_t key_len, int64_t now_s,
                              json_t **claims_out)
{
    const char *p[3];
    size_t len[3];
    if (split3(token, p, len)) return JWT_MALFORMED;
    json_t *h = b64_json(p[0], len[0]);
    if (!h) return JWT_MALFORMED;
    enum jwt_err e = check_header_alg(h, "HS256");
    json_decref(h);
    if (e) return e;
    size_t sig_len;
    uint8_t *sig = base64url_decode(p[2], len[2], &sig_len);
    if (!sig) return JWT_MALFORMED;
    uint8_t mac[SHA256_LEN];
    hmac_sha256(key, key_len, token, len[0] + 1 + len[1], mac);
    int ok = sig_len == SHA256_LEN && ct_equal(sig, mac, SHA256_LEN);
    free(sig);
    if (!ok) return JWT_BAD_SIGNATURE;
    json_t *c = b64_json(p[1], len[1]);
    if (!c) return JWT_MALFORMED;
    if ((e = check_exp(c, now_s))) { json_decref(c); return e; }
    *claims_out = c;
    return JWT_OK;
}

/* Builds an RSA public key from JWK n/e. */
static EVP_PKEY *rsa_from_jwk(const char *n_b64, const char *e_b64)
{
    size_t nl, el;
    uint8_t *n = base64url_decode(n_b64, strlen(n_b64), &nl);
    uint8_t *e = base64url_decode(e_b64, strlen(e_b64), &el);
    EVP_PKEY *pkey = NULL;
    if (n && e && nl >= 128 && nl <= 1024 && el >= 1 && el <= 8) {
        BIGNUM *bn = BN_bin2bn(n, (int)nl, NULL), *be = BN_bin2bn(e, (int)el, NULL);
        OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
        OSSL_PARAM *params = NULL;
        EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
        if (bn && be && bld && ctx &&
            OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) &&
            OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) &&
            (params = OSSL_PARAM_BLD_to_param(bld)) &&
            EVP_PKEY_fromdata_init(ctx) > 0)
            EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params);
        OSSL_PARAM_free(params);
        OSSL_PARAM_BLD_free(bld);
        EVP_PKEY_CTX_free(ctx);
        BN_free(bn);
        BN_free(be);
    }
    free(n);
    free(e);
    return pkey;
}

enum jwt_err jwt_verify_rs256(const char *token, const char *n_b64, const char *e_b64,
                              int64_t now_s, json_t **claims_out)
{
    const char *p[3];
    size_t len[3];
    if (split3(token, p, len)) return JWT_MALFORMED;
    json_t *h = b64_json(p[0], len[0]);
    if (!h) return JWT_MALFORMED;
    enum jwt_err e = check_header_alg(h, "RS256");
    json_decref(h);
    if (e) return e;
    size_t sig_len;
    uint8_t *sig = base64url_decode(p[2], len[2], &sig_len);
    if (!sig) return JWT_MALFORMED;
    EVP_PKEY *key = rsa_from_jwk(n_b64, e_b64);
    int ok = 0;
    if (key) {
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        if (md && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key) == 1)
            ok = EVP_DigestVerify(md, sig, sig_len, (const uint8_t *)token, len[0] + 1 + len[1]) == 1;
        EVP_MD_CTX_free(md);
        EVP_PKEY_free(key);
    }
    free(sig);
    if (!key) return JWT_NO_KEY;
    if (!ok) return JWT_BAD_SIGNATURE;
    json_t *c = b64_json(p[1], len[1]);
    if (!c) return JWT_MALFORMED;
    if ((e = check_exp(c, now_s))) { json_decref(c); return e; }
    *claims_out = c;
    return JWT_OK;
}
