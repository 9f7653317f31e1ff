/* vindex.h — Rodeo's in-process vector index: one collection of vectors with 64-bit ids.
 *
 * A collection has a fixed dimension and metric and answers k-nearest-neighbour queries:
 *   - exactly (flat scan with SIMD kernels; multi-query batches through cblas_sgemm), used
 *     automatically while the collection is small, for low-selectivity filters, and on request
 *     as ground truth;
 *   - approximately through an HNSW graph (M, ef_construction, ef_search), while other
 *     threads insert (readers never block and never see a torn node).
 * Each vector carries a few attributes (vindex_attrs_t) that a filter can test during the
 * search. Optional int8 scalar quantisation keeps the graph's vectors as int8 codes (4x
 * smaller, faster traversal) and re-ranks the best candidates with the exact fp32 vectors,
 * which are kept in a file mapping (the snapshot's own file after a load, else an unnamed
 * spill file under $RODEO_VINDEX_SPILL_DIR, $TMPDIR or /var/tmp), not in anonymous memory:
 * their pages are page cache, faulted in by re-ranking and reclaimable by the kernel. The
 * int8 grid is retrained on a sample spread over the stored vectors when the collection
 * outgrows the sample it was trained on or new vectors fall outside it.
 *
 * Scores: for VINDEX_COSINE and VINDEX_IP a hit's score is the inner product (higher is
 * better; for COSINE the vectors and queries are normalised on the way in, so it is the
 * cosine similarity). For VINDEX_L2 it is the squared Euclidean distance (lower is better).
 * Hits are always sorted best first; ties are broken by smaller id.
 *
 * Ownership and threads: vindex_create/vindex_load return a collection owned by the caller
 * (vindex_free). Any number of threads may call search/get/count/stats concurrently with
 * each other and with upsert/delete; upsert/delete may also run from several threads at once
 * (that is how builds use two cores). vindex_save must not run concurrently with writers.
 *
 * Errors: functions returning int give 0 on success and -1 on failure with a message in
 * err (when err is non-NULL; errlen bytes, always NUL-terminated). Bad input (NaN, wrong
 * dimension, id collisions with reserved values, corrupt files) is an error, never an abort. */
#ifndef RODEO_INDEX_VINDEX_H
#define RODEO_INDEX_VINDEX_H
#include <stddef.h>
#include <stdint.h>

typedef enum { VINDEX_COSINE = 0, VINDEX_IP = 1, VINDEX_L2 = 2 } vindex_metric_t;
typedef enum { VINDEX_QUANT_NONE = 0, VINDEX_QUANT_INT8 = 1 } vindex_quant_t;

typedef struct {
    uint32_t dim;              /* 1..65536 */
    vindex_metric_t metric;
    uint32_t m;                /* graph degree on upper levels (level 0 has 2*m); 4..128, default 16 */
    uint32_t ef_construction;  /* candidate list while inserting; default 200 */
    uint32_t ef_search;        /* default candidate list while searching; default 64 */
    vindex_quant_t quant;      /* default NONE */
    uint32_t flat_below;       /* searches are exact while count < flat_below; default 2000 */
    uint64_t seed;             /* level generator seed; default fixed, so builds are repeatable */
    uint32_t no_graph;         /* 1: never build the HNSW graph: inserts only store, every
                                  search is an exact scan (int8 collections scan the codes and
                                  re-rank the best in fp32 unless exact == 1 asks for the fp32
                                  ground truth). For collections always searched with selective
                                  filters or small enough to scan, where a graph's build cost
                                  buys nothing. Such a collection cannot be saved (vindex_save
                                  fails): rebuild it from its source. Default 0. */
} vindex_params_t;

/* Attributes a filter can test. Meaning is the caller's (e.g. category id, brand id, price,
 * flag bits such as in-stock). */
typedef struct {
    uint32_t category;
    uint32_t brand;
    float    price;
    uint32_t flags;
} vindex_attrs_t;

/* A conjunction of conditions; a zeroed filter matches everything. */
typedef struct {
    const uint32_t *categories; size_t n_categories;  /* category in this set (if n > 0) */
    const uint32_t *brands; size_t n_brands;          /* brand in this set (if n > 0) */
    int   has_price; float price_min, price_max;      /* price_min <= price <= price_max */
    uint32_t flags_all;                               /* all these bits set */
    uint32_t flags_none;                              /* none of these bits set */
    /* Optional extra predicate (must be thread-safe and fast): non-zero keeps the vector. */
    int (*pred)(uint64_t id, const vindex_attrs_t *attrs, void *ctx);
    void *pred_ctx;
} vindex_filter_t;

typedef struct {
    uint32_t ef;                   /* 0: the collection's ef_search */
    const vindex_filter_t *filter; /* NULL: no filter */
    int exact;                     /* 1: exact fp32 scan regardless of size; 2: exact scan,
                                      over the int8 codes with fp32 re-ranking of the best
                                      `rerank` when the collection is int8 */
    uint32_t rerank;               /* int8 collections: candidates re-scored in fp32
                                      (0: max(ef, 4k) capped at the candidates found) */
} vindex_search_opts_t;

typedef struct { uint64_t id; float score; } vindex_hit_t;

typedef struct {
    uint32_t dim, m, ef_construction, ef_search;
    vindex_metric_t metric;
    vindex_quant_t quant;
    size_t count;          /* live vectors */
    size_t deleted;        /* slots held by deleted or replaced vectors (reclaimed by rebuild) */
    size_t slots;          /* live + deleted */
    int    max_level;      /* top HNSW level, -1 when empty */
    size_t memory_bytes;   /* heap + mapped bytes held by the collection */
    size_t mapped_bytes;   /* of which mapped from a file (shared with the page cache) */
    const char *kernels;   /* SIMD kernel set in use */
} vindex_stats_t;

typedef struct vindex vindex_t;

/* Fills defaults for the given dimension and metric. */
void vindex_params_default(vindex_params_t *p, uint32_t dim, vindex_metric_t metric);

vindex_t *vindex_create(const vindex_params_t *p, char *err, size_t errlen);
void      vindex_free(vindex_t *v);

/* Inserts or replaces the vector with this id (attrs may be NULL: all zero). The vector is
 * copied. Replacing never lets a search return the old vector. */
int vindex_upsert(vindex_t *v, uint64_t id, const float *vec, const vindex_attrs_t *attrs,
                  char *err, size_t errlen);
/* n vectors (row-major, n x dim), ids[n], attrs[n] or NULL, using `threads` threads (<=1: the
 * calling thread). With int8 quantisation an untrained collection trains on a sample spread
 * over this batch (and later retrains as described above).
 * An id repeated within one batch keeps one of its vectors (which one is unspecified when
 * threads > 1). */
int vindex_upsert_batch(vindex_t *v, const uint64_t *ids, const float *vecs,
                        const vindex_attrs_t *attrs, size_t n, int threads,
                        char *err, size_t errlen);
/* 0 when removed, 1 when the id was not present. */
int vindex_delete(vindex_t *v, uint64_t id);
/* Copies the stored vector (normalised for COSINE) and attrs (either may be NULL).
 * 0 found, 1 not present. */
int vindex_get(vindex_t *v, uint64_t id, float *vec_out, vindex_attrs_t *attrs_out);
size_t vindex_count(const vindex_t *v);
void   vindex_stats(const vindex_t *v, vindex_stats_t *out);
const vindex_params_t *vindex_params(const vindex_t *v);

/* k nearest to query (dim floats), best first, into hits[k]. Returns the number of hits
 * (< k when fewer vectors match) or -1 on bad input. opts may be NULL. */
int vindex_search(const vindex_t *v, const float *query, size_t k,
                  const vindex_search_opts_t *opts, vindex_hit_t *hits);
/* nq queries (row-major). Hits for query i go to hits[i*k ..], their number to counts[i].
 * Exact batches run through sgemm; graph searches are spread over `threads` threads. */
int vindex_search_batch(const vindex_t *v, const float *queries, size_t nq, size_t k,
                        const vindex_search_opts_t *opts, int threads,
                        vindex_hit_t *hits, size_t *counts);

/* Does this attribute set pass the filter (NULL passes)? Exposed for callers and tests. */
int vindex_filter_match(const vindex_filter_t *f, uint64_t id, const vindex_attrs_t *a);

/* Rebuild from the source of truth: next() yields one vector per call (return 1), 0 at the
 * end, -1 on error (the rebuild then fails). *vec must stay valid until the next call. */
typedef int (*vindex_source_fn)(void *ctx, uint64_t *id, const float **vec,
                                vindex_attrs_t *attrs);
vindex_t *vindex_rebuild(const vindex_params_t *p, vindex_source_fn next, void *ctx,
                         int threads, char *err, size_t errlen);

/* Walks the live vectors in slot order: start with *cursor = 0; returns 1 with the id, a
 * pointer to the stored (normalised) vector, valid while the collection lives and the
 * vector is not replaced, and attrs (may be NULL); 0 at the end. For compaction, export
 * and feeding vindex_rebuild; not a snapshot when writers run concurrently. */
int vindex_next_live(const vindex_t *v, size_t *cursor, uint64_t *id, const float **vec,
                     vindex_attrs_t *attrs);

/* Renumbers the internal slots in breadth-first order over the graph from its entry point,
 * so that neighbours (and a query's search region) sit on nearby pages: graph searches on
 * large collections touch fewer pages. Ids, attributes, vectors and every search result stay
 * the same; later inserts, deletes, saves and log replays work as before. Meant for the end
 * of a bulk build or before a snapshot (`rodeo index optimize`): it must not run concurrently
 * with ANY other call on the collection, searches included. Pages of a loaded snapshot that
 * it moves become private copies until the collection is saved and loaded again. */
int vindex_reorder(vindex_t *v, char *err, size_t errlen);

/* Persistence (format in vfile.c): crash-safe snapshot (temp file, fsync, rename, fsync dir),
 * and load by mmap with every section's checksum verified; a corrupt, truncated or
 * wrong-version file is an error (then rebuild with vindex_rebuild). */
int       vindex_save(vindex_t *v, const char *path, char *err, size_t errlen);
vindex_t *vindex_load(const char *path, char *err, size_t errlen);

/* Incremental persistence between snapshots: after vindex_log_attach every upsert/delete is
 * appended (checksummed record, fdatasync per call when sync is set) to the log file.
 * vindex_log_replay applies a log to a collection (normally right after vindex_load); a torn
 * last record (crash mid-append) is ignored, any other damage is an error. vindex_save
 * truncates an attached log, since the snapshot now holds its content. */
int vindex_log_attach(vindex_t *v, const char *path, int sync, char *err, size_t errlen);
int vindex_log_replay(vindex_t *v, const char *path, size_t *applied, char *err, size_t errlen);

const char *vindex_metric_name(vindex_metric_t m);
/* "cosine", "ip", "l2" -> metric; -1 when unknown. */
int vindex_metric_parse(const char *s);
#endif
