/* bm25_text.c — text analysis for the BM25 index: word splitting, case folding, stop words
 * and a light English suffix stemmer. Deliberately small: retrieval over a few thousand
 * rodeo passages needs "ropes"/"roping"/"roped" to meet, not a full Porter stemmer, and
 * the same function runs on documents and queries so over-stemming only merges rare words. */
#include "index/bm25.h"
#include <stdlib.h>
#include <string.h>

/* Sorted for bsearch. Question words are included: "how"/"what" carry no topic. */
static const char *const stop_words[] = {
    "a", "about", "after", "all", "also", "am", "an", "and", "any", "are", "as", "at", "be",
    "because", "been", "before", "being", "between", "both", "but", "by", "can", "could",
    "did", "do", "does", "doing", "during", "each", "else", "even", "every", "few", "for",
    "from", "get", "gets", "got", "had", "has", "have", "having", "he", "her", "here", "hers",
    "him", "his", "how", "i", "if", "in", "into", "is", "it", "its", "itself", "just", "may",
    "me", "might", "more", "most", "much", "must", "my", "no", "nor", "not", "of", "off", "on",
    "once", "only", "or", "other", "our", "out", "over", "own", "same", "she", "should", "so",
    "some", "such", "than", "that", "the", "their", "them", "then", "there", "these", "they",
    "this", "those", "through", "to", "too", "under", "until", "up", "very", "was", "we",
    "well", "were", "what", "when", "where", "which", "while", "who", "whom", "why", "will",
    "with", "would", "you", "your", "yours",
};

static int cmp_word(const void *key, const void *elem)
{
    return strcmp((const char *)key, *(const char *const *)elem);
}

static int is_stop(const char *w)
{
    return bsearch(w, stop_words, sizeof stop_words / sizeof *stop_words, sizeof *stop_words,
                   cmp_word) != NULL;
}

static int ends_with(const char *w, size_t n, const char *suf)
{
    size_t m = strlen(suf);
    return n >= m && memcmp(w + n - m, suf, m) == 0;
}

static int is_vowel(char c) { return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u'; }

/* Strips plural and verb endings in place; returns the new length. Only ASCII words are
 * stemmed (a word with UTF-8 bytes is left as written). */
static size_t stem(char *w, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)w[i] >= 0x80 || (w[i] >= '0' && w[i] <= '9')) return n;
    if (n > 4 && ends_with(w, n, "ies")) { n -= 3; w[n++] = 'y'; }
    else if (n > 4 && ends_with(w, n, "sses")) n -= 2;
    else if (n > 3 && w[n - 1] == 's' && w[n - 2] != 's' && w[n - 2] != 'u' && w[n - 2] != 'i')
        n -= 1;
    int stripped = 0;
    if (n > 5 && ends_with(w, n, "ing")) { n -= 3; stripped = 1; }
    else if (n > 4 && ends_with(w, n, "ed") && w[n - 3] != 'e') { n -= 2; stripped = 1; }
    if (stripped) {
        /* "hopping" -> "hopp" -> "hop"; keep ll/ss/zz ("rolling" -> "roll"). */
        if (n > 2 && w[n - 1] == w[n - 2] && !is_vowel(w[n - 1]) && w[n - 1] != 'l' &&
            w[n - 1] != 's' && w[n - 1] != 'z')
            n--;
    }
    /* "rope"/"roping"/"roped" all end as "rop". */
    if (n > 3 && w[n - 1] == 'e') n--;
    return n;
}

static int word_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}

size_t bm25_tokenize(const char *text, size_t len, bm25_token_fn fn, void *ud)
{
    size_t count = 0, i = 0;
    char w[BM25_MAX_TOKEN + 1];
    while (i < len) {
        while (i < len && !word_byte((unsigned char)text[i])) i++;
        size_t start = i;
        while (i < len && word_byte((unsigned char)text[i])) i++;
        size_t n = i - start;
        if (n == 0 || n > BM25_MAX_TOKEN) continue;
        for (size_t j = 0; j < n; j++) {
            char c = text[start + j];
            w[j] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
        }
        w[n] = 0;
        if (n == 1 && !(w[0] >= '0' && w[0] <= '9')) continue;   /* stray letters */
        if (is_stop(w)) continue;
        n = stem(w, n);
        fn(w, n, ud);
        count++;
    }
    return count;
}
