/* remote.c — the inference API client (see remote.h). Each call uses its own curl handle,
 * so callers on many threads never share state; the answers are parsed strictly (shape and
 * sizes checked), since a remote tier is just another untrusted peer. */
#include "ml/remote.h"
#include "core/buf.h"
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t collect(char *p, size_t size, size_t n, void *arg)
{
    buf_t *b = arg;
    if (b->len + size * n > (64u << 20)) return 0;      /* a sane cap on any answer */
    buf_append(b, p, size * n);
    return size * n;
}

/* Performs the request; returns the parsed JSON object of a 200 answer, else NULL + err. */
static json_t *perform(ml_remote_t *r, CURL *c, const char *path, char *err, size_t errlen)
{
    buf_t url = {0}, body = {0};
    size_t bl = strlen(r->base_url);
    while (bl > 0 && r->base_url[bl - 1] == '/') bl--;
    buf_printf(&url, "%.*s%s", (int)bl, r->base_url, path);
    curl_easy_setopt(c, CURLOPT_URL, url.data);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, r->timeout_s > 0 ? r->timeout_s : 60L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    json_t *j = NULL;
    if (rc != CURLE_OK) snprintf(err, errlen, "inference tier %s: %s", url.data, curl_easy_strerror(rc));
    else {
        j = json_loadb(body.data ? body.data : "", body.len, 0, NULL);
        if (status != 200) {
            const char *detail = json_string_value(json_object_get(j, "detail"));
            snprintf(err, errlen, "inference tier %s: HTTP %ld%s%s", url.data, status, detail ? ": " : "", detail ? detail : "");
            json_decref(j);
            j = NULL;
        } else if (!json_is_object(j)) {
            snprintf(err, errlen, "inference tier %s: the answer is not a JSON object", url.data);
            json_decref(j);
            j = NULL;
        }
    }
    buf_free(&url);
    buf_free(&body);
    return j;
}

/* {"model", "dim", "embeddings": [[dim floats] x n]} -> *out. */
static int parse_embeddings(ml_remote_t *r, json_t *j, int n, float **out, int *dim, char *err, size_t errlen)
{
    json_t *e = json_object_get(j, "embeddings");
    json_int_t d = json_integer_value(json_object_get(j, "dim"));
    if (!json_is_array(e) || (int)json_array_size(e) != n || d <= 0 || d > 65536) {
        snprintf(err, errlen, "inference tier: malformed embeddings answer");
        return -1;
    }
    float *v = xmalloc((size_t)n * (size_t)d * sizeof *v);
    for (int i = 0; i < n; i++) {
        json_t *row = json_array_get(e, (size_t)i);
        if (!json_is_array(row) || (json_int_t)json_array_size(row) != d) {
            free(v);
            snprintf(err, errlen, "inference tier: embedding %d has the wrong size", i);
            return -1;
        }
        for (json_int_t k = 0; k < d; k++) {
            json_t *x = json_array_get(row, (size_t)k);
            if (!json_is_number(x)) { free(v); snprintf(err, errlen, "inference tier: non-numeric embedding"); return -1; }
            v[(size_t)i * d + k] = (float)json_number_value(x);
        }
    }
    const char *model = json_string_value(json_object_get(j, "model"));
    if (model) snprintf(r->model, sizeof r->model, "%s", model);
    r->dim = (int)d;
    *out = v;
    *dim = (int)d;
    return 0;
}

static curl_mime *tensor_mime(CURL *c, const float *pixels, int n, int size)
{
    curl_mime *m = curl_mime_init(c);
    size_t one = (size_t)3 * size * size * sizeof(float);
    for (int i = 0; i < n; i++) {
        curl_mimepart *p = curl_mime_addpart(m);
        curl_mime_name(p, "file");
        curl_mime_filename(p, "tensor.f32");
        curl_mime_type(p, ML_TENSOR_CONTENT_TYPE);
        curl_mime_data(p, (const char *)(pixels + (size_t)i * 3 * size * size), one);
    }
    return m;
}

int ml_remote_embed_images(ml_remote_t *r, const float *pixels, int n, int size, float **out, int *dim,
                           char *err, size_t errlen)
{
    if (n <= 0 || size <= 0) { snprintf(err, errlen, "no images"); return -1; }
    CURL *c = curl_easy_init();
    if (!c) { snprintf(err, errlen, "cannot initialise libcurl"); return -1; }
    curl_mime *m = tensor_mime(c, pixels, n, size);
    curl_easy_setopt(c, CURLOPT_MIMEPOST, m);
    json_t *j = perform(r, c, "/v1/embed/image", err, errlen);
    int rc = j ? parse_embeddings(r, j, n, out, dim, err, errlen) : -1;
    json_decref(j);
    curl_mime_free(m);
    curl_easy_cleanup(c);
    return rc;
}

int ml_remote_embed_texts(ml_remote_t *r, const char *const *texts, int n, float **out, int *dim,
                          char *err, size_t errlen)
{
    if (n <= 0) { snprintf(err, errlen, "no texts"); return -1; }
    CURL *c = curl_easy_init();
    if (!c) { snprintf(err, errlen, "cannot initialise libcurl"); return -1; }
    json_t *arr = json_array();
    for (int i = 0; i < n; i++) json_array_append_new(arr, json_string(texts[i] ? texts[i] : ""));
    json_t *req = json_pack("{s:o}", "texts", arr);
    char *body = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "{}");
    json_t *j = body ? perform(r, c, "/v1/embed/text", err, errlen) : NULL;
    if (!body) snprintf(err, errlen, "texts are not valid UTF-8");
    int rc = j ? parse_embeddings(r, j, n, out, dim, err, errlen) : -1;
    json_decref(j);
    free(body);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return rc;
}

int ml_remote_classify(ml_remote_t *r, const float *pixels, int size, const char *const *labels, int n,
                       zeroshot_score_t *out, char *err, size_t errlen)
{
    if (n <= 0) { snprintf(err, errlen, "no labels"); return -1; }
    CURL *c = curl_easy_init();
    if (!c) { snprintf(err, errlen, "cannot initialise libcurl"); return -1; }
    curl_mime *m = tensor_mime(c, pixels, 1, size);
    json_t *arr = json_array();
    for (int i = 0; i < n; i++) json_array_append_new(arr, json_string(labels[i] ? labels[i] : ""));
    char *lj = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    curl_mimepart *p = curl_mime_addpart(m);
    curl_mime_name(p, "labels");
    curl_mime_data(p, lj ? lj : "[]", CURL_ZERO_TERMINATED);
    curl_easy_setopt(c, CURLOPT_MIMEPOST, m);
    json_t *j = perform(r, c, "/v1/classify", err, errlen);
    int rc = -1;
    json_t *ls = json_object_get(j, "labels");
    if (j && json_is_array(ls) && (int)json_array_size(ls) == n) {
        rc = 0;
        for (int i = 0; i < n && rc == 0; i++) {
            json_t *e = json_array_get(ls, (size_t)i);
            const char *label = json_string_value(json_object_get(e, "label"));
            json_t *score = json_object_get(e, "score");
            int idx = -1;
            /* map the label back to the caller's index (first unused match) */
            for (int k = 0; label && k < n && idx < 0; k++) {
                if (strcmp(labels[k] ? labels[k] : "", label)) continue;
                int used = 0;
                for (int q = 0; q < i; q++) used |= out[q].index == k;
                if (!used) idx = k;
            }
            if (idx < 0 || !json_is_number(score)) { rc = -1; break; }
            out[i] = (zeroshot_score_t){idx, (float)json_number_value(score)};
        }
        if (rc) snprintf(err, errlen, "inference tier: malformed classify answer");
    } else if (j) snprintf(err, errlen, "inference tier: malformed classify answer");
    json_decref(j);
    free(lj);
    curl_mime_free(m);
    curl_easy_cleanup(c);
    return rc;
}

int ml_remote_info(ml_remote_t *r, char *err, size_t errlen)
{
    CURL *c = curl_easy_init();
    if (!c) { snprintf(err, errlen, "cannot initialise libcurl"); return -1; }
    json_t *j = perform(r, c, "/v1/models", err, errlen);
    json_t *clip = json_object_get(j, "clip");
    int rc = -1;
    json_int_t dim = json_integer_value(json_object_get(clip, "dim"));
    json_int_t size = json_integer_value(json_object_get(clip, "image_size"));
    const char *model = json_string_value(json_object_get(clip, "model"));
    if (j && (!json_is_object(clip) || !json_is_true(json_object_get(clip, "loaded"))))
        snprintf(err, errlen, "inference tier %s has no CLIP model loaded", r->base_url);
    else if (j && (dim <= 0 || dim > 65536 || size <= 0 || size > 4096 || !model))
        snprintf(err, errlen, "inference tier: malformed /v1/models answer");
    else if (j) {
        snprintf(r->model, sizeof r->model, "%s", model);
        r->dim = (int)dim;
        r->image_size = (int)size;
        rc = 0;
    }
    json_decref(j);
    curl_easy_cleanup(c);
    return rc;
}
