/* bm25_internal.h — the BM25 index's data layout, shared by bm25.c (indexing, search) and
 * bm25_file.c (snapshot persistence). Not part of the public interface. */
#ifndef RODEO_INDEX_BM25_INTERNAL_H
#define RODEO_INDEX_BM25_INTERNAL_H
#include "index/bm25.h"
#include <pthread.h>
#include <stdint.h>

typedef struct {
    uint32_t doc;                /* slot index into docs[] */
    uint32_t tf;
} bm25_posting_t;

typedef struct {
    char           *text;        /* NUL-terminated analysed term (owned) */
    uint32_t        len;
    bm25_posting_t *post;        /* ascending by doc */
    uint32_t        npost, cap;
} bm25_term_t;

typedef struct {
    int64_t  id;
    uint32_t len;                /* tokens */
    uint8_t  alive;
} bm25_doc_t;

struct bm25 {
    pthread_rwlock_t lock;
    bm25_term_t *terms;          /* term id -> term */
    uint32_t     nterms, terms_cap;
    uint32_t    *table;          /* open addressing: term id + 1, 0 = empty */
    uint32_t     table_cap;      /* power of two */
    bm25_doc_t  *docs;           /* slots; removed ones stay dead until the next load */
    uint32_t     ndocs, docs_cap;
    uint32_t     nlive;
    uint64_t     total_len;      /* tokens over live docs */
    /* id -> slot + 1 (open addressing over int64 ids) */
    uint32_t    *id_table;
    uint32_t     id_table_cap;
};

/* Term lookup/insert used by the loader as well. insert returns the term id. */
int64_t  bm25_term_find(const bm25_t *ix, const char *t, size_t len);
uint32_t bm25_term_insert(bm25_t *ix, const char *t, size_t len);
/* Appends a doc slot (no postings); returns the slot or -1 when the id exists. */
int64_t  bm25_doc_append(bm25_t *ix, int64_t id, uint32_t len, int alive);
#endif
