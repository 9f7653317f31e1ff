/* routes.c — every HTTP route in one table: method, path, handler, auth level, per-minute
 * rate limit per client (the original service's budgets; sign-in endpoints 10/minute),
 * flags. Liveness/readiness probes are not rate-limited: load balancers poll them. */
#include "api/api.h"
#include "api/chat.h"
#include "api/inference.h"
#include "api/payments.h"
#include "api/products.h"

#define N HTTP_AUTH_NONE
#define O HTTP_AUTH_OPTIONAL
#define R HTTP_AUTH_REQUIRED
#define A HTTP_AUTH_ADMIN

static const http_route_t routes[] = {
    /* health.c */
    {"GET",    "/",                                api_root,                N, 100, 0},
    {"GET",    "/health",                          api_health,              N, 0,   0},
    {"GET",    "/ready",                           api_ready,               N, 0,   0},
    /* auth.c */
    {"POST",   "/api/auth/register",               api_auth_register,       N, 10,  0},
    {"POST",   "/api/auth/login",                  api_auth_login,          N, 10,  0},
    {"POST",   "/api/auth/refresh",                api_auth_refresh,        N, 30,  0},
    {"POST",   "/api/auth/logout",                 api_auth_logout,         R, 30,  0},
    {"GET",    "/api/auth/me",                     api_auth_me,             R, 60,  0},
    {"POST",   "/api/auth/google",                 api_auth_google,         N, 10,  0},
    /* users.c */
    {"GET",    "/api/users/{id}",                  api_user_get,            R, 60,  0},
    {"PATCH",  "/api/users/{id}",                  api_user_patch,          R, 30,  0},
    /* conversations.c */
    {"GET",    "/api/conversations",               api_conversation_list,   R, 60,  0},
    {"POST",   "/api/conversations",               api_conversation_create, R, 30,  0},
    {"GET",    "/api/conversations/search",        api_conversation_search, R, 30,  0},
    {"GET",    "/api/conversations/{id}",          api_conversation_get,    R, 60,  0},
    {"PATCH",  "/api/conversations/{id}",          api_conversation_patch,  R, 60,  0},
    {"DELETE", "/api/conversations/{id}",          api_conversation_delete, R, 30,  0},
    /* chat.c, exports.c, kb.c (chat engineer) */
    {"POST",   "/api/chat",                        api_chat,                O, 30,  0},
    {"GET",    "/api/conversations/{id}/export/text", api_conversation_export_text, R, 20, 0},
    {"GET",    "/api/conversations/{id}/export/pdf",  api_conversation_export_pdf,  R, 10, 0},
    {"GET",    "/api/admin/kb",                    api_kb_list,             A, 60,  0},
    {"GET",    "/api/admin/kb/search",             api_kb_search,           A, 60,  0},
    {"POST",   "/api/admin/kb/documents",          api_kb_ingest,           A, 30,  0},
    {"DELETE", "/api/admin/kb/documents",          api_kb_delete,           A, 30,  0},
    /* feedback.c */
    {"POST",   "/api/feedback",                    api_feedback_create,     R, 60,  0},
    /* usage.c, payments.c, subscriptions.c, webhooks.c (billing) */
    {"GET",    "/api/subscription/plans",          api_plans_list,          N, 100, 0},
    {"GET",    "/api/subscription/usage",          api_usage_get,           R, 60,  0},
    {"POST",   "/api/payments/create-intent",      api_payment_create_intent, R, 30, 0},
    {"GET",    "/api/payments/my-payments",        api_payment_list,        R, 60,  0},
    {"POST",   "/api/payments/create-subscription", api_subscription_create, R, 10, 0},
    {"DELETE", "/api/payments/cancel-subscription/{subscription_id}", api_subscription_cancel, R, 10, 0},
    {"GET",    "/api/payments/my-subscription",    api_subscription_mine,   R, 60,  0},
    /* products.c, recognize.c (recog) */
    {"GET",    "/api/products",                    api_products_list,       N, 60,  0},
    {"POST",   "/api/products",                    api_product_create,      A, 60,  0},
    {"GET",    "/api/products/images/{id}",        api_product_image,       N, 300, 0},
    {"GET",    "/api/products/{id}",               api_product_get,         N, 60,  0},
    {"PUT",    "/api/products/{id}",               api_product_update,      A, 60,  0},
    {"DELETE", "/api/products/{id}",               api_product_delete,      A, 30,  0},
    {"POST",   "/api/recognize-product",           api_recognize_product,   O, 20,  HTTP_ROUTE_UPLOAD},
    {"GET",    "/api/product-analytics",           api_product_analytics,   O, 30,  0},
    {"GET",    "/api/admin/recognition/features",  api_recognition_features, A, 60, 0},
    /* inference.c (ml) */
    {"GET",    "/v1/models",                       api_models_info,         N, 300, 0},
    {"POST",   "/v1/embed/image",                  api_embed_image,         N, 120, HTTP_ROUTE_UPLOAD},
    {"POST",   "/v1/embed/text",                   api_embed_text,          N, 120, 0},
    {"POST",   "/v1/classify",                     api_classify,            N, 120, HTTP_ROUTE_UPLOAD},
    {"POST",   "/api/webhooks/stripe",             api_webhook_stripe,      N, 0,   HTTP_ROUTE_RAW_BODY},
};

const http_route_t *api_routes(size_t *n)
{
    *n = sizeof routes / sizeof *routes;
    return routes;
}
