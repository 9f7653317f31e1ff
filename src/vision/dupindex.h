/* dupindex.h — near-duplicate lookup over previous uploads' pHashes: "is there an earlier
 * upload within Hamming distance d of this photo?" (issue 4; the recognition endpoint uses
 * it to return cached results for the same photo).
 *
 * An exact linear scan (XOR + popcount over a packed array): at 8 bytes + an id per upload
 * it scans ~1e8 hashes/s per core, so millions of uploads answer in milliseconds without
 * any approximate structure. Thread-safe: a read-write lock lets lookups run in parallel. */
#ifndef RODEO_VISION_DUPINDEX_H
#define RODEO_VISION_DUPINDEX_H
#include <stddef.h>
#include <stdint.h>

typedef struct vision_dupindex vision_dupindex_t;

typedef struct {
    int64_t id;        /* caller's id (e.g. image_uploads.id) */
    int distance;      /* Hamming distance to the query */
} vision_dup_match_t;

vision_dupindex_t *vision_dupindex_new(void);
void   vision_dupindex_free(vision_dupindex_t *ix);
/* Adds (id, hash); ids need not be unique (the same photo may be uploaded twice). */
void   vision_dupindex_add(vision_dupindex_t *ix, int64_t id, uint64_t phash);
/* Removes every entry with this id; returns how many were removed. */
size_t vision_dupindex_remove(vision_dupindex_t *ix, int64_t id);
size_t vision_dupindex_count(vision_dupindex_t *ix);
/* Up to max_out entries within max_distance (0..64) of phash, nearest first (ties: most
 * recently added first). Returns how many were written to out. */
size_t vision_dupindex_query(vision_dupindex_t *ix, uint64_t phash, int max_distance,
                             vision_dup_match_t *out, size_t max_out);
#endif
