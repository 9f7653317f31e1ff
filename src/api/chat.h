/* chat.h — the assistant's HTTP side: POST /api/chat, conversation exports and the
 * knowledge-base admin API, plus the service state they share (the knowledge base and the
 * LLM engine), set up by api_chat_init() from api_init() and torn down after the server
 * stopped.
 *
 * Configuration (environment): OPENAI_API_KEY / OPENAI_BASE_URL (an LLM is configured when
 * either is set; the base URL defaults to https://api.openai.com/v1), OPENAI_MODEL (default
 * model), OPENAI_MODELS (allow-list), OPENAI_EMBEDDING_MODEL set explicitly enables dense
 * retrieval through /embeddings, RODEO_KNOWLEDGE_DIR (starter knowledge, default
 * content/knowledge, ingested idempotently at start), OPENAI_TIMEOUT_S (idle timeout of an
 * upstream stream, default 60), CHAT_ANON_PER_MIN (anonymous chats per client per minute,
 * default 10), KB_SYNC_S (how often to pick up knowledge-base edits made by other processes,
 * default 30, 0 = never), KB_EMBEDDINGS=clip (CLIP text encoder as the dense source). */
#ifndef RODEO_API_CHAT_H
#define RODEO_API_CHAT_H
#include "http/http.h"
#include "kb/kb.h"
#include <stddef.h>

#define CHAT_MAX_MESSAGES 100         /* per request */
#define CHAT_MAX_CHARS    32000       /* code points over all messages of a request */

int   api_chat_init(char *err, size_t errlen);
void  api_chat_shutdown(void);
kb_t *api_chat_kb(void);

/* chat.c */
void api_chat(http_req_t *req, http_resp_t *resp);
/* exports.c */
void api_conversation_export_text(http_req_t *req, http_resp_t *resp);
void api_conversation_export_pdf(http_req_t *req, http_resp_t *resp);
/* kb.c (admin) */
void api_kb_list(http_req_t *req, http_resp_t *resp);
void api_kb_search(http_req_t *req, http_resp_t *resp);
void api_kb_ingest(http_req_t *req, http_resp_t *resp);
void api_kb_delete(http_req_t *req, http_resp_t *resp);
#endif
