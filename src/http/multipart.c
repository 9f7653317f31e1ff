/* multipart.c — multipart/form-data uploads parsed while the body arrives.
 * libmicrohttpd's post processor does the MIME parsing; we route its callbacks: file parts
 * (those with a filename) go to a mkstemp file in upload_tmp_dir (0600), plain fields to
 * memory under a small cap. Each file part's SHA-256 is computed as its bytes stream past
 * (they are in cache anyway), so a handler that keys on content (duplicate uploads) never
 * reads the file back. The total body cap is enforced by the server before bytes get
 * here. Temp files are unlinked in upload_cleanup after the handler ran; a handler keeps a
 * file by renaming it away first. */
#include "http/internal.h"
#include "core/crypto.h"
#include "core/log.h"
#include <openssl/evp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define FIELD_CAP  (64 * 1024)
#define MAX_PARTS  64
#define PP_BUFFER  (16 * 1024)

typedef struct {
    char  *name, *filename, *content_type;
    char  *path;         /* temp file (file parts) */
    int    fd;
    EVP_MD_CTX *sha;     /* running SHA-256 of a file part's bytes */
    char   sha256[65];   /* its hex digest once the part is complete */
    buf_t  val;          /* plain fields */
    size_t size;
} upart_t;

struct upload {
    http_req_t *req;
    struct MHD_PostProcessor *pp;
    upart_t parts[MAX_PARTS];
    size_t  nparts;
    int     status;      /* first error */
    const char *code, *detail;
    http_part_t *pub;
};

static int upload_fail(upload_t *u, int status, const char *code, const char *detail)
{
    if (!u->status) { u->status = status; u->code = code; u->detail = detail; }
    return MHD_NO;
}

/* The part is complete: close its file and finish its digest. */
static void part_close_fd(upart_t *p)
{
    if (p->fd >= 0) { close(p->fd); p->fd = -1; }
    if (p->sha) {
        uint8_t md[SHA256_LEN];
        unsigned mdlen = 0;
        if (EVP_DigestFinal_ex(p->sha, md, &mdlen) == 1 && mdlen == SHA256_LEN) hex_encode(md, SHA256_LEN, p->sha256);
        EVP_MD_CTX_free(p->sha);
        p->sha = NULL;
    }
}

static bool same_str(const char *a, const char *b)
{
    if (!a || !b) return a == b;
    return !strcmp(a, b);
}

static enum MHD_Result iterate(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *filename, const char *content_type,
                               const char *transfer_encoding, const char *data, uint64_t off,
                               size_t size)
{
    (void)kind; (void)transfer_encoding;
    upload_t *u = cls;
    if (u->status) return MHD_NO;
    if (!key) key = "";
    upart_t *cur = u->nparts ? &u->parts[u->nparts - 1] : NULL;
    bool fresh = off == 0 && (!cur || cur->size > 0 || strcmp(cur->name, key) ||
                              !same_str(cur->filename, filename));
    if (fresh) {
        if (cur) part_close_fd(cur);
        if (u->nparts == MAX_PARTS) return upload_fail(u, 413, "payload_too_large", "Too many form parts");
        cur = &u->parts[u->nparts++];
        memset(cur, 0, sizeof *cur);
        cur->fd = -1;
        cur->name = xstrdup(key);
        cur->filename = filename ? xstrdup(filename) : NULL;
        cur->content_type = content_type ? xstrdup(content_type) : NULL;
        if (filename) {
            buf_t path = {0};
            buf_printf(&path, "%s/rodeo-upload-XXXXXX", u->req->srv->upload_tmp_dir);
            cur->fd = mkstemp(path.data);   /* creates the file 0600 */
            if (cur->fd < 0) {
                log_error("http: upload temp file in %s: %s", u->req->srv->upload_tmp_dir, strerror(errno));
                buf_free(&path);
                return upload_fail(u, 500, "internal_error", "Cannot store upload");
            }
            cur->path = buf_steal(&path);
            cur->sha = EVP_MD_CTX_new();
            if (!cur->sha || EVP_DigestInit_ex(cur->sha, EVP_sha256(), NULL) != 1)
                return upload_fail(u, 500, "internal_error", "Cannot store upload");
        }
    }
    if (!cur || !size) return MHD_YES;
    if (cur->path) {
        const char *p = data;
        size_t left = size;
        while (left) {
            ssize_t w = write(cur->fd, p, left);
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) {
                log_error("http: upload write: %s", strerror(errno));
                return upload_fail(u, 500, "internal_error", "Cannot store upload");
            }
            p += w;
            left -= (size_t)w;
        }
        if (EVP_DigestUpdate(cur->sha, data, size) != 1)
            return upload_fail(u, 500, "internal_error", "Cannot store upload");
    } else {
        if (cur->val.len + size > FIELD_CAP)
            return upload_fail(u, 413, "payload_too_large", "Form field too large");
        buf_append(&cur->val, data, size);
    }
    cur->size += size;
    return MHD_YES;
}

upload_t *upload_begin(http_req_t *req, struct MHD_Connection *conn, int *status,
                       const char **code, const char **detail)
{
    const char *ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
    if (!ct || strncasecmp(ct, "multipart/form-data", 19)) {
        *status = 400; *code = "bad_request"; *detail = "Expected a multipart/form-data body";
        return NULL;
    }
    upload_t *u = xcalloc(1, sizeof *u);
    u->req = req;
    u->pp = MHD_create_post_processor(conn, PP_BUFFER, iterate, u);
    if (!u->pp) {
        free(u);
        *status = 400; *code = "bad_request"; *detail = "Malformed multipart/form-data header (boundary)";
        return NULL;
    }
    return u;
}

int upload_feed(upload_t *u, const char *data, size_t len, const char **code, const char **detail)
{
    if (!u->status && MHD_post_process(u->pp, data, len) != MHD_YES)
        upload_fail(u, 400, "bad_request", "Malformed multipart/form-data body");
    if (u->status) { *code = u->code; *detail = u->detail; }
    return u->status;
}

int upload_finish(upload_t *u, const char **code, const char **detail)
{
    if (u->pp) {
        enum MHD_Result ok = MHD_destroy_post_processor(u->pp);
        u->pp = NULL;
        if (ok != MHD_YES) upload_fail(u, 400, "bad_request", "Truncated multipart/form-data body");
    }
    if (u->nparts) part_close_fd(&u->parts[u->nparts - 1]);
    if (!u->status && u->nparts == 0)
        upload_fail(u, 400, "bad_request", "Malformed or empty multipart/form-data body");
    if (u->status) { *code = u->code; *detail = u->detail; return u->status; }
    u->pub = arena_alloc(&u->req->arena, sizeof(http_part_t) * (u->nparts ? u->nparts : 1));
    for (size_t i = 0; i < u->nparts; i++) {
        upart_t *p = &u->parts[i];
        u->pub[i] = (http_part_t){
            .name = p->name, .filename = p->filename, .content_type = p->content_type,
            .path = p->path, .size = p->size, .sha256 = p->path ? p->sha256 : NULL,
            .value = p->path ? NULL : (p->val.data ? p->val.data : ""),
        };
    }
    return 0;
}

void upload_parts(upload_t *u, const http_part_t **parts, size_t *n)
{
    *parts = u->pub;
    *n = u->pub ? u->nparts : 0;
}

void upload_cleanup(upload_t *u)
{
    if (!u) return;
    if (u->pp) MHD_destroy_post_processor(u->pp);
    for (size_t i = 0; i < u->nparts; i++) {
        upart_t *p = &u->parts[i];
        part_close_fd(p);
        if (p->path) {
            if (unlink(p->path) != 0 && errno != ENOENT)
                log_warn("http: cannot remove upload temp file: %s", strerror(errno));
            free(p->path);
        }
        free(p->name);
        free(p->filename);
        free(p->content_type);
        buf_free(&p->val);
    }
    free(u);
}
