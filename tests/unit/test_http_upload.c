/* test_http_upload.c — multipart/form-data uploads: files to temp files (0600, removed after
 * the handler unless renamed), fields in memory, the total cap enforced while streaming
 * (413, temp files gone), and malformed / missing multipart bodies. */
#include "test.h"
#include "http_testlib.h"
#include "http/http.h"
#include "core/log.h"
#include <curl/curl.h>
#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char seen_path[512];
static char keep_to[512];
static mode_t seen_mode;

/* Reports every part as JSON: name, filename, content_type, size, value or file content. */
static void h_upload(http_req_t *req, http_resp_t *resp)
{
    const http_part_t *parts;
    size_t n = http_req_parts(req, &parts);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        const http_part_t *p = &parts[i];
        json_t *o = json_pack("{s:s, s:s?, s:s?, s:I}", "name", p->name, "filename", p->filename,
                              "content_type", p->content_type, "size", (json_int_t)p->size);
        if (p->path) {
            FILE *f = fopen(p->path, "rb");
            char buf[256] = "";
            size_t got = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
            buf[got] = 0;
            if (f) fclose(f);
            json_object_set_new(o, "content", json_string(buf));
            struct stat st;
            if (stat(p->path, &st) == 0) seen_mode = st.st_mode & 0777;
            snprintf(seen_path, sizeof seen_path, "%s", p->path);
            if (keep_to[0]) rename(p->path, keep_to);
        } else {
            json_object_set_new(o, "value", json_string(p->value));
        }
        json_array_append_new(arr, o);
    }
    const http_part_t *f = http_req_part(req, "file");
    http_resp_header(resp, "X-Has-File", f && f->path ? "yes" : "no");
    http_resp_json(resp, 200, arr);
}

static const http_route_t routes[] = {
    {"POST", "/api/upload", h_upload, HTTP_AUTH_NONE, 0, HTTP_ROUTE_UPLOAD},
};

static int count_files(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.') n++;
    if (d) closedir(d);
    return n;
}

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
    buf_append(ud, p, sz * n);
    return sz * n;
}

/* Posts a form: file part "file" with fdata/flen (if fdata), plus field pairs. */
static long post_form(int port, const char *fdata, size_t flen, const char *const *fields,
                      buf_t *body, char *has_file)
{
    CURL *c = curl_easy_init();
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/api/upload", port);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROXY, "");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_mime *mime = curl_mime_init(c);
    if (fdata) {
        curl_mimepart *p = curl_mime_addpart(mime);
        curl_mime_name(p, "file");
        curl_mime_filename(p, "photo.jpg");
        curl_mime_type(p, "image/jpeg");
        curl_mime_data(p, fdata, flen);
    }
    for (int i = 0; fields && fields[i]; i += 2) {
        curl_mimepart *p = curl_mime_addpart(mime);
        curl_mime_name(p, fields[i]);
        curl_mime_data(p, fields[i + 1], CURL_ZERO_TERMINATED);
    }
    curl_easy_setopt(c, CURLOPT_MIMEPOST, mime);
    buf_t hdrs = {0};
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &hdrs);
    curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (has_file) *has_file = hdrs.data && strstr(hdrs.data, "X-Has-File: yes") ? 'y' : 'n';
    buf_free(&hdrs);
    curl_mime_free(mime);
    curl_easy_cleanup(c);
    if (!body->data) buf_puts(body, "");
    return status;
}

static http_server_t *start(const char *dir, int *port)
{
    log_set_level(LOG_ERROR);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    http_config_t cfg = htest_config();
    cfg.upload_tmp_dir = dir;          /* 64 KiB upload cap */
    char err[256];
    http_server_t *srv = http_server_start(&cfg, routes, 1, err, sizeof err);
    if (srv) *port = http_server_port(srv);
    return srv;
}

TEST(http_upload_files_and_fields)
{
    char *dir = test_tmpdir();
    int port;
    http_server_t *srv = start(dir, &port);
    REQUIRE(srv);
    keep_to[0] = 0;
    buf_t body = {0};
    const char *fields[] = {"include_prices", "true", "note", "caf\xc3\xa9", NULL};
    char has_file;
    long st = post_form(port, "JPEGDATA\x01\x02", 10, fields, &body, &has_file);
    CHECK_INT(st, 200);
    CHECK(has_file == 'y');
    json_t *j = json_loads(body.data, 0, NULL);
    REQUIRE(j && json_array_size(j) == 3);
    json_t *f = json_array_get(j, 0);
    CHECK_STR(json_string_value(json_object_get(f, "name")), "file");
    CHECK_STR(json_string_value(json_object_get(f, "filename")), "photo.jpg");
    CHECK_STR(json_string_value(json_object_get(f, "content_type")), "image/jpeg");
    CHECK_INT(json_integer_value(json_object_get(f, "size")), 10);
    CHECK_STR(json_string_value(json_object_get(f, "content")), "JPEGDATA\x01\x02");
    CHECK_STR(json_string_value(json_object_get(json_array_get(j, 1), "value")), "true");
    CHECK_STR(json_string_value(json_object_get(json_array_get(j, 2), "value")), "caf\xc3\xa9");
    json_decref(j);
    CHECK_INT(seen_mode, 0600);
    CHECK(strncmp(seen_path, dir, strlen(dir)) == 0);
    /* the temp file is gone once the response is out */
    usleep(50000);
    CHECK(access(seen_path, F_OK) != 0);
    CHECK_INT(count_files(dir), 0);
    buf_free(&body);

    /* a handler that renames the file keeps it */
    snprintf(keep_to, sizeof keep_to, "%s/kept.jpg", dir);
    st = post_form(port, "KEEP", 4, NULL, &body, NULL);
    CHECK_INT(st, 200);
    usleep(50000);
    CHECK(access(keep_to, F_OK) == 0);
    CHECK_INT(count_files(dir), 1);
    unlink(keep_to);
    keep_to[0] = 0;
    buf_free(&body);

    /* an empty file part: reported with size 0 (an empty temp file) */
    st = post_form(port, "", 0, fields, &body, &has_file);
    CHECK_INT(st, 200);
    CHECK(has_file == 'y');
    j = json_loads(body.data, 0, NULL);
    CHECK(j && json_array_size(j) == 3);
    CHECK(json_integer_value(json_object_get(json_array_get(j, 0), "size")) == 0);
    CHECK_STR(json_string_value(json_object_get(json_array_get(j, 0), "content")), "");
    CHECK_STR(json_string_value(json_object_get(json_array_get(j, 2), "value")), "caf\xc3\xa9");
    json_decref(j);
    buf_free(&body);
    /* a large (but allowed) file */
    char *big = malloc(60000);
    for (int i = 0; i < 60000; i++) big[i] = (char)('a' + i % 26);
    st = post_form(port, big, 60000, NULL, &body, NULL);
    CHECK_INT(st, 200);
    j = json_loads(body.data, 0, NULL);
    CHECK(j && json_integer_value(json_object_get(json_array_get(j, 0), "size")) == 60000);
    json_decref(j);
    buf_free(&body);
    free(big);
    http_server_stop(srv);
    CHECK_INT(count_files(dir), 0);
    free(dir);
}

TEST(http_upload_cap_and_cleanup)
{
    char *dir = test_tmpdir();
    int port;
    http_server_t *srv = start(dir, &port);
    REQUIRE(srv);
    keep_to[0] = 0;
    /* 200 KiB file against a 64 KiB cap: 413, no temp file left behind */
    size_t n = 200 * 1024;
    char *big = malloc(n);
    memset(big, 'z', n);
    buf_t body = {0};
    long st = post_form(port, big, n, NULL, &body, NULL);
    CHECK_INT(st, 413);
    CHECK(strstr(body.data, "payload_too_large") != NULL);
    buf_free(&body);
    /* the same, chunked (no Content-Length): the cap applies while streaming */
    const char *chunked[] = {"Transfer-Encoding: chunked",
                             "Content-Type: multipart/form-data; boundary=XyZ", NULL};
    buf_t mp = {0};
    buf_puts(&mp, "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.bin\"\r\n"
                  "Content-Type: application/octet-stream\r\n\r\n");
    buf_append(&mp, big, n);
    buf_puts(&mp, "\r\n--XyZ--\r\n");
    hres_t r;
    hreq(port, "POST", "/api/upload", chunked, mp.data, mp.len, &r);
    CHECK_INT(r.status, 413);
    hres_free(&r);
    buf_free(&mp);
    usleep(50000);
    CHECK_INT(count_files(dir), 0);
    free(big);

    /* an oversized plain field */
    char *field = malloc(70000);
    memset(field, 'f', 69999);
    field[69999] = 0;
    const char *fields[] = {"comment", field, NULL};
    st = post_form(port, NULL, 0, fields, &body, NULL);
    CHECK_INT(st, 413);
    buf_free(&body);
    free(field);
    http_server_stop(srv);
    CHECK_INT(count_files(dir), 0);
    free(dir);
}

TEST(http_upload_malformed)
{
    char *dir = test_tmpdir();
    int port;
    http_server_t *srv = start(dir, &port);
    REQUIRE(srv);
    hres_t r;
    /* not multipart at all */
    const char *json[] = {"Content-Type: application/json", NULL};
    hreq(port, "POST", "/api/upload", json, "{}", 2, &r);
    CHECK_INT(r.status, 400);
    CHECK(strstr(r.body.data, "\"code\":\"bad_request\"") != NULL);
    hres_free(&r);
    hreq(port, "POST", "/api/upload", NULL, NULL, 0, &r);
    CHECK_INT(r.status, 400);
    hres_free(&r);
    /* multipart without a boundary */
    const char *nob[] = {"Content-Type: multipart/form-data", NULL};
    hreq(port, "POST", "/api/upload", nob, "x", 1, &r);
    CHECK_INT(r.status, 400);
    hres_free(&r);
    /* garbage / truncated bodies with a boundary */
    const char *mp[] = {"Content-Type: multipart/form-data; boundary=B", NULL};
    const char *bodies[] = {
        "garbage without any boundary",
        "--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x\"\r\n\r\nabc",  /* truncated */
        "",
    };
    for (int i = 0; i < 3; i++) {
        hreq(port, "POST", "/api/upload", mp, bodies[i], strlen(bodies[i]), &r);
        CHECK_INT(r.status, 400);
        CHECK(strstr(r.body.data, "\"detail\"") != NULL);
        hres_free(&r);
    }
    usleep(50000);
    CHECK_INT(count_files(dir), 0);
    http_server_stop(srv);
    free(dir);
}
