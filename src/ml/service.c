/* service.c — the process's models (see service.h). Set up before the server threads start
 * and read-only afterwards, except the remote tier's model facts, learnt once under a lock. */
#include "ml/service.h"
#include "ml/gemm_bf16.h"
#include "ml/gemm_i8.h"
#include "ml/kernels.h"
#include "ml/remote.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/log.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static struct {
    clip_model_t   *clip;
    vit_model_t    *vit;
    zeroshot_t     *zs;
    char            clip_err[1024];
    char            name[128];
    int             remote;
    ml_remote_t     rem;
    pthread_mutex_t lock;          /* guards rem's learnt facts */
    int             remote_known;
} S = {.lock = PTHREAD_MUTEX_INITIALIZER};

static char *clip_dir(void)
{
    buf_t b = {0};
    if (g_config.clip_model && *g_config.clip_model) buf_puts(&b, g_config.clip_model);
    else buf_printf(&b, "%s/clip-vit-base-patch32", g_config.model_dir ? g_config.model_dir : "./models");
    return buf_steal(&b);
}

int ml_service_precision_flags(const char *value)
{
    if (!value || !*value || !strcmp(value, "fp32")) return 0;
    if (!strcmp(value, "bf16")) return gemm_bf16_hw() ? CLIP_LOAD_BF16 : 0;
    if (!strcmp(value, "int8")) return gemm_i8_hw() ? CLIP_LOAD_INT8 : 0;
    if (!strcmp(value, "reduced"))        /* int8 (vpdpbusd) runs twice bf16's multiply-adds */
        return gemm_i8_hw() ? CLIP_LOAD_INT8 : gemm_bf16_hw() ? CLIP_LOAD_BF16 : 0;
    return -1;
}

int ml_service_init(void)
{
    ml_threads_set(g_config.ml_threads);
    if (g_config.inference_url && *g_config.inference_url) {
        S.remote = 1;
        S.rem.base_url = g_config.inference_url;
        snprintf(S.name, sizeof S.name, "remote");
        log_info("ml: inference calls go to the remote tier at %s", g_config.inference_url);
        return 0;
    }
    const char *prec = getenv("ML_PRECISION");
    int flags = ml_service_precision_flags(prec);
    if (flags < 0) {
        log_warn("ml: ML_PRECISION=%s is not one of fp32, bf16, int8, reduced; using fp32", prec);
        flags = 0;
    } else if (!flags && prec && *prec && strcmp(prec, "fp32")) {
        log_warn("ml: ML_PRECISION=%s but this CPU has no %s; using fp32", prec,
                 !strcmp(prec, "bf16") ? "AVX512_BF16" : !strcmp(prec, "int8") ? "AVX512_VNNI" : "AVX512_BF16 or AVX512_VNNI");
    }
    char *dir = clip_dir();
    char err[512];
    struct stat st;
    buf_t cfg = {0};
    buf_printf(&cfg, "%s/config.json", dir);
    if (stat(cfg.data, &st) != 0) {
        snprintf(S.clip_err, sizeof S.clip_err,
                 "CLIP model is not loaded: no weights at %s (run `rodeo models pull` or set CLIP_MODEL)", dir);
        log_warn("ml: %s; image embeddings and zero-shot classification are disabled", S.clip_err);
    } else {
        S.clip = clip_load(dir, flags, err, sizeof err);
        if (!S.clip) {
            snprintf(S.clip_err, sizeof S.clip_err, "CLIP model is not loaded: %s", err);
            log_error("ml: %s", S.clip_err);
        } else {
            snprintf(S.name, sizeof S.name, "%s", clip_name(S.clip));
            S.zs = zeroshot_new(S.clip, NULL, 0);
            log_info("ml: CLIP %s loaded (%d-dim, %s%s, %d threads)", S.name, clip_embed_dim(S.clip),
                     clip_precision(S.clip), clip_has_text(S.clip) ? ", text" : "",
                     ml_threads_get());
        }
    }
    buf_free(&cfg);
    free(dir);
    if (g_config.vit_model && *g_config.vit_model) {
        S.vit = vit_load(g_config.vit_model, flags, err, sizeof err);
        if (!S.vit) log_error("ml: ViT classifier not loaded: %s", err);
        else log_info("ml: ViT classifier %s loaded (%d labels)", g_config.vit_model, vit_num_labels(S.vit));
    }
    return 0;
}

void ml_service_shutdown(void)
{
    zeroshot_free(S.zs);
    clip_free(S.clip);
    vit_free(S.vit);
    S.zs = NULL;
    S.clip = NULL;
    S.vit = NULL;
    S.remote = 0;
    S.remote_known = 0;
    S.clip_err[0] = '\0';
}

const clip_model_t *ml_service_clip(void) { return S.clip; }
const vit_model_t *ml_service_vit(void) { return S.vit; }
int ml_service_clip_ready(void) { return S.remote || S.clip != NULL; }
const char *ml_service_clip_error(void) { return S.remote || S.clip ? "" : S.clip_err[0] ? S.clip_err : "CLIP model is not loaded"; }

/* Remote mode: asks the tier once for its model facts. */
static int remote_known(char *err, size_t errlen)
{
    pthread_mutex_lock(&S.lock);
    int rc = 0;
    if (!S.remote_known) {
        rc = ml_remote_info(&S.rem, err, errlen);
        if (rc == 0) S.remote_known = 1;
    }
    pthread_mutex_unlock(&S.lock);
    return rc;
}

const char *ml_service_clip_name(void)
{
    if (S.remote) { char e[256]; if (remote_known(e, sizeof e) == 0) return S.rem.model; }
    return S.name;
}

int ml_service_clip_dim(void)
{
    if (S.clip) return clip_embed_dim(S.clip);
    char e[256];
    return S.remote && remote_known(e, sizeof e) == 0 ? S.rem.dim : 0;
}

int ml_service_clip_image_size(void)
{
    if (S.clip) return clip_image_size(S.clip);
    char e[256];
    return S.remote && remote_known(e, sizeof e) == 0 ? S.rem.image_size : 0;
}

int ml_service_embed_images(const float *pixels, int n, float **out, int *dim, char *err, size_t errlen)
{
    if (S.remote) {
        if (remote_known(err, errlen) != 0) return -1;
        ml_remote_t r = S.rem;                 /* a private copy: calls run concurrently */
        return ml_remote_embed_images(&r, pixels, n, S.rem.image_size, out, dim, err, errlen);
    }
    if (!S.clip) { snprintf(err, errlen, "%s", ml_service_clip_error()); return -1; }
    *dim = clip_embed_dim(S.clip);
    *out = xmalloc((size_t)n * *dim * sizeof **out);
    if (clip_embed_images(S.clip, pixels, n, *out) != 0) {
        free(*out);
        *out = NULL;
        snprintf(err, errlen, "no images");
        return -1;
    }
    return 0;
}

int ml_service_embed_texts(const char *const *texts, int n, float **out, int *dim, char *err, size_t errlen)
{
    if (S.remote) {
        ml_remote_t r = S.rem;
        return ml_remote_embed_texts(&r, texts, n, out, dim, err, errlen);
    }
    if (!S.clip) { snprintf(err, errlen, "%s", ml_service_clip_error()); return -1; }
    if (!clip_has_text(S.clip)) { snprintf(err, errlen, "the CLIP model has no text tower"); return -1; }
    *dim = clip_embed_dim(S.clip);
    *out = xmalloc((size_t)n * *dim * sizeof **out);
    if (clip_embed_texts(S.clip, texts, n, *out) != 0) {
        free(*out);
        *out = NULL;
        snprintf(err, errlen, "no texts");
        return -1;
    }
    return 0;
}

int ml_service_classify(const float *pixels, const char *const *labels, int n, zeroshot_score_t *out,
                        char *err, size_t errlen)
{
    if (S.remote) {
        if (remote_known(err, errlen) != 0) return -1;
        ml_remote_t r = S.rem;
        return ml_remote_classify(&r, pixels, S.rem.image_size, labels, n, out, err, errlen);
    }
    if (!S.clip) { snprintf(err, errlen, "%s", ml_service_clip_error()); return -1; }
    if (!S.zs) { snprintf(err, errlen, "the CLIP model has no text tower"); return -1; }
    int dim = clip_embed_dim(S.clip);
    float *img = xmalloc((size_t)dim * sizeof *img);
    int rc = clip_embed_images(S.clip, pixels, 1, img);
    if (rc == 0) rc = zeroshot_classify(S.zs, img, labels, n, out);
    if (rc) snprintf(err, errlen, "classification failed");
    free(img);
    return rc;
}
