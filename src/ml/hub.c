/* hub.c — downloads with resume and checksum, and the manifest (see hub.h). */
#include "ml/hub.h"
#include "core/buf.h"
#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int hub_sha256_file(const char *path, char hex[65], size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    unsigned char *chunk = xmalloc(1 << 20);
    size_t n, total = 0;
    while ((n = fread(chunk, 1, 1 << 20, f)) > 0) { EVP_DigestUpdate(ctx, chunk, n); total += n; }
    int bad = ferror(f);
    fclose(f);
    free(chunk);
    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_DigestFinal_ex(ctx, md, &mdlen);
    EVP_MD_CTX_free(ctx);
    if (bad) return -1;
    for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", md[i]);
    if (size) *size = total;
    return 0;
}

typedef struct {
    FILE       *out;
    char        sha[65];          /* expected digest from the headers, "" when unknown */
    long        status;
    FILE       *progress;
    const char *name;
    curl_off_t  base;             /* bytes already on disk before this request */
    double      started;
    double      last_draw;
} transfer_t;

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

/* A 64-hex ETag (quotes and W/ stripped) is the file's SHA-256. */
static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
    transfer_t *t = arg;
    size_t len = size * n;
    if (len > 9 && !strncmp(p, "HTTP/", 5)) {
        /* A status line (one per response when redirects are followed). A 200 to a ranged
         * request means the server ignored Range: start the part file over. */
        const char *sp = memchr(p, ' ', len);
        t->status = sp ? strtol(sp + 1, NULL, 10) : 0;
        if (t->status == 200 && t->base > 0 && t->out) {
            fflush(t->out);
            if (ftruncate(fileno(t->out), 0) != 0) return 0;
            t->base = 0;
        }
        return len;
    }
    const char *names[] = {"x-linked-etag:", "etag:"};
    for (int k = 0; k < 2; k++) {
        size_t nl = strlen(names[k]);
        if (len > nl && !strncasecmp(p, names[k], nl)) {
            const char *v = p + nl, *end = p + len;
            while (v < end && (*v == ' ' || *v == '\t')) v++;
            if (end - v >= 2 && !strncmp(v, "W/", 2)) v += 2;
            if (v < end && *v == '"') v++;
            size_t h = 0;
            while (v + h < end && isxdigit((unsigned char)v[h])) h++;
            if (h == 64 && (k == 0 || !t->sha[0])) {
                for (int i = 0; i < 64; i++) t->sha[i] = (char)tolower((unsigned char)v[i]);
                t->sha[64] = '\0';
            }
        }
    }
    return len;
}

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
    transfer_t *t = arg;
    if (t->status / 100 != 2) return size * n;     /* error and redirect bodies are not data */
    return fwrite(p, size, n, t->out) * size;
}

static void draw(transfer_t *t, curl_off_t now_bytes, curl_off_t total, int final)
{
    double tnow = now_s();
    if (!final && tnow - t->last_draw < 0.1) return;
    t->last_draw = tnow;
    double done = (double)(t->base + now_bytes), all = total > 0 ? (double)(t->base + total) : 0;
    double rate = (double)now_bytes / (tnow - t->started > 1e-3 ? tnow - t->started : 1e-3);
    int width = 30, fill = all > 0 ? (int)(width * done / all) : 0;
    char bar[31];
    for (int i = 0; i < width; i++) bar[i] = i < fill ? '#' : '.';
    bar[width] = '\0';
    if (all > 0)
        fprintf(t->progress, "\r  %-24.24s [%s] %3d%% %8.1f/%.1f MB %6.1f MB/s", t->name, bar,
                (int)(100 * done / all), done / 1e6, all / 1e6, rate / 1e6);
    else
        fprintf(t->progress, "\r  %-24.24s %8.1f MB %6.1f MB/s", t->name, done / 1e6, rate / 1e6);
    if (final) fputc('\n', t->progress);
    fflush(t->progress);
}

static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ut, curl_off_t un)
{
    transfer_t *t = arg;
    if (t->progress && t->status / 100 == 2) draw(t, dlnow, dltotal, 0);
    return 0;
}

/* Validates a repo / file name: no "..", no absolute paths, no control characters. */
static int safe_name(const char *s, int allow_slash)
{
    if (!s || !*s || s[0] == '/' || strstr(s, "..")) return 0;
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == '\\' || *p == '?' || *p == '#' || *p == '%' || *p == ' ' ||
            (!allow_slash && *p == '/'))
            return 0;
    return 1;
}

static int mkdirs(const char *dir)
{
    char *p = xstrdup(dir);
    for (char *s = p + 1; *s; s++)
        if (*s == '/') { *s = '\0'; mkdir(p, 0755); *s = '/'; }
    int rc = mkdir(p, 0755) == 0 || errno == EEXIST ? 0 : -1;
    free(p);
    return rc;
}

/* One attempt: GET with Range from the part file's size. Returns 0 done, 1 retryable, -1 fatal. */
static int fetch_once(CURL *c, const char *url, const char *part, transfer_t *t, long timeout,
                      char *err, size_t errlen)
{
    struct stat st;
    curl_off_t have = stat(part, &st) == 0 ? (curl_off_t)st.st_size : 0;
    FILE *f = fopen(part, "ab");
    if (!f) { snprintf(err, errlen, "%s: %s", part, strerror(errno)); return -1; }
    t->sha[0] = '\0';
    t->status = 0;
    t->base = have;
    t->started = now_s();
    char range[64];
    snprintf(range, sizeof range, "%lld-", (long long)have);
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "rodeo-models/1");
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 20L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, timeout);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, t);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, t);
    if (have > 0) curl_easy_setopt(c, CURLOPT_RANGE, range);
    if (getenv("RODEO_HUB_DEBUG")) curl_easy_setopt(c, CURLOPT_VERBOSE, 1L);
    const char *token = getenv("HF_TOKEN");
    struct curl_slist *hdr = NULL;
    if (token && *token) {
        buf_t h = {0};
        buf_printf(&h, "Authorization: Bearer %s", token);
        hdr = curl_slist_append(hdr, h.data);
        buf_free(&h);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    }
    t->out = f;
    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &t->status);
    curl_slist_free_all(hdr);
    if (fclose(f) != 0 && rc == CURLE_OK) { snprintf(err, errlen, "%s: write failed", part); return -1; }
    if (t->status == 416 && have > 0) return 0;        /* nothing left to fetch */
    if (t->status >= 400) {
        snprintf(err, errlen, "%s: HTTP %ld", url, t->status);
        return t->status >= 500 ? 1 : -1;
    }
    if (rc != CURLE_OK) {
        snprintf(err, errlen, "%s: %s", url, curl_easy_strerror(rc));
        return 1;
    }
    return 0;
}

static json_t *manifest_load(const char *dest)
{
    buf_t p = {0};
    buf_printf(&p, "%s/%s", dest, HUB_MANIFEST);
    json_t *m = json_load_file(p.data, 0, NULL);
    buf_free(&p);
    if (!json_is_object(m)) { if (m) json_decref(m); m = json_object(); }
    if (!json_is_object(json_object_get(m, "files"))) json_object_set_new(m, "files", json_object());
    return m;
}

static int manifest_save(const char *dest, json_t *m)
{
    buf_t p = {0}, tmp = {0};
    buf_printf(&p, "%s/%s", dest, HUB_MANIFEST);
    buf_printf(&tmp, "%s.tmp", p.data);
    int rc = json_dump_file(m, tmp.data, JSON_INDENT(1) | JSON_SORT_KEYS);
    if (rc == 0) rc = rename(tmp.data, p.data);
    buf_free(&p);
    buf_free(&tmp);
    return rc;
}

int hub_pull(const hub_pull_opts_t *o, const char *const *files, char *err, size_t errlen)
{
    const char *endpoint = o->endpoint ? o->endpoint : getenv("HF_ENDPOINT");
    if (!endpoint || !*endpoint) endpoint = HUB_DEFAULT_ENDPOINT;
    const char *rev = o->revision ? o->revision : "main";
    if (!safe_name(o->repo, 1) || !safe_name(rev, 0)) {
        snprintf(err, errlen, "invalid repository or revision name");
        return -1;
    }
    if (mkdirs(o->dest) != 0) { snprintf(err, errlen, "%s: %s", o->dest, strerror(errno)); return -1; }
    size_t elen = strlen(endpoint);
    while (elen > 0 && endpoint[elen - 1] == '/') elen--;
    CURL *c = curl_easy_init();
    if (!c) { snprintf(err, errlen, "cannot initialise libcurl"); return -1; }
    json_t *man = manifest_load(o->dest);
    json_object_set_new(man, "repo", json_string(o->repo));
    json_object_set_new(man, "revision", json_string(rev));
    int rc = 0;
    for (int i = 0; files[i] && rc == 0; i++) {
        if (!safe_name(files[i], 0)) { snprintf(err, errlen, "invalid file name '%s'", files[i]); rc = -1; break; }
        buf_t url = {0}, part = {0}, final = {0};
        buf_printf(&url, "%.*s/%s/resolve/%s/%s", (int)elen, endpoint, o->repo, rev, files[i]);
        buf_printf(&final, "%s/%s", o->dest, files[i]);
        buf_printf(&part, "%s.part", final.data);
        transfer_t t = {.progress = o->progress, .name = files[i]};
        int tries = o->retries > 0 ? o->retries : 3, r = 1;
        char expected[65] = "";
        for (int a = 0; a <= tries && r == 1; a++) {
            r = fetch_once(c, url.data, part.data, &t, o->timeout_s > 0 ? o->timeout_s : 60, err, errlen);
            if (t.sha[0]) memcpy(expected, t.sha, 65);
            if (r == 1 && o->progress) fprintf(o->progress, "\n  %s: transfer interrupted, resuming\n", files[i]);
        }
        if (r != 0) { rc = -1; goto next; }
        char hex[65];
        size_t size = 0;
        if (hub_sha256_file(part.data, hex, &size) != 0) {
            snprintf(err, errlen, "%s: cannot read", part.data);
            rc = -1;
            goto next;
        }
        if (o->progress) { t.base = 0; draw(&t, (curl_off_t)size, (curl_off_t)size, 1); }
        if (expected[0] && strcmp(expected, hex)) {
            unlink(part.data);
            snprintf(err, errlen, "%s: SHA-256 mismatch (expected %s, got %s); the partial file was removed",
                     files[i], expected, hex);
            rc = -1;
            goto next;
        }
        if (rename(part.data, final.data) != 0) {
            snprintf(err, errlen, "%s: %s", final.data, strerror(errno));
            rc = -1;
            goto next;
        }
        json_t *e = json_object();
        json_object_set_new(e, "size", json_integer((json_int_t)size));
        json_object_set_new(e, "sha256", json_string(hex));
        json_object_set_new(e, "verified_against_hub", json_boolean(expected[0] != 0));
        json_object_set_new(json_object_get(man, "files"), files[i], e);
        if (manifest_save(o->dest, man) != 0) {
            snprintf(err, errlen, "%s: cannot write %s", o->dest, HUB_MANIFEST);
            rc = -1;
        }
    next:
        buf_free(&url);
        buf_free(&part);
        buf_free(&final);
    }
    json_decref(man);
    curl_easy_cleanup(c);
    if (rc == 0 && errlen) err[0] = '\0';      /* retried failures are not the outcome */
    return rc;
}

int hub_verify(const char *dir, FILE *out, char *err, size_t errlen)
{
    buf_t p = {0};
    buf_printf(&p, "%s/%s", dir, HUB_MANIFEST);
    json_error_t jerr;
    json_t *m = json_load_file(p.data, 0, &jerr);
    buf_free(&p);
    json_t *files = m ? json_object_get(m, "files") : NULL;
    if (!json_is_object(files)) {
        snprintf(err, errlen, "%s: no %s (pull the model with `rodeo models pull`)", dir, HUB_MANIFEST);
        if (m) json_decref(m);
        return -1;
    }
    int bad = 0;
    const char *name;
    json_t *e;
    json_object_foreach(files, name, e) {
        const char *want = json_string_value(json_object_get(e, "sha256"));
        json_int_t want_size = json_integer_value(json_object_get(e, "size"));
        buf_t fp = {0};
        buf_printf(&fp, "%s/%s", dir, name);
        char hex[65];
        size_t size;
        const char *status = "ok";
        if (!safe_name(name, 0) || !want) status = "bad manifest entry";
        else if (hub_sha256_file(fp.data, hex, &size) != 0) status = "missing";
        else if ((json_int_t)size != want_size) status = "wrong size";
        else if (strcmp(hex, want)) status = "SHA-256 mismatch";
        if (strcmp(status, "ok")) bad++;
        if (out) fprintf(out, "  %-28s %s\n", name, status);
        buf_free(&fp);
    }
    json_decref(m);
    return bad;
}
