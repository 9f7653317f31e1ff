/* thp_probe.c — diagnostic for the 1M fp32 result: does a loaded snapshot's search speed
 * depend on where the level-0 records live? Loads a snapshot (internals via vindex_impl.h),
 * optionally moves the records into anonymous memory, 4 KiB pages (mode 1) or transparent
 * huge pages (mode 2), then runs a single-thread ef sweep and prints CPU-time QPS.
 * mode 0 leaves them in the snapshot's file mapping (what vindex_load does).
 * build: gcc -std=c11 -O2 -pthread -Isrc bench/index/thp_probe.c build/librodeo.a \
 *            $(pkg-config --libs openblas) -lm -o thp_probe
 * usage: thp_probe DATA_DIR SNAPSHOT MODE */
#include "index/vindex_impl.h"
#include "index/fvecs.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

static double clock_s(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc < 4) { fprintf(stderr, "usage: thp_probe DATA_DIR SNAPSHOT MODE\n"); return 2; }
    char err[256], p2[512], p3[512];
    int mode = atoi(argv[3]);
    snprintf(p2, sizeof p2, "%s/query.fvecs", argv[1]);
    snprintf(p3, sizeof p3, "%s/gt.ivecs", argv[1]);
    size_t nq, d, ng, kg;
    float *q = fvecs_read(p2, &nq, &d, err, sizeof err);
    int32_t *gt = q ? ivecs_read(p3, &ng, &kg, err, sizeof err) : NULL;
    vindex_t *v = gt ? vindex_load(argv[2], err, sizeof err) : NULL;
    if (!v) { fprintf(stderr, "thp_probe: %s\n", err); return 1; }
    vtab_t *t = v->tab;
    size_t per = (size_t)1 << v->chunk_shift, n = v->n_slots, nch = (n + per - 1) / per;
    if (mode) {
        double t0 = clock_s(CLOCK_MONOTONIC);
        size_t tot = nch * per * v->stride;
        char *m = NULL;
        if (posix_memalign((void **)&m, 2u << 20, tot)) return 1;
        madvise(m, tot, mode == 2 ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
        for (size_t c = 0; c < nch; c++) {
            memcpy(m + c * per * v->stride, t->nodes[c], (c + 1 < nch ? per : n - c * per) * v->stride);
            t->nodes[c] = m + c * per * v->stride;   /* the old chunk stays mapped */
        }
        printf("{\"mode\": %d, \"copy_seconds\": %.3f}\n", mode, clock_s(CLOCK_MONOTONIC) - t0);
    }
    const int efs[] = {16, 64, 128};
    vindex_hit_t h[10];
    for (int e = 0; e < 3; e++) {
        vindex_search_opts_t o = {.ef = (uint32_t)efs[e]};
        double hits = 0, c1 = clock_s(CLOCK_THREAD_CPUTIME_ID);
        for (size_t i = 0; i < nq; i++) {
            int got = vindex_search(v, q + i * d, 10, &o, h);
            for (int a = 0; a < got; a++)
                for (int b = 0; b < 10; b++)
                    if ((uint64_t)gt[i * kg + b] == h[a].id) { hits++; break; }
        }
        printf("{\"mode\": %d, \"ef\": %d, \"recall\": %.4f, \"qps_cpu\": %.1f}\n", mode, efs[e],
               hits / nq / 10, nq / (clock_s(CLOCK_THREAD_CPUTIME_ID) - c1));
        fflush(stdout);
    }
    return 0;
}
