/* crypto.h — the few primitives Rodeo needs, as thin wrappers over OpenSSL.
 * Hashes and MACs write raw bytes; *_hex variants write lowercase hex plus NUL. */
#ifndef RODEO_CORE_CRYPTO_H
#define RODEO_CORE_CRYPTO_H
#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN 32

void sha256(const void *data, size_t len, uint8_t out[SHA256_LEN]);
void sha256_hex(const void *data, size_t len, char out[2 * SHA256_LEN + 1]);
void hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
                 uint8_t out[SHA256_LEN]);

/* Cryptographically secure random bytes; returns 0 on success. */
int  random_bytes(void *out, size_t len);
/* n random bytes rendered as URL-safe base64 without padding (a token); caller frees. */
char *random_token(size_t nbytes);

/* Constant-time comparison: 1 when equal (lengths must match). */
int  ct_equal(const void *a, const void *b, size_t len);

void hex_encode(const uint8_t *in, size_t len, char *out); /* out: 2*len+1 */
/* Decodes hex; returns bytes written or -1 on bad input / overflow of out_cap. */
long hex_decode(const char *in, size_t len, uint8_t *out, size_t out_cap);

/* Base64url (RFC 4648 §5) without padding. Caller frees the result. decode accepts
 * input with or without '=' padding, rejects other characters, returns NULL on error. */
char    *base64url_encode(const void *in, size_t len);
uint8_t *base64url_decode(const char *in, size_t len, size_t *out_len);
#endif
