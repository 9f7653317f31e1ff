/* test_ml_safetensors.c — the safetensors reader on valid and hostile files, and the model
 * loaders on files with missing or mis-shaped tensors and broken configs. */
#include "test.h"
#include "ml/safetensors.h"
#include "ml/clip.h"
#include "ml/vit.h"
#include "ml/bpe.h"
#include "core/buf.h"
#include <stdlib.h>

/* Builds header + data: an 8-byte length, the JSON, then data_len bytes of pattern. */
static void make_file(buf_t *b, const char *json, size_t data_len)
{
    buf_reset(b);
    uint64_t n = strlen(json);
    unsigned char len[8];
    for (int i = 0; i < 8; i++) len[i] = (unsigned char)(n >> (8 * i));
    buf_append(b, len, 8);
    buf_append(b, json, n);
    for (size_t i = 0; i < data_len; i++) buf_putc(b, (char)(i * 7));
}

static st_file_t *open_json(buf_t *b, const char *json, size_t data_len, char *err, size_t errlen)
{
    make_file(b, json, data_len);
    err[0] = '\0';
    return safetensors_open_memory(b->data, b->len, err, errlen);
}

TEST(ml_safetensors_valid)
{
    buf_t b = {0};
    char err[512];
    st_file_t *f = open_json(&b,
        "{\"__metadata__\":{\"format\":\"pt\"},"
        "\"b\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
        "\"a\":{\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[24,32]},"
        "\"s\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[32,36]},"
        "\"e\":{\"dtype\":\"I64\",\"shape\":[0,5],\"data_offsets\":[36,36]}}", 36, err, sizeof err);
    if (!f) printf("    %s\n", err);
    REQUIRE(f);
    CHECK_INT(safetensors_count(f), 4);
    const st_tensor_t *t = safetensors_find(f, "b");
    REQUIRE(t);
    CHECK_INT(t->dtype, ST_F32);
    CHECK_INT(t->ndim, 2);
    CHECK_INT(t->shape[1], 3);
    CHECK_INT(t->numel, 6);
    CHECK_INT(t->nbytes, 24);
    CHECK((const char *)t->data == b.data + 8 + strlen(b.data + 8) - 36 + 0 || t->offset > 8);
    const st_tensor_t *a = safetensors_find(f, "a");
    REQUIRE(a);
    CHECK_INT(a->offset - t->offset, 24);
    CHECK_INT(((const unsigned char *)a->data)[0], (24 * 7) & 0xff);
    CHECK_INT(safetensors_find(f, "s")->numel, 1);
    CHECK_INT(safetensors_find(f, "e")->numel, 0);
    CHECK(safetensors_find(f, "zz") == NULL);
    CHECK(safetensors_find(f, "__metadata__") == NULL);
    CHECK_STR(safetensors_at(f, 0)->name, "a");     /* sorted by name */
    safetensors_close(f);
    buf_free(&b);
}

/* Each hostile header must be refused with a message containing want. */
static void expect_bad(const char *json, size_t data_len, const char *want)
{
    buf_t b = {0};
    char err[512];
    st_file_t *f = open_json(&b, json, data_len, err, sizeof err);
    if (f) { test_fail(__FILE__, __LINE__, "accepted: %s", json); safetensors_close(f); }
    else if (!strstr(err, want)) test_fail(__FILE__, __LINE__, "error '%s' lacks '%s'", err, want);
    buf_free(&b);
}

TEST(ml_safetensors_hostile)
{
    expect_bad("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}}", 20, "'w'");        /* truncated data */
    expect_bad("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,20]}}", 24, "'w'");        /* size lie */
    expect_bad("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[4,28]}}", 24, "outside");
    expect_bad("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[24,0]}}", 24, "'w'");
    expect_bad("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[-4,20]}}", 24, "'w'");
    expect_bad("{\"w\":{\"dtype\":\"Q4\",\"shape\":[2],\"data_offsets\":[0,1]}}", 1, "dtype");
    expect_bad("{\"w\":{\"dtype\":7,\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "dtype");
    expect_bad("{\"w\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "dtype");
    expect_bad("{\"w\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8, "dimension");
    expect_bad("{\"w\":{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,8]}}", 8, "dimension");
    expect_bad("{\"w\":{\"dtype\":\"F32\",\"shape\":\"2\",\"data_offsets\":[0,8]}}", 8, "shape");
    expect_bad("{\"w\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4, "shape");
    expect_bad("{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,16],\"data_offsets\":[0,8]}}", 8, "absurd");
    expect_bad("{\"w\":{\"dtype\":\"F32\",\"shape\":[9223372036854775807,2],\"data_offsets\":[0,8]}}", 8, "absurd");
    expect_bad("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}}", 8, "data_offsets");
    expect_bad("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":\"0-8\"}}", 8, "data_offsets");
    expect_bad("{\"w\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8, "data_offsets");
    expect_bad("{\"w\":[1,2,3]}", 8, "'w'");
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
               "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, "overlaps");
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
               "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "JSON");
    expect_bad("[1,2]", 8, "not a JSON object");
    expect_bad("{\"w\":", 8, "JSON");
    expect_bad("\x01\x02garbage", 8, "JSON");
    expect_bad("{\"__metadata__\":5}", 8, "__metadata__");

    char err[256];
    buf_t b = {0};
    /* header length larger than the file, absurd, and files shorter than 8 bytes */
    make_file(&b, "{}", 0);
    b.data[0] = 100;
    CHECK(safetensors_open_memory(b.data, b.len, err, sizeof err) == NULL);
    CHECK(strstr(err, "header length") != NULL);
    memset(b.data, 0xff, 8);
    CHECK(safetensors_open_memory(b.data, b.len, err, sizeof err) == NULL);
    CHECK(safetensors_open_memory(b.data, 5, err, sizeof err) == NULL);
    CHECK(safetensors_open_memory(b.data, 0, err, sizeof err) == NULL);
    /* every truncation of a valid file is refused, never read out of bounds */
    make_file(&b, "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 16);
    for (size_t cut = 0; cut < b.len; cut++) {
        void *copy = xmalloc(cut ? cut : 1);         /* exact-size copy: ASan catches overreads */
        memcpy(copy, b.data, cut);
        st_file_t *f = safetensors_open_memory(copy, cut, err, sizeof err);
        CHECK(f == NULL);
        safetensors_close(f);
        free(copy);
    }
    /* random garbage after a valid length never crashes */
    srand(5);
    for (int round = 0; round < 300; round++) {
        size_t n = 8 + (size_t)(rand() % 200);
        unsigned char *g = xmalloc(n);
        for (size_t i = 0; i < n; i++) g[i] = (unsigned char)rand();
        uint64_t hl = (uint64_t)(rand() % (int)(n - 7));
        for (int i = 0; i < 8; i++) g[i] = (unsigned char)(hl >> (8 * i));
        if (n > 9) { g[8] = '{'; }
        st_file_t *f = safetensors_open_memory(g, n, err, sizeof err);
        safetensors_close(f);
        free(g);
    }
    buf_free(&b);
    /* files on disk: missing, directory */
    CHECK(safetensors_open("/nonexistent/model.safetensors", err, sizeof err) == NULL);
    CHECK(strstr(err, "/nonexistent/model.safetensors") != NULL);
    CHECK(safetensors_open("/tmp", err, sizeof err) == NULL);
}

static void write_text(const char *dir, const char *name, const char *text)
{
    buf_t p = {0};
    buf_printf(&p, "%s/%s", dir, name);
    FILE *f = fopen(p.data, "wb");
    if (f) { fputs(text, f); fclose(f); }
    buf_free(&p);
}

static void write_bin(const char *dir, const char *name, const buf_t *b)
{
    buf_t p = {0};
    buf_printf(&p, "%s/%s", dir, name);
    FILE *f = fopen(p.data, "wb");
    if (f) { fwrite(b->data, 1, b->len, f); fclose(f); }
    buf_free(&p);
}

TEST(ml_model_load_errors)
{
    char *d = test_tmpdir(), err[512];
    /* no config */
    CHECK(clip_load(d, 0, err, sizeof err) == NULL);
    CHECK(strstr(err, "config.json") != NULL);
    write_text(d, "config.json", "{\"projection_dim\": 8, \"vision_config\": {\"hidden_size\": 8, \"intermediate_size\": 16,"
               " \"num_attention_heads\": 2, \"num_hidden_layers\": 1, \"image_size\": 8, \"patch_size\": 4}}");
    /* no weights file */
    CHECK(clip_load(d, CLIP_LOAD_NO_TEXT, err, sizeof err) == NULL);
    CHECK(strstr(err, "model.safetensors") != NULL);
    /* weights without the vision tensors: the first missing one is named */
    buf_t b = {0};
    make_file(&b, "{\"vision_model.embeddings.patch_embedding.weight\":{\"dtype\":\"F32\",\"shape\":[8,3,4,4],"
                  "\"data_offsets\":[0,1536]}}", 1536);
    write_bin(d, "model.safetensors", &b);
    CHECK(clip_load(d, CLIP_LOAD_NO_TEXT, err, sizeof err) == NULL);
    CHECK(strstr(err, "missing tensor 'vision_model.embeddings.class_embedding'") != NULL);
    /* wrong shape is named with both shapes */
    make_file(&b, "{\"vision_model.embeddings.patch_embedding.weight\":{\"dtype\":\"F32\",\"shape\":[8,3,4,2],"
                  "\"data_offsets\":[0,768]}}", 768);
    write_bin(d, "model.safetensors", &b);
    CHECK(clip_load(d, CLIP_LOAD_NO_TEXT, err, sizeof err) == NULL);
    CHECK(strstr(err, "'vision_model.embeddings.patch_embedding.weight' has shape [8, 3, 4, 2], expected [8, 3, 4, 4]") != NULL);
    /* wrong dtype for a weight */
    make_file(&b, "{\"vision_model.embeddings.patch_embedding.weight\":{\"dtype\":\"I32\",\"shape\":[8,3,4,4],"
                  "\"data_offsets\":[0,1536]}}", 1536);
    write_bin(d, "model.safetensors", &b);
    CHECK(clip_load(d, CLIP_LOAD_NO_TEXT, err, sizeof err) == NULL);
    CHECK(strstr(err, "dtype I32") != NULL);
    /* bad sizes in config */
    write_text(d, "config.json", "{\"vision_config\": {\"image_size\": 30, \"patch_size\": 4}}");
    CHECK(clip_load(d, CLIP_LOAD_NO_TEXT, err, sizeof err) == NULL);
    CHECK(strstr(err, "multiple") != NULL);
    write_text(d, "config.json", "{\"vision_config\": {\"hidden_size\": 10, \"num_attention_heads\": 3, \"image_size\": 8, \"patch_size\": 4}}");
    CHECK(clip_load(d, CLIP_LOAD_NO_TEXT, err, sizeof err) == NULL);
    write_text(d, "config.json", "not json");
    CHECK(clip_load(d, 0, err, sizeof err) == NULL);
    CHECK(vit_load(d, 0, err, sizeof err) == NULL);
    write_text(d, "config.json", "{\"hidden_act\": \"relu6\"}");
    CHECK(vit_load(d, 0, err, sizeof err) == NULL);
    CHECK(strstr(err, "relu6") != NULL);
    /* tokenizer files */
    write_text(d, "vocab.json", "{\"a\": 0, \"<|startoftext|>\": 1, \"<|endoftext|>\": 2}");
    write_text(d, "merges.txt", "#version: 0.2\na b\nab\n");
    buf_t vp = {0}, mp = {0};
    buf_printf(&vp, "%s/vocab.json", d);
    buf_printf(&mp, "%s/merges.txt", d);
    CHECK(bpe_load(vp.data, mp.data, err, sizeof err) == NULL);
    CHECK(strstr(err, ":3:") != NULL);
    write_text(d, "vocab.json", "{\"a\": \"zero\"}");
    CHECK(bpe_load(vp.data, mp.data, err, sizeof err) == NULL);
    write_text(d, "vocab.json", "{\"a\": 0}");
    CHECK(bpe_load(vp.data, mp.data, err, sizeof err) == NULL);
    CHECK(strstr(err, "endoftext") != NULL);
    write_text(d, "vocab.json", "[1]");
    CHECK(bpe_load(vp.data, mp.data, err, sizeof err) == NULL);
    buf_free(&vp);
    buf_free(&mp);
    buf_free(&b);
    free(d);
}
