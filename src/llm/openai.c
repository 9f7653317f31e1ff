/* openai.c — the OpenAI wire format: request bodies, streamed chunk parsing, embeddings
 * responses, model allow-list. No I/O here except llm_embed's one synchronous call. */
#include "core/str.h"
#include "llm/llm.h"
#include "core/buf.h"
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *llm_status_name(int s)
{
    switch (s) {
    case LLM_OK: return "ok";
    case LLM_ERR_AUTH: return "upstream_auth";
    case LLM_ERR_RATE_LIMIT: return "upstream_rate_limit";
    case LLM_ERR_UPSTREAM: return "upstream_error";
    case LLM_ERR_BAD_REQUEST: return "upstream_bad_request";
    case LLM_ERR_TIMEOUT: return "upstream_timeout";
    case LLM_ERR_CONNECT: return "upstream_unreachable";
    case LLM_ERR_PROTOCOL: return "upstream_protocol";
    case LLM_ERR_CUT: return "upstream_cut";
    case LLM_CANCELLED: return "cancelled";
    }
    return "unknown";
}

char *llm_chat_body(const char *model, const json_t *messages, const llm_params_t *params)
{
    json_t *b = json_object();
    json_object_set_new(b, "model", json_string(model));
    json_object_set(b, "messages", (json_t *)messages);
    json_object_set_new(b, "stream", json_true());
    /* Ask for the usage block at the end of the stream (OpenAI; others ignore it). */
    json_object_set_new(b, "stream_options", json_pack("{s:b}", "include_usage", 1));
    if (params && params->temperature >= 0) json_object_set_new(b, "temperature", json_real(params->temperature));
    if (params && params->max_tokens > 0) json_object_set_new(b, "max_tokens", json_integer(params->max_tokens));
    char *s = json_dumps(b, JSON_COMPACT);
    json_decref(b);
    return s;
}

void llm_chunk_free(llm_chunk_t *c)
{
    if (c && c->owner) { json_decref(c->owner); c->owner = NULL; }
}

int llm_chunk_parse(const char *data, size_t len, llm_chunk_t *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    out->prompt_tokens = out->completion_tokens = -1;
    out->delta = "";
    size_t s = 0, e = len;
    while (s < e && (data[s] == ' ' || data[s] == '\t')) s++;
    while (e > s && (data[e - 1] == ' ' || data[e - 1] == '\t')) e--;
    if (e - s == 6 && !memcmp(data + s, "[DONE]", 6)) { out->done = 1; return 0; }
    json_error_t je;
    json_t *j = json_loadb(data, len, 0, &je);
    if (!j || !json_is_object(j)) {
        snprintf(err, errlen, "malformed stream chunk: %s", j ? "not an object" : je.text);
        json_decref(j);
        return -1;
    }
    out->owner = j;
    json_t *error = json_object_get(j, "error");
    if (error && !json_is_null(error)) {
        const char *m = json_string_value(json_object_get(error, "message"));
        if (!m) m = json_string_value(error);
        snprintf(err, errlen, "error in stream: %.200s", m ? m : "(no message)");
        llm_chunk_free(out);
        return -1;
    }
    json_t *choices = json_object_get(j, "choices");
    if (choices && !json_is_array(choices)) {
        snprintf(err, errlen, "malformed stream chunk: choices is not an array");
        llm_chunk_free(out);
        return -1;
    }
    json_t *c0 = json_array_get(choices, 0);
    if (c0) {
        if (!json_is_object(c0)) { snprintf(err, errlen, "malformed choice"); llm_chunk_free(out); return -1; }
        json_t *delta = json_object_get(c0, "delta");
        json_t *content = json_object_get(delta, "content");
        if (content && !json_is_null(content)) {
            if (!json_is_string(content)) {
                snprintf(err, errlen, "malformed stream chunk: content is not a string");
                llm_chunk_free(out);
                return -1;
            }
            out->delta = json_string_value(content);
            out->delta_len = json_string_length(content);
        }
        const char *fr = json_string_value(json_object_get(c0, "finish_reason"));
        if (fr) snprintf(out->finish_reason, sizeof out->finish_reason, "%s", fr);
    } else if (!choices && !json_object_get(j, "usage")) {
        snprintf(err, errlen, "malformed stream chunk: no choices");
        llm_chunk_free(out);
        return -1;
    }
    json_t *usage = json_object_get(j, "usage");
    if (json_is_object(usage)) {
        json_t *pt = json_object_get(usage, "prompt_tokens"), *ct = json_object_get(usage, "completion_tokens");
        if (json_is_integer(pt)) out->prompt_tokens = (int)json_integer_value(pt);
        if (json_is_integer(ct)) out->completion_tokens = (int)json_integer_value(ct);
    }
    return 0;
}

int llm_model_allowed(const char *allow, const char *model)
{
    return str_list_contains(allow, model, false);
}

int llm_embed_parse(const char *body, size_t len, float **vec, int *dim, char *err, size_t errlen)
{
    json_error_t je;
    json_t *j = json_loadb(body, len, 0, &je);
    json_t *emb = json_object_get(json_array_get(json_object_get(j, "data"), 0), "embedding");
    if (!json_is_array(emb) || json_array_size(emb) == 0 || json_array_size(emb) > 65536) {
        snprintf(err, errlen, "malformed embeddings response");
        json_decref(j);
        return -1;
    }
    size_t n = json_array_size(emb);
    float *v = xmalloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++) {
        json_t *x = json_array_get(emb, i);
        if (!json_is_number(x)) {
            snprintf(err, errlen, "non-numeric embedding value");
            free(v);
            json_decref(j);
            return -1;
        }
        v[i] = (float)json_number_value(x);
    }
    json_decref(j);
    *vec = v;
    *dim = (int)n;
    return 0;
}

static size_t collect(char *ptr, size_t size, size_t nmemb, void *ud)
{
    buf_t *b = ud;
    if (b->len + size * nmemb > (64u << 20)) return 0;
    buf_append(b, ptr, size * nmemb);
    return size * nmemb;
}

int llm_embed(const llm_config_t *cfg, const char *model, const char *text, float **vec,
              int *dim, char *err, size_t errlen)
{
    CURL *c = curl_easy_init();
    if (!c) { snprintf(err, errlen, "curl init failed"); return -1; }
    buf_t url = {0}, resp = {0}, auth = {0};
    buf_printf(&url, "%s/embeddings", cfg->base_url);
    json_t *req = json_pack("{s:s, s:s}", "model", model, "input", text);
    char *body = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    if (cfg->api_key && *cfg->api_key) {
        buf_printf(&auth, "Authorization: Bearer %s", cfg->api_key);
        h = curl_slist_append(h, auth.data);
    }
    curl_easy_setopt(c, CURLOPT_URL, url.data);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &resp);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms : 5000L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, cfg->idle_timeout_ms > 0 ? cfg->idle_timeout_ms / 1000 + 1 : 30L);
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    int ret = -1;
    if (rc != CURLE_OK) snprintf(err, errlen, "embeddings request failed: %s", curl_easy_strerror(rc));
    else if (status != 200) snprintf(err, errlen, "embeddings request: HTTP %ld", status);
    else ret = llm_embed_parse(resp.data ? resp.data : "", resp.len, vec, dim, err, errlen);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    free(body);
    buf_free(&url); buf_free(&resp);
    if (auth.data) memset(auth.data, 0, auth.len);   /* do not leave the key in freed memory */
    buf_free(&auth);
    return ret;
}
