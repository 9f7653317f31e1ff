/* chat_internal.h — state shared by the chat files in src/api (chat.c, exports.c, kb.c,
 * chat_service.c). Not for other modules: they use chat.h. */
#ifndef RODEO_API_CHAT_INTERNAL_H
#define RODEO_API_CHAT_INTERNAL_H
#include "kb/kb.h"
#include "llm/llm.h"

typedef struct {
    kb_t         *kb;
    llm_engine_t *llm;              /* NULL = no generative model: extractive answers */
    llm_config_t  llm_cfg;
    const char   *default_model;    /* points into g_config */
    const char   *models;           /* allow-list, into g_config */
    const char   *embedding_model;  /* NULL = no OpenAI-compatible embeddings */
    struct kb_clip *clip;           /* CLIP text encoder as the embedding source (opt-in) */
    int           anon_per_min;
} chat_service_t;

extern chat_service_t g_chat;

/* Runs fn(arg) on the chat worker thread (inline after shutdown). */
void chat_defer(void (*fn)(void *), void *arg);
#endif
