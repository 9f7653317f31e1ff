/* kb.c — `rodeo kb ingest|list|search|remove`: manage the knowledge base under
 * <RODEO_DATA_DIR>/kb from the command line. Ingestion shows a progress bar on a terminal
 * and is idempotent (unchanged files are skipped by content hash). Documents live in the
 * store (DATABASE_URL), shared with `rodeo serve`; a running server reads them at start, so
 * restart it (or use the admin API) to serve new files. */
#include "cli/cli.h"
#include "core/buf.h"
#include "core/config.h"
#include "kb/kb.h"
#include "store/store.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void usage(FILE *out)
{
    fprintf(out,
            "usage: rodeo kb ingest PATH...        ingest .txt/.md files or directories (recursive)\n"
            "       rodeo kb list [--json]          list documents\n"
            "       rodeo kb search [-k N] QUERY    ranked passages with sources\n"
            "       rodeo kb remove SOURCE          remove a document\n\n"
            "The knowledge base lives in $RODEO_DATA_DIR/kb (default ./data/kb).\n");
}

static void progress(size_t done, size_t total, const char *path, void *ud)
{
    (void)path;
    if (!*(int *)ud) return;
    int width = 30, fill = total ? (int)(done * width / total) : width;
    fprintf(stderr, "\r[%.*s%*s] %zu/%zu", fill, "##############################", width - fill, "", done, total);
    if (done == total) fputc('\n', stderr);
    fflush(stderr);
}

static store_t *g_store;

/* Opens (and migrates) the store, then the knowledge base in it; the BM25 snapshot goes to
 * <data dir>/kb. Creates the data dir (and parents) when missing. */
static kb_t *open_kb(void)
{
    buf_t dir = {0};
    buf_printf(&dir, "%s", g_config.data_dir);
    for (char *p = dir.data + 1; *p; p++)
        if (*p == '/') { *p = 0; mkdir(dir.data, 0700); *p = '/'; }
    mkdir(dir.data, 0700);
    char err[512];
    kb_t *kb = NULL;
    g_store = store_open(g_config.database_url, g_config.data_dir, 2, err, sizeof err);
    if (g_store && store_migrate(g_store, err, sizeof err) >= 0) {
        buf_puts(&dir, "/kb");
        kb = kb_open_store(g_store, dir.data, err, sizeof err);
    }
    if (!kb) {
        fprintf(stderr, "rodeo kb: %s\n", err);
        if (g_store) store_close(g_store);
        g_store = NULL;
    }
    buf_free(&dir);
    return kb;
}

static void close_kb(kb_t *kb)
{
    char err[256];
    if (kb_save(kb, err, sizeof err) != 0) fprintf(stderr, "rodeo kb: %s\n", err);
    kb_close(kb);
    if (g_store) store_close(g_store);
    g_store = NULL;
}

static int do_ingest(int argc, char **argv)
{
    if (argc < 3) { usage(stderr); return 2; }
    kb_t *kb = open_kb();
    if (!kb) return 1;
    int tty = isatty(2), rc = 0;
    kb_ingest_stats_t total = {0};
    for (int i = 2; i < argc; i++) {
        kb_ingest_stats_t s = {0};
        char err[512] = "";
        if (kb_ingest_path(kb, argv[i], progress, &tty, &s, err, sizeof err) != 0) {
            fprintf(stderr, "rodeo kb: %s\n", err);
            rc = 1;
        }
        total.files += s.files; total.added += s.added; total.replaced += s.replaced;
        total.unchanged += s.unchanged; total.failed += s.failed; total.chunks += s.chunks; total.bytes += s.bytes;
    }
    printf("ingested %zu files (%zu added, %zu replaced, %zu unchanged, %zu failed), %zu chunks, %zu bytes; "
           "knowledge base: %zu documents, %zu chunks\n", total.files, total.added, total.replaced, total.unchanged,
           total.failed, total.chunks, total.bytes, kb_doc_count(kb), kb_chunk_count(kb));
    close_kb(kb);
    return rc;
}

static int do_list(int argc, char **argv)
{
    kb_t *kb = open_kb();
    if (!kb) return 1;
    json_t *list = kb_list(kb);
    if (argc > 2 && !strcmp(argv[2], "--json")) {
        char *s = json_dumps(list, JSON_INDENT(2));
        puts(s);
        free(s);
    } else {
        size_t i;
        json_t *d;
        json_array_foreach(list, i, d)
            printf("%-45s %4lld chunks  %-12s %s\n", json_string_value(json_object_get(d, "source")),
                   (long long)json_integer_value(json_object_get(d, "chunks")),
                   json_string_value(json_object_get(d, "topic")), json_string_value(json_object_get(d, "title")));
        printf("%zu documents, %zu chunks\n", kb_doc_count(kb), kb_chunk_count(kb));
    }
    json_decref(list);
    close_kb(kb);
    return 0;
}

static int do_search(int argc, char **argv)
{
    int k = 5, qi = 2;
    if (argc > 3 && !strcmp(argv[2], "-k")) {
        k = atoi(argv[3]);
        qi = 4;
        if (k < 1 || k > 50) { fprintf(stderr, "rodeo kb: -k must be 1..50\n"); return 2; }
    }
    if (qi >= argc) { usage(stderr); return 2; }
    buf_t q = {0};
    for (int i = qi; i < argc; i++) { if (q.len) buf_putc(&q, ' '); buf_puts(&q, argv[i]); }
    kb_t *kb = open_kb();
    if (!kb) { buf_free(&q); return 1; }
    kb_hit_t *hits;
    size_t n = kb_search(kb, q.data, (size_t)k, &hits);
    for (size_t i = 0; i < n; i++) {
        printf("%zu. %s (%s) score %.3f\n", i + 1, hits[i].source, hits[i].title, hits[i].score);
        if (hits[i].heading[0]) printf("   ## %s\n", hits[i].heading);
        size_t len = strlen(hits[i].text);
        printf("   %.*s%s\n\n", (int)(len > 240 ? 240 : len), hits[i].text, len > 240 ? "..." : "");
    }
    if (!n) printf("no results\n");
    kb_hits_free(hits, n);
    close_kb(kb);
    buf_free(&q);
    return 0;
}

static int do_remove(int argc, char **argv)
{
    if (argc != 3) { usage(stderr); return 2; }
    kb_t *kb = open_kb();
    if (!kb) return 1;
    int rc = 0;
    if (kb_remove(kb, argv[2]) != 0) { fprintf(stderr, "rodeo kb: no document %s\n", argv[2]); rc = 1; }
    else printf("removed %s\n", argv[2]);
    close_kb(kb);
    return rc;
}

int cmd_kb(int argc, char **argv)
{
    if (argc < 2 || cli_wants_help(argc, argv)) { usage(argc < 2 ? stderr : stdout); return argc < 2 ? 2 : 0; }
    if (cli_init_config() != 0) return 1;
    if (!strcmp(argv[1], "ingest")) return do_ingest(argc, argv);
    if (!strcmp(argv[1], "list")) return do_list(argc, argv);
    if (!strcmp(argv[1], "search")) return do_search(argc, argv);
    if (!strcmp(argv[1], "remove")) return do_remove(argc, argv);
    fprintf(stderr, "rodeo kb: unknown subcommand '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
