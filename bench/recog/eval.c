/* eval.c — top-1/top-5 accuracy of the classic features on the generated benchmark
 * (tests/tools/recog_make_benchmark.py), by exact brute-force inner product, plus the time
 * per feature vector. Built and run by bench/recog/run.sh.
 *
 * usage: eval DIR [--weights colour,layout,pairs,shape,texture] [--ablate] [--misses] [--search]
 *   --ablate  also evaluates each block alone and the weights minus each block
 *   --verify K  re-score the top K with geometric verification (src/recog/verify.h)
 *   --search  coordinate search over the block weights (tune on one seed, report another)
 *   --local K  local features (vision/keypoints.h, recog/localmatch.h) on the global top K,
 *              combined as global + mu * n/(n+half) [+ lambda * pixel verification]; a grid
 *              of mu and half is printed.  --local-lambda L  weight of pixel verification;
 *              --local-vtop T  pixel verification only for the stage-2 top T (as the engine:
 *              --local 100 --local-lambda 0.25 --local-vtop 12, row mu 0.40 half 10).
 *              LOCAL_DUMP=1 prints the true product's and the best other's inliers.
 *   --engine  the recognition engine itself (recog/engine.h, default weights): every catalog
 *             image added, every query recognised; top-1/top-5 by condition and the engine's
 *             thread CPU time per query. This is the figure bench/results/recog.md reports. */
#include "vision/features.h"
#include "recog/verify.h"
#include "recog/localmatch.h"
#include "recog/engine.h"
#include "vision/keypoints.h"
#include "core/timeutil.h"
#include "../../tests/unit/recog_jpeg.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct { char file[256]; int product; char category[32]; char tags[32]; } item_t;

static int read_list(const char *dir, const char *name, int is_query, item_t **out)
{
    char path[512], line[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "r");
    if (!f) { perror(path); return -1; }
    int n = 0, cap = 0;
    item_t *v = NULL;
    if (!fgets(line, sizeof line, f)) { fclose(f); return -1; }
    while (fgets(line, sizeof line, f)) {
        if (n == cap) { cap = cap ? 2 * cap : 1024; v = realloc(v, sizeof *v * cap); }
        item_t *it = &v[n];
        char a[256], b[256], c[256], d[256] = "";
        if (sscanf(line, "%255[^,],%255[^,],%255[^,\n],%255[^\n]", a, b, c, d) < 3) continue;
        snprintf(it->tags, sizeof it->tags, "%s", d);
        if (is_query) {
            snprintf(it->file, sizeof it->file, "%s", a);
            it->product = atoi(b);
            snprintf(it->category, sizeof it->category, "%s", c);
        } else {
            it->product = atoi(a);
            snprintf(it->category, sizeof it->category, "%s", b);
            snprintf(it->file, sizeof it->file, "%s", c);
        }
        n++;
    }
    fclose(f);
    *out = v;
    return n;
}

/* Thread CPU time: the machine is shared, wall time is noisy. */
static int64_t cpu_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t feat_us;
static int feat_n;

static features_template_t *load_tpl;   /* where load_features puts templates, or NULL */
static keypoints_t *load_kp;            /* where load_features puts keypoints, or NULL */
static int64_t kp_us;

static int load_features(const char *dir, item_t *items, int n, const features_weights_t *w, float *out)
{
    for (int i = 0; i < n; i++) {
        char path[600];
        snprintf(path, sizeof path, "%s/%s", dir, items[i].file);
        int iw, ih;
        uint8_t *rgb = recog_jpeg_load(path, &iw, &ih);
        if (!rgb) { fprintf(stderr, "cannot load %s\n", path); return -1; }
        int64_t t0 = cpu_us();
        int rc = features_compute(rgb, iw, ih, (size_t)iw * 3, w, out + (size_t)i * FEATURES_DIM);
        feat_us += cpu_us() - t0;
        if (!rc && load_tpl) {      /* the template (and keypoints, timed below) on their own */
            float *tmp = malloc(sizeof(float) * FEATURES_DIM);
            rc = features_compute_all(rgb, iw, ih, (size_t)iw * 3, w, tmp, load_tpl + i);
            free(tmp);
        }
        feat_n++;
        if (load_kp) {
            t0 = cpu_us();
            if (keypoints_compute(rgb, iw, ih, (size_t)iw * 3, load_kp + i)) rc = -1;
            kp_us += cpu_us() - t0;
        }
        free(rgb);
        if (rc) { fprintf(stderr, "features failed %s\n", path); return -1; }
    }
    return 0;
}

/* Per-block cosine of every (query, product) pair, computed once; any weighting of the
 * blocks is then a cheap weighted sum, so ablations do not recompute features. */
static float *block_sims;   /* [nq][np][FEATURES_BLOCKS] */

static void block_sims_build(const float *cat, int np, const float *qf, int nq)
{
    int off[FEATURES_BLOCKS + 1];
    features_block_offsets(off);
    block_sims = malloc(sizeof(float) * (size_t)nq * np * FEATURES_BLOCKS);
    for (int i = 0; i < nq; i++)
        for (int j = 0; j < np; j++)
            for (int b = 0; b < FEATURES_BLOCKS; b++) {
                const float *x = qf + (size_t)i * FEATURES_DIM, *y = cat + (size_t)j * FEATURES_DIM;
                float s = 0;
                for (int k = off[b]; k < off[b + 1]; k++) s += x[k] * y[k];
                /* computed with equal weights 1/B: a block's cosine is B times its share */
                block_sims[((size_t)i * np + j) * FEATURES_BLOCKS + b] = s * FEATURES_BLOCKS;
            }
}

/* sims[j] = the global similarity of query i to product j under block weights w. */
static void query_sims(const float *w, int i, int np, float *sims)
{
    for (int j = 0; j < np; j++) {
        const float *bs = block_sims + ((size_t)i * np + j) * FEATURES_BLOCKS;
        float s = 0;
        for (int b = 0; b < FEATURES_BLOCKS; b++) s += w[b] * bs[b];
        sims[j] = s;
    }
}

/* cand[0..k) = the indexes of the K largest sims, best first (partial insertion); returns k. */
static int top_k(const float *sims, int np, int *cand, int K)
{
    int k = 0;
    for (int j = 0; j < np; j++) {
        int pos = k < K ? k++ : K;
        if (pos == K) { if (sims[j] <= sims[cand[K - 1]]) continue; pos = K - 1; }
        while (pos > 0 && sims[cand[pos - 1]] < sims[j]) { cand[pos] = cand[pos - 1]; pos--; }
        cand[pos] = j;
    }
    return k;
}

static double evaluate(const char *label, const float *w, int np, item_t *q, int nq, item_t *prods,
                       int show_misses, int quiet)
{
    int top1 = 0, top5 = 0, catok = 0, top20 = 0, top50 = 0;
    const char *tagnames[4] = { "plain", "clutter", "occlusion", "clutter+occlusion" };
    int tag_n[4] = { 0 }, tag_ok[4] = { 0 };
    float *sims = malloc(sizeof(float) * np);
    for (int i = 0; i < nq; i++) {
        query_sims(w, i, np, sims);
        float target = sims[q[i].product];
        int better = 0, best = 0;
        for (int j = 0; j < np; j++) {
            if (sims[j] > target) better++;
            if (sims[j] > sims[best]) best = j;
        }
        if (better == 0) top1++;
        else if (show_misses)
            printf("  miss %s -> P%04d (%.3f vs %.3f, rank %d)\n", q[i].file, best, sims[best], target,
                   better + 1);
        if (better < 5) top5++;
        top20 += better < 20;
        top50 += better < 50;
        for (int t = 0; t < 4; t++)
            if (!strcmp(q[i].tags, tagnames[t])) { tag_n[t]++; tag_ok[t] += better == 0; }
        if (!strcmp(prods[best].category, q[i].category)) catok++;
    }
    if (!quiet)
        printf("%-44s top1 %6.2f%%  top5 %6.2f%%  category(top1) %6.2f%%\n", label,
               100.0 * top1 / nq, 100.0 * top5 / nq, 100.0 * catok / nq);
    if (!quiet && show_misses)
        printf("    recall@20 %.2f%%  recall@50 %.2f%%\n", 100.0 * top20 / nq, 100.0 * top50 / nq);
    if (!quiet && show_misses)
        for (int t = 0; t < 4; t++)
            if (tag_n[t]) printf("    %-20s top1 %6.2f%% of %d\n", tagnames[t], 100.0 * tag_ok[t] / tag_n[t], tag_n[t]);
    free(sims);
    return (double)top1 / nq + 0.2 * top5 / nq;
}

/* Two-stage: global ranking with weights w, then the top K re-scored by
 * global + lambda * verify, for several lambdas (verification computed once). */
static void evaluate_verified(const float *w, int np, item_t *q, int nq, item_t *prods,
                              const features_template_t *pt, const features_template_t *qt, int K)
{
    static const float lambdas[] = { 0.25f, 0.5f, 1.0f, 2.0f, 4.0f };
    enum { NL = 5 };
    int top1[NL] = { 0 }, top5[NL] = { 0 }, cat1[NL] = { 0 };
    const char *tagnames[4] = { "plain", "clutter", "occlusion", "clutter+occlusion" };
    int tag_n[4] = { 0 }, tag_ok[4][NL];
    memset(tag_ok, 0, sizeof tag_ok);
    float *sims = malloc(sizeof(float) * np);
    int *cand = malloc(sizeof(int) * K);
    float *ver = malloc(sizeof(float) * K);
    int64_t vus = 0, vn = 0;
    for (int i = 0; i < nq; i++) {
        query_sims(w, i, np, sims);
        int k = top_k(sims, np, cand, K);
        int64_t t0 = cpu_us();
        features_template_t qb = qt[i];
        recog_verify_blur(&qb);             /* once per query, as the engine does */
        for (int c = 0; c < k; c++) ver[c] = recog_verify_blurred(&qb, &pt[cand[c]]);
        vus += cpu_us() - t0;
        vn += k;
        int t = -1;
        for (int x = 0; x < 4; x++) if (!strcmp(q[i].tags, tagnames[x])) t = x;
        if (t >= 0) tag_n[t]++;
        for (int l = 0; l < NL; l++) {
            /* rank of the true product among candidates by the combined score */
            float target = -1e9f;
            int best = -1;
            float bestv = -1e9f;
            for (int c = 0; c < k; c++) {
                float v = sims[cand[c]] + lambdas[l] * ver[c];
                if (cand[c] == q[i].product) target = v;
                if (v > bestv) { bestv = v; best = cand[c]; }
            }
            if (target <= -1e9f) continue;
            int better = 0;
            for (int c = 0; c < k; c++)
                if (sims[cand[c]] + lambdas[l] * ver[c] > target) better++;
            top1[l] += better == 0;
            top5[l] += better < 5;
            cat1[l] += !strcmp(prods[best].category, q[i].category);
            if (t >= 0) tag_ok[t][l] += better == 0;
        }
    }
    printf("verification: top %d re-scored, %.1f us per candidate\n", K, (double)vus / (vn ? vn : 1));
    for (int l = 0; l < NL; l++) {
        printf("  lambda %-5.2f top1 %6.2f%%  top5 %6.2f%%  category(top1) %6.2f%%  |", lambdas[l],
               100.0 * top1[l] / nq, 100.0 * top5[l] / nq, 100.0 * cat1[l] / nq);
        for (int x = 0; x < 4; x++) printf(" %s %.1f%%", tagnames[x], 100.0 * tag_ok[x][l] / (tag_n[x] ? tag_n[x] : 1));
        printf("\n");
    }
    free(sims);
    free(cand);
    free(ver);
}

/* Two-stage with local features: the top K by the global vector (weights w) re-scored by
 * global + lambda * template verification (when templates exist) + mu * g(inliers), with
 * g(n) = n / (n + half); a grid of mu and half printed, each by condition. */
static void evaluate_local(const float *w, int np, item_t *q, int nq, const features_template_t *pt,
                           const features_template_t *qt, const keypoints_t *pk, const keypoints_t *qk, int K,
                           float lambda, int vtop)
{
    static const float mus[] = { 0, 0.2f, 0.4f, 0.8f, 1.6f, 100.0f };
    static const float halves[] = { 5, 10 };
    enum { NM = 6, NH = 2 };
    const char *tagnames[4] = { "plain", "clutter", "occlusion", "clutter+occlusion" };
    int top1[NM][NH], top5[NM][NH], tag_ok[NM][NH][4], tag_n[4] = { 0 }, inrec = 0;
    memset(top1, 0, sizeof top1); memset(top5, 0, sizeof top5); memset(tag_ok, 0, sizeof tag_ok);
    float *sims = malloc(sizeof(float) * np);
    int *cand = malloc(sizeof(int) * K);
    float *ver = malloc(sizeof(float) * K);
    int *inl = malloc(sizeof(int) * K);
    int64_t lus = 0, vus = 0, ln = 0;
    for (int i = 0; i < nq; i++) {
        query_sims(w, i, np, sims);
        int k = top_k(sims, np, cand, K);
        int64_t t0 = cpu_us();
        for (int c = 0; c < k; c++) {
            recog_local_t r;
            inl[c] = recog_local_match(&qk[i], &pk[cand[c]], &r);
        }
        int64_t t1 = cpu_us();
        lus += t1 - t0;
        ln += k;
        if (pt && lambda > 0) {
            features_template_t qb = qt[i];
            recog_verify_blur(&qb);
            for (int c = 0; c < k; c++) ver[c] = recog_verify_blurred(&qb, &pt[cand[c]]);
        } else
            for (int c = 0; c < k; c++) ver[c] = 0;
        vus += cpu_us() - t1;
        int t = -1;
        for (int x = 0; x < 4; x++) if (!strcmp(q[i].tags, tagnames[x])) t = x;
        if (t >= 0) tag_n[t]++;
        int present = -1;
        for (int c = 0; c < k; c++) if (cand[c] == q[i].product) present = c;
        if (present < 0) continue;
        inrec++;
        if (getenv("LOCAL_DUMP")) {
            int bo = 0, mo = 0;
            recog_local_t rt, ro;
            recog_local_match(&qk[i], &pk[cand[present]], &rt);
            for (int c = 0; c < k; c++) if (c != present && inl[c] > bo) { bo = inl[c]; mo = c; }
            recog_local_match(&qk[i], &pk[cand[mo]], &ro);
            printf("D %s true %d/%d (s %.2f a %.1f) other %d/%d nk %d/%d\n", q[i].tags, rt.inliers, rt.matches, rt.scale, rt.angle * 57.3f, ro.inliers, ro.matches, qk[i].n, pk[cand[present]].n);
        }
        for (int a = 0; a < NM; a++)
            for (int h = 0; h < NH; h++) {
                float sc[1024], s1[1024];
                for (int c = 0; c < k; c++) s1[c] = sims[cand[c]] + mus[a] * inl[c] / (inl[c] + halves[h]);
                for (int c = 0; c < k; c++) {
                    int above = 0;      /* template verification only for the stage-1 top T */
                    for (int o = 0; o < k; o++) above += s1[o] > s1[c];
                    sc[c] = s1[c] + (above < vtop ? lambda * ver[c] : 0);
                }
                int better = 0;
                for (int c = 0; c < k; c++) better += sc[c] > sc[present];
                top1[a][h] += better == 0;
                top5[a][h] += better < 5;
                if (t >= 0) tag_ok[a][h][t] += better == 0;
            }
    }
    printf("local: top %d, recall %.2f%%, keypoints %.1f us per image, match %.1f us per candidate, "
           "template verification %.1f us per candidate\n", K, 100.0 * inrec / nq, (double)kp_us / (nq + np),
           (double)lus / (ln ? ln : 1), (double)vus / (ln ? ln : 1));
    for (int a = 0; a < NM; a++)
        for (int h = 0; h < NH; h++) {
            printf("  lambda %.2f mu %-6.2f half %-4.0f top1 %6.2f%%  top5 %6.2f%% |", lambda, mus[a], halves[h],
                   100.0 * top1[a][h] / nq, 100.0 * top5[a][h] / nq);
            for (int x = 0; x < 4; x++) printf(" %s %.1f%%", tagnames[x], 100.0 * tag_ok[a][h][x] / (tag_n[x] ? tag_n[x] : 1));
            printf("\n");
        }
    free(sims); free(cand); free(ver); free(inl);
}

/* The engine end to end: what `rodeo recognize` does after intake. */
static int evaluate_engine(const char *dir, item_t *p, int np, item_t *q, int nq)
{
    recog_engine_t *e = recog_engine_new();
    float *vec = malloc(sizeof(float) * FEATURES_DIM);
    features_template_t *tpl = malloc(sizeof *tpl);
    /* the catalog side kept for the miss report: global, local and pixel scores of the true
     * product against the engine's first answer */
    float *cvec = malloc(sizeof(float) * FEATURES_DIM * (size_t)np);
    features_template_t *ctpl = malloc(sizeof *ctpl * (size_t)np);
    if (!e || !vec || !tpl || !cvec || !ctpl) return -1;
    char err[200], path[600];
    int64_t fus = 0;
    for (int i = 0; i < np; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, p[i].file);
        int w, h;
        uint8_t *rgb = recog_jpeg_load(path, &w, &h);
        if (!rgb || features_compute_all(rgb, w, h, (size_t)w * 3, NULL, vec, tpl) ||
            recog_engine_add(e, i + 1, i + 1, p[i].category, "brand", vec, tpl, err, sizeof err)) {
            fprintf(stderr, "cannot add %s\n", path);
            free(rgb);
            return -1;
        }
        memcpy(cvec + (size_t)i * FEATURES_DIM, vec, sizeof(float) * FEATURES_DIM);
        ctpl[i] = *tpl;
        free(rgb);
    }
    const char *tagnames[4] = { "plain", "clutter", "occlusion", "clutter+occlusion" };
    int top1 = 0, top5 = 0, top20 = 0, tag_n[4] = { 0 }, tag_ok[4] = { 0 };
    int64_t qus = 0;
    int dump = getenv("ENGINE_MISSES") != NULL;
    for (int i = 0; i < nq; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, q[i].file);
        int w, h;
        uint8_t *rgb = recog_jpeg_load(path, &w, &h);
        int64_t t0 = cpu_us();
        if (!rgb || features_compute_all(rgb, w, h, (size_t)w * 3, NULL, vec, tpl)) {
            fprintf(stderr, "cannot load %s\n", path);
            free(rgb);
            return -1;
        }
        int64_t t1 = cpu_us();
        recog_result_t r;
        recog_query_t rq = { .top_k = 20 };
        if (recog_engine_query(e, vec, tpl, &rq, &r)) return -1;
        qus += cpu_us() - t1;
        fus += t1 - t0;
        free(rgb);
        int rank = -1;
        for (int k = 0; k < r.n_matches; k++)
            if (r.matches[k].product_id == q[i].product + 1) { rank = k; break; }
        top1 += rank == 0;
        top5 += rank >= 0 && rank < 5;
        top20 += rank >= 0;
        for (int t = 0; t < 4; t++)
            if (!strcmp(q[i].tags, tagnames[t])) { tag_n[t]++; tag_ok[t] += rank == 0; }
        if (dump && rank != 0) {
            int tp = q[i].product, op = (int)r.matches[0].product_id - 1;
            recog_local_t lt, lo;
            recog_local_match(&tpl->kp, &ctpl[tp].kp, &lt);
            recog_local_match(&tpl->kp, &ctpl[op].kp, &lo);
            printf("  miss %s %s rank %d -> P%04d %.3f (true %.3f) | global %.3f/%.3f inliers %d/%d "
                   "verify %.3f/%.3f\n", q[i].file, q[i].tags, rank, op, r.matches[0].score,
                   rank > 0 ? r.matches[rank].score : 0,
                   features_similarity(vec, cvec + (size_t)tp * FEATURES_DIM),
                   features_similarity(vec, cvec + (size_t)op * FEATURES_DIM), lt.inliers, lo.inliers,
                   recog_verify(tpl, &ctpl[tp]), recog_verify(tpl, &ctpl[op]));
        }
    }
    printf("engine: top1 %6.2f%%  top5 %6.2f%%  top20 %6.2f%% |", 100.0 * top1 / nq, 100.0 * top5 / nq,
           100.0 * top20 / nq);
    for (int t = 0; t < 4; t++) printf(" %s %.1f%%", tagnames[t], 100.0 * tag_ok[t] / (tag_n[t] ? tag_n[t] : 1));
    printf("\nengine CPU per query: features+template+keypoints %.0f us, query %.0f us\n",
           (double)fus / nq, (double)qus / nq);
    recog_engine_free(e);
    free(vec);
    free(tpl);
    free(cvec);
    free(ctpl);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: eval DIR [--weights c,l,p,s,t] [--ablate] [--misses] [--search]\n");
        return 2;
    }
    const char *dir = argv[1];
    features_weights_t w = features_default_weights();
    int ablate = 0, misses = 0, search = 0, verify_k = 0, local_k = 0;
    float local_lambda = 0;
    int local_vtop = 1 << 20;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--ablate")) ablate = 1;
        else if (!strcmp(argv[i], "--misses")) misses = 1;
        else if (!strcmp(argv[i], "--search")) search = 1;
        else if (!strcmp(argv[i], "--verify") && i + 1 < argc) verify_k = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--local") && i + 1 < argc) local_k = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--local-lambda") && i + 1 < argc) local_lambda = (float)atof(argv[++i]);
        else if (!strcmp(argv[i], "--local-vtop") && i + 1 < argc) local_vtop = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--weights") && i + 1 < argc)
            sscanf(argv[++i], "%f,%f,%f,%f,%f,%f", &w.colour, &w.layout, &w.pairs, &w.shape, &w.texture,
                   &w.silhouette);
    }
    item_t *p, *q;
    int np = read_list(dir, "products.csv", 0, &p), nq = read_list(dir, "queries.csv", 1, &q);
    if (np <= 0 || nq <= 0) return 1;
    printf("%d products, %d queries, %d dims\n", np, nq, FEATURES_DIM);
    for (int i = 2; i < argc; i++)
        if (!strcmp(argv[i], "--engine")) {
            int rc = evaluate_engine(dir, p, np, q, nq);
            free(p);
            free(q);
            return rc ? 1 : 0;
        }
    features_weights_t eq;
    for (int b = 0; b < FEATURES_BLOCKS; b++) (&eq.colour)[b] = 1.0f / FEATURES_BLOCKS;
    float *cat = malloc(sizeof(float) * FEATURES_DIM * np);
    float *qf = malloc(sizeof(float) * FEATURES_DIM * nq);
    features_template_t *pt = verify_k ? malloc(sizeof *pt * np) : NULL;
    features_template_t *qt = verify_k ? malloc(sizeof *qt * nq) : NULL;
    if (local_k && !verify_k) {
        pt = malloc(sizeof *pt * np);
        qt = malloc(sizeof *qt * nq);
    }
    /* keypoints come with the templates; load_kp times them once more on their own */
    keypoints_t *pk = NULL, *qk = NULL;
    if (local_k) {
        pk = malloc(sizeof *pk * np);
        qk = malloc(sizeof *qk * nq);
    }
    load_tpl = pt;
    load_kp = pk;
    if (load_features(dir, p, np, &eq, cat)) return 1;
    load_tpl = qt;
    load_kp = qk;
    if (load_features(dir, q, nq, &eq, qf)) return 1;
    load_tpl = NULL;
    load_kp = NULL;
    if (pt)
        for (int i = 0; i < np; i++) recog_verify_blur(&pt[i]);   /* catalog side: once, at load */
    printf("feature time: %.1f us per image (mean over %d, stored images, decode excluded)\n",
           (double)feat_us / feat_n, feat_n);
    block_sims_build(cat, np, qf, nq);
    float wv[FEATURES_BLOCKS];
    for (int b = 0; b < FEATURES_BLOCKS; b++) wv[b] = (&w.colour)[b];
    evaluate("weights", wv, np, q, nq, p, misses, 0);
    if (verify_k) evaluate_verified(wv, np, q, nq, p, pt, qt, verify_k);
    if (local_k) evaluate_local(wv, np, q, nq, pt, qt, pk, qk, local_k, local_lambda, local_vtop);
    if (ablate) {
        const char *names[FEATURES_BLOCKS] = { "colour", "layout", "pairs", "shape", "texture", "silhouette" };
        for (int b = 0; b < FEATURES_BLOCKS; b++) {
            float one[FEATURES_BLOCKS] = { 0 }, minus[FEATURES_BLOCKS];
            memcpy(minus, wv, sizeof minus);
            one[b] = 1;
            minus[b] = 0;
            char l1[64], l2[64];
            snprintf(l1, sizeof l1, "only %s", names[b]);
            snprintf(l2, sizeof l2, "without %s", names[b]);
            evaluate(l1, one, np, q, nq, p, 0, 0);
            evaluate(l2, minus, np, q, nq, p, 0, 0);
        }
    }
    if (search) {
        float best[FEATURES_BLOCKS];
        memcpy(best, wv, sizeof best);
        double bs = evaluate("", best, np, q, nq, p, 0, 1);
        for (int round = 0; round < 4; round++)
            for (int b = 0; b < FEATURES_BLOCKS; b++)
                for (int k = -1; k <= 1; k += 2) {
                    float t[FEATURES_BLOCKS];
                    memcpy(t, best, sizeof t);
                    t[b] *= k > 0 ? 1.5f : 0.66f;
                    if (t[b] < 0.01f) t[b] = 0.01f;
                    double sc = evaluate("", t, np, q, nq, p, 0, 1);
                    if (sc > bs) { bs = sc; memcpy(best, t, sizeof best); }
                }
        float sum = 0;
        for (int b = 0; b < FEATURES_BLOCKS; b++) sum += best[b];
        for (int b = 0; b < FEATURES_BLOCKS; b++) best[b] /= sum;
        char l[128];
        snprintf(l, sizeof l, "searched %.3f,%.3f,%.3f,%.3f,%.3f,%.3f", best[0], best[1], best[2], best[3],
                 best[4], best[5]);
        evaluate(l, best, np, q, nq, p, 0, 0);
    }
    free(cat);
    free(qf);
    free(pk);
    free(qk);
    free(pt);
    free(qt);
    free(block_sims);
    free(p);
    free(q);
    return 0;
}
