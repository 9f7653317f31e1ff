/* chunk.h — knowledge-base document parsing and chunking.
 *
 * A knowledge document is UTF-8 text (.txt or .md) with an optional front-matter block:
 *     ---
 *     title: Bull riding rules
 *     topic: events
 *     level: all
 *     ---
 * Without one, the title is the first "# " heading (else the file name chosen by the
 * caller) and the topic is empty.
 *
 * Chunks follow the document's structure: headings start a new chunk once the current one
 * has enough text, paragraphs are packed up to a word budget (~200-400 tokens at ~1.3 tokens
 * per English word), an over-long paragraph is split at sentence ends, and each chunk after
 * the first of a section repeats the previous chunk's last sentences (overlap) so an answer
 * that straddles a boundary is still found whole. */
#ifndef RODEO_KB_CHUNK_H
#define RODEO_KB_CHUNK_H
#include <stddef.h>

#define KB_MAX_DOC_BYTES (4u << 20)   /* one knowledge file may be at most 4 MiB */

typedef struct {
    char *title;       /* never NULL after a successful parse */
    char *topic;       /* "" when absent */
    char *level;       /* "" when absent */
    char *body;        /* text after the front matter */
} kb_doc_t;

typedef struct {
    char  *text;       /* chunk text (owned), paragraphs joined by blank lines */
    char  *heading;    /* nearest section heading, "" when none */
    size_t words;
} kb_chunk_t;

typedef struct {
    size_t max_words;      /* hard budget per chunk (default 280 ~ 370 tokens) */
    size_t min_words;      /* a heading flushes only past this (default 120 ~ 160 tokens) */
    size_t overlap_words;  /* carried into the next chunk (default 40) */
} kb_chunk_opts_t;

/* Parses text[0..len). Rejects empty, oversized, non-UTF-8 or binary (NUL) input with a
 * message in err and returns -1. fallback_title is used when the text names none. */
int  kb_doc_parse(const char *text, size_t len, const char *fallback_title, kb_doc_t *out,
                  char *err, size_t errlen);
void kb_doc_free(kb_doc_t *d);

/* Splits body into chunks (opts NULL = defaults). Returns the count and a malloc'd array
 * in *out (free with kb_chunks_free); 0 for text without words. */
size_t kb_chunk_text(const char *body, const kb_chunk_opts_t *opts, kb_chunk_t **out);
void   kb_chunks_free(kb_chunk_t *c, size_t n);
#endif
