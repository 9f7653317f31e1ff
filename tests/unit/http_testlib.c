/* http_testlib.c — see http_testlib.h. */
#include "http_testlib.h"
#include "core/str.h"
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
    buf_append(ud, p, sz * n);
    return sz * n;
}

int hreq(int port, const char *method, const char *path, const char *const *headers,
         const void *body, size_t len, hres_t *out)
{
    memset(out, 0, sizeof *out);
    CURL *c = curl_easy_init();
    if (!c) return -1;
    char url[2048];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    curl_easy_setopt(c, CURLOPT_PROXY, "");
    if (!strcmp(method, "HEAD")) curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    else curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    struct curl_slist *hl = NULL;
    hl = curl_slist_append(hl, "Expect:");
    for (int i = 0; headers && headers[i]; i++) hl = curl_slist_append(hl, headers[i]);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &out->body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &out->headers);
    out->curl_rc = (int)curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    if (!out->body.data) buf_puts(&out->body, "");
    return out->curl_rc ? -1 : 0;
}

const char *hres_header(hres_t *r, const char *name)
{
    const char *found = NULL;
    size_t nl = strlen(name);
    for (const char *p = r->headers.data; p && *p;) {
        const char *e = strstr(p, "\r\n");
        size_t L = e ? (size_t)(e - p) : strlen(p);
        if (L > nl && p[nl] == ':' && !strncasecmp(p, name, nl)) {
            const char *v = p + nl + 1;
            while (*v == ' ') v++;
            size_t vl = (size_t)(p + L - v);
            if (vl >= sizeof r->hv) vl = sizeof r->hv - 1;
            memcpy(r->hv, v, vl);
            r->hv[vl] = 0;
            found = r->hv;
        }
        p = e ? e + 2 : p + L;
    }
    return found;
}

void hres_free(hres_t *r)
{
    buf_free(&r->body);
    buf_free(&r->headers);
}

http_config_t htest_config(void)
{
    return (http_config_t){
        .host = "127.0.0.1", .port = 0, .threads = 2, .max_body_bytes = 1024,
        .max_upload_bytes = 64 * 1024, .upload_tmp_dir = "/tmp", .timeout_s = 10,
        .cors_origins = "*", .rate_limit = true, .authenticate = htest_auth,
        .stop_timeout_ms = 2000,
    };
}

int htest_auth(const char *token, http_principal_t *p, void *ud)
{
    (void)ud;
    int64_t id;
    if (!strncmp(token, "user-", 5) && str_to_i64(token + 5, &id) && id > 0) {
        p->user_id = id;
        p->email = "user@example.com";
        return 0;
    }
    if (!strncmp(token, "admin-", 6) && str_to_i64(token + 6, &id) && id > 0) {
        p->user_id = id;
        p->is_admin = true;
        p->email = "admin@example.com";
        return 0;
    }
    return -1;
}
