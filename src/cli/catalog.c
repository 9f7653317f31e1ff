/* catalog.c — `rodeo catalog`, `rodeo recognize` and `rodeo eval`: the product catalog and
 * recognition from the command line, on the same store the server uses.
 *   rodeo catalog import FILE [--images DIR] [--prices FILE]   CSV or JSON Lines
 *   rodeo catalog list [--q TEXT] [--category C] [--brand B] [--limit N]
 *   rodeo recognize PHOTO [--no-prices] [--top-k N] [--category C] [--brand B]
 *   rodeo eval recognition DIR        DIR/<category>/<brand>/ photos against the catalog
 * A running server loads the catalog's vectors at start: restart it after an import. */
#include "cli/cli.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/timeutil.h"
#include "ml/service.h"
#include "recog/recognize.h"
#include "store/catalog.h"
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static store_t *open_store(void)
{
    char err[300];
    mkdir(g_config.data_dir, 0700);
    store_t *st = store_open(g_config.database_url, g_config.data_dir, 2, err, sizeof err);
    if (st && store_migrate(st, err, sizeof err) < 0) { store_close(st); st = NULL; }
    if (!st) fprintf(stderr, "rodeo: %s\n", err);
    return st;
}

static const char *opt(int argc, char **argv, const char *name)
{
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], name)) return argv[i + 1];
    return NULL;
}

static void progress(void *ctx, long done, long total)
{
    if (!*(int *)ctx || total <= 0) return;
    int width = 30, fill = (int)(done * width / total);
    fprintf(stderr, "\r[%.*s%*s] %3ld%%", fill, "##############################", width - fill, "",
            done * 100 / total);
    if (done >= total) fputc('\n', stderr);
    fflush(stderr);
}

static void report(void *ctx, const char *msg)
{
    if (*(int *)ctx) fputc('\r', stderr);
    fprintf(stderr, "  skipped: %s\n", msg);
}

static int catalog_import(int argc, char **argv)
{
    const char *file = NULL;
    for (int i = 2; i < argc; i++) {
        if (argv[i][0] == '-') { i++; continue; }
        file = argv[i];
        break;
    }
    if (!file) {
        fprintf(stderr, "usage: rodeo catalog import FILE [--images DIR] [--prices FILE]\n");
        return 2;
    }
    store_t *st = open_store();
    if (!st) return 1;
    int tty = isatty(2);
    recog_import_stats_t s = { 0 };
    char err[300];
    int rc = 0;
    /* with CLIP weights, images (or, without one, the product's text) get CLIP embeddings too:
     * an engine that is never queried carries the matcher */
    ml_service_init();
    recog_engine_t *e = ml_service_clip() ? recog_engine_new() : NULL;
    if (e && recog_use_clip(e, ml_service_clip(), err, sizeof err) != 0) {
        recog_engine_free(e);
        e = NULL;
    }
    if (recog_import_products(st, e, file, opt(argc, argv, "--images"), g_config.data_dir, progress, report,
                              &tty, &s, err, sizeof err) != 0) {
        fprintf(stderr, "rodeo catalog: %s\n", err);
        rc = 1;
    }
    const char *prices = opt(argc, argv, "--prices");
    if (rc == 0 && prices && recog_import_prices(st, prices, report, &tty, &s, err, sizeof err) != 0) {
        fprintf(stderr, "rodeo catalog: %s\n", err);
        rc = 1;
    }
    printf("%ld rows: %ld created, %ld updated, %ld failed; %ld images embedded, %ld failed",
           s.rows, s.created, s.updated, s.failed, s.images, s.images_failed);
    if (prices) printf("; %ld prices (%ld new), %ld failed", s.prices, s.prices_appended, s.prices_failed);
    printf("\n");
    recog_engine_free(e);
    ml_service_shutdown();
    store_close(st);
    if (rc == 0 && (s.failed || s.images_failed || s.prices_failed)) rc = 1;
    return rc;
}

static int catalog_list(int argc, char **argv)
{
    store_t *st = open_store();
    if (!st) return 1;
    const char *lim = opt(argc, argv, "--limit");
    store_product_query_t q = { .q = opt(argc, argv, "--q"), .category = opt(argc, argv, "--category"),
                                .brand = opt(argc, argv, "--brand"), .min_cents = -1, .max_cents = -1,
                                .limit = lim ? atoi(lim) : 50 };
    json_t *o = NULL;
    int rc = store_product_list(st, &q, &o);
    if (rc == STORE_OK) {
        size_t i;
        json_t *p;
        json_array_foreach(json_object_get(o, "items"), i, p)
            printf("%6lld  %-10s %-22s %s\n", (long long)json_integer_value(json_object_get(p, "id")),
                   json_string_value(json_object_get(p, "category")), json_string_value(json_object_get(p, "brand")),
                   json_string_value(json_object_get(p, "model")));
        printf("%lld products\n", (long long)json_integer_value(json_object_get(o, "total")));
        json_decref(o);
    }
    store_close(st);
    return rc == STORE_OK ? 0 : 1;
}

int cmd_catalog(int argc, char **argv)
{
    if (argc < 2 || cli_wants_help(argc, argv)) {
        printf("usage: rodeo catalog import FILE [--images DIR] [--prices FILE]\n"
               "       rodeo catalog list [--q TEXT] [--category C] [--brand B] [--limit N]\n");
        return argc < 2 ? 2 : 0;
    }
    if (cli_init_config() != 0) return 1;
    if (!strcmp(argv[1], "import")) return catalog_import(argc, argv);
    if (!strcmp(argv[1], "list")) return catalog_list(argc, argv);
    fprintf(stderr, "rodeo catalog: unknown subcommand '%s'\n", argv[1]);
    return 2;
}

/* Loads the engine from the store (the catalog's stored vectors). */
static recog_engine_t *load_engine(store_t *st)
{
    ml_service_init();    /* CLIP when its weights are configured, as the server does */
    recog_engine_t *e = recog_engine_new();
    char err[300] = "";
    if (e && ml_service_clip() && recog_use_clip(e, ml_service_clip(), err, sizeof err) != 0) err[0] = '\0';
    if (!e || recog_engine_load(e, st, err, sizeof err) < 0) {
        fprintf(stderr, "rodeo: %s\n", err);
        recog_engine_free(e);
        ml_service_shutdown();
        return NULL;
    }
    return e;
}

/* Intake + recognition of one file into a response object (NULL + message on rejection). */
static json_t *recognize_file(store_t *st, recog_engine_t *e, const char *path, const recog_opts_t *o,
                              char *err, size_t errlen)
{
    int64_t t0 = time_now_us();
    vision_intake_options_t opt_in;
    vision_intake_options_default(&opt_in);
    opt_in.input_size = recog_intake_size(e);   /* CLIP's tensor when it answers */
    vision_intake_t in;
    memset(&in, 0, sizeof in);
    json_t *r = NULL;
    if (vision_intake_file(path, &opt_in, &in) != 0) snprintf(err, errlen, "%s: %s", path, in.error.message);
    else r = recog_respond(st, e, &in, o, t0, err, errlen);
    vision_intake_free(&in);
    return r;
}

int cmd_recognize(int argc, char **argv)
{
    if (argc < 2 || cli_wants_help(argc, argv)) {
        printf("usage: rodeo recognize PHOTO [--no-prices] [--top-k N] [--category C] [--brand B]\n");
        return argc < 2 ? 2 : 0;
    }
    if (cli_init_config() != 0) return 1;
    store_t *st = open_store();
    if (!st) return 1;
    recog_engine_t *e = load_engine(st);
    int rc = 1;
    if (e) {
        recog_opts_t o = { .include_prices = true, .top_k = 5, .classifier = ml_service_vit() };
        for (int i = 2; i < argc; i++) if (!strcmp(argv[i], "--no-prices")) o.include_prices = false;
        const char *k = opt(argc, argv, "--top-k");
        if (k) o.top_k = atoi(k);
        o.category = opt(argc, argv, "--category");
        o.brand = opt(argc, argv, "--brand");
        char err[400];
        json_t *r = recognize_file(st, e, argv[1], &o, err, sizeof err);
        if (r) {
            char *s = json_dumps(r, JSON_INDENT(2));
            printf("%s\n", s);
            free(s);
            json_decref(r);
            rc = 0;
        } else {
            fprintf(stderr, "rodeo recognize: %s\n", err);
        }
    }
    recog_engine_free(e);
    if (e) ml_service_shutdown();
    store_close(st);
    return rc;
}

/* ---- rodeo eval recognition DIR ---- */

typedef struct { char **names; int n; int *m; } confusion_t;   /* m[true * n + predicted] */

static int label_index(confusion_t *c, const char *name)
{
    for (int i = 0; i < c->n; i++)
        if (!strcasecmp(c->names[i], name)) return i;
    c->names = realloc(c->names, sizeof *c->names * (c->n + 1));
    c->names[c->n] = strdup(name);
    int n = c->n + 1;
    int *m = calloc((size_t)n * n, sizeof *m);
    for (int i = 0; i < c->n; i++)
        for (int j = 0; j < c->n; j++) m[i * n + j] = c->m[i * c->n + j];
    free(c->m);
    c->m = m;
    c->n = n;
    return n - 1;
}

static void confusion_print(const confusion_t *c, const char *title)
{
    printf("\n%s confusion (rows: truth, columns: predicted)\n%14s", title, "");
    for (int j = 0; j < c->n; j++) printf(" %8.8s", c->names[j]);
    printf("\n");
    for (int i = 0; i < c->n; i++) {
        printf("%14.14s", c->names[i]);
        for (int j = 0; j < c->n; j++) printf(" %8d", c->m[i * c->n + j]);
        printf("\n");
    }
}

static void confusion_free(confusion_t *c)
{
    for (int i = 0; i < c->n; i++) free(c->names[i]);
    free(c->names);
    free(c->m);
}

int cmd_eval(int argc, char **argv)
{
    if (argc < 3 || strcmp(argv[1], "recognition") || cli_wants_help(argc, argv)) {
        printf("usage: rodeo eval recognition DIR\n"
               "  DIR/<category>/<brand>/*.jpg|png|webp, judged against the imported catalog:\n"
               "  category and brand accuracy, recall@1/@5 of a product of that brand and category,\n"
               "  and the confusion tables.\n");
        return argc < 3 ? 2 : 0;
    }
    if (cli_init_config() != 0) return 1;
    store_t *st = open_store();
    if (!st) return 1;
    recog_engine_t *e = load_engine(st);
    if (!e) { store_close(st); return 1; }
    confusion_t cc = { 0 }, bc = { 0 };
    long n = 0, cat_ok = 0, brand_ok = 0, r1 = 0, r5 = 0, failed = 0;
    DIR *d0 = opendir(argv[2]);
    struct dirent *c, *b, *f;
    while (d0 && (c = readdir(d0))) {
        if (c->d_name[0] == '.') continue;
        buf_t p1 = { 0 };
        buf_printf(&p1, "%s/%s", argv[2], c->d_name);
        DIR *d1 = opendir(p1.data);
        while (d1 && (b = readdir(d1))) {
            if (b->d_name[0] == '.') continue;
            buf_t p2 = { 0 };
            buf_printf(&p2, "%s/%s", p1.data, b->d_name);
            DIR *d2 = opendir(p2.data);
            while (d2 && (f = readdir(d2))) {
                if (f->d_name[0] == '.') continue;
                buf_t p3 = { 0 };
                buf_printf(&p3, "%s/%s", p2.data, f->d_name);
                recog_opts_t o = { .include_prices = false, .top_k = 5 };
                char err[400];
                json_t *r = recognize_file(st, e, p3.data, &o, err, sizeof err);
                if (!r) { failed++; fprintf(stderr, "  %s\n", err); buf_free(&p3); continue; }
                n++;
                const char *pc = json_string_value(json_object_get(json_object_get(r, "category"), "category"));
                const char *pb = json_string_value(json_object_get(json_object_get(r, "brand"), "brand"));
                int ti = label_index(&cc, c->d_name), pi = label_index(&cc, pc ? pc : "unknown");
                cc.m[ti * cc.n + pi]++;
                int tb = label_index(&bc, b->d_name), pbi = label_index(&bc, pb ? pb : "unknown");
                bc.m[tb * bc.n + pbi]++;
                cat_ok += pc && !strcasecmp(pc, c->d_name);
                brand_ok += pb && !strcasecmp(pb, b->d_name);
                /* recall@k: a match of the labelled brand and category among the first k */
                size_t i;
                json_t *m;
                json_array_foreach(json_object_get(r, "matches"), i, m) {
                    const char *mc = json_string_value(json_object_get(m, "category"));
                    const char *mb = json_string_value(json_object_get(m, "brand"));
                    if (mc && mb && !strcasecmp(mc, c->d_name) && !strcasecmp(mb, b->d_name)) {
                        if (i == 0) r1++;
                        if (i < 5) r5++;
                        break;
                    }
                }
                json_decref(r);
                buf_free(&p3);
            }
            if (d2) closedir(d2);
            buf_free(&p2);
        }
        if (d1) closedir(d1);
        buf_free(&p1);
    }
    if (d0) closedir(d0);
    if (n == 0) {
        fprintf(stderr, "rodeo eval: no readable photos under %s/<category>/<brand>/\n", argv[2]);
    } else {
        printf("%ld photos (%ld unreadable)\ncategory accuracy %.1f%%\nbrand accuracy    %.1f%%\n"
               "recall@1 %.1f%%  recall@5 %.1f%%\n", n, failed, 100.0 * cat_ok / n, 100.0 * brand_ok / n,
               100.0 * r1 / n, 100.0 * r5 / n);
        confusion_print(&cc, "category");
        confusion_print(&bc, "brand");
    }
    confusion_free(&cc);
    confusion_free(&bc);
    recog_engine_free(e);
    ml_service_shutdown();
    store_close(st);
    return n ? 0 : 1;
}
