/* password.h — password hashing (argon2id, OWASP parameters) and the strength policy. */
#ifndef RODEO_AUTH_PASSWORD_H
#define RODEO_AUTH_PASSWORD_H
#include <stdbool.h>
#include <stddef.h>

#define PASSWORD_MIN_LEN 8
#define PASSWORD_MAX_LEN 256      /* bounds hashing cost per request */

/* Returns NULL when acceptable, else a human reason ("password must be at least 8
 * characters", ...). email (may be NULL) is rejected as the password. */
const char *password_weakness(const char *password, const char *email);
/* argon2id encoded hash ("$argon2id$v=19$m=...") in a malloc'd string; NULL on failure. */
char *password_hash(const char *password);
/* Constant-time verification against an encoded hash. */
bool password_verify(const char *encoded, const char *password);
/* A valid hash of a random password, used to spend the same time when the email is
 * unknown (no user enumeration through timing). */
const char *password_dummy_hash(void);
#endif
