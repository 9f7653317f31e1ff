/* config.h — the process configuration, read once from the environment at start-up
 * (12-factor), then overridden by command-line flags. It is one of the documented
 * singletons: written only before threads start, read-only afterwards.
 * Every variable is listed in README.md; add new ones there too. */
#ifndef RODEO_CORE_CONFIG_H
#define RODEO_CORE_CONFIG_H
#include <stdbool.h>
#include <stddef.h>

typedef struct {
    /* process */
    bool   production;           /* RODEO_ENV=production: secrets required, no generated ones */
    char  *host;                 /* HOST, default 0.0.0.0 */
    int    port;                 /* PORT, default 8000 */
    char  *data_dir;             /* RODEO_DATA_DIR, default ./data */
    char  *log_level;            /* LOG_LEVEL */
    int    http_threads;         /* HTTP_THREADS, default = number of CPUs */
    int    workers;              /* RODEO_WORKERS, background worker threads in serve */
    size_t max_body_bytes;       /* MAX_BODY_KB (JSON bodies), default 1024 KB */
    size_t max_upload_bytes;     /* MAX_UPLOAD_MB (multipart uploads), default 10 MB */
    int    request_timeout_s;    /* REQUEST_TIMEOUT_S, idle connection timeout, default 30 */
    char  *cors_origins;         /* CORS_ORIGINS, comma list or "*", default "*" (no credentials) */
    bool   trust_proxy;          /* TRUST_PROXY: honour X-Forwarded-For */
    bool   rate_limit_enabled;   /* RATE_LIMIT=0 disables (benchmarks) */
    bool   anonymous_history;    /* ANONYMOUS_HISTORY=1 stores anonymous chats */

    /* data */
    char  *database_url;         /* DATABASE_URL: sqlite:///path | postgresql://... */
    char  *redis_url;            /* REDIS_URL (scale-out kv) */

    /* auth */
    char  *jwt_secret;           /* JWT_SECRET (generated into the data dir when unset, dev only) */
    int    access_token_ttl_s;   /* ACCESS_TOKEN_TTL_S, default 900 */
    int    refresh_token_ttl_s;  /* REFRESH_TOKEN_TTL_S, default 30 days */
    char  *google_client_id;     /* GOOGLE_CLIENT_ID */
    char  *google_jwks_url;      /* GOOGLE_JWKS_URL */

    /* llm */
    char  *openai_api_key;       /* OPENAI_API_KEY */
    char  *openai_base_url;      /* OPENAI_BASE_URL, includes /v1 */
    char  *openai_model;         /* OPENAI_MODEL, default gpt-4o-mini */
    char  *openai_models;        /* OPENAI_MODELS, comma allow-list */
    char  *embedding_model;      /* OPENAI_EMBEDDING_MODEL */

    /* billing */
    char  *stripe_secret_key;    /* STRIPE_SECRET_KEY */
    char  *stripe_webhook_secret;/* STRIPE_WEBHOOK_SECRET */
    char  *stripe_api_base;      /* STRIPE_API_BASE */
    char  *stripe_pro_price_id;  /* STRIPE_PRO_PRICE_ID */
    char  *stripe_premium_price_id; /* STRIPE_PREMIUM_PRICE_ID */

    /* models and inference */
    char  *model_dir;            /* RODEO_MODEL_DIR, default ./models */
    char  *clip_model;           /* CLIP_MODEL */
    char  *vit_model;            /* VIT_MODEL */
    char  *inference_url;        /* INFERENCE_URL */
    int    ml_threads;           /* RODEO_THREADS */

    /* blob storage */
    char  *s3_endpoint;          /* S3_ENDPOINT */
    char  *s3_bucket;            /* S3_BUCKET */
} config_t;

extern config_t g_config;

/* Fills g_config from the environment with defaults. Returns 0, or -1 with a message in
 * err (a static string) when a value is malformed. */
int  config_load_env(char *err, size_t errlen);
/* Frees the strings held by g_config. */
void config_free(void);
#endif
