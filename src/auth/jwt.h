/* jwt.h — JSON Web Tokens, the two kinds Rodeo handles:
 *  - HS256 access tokens Rodeo issues and verifies itself (JWT_SECRET);
 *  - RS256 ID tokens from Google, verified against a JWKS key set (see google.h).
 * Verification is strict: exactly three base64url parts, a JSON header whose "alg" is the one
 * expected (so "none" and algorithm confusion are rejected), signature checked in constant
 * time before the claims are trusted, "exp" required and in the future. */
#ifndef RODEO_AUTH_JWT_H
#define RODEO_AUTH_JWT_H
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

enum jwt_err {
    JWT_OK = 0,
    JWT_MALFORMED,       /* not three parts, bad base64url, bad JSON */
    JWT_BAD_ALG,         /* header alg is not the expected one */
    JWT_BAD_SIGNATURE,
    JWT_EXPIRED,
    JWT_NO_KEY,          /* RS256: no key with the header's kid */
};
const char *jwt_err_str(enum jwt_err e);

/* Signs claims (not stolen) with HS256; returns a malloc'd token. */
char *jwt_sign_hs256(const json_t *claims, const void *key, size_t key_len);
/* Verifies an HS256 token; on JWT_OK *claims_out is a new reference the caller owns.
 * now_s is the current Unix time (passed in so tests can move the clock). */
enum jwt_err jwt_verify_hs256(const char *token, const void *key, size_t key_len, int64_t now_s,
                              json_t **claims_out);

/* Splits and decodes a token's header and payload without verifying (for kid lookup).
 * Returns JWT_OK with new references, else JWT_MALFORMED. */
enum jwt_err jwt_decode_unverified(const char *token, json_t **header, json_t **claims);

/* Verifies an RS256 signature over the token's signing input with the RSA public key
 * given as JWK modulus n and exponent e (base64url strings), and exp. */
enum jwt_err jwt_verify_rs256(const char *token, const char *n_b64, const char *e_b64,
                              int64_t now_s, json_t **claims_out);
#endif
