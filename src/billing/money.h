/* money.h — amounts of money as integer cents, parsed exactly and bounded.
 *
 * Money never goes through float arithmetic. Text amounts ("19.99") are parsed digit by
 * digit. JSON numbers arrive from jansson as doubles; money_cents_from_double() accepts a
 * double only when it is exactly the nearest double to a decimal with at most two fraction
 * digits (so 19.99 -> 1999, never 1998), which is the value the client wrote. */
#ifndef RODEO_BILLING_MONEY_H
#define RODEO_BILLING_MONEY_H
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* Stripe's largest amount for a USD charge is 99999999 cents; a smallest charge is 50. */
#define MONEY_MIN_CHARGE_CENTS 50
#define MONEY_MAX_CHARGE_CENTS 99999999LL

/* Parses "19.99", "20", "0.5" (ASCII digits, optional '.' followed by one or two digits).
 * Rejects signs, exponents, spaces, thousands separators, locale commas, more than two
 * fraction digits, and values outside [min_cents, max_cents]. Returns 0 and sets *cents, or
 * -1 with a human-readable reason in err. */
int money_parse_cents(const char *s, int64_t min_cents, int64_t max_cents, int64_t *cents,
                      char *err, size_t errlen);

/* Same contract for a JSON value: a string (parsed as above), an integer (whole dollars) or
 * a real (accepted only when exact to the cent, see above). */
int money_cents_from_json(const json_t *v, int64_t min_cents, int64_t max_cents,
                          int64_t *cents, char *err, size_t errlen);

/* "19.99" for 1999, "-0.05" for -5. out needs at least 24 bytes. Returns out. */
char *money_format(int64_t cents, char *out, size_t cap);

/* The dollars value for the contract's JSON number fields (display only: the amount was
 * already settled in cents; this is the one place a double is made from money). */
json_t *money_json_dollars(int64_t cents);
#endif
