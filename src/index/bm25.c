/* bm25.c — inverted index and Okapi BM25 ranking.
 *
 * Layout: a term dictionary (open-addressing hash of term -> term id), one posting list per
 * term (doc slot, term frequency; slots only grow, so lists stay sorted by appending), and a
 * doc slot table. Search accumulates scores into a dense per-call array indexed by slot and
 * keeps the top k in a small heap: for 10,000 chunks that is 40 KB of scratch and a few
 * thousand posting visits per query, well under a millisecond. */
#include "index/bm25_internal.h"
#include "core/buf.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define BM25_K1 1.2f
#define BM25_B  0.75f

static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) { h ^= (unsigned char)s[i]; h *= 1099511628211ULL; }
    return h;
}

static uint64_t hash_id(int64_t id)
{
    uint64_t x = (uint64_t)id;
    x ^= x >> 33; x *= 0xff51afd7ed558ccdULL; x ^= x >> 33; x *= 0xc4ceb9fe1a85ec53ULL;
    return x ^ (x >> 33);
}

bm25_t *bm25_new(void)
{
    bm25_t *ix = xcalloc(1, sizeof *ix);
    pthread_rwlock_init(&ix->lock, NULL);
    ix->table_cap = 1024;
    ix->table = xcalloc(ix->table_cap, sizeof *ix->table);
    ix->id_table_cap = 256;
    ix->id_table = xcalloc(ix->id_table_cap, sizeof *ix->id_table);
    return ix;
}

void bm25_free(bm25_t *ix)
{
    if (!ix) return;
    for (uint32_t i = 0; i < ix->nterms; i++) { free(ix->terms[i].text); free(ix->terms[i].post); }
    free(ix->terms);
    free(ix->table);
    free(ix->docs);
    free(ix->id_table);
    pthread_rwlock_destroy(&ix->lock);
    free(ix);
}

int64_t bm25_term_find(const bm25_t *ix, const char *t, size_t len)
{
    uint32_t mask = ix->table_cap - 1;
    for (uint32_t i = (uint32_t)hash_bytes(t, len) & mask;; i = (i + 1) & mask) {
        uint32_t e = ix->table[i];
        if (!e) return -1;
        const bm25_term_t *term = &ix->terms[e - 1];
        if (term->len == len && memcmp(term->text, t, len) == 0) return e - 1;
    }
}

static void term_table_grow(bm25_t *ix)
{
    uint32_t cap = ix->table_cap * 2, mask = cap - 1;
    uint32_t *t = xcalloc(cap, sizeof *t);
    for (uint32_t id = 0; id < ix->nterms; id++) {
        uint32_t i = (uint32_t)hash_bytes(ix->terms[id].text, ix->terms[id].len) & mask;
        while (t[i]) i = (i + 1) & mask;
        t[i] = id + 1;
    }
    free(ix->table);
    ix->table = t;
    ix->table_cap = cap;
}

uint32_t bm25_term_insert(bm25_t *ix, const char *t, size_t len)
{
    int64_t found = bm25_term_find(ix, t, len);
    if (found >= 0) return (uint32_t)found;
    if ((ix->nterms + 1) * 2 > ix->table_cap) term_table_grow(ix);
    if (ix->nterms == ix->terms_cap) {
        ix->terms_cap = ix->terms_cap ? ix->terms_cap * 2 : 256;
        ix->terms = xrealloc(ix->terms, ix->terms_cap * sizeof *ix->terms);
    }
    uint32_t id = ix->nterms++;
    ix->terms[id] = (bm25_term_t){ .text = xstrndup(t, len), .len = (uint32_t)len };
    uint32_t mask = ix->table_cap - 1, i = (uint32_t)hash_bytes(t, len) & mask;
    while (ix->table[i]) i = (i + 1) & mask;
    ix->table[i] = id + 1;
    return id;
}

static int64_t id_find(const bm25_t *ix, int64_t id)
{
    uint32_t mask = ix->id_table_cap - 1;
    for (uint32_t i = (uint32_t)hash_id(id) & mask;; i = (i + 1) & mask) {
        uint32_t e = ix->id_table[i];
        if (!e) return -1;
        if (ix->docs[e - 1].id == id && ix->docs[e - 1].alive) return e - 1;
    }
}

/* Rebuilds the id table from live slots (dead slots drop out, which also keeps probe
 * chains short after many removals). */
static void id_table_rebuild(bm25_t *ix, uint32_t cap)
{
    uint32_t *t = xcalloc(cap, sizeof *t), mask = cap - 1;
    for (uint32_t s = 0; s < ix->ndocs; s++) {
        if (!ix->docs[s].alive) continue;
        uint32_t i = (uint32_t)hash_id(ix->docs[s].id) & mask;
        while (t[i]) i = (i + 1) & mask;
        t[i] = s + 1;
    }
    free(ix->id_table);
    ix->id_table = t;
    ix->id_table_cap = cap;
}

int64_t bm25_doc_append(bm25_t *ix, int64_t id, uint32_t len, int alive)
{
    if (alive && id_find(ix, id) >= 0) return -1;
    if (ix->ndocs == UINT32_MAX - 1) return -1;
    if (ix->ndocs == ix->docs_cap) {
        ix->docs_cap = ix->docs_cap ? ix->docs_cap * 2 : 64;
        ix->docs = xrealloc(ix->docs, ix->docs_cap * sizeof *ix->docs);
    }
    uint32_t slot = ix->ndocs++;
    ix->docs[slot] = (bm25_doc_t){ .id = id, .len = len, .alive = (uint8_t)(alive != 0) };
    if (alive) {
        ix->nlive++;
        ix->total_len += len;
        if ((ix->ndocs + 1) * 2 > ix->id_table_cap) id_table_rebuild(ix, ix->id_table_cap * 2);
        else {
            uint32_t mask = ix->id_table_cap - 1, i = (uint32_t)hash_id(id) & mask;
            while (ix->id_table[i]) i = (i + 1) & mask;
            ix->id_table[i] = slot + 1;
        }
    }
    return slot;
}

/* Per-document term counting while indexing. */
typedef struct {
    bm25_t   *ix;
    uint32_t *ids;      /* distinct term ids in first-seen order */
    uint32_t *tf;
    uint32_t  n, cap;
    uint32_t *seen;     /* open addressing over term ids: index into ids[] + 1 */
    uint32_t  seen_cap;
    uint32_t  tokens;
} doc_terms_t;

static void doc_terms_add(const char *tok, size_t len, void *ud)
{
    doc_terms_t *d = ud;
    uint32_t tid = bm25_term_insert(d->ix, tok, len);
    d->tokens++;
    if ((d->n + 1) * 2 > d->seen_cap) {
        uint32_t cap = d->seen_cap ? d->seen_cap * 2 : 256, mask = cap - 1;
        uint32_t *t = xcalloc(cap, sizeof *t);
        for (uint32_t k = 0; k < d->n; k++) {
            uint32_t i = (d->ids[k] * 2654435761u) & mask;
            while (t[i]) i = (i + 1) & mask;
            t[i] = k + 1;
        }
        free(d->seen);
        d->seen = t;
        d->seen_cap = cap;
    }
    uint32_t mask = d->seen_cap - 1, i = (tid * 2654435761u) & mask;
    while (d->seen[i]) {
        uint32_t k = d->seen[i] - 1;
        if (d->ids[k] == tid) { d->tf[k]++; return; }
        i = (i + 1) & mask;
    }
    if (d->n == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 128;
        d->ids = xrealloc(d->ids, d->cap * sizeof *d->ids);
        d->tf = xrealloc(d->tf, d->cap * sizeof *d->tf);
    }
    d->ids[d->n] = tid;
    d->tf[d->n] = 1;
    d->seen[i] = ++d->n;
}

static void posting_push(bm25_term_t *t, uint32_t doc, uint32_t tf)
{
    if (t->npost == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 4;
        t->post = xrealloc(t->post, t->cap * sizeof *t->post);
    }
    t->post[t->npost++] = (bm25_posting_t){ doc, tf };
}

int bm25_add(bm25_t *ix, int64_t id, const char *text, size_t len)
{
    pthread_rwlock_wrlock(&ix->lock);
    if (id_find(ix, id) >= 0) { pthread_rwlock_unlock(&ix->lock); return -1; }
    doc_terms_t d = { .ix = ix };
    bm25_tokenize(text, len, doc_terms_add, &d);
    int64_t slot = bm25_doc_append(ix, id, d.tokens, 1);
    if (slot >= 0)
        for (uint32_t k = 0; k < d.n; k++) posting_push(&ix->terms[d.ids[k]], (uint32_t)slot, d.tf[k]);
    free(d.ids); free(d.tf); free(d.seen);
    pthread_rwlock_unlock(&ix->lock);
    return slot >= 0 ? 0 : -1;
}

/* Removal drops the doc's postings by scanning every list (no forward index is kept: removal
 * is rare — a re-ingested changed file — and a scan over ~1M postings takes milliseconds). */
int bm25_remove(bm25_t *ix, int64_t id)
{
    pthread_rwlock_wrlock(&ix->lock);
    int64_t slot = id_find(ix, id);
    if (slot < 0) { pthread_rwlock_unlock(&ix->lock); return -1; }
    for (uint32_t t = 0; t < ix->nterms; t++) {
        bm25_term_t *term = &ix->terms[t];
        uint32_t w = 0;
        for (uint32_t r = 0; r < term->npost; r++)
            if (term->post[r].doc != (uint32_t)slot) term->post[w++] = term->post[r];
        term->npost = w;
    }
    ix->docs[slot].alive = 0;
    ix->nlive--;
    ix->total_len -= ix->docs[slot].len;
    id_table_rebuild(ix, ix->id_table_cap);
    pthread_rwlock_unlock(&ix->lock);
    return 0;
}

size_t bm25_count(const bm25_t *ix) { return ix->nlive; }

int bm25_contains(const bm25_t *ix, int64_t id)
{
    pthread_rwlock_rdlock((pthread_rwlock_t *)&ix->lock);
    int r = id_find(ix, id) >= 0;
    pthread_rwlock_unlock((pthread_rwlock_t *)&ix->lock);
    return r;
}

/* ---- search ---- */

typedef struct {
    bm25_t   *ix;
    uint32_t  terms[64];
    uint32_t  n;
} query_terms_t;

static void query_term(const char *tok, size_t len, void *ud)
{
    query_terms_t *q = ud;
    int64_t t = bm25_term_find(q->ix, tok, len);
    if (t < 0 || q->n == 64) return;
    for (uint32_t i = 0; i < q->n; i++) if (q->terms[i] == (uint32_t)t) return;
    q->terms[q->n++] = (uint32_t)t;
}

/* "a ranks below b": lower score, or equal score and higher id. */
static int hit_less(const bm25_hit_t *a, const bm25_hit_t *b)
{
    return a->score < b->score || (a->score == b->score && a->id > b->id);
}

static void heap_down(bm25_hit_t *h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && hit_less(&h[l], &h[m])) m = l;
        if (r < n && hit_less(&h[r], &h[m])) m = r;
        if (m == i) return;
        bm25_hit_t t = h[i]; h[i] = h[m]; h[m] = t;
        i = m;
    }
}

static int hit_cmp_desc(const void *a, const void *b)
{
    const bm25_hit_t *x = a, *y = b;
    if (hit_less(x, y)) return 1;
    if (hit_less(y, x)) return -1;
    return 0;
}

size_t bm25_search(const bm25_t *ixc, const char *query, bm25_hit_t *out, size_t k)
{
    bm25_t *ix = (bm25_t *)ixc;
    if (!query || k == 0) return 0;
    pthread_rwlock_rdlock(&ix->lock);
    query_terms_t q = { .ix = ix };
    bm25_tokenize(query, strlen(query), query_term, &q);
    if (q.n == 0 || ix->nlive == 0) { pthread_rwlock_unlock(&ix->lock); return 0; }
    float *score = xcalloc(ix->ndocs, sizeof *score);
    uint32_t *touched = xmalloc(ix->ndocs * sizeof *touched);
    uint32_t ntouched = 0;
    double N = ix->nlive, avgdl = (double)ix->total_len / ix->nlive;
    if (avgdl <= 0) avgdl = 1;
    for (uint32_t qi = 0; qi < q.n; qi++) {
        const bm25_term_t *t = &ix->terms[q.terms[qi]];
        if (t->npost == 0) continue;
        double df = t->npost;
        float idf = (float)log(1.0 + (N - df + 0.5) / (df + 0.5));
        for (uint32_t p = 0; p < t->npost; p++) {
            uint32_t d = t->post[p].doc;
            float tf = (float)t->post[p].tf;
            float norm = BM25_K1 * (1.0f - BM25_B + BM25_B * (float)(ix->docs[d].len / avgdl));
            if (score[d] == 0.0f) touched[ntouched++] = d;
            score[d] += idf * tf * (BM25_K1 + 1.0f) / (tf + norm);
        }
    }
    size_t n = 0;
    for (uint32_t i = 0; i < ntouched; i++) {
        uint32_t d = touched[i];
        bm25_hit_t h = { ix->docs[d].id, score[d] };
        if (n < k) {
            out[n++] = h;
            if (n == k) for (size_t j = k / 2 + 1; j-- > 0;) heap_down(out, n, j);
        } else if (hit_less(&out[0], &h)) {
            out[0] = h;
            heap_down(out, n, 0);
        }
    }
    free(score);
    free(touched);
    pthread_rwlock_unlock(&ix->lock);
    qsort(out, n, sizeof *out, hit_cmp_desc);
    return n;
}
