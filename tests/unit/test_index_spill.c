/* Tests for where int8 collections keep their fp32 vectors (a spill file mapped from disk, or
 * the snapshot's own file after a load) and for retraining the int8 grid when the first
 * training sample was not representative. */
#include "test.h"
#include "test_index_util.h"
#include "index/vindex.h"
#include "index/vindex_impl.h"
#include <dirent.h>
#include <malloc.h>
#include <math.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* RssAnon of this process in kB (anonymous resident memory: heap, not page cache). */
static long rss_anon_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "RssAnon:", 8)) kb = atol(line + 8);
    if (f) fclose(f);
    return kb;
}

static int dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    if (d) closedir(d);
    return n;
}

TEST(index_int8_fp32_vectors_file_backed)
{
    const size_t n = 12000, dim = 256;
    char *dir = test_tmpdir();
    char spill[1024], path[1024], err[256];
    snprintf(spill, sizeof spill, "%s/spill", dir);
    snprintf(path, sizeof path, "%s/c.rvx", dir);
    REQUIRE(mkdir(spill, 0700) == 0);
    setenv("RODEO_VINDEX_SPILL_DIR", spill, 1);
    float *x = tiu_clustered(n + 600, dim, 30, 0.4, 1, 41);
    uint64_t *ids = malloc(n * sizeof *ids);
    for (size_t i = 0; i < n; i++) ids[i] = i;
    vindex_params_t p;
    vindex_params_default(&p, (uint32_t)dim, VINDEX_IP);   /* IP: stored as given (unit length) */
    p.quant = VINDEX_QUANT_INT8;
    p.ef_construction = 32;
    p.m = 8;
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);   /* fixed: glibc raises it after earlier tests free big blocks */
    long anon0 = rss_anon_kb();
    vindex_t *v = vindex_create(&p, err, sizeof err);
    REQUIRE(v);
    REQUIRE(vindex_upsert_batch(v, ids, x, NULL, n, 1, err, sizeof err) == 0);
    long anon1 = rss_anon_kb();
    unsetenv("RODEO_VINDEX_SPILL_DIR");
    /* the fp32 copies (n * dim * 4 bytes) are not in anonymous memory: the growth is codes,
     * graph and metadata, about n * (dim + 160) bytes, well below the fp32 bytes alone */
    size_t fp32_kb = n * dim * sizeof(float) / 1024;
    CHECK(anon0 > 0 && anon1 > 0);
    if (getenv("DBG")) printf("anon growth %ld kB, fp32 %zu kB\n", anon1 - anon0, fp32_kb);
#ifndef __SANITIZE_ADDRESS__
    /* (not under ASan: its quarantine and shadow pages add anonymous memory of their own) */
    CHECK((size_t)(anon1 - anon0) < fp32_kb * 3 / 4);
#endif
    vindex_stats_t st;
    vindex_stats(v, &st);
    CHECK(st.mapped_bytes >= n * dim * sizeof(float));
    /* the spill file has no name: nothing is left behind in its directory */
    CHECK_INT(dir_entries(spill), 0);

    /* exact copies: get returns the bytes inserted, and the int8 search re-ranks with them */
    float *back = malloc(dim * sizeof(float));
    int exact_copies = 0;
    for (size_t i = 0; i < n; i += 97)
        exact_copies += vindex_get(v, i, back, NULL) == 0 && !memcmp(back, x + i * dim, dim * sizeof(float));
    CHECK_INT(exact_copies, (n + 96) / 97);
    double rec = 0;
    size_t nq = 0;
    for (size_t i = 5; i < n; i += 400, nq++) {
        vindex_hit_t h[10], e[10];
        vindex_search_opts_t o = {.ef = 96}, ox = {.exact = 1};
        int got = vindex_search(v, x + i * dim, 10, &o, h);
        int gx = vindex_search(v, x + i * dim, 10, &ox, e);
        REQUIRE(got == 10 && gx == 10);
        uint64_t truth[10];
        for (int k = 0; k < 10; k++) truth[k] = e[k].id;
        rec += tiu_recall(h, 10, truth, 10);
        /* re-ranked scores are exact fp32 inner products */
        double dot = 0;
        for (size_t j = 0; j < dim; j++) dot += (double)x[h[0].id * dim + j] * x[i * dim + j];
        CHECK_NEAR(h[0].score, dot, 1e-3 * (fabs(dot) + 1));
    }
    if (getenv("DBG")) printf("recall %.3f\n", rec / nq);
    CHECK(rec / nq >= 0.9);

    /* save, load (vectors come from the snapshot file), insert into the loaded collection
     * (its last chunk and new chunks come from a spill file), save and load again */
    REQUIRE(vindex_save(v, path, err, sizeof err) == 0);
    vindex_t *w = vindex_load(path, err, sizeof err);
    REQUIRE(w);
    for (size_t i = 0; i < 600; i++)
        CHECK_INT(vindex_upsert(w, n + i, x + (n + i) * dim, NULL, err, sizeof err), 0);
    REQUIRE(vindex_save(w, path, err, sizeof err) == 0);
    vindex_t *z = vindex_load(path, err, sizeof err);
    REQUIRE(z);
    int same = 0;
    for (size_t i = 0; i < n + 600; i += 53)
        same += vindex_get(z, i, back, NULL) == 0 && !memcmp(back, x + i * dim, dim * sizeof(float));
    CHECK_INT(same, (n + 600 + 52) / 53);
    int found = 0;
    for (size_t i = n; i < n + 600; i += 30) {
        vindex_hit_t h[1];
        found += vindex_search(z, x + i * dim, 1, NULL, h) == 1 && h[0].id == i;
    }
    CHECK(found >= 19);
    vindex_free(z);
    vindex_free(w);
    vindex_free(v);
    free(back);
    free(ids);
    free(x);
    free(dir);
}

static double recall_against_brute(vindex_t *v, const float *x, size_t n, size_t dim,
                                   vindex_metric_t metric, const float *q, size_t nq)
{
    double rec = 0;
    for (size_t i = 0; i < nq; i++) {
        uint64_t truth[10];
        tiu_brute(x, n, dim, q + i * dim, 10, metric, NULL, truth);
        vindex_hit_t h[10];
        vindex_search_opts_t o = {.ef = 48};
        int got = vindex_search(v, q + i * dim, 10, &o, h);
        rec += got > 0 ? tiu_recall(h, (size_t)got, truth, 10) : 0;
    }
    return rec / nq;
}

/* The first batch is a tight blob far from where the rest of the data lies: a grid trained on
 * it alone saturates every later code, and the graph would be walked on noise. */
TEST(index_int8_retrains_when_first_batch_unrepresentative)
{
    const size_t dim = 32, na = 800, nb = 4000, nq = 60;
    float *a = tiu_clustered(na, dim, 1, 0.02, 0, 51);
    float *b = tiu_clustered(nb + nq, dim, 40, 0.3, 0, 52);
    for (size_t i = 0; i < na * dim; i++) a[i] = a[i] * 0.05f + 3.0f;
    float *all = malloc((na + nb) * dim * sizeof(float));
    memcpy(all, a, na * dim * sizeof(float));
    memcpy(all + na * dim, b, nb * dim * sizeof(float));
    uint64_t *ids = malloc((na + nb) * sizeof *ids);
    for (size_t i = 0; i < na + nb; i++) ids[i] = i;
    vindex_params_t p;
    vindex_params_default(&p, (uint32_t)dim, VINDEX_L2);
    p.quant = VINDEX_QUANT_INT8;
    p.ef_construction = 64;
    p.flat_below = 10;
    vindex_t *v = vindex_create(&p, NULL, 0);
    REQUIRE(v);
    REQUIRE(vindex_upsert_batch(v, ids, all, NULL, na, 1, NULL, 0) == 0);
    CHECK_INT(v->q_retrains, 0);
    REQUIRE(vindex_upsert_batch(v, ids + na, all + na * dim, NULL, nb, 2, NULL, 0) == 0);
    CHECK(v->q_retrains >= 1);
    /* the grid now spans the second batch: re-encoding it finds no saturated vectors */
    int8_t *code = malloc(dim);
    int outside = 0;
    for (size_t i = 0; i < nb; i++) outside += vquant_encode(v, b + i * dim, code);
    CHECK(outside < (int)nb / 100);
    double rec = recall_against_brute(v, all, na + nb, dim, VINDEX_L2, b + nb * dim, nq);
    CHECK(rec >= 0.9);
    vindex_free(v);

    /* single upserts: the grid is first trained on the very first vector (from the blob) */
    v = vindex_create(&p, NULL, 0);
    REQUIRE(v);
    memcpy(all, a, dim * sizeof(float));
    REQUIRE(vindex_upsert(v, 0, a, NULL, NULL, 0) == 0);
    for (size_t i = 1; i < 2000; i++) {
        memcpy(all + i * dim, b + i * dim, dim * sizeof(float));
        REQUIRE(vindex_upsert(v, i, b + i * dim, NULL, NULL, 0) == 0);
    }
    CHECK(v->q_retrains >= 1);
    /* trained on one vector the grid has no range (scale falls back to 1.0: a handful of
     * levels for this data); retrained, the codes use most of the int8 range, unsaturated */
    outside = 0;
    int maxabs = 0;
    for (size_t i = 1; i < 2000; i++) {
        outside += vquant_encode(v, b + i * dim, code);
        for (size_t j = 0; j < dim; j++) if (abs(code[j]) > maxabs) maxabs = abs(code[j]);
    }
    CHECK(outside < 20);
    CHECK(maxabs >= 64);
    rec = recall_against_brute(v, all, 2000, dim, VINDEX_L2, b + nb * dim, nq);
    CHECK(rec >= 0.9);
    vindex_free(v);

    /* an int8 collection with nothing stored has no grid yet: searching it (int8 scan) works */
    v = vindex_create(&p, NULL, 0);
    REQUIRE(v);
    vindex_hit_t h1[1];
    vindex_search_opts_t o2 = {.exact = 2};
    CHECK_INT(vindex_search(v, b, 1, &o2, h1), 0);
    CHECK_INT(vindex_search(v, b, 1, NULL, h1), 0);
    vindex_free(v);
    free(code);
    free(ids);
    free(all);
    free(a);
    free(b);
}
