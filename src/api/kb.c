/* kb.c — the knowledge-base admin API (admin token required by the route table):
 *   GET    /api/admin/kb                      documents
 *   GET    /api/admin/kb/search?q=...&k=5     ranked passages with sources
 *   POST   /api/admin/kb/documents            {source, text}: ingest (idempotent by hash)
 *   DELETE /api/admin/kb/documents?source=... remove a document */
#include "api/api.h"
#include "api/chat.h"
#include "api/validate.h"
#include "kb/chunk.h"
#include "kb/prompt.h"
#include <string.h>

#define SOURCE_MAX 200

void api_kb_list(http_req_t *req, http_resp_t *resp)
{
    kb_t *kb = api_chat_kb();
    http_resp_json(resp, 200, json_pack("{s:I, s:I, s:o}", "documents", (json_int_t)kb_doc_count(kb),
                                        "chunks", (json_int_t)kb_chunk_count(kb), "items", kb_list(kb)));
}

void api_kb_search(http_req_t *req, http_resp_t *resp)
{
    const char *q = http_req_query(req, "q");
    int64_t k;
    if (!q || !*q) { http_resp_error(resp, 422, "validation_error", "q: field required"); return; }
    if (strlen(q) > 1000) { http_resp_error(resp, 422, "validation_error", "q: at most 1000 characters"); return; }
    if (!query_int(req, resp, "k", 5, 1, 50, &k)) return;
    kb_hit_t *hits;
    size_t n = kb_search(api_chat_kb(), q, (size_t)k, &hits);
    json_t *items = kb_sources_json(hits, n);
    for (size_t i = 0; i < n; i++) json_object_set_new(json_array_get(items, i), "text", json_string(hits[i].text));
    kb_hits_free(hits, n);
    http_resp_json(resp, 200, json_pack("{s:s, s:o}", "query", q, "results", items));
}

/* Sources are relative names like "events/bull-riding.md": no absolute paths, no "..". */
static bool source_ok(const char *s)
{
    return *s && *s != '/' && !strstr(s, "..") && !strchr(s, '\\');
}

void api_kb_ingest(http_req_t *req, http_resp_t *resp)
{
    json_t *body = http_req_json(req, resp);
    if (!body) return;
    const char *source, *text;
    if (!field_str(resp, body, "source", true, SOURCE_MAX, &source) ||
        !field_str(resp, body, "text", true, KB_MAX_DOC_BYTES, &text))
        goto out;
    if (!source_ok(source)) {
        http_resp_error(resp, 422, "validation_error", "source: must be a relative name without '..'");
        goto out;
    }
    int status;
    size_t chunks;
    char err[256];
    if (kb_ingest_text(api_chat_kb(), source, text, strlen(text), &status, &chunks, err, sizeof err) != 0) {
        http_resp_error(resp, 422, "validation_error", "text: %s", err);
        goto out;
    }
    if (status != KB_UNCHANGED && kb_save(api_chat_kb(), err, sizeof err) != 0) {
        http_resp_error(resp, 500, "kb_save_failed", "The knowledge base could not be saved");
        goto out;
    }
    static const char *const names[] = { "added", "unchanged", "replaced" };
    http_resp_json(resp, status == KB_ADDED ? 201 : 200,
                   json_pack("{s:s, s:s, s:I}", "source", source, "status", names[status], "chunks", (json_int_t)chunks));
out:
    json_decref(body);
}

void api_kb_delete(http_req_t *req, http_resp_t *resp)
{
    const char *source = http_req_query(req, "source");
    if (!source || !*source) { http_resp_error(resp, 422, "validation_error", "source: field required"); return; }
    if (kb_remove(api_chat_kb(), source) != 0) {
        http_resp_error(resp, 404, "not_found", "Document not found");
        return;
    }
    char err[256];
    if (kb_save(api_chat_kb(), err, sizeof err) != 0) {
        http_resp_error(resp, 500, "kb_save_failed", "The knowledge base could not be saved");
        return;
    }
    http_resp_json(resp, 200, json_pack("{s:s}", "status", "success"));
}
