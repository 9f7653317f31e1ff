/* latency.c — recognition latency with classic features: a 12 MP JPEG through intake
 * (DCT-scaled decode, EXIF, pHash, thumbnail), features + template, and the engine's two
 * stages over an N-image index (HNSW), plus the duplicate path (pHash lookup + stored
 * response parse). The index is the benchmark's catalog images, each repeated with small
 * noise up to N, so the verification stage sees realistic templates.
 * Response assembly from the store (a few primary-key reads) is not included here; the
 * e2e timings in bench/results/recog.md cover the whole HTTP request.
 *
 * usage: latency BENCH_DIR PHOTO.jpg [N=100000] [ITER=30] */
#include "recog/engine.h"
#include "vision/dupindex.h"
#include "vision/intake.h"
#include "core/timeutil.h"
#include "../../tests/unit/recog_jpeg.h"
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static void report(const char *name, int64_t *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_i64);
    printf("  %-26s p50 %8.2f ms   p90 %8.2f ms\n", name, v[n / 2] / 1000.0, v[(n * 9) / 10] / 1000.0);
}

/* Thread CPU time: on a shared machine wall time includes other people's work. */
static int64_t cpu_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static uint64_t rng = 88172645463325252ULL;
static float noise(void)
{
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return ((float)(rng >> 40) / (float)(1ULL << 24) - 0.5f) * 0.04f;
}

int main(int argc, char **argv)
{
    if (argc < 3) { fprintf(stderr, "usage: latency BENCH_DIR PHOTO.jpg [N] [ITER]\n"); return 2; }
    long N = argc > 3 ? atol(argv[3]) : 100000;
    int iters = argc > 4 ? atoi(argv[4]) : 30;
    enum { BASE = 500 };
    float *vec = malloc(sizeof(float) * FEATURES_DIM * BASE);
    features_template_t *tpl = malloc(sizeof *tpl * BASE);
    int nb = 0;
    for (int i = 0; i < BASE; i++) {
        char path[600];
        snprintf(path, sizeof path, "%s/catalog/P%04d.jpg", argv[1], i);
        int w, h;
        uint8_t *px = recog_jpeg_load(path, &w, &h);
        if (!px) break;
        features_compute_all(px, w, h, (size_t)w * 3, NULL, vec + (size_t)nb * FEATURES_DIM, &tpl[nb]);
        free(px);
        nb++;
    }
    if (!nb) { fprintf(stderr, "no catalog images in %s\n", argv[1]); return 1; }
    static const char *cats[8] = { "boots", "hats", "saddles", "belts", "buckles", "vests", "jeans", "jackets" };
    recog_engine_t *e = recog_engine_new();
    float *v = malloc(sizeof(float) * FEATURES_DIM);
    char err[200], brand[32];
    int64_t t0 = time_mono_us();
    for (long i = 0; i < N; i++) {
        const float *b = vec + (size_t)(i % nb) * FEATURES_DIM;
        double ss = 0;
        for (int k = 0; k < FEATURES_DIM; k++) { v[k] = b[k] + (i < nb ? 0 : noise() * b[k]); ss += (double)v[k] * v[k]; }
        for (int k = 0; k < FEATURES_DIM; k++) v[k] = (float)(v[k] / sqrt(ss));
        snprintf(brand, sizeof brand, "brand%ld", i % 40);
        if (recog_engine_add(e, i + 1, i + 1, cats[i % 8], brand, v, &tpl[i % nb], err, sizeof err)) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
        if ((i + 1) % 20000 == 0) fprintf(stderr, "  indexed %ld (%.0f s)\n", i + 1, (time_mono_us() - t0) / 1e6);
    }
    printf("index: %ld images (classic features, %d dims), built in %.1f s\n", N, FEATURES_DIM,
           (time_mono_us() - t0) / 1e6);
    int64_t *t_intake = calloc(iters, 8), *t_feat = calloc(iters, 8), *t_query = calloc(iters, 8),
            *t_total = calloc(iters, 8), *t_dup = calloc(iters, 8), *c_intake = calloc(iters, 8),
            *c_feat = calloc(iters, 8), *c_query = calloc(iters, 8), *c_total = calloc(iters, 8);
    vision_dupindex_t *dups = vision_dupindex_new();
    for (int i = 0; i < 100000; i++) vision_dupindex_add(dups, i, (uint64_t)i * 0x9E3779B97F4A7C15ULL);
    const char *stored = "{\"success\":true,\"method\":\"classic\",\"category\":{\"category\":\"hats\",\"confidence\":0.9,"
                         "\"all_predictions\":[]},\"matches\":[{\"product_id\":1,\"brand\":\"Stetson\",\"model\":\"Open Road\","
                         "\"similarity_score\":0.9,\"prices\":[{\"store_name\":\"Boot Barn\",\"price\":199.0}]}]}";
    features_template_t *qt = malloc(sizeof *qt);
    for (int it = 0; it < iters; it++) {
        int64_t a = time_mono_us(), ca = cpu_us();
        vision_intake_options_t o;
        vision_intake_options_default(&o);
        o.input_size = 32;
        vision_intake_t in;
        memset(&in, 0, sizeof in);
        if (vision_intake_file(argv[2], &o, &in) != 0) { fprintf(stderr, "intake: %s\n", in.error.message); return 1; }
        int64_t b = time_mono_us(), cb = cpu_us();
        features_compute_all(in.thumb.px, in.thumb.w, in.thumb.h, (size_t)in.thumb.w * 3, NULL, v, qt);
        int64_t c = time_mono_us(), cc = cpu_us();
        recog_result_t r;
        recog_query_t q = { .top_k = 5 };
        recog_engine_query(e, v, qt, &q, &r);
        int64_t d = time_mono_us(), cd = cpu_us();
        t_intake[it] = b - a; t_feat[it] = c - b; t_query[it] = d - c; t_total[it] = d - a;
        c_intake[it] = cb - ca; c_feat[it] = cc - cb; c_query[it] = cd - cc; c_total[it] = cd - ca;
        /* duplicate path: intake of the same file is still needed for its pHash */
        int64_t x = time_mono_us();
        vision_dup_match_t m[4];
        vision_dupindex_query(dups, in.phash, 4, m, 4);
        json_t *j = json_loads(stored, 0, NULL);
        char *s = json_dumps(j, JSON_COMPACT);
        free(s);
        json_decref(j);
        t_dup[it] = time_mono_us() - x + (b - a);
        vision_intake_free(&in);
    }
    printf("12 MP photo, %d iterations (1 thread):\n", iters);
    report("intake (decode, EXIF, pHash)", t_intake, iters);
    report("features + template", t_feat, iters);
    report("search + verification", t_query, iters);
    report("total (classic)", t_total, iters);
    report("duplicate path (cached)", t_dup, iters);
    printf("same, thread CPU time:\n");
    report("intake (decode, EXIF, pHash)", c_intake, iters);
    report("features + template", c_feat, iters);
    report("search + verification", c_query, iters);
    report("total (classic)", c_total, iters);
    recog_engine_free(e);
    vision_dupindex_free(dups);
    free(vec); free(tpl); free(v); free(qt);
    free(t_intake); free(t_feat); free(t_query); free(t_total); free(t_dup);
    free(c_intake); free(c_feat); free(c_query); free(c_total);
    return 0;
}
