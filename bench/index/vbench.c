/* vbench.c — Rodeo's side of the index benchmark (links build/librodeo.a): build time and
 * memory, single-thread QPS/recall@10 per ef, exact single-query latency (fp32 and int8),
 * filtered search at 1% selectivity, snapshot save/load time. One JSON line per figure.
 * usage: vbench DATA_DIR [--quant int8] [--m 16] [--efc 200] [--threads 2] [--efs 16,32,64]
 *               [--rounds 1] [--skip-extra] [--snapshot PATH] [--load PATH]
 * --load: search rounds on a saved snapshot instead of building (later benchmark rounds). */
#include "core/timeutil.h"
#include "index/fvecs.h"
#include "index/vindex.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>

static double now(void) { return time_mono_us() / 1e6; }
/* CPU time of this thread: on a shared machine, wall time also counts time spent waiting
 * for a core, CPU time does not (single-thread search QPS is reported both ways). */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = 0;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6)) kb = atol(line + 6);
    if (f) fclose(f);
    return kb;
}

/* Resident memory split as the kernel reports it: anonymous (heap) vs file-backed pages
 * (page cache mapped into this process: snapshot and spill-file mappings). kB. */
static void rss_split(long *anon, long *file)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    *anon = *file = 0;
    while (f && fgets(line, sizeof line, f)) {
        if (!strncmp(line, "RssAnon:", 8)) *anon = atol(line + 8);
        if (!strncmp(line, "RssFile:", 8)) *file = atol(line + 8);
    }
    if (f) fclose(f);
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double recall10(const vindex_hit_t *h, int n, const int32_t *gt)
{
    int hit = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < 10; j++) if ((uint64_t)gt[j] == h[i].id) { hit++; break; }
    return hit / 10.0;
}

int main(int argc, char **argv)
{
    if (argc < 2) { fprintf(stderr, "usage: vbench DATA_DIR [options]\n"); return 2; }
    const char *dir = argv[1], *efs = "16,24,32,48,64,96,128", *snap = NULL, *load = NULL;
    int quant = 0, m = 16, efc = 200, threads = 2, rounds = 1, extra = 1;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--quant") && i + 1 < argc) quant = !strcmp(argv[++i], "int8");
        else if (!strcmp(argv[i], "--m") && i + 1 < argc) m = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--efc") && i + 1 < argc) efc = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--efs") && i + 1 < argc) efs = argv[++i];
        else if (!strcmp(argv[i], "--rounds") && i + 1 < argc) rounds = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--snapshot") && i + 1 < argc) snap = argv[++i];
        else if (!strcmp(argv[i], "--load") && i + 1 < argc) load = argv[++i];
        else if (!strcmp(argv[i], "--skip-extra")) extra = 0;
        else { fprintf(stderr, "vbench: bad option %s\n", argv[i]); return 2; }
    }
    char p1[1024], p2[1024], p3[1024], err[512];
    snprintf(p1, sizeof p1, "%s/base.fvecs", dir);
    snprintf(p2, sizeof p2, "%s/query.fvecs", dir);
    snprintf(p3, sizeof p3, "%s/gt.ivecs", dir);
    size_t n, d, nq, dq, ng, kg;
    float *x = fvecs_read(p1, &n, &d, err, sizeof err);
    float *q = x ? fvecs_read(p2, &nq, &dq, err, sizeof err) : NULL;
    int32_t *gt = q ? ivecs_read(p3, &ng, &kg, err, sizeof err) : NULL;
    if (!gt) { fprintf(stderr, "vbench: %s\n", err); return 1; }
    const char *name = quant ? "rodeo-int8" : "rodeo";

    vindex_params_t p;
    vindex_params_default(&p, (uint32_t)d, VINDEX_IP);
    p.m = (uint32_t)m;
    p.ef_construction = (uint32_t)efc;
    p.quant = quant ? VINDEX_QUANT_INT8 : VINDEX_QUANT_NONE;
    vindex_t *v = NULL;
    long rss0 = rss_kb(), a0, f0, a1, f1;
    rss_split(&a0, &f0);
    if (load) {
        v = vindex_load(load, err, sizeof err);
        if (!v) { fprintf(stderr, "vbench: %s\n", err); return 1; }
        quant = vindex_params(v)->quant == VINDEX_QUANT_INT8;
        name = quant ? "rodeo-int8" : "rodeo";
        goto search;
    }
    v = vindex_create(&p, err, sizeof err);
    uint64_t *ids = malloc(n * sizeof *ids);
    vindex_attrs_t *attrs = calloc(n, sizeof *attrs);
    for (size_t i = 0; i < n; i++) { ids[i] = i; attrs[i].category = (uint32_t)(i % 100); }
    rss0 = rss_kb();
    rss_split(&a0, &f0);
    double t0 = now();
    if (vindex_upsert_batch(v, ids, x, attrs, n, threads, err, sizeof err)) { fprintf(stderr, "%s\n", err); return 1; }
    /* as `rodeo index build` does: the locality renumbering is part of the build */
    double t_re = now();
    if (vindex_reorder(v, err, sizeof err)) { fprintf(stderr, "%s\n", err); return 1; }
    double build = now() - t0, reorder = now() - t_re;
    long rss1 = rss_kb();
    rss_split(&a1, &f1);
    vindex_stats_t st;
    vindex_stats(v, &st);
    printf("{\"engine\": \"%s\", \"n\": %zu, \"dim\": %zu, \"m\": %d, \"ef_construction\": %d, \"threads\": %d, "
           "\"build_seconds\": %.2f, \"reorder_seconds\": %.2f, \"memory_bytes\": %ld, \"rss_anon_bytes\": %ld, \"rss_file_bytes\": %ld, "
           "\"index_bytes\": %zu, \"kernels\": \"%s\"}\n",
           name, n, d, m, efc, threads, build, reorder, (rss1 - rss0) * 1024L, (a1 - a0) * 1024L,
           (f1 - f0) * 1024L, st.memory_bytes, st.kernels);
    fflush(stdout);
    free(ids);
    free(attrs);
search:;
    vindex_hit_t h[10];
    size_t queries_run = 0;
    struct rusage ru0, ru1;
    getrusage(RUSAGE_SELF, &ru0);
    for (int r = 0; r < rounds; r++) {
        char *list = strdup(efs);
        for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
            vindex_search_opts_t o = {.ef = (uint32_t)atoi(tok)};
            double rec = 0;
            double t1 = now(), c1 = cpu_now();
            for (size_t i = 0; i < nq; i++) {
                int got = vindex_search(v, q + i * d, 10, &o, h);
                rec += recall10(h, got, gt + i * kg);
            }
            double secs = now() - t1, csecs = cpu_now() - c1;
            queries_run += nq;
            printf("{\"engine\": \"%s\", \"round\": %d, \"ef\": %s, \"recall\": %.4f, \"qps\": %.1f, \"qps_cpu\": %.1f}\n",
                   name, r, tok, rec / nq, nq / secs, nq / csecs);
            fflush(stdout);
        }
        free(list);
    }
    {
        /* resident memory after the query sweep (re-ranking faults vector pages back in);
         * deltas from before the build or load */
        rss_split(&a1, &f1);
        getrusage(RUSAGE_SELF, &ru1);
        printf("{\"engine\": \"%s\", \"after_queries\": %zu, \"rss_anon_bytes\": %ld, \"rss_file_bytes\": %ld, "
               "\"page_faults_during_queries\": %ld%s}\n",
               name, queries_run, (a1 - a0) * 1024L, (f1 - f0) * 1024L, ru1.ru_minflt - ru0.ru_minflt,
               load ? ", \"loaded\": 1" : "");
        fflush(stdout);
    }
    if (extra) {
        /* exact single-query latency: fp32 scan; int8 scan + re-rank on int8 collections */
        size_t ne = nq < 100 ? nq : 100;
        double *lat = malloc(ne * sizeof *lat);
        for (int mode = 1; mode <= (quant ? 2 : 1); mode++) {
            vindex_search_opts_t o = {.exact = mode};
            double rec = 0;
            for (size_t i = 0; i < ne; i++) {
                double t1 = now();
                int got = vindex_search(v, q + i * d, 10, &o, h);
                lat[i] = now() - t1;
                rec += recall10(h, got, gt + i * kg);
            }
            qsort(lat, ne, sizeof *lat, cmp_d);
            printf("{\"engine\": \"%s\", \"exact\": \"%s\", \"median_ms\": %.3f, \"recall\": %.4f}\n",
                   name, mode == 1 ? "fp32-scan" : "int8-scan+rerank", lat[ne / 2] * 1e3, rec / ne);
            fflush(stdout);
        }
        /* batch exact via sgemm: throughput */
        {
            vindex_search_opts_t o = {.exact = 1};
            vindex_hit_t *bh = malloc(nq * 10 * sizeof *bh);
            size_t *cnt = malloc(nq * sizeof *cnt);
            double t1 = now();
            vindex_search_batch(v, q, nq, 10, &o, 1, bh, cnt);
            double secs = now() - t1;
            double rec = 0;
            for (size_t i = 0; i < nq; i++) rec += recall10(bh + i * 10, (int)cnt[i], gt + i * kg);
            printf("{\"engine\": \"%s\", \"exact\": \"sgemm-batch\", \"queries\": %zu, \"ms_per_query\": %.3f, \"recall\": %.4f}\n",
                   name, nq, secs * 1e3 / nq, rec / nq);
            free(bh); free(cnt);
        }
        /* filtered at 1% (category == 7), vs unfiltered at the same ef; recall vs exact filtered */
        {
            uint32_t cat = 7;
            vindex_filter_t f = {.categories = &cat, .n_categories = 1};
            vindex_search_opts_t of = {.ef = 64, .filter = &f}, ou = {.ef = 64}, ox = {.exact = 1, .filter = &f};
            double *lf = malloc(nq * sizeof *lf), *lu = malloc(nq * sizeof *lu);
            double rec = 0;
            int viol = 0;
            vindex_hit_t ht[10];
            for (size_t i = 0; i < nq; i++) {
                double t1 = now();
                vindex_search(v, q + i * d, 10, &ou, h);
                lu[i] = now() - t1;
                t1 = now();
                int got = vindex_search(v, q + i * d, 10, &of, h);
                lf[i] = now() - t1;
                int gx = vindex_search(v, q + i * d, 10, &ox, ht);
                int hit = 0;
                for (int a = 0; a < got; a++) {
                    if (h[a].id % 100 != 7) viol++;
                    for (int b = 0; b < gx; b++) if (h[a].id == ht[b].id) { hit++; break; }
                }
                rec += gx ? (double)hit / gx : 1.0;
            }
            qsort(lf, nq, sizeof *lf, cmp_d);
            qsort(lu, nq, sizeof *lu, cmp_d);
            printf("{\"engine\": \"%s\", \"filter\": \"1%%\", \"recall\": %.4f, \"violations\": %d, "
                   "\"median_ms\": %.3f, \"unfiltered_median_ms\": %.3f, \"ratio\": %.2f}\n",
                   name, rec / nq, viol, lf[nq / 2] * 1e3, lu[nq / 2] * 1e3, lf[nq / 2] / lu[nq / 2]);
            free(lf); free(lu);
        }
        free(lat);
    }
    if (snap) {
        {
            double t1 = now();
            if (vindex_save(v, snap, err, sizeof err)) { fprintf(stderr, "%s\n", err); return 1; }
            double save = now() - t1;
            t1 = now();
            vindex_t *w = vindex_load(snap, err, sizeof err);
            double load = now() - t1;
            if (!w) { fprintf(stderr, "%s\n", err); return 1; }
            double rec = 0;
            vindex_search_opts_t o = {.ef = 64};
            for (size_t i = 0; i < nq; i++) rec += recall10(h, vindex_search(w, q + i * d, 10, &o, h), gt + i * kg);
            printf("{\"engine\": \"%s\", \"save_seconds\": %.3f, \"load_seconds\": %.3f, \"recall_after_load\": %.4f}\n",
                   name, save, load, rec / nq);
            vindex_free(w);
        }
    }
    vindex_free(v);
    free(x); free(q); free(gt);
    return 0;
}
