/* exports.c — GET /api/conversations/{id}/export/text|pdf: the owner's conversation as a
 * text file or a PDF (rendering in src/export). Someone else's conversation is 404, as for
 * every conversation route. Rendering happens in memory: no temp files to leak (F8). */
#include "api/api.h"
#include "api/chat.h"
#include "api/payments.h"
#include "api/validate.h"
#include "export/export.h"
#include "core/log.h"
#include <stdio.h>
#include <stdlib.h>

static json_t *load(http_req_t *req, http_resp_t *resp)
{
    int64_t id;
    if (!param_id(req, resp, "id", &id)) return NULL;
    json_t *conv = NULL;
    int rc = store_conversation_get(g_api.store, http_req_principal(req)->user_id, id, true, &conv);
    if (rc != STORE_OK) { api_store_error(resp, rc, "Conversation"); return NULL; }
    return conv;
}

static void attachment(http_resp_t *resp, const json_t *conv, const char *ext)
{
    char fn[64], cd[128];
    export_filename(conv, ext, fn, sizeof fn);
    snprintf(cd, sizeof cd, "attachment; filename=\"%s\"", fn);
    http_resp_header(resp, "Content-Disposition", cd);
}

void api_conversation_export_text(http_req_t *req, http_resp_t *resp)
{
    json_t *conv = load(req, resp);
    if (!conv) return;
    if (!api_quota_check(req, resp, BILLING_ACTION_EXPORT)) { json_decref(conv); return; }
    size_t len;
    char *text = export_text(conv, &len);
    attachment(resp, conv, "txt");
    http_resp_take(resp, 200, "text/plain; charset=utf-8", text, len);
    json_decref(conv);
}

void api_conversation_export_pdf(http_req_t *req, http_resp_t *resp)
{
    json_t *conv = load(req, resp);
    if (!conv) return;
    if (!api_quota_check(req, resp, BILLING_ACTION_EXPORT)) { json_decref(conv); return; }
    void *pdf;
    size_t len;
    char err[256];
    if (export_pdf(conv, getenv("RODEO_PDF_FONT"), getenv("RODEO_PDF_FONT_BOLD"), &pdf, &len, err, sizeof err) != 0) {
        log_error("export: %s", err);
        api_quota_refund(req, BILLING_ACTION_EXPORT);
        http_resp_error(resp, 500, "export_failed", "The PDF could not be rendered");
    } else {
        attachment(resp, conv, "pdf");
        http_resp_take(resp, 200, "application/pdf", pdf, len);
    }
    json_decref(conv);
}
