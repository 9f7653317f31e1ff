/* llm.h — OpenAI-compatible client: Chat Completions with streaming, and embeddings.
 *
 * Works with the OpenAI API and with compatible servers (llama.cpp server, Ollama, vLLM):
 * base_url includes the "/v1" prefix, as the official SDKs take it; the API key is optional
 * (local servers need none).
 *
 * Streaming requests run on one event thread (curl multi): no thread is held per stream.
 * Deltas are delivered from that thread through on_delta as each SSE chunk arrives; on_done
 * runs exactly once per request, also on cancel and engine stop. Callbacks must not block.
 * Failures before the first token that are worth retrying (connection refused, timeout,
 * 429, 5xx, stream cut) are retried with exponential backoff; after the first token they
 * are reported, never retried (the client already has part of an answer). */
#ifndef RODEO_LLM_LLM_H
#define RODEO_LLM_LLM_H
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

enum llm_status {
    LLM_OK = 0,
    LLM_ERR_AUTH,          /* 401/403: bad or missing key */
    LLM_ERR_RATE_LIMIT,    /* 429 after retries */
    LLM_ERR_UPSTREAM,      /* 5xx after retries */
    LLM_ERR_BAD_REQUEST,   /* other 4xx (unknown model, ...) */
    LLM_ERR_TIMEOUT,       /* connect or idle timeout */
    LLM_ERR_CONNECT,       /* connection refused / DNS / TLS */
    LLM_ERR_PROTOCOL,      /* malformed chunk, not an event stream */
    LLM_ERR_CUT,           /* stream ended before [DONE]/finish_reason */
    LLM_CANCELLED,         /* llm_cancel or engine stop */
};
/* Short machine name ("rate_limit", ...). */
const char *llm_status_name(int status);

typedef struct {
    const char *base_url;        /* e.g. "https://api.openai.com/v1" */
    const char *api_key;         /* NULL/"" = no Authorization header */
    long connect_timeout_ms;     /* default 5000 */
    long idle_timeout_ms;        /* no byte for this long aborts (default 60000) */
    long total_timeout_s;        /* whole request cap (default 600) */
    int  max_retries;            /* before the first token (default 2) */
    long backoff_ms;             /* first retry delay, doubled each time (default 250) */
} llm_config_t;

typedef struct {
    int  status;                 /* enum llm_status */
    long http_status;            /* 0 when no response */
    char message[256];           /* cause for logs (never secrets) */
    int  prompt_tokens;          /* -1 when the upstream sent no usage block */
    int  completion_tokens;
    int  attempts;
    char finish_reason[32];
} llm_result_t;

typedef struct {
    void (*on_delta)(void *ud, const char *text, size_t len);
    void (*on_done)(void *ud, const llm_result_t *r);
    void *ud;
} llm_callbacks_t;

typedef struct {
    double temperature;          /* < 0 = server default */
    int    max_tokens;           /* 0 = server default */
} llm_params_t;

typedef struct llm_engine llm_engine_t;

llm_engine_t *llm_engine_start(const llm_config_t *cfg, char *err, size_t errlen);
/* Cancels every request in flight (on_done with LLM_CANCELLED) and joins the thread. */
void llm_engine_stop(llm_engine_t *e);
/* Number of requests queued, waiting for a retry or in flight. */
int  llm_engine_active(llm_engine_t *e);

/* Starts a streaming chat completion. messages is an array of {role, content} (borrowed;
 * serialised before return). Returns a request id (> 0); cb->on_done is guaranteed. */
uint64_t llm_chat_stream(llm_engine_t *e, const char *model, const json_t *messages,
                         const llm_params_t *params, const llm_callbacks_t *cb);
/* Cancels a request; a no-op when it already finished. Thread-safe. */
void llm_cancel(llm_engine_t *e, uint64_t id);

/* ---- pieces exposed for reuse and tests ---- */

/* The JSON body for /chat/completions (caller frees). */
char *llm_chat_body(const char *model, const json_t *messages, const llm_params_t *params);

/* Parses one SSE data payload of a streamed completion. Sets delta and delta_len to the
 * content delta (may be empty), done for "[DONE]", fills usage and finish_reason when present.
 * Returns 0, or -1 with a message for malformed payloads and in-stream error objects. */
typedef struct {
    const char *delta;
    size_t      delta_len;
    int         done;
    int         prompt_tokens, completion_tokens;   /* -1 if absent */
    char        finish_reason[32];
    json_t     *owner;                              /* keeps delta alive; llm_chunk_free */
} llm_chunk_t;
int  llm_chunk_parse(const char *data, size_t len, llm_chunk_t *out, char *err, size_t errlen);
void llm_chunk_free(llm_chunk_t *c);

/* True when model is in the comma-separated allow-list (spaces ignored). */
int llm_model_allowed(const char *allow_list, const char *model);

/* Synchronous embeddings call (POST {base}/embeddings). Writes a malloc'd vector. */
int llm_embed(const llm_config_t *cfg, const char *model, const char *text, float **vec,
              int *dim, char *err, size_t errlen);
/* Parses an embeddings response body (exposed for hostile-input tests). */
int llm_embed_parse(const char *body, size_t len, float **vec, int *dim, char *err, size_t errlen);
#endif
