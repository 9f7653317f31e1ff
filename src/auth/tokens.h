/* tokens.h — Rodeo's own tokens.
 * Access tokens: JWT HS256 {sub: "<user id>", sid: <session id>, email, iat, exp, typ:
 * "access"}, short-lived (ACCESS_TOKEN_TTL_S). A revoked session invalidates its access
 * tokens at once, because every request checks the session (store_user_principal).
 * Refresh tokens: 256-bit random, opaque, only their SHA-256 is stored, rotated on use.
 * The signing secret is JWT_SECRET; when unset outside production a random one is generated
 * once and kept in <data_dir>/jwt_secret (0600), so restarts keep sessions valid. */
#ifndef RODEO_AUTH_TOKENS_H
#define RODEO_AUTH_TOKENS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TOKEN_HASH_HEX 65

/* Sets up the signing key. Returns 0 or -1 with a message (production without a strong
 * secret is refused: at least 32 bytes). */
int  tokens_init(const char *secret, const char *data_dir, bool production, char *err, size_t errlen);
void tokens_shutdown(void);

char *tokens_access_issue(int64_t user_id, int64_t session_id, const char *email, int64_t now_s,
                          int ttl_s);
/* 0 on success; -1 for anything invalid (bad signature, expired, wrong typ, bad sub). */
int   tokens_access_verify(const char *token, int64_t now_s, int64_t *user_id, int64_t *session_id);

/* New random refresh token (malloc'd) and its hash (hex). */
char *tokens_refresh_new(char hash_hex[TOKEN_HASH_HEX]);
void  tokens_refresh_hash(const char *token, char hash_hex[TOKEN_HASH_HEX]);
#endif
