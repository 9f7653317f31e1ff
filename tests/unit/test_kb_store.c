/* test_kb_store.c — the knowledge base persisted in the store (kb_documents, kb_chunks,
 * vectors): ingest, reopen in a "new process", replace, vectors, remove. Names start with
 * store_ so the PostgreSQL suite runs them too (the database is shared there, so every test
 * uses its own unique source names and words). */
#include "test.h"
#include "store_fixture.h"
#include "kb/kb.h"
#include "store/kb.h"
#include "core/buf.h"
#include "core/crypto.h"
#include <stdlib.h>

static int toy_embed(const char *text, float **vec, int *dim, void *ud)
{
    (void)ud;
    float *v = calloc(4, sizeof *v);
    v[0] = strstr(text, "horse") || strstr(text, "equine") ? 1.0f : 0.0f;
    v[1] = strstr(text, "rope") ? 1.0f : 0.0f;
    v[3] = 0.01f;
    *vec = v; *dim = 4;
    return 0;
}

TEST(store_kb_persists_across_processes)
{
    store_t *st = fixture_store_open();
    REQUIRE(st);
    char *dir = test_tmpdir();
    char err[256], tag[17], source[64], word[32];
    uint8_t rnd[8];
    random_bytes(rnd, sizeof rnd);
    hex_encode(rnd, sizeof rnd, tag);
    snprintf(source, sizeof source, "t/%s.md", tag);
    snprintf(word, sizeof word, "zq%s", tag);          /* a word no other document has */
    buf_t doc = {0};
    buf_printf(&doc, "---\ntitle: Hazing %s\ntopic: events\nlevel: advanced\n---\n# H\n\nThe %s horse keeps the steer straight.\n", tag, word);

    kb_t *kb = kb_open_store(st, dir, err, sizeof err);
    REQUIRE(kb);
    kb_set_embedder(kb, toy_embed, NULL);
    size_t before = kb_doc_count(kb);
    int status; size_t nc;
    REQUIRE(kb_ingest_text(kb, source, doc.data, doc.len, &status, &nc, err, sizeof err) == 0);
    CHECK_INT(status, KB_ADDED);
    CHECK_INT(kb_doc_count(kb), before + 1);
    REQUIRE(kb_save(kb, err, sizeof err) == 0);
    kb_close(kb);

    /* A second process: same store, empty index dir (snapshot rebuilt from the store). */
    char *dir2 = test_tmpdir();
    kb = kb_open_store(st, dir2, err, sizeof err);
    REQUIRE(kb);
    CHECK_INT(kb_doc_count(kb), before + 1);
    kb_hit_t *h;
    size_t n = kb_search(kb, word, 3, &h);
    REQUIRE(n == 1);
    CHECK_STR(h[0].source, source);
    CHECK(strstr(h[0].title, tag) != NULL);
    CHECK_STR(h[0].topic, "events");
    int64_t first_id = h[0].id;
    kb_hits_free(h, n);
    json_t *list = kb_list(kb);
    size_t i; json_t *d; int seen = 0;
    json_array_foreach(list, i, d)
        if (!strcmp(json_string_value(json_object_get(d, "source")), source)) {
            seen = 1;
            CHECK_STR(json_string_value(json_object_get(d, "level")), "advanced");
            CHECK_INT(json_integer_value(json_object_get(d, "bytes")), doc.len);
        }
    CHECK(seen);
    json_decref(list);
    /* Vectors came back from the store: the synonym is found by the dense side alone. */
    kb_set_embedder(kb, toy_embed, NULL);
    n = kb_search(kb, "equine", 50, &h);
    int dense = 0;
    for (size_t k = 0; k < n; k++) dense |= !strcmp(h[k].source, source);
    CHECK(dense);
    kb_hits_free(h, n);
    /* Same bytes: unchanged; new bytes: replaced with new chunk ids. */
    REQUIRE(kb_ingest_text(kb, source, doc.data, doc.len, &status, &nc, err, sizeof err) == 0);
    CHECK_INT(status, KB_UNCHANGED);
    buf_puts(&doc, "\nAdded sentence.\n");
    REQUIRE(kb_ingest_text(kb, source, doc.data, doc.len, &status, &nc, err, sizeof err) == 0);
    CHECK_INT(status, KB_REPLACED);
    n = kb_search(kb, word, 3, &h);
    REQUIRE(n == 1);
    CHECK(h[0].id != first_id);
    kb_hits_free(h, n);
    kb_close(kb);

    kb = kb_open_store(st, dir2, err, sizeof err);   /* stale snapshot: must rebuild */
    REQUIRE(kb);
    n = kb_search(kb, word, 3, &h);
    REQUIRE(n == 1);
    CHECK(strstr(h[0].text, "Added sentence") != NULL);
    kb_hits_free(h, n);
    CHECK_INT(kb_remove(kb, source), 0);
    CHECK_INT(kb_remove(kb, source), -1);
    kb_close(kb);
    kb = kb_open_store(st, NULL, err, sizeof err);
    REQUIRE(kb);
    CHECK_INT(kb_search(kb, word, 3, &h), 0);
    kb_hits_free(h, 0);
    CHECK_INT(store_kb_delete(st, source), STORE_NOT_FOUND);
    kb_close(kb);
    buf_free(&doc);
    free(dir);
    free(dir2);
    store_close(st);
}

TEST(store_kb_sync_picks_up_other_processes_edits)
{
    store_t *st = fixture_store_open();
    REQUIRE(st);
    char err[256], tag[17], source[64], word[32];
    uint8_t rnd[8];
    random_bytes(rnd, sizeof rnd);
    hex_encode(rnd, sizeof rnd, tag);
    snprintf(source, sizeof source, "sync/%s.md", tag);
    snprintf(word, sizeof word, "qx%s", tag);
    kb_t *a = kb_open_store(st, NULL, err, sizeof err), *b = kb_open_store(st, NULL, err, sizeof err);
    REQUIRE(a && b);
    CHECK_INT(kb_sync(b), 0);                             /* nothing changed yet */
    buf_t doc = {0};
    buf_printf(&doc, "# Sync\n\nThe %s rope is new.\n", word);
    REQUIRE(kb_ingest_text(a, source, doc.data, doc.len, NULL, NULL, err, sizeof err) == 0);
    kb_hit_t *h;
    CHECK_INT(kb_search(b, word, 3, &h), 0);              /* b has not looked yet */
    kb_hits_free(h, 0);
    CHECK_INT(kb_sync(b), 1);
    size_t n = kb_search(b, word, 3, &h);
    REQUIRE(n == 1);
    CHECK_STR(h[0].source, source);
    kb_hits_free(h, n);
    CHECK_INT(kb_sync(b), 0);
    CHECK_INT(kb_remove(a, source), 0);
    CHECK_INT(kb_sync(b), 1);
    CHECK_INT(kb_search(b, word, 3, &h), 0);
    kb_hits_free(h, 0);
    kb_close(a);
    kb_close(b);
    kb_t *plain = kb_open(NULL, err, sizeof err);
    CHECK_INT(kb_sync(plain), 0);                          /* not in store mode */
    kb_close(plain);
    buf_free(&doc);
    store_close(st);
}

TEST(store_kb_backfill_vectors_after_enabling_embeddings)
{
    store_t *st = fixture_store_open();
    REQUIRE(st);
    char err[256], tag[17], source[64];
    uint8_t rnd[8];
    random_bytes(rnd, sizeof rnd);
    hex_encode(rnd, sizeof rnd, tag);
    snprintf(source, sizeof source, "backfill/%s.md", tag);
    kb_t *kb = kb_open_store(st, NULL, err, sizeof err);
    REQUIRE(kb);
    const char *text = "A horse with a long mane.";
    REQUIRE(kb_ingest_text(kb, source, text, strlen(text), NULL, NULL, err, sizeof err) == 0);
    CHECK_INT(kb_backfill_vectors(kb, NULL), 0);                 /* no embedder: nothing to do */
    kb_set_embedder(kb, toy_embed, NULL);
    CHECK(kb_backfill_vectors(kb, NULL) >= 1);
    CHECK_INT(kb_backfill_vectors(kb, NULL), 0);                 /* idempotent */
    kb_close(kb);
    kb = kb_open_store(st, NULL, err, sizeof err);         /* vectors persisted */
    REQUIRE(kb);
    kb_set_embedder(kb, toy_embed, NULL);
    kb_hit_t *h;
    size_t n = kb_search(kb, "equine", 50, &h);
    int found = 0;
    for (size_t i = 0; i < n; i++) found |= !strcmp(h[i].source, source);
    CHECK(found);
    kb_hits_free(h, n);
    kb_remove(kb, source);
    kb_close(kb);
    store_close(st);
}
