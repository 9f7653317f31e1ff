/* health.c — GET / (service banner), GET /health (liveness), GET /ready (store reachable). */
#include "api/api.h"
#include "core/config.h"

void api_root(http_req_t *req, http_resp_t *resp)
{
    http_resp_json(resp, 200, json_pack("{s:s, s:s}", "status", "ok", "service", "RodeoAI Backend"));
}

void api_health(http_req_t *req, http_resp_t *resp)
{
    /* The original clients read openai_configured; a local OpenAI-compatible server needs
     * only a base URL. */
    bool llm = (g_config.openai_api_key && *g_config.openai_api_key) ||
               (g_config.openai_base_url && *g_config.openai_base_url);
    http_resp_json(resp, 200, json_pack("{s:s, s:s, s:b}", "status", "ok", "version",
                                        RODEO_VERSION, "openai_configured", llm));
}

void api_ready(http_req_t *req, http_resp_t *resp)
{
    if (store_ping(g_api.store) != 0) {
        http_resp_error(resp, 503, "store_unavailable", "The data store is not reachable");
        return;
    }
    http_resp_json(resp, 200, json_pack("{s:s, s:s}", "status", "ready", "store",
                                        store_backend(g_api.store)));
}
