/* google.h — "Sign in with Google": verifies a Google ID token for real.
 * The RS256 signature is checked against the key set at GOOGLE_JWKS_URL (fetched with
 * libcurl, cached until its Cache-Control max-age, refetched once when a token names an
 * unknown kid), then aud == GOOGLE_CLIENT_ID, iss is Google's, exp is in the future and
 * email_verified is true. */
#ifndef RODEO_AUTH_GOOGLE_H
#define RODEO_AUTH_GOOGLE_H
#include <jansson.h>
#include <stdint.h>

/* Returns 0 and the verified claims (caller owns) or -1 with a human reason in *why. */
int  google_verify_id_token(const char *token, const char *client_id, const char *jwks_url,
                            int64_t now_s, json_t **claims, const char **why);
/* Drops the cached key set (tests). */
void google_jwks_reset(void);
#endif
