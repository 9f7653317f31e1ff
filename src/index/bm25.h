/* bm25.h — Rodeo's own full-text index: an in-memory inverted index ranked with Okapi BM25
 * (k1 = 1.2, b = 0.75), incremental (add/remove one document at a time, no rebuild) and
 * persisted as one checksummed snapshot file.
 *
 * Documents are identified by the caller's int64 id (the knowledge-base chunk id). Text is
 * analysed by bm25_tokenize(): ASCII letters/digits lower-cased, UTF-8 bytes kept inside
 * words, English stop words dropped, a light suffix stemmer applied — the same analysis for
 * documents and queries.
 *
 * Thread-safety: any number of concurrent searches; add/remove/save take a write lock.
 */
#ifndef RODEO_INDEX_BM25_H
#define RODEO_INDEX_BM25_H
#include <stddef.h>
#include <stdint.h>

#define BM25_MAX_TOKEN 48          /* longer "words" are ignored (hashes, base64, garbage) */

typedef struct bm25 bm25_t;

typedef struct {
    int64_t id;
    float   score;
} bm25_hit_t;

/* Tokenizer callback: one analysed token (not NUL-terminated) per call. */
typedef void (*bm25_token_fn)(const char *tok, size_t len, void *ud);
/* Analyses text[0..len) and calls fn for each token in order. Returns the token count. */
size_t bm25_tokenize(const char *text, size_t len, bm25_token_fn fn, void *ud);

bm25_t *bm25_new(void);
void    bm25_free(bm25_t *ix);

/* Indexes a document. Returns 0, or -1 when id is already present (remove it first). */
int  bm25_add(bm25_t *ix, int64_t id, const char *text, size_t len);
/* Removes a document; returns 0, or -1 when the id is unknown. */
int  bm25_remove(bm25_t *ix, int64_t id);
/* Number of live documents. */
size_t bm25_count(const bm25_t *ix);
int  bm25_contains(const bm25_t *ix, int64_t id);

/* Ranks documents for a free-text query. Writes up to k hits, best first, into out and
 * returns how many (0 when no query term is indexed). Ties break on the lower id. */
size_t bm25_search(const bm25_t *ix, const char *query, bm25_hit_t *out, size_t k);

/* Snapshot persistence. save writes a private temp file next to path, then renames it
 * (atomic on POSIX, safe with several writer processes). load rejects
 * truncated, corrupted (SHA-256 trailer) or inconsistent files with a message in err and
 * returns NULL; the caller then rebuilds from the source texts. */
int     bm25_save(bm25_t *ix, const char *path, char *err, size_t errlen);
bm25_t *bm25_load(const char *path, char *err, size_t errlen);
/* Same parser over a memory image (exposed for the hostile-input tests). */
bm25_t *bm25_load_mem(const uint8_t *data, size_t len, char *err, size_t errlen);
#endif
