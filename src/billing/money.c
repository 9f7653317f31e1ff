/* money.c — exact decimal parsing of dollar amounts into integer cents.
 * See money.h for why doubles are only ever compared, never computed with. */
#include "billing/money.h"
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(char *err, size_t errlen, const char *msg)
{
    if (err && errlen) snprintf(err, errlen, "%s", msg);
    return -1;
}

int money_parse_cents(const char *s, int64_t min_cents, int64_t max_cents, int64_t *cents,
                      char *err, size_t errlen)
{
    if (!s || !*s) return fail(err, errlen, "amount is empty");
    const char *p = s;
    int64_t whole = 0;
    int ndigits = 0;
    /* Whole part: at most 15 digits keeps whole*100 far from int64 overflow; the bound
     * check below rejects anything that large anyway. */
    while (*p >= '0' && *p <= '9') {
        if (++ndigits > 15) return fail(err, errlen, "amount is too large");
        whole = whole * 10 + (*p - '0');
        p++;
    }
    if (ndigits == 0) return fail(err, errlen, "amount must start with a digit");
    int64_t frac = 0;
    if (*p == '.') {
        p++;
        int nfrac = 0;
        while (*p >= '0' && *p <= '9') {
            if (++nfrac > 2) return fail(err, errlen, "amount has more than two decimal places");
            frac = frac * 10 + (*p - '0');
            p++;
        }
        if (nfrac == 0) return fail(err, errlen, "amount has no digits after the decimal point");
        if (nfrac == 1) frac *= 10;
    }
    if (*p != '\0') return fail(err, errlen, "amount must be a plain decimal like 19.99");
    int64_t v = whole * 100 + frac;
    if (v < min_cents) return fail(err, errlen, "amount is below the minimum");
    if (v > max_cents) return fail(err, errlen, "amount is above the maximum");
    *cents = v;
    return 0;
}

int money_cents_from_json(const json_t *v, int64_t min_cents, int64_t max_cents,
                          int64_t *cents, char *err, size_t errlen)
{
    if (!v) return fail(err, errlen, "amount is required");
    if (json_is_string(v))
        return money_parse_cents(json_string_value(v), min_cents, max_cents, cents, err, errlen);
    if (json_is_integer(v)) {
        json_int_t d = json_integer_value(v);
        if (d < 0) return fail(err, errlen, "amount is below the minimum");
        if (d > max_cents / 100 + 1) return fail(err, errlen, "amount is above the maximum");
        int64_t c = (int64_t)d * 100;
        if (c < min_cents) return fail(err, errlen, "amount is below the minimum");
        if (c > max_cents) return fail(err, errlen, "amount is above the maximum");
        *cents = c;
        return 0;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (!isfinite(d) || d < 0) return fail(err, errlen, "amount is below the minimum");
        if (d > (double)max_cents / 100.0 + 1.0) return fail(err, errlen, "amount is above the maximum");
        /* The candidate decimal is d rounded to two places by printf (correctly rounded);
         * it is the client's value exactly when it parses back to the same double. */
        char text[64];
        snprintf(text, sizeof text, "%.2f", d);
        if (strtod(text, NULL) != d)
            return fail(err, errlen, "amount has more than two decimal places");
        return money_parse_cents(text, min_cents, max_cents, cents, err, errlen);
    }
    return fail(err, errlen, "amount must be a number");
}

char *money_format(int64_t cents, char *out, size_t cap)
{
    uint64_t a = cents < 0 ? (uint64_t)0 - (uint64_t)cents : (uint64_t)cents;
    snprintf(out, cap, "%s%" PRIu64 ".%02u", cents < 0 ? "-" : "", a / 100, (unsigned)(a % 100));
    return out;
}

json_t *money_json_dollars(int64_t cents)
{
    if (cents % 100 == 0) return json_integer(cents / 100);
    char text[32];
    money_format(cents, text, sizeof text);
    return json_real(strtod(text, NULL));
}
