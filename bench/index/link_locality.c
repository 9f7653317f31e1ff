/* link_locality.c — how close a snapshot's graph neighbours sit in memory: the fraction of
 * level-0 links whose two records lie in the same 64 KiB block, the same 2 MiB page, within
 * 16 and within 256 such pages. Used to compare slot orders (vindex_reorder, round 3 in
 * bench/results/index.md); reads internals, so it is built against vindex_impl.h.
 * build: gcc -std=c11 -D_GNU_SOURCE -O2 -pthread -Isrc bench/index/link_locality.c \
 *          build/librodeo.a $(pkg-config --libs openblas) -lm -o link_locality
 * usage: link_locality SNAPSHOT.rvx ... */
#include "index/vindex_impl.h"
#include <stdio.h>

int main(int argc, char **argv)
{
    if (argc < 2) { fprintf(stderr, "usage: link_locality SNAPSHOT.rvx ...\n"); return 2; }
    char err[256];
    for (int a = 1; a < argc; a++) {
        vindex_t *v = vindex_load(argv[a], err, sizeof err);
        if (!v) { fprintf(stderr, "link_locality: %s\n", err); return 1; }
        const vtab_t *t = vindex_tab(v);
        size_t n = vindex_nslots(v), links = 0, blk = 0, page = 0, p16 = 0, p256 = 0;
        for (size_t s = 0; s < n; s++) {
            const uint32_t *ll = vindex_links0(v, t, (uint32_t)s);
            size_t bs = s * v->stride;
            for (uint32_t i = 0; i < ll[0]; i++) {
                size_t bn = (size_t)ll[1 + i] * v->stride;
                size_t pd = bn >> 21 > bs >> 21 ? (bn >> 21) - (bs >> 21) : (bs >> 21) - (bn >> 21);
                blk += bn >> 16 == bs >> 16;
                page += pd == 0;
                p16 += pd <= 16;
                p256 += pd <= 256;
                links++;
            }
        }
        double l = links ? (double)links : 1;
        printf("{\"snapshot\": \"%s\", \"links\": %zu, \"same_64k\": %.4f, \"same_2m\": %.4f, "
               "\"within_16_2m\": %.4f, \"within_256_2m\": %.4f}\n",
               argv[a], links, blk / l, page / l, p16 / l, p256 / l);
        vindex_free(v);
    }
    return 0;
}
