/* test_ml_models.c — CLIP, ViT and tokenizer against independent PyTorch / Python references
 * (tests/tools/ml_make_models.py builds tiny random-weight models in the real file format and
 * writes the expected outputs; it runs once per test run). ml_clip_b32_reference is the slow
 * one (~5 s): a ViT-B/32-sized vision tower with random weights. */
#include "test.h"
#include "ml/bpe.h"
#include "ml/clip.h"
#include "ml/gemm_bf16.h"
#include "ml/gemm_f32.h"
#include "ml/gemm_i8.h"
#include "ml/service.h"
#include "ml/kernels.h"
#include "ml/vit.h"
#include "ml/zeroshot.h"
#include "core/buf.h"
#include <jansson.h>
#include <stdlib.h>
#include <sys/stat.h>

static char *fixture_dir;
static int fixture_failed;

/* Builds the fixtures once (by the first test that needs them). */
static const char *fixtures(void)
{
    if (fixture_dir || fixture_failed) return fixture_dir;
    char *d = test_tmpdir();
    buf_t cmd = {0};
    buf_printf(&cmd, "/usr/bin/python3 tests/tools/ml_make_models.py '%s' --big", d);
    if (system(cmd.data) != 0) { fixture_failed = 1; free(d); d = NULL; }
    buf_free(&cmd);
    fixture_dir = d;
    return d;
}

__attribute__((destructor)) static void fixtures_free(void) { free(fixture_dir); }

static void *read_all(const char *dir, const char *name, size_t *len)
{
    buf_t p = {0};
    buf_printf(&p, "%s/%s", dir, name);
    FILE *f = fopen(p.data, "rb");
    buf_free(&p);
    if (!f) return NULL;
    buf_t b = {0};
    char tmp[65536];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0) buf_append(&b, tmp, n);
    fclose(f);
    *len = b.len;
    return buf_steal(&b);
}

static char *path(const char *dir, const char *name)
{
    buf_t p = {0};
    buf_printf(&p, "%s/%s", dir, name);
    return buf_steal(&p);
}

static double max_abs_diff(const float *a, const float *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) if (fabs((double)a[i] - b[i]) > m) m = fabs((double)a[i] - b[i]);
    if (getenv("ML_TEST_DEBUG")) printf("    max abs diff %.3g over %zu values (first %g vs %g)\n", m, n, a[0], b[0]);
    return m;
}

/* Reads a file of JSON strings, one per line. */
static char **read_lines(const char *dir, const char *name, int *n)
{
    size_t len;
    char *data = read_all(dir, name, &len);
    *n = 0;
    if (!data) return NULL;
    char **out = NULL;
    int cap = 0;
    for (char *line = strtok(data, "\n"); line; line = strtok(NULL, "\n")) {
        json_t *j = json_loads(line, JSON_DECODE_ANY, NULL);
        if (!j) continue;
        if (*n == cap) { cap = cap ? cap * 2 : 64; out = xrealloc(out, (size_t)cap * sizeof *out); }
        out[(*n)++] = xstrndup(json_string_value(j), json_string_length(j));
        json_decref(j);
    }
    free(data);
    return out;
}

static void free_lines(char **l, int n)
{
    for (int i = 0; i < n; i++) free(l[i]);
    free(l);
}

TEST(ml_clip_image_reference)
{
    const char *d = fixtures();
    REQUIRE(d);
    char err[512], *mdir = path(d, "clip_tiny");
    clip_model_t *m = clip_load(mdir, 0, err, sizeof err);
    free(mdir);
    if (!m) printf("    %s\n", err);
    REQUIRE(m);
    size_t pl, rl;
    float *px = read_all(d, "clip_pixels.f32", &pl), *ref = read_all(d, "clip_image_ref.f32", &rl);
    REQUIRE(px && ref);
    int dim = clip_embed_dim(m), s = clip_image_size(m);
    CHECK_INT(dim, 24);
    CHECK_INT(s, 32);
    CHECK_INT(rl, 3 * dim * sizeof(float));
    float out[3 * 24];
    /* batch 3, then each image alone: both must match the reference */
    REQUIRE(clip_embed_images(m, px, 3, out) == 0);
    CHECK(max_abs_diff(out, ref, 3 * (size_t)dim) < 1e-4);
    for (int i = 0; i < 3; i++) {
        REQUIRE(clip_embed_images(m, px + (size_t)i * 3 * s * s, 1, out) == 0);
        CHECK(max_abs_diff(out, ref + i * dim, (size_t)dim) < 1e-4);
    }
    /* the portable kernels (and OpenBLAS instead of our AVX-512 product) agree too */
    ml_kernels_force_generic(1);
    gemm_f32_force_blas(1);
    clip_embed_images(m, px, 3, out);
    ml_kernels_force_generic(0);
    gemm_f32_force_blas(0);
    CHECK(max_abs_diff(out, ref, 3 * (size_t)dim) < 1e-4);
    CHECK(clip_embed_images(m, px, 0, out) == -1);
    free(px);
    free(ref);
    clip_free(m);
}

TEST(ml_clip_fp16_file)
{
    const char *d = fixtures();
    REQUIRE(d);
    char err[512], *mdir = path(d, "clip_tiny_fp16");
    clip_model_t *m = clip_load(mdir, CLIP_LOAD_NO_TEXT, err, sizeof err);
    free(mdir);
    REQUIRE(m);
    CHECK(!clip_has_text(m));
    size_t pl, rl;
    float *px = read_all(d, "clip_pixels.f32", &pl), *ref = read_all(d, "clip_image_ref16.f32", &rl);
    REQUIRE(px && ref);
    float out[3 * 24];
    REQUIRE(clip_embed_images(m, px, 3, out) == 0);
    CHECK(max_abs_diff(out, ref, 72) < 1e-4);
    CHECK(clip_embed_texts(m, (const char *const[]){"x"}, 1, out) == -1);
    free(px);
    free(ref);
    clip_free(m);
}

TEST(ml_clip_text_reference)
{
    const char *d = fixtures();
    REQUIRE(d);
    char err[512], *mdir = path(d, "clip_tiny");
    clip_model_t *m = clip_load(mdir, 0, err, sizeof err);
    free(mdir);
    REQUIRE(m);
    REQUIRE(clip_has_text(m));
    int n;
    char **texts = read_lines(d, "clip_texts.txt", &n);
    size_t rl;
    float *ref = read_all(d, "clip_text_ref.f32", &rl);
    REQUIRE(texts && ref && n == 6);
    int dim = clip_embed_dim(m);
    float *out = xmalloc((size_t)n * dim * sizeof *out);
    REQUIRE(clip_embed_texts(m, (const char *const *)texts, n, out) == 0);
    CHECK(max_abs_diff(out, ref, (size_t)n * dim) < 1e-4);
    for (int i = 0; i < n; i++) {
        REQUIRE(clip_embed_texts(m, (const char *const *)&texts[i], 1, out) == 0);
        CHECK(max_abs_diff(out, ref + (size_t)i * dim, (size_t)dim) < 1e-4);
    }
    free(out);
    free(ref);
    free_lines(texts, n);
    clip_free(m);
}

TEST(ml_tokenizer_reference)
{
    const char *d = fixtures();
    REQUIRE(d);
    char err[512], *vp = path(d, "clip_tiny/vocab.json"), *mp = path(d, "clip_tiny/merges.txt");
    bpe_t *b = bpe_load(vp, mp, err, sizeof err);
    free(vp);
    free(mp);
    REQUIRE(b);
    int n;
    char **cases = read_lines(d, "tok_cases.txt", &n);
    size_t il;
    int32_t *ref = read_all(d, "tok_ids.i32", &il);
    REQUIRE(cases && ref);
    REQUIRE(n > 3000 && il == (size_t)n * 77 * sizeof(int32_t));
    int mismatches = 0;
    int32_t ids[77];
    for (int i = 0; i < n; i++) {
        int cnt = bpe_encode(b, cases[i], ids, 77);
        CHECK(cnt >= 2 && cnt <= 77);
        if (memcmp(ids, ref + (size_t)i * 77, sizeof ids)) {
            if (mismatches++ < 3) {
                printf("    case %d: %s\n     ours:", i, cases[i]);
                for (int j = 0; j < 20; j++) printf(" %d", ids[j]);
                printf("\n     want:");
                for (int j = 0; j < 20; j++) printf(" %d", ref[(size_t)i * 77 + j]);
                printf("\n");
            }
        }
    }
    CHECK_INT(mismatches, 0);
    CHECK_INT(bpe_encode(b, "x", ids, 1), -1);
    free(ref);
    free_lines(cases, n);
    bpe_free(b);
}

TEST(ml_vit_reference)
{
    const char *d = fixtures();
    REQUIRE(d);
    char err[512], *mdir = path(d, "vit_tiny");
    vit_model_t *m = vit_load(mdir, 0, err, sizeof err);
    free(mdir);
    if (!m) printf("    %s\n", err);
    REQUIRE(m);
    CHECK_INT(vit_num_labels(m), 5);
    CHECK_STR(vit_label(m, 1), "cowboy hat");
    size_t pl, rl;
    float *px = read_all(d, "vit_pixels.f32", &pl), *ref = read_all(d, "vit_logits.f32", &rl);
    REQUIRE(px && ref);
    float out[15];
    REQUIRE(vit_logits(m, px, 3, out) == 0);
    CHECK(max_abs_diff(out, ref, 15) < 1e-4);
    int s = vit_image_size(m);
    vit_prediction_t top[3];
    CHECK_INT(vit_classify(m, px + (size_t)3 * s * s, top, 3), 3);
    int best = 0;
    for (int i = 1; i < 5; i++) if (ref[5 + i] > ref[5 + best]) best = i;
    CHECK_INT(top[0].index, best);
    CHECK_STR(top[0].label, vit_label(m, best));
    CHECK(top[0].score >= top[1].score && top[1].score >= top[2].score && top[0].score <= 1.0f);
    vit_free(m);
    /* the int8 path on the classifier: logits close to fp32, the same top label */
    if (gemm_i8_hw()) {
        mdir = path(d, "vit_tiny");
        m = vit_load(mdir, CLIP_LOAD_INT8, err, sizeof err);
        free(mdir);
        REQUIRE(m);
        float out8[15];
        REQUIRE(vit_logits(m, px, 3, out8) == 0);
        double scale = 0;
        for (int i = 0; i < 15; i++) if (fabs(ref[i]) > scale) scale = fabs(ref[i]);
        CHECK(max_abs_diff(out8, ref, 15) < 0.05 * scale);
        CHECK_INT(vit_classify(m, px + (size_t)3 * s * s, top, 1), 1);
        CHECK_INT(top[0].index, best);
        vit_free(m);
    }
    free(px);
    free(ref);
}

static double cosine(const float *a, const float *b, int n)
{
    double d = 0, na = 0, nb = 0;
    for (int i = 0; i < n; i++) { d += (double)a[i] * b[i]; na += (double)a[i] * a[i]; nb += (double)b[i] * b[i]; }
    if (getenv("ML_TEST_DEBUG")) printf("    cosine %.6f\n", d / sqrt(na * nb));
    return d / sqrt(na * nb);
}

/* Slow (~5 s): ViT-B/32-sized random weights, fp32 reference and the bf16 path. */
TEST(ml_clip_b32_reference)
{
    const char *d = fixtures();
    REQUIRE(d);
    char err[512], *mdir = path(d, "clip_b32");
    clip_model_t *m = clip_load(mdir, CLIP_LOAD_NO_TEXT, err, sizeof err);
    REQUIRE(m);
    size_t pl, rl;
    float *px = read_all(d, "b32_pixels.f32", &pl), *ref = read_all(d, "b32_ref.f32", &rl);
    REQUIRE(px && ref && rl == 2 * 512 * sizeof(float));
    float out[2 * 512], outb[2 * 512];
    ml_threads_set(2);
    REQUIRE(clip_embed_images(m, px, 2, out) == 0);
    ml_threads_set(1);
    CHECK(max_abs_diff(out, ref, 1024) < 1e-4);
    clip_free(m);
    if (gemm_bf16_hw()) {
        m = clip_load(mdir, CLIP_LOAD_NO_TEXT | CLIP_LOAD_BF16, err, sizeof err);
        REQUIRE(m);
        CHECK(clip_uses_bf16(m));
        REQUIRE(clip_embed_images(m, px, 2, outb) == 0);
        for (int i = 0; i < 2; i++) CHECK(cosine(outb + i * 512, ref + i * 512, 512) >= 0.995);
        clip_free(m);
    }
    if (gemm_i8_hw()) {
        m = clip_load(mdir, CLIP_LOAD_NO_TEXT | CLIP_LOAD_INT8, err, sizeof err);
        REQUIRE(m);
        CHECK(clip_uses_int8(m));
        CHECK_STR(clip_precision(m), "int8");
        REQUIRE(clip_embed_images(m, px, 2, outb) == 0);
        for (int i = 0; i < 2; i++) CHECK(cosine(outb + i * 512, ref + i * 512, 512) >= 0.995);
        clip_free(m);
    }
    free(mdir);
    free(px);
    free(ref);
}

TEST(ml_clip_bf16_tiny)
{
    const char *d = fixtures();
    REQUIRE(d);
    if (!gemm_bf16_hw()) return;       /* the CPU has no AVX512_BF16: fp32 only, checked elsewhere */
    char err[512], *mdir = path(d, "clip_tiny");
    clip_model_t *m = clip_load(mdir, CLIP_LOAD_BF16, err, sizeof err);
    free(mdir);
    REQUIRE(m);
    size_t pl, rl, tl;
    float *px = read_all(d, "clip_pixels.f32", &pl), *ref = read_all(d, "clip_image_ref.f32", &rl);
    float *tref = read_all(d, "clip_text_ref.f32", &tl);
    float out[6 * 24];
    REQUIRE(clip_embed_images(m, px, 3, out) == 0);
    for (int i = 0; i < 3; i++) CHECK(cosine(out + i * 24, ref + i * 24, 24) >= 0.995);
    int n;
    char **texts = read_lines(d, "clip_texts.txt", &n);
    REQUIRE(clip_embed_texts(m, (const char *const *)texts, n, out) == 0);
    for (int i = 0; i < n; i++) CHECK(cosine(out + i * 24, tref + i * 24, 24) >= 0.995);
    free_lines(texts, n);
    free(px);
    free(ref);
    free(tref);
    clip_free(m);
}

/* int8 on the tiny model: both towers against the fp32 references, and the portable loop
 * must give the very same embeddings as the VNNI kernel (the integer sums are exact). */
TEST(ml_clip_int8_tiny)
{
    const char *d = fixtures();
    REQUIRE(d);
    if (!gemm_i8_hw()) return;         /* no AVX512_VNNI: the loader keeps fp32 (checked below) */
    char err[512], *mdir = path(d, "clip_tiny");
    clip_model_t *m = clip_load(mdir, CLIP_LOAD_INT8 | CLIP_LOAD_BF16, err, sizeof err);
    free(mdir);
    REQUIRE(m);
    CHECK_STR(clip_precision(m), "int8");
    CHECK(!clip_uses_bf16(m));
    size_t pl, rl, tl;
    float *px = read_all(d, "clip_pixels.f32", &pl), *ref = read_all(d, "clip_image_ref.f32", &rl);
    float *tref = read_all(d, "clip_text_ref.f32", &tl);
    REQUIRE(px && ref && tref);
    float out[6 * 24], out2[6 * 24];
    REQUIRE(clip_embed_images(m, px, 3, out) == 0);
    for (int i = 0; i < 3; i++) CHECK(cosine(out + i * 24, ref + i * 24, 24) >= 0.995);
    gemm_i8_force_portable(1);
    REQUIRE(clip_embed_images(m, px, 3, out2) == 0);
    gemm_i8_force_portable(0);
    CHECK(max_abs_diff(out, out2, 3 * 24) < 1e-6);
    int n;
    char **texts = read_lines(d, "clip_texts.txt", &n);
    REQUIRE(texts && n <= 6);
    REQUIRE(clip_embed_texts(m, (const char *const *)texts, n, out) == 0);
    for (int i = 0; i < n; i++) CHECK(cosine(out + i * 24, tref + i * 24, 24) >= 0.995);
    free_lines(texts, n);
    free(px);
    free(ref);
    free(tref);
    clip_free(m);
}

TEST(ml_precision_flags)
{
    CHECK_INT(ml_service_precision_flags(NULL), 0);
    CHECK_INT(ml_service_precision_flags(""), 0);
    CHECK_INT(ml_service_precision_flags("fp32"), 0);
    CHECK_INT(ml_service_precision_flags("int4"), -1);
    CHECK_INT(ml_service_precision_flags("bf16"), gemm_bf16_hw() ? CLIP_LOAD_BF16 : 0);
    CHECK_INT(ml_service_precision_flags("int8"), gemm_i8_hw() ? CLIP_LOAD_INT8 : 0);
    int r = ml_service_precision_flags("reduced");
    CHECK_INT(r, gemm_i8_hw() ? CLIP_LOAD_INT8 : gemm_bf16_hw() ? CLIP_LOAD_BF16 : 0);
}

TEST(ml_zeroshot_classify)
{
    const char *d = fixtures();
    REQUIRE(d);
    char err[512], *mdir = path(d, "clip_tiny");
    clip_model_t *m = clip_load(mdir, 0, err, sizeof err);
    clip_model_t *vonly = clip_load(mdir, CLIP_LOAD_NO_TEXT, err, sizeof err);
    free(mdir);
    REQUIRE(m && vonly);
    CHECK(zeroshot_new(vonly, NULL, 0) == NULL);
    clip_free(vonly);
    const char *const tpl[] = {"a photo of a {}.", "{} for sale, {}", NULL};
    zeroshot_t *z = zeroshot_new(m, tpl, 2);
    REQUIRE(z);
    int dim = clip_embed_dim(m);
    /* the ensemble is the normalised mean of the template embeddings */
    float e[2 * 24], want[24], got[24];
    const char *texts[] = {"a photo of a saddle.", "saddle for sale, saddle"};
    REQUIRE(clip_embed_texts(m, texts, 2, e) == 0);
    for (int i = 0; i < dim; i++) want[i] = (e[i] + e[dim + i]) / 2;
    ml_l2_normalize(want, dim);
    REQUIRE(zeroshot_label_embedding(z, "saddle", got) == 0);
    CHECK(max_abs_diff(got, want, (size_t)dim) < 1e-6);
    REQUIRE(zeroshot_label_embedding(z, "saddle", got) == 0);
    CHECK(max_abs_diff(got, want, (size_t)dim) < 1e-6);
    size_t hits, misses;
    zeroshot_cache_stats(z, &hits, &misses);
    CHECK_INT(hits, 1);
    CHECK_INT(misses, 1);
    /* classification: softmax(scale * cos), sorted, indices into the caller's labels */
    size_t pl;
    float *px = read_all(d, "clip_pixels.f32", &pl), img[24];
    REQUIRE(px);
    REQUIRE(clip_embed_images(m, px, 1, img) == 0);
    const char *labels[] = {"saddle", "cowboy hat", "boots", "rope"};
    zeroshot_score_t out[4];
    REQUIRE(zeroshot_classify(z, img, labels, 4, out) == 0);     /* cache of 2: it starts over */
    double logits[4], mx = -1e30, sum = 0, total = 0;
    for (int i = 0; i < 4; i++) {
        float le[24];
        zeroshot_label_embedding(z, labels[i], le);
        double dot = 0;
        for (int k = 0; k < dim; k++) dot += (double)le[k] * img[k];
        logits[i] = clip_logit_scale(m) * dot;
        if (logits[i] > mx) mx = logits[i];
    }
    for (int i = 0; i < 4; i++) sum += exp(logits[i] - mx);
    for (int i = 0; i < 4; i++) {
        CHECK_NEAR(out[i].score, exp(logits[out[i].index] - mx) / sum, 1e-5);
        if (i) CHECK(out[i - 1].score >= out[i].score);
        total += out[i].score;
    }
    CHECK_NEAR(total, 1.0, 1e-5);
    CHECK(zeroshot_classify(z, img, labels, 0, out) == -1);
    free(px);
    zeroshot_free(z);
    clip_free(m);
}
