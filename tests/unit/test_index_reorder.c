/* Tests for vindex_reorder (slot renumbering for locality): searches, ids, attributes, deletes,
 * filters, snapshots, log replay and inserts behave exactly as before the renumbering, and the
 * renumbering really brings graph neighbours closer together. */
#include "test.h"
#include "test_index_util.h"
#include "index/vindex.h"
#include "index/vindex_impl.h"
#include <stdlib.h>

/* Fraction of level-0 links that stay within `win` slots: the locality the reorder is for. */
static double near_links(const vindex_t *v, size_t win)
{
    const vtab_t *t = vindex_tab(v);
    size_t n = vindex_nslots(v), near = 0, links = 0;
    for (size_t s = 0; s < n; s++) {
        const uint32_t *ll = vindex_links0(v, t, (uint32_t)s);
        for (uint32_t i = 0; i < ll[0]; i++) {
            size_t d = ll[1 + i] > s ? ll[1 + i] - s : s - ll[1 + i];
            near += d <= win;
            links++;
        }
    }
    return links ? (double)near / (double)links : 0;
}

/* Every link points inside the collection and the entry point's level matches its meta. */
static int graph_consistent(const vindex_t *v)
{
    const vtab_t *t = vindex_tab(v);
    size_t n = vindex_nslots(v);
    for (size_t s = 0; s < n; s++) {
        const uint32_t *ll = vindex_links0(v, t, (uint32_t)s);
        if (ll[0] > v->m0 || *vindex_node_state(v, t, (uint32_t)s) != vindex_meta(v, t, (uint32_t)s)->state)
            return 0;
        for (uint32_t i = 0; i < ll[0]; i++) if (ll[1 + i] >= n) return 0;
        const vmeta_t *mt = vindex_meta(v, t, (uint32_t)s);
        for (int l = 1; l <= mt->level; l++) {
            const uint32_t *u = vindex_links_up(v, t, (uint32_t)s, l);
            for (uint32_t i = 0; i < u[0]; i++)
                if (u[1 + i] >= n || vindex_meta(v, t, u[1 + i])->level < l) return 0;
        }
    }
    uint32_t ep = (uint32_t)v->ep_packed;
    return n == 0 || (ep < n && vindex_meta(v, t, ep)->level == (int)(v->ep_packed >> 32) - 1);
}

typedef struct { vindex_hit_t h[10]; int n; } res_t;

static uint32_t g_cats[2] = {1, 3};
static const vindex_filter_t g_filter = {.categories = g_cats, .n_categories = 2, .flags_none = 4};

/* Results of nq queries, unfiltered graph, filtered graph, exact. */
static res_t *run_queries(const vindex_t *v, const float *q, size_t nq, uint32_t dim)
{
    res_t *r = calloc(nq * 3, sizeof *r);
    for (size_t i = 0; i < nq; i++) {
        vindex_search_opts_t o0 = {.ef = 40}, o1 = {.ef = 40, .filter = &g_filter}, o2 = {.exact = 1};
        r[i * 3].n = vindex_search(v, q + i * dim, 10, &o0, r[i * 3].h);
        r[i * 3 + 1].n = vindex_search(v, q + i * dim, 10, &o1, r[i * 3 + 1].h);
        r[i * 3 + 2].n = vindex_search(v, q + i * dim, 10, &o2, r[i * 3 + 2].h);
    }
    return r;
}

/* Fraction of result positions (id and score) that agree. */
static double agreement(const res_t *a, const res_t *b, size_t n)
{
    size_t same = 0, total = 0;
    for (size_t i = 0; i < n; i++) {
        total += 10;
        if (a[i].n != b[i].n) continue;
        for (int j = 0; j < a[i].n; j++)
            same += a[i].h[j].id == b[i].h[j].id && a[i].h[j].score == b[i].h[j].score;
        same += (size_t)(10 - a[i].n);
    }
    return (double)same / (double)total;
}

static vindex_t *build_mixed(size_t n, uint32_t dim, vindex_metric_t metric, vindex_quant_t quant,
                             float **xout)
{
    vindex_params_t p;
    vindex_params_default(&p, dim, metric);
    p.quant = quant;
    p.ef_construction = 64;
    p.flat_below = 100;
    vindex_t *v = vindex_create(&p, NULL, 0);
    float *x = tiu_clustered(n + n / 13 + 1, dim, 30, 0.4, 1, 77);
    uint64_t *ids = malloc(n * sizeof *ids);
    vindex_attrs_t *a = calloc(n, sizeof *a);
    for (size_t i = 0; i < n; i++) {
        ids[i] = 1000 + i * 7;
        a[i].category = (uint32_t)(i % 5);
        a[i].flags = (uint32_t)(i % 3 == 0 ? 4 : 1);
        a[i].price = (float)i;
    }
    if (!v || vindex_upsert_batch(v, ids, x, a, n, 2, NULL, 0)) { vindex_free(v); v = NULL; }
    /* deleted and replaced slots must move with the rest (each replacement its own new row) */
    for (size_t i = 0; v && i < n; i += 11) vindex_delete(v, ids[i]);
    for (size_t i = 5; v && i < n; i += 13)
        if (i % 11) vindex_upsert(v, ids[i], x + (n + i / 13) * dim, &a[i], NULL, 0);
    free(ids);
    free(a);
    *xout = x;
    return v;
}

TEST(index_reorder_keeps_results_ids_and_attrs)
{
    const size_t n = 6000, nq = 60;
    const uint32_t dim = 24;
    vindex_quant_t quants[2] = {VINDEX_QUANT_NONE, VINDEX_QUANT_INT8};
    vindex_metric_t metrics[2] = {VINDEX_COSINE, VINDEX_L2};
    for (int c = 0; c < 2; c++) {
        float *x;
        vindex_t *v = build_mixed(n, dim, metrics[c], quants[c], &x);
        REQUIRE(v);
        float *q = x + n * dim;   /* the replacement rows double as queries; also stored rows */
        res_t *before = run_queries(v, q, nq, dim);
        res_t *before_s = run_queries(v, x, nq, dim);
        vindex_stats_t s0, s1;
        vindex_stats(v, &s0);
        double near0 = near_links(v, 256);
        char err[128];
        REQUIRE(vindex_reorder(v, err, sizeof err) == 0);
        CHECK(graph_consistent(v));
        double near1 = near_links(v, 256);
        /* insertion order is random with respect to the graph (~14 % of links within 256 slots
         * here); hierarchical order: ~35 % (a plain BFS order got ~24 %) */
        CHECK(near1 > 2 * near0);
        vindex_stats(v, &s1);
        CHECK_INT(s1.count, s0.count);
        CHECK_INT(s1.slots, s0.slots);
        CHECK_INT(s1.deleted, s0.deleted);
        CHECK_INT(s1.max_level, s0.max_level);
        res_t *after = run_queries(v, q, nq, dim);
        res_t *after_s = run_queries(v, x, nq, dim);
        if (quants[c] == VINDEX_QUANT_NONE) {
            /* fp32: the same graph walked in the same order, so the very same hits */
            CHECK(agreement(before, after, nq * 3) == 1.0);
            CHECK(agreement(before_s, after_s, nq * 3) == 1.0);
        } else {
            /* int8 graph distances are integers: equal ones are ordered by slot, which changed */
            CHECK(agreement(before, after, nq * 3) >= 0.97);
            CHECK(agreement(before_s, after_s, nq * 3) >= 0.97);
        }
        /* filters still hold, deleted ids never come back */
        int bad = 0;
        for (size_t i = 0; i < nq * 3; i++)
            for (int j = 0; j < after[i].n; j++) {
                uint64_t row = (after[i].h[j].id - 1000) / 7;
                if (row % 11 == 0) bad++;
                if (i % 3 == 1 && ((row % 5 != 1 && row % 5 != 3) || row % 3 == 0)) bad++;
            }
        CHECK_INT(bad, 0);
        /* every id still maps to its own vector and attributes */
        int wrong = 0;
        for (size_t i = 0; i < n; i++) {
            float back[24];
            vindex_attrs_t a;
            int rc = vindex_get(v, 1000 + i * 7, back, &a);
            if (i % 11 == 0) { wrong += rc != 1; continue; }
            if (rc != 0 || a.category != i % 5 || a.price != (float)i) { wrong++; continue; }
            vindex_hit_t h[1];
            vindex_search_opts_t ox = {.exact = 1};
            /* the stored vector is its own nearest neighbour */
            if (vindex_search(v, back, 1, &ox, h) != 1 || h[0].id != 1000 + i * 7) wrong++;
        }
        CHECK_INT(wrong, 0);
        free(before); free(after); free(before_s); free(after_s);
        vindex_free(v);
        free(x);
    }
}

TEST(index_reorder_then_writes_snapshot_and_log)
{
    const size_t n = 5000;
    const uint32_t dim = 16;
    vindex_quant_t quants[2] = {VINDEX_QUANT_NONE, VINDEX_QUANT_INT8};
    char *dir = test_tmpdir();
    char snap[1024], logp[1024], old[1024];
    snprintf(snap, sizeof snap, "%s/r.rvx", dir);
    snprintf(logp, sizeof logp, "%s/r.log", dir);
    snprintf(old, sizeof old, "%s/old.rvx", dir);
    for (int c = 0; c < 2; c++) {
        float *x;
        vindex_t *v = build_mixed(n, dim, VINDEX_IP, quants[c], &x);
        REQUIRE(v);
        char err[256];
        /* a snapshot written without the reorder (what older builds wrote) */
        REQUIRE(vindex_save(v, old, err, sizeof err) == 0);
        REQUIRE(vindex_reorder(v, err, sizeof err) == 0);
        REQUIRE(vindex_save(v, snap, err, sizeof err) == 0);
        REQUIRE(vindex_log_attach(v, logp, 0, err, sizeof err) == 0);
        /* writes after the reorder: new ids, replacements, deletes */
        float *y = tiu_clustered(300, dim, 30, 0.4, 1, 78);
        for (size_t i = 0; i < 300; i++)
            CHECK_INT(vindex_upsert(v, 900000 + i, y + i * dim, NULL, err, sizeof err), 0);
        for (size_t i = 1; i < n; i += 17) CHECK(vindex_delete(v, 1000 + i * 7) >= 0);
        for (size_t i = 2; i < 300; i += 19)
            CHECK_INT(vindex_upsert(v, 1000 + i * 7, y + i * dim, NULL, err, sizeof err), 0);
        int found = 0;
        for (size_t i = 0; i < 300; i += 10) {
            vindex_hit_t h[1];
            vindex_search_opts_t o = {.ef = 64};
            found += vindex_search(v, y + i * dim, 1, &o, h) == 1 && h[0].id == 900000 + i;
        }
        CHECK(found >= 28);
        /* snapshot + log replay gives back the live collection */
        vindex_t *w = vindex_load(snap, err, sizeof err);
        REQUIRE(w);
        size_t applied = 0;
        REQUIRE(vindex_log_replay(w, logp, &applied, err, sizeof err) == 0);
        CHECK(applied > 300);
        CHECK_INT(vindex_count(w), vindex_count(v));
        res_t *rv = run_queries(v, x, 40, dim), *rw = run_queries(w, x, 40, dim);
        CHECK(agreement(rv, rw, 40 * 3) >= (quants[c] == VINDEX_QUANT_NONE ? 0.99 : 0.95));
        free(rv); free(rw);
        /* the old, unordered snapshot still loads, and reordering a loaded snapshot (its pages
         * are a private file mapping) keeps its results; saved again and reloaded, too */
        vindex_t *o = vindex_load(old, err, sizeof err);
        REQUIRE(o);
        res_t *r0 = run_queries(o, x, 40, dim);
        REQUIRE(vindex_reorder(o, err, sizeof err) == 0);
        CHECK(graph_consistent(o));
        res_t *r1 = run_queries(o, x, 40, dim);
        CHECK(agreement(r0, r1, 40 * 3) >= (quants[c] == VINDEX_QUANT_NONE ? 1.0 : 0.97));
        REQUIRE(vindex_save(o, old, err, sizeof err) == 0);
        vindex_t *o2 = vindex_load(old, err, sizeof err);
        REQUIRE(o2);
        res_t *r2 = run_queries(o2, x, 40, dim);
        CHECK(agreement(r1, r2, 40 * 3) == 1.0);
        float back[16];
        CHECK_INT(vindex_get(o2, 1000 + 11 * 7, back, NULL), 1);   /* deleted before */
        CHECK_INT(vindex_get(o2, 1000 + 12 * 7, back, NULL), 0);
        free(r0); free(r1); free(r2);
        vindex_free(o2);
        vindex_free(o);
        vindex_free(w);
        vindex_free(v);
        free(y);
        free(x);
    }
    free(dir);
}

TEST(index_reorder_edge_cases)
{
    char err[128];
    CHECK_INT(vindex_reorder(NULL, err, sizeof err), -1);
    vindex_params_t p;
    vindex_params_default(&p, 4, VINDEX_L2);
    vindex_t *v = vindex_create(&p, NULL, 0);
    REQUIRE(v);
    CHECK_INT(vindex_reorder(v, err, sizeof err), 0);          /* empty */
    float a[4] = {1, 0, 0, 0}, b[4] = {0, 1, 0, 0};
    REQUIRE(vindex_upsert(v, 7, a, NULL, NULL, 0) == 0);
    CHECK_INT(vindex_reorder(v, err, sizeof err), 0);          /* one vector */
    REQUIRE(vindex_upsert(v, 9, b, NULL, NULL, 0) == 0);
    REQUIRE(vindex_delete(v, 7) == 0);
    CHECK_INT(vindex_reorder(v, err, sizeof err), 0);          /* one live, one dead */
    CHECK(graph_consistent(v));
    vindex_hit_t h[2];
    vindex_search_opts_t o = {.ef = 8};
    CHECK_INT(vindex_search(v, a, 2, &o, h), 1);
    CHECK_INT(h[0].id, 9);
    CHECK_INT(vindex_get(v, 7, NULL, NULL), 1);
    REQUIRE(vindex_upsert(v, 7, a, NULL, NULL, 0) == 0);
    CHECK_INT(vindex_search(v, a, 2, &o, h), 2);
    CHECK_INT(h[0].id, 7);
    vindex_free(v);
}
