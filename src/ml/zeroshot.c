/* zeroshot.c — prompt-ensemble label embeddings with a bounded cache (see zeroshot.h). The
 * cache maps label -> embedding in an open-addressing table under a mutex; embeddings are
 * computed outside the lock. A label being computed is listed as pending: another thread
 * needing it waits on a condition variable instead of running the text tower again (a
 * label's ensemble is several forward passes; the start-up warm-up and the first requests
 * would otherwise race to compute the same labels). */
#include "ml/zeroshot.h"
#include "ml/kernels.h"
#include "core/buf.h"
#include "core/timeutil.h"
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static const char *const default_templates[] = {
    "a photo of a {}.", "a product photo of {}.", "a photo of the {}.", "a close-up photo of a {}.",
    "a photo of a {} for sale.", "a studio photo of a {}.", NULL};

typedef struct { char *label; float *emb; } entry_t;

struct zeroshot {
    const clip_model_t *m;
    char          **templates;
    int             ntemplates, dim;
    size_t          cache_max, n, cap;       /* cap: table slots (power of two) */
    entry_t        *table;
    size_t          hits, misses, computed;
    char          **pending;                 /* labels being computed right now */
    size_t          npending, cpending;
    pthread_cond_t  done;                    /* a pending label finished (or failed) */
    pthread_mutex_t lock;
};

static __thread int64_t tl_us;     /* this thread's uncached label time and count */
static __thread long    tl_labels;

static uint64_t hash_label(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) { h ^= (unsigned char)*s; h *= 1099511628211ull; }
    return h;
}

zeroshot_t *zeroshot_new(const clip_model_t *m, const char *const *templates, size_t cache_max)
{
    if (!m || !clip_has_text(m)) return NULL;
    if (!templates || !templates[0]) templates = default_templates;
    zeroshot_t *z = xcalloc(1, sizeof *z);
    z->m = m;
    z->dim = clip_embed_dim(m);
    while (templates[z->ntemplates]) z->ntemplates++;
    z->templates = xcalloc((size_t)z->ntemplates, sizeof *z->templates);
    for (int i = 0; i < z->ntemplates; i++) z->templates[i] = xstrdup(templates[i]);
    z->cache_max = cache_max ? cache_max : 4096;
    z->cap = 16;
    while (z->cap < z->cache_max * 2) z->cap <<= 1;
    z->table = xcalloc(z->cap, sizeof *z->table);
    pthread_mutex_init(&z->lock, NULL);
    pthread_cond_init(&z->done, NULL);
    return z;
}

static void cache_clear(zeroshot_t *z)
{
    for (size_t i = 0; i < z->cap; i++) {
        free(z->table[i].label);
        free(z->table[i].emb);
        z->table[i] = (entry_t){0};
    }
    z->n = 0;
}

void zeroshot_free(zeroshot_t *z)
{
    if (!z) return;
    cache_clear(z);
    free(z->table);
    for (int i = 0; i < z->ntemplates; i++) free(z->templates[i]);
    free(z->templates);
    free(z->pending);   /* empty: nobody computes while the classifier is freed */
    pthread_cond_destroy(&z->done);
    pthread_mutex_destroy(&z->lock);
    free(z);
}

void zeroshot_cache_stats(zeroshot_t *z, size_t *hits, size_t *misses)
{
    pthread_mutex_lock(&z->lock);
    if (hits) *hits = z->hits;
    if (misses) *misses = z->misses;
    pthread_mutex_unlock(&z->lock);
}

size_t zeroshot_computed(zeroshot_t *z)
{
    pthread_mutex_lock(&z->lock);
    size_t n = z->computed;
    pthread_mutex_unlock(&z->lock);
    return n;
}

void zeroshot_thread_usage(int64_t *us, long *labels)
{
    if (us) *us = tl_us;
    if (labels) *labels = tl_labels;
    tl_us = 0;
    tl_labels = 0;
}

/* Pending-list helpers (lock held). */
static int pending_find(const zeroshot_t *z, const char *label)
{
    for (size_t i = 0; i < z->npending; i++)
        if (!strcmp(z->pending[i], label)) return (int)i;
    return -1;
}

static void pending_remove(zeroshot_t *z, const char *label)
{
    int i = pending_find(z, label);
    if (i >= 0) z->pending[i] = z->pending[--z->npending];
}

/* Fills the template: every "{}" becomes the label. */
static char *fill(const char *tpl, const char *label)
{
    buf_t b = {0};
    for (const char *p = tpl; *p; p++) {
        if (p[0] == '{' && p[1] == '}') { buf_puts(&b, label); p++; }
        else buf_putc(&b, *p);
    }
    return buf_steal(&b);
}

static int lookup(zeroshot_t *z, const char *label, float *out)
{
    for (size_t i = hash_label(label) & (z->cap - 1);; i = (i + 1) & (z->cap - 1)) {
        if (!z->table[i].label) return 0;
        if (!strcmp(z->table[i].label, label)) {
            memcpy(out, z->table[i].emb, (size_t)z->dim * sizeof *out);
            return 1;
        }
    }
}

static void insert(zeroshot_t *z, const char *label, const float *emb)
{
    if (z->n >= z->cache_max) cache_clear(z);
    size_t i = hash_label(label) & (z->cap - 1);
    while (z->table[i].label) {
        if (!strcmp(z->table[i].label, label)) return;
        i = (i + 1) & (z->cap - 1);
    }
    z->table[i].label = xstrdup(label);
    z->table[i].emb = xmalloc((size_t)z->dim * sizeof(float));
    memcpy(z->table[i].emb, emb, (size_t)z->dim * sizeof(float));
    z->n++;
}

int zeroshot_label_embedding(zeroshot_t *z, const char *label, float *out)
{
    if (!label) return -1;
    pthread_mutex_lock(&z->lock);
    int hit = lookup(z, label, out);
    if (hit) {
        z->hits++;
        pthread_mutex_unlock(&z->lock);
        return 0;
    }
    z->misses++;
    int64_t t0 = time_mono_us();
    tl_labels++;
    /* another thread is computing it: wait for its result (or its failure, then try here) */
    while (pending_find(z, label) >= 0) {
        pthread_cond_wait(&z->done, &z->lock);
        if (lookup(z, label, out)) {
            pthread_mutex_unlock(&z->lock);
            tl_us += time_mono_us() - t0;
            return 0;
        }
    }
    if (z->npending == z->cpending) {
        z->cpending = z->cpending ? 2 * z->cpending : 8;
        z->pending = xrealloc(z->pending, sizeof *z->pending * z->cpending);
    }
    /* the pointer is the caller's label: it outlives this call, which removes it */
    z->pending[z->npending++] = (char *)label;
    pthread_mutex_unlock(&z->lock);
    char **texts = xmalloc((size_t)z->ntemplates * sizeof *texts);
    for (int i = 0; i < z->ntemplates; i++) texts[i] = fill(z->templates[i], label);
    float *e = xmalloc((size_t)z->ntemplates * z->dim * sizeof *e);
    int rc = clip_embed_texts(z->m, (const char *const *)texts, z->ntemplates, e);
    if (rc == 0) {
        for (int d = 0; d < z->dim; d++) {
            double s = 0;
            for (int t = 0; t < z->ntemplates; t++) s += e[(size_t)t * z->dim + d];
            out[d] = (float)(s / z->ntemplates);
        }
        ml_l2_normalize(out, z->dim);
    }
    pthread_mutex_lock(&z->lock);
    if (rc == 0) {
        insert(z, label, out);
        z->computed++;
    }
    pending_remove(z, label);
    pthread_cond_broadcast(&z->done);
    pthread_mutex_unlock(&z->lock);
    for (int i = 0; i < z->ntemplates; i++) free(texts[i]);
    free(texts);
    free(e);
    tl_us += time_mono_us() - t0;
    return rc;
}

static int by_score(const void *a, const void *b)
{
    float x = ((const zeroshot_score_t *)a)->score, y = ((const zeroshot_score_t *)b)->score;
    return x > y ? -1 : x < y ? 1 : 0;
}

int zeroshot_classify(zeroshot_t *z, const float *image_emb, const char *const *labels, int n,
                      zeroshot_score_t *out)
{
    if (n <= 0) return -1;
    float *emb = xmalloc((size_t)z->dim * sizeof *emb), *logits = xmalloc((size_t)n * sizeof *logits);
    float scale = clip_logit_scale(z->m);
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        rc = zeroshot_label_embedding(z, labels[i], emb);
        double dot = 0;
        for (int d = 0; d < z->dim; d++) dot += (double)emb[d] * image_emb[d];
        logits[i] = (float)(scale * dot);
    }
    if (rc == 0) {
        ml_softmax_row(logits, n, n);
        for (int i = 0; i < n; i++) out[i] = (zeroshot_score_t){i, logits[i]};
        qsort(out, (size_t)n, sizeof *out, by_score);
    }
    free(emb);
    free(logits);
    return rc;
}
