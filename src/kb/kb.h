/* kb.h — the knowledge base behind the chat assistant: documents, their chunks, the BM25
 * index over them and (when an embedding source is configured) dense vectors, fused with
 * reciprocal rank fusion.
 *
 * Persistence: in the store (kb_open_store: kb_documents/kb_chunks/vectors, what the server
 * and the CLI use), or standalone in a directory holding kb.json (kb_open: tests, tools);
 * either way the BM25 snapshot bm25.idx lives in a directory. The snapshot is an accelerator only: when
 * it is missing, stale or corrupt, kb_open rebuilds it from kb.json. Ingestion is idempotent
 * by content hash: the same source with the same bytes is a no-op, changed bytes replace the
 * source's chunks.
 *
 * Thread-safety: searches run concurrently; ingest/remove/save serialise on a write lock. */
#ifndef RODEO_KB_KB_H
#define RODEO_KB_KB_H
#include <jansson.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

typedef struct kb kb_t;

/* One retrieved passage; all strings owned by the hit (kb_hits_free). */
typedef struct {
    int64_t id;              /* chunk id */
    char   *source;          /* document source name, e.g. "bull-riding.md" */
    char   *title;
    char   *topic;
    char   *heading;
    char   *text;
    double  score;           /* BM25 score, or the RRF score when fused */
} kb_hit_t;

enum kb_ingest_status { KB_ADDED = 0, KB_UNCHANGED = 1, KB_REPLACED = 2 };

typedef struct {
    size_t files, added, unchanged, replaced, failed, chunks, bytes;
} kb_ingest_stats_t;

/* Called after each file of kb_ingest_path (done of total), for progress bars. */
typedef void (*kb_progress_fn)(size_t done, size_t total, const char *path, void *ud);

/* Dense embedding source: writes a malloc'd unit-or-not vector and its dimension; 0 on
 * success. Called outside the kb lock. */
typedef int (*kb_embed_fn)(const char *text, float **vec, int *dim, void *ud);

/* dir NULL = memory only (tests). Creates dir when missing. */
kb_t *kb_open(const char *dir, char *err, size_t errlen);
/* Store mode: documents and chunks persist in the store (kb_documents, kb_chunks, vectors;
 * see store/kb.h), shared by every process; index_dir (may be NULL) keeps the BM25
 * snapshot. Chunk ids are the store's. */
struct store;
kb_t *kb_open_store(struct store *st, const char *index_dir, char *err, size_t errlen);
/* Store mode: picks up documents other processes added, replaced or removed since the last
 * load (a cheap signature query; a full reload only when it changed). Returns 1 when it
 * reloaded, 0 when nothing changed (or not in store mode), -1 on a store error. */
int   kb_sync(kb_t *kb);
void  kb_close(kb_t *kb);
void  kb_set_embedder(kb_t *kb, kb_embed_fn fn, void *ud);
/* Embeds the chunks that have no vector yet (ingested before an embedder was configured),
 * persisting the vectors in store mode. Slow with a remote embedder: run it on its own
 * thread; it stops early once *stop (may be NULL) becomes non-zero. Returns the number of
 * chunks embedded. */
size_t kb_backfill_vectors(kb_t *kb, atomic_int *stop);

/* Ingests one document under a source name. status and nchunks may be NULL. */
int kb_ingest_text(kb_t *kb, const char *source, const char *text, size_t len, int *status,
                   size_t *nchunks, char *err, size_t errlen);
/* Files (.txt/.md) or directories of them, recursively, sources named by file name relative
 * to the given directory. Saves once at the end. Returns 0 when no file failed. */
int kb_ingest_path(kb_t *kb, const char *path, kb_progress_fn progress, void *ud,
                   kb_ingest_stats_t *stats, char *err, size_t errlen);
int kb_remove(kb_t *kb, const char *source);              /* 0, or -1 when unknown */
int kb_save(kb_t *kb, char *err, size_t errlen);           /* no-op without a dir */

size_t kb_doc_count(kb_t *kb);
size_t kb_chunk_count(kb_t *kb);
/* [{source, title, topic, level, sha256, bytes, chunks, ingested_at}] sorted by source. */
json_t *kb_list(kb_t *kb);

/* Top-k passages for a query (BM25, fused with dense ranks when an embedder is set).
 * Returns the count; *out is malloc'd (kb_hits_free). */
size_t kb_search(kb_t *kb, const char *query, size_t k, kb_hit_t **out);
void   kb_hits_free(kb_hit_t *hits, size_t n);

/* Reciprocal rank fusion (k = 60) of ranked id lists; writes up to max fused ids, best
 * first, with their scores. Exposed for tests. */
size_t kb_rrf_fuse(const int64_t *const *lists, const size_t *lens, size_t nlists,
                   int64_t *out_ids, double *out_scores, size_t max);
#endif
