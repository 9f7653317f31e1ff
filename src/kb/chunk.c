/* chunk.c — front-matter parsing and structure-aware chunking (see chunk.h for the rules). */
#include "kb/chunk.h"
#include "core/buf.h"
#include "core/str.h"
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t count_words(const char *s, size_t len)
{
    size_t n = 0;
    int in = 0;
    for (size_t i = 0; i < len; i++) {
        int sp = isspace((unsigned char)s[i]);
        if (!sp && !in) n++;
        in = !sp;
    }
    return n;
}

/* Copies s[0..len) trimmed of ASCII whitespace. */
static char *dup_trim(const char *s, size_t len)
{
    while (len && isspace((unsigned char)*s)) { s++; len--; }
    while (len && isspace((unsigned char)s[len - 1])) len--;
    return xstrndup(s, len);
}

void kb_doc_free(kb_doc_t *d)
{
    if (!d) return;
    free(d->title); free(d->topic); free(d->level); free(d->body);
    memset(d, 0, sizeof *d);
}

int kb_doc_parse(const char *text, size_t len, const char *fallback_title, kb_doc_t *out,
                 char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (len == 0) { snprintf(err, errlen, "empty document"); return -1; }
    if (len > KB_MAX_DOC_BYTES) { snprintf(err, errlen, "document larger than %u bytes", KB_MAX_DOC_BYTES); return -1; }
    if (memchr(text, 0, len)) { snprintf(err, errlen, "binary content (NUL byte)"); return -1; }
    if (!utf8_valid(text, len)) { snprintf(err, errlen, "not valid UTF-8"); return -1; }
    size_t pos = 0;
    if (len >= 3 && !memcmp(text, "\xef\xbb\xbf", 3)) pos = 3;     /* byte-order mark */
    /* Front matter: "---" line, key: value lines, "---" line. */
    if (len - pos >= 4 && !memcmp(text + pos, "---", 3) && (text[pos + 3] == '\n' || text[pos + 3] == '\r')) {
        size_t p = pos + 3;
        while (p < len && text[p] != '\n') p++;
        p++;
        size_t fm_start = p;
        int closed = 0;
        while (p < len) {
            size_t e = p;
            while (e < len && text[e] != '\n') e++;
            size_t ll = e - p;
            if (ll && text[p + ll - 1] == '\r') ll--;
            if (ll == 3 && !memcmp(text + p, "---", 3)) { closed = 1; p = e < len ? e + 1 : e; break; }
            const char *colon = memchr(text + p, ':', ll);
            if (colon) {
                char *key = dup_trim(text + p, (size_t)(colon - (text + p)));
                char *val = dup_trim(colon + 1, ll - (size_t)(colon - (text + p)) - 1);
                str_lower(key);
                char **slot = !strcmp(key, "title") ? &out->title : !strcmp(key, "topic") ? &out->topic
                            : !strcmp(key, "level") ? &out->level : NULL;
                if (slot && !*slot && *val) { *slot = val; val = NULL; }
                free(key); free(val);
            }
            p = e < len ? e + 1 : e;
        }
        if (closed) pos = p;
        else {   /* an unclosed block is ordinary text */
            free(out->title); free(out->topic); free(out->level);
            out->title = out->topic = out->level = NULL;
            (void)fm_start;
        }
    }
    out->body = xstrndup(text + pos, len - pos);
    if (!out->title) {   /* first "# " heading */
        const char *s = out->body;
        while (*s) {
            const char *e = strchr(s, '\n');
            size_t ll = e ? (size_t)(e - s) : strlen(s);
            if (ll > 2 && s[0] == '#' && s[1] == ' ') { out->title = dup_trim(s + 2, ll - 2); break; }
            if (!e) break;
            s = e + 1;
        }
    }
    if (!out->title || !*out->title) { free(out->title); out->title = xstrdup(fallback_title ? fallback_title : "untitled"); }
    if (!out->topic) out->topic = xstrdup("");
    if (!out->level) out->level = xstrdup("");
    if (count_words(out->body, strlen(out->body)) == 0) {
        snprintf(err, errlen, "document has no text");
        kb_doc_free(out);
        return -1;
    }
    return 0;
}

/* ---- chunking ---- */

typedef struct {
    kb_chunk_t *v;
    size_t n, cap;
    const kb_chunk_opts_t *o;
    buf_t cur;
    size_t cur_words, fresh_words;   /* fresh = words not carried over as overlap */
    char *heading;                   /* current section */
    char *chunk_heading;             /* section the current chunk started in */
} chunker_t;

static void emit(chunker_t *c)
{
    if (c->fresh_words == 0) return;
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 16;
        c->v = xrealloc(c->v, c->cap * sizeof *c->v);
    }
    const char *h = c->chunk_heading ? c->chunk_heading : c->heading;
    c->v[c->n++] = (kb_chunk_t){ .text = xstrdup(c->cur.data), .heading = xstrdup(h ? h : ""),
                                 .words = c->cur_words };
}

/* Start offset of the longest run of whole trailing sentences within max words, falling
 * back to the last max words when the final sentence alone is longer. */
static size_t tail_start(const char *s, size_t len, size_t max)
{
    size_t best = len;
    for (size_t i = len; i-- > 1;) {
        int boundary = (s[i - 1] == '\n') ||
                       (isspace((unsigned char)s[i - 1]) && i >= 2 && strchr(".?!", s[i - 2]));
        if (!boundary || isspace((unsigned char)s[i])) continue;
        if (count_words(s + i, len - i) > max) break;
        best = i;
    }
    if (best == len) {   /* last max words */
        size_t words = 0;
        for (size_t i = len; i-- > 0;) {
            if (!isspace((unsigned char)s[i]) && (i == 0 || isspace((unsigned char)s[i - 1]))) {
                if (++words == max) return i;
            }
        }
        return 0;
    }
    return best;
}

static void flush(chunker_t *c, int overlap)
{
    emit(c);
    char *carry = NULL;
    if (overlap && c->fresh_words && c->o->overlap_words) {
        size_t st = tail_start(c->cur.data, c->cur.len, c->o->overlap_words);
        carry = xstrdup(c->cur.data + st);
    }
    buf_reset(&c->cur);
    c->cur_words = c->fresh_words = 0;
    free(c->chunk_heading);
    c->chunk_heading = NULL;     /* the next chunk starts in the current section */
    if (carry && *carry) {
        buf_puts(&c->cur, carry);
        c->cur_words = count_words(carry, strlen(carry));
    }
    free(carry);
}

static void add_piece(chunker_t *c, const char *s, size_t len)
{
    size_t w = count_words(s, len);
    if (!w) return;
    if (c->fresh_words && c->cur_words + w > c->o->max_words) flush(c, 1);
    if (!c->chunk_heading) c->chunk_heading = xstrdup(c->heading ? c->heading : "");
    if (c->cur.len) buf_puts(&c->cur, "\n\n");
    buf_append(&c->cur, s, len);
    c->cur_words += w;
    c->fresh_words += w;
}

/* A paragraph longer than the budget is cut at sentence ends (or hard at max words). */
static void add_paragraph(chunker_t *c, const char *s, size_t len)
{
    size_t budget = c->o->max_words > c->o->overlap_words ? c->o->max_words - c->o->overlap_words : c->o->max_words;
    if (count_words(s, len) <= budget) { add_piece(c, s, len); return; }
    size_t start = 0, words = 0, last_cut = 0;
    int in = 0;
    for (size_t i = 0; i < len; i++) {
        int sp = isspace((unsigned char)s[i]);
        if (!sp && !in) words++;
        in = !sp;
        if (sp && i > 0 && strchr(".?!", s[i - 1])) last_cut = i;
        if (words > budget) {
            size_t cut = last_cut > start ? last_cut : i;
            add_piece(c, s + start, cut - start);
            while (cut < len && isspace((unsigned char)s[cut])) cut++;
            start = cut;
            i = cut;
            words = 0; in = 0; last_cut = start;
            if (i < len && !isspace((unsigned char)s[i])) { words = 1; in = 1; }
        }
    }
    if (start < len) add_piece(c, s + start, len - start);
}

size_t kb_chunk_text(const char *body, const kb_chunk_opts_t *opts, kb_chunk_t **out)
{
    kb_chunk_opts_t def = { 280, 120, 40 };
    if (!opts || !opts->max_words) opts = &def;
    chunker_t c = { .o = opts };
    const char *s = body;
    buf_t para = {0};
    for (;;) {
        const char *e = strchr(s, '\n');
        size_t ll = e ? (size_t)(e - s) : strlen(s);
        const char *line = s;
        size_t tl = ll;
        while (tl && isspace((unsigned char)line[tl - 1])) tl--;
        int blank = count_words(line, tl) == 0;
        int heading = !blank && line[0] == '#';
        if ((blank || heading) && para.len) {
            add_paragraph(&c, para.data, para.len);
            buf_reset(&para);
        }
        if (heading) {
            size_t h = 0;
            while (h < tl && line[h] == '#') h++;
            char *text = dup_trim(line + h, tl - h);
            if (c.fresh_words >= opts->min_words) flush(&c, 0);
            else if (c.fresh_words && *text) add_piece(&c, text, strlen(text));
            if (c.fresh_words == 0) {   /* new section: drop any carried overlap */
                buf_reset(&c.cur);
                c.cur_words = 0;
            }
            free(c.heading);
            c.heading = text;
        } else if (!blank) {
            if (para.len) buf_putc(&para, '\n');
            size_t lead = 0;
            while (lead < tl && (line[lead] == ' ' || line[lead] == '\t')) lead++;
            buf_append(&para, line + lead, tl - lead);
        }
        if (!e) break;
        s = e + 1;
    }
    if (para.len) add_paragraph(&c, para.data, para.len);
    emit(&c);
    buf_free(&para);
    buf_free(&c.cur);
    free(c.heading);
    free(c.chunk_heading);
    *out = c.v;
    return c.n;
}

void kb_chunks_free(kb_chunk_t *c, size_t n)
{
    for (size_t i = 0; i < n; i++) { free(c[i].text); free(c[i].heading); }
    free(c);
}
