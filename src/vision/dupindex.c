/* dupindex.c — packed arrays (hashes separate from ids so the scan streams 8 bytes per
 * entry) under a pthread rwlock. Candidates are kept in a small bounded insertion-sorted
 * buffer, so a query allocates nothing. */
#include "vision/dupindex.h"
#include "core/buf.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct vision_dupindex {
    pthread_rwlock_t lock;
    uint64_t *hash;
    int64_t *id;
    size_t n, cap;
};

vision_dupindex_t *vision_dupindex_new(void)
{
    vision_dupindex_t *ix = xcalloc(1, sizeof *ix);
    pthread_rwlock_init(&ix->lock, NULL);
    return ix;
}

void vision_dupindex_free(vision_dupindex_t *ix)
{
    if (!ix) return;
    pthread_rwlock_destroy(&ix->lock);
    free(ix->hash);
    free(ix->id);
    free(ix);
}

void vision_dupindex_add(vision_dupindex_t *ix, int64_t id, uint64_t phash)
{
    pthread_rwlock_wrlock(&ix->lock);
    if (ix->n == ix->cap) {
        ix->cap = ix->cap ? ix->cap * 2 : 1024;
        ix->hash = xrealloc(ix->hash, ix->cap * sizeof *ix->hash);
        ix->id = xrealloc(ix->id, ix->cap * sizeof *ix->id);
    }
    ix->hash[ix->n] = phash;
    ix->id[ix->n] = id;
    ix->n++;
    pthread_rwlock_unlock(&ix->lock);
}

size_t vision_dupindex_remove(vision_dupindex_t *ix, int64_t id)
{
    pthread_rwlock_wrlock(&ix->lock);
    size_t w = 0, removed = 0;
    for (size_t r = 0; r < ix->n; r++) {
        if (ix->id[r] == id) { removed++; continue; }
        ix->hash[w] = ix->hash[r];
        ix->id[w] = ix->id[r];
        w++;
    }
    ix->n = w;
    pthread_rwlock_unlock(&ix->lock);
    return removed;
}

size_t vision_dupindex_count(vision_dupindex_t *ix)
{
    pthread_rwlock_rdlock(&ix->lock);
    size_t n = ix->n;
    pthread_rwlock_unlock(&ix->lock);
    return n;
}

size_t vision_dupindex_query(vision_dupindex_t *ix, uint64_t phash, int max_distance,
                             vision_dup_match_t *out, size_t max_out)
{
    if (!out || max_out == 0 || max_distance < 0) return 0;
    if (max_distance > 64) max_distance = 64;
    size_t got = 0;
    pthread_rwlock_rdlock(&ix->lock);
    /* Newest first, so among equal distances the latest upload wins. */
    for (size_t i = ix->n; i-- > 0;) {
        int d = __builtin_popcountll(ix->hash[i] ^ phash);
        if (d > max_distance) continue;
        if (got == max_out && d >= out[got - 1].distance) continue;
        size_t pos = got < max_out ? got++ : max_out - 1;
        while (pos > 0 && out[pos - 1].distance > d) { out[pos] = out[pos - 1]; pos--; }
        out[pos] = (vision_dup_match_t){ix->id[i], d};
    }
    pthread_rwlock_unlock(&ix->lock);
    return got;
}
