/* Tests for the .fvecs/.ivecs reader/writer (hostile input included) and for the
 * `rodeo index` command on such files (build, search, info, compact). */
#include "test.h"
#include "test_index_util.h"
#include "cli/cli.h"
#include "index/fvecs.h"
#include "index/vindex.h"
#include <stdlib.h>

static unsigned char *rows_buf(size_t n, int32_t dim, size_t *len)
{
    *len = n * (4 + (size_t)dim * 4);
    unsigned char *b = malloc(*len);
    for (size_t i = 0; i < n; i++) {
        memcpy(b + i * (4 + dim * 4), &dim, 4);
        for (int32_t j = 0; j < dim; j++) {
            float f = (float)(i * 10 + (size_t)j);
            memcpy(b + i * (4 + dim * 4) + 4 + j * 4, &f, 4);
        }
    }
    return b;
}

TEST(index_fvecs_parse_valid_and_hostile)
{
    size_t len, n, dim;
    char err[200];
    unsigned char *b = rows_buf(3, 4, &len);
    float *x = vecs_parse(b, len, 1, &n, &dim, err, sizeof err);
    REQUIRE(x);
    CHECK_INT(n, 3);
    CHECK_INT(dim, 4);
    CHECK_NEAR(x[2 * 4 + 3], 23, 0);
    free(x);
    /* truncated anywhere except at a row boundary (that is a valid shorter file) */
    for (size_t cut = 0; cut < len; cut++) {
        float *y = vecs_parse(b, cut, 1, &n, &dim, err, sizeof err);
        if (cut && cut % 20 == 0) CHECK(y != NULL && n == cut / 20);
        else CHECK(y == NULL);
        free(y);
    }
    /* dimension changes in row 2 */
    int32_t d5 = 5;
    memcpy(b + 2 * 20, &d5, 4);
    CHECK(vecs_parse(b, len, 1, &n, &dim, err, sizeof err) == NULL);
    CHECK(strstr(err, "row 2") != NULL);
    free(b);
    /* oversized / negative / zero dimension headers */
    int32_t hdr[3] = {0x7fffffff, 0, 0};
    CHECK(vecs_parse(hdr, sizeof hdr, 1, &n, &dim, err, sizeof err) == NULL);
    hdr[0] = -4;
    CHECK(vecs_parse(hdr, sizeof hdr, 1, &n, &dim, err, sizeof err) == NULL);
    hdr[0] = 0;
    CHECK(vecs_parse(hdr, sizeof hdr, 1, &n, &dim, err, sizeof err) == NULL);
    CHECK(vecs_parse(NULL, 0, 1, &n, &dim, err, sizeof err) == NULL);
    /* NaN in a float file is rejected; the same bits in an ivecs file are fine */
    b = rows_buf(2, 2, &len);
    uint32_t nan_bits = 0x7fc00000u;
    memcpy(b + 4, &nan_bits, 4);
    CHECK(vecs_parse(b, len, 1, &n, &dim, err, sizeof err) == NULL);
    int32_t *iv = vecs_parse(b, len, 0, &n, &dim, err, sizeof err);
    CHECK(iv != NULL);
    free(iv);
    free(b);
    /* garbage */
    uint64_t s = 5;
    unsigned char g[1000];
    for (int r = 0; r < 200; r++) {
        for (size_t i = 0; i < sizeof g; i++) g[i] = (unsigned char)tiu_next(&s);
        size_t gl = tiu_next(&s) % sizeof g;
        void *o = vecs_parse(g, gl, 1, &n, &dim, err, sizeof err);
        free(o);
    }
    CHECK(fvecs_read("/nonexistent/x.fvecs", &n, &dim, err, sizeof err) == NULL);
}

/* recall@10 of a search result file against brute force (queries are rows n.. of x) */
static double cli_recall(const char *out, const float *x, size_t n, size_t nq, size_t dim)
{
    char err[200];
    size_t rn, rk;
    int32_t *res = ivecs_read(out, &rn, &rk, err, sizeof err);
    if (!res || rn != nq || rk != 10) { free(res); return 0; }
    double rec = 0;
    for (size_t i = 0; i < nq; i++) {
        uint64_t truth[10];
        tiu_brute(x, n, dim, x + (n + i) * dim, 10, VINDEX_L2, NULL, truth);
        vindex_hit_t h[10];
        for (int j = 0; j < 10; j++) h[j].id = (uint64_t)res[i * 10 + j];
        rec += tiu_recall(h, 10, truth, 10);
    }
    free(res);
    return rec / nq;
}

TEST(index_cli_build_search_info_compact)
{
    char *dir = test_tmpdir();
    char base[512], queries[512], out[512], idx[512];
    snprintf(base, sizeof base, "%s/base.fvecs", dir);
    snprintf(queries, sizeof queries, "%s/q.fvecs", dir);
    snprintf(out, sizeof out, "%s/res.ivecs", dir);
    snprintf(idx, sizeof idx, "%s/idx", dir);
    const size_t n = 3000, nq = 30, dim = 16;
    float *x = tiu_clustered(n + nq, dim, 20, 0.4, 0, 41);
    char err[200];
    REQUIRE(fvecs_write(base, x, n, dim, err, sizeof err) == 0);
    REQUIRE(fvecs_write(queries, x + n * dim, nq, dim, err, sizeof err) == 0);
    char *b1[] = {"index", "build", "--input", base, "--output", idx, "--metric", "l2", "--m", "12",
                  "--ef-construction", "64", "--quantize", "int8", "--threads", "2"};
    CHECK_INT(cmd_index(16, b1), 0);
    char *s1[] = {"index", "search", "--index", idx, "--queries", queries, "--k", "10", "--ef", "64",
                  "--output", out};
    CHECK_INT(cmd_index(12, s1), 0);
    CHECK(cli_recall(out, x, n, nq, dim) >= 0.95);
    /* renumbering the nodes of the saved index keeps the answers */
    char *o1[] = {"index", "optimize", "--index", idx};
    CHECK_INT(cmd_index(4, o1), 0);
    CHECK_INT(cmd_index(12, s1), 0);
    CHECK(cli_recall(out, x, n, nq, dim) >= 0.95);
    char *o2[] = {"index", "optimize"};
    CHECK_INT(cmd_index(2, o2), 2);
    char *i1[] = {"index", "info", "--index", idx};
    CHECK_INT(cmd_index(4, i1), 0);
    char *c1[] = {"index", "compact", "--index", idx, "--threads", "1"};
    CHECK_INT(cmd_index(6, c1), 0);
    CHECK_INT(cmd_index(12, s1), 0);
    /* usage errors */
    char *u1[] = {"index", "build", "--input", base};
    CHECK_INT(cmd_index(4, u1), 2);
    char *u2[] = {"index", "search", "--index", idx, "--k", "zero"};
    CHECK_INT(cmd_index(6, u2), 2);
    char *u3[] = {"index", "frobnicate"};
    CHECK_INT(cmd_index(2, u3), 2);
    char *u4[] = {"index", "build", "--input", base, "--output", idx, "--metric", "hamming"};
    CHECK_INT(cmd_index(8, u4), 2);
    /* a query file of the wrong dimension, a missing index */
    REQUIRE(fvecs_write(queries, x, 10, 8, err, sizeof err) == 0);
    CHECK_INT(cmd_index(12, s1), 1);
    char *s2[] = {"index", "search", "--index", "/nonexistent", "--queries", queries, "--output", out};
    CHECK_INT(cmd_index(8, s2), 1);
    free(x);
    free(dir);
}
