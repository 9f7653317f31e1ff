/* vindex_spill.c — where an int8 collection keeps its exact fp32 vectors.
 *
 * The fp32 copies are read only to re-rank the few best graph candidates (and by get, save,
 * export), so they need not sit in anonymous memory: chunks of them live in an unnamed file
 * (O_TMPFILE, or a created-then-unlinked file) mapped MAP_SHARED. Their pages are page cache:
 * the kernel writes them back and reclaims them under pressure, and once a chunk is full its
 * pages are dropped from this process's mapping (MADV_DONTNEED keeps the data in the file), so
 * resident memory is codes + graph + whatever pages the re-ranking touches. A loaded snapshot
 * already maps its vectors from its own file (vindex_file.c); only the chunk that new inserts
 * extend comes from here.
 *
 * Directory: $RODEO_VINDEX_SPILL_DIR, else $TMPDIR, else /var/tmp, else /tmp. tmpfs is
 * skipped when another choice exists (its pages are not reclaimable without swap). When no
 * file can be made, chunks fall back to the heap: slower to reclaim, never an error. */
#include "index/vindex_impl.h"
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/statfs.h>
#include <unistd.h>

#ifndef TMPFS_MAGIC
#define TMPFS_MAGIC 0x01021994
#endif
#define SPILL_PAGE 4096

size_t vspill_chunk_bytes(const vindex_t *v)
{
    size_t b = ((size_t)1 << v->chunk_shift) * v->dim * sizeof(float);
    return (b + SPILL_PAGE - 1) & ~(size_t)(SPILL_PAGE - 1);
}

static int open_in(const char *dir)
{
    if (!dir || !*dir) return -1;
#ifdef O_TMPFILE
    int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0) return fd;
#endif
    char path[4096];
    if (snprintf(path, sizeof path, "%s/rodeo-vindex-XXXXXX", dir) >= (int)sizeof path) return -1;
    int fd2 = mkstemp(path);
    if (fd2 < 0) return -1;
    unlink(path);
    return fd2;
}

static int is_tmpfs(const char *dir)
{
    struct statfs s;
    return statfs(dir, &s) == 0 && (unsigned long)s.f_type == (unsigned long)TMPFS_MAGIC;
}

/* Opens the spill file on first use (caller holds wlock). */
static int spill_open(vindex_t *v)
{
    if (v->spill_fd >= 0) return 0;
    if (v->spill_failed) return -1;
    const char *cand[4] = {getenv("RODEO_VINDEX_SPILL_DIR"), getenv("TMPDIR"), "/var/tmp", "/tmp"};
    int fd = -1;
    /* first pass: disk-backed directories only; second: anything that works */
    for (int pass = 0; pass < 2 && fd < 0; pass++)
        for (int i = 0; i < 4 && fd < 0; i++) {
            if (!cand[i] || !*cand[i] || (pass == 0 && is_tmpfs(cand[i]))) continue;
            fd = open_in(cand[i]);
        }
    if (fd < 0) { v->spill_failed = 1; return -1; }
    v->spill_fd = fd;
    return 0;
}

float *vspill_chunk(vindex_t *v, size_t c)
{
    size_t bytes = vspill_chunk_bytes(v);
    if (c >= v->spill_cap) {
        size_t cap = v->spill_cap ? v->spill_cap : 16;
        while (cap <= c) cap *= 2;
        void **n = realloc(v->spill_maps, cap * sizeof *n);
        if (!n) return NULL;
        memset(n + v->spill_cap, 0, (cap - v->spill_cap) * sizeof *n);
        v->spill_maps = n;
        v->spill_cap = cap;
    }
    if (v->spill_maps[c]) return v->spill_maps[c];   /* mapped by an earlier, failed grow */
    if (spill_open(v) == 0) {
        size_t end = (c + 1) * bytes;
        if (end <= v->spill_len || ftruncate(v->spill_fd, (off_t)end) == 0) {
            if (end > v->spill_len) v->spill_len = end;
            void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, v->spill_fd,
                           (off_t)(c * bytes));
            if (p != MAP_FAILED) {
                v->spill_maps[c] = p;
                return p;
            }
        }
    }
    return malloc(bytes);
}

int vspill_is(const vindex_t *v, size_t c, const void *p)
{
    return c < v->spill_cap && p && v->spill_maps[c] == p;
}

/* Drops a file-backed chunk's pages from this process (the data stays in the file). */
void vspill_drop(const vindex_t *v, size_t c)
{
    vtab_t *t = vindex_tab(v);
    if (c >= t->cap || !t->vec || !t->vec[c]) return;
    const char *p = (const char *)t->vec[c];
    size_t per = (size_t)1 << v->chunk_shift;
    if (vspill_is(v, c, p)) {
        madvise((void *)p, vspill_chunk_bytes(v), MADV_DONTNEED);
    } else if (v->map && p >= (const char *)v->map && p < (const char *)v->map + v->map_len) {
        /* private snapshot mapping: vector pages are never written, so dropping only
         * unmaps them; round inwards to whole pages */
        uintptr_t a = ((uintptr_t)p + SPILL_PAGE - 1) & ~(uintptr_t)(SPILL_PAGE - 1);
        uintptr_t b = ((uintptr_t)p + per * v->dim * sizeof(float)) & ~(uintptr_t)(SPILL_PAGE - 1);
        if (b > a) madvise((void *)a, b - a, MADV_DONTNEED);
    }
}

void vspill_close(vindex_t *v)
{
    size_t bytes = v->spill_cap ? vspill_chunk_bytes(v) : 0;
    for (size_t c = 0; c < v->spill_cap; c++)
        if (v->spill_maps[c]) munmap(v->spill_maps[c], bytes);
    free(v->spill_maps);
    v->spill_maps = NULL;
    v->spill_cap = 0;
    if (v->spill_fd >= 0) close(v->spill_fd);
    v->spill_fd = -1;
}
