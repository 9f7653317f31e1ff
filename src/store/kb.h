/* kb.h (store) — persistence of the knowledge base in the store's kb_documents, kb_chunks
 * and vectors tables, so every `rodeo serve` process (SQLite or PostgreSQL) and the
 * `rodeo kb` CLI see the same documents. The in-memory side (BM25, retrieval) is src/kb.
 *
 * Chunk rows carry their section heading in metadata ({"heading": ...}); the document's
 * level and byte size ride along in the same object (the schema has no columns for them).
 * Vectors live in the shared vectors table under collection "kb", keyed by chunk id. */
#ifndef RODEO_STORE_KB_H
#define RODEO_STORE_KB_H
#include "store/store.h"
#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *source, *title, *topic, *level, *sha256;
    size_t      bytes;
    int64_t     created_at;           /* us; filled by store_kb_load */
} store_kb_doc_t;

typedef struct {
    const char  *heading;
    const char  *text;
    const float *vec;                 /* NULL = none */
    int          dim;
} store_kb_chunk_t;

/* Replaces (or adds) a document and its chunks in one transaction; writes the new chunk ids
 * (ascending, in chunk order) into ids_out[n]. */
int store_kb_put(store_t *st, const store_kb_doc_t *doc, const store_kb_chunk_t *chunks, size_t n,
                 int64_t *ids_out);
/* STORE_NOT_FOUND when no document has that source. */
int store_kb_delete(store_t *st, const char *source);

/* Streams the whole knowledge base: on_doc once per document (ordered by source), then
 * on_chunk for each of its chunks in order. Strings are valid during the callback only. */
typedef void (*store_kb_doc_fn)(void *ud, const store_kb_doc_t *doc);
typedef void (*store_kb_chunk_fn)(void *ud, int64_t id, const store_kb_chunk_t *chunk);
int store_kb_load(store_t *st, store_kb_doc_fn on_doc, store_kb_chunk_fn on_chunk, void *ud);

/* Adds or replaces the stored vector of one chunk (backfill after enabling embeddings). */
int store_kb_put_vector(store_t *st, int64_t chunk_id, const float *vec, int dim);

/* A cheap change detector for other processes' edits: the document count and the largest
 * document id (every put inserts a fresh row, every delete lowers the count). */
int store_kb_signature(store_t *st, int64_t *ndocs, int64_t *max_id);
#endif
