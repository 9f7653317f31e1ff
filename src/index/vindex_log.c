/* vindex_log.c — append-only mutation log between full snapshots.
 *
 * File: header  "RODEOVLG" | u32 version (1) | u32 dim | u64 checksum of the first 16 bytes
 *       records u32 op (1 upsert, 2 delete) | u32 payload length | u64 checksum(op, length,
 *               payload) | payload
 *       upsert payload: u64 id | attrs (u32 category, u32 brand, f32 price, u32 flags) |
 *                       dim x f32 (already normalised for cosine collections)
 *       delete payload: u64 id
 * A crash can only tear the last record, so on replay a short or mismatching final record is
 * dropped; a bad record followed by more data means real damage and is reported. */
#include "index/vindex_impl.h"
#include <errno.h>
#include <math.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOG_MAGIC "RODEOVLG"
#define LOG_VERSION 1u
#define LOG_HDR 24
#define OP_UPSERT 1u
#define OP_DELETE 2u

static void make_header(uint8_t *h, uint32_t dim)
{
    memcpy(h, LOG_MAGIC, 8);
    uint32_t ver = LOG_VERSION;
    memcpy(h + 8, &ver, 4);
    memcpy(h + 12, &dim, 4);
    uint64_t c = vsum(h, 16);
    memcpy(h + 16, &c, 8);
}

static int write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0) { if (errno == EINTR) continue; return -1; }
        c += w; n -= (size_t)w;
    }
    return 0;
}

int vindex_log_attach(vindex_t *v, const char *path, int sync, char *err, size_t errlen)
{
    if (!v || !path) { vindex_set_err(err, errlen, "null argument"); return -1; }
    int fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) { vindex_set_err(err, errlen, "%s: %s", path, strerror(errno)); return -1; }
    struct stat st;
    uint8_t want[LOG_HDR], got[LOG_HDR];
    make_header(want, v->dim);
    if (fstat(fd, &st) < 0) goto fail_io;
    if (st.st_size == 0) {
        if (write_all(fd, want, LOG_HDR) || fsync(fd)) goto fail_io;
    } else if (st.st_size < LOG_HDR || pread(fd, got, LOG_HDR, 0) != LOG_HDR ||
               memcmp(got, want, LOG_HDR)) {
        vindex_set_err(err, errlen, "%s: not a log for this collection (bad header)", path);
        close(fd);
        return -1;
    }
    pthread_mutex_lock(&v->log_lock);
    if (v->log_fd >= 0) close(v->log_fd);
    v->log_fd = fd;
    v->log_sync = sync;
    pthread_mutex_unlock(&v->log_lock);
    return 0;
fail_io:
    vindex_set_err(err, errlen, "%s: %s", path, strerror(errno));
    close(fd);
    return -1;
}

void vlog_close(vindex_t *v)
{
    if (v->log_fd >= 0) close(v->log_fd);
    v->log_fd = -1;
}

/* Empties an attached log after a snapshot (keeps the header). */
int vlog_truncate(vindex_t *v)
{
    int rc = 0;
    pthread_mutex_lock(&v->log_lock);
    if (v->log_fd >= 0) rc = ftruncate(v->log_fd, LOG_HDR) || fsync(v->log_fd) ? -1 : 0;
    pthread_mutex_unlock(&v->log_lock);
    return rc;
}

static int append(vindex_t *v, uint32_t op, const void *payload, uint32_t len)
{
    if (__atomic_load_n(&v->log_fd, __ATOMIC_RELAXED) < 0) return 0;
    uint8_t *rec = malloc(16 + (size_t)len);
    if (!rec) return -1;
    memcpy(rec, &op, 4);
    memcpy(rec + 4, &len, 4);
    memcpy(rec + 16, payload, len);
    vsum_t s;
    vsum_init(&s);
    vsum_update(&s, rec, 8);
    vsum_update(&s, rec + 16, len);
    uint64_t c = vsum_final(&s);
    memcpy(rec + 8, &c, 8);
    int rc = 0;
    pthread_mutex_lock(&v->log_lock);
    if (v->log_fd >= 0) {
        rc = write_all(v->log_fd, rec, 16 + (size_t)len);
        if (!rc && v->log_sync) rc = fdatasync(v->log_fd);
    }
    pthread_mutex_unlock(&v->log_lock);
    free(rec);
    return rc ? -1 : 0;
}

int vlog_append_upsert(vindex_t *v, uint64_t id, const float *x, const vindex_attrs_t *a)
{
    if (__atomic_load_n(&v->log_fd, __ATOMIC_RELAXED) < 0) return 0;
    size_t len = 8 + sizeof *a + v->dim * sizeof(float);
    uint8_t *p = malloc(len);
    if (!p) return -1;
    memcpy(p, &id, 8);
    memcpy(p + 8, a, sizeof *a);
    memcpy(p + 8 + sizeof *a, x, v->dim * sizeof(float));
    int rc = append(v, OP_UPSERT, p, (uint32_t)len);
    free(p);
    return rc;
}

int vlog_append_delete(vindex_t *v, uint64_t id)
{
    return append(v, OP_DELETE, &id, 8);
}

int vindex_log_replay(vindex_t *v, const char *path, size_t *applied, char *err, size_t errlen)
{
    if (applied) *applied = 0;
    if (!v || !path) { vindex_set_err(err, errlen, "null argument"); return -1; }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) { vindex_set_err(err, errlen, "%s: %s", path, strerror(errno)); return -1; }
    struct stat st;
    if (fstat(fd, &st) < 0) { vindex_set_err(err, errlen, "%s: %s", path, strerror(errno)); close(fd); return -1; }
    size_t size = (size_t)st.st_size;
    uint8_t *buf = malloc(size ? size : 1);
    size_t got = 0;
    while (buf && got < size) {
        ssize_t r = read(fd, buf + got, size - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += (size_t)r;
    }
    close(fd);
    if (!buf || got != size) { free(buf); vindex_set_err(err, errlen, "%s: read failed", path); return -1; }
    uint8_t want[LOG_HDR];
    make_header(want, v->dim);
    if (size < LOG_HDR || memcmp(buf, want, LOG_HDR)) {
        free(buf);
        vindex_set_err(err, errlen, "%s: bad log header (wrong file, version or dimension)", path);
        return -1;
    }
    size_t upsert_len = 8 + sizeof(vindex_attrs_t) + v->dim * sizeof(float);
    size_t off = LOG_HDR, n = 0;
    int rc = 0;
    while (off < size) {
        size_t left = size - off;
        uint32_t op, len;
        uint64_t c;
        if (left < 16) break;                          /* torn header of the last record */
        memcpy(&op, buf + off, 4);
        memcpy(&len, buf + off + 4, 4);
        memcpy(&c, buf + off + 8, 8);
        if (len > left - 16) break;                    /* torn payload of the last record */
        vsum_t s;
        vsum_init(&s);
        vsum_update(&s, buf + off, 8);
        vsum_update(&s, buf + off + 16, len);
        int last = off + 16 + len == size;
        if (vsum_final(&s) != c) {
            if (last) break;                           /* torn write at the tail */
            vindex_set_err(err, errlen, "%s: checksum mismatch at offset %zu", path, off);
            rc = -1;
            break;
        }
        const uint8_t *p = buf + off + 16;
        uint64_t id;
        if (op == OP_UPSERT && len == upsert_len) {
            vindex_attrs_t a;
            memcpy(&id, p, 8);
            memcpy(&a, p + 8, sizeof a);
            float *x = malloc(v->dim * sizeof(float));
            if (!x) { vindex_set_err(err, errlen, "out of memory"); rc = -1; break; }
            memcpy(x, p + 8 + sizeof a, v->dim * sizeof(float));
            int bad = 0;
            for (size_t i = 0; i < v->dim; i++) if (!isfinite(x[i])) bad = 1;
            if (bad || !isfinite(a.price) || vindex_insert_prepared(v, id, x, &a, 0)) {
                free(x);
                vindex_set_err(err, errlen, "%s: bad upsert record at offset %zu", path, off);
                rc = -1;
                break;
            }
            free(x);
        } else if (op == OP_DELETE && len == 8) {
            memcpy(&id, p, 8);
            vindex_delete_internal(v, id, 0);
        } else {
            vindex_set_err(err, errlen, "%s: unknown record (op %u, length %u) at offset %zu",
                           path, op, len, off);
            rc = -1;
            break;
        }
        n++;
        off += 16 + len;
    }
    free(buf);
    if (applied) *applied = n;
    return rc;
}
