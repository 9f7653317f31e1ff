/* signature.c — verification of Stripe's webhook signature header (see signature.h). */
#include "billing/signature.h"
#include "core/buf.h"
#include "core/crypto.h"
#include <stdio.h>
#include <string.h>

#define SIG_HEADER_MAX 4096
#define SIG_MAX_V1     16

const char *billing_signature_reason(enum billing_sig_result r)
{
    switch (r) {
    case BILLING_SIG_OK:        return "ok";
    case BILLING_SIG_MALFORMED: return "malformed Stripe-Signature header";
    case BILLING_SIG_NO_MATCH:  return "no signature matches the payload";
    case BILLING_SIG_EXPIRED:   return "timestamp outside the tolerance";
    case BILLING_SIG_NO_SECRET: return "webhook secret not configured";
    }
    return "unknown";
}

/* MAC of "<t>.<body>" without building the concatenation: HMAC over one buffer needs
 * the bytes contiguous, so copy once (bodies are capped by the HTTP layer). */
static void sig_mac(const char *secret, const char *tstr, size_t tlen, const void *body,
                    size_t len, uint8_t mac[SHA256_LEN])
{
    buf_t b = {0};
    buf_reserve(&b, tlen + 1 + len);
    buf_append(&b, tstr, tlen);
    buf_putc(&b, '.');
    buf_append(&b, body, len);
    hmac_sha256(secret, strlen(secret), b.data, b.len, mac);
    buf_free(&b);
}

enum billing_sig_result billing_signature_verify(const char *header, const void *body, size_t len,
                                                 const char *secret, int64_t now_s,
                                                 int tolerance_s)
{
    if (!secret || !*secret) return BILLING_SIG_NO_SECRET;
    if (!header) return BILLING_SIG_MALFORMED;
    size_t hlen = strlen(header);
    if (hlen == 0 || hlen > SIG_HEADER_MAX) return BILLING_SIG_MALFORMED;
    if (tolerance_s <= 0) tolerance_s = BILLING_SIG_TOLERANCE_S;

    const char *tstr = NULL;
    size_t tlen = 0;
    const char *v1[SIG_MAX_V1];
    size_t v1len[SIG_MAX_V1];
    int nv1 = 0;
    const char *p = header, *end = header + hlen;
    while (p < end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *item_end = comma ? comma : end;
        while (p < item_end && *p == ' ') p++;        /* tolerate ", " separators */
        const char *eq = memchr(p, '=', (size_t)(item_end - p));
        if (!eq) return BILLING_SIG_MALFORMED;
        size_t klen = (size_t)(eq - p);
        const char *val = eq + 1;
        size_t vlen = (size_t)(item_end - val);
        if (klen == 1 && p[0] == 't') {
            if (tstr) return BILLING_SIG_MALFORMED;   /* two timestamps: ambiguous */
            tstr = val;
            tlen = vlen;
        } else if (klen == 2 && p[0] == 'v' && p[1] == '1') {
            if (nv1 == SIG_MAX_V1) return BILLING_SIG_MALFORMED;
            v1[nv1] = val;
            v1len[nv1] = vlen;
            nv1++;
        }
        p = comma ? comma + 1 : end;
    }
    if (!tstr || tlen == 0 || tlen > 12 || nv1 == 0) return BILLING_SIG_MALFORMED;
    int64_t t = 0;
    for (size_t i = 0; i < tlen; i++) {
        if (tstr[i] < '0' || tstr[i] > '9') return BILLING_SIG_MALFORMED;
        t = t * 10 + (tstr[i] - '0');
    }
    if (t < now_s - tolerance_s || t > now_s + tolerance_s) return BILLING_SIG_EXPIRED;

    uint8_t mac[SHA256_LEN];
    sig_mac(secret, tstr, tlen, body, len, mac);
    int matched = 0;
    for (int i = 0; i < nv1; i++) {
        uint8_t got[SHA256_LEN];
        if (v1len[i] != 2 * SHA256_LEN) continue;
        if (hex_decode(v1[i], v1len[i], got, sizeof got) != SHA256_LEN) continue;
        matched |= ct_equal(got, mac, SHA256_LEN);    /* no early exit: same work per entry */
    }
    return matched ? BILLING_SIG_OK : BILLING_SIG_NO_MATCH;
}

char *billing_signature_header(const char *secret, int64_t t, const void *body, size_t len)
{
    char tstr[24];
    int tlen = snprintf(tstr, sizeof tstr, "%lld", (long long)t);
    uint8_t mac[SHA256_LEN];
    sig_mac(secret, tstr, (size_t)tlen, body, len, mac);
    char hex[2 * SHA256_LEN + 1];
    hex_encode(mac, SHA256_LEN, hex);
    buf_t b = {0};
    buf_printf(&b, "t=%s,v1=%s", tstr, hex);
    return buf_steal(&b);
}
