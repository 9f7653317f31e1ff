/* unicode.h — the few Unicode properties the CLIP tokenizer needs, from tables generated
 * out of Python's unicodedata (unicode_tables.c; regenerate with tests/tools/ml_gen_unicode.py)
 * so that our pre-tokenisation matches the reference regex on every code point. */
#ifndef RODEO_ML_UNICODE_H
#define RODEO_ML_UNICODE_H
#include <stddef.h>
#include <stdint.h>

extern const uint32_t ml_uni_letter[][2];
extern const size_t ml_uni_letter_len;
extern const uint32_t ml_uni_number[][2];
extern const size_t ml_uni_number_len;
extern const uint32_t ml_uni_space[][2];
extern const size_t ml_uni_space_len;
extern const uint32_t ml_uni_lower[][2];   /* (code point, its single-code-point lower case) */
extern const size_t ml_uni_lower_len;

int      uni_is_letter(uint32_t cp);       /* \p{L} */
int      uni_is_number(uint32_t cp);       /* \p{N} */
int      uni_is_space(uint32_t cp);        /* Python str.isspace / regex \s */
uint32_t uni_lower(uint32_t cp);           /* simple lower case (U+0130 is handled by callers) */
/* Decodes one UTF-8 sequence at s (n bytes available). Returns its length (1..4) and the code
 * point in *cp; an invalid or truncated sequence returns 1 with *cp = 0xFFFFFFFF (a raw byte). */
int      uni_decode(const unsigned char *s, size_t n, uint32_t *cp);
/* Encodes cp as UTF-8 into out (4 bytes room); returns the length. */
int      uni_encode(uint32_t cp, char *out);
#endif
