/* bpe.c — CLIP byte-level BPE (see bpe.h). Symbols of a word are ranges of one byte string
 * (the word in the byte alphabet plus "</w>"), so a merge only deletes a boundary. Merge
 * ranks and the vocabulary live in two open-addressing string tables. */
#include "ml/bpe.h"
#include "ml/unicode.h"
#include "core/buf.h"
#include <jansson.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    uint32_t *slot;     /* index+1 into entries, 0 = empty */
    size_t    mask;
    struct { uint32_t key; int32_t val; } *ent;   /* key = offset into keys */
    size_t    n, cap;
    buf_t     keys;     /* NUL-separated key strings */
} strmap_t;

struct bpe {
    strmap_t vocab, ranks;
    char     byte_enc[256][3];      /* UTF-8 of the byte-alphabet code point, NUL-padded */
    uint8_t  byte_len[256];
    int32_t  sot, eot;
};

static uint64_t hash_str(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) { h ^= (unsigned char)s[i]; h *= 1099511628211ull; }
    return h;
}

static void map_init(strmap_t *m, size_t expect)
{
    size_t cap = 16;
    while (cap < expect * 2) cap <<= 1;
    m->slot = xcalloc(cap, sizeof *m->slot);
    m->mask = cap - 1;
}

static void map_free(strmap_t *m)
{
    free(m->slot);
    free(m->ent);
    buf_free(&m->keys);
}

static int map_get(const strmap_t *m, const char *k, size_t n, int32_t *val)
{
    for (size_t i = hash_str(k, n) & m->mask;; i = (i + 1) & m->mask) {
        uint32_t e = m->slot[i];
        if (!e) return 0;
        const char *key = m->keys.data + m->ent[e - 1].key;
        if (!strncmp(key, k, n) && key[n] == '\0') { *val = m->ent[e - 1].val; return 1; }
    }
}

/* Inserts unless present (first wins: the best merge rank). Grows at 50% load. */
static void map_put(strmap_t *m, const char *k, size_t n, int32_t val)
{
    int32_t old;
    if (map_get(m, k, n, &old)) return;
    if ((m->n + 1) * 2 > m->mask + 1) {
        size_t cap = (m->mask + 1) * 2;
        uint32_t *slot = xcalloc(cap, sizeof *slot);
        for (size_t e = 0; e < m->n; e++) {
            const char *key = m->keys.data + m->ent[e].key;
            size_t i = hash_str(key, strlen(key)) & (cap - 1);
            while (slot[i]) i = (i + 1) & (cap - 1);
            slot[i] = (uint32_t)e + 1;
        }
        free(m->slot);
        m->slot = slot;
        m->mask = cap - 1;
    }
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 1024;
        m->ent = xrealloc(m->ent, m->cap * sizeof *m->ent);
    }
    m->ent[m->n].key = (uint32_t)m->keys.len;
    m->ent[m->n].val = val;
    buf_append(&m->keys, k, n);
    buf_putc(&m->keys, '\0');
    size_t i = hash_str(k, n) & m->mask;
    while (m->slot[i]) i = (i + 1) & m->mask;
    m->slot[i] = (uint32_t)++m->n;
}

/* GPT-2's bytes_to_unicode: printable Latin-1 bytes map to themselves, the rest to 256+. */
static void init_byte_alphabet(bpe_t *b)
{
    int n = 0;
    for (int c = 0; c < 256; c++) {
        int printable = (c >= '!' && c <= '~') || (c >= 0xA1 && c <= 0xAC) || (c >= 0xAE && c <= 0xFF);
        uint32_t cp = printable ? (uint32_t)c : (uint32_t)(256 + n++);
        memset(b->byte_enc[c], 0, 3);
        b->byte_len[c] = (uint8_t)uni_encode(cp, b->byte_enc[c]);
    }
}

void bpe_free(bpe_t *b)
{
    if (!b) return;
    map_free(&b->vocab);
    map_free(&b->ranks);
    free(b);
}

/* Whole file into memory: jansson's json_load_file reads a character at a time, which makes
 * a 1.5 MB vocabulary take a second. */
static int read_file(const char *path, buf_t *out)
{
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) buf_append(out, chunk, n);
    int bad = ferror(f);
    fclose(f);
    return bad ? -1 : 0;
}

bpe_t *bpe_load(const char *vocab_path, const char *merges_path, char *err, size_t errlen)
{
    json_error_t jerr;
    buf_t text = {0};
    if (read_file(vocab_path, &text) != 0) {
        snprintf(err, errlen, "%s: %s", vocab_path, strerror(errno));
        buf_free(&text);
        return NULL;
    }
    json_t *v = json_loadb(text.data ? text.data : "", text.len, JSON_REJECT_DUPLICATES, &jerr);
    buf_free(&text);
    if (!v) { snprintf(err, errlen, "%s: %s", vocab_path, jerr.text); return NULL; }
    if (!json_is_object(v) || json_object_size(v) == 0) {
        json_decref(v);
        snprintf(err, errlen, "%s: not a JSON object of token ids", vocab_path);
        return NULL;
    }
    bpe_t *b = xcalloc(1, sizeof *b);
    init_byte_alphabet(b);
    map_init(&b->vocab, json_object_size(v));
    map_init(&b->ranks, 1024);
    const char *key;
    json_t *val;
    json_object_foreach(v, key, val) {
        if (!json_is_integer(val) || json_integer_value(val) < 0 || json_integer_value(val) > INT32_MAX) {
            snprintf(err, errlen, "%s: id of token '%.40s' is not a non-negative integer", vocab_path, key);
            json_decref(v);
            bpe_free(b);
            return NULL;
        }
        map_put(&b->vocab, key, strlen(key), (int32_t)json_integer_value(val));
    }
    json_decref(v);
    if (!map_get(&b->vocab, "<|startoftext|>", 15, &b->sot) ||
        !map_get(&b->vocab, "<|endoftext|>", 13, &b->eot)) {
        snprintf(err, errlen, "%s: no <|startoftext|> / <|endoftext|> tokens", vocab_path);
        bpe_free(b);
        return NULL;
    }
    if (read_file(merges_path, &text) != 0) {
        snprintf(err, errlen, "%s: %s", merges_path, strerror(errno));
        buf_free(&text);
        bpe_free(b);
        return NULL;
    }
    map_free(&b->ranks);
    memset(&b->ranks, 0, sizeof b->ranks);
    map_init(&b->ranks, text.len / 8 + 16);        /* ~one merge per 8 bytes */
    int lineno = 0;
    int32_t rank = 0;
    char *cur = text.data ? text.data : "", *end = cur + text.len;
    while (cur < end) {
        char *line = cur, *nl = memchr(cur, '\n', (size_t)(end - cur));
        ssize_t n = nl ? nl - cur : end - cur;
        cur = nl ? nl + 1 : end;
        line[n] = '\0';
        lineno++;
        while (n > 0 && line[n - 1] == '\r') line[--n] = '\0';
        if (lineno == 1 && !strncmp(line, "#version", 8)) continue;
        if (n == 0) continue;
        char *sp = strchr(line, ' ');
        if (!sp || sp == line || !sp[1] || strchr(sp + 1, ' ')) {
            snprintf(err, errlen, "%s:%d: a merge must be two symbols separated by one space", merges_path, lineno);
            buf_free(&text);
            bpe_free(b);
            return NULL;
        }
        if (memchr(line, '\0', (size_t)n)) {
            snprintf(err, errlen, "%s:%d: NUL byte in a merge", merges_path, lineno);
            buf_free(&text);
            bpe_free(b);
            return NULL;
        }
        map_put(&b->ranks, line, (size_t)n, rank++);
    }
    buf_free(&text);
    return b;
}

int32_t bpe_sot(const bpe_t *b) { return b->sot; }
int32_t bpe_eot(const bpe_t *b) { return b->eot; }
size_t bpe_vocab_size(const bpe_t *b) { return b->vocab.n; }

/* BPE over one pre-tokenised piece (raw UTF-8 bytes); appends ids while *n < max. */
static void encode_word(const bpe_t *b, const char *piece, size_t len, int32_t *ids, int *n, int max)
{
    if (len > BPE_MAX_WORD) len = BPE_MAX_WORD;
    char word[BPE_MAX_WORD * 2 + 8];       /* byte alphabet is at most 2 UTF-8 bytes a byte */
    int  bound[BPE_MAX_WORD + 2];          /* symbol i = word[bound[i] .. bound[i+1]) */
    size_t w = 0;
    int ns = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)piece[i];
        bound[ns++] = (int)w;
        memcpy(word + w, b->byte_enc[c], b->byte_len[c]);
        w += b->byte_len[c];
    }
    memcpy(word + w, "</w>", 4);
    w += 4;
    bound[ns] = (int)w;
    char key[sizeof word + 2];
    for (;;) {
        int32_t best = INT32_MAX, r;
        int at = -1;
        for (int i = 0; i + 1 < ns; i++) {
            int la = bound[i + 1] - bound[i], lb = bound[i + 2] - bound[i + 1];
            memcpy(key, word + bound[i], (size_t)la);
            key[la] = ' ';
            memcpy(key + la + 1, word + bound[i + 1], (size_t)lb);
            if (map_get(&b->ranks, key, (size_t)(la + 1 + lb), &r) && r < best) { best = r; at = i; }
        }
        if (at < 0) break;
        /* Merge every non-overlapping occurrence of the best pair, left to right. */
        const char *fa = word + bound[at];
        int la = bound[at + 1] - bound[at], lb = bound[at + 2] - bound[at + 1];
        char first[sizeof word], second[sizeof word];
        memcpy(first, fa, (size_t)la);
        memcpy(second, word + bound[at + 1], (size_t)lb);
        int out = 0;
        for (int i = 0; i < ns;) {
            int li = bound[i + 1] - bound[i];
            if (i + 1 < ns && li == la && bound[i + 2] - bound[i + 1] == lb &&
                !memcmp(word + bound[i], first, (size_t)la) && !memcmp(word + bound[i + 1], second, (size_t)lb)) {
                bound[out++] = bound[i];
                i += 2;
            } else {
                bound[out++] = bound[i];
                i += 1;
            }
        }
        bound[out] = (int)w;
        ns = out;
        if (ns == 1) break;
    }
    for (int i = 0; i < ns && *n < max; i++) {
        int32_t id;
        if (!map_get(&b->vocab, word + bound[i], (size_t)(bound[i + 1] - bound[i]), &id)) id = b->eot;
        ids[(*n)++] = id;
    }
}

/* Cleans and lower-cases text into out: whitespace runs -> one space, trimmed. Invalid
 * UTF-8 bytes pass through unchanged (the byte alphabet covers every byte). */
static void normalise(const char *text, buf_t *out)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t n = strlen(text);
    int pending_space = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        int l = uni_decode(s + i, n - i, &cp);
        if (cp != 0xFFFFFFFFu && uni_is_space(cp)) { pending_space = out->len > 0; i += (size_t)l; continue; }
        if (pending_space) { buf_putc(out, ' '); pending_space = 0; }
        if (cp == 0xFFFFFFFFu) buf_append(out, s + i, (size_t)l);
        else if (cp == 0x130) buf_append(out, "i\xcc\x87", 3);    /* İ -> i + combining dot */
        else {
            char enc[4];
            buf_append(out, enc, (size_t)uni_encode(uni_lower(cp), enc));
        }
        i += (size_t)l;
    }
}

enum { CLS_OTHER, CLS_LETTER, CLS_NUMBER, CLS_SPACE };

static int classify(const unsigned char *s, size_t n, int *len)
{
    uint32_t cp;
    *len = uni_decode(s, n, &cp);
    if (cp == 0xFFFFFFFFu) return CLS_OTHER;
    if (uni_is_letter(cp)) return CLS_LETTER;
    if (uni_is_number(cp)) return CLS_NUMBER;
    if (uni_is_space(cp)) return CLS_SPACE;
    return CLS_OTHER;
}

int bpe_encode(const bpe_t *b, const char *text, int32_t *ids, int ctx)
{
    if (ctx < 2) return -1;
    buf_t norm = {0};
    normalise(text ? text : "", &norm);
    const char *s = norm.data ? norm.data : "";
    size_t n = norm.len;
    int count = 0, max = ctx - 1;          /* room for the end token */
    ids[count++] = b->sot;
    static const char *const contractions[] = {"'s", "'t", "'re", "'ve", "'m", "'ll", "'d"};
    for (size_t i = 0; i < n && count < max;) {
        if (!strncmp(s + i, "<|startoftext|>", 15)) { ids[count++] = b->sot; i += 15; continue; }
        if (!strncmp(s + i, "<|endoftext|>", 13)) { ids[count++] = b->eot; i += 13; continue; }
        int matched = 0;
        for (size_t c = 0; c < sizeof contractions / sizeof *contractions; c++) {
            size_t cl = strlen(contractions[c]);
            if (!strncmp(s + i, contractions[c], cl)) {
                encode_word(b, s + i, cl, ids, &count, max);
                i += cl;
                matched = 1;
                break;
            }
        }
        if (matched) continue;
        int len, cls = classify((const unsigned char *)s + i, n - i, &len);
        if (cls == CLS_SPACE) { i += (size_t)len; continue; }
        size_t j = i + (size_t)len;
        if (cls == CLS_LETTER || cls == CLS_OTHER)
            while (j < n) {
                int l2, c2 = classify((const unsigned char *)s + j, n - j, &l2);
                if (c2 != cls) break;
                j += (size_t)l2;
            }
        encode_word(b, s + i, j - i, ids, &count, max);
        i = j;
    }
    ids[count++] = b->eot;
    for (int i = count; i < ctx; i++) ids[i] = 0;
    buf_free(&norm);
    return count;
}
