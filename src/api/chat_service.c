/* chat_service.c — the chat assistant's process-wide state (a documented singleton, like
 * g_api): the knowledge base, the LLM engine and a small deferred-work thread.
 *
 * The deferred-work thread exists so the LLM event thread never blocks on the store: when a
 * stream ends, saving the answer (a database write) and closing the client stream happen
 * there, and the event thread goes straight back to relaying other streams' tokens. */
#include "api/api.h"
#include "api/chat.h"
#include "api/chat_internal.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "kb/embed_clip.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

chat_service_t g_chat;

typedef struct job { struct job *next; void (*fn)(void *); void *arg; } job_t;

static pthread_t worker;
static pthread_mutex_t jobs_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t jobs_cv = PTHREAD_COND_INITIALIZER;
static job_t *jobs_head, *jobs_tail;
static int jobs_stop, worker_running;

static int sync_every_s;   /* KB_SYNC_S: how often to pick up other processes' KB edits */

/* Runs deferred jobs; between them, every sync_every_s, refreshes the knowledge base from
 * the store so several `rodeo serve` processes converge on the same documents. */
static void *worker_main(void *arg)
{
    (void)arg;
    int64_t next_sync = time_mono_us() + (int64_t)sync_every_s * 1000000;
    for (;;) {
        pthread_mutex_lock(&jobs_mu);
        while (!jobs_head && !jobs_stop) {
            if (sync_every_s <= 0) { pthread_cond_wait(&jobs_cv, &jobs_mu); continue; }
            if (time_mono_us() >= next_sync) break;
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += 1;                /* re-check at least once a second */
            pthread_cond_timedwait(&jobs_cv, &jobs_mu, &ts);
        }
        job_t *j = jobs_head;
        if (j) { jobs_head = j->next; if (!jobs_head) jobs_tail = NULL; }
        int stop = jobs_stop;
        pthread_mutex_unlock(&jobs_mu);
        if (!j && stop) return NULL;   /* stopping and drained */
        if (j) { j->fn(j->arg); free(j); continue; }
        kb_sync(g_chat.kb);
        next_sync = time_mono_us() + (int64_t)sync_every_s * 1000000;
    }
}

void chat_defer(void (*fn)(void *), void *arg)
{
    job_t *j = xcalloc(1, sizeof *j);
    j->fn = fn;
    j->arg = arg;
    pthread_mutex_lock(&jobs_mu);
    if (!worker_running) {             /* after shutdown: run inline */
        pthread_mutex_unlock(&jobs_mu);
        fn(arg);
        free(j);
        return;
    }
    if (jobs_tail) jobs_tail->next = j; else jobs_head = j;
    jobs_tail = j;
    pthread_cond_signal(&jobs_cv);
    pthread_mutex_unlock(&jobs_mu);
}

static int embed_fn(const char *text, float **vec, int *dim, void *ud)
{
    (void)ud;
    char err[200];
    if (llm_embed(&g_chat.llm_cfg, g_chat.embedding_model, text, vec, dim, err, sizeof err) != 0) {
        log_warn("kb: embedding failed (%s); using BM25 only for this text", err);
        return -1;
    }
    return 0;
}

/* The vector backfill has its own thread: with a remote embedder it may take minutes, and
 * the worker must keep finishing chat streams meanwhile. */
static pthread_t backfill_thread;
static int backfill_running;
static atomic_int backfill_stop;

static void *backfill_main(void *arg)
{
    (void)arg;
    kb_backfill_vectors(g_chat.kb, &backfill_stop);
    return NULL;
}

static long env_long(const char *name, long def, long lo, long hi)
{
    const char *v = getenv(name);
    if (!v || !*v) return def;
    char *end;
    long n = strtol(v, &end, 10);
    return (*end || n < lo || n > hi) ? def : n;
}

static void load_starter(const char *dir)
{
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        log_info("kb: no starter knowledge at %s (set RODEO_KNOWLEDGE_DIR)", dir);
        return;
    }
    kb_ingest_stats_t s = {0};
    char err[256];
    if (kb_ingest_path(g_chat.kb, dir, NULL, NULL, &s, err, sizeof err) != 0)
        log_warn("kb: starter knowledge: %s", err);
    log_info("kb: %zu documents, %zu chunks (starter: %zu added, %zu replaced, %zu unchanged)",
             kb_doc_count(g_chat.kb), kb_chunk_count(g_chat.kb), s.added, s.replaced, s.unchanged);
}

int api_chat_init(char *err, size_t errlen)
{
    const config_t *c = &g_config;
    memset(&g_chat, 0, sizeof g_chat);
    buf_t dir = {0};
    buf_printf(&dir, "%s/kb", c->data_dir);
    g_chat.kb = kb_open_store(g_api.store, dir.data, err, errlen);
    buf_free(&dir);
    if (!g_chat.kb) return -1;
    g_chat.default_model = c->openai_model ? c->openai_model : "gpt-4o-mini";
    g_chat.models = c->openai_models && *c->openai_models ? c->openai_models : g_chat.default_model;
    g_chat.anon_per_min = (int)env_long("CHAT_ANON_PER_MIN", 10, 0, 100000);
    sync_every_s = (int)env_long("KB_SYNC_S", 30, 0, 86400);
    int has_key = c->openai_api_key && *c->openai_api_key;
    int has_url = c->openai_base_url && *c->openai_base_url;
    g_chat.llm_cfg = (llm_config_t){
        .base_url = has_url ? c->openai_base_url : "https://api.openai.com/v1",
        .api_key = has_key ? c->openai_api_key : NULL,
        .connect_timeout_ms = 5000,
        .idle_timeout_ms = env_long("OPENAI_TIMEOUT_S", 60, 1, 3600) * 1000,
        .total_timeout_s = 600,
        .max_retries = (int)env_long("OPENAI_MAX_RETRIES", 2, 0, 10),
        .backoff_ms = env_long("OPENAI_BACKOFF_MS", 250, 1, 60000),
    };
    if (has_key || has_url) {
        g_chat.llm = llm_engine_start(&g_chat.llm_cfg, err, errlen);
        if (!g_chat.llm) return -1;
        const char *emb = getenv("OPENAI_EMBEDDING_MODEL");
        if (emb && *emb) {
            g_chat.embedding_model = c->embedding_model;
            kb_set_embedder(g_chat.kb, embed_fn, NULL);
        }
        log_info("chat: LLM at %s (default model %s, allowed %s)%s", g_chat.llm_cfg.base_url,
                 g_chat.default_model, g_chat.models, g_chat.embedding_model ? ", dense retrieval on" : "");
    } else {
        log_info("chat: no LLM configured (OPENAI_API_KEY/OPENAI_BASE_URL); answers are extractive");
    }
    /* Opt-in alternative embedding source: the CLIP text encoder, when its weights exist. */
    const char *ke = getenv("KB_EMBEDDINGS");
    if (!g_chat.embedding_model && ke && !strcmp(ke, "clip")) {
        buf_t cdir = {0};
        if (c->clip_model && *c->clip_model) buf_puts(&cdir, c->clip_model);
        else buf_printf(&cdir, "%s/clip-vit-base-patch32", c->model_dir ? c->model_dir : "./models");
        char cerr[256];
        g_chat.clip = kb_clip_open(cdir.data, cerr, sizeof cerr);
        if (g_chat.clip) {
            kb_set_embedder(g_chat.kb, kb_clip_embed, g_chat.clip);
            log_info("kb: dense retrieval with the CLIP text encoder from %s", cdir.data);
        } else log_warn("kb: KB_EMBEDDINGS=clip but %s; using BM25 only", cerr);
        buf_free(&cdir);
    }
    const char *kd = getenv("RODEO_KNOWLEDGE_DIR");
    load_starter(kd && *kd ? kd : "content/knowledge");
    pthread_mutex_lock(&jobs_mu);
    jobs_stop = 0;
    worker_running = pthread_create(&worker, NULL, worker_main, NULL) == 0;
    pthread_mutex_unlock(&jobs_mu);
    if (!worker_running) { snprintf(err, errlen, "cannot start chat worker thread"); return -1; }
    /* Chunks stored before embeddings were enabled get their vectors in the background. */
    atomic_store(&backfill_stop, 0);
    if (g_chat.embedding_model || g_chat.clip)
        backfill_running = pthread_create(&backfill_thread, NULL, backfill_main, NULL) == 0;
    return 0;
}

void api_chat_shutdown(void)
{
    if (backfill_running) {
        atomic_store(&backfill_stop, 1);
        pthread_join(backfill_thread, NULL);
        backfill_running = 0;
    }
    /* Engine first: it cancels streams still running, whose completions go to the worker. */
    if (g_chat.llm) llm_engine_stop(g_chat.llm);
    pthread_mutex_lock(&jobs_mu);
    int running = worker_running;
    jobs_stop = 1;
    pthread_cond_signal(&jobs_cv);
    pthread_mutex_unlock(&jobs_mu);
    if (running) pthread_join(worker, NULL);
    pthread_mutex_lock(&jobs_mu);
    worker_running = 0;
    pthread_mutex_unlock(&jobs_mu);
    if (g_chat.kb) {
        char err[200];
        if (kb_save(g_chat.kb, err, sizeof err) != 0) log_warn("kb: save failed: %s", err);
        kb_close(g_chat.kb);
    }
    kb_clip_close(g_chat.clip);
    memset(&g_chat, 0, sizeof g_chat);
}

kb_t *api_chat_kb(void) { return g_chat.kb; }
