/* config.c — environment parsing with defaults. */
#include "core/config.h"
#include "core/buf.h"
#include "core/str.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

config_t g_config;

static char *env_str(const char *name, const char *def)
{
    const char *v = getenv(name);
    if (v && *v) return xstrdup(v);
    return def ? xstrdup(def) : NULL;
}

static int env_int(const char *name, long def, long lo, long hi, long *out, char *err, size_t errlen)
{
    const char *v = getenv(name);
    int64_t n;
    if (!v || !*v) { *out = def; return 0; }
    if (!str_to_i64(v, &n) || n < lo || n > hi) {
        snprintf(err, errlen, "%s must be an integer in [%ld, %ld], got '%s'", name, lo, hi, v);
        return -1;
    }
    *out = (long)n;
    return 0;
}

static int env_bool(const char *name, bool def, bool *out, char *err, size_t errlen)
{
    const char *v = getenv(name);
    if (!v || !*v) { *out = def; return 0; }
    if (!str_to_bool(v, out)) {
        snprintf(err, errlen, "%s must be a boolean (true/false/1/0), got '%s'", name, v);
        return -1;
    }
    return 0;
}

int config_load_env(char *err, size_t errlen)
{
    config_t *c = &g_config;
    long n;
    config_free();
    const char *env = getenv("RODEO_ENV");
    c->production = env && !strcmp(env, "production");
    c->host = env_str("HOST", "0.0.0.0");
    if (env_int("PORT", 8000, 0, 65535, &n, err, errlen)) return -1;
    c->port = (int)n;
    c->data_dir = env_str("RODEO_DATA_DIR", "./data");
    c->log_level = env_str("LOG_LEVEL", "info");
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    /* Handlers block (argon2 ~50 ms, SQLite writes, recognition), and a blocked libmicrohttpd
     * thread stalls every connection it owns, so keep more threads than cores; many more
     * lengthens the latency tail of fast requests (measured: bench/results/http.md). */
    long threads = cpus > 0 ? 2 * cpus : 4;
    if (env_int("HTTP_THREADS", threads < 4 ? 4 : threads, 1, 1024, &n, err, errlen)) return -1;
    c->http_threads = (int)n;
    if (env_int("RODEO_WORKERS", 1, 0, 256, &n, err, errlen)) return -1;
    c->workers = (int)n;
    if (env_int("MAX_BODY_KB", 1024, 1, 1 << 20, &n, err, errlen)) return -1;
    c->max_body_bytes = (size_t)n * 1024;
    if (env_int("MAX_UPLOAD_MB", 10, 1, 4096, &n, err, errlen)) return -1;
    c->max_upload_bytes = (size_t)n * 1024 * 1024;
    if (env_int("REQUEST_TIMEOUT_S", 30, 1, 3600, &n, err, errlen)) return -1;
    c->request_timeout_s = (int)n;
    c->cors_origins = env_str("CORS_ORIGINS", "*");
    if (env_bool("TRUST_PROXY", false, &c->trust_proxy, err, errlen)) return -1;
    if (env_bool("RATE_LIMIT", true, &c->rate_limit_enabled, err, errlen)) return -1;
    if (env_bool("ANONYMOUS_HISTORY", false, &c->anonymous_history, err, errlen)) return -1;

    c->database_url = env_str("DATABASE_URL", NULL);
    c->redis_url = env_str("REDIS_URL", NULL);

    c->jwt_secret = env_str("JWT_SECRET", NULL);
    if (env_int("ACCESS_TOKEN_TTL_S", 900, 10, 86400 * 7, &n, err, errlen)) return -1;
    c->access_token_ttl_s = (int)n;
    if (env_int("REFRESH_TOKEN_TTL_S", 86400 * 30, 60, 86400 * 365, &n, err, errlen)) return -1;
    c->refresh_token_ttl_s = (int)n;
    c->google_client_id = env_str("GOOGLE_CLIENT_ID", NULL);
    c->google_jwks_url = env_str("GOOGLE_JWKS_URL", "https://www.googleapis.com/oauth2/v3/certs");

    c->openai_api_key = env_str("OPENAI_API_KEY", NULL);
    c->openai_base_url = env_str("OPENAI_BASE_URL", NULL);
    c->openai_model = env_str("OPENAI_MODEL", "gpt-4o-mini");
    c->openai_models = env_str("OPENAI_MODELS", "gpt-4o-mini,gpt-4o");
    c->embedding_model = env_str("OPENAI_EMBEDDING_MODEL", "text-embedding-3-small");

    c->stripe_secret_key = env_str("STRIPE_SECRET_KEY", NULL);
    c->stripe_webhook_secret = env_str("STRIPE_WEBHOOK_SECRET", NULL);
    c->stripe_api_base = env_str("STRIPE_API_BASE", "https://api.stripe.com");
    c->stripe_pro_price_id = env_str("STRIPE_PRO_PRICE_ID", "price_pro_monthly");
    c->stripe_premium_price_id = env_str("STRIPE_PREMIUM_PRICE_ID", "price_premium_monthly");

    c->model_dir = env_str("RODEO_MODEL_DIR", "./models");
    c->clip_model = env_str("CLIP_MODEL", NULL);
    c->vit_model = env_str("VIT_MODEL", NULL);
    c->inference_url = env_str("INFERENCE_URL", NULL);
    if (env_int("RODEO_THREADS", cpus > 0 ? cpus : 1, 1, 256, &n, err, errlen)) return -1;
    c->ml_threads = (int)n;

    c->s3_endpoint = env_str("S3_ENDPOINT", NULL);
    c->s3_bucket = env_str("S3_BUCKET", NULL);
    return 0;
}

void config_free(void)
{
    config_t *c = &g_config;
    char **strs[] = {&c->host, &c->data_dir, &c->log_level, &c->cors_origins, &c->database_url,
                     &c->redis_url, &c->jwt_secret, &c->google_client_id, &c->google_jwks_url,
                     &c->openai_api_key, &c->openai_base_url, &c->openai_model, &c->openai_models,
                     &c->embedding_model, &c->stripe_secret_key, &c->stripe_webhook_secret,
                     &c->stripe_api_base, &c->stripe_pro_price_id, &c->stripe_premium_price_id,
                     &c->model_dir, &c->clip_model, &c->vit_model, &c->inference_url,
                     &c->s3_endpoint, &c->s3_bucket};
    for (size_t i = 0; i < sizeof strs / sizeof *strs; i++) {
        free(*strs[i]);
        *strs[i] = NULL;
    }
}
