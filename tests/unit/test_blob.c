/* test_blob.c — the blob interface on the filesystem backend: content addressing, key
 * validation (no path from user input), atomic publish, idempotence, limits. */
#include "test.h"
#include "blob/blob.h"
#include "core/buf.h"
#include "core/crypto.h"
#include <dirent.h>
#include <signal.h>
#include <sys/wait.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <utime.h>

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

TEST(blob_key_validation)
{
    char k[80];
    memset(k, 'a', 64);
    k[64] = 0;
    CHECK(blob_key_valid(k));
    k[10] = 'A';
    CHECK(!blob_key_valid(k));              /* upper case */
    k[10] = 'g';
    CHECK(!blob_key_valid(k));              /* not hex */
    k[10] = 'a';
    k[63] = 0;
    CHECK(!blob_key_valid(k));              /* short */
    k[63] = 'a';
    k[64] = 'a';
    k[65] = 0;
    CHECK(!blob_key_valid(k));              /* long */
    CHECK(!blob_key_valid("../../etc/passwd"));
    CHECK(!blob_key_valid(""));
    CHECK(!blob_key_valid(NULL));
}

TEST(blob_fs_put_get_remove)
{
    char *dir = test_tmpdir(), err[256];
    blob_store_t *s = blob_fs_open(dir, "/api/blobs", err, sizeof err);
    REQUIRE(s);
    static const char data[] = "photo bytes \x00\x01\x02 with a NUL";
    size_t len = sizeof data - 1;
    char key[65];
    sha256_hex(data, len, key);
    CHECK(!blob_exists(s, key));
    CHECK_INT(blob_put(s, key, data, len, err, sizeof err), BLOB_OK);
    CHECK(blob_exists(s, key));
    /* Fanned out on disk as blobs/ab/cd/<key>. */
    buf_t p = {0};
    buf_printf(&p, "%s/blobs/%.2s/%.2s/%s", dir, key, key + 2, key);
    struct stat sb;
    CHECK(stat(p.data, &sb) == 0 && sb.st_size == (off_t)len);
    buf_t got = {0};
    CHECK_INT(blob_get(s, key, 0, &got, err, sizeof err), BLOB_OK);
    CHECK(got.len == len && !memcmp(got.data, data, len));
    buf_reset(&got);
    CHECK_INT(blob_get(s, key, 10, &got, err, sizeof err), BLOB_ERR_TOO_LARGE);
    CHECK_INT(got.len, 0);
    char *url = blob_url(s, key);
    buf_t want = {0};
    buf_printf(&want, "/api/blobs/%s", key);
    CHECK_STR(url, want.data);
    free(url);
    /* Idempotent: same content again is fine. */
    CHECK_INT(blob_put(s, key, data, len, err, sizeof err), BLOB_OK);
    CHECK_INT(blob_remove(s, key, err, sizeof err), BLOB_OK);
    CHECK(!blob_exists(s, key));
    CHECK_INT(blob_remove(s, key, err, sizeof err), BLOB_ERR_NOT_FOUND);
    buf_reset(&got);
    CHECK_INT(blob_get(s, key, 0, &got, err, sizeof err), BLOB_ERR_NOT_FOUND);
    buf_reset(&p);
    buf_printf(&p, "%s/blobs/tmp", dir);
    CHECK_INT(count_entries(p.data), 0);
    buf_free(&p);
    buf_free(&got);
    buf_free(&want);
    blob_close(s);
    free(dir);
}

TEST(blob_fs_refuses_bad_keys_and_mismatches)
{
    char *dir = test_tmpdir(), err[256];
    blob_store_t *s = blob_fs_open(dir, NULL, err, sizeof err);
    REQUIRE(s);
    const char *data = "abc";
    char wrong[65];
    sha256_hex("abd", 3, wrong);
    CHECK_INT(blob_put(s, wrong, data, 3, err, sizeof err), BLOB_ERR_MISMATCH);
    CHECK(!blob_exists(s, wrong));
    CHECK_INT(blob_put(s, "../../../tmp/x", data, 3, err, sizeof err), BLOB_ERR_KEY);
    CHECK_INT(blob_put_file(s, "ab/cd", "/etc/hostname", err, sizeof err), BLOB_ERR_KEY);
    buf_t out = {0};
    CHECK_INT(blob_get(s, "..", 0, &out, err, sizeof err), BLOB_ERR_KEY);
    CHECK_INT(blob_remove(s, "x", err, sizeof err), BLOB_ERR_KEY);
    CHECK(blob_url(s, "nothex") == NULL);
    CHECK(!blob_exists(s, "../blobs"));
    /* Nothing but blobs/tmp was created, and tmp is empty. */
    buf_t p = {0};
    buf_printf(&p, "%s/blobs", dir);
    CHECK_INT(count_entries(p.data), 1);
    buf_puts(&p, "/tmp");
    CHECK_INT(count_entries(p.data), 0);
    char key[65];
    sha256_hex(data, 3, key);
    char *url = blob_url(s, key);
    CHECK(url && !strncmp(url, "/blobs/", 7));
    free(url);
    buf_free(&p);
    buf_free(&out);
    blob_close(s);
    free(dir);
    CHECK(blob_fs_open("", NULL, err, sizeof err) == NULL);
    CHECK(blob_fs_open("/proc/definitely/not/here", NULL, err, sizeof err) == NULL);
}

TEST(blob_fs_put_file)
{
    char *dir = test_tmpdir(), err[256];
    blob_store_t *s = blob_fs_open(dir, NULL, err, sizeof err);
    REQUIRE(s);
    /* 200 KB source spans several copy chunks. */
    buf_t src = {0}, content = {0};
    buf_printf(&src, "%s/upload.tmp", dir);
    for (int i = 0; i < 200000; i++) buf_putc(&content, (char)(i * 7 + i / 1000));
    FILE *f = fopen(src.data, "wb");
    REQUIRE(f);
    fwrite(content.data, 1, content.len, f);
    fclose(f);
    char key[65];
    sha256_hex(content.data, content.len, key);
    CHECK_INT(blob_put_file(s, key, src.data, err, sizeof err), BLOB_OK);
    buf_t got = {0};
    CHECK_INT(blob_get(s, key, 0, &got, err, sizeof err), BLOB_OK);
    CHECK(got.len == content.len && !memcmp(got.data, content.data, content.len));
    CHECK(access(src.data, F_OK) == 0);      /* the caller's file is left alone */
    char other[65];
    sha256_hex("x", 1, other);
    CHECK_INT(blob_put_file(s, other, src.data, err, sizeof err), BLOB_ERR_MISMATCH);
    CHECK_INT(blob_put_file(s, other, "/nonexistent/file", err, sizeof err), BLOB_ERR_IO);
    CHECK(strstr(err, "No such file") != NULL);
    buf_free(&got);
    buf_free(&src);
    buf_free(&content);
    blob_close(s);
    free(dir);
}

/* Writes n bytes of a deterministic pattern to path; its digest goes to key. */
static int write_pattern(const char *path, size_t n, int seed, char key[65])
{
    buf_t content = {0};
    for (size_t i = 0; i < n; i++) buf_putc(&content, (char)(i * 13 + (size_t)seed + i / 777));
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(content.data, 1, content.len, f) == content.len;
    if (f) fclose(f);
    sha256_hex(content.data, content.len, key);
    buf_free(&content);
    return ok ? 0 : -1;
}

static int same_bytes(blob_store_t *s, const char *key, const char *path)
{
    buf_t got = {0}, want = {0};
    char err[256];
    int ok = blob_get(s, key, 0, &got, err, sizeof err) == BLOB_OK;
    FILE *f = fopen(path, "rb");
    char chunk[4096];
    size_t n;
    while (f && (n = fread(chunk, 1, sizeof chunk, f)) > 0) buf_append(&want, chunk, n);
    if (f) fclose(f);
    ok = ok && f && got.len == want.len && !memcmp(got.data, want.data, got.len);
    buf_free(&got);
    buf_free(&want);
    return ok;
}

/* A vouched-for upload on the store's filesystem is linked, not copied: the stored object
 * is the same inode, under the right key, with the right bytes; the caller may then unlink
 * its name; an existing object is not rewritten. */
TEST(blob_fs_put_file_hashed_links)
{
    char *dir = test_tmpdir(), err[256], key[65];
    blob_store_t *s = blob_fs_open(dir, NULL, err, sizeof err);
    REQUIRE(s);
    buf_t src = {0}, obj = {0};
    buf_printf(&src, "%s/rodeo-upload-abc", dir);
    REQUIRE(write_pattern(src.data, 300000, 1, key) == 0);
    CHECK_INT(blob_put_file_hashed(s, key, src.data, err, sizeof err), BLOB_OK);
    buf_printf(&obj, "%s/blobs/%.2s/%.2s/%s", dir, key, key + 2, key);
    struct stat a, b;
    REQUIRE(stat(src.data, &a) == 0 && stat(obj.data, &b) == 0);
    CHECK(a.st_ino == b.st_ino && a.st_dev == b.st_dev);   /* linked */
    CHECK_INT(b.st_nlink, 2);
    CHECK(same_bytes(s, key, src.data));
    /* the HTTP layer removes its temp name; the object stays */
    REQUIRE(unlink(src.data) == 0);
    CHECK(blob_exists(s, key));
    REQUIRE(stat(obj.data, &b) == 0);
    CHECK_INT(b.st_nlink, 1);
    /* same key again from a different file: the stored object is not replaced */
    char key2[65];
    REQUIRE(write_pattern(src.data, 1000, 2, key2) == 0);
    CHECK_INT(blob_put_file_hashed(s, key, src.data, err, sizeof err), BLOB_OK);
    struct stat c;
    REQUIRE(stat(obj.data, &c) == 0 && stat(src.data, &a) == 0);
    CHECK(c.st_ino == b.st_ino && c.st_size == 300000);
    CHECK_INT(a.st_nlink, 1);
    /* hostile: bad key, missing file, a directory */
    CHECK_INT(blob_put_file_hashed(s, "../../etc/passwd", src.data, err, sizeof err), BLOB_ERR_KEY);
    CHECK_INT(blob_put_file_hashed(s, key2, "/nonexistent/file", err, sizeof err), BLOB_ERR_IO);
    CHECK_INT(blob_put_file_hashed(s, key2, dir, err, sizeof err), BLOB_ERR_IO);
    CHECK(!blob_exists(s, key2));
    buf_free(&src);
    buf_free(&obj);
    blob_close(s);
    free(dir);
}

/* A file on another filesystem (tmpfs /dev/shm when it is one) cannot be linked: it is
 * copied, hashed like blob_put_file, and a wrong vouched digest is then caught. Without a
 * digest (blob_put_file) the copy path is the same as before. */
TEST(blob_fs_put_file_hashed_falls_back_to_copy)
{
    char *dir = test_tmpdir(), err[256], key[65];
    blob_store_t *s = blob_fs_open(dir, NULL, err, sizeof err);
    REQUIRE(s);
    struct stat shm, mine;
    REQUIRE(stat(dir, &mine) == 0);
    /* this machine's /dev/shm is tmpfs; a test that silently skipped would prove nothing */
    REQUIRE(stat("/dev/shm", &shm) == 0 && shm.st_dev != mine.st_dev);
    buf_t src = {0}, obj = {0};
    buf_printf(&src, "/dev/shm/rodeo-blob-test-%d", (int)getpid());
    REQUIRE(write_pattern(src.data, 200000, 3, key) == 0);
    CHECK_INT(blob_put_file_hashed(s, key, src.data, err, sizeof err), BLOB_OK);
    buf_printf(&obj, "%s/blobs/%.2s/%.2s/%s", dir, key, key + 2, key);
    struct stat a, b;
    REQUIRE(stat(src.data, &a) == 0 && stat(obj.data, &b) == 0);
    CHECK_INT(a.st_nlink, 1);
    CHECK_INT(b.st_nlink, 1);
    CHECK(same_bytes(s, key, src.data));
    char wrong[65];
    sha256_hex("not these bytes", 15, wrong);
    CHECK_INT(blob_put_file_hashed(s, wrong, src.data, err, sizeof err), BLOB_ERR_MISMATCH);
    CHECK(!blob_exists(s, wrong));
    buf_reset(&obj);
    buf_printf(&obj, "%s/blobs/tmp", dir);
    CHECK_INT(count_entries(obj.data), 0);   /* the refused copy left no temp file */
    unlink(src.data);
    /* no digest: the ordinary copy from the store's own filesystem */
    buf_reset(&src);
    buf_printf(&src, "%s/plain-upload", dir);
    REQUIRE(write_pattern(src.data, 5000, 4, key) == 0);
    CHECK_INT(blob_put_file(s, key, src.data, err, sizeof err), BLOB_OK);
    REQUIRE(stat(src.data, &a) == 0);
    CHECK_INT(a.st_nlink, 1);
    CHECK(same_bytes(s, key, src.data));
    buf_free(&src);
    buf_free(&obj);
    blob_close(s);
    free(dir);
}

TEST(blob_fs_open_sweeps_stale_temp_files)
{
    char *dir = test_tmpdir(), err[256];
    blob_store_t *s = blob_fs_open(dir, NULL, err, sizeof err);
    REQUIRE(s);
    blob_close(s);
    buf_t stale = {0}, fresh = {0}, other = {0};
    buf_printf(&stale, "%s/blobs/tmp/0011223344556677.tmp", dir);
    buf_printf(&fresh, "%s/blobs/tmp/8899aabbccddeeff.tmp", dir);
    buf_printf(&other, "%s/blobs/tmp/keep.me", dir);
    const char *paths[] = {stale.data, fresh.data, other.data};
    for (int i = 0; i < 3; i++) {
        FILE *f = fopen(paths[i], "w");
        REQUIRE(f);
        fputs("partial", f);
        fclose(f);
    }
    struct utimbuf old = {time(NULL) - 7200, time(NULL) - 7200};
    REQUIRE(utime(stale.data, &old) == 0);
    REQUIRE(utime(other.data, &old) == 0);
    s = blob_fs_open(dir, NULL, err, sizeof err);
    REQUIRE(s);
    CHECK(access(stale.data, F_OK) != 0);    /* old temp file: removed */
    CHECK(access(fresh.data, F_OK) == 0);    /* could be a put in progress: kept */
    CHECK(access(other.data, F_OK) == 0);    /* not ours: kept */
    blob_close(s);
    buf_free(&stale);
    buf_free(&fresh);
    buf_free(&other);
    free(dir);
}

/* ---- the interface contract, run against every backend ---- */

static void blob_contract(blob_store_t *s, const char *scratch_dir)
{
    char err[256];
    static const char data[] = "contract bytes \x00\xff\x10 end";
    size_t len = sizeof data - 1;
    char key[65], wrong[65];
    sha256_hex(data, len, key);
    sha256_hex("other", 5, wrong);
    CHECK(!blob_exists(s, key));
    CHECK_INT(blob_put(s, key, data, len, err, sizeof err), BLOB_OK);
    CHECK(blob_exists(s, key));
    CHECK_INT(blob_put(s, key, data, len, err, sizeof err), BLOB_OK);     /* idempotent */
    buf_t got = {0};
    buf_puts(&got, "prefix:");                                            /* get appends */
    CHECK_INT(blob_get(s, key, 0, &got, err, sizeof err), BLOB_OK);
    CHECK(got.len == 7 + len && !memcmp(got.data + 7, data, len));
    buf_reset(&got);
    CHECK_INT(blob_get(s, key, 5, &got, err, sizeof err), BLOB_ERR_TOO_LARGE);
    CHECK_INT(got.len, 0);
    CHECK_INT(blob_put(s, wrong, data, len, err, sizeof err), BLOB_ERR_MISMATCH);
    CHECK(!blob_exists(s, wrong));
    CHECK_INT(blob_get(s, wrong, 0, &got, err, sizeof err), BLOB_ERR_NOT_FOUND);
    CHECK_INT(got.len, 0);
    char *url = blob_url(s, key);
    CHECK(url && strstr(url, key));
    free(url);
    /* put_file: a larger object from disk. */
    buf_t src = {0}, content = {0};
    buf_printf(&src, "%s/contract-upload.bin", scratch_dir);
    for (int i = 0; i < 150000; i++) buf_putc(&content, (char)(i * 13 + i / 777));
    FILE *f = fopen(src.data, "wb");
    REQUIRE(f);
    fwrite(content.data, 1, content.len, f);
    fclose(f);
    char fkey[65];
    sha256_hex(content.data, content.len, fkey);
    CHECK_INT(blob_put_file(s, fkey, src.data, err, sizeof err), BLOB_OK);
    buf_reset(&got);
    CHECK_INT(blob_get(s, fkey, 0, &got, err, sizeof err), BLOB_OK);
    CHECK(got.len == content.len && !memcmp(got.data, content.data, content.len));
    CHECK_INT(blob_put_file(s, wrong, src.data, err, sizeof err), BLOB_ERR_MISMATCH);
    CHECK_INT(blob_put_file(s, wrong, "/nonexistent/upload", err, sizeof err), BLOB_ERR_IO);
    /* Hostile keys never reach the backend. */
    CHECK_INT(blob_put(s, "../../x", data, len, err, sizeof err), BLOB_ERR_KEY);
    CHECK_INT(blob_remove(s, "%2e%2e", err, sizeof err), BLOB_ERR_KEY);
    /* Remove. */
    CHECK_INT(blob_remove(s, key, err, sizeof err), BLOB_OK);
    CHECK(!blob_exists(s, key));
    CHECK_INT(blob_remove(s, key, err, sizeof err), BLOB_ERR_NOT_FOUND);
    CHECK_INT(blob_remove(s, fkey, err, sizeof err), BLOB_OK);
    buf_free(&got);
    buf_free(&src);
    buf_free(&content);
}

TEST(blob_fs_contract)
{
    char *dir = test_tmpdir(), err[256];
    blob_store_t *s = blob_fs_open(dir, NULL, err, sizeof err);
    REQUIRE(s);
    blob_contract(s, dir);
    blob_close(s);
    free(dir);
}

/* Starts tests/tools/vision_fake_s3.py; returns its pid and port, or -1. */
static pid_t fake_s3_start(int *port)
{
    int fds[2];
    if (pipe(fds) != 0) return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execl("/usr/bin/python3", "python3", "tests/tools/vision_fake_s3.py", "AKIDTEST", "s3cr3t/key+", "eu-test-1", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    char line[32] = {0};
    FILE *f = fdopen(fds[0], "r");
    if (!f || !fgets(line, sizeof line, f)) { if (f) fclose(f); else close(fds[0]); kill(pid, SIGTERM); waitpid(pid, NULL, 0); return -1; }
    fclose(f);
    *port = atoi(line);
    return *port > 0 ? pid : -1;
}

TEST(blob_s3_contract_against_fake_s3)
{
    int port = 0;
    pid_t pid = fake_s3_start(&port);
    REQUIRE(pid > 0);
    char *dir = test_tmpdir(), err[256], endpoint[64];
    snprintf(endpoint, sizeof endpoint, "http://127.0.0.1:%d/", port);
    blob_s3_config_t cfg = {.endpoint = endpoint, .bucket = "rodeo-photos", .region = "eu-test-1",
                            .access_key = "AKIDTEST", .secret_key = "s3cr3t/key+", .prefix = "photos/",
                            .timeout_ms = 10000};
    blob_store_t *s = blob_s3_open(&cfg, err, sizeof err);
    REQUIRE(s);
    blob_contract(s, dir);
    char key[65];
    sha256_hex("x", 1, key);
    char *url = blob_url(s, key);
    char want[200];
    snprintf(want, sizeof want, "http://127.0.0.1:%d/rodeo-photos/photos/%s", port, key);
    CHECK_STR(url, want);
    free(url);
    blob_close(s);
    /* A wrong secret: the peer's independent SigV4 check refuses, and we say so. */
    cfg.secret_key = "wrong";
    s = blob_s3_open(&cfg, err, sizeof err);
    REQUIRE(s);
    CHECK_INT(blob_put(s, key, "x", 1, err, sizeof err), BLOB_ERR_IO);
    CHECK(strstr(err, "403") && strstr(err, "SignatureDoesNotMatch"));
    blob_close(s);
    /* Unreachable endpoint: an I/O error, not a hang. */
    cfg.secret_key = "s3cr3t/key+";
    cfg.endpoint = "http://127.0.0.1:1";
    s = blob_s3_open(&cfg, err, sizeof err);
    REQUIRE(s);
    CHECK_INT(blob_put(s, key, "x", 1, err, sizeof err), BLOB_ERR_IO);
    blob_close(s);
    cfg.bucket = "a/b";
    CHECK(blob_s3_open(&cfg, err, sizeof err) == NULL);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    free(dir);
}
