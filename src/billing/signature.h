/* signature.h — Stripe webhook signatures (the `Stripe-Signature` header).
 *
 * The header is a comma list of key=value pairs: one `t=<unix seconds>` and one or more
 * `v1=<64 hex>` (Stripe sends several while a secret is being rolled); other schemes (v0)
 * are ignored. The signed payload is "<t>.<raw body bytes>", HMAC-SHA256 with the endpoint
 * secret (the whole `whsec_...` string, as Stripe's libraries use it). A v1 matches when
 * it equals the MAC under a constant-time compare; the timestamp must be within tolerance
 * of now in either direction, so a captured request cannot be replayed later. */
#ifndef RODEO_BILLING_SIGNATURE_H
#define RODEO_BILLING_SIGNATURE_H
#include <stddef.h>
#include <stdint.h>

#define BILLING_SIG_TOLERANCE_S 300

enum billing_sig_result {
    BILLING_SIG_OK = 0,
    BILLING_SIG_MALFORMED,      /* header missing pieces, bad timestamp, too long */
    BILLING_SIG_NO_MATCH,       /* no v1 equals the expected MAC */
    BILLING_SIG_EXPIRED,        /* timestamp outside the tolerance */
    BILLING_SIG_NO_SECRET,      /* secret NULL or empty: never verify as success */
};

/* Verifies header against body[0..len). now_s is the current Unix time in seconds;
 * tolerance_s <= 0 means BILLING_SIG_TOLERANCE_S. Headers longer than 4 KiB or with more
 * than 16 signatures are MALFORMED (bounded work per request). */
enum billing_sig_result billing_signature_verify(const char *header, const void *body, size_t len,
                                                 const char *secret, int64_t now_s,
                                                 int tolerance_s);

/* Human-readable reason for a result (static string). */
const char *billing_signature_reason(enum billing_sig_result r);

/* Builds a valid header "t=<t>,v1=<hex>" for body (used by tests and benchmarks, the way
 * Stripe signs). Caller frees. */
char *billing_signature_header(const char *secret, int64_t t, const void *body, size_t len);
#endif
