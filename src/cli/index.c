/* index.c — `rodeo index ...`: build, search, inspect and compact vector index snapshots
 * on standard TEXMEX files, so the engine can be compared with others on the same data.
 *   rodeo index build   --input base.fvecs --output DIR [--metric ip|l2|cosine] [--m 16]
 *                       [--ef-construction 200] [--quantize int8] [--threads N]
 *   rodeo index search  --index DIR --queries q.fvecs --k 10 [--ef 64] [--threads N]
 *                       [--exact] [--rerank R] --output result.ivecs
 *   rodeo index info    --index DIR
 *   rodeo index compact --index DIR [--threads N]   (rebuild without deleted slots)
 *   rodeo index optimize --index DIR   (renumber nodes for locality: vindex_reorder)
 * Vector ids are the row numbers of the input file. The snapshot is DIR/index.rvx. */
#include "cli/cli.h"
#include "core/str.h"
#include "core/timeutil.h"
#include "index/fvecs.h"
#include "index/vindex.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void usage(FILE *out)
{
    fprintf(out,
        "usage: rodeo index build --input base.fvecs --output DIR [--metric ip|l2|cosine]\n"
        "                         [--m 16] [--ef-construction 200] [--quantize int8] [--threads N]\n"
        "       rodeo index search --index DIR --queries q.fvecs --k 10 [--ef 64] [--threads N]\n"
        "                          [--exact] [--rerank R] --output result.ivecs\n"
        "       rodeo index info --index DIR\n"
        "       rodeo index compact --index DIR [--threads N]\n"
        "       rodeo index optimize --index DIR\n");
}

typedef struct {
    const char *input, *output, *index, *queries, *metric, *quantize;
    long m, efc, ef, k, threads, rerank;
    int exact;
} opts_t;

static int parse_long(const char *name, const char *s, long lo, long hi, long *out)
{
    int64_t v;
    if (!s || !str_to_i64(s, &v) || v < lo || v > hi) {
        fprintf(stderr, "rodeo index: %s must be an integer in %ld..%ld\n", name, lo, hi);
        return -1;
    }
    *out = (long)v;
    return 0;
}

static int parse_opts(int argc, char **argv, opts_t *o)
{
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    memset(o, 0, sizeof *o);
    o->metric = "l2";
    o->m = 16; o->efc = 200; o->ef = 0; o->k = 10; o->threads = ncpu > 0 ? ncpu : 1;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        int takes = 1;
        if (!strcmp(a, "--input")) o->input = val;
        else if (!strcmp(a, "--output")) o->output = val;
        else if (!strcmp(a, "--index")) o->index = val;
        else if (!strcmp(a, "--queries")) o->queries = val;
        else if (!strcmp(a, "--metric")) o->metric = val;
        else if (!strcmp(a, "--quantize")) o->quantize = val;
        else if (!strcmp(a, "--m")) { if (parse_long("--m", val, 4, 128, &o->m)) return -1; }
        else if (!strcmp(a, "--ef-construction")) { if (parse_long("--ef-construction", val, 1, 100000, &o->efc)) return -1; }
        else if (!strcmp(a, "--ef")) { if (parse_long("--ef", val, 1, 100000, &o->ef)) return -1; }
        else if (!strcmp(a, "--k")) { if (parse_long("--k", val, 1, 10000, &o->k)) return -1; }
        else if (!strcmp(a, "--threads")) { if (parse_long("--threads", val, 1, 64, &o->threads)) return -1; }
        else if (!strcmp(a, "--rerank")) { if (parse_long("--rerank", val, 1, 100000, &o->rerank)) return -1; }
        else if (!strcmp(a, "--exact")) { o->exact = 1; takes = 0; }
        else { fprintf(stderr, "rodeo index: unknown option %s\n", a); return -1; }
        if (takes) {
            if (!val) { fprintf(stderr, "rodeo index: %s needs a value\n", a); return -1; }
            i++;
        }
    }
    return 0;
}

static char *snapshot_path(const char *dir)
{
    size_t n = strlen(dir) + 16;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/index.rvx", dir);
    return p;
}

static double now_s(void) { return time_mono_us() / 1e6; }

static void print_stats(const vindex_t *v, const char *extra)
{
    vindex_stats_t st;
    vindex_stats(v, &st);
    printf("{\"count\": %zu, \"deleted\": %zu, \"dim\": %u, \"metric\": \"%s\", \"m\": %u, "
           "\"ef_construction\": %u, \"ef_search\": %u, \"quantize\": \"%s\", \"max_level\": %d, "
           "\"memory_bytes\": %zu, \"mapped_bytes\": %zu, \"kernels\": \"%s\"%s}\n",
           st.count, st.deleted, st.dim, vindex_metric_name(st.metric), st.m, st.ef_construction,
           st.ef_search, st.quant == VINDEX_QUANT_INT8 ? "int8" : "none", st.max_level,
           st.memory_bytes, st.mapped_bytes, st.kernels, extra ? extra : "");
}

static int do_build(const opts_t *o)
{
    if (!o->input || !o->output) { usage(stderr); return 2; }
    int metric = vindex_metric_parse(o->metric);
    if (metric < 0) { fprintf(stderr, "rodeo index: --metric must be ip, l2 or cosine\n"); return 2; }
    if (o->quantize && strcmp(o->quantize, "int8") && strcmp(o->quantize, "none")) {
        fprintf(stderr, "rodeo index: --quantize must be int8 or none\n");
        return 2;
    }
    char err[512];
    size_t n, dim;
    float *x = fvecs_read(o->input, &n, &dim, err, sizeof err);
    if (!x) { fprintf(stderr, "rodeo index: %s\n", err); return 1; }
    if (mkdir(o->output, 0755) && errno != EEXIST) {
        fprintf(stderr, "rodeo index: %s: %s\n", o->output, strerror(errno));
        free(x);
        return 1;
    }
    vindex_params_t p;
    vindex_params_default(&p, (uint32_t)dim, (vindex_metric_t)metric);
    p.m = (uint32_t)o->m;
    p.ef_construction = (uint32_t)o->efc;
    if (o->ef) p.ef_search = (uint32_t)o->ef;
    if (o->quantize && !strcmp(o->quantize, "int8")) p.quant = VINDEX_QUANT_INT8;
    vindex_t *v = vindex_create(&p, err, sizeof err);
    uint64_t *ids = malloc(n * sizeof *ids);
    if (!v || !ids) {
        fprintf(stderr, "rodeo index: %s\n", v ? "out of memory" : err);
        vindex_free(v); free(ids); free(x);
        return 1;
    }
    for (size_t i = 0; i < n; i++) ids[i] = i;
    double t0 = now_s();
    int rc = vindex_upsert_batch(v, ids, x, NULL, n, (int)o->threads, err, sizeof err);
    double insert_s = now_s() - t0;
    /* renumber the nodes for locality (a few seconds at 1M): part of the build */
    if (!rc) rc = vindex_reorder(v, err, sizeof err);
    double build_s = now_s() - t0;
    free(ids);
    free(x);
    char *path = snapshot_path(o->output);
    double t1 = now_s();
    if (!rc) rc = vindex_save(v, path, err, sizeof err);
    double save_s = now_s() - t1;
    if (rc) fprintf(stderr, "rodeo index: %s\n", err);
    else {
        char extra[160];
        snprintf(extra, sizeof extra, ", \"build_seconds\": %.3f, \"reorder_seconds\": %.3f, "
                 "\"save_seconds\": %.3f, \"threads\": %ld", build_s, build_s - insert_s, save_s, o->threads);
        print_stats(v, extra);
    }
    free(path);
    vindex_free(v);
    return rc ? 1 : 0;
}

static vindex_t *load_index(const char *dir, double *load_s)
{
    char err[512];
    char *path = snapshot_path(dir);
    if (!path) return NULL;
    double t0 = now_s();
    vindex_t *v = vindex_load(path, err, sizeof err);
    if (load_s) *load_s = now_s() - t0;
    if (!v) fprintf(stderr, "rodeo index: %s\n", err);
    free(path);
    return v;
}

static int do_search(const opts_t *o)
{
    if (!o->index || !o->queries || !o->output) { usage(stderr); return 2; }
    char err[512];
    double load_s;
    vindex_t *v = load_index(o->index, &load_s);
    if (!v) return 1;
    size_t nq, dim;
    float *q = fvecs_read(o->queries, &nq, &dim, err, sizeof err);
    if (!q || dim != vindex_params(v)->dim) {
        if (q) fprintf(stderr, "rodeo index: queries have dimension %zu, the index %u\n", dim, vindex_params(v)->dim);
        else fprintf(stderr, "rodeo index: %s\n", err);
        free(q);
        vindex_free(v);
        return 1;
    }
    size_t k = (size_t)o->k;
    vindex_hit_t *hits = malloc(nq * k * sizeof *hits);
    size_t *counts = malloc(nq * sizeof *counts);
    int32_t *rows = malloc(nq * k * sizeof *rows);
    if (!hits || !counts || !rows) {
        fprintf(stderr, "rodeo index: out of memory\n");
        free(hits); free(counts); free(rows); free(q); vindex_free(v);
        return 1;
    }
    vindex_search_opts_t so = {.ef = (uint32_t)o->ef, .exact = o->exact, .rerank = (uint32_t)o->rerank};
    double t0 = now_s();
    int rc = vindex_search_batch(v, q, nq, k, &so, (int)o->threads, hits, counts);
    double secs = now_s() - t0;
    if (rc) fprintf(stderr, "rodeo index: search failed\n");
    else {
        for (size_t i = 0; i < nq; i++)
            for (size_t j = 0; j < k; j++)
                rows[i * k + j] = j < counts[i] ? (int32_t)hits[i * k + j].id : -1;
        rc = ivecs_write(o->output, rows, nq, k, err, sizeof err);
        if (rc) fprintf(stderr, "rodeo index: %s\n", err);
        else printf("{\"queries\": %zu, \"seconds\": %.6f, \"qps\": %.1f, \"load_seconds\": %.3f}\n",
                    nq, secs, secs > 0 ? nq / secs : 0.0, load_s);
    }
    free(hits); free(counts); free(rows); free(q);
    vindex_free(v);
    return rc ? 1 : 0;
}

static int live_source(void *ctx, uint64_t *id, const float **vec, vindex_attrs_t *attrs)
{
    void **c = ctx;
    return vindex_next_live((const vindex_t *)c[0], (size_t *)c[1], id, vec, attrs);
}

static int do_compact(const opts_t *o)
{
    if (!o->index) { usage(stderr); return 2; }
    vindex_t *v = load_index(o->index, NULL);
    if (!v) return 1;
    char err[512];
    size_t cursor = 0;
    void *ctx[2] = {v, &cursor};
    vindex_params_t p = *vindex_params(v);
    /* vectors are already normalised; IP on them equals cosine */
    vindex_t *w = vindex_rebuild(&p, live_source, ctx, (int)o->threads, err, sizeof err);
    int rc = w ? 0 : 1;
    char *path = snapshot_path(o->index);
    if (w && vindex_save(w, path, err, sizeof err)) rc = 1;
    if (rc) fprintf(stderr, "rodeo index: %s\n", err);
    else print_stats(w, NULL);
    free(path);
    vindex_free(w);
    vindex_free(v);
    return rc;
}

/* Load, renumber the nodes for locality, save: for snapshots written before builds did it. */
static int do_optimize(const opts_t *o)
{
    if (!o->index) { usage(stderr); return 2; }
    vindex_t *v = load_index(o->index, NULL);
    if (!v) return 1;
    char err[512];
    char *path = snapshot_path(o->index);
    double t0 = now_s();
    int rc = path && !vindex_reorder(v, err, sizeof err) ? 0 : 1;
    double reorder_s = now_s() - t0, t1 = now_s();
    if (!rc && vindex_save(v, path, err, sizeof err)) rc = 1;
    double save_s = now_s() - t1;
    if (rc) fprintf(stderr, "rodeo index: %s\n", path ? err : "out of memory");
    else {
        char extra[96];
        snprintf(extra, sizeof extra, ", \"reorder_seconds\": %.3f, \"save_seconds\": %.3f", reorder_s, save_s);
        print_stats(v, extra);
    }
    free(path);
    vindex_free(v);
    return rc;
}

int cmd_index(int argc, char **argv)
{
    int help = 0;   /* not cli_wants_help: that lives in main.c, and tests call us directly */
    for (int i = 1; i < argc; i++) help |= !strcmp(argv[i], "-h") || !strcmp(argv[i], "--help");
    if (argc < 2 || help) { usage(argc < 2 ? stderr : stdout); return argc < 2 ? 2 : 0; }
    opts_t o;
    if (parse_opts(argc, argv, &o)) return 2;
    if (!strcmp(argv[1], "build")) return do_build(&o);
    if (!strcmp(argv[1], "search")) return do_search(&o);
    if (!strcmp(argv[1], "compact")) return do_compact(&o);
    if (!strcmp(argv[1], "optimize")) return do_optimize(&o);
    if (!strcmp(argv[1], "info")) {
        if (!o.index) { usage(stderr); return 2; }
        double load_s;
        vindex_t *v = load_index(o.index, &load_s);
        if (!v) return 1;
        char extra[64];
        snprintf(extra, sizeof extra, ", \"load_seconds\": %.3f", load_s);
        print_stats(v, extra);
        vindex_free(v);
        return 0;
    }
    fprintf(stderr, "rodeo index: unknown subcommand '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
