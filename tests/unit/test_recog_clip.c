/* test_recog_clip.c — CLIP in product recognition (src/recog/clipmatch.c and its wiring in
 * recognize.c), on the tiny random-weight CLIP that tests/tools/ml_make_models.py writes in
 * the real Hugging Face format. Random weights carry no meaning, so these check mechanics:
 * an entry's own vector finds it first, shapes and confidences, text entries for imageless
 * products, filters, the stored vectors rebuilding the matcher, and the fallback to classic
 * features when CLIP is absent, fails to load or cannot run on the photo. */
#include "test.h"
#include "store_fixture.h"
#include "core/buf.h"
#include "core/crypto.h"
#include "core/timeutil.h"
#include "ml/clip.h"
#include "ml/zeroshot.h"
#include <pthread.h>
#include "recog/clipmatch.h"
#include "recog/recognize.h"
#include "recog/refresh.h"
#include "blob/blob.h"
#include <time.h>
#include "store/catalog.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char *models_dir;
static int models_failed;

/* The tiny models, built once per run by the first test that needs them. */
static const char *tiny_clip_dir(void)
{
    static char path[1024];
    if (!models_dir && !models_failed) {
        char *d = test_tmpdir();
        buf_t cmd = { 0 };
        buf_printf(&cmd, "/usr/bin/python3 tests/tools/ml_make_models.py '%s' > /dev/null 2>&1", d);
        if (system(cmd.data) != 0) { models_failed = 1; free(d); } else models_dir = d;
        buf_free(&cmd);
    }
    if (!models_dir) return NULL;
    snprintf(path, sizeof path, "%s/clip_tiny", models_dir);
    return path;
}
__attribute__((destructor)) static void models_free(void) { free(models_dir); }

static clip_model_t *tiny_clip(void)
{
    const char *d = tiny_clip_dir();
    char err[256];
    return d ? clip_load(d, 0, err, sizeof err) : NULL;
}

static void random_tensor(float *t, int side, unsigned seed)
{
    for (int i = 0; i < 3 * side * side; i++) {
        seed = seed * 1103515245u + 12345u;
        t[i] = (float)((seed >> 8) & 0xffff) / 32768.0f - 1.0f;
    }
}

TEST(recog_clip_matcher_shape_filters_text_entries)
{
    clip_model_t *m = tiny_clip();
    REQUIRE(m);
    char err[200];
    CHECK(recog_clip_new(NULL, err, sizeof err) == NULL);
    recog_clip_t *c = recog_clip_new(m, err, sizeof err);
    REQUIRE(c);
    int dim = recog_clip_dim(c), S = recog_clip_image_size(c);
    CHECK_INT(dim, clip_embed_dim(m));
    CHECK(strstr(recog_clip_collection(c, RECOG_CLIP_IMAGE), "product_clip_image:") != NULL);
    CHECK(strcmp(recog_clip_collection(c, RECOG_CLIP_IMAGE), recog_clip_collection(c, RECOG_CLIP_TEXT)) != 0);

    /* four imageless products: text entries */
    const char *cats[] = { "boots", "boots", "hats", "belts" }, *brands[] = { "Ariat", "Justin", "Stetson", "Nocona" };
    float *tv = malloc(sizeof(float) * (size_t)dim * 4);
    char text[256];
    for (int i = 0; i < 4; i++) {
        recog_clip_product_text(brands[i], "Model", cats[i], text, sizeof text);
        REQUIRE(recog_clip_embed_text(c, text, tv + i * dim) == 0);
        CHECK_INT(recog_clip_add(c, RECOG_CLIP_TEXT, 100 + i, 100 + i, cats[i], brands[i], tv + i * dim), 0);
    }
    CHECK_INT(recog_clip_count(c), 4);
    recog_clip_product_text("Ariat", "Heritage", "a roper boot", text, sizeof text);
    CHECK_STR(text, "Ariat Heritage: a roper boot");
    float *zero = calloc((size_t)dim, sizeof(float));
    CHECK_INT(recog_clip_add(c, RECOG_CLIP_TEXT, 9, 9, "boots", "X", zero), -1);   /* not a unit vector */
    free(zero);

    /* a photo of product 100 arrives: its image entry replaces the text one */
    float *t = malloc(sizeof(float) * 3 * (size_t)S * (size_t)S), *iv = malloc(sizeof(float) * (size_t)dim);
    random_tensor(t, S, 7);
    REQUIRE(recog_clip_embed_image(c, t, iv) == 0);
    double norm = 0;
    for (int i = 0; i < dim; i++) norm += (double)iv[i] * iv[i];
    CHECK_NEAR(norm, 1.0, 1e-3);
    CHECK_INT(recog_clip_add(c, RECOG_CLIP_IMAGE, 555, 100, "boots", "Ariat", iv), 0);
    CHECK(recog_clip_has_image(c, 100) && !recog_clip_has_text(c, 100) && recog_clip_has_text(c, 101));
    CHECK_INT(recog_clip_add(c, RECOG_CLIP_TEXT, 100, 100, "boots", "Ariat", tv), 0);   /* ignored now */
    CHECK(!recog_clip_has_text(c, 100));
    CHECK_INT(recog_clip_count(c), 4);

    /* the query with an entry's own vector finds that product first, cosine 1 */
    recog_result_t *r = malloc(sizeof *r);
    recog_query_t q = { .top_k = 3 };
    REQUIRE(recog_clip_query(c, iv, &q, r) == 0);
    CHECK_INT(r->n_matches, 3);
    CHECK(r->matches[0].product_id == 100 && r->matches[0].image_id == 555);
    CHECK_NEAR(r->matches[0].global, 1.0, 1e-3);
    for (int i = 1; i < r->n_matches; i++) CHECK(r->matches[i - 1].global >= r->matches[i].global);
    REQUIRE(recog_clip_query(c, tv + 2 * dim, &q, r) == 0);
    CHECK(r->matches[0].product_id == 102 && r->matches[0].image_id == 0);     /* text entry */
    /* categories: every category, confidences sum to 1; brands only of the chosen category */
    CHECK_INT(r->n_categories, 3);
    float sum = 0;
    for (int i = 0; i < r->n_categories; i++) sum += r->categories[i].confidence;
    CHECK_NEAR(sum, 1.0, 1e-4);
    for (int i = 1; i < r->n_categories; i++) CHECK(r->categories[i - 1].confidence >= r->categories[i].confidence);
    REQUIRE(r->n_brands >= 1);
    const char *best = r->categories[0].name;
    for (int b = 0; b < r->n_brands; b++) {
        int ok = 0;
        for (int i = 0; i < 4; i++) ok |= !strcmp(brands[i], r->brands[b].name) && !strcmp(cats[i], best);
        CHECK(ok);
    }
    /* filters, case-insensitive; unknown values match nothing */
    q.category = "BOOTS";
    q.top_k = 5;
    REQUIRE(recog_clip_query(c, tv + 2 * dim, &q, r) == 0);
    CHECK_INT(r->n_matches, 2);
    for (int i = 0; i < r->n_matches; i++) CHECK(r->matches[i].product_id == 100 || r->matches[i].product_id == 101);
    CHECK_INT(r->n_categories, 1);
    CHECK_STR(r->categories[0].name, "boots");
    CHECK_NEAR(r->categories[0].confidence, 1.0, 1e-5);
    q.category = NULL;
    q.brand = "justin";
    REQUIRE(recog_clip_query(c, iv, &q, r) == 0);
    CHECK(r->n_matches == 1 && r->matches[0].product_id == 101);
    CHECK(r->n_brands == 1 && !strcmp(r->brands[0].name, "Justin"));
    q.brand = "Lucchese";
    REQUIRE(recog_clip_query(c, iv, &q, r) == 0);
    CHECK_INT(r->n_matches, 0);
    CHECK(recog_clip_has_brand(c, "stetson") && !recog_clip_has_brand(c, "Lucchese"));
    CHECK(recog_clip_has_category(c, "Hats") && !recog_clip_has_category(c, "saddles"));
    /* removing a product drops its entries and its labels */
    recog_clip_remove_product(c, 102);
    CHECK_INT(recog_clip_count(c), 3);
    CHECK(!recog_clip_has_category(c, "hats"));
    q.brand = NULL;
    REQUIRE(recog_clip_query(c, tv + 2 * dim, &q, r) == 0);
    for (int i = 0; i < r->n_matches; i++) CHECK(r->matches[i].product_id != 102);
    CHECK(recog_clip_query(c, NULL, &q, r) == -1);
    free(r); free(t); free(iv); free(tv);
    recog_clip_free(c);
    clip_free(m);
}

/* Writes three product photos (distinct shapes and colours) under dir with PIL. */
static int write_photos(const char *dir)
{
    buf_t cmd = { 0 };
    buf_printf(&cmd, "/usr/bin/python3 -c \"\nfrom PIL import Image, ImageDraw\nimport sys\n"
                     "for n, c, s in (('a', (200, 40, 30), 0), ('b', (30, 60, 190), 1)):\n"
                     "    im = Image.new('RGB', (240, 220), (235, 230, 220)); d = ImageDraw.Draw(im)\n"
                     "    (d.ellipse if s else d.rectangle)((40, 30, 200, 190), fill=c)\n"
                     "    d.line((0, 0, 240, 220), fill=(20, 20, 20), width=5)\n"
                     "    im.save(sys.argv[1] + '/' + n + '.png')\n\" '%s'", dir);
    int rc = system(cmd.data);
    buf_free(&cmd);
    return rc;
}

static json_t *respond_file(store_t *st, recog_engine_t *e, const char *path, int tensor_side, const recog_opts_t *o)
{
    vision_intake_options_t io;
    vision_intake_options_default(&io);
    io.input_size = tensor_side;
    vision_intake_t in;
    memset(&in, 0, sizeof in);
    json_t *r = NULL;
    char err[200];
    if (vision_intake_file(path, &io, &in) == 0) r = recog_respond(st, e, &in, o, time_now_us(), err, sizeof err);
    vision_intake_free(&in);
    return r;
}

static void print_report(void *ctx, const char *msg)
{
    (void)ctx;
    fprintf(stderr, "    import: %s\n", msg);
}

static int64_t match_id(json_t *r, size_t i)
{
    return json_integer_value(json_object_get(json_array_get(json_object_get(r, "matches"), i), "product_id"));
}

TEST(recog_clip_import_rebuild_respond_fallback)
{
    clip_model_t *m = tiny_clip();
    REQUIRE(m);
    store_t *st = fixture_store_open();
    REQUIRE(st);
    char *dir = test_tmpdir();
    REQUIRE(write_photos(dir) == 0);
    /* unique names: the PostgreSQL store is shared between runs */
    char *tok = random_token(6);
    for (char *p = tok; *p; p++) if (*p == '_' || *p == '-') *p = 'x';
    buf_t csv = { 0 }, path = { 0 }, bootcat = { 0 }, brandc = { 0 };
    buf_printf(&bootcat, "clipboots%s", tok);
    buf_printf(&brandc, "Brandc%s", tok);
    buf_printf(&path, "%s/products.csv", dir);
    buf_printf(&csv, "sku,brand,model,category,subcategory,description,msrp,image,keywords\n"
                     "A-%s,Branda%s,Roper,%s,western,Red square boot,150,a.png,red\n"
                     "B-%s,Brandb%s,Round,clipbelts%s,western,Blue round belt,40,b.png,blue\n"
                     "C-%s,Brandc%s,Plain,%s,work,A boot nobody photographed yet,99,,plain\n",
               tok, tok, bootcat.data, tok, tok, tok, tok, tok, bootcat.data);
    FILE *f = fopen(path.data, "w");
    REQUIRE(f);
    fputs(csv.data, f);
    fclose(f);

    char err[300] = "";
    recog_engine_t *e = recog_engine_new();
    CHECK_INT(recog_use_clip(e, NULL, err, sizeof err), -1);       /* no model: stays classic */
    CHECK_STR(recog_method(e), "classic");
    CHECK_INT(recog_intake_size(e), 32);
    REQUIRE(recog_use_clip(e, m, err, sizeof err) == 0);
    CHECK_INT(recog_intake_size(e), clip_image_size(m));
    recog_import_stats_t s = { 0 };
    REQUIRE(recog_import_products(st, e, path.data, dir, dir, NULL, print_report, NULL, &s, err, sizeof err) == 0);
    CHECK_INT(s.created + s.updated, 3);
    CHECK_INT(s.images, 2);
    CHECK_INT(s.failed + s.images_failed, 0);
    CHECK_STR(recog_method(e), "clip");
    int64_t ida = 0, idb = 0, idc = 0;
    buf_t sku = { 0 };
    buf_printf(&sku, "A-%s", tok); REQUIRE(store_product_find_sku(st, sku.data, &ida) == STORE_OK); buf_reset(&sku);
    buf_printf(&sku, "B-%s", tok); REQUIRE(store_product_find_sku(st, sku.data, &idb) == STORE_OK); buf_reset(&sku);
    buf_printf(&sku, "C-%s", tok); REQUIRE(store_product_find_sku(st, sku.data, &idc) == STORE_OK);
    buf_free(&sku);
    recog_clip_t *c = recog_engine_clip(e);
    CHECK(recog_clip_has_image(c, ida) && recog_clip_has_image(c, idb) && !recog_clip_has_image(c, idc));
    CHECK(recog_clip_has_text(c, idc) && !recog_clip_has_text(c, ida));
    /* the imageless product's text vector is in the store under the product id */
    float *v = malloc(sizeof(float) * (size_t)clip_embed_dim(m));
    CHECK(store_vector_get(st, recog_clip_collection(c, RECOG_CLIP_TEXT), idc, v,
                           sizeof(float) * (size_t)clip_embed_dim(m)) == STORE_OK);
    free(v);
    /* an unknown category is unknown to both sides; the imageless product's is known */
    CHECK(recog_has_brand(e, brandc.data) && !recog_engine_has_brand(e, brandc.data));
    CHECK(!recog_has_category(e, "saddles-none"));

    /* a second engine rebuilt from the store answers the same: "clip", photo a first */
    recog_engine_t *e2 = recog_engine_new();
    REQUIRE(recog_use_clip(e2, m, err, sizeof err) == 0);
    REQUIRE(recog_engine_load(e2, st, err, sizeof err) >= 2);
    recog_clip_t *c2 = recog_engine_clip(e2);
    CHECK(recog_clip_has_image(c2, ida) && recog_clip_has_image(c2, idb) && recog_clip_has_text(c2, idc));
    buf_t pa = { 0 };
    buf_printf(&pa, "%s/a.png", dir);
    recog_opts_t o = { .include_prices = true, .top_k = 3 };
    json_t *r = respond_file(st, e2, pa.data, recog_intake_size(e2), &o);
    REQUIRE(r);
    CHECK_STR(json_string_value(json_object_get(r, "method")), "clip");
    CHECK(json_array_size(json_object_get(r, "matches")) >= 3);
    CHECK(match_id(r, 0) == ida);
    double sc = json_real_value(json_object_get(json_array_get(json_object_get(r, "matches"), 0), "similarity_score"));
    CHECK_NEAR(sc, 1.0, 1e-3);
    json_t *cat = json_object_get(r, "category"), *br = json_object_get(r, "brand");
    CHECK(json_is_string(json_object_get(cat, "category")) && json_is_number(json_object_get(cat, "confidence")));
    CHECK(json_array_size(json_object_get(cat, "all_predictions")) >= 2);
    CHECK(json_is_string(json_object_get(br, "brand")) && json_array_size(json_object_get(br, "all_predictions")) >= 1);
    json_decref(r);
    /* filters: the photo restricted to a brand with no photo finds the text entry */
    o.brand = brandc.data;
    r = respond_file(st, e2, pa.data, recog_intake_size(e2), &o);
    REQUIRE(r);
    CHECK_INT(json_array_size(json_object_get(r, "matches")), 1);
    CHECK(match_id(r, 0) == idc);
    CHECK_STR(json_string_value(json_object_get(json_object_get(r, "brand"), "brand")), brandc.data);
    json_decref(r);
    o.brand = NULL;
    o.category = bootcat.data;
    r = respond_file(st, e2, pa.data, recog_intake_size(e2), &o);
    REQUIRE(r);
    CHECK_INT(json_array_size(json_object_get(r, "matches")), 2);
    for (size_t i = 0; i < 2; i++) CHECK(match_id(r, i) == ida || match_id(r, i) == idc);
    json_decref(r);
    o.category = NULL;
    /* a tensor of the wrong size (CLIP cannot run on it): classic features answer */
    r = respond_file(st, e2, pa.data, 48, &o);
    REQUIRE(r);
    CHECK_STR(json_string_value(json_object_get(r, "method")), "classic");
    CHECK(match_id(r, 0) == ida);
    json_decref(r);
    recog_engine_free(e2);

    /* no CLIP (absent or failed to load): the engine is classic, the answer too */
    buf_t bad = { 0 };
    buf_printf(&bad, "%s/badclip", dir);
    REQUIRE(mkdir(bad.data, 0700) == 0);
    buf_puts(&bad, "/config.json");
    f = fopen(bad.data, "w");
    REQUIRE(f);
    fputs("{\"projection_dim\": 24}", f);
    fclose(f);
    bad.data[bad.len - strlen("/config.json")] = '\0';
    CHECK(clip_load(bad.data, 0, err, sizeof err) == NULL);
    recog_engine_t *e3 = recog_engine_new();
    CHECK_INT(recog_use_clip(e3, NULL, err, sizeof err), -1);
    REQUIRE(recog_engine_load(e3, st, err, sizeof err) >= 2);
    r = respond_file(st, e3, pa.data, recog_intake_size(e3), &o);
    REQUIRE(r);
    CHECK_STR(json_string_value(json_object_get(r, "method")), "classic");
    CHECK(match_id(r, 0) == ida);
    json_decref(r);
    recog_engine_free(e3);

    recog_engine_free(e);
    clip_free(m);
    store_close(st);
    buf_free(&csv); buf_free(&path); buf_free(&pa); buf_free(&bad); buf_free(&bootcat); buf_free(&brandc);
    free(tok);
    free(dir);
}

static void unit_vec(float *v, int dim, unsigned seed)
{
    double ss = 0;
    for (int i = 0; i < dim; i++) {
        seed = seed * 1103515245u + 12345u;
        v[i] = (float)((seed >> 8) & 0xffff) / 32768.0f - 1.0f;
        ss += (double)v[i] * v[i];
    }
    for (int i = 0; i < dim; i++) v[i] = (float)(v[i] / sqrt(ss));
}

/* Bookkeeping at a few thousand entries (hash maps grow, slots are replaced and retired):
 * counts, has_image/has_text and label liveness stay exact, and a stored vector still
 * finds its own product. */
TEST(recog_clip_bookkeeping_at_scale)
{
    clip_model_t *m = tiny_clip();
    REQUIRE(m);
    char err[200];
    recog_clip_t *c = recog_clip_new(m, err, sizeof err);
    REQUIRE(c);
    int dim = recog_clip_dim(c);
    float *v = malloc(sizeof(float) * (size_t)dim);
    const char *cats[] = { "boots", "hats", "belts" };
    /* products 1..2000: two images each; 2001..4000: text only */
    for (int p = 1; p <= 2000; p++)
        for (int k = 0; k < 2; k++) {
            unit_vec(v, dim, (unsigned)(p * 2 + k));
            REQUIRE(recog_clip_add(c, RECOG_CLIP_IMAGE, p * 10 + k, p, cats[p % 3], p == 7 ? "Solo" : "Many", v) == 0);
        }
    for (int p = 2001; p <= 4000; p++) {
        unit_vec(v, dim, (unsigned)(p * 2));
        REQUIRE(recog_clip_add(c, RECOG_CLIP_TEXT, p, p, cats[p % 3], "Many", v) == 0);
    }
    CHECK_INT(recog_clip_count(c), 6000);
    /* the same image again replaces; a text entry again replaces; photos retire 100 texts */
    unit_vec(v, dim, 99);
    REQUIRE(recog_clip_add(c, RECOG_CLIP_IMAGE, 10, 1, "boots", "Many", v) == 0);
    REQUIRE(recog_clip_add(c, RECOG_CLIP_TEXT, 2001, 2001, "boots", "Many", v) == 0);
    CHECK_INT(recog_clip_count(c), 6000);
    for (int p = 3901; p <= 4000; p++) {
        unit_vec(v, dim, (unsigned)(p * 7));
        REQUIRE(recog_clip_add(c, RECOG_CLIP_IMAGE, p * 10, p, cats[p % 3], "Many", v) == 0);
    }
    CHECK_INT(recog_clip_count(c), 6000);
    CHECK(recog_clip_has_image(c, 3950) && !recog_clip_has_text(c, 3950));
    CHECK(recog_clip_has_text(c, 3900) && !recog_clip_has_image(c, 3900));
    /* removals: images, texts, and a label that disappears with its only product */
    CHECK(recog_clip_has_brand(c, "solo"));
    for (int p = 1; p <= 50; p++) recog_clip_remove_product(c, p);
    for (int p = 2001; p <= 2050; p++) recog_clip_remove_product(c, p);
    recog_clip_remove_product(c, 123456);     /* unknown: nothing happens */
    CHECK_INT(recog_clip_count(c), 6000 - 100 - 50);
    CHECK(!recog_clip_has_brand(c, "solo") && recog_clip_has_brand(c, "many"));
    CHECK(!recog_clip_has_image(c, 7) && !recog_clip_has_text(c, 2002) && recog_clip_has_text(c, 2051));
    /* a product comes back after removal */
    unit_vec(v, dim, 777777);
    REQUIRE(recog_clip_add(c, RECOG_CLIP_TEXT, 7, 7, "hats", "Solo", v) == 0);
    CHECK(recog_clip_has_text(c, 7) && recog_clip_has_brand(c, "Solo"));
    recog_result_t *r = malloc(sizeof *r);
    recog_query_t q = { .top_k = 5 };
    REQUIRE(recog_clip_query(c, v, &q, r) == 0);
    CHECK(r->n_matches == 5 && r->matches[0].product_id == 7);
    unit_vec(v, dim, 1000 * 2 + 1);       /* product 1000's second image */
    REQUIRE(recog_clip_query(c, v, &q, r) == 0);
    CHECK(r->matches[0].product_id == 1000 && r->matches[0].image_id == 10001);
    for (int i = 1; i < r->n_matches; i++) CHECK(r->matches[i].product_id != 1000);   /* one row per product */
    /* one product with more images than the scan's head: the scan widens, 5 distinct products */
    unit_vec(v, dim, 31337);
    for (int i = 0; i < CLIP_HEAD + 44; i++) REQUIRE(recog_clip_add(c, RECOG_CLIP_IMAGE, 900000 + i, 5000, "hats", "Many", v) == 0);
    REQUIRE(recog_clip_query(c, v, &q, r) == 0);
    CHECK_INT(r->n_matches, 5);
    CHECK(r->matches[0].product_id == 5000);
    for (int i = 0; i < r->n_matches; i++)
        for (int j = 0; j < i; j++) CHECK(r->matches[i].product_id != r->matches[j].product_id);
    free(r);
    free(v);
    recog_clip_free(c);
    clip_free(m);
}

/* The scan reads an int8 copy and re-scores its head exactly: over 5000 random entries the
 * matches are the exact top products, with exact fp32 cosines, filters included. */
TEST(recog_clip_scan_equals_exact)
{
    clip_model_t *m = tiny_clip();
    REQUIRE(m);
    char err[200];
    recog_clip_t *c = recog_clip_new(m, err, sizeof err);
    REQUIRE(c);
    int dim = recog_clip_dim(c);
    enum { N = 5000 };
    float *v = malloc(sizeof(float) * (size_t)dim * N);
    unsigned seed = 77;
    for (int i = 0; i < N; i++) {
        double ss = 0;
        for (int k = 0; k < dim; k++) {
            seed = seed * 1103515245u + 12345u;
            v[i * dim + k] = (float)((seed >> 8) & 0xffff) / 32768.0f - 1;
            ss += (double)v[i * dim + k] * v[i * dim + k];
        }
        for (int k = 0; k < dim; k++) v[i * dim + k] = (float)(v[i * dim + k] / sqrt(ss));
        REQUIRE(recog_clip_add(c, RECOG_CLIP_IMAGE, i + 1, i + 1, i % 2 ? "hats" : "boots", "Acme", v + i * dim) == 0);
    }
    for (int qi = 0; qi < 20; qi++) {
        const float *q = v + (size_t)(qi * 97) * dim;    /* near some entries, like a photo */
        float qq[64];
        for (int k = 0; k < dim; k++) qq[k] = q[k] + 0.3f * v[(size_t)(qi * 31 + 7) * dim + k];
        double ss = 0;
        for (int k = 0; k < dim; k++) ss += (double)qq[k] * qq[k];
        for (int k = 0; k < dim; k++) qq[k] = (float)(qq[k] / sqrt(ss));
        for (int f = 0; f < 2; f++) {
            recog_query_t rq = { .top_k = 10, .category = f ? "hats" : NULL };
            recog_result_t res;
            REQUIRE(recog_clip_query(c, qq, &rq, &res) == 0);
            REQUIRE(res.n_matches == 10);
            /* exact top 10 by brute force */
            float best[10];
            int64_t id[10];
            for (int k = 0; k < 10; k++) { best[k] = -2; id[k] = 0; }
            for (int i = 0; i < N; i++) {
                if (f && i % 2 == 0) continue;
                float s = 0;
                for (int k = 0; k < dim; k++) s += v[(size_t)i * dim + k] * qq[k];
                for (int k = 0; k < 10; k++)
                    if (s > best[k]) {
                        for (int j = 9; j > k; j--) { best[j] = best[j - 1]; id[j] = id[j - 1]; }
                        best[k] = s; id[k] = i + 1;
                        break;
                    }
            }
            for (int k = 0; k < 10; k++) {
                CHECK_INT(res.matches[k].product_id, id[k]);
                CHECK_NEAR(res.matches[k].global, best[k], 1e-5);
            }
        }
    }
    free(v);
    recog_clip_free(c);
    clip_free(m);
}

/* ---- zero-shot label warm-up (ml/zeroshot.c, recog_clip_warm_labels) ---- */

typedef struct { zeroshot_t *z; const char *label; int rc; int64_t us; long labels; pthread_barrier_t *go; } zs_job_t;

static void *zs_worker(void *arg)
{
    zs_job_t *j = arg;
    float e[512];
    if (j->go) pthread_barrier_wait(j->go);
    zeroshot_thread_usage(NULL, NULL);
    j->rc = zeroshot_label_embedding(j->z, j->label, e);
    zeroshot_thread_usage(&j->us, &j->labels);
    return NULL;
}

/* Eight threads asking for one uncached label at once: the text tower runs once, every
 * thread gets the label (those that found it uncached count their wait), a later ask is a
 * free hit. */
TEST(recog_clip_zeroshot_label_computed_once)
{
    clip_model_t *m = tiny_clip();
    REQUIRE(m);
    zeroshot_t *z = zeroshot_new(m, NULL, 0);
    REQUIRE(z);
    zs_job_t j[8];
    pthread_t th[8];
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, 8);
    for (int i = 0; i < 8; i++) {
        j[i] = (zs_job_t){ z, "saddle pads", -1, 0, 0, &go };
        REQUIRE(pthread_create(&th[i], NULL, zs_worker, &j[i]) == 0);
    }
    for (int i = 0; i < 8; i++) pthread_join(th[i], NULL);
    pthread_barrier_destroy(&go);
    long missed = 0;
    for (int i = 0; i < 8; i++) {
        CHECK_INT(j[i].rc, 0);
        CHECK(j[i].labels == 0 || j[i].labels == 1);
        if (j[i].labels) CHECK(j[i].us > 0);
        missed += j[i].labels;
    }
    CHECK(missed >= 1);
    CHECK_INT(zeroshot_computed(z), 1);
    zs_job_t again = { z, "saddle pads", -1, 0, 0, NULL };
    zs_worker(&again);
    CHECK_INT(again.rc, 0);
    CHECK_INT(again.labels, 0);
    CHECK_INT(again.us, 0);
    CHECK_INT(zeroshot_computed(z), 1);
    zeroshot_free(z);
    clip_free(m);
}

/* The warm-up embeds every category and (brand, category) prompt a query can use: the
 * first query after it computes nothing; a matcher without it pays on its first query.
 * Cancelled before it starts, it stops and says so. */
TEST(recog_clip_warm_labels_first_query_computes_nothing)
{
    clip_model_t *m = tiny_clip();
    REQUIRE(m);
    char err[200];
    for (int warm = 0; warm < 2; warm++) {
        recog_clip_t *c = recog_clip_new(m, err, sizeof err);
        REQUIRE(c);
        int dim = recog_clip_dim(c);
        const char *cats[] = { "boots", "hats", "belts" }, *brands[] = { "Ariat", "Stetson", "Nocona", "Justin" };
        float *v = malloc(sizeof(float) * (size_t)dim);
        char text[128];
        for (int i = 0; i < 12; i++) {
            snprintf(text, sizeof text, "product %d", i);
            REQUIRE(recog_clip_embed_text(c, text, v) == 0);
            REQUIRE(recog_clip_add(c, RECOG_CLIP_TEXT, 100 + i, 100 + i, cats[i % 3], brands[i % 4], v) == 0);
        }
        recog_clip_warm_t st;
        recog_clip_warm_status(c, &st);
        CHECK_INT(st.state, 0);
        if (warm) {
            volatile int stop = 1;
            CHECK_INT(recog_clip_warm_labels(c, &stop), -1);
            recog_clip_warm_status(c, &st);
            CHECK_INT(st.state, 3);
            /* 3 categories + 12 distinct (brand, category) pairs */
            CHECK_INT(recog_clip_warm_labels(c, NULL), 15);
            recog_clip_warm_status(c, &st);
            CHECK_INT(st.state, 2);
            CHECK_INT(st.done, 15);
            CHECK_INT(st.total, 15);
            CHECK_INT(st.computed, 15);
            CHECK_INT(recog_clip_warm_labels(c, NULL), 15);      /* again: all cached */
            recog_clip_warm_status(c, &st);
            CHECK_INT(st.computed, 15);
        }
        recog_result_t r;
        int64_t us;
        long labels;
        for (int f = 0; f < 3; f++) {     /* unfiltered, by category, by brand */
            recog_query_t q = { .top_k = 5, .category = f == 1 ? "hats" : NULL, .brand = f == 2 ? "Nocona" : NULL };
            zeroshot_thread_usage(NULL, NULL);
            REQUIRE(recog_clip_query(c, v, &q, &r) == 0);
            zeroshot_thread_usage(&us, &labels);
            CHECK(r.n_matches > 0 && r.n_categories > 0 && r.n_brands > 0);
            if (warm) { CHECK_INT(labels, 0); CHECK_INT(us, 0); }
            else if (f == 0) CHECK(labels > 0 && us > 0);
        }
        free(v);
        recog_clip_free(c);
    }
    clip_free(m);
}

/* ---- the background refresh (recog/refresh.c) ---- */

static void wait_refresh(recog_refresh_t *r, recog_refresh_status_t *s)
{
    for (int i = 0; i < 3000; i++) {     /* up to 30 s */
        recog_refresh_status(r, s);
        if (s->state == RECOG_REFRESH_DONE || s->state == RECOG_REFRESH_FAILED) return;
        struct timespec ts = { 0, 10000000 };
        nanosleep(&ts, NULL);
    }
}

/* A catalog imported before CLIP was configured: two photos, one imageless product and one
 * whose image is a remote URL. A CLIP engine loaded from what is stored has none of their
 * CLIP entries; the refresh embeds the stored photos and the imageless product's text,
 * counts the URL-only image as failed (never fetched), and a second run has nothing to do. */
TEST(recog_refresh_embeds_what_clip_lacks)
{
    clip_model_t *m = tiny_clip();
    REQUIRE(m);
    store_t *st = fixture_store_open();
    REQUIRE(st);
    int shared = getenv("TEST_DATABASE_URL") && *getenv("TEST_DATABASE_URL");   /* other tests' rows too */
    char *dir = test_tmpdir();
    REQUIRE(write_photos(dir) == 0);
    char *tok = random_token(6);
    for (char *p = tok; *p; p++) if (*p == '_' || *p == '-') *p = 'x';
    buf_t csv = { 0 }, path = { 0 };
    buf_printf(&path, "%s/products.csv", dir);
    buf_printf(&csv, "sku,brand,model,category,description,msrp,image,keywords\n"
                     "RA-%s,Refa%s,Roper,rboots%s,Red square boot,150,a.png,red\n"
                     "RB-%s,Refb%s,Round,rbelts%s,Blue round belt,40,b.png,blue\n"
                     "RC-%s,Refc%s,Plain,rboots%s,A boot nobody photographed yet,99,,plain\n"
                     "RD-%s,Refd%s,Far,rboots%s,A boot photographed elsewhere,99,https://example.invalid/d.jpg,far\n",
               tok, tok, tok, tok, tok, tok, tok, tok, tok, tok, tok, tok);
    FILE *f = fopen(path.data, "w");
    REQUIRE(f);
    fputs(csv.data, f);
    fclose(f);
    char err[300] = "";
    recog_engine_t *classic = recog_engine_new();
    recog_import_stats_t s = { 0 };
    REQUIRE(recog_import_products(st, classic, path.data, dir, dir, NULL, print_report, NULL, &s, err, sizeof err) == 0);
    CHECK_INT(s.images, 2);
    recog_engine_free(classic);
    int64_t id[4];
    const char *pre[4] = { "RA", "RB", "RC", "RD" };
    for (int i = 0; i < 4; i++) {
        buf_t sku = { 0 };
        buf_printf(&sku, "%s-%s", pre[i], tok);
        REQUIRE(store_product_find_sku(st, sku.data, &id[i]) == STORE_OK);
        buf_free(&sku);
    }
    recog_engine_t *e = recog_engine_new();
    REQUIRE(recog_use_clip(e, m, err, sizeof err) == 0);
    CHECK_INT(recog_engine_load_stored(e, st, err, sizeof err), shared ? recog_engine_count(e) : 2);
    recog_clip_t *c = recog_engine_clip(e);
    CHECK(!recog_clip_has_image(c, id[0]) && !recog_clip_has_text(c, id[2]));   /* nothing computed at load */
    blob_store_t *blobs = blob_fs_open(dir, "/api/blobs", err, sizeof err);
    REQUIRE(blobs);
    recog_refresh_opts_t o = { .batch = 1 };
    recog_refresh_t *r = recog_refresh_start(st, e, blobs, &o);
    REQUIRE(r);
    recog_refresh_status_t rs;
    wait_refresh(r, &rs);
    CHECK_INT(rs.state, RECOG_REFRESH_DONE);
    if (!shared) {
        /* 2 stored images lacking CLIP + 2 products without a stored photo: the imageless one and
         * the one whose image is only a remote URL (never fetched: its text stands in, as at import) */
        CHECK_INT(rs.total, 4);
        CHECK_INT(rs.done, 4);
        CHECK_INT(rs.failed, 0);
    }
    CHECK(recog_clip_has_image(c, id[0]) && recog_clip_has_image(c, id[1]));
    CHECK(recog_clip_has_text(c, id[2]) && recog_clip_has_text(c, id[3]) && !recog_clip_has_image(c, id[3]));
    json_t *j = recog_refresh_status_json(r);
    CHECK_STR(json_string_value(json_object_get(j, "state")), "done");
    CHECK_INT(json_integer_value(json_object_get(j, "features_version")), FEATURES_VERSION);
    json_decref(j);
    recog_refresh_stop(r);
    /* stored now: a fresh engine loads them, and a new run finds nothing to do */
    recog_engine_t *e2 = recog_engine_new();
    REQUIRE(recog_use_clip(e2, m, err, sizeof err) == 0);
    REQUIRE(recog_engine_load_stored(e2, st, err, sizeof err) >= 0);
    CHECK(recog_clip_has_image(recog_engine_clip(e2), id[1]) && recog_clip_has_text(recog_engine_clip(e2), id[2]));
    r = recog_refresh_start(st, e2, blobs, NULL);
    REQUIRE(r);
    wait_refresh(r, &rs);
    CHECK_INT(rs.state, RECOG_REFRESH_DONE);
    if (!shared) { CHECK_INT(rs.total, 0); CHECK_INT(rs.failed, 0); }
    recog_refresh_stop(r);
    /* stopping a run that has not finished is clean too */
    recog_refresh_stop(recog_refresh_start(st, e2, blobs, NULL));
    recog_refresh_status(NULL, &rs);
    CHECK_INT(rs.state, RECOG_REFRESH_IDLE);
    CHECK_STR(recog_refresh_state_name(RECOG_REFRESH_RUNNING), "running");
    blob_close(blobs);
    recog_engine_free(e2);
    recog_engine_free(e);
    store_close(st);
    free(tok);
    buf_free(&csv);
    buf_free(&path);
    free(dir);
    clip_free(m);
}
