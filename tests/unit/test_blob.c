/* test_blob.c — the blob interface on the filesystem backend: content addressing, key
 * validation (no path from user input), atomic publish, idempotence, limits. */
#include "test.h"
#include "blob/blob.h"
#include "core/buf.h"
#include "core/crypto.h"
#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

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
