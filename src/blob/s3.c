/* s3.c — S3-compatible blob backend over libcurl. libcurl signs each request with AWS
 * SigV4 (CURLOPT_AWS_SIGV4); we supply x-amz-content-sha256 ourselves because for a
 * content-addressed store the payload hash is known before reading a byte: the key. */
#include "blob/blob.h"
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

typedef struct {
    blob_store_t base;
    char *endpoint, *bucket, *region, *userpwd, *prefix, *public_url, *sigv4;
    long timeout_ms;
} s3_store_t;

typedef struct {              /* request body source: a FILE or a memory range */
    FILE *f;
    const char *data;
    size_t len, off;
} body_src_t;

typedef struct {              /* response sink with a size cap */
    buf_t *out;
    size_t max, start;
    int too_large;
} body_dst_t;

static size_t on_read(char *ptr, size_t size, size_t n, void *ud)
{
    body_src_t *src = ud;
    size_t want = size * n;
    if (src->f) return fread(ptr, 1, want, src->f);
    size_t left = src->len - src->off;
    if (want > left) want = left;
    memcpy(ptr, src->data + src->off, want);
    src->off += want;
    return want;
}

static size_t on_write(char *ptr, size_t size, size_t n, void *ud)
{
    body_dst_t *dst = ud;
    size_t got = size * n;
    if (!dst->out) return got;
    if (dst->max && dst->out->len - dst->start + got > dst->max) { dst->too_large = 1; return 0; }
    buf_append(dst->out, ptr, got);
    return got;
}

/* One signed request. method: GET/PUT/HEAD/DELETE; src for PUT; out for GET bodies (and
 * error bodies, which are then discarded). Returns the HTTP status, or -1 with err set. */
static long s3_request(s3_store_t *st, const char *method, const char *key, body_src_t *src,
                       curl_off_t src_len, buf_t *out, size_t max_bytes, int *too_large,
                       char *err, size_t cap)
{
    CURL *c = curl_easy_init();
    if (!c) { if (err) snprintf(err, cap, "s3: curl init failed"); return -1; }
    buf_t url = {0}, hdr = {0}, errbody = {0};
    buf_printf(&url, "%s/%s/%s%s", st->endpoint, st->bucket, st->prefix, key);
    buf_printf(&hdr, "x-amz-content-sha256: %s", src ? key : EMPTY_SHA256);
    struct curl_slist *headers = curl_slist_append(NULL, hdr.data);
    headers = curl_slist_append(headers, "Expect:");
    body_dst_t dst = {out ? out : &errbody, max_bytes, out ? out->len : 0, 0};
    curl_easy_setopt(c, CURLOPT_URL, url.data);
    curl_easy_setopt(c, CURLOPT_AWS_SIGV4, st->sigv4);
    curl_easy_setopt(c, CURLOPT_USERPWD, st->userpwd);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, st->timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &dst);
    if (!strcmp(method, "PUT")) {
        curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(c, CURLOPT_READDATA, src);
        curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, src_len);
    } else if (!strcmp(method, "HEAD")) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (strcmp(method, "GET")) {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    }
    CURLcode rc = curl_easy_perform(c);
    long status = -1;
    if (rc == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        if (status >= 300 && out) {            /* an error document is not the object */
            buf_append(&errbody, out->data + dst.start, out->len - dst.start);
            out->len = dst.start;
            out->data[out->len] = 0;
        }
        if (status >= 300 && err) {
            const char *code = errbody.data ? strstr(errbody.data, "<Code>") : NULL;
            const char *end = code ? strstr(code, "</Code>") : NULL;
            snprintf(err, cap, "s3 %s: HTTP %ld %.*s", method, status,
                     code && end ? (int)(end - code - 6) : 0, code && end ? code + 6 : "");
        }
    } else if (dst.too_large) {
        if (too_large) *too_large = 1;
        if (out) { out->len = dst.start; out->data[out->len] = 0; }
        if (err) snprintf(err, cap, "s3 %s: object larger than allowed", method);
    } else if (err) {
        snprintf(err, cap, "s3 %s: %s", method, curl_easy_strerror(rc));
    }
    curl_slist_free_all(headers);
    curl_easy_cleanup(c);
    buf_free(&url);
    buf_free(&hdr);
    buf_free(&errbody);
    return status;
}

static int status_to_rc(long status)
{
    if (status >= 200 && status < 300) return BLOB_OK;
    return status == 404 ? BLOB_ERR_NOT_FOUND : BLOB_ERR_IO;
}

static int s3_exists(blob_store_t *s, const char *key)
{
    return s3_request((s3_store_t *)s, "HEAD", key, NULL, 0, NULL, 0, NULL, NULL, 0) == 200;
}

static int s3_upload(s3_store_t *st, const char *key, body_src_t *src, curl_off_t len, char *err, size_t cap)
{
    if (s3_exists(&st->base, key)) return BLOB_OK;
    char msg[256] = "";
    long status = s3_request(st, "PUT", key, src, len, NULL, 0, NULL, msg, sizeof msg);
    if (err && cap) snprintf(err, cap, "%s", msg);
    /* S3 answers 400 XAmzContentSHA256Mismatch (or BadDigest) when bytes != key. */
    if (status == 400 && (strstr(msg, "SHA256Mismatch") || strstr(msg, "BadDigest")))
        return BLOB_ERR_MISMATCH;
    return status_to_rc(status);
}

static int s3_put(blob_store_t *s, const char *key, const void *data, size_t len, char *err, size_t cap)
{
    body_src_t src = {NULL, data, len, 0};
    return s3_upload((s3_store_t *)s, key, &src, (curl_off_t)len, err, cap);
}

static int s3_put_file(blob_store_t *s, const char *key, const char *path, char *err, size_t cap)
{
    FILE *f = fopen(path, "rb");
    struct stat sb;
    if (!f || fstat(fileno(f), &sb) != 0) {
        if (err) snprintf(err, cap, "blob source: cannot open %s", path);
        if (f) fclose(f);
        return BLOB_ERR_IO;
    }
    body_src_t src = {f, NULL, 0, 0};
    int rc = s3_upload((s3_store_t *)s, key, &src, (curl_off_t)sb.st_size, err, cap);
    fclose(f);
    return rc;
}

static int s3_get(blob_store_t *s, const char *key, size_t max_bytes, buf_t *out, char *err, size_t cap)
{
    int too_large = 0;
    long status = s3_request((s3_store_t *)s, "GET", key, NULL, 0, out, max_bytes, &too_large, err, cap);
    if (too_large) return BLOB_ERR_TOO_LARGE;
    return status_to_rc(status);
}

static int s3_remove(blob_store_t *s, const char *key, char *err, size_t cap)
{
    if (!s3_exists(s, key)) {
        if (err) snprintf(err, cap, "blob remove: no such object");
        return BLOB_ERR_NOT_FOUND;
    }
    return status_to_rc(s3_request((s3_store_t *)s, "DELETE", key, NULL, 0, NULL, 0, NULL, err, cap));
}

static char *s3_url(blob_store_t *s, const char *key)
{
    s3_store_t *st = (s3_store_t *)s;
    buf_t b = {0};
    buf_printf(&b, "%s/%s%s", st->public_url, st->prefix, key);
    return buf_steal(&b);
}

static void s3_close(blob_store_t *s)
{
    s3_store_t *st = (s3_store_t *)s;
    free(st->endpoint); free(st->bucket); free(st->region); free(st->userpwd);
    free(st->prefix); free(st->public_url); free(st->sigv4);
    free(st);
    curl_global_cleanup();
}

static const blob_ops_t s3_ops = {
    "s3", s3_put, s3_put_file, s3_get, s3_remove, s3_exists, s3_url, s3_close, NULL,
};

blob_store_t *blob_s3_open(const blob_s3_config_t *cfg, char *err, size_t cap)
{
    if (!cfg || !cfg->endpoint || !cfg->endpoint[0] || !cfg->bucket || !cfg->bucket[0] ||
        !cfg->access_key || !cfg->secret_key || strchr(cfg->bucket, '/')) {
        if (err) snprintf(err, cap, "s3: endpoint, bucket (no '/'), access key and secret key are required");
        return NULL;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        if (err) snprintf(err, cap, "s3: curl_global_init failed");
        return NULL;
    }
    s3_store_t *st = xcalloc(1, sizeof *st);
    st->base.ops = &s3_ops;
    size_t n = strlen(cfg->endpoint);
    while (n > 0 && cfg->endpoint[n - 1] == '/') n--;
    st->endpoint = xstrndup(cfg->endpoint, n);
    st->bucket = xstrdup(cfg->bucket);
    st->region = xstrdup(cfg->region && cfg->region[0] ? cfg->region : "us-east-1");
    st->prefix = xstrdup(cfg->prefix ? cfg->prefix : "");
    buf_t b = {0};
    buf_printf(&b, "%s:%s", cfg->access_key, cfg->secret_key);
    st->userpwd = buf_steal(&b);
    buf_printf(&b, "aws:amz:%s:s3", st->region);
    st->sigv4 = buf_steal(&b);
    if (cfg->public_url && cfg->public_url[0]) buf_puts(&b, cfg->public_url);
    else buf_printf(&b, "%s/%s", st->endpoint, st->bucket);
    st->public_url = buf_steal(&b);
    st->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 30000;
    return &st->base;
}
