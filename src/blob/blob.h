/* blob.h — photo/object storage behind one small interface (the curl-backend model): the
 * filesystem backend (fs.c) now, an S3-compatible one later, same calls, same tests.
 *
 * Keys are content addresses: the SHA-256 of the bytes as 64 lower-case hex digits. Any
 * other key is refused (BLOB_ERR_KEY) before a backend sees it, so no path or object name
 * is ever built from user input. put/put_file verify the content hashes to the key, and
 * are idempotent (storing existing content again succeeds without rewriting it).
 * Functions return BLOB_OK or a negative BLOB_ERR_*; err (may be NULL) gets a message. */
#ifndef RODEO_BLOB_H
#define RODEO_BLOB_H
#include <stddef.h>
#include "core/buf.h"

enum {
    BLOB_OK = 0,
    BLOB_ERR_IO = -1,          /* storage failure (errno-based message) */
    BLOB_ERR_KEY = -2,         /* key is not 64 lower-case hex digits */
    BLOB_ERR_NOT_FOUND = -3,
    BLOB_ERR_MISMATCH = -4,    /* content does not hash to the key */
    BLOB_ERR_TOO_LARGE = -5,   /* get: object larger than max_bytes */
};

#define BLOB_KEY_LEN 64

typedef struct blob_store blob_store_t;

/* A backend: every function receives a key already validated by the wrappers below. */
typedef struct {
    const char *name;
    int   (*put)(blob_store_t *s, const char *key, const void *data, size_t len, char *err, size_t cap);
    int   (*put_file)(blob_store_t *s, const char *key, const char *path, char *err, size_t cap);
    int   (*get)(blob_store_t *s, const char *key, size_t max_bytes, buf_t *out, char *err, size_t cap);
    int   (*remove)(blob_store_t *s, const char *key, char *err, size_t cap);
    int   (*exists)(blob_store_t *s, const char *key);
    char *(*url)(blob_store_t *s, const char *key);
    void  (*close)(blob_store_t *s);
    /* Optional (NULL = put_file): path's content is vouched to hash to key. */
    int   (*put_file_hashed)(blob_store_t *s, const char *key, const char *path, char *err, size_t cap);
} blob_ops_t;

/* Backends embed this as their first member. */
struct blob_store {
    const blob_ops_t *ops;
};

/* 1 when key is exactly 64 lower-case hex digits. */
int   blob_key_valid(const char *key);

/* Filesystem backend: objects live in <data_dir>/blobs/ab/cd/<key> (fan-out keeps
 * directories small); writes go to <data_dir>/blobs/tmp, are fsynced, then renamed into
 * place and the directory fsynced, so a crash leaves either no object or a whole one.
 * Opening removes temp files older than an hour (left by a crash mid-put).
 * url_base (e.g. "/api/blobs") prefixes url(); NULL means "/blobs". Returns NULL and a
 * message when the directories cannot be created. */
blob_store_t *blob_fs_open(const char *data_dir, const char *url_base, char *err, size_t cap);

/* S3-compatible backend (AWS S3, MinIO, Ceph RGW, R2, ...): path-style URLs
 * <endpoint>/<bucket>/<prefix><key>, requests signed with AWS Signature V4 by libcurl, the
 * key itself sent as x-amz-content-sha256 (it *is* the payload's SHA-256), so the server
 * rejects any upload whose bytes do not match its key (BLOB_ERR_MISMATCH). put skips the
 * upload when the object already exists; remove checks existence first (S3's DELETE
 * succeeds on missing keys). Each call uses its own connection: thread-safe. */
typedef struct {
    const char *endpoint;     /* "https://s3.eu-west-1.amazonaws.com", "http://127.0.0.1:9000" */
    const char *bucket;
    const char *region;       /* "us-east-1" when NULL */
    const char *access_key;
    const char *secret_key;
    const char *prefix;       /* object name prefix, e.g. "photos/"; NULL = none */
    const char *public_url;   /* url() base; NULL = <endpoint>/<bucket> */
    long timeout_ms;          /* per request; 0 = 30 s */
} blob_s3_config_t;

blob_store_t *blob_s3_open(const blob_s3_config_t *cfg, char *err, size_t cap);

int   blob_put(blob_store_t *s, const char *key, const void *data, size_t len, char *err, size_t cap);
/* Stores a copy of the file at path (the caller keeps/deletes the original). */
int   blob_put_file(blob_store_t *s, const char *key, const char *path, char *err, size_t cap);
/* Like blob_put_file, for a file whose SHA-256 the caller already computed (the HTTP layer
 * hashes an upload while it streams) and vouches for: the fs backend publishes it by
 * hard-linking it into place when it lies on the store's filesystem (no copy, no second
 * hash; the file and its directory are fsynced once), and copies it as blob_put_file does
 * otherwise. The caller must not modify the file afterwards (unlinking it is fine). An
 * object already stored under key is left as it is. Backends without a shortcut copy. */
int   blob_put_file_hashed(blob_store_t *s, const char *key, const char *path, char *err, size_t cap);
/* Appends the object's bytes to out (max_bytes 0 = no limit). */
int   blob_get(blob_store_t *s, const char *key, size_t max_bytes, buf_t *out, char *err, size_t cap);
/* Removing a missing object is BLOB_ERR_NOT_FOUND. */
int   blob_remove(blob_store_t *s, const char *key, char *err, size_t cap);
/* 1 present, 0 absent or invalid key. */
int   blob_exists(blob_store_t *s, const char *key);
/* Where a client can fetch the object (caller frees); NULL for an invalid key. */
char *blob_url(blob_store_t *s, const char *key);
void  blob_close(blob_store_t *s);
#endif
