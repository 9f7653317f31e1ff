/* test_http_upload_digest.c — the SHA-256 the multipart layer computes while a file part
 * streams to disk: equal to the digest of the bytes as written, for parts that arrive in
 * many pieces (several MB), for two file parts in one body, for an empty file part; plain
 * fields carry none. */
#include "test.h"
#include "http_testlib.h"
#include "http/http.h"
#include "core/crypto.h"
#include "core/log.h"
#include <curl/curl.h>
#include <stdlib.h>

/* Answers [{name, sha256 (null for fields), file_sha256 (re-read from the temp file)}]. */
static void h_digest(http_req_t *req, http_resp_t *resp)
{
    const http_part_t *parts;
    size_t n = http_req_parts(req, &parts);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        const http_part_t *p = &parts[i];
        json_t *o = json_pack("{s:s, s:s?, s:I}", "name", p->name, "sha256", p->sha256, "size", (json_int_t)p->size);
        if (p->path) {
            FILE *f = fopen(p->path, "rb");
            buf_t b = {0};
            char chunk[65536];
            size_t got;
            while (f && (got = fread(chunk, 1, sizeof chunk, f)) > 0) buf_append(&b, chunk, got);
            if (f) fclose(f);
            char hex[65];
            sha256_hex(b.data ? b.data : "", b.len, hex);
            json_object_set_new(o, "file_sha256", json_string(hex));
            buf_free(&b);
        }
        json_array_append_new(arr, o);
    }
    http_resp_json(resp, 200, arr);
}

static const http_route_t routes[] = {
    {"POST", "/api/digest", h_digest, HTTP_AUTH_NONE, 0, HTTP_ROUTE_UPLOAD},
};

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
    buf_append(ud, p, sz * n);
    return sz * n;
}

/* Posts file parts a and b (b may be NULL) plus one plain field; returns the parsed answer. */
static json_t *post(int port, const char *a, size_t alen, const char *b, size_t blen)
{
    CURL *c = curl_easy_init();
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/api/digest", port);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROXY, "");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_mime *mime = curl_mime_init(c);
    curl_mimepart *p = curl_mime_addpart(mime);
    curl_mime_name(p, "file");
    curl_mime_filename(p, "a.bin");
    curl_mime_data(p, a, alen);
    if (b) {
        p = curl_mime_addpart(mime);
        curl_mime_name(p, "other");
        curl_mime_filename(p, "b.bin");
        curl_mime_data(p, b, blen);
    }
    p = curl_mime_addpart(mime);
    curl_mime_name(p, "note");
    curl_mime_data(p, "hello", CURL_ZERO_TERMINATED);
    curl_easy_setopt(c, CURLOPT_MIMEPOST, mime);
    buf_t body = {0};
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
    curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_mime_free(mime);
    curl_easy_cleanup(c);
    json_t *j = status == 200 && body.data ? json_loads(body.data, 0, NULL) : NULL;
    buf_free(&body);
    return j;
}

static void check_part(json_t *o, const char *name, const char *data, size_t len)
{
    char want[65];
    sha256_hex(data, len, want);
    CHECK_STR(json_string_value(json_object_get(o, "name")), name);
    CHECK_INT(json_integer_value(json_object_get(o, "size")), len);
    CHECK_STR(json_string_value(json_object_get(o, "sha256")), want);
    CHECK_STR(json_string_value(json_object_get(o, "file_sha256")), want);
}

TEST(http_upload_digest_streamed)
{
    log_set_level(LOG_ERROR);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    char *dir = test_tmpdir();
    http_config_t cfg = htest_config();
    cfg.upload_tmp_dir = dir;
    cfg.max_upload_bytes = 8u << 20;
    char err[256];
    http_server_t *srv = http_server_start(&cfg, routes, 1, err, sizeof err);
    REQUIRE(srv);
    int port = http_server_port(srv);
    /* 3 MB of varied bytes (boundary-like runs included): reaches the parser in many pieces */
    size_t big = 3u << 20;
    char *a = malloc(big);
    uint64_t x = 88172645463325252ULL;
    for (size_t i = 0; i < big; i++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        a[i] = (i % 4096) < 8 ? '-' : (char)(x >> 24);
    }
    json_t *j = post(port, a, big, "second part", 11);
    REQUIRE(j && json_array_size(j) == 3);
    check_part(json_array_get(j, 0), "file", a, big);
    check_part(json_array_get(j, 1), "other", "second part", 11);
    CHECK(json_is_null(json_object_get(json_array_get(j, 2), "sha256")) ||
          !json_object_get(json_array_get(j, 2), "sha256"));
    json_decref(j);
    /* one byte changed -> another digest; an empty file part -> the empty string's digest */
    a[big / 2] ^= 1;
    j = post(port, a, big, "", 0);
    REQUIRE(j && json_array_size(j) == 3);
    check_part(json_array_get(j, 0), "file", a, big);
    check_part(json_array_get(j, 1), "other", "", 0);
    json_decref(j);
    free(a);
    http_server_stop(srv);
    free(dir);
}
