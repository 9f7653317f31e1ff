/* test_bm25.c — BM25 index: analysis, ranking against a hand-computed score, incremental
 * add/remove, persistence round trip and hostile snapshot files. */
#include "test.h"
#include "index/bm25.h"
#include "core/buf.h"
#include <stdlib.h>

static void collect(const char *tok, size_t len, void *ud)
{
    buf_t *b = ud;
    if (b->len) buf_putc(b, ' ');
    buf_append(b, tok, len);
}

static char *analyse(const char *s)
{
    buf_t b = {0};
    bm25_tokenize(s, strlen(s), collect, &b);
    return buf_steal(&b);
}

TEST(bm25_tokenize_stems_and_drops_stop_words)
{
    char *t = analyse("How do the Ropers rope? Roping, roped ropes!");
    CHECK_STR(t, "roper rop rop rop rop");
    free(t);
    t = analyse("Bulls' horns: 8 SECONDS in bull-riding");
    CHECK_STR(t, "bull horn 8 second bull rid");
    free(t);
    t = analyse("barrels studies hopping rolling jalape\xc3\xb1os");
    CHECK_STR(t, "barrel study hop roll jalape\xc3\xb1os");
    free(t);
    /* Oversized "words" (hashes, base64) and lone letters are not indexed. */
    char big[200];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    t = analyse(big);
    CHECK_STR(t, "");
    free(t);
    t = analyse("a b c \x01\x02\xff");
    CHECK_STR(t, "");
    free(t);
}

TEST(bm25_ranks_by_hand_computed_score)
{
    bm25_t *ix = bm25_new();
    REQUIRE(bm25_add(ix, 10, "bull bull rider", 15) == 0);
    REQUIRE(bm25_add(ix, 20, "barrel horse", 12) == 0);
    REQUIRE(bm25_add(ix, 30, "bull horse saddle bronc", 23) == 0);
    bm25_hit_t hits[5];
    size_t n = bm25_search(ix, "bull", hits, 5);
    REQUIRE(n == 2);
    CHECK_INT(hits[0].id, 10);
    CHECK_INT(hits[1].id, 30);
    /* N=3, df=2, avgdl=(3+2+4)/3=3: idf = ln(1 + 1.5/2.5); doc 10 tf=2 dl=3. */
    double idf = log(1.0 + 1.5 / 2.5);
    double s10 = idf * 2 * 2.2 / (2 + 1.2 * (0.25 + 0.75 * 3.0 / 3.0));
    double s30 = idf * 1 * 2.2 / (1 + 1.2 * (0.25 + 0.75 * 4.0 / 3.0));
    CHECK_NEAR(hits[0].score, s10, 1e-4);
    CHECK_NEAR(hits[1].score, s30, 1e-4);
    CHECK_INT(bm25_search(ix, "the of and", hits, 5), 0);
    CHECK_INT(bm25_search(ix, "unknownword", hits, 5), 0);
    CHECK_INT(bm25_search(ix, "", hits, 5), 0);
    CHECK_INT(bm25_add(ix, 10, "again", 5), -1);
    bm25_free(ix);
}

TEST(bm25_top_k_heap_keeps_the_best)
{
    bm25_t *ix = bm25_new();
    char text[256];
    /* doc i mentions "rope" i times among filler, so higher i ranks higher. */
    for (int i = 1; i <= 50; i++) {
        buf_t b = {0};
        for (int j = 0; j < i; j++) buf_puts(&b, "rope ");
        for (int j = i; j < 50; j++) buf_puts(&b, "filler ");
        REQUIRE(bm25_add(ix, i, b.data, b.len) == 0);
        buf_free(&b);
    }
    (void)text;
    bm25_hit_t hits[5];
    size_t n = bm25_search(ix, "rope", hits, 5);
    REQUIRE(n == 5);
    for (int i = 0; i < 5; i++) CHECK_INT(hits[i].id, 50 - i);
    CHECK_INT(bm25_count(ix), 50);
    bm25_free(ix);
}

TEST(bm25_incremental_remove_and_readd)
{
    bm25_t *ix = bm25_new();
    bm25_add(ix, 1, "team roping header heeler", 25);
    bm25_add(ix, 2, "goat tying breakaway", 20);
    bm25_hit_t hits[4];
    CHECK_INT(bm25_search(ix, "heeler", hits, 4), 1);
    CHECK_INT(bm25_remove(ix, 1), 0);
    CHECK_INT(bm25_remove(ix, 1), -1);
    CHECK_INT(bm25_search(ix, "heeler", hits, 4), 0);
    CHECK(!bm25_contains(ix, 1));
    CHECK_INT(bm25_count(ix), 1);
    CHECK_INT(bm25_add(ix, 1, "heeler loop", 11), 0);
    REQUIRE(bm25_search(ix, "heeler", hits, 4) == 1);
    CHECK_INT(hits[0].id, 1);
    bm25_free(ix);
}

TEST(bm25_snapshot_round_trip)
{
    char *dir = test_tmpdir();
    buf_t path = {0};
    buf_printf(&path, "%s/bm25.idx", dir);
    bm25_t *ix = bm25_new();
    bm25_add(ix, 7, "steer wrestling hazer", 21);
    bm25_add(ix, 8, "barrel racing pattern cloverleaf", 32);
    bm25_add(ix, 9, "removed doc steer", 17);
    bm25_remove(ix, 9);
    char err[200];
    REQUIRE(bm25_save(ix, path.data, err, sizeof err) == 0);
    bm25_t *back = bm25_load(path.data, err, sizeof err);
    REQUIRE(back != NULL);
    CHECK_INT(bm25_count(back), 2);
    bm25_hit_t a[3], b[3];
    size_t na = bm25_search(ix, "steer pattern", a, 3), nb = bm25_search(back, "steer pattern", b, 3);
    REQUIRE(na == nb);
    for (size_t i = 0; i < na; i++) { CHECK_INT(a[i].id, b[i].id); CHECK_NEAR(a[i].score, b[i].score, 1e-6); }
    /* Incremental after load. */
    CHECK_INT(bm25_add(back, 9, "hazer", 5), 0);
    CHECK_INT(bm25_search(back, "hazer", b, 3), 2);
    bm25_free(ix);
    bm25_free(back);
    CHECK(bm25_load("/nonexistent/x.idx", err, sizeof err) == NULL);
    buf_free(&path);
    free(dir);
}

TEST(bm25_load_rejects_hostile_files)
{
    bm25_t *ix = bm25_new();
    bm25_add(ix, 1, "bareback rigging", 16);
    bm25_add(ix, 2, "saddle bronc rein", 17);
    char *dir = test_tmpdir();
    buf_t path = {0};
    buf_printf(&path, "%s/i", dir);
    char err[200];
    REQUIRE(bm25_save(ix, path.data, err, sizeof err) == 0);
    FILE *f = fopen(path.data, "rb");
    REQUIRE(f);
    uint8_t data[4096];
    size_t len = fread(data, 1, sizeof data, f);
    fclose(f);
    bm25_t *ok = bm25_load_mem(data, len, err, sizeof err);
    CHECK(ok != NULL);
    bm25_free(ok);
    /* Every truncation fails cleanly. */
    for (size_t cut = 0; cut < len; cut++) {
        bm25_t *x = bm25_load_mem(data, cut, err, sizeof err);
        CHECK(x == NULL);
        bm25_free(x);
    }
    /* Every single-byte flip fails (checksum), never crashes. */
    for (size_t i = 0; i < len; i++) {
        data[i] ^= 0x5a;
        bm25_t *x = bm25_load_mem(data, len, err, sizeof err);
        CHECK(x == NULL);
        bm25_free(x);
        data[i] ^= 0x5a;
    }
    /* Garbage. */
    uint8_t junk[300];
    for (size_t i = 0; i < sizeof junk; i++) junk[i] = (uint8_t)(i * 37 + 11);
    CHECK(bm25_load_mem(junk, sizeof junk, err, sizeof err) == NULL);
    bm25_free(ix);
    buf_free(&path);
    free(dir);
}

#include "core/crypto.h"
/* Structural checks behind the checksum: re-sign a tampered image so the parser itself must
 * catch the inconsistency. */
static bm25_t *load_resigned(uint8_t *data, size_t len, char *err, size_t errlen)
{
    sha256(data, len - SHA256_LEN, data + len - SHA256_LEN);
    return bm25_load_mem(data, len, err, errlen);
}

TEST(bm25_load_rejects_consistent_checksum_but_bad_structure)
{
    bm25_t *ix = bm25_new();
    bm25_add(ix, 1, "tiedown", 7);
    char *dir = test_tmpdir();
    buf_t path = {0};
    buf_printf(&path, "%s/i", dir);
    char err[200];
    REQUIRE(bm25_save(ix, path.data, err, sizeof err) == 0);
    FILE *f = fopen(path.data, "rb");
    REQUIRE(f);
    uint8_t data[512], work[512];
    size_t len = fread(data, 1, sizeof data, f);
    fclose(f);
    /* layout: 8 magic, 4 version, 4 ndocs, 4 nterms, doc(8+4+1), term(2+7+4+8) */
    size_t off_ver = 8, off_ndocs = 12, off_alive = 20 + 12, off_tl = 33, off_doc = 33 + 2 + 7 + 4;
    struct { size_t off; uint8_t val; const char *what; } cases[] = {
        { off_ver, 9, "version" }, { off_ndocs, 200, "ndocs" }, { off_alive, 2, "alive flag" },
        { off_tl, 0, "term length" }, { off_tl, 60, "oversized term" }, { off_doc, 1, "posting doc" },
        { off_doc + 4, 0, "zero tf" }, { off_doc + 4, 3, "length mismatch" },
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        memcpy(work, data, len);
        work[cases[c].off] = cases[c].val;
        bm25_t *x = load_resigned(work, len, err, sizeof err);
        if (x) test_fail(__FILE__, __LINE__, "accepted bad %s", cases[c].what);
        bm25_free(x);
    }
    memcpy(work, data, len);
    bm25_t *x = load_resigned(work, len, err, sizeof err);
    CHECK(x != NULL);
    bm25_free(x);
    bm25_free(ix);
    buf_free(&path);
    free(dir);
}
