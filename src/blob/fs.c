/* fs.c — filesystem blob backend. Durability recipe (as SQLite/LMDB-style stores do):
 * write to a uniquely named temp file in the same filesystem, fsync it, rename it onto
 * the final name (atomic), fsync the directory so the rename itself survives a crash.
 * The SHA-256 is computed while copying, so a put can never store bytes under the wrong
 * content address. A file whose digest the caller vouches for (an upload the HTTP layer
 * hashed as it streamed into a temp file under the data dir) skips the copy and the hash:
 * it is fsynced and hard-linked onto the final name, which is just as atomic. */
#include "blob/blob.h"
#include "core/crypto.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    blob_store_t base;
    char *root;       /* <data_dir>/blobs */
    char *url_base;
    dev_t dev;        /* root's filesystem: only files on it can be linked into place */
} fs_store_t;

static int fail(char *err, size_t cap, int code, const char *what, const char *detail)
{
    if (err && cap) snprintf(err, cap, "%s: %s", what, detail);
    return code;
}

static int mkdir_p1(const char *path)
{
    return (mkdir(path, 0700) == 0 || errno == EEXIST) ? 0 : -1;
}

static int fsync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

/* root/ab/cd/key; dirs_only stops at root/ab/cd. */
static void object_path(const fs_store_t *st, const char *key, int dirs_only, buf_t *out)
{
    buf_reset(out);
    buf_printf(out, "%s/%.2s/%.2s", st->root, key, key + 2);
    if (!dirs_only) buf_printf(out, "/%s", key);
}

static int fs_exists(blob_store_t *s, const char *key)
{
    buf_t p = {0};
    object_path((fs_store_t *)s, key, 0, &p);
    struct stat sb;
    int ok = stat(p.data, &sb) == 0 && S_ISREG(sb.st_mode);
    buf_free(&p);
    return ok;
}

/* Streams from src_fd (or data/len when src_fd < 0) into a temp file, checks the hash,
 * then publishes it under key. */
static int fs_store(fs_store_t *st, const char *key, int src_fd, const void *data, size_t len,
                    char *err, size_t cap)
{
    if (fs_exists(&st->base, key)) return BLOB_OK;
    buf_t tmp = {0}, dir = {0}, dst = {0};
    char rnd[17];
    uint8_t r[8];
    int fd = -1, rc = BLOB_ERR_IO;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 || random_bytes(r, sizeof r) != 0) {
        rc = fail(err, cap, BLOB_ERR_IO, "blob put", "crypto init failed");
        goto out;
    }
    hex_encode(r, sizeof r, rnd);
    buf_printf(&tmp, "%s/tmp/%s.tmp", st->root, rnd);
    fd = open(tmp.data, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) { rc = fail(err, cap, BLOB_ERR_IO, "blob temp file", strerror(errno)); goto out; }
    char chunk[1 << 16];
    for (;;) {
        const char *p;
        size_t n;
        if (src_fd >= 0) {
            ssize_t got = read(src_fd, chunk, sizeof chunk);
            if (got < 0 && errno == EINTR) continue;
            if (got < 0) { rc = fail(err, cap, BLOB_ERR_IO, "blob read source", strerror(errno)); goto out; }
            if (got == 0) break;
            p = chunk;
            n = (size_t)got;
        } else {
            if (len == 0) break;
            p = data;
            n = len;
            len = 0;
        }
        EVP_DigestUpdate(md, p, n);
        while (n > 0) {
            ssize_t w = write(fd, p, n);
            if (w < 0 && errno == EINTR) continue;
            if (w < 0) { rc = fail(err, cap, BLOB_ERR_IO, "blob write", strerror(errno)); goto out; }
            p += w;
            n -= (size_t)w;
        }
    }
    uint8_t digest[SHA256_LEN];
    char hex[2 * SHA256_LEN + 1];
    EVP_DigestFinal_ex(md, digest, NULL);
    hex_encode(digest, sizeof digest, hex);
    if (strcmp(hex, key)) { rc = fail(err, cap, BLOB_ERR_MISMATCH, "blob put", "content does not match its key"); goto out; }
    if (fsync(fd) != 0) { rc = fail(err, cap, BLOB_ERR_IO, "blob fsync", strerror(errno)); goto out; }
    close(fd);
    fd = -1;
    buf_printf(&dir, "%s/%.2s", st->root, key);
    if (mkdir_p1(dir.data) != 0) { rc = fail(err, cap, BLOB_ERR_IO, "blob mkdir", strerror(errno)); goto out; }
    object_path(st, key, 1, &dir);
    if (mkdir_p1(dir.data) != 0) { rc = fail(err, cap, BLOB_ERR_IO, "blob mkdir", strerror(errno)); goto out; }
    object_path(st, key, 0, &dst);
    if (rename(tmp.data, dst.data) != 0) { rc = fail(err, cap, BLOB_ERR_IO, "blob rename", strerror(errno)); goto out; }
    buf_reset(&tmp);
    if (fsync_dir(dir.data) != 0) { rc = fail(err, cap, BLOB_ERR_IO, "blob fsync dir", strerror(errno)); goto out; }
    rc = BLOB_OK;
out:
    if (fd >= 0) close(fd);
    if (tmp.len) unlink(tmp.data);
    EVP_MD_CTX_free(md);
    buf_free(&tmp);
    buf_free(&dir);
    buf_free(&dst);
    return rc;
}

static int fs_put(blob_store_t *s, const char *key, const void *data, size_t len, char *err, size_t cap)
{
    return fs_store((fs_store_t *)s, key, -1, data, len, err, cap);
}

static int fs_put_file(blob_store_t *s, const char *key, const char *path, char *err, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return fail(err, cap, BLOB_ERR_IO, "blob source", strerror(errno));
    int rc = fs_store((fs_store_t *)s, key, fd, NULL, 0, err, cap);
    close(fd);
    return rc;
}

/* link(2) errors that mean "this file cannot be linked here" rather than "the store is
 * broken": another filesystem, a filesystem without hard links, a link-count limit, or a
 * policy (protected_hardlinks) refusing it. The copy still works in all of them. */
static int link_unsupported(int e)
{
    return e == EXDEV || e == EPERM || e == EMLINK || e == ENOTSUP || e == EOPNOTSUPP || e == EACCES;
}

/* The vouched-for path: fsync the file, link it to root/ab/cd/key, fsync that directory.
 * Falls back to the copy (fs_store, which hashes) when the file is elsewhere or the
 * filesystem refuses the link. */
static int fs_put_file_hashed(blob_store_t *s, const char *key, const char *path, char *err, size_t cap)
{
    fs_store_t *st = (fs_store_t *)s;
    if (fs_exists(s, key)) return BLOB_OK;   /* never rewritten */
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return fail(err, cap, BLOB_ERR_IO, "blob source", strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return fail(err, cap, BLOB_ERR_IO, "blob source", "not a regular file");
    }
    buf_t dir = {0}, dst = {0};
    int rc = BLOB_ERR_IO;
    if (sb.st_dev != st->dev) goto copy;
    /* the data must be durable before a name for it is */
    if (fsync(fd) != 0) { rc = fail(err, cap, BLOB_ERR_IO, "blob fsync", strerror(errno)); goto out; }
    buf_printf(&dir, "%s/%.2s", st->root, key);
    if (mkdir_p1(dir.data) != 0) { rc = fail(err, cap, BLOB_ERR_IO, "blob mkdir", strerror(errno)); goto out; }
    object_path(st, key, 1, &dir);
    if (mkdir_p1(dir.data) != 0) { rc = fail(err, cap, BLOB_ERR_IO, "blob mkdir", strerror(errno)); goto out; }
    object_path(st, key, 0, &dst);
    if (link(path, dst.data) != 0) {
        if (errno == EEXIST) { rc = BLOB_OK; goto out; }   /* a concurrent put of the same content won */
        if (link_unsupported(errno)) goto copy;
        rc = fail(err, cap, BLOB_ERR_IO, "blob link", strerror(errno));
        goto out;
    }
    if (fsync_dir(dir.data) != 0) { rc = fail(err, cap, BLOB_ERR_IO, "blob fsync dir", strerror(errno)); goto out; }
    rc = BLOB_OK;
    goto out;
copy:
    if (lseek(fd, 0, SEEK_SET) != 0) { rc = fail(err, cap, BLOB_ERR_IO, "blob source", strerror(errno)); goto out; }
    rc = fs_store(st, key, fd, NULL, 0, err, cap);
out:
    close(fd);
    buf_free(&dir);
    buf_free(&dst);
    return rc;
}

static int fs_get(blob_store_t *s, const char *key, size_t max_bytes, buf_t *out, char *err, size_t cap)
{
    buf_t p = {0};
    object_path((fs_store_t *)s, key, 0, &p);
    int fd = open(p.data, O_RDONLY | O_CLOEXEC);
    buf_free(&p);
    if (fd < 0)
        return errno == ENOENT ? fail(err, cap, BLOB_ERR_NOT_FOUND, "blob get", "no such object")
                               : fail(err, cap, BLOB_ERR_IO, "blob get", strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || (max_bytes && (size_t)sb.st_size > max_bytes)) {
        close(fd);
        return fail(err, cap, BLOB_ERR_TOO_LARGE, "blob get", "object larger than allowed");
    }
    buf_reserve(out, (size_t)sb.st_size);
    size_t start = out->len;
    for (;;) {
        buf_reserve(out, 65536);
        ssize_t n = read(fd, out->data + out->len, out->cap - out->len - 1);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) { close(fd); out->len = start; out->data[start] = 0; return fail(err, cap, BLOB_ERR_IO, "blob read", strerror(errno)); }
        if (n == 0) break;
        out->len += (size_t)n;
        if (max_bytes && out->len - start > max_bytes) {
            close(fd);
            out->len = start;
            out->data[start] = 0;
            return fail(err, cap, BLOB_ERR_TOO_LARGE, "blob get", "object larger than allowed");
        }
    }
    out->data[out->len] = 0;
    close(fd);
    return BLOB_OK;
}

static int fs_remove(blob_store_t *s, const char *key, char *err, size_t cap)
{
    buf_t p = {0};
    object_path((fs_store_t *)s, key, 0, &p);
    int rc = unlink(p.data);
    int e = errno;
    buf_free(&p);
    if (rc != 0)
        return e == ENOENT ? fail(err, cap, BLOB_ERR_NOT_FOUND, "blob remove", "no such object")
                           : fail(err, cap, BLOB_ERR_IO, "blob remove", strerror(e));
    return BLOB_OK;
}

static char *fs_url(blob_store_t *s, const char *key)
{
    buf_t b = {0};
    buf_printf(&b, "%s/%s", ((fs_store_t *)s)->url_base, key);
    return buf_steal(&b);
}

static void fs_close(blob_store_t *s)
{
    fs_store_t *st = (fs_store_t *)s;
    free(st->root);
    free(st->url_base);
    free(st);
}

static const blob_ops_t fs_ops = {
    "fs", fs_put, fs_put_file, fs_get, fs_remove, fs_exists, fs_url, fs_close, fs_put_file_hashed,
};

/* A crash between creating a temp file and renaming it leaves the temp file behind.
 * Temp files older than an hour cannot belong to a put still in progress (a put takes
 * milliseconds), so opening the store removes them. */
static void sweep_tmp(const char *tmpdir)
{
    DIR *d = opendir(tmpdir);
    if (!d) return;
    time_t cutoff = time(NULL) - 3600;
    struct dirent *e;
    buf_t p = {0};
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n < 5 || strcmp(e->d_name + n - 4, ".tmp")) continue;
        buf_reset(&p);
        buf_printf(&p, "%s/%s", tmpdir, e->d_name);
        struct stat sb;
        if (lstat(p.data, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_mtime < cutoff) unlink(p.data);
    }
    buf_free(&p);
    closedir(d);
}

blob_store_t *blob_fs_open(const char *data_dir, const char *url_base, char *err, size_t cap)
{
    if (!data_dir || !data_dir[0]) { fail(err, cap, 0, "blob store", "empty data dir"); return NULL; }
    buf_t p = {0};
    buf_printf(&p, "%s", data_dir);
    if (mkdir_p1(p.data) != 0) goto bad;
    buf_puts(&p, "/blobs");
    if (mkdir_p1(p.data) != 0) goto bad;
    size_t rootlen = p.len;
    buf_puts(&p, "/tmp");
    if (mkdir_p1(p.data) != 0) goto bad;
    sweep_tmp(p.data);
    struct stat rsb;
    if (stat(p.data, &rsb) != 0) goto bad;   /* blobs/tmp: where fs_store's temp files go */
    fs_store_t *st = xcalloc(1, sizeof *st);
    st->base.ops = &fs_ops;
    st->dev = rsb.st_dev;
    st->root = xstrndup(p.data, rootlen);
    st->url_base = xstrdup(url_base ? url_base : "/blobs");
    buf_free(&p);
    return &st->base;
bad:
    fail(err, cap, 0, p.data, strerror(errno));
    buf_free(&p);
    return NULL;
}
