/* str.h — small string helpers: strict number parsing, UTF-8 validation and slicing,
 * case-insensitive compare. All functions are pure and thread-safe. */
#ifndef RODEO_CORE_STR_H
#define RODEO_CORE_STR_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Parses a whole decimal integer (optional leading '-', no spaces, no trailing junk,
 * no overflow). Returns true on success. */
bool str_to_i64(const char *s, int64_t *out);
/* Parses a boolean the way FastAPI does: true/false/1/0/yes/no/on/off, any case. */
bool str_to_bool(const char *s, bool *out);

bool str_eq_ci(const char *a, const char *b);
/* True when item is one of the entries of a comma-separated list (spaces around entries
 * ignored), compared exactly or ignoring ASCII case. Used for CORS_ORIGINS, OPENAI_MODELS. */
bool str_list_contains(const char *list, const char *item, bool ignore_case);
bool str_starts_with(const char *s, const char *prefix);

/* True when s[0..len) is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF). */
bool utf8_valid(const char *s, size_t len);
/* Number of code points in well-formed UTF-8. */
size_t utf8_len(const char *s, size_t len);
/* Byte length of the first max_cp code points of s (never splits a code point). */
size_t utf8_prefix_bytes(const char *s, size_t len, size_t max_cp);
/* Largest n <= len such that s[0..n) does not end inside a code point. */
size_t utf8_boundary(const char *s, size_t len);

/* Lower-cases ASCII letters in place; returns s. */
char *str_lower(char *s);
/* Trims ASCII whitespace at both ends in place; returns s (shifted). */
char *str_trim(char *s);
#endif
