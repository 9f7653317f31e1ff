/* kb.c — knowledge base: documents and chunks in memory, BM25 over them, optional dense
 * vectors, JSON persistence (see kb.h). Chunk ids only grow, so the chunk table stays sorted
 * by id and lookups are a binary search. */
#include "kb/kb.h"
#include "kb/chunk.h"
#include "index/bm25.h"
#include "index/vindex.h"
#include "store/kb.h"
#include "core/buf.h"
#include "core/crypto.h"
#include "core/log.h"
#include "core/timeutil.h"
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define DENSE_CANDIDATES 50
#define RRF_K 60.0

typedef struct kb_docrec {
    char   *source, *title, *topic, *level;
    char    sha[2 * SHA256_LEN + 1];
    size_t  bytes;
    int64_t ingested_at;
    size_t  nchunks;
} kb_docrec_t;

typedef struct {
    int64_t      id;
    kb_docrec_t *doc;
    char        *heading, *text;
    float       *vec;            /* NULL without an embedder */
    int          dim;
} kb_chunkrec_t;

struct kb {
    pthread_rwlock_t lock;
    char          *dir;          /* kb.json + bm25.idx (file mode) or bm25.idx only (store) */
    store_t       *store;        /* NULL = file mode */
    kb_docrec_t  **docs;
    size_t         ndocs, docs_cap;
    kb_chunkrec_t *chunks;       /* ascending id */
    size_t         nchunks, chunks_cap;
    int64_t        next_id;
    bm25_t        *bm25;
    vindex_t      *vx;           /* dense vectors (cosine), NULL until the first vector */
    int            vx_dim;
    int64_t        sig_docs, sig_max;   /* store signature at the last load */
    kb_embed_fn    embed;
    void          *embed_ud;
};

static void docrec_free(kb_docrec_t *d)
{
    if (!d) return;
    free(d->source); free(d->title); free(d->topic); free(d->level);
    free(d);
}

static kb_docrec_t *doc_find(kb_t *kb, const char *source)
{
    for (size_t i = 0; i < kb->ndocs; i++)
        if (!strcmp(kb->docs[i]->source, source)) return kb->docs[i];
    return NULL;
}

static kb_chunkrec_t *chunk_find(kb_t *kb, int64_t id)
{
    size_t lo = 0, hi = kb->nchunks;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (kb->chunks[mid].id < id) lo = mid + 1;
        else hi = mid;
    }
    return lo < kb->nchunks && kb->chunks[lo].id == id ? &kb->chunks[lo] : NULL;
}

/* What BM25 sees for a chunk: the document title and section heading weigh in, since
 * questions often name the topic ("goat tying") rather than words of the passage. */
static void index_text(buf_t *b, const kb_docrec_t *d, const char *heading, const char *text)
{
    buf_reset(b);
    buf_printf(b, "%s\n%s\n%s", d->title, heading, text);
}

static void chunk_append(kb_t *kb, kb_chunkrec_t c)
{
    if (kb->nchunks == kb->chunks_cap) {
        kb->chunks_cap = kb->chunks_cap ? kb->chunks_cap * 2 : 256;
        kb->chunks = xrealloc(kb->chunks, kb->chunks_cap * sizeof *kb->chunks);
    }
    kb->chunks[kb->nchunks++] = c;
}

static void doc_append(kb_t *kb, kb_docrec_t *d)
{
    if (kb->ndocs == kb->docs_cap) {
        kb->docs_cap = kb->docs_cap ? kb->docs_cap * 2 : 64;
        kb->docs = xrealloc(kb->docs, kb->docs_cap * sizeof *kb->docs);
    }
    kb->docs[kb->ndocs++] = d;
}

/* Adds a chunk vector to the dense index (created with the first vector's dimension; the
 * dimension is fixed per knowledge base, a vector of another size is skipped). */
static void vx_add(kb_t *kb, int64_t id, const float *vec, int dim)
{
    if (!vec || dim <= 0) return;
    char err[160];
    if (!kb->vx) {
        vindex_params_t p;
        vindex_params_default(&p, (uint32_t)dim, VINDEX_COSINE);
        kb->vx = vindex_create(&p, err, sizeof err);
        if (!kb->vx) { log_warn("kb: vector index: %s", err); return; }
        kb->vx_dim = dim;
    }
    if (dim != kb->vx_dim) return;
    if (vindex_upsert(kb->vx, (uint64_t)id, vec, NULL, err, sizeof err) != 0)
        log_warn("kb: vector of chunk %lld rejected: %s", (long long)id, err);
}

static void vx_build(kb_t *kb)
{
    for (size_t i = 0; i < kb->nchunks; i++) vx_add(kb, kb->chunks[i].id, kb->chunks[i].vec, kb->chunks[i].dim);
}

/* Drops a document and its chunks (caller holds the write lock). */
static void doc_drop(kb_t *kb, kb_docrec_t *d)
{
    size_t w = 0;
    for (size_t r = 0; r < kb->nchunks; r++) {
        kb_chunkrec_t *c = &kb->chunks[r];
        if (c->doc == d) {
            bm25_remove(kb->bm25, c->id);
            if (c->vec && kb->vx) vindex_delete(kb->vx, (uint64_t)c->id);
            free(c->heading); free(c->text); free(c->vec);
        } else kb->chunks[w++] = *c;
    }
    kb->nchunks = w;
    for (size_t i = 0; i < kb->ndocs; i++)
        if (kb->docs[i] == d) { kb->docs[i] = kb->docs[--kb->ndocs]; break; }
    docrec_free(d);
}

/* ---- persistence ---- */

static char *path_in(const kb_t *kb, const char *name)
{
    buf_t b = {0};
    buf_printf(&b, "%s/%s", kb->dir, name);
    return buf_steal(&b);
}

static int save_index(kb_t *kb, char *err, size_t errlen)
{
    char *ip = path_in(kb, "bm25.idx");
    int rc = bm25_save(kb->bm25, ip, err, errlen);
    free(ip);
    return rc;
}

int kb_save(kb_t *kb, char *err, size_t errlen)
{
    if (!kb->dir) return 0;
    if (kb->store) return save_index(kb, err, errlen);   /* the store is written on ingest */
    pthread_rwlock_rdlock(&kb->lock);
    json_t *root = json_object(), *docs = json_array();
    json_object_set_new(root, "version", json_integer(1));
    json_object_set_new(root, "next_id", json_integer(kb->next_id));
    for (size_t i = 0; i < kb->ndocs; i++) {
        kb_docrec_t *d = kb->docs[i];
        json_t *jd = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I}", "source", d->source,
                               "title", d->title, "topic", d->topic, "level", d->level,
                               "sha256", d->sha, "bytes", (json_int_t)d->bytes,
                               "ingested_at", (json_int_t)d->ingested_at);
        json_t *jc = json_array();
        for (size_t c = 0; c < kb->nchunks; c++) {
            kb_chunkrec_t *ch = &kb->chunks[c];
            if (ch->doc != d) continue;
            json_t *o = json_pack("{s:I, s:s, s:s}", "id", (json_int_t)ch->id, "heading", ch->heading,
                                  "text", ch->text);
            if (ch->vec) {
                char *v = base64url_encode(ch->vec, (size_t)ch->dim * sizeof(float));
                json_object_set_new(o, "vec", json_string(v));
                free(v);
            }
            json_array_append_new(jc, o);
        }
        json_object_set_new(jd, "chunks", jc);
        json_array_append_new(docs, jd);
    }
    json_object_set_new(root, "docs", docs);
    pthread_rwlock_unlock(&kb->lock);
    char *path = path_in(kb, "kb.json"), *tmp = path_in(kb, "kb.json.tmp");
    int rc = -1;
    if (json_dump_file(root, tmp, JSON_COMPACT) != 0) snprintf(err, errlen, "cannot write %s", tmp);
    else if (rename(tmp, path) != 0) snprintf(err, errlen, "cannot rename %s: %s", tmp, strerror(errno));
    else rc = 0;
    json_decref(root);
    free(path); free(tmp);
    if (rc == 0) rc = save_index(kb, err, errlen);
    return rc;
}

static const char *jstr(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

/* Loads kb.json; any malformed entry fails the whole load (the caller logs and starts
 * empty rather than serve half a knowledge base silently). */
static int kb_load(kb_t *kb, char *err, size_t errlen)
{
    char *path = path_in(kb, "kb.json");
    struct stat st;
    if (stat(path, &st) != 0) { free(path); return 0; }   /* first start */
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    free(path);
    if (!root || !json_is_array(json_object_get(root, "docs"))) {
        snprintf(err, errlen, "kb.json unreadable: %s", root ? "no docs array" : je.text);
        json_decref(root);
        return -1;
    }
    kb->next_id = json_integer_value(json_object_get(root, "next_id"));
    size_t i;
    json_t *jd;
    json_array_foreach(json_object_get(root, "docs"), i, jd) {
        json_t *jc = json_object_get(jd, "chunks");
        if (!*jstr(jd, "source") || !json_is_array(jc)) {
            snprintf(err, errlen, "kb.json: bad document entry %zu", i);
            json_decref(root);
            return -1;
        }
        kb_docrec_t *d = xcalloc(1, sizeof *d);
        d->source = xstrdup(jstr(jd, "source"));
        d->title = xstrdup(jstr(jd, "title"));
        d->topic = xstrdup(jstr(jd, "topic"));
        d->level = xstrdup(jstr(jd, "level"));
        snprintf(d->sha, sizeof d->sha, "%s", jstr(jd, "sha256"));
        d->bytes = (size_t)json_integer_value(json_object_get(jd, "bytes"));
        d->ingested_at = json_integer_value(json_object_get(jd, "ingested_at"));
        doc_append(kb, d);
        size_t j;
        json_t *c;
        json_array_foreach(jc, j, c) {
            int64_t id = json_integer_value(json_object_get(c, "id"));
            if (id <= 0) {
                snprintf(err, errlen, "kb.json: bad chunk id in %s", d->source);
                json_decref(root);
                return -1;
            }
            kb_chunkrec_t rec = { .id = id, .doc = d, .heading = xstrdup(jstr(c, "heading")),
                                  .text = xstrdup(jstr(c, "text")) };
            const char *v = json_string_value(json_object_get(c, "vec"));
            if (v) {
                size_t n;
                uint8_t *raw = base64url_decode(v, strlen(v), &n);
                if (raw && n && n % sizeof(float) == 0) { rec.vec = (float *)raw; rec.dim = (int)(n / sizeof(float)); }
                else free(raw);
            }
            chunk_append(kb, rec);
            d->nchunks++;
        }
    }
    json_decref(root);
    /* Documents were saved grouped, so chunk ids may interleave; restore id order. */
    for (size_t a = 1; a < kb->nchunks; a++) {
        kb_chunkrec_t t = kb->chunks[a];
        size_t b = a;
        while (b > 0 && kb->chunks[b - 1].id > t.id) { kb->chunks[b] = kb->chunks[b - 1]; b--; }
        kb->chunks[b] = t;
    }
    for (size_t a = 1; a < kb->nchunks; a++)
        if (kb->chunks[a].id == kb->chunks[a - 1].id) {
            snprintf(err, errlen, "kb.json: duplicate chunk id %lld", (long long)kb->chunks[a].id);
            return -1;
        }
    return 0;
}

static void kb_reindex(kb_t *kb)
{
    bm25_free(kb->bm25);
    kb->bm25 = bm25_new();
    buf_t b = {0};
    for (size_t i = 0; i < kb->nchunks; i++) {
        kb_chunkrec_t *c = &kb->chunks[i];
        index_text(&b, c->doc, c->heading, c->text);
        bm25_add(kb->bm25, c->id, b.data, b.len);
    }
    buf_free(&b);
}

/* Loads the BM25 snapshot; it must hold exactly our chunks, otherwise it is rebuilt. */
static void load_index(kb_t *kb)
{
    char *ip = path_in(kb, "bm25.idx");
    char ierr[200];
    kb->bm25 = bm25_load(ip, ierr, sizeof ierr);
    int ok = kb->bm25 && bm25_count(kb->bm25) == kb->nchunks;
    for (size_t i = 0; ok && i < kb->nchunks; i++) ok = bm25_contains(kb->bm25, kb->chunks[i].id);
    if (!ok) {
        if (kb->nchunks) log_info("kb: rebuilding BM25 index (%s)", kb->bm25 ? "stale snapshot" : ierr);
        kb_reindex(kb);
    }
    free(ip);
}

static kb_t *kb_new(const char *dir, char *err, size_t errlen)
{
    kb_t *kb = xcalloc(1, sizeof *kb);
    pthread_rwlock_init(&kb->lock, NULL);
    kb->next_id = 1;
    if (dir) {
        if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
            snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
            kb_close(kb);
            return NULL;
        }
        kb->dir = xstrdup(dir);
    }
    return kb;
}

kb_t *kb_open(const char *dir, char *err, size_t errlen)
{
    kb_t *kb = kb_new(dir, err, errlen);
    if (!kb) return NULL;
    if (!dir) { kb->bm25 = bm25_new(); return kb; }
    if (kb_load(kb, err, errlen) != 0) { kb_close(kb); return NULL; }
    if (kb->next_id < 1) kb->next_id = 1;
    if (kb->nchunks && kb->chunks[kb->nchunks - 1].id >= kb->next_id) kb->next_id = kb->chunks[kb->nchunks - 1].id + 1;
    load_index(kb);
    vx_build(kb);
    return kb;
}

/* ---- store mode ---- */

static void sort_chunks(kb_t *kb)
{
    for (size_t a = 1; a < kb->nchunks; a++) {
        kb_chunkrec_t t = kb->chunks[a];
        size_t b = a;
        while (b > 0 && kb->chunks[b - 1].id > t.id) { kb->chunks[b] = kb->chunks[b - 1]; b--; }
        kb->chunks[b] = t;
    }
}

static void load_doc_cb(void *ud, const store_kb_doc_t *sd)
{
    kb_t *kb = ud;
    kb_docrec_t *d = xcalloc(1, sizeof *d);
    d->source = xstrdup(sd->source);
    d->title = xstrdup(sd->title);
    d->topic = xstrdup(sd->topic);
    d->level = xstrdup(sd->level);
    snprintf(d->sha, sizeof d->sha, "%s", sd->sha256);
    d->bytes = sd->bytes;
    d->ingested_at = sd->created_at;
    doc_append(kb, d);
}

static void load_chunk_cb(void *ud, int64_t id, const store_kb_chunk_t *c)
{
    kb_t *kb = ud;
    kb_docrec_t *d = kb->docs[kb->ndocs - 1];
    kb_chunkrec_t rec = { .id = id, .doc = d, .heading = xstrdup(c->heading), .text = xstrdup(c->text) };
    if (c->vec) {
        rec.vec = xmalloc((size_t)c->dim * sizeof(float));
        memcpy(rec.vec, c->vec, (size_t)c->dim * sizeof(float));
        rec.dim = c->dim;
    }
    chunk_append(kb, rec);
    d->nchunks++;
}

kb_t *kb_open_store(store_t *st, const char *index_dir, char *err, size_t errlen)
{
    kb_t *kb = kb_new(index_dir, err, errlen);
    if (!kb) return NULL;
    kb->store = st;
    /* Signature first: a change racing with the load is then seen by the next kb_sync. */
    if (store_kb_signature(st, &kb->sig_docs, &kb->sig_max) != STORE_OK ||
        store_kb_load(st, load_doc_cb, load_chunk_cb, kb) != STORE_OK) {
        snprintf(err, errlen, "cannot load the knowledge base from the store");
        kb_close(kb);
        return NULL;
    }
    sort_chunks(kb);
    if (kb->dir) load_index(kb);
    else kb_reindex(kb);
    vx_build(kb);
    return kb;
}

int kb_sync(kb_t *kb)
{
    if (!kb->store) return 0;
    int64_t nd, mx;
    if (store_kb_signature(kb->store, &nd, &mx) != STORE_OK) return -1;
    pthread_rwlock_rdlock(&kb->lock);
    int same = nd == kb->sig_docs && mx == kb->sig_max;
    pthread_rwlock_unlock(&kb->lock);
    if (same) return 0;
    /* Load a fresh copy outside the lock (searches go on), then swap the contents. */
    char err[200];
    kb_t *fresh = kb_open_store(kb->store, NULL, err, sizeof err);
    if (!fresh) { log_warn("kb: sync failed: %s", err); return -1; }
    pthread_rwlock_wrlock(&kb->lock);
    kb_t old = *kb;
    kb->docs = fresh->docs; kb->ndocs = fresh->ndocs; kb->docs_cap = fresh->docs_cap;
    kb->chunks = fresh->chunks; kb->nchunks = fresh->nchunks; kb->chunks_cap = fresh->chunks_cap;
    kb->bm25 = fresh->bm25; kb->vx = fresh->vx; kb->vx_dim = fresh->vx_dim;
    kb->sig_docs = fresh->sig_docs; kb->sig_max = fresh->sig_max;
    fresh->docs = old.docs; fresh->ndocs = old.ndocs; fresh->docs_cap = old.docs_cap;
    fresh->chunks = old.chunks; fresh->nchunks = old.nchunks; fresh->chunks_cap = old.chunks_cap;
    fresh->bm25 = old.bm25; fresh->vx = old.vx;
    pthread_rwlock_unlock(&kb->lock);
    kb_close(fresh);   /* frees the old contents */
    log_info("kb: reloaded from the store (%zu documents, %zu chunks)", kb->ndocs, kb->nchunks);
    return 1;
}

void kb_close(kb_t *kb)
{
    if (!kb) return;
    for (size_t i = 0; i < kb->nchunks; i++) {
        free(kb->chunks[i].heading); free(kb->chunks[i].text); free(kb->chunks[i].vec);
    }
    for (size_t i = 0; i < kb->ndocs; i++) docrec_free(kb->docs[i]);
    free(kb->chunks);
    free(kb->docs);
    bm25_free(kb->bm25);
    if (kb->vx) vindex_free(kb->vx);
    free(kb->dir);
    pthread_rwlock_destroy(&kb->lock);
    free(kb);
}

void kb_set_embedder(kb_t *kb, kb_embed_fn fn, void *ud)
{
    pthread_rwlock_wrlock(&kb->lock);
    kb->embed = fn;
    kb->embed_ud = ud;
    pthread_rwlock_unlock(&kb->lock);
}

size_t kb_backfill_vectors(kb_t *kb, atomic_int *stop)
{
    pthread_rwlock_rdlock(&kb->lock);
    kb_embed_fn embed = kb->embed;
    void *ud = kb->embed_ud;
    size_t n = 0;
    int64_t *ids = xmalloc((kb->nchunks + 1) * sizeof *ids);
    char **texts = xmalloc((kb->nchunks + 1) * sizeof *texts);
    for (size_t i = 0; embed && i < kb->nchunks; i++)
        if (!kb->chunks[i].vec) { ids[n] = kb->chunks[i].id; texts[n++] = xstrdup(kb->chunks[i].text); }
    pthread_rwlock_unlock(&kb->lock);
    size_t done = 0;
    for (size_t i = 0; i < n; i++) {
        float *v = NULL;
        int dim = 0;
        if (!(stop && atomic_load(stop)) && embed(texts[i], &v, &dim, ud) == 0 && v && dim > 0) {
            if (kb->store) store_kb_put_vector(kb->store, ids[i], v, dim);
            pthread_rwlock_wrlock(&kb->lock);
            kb_chunkrec_t *c = chunk_find(kb, ids[i]);   /* may have been replaced meanwhile */
            if (c && !c->vec) { c->vec = v; c->dim = dim; vx_add(kb, c->id, v, dim); v = NULL; done++; }
            pthread_rwlock_unlock(&kb->lock);
        }
        free(v);
        free(texts[i]);
    }
    free(ids);
    free(texts);
    if (done) log_info("kb: embedded %zu chunks that had no vector", done);
    return done;
}

/* ---- ingestion ---- */

int kb_ingest_text(kb_t *kb, const char *source, const char *text, size_t len, int *status,
                   size_t *nchunks, char *err, size_t errlen)
{
    if (!source || !*source) { snprintf(err, errlen, "empty source name"); return -1; }
    char sha[2 * SHA256_LEN + 1];
    sha256_hex(text, len, sha);
    pthread_rwlock_rdlock(&kb->lock);
    kb_docrec_t *old = doc_find(kb, source);
    int same = old && !strcmp(old->sha, sha);
    size_t old_chunks = old ? old->nchunks : 0;
    kb_embed_fn embed = kb->embed;
    void *embed_ud = kb->embed_ud;
    pthread_rwlock_unlock(&kb->lock);
    if (same) {
        if (status) *status = KB_UNCHANGED;
        if (nchunks) *nchunks = old_chunks;
        return 0;
    }
    const char *base = strrchr(source, '/');
    kb_doc_t doc;
    if (kb_doc_parse(text, len, base ? base + 1 : source, &doc, err, errlen) != 0) return -1;
    kb_chunk_t *chunks;
    size_t n = kb_chunk_text(doc.body, NULL, &chunks);
    kb_docrec_t *d = xcalloc(1, sizeof *d);
    d->source = xstrdup(source);
    d->title = doc.title; d->topic = doc.topic; d->level = doc.level;
    doc.title = doc.topic = doc.level = NULL;
    kb_doc_free(&doc);
    memcpy(d->sha, sha, sizeof sha);
    d->bytes = len;
    d->ingested_at = time_now_us();
    d->nchunks = n;
    /* Embeddings are computed before taking the lock (they may be network calls). */
    float **vecs = xcalloc(n ? n : 1, sizeof *vecs);
    int *dims = xcalloc(n ? n : 1, sizeof *dims);
    if (embed)
        for (size_t i = 0; i < n; i++)
            if (embed(chunks[i].text, &vecs[i], &dims[i], embed_ud) != 0) { vecs[i] = NULL; dims[i] = 0; }
    int64_t *ids = NULL;
    if (kb->store) {   /* durable first; memory follows with the store's chunk ids */
        ids = xcalloc(n ? n : 1, sizeof *ids);
        store_kb_chunk_t *sc = xcalloc(n ? n : 1, sizeof *sc);
        for (size_t i = 0; i < n; i++) sc[i] = (store_kb_chunk_t){ chunks[i].heading, chunks[i].text, vecs[i], dims[i] };
        store_kb_doc_t sd = { source, d->title, d->topic, d->level, d->sha, len, 0 };
        int rc = store_kb_put(kb->store, &sd, sc, n, ids);
        free(sc);
        if (rc != STORE_OK) {
            snprintf(err, errlen, "cannot store the document");
            for (size_t i = 0; i < n; i++) free(vecs[i]);
            free(vecs); free(dims); free(ids);
            kb_chunks_free(chunks, n);
            docrec_free(d);
            return -1;
        }
    }
    pthread_rwlock_wrlock(&kb->lock);
    kb_docrec_t *cur = doc_find(kb, source);
    if (cur) doc_drop(kb, cur);
    doc_append(kb, d);
    buf_t b = {0};
    for (size_t i = 0; i < n; i++) {
        kb_chunkrec_t c = { .id = ids ? ids[i] : kb->next_id++, .doc = d, .heading = chunks[i].heading,
                            .text = chunks[i].text, .vec = vecs[i], .dim = dims[i] };
        chunks[i].heading = chunks[i].text = NULL;
        index_text(&b, d, c.heading, c.text);
        bm25_add(kb->bm25, c.id, b.data, b.len);
        vx_add(kb, c.id, c.vec, c.dim);
        chunk_append(kb, c);
    }
    if (ids) sort_chunks(kb);   /* another process may have taken ids in between */
    pthread_rwlock_unlock(&kb->lock);
    free(ids);
    buf_free(&b);
    free(vecs);
    free(dims);
    kb_chunks_free(chunks, n);
    if (status) *status = cur ? KB_REPLACED : KB_ADDED;
    if (nchunks) *nchunks = n;
    return 0;
}

int kb_remove(kb_t *kb, const char *source)
{
    if (kb->store && store_kb_delete(kb->store, source) == STORE_ERROR) return -1;
    pthread_rwlock_wrlock(&kb->lock);
    kb_docrec_t *d = doc_find(kb, source);
    if (d) doc_drop(kb, d);
    pthread_rwlock_unlock(&kb->lock);
    return d ? 0 : -1;
}

typedef struct { char **v; size_t n, cap; } paths_t;

static int wanted_file(const char *name)
{
    size_t n = strlen(name);
    return name[0] != '.' && ((n > 4 && !strcmp(name + n - 4, ".txt")) || (n > 3 && !strcmp(name + n - 3, ".md")));
}

static void paths_push(paths_t *p, const char *s)
{
    if (p->n == p->cap) { p->cap = p->cap ? p->cap * 2 : 32; p->v = xrealloc(p->v, p->cap * sizeof *p->v); }
    p->v[p->n++] = xstrdup(s);
}

static void walk(const char *dir, paths_t *out, int depth)
{
    if (depth > 16) return;
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        buf_t p = {0};
        buf_printf(&p, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(p.data, &st) == 0) {
            if (S_ISDIR(st.st_mode)) walk(p.data, out, depth + 1);
            else if (S_ISREG(st.st_mode) && wanted_file(e->d_name)) paths_push(out, p.data);
        }
        buf_free(&p);
    }
    closedir(d);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static char *read_file(const char *path, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) { snprintf(err, errlen, "%s: %s", path, strerror(errno)); return NULL; }
    buf_t b = {0};
    char tmp[65536];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0) {
        buf_append(&b, tmp, n);
        if (b.len > KB_MAX_DOC_BYTES) break;
    }
    fclose(f);
    *len = b.len;
    if (!b.data) b.data = xstrdup("");
    return b.data;
}

int kb_ingest_path(kb_t *kb, const char *path, kb_progress_fn progress, void *ud,
                   kb_ingest_stats_t *stats, char *err, size_t errlen)
{
    kb_ingest_stats_t local = {0};
    if (!stats) stats = &local;
    struct stat st;
    if (stat(path, &st) != 0) { snprintf(err, errlen, "%s: %s", path, strerror(errno)); return -1; }
    paths_t files = {0};
    size_t prefix = 0;
    if (S_ISDIR(st.st_mode)) {
        walk(path, &files, 0);
        qsort(files.v, files.n, sizeof *files.v, cmp_str);
        prefix = strlen(path);
        while (prefix && path[prefix - 1] == '/') prefix--;
        prefix++;
    } else paths_push(&files, path);
    int rc = 0;
    for (size_t i = 0; i < files.n; i++) {
        const char *f = files.v[i];
        const char *source = prefix ? f + prefix : (strrchr(f, '/') ? strrchr(f, '/') + 1 : f);
        size_t len;
        char ferr[256];
        char *text = read_file(f, &len, ferr, sizeof ferr);
        int status = 0;
        size_t nch = 0;
        if (!text || kb_ingest_text(kb, source, text, len, &status, &nch, ferr, sizeof ferr) != 0) {
            log_warn("kb: %s: %s", f, ferr);
            snprintf(err, errlen, "%s: %s", f, ferr);
            stats->failed++;
            rc = -1;
        } else {
            stats->files++;
            stats->bytes += len;
            stats->chunks += nch;
            if (status == KB_ADDED) stats->added++;
            else if (status == KB_REPLACED) stats->replaced++;
            else stats->unchanged++;
        }
        free(text);
        if (progress) progress(i + 1, files.n, f, ud);
    }
    for (size_t i = 0; i < files.n; i++) free(files.v[i]);
    free(files.v);
    if (stats->added + stats->replaced > 0) {
        char serr[256];
        if (kb_save(kb, serr, sizeof serr) != 0) { snprintf(err, errlen, "%s", serr); rc = -1; }
    }
    return rc;
}

size_t kb_doc_count(kb_t *kb) { return kb->ndocs; }
size_t kb_chunk_count(kb_t *kb) { return kb->nchunks; }

static int cmp_doc_source(const void *a, const void *b)
{
    return strcmp((*(kb_docrec_t *const *)a)->source, (*(kb_docrec_t *const *)b)->source);
}

json_t *kb_list(kb_t *kb)
{
    pthread_rwlock_rdlock(&kb->lock);
    kb_docrec_t **v = xmalloc((kb->ndocs + 1) * sizeof *v);
    memcpy(v, kb->docs, kb->ndocs * sizeof *v);
    qsort(v, kb->ndocs, sizeof *v, cmp_doc_source);
    json_t *arr = json_array();
    for (size_t i = 0; i < kb->ndocs; i++) {
        char iso[TIME_ISO_LEN];
        json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:s}",
            "source", v[i]->source, "title", v[i]->title, "topic", v[i]->topic, "level", v[i]->level,
            "sha256", v[i]->sha, "bytes", (json_int_t)v[i]->bytes, "chunks", (json_int_t)v[i]->nchunks,
            "ingested_at", time_iso8601(v[i]->ingested_at, iso, sizeof iso)));
    }
    pthread_rwlock_unlock(&kb->lock);
    free(v);
    return arr;
}

/* ---- retrieval ---- */

size_t kb_rrf_fuse(const int64_t *const *lists, const size_t *lens, size_t nlists,
                   int64_t *out_ids, double *out_scores, size_t max)
{
    size_t total = 0;
    for (size_t l = 0; l < nlists; l++) total += lens[l];
    int64_t *ids = xmalloc((total + 1) * sizeof *ids);
    double *sc = xmalloc((total + 1) * sizeof *sc);
    size_t n = 0;
    for (size_t l = 0; l < nlists; l++)
        for (size_t r = 0; r < lens[l]; r++) {
            size_t j = 0;
            while (j < n && ids[j] != lists[l][r]) j++;
            if (j == n) { ids[n] = lists[l][r]; sc[n++] = 0; }
            sc[j] += 1.0 / (RRF_K + (double)r + 1.0);
        }
    size_t out = 0;
    for (; out < max && out < n; out++) {   /* selection: n is at most a few hundred */
        size_t best = out;
        for (size_t j = out + 1; j < n; j++)
            if (sc[j] > sc[best] || (sc[j] == sc[best] && ids[j] < ids[best])) best = j;
        int64_t ti = ids[out]; ids[out] = ids[best]; ids[best] = ti;
        double ts = sc[out]; sc[out] = sc[best]; sc[best] = ts;
        out_ids[out] = ids[out];
        out_scores[out] = sc[out];
    }
    free(ids);
    free(sc);
    return out;
}

/* Nearest chunks by cosine through the shared vector index (exact while small, HNSW when
 * the knowledge base grows). */
static size_t dense_rank(kb_t *kb, const float *q, int dim, int64_t *ids, size_t max)
{
    if (!kb->vx || dim != kb->vx_dim) return 0;
    vindex_hit_t *h = xmalloc(max * sizeof *h);
    int n = vindex_search(kb->vx, q, max, NULL, h);
    for (int i = 0; i < n; i++) ids[i] = (int64_t)h[i].id;
    free(h);
    return n > 0 ? (size_t)n : 0;
}

size_t kb_search(kb_t *kb, const char *query, size_t k, kb_hit_t **out)
{
    *out = NULL;
    if (!query || !k) return 0;
    size_t want = k > DENSE_CANDIDATES ? k : DENSE_CANDIDATES;
    pthread_rwlock_rdlock(&kb->lock);
    kb_embed_fn embed = kb->embed;
    void *embed_ud = kb->embed_ud;
    pthread_rwlock_unlock(&kb->lock);
    float *qv = NULL;
    int qdim = 0;
    if (embed && embed(query, &qv, &qdim, embed_ud) != 0) { qv = NULL; qdim = 0; }

    pthread_rwlock_rdlock(&kb->lock);
    bm25_hit_t *bh = xmalloc(want * sizeof *bh);
    size_t nb = bm25_search(kb->bm25, query, bh, qv ? want : k);
    int64_t *bids = xmalloc((nb + 1) * sizeof *bids), *dids = NULL;
    for (size_t i = 0; i < nb; i++) bids[i] = bh[i].id;
    size_t nd = 0;
    if (qv) {
        dids = xmalloc(DENSE_CANDIDATES * sizeof *dids);
        nd = dense_rank(kb, qv, qdim, dids, DENSE_CANDIDATES);
    }
    int64_t *ids = xmalloc(k * sizeof *ids);
    double *scores = xmalloc(k * sizeof *scores);
    size_t n;
    if (nd) {
        const int64_t *lists[2] = { bids, dids };
        size_t lens[2] = { nb, nd };
        n = kb_rrf_fuse(lists, lens, 2, ids, scores, k);
    } else {
        n = nb < k ? nb : k;
        for (size_t i = 0; i < n; i++) { ids[i] = bh[i].id; scores[i] = bh[i].score; }
    }
    kb_hit_t *hits = xcalloc(n ? n : 1, sizeof *hits);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        kb_chunkrec_t *c = chunk_find(kb, ids[i]);
        if (!c) continue;
        hits[m++] = (kb_hit_t){ .id = c->id, .source = xstrdup(c->doc->source), .title = xstrdup(c->doc->title),
                                .topic = xstrdup(c->doc->topic), .heading = xstrdup(c->heading),
                                .text = xstrdup(c->text), .score = scores[i] };
    }
    pthread_rwlock_unlock(&kb->lock);
    free(bh); free(bids); free(dids); free(ids); free(scores); free(qv);
    *out = hits;
    return m;
}

void kb_hits_free(kb_hit_t *hits, size_t n)
{
    if (!hits) return;
    for (size_t i = 0; i < n; i++) {
        free(hits[i].source); free(hits[i].title); free(hits[i].topic);
        free(hits[i].heading); free(hits[i].text);
    }
    free(hits);
}
