/* Tests for src/index: distance kernels, exact search, HNSW recall on clustered data,
 * upsert/delete semantics, filters, int8 quantisation, batches and hostile input. */
#include "test.h"
#include "test_index_util.h"
#include "index/vdist.h"
#include "index/vindex.h"
#include <stdlib.h>

TEST(index_kernels_match_portable)
{
    const vdist_kernels_t *ref = vdist_get_named("portable");
    const char *names[] = {"avx2", "avx512"};
    uint64_t s = 7;
    float a[300], b[300];
    int8_t ca[300], cb[300];
    for (int i = 0; i < 300; i++) {
        a[i] = (float)tiu_gauss(&s); b[i] = (float)tiu_gauss(&s);
        ca[i] = (int8_t)((int)(tiu_next(&s) % 255) - 127);
        cb[i] = (int8_t)((int)(tiu_next(&s) % 255) - 127);
    }
    int tested = 0;
    for (int n = 0; n < 2; n++) {
        const vdist_kernels_t *k = vdist_get_named(names[n]);
        if (!k) continue;
        tested++;
        for (size_t d = 0; d <= 300; d += (d < 70 ? 1 : 37)) {
            double da = 0, dl = 0;
            for (size_t i = 0; i < d; i++) { da += (double)a[i] * b[i]; dl += (double)(a[i] - b[i]) * (a[i] - b[i]); }
            CHECK_NEAR(k->dot_f32(a, b, d), da, 1e-3 * (1 + fabs(da)));
            CHECK_NEAR(k->l2_f32(a, b, d), dl, 1e-3 * (1 + dl));
            CHECK_NEAR(ref->dot_f32(a, b, d), da, 1e-3 * (1 + fabs(da)));
            CHECK_INT(k->dot_i8(ca, cb, d), ref->dot_i8(ca, cb, d));
            CHECK_INT(k->l2_i8(ca, cb, d), ref->l2_i8(ca, cb, d));
        }
    }
    CHECK(vdist_get() != NULL);
    CHECK(vdist_get_named("nonsense") == NULL);
    (void)tested;
}

TEST(index_int8_kernels_extremes)
{
    /* all -127 / 127: the largest magnitudes must not saturate */
    int8_t a[512], b[512];
    for (int i = 0; i < 512; i++) { a[i] = -127; b[i] = 127; }
    const vdist_kernels_t *k = vdist_get();
    CHECK_INT(k->dot_i8(a, b, 512), -127 * 127 * 512);
    CHECK_INT(k->l2_i8(a, b, 512), 254 * 254 * 512);
}

static vindex_t *build(const float *x, size_t n, uint32_t dim, vindex_metric_t metric,
                       vindex_quant_t quant, uint32_t efc, const vindex_attrs_t *attrs)
{
    vindex_params_t p;
    vindex_params_default(&p, dim, metric);
    p.quant = quant;
    p.ef_construction = efc;
    char err[256];
    vindex_t *v = vindex_create(&p, err, sizeof err);
    if (!v) return NULL;
    uint64_t *ids = malloc(n * sizeof *ids);
    for (size_t i = 0; i < n; i++) ids[i] = i;
    int rc = vindex_upsert_batch(v, ids, x, attrs, n, 2, err, sizeof err);
    free(ids);
    if (rc) { vindex_free(v); return NULL; }
    return v;
}

TEST(index_exact_matches_brute_force)
{
    const size_t n = 3000, dim = 48, nq = 20, k = 10;
    vindex_metric_t metrics[] = {VINDEX_L2, VINDEX_IP, VINDEX_COSINE};
    for (int mi = 0; mi < 3; mi++) {
        float *x = tiu_clustered(n + nq, dim, 30, 0.3, 0, 11 + mi);
        float *q = x + n * dim;
        vindex_t *v = build(x, n, dim, metrics[mi], VINDEX_QUANT_NONE, 64, NULL);
        REQUIRE(v);
        vindex_search_opts_t o = {.exact = 1};
        for (size_t i = 0; i < nq; i++) {
            vindex_hit_t h[10];
            uint64_t truth[10];
            int got = vindex_search(v, q + i * dim, k, &o, h);
            CHECK_INT(got, k);
            tiu_brute(x, n, dim, q + i * dim, k, metrics[mi], NULL, truth);
            for (size_t j = 0; j < k; j++) CHECK_INT(h[j].id, truth[j]);
            for (size_t j = 1; j < k; j++)
                CHECK(metrics[mi] == VINDEX_L2 ? h[j].score >= h[j - 1].score : h[j].score <= h[j - 1].score);
        }
        /* batch via sgemm gives the same ids */
        vindex_hit_t *bh = malloc(nq * k * sizeof *bh);
        size_t counts[20];
        CHECK_INT(vindex_search_batch(v, q, nq, k, &o, 1, bh, counts), 0);
        for (size_t i = 0; i < nq; i++) {
            vindex_hit_t h[10];
            vindex_search(v, q + i * dim, k, &o, h);
            CHECK_INT(counts[i], k);
            for (size_t j = 0; j < k; j++) {
                CHECK_INT(bh[i * k + j].id, h[j].id);
                CHECK_NEAR(bh[i * k + j].score, h[j].score, 1e-3 * (1 + fabsf(h[j].score)));
            }
        }
        free(bh);
        vindex_free(v);
        free(x);
    }
}

static double hnsw_recall(vindex_t *v, const float *x, size_t n, size_t dim, const float *q,
                          size_t nq, size_t k, uint32_t ef, vindex_metric_t metric,
                          const vindex_filter_t *f, const unsigned char *keep)
{
    double sum = 0;
    vindex_hit_t h[10];
    uint64_t truth[10];
    vindex_search_opts_t o = {.ef = ef, .filter = f};
    for (size_t i = 0; i < nq; i++) {
        int got = vindex_search(v, q + i * dim, k, &o, h);
        if (got < 0) return -1;
        tiu_brute(x, n, dim, q + i * dim, k, metric, keep, truth);
        sum += tiu_recall(h, (size_t)got, truth, k);
    }
    return sum / nq;
}

TEST(index_hnsw_recall_clustered_cosine)
{
    const size_t n = 10000, dim = 64, nq = 100, k = 10;
    float *x = tiu_clustered(n + nq, dim, 100, 0.35, 1, 1);
    float *q = x + n * dim;
    vindex_t *v = build(x, n, dim, VINDEX_COSINE, VINDEX_QUANT_NONE, 100, NULL);
    REQUIRE(v);
    CHECK_INT(vindex_count(v), n);
    double r = hnsw_recall(v, x, n, dim, q, nq, k, 64, VINDEX_COSINE, NULL, NULL);
    if (getenv("DBG")) for (uint32_t e = 16; e <= 512; e *= 2) printf("ef %u recall %.3f\n", e, hnsw_recall(v, x, n, dim, q, nq, k, e, VINDEX_COSINE, NULL, NULL));
    CHECK(r >= 0.95);
    double r16 = hnsw_recall(v, x, n, dim, q, nq, k, 16, VINDEX_COSINE, NULL, NULL);
    CHECK(r16 >= 0.80);
    CHECK(r >= r16 - 0.01);
    vindex_stats_t st;
    vindex_stats(v, &st);
    CHECK(st.max_level >= 1);
    CHECK(st.memory_bytes > n * dim * 4);
    vindex_free(v);
    free(x);
}

TEST(index_hnsw_recall_clustered_l2)
{
    const size_t n = 6000, dim = 32, nq = 100, k = 10;
    float *x = tiu_clustered(n + nq, dim, 60, 0.5, 0, 3);
    float *q = x + n * dim;
    vindex_t *v = build(x, n, dim, VINDEX_L2, VINDEX_QUANT_NONE, 100, NULL);
    REQUIRE(v);
    CHECK(hnsw_recall(v, x, n, dim, q, nq, k, 64, VINDEX_L2, NULL, NULL) >= 0.95);
    vindex_free(v);
    free(x);
}

TEST(index_int8_recall_with_rerank)
{
    const size_t n = 8000, dim = 64, nq = 100, k = 10;
    vindex_metric_t metrics[] = {VINDEX_COSINE, VINDEX_L2};
    for (int mi = 0; mi < 2; mi++) {
        float *x = tiu_clustered(n + nq, dim, 80, 0.35, mi == 0, 5);
        float *q = x + n * dim;
        vindex_t *v = build(x, n, dim, metrics[mi], VINDEX_QUANT_INT8, 100, NULL);
        REQUIRE(v);
        double r = hnsw_recall(v, x, n, dim, q, nq, k, 64, metrics[mi], NULL, NULL);
        CHECK(r >= 0.93);
        /* flat int8 scan + re-rank */
        vindex_search_opts_t o = {.exact = 2};
        double sum = 0;
        for (size_t i = 0; i < nq; i++) {
            vindex_hit_t h[10];
            uint64_t truth[10];
            int got = vindex_search(v, q + i * dim, k, &o, h);
            tiu_brute(x, n, dim, q + i * dim, k, metrics[mi], NULL, truth);
            sum += tiu_recall(h, got > 0 ? (size_t)got : 0, truth, k);
        }
        CHECK(sum / nq >= 0.97);
        /* get returns the exact vector, not the code */
        float back[64];
        CHECK_INT(vindex_get(v, 17, back, NULL), 0);
        float want[64];
        double nn = 0;
        for (size_t j = 0; j < dim; j++) { want[j] = x[17 * dim + j]; nn += want[j] * want[j]; }
        for (size_t j = 0; j < dim; j++) {
            float w = metrics[mi] == VINDEX_COSINE ? want[j] / (float)sqrt(nn) : want[j];
            CHECK_NEAR(back[j], w, 1e-5);
        }
        vindex_stats_t st;
        vindex_stats(v, &st);
        CHECK_INT(st.quant, VINDEX_QUANT_INT8);
        vindex_free(v);
        free(x);
    }
}

TEST(index_deleted_and_replaced_never_returned)
{
    const size_t n = 5000, dim = 32, k = 10;
    float *x = tiu_clustered(n, dim, 50, 0.4, 1, 8);
    vindex_t *v = build(x, n, dim, VINDEX_COSINE, VINDEX_QUANT_NONE, 64, NULL);
    REQUIRE(v);
    /* delete every 5th; replace every 7th (not deleted) with the negated vector */
    float *neg = malloc(dim * sizeof(float));
    for (size_t i = 0; i < n; i++) {
        if (i % 5 == 0) CHECK_INT(vindex_delete(v, i), 0);
        else if (i % 7 == 0) {
            for (size_t j = 0; j < dim; j++) neg[j] = -x[i * dim + j];
            CHECK_INT(vindex_upsert(v, i, neg, NULL, NULL, 0), 0);
        }
    }
    CHECK_INT(vindex_delete(v, 0), 1);              /* already gone */
    CHECK_INT(vindex_delete(v, 999999), 1);
    CHECK_INT(vindex_get(v, 5, NULL, NULL), 1);
    CHECK_INT(vindex_count(v), n - n / 5);
    vindex_stats_t st;
    vindex_stats(v, &st);
    CHECK_INT(st.deleted, n / 5 + (n / 7 - n / 35));
    int bad = 0;
    for (size_t i = 0; i < n; i += 3) {
        vindex_hit_t h[10];
        for (int mode = 0; mode < 2; mode++) {
            vindex_search_opts_t o = {.exact = mode, .ef = 32};
            int got = vindex_search(v, x + i * dim, k, &o, h);
            CHECK_INT(got, k);
            for (int j = 0; j < got; j++) {
                if (h[j].id % 5 == 0) bad++;
                /* a replaced id must score like its new (negated) vector, never like the old */
                if (h[j].id % 7 == 0 && h[j].id % 5 && h[j].id == i) bad++;
            }
        }
    }
    CHECK_INT(bad, 0);
    /* the replacement is found at its new position */
    for (size_t j = 0; j < dim; j++) neg[j] = -x[7 * dim + j];
    vindex_hit_t h[10];
    CHECK(vindex_search(v, neg, 1, NULL, h) == 1 && h[0].id == 7 && h[0].score > 0.999f);
    float back[32];
    CHECK_INT(vindex_get(v, 7, back, NULL), 0);
    CHECK_NEAR(back[0], neg[0], 1e-6);
    free(neg);
    vindex_free(v);
    free(x);
}

static int pred_even(uint64_t id, const vindex_attrs_t *a, void *ctx)
{
    (void)a; (void)ctx;
    return id % 2 == 0;
}

TEST(index_filters_never_violated_and_recall_at_1pct)
{
    const size_t n = 20000, dim = 32, nq = 50, k = 10;
    float *x = tiu_clustered(n + nq, dim, 100, 0.4, 1, 9);
    float *q = x + n * dim;
    vindex_attrs_t *a = calloc(n, sizeof *a);
    for (size_t i = 0; i < n; i++) {
        a[i].category = (uint32_t)(i % 100);       /* 1% per category */
        a[i].brand = (uint32_t)(i % 3);
        a[i].price = (float)(i % 1000);
        a[i].flags = (i % 10 < 7) ? 1u : 0u;        /* 70% in stock */
    }
    vindex_t *v = build(x, n, dim, VINDEX_COSINE, VINDEX_QUANT_NONE, 64, a);
    REQUIRE(v);
    unsigned char *keep = malloc(n);
    /* 1%: one category */
    uint32_t cat = 7;
    vindex_filter_t f1 = {.categories = &cat, .n_categories = 1};
    for (size_t i = 0; i < n; i++) keep[i] = a[i].category == cat;
    double r1 = hnsw_recall(v, x, n, dim, q, nq, k, 64, VINDEX_COSINE, &f1, keep);
    CHECK(r1 >= 0.95);
    /* 70%: in-stock flag, through the graph */
    vindex_filter_t f2 = {.flags_all = 1};
    for (size_t i = 0; i < n; i++) keep[i] = (a[i].flags & 1) != 0;
    double r2 = hnsw_recall(v, x, n, dim, q, nq, k, 64, VINDEX_COSINE, &f2, keep);
    CHECK(r2 >= 0.95);
    /* compound: brand set + price range + flags_none + predicate; never violated */
    uint32_t brands[2] = {0, 2};
    vindex_filter_t f3 = {.brands = brands, .n_brands = 2, .has_price = 1, .price_min = 100,
                          .price_max = 600, .flags_none = 1, .pred = pred_even};
    int bad = 0, total = 0;
    for (size_t i = 0; i < nq; i++) {
        const vindex_filter_t *fs[3] = {&f1, &f2, &f3};
        for (int fi = 0; fi < 3; fi++) {
            vindex_hit_t h[10];
            vindex_search_opts_t o = {.filter = fs[fi]};
            int got = vindex_search(v, q + i * dim, k, &o, h);
            CHECK(got >= 0);
            total += got;
            for (int j = 0; j < got; j++)
                if (!vindex_filter_match(fs[fi], h[j].id, &a[h[j].id])) bad++;
        }
    }
    CHECK_INT(bad, 0);
    CHECK(total > (int)(nq * k * 2));
    /* a filter nothing passes returns no hits */
    uint32_t none = 12345;
    vindex_filter_t f4 = {.categories = &none, .n_categories = 1};
    vindex_search_opts_t o4 = {.filter = &f4};
    vindex_hit_t h[10];
    CHECK_INT(vindex_search(v, q, k, &o4, h), 0);
    free(keep);
    free(a);
    vindex_free(v);
    free(x);
}

TEST(index_small_collections_are_exact)
{
    const size_t dim = 16;
    vindex_params_t p;
    vindex_params_default(&p, dim, VINDEX_L2);
    vindex_t *v = vindex_create(&p, NULL, 0);
    REQUIRE(v);
    vindex_hit_t h[5];
    float q[16] = {0};
    CHECK_INT(vindex_search(v, q, 5, NULL, h), 0);   /* empty */
    float *x = tiu_clustered(300, dim, 5, 0.5, 0, 12);
    for (size_t i = 0; i < 300; i++) CHECK_INT(vindex_upsert(v, 1000 + i, x + i * dim, NULL, NULL, 0), 0);
    for (size_t i = 0; i < 300; i += 17) {
        CHECK_INT(vindex_search(v, x + i * dim, 5, NULL, h), 5);
        CHECK_INT(h[0].id, 1000 + i);
        CHECK_NEAR(h[0].score, 0, 1e-6);
    }
    CHECK_INT(vindex_search(v, q, 500, NULL, NULL), -1);
    vindex_hit_t *big = malloc(400 * sizeof *big);
    CHECK_INT(vindex_search(v, q, 400, NULL, big), 300);   /* k above count */
    free(big);
    vindex_free(v);
    free(x);
}

TEST(index_rejects_bad_input)
{
    vindex_params_t p;
    char err[128];
    vindex_params_default(&p, 0, VINDEX_L2);
    CHECK(vindex_create(&p, err, sizeof err) == NULL);
    vindex_params_default(&p, 8, (vindex_metric_t)9);
    CHECK(vindex_create(&p, err, sizeof err) == NULL);
    vindex_params_default(&p, 8, VINDEX_L2);
    p.m = 1;
    CHECK(vindex_create(&p, err, sizeof err) == NULL);
    vindex_params_default(&p, 8, VINDEX_L2);
    p.quant = (vindex_quant_t)5;
    CHECK(vindex_create(&p, err, sizeof err) == NULL);
    vindex_params_default(&p, 8, VINDEX_L2);
    vindex_t *v = vindex_create(&p, err, sizeof err);
    REQUIRE(v);
    float x[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    x[3] = NAN;
    CHECK_INT(vindex_upsert(v, 1, x, NULL, err, sizeof err), -1);
    CHECK(strstr(err, "NaN") != NULL);
    x[3] = INFINITY;
    uint64_t ids[1] = {1};
    CHECK_INT(vindex_upsert_batch(v, ids, x, NULL, 1, 1, err, sizeof err), -1);
    x[3] = 4;
    vindex_attrs_t a = {.price = NAN};
    CHECK_INT(vindex_upsert(v, 1, x, &a, err, sizeof err), -1);
    CHECK_INT(vindex_count(v), 0);
    CHECK_INT(vindex_upsert(v, UINT64_MAX, x, NULL, err, sizeof err), 0);
    vindex_hit_t h[2];
    CHECK_INT(vindex_search(v, x, 2, NULL, h), 1);
    CHECK(h[0].id == UINT64_MAX);
    x[0] = NAN;
    CHECK_INT(vindex_search(v, x, 2, NULL, h), -1);
    CHECK_INT(vindex_search(v, NULL, 2, NULL, h), -1);
    CHECK_INT(vindex_search(NULL, x, 2, NULL, h), -1);
    CHECK_INT(vindex_search(v, x, 0, NULL, h), 0);
    CHECK_INT(vindex_metric_parse("ip"), VINDEX_IP);
    CHECK_INT(vindex_metric_parse("cos"), -1);
    CHECK_STR(vindex_metric_name(VINDEX_L2), "l2");
    vindex_free(v);
    vindex_free(NULL);
}

TEST(index_batch_graph_search_matches_single)
{
    const size_t n = 4000, dim = 32, nq = 40, k = 5;
    float *x = tiu_clustered(n, dim, 40, 0.4, 1, 13);
    vindex_t *v = build(x, n, dim, VINDEX_IP, VINDEX_QUANT_NONE, 64, NULL);
    REQUIRE(v);
    vindex_hit_t *bh = malloc(nq * k * sizeof *bh);
    size_t counts[40];
    vindex_search_opts_t o = {.ef = 40};
    CHECK_INT(vindex_search_batch(v, x, nq, k, &o, 2, bh, counts), 0);
    for (size_t i = 0; i < nq; i++) {
        vindex_hit_t h[5];
        CHECK_INT(vindex_search(v, x + i * dim, k, &o, h), k);
        CHECK_INT(counts[i], k);
        for (size_t j = 0; j < k; j++) CHECK_INT(bh[i * k + j].id, h[j].id);
    }
    free(bh);
    vindex_free(v);
    free(x);
}

TEST(index_filter_int8_collection)
{
    /* int8 collections answer low-selectivity filters with a code scan + fp32 re-rank */
    const size_t n = 12000, dim = 32, nq = 40, k = 10;
    float *x = tiu_clustered(n + nq, dim, 60, 0.4, 1, 14);
    float *q = x + n * dim;
    vindex_attrs_t *a = calloc(n, sizeof *a);
    for (size_t i = 0; i < n; i++) a[i].category = (uint32_t)(i % 100);
    vindex_t *v = build(x, n, dim, VINDEX_COSINE, VINDEX_QUANT_INT8, 64, a);
    REQUIRE(v);
    unsigned char *keep = malloc(n);
    uint32_t cat = 42;
    vindex_filter_t f = {.categories = &cat, .n_categories = 1};
    for (size_t i = 0; i < n; i++) keep[i] = a[i].category == cat;
    CHECK(hnsw_recall(v, x, n, dim, q, nq, k, 64, VINDEX_COSINE, &f, keep) >= 0.95);
    vindex_hit_t h[10];
    vindex_search_opts_t o = {.filter = &f};
    int bad = 0;
    for (size_t i = 0; i < nq; i++) {
        int got = vindex_search(v, q + i * dim, k, &o, h);
        CHECK_INT(got, k);
        for (int j = 0; j < got; j++) bad += h[j].id % 100 != cat;
    }
    CHECK_INT(bad, 0);
    free(keep);
    free(a);
    vindex_free(v);
    free(x);
}

/* no_graph: inserts only store (no graph levels, a record holds no links), every search is
 * an exact scan — over the int8 codes with fp32 re-ranking by default, fp32 with exact == 1
 * — with filters applied during the scan; replacing and deleting work as with a graph, and
 * saving is refused rather than writing a file that would load with a graph missing. */
TEST(index_no_graph_exact_int8_scan)
{
    const size_t n = 5000, dim = 64, nq = 40, k = 10;
    float *x = tiu_clustered(n + nq, dim, 80, 0.35, 1, 21);
    float *q = x + n * dim;
    vindex_attrs_t *attrs = calloc(n, sizeof *attrs);
    unsigned char *keep = calloc(n, 1);
    for (size_t i = 0; i < n; i++) {
        attrs[i].category = (uint32_t)(i % 7);
        attrs[i].brand = (uint32_t)(i % 11);
        attrs[i].flags = (uint32_t)(i % 2);
        keep[i] = attrs[i].category == 3 && attrs[i].flags == 1;
    }
    vindex_params_t p;
    vindex_params_default(&p, dim, VINDEX_IP);
    p.quant = VINDEX_QUANT_INT8;
    p.no_graph = 1;
    char err[256];
    vindex_t *v = vindex_create(&p, err, sizeof err);
    REQUIRE(v);
    uint64_t *ids = malloc(n * sizeof *ids);
    for (size_t i = 0; i < n; i++) ids[i] = i;
    REQUIRE(vindex_upsert_batch(v, ids, x, attrs, n, 2, err, sizeof err) == 0);
    vindex_stats_t st;
    vindex_stats(v, &st);
    CHECK_INT(st.count, n);
    CHECK_INT(st.max_level, -1);               /* no graph was built */
    uint32_t cat = 3;
    vindex_filter_t f = {.categories = &cat, .n_categories = 1, .flags_all = 1};
    vindex_search_opts_t plain = {0}, filt = {.filter = &f}, truth1 = {.exact = 1, .filter = &f};
    double sum = 0, sumf = 0;
    for (size_t i = 0; i < nq; i++) {
        vindex_hit_t h[10], hf[10], ht[10];
        uint64_t truth[10], truthf[10];
        int got = vindex_search(v, q + i * dim, k, &plain, h);
        tiu_brute(x, n, dim, q + i * dim, k, VINDEX_IP, NULL, truth);
        sum += tiu_recall(h, got > 0 ? (size_t)got : 0, truth, k);
        int gf = vindex_search(v, q + i * dim, k, &filt, hf);
        tiu_brute(x, n, dim, q + i * dim, k, VINDEX_IP, keep, truthf);
        sumf += tiu_recall(hf, gf > 0 ? (size_t)gf : 0, truthf, k);
        for (int j = 0; j < gf; j++) CHECK(keep[hf[j].id]);
        /* re-ranked scores are the exact inner products */
        for (int j = 0; j < gf; j++) {
            double d = 0;
            for (size_t t = 0; t < dim; t++) d += (double)q[i * dim + t] * x[hf[j].id * dim + t];
            CHECK_NEAR(hf[j].score, d, 1e-4);
        }
        /* exact == 1: the fp32 ground truth, identical to brute force */
        int gt = vindex_search(v, q + i * dim, k, &truth1, ht);
        CHECK_INT(gt, (int)k);
        for (int j = 0; j < gt; j++) CHECK_INT(ht[j].id, truthf[j]);
    }
    CHECK(sum / nq >= 0.97);
    CHECK(sumf / nq >= 0.97);
    /* replace moves a vector; delete removes it */
    vindex_hit_t h1[1];
    REQUIRE(vindex_upsert(v, 42, q, &attrs[42], err, sizeof err) == 0);
    CHECK_INT(vindex_search(v, q, 1, NULL, h1), 1);
    CHECK_INT(h1[0].id, 42);
    CHECK_INT(vindex_delete(v, 42), 0);
    CHECK_INT(vindex_search(v, q, 1, NULL, h1), 1);
    CHECK(h1[0].id != 42);
    CHECK_INT(vindex_count(v), n - 1);
    /* batches go through the exact path too */
    vindex_hit_t hb[2 * 10];
    size_t counts[2];
    CHECK_INT(vindex_search_batch(v, q, 2, k, &filt, 1, hb, counts), 0);
    CHECK_INT(counts[0], k);
    for (size_t j = 0; j < counts[0]; j++) CHECK(keep[hb[j].id]);
    char *dir = test_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/ng.vidx", dir);
    CHECK(vindex_save(v, path, err, sizeof err) != 0);
    CHECK(strstr(err, "no_graph") != NULL);
    free(dir);
    vindex_free(v);
    free(ids);
    free(attrs);
    free(keep);
    free(x);
}
