/* kb_bench.c — knowledge-base engine figures: ingest throughput (parse + chunk + BM25 index)
 * and BM25 search latency over N chunks, against SQLite FTS5 (its built-in bm25() ranking)
 * doing the same work in the same process on the same corpus.
 *
 * Corpus: N synthetic chunks of ~250 words, each a shuffle of sentences drawn from the
 * starter knowledge base (content/knowledge), so vocabulary and term statistics are
 * realistic. Queries: the 40 retrieval-test style questions, cycled.
 * Usage: kb_bench [chunks=10000] [queries=4000]   prints a small table. */
#include "kb/kb.h"
#include "kb/chunk.h"
#include "index/bm25.h"
#include "store/store.h"
#include "core/buf.h"
#include "core/timeutil.h"
#include <dirent.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static const char *queries[] = {
    "How long does a bull rider have to stay on?", "What is the mark out rule in saddle bronc?",
    "What does a bareback rider hold on to?", "How long must the calf stay tied after the roper remounts?",
    "What is a legal head catch for the header?", "What does the hazer do in bulldogging?",
    "What is the penalty for knocking over a barrel?", "When does the clock stop in breakaway roping?",
    "How long is the rope the goat is tethered on?", "How far apart are the poles in pole bending?",
    "How many points can judges give the bull and the rider?", "What is the penalty for breaking the barrier?",
    "What lay of rope should a heeler use?", "How do I check if a saddle tree fits my horse?",
    "Why do bull riders use rosin on the rope?", "How should a protective vest fit?",
    "What is a normal heart rate and temperature for a horse?", "How often does a horse need a farrier?",
    "What are the signs of colic?", "What do pickup men do after a bronc ride?",
};
#define NQ (sizeof queries / sizeof *queries)
#define PEER_EVERY 10

typedef struct { char **v; size_t n, cap; } strs_t;
static void push(strs_t *s, char *x)
{
    if (s->n == s->cap) { s->cap = s->cap ? s->cap * 2 : 1024; s->v = xrealloc(s->v, s->cap * sizeof *s->v); }
    s->v[s->n++] = x;
}

static void collect_sentences(const char *dir, strs_t *out)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        buf_t p = {0};
        buf_printf(&p, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(p.data, &st) == 0 && S_ISDIR(st.st_mode)) collect_sentences(p.data, out);
        else if (strstr(e->d_name, ".md")) {
            FILE *f = fopen(p.data, "r");
            char line[8192];
            while (f && fgets(line, sizeof line, f)) {
                if (line[0] == '#' || line[0] == '-' || strlen(line) < 40) continue;
                char *s = line, *dot;
                while ((dot = strstr(s, ". "))) { push(out, xstrndup(s, (size_t)(dot - s + 1))); s = dot + 2; }
            }
            if (f) fclose(f);
        }
        buf_free(&p);
    }
    closedir(d);
}

/* Thread CPU time: immune to the preemption that dominates wall-clock tails on a shared box. */
static double cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void count_tok(const char *t, size_t n, void *ud) { (void)t; (void)n; (*(size_t *)ud)++; }

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void pct(double *v, size_t n, double *p50, double *p99)
{
    qsort(v, n, sizeof *v, cmp_double);
    *p50 = v[n / 2];
    *p99 = v[(size_t)(n * 0.99)];
}

int main(int argc, char **argv)
{
    size_t nchunks = argc > 1 ? (size_t)atol(argv[1]) : 10000, nq = argc > 2 ? (size_t)atol(argv[2]) : 4000;
    strs_t sent = {0};
    collect_sentences("content/knowledge", &sent);
    if (sent.n < 100) { fprintf(stderr, "run from the repository root (content/knowledge)\n"); return 1; }
    /* Build the corpus: documents of 4 sections x ~250 words (so chunking has work to do). */
    srand(42);
    size_t ndocs = nchunks / 4;
    char **docs = xcalloc(ndocs, sizeof *docs);
    size_t total = 0;
    for (size_t d = 0; d < ndocs; d++) {
        buf_t b = {0};
        buf_printf(&b, "---\ntitle: Synthetic document %zu\ntopic: bench\n---\n# Synthetic %zu\n\n", d, d);
        for (int sec = 0; sec < 4; sec++) {
            buf_printf(&b, "## Section %d\n\n", sec);
            size_t words = 0;
            while (words < 230) {
                const char *s = sent.v[(size_t)rand() % sent.n];
                buf_puts(&b, s);
                buf_putc(&b, (rand() % 4) ? ' ' : '\n');
                for (const char *p = s; *p; p++) words += *p == ' ';
                words++;
            }
            buf_puts(&b, "\n\n");
        }
        total += b.len;
        docs[d] = buf_steal(&b);
    }

    /* ---- ours: ingest ---- */
    char err[256];
    kb_t *kb = kb_open(NULL, err, sizeof err);
    int64_t t0 = time_mono_us();
    for (size_t d = 0; d < ndocs; d++) {
        char src[64];
        snprintf(src, sizeof src, "doc%zu.md", d);
        kb_ingest_text(kb, src, docs[d], strlen(docs[d]), NULL, NULL, err, sizeof err);
    }
    double ours_ingest_s = (double)(time_mono_us() - t0) / 1e6;

    /* ---- ours, durable: the same ingest into a SQLite store (what `rodeo kb ingest` does) ---- */
    char tmpl[] = "/tmp/kb_bench_XXXXXX";
    double store_ingest_s = -1;
    if (mkdtemp(tmpl)) {
        store_t *st = store_open(NULL, tmpl, 2, err, sizeof err);
        if (st && store_migrate(st, err, sizeof err) >= 0) {
            kb_t *skb = kb_open_store(st, NULL, err, sizeof err);
            t0 = time_mono_us();
            for (size_t d = 0; skb && d < ndocs; d++) {
                char src[64];
                snprintf(src, sizeof src, "doc%zu.md", d);
                kb_ingest_text(skb, src, docs[d], strlen(docs[d]), NULL, NULL, err, sizeof err);
            }
            store_ingest_s = (double)(time_mono_us() - t0) / 1e6;
            kb_close(skb);
        }
        if (st) store_close(st);
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf %s", tmpl);
        if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", tmpl);
    }

    /* ---- peer: SQLite FTS5 (porter tokenizer), in memory, one transaction ---- */
    sqlite3 *db;
    sqlite3_open(":memory:", &db);
    sqlite3_exec(db, "CREATE VIRTUAL TABLE c USING fts5(body, tokenize='porter');", NULL, NULL, NULL);
    sqlite3_stmt *ins;
    sqlite3_prepare_v2(db, "INSERT INTO c(body) VALUES (?)", -1, &ins, NULL);
    t0 = time_mono_us();
    sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
    /* FTS5 gets our chunks verbatim (it does no chunking of its own). */
    size_t nk = kb_chunk_count(kb);
    for (size_t d = 0; d < ndocs; d++) {
        kb_chunk_t *ch;
        kb_doc_t doc;
        kb_doc_parse(docs[d], strlen(docs[d]), "x", &doc, err, sizeof err);
        size_t n = kb_chunk_text(doc.body, NULL, &ch);
        for (size_t i = 0; i < n; i++) {
            sqlite3_bind_text(ins, 1, ch[i].text, -1, SQLITE_STATIC);
            sqlite3_step(ins);
            sqlite3_reset(ins);
        }
        kb_chunks_free(ch, n);
        kb_doc_free(&doc);
    }
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    double fts_ingest_s = (double)(time_mono_us() - t0) / 1e6;
    sqlite3_finalize(ins);

    /* ---- search latency, interleaved per query ---- */
    double *ours = xmalloc(nq * sizeof *ours), *peer = xmalloc(nq * sizeof *peer), *ocpu = xmalloc(nq * sizeof *ocpu);
    sqlite3_stmt *q;
    sqlite3_prepare_v2(db, "SELECT rowid FROM c WHERE c MATCH ? ORDER BY bm25(c) LIMIT 3", -1, &q, NULL);
    size_t hits_ours = 0, hits_peer = 0, npeer = 0;
    for (size_t i = 0; i < nq; i++) {
        const char *qs = queries[i % NQ];
        double c0 = cpu_ms();
        int64_t a = time_mono_us();
        kb_hit_t *h;
        size_t n = kb_search(kb, qs, 3, &h);
        ours[i] = (double)(time_mono_us() - a) / 1000.0;
        ocpu[i] = cpu_ms() - c0;
        hits_ours += n;
        kb_hits_free(h, n);
        /* FTS5 query syntax: OR of the bare words (same bag-of-words semantics as BM25). */
        buf_t fq = {0};
        size_t ntok = 0;
        for (const char *p = qs; *p;) {
            while (*p && !((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))) p++;
            const char *s = p;
            while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')) p++;
            /* the same stop words as ours, so both engines rank the same terms */
            if (p > s && bm25_tokenize(s, (size_t)(p - s), count_tok, &ntok) && ntok) {
                if (fq.len) buf_puts(&fq, " OR ");
                buf_append(&fq, s, (size_t)(p - s));
            }
            ntok = 0;
        }
        if (i % PEER_EVERY == 0) {   /* FTS5 is ~100x slower: sample it, interleaved */
            a = time_mono_us();
            sqlite3_bind_text(q, 1, fq.data, -1, SQLITE_STATIC);
            while (sqlite3_step(q) == SQLITE_ROW) hits_peer++;
            sqlite3_reset(q);
            peer[npeer++] = (double)(time_mono_us() - a) / 1000.0;
        }
        buf_free(&fq);
    }
    double o50, o99, p50, p99, c50, c99;
    pct(ours, nq, &o50, &o99);
    pct(ocpu, nq, &c50, &c99);
    pct(peer, npeer, &p50, &p99);
    printf("corpus: %zu documents, %zu chunks, %.1f MB\n", ndocs, nk, total / 1e6);
    printf("ingest   rodeo %.2f MB/s (%.2f s)   fts5 %.2f MB/s (%.2f s; both include parsing and chunking)\n",
           total / 1e6 / ours_ingest_s, ours_ingest_s, total / 1e6 / fts_ingest_s, fts_ingest_s);
    printf("ingest   rodeo into the SQLite store (durable, one transaction per document): %.2f MB/s (%.2f s)\n",
           total / 1e6 / store_ingest_s, store_ingest_s);
    printf("search   rodeo p50 %.3f ms p99 %.3f ms   fts5 p50 %.3f ms p99 %.3f ms   (%zu / %zu queries, top 3)\n",
           o50, o99, p50, p99, nq, npeer);
    printf("search   rodeo CPU time p50 %.3f ms p99 %.3f ms\n", c50, c99);
    printf("RESULT store_ingest_mbps=%.2f cpu_p99=%.3f ", total / 1e6 / store_ingest_s, c99);
    printf("RESULT ingest_mbps=%.2f fts_ingest_mbps=%.2f p50=%.3f p99=%.3f fts_p50=%.3f fts_p99=%.3f hits=%zu peer_hits=%zu\n",
           total / 1e6 / ours_ingest_s, total / 1e6 / fts_ingest_s, o50, o99, p50, p99, hits_ours, hits_peer);
    sqlite3_finalize(q);
    sqlite3_close(db);
    kb_close(kb);
    for (size_t d = 0; d < ndocs; d++) free(docs[d]);
    free(docs);
    for (size_t i = 0; i < sent.n; i++) free(sent.v[i]);
    free(sent.v);
    free(ours);
    free(peer);
    free(ocpu);
    return 0;
}
