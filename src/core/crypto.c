/* crypto.c — OpenSSL-backed hashing, MACs, randomness and encodings. */
#include "core/crypto.h"
#include "core/buf.h"
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

void sha256(const void *data, size_t len, uint8_t out[SHA256_LEN])
{
    unsigned int n = 0;
    EVP_Digest(data, len, out, &n, EVP_sha256(), NULL);
}

void sha256_hex(const void *data, size_t len, char out[2 * SHA256_LEN + 1])
{
    uint8_t d[SHA256_LEN];
    sha256(data, len, d);
    hex_encode(d, SHA256_LEN, out);
}

void hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
                 uint8_t out[SHA256_LEN])
{
    unsigned int n = 0;
    HMAC(EVP_sha256(), key, (int)key_len, data, len, out, &n);
}

int random_bytes(void *out, size_t len)
{
    return RAND_bytes(out, (int)len) == 1 ? 0 : -1;
}

char *random_token(size_t nbytes)
{
    uint8_t raw[128];
    if (nbytes > sizeof raw || random_bytes(raw, nbytes) != 0) return NULL;
    return base64url_encode(raw, nbytes);
}

int ct_equal(const void *a, const void *b, size_t len)
{
    return CRYPTO_memcmp(a, b, len) == 0;
}

void hex_encode(const uint8_t *in, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * len] = 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

long hex_decode(const char *in, size_t len, uint8_t *out, size_t out_cap)
{
    if (len % 2 || len / 2 > out_cap) return -1;
    for (size_t i = 0; i < len / 2; i++) {
        int hi = hexval(in[2 * i]), lo = hexval(in[2 * i + 1]);
        if (hi < 0 || lo < 0) return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return (long)(len / 2);
}

static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

char *base64url_encode(const void *in, size_t len)
{
    const uint8_t *p = in;
    char *out = xmalloc((len + 2) / 3 * 4 + 1), *o = out;
    size_t i = 0;
    for (; i + 2 < len; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        *o++ = b64url[v >> 18 & 63]; *o++ = b64url[v >> 12 & 63];
        *o++ = b64url[v >> 6 & 63];  *o++ = b64url[v & 63];
    }
    if (len - i == 1) {
        uint32_t v = (uint32_t)p[i] << 16;
        *o++ = b64url[v >> 18 & 63]; *o++ = b64url[v >> 12 & 63];
    } else if (len - i == 2) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
        *o++ = b64url[v >> 18 & 63]; *o++ = b64url[v >> 12 & 63]; *o++ = b64url[v >> 6 & 63];
    }
    *o = 0;
    return out;
}

static int b64val(char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-' || c == '+') return 62;
    if (c == '_' || c == '/') return 63;
    return -1;
}

uint8_t *base64url_decode(const char *in, size_t len, size_t *out_len)
{
    while (len && in[len - 1] == '=') len--;
    if (len % 4 == 1) return NULL;
    uint8_t *out = xmalloc(len / 4 * 3 + 3), *o = out;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        int v = b64val(in[i]);
        if (v < 0) { free(out); return NULL; }
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) { bits -= 8; *o++ = (uint8_t)(acc >> bits); }
    }
    *out_len = (size_t)(o - out);
    return out;
}
